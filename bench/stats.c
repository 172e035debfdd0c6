#include "stats.h"
#include "kernel/report.h"

uint64_t hist_bucket_lower(uint64_t v)
{
	if (v < 8)
		return v;
	int k = 63 - __builtin_clzll(v);           /* 2^k <= v < 2^(k+1), k >= 3 */
	uint64_t quarter = (v >> (k - 2)) & 3;     /* which quarter of the octave */
	return (4 + quarter) << (k - 2);
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

/* Heapsort: no recursion, no extra memory, O(n log n) worst case. */
static void sort_u64(uint64_t *a, uint64_t n)
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

/* Nearest-rank percentile, per_mille in 1..1000: the smallest sample with at least
 * per_mille/1000 of all samples at or below it. */
static uint64_t percentile(const uint64_t *sorted, uint64_t n, uint64_t per_mille)
{
	uint64_t rank = (per_mille * n + 999) / 1000;
	return sorted[rank ? rank - 1 : 0];
}

void result_record_begin(const char *bench, const char *name, uint64_t *samples, uint64_t n)
{
	uint64_t total = 0;

	sort_u64(samples, n);
	for (uint64_t i = 0; i < n; i++)
		total += samples[i];
	rec_begin("result");
	rec_str("bench", bench);
	rec_str("name", name);
	rec_u64("ops", n);
	rec_u64("total", total);
	rec_u64("min", n ? samples[0] : 0);
	rec_u64("p50", n ? percentile(samples, n, 500) : 0);
	rec_u64("p90", n ? percentile(samples, n, 900) : 0);
	rec_u64("p99", n ? percentile(samples, n, 990) : 0);
	rec_u64("p999", n ? percentile(samples, n, 999) : 0);
	rec_u64("max", n ? samples[n - 1] : 0);
	rec_ratio2("mean", total, n);
	rec_field("hist");
	uint64_t i = 0;
	int first = 1;
	while (i < n) {
		uint64_t lower = hist_bucket_lower(samples[i]), count = 0;
		while (i < n && hist_bucket_lower(samples[i]) == lower)
			i++, count++;
		if (!first)
			rec_put_char(',');
		first = 0;
		rec_put_u64(lower);
		rec_put_char(':');
		rec_put_u64(count);
	}
	if (first)
		rec_put_char('-');
}
