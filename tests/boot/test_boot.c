/*
 * Integration tests: boot the real guest images under QEMU through `build/kvmio boot`, keep the
 * serial log, and check its records with the host parser. Every boot path and machine we
 * support, plus the failure paths (bad option, CPU fault, watchdog, host timeout).
 */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>

#include "proto/proto.h"
#include "helpers.h"


/* Boot, expect exit code `want`, parse the kept serial log. */
static void boot_and_parse(struct log *log, int want, const char *fw, const char *machine,
			   const char *opt1, const char *opt2)
{
	char out[300];
	snprintf(out, sizeof(out), "%s.out", test_log_path);
	/* --no-guest-check: these boots test the guest's own parser too (the host's check before
	 * launching is test_host_checks_options) */
	int rc = test_kvmio(out, "boot", "--firmware", fw, "--machine", machine, "--timeout", "120",
			   "--no-guest-check", "--log", test_log_path, "--", opt1, opt2, (char *)NULL);
	if (rc != want)
		fail_msg("kvmio boot %s/%s %s %s: exit %d, want %d\n%s", fw, machine, opt1,
			 opt2 ? opt2 : "", rc, want, test_output(out));
	unlink(out);
	memset(log, 0, sizeof(*log));
	log_parse_file(log, test_log_path);
}

static void check_good_boot(const char *fw, const char *machine, const char *path, int has_testdev)
{
	struct log log;
	boot_and_parse(&log, 0, fw, machine, "ops=300", NULL);
	assert_int_equal(log.status, KVMIO_EXIT_OK);
	const struct record *hello = log_find(&log, "hello", NULL, NULL);
	test_assert_field(hello, "boot", path);
	test_assert_field(hello, "cmdline", "ops=300");
	assert_true(test_u64_of(hello, "mem_kib") > 64 * 1024);
	const char *accel = record_get(hello, "accel");
	assert_true(!strcmp(accel, "tcg") || !strcmp(accel, "kvm"));
	/* Every machine here has a time reference (PIT, PM timer or a CPUID/KVM leaf). */
	assert_true(test_u64_of(hello, "tsc_hz") > 100000000ull);
	assert_string_not_equal(record_get(hello, "tsc_method"), "none");
	/* How the guest was executed: the verdict follows loop_cyc and the threshold; TCG runs
	 * translated code, so never "emulated". */
	assert_int_equal(test_u64_of(hello, "loop_iters"), KVMIO_EXEC_LOOP_ITERS);
	uint64_t loop_cyc = test_u64_of(hello, "loop_cyc");
	assert_true(loop_cyc > 0);
	test_u64_of(hello, "rdtsc_cyc");
	const char *exec = record_get(hello, "exec");
	assert_non_null(exec);
	assert_true(!strcmp(exec, "native") || !strcmp(exec, "emulated"));
	int emulated = loop_cyc > KVMIO_EXEC_EMULATED_LOOP_CYC;
	assert_string_equal(exec, emulated ? "emulated" : "native");
	assert_int_equal(test_u64_of(hello, "deadline_scale"), emulated ? KVMIO_EXEC_EMULATED_DEADLINE_SCALE : 1);
	if (!strcmp(accel, "tcg"))
		assert_string_equal(exec, "native");
	test_check_result(&log, "timestamp", 300);
	test_check_result(&log, "cpuid", 300);
	test_check_result(&log, "pio-unhandled", 300);
	if (has_testdev) {
		assert_non_null(log_find(&log, "pci", "id", "1b36:0005"));
		test_check_result(&log, "mmio-read", 300);
		test_check_result(&log, "pio-read", 300);
		test_check_result(&log, "pmtimer", 300);
		assert_string_not_equal(record_get(hello, "acpi"), "none");
	} else {
		const struct record *s = log_find(&log, "skip", "name", "mmio-read");
		assert_non_null(s);
		assert_non_null(strstr(record_get(s, "reason"), "pci-testdev"));
		assert_non_null(log_find(&log, "skip", "name", "pio-read"));
	}
	test_assert_field(log_find(&log, "end", NULL, NULL), "status", "ok");
	log_free(&log);
}

static void test_pc_multiboot(void **state) { (void)state; check_good_boot("bios", "pc", "multiboot", 1); }

static void test_q35_multiboot(void **state)
{
	(void)state;
	check_good_boot("bios", "q35", "multiboot", 1);
	struct log log;
	memset(&log, 0, sizeof(log));
	log_parse_file(&log, test_log_path);
	assert_string_not_equal(record_get(log_find(&log, "hello", NULL, NULL), "ecam"), "none");
	test_assert_field(log_find(&log, "pci", "id", "1b36:0005"), "access", "ecam");
	log_free(&log);
}

static void test_microvm_pvh(void **state) { (void)state; check_good_boot("pvh", "microvm", "pvh", 0); }
static void test_pc_pvh(void **state) { (void)state; check_good_boot("pvh", "pc", "pvh", 1); }
static void test_q35_uefi(void **state) { (void)state; check_good_boot("uefi", "q35", "uefi", 1); }

/* The guest's TSC frequency against the host's own (measured apart: kernel or
 * CLOCK_MONOTONIC_RAW) on every boot path, under the accelerator auto picks: within 0.1 %. */
static void test_tsc_matches_host(void **state)
{
	(void)state;
	static const char *const paths[][2] = { { "bios", "pc" }, { "bios", "q35" },
						{ "pvh", "microvm" }, { "pvh", "pc" },
						{ "uefi", "q35" } };
	char out[300];
	snprintf(out, sizeof(out), "%s.out", test_log_path);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		const char *argv[] = { "boot", "--json", "--firmware", paths[i][0], "--machine",
				       paths[i][1], "--", "bench=none", "pci=0", NULL };
		char errpath[320];
		snprintf(errpath, sizeof(errpath), "%s.err", test_log_path);
		const char *full[MAX_ARGS];
		int n = 0;
		full[n++] = test_kvmio_bin();
		for (int k = 0; argv[k]; k++)
			full[n++] = argv[k];
		full[n] = NULL;
		assert_int_equal(test_wait(test_spawn((char *const *)full, out, errpath)), 0);
		json_error_t je;
		json_t *doc = json_loads(test_output(out), 0, &je);
		if (!doc)
			fail_msg("%s/%s: --json output: %s", paths[i][0], paths[i][1], je.text);
		json_t *lg = json_array_get(json_object_get(doc, "logs"), 0);
		double host = json_number_value(json_object_get(json_object_get(lg, "launch"),
								"host_tsc_hz"));
		double guest = json_number_value(json_object_get(json_object_get(lg, "hello"),
								 "tsc_hz"));
		assert_true(host > 0 && guest > 0);
		double ppm = (guest - host) * 1e6 / host;
		print_message("%s/%s: guest %.0f Hz, host %.0f Hz: %+.0f ppm\n", paths[i][0],
			      paths[i][1], guest, host, ppm);
		if (ppm > HOST_TSC_TOLERANCE_PPM || ppm < -HOST_TSC_TOLERANCE_PPM)
			fail_msg("%s/%s: the guest's TSC (%.0f Hz) is %+.0f ppm from the host's "
				 "(%.0f Hz)", paths[i][0], paths[i][1], guest, ppm, host);
		json_decref(doc);
		unlink(errpath);
	}
	unlink(out);
}

