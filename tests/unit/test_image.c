/*
 * Unit tests of the disk image's host side: the GPT reader that finds the ESP, the grub.cfg
 * that carries the guest options (host/boot/image.c), and the QEMU command line of
 * kvmio boot --image (host/boot/qemu.c). No QEMU.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "boot/image.h"
#include "boot/qemu.h"
#include "helpers.h"

#define SECTOR 512
#define DISK_SECTORS 40

static const uint8_t esp_guid[16] = { 0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11,
				      0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b };
static const uint8_t bios_boot_guid[16] = { 0x48, 0x61, 0x68, 0x21, 0x49, 0x64, 0x6f, 0x6e,
					    0x74, 0x4e, 0x65, 0x65, 0x64, 0x45, 0x46, 0x49 };

static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> 8 * i); }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> 8 * i); }

/* A GPT as scripts/mkimage lays it out: entries at LBA 2, 128 bytes each, BIOS boot first. */
static void make_gpt(uint8_t *d, uint32_t entry_size, int with_esp)
{
	memset(d, 0, DISK_SECTORS * SECTOR);
	memcpy(d + SECTOR, "EFI PART", 8);
	put64(d + SECTOR + 72, 2);
	put32(d + SECTOR + 80, 128);
	put32(d + SECTOR + 84, entry_size);
	memcpy(d + 2 * SECTOR, bios_boot_guid, 16);
	put64(d + 2 * SECTOR + 32, 2048);
	if (with_esp) {
		memcpy(d + 2 * SECTOR + entry_size, esp_guid, 16);
		put64(d + 2 * SECTOR + entry_size + 32, 4096);
	}
}

static void test_find_esp(void **state)
{
	static uint8_t d[DISK_SECTORS * SECTOR];
	uint64_t off = 0;
	char err[256];

	(void)state;
	make_gpt(d, 128, 1);
	assert_int_equal(image_find_esp(d, sizeof(d), &off, err, sizeof(err)), 0);
	assert_int_equal(off, 4096 * SECTOR);
	/* larger entries (UEFI allows 128 * 2^n) */
	make_gpt(d, 256, 1);
	assert_int_equal(image_find_esp(d, sizeof(d), &off, err, sizeof(err)), 0);
	assert_int_equal(off, 4096 * SECTOR);
	make_gpt(d, 128, 0);
	assert_int_equal(image_find_esp(d, sizeof(d), &off, err, sizeof(err)), 2);
	assert_non_null(strstr(err, "no EFI System Partition"));
	make_gpt(d, 64, 1);
	assert_int_equal(image_find_esp(d, sizeof(d), &off, err, sizeof(err)), 2);
	assert_non_null(strstr(err, "bad GPT header"));
	make_gpt(d, 128, 1);
	d[SECTOR] = 'X';
	assert_int_equal(image_find_esp(d, sizeof(d), &off, err, sizeof(err)), 2);
	assert_non_null(strstr(err, "no GPT header"));
	/* a truncated file: the header alone, the array cut off */
	make_gpt(d, 128, 1);
	assert_int_equal(image_find_esp(d, 2 * SECTOR + 100, &off, err, sizeof(err)), 2);
	assert_int_equal(image_find_esp(d, 100, &off, err, sizeof(err)), 2);
}

static void test_grub_cfg(void **state)
{
	char cfg[4096], err[256], big[1100];

	(void)state;
	assert_int_equal(image_grub_cfg("", cfg, sizeof(cfg), err, sizeof(err)), 0);
	assert_non_null(strstr(cfg, "\nmultiboot2 /boot/kvmio.elf\nboot\n"));
	assert_int_equal(image_grub_cfg("  bench=disk   ops=5 ", cfg, sizeof(cfg), err, sizeof(err)), 0);
	assert_non_null(strstr(cfg, "\nmultiboot2 /boot/kvmio.elf 'bench=disk' 'ops=5'\nboot\n"));
	assert_int_equal(image_grub_cfg("ops=5'; reboot '", cfg, sizeof(cfg), err, sizeof(err)), 2);
	assert_non_null(strstr(err, "0x27"));
	assert_int_equal(image_grub_cfg("ops=5\nreboot", cfg, sizeof(cfg), err, sizeof(err)), 2);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(image_grub_cfg(big, cfg, sizeof(cfg), err, sizeof(err)), 2);
	assert_non_null(strstr(err, "at most 1023"));
	/* a buffer too small is an error, never a cut configuration */
	assert_int_equal(image_grub_cfg("ops=5", cfg, 40, err, sizeof(err)), 2);
}

