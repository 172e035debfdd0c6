/*
 * `kvmio compare DIR [--baseline KEY=VALUE] [--metric NAME] [--csv] [--max-regression PCT]
 * [A B]` (docs/run.md):
 * reads DIR/matrix.tsv and DIR/results.csv, groups the values of every configuration, workload
 * (bench/name) and metric over the repeats, and prints per-configuration statistics or the
 * comparison of configurations that differ in one key (or of two given ones).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/args.h"
#include "analysis/compare.h"
#include "lib/file.h"
#include "lib/csv.h"
#include "proto/proto.h"

/* ---- grouping ---------------------------------------------------------------------------- */

int compare_workload_index(const struct cmp_data *d, const char *bench, const char *name)
{
	for (int i = 0; i < d->nwl; i++)
		if (strcmp(d->wl[i].bench, bench) == 0 && strcmp(d->wl[i].name, name) == 0)
			return i;
	return -1;
}

const struct cmp_series *compare_series(const struct cmp_data *d, int cfg, int wl, int metric)
{
	for (int i = 0; i < d->nser; i++)
		if (d->ser[i].cfg == cfg && d->ser[i].wl == wl && d->ser[i].metric == metric)
			return &d->ser[i];
	return NULL;
}

static int add_value(struct cmp_data *d, int cfg, int wl, int metric, double v)
{
	struct cmp_series *s = (struct cmp_series *)compare_series(d, cfg, wl, metric);

	if (!s) {
		struct cmp_series *ns = realloc(d->ser, (size_t)(d->nser + 1) * sizeof(*d->ser));

		if (!ns)
			return -1;
		d->ser = ns;
		s = &d->ser[d->nser++];
		*s = (struct cmp_series){ .cfg = cfg, .wl = wl, .metric = metric };
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		double *nv = realloc(s->v, cap * sizeof(double));

		if (!nv)
			return -1;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = v;
	return 0;
}

int compare_flavour_note(const struct resultdir_config *base, const struct resultdir_config *other,
			 char *buf, size_t len)
{
	buf[0] = '\0';
	if (!base->flavours || !other->flavours || !strcmp(base->flavours, other->flavours))
		return 0;
	snprintf(buf, len, "accelerator flavours differ (base: %s; other: %s): this difference "
		 "is not a device-model difference", base->flavours, other->flavours);
	return 1;
}

/* The values of every metric column of the rows of runs that exited 0. */
static int load_series(struct cmp_data *d, char *err, size_t errlen)
{
	const struct resultdir *rd = &d->rd;
	int colmetric[rd->ncolumns + 1];
	int colbench = resultdir_column(rd, "bench"), colname = resultdir_column(rd, "name");

	for (int i = 0; i < rd->ncolumns; i++)
		colmetric[i] = metric_index(rd->column[i]);
	for (int r = 0; r < rd->nrows; r++) {
		const struct resultdir_row *row = &rd->row[r];
		int wl;

		if (!row->ok)
			continue;
		wl = compare_workload_index(d, row->field[colbench], row->field[colname]);
		if (wl < 0) {
			struct cmp_workload *nw = realloc(d->wl, (size_t)(d->nwl + 1) * sizeof(*nw));

			if (!nw)
				goto oom;
			d->wl = nw;
			nw[d->nwl].bench = strdup(row->field[colbench]);
			nw[d->nwl].name = strdup(row->field[colname]);
			wl = d->nwl++;
			if (!nw[wl].bench || !nw[wl].name)
				goto oom;
		}
		for (int i = 0; i < rd->ncolumns; i++) {
			const char *f = row->field[i];
			char *end;
			double v;

			if (colmetric[i] < 0 || f[0] == '\0')
				continue;
			errno = 0;
			v = strtod(f, &end);
			if (errno || end == f || *end || !isfinite(v)) {
				snprintf(err, errlen, "%s:%d: %s '%s' is not a number", rd->csv_path,
					 row->line, metrics[colmetric[i]].name, f);
				return KVMIO_EXIT_BADCONFIG;
			}
			if (add_value(d, row->cfg, wl, colmetric[i], v) != 0)
				goto oom;
		}
	}
	return KVMIO_EXIT_OK;
oom:
	snprintf(err, errlen, "out of memory");
	return KVMIO_EXIT_IO;
}

int compare_load(const char *dir, struct cmp_data *d, char *err, size_t errlen)
{
	int rc;

	memset(d, 0, sizeof(*d));
	rc = resultdir_load(dir, RESULTDIR_MATRIX_REQUIRED, &d->rd, err, errlen);
	if (rc == KVMIO_EXIT_OK)
		rc = load_series(d, err, errlen);
	if (rc)
		compare_free(d);
	return rc;
}

void compare_free(struct cmp_data *d)
{
	for (int i = 0; i < d->nwl; i++) {
		free(d->wl[i].bench);
		free(d->wl[i].name);
	}
	for (int i = 0; i < d->nser; i++)
		free(d->ser[i].v);
	free(d->wl);
	free(d->ser);
	resultdir_free(&d->rd);
	memset(d, 0, sizeof(*d));
}

/* ---- comparing --------------------------------------------------------------------------- */

int compare_series_pair(const struct cmp_series *base, const struct cmp_series *other,
			int metric, struct cmp_result *r)
{
	const struct metric *m = &metrics[metric];

	memset(r, 0, sizeof(*r));
	if (!base || !other || base->n == 0 || other->n == 0)
		return -1;
	stats_summarize(base->v, base->n, &r->base);
	stats_summarize(other->v, other->n, &r->other);
	r->ratio = r->base.median != 0 ? r->other.median / r->base.median : NAN;
	r->ratio_lo = r->ratio_hi = NAN;
	if (base->n >= 2 && other->n >= 2)
		stats_bootstrap_median_ratio(base->v, base->n, other->v, other->n,
					     CMP_BOOTSTRAP_RESAMPLES, CMP_BOOTSTRAP_SEED,
					     &r->ratio_lo, &r->ratio_hi);
	r->u = r->p = NAN;
	if (base->n < 2 || other->n < 2) {
		r->verdict = CMP_NO_TEST;
		return 0;
	}
	r->p = stats_mann_whitney(other->v, other->n, base->v, base->n, &r->u, &r->exact);
	if (!(r->p < CMP_ALPHA) || r->u == (double)base->n * (double)other->n / 2) {
		r->verdict = CMP_SAME;
	} else {
		int higher = r->u > (double)base->n * (double)other->n / 2;
		int better = higher == m->higher_better;

		if (m->count)
			r->verdict = higher ? CMP_MORE : CMP_FEWER;
		else
			r->verdict = better ? CMP_FASTER : CMP_SLOWER;
	}
	return 0;
}

enum cmp_gate compare_gate(const struct cmp_result *r, int metric, double max_pct,
			   double *slower_pct)
{
	const struct metric *m = &metrics[metric];
	double mu = (double)r->base.n * (double)r->other.n / 2;
	int slower_u;

	*slower_pct = m->higher_better ? 100 * (1 - r->ratio) : 100 * (r->ratio - 1);
	if (r->base.n < 2 || r->other.n < 2 ||
	    !(stats_mann_whitney_min_p(r->base.n, r->other.n) < CMP_GATE_ALPHA))
		return CMP_GATE_UNTESTABLE;
	/* U counts the pairs other > base: slower means fewer of them where higher is better */
	slower_u = m->higher_better ? r->u < mu : r->u > mu;
	if (r->p < CMP_GATE_ALPHA && slower_u && *slower_pct > max_pct)
		return CMP_GATE_REGRESSION;
	return CMP_GATE_PASS;
}

const char *compare_verdict_text(enum cmp_verdict v)
{
	switch (v) {
	case CMP_NO_TEST: return "n=1: no test";
	case CMP_SAME: return "no significant difference";
	case CMP_FASTER: return "faster";
	case CMP_SLOWER: return "slower";
	case CMP_FEWER: return "fewer";
	case CMP_MORE: return "more";
	}
	return "?";
}

/* ---- output ------------------------------------------------------------------------------ */

/* Metric m is printed: the one asked for (--metric), else the default set. */
static int metric_selected(int m, int only_metric)
{
	return only_metric >= 0 ? m == only_metric : metrics[m].shown;
}

static const char *num(char *b, size_t len, double v)
{
	double a = fabs(v);

	if (isnan(v))
		snprintf(b, len, "-");
	else if (isinf(v))
		snprintf(b, len, v > 0 ? "inf" : "-inf");
	else if (a >= 1e4)
		snprintf(b, len, "%.0f", v);
	else if (a >= 100)
		snprintf(b, len, "%.1f", v);
	else
		snprintf(b, len, "%.3f", v);
	return b;
}

/* Full precision for --csv; empty when undefined. */
static const char *cnum(char *b, size_t len, double v)
{
	if (isnan(v))
		b[0] = '\0';
	else if (isinf(v))
		snprintf(b, len, v > 0 ? "inf" : "-inf");
	else
		snprintf(b, len, "%.10g", v);
	return b;
}

static const char *pct(char *b, size_t len, double cv)
{
	if (isnan(cv))
		snprintf(b, len, "-");
	else
		snprintf(b, len, "%.1f%%", 100 * cv);
	return b;
}

/* A key whose value is not the same in every configuration (absent counts as a value). */
static int key_varies(const struct cmp_data *d, const char *key)
{
	const char *first = d->rd.ncfg ? resultdir_param(&d->rd.cfg[0], key) : NULL;

	for (int i = 1; i < d->rd.ncfg; i++) {
		const char *v = resultdir_param(&d->rd.cfg[i], key);

		if ((v == NULL) != (first == NULL) || (v && strcmp(v, first) != 0))
			return 1;
	}
	return 0;
}

/* 1 if the configurations' results come from more than one accelerator flavour. */
static int flavours_vary(const struct cmp_data *d)
{
	const char *first = NULL;

	for (int i = 0; i < d->rd.ncfg; i++) {
		const char *f = d->rd.cfg[i].flavours;

		if (!f)
			continue;
		if (first && strcmp(first, f))
			return 1;
		first = f;
	}
	return 0;
}

/* The configuration legend: the keys that vary, then the ones every configuration shares. */
static void print_legend(FILE *out, const struct cmp_data *d)
{
	int printed = 0;

	fprintf(out, "configurations (%d result rows", d->rd.nrows);
	if (d->rd.nrows_failed)
		fprintf(out, ", %d from failed runs left out", d->rd.nrows_failed);
	fprintf(out, "):\n");
	for (int i = 0; i < d->rd.ncfg; i++) {
		const struct resultdir_config *c = &d->rd.cfg[i];
		int n = 0;

		fprintf(out, "  %-6s %-4s ", c->id, c->status);
		for (int k = 0; k < c->nkv; k++)
			if (key_varies(d, c->keys[k]))
				fprintf(out, "%s%s=%s", n++ ? ";" : "", c->keys[k], c->vals[k]);
		if (strcmp(c->status, "run") != 0)
			fprintf(out, "  (%s)", c->reason);
		if (c->flavours && flavours_vary(d))
			fprintf(out, "  [%s]", c->flavours);
		fputc('\n', out);
	}
	for (int i = 0; i < d->rd.ncfg && !flavours_vary(d); i++)
		if (d->rd.cfg[i].flavours) {
			fprintf(out, "  accelerator: %s\n", d->rd.cfg[i].flavours);
			break;
		}
	{
		char *q = resultdir_qemu_binaries(&d->rd);

		if (q)
			fprintf(out, "  qemu: %s\n", q);
		free(q);
	}
	if (d->rd.ncfg) {
		const struct resultdir_config *c = &d->rd.cfg[0];

		for (int k = 0; k < c->nkv; k++) {
			if (key_varies(d, c->keys[k]))
				continue;
			fprintf(out, "%s%s=%s", printed++ ? ";" : "  common: ", c->keys[k],
				c->vals[k]);
		}
		if (printed)
			fputc('\n', out);
	}
}

static void summary_text(FILE *out, const struct cmp_data *d, int only_metric)
{
	char b[8][48];

	print_legend(out, d);
	for (int w = 0; w < d->nwl; w++) {
		fprintf(out, "\n%s %s\n", d->wl[w].bench, d->wl[w].name);
		fprintf(out, "  %-6s %-9s %3s %12s %12s %12s %7s  %-27s %s\n", "config", "metric", "n",
			"median", "min", "max", "cv", "95% CI of the mean", "flags");
		for (int c = 0; c < d->rd.ncfg; c++) {
			for (int m = 0; m < METRIC_COUNT; m++) {
				const struct cmp_series *s = compare_series(d, c, w, m);
				struct stats_summary st;
				char ci[64];

				if (!s || !metric_selected(m, only_metric))
					continue;
				stats_summarize(s->v, s->n, &st);
				if (isnan(st.ci_lo))
					snprintf(ci, sizeof(ci), "-");
				else
					snprintf(ci, sizeof(ci), "[%s, %s]", num(b[4], 48, st.ci_lo),
						 num(b[5], 48, st.ci_hi));
				fprintf(out, "  %-6s %-9s %3zu %12s %12s %12s %7s  %-27s %s\n",
					d->rd.cfg[c].id, metrics[m].name, st.n,
					num(b[0], 48, st.median), num(b[1], 48, st.min),
					num(b[2], 48, st.max), pct(b[3], 48, st.cv), ci,
					st.noisy ? "noisy" : "");
			}
		}
	}
}

static void summary_csv(FILE *out, const struct cmp_data *d, int only_metric)
{
	char b[48];

	fputs("config,params,bench,name,metric,n,median,min,max,mean,stddev,cv,ci_lo,ci_hi,noisy\n",
	      out);
	for (int w = 0; w < d->nwl; w++)
		for (int c = 0; c < d->rd.ncfg; c++)
			for (int m = 0; m < METRIC_COUNT; m++) {
				const struct cmp_series *s = compare_series(d, c, w, m);
				struct stats_summary st;

				if (!s || !metric_selected(m, only_metric))
					continue;
				stats_summarize(s->v, s->n, &st);
				csv_field(out, d->rd.cfg[c].id, 1);
				csv_field(out, d->rd.cfg[c].params, 0);
				csv_field(out, d->wl[w].bench, 0);
				csv_field(out, d->wl[w].name, 0);
				csv_field(out, metrics[m].name, 0);
				fprintf(out, ",%zu", st.n);
				fprintf(out, ",%s", cnum(b, sizeof(b), st.median));
				fprintf(out, ",%s", cnum(b, sizeof(b), st.min));
				fprintf(out, ",%s", cnum(b, sizeof(b), st.max));
				fprintf(out, ",%s", cnum(b, sizeof(b), st.mean));
				fprintf(out, ",%s", cnum(b, sizeof(b), st.stddev));
				fprintf(out, ",%s", cnum(b, sizeof(b), st.cv));
				fprintf(out, ",%s", cnum(b, sizeof(b), st.ci_lo));
				fprintf(out, ",%s", cnum(b, sizeof(b), st.ci_hi));
				fprintf(out, ",%d\n", st.noisy);
			}
}

struct pair {
	int base, other;
	char *differs;   /* "irq: poll -> msix" */
};

/* The comparison of a pair on workload w and metric m, if m is printed and both have values:
 * 0, else -1. */
static int compare_pair_metric(const struct cmp_data *d, const struct pair *p, int w, int m,
			       int only_metric, struct cmp_result *r)
{
	if (!metric_selected(m, only_metric))
		return -1;
	return compare_series_pair(compare_series(d, p->base, w, m),
				   compare_series(d, p->other, w, m), m, r);
}

/* "key: a -> b, key2: c -> d" for every key that differs (absent: "-"). */
static char *differs_text(const struct resultdir_config *a, const struct resultdir_config *b)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	int n = 0;

	if (!f)
		return NULL;
	for (int pass = 0; pass < 2; pass++) {
		const struct resultdir_config *x = pass ? b : a, *y = pass ? a : b;

		for (int k = 0; k < x->nkv; k++) {
			const char *vy = resultdir_param(y, x->keys[k]);

			if (pass && vy)
				continue;   /* seen in the first pass */
			if (vy && strcmp(vy, x->vals[k]) == 0)
				continue;
			fprintf(f, "%s%s: %s -> %s", n++ ? ", " : "", x->keys[k],
				pass ? "-" : x->vals[k], pass ? x->vals[k] : vy ? vy : "-");
		}
	}
	if (n == 0)
		fprintf(f, "same parameters");
	fclose(f);
	return s;
}

