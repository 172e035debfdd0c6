/*
 * The guest's boot information readers (boot/bootinfo.c, compiled on the host): the multiboot2
 * tags GRUB hands to build/kvmio.img's kernel (command line, memory map, ACPI RSDP copies),
 * malformed and truncated information, and the command-line copy every entry path uses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "boot/bootinfo.h"

/* Multiboot2 1.0 §3.4 tag types */
#define TAG_END 0
#define TAG_CMDLINE 1
#define TAG_LOADER 2
#define TAG_MMAP 6
#define TAG_ACPI_OLD 14
#define TAG_ACPI_NEW 15

struct mb2 {
	_Alignas(8) uint8_t b[4096];
	uint32_t len;
};

static void mb2_start(struct mb2 *m)
{
	memset(m, 0, sizeof(*m));
	m->len = 8;
}

/* One tag: type, its body; padded to 8 bytes as §3.4 says. */
static void mb2_tag(struct mb2 *m, uint32_t type, const void *body, uint32_t n)
{
	uint32_t size = 8 + n;

	memcpy(m->b + m->len, &type, 4);
	memcpy(m->b + m->len + 4, &size, 4);
	if (n)
		memcpy(m->b + m->len + 8, body, n);
	m->len += (size + 7) & ~7u;
}

static void mb2_end(struct mb2 *m)
{
	mb2_tag(m, TAG_END, NULL, 0);
	memcpy(m->b, &m->len, 4);
}

static void mb2_mmap(struct mb2 *m, uint32_t entry_size)
{
	uint8_t body[8 + 3 * 32] = { 0 };
	uint64_t ranges[3][2] = { { 0, 0x9fc00 }, { 0x100000, 0x7ee0000 }, { 0x7fe0000, 0x20000 } };
	uint32_t types[3] = { 1, 1, 2 };

	memcpy(body, &entry_size, 4);
	for (int i = 0; i < 3; i++) {
		memcpy(body + 8 + i * entry_size, &ranges[i][0], 8);
		memcpy(body + 8 + i * entry_size + 8, &ranges[i][1], 8);
		memcpy(body + 8 + i * entry_size + 16, &types[i], 4);
	}
	mb2_tag(m, TAG_MMAP, body, 8 + 3 * entry_size);
}

/* An RSDP of len bytes (20: ACPI 1.0, 36: 2.0+) with marker addresses. */
static void rsdp(uint8_t *r, size_t len, uint8_t revision)
{
	memset(r, 0, len);
	memcpy(r, "RSD PTR ", 8);
	r[15] = revision;
	r[16] = 0x11;        /* RsdtAddress, a marker */
	if (revision >= 2)
		r[24] = 0x22;    /* XsdtAddress */
}

static void test_grub_information(void **state)
{
	static struct mb2 m;
	static struct boot_info bi;
	uint8_t copy[BOOTINFO_RSDP_COPY_LEN], v1[20], v2[36];
	const char *cmd = "bench=disk ops=300";

	(void)state;
	memset(&bi, 0, sizeof(bi));
	mb2_start(&m);
	mb2_tag(&m, TAG_CMDLINE, cmd, (uint32_t)strlen(cmd) + 1);
	mb2_tag(&m, TAG_LOADER, "GRUB 2.06", 10);   /* unknown to us: skipped */
	mb2_mmap(&m, 24);
	rsdp(v1, sizeof(v1), 0);
	rsdp(v2, sizeof(v2), 2);
	mb2_tag(&m, TAG_ACPI_NEW, v2, 36);
	mb2_tag(&m, TAG_ACPI_OLD, v1, 20);           /* after the new one: does not replace it */
	mb2_end(&m);
	bootinfo_from_multiboot2(&bi, m.b, copy);
	/* the options alone: GRUB's multiboot2 has no image name in front */
	assert_string_equal(bi.cmdline, cmd);
	assert_int_equal(bi.mmap_count, 3);
	assert_int_equal(bi.mmap[1].base, 0x100000);
	assert_int_equal(bi.mmap[1].len, 0x7ee0000);
	assert_int_equal(bi.mmap[1].type, 1);
	assert_int_equal(bi.mmap[2].type, 2);
	assert_int_equal(bi.rsdp, (uint64_t)(uintptr_t)copy);
	assert_memory_equal(copy, v2, 36);

	/* the 1.0 RSDP alone, and a bigger mmap entry_size (§3.4.8 allows growth) */
	memset(&bi, 0, sizeof(bi));
	mb2_start(&m);
	mb2_tag(&m, TAG_ACPI_OLD, v1, 20);
	mb2_mmap(&m, 32);
	mb2_end(&m);
	memset(copy, 0xee, sizeof(copy));
	bootinfo_from_multiboot2(&bi, m.b, copy);
	assert_int_equal(bi.rsdp, (uint64_t)(uintptr_t)copy);
	assert_memory_equal(copy, v1, 20);
	assert_int_equal(copy[20], 0);               /* the rest zeroed, not the old bytes */
	assert_int_equal(bi.mmap_count, 3);
	assert_int_equal(bi.mmap[2].base, 0x7fe0000);
	assert_string_equal(bi.cmdline, "");
}

