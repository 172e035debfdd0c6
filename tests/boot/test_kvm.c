/*
 * The KVM group: the same guest under `--accel kvm`, where this machine's /dev/kvm (or
 * KVMIO_KVM_DEVICE) works, and the refusal with its reason where it does not. Either way every
 * case checks behaviour; nothing is skipped:
 *   - usable KVM: multiboot on pc and q35, PVH on microvm, one disk and one network run, the
 *     flavour label on the report and the guest's own exec= verdict agreeing with it, and UEFI:
 *     booting under hardware KVM, failing fast with the accelerator's message under kvm_pvm
 *     (OVMF executes x87 instructions KVM's instruction emulator lacks);
 *   - no usable KVM: `--accel kvm` refused at once (exit 2) naming why, and `auto` choosing TCG
 *     and saying why.
 * KVM runs get an explicit host deadline: under kvm_pvm the guest's code is emulated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "boot/hostinfo.h"
#include "proto/proto.h"
#include "helpers.h"

#define KVM_TEST_TIMEOUT "300" /* seconds; a bound, far above an emulated boot (~10x TCG) */

static struct kvm_flavour kvm;
static int usable;
static char log_path[256], out_path[300];

static int group_setup(void **state)
{
	struct host_facts f;

	(void)state;
	host_facts_read_kvm(&f);
	host_kvm_flavour(&f, &kvm);
	usable = kvm.backend != KVM_BACKEND_NONE && kvm.backend != KVM_BACKEND_UNUSABLE;
	printf("# KVM group on %s: %s\n", f.kvm_path, usable ? kvm.label : kvm.why);
	snprintf(log_path, sizeof(log_path), "/tmp/kvmio-kvm-%d.log", (int)getpid());
	snprintf(out_path, sizeof(out_path), "%s.out", log_path);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	unlink(log_path);
	unlink(out_path);
	return 0;
}

/* `kvmio boot --accel kvm --timeout T --log LOG ARGS... -- GUEST...`; its exit code, its
 * output in test_output(out_path). args: boot options then "--" then guest options. */
static int boot_kvm(const char *const *args)
{
	const char *argv[MAX_ARGS];
	int n = 0;

	argv[n++] = "boot";
	argv[n++] = "--accel";
	argv[n++] = "kvm";
	argv[n++] = "--timeout";
	argv[n++] = KVM_TEST_TIMEOUT;
	argv[n++] = "--log";
	argv[n++] = log_path;
	while (*args && n < MAX_ARGS - 1)
		argv[n++] = *args++;
	argv[n] = NULL;
	unlink(log_path);
	return test_kvmio_argv(out_path, argv);
}

/* Where KVM is not usable, --accel kvm is refused before QEMU starts, naming why. */
static void check_refused(const char *const *args)
{
	char want[1024];
	int rc = boot_kvm(args);
	const char *printed = test_output(out_path);

	if (rc != KVMIO_EXIT_BADCONFIG)
		fail_msg("--accel kvm without usable KVM: exit %d, want 2\n%s", rc, printed);
	snprintf(want, sizeof(want), "--accel kvm: %s (use --accel tcg or auto)", kvm.why);
	if (!strstr(printed, want))
		fail_msg("output lacks '%s':\n%s", want, printed);
	assert_int_equal(access(log_path, F_OK), -1); /* QEMU never ran */
}

/* A good boot under KVM: exit 0, end ok, the flavour on the report, the guest's verdict. */
static void check_kvm_boot(const char *const *args, struct log *log)
{
	char want[1024];
	int rc = boot_kvm(args);
	const char *printed = test_output(out_path);
	const struct record *hello;

	if (rc != 0)
		fail_msg("--accel kvm (%s): exit %d\n%s", kvm.label, rc, printed);
	snprintf(want, sizeof(want), "flavour:      %s\n", kvm.label);
	if (!strstr(printed, want))
		fail_msg("output lacks '%s':\n%s", want, printed);
	if (strstr(printed, "kvmio: warning: the guest measured"))
		fail_msg("guest and host disagree on how the guest ran:\n%s", printed);
	memset(log, 0, sizeof(*log));
	assert_int_equal(log_parse_file(log, log_path), KVMIO_EXIT_OK);
	hello = log_find(log, "hello", NULL, NULL);
	test_assert_field(hello, "accel", "kvm");
	if (kvm.exec != EXEC_UNKNOWN)
		test_assert_field(hello, "exec", host_exec_name(kvm.exec));
	test_assert_field(log_find(log, "end", NULL, NULL), "status", "ok");
}

/* Boot args under KVM where it works (1, *log filled: free it), else check the refusal (0). */
static int kvm_boot_or_refusal(const char *const *args, struct log *log)
{
	if (!usable) {
		check_refused(args);
		return 0;
	}
	check_kvm_boot(args, log);
	return 1;
}

