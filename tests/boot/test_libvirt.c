/*
 * Boot tests of the libvirt backend (`kvmio boot --connect`, host/boot/libvirt.c) through
 * libvirt's embedded QEMU driver (qemu:///embed, no daemon): the same records as the QEMU
 * backend for bench=exits and bench=disk on null-co, a file disk as a libvirt <disk>, the guest's
 * status through ACPI power-off, the host deadline, the reaper, `kvmio run --connect`,
 * libvirt's errors as one line with exit 2, and qemu:///system through a libvirtd (started here
 * when none runs, and stopped again).
 */
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/file.h"
#include "proto/proto.h"
#include "helpers.h"

static char log_qemu[300], log_lv[300];
static char logd[300], lvd[300]; /* pid files of the daemons a test started, or "" */
static void daemon_down(char *pidfile);

static int setup(void **state)
{
	if (test_dir_setup(state) != 0)
		return -1;
	snprintf(log_qemu, sizeof(log_qemu), "%s/qemu.log", test_dir);
	snprintf(log_lv, sizeof(log_lv), "%s/libvirt.log", test_dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	daemon_down(lvd);
	daemon_down(logd);
	return test_dir_teardown(state);
}

/* What a log says, record by record, without the figures: type and identity. */
static const char *const shape_keys[] = { "name", "bench", "bdf", "id", "class", "index", "model",
					    "transport", "sectors", "sector_size", "status",
					    "boot", "cmdline", "accel" };

static char *shape(const struct log *log)
{
	return test_log_shape(log, shape_keys, sizeof(shape_keys) / sizeof(shape_keys[0]));
}

/* kvmio boot [--connect[=URI]] ARGS... -- GUEST (space-separated), expect `want`, parse the log.
 * uri NULL: the QEMU backend; "": --connect (the embedded driver). */
static void boot(struct log *log, const char *logp, const char *uri, int want, const char *disk,
		 const char *guest)
{
	char connect[300];
	snprintf(connect, sizeof(connect), "--connect%s%s", uri && *uri ? "=" : "", uri ? uri : "");
	struct test_boot b = { .log = logp, .args = uri ? connect : NULL, .timeout = "180",
			       .guest_check = 1, .flag = "--disk", .specs = disk, .opts = guest };
	test_boot_log(log, want, &b);
}

/* Two logs of the same guest, one a backend: the same records (figures aside). */
static void same_shape(const struct log *a, const struct log *b)
{
	char *sa = shape(a), *sb = shape(b);
	if (strcmp(sa, sb) != 0)
		fail_msg("QEMU backend:\n%s\nlibvirt backend:\n%s", sa, sb);
	free(sa);
	free(sb);
}

/* The same guest through both backends (libvirt at uri): the same records (figures aside), end
 * status=ok. */
static void same_records(const char *uri, const char *disk, const char *guest,
			 const char *bench_result)
{
	struct log a, b;

	boot(&a, log_qemu, NULL, 0, disk, guest);
	boot(&b, log_lv, uri, 0, disk, guest);
	assert_int_equal(a.status, KVMIO_EXIT_OK);
	assert_int_equal(b.status, KVMIO_EXIT_OK);
	assert_non_null(log_find(&b, "result", "name", bench_result));
	test_check_result(&b, bench_result, test_u64_of(log_find(&b, "result", "name",
								  bench_result), "ops"));
	same_shape(&a, &b);
	log_free(&a);
	log_free(&b);
}

static void test_exits_same_records(void **state)
{
	(void)state;
	same_records("", NULL, "bench=exits ops=300", "pio-read"); /* pci-testdev's BARs */
}

static void test_null_disk_same_records(void **state)
{
	(void)state;
	same_records("", "virtio-blk,size=64M,iothread=on", "bench=disk ops=200",
		     "randread-4k-qd1");
	same_records("", "ide,size=16M", "bench=disk ops=100", "randread-4k-qd1");
	same_records("", "nvme,size=16M", "bench=disk ops=100", "randread-4k-qd1");
	same_records("", "virtio-scsi,size=16M,iothread=on", "bench=disk ops=100",
		     "randread-4k-qd1");
	same_records("", "ahci,size=16M", "bench=disk ops=100", "randread-4k-qd1");
}

/* A file disk is libvirt's own <disk> (cache=none, io=threads, an iothread of its own, two
 * queues, the packed ring). */
static void test_file_disk(void **state)
{
	char img[300], spec[400];
	struct log log;
	const struct record *d;

	(void)state;
	snprintf(img, sizeof(img), "%s/disk.img", test_dir);
	assert_int_equal(test_kvmio(test_out_path, "mkdisk", img, "32M", (char *)NULL), 0);
	snprintf(spec, sizeof(spec), "virtio-blk,transport=modern,file=%s,cache=none,iothread=on,"
		 "queues=2,packed=on", img);
	boot(&log, log_lv, "", 0, spec, "bench=disk ops=100");
	d = log_find(&log, "disk", "index", "0");
	assert_non_null(d);
	test_assert_field(d, "transport", "modern");
	assert_int_equal(test_u64_of(d, "sectors"), 32u * 1024 * 1024 / 512);
	test_check_result(&log, "randread-4k-qd1", 100);
	log_free(&log);
}

/* --image: the bootable disk image (GRUB, multiboot2) through both backends, the same records. */
static void test_boot_image(void **state)
{
	char img[300], *slash;
	struct log a, b;

	(void)state;
	snprintf(img, sizeof(img), "%s", test_kvmio_bin());
	slash = strrchr(img, '/');
	snprintf(slash ? slash + 1 : img, sizeof(img) - (size_t)(slash ? slash + 1 - img : 0),
		 "kvmio.img");
	assert_int_equal(test_kvmio(test_out_path, "boot", "--image", img, "--log", log_qemu, (char *)NULL), 0);
	if (test_kvmio(test_out_path, "boot", "--connect", "--image", img, "--log", log_lv, (char *)NULL) != 0)
		fail_msg("%s", test_output(test_out_path));
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	log_parse_file(&a, log_qemu);
	log_parse_file(&b, log_lv);
	assert_int_equal(b.status, KVMIO_EXIT_OK);
	test_assert_field(log_find(&b, "hello", NULL, NULL), "boot", "multiboot2");
	same_shape(&a, &b);
	log_free(&a);
	log_free(&b);
}

/* No isa-debug-exit: the guest powers off through ACPI and its log decides, as on the QEMU
 * path with --no-debug-exit. */
static void test_guest_status(void **state)
{
	(void)state;
	assert_int_equal(test_kvmio(test_out_path, "boot", "--connect", "--", "fault=ud", (char *)NULL),
			 KVMIO_EXIT_GUEST_FAIL);
	assert_int_equal(test_kvmio(test_out_path, "boot", "--connect", "--no-guest-check", "--", "ops=x",
				    (char *)NULL), KVMIO_EXIT_BADCONFIG);
}

/* The domain's QEMU (its command line names guest=NAME), or 0. */
static pid_t qemu_of(const char *name)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;
	char want[80];

	snprintf(want, sizeof(want), "guest=%s,", name);
	while (d && (e = readdir(d)) && !found) {
		char path[300], *cmd;
		size_t len;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		cmd = file_read(path, &len);
		for (size_t i = 0; cmd && i < len; i += strlen(cmd + i) + 1)
			if (strncmp(cmd + i, want, strlen(want)) == 0)
				found = (pid_t)atoi(e->d_name);
		free(cmd);
	}
	if (d)
		closedir(d);
	return found;
}

