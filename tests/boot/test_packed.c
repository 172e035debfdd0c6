/*
 * Packed virtqueues and virtio-blk multi-queue under QEMU (`build/kvmio boot`): the virtio-blk
 * and virtio-net cases of test_boot.c again with ring=packed on devices offering it (packed=on),
 * across irq=poll|intx|msix, evidx=0|1 and indirect=0|1; queues=4 reads and writes on null-co;
 * write-verify on a labelled file; and the refusals: packed on the legacy transport (unusable,
 * with its reason), packed on a device that does not offer it, queues above the device's.
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

/* kvmio boot with FLAG SPEC for each space-separated spec and the guest options (space-
 * separated), expect `want`, parse the log. */
static void boot(struct log *log, int want, const char *flag, const char *specs, const char *opts)
{
	struct test_boot b = { .flag = flag, .specs = specs, .prefix = "pci=0", .opts = opts };
	test_boot_log(log, want, &b);
}

static void boot_disk(struct log *log, int want, const char *specs, const char *opts)
{
	char o[400];
	snprintf(o, sizeof(o), "bench=disk %s", opts);
	boot(log, want, "--disk", specs, o);
}

/* ---- virtio-blk ---- */

static void check_blk(const char *spec, const char *ring, const char *irq, int evidx, int indirect,
		      unsigned qd)
{
	struct log log;
	char opts[200];
	snprintf(opts, sizeof(opts), "ops=300 ring=%s irq=%s evidx=%d indirect=%d qd=%u", ring, irq,
		 evidx, indirect, qd);
	boot_disk(&log, 0, spec, opts);
	const struct record *d = log_find(&log, "disk", "index", "0");
	test_assert_field(d, "model", "virtio-blk");
	test_assert_field(d, "transport", "modern");
	test_assert_field(d, "ring", ring);
	test_assert_field(d, "queues", "1");
	const struct record *r = test_check_disk_result(&log, NULL, 300);
	test_assert_field(r, "ring", ring);
	test_assert_field(r, "irq", irq);
	/* at qd=1 the device waits for each request: every one is announced (an MMIO write), and
	 * in irq modes every completion interrupts, with or without EVENT_IDX */
	if (qd == 1)
		assert_true(test_u64_of(r, "mmio_w") >= 300);
	else
		assert_true(test_u64_of(r, "mmio_w") >= 1);
	if (!strcmp(irq, "poll"))
		assert_int_equal(test_u64_of(r, "irqs"), 0);
	else if (qd == 1)
		assert_true(test_u64_of(r, "irqs") >= 300);
	else
		assert_true(test_u64_of(r, "irqs") >= 1);
	log_free(&log);
}

/* test_boot.c's virtio-blk modes with packed rings: 300 requests of 3 descriptors lap a
 * 256-entry ring three times; indirect ones lap it once. */
static void test_blk_packed_modes(void **state)
{
	(void)state;
	static const char *const irqs[] = { "poll", "intx", "msix" };
	for (int i = 0; i < 3; i++)
		for (int ev = 0; ev < 2; ev++)
			for (int ind = 0; ind < 2; ind++)
				check_blk("virtio-blk,transport=modern,packed=on", "packed", irqs[i], ev, ind, 1);
	check_blk("virtio-blk,packed=on", "packed", "msix", 1, 1, 16); /* transitional */
	check_blk("virtio-blk,packed=on", "packed", "intx", 0, 0, 8);
	/* the device offers packed rings, the guest asks for split: split */
	check_blk("virtio-blk,packed=on", "split", "msix", 1, 0, 1);
	check_blk("virtio-blk", "split", "poll", 0, 1, 4);
}

/* virtio-scsi takes ring= like virtio-blk: its three queues on packed rings, every irq mode,
 * with and without EVENT_IDX and indirect tables; refused on the legacy transport. */
static void test_scsi_packed(void **state)
{
	(void)state;
	static const char *const irqs[] = { "poll", "intx", "msix" };
	struct log log;
	char opts[200];
	for (int i = 0; i < 3; i++)
		for (int ev = 0; ev < 2; ev++) {
			snprintf(opts, sizeof(opts), "ops=300 ring=packed irq=%s evidx=%d indirect=%d "
				 "qd=%d", irqs[i], ev, ev, ev ? 8 : 1);
			boot_disk(&log, 0, "virtio-scsi,transport=modern,packed=on", opts);
			const struct record *d = log_find(&log, "disk", "index", "0");
			test_assert_field(d, "model", "virtio-scsi");
			test_assert_field(d, "ring", "packed");
			const struct record *r = test_check_disk_result(&log, NULL, 300);
			test_assert_field(r, "ring", "packed");
			test_assert_field(r, "irq", irqs[i]);
			log_free(&log);
		}
	boot_disk(&log, 0, "virtio-scsi,packed=on", "ops=100 ring=split");
	test_assert_field(log_find(&log, "disk", "index", "0"), "ring", "split");
	log_free(&log);
	boot_disk(&log, KVMIO_EXIT_BADCONFIG, "virtio-scsi,transport=legacy", "ops=10 ring=packed");
	test_assert_field(log_find(&log, "error", "code", "badconfig"), "key", "ring");
	log_free(&log);
	boot_disk(&log, KVMIO_EXIT_FAILED, "virtio-scsi", "ops=10 ring=packed");
	assert_non_null(strstr(record_get(log_find(&log, "error", "code", "device"), "msg"),
			       "does not offer VIRTIO_F_RING_PACKED"));
	log_free(&log);
}

