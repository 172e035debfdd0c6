/*
 * `build/kvmio run` end to end on a real guest: tests/data/job-tiny.ini (2 configurations x 2
 * repeats, null-co, ops=200). Ctrl-C in the middle, then --resume; --dry-run; the result
 * directory; --until-cv and --pin; kvmio compare and kvmio report on it. Run from the repository root.
 */
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "boot/launch.h"
#include "lib/csv.h"
#include "lib/file.h"
#include "helpers.h"

#define JOB "tests/data/job-tiny.ini"

static char dir[256], out_path[512], err_path[512], res[512];

static int exists(const char *fmt, ...)
{
	char path[1024];
	struct stat st;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return stat(path, &st) == 0;
}

static int count_lines(const char *text, const char *prefix)
{
	int n = 0;

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, prefix, strlen(prefix)))
			n++;
	return n;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/kvmio-test-run-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(out_path, sizeof(out_path), "%s/out", dir);
	snprintf(err_path, sizeof(err_path), "%s/err", dir);
	snprintf(res, sizeof(res), "%s/res", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dir_remove_tree(dir);
	return 0;
}

/* The first CPU this process may run on, as text (CPU 0 on most hosts). */
static const char *first_cpu(void)
{
	static char text[16];
	cpu_set_t set;
	int c = 0;

	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	while (!CPU_ISSET(c, &set))
		c++;
	snprintf(text, sizeof(text), "%d", c);
	return text;
}

static void test_dry_run(void **state)
{
	char *out;

	(void)state;
	assert_int_equal(test_kvmio_split(out_path, err_path, "run", JOB, "-o", res, "--dry-run", NULL), 0);
	out = test_slurp(out_path);
	assert_non_null(strstr(out, "2 configurations (2 run, 0 skip), 4 runs"));
	assert_non_null(strstr(out, "c001\trun\t-\tbackend=null;bench=disk;disk=ide;ops=200;"
			       "rw=randread\n"));
	assert_non_null(strstr(out, "kvmio boot --timeout 60 --disk virtio-blk,backend=null -- "
			       "bench=disk rw=randread ops=200"));
	assert_false(exists("%s", res)); /* nothing made, nothing run */
	free(out);
	/* job file errors: FILE:LINE, exit 2 */
	assert_int_equal(test_kvmio_split(out_path, err_path, "run", "tests/data/job-unknown-key.ini", "--dry-run", NULL), 2);
	out = test_slurp(err_path);
	assert_non_null(strstr(out, "job-unknown-key.ini:7: unknown key 'bogus'"));
	free(out);
	assert_int_equal(test_kvmio_split(out_path, err_path, "run", JOB, "--jobs", "0", NULL), 2);
	/* --pin: a CPU kvmio may not run on is refused before anything runs; a good list is
	 * passed to every kvmio boot */
	assert_int_equal(test_kvmio_split(out_path, err_path, "run", JOB, "-o", res, "--pin",
					  "1023", NULL), 2);
	assert_non_null(strstr(test_output(err_path), "run: --pin: CPU 1023 is not one kvmio may "
			       "run on"));
	assert_false(exists("%s", res));
	assert_int_equal(test_kvmio_split(out_path, err_path, "run", JOB, "-o", res, "--pin",
					  first_cpu(), "--dry-run", NULL), 0);
	out = test_slurp(out_path);
	assert_non_null(strstr(out, "# every kvmio boot with --pin="));
	free(out);
	/* the job's own pin= and --pin: one or the other, refused before anything runs */
	assert_int_equal(test_kvmio_split(out_path, err_path, "run", "jobs/spread.ini", "-o", res,
					  "--pin", first_cpu(), NULL), 2);
	assert_non_null(strstr(test_output(err_path), "run: --pin with a job that sets pin="));
	assert_false(exists("%s", res));
	assert_int_equal(test_kvmio_split(out_path, err_path, "run", NULL), 2);
}