/* Does o differ from b in key only (same keys, o's value of key different)? */
static int differs_only_in(const struct resultdir_config *b, const struct resultdir_config *o, const char *key)
{
	const char *vo = resultdir_param(o, key), *vb = resultdir_param(b, key);

	if (!vo || !vb || strcmp(vo, vb) == 0 || b->nkv != o->nkv)
		return 0;
	for (int k = 0; k < b->nkv; k++) {
		const char *v = resultdir_param(o, b->keys[k]);

		if (strcmp(b->keys[k], key) != 0 && (!v || strcmp(v, b->vals[k]) != 0))
			return 0;
	}
	return 1;
}

static const char *p_text(char *b, size_t len, const struct cmp_result *r)
{
	if (r->verdict == CMP_NO_TEST)
		snprintf(b, len, "n=1: no test");
	else if (r->p < 1e-4)
		snprintf(b, len, "<0.0001");
	else
		snprintf(b, len, "%.4f", r->p);
	return b;
}

static const char *noisy_text(const struct cmp_result *r)
{
	if (r->base.noisy && r->other.noisy)
		return "noisy: both";
	if (r->base.noisy)
		return "noisy: base";
	if (r->other.noisy)
		return "noisy: other";
	return "";
}

static void pairs_text(FILE *out, const struct cmp_data *d, const struct pair *pairs, int np,
		       int only_metric)
{
	char b[6][48];

	print_legend(out, d);
	for (int i = 0; i < np; i++) {
		const struct resultdir_config *o = &d->rd.cfg[pairs[i].other], *bs = &d->rd.cfg[pairs[i].base];

		if (strcmp(o->status, "run") != 0 || strcmp(bs->status, "run") != 0)
			fprintf(out, "\n%s vs %s (%s): %s skipped: %s\n", o->id, bs->id,
				pairs[i].differs, strcmp(bs->status, "run") ? bs->id : o->id,
				strcmp(bs->status, "run") ? bs->reason : o->reason);
	}
	for (int w = 0; w < d->nwl; w++) {
		int heading = 0;

		for (int i = 0; i < np; i++) {
			int sub = 0;

			for (int m = 0; m < METRIC_COUNT; m++) {
				struct cmp_result r;
				char ci[64], nn[32];

				if (compare_pair_metric(d, &pairs[i], w, m, only_metric, &r) != 0)
					continue;
				if (!heading++)
					fprintf(out, "\n%s %s\n", d->wl[w].bench, d->wl[w].name);
				if (!sub++) {
					char note[1024];

					fprintf(out, "  %s vs %s (%s)\n", d->rd.cfg[pairs[i].other].id,
						d->rd.cfg[pairs[i].base].id, pairs[i].differs);
					if (compare_flavour_note(&d->rd.cfg[pairs[i].base],
								 &d->rd.cfg[pairs[i].other], note,
								 sizeof(note)))
						fprintf(out, "    note: %s\n", note);
					fprintf(out, "    %-9s %12s %12s %7s  %-17s %-12s %-26s %5s  %s\n",
						"metric", "base median", "median", "ratio",
						"95% CI", "p (U test)", "verdict", "n", "flags");
				}
				if (isnan(r.ratio_lo))
					snprintf(ci, sizeof(ci), "-");
				else
					snprintf(ci, sizeof(ci), "[%.3f, %s]", r.ratio_lo,
						 isinf(r.ratio_hi) ? "inf" :
						 (snprintf(b[5], 48, "%.3f", r.ratio_hi), b[5]));
				snprintf(nn, sizeof(nn), "%zu/%zu", r.base.n, r.other.n);
				fprintf(out, "    %-9s %12s %12s %7s  %-17s %-12s %-26s %5s  %s\n",
					metrics[m].name, num(b[0], 48, r.base.median),
					num(b[1], 48, r.other.median),
					isnan(r.ratio) ? "-" :
					(snprintf(b[2], 48, "%.3f", r.ratio), b[2]), ci,
					p_text(b[3], 48, &r), compare_verdict_text(r.verdict), nn,
					noisy_text(&r));
			}
		}
	}
}

