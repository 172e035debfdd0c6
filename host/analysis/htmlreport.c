/* kvmio report: an HTML page with gnuplot charts, and a text summary, from a result directory.
 *
 * The figures come from analysis/runset.c (the result directory's finished runs, statistics
 * over their repeats from analysis/stats.c), the charts from analysis/charts.c. One
 * self-contained page: charts inlined as SVG, no JavaScript, no external resources. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "analysis/calibrate.h"
#include "analysis/charts.h"
#include "analysis/compare.h"
#include "analysis/htmlreport.h"
#include "boot/hostinfo.h"
#include "boot/qemubin.h"
#include "kvmio_proto.h"
#include "lib/args.h"
#include "lib/file.h"
#include "lib/html.h"
#include "lib/proc.h"
#include "lib/xalloc.h"
#include "proto/figures.h"

#define TCG_SENTENCE \
	"TCG figures compare device models under emulation; they are not KVM figures."
#define FLAVOURS_SENTENCE \
	"These runs come from more than one accelerator flavour: a difference between flavours " \
	"is not a device-model difference."

/* ---- header ------------------------------------------------------------------------------- */

/* Without qemu columns in results.csv (older result directories): the binary kvmio would run
 * now, as qemubin.c finds it. */
static char *qemu_version(void)
{
	const char *q = getenv("KVMIO_QEMU");
	const struct qemu_binary *b = qemubin_probe(q && *q ? q : "qemu-system-x86_64");

	if (!b->usable)
		return xasprintf("unknown (%s)", b->why);
	return xasprintf("%s: %s, build sha256:%s", b->path, b->version, b->build);
}

/* The A/B section: configurations that differ only in qemu, disk_props or net_props against
 * the first one's value (compare_ab_rows), as a chart and a table. 0, or -1 (gnuplot). */
static int write_ab(struct gnuplot *gp, const char *dir, FILE *out, FILE *sum)
{
	struct cmp_data d;
	struct cmp_ab_row *rows;
	char err[512];
	int n, rc = 0;

	if (compare_load(dir, &d, err, sizeof(err)) != 0)
		return 0;    /* no matrix.tsv: no A/B section */
	n = compare_ab_rows(&d, &rows);
	if (n > 0) {
		fputs("<section class=\"ab\" id=\"ab\">\n<h2>A/B</h2>\n<p>Configurations that "
		      "differ only in the QEMU binary or a device property, against the first "
		      "configuration's value; primary metric, Mann-Whitney U test.</p>\n"
		      "<div class=\"charts\">\n", out);
		rc = charts_ab(gp, out, &d, rows, n);
		fputs("</div>\n<table>\n<thead><tr><th>pair</th><th>differs</th><th>workload</th>"
		      "<th>metric</th><th>ratio</th><th>95 % CI</th><th>p</th><th>verdict</th>"
		      "<th>n</th></tr></thead>\n<tbody>\n", out);
		fprintf(sum, "\nA/B (sorted by effect):\n");
		for (int i = 0; i < n; i++) {
			const struct cmp_ab_row *x = &rows[i];
			char *pair = xasprintf("%s vs %s", d.rd.cfg[x->other].id, d.rd.cfg[x->base].id);
			char *wl = xasprintf("%s %s", d.wl[x->wl].bench, d.wl[x->wl].name);
			char *ci = isnan(x->r.ratio_lo) ? xstrdup("-")
				   : xasprintf("[%.3f, %.3f]", x->r.ratio_lo, x->r.ratio_hi);
			char *p = isnan(x->r.p) ? xstrdup("-") : xasprintf("%.4f", x->r.p);

			fputs("<tr><td>", out);
			html_escape(out, pair);
			fputs("</td><td>", out);
			html_escape(out, x->differs);
			fputs("</td><td>", out);
			html_escape(out, wl);
			fprintf(out, "</td><td>%s</td><td>%.3f</td><td>%s</td><td>%s</td><td>",
				metrics[x->metric].name, x->r.ratio, ci, p);
			html_escape(out, compare_verdict_text(x->r.verdict));
			fprintf(out, "</td><td>%zu/%zu</td></tr>\n", x->r.base.n, x->r.other.n);
			fprintf(sum, "  %s (%s) %s %s: ratio %.3f %s p %s: %s\n", pair, x->differs, wl,
				metrics[x->metric].name, x->r.ratio, ci, p,
				compare_verdict_text(x->r.verdict));
			free(pair);
			free(wl);
			free(ci);
			free(p);
		}
		fputs("</tbody>\n</table>\n</section>\n", out);
	}
	compare_ab_rows_free(rows, n > 0 ? n : 0);
	compare_free(&d);
	return rc;
}

