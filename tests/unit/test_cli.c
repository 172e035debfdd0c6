/*
 * build/kvmio as a whole, without the guest: `boot` against tests/data/fake-qemu (a shell
 * script standing in for QEMU), and `parse` on the sample logs. Run from the repository root.
 */
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "boot/launch.h"
#include "lib/file.h"
#include "helpers.h"
#include "proto/proto.h"

static char dir[256];       /* scratch: images, outputs */
static char out_path[512], err_path[512];

static void touch(const char *name, const char *text)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	test_write_file(path, text);
}

static int setup(void **state)
{
	char *tmp = dir_make_temp(), cwd[256];

	(void)state;
	if (!tmp)
		return -1;
	snprintf(dir, sizeof(dir), "%s", tmp);
	free(tmp);
	snprintf(out_path, sizeof(out_path), "%s/out", dir);
	snprintf(err_path, sizeof(err_path), "%s/err", dir);
	touch("kvmio.elf", "elf");
	touch("kvmio-pvh.elf", "pvh");
	touch("kvmio.efi", "efi");
	touch("CODE.fd", "code");
	touch("VARS.fd", "vars");
	if (!getcwd(cwd, sizeof(cwd)))
		return -1;
	setenv("KVMIO_IMAGE_DIR", dir, 1);
	{
		char p[512];

		snprintf(p, sizeof(p), "%s/tests/data/fake-qemu", cwd);
		setenv("KVMIO_QEMU", p, 1);
		snprintf(p, sizeof(p), "%s/CODE.fd", dir);
		setenv("KVMIO_OVMF_CODE", p, 1);
		snprintf(p, sizeof(p), "%s/VARS.fd", dir);
		setenv("KVMIO_OVMF_VARS", p, 1);
	}
	unsetenv("FAKE_QEMU_LOG");
	unsetenv("FAKE_QEMU_EXIT");
	unsetenv("FAKE_QEMU_STDERR");
	unsetenv("FAKE_QEMU_SLEEP");
	unsetenv("FAKE_QEMU_ARGS");
	unsetenv("FAKE_QEMU_ESP");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dir_remove_tree(dir);
	return 0;
}

static void fake(const char *log, const char *exit_code)
{
	if (log)
		setenv("FAKE_QEMU_LOG", log, 1);
	else
		unsetenv("FAKE_QEMU_LOG");
	setenv("FAKE_QEMU_EXIT", exit_code, 1);
}

static void assert_stderr_has(const char *text)
{
	char *err = test_slurp(err_path);

	if (!strstr(err, text))
		fail_msg("stderr lacks '%s':\n%s", text, err);
	free(err);
}

static void assert_stdout_has(const char *text)
{
	char *out = test_slurp(out_path);

	if (!strstr(out, text))
		fail_msg("stdout lacks '%s':\n%s", text, out);
	free(out);
}

static void test_exit_codes(void **state)
{
	(void)state;
	fake("tests/data/good.log", "1");
	assert_int_equal(test_kvmio_split(out_path, err_path, "boot", "--accel", "tcg", (char *)NULL), 0);
	fake("tests/data/good.log", "0"); /* ACPI power-off: the log decides */
	assert_int_equal(test_kvmio_split(out_path, err_path, "boot", "--accel", "tcg", (char *)NULL), 0);
	fake("tests/data/badconfig.log", "5");
	assert_int_equal(test_kvmio_split(out_path, err_path, "boot", "--accel", "tcg", (char *)NULL), 2);
	assert_stderr_has("kvmio: serial:2: guest rejected option foo=1");
	fake("tests/data/good.log", "3"); /* guest said fail through isa-debug-exit */
	assert_int_equal(test_kvmio_split(out_path, err_path, "boot", "--accel", "tcg", (char *)NULL), 1);
	assert_stderr_has("disagrees");
	fake(NULL, "1");
	setenv("FAKE_QEMU_STDERR", "qemu-system-x86_64: boom", 1);
	assert_int_equal(test_kvmio_split(out_path, err_path, "boot", "--accel", "tcg", (char *)NULL), 9);
	assert_stderr_has("kvmio: QEMU printed no kvmio protocol: qemu-system-x86_64: boom");
	unsetenv("FAKE_QEMU_STDERR");
}

