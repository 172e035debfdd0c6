/*
 * virtio-scsi end to end (drivers/virtio_scsi.c behind `kvmio boot --disk virtio-scsi`): reads
 * and writes on null-co in every completion mode at qd 1 and 8, on pc and q35, legacy and
 * modern, with an iothread, and under OVMF; write-verify on a labelled raw and qcow2 file,
 * checked in the guest and by `kvmio verify-disk`; an unlabelled file left alone; blkdebug EIO on read and
 * write decoded from the sense data into the error record; bad options; the disk numbering
 * beside IDE and virtio-blk and the target scan behind one controller; a `kvmio run` job with
 * the disk=virtio-scsi axis.
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

#include "lib/file.h"
#include "proto/proto.h"
#include "helpers.h"

/* kvmio boot --machine MACHINE, one --disk per space-separated spec, -- bench=disk pci=0 OPTS;
 * expect `want`, parse the log. Returns what kvmio printed (until the next call). */
static const char *boot(struct log *log, int want, const char *machine, const char *specs,
			const char *opts)
{
	char args[100];
	snprintf(args, sizeof(args), "--machine %s", machine);
	struct test_boot b = { .args = args, .flag = "--disk", .specs = specs,
			       .prefix = "bench=disk pci=0", .opts = opts };
	return test_boot_log(log, want, &b);
}

/* A disk result: sane latency figures, and the counters that explain them. */
static const struct record *check_result(const struct log *log, uint64_t ops)
{
	const struct record *r = test_check_disk_result(log, NULL, ops);
	test_assert_field(r, "model", "virtio-scsi");
	assert_true(test_u64_of(r, "p50") > 0);
	assert_non_null(record_get(r, "harness_mean"));
	return r;
}

/* One boot: ops reads (or writes) in completion mode irq at queue depth qd. */
static void check_mode(const char *machine, const char *spec, const char *irq, unsigned qd,
		       const char *rw, const char *transport)
{
	struct log log;
	char opts[200];
	const unsigned ops = 200;
	int writes = strcmp(rw, "randwrite") == 0;

	snprintf(opts, sizeof(opts), "ops=%u irq=%s qd=%u rw=%s%s", ops, irq, qd, rw,
		 writes ? " write=unsafe" : "");
	boot(&log, 0, machine, spec, opts);
	const struct record *d = log_find(&log, "disk", "index", "0");
	assert_non_null(d);
	test_assert_field(d, "model", "virtio-scsi");
	test_assert_field(d, "transport", transport);
	test_assert_field(d, "bdf", "00:10.0");
	test_assert_field(d, "sector_size", "512");
	test_assert_field(d, "sectors", "2097152"); /* READ CAPACITY: null-co's default 1 GiB */
	test_assert_field(d, "read_only", "0");
	assert_true(test_u64_of(d, "queue_depth") >= 8);
	const struct record *r = check_result(&log, ops);
	test_assert_field(r, "irq", irq);
	test_assert_field(r, "rw", rw);
	/* requests are announced by a port write (legacy) or a notify write (modern): at qd=1 one
	 * each (the device is idle and wants to hear); deeper, QEMU may suppress some while it
	 * is working through the queue, but never asks for more than one per request */
	const char *kick = strcmp(transport, "legacy") == 0 ? "pio_w" : "mmio_w";
	uint64_t kicks = test_u64_of(r, kick);
	if (qd == 1)
		assert_true(kicks >= ops);
	else
		assert_true(kicks > 0 && kicks <= ops);
	uint64_t irqs = test_u64_of(r, "irqs");
	if (!strcmp(irq, "poll"))
		assert_int_equal(irqs, 0);
	else if (qd == 1)
		assert_true(irqs >= ops); /* one completion interrupt per request */
	else
		assert_true(irqs > 0 && irqs <= 2 * ops);
	/* INTx must read the ISR (a register read per interrupt); MSI-X reads nothing */
	uint64_t reads = test_u64_of(r, "pio_r") + test_u64_of(r, "mmio_r");
	if (!strcmp(irq, "intx"))
		assert_true(reads >= irqs);
	else
		assert_int_equal(reads, 0);
	log_free(&log);
}

