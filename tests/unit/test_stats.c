/*
 * host/stats.c against values computed independently: Python's statistics module (mean,
 * stdev, median), mpmath (t quantiles, Welch's p by the incomplete beta), brute-force
 * enumeration of all rank assignments (exact Mann-Whitney p), the printed t table and the
 * textbook exact Mann-Whitney tail probabilities for n1 = n2 = 5; the bootstrap of the ratio of
 * medians by its properties (covers a known ratio, stays finite, reproducible by seed).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include "analysis/stats.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define assert_near(x, y, eps) assert_true(fabs((x) - (y)) <= (eps))

static void test_basic(void **state)
{
	/* statistics.mean/stdev/median: 5.0, 2.138089935299395, 4.5 */
	static const double x[] = { 2, 4, 4, 4, 5, 5, 7, 9 };
	static const double odd[] = { 3, 1, 2 };

	(void)state;
	assert_near(stats_mean(x, N(x)), 5.0, 1e-12);
	assert_near(stats_stddev(x, N(x)), 2.138089935299395, 1e-12);
	assert_near(stats_median(x, N(x)), 4.5, 1e-12);
	assert_near(stats_median(odd, N(odd)), 2, 1e-12);
	assert_near(stats_min(x, N(x)), 2, 0);
	assert_near(stats_max(x, N(x)), 9, 0);
	assert_near(stats_cv(x, N(x)), 2.138089935299395 / 5, 1e-12);
	assert_true(isnan(stats_mean(x, 0)));
	assert_true(isnan(stats_median(x, 0)));
	assert_true(isnan(stats_stddev(x, 1)));
	assert_true(isnan(stats_cv(x, 1)));
}

/* The range in percent of the smallest, over the finite positive values only (a probe that did
 * not run is NAN; a zero would make the range infinite) */
static void test_range_pct(void **state)
{
	double w[] = { 1000, NAN, 1100, 1050 }, one[] = { 1000, NAN }, z[] = { 0, 1000, 1020 };

	(void)state;
	assert_near(stats_range_pct(w, N(w)), 10, 1e-9);
	assert_true(isnan(stats_range_pct(one, N(one))));      /* one value: no range */
	assert_true(isnan(stats_range_pct(w, 0)));
	assert_near(stats_range_pct(z, N(z)), 2, 1e-9);
}

static void test_t975(void **state)
{
	(void)state;
	/* the printed table */
	assert_near(stats_t975(1), 12.706, 5e-4);
	assert_near(stats_t975(4), 2.776, 5e-4);
	assert_near(stats_t975(9), 2.262, 5e-4);
	assert_near(stats_t975(29), 2.045, 5e-4);
	/* mpmath (betainc root): df 50 2.0085591, 100 1.9839715, 1000 1.9623391 */
	assert_near(stats_t975(50), 2.0085591, 1e-3);
	assert_near(stats_t975(100), 1.9839715, 1e-3);
	assert_near(stats_t975(1000), 1.9623391, 1e-3);
	assert_near(stats_t975(1e9), 1.959964, 1e-5);
	assert_true(isnan(stats_t975(0)));
}

static void test_summary(void **state)
{
	/* mean 10.5, stdev 0.5700877125495687, CI 10.5 -+ 2.776445 * sd / sqrt(5) */
	static const double y[] = { 10.5, 9.8, 11.2, 10.1, 10.9 };
	static const double quiet[] = { 100, 101, 99, 100, 100 };
	struct stats_summary s;

	(void)state;
	stats_summarize(y, N(y), &s);
	assert_int_equal(s.n, 5);
	assert_near(s.median, 10.5, 1e-12);
	assert_near(s.min, 9.8, 1e-12);
	assert_near(s.max, 11.2, 1e-12);
	assert_near(s.ci_lo, 9.792142638329144, 1e-5);
	assert_near(s.ci_hi, 11.207857361670856, 1e-5);
	assert_near(s.cv, 0.054294067861863686, 1e-9);
	assert_true(s.noisy);   /* 5.4 % > 5 % */
	stats_summarize(quiet, N(quiet), &s);
	assert_false(s.noisy);
	stats_summarize(quiet, 1, &s);   /* n = 1: no spread, no CI */
	assert_int_equal(s.n, 1);
	assert_near(s.median, 100, 0);
	assert_true(isnan(s.ci_lo) && isnan(s.cv));
	assert_false(s.noisy);
}