static void test_unknown_option(void **state)
{
	(void)state;
	struct log log;
	boot_and_parse(&log, KVMIO_EXIT_BADCONFIG, "bios", "pc", "bogus=1", NULL);
	const struct record *e = log_find(&log, "error", "code", "badconfig");
	assert_non_null(e);
	test_assert_field(e, "key", "bogus");
	test_assert_field(log_find(&log, "end", NULL, NULL), "status", "badconfig");
	assert_null(log_find(&log, "result", NULL, NULL));
	log_free(&log);
}

static void test_bad_values(void **state)
{
	(void)state;
	static const char *const bad[] = { "ops=abc", "ops=0", "timeout=99999999", "bench=nope",
					   "dev=zz:00.0", "ops=", "help=1", "ops", "seed=1 seed=2",
					   "dev=00:1f.7", "bar=6", "bar=3", "bar=1", "tests=bogus",
					   "tests=cpuid,cpuid" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct log log;
		boot_and_parse(&log, KVMIO_EXIT_BADCONFIG, "bios", "pc", bad[i], NULL);
		assert_non_null(log_find(&log, "error", "code", "badconfig"));
		log_free(&log);
	}
}

/* The host checks guest options against the guest's own table before QEMU starts: no log,
 * one line naming the option, exit 2 (and the same for a job file, in test_job). */
static void test_host_checks_options(void **state)
{
	(void)state;
	static const char *const bad[][2] = {
		{ "qd=abc", "guest option qd=abc: not a number" },
		{ "bogus=1", "guest option bogus=1: unknown option" },
		{ "bench=nope", "guest option bench=nope: not one of the allowed values" },
		{ "ops=", "guest option ops=: empty value" },
		{ "ops", "guest option ops: expected key=value" },
		{ "tests=cpuid,bogus", "guest option tests=cpuid,bogus: no exit test named bogus" },
	};
	char out[300];
	snprintf(out, sizeof(out), "%s.out", test_log_path);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unlink(test_log_path);
		assert_int_equal(test_kvmio(out, "boot", "--log", test_log_path, "--", bad[i][0],
					    (char *)NULL), KVMIO_EXIT_BADCONFIG);
		if (!strstr(test_output(out), bad[i][1]))
			fail_msg("%s: output lacks '%s':\n%s", bad[i][0], bad[i][1], test_output(out));
		assert_int_equal(access(test_log_path, F_OK), -1); /* QEMU never started */
	}
	unlink(out);
}

/* tests= runs the exit tests it names, in the table's order, and nothing else: no result and
 * no skip for the others. An unknown name is the guest's badconfig too, naming it. */
static void test_exit_test_subset(void **state)
{
	(void)state;
	struct log log;
	boot_and_parse(&log, 0, "bios", "pc", "ops=300", "tests=pio-read,cpuid");
	test_check_result(&log, "cpuid", 300);
	test_check_result(&log, "pio-read", 300);
	const char *names[4];
	unsigned n = 0;
	for (size_t i = 0; i < log.nrecs && n < 4; i++)
		if (!strcmp(log.recs[i].type, "result"))
			names[n++] = record_get(&log.recs[i], "name");
	assert_int_equal(n, 2);
	assert_string_equal(names[0], "cpuid");
	assert_string_equal(names[1], "pio-read");
	assert_null(log_find(&log, "skip", NULL, NULL));
	log_free(&log);
	/* a test that cannot run still says why, when asked for */
	boot_and_parse(&log, 0, "pvh", "microvm", "ops=100", "tests=pmtimer");
	assert_non_null(log_find(&log, "skip", "name", "pmtimer"));
	assert_null(log_find(&log, "result", NULL, NULL));
	log_free(&log);
	boot_and_parse(&log, KVMIO_EXIT_BADCONFIG, "bios", "pc", "tests=cpuid,bogus", NULL);
	const struct record *e = log_find(&log, "error", "code", "badconfig");
	test_assert_field(e, "key", "tests");
	assert_non_null(strstr(record_get(e, "msg"), "no exit test named bogus"));
	log_free(&log);
}

static void test_uefi_unknown_option(void **state)
{
	(void)state;
	struct log log;
	boot_and_parse(&log, KVMIO_EXIT_BADCONFIG, "uefi", "q35", "frobnicate=yes", NULL);
	test_assert_field(log_find(&log, "error", "code", "badconfig"), "key", "frobnicate");
	log_free(&log);
}

static void check_fault(const char *kind, const char *vector, const char *name)
{
	struct log log;
	char opt[32];
	snprintf(opt, sizeof(opt), "fault=%s", kind);
	boot_and_parse(&log, KVMIO_EXIT_GUEST_FAIL, "bios", "pc", opt, NULL);
	const struct record *e = log_find(&log, "error", "code", "exception");
	assert_non_null(e);
	test_assert_field(e, "vector", vector);
	test_assert_field(e, "name", name);
	assert_non_null(record_get(e, "rip"));
	assert_non_null(record_get(e, "r15"));
	test_assert_field(log_find(&log, "end", NULL, NULL), "status", "fail");
	log_free(&log);
}

static void test_faults(void **state)
{
	(void)state;
	check_fault("ud", "6", "UD");
	check_fault("gp", "13", "GP");
	check_fault("de", "0", "DE");
	check_fault("pf", "14", "PF");
	struct log log;
	boot_and_parse(&log, KVMIO_EXIT_GUEST_FAIL, "bios", "pc", "fault=pf", NULL);
	test_assert_field(log_find(&log, "error", "code", "exception"), "cr2", "0x7f0000000000");
	log_free(&log);
}

static void test_watchdog(void **state)
{
	(void)state;
	struct log log;
	boot_and_parse(&log, KVMIO_EXIT_TIMEOUT, "bios", "pc", "bench=spin", "timeout=2");
	test_assert_field(log_find(&log, "timeout", NULL, NULL), "after_s", "2");
	test_assert_field(log_find(&log, "end", NULL, NULL), "status", "timeout");
	log_free(&log);
}