static void test_modes_pc(void **state)
{
	(void)state;
	static const char *const irqs[] = { "poll", "intx", "msix" };
	for (int i = 0; i < 3; i++) {
		check_mode("pc", "virtio-scsi", irqs[i], 1, "randread", "modern");
		check_mode("pc", "virtio-scsi", irqs[i], 8, "randwrite", "modern");
	}
	check_mode("pc", "virtio-scsi,transport=legacy", "msix", 1, "randwrite", "legacy");
	check_mode("pc", "virtio-scsi,transport=legacy", "intx", 8, "randread", "legacy");
}

static void test_modes_q35(void **state)
{
	(void)state;
	static const char *const irqs[] = { "poll", "intx", "msix" };
	for (int i = 0; i < 3; i++) {
		check_mode("q35", "virtio-scsi,transport=modern", irqs[i], 1, "randwrite", "modern");
		check_mode("q35", "virtio-scsi", irqs[i], 8, "randread", "modern");
	}
	check_mode("q35", "virtio-scsi,transport=legacy", "poll", 8, "randread", "legacy");
}

/* iothread=on: the controller's queues are served by an iothread of its own; with indirect
 * descriptors and EVENT_IDX too; and a flush series (SYNCHRONIZE CACHE). */
static void test_iothread(void **state)
{
	(void)state;
	struct log log;
	const char *printed = boot(&log, 0, "pc", "virtio-scsi,iothread=on",
				   "ops=200 irq=msix qd=8 indirect=1 evidx=1");
	assert_non_null(strstr(printed, " iothread=on "));
	check_result(&log, 200);
	log_free(&log);
	printed = boot(&log, 0, "q35", "virtio-scsi,iothread=on", "ops=200 irq=poll qd=1");
	assert_non_null(strstr(printed, " iothread=on "));
	check_result(&log, 200);
	log_free(&log);
	boot(&log, 0, "pc", "virtio-scsi,iothread=on", "ops=100 irq=intx rw=randwrite write=unsafe "
	     "flush=10");
	const struct record *f = log_find(&log, "result", "name", "randwrite-4k-qd1-flush");
	assert_non_null(f);
	test_assert_field(f, "ops", "10");
	log_free(&log);
}

/* Above 2 TiB READ CAPACITY(10) says 0xffffffff and (16) gives the size; requests there are
 * READ/WRITE(16) (their CDBs: tests/unit/test_scsi.c). */
static void test_large_disk(void **state)
{
	(void)state;
	struct log log;
	boot(&log, 0, "pc", "virtio-scsi,size=4T", "ops=200 rw=randrw write=unsafe");
	test_assert_field(log_find(&log, "disk", "index", "0"), "sectors", "8589934592");
	check_result(&log, 200);
	log_free(&log);
}

/* Writes need a label or write=unsafe; a read-only disk (MODE SENSE's WP) refuses them. */
static void test_write_guards(void **state)
{
	(void)state;
	struct log log;
	boot(&log, KVMIO_EXIT_BADCONFIG, "pc", "virtio-scsi", "rw=randwrite");
	test_assert_field(log_find(&log, "error", "code", "badconfig"), "key", "write");
	assert_null(log_find(&log, "result", NULL, NULL));
	log_free(&log);
	boot(&log, KVMIO_EXIT_BADCONFIG, "pc", "virtio-scsi,readonly=on", "rw=write write=unsafe");
	test_assert_field(log_find(&log, "disk", NULL, NULL), "read_only", "1");
	assert_non_null(strstr(record_get(log_find(&log, "error", "code", "badconfig"), "msg"),
			       "read-only"));
	log_free(&log);
	boot(&log, 0, "q35", "virtio-scsi,readonly=on", "ops=50"); /* reads are fine */
	test_assert_field(log_find(&log, "disk", NULL, NULL), "read_only", "1");
	log_free(&log);
}

static void check_verify(const char *machine, const char *model, const char *format,
			 const char *extra, unsigned bs)
{
	char args[100];
	struct log log;
	snprintf(args, sizeof(args), "--machine %s", machine);
	struct test_boot b = { .args = args, .prefix = "bench=disk pci=0", .opts = extra };
	struct test_verify v = { .model = model, .format = format, .seed = 77, .bs = bs };
	test_write_verify(&log, &b, &v);
	test_assert_field(log_find(&log, "result", "verify", "ok"), "model", "virtio-scsi");
	log_free(&log);
}

