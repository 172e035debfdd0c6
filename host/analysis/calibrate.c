/* kvmio calibrate: injected device delays against this host's own timer (calibrate.h). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>
#include "analysis/calibrate.h"
#include "analysis/stats.h"
#include "boot/qemu.h"
#include "kvmio_proto.h"
#include "lib/args.h"
#include "lib/file.h"
#include "lib/json.h"
#include "lib/proc.h"
#include "proto/figures.h"
#include "proto/proto.h"

const double calib_delays_us[CALIB_NDELAYS] = { 0, 20, 50, 100, 200, 1000 };

#define CALIB_FORMAT 1              /* "calibrate": the JSON document's version */
#define CALIB_BOOT_SLACK_S 60.0     /* a boot's deadline beyond its estimated run time */
#define CALIB_OP_BOUND_US 3000.0    /* per operation beyond the delay, for that estimate */
#define CALIB_HOST_WARMUP 100       /* untimed waits first, as the guest's warmup=100 */
#define CALIB_MAX_OPS 1000000

const char *calib_path_name(enum calib_path p)
{
	return p == CALIB_MAIN_LOOP ? "main loop" : "iothread";
}

const char *calib_path_key(enum calib_path p)
{
	return p == CALIB_MAIN_LOOP ? "main_loop" : "iothread";
}

/* ---- the arithmetic (pure) ----------------------------------------------------------------- */

double calibrate_tolerance_us(double host_p50_us)
{
	return CALIB_TOL_REL * fabs(host_p50_us) + CALIB_TOL_ABS_US;
}

int calibrate_agrees(double guest_p50_us, double host_p50_us)
{
	return fabs(guest_p50_us - host_p50_us) <= calibrate_tolerance_us(host_p50_us);
}

double calibrate_quantum(const double *delay_us, const double *figure_us, int n, double *lo,
			 double *hi)
{
	double member[CALIB_NDELAYS];
	int k = 0;

	for (int i = 0; i < n && k < CALIB_NDELAYS; i++) {
		if (delay_us[i] <= 0)
			continue;
		if (figure_us[i] < CALIB_QUANTUM_FACTOR * delay_us[i] ||
		    (k > 0 && fabs(figure_us[i] - member[0]) > CALIB_QUANTUM_SPREAD * member[0]))
			break;
		if (k == 0)
			*lo = delay_us[i];
		*hi = delay_us[i];
		member[k++] = figure_us[i];
	}
	if (k < 2)
		return 0;
	return stats_median(member, (size_t)k);
}

void calibrate_stat_of(double *samples, int n, struct calib_stat *s)
{
	size_t rank;

	s->p50_us = s->mean_us = NAN;
	if (n <= 0)
		return;
	stats_sort(samples, (size_t)n);
	rank = ((size_t)n * 500 + 999) / 1000; /* nearest rank, per mille, as the guest */
	s->p50_us = samples[rank ? rank - 1 : 0];
	s->mean_us = stats_mean(samples, (size_t)n);
}