static void test_blk_packed_writes(void **state)
{
	(void)state;
	struct log log;
	boot_disk(&log, 0, "virtio-blk,packed=on", "ops=200 rw=randwrite write=unsafe flush=10 ring=packed irq=msix");
	const struct record *f = log_find(&log, "result", "name", "randwrite-4k-qd1-flush");
	assert_non_null(f);
	test_assert_field(f, "ops", "20");
	test_assert_field(log_find(&log, "disk", NULL, NULL), "ring", "packed");
	log_free(&log);
}

/* queues=4 on a device with four: reads and writes, every completion mode, both rings. */
static void test_blk_multiqueue(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{ "virtio-blk,queues=4", "ring=split irq=poll" },
		{ "virtio-blk,queues=4", "ring=split irq=msix evidx=1" },
		{ "virtio-blk,queues=4,packed=on", "ring=packed irq=intx" },
		{ "virtio-blk,queues=4,packed=on", "ring=packed irq=msix evidx=1 indirect=1" },
		{ "virtio-blk,queues=4,packed=on", "ring=packed irq=poll indirect=1" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct log log;
		char opts[300];
		snprintf(opts, sizeof(opts), "queues=4 qd=16 ops=400 %s", cases[i][1]);
		boot_disk(&log, 0, cases[i][0], opts);
		const struct record *d = log_find(&log, "disk", NULL, NULL);
		test_assert_field(d, "queues", "4");
		/* the requests in flight are the four queues' room: 4 x 256/3 chains at least */
		assert_true(test_u64_of(d, "queue_depth") >= 4 * (256 / 3));
		const struct record *r = test_check_disk_result(&log, NULL, 400);
		test_assert_field(r, "queues", "4");
		assert_int_equal(test_u64_of(r, "qd"), 16);
		log_free(&log);
		snprintf(opts, sizeof(opts), "queues=4 qd=16 ops=400 rw=randrw write=unsafe %s", cases[i][1]);
		boot_disk(&log, 0, cases[i][0], opts);
		test_check_disk_result(&log, NULL, 400);
		log_free(&log);
	}
	/* fewer queues than the device has: fine */
	struct log log;
	boot_disk(&log, 0, "virtio-blk,queues=8", "queues=3 qd=9 ops=90");
	test_assert_field(log_find(&log, "disk", NULL, NULL), "queues", "3");
	test_check_disk_result(&log, NULL, 90);
	log_free(&log);
}

/* Write-verify through packed rings (and four queues) on labelled files, checked from the
 * host afterwards with kvmio verify-disk. */
static void check_verify(const char *spec_extra, const char *format, const char *opts_extra)
{
	char model[100];
	struct log log;
	snprintf(model, sizeof(model), "virtio-blk%s", spec_extra);
	struct test_boot b = { .prefix = "pci=0 bench=disk", .opts = opts_extra };
	struct test_verify v = { .model = model, .format = format, .seed = 91 }; /* 150 x 4 KiB */
	test_write_verify(&log, &b, &v);
	test_assert_field(log_find(&log, "disk", NULL, NULL), "ring", "packed");
	log_free(&log);
}

static void test_blk_packed_verify(void **state)
{
	(void)state;
	check_verify(",packed=on", "raw", "ring=packed irq=msix");
	check_verify(",packed=on,queues=4", "qcow2", "ring=packed queues=4 qd=8 indirect=1 evidx=1");
}