static void pairs_csv(FILE *out, const struct cmp_data *d, const struct pair *pairs, int np,
		      int only_metric)
{
	char b[48];

	fputs("bench,name,metric,baseline,other,differs,base_n,other_n,base_median,other_median,"
	      "ratio,ratio_lo,ratio_hi,u,p,test,verdict,base_cv,other_cv,base_noisy,other_noisy\n",
	      out);
	for (int w = 0; w < d->nwl; w++)
		for (int i = 0; i < np; i++)
			for (int m = 0; m < METRIC_COUNT; m++) {
				struct cmp_result r;

				if (compare_pair_metric(d, &pairs[i], w, m, only_metric, &r) != 0)
					continue;
				csv_field(out, d->wl[w].bench, 1);
				csv_field(out, d->wl[w].name, 0);
				csv_field(out, metrics[m].name, 0);
				csv_field(out, d->rd.cfg[pairs[i].base].id, 0);
				csv_field(out, d->rd.cfg[pairs[i].other].id, 0);
				csv_field(out, pairs[i].differs, 0);
				fprintf(out, ",%zu,%zu", r.base.n, r.other.n);
				fprintf(out, ",%s", cnum(b, sizeof(b), r.base.median));
				fprintf(out, ",%s", cnum(b, sizeof(b), r.other.median));
				fprintf(out, ",%s", cnum(b, sizeof(b), r.ratio));
				fprintf(out, ",%s", cnum(b, sizeof(b), r.ratio_lo));
				fprintf(out, ",%s", cnum(b, sizeof(b), r.ratio_hi));
				fprintf(out, ",%s", cnum(b, sizeof(b), r.u));
				fprintf(out, ",%s", cnum(b, sizeof(b), r.p));
				fprintf(out, ",%s", r.verdict == CMP_NO_TEST ? "none" :
					r.exact ? "exact" : "normal");
				csv_field(out, compare_verdict_text(r.verdict), 0);
				fprintf(out, ",%s", cnum(b, sizeof(b), r.base.cv));
				fprintf(out, ",%s", cnum(b, sizeof(b), r.other.cv));
				fprintf(out, ",%d,%d\n", r.base.noisy, r.other.noisy);
			}
}

