/* Statistics over the repeats of a configuration: summaries, Student's t CI, Mann-Whitney U,
 * the bootstrap of the ratio of medians, Welch's t. Pure functions; see stats.h and
 * docs/run.md. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/stats.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

void stats_sort(double *x, size_t n)
{
	qsort(x, n, sizeof(*x), cmp_double);
}

double stats_mean(const double *x, size_t n)
{
	double s = 0;

	if (n == 0)
		return NAN;
	for (size_t i = 0; i < n; i++)
		s += x[i];
	return s / (double)n;
}

double stats_median(const double *x, size_t n)
{
	double *c, m;

	if (n == 0)
		return NAN;
	c = malloc(n * sizeof(*c));
	if (!c)
		return NAN;
	memcpy(c, x, n * sizeof(*c));
	qsort(c, n, sizeof(*c), cmp_double);
	m = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
	free(c);
	return m;
}

double stats_min(const double *x, size_t n)
{
	double m = n ? x[0] : NAN;

	for (size_t i = 1; i < n; i++)
		if (x[i] < m)
			m = x[i];
	return m;
}

double stats_max(const double *x, size_t n)
{
	double m = n ? x[0] : NAN;

	for (size_t i = 1; i < n; i++)
		if (x[i] > m)
			m = x[i];
	return m;
}

double stats_stddev(const double *x, size_t n)
{
	double m, s = 0;

	if (n < 2)
		return NAN;
	m = stats_mean(x, n);
	for (size_t i = 0; i < n; i++)
		s += (x[i] - m) * (x[i] - m);
	return sqrt(s / (double)(n - 1));
}

double stats_cv(const double *x, size_t n)
{
	double m = stats_mean(x, n), sd = stats_stddev(x, n);

	if (isnan(sd) || m == 0)
		return NAN;
	return sd / fabs(m);
}

double stats_range_pct(const double *x, size_t n)
{
	double lo = NAN, hi = NAN;
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (!isfinite(x[i]) || x[i] <= 0)
			continue;
		lo = k == 0 || x[i] < lo ? x[i] : lo;
		hi = k == 0 || x[i] > hi ? x[i] : hi;
		k++;
	}
	return k >= 2 ? (hi - lo) / lo * 100.0 : NAN;
}

/* t(0.975, df), computed with mpmath (regularized incomplete beta) and matching the printed
 * tables: 12.706 (1), 2.776 (4), 2.262 (9), 2.045 (29). */
static const struct { double df, t; } t975_table[] = {
	{ 1, 12.706205 }, { 2, 4.302653 },  { 3, 3.182446 },  { 4, 2.776445 },  { 5, 2.570582 },
	{ 6, 2.446912 },  { 7, 2.364624 },  { 8, 2.306004 },  { 9, 2.262157 },  { 10, 2.228139 },
	{ 11, 2.200985 }, { 12, 2.178813 }, { 13, 2.160369 }, { 14, 2.144787 }, { 15, 2.131450 },
	{ 16, 2.119905 }, { 17, 2.109816 }, { 18, 2.100922 }, { 19, 2.093024 }, { 20, 2.085963 },
	{ 21, 2.079614 }, { 22, 2.073873 }, { 23, 2.068658 }, { 24, 2.063899 }, { 25, 2.059539 },
	{ 26, 2.055529 }, { 27, 2.051831 }, { 28, 2.048407 }, { 29, 2.045230 }, { 30, 2.042272 },
	{ 40, 2.021075 }, { 60, 2.000298 }, { 120, 1.979930 },
};
#define T975_NORMAL 1.959964

double stats_t975(double df)
{
	size_t n = sizeof(t975_table) / sizeof(t975_table[0]);
	double x0, x1, y0, y1, x;

	if (!(df >= 1))
		return NAN;
	for (size_t i = 0; i < n; i++) {
		if (df == t975_table[i].df)
			return t975_table[i].t;
		if (df < t975_table[i].df) {
			/* linear in 1/df between entries i-1 and i */
			x0 = 1 / t975_table[i - 1].df;
			y0 = t975_table[i - 1].t;
			x1 = 1 / t975_table[i].df;
			y1 = t975_table[i].t;
			x = 1 / df;
			return y0 + (y1 - y0) * (x - x0) / (x1 - x0);
		}
	}
	x0 = 1 / t975_table[n - 1].df;
	y0 = t975_table[n - 1].t;
	return T975_NORMAL + (y0 - T975_NORMAL) * (1 / df) / x0;
}

