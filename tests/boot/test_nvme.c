/*
 * NVMe end to end (drivers/nvme.c, `kvmio boot --disk nvme`): every completion mode with register
 * and shadow doorbells at qd=1 and qd=16 on null-co, on pc and q35; write-verify on labelled raw
 * and qcow2 files, checked in the guest and by `kvmio verify-disk`; blkdebug EIO on read and on
 * write (the error record with the NVMe status and the LBA, exit 1); the write guard on an
 * unlabelled file; disk numbering beside IDE and virtio-blk; bad options (exit 2); a job file's
 * disk=nvme and dbbuf= axes through `kvmio run`.
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
#include "helpers.h"

/* kvmio boot --machine MACHINE --disk SPEC [--disk SPEC2] -- bench=disk pci=0 OPTS: expect `want`,
 * parse the log. guest_check 0: --no-guest-check, so the guest's own parser answers. */
static void boot_nvme(struct log *log, int want, const char *machine, const char *specs,
		      const char *opts, int guest_check)
{
	char args[100];
	snprintf(args, sizeof(args), "--machine %s", machine);
	struct test_boot b = { .args = args, .timeout = "180", .guest_check = guest_check,
			       .flag = "--disk", .specs = specs, .prefix = "bench=disk pci=0",
			       .opts = opts };
	test_boot_log(log, want, &b);
}

/* The result record of a series: consistent figures, every op's bytes. */
static const struct record *check_result(const struct log *log, const char *name, uint64_t ops)
{
	const struct record *r = test_check_disk_result(log, name, ops);
	test_assert_field(r, "model", "nvme");
	return r;
}

#define OPS 200

/* Reads and writes (randrw on null-co) in one mode: the disk record says what ran, and the
 * counters agree with it. Returns mmio_w per op * 100 of the randrw series. */
static uint64_t check_mode(const char *machine, const char *irq, int dbbuf, unsigned qd)
{
	struct log log;
	char opts[200], name[64];
	snprintf(opts, sizeof(opts), "ops=%u rw=randrw write=unsafe qd=%u irq=%s dbbuf=%d", OPS, qd,
		 irq, dbbuf);
	boot_nvme(&log, 0, machine, "nvme", opts, 1);
	const struct record *d = log_find(&log, "disk", "index", "0");
	assert_non_null(d);
	test_assert_field(d, "model", "nvme");
	test_assert_field(d, "irq", irq);
	test_assert_field(d, "dbbuf", dbbuf ? "1" : "0");
	test_assert_field(d, "transport", dbbuf ? "shadow-db" : "mmio-db");
	test_assert_field(d, "sector_size", "512");
	test_assert_field(d, "sectors", "2097152"); /* the 1 GiB null-co default */
	assert_true(test_u64_of(d, "queue_depth") >= 16);
	snprintf(name, sizeof(name), "randrw-4k-qd%u", qd);
	const struct record *r = check_result(&log, name, OPS);
	test_assert_field(r, "dbbuf", dbbuf ? "1" : "0");
	uint64_t mmio_w = test_u64_of(r, "mmio_w"), irqs = test_u64_of(r, "irqs");
	assert_int_equal(test_u64_of(r, "pio_r") + test_u64_of(r, "pio_w"), 0);
	/* Register doorbells: one SQ tail write per command at least (CQ heads come on top). The
	 * shadow buffer never adds register writes: at most an SQ tail and a CQ head per command,
	 * plus the INTMS/INTMC pair per interrupt with INTx. */
	if (!dbbuf)
		assert_true(mmio_w >= OPS);
	assert_true(mmio_w <= 2 * OPS + (strcmp(irq, "intx") ? 0 : 2 * irqs));
	assert_int_equal(test_u64_of(r, "mmio_r"), 0); /* nothing read back on the I/O path */
	if (!strcmp(irq, "poll"))
		assert_int_equal(irqs, 0);
	else if (qd == 1)
		assert_true(irqs >= OPS); /* one completion at a time: an interrupt for each */
	else
		assert_true(irqs > 0 && irqs <= 2 * OPS);
	log_free(&log);
	return mmio_w * 100 / OPS;
}

static void test_modes_pc(void **state)
{
	(void)state;
	static const char *const irqs[] = { "poll", "intx", "msix" };
	for (int i = 0; i < 3; i++)
		for (int dbbuf = 0; dbbuf < 2; dbbuf++) {
			check_mode("pc", irqs[i], dbbuf, 1);
			check_mode("pc", irqs[i], dbbuf, 16);
		}
}

static void test_modes_q35(void **state)
{
	(void)state;
	check_mode("q35", "poll", 0, 1);
	check_mode("q35", "intx", 1, 16);
	check_mode("q35", "msix", 1, 1);
	check_mode("q35", "msix", 0, 16);
}

