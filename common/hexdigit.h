/* One hex digit's value, or -1. Shared by the guest and the host tool. */
#ifndef KVMIO_COMMON_HEXDIGIT_H
#define KVMIO_COMMON_HEXDIGIT_H

static inline int hex_digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