static void test_watchdog_microvm(void **state)
{
	(void)state;
	struct log log;
	boot_and_parse(&log, KVMIO_EXIT_TIMEOUT, "pvh", "microvm", "bench=spin", "timeout=1");
	assert_non_null(log_find(&log, "timeout", NULL, NULL));
	log_free(&log);
}

static void test_host_timeout(void **state)
{
	(void)state;
	char out[300];
	snprintf(out, sizeof(out), "%s.out", test_log_path);
	/* The guest would spin for 600 s; the host deadline of 3 s must end it. */
	int rc = test_kvmio(out, "boot", "--timeout", "3", "--log", test_log_path, "--", "bench=spin",
			   "timeout=600", (char *)NULL);
	assert_int_equal(rc, KVMIO_EXIT_TIMEOUT);
	assert_non_null(strstr(test_output(out), "timeout"));
	unlink(out);
}

/* OVMF puts 64-bit BARs far above 4 GiB: the guest must map them to read them. */
static void test_uefi_bar_above_4g(void **state)
{
	(void)state;
	char out[300];
	snprintf(out, sizeof(out), "%s.out", test_log_path);
	int rc = test_kvmio(out, "boot", "--firmware", "uefi", "--log", test_log_path, "--qemu-arg",
			   "-device", "--qemu-arg", "virtio-rng-pci,addr=05.0", "--", "ops=200",
			   "dev=00:05.0", "bar=4", (char *)NULL);
	if (rc != 0)
		fail_msg("exit %d\n%s", rc, test_output(out));
	unlink(out);
	struct log log;
	memset(&log, 0, sizeof(log));
	assert_int_equal(log_parse_file(&log, test_log_path), 0);
	const char *bar4 = record_get(log_find(&log, "pci", "bdf", "00:05.0"), "bar4");
	assert_non_null(bar4);
	assert_true(!strncmp(bar4, "mem64p:0x", 9));
	uint64_t addr = strtoull(bar4 + 7, NULL, 16);
	assert_true(addr >= (4ull << 30));
	const struct record *r = log_find(&log, "result", "name", "mmio-read");
	test_check_result(&log, "mmio-read", 200);
	assert_int_equal(strtoull(record_get(r, "addr"), NULL, 16), addr);
	test_assert_field(r, "bar", "4");
	log_free(&log);
}

/* Without isa-debug-exit (as under other VMMs) the guest powers off through ACPI S5 or UEFI
 * ResetSystem; QEMU exits 0 and the status comes from the log. */
static void test_no_debug_exit(void **state)
{
	(void)state;
	static const char *const paths[][2] = { { "bios", "pc" }, { "bios", "q35" },
						{ "pvh", "microvm" }, { "uefi", "q35" } };
	char out[300];
	snprintf(out, sizeof(out), "%s.out", test_log_path);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int rc = test_kvmio(out, "boot", "--no-debug-exit", "--json", "--firmware", paths[i][0],
				   "--machine", paths[i][1], "--", "ops=50", (char *)NULL);
		if (rc != 0)
			fail_msg("%s/%s: exit %d\n%s", paths[i][0], paths[i][1], rc, test_output(out));
		assert_non_null(strstr(test_output(out), "\"qemu_exit\":0"));
	}
	assert_int_equal(test_kvmio(out, "boot", "--no-debug-exit", "--", "fault=ud", (char *)NULL),
			 KVMIO_EXIT_GUEST_FAIL);
	assert_int_equal(test_kvmio(out, "boot", "--no-debug-exit", "--no-guest-check", "--", "ops=x",
				    (char *)NULL), KVMIO_EXIT_BADCONFIG);
	unlink(out);
}

/* ---- disks ---- */

/* Boot `kvmio boot [FLAG SPEC]... [--tap-cmd CMD] -- PREFIX OPTS` (specs and opts are
 * space-separated strings), expect `want`, parse the log; returns what kvmio printed (the
 * peer's counts are there), valid until the next call. */
static const char *boot_devices(struct log *log, int want, const char *flag, const char *specs,
				const char *tap_cmd, const char *prefix, const char *opts)
{
	struct test_boot b = { .flag = flag, .specs = specs, .tap_cmd = tap_cmd, .prefix = prefix,
			       .opts = opts };
	return test_boot_log(log, want, &b);
}

static void boot_disk(struct log *log, int want, const char *specs, const char *opts)
{
	boot_devices(log, want, "--disk", specs, NULL, "bench=disk pci=0", opts);
}

/* A disk result: sane latency figures plus the counters that explain them. */
static const struct record *check_disk_result(const struct log *log, uint64_t ops)
{
	const struct record *r = test_check_disk_result(log, NULL, ops);
	assert_non_null(record_get(r, "harness_mean"));
	return r;
}

static void check_virtio(const char *spec, const char *irq, const char *transport, int legacy_io)
{
	struct log log;
	char opts[128];
	snprintf(opts, sizeof(opts), "ops=200 irq=%s", irq);
	boot_disk(&log, 0, spec, opts);
	const struct record *d = log_find(&log, "disk", "index", "0");
	test_assert_field(d, "model", "virtio-blk");
	test_assert_field(d, "transport", transport);
	const struct record *r = check_disk_result(&log, 200);
	test_assert_field(r, "irq", irq);
	/* Each request is announced to the device: a port write (legacy) or an MMIO write. */
	assert_true(test_u64_of(r, legacy_io ? "pio_w" : "mmio_w") >= 200);
	if (!strcmp(irq, "poll"))
		assert_int_equal(test_u64_of(r, "irqs"), 0);
	else
		assert_true(test_u64_of(r, "irqs") >= 200); /* qd=1: one completion interrupt per request */
	log_free(&log);
}

static void test_virtio_blk_modes(void **state)
{
	(void)state;
	static const char *const irqs[] = { "poll", "intx", "msix" };
	for (int i = 0; i < 3; i++) {
		check_virtio("virtio-blk,transport=modern", irqs[i], "modern", 0);
		check_virtio("virtio-blk,transport=legacy", irqs[i], "legacy", 1);
		check_virtio("virtio-blk,transport=transitional", irqs[i], "modern", 0);
	}
	/* A transitional device driven through its legacy interface. */
	struct log log;
	boot_disk(&log, 0, "virtio-blk", "ops=100 transport=legacy evidx=1 indirect=1 qd=8 irq=msix");
	test_assert_field(log_find(&log, "disk", NULL, NULL), "transport", "legacy");
	check_disk_result(&log, 100);
	log_free(&log);
}