void calibrate_compute(const struct calib_measure *m, struct calibration *c)
{
	double worst_over = 0;

	memset(c, 0, sizeof(*c));
	c->m = *m;
	c->pass = 1;
	c->worst = -1;
	for (int p = 0; p < CALIB_NPATHS; p++) {
		const struct calib_stat *base = &m->guest[p][0];
		double d[CALIB_NDELAYS], f[CALIB_NDELAYS];

		for (int i = 0; i < m->ndelays && i < CALIB_NDELAYS; i++) {
			struct calib_row *r = &c->rows[c->nrows];

			r->delay_us = m->delay_us[i];
			r->path = (enum calib_path)p;
			r->guest_p50_us = m->guest[p][i].p50_us - base->p50_us;
			r->guest_mean_us = m->guest[p][i].mean_us - base->mean_us;
			r->host_p50_us = m->host[i].p50_us;
			r->host_mean_us = m->host[i].mean_us;
			r->error_p50_us = r->guest_p50_us - r->host_p50_us;
			r->error_mean_us = r->guest_mean_us - r->host_mean_us;
			r->tolerance_us = calibrate_tolerance_us(r->host_p50_us);
			r->agrees = calibrate_agrees(r->guest_p50_us, r->host_p50_us);
			/* at delay 0 null-co arms no timer at all: nothing to compare */
			r->checked = p == CALIB_IOTHREAD && r->delay_us > 0;
			if (r->checked && !r->agrees) {
				double over = fabs(r->error_p50_us) - r->tolerance_us;

				c->pass = 0;
				c->ndisagree++;
				if (c->worst < 0 || over > worst_over) {
					c->worst = c->nrows;
					worst_over = over;
				}
			}
			d[i] = r->delay_us;
			f[i] = r->guest_p50_us;
			c->nrows++;
		}
		c->quantum_us[p] = calibrate_quantum(d, f, m->ndelays, &c->quantum_lo_us[p],
						     &c->quantum_hi_us[p]);
	}
}

static const char *us_text(char *buf, size_t len, double us)
{
	if (us >= 1000)
		snprintf(buf, len, "%.2f ms", us / 1000);
	else
		snprintf(buf, len, "%.0f us", us);
	return buf;
}

int calibrate_quantum_text(const struct calibration *c, enum calib_path p, char *buf, size_t len)
{
	char lo[32], hi[32], q[32];

	if (c->quantum_us[p] <= 0)
		return 0;
	us_text(lo, sizeof(lo), c->quantum_lo_us[p]);
	us_text(hi, sizeof(hi), c->quantum_hi_us[p]);
	us_text(q, sizeof(q), c->quantum_us[p]);
	snprintf(buf, len, "%s: delays of %s to %s all read as ~%s: %s", calib_path_name(p), lo,
		 hi, q, p == CALIB_MAIN_LOOP ? "QEMU's main-loop timer quantum (the main loop hands "
		 "its AioContext timer deadlines to glib in whole milliseconds)" :
		 "a timer quantum on the iothread path");
	return 1;
}

void calibrate_verdict_text(const struct calibration *c, char *buf, size_t len)
{
	int checked = 0;

	for (int i = 0; i < c->nrows; i++)
		checked += c->rows[i].checked;
	if (c->pass) {
		snprintf(buf, len, "iothread: agrees with the host timer within %.0f %% + %.0f us at "
			 "all %d delays", CALIB_TOL_REL * 100, CALIB_TOL_ABS_US, checked);
	} else {
		const struct calib_row *w = &c->rows[c->worst];

		snprintf(buf, len, "iothread: disagrees with the host timer at %d of %d delays (worst: "
			 "%.0f us read as %.1f us, the host timer's wait %.1f us, off by %+.1f us, more "
			 "than %.0f %% + %.0f us = %.1f us)", c->ndisagree, checked, w->delay_us,
			 w->guest_p50_us, w->host_p50_us, w->error_p50_us, CALIB_TOL_REL * 100,
			 CALIB_TOL_ABS_US, w->tolerance_us);
	}
}

/* ---- printing ------------------------------------------------------------------------------ */

