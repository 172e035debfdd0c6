/* The figures of a result directory's finished runs for kvmio report (runset.h). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/runset.h"
#include "boot/noise.h"
#include "boot/storage.h"
#include "analysis/stats.h"
#include "boot/hostinfo.h"
#include "lib/xalloc.h"
#include "proto/figures.h"

/* ---- statistics --------------------------------------------------------------------------- */



/* Summary of the non-NaN values, through analysis/stats.c (the same figures kvmio compare shows). */
void stat5_of(const double *v_in, int n, struct stat5 *s)
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

/* ---- loading ------------------------------------------------------------------------------ */

static double fnum(const struct record *rec, const char *key)
{
	double v;

	return record_get_number(rec, key, &v) == 0 ? v : NAN;
}

static int find_workload(struct runset *r, const char *bench, const char *name)
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

static void add_check(struct runset *r, char *line)
{
	r->checks = xrealloc(r->checks, sizeof(*r->checks) * (size_t)(r->nchecks + 1));
	r->checks[r->nchecks++] = line;
}

/* The run's guest TSC against the host's recorded beside it (HOST_TSC_TOLERANCE_PPM). */
static void check_tsc(struct runset *r, const struct resultdir_run *run, uint64_t guest_hz)
{
	const char *id = r->rd.cfg[run->cfg].id;
	uint64_t host_hz = resultdir_run_host_tsc(r->rd.dir, r->rd.cfg[run->cfg].run_id,
						  run->repeat);
	double ppm = host_tsc_error_ppm(guest_hz, host_hz);

	if (host_hz && guest_hz && fabs(ppm) > HOST_TSC_TOLERANCE_PPM)
		add_check(r, xasprintf("%s r%d: the guest's TSC (%llu Hz) is %+.0f ppm off the host's "
				       "(%llu Hz): over %g %%, its cycle-to-time figures are off by "
				       "as much", id, run->repeat, (unsigned long long)guest_hz, ppm,
				       (unsigned long long)host_hz, HOST_TSC_TOLERANCE_PPM / 1e4));
}

/* A series's own warning: a sample cap reached (its drift: check_drift, per configuration). */
static void check_series(struct runset *r, const struct resultdir_run *run,
			 const struct record *rec)
{
	const char *id = r->rd.cfg[run->cfg].id, *stopped = record_get(rec, "stopped");

	if (stopped && !strcmp(stopped, "cap"))
		add_check(r, xasprintf("%s r%d %s %s: stopped at its sample cap before time= ended",
				       id, run->repeat, record_get(rec, "bench"),
				       record_get(rec, "name")));
}

static void load_run(struct runset *r, const struct resultdir_run *run)
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
		check_tsc(r, run, hz);
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
		check_series(r, run, rec);
		if (f.has_drift)
			o->v[METRIC_DRIFT_PCT] = f.drift_pct;
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

/* The host's own noise before each run of one configuration (runs/ID/rN/host_noise): probes
 * more than NOISE_SPREAD_LIMIT_PCT points apart mean the machine changed between its runs. */
static void check_noise(struct runset *r, int cfg)
{
	const char *id = r->rd.cfg[cfg].id;
	double lo = NAN, hi = NAN;
	int n = 0;

	for (int i = 0; i < r->rd.nruns; i++) {
		double v;

		if (r->rd.run[i].cfg != cfg)
			continue;
		v = resultdir_run_host_noise(r->rd.dir, id, r->rd.run[i].repeat);
		if (isnan(v))
			continue;
		lo = n == 0 || v < lo ? v : lo;
		hi = n == 0 || v > hi ? v : hi;
		n++;
	}
	if (n >= 2 && hi - lo > NOISE_SPREAD_LIMIT_PCT)
		add_check(r, xasprintf("%s: the host took %.1f %% to %.1f %% of its CPUs in the noise "
				       "probes before its %d runs, more than %g points apart: the "
				       "machine changed between runs, and the figures' spread holds "
				       "that (runs/%s/rN/host_noise; kvmio host --noise)", id, lo, hi,
				       n, NOISE_SPREAD_LIMIT_PCT, id));
}