/* The refusals, each with the reason in the record. */
static void test_blk_refusals(void **state)
{
	(void)state;
	struct log log;
	/* the legacy interface of a transitional device: packed cannot be, the disk is unusable */
	boot_disk(&log, KVMIO_EXIT_BADCONFIG, "virtio-blk,packed=on", "transport=legacy ring=packed ops=10");
	const struct record *d = log_find(&log, "disk", NULL, NULL);
	test_assert_field(d, "transport", "legacy");
	test_assert_field(d, "ring", "split");
	const struct record *e = log_find(&log, "error", "code", "badconfig");
	test_assert_field(e, "key", "ring");
	assert_non_null(strstr(record_get(e, "msg"), "ring=packed needs the modern (virtio 1.x) transport"));
	assert_null(log_find(&log, "result", NULL, NULL));
	log_free(&log);
	/* a legacy-only device too */
	boot_disk(&log, KVMIO_EXIT_BADCONFIG, "virtio-blk,transport=legacy", "ring=packed ops=10");
	test_assert_field(log_find(&log, "error", "code", "badconfig"), "key", "ring");
	log_free(&log);
	/* a modern device without packed=on does not offer it */
	boot_disk(&log, KVMIO_EXIT_GUEST_FAIL, "virtio-blk", "ring=packed ops=10");
	e = log_find(&log, "error", "code", "device");
	assert_non_null(strstr(record_get(e, "msg"), "does not offer VIRTIO_F_RING_PACKED"));
	log_free(&log);
	/* more queues than the device has */
	boot_disk(&log, KVMIO_EXIT_GUEST_FAIL, "virtio-blk,queues=2", "queues=4 ops=10");
	e = log_find(&log, "error", "code", "device");
	assert_non_null(strstr(record_get(e, "msg"), "queues=4 asked, but the device offers 2 request queue(s)"));
	log_free(&log);
	boot_disk(&log, KVMIO_EXIT_GUEST_FAIL, "virtio-blk", "queues=2 ops=10"); /* one vCPU: one */
	e = log_find(&log, "error", "code", "device");
	assert_non_null(strstr(record_get(e, "msg"), "offers 1 request queue(s)"));
	log_free(&log);
	/* the option parser */
	static const char *const bad[] = { "ring=circular", "ring=", "queues=0", "queues=17", "queues=x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		boot_disk(&log, KVMIO_EXIT_BADCONFIG, "virtio-blk", bad[i]);
		assert_non_null(log_find(&log, "error", "code", "badconfig"));
		assert_null(log_find(&log, "result", NULL, NULL));
		log_free(&log);
	}
}

/* ---- virtio-net ---- */

/* test_boot.c's loop cases with packed rings: tx at several sizes, rr, rx. */
static void check_loop(const char *model, const char *extra)
{
	char specs[200], opts[200];
	struct log log;
	snprintf(specs, sizeof(specs), "%s,topology=loop,packed=on %s,topology=loop,packed=on", model, model);
	static const char *const sizes[] = { "60", "1514" };
	for (int i = 0; i < 2; i++) {
		snprintf(opts, sizeof(opts), "bench=net-tx ops=300 burst=4 size=%s ring=packed %s", sizes[i], extra);
		boot(&log, 0, "--net", specs, opts);
		test_assert_field(log_find(&log, "nic", "index", "0"), "ring", "packed");
		test_assert_field(log_find(&log, "nic", "index", "1"), "ring", "packed");
		const struct record *r = test_check_net_clean(&log, 300, 300);
		test_assert_field(r, "ring", "packed");
		log_free(&log);
	}
	snprintf(opts, sizeof(opts), "bench=net-rr ops=300 ring=packed %s", extra);
	boot(&log, 0, "--net", specs, opts);
	test_check_net_clean(&log, 300, 300);
	log_free(&log);
	snprintf(opts, sizeof(opts), "bench=net-rx ops=300 size=1514 ring=packed %s", extra);
	boot(&log, 0, "--net", specs, opts);
	test_check_net_clean(&log, 300, 299);
	log_free(&log);
}

static void test_net_packed_loop(void **state)
{
	(void)state;
	check_loop("virtio-net,transport=modern", "irq=msix");
	check_loop("virtio-net,transport=modern", "irq=msix evidx=1");
	check_loop("virtio-net", "irq=intx mrg=1 evidx=1");
	check_loop("virtio-net", "irq=poll");
}

static void test_net_packed_peer(void **state)
{
	(void)state;
	struct log log;
	boot(&log, 0, "--net", "virtio-net,topology=peer,peer-mode=reflect,packed=on",
	     "bench=net-rr ops=200 ring=packed irq=msix evidx=1");
	test_check_net_clean(&log, 200, 200);
	log_free(&log);
}

static void test_net_refusals(void **state)
{
	(void)state;
	struct log log;
	boot(&log, KVMIO_EXIT_BADCONFIG, "--net",
	     "virtio-net,topology=loop,packed=on virtio-net,topology=loop,packed=on",
	     "bench=net-rr ops=10 transport=legacy ring=packed");
	test_assert_field(log_find(&log, "nic", "index", "0"), "ring", "split");
	const struct record *e = log_find(&log, "error", "code", "badconfig");
	test_assert_field(e, "key", "ring");
	assert_non_null(strstr(record_get(e, "msg"), "legacy interface"));
	log_free(&log);
	boot(&log, KVMIO_EXIT_GUEST_FAIL, "--net", "virtio-net,topology=loop virtio-net,topology=loop",
	     "bench=net-rr ops=10 ring=packed");
	assert_non_null(strstr(record_get(log_find(&log, "error", "code", "device"), "msg"),
			       "does not offer VIRTIO_F_RING_PACKED"));
	log_free(&log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST_IN_DIR(test_blk_packed_modes),
		TEST_IN_DIR(test_blk_packed_writes),
		TEST_IN_DIR(test_scsi_packed),
		TEST_IN_DIR(test_blk_multiqueue),
		TEST_IN_DIR(test_blk_packed_verify),
		TEST_IN_DIR(test_blk_refusals),
		TEST_IN_DIR(test_net_packed_loop),
		TEST_IN_DIR(test_net_packed_peer),
		TEST_IN_DIR(test_net_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