void calibrate_print(FILE *out, const struct calibration *c, const struct calib_info *info)
{
	char text[1024];

	fprintf(out, "calibrate:    %s (%s), %d ops per delay, %s\n", info->flavour,
		info->accel_why, info->ops, info->date);
	fprintf(out, "guest:        virtio-blk on null-co, latency-ns = the delay; bench=disk "
		"rw=randread qd=1 irq=poll; p50 and mean minus the same path's at delay 0\n");
	fprintf(out, "host timer:   a thread timing clock_nanosleep(CLOCK_MONOTONIC) waits of the "
		"delay (timer slack 1 ns, as QEMU's threads)\n");
	fprintf(out, "baseline:     ");
	for (int p = 0; p < CALIB_NPATHS; p++)
		fprintf(out, "%s%s p50 %.1f us mean %.1f us", p ? "; " : "", calib_path_name(p),
			c->m.guest[p][0].p50_us, c->m.guest[p][0].mean_us);
	fprintf(out, " (delay 0)\n\n");
	fprintf(out, "%8s  %-9s  %10s  %11s  %9s  %10s  %10s  %s\n", "delay_us", "path", "guest_p50",
		"guest_mean", "host_p50", "host_mean", "error_p50", "check");
	for (int i = 0; i < c->nrows; i++) {
		const struct calib_row *r = &c->rows[i];
		char err[32], check[48];

		if (r->delay_us <= 0) {
			snprintf(err, sizeof(err), "-");
			snprintf(check, sizeof(check), "baseline");
		} else {
			snprintf(err, sizeof(err), "%+.1f", r->error_p50_us);
			if (!r->checked)
				snprintf(check, sizeof(check), "-");
			else
				snprintf(check, sizeof(check), "%s (%s %.1f)",
					 r->agrees ? "ok" : "DISAGREES", r->agrees ? "<=" : ">",
					 r->tolerance_us);
		}
		fprintf(out, "%8.0f  %-9s  %10.1f  %11.1f  %9.1f  %10.1f  %10s  %s\n", r->delay_us,
			calib_path_name(r->path), r->guest_p50_us, r->guest_mean_us, r->host_p50_us,
			r->host_mean_us, err, check);
	}
	fprintf(out, "(us; error = guest - host timer, p50; checked on the iothread path: within "
		"%.0f %% of the host timer's p50 + %.0f us)\n", CALIB_TOL_REL * 100, CALIB_TOL_ABS_US);
	for (int p = 0; p < CALIB_NPATHS; p++)
		if (calibrate_quantum_text(c, (enum calib_path)p, text, sizeof(text)))
			fprintf(out, "%s\n", text);
	calibrate_verdict_text(c, text, sizeof(text));
	fprintf(out, "%s\n", text);
	if (info->retried[0])
		fprintf(out, "booted twice: %s\n", info->retried);
}

/* ---- JSON ---------------------------------------------------------------------------------- */

/* Figures to 0.01 us: the digits that mean something. */
static json_t *us_json(double us)
{
	return isfinite(us) ? json_real(round(us * 100) / 100) : json_null();
}

static json_t *stat_json(const struct calib_stat *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "p50_us", us_json(s->p50_us));
	json_object_set_new(o, "mean_us", us_json(s->mean_us));
	return o;
}

