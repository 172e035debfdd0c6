/* The host's own clocks: one reader for the time base every host probe uses. */
#ifndef KVMIO_HOST_LIB_CLOCK_H
#define KVMIO_HOST_LIB_CLOCK_H
#include <stdint.h>

/* CLOCK_MONOTONIC_RAW in ns: not slewed by NTP, so probes and TSC calibration compare like
 * with like. */
uint64_t clock_raw_ns(void);

/* One step of xorshift64 (Marsaglia; shifts 13, 7, 17): *state advanced and returned. A state of
 * 0 stays 0, so callers seed with a non-zero value. The stream is a fixed function of the seed:
 * image fillers and probe offsets are reproducible. */
uint64_t xorshift64_next(uint64_t *state);

#endif
