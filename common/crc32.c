/* CRC-32 (zlib), table-driven: one lookup per byte. The table is built on first use. */
#include "crc32.h"

#define CRC32_POLY_REFLECTED 0xedb88320u

static uint32_t crc_table[256];
static int crc_table_ready;

static void crc32_build_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int bit = 0; bit < 8; bit++)
			c = (c >> 1) ^ (CRC32_POLY_REFLECTED & -(c & 1));
		crc_table[i] = c;
	}
	crc_table_ready = 1;
}

uint32_t crc32_update(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (!crc_table_ready)
		crc32_build_table();
	crc = ~crc;
	while (len--)
		crc = (crc >> 8) ^ crc_table[(crc ^ *p++) & 0xff];
	return ~crc;
}