static long long mtime_ns(const char *fmt, ...)
{
	char path[1024];
	struct stat st;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (stat(path, &st) != 0)
		return -1;
	return (long long)st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec;
}

/* Every row's derived figures against their sources: the latency less one timestamp lies just
 * under the latency, the host's TSC is recorded beside the guest's with the error between. */
static void check_row_figures(const char *csv_text)
{
	char *text = strdup(csv_text), *p = text, *h[64], *f[64];
	int nh = csv_next_record(&p, h, 64), rows = 0;
	int k_p50 = -1, k_p99 = -1, k_n50 = -1, k_n99 = -1, k_hz = -1, k_host = -1, k_ppm = -1;
	int k_lost = -1, k_work = -1, k_disk = -1;

	for (int i = 0; i < nh; i++) {
		k_p50 = !strcmp(h[i], "p50_ns") ? i : k_p50;
		k_p99 = !strcmp(h[i], "p99_ns") ? i : k_p99;
		k_n50 = !strcmp(h[i], "p50_net_ns") ? i : k_n50;
		k_n99 = !strcmp(h[i], "p99_net_ns") ? i : k_n99;
		k_hz = !strcmp(h[i], "tsc_hz") ? i : k_hz;
		k_host = !strcmp(h[i], "host_tsc_hz") ? i : k_host;
		k_ppm = !strcmp(h[i], "tsc_error_ppm") ? i : k_ppm;
		k_lost = !strcmp(h[i], "host_lost_pct") ? i : k_lost;
		k_work = !strcmp(h[i], "host_work_ns") ? i : k_work;
		k_disk = !strcmp(h[i], "host_disk_ns") ? i : k_disk;
	}
	assert_true(k_p50 >= 0 && k_p99 >= 0 && k_n50 >= 0 && k_n99 >= 0 && k_hz >= 0 &&
		    k_host >= 0 && k_ppm >= 0 && k_lost >= 0 && k_work >= 0 && k_disk >= 0);
	while (csv_next_record(&p, f, 64) == nh) {
		double p50 = atof(f[k_p50]), n50 = atof(f[k_n50]), p99 = atof(f[k_p99]);
		double n99 = atof(f[k_n99]), ghz = atof(f[k_hz]), hhz = atof(f[k_host]);

		assert_true(n50 < p50 && p50 - n50 < 2000);
		assert_true(n99 < p99 && p99 - n99 < 2000);
		assert_true(hhz > 1e8);
		assert_true(fabs(atof(f[k_ppm]) - (ghz - hhz) * 1e6 / hhz) < 1);
		/* the noise probe before the run: a share, present on every row */
		assert_true(f[k_lost][0] != '\0');
		assert_true(atof(f[k_lost]) >= 0 && atof(f[k_lost]) <= 100);
		/* and the CPUs' speed in it: a time per block of work, present on every row */
		assert_true(f[k_work][0] != '\0' && atof(f[k_work]) > 0);
		/* no image (backend=null): no storage probe, an empty figure, not a zero */
		assert_string_equal(f[k_disk], "");
		rows++;
	}
	assert_true(rows > 0);
	free(text);
}

