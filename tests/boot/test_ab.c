/*
 * The A/B loop end to end on a real guest under TCG: two QEMU "builds" made from the installed
 * binary (scripts/qemu-ab-wrapper: virtio-blk queue-size 128, so the second build really
 * differs: the guest sees queue_depth 42 instead of 85) on a job's qemu axis, through kvmio run
 * (interleaved) and kvmio compare --baseline qemu=old; prop.NAME=VALUE reaching the device; a
 * property typo and a missing binary refused before anything runs. Run from the repository root.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "boot/qemubin.h"
#include "lib/file.h"
#include "lib/proc.h"
#include "helpers.h"

#define WRAPPER "scripts/qemu-ab-wrapper"

static char res[512], job[512];
static char qemu[PATH_MAX], wrapper[PATH_MAX];

static int setup(void **state)
{
	if (test_dir_setup(state) != 0 || path_search("qemu-system-x86_64", qemu, sizeof(qemu)) != 0 ||
	    !realpath(WRAPPER, wrapper))
		return -1;
	snprintf(res, sizeof(res), "%s/res", test_dir);
	snprintf(job, sizeof(job), "%s/ab.ini", test_dir);
	unsetenv("KVMIO_QEMU");
	return 0;
}

/* The disk record's queue_depth in a run's serial log. */
static int queue_depth(const char *id, int repeat)
{
	char path[1024];
	const char *log, *q;

	snprintf(path, sizeof(path), "%s/runs/%s/r%d/serial.log", res, id, repeat);
	log = test_output(path);
	q = strstr(log, " disk seq=");
	q = q ? strstr(q, " queue_depth=") : NULL;
	assert_non_null(q);
	return atoi(q + 13);
}

static void test_two_builds(void **state)
{
	char text[3 * PATH_MAX], want[1024], hex[QEMUBIN_SHA256_HEX + 1];
	const char *out;
	char *csv;
	int rows_old = 0, rows_new = 0;

	(void)state;
	snprintf(text, sizeof(text), "[ab]\nqemu = old:%s, new:%s\naccel = tcg\ndisk = virtio-blk\n"
		 "backend = null\nbench = disk\nrw = randread\nops = 100\nrepeat = 2\n"
		 "timeout = 120\n", qemu, wrapper);
	test_write_file(job, text);
	/* the plan: old and new take turns */
	assert_int_equal(test_kvmio_split(test_out_path, test_err_path, "run", job, "-o", res, "--dry-run",
					  NULL), 0);
	out = test_output(test_out_path);
	assert_non_null(strstr(out, "# plan: c001/r1 c002/r1 c001/r2 c002/r2\n"));
	assert_non_null(strstr(out, "# qemu new = "));
	assert_int_equal(test_kvmio_split(test_out_path, test_err_path, "run", job, "-o", res, "--order",
					  "grouped", "--dry-run", NULL), 0);
	assert_non_null(strstr(test_output(test_out_path), "# plan: c001/r1 c001/r2 c002/r1 c002/r2\n"));

	assert_int_equal(test_kvmio_split(test_out_path, test_err_path, "run", job, "-o", res, NULL), 0);
	/* the second build really differs, where the guest can see it */
	assert_int_equal(queue_depth("c001", 1), 85);
	assert_int_equal(queue_depth("c002", 1), 42);
	assert_int_equal(queue_depth("c002", 2), 42);
	/* every row names its binary, version and build id */
	snprintf(want, sizeof(want), "%s/results.csv", res);
	csv = test_slurp(want);
	for (const char *l = csv; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		size_t n = strcspn(l, "\n");
		char *line = strndup(l, n);

		if (!strncmp(line, "c001,", 5)) {
			rows_old++;
			assert_int_equal(qemubin_sha256_file(qemu, hex), 0);
			assert_non_null(strstr(line, hex));
			assert_non_null(strstr(line, qemu));
		} else if (!strncmp(line, "c002,", 5)) {
			rows_new++;
			assert_int_equal(qemubin_sha256_file(wrapper, hex), 0);
			assert_non_null(strstr(line, hex));
			assert_non_null(strstr(line, ";qemu=new;"));
		}
		if (!strncmp(line, "c00", 3))
			assert_non_null(strstr(line, qemubin_probe(qemu)->version));
		free(line);
	}
	free(csv);
	assert_int_equal(rows_old, 2);
	assert_int_equal(rows_new, 2);
	/* the verdict: new/old per configuration, with its interval and U test */
	assert_int_equal(test_kvmio_split(test_out_path, test_err_path, "compare", res, "--baseline",
					  "qemu=old", NULL), 0);
	out = test_output(test_out_path);
	assert_non_null(strstr(out, "c002 vs c001 (qemu: old -> new)"));
	assert_non_null(strstr(out, "  qemu: old = "));
	assert_non_null(strstr(out, "    iops "));
	/* two runs a side cannot pass the gate's p < 0.01: said, and not a regression */
	assert_int_equal(test_kvmio_split(test_out_path, test_err_path, "compare", res, "--baseline",
					  "qemu=old", "--max-regression", "3", NULL), 0);
	assert_non_null(strstr(test_output(test_out_path), "untestable c002 vs c001"));
}

