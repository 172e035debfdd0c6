/*
 * The bus-master IDE PRD table (drivers/ata_prd.c), the guest's own file compiled for the
 * host: regions split at every 64 KiB boundary, 64 KiB written as a byte count of 0, EOT on
 * the last entry only, and the refusals (empty, past 4 GiB, too many regions).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include "drivers/ata_prd.h"

#define MAX 512 /* a page of 8-byte entries, as drivers/ata.c has */
#define KIB 1024ull

static struct ata_prd table[MAX];

/* Every table must describe exactly [addr, addr + bytes), contiguous, no region across a
 * 64 KiB boundary, EOT on the last entry only. */
static void check_table(int n, uint64_t addr, uint64_t bytes)
{
	uint64_t at = addr;
	assert_true(n > 0);
	for (int i = 0; i < n; i++) {
		uint64_t len = table[i].bytes ? table[i].bytes : 64 * KIB;
		assert_int_equal(table[i].base, at);
		assert_true((at & (ATA_PRD_BOUNDARY - 1)) + len <= ATA_PRD_BOUNDARY);
		assert_int_equal(table[i].flags, i == n - 1 ? ATA_PRD_EOT : 0);
		at += len;
	}
	assert_int_equal(at, addr + bytes);
}

static void test_one_region(void **state)
{
	(void)state;
	assert_int_equal(ata_prd_build(table, MAX, 0x100000, 4096), 1);
	assert_int_equal(table[0].base, 0x100000);
	assert_int_equal(table[0].bytes, 4096);
	assert_int_equal(table[0].flags, ATA_PRD_EOT);
}

static void test_split_at_64k(void **state)
{
	(void)state;
	/* 8 KiB starting 4 KiB below a 64 KiB boundary: two regions of 4 KiB. */
	assert_int_equal(ata_prd_build(table, MAX, 0x1f000, 8 * KIB), 2);
	assert_int_equal(table[0].base, 0x1f000);
	assert_int_equal(table[0].bytes, 4096);
	assert_int_equal(table[0].flags, 0);
	assert_int_equal(table[1].base, 0x20000);
	assert_int_equal(table[1].bytes, 4096);
	assert_int_equal(table[1].flags, ATA_PRD_EOT);
	/* Ending exactly on the boundary: no empty second region. */
	assert_int_equal(ata_prd_build(table, MAX, 0x1f000, 4 * KIB), 1);
	/* One byte across it. */
	assert_int_equal(ata_prd_build(table, MAX, 0x1f000, 4 * KIB + 2), 2);
	assert_int_equal(table[1].bytes, 2);
	check_table(2, 0x1f000, 4 * KIB + 2);
}

static void test_64k_is_zero(void **state)
{
	(void)state;
	/* A whole aligned 64 KiB is one region whose byte count is written 0. */
	assert_int_equal(ata_prd_build(table, MAX, 0x20000, 64 * KIB), 1);
	assert_int_equal(table[0].bytes, 0);
	assert_int_equal(table[0].flags, ATA_PRD_EOT);
	/* 128 KiB aligned: two such regions. */
	assert_int_equal(ata_prd_build(table, MAX, 0x20000, 128 * KIB), 2);
	assert_int_equal(table[0].bytes, 0);
	assert_int_equal(table[1].base, 0x30000);
	assert_int_equal(table[1].bytes, 0);
}

static void test_large(void **state)
{
	(void)state;
	/* 1 MiB from 0x123400: 0xcc00 up to 0x130000, fifteen whole 64 KiB, then 0x3400. */
	int n = ata_prd_build(table, MAX, 0x123400, 1024 * KIB);
	assert_int_equal(n, 17);
	assert_int_equal(table[0].bytes, 0xcc00);
	assert_int_equal(table[16].base, 0x220000);
	assert_int_equal(table[16].bytes, 0x3400);
	check_table(n, 0x123400, 1024 * KIB);
	/* The largest IDE request (LBA48, 8192 sectors = 4 MiB): 64 regions aligned, 65 not. */
	assert_int_equal(ata_prd_build(table, MAX, 0x400000, 4096 * KIB), 64);
	n = ata_prd_build(table, MAX, 0x401000, 4096 * KIB);
	assert_int_equal(n, 65);
	check_table(n, 0x401000, 4096 * KIB);
}

static void test_refused(void **state)
{
	(void)state;
	assert_int_equal(ata_prd_build(table, MAX, 0x100000, 0), -1);
	/* three regions wanted, room for two */
	assert_int_equal(ata_prd_build(table, 2, 0x1f000, 72 * KIB), -1);
	assert_int_equal(ata_prd_build(table, 3, 0x1f000, 72 * KIB), 3);
	/* bases are 32 bits: up to 4 GiB exactly, not past it */
	assert_int_equal(ata_prd_build(table, MAX, 0xfffff000, 4 * KIB), 1);
	assert_int_equal(ata_prd_build(table, MAX, 0xfffff000, 8 * KIB), -1);
	assert_int_equal(ata_prd_build(table, MAX, 0x100000000ull, 512), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_region),
		cmocka_unit_test(test_split_at_64k),
		cmocka_unit_test(test_64k_is_zero),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