json_t *calibrate_json(const struct calibration *c, const struct calib_info *info)
{
	json_t *doc = json_object(), *meas = json_object(), *delays = json_array(),
	       *guest = json_object(), *host = json_array(), *rows = json_array(),
	       *quanta = json_object(), *notes = json_array(), *tol = json_object();
	char text[1024];

	json_object_set_new(doc, "calibrate", json_integer(CALIB_FORMAT));
	json_object_set_new(doc, "date", json_of_bytes(info->date));
	json_object_set_new(doc, "build", json_of_bytes(info->build));
	json_object_set_new(doc, "accel", json_of_bytes(info->accel));
	json_object_set_new(doc, "flavour", json_of_bytes(info->flavour));
	json_object_set_new(doc, "accel_why", json_of_bytes(info->accel_why));
	json_object_set_new(doc, "ops", json_integer(info->ops));
	json_object_set_new(doc, "retried", json_of_bytes(info->retried));
	json_object_set_new(tol, "relative", json_real(CALIB_TOL_REL));
	json_object_set_new(tol, "absolute_us", json_real(CALIB_TOL_ABS_US));
	json_object_set_new(doc, "tolerance", tol);
	for (int i = 0; i < c->m.ndelays; i++) {
		json_array_append_new(delays, us_json(c->m.delay_us[i]));
		json_array_append_new(host, stat_json(&c->m.host[i]));
	}
	for (int p = 0; p < CALIB_NPATHS; p++) {
		json_t *a = json_array();

		for (int i = 0; i < c->m.ndelays; i++)
			json_array_append_new(a, stat_json(&c->m.guest[p][i]));
		json_object_set_new(guest, calib_path_key(p), a);
		json_object_set_new(quanta, calib_path_key(p), c->quantum_us[p] > 0 ?
				    us_json(c->quantum_us[p]) : json_null());
		if (calibrate_quantum_text(c, (enum calib_path)p, text, sizeof(text)))
			json_array_append_new(notes, json_of_bytes(text));
	}
	json_object_set_new(meas, "delays_us", delays);
	json_object_set_new(meas, "guest", guest);
	json_object_set_new(meas, "host_timer", host);
	json_object_set_new(doc, "measured", meas);
	for (int i = 0; i < c->nrows; i++) {
		const struct calib_row *r = &c->rows[i];
		json_t *o = json_object();

		json_object_set_new(o, "delay_us", us_json(r->delay_us));
		json_object_set_new(o, "path", json_string(calib_path_key(r->path)));
		json_object_set_new(o, "guest_p50_us", us_json(r->guest_p50_us));
		json_object_set_new(o, "guest_mean_us", us_json(r->guest_mean_us));
		json_object_set_new(o, "host_p50_us", us_json(r->host_p50_us));
		json_object_set_new(o, "host_mean_us", us_json(r->host_mean_us));
		json_object_set_new(o, "error_p50_us", us_json(r->error_p50_us));
		json_object_set_new(o, "error_mean_us", us_json(r->error_mean_us));
		json_object_set_new(o, "tolerance_us", us_json(r->tolerance_us));
		json_object_set_new(o, "checked", json_boolean(r->checked));
		json_object_set_new(o, "agrees", json_boolean(r->agrees));
		json_array_append_new(rows, o);
	}
	json_object_set_new(doc, "rows", rows);
	json_object_set_new(doc, "quantum_us", quanta);
	calibrate_verdict_text(c, text, sizeof(text));
	json_array_append_new(notes, json_of_bytes(text));
	json_object_set_new(doc, "notes", notes);
	json_object_set_new(doc, "verdict", json_string(c->pass ? "agrees" : "disagrees"));
	json_object_set_new(doc, "exit", json_integer(c->pass ? KVMIO_EXIT_OK
						       : KVMIO_EXIT_CALIBRATION));
	return doc;
}

static int stat_from_json(const json_t *o, struct calib_stat *s)
{
	json_t *p = json_object_get(o, "p50_us"), *m = json_object_get(o, "mean_us");

	if (!json_is_number(p) || !json_is_number(m))
		return -1;
	s->p50_us = json_number_value(p);
	s->mean_us = json_number_value(m);
	return 0;
}

static void string_from_json(const json_t *doc, const char *key, char *buf, size_t len)
{
	const char *s = json_string_value(json_object_get(doc, key));

	snprintf(buf, len, "%s", s ? s : "");
}

