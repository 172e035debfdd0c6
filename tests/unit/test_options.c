/*
 * The guest's option parser (common/options.c), compiled into the host: the same code the
 * guest runs, tested without a VM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "options.h"

static void test_defaults(void **state)
{
	struct options o;
	struct option_error e;

	(void)state;
	assert_int_equal(options_parse("", &o, &e), 0);
	assert_string_equal(o.bench, "exits");
	assert_int_equal(o.ops, 10000);
	assert_int_equal(o.timeout, 60);
	assert_int_equal(o.timeout_given, 0);
	assert_int_equal(o.pci, 1);
	assert_int_equal(o.bs, 4096);
	assert_int_equal(o.qd, 1);
	assert_int_equal(o.itr, -1);
	assert_int_equal(o.dev_kind, DEV_AUTO);
	assert_int_equal(o.rxdev_kind, RXDEV_SAME);
	assert_string_equal(o.sweep, "");
	assert_memory_equal(o.ip, ((uint8_t[]){ 10, 199, 0, 2 }), 4);
	assert_int_equal(o.tests, (1ull << exit_test_count) - 1); /* tests=all */
	/* every default in the table parses as a value of its own option */
	for (unsigned i = 0; i < option_nspecs; i++)
		assert_int_equal(options_check_one(option_specs[i].name, option_specs[i].def, &e), 0);
}

static void test_values(void **state)
{
	struct options o;
	struct option_error e;

	(void)state;
	assert_int_equal(options_parse("  bench=disk\tqd=32 bs=0x10000 dev=00:1f.2 ip=192.0.2.9 "
				       "itr=500 rxdev=1 sweep=qd:1,2,4 timeout=5 help", &o, &e), 0);
	assert_string_equal(o.bench, "disk");
	assert_int_equal(o.qd, 32);
	assert_int_equal(o.bs, 65536);
	assert_int_equal(o.dev_kind, DEV_BDF);
	assert_int_equal(o.dev_bus, 0);
	assert_int_equal(o.dev_dev, 0x1f);
	assert_int_equal(o.dev_fn, 2);
	assert_memory_equal(o.ip, ((uint8_t[]){ 192, 0, 2, 9 }), 4);
	assert_int_equal(o.itr, 500);
	assert_int_equal(o.rxdev_kind, RXDEV_INDEX);
	assert_int_equal(o.rxdev, 1);
	assert_string_equal(o.sweep, "qd:1,2,4");
	assert_int_equal(o.timeout_given, 1);
	assert_int_equal(o.help, 1);
	assert_int_equal(options_parse("dev=3 seed=18446744073709551615", &o, &e), 0);
	assert_int_equal(o.dev_kind, DEV_INDEX);
	assert_int_equal(o.dev_index, 3);
	assert_int_equal(o.seed, UINT64_MAX);
}

/* warmup= is a count or a time */
static void test_warmup(void **state)
{
	struct options o;
	struct option_error e;

	(void)state;
	assert_int_equal(options_parse("warmup=200ms", &o, &e), 0);
	assert_int_equal(o.warmup, 0);
	assert_int_equal(o.warmup_ms, 200);
	assert_int_equal(options_parse("warmup=2s", &o, &e), 0);
	assert_int_equal(o.warmup_ms, 2000);
	assert_int_equal(options_parse("warmup=0", &o, &e), 0);
	assert_int_equal(o.warmup, 0);
	assert_int_equal(o.warmup_ms, 0);
	assert_int_equal(options_parse("warmup=500", &o, &e), 0);
	assert_int_equal(o.warmup, 500);
	assert_int_equal(o.warmup_ms, 0);
}

static void expect_bad(const char *line, const char *key, const char *value, const char *why)
{
	struct options o;
	struct option_error e;

	if (options_parse(line, &o, &e) == 0)
		fail_msg("'%s' parsed", line);
	assert_string_equal(e.key, key);
	assert_string_equal(e.value, value);
	assert_string_equal(e.why, why);
}

