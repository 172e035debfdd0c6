/*
 * kvmio compare (host/compare.c) on the fixture result directory tests/data/compare
 * (mkfixture.py: IDE vs virtio-blk x irq poll/intx/msix, 5 repeats, IDE+msix skipped, virtio-blk
 * msix noisy, one IDE intx repeat timed out). Expected medians and ratios come from Python's
 * statistics module over the same CSV; the exact U p-values are k/C(n1+n2, n1) counts. The A/B
 * gate (--max-regression) on tests/data/ab (mkfixture.py there).
 * Run from the repository root.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "analysis/compare.h"
#include "helpers.h"

#define FIXTURE "tests/data/compare"
#define AB_SLOWER "tests/data/ab/slower"   /* mkfixture.py there: B 5 % slower, CV 0.5 %, 8 runs */
#define AB_NOISY "tests/data/ab/noisy"     /* B 5 % slower in its median, CV 10 %, 5 runs */
#define assert_near(x, y, eps) assert_true(fabs((x) - (y)) <= (eps))

static int M(const char *name)
{
	int m = metric_index(name);

	assert_true(m >= 0);
	return m;
}

static void pair(const struct cmp_data *d, const char *base, const char *other, const char *wl,
		 const char *metric, struct cmp_result *r)
{
	int b = resultdir_config_index(&d->rd, base), o = resultdir_config_index(&d->rd, other);
	int w = compare_workload_index(d, "disk", wl);

	assert_true(b >= 0 && o >= 0 && w >= 0);
	assert_int_equal(compare_series_pair(compare_series(d, b, w, M(metric)),
					     compare_series(d, o, w, M(metric)), M(metric), r), 0);
}

static void test_load(void **state)
{
	struct cmp_data d;
	char err[512];
	const struct resultdir_config *c;

	(void)state;
	assert_int_equal(compare_load(FIXTURE, &d, err, sizeof(err)), 0);
	assert_int_equal(d.rd.ncfg, 6);
	assert_int_equal(d.nwl, 2);
	assert_int_equal(d.rd.nrows, 50);
	assert_int_equal(d.rd.nrows_failed, 2);   /* c002 r5: exit 3 */
	c = &d.rd.cfg[resultdir_config_index(&d.rd, "c003")];
	assert_string_equal(c->status, "skip");
	assert_string_equal(resultdir_param(c, "irq"), "msix");
	assert_null(resultdir_param(c, "nosuch"));
	assert_int_equal(compare_series(&d, 1, 0, M("p50"))->n, 4);
	assert_int_equal(compare_series(&d, 0, 0, M("p50"))->n, 5);
	assert_null(compare_series(&d, 0, 0, M("frames_s")));   /* empty for disks */
	assert_null(compare_series(&d, 2, 0, M("p50")));        /* skipped */
	compare_free(&d);
	assert_int_equal(compare_load("tests/data/nosuchdir", &d, err, sizeof(err)), 2);
	assert_non_null(strstr(err, "matrix.tsv"));
}

static void test_verdicts(void **state)
{
	struct cmp_data d;
	struct cmp_result r;
	char err[512];

	(void)state;
	assert_int_equal(compare_load(FIXTURE, &d, err, sizeof(err)), 0);
	/* IDE -> virtio-blk, poll: medians 96269 -> 40951, all 5 below all 5: p = 2/252 */
	pair(&d, "c001", "c004", "randread-4k-qd1", "p50", &r);
	assert_near(r.base.median, 96269, 0);
	assert_near(r.other.median, 40951, 0);
	assert_near(r.ratio, 0.42538096375780365, 1e-12);
	assert_true(r.ratio_lo <= r.ratio && r.ratio <= r.ratio_hi);
	assert_near(r.p, 2.0 / 252, 1e-12);
	assert_true(r.exact);
	assert_int_equal(r.verdict, CMP_FASTER);
	assert_false(r.base.noisy || r.other.noisy);
	pair(&d, "c001", "c004", "randread-4k-qd1", "iops", &r);   /* higher is faster */
	assert_near(r.ratio, 2.3508335969819902, 1e-9);
	assert_int_equal(r.verdict, CMP_FASTER);
	pair(&d, "c001", "c004", "randread-4k-qd1", "acc_op", &r);  /* 6 -> 1 */
	assert_int_equal(r.verdict, CMP_FEWER);
	/* poll -> intx on IDE: n 5/4 (the timed-out repeat left out), p = 2/126 */
	pair(&d, "c001", "c002", "read-64k-qd1", "p99", &r);
	assert_int_equal(r.base.n, 5);
	assert_int_equal(r.other.n, 4);
	assert_near(r.p, 2.0 / 126, 1e-12);
	assert_int_equal(r.verdict, CMP_SLOWER);
	pair(&d, "c001", "c002", "read-64k-qd1", "irq_op", &r);
	assert_int_equal(r.verdict, CMP_MORE);
	/* poll -> msix on virtio-blk: noisy (CV 7.98 %), U = 20, p = 2*19/252 */
	pair(&d, "c004", "c006", "randread-4k-qd1", "p50", &r);
	assert_true(r.other.noisy);
	assert_false(r.base.noisy);
	assert_near(r.other.cv, 0.07980277118451795, 1e-9);
	assert_near(r.u, 20, 0);
	assert_near(r.p, 38.0 / 252, 1e-12);
	assert_int_equal(r.verdict, CMP_SAME);
	/* the ratio's bootstrap interval: around the ratio, finite on the noisy side */
	assert_true(isfinite(r.ratio_lo) && isfinite(r.ratio_hi));
	assert_true(r.ratio_lo <= r.ratio && r.ratio <= r.ratio_hi);
	assert_string_equal(compare_verdict_text(r.verdict), "no significant difference");
	compare_free(&d);
}

