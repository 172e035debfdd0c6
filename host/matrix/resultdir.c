/* The result directory of `kvmio run`: writing it, loading it (resultdir.h, docs/run.md). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "boot/hostinfo.h"
#include "kvmio_proto.h"
#include "lib/csv.h"
#include "lib/file.h"
#include "lib/json.h"
#include "lib/xalloc.h"
#include "matrix/resultdir.h"
#include "proto/figures.h"

/* Paths are bounded: kvmio run refuses a DIR longer than 1024 bytes. */
#ifndef __clang__
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

#define JOB_COPY "job.ini"
#define MATRIX_TSV "matrix.tsv"
#define RESULTS_CSV "results.csv"
#define RESULTS_JSON "results.json"
#define FLAVOUR_SEP " | " /* flavour labels contain commas */

/* ---- writing ----------------------------------------------------------------------------- */

int resultdir_claim(const char *dir, const char *job_path, int resume, char *err,
		    size_t errlen)
{
	char copy[PATH_MAX], sub[PATH_MAX];
	char *mine = file_read(job_path, NULL), *theirs;
	int rc = KVMIO_EXIT_OK;

	snprintf(copy, sizeof(copy), "%s/" JOB_COPY, dir);
	theirs = file_read(copy, NULL);
	if (theirs && !resume) {
		snprintf(err, errlen, "%s already holds a run: --resume to finish it, or another "
			 "-o DIR", dir);
		rc = KVMIO_EXIT_BADCONFIG;
	} else if (theirs && mine && strcmp(mine, theirs) != 0) {
		snprintf(err, errlen, "--resume: %s differs from %s: refusing to mix two jobs in "
			 "one directory", job_path, copy);
		rc = KVMIO_EXIT_BADCONFIG;
	} else if (!mine) {
		snprintf(err, errlen, "cannot read %s", job_path);
		rc = KVMIO_EXIT_IO;
	} else {
		snprintf(sub, sizeof(sub), "%s/runs", dir);
		if (dir_make_all(sub) == 0)
			snprintf(sub, sizeof(sub), "%s/images", dir);
		if (dir_make_all(sub) != 0 || (!theirs && file_replace(copy, mine) != 0)) {
			snprintf(err, errlen, "cannot write in %s: %s", dir, strerror(errno));
			rc = KVMIO_EXIT_IO;
		}
	}
	free(mine);
	free(theirs);
	return rc;
}

int resultdir_write_matrix(const char *dir, const struct job_matrix *m)
{
	char path[PATH_MAX], *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	int rc;

	if (!f)
		return -1;
	for (int i = 0; i < m->n; i++) {
		const struct job_config *c = &m->cfg[i];

		fprintf(f, "%s\t%s\t%s\t%s\n", c->id, c->skip ? "skip" : "run",
			c->skip && c->reason[0] ? c->reason : "-", c->params);
	}
	fclose(f);
	snprintf(path, sizeof(path), "%s/" MATRIX_TSV, dir);
	rc = s ? file_replace(path, s) : -1;
	free(s);
	return rc;
}

char *resultdir_image_path(const char *dir, const char *format, const char *size)
{
	char *path;

	return asprintf(&path, "%s/images/%s-%s.img", dir, format, size) < 0 ? NULL : path;
}

void resultdir_run_path(const char *dir, const char *id, int repeat, const char *name, char *buf,
			size_t len)
{
	snprintf(buf, len, "%s/runs/%s/r%d/%s", dir, id, repeat, name);
}

int resultdir_run_begin(const char *dir, const struct job_config *c, int repeat,
			const char *cmd_text, uint64_t host_tsc_hz, const char *host_tsc_method)
{
	char path[PATH_MAX], line[sizeof(c->flavour) + 1];

	resultdir_run_path(dir, c->id, repeat, "", path, sizeof(path));
	if (dir_make_all(path) != 0)
		return -1;
	resultdir_run_path(dir, c->id, repeat, RESULTDIR_RUN_EXIT, path, sizeof(path));
	unlink(path);
	resultdir_run_path(dir, c->id, repeat, RESULTDIR_RUN_LOG, path, sizeof(path));
	unlink(path);
	resultdir_run_path(dir, c->id, repeat, RESULTDIR_RUN_FLAVOUR, path, sizeof(path));
	snprintf(line, sizeof(line), "%s\n", c->flavour);
	if (file_replace(path, line) != 0)
		return -1;
	resultdir_run_path(dir, c->id, repeat, RESULTDIR_RUN_HOST_NOISE, path, sizeof(path));
	unlink(path);
	resultdir_run_path(dir, c->id, repeat, RESULTDIR_RUN_HOST, path, sizeof(path));
	unlink(path);
	resultdir_run_path(dir, c->id, repeat, RESULTDIR_RUN_HOST_TSC, path, sizeof(path));
	unlink(path);
	if (host_tsc_hz) {
		char text[64];

		snprintf(text, sizeof(text), "%llu %s\n", (unsigned long long)host_tsc_hz,
			 host_tsc_method);
		if (file_replace(path, text) != 0)
			return -1;
	}
	resultdir_run_path(dir, c->id, repeat, RESULTDIR_RUN_CMD, path, sizeof(path));
	file_write(path, cmd_text, strlen(cmd_text)); /* for reading only: the run goes on */
	return 0;
}

int resultdir_run_set_host(const char *dir, const char *id, int repeat, const char *name)
{
	char path[PATH_MAX], line[512];

	resultdir_run_path(dir, id, repeat, RESULTDIR_RUN_HOST, path, sizeof(path));
	snprintf(line, sizeof(line), "%s\n", name);
	return file_replace(path, line);
}

