/*
 * Unit tests of host/hostinfo.c: the accelerator flavour, --accel auto, the boot-path verdicts
 * and the accelerator-failure patterns, as pure functions over injected facts (no /dev/kvm,
 * no QEMU needed). Plus `kvmio host` run as a user would, with KVMIO_KVM_DEVICE steering it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>
#include "boot/hostinfo.h"
#include "proto/proto.h"
#include "helpers.h"

static void assert_has(const char *text, const char *part)
{
	if (!strstr(text, part))
		fail_msg("lacks '%s' in '%.300s'", part, text);
}

static void test_labels(void **state)
{
	static const struct {
		enum fake_host host;
		const char *label;
		enum kvm_backend backend;
		enum exec_mode exec;
	} want[] = {
		{ FAKE_BARE_VMX, "kvm (kvm_intel, hardware VMX, bare metal)", KVM_BACKEND_INTEL,
		  EXEC_NATIVE },
		{ FAKE_BARE_SVM, "kvm (kvm_amd, hardware SVM, bare metal)", KVM_BACKEND_AMD,
		  EXEC_NATIVE },
		{ FAKE_NESTED_VMX, "kvm (kvm_intel, hardware VMX, nested: this host is itself a KVM "
		  "guest)", KVM_BACKEND_INTEL, EXEC_NATIVE },
		{ FAKE_NESTED_SVM_HYPERV, "kvm (kvm_amd, hardware SVM, nested: this host is itself a "
		  "Hyper-V guest)", KVM_BACKEND_AMD, EXEC_NATIVE },
		{ FAKE_PVM, "kvm (kvm_pvm: unmodified guest run by KVM's instruction emulator)",
		  KVM_BACKEND_PVM, EXEC_EMULATED },
		{ FAKE_NO_KVM, "kvm (unavailable: there is no /dev/kvm)", KVM_BACKEND_NONE,
		  EXEC_UNKNOWN },
		{ FAKE_KVM_UNUSABLE, "kvm (unusable: /dev/kvm refuses KVM_CREATE_VM: Operation not "
		  "permitted)", KVM_BACKEND_UNUSABLE, EXEC_UNKNOWN },
		{ FAKE_OTHER, "kvm (backend not recognised)", KVM_BACKEND_OTHER, EXEC_UNKNOWN },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct kvm_flavour k;

		fake_host_flavour(want[i].host, &k);
		assert_string_equal(k.label, want[i].label);
		assert_int_equal(k.backend, want[i].backend);
		assert_int_equal(k.exec, want[i].exec);
		assert_string_equal(host_accel_label("kvm", &k), want[i].label);
		assert_string_equal(host_accel_label("tcg", &k), "tcg");
		assert_int_equal(host_accel_exec("tcg", &k), EXEC_NATIVE);
	}
}

static void test_auto(void **state)
{
	static const struct {
		enum fake_host host;
		const char *chosen, *why;
	} want[] = {
		{ FAKE_BARE_VMX, "kvm", "auto: kvm, because kvm (kvm_intel, hardware VMX, bare metal)" },
		{ FAKE_BARE_SVM, "kvm", "auto: kvm, because kvm (kvm_amd" },
		{ FAKE_NESTED_VMX, "kvm", "nested: this host is itself a KVM guest" },
		{ FAKE_PVM, "tcg", "auto: tcg, because /dev/kvm is kvm_pvm and this guest is not "
		  "PVM-aware" },
		{ FAKE_NO_KVM, "tcg", "auto: tcg, because there is no /dev/kvm" },
		{ FAKE_KVM_UNUSABLE, "tcg", "auto: tcg, because /dev/kvm refuses KVM_CREATE_VM" },
		{ FAKE_OTHER, "tcg", "auto: tcg, because /dev/kvm works, but no kvm_intel" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct kvm_flavour k;
		const char *chosen = NULL;
		char why[512];

		fake_host_flavour(want[i].host, &k);
		assert_int_equal(host_accel_choose(NULL, &k, &chosen, why, sizeof(why)), 0);
		assert_string_equal(chosen, want[i].chosen);
		assert_has(why, want[i].why);
		assert_int_equal(host_accel_choose("auto", &k, &chosen, why, sizeof(why)), 0);
		assert_string_equal(chosen, want[i].chosen);
		/* tcg is always there; kvm wherever /dev/kvm works, whatever its flavour */
		assert_int_equal(host_accel_choose("tcg", &k, &chosen, why, sizeof(why)), 0);
		assert_string_equal(chosen, "tcg");
		int usable = want[i].host != FAKE_NO_KVM && want[i].host != FAKE_KVM_UNUSABLE;
		assert_int_equal(host_accel_choose("kvm", &k, &chosen, why, sizeof(why)),
				 usable ? 0 : KVMIO_EXIT_BADCONFIG);
		if (usable)
			assert_string_equal(chosen, "kvm");
		else
			assert_has(why, "use --accel tcg or auto");
	}
	{
		struct kvm_flavour k;
		const char *chosen = NULL;
		char why[512];

		fake_host_flavour(FAKE_BARE_VMX, &k);
		assert_int_equal(host_accel_choose("hvf", &k, &chosen, why, sizeof(why)),
				 KVMIO_EXIT_BADCONFIG);
		assert_has(why, "unknown accelerator 'hvf'");
	}
}