static void test_verify(void **state)
{
	(void)state;
	check_verify("pc", "virtio-scsi", "raw", "irq=msix", 4096);
	check_verify("q35", "virtio-scsi,transport=legacy", "qcow2", "irq=intx qd=8", 65536);
	check_verify("q35", "virtio-scsi,iothread=on", "raw", "irq=poll", 131072);
}

/* Without the scratch label the guest refuses to write, and the file stays as it was. */
static void test_unlabelled_untouched(void **state)
{
	(void)state;
	char img[400], spec[600], *before, *after;
	snprintf(img, sizeof(img), "%s/precious.raw", test_dir);
	test_precious_file(img, 4096, 32 << 20);
	before = test_read(img);
	assert_non_null(before);
	static const char *const writers[] = { "rw=randwrite", "rw=write", "rw=randrw", "verify=1" };
	for (int i = 0; i < 4; i++) {
		struct log log;
		snprintf(spec, sizeof(spec), "virtio-scsi,backend=file=%s", img);
		boot(&log, KVMIO_EXIT_BADCONFIG, i % 2 ? "q35" : "pc", spec, writers[i]);
		test_assert_field(log_find(&log, "disk", NULL, NULL), "label", "no");
		test_assert_field(log_find(&log, "error", "code", "badconfig"), "key", "write");
		log_free(&log);
	}
	after = test_read(img);
	assert_non_null(after);
	assert_memory_equal(before, after, 4096 * 20);
	free(before);
	free(after);
}

/* blkdebug EIO: QEMU's scsi-hd answers CHECK CONDITION with ABORTED COMMAND, asc 0x00 ascq
 * 0x06 (I/O process terminated) in fixed-format sense; the error record carries it and the
 * LBA, and the run fails (exit 1). */
static void check_eio(const char *machine, const char *spec, const char *opts, int write)
{
	struct log log;
	boot(&log, KVMIO_EXIT_GUEST_FAIL, machine, spec, opts);
	const struct record *e = test_check_device_error(&log, "virtio-scsi");
	assert_non_null(record_get(e, "lba"));
	if (write)
		assert_true(test_u64_of(e, "lba") >= 2048); /* the data area starts at 1 MiB */
	else
		test_assert_field(e, "lba", "0"); /* the label read of sector 0 fails first */
	test_assert_field(e, "status", "0x2");    /* response OK, status CHECK CONDITION */
	test_assert_field(e, "error", "0xb0006"); /* key << 16 | asc << 8 | ascq */
	const char *what = record_get(e, "what");
	assert_non_null(what);
	assert_non_null(strstr(what, "CHECK CONDITION"));
	assert_non_null(strstr(what, "sense ABORTED COMMAND asc 0x00 ascq 0x06 (fixed)"));
	log_free(&log);
}

static void test_eio(void **state)
{
	(void)state;
	char img[400], spec[600];
	snprintf(img, sizeof(img), "%s/eio.img", test_dir);
	test_sparse_file(img, 64 << 20);
	snprintf(spec, sizeof(spec), "virtio-scsi,backend=file=%s,inject=eio-read", img);
	check_eio("pc", spec, "ops=10", 0);
	snprintf(spec, sizeof(spec), "virtio-scsi,backend=file=%s,inject=eio-write", img);
	check_eio("q35", spec, "ops=10 rw=randwrite write=unsafe irq=msix", 1);
	/* null-co under blkdebug, as the benchmarks use it */
	check_eio("pc", "virtio-scsi,inject=eio-write", "ops=10 rw=randwrite write=unsafe irq=intx qd=8", 1);
	unlink(img);
}

/* Bad options: the guest's parser (exit 2, a badconfig record, no result) and kvmio boot's
 * own checks (exit 2, one line, before QEMU starts). */
