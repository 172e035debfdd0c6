/*
 * virtio over MMIO on -M microvm (PVH), end to end through `build/kvmio boot`: microvm lists
 * the transports on the guest's command line (virtio_mmio.device=, acpi=off), the guest finds
 * them there, probes them and drives virtio-blk and virtio-net over version 1 (legacy, QEMU's
 * default) and version 2 (modern) registers, polled or by the transport's interrupt line.
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

/* `kvmio boot --firmware pvh --machine microvm [FLAG SPEC]... -- OPTS` (space-separated
 * specs and options), expect `want`, parse the log; returns what kvmio printed (valid until
 * the next call). */
static const char *boot(struct log *log, int want, const char *flag, const char *specs,
			const char *opts)
{
	struct test_boot b = { .args = "--firmware pvh --machine microvm", .flag = flag,
			       .specs = specs, .opts = opts };
	return test_boot_log(log, want, &b);
}

/* The guest learnt of the transport from microvm's own command-line entry. */
static void check_found_on_cmdline(const struct log *log)
{
	const struct record *hello = log_find(log, "hello", NULL, NULL);
	assert_non_null(hello);
	assert_non_null(strstr(record_get(hello, "cmdline"), "virtio_mmio.device=512@0xfeb00000:"));
	assert_string_equal(record_get(hello, "acpi"), "none");
}

/* A disk result over MMIO: every request notified by an MMIO write, no port I/O at all, and
 * one interrupt per request at qd=1 with irq=intx, none when polled. */
static const struct record *check_disk(const struct log *log, const char *name, uint64_t ops,
				       const char *irq)
{
	const struct record *r = test_check_disk_result(log, name, ops);
	test_assert_field(r, "irq", irq);
	assert_true(test_u64_of(r, "mmio_w") >= ops);
	assert_int_equal(test_u64_of(r, "pio_w"), 0);
	assert_int_equal(test_u64_of(r, "pio_r"), 0);
	if (!strcmp(irq, "poll"))
		assert_int_equal(test_u64_of(r, "irqs"), 0);
	else
		assert_true(test_u64_of(r, "irqs") >= ops);
	return r;
}

static void check_net_clean_rr(const struct log *log);

static void check_disk_mode(const char *transport, const char *reported, const char *irq)
{
	struct log log;
	char spec[128], opts[160];

	snprintf(spec, sizeof(spec), "virtio-blk,transport=%s", transport);
	snprintf(opts, sizeof(opts), "bench=disk pci=0 ops=200 irq=%s", irq);
	boot(&log, 0, "--disk", spec, opts);
	check_found_on_cmdline(&log);
	const struct record *d = log_find(&log, "disk", "index", "0");
	test_assert_field(d, "model", "virtio-blk");
	test_assert_field(d, "transport", reported);
	test_assert_field(d, "irq", irq);
	assert_null(record_get(d, "bdf"));
	check_disk(&log, "randread-4k-qd1", 200, irq);
	test_assert_field(log_find(&log, "end", NULL, NULL), "status", "ok");
	log_free(&log);

	/* writes (null-co has no label: write=unsafe) and flushes */
	snprintf(opts, sizeof(opts), "bench=disk pci=0 ops=100 rw=randwrite write=unsafe flush=10 "
		 "irq=%s", irq);
	boot(&log, 0, "--disk", spec, opts);
	check_disk(&log, "randwrite-4k-qd1", 100, irq);
	const struct record *f = log_find(&log, "result", "name", "randwrite-4k-qd1-flush");
	assert_non_null(f);
	test_assert_field(f, "ops", "10");
	log_free(&log);
}

static void test_disk_legacy(void **state)
{
	(void)state;
	check_disk_mode("mmio", "mmio-legacy", "poll");
	check_disk_mode("mmio", "mmio-legacy", "intx");
}

static void test_disk_modern(void **state)
{
	(void)state;
	check_disk_mode("mmio-modern", "mmio-modern", "poll");
	check_disk_mode("mmio-modern", "mmio-modern", "intx");
}

/* transport= defaults to mmio on microvm; disks are numbered in --disk order; queue features
 * work as over PCI. */
static void test_disk_order_and_features(void **state)
{
	(void)state;
	struct log log;
	boot(&log, 0, "--disk", "virtio-blk,size=64M virtio-blk,size=32M",
	     "bench=disk pci=0 ops=100 dev=1 qd=8 evidx=1 indirect=1 irq=intx");
	test_assert_field(log_find(&log, "disk", "index", "0"), "sectors", "131072");
	test_assert_field(log_find(&log, "disk", "index", "1"), "sectors", "65536");
	test_assert_field(log_find(&log, "disk", "index", "1"), "transport", "mmio-legacy");
	const struct record *r = log_find(&log, "result", "bench", "disk");
	test_assert_field(r, "dev", "1");
	test_check_result(&log, record_get(r, "name"), 100);
	log_free(&log);
}