static void check_ide(const char *mode, const char *irq)
{
	struct log log;
	char opts[128];
	snprintf(opts, sizeof(opts), "ops=100 ata_mode=%s irq=%s", mode, irq);
	boot_disk(&log, 0, "ide", opts);
	const struct record *d = log_find(&log, "disk", "index", "0");
	test_assert_field(d, "model", "ide");
	test_assert_field(d, "transport", mode);
	const struct record *r = check_disk_result(&log, 100);
	uint64_t pio_r = test_u64_of(r, "pio_r"), pio_w = test_u64_of(r, "pio_w");
	/* PIO moves 4 KiB as 2048 16-bit words through the data port. DMA with interrupts needs a
	 * few register accesses per command (in poll mode the status polls depend on timing). */
	if (!strcmp(mode, "pio"))
		assert_true(pio_r >= 100 * 2048);
	else if (!strcmp(irq, "intx"))
		assert_true(pio_r <= 100 * 8 && pio_w >= 100 * 3);
	assert_int_equal(test_u64_of(r, "mmio_r") + test_u64_of(r, "mmio_w"), 0);
	if (!strcmp(irq, "poll"))
		assert_int_equal(test_u64_of(r, "irqs"), 0);
	else
		assert_true(test_u64_of(r, "irqs") >= 100);
	log_free(&log);
}

static void test_ide_modes(void **state)
{
	(void)state;
	check_ide("pio", "poll");
	check_ide("pio", "intx");
	check_ide("dma", "poll");
	check_ide("dma", "intx");
	struct log log;
	boot_disk(&log, KVMIO_EXIT_BADCONFIG, "ide", "irq=msix");
	test_assert_field(log_find(&log, "error", "code", "badconfig"), "key", "irq");
	log_free(&log);
	/* IDE and virtio-blk side by side: numbered in --disk order, msix fine for virtio */
	boot_disk(&log, 0, "ide virtio-blk", "ops=50 dev=1 irq=msix");
	test_check_disk_models(&log, "ide virtio-blk");
	test_assert_field(log_find(&log, "result", "bench", "disk"), "model", "virtio-blk");
	log_free(&log);
}

static void test_disk_sweep(void **state)
{
	(void)state;
	struct log log;
	boot_disk(&log, 0, "virtio-blk", "ops=100 sweep=qd:1,4,16 irq=msix");
	assert_non_null(log_find(&log, "result", "name", "randread-4k-qd1"));
	assert_non_null(log_find(&log, "result", "name", "randread-4k-qd4"));
	assert_non_null(log_find(&log, "result", "name", "randread-4k-qd16"));
	log_free(&log);
	boot_disk(&log, 0, "virtio-blk", "ops=50 rw=read sweep=bs:512,65536,1048576");
	test_assert_field(log_find(&log, "result", "name", "read-1024k-qd1"), "bytes", "52428800");
	log_free(&log);
}

/* With iothread=on the device's timers run in an iothread of its own, which sleeps for the
 * injected delay itself: a 200 us latency-ns is in every completion, so the p50 is at least it
 * (QEMU's main loop would round it up to its millisecond quantum instead). */
static void test_disk_iothread(void **state)
{
	(void)state;
	struct log log;
	const char *printed = boot_devices(&log, 0, "--disk", "virtio-blk,latency-ns=200000,iothread=on",
					   NULL, "bench=disk pci=0", "ops=200 rw=randread qd=1 irq=poll");
	assert_non_null(strstr(printed, " iothread=on "));
	const struct record *r = check_disk_result(&log, 200);
	uint64_t hz = test_u64_of(log_find(&log, "hello", NULL, NULL), "tsc_hz");
	assert_true(hz > 0);
	double p50_us = (double)test_u64_of(r, "p50") * 1e6 / (double)hz;
	if (p50_us < 200.0)
		fail_msg("iothread=on, latency-ns=200000: p50 %.1f us, below the injected 200 us", p50_us);
	log_free(&log);
}

static void test_disk_writes_null(void **state)
{
	(void)state;
	struct log log;
	boot_disk(&log, 0, "virtio-blk", "ops=100 rw=randwrite write=unsafe flush=10");
	const struct record *f = log_find(&log, "result", "name", "randwrite-4k-qd1-flush");
	assert_non_null(f);
	test_assert_field(f, "ops", "10");
	log_free(&log);
	/* null-co keeps nothing and carries no label: writes need write=unsafe */
	boot_disk(&log, KVMIO_EXIT_BADCONFIG, "virtio-blk", "rw=randwrite");
	test_assert_field(log_find(&log, "error", "code", "badconfig"), "key", "write");
	assert_null(log_find(&log, "result", NULL, NULL));
	log_free(&log);
}

static void test_disk_read_only(void **state)
{
	(void)state;
	struct log log;
	boot_disk(&log, KVMIO_EXIT_BADCONFIG, "virtio-blk,readonly=on", "rw=write write=unsafe");
	test_assert_field(log_find(&log, "disk", NULL, NULL), "read_only", "1");
	assert_non_null(strstr(record_get(log_find(&log, "error", "code", "badconfig"), "msg"), "read-only"));
	log_free(&log);
	boot_disk(&log, 0, "virtio-blk,readonly=on", "ops=50"); /* reads are fine */
	log_free(&log);
}

static void test_disk_bad_config(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"rw=sideways", "mix=101", "bs=256", "bs=1000", "bs=2097152", "qd=0", "qd=999",
		"time=x", "range=999999999999", "range=1", "flush=x", "verify=2", "write=maybe",
		"sweep=xx:1", "sweep=qd:", "sweep=qd:1,999", "irq=sometimes", "ata_mode=udma",
		"evidx=2", "indirect=2", "transport=pcie", "dev=5", "dev=00:1f.0",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct log log;
		boot_disk(&log, KVMIO_EXIT_BADCONFIG, "virtio-blk", bad[i]);
		assert_non_null(log_find(&log, "error", "code", "badconfig"));
		assert_null(log_find(&log, "result", NULL, NULL));
		log_free(&log);
	}
	struct log log;
	boot_disk(&log, KVMIO_EXIT_BADCONFIG, "", "ops=10"); /* no disk at all */
	assert_non_null(strstr(record_get(log_find(&log, "error", "code", "badconfig"), "msg"), "no disk"));
	log_free(&log);
	boot_disk(&log, KVMIO_EXIT_BADCONFIG, "virtio-blk,size=1M", "ops=10"); /* too small */
	log_free(&log);
}