static void verdict(enum fake_host host, const char *fw, const char *machine, const char *accel,
		    int want, const char *why_part)
{
	struct host_facts f;
	struct kvm_flavour k;
	char why[512];

	fake_host_facts(host, &f);
	host_kvm_flavour(&f, &k);
	if (host_path_verdict(&f, &k, fw, machine, accel, why, sizeof(why)) != want)
		fail_msg("%s/%s under %s: verdict %d wanted, why '%s'", fw, machine, accel, want, why);
	assert_has(why, why_part);
}

static void test_verdicts(void **state)
{
	(void)state;
	verdict(FAKE_PVM, "uefi", "q35", "kvm", 0, "OVMF executes x87 instructions");
	verdict(FAKE_PVM, "bios", "pc", "kvm", 1, "instruction emulator");
	verdict(FAKE_PVM, "pvh", "microvm", "kvm", 1, "emulator figures");
	verdict(FAKE_PVM, "uefi", "q35", "tcg", 1, "emulation figures, not KVM figures");
	verdict(FAKE_NO_KVM, "bios", "q35", "kvm", 0, "there is no /dev/kvm");
	verdict(FAKE_KVM_UNUSABLE, "pvh", "pc", "kvm", 0, "KVM_CREATE_VM");
	verdict(FAKE_BARE_SVM, "uefi", "q35", "kvm", 1, "hardware SVM");
	verdict(FAKE_NESTED_VMX, "bios", "pc", "kvm", 1, "nested");
	verdict(FAKE_OTHER, "bios", "pc", "kvm", 0, "unknown");
	{
		struct host_facts f;
		struct kvm_flavour k;
		char why[512];

		fake_host_facts(FAKE_BARE_VMX, &f);
		f.ovmf_code[0] = '\0';
		host_kvm_flavour(&f, &k);
		assert_int_equal(host_path_verdict(&f, &k, "uefi", "q35", "tcg", why, sizeof(why)), 0);
		assert_has(why, "no OVMF");
		f.qemu_kvm = 0;
		assert_int_equal(host_path_verdict(&f, &k, "bios", "pc", "kvm", why, sizeof(why)), 0);
		assert_has(why, "no KVM accelerator");
		f.qemu_version[0] = '\0';
		assert_int_equal(host_path_verdict(&f, &k, "bios", "pc", "tcg", why, sizeof(why)), 0);
		assert_has(why, "does not run");
	}
}

static void test_cpuinfo(void **state)
{
	struct host_facts f;

	(void)state;
	memset(&f, 0, sizeof(f));
	host_parse_cpuinfo(&f, "\nprocessor\t: 0\nmodel name\t: Intel(R) Xeon(R)\nflags\t\t: fpu vme "
			   "vmx smx est\nbugs\t\t: spectre\n");
	assert_true(f.flag_vmx);
	assert_false(f.flag_svm);
	assert_string_equal(f.cpu_model, "Intel(R) Xeon(R)");
	host_parse_cpuinfo(&f, "\nflags\t\t: fpu svm_lock svm\n");
	assert_false(f.flag_vmx);
	assert_true(f.flag_svm);
	/* PVM's host: a flag that merely contains the letters is not the flag */
	host_parse_cpuinfo(&f, "\nflags\t\t: fpu hypervisor svm_lock vmx_foo\nbugs : vmx\n");
	assert_false(f.flag_vmx);
	assert_false(f.flag_svm);
	host_parse_cpuinfo(&f, "");
	assert_false(f.flag_vmx);
}

static void test_failure_patterns(void **state)
{
	(void)state;
	/* QEMU 7.2's own words under kvm_pvm with OVMF (issue 8) */
	assert_has(host_accel_failure("KVM internal error. Suberror: 1\nextra data[0]: ...\n"
				      "emulation failure\nRAX=0000000000000000 ..."),
		   "emulation failure");
	assert_has(host_accel_failure("KVM internal error. Suberror: 3\n"), "KVM internal error");
	assert_has(host_accel_failure("qemu-system-x86_64: failed to initialize kvm: Permission "
				      "denied\n"), "failed to initialize KVM");
	assert_has(host_accel_failure("Could not access KVM kernel module: No such file\n"),
		   "KVM kernel module");
	assert_has(host_accel_failure("qemu-system-x86_64: -accel kvm: invalid accelerator kvm\n"),
		   "lacks the accelerator");
	assert_has(host_accel_failure("KVM: entry failed, hardware error 0x80000021\n"),
		   "could not enter");
	assert_null(host_accel_failure("qemu-system-x86_64: -device foo: not found\n"));
	assert_null(host_accel_failure(""));
	assert_null(host_accel_failure(NULL));
}