/* Packed rings and multi-queue over version 2 (the ring code is transport-neutral); a version 1
 * device keeps split rings and is refused for ring=packed. */
static void test_packed_and_queues(void **state)
{
	(void)state;
	struct log log;
	boot(&log, 0, "--disk", "virtio-blk,transport=mmio-modern,packed=on,queues=2",
	     "bench=disk pci=0 ops=200 ring=packed queues=2 qd=4 evidx=1 irq=intx");
	const struct record *d = log_find(&log, "disk", "index", "0");
	test_assert_field(d, "transport", "mmio-modern");
	test_assert_field(d, "ring", "packed");
	test_assert_field(d, "queues", "2");
	test_check_result(&log, "randread-4k-qd4", 200);
	const struct record *r = log_find(&log, "result", "name", "randread-4k-qd4");
	test_assert_field(r, "ring", "packed");
	assert_true(test_u64_of(r, "irqs") > 0); /* at qd=4 one interrupt may cover several */
	assert_int_equal(test_u64_of(r, "pio_w"), 0);
	log_free(&log);
	boot(&log, 0, "--net", "virtio-net,topology=loop,transport=mmio-modern,packed=on "
	     "virtio-net,topology=loop,transport=mmio-modern,packed=on",
	     "pci=0 bench=net-rr ops=100 ring=packed irq=intx");
	test_assert_field(log_find(&log, "nic", "index", "0"), "ring", "packed");
	check_net_clean_rr(&log);
	log_free(&log);
	boot(&log, KVMIO_EXIT_BADCONFIG, "--disk", "virtio-blk", "bench=disk pci=0 ops=10 ring=packed");
	test_assert_field(log_find(&log, "error", "code", "badconfig"), "key", "ring");
	log_free(&log);
}

/* MMIO has no MSI-X: the disk is listed, and refused when chosen. */
static void test_disk_msix_unusable(void **state)
{
	(void)state;
	struct log log;
	boot(&log, KVMIO_EXIT_BADCONFIG, "--disk", "virtio-blk", "bench=disk pci=0 ops=10 irq=msix");
	assert_non_null(log_find(&log, "disk", "index", "0"));
	const struct record *e = log_find(&log, "error", "code", "badconfig");
	assert_non_null(e);
	assert_non_null(strstr(record_get(e, "msg"), "virtio-mmio has no MSI"));
	assert_null(log_find(&log, "result", NULL, NULL));
	log_free(&log);
}

static void check_verify(const char *transport, const char *irq)
{
	char model[100], opts[100];
	struct log log;
	snprintf(model, sizeof(model), "virtio-blk,transport=%s", transport);
	snprintf(opts, sizeof(opts), "irq=%s", irq);
	struct test_boot b = { .args = "--firmware pvh --machine microvm",
			       .prefix = "bench=disk pci=0", .opts = opts };
	struct test_verify v = { .model = model, .seed = 91 }; /* raw, 150 x 4 KiB */
	test_write_verify(&log, &b, &v);
	log_free(&log);
}

static void test_disk_verify(void **state)
{
	(void)state;
	check_verify("mmio", "intx");
	check_verify("mmio-modern", "poll");
}

static void test_disk_eio(void **state)
{
	(void)state;
	char img[400], spec[500];
	struct log log;
	snprintf(img, sizeof(img), "%s/eio.img", test_dir);
	test_sparse_file(img, 64 << 20);
	snprintf(spec, sizeof(spec), "virtio-blk,backend=file=%s,inject=eio-read", img);
	boot(&log, KVMIO_EXIT_GUEST_FAIL, "--disk", spec, "bench=disk pci=0 ops=10 irq=intx");
	const struct record *e = test_check_device_error(&log, NULL);
	test_assert_field(e, "what", "virtio-blk IOERR");
	test_u64_of(e, "lba"); /* the first read, the label's at LBA 0, fails */
	log_free(&log);
	snprintf(spec, sizeof(spec), "virtio-blk,transport=mmio-modern,backend=file=%s,inject=eio-write", img);
	boot(&log, KVMIO_EXIT_GUEST_FAIL, "--disk", spec, "bench=disk pci=0 ops=10 rw=randwrite write=unsafe");
	e = test_check_device_error(&log, NULL);
	assert_true(test_u64_of(e, "lba") >= 2048); /* the data area starts at 1 MiB */
	log_free(&log);
	unlink(img);
}

/* ---- network ---- */

/* A clean network result (test_check_net_clean) over MMIO: no port I/O. */
static const struct record *check_net_clean(const struct log *log, uint64_t ops, uint64_t timed)
{
	const struct record *r = test_check_net_clean(log, ops, timed);
	assert_int_equal(test_u64_of(r, "pio_w"), 0);
	return r;
}