int calibrate_from_json(const json_t *doc, struct calibration *c, struct calib_info *info,
			char *err, size_t errlen)
{
	struct calib_measure m;
	json_t *meas = json_object_get(doc, "measured");
	json_t *delays = json_object_get(meas, "delays_us"), *host = json_object_get(meas,
										     "host_timer");
	json_t *guest = json_object_get(meas, "guest");
	int n;

	memset(&m, 0, sizeof(m));
	memset(info, 0, sizeof(*info));
	if (!json_is_object(doc) || json_integer_value(json_object_get(doc, "calibrate")) !=
	    CALIB_FORMAT) {
		snprintf(err, errlen, "not a kvmio calibration (format %d)", CALIB_FORMAT);
		return -1;
	}
	n = (int)json_array_size(delays);
	if (n < 1 || n > CALIB_NDELAYS || (int)json_array_size(host) != n) {
		snprintf(err, errlen, "measured: delays_us and host_timer must hold 1..%d entries, "
			 "as many", CALIB_NDELAYS);
		return -1;
	}
	m.ndelays = n;
	for (int i = 0; i < n; i++) {
		json_t *d = json_array_get(delays, (size_t)i);

		if (!json_is_number(d) || stat_from_json(json_array_get(host, (size_t)i), &m.host[i])) {
			snprintf(err, errlen, "measured: entry %d is not a delay and p50_us, mean_us", i);
			return -1;
		}
		m.delay_us[i] = json_number_value(d);
	}
	if (m.delay_us[0] != 0) {
		snprintf(err, errlen, "measured: the first delay must be 0 (the baseline)");
		return -1;
	}
	for (int p = 0; p < CALIB_NPATHS; p++) {
		json_t *a = json_object_get(guest, calib_path_key(p));

		for (int i = 0; i < n; i++)
			if ((int)json_array_size(a) != n ||
			    stat_from_json(json_array_get(a, (size_t)i), &m.guest[p][i])) {
				snprintf(err, errlen, "measured: guest.%s must hold %d p50_us, mean_us",
					 calib_path_key(p), n);
				return -1;
			}
	}
	string_from_json(doc, "date", info->date, sizeof(info->date));
	string_from_json(doc, "build", info->build, sizeof(info->build));
	string_from_json(doc, "accel", info->accel, sizeof(info->accel));
	string_from_json(doc, "flavour", info->flavour, sizeof(info->flavour));
	string_from_json(doc, "accel_why", info->accel_why, sizeof(info->accel_why));
	string_from_json(doc, "retried", info->retried, sizeof(info->retried));
	info->ops = (int)json_integer_value(json_object_get(doc, "ops"));
	calibrate_compute(&m, c);
	return 0;
}

/* ---- this host's last calibration ------------------------------------------------------------ */

char *calibrate_state_path(void)
{
	const char *dir = getenv("KVMIO_STATE_DIR"), *xdg = getenv("XDG_STATE_HOME"),
		   *home = getenv("HOME");
	char *path = NULL;
	int n = -1;

	if (dir && *dir)
		n = asprintf(&path, "%s/" CALIB_STATE_FILE, dir);
	else if (xdg && *xdg)
		n = asprintf(&path, "%s/kvmio/" CALIB_STATE_FILE, xdg);
	else if (home && *home)
		n = asprintf(&path, "%s/.local/state/kvmio/" CALIB_STATE_FILE, home);
	return n < 0 ? NULL : path;
}

int calibrate_save(const char *path, const struct calibration *c, const struct calib_info *info)
{
	json_t *doc = calibrate_json(c, info);
	char *text = json_dumps(doc, JSON_INDENT(1) | JSON_REAL_PRECISION(12) | JSON_ENSURE_ASCII),
	     *dir = strdup(path), *slash;
	int rc = -1;

	json_decref(doc);
	if (text && dir) {
		slash = strrchr(dir, '/');
		if (slash && slash != dir)
			*slash = '\0';
		if (!slash || slash == dir || dir_make_all(dir) == 0) {
			char *line = NULL;

			if (asprintf(&line, "%s\n", text) >= 0)
				rc = file_replace(path, line);
			free(line);
		}
	} else {
		errno = ENOMEM;
	}
	free(text);
	free(dir);
	return rc;
}

int calibrate_load(const char *path, struct calibration *c, struct calib_info *info, char *err,
		   size_t errlen)
{
	json_error_t je;
	json_t *doc;
	int rc;

	if (!path_exists(path))
		return 1;
	doc = json_load_file(path, 0, &je);
	if (!doc) {
		snprintf(err, errlen, "%s:%d: %s", path, je.line, je.text);
		return -1;
	}
	rc = calibrate_from_json(doc, c, info, err, errlen);
	json_decref(doc);
	return rc;
}

/* ---- measuring ----------------------------------------------------------------------------- */

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