/* The host CPU's model name, as kvmio host finds it. */
static char *host_cpu(void)
{
	char *text = file_read("/proc/cpuinfo", NULL);
	struct host_facts f;

	memset(&f, 0, sizeof(f));
	host_parse_cpuinfo(&f, text);
	free(text);
	return xstrdup(f.cpu_model[0] ? f.cpu_model : "unknown");
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
	"code{font-size:90%}td code{overflow-wrap:anywhere}td:first-child{white-space:nowrap}"
	"tr.disagrees td.check{background:#fde2e2}";

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

static void write_table(const struct runset *r, FILE *out, int *cfgs)
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
		int n = runset_configs(r, w, cfgs);

		for (int i = 0; i < n; i++) {
			struct stat5 s, p50, p99, a, q;
			char lo[64], hi[64];

			runset_stats(r, w, cfgs[i], r->wls[w].primary, &s);
			runset_stats(r, w, cfgs[i], METRIC_P50, &p50);
			runset_stats(r, w, cfgs[i], METRIC_P99, &p99);
			runset_stats(r, w, cfgs[i], METRIC_ACC_OP, &a);
			runset_stats(r, w, cfgs[i], METRIC_IRQ_OP, &q);
			fprintf(out, "<tr%s><td class=\"l\">",
				!isnan(s.cv) && s.cv > 0.05 ? " class=\"noisy\"" : "");
			html_escape(out, r->wls[w].bench);
			fputc(' ', out);
			html_escape(out, r->wls[w].name);
			fputs("</td><td class=\"l\">", out);
			html_escape(out, r->rd.cfg[cfgs[i]].id);
			fputs("</td><td class=\"l\"><code>", out);
			html_escape(out, r->rd.cfg[cfgs[i]].params);
			fprintf(out, "</code></td><td>%d</td><td class=\"l\">", s.n);
			html_escape(out, runset_primary_label(&r->wls[w]));
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
			fprintf(out, "<td class=\"l\">%s</td>", runset_lat_unit(&r->wls[w]));
			td_num(out, a.median, NULL);
			td_num(out, q.median, NULL);
			fputs("</tr>\n", out);
		}
	}
	fputs("</tbody>\n</table>\n</section>\n", out);
}

