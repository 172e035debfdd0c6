/* The `result` record of a series of samples; the arithmetic is bench/sample_stats.c. */
#include "stats.h"
#include "kernel/report.h"

void bench_stopped_field(int timed, int hit_cap)
{
	rec_str("stopped", !timed ? "ops" : hit_cap ? "cap" : "time");
}

void bench_stamp_fields(uint64_t batch)
{
	rec_str("stamp", batch ? "batch" : "op");
	if (batch)
		rec_u64("batch", batch);
}

void bench_batch_samples(uint64_t *samples, uint64_t n, uint64_t cycles)
{
	uint64_t mean = n ? cycles / n : 0;

	for (uint64_t i = 0; i < n; i++)
		samples[i] = mean;
}

void result_record_begin(const char *bench, const char *name, uint64_t *samples, uint64_t n)
{
	struct sample_summary s;

	samples_summarize(samples, n, &s);
	rec_begin("result");
	rec_str("bench", bench);
	rec_str("name", name);
	rec_u64("ops", n);
	rec_u64("total", s.total);
	rec_u64("min", s.min);
	rec_u64("p50", s.p50);
	rec_u64("p90", s.p90);
	rec_u64("p99", s.p99);
	rec_u64("p999", s.p999);
	rec_u64("max", s.max);
	rec_ratio2("mean", s.total, n);
	rec_field("hist");
	if (!n)
		rec_put_char('-');
	uint64_t count;
	for (uint64_t i = 0; i < n; i += count) {
		uint64_t lower = hist_bucket_at(samples, n, i, &count);
		if (i)
			rec_put_char(',');
		rec_put_u64(lower);
		rec_put_char(':');
		rec_put_u64(count);
	}
}