static void test_prop_reaches_device(void **state)
{
	(void)state;
	/* 64 descriptors, three per request: 21 requests in flight at most (85 by default) */
	snprintf(job, sizeof(job), "%s/prop.log", test_dir);
	assert_int_equal(test_kvmio_split(test_out_path, test_err_path, "boot", "--accel", "tcg", "--qemu",
					  qemu, "--disk", "virtio-blk,prop.queue-size=64", "--log",
					  job, "--", "bench=disk", "ops=50", NULL), 0);
	assert_non_null(strstr(test_output(job), " queue_depth=21 "));
}

static void test_refusals(void **state)
{
	char text[2 * PATH_MAX];
	const char *e;

	(void)state;
	/* a typo: exit 2 before QEMU starts, the valid names in the one line */
	assert_int_equal(test_kvmio_split(test_out_path, test_err_path, "boot", "--accel", "tcg", "--disk",
					  "virtio-blk,prop.queue-sise=1024", "--", "bench=disk", NULL),
			 2);
	e = test_output(test_err_path);
	assert_non_null(strstr(e, "kvmio: boot: --disk: virtio-blk-pci has no property "
			       "'queue-sise' (valid: "));
	assert_non_null(strstr(e, " queue-size "));
	assert_int_equal(strchr(e, '\n') - e + 1, (long)strlen(e));
	assert_int_equal(test_kvmio_split(test_out_path, test_err_path, "boot", "--accel", "tcg", "--net",
					  "e1000,topology=loop,prop.mitgation=off", "--net",
					  "e1000,topology=loop", "--", "bench=net-tx", NULL), 2);
	assert_non_null(strstr(test_output(test_err_path), "e1000 has no property 'mitgation' (valid: "));
	/* the same in a job: the matrix does not start */
	snprintf(text, sizeof(text), "[p]\naccel = tcg\nnet = e1000\nnet_props = none, "
		 "mitgation=off\nrepeat = 1\n");
	snprintf(job, sizeof(job), "%s/typo.ini", test_dir);
	test_write_file(job, text);
	assert_int_equal(test_kvmio_split(test_out_path, test_err_path, "run", job, "-o", res, NULL), 2);
	assert_non_null(strstr(test_output(test_err_path), "e1000 has no property 'mitgation'"));
	/* a missing binary */
	assert_int_equal(test_kvmio_split(test_out_path, test_err_path, "boot", "--qemu", "/nonexistent/qemu",
					  "--accel", "tcg", "--", "bench=exits", NULL), 2);
	assert_non_null(strstr(test_output(test_err_path), "QEMU binary /nonexistent/qemu: no such file"));
	snprintf(text, sizeof(text), "[p]\nqemu = old:%s, new:/nonexistent/qemu\nrepeat = 1\n", qemu);
	snprintf(job, sizeof(job), "%s/missing.ini", test_dir);
	test_write_file(job, text);
	assert_int_equal(test_kvmio_split(test_out_path, test_err_path, "run", job, "-o", res, "--dry-run",
					  NULL), 2);
	assert_non_null(strstr(test_output(test_err_path), "missing.ini:2: qemu: QEMU binary "
			       "/nonexistent/qemu: no such file"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_two_builds),
		cmocka_unit_test(test_prop_reaches_device),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, setup, test_dir_teardown);
}