static void check_loop(const char *transport, const char *reported, const char *extra)
{
	char specs[200], opts[200];
	struct log log;
	snprintf(specs, sizeof(specs), "virtio-net,topology=loop,transport=%s "
		 "virtio-net,topology=loop,transport=%s", transport, transport);
	snprintf(opts, sizeof(opts), "pci=0 bench=net-tx ops=200 burst=4 size=1514 %s", extra);
	boot(&log, 0, "--net", specs, opts);
	check_found_on_cmdline(&log);
	test_assert_field(log_find(&log, "nic", "index", "0"), "transport", reported);
	test_assert_field(log_find(&log, "nic", "index", "1"), "link", "up");
	check_net_clean(&log, 200, 200);
	log_free(&log);
	snprintf(opts, sizeof(opts), "pci=0 bench=net-rr ops=100 %s", extra);
	boot(&log, 0, "--net", specs, opts);
	const struct record *r = check_net_clean(&log, 100, 100);
	assert_true(test_u64_of(r, "mmio_w") >= 100);
	log_free(&log);
}

static void test_net_loop(void **state)
{
	(void)state;
	check_loop("mmio", "mmio-legacy", "irq=intx mrg=1");
	/* EVENT_IDX with virtio-net's TX bottom half, which reads the ring while the guest writes
	 * it: under TCG this needs the guest's MFENCE kept (QEMU_TCG_SMP) */
	check_loop("mmio-modern", "mmio-modern", "irq=poll mrg=1 evidx=1");
}

static void check_net_clean_rr(const struct log *log) { check_net_clean(log, 100, 100); }

static void test_net_peer(void **state)
{
	(void)state;
	struct log log;
	boot(&log, 0, "--net", "virtio-net,topology=peer,peer-mode=reflect",
	     "pci=0 bench=net-rr ops=100 size=1514 irq=intx");
	test_assert_field(log_find(&log, "nic", "index", "0"), "transport", "mmio-legacy");
	check_net_clean(&log, 100, 100);
	log_free(&log);
}

/* ---- no devices, bad options, bad entries ---- */

static void test_no_devices(void **state)
{
	(void)state;
	struct log log;
	boot(&log, 0, "--disk", "", "ops=100");
	assert_null(log_find(&log, "disk", NULL, NULL));
	/* ACPI stays on without virtio devices: no entries then */
	const struct record *hello = log_find(&log, "hello", NULL, NULL);
	assert_string_not_equal(record_get(hello, "acpi"), "none");
	assert_null(strstr(record_get(hello, "cmdline"), "virtio_mmio"));
	test_assert_field(log_find(&log, "end", NULL, NULL), "status", "ok");
	log_free(&log);
}

static void test_bad_options(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"irq=sometimes", "transport=pcie", "qd=0",
		"virtio_mmio.device=512@0xfeb00200",     /* no IRQ */
		"virtio_mmio.device=512@0xfeb00000:5",   /* the same BASE as microvm's entry */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct log log;
		char opts[200];
		snprintf(opts, sizeof(opts), "bench=disk pci=0 ops=10 %s", bad[i]);
		boot(&log, KVMIO_EXIT_BADCONFIG, "--disk", "virtio-blk", opts);
		assert_non_null(log_find(&log, "error", "code", "badconfig"));
		assert_null(log_find(&log, "result", NULL, NULL));
		log_free(&log);
	}
}

/* An entry at an address with no virtio-mmio transport, and a device of the other version
 * than asked: device errors naming the transport, exit 1. */
static void test_bad_devices(void **state)
{
	(void)state;
	struct log log;
	boot(&log, KVMIO_EXIT_GUEST_FAIL, "--disk", "virtio-blk",
	     "bench=disk pci=0 ops=10 virtio_mmio.device=4K@0xfee10000:9");
	const struct record *e = log_find(&log, "error", "code", "device");
	assert_non_null(e);
	test_assert_field(e, "mmio", "0xfee10000");
	assert_non_null(strstr(record_get(e, "msg"), "no virtio-mmio magic value"));
	log_free(&log);
	boot(&log, KVMIO_EXIT_GUEST_FAIL, "--disk", "virtio-blk,transport=mmio",
	     "bench=disk pci=0 ops=10 transport=modern");
	e = log_find(&log, "error", "code", "device");
	assert_non_null(e);
	test_assert_field(e, "mmio", "0xfeb00000");
	assert_non_null(strstr(record_get(e, "msg"), "version 1"));
	log_free(&log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST_IN_DIR(test_disk_legacy),
		TEST_IN_DIR(test_disk_modern),
		TEST_IN_DIR(test_disk_order_and_features),
		TEST_IN_DIR(test_disk_msix_unusable),
		TEST_IN_DIR(test_packed_and_queues),
		TEST_IN_DIR(test_disk_verify),
		TEST_IN_DIR(test_disk_eio),
		TEST_IN_DIR(test_net_loop),
		TEST_IN_DIR(test_net_peer),
		TEST_IN_DIR(test_no_devices),
		TEST_IN_DIR(test_bad_options),
		TEST_IN_DIR(test_bad_devices),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
