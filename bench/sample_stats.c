/* Percentiles and the histogram of cycle samples (sample_stats.h): guest and host unit tests. */
#include "sample_stats.h"

#define PER_MILLE 1000u

uint64_t hist_bucket_lower(uint64_t v)
{
	if (v < 8)
		return v;
	int k = 63 - __builtin_clzll(v);           /* 2^k <= v < 2^(k+1), k >= 3 */
	uint64_t quarter = (v >> (k - 2)) & 3;     /* which quarter of the octave */
	return (4 + quarter) << (k - 2);
}

uint64_t hist_bucket_at(const uint64_t *sorted, uint64_t n, uint64_t i, uint64_t *count)
{
	uint64_t lower = hist_bucket_lower(sorted[i]), end = i;
	while (end < n && hist_bucket_lower(sorted[end]) == lower)
		end++;
	*count = end - i;
	return lower;
}

static void sift_down(uint64_t *a, uint64_t start, uint64_t n)
{
	uint64_t root = start;
	while (2 * root + 1 < n) {
		uint64_t child = 2 * root + 1;
		if (child + 1 < n && a[child] < a[child + 1])
			child++;
		if (a[root] >= a[child])
			return;
		uint64_t t = a[root];
		a[root] = a[child];
		a[child] = t;
		root = child;
	}
}

void samples_sort(uint64_t *a, uint64_t n)
{
	if (n < 2)
		return;
	for (uint64_t i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	for (uint64_t end = n - 1; end > 0; end--) {
		uint64_t t = a[0];
		a[0] = a[end];
		a[end] = t;
		sift_down(a, 0, end);
	}
}

uint64_t samples_percentile(const uint64_t *sorted, uint64_t n, uint64_t per_mille)
{
	uint64_t rank = (per_mille * n + PER_MILLE - 1) / PER_MILLE;
	return sorted[rank ? rank - 1 : 0];
}

void samples_summarize(uint64_t *samples, uint64_t n, struct sample_summary *s)
{
	*s = (struct sample_summary){ .n = n };
	samples_sort(samples, n);
	for (uint64_t i = 0; i < n; i++)
		s->total += samples[i];
	if (!n)
		return;
	s->min = samples[0];
	s->p50 = samples_percentile(samples, n, 500);
	s->p90 = samples_percentile(samples, n, 900);
	s->p99 = samples_percentile(samples, n, 990);
	s->p999 = samples_percentile(samples, n, 999);
	s->max = samples[n - 1];
}