void stats_summarize(const double *x, size_t n, struct stats_summary *s)
{
	memset(s, 0, sizeof(*s));
	s->n = n;
	s->median = stats_median(x, n);
	s->min = stats_min(x, n);
	s->max = stats_max(x, n);
	s->mean = stats_mean(x, n);
	s->stddev = stats_stddev(x, n);
	s->cv = stats_cv(x, n);
	s->ci_lo = s->ci_hi = NAN;
	if (n >= 2) {
		double h = stats_t975((double)(n - 1)) * s->stddev / sqrt((double)n);

		s->ci_lo = s->mean - h;
		s->ci_hi = s->mean + h;
	}
	s->noisy = !isnan(s->cv) && s->cv > STATS_NOISY_CV;
}

double stats_normal_cdf(double z)
{
	return 0.5 * erfc(-z / sqrt(2.0));
}

/* ---- Mann-Whitney U ---------------------------------------------------------------------- */

struct ranked {
	double v;
	int first;   /* from sample a */
};

static int cmp_ranked(const void *a, const void *b)
{
	return cmp_double(&((const struct ranked *)a)->v, &((const struct ranked *)b)->v);
}

double stats_mann_whitney(const double *a, size_t na, const double *b, size_t nb, double *u,
			  int *exact)
{
	size_t n = na + nb, i, j;
	struct ranked *r;
	long *rank2;                 /* doubled mid-ranks: integers */
	long r2a = 0;                /* doubled rank sum of a */
	double ties = 0, p;

	if (u)
		*u = NAN;
	if (exact)
		*exact = 0;
	if (na == 0 || nb == 0)
		return NAN;
	r = malloc(n * sizeof(*r));
	rank2 = malloc(n * sizeof(*rank2));
	if (!r || !rank2) {
		free(r);
		free(rank2);
		return NAN;
	}
	for (i = 0; i < na; i++)
		r[i] = (struct ranked){ a[i], 1 };
	for (i = 0; i < nb; i++)
		r[na + i] = (struct ranked){ b[i], 0 };
	qsort(r, n, sizeof(*r), cmp_ranked);
	for (i = 0; i < n; i = j) {
		double t;

		for (j = i + 1; j < n && r[j].v == r[i].v; j++)
			;
		/* positions i..j-1 (1-based i+1..j): mid-rank (i+1+j)/2, doubled i+1+j */
		for (size_t k = i; k < j; k++) {
			rank2[k] = (long)(i + 1 + j);
			if (r[k].first)
				r2a += rank2[k];
		}
		t = (double)(j - i);
		ties += t * t * t - t;
	}
	{
		double u1 = (double)r2a / 2 - (double)na * (double)(na + 1) / 2;

		if (u)
			*u = u1;
		if (na <= STATS_MW_EXACT_MAX && nb <= STATS_MW_EXACT_MAX) {
			/* cnt[k][s]: subsets of k of the ranks seen so far with doubled sum s */
			long maxs = (long)(n * (n + 1));
			long mean2 = (long)na * (long)(n + 1);   /* doubled expected rank sum */
			long dev = labs(r2a - mean2);
			double *cnt = calloc((na + 1) * (size_t)(maxs + 1), sizeof(double));
			double hit = 0, total = 0;

			if (!cnt) {
				free(r);
				free(rank2);
				return NAN;
			}
#define CNT(k, s) cnt[(size_t)(k) * (size_t)(maxs + 1) + (size_t)(s)]
			CNT(0, 0) = 1;
			for (i = 0; i < n; i++)
				for (size_t k = (i + 1 < na ? i + 1 : na); k >= 1; k--)
					for (long s = maxs; s >= rank2[i]; s--)
						CNT(k, s) += CNT(k - 1, s - rank2[i]);
			for (long s = 0; s <= maxs; s++) {
				total += CNT(na, s);
				if (labs(s - mean2) >= dev)
					hit += CNT(na, s);
			}
#undef CNT
			free(cnt);
			p = hit / total;
			if (exact)
				*exact = 1;
		} else {
			double mu = (double)na * (double)nb / 2;
			double var = (double)na * (double)nb / 12 *
				     ((double)(n + 1) - ties / ((double)n * (double)(n - 1)));
			double z;

			if (var <= 0) {
				p = 1;
			} else {
				z = (fabs(u1 - mu) - 0.5) / sqrt(var);
				if (z < 0)
					z = 0;
				p = erfc(z / sqrt(2.0));
			}
		}
	}
	free(r);
	free(rank2);
	return p > 1 ? 1 : p;
}