/* The gate over every pair on each workload's primary metric: a line per regression (and per
 * pair that cannot be tested) on out; the number of regressions. */
static int gate_report(FILE *out, const struct cmp_data *d, const struct pair *pairs, int np,
		       double max_pct)
{
	int regressions = 0, compared = 0;

	fprintf(out, "\ngate: B slower than A by more than %g %% on the primary metric, U test "
		"p < %g\n", max_pct, CMP_GATE_ALPHA);
	for (int w = 0; w < d->nwl; w++) {
		int m = metric_primary(d->wl[w].bench);

		for (int i = 0; i < np; i++) {
			const struct resultdir_config *a = &d->rd.cfg[pairs[i].base];
			const struct resultdir_config *b = &d->rd.cfg[pairs[i].other];
			struct cmp_result r;
			double slower;
			char p[32];

			if (compare_series_pair(compare_series(d, pairs[i].base, w, m),
						compare_series(d, pairs[i].other, w, m), m, &r) != 0)
				continue;
			compared++;
			switch (compare_gate(&r, m, max_pct, &slower)) {
			case CMP_GATE_PASS:
				break;
			case CMP_GATE_UNTESTABLE:
				fprintf(out, "  untestable %s vs %s (%s): %s %s %s: n=%zu/%zu, the U "
					"test cannot reach p < %g (5 runs a side are the least)\n",
					b->id, a->id, pairs[i].differs, d->wl[w].bench, d->wl[w].name,
					metrics[m].name, r.base.n, r.other.n, CMP_GATE_ALPHA);
				break;
			case CMP_GATE_REGRESSION:
				regressions++;
				fprintf(out, "  REGRESSION %s vs %s (%s): %s %s %s ratio %.3f "
					"[%.3f, %.3f] p %s: %.1f %% slower (limit %g %%)\n", b->id,
					a->id, pairs[i].differs, d->wl[w].bench, d->wl[w].name,
					metrics[m].name, r.ratio, r.ratio_lo, r.ratio_hi,
					p_text(p, sizeof(p), &r), slower, max_pct);
				break;
			}
		}
	}
	fprintf(out, "gate: %d regression%s in %d comparison%s\n", regressions,
		regressions == 1 ? "" : "s", compared, compared == 1 ? "" : "s");
	return regressions;
}