/* kvmio boot --connect in the background, a guest that spins for 600 s; waits until its QEMU
 * runs. */
static pid_t start_long_boot(char *name, size_t len, const char *timeout)
{
	char *argv[] = { (char *)test_kvmio_bin(), "boot", "--connect", "--timeout",
			 (char *)timeout, "--", "bench=spin", "timeout=600", NULL };
	pid_t pid = test_spawn(argv, test_out_path, test_err_path);

	snprintf(name, len, "kvmio-%d", (int)pid);
	for (int i = 0; i < 600 && !qemu_of(name); i++)
		usleep(100000);
	assert_true(qemu_of(name) > 0);
	return pid;
}

static void gone_within(const char *name, double s)
{
	for (int i = 0; i < (int)(s * 10) && qemu_of(name); i++)
		usleep(100000);
	if (qemu_of(name))
		fail_msg("QEMU of %s still runs", name);
}

/* The host deadline destroys the domain: exit 3, the QEMU gone. */
static void test_timeout(void **state)
{
	char name[64];
	pid_t pid;

	(void)state;
	pid = start_long_boot(name, sizeof(name), "4");
	assert_int_equal(test_wait(pid), KVMIO_EXIT_TIMEOUT);
	if (!strstr(test_output(test_err_path), "host timeout"))
		fail_msg("%s", test_output(test_err_path));
	gone_within(name, 1);
}