static void write_summary_wl(const struct runset *r, FILE *sum, int w, const int *cfgs,
			     int n)
{
	const struct workload *wl = &r->wls[w];

	fprintf(sum, "\n%s %s: %s (median [min..max] cv n), p50/p99 %s, acc/op, irq/op\n",
		wl->bench, wl->name, runset_primary_label(wl), runset_lat_unit(wl));
	for (int i = 0; i < n; i++) {
		struct stat5 s, p50, p99, a, q;
		char *l = runset_label(r, cfgs, n, cfgs[i]);
		char m[32], mn[32], mx[32], b50[32], b99[32], ba[32], bq[32], cv[32] = "-";

		runset_stats(r, w, cfgs[i], r->wls[w].primary, &s);
		runset_stats(r, w, cfgs[i], METRIC_P50, &p50);
		runset_stats(r, w, cfgs[i], METRIC_P99, &p99);
		runset_stats(r, w, cfgs[i], METRIC_ACC_OP, &a);
		runset_stats(r, w, cfgs[i], METRIC_IRQ_OP, &q);
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

/* What the measurement says about itself (runset checks): near the top, because it qualifies
 * every figure below it. */
static void write_checks(const struct runset *r, FILE *out, FILE *sum)
{
	fputs("<section class=\"checks\" id=\"checks\">\n<h2>Measurement checks</h2>\n", out);
	if (!r->nchecks) {
		fprintf(out, "<p>None raised: every run's guest TSC is within %g %% of its host's "
			"(where the host's was recorded), no series drifted more than %g %% between "
			"its halves, none was cut short by its sample cap.</p>\n</section>\n",
			HOST_TSC_TOLERANCE_PPM / 1e4, FIGURES_DRIFT_LIMIT_PCT);
		fprintf(sum, "\nmeasurement checks: none raised\n");
		return;
	}
	fprintf(out, "<p class=\"tcg\">%d measurement check%s raised: the figures of these runs "
		"are less certain than their spread says.</p>\n<ul>\n", r->nchecks,
		r->nchecks == 1 ? "" : "s");
	fprintf(sum, "\nmeasurement checks (%d):\n", r->nchecks);
	for (int i = 0; i < r->nchecks; i++) {
		fputs("<li>", out);
		html_escape(out, r->checks[i]);
		fputs("</li>\n", out);
		fprintf(sum, "  %s\n", r->checks[i]);
	}
	fputs("</ul>\n</section>\n", out);
}

/* kvmio run --hosts: a Hosts section when the runs came from named hosts (DIR/hosts/) or from
 * more than one: each host's facts, state and finished runs. */
static int hosts_shown(const struct runset *r)
{
	int records = 0;

	for (int i = 0; i < r->rd.nhosts; i++)
		records |= r->rd.hosts[i].uri != NULL;
	return records || r->rd.nhosts > 1;
}

static void write_hosts(const struct runset *r, FILE *out, FILE *sum)
{
	static const char *const head[] = { "host", "URI", "state", "hostname", "flavour", "CPU",
					    "QEMU", "libvirt", "runs", "failed", "error" };

	if (!hosts_shown(r))
		return;
	fputs("<section class=\"hosts\" id=\"hosts\">\n<h2>Hosts</h2>\n<p>Rows of one configuration "
	      "from different hosts are separate groups (<code>ID@HOST</code>, parameter "
	      "<code>host</code>): <code>kvmio compare DIR --baseline host=NAME</code> sets them "
	      "side by side.</p>\n<table>\n<tr>", out);
	for (size_t k = 0; k < sizeof(head) / sizeof(head[0]); k++)
		fprintf(out, "<th>%s</th>", head[k]);
	fputs("</tr>\n", out);
	fprintf(sum, "\nhosts:\n");
	for (int i = 0; i < r->rd.nhosts; i++) {
		const struct resultdir_host *h = &r->rd.hosts[i];
		const char *v[] = { h->name, h->uri, h->state, h->hostname, h->flavour, h->cpu,
				    h->qemu_version, h->libvirt_version };

		fputs("<tr>", out);
		for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++) {
			fputs("<td>", out);
			html_escape(out, v[k] ? v[k] : "-");
			fputs("</td>", out);
		}
		fprintf(out, "<td class=\"num\">%d</td><td class=\"num\">%d</td><td>", h->nruns,
			h->nruns_failed);
		html_escape(out, h->error && h->error[0] ? h->error : "");
		fputs("</td></tr>\n", out);
		fprintf(sum, "  %s: %s, %s, %s, CPU %s, QEMU %s, libvirt %s: %d run%s (%d failed)%s%s\n",
			h->name, h->uri ? h->uri : "-", h->state ? h->state : "-",
			h->flavour ? h->flavour : "-", h->cpu ? h->cpu : "-",
			h->qemu_version ? h->qemu_version : "-",
			h->libvirt_version ? h->libvirt_version : "-", h->nruns,
			h->nruns == 1 ? "" : "s", h->nruns_failed,
			h->error && h->error[0] ? ": " : "", h->error ? h->error : "");
	}
	fputs("</table>\n</section>\n", out);
}

/* The last `kvmio calibrate` of the machine writing the report (analysis/calibrate.c), or why
 * there is none. */
static void write_calibration(FILE *out, FILE *sum)
{
	char *path = calibrate_state_path(), err[512], text[1024];
	struct calibration c;
	struct calib_info info;
	int rc = path ? calibrate_load(path, &c, &info, err, sizeof(err)) : 1;

	fputs("<section class=\"calibration\" id=\"calibration\">\n<h2>Calibration of this host"
	      "</h2>\n", out);
	if (rc == 1) {
		fputs("<p>None: <code>kvmio calibrate</code> has not been run on this host", out);
		if (path) {
			fputs(" (it keeps its last calibration in <code>", out);
			html_escape(out, path);
			fputs("</code>)", out);
		}
		fputs(".</p>\n</section>\n", out);
		fprintf(sum, "\ncalibration of this host: none (run kvmio calibrate)\n");
		free(path);
		return;
	}
	if (rc < 0) {
		fputs("<p>The calibration of this host cannot be read: ", out);
		html_escape(out, err);
		fputs(" (run <code>kvmio calibrate</code> again).</p>\n</section>\n", out);
		fprintf(sum, "\ncalibration of this host: unreadable: %s\n", err);
		free(path);
		return;
	}
	fputs("<p><code>kvmio calibrate</code> of ", out);
	html_escape(out, info.date);
	fputs(" under ", out);
	html_escape(out, info.flavour);
	fprintf(out, ", %d operations per delay, kept in <code>", info.ops);
	html_escape(out, path);
	fputs("</code>. It describes the machine writing this report, which need not be the one "
	      "that ran these results. Each device delay is injected with null-co's "
	      "<code>latency-ns</code> under virtio-blk (4K random reads, qd 1, polled); the guest's "
	      "figures are its p50 and mean minus the same path's at delay 0, beside a host thread "
	      "timing <code>clock_nanosleep</code> waits of the delay. Checked on the iothread path: "
	      "within 5 % of the host timer's p50 + 5 us.</p>\n<table>\n<thead><tr><th>delay (us)"
	      "</th><th class=\"l\">path</th><th>guest p50</th><th>guest mean</th><th>host timer "
	      "p50</th><th>host timer mean</th><th>error p50</th><th class=\"l\">check</th></tr>"
	      "</thead>\n<tbody>\n", out);
	for (int i = 0; i < c.nrows; i++) {
		const struct calib_row *w = &c.rows[i];

		fprintf(out, "<tr%s><td>%.0f</td><td class=\"l\">%s</td>",
			w->checked && !w->agrees ? " class=\"disagrees\"" : "", w->delay_us,
			calib_path_name(w->path));
		td_num(out, w->guest_p50_us, NULL);
		td_num(out, w->guest_mean_us, NULL);
		td_num(out, w->host_p50_us, NULL);
		td_num(out, w->host_mean_us, NULL);
		if (w->delay_us > 0)
			fprintf(out, "<td>%+.1f</td>", w->error_p50_us);
		else
			fputs("<td>-</td>", out);
		fprintf(out, "<td class=\"l check\">%s</td></tr>\n", w->delay_us <= 0 ? "baseline" :
			!w->checked ? "-" : w->agrees ? "agrees" : "disagrees");
	}
	fputs("</tbody>\n</table>\n", out);
	fprintf(sum, "\ncalibration of this host (%s, %s):\n", info.date, info.flavour);
	for (int p = 0; p < CALIB_NPATHS; p++)
		if (calibrate_quantum_text(&c, (enum calib_path)p, text, sizeof(text))) {
			fputs("<p>", out);
			html_escape(out, text);
			fputs("</p>\n", out);
			fprintf(sum, "  %s\n", text);
		}
	calibrate_verdict_text(&c, text, sizeof(text));
	fputs("<p>", out);
	html_escape(out, text);
	fputs("</p>\n", out);
	fprintf(sum, "  %s\n", text);
	if (info.retried[0]) {
		fputs("<p>Booted twice: ", out);
		html_escape(out, info.retried);
		fputs("</p>\n", out);
	}
	fputs("</section>\n", out);
	free(path);
}

static int write_page(struct gnuplot *gp, const struct runset *r, FILE *out, FILE *sum)
{
	char *qemu = resultdir_qemu_binaries(&r->rd), *cpu = host_cpu(), date[64];
	time_t now = time(NULL);
	int *cfgs = xrealloc(NULL, sizeof(int) * (size_t)(r->rd.ncfg + 1));
	int nrun = 0, nskip = 0, rc = 0;

	if (!qemu)
		qemu = qemu_version();
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S %Z", localtime(&now));
	for (int i = 0; i < r->rd.ncfg; i++) {
		nskip += r->rd.cfg[i].skip;
		nrun += r->used[i];
	}
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>"
	      "kvmio report: ", out);
	html_escape(out, r->rd.dir);
	fprintf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n<header>\n<h1>kvmio report</h1>\n"
		"<dl class=\"hdr\">\n", css);
