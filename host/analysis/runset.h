/*
 * The figures of a result directory's finished runs, by workload and configuration, and their
 * statistics over the repeats: what kvmio report draws and tabulates. Loaded through
 * resultdir_load; each run's result records are read again from its serial.log, because the
 * latency histograms (`hist`) live only there.
 */
#ifndef KVMIO_HOST_ANALYSIS_RUNSET_H
#define KVMIO_HOST_ANALYSIS_RUNSET_H
#include <stddef.h>
#include "analysis/metric.h"
#include "matrix/resultdir.h"

/* Statistics of one metric over the repeats (host/analysis/stats.c); NAN when undefined. */
struct stat5 {
	int n;
	double median, min, max, mean, cv, ci_lo, ci_hi;
};

struct hbin {
	double lower;
	double count;
};

/* One result record of one repeat. */
struct obs {
	int cfg;
	int repeat;
	int wl;
	double hz;                /* tsc_hz of its log, 0 if unknown */
	double v[METRIC_COUNT];   /* NAN when it does not apply; p50 and p99 in cycles */
	int qd, bs;               /* disk: -1 when absent */
	struct hbin *hist;
	int nhist;
};

struct workload {
	char *bench, *name;
	enum metric_id primary;   /* its headline metric (metric_primary) */
	int cycles;               /* some log had tsc_hz=0: latencies in cycles */
};

struct runset {
	struct resultdir rd;      /* configurations, runs, flavours */
	int *used;                /* per configuration: it has results */
	struct obs *obs;
	int nobs;
	struct workload *wls;
	int nwls;
	char *accels;             /* "tcg" or "kvm, tcg" */
	int tcg;
	char *builds;
	int nruns;
	/* What the measurement itself says about a run (runset_checks): one line each, e.g. a
	 * guest TSC off its host's by more than 0.1 %, a series that drifted over 2 %, one cut
	 * short by its sample cap. */
	char **checks;
	int nchecks;
};

/* Load the result directory (matrix.tsv may be missing). 0, or an exit code with err. */
int runset_load(const char *dir, struct runset *r, char *err, size_t errlen);
void runset_free(struct runset *r);

/* Statistics of the values that are not NAN. */
void stat5_of(const double *v, int n, struct stat5 *s);
/* Statistics of metric m over the repeats of (workload, configuration); latencies in us, or
 * in cycles for a workload some log of which had no tsc_hz. */
void runset_stats(const struct runset *r, int wl, int cfg, enum metric_id m, struct stat5 *s);
/* The configurations with results for workload wl, in configuration order; how many. */
int runset_configs(const struct runset *r, int wl, int *out);
/* A short label (malloc'd): the id and the values of the parameters that differ between the
 * configurations in cfgs. */
char *runset_label(const struct runset *r, const int *cfgs, int n, int c);
/* The label of a workload's headline metric, latencies with their unit (static buffer). */
const char *runset_primary_label(const struct workload *w);
/* "us", or "cycles" (no tsc_hz). */
const char *runset_lat_unit(const struct workload *w);
/* The histograms of every repeat of (wl, cfg) summed: bins sorted by their lower bound
 * (malloc'd), *nout of them; *hz a tsc_hz of their logs (0 if none). */
struct hbin *runset_hist(const struct runset *r, int wl, int cfg, int *nout, double *hz);
int runset_has_hist(const struct runset *r, int wl);
int runset_has_metric(const struct runset *r, int wl, enum metric_id m);
/* The block size (bs 1) or queue depth (bs 0) of a disk workload; -1 if none. */
int runset_field(const struct runset *r, int wl, int bs);

#endif