void resultdir_host_file(const char *name, char *buf, size_t len)
{
	size_t n = 0;

	for (const char *p = name; *p && n + 1 < len; p++)
		buf[n++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			   (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-' ? *p : '_';
	buf[n] = '\0';
}

#define HOSTS_DIR "hosts"

int resultdir_write_host(const char *dir, const char *name, const char *uri, const char *state,
			 const char *error, const struct libvirt_facts *f)
{
	char path[PATH_MAX], file[256], *s = NULL;
	size_t len = 0;
	FILE *js;
	int rc;

	snprintf(path, sizeof(path), "%s/" HOSTS_DIR, dir);
	if (dir_make_all(path) != 0 || !(js = open_memstream(&s, &len)))
		return -1;
	json_write_key(js, "name", 1);
	json_write_string(js, name);
	json_write_key(js, "uri", 0);
	json_write_string(js, uri);
	json_write_key(js, "state", 0);
	json_write_string(js, state);
	json_write_key(js, "error", 0);
	json_write_string(js, error);
	if (f) {
		json_write_key(js, "hostname", 0);
		json_write_string(js, f->hostname);
		json_write_key(js, "flavour", 0);
		json_write_string(js, f->flavour);
		json_write_key(js, "cpu", 0);
		json_write_string(js, f->cpu);
		json_write_key(js, "qemu_version", 0);
		json_write_string(js, f->qemu_version);
		json_write_key(js, "libvirt_version", 0);
		json_write_string(js, f->libvirt_version);
		json_write_key(js, "local", 0);
		fputs(f->local ? "true" : "false", js);
		if (f->local) {
			json_write_key(js, "local_flavour", 0);
			json_write_string(js, f->local_flavour);
			json_write_key(js, "local_cpu", 0);
			json_write_string(js, f->local_cpu);
		}
	}
	fclose(js);
	if (!s)
		return -1;
	/* {...} around the fields */
	resultdir_host_file(name, file, sizeof(file));
	snprintf(path, sizeof(path), "%s/" HOSTS_DIR "/%s.json", dir, file);
	{
		char *doc = xasprintf("{%s}\n", s);

		rc = file_replace(path, doc);
		free(doc);
	}
	free(s);
	return rc;
}

/* A host record's field (malloc'd), or NULL. */
static char *host_field(json_t *doc, const char *key)
{
	const char *v = json_string_value(json_object_get(doc, key));

	return v ? strdup(v) : NULL;
}

/* DIR/hosts/NAME.json, or NULL (json_decref it). */
static json_t *host_record(const char *dir, const char *name)
{
	char path[PATH_MAX], file[256];

	resultdir_host_file(name, file, sizeof(file));
	snprintf(path, sizeof(path), "%s/" HOSTS_DIR "/%s.json", dir, file);
	return json_load_file(path, 0, NULL);
}

uint64_t resultdir_run_host_tsc(const char *dir, const char *id, int repeat)
{
	char path[PATH_MAX], line[64];

	resultdir_run_path(dir, id, repeat, RESULTDIR_RUN_HOST_TSC, path, sizeof(path));
	if (file_read_line(path, line, sizeof(line)) != 0)
		return 0;
	return strtoull(line, NULL, 10);
}

int resultdir_run_host_noise_write(const char *dir, const char *id, int repeat, double lost_pct,
				   double work_ns, const char *detail)
{
	char path[PATH_MAX], *text = isnan(work_ns) ? xasprintf("%.3f\n%s", lost_pct, detail)
			: xasprintf("%.3f %.1f\n%s", lost_pct, work_ns, detail);
	int rc;

	resultdir_run_path(dir, id, repeat, RESULTDIR_RUN_HOST_NOISE, path, sizeof(path));
	rc = file_replace(path, text);
	free(text);
	return rc;
}

/* The first line of a run's host_noise: LOST_PCT, then WORK_NS (absent before kvmio measured
 * it). 0 with both (NAN where absent or out of range), -1 without a file. */
static int host_noise_line(const char *dir, const char *id, int repeat, double *lost,
			   double *work)
{
	char path[PATH_MAX], line[96], *end, *end2;
	double v;

	*lost = *work = NAN;
	resultdir_run_path(dir, id, repeat, RESULTDIR_RUN_HOST_NOISE, path, sizeof(path));
	if (file_read_line(path, line, sizeof(line)) != 0)
		return -1;
	v = strtod(line, &end);
	if (end == line || v < 0 || v > 100)
		return 0;
	*lost = v;
	v = strtod(end, &end2);
	if (end2 != end && v > 0 && isfinite(v))
		*work = v;
	return 0;
}

double resultdir_run_host_noise(const char *dir, const char *id, int repeat)
{
	double lost, work;

	host_noise_line(dir, id, repeat, &lost, &work);
	return lost;
}

double resultdir_run_host_work(const char *dir, const char *id, int repeat)
{
	double lost, work;

	host_noise_line(dir, id, repeat, &lost, &work);
	return work;
}

int resultdir_run_host_storage_write(const char *dir, const char *id, int repeat,
				     double median_ns, const char *detail)
{
	char path[PATH_MAX], *text = xasprintf("%.1f\n%s", median_ns, detail);
	int rc;

	resultdir_run_path(dir, id, repeat, RESULTDIR_RUN_HOST_STORAGE, path, sizeof(path));
	rc = file_replace(path, text);
	free(text);
	return rc;
}

double resultdir_run_host_storage(const char *dir, const char *id, int repeat)
{
	char path[PATH_MAX], line[64], *end;
	double v;

	resultdir_run_path(dir, id, repeat, RESULTDIR_RUN_HOST_STORAGE, path, sizeof(path));
	if (file_read_line(path, line, sizeof(line)) != 0)
		return NAN;
	v = strtod(line, &end);
	return end != line && v > 0 && isfinite(v) ? v : NAN;
}

int resultdir_run_end(const char *dir, const char *id, int repeat, int code)
{
	char path[PATH_MAX], text[16];

	resultdir_run_path(dir, id, repeat, RESULTDIR_RUN_EXIT, path, sizeof(path));
	snprintf(text, sizeof(text), "%d\n", code);
	return file_replace(path, text);
}

int resultdir_run_exit(const char *dir, const char *id, int repeat)
{
	char path[PATH_MAX], *t;
	int code;

	resultdir_run_path(dir, id, repeat, RESULTDIR_RUN_EXIT, path, sizeof(path));
	t = file_read(path, NULL);
	if (!t)
		return -1;
	code = atoi(t);
	free(t);
	return code;
}

char *resultdir_run_failure(const char *dir, const char *id, int repeat)
{
	char path[PATH_MAX], *t, *last = NULL;

	resultdir_run_path(dir, id, repeat, RESULTDIR_RUN_STDERR, path, sizeof(path));
	t = file_read(path, NULL);
	for (char *l = t ? strtok(t, "\n") : NULL; l; l = strtok(NULL, "\n"))
		if (!strncmp(l, "kvmio: ", 7) && strncmp(l, "kvmio: warning: ", 16))
			last = l + 7;
	last = strdup(last ? last : "");
	free(t);
	return last;
}

#define NCOLS 44
#define COL_FLAVOUR 28 /* the host's accelerator flavour of the run (runs/ID/rN/flavour) */
#define COL_QEMU 32    /* the QEMU binary of the configuration, its version and build id */
#define COL_HOST_TSC 35 /* the host's TSC (runs/ID/rN/host_tsc_hz), then the guest's error */
#define COL_HOST_NOISE 37 /* the noise probe before the run (runs/ID/rN/host_noise) */
#define COL_HOST_WORK 38 /* the same probe's ns per block of work: the CPUs' speed */
#define COL_HOST_DISK 39 /* the storage probe's median read (runs/ID/rN/host_storage) */
#define COL_HOST 40    /* the host that ran it, and that host's facts (RUN_HOST_COLS) */
#define RUN_HOST_COLS 4
static const char *const columns[NCOLS] = {
	"config", "repeat", "exit", "params", "bench", "name", "ops", "total", "min", "p50",
	"p90", "p99", "p999", "max", "mean", "tsc_hz", "accel", "iops", "mbps", "frames_s",
	"gbps", "acc_op", "irq_op", "harness", "p50_ns", "p99_ns", "lost", "corrupt", "flavour",
	"drift_pct", "p50_net_ns", "p99_net_ns", "qemu", "qemu_version", "qemu_build",
	"host_tsc_hz", "tsc_error_ppm", "host_lost_pct", "host_work_ns", "host_disk_ns", "host",
	"host_flavour", "host_cpu", "host_qemu_version",
};

/* Columns that hold text even when it looks like a number. */
static int text_column(int k)
{
	return k == 4 || k == 5 || k == 16 || k == COL_FLAVOUR || (k >= COL_QEMU && k < COL_HOST_TSC) ||
	       k >= COL_HOST;
}

/* A figure as printed with fmt, or "" (malloc'd). */
static char *figure_text(int has, const char *fmt, double v)
{
	char *s;

	if (!has)
		return strdup("");
	return asprintf(&s, fmt, v) < 0 ? NULL : s;
}

/* A field's text, or "" (malloc'd). */
static char *field_text(const struct record *r, const char *key)
{
	const char *v = r ? record_get(r, key) : NULL;

	return strdup(v ? v : "");
}

/* The columns from bench= on, for one result record (malloc'd strings, "" = empty). */
static void result_values(const struct record *r, const struct log *log, char *vals[NCOLS])
{
	static const char *const direct[] = { "bench", "name", "ops", "total", "min", "p50", "p90",
					      "p99", "p999", "max", "mean" };
	const struct record *h = log_find(log, "hello", NULL, NULL);
	uint64_t hz = log_tsc_hz(log);
	struct result_figures f;
	double v, p50_ns = 0, p99_ns = 0;
	int has_p50 = record_get_number(r, "p50", &v) == 0 && cycles_to_ns(v, hz, &p50_ns);
	int has_p99 = record_get_number(r, "p99", &v) == 0 && cycles_to_ns(v, hz, &p99_ns);
	char *hz_text = NULL;
	int has;

	result_figures(r, hz, &f);
	for (size_t k = 0; k < sizeof(direct) / sizeof(direct[0]); k++)
		vals[4 + k] = field_text(r, direct[k]);
	if (h && asprintf(&hz_text, "%llu", (unsigned long long)hz) < 0)
		hz_text = NULL;
	vals[15] = h ? hz_text : strdup("");
	vals[16] = field_text(h, "accel");
	vals[17] = figure_text(f.disk && f.has_rate, "%.1f", f.rate);
	vals[18] = figure_text(f.has_mbps, "%.3f", f.mbps);
	vals[19] = figure_text(f.net && f.has_rate, "%.1f", f.rate);
	vals[20] = figure_text(f.has_gbps, "%.6f", f.gbps);
	vals[21] = figure_text(f.has_acc, "%.3f", f.acc_per_unit);
	vals[22] = figure_text(f.has_irq, "%.3f", f.irq_per_unit);
	vals[23] = field_text(r, "harness_mean");
	vals[24] = figure_text(has_p50, "%.1f", p50_ns);
	vals[25] = figure_text(has_p99, "%.1f", p99_ns);
	vals[26] = field_text(r, "lost");
	vals[27] = field_text(r, "corrupt");
	vals[COL_FLAVOUR] = NULL;
	vals[29] = figure_text(f.has_drift, "%.2f", f.drift_pct);
	/* one statement each: v must be set before it is passed (argument order is unspecified) */
	has = latency_net_ns(r, log, "p50", &v) == 0;
	vals[30] = figure_text(has, "%.1f", v);
	has = latency_net_ns(r, log, "p99", &v) == 0;
	vals[31] = figure_text(has, "%.1f", v);
	for (int k = COL_QEMU; k < NCOLS; k++) /* the run's, filled by write_run_results */
		vals[k] = NULL;
}

/* What the runner measured of the host beside one run (runs/ID/rN/host_*). */
struct run_probes {
	uint64_t tsc_hz;        /* 0: none */
	double lost_pct, work_ns, disk_ns; /* NAN: none */
};

static void run_probes_read(const char *dir, const char *id, int repeat, struct run_probes *p)
{
	p->tsc_hz = resultdir_run_host_tsc(dir, id, repeat);
	p->lost_pct = resultdir_run_host_noise(dir, id, repeat);
	p->work_ns = resultdir_run_host_work(dir, id, repeat);
	p->disk_ns = resultdir_run_host_storage(dir, id, repeat);
}

/* The rows of one finished run: results.csv lines and results.json "results" objects. */
static void write_run_results(FILE *csv, FILE *js, const struct job_config *c, int repeat,
			      int code, const struct log *log, const char *flavour,
			      const struct run_probes *probe, char *const host[RUN_HOST_COLS])
{
	uint64_t guest_hz = log_tsc_hz(log), host_hz = probe->tsc_hz;

	int first = 1;

	for (size_t n = 0; n < log->nrecs; n++) {
		const struct record *rec = &log->recs[n];
		char *vals[NCOLS];

		if (strcmp(rec->type, "result") != 0)
			continue;
		result_values(rec, log, vals);
		vals[COL_FLAVOUR] = strdup(flavour);
		vals[COL_QEMU] = strdup(c->qemu ? c->qemu : "");
		vals[COL_QEMU + 1] = strdup(c->qemu_version);
		vals[COL_QEMU + 2] = strdup(c->qemu_build);
		vals[COL_HOST_TSC] = host_hz ? xasprintf("%llu", (unsigned long long)host_hz)
					     : strdup("");
		/* + 0.0: a rounded -0.4 ppm prints as 0, not -0 */
		vals[COL_HOST_TSC + 1] = figure_text(host_hz && guest_hz, "%.0f",
						     round(host_tsc_error_ppm(guest_hz, host_hz)) + 0.0);
		vals[COL_HOST_NOISE] = figure_text(!isnan(probe->lost_pct), "%.2f", probe->lost_pct);
		vals[COL_HOST_WORK] = figure_text(!isnan(probe->work_ns), "%.1f", probe->work_ns);
		vals[COL_HOST_DISK] = figure_text(!isnan(probe->disk_ns), "%.0f", probe->disk_ns);
		for (int k = 0; k < RUN_HOST_COLS; k++)
			vals[COL_HOST + k] = strdup(host[k]);
		csv_field(csv, c->id, 1);
		fprintf(csv, ",%d,%d", repeat, code);
		csv_field_quoted(csv, c->params, 0);
		for (int k = 4; k < NCOLS; k++)
			csv_field(csv, vals[k], 0);
		fputc('\n', csv);
		fputs(first ? "{" : ",{", js);
		first = 0;
		for (int k = 4; k < NCOLS; k++) {
			json_write_key(js, columns[k], k == 4);
			if (text_column(k) && vals[k] && vals[k][0])
				json_write_string(js, vals[k]);
			else
				json_write_value(js, vals[k]);
		}
		fputc('}', js);
		for (int k = 4; k < NCOLS; k++)
			free(vals[k]);
	}
}

/* The host of a run and its facts (malloc'd, one per host column): its --hosts name and that
 * host's record, or "local" and this machine (the run's flavour, QEMU version and CPU). */
static void run_host(const char *dir, const struct job_config *c, int repeat,
		     const char *flavour, char *out[RUN_HOST_COLS])
{
	static char local_cpu[128];
	static int local_read;
	char path[PATH_MAX], name[512];
	json_t *doc;

	resultdir_run_path(dir, c->id, repeat, RESULTDIR_RUN_HOST, path, sizeof(path));
	if (file_read_line(path, name, sizeof(name)) == 0 && name[0]) {
		doc = host_record(dir, name);
		out[0] = strdup(name);
		out[1] = doc ? host_field(doc, "flavour") : NULL;
		out[2] = doc ? host_field(doc, "cpu") : NULL;
		out[3] = doc ? host_field(doc, "qemu_version") : NULL;
		json_decref(doc);
	} else {
		if (!local_read++) {
			struct host_facts f;

			host_facts_read_kvm(&f);
			snprintf(local_cpu, sizeof(local_cpu), "%s", f.cpu_model);
		}
		out[0] = strdup(RESULTDIR_LOCAL_HOST);
		out[1] = xasprintf("%.*s", (int)strcspn(flavour, " "), flavour);
		out[2] = strdup(local_cpu);
		out[3] = strdup(c->qemu_version);
	}
	for (int k = 0; k < RUN_HOST_COLS; k++)
		if (!out[k])
			out[k] = strdup("");
}

/* One configuration's object in results.json, its rows in results.csv. */
static void write_config_results(FILE *csv, FILE *js, const char *dir,
				 const struct job_config *c, const struct repeat_goal *goal,
				 const struct repeat_state *until)
{
	int first_run = 1;

	json_write_key(js, "id", 1);
	json_write_string(js, c->id);
	json_write_key(js, "section", 0);
	json_write_string(js, c->section);
	json_write_key(js, "params", 0);
	fputc('{', js);
	for (int k = 0, n = 0; k < c->nparams; k++) {
		if (!job_param_is_config(c->keys[k]))
			continue;
		json_write_key(js, c->keys[k], n++ == 0);
		json_write_string(js, c->values[k]);
	}
	fputc('}', js);
	json_write_key(js, "qemu", 0);
	fputc('{', js);
	json_write_key(js, "path", 1);
	json_write_string(js, c->qemu ? c->qemu : "");
	json_write_key(js, "version", 0);
	json_write_string(js, c->qemu_version);
	json_write_key(js, "build", 0);
	json_write_string(js, c->qemu_build);
	fputc('}', js);
	json_write_key(js, "status", 0);
	json_write_string(js, c->skip ? "skip" : "run");
	json_write_key(js, "reason", 0);
	json_write_string(js, c->skip ? c->reason : "");
	if (goal && until && !c->skip) {
		fprintf(js, ",\"until_cv\":{\"target_pct\":%g,\"max_repeat\":%d,\"repeats\":%d,"
			"\"values\":%zu,\"cv_pct\":", goal->cv_pct, goal->max_repeat, until->runs,
			until->nvalues);
		if (isnan(until->cv))
			fputs("null", js);
		else
			fprintf(js, "%.6g", 100 * until->cv);
		fprintf(js, ",\"reached\":%s}", until->verdict == REPEAT_STABLE ? "true" : "false");
	}
	json_write_key(js, "runs", 0);
	fputc('[', js);
	for (int r = 1; !c->skip; r++) {
		char path[PATH_MAX], flavour[512], *reason, *host[RUN_HOST_COLS];
		struct log log;
		struct run_probes probe;
		int code;

		resultdir_run_path(dir, c->id, r, "", path, sizeof(path));
		if (r > c->repeat && !path_exists(path))
			break;
		code = resultdir_run_exit(dir, c->id, r);
		if (code < 0)
			continue; /* not finished */
		resultdir_run_path(dir, c->id, r, RESULTDIR_RUN_LOG, path, sizeof(path));
		log_parse_file(&log, path);
		resultdir_run_path(dir, c->id, r, RESULTDIR_RUN_FLAVOUR, path, sizeof(path));
		file_read_line(path, flavour, sizeof(flavour));
		reason = code ? resultdir_run_failure(dir, c->id, r) : strdup("");
		fprintf(js, "%s{\"repeat\":%d,\"exit\":%d,\"log_status\":%d", first_run ? "" : ",",
			r, code, log.status);
		json_write_key(js, "flavour", 0);
		json_write_string(js, flavour);
		json_write_key(js, "reason", 0);
		json_write_string(js, reason);
		run_host(dir, c, r, flavour, host);
		for (int k = 0; k < RUN_HOST_COLS; k++) {
			json_write_key(js, columns[COL_HOST + k], 0);
			json_write_string(js, host[k]);
		}
		json_write_key(js, "results", 0);
		fputc('[', js);
		run_probes_read(dir, c->id, r, &probe);
		write_run_results(csv, js, c, r, code, &log, flavour, &probe, host);
		for (int k = 0; k < RUN_HOST_COLS; k++)
			free(host[k]);
		fputs("]}", js);
		first_run = 0;
		free(reason);
		log_free(&log);
	}
	fputc(']', js);
}

int resultdir_write_results(const char *dir, const char *job_name, const struct job_matrix *m,
			    const struct repeat_goal *goal, const struct repeat_state *until)
{
	char csvp[PATH_MAX], jsonp[PATH_MAX], tmpc[PATH_MAX], tmpj[PATH_MAX];
	FILE *csv, *js;
	int rc = 0;

	snprintf(csvp, sizeof(csvp), "%s/" RESULTS_CSV, dir);
	snprintf(jsonp, sizeof(jsonp), "%s/" RESULTS_JSON, dir);
	snprintf(tmpc, sizeof(tmpc), "%s.tmp", csvp);
	snprintf(tmpj, sizeof(tmpj), "%s.tmp", jsonp);
	csv = fopen(tmpc, "w");
	js = fopen(tmpj, "w");
	if (!csv || !js) {
		if (csv)
			fclose(csv);
		if (js)
			fclose(js);
		return -1;
	}
	for (int k = 0; k < NCOLS; k++)
		csv_field(csv, columns[k], k == 0);
	fputc('\n', csv);
	fputc('{', js);
	json_write_key(js, "job", 1);
	json_write_string(js, job_name);
	json_write_key(js, "configs", 0);
	fputc('[', js);
	for (int i = 0; i < m->n; i++) {
		fputs(i ? ",\n{" : "\n{", js);
		write_config_results(csv, js, dir, &m->cfg[i], goal, until ? &until[i] : NULL);
		fputc('}', js);
	}
	fputs("\n]}\n", js);
	if (fclose(csv) != 0)
		rc = -1;
	if (fclose(js) != 0)
		rc = -1;
	if (rc == 0 && (rename(tmpc, csvp) != 0 || rename(tmpj, jsonp) != 0))
		rc = -1;
	return rc;
}

/* ---- reading ----------------------------------------------------------------------------- */

/* Add a flavour to a " | "-separated set (once each). 1 added, 0 already there, -1 out of
 * memory. */
static int flavour_set_add(char **set, const char *flavour)
{
	char *s;

	if (*set) {
		for (const char *p = *set; p;) {
			size_t n = strcspn(p, "|");

			if (n > 0 && p[n - 1] == ' ')
				n--;
			if (n == strlen(flavour) && !strncmp(p, flavour, n))
				return 0;
			p = strstr(p, FLAVOUR_SEP);
			p = p ? p + strlen(FLAVOUR_SEP) : NULL;
		}
		if (asprintf(&s, "%s" FLAVOUR_SEP "%s", *set, flavour) < 0)
			return -1;
	} else if (!(s = strdup(flavour))) {
		return -1;
	}
	free(*set);
	*set = s;
	return 1;
}

static int split_params(struct resultdir_config *c)
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

static int add_config(struct resultdir *rd, const char *id, const char *status,
		      const char *reason, const char *params)
{
	struct resultdir_config *nc = realloc(rd->cfg, (size_t)(rd->ncfg + 1) * sizeof(*nc));
	struct resultdir_config *c;

	if (!nc)
		return -1;
	rd->cfg = nc;
	c = &rd->cfg[rd->ncfg++];
	memset(c, 0, sizeof(*c));
	c->id = strdup(id);
	c->status = strdup(status);
	c->reason = strdup(reason);
	c->params = strdup(params);
	c->run_id = strdup(id);
	c->skip = strcmp(status, "skip") == 0;
	if (!c->id || !c->status || !c->reason || !c->params || !c->run_id ||
	    split_params(c) != 0)
		return -1;
	return 0;
}

static void config_free(struct resultdir_config *c)
{
	for (int k = 0; k < c->nkv; k++) {
		free(c->keys[k]);
		free(c->vals[k]);
	}
	free(c->keys);
	free(c->vals);
	free(c->id);
	free(c->status);
	free(c->reason);
	free(c->params);
	free(c->flavours);
	free(c->run_id);
}

static int load_matrix(struct resultdir *rd, enum resultdir_matrix need, char *err,
		       size_t errlen)
{
	char *path = NULL, *text, *line, *next;
	int lineno = 0, rc = KVMIO_EXIT_OK;

	if (asprintf(&path, "%s/" MATRIX_TSV, rd->dir) < 0)
		return KVMIO_EXIT_IO;
	text = file_read(path, NULL);
	if (!text) {
		if (need == RESULTDIR_MATRIX_OPTIONAL && errno == ENOENT) {
			free(path);
			return KVMIO_EXIT_OK;
		}
		snprintf(err, errlen, "%s: %s (not a kvmio run result directory?)", path,
			 strerror(errno));
		free(path);
		return KVMIO_EXIT_BADCONFIG;
	}
	rd->has_matrix = 1;
	for (line = text; line && *line && rc == KVMIO_EXIT_OK; line = next) {
		char *f[4], *save = NULL;
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
			rc = KVMIO_EXIT_BADCONFIG;
		} else if (add_config(rd, f[0], f[1], f[2], n > 3 ? f[3] : "") != 0) {
			snprintf(err, errlen, "out of memory");
			rc = KVMIO_EXIT_IO;
		}
	}
	free(text);
	free(path);
	return rc;
}

#define MAX_COLUMNS 64

static int load_results(struct resultdir *rd, char *err, size_t errlen)
{
	enum { CONFIG, REPEAT, EXIT, PARAMS, BENCH, NAME, NKEYS };
	static const char *const key_column[NKEYS] = { "config", "repeat", "exit", "params",
						       "bench", "name" };
	char *p, *f[MAX_COLUMNS];
	int col[NKEYS], n, lineno = 1, colflavour;

	if (asprintf(&rd->csv_path, "%s/" RESULTS_CSV, rd->dir) < 0)
		return KVMIO_EXIT_IO;
	rd->csv_text = file_read(rd->csv_path, NULL);
	if (!rd->csv_text) {
		snprintf(err, errlen, "%s: %s (not a kvmio run result directory?)", rd->csv_path,
			 strerror(errno));
		return KVMIO_EXIT_BADCONFIG;
	}
	p = rd->csv_text;
	n = csv_next_record(&p, f, MAX_COLUMNS);
	if (n < NKEYS || n > MAX_COLUMNS || strcmp(f[0], "config") != 0) {
		snprintf(err, errlen, "%s:1: no results.csv header (config,repeat,exit,...)",
			 rd->csv_path);
		return KVMIO_EXIT_BADCONFIG;
	}
	rd->ncolumns = n;
	rd->column = malloc(sizeof(char *) * (size_t)n);
	if (!rd->column)
		return KVMIO_EXIT_IO;
	memcpy(rd->column, f, sizeof(char *) * (size_t)n);
	for (int k = 0; k < NKEYS; k++) {
		col[k] = resultdir_column(rd, key_column[k]);
		if (col[k] < 0 && k != REPEAT && k != PARAMS) {
			snprintf(err, errlen, "%s:1: no column '%s'", rd->csv_path, key_column[k]);
			return KVMIO_EXIT_BADCONFIG;
		}
	}
	colflavour = resultdir_column(rd, "flavour");
	while ((n = csv_next_record(&p, f, MAX_COLUMNS)) >= 0) {
		struct resultdir_row *row, *nr;
		int cfg;

		lineno++;
		if (n == 1 && f[0][0] == '\0')
			continue; /* empty line */
		if (n != rd->ncolumns) {
			snprintf(err, errlen, "%s:%d: %d fields, the header has %d", rd->csv_path,
				 lineno, n, rd->ncolumns);
			return KVMIO_EXIT_BADCONFIG;
		}
		cfg = resultdir_config_index(rd, f[col[CONFIG]]);
		if (cfg < 0 && rd->has_matrix) {
			snprintf(err, errlen, "%s:%d: configuration '%s' is not in matrix.tsv",
				 rd->csv_path, lineno, f[col[CONFIG]]);
			return KVMIO_EXIT_BADCONFIG;
		}
		if (cfg < 0) {
			if (add_config(rd, f[col[CONFIG]], "run", "-",
				       col[PARAMS] >= 0 ? f[col[PARAMS]] : "") != 0)
				goto oom;
			cfg = rd->ncfg - 1;
		}
		nr = realloc(rd->row, sizeof(*nr) * (size_t)(rd->nrows + 1));
		if (!nr)
			goto oom;
		rd->row = nr;
		row = &rd->row[rd->nrows++];
		row->line = lineno;
		row->cfg = cfg;
		row->repeat = col[REPEAT] >= 0 ? atoi(f[col[REPEAT]]) : 0;
		row->ok = strcmp(f[col[EXIT]], "0") == 0;
		row->field = malloc(sizeof(char *) * (size_t)n);
		if (!row->field)
			goto oom;
		memcpy(row->field, f, sizeof(char *) * (size_t)n);
		rd->nrows_failed += !row->ok;
		if (colflavour >= 0) {
			const char *fl = f[colflavour];

			int added;

			if (flavour_set_add(&rd->cfg[cfg].flavours, fl) < 0 ||
			    (added = fl[0] ? flavour_set_add(&rd->flavours, fl) : 0) < 0)
				goto oom;
			rd->nflavours += added;
		}
	}
	return KVMIO_EXIT_OK;
oom:
	snprintf(err, errlen, "out of memory");
	return KVMIO_EXIT_IO;
}

/* The finished runs that have rows: (configuration, repeat) once each, in row order. */
static int list_runs(struct resultdir *rd)
{
	for (int i = 0; i < rd->nrows; i++) {
		const struct resultdir_row *row = &rd->row[i];
		struct resultdir_run *nr;
		int seen = row->repeat <= 0;

		for (int k = 0; k < rd->nruns && !seen; k++)
			seen = rd->run[k].cfg == row->cfg && rd->run[k].repeat == row->repeat;
		if (seen)
			continue;
		nr = realloc(rd->run, sizeof(*nr) * (size_t)(rd->nruns + 1));
		if (!nr)
			return -1;
		rd->run = nr;
		rd->run[rd->nruns++] = (struct resultdir_run){ row->cfg, row->repeat };
	}
	return 0;
}

/* The host named `name` (added, its record read, when new); its index, or -1. */
static int host_index(struct resultdir *rd, const char *name)
{
	struct resultdir_host *nh, *h;
	json_t *doc;

	for (int i = 0; i < rd->nhosts; i++)
		if (!strcmp(rd->hosts[i].name, name))
			return i;
	nh = realloc(rd->hosts, sizeof(*nh) * (size_t)(rd->nhosts + 1));
	if (!nh)
		return -1;
	rd->hosts = nh;
	h = &rd->hosts[rd->nhosts];
	memset(h, 0, sizeof(*h));
	if (!(h->name = strdup(name)))
		return -1;
	rd->nhosts++;
	doc = host_record(rd->dir, name);
	if (doc) {
		h->uri = host_field(doc, "uri");
		h->state = host_field(doc, "state");
		h->error = host_field(doc, "error");
		h->hostname = host_field(doc, "hostname");
		h->flavour = host_field(doc, "flavour");
		h->cpu = host_field(doc, "cpu");
		h->qemu_version = host_field(doc, "qemu_version");
		h->libvirt_version = host_field(doc, "libvirt_version");
		h->local_flavour = host_field(doc, "local_flavour");
		json_decref(doc);
	}
	return rd->nhosts - 1;
}

/* The hosts: those of DIR/hosts/ (a dead one may have no rows), then those of the rows. */
static int load_hosts(struct resultdir *rd, int colhost)
{
	char path[PATH_MAX];
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "%s/" HOSTS_DIR, rd->dir);
	d = opendir(path);
	while (d && (e = readdir(d))) {
		size_t n = strlen(e->d_name);
		char file[PATH_MAX];
		json_t *doc;
		const char *name;

		if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0)
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
		doc = json_load_file(file, 0, NULL);
		name = json_string_value(json_object_get(doc, "name"));
		if (name && host_index(rd, name) < 0) {
			json_decref(doc);
			closedir(d);
			return -1;
		}
		json_decref(doc);
	}
	if (d)
		closedir(d);
	for (int i = 0; colhost >= 0 && i < rd->nrows; i++) {
		const char *name = rd->row[i].field[colhost];
		int h;

		if (!name[0])
			continue;
		if ((h = host_index(rd, name)) < 0)
			return -1;
		rd->hosts[h].nrows++;
	}
	return 0;
}