#define HDR(label, val) do { fputs("<dt>" label "</dt><dd>", out); html_escape(out, val); \
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
	if (r->nchecks)
		fprintf(out, "<p class=\"tcg\"><a href=\"#checks\">%d measurement check%s</a> "
			"raised (TSC, drift, cut short).</p>\n", r->nchecks, r->nchecks == 1 ? "" : "s");
	fputs("</header>\n<nav>\n<h2>Workloads</h2>\n<ul>\n", out);
	for (int w = 0; w < r->nwls; w++) {
		fprintf(out, "<li><a href=\"#w%d\">", w + 1);
		html_escape(out, r->wls[w].bench);
		fputc(' ', out);
		html_escape(out, r->wls[w].name);
		fputs("</a></li>\n", out);
	}
	for (int i = 0; i < r->rd.ncfg; i++)
		if (resultdir_param(&r->rd.cfg[i], "qemu") ||
		    resultdir_param(&r->rd.cfg[i], "disk_props") ||
		    resultdir_param(&r->rd.cfg[i], "net_props")) {
			fputs("<li><a href=\"#ab\">A/B</a></li>\n", out);
			break;
		}
	if (hosts_shown(r))
		fputs("<li><a href=\"#hosts\">hosts</a></li>\n", out);
	fputs("<li><a href=\"#sweeps\">sweeps</a></li>\n<li><a href=\"#figures\">all figures</a>"
	      "</li>\n<li><a href=\"#checks\">measurement checks</a></li>\n"
	      "<li><a href=\"#calibration\">calibration of this host</a></li>\n</ul>\n"
	      "</nav>\n", out);

	fprintf(sum, "kvmio report: %s\naccelerator: %s\n", r->rd.dir,
		r->rd.flavours ? r->rd.flavours : r->accels ? r->accels : "unknown");
	if (r->tcg)
		fprintf(sum, "  " TCG_SENTENCE "\n");
	if (r->rd.nflavours > 1)
		fprintf(sum, "  " FLAVOURS_SENTENCE "\n");
	fprintf(sum, "QEMU: %s\nhost CPU: %s\nkvmio build: %s\ndate: %s\n"
		"%d configurations with results, %d skipped, %d runs, %d result records\n",
		qemu, cpu, r->builds ? r->builds : "unknown", date, nrun, nskip, r->nruns, r->nobs);
	write_checks(r, out, sum);
	write_hosts(r, out, sum);

	for (int w = 0; w < r->nwls && rc == 0; w++) {
		int n = runset_configs(r, w, cfgs);

		fprintf(out, "<section class=\"workload\" id=\"w%d\">\n<h2>", w + 1);
		html_escape(out, r->wls[w].bench);
		fputs(" &middot; ", out);
		html_escape(out, r->wls[w].name);
		fputs("</h2>\n<div class=\"charts\">\n", out);
		if (charts_workload(gp, r, out, w, cfgs, n) < 0)
			rc = -1;
		fputs("</div>\n</section>\n", out);
		write_summary_wl(r, sum, w, cfgs, n);
	}
	if (rc == 0) {
		int q, b;

		fputs("<section class=\"sweeps\" id=\"sweeps\">\n<h2>Sweeps</h2>\n"
		      "<div class=\"charts\">\n", out);
		q = charts_sweeps(gp, r, out, 0, sum);
		b = q < 0 ? -1 : charts_sweeps(gp, r, out, 1, sum);
		if (q < 0 || b < 0)
			rc = -1;
		else if (q + b == 0)
			fputs("<p>No job swept qd or bs.</p>\n", out);
		fputs("</div>\n</section>\n", out);
	}
	if (rc == 0 && write_ab(gp, r->rd.dir, out, sum) != 0)
		rc = -1;
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
				html_escape(out, r->rd.cfg[i].id);
				fputs(" <code>", out);
				html_escape(out, r->rd.cfg[i].params);
				fputs("</code>: ", out);
				html_escape(out, r->rd.cfg[i].reason);
				fputs("</li>\n", out);
				fprintf(sum, "  %s %s: %s\n", r->rd.cfg[i].id, r->rd.cfg[i].params,
					r->rd.cfg[i].reason);
			}
			fputs("</ul>\n</section>\n", out);
		}
		write_calibration(out, sum);
	}
	fputs("</body>\n</html>\n", out);
	free(cfgs);
	free(qemu);
	free(cpu);
	return rc;
}