static void test_truncated_and_log_file(void **state)
{
	char cut[512], saved[512], *good = test_slurp("tests/data/good.log"), *back;
	FILE *f;

	(void)state;
	snprintf(cut, sizeof(cut), "%s/cut.log", dir);
	snprintf(saved, sizeof(saved), "%s/saved.log", dir);
	f = fopen(cut, "w");
	assert_non_null(f);
	fwrite(good, 1, strlen(good) - 5, f);
	fclose(f);
	fake(cut, "1");
	assert_int_equal(test_kvmio_split(out_path, err_path, "boot", "--accel", "tcg", "--log", saved, (char *)NULL), 4);
	assert_stderr_has("truncated");
	fake("tests/data/good.log", "1");
	assert_int_equal(test_kvmio_split(out_path, err_path, "boot", "--accel", "tcg", "--log", saved, "--csv", (char *)NULL), 0);
	back = test_slurp(saved);
	assert_string_equal(back, good);
	free(back);
	back = test_slurp(out_path);
	/* the launch's accelerator and its flavour, then the disk columns */
	assert_non_null(strstr(back, ",launch_accel,launch_flavour,host_tsc_hz,launch_iothread,dev,"));
	assert_non_null(strstr(back, "exits,cpuid,4,1000,200,250,300,300,300,300,250.00,125.0,"
				     "150.0,125.0,tcg,tcg,"));
	free(back);
	free(good);
}

static void test_host_timeout(void **state)
{
	(void)state;
	fake("tests/data/good.log", "1");
	setenv("FAKE_QEMU_SLEEP", "30", 1);
	assert_int_equal(test_kvmio_split(out_path, err_path, "boot", "--accel", "tcg", "--timeout", "0.5", (char *)NULL), 3);
	assert_stderr_has("kvmio: QEMU killed after 0.5 s (host timeout)");
	unsetenv("FAKE_QEMU_SLEEP");
}

/* kvmio host --noise: one line per allowed CPU and the mean; a bad duration is exit 2 */
static void test_host_noise(void **state)
{
	(void)state;
	assert_int_equal(test_kvmio_split(out_path, err_path, "host", "--noise", "0.05", (char *)NULL),
			 0);
	assert_stdout_has("cpu ");
	assert_stdout_has(" gaps over 10 us (10-100 us ");
	assert_stdout_has("mean lost: ");
	assert_stdout_has(", work ");
	assert_stdout_has("mean work: ");
	assert_int_equal(test_kvmio_split(out_path, err_path, "host", "--noise", "0", (char *)NULL),
			 2);
	assert_stderr_has("kvmio: host: --noise: bad duration '0'");
	assert_int_equal(test_kvmio_split(out_path, err_path, "host", "--noise", "1", "x",
					  (char *)NULL), 2);
	assert_stderr_has("--noise takes no more options ('x')");
}

/* kvmio host --storage FILE [READS]: the figures of a probe of a written file; a missing file is
 * exit 10 (an I/O error) with its name, a missing FILE or a bad count exit 2 */
static void test_host_storage(void **state)
{
	char img[600], missing[600];
	static char block[4096];
	FILE *f;
	int fd;

	(void)state;
	snprintf(img, sizeof(img), "%s/disk.img", dir);
	snprintf(missing, sizeof(missing), "%s/none.img", dir);
	f = fopen(img, "w");
	assert_non_null(f);
	for (int i = 0; i < 16; i++)
		assert_int_equal(fwrite(block, 1, sizeof(block), f), sizeof(block));
	assert_int_equal(fclose(f), 0);
	fd = open(img, O_RDONLY | O_DIRECT);
	if (fd >= 0) {
		close(fd);
		assert_int_equal(test_kvmio_split(out_path, err_path, "host", "--storage", img, "32",
						  (char *)NULL), 0);
		assert_stdout_has("with O_DIRECT (the page cache left out) over the 65536 bytes of ");
		assert_stdout_has("32 reads of 4096 bytes: median ");
		assert_stdout_has(" us, p99 ");
	} else { /* a temp dir without direct I/O: refused, not timed from the page cache */
		assert_int_equal(test_kvmio_split(out_path, err_path, "host", "--storage", img,
						  (char *)NULL), 10);
		assert_stderr_has("its file system has no direct I/O");
	}
	assert_int_equal(test_kvmio_split(out_path, err_path, "host", "--storage", missing,
					  (char *)NULL), 10);
	assert_stderr_has("kvmio: host: --storage: ");
	assert_stderr_has("none.img: No such file or directory");
	assert_int_equal(test_kvmio_split(out_path, err_path, "host", "--storage", (char *)NULL), 2);
	assert_stderr_has("kvmio: host: --storage needs a FILE");
	assert_int_equal(test_kvmio_split(out_path, err_path, "host", "--storage", img, "0",
					  (char *)NULL), 2);
	assert_stderr_has("kvmio: host: --storage: bad read count '0' (1 to 1000000)");
	assert_int_equal(test_kvmio_split(out_path, err_path, "host", "--storage", img, "9", "x",
					  (char *)NULL), 2);
	assert_stderr_has("--storage takes no more options ('x')");
}

