/* kvmio report: an HTML page with gnuplot charts, and a text summary, from a result directory.
 *
 * Input (docs/run.md), through resultdir_load (matrix/resultdir.h): the configurations, skipped
 * ones with a reason, and the finished runs with results; their figures are read again from
 * each run's serial.log (resultdir_run_log) because the `hist` fields live only there.
 * Statistics over repeats (median, min, max, CV, 95 % CI from Student's t) come from
 * analysis/stats.c.
 * Charts: gnuplot (svg terminal) per chart in a temporary directory, the SVG read back and
 * inlined with its ids made unique. No JavaScript, no external resources. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "analysis/htmlreport.h"
#include "analysis/metric.h"
#include "analysis/stats.h"
#include "lib/args.h"
#include "proto/figures.h"
#include "lib/file.h"
#include "lib/proc.h"
#include "matrix/resultdir.h"
#include "proto/proto.h"

#define TCG_SENTENCE \
	"TCG figures compare device models under emulation; they are not KVM figures."
#define FLAVOURS_SENTENCE \
	"These runs come from more than one accelerator flavour: a difference between flavours " \
	"is not a device-model difference."

/* ---- small helpers ------------------------------------------------------------------------ */

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q) {
		fprintf(stderr, "kvmio: report: out of memory\n");
		exit(1);
	}
	return q;
}

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(xrealloc(NULL, n), s, n);
}

static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (!s) {
		fprintf(stderr, "kvmio: report: out of memory\n");
		exit(1);
	}
	return s;
}

static void html_esc(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&#39;", out); break;
		default: fputc(*s, out);
		}
	}
}

/* A label for gnuplot data files and single-quoted strings: printable, no quotes. */
static char *gp_label(const char *s)
{
	char *r = xstrdup(s ? s : "");

	for (char *p = r; *p; p++)
		if (*p == '"' || *p == '\'' || *p == '\\' || (unsigned char)*p < 0x20 ||
		    (unsigned char)*p > 0x7e)
			*p = '_';
	return r;
}

/* ---- statistics --------------------------------------------------------------------------- */

struct stat5 {
	int n;
	double median, min, max, mean, cv, ci_lo, ci_hi;
};

/* Summary of the non-NaN values, through host/stats.c (the same figures kvmio compare shows). */
static void stats_of(const double *v_in, int n, struct stat5 *s)
{
	double *v = xrealloc(NULL, sizeof(double) * (size_t)(n ? n : 1));
	struct stats_summary sum;
	int k = 0;

	for (int i = 0; i < n; i++)
		if (!isnan(v_in[i]))
			v[k++] = v_in[i];
	memset(s, 0, sizeof(*s));
	s->n = k;
	s->median = s->min = s->max = s->mean = s->cv = s->ci_lo = s->ci_hi = NAN;
	if (k > 0) {
		stats_summarize(v, (size_t)k, &sum);
		s->median = sum.median;
		s->min = sum.min;
		s->max = sum.max;
		s->mean = sum.mean;
		s->cv = k > 1 ? sum.cv : NAN;
		s->ci_lo = sum.ci_lo;
		s->ci_hi = sum.ci_hi;
	}
	free(v);
}

/* ---- the result directory ----------------------------------------------------------------- */

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

struct rep {
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
	char tmpdir[64];
	const char *gnuplot;
	int nchart;
};

static double fnum(const struct record *rec, const char *key)
{
	double v;

	return record_get_number(rec, key, &v) == 0 ? v : NAN;
}

static int find_workload(struct rep *r, const char *bench, const char *name)
{
	for (int i = 0; i < r->nwls; i++)
		if (!strcmp(r->wls[i].bench, bench) && !strcmp(r->wls[i].name, name))
			return i;
	r->wls = xrealloc(r->wls, sizeof(*r->wls) * (size_t)(r->nwls + 1));
	r->wls[r->nwls].bench = xstrdup(bench);
	r->wls[r->nwls].name = xstrdup(name);
	r->wls[r->nwls].primary = metric_primary(bench);
	r->wls[r->nwls].cycles = 0;
	return r->nwls++;
}

static void add_word(char **list, const char *w)
{
	char *p = *list;
	size_t n = strlen(w);

	for (; p && *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] ? 2 : 0))
		if (!strncmp(p, w, n) && (p[n] == ',' || !p[n]))
			return;
	if (!*list) {
		*list = xstrdup(w);
	} else {
		char *s = xasprintf("%s, %s", *list, w);

		free(*list);
		*list = s;
	}
}

static void parse_hist(struct obs *o, const char *h)
{
	while (h && *h) {
		char *end;
		double lo = strtod(h, &end), c;

		if (*end != ':')
			break;
		c = strtod(end + 1, &end);
		o->hist = xrealloc(o->hist, sizeof(*o->hist) * (size_t)(o->nhist + 1));
		o->hist[o->nhist].lower = lo;
		o->hist[o->nhist].count = c;
		o->nhist++;
		h = *end == ',' ? end + 1 : NULL;
	}
}

