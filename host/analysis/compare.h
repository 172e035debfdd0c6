/* `kvmio compare DIR`: statistics over the repeats in a `kvmio run` result directory and the
 * comparison of configurations (docs/run.md). */
#ifndef KVMIO_HOST_ANALYSIS_COMPARE_H
#define KVMIO_HOST_ANALYSIS_COMPARE_H

#include <stddef.h>
#include <stdio.h>
#include "analysis/metric.h"
#include "analysis/stats.h"
#include "matrix/resultdir.h"

struct cmp_workload {
	char *bench, *name;
};

/* The values of one metric of one workload of one configuration, one per result row. */
struct cmp_series {
	int cfg, wl, metric;
	double *v;
	size_t n, cap;
};

struct cmp_data {
	struct resultdir rd;                  /* the configurations and results.csv rows */
	struct cmp_workload *wl;
	int nwl;
	struct cmp_series *ser;
	int nser;
};

/* Load the result directory DIR (matrix.tsv required) and group its values. 0, or 2 with a
 * message in err. */
int compare_load(const char *dir, struct cmp_data *d, char *err, size_t errlen);
void compare_free(struct cmp_data *d);

int compare_workload_index(const struct cmp_data *d, const char *bench, const char *name);
const struct cmp_series *compare_series(const struct cmp_data *d, int cfg, int wl, int metric);

enum cmp_verdict { CMP_NO_TEST, CMP_SAME, CMP_FASTER, CMP_SLOWER, CMP_FEWER, CMP_MORE };
#define CMP_ALPHA 0.05

/* The ratio's 95 % interval: a percentile bootstrap of the ratio of medians (stats.h) with a
 * fixed seed, so the same result directory always gives the same interval. */
#define CMP_BOOTSTRAP_RESAMPLES 2000
#define CMP_BOOTSTRAP_SEED 0x6b766d696f2d6162ull   /* "kvmio-ab" */

struct cmp_result {
	struct stats_summary base, other;
	double ratio;               /* other median / base median */
	double ratio_lo, ratio_hi;  /* its bootstrap 95 % interval; NAN when either n is 1 */
	double u, p;                /* U of other (pairs other > base); p NAN when no test */
	int exact;                  /* p from the exact distribution */
	enum cmp_verdict verdict;
};

/* Compare metric `metric` of two series (either may be empty: returns -1). */
int compare_series_pair(const struct cmp_series *base, const struct cmp_series *other,
			int metric, struct cmp_result *r);
const char *compare_verdict_text(enum cmp_verdict v);

/*
 * The A/B gate (kvmio compare --max-regression PCT) on a comparison r of metric `metric` (base
 * A, other B): a regression when B is slower than A by more than max_pct percent (the ratio
 * B/A below 1 - PCT/100 where higher is better, above 1 + PCT/100 where lower is better) and
 * the U test says so at p < CMP_GATE_ALPHA. CMP_GATE_UNTESTABLE: no p this small is possible
 * with these n (5 runs a side are the least). *slower_pct: how much slower B is, in percent
 * (negative: faster).
 */
#define CMP_GATE_ALPHA 0.01
enum cmp_gate { CMP_GATE_PASS, CMP_GATE_REGRESSION, CMP_GATE_UNTESTABLE };
enum cmp_gate compare_gate(const struct cmp_result *r, int metric, double max_pct,
			   double *slower_pct);

/* A note when two configurations' figures come from different accelerator flavours (so their
 * difference is not a device-model difference), in buf; 0 when they share one. */
int compare_flavour_note(const struct resultdir_config *base, const struct resultdir_config *other,
			 char *buf, size_t len);

/*
 * The A/B view (kvmio report's A/B section): for each A/B key (qemu, disk_props, net_props)
 * whose value varies, the first configuration's value is the baseline, and every configuration
 * that differs from a baseline one in that key only is compared with it on each workload's
 * primary metric. Rows sorted by effect, the most slowed-down first.
 */
struct cmp_ab_row {
	int base, other, wl, metric;
	char *differs;                  /* "qemu: old -> new" */
	struct cmp_result r;
	double slower_pct;              /* how much slower other is, in percent (compare_gate) */
};
/* The rows into *rows (malloc'd; NULL when none); their number, or -1 out of memory. */
int compare_ab_rows(const struct cmp_data *d, struct cmp_ab_row **rows);
void compare_ab_rows_free(struct cmp_ab_row *rows, int n);

/* The command: argv after "compare". Output to out, messages to stderr. 0, 2, or
 * KVMIO_EXIT_REGRESSION (--max-regression found one). */
int compare_command(int argc, char **argv, FILE *out);
/* `kvmio compare`: the same onto stdout. */
int cmd_compare(int argc, char **argv);

#endif