/* Run compare_command on argv (NULL-terminated); its output in *out (malloc'd). */
static int run(char **out, ...)
{
	char *argv[16], *buf = NULL;
	size_t len = 0;
	int argc = 0, rc;
	FILE *f = open_memstream(&buf, &len);
	va_list ap;

	assert_non_null(f);
	va_start(ap, out);
	for (char *a = va_arg(ap, char *); a && argc < 15; a = va_arg(ap, char *))
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	rc = compare_command(argc, argv, f);
	fclose(f);
	if (out)
		*out = buf;
	else
		free(buf);
	return rc;
}

static void test_cli_output(void **state)
{
	char *o;

	(void)state;
	assert_int_equal(run(&o, FIXTURE, NULL), 0);   /* the per-configuration summary */
	assert_non_null(strstr(o, "c003   skip disk=ide;irq=msix"));
	assert_non_null(strstr(o, "common: accel=tcg;backend=null;bench=disk;machine=pc;sweep=1"));
	assert_non_null(strstr(o, "2 from failed runs left out"));
	assert_non_null(strstr(o, "noisy"));
	free(o);
	assert_int_equal(run(&o, FIXTURE, "--baseline", "disk=ide", "--metric", "p50", NULL), 0);
	assert_non_null(strstr(o, "c004 vs c001 (disk: ide -> virtio-blk)"));
	assert_non_null(strstr(o, "faster"));
	assert_null(strstr(o, "p99"));
	free(o);
	assert_int_equal(run(&o, FIXTURE, "--baseline=irq=poll", NULL), 0);
	assert_non_null(strstr(o, "c003 skipped"));
	assert_non_null(strstr(o, "slower"));
	assert_non_null(strstr(o, "noisy: other"));
	free(o);
	assert_int_equal(run(&o, FIXTURE, "--csv", "--metric", "p50", "c004", "c006", NULL), 0);
	assert_non_null(strstr(o, "bench,name,metric,baseline,other,differs,"));
	assert_non_null(strstr(o, "disk,randread-4k-qd1,p50,c004,c006,irq: poll -> msix,5,5,"
				  "40951,45517,"));
	assert_non_null(strstr(o, ",exact,no significant difference,"));
	free(o);
	assert_int_equal(run(&o, FIXTURE, "--csv", NULL), 0);
	assert_non_null(strstr(o, "config,params,bench,name,metric,n,median,"));
	free(o);
}

static void test_single_repeat(void **state)
{
	char dir[] = "/tmp/kvmio-compare-XXXXXX", path[256], *o;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/matrix.tsv", dir);
	test_write_file(path, "c001\trun\t-\tirq=poll\nc002\trun\t-\tirq=msix\n");
	snprintf(path, sizeof(path), "%s/results.csv", dir);
	test_write_file(path, "config,repeat,exit,params,bench,name,p50,iops\n"
			 "c001,1,0,irq=poll,disk,r,100,10\nc002,1,0,irq=msix,disk,r,50,20\n");
	assert_int_equal(run(&o, dir, "--baseline", "irq=poll", NULL), 0);
	assert_non_null(strstr(o, "n=1: no test"));
	assert_non_null(strstr(o, "0.500"));   /* the ratio is still given */
	free(o);
	snprintf(path, sizeof(path), "%s/results.csv", dir);
	test_write_file(path, "config,repeat,exit,params,bench,name,p50\nc009,1,0,x,disk,r,1\n");
	assert_int_equal(run(NULL, dir, NULL), 2);   /* a config not in matrix.tsv */
	unlink(path);
	snprintf(path, sizeof(path), "%s/matrix.tsv", dir);
	unlink(path);
	rmdir(dir);
}