/* Host as a configuration axis: with rows from more than one host, each configuration becomes
 * one per host of its rows, "ID@HOST" with host=HOST among its parameters. */
static int split_by_host(struct resultdir *rd, int colhost)
{
	struct resultdir_config *old = rd->cfg;
	int nold = rd->ncfg, colflavour = resultdir_column(rd, "flavour"), distinct = 0, rc = 0;
	int *map = calloc((size_t)rd->nrows + 1, sizeof(int));

	for (int i = 0; i < rd->nhosts; i++)
		distinct += rd->hosts[i].nrows > 0;
	if (colhost < 0 || distinct < 2 || !map) {
		free(map);
		return map ? 0 : -1;
	}
	rd->cfg = NULL;
	rd->ncfg = 0;
	for (int i = 0; i < nold && rc == 0; i++) {
		int any = 0;

		for (int r = 0; r < rd->nrows && rc == 0; r++) {
			const char *host = rd->row[r].field[colhost];
			char *id, *params;
			struct resultdir_config *c;
			int seen = 0;

			if (rd->row[r].cfg != i)
				continue;
			any = 1;
			for (int q = 0; q < r && !seen; q++)
				if (rd->row[q].cfg == i && !strcmp(rd->row[q].field[colhost], host)) {
					seen = 1;
					map[r] = map[q];
				}
			if (seen)
				continue;
			id = xasprintf("%s@%s", old[i].id, host);
			params = xasprintf("%s%shost=%s", old[i].params, old[i].params[0] ? ";" : "",
					   host);
			if (add_config(rd, id, old[i].status, old[i].reason, params) != 0)
				rc = -1;
			free(id);
			free(params);
			if (rc)
				break;
			c = &rd->cfg[rd->ncfg - 1];
			free(c->run_id);
			c->run_id = strdup(old[i].run_id);
			map[r] = rd->ncfg - 1;
			if (!c->run_id)
				rc = -1;
		}
		if (!any && rc == 0) {
			/* no rows: as it was (skipped, or not run) */
			if (add_config(rd, old[i].id, old[i].status, old[i].reason, old[i].params))
				rc = -1;
		}
	}
	for (int r = 0; r < rd->nrows && rc == 0; r++) {
		rd->row[r].cfg = map[r];
		if (colflavour >= 0 && flavour_set_add(&rd->cfg[map[r]].flavours,
						       rd->row[r].field[colflavour]) < 0)
			rc = -1;
	}
	for (int i = 0; i < nold; i++)
		config_free(&old[i]);
	free(old);
	free(map);
	return rc;
}