struct host_timer {
	double delay_us;
	int n;
	double *samples;                /* n of them, us */
};

/* A host thread waits n times for the delay and times each wait. Timer slack 1 ns, as QEMU
 * sets it for itself and the threads it starts (its iothreads among them). */
static void *host_timer_run(void *arg)
{
	struct host_timer *t = arg;
	long ns = (long)(t->delay_us * 1000);
	struct timespec d = { ns / 1000000000L, ns % 1000000000L };

	prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
	for (int i = -CALIB_HOST_WARMUP; i < t->n && !stop_signal; i++) {
		struct timespec a, b;

		clock_gettime(CLOCK_MONOTONIC, &a);
		clock_nanosleep(CLOCK_MONOTONIC, 0, &d, NULL);
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (i >= 0)
			t->samples[i] = (double)(b.tv_sec - a.tv_sec) * 1e6 +
					(double)(b.tv_nsec - a.tv_nsec) / 1e3;
	}
	return NULL;
}

static int host_timer_measure(double delay_us, int n, struct calib_stat *s)
{
	struct host_timer t = { delay_us, n, calloc((size_t)n, sizeof(double)) };
	pthread_t th;

	if (!t.samples || pthread_create(&th, NULL, host_timer_run, &t) != 0) {
		free(t.samples);
		return -1;
	}
	pthread_join(th, NULL);
	calibrate_stat_of(t.samples, n, s);
	free(t.samples);
	return 0;
}

struct calib_run {
	const char *accel;
	int ops;
	char *tmp;                      /* private directory: the boot's log and output */
	int keep_tmp;                   /* a boot failed: its log stays there */
	char exe[4096];
	char build[128];
};

/* The last "kvmio: " line of a boot's output, for the one-line reason. */
static void boot_reason(const char *out_path, char *buf, size_t len)
{
	char *text = file_read(out_path, NULL), *last = NULL;

	snprintf(buf, len, "no reason given");
	for (char *p = text; p && (p = strstr(p, "kvmio: ")); p++)
		last = p;
	if (last)
		snprintf(buf, len, "%.*s", (int)strcspn(last + 7, "\n"), last + 7);
	free(text);
}

/* Boot the guest once at a delay on a path: its p50 and mean in us. 0, or the boot's exit
 * code with the one-line reason in why (its output and log stay in r->tmp). */
static int guest_measure(struct calib_run *r, double delay_us, enum calib_path p, int attempt,
			 struct calib_stat *s, char *why, size_t whylen)
{
	double est_s = CALIB_BOOT_SLACK_S + r->ops * (delay_us + CALIB_OP_BOUND_US) * 4 / 1e6;
	char disk[128], timeout[32], guest_timeout[48], ops[32], log_path[4200], out_path[4200];
	char *argv[] = { r->exe, "boot", "--accel", (char *)r->accel, "--timeout", timeout,
			 "--log", log_path, "--disk", disk, "--", "bench=disk", "rw=randread",
			 "qd=1", "irq=poll", "pci=0", ops, guest_timeout, NULL };
	struct log log;
	const struct record *res, *hello;
	uint64_t hz;
	double p50, mean;
	int rc;