/* QEMU reports its accelerator failing and stays up (paused, as after a KVM internal error):
 * kvmio stops it at once with its own exit code, names the cause and the way out. */
static void test_accel_failure_fails_fast(void **state)
{
	(void)state;
	fake(NULL, "1");
	setenv("FAKE_QEMU_STDERR", "KVM internal error. Suberror: 1\nextra data[0]: 0x0\n"
	       "emulation failure\nRAX=0000000000000000 RBX=0000000000000000", 1);
	setenv("FAKE_QEMU_SLEEP", "60", 1);
	/* a 60 s deadline: waiting for it would give exit 3, not 11 */
	assert_int_equal(test_kvmio_split(out_path, err_path, "boot", "--accel", "tcg", "--timeout", "60", (char *)NULL),
			 KVMIO_EXIT_ACCEL);
	assert_stderr_has("kvmio: accelerator failed after ");
	assert_stderr_has("emulation failure");
	assert_stderr_has("try --accel tcg");
	assert_stderr_has("qemu: KVM internal error. Suberror: 1"); /* QEMU's own words follow */
	/* QEMU that cannot start KVM exits at once: the same code, not "QEMU failed" */
	unsetenv("FAKE_QEMU_SLEEP");
	setenv("FAKE_QEMU_STDERR", "qemu-system-x86_64: failed to initialize kvm: Permission "
	       "denied", 1);
	assert_int_equal(test_kvmio_split(out_path, err_path, "boot", "--accel", "tcg", (char *)NULL), KVMIO_EXIT_ACCEL);
	assert_stderr_has("QEMU failed to initialize KVM");
	/* the same in the middle of a good log: the figures before it do not make it a pass */
	fake("tests/data/good.log", "1");
	setenv("FAKE_QEMU_STDERR", "KVM internal error. Suberror: 3", 1);
	assert_int_equal(test_kvmio_split(out_path, err_path, "boot", "--accel", "tcg", (char *)NULL), KVMIO_EXIT_ACCEL);
	unsetenv("FAKE_QEMU_STDERR");
}

/* kvmio run: a configuration whose accelerator fails is a failed run carrying the reason, and
 * the matrix goes on to the next one. */
static void test_run_accel_failure(void **state)
{
	char job[600], res[512], *json;

	(void)state;
	snprintf(job, sizeof(job), "%s/job.ini", dir);
	snprintf(res, sizeof(res), "%s/res", dir);
	touch("job.ini", "[m]\nmachine = pc, q35\nrepeat = 1\ntimeout = 60\n");
	fake(NULL, "1");
	setenv("FAKE_QEMU_STDERR", "KVM internal error. Suberror: 1\nemulation failure", 1);
	setenv("FAKE_QEMU_SLEEP", "60", 1);
	assert_int_equal(test_kvmio_split(out_path, err_path, "run", job, "-o", res, (char *)NULL), 1);
	assert_stderr_has("c001 r1: accelerator failed");
	assert_stderr_has("c002 r1: accelerator failed");
	assert_stderr_has("2 runs (2 failed)");
	snprintf(job, sizeof(job), "%s/results.json", res);
	json = test_slurp(job);
	assert_non_null(strstr(json, "\"exit\":11,"));
	assert_non_null(strstr(json, "\"reason\":\"accelerator failed after "));
	assert_non_null(strstr(json, "emulation failure"));
	assert_non_null(strstr(json, "\"flavour\":\"tcg\""));
	free(json);
	unsetenv("FAKE_QEMU_STDERR");
	unsetenv("FAKE_QEMU_SLEEP");
}

