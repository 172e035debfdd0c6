/* CRC-32 without a table: bitwise, small, and fast enough for a few KiB of serial output. */
#include "crc32.h"

#define CRC32_POLY_REFLECTED 0xedb88320u

uint32_t crc32_update(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int bit = 0; bit < 8; bit++)
			crc = (crc >> 1) ^ (CRC32_POLY_REFLECTED & -(crc & 1));
	}
	return ~crc;
}