/* What the shadow buffer is for: with many commands in flight the controller is still busy with
 * earlier ones when most doorbells change, so most register writes are saved, where register
 * doorbells cost at least one per command. How many are saved depends on how far the controller
 * lags (QEMU's timing): qd=64 keeps it well behind (0.2-0.5 writes per command measured under
 * TCG on a loaded host; 0.7-0.9 at qd=16). */
static void test_dbbuf_saves_register_writes(void **state)
{
	(void)state;
	struct log log;
	boot_nvme(&log, 0, "pc", "nvme", "ops=2000 rw=randread qd=64 irq=poll dbbuf=1", 1);
	const struct record *r = check_result(&log, "randread-4k-qd64", 2000);
	uint64_t mmio_w = test_u64_of(r, "mmio_w");
	if (mmio_w >= 2000)
		fail_msg("dbbuf=1 qd=64: %llu register writes for 2000 commands", (unsigned long long)mmio_w);
	log_free(&log);
}

/* Large transfers (a PRP list) and one within two pages (PRP2 the second page), with flushes. */
static void test_transfer_sizes(void **state)
{
	(void)state;
	struct log log;
	boot_nvme(&log, 0, "q35", "nvme", "ops=40 rw=read sweep=bs:512,8192,524288 irq=msix", 1);
	check_result(&log, "read-512-qd1", 40);
	check_result(&log, "read-8k-qd1", 40);
	check_result(&log, "read-512k-qd1", 40);
	log_free(&log);
	boot_nvme(&log, 0, "pc", "nvme", "ops=60 rw=randwrite write=unsafe flush=20 qd=4 irq=intx", 1);
	const struct record *f = log_find(&log, "result", "name", "randwrite-4k-qd4-flush");
	assert_non_null(f);
	test_assert_field(f, "ops", "3");
	log_free(&log);
}

static void check_verify(const char *machine, const char *format, const char *opts, unsigned bs)
{
	char args[100];
	struct log log;
	snprintf(args, sizeof(args), "--machine %s", machine);
	struct test_boot b = { .args = args, .timeout = "180", .guest_check = 1,
			       .prefix = "bench=disk pci=0", .opts = opts };
	struct test_verify v = { .model = "nvme", .format = format, .seed = 77, .bs = bs };
	test_write_verify(&log, &b, &v);
	test_assert_field(log_find(&log, "result", "verify", "ok"), "model", "nvme");
	log_free(&log);
}

static void test_verify(void **state)
{
	(void)state;
	check_verify("pc", "raw", "irq=msix dbbuf=1", 4096);
	check_verify("q35", "qcow2", "irq=intx", 65536);
	check_verify("pc", "raw", "irq=poll", 131072);
}

/* blkdebug EIO: the NVMe status (SCT 2h media errors: 81h Unrecovered Read Error, 80h Write
 * Fault, as QEMU maps EIO) with the request's LBA, and exit 1. */
static void test_eio(void **state)
{
	(void)state;
	struct log log;
	boot_nvme(&log, 1, "pc", "nvme,inject=eio-read,size=64M", "ops=10 irq=msix", 1);
	const struct record *e = test_check_device_error(&log, "nvme");
	test_assert_field(e, "what", "NVMe media or data integrity error");
	test_assert_field(e, "status", "0x2");
	test_assert_field(e, "error", "0x81");
	assert_non_null(record_get(e, "lba"));
	log_free(&log);

	boot_nvme(&log, 1, "q35", "nvme,inject=eio-write,size=64M",
		  "ops=10 rw=randwrite write=unsafe warmup=0 dbbuf=1", 1);
	e = test_check_device_error(&log, NULL);
	test_assert_field(e, "status", "0x2");
	test_assert_field(e, "error", "0x80");
	uint64_t lba = test_u64_of(e, "lba");
	assert_true(lba >= 2048 && lba < 64 * 2048); /* in the data area, from 1 MiB */
	log_free(&log);
}

/* Without the scratch label the guest refuses to write, and the file stays as it was. */
static void test_unlabelled_untouched(void **state)
{
	(void)state;
	char img[400], spec[500];
	snprintf(img, sizeof(img), "%s/precious.raw", test_dir);
	test_precious_file(img, 2048, 16 << 20);
	char before[80], after[80];
	test_file_hash(img, before);
	struct log log;
	snprintf(spec, sizeof(spec), "nvme,backend=file=%s", img);
	boot_nvme(&log, 2, "pc", spec, "rw=randwrite", 1);
	test_assert_field(log_find(&log, "disk", NULL, NULL), "label", "no");
	test_assert_field(log_find(&log, "error", "code", "badconfig"), "key", "write");
	log_free(&log);
	test_file_hash(img, after);
	assert_string_equal(before, after);
	unlink(img);
}

