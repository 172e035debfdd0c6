/*
 * `kvmio run JOB.ini [-o DIR] [--repeat N] [--jobs N] [--resume] [--dry-run]
 * [--until-cv PCT --max-repeat N] [--pin CPUS] [--order interleave|grouped] [--connect [URI]]
 * [--noise-probe MS]`:
 * every run is a child `kvmio boot ... --log DIR/runs/ID/rN/serial.log` (the same code path as by
 * hand, and a crash stays in its run); its
 * exit code goes to DIR/runs/ID/rN/exit last.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
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
#include "boot/hostinfo.h"
#include "boot/libvirt.h"
#include "boot/noise.h"
#include "boot/storage.h"
#include "boot/pin.h"
#include "proto/proto.h"
#include "boot/qemu.h"
#include "analysis/report.h"
#include "matrix/fleet.h"
#include "matrix/repeat.h"
#include "matrix/resultdir.h"
#include "matrix/run.h"
#include "lib/args.h"
#include "lib/csv.h"
#include "lib/file.h"
#include "lib/json.h"
#include "lib/proc.h"

/* Paths are bounded: cmd_run refuses a DIR longer than 1024 bytes. */
#ifndef __clang__
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

static volatile sig_atomic_t run_stop;

static void on_signal(int sig)
{
	(void)sig;
	run_stop = 1;
}

/* ---- running ----------------------------------------------------------------------------- */

/* The configuration's parameters without the A/B keys, and its section (malloc'd): equal for
 * configurations whose runs interleave. */
static char *ab_group_key(const struct job_config *c)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);

	if (!f)
		return NULL;
	fprintf(f, "[%s]", c->section);
	for (const char *p = c->params; *p;) {
		size_t n = strcspn(p, ";"), k = strcspn(p, "=");
		char key[64];

		snprintf(key, sizeof(key), "%.*s", (int)(k < n ? k : n), p);
		if (!run_ab_key(key))
			fprintf(f, ";%.*s", (int)n, p);
		p += n;
		p += *p == ';';
	}
	fclose(f);
	return s;
}

int run_ab_key(const char *key)
{
	return !strcmp(key, "qemu") || !strcmp(key, "disk_props") || !strcmp(key, "net_props");
}

int run_plan(const struct job_matrix *m, enum run_order order, struct run_step *plan)
{
	char **key = calloc((size_t)m->n + 1, sizeof(char *));
	char *done = calloc((size_t)m->n + 1, 1);
	int n = 0;

	for (int i = 0; i < m->n && key && done; i++)
		key[i] = order == RUN_ORDER_INTERLEAVE ? ab_group_key(&m->cfg[i]) : NULL;
	for (int i = 0; i < m->n; i++) {
		int most = 0;

		if (m->cfg[i].skip || (done && done[i]))
			continue;
		if (!key || !done || !key[i]) {  /* grouped (or out of memory) */
			for (int r = 1; r <= m->cfg[i].repeat; r++)
				plan[n++] = (struct run_step){ i, r };
			continue;
		}
		/* i and the later configurations of its group, a repeat of each at a time */
		for (int j = i; j < m->n; j++)
			if (!m->cfg[j].skip && key[j] && !strcmp(key[j], key[i]) &&
			    m->cfg[j].repeat > most)
				most = m->cfg[j].repeat;
		for (int r = 1; r <= most; r++)
			for (int j = i; j < m->n; j++)
				if (!m->cfg[j].skip && key[j] && !strcmp(key[j], key[i]) &&
				    r <= m->cfg[j].repeat)
					plan[n++] = (struct run_step){ j, r };
		for (int j = i; j < m->n; j++)
			if (key[j] && !strcmp(key[j], key[i]) && j != i)
				done[j] = 1;
		done[i] = 1;
	}
	for (int i = 0; key && i < m->n; i++)
		free(key[i]);
	free(key);
	free(done);
	return n;
}

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

/* cmd.txt of a run: the kvmio boot line, then the QEMU line it runs (its --dry-run output).
 * pin: "--pin=CPUS" or NULL. */
static char *run_cmd_text(const char *exe, const struct job_config *c, const char *log,
			  const char *pin, const char *connect)
{
	char **argv = job_boot_argv2(c, exe, log, pin, connect), *boot, *dry = NULL, *text = NULL;

	boot = argv ? qemu_command_string(argv) : NULL;
	free(argv);
	argv = job_boot_argv2(c, exe, NULL, "--dry-run", connect);
	if (argv) {
		char *s = qemu_command_string(argv), *cmdline = NULL;
		FILE *p;

		if (s && asprintf(&cmdline, "%s 2>&1", s) > 0 && (p = popen(cmdline, "r"))) {
			dry = file_read_stream(p, NULL);
			pclose(p);
		}
		free(cmdline);
		free(s);
		free(argv);
	}
	if (asprintf(&text, "# %s\n%s", boot ? boot : "", dry ? dry : "") < 0)
		text = NULL;
	free(boot);
	free(dry);
	return text;
}

