/* Figures derived from result records (figures.h). */
#include <string.h>
#include "proto/figures.h"

void result_figures(const struct record *r, uint64_t tsc_hz, struct result_figures *f)
{
	static const char *const accesses[] = { "pio_r", "pio_w", "mmio_r", "mmio_w" };
	const char *bench = record_get(r, "bench");
	double units, elapsed, bytes, v, acc = 0;
	int all = 1;

	memset(f, 0, sizeof(*f));
	if (strcmp(r->type, "result") != 0 || !bench)
		return;
	f->disk = strcmp(bench, "disk") == 0;
	f->net = strncmp(bench, "net-", 4) == 0;
	if ((!f->disk && !f->net) || record_get_number(r, f->net ? "frames" : "ops", &units) != 0 ||
	    units <= 0)
		return;
	f->units = units;
	if (tsc_hz && record_get_number(r, "elapsed", &elapsed) == 0 && elapsed > 0) {
		f->has_rate = 1;
		f->rate = units * (double)tsc_hz / elapsed;
		if (record_get_number(r, "bytes", &bytes) == 0) {
			f->has_mbps = f->disk;
			f->mbps = bytes * (double)tsc_hz / elapsed / 1e6;
			f->has_gbps = f->net;
			f->gbps = bytes * 8 * (double)tsc_hz / elapsed / 1e9;
		}
	}
	for (int k = 0; k < 4; k++) {
		if (record_get_number(r, accesses[k], &v) != 0)
			all = 0;
		else
			acc += v;
	}
	if (all) {
		f->has_acc = 1;
		f->acc_per_unit = acc / units;
	}
	if (record_get_number(r, "irqs", &v) == 0) {
		f->has_irq = 1;
		f->irq_per_unit = v / units;
	}
	{
		double hops, hel, ops;

		if (record_get_number(r, "half_ops", &hops) == 0 &&
		    record_get_number(r, "half_elapsed", &hel) == 0 &&
		    record_get_number(r, "ops", &ops) == 0 &&
		    record_get_number(r, "elapsed", &elapsed) == 0 && hops > 0 && hel > 0 &&
		    ops > hops && elapsed > hel) {
			f->has_drift = 1;
			f->drift_pct = ((ops - hops) / (elapsed - hel)) / (hops / hel) * 100 - 100;
		}
	}
}

int latency_net_ns(const struct record *r, const struct log *log, const char *key, double *ns)
{
	const struct record *hello = log_find(log, "hello", NULL, NULL);
	double v, cost;
	uint64_t hz = log_tsc_hz(log);

	if (!hello || record_get_number(r, key, &v) != 0 ||
	    record_get_number(hello, "ts_cost", &cost) != 0 || !hz)
		return -1;
	*ns = (v > cost ? v - cost : 0) * 1e9 / (double)hz;
	return 0;
}

int cycles_to_ns(double cycles, uint64_t tsc_hz, double *ns)
{
	if (tsc_hz == 0)
		return 0;
	*ns = cycles * 1e9 / (double)tsc_hz;
	return 1;
}

uint64_t log_tsc_hz(const struct log *log)
{
	const struct record *hello = log_find(log, "hello", NULL, NULL);
	uint64_t hz = 0;

	if (!hello || record_get_u64(hello, "tsc_hz", &hz) != 0)
		return 0;
	return hz;
}