static void mw(const double *a, size_t na, const double *b, size_t nb, double want_u,
	       double want_p, int want_exact)
{
	double u;
	int exact;
	double p = stats_mann_whitney(a, na, b, nb, &u, &exact);

	assert_near(u, want_u, 1e-9);
	assert_near(p, want_p, 1e-9);
	assert_int_equal(exact, want_exact);
}

static void test_mann_whitney_exact(void **state)
{
	/* n1 = n2 = 5, no ties: P(U <= u) = 1, 2, 4, 7 of C(10,5) = 252 for u = 0..3, so the
	 * two-sided p is 2/252, 4/252, 8/252 (< 0.05: the table's critical U is 2), 14/252. */
	static const double a0[] = { 1, 2, 3, 4, 5 }, b0[] = { 6, 7, 8, 9, 10 };
	static const double a1[] = { 1, 2, 3, 6, 4 }, b1[] = { 5, 7, 8, 9, 10 };
	static const double a2[] = { 1, 2, 3, 4, 7 }, b2[] = { 5, 6, 8, 9, 10 };
	static const double a3[] = { 1, 2, 3, 4, 8 }, b3[] = { 5, 6, 7, 9, 10 };
	/* ties, unequal sizes: brute force over all 462 assignments of the mid-ranks */
	static const double at[] = { 1.1, 2.2, 2.2, 3, 7 }, bt[] = { 2.2, 5, 6, 6, 8, 9 };
	static const double same[] = { 3, 3, 3 };
	static const double a33[] = { 1, 2, 3 }, b33[] = { 4, 5, 6 };

	(void)state;
	mw(a0, 5, b0, 5, 0, 2.0 / 252, 1);
	mw(b0, 5, a0, 5, 25, 2.0 / 252, 1);
	mw(a1, 5, b1, 5, 1, 4.0 / 252, 1);
	mw(a2, 5, b2, 5, 2, 8.0 / 252, 1);
	mw(a3, 5, b3, 5, 3, 14.0 / 252, 1);
	mw(at, 5, bt, 6, 6, 0.11255411255411256, 1);
	mw(same, 3, same, 3, 4.5, 1.0, 1);
	mw(a33, 3, b33, 3, 0, 0.1, 1);   /* 2 of C(6,3) = 20: never significant at n = 3 */
	assert_true(isnan(stats_mann_whitney(a0, 0, b0, 5, NULL, NULL)));
}

static void test_mann_whitney_normal(void **state)
{
	/* R's ?wilcox.test example data (W = 35); z = (|35 - 25| - 0.5) / sqrt(10*5*16/12) */
	static const double x[] = { 0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46 };
	static const double y[] = { 1.15, 0.88, 0.90, 0.74, 1.21 };
	/* many ties, both sides > 8: tie-corrected variance */
	static const double a[] = { 1, 2, 2, 3, 3, 3, 4, 5, 6 };
	static const double b[] = { 3, 4, 4, 5, 6, 7, 7, 8, 9, 9 };

	(void)state;
	mw(x, N(x), y, N(y), 35, 0.24462360512698333, 0);
	mw(a, N(a), b, N(b), 11.5, 0.006584138620030942, 0);
}

static void test_mann_whitney_min_p(void **state)
{
	(void)state;
	assert_near(stats_mann_whitney_min_p(5, 5), 2.0 / 252, 1e-12);   /* < 0.01 */
	assert_near(stats_mann_whitney_min_p(4, 6), 2.0 / 210, 1e-12);   /* < 0.01 */
	assert_near(stats_mann_whitney_min_p(4, 5), 2.0 / 126, 1e-12);   /* > 0.01 */
	assert_near(stats_mann_whitney_min_p(3, 3), 0.1, 1e-12);
	assert_true(stats_mann_whitney_min_p(20, 20) < 1e-6);           /* normal approximation */
}

#define SEED 0x6b766d696full
#define RESAMPLES 2000

static void test_bootstrap_shifted(void **state)
{
	/* other is base scaled by 0.95: the true ratio of medians is 0.95 */
	static const double base[] = { 100, 101, 99, 102, 98, 100.5, 99.5, 101.5 };
	double other[N(base)], lo, hi;

	(void)state;
	for (size_t i = 0; i < N(base); i++)
		other[i] = base[i] * 0.95;
	assert_int_equal(stats_bootstrap_median_ratio(base, N(base), other, N(other), RESAMPLES,
						      SEED, &lo, &hi), 0);
	assert_true(lo <= 0.95 && 0.95 <= hi);
	assert_true(lo > 0.92 && hi < 0.98);   /* and it says something: +-3 % at most */
	assert_true(lo < hi);
}