static void test_disk_fault_injection(void **state)
{
	(void)state;
	char img[400], spec[500];
	struct log log;
	snprintf(img, sizeof(img), "%s/eio.img", test_dir);
	test_sparse_file(img, 64 << 20);
	snprintf(spec, sizeof(spec), "virtio-blk,backend=file=%s,inject=eio-read", img);
	boot_disk(&log, KVMIO_EXIT_GUEST_FAIL, spec, "ops=10");
	const struct record *e = test_check_device_error(&log, NULL);
	assert_non_null(record_get(e, "lba"));
	log_free(&log);
	snprintf(spec, sizeof(spec), "virtio-blk,backend=file=%s,inject=eio-write", img);
	boot_disk(&log, KVMIO_EXIT_GUEST_FAIL, spec, "ops=10 rw=randwrite write=unsafe");
	e = test_check_device_error(&log, NULL);
	assert_true(test_u64_of(e, "lba") >= 2048); /* the data area starts at 1 MiB */
	log_free(&log);
	unlink(img);
}

/* The write cache as each model reports it (IDE from IDENTIFY, virtio-blk from its
 * configuration, NVMe from Get Features, virtio-scsi from the Caching mode page), from the
 * drive's cache mode: writethrough and directsync off, none and writeback on. virtio-blk negotiates CONFIG_WCE, so the device keeps
 * the mode cache= gave it (with FLUSH alone QEMU switches it to writeback: a writethrough run
 * that measured writeback). */
static void test_disk_write_cache(void **state)
{
	static const struct { const char *cache, *want; } modes[] = {
		{ "writethrough", "off" }, { "directsync", "off" }, { "none", "on" },
		{ "writeback", "on" },
	};
	static const char *const models[] = { "ide", "virtio-blk", "virtio-blk,transport=legacy",
					       "nvme", "virtio-scsi" };
	char img[400], spec[600];

	(void)state;
	snprintf(img, sizeof(img), "%s/wce.img", test_dir);
	test_sparse_file(img, 16 << 20);
	for (size_t m = 0; m < sizeof(models) / sizeof(models[0]); m++)
		for (size_t c = 0; c < sizeof(modes) / sizeof(modes[0]); c++) {
			struct log log;

			snprintf(spec, sizeof(spec), "%s,backend=file=%s,cache=%s", models[m], img,
				 modes[c].cache);
			boot_disk(&log, KVMIO_EXIT_OK, spec, "ops=20");
			test_assert_field(log_find(&log, "disk", NULL, NULL), "write_cache",
					  modes[c].want);
			log_free(&log);
		}
	unlink(img);
}

static void check_verify(const char *model, const char *format, const char *extra, unsigned bs)
{
	struct log log;
	struct test_boot b = { .prefix = "bench=disk pci=0", .opts = extra };
	struct test_verify v = { .model = model, .format = format, .seed = 77, .bs = bs };
	test_write_verify(&log, &b, &v);
	log_free(&log);
}

static void test_disk_verify(void **state)
{
	(void)state;
	check_verify("virtio-blk", "raw", "irq=msix", 4096);
	check_verify("virtio-blk,transport=legacy", "qcow2", "", 65536);
	check_verify("ide", "raw", "ata_mode=dma irq=intx", 4096);
	check_verify("ide", "raw", "ata_mode=pio", 131072);
}

/* Without the scratch label the guest refuses to write, and the file stays as it was. */
static void test_disk_unlabelled_untouched(void **state)
{
	(void)state;
	char img[400], spec[500], before[80], after[80];
	snprintf(img, sizeof(img), "%s/precious.raw", test_dir);
	test_precious_file(img, 4096, 32 << 20);
	test_file_hash(img, before);
	static const char *const writers[] = { "rw=randwrite", "rw=write", "rw=randrw", "verify=1" };
	for (int i = 0; i < 4; i++) {
		struct log log;
		snprintf(spec, sizeof(spec), "virtio-blk,backend=file=%s", img);
		boot_disk(&log, KVMIO_EXIT_BADCONFIG, spec, writers[i]);
		test_assert_field(log_find(&log, "disk", NULL, NULL), "label", "no");
		test_assert_field(log_find(&log, "error", "code", "badconfig"), "key", "write");
		log_free(&log);
		snprintf(spec, sizeof(spec), "ide,backend=file=%s", img);
		boot_disk(&log, KVMIO_EXIT_BADCONFIG, spec, writers[i]);
		log_free(&log);
	}
	test_file_hash(img, after);
	assert_string_equal(before, after);
	unlink(img);
}

/* ---- network ---- */

static const char *boot_net_cmd(struct log *log, int want, const char *specs, const char *tap_cmd,
				const char *opts)
{
	return boot_devices(log, want, "--net", specs, tap_cmd, "pci=0", opts);
}

static const char *boot_net(struct log *log, int want, const char *specs, const char *opts)
{
	return boot_net_cmd(log, want, specs, NULL, opts);
}

/* A network result where every frame sent arrived intact, in order, once. */
static const struct record *check_net_clean(const struct log *log, uint64_t ops, uint64_t timed)
{
	const struct record *r = test_check_net_clean(log, ops, timed);
	assert_non_null(record_get(r, "harness_mean"));
	return r;
}

static void check_loop_model(const char *model, const char *extra)
{
	char specs[200], opts[200];
	struct log log;
	snprintf(specs, sizeof(specs), "%s,topology=loop %s,topology=loop", model, model);
	static const char *const sizes[] = { "60", "61", "777", "1514" };
	for (int i = 0; i < 4; i++) {
		snprintf(opts, sizeof(opts), "bench=net-tx ops=200 burst=4 size=%s %s", sizes[i], extra);
		boot_net(&log, 0, specs, opts);
		assert_non_null(log_find(&log, "nic", "index", "1"));
		test_assert_field(log_find(&log, "nic", "index", "0"), "link", "up");
		const struct record *r = check_net_clean(&log, 200, 200);
		test_assert_field(r, "size", sizes[i]);
		log_free(&log);
	}
	snprintf(opts, sizeof(opts), "bench=net-rr ops=100 %s", extra);
	boot_net(&log, 0, specs, opts);
	check_net_clean(&log, 100, 100);
	log_free(&log);
	snprintf(opts, sizeof(opts), "bench=net-rx ops=150 size=1514 %s", extra);
	boot_net(&log, 0, specs, opts);
	check_net_clean(&log, 150, 149); /* 149 gaps between 150 frames */
	log_free(&log);
}

