/* Number parsing shared by the guest and the host (no libc). */
#ifndef KVMIO_COMMON_PARSE_H
#define KVMIO_COMMON_PARSE_H
#include <stddef.h>
#include <stdint.h>

/* Parse a decimal or 0x-prefixed hex number covering all of s[0..len). 0 on success. */
int parse_u64(const char *s, size_t len, uint64_t *out);

#endif