/* ---- the A/B view ------------------------------------------------------------------------ */

static int by_effect(const void *a, const void *b)
{
	const struct cmp_ab_row *x = a, *y = b;
	double dx = isnan(x->slower_pct) ? -INFINITY : x->slower_pct;
	double dy = isnan(y->slower_pct) ? -INFINITY : y->slower_pct;

	return dx < dy ? 1 : dx > dy ? -1 : 0;
}

int compare_ab_rows(const struct cmp_data *d, struct cmp_ab_row **rows)
{
	static const char *const ab_keys[] = { "qemu", "disk_props", "net_props" };
	int n = 0;

	*rows = NULL;
	for (size_t k = 0; k < sizeof(ab_keys) / sizeof(ab_keys[0]); k++) {
		const char *key = ab_keys[k], *base_value;

		if (!d->rd.ncfg || !key_varies(d, key) ||
		    !(base_value = resultdir_param(&d->rd.cfg[0], key)))
			continue;
		for (int b = 0; b < d->rd.ncfg; b++) {
			const char *v = resultdir_param(&d->rd.cfg[b], key);

			if (!v || strcmp(v, base_value) != 0)
				continue;
			for (int o = 0; o < d->rd.ncfg; o++) {
				if (o == b || !differs_only_in(&d->rd.cfg[b], &d->rd.cfg[o], key))
					continue;
				for (int w = 0; w < d->nwl; w++) {
					int m = metric_primary(d->wl[w].bench);
					struct cmp_ab_row *x, row = { .base = b, .other = o, .wl = w,
								      .metric = m };

					if (compare_series_pair(compare_series(d, b, w, m),
								compare_series(d, o, w, m), m,
								&row.r) != 0)
						continue;
					compare_gate(&row.r, m, 0, &row.slower_pct);
					row.differs = differs_text(&d->rd.cfg[b], &d->rd.cfg[o]);
					x = realloc(*rows, sizeof(*x) * (size_t)(n + 1));
					if (!x || !row.differs) {
						free(row.differs);
						compare_ab_rows_free(*rows, n);
						*rows = NULL;
						return -1;
					}
					*rows = x;
					x[n++] = row;
				}
			}
		}
	}
	if (n > 1)
		qsort(*rows, (size_t)n, sizeof(**rows), by_effect);
	return n;
}

