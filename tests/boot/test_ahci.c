/*
 * AHCI disks under QEMU (drivers/ahci.c, `kvmio boot --disk ahci`): q35's built-in ich9-ahci
 * and `-device ahci` on pc; every completion mode, non-queued (qd=1) and NCQ (qd=8), write
 * verification on labelled raw and qcow2 files, blkdebug errors, bad options.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "proto/proto.h"
#include "kvmio_proto.h"
#include "helpers.h"

/* kvmio boot on MACHINE (firmware bios unless given) with the --disk SPECS (space-separated),
 * bench=disk and the guest options OPTS; expect exit `want` and parse the log. */
static void boot_fw(struct log *log, int want, const char *firmware, const char *machine,
		    const char *specs, const char *opts)
{
	char args[100];
	snprintf(args, sizeof(args), "--firmware %s --machine %s", firmware, machine);
	struct test_boot b = { .args = args, .flag = "--disk", .specs = specs,
			       .prefix = "bench=disk pci=0", .opts = opts };
	test_boot_log(log, want, &b);
}

static void boot(struct log *log, int want, const char *machine, const char *specs, const char *opts)
{
	boot_fw(log, want, "bios", machine, specs, opts);
}

/* A disk result: sane latency figures, the bytes moved, and the counters that explain them. */
static const struct record *check_result(const struct log *log, uint64_t ops, const char *irq)
{
	const struct record *r = test_check_disk_result(log, NULL, ops);
	test_assert_field(r, "model", "ahci");
	test_assert_field(r, "irq", irq);
	/* Every request is issued with a write to PxCI; AHCI has no port I/O on this path. */
	assert_true(test_u64_of(r, "mmio_w") >= ops);
	assert_int_equal(test_u64_of(r, "pio_r") + test_u64_of(r, "pio_w"), 0);
	if (!strcmp(irq, "poll"))
		assert_int_equal(test_u64_of(r, "irqs"), 0);
	else
		assert_true(test_u64_of(r, "irqs") > 0);
	return r;
}

/* Reads and writes on null-co, qd=1 (READ/WRITE DMA EXT): every mode, on q35 and pc. */
static void test_ahci_modes(void **state)
{
	(void)state;
	static const char *const machines[] = { "q35", "pc" };
	static const char *const irqs[] = { "poll", "intx", "msix" };
	for (int m = 0; m < 2; m++) {
		for (int i = 0; i < 3; i++) {
			struct log log;
			char opts[128];
			snprintf(opts, sizeof(opts), "ops=200 rw=randrw write=unsafe irq=%s", irqs[i]);
			boot(&log, 0, machines[m], "ahci,size=64M", opts);
			const struct record *d = log_find(&log, "disk", "index", "0");
			test_assert_field(d, "model", "ahci");
			test_assert_field(d, "transport", "dma");
			assert_int_equal(test_u64_of(d, "sectors"), (64u << 20) / 512);
			assert_true(test_u64_of(d, "queue_depth") >= 8); /* NCQ, QEMU offers 32 */
			const struct record *r = check_result(&log, 200, irqs[i]);
			test_assert_field(r, "transport", "dma");
			if (strcmp(irqs[i], "poll"))
				assert_true(test_u64_of(r, "irqs") >= 200); /* one per request */
			log_free(&log);
		}
	}
}

/* qd=8: READ/WRITE FPDMA QUEUED (the result's transport is ncq). */
static void test_ahci_ncq(void **state)
{
	(void)state;
	struct log log;
	boot(&log, 0, "q35", "ahci", "ops=400 qd=8 rw=randrw write=unsafe irq=intx");
	const struct record *r = check_result(&log, 400, "intx");
	test_assert_field(r, "transport", "ncq");
	assert_int_equal(test_u64_of(r, "qd"), 8);
	log_free(&log);
	boot(&log, 0, "pc", "ahci", "ops=400 qd=8 irq=poll");
	r = check_result(&log, 400, "poll");
	test_assert_field(r, "transport", "ncq");
	log_free(&log);
	boot(&log, 0, "q35", "ahci", "ops=400 qd=32 irq=msix flush=16 rw=randwrite write=unsafe");
	r = check_result(&log, 400, "msix");
	test_assert_field(r, "transport", "ncq");
	assert_true(test_u64_of(r, "flushes") >= 400 / 16 - 1);
	log_free(&log);
	/* More than the 32 tags NCQ has: refused by the benchmark */
	boot(&log, KVMIO_EXIT_BADCONFIG, "q35", "ahci", "ops=10 qd=33");
	assert_non_null(log_find(&log, "error", "code", "badconfig"));
	log_free(&log);
}

