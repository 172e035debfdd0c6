/* Helpers of the QEMU boot tests: run build/kvmio (KVMIO_BIN overrides it), read its output,
 * check result records. Failures are cmocka assertions. */
#ifndef KVMIO_TESTS_BOOT_HELPERS_H
#define KVMIO_TESTS_BOOT_HELPERS_H
#include <stdint.h>
#include "proto/proto.h"

#define MAX_ARGS 40

/* Run build/kvmio with args (NULL-terminated array); stdout+stderr into out_path; its exit. */
int test_kvmio_argv(const char *out_path, const char *const *args);
/* The same with the arguments listed, NULL-terminated. */
int test_kvmio(const char *out_path, ...);
/* A file's text (at most 64 KiB) in a static buffer, overwritten by the next call. */
char *test_slurp(const char *path);
/* An integer field of a record, failing the test if it is absent. */
uint64_t test_u64_of(const struct record *r, const char *key);
/* A field has the value wanted. */
void test_assert_field(const struct record *r, const char *key, const char *want);
/* A result record is internally consistent: ordered percentiles, histogram counts = ops. */
void test_check_result(const struct log *log, const char *name, uint64_t ops);

#endif
