/*
 * How the guest waits for a completion interrupt (guest option wait=), under QEMU: wait=halt
 * (HLT until the interrupt) on disks and NICs in irq modes gives complete, consistent results
 * that say wait=halt and count the timer's ticks; the tick runs while the guest halts; the
 * watchdog still fires on time in tick mode; a wait whose interrupt never comes (fault=noirq)
 * ends at its own deadline as a device error, halted or spinning; and the refusals.
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

/* kvmio boot FLAG SPEC -- pci=0 OPTS (the guest's own parser answers), expect `want`. */
static void boot(struct log *log, int want, const char *flag, const char *spec, const char *opts)
{
	struct test_boot b = { .flag = flag, .specs = spec, .prefix = "pci=0", .opts = opts };

	test_boot_log(log, want, &b);
}

/* 300 requests on one disk, the guest halting for their interrupts (at qd=1 one for each,
 * min_irqs); the result says so and carries the tick count. */
static void check_disk_halt(const char *spec, const char *irq, const char *extra, uint64_t min_irqs)
{
	struct log log;
	char opts[300];

	snprintf(opts, sizeof(opts), "bench=disk ops=300 irq=%s wait=halt %s", irq, extra);
	boot(&log, 0, "--disk", spec, opts);
	const struct record *r = test_check_disk_result(&log, NULL, 300);
	test_assert_field(r, "irq", irq);
	test_assert_field(r, "wait", "halt");
	assert_true(test_u64_of(r, "irqs") >= min_irqs);
	(void)test_u64_of(r, "ticks");
	log_free(&log);
}

static void test_disk_halt(void **state)
{
	(void)state;
	check_disk_halt("virtio-blk,backend=null", "msix", "", 300);
	check_disk_halt("virtio-blk,backend=null", "intx", "evidx=1", 300);
	check_disk_halt("ide,backend=null", "intx", "ata_mode=dma", 300);
	check_disk_halt("nvme,backend=null", "msix", "", 300);
	check_disk_halt("virtio-blk,backend=null,packed=on", "msix", "ring=packed qd=8", 1);
}

/* A run of one second: the 100 Hz tick fired while the guest halted (at least once: a count of
 * the guest's own timer, not a speed); with wait=spin there is no tick and no ticks field. */
static void test_tick_runs(void **state)
{
	(void)state;
	struct log log;

	boot(&log, 0, "--disk", "virtio-blk,backend=null", "bench=disk time=1 irq=msix wait=halt");
	const struct record *r = log_find(&log, "result", "bench", "disk");
	assert_non_null(r);
	test_assert_field(r, "wait", "halt");
	assert_true(test_u64_of(r, "ticks") >= 1);
	log_free(&log);
	boot(&log, 0, "--disk", "virtio-blk,backend=null", "bench=disk ops=100 irq=msix");
	r = log_find(&log, "result", "bench", "disk");
	test_assert_field(r, "wait", "spin");
	assert_null(record_get(r, "ticks"));
	log_free(&log);
}

static void test_net_halt(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{ "virtio-net,topology=loop virtio-net,topology=loop", "irq=msix evidx=1" },
		{ "e1000,topology=loop e1000,topology=loop", "irq=intx" },
		{ "rtl8139,topology=loop rtl8139,topology=loop", "irq=intx" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct log log;
		char opts[200];

		snprintf(opts, sizeof(opts), "bench=net-rr ops=200 wait=halt %s", cases[i][1]);
		boot(&log, 0, "--net", cases[i][0], opts);
		const struct record *r = test_check_net_clean(&log, 200, 200);
		test_assert_field(r, "wait", "halt");
		(void)test_u64_of(r, "ticks");
		log_free(&log);
	}
}

/* The watchdog counts down tick by tick once the guest halts: time=30 under timeout=3 ends in
 * the guest's timeout record, not in a finished run. */
static void test_watchdog_in_tick_mode(void **state)
{
	(void)state;
	struct log log;

	boot(&log, KVMIO_EXIT_TIMEOUT, "--disk", "virtio-blk,backend=null",
	     "bench=disk time=30 timeout=3 irq=msix wait=halt");
	test_assert_field(log_find(&log, "timeout", NULL, NULL), "after_s", "3");
	assert_null(log_find(&log, "result", NULL, NULL));
	log_free(&log);
}

/* fault=noirq drops every device interrupt: the first wait (reading the label) never sees its
 * interrupt and must end at its own deadline, a device error naming it, long before the
 * watchdog (timeout=100). Halted and spinning alike. */
static void test_wait_bounded(void **state)
{
	(void)state;
	static const char *const waits[] = { "halt", "spin" };
	struct log log_net;

	for (int i = 0; i < 2; i++) {
		struct log log;
		char opts[200];

		snprintf(opts, sizeof(opts), "bench=disk ops=10 irq=msix wait=%s fault=noirq "
			 "timeout=100", waits[i]);
		boot(&log, KVMIO_EXIT_GUEST_FAIL, "--disk", "virtio-blk,backend=null", opts);
		const struct record *e = test_check_device_error(&log, "virtio-blk");
		test_assert_field(e, "what", "no completion interrupt");
		assert_null(log_find(&log, "timeout", NULL, NULL));
		log_free(&log);
	}
	/* a NIC's too, and its error record has both rings: the device completed the frame
	 * (used 1), the guest never heard of it (taken 0) */
	boot(&log_net, KVMIO_EXIT_GUEST_FAIL, "--net", "virtio-net,topology=loop virtio-net,topology=loop",
	     "bench=net-tx ops=50 irq=msix wait=halt fault=noirq timeout=100");
	const struct record *e = test_check_device_error(&log_net, "virtio-net");
	test_assert_field(e, "msg", "the NIC stopped completing transmissions");
	test_assert_field(e, "tx_ring_published", "1");
	test_assert_field(e, "tx_ring_used", "1");
	test_assert_field(e, "tx_ring_taken", "0");
	(void)test_u64_of(e, "rx_ring_published");
	log_free(&log_net);
}

static void test_refusals(void **state)
{
	(void)state;
	struct log log;

	/* irq=poll (the default) never waits for an interrupt: the guest's parser refuses */
	boot(&log, KVMIO_EXIT_BADCONFIG, "--disk", "virtio-blk,backend=null", "bench=disk wait=halt");
	const struct record *e = log_find(&log, "error", "code", "badconfig");
	test_assert_field(e, "key", "wait");
	assert_non_null(strstr(record_get(e, "msg"), "wait=halt needs irq=intx or irq=msix"));
	log_free(&log);
	boot(&log, KVMIO_EXIT_BADCONFIG, "--disk", "virtio-blk,backend=null", "bench=disk irq=msix wait=nap");
	test_assert_field(log_find(&log, "error", "code", "badconfig"), "key", "wait");
	log_free(&log);
	/* and kvmio boot's own check refuses it before QEMU starts, in one line */
	assert_int_equal(test_kvmio(test_out_path, "boot", "--timeout", "60", "--disk",
				    "virtio-blk,backend=null", "--", "bench=disk", "wait=halt", NULL),
			 KVMIO_EXIT_BADCONFIG);
	const char *out = test_output(test_out_path);
	assert_non_null(strstr(out, "wait=halt needs irq=intx or irq=msix"));
	assert_null(strchr(strchr(out, '\n') + 1, '\n')); /* one line */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST_IN_DIR(test_disk_halt),
		TEST_IN_DIR(test_tick_runs),
		TEST_IN_DIR(test_net_halt),
		TEST_IN_DIR(test_watchdog_in_tick_mode),
		TEST_IN_DIR(test_wait_bounded),
		TEST_IN_DIR(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