static void check_complete(void)
{
	char path[600], *csv, *tsv, *json;

	for (int c = 1; c <= 2; c++)
		for (int r = 1; r <= 2; r++) {
			char *e;

			snprintf(path, sizeof(path), "%s/runs/c%03d/r%d/exit", res, c, r);
			e = test_slurp(path);
			assert_string_equal(e, "0\n");
			free(e);
			assert_true(exists("%s/runs/c%03d/r%d/serial.log", res, c, r));
			assert_true(exists("%s/runs/c%03d/r%d/cmd.txt", res, c, r));
			/* the host's noise before it: the share, then a line per CPU */
			snprintf(path, sizeof(path), "%s/runs/c%03d/r%d/host_noise", res, c, r);
			e = test_slurp(path);
			assert_non_null(strstr(e, "\ncpu "));
			assert_non_null(strstr(e, " gaps over 10 us ("));
			free(e);
			/* the accelerator flavour the run had, on its rows too */
			snprintf(path, sizeof(path), "%s/runs/c%03d/r%d/flavour", res, c, r);
			e = test_slurp(path);
			assert_true(!strcmp(e, "tcg\n") || !strncmp(e, "kvm (", 5));
			free(e);
		}
	snprintf(path, sizeof(path), "%s/results.csv", res);
	csv = test_slurp(path);
	assert_int_equal(strncmp(csv, "config,repeat,exit,params,bench,name,ops,total,min,p50,p90,"
				 "p99,p999,max,mean,tsc_hz,accel,iops,mbps,frames_s,gbps,acc_op,"
				 "irq_op,harness,p50_ns,p99_ns,lost,corrupt,flavour,drift_pct,p50_net_ns,"
				 "p99_net_ns,qemu,qemu_version,qemu_build,host_tsc_hz,tsc_error_ppm,host_lost_pct,"
				 "host_work_ns,host_disk_ns,host,host_flavour,host_cpu,host_qemu_version\n",
				 strlen("config,repeat,exit,params,bench,name,ops,total,min,p50,p90,"
				 "p99,p999,max,mean,tsc_hz,accel,iops,mbps,frames_s,gbps,acc_op,"
				 "irq_op,harness,p50_ns,p99_ns,lost,corrupt,flavour,drift_pct,p50_net_ns,"
				 "p99_net_ns,qemu,qemu_version,qemu_build,host_tsc_hz,tsc_error_ppm,host_lost_pct,"
				 "host_work_ns,host_disk_ns,host,host_flavour,host_cpu,host_qemu_version\n")), 0);
	check_row_figures(csv);
	assert_int_equal(count_lines(csv, "c001,1,0,\"backend=null;bench=disk;disk=ide;ops=200;"
				     "rw=randread\",disk,randread-4k-qd1,200,"), 1);
	assert_int_equal(count_lines(csv, "c001,2,0,"), 1);
	assert_int_equal(count_lines(csv, "c002,1,0,"), 1);
	assert_int_equal(count_lines(csv, "c002,2,0,"), 1);
	assert_int_equal(count_lines(csv, "c0"), 4);
	snprintf(path, sizeof(path), "%s/matrix.tsv", res);
	tsv = test_slurp(path);
	assert_string_equal(tsv, "c001\trun\t-\tbackend=null;bench=disk;disk=ide;ops=200;"
			    "rw=randread\n"
			    "c002\trun\t-\tbackend=null;bench=disk;disk=virtio-blk;ops=200;"
			    "rw=randread\n");
	snprintf(path, sizeof(path), "%s/results.json", res);
	json = test_slurp(path);
	assert_non_null(strstr(json, "{\"job\":"));
	assert_non_null(strstr(json, "\"id\":\"c002\""));
	assert_non_null(strstr(json, "\"repeat\":2,\"exit\":0"));
	assert_true(exists("%s/job.ini", res));
	free(csv);
	free(tsv);
	free(json);
}

static void test_end_to_end(void **state)
{
	long long t;
	char *err;

	(void)state;
	dir_remove_tree(res);
	assert_int_equal(test_kvmio_split(out_path, err_path, "run", JOB, "-o", res, NULL), 0);
	check_complete();
	err = test_slurp(err_path);
	assert_non_null(strstr(err, "run 4/4 c002 r2: ok ("));
	free(err);
	/* the directory holds a run: without --resume, refused */
	assert_int_equal(test_kvmio_split(out_path, err_path, "run", JOB, "-o", res, NULL), 2);
	/* --resume with everything done: nothing runs again */
	t = mtime_ns("%s/runs/c001/r1/serial.log", res);
	assert_int_equal(test_kvmio_split(out_path, err_path, "run", JOB, "-o", res, "--resume", NULL), 0);
	assert_true(mtime_ns("%s/runs/c001/r1/serial.log", res) == t);
	check_complete();
}