static void test_net_loop_virtio(void **state)
{
	(void)state;
	check_loop_model("virtio-net,transport=modern", "irq=msix");
	check_loop_model("virtio-net,transport=legacy", "irq=intx mrg=1 evidx=1");
	check_loop_model("virtio-net", "");
}

static void test_net_loop_rtl8139(void **state)
{
	(void)state;
	check_loop_model("rtl8139", "irq=poll");
	check_loop_model("rtl8139", "irq=intx");
}

static void test_net_loop_e1000(void **state)
{
	(void)state;
	check_loop_model("e1000", "irq=poll");
	check_loop_model("e1000-82545em", "irq=intx");
	check_loop_model("e1000-82544gc", "irq=intx itr=1000");
}

/* The 82574L (e1000e): INTx, polling and MSI-X, which the 8254x models refuse. */
static void test_net_loop_e1000e(void **state)
{
	(void)state;
	struct log log;
	check_loop_model("e1000e", "irq=msix");
	check_loop_model("e1000e", "irq=intx itr=500");
	check_loop_model("e1000e", "irq=poll");
	boot_net(&log, 0, "e1000e,topology=loop e1000e,topology=loop", "bench=net-rr ops=100 irq=msix");
	const struct record *r = check_net_clean(&log, 100, 100);
	test_assert_field(r, "model", "e1000e");
	test_assert_field(r, "irq", "msix");
	assert_true(test_u64_of(r, "irqs") > 0);
	assert_int_equal(test_u64_of(r, "mmio_r"), 0); /* MSI-X: the handler reads no ICR */
	log_free(&log);
	boot_net(&log, KVMIO_EXIT_BADCONFIG, "e1000,topology=loop e1000,topology=loop",
		 "bench=net-rr ops=10 irq=msix");
	log_free(&log);
}

static void check_peer_model(const char *model, const char *extra)
{
	char specs[200], opts[200];
	struct log log;
	snprintf(specs, sizeof(specs), "%s,topology=peer,peer-mode=reflect", model);
	snprintf(opts, sizeof(opts), "bench=net-rr ops=100 size=1514 %s", extra);
	boot_net(&log, 0, specs, opts);
	check_net_clean(&log, 100, 100);
	log_free(&log);
	snprintf(specs, sizeof(specs), "%s,topology=peer,peer-mode=sink", model);
	snprintf(opts, sizeof(opts), "bench=net-tx ops=200 size=700 burst=4 %s", extra);
	const char *printed = boot_net(&log, 0, specs, opts);
	if (!strstr(printed, "mode=sink rx=200 rx_ok=200 rx_corrupt=0"))
		fail_msg("%s: the sink peer's counts are not in kvmio's output:\n%s", model, printed);
	log_free(&log);
	snprintf(specs, sizeof(specs), "%s,topology=peer,peer-mode=flood,peer-size=1514", model);
	snprintf(opts, sizeof(opts), "bench=net-rx ops=300 %s", extra);
	boot_net(&log, 0, specs, opts);
	check_net_clean(&log, 300, 299);
	log_free(&log);
}

static void test_net_peer(void **state)
{
	(void)state;
	check_peer_model("virtio-net,transport=modern", "irq=msix");
	check_peer_model("virtio-net,transport=legacy", "");
	check_peer_model("e1000", "irq=intx");
	check_peer_model("e1000e", "irq=msix");
	check_peer_model("rtl8139", "");
}

/* A peer that drops or corrupts on purpose: the guest must see exactly that. */
static void test_net_peer_damage(void **state)
{
	(void)state;
	struct log log;
	/* each dropped reply costs the guest its bounded wait (3 s): keep the count small */
	boot_net(&log, 0, "virtio-net,peer-mode=reflect,peer-drop-every=10", "bench=net-rr ops=50");
	const struct record *r = log_find(&log, "result", NULL, NULL);
	assert_int_equal(test_u64_of(r, "lost"), 5);
	assert_int_equal(test_u64_of(r, "rx_ok"), 45);
	assert_int_equal(test_u64_of(r, "corrupt"), 0);
	log_free(&log);
	boot_net(&log, 0, "e1000,peer-mode=reflect,peer-corrupt-every=7", "bench=net-rr ops=100");
	r = log_find(&log, "result", NULL, NULL);
	assert_int_equal(test_u64_of(r, "corrupt"), 14);
	assert_int_equal(test_u64_of(r, "rx_ok"), 86);
	log_free(&log);
	/* A peer that never answers: a clear error after the bounded waits, not a hang. */
	boot_net(&log, KVMIO_EXIT_GUEST_FAIL, "virtio-net,peer-mode=sink", "bench=net-rr ops=3");
	assert_non_null(strstr(record_get(log_find(&log, "error", "code", "device"), "msg"), "no replies"));
	log_free(&log);
	/* net-rx with nobody flooding: ends after the idle bound, nothing received, no hang. */
	boot_net(&log, 0, "e1000,peer-mode=sink", "bench=net-rx ops=50");
	test_assert_field(log_find(&log, "result", NULL, NULL), "rx_ok", "0");
	log_free(&log);
}

static int tap_possible(void)
{
	return geteuid() == 0 && access("/dev/net/tun", R_OK | W_OK) == 0;
}

static void test_net_tap(void **state)
{
	(void)state;
	if (!tap_possible()) {
		/* not root or no /dev/net/tun: kvmio must refuse the tap NIC with that reason */
		char out[300];
		snprintf(out, sizeof(out), "%s.out", test_log_path);
		assert_int_equal(test_kvmio(out, "boot", "--net", "virtio-net,topology=tap", "--",
					    "bench=net-echo", (char *)NULL), KVMIO_EXIT_BADCONFIG);
		assert_non_null(strstr(test_output(out), "tap topology needs root and /dev/net/tun"));
		unlink(out);
		return;
	}
	struct log log;
	const char *printed = boot_net_cmd(&log, 0, "virtio-net,topology=tap",
					   "ping -c 5 -W 2 10.199.0.2", "bench=net-echo");
	assert_non_null(strstr(printed, "5 packets transmitted, 5 received"));
	const struct record *r = log_find(&log, "result", "bench", "net-echo");
	assert_int_equal(test_u64_of(r, "icmp"), 5);
	assert_non_null(log_find(&log, "ready", "ip", "10.199.0.2"));
	log_free(&log);
	printed = boot_net_cmd(&log, 0, "e1000,topology=tap",
			       "sh -c 'printf kvmio-udp-payload-4711 | socat -t 3 - UDP4:10.199.0.2:7'",
			       "bench=net-echo");
	assert_non_null(strstr(printed, "| kvmio-udp-payload-4711"));
	assert_int_equal(test_u64_of(log_find(&log, "result", "bench", "net-echo"), "udp"), 1);
	log_free(&log);
}