static void test_exec_and_deadlines(void **state)
{
	char buf[512];

	(void)state;
	assert_true(host_default_timeout(120, EXEC_EMULATED) >= 120 * 10);
	assert_true(host_default_timeout(120, EXEC_NATIVE) == 120);
	assert_true(host_default_timeout(120, EXEC_UNKNOWN) == 120);
	assert_int_equal(host_exec_parse("native"), EXEC_NATIVE);
	assert_int_equal(host_exec_parse("emulated"), EXEC_EMULATED);
	assert_int_equal(host_exec_parse("bogus"), EXEC_UNKNOWN);
	assert_int_equal(host_exec_parse(NULL), EXEC_UNKNOWN);
	assert_int_equal(host_exec_disagrees(EXEC_NATIVE, "tcg", "native", buf, sizeof(buf)), 0);
	assert_int_equal(host_exec_disagrees(EXEC_NATIVE, "tcg", NULL, buf, sizeof(buf)), 0);
	assert_int_equal(host_exec_disagrees(EXEC_UNKNOWN, "kvm (x)", "emulated", buf, sizeof(buf)),
			 0);
	assert_int_equal(host_exec_disagrees(EXEC_NATIVE, "kvm (kvm_intel, hardware VMX, bare "
					     "metal)", "emulated", buf, sizeof(buf)), 1);
	assert_has(buf, "the guest measured exec=emulated, but kvm (kvm_intel");
	assert_int_equal(host_exec_disagrees(EXEC_EMULATED, "kvm (kvm_pvm: ...)", "native", buf,
					     sizeof(buf)), 1);
	assert_has(buf, "instruction emulator");
}

/* `kvmio host` as a user runs it; KVMIO_KVM_DEVICE makes a device absent or broken. */
static char *run_host(const char *device, const char *opt, int *rc)
{
	int fd[2], status;
	pid_t pid;
	static char buf[1 << 16];
	size_t n = 0;
	ssize_t k;

	assert_int_equal(pipe(fd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		setenv("KVMIO_KVM_DEVICE", device, 1);
		execl("build/kvmio", "build/kvmio", "host", opt, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	while ((k = read(fd[0], buf + n, sizeof(buf) - 1 - n)) > 0)
		n += (size_t)k;
	buf[n] = '\0';
	close(fd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	*rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return buf;
}

static void test_host_command(void **state)
{
	json_error_t jerr;
	json_t *o, *paths;
	int rc;
	char *out;

	(void)state;
	out = run_host("none", NULL, &rc);
	assert_int_equal(rc, 0);
	assert_has(out, "KVM device:          none: absent");
	assert_has(out, "--accel auto:        tcg (auto: tcg, because KVMIO_KVM_DEVICE=none says "
		   "to use no KVM)");
	out = run_host("/nonexistent/kvm", NULL, &rc);
	assert_int_equal(rc, 0);
	assert_has(out, "auto: tcg, because there is no /nonexistent/kvm");
	assert_has(out, "uefi/q35 kvm       no");
	/* a file that is no KVM device: present, unusable, and said why */
	out = run_host("/dev/null", "--json", &rc);
	assert_int_equal(rc, 0);
	o = json_loads(out, 0, &jerr);
	if (!o)
		fail_msg("kvmio host --json: %s: %s", jerr.text, out);
	assert_true(json_is_true(json_object_get(json_object_get(o, "kvm_device"), "present")));
	assert_true(json_is_false(json_object_get(json_object_get(o, "kvm_device"), "usable")));
	assert_has(json_string_value(json_object_get(json_object_get(o, "auto"), "why")),
		   "auto: tcg, because /dev/null does not answer KVM_GET_API_VERSION");
	paths = json_object_get(o, "boot_paths");
	assert_int_equal(json_array_size(paths), 2 * host_nboot_paths);
	for (size_t i = 0; i < json_array_size(paths); i++) {
		json_t *p = json_array_get(paths, i);

		if (!strcmp(json_string_value(json_object_get(p, "accel")), "kvm"))
			assert_true(json_is_false(json_object_get(p, "works")));
	}
	json_decref(o);
	out = run_host("none", "--bogus", &rc);
	assert_int_equal(rc, KVMIO_EXIT_BADCONFIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_auto),
		cmocka_unit_test(test_verdicts),
		cmocka_unit_test(test_cpuinfo),
		cmocka_unit_test(test_failure_patterns),
		cmocka_unit_test(test_exec_and_deadlines),
		cmocka_unit_test(test_host_command),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