static void test_errors(void **state)
{
	(void)state;
	expect_bad("qd=abc", "qd", "abc", "not a number");
	expect_bad("warmup=0ms", "warmup", "0ms", "out of range");
	expect_bad("warmup=3601s", "warmup", "3601s", "out of range");
	expect_bad("warmup=2h", "warmup", "2h", "not a count or a time (200ms, 2s)");
	expect_bad("warmup=ms", "warmup", "ms", "not a count or a time (200ms, 2s)");
	expect_bad("qd=0", "qd", "0", "out of range");
	expect_bad("seed=18446744073709551616", "seed", "18446744073709551616", "not a number");
	expect_bad("bogus=1", "bogus", "1", "unknown option");
	expect_bad("ops=1 ops=2", "ops", "2", "option given twice");
	expect_bad("ops=", "ops", "", "empty value");
	expect_bad("ops", "ops", "", "expected key=value");
	expect_bad("bench=nope", "bench", "nope", "not one of the allowed values");
	expect_bad("dev=zz:00.0", "dev", "zz:00.0", "not a device index or a PCI address BB:DD.F");
	expect_bad("dev=00:20.0", "dev", "00:20.0", "not a device index or a PCI address BB:DD.F");
	expect_bad("ip=1.2.3", "ip", "1.2.3", "not an IPv4 address A.B.C.D");
	expect_bad("ip=1.2.3.256", "ip", "1.2.3.256", "not an IPv4 address A.B.C.D");
	expect_bad("itr=70000", "itr", "70000", "not 0..65535 or default");
	expect_bad("rxdev=64", "rxdev", "64", "not a NIC index");
	expect_bad("sweep=qd:", "sweep", "qd:", "not qd:N,N,... or bs:N,N,... (1 to 16 values)");
	expect_bad("sweep=qd:1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", "sweep",
		   "qd:1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17",
		   "not qd:N,N,... or bs:N,N,... (1 to 16 values)");
	/* a key longer than the error's buffer is cut, not overrun */
	expect_bad("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1",
		   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "1",
		   "unknown option");
}

/* wait=: spin (the default) or halt, and halt only with an irq mode, whatever the order. */
static void test_wait(void **state)
{
	(void)state;
	struct options o;
	struct option_error e;
	static const char *const good[] = { "irq=msix wait=halt", "wait=halt irq=intx",
					    "wait=spin", "irq=poll wait=spin" };

	assert_int_equal(options_parse("", &o, &e), 0);
	assert_string_equal(o.wait, "spin");
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (options_parse(good[i], &o, &e) != 0)
			fail_msg("'%s': %s", good[i], e.why);
	assert_int_equal(options_parse("wait=halt irq=msix", &o, &e), 0);
	assert_string_equal(o.wait, "halt");
	expect_bad("wait=halt", "wait", "halt",
		   "wait=halt needs irq=intx or irq=msix (irq=poll never waits for an interrupt)");
	expect_bad("irq=poll wait=halt", "wait", "halt",
		   "wait=halt needs irq=intx or irq=msix (irq=poll never waits for an interrupt)");
	expect_bad("wait=nap irq=msix", "wait", "nap", "not one of the allowed values");
}

