/* kvmio report (host/htmlreport.c) on the fixture result directory tests/data/report-fixture
 * (written by its mkfixture.py): the charts of every section, well-formed HTML with escaped data,
 * the header, the summary, the error paths, and a headless chromium render when installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "analysis/calibrate.h"
#include "analysis/htmlreport.h"
#include "crc32.h"
#include "helpers.h"

#define FIXTURE "tests/data/report-fixture"
#define CHROMIUM "/usr/bin/chromium"
#define TCG_SENTENCE \
	"TCG figures compare device models under emulation; they are not KVM figures"

/* Workload sections of the fixture in order, with the charts each must carry: bars + CDF, and
 * latency beside accesses/op where the results count device accesses (not bench=exits). */
static const struct {
	const char *title;
	int svgs;
} sections[] = {
	{ "disk &middot; randread-4k-qd1", 3 }, { "disk &middot; read-4k-qd1", 3 },
	{ "disk &middot; read-64k-qd1", 3 },    { "disk &middot; randread-4k-qd4", 3 },
	{ "disk &middot; randread-4k-qd16", 3 }, { "net-rr &middot; rr-60", 3 },
	{ "net-tx &middot; tx-1514", 3 },       { "exits &middot; cpuid", 2 },
	{ "exits &middot; pio-unhandled", 2 },
};
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))
#define NSWEEPS 2 /* qd sweep of randread-4k, bs sweep of read-*-qd1 */

struct state {
	char dir[64];   /* copy of the fixture */
	char *html;     /* the generated report */
	char *summary;  /* DIR/summary.txt */
};

static int count(const char *from, const char *to, const char *needle)
{
	int n = 0;

	for (const char *p = from; (p = strstr(p, needle)) && (!to || p < to); p++)
		n++;
	return n;
}