static void test_bad_options(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"irq=sometimes", "qd=0", "qd=999", "bs=1000", "evidx=2", "indirect=2",
		"transport=pcie", "dev=3", "rw=sideways",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct log log;
		boot(&log, KVMIO_EXIT_BADCONFIG, "pc", "virtio-scsi", bad[i]);
		assert_non_null(log_find(&log, "error", "code", "badconfig"));
		assert_null(log_find(&log, "result", NULL, NULL));
		log_free(&log);
	}
	/* a transitional controller asked for its modern interface with the legacy one only */
	struct log log;
	boot(&log, KVMIO_EXIT_GUEST_FAIL, "pc", "virtio-scsi,transport=legacy", "transport=modern");
	const struct record *e = log_find(&log, "error", "code", "device");
	assert_non_null(e);
	test_assert_field(e, "model", "virtio-scsi");
	log_free(&log);

	static const char *const host_bad[][3] = {
		{ "pc", "virtio-scsi,transport=pci", "bad transport=pci" },
		{ "pc", "virtio-scsi,lun=1", "unknown key 'lun'" },
		{ "pc", "virtio-scsi,cache=none", "cache= needs backend=file" },
		{ "pc", "virtio-scsi,iothread=1x", "bad iothread=1x" },
		{ "q35", "virtio-scsi,size=1Q", "bad size=1Q" },
	};
	for (size_t i = 0; i < sizeof(host_bad) / sizeof(host_bad[0]); i++) {
		assert_int_equal(test_kvmio(test_out_path, "boot", "--machine", host_bad[i][0], "--disk",
					    host_bad[i][1], "--", "bench=disk", (char *)NULL), 2);
		assert_non_null(strstr(test_output(test_out_path), host_bad[i][2]));
	}
	assert_int_equal(test_kvmio(test_out_path, "boot", "--disk", "virtio-scsi", "--disk", "virtio-blk",
				    "--", "bench=disk", (char *)NULL), 2);
	assert_non_null(strstr(test_output(test_out_path), "give virtio-blk disks before virtio-scsi disks "
			       "(the guest numbers disks by model in the order ide, "));
	assert_int_equal(test_kvmio(test_out_path, "boot", "--firmware", "pvh", "--machine", "microvm",
				    "--disk", "virtio-scsi", "--", "bench=disk", (char *)NULL), 2);
	assert_non_null(strstr(test_output(test_out_path), "--disk virtio-scsi: microvm"));
}

/* dev=N follows --disk: ide, virtio-blk, then virtio-scsi; two controllers in slot order. */
static void test_numbering(void **state)
{
	(void)state;
	struct log log;
	boot(&log, 0, "pc", "ide virtio-blk virtio-scsi,size=256M virtio-scsi,size=512M",
	     "ops=50 dev=3 irq=msix");
	test_check_disk_models(&log, "ide virtio-blk virtio-scsi virtio-scsi");
	const struct record *a = log_find(&log, "disk", "index", "2");
	const struct record *b = log_find(&log, "disk", "index", "3");
	test_assert_field(a, "bdf", "00:12.0");
	test_assert_field(a, "sectors", "524288");
	test_assert_field(b, "bdf", "00:13.0");
	test_assert_field(b, "sectors", "1048576");
	const struct record *r = check_result(&log, 50);
	test_assert_field(r, "dev", "3");
	log_free(&log);
}

/* The target scan: behind one controller, the disks at targets 0 and 5 are registered in
 * target order; a CD-ROM (target 3) and a target whose only LUN is 2 (target 7) are not. */
static void test_targets(void **state)
{
	(void)state;
	struct log log;
	int rc = test_kvmio(test_out_path, "boot", "--timeout", "120", "--log", test_log_path,
			    "--disk", "virtio-scsi",
			    "--qemu-arg", "-blockdev",
			    "--qemu-arg", "driver=null-co,node-name=t5,size=268435456,read-zeroes=on",
			    "--qemu-arg", "-device", "--qemu-arg", "scsi-hd,drive=t5,bus=scsi0.0,scsi-id=5,lun=0",
			    "--qemu-arg", "-blockdev",
			    "--qemu-arg", "driver=null-co,node-name=t3,size=268435456,read-zeroes=on",
			    "--qemu-arg", "-device", "--qemu-arg", "scsi-cd,drive=t3,bus=scsi0.0,scsi-id=3,lun=0",
			    "--qemu-arg", "-blockdev",
			    "--qemu-arg", "driver=null-co,node-name=t7,size=134217728,read-zeroes=on",
			    "--qemu-arg", "-device", "--qemu-arg", "scsi-hd,drive=t7,bus=scsi0.0,scsi-id=7,lun=2",
			    "--", "bench=disk", "pci=0", "ops=100", "dev=1", "irq=intx", (char *)NULL);
	if (rc != 0)
		fail_msg("exit %d\n%s", rc, test_output(test_out_path));
	memset(&log, 0, sizeof(log));
	log_parse_file(&log, test_log_path);
	test_assert_field(log_find(&log, "disk", "index", "0"), "sectors", "2097152");
	test_assert_field(log_find(&log, "disk", "index", "1"), "sectors", "524288");
	test_assert_field(log_find(&log, "disk", "index", "1"), "bdf", "00:10.0");
	assert_null(log_find(&log, "disk", "index", "2"));
	const struct record *r = check_result(&log, 100);
	test_assert_field(r, "dev", "1");
	log_free(&log);
}