static void test_interrupt_resume(void **state)
{
	char *argv[] = { (char *)test_kvmio_bin(), "run", JOB, "-o", res, NULL };
	long long before[2][2];
	int done = 0, rc;
	pid_t pid;

	(void)state;
	dir_remove_tree(res);
	pid = test_spawn(argv, out_path, err_path);
	for (int k = 0; k < 60000 && !exists("%s/runs/c001/r1/exit", res); k++)
		usleep(1000);
	assert_true(exists("%s/runs/c001/r1/exit", res));
	kill(pid, SIGINT);
	rc = test_wait(pid);
	assert_int_equal(rc, 130);
	for (int c = 0; c < 2; c++)
		for (int r = 0; r < 2; r++) {
			int fin = exists("%s/runs/c%03d/r%d/exit", res, c + 1, r + 1);

			before[c][r] = fin ? mtime_ns("%s/runs/c%03d/r%d/serial.log", res, c + 1,
						      r + 1) : -1;
			done += fin;
		}
	assert_true(done >= 1 && done < 4);
	assert_true(before[0][0] > 0);
	assert_true(exists("%s/results.csv", res)); /* written for what is done */
	{
		char path[600], *csv;

		snprintf(path, sizeof(path), "%s/results.csv", res);
		csv = test_slurp(path);
		assert_int_equal(count_lines(csv, "c0"), done);
		free(csv);
	}
	/* a different job file in the same directory: refused */
	{
		char copy[600];
		FILE *f;
		char *text = test_slurp(JOB);

		snprintf(copy, sizeof(copy), "%s/other.ini", dir);
		f = fopen(copy, "w");
		assert_non_null(f);
		fprintf(f, "%s; changed\n", text);
		fclose(f);
		free(text);
		assert_int_equal(test_kvmio_split(out_path, err_path, "run", copy, "-o", res, "--resume", NULL), 2);
	}
	assert_int_equal(test_kvmio_split(out_path, err_path, "run", JOB, "-o", res, "--resume", NULL), 0);
	check_complete();
	for (int c = 0; c < 2; c++)
		for (int r = 0; r < 2; r++)
			if (before[c][r] > 0) /* finished before Ctrl-C: not run again */
				assert_true(mtime_ns("%s/runs/c%03d/r%d/serial.log", res, c + 1,
						     r + 1) == before[c][r]);
}

/* --until-cv: more runs, a round at a time, until the primary metric's CV is at most the
 * target or --max-repeat runs; the closing line and results.json say how it went. */
