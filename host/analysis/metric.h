/*
 * The metrics of a result: one table (name, label, what is better) that kvmio compare and
 * kvmio report both read. A metric's name is its column in results.csv (docs/run.md) and the
 * NAME of `kvmio compare --metric NAME`.
 */
#ifndef KVMIO_HOST_ANALYSIS_METRIC_H
#define KVMIO_HOST_ANALYSIS_METRIC_H

enum metric_id {
	METRIC_P50, METRIC_P99, METRIC_IOPS, METRIC_FRAMES_S, METRIC_ACC_OP, METRIC_IRQ_OP,
	METRIC_MBPS, METRIC_GBPS, METRIC_P50_NS, METRIC_P99_NS, METRIC_P50_NET_NS,
	METRIC_P99_NET_NS, METRIC_DRIFT_PCT,
	METRIC_COUNT
};

struct metric {
	const char *name;      /* results.csv column, --metric NAME */
	const char *label;     /* in charts and summaries */
	int higher_better;     /* rates: iops, frames_s, mbps, gbps */
	int count;             /* acc_op, irq_op: a verdict of fewer/more, not faster/slower */
	int cycles;            /* p50, p99: cycles per operation (the report shows us) */
	int shown;             /* in kvmio compare's default set (without --metric) */
};

/* Indexed by enum metric_id, in the order compare lists them. */
extern const struct metric metrics[METRIC_COUNT];

/* The metric called name; -1 if there is none. */
int metric_index(const char *name);

/* The names, ", " between ("p50, p99, iops, ..."). */
const char *metric_names(void);

/* The headline metric of a workload: IOPS for disks, frames/s for net-tx and net-rx, p50
 * latency for the rest (net-rr, exits). */
enum metric_id metric_primary(const char *bench);

#endif
