/* COM1 16550 UART, polled output only. Never used inside a timed region. */
#ifndef KVMIO_KERNEL_SERIAL_H
#define KVMIO_KERNEL_SERIAL_H
#include <stddef.h>

void serial_init(void);
void serial_write(const char *s, size_t len);

#endif