static void test_bootstrap_identical(void **state)
{
	static const double x[] = { 100, 101, 99, 102, 98, 100.5, 99.5, 101.5 };
	double lo, hi;

	(void)state;
	assert_int_equal(stats_bootstrap_median_ratio(x, N(x), x, N(x), RESAMPLES, SEED, &lo, &hi),
			 0);
	assert_true(lo <= 1 && 1 <= hi);
	assert_true(lo > 0.98 && hi < 1.02);
}

static void test_bootstrap_noisy(void **state)
{
	/* spread over two orders of magnitude: the mean's t CI of base reaches below 0, so the
	 * old ratio of the two CIs was [.., inf]; the bootstrap stays within the extreme ratios */
	static const double base[] = { 100, 5, 300, 1, 150 }, other[] = { 80, 400, 2, 90, 60 };
	struct stats_summary s;
	double lo, hi;

	(void)state;
	stats_summarize(base, N(base), &s);
	assert_true(s.ci_lo < 0);
	assert_int_equal(stats_bootstrap_median_ratio(base, N(base), other, N(other), RESAMPLES,
						      SEED, &lo, &hi), 0);
	assert_true(isfinite(lo) && isfinite(hi) && lo <= hi);
	assert_true(lo >= 2.0 / 300 && hi <= 400.0 / 1);
}

static void test_bootstrap_reproducible(void **state)
{
	static const double a[] = { 10, 12, 9, 11, 10.5, 13 }, b[] = { 11, 9.5, 12.5, 10, 14 };
	double lo1, hi1, lo2, hi2, lo3, hi3;

	(void)state;
	assert_int_equal(stats_bootstrap_median_ratio(a, N(a), b, N(b), RESAMPLES, SEED, &lo1,
						      &hi1), 0);
	assert_int_equal(stats_bootstrap_median_ratio(a, N(a), b, N(b), RESAMPLES, SEED, &lo2,
						      &hi2), 0);
	assert_true(lo1 == lo2 && hi1 == hi2);   /* the same seed: the same interval, bit for bit */
	assert_int_equal(stats_bootstrap_median_ratio(a, N(a), b, N(b), RESAMPLES, SEED + 1, &lo3,
						      &hi3), 0);
	assert_true(lo3 != lo1 || hi3 != hi1);   /* the seed is used */
	/* nothing to resample, or a base median of 0 (irq_op of polling): no interval */
	assert_int_equal(stats_bootstrap_median_ratio(a, 0, b, N(b), RESAMPLES, SEED, &lo1, &hi1),
			 -1);
	assert_true(isnan(lo1) && isnan(hi1));
	{
		static const double zero[] = { 0, 0, 0 };

		assert_int_equal(stats_bootstrap_median_ratio(zero, N(zero), b, N(b), RESAMPLES,
							      SEED, &lo1, &hi1), -1);
		assert_true(isnan(lo1) && isnan(hi1));
	}
}

static void test_welch(void **state)
{
	static const double x[] = { 0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46 };
	static const double y[] = { 1.15, 0.88, 0.90, 0.74, 1.21 };

	(void)state;
	/* t = 2.0413830922100695, df = 12.970538443257546: mpmath betainc p */
	assert_near(stats_welch_p(x, N(x), y, N(y)), 0.0621013437810784, 1e-9);
	assert_true(isnan(stats_welch_p(x, 1, y, N(y))));
}

static void test_normal_cdf(void **state)
{
	(void)state;
	assert_near(stats_normal_cdf(0), 0.5, 1e-15);
	assert_near(stats_normal_cdf(1.959964), 0.975, 1e-6);
	assert_near(stats_normal_cdf(-1), 0.15865525393145707, 1e-12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_range_pct),
		cmocka_unit_test(test_t975),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_mann_whitney_exact),
		cmocka_unit_test(test_mann_whitney_normal),
		cmocka_unit_test(test_mann_whitney_min_p),
		cmocka_unit_test(test_bootstrap_shifted),
		cmocka_unit_test(test_bootstrap_identical),
		cmocka_unit_test(test_bootstrap_noisy),
		cmocka_unit_test(test_bootstrap_reproducible),
		cmocka_unit_test(test_welch),
		cmocka_unit_test(test_normal_cdf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
