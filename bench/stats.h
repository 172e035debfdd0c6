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

#endif
