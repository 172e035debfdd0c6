/* Statistics over the repeats of a benchmark configuration (pure functions, no I/O). */
#ifndef KVMIO_HOST_ANALYSIS_STATS_H
#define KVMIO_HOST_ANALYSIS_STATS_H

#include <stddef.h>
#include <stdint.h>

/* NAN when undefined (n == 0; stddev, CV and the CI need n >= 2). */
/* Sort x ascending in place. */
void stats_sort(double *x, size_t n);
double stats_mean(const double *x, size_t n);
double stats_median(const double *x, size_t n);   /* mean of the middle two for even n */
double stats_min(const double *x, size_t n);
double stats_max(const double *x, size_t n);
double stats_stddev(const double *x, size_t n);   /* sample: divides by n-1 */
double stats_cv(const double *x, size_t n);       /* stddev/|mean|; NAN if mean is 0 */
/* How far apart the largest and the smallest of x are, percent of the smallest
 * ((max - min) / min * 100), over the values that are finite and over 0; NAN with fewer than two
 * such values. */
double stats_range_pct(const double *x, size_t n);

/* Two-sided 95 % quantile of Student's t with df degrees of freedom (t(0.975, df)): a table
 * for df 1..30, 40, 60, 120 (6 significant digits), linear interpolation in 1/df between the
 * entries and towards the normal 1.959964 beyond 120. NAN for df < 1. */
double stats_t975(double df);

struct stats_summary {
	size_t n;
	double median, min, max, mean, stddev, cv;
	double ci_lo, ci_hi;   /* 95 % CI of the mean: mean -+ t975(n-1) * stddev / sqrt(n) */
	int noisy;             /* cv > STATS_NOISY_CV */
};
#define STATS_NOISY_CV 0.05

void stats_summarize(const double *x, size_t n, struct stats_summary *s);

/* Standard normal CDF. */
double stats_normal_cdf(double z);

/* Mann-Whitney U test, two-sided. Returns the p-value (NAN when na or nb is 0); *u is U of the
 * first sample (number of pairs a > b, ties counting 1/2). For na <= 8 and nb <= 8: the exact
 * permutation distribution of U over the observed mid-ranks (ties included), p = P(|U-mu| >=
 * |U_obs-mu|). Larger: the normal approximation with the tie correction and a continuity
 * correction of 1/2. *exact (optional) says which. */
double stats_mann_whitney(const double *a, size_t na, const double *b, size_t nb, double *u,
			  int *exact);
#define STATS_MW_EXACT_MAX 8

/* The smallest two-sided p the U test can give for na and nb values (the p of two samples
 * that do not overlap): 2/C(na+nb, na) while the test is exact. A test at alpha cannot find
 * anything when this is not below alpha (n = 5 a side is the least for alpha 0.01). */
double stats_mann_whitney_min_p(size_t na, size_t nb);

/*
 * Percentile bootstrap of the ratio of medians, median(other) / median(base): `resamples`
 * times, draw na values of base and nb of other with replacement (splitmix64 seeded with
 * `seed`: the same seed gives the same interval), take the ratio of their medians; *lo and
 * *hi are the 2.5th and 97.5th percentiles of those ratios (linear between order statistics).
 * The interval stays inside [min(other)/max(base), max(other)/min(base)], so it is finite
 * whenever every base value is positive, however noisy the samples. Returns 0, or -1 with NAN
 * bounds: an empty side, resamples 0, no memory, or a resampled base median of 0.
 */
int stats_bootstrap_median_ratio(const double *base, size_t nb, const double *other, size_t no,
				 unsigned resamples, uint64_t seed, double *lo, double *hi);

/* Welch's t-test, two-sided p (Welch-Satterthwaite df, Student's t CDF by the regularized
 * incomplete beta function). NAN when either side has n < 2 or both variances are 0. */
double stats_welch_p(const double *a, size_t na, const double *b, size_t nb);

#endif
