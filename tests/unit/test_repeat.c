/*
 * kvmio run --until-cv (host/matrix/repeat.c): the decision to run a configuration again, and
 * the primary value of a run's log. Run from the repository root.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>
#include "matrix/repeat.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define assert_near(x, y, eps) assert_true(fabs((x) - (y)) <= (eps))

static void test_decide(void **state)
{
	/* CV of { 100, 102, 98 } = 2 / 100 (statistics.stdev / mean) */
	static const double x[] = { 100, 102, 98 };
	struct repeat_goal g = { .cv_pct = 5, .max_repeat = 10 };
	double cv;

	(void)state;
	assert_int_equal(repeat_decide(x, N(x), 3, &g, &cv), REPEAT_STABLE);   /* 2 % <= 5 % */
	assert_near(cv, 0.02, 1e-12);
	g.cv_pct = 2;
	assert_int_equal(repeat_decide(x, N(x), 3, &g, &cv), REPEAT_STABLE);   /* at most: equal */
	g.cv_pct = 1;
	assert_int_equal(repeat_decide(x, N(x), 3, &g, &cv), REPEAT_MORE);     /* 2 % > 1 % */
	assert_int_equal(repeat_decide(x, N(x), 9, &g, &cv), REPEAT_MORE);
	assert_int_equal(repeat_decide(x, N(x), 10, &g, &cv), REPEAT_MAX);     /* max reached */
	assert_int_equal(repeat_decide(x, N(x), 12, &g, &cv), REPEAT_MAX);
	/* below the target at the maximum: reached, not "max" */
	g.cv_pct = 3;
	assert_int_equal(repeat_decide(x, N(x), 10, &g, &cv), REPEAT_STABLE);
	/* fewer than 2 values (the others failed) has no CV: more runs, up to the maximum */
	assert_int_equal(repeat_decide(x, 1, 3, &g, &cv), REPEAT_MORE);
	assert_true(isnan(cv));
	assert_int_equal(repeat_decide(x, 0, 10, &g, &cv), REPEAT_MAX);
	assert_string_equal(repeat_verdict_text(REPEAT_STABLE), "reached");
	assert_string_equal(repeat_verdict_text(REPEAT_MAX), "not reached");
}

static double primary(const char *path, int want_rc)
{
	struct log log;
	double v = NAN;

	log_parse_file(&log, path);
	assert_int_equal(repeat_primary_value(&log, &v), want_rc);
	log_free(&log);
	return v;
}

static void test_primary_value(void **state)
{
	(void)state;
	/* disk: IOPS of the first result, 1000 ops * 2e9 Hz / 2e8 elapsed cycles */
	assert_near(primary("tests/data/disk.log", 0), 10000, 1e-6);
	/* exits: p50 cycles of the first result */
	assert_near(primary("tests/data/good.log", 0), 250, 0);
	/* a disk log without tsc_hz has no IOPS; a log without results no value */
	primary("tests/data/disk-notsc.log", -1);
	primary("tests/data/help.log", -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_primary_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