void compare_ab_rows_free(struct cmp_ab_row *rows, int n)
{
	for (int i = 0; i < n; i++)
		free(rows[i].differs);
	free(rows);
}

/* ---- the command ------------------------------------------------------------------------- */

int compare_command(int argc, char **argv, FILE *out)
{
	const char *pos[4], *baseline = NULL, *metric = NULL;
	int npos = 0, csv = 0, only_metric = -1, rc = KVMIO_EXIT_OK, np = 0;
	double max_pct = -1;   /* --max-regression; < 0: no gate */
	struct cmp_data d;
	struct pair *pairs = NULL;
	char err[1024], *key = NULL, *value;

	for (int i = 0; i < argc; i++) {
		const char *v;
		int missing = 0;

		if (strcmp(argv[i], "--csv") == 0)
			csv = 1;
		else if ((v = option_value(argc, argv, &i, "--baseline", &missing)))
			baseline = v;
		else if ((v = option_value(argc, argv, &i, "--metric", &missing)))
			metric = v;
		else if ((v = option_value(argc, argv, &i, "--max-regression", &missing))) {
			if (arg_double(v, 0, 1000, &max_pct) != 0)
				return usage_error("compare: bad --max-regression '%s' (a percentage, "
						   "0 to 1000)", v);
		}
		else if (missing)
			return usage_error("compare: option '%s' needs a value", argv[i]);
		else if (argv[i][0] == '-' && argv[i][1])
			return usage_error("compare: unknown option '%s'", argv[i]);
		else if (npos < 4)
			pos[npos++] = argv[i];
		else
			return usage_error("compare: too many arguments");
	}
	if (npos != 1 && npos != 3)
		return usage_error("compare: %s", npos == 0 ? "no result directory given" :
				   "give DIR, or DIR A B (two configuration ids)");
	if (baseline && npos == 3)
		return usage_error("compare: --baseline and A B exclude each other");
	if (baseline && (!strchr(baseline, '=') || baseline[0] == '=' ||
			 !strchr(baseline, '=')[1]))
		return usage_error("compare: --baseline wants KEY=VALUE, not '%s'", baseline);
	if (max_pct >= 0 && !baseline && npos == 1)
		return usage_error("compare: --max-regression needs A B or --baseline KEY=VALUE");
	if (metric && (only_metric = metric_index(metric)) < 0)
		return usage_error("compare: unknown metric '%s' (%s)", metric, metric_names());
	rc = compare_load(pos[0], &d, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "kvmio: compare: %s\n", err);
		return rc;
	}
	if (!baseline && npos == 1) {
		if (csv)
			summary_csv(out, &d, only_metric);
		else
			summary_text(out, &d, only_metric);
		goto done;
	}
	pairs = calloc((size_t)d.rd.ncfg * (size_t)d.rd.ncfg + 1, sizeof(*pairs));
	if (!pairs) {
		rc = KVMIO_EXIT_IO;
		goto done;
	}
	if (npos == 3) {
		int a = resultdir_config_index(&d.rd, pos[1]), b = resultdir_config_index(&d.rd, pos[2]);

		if (a < 0 || b < 0) {
			rc = usage_error("compare: unknown configuration '%s' (see matrix.tsv)",
					 a < 0 ? pos[1] : pos[2]);
			goto done;
		}
		pairs[np].base = a;
		pairs[np].other = b;
		pairs[np++].differs = differs_text(&d.rd.cfg[a], &d.rd.cfg[b]);
	} else {
		int has_key = 0, has_value = 0;

		key = strdup(baseline);
		if (!key) {
			rc = KVMIO_EXIT_IO;
			goto done;
		}
		value = strchr(key, '=');
		*value++ = '\0';
		for (int i = 0; i < d.rd.ncfg; i++) {
			const char *v = resultdir_param(&d.rd.cfg[i], key);

			has_key |= v != NULL;
			has_value |= v && strcmp(v, value) == 0;
		}
		if (!has_key) {
			rc = usage_error("compare: no configuration has the key '%s'", key);
			goto done;
		}
		if (!has_value) {
			fprintf(stderr, "kvmio: compare: no configuration has %s=%s (values:", key,
				value);
			for (int i = 0; i < d.rd.ncfg; i++) {
				const char *v = resultdir_param(&d.rd.cfg[i], key);
				int seen = 0;

				for (int j = 0; v && j < i && !seen; j++) {
					const char *w = resultdir_param(&d.rd.cfg[j], key);

					seen = w && strcmp(w, v) == 0;
				}
				if (v && !seen)
					fprintf(stderr, " %s", v);
			}
			fprintf(stderr, ")\n");
			rc = KVMIO_EXIT_BADCONFIG;
			goto done;
		}
		for (int b = 0; b < d.rd.ncfg; b++) {
			const char *v = resultdir_param(&d.rd.cfg[b], key);

			if (!v || strcmp(v, value) != 0)
				continue;
			for (int o = 0; o < d.rd.ncfg; o++) {
				if (o == b || !differs_only_in(&d.rd.cfg[b], &d.rd.cfg[o], key))
					continue;
				pairs[np].base = b;
				pairs[np].other = o;
				pairs[np++].differs = differs_text(&d.rd.cfg[b], &d.rd.cfg[o]);
			}
		}
		if (np == 0)
			fprintf(stderr, "kvmio: compare: no configuration differs from a %s=%s one "
				"in %s only\n", key, value, key);
	}
	if (csv)
		pairs_csv(out, &d, pairs, np, only_metric);
	else
		pairs_text(out, &d, pairs, np, only_metric);
	/* the gate's lines follow the table; with --csv they go to stderr, to keep the CSV whole */
	if (max_pct >= 0 && gate_report(csv ? stderr : out, &d, pairs, np, max_pct) > 0)
		rc = KVMIO_EXIT_REGRESSION;
done:
	for (int i = 0; i < np; i++)
		free(pairs[i].differs);
	free(pairs);
	free(key);
	compare_free(&d);
	fflush(out);
	return rc;
}

int cmd_compare(int argc, char **argv)
{
	return compare_command(argc, argv, stdout);
}
