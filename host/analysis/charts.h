/*
 * The charts of kvmio report, drawn by gnuplot and inlined as SVG figures: per workload the
 * headline metric as bars (median, min..max), latency CDFs from the summed histograms, p50
 * latency beside device accesses and interrupts per operation; line charts of qd and bs sweeps.
 */
#ifndef KVMIO_HOST_ANALYSIS_CHARTS_H
#define KVMIO_HOST_ANALYSIS_CHARTS_H
#include <stdio.h>
#include "analysis/gnuplot.h"
#include "analysis/runset.h"

/* The charts of workload wl over the configurations cfgs[0..n), as figures into out. 0, or -1
 * when gnuplot failed (said on stderr). */
int charts_workload(struct gnuplot *gp, const struct runset *r, FILE *out, int wl,
		    const int *cfgs, int n);

/* Every queue-depth (bs_sweep 0) or block-size sweep of the disk workloads, as figures into
 * out, their medians into sum (may be NULL). How many charts, or -1 (gnuplot failed). */
int charts_sweeps(struct gnuplot *gp, const struct runset *r, FILE *out, int bs_sweep,
		  FILE *sum);

struct cmp_data;
struct cmp_ab_row;
/* The A/B chart: per row (compare_ab_rows, sorted by effect) the other/baseline ratio of the
 * primary metric with its bootstrap 95 % interval, a line at 1. 0, or -1 (gnuplot failed). */
int charts_ab(struct gnuplot *gp, FILE *out, const struct cmp_data *d,
	      const struct cmp_ab_row *rows, int n);

#endif