	snprintf(disk, sizeof(disk), "virtio-blk,latency-ns=%.0f,iothread=%s", delay_us * 1000,
		 p == CALIB_IOTHREAD ? "on" : "off");
	snprintf(timeout, sizeof(timeout), "%.0f", est_s + CALIB_BOOT_SLACK_S);
	snprintf(guest_timeout, sizeof(guest_timeout), "timeout=%.0f", est_s);
	snprintf(ops, sizeof(ops), "ops=%d", r->ops);
	snprintf(log_path, sizeof(log_path), "%s/%s-%.0fus-%d.log", r->tmp, calib_path_key(p),
		 delay_us, attempt);
	snprintf(out_path, sizeof(out_path), "%s/%s-%.0fus-%d.out", r->tmp, calib_path_key(p),
		 delay_us, attempt);
	rc = proc_run(argv, out_path);
	if (stop_signal)
		return KVMIO_EXIT_INTERRUPTED;
	if (rc != 0) {
		char reason[512];

		boot_reason(out_path, reason, sizeof(reason));
		snprintf(why, whylen, "kvmio boot --disk %s: exit %d: %.300s (its output: %.500s)", disk, rc,
			 reason, out_path);
		r->keep_tmp = 1;
		return rc < 0 ? KVMIO_EXIT_QEMU : rc;
	}
	log_parse_file(&log, log_path);
	res = log_find(&log, "result", "bench", "disk");
	hello = log_find(&log, "hello", NULL, NULL);
	hz = log_tsc_hz(&log);
	if (!res || record_get_number(res, "p50", &p50) != 0 ||
	    record_get_number(res, "mean", &mean) != 0 || !hz) {
		snprintf(why, whylen, "kvmio boot --disk %s: %s", disk,
			 !hz ? "the guest found no TSC frequency: cycles cannot be turned into us"
			     : "no disk result with p50 and mean");
		log_free(&log);
		return KVMIO_EXIT_FAILED;
	}
	s->p50_us = p50 * 1e6 / (double)hz;
	s->mean_us = mean * 1e6 / (double)hz;
	if (hello && record_get(hello, "build"))
		snprintf(r->build, sizeof(r->build), "%s", record_get(hello, "build"));
	log_free(&log);
	return KVMIO_EXIT_OK;
}

/* The accelerator boot would use, and why: the QEMU command builder's own verdict. */
static int accel_info(const char *accel, struct calib_info *info, char *err, size_t errlen)
{
	struct qemu_options q;
	struct qemu_command cmd;
	char *disks[] = { "virtio-blk,iothread=on" };
	const char *qemu = getenv("KVMIO_QEMU");
	int rc;

	memset(&q, 0, sizeof(q));
	q.accel = accel;
	q.disks = disks;
	q.ndisks = 1;
	q.qemu = qemu && *qemu ? qemu : "qemu-system-x86_64";
	q.image_dir = ".";
	rc = qemu_build_command(&q, &cmd, err, errlen);
	if (rc != 0)
		return rc;
	snprintf(info->accel, sizeof(info->accel), "%s", cmd.accel);
	snprintf(info->flavour, sizeof(info->flavour), "%s", cmd.accel_label);
	snprintf(info->accel_why, sizeof(info->accel_why), "%s", cmd.accel_why);
	qemu_command_free(&cmd);
	return KVMIO_EXIT_OK;
}

