/* The charts of kvmio report (charts.h), drawn by gnuplot (gnuplot.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/charts.h"
#include "analysis/compare.h"
#include "kvmio_proto.h"
#include "lib/html.h"
#include "lib/xalloc.h"

/* ---- one chart ---------------------------------------------------------------------------- */

/* A chart of width x height; exits on failure, as on running out of memory. */
static void chart_begin(struct gnuplot *gp, struct gnuplot_chart *c, int width, int height)
{
	char err[512];

	if (gnuplot_chart_begin(gp, c, width, height, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvmio: report: %s\n", err);
		exit(KVMIO_EXIT_FAILED);
	}
}

/* Run gnuplot on the chart and inline its SVG in out, as a figure with a caption. */
static int chart_end(struct gnuplot *gp, struct gnuplot_chart *c, FILE *out, const char *title,
		     const char *kind, const char *caption)
{
	static const char gnuplot_title[] = "<title>Gnuplot</title>";
	char err[1024], *svg = gnuplot_chart_end(gp, c, err, sizeof(err)), *p, *t;

	if (!svg) {
		fprintf(stderr, "kvmio: report: %s\n", err);
		return -1;
	}
	fprintf(out, "<figure class=\"chart %s\">\n", kind);
	for (p = svg; (t = strstr(p, gnuplot_title)) != NULL; p = t + strlen(gnuplot_title)) {
		fwrite(p, 1, (size_t)(t - p), out);
		fputs("<title>", out);
		html_escape(out, title);
		fputs("</title>", out);
	}
	fputs(p, out);
	fputs("<figcaption>", out);
	html_escape(out, caption);
	fputs("</figcaption>\n</figure>\n", out);
	free(svg);
	return 0;
}

/* Bars of the primary metric, median with min..max error bars. */
static int chart_bars(struct gnuplot *gp, const struct runset *r, FILE *out, int wl, const int *cfgs, int n)
{
	const struct workload *w = &r->wls[wl];
	struct gnuplot_chart c;
	char *title = xasprintf("%s %s: %s", w->bench, w->name, runset_primary_label(w));
	int ret;

	chart_begin(gp, &c, 520, 330);
	for (int i = 0; i < n; i++) {
		struct stat5 s;
		char *l = runset_label(r, cfgs, n, cfgs[i]), *gl = gnuplot_text(l);

		runset_stats(r, wl, cfgs[i], r->wls[wl].primary, &s);
		fprintf(c.data, "%d \"%s\" %.6g %.6g %.6g\n", i, gl, s.median, s.min, s.max);
		free(l);
		free(gl);
	}
	gnuplot_set_text(c.script, "title", title);
	gnuplot_set_text(c.script, "ylabel", runset_primary_label(w));
	fprintf(c.script,
		"set style fill solid 0.55 border -1\nset boxwidth 0.6\n"
		"set xrange [-0.6:%d.6]\nset yrange [0:*]\nset xtics rotate by -25 font ',9'\n"
		"unset key\nset bmargin 6\n"
		"plot '%s' using 1:3:xtic(2) with boxes lc rgb '#4e79a7', "
		"'' using 1:3:4:5 with yerrorbars lc rgb '#222222' pt 7 ps 0.5\n",
		n - 1, c.data_path);
	ret = chart_end(gp, &c, out, title, "bars",
			"Median of the repeats; error bars span min..max.");
	free(title);
	return ret;
}

static int chart_cdf(struct gnuplot *gp, const struct runset *r, FILE *out, int wl, const int *cfgs, int n)
{
	const struct workload *w = &r->wls[wl];
	struct gnuplot_chart c;
	char *title = xasprintf("%s %s: latency CDF (%s)", w->bench, w->name, runset_lat_unit(w));
	int ret, block = 0;

	chart_begin(gp, &c, 520, 330);
	gnuplot_set_text(c.script, "title", title);
	fprintf(c.script, "set logscale x 10\nset yrange [0:1.02]\nset ytics 0.1\n"
			  "set grid xtics mxtics lc rgb '#dddddd'\n"
			  "set key bottom right noreverse Right\n");
	gnuplot_set_text(c.script, "xlabel", w->cycles ? "cycles per operation (bucket lower bound)"
					     : "us per operation (bucket lower bound)");
	gnuplot_set_text(c.script, "ylabel", "fraction of operations");
	fprintf(c.script, "plot ");
	for (int i = 0; i < n; i++) {
		double hz, total = 0, cum = 0;
		int nb;
		struct hbin *h = runset_hist(r, wl, cfgs[i], &nb, &hz);
		char *l = runset_label(r, cfgs, n, cfgs[i]), *gl = gnuplot_text(l);
		int points = 0;

		for (int b = 0; b < nb; b++)
			total += h[b].count;
		if (total > 0) {
			for (int b = 0; b < nb; b++) {
				double x = w->cycles || hz <= 0 ? h[b].lower : h[b].lower * 1e6 / hz;

				if (x > 0) {
					if (!points)
						fprintf(c.data, "%.6g 0\n", x);
					fprintf(c.data, "%.6g %.6g\n", x, cum / total);
					points++;
				}
				cum += h[b].count;
				if (x > 0)
					fprintf(c.data, "%.6g %.6g\n", x, cum / total);
			}
		}
		if (points) {
			fprintf(c.data, "\n\n");
			fprintf(c.script, "%s'%s' index %d using 1:2 with lines lw 2 title '%s'",
				block ? ", " : "", c.data_path, block, gl);
			block++;
		}
		free(h);
		free(l);
		free(gl);
	}
	if (!block)
		fprintf(c.script, "NaN notitle");
	fprintf(c.script, "\n");
	ret = chart_end(gp, &c, out, title, "cdf",
			"Histograms of all repeats summed; quarter-octave buckets, log x.");
	free(title);
	return ret;
}

static int chart_access(struct gnuplot *gp, const struct runset *r, FILE *out, int wl, const int *cfgs, int n)
{
	const struct workload *w = &r->wls[wl];
	struct gnuplot_chart c;
	char *title = xasprintf("%s %s: p50 latency and device accesses per op", w->bench,
				w->name);
	char *yl = xasprintf("p50 latency (%s)", runset_lat_unit(w));
	int ret;

	chart_begin(gp, &c, 520, 330);
	for (int i = 0; i < n; i++) {
		struct stat5 p, a, q;
		char *l = runset_label(r, cfgs, n, cfgs[i]), *gl = gnuplot_text(l);

		runset_stats(r, wl, cfgs[i], METRIC_P50, &p);
		runset_stats(r, wl, cfgs[i], METRIC_ACC_OP, &a);
		runset_stats(r, wl, cfgs[i], METRIC_IRQ_OP, &q);
		fprintf(c.data, "%d \"%s\" %.6g %.6g %.6g\n", i, gl, p.median, a.median, q.median);
		free(l);
		free(gl);
	}
	gnuplot_set_text(c.script, "title", title);
	gnuplot_set_text(c.script, "ylabel", yl);
	gnuplot_set_text(c.script, "y2label", "per operation");
	fprintf(c.script,
		"set style fill solid 0.6 border -1\nset boxwidth 0.26\n"
		"set xrange [-0.6:%d.6]\nset yrange [0:*]\nset y2range [0:*]\n"
		"set ytics nomirror\nset y2tics\nset border 11\n"
		"set xtics rotate by -25 font ',9'\nset bmargin 6\n"
		"set key top left reverse Left\n"
		"plot '%s' using ($1-0.27):3 with boxes lc rgb '#4e79a7' axes x1y1 title 'p50 latency', "
		"'' using 1:4:xtic(2) with boxes lc rgb '#f28e2b' axes x1y2 title 'accesses/op', "
		"'' using ($1+0.27):5 with boxes lc rgb '#59a14f' axes x1y2 title 'irqs/op'\n",
		n - 1, c.data_path);
	ret = chart_end(gp, &c, out, title, "access",
			"Medians of the repeats. Accesses: port and MMIO register reads and "
			"writes per operation (right axis).");
	free(title);
	free(yl);
	return ret;
}

/* ---- sweeps ------------------------------------------------------------------------------- */

/* Sweep key of a disk series name "RW-BS-qdN[SUFFIX]": the name without "-qdN" (qd sweep) or
 * without "-BS" (bs sweep). NULL if the name does not have that shape. */
static char *sweep_key(const char *name, int bs_sweep)
{
	const char *q = strstr(name, "-qd"), *d, *b;
	size_t qlen;

	if (!q)
		return NULL;
	for (const char *t = q; (t = strstr(t + 1, "-qd")) != NULL;)
		q = t;
	d = q + 3;
	while (*d >= '0' && *d <= '9')
		d++;
	if (d == q + 3)
		return NULL;
	qlen = (size_t)(d - q);
	if (!bs_sweep)
		return xasprintf("%.*s%s", (int)(q - name), name, d);
	for (b = q - 1; b > name && *b != '-'; b--)
		;
	if (b <= name)
		return NULL;
	(void)qlen;
	return xasprintf("%.*s%s", (int)(b - name), name, q);
}

static int cmp_int2(const void *a, const void *b)
{
	const int *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

int charts_sweeps(struct gnuplot *gp, const struct runset *r, FILE *out, int bs_sweep, FILE *sum)
{
	int drawn = 0;
	char **done = NULL;
	int ndone = 0;

	for (int w = 0; w < r->nwls; w++) {
		char *key;
		int (*pts)[2], np = 0, ndistinct = 0, seen = 0;

		if (strcmp(r->wls[w].bench, "disk") || !(key = sweep_key(r->wls[w].name, bs_sweep)))
			continue;
		for (int i = 0; i < ndone; i++)
			if (!strcmp(done[i], key))
				seen = 1;
		if (seen) {
			free(key);
			continue;
		}
		done = xrealloc(done, sizeof(*done) * (size_t)(ndone + 1));
		done[ndone++] = key;
		pts = xrealloc(NULL, sizeof(*pts) * (size_t)r->nwls);
		for (int v = 0; v < r->nwls; v++) {
			char *k2;

			if (strcmp(r->wls[v].bench, "disk") ||
			    !(k2 = sweep_key(r->wls[v].name, bs_sweep)))
				continue;
			if (!strcmp(k2, key) && runset_field(r, v, bs_sweep) > 0) {
				pts[np][0] = runset_field(r, v, bs_sweep);
				pts[np][1] = v;
				np++;
			}
			free(k2);
		}
		qsort(pts, (size_t)np, sizeof(*pts), cmp_int2);
		for (int i = 0; i < np; i++)
			if (i == 0 || pts[i][0] != pts[i - 1][0])
				ndistinct++;
		if (ndistinct >= 2) {
			struct gnuplot_chart c;
			int *cfgs = xrealloc(NULL, sizeof(int) * (size_t)(r->rd.ncfg + 1)), nc = 0;
			int block = 0;
			enum metric_id m = bs_sweep ? METRIC_MBPS : METRIC_IOPS;
			char *title = xasprintf("disk %s: %s by %s", key, metrics[m].label,
						bs_sweep ? "block size" : "queue depth"), *ylabel;

			for (int cf = 0; cf < r->rd.ncfg; cf++) {
				int in = 0;

				for (int i = 0; i < np && !in; i++)
					for (int o = 0; o < r->nobs && !in; o++)
						in = r->obs[o].wl == pts[i][1] && r->obs[o].cfg == cf;
				if (in)
					cfgs[nc++] = cf;
			}
			chart_begin(gp, &c, 520, 330);
			gnuplot_set_text(c.script, "title", title);
			gnuplot_set_text(c.script, "xlabel", bs_sweep ? "block size (KiB)" : "queue depth");
			ylabel = xasprintf("%s (median)", metrics[m].label);
			gnuplot_set_text(c.script, "ylabel", ylabel);
			free(ylabel);
			fprintf(c.script, "set logscale x 2\nset yrange [0:*]\nset offsets graph 0.05, graph 0.05, 0, 0\nplot ");
			if (sum)
				fprintf(sum, "\n%s\n", title);
			for (int ci = 0; ci < nc; ci++) {
				char *l = runset_label(r, cfgs, nc, cfgs[ci]), *gl = gnuplot_text(l);
				int rows = 0;

				if (sum)
					fprintf(sum, "  %-28s", l);
				for (int i = 0; i < np; i++) {
					struct stat5 s;

					runset_stats(r, pts[i][1], cfgs[ci], m, &s);
					if (s.n == 0 || isnan(s.median))
						continue;
					fprintf(c.data, "%.6g %.6g %.6g %.6g\n",
						bs_sweep ? pts[i][0] / 1024.0 : pts[i][0], s.median,
						s.min, s.max);
					if (sum)
						fprintf(sum, "  %s%d=%.0f", bs_sweep ? "bs" : "qd",
							pts[i][0], s.median);
					rows++;
				}
				if (sum)
					fputc('\n', sum);
				if (rows) {
					fprintf(c.data, "\n\n");
					fprintf(c.script,
						"%s'%s' index %d using 1:2:3:4 with yerrorlines lw 2 pt 7 ps 0.7 title '%s'",
						block ? ", " : "", c.data_path, block, gl);
					block++;
				}
				free(l);
				free(gl);
			}
			if (!block)
				fprintf(c.script, "NaN notitle");
			fprintf(c.script, "\n");
			if (chart_end(gp, &c, out, title, bs_sweep ? "sweep-bs" : "sweep-qd",
				      "Median of the repeats per point; error bars min..max.") < 0)
				drawn = -1000;
			drawn++;
			free(cfgs);
			free(title);
		}
		free(pts);
	}
	for (int i = 0; i < ndone; i++)
		free(done[i]);
	free(done);
	return drawn < 0 ? -1 : drawn;
}


int charts_workload(struct gnuplot *gp, const struct runset *r, FILE *out, int wl,
		    const int *cfgs, int n)
{
	if (chart_bars(gp, r, out, wl, cfgs, n) < 0)
		return -1;
	if (runset_has_hist(r, wl) && chart_cdf(gp, r, out, wl, cfgs, n) < 0)
		return -1;
	if (runset_has_metric(r, wl, METRIC_ACC_OP) && chart_access(gp, r, out, wl, cfgs, n) < 0)
		return -1;
	return 0;
}

/* ---- A/B ---------------------------------------------------------------------------------- */

int charts_ab(struct gnuplot *gp, FILE *out, const struct cmp_data *d,
	      const struct cmp_ab_row *rows, int n)
{
	struct gnuplot_chart c;
	const char *title = "A/B: other / baseline, primary metric";
	double xmin = 1, xmax = 1;   /* the line at 1 always inside */

	chart_begin(gp, &c, 720, 160 + 26 * n);
	for (int i = 0; i < n; i++) {
		const struct cmp_ab_row *x = &rows[i];
		char *l = xasprintf("%s vs %s %s %s (%s)", d->rd.cfg[x->other].id,
				    d->rd.cfg[x->base].id, d->wl[x->wl].bench, d->wl[x->wl].name,
				    metrics[x->metric].name);
		char *gl = gnuplot_text(l);
		/* no interval (one run a side): the ratio alone */
		double lo = isnan(x->r.ratio_lo) ? x->r.ratio : x->r.ratio_lo;
		double hi = isnan(x->r.ratio_hi) || isinf(x->r.ratio_hi) ? x->r.ratio : x->r.ratio_hi;

		fprintf(c.data, "%d \"%s\" %.6g %.6g %.6g\n", n - 1 - i, gl, x->r.ratio, lo, hi);
		if (isfinite(lo) && lo < xmin)
			xmin = lo;
		if (isfinite(hi) && hi > xmax)
			xmax = hi;
		free(l);
		free(gl);
	}
	gnuplot_set_text(c.script, "title", title);
	gnuplot_set_text(c.script, "xlabel", "ratio of medians, other / baseline (95 % bootstrap "
			 "interval)");
	fprintf(c.script,
		"set xrange [%.6g:%.6g]\n"
		"set yrange [-0.8:%d.8]\nset ytics font ',9'\nunset key\nset lmargin 46\n"
		"set grid xtics lc rgb '#dddddd'\nset arrow from 1, graph 0 to 1, graph 1 nohead "
		"lc rgb '#888888' dt 2\n"
		"plot '%s' using 3:1:4:5:ytic(2) with xerrorbars lc rgb '#4e79a7' pt 7 ps 0.8\n",
		xmin - 0.05 * (xmax - xmin) - 0.01, xmax + 0.05 * (xmax - xmin) + 0.01, n - 1,
		c.data_path);
	return chart_end(gp, &c, out, title, "ab",
			 "Sorted by effect, the most slowed-down first. Where higher is better a ratio "
			 "below 1 is slower; where lower is better (latencies, exits), above 1.");
}