/* The noise probe before each run (boot/noise.h): its length (0: none) and CPUs (the job's
 * pin= or --pin's, or none: every CPU the runner may use). Runs one at a time only: beside a running QEMU the probe
 * would measure that QEMU. */
static struct {
	int ms;
	struct pin_cpus cpus;
} noise_plan = { NOISE_RUN_PROBE_MS, { .n = 0 } };

/* Probe the CPUs the run will use, keep the result beside the run; a probe that cannot run says
 * so on stderr and the run goes on without it. */
static void probe_noise(const char *dir, const struct job_config *c, int r)
{
	struct noise probes[PIN_MAX_CPUS];
	char err[256], *detail = NULL;
	size_t len = 0;
	FILE *f;
	int n = noise_probe(c->pin.n ? &c->pin : &noise_plan.cpus, noise_plan.ms / 1000.0, probes,
			    err, sizeof(err));

	if (n <= 0) {
		fprintf(stderr, "kvmio: warning: run: %s r%d: no noise probe: %s\n", c->id, r, err);
		return;
	}
	f = open_memstream(&detail, &len);
	if (!f)
		return;
	for (int i = 0; i < n; i++) {
		fprintf(f, "cpu %d: ", probes[i].cpu);
		noise_text(f, &probes[i]);
		fputc('\n', f);
	}
	fclose(f);
	resultdir_run_host_noise_write(dir, c->id, r, noise_mean_lost_pct(probes, n),
				       noise_mean_work_ns(probes, n), detail);
	free(detail);
}

/* Probe the storage under the run's image (boot/storage.h), keep the result beside the run; as
 * with the noise probe, one that cannot run says so and the run goes on without it. */
static void probe_storage(const char *dir, const struct job_config *c, int r)
{
	struct storage_probe p;
	char err[PATH_MAX + 256], *detail;

	if (storage_probe(c->image_path, STORAGE_RUN_READS, &p, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvmio: warning: run: %s r%d: no storage probe: %s\n", c->id, r, err);
		return;
	}
	detail = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&detail, &len);

	if (!f)
		return;
	fprintf(f, "%s: ", c->image_path);
	storage_text(f, &p);
	fputc('\n', f);
	fclose(f);
	resultdir_run_host_storage_write(dir, c->id, r, p.median_ns, detail);
	free(detail);
}

pid_t run_start(const char *exe, const char *dir, const struct job_config *c, int r,
		const char *pin, const char *connect)
{
	char logp[PATH_MAX], out[PATH_MAX], err[PATH_MAX], **argv, *cmd;
	pid_t pid;

	resultdir_run_path(dir, c->id, r, RESULTDIR_RUN_LOG, logp, sizeof(logp));
	resultdir_run_path(dir, c->id, r, RESULTDIR_RUN_STDOUT, out, sizeof(out));
	resultdir_run_path(dir, c->id, r, RESULTDIR_RUN_STDERR, err, sizeof(err));
	cmd = run_cmd_text(exe, c, logp, pin, connect);
	/* this host's TSC, measured once per kvmio run, kept beside every run's guest TSC */
	static uint64_t tsc_hz;
	static const char *tsc_method = "";
	static int tsc_read;
	if (!tsc_read++ && host_tsc_hz(&tsc_hz, &tsc_method) != 0)
		tsc_hz = 0;
	if (resultdir_run_begin(dir, c, r, cmd ? cmd : "", tsc_hz, tsc_method) != 0) {
		free(cmd);
		return -1;
	}
	free(cmd);
	if (noise_plan.ms > 0)
		probe_noise(dir, c, r);
	if (noise_plan.ms > 0 && c->image_path)
		probe_storage(dir, c, r); /* off with the noise probe: same reasons (--jobs, --hosts) */
	argv = job_boot_argv2(c, exe, logp, pin, connect);
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
		o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (o < 0 || e < 0 || nul < 0 || dup2(nul, 0) < 0 || dup2(o, 1) < 0 ||
		    dup2(e, 2) < 0)
			_exit(KVMIO_EXIT_IO);
		execv(exe, argv);
		_exit(KVMIO_EXIT_QEMU);
	}
	if (pid > 0)
		setpgid(pid, pid);
	free(argv);
	return pid;
}

