/* Serialized timestamps and the TSC frequency. */
#ifndef KVMIO_KERNEL_TSC_H
#define KVMIO_KERNEL_TSC_H
#include <stdint.h>

/*
 * LFENCE; RDTSC; LFENCE. The first LFENCE keeps RDTSC from running before earlier
 * instructions have completed, the second keeps later instructions (and the timed operation's
 * loads) from starting before RDTSC has read the counter (Intel SDM Vol. 2B, RDTSC; AMD
 * documents LFENCE as dispatch-serializing, as Linux and KVM configure it).
 */
static inline uint64_t ts_read(void)
{
	uint32_t lo, hi;
	asm volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

#define TS_METHOD "lfence-rdtsc-lfence"

struct tsc_info {
	uint64_t hz;           /* 0 when no reference was found */
	const char *method;    /* cpuid15 cpuid16 hvleaf kvmclock pmtimer pit pit0 none */
	int invariant;         /* CPUID 0x80000007 EDX[8] */
	uint64_t ts_cost;      /* median cycles of one timestamp */
	uint64_t cal_windows;  /* calibration: windows measured (0: not calibrated) */
	uint64_t cal_spread_ppm; /* calibration: spread of the middle half of the windows */
};

/* pm_timer_port: ACPI PM timer I/O port or 0; pm_timer_32bit: FADT TMR_VAL_EXT. */
void tsc_init(struct tsc_info *out, uint16_t pm_timer_port, int pm_timer_32bit);
/* The frequency tsc_init found, 0 if none. */
uint64_t tsc_hz(void);

#endif
