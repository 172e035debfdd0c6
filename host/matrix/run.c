/*
 * `kvmio run JOB.ini [-o DIR] [--repeat N] [--jobs N] [--resume] [--dry-run]`: every run is a
 * child `kvmio boot ... --log DIR/runs/ID/rN/serial.log` (the same code path as by hand, and a
 * crash stays in its run); its exit code goes to DIR/runs/ID/rN/exit last.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "boot/disk.h"
#include "proto/proto.h"
#include "boot/qemu.h"
#include "analysis/report.h"
#include "matrix/run.h"
#include "lib/args.h"
#include "lib/csv.h"
#include "lib/file.h"
#include "lib/json.h"
#include "lib/proc.h"

/* Paths are bounded: run_cmd refuses a DIR longer than 1024 bytes. */
#ifndef __clang__
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

static volatile sig_atomic_t run_stop;

static void on_signal(int sig)
{
	(void)sig;
	run_stop = 1;
}

/* ---- results ----------------------------------------------------------------------------- */

#define NCOLS 29
#define COL_FLAVOUR 28 /* the host's accelerator flavour of the run (runs/ID/rN/flavour) */
static const char *const columns[NCOLS] = {
	"config", "repeat", "exit", "params", "bench", "name", "ops", "total", "min", "p50",
	"p90", "p99", "p999", "max", "mean", "tsc_hz", "accel", "iops", "mbps", "frames_s",
	"gbps", "acc_op", "irq_op", "harness", "p50_ns", "p99_ns", "lost", "corrupt", "flavour",
};

/* The columns from bench= on, for one result record (malloc'd strings, "" = empty). */
static void result_values(const struct record *r, const struct log *log, char *vals[NCOLS])
{
	static const char *const direct[] = { "bench", "name", "ops", "total", "min", "p50", "p90",
					      "p99", "p999", "max", "mean" };
	const struct record *h = log_find(log, "hello", NULL, NULL);
	const char *bench = record_get(r, "bench");
	uint64_t hz = 0;
	double ops = 0, elapsed = 0, bytes = 0, v, acc = 0;
	int isdisk = bench && strcmp(bench, "disk") == 0;
	int isnet = bench && strncmp(bench, "net-", 4) == 0;
	int have_acc = 1, have_ops;
	char b[64];

	if (h)
		record_get_u64(h, "tsc_hz", &hz);
	for (size_t k = 0; k < sizeof(direct) / sizeof(direct[0]); k++) {
		const char *x = record_get(r, direct[k]);

		vals[4 + k] = strdup(x ? x : "");
	}
	snprintf(b, sizeof(b), "%llu", (unsigned long long)hz);
	vals[15] = strdup(h ? b : "");
	vals[16] = strdup(h && record_get(h, "accel") ? record_get(h, "accel") : "");
	for (int k = 17; k < NCOLS; k++)
		vals[k] = NULL;
	/* per-operation figures: frames for the network, ops otherwise */
	have_ops = record_get_number(r, isnet ? "frames" : "ops", &ops) == 0 && ops > 0;
	if (have_ops && hz && record_get_number(r, "elapsed", &elapsed) == 0 && elapsed > 0) {
		double rate = ops * (double)hz / elapsed;

		if (isdisk) {
			snprintf(b, sizeof(b), "%.1f", rate);
			vals[17] = strdup(b);
			if (record_get_number(r, "bytes", &bytes) == 0) {
				snprintf(b, sizeof(b), "%.3f", bytes * (double)hz / elapsed / 1e6);
				vals[18] = strdup(b);
			}
		} else if (isnet) {
			snprintf(b, sizeof(b), "%.1f", rate);
			vals[19] = strdup(b);
			if (record_get_number(r, "bytes", &bytes) == 0) {
				snprintf(b, sizeof(b), "%.6f",
					 bytes * 8 * (double)hz / elapsed / 1e9);
				vals[20] = strdup(b);
			}
		}
	}
	if (have_ops && (isdisk || isnet)) {
		static const char *const ak[] = { "pio_r", "pio_w", "mmio_r", "mmio_w" };

		for (int k = 0; k < 4; k++) {
			if (record_get_number(r, ak[k], &v) != 0)
				have_acc = 0;
			else
				acc += v;
		}
		if (have_acc) {
			snprintf(b, sizeof(b), "%.3f", acc / ops);
			vals[21] = strdup(b);
		}
		if (record_get_number(r, "irqs", &v) == 0) {
			snprintf(b, sizeof(b), "%.3f", v / ops);
			vals[22] = strdup(b);
		}
	}
	if (record_get(r, "harness_mean"))
		vals[23] = strdup(record_get(r, "harness_mean"));
	if (hz && record_get_number(r, "p50", &v) == 0) {
		snprintf(b, sizeof(b), "%.1f", v * 1e9 / (double)hz);
		vals[24] = strdup(b);
	}
	if (hz && record_get_number(r, "p99", &v) == 0) {
		snprintf(b, sizeof(b), "%.1f", v * 1e9 / (double)hz);
		vals[25] = strdup(b);
	}
	if (record_get(r, "lost"))
		vals[26] = strdup(record_get(r, "lost"));
	if (record_get(r, "corrupt"))
		vals[27] = strdup(record_get(r, "corrupt"));
	for (int k = 17; k < NCOLS; k++)
		if (!vals[k])
			vals[k] = strdup("");
}

