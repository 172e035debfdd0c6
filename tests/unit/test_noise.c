/*
 * The host noise probe (host/boot/noise.c): the gap accounting, the lost share, and a real probe
 * on the CPUs this process may use (its shape, not its figures: how much a CPU loses is the
 * machine's, never a test threshold).
 */
#include <math.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "boot/noise.h"

static void test_account(void **state)
{
	struct noise n = { .cpu = 0 };

	(void)state;
	noise_account(&n, 50);                  /* a clock read's own cost: not a gap */
	noise_account(&n, NOISE_GAP_NS);        /* the limit itself: not a gap */
	assert_int_equal(n.gaps, 0);
	noise_account(&n, NOISE_GAP_NS + 1);    /* 10-100 us */
	noise_account(&n, 100000);              /* still 10-100 us (limits are inclusive) */
	noise_account(&n, 500000);              /* 0.1-1 ms */
	noise_account(&n, 2000000);             /* 1-4 ms */
	noise_account(&n, 10000000);            /* 4-16 ms */
	noise_account(&n, 40000000);            /* longer */
	assert_int_equal(n.gaps, 6);
	assert_int_equal(n.hist[0], 2);
	assert_int_equal(n.hist[1], 1);
	assert_int_equal(n.hist[2], 1);
	assert_int_equal(n.hist[3], 1);
	assert_int_equal(n.hist[4], 1);
	assert_int_equal(n.max_gap_ns, 40000000);
	assert_int_equal(n.lost_ns, NOISE_GAP_NS + 1 + 100000 + 500000 + 2000000 + 10000000 +
					    40000000);
	/* the share of the span */
	assert_true(noise_lost_pct(&n) == 0);   /* no span yet */
	n.span_ns = 2 * n.lost_ns;
	assert_true(noise_lost_pct(&n) > 49.999 && noise_lost_pct(&n) < 50.001);
}

static void test_mean(void **state)
{
	struct noise p[2] = { { .span_ns = 1000, .lost_ns = 100 }, { .span_ns = 1000, .lost_ns = 300 } };

	(void)state;
	assert_true(noise_mean_lost_pct(p, 2) > 19.999 && noise_mean_lost_pct(p, 2) < 20.001);
	assert_true(noise_mean_lost_pct(p, 0) == 0);
}

/* The CPUs' speed: time per block of work with the gaps left out, its mean over probes that
 * have one, and how far apart the slowest and the fastest of a configuration's runs are. */
static void test_work(void **state)
{
	struct noise p[3] = {
		{ .span_ns = 1200000, .lost_ns = 200000, .blocks = 1000 },   /* 1000 ns a block */
		{ .span_ns = 1000000, .lost_ns = 0, .blocks = 800 },         /* 1250 */
		{ .span_ns = 1000000, .lost_ns = 0, .blocks = 0 },           /* none */
	};

	(void)state;
	assert_true(fabs(noise_work_ns(&p[0]) - 1000) < 1e-9);
	assert_true(fabs(noise_work_ns(&p[1]) - 1250) < 1e-9);
	assert_true(isnan(noise_work_ns(&p[2])));
	assert_true(fabs(noise_mean_work_ns(p, 3) - 1125) < 1e-9);
	assert_true(isnan(noise_mean_work_ns(&p[2], 1)));
	/* with windows, their median: one slow window of five is not the CPU's speed */
	p[0].nwindows = 5;
	memcpy(p[0].window_work_ns, (double[]){ 1000, 1300, 990, 1010, 1005 }, 5 * sizeof(double));
	assert_true(fabs(noise_work_ns(&p[0]) - 1005) < 1e-9);
	p[0].nwindows = 4;
	assert_true(fabs(noise_work_ns(&p[0]) - 1005) < 1e-9); /* (1000 + 1010) / 2 */
}

/* A real probe: one result per allowed CPU (or per CPU asked), each as long as asked, the lost
 * time within the span; a CPU this process may not use is refused with its number. */
static void test_probe(void **state)
{
	struct noise out[PIN_MAX_CPUS];
	struct pin_cpus one = { .cpu = { 0 }, .n = 1 }, bad = { .cpu = { PIN_CPU_LIMIT - 1 }, .n = 1 };
	cpu_set_t set;
	char err[256] = "";
	int n;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	n = noise_probe(NULL, 0.05, out, err, sizeof(err));
	assert_int_equal(n, CPU_COUNT(&set));
	for (int i = 0; i < n; i++) {
		assert_true(CPU_ISSET(out[i].cpu, &set));
		assert_true(out[i].span_ns >= 50000000ull);
		assert_true(out[i].lost_ns <= out[i].span_ns);
		assert_true(noise_lost_pct(&out[i]) >= 0 && noise_lost_pct(&out[i]) <= 100);
		assert_true(out[i].blocks > 0 && noise_work_ns(&out[i]) > 0);
		assert_true(out[i].nwindows >= 1 && out[i].nwindows <= NOISE_WORK_WINDOWS);
	}
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set)) {
			one.cpu[0] = c;
			break;
		}
	assert_int_equal(noise_probe(&one, 0.02, out, err, sizeof(err)), 1);
	assert_int_equal(out[0].cpu, one.cpu[0]);
	assert_int_equal(noise_probe(&bad, 0.02, out, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "CPU 1023"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_account),
		cmocka_unit_test(test_mean),
		cmocka_unit_test(test_work),
		cmocka_unit_test(test_probe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