/* Write, read back and check stamps in the guest, then from the host with verify-disk. */
static void check_verify(const char *machine, const char *format, const char *extra, unsigned bs)
{
	char args[100];
	struct log log;
	snprintf(args, sizeof(args), "--firmware bios --machine %s", machine);
	struct test_boot b = { .args = args, .prefix = "bench=disk pci=0", .opts = extra };
	struct test_verify v = { .model = "ahci", .format = format, .seed = 77, .bs = bs };
	test_write_verify(&log, &b, &v);
	log_free(&log);
}

static void test_ahci_verify(void **state)
{
	(void)state;
	check_verify("q35", "raw", "irq=msix", 4096);
	check_verify("pc", "qcow2", "irq=intx qd=8", 65536);
	check_verify("q35", "qcow2", "irq=poll", 131072);
	check_verify("pc", "raw", "irq=poll qd=4", 4096);
}

/* The write guard: an unlabelled file is not written, whatever the driver. */
static void test_ahci_unlabelled(void **state)
{
	(void)state;
	char img[400], spec[500];
	snprintf(img, sizeof(img), "%s/disk.raw", test_dir);
	test_sparse_file(img, 16 << 20);
	snprintf(spec, sizeof(spec), "ahci,backend=file=%s", img);
	struct log log;
	boot(&log, KVMIO_EXIT_BADCONFIG, "q35", spec, "rw=randwrite");
	test_assert_field(log_find(&log, "disk", NULL, NULL), "label", "no");
	test_assert_field(log_find(&log, "error", "code", "badconfig"), "key", "write");
	/* the write cache from IDENTIFY word 85: on with the default cache=writeback */
	test_assert_field(log_find(&log, "disk", NULL, NULL), "write_cache", "on");
	log_free(&log);
	/* and off with cache=writethrough (QEMU's write-cache=off) */
	snprintf(spec, sizeof(spec), "ahci,backend=file=%s,cache=writethrough", img);
	boot(&log, KVMIO_EXIT_OK, "q35", spec, "ops=20");
	test_assert_field(log_find(&log, "disk", NULL, NULL), "write_cache", "off");
	log_free(&log);
	unlink(img);
}

/* blkdebug EIO: the error record names the LBA, the guest exits 1. */
static void check_eio(const char *machine, const char *inject, const char *opts, uint64_t min_lba)
{
	char img[400], spec[500];
	struct log log;
	snprintf(img, sizeof(img), "%s/eio.img", test_dir);
	test_sparse_file(img, 64 << 20);
	snprintf(spec, sizeof(spec), "ahci,backend=file=%s,inject=%s", img, inject);
	boot(&log, KVMIO_EXIT_GUEST_FAIL, machine, spec, opts);
	const struct record *e = test_check_device_error(&log, "ahci");
	test_assert_field(e, "what", "ATA error");
	assert_true(test_u64_of(e, "lba") >= min_lba);
	/* the task file (hex): ERR in the status, or the error register (ABRT) still set when a
	 * later queued completion has overwritten the status */
	const char *st = record_get(e, "status"), *er = record_get(e, "error");
	assert_non_null(st);
	assert_non_null(er);
	assert_true((strtoull(st, NULL, 16) & 0x01) || strtoull(er, NULL, 16) != 0);
	log_free(&log);
	unlink(img);
}

static void test_ahci_fault_injection(void **state)
{
	(void)state;
	check_eio("q35", "eio-read", "ops=10", 0); /* the label read at sector 0 fails */
	check_eio("pc", "eio-write", "ops=10 rw=randwrite write=unsafe irq=intx", 2048);
	/* qd=8: the first request (a read) runs non-queued, the port then switches to NCQ and
	 * the writes fail there (the FPDMA QUEUED error path) */
	check_eio("q35", "eio-write", "ops=50 qd=8 rw=randrw mix=90 warmup=0 write=unsafe irq=msix", 2048);
	check_eio("pc", "eio-write", "ops=50 qd=8 rw=randrw mix=90 warmup=0 write=unsafe irq=poll", 2048);
}

