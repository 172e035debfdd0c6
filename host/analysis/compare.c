/*
 * `kvmio compare DIR [--baseline KEY=VALUE] [--metric NAME] [--csv] [A B]` (docs/run.md):
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

const struct cmp_metric cmp_metrics[] = {
	{ "p50", 0, 0, 1 },      { "p99", 0, 0, 1 },    { "iops", 1, 0, 1 },
	{ "frames_s", 1, 0, 1 }, { "acc_op", 0, 1, 1 }, { "irq_op", 0, 1, 1 },
	{ "mbps", 1, 0, 0 },     { "gbps", 1, 0, 0 },   { "p50_ns", 0, 0, 0 },
	{ "p99_ns", 0, 0, 0 },
};
const int cmp_nmetrics = (int)(sizeof(cmp_metrics) / sizeof(cmp_metrics[0]));

int compare_metric_index(const char *name)
{
	for (int i = 0; i < cmp_nmetrics; i++)
		if (strcmp(cmp_metrics[i].name, name) == 0)
			return i;
	return -1;
}

/* ---- reading ----------------------------------------------------------------------------- */

static int split_params(struct cmp_config *c)
{
	char *copy = strdup(c->params), *save = NULL;
	int n = 1;

	if (!copy)
		return -1;
	for (const char *s = c->params; *s; s++)
		n += *s == ';';
	c->keys = calloc((size_t)n, sizeof(char *));
	c->vals = calloc((size_t)n, sizeof(char *));
	if (!c->keys || !c->vals) {
		free(copy);
		return -1;
	}
	for (char *t = strtok_r(copy, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(t, '=');

		if (eq)
			*eq = '\0';
		c->keys[c->nkv] = strdup(t);
		c->vals[c->nkv] = strdup(eq ? eq + 1 : "");
		if (!c->keys[c->nkv] || !c->vals[c->nkv]) {
			free(c->keys[c->nkv]);
			free(c->vals[c->nkv]);
			free(copy);
			return -1;
		}
		c->nkv++;
	}
	free(copy);
	return 0;
}

static int load_matrix(const char *dir, struct cmp_data *d, char *err, size_t errlen)
{
	char *path = NULL, *text, *line, *next;
	int lineno = 0;

	if (asprintf(&path, "%s/matrix.tsv", dir) < 0)
		return KVMIO_EXIT_IO;
	text = file_read(path, NULL);
	if (!text) {
		snprintf(err, errlen, "%s: %s (not a kvmio run result directory?)", path,
			 strerror(errno));
		free(path);
		return KVMIO_EXIT_BADCONFIG;
	}
	for (line = text; line && *line; line = next) {
		char *f[4], *save = NULL;
		struct cmp_config *c, *nc;
		int n = 0;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		if (line[0] == '\0' || line[0] == '#')
			continue;
		for (char *t = strtok_r(line, "\t\r", &save); t && n < 4;
		     t = strtok_r(NULL, "\t\r", &save))
			f[n++] = t;
		if (n < 3 || (n == 3 && strcmp(f[1], "skip") != 0)) {
			snprintf(err, errlen, "%s:%d: expected ID, run|skip, reason, params", path,
				 lineno);
			free(text);
			free(path);
			return KVMIO_EXIT_BADCONFIG;
		}
		nc = realloc(d->cfg, (size_t)(d->ncfg + 1) * sizeof(*d->cfg));
		if (!nc)
			goto oom;
		d->cfg = nc;
		c = &d->cfg[d->ncfg++];
		memset(c, 0, sizeof(*c));
		c->id = strdup(f[0]);
		c->status = strdup(f[1]);
		c->reason = strdup(f[2]);
		c->params = strdup(n > 3 ? f[3] : "");
		if (!c->id || !c->status || !c->reason || !c->params || split_params(c) != 0)
			goto oom;
	}
	free(text);
	free(path);
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	free(text);
	free(path);
	return KVMIO_EXIT_IO;
}

int compare_config_index(const struct cmp_data *d, const char *id)
{
	for (int i = 0; i < d->ncfg; i++)
		if (strcmp(d->cfg[i].id, id) == 0)
			return i;
	return -1;
}

int compare_workload_index(const struct cmp_data *d, const char *bench, const char *name)
{
	for (int i = 0; i < d->nwl; i++)
		if (strcmp(d->wl[i].bench, bench) == 0 && strcmp(d->wl[i].name, name) == 0)
			return i;
	return -1;
}

const char *compare_param(const struct cmp_config *c, const char *key)
{
	for (int i = 0; i < c->nkv; i++)
		if (strcmp(c->keys[i], key) == 0)
			return c->vals[i];
	return NULL;
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

#define MAX_COLS 64

#define FLAVOUR_SEP " | " /* flavour labels contain commas */

/* Add a flavour to the configuration's set (once each). */
static int add_flavour(struct cmp_config *c, const char *flavour)
{
	char *s;

	if (c->flavours) {
		for (const char *p = c->flavours; p;) {
			size_t n = strcspn(p, "|");

			if (n > 0 && p[n - 1] == ' ')
				n--;
			if (n == strlen(flavour) && !strncmp(p, flavour, n))
				return 0;
			p = strstr(p, FLAVOUR_SEP);
			p = p ? p + strlen(FLAVOUR_SEP) : NULL;
		}
		if (asprintf(&s, "%s" FLAVOUR_SEP "%s", c->flavours, flavour) < 0)
			return -1;
	} else if (!(s = strdup(flavour))) {
		return -1;
	}
	free(c->flavours);
	c->flavours = s;
	return 0;
}

static int load_results(const char *dir, struct cmp_data *d, char *err, size_t errlen)
{
	static const char *const order[] = { "config", "repeat", "exit", "params", "bench", "name" };
	char *path = NULL, *text, *p, *f[MAX_COLS];
	int colmetric[MAX_COLS], col[6], n, lineno = 1, rc = 0, colflavour = -1;

	if (asprintf(&path, "%s/results.csv", dir) < 0)
		return KVMIO_EXIT_IO;
	text = file_read(path, NULL);
	if (!text) {
		snprintf(err, errlen, "%s: %s (not a kvmio run result directory?)", path,
			 strerror(errno));
		free(path);
		return KVMIO_EXIT_BADCONFIG;
	}
	p = text;
	n = csv_next_record(&p, f, MAX_COLS);
	if (n < 6 || n > MAX_COLS || strcmp(f[0], "config") != 0) {
		snprintf(err, errlen, "%s:1: no results.csv header (config,repeat,exit,...)", path);
		rc = KVMIO_EXIT_BADCONFIG;
		goto out;
	}
	for (int k = 0; k < 6; k++) {
		col[k] = -1;
		for (int i = 0; i < n; i++)
			if (strcmp(f[i], order[k]) == 0)
				col[k] = i;
		if (col[k] < 0 && k != 1 && k != 3) {
			snprintf(err, errlen, "%s:1: no column '%s'", path, order[k]);
			rc = KVMIO_EXIT_BADCONFIG;
			goto out;
		}
	}
	for (int i = 0; i < n; i++) {
		colmetric[i] = compare_metric_index(f[i]);
		if (!strcmp(f[i], "flavour"))
			colflavour = i;
	}
	for (int ncols = n; (n = csv_next_record(&p, f, MAX_COLS)) >= 0;) {
		int cfg, wl;

		lineno++;
		if (n == 1 && f[0][0] == '\0')
			continue;   /* empty line */
		if (n != ncols) {
			snprintf(err, errlen, "%s:%d: %d fields, the header has %d", path, lineno, n,
				 ncols);
			rc = KVMIO_EXIT_BADCONFIG;
			goto out;
		}
		cfg = compare_config_index(d, f[col[0]]);
		if (cfg < 0) {
			snprintf(err, errlen, "%s:%d: configuration '%s' is not in matrix.tsv", path,
				 lineno, f[col[0]]);
			rc = KVMIO_EXIT_BADCONFIG;
			goto out;
		}
		d->rows++;
		if (colflavour >= 0 && add_flavour(&d->cfg[cfg], f[colflavour]) != 0)
			goto oom;
		if (strcmp(f[col[2]], "0") != 0) {
			d->rows_failed++;
			continue;
		}
		wl = compare_workload_index(d, f[col[4]], f[col[5]]);
		if (wl < 0) {
			struct cmp_workload *nw = realloc(d->wl, (size_t)(d->nwl + 1) * sizeof(*nw));

			if (!nw)
				goto oom;
			d->wl = nw;
			nw[d->nwl].bench = strdup(f[col[4]]);
			nw[d->nwl].name = strdup(f[col[5]]);
			wl = d->nwl++;
			if (!nw[wl].bench || !nw[wl].name)
				goto oom;
		}
		for (int i = 0; i < n; i++) {
			char *end;
			double v;

			if (colmetric[i] < 0 || f[i][0] == '\0')
				continue;
			errno = 0;
			v = strtod(f[i], &end);
			if (errno || end == f[i] || *end || !isfinite(v)) {
				snprintf(err, errlen, "%s:%d: %s '%s' is not a number", path, lineno,
					 cmp_metrics[colmetric[i]].name, f[i]);
				rc = KVMIO_EXIT_BADCONFIG;
				goto out;
			}
			if (add_value(d, cfg, wl, colmetric[i], v) != 0)
				goto oom;
		}
	}
out:
	free(text);
	free(path);
	return rc;
oom:
	snprintf(err, errlen, "out of memory");
	rc = KVMIO_EXIT_IO;
	goto out;
}

int compare_flavour_note(const struct cmp_config *base, const struct cmp_config *other,
			 char *buf, size_t len)
{
	buf[0] = '\0';
	if (!base->flavours || !other->flavours || !strcmp(base->flavours, other->flavours))
		return 0;
	snprintf(buf, len, "accelerator flavours differ (base: %s; other: %s): this difference "
		 "is not a device-model difference", base->flavours, other->flavours);
	return 1;
}

int compare_load(const char *dir, struct cmp_data *d, char *err, size_t errlen)
{
	int rc;

	memset(d, 0, sizeof(*d));
	err[0] = '\0';
	rc = load_matrix(dir, d, err, errlen);
	if (rc == 0)
		rc = load_results(dir, d, err, errlen);
	if (rc)
		compare_free(d);
	return rc;
}

void compare_free(struct cmp_data *d)
{
	for (int i = 0; i < d->ncfg; i++) {
		struct cmp_config *c = &d->cfg[i];

		for (int k = 0; k < c->nkv; k++) {
			free(c->keys[k]);
			free(c->vals[k]);
		}
		free(c->keys);
		free(c->vals);
		free(c->id);
		free(c->status);
		free(c->reason);
		free(c->flavours);
		free(c->params);
	}
	for (int i = 0; i < d->nwl; i++) {
		free(d->wl[i].bench);
		free(d->wl[i].name);
	}
	for (int i = 0; i < d->nser; i++)
		free(d->ser[i].v);
	free(d->cfg);
	free(d->wl);
	free(d->ser);
	memset(d, 0, sizeof(*d));
}

/* ---- comparing --------------------------------------------------------------------------- */

int compare_series_pair(const struct cmp_series *base, const struct cmp_series *other,
			int metric, struct cmp_result *r)
{
	const struct cmp_metric *m = &cmp_metrics[metric];

	memset(r, 0, sizeof(*r));
	if (!base || !other || base->n == 0 || other->n == 0)
		return -1;
	stats_summarize(base->v, base->n, &r->base);
	stats_summarize(other->v, other->n, &r->other);
	r->ratio = r->base.median != 0 ? r->other.median / r->base.median : NAN;
	r->ratio_lo = r->ratio_hi = NAN;
	if (!isnan(r->base.ci_lo) && !isnan(r->other.ci_lo)) {
		r->ratio_lo = r->base.ci_hi > 0 ? r->other.ci_lo / r->base.ci_hi : NAN;
		r->ratio_hi = r->base.ci_lo > 0 ? r->other.ci_hi / r->base.ci_lo : INFINITY;
	}
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
	const char *first = d->ncfg ? compare_param(&d->cfg[0], key) : NULL;

	for (int i = 1; i < d->ncfg; i++) {
		const char *v = compare_param(&d->cfg[i], key);

		if ((v == NULL) != (first == NULL) || (v && strcmp(v, first) != 0))
			return 1;
	}
	return 0;
}

/* 1 if the configurations' results come from more than one accelerator flavour. */
static int flavours_vary(const struct cmp_data *d)
{
	const char *first = NULL;

	for (int i = 0; i < d->ncfg; i++) {
		const char *f = d->cfg[i].flavours;

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

	fprintf(out, "configurations (%zu result rows", d->rows);
	if (d->rows_failed)
		fprintf(out, ", %zu from failed runs left out", d->rows_failed);
	fprintf(out, "):\n");
	for (int i = 0; i < d->ncfg; i++) {
		const struct cmp_config *c = &d->cfg[i];
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
	for (int i = 0; i < d->ncfg && !flavours_vary(d); i++)
		if (d->cfg[i].flavours) {
			fprintf(out, "  accelerator: %s\n", d->cfg[i].flavours);
			break;
		}
	if (d->ncfg) {
		const struct cmp_config *c = &d->cfg[0];

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
		for (int c = 0; c < d->ncfg; c++) {
			for (int m = 0; m < cmp_nmetrics; m++) {
				const struct cmp_series *s = compare_series(d, c, w, m);
				struct stats_summary st;
				char ci[64];

				if (!s || (only_metric >= 0 ? m != only_metric : !cmp_metrics[m].shown))
					continue;
				stats_summarize(s->v, s->n, &st);
				if (isnan(st.ci_lo))
					snprintf(ci, sizeof(ci), "-");
				else
					snprintf(ci, sizeof(ci), "[%s, %s]", num(b[4], 48, st.ci_lo),
						 num(b[5], 48, st.ci_hi));
				fprintf(out, "  %-6s %-9s %3zu %12s %12s %12s %7s  %-27s %s\n",
					d->cfg[c].id, cmp_metrics[m].name, st.n,
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
		for (int c = 0; c < d->ncfg; c++)
			for (int m = 0; m < cmp_nmetrics; m++) {
				const struct cmp_series *s = compare_series(d, c, w, m);
				struct stats_summary st;

				if (!s || (only_metric >= 0 ? m != only_metric : !cmp_metrics[m].shown))
					continue;
				stats_summarize(s->v, s->n, &st);
				csv_field(out, d->cfg[c].id, 1);
				csv_field(out, d->cfg[c].params, 0);
				csv_field(out, d->wl[w].bench, 0);
				csv_field(out, d->wl[w].name, 0);
				csv_field(out, cmp_metrics[m].name, 0);
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

/* "key: a -> b, key2: c -> d" for every key that differs (absent: "-"). */
static char *differs_text(const struct cmp_config *a, const struct cmp_config *b)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	int n = 0;

	if (!f)
		return NULL;
	for (int pass = 0; pass < 2; pass++) {
		const struct cmp_config *x = pass ? b : a, *y = pass ? a : b;

		for (int k = 0; k < x->nkv; k++) {
			const char *vy = compare_param(y, x->keys[k]);

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
static int differs_only_in(const struct cmp_config *b, const struct cmp_config *o, const char *key)
{
	const char *vo = compare_param(o, key), *vb = compare_param(b, key);

	if (!vo || !vb || strcmp(vo, vb) == 0 || b->nkv != o->nkv)
		return 0;
	for (int k = 0; k < b->nkv; k++) {
		const char *v = compare_param(o, b->keys[k]);

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
		const struct cmp_config *o = &d->cfg[pairs[i].other], *bs = &d->cfg[pairs[i].base];

		if (strcmp(o->status, "run") != 0 || strcmp(bs->status, "run") != 0)
			fprintf(out, "\n%s vs %s (%s): %s skipped: %s\n", o->id, bs->id,
				pairs[i].differs, strcmp(bs->status, "run") ? bs->id : o->id,
				strcmp(bs->status, "run") ? bs->reason : o->reason);
	}
	for (int w = 0; w < d->nwl; w++) {
		int heading = 0;

		for (int i = 0; i < np; i++) {
			int sub = 0;

			for (int m = 0; m < cmp_nmetrics; m++) {
				struct cmp_result r;
				char ci[64], nn[32];

				if (only_metric >= 0 ? m != only_metric : !cmp_metrics[m].shown)
					continue;
				if (compare_series_pair(compare_series(d, pairs[i].base, w, m),
							compare_series(d, pairs[i].other, w, m), m,
							&r) != 0)
					continue;
				if (!heading++)
					fprintf(out, "\n%s %s\n", d->wl[w].bench, d->wl[w].name);
				if (!sub++) {
					char note[1024];

					fprintf(out, "  %s vs %s (%s)\n", d->cfg[pairs[i].other].id,
						d->cfg[pairs[i].base].id, pairs[i].differs);
					if (compare_flavour_note(&d->cfg[pairs[i].base],
								 &d->cfg[pairs[i].other], note,
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
					cmp_metrics[m].name, num(b[0], 48, r.base.median),
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
			for (int m = 0; m < cmp_nmetrics; m++) {
				struct cmp_result r;

				if (only_metric >= 0 ? m != only_metric : !cmp_metrics[m].shown)
					continue;
				if (compare_series_pair(compare_series(d, pairs[i].base, w, m),
							compare_series(d, pairs[i].other, w, m), m,
							&r) != 0)
					continue;
				csv_field(out, d->wl[w].bench, 1);
				csv_field(out, d->wl[w].name, 0);
				csv_field(out, cmp_metrics[m].name, 0);
				csv_field(out, d->cfg[pairs[i].base].id, 0);
				csv_field(out, d->cfg[pairs[i].other].id, 0);
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

/* ---- the command ------------------------------------------------------------------------- */

int compare_main(int argc, char **argv, FILE *out)
{
	const char *pos[4], *baseline = NULL, *metric = NULL;
	int npos = 0, csv = 0, only_metric = -1, rc = 0, np = 0;
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
	if (metric && (only_metric = compare_metric_index(metric)) < 0)
		return usage_error("compare: unknown metric '%s' (p50, p99, iops, frames_s, acc_op, "
				   "irq_op, mbps, gbps, p50_ns, p99_ns)", metric);
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
	pairs = calloc((size_t)d.ncfg * (size_t)d.ncfg + 1, sizeof(*pairs));
	if (!pairs) {
		rc = KVMIO_EXIT_IO;
		goto done;
	}
	if (npos == 3) {
		int a = compare_config_index(&d, pos[1]), b = compare_config_index(&d, pos[2]);

		if (a < 0 || b < 0) {
			rc = usage_error("compare: unknown configuration '%s' (see matrix.tsv)",
					 a < 0 ? pos[1] : pos[2]);
			goto done;
		}
		pairs[np].base = a;
		pairs[np].other = b;
		pairs[np++].differs = differs_text(&d.cfg[a], &d.cfg[b]);
	} else {
		int has_key = 0, has_value = 0;

		key = strdup(baseline);
		if (!key) {
			rc = KVMIO_EXIT_IO;
			goto done;
		}
		value = strchr(key, '=');
		*value++ = '\0';
		for (int i = 0; i < d.ncfg; i++) {
			const char *v = compare_param(&d.cfg[i], key);

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
			for (int i = 0; i < d.ncfg; i++) {
				const char *v = compare_param(&d.cfg[i], key);
				int seen = 0;

				for (int j = 0; v && j < i && !seen; j++) {
					const char *w = compare_param(&d.cfg[j], key);

					seen = w && strcmp(w, v) == 0;
				}
				if (v && !seen)
					fprintf(stderr, " %s", v);
			}
			fprintf(stderr, ")\n");
			rc = KVMIO_EXIT_BADCONFIG;
			goto done;
		}
		for (int b = 0; b < d.ncfg; b++) {
			const char *v = compare_param(&d.cfg[b], key);

			if (!v || strcmp(v, value) != 0)
				continue;
			for (int o = 0; o < d.ncfg; o++) {
				if (o == b || !differs_only_in(&d.cfg[b], &d.cfg[o], key))
					continue;
				pairs[np].base = b;
				pairs[np].other = o;
				pairs[np++].differs = differs_text(&d.cfg[b], &d.cfg[o]);
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
done:
	for (int i = 0; i < np; i++)
		free(pairs[i].differs);
	free(pairs);
	free(key);
	compare_free(&d);
	fflush(out);
	return rc;
}
