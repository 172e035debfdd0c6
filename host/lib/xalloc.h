/* Allocation that cannot fail: on out of memory, one line on stderr and exit. */
#ifndef KVMIO_HOST_LIB_XALLOC_H
#define KVMIO_HOST_LIB_XALLOC_H
#include <stddef.h>

void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