/* Per host: its finished runs with rows, and the failed ones among them. */
static void count_host_runs(struct resultdir *rd, int colhost)
{
	for (int k = 0; colhost >= 0 && k < rd->nruns; k++)
		for (int i = 0; i < rd->nrows; i++) {
			const struct resultdir_row *row = &rd->row[i];
			int h;

			if (row->cfg != rd->run[k].cfg || row->repeat != rd->run[k].repeat)
				continue;
			for (h = 0; h < rd->nhosts; h++)
				if (!strcmp(rd->hosts[h].name, row->field[colhost]))
					break;
			if (h < rd->nhosts) {
				rd->hosts[h].nruns++;
				rd->hosts[h].nruns_failed += !row->ok;
			}
			break;
		}
}

int resultdir_load(const char *dir, enum resultdir_matrix matrix, struct resultdir *rd,
		   char *err, size_t errlen)
{
	int rc;

	memset(rd, 0, sizeof(*rd));
	err[0] = '\0';
	rd->dir = strdup(dir);
	if (!rd->dir)
		return KVMIO_EXIT_IO;
	rc = load_matrix(rd, matrix, err, errlen);
	if (rc == KVMIO_EXIT_OK)
		rc = load_results(rd, err, errlen);
	if (rc == KVMIO_EXIT_OK) {
		int colhost = resultdir_column(rd, "host");

		if (load_hosts(rd, colhost) != 0 || split_by_host(rd, colhost) != 0 ||
		    list_runs(rd) != 0) {
			snprintf(err, errlen, "out of memory");
			rc = KVMIO_EXIT_IO;
		} else {
			count_host_runs(rd, colhost);
		}
	}
	if (rc)
		resultdir_free(rd);
	return rc;
}