/* --dry-run says which accelerator and why; without KVM, --accel kvm is refused with how. */
static void test_accel_choice_shown(void **state)
{
	(void)state;
	assert_int_equal(test_kvmio_split(out_path, err_path, "boot", "--dry-run", "--accel", "tcg", (char *)NULL), 0);
	assert_stdout_has("# accelerator: tcg (tcg, as asked); host deadline 120 s");
	setenv("KVMIO_KVM_DEVICE", "none", 1);
	assert_int_equal(test_kvmio_split(out_path, err_path, "boot", "--dry-run", (char *)NULL), 0);
	assert_stdout_has("# accelerator: tcg (auto: tcg, because KVMIO_KVM_DEVICE=none");
	assert_int_equal(test_kvmio_split(out_path, err_path, "boot", "--dry-run", "--accel", "kvm", (char *)NULL),
			 KVMIO_EXIT_BADCONFIG);
	assert_stderr_has("--accel kvm: KVMIO_KVM_DEVICE=none says to use no KVM (use --accel tcg "
			  "or auto)");
	setenv("KVMIO_KVM_DEVICE", "/dev/null", 1); /* there, but no KVM device */
	assert_int_equal(test_kvmio_split(out_path, err_path, "boot", "--dry-run", "--accel", "kvm", (char *)NULL),
			 KVMIO_EXIT_BADCONFIG);
	assert_stderr_has("/dev/null does not answer KVM_GET_API_VERSION");
	unsetenv("KVMIO_KVM_DEVICE");
}

static void test_arguments_reach_qemu(void **state)
{
	char args[512], *text;

	(void)state;
	snprintf(args, sizeof(args), "%s/args", dir);
	setenv("FAKE_QEMU_ARGS", args, 1);
	fake("tests/data/good.log", "1");
	assert_int_equal(test_kvmio_split(out_path, err_path, "boot", "--accel", "tcg", "--qemu-arg", "-smp", "--qemu-arg", "2",
			       "--", "bench=exits", "ops=5", (char *)NULL), 0);
	text = test_slurp(args);
	assert_non_null(strstr(text, "\n-append\nbench=exits ops=5\n"));
	assert_non_null(strstr(text, "\n-device\npci-testdev\n"));
	assert_non_null(strstr(text, "\n-smp\n2\n"));
	assert_string_equal(text + strlen(text) - strlen("-smp\n2\n"), "-smp\n2\n");
	free(text);
	unsetenv("FAKE_QEMU_ARGS");
}

static void test_uefi_volume(void **state)
{
	char esp[512], *text, *nl;

	(void)state;
	snprintf(esp, sizeof(esp), "%s/esp-seen", dir);
	setenv("FAKE_QEMU_ESP", esp, 1);
	fake("tests/data/good.log", "1");
	assert_int_equal(test_kvmio_split(out_path, err_path, "boot", "--firmware", "uefi", "--accel", "tcg", "--", "ops=7",
			       "bench=exits", (char *)NULL), 0);
	text = test_slurp(esp);
	nl = strchr(text, '\n');
	assert_non_null(nl);
	assert_string_equal(nl + 1, "ops=7 bench=exits\nsame\n");
	*nl = '\0';
	assert_int_not_equal(access(text, F_OK), 0); /* the temporary volume is gone */
	free(text);
	unsetenv("FAKE_QEMU_ESP");
}

/* An installed kvmio (PREFIX/bin) finds the guest images in PREFIX/lib/kvmio (make install). */
static void test_installed_layout(void **state)
{
	char bin[300], lib[300], cmd[2048], *out;
	const char *argv[] = { bin, "boot", "--dry-run", "--accel", "tcg", NULL };

	(void)state;
	snprintf(bin, sizeof(bin), "%s/prefix/bin", dir);
	snprintf(lib, sizeof(lib), "%s/prefix/lib/kvmio", dir);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s %s && cp %s %s/ && touch %s/kvmio.elf", bin, lib,
		 test_kvmio_bin(), bin, lib);
	assert_int_equal(system(cmd), 0);
	strcat(bin, "/kvmio");
	unsetenv("KVMIO_IMAGE_DIR");
	assert_int_equal(test_wait(test_spawn((char *const *)argv, out_path, err_path)), 0);
	out = test_slurp(out_path);
	snprintf(cmd, sizeof(cmd), "-kernel %s/prefix/bin/../lib/kvmio/kvmio.elf", dir);
	if (!strstr(out, cmd))
		fail_msg("installed kvmio does not use PREFIX/lib/kvmio:\n%s", out);
	free(out);
}