/* A per-run probe figure of one configuration's runs (one of resultdir's run readers), as the
 * range over them in percent of the smallest (stats_range_pct); runs without the figure (no
 * probe, or one from before kvmio measured it) are not counted. *n: the runs counted. */
static double probe_range_pct(const struct runset *r, int cfg,
			      double (*read)(const char *dir, const char *id, int repeat), int *n)
{
	double *v = xrealloc(NULL, sizeof(*v) * ((size_t)r->rd.nruns + 1)), range;

	*n = 0;
	for (int i = 0; i < r->rd.nruns; i++)
		if (r->rd.run[i].cfg == cfg) {
			v[*n] = read(r->rd.dir, r->rd.cfg[cfg].id, r->rd.run[i].repeat);
			*n += !isnan(v[*n]);
		}
	range = stats_range_pct(v, (size_t)*n);
	free(v);
	return range;
}

/* The CPUs' speed in the same probes (ns per block of work): runs of one configuration whose
 * probes' work times differ by more than NOISE_SPEED_LIMIT_PCT ran on CPUs of another speed, and
 * under TCG every guest figure is host CPU time. */
static void check_speed(struct runset *r, int cfg)
{
	int n;
	double spread = probe_range_pct(r, cfg, resultdir_run_host_work, &n);

	if (!isnan(spread) && spread > NOISE_SPEED_LIMIT_PCT)
		add_check(r, xasprintf("%s: the host's CPUs ran a fixed block of work %.1f %% slower "
				       "before some of its %d runs than before others (more than %g %%): "
				       "under TCG the figures' spread holds that (results.csv "
				       "host_work_ns; kvmio host --noise)", r->rd.cfg[cfg].id, spread, n,
				       NOISE_SPEED_LIMIT_PCT));
}

/* The storage under the configuration's image in the probes before its runs (median read, ns):
 * runs whose probes differ by more than STORAGE_SPEED_LIMIT_PCT read from storage of another
 * speed, and with cache=none every guest read is such a read (the probe runs whatever the
 * cache mode; the check says where it matters). */
static void check_storage(struct runset *r, int cfg)
{
	int n;
	double spread = probe_range_pct(r, cfg, resultdir_run_host_storage, &n);

	if (!isnan(spread) && spread > STORAGE_SPEED_LIMIT_PCT)
		add_check(r, xasprintf("%s: the storage under its image answered a 4 KiB read %.1f %% "
				       "slower before some of its %d runs than before others (more "
				       "than %g %%): where the page cache does not answer (cache=none or "
				       "directsync, writes under writethrough) the figures' spread "
				       "holds that (results.csv host_disk_ns; kvmio host --storage)",
				       r->rd.cfg[cfg].id, spread, n, STORAGE_SPEED_LIMIT_PCT));
}

/* Steady state: a configuration's series whose second half ran more than
 * FIGURES_DRIFT_LIMIT_PCT faster or slower than its first, one line per series with how many of
 * its runs did and how far (a line per run buried make paper's report under 319 of them). */
static void check_drift(struct runset *r, int cfg)
{
	for (int wl = 0; wl < r->nwls; wl++) {
		double lo = NAN, hi = NAN;
		int runs = 0, over = 0;

		for (int i = 0; i < r->nobs; i++) {
			double d = r->obs[i].v[METRIC_DRIFT_PCT];

			if (r->obs[i].cfg != cfg || r->obs[i].wl != wl || isnan(d))
				continue;
			runs++;
			if (fabs(d) <= FIGURES_DRIFT_LIMIT_PCT)
				continue;
			lo = over == 0 || d < lo ? d : lo;
			hi = over == 0 || d > hi ? d : hi;
			over++;
		}
		char range[64];

		if (!over)
			continue;
		if (over == 1)
			snprintf(range, sizeof(range), "%+.1f %%", lo);
		else
			snprintf(range, sizeof(range), "%+.1f %% to %+.1f %%", lo, hi);
		add_check(r, xasprintf("%s %s %s: the second half ran %s against the first in %d of "
				       "its %d runs (over %g %% either way): not steady (longer "
				       "time=, or a warmup)", r->rd.cfg[cfg].id, r->wls[wl].bench,
				       r->wls[wl].name, range, over, runs, FIGURES_DRIFT_LIMIT_PCT));
	}
}

