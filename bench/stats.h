/* Per-operation cycle samples -> one `result` record (percentiles, mean, log histogram). */
#ifndef KVMIO_BENCH_STATS_H
#define KVMIO_BENCH_STATS_H
#include <stdint.h>
#include "sample_stats.h"

/*
 * Sorts samples in place and writes rec_begin("result") with bench, name, ops, total,
 * min/p50/p90/p99/p999/max, mean and hist. The record is left open: the caller adds its own
 * fields and calls rec_end().
 */
void result_record_begin(const char *bench, const char *name, uint64_t *samples, uint64_t n);

/* time=S: a series runs until S seconds have passed, keeping at most this many samples (8 MB):
 * reaching it first ends the series early, and the record says so (bench_stopped_field). */
#define BENCH_TIME_MAX_OPS 1000000ull

/* The open result record's `stopped` field: what ended the series. "ops" (ops= counted),
 * "time" (time= passed) or "cap" (time= given, but the sample cap came first). */
void bench_stopped_field(int timed, int hit_cap);

/* The open result record's `stamp` field (op or batch) and, for batch (batch != 0), `batch`:
 * how the series was timed. */
void bench_stamp_fields(uint64_t batch);

/* stamp=batch: the operations of one batch took `cycles` together; each of samples[0..n) gets
 * their mean (the record's percentiles are then of batch means). */
void bench_batch_samples(uint64_t *samples, uint64_t n, uint64_t cycles);

#endif