static void test_net_bad_config(void **state)
{
	(void)state;
	struct log log;
	static const char *const bad[] = { "size=59", "size=1515", "burst=0", "rxdev=7", "dev=3",
					   "dev=00:18.0", "ip=1.2.3", "ip=300.1.1.1", "itr=70000",
					   "mrg=2", "time=x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char opts[100];
		snprintf(opts, sizeof(opts), "bench=net-tx ops=10 %s", bad[i]);
		boot_net(&log, KVMIO_EXIT_BADCONFIG, "virtio-net,topology=loop virtio-net,topology=loop", opts);
		assert_non_null(log_find(&log, "error", "code", "badconfig"));
		assert_null(log_find(&log, "result", NULL, NULL));
		log_free(&log);
	}
	boot_net(&log, KVMIO_EXIT_BADCONFIG, "", "bench=net-tx ops=10"); /* no NIC */
	assert_non_null(strstr(record_get(log_find(&log, "error", "code", "badconfig"), "msg"), "no NIC"));
	log_free(&log);
	boot_net(&log, KVMIO_EXIT_BADCONFIG, "rtl8139,topology=loop rtl8139,topology=loop",
		 "bench=net-tx irq=msix ops=10");
	test_assert_field(log_find(&log, "error", "code", "badconfig"), "key", "irq");
	log_free(&log);
}

/* time=S on every benchmark: a series runs S seconds (from its first timed op), or until its
 * sample cap; the record's stopped= says which. ops= counts otherwise. */
static void check_timed(const struct log *log, const char *bench, uint64_t seconds)
{
	const struct record *r = log_find(log, "result", "bench", bench);
	uint64_t hz = test_u64_of(log_find(log, "hello", NULL, NULL), "tsc_hz");

	assert_non_null(r);
	assert_true(test_u64_of(r, "ops") > 0);
	if (strcmp(record_get(r, "stopped"), "cap") == 0)
		return; /* the cap came first: legal, and said */
	test_assert_field(r, "stopped", "time");
	/* disk and net: the series spans time= (net-rx from its first frame to its last: a little
	 * less), not ops= (the default would end far sooner) */
	if (record_get(r, "elapsed"))
		assert_true(test_u64_of(r, "elapsed") >= seconds * hz / 10 * 9);
}

static void test_time_everywhere(void **state)
{
	(void)state;
	struct log log;
	boot_net(&log, 0, "virtio-net,topology=loop virtio-net,topology=loop", "bench=net-rr time=1");
	check_timed(&log, "net-rr", 1);
	assert_int_equal(test_u64_of(log_find(&log, "result", NULL, NULL), "lost"), 0);
	log_free(&log);
	boot_net(&log, 0, "e1000,topology=loop e1000,topology=loop", "bench=net-tx time=1 size=1514");
	check_timed(&log, "net-tx", 1);
	assert_int_equal(test_u64_of(log_find(&log, "result", NULL, NULL), "lost"), 0);
	log_free(&log);
	boot_net(&log, 0, "virtio-net,topology=loop virtio-net,topology=loop", "bench=net-rx time=1");
	check_timed(&log, "net-rx", 1);
	log_free(&log);
	boot_disk(&log, 0, "virtio-blk", "time=1");
	check_timed(&log, "disk", 1);
	log_free(&log);
	boot_devices(&log, 0, "--disk", "", NULL, "pci=0", "bench=exits tests=cpuid time=1");
	check_timed(&log, "exits", 1);
	log_free(&log);
	/* without time=: ops= counts, and says so */
	boot_devices(&log, 0, "--disk", "", NULL, "pci=0", "bench=exits tests=cpuid ops=500");
	test_assert_field(log_find(&log, "result", "bench", "exits"), "stopped", "ops");
	test_assert_field(log_find(&log, "result", "bench", "exits"), "ops", "500");
	log_free(&log);
}

/* stamp=batch: one timestamp pair per batch; every op carries its batch's mean, so the series'
 * total is (all but rounding) its elapsed time; the network benchmarks refuse it. */
static void test_stamp_batch(void **state)
{
	(void)state;
	struct log log;
	const struct record *r;
	boot_devices(&log, 0, "--disk", "", NULL, "pci=0", "bench=exits tests=cpuid ops=1000 stamp=batch batch=100");
	r = log_find(&log, "result", "bench", "exits");
	test_assert_field(r, "stamp", "batch");
	test_assert_field(r, "batch", "100");
	test_check_result(&log, "cpuid", 1000);
	log_free(&log);
	boot_disk(&log, 0, "virtio-blk", "ops=1000 stamp=batch batch=64");
	r = log_find(&log, "result", "bench", "disk");
	test_assert_field(r, "stamp", "batch");
	test_check_result(&log, "randread-4k-qd1", 1000);
	assert_true(test_u64_of(r, "total") <= test_u64_of(r, "elapsed"));
	assert_true(test_u64_of(r, "total") >= test_u64_of(r, "elapsed") / 100 * 99);
	assert_true(test_u64_of(r, "half_ops") >= 448 && test_u64_of(r, "half_ops") <= 576);
	log_free(&log);
	/* completions slower than the stall check's BATCH_STALL_ROUNDS empty polls (1 ms each,
	 * QEMU's main-loop quantum): none may be timed on its own besides inside its batch */
	boot_disk(&log, 0, "virtio-blk,latency-ns=1000000", "ops=100 stamp=batch batch=10");
	r = log_find(&log, "result", "bench", "disk");
	test_check_result(&log, "randread-4k-qd1", 100);
	assert_true(test_u64_of(r, "total") <= test_u64_of(r, "elapsed"));
	assert_true(test_u64_of(r, "total") >= test_u64_of(r, "elapsed") / 100 * 99);
	log_free(&log);
	boot_disk(&log, 0, "virtio-blk", "ops=300");
	test_assert_field(log_find(&log, "result", "bench", "disk"), "stamp", "op");
	log_free(&log);
	boot_net(&log, KVMIO_EXIT_BADCONFIG, "virtio-net,topology=loop virtio-net,topology=loop",
		 "bench=net-rr ops=10 stamp=batch");
	test_assert_field(log_find(&log, "error", "code", "badconfig"), "key", "stamp");
	log_free(&log);
}

static void test_help(void **state)
{
	(void)state;
	struct log log;
	boot_and_parse(&log, 0, "bios", "pc", "help", NULL);
	static const char *const names[] = { "bench", "ops", "warmup", "seed", "timeout", "pci",
					     "dev", "bar", "fault" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!log_find(&log, "option", "name", names[i]))
			fail_msg("help lists no option %s", names[i]);
	log_free(&log);
}