static void load_run(struct rep *r, const struct resultdir_run *run)
{
	int cfg = run->cfg, repeat = run->repeat;
	struct log log;
	const struct record *hello;
	uint64_t hz;

	resultdir_run_log(&r->rd, run, &log); /* a failed run still contributes the results it has */
	r->used[cfg] = 1;
	hello = log_find(&log, "hello", NULL, NULL);
	hz = log_tsc_hz(&log);
	if (hello) {
		const char *a = record_get(hello, "accel"), *b = record_get(hello, "build");

		if (a) {
			add_word(&r->accels, a);
			if (!strcmp(a, "tcg"))
				r->tcg = 1;
		}
		if (b)
			add_word(&r->builds, b);
	}
	r->nruns++;
	for (size_t i = 0; i < log.nrecs; i++) {
		const struct record *rec = &log.recs[i];
		const char *bench = record_get(rec, "bench"), *name = record_get(rec, "name");
		struct result_figures f;
		struct obs *o;

		if (strcmp(rec->type, "result") || !bench || !name)
			continue;
		r->obs = xrealloc(r->obs, sizeof(*r->obs) * (size_t)(r->nobs + 1));
		o = &r->obs[r->nobs++];
		memset(o, 0, sizeof(*o));
		o->cfg = cfg;
		o->repeat = repeat;
		o->wl = find_workload(r, bench, name);
		if (hz == 0)
			r->wls[o->wl].cycles = 1;
		o->hz = (double)hz;
		for (int m = 0; m < METRIC_COUNT; m++)
			o->v[m] = NAN;
		o->v[METRIC_P50] = fnum(rec, "p50");
		o->v[METRIC_P99] = fnum(rec, "p99");
		result_figures(rec, hz, &f);
		if (f.disk && f.has_rate)
			o->v[METRIC_IOPS] = f.rate;
		if (f.net && f.has_rate)
			o->v[METRIC_FRAMES_S] = f.rate;
		if (f.has_mbps)
			o->v[METRIC_MBPS] = f.mbps;
		if (f.has_gbps)
			o->v[METRIC_GBPS] = f.gbps;
		if (f.has_acc)
			o->v[METRIC_ACC_OP] = f.acc_per_unit;
		if (f.has_irq)
			o->v[METRIC_IRQ_OP] = f.irq_per_unit;
		o->qd = isnan(fnum(rec, "qd")) ? -1 : (int)fnum(rec, "qd");
		o->bs = isnan(fnum(rec, "bs")) ? -1 : (int)fnum(rec, "bs");
		parse_hist(o, record_get(rec, "hist"));
	}
	log_free(&log);
}

/* ---- metrics ------------------------------------------------------------------------------ */

/* The label of a workload's headline metric; latencies with their unit. */
static const char *primary_label(const struct workload *w)
{
	static char label[64];

	if (!metrics[w->primary].cycles)
		return metrics[w->primary].label;
	snprintf(label, sizeof(label), "%s (%s)", metrics[w->primary].label,
		 w->cycles ? "cycles" : "us");
	return label;
}

static const char *lat_unit(const struct workload *w)
{
	return w->cycles ? "cycles" : "us";
}

static double lat(const struct rep *r, const struct obs *o, double cycles)
{
	if (r->wls[o->wl].cycles || o->hz <= 0)
		return cycles;
	return cycles * 1e6 / o->hz;
}

static double metric(const struct rep *r, const struct obs *o, enum metric_id m)
{
	return metrics[m].cycles ? lat(r, o, o->v[m]) : o->v[m];
}

/* Statistics of metric m over the repeats of (workload, config). */
static void wl_stats(const struct rep *r, int wl, int cfg, enum metric_id m, struct stat5 *s)
{
	double *v = xrealloc(NULL, sizeof(double) * (size_t)(r->nobs + 1));
	int n = 0;

	for (int i = 0; i < r->nobs; i++)
		if (r->obs[i].wl == wl && r->obs[i].cfg == cfg)
			v[n++] = metric(r, &r->obs[i], m);
	stats_of(v, n, s);
	free(v);
}

/* Configurations with results for workload wl, in configuration order. */
static int wl_configs(const struct rep *r, int wl, int *out)
{
	int n = 0;

	for (int c = 0; c < r->rd.ncfg; c++)
		for (int i = 0; i < r->nobs; i++)
			if (r->obs[i].wl == wl && r->obs[i].cfg == c) {
				out[n++] = c;
				break;
			}
	return n;
}

/* A short label: id and the values of the params that differ between the configurations in
 * cfgs (all of them if only one). */
static char *cfg_label(const struct rep *r, const int *cfgs, int n, int c)
{
	const struct resultdir_config *cc = &r->rd.cfg[c];
	char *out = xstrdup(cc->id);

	for (int k = 0; k < cc->nkv; k++) {
		int differs = 0;

		for (int i = 0; i < n && !differs; i++) {
			const char *v = resultdir_param(&r->rd.cfg[cfgs[i]], cc->keys[k]);

			differs = !v || strcmp(v, cc->vals[k]) != 0;
		}
		if (differs) {
			char *s = xasprintf("%s %s", out, cc->vals[k]);

			free(out);
			out = s;
		}
	}
	return out;
}