/* Rows from two accelerator flavours: compare says the difference is not a device model's. */
static void test_flavours(void **state)
{
	char dir[] = "/tmp/kvmio-compare-XXXXXX", path[256], *o;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/matrix.tsv", dir);
	test_write_file(path, "c001\trun\t-\tdisk=ide\nc002\trun\t-\tdisk=virtio-blk\n");
	snprintf(path, sizeof(path), "%s/results.csv", dir);
	test_write_file(path, "config,repeat,exit,params,bench,name,p50,flavour\n"
			 "c001,1,0,disk=ide,disk,r,100,tcg\nc001,2,0,disk=ide,disk,r,101,tcg\n"
			 "c002,1,0,disk=virtio-blk,disk,r,50,\"kvm (kvm_amd, hardware SVM, bare "
			 "metal)\"\nc002,2,0,disk=virtio-blk,disk,r,51,\"kvm (kvm_amd, hardware "
			 "SVM, bare metal)\"\n");
	assert_int_equal(run(&o, dir, "--baseline", "disk=ide", NULL), 0);
	assert_non_null(strstr(o, "note: accelerator flavours differ (base: tcg; other: kvm "
				  "(kvm_amd, hardware SVM, bare metal)): this difference is not a "
				  "device-model difference"));
	assert_non_null(strstr(o, "c002   run  disk=virtio-blk  [kvm (kvm_amd"));
	free(o);
	/* one flavour: named once, no note */
	test_write_file(path, "config,repeat,exit,params,bench,name,p50,flavour\n"
			 "c001,1,0,disk=ide,disk,r,100,tcg\nc002,1,0,disk=virtio-blk,disk,r,50,tcg\n");
	assert_int_equal(run(&o, dir, "--baseline", "disk=ide", NULL), 0);
	assert_non_null(strstr(o, "  accelerator: tcg\n"));
	assert_null(strstr(o, "note: accelerator flavours differ"));
	free(o);
	unlink(path);
	snprintf(path, sizeof(path), "%s/matrix.tsv", dir);
	unlink(path);
	rmdir(dir);
}