static void test_parse_saved_log(void **state)
{
	(void)state;
	struct log log;
	boot_and_parse(&log, 0, "bios", "pc", "ops=100", NULL);
	log_free(&log);
	char out[300];
	snprintf(out, sizeof(out), "%s.out", test_log_path);
	assert_int_equal(test_kvmio(out, "parse", test_log_path, (char *)NULL), 0);
	assert_non_null(strstr(test_output(out), "pio-unhandled"));
	assert_int_equal(test_kvmio(out, "parse", "--csv", test_log_path, (char *)NULL), 0);
	const char *csv = test_output(out);
	int lines = 0;
	for (const char *p = csv; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 1 + 6); /* header + six results */
	assert_int_equal(test_kvmio(out, "parse", "--json", test_log_path, (char *)NULL), 0);
	assert_true(test_output(out)[0] == '{');
	unlink(out);
}

/* --pin: the vCPU thread on the first CPU given (CPU 0 where kvmio may run there), the others
 * with it when there is one CPU; the launch info says what went where. */
static void test_pin(void **state)
{
	char out[300], cpu[16], want[64];
	const char *text;
	cpu_set_t set;
	int first = 0;

	(void)state;
	snprintf(out, sizeof(out), "%s.out", test_log_path);
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	while (!CPU_ISSET(first, &set))
		first++;
	snprintf(cpu, sizeof(cpu), "%d", first);
	assert_int_equal(test_kvmio(out, "boot", "--pin", cpu, "--", "bench=exits", "ops=300",
				    (char *)NULL), 0);
	text = test_output(out);
	snprintf(want, sizeof(want), "pinned:       CPU 0/%s (vcpu) -> %d; ",
		 strstr(text, "accel=kvm") ? "KVM" : "TCG", first);
	if (!strstr(text, want))
		fail_msg("no '%s' in:\n%s", want, text);
	snprintf(want, sizeof(want), " (main)");
	assert_non_null(strstr(strstr(text, "pinned:"), want));
	snprintf(want, sizeof(want), " -> %d\n", first);
	assert_non_null(strstr(strstr(text, "(vcpu) -> "), want));
	/* the JSON launch object: every thread with its kind and CPUs */
	assert_int_equal(test_kvmio(out, "boot", "--pin", cpu, "--json", "--", "bench=exits",
				    "ops=300", (char *)NULL), 0);
	text = test_output(out);
	assert_non_null(strstr(text, "\"pin\":{\"applied\":true,"));
	snprintf(want, sizeof(want), "\"kind\":\"vcpu\",\"cpus\":\"%d\",\"error\":null}", first);
	assert_non_null(strstr(text, want));
	/* a CPU kvmio may not run on: one line, exit 2, QEMU never started */
	assert_int_equal(test_kvmio(out, "boot", "--pin", "1023", "--", "bench=exits",
				    (char *)NULL), KVMIO_EXIT_BADCONFIG);
	text = test_output(out);
	assert_non_null(strstr(text, "kvmio: boot: --pin: CPU 1023 is not one kvmio may run on "
			       "(allowed: "));
	assert_int_equal(strchr(text, '\n') - text + 1, (long)strlen(text));   /* one line */
	unlink(out);
}

static void test_host_usage_errors(void **state)
{
	(void)state;
	char out[300];
	snprintf(out, sizeof(out), "%s.out", test_log_path);
	assert_int_equal(test_kvmio(out, "boot", "--firmware", "bios", "--machine", "microvm",
				   (char *)NULL), KVMIO_EXIT_BADCONFIG);
	assert_int_equal(test_kvmio(out, "boot", "--frobnicate", (char *)NULL), KVMIO_EXIT_BADCONFIG);
	assert_int_equal(test_kvmio(out, "nosuchcommand", (char *)NULL), KVMIO_EXIT_BADCONFIG);
	assert_int_equal(test_kvmio(out, "parse", "/nonexistent/log", (char *)NULL), KVMIO_EXIT_IO);
	unlink(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST_IN_DIR(test_pc_multiboot),
		TEST_IN_DIR(test_q35_multiboot),
		TEST_IN_DIR(test_microvm_pvh),
		TEST_IN_DIR(test_pc_pvh),
		TEST_IN_DIR(test_q35_uefi),
		TEST_IN_DIR(test_tsc_matches_host),
		TEST_IN_DIR(test_pin),
		TEST_IN_DIR(test_unknown_option),
		TEST_IN_DIR(test_bad_values),
		TEST_IN_DIR(test_host_checks_options),
		TEST_IN_DIR(test_exit_test_subset),
		TEST_IN_DIR(test_uefi_unknown_option),
		TEST_IN_DIR(test_faults),
		TEST_IN_DIR(test_watchdog),
		TEST_IN_DIR(test_watchdog_microvm),
		TEST_IN_DIR(test_host_timeout),
		TEST_IN_DIR(test_uefi_bar_above_4g),
		TEST_IN_DIR(test_no_debug_exit),
		TEST_IN_DIR(test_virtio_blk_modes),
		TEST_IN_DIR(test_ide_modes),
		TEST_IN_DIR(test_disk_sweep),
		TEST_IN_DIR(test_disk_iothread),
		TEST_IN_DIR(test_disk_writes_null),
		TEST_IN_DIR(test_disk_read_only),
		TEST_IN_DIR(test_disk_bad_config),
		TEST_IN_DIR(test_disk_fault_injection),
		TEST_IN_DIR(test_disk_write_cache),
		TEST_IN_DIR(test_disk_verify),
		TEST_IN_DIR(test_disk_unlabelled_untouched),
		TEST_IN_DIR(test_net_loop_virtio),
		TEST_IN_DIR(test_net_loop_rtl8139),
		TEST_IN_DIR(test_net_loop_e1000),
		TEST_IN_DIR(test_net_loop_e1000e),
		TEST_IN_DIR(test_time_everywhere),
		TEST_IN_DIR(test_stamp_batch),
		TEST_IN_DIR(test_net_peer),
		TEST_IN_DIR(test_net_peer_damage),
		TEST_IN_DIR(test_net_tap),
		TEST_IN_DIR(test_net_bad_config),
		TEST_IN_DIR(test_help),
		TEST_IN_DIR(test_parse_saved_log),
		TEST_IN_DIR(test_host_usage_errors),
	};
	return cmocka_run_group_tests_name("boot", tests, NULL, NULL);
}