/* SIGINT: the domain destroyed, exit 130. SIGKILL: the reaper kills the QEMU (the embedded
 * driver has no auto-destroy). */
static void test_stopped(void **state)
{
	char name[64];
	pid_t pid;

	(void)state;
	pid = start_long_boot(name, sizeof(name), "300");
	kill(pid, SIGINT);
	assert_int_equal(test_wait(pid), KVMIO_EXIT_INTERRUPTED);
	gone_within(name, 1);
	pid = start_long_boot(name, sizeof(name), "300");
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	gone_within(name, 10);
}

/* One line naming the problem, exit 2. */
static void one_line(int rc, const char *want)
{
	const char *e = test_output(test_err_path);

	assert_int_equal(rc, KVMIO_EXIT_BADCONFIG);
	if (!strstr(e, want) || strchr(e, '\n') != e + strlen(e) - 1)
		fail_msg("want one line with '%s', got:\n%s", want, e);
}

static void test_errors(void **state)
{
	(void)state;
	/* no daemon behind the socket: one line, exit 2 (a fleet then asks the host again) */
	{
		int rc = test_kvmio_split(test_out_path, test_err_path, "boot", "--connect",
					  "qemu:///system?socket=/nonexistent/libvirt-sock", "--",
					  "bench=exits", (char *)NULL);
		const char *e = test_output(test_err_path);

		assert_int_equal(rc, KVMIO_EXIT_BADCONFIG);
		if (!strstr(e, "kvmio: boot: libvirt: cannot connect") ||
		    strchr(e, '\n') != e + strlen(e) - 1)
			fail_msg("want one line, got:\n%s", e);
	}
	one_line(test_kvmio_split(test_out_path, test_err_path, "boot", "--connect", "nosuch:///x", "--",
				  "bench=exits", (char *)NULL), "kvmio: boot: libvirt: cannot connect");
	one_line(test_kvmio_split(test_out_path, test_err_path, "boot", "--connect=qemu:///embed", "--",
				  "bench=exits", (char *)NULL), "needs root=DIR");
	/* an emulator that is not there */
	setenv("KVMIO_QEMU", "/nonexistent/qemu-system-x86_64", 1);
	one_line(test_kvmio_split(test_out_path, test_err_path, "boot", "--connect", "--", "bench=exits",
				  (char *)NULL), "kvmio: boot: libvirt: cannot start a domain");
	unsetenv("KVMIO_QEMU");
	/* what libvirt cannot say here */
	one_line(test_kvmio_split(test_out_path, test_err_path, "boot", "--connect", "--net",
				  "virtio-net,transport=legacy", "--", "bench=net-rr", (char *)NULL),
		 "--net transport=legacy has no libvirt model");
}

#define SYSTEM_SOCK "/run/libvirt/libvirt-sock"
#define VIRTLOGD_SOCK "/run/libvirt/virtlogd-sock"

/* Start DAEMON --daemon --pid-file DIR/DAEMON.pid unless SOCK is there; waits for SOCK. The
 * pid file's path when this test started it, else "". */