int cmd_calibrate(int argc, char **argv)
{
	struct calib_run run = { .accel = "auto", .ops = CALIB_DEFAULT_OPS };
	struct calib_measure m;
	struct calibration c;
	struct calib_info info;
	char err[1024], *state = NULL;
	int json = 0, rc = KVMIO_EXIT_OK;
	time_t now = time(NULL);

	for (int i = 0; i < argc; i++) {
		const char *v;
		int missing = 0;
		uint64_t n;

		if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else if ((v = option_value(argc, argv, &i, "--accel", &missing))) {
			run.accel = v;
		} else if ((v = option_value(argc, argv, &i, "--ops", &missing))) {
			if (arg_u64(v, 10, &n) != 0 || n < 1 || n > CALIB_MAX_OPS)
				return usage_error("calibrate: bad --ops '%s' (1..%d)", v,
						   CALIB_MAX_OPS);
			run.ops = (int)n;
		} else if (missing) {
			return usage_error("calibrate: option '%s' needs a value", argv[i]);
		} else {
			return usage_error("calibrate: unknown argument '%s'", argv[i]);
		}
	}
	memset(&info, 0, sizeof(info));
	if (accel_info(run.accel, &info, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvmio: calibrate: %s\n", err);
		return KVMIO_EXIT_BADCONFIG;
	}
	info.ops = run.ops;
	strftime(info.date, sizeof(info.date), "%Y-%m-%d %H:%M:%S %Z", localtime(&now));
	self_exe(run.exe, sizeof(run.exe));
	run.tmp = dir_make_temp();
	if (!run.tmp) {
		fprintf(stderr, "kvmio: calibrate: cannot make a temporary directory: %s\n",
			strerror(errno));
		return KVMIO_EXIT_IO;
	}
	proc_on_stop_signals(on_stop);
	memset(&m, 0, sizeof(m));
	m.ndelays = CALIB_NDELAYS;
	for (int i = 0; i < CALIB_NDELAYS && rc == KVMIO_EXIT_OK; i++) {
		m.delay_us[i] = calib_delays_us[i];
		if (host_timer_measure(m.delay_us[i], run.ops, &m.host[i]) != 0) {
			fprintf(stderr, "kvmio: calibrate: cannot start the host timer thread\n");
			rc = KVMIO_EXIT_IO;
			break;
		}
		if (stop_signal) {
			rc = KVMIO_EXIT_INTERRUPTED;
			break;
		}
		fprintf(stderr, "calibrate: %4.0f us: host timer p50 %.1f us", m.delay_us[i],
			m.host[i].p50_us);
		for (int p = 0; p < CALIB_NPATHS && rc == KVMIO_EXIT_OK; p++) {
			char why[1024];

			rc = guest_measure(&run, m.delay_us[i], (enum calib_path)p, 1,
					   &m.guest[p][i], why, sizeof(why));
			/* A guest that failed (a lost completion) or timed out gets one more boot;
			 * the failure is kept in the result, never hidden. */
			if (rc == KVMIO_EXIT_GUEST_FAIL || rc == KVMIO_EXIT_TIMEOUT) {
				size_t len = strlen(info.retried);

				fprintf(stderr, "\nkvmio: calibrate: %s; booting once more\n", why);
				snprintf(info.retried + len, sizeof(info.retried) - len, "%s%s %.0f us: %s",
					 len ? "; " : "", calib_path_name(p), m.delay_us[i], why);
				rc = guest_measure(&run, m.delay_us[i], (enum calib_path)p, 2,
						   &m.guest[p][i], why, sizeof(why));
			}
			if (rc == KVMIO_EXIT_OK)
				fprintf(stderr, ", %s p50 %.1f us", calib_path_name(p),
					m.guest[p][i].p50_us);
			else if (rc != KVMIO_EXIT_INTERRUPTED)
				fprintf(stderr, "\nkvmio: calibrate: %s\n", why);
		}
		fputc('\n', stderr);
	}
	if (!run.keep_tmp)
		dir_remove_tree(run.tmp);
	free(run.tmp);
	if (rc != KVMIO_EXIT_OK) {
		if (rc == KVMIO_EXIT_INTERRUPTED)
			fprintf(stderr, "kvmio: calibrate: interrupted; nothing saved\n");
		return rc;
	}
	snprintf(info.build, sizeof(info.build), "%s", run.build);
	calibrate_compute(&m, &c);
	if (json) {
		json_t *doc = calibrate_json(&c, &info);

		json_dumpf(doc, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(12) | JSON_ENSURE_ASCII);
		fputc('\n', stdout);
		json_decref(doc);
	} else {
		calibrate_print(stdout, &c, &info);
	}
	state = calibrate_state_path();
	if (!state)
		fprintf(stderr, "kvmio: calibrate: not saved: no KVMIO_STATE_DIR, XDG_STATE_HOME or "
			"HOME\n");
	else if (calibrate_save(state, &c, &info) != 0)
		fprintf(stderr, "kvmio: calibrate: cannot save %s: %s\n", state, strerror(errno));
	else if (!json)
		printf("saved:        %s (kvmio report shows it)\n", state);
	free(state);
	fflush(stdout);
	return c.pass ? KVMIO_EXIT_OK : KVMIO_EXIT_CALIBRATION;
}
