/*
 * Per-operation cycle samples, summarized as a `result` record gives them (docs/protocol.md):
 * nearest-rank percentiles and the quarter-octave histogram. Pure arithmetic on an array, no
 * records: the guest's bench/stats.c writes them, and tests/unit/test_guest_stats.c compiles
 * bench/sample_stats.c on the host.
 */
#ifndef KVMIO_BENCH_SAMPLE_STATS_H
#define KVMIO_BENCH_SAMPLE_STATS_H
#include <stdint.h>

struct sample_summary {
	uint64_t n, total;
	uint64_t min, p50, p90, p99, p999, max; /* all 0 when n is 0 */
};

/* Sort ascending in place (heapsort: no recursion, no extra memory). */
void samples_sort(uint64_t *a, uint64_t n);
/* Nearest-rank percentile of sorted[0..n), n > 0, per_mille in 1..1000: the smallest sample
 * with at least per_mille/1000 of all samples at or below it. */
uint64_t samples_percentile(const uint64_t *sorted, uint64_t n, uint64_t per_mille);
/* Sort samples in place and summarize them. */
void samples_summarize(uint64_t *samples, uint64_t n, struct sample_summary *s);

/* Lower bound of the quarter-octave histogram bucket that holds v: v itself below 8, else
 * 2^k, 1.25·2^k, 1.5·2^k or 1.75·2^k for 2^k <= v < 2^(k+1). */
uint64_t hist_bucket_lower(uint64_t v);
/* The histogram bucket of sorted[i] (i < n): its lower bound, and in *count the samples from
 * i on that fall in it. Walk a sorted array with: for (i = 0; i < n; i += count). */
uint64_t hist_bucket_at(const uint64_t *sorted, uint64_t n, uint64_t i, uint64_t *count);

#endif