static int shell(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* Give the result `name` of DIR/runs/RUN/serial.log a first half (half_ops, half_elapsed) whose
 * second half ran drift_pct faster than it, its CRC made again. 0, or -1. */
static int add_halves(const char *dir, const char *run, const char *name, double drift_pct)
{
	char path[512], key[96], *text, *out, *p;
	size_t len = 0;
	FILE *f;
	int found = 0;

	snprintf(path, sizeof(path), "%s/runs/%s/serial.log", dir, run);
	snprintf(key, sizeof(key), " name=%s ", name);
	if (!(text = test_read(path)) || !(f = open_memstream(&out, &len)))
		return -1;
	for (char *line = strtok_r(text, "\n", &p); line; line = strtok_r(NULL, "\n", &p)) {
		char *crc = strstr(line, " crc="), *ops = strstr(line, " ops="),
		     *el = strstr(line, " elapsed=");

		if (!strstr(line, key) || !crc || !ops || !el) {
			fprintf(f, "%s\n", line);
			continue;
		}
		/* half the ops in H cycles of E: the second half's rate over the first's is H / (E - H) */
		double n = strtod(ops + 5, NULL), e = strtod(el + 9, NULL), d = drift_pct / 100;
		char body[4096];
		int k = snprintf(body, sizeof(body), "%.*s half_ops=%.0f half_elapsed=%.0f",
				 (int)(crc - line), line, n / 2, (1 + d) * e / (2 + d));

		fprintf(f, "%s crc=%08x\n", body, crc32_update(0, body, (size_t)k));
		found = 1;
	}
	fclose(f);
	free(text);
	f = found ? fopen(path, "w") : NULL;
	int rc = f && fputs(out, f) >= 0 && fclose(f) == 0 ? 0 : -1;
	free(out);
	return rc;
}

static int setup(void **st)
{
	struct state *s = calloc(1, sizeof(*s));
	char path[256];

	if (!s)
		return -1;
	snprintf(s->dir, sizeof(s->dir), "/tmp/kvmio-test-report.XXXXXX");
	if (!mkdtemp(s->dir) || shell("cp -r " FIXTURE "/. %s/", s->dir) != 0)
		return -1;
	/* the host's TSC beside the guest's (2,000,000,000 Hz): c001 r1's 1 % off, c001 r2's not */
	if (shell("echo '2020000000 sysfs' > %s/runs/c001/r1/host_tsc_hz && "
		  "echo '2000000100 sysfs' > %s/runs/c001/r2/host_tsc_hz", s->dir, s->dir) != 0)
		return -1;
	/* the host's noise before each run: c002's runs 7 and 37 % (the machine changed), c003's
	 * 5.0, 6.9 and 5.5 (within 2 points), a probe that cannot be read (c003 r3 not counted);
	 * the CPUs' speed in them: c002's 1000 and 1100 ns a block (10 % apart), c003's 1000 and
	 * 1010 (1 %) */
	if (shell("printf '7.000 1000.0\\ncpu 0: lost\\n' > %s/runs/c002/r1/host_noise && "
		  "printf '37.000 1100.0\\n' > %s/runs/c002/r2/host_noise && "
		  "printf '5.0 1000\\n' > %s/runs/c003/r1/host_noise && "
		  "printf '6.9 1010\\n' > %s/runs/c003/r2/host_noise && "
		  "printf 'x\\n' > %s/runs/c003/r3/host_noise", s->dir, s->dir, s->dir, s->dir,
		  s->dir) != 0)
		return -1;
	/* the storage under the image before each run (median read, ns): c002's 65 and 81 us
	 * (24.6 % apart), c003's 65 and 66.9 us (2.9 %) and an unreadable probe (not counted) */
	if (shell("printf '65000.0\nimg: 256 reads\n' > %s/runs/c002/r1/host_storage && "
		  "printf '81000.0\n' > %s/runs/c002/r2/host_storage && "
		  "printf '65000\n' > %s/runs/c003/r1/host_storage && "
		  "printf '66885\n' > %s/runs/c003/r2/host_storage && "
		  "printf 'none\n' > %s/runs/c003/r3/host_storage", s->dir, s->dir, s->dir, s->dir,
		  s->dir) != 0)
		return -1;
	/* steady state: c002's randread ran +10 % and -5 % in its halves (both runs over 2 %),
	 * c003's +1 % (steady) and +3 %, c001's +0.5 % and -1 % */
	if (add_halves(s->dir, "c002/r1", "randread-4k-qd1", 10) ||
	    add_halves(s->dir, "c002/r2", "randread-4k-qd1", -5) ||
	    add_halves(s->dir, "c003/r1", "randread-4k-qd1", 1) ||
	    add_halves(s->dir, "c003/r2", "randread-4k-qd1", 3) ||
	    add_halves(s->dir, "c001/r1", "randread-4k-qd1", 0.5) ||
	    add_halves(s->dir, "c001/r2", "randread-4k-qd1", -1))
		return -1;
	/* this host's calibration (kvmio calibrate): a synthetic one, kept in the copy */
	{
		struct calib_measure m = { .ndelays = CALIB_NDELAYS };
		struct calibration c;
		struct calib_info info = { .date = "2026-01-05 10:00:00 UTC", .flavour = "tcg",
					   .accel = "tcg", .ops = 2000 };
		static const double main_us[] = { 35, 1110, 1112, 1111, 1111, 2100 };

		for (int i = 0; i < CALIB_NDELAYS; i++) {
			double d = calib_delays_us[i];

			m.delay_us[i] = d;
			m.host[i] = (struct calib_stat){ d ? d + 40 : 11, d ? d + 60 : 20 };
			m.guest[CALIB_IOTHREAD][i] = (struct calib_stat){ 2 + (d ? d + 40 : 0), 3 + d };
			m.guest[CALIB_MAIN_LOOP][i] = (struct calib_stat){ main_us[i], main_us[i] };
		}
		m.guest[CALIB_IOTHREAD][2].p50_us = 2 + 50; /* 50 us reads as 50: disagrees */
		calibrate_compute(&m, &c);
		snprintf(path, sizeof(path), "%s/state", s->dir);
		setenv("KVMIO_STATE_DIR", path, 1);
		snprintf(path, sizeof(path), "%s/state/" CALIB_STATE_FILE, s->dir);
		if (calibrate_save(path, &c, &info) != 0)
			return -1;
	}
	snprintf(path, sizeof(path), "%s/out.html", s->dir);
	if (htmlreport_write(s->dir, path, NULL) != 0)
		return -1;
	s->html = test_read(path);
	snprintf(path, sizeof(path), "%s/summary.txt", s->dir);
	s->summary = test_read(path);
	*st = s;
	return s->html && s->summary ? 0 : -1;
}

static int teardown(void **st)
{
	struct state *s = *st;

	shell("rm -rf %s", s->dir);
	free(s->html);
	free(s->summary);
	free(s);
	return 0;
}

static void test_header(void **st)
{
	struct state *s = *st;

	assert_non_null(strstr(s->html, "<!DOCTYPE html>"));
	assert_non_null(strstr(s->html, "<dt>accelerator</dt><dd>tcg</dd>"));
	assert_non_null(strstr(s->html, TCG_SENTENCE));
	assert_non_null(strstr(s->html, "<dt>kvmio build</dt><dd>v0.9-41-g1a2b3c4-20260105</dd>"));
	assert_non_null(strstr(s->html, "<dt>QEMU</dt><dd>"));
	assert_non_null(strstr(s->html, "<dt>host CPU</dt><dd>"));
	assert_non_null(strstr(s->html, "10 configurations with results, 1 skipped, 30 runs, "
					"63 result records"));
}

/* Every section has its charts; the sweeps section has both sweeps. */
static void test_charts(void **st)
{
	struct state *s = *st;
	const char *p = s->html;

	assert_int_equal(count(s->html, NULL, "<section class=\"workload\""), NSECTIONS);
	for (size_t i = 0; i < NSECTIONS; i++) {
		char h2[128];
		const char *end;

		snprintf(h2, sizeof(h2), "<h2>%s</h2>", sections[i].title);
		p = strstr(p, h2);
		assert_non_null(p);
		end = strstr(p, "</section>");
		assert_non_null(end);
		assert_int_equal(count(p, end, "<svg"), sections[i].svgs);
		assert_int_equal(count(p, end, "</svg>"), sections[i].svgs);
		assert_int_equal(count(p, end, "<figure class=\"chart bars\">"), 1);
		assert_int_equal(count(p, end, "<figure class=\"chart cdf\">"), 1);
		assert_int_equal(count(p, end, "<figure class=\"chart access\">"),
				 sections[i].svgs == 3);
	}
	p = strstr(s->html, "<section class=\"sweeps\"");
	assert_non_null(p);
	assert_int_equal(count(p, strstr(p, "</section>"), "<svg"), NSWEEPS);
	assert_int_equal(count(p, NULL, "<figure class=\"chart sweep-qd\">"), 1);
	assert_int_equal(count(p, NULL, "<figure class=\"chart sweep-bs\">"), 1);
	assert_non_null(strstr(p, "disk randread-4k: IOPS by queue depth"));
	assert_non_null(strstr(p, "disk read-qd1: MB/s by block size"));
	/* the table: one row per (workload, configuration) */
	p = strstr(s->html, "<section class=\"table\"");
	assert_non_null(p);
	assert_int_equal(count(p, strstr(p, "</section>"), "<tr"), 1 + 3 * 3 + 2 * 2 + 3 + 3 + 2);
	/* c002 is noisy on purpose (CV > 5 %) */
	assert_non_null(strstr(p, "<tr class=\"noisy\">"));
	/* no script, no external resources */
	assert_null(strstr(s->html, "<script"));
	assert_null(strstr(s->html, "src="));
	assert_null(strstr(s->html, "http-equiv"));
	assert_null(strstr(s->html, "<link"));
}

/* Tags balance: every element opened is closed in order (HTML void elements excepted), which
 * also holds for the inlined SVG (XML); a '<' from data would break it. */
static void test_well_formed(void **st)
{
	struct state *s = *st;
	static const char *const voids[] = { "meta", "br", "hr", "img", "link", "input" };
	char stack[512][32];
	int depth = 0;

	for (const char *p = s->html; (p = strchr(p, '<')) != NULL;) {
		char name[32];
		size_t n;
		const char *end = strchr(p, '>');
		int closing = p[1] == '/', is_void = 0;

		assert_non_null(end);
		if (p[1] == '!' || p[1] == '?') {
			p = end + 1;
			continue;
		}
		n = strspn(p + 1 + closing, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-");
		if (n == 0) {
			print_error("raw '<' at offset %ld: %.40s\n", (long)(p - s->html), p);
			fail();
		}
		assert_true(n < sizeof(name));
		memcpy(name, p + 1 + closing, n);
		name[n] = '\0';
		assert_null(memchr(p + 1, '<', (size_t)(end - p - 1)));
		for (size_t i = 0; i < sizeof(voids) / sizeof(voids[0]); i++)
			is_void |= !strcmp(name, voids[i]);
		if (closing) {
			assert_true(depth > 0);
			if (strcmp(stack[depth - 1], name) != 0) {
				print_error("</%s> closes <%s>\n", name, stack[depth - 1]);
				fail();
			}
			depth--;
		} else if (end[-1] != '/' && !is_void) {
			assert_true(depth < 512);
			strcpy(stack[depth++], name);
		}
		p = end + 1;
	}
	assert_int_equal(depth, 0);
	/* the skip reason carries "<ide>" and "&": escaped */
	assert_null(strstr(s->html, "<ide>"));
	assert_non_null(strstr(s->html, "AHCI &amp; no &lt;ide&gt; bus"));
	/* chart ids are unique per chart */
	assert_int_equal(count(s->html, NULL, "id=\"gnuplot_canvas\""), 0);
}

static void test_summary(void **st)
{
	struct state *s = *st;

	assert_non_null(strstr(s->summary, "accelerator: tcg"));
	assert_non_null(strstr(s->summary, TCG_SENTENCE));
	assert_non_null(strstr(s->summary, "disk randread-4k-qd1: IOPS"));
	assert_non_null(strstr(s->summary, "net-tx tx-1514: frames/s"));
	assert_non_null(strstr(s->summary, "net-rr rr-60: p50 latency (us)"));
	assert_non_null(strstr(s->summary, "exits cpuid: p50 latency (cycles)"));
	assert_non_null(strstr(s->summary, "NOISY"));
	assert_non_null(strstr(s->summary, "qd1="));
	assert_non_null(strstr(s->summary, "c011"));
}

/* The measurement's own checks: a guest TSC off its host's by more than 0.1 % is raised, in
 * the header, its section and the summary; one within it is not. */
static void test_checks(void **st)
{
	struct state *s = *st;
	const char *line = "c001 r1: the guest's TSC (2000000000 Hz) is -9901 ppm off the host's "
			   "(2020000000 Hz): over 0.1 %, its cycle-to-time figures are off by as much";

	assert_non_null(strstr(s->html, "<a href=\"#checks\">6 measurement checks</a> raised"));
	assert_non_null(strstr(s->html, "<section class=\"checks\" id=\"checks\">"));
	assert_int_equal(count(s->html, NULL, "ppm off the host"), 1);
	assert_non_null(strstr(s->summary, "measurement checks (6):"));
	assert_non_null(strstr(s->summary, line));
	assert_null(strstr(s->summary, "c001 r2: the guest's TSC"));
	/* the host's noise: c002's probes 30 points apart, c003's within 2 */
	assert_non_null(strstr(s->summary, "c002: the host took 7.0 % to 37.0 % of its CPUs in the "
				       "noise probes before its 2 runs, more than 2 points apart"));
	assert_null(strstr(s->summary, "c003: the host took"));
	/* the CPUs' speed: c002's probes 10 % apart, c003's 1 % */
	assert_non_null(strstr(s->summary, "c002: the host's CPUs ran a fixed block of work 10.0 % "
				       "slower before some of its 2 runs than before others"));
	assert_null(strstr(s->summary, "c003: the host's CPUs"));
	/* the storage: c002's probes 24.6 % apart, c003's 2.9 % */
	assert_non_null(strstr(s->summary, "c002: the storage under its image answered a 4 KiB "
				       "read 24.6 % slower before some of its 2 runs than before "
				       "others (more than 10 %)"));
	assert_null(strstr(s->summary, "c003: the storage"));
	/* steady state: one line per configuration and series, with how many runs and how far */
	assert_non_null(strstr(s->summary, "c002 disk randread-4k-qd1: the second half ran -5.0 % to "
				       "+10.0 % against the first in 2 of its 2 runs (over 2 % either "
				       "way): not steady"));
	assert_non_null(strstr(s->summary, "c003 disk randread-4k-qd1: the second half ran +3.0 % "
				       "against the first in 1 of its 2 runs (over 2 % either way)"));
	assert_null(strstr(s->summary, "c001 disk randread-4k-qd1: the second half"));
	assert_int_equal(count(s->summary, NULL, "the second half ran"), 2);
}

/* The last kvmio calibrate of this host, from where it keeps it; said when there is none. */
static void test_calibration(void **st)
{
	struct state *s = *st;
	const char *p = strstr(s->html, "<section class=\"calibration\" id=\"calibration\">");
	char path[256], *html;

	assert_non_null(p);
	assert_non_null(strstr(s->html, "<a href=\"#calibration\">calibration of this host</a>"));
	assert_non_null(strstr(p, "<h2>Calibration of this host</h2>"));
	assert_non_null(strstr(p, "<code>kvmio calibrate</code> of 2026-01-05 10:00:00 UTC under "
			       "tcg, 2000 operations per delay"));
	/* a header row and one row per path and delay */
	assert_int_equal(count(p, strstr(p, "</section>"), "<tr"), 1 + 2 * CALIB_NDELAYS);
	assert_non_null(strstr(p, "<tr class=\"disagrees\"><td>50</td><td class=\"l\">iothread"));
	assert_non_null(strstr(p, "main loop: delays of 20 us to 200 us all read as ~1.08 ms: "
			       "QEMU&#39;s main-loop timer quantum"));
	assert_non_null(strstr(p, "iothread: disagrees with the host timer at 1 of 5 delays"));
	assert_non_null(strstr(s->summary, "calibration of this host (2026-01-05 10:00:00 UTC, tcg):"));
	assert_non_null(strstr(s->summary, "  iothread: disagrees with the host timer at 1 of 5"));

	/* none kept: the section says so and how to make one */
	snprintf(path, sizeof(path), "%s/nostate", s->dir);
	setenv("KVMIO_STATE_DIR", path, 1);
	snprintf(path, sizeof(path), "%s/bare.html", s->dir);
	assert_int_equal(htmlreport_write(s->dir, path, NULL), 0);
	html = test_read(path);
	assert_non_null(html);
	assert_non_null(strstr(html, "<h2>Calibration of this host</h2>\n<p>None: <code>kvmio "
				     "calibrate</code> has not been run on this host (it keeps its "
				     "last calibration in <code>"));
	free(html);
	/* one that cannot be read: said, with why */
	snprintf(path, sizeof(path), "%s/nostate", s->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/nostate/" CALIB_STATE_FILE, s->dir);
	test_write_file(path, "{\"calibrate\":1}");
	snprintf(path, sizeof(path), "%s/bare.html", s->dir);
	assert_int_equal(htmlreport_write(s->dir, path, NULL), 0);
	html = test_read(path);
	assert_non_null(strstr(html, "<p>The calibration of this host cannot be read: measured: "));
	free(html);
	snprintf(path, sizeof(path), "%s/state", s->dir);
	setenv("KVMIO_STATE_DIR", path, 1);
}

/* Errors: one line on stderr, non-zero. */
static int report_err(const char *dir, const char *gnuplot, char *msg, size_t size)
{
	char errpath[] = "/tmp/kvmio-test-report-err.XXXXXX", out[256];
	int fd = mkstemp(errpath), saved = dup(2), rc;
	FILE *f;

	assert_true(fd >= 0 && saved >= 0);
	if (gnuplot)
		setenv("KVMIO_GNUPLOT", gnuplot, 1);
	fflush(stderr);
	dup2(fd, 2);
	snprintf(out, sizeof(out), "%s/x.html", dir);
	rc = htmlreport_write(dir, out, NULL);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	unsetenv("KVMIO_GNUPLOT");
	f = fopen(errpath, "r");
	msg[0] = '\0';
	if (f) {
		if (!fgets(msg, (int)size, f))
			msg[0] = '\0';
		assert_null(fgets(out, sizeof(out), f)); /* one line */
		fclose(f);
	}
	unlink(errpath);
	return rc;
}

static void test_errors(void **st)
{
	struct state *s = *st;
	char dir[128], msg[512];

	assert_int_not_equal(report_err(s->dir, "/nonexistent/gnuplot", msg, sizeof(msg)), 0);
	assert_non_null(strstr(msg, "gnuplot not found: apt-get install gnuplot-nox"));

	snprintf(dir, sizeof(dir), "%s/empty", s->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_not_equal(report_err(dir, NULL, msg, sizeof(msg)), 0);
	assert_non_null(strstr(msg, "results.csv"));

	assert_int_equal(shell("head -1 %s/results.csv > %s/results.csv", s->dir, dir), 0);
	assert_int_not_equal(report_err(dir, NULL, msg, sizeof(msg)), 0);
	assert_non_null(strstr(msg, "no results"));
	assert_int_not_equal(access(dir, F_OK), -1);

	/* usage */
	{
		char *argv[] = { "-o" };

		assert_int_equal(cmd_report(1, argv), 2);
		assert_int_equal(cmd_report(0, NULL), 2);
	}
}

#define CHROMIUM_FLAGS \
	"--headless --no-sandbox --disable-gpu --disable-quic --no-first-run " \
	"--disable-background-networking --disable-component-update --disable-sync"

/* A real browser parses the page: the DOM has the header and every chart; a screenshot. */
static void test_chromium(void **st)
{
	struct state *s = *st;
	char path[256];
	char *dom, *png;
	struct stat sb;

	if (access(CHROMIUM, X_OK) != 0)
		fail_msg(CHROMIUM " not installed (scripts/install-deps.sh installs chromium)");
	assert_int_equal(shell("mkdir -p %s/profile && timeout 180 " CHROMIUM " " CHROMIUM_FLAGS
			       " --user-data-dir=%s/profile --dump-dom file://%s/out.html "
			       "> %s/dom.html 2>/dev/null", s->dir, s->dir, s->dir, s->dir), 0);
	snprintf(path, sizeof(path), "%s/dom.html", s->dir);
	dom = test_read(path);
	assert_non_null(dom);
	assert_non_null(strstr(dom, "<h1>kvmio report</h1>"));
	assert_non_null(strstr(dom, TCG_SENTENCE));
	assert_int_equal(count(dom, NULL, "<svg"), 3 * 7 + 2 * 2 + NSWEEPS);
	assert_non_null(strstr(dom, "<h2>disk · randread-4k-qd1</h2>"));
	free(dom);

	assert_int_equal(shell("timeout 180 " CHROMIUM " " CHROMIUM_FLAGS
			       " --user-data-dir=%s/profile --screenshot=%s/shot.png "
			       "--window-size=1200,2000 file://%s/out.html >/dev/null 2>&1",
			       s->dir, s->dir, s->dir), 0);
	snprintf(path, sizeof(path), "%s/shot.png", s->dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size > 10000);
	png = test_read(path);
	assert_non_null(png);
	assert_memory_equal(png, "\x89PNG", 4);
	free(png);
	if (getenv("KVMIO_KEEP_SCREENSHOT"))
		shell("cp %s %s", path, getenv("KVMIO_KEEP_SCREENSHOT"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_charts),
		cmocka_unit_test(test_well_formed),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_checks),
		cmocka_unit_test(test_calibration),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_chromium),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