double stats_mann_whitney_min_p(size_t na, size_t nb)
{
	double *v = malloc((na + nb + 1) * sizeof(*v)), p;

	if (!v)
		return NAN;
	for (size_t i = 0; i < na + nb; i++)
		v[i] = (double)i;
	p = stats_mann_whitney(v, na, v + na, nb, NULL, NULL);
	free(v);
	return p;
}

/* ---- bootstrap of the ratio of medians --------------------------------------------------- */

/* splitmix64 (Steele, Lea, Flood 2014): a small generator with a 64-bit state. */
static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The median of n values drawn from x with replacement (buf holds n). */
static double resampled_median(const double *x, size_t n, double *buf, uint64_t *state)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = x[(size_t)(((unsigned __int128)splitmix64(state) * n) >> 64)];
	qsort(buf, n, sizeof(*buf), cmp_double);
	return n % 2 ? buf[n / 2] : (buf[n / 2 - 1] + buf[n / 2]) / 2;
}

/* The q-quantile of n sorted values, linear between order statistics (R's type 7). */
static double sorted_quantile(const double *s, size_t n, double q)
{
	double h = q * (double)(n - 1);
	size_t i = (size_t)h;

	return i + 1 < n ? s[i] + (h - (double)i) * (s[i + 1] - s[i]) : s[n - 1];
}

int stats_bootstrap_median_ratio(const double *base, size_t nb, const double *other, size_t no,
				 unsigned resamples, uint64_t seed, double *lo, double *hi)
{
	double *ratio, *buf;
	uint64_t state = seed;
	int rc = 0;

	*lo = *hi = NAN;
	if (nb == 0 || no == 0 || resamples == 0)
		return -1;
	ratio = malloc(resamples * sizeof(*ratio));
	buf = malloc((nb > no ? nb : no) * sizeof(*buf));
	if (!ratio || !buf) {
		free(ratio);
		free(buf);
		return -1;
	}
	for (unsigned k = 0; k < resamples && rc == 0; k++) {
		double mb = resampled_median(base, nb, buf, &state);
		double mo = resampled_median(other, no, buf, &state);

		if (mb == 0)
			rc = -1;
		ratio[k] = mo / mb;
	}
	if (rc == 0) {
		qsort(ratio, resamples, sizeof(*ratio), cmp_double);
		*lo = sorted_quantile(ratio, resamples, 0.025);
		*hi = sorted_quantile(ratio, resamples, 0.975);
	}
	free(ratio);
	free(buf);
	return rc;
}

/* ---- Welch's t --------------------------------------------------------------------------- */

/* Continued fraction of the incomplete beta function (Lentz), as in Numerical Recipes. */
static double betacf(double a, double b, double x)
{
	const double tiny = 1e-300, eps = 1e-14;
	double qab = a + b, qap = a + 1, qam = a - 1, c = 1, d = 1 - qab * x / qap, h;

	if (fabs(d) < tiny)
		d = tiny;
	d = 1 / d;
	h = d;
	for (int m = 1; m <= 300; m++) {
		int m2 = 2 * m;
		double aa = m * (b - m) * x / ((qam + m2) * (a + m2)), del;

		d = 1 + aa * d;
		if (fabs(d) < tiny)
			d = tiny;
		c = 1 + aa / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		h *= d * c;
		aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
		d = 1 + aa * d;
		if (fabs(d) < tiny)
			d = tiny;
		c = 1 + aa / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1) < eps)
			break;
	}
	return h;
}

/* Regularized incomplete beta I_x(a, b). */
static double betai(double a, double b, double x)
{
	double bt;

	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	bt = exp(lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log(1 - x));
	if (x < (a + 1) / (a + b + 2))
		return bt * betacf(a, b, x) / a;
	return 1 - bt * betacf(b, a, 1 - x) / b;
}

double stats_welch_p(const double *a, size_t na, const double *b, size_t nb)
{
	double va, vb, se2, t, df;

	if (na < 2 || nb < 2)
		return NAN;
	va = stats_stddev(a, na);
	vb = stats_stddev(b, nb);
	va = va * va / (double)na;
	vb = vb * vb / (double)nb;
	se2 = va + vb;
	if (se2 <= 0)
		return NAN;
	t = (stats_mean(a, na) - stats_mean(b, nb)) / sqrt(se2);
	df = se2 * se2 / (va * va / (double)(na - 1) + vb * vb / (double)(nb - 1));
	return betai(df / 2, 0.5, df / (df + t * t));
}
