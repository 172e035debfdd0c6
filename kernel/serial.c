/* 16550 UART on COM1 (PC16550D data sheet, register map §8.1), 115200 8N1, polled. */
#include "serial.h"
#include "io.h"

#define COM1            0x3f8
#define UART_THR        0       /* transmit holding (DLAB=0) */
#define UART_DLL        0       /* divisor latch low (DLAB=1) */
#define UART_IER        1       /* interrupt enable (DLAB=0) */
#define UART_DLM        1       /* divisor latch high (DLAB=1) */
#define UART_FCR        2       /* FIFO control */
#define UART_LCR        3       /* line control */
#define UART_MCR        4       /* modem control */
#define UART_LSR        5       /* line status */
#define LCR_8N1         0x03
#define LCR_DLAB        0x80
#define FCR_ENABLE_CLEAR 0x07
#define MCR_DTR_RTS     0x03
#define LSR_THRE        0x20    /* transmit holding register empty */
#define BAUD_DIVISOR_115200 1
#define THRE_SPIN_LIMIT 1000000 /* a missing UART must not hang the guest */

void serial_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, LCR_DLAB);
	outb(COM1 + UART_DLL, BAUD_DIVISOR_115200);
	outb(COM1 + UART_DLM, 0);
	outb(COM1 + UART_LCR, LCR_8N1);
	outb(COM1 + UART_FCR, FCR_ENABLE_CLEAR);
	outb(COM1 + UART_MCR, MCR_DTR_RTS);
}

static void serial_putc(char c)
{
	for (int spin = 0; spin < THRE_SPIN_LIMIT; spin++)
		if (inb(COM1 + UART_LSR) & LSR_THRE)
			break;
	outb(COM1 + UART_THR, (uint8_t)c);
}

void serial_write(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			serial_putc('\r');
		serial_putc(s[i]);
	}
}