static void test_until_cv(void **state)
{
	char *err, *json, path[600];

	(void)state;
	/* usage errors, before anything runs */
	assert_int_equal(test_kvmio_split(out_path, err_path, "run", JOB, "-o", res, "--until-cv",
					  "5", NULL), 2);
	assert_non_null(strstr(test_output(err_path), "--until-cv and --max-repeat go together"));
	assert_int_equal(test_kvmio_split(out_path, err_path, "run", JOB, "-o", res, "--until-cv",
					  "0", "--max-repeat", "3", NULL), 2);
	assert_int_equal(test_kvmio_split(out_path, err_path, "run", JOB, "-o", res, "--until-cv",
					  "x", "--max-repeat", "3", NULL), 2);
	assert_int_equal(test_kvmio_split(out_path, err_path, "run", JOB, "-o", res, "--until-cv",
					  "5", "--max-repeat", "1", NULL), 2);   /* below repeat=2 */
	assert_non_null(strstr(test_output(err_path), "--max-repeat 1 is below the 2 repeats of "
			       "c001"));
	assert_int_equal(test_kvmio_split(out_path, err_path, "run", JOB, "-o", res, "--until-cv",
					  "5", "--max-repeat", "3", "--dry-run", NULL), 0);
	assert_non_null(strstr(test_output(out_path), "above 5 %, up to 3 runs each"));

	/* a target met at once stops at the configured repeats. (The brief's 100 % is not safe:
	 * two positive values have a CV of up to sqrt(2) = 141 %, and 200-op null-co runs under
	 * TCG on a busy host differ by 5x; 150 % is met by any two positive values.) */
	dir_remove_tree(res);
	assert_int_equal(test_kvmio_split(out_path, err_path, "run", JOB, "-o", res, "--until-cv",
					  "150", "--max-repeat", "3", "--pin", first_cpu(), NULL), 0);
	/* --pin reached every run: its kvmio boot line and its launch info */
	snprintf(path, sizeof(path), "%s/runs/c002/r2/cmd.txt", res);
	assert_non_null(strstr(test_output(path), " --pin="));
	snprintf(path, sizeof(path), "%s/runs/c002/r2/stdout.txt", res);
	assert_non_null(strstr(test_output(path), "\npinned:       CPU 0/"));
	assert_true(exists("%s/runs/c001/r2/exit", res) && exists("%s/runs/c002/r2/exit", res));
	assert_false(exists("%s/runs/c001/r3", res) || exists("%s/runs/c002/r3", res));
	err = test_slurp(err_path);
	assert_non_null(strstr(err, "kvmio: run: 4 runs (0 failed) in "));
	assert_non_null(strstr(err, "; until cv <= 150 % (at most 3 runs): c001 2 repeats (cv "));
	assert_null(strstr(err, "not reached"));
	assert_non_null(strstr(err, ", reached), c002 2 repeats (cv "));
	assert_non_null(strstr(strstr(err, "c002 2 repeats"), ", reached)\n"));
	free(err);
	snprintf(path, sizeof(path), "%s/results.json", res);
	json = test_slurp(path);
	assert_non_null(strstr(json, "\"until_cv\":{\"target_pct\":150,\"max_repeat\":3,"
			       "\"repeats\":2,\"values\":2,\"cv_pct\":"));
	assert_null(strstr(json, "\"reached\":false"));
	free(json);

	/* a target no run meets: every configuration runs --max-repeat times, in rounds (r3 of
	 * c001, then r3 of c002), and the target is reported not reached */
	dir_remove_tree(res);
	assert_int_equal(test_kvmio_split(out_path, err_path, "run", JOB, "-o", res, "--until-cv",
					  "0.0001", "--max-repeat", "3", NULL), 0);
	assert_true(exists("%s/runs/c001/r3/exit", res) && exists("%s/runs/c002/r3/exit", res));
	assert_false(exists("%s/runs/c001/r4", res) || exists("%s/runs/c002/r4", res));
	err = test_slurp(err_path);
	assert_non_null(strstr(err, "run 5/6 c001 r3: ok ("));
	assert_non_null(strstr(err, "run 6/6 c002 r3: ok ("));
	assert_non_null(strstr(err, "kvmio: run: 6 runs (0 failed) in "));
	assert_non_null(strstr(err, "; until cv <= 0.0001 % (at most 3 runs): c001 3 repeats (cv "));
	assert_non_null(strstr(err, ", not reached), c002 3 repeats (cv "));
	assert_non_null(strstr(strstr(err, "c002 3 repeats"), ", not reached)\n"));
	free(err);
	json = test_slurp(path);
	assert_non_null(strstr(json, "\"until_cv\":{\"target_pct\":0.0001,\"max_repeat\":3,"
			       "\"repeats\":3,\"values\":3,\"cv_pct\":"));
	assert_null(strstr(json, "\"reached\":true"));
	assert_non_null(strstr(json, "\"repeat\":3,\"exit\":0"));
	free(json);
	snprintf(path, sizeof(path), "%s/results.csv", res);
	json = test_slurp(path);
	assert_int_equal(count_lines(json, "c001,3,0,"), 1);
	assert_int_equal(count_lines(json, "c002,3,0,"), 1);
	free(json);
}