/* One line of a run's file (runs/ID/rN/NAME), malloc'd without its newline; "" if none. */
static char *run_file_line(const char *dir, const char *id, int r, const char *name)
{
	char path[PATH_MAX], *t;

	snprintf(path, sizeof(path), "%s/runs/%s/r%d/%s", dir, id, r, name);
	t = file_read(path, NULL);
	if (!t)
		return strdup("");
	t[strcspn(t, "\n")] = '\0';
	return t;
}

/* Why a run failed: the last "kvmio: " line of its stderr.txt, malloc'd; "" if none. */
static char *run_failure_reason(const char *dir, const char *id, int r)
{
	char path[PATH_MAX], *t, *last = NULL;

	snprintf(path, sizeof(path), "%s/runs/%s/r%d/stderr.txt", dir, id, r);
	t = file_read(path, NULL);
	for (char *l = t ? strtok(t, "\n") : NULL; l; l = strtok(NULL, "\n"))
		if (!strncmp(l, "kvmio: ", 7) && strncmp(l, "kvmio: warning: ", 16))
			last = l + 7;
	last = strdup(last ? last : "");
	free(t);
	return last;
}

static int run_exit_code(const char *dir, const char *id, int r)
{
	char path[PATH_MAX], *t;
	int code;

	snprintf(path, sizeof(path), "%s/runs/%s/r%d/exit", dir, id, r);
	t = file_read(path, NULL);
	if (!t)
		return -1;
	code = atoi(t);
	free(t);
	return code;
}

