/* The few libc-like routines a freestanding kernel needs. */
#ifndef KVMIO_KERNEL_LIB_H
#define KVMIO_KERNEL_LIB_H
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((uint64_t)(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((uint64_t)(a) - 1))

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* Append to a NUL-terminated string in [dst, end): returns the new end of the string. */
char *str_append(char *dst, char *end, const char *s);
char *u64_append(char *dst, char *end, uint64_t v);

#include "parse.h" /* parse_u64, shared with the host (common/) */

#endif
