/*
 * The tests' shared helpers (one file): run build/kvmio and other programs, read and write
 * files, boot the guest into a parsed log in a temporary directory, check result records (disk,
 * network, write-verify, device errors),
 * and the fake hosts the accelerator logic is judged on.
 * Failures are cmocka assertions. Test sources include this as "helpers.h".
 */
#ifndef KVMIO_TESTS_HELPERS_H
#define KVMIO_TESTS_HELPERS_H
#include <stdint.h>
#include <sys/types.h>
#include "boot/hostinfo.h"
#include "proto/proto.h"

#define MAX_ARGS 40

/* ---- programs ---- */

/* build/kvmio, or $KVMIO_BIN. */
const char *test_kvmio_bin(void);
/* Start argv (argv[0] a path, or looked up in PATH) with stdin /dev/null, stdout into out_path
 * and stderr into err_path (NULL: out_path's file too; both NULL: /dev/null). */
pid_t test_spawn(char *const *argv, const char *out_path, const char *err_path);
/* Wait for it: its exit code (the test fails if it died from a signal). */
int test_wait(pid_t pid);
/* build/kvmio with args (NULL-terminated array); stdout+stderr into out_path; its exit code. */
int test_kvmio_argv(const char *out_path, const char *const *args);
/* The same with the arguments listed, NULL-terminated. */
int test_kvmio(const char *out_path, ...);
/* build/kvmio ARGS... (NULL-terminated), stdout into out_path, stderr into err_path. */
int test_kvmio_split(const char *out_path, const char *err_path, ...);

/* ---- files ---- */

/* A file's whole text, malloc'd (the caller frees); NULL if it cannot be read. */
char *test_read(const char *path);
/* The same, but "" (malloc'd) for a file that cannot be read. */
char *test_slurp(const char *path);
/* A log's records without their figures (malloc'd): per record its type and the values of
 * `keys` it has (option records: the type only), a line each; to compare two backends. */
char *test_log_shape(const struct log *log, const char *const *keys, size_t nkeys);
/* A file's text, kept until the next call (for messages and one-off checks). */
const char *test_output(const char *path);
/* Write text to path (the test fails if it cannot). */
void test_write_file(const char *path, const char *text);

/* ---- records ---- */

/* An integer field of a record, failing the test if it is absent. */
uint64_t test_u64_of(const struct record *r, const char *key);
/* A field has the value wanted. */
void test_assert_field(const struct record *r, const char *key, const char *want);
/* A result record is internally consistent: ordered percentiles, histogram counts = ops. */
void test_check_result(const struct log *log, const char *name, uint64_t ops);

/* ---- boot tests ---- */

/* A temporary directory for the test group, and the files in it: the serial log, kvmio's
 * stdout and stderr. Set by test_dir_setup, removed with all in it by test_dir_teardown. */
extern char test_dir[200], test_log_path[256], test_out_path[256], test_err_path[256];
/* cmocka group setup/teardown for them (the directory is /tmp/kvmio-test-XXXXXX). */
int test_dir_setup(void **state);
int test_dir_teardown(void **state);
/* A cmocka test run in a temporary directory of its own. */
#define TEST_IN_DIR(f) cmocka_unit_test_setup_teardown(f, test_dir_setup, test_dir_teardown)

/* One `kvmio boot`: [ARGS] [--no-guest-check] [FLAG SPEC]... [--tap-cmd CMD] -- PREFIX OPTS. */
struct test_boot {
	const char *log;     /* the serial log (NULL: test_log_path) */
	const char *args;    /* kvmio boot's own arguments, space-separated (--machine q35 ...), or NULL */
	const char *timeout; /* --timeout (NULL: 120) */
	int guest_check;     /* 0: --no-guest-check, so that the guest's own parser answers */
	const char *flag;    /* "--disk" or "--net", given before each of specs */
	const char *specs;   /* space-separated, or NULL */
	const char *tap_cmd; /* --tap-cmd (one argument), or NULL */
	const char *prefix;  /* guest options before opts (bench=disk pci=0), space-separated, or NULL */
	const char *opts;    /* the guest options, space-separated, or NULL */
};
/* Run it (stdout+stderr into test_out_path), fail unless it exits `want`, parse the log into
 * log; returns what kvmio printed (valid until the next test_output). */