static void no_kvm(struct kvm_flavour *k) { fake_host_flavour(FAKE_NO_KVM, k); }
static int always(const char *path) { (void)path; return 1; }

static int find_pair(const struct qemu_command *c, const char *arg, const char *value)
{
	for (int i = 0; i + 1 < c->argc; i++)
		if (!strcmp(c->argv[i], arg) && !strcmp(c->argv[i + 1], value))
			return i;
	return -1;
}

static int has(const struct qemu_command *c, const char *arg)
{
	for (int i = 0; i < c->argc; i++)
		if (!strcmp(c->argv[i], arg))
			return 1;
	return 0;
}

static struct qemu_options image_options(const char *fw, const char *machine)
{
	struct qemu_options o = { 0 };

	o.qemu = "qemu-system-x86_64";
	o.image_dir = "/img";
	o.kvm_flavour = no_kvm;
	o.path_exists = always;
	o.ovmf_code = "/fw/CODE.fd";
	o.ovmf_vars = "/tmp/x/VARS.fd";
	o.esp_dir = "/tmp/x/esp";
	o.firmware = fw;
	o.machine = machine;
	o.boot_image = "/d/a,b.img";
	return o;
}

static void test_boot_image_command(void **state)
{
	static const char *const fws[][2] = { { "bios", "pc" }, { "bios", "q35" }, { "uefi", "q35" } };
	struct qemu_command c;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(fws) / sizeof(fws[0]); i++) {
		struct qemu_options o = image_options(fws[i][0], fws[i][1]);

		assert_int_equal(qemu_build_command(&o, &c, err, sizeof(err)), 0);
		/* the disk, never written (snapshot), commas doubled; no -kernel, no FAT directory */
		assert_true(find_pair(&c, "-drive", "if=none,id=esp,format=raw,snapshot=on,"
				      "file=/d/a,,b.img") >= 0);
		assert_true(find_pair(&c, "-device", "ide-hd,drive=esp,bus=ide.0,serial=kvmio-esp,bootindex=0") >= 0);
		assert_false(has(&c, "-kernel"));
		assert_false(has(&c, "-append"));
		for (int k = 0; k < c.argc; k++)
			assert_null(strstr(c.argv[k], "fat:"));
		assert_string_equal(c.image, "/d/a,b.img");
		assert_int_equal(find_pair(&c, "-drive", "if=pflash,format=raw,unit=0,readonly=on,"
					   "file=/fw/CODE.fd") >= 0, !strcmp(fws[i][0], "uefi"));
		qemu_command_free(&c);
	}
	/* pc with a --disk: the image on its own AHCI controller, ide.0 left to the disk */
	{
		struct qemu_options o = image_options("bios", "pc");
		char *disks[] = { "ide" };

		o.disks = disks;
		o.ndisks = 1;
		assert_int_equal(qemu_build_command(&o, &c, err, sizeof(err)), 0);
		assert_true(find_pair(&c, "-device", "ahci,id=espahci,addr=0x1f") >= 0);
		assert_true(find_pair(&c, "-device", "ide-hd,drive=esp,bus=espahci.0,serial=kvmio-esp,bootindex=0") >= 0);
		qemu_command_free(&c);
	}
	/* the guest options live in the image; pvh has no firmware to boot a disk */
	{
		struct qemu_options o = image_options("bios", "pc");
		char *args[] = { "ops=5" };

		o.guest_args = args;
		o.nguest_args = 1;
		assert_int_equal(qemu_build_command(&o, &c, err, sizeof(err)), 2);
		assert_non_null(strstr(err, "kvmio image FILE --cmdline"));
		o = image_options("pvh", "pc");
		assert_int_equal(qemu_build_command(&o, &c, err, sizeof(err)), 2);
		assert_non_null(strstr(err, "--firmware bios or uefi"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_esp),
		cmocka_unit_test(test_grub_cfg),
		cmocka_unit_test(test_boot_image_command),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