int run_write_results(const char *dir, const char *job_name, const struct job_matrix *m)
{
	char csvp[PATH_MAX], jsonp[PATH_MAX], tmpc[PATH_MAX], tmpj[PATH_MAX];
	FILE *csv, *js;
	int rc = 0;

	snprintf(csvp, sizeof(csvp), "%s/results.csv", dir);
	snprintf(jsonp, sizeof(jsonp), "%s/results.json", dir);
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
		fprintf(csv, "%s%s", k ? "," : "", columns[k]);
	fputc('\n', csv);
	fputs("{\"job\":", js);
	json_write_string(js, job_name);
	fputs(",\"configs\":[", js);
	for (int i = 0; i < m->n; i++) {
		const struct job_config *c = &m->cfg[i];
		int first_run = 1;

		fprintf(js, "%s\n{\"id\":", i ? "," : "");
		json_write_string(js, c->id);
		fputs(",\"section\":", js);
		json_write_string(js, c->section);
		fputs(",\"params\":{", js);
		for (int k = 0, n = 0; k < c->nparams; k++) {
			if (!job_param_is_config(c->keys[k]))
				continue;
			fputs(n++ ? "," : "", js);
			json_write_string(js, c->keys[k]);
			fputc(':', js);
			json_write_string(js, c->values[k]);
		}
		fputs("},\"status\":", js);
		json_write_string(js, c->skip ? "skip" : "run");
		fputs(",\"reason\":", js);
		json_write_string(js, c->skip ? c->reason : "");
		fputs(",\"runs\":[", js);
		for (int r = 1; !c->skip; r++) {
			char logp[PATH_MAX], rdir[PATH_MAX], *flavour, *reason;
			struct log log;
			int code, first_res = 1;

			snprintf(rdir, sizeof(rdir), "%s/runs/%s/r%d", dir, c->id, r);
			if (r > c->repeat && !path_exists(rdir))
				break;
			code = run_exit_code(dir, c->id, r);
			if (code < 0)
				continue; /* not finished */
			snprintf(logp, sizeof(logp), "%s/serial.log", rdir);
			log_parse_file(&log, logp);
			flavour = run_file_line(dir, c->id, r, "flavour");
			reason = code ? run_failure_reason(dir, c->id, r) : strdup("");
			fprintf(js, "%s{\"repeat\":%d,\"exit\":%d,\"log_status\":%d,\"flavour\":",
				first_run ? "" : ",", r, code, log.status);
			json_write_string(js, flavour);
			fputs(",\"reason\":", js);
			json_write_string(js, reason);
			fputs(",\"results\":[", js);
			free(reason);
			first_run = 0;
			for (size_t n = 0; n < log.nrecs; n++) {
				const struct record *rec = &log.recs[n];
				char *vals[NCOLS], b[32];

				if (strcmp(rec->type, "result") != 0)
					continue;
				result_values(rec, &log, vals);
				free(vals[COL_FLAVOUR]);
				vals[COL_FLAVOUR] = strdup(flavour);
				csv_field(csv, c->id, 1);
				fprintf(csv, ",%d,%d", r, code);
				csv_field_quoted(csv, c->params, 0);
				for (int k = 4; k < NCOLS; k++)
					csv_field(csv, vals[k], 0);
				fputc('\n', csv);
				fputs(first_res ? "{" : ",{", js);
				first_res = 0;
				for (int k = 4; k < NCOLS; k++) {
					fprintf(js, "%s\"%s\":", k > 4 ? "," : "", columns[k]);
					if (!vals[k][0])
						fputs("null", js);
					else if (k != 4 && k != 5 && k != 16 && k != COL_FLAVOUR &&
						 json_is_number_text(vals[k]))
						fputs(vals[k], js);
					else
						json_write_string(js, vals[k]);
				}
				fputc('}', js);
				for (int k = 4; k < NCOLS; k++)
					free(vals[k]);
				(void)b;
			}
			fputs("]}", js);
			log_free(&log);
			free(flavour);
		}
		fputs("]}", js);
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

/* ---- the matrix -------------------------------------------------------------------------- */

static char *matrix_tsv(const struct job_matrix *m)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	for (int i = 0; i < m->n; i++) {
		const struct job_config *c = &m->cfg[i];

		fprintf(f, "%s\t%s\t%s\t%s\n", c->id, c->skip ? "skip" : "run",
			c->skip && c->reason[0] ? c->reason : "-", c->params);
	}
	fclose(f);
	return s;
}

/* ---- running ----------------------------------------------------------------------------- */

struct pending {
	int cfg, repeat;
};

struct child {
	pid_t pid;
	int cfg, repeat;
	double start;
};

static void fmt_dur(char *buf, size_t len, double s)
{
	long t = (long)(s + 0.5);

	if (t >= 3600)
		snprintf(buf, len, "%ldh%02ldm", t / 3600, t / 60 % 60);
	else if (t >= 60)
		snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(buf, len, "%lds", t);
}

struct progress {
	int tty, total, done, jobs;
	double busy;      /* summed run time of finished runs this session */
	int timed;
};

static void progress_bar(struct progress *p)
{
	char eta[32] = "?";
	int width = 20, fill = p->total ? p->done * width / p->total : width;

	if (p->timed)
		fmt_dur(eta, sizeof(eta), p->busy / p->timed * (p->total - p->done) / p->jobs);
	fprintf(stderr, "\r[");
	for (int k = 0; k < width; k++)
		fputc(k < fill ? '#' : '.', stderr);
	fprintf(stderr, "] %d/%d ETA %s   ", p->done, p->total, eta);
	fflush(stderr);
}

static pid_t start_run(const char *exe, const char *dir, const struct job_config *c, int r)
{
	char rdir[PATH_MAX], logp[PATH_MAX + 16], path[PATH_MAX + 16], **argv;
	char *kv, *q = NULL;
	pid_t pid;

	snprintf(rdir, sizeof(rdir), "%s/runs/%s/r%d", dir, c->id, r);
	if (dir_make_all(rdir) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/exit", rdir);
	unlink(path);
	snprintf(logp, sizeof(logp), "%s/serial.log", rdir);
	unlink(logp);
	/* cmd.txt: the kvmio boot line and the QEMU line it runs (its --dry-run) */
	argv = job_boot_argv(c, exe, logp, NULL);
	kv = argv ? qemu_command_string(argv) : NULL;
	free(argv);
	argv = job_boot_argv(c, exe, NULL, "--dry-run");
	if (argv) {
		char *s = qemu_command_string(argv), *cmdline = NULL;
		FILE *p;

		if (s && asprintf(&cmdline, "%s 2>&1", s) > 0 && (p = popen(cmdline, "r"))) {
			size_t cap = 65536, n;

			q = calloc(1, cap);
			n = q ? fread(q, 1, cap - 1, p) : 0;
			if (q)
				q[n] = '\0';
			pclose(p);
		}
		free(cmdline);
		free(s);
		free(argv);
	}
	snprintf(path, sizeof(path), "%s/flavour", rdir);
	{
		char line[sizeof(c->flavour) + 1];

		snprintf(line, sizeof(line), "%s\n", c->flavour);
		if (file_replace(path, line) != 0) {
			free(kv);
			free(q);
			return -1;
		}
	}
	snprintf(path, sizeof(path), "%s/cmd.txt", rdir);
	{
		FILE *f = fopen(path, "w");

		if (f) {
			fprintf(f, "# %s\n%s", kv ? kv : "", q ? q : "");
			fclose(f);
		}
	}
	free(kv);
	free(q);
	argv = job_boot_argv(c, exe, logp, NULL);
	if (!argv)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int o, e, nul = open("/dev/null", O_RDONLY);

		setpgid(0, 0); /* Ctrl-C reaches the runner, which stops its runs itself */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		snprintf(path, sizeof(path), "%s/stdout.txt", rdir);
		o = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		snprintf(path, sizeof(path), "%s/stderr.txt", rdir);
		e = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (o < 0 || e < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(o, 1) < 0 ||
		    dup2(e, 2) < 0)
			_exit(10);
		execv(exe, argv);
		_exit(9);
	}
	if (pid > 0)
		setpgid(pid, pid);
	free(argv);
	return pid;
}

static int finish_run(const char *dir, const struct job_config *c, int r, int code)
{
	char path[PATH_MAX], text[16];

	snprintf(path, sizeof(path), "%s/runs/%s/r%d/exit", dir, c->id, r);
	snprintf(text, sizeof(text), "%d\n", code);
	return file_replace(path, text);
}

static const char *exit_word(int code)
{
	static const char *const w[] = { "ok", "guest error", "bad configuration", "timeout",
					 "truncated log", "no end record", "corrupt record",
					 "unknown protocol version", "invalid sequence",
					 "QEMU failed", "log unreadable", "accelerator failed" };

	if (code >= 0 && code < (int)(sizeof(w) / sizeof(w[0])))
		return w[code];
	return code == KVMIO_EXIT_INTERRUPTED ? "interrupted" : "failed";
}

static int make_images(const char *dir, const struct job_matrix *m, const char *need)
{
	for (int i = 0; i < m->nimages; i++) {
		const struct job_image *im = &m->images[i];
		int prealloc = strcmp(im->format, "qcow2-prealloc") == 0;
		char err[512];
		uint64_t id;

		if (!need[i] || path_exists(im->path))
			continue;
		if (disk_make(im->path, im->size, prealloc || !strcmp(im->format, "qcow2") ?
			      "qcow2" : "raw", prealloc ? "metadata" : "off", 0, &id, err,
			      sizeof(err)) != 0) {
			fprintf(stderr, "kvmio: run: image %s: %s\n", im->path, err);
			return -1;
		}
		(void)dir;
	}
	return 0;
}

int run_cmd(int argc, char **argv)
{
	const char *jobpath = NULL, *dir = NULL;
	int repeat = 0, jobs = 1, resume = 0, dry = 0, rc = 0, failed = 0, nchild = 0;
	struct job_file jf;
	struct job_matrix m;
	char err[1024], exe[PATH_MAX], path[PATH_MAX], defdir[PATH_MAX];
	struct pending *todo = NULL;
	struct child *kids = NULL;
	int ntodo = 0, next = 0, total_runs = 0, already = 0;
	struct progress pg;
	char *need = NULL, *tsv;

	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--resume"))
			resume = 1;
		else if (!strcmp(argv[i], "--dry-run"))
			dry = 1;
		else if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
			if (++i == argc)
				return usage_error("run: '%s' needs a directory", argv[i - 1]);
			dir = argv[i];
		} else if (!strcmp(argv[i], "--repeat") || !strcmp(argv[i], "--jobs")) {
			uint64_t v;

			if (i + 1 == argc)
				return usage_error("run: '%s' needs a number", argv[i]);
			if (arg_u64(argv[i + 1], 10, &v) != 0 || v < 1 || v > 10000)
				return usage_error("run: bad number '%s'", argv[i + 1]);
			if (!strcmp(argv[i], "--repeat"))
				repeat = (int)v;
			else
				jobs = (int)v;
			i++;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage_error("run: unknown option '%s'", argv[i]);
		} else if (!jobpath) {
			jobpath = argv[i];
		} else {
			return usage_error("run: one job file only ('%s')", argv[i]);
		}
	}
	if (!jobpath)
		return usage_error("run: no job file given");
	if (dir && strlen(dir) > 1024)
		return usage_error("run: -o: directory name too long");
	if (!dir) {
		const char *b = strrchr(jobpath, '/');
		char *dot;

		snprintf(defdir, sizeof(defdir), "results/%s", b ? b + 1 : jobpath);
		dot = strrchr(defdir, '.');
		if (dot && !strcmp(dot, ".ini"))
			*dot = '\0';
		dir = defdir;
	}
	rc = job_load(jobpath, &jf, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "kvmio: %s\n", err);
		return rc;
	}
	if (job_expand(&jf, dir, &m, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvmio: %s\n", err);
		job_file_free(&jf);
		return 2;
	}
	for (int i = 0; i < m.n; i++) {
		struct job_config *c = &m.cfg[i];

		c->repeat = repeat ? repeat : c->repeat ? c->repeat : 5;
		if (!c->skip)
			total_runs += c->repeat;
	}
	self_exe(exe, sizeof(exe));
	if (dry) {
		int nrun = 0;

		for (int i = 0; i < m.n; i++)
			nrun += !m.cfg[i].skip;
		printf("# %s: %d configurations (%d run, %d skip), %d runs -> %s\n", jobpath, m.n,
		       nrun, m.n - nrun, total_runs, dir);
		for (int i = 0; i < m.n; i++) {
			const struct job_config *c = &m.cfg[i];
			char *s = job_boot_string(c, "kvmio");

			printf("%s\t%s\t%s\t%s\n", c->id, c->skip ? "skip" : "run",
			       c->skip ? c->reason : "-", c->params);
			if (!c->skip)
				printf("\t%s  # x%d\n", s ? s : "?", c->repeat);
			free(s);
		}
		for (int i = 0; i < m.nimages; i++)
			printf("# image %s (%s, %llu bytes, made once by kvmio mkdisk logic)\n",
			       m.images[i].path, m.images[i].format, m.images[i].size);
		job_matrix_free(&m);
		job_file_free(&jf);
		return 0;
	}
	/* the directory: a fresh one, or --resume with the same job */
	{
		char *mine = file_read(jobpath, NULL), *theirs;

		snprintf(path, sizeof(path), "%s/job.ini", dir);
		theirs = file_read(path, NULL);
		if (theirs && !resume) {
			fprintf(stderr, "kvmio: run: %s already holds a run: --resume to finish it, "
				"or another -o DIR\n", dir);
			rc = 2;
		} else if (theirs && mine && strcmp(mine, theirs) != 0) {
			fprintf(stderr, "kvmio: run: --resume: %s differs from %s: refusing to mix "
				"two jobs in one directory\n", jobpath, path);
			rc = 2;
		} else if (!mine) {
			fprintf(stderr, "kvmio: run: cannot read %s\n", jobpath);
			rc = 10;
		} else {
			snprintf(err, sizeof(err), "%s/runs", dir);
			if (dir_make_all(err) != 0 || (snprintf(err, sizeof(err), "%s/images", dir),
						  dir_make_all(err) != 0) ||
			    (!theirs && file_replace(path, mine) != 0)) {
				fprintf(stderr, "kvmio: run: cannot write in %s: %s\n", dir,
					strerror(errno));
				rc = 10;
			}
		}
		free(mine);
		free(theirs);
		if (rc) {
			job_matrix_free(&m);
			job_file_free(&jf);
			return rc;
		}
	}
	tsv = matrix_tsv(&m);
	snprintf(path, sizeof(path), "%s/matrix.tsv", dir);
	if (!tsv || file_replace(path, tsv) != 0)
		fprintf(stderr, "kvmio: run: cannot write %s\n", path);
	free(tsv);
	/* what is left to do */
	todo = calloc((size_t)total_runs + 1, sizeof(*todo));
	need = calloc((size_t)m.nimages + 1, 1);
	kids = calloc((size_t)jobs, sizeof(*kids));
	for (int i = 0; i < m.n; i++) {
		const struct job_config *c = &m.cfg[i];

		for (int r = 1; !c->skip && r <= c->repeat; r++) {
			if (resume && run_exit_code(dir, c->id, r) >= 0) {
				already++;
				continue;
			}
			todo[ntodo++] = (struct pending){ i, r };
			if (c->image >= 0)
				need[c->image] = 1;
		}
	}
	if (make_images(dir, &m, need) != 0) {
		rc = 10;
		goto out;
	}
	{
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal; /* no SA_RESTART: waitpid returns */
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
	}
	memset(&pg, 0, sizeof(pg));
	pg.tty = isatty(2);
	pg.total = total_runs;
	pg.done = already;
	pg.jobs = jobs;
	if (already)
		fprintf(stderr, "kvmio: run: --resume: %d of %d runs already finished\n", already,
			total_runs);
	if (pg.tty && ntodo)
		progress_bar(&pg);
	while (!run_stop && (next < ntodo || nchild > 0)) {
		int status;
		pid_t pid;

		/* start what fits; a file image is used by one QEMU at a time (image locks) */
		while (!run_stop && next < ntodo && nchild < jobs) {
			const struct job_config *c = &m.cfg[todo[next].cfg];
			int busy = 0, slot;

			for (int k = 0; k < jobs; k++)
				if (kids[k].pid > 0 && c->image >= 0 &&
				    m.cfg[kids[k].cfg].image == c->image)
					busy = 1;
			if (busy)
				break;
			for (slot = 0; kids[slot].pid > 0; slot++)
				;
			pid = start_run(exe, dir, c, todo[next].repeat);
			if (pid < 0) {
				fprintf(stderr, "kvmio: run: cannot start %s r%d: %s\n", c->id,
					todo[next].repeat, strerror(errno));
				rc = 10;
				run_stop = 1;
				break;
			}
			kids[slot] = (struct child){ pid, todo[next].cfg, todo[next].repeat, clock_now_s() };
			nchild++;
			next++;
		}
		if (nchild == 0)
			break;
		pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int k = 0; k < jobs; k++) {
			struct child *kd = &kids[k];
			const struct job_config *c;
			double took;
			int code;

			if (kd->pid != pid)
				continue;
			c = &m.cfg[kd->cfg];
			took = clock_now_s() - kd->start;
			code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			kd->pid = 0;
			nchild--;
			if (run_stop && (code == KVMIO_EXIT_INTERRUPTED || !WIFEXITED(status)))
				break; /* interrupted: not finished, --resume runs it again */
			finish_run(dir, c, kd->repeat, code);
			if (code != 0)
				failed++;
			pg.done++;
			pg.busy += took;
			pg.timed++;
			if (pg.tty) {
				if (code != 0)
					fprintf(stderr, "\r%s r%d: %s (exit %d, see %s/runs/%s/r%d/"
						"stderr.txt)\n", c->id, kd->repeat, exit_word(code),
						code, dir, c->id, kd->repeat);
				progress_bar(&pg);
			} else {
				fprintf(stderr, "run %d/%d %s r%d: %s (%.1f s)\n", pg.done, pg.total,
					c->id, kd->repeat, exit_word(code), took);
			}
			break;
		}
	}
	if (run_stop) {
		/* stop the runs still going: each kvmio boot stops its QEMU on SIGTERM */
		for (int k = 0; k < jobs; k++)
			if (kids[k].pid > 0)
				kill(-kids[k].pid, SIGTERM);
		for (int k = 0; k < jobs; k++) {
			int status;

			if (kids[k].pid <= 0)
				continue;
			for (int t = 0; t < 100; t++) {
				if (waitpid(kids[k].pid, &status, WNOHANG) == kids[k].pid)
					break;
				if (t == 99) {
					kill(-kids[k].pid, SIGKILL);
					waitpid(kids[k].pid, &status, 0);
				}
				usleep(50000);
			}
			kids[k].pid = 0;
		}
	}
	if (pg.tty)
		fputc('\n', stderr);
	if (run_write_results(dir, jobpath, &m) != 0) {
		fprintf(stderr, "kvmio: run: cannot write %s/results.csv/json\n", dir);
		if (!rc)
			rc = 10;
	}
	if (run_stop && rc != 10) {
		fprintf(stderr, "kvmio: run: interrupted: %d of %d runs finished; results so far in "
			"%s/results.csv; --resume continues\n", pg.done, total_runs, dir);
		rc = KVMIO_EXIT_INTERRUPTED;
	} else if (!rc) {
		fprintf(stderr, "kvmio: run: %d runs (%d failed) in %s: results.csv, results.json\n",
			total_runs, failed, dir);
		rc = failed ? 1 : 0;
	}
out:
	free(todo);
	free(need);
	free(kids);
	job_matrix_free(&m);
	job_file_free(&jf);
	return rc;
}