const char *run_exit_word(int code)
{
	static const char *const w[] = { "ok", "guest error", "bad configuration", "timeout",
					 "truncated log", "no end record", "corrupt record",
					 "unknown protocol version", "invalid sequence",
					 "QEMU failed", "log unreadable", "accelerator failed",
					 "calibration failed", "host lost" };

	if (code >= 0 && code < (int)(sizeof(w) / sizeof(w[0])))
		return w[code];
	return code == KVMIO_EXIT_INTERRUPTED ? "interrupted" : "failed";
}

static int make_images(const char *dir, const struct job_matrix *m, const char *need)
{
	for (int i = 0; i < m->nimages; i++) {
		const struct job_image *im = &m->images[i];
		const char *qemu_format, *prealloc;
		char err[512];
		uint64_t id;

		if (!need[i] || path_exists(im->path))
			continue;
		if (job_image_format(im->format, &qemu_format, &prealloc) != 0) {
			fprintf(stderr, "kvmio: run: image %s: unknown format %s\n", im->path,
				im->format);
			return -1;
		}
		if (disk_make(im->path, im->size, qemu_format, prealloc, 0, &id, err,
			      sizeof(err)) != 0) {
			fprintf(stderr, "kvmio: run: image %s: %s\n", im->path, err);
			return -1;
		}
		(void)dir;
	}
	return 0;
}

/* The runs of one session: the children running, what finished, the progress shown. */
struct runner {
	const char *exe, *dir;
	const char *pin;           /* "--pin=CPUS" for every kvmio boot, or NULL */
	const char *connect;       /* "--connect[=URI]" for every kvmio boot, or NULL */
	const struct job_matrix *m;
	int jobs, nchild, failed;
	int lost;                  /* --connect: runs whose host was lost (exit 13), unfinished */
	struct child *kids;        /* jobs slots; pid 0: free */
	struct progress pg;
};

/* Run todo[0..ntodo), at most rn->jobs at a time, until all finished or the runner is stopped
 * (Ctrl-C). 0, or KVMIO_EXIT_IO when a run cannot start. */
static int run_batch(struct runner *rn, const struct run_step *todo, int ntodo)
{
	const struct job_matrix *m = rn->m;
	int next = 0, rc = KVMIO_EXIT_OK;

	while (!run_stop && (next < ntodo || rn->nchild > 0)) {
		int status;
		pid_t pid;

		/* start what fits; a file image is used by one QEMU at a time (image locks) */
		while (!run_stop && next < ntodo && rn->nchild < rn->jobs) {
			const struct job_config *c = &m->cfg[todo[next].cfg];
			int busy = 0, slot;

			for (int k = 0; k < rn->jobs; k++)
				if (rn->kids[k].pid > 0 && c->image >= 0 &&
				    m->cfg[rn->kids[k].cfg].image == c->image)
					busy = 1;
			if (busy)
				break;
			for (slot = 0; rn->kids[slot].pid > 0; slot++)
				;
			pid = run_start(rn->exe, rn->dir, c, todo[next].repeat, rn->pin, rn->connect);
			if (pid < 0) {
				fprintf(stderr, "kvmio: run: cannot start %s r%d: %s\n", c->id,
					todo[next].repeat, strerror(errno));
				rc = KVMIO_EXIT_IO;
				run_stop = 1;
				break;
			}
			rn->kids[slot] = (struct child){ pid, todo[next].cfg, todo[next].repeat,
							 clock_now_s() };
			rn->nchild++;
			next++;
		}
		if (rn->nchild == 0)
			break;
		pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int k = 0; k < rn->jobs; k++) {
			struct child *kd = &rn->kids[k];
			const struct job_config *c;
			double took;
			int code;

			if (kd->pid != pid)
				continue;
			c = &m->cfg[kd->cfg];
			took = clock_now_s() - kd->start;
			code = WIFEXITED(status) ? WEXITSTATUS(status)
						 : PROC_EXIT_SIGNALLED(WTERMSIG(status));
			kd->pid = 0;
			rn->nchild--;
			if (run_stop && (code == KVMIO_EXIT_INTERRUPTED || !WIFEXITED(status)))
				break; /* interrupted: not finished, --resume runs it again */
			if (code == KVMIO_EXIT_HOST_LOST) {
				/* the libvirt host, not the run: unfinished, --resume runs it again */
				fprintf(stderr, "%s%s r%d: host lost (see %s/runs/%s/r%d/stderr.txt); "
					"--resume runs it again\n", rn->pg.tty ? "\r" : "", c->id,
					kd->repeat, rn->dir, c->id, kd->repeat);
				rn->lost++;
				break;
			}
			resultdir_run_end(rn->dir, c->id, kd->repeat, code);
			if (code != 0)
				rn->failed++;
			rn->pg.done++;
			rn->pg.busy += took;
			rn->pg.timed++;
			if (rn->pg.tty) {
				if (code != 0)
					fprintf(stderr, "\r%s r%d: %s (exit %d, see %s/runs/%s/r%d/"
						"stderr.txt)\n", c->id, kd->repeat, run_exit_word(code),
						code, rn->dir, c->id, kd->repeat);
				progress_bar(&rn->pg);
			} else {
				fprintf(stderr, "run %d/%d %s r%d: %s (%.1f s)\n", rn->pg.done,
					rn->pg.total, c->id, kd->repeat, run_exit_word(code), took);
			}
			break;
		}
	}
	return rc;
}