/* tests=: all, or exit test names, each once; bit k is test k of common/exit_tests.def. */
static void test_exit_tests(void **state)
{
	static const char *const names[] = {
#define KVMIO_EXIT_TEST(name, id, help) name,
#include "exit_tests.def"
#undef KVMIO_EXIT_TEST
	};
	struct options o;
	struct option_error e;
	const struct option_spec *tests = NULL;
	unsigned n = 0;

	(void)state;
	assert_int_equal(exit_test_count, 6);
	for (unsigned i = 0; i < option_nspecs; i++)
		if (!strcmp(option_specs[i].name, "tests"))
			tests = &option_specs[i];
	assert_non_null(tests);
	for (const char *const *c = tests->choices; *c; c++, n++) {
		assert_string_equal(*c, names[n]);
		assert_non_null(strstr(tests->help, *c)); /* help lists every test */
	}
	assert_int_equal(n, exit_test_count);

	assert_int_equal(options_parse("tests=cpuid", &o, &e), 0);
	assert_int_equal(o.tests, 1u << 1);
	/* the list's order does not matter: tests run in the table's order */
	assert_int_equal(options_parse("tests=pio-read,timestamp,pmtimer", &o, &e), 0);
	assert_int_equal(o.tests, (1u << 5) | (1u << 0) | (1u << 3));
	assert_int_equal(options_parse("tests=timestamp,cpuid,pio-unhandled,pmtimer,mmio-read,pio-read",
				       &o, &e), 0);
	assert_int_equal(o.tests, 0x3f);
	assert_int_equal(options_check_one("tests", "mmio-read,pio-read", &e), 0);

	static const char *const list = " (tests= is all, or a comma-separated list of: timestamp, "
		"cpuid, pio-unhandled, pmtimer, mmio-read, pio-read)";
	char want[OPTION_WHY_MAX];
	snprintf(want, sizeof(want), "no exit test named bogus%s", list);
	expect_bad("tests=bogus", "tests", "bogus", want);
	expect_bad("tests=cpuid,bogus", "tests", "cpuid,bogus", want); /* names the bad one */
	assert_int_equal(options_check_one("tests", "cpuid,bogus", &e), -1);
	assert_string_equal(e.why, want);
	snprintf(want, sizeof(want), "no exit test named all%s", list);
	expect_bad("tests=cpuid,all", "tests", "cpuid,all", want);
	snprintf(want, sizeof(want), "no exit test named CPUID%s", list);
	expect_bad("tests=CPUID", "tests", "CPUID", want);
	snprintf(want, sizeof(want), "exit test named twice: cpuid%s", list);
	expect_bad("tests=cpuid,pmtimer,cpuid", "tests", "cpuid,pmtimer,cpuid", want);
	snprintf(want, sizeof(want), "an empty name in the list%s", list);
	expect_bad("tests=cpuid,", "tests", "cpuid,", want);
	expect_bad("tests=,cpuid", "tests", ",cpuid", want);
	expect_bad("tests=cpuid,,pio-read", "tests", "cpuid,,pio-read", want);
	expect_bad("tests=", "tests", "", "empty value");
	/* a name longer than the reason's buffer is cut, not overrun */
	char line[600] = "tests=";
	memset(line + 6, 'x', 500);
	assert_int_equal(options_parse(line, &o, &e), -1);
	assert_int_equal(strlen(e.why), OPTION_WHY_MAX - 1);
	assert_non_null(strstr(e.why, "no exit test named xxx"));
}

/* bench= takes exactly the benchmarks of common/benches.def, and its help names each. */
static void test_bench_table(void **state)
{
	static const char *const names[] = {
#define KVMIO_BENCH(name, run, help) name,
#include "benches.def"
#undef KVMIO_BENCH
	};
	const struct option_spec *bench = NULL;
	unsigned n = 0;

	(void)state;
	for (unsigned i = 0; i < option_nspecs; i++)
		if (!strcmp(option_specs[i].name, "bench"))
			bench = &option_specs[i];
	assert_non_null(bench);
	for (const char *const *c = bench->choices; *c; c++, n++) {
		assert_string_equal(*c, names[n]);
		assert_non_null(strstr(bench->help, *c));
	}
	assert_int_equal(n, sizeof(names) / sizeof(names[0]));
	assert_non_null(strstr(bench->help, "net-rr"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_wait),
		cmocka_unit_test(test_warmup),
		cmocka_unit_test(test_bench_table),
		cmocka_unit_test(test_exit_tests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