int htmlreport_write(const char *dir, const char *html_path, FILE *summary_out)
{
	struct runset r;
	struct gnuplot gp;
	char err[512], *sum_path = NULL, *sum_text = NULL, *tmp_html = NULL;
	FILE *out = NULL, *sum = NULL;
	int rows, rc = KVMIO_EXIT_FAILED;
	size_t sum_len = 0;

	if (gnuplot_find(&gp) != 0) {
		fprintf(stderr, "kvmio: report: gnuplot not found: apt-get install gnuplot-nox\n");
		return KVMIO_EXIT_FAILED;
	}
	if (runset_load(dir, &r, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvmio: report: %s\n", err);
		return KVMIO_EXIT_FAILED;
	}
	rows = r.rd.nrows;
	if (rows == 0 || r.nobs == 0) {
		fprintf(stderr, "kvmio: report: %s/results.csv: no results%s\n", dir,
			rows ? " in the serial logs" : "");
		goto done;
	}
	if (gnuplot_start(&gp) != 0) {
		fprintf(stderr, "kvmio: report: cannot make a temporary directory: %s\n",
			strerror(errno));
		goto done;
	}
	tmp_html = xasprintf("%s.tmp", html_path);
	out = fopen(tmp_html, "w");
	sum = open_memstream(&sum_text, &sum_len);
	if (!out || !sum) {
		fprintf(stderr, "kvmio: report: %s: %s\n", tmp_html, strerror(errno));
		goto done;
	}
	if (write_page(&gp, &r, out, sum) != 0)
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
	sum_path = xasprintf("%s/" RESULTDIR_SUMMARY, dir);
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
	rc = KVMIO_EXIT_OK;
done:
	if (out) {
		fclose(out);
		unlink(tmp_html);
	}
	if (sum)
		fclose(sum);
	gnuplot_stop(&gp);
	free(tmp_html);
	free(sum_text);
	free(sum_path);
	runset_free(&r);
	return rc;
}

int cmd_report(int argc, char **argv)
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
		out = def = xasprintf("%s/" RESULTDIR_REPORT_HTML, dir);
	rc = htmlreport_write(dir, out, stdout);
	free(def);
	return rc;
}