static void test_usage(void **state)
{
	(void)state;
	assert_int_equal(test_kvmio_split(out_path, err_path, "boot", "--firmware", "uefi", "--machine", "microvm", (char *)NULL), 2);
	assert_int_equal(test_kvmio_split(out_path, err_path, "boot", "--timeout", "soon", (char *)NULL), 2);
	assert_int_equal(test_kvmio_split(out_path, err_path, "boot", "--memory", (char *)NULL), 2);
	assert_int_equal(test_kvmio_split(out_path, err_path, "nonsense", (char *)NULL), 2);
	assert_int_equal(test_kvmio_split(out_path, err_path, "help", (char *)NULL), 0);
	/* one command's usage: kvmio CMD --help, -h, kvmio help CMD */
	assert_int_equal(test_kvmio_split(out_path, err_path, "boot", "--help", (char *)NULL), 0);
	assert_non_null(strstr(test_output(out_path), "usage: kvmio boot"));
	assert_non_null(strstr(test_output(out_path), "--firmware bios|uefi|pvh"));
	assert_null(strstr(test_output(out_path), "kvmio mkdisk"));
	assert_int_equal(test_kvmio_split(out_path, err_path, "run", "-h", (char *)NULL), 0);
	assert_non_null(strstr(test_output(out_path), "usage: kvmio run JOB.ini"));
	assert_int_equal(test_kvmio_split(out_path, err_path, "help", "compare", (char *)NULL), 0);
	assert_non_null(strstr(test_output(out_path), "usage: kvmio compare DIR"));
	assert_int_equal(test_kvmio_split(out_path, err_path, "help", "nonsense", (char *)NULL), 2);
	assert_stderr_has("unknown command 'nonsense'");
	assert_int_equal(test_kvmio_split(out_path, err_path, "parse", "tests/data/good.log", "tests/data/badconfig.log",
			       (char *)NULL), 2);
	assert_int_equal(test_kvmio_split(out_path, err_path, "parse", "--json", "tests/data/help.log", (char *)NULL), 0);
	setenv("KVMIO_IMAGE_DIR", "/nonexistent", 1);
	assert_int_equal(test_kvmio_split(out_path, err_path, "boot", (char *)NULL), 2);
	assert_stderr_has("run make");
	setenv("KVMIO_IMAGE_DIR", dir, 1);
}

/* --pin against the stand-in: its one thread is the main one (no vCPU to find), and a QEMU
 * that writes no record is never pinned; the launch info says so either way. */
static void test_pin_reported(void **state)
{
	cpu_set_t set;
	char cpu[16], want[128];
	int first = 0;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	while (!CPU_ISSET(first, &set))
		first++;
	snprintf(cpu, sizeof(cpu), "%d", first);
	fake("tests/data/good.log", "1");
	setenv("FAKE_QEMU_SLEEP", "1", 1);   /* still there after its first record */
	assert_int_equal(test_kvmio_split(out_path, err_path, "boot", "--accel", "tcg", "--pin", cpu,
					  (char *)NULL), 0);
	snprintf(want, sizeof(want), "\npinned:       no vCPU thread found -> %d; fake-qemu (main) "
		 "-> %d\n", first, first);
	assert_stdout_has(want);
	unsetenv("FAKE_QEMU_SLEEP");
	fake(NULL, "1");
	assert_int_equal(test_kvmio_split(out_path, err_path, "boot", "--accel", "tcg", "--pin", cpu,
					  "--json", (char *)NULL), KVMIO_EXIT_QEMU);
	assert_stdout_has("\"pin\":{\"applied\":false,\"why\":\"the guest wrote no record\",");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exit_codes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_and_log_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_noise, setup, teardown),
		cmocka_unit_test_setup_teardown(test_host_storage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accel_failure_fails_fast, setup, teardown),
		cmocka_unit_test_setup_teardown(test_accel_choice_shown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run_accel_failure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_arguments_reach_qemu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uefi_volume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_installed_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pin_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