/* Disks are numbered by model (ide, nvme, virtio-blk), as --disk gives them. */
static void test_numbering(void **state)
{
	(void)state;
	struct log log;
	boot_nvme(&log, 0, "pc", "ide nvme,size=64M nvme virtio-blk", "ops=50 dev=2 irq=msix", 1);
	test_check_disk_models(&log, "ide nvme nvme virtio-blk");
	test_assert_field(log_find(&log, "disk", "index", "1"), "sectors", "131072");
	test_assert_field(log_find(&log, "disk", "index", "2"), "sectors", "2097152");
	const struct record *r = check_result(&log, "randread-4k-qd1", 50);
	test_assert_field(r, "dev", "2");
	log_free(&log);
	/* and out of order, refused before anything boots */
	boot_nvme(&log, 2, "pc", "virtio-blk nvme", "ops=10", 1);
	assert_non_null(strstr(test_output(test_out_path), "give nvme disks before virtio-blk disks"));
	log_free(&log);
}

static void test_bad_options(void **state)
{
	(void)state;
	static const char *const bad[] = { "dbbuf=2", "dbbuf=x", "dbbuf=", "qd=1024", "bs=1048576" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct log log;
		boot_nvme(&log, 2, "pc", "nvme", bad[i], 0); /* the guest's own parser and checks */
		assert_non_null(log_find(&log, "error", "code", "badconfig"));
		assert_null(log_find(&log, "result", NULL, NULL));
		log_free(&log);
	}
	struct log log;
	boot_nvme(&log, 2, "pc", "nvme", "dbbuf=2", 1); /* the host's check, before launching */
	assert_non_null(strstr(test_output(test_out_path), "dbbuf=2"));
	log_free(&log);
	/* refused by the host with one line */
	static const char *const specs[][2] = {
		{ "microvm", "nvme" }, { "pc", "nvme,readonly=on" }, { "pc", "nvme,iothread=on" },
		{ "q35", "nvme,transport=modern" }, { "pc", "nvme,size=100" },
	};
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		const char *fw = strcmp(specs[i][0], "microvm") ? "bios" : "pvh";
		assert_int_equal(test_kvmio(test_out_path, "boot", "--firmware", fw, "--machine", specs[i][0],
					    "--disk", specs[i][1], "--", "bench=disk", (char *)NULL), 2);
		const char *text = test_output(test_out_path);
		assert_non_null(strstr(text, "--disk"));
		assert_int_equal(strchr(text, '\n') - text + 1, (long)strlen(text));
	}
}

/* A job file's disk=nvme with dbbuf= as an axis: one configuration each, results that say so. */
static void test_job_axis(void **state)
{
	(void)state;
	char job[300], res[300], cmd[700];
	snprintf(job, sizeof(job), "%s/nvme.ini", test_dir);
	snprintf(res, sizeof(res), "%s/res", test_dir);
	test_write_file(job, "[global]\nrepeat = 1\ntimeout = 120\n\n[nvme]\ndisk = nvme\n"
			     "backend = null\nbench = disk\nrw = randread\nops = 100\nqd = 4\n"
			     "dbbuf = 0, 1\n");
	assert_int_equal(test_kvmio(test_out_path, "run", job, "-o", res, (char *)NULL), 0);
	char path[400];
	snprintf(path, sizeof(path), "%s/results.csv", res);
	char *text = test_read(path);
	assert_non_null(text);
	assert_non_null(strstr(text, "dbbuf=0;disk=nvme;ops=100;qd=4;rw=randread\",disk,randread-4k-qd4,100,"));
	assert_non_null(strstr(text, "dbbuf=1;disk=nvme;ops=100;qd=4;rw=randread\",disk,randread-4k-qd4,100,"));
	free(text);
	/* each configuration's guest drove the doorbells it was asked to */
	for (int c = 1; c <= 2; c++) {
		struct log log;
		snprintf(path, sizeof(path), "%s/runs/c%03d/r1/serial.log", res, c);
		memset(&log, 0, sizeof(log));
		log_parse_file(&log, path);
		const struct record *d = log_find(&log, "disk", "index", "0");
		assert_non_null(d);
		test_assert_field(d, "model", "nvme");
		test_assert_field(d, "dbbuf", c == 1 ? "0" : "1");
		log_free(&log);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", res, job);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST_IN_DIR(test_modes_pc),
		TEST_IN_DIR(test_modes_q35),
		TEST_IN_DIR(test_dbbuf_saves_register_writes),
		TEST_IN_DIR(test_transfer_sizes),
		TEST_IN_DIR(test_verify),
		TEST_IN_DIR(test_eio),
		TEST_IN_DIR(test_unlabelled_untouched),
		TEST_IN_DIR(test_numbering),
		TEST_IN_DIR(test_bad_options),
		TEST_IN_DIR(test_job_axis),
	};
	return cmocka_run_group_tests_name("nvme", tests, NULL, NULL);
}