static int count(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static void test_gate(void **state)
{
	char *o;

	(void)state;
	/* B (c002) 5 % below A in IOPS with CV 0.5 %: a regression beyond 3 %, not beyond 10 % */
	assert_int_equal(run(&o, AB_SLOWER, "c001", "c002", "--max-regression", "3", NULL),
			 KVMIO_EXIT_REGRESSION);
	assert_non_null(strstr(o, "gate: B slower than A by more than 3 % on the primary metric, "
			       "U test p < 0.01\n"));
	assert_non_null(strstr(o, "  REGRESSION c002 vs c001 (irq: poll -> msix): disk "
			       "randread-4k-qd1 iops ratio 0.9"));
	assert_non_null(strstr(o, "p 0.0002: "));   /* 2/C(16,8) */
	assert_non_null(strstr(o, "gate: 1 regression in 1 comparison\n"));
	free(o);
	assert_int_equal(run(&o, AB_SLOWER, "c001", "c002", "--max-regression", "10", NULL), 0);
	assert_non_null(strstr(o, "gate: 0 regressions in 1 comparison\n"));
	assert_null(strstr(o, "REGRESSION"));
	free(o);
	/* the other way round B is faster: nothing to report */
	assert_int_equal(run(&o, AB_SLOWER, "c002", "c001", "--max-regression", "3", NULL), 0);
	assert_null(strstr(o, "REGRESSION"));
	free(o);
	/* every pair against irq=poll: c002 regresses, c003 (4 % faster) does not */
	assert_int_equal(run(&o, AB_SLOWER, "--baseline", "irq=poll", "--max-regression=3", NULL),
			 KVMIO_EXIT_REGRESSION);
	assert_int_equal(count(o, "REGRESSION"), 1);
	assert_non_null(strstr(o, "REGRESSION c002 vs c001"));
	assert_non_null(strstr(o, "gate: 1 regression in 2 comparisons\n"));
	free(o);
	/* --csv: the CSV stays whole (the gate's lines go to stderr), the exit status is the same */
	assert_int_equal(run(&o, AB_SLOWER, "--csv", "c001", "c002", "--max-regression", "3", NULL),
			 KVMIO_EXIT_REGRESSION);
	assert_null(strstr(o, "gate:"));
	assert_non_null(strstr(o, "bench,name,metric,baseline,other,"));
	free(o);
	/* noisy (CV 10 %): the median is 5 % lower, but not significantly */
	assert_int_equal(run(&o, AB_NOISY, "c001", "c002", "--max-regression", "3", NULL), 0);
	assert_null(strstr(o, "REGRESSION"));
	assert_non_null(strstr(o, "gate: 0 regressions in 1 comparison\n"));
	free(o);
	/* 5 runs against 4 cannot reach p < 0.01: said, not passed over in silence */
	assert_int_equal(run(&o, FIXTURE, "c001", "c002", "--max-regression", "3", NULL), 0);
	assert_non_null(strstr(o, "untestable c002 vs c001 (irq: poll -> intx): disk "
			       "randread-4k-qd1 iops: n=5/4, the U test cannot reach p < 0.01"));
	free(o);
}

/* Latency (p50 of bench=exits): higher is slower. */
static void test_gate_latency(void **state)
{
	char dir[] = "/tmp/kvmio-compare-XXXXXX", path[256], *o, *csv = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/matrix.tsv", dir);
	test_write_file(path, "c001\trun\t-\tbench=exits;machine=pc\n"
			 "c002\trun\t-\tbench=exits;machine=q35\n");
	f = open_memstream(&csv, &len);
	assert_non_null(f);
	fprintf(f, "config,repeat,exit,params,bench,name,p50\n");
	for (int r = 1; r <= 6; r++) {
		fprintf(f, "c001,%d,0,bench=exits;machine=pc,exits,cpuid,%d\n", r, 100 + r);
		fprintf(f, "c002,%d,0,bench=exits;machine=q35,exits,cpuid,%d\n", r, 110 + r);
	}
	fclose(f);
	snprintf(path, sizeof(path), "%s/results.csv", dir);
	test_write_file(path, csv);
	free(csv);
	/* q35 takes 9.7 % more cycles (medians 113.5 and 103.5): beyond 5 %, not beyond 15 %;
	 * pc against q35 is faster */
	assert_int_equal(run(&o, dir, "c001", "c002", "--max-regression", "5", NULL),
			 KVMIO_EXIT_REGRESSION);
	assert_non_null(strstr(o, "REGRESSION c002 vs c001 (machine: pc -> q35): exits cpuid p50 "
			       "ratio 1.097"));
	assert_non_null(strstr(o, "9.7 % slower (limit 5 %)"));
	free(o);
	assert_int_equal(run(NULL, dir, "c001", "c002", "--max-regression", "15", NULL), 0);
	assert_int_equal(run(NULL, dir, "c002", "c001", "--max-regression", "0", NULL), 0);
	unlink(path);
	snprintf(path, sizeof(path), "%s/matrix.tsv", dir);
	unlink(path);
	rmdir(dir);
}

static void test_usage(void **state)
{
	(void)state;
	assert_int_equal(run(NULL, NULL), 2);
	assert_int_equal(run(NULL, "tests/data/nosuchdir", NULL), 2);
	assert_int_equal(run(NULL, FIXTURE, "--baseline", "nokey=x", NULL), 2);
	assert_int_equal(run(NULL, FIXTURE, "--baseline", "irq=nosuch", NULL), 2);
	assert_int_equal(run(NULL, FIXTURE, "--baseline", "irq", NULL), 2);
	assert_int_equal(run(NULL, FIXTURE, "--baseline", NULL), 2);
	assert_int_equal(run(NULL, FIXTURE, "--metric", "nosuch", NULL), 2);
	assert_int_equal(run(NULL, FIXTURE, "c001", "c999", NULL), 2);
	assert_int_equal(run(NULL, FIXTURE, "c001", NULL), 2);
	assert_int_equal(run(NULL, FIXTURE, "--baseline", "irq=poll", "c001", "c002", NULL), 2);
	assert_int_equal(run(NULL, FIXTURE, "--bogus", NULL), 2);
	assert_int_equal(run(NULL, FIXTURE, "--max-regression", "3", NULL), 2);   /* no pair */
	assert_int_equal(run(NULL, FIXTURE, "c001", "c004", "--max-regression", "x", NULL), 2);
	assert_int_equal(run(NULL, FIXTURE, "c001", "c004", "--max-regression", "-1", NULL), 2);
	assert_int_equal(run(NULL, FIXTURE, "c001", "c004", "--max-regression", NULL), 2);
	/* a valid key/value without a matching pair is not an error */
	assert_int_equal(run(NULL, FIXTURE, "--baseline", "accel=tcg", NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_cli_output),
		cmocka_unit_test(test_single_repeat),
		cmocka_unit_test(test_flavours),
		cmocka_unit_test(test_gate),
		cmocka_unit_test(test_gate_latency),
		cmocka_unit_test(test_usage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