void resultdir_free(struct resultdir *rd)
{
	for (int i = 0; i < rd->ncfg; i++)
		config_free(&rd->cfg[i]);
	for (int i = 0; i < rd->nhosts; i++) {
		struct resultdir_host *h = &rd->hosts[i];

		free(h->name);
		free(h->uri);
		free(h->state);
		free(h->error);
		free(h->hostname);
		free(h->flavour);
		free(h->cpu);
		free(h->qemu_version);
		free(h->libvirt_version);
		free(h->local_flavour);
	}
	free(rd->hosts);
	for (int i = 0; i < rd->nrows; i++)
		free(rd->row[i].field);
	free(rd->cfg);
	free(rd->row);
	free(rd->run);
	free(rd->column);
	free(rd->csv_text);
	free(rd->csv_path);
	free(rd->flavours);
	free(rd->dir);
	memset(rd, 0, sizeof(*rd));
}

int resultdir_config_index(const struct resultdir *rd, const char *id)
{
	for (int i = 0; i < rd->ncfg; i++)
		if (strcmp(rd->cfg[i].id, id) == 0)
			return i;
	return -1;
}

const char *resultdir_param(const struct resultdir_config *c, const char *key)
{
	for (int i = 0; i < c->nkv; i++)
		if (strcmp(c->keys[i], key) == 0)
			return c->vals[i];
	return NULL;
}