/* ---- gnuplot ------------------------------------------------------------------------------ */

static const char *find_gnuplot(void)
{
	static char found[4096];
	const char *env = getenv("KVMIO_GNUPLOT");

	if (env && *env)
		return access(env, X_OK) == 0 ? env : NULL;
	return path_search("gnuplot", found, sizeof(found)) == 0 ? found : NULL;
}

/* Run argv with stdout and stderr into out_path; returns the exit status or -1. */
static int spawn(char *const argv[], const char *out_path)
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int nul = open("/dev/null", O_RDONLY);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (nul >= 0)
			dup2(nul, 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct chart {
	FILE *data;
	FILE *script;
	char *data_path, *script_path, *svg_path;
	int id;
};

static void chart_begin(struct rep *r, struct chart *c, int width, int height)
{
	c->id = ++r->nchart;
	c->data_path = xasprintf("%s/c%d.dat", r->tmpdir, c->id);
	c->script_path = xasprintf("%s/c%d.gp", r->tmpdir, c->id);
	c->svg_path = xasprintf("%s/c%d.svg", r->tmpdir, c->id);
	c->data = fopen(c->data_path, "w");
	c->script = fopen(c->script_path, "w");
	if (!c->data || !c->script) {
		fprintf(stderr, "kvmio: report: %s: %s\n", r->tmpdir, strerror(errno));
		exit(1);
	}
	fprintf(c->script,
		"set terminal svg size %d,%d noenhanced font 'sans,11' background '#ffffff'\n"
		"set output '%s'\n"
		"set datafile missing 'nan'\n"
		"set grid ytics lc rgb '#dddddd'\n"
		"set border 3\nset tics nomirror\n"
		"set key top left reverse Left noopaque font ',10'\n",
		width, height, c->svg_path);
}

/* Close the files, run gnuplot, inline the SVG in out (ids prefixed per chart). */
static int chart_end(struct rep *r, struct chart *c, FILE *out, const char *title,
		     const char *kind, const char *caption)
{
	char *log_path = xasprintf("%s/c%d.err", r->tmpdir, c->id), *svg, *p, *start;
	char *argv[] = { (char *)r->gnuplot, c->script_path, NULL };
	int rc = 0;

	fclose(c->data);
	fclose(c->script);
	if (spawn(argv, log_path) != 0 || !(svg = file_read(c->svg_path, NULL))) {
		char *msg = file_read(log_path, NULL);

		if (msg)
			msg[strcspn(msg, "\n")] = '\0';
		fprintf(stderr, "kvmio: report: gnuplot failed on %s: %s\n", c->script_path,
			msg && *msg ? msg : "no output");
		free(msg);
		free(log_path);
		return -1;
	}
	fprintf(out, "<figure class=\"chart %s\">\n", kind);
	start = strstr(svg, "<svg");
	if (!start)
		start = svg;
	for (p = start; *p;) {
		if (!strncmp(p, "id='gp", 6) || !strncmp(p, "id=\"gp", 6)) {
			fprintf(out, "id=%ck%d-gp", p[3], c->id);
			p += 6;
		} else if (!strncmp(p, "#gp", 3)) {
			fprintf(out, "#k%d-gp", c->id);
			p += 3;
		} else if (!strncmp(p, "id=\"gnuplot_canvas\"", 19)) {
			fprintf(out, "id=\"k%d-canvas\"", c->id);
			p += 19;
		} else if (!strncmp(p, "<title>Gnuplot</title>", 22)) {
			fputs("<title>", out);
			html_esc(out, title);
			fputs("</title>", out);
			p += 22;
		} else {
			fputc(*p++, out);
		}
	}
	fputs("<figcaption>", out);
	html_esc(out, caption);
	fputs("</figcaption>\n</figure>\n", out);
	free(svg);
	free(log_path);
	unlink(c->data_path);
	unlink(c->script_path);
	unlink(c->svg_path);
	free(c->data_path);
	free(c->script_path);
	free(c->svg_path);
	return rc;
}

static void gp_title(FILE *s, const char *cmd, const char *text)
{
	char *t = gp_label(text);

	fprintf(s, "set %s '%s'\n", cmd, t);
	free(t);
}

/* Bars of the primary metric, median with min..max error bars. */
static int chart_bars(struct rep *r, FILE *out, int wl, const int *cfgs, int n)
{
	const struct workload *w = &r->wls[wl];
	struct chart c;
	char *title = xasprintf("%s %s: %s", w->bench, w->name, primary_label(w));
	int ret;

	chart_begin(r, &c, 520, 330);
	for (int i = 0; i < n; i++) {
		struct stat5 s;
		char *l = cfg_label(r, cfgs, n, cfgs[i]), *gl = gp_label(l);

		wl_stats(r, wl, cfgs[i], r->wls[wl].primary, &s);
		fprintf(c.data, "%d \"%s\" %.6g %.6g %.6g\n", i, gl, s.median, s.min, s.max);
		free(l);
		free(gl);
	}
	gp_title(c.script, "title", title);
	gp_title(c.script, "ylabel", primary_label(w));
	fprintf(c.script,
		"set style fill solid 0.55 border -1\nset boxwidth 0.6\n"
		"set xrange [-0.6:%d.6]\nset yrange [0:*]\nset xtics rotate by -25 font ',9'\n"
		"unset key\nset bmargin 6\n"
		"plot '%s' using 1:3:xtic(2) with boxes lc rgb '#4e79a7', "
		"'' using 1:3:4:5 with yerrorbars lc rgb '#222222' pt 7 ps 0.5\n",
		n - 1, c.data_path);
	ret = chart_end(r, &c, out, title, "bars",
			"Median of the repeats; error bars span min..max.");
	free(title);
	return ret;
}

static int cmp_hbin(const void *a, const void *b)
{
	double x = ((const struct hbin *)a)->lower, y = ((const struct hbin *)b)->lower;

	return x < y ? -1 : x > y;
}

/* Sum the histograms of every repeat of (wl, cfg); returns bins (sorted, merged). */
static struct hbin *merged_hist(const struct rep *r, int wl, int cfg, int *nout, double *hz)
{
	struct hbin *h = NULL;
	int n = 0, m = 0;

	*hz = 0;
	for (int i = 0; i < r->nobs; i++) {
		const struct obs *o = &r->obs[i];

		if (o->wl != wl || o->cfg != cfg)
			continue;
		if (o->hz > 0)
			*hz = o->hz;
		h = xrealloc(h, sizeof(*h) * (size_t)(n + o->nhist));
		memcpy(h + n, o->hist, sizeof(*h) * (size_t)o->nhist);
		n += o->nhist;
	}
	if (n)
		qsort(h, (size_t)n, sizeof(*h), cmp_hbin);
	for (int i = 0; i < n; i++) {
		if (m && h[m - 1].lower == h[i].lower)
			h[m - 1].count += h[i].count;
		else
			h[m++] = h[i];
	}
	*nout = m;
	return h;
}

static int has_hist(const struct rep *r, int wl)
{
	for (int i = 0; i < r->nobs; i++)
		if (r->obs[i].wl == wl && r->obs[i].nhist)
			return 1;
	return 0;
}

/* Latency CDFs from the summed hist buckets, one step line per configuration. */
static int chart_cdf(struct rep *r, FILE *out, int wl, const int *cfgs, int n)
{
	const struct workload *w = &r->wls[wl];
	struct chart c;
	char *title = xasprintf("%s %s: latency CDF (%s)", w->bench, w->name, lat_unit(w));
	int ret, block = 0;

	chart_begin(r, &c, 520, 330);
	gp_title(c.script, "title", title);
	fprintf(c.script, "set logscale x 10\nset yrange [0:1.02]\nset ytics 0.1\n"
			  "set grid xtics mxtics lc rgb '#dddddd'\n"
			  "set key bottom right noreverse Right\n");
	gp_title(c.script, "xlabel", w->cycles ? "cycles per operation (bucket lower bound)"
					     : "us per operation (bucket lower bound)");
	gp_title(c.script, "ylabel", "fraction of operations");
	fprintf(c.script, "plot ");
	for (int i = 0; i < n; i++) {
		double hz, total = 0, cum = 0;
		int nb;
		struct hbin *h = merged_hist(r, wl, cfgs[i], &nb, &hz);
		char *l = cfg_label(r, cfgs, n, cfgs[i]), *gl = gp_label(l);
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
	ret = chart_end(r, &c, out, title, "cdf",
			"Histograms of all repeats summed; quarter-octave buckets, log x.");
	free(title);
	return ret;
}

static int has_metric(const struct rep *r, int wl, enum metric_id m)
{
	for (int i = 0; i < r->nobs; i++)
		if (r->obs[i].wl == wl && !isnan(metric(r, &r->obs[i], m)))
			return 1;
	return 0;
}

/* p50 latency (left axis) beside accesses/op and interrupts/op (right axis). */
static int chart_access(struct rep *r, FILE *out, int wl, const int *cfgs, int n)
{
	const struct workload *w = &r->wls[wl];
	struct chart c;
	char *title = xasprintf("%s %s: p50 latency and device accesses per op", w->bench,
				w->name);
	char *yl = xasprintf("p50 latency (%s)", lat_unit(w));
	int ret;

	chart_begin(r, &c, 520, 330);
	for (int i = 0; i < n; i++) {
		struct stat5 p, a, q;
		char *l = cfg_label(r, cfgs, n, cfgs[i]), *gl = gp_label(l);

		wl_stats(r, wl, cfgs[i], METRIC_P50, &p);
		wl_stats(r, wl, cfgs[i], METRIC_ACC_OP, &a);
		wl_stats(r, wl, cfgs[i], METRIC_IRQ_OP, &q);
		fprintf(c.data, "%d \"%s\" %.6g %.6g %.6g\n", i, gl, p.median, a.median, q.median);
		free(l);
		free(gl);
	}
	gp_title(c.script, "title", title);
	gp_title(c.script, "ylabel", yl);
	gp_title(c.script, "y2label", "per operation");
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
	ret = chart_end(r, &c, out, title, "access",
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

static int wl_field(const struct rep *r, int wl, int bs)
{
	for (int i = 0; i < r->nobs; i++)
		if (r->obs[i].wl == wl)
			return bs ? r->obs[i].bs : r->obs[i].qd;
	return -1;
}

static int cmp_int2(const void *a, const void *b)
{
	const int *x = a, *y = b;

	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* All sweep charts of one kind; returns the number drawn or -1. */
static int sweeps(struct rep *r, FILE *out, int bs_sweep, FILE *sum)
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
			if (!strcmp(k2, key) && wl_field(r, v, bs_sweep) > 0) {
				pts[np][0] = wl_field(r, v, bs_sweep);
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
			struct chart c;
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
			chart_begin(r, &c, 520, 330);
			gp_title(c.script, "title", title);
			gp_title(c.script, "xlabel", bs_sweep ? "block size (KiB)" : "queue depth");
			ylabel = xasprintf("%s (median)", metrics[m].label);
			gp_title(c.script, "ylabel", ylabel);
			free(ylabel);
			fprintf(c.script, "set logscale x 2\nset yrange [0:*]\nset offsets graph 0.05, graph 0.05, 0, 0\nplot ");
			if (sum)
				fprintf(sum, "\n%s\n", title);
			for (int ci = 0; ci < nc; ci++) {
				char *l = cfg_label(r, cfgs, nc, cfgs[ci]), *gl = gp_label(l);
				int rows = 0;

				if (sum)
					fprintf(sum, "  %-28s", l);
				for (int i = 0; i < np; i++) {
					struct stat5 s;

					wl_stats(r, pts[i][1], cfgs[ci], m, &s);
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
			if (chart_end(r, &c, out, title, bs_sweep ? "sweep-bs" : "sweep-qd",
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

/* ---- header ------------------------------------------------------------------------------- */

static char *qemu_version(struct rep *r)
{
	const char *q = getenv("KVMIO_QEMU");
	char *argv[] = { (char *)(q && *q ? q : "qemu-system-x86_64"), "--version", NULL };
	char *path = xasprintf("%s/qemu-version", r->tmpdir), *text, *res;

	if (spawn(argv, path) != 0 || !(text = file_read(path, NULL)) || !*text) {
		unlink(path);
		free(path);
		return xstrdup("unknown (qemu-system-x86_64 --version failed)");
	}
	unlink(path);
	free(path);
	text[strcspn(text, "\n")] = '\0';
	res = xstrdup(text);
	free(text);
	return res;
}

static char *host_cpu(void)
{
	char *text = file_read("/proc/cpuinfo", NULL), *p, *res;

	if (!text)
		return xstrdup("unknown");
	p = strstr(text, "model name");
	if (!p || !(p = strchr(p, ':'))) {
		free(text);
		return xstrdup("unknown");
	}
	p += 1 + strspn(p + 1, " \t");
	p[strcspn(p, "\n")] = '\0';
	res = xstrdup(p);
	free(text);
	return res;
}

/* ---- the page ----------------------------------------------------------------------------- */

static const char css[] =
	"body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1250px}"
	"h1{margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}"
	"dl.hdr{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}"
	"dl.hdr dt{font-weight:bold}dl.hdr dd{margin:0}"
	".tcg{background:#fff4d6;border-left:4px solid #e0a800;padding:.4em .8em}"
	".charts{display:flex;flex-wrap:wrap;gap:12px}"
	"figure.chart{margin:0;border:1px solid #ddd;padding:4px;background:#fff}"
	"figure.chart svg{display:block;max-width:100%;height:auto}"
	"figcaption{font-size:80%;color:#555;padding:2px 4px}"
	"table{border-collapse:collapse;font-size:85%}"
	"th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}"
	"td.l,th.l{text-align:left}tr.noisy td.cv{background:#fde2e2}"
	"code{font-size:90%}td code{overflow-wrap:anywhere}td:first-child{white-space:nowrap}";

static void fmt_num(char *buf, size_t n, double v)
{
	if (isnan(v))
		snprintf(buf, n, "-");
	else if (fabs(v) >= 1000)
		snprintf(buf, n, "%.0f", v);
	else if (fabs(v) >= 10)
		snprintf(buf, n, "%.1f", v);
	else
		snprintf(buf, n, "%.2f", v);
}

static void td_num(FILE *out, double v, const char *cls)
{
	char b[64];

	fmt_num(b, sizeof(b), v);
	fprintf(out, "<td%s%s%s>%s</td>", cls ? " class=\"" : "", cls ? cls : "", cls ? "\"" : "",
		b);
}

static void write_table(struct rep *r, FILE *out, int *cfgs)
{
	fputs("<section class=\"table\" id=\"figures\">\n<h2>All figures</h2>\n"
	      "<p>Per workload and configuration over its repeats: the primary metric's median, min, "
	      "max, coefficient of variation (rows with CV over 5 % are noisy) and 95 % confidence "
	      "interval of the mean (Student's t); medians of p50/p99 latency, accesses and "
	      "interrupts per operation.</p>\n<table>\n<thead><tr><th class=\"l\">workload</th>"
	      "<th class=\"l\">config</th><th class=\"l\">parameters</th><th>n</th>"
	      "<th class=\"l\">metric</th><th>median</th><th>min</th><th>max</th><th>CV %</th>"
	      "<th>95 % CI</th><th>p50</th><th>p99</th><th class=\"l\">unit</th><th>acc/op</th>"
	      "<th>irq/op</th></tr></thead>\n<tbody>\n",
	      out);
	for (int w = 0; w < r->nwls; w++) {
		int n = wl_configs(r, w, cfgs);

		for (int i = 0; i < n; i++) {
			struct stat5 s, p50, p99, a, q;
			char lo[64], hi[64];

			wl_stats(r, w, cfgs[i], r->wls[w].primary, &s);
			wl_stats(r, w, cfgs[i], METRIC_P50, &p50);
			wl_stats(r, w, cfgs[i], METRIC_P99, &p99);
			wl_stats(r, w, cfgs[i], METRIC_ACC_OP, &a);
			wl_stats(r, w, cfgs[i], METRIC_IRQ_OP, &q);
			fprintf(out, "<tr%s><td class=\"l\">",
				!isnan(s.cv) && s.cv > 0.05 ? " class=\"noisy\"" : "");
			html_esc(out, r->wls[w].bench);
			fputc(' ', out);
			html_esc(out, r->wls[w].name);
			fputs("</td><td class=\"l\">", out);
			html_esc(out, r->rd.cfg[cfgs[i]].id);
			fputs("</td><td class=\"l\"><code>", out);
			html_esc(out, r->rd.cfg[cfgs[i]].params);
			fprintf(out, "</code></td><td>%d</td><td class=\"l\">", s.n);
			html_esc(out, primary_label(&r->wls[w]));
			fputs("</td>", out);
			td_num(out, s.median, NULL);
			td_num(out, s.min, NULL);
			td_num(out, s.max, NULL);
			td_num(out, isnan(s.cv) ? NAN : s.cv * 100, "cv");
			fmt_num(lo, sizeof(lo), s.ci_lo);
			fmt_num(hi, sizeof(hi), s.ci_hi);
			if (isnan(s.ci_lo))
				fputs("<td>-</td>", out);
			else
				fprintf(out, "<td>%s..%s</td>", lo, hi);
			td_num(out, p50.median, NULL);
			td_num(out, p99.median, NULL);
			fprintf(out, "<td class=\"l\">%s</td>", lat_unit(&r->wls[w]));
			td_num(out, a.median, NULL);
			td_num(out, q.median, NULL);
			fputs("</tr>\n", out);
		}
	}
	fputs("</tbody>\n</table>\n</section>\n", out);
}

static void write_summary_wl(struct rep *r, FILE *sum, int w, const int *cfgs, int n)
{
	const struct workload *wl = &r->wls[w];

	fprintf(sum, "\n%s %s: %s (median [min..max] cv n), p50/p99 %s, acc/op, irq/op\n",
		wl->bench, wl->name, primary_label(wl), lat_unit(wl));
	for (int i = 0; i < n; i++) {
		struct stat5 s, p50, p99, a, q;
		char *l = cfg_label(r, cfgs, n, cfgs[i]);
		char m[32], mn[32], mx[32], b50[32], b99[32], ba[32], bq[32], cv[32] = "-";

		wl_stats(r, w, cfgs[i], r->wls[w].primary, &s);
		wl_stats(r, w, cfgs[i], METRIC_P50, &p50);
		wl_stats(r, w, cfgs[i], METRIC_P99, &p99);
		wl_stats(r, w, cfgs[i], METRIC_ACC_OP, &a);
		wl_stats(r, w, cfgs[i], METRIC_IRQ_OP, &q);
		fmt_num(m, sizeof(m), s.median);
		fmt_num(mn, sizeof(mn), s.min);
		fmt_num(mx, sizeof(mx), s.max);
		fmt_num(b50, sizeof(b50), p50.median);
		fmt_num(b99, sizeof(b99), p99.median);
		fmt_num(ba, sizeof(ba), a.median);
		fmt_num(bq, sizeof(bq), q.median);
		if (!isnan(s.cv))
			snprintf(cv, sizeof(cv), "%.1f%%", s.cv * 100);
		fprintf(sum, "  %-28s %10s [%s..%s] cv %s n=%d  p50 %s p99 %s  acc/op %s irq/op %s%s\n",
			l, m, mn, mx, cv, s.n, b50, b99, ba, bq, !isnan(s.cv) && s.cv > 0.05 ? "  NOISY" : "");
		free(l);
	}
}

static int write_page(struct rep *r, FILE *out, FILE *sum)
{
	char *qemu = qemu_version(r), *cpu = host_cpu(), date[64];
	time_t now = time(NULL);
	int *cfgs = xrealloc(NULL, sizeof(int) * (size_t)(r->rd.ncfg + 1));
	int nrun = 0, nskip = 0, rc = 0;

	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %Z", localtime(&now));
	for (int i = 0; i < r->rd.ncfg; i++) {
		nskip += r->rd.cfg[i].skip;
		nrun += r->used[i];
	}
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>"
	      "kvmio report: ", out);
	html_esc(out, r->rd.dir);
	fprintf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n<header>\n<h1>kvmio report</h1>\n"
		"<dl class=\"hdr\">\n", css);
#define HDR(label, val) do { fputs("<dt>" label "</dt><dd>", out); html_esc(out, val); \
		fputs("</dd>\n", out); } while (0)
	HDR("result directory", r->rd.dir);
	HDR("accelerator", r->rd.flavours ? r->rd.flavours : r->accels ? r->accels : "unknown");
	HDR("QEMU", qemu);
	HDR("host CPU", cpu);
	HDR("kvmio build", r->builds ? r->builds : "unknown");
	HDR("date", date);
#undef HDR
	fprintf(out, "<dt>runs</dt><dd>%d configurations with results, %d skipped, %d runs, %d "
		"result records</dd>\n</dl>\n", nrun, nskip, r->nruns, r->nobs);
	if (r->tcg)
		fputs("<p class=\"tcg\">" TCG_SENTENCE "</p>\n", out);
	if (r->rd.nflavours > 1)
		fputs("<p class=\"tcg\">" FLAVOURS_SENTENCE "</p>\n", out);
	fputs("</header>\n<nav>\n<h2>Workloads</h2>\n<ul>\n", out);
	for (int w = 0; w < r->nwls; w++) {
		fprintf(out, "<li><a href=\"#w%d\">", w + 1);
		html_esc(out, r->wls[w].bench);
		fputc(' ', out);
		html_esc(out, r->wls[w].name);
		fputs("</a></li>\n", out);
	}
	fputs("<li><a href=\"#sweeps\">sweeps</a></li>\n<li><a href=\"#figures\">all figures</a>"
	      "</li>\n</ul>\n</nav>\n", out);

	fprintf(sum, "kvmio report: %s\naccelerator: %s\n", r->rd.dir,
		r->rd.flavours ? r->rd.flavours : r->accels ? r->accels : "unknown");
	if (r->tcg)
		fprintf(sum, "  " TCG_SENTENCE "\n");
	if (r->rd.nflavours > 1)
		fprintf(sum, "  " FLAVOURS_SENTENCE "\n");
	fprintf(sum, "QEMU: %s\nhost CPU: %s\nkvmio build: %s\ndate: %s\n"
		"%d configurations with results, %d skipped, %d runs, %d result records\n",
		qemu, cpu, r->builds ? r->builds : "unknown", date, nrun, nskip, r->nruns, r->nobs);

	for (int w = 0; w < r->nwls && rc == 0; w++) {
		int n = wl_configs(r, w, cfgs);

		fprintf(out, "<section class=\"workload\" id=\"w%d\">\n<h2>", w + 1);
		html_esc(out, r->wls[w].bench);
		fputs(" &middot; ", out);
		html_esc(out, r->wls[w].name);
		fputs("</h2>\n<div class=\"charts\">\n", out);
		if (chart_bars(r, out, w, cfgs, n) < 0)
			rc = -1;
		if (rc == 0 && has_hist(r, w) && chart_cdf(r, out, w, cfgs, n) < 0)
			rc = -1;
		if (rc == 0 && has_metric(r, w, METRIC_ACC_OP) && chart_access(r, out, w, cfgs, n) < 0)
			rc = -1;
		fputs("</div>\n</section>\n", out);
		write_summary_wl(r, sum, w, cfgs, n);
	}
	if (rc == 0) {
		int q, b;

		fputs("<section class=\"sweeps\" id=\"sweeps\">\n<h2>Sweeps</h2>\n"
		      "<div class=\"charts\">\n", out);
		q = sweeps(r, out, 0, sum);
		b = q < 0 ? -1 : sweeps(r, out, 1, sum);
		if (q < 0 || b < 0)
			rc = -1;
		else if (q + b == 0)
			fputs("<p>No job swept qd or bs.</p>\n", out);
		fputs("</div>\n</section>\n", out);
	}
	if (rc == 0) {
		write_table(r, out, cfgs);
		if (nskip) {
			fputs("<section class=\"skipped\" id=\"skipped\">\n<h2>Skipped configurations"
			      "</h2>\n<ul>\n", out);
			fprintf(sum, "\nskipped:\n");
			for (int i = 0; i < r->rd.ncfg; i++) {
				if (!r->rd.cfg[i].skip)
					continue;
				fputs("<li>", out);
				html_esc(out, r->rd.cfg[i].id);
				fputs(" <code>", out);
				html_esc(out, r->rd.cfg[i].params);
				fputs("</code>: ", out);
				html_esc(out, r->rd.cfg[i].reason);
				fputs("</li>\n", out);
				fprintf(sum, "  %s %s: %s\n", r->rd.cfg[i].id, r->rd.cfg[i].params,
					r->rd.cfg[i].reason);
			}
			fputs("</ul>\n</section>\n", out);
		}
	}
	fputs("</body>\n</html>\n", out);
	free(cfgs);
	free(qemu);
	free(cpu);
	return rc;
}

static void rep_free(struct rep *r)
{
	for (int i = 0; i < r->nobs; i++)
		free(r->obs[i].hist);
	for (int i = 0; i < r->nwls; i++) {
		free(r->wls[i].bench);
		free(r->wls[i].name);
	}
	free(r->used);
	free(r->obs);
	free(r->wls);
	free(r->accels);
	free(r->builds);
	resultdir_free(&r->rd);
}

int htmlreport_write(const char *dir, const char *html_path, FILE *summary_out)
{
	struct rep r;
	char err[512], *sum_path = NULL, *sum_text = NULL, *tmp_html = NULL;
	FILE *out = NULL, *sum = NULL;
	int rows, rc = 1;
	size_t sum_len = 0;

	memset(&r, 0, sizeof(r));
	r.gnuplot = find_gnuplot();
	if (!r.gnuplot) {
		fprintf(stderr, "kvmio: report: gnuplot not found: apt-get install gnuplot-nox\n");
		return 1;
	}
	if (resultdir_load(dir, RESULTDIR_MATRIX_OPTIONAL, &r.rd, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvmio: report: %s\n", err);
		return 1;
	}
	r.used = xrealloc(NULL, sizeof(int) * (size_t)(r.rd.ncfg + 1));
	memset(r.used, 0, sizeof(int) * (size_t)(r.rd.ncfg + 1));
	for (int i = 0; i < r.rd.nruns; i++)
		load_run(&r, &r.rd.run[i]);
	rows = r.rd.nrows;
	if (rows == 0 || r.nobs == 0) {
		fprintf(stderr, "kvmio: report: %s/results.csv: no results%s\n", dir,
			rows ? " in the serial logs" : "");
		goto done;
	}
	snprintf(r.tmpdir, sizeof(r.tmpdir), "/tmp/kvmio-report.XXXXXX");
	if (!mkdtemp(r.tmpdir)) {
		fprintf(stderr, "kvmio: report: mkdtemp: %s\n", strerror(errno));
		r.tmpdir[0] = '\0';
		goto done;
	}
	tmp_html = xasprintf("%s.tmp", html_path);
	out = fopen(tmp_html, "w");
	sum = open_memstream(&sum_text, &sum_len);
	if (!out || !sum) {
		fprintf(stderr, "kvmio: report: %s: %s\n", tmp_html, strerror(errno));
		goto done;
	}
	if (write_page(&r, out, sum) != 0)
		goto done;
	if (fclose(out) != 0) {
		out = NULL;
		fprintf(stderr, "kvmio: report: %s: %s\n", tmp_html, strerror(errno));
		goto done;
	}
	out = NULL;
	if (rename(tmp_html, html_path) != 0) {
		fprintf(stderr, "kvmio: report: %s: %s\n", html_path, strerror(errno));
		goto done;
	}
	fclose(sum);
	sum = NULL;
	sum_path = xasprintf("%s/summary.txt", dir);
	{
		FILE *f = fopen(sum_path, "w");

		if (!f || fwrite(sum_text, 1, sum_len, f) != sum_len || fclose(f) != 0) {
			fprintf(stderr, "kvmio: report: %s: %s\n", sum_path, strerror(errno));
			goto done;
		}
	}
	if (summary_out) {
		fwrite(sum_text, 1, sum_len, summary_out);
		fprintf(summary_out, "\nreport: %s\n", html_path);
		fflush(summary_out);
	}
	rc = 0;
done:
	if (out) {
		fclose(out);
		unlink(tmp_html);
	}
	if (sum)
		fclose(sum);
	if (r.tmpdir[0]) {
		char *argv[] = { "rm", "-rf", r.tmpdir, NULL };

		spawn(argv, "/dev/null");
	}
	free(tmp_html);
	free(sum_text);
	free(sum_path);
	rep_free(&r);
	return rc;
}

int htmlreport_cmd(int argc, char **argv)
{
	const char *dir = NULL, *out = NULL;
	char *def = NULL;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
			if (i + 1 >= argc)
				return usage_error("report: %s needs a file", argv[i]);
			out = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage_error("report: unknown option '%s'", argv[i]);
		} else if (!dir) {
			dir = argv[i];
		} else {
			return usage_error("report: one result directory only");
		}
	}
	if (!dir)
		return usage_error("report: no result directory given");
	if (!out)
		out = def = xasprintf("%s/report.html", dir);
	rc = htmlreport_write(dir, out, stdout);
	free(def);
	return rc;
}