/* kvmio compare and kvmio report on the result directory, when this build has them. */
static void test_compare_report(void **state)
{
	char *help;

	(void)state;
	if (!exists("%s/results.csv", res)) {
		dir_remove_tree(res);
		assert_int_equal(test_kvmio_split(out_path, err_path, "run", JOB, "-o", res, NULL), 0);
	}
	assert_int_equal(test_kvmio_split(out_path, err_path, "help", NULL), 0);
	help = test_slurp(out_path);
	if (strstr(help, "kvmio compare"))
		assert_int_equal(test_kvmio_split(out_path, err_path, "compare", res, NULL), 0);
	else
		printf("# kvmio compare not in this build: skipped\n");
	if (strstr(help, "kvmio report")) {
		assert_int_equal(test_kvmio_split(out_path, err_path, "report", res, NULL), 0);
		assert_true(exists("%s/report.html", res));
	} else {
		printf("# kvmio report not in this build: skipped\n");
	}
	free(help);
}

/* A job with an image the runner makes (backend = file, raw-full): the image is made once and
 * written through (no hole, no unwritten extent), and before each run the storage under it is
 * probed: runs/ID/rN/host_storage holds the median read and the probe's figures, results.csv's
 * host_disk_ns the median. Where the temp directory's file system has no direct I/O the probe
 * is refused with a warning and the figure stays empty (never a made-up one). */
static void test_image_storage_probe(void **state)
{
	char job[600], img[700], path[700], *e, *csv, *p, *h[64], *f[64];
	int direct, fd, nh, k_disk = -1, rows = 0;
	struct stat st;
	FILE *fp;

	(void)state;
	dir_remove_tree(res);
	snprintf(job, sizeof(job), "%s/img.ini", dir);
	fp = fopen(job, "w");
	assert_non_null(fp);
	fputs("[global]\nrepeat = 2\n\n[disk]\ndisk = virtio-blk\nbackend = file\n"
	      "format = raw-full\ndisk_size = 4M\nbench = disk\nrw = randread\nops = 200\n", fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(test_kvmio_split(out_path, err_path, "run", job, "-o", res, NULL), 0);
	snprintf(img, sizeof(img), "%s/images/raw-full-4M.img", res);
	assert_int_equal(stat(img, &st), 0);
	assert_int_equal(st.st_size, 4 << 20);
	assert_true((long long)st.st_blocks * 512 >= 4 << 20); /* written, every block */
	fd = open(img, O_RDONLY | O_DIRECT);
	direct = fd >= 0;
	if (fd >= 0)
		close(fd);
	snprintf(path, sizeof(path), "%s/results.csv", res);
	csv = test_slurp(path);
	p = csv;
	nh = csv_next_record(&p, h, 64);
	for (int i = 0; i < nh; i++)
		k_disk = !strcmp(h[i], "host_disk_ns") ? i : k_disk;
	assert_true(k_disk >= 0);
	while (csv_next_record(&p, f, 64) == nh) {
		if (direct)
			assert_true(atof(f[k_disk]) > 0);
		else
			assert_string_equal(f[k_disk], "");
		rows++;
	}
	assert_int_equal(rows, 2);
	free(csv);
	for (int r = 1; r <= 2; r++) {
		snprintf(path, sizeof(path), "%s/runs/c001/r%d/host_storage", res, r);
		if (!direct) {
			assert_false(exists("%s", path));
			continue;
		}
		e = test_slurp(path);
		assert_true(atof(e) > 0);
		assert_non_null(strstr(e, "raw-full-4M.img: 256 reads of 4096 bytes: median "));
		free(e);
	}
	if (!direct) {
		e = test_slurp(err_path);
		assert_non_null(strstr(e, "no storage probe: "));
		assert_non_null(strstr(e, "no direct I/O"));
		free(e);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dry_run),
		cmocka_unit_test(test_end_to_end),
		cmocka_unit_test(test_image_storage_probe),
		cmocka_unit_test(test_interrupt_resume),
		cmocka_unit_test(test_until_cv),
		cmocka_unit_test(test_compare_report),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