int resultdir_column(const struct resultdir *rd, const char *name)
{
	for (int i = 0; i < rd->ncolumns; i++)
		if (strcmp(rd->column[i], name) == 0)
			return i;
	return -1;
}

char *resultdir_qemu_binaries(const struct resultdir *rd)
{
	int cq = resultdir_column(rd, "qemu"), cv = resultdir_column(rd, "qemu_version");
	int cb = resultdir_column(rd, "qemu_build");
	char *s = NULL;

	if (cq < 0 || cv < 0 || cb < 0)
		return NULL;
	for (int i = 0; i < rd->nrows; i++) {
		const struct resultdir_row *row = &rd->row[i];
		const char *label = resultdir_param(&rd->cfg[row->cfg], "qemu");
		char *one, *t;

		if (!row->field[cq][0])
			continue;
		if (asprintf(&one, "%s%s%s: %s, build %s", label ? label : "", label ? " = " : "",
			     row->field[cq], row->field[cv][0] ? row->field[cv] : "unknown",
			     row->field[cb][0] ? row->field[cb] : "unknown") < 0)
			break;
		if (s && strstr(s, one)) {
			free(one);
			continue;
		}
		if (!s) {
			s = one;
			continue;
		}
		if (asprintf(&t, "%s; %s", s, one) < 0)
			t = NULL;
		free(one);
		if (!t)
			break;
		free(s);
		s = t;
	}
	return s;
}

int resultdir_run_log(const struct resultdir *rd, const struct resultdir_run *run,
		      struct log *log)
{
	char path[PATH_MAX];

	resultdir_run_path(rd->dir, rd->cfg[run->cfg].run_id, run->repeat, RESULTDIR_RUN_LOG, path,
			   sizeof(path));
	return log_parse_file(log, path);
}