/* After Ctrl-C: stop the runs still going (each kvmio boot stops its QEMU on SIGTERM). */
static void stop_children(struct runner *rn)
{
	for (int k = 0; k < rn->jobs; k++)
		if (rn->kids[k].pid > 0)
			kill(-rn->kids[k].pid, SIGTERM);
	for (int k = 0; k < rn->jobs; k++) {
		int status;

		if (rn->kids[k].pid <= 0)
			continue;
		for (int t = 0; t < 100; t++) {
			if (waitpid(rn->kids[k].pid, &status, WNOHANG) == rn->kids[k].pid)
				break;
			if (t == 99) {
				kill(-rn->kids[k].pid, SIGKILL);
				waitpid(rn->kids[k].pid, &status, 0);
			}
			usleep(50000);
		}
		rn->kids[k].pid = 0;
	}
	rn->nchild = 0;
}

/* --until-cv: where each configuration stands. Its runs are the finished repeats 1, 2, ...
 * from its configured ones on (a resumed directory may hold more); their values are the
 * primary values of those that exited 0. */
static void until_cv_states(const char *dir, const struct job_matrix *m,
			    const struct repeat_goal *goal, struct repeat_state *st)
{
	for (int i = 0; i < m->n; i++) {
		const struct job_config *c = &m->cfg[i];
		double *values;

		if (c->skip)
			continue;
		if (st[i].runs < c->repeat)
			st[i].runs = c->repeat;
		while (resultdir_run_exit(dir, c->id, st[i].runs + 1) >= 0)
			st[i].runs++;
		values = calloc((size_t)st[i].runs + 1, sizeof(*values));
		st[i].nvalues = 0;
		for (int r = 1; values && r <= st[i].runs; r++) {
			char path[PATH_MAX];
			struct log log;

			if (resultdir_run_exit(dir, c->id, r) != 0)
				continue;
			resultdir_run_path(dir, c->id, r, RESULTDIR_RUN_LOG, path, sizeof(path));
			log_parse_file(&log, path);
			if (repeat_primary_value(&log, &values[st[i].nvalues]) == 0)
				st[i].nvalues++;
			log_free(&log);
		}
		st[i].verdict = repeat_decide(values, st[i].nvalues, st[i].runs, goal, &st[i].cv);
		free(values);
	}
}

/* "; until cv <= 2 %: c001 2 repeats (cv 0.41 %, reached), ..." for the closing line
 * (malloc'd). */
static char *until_cv_text(const struct job_matrix *m, const struct repeat_goal *goal,
			   const struct repeat_state *st)
{
	char *s = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&s, &len);
	int n = 0;

	if (!f)
		return NULL;
	fprintf(f, "; until cv <= %g %% (at most %d runs):", goal->cv_pct, goal->max_repeat);
	for (int i = 0; i < m->n; i++) {
		if (m->cfg[i].skip)
			continue;
		fprintf(f, "%s %s %d repeat%s (cv ", n++ ? "," : "", m->cfg[i].id, st[i].runs,
			st[i].runs == 1 ? "" : "s");
		if (isnan(st[i].cv))
			fprintf(f, "-");
		else
			fprintf(f, "%.3g %%", 100 * st[i].cv);
		fprintf(f, ", %s)", repeat_verdict_text(st[i].verdict));
	}
	fclose(f);
	return s;
}

