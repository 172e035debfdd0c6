/* The metrics of a result (metric.h). */
#include <string.h>
#include "analysis/metric.h"

const struct metric metrics[METRIC_COUNT] = {
	[METRIC_P50] = { "p50", "p50 latency", 0, 0, 1, 1 },
	[METRIC_P99] = { "p99", "p99 latency", 0, 0, 1, 1 },
	[METRIC_IOPS] = { "iops", "IOPS", 1, 0, 0, 1 },
	[METRIC_FRAMES_S] = { "frames_s", "frames/s", 1, 0, 0, 1 },
	[METRIC_ACC_OP] = { "acc_op", "accesses/op", 0, 1, 0, 1 },
	[METRIC_IRQ_OP] = { "irq_op", "irqs/op", 0, 1, 0, 1 },
	[METRIC_MBPS] = { "mbps", "MB/s", 1, 0, 0, 0 },
	[METRIC_GBPS] = { "gbps", "Gbit/s", 1, 0, 0, 0 },
	[METRIC_P50_NS] = { "p50_ns", "p50 latency (ns)", 0, 0, 0, 0 },
	[METRIC_P99_NS] = { "p99_ns", "p99 latency (ns)", 0, 0, 0, 0 },
	[METRIC_P50_NET_NS] = { "p50_net_ns", "p50 latency less one timestamp (ns)", 0, 0, 0, 0 },
	[METRIC_P99_NET_NS] = { "p99_net_ns", "p99 latency less one timestamp (ns)", 0, 0, 0, 0 },
	[METRIC_DRIFT_PCT] = { "drift_pct", "second half against first (%)", 0, 1, 0, 0 },
};

int metric_index(const char *name)
{
	for (int i = 0; i < METRIC_COUNT; i++)
		if (strcmp(metrics[i].name, name) == 0)
			return i;
	return -1;
}

const char *metric_names(void)
{
	static char names[256];

	if (!names[0])
		for (int i = 0; i < METRIC_COUNT; i++) {
			if (i)
				strcat(names, ", ");
			strcat(names, metrics[i].name);
		}
	return names;
}

enum metric_id metric_primary(const char *bench)
{
	if (!strcmp(bench, "disk"))
		return METRIC_IOPS;
	if (!strcmp(bench, "net-tx") || !strcmp(bench, "net-rx"))
		return METRIC_FRAMES_S;
	return METRIC_P50;
}