int runset_load(const char *dir, struct runset *r, char *err, size_t errlen)
{
	int rc;

	memset(r, 0, sizeof(*r));
	rc = resultdir_load(dir, RESULTDIR_MATRIX_OPTIONAL, &r->rd, err, errlen);
	if (rc)
		return rc;
	r->used = xrealloc(NULL, sizeof(int) * (size_t)(r->rd.ncfg + 1));
	memset(r->used, 0, sizeof(int) * (size_t)(r->rd.ncfg + 1));
	for (int i = 0; i < r->rd.nruns; i++)
		load_run(r, &r->rd.run[i]);
	for (int c = 0; c < r->rd.ncfg; c++) {
		check_noise(r, c);
		check_drift(r, c);
		check_speed(r, c);
		check_storage(r, c);
	}
	return 0;
}

void runset_free(struct runset *r)
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
	for (int i = 0; i < r->nchecks; i++)
		free(r->checks[i]);
	free(r->checks);
	resultdir_free(&r->rd);
	memset(r, 0, sizeof(*r));
}

/* ---- metrics ------------------------------------------------------------------------------ */

/* The label of a workload's headline metric; latencies with their unit. */
const char *runset_primary_label(const struct workload *w)
{
	static char label[64];

	if (!metrics[w->primary].cycles)
		return metrics[w->primary].label;
	snprintf(label, sizeof(label), "%s (%s)", metrics[w->primary].label,
		 w->cycles ? "cycles" : "us");
	return label;
}

const char *runset_lat_unit(const struct workload *w)
{
	return w->cycles ? "cycles" : "us";
}

static double lat(const struct runset *r, const struct obs *o, double cycles)
{
	if (r->wls[o->wl].cycles || o->hz <= 0)
		return cycles;
	return cycles * 1e6 / o->hz;
}

static double metric(const struct runset *r, const struct obs *o, enum metric_id m)
{
	return metrics[m].cycles ? lat(r, o, o->v[m]) : o->v[m];
}

/* Statistics of metric m over the repeats of (workload, config). */
void runset_stats(const struct runset *r, int wl, int cfg, enum metric_id m, struct stat5 *s)
{
	double *v = xrealloc(NULL, sizeof(double) * (size_t)(r->nobs + 1));
	int n = 0;

	for (int i = 0; i < r->nobs; i++)
		if (r->obs[i].wl == wl && r->obs[i].cfg == cfg)
			v[n++] = metric(r, &r->obs[i], m);
	stat5_of(v, n, s);
	free(v);
}

/* Configurations with results for workload wl, in configuration order. */
int runset_configs(const struct runset *r, int wl, int *out)
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
char *runset_label(const struct runset *r, const int *cfgs, int n, int c)
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

static int cmp_hbin(const void *a, const void *b)
{
	double x = ((const struct hbin *)a)->lower, y = ((const struct hbin *)b)->lower;

	return x < y ? -1 : x > y;
}

/* Sum the histograms of every repeat of (wl, cfg); returns bins (sorted, merged). */
struct hbin *runset_hist(const struct runset *r, int wl, int cfg, int *nout, double *hz)
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

int runset_has_hist(const struct runset *r, int wl)
{
	for (int i = 0; i < r->nobs; i++)
		if (r->obs[i].wl == wl && r->obs[i].nhist)
			return 1;
	return 0;
}

/* Latency CDFs from the summed hist buckets, one step line per configuration. */
int runset_has_metric(const struct runset *r, int wl, enum metric_id m)
{
	for (int i = 0; i < r->nobs; i++)
		if (r->obs[i].wl == wl && !isnan(metric(r, &r->obs[i], m)))
			return 1;
	return 0;
}

/* p50 latency (left axis) beside accesses/op and interrupts/op (right axis). */
int runset_field(const struct runset *r, int wl, int bs)
{
	for (int i = 0; i < r->nobs; i++)
		if (r->obs[i].wl == wl)
			return bs ? r->obs[i].bs : r->obs[i].qd;
	return -1;
}
