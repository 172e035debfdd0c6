/*
 * The guest's sample statistics (bench/sample_stats.c), the guest's own file compiled for the
 * host: sorting, nearest-rank percentiles of known samples and the quarter-octave histogram
 * buckets of docs/protocol.md, walked as the `result` record writes them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "bench/sample_stats.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_sort(void **state)
{
	uint64_t a[1000];
	(void)state;
	for (unsigned i = 0; i < N(a); i++)
		a[i] = (i * 7919u) % 500;   /* every value 0..499 twice, scrambled */
	samples_sort(a, N(a));
	for (unsigned i = 0; i < N(a); i++)
		assert_int_equal(a[i], i / 2);
	uint64_t one = 5;
	samples_sort(&one, 1);
	assert_int_equal(one, 5);
	samples_sort(NULL, 0);
}

static void test_percentiles(void **state)
{
	struct sample_summary s;
	(void)state;

	/* 1..1000 in reverse: p50 = 500, p90 = 900, p99 = 990, p999 = 999. */
	uint64_t a[1000];
	for (unsigned i = 0; i < N(a); i++)
		a[i] = 1000 - i;
	samples_summarize(a, N(a), &s);
	assert_int_equal(s.n, 1000);
	assert_int_equal(s.total, 500500);
	assert_int_equal(s.min, 1);
	assert_int_equal(s.p50, 500);
	assert_int_equal(s.p90, 900);
	assert_int_equal(s.p99, 990);
	assert_int_equal(s.p999, 999);
	assert_int_equal(s.max, 1000);

	/* Ten samples: the rank is rounded up, so p99 and p999 are the largest. */
	uint64_t b[] = { 100, 30, 50, 10, 90, 20, 80, 40, 70, 60 };
	samples_summarize(b, N(b), &s);
	assert_int_equal(s.p50, 50);
	assert_int_equal(s.p90, 90);
	assert_int_equal(s.p99, 100);
	assert_int_equal(s.p999, 100);
	assert_int_equal(s.total, 550);

	/* Three: the median is the middle one; the smallest with >= 1/2 at or below it. */
	uint64_t c[] = { 5, 1, 3 };
	samples_summarize(c, N(c), &s);
	assert_int_equal(s.min, 1);
	assert_int_equal(s.p50, 3);
	assert_int_equal(s.p90, 5);
	assert_int_equal(samples_percentile(c, N(c), 333), 1);
	assert_int_equal(samples_percentile(c, N(c), 334), 3);

	/* One sample is every percentile; none gives zeros. */
	uint64_t d[] = { 42 };
	samples_summarize(d, 1, &s);
	assert_int_equal(s.min + s.p50 + s.p999 + s.max, 4 * 42);
	samples_summarize(NULL, 0, &s);
	assert_int_equal(s.n + s.total + s.min + s.p50 + s.p90 + s.p99 + s.p999 + s.max, 0);
}

static void test_bucket_lower(void **state)
{
	static const uint64_t cases[][2] = {
		{ 0, 0 }, { 1, 1 }, { 7, 7 },            /* one bucket per value below 8 */
		{ 8, 8 }, { 9, 8 }, { 10, 10 }, { 11, 10 }, { 12, 12 }, { 14, 14 }, { 15, 14 },
		{ 16, 16 }, { 19, 16 }, { 20, 20 }, { 23, 20 }, { 24, 24 }, { 28, 28 }, { 31, 28 },
		{ 100, 96 },                             /* 64 * 1.5 */
		{ 1000, 896 },                           /* 512 * 1.75 */
		{ 1024, 1024 }, { 1279, 1024 }, { 1280, 1280 },
		{ UINT64_MAX, 0xe000000000000000ull },   /* 2^63 * 1.75 */
	};
	(void)state;
	for (size_t i = 0; i < N(cases); i++)
		if (hist_bucket_lower(cases[i][0]) != cases[i][1])
			fail_msg("hist_bucket_lower(%llu) = %llu, want %llu",
				 (unsigned long long)cases[i][0],
				 (unsigned long long)hist_bucket_lower(cases[i][0]),
				 (unsigned long long)cases[i][1]);
}

/* The hist field as bench/stats.c writes it: LOWER:COUNT,... */
static void hist_string(uint64_t *sorted, uint64_t n, char *out, size_t len)
{
	uint64_t count;
	size_t at = 0;
	out[0] = 0;
	for (uint64_t i = 0; i < n; i += count) {
		uint64_t lower = hist_bucket_at(sorted, n, i, &count);
		at += (size_t)snprintf(out + at, len - at, "%s%llu:%llu", i ? "," : "",
				       (unsigned long long)lower, (unsigned long long)count);
	}
}

static void test_histogram(void **state)
{
	char h[256];
	(void)state;
	uint64_t a[] = { 1000, 9, 1, 100, 8, 1, 10, 1023 };
	samples_sort(a, N(a));
	hist_string(a, N(a), h, sizeof(h));
	assert_string_equal(h, "1:2,8:2,10:1,96:1,896:2");
	/* All in one bucket; a single sample. */
	uint64_t b[] = { 40, 41, 47 };
	hist_string(b, N(b), h, sizeof(h));
	assert_string_equal(h, "40:3");
	uint64_t c[] = { 123456 };
	hist_string(c, 1, h, sizeof(h));
	assert_string_equal(h, "114688:1"); /* 2^16 * 1.75 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sort),
		cmocka_unit_test(test_percentiles),
		cmocka_unit_test(test_bucket_lower),
		cmocka_unit_test(test_histogram),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
