/*
 * The bootable disk image (build/kvmio.img): `kvmio image` bakes guest options into a copy, and
 * `kvmio boot --image` boots it through GRUB under SeaBIOS (pc, q35) and OVMF (q35, under TCG:
 * OVMF does not run under kvm_pvm). Each boot must reach end status=ok with the baked command
 * line in the hello record, the ACPI RSDP (which multiboot2 hands over; under OVMF nothing else
 * finds it) and the memory map (the RAM QEMU was given).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "proto/proto.h"
#include "lib/file.h"
#include "helpers.h"

#define OPTIONS "ops=300 bench=exits"

static char img[300];

static int setup(void **state)
{
	assert_int_equal(test_dir_setup(state), 0);
	snprintf(img, sizeof(img), "%s/t.img", test_dir);
	unsetenv("KVMIO_IMAGE_DIR");  /* build/kvmio finds build/kvmio.img beside it */
	if (test_kvmio(test_out_path, "image", img, "--cmdline", OPTIONS, (char *)NULL) != 0)
		fail_msg("kvmio image: %s", test_output(test_out_path));
	return 0;
}

/* Boot the image, as a user would; check what the guest got from GRUB. mem_mib: -m; disk: a
 * --disk beside the image (NULL: none). */
static void boot_image_disk(const char *fw, const char *machine, uint64_t mem_mib, const char *disk)
{
	struct log log;
	const struct record *hello;
	uint64_t kib;
	int rc;

	/* OVMF runs under TCG only (kvm_pvm cannot run it); the BIOS paths take auto's choice */
	rc = test_kvmio(test_out_path, "boot", "--firmware", fw, "--machine", machine, "--image", img,
			"--accel", strcmp(fw, "uefi") ? "auto" : "tcg", "--timeout", "120",
			"--log", test_log_path, disk ? "--disk" : NULL, disk, (char *)NULL);
	if (rc != 0)
		fail_msg("kvmio boot --image %s/%s: exit %d\n%s", fw, machine, rc,
			 test_output(test_out_path));
	memset(&log, 0, sizeof(log));
	log_parse_file(&log, test_log_path);
	assert_int_equal(log.status, 0);
	hello = log_find(&log, "hello", NULL, NULL);
	assert_non_null(hello);
	test_assert_field(hello, "boot", "multiboot2");
	test_assert_field(hello, "cmdline", OPTIONS);
	/* the memory map: usable RAM below what QEMU gave, less what firmware keeps */
	kib = test_u64_of(hello, "mem_kib");
	if (kib > mem_mib * 1024 || kib < mem_mib * 1024 * 3 / 4)
		fail_msg("%s/%s: mem_kib=%llu for -m %llu", fw, machine, (unsigned long long)kib,
			 (unsigned long long)mem_mib);
	/* the RSDP: ACPI found, and through it the FADT's PM timer the pmtimer exit measures */
	assert_string_not_equal(record_get(hello, "acpi"), "none");
	test_check_result(&log, "pmtimer", 300);
	if (!strcmp(machine, "q35"))  /* MCFG, through the same RSDP */
		assert_string_not_equal(record_get(hello, "ecam"), "none");
	test_check_result(&log, "mmio-read", 300);
	test_assert_field(log_find(&log, "end", NULL, NULL), "status", "ok");
	log_free(&log);
}

static void boot_image(const char *fw, const char *machine, uint64_t mem_mib)
{
	boot_image_disk(fw, machine, mem_mib, NULL);
}

static void test_bios_pc(void **state) { (void)state; boot_image("bios", "pc", 128); }
/* An IDE --disk takes ide.0 and would be SeaBIOS's drive 0x80: the image must still boot */
static void test_bios_pc_beside_ide_disk(void **state)
{
	(void)state;
	boot_image_disk("bios", "pc", 128, "ide,backend=null,size=1M");
}
static void test_bios_q35(void **state) { (void)state; boot_image("bios", "q35", 128); }
static void test_uefi_q35(void **state) { (void)state; boot_image("uefi", "q35", 256); }

/* Bad options: one line, exit 2, no file. An existing FILE stays unless --force. */
static void test_image_usage(void **state)
{
	char other[320], *first, *again;

	(void)state;
	snprintf(other, sizeof(other), "%s/bad.img", test_dir);
	assert_int_equal(test_kvmio(test_out_path, "image", other, "--cmdline", "ops=lots", (char *)NULL), 2);
	first = test_read(test_out_path);
	assert_non_null(strstr(first, "guest option ops=lots"));
	assert_true(strchr(first, '\n') == first + strlen(first) - 1); /* one line */
	free(first);
	assert_false(path_exists(other));
	assert_int_equal(test_kvmio(test_out_path, "image", other, "--cmdline", "nosuch=1", (char *)NULL), 2);
	assert_int_equal(test_kvmio(test_out_path, "image", other, "--cmdline", "ops=1'", (char *)NULL), 2);
	assert_false(path_exists(other));
	assert_int_equal(test_kvmio(test_out_path, "image", other, "--from", "/etc/hostname", (char *)NULL), 2);
	assert_non_null(strstr(test_output(test_out_path), "not a kvmio.img"));
	assert_false(path_exists(other));

	first = test_read(img);
	assert_non_null(first);
	assert_int_equal(test_kvmio(test_out_path, "image", img, "--cmdline", "ops=1", (char *)NULL), 2);
	assert_non_null(strstr(test_output(test_out_path), "--force"));
	again = test_read(img);
	assert_memory_equal(first, again, 4096 * 512 + 65536);
	free(again);
	/* --force rewrites it; then back to OPTIONS for the boots */
	assert_int_equal(test_kvmio(test_out_path, "image", img, "--cmdline", "ops=1", "--force",
				    (char *)NULL), 0);
	assert_int_equal(test_kvmio(test_out_path, "image", img, "--cmdline", OPTIONS, "--force",
				    (char *)NULL), 0);
	free(first);
	/* guest options after -- do not go with --image */
	assert_int_equal(test_kvmio(test_out_path, "boot", "--image", img, "--", "ops=5", (char *)NULL), 2);
	assert_non_null(strstr(test_output(test_out_path), "kvmio image FILE --cmdline"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_image_usage),
		cmocka_unit_test(test_bios_pc),
		cmocka_unit_test(test_bios_pc_beside_ide_disk),
		cmocka_unit_test(test_bios_q35),
		cmocka_unit_test(test_uefi_q35),
	};

	return cmocka_run_group_tests(tests, setup, test_dir_teardown);
}
