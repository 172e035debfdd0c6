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

struct cmp_result {
	struct stats_summary base, other;
	double ratio;               /* other median / base median */
	double ratio_lo, ratio_hi;  /* other CI / base CI: [other.lo/base.hi, other.hi/base.lo] */
	double u, p;                /* U of other (pairs other > base); p NAN when no test */
	int exact;                  /* p from the exact distribution */
	enum cmp_verdict verdict;
};

/* Compare metric `metric` of two series (either may be empty: returns -1). */
int compare_series_pair(const struct cmp_series *base, const struct cmp_series *other,
			int metric, struct cmp_result *r);
const char *compare_verdict_text(enum cmp_verdict v);

/* A note when two configurations' figures come from different accelerator flavours (so their
 * difference is not a device-model difference), in buf; 0 when they share one. */
int compare_flavour_note(const struct resultdir_config *base, const struct resultdir_config *other,
			 char *buf, size_t len);

/* The command: argv after "compare". Output to out, messages to stderr. 0, or 2. */
int compare_command(int argc, char **argv, FILE *out);
/* `kvmio compare`: the same onto stdout. */
int cmd_compare(int argc, char **argv);

#endif
