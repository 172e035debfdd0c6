/*
 * The storage probe (host/boot/storage.c): the figures of a set of read times, the probe's
 * offsets, a real probe of a file in a temp directory (its shape, not its figures: how fast the
 * storage answers is the machine's, never a test threshold), and its refusals.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "boot/storage.h"

static void test_summarize(void **state)
{
	double lat[200];
	struct storage_probe p;

	(void)state;
	/* 199 reads of 60 us and one of 5 ms, in no order: the median and the p99 are the
	 * storage's level, the mean and the longest hold the slow one */
	for (int i = 0; i < 200; i++)
		lat[i] = 60000;
	lat[37] = 5000000;
	assert_int_equal(storage_summarize(lat, 200, &p), 0);
	assert_int_equal(p.reads, 200);
	assert_true(fabs(p.median_ns - 60000) < 1e-9);
	assert_true(fabs(p.p99_ns - 60000) < 1e-9);
	assert_true(fabs(p.max_ns - 5000000) < 1e-9);
	assert_true(fabs(p.mean_ns - (199 * 60000.0 + 5000000) / 200) < 1e-6);
	/* even count: the median is the mean of the middle two */
	double two[] = { 90, 70 };

	assert_int_equal(storage_summarize(two, 2, &p), 0);
	assert_true(fabs(p.median_ns - 80) < 1e-9 && fabs(p.max_ns - 90) < 1e-9);
	double one[] = { 5 };

	assert_int_equal(storage_summarize(one, 1, &p), 0);
	assert_true(fabs(p.p99_ns - 5) < 1e-9);
	assert_int_equal(storage_summarize(one, 0, &p), -1);
}

/* Every offset block-aligned and inside the file; the same seed gives the same blocks, so two
 * probes of one file read the same places; the blocks are spread over the file. */
static void test_offset(void **state)
{
	uint64_t a = 1, b = 1, blocks = 1000, seen_low = 0, seen_high = 0;

	(void)state;
	for (int i = 0; i < 10000; i++) {
		uint64_t o = storage_offset(&a, blocks);

		assert_int_equal(o % STORAGE_BLOCK, 0);
		assert_true(o < blocks * STORAGE_BLOCK);
		assert_int_equal(o, storage_offset(&b, blocks));
		seen_low += o < blocks * STORAGE_BLOCK / 10;
		seen_high += o >= blocks * STORAGE_BLOCK * 9 / 10;
	}
	assert_true(seen_low > 0 && seen_high > 0);
	a = 0; /* a zero state would stay zero: it is replaced */
	storage_offset(&a, blocks);
	assert_int_not_equal(a, 0);
	assert_int_equal(storage_offset(&a, 1), 0); /* one block: always block 0 */
}

struct files {
	char dir[64], img[96], small[96];
};

static int setup(void **state)
{
	struct files *f = calloc(1, sizeof(*f));
	char block[STORAGE_BLOCK];
	FILE *fp;

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/kvmio-test-storage.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->img, sizeof(f->img), "%s/disk.img", f->dir);
	snprintf(f->small, sizeof(f->small), "%s/small.img", f->dir);
	memset(block, 0xa5, sizeof(block)); /* written, so every read reaches the storage */
	fp = fopen(f->img, "w");
	for (int i = 0; fp && i < 256; i++)
		fwrite(block, 1, sizeof(block), fp);
	if (!fp || fclose(fp) != 0)
		return -1;
	fp = fopen(f->small, "w");
	if (!fp || fwrite(block, 1, 100, fp) != 100 || fclose(fp) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct files *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	free(f);
	return system(cmd) == 0 ? 0 : -1;
}

/* A real probe of a 1 MiB file: as many reads as asked, figures in order. Where the file system
 * has no direct I/O (tmpfs) the probe refuses, saying why, rather than timing the page cache. */
static void test_probe(void **state)
{
	struct files *f = *state;
	struct storage_probe p;
	char err[512] = "";
	int fd = open(f->img, O_RDONLY | O_DIRECT);
	int direct = fd >= 0;

	if (fd >= 0)
		close(fd);
	else
		assert_int_equal(errno, EINVAL);
	if (!direct) {
		assert_int_equal(storage_probe(f->img, 64, &p, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "no direct I/O"));
		return;
	}
	assert_int_equal(storage_probe(f->img, 64, &p, err, sizeof(err)), 0);
	assert_int_equal(p.reads, 64);
	assert_int_equal(p.file_bytes, 256 * STORAGE_BLOCK);
	assert_true(p.median_ns > 0);
	assert_true(p.median_ns <= p.p99_ns && p.p99_ns <= p.max_ns && p.mean_ns <= p.max_ns);
}

/* Refusals, each with the reason: no such file, a file under one block, a directory, a read
 * count out of range. */
static void test_refused(void **state)
{
	struct files *f = *state;
	struct storage_probe p;
	char err[512], missing[128];

	snprintf(missing, sizeof(missing), "%s/none.img", f->dir);
	assert_int_equal(storage_probe(missing, 8, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file or directory"));
	assert_int_equal(storage_probe(f->small, 8, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a file of at least 4096 bytes"));
	assert_int_equal(storage_probe(f->dir, 8, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ": not a file"));
	assert_int_equal(storage_probe(f->img, 0, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "0 reads (1 to"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summarize),
		cmocka_unit_test(test_offset),
		cmocka_unit_test_setup_teardown(test_probe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