/* --dry-run: the order the runs start in (with --jobs 1), "c001/r1 c002/r1 ..." */
static void print_plan(const struct job_matrix *m, enum run_order order, int total)
{
	struct run_step *plan = calloc((size_t)total + 1, sizeof(*plan));
	int n = plan ? run_plan(m, order, plan) : 0, ab = 0;

	for (int i = 0; i < m->n; i++)
		for (int k = 0; k < m->cfg[i].nparams; k++)
			ab |= run_ab_key(m->cfg[i].keys[k]);
	printf("# order: %s%s\n# plan:", order == RUN_ORDER_INTERLEAVE ? "interleave" : "grouped",
	       order == RUN_ORDER_INTERLEAVE && ab ? " (configurations that differ only in qemu, "
	       "disk_props or net_props take turns, repeat by repeat)" : "");
	for (int k = 0; k < n; k++)
		printf(" %s/r%d", m->cfg[plan[k].cfg].id, plan[k].repeat);
	printf("\n");
	free(plan);
}

#define INSTALLED_JOB_DIR "../share/kvmio/jobs" /* from PREFIX/bin: make install's layout */
#define TREE_JOB_DIR "../jobs"                    /* from build/: the source tree's */

/* The job file a `kvmio run NAME` means: NAME as a path when it is a file; a bare name
 * (no '/') also as NAME and NAME.ini in the installed job files (PREFIX/share/kvmio/jobs beside
 * PREFIX/bin/kvmio) and in the source tree's jobs/ (beside build/kvmio). 0 with the path in out,
 * or -1 with the places looked in, in err. */
static int job_find(const char *name, char *out, size_t len, char *err, size_t errlen)
{
	static const char *const dirs[] = { INSTALLED_JOB_DIR, TREE_JOB_DIR };
	static const char *const exts[] = { "", ".ini" };
	char exe[PATH_MAX], *bin;
	struct stat st;
	size_t n;

	snprintf(out, len, "%s", name);
	if (stat(name, &st) == 0 || strchr(name, '/'))
		return 0; /* a path: job_load says what is wrong with it */
	self_exe(exe, sizeof(exe));
	bin = strchr(exe, '/') ? dirname(exe) : ".";
	n = (size_t)snprintf(err, errlen, "no job file '%s' (looked in ., ", name);
	for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
		for (size_t e = 0; e < sizeof(exts) / sizeof(exts[0]); e++) {
			snprintf(out, len, "%s/%s/%s%s", bin, dirs[d], name, exts[e]);
			if (stat(out, &st) == 0 && S_ISREG(st.st_mode))
				return 0;
		}
		if (n < errlen)
			n += (size_t)snprintf(err + n, errlen - n, "%s%s/%s", d ? ", " : "", bin,
					      dirs[d]);
	}
	if (n < errlen)
		snprintf(err + n, errlen - n, ")");
	return -1;
}

