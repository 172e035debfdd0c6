/*
 * What the host derives from a result record (docs/protocol.md): rates over the elapsed
 * cycles, and device-register accesses and interrupts per operation, per frame for the network
 * benchmarks. kvmio parse, results.csv/json and kvmio report all take them from here.
 */
#ifndef KVMIO_HOST_PROTO_FIGURES_H
#define KVMIO_HOST_PROTO_FIGURES_H
#include <stdint.h>
#include "proto/proto.h"

struct result_figures {
	int disk, net;                 /* a bench=disk or bench=net-* result */
	double units;                  /* its ops (frames for net) when > 0, else 0 */
	int has_rate, has_mbps, has_gbps, has_acc, has_irq;
	double rate;                   /* disk: IOPS; net: frames/s */
	double mbps;                   /* disk: MB/s (10^6 bytes) */
	double gbps;                   /* net: Gbit/s */
	double acc_per_unit;           /* port and MMIO register accesses per op (per frame) */
	double irq_per_unit;           /* interrupts per op (per frame) */
	int has_drift;
	double drift_pct;              /* steady state: the second half's rate over the first's,
					* minus 1, in % (half_ops, half_elapsed; docs/protocol.md) */
};

/* Steady state: a run whose halves differ by more than this is flagged. */
#define FIGURES_DRIFT_LIMIT_PCT 2.0

/* The figures of a result record at tsc_hz (0: unknown, no rates). Each has_* says whether it
 * could be derived: only disk and network results have them, and only with ops (frames) > 0. */
void result_figures(const struct record *r, uint64_t tsc_hz, struct result_figures *f);

/*
 * A latency field (p50, p99, mean, ...) with the instrument's own cost taken out: one timestamp
 * (the log's hello ts_cost), which every sample carries once, in ns at tsc_hz. 0 and *ns set,
 * or -1 when it cannot be known.
 */
int latency_net_ns(const struct record *r, const struct log *log, const char *key, double *ns);

/* Nanoseconds for a cycle count at tsc_hz; returns 0 and leaves *ns alone if tsc_hz is 0. */
int cycles_to_ns(double cycles, uint64_t tsc_hz, double *ns);

/* The tsc_hz of a log's hello record; 0 when there is none. */
uint64_t log_tsc_hz(const struct log *log);

#endif
