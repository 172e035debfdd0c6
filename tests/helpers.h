/*
 * The tests' shared helpers (one file): run build/kvmio and other programs, read and write
 * files, check result records, and the fake hosts the accelerator logic is judged on.
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