/* Bad options: the guest's parser (exit 2), and kvmio boot's --disk checks (exit 2, no QEMU). */
static void test_ahci_bad_options(void **state)
{
	(void)state;
	static const char *const bad[] = { "irq=sometimes", "qd=0", "bs=1000", "dev=3" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct log log;
		boot(&log, KVMIO_EXIT_BADCONFIG, "q35", "ahci", bad[i]);
		assert_non_null(log_find(&log, "error", "code", "badconfig"));
		assert_null(log_find(&log, "result", NULL, NULL));
		log_free(&log);
	}
	static const char *const bad_specs[][2] = {
		{ "q35", "ahci,readonly=on" }, { "q35", "ahci,transport=legacy" },
		{ "q35", "ahci,iothread=on" }, { "q35", "ahci,size=7" }, { "pc", "ahci,inject=x" },
		{ "microvm", "ahci" },
	};
	for (size_t i = 0; i < sizeof(bad_specs) / sizeof(bad_specs[0]); i++) {
		const char *out = test_out_path;
		int rc = test_kvmio(out, "boot", "--firmware", strcmp(bad_specs[i][0], "microvm") ? "bios" : "pvh",
				    "--machine", bad_specs[i][0], "--disk", bad_specs[i][1], "--",
				    "bench=disk", (char *)NULL);
		if (rc != KVMIO_EXIT_BADCONFIG)
			fail_msg("--disk %s: exit %d, want 2\n%s", bad_specs[i][1], rc, test_output(out));
		assert_non_null(strstr(test_output(out), "--disk"));
	}
}

/* q35's built-in AHCI with nothing attached registers no disk and no error; disks are
 * numbered ide, ahci, nvme, virtio-blk; bench=disk picks the AHCI disk as dev=0. */
static void test_ahci_numbering(void **state)
{
	(void)state;
	struct log log;
	boot(&log, 0, "q35", "virtio-blk", "ops=50");
	test_assert_field(log_find(&log, "disk", "index", "0"), "model", "virtio-blk");
	assert_null(log_find(&log, "disk", "index", "1"));
	assert_null(log_find(&log, "error", NULL, NULL));
	log_free(&log);
	boot(&log, KVMIO_EXIT_BADCONFIG, "q35", "", "ops=10");
	assert_null(log_find(&log, "disk", NULL, NULL));
	assert_null(log_find(&log, "error", "code", "device"));
	assert_non_null(strstr(record_get(log_find(&log, "error", "code", "badconfig"), "msg"), "no disk"));
	log_free(&log);
	boot(&log, 0, "q35", "ahci,size=32M virtio-blk,size=16M", "ops=50");
	test_check_disk_models(&log, "ahci virtio-blk");
	test_assert_field(log_find(&log, "result", NULL, NULL), "model", "ahci");
	log_free(&log);
	boot(&log, 0, "pc", "ide,size=16M ahci,size=32M ahci,size=48M virtio-blk", "ops=50 dev=2");
	test_check_disk_models(&log, "ide ahci ahci virtio-blk");
	assert_int_equal(test_u64_of(log_find(&log, "disk", "index", "1"), "sectors"), (32u << 20) / 512);
	assert_int_equal(test_u64_of(log_find(&log, "disk", "index", "2"), "sectors"), (48u << 20) / 512);
	test_assert_field(log_find(&log, "result", NULL, NULL), "model", "ahci");
	log_free(&log);
	boot(&log, 0, "q35", "ahci,size=32M nvme,size=16M virtio-blk", "ops=50 dev=1");
	test_check_disk_models(&log, "ahci nvme virtio-blk");
	test_assert_field(log_find(&log, "result", NULL, NULL), "model", "nvme");
	log_free(&log);
	/* UEFI: the boot volume on the same AHCI (port 0 on q35) is left out */
	boot_fw(&log, 0, "uefi", "q35", "ahci,size=32M", "ops=50");
	test_assert_field(log_find(&log, "disk", "index", "0"), "model", "ahci");
	assert_int_equal(test_u64_of(log_find(&log, "disk", "index", "0"), "sectors"), (32u << 20) / 512);
	assert_null(log_find(&log, "disk", "index", "1"));
	log_free(&log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST_IN_DIR(test_ahci_modes),
		TEST_IN_DIR(test_ahci_ncq),
		TEST_IN_DIR(test_ahci_verify),
		TEST_IN_DIR(test_ahci_unlabelled),
		TEST_IN_DIR(test_ahci_fault_injection),
		TEST_IN_DIR(test_ahci_bad_options),
		TEST_IN_DIR(test_ahci_numbering),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
