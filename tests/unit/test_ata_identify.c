/*
 * IDENTIFY DEVICE decoding (drivers/ata_identify.c), the guest's own file compiled for the
 * host: the 28-bit count of words 60-61, the 48-bit count of words 100-103 only where word 83
 * is valid and says 48-bit, FLUSH CACHE EXT only with 48-bit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "drivers/ata_identify.h"

static uint16_t id[ATA_ID_WORDS];

/* An IDENTIFY block with the 28-bit count lba28, word 83 cmdset2 and the 48-bit count lba48. */
static const uint16_t *block(uint32_t lba28, uint16_t cmdset2, uint64_t lba48)
{
	memset(id, 0, sizeof(id));
	id[ATA_ID_LBA28_SECTORS] = (uint16_t)lba28;
	id[ATA_ID_LBA28_SECTORS + 1] = (uint16_t)(lba28 >> 16);
	id[ATA_ID_CMDSET2] = cmdset2;
	for (int w = 0; w < ATA_ID_LBA48_WORDS; w++)
		id[ATA_ID_LBA48_SECTORS + w] = (uint16_t)(lba48 >> (16 * w));
	return id;
}

static void test_lba28_only(void **state)
{
	struct ata_id_capacity c;
	(void)state;
	/* 64 MiB, no 48-bit feature set: words 100-103 are not looked at */
	ata_id_capacity(block(131072, ATA_ID_CMDSET2_VALID, 0x123456789ull), &c);
	assert_int_equal(c.sectors, 131072);
	assert_int_equal(c.lba48, 0);
	assert_int_equal(c.flush_ext, 0);
	/* FLUSH CACHE EXT without 48-bit is not taken */
	ata_id_capacity(block(131072, ATA_ID_CMDSET2_VALID | ATA_ID_CMDSET2_FLUSH_EXT, 0), &c);
	assert_int_equal(c.lba48, 0);
	assert_int_equal(c.flush_ext, 0);
}

static void test_lba48(void **state)
{
	struct ata_id_capacity c;
	(void)state;
	/* 2 TiB: past the 28-bit limit, which then reads 0x0fffffff; all four words count */
	ata_id_capacity(block(0x0fffffff, ATA_ID_CMDSET2_VALID | ATA_ID_CMDSET2_LBA48 |
					   ATA_ID_CMDSET2_FLUSH_EXT, 0x0001000200030004ull), &c);
	assert_int_equal(c.sectors, 0x0001000200030004ull);
	assert_int_equal(c.lba48, 1);
	assert_int_equal(c.flush_ext, 1);
	/* 48-bit without FLUSH CACHE EXT; a 48-bit count below the 28-bit one leaves the latter */
	ata_id_capacity(block(131072, ATA_ID_CMDSET2_VALID | ATA_ID_CMDSET2_LBA48, 4096), &c);
	assert_int_equal(c.sectors, 131072);
	assert_int_equal(c.lba48, 1);
	assert_int_equal(c.flush_ext, 0);
}

/* Word 83 counts only when bits 15:14 are 01b: 0000h and FFFFh (no device, or not reported)
 * say nothing. */
static void test_word83_invalid(void **state)
{
	struct ata_id_capacity c;
	(void)state;
	ata_id_capacity(block(8192, 0xffff, 1ull << 40), &c);
	assert_int_equal(c.sectors, 8192);
	assert_int_equal(c.lba48, 0);
	assert_int_equal(c.flush_ext, 0);
	ata_id_capacity(block(8192, ATA_ID_CMDSET2_LBA48 | ATA_ID_CMDSET2_FLUSH_EXT, 1ull << 40), &c);
	assert_int_equal(c.sectors, 8192);
	assert_int_equal(c.lba48, 0);
}

/* Word 85 bit 5: the write cache enabled; the other bits of the word say nothing about it */
static void test_write_cache(void **state)
{
	(void)state;
	block(131072, ATA_ID_CMDSET2_VALID, 0);
	assert_int_equal(ata_id_write_cache(id), 0);
	id[ATA_ID_CMDSET_ENABLED] = 0xffff & ~ATA_ID_ENABLED_WCACHE;
	assert_int_equal(ata_id_write_cache(id), 0);
	id[ATA_ID_CMDSET_ENABLED] = ATA_ID_ENABLED_WCACHE;
	assert_int_equal(ata_id_write_cache(id), 1);
	id[ATA_ID_CMDSET_ENABLED - 3] = 0; /* word 82 (supported) is not what decides */
	assert_int_equal(ata_id_write_cache(id), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lba28_only),
		cmocka_unit_test(test_lba48),
		cmocka_unit_test(test_word83_invalid),
		cmocka_unit_test(test_write_cache),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