static void test_kvm_choice(void **state)
{
	const char *argv[] = { "boot", "--dry-run", NULL };
	const char *printed;
	char want[1024];

	(void)state;
	assert_int_equal(test_kvmio_argv(out_path, argv), 0);
	printed = test_output(out_path);
	if (kvm.backend == KVM_BACKEND_INTEL || kvm.backend == KVM_BACKEND_AMD)
		snprintf(want, sizeof(want), "# accelerator: %s (auto: kvm, because %s)", kvm.label,
			 kvm.label);
	else if (kvm.backend == KVM_BACKEND_PVM)
		snprintf(want, sizeof(want), "# accelerator: tcg (auto: tcg, because /dev/kvm is "
			 "kvm_pvm and this guest is not PVM-aware");
	else
		snprintf(want, sizeof(want), "# accelerator: tcg (auto: tcg, because %s)", kvm.why);
	if (!strstr(printed, want))
		fail_msg("kvmio boot --dry-run lacks '%s':\n%s", want, printed);
}

static void test_kvm_multiboot_pc_q35(void **state)
{
	static const char *const pc[] = { "--machine", "pc", "--", "ops=50", NULL };
	static const char *const q35[] = { "--machine", "q35", "--", "ops=50", NULL };
	struct log log;

	(void)state;
	if (!kvm_boot_or_refusal(pc, &log)) {
		check_refused(q35);
		return;
	}
	test_assert_field(log_find(&log, "hello", NULL, NULL), "boot", "multiboot");
	test_check_result(&log, "cpuid", 50);
	test_check_result(&log, "pio-read", 50);
	log_free(&log);
	check_kvm_boot(q35, &log);
	test_check_result(&log, "mmio-read", 50);
	log_free(&log);
}

static void test_kvm_pvh_microvm(void **state)
{
	static const char *const args[] = { "--firmware", "pvh", "--machine", "microvm", "--",
					    "ops=50", NULL };
	struct log log;

	(void)state;
	if (!kvm_boot_or_refusal(args, &log))
		return;
	test_assert_field(log_find(&log, "hello", NULL, NULL), "boot", "pvh");
	test_check_result(&log, "timestamp", 50);
	log_free(&log);
}

static void test_kvm_disk(void **state)
{
	static const char *const args[] = { "--disk", "virtio-blk,size=64M", "--", "bench=disk",
					    "pci=0", "ops=50", NULL };
	struct log log;

	(void)state;
	if (!kvm_boot_or_refusal(args, &log))
		return;
	test_check_result(&log, "randread-4k-qd1", 50);
	log_free(&log);
}

static void test_kvm_net(void **state)
{
	static const char *const args[] = { "--net", "virtio-net,topology=loop", "--net",
					    "virtio-net,topology=loop", "--", "bench=net-tx", "pci=0",
					    "ops=50", NULL };
	struct log log;
	const struct record *r;

	(void)state;
	if (!kvm_boot_or_refusal(args, &log))
		return;
	r = log_find(&log, "result", "bench", "net-tx");
	assert_non_null(r);
	assert_int_equal(test_u64_of(r, "rx_ok"), 50);
	assert_int_equal(test_u64_of(r, "lost"), 0);
	log_free(&log);
}

/* UEFI: boots under hardware KVM; under kvm_pvm QEMU stops in OVMF with a KVM internal error,
 * and kvmio must end the run at once with exit 11 and the way out. */
static void test_kvm_uefi(void **state)
{
	static const char *const args[] = { "--firmware", "uefi", "--", "ops=50", NULL };
	struct log log;

	(void)state;
	if (!usable) {
		check_refused(args);
		return;
	}
	if (kvm.backend == KVM_BACKEND_PVM) {
		int rc = boot_kvm(args);
		const char *printed = test_output(out_path);

		if (rc != KVMIO_EXIT_ACCEL)
			fail_msg("uefi under kvm_pvm: exit %d, want %d (accelerator failed)\n%s", rc,
				 KVMIO_EXIT_ACCEL, printed);
		assert_non_null(strstr(printed, "kvmio: accelerator failed after "));
		assert_non_null(strstr(printed, "try --accel tcg"));
		return;
	}
	check_kvm_boot(args, &log);
	test_assert_field(log_find(&log, "hello", NULL, NULL), "boot", "uefi");
	log_free(&log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kvm_choice),
		cmocka_unit_test(test_kvm_multiboot_pc_q35),
		cmocka_unit_test(test_kvm_pvh_microvm),
		cmocka_unit_test(test_kvm_disk),
		cmocka_unit_test(test_kvm_net),
		cmocka_unit_test(test_kvm_uefi),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