static void daemon_up(const char *daemon, const char *sock, char *pidfile, size_t len)
{
	char *argv[] = { (char *)daemon, "--daemon", "--pid-file", pidfile, NULL };

	pidfile[0] = '\0';
	if (path_exists(sock))
		return;
	snprintf(pidfile, len, "%s/%s.pid", test_dir, daemon);
	assert_int_equal(test_wait(test_spawn(argv, NULL, NULL)), 0);
	for (int i = 0; i < 300 && !path_exists(sock); i++)
		usleep(100000);
	assert_true(path_exists(sock));
}

/* Stop a daemon this test started (by the pid in its pid file); pidfile becomes "". */
static void daemon_down(char *pidfile)
{
	char line[32];
	pid_t pid;

	if (!pidfile[0] || file_read_line(pidfile, line, sizeof(line)) != 0) {
		pidfile[0] = '\0';
		return;
	}
	pidfile[0] = '\0';
	pid = (pid_t)atoi(line);
	if (pid <= 1)
		return;
	kill(pid, SIGTERM);
	for (int i = 0; i < 100 && kill(pid, 0) == 0; i++)
		usleep(100000);
}

/*
 * qemu:///system through libvirtd (started here as the README says where systemd is not PID 1,
 * unless one runs): the serial port a pty read through the console stream, the same records as
 * the QEMU backend, and a kvmio killed with SIGKILL takes its domain along
 * (VIR_DOMAIN_START_AUTODESTROY; the daemon notices the connection gone).
 */
static void test_system(void **state)
{
	char name[64];
	char *argv[] = { (char *)test_kvmio_bin(), "boot", "--connect", "qemu:///system",
			 "--timeout", "300", "--", "bench=spin", "timeout=600", NULL };
	pid_t pid;
	int rc;

	(void)state;
	daemon_up("virtlogd", VIRTLOGD_SOCK, logd, sizeof(logd));
	daemon_up("libvirtd", SYSTEM_SOCK, lvd, sizeof(lvd));
	rc = test_kvmio(test_out_path, "boot", "--connect", "qemu:///system", "--print-xml", "--",
			"bench=exits", (char *)NULL);
	if (rc != 0 || !strstr(test_output(test_out_path), "<serial type='pty'>"))
		fail_msg("exit %d\n%s", rc, test_output(test_out_path));
	same_records("qemu:///system", NULL, "bench=exits ops=200", "pio-read");
	pid = test_spawn(argv, test_out_path, test_err_path);
	snprintf(name, sizeof(name), "kvmio-%d", (int)pid);
	for (int i = 0; i < 600 && !qemu_of(name); i++)
		usleep(100000);
	rc = qemu_of(name) > 0;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	for (int i = 0; i < 300 && qemu_of(name); i++)
		usleep(100000);
	rc = rc && !qemu_of(name);
	if (!rc)
		fail_msg("the domain's QEMU did not start, or outlived kvmio:\n%s", test_output(test_err_path));
}

/* kvmio run --connect: every run through libvirt, the same results file. */
static void test_run(void **state)
{
	char job[300], res[300], csv[400], *text;

	(void)state;
	snprintf(job, sizeof(job), "%s/job.ini", test_dir);
	snprintf(res, sizeof(res), "%s/res", test_dir);
	test_write_file(job, "[global]\nrepeat = 1\n\n[d]\ndisk = virtio-blk\nbackend = null\n"
			"bench = disk\nops = 100\n");
	if (test_kvmio(test_out_path, "run", job, "--connect", "-o", res, (char *)NULL) != 0)
		fail_msg("%s", test_output(test_out_path));
	snprintf(csv, sizeof(csv), "%s/results.csv", res);
	text = test_read(csv);
	assert_non_null(text);
	assert_non_null(strstr(text, "randread-4k-qd1"));
	free(text);
	snprintf(csv, sizeof(csv), "%s/runs/c001/r1/cmd.txt", res);
	text = test_read(csv);
	if (!text || !strstr(text, "--connect") || !strstr(text, "<domain type="))
		fail_msg("cmd.txt:\n%s", text ? text : "(none)");
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_exits_same_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_null_disk_same_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(test_boot_image, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stopped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_run, setup, teardown),
		cmocka_unit_test_setup_teardown(test_system, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