int cmd_run(int argc, char **argv)
{
	const char *jobpath = NULL, *dir = NULL;
	int repeat = 0, jobs = 1, resume = 0, dry = 0;
	int rc = KVMIO_EXIT_OK;
	struct job_file jf;
	struct job_matrix m;
	char err[4096], exe[PATH_MAX], defdir[PATH_MAX], jobfound[PATH_MAX];
	struct run_step *todo = NULL;
	int ntodo = 0, total_runs = 0, already = 0;
	enum run_order order = RUN_ORDER_INTERLEAVE;
	struct runner rn;
	struct repeat_goal goal = { 0, 0 };   /* --until-cv, --max-repeat; cv_pct 0: not given */
	struct repeat_state *until = NULL;
	char *need = NULL, pin[512] = "";   /* "--pin=CPUS" for every run */
	char connect[4300] = "";            /* "--connect[=URI]" for every run (libvirt) */
	const char *hosts_path = NULL;      /* --hosts FILE: the fleet (matrix/fleet.c) */
	struct fleet_host *hosts = NULL;
	int nhosts = 0, per_host = 0;

	for (int i = 0; i < argc; i++) {
		const char *v;
		int missing = 0;

		if (!strcmp(argv[i], "--resume"))
			resume = 1;
		else if (!strcmp(argv[i], "--connect") || !strncmp(argv[i], "--connect=", 10)) {
			/* as kvmio boot reads it: the next word only when it is a URI */
			const char *uri = argv[i][9] == '=' ? argv[i] + 10 :
					  i + 1 < argc && strstr(argv[i + 1], ":/") ? argv[++i] : "";

			if (strlen(uri) > 4096)
				return usage_error("run: --connect: URI too long");
			snprintf(connect, sizeof(connect), "--connect%s%s", *uri ? "=" : "", uri);
		}
		else if (!strcmp(argv[i], "--dry-run"))
			dry = 1;
		else if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
			if (++i == argc)
				return usage_error("run: '%s' needs a directory", argv[i - 1]);
			dir = argv[i];
		} else if ((v = option_value(argc, argv, &i, "--hosts", &missing))) {
			hosts_path = v;
		} else if (!strcmp(argv[i], "--repeat") || !strcmp(argv[i], "--jobs") ||
			   !strcmp(argv[i], "--max-repeat") || !strcmp(argv[i], "--per-host")) {
			uint64_t n;

			if (i + 1 == argc)
				return usage_error("run: '%s' needs a number", argv[i]);
			if (arg_u64(argv[i + 1], 10, &n) != 0 || n < 1 || n > 10000)
				return usage_error("run: bad number '%s'", argv[i + 1]);
			if (!strcmp(argv[i], "--repeat"))
				repeat = (int)n;
			else if (!strcmp(argv[i], "--jobs"))
				jobs = (int)n;
			else if (!strcmp(argv[i], "--per-host"))
				per_host = (int)n;
			else
				goal.max_repeat = (int)n;
			i++;
		} else if ((v = option_value(argc, argv, &i, "--pin", &missing))) {
			struct pin_cpus cpus;

			/* checked here, once, as each kvmio boot will check it; a list that parses
			 * fits (PIN_MAX_CPUS numbers below PIN_CPU_LIMIT) */
			if (pin_resolve(v, &cpus, err, sizeof(err)) != 0)
				return usage_error("run: --pin: %s", err);
			snprintf(pin, sizeof(pin), "--pin=%s", v);
			noise_plan.cpus = cpus;
		} else if ((v = option_value(argc, argv, &i, "--noise-probe", &missing))) {
			uint64_t ms;

			if (arg_u64(v, 10, &ms) != 0 || ms > NOISE_PROBE_MAX_MS)
				return usage_error("run: bad --noise-probe '%s' (milliseconds, 0 for none, "
						   "up to %d)", v, NOISE_PROBE_MAX_MS);
			noise_plan.ms = (int)ms;
		} else if ((v = option_value(argc, argv, &i, "--order", &missing))) {
			if (!strcmp(v, "interleave"))
				order = RUN_ORDER_INTERLEAVE;
			else if (!strcmp(v, "grouped"))
				order = RUN_ORDER_GROUPED;
			else
				return usage_error("run: bad --order '%s' (interleave or grouped)", v);
		} else if ((v = option_value(argc, argv, &i, "--until-cv", &missing))) {
			if (arg_double(v, 0, 1000, &goal.cv_pct) != 0 || goal.cv_pct <= 0)
				return usage_error("run: bad --until-cv '%s' (a percentage above 0)", v);
		} else if (missing) {
			return usage_error("run: '%s' needs a value", argv[i]);
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
	if (job_find(jobpath, jobfound, sizeof(jobfound), err, sizeof(err)) != 0)
		return usage_error("run: %s", err);
	jobpath = jobfound;
	if (jobs > 1 || hosts_path)
		noise_plan.ms = 0; /* beside running QEMUs a probe measures them, not the host; with
				    * --hosts, the runs are not on this machine's CPUs */
	if (per_host && !hosts_path)
		return usage_error("run: --per-host goes with --hosts");
	if (hosts_path) {
		char *text;

		if (connect[0] || pin[0] || jobs > 1 || goal.cv_pct > 0)
			return usage_error("run: --hosts with %s: not supported (the hosts file names "
					   "the URIs; --per-host N runs N at a time per host)",
					   connect[0] ? "--connect" : pin[0] ? "--pin" : jobs > 1 ?
					   "--jobs" : "--until-cv");
		if (!(text = file_read(hosts_path, NULL)))
			return usage_error("run: --hosts %s: %s", hosts_path, strerror(errno));
		rc = fleet_parse_hosts(text, hosts_path, &hosts, &nhosts, err, sizeof(err));
		free(text);
		if (rc)
			return usage_error("run: --hosts %s", err);
		for (int k = 0; k < nhosts && per_host > 1; k++) {
			char root[PATH_MAX];

			/* an embedded driver's root serves one process at a time */
			if (libvirt_embed_root(hosts[k].uri, root, sizeof(root)) == 0) {
				rc = usage_error("run: --per-host %d with host %s (%s): one boot at a "
						 "time per embedded root", per_host, hosts[k].name,
						 hosts[k].uri);
				free(hosts);
				return rc;
			}
		}
	}
	if (jobs > 1 && connect[0]) {
		char root[PATH_MAX];

		/* an embedded driver's root serves one process at a time (the default: one each) */
		if (connect[9] == '=' && libvirt_embed_root(connect + 10, root, sizeof(root)) == 0)
			return usage_error("run: --jobs %d with --connect %s: one boot at a time per "
					   "root (--connect alone gives each boot its own)", jobs,
					   connect + 10);
	}
	if ((goal.cv_pct > 0) != (goal.max_repeat > 0))
		return usage_error("run: --until-cv and --max-repeat go together");
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
		free(hosts);
		return rc;
	}
	if (job_expand(&jf, dir, &m, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvmio: %s\n", err);
		job_file_free(&jf);
		free(hosts);
		return KVMIO_EXIT_BADCONFIG;
	}
	for (int i = 0; i < m.n; i++) {
		struct job_config *c = &m.cfg[i];
		const char *jpin = job_param(c, "pin");

		if (jpin && strcmp(jpin, "none") && (pin[0] || hosts_path)) {
			rc = usage_error("run: %s with a job that sets pin= (%s, [%s]): one or the other",
					 pin[0] ? "--pin" : "--hosts", c->id, c->section);
			job_matrix_free(&m);
			job_file_free(&jf);
			free(hosts);
			return rc;
		}
		c->repeat = repeat ? repeat : c->repeat ? c->repeat : 5;
		if (!c->skip)
			total_runs += c->repeat;
		if (!c->skip && goal.max_repeat && goal.max_repeat < c->repeat) {
			rc = usage_error("run: --max-repeat %d is below the %d repeats of %s",
					 goal.max_repeat, c->repeat, c->id);
			job_matrix_free(&m);
			job_file_free(&jf);
			free(hosts);
			return rc;
		}
	}
	self_exe(exe, sizeof(exe));
	if (dry) {
		int nrun = 0;

		for (int i = 0; i < m.n; i++)
			nrun += !m.cfg[i].skip;
		printf("# %s: %d configurations (%d run, %d skip), %d runs -> %s\n", jobpath, m.n,
		       nrun, m.n - nrun, total_runs, dir);
		if (pin[0])
			printf("# every kvmio boot with %s\n", pin);
		if (connect[0])
			printf("# every kvmio boot with %s (libvirt)\n", connect);
		for (int k = 0; k < nhosts; k++)
			printf("# host %s: kvmio boot --connect=%s (%d run%s at a time)\n",
			       hosts[k].name, hosts[k].uri, per_host ? per_host : 1,
			       per_host > 1 ? "s" : "");
		for (int i = 0; i < m.n; i++) {
			const char *label = job_param(&m.cfg[i], "qemu");
			int seen = 0;

			for (int j = 0; j < i; j++)
				seen |= !strcmp(m.cfg[j].qemu, m.cfg[i].qemu);
			if (!seen)
				printf("# qemu %s%s%s: version %s, build %s\n", label ? label : "",
				       label ? " = " : "", m.cfg[i].qemu,
				       m.cfg[i].qemu_version[0] ? m.cfg[i].qemu_version : "?",
				       m.cfg[i].qemu_build[0] ? m.cfg[i].qemu_build : "?");
		}
		if (goal.max_repeat)
			printf("# then more runs, a round at a time, of each configuration whose CV of "
			       "its primary metric is above %g %%, up to %d runs each\n", goal.cv_pct,
			       goal.max_repeat);
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
		print_plan(&m, order, total_runs);
		job_matrix_free(&m);
		job_file_free(&jf);
		free(hosts);
		return KVMIO_EXIT_OK;
	}
	/* the directory: a fresh one, or --resume with the same job */
	rc = resultdir_claim(dir, jobpath, resume, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "kvmio: run: %s\n", err);
		job_matrix_free(&m);
		job_file_free(&jf);
		free(hosts);
		return rc;
	}
	if (resultdir_write_matrix(dir, &m) != 0)
		fprintf(stderr, "kvmio: run: cannot write %s/matrix.tsv\n", dir);
	/* what is left to do (--until-cv: rounds of at most one run per configuration follow) */
	todo = calloc((size_t)(total_runs > m.n ? total_runs : m.n) + 1, sizeof(*todo));
	need = calloc((size_t)m.nimages + 1, 1);
	until = goal.max_repeat ? calloc((size_t)m.n + 1, sizeof(*until)) : NULL;
	memset(&rn, 0, sizeof(rn));
	rn.kids = calloc((size_t)jobs, sizeof(*rn.kids));
	if (!todo || !need || !rn.kids || (goal.max_repeat && !until)) {
		rc = KVMIO_EXIT_IO;
		goto out;
	}
	for (int i = 0; i < m.n; i++) {
		const struct job_config *c = &m.cfg[i];

		if (!c->skip && c->image >= 0 && goal.max_repeat)
			need[c->image] = 1;
	}
	{
		int nplan = run_plan(&m, order, todo);

		for (int k = 0; k < nplan; k++) {
			const struct job_config *c = &m.cfg[todo[k].cfg];

			if (resume && resultdir_run_exit(dir, c->id, todo[k].repeat) >= 0) {
				already++;
				continue;
			}
			todo[ntodo++] = todo[k];
			if (c->image >= 0)
				need[c->image] = 1;
		}
	}
	if (make_images(dir, &m, need) != 0) {
		rc = KVMIO_EXIT_IO;
		goto out;
	}
	proc_on_stop_signals(on_signal); /* no SA_RESTART: waitpid returns */
	rn.exe = exe;
	rn.dir = dir;
	rn.pin = pin[0] ? pin : NULL;
	rn.connect = connect[0] ? connect : NULL;
	rn.m = &m;
	rn.jobs = jobs;
	rn.pg.tty = isatty(2);
	rn.pg.total = total_runs;
	rn.pg.done = already;
	rn.pg.jobs = jobs;
	if (already)
		fprintf(stderr, "kvmio: run: --resume: %d of %d runs already finished\n", already,
			total_runs);
	if (hosts) {
		/* the fleet: the runs spread over the hosts (matrix/fleet.c) */
		struct fleet_run fr = { .exe = exe, .dir = dir, .m = &m, .hosts = hosts,
					.nhosts = nhosts, .per_host = per_host ? per_host : 1,
					.total = total_runs, .done = already };

		rc = fleet_run(&fr, todo, ntodo, &run_stop);
		rn.pg.done = fr.done;
		rn.failed = fr.failed;
		rn.pg.tty = 0;
	} else {
		if (rn.pg.tty && ntodo)
			progress_bar(&rn.pg);
		rc = run_batch(&rn, todo, ntodo);
	}
	/* --until-cv: a round of one more run for every configuration above the target, until none
	 * is (their runs interleave, so a slow drift of the host hits every configuration alike) */
	while (until && !run_stop && rc == KVMIO_EXIT_OK) {
		until_cv_states(dir, &m, &goal, until);
		ntodo = 0;
		for (int i = 0; i < m.n; i++)
			if (!m.cfg[i].skip && until[i].verdict == REPEAT_MORE)
				todo[ntodo++] = (struct run_step){ i, until[i].runs + 1 };
		if (ntodo == 0)
			break;
		rn.pg.total += ntodo;
		rc = run_batch(&rn, todo, ntodo);
	}
	if (run_stop)
		stop_children(&rn);
	if (rn.pg.tty)
		fputc('\n', stderr);
	if (until && !run_stop)
		until_cv_states(dir, &m, &goal, until);
	if (resultdir_write_results(dir, jobpath, &m, until ? &goal : NULL, until) != 0) {
		fprintf(stderr, "kvmio: run: cannot write %s/results.csv/json\n", dir);
		if (!rc)
			rc = KVMIO_EXIT_IO;
	}
	if (rc == KVMIO_EXIT_OK && rn.lost && !run_stop) {
		fprintf(stderr, "kvmio: run: %d of %d runs finished (%d failed) in %s; %d lost with "
			"their libvirt host: --resume runs them\n", rn.pg.done, rn.pg.total, rn.failed,
			dir, rn.lost);
		rc = KVMIO_EXIT_HOST_LOST;
	} else if (rc == KVMIO_EXIT_HOST_LOST) {
		fprintf(stderr, "kvmio: run: %d of %d runs finished (%d failed) in %s: results.csv, "
			"results.json\n", rn.pg.done, rn.pg.total, rn.failed, dir);
	} else if (run_stop && rc != KVMIO_EXIT_IO) {
		fprintf(stderr, "kvmio: run: interrupted: %d of %d runs finished; results so far in "
			"%s/results.csv; --resume continues\n", rn.pg.done, rn.pg.total, dir);
		rc = KVMIO_EXIT_INTERRUPTED;
	} else if (!rc) {
		char *u = until ? until_cv_text(&m, &goal, until) : NULL;

		fprintf(stderr, "kvmio: run: %d runs (%d failed) in %s: results.csv, results.json%s\n",
			rn.pg.total, rn.failed, dir, u ? u : "");
		free(u);
		rc = rn.failed ? KVMIO_EXIT_FAILED : KVMIO_EXIT_OK;
	}
out:
	free(todo);
	free(need);
	free(rn.kids);
	free(until);
	free(hosts);
	job_matrix_free(&m);
	job_file_free(&jf);
	return rc;
}