static void test_bad_information(void **state)
{
	static struct mb2 m;
	static struct boot_info bi;
	uint8_t copy[BOOTINFO_RSDP_COPY_LEN], v2[36];
	uint32_t total;

	(void)state;
	/* total_size cuts the information before the RSDP tag: not read */
	memset(&bi, 0, sizeof(bi));
	mb2_start(&m);
	mb2_tag(&m, TAG_CMDLINE, "ops=1", 6);
	total = m.len;
	rsdp(v2, sizeof(v2), 2);
	mb2_tag(&m, TAG_ACPI_NEW, v2, 36);
	mb2_end(&m);
	memcpy(m.b, &total, 4);
	bootinfo_from_multiboot2(&bi, m.b, copy);
	assert_string_equal(bi.cmdline, "ops=1");
	assert_int_equal(bi.rsdp, 0);

	/* a tag claiming more than total_size, and one of size 0: stop, never loop */
	memset(&bi, 0, sizeof(bi));
	mb2_start(&m);
	mb2_tag(&m, TAG_ACPI_NEW, v2, 36);
	mb2_end(&m);
	total = 0x7fffffff;
	memcpy(m.b + 12, &total, 4);
	bootinfo_from_multiboot2(&bi, m.b, copy);
	assert_int_equal(bi.rsdp, 0);
	total = 0;
	memcpy(m.b + 12, &total, 4);
	bootinfo_from_multiboot2(&bi, m.b, copy);
	assert_int_equal(bi.rsdp, 0);

	/* a command line without its NUL: read up to the tag's end only */
	memset(&bi, 0, sizeof(bi));
	mb2_start(&m);
	mb2_tag(&m, TAG_CMDLINE, "ops=12XXXXXX", 6);
	mb2_end(&m);
	bootinfo_from_multiboot2(&bi, m.b, copy);
	assert_string_equal(bi.cmdline, "ops=12");
}

static void test_copy_cmdline(void **state)
{
	static struct boot_info bi;
	static char big[BOOT_CMDLINE_MAX + 10];

	(void)state;
	memset(&bi, 0, sizeof(bi));
	bootinfo_copy_cmdline(&bi, "/boot/kvmio.elf  bench=exits ops=5", (size_t)-1, 1);
	assert_string_equal(bi.cmdline, "bench=exits ops=5");
	bootinfo_copy_cmdline(&bi, "kvmio.elf", (size_t)-1, 1);
	assert_string_equal(bi.cmdline, "");
	bootinfo_copy_cmdline(&bi, NULL, 0, 0);
	assert_string_equal(bi.cmdline, "");
	assert_int_equal(bi.flags, 0);
	/* 1023 bytes fit; 1024 do not */
	memset(big, 'a', BOOT_CMDLINE_MAX - 1);
	bootinfo_copy_cmdline(&bi, big, (size_t)-1, 0);
	assert_int_equal(strlen(bi.cmdline), BOOT_CMDLINE_MAX - 1);
	assert_int_equal(bi.flags, 0);
	big[BOOT_CMDLINE_MAX - 1] = 'a';
	bootinfo_copy_cmdline(&bi, big, (size_t)-1, 0);
	assert_int_equal(strlen(bi.cmdline), BOOT_CMDLINE_MAX - 1);
	assert_int_equal(bi.flags, BOOT_FLAG_CMDLINE_TRUNCATED);
}

static void test_memory_map_full(void **state)
{
	static struct boot_info bi;

	(void)state;
	memset(&bi, 0, sizeof(bi));
	for (int i = 0; i < BOOT_MMAP_MAX + 5; i++)
		bootinfo_add_range(&bi, (uint64_t)i << 20, 4096, 1);
	bootinfo_add_range(&bi, 0, 0, 1);
	assert_int_equal(bi.mmap_count, BOOT_MMAP_MAX);
	memset(&bi, 0, sizeof(bi));
	bootinfo_add_range(&bi, 0x1000, 0, 1);      /* empty ranges are dropped */
	assert_int_equal(bi.mmap_count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grub_information),
		cmocka_unit_test(test_bad_information),
		cmocka_unit_test(test_copy_cmdline),
		cmocka_unit_test(test_memory_map_full),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