/* Under OVMF (q35): the firmware drives the controller first (its own virtio-scsi driver);
 * the guest resets it and takes it over. */
static void test_uefi(void **state)
{
	(void)state;
	struct log log;
	int rc = test_kvmio(test_out_path, "boot", "--firmware", "uefi", "--timeout", "120", "--log",
			    test_log_path, "--disk", "virtio-scsi", "--", "bench=disk", "pci=0", "ops=100",
			    "irq=msix", (char *)NULL);
	if (rc != 0)
		fail_msg("exit %d\n%s", rc, test_output(test_out_path));
	memset(&log, 0, sizeof(log));
	log_parse_file(&log, test_log_path);
	test_assert_field(log_find(&log, "hello", NULL, NULL), "boot", "uefi");
	test_assert_field(log_find(&log, "disk", "index", "0"), "model", "virtio-scsi");
	check_result(&log, 100);
	log_free(&log);
}

/* kvmio run: disk=virtio-scsi is an axis value like the others. */
static void test_job_axis(void **state)
{
	(void)state;
	char job[400], res[400], path[600];
	snprintf(job, sizeof(job), "%s/vscsi.ini", test_dir);
	snprintf(res, sizeof(res), "%s/res", test_dir);
	test_write_file(job, "[global]\nrepeat = 1\n[d]\ndisk = virtio-scsi\nbackend = null\n"
		       "iothread = off, on\nrw = randread\nops = 100\n");
	assert_int_equal(test_kvmio(test_out_path, "run", job, "-o", res, (char *)NULL), 0);
	snprintf(path, sizeof(path), "%s/results.csv", res);
	char *csv = test_read(path);
	assert_non_null(csv);
	assert_non_null(strstr(csv, "\nc001,1,0,\"backend=null;disk=virtio-scsi;iothread=off;ops=100;"
			       "rw=randread\",disk,randread-4k-qd1,100,"));
	assert_non_null(strstr(csv, "\nc002,1,0,\"backend=null;disk=virtio-scsi;iothread=on;ops=100;"
			       "rw=randread\",disk,randread-4k-qd1,100,"));
	free(csv);
	/* the guest drove the virtio-scsi disk in both */
	for (int c = 1; c <= 2; c++) {
		struct log log;
		snprintf(path, sizeof(path), "%s/runs/c%03d/r1/serial.log", res, c);
		memset(&log, 0, sizeof(log));
		log_parse_file(&log, path);
		test_assert_field(log_find(&log, "result", "bench", "disk"), "model", "virtio-scsi");
		log_free(&log);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST_IN_DIR(test_modes_pc),
		TEST_IN_DIR(test_modes_q35),
		TEST_IN_DIR(test_iothread),
		TEST_IN_DIR(test_large_disk),
		TEST_IN_DIR(test_write_guards),
		TEST_IN_DIR(test_verify),
		TEST_IN_DIR(test_unlabelled_untouched),
		TEST_IN_DIR(test_eio),
		TEST_IN_DIR(test_bad_options),
		TEST_IN_DIR(test_numbering),
		TEST_IN_DIR(test_targets),
		TEST_IN_DIR(test_uefi),
		TEST_IN_DIR(test_job_axis),
	};
	return cmocka_run_group_tests_name("vscsi", tests, NULL, NULL);
}
