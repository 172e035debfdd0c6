/* Helpers of the QEMU boot tests (tests/test_boot.c, tests/test_kvm.c): run build/kvmio, read
 * what it wrote, check result records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "boot_helpers.h"

/* Run build/kvmio with args (NULL-terminated array); stdout+stderr into out_path. */
int test_kvmio_argv(const char *out_path, const char *const *args)
{
	const char *argv[MAX_ARGS];
	int n = 0;

	argv[n++] = getenv("KVMIO_BIN") ? getenv("KVMIO_BIN") : "build/kvmio";
	while (*args && n < MAX_ARGS - 1)
		argv[n++] = *args++;
	argv[n] = NULL;

	fflush(NULL); /* nothing buffered may reach the child's output twice */
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		FILE *f = freopen(out_path, "w", stdout);
		if (!f || dup2(fileno(stdout), 2) < 0)
			_exit(127);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* The same with the arguments listed, NULL-terminated. */
int test_kvmio(const char *out_path, ...)
{
	const char *args[MAX_ARGS];
	int n = 0;
	va_list ap;

	va_start(ap, out_path);
	while (n < MAX_ARGS - 1 && (args[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	args[n] = NULL;
	return test_kvmio_argv(out_path, args);
}

char *test_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	static char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = 0;
	fclose(f);
	return buf;
}

uint64_t test_u64_of(const struct record *r, const char *key)
{
	uint64_t v = 0;
	assert_non_null(r);
	if (record_get_u64(r, key, &v) != 0)
		fail_msg("record %s has no integer field %s", r->type, key);
	return v;
}

void test_assert_field(const struct record *r, const char *key, const char *want)
{
	assert_non_null(r);
	const char *v = record_get(r, key);
	if (!v || strcmp(v, want))
		fail_msg("%s.%s = %s, want %s", r->type, key, v ? v : "(absent)", want);
}

/* A result record is internally consistent: ordered percentiles, histogram counts = ops. */
void test_check_result(const struct log *log, const char *name, uint64_t ops)
{
	const struct record *r = log_find(log, "result", "name", name);
	if (!r)
		fail_msg("no result record for %s", name);
	assert_int_equal(test_u64_of(r, "ops"), ops);
	uint64_t min = test_u64_of(r, "min"), p50 = test_u64_of(r, "p50"), p90 = test_u64_of(r, "p90");
	uint64_t p99 = test_u64_of(r, "p99"), p999 = test_u64_of(r, "p999"), max = test_u64_of(r, "max");
	assert_true(min > 0);
	assert_true(min <= p50 && p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= max);
	assert_true(test_u64_of(r, "total") >= min * ops && test_u64_of(r, "total") <= max * ops);
	const char *hist = record_get(r, "hist");
	assert_non_null(hist);
	uint64_t counted = 0, prev_lower = 0;
	int first = 1;
	for (const char *p = hist; *p;) {
		char *end;
		uint64_t lower = strtoull(p, &end, 10);
		assert_true(*end == ':');
		uint64_t count = strtoull(end + 1, &end, 10);
		assert_true(first || lower > prev_lower);
		assert_true(lower <= max);
		first = 0;
		prev_lower = lower;
		counted += count;
		p = *end == ',' ? end + 1 : end;
	}
	assert_int_equal(counted, ops);
}