const char *test_boot_log(struct log *log, int want, const struct test_boot *b);
/* An empty (sparse) file of `bytes`, e.g. for blkdebug's error injection or the write guard. */
void test_sparse_file(const char *path, long long bytes);
/* A file of `lines` text lines ("precious data line N"), extended to `bytes`: unlabelled data
 * the guest's write guard must leave as it is. */
void test_precious_file(const char *path, int lines, long long bytes);

/* The disk result (name NULL: the first bench=disk one): consistent latency figures (as
 * test_check_result), every op's bytes, elapsed time at least the latencies' sum over qd. */
const struct record *test_check_disk_result(const struct log *log, const char *name,
					    uint64_t ops);

/* The disk records, by index from 0, are of the space-separated models, in that order. */
void test_check_disk_models(const struct log *log, const char *models);

/* A network result (the first result) where every frame sent arrived intact, in order, once:
 * ops frames received, `timed` of them timed (consistent figures, as test_check_result). */
const struct record *test_check_net_clean(const struct log *log, uint64_t ops, uint64_t timed);

/* The write-verify flow on a fresh image (kvmio mkdisk, 64M) in test_dir: boot b with the one
 * disk MODEL,backend=file=IMG[,format=FORMAT],cache=none and the guest options PREFIX verify=1
 * ops=150 rw=randwrite seed=SEED [bs=BS] OPTS, expect exit 0, the scratch label found and a
 * verify=ok result of 150 ops; then from the host `kvmio verify-disk` with the same seed finds
 * the 150 ops' sectors stamped, and with another seed fails. The log stays parsed in log (the
 * caller log_free's it); the image is removed. */
struct test_verify {
	const char *model;  /* the disk spec's head: MODEL[,KEY=VALUE...] */
	const char *format; /* mkdisk's, the spec's and verify-disk's format, NULL: none (raw) */
	unsigned seed;
	unsigned bs;        /* bs= (0: not given, the guest's 4096) */
};
void test_write_verify(struct log *log, const struct test_boot *b, const struct test_verify *v);

/* A device error (blkdebug EIO): the error record (code=device) of model (NULL: any), and the
 * run ended status=fail. Returns the error record. */
const struct record *test_check_device_error(const struct log *log, const char *model);

/* sha256 of a file (sha256sum), into out (65 bytes). */
void test_file_hash(const char *path, char *out);

/* ---- fake hosts, as facts (boot/hostinfo.h) ---- */

enum fake_host {
	FAKE_NO_KVM,          /* no /dev/kvm at all */
	FAKE_KVM_UNUSABLE,    /* /dev/kvm there, KVM_CREATE_VM refused (EPERM) */
	FAKE_BARE_VMX,        /* kvm_intel on an Intel machine */
	FAKE_BARE_SVM,        /* kvm_amd on an AMD machine */
	FAKE_NESTED_VMX,      /* kvm_intel inside a KVM guest (hypervisor bit, KVMKVMKVM) */
	FAKE_NESTED_SVM_HYPERV, /* kvm_amd inside a Hyper-V guest */
	FAKE_PVM,             /* kvm_pvm: no vmx/svm, a KVM guest itself */
	FAKE_OTHER,           /* usable, but no known module and no vmx/svm flag */
};

/* The facts of such a host (as host_facts_read_all would find them, QEMU 7.2 with OVMF). */
void fake_host_facts(enum fake_host which, struct host_facts *f);
/* Its KVM flavour. */
void fake_host_flavour(enum fake_host which, struct kvm_flavour *k);

#endif
