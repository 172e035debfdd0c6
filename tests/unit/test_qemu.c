/* Unit tests of the QEMU command line (host/qemu.c) and the boot outcome (host/launch.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "boot/launch.h"
#include "lib/file.h"
#include "boot/net.h"
#include "proto/proto.h"
#include "boot/qemu.h"
#include "disklabel.h"
#include "helpers.h"

static int kvm_calls;
/* Hosts for the accelerator choice: hardware KVM, none, kvm_pvm (tests/helpers.c). */
static void kvm_yes(struct kvm_flavour *k)
{
	kvm_calls++;
	fake_host_flavour(FAKE_BARE_VMX, k);
}
static void kvm_no(struct kvm_flavour *k)
{
	kvm_calls++;
	fake_host_flavour(FAKE_NO_KVM, k);
}
static void kvm_pvm(struct kvm_flavour *k)
{
	kvm_calls++;
	fake_host_flavour(FAKE_PVM, k);
}

static struct qemu_options base_options(void)
{
	struct qemu_options o = { 0 };

	o.qemu = "qemu-system-x86_64";
	o.image_dir = "/img";
	o.kvm_flavour = kvm_no;
	o.ovmf_code = "/fw/CODE.fd";
	o.ovmf_vars = "/tmp/x/VARS.fd";
	o.esp_dir = "/tmp/x/esp";
	return o;
}

/* Index of ARG followed by VALUE (VALUE NULL: ARG alone), or -1. */
static int find_pair(const struct qemu_command *c, const char *arg, const char *value)
{
	for (int i = 0; i < c->argc; i++)
		if (strcmp(c->argv[i], arg) == 0 &&
		    (!value || (i + 1 < c->argc && strcmp(c->argv[i + 1], value) == 0)))
			return i;
	return -1;
}

static int count(const struct qemu_command *c, const char *arg)
{
	int n = 0;

	for (int i = 0; i < c->argc; i++)
		n += strcmp(c->argv[i], arg) == 0;
	return n;
}

static void build_ok(const struct qemu_options *o, struct qemu_command *c)
{
	char err[256] = "";

	assert_int_equal(qemu_build_command(o, c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_non_null(c->argv);
	assert_null(c->argv[c->argc]);
}

static void check_common(const struct qemu_command *c)
{
	assert_string_equal(c->argv[0], "qemu-system-x86_64");
	assert_true(find_pair(c, "-nodefaults", NULL) > 0);
	assert_true(find_pair(c, "-nographic", NULL) > 0);
	assert_true(find_pair(c, "-no-reboot", NULL) > 0);
	/* named threads (CPU 0/TCG, IO ..., call_rcu): what --pin goes by */
	assert_true(find_pair(c, "-name", "kvmio,debug-threads=on") > 0);
	assert_true(find_pair(c, "-serial", "stdio") > 0);
	assert_true(find_pair(c, "-monitor", "none") > 0);
	assert_true(find_pair(c, "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04") > 0);
}

static void test_bios_default(void **state)
{
	struct qemu_options o = base_options();
	struct qemu_command c;

	(void)state;
	build_ok(&o, &c);
	check_common(&c);
	assert_string_equal(c.firmware, "bios");
	assert_string_equal(c.machine, "pc");
	assert_true(find_pair(&c, "-M", "pc") > 0);
	assert_true(find_pair(&c, "-kernel", "/img/kvmio.elf") > 0);
	assert_string_equal(c.image, "/img/kvmio.elf");
	assert_true(find_pair(&c, "-m", "128") > 0);
	assert_int_equal(find_pair(&c, "-append", NULL), -1); /* no guest options */
	assert_int_equal(count(&c, "-drive"), 0);
	qemu_command_free(&c);
}

static void test_bios_q35(void **state)
{
	struct qemu_options o = base_options();
	struct qemu_command c;

	(void)state;
	o.machine = "q35";
	build_ok(&o, &c);
	check_common(&c);
	assert_true(find_pair(&c, "-M", "q35") > 0);
	assert_true(find_pair(&c, "-kernel", "/img/kvmio.elf") > 0);
	qemu_command_free(&c);
}

static void test_pvh(void **state)
{
	static const char *const machines[] = { NULL, "pc", "q35", "microvm" };
	static const char *const expect[] = { "microvm", "pc", "q35", "microvm" };

	(void)state;
	for (int i = 0; i < 4; i++) {
		struct qemu_options o = base_options();
		struct qemu_command c;

		o.firmware = "pvh";
		o.machine = machines[i];
		build_ok(&o, &c);
		check_common(&c);
		assert_true(find_pair(&c, "-M", expect[i]) > 0);
		assert_true(find_pair(&c, "-kernel", "/img/kvmio-pvh.elf") > 0);
		assert_true(find_pair(&c, "-m", "128") > 0);
		/* pci-testdev on machines with PCI only */
		assert_int_equal(find_pair(&c, "-device", "pci-testdev") > 0, i == 1 || i == 2);
		qemu_command_free(&c);
	}
}

static void test_uefi(void **state)
{
	static const char *const machines[] = { NULL, "q35", "pc" };
	static const char *const expect[] = { "q35", "q35", "pc" };

	(void)state;
	for (int i = 0; i < 3; i++) {
		struct qemu_options o = base_options();
		struct qemu_command c;
		char *guest[] = { "bench=exits", "ops=10" };

		o.firmware = "uefi";
		o.machine = machines[i];
		o.guest_args = guest;
		o.nguest_args = 2;
		build_ok(&o, &c);
		check_common(&c);
		assert_true(find_pair(&c, "-M", expect[i]) > 0);
		assert_true(find_pair(&c, "-m", "256") > 0);
		assert_true(find_pair(&c, "-drive",
				      "if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.fd") > 0);
		assert_true(find_pair(&c, "-drive", "if=pflash,format=raw,unit=1,file=/tmp/x/VARS.fd") > 0);
		assert_true(find_pair(&c, "-drive",
				      "if=none,id=esp,format=raw,snapshot=on,file=fat:/tmp/x/esp") > 0);
		assert_true(find_pair(&c, "-device", "ide-hd,drive=esp,bus=ide.0,serial=" KVMIO_ESP_SERIAL) > 0);
		assert_int_equal(find_pair(&c, "-kernel", NULL), -1);
		assert_int_equal(find_pair(&c, "-append", NULL), -1); /* options go in kvmio.cmd */
		assert_string_equal(c.image, "/img/kvmio.efi");
		assert_true(find_pair(&c, "-device", "pci-testdev") > 0);
		qemu_command_free(&c);
	}
}

static void test_forbidden_combinations(void **state)
{
	static const char *const bad[][3] = {
		{ "bios", "microvm", NULL }, { "uefi", "microvm", NULL }, { "bios", "isapc", NULL },
		{ "coreboot", NULL, NULL }, { "bios", NULL, "hvf" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct qemu_options o = base_options();
		struct qemu_command c;
		char err[256] = "";

		o.firmware = bad[i][0];
		o.machine = bad[i][1];
		o.accel = bad[i][2];
		assert_int_equal(qemu_build_command(&o, &c, err, sizeof(err)), 2);
		assert_true(err[0] != '\0');
		assert_null(strchr(err, '\n'));
		assert_null(c.argv);
	}
}

static void test_accel(void **state)
{
	struct qemu_options o = base_options();
	struct qemu_command c;
	char err[256];

	(void)state;
	/* auto with /dev/kvm */
	o.kvm_flavour = kvm_yes;
	build_ok(&o, &c);
	assert_string_equal(c.accel, "kvm");
	assert_true(find_pair(&c, "-accel", "kvm") > 0);
	assert_true(find_pair(&c, "-cpu", "host") > 0);
	assert_int_equal(find_pair(&c, "-smp", NULL), -1); /* KVM keeps the guest's barriers itself */
	assert_string_equal(c.accel_label, "kvm (kvm_intel, hardware VMX, bare metal)");
	assert_non_null(strstr(c.accel_why, "auto: kvm, because"));
	qemu_command_free(&c);
	/* auto without */
	o.kvm_flavour = kvm_no;
	build_ok(&o, &c);
	assert_string_equal(c.accel, "tcg");
	assert_true(find_pair(&c, "-accel", "tcg") > 0);
	assert_true(find_pair(&c, "-cpu", "max") > 0);
	/* room for a second CPU, never plugged: QEMU 7.2's TCG keeps the guest's barriers */
	assert_true(find_pair(&c, "-smp", "1,sockets=2,cores=1,threads=1,maxcpus=2") > 0);
	assert_int_equal(find_pair(&c, "-accel", "kvm"), -1);
	assert_string_equal(c.accel_label, "tcg");
	assert_non_null(strstr(c.accel_why, "auto: tcg, because there is no /dev/kvm"));
	qemu_command_free(&c);
	/* auto on kvm_pvm: TCG, and why; explicit kvm there: kvm, labelled as emulated */
	o.kvm_flavour = kvm_pvm;
	build_ok(&o, &c);
	assert_string_equal(c.accel, "tcg");
	assert_non_null(strstr(c.accel_why, "auto: tcg, because /dev/kvm is kvm_pvm and this "
			       "guest is not PVM-aware"));
	assert_int_equal(c.exec, EXEC_NATIVE);
	qemu_command_free(&c);
	o.accel = "kvm";
	build_ok(&o, &c);
	assert_string_equal(c.accel, "kvm");
	assert_true(find_pair(&c, "-accel", "kvm") > 0);
	assert_string_equal(c.accel_label,
			    "kvm (kvm_pvm: unmodified guest run by KVM's instruction emulator)");
	assert_int_equal(c.exec, EXEC_EMULATED);
	qemu_command_free(&c);
	o.accel = NULL;
	o.kvm_flavour = kvm_no;
	/* explicit kvm without /dev/kvm: usage error */
	o.accel = "kvm";
	assert_int_equal(qemu_build_command(&o, &c, err, sizeof(err)), 2);
	assert_non_null(strstr(err, "/dev/kvm"));
	/* explicit kvm with it */
	o.kvm_flavour = kvm_yes;
	build_ok(&o, &c);
	assert_true(find_pair(&c, "-cpu", "host") > 0);
	qemu_command_free(&c);
	/* explicit tcg never asks about /dev/kvm, even when it is there */
	o.accel = "tcg";
	kvm_calls = 0;
	build_ok(&o, &c);
	assert_int_equal(kvm_calls, 0);
	assert_true(find_pair(&c, "-accel", "tcg") > 0);
	assert_true(find_pair(&c, "-cpu", "max") > 0);
	assert_true(find_pair(&c, "-smp", QEMU_TCG_SMP) > 0);
	qemu_command_free(&c);
}

static void test_pci_testdev_rule(void **state)
{
	struct {
		const char *args[3];
		int n, expect;
	} cases[] = {
		{ { NULL }, 0, 1 },                         /* no bench: exits by default */
		{ { "ops=5" }, 1, 1 },
		{ { "bench=exits" }, 1, 1 },
		{ { "bench=tsc,exits" }, 1, 1 },
		{ { "bench=tsc" }, 1, 0 },
		{ { "ops=5", "bench=exitsx" }, 2, 0 },
		{ { "ops=5 bench=tsc" }, 1, 0 },            /* one word holding several options */
		{ { "help" }, 1, 1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct qemu_options o = base_options();
		struct qemu_command c;

		o.guest_args = (char **)cases[i].args;
		o.nguest_args = cases[i].n;
		assert_int_equal(qemu_guest_runs_exits(o.guest_args, o.nguest_args), cases[i].expect);
		build_ok(&o, &c);
		assert_int_equal(find_pair(&c, "-device", "pci-testdev") > 0, cases[i].expect);
		qemu_command_free(&c);
		o.machine = "q35";
		build_ok(&o, &c);
		assert_int_equal(find_pair(&c, "-device", "pci-testdev") > 0, cases[i].expect);
		qemu_command_free(&c);
	}
}

static void test_guest_options_and_qemu_args(void **state)
{
	struct qemu_options o = base_options();
	struct qemu_command c;
	char *guest[] = { "bench=exits", "ops=100", "name=a b" };
	char *extra[] = { "-d", "int", "-smp", "2" };
	int i;

	(void)state;
	o.guest_args = guest;
	o.nguest_args = 3;
	o.qemu_args = extra;
	o.nqemu_args = 4;
	o.memory_mib = 64;
	build_ok(&o, &c);
	assert_true(find_pair(&c, "-append", "bench=exits ops=100 name=a b") > 0);
	assert_true(find_pair(&c, "-m", "64") > 0);
	/* verbatim, in order, at the very end */
	for (i = 0; i < 4; i++)
		assert_string_equal(c.argv[c.argc - 4 + i], extra[i]);
	qemu_command_free(&c);
}

static void test_command_string(void **state)
{
	char *argv[] = { "qemu", "-append", "a b", "it's", "", "-m", "128", NULL };
	char *s = qemu_command_string(argv);

	(void)state;
	assert_string_equal(s, "qemu -append 'a b' 'it'\\''s' '' -m 128");
	free(s);
}

/* ---- outcome of a boot ------------------------------------------------------------------- */

static void line(char *buf, size_t size, unsigned seq, const char *type, const char *fields)
{
	char body[1024];

	snprintf(body, sizeof(body), "@kvmio 1 %s seq=%u %s", type, seq, fields);
	snprintf(buf + strlen(buf), size - strlen(buf), "%s crc=%08x\n", body,
		 crc32_update(0, body, strlen(body)));
}

static int outcome(const char *serial, int exit_code, int timed_out, char *msg, size_t len)
{
	struct launch_result res = { 0 };
	struct log log;
	int rc;

	res.started = 1;
	res.exited = !timed_out;
	res.exit_code = exit_code;
	res.timed_out = timed_out;
	res.err = "qemu-system-x86_64: some problem\nsecond line\n";
	log_parse_buffer(&log, "serial", serial, strlen(serial));
	rc = launch_outcome(&res, &log, 7, "qemu", msg, len);
	log_free(&log);
	return rc;
}

static void test_outcome(void **state)
{
	char ok[2048] = "", fail[2048] = "", msg[512];
	static const char hello[] = "build=x boot=multiboot tsc_hz=0 tsc_method=none accel=tcg";

	(void)state;
	line(ok, sizeof(ok), 0, "hello", hello);
	line(ok, sizeof(ok), 1, "end", "status=ok records=1");
	line(fail, sizeof(fail), 0, "hello", hello);
	line(fail, sizeof(fail), 1, "error", "code=device msg=x");
	line(fail, sizeof(fail), 2, "end", "status=fail records=2");

	assert_int_equal(outcome(ok, 1, 0, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	assert_int_equal(outcome(ok, 0, 0, msg, sizeof(msg)), 0); /* ACPI power-off */
	assert_int_equal(outcome(fail, 3, 0, msg, sizeof(msg)), 1);
	assert_int_equal(outcome(fail, 0, 0, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "serial:2:"));
	/* QEMU and log disagree: the worse wins, and it is said */
	assert_int_equal(outcome(ok, 3, 0, msg, sizeof(msg)), 1);
	assert_non_null(strstr(msg, "disagrees"));
	/* host deadline */
	assert_int_equal(outcome(ok, 0, 1, msg, sizeof(msg)), 3);
	assert_string_equal(msg, "QEMU killed after 7 s (host timeout)");
	/* no protocol at all: QEMU's first stderr line */
	assert_int_equal(outcome("SeaBIOS\n", 1, 0, msg, sizeof(msg)), 9);
	assert_string_equal(msg, "QEMU printed no kvmio protocol: qemu-system-x86_64: some problem");
	/* a structurally bad log wins over an ok exit code */
	ok[strlen(ok) - 5] ^= 1;
	assert_int_equal(outcome(ok, 1, 0, msg, sizeof(msg)), 6);
	ok[strlen(ok) - 5] ^= 1;
	ok[strlen(ok) - 3] = '\0';
	assert_int_equal(outcome(ok, 1, 0, msg, sizeof(msg)), 4);
	/* unexpected QEMU status */
	assert_int_equal(outcome(fail, 2, 0, msg, sizeof(msg)), 9);
}

/* ---- launching ---------------------------------------------------------------------------- */

static void test_launch_captures(void **state)
{
	char *argv[] = { "sh", "-c", "printf 'out\\n'; printf 'err\\n' >&2; exit 5", NULL };
	struct launch_result res;

	(void)state;
	assert_int_equal(launch_run(argv, 10, &res), 0);
	assert_true(res.started);
	assert_true(res.exited);
	assert_int_equal(res.exit_code, 5);
	assert_string_equal(res.out, "out\n");
	assert_string_equal(res.err, "err\n");
	assert_false(res.timed_out);
	launch_result_free(&res);
}

static void test_launch_timeout(void **state)
{
	/* Ignores SIGTERM: needs the SIGKILL after the grace period. */
	char *argv[] = { "sh", "-c", "trap '' TERM; echo started; while :; do sleep 1; done", NULL };
	struct launch_result res;

	(void)state;
	assert_int_equal(launch_run(argv, 0.3, &res), 0);
	assert_true(res.timed_out);
	assert_false(res.exited);
	assert_string_equal(res.out, "started\n");
	launch_result_free(&res);
}

static void test_launch_missing_binary(void **state)
{
	char *argv[] = { "/nonexistent/qemu", NULL };
	struct launch_result res;
	struct log log;
	char msg[256];

	(void)state;
	assert_int_equal(launch_run(argv, 10, &res), -1);
	assert_false(res.started);
	log_parse_buffer(&log, "serial", "", 0);
	assert_int_equal(launch_outcome(&res, &log, 10, argv[0], msg, sizeof(msg)), 9);
	assert_non_null(strstr(msg, "No such file"));
	log_free(&log);
	launch_result_free(&res);
}

static void test_tempdir(void **state)
{
	char *dir = dir_make_temp(), path[4096];
	FILE *f;

	(void)state;
	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/a", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/a/f", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
	dir_remove_tree(dir);
	assert_int_not_equal(access(dir, F_OK), 0);
	free(dir);
}

/* ---- --disk ---------------------------------------------------------------------------------- */

static int exists_yes(const char *path)
{
	return strstr(path, "missing") == NULL;
}
static int uring_calls;
static int uring_yes(const char *qemu)
{
	(void)qemu;
	uring_calls++;
	return 1;
}
static int uring_no(const char *qemu)
{
	(void)qemu;
	uring_calls++;
	return 0;
}

/* Build with the given disks on MACHINE/FIRMWARE; returns the status, err filled. */
static int build_disks(struct qemu_command *c, const char *firmware, const char *machine,
		       char *err, size_t errlen, int (*uring)(const char *), ...)
{
	struct qemu_options o = base_options();
	char *disks[16];
	va_list ap;
	int n = 0, rc;

	va_start(ap, uring);
	for (const char *d = va_arg(ap, const char *); d && n < 16; d = va_arg(ap, const char *))
		disks[n++] = (char *)d;
	va_end(ap);
	o.firmware = firmware;
	o.machine = machine;
	o.disks = disks;
	o.ndisks = n;
	o.path_exists = exists_yes;
	o.io_uring_usable = uring ? uring : uring_yes;
	err[0] = '\0';
	rc = qemu_build_command(&o, c, err, errlen);
	if (rc == 0)
		assert_null(c->argv[c->argc]);
	return rc;
}

#define DISKS_OK(c, fw, m, ...)                                                                \
	do {                                                                                   \
		char e_[512];                                                                  \
		int rc_ = build_disks(c, fw, m, e_, sizeof(e_), NULL, __VA_ARGS__, (char *)NULL); \
		if (rc_ != 0)                                                                  \
			fail_msg("unexpected error: %s", e_);                                  \
	} while (0)

static void expect_disk_error(const char *firmware, const char *machine, const char *spec,
			      const char *spec2, const char *text)
{
	struct qemu_command c;
	char err[512];

	assert_int_equal(build_disks(&c, firmware, machine, err, sizeof(err), NULL, spec, spec2,
				     (char *)NULL), 2);
	if (!strstr(err, text))
		fail_msg("'%s': error '%s' lacks '%s'", spec, err, text);
	assert_null(strchr(err, '\n'));
	assert_null(c.argv);
}

static void test_disk_null_defaults(void **state)
{
	struct qemu_command c;

	(void)state;
	DISKS_OK(&c, "bios", "pc", "virtio-blk");
	assert_true(find_pair(&c, "-blockdev",
			      "driver=null-co,node-name=disk0,size=1073741824,read-zeroes=on") > 0);
	assert_true(find_pair(&c, "-device", "virtio-blk-pci,drive=disk0,addr=0x10,"
			      "disable-legacy=off,disable-modern=off") > 0);
	qemu_command_free(&c);

	DISKS_OK(&c, "bios", "pc", "virtio-blk,size=64M,latency-ns=2000,transport=legacy",
		 "virtio-blk,size=4096K,transport=modern", "virtio-blk,size=1G,transport=transitional");
	assert_true(find_pair(&c, "-blockdev", "driver=null-co,node-name=disk0,size=67108864,"
			      "read-zeroes=on,latency-ns=2000") > 0);
	assert_true(find_pair(&c, "-device", "virtio-blk-pci,drive=disk0,addr=0x10,"
			      "disable-legacy=off,disable-modern=on") > 0);
	assert_true(find_pair(&c, "-blockdev", "driver=null-co,node-name=disk1,size=4194304,"
			      "read-zeroes=on") > 0);
	assert_true(find_pair(&c, "-device", "virtio-blk-pci,drive=disk1,addr=0x11,"
			      "disable-legacy=on,disable-modern=off") > 0);
	assert_true(find_pair(&c, "-device", "virtio-blk-pci,drive=disk2,addr=0x12,"
			      "disable-legacy=off,disable-modern=off") > 0);
	/* the blockdev comes before the device that uses it */
	assert_true(find_pair(&c, "-blockdev", "driver=null-co,node-name=disk2,size=1073741824,"
			      "read-zeroes=on") < find_pair(&c, "-device", "virtio-blk-pci,drive=disk2,"
			      "addr=0x12,disable-legacy=off,disable-modern=off"));
	qemu_command_free(&c);

	/* q35 takes virtio-blk at the same slots */
	DISKS_OK(&c, "bios", "q35", "virtio-blk,readonly=on");
	assert_true(find_pair(&c, "-blockdev", "driver=null-co,node-name=disk0,size=1073741824,"
			      "read-zeroes=on,read-only=on") > 0);
	qemu_command_free(&c);
}

static void test_disk_ide(void **state)
{
	struct qemu_command c;

	(void)state;
	DISKS_OK(&c, "bios", "pc", "ide", "ide,size=2M", "ide", "ide", "virtio-blk");
	assert_true(find_pair(&c, "-device", "ide-hd,drive=disk0,bus=ide.0,unit=0") > 0);
	assert_true(find_pair(&c, "-device", "ide-hd,drive=disk1,bus=ide.0,unit=1") > 0);
	assert_true(find_pair(&c, "-device", "ide-hd,drive=disk2,bus=ide.1,unit=0") > 0);
	assert_true(find_pair(&c, "-device", "ide-hd,drive=disk3,bus=ide.1,unit=1") > 0);
	assert_true(find_pair(&c, "-blockdev", "driver=null-co,node-name=disk1,size=2097152,"
			      "read-zeroes=on") > 0);
	assert_true(find_pair(&c, "-device", "virtio-blk-pci,drive=disk4,addr=0x14,"
			      "disable-legacy=off,disable-modern=off") > 0);
	qemu_command_free(&c);

	/* pvh on pc: IDE too */
	DISKS_OK(&c, "pvh", "pc", "ide");
	assert_true(find_pair(&c, "-device", "ide-hd,drive=disk0,bus=ide.0,unit=0") > 0);
	qemu_command_free(&c);

	/* UEFI on pc: the ESP moves to AHCI, so IDE disks still start at ide.0 unit 0 */
	DISKS_OK(&c, "uefi", "pc", "ide", "virtio-blk");
	assert_true(find_pair(&c, "-device", "ahci,id=espahci,addr=0x1f") > 0);
	assert_true(find_pair(&c, "-device", "ide-hd,drive=esp,bus=espahci.0,serial=" KVMIO_ESP_SERIAL) > 0);
	assert_int_equal(find_pair(&c, "-device", "ide-hd,drive=esp,bus=ide.0,serial=" KVMIO_ESP_SERIAL), -1);
	assert_true(find_pair(&c, "-device", "ide-hd,drive=disk0,bus=ide.0,unit=0") > 0);
	qemu_command_free(&c);

	/* UEFI on q35: the ESP stays on the built-in AHCI (ide.0), virtio disks at 0x10+ */
	DISKS_OK(&c, "uefi", "q35", "virtio-blk");
	assert_true(find_pair(&c, "-device", "ide-hd,drive=esp,bus=ide.0,serial=" KVMIO_ESP_SERIAL) > 0);
	assert_int_equal(find_pair(&c, "-device", "ahci,id=espahci,addr=0x1f"), -1);
	qemu_command_free(&c);
	/* UEFI on pc without disks: unchanged */
	DISKS_OK(&c, "uefi", "pc", NULL);
	assert_true(find_pair(&c, "-device", "ide-hd,drive=esp,bus=ide.0,serial=" KVMIO_ESP_SERIAL) > 0);
	qemu_command_free(&c);
}

static void test_disk_ahci(void **state)
{
	struct qemu_command c;

	(void)state;
	/* q35: the built-in ich9-ahci, one disk per port (buses ide.0..ide.5), no extra device */
	DISKS_OK(&c, "bios", "q35", "ahci", "ahci,size=2M", "virtio-blk");
	assert_true(find_pair(&c, "-device", "ide-hd,drive=disk0,bus=ide.0") > 0);
	assert_true(find_pair(&c, "-device", "ide-hd,drive=disk1,bus=ide.1") > 0);
	assert_true(find_pair(&c, "-blockdev", "driver=null-co,node-name=disk1,size=2097152,"
			      "read-zeroes=on") > 0);
	assert_true(find_pair(&c, "-device", "virtio-blk-pci,drive=disk2,addr=0x12,"
			      "disable-legacy=off,disable-modern=off") > 0);
	assert_int_equal(find_pair(&c, "-device", "ahci,id=ahci0,addr=0xe"), -1);
	qemu_command_free(&c);

	/* pc: an ahci device of its own, after the IDE disks in the guest's numbering */
	DISKS_OK(&c, "bios", "pc", "ide", "ahci,backend=file=/x.qcow2,format=qcow2,cache=none",
		 "ahci,inject=eio-write");
	assert_true(find_pair(&c, "-device", "ide-hd,drive=disk0,bus=ide.0,unit=0") > 0);
	assert_true(find_pair(&c, "-device", "ahci,id=ahci0,addr=0xe") > 0);
	assert_true(find_pair(&c, "-device", "ide-hd,drive=disk1,bus=ahci0.0,write-cache=on") > 0);
	assert_true(find_pair(&c, "-device", "ide-hd,drive=disk2,bus=ahci0.1") > 0);
	assert_true(find_pair(&c, "-blockdev", "driver=qcow2,node-name=disk1,file=disk1-file") > 0);
	assert_true(find_pair(&c, "-blockdev", "driver=blkdebug,node-name=disk2-dbg,image=disk2-null,"
			      "inject-error.0.event=write_aio,inject-error.0.iotype=write,"
			      "inject-error.0.errno=5") > 0);
	qemu_command_free(&c);

	/* UEFI on q35: the ESP keeps port 0, --disk ahci starts at port 1 */
	DISKS_OK(&c, "uefi", "q35", "ahci");
	assert_true(find_pair(&c, "-device", "ide-hd,drive=esp,bus=ide.0,serial=" KVMIO_ESP_SERIAL) > 0);
	assert_true(find_pair(&c, "-device", "ide-hd,drive=disk0,bus=ide.1") > 0);
	qemu_command_free(&c);
}

static void test_disk_ahci_errors(void **state)
{
	struct qemu_command c;
	char err[512];

	(void)state;
	expect_disk_error("pvh", "microvm", "ahci", NULL, "--disk ahci: microvm");
	expect_disk_error("bios", "q35", "virtio-blk", "ahci",
			  "in the order ide, ahci, nvme, virtio-blk");
	expect_disk_error("bios", "pc", "ahci", "ide",
			  "in the order ide, ahci, nvme, virtio-blk");
	expect_disk_error("bios", "q35", "ahci,transport=modern", NULL, "transport= is for virtio-blk");
	expect_disk_error("bios", "q35", "ahci,iothread=on", NULL, "iothread=on with ahci");
	expect_disk_error("bios", "q35", "ahci,readonly=on", NULL, "readonly=on with ahci");
	expect_disk_error("bios", "q35", "ahci,size=1M,cache=none", NULL, "needs backend=file");
	expect_disk_error("bios", "q35", "ahci,inject=eio", NULL, "inject");
	expect_disk_error("bios", "q35", "sata", NULL, "unknown model 'sata' (ide, ahci");
	/* six ports; five under UEFI on q35, where the ESP has port 0 */
	assert_int_equal(build_disks(&c, "bios", "q35", err, sizeof(err), NULL, "ahci", "ahci",
				     "ahci", "ahci", "ahci", "ahci", "ahci", (char *)NULL), 2);
	assert_non_null(strstr(err, "at most 6 ahci disks"));
	DISKS_OK(&c, "bios", "pc", "ahci", "ahci", "ahci", "ahci", "ahci", "ahci");
	assert_true(find_pair(&c, "-device", "ide-hd,drive=disk5,bus=ahci0.5") > 0);
	qemu_command_free(&c);
	assert_int_equal(build_disks(&c, "uefi", "q35", err, sizeof(err), NULL, "ahci", "ahci",
				     "ahci", "ahci", "ahci", "ahci", (char *)NULL), 2);
	assert_non_null(strstr(err, "at most 5 ahci disks"));
	assert_null(strchr(err, '\n'));
}

static void test_disk_file(void **state)
{
	struct qemu_command c;

	(void)state;
	DISKS_OK(&c, "bios", "pc", "virtio-blk,backend=file=/d/a.img");
	assert_true(find_pair(&c, "-blockdev", "driver=file,node-name=disk0-file,filename=/d/a.img,"
			      "aio=threads,cache.direct=off,cache.no-flush=off") > 0);
	assert_true(find_pair(&c, "-blockdev", "driver=raw,node-name=disk0,file=disk0-file") > 0);
	assert_true(find_pair(&c, "-device", "virtio-blk-pci,drive=disk0,addr=0x10,"
			      "disable-legacy=off,disable-modern=off,write-cache=on") > 0);
	qemu_command_free(&c);
	/* file=PATH is short for backend=file=PATH */
	DISKS_OK(&c, "bios", "pc", "virtio-blk,file=/d/a.img");
	assert_true(find_pair(&c, "-blockdev", "driver=file,node-name=disk0-file,filename=/d/a.img,"
			      "aio=threads,cache.direct=off,cache.no-flush=off") > 0);
	qemu_command_free(&c);

	DISKS_OK(&c, "bios", "pc", "ide,backend=file=/d/a,,b.qcow2,format=qcow2,cache=none,aio=native",
		 "ide,backend=file=/d/b,cache=writethrough", "ide,backend=file=/d/c,cache=directsync",
		 "ide,backend=file=/d/d,cache=unsafe,aio=io_uring",
		 "virtio-blk,backend=file=/d/e,cache=writeback,readonly=on");
	assert_true(find_pair(&c, "-blockdev", "driver=file,node-name=disk0-file,"
			      "filename=/d/a,,b.qcow2,aio=native,cache.direct=on,cache.no-flush=off") > 0);
	assert_true(find_pair(&c, "-blockdev", "driver=qcow2,node-name=disk0,file=disk0-file") > 0);
	assert_true(find_pair(&c, "-device", "ide-hd,drive=disk0,bus=ide.0,unit=0,write-cache=on") > 0);
	assert_true(find_pair(&c, "-blockdev", "driver=file,node-name=disk1-file,filename=/d/b,"
			      "aio=threads,cache.direct=off,cache.no-flush=off") > 0);
	assert_true(find_pair(&c, "-device", "ide-hd,drive=disk1,bus=ide.0,unit=1,write-cache=off") > 0);
	assert_true(find_pair(&c, "-blockdev", "driver=file,node-name=disk2-file,filename=/d/c,"
			      "aio=threads,cache.direct=on,cache.no-flush=off") > 0);
	assert_true(find_pair(&c, "-device", "ide-hd,drive=disk2,bus=ide.1,unit=0,write-cache=off") > 0);
	assert_true(find_pair(&c, "-blockdev", "driver=file,node-name=disk3-file,filename=/d/d,"
			      "aio=io_uring,cache.direct=off,cache.no-flush=on") > 0);
	assert_true(find_pair(&c, "-device", "ide-hd,drive=disk3,bus=ide.1,unit=1,write-cache=on") > 0);
	assert_true(find_pair(&c, "-blockdev", "driver=file,node-name=disk4-file,filename=/d/e,"
			      "aio=threads,cache.direct=off,cache.no-flush=off,read-only=on") > 0);
	assert_true(find_pair(&c, "-blockdev", "driver=raw,node-name=disk4,file=disk4-file,"
			      "read-only=on") > 0);
	qemu_command_free(&c);
}

static void test_disk_inject(void **state)
{
	struct qemu_command c;

	(void)state;
	DISKS_OK(&c, "bios", "pc", "virtio-blk,backend=file=/d/a,format=qcow2,inject=eio-read");
	assert_true(find_pair(&c, "-blockdev", "driver=file,node-name=disk0-file,filename=/d/a,"
			      "aio=threads,cache.direct=off,cache.no-flush=off") > 0);
	assert_true(find_pair(&c, "-blockdev", "driver=blkdebug,node-name=disk0-dbg,image=disk0-file,"
			      "inject-error.0.event=read_aio,inject-error.0.iotype=read,"
			      "inject-error.0.errno=5") > 0);
	assert_true(find_pair(&c, "-blockdev", "driver=qcow2,node-name=disk0,file=disk0-dbg") > 0);
	qemu_command_free(&c);

	/* null backend: a raw node on top, so blkdebug sees the write_aio events */
	DISKS_OK(&c, "bios", "pc", "ide,inject=eio-write,size=8M");
	assert_true(find_pair(&c, "-blockdev", "driver=null-co,node-name=disk0-null,size=8388608,"
			      "read-zeroes=on") > 0);
	assert_true(find_pair(&c, "-blockdev", "driver=blkdebug,node-name=disk0-dbg,image=disk0-null,"
			      "inject-error.0.event=write_aio,inject-error.0.iotype=write,"
			      "inject-error.0.errno=5") > 0);
	assert_true(find_pair(&c, "-blockdev", "driver=raw,node-name=disk0,file=disk0-dbg") > 0);
	assert_true(find_pair(&c, "-device", "ide-hd,drive=disk0,bus=ide.0,unit=0") > 0);
	qemu_command_free(&c);
}

/* nvme: one controller per disk at 0x10+N like the virtio disks, the same backend keys, and its
 * place in the model order (ide, ahci, nvme, virtio-blk) */
static void test_disk_nvme(void **state)
{
	struct qemu_command c;

	(void)state;
	DISKS_OK(&c, "bios", "pc", "ide", "nvme", "nvme,size=64M,latency-ns=2000", "virtio-blk");
	assert_true(find_pair(&c, "-device", "ide-hd,drive=disk0,bus=ide.0,unit=0") > 0);
	assert_true(find_pair(&c, "-blockdev", "driver=null-co,node-name=disk1,size=1073741824,"
			      "read-zeroes=on") > 0);
	assert_true(find_pair(&c, "-device", "nvme,serial=kvmio-disk1,drive=disk1,addr=0x11") > 0);
	assert_true(find_pair(&c, "-blockdev", "driver=null-co,node-name=disk2,size=67108864,"
			      "read-zeroes=on,latency-ns=2000") > 0);
	assert_true(find_pair(&c, "-device", "nvme,serial=kvmio-disk2,drive=disk2,addr=0x12") > 0);
	assert_true(find_pair(&c, "-device", "virtio-blk-pci,drive=disk3,addr=0x13,"
			      "disable-legacy=off,disable-modern=off") > 0);
	qemu_command_free(&c);

	/* q35; a file with its cache mode (write-cache follows it, as for the other models) */
	DISKS_OK(&c, "bios", "q35", "nvme,backend=file=/d/a.qcow2,format=qcow2,cache=writethrough");
	assert_true(find_pair(&c, "-blockdev", "driver=file,node-name=disk0-file,filename=/d/a.qcow2,"
			      "aio=threads,cache.direct=off,cache.no-flush=off") > 0);
	assert_true(find_pair(&c, "-blockdev", "driver=qcow2,node-name=disk0,file=disk0-file") > 0);
	assert_true(find_pair(&c, "-device", "nvme,serial=kvmio-disk0,drive=disk0,addr=0x10,"
			      "write-cache=off") > 0);
	qemu_command_free(&c);

	/* blkdebug under the controller */
	DISKS_OK(&c, "uefi", "q35", "nvme,inject=eio-read,size=8M");
	assert_true(find_pair(&c, "-blockdev", "driver=blkdebug,node-name=disk0-dbg,image=disk0-null,"
			      "inject-error.0.event=read_aio,inject-error.0.iotype=read,"
			      "inject-error.0.errno=5") > 0);
	assert_true(find_pair(&c, "-device", "nvme,serial=kvmio-disk0,drive=disk0,addr=0x10") > 0);
	qemu_command_free(&c);

	expect_disk_error("bios", "pc", "virtio-blk", "nvme", "give nvme disks before virtio-blk disks");
	expect_disk_error("bios", "pc", "nvme", "ide", "give ide disks before nvme disks");
	expect_disk_error("bios", "pc", "nvme", "ide", "in the order ide, ahci, nvme, virtio-blk");
	expect_disk_error("pvh", "microvm", "nvme", NULL, "microvm has no PCI bus");
	expect_disk_error("bios", "pc", "nvme,transport=modern", NULL, "transport= is for virtio-blk");
	expect_disk_error("bios", "pc", "nvme,iothread=on", NULL, "iothread=on with nvme");
	expect_disk_error("bios", "pc", "nvme,readonly=on", NULL, "readonly=on with nvme");
	expect_disk_error("bios", "pc", "nvme,size=1000", NULL, "multiple of 512");
	expect_disk_error("bios", "pc", "nvme,cache=none", NULL, "cache= needs backend=file");
	expect_disk_error("bios", "pc", "nvmee", NULL, "unknown model 'nvmee' (ide, ahci, nvme, virtio-blk");
}

static void test_disk_errors(void **state)
{
	struct qemu_command c;
	char err[512];

	(void)state;
	expect_disk_error("bios", "q35", "ide", NULL, "IDE needs -M pc (q35 has AHCI, microvm has no IDE)");
	expect_disk_error("uefi", NULL, "ide", NULL, "IDE needs -M pc");
	expect_disk_error("pvh", "microvm", "ide", NULL, "microvm");
	expect_disk_error("pvh", "microvm", "virtio-blk,transport=modern", NULL, "microvm has no PCI");
	expect_disk_error("bios", "pc", "virtio-blk", "ide",
			  "in the order ide, ahci, nvme, virtio-blk");
	expect_disk_error("bios", "pc", "scsi", NULL, "unknown model 'scsi'");
	expect_disk_error("bios", "pc", "", NULL, "empty spec");
	expect_disk_error("bios", "pc", "virtio-blk,colour=red", NULL, "unknown key 'colour'");
	expect_disk_error("bios", "pc", "virtio-blk,size", NULL, "not KEY=VALUE");
	expect_disk_error("bios", "pc", "virtio-blk,size=", NULL, "not KEY=VALUE");
	expect_disk_error("bios", "pc", "virtio-blk,transport=pci", NULL, "bad transport=pci "
			  "(legacy, modern, transitional, mmio, mmio-modern)");
	expect_disk_error("bios", "pc", "virtio-blk,backend=nbd", NULL, "bad backend=nbd");
	expect_disk_error("bios", "pc", "virtio-blk,size=12Q", NULL, "bad size=12Q");
	expect_disk_error("bios", "pc", "virtio-blk,size=abc", NULL, "bad size=abc");
	expect_disk_error("bios", "pc", "virtio-blk,size=0", NULL, "bad size=0");
	expect_disk_error("bios", "pc", "virtio-blk,size=1000", NULL, "multiple of 512");
	expect_disk_error("bios", "pc", "virtio-blk,latency-ns=-5", NULL, "bad latency-ns=-5");
	expect_disk_error("bios", "pc", "virtio-blk,readonly=yes", NULL, "bad readonly=yes");
	expect_disk_error("bios", "pc", "virtio-blk,inject=eio", NULL, "bad inject=eio");
	expect_disk_error("bios", "pc", "virtio-blk,cache=fast,backend=file=/d/a", NULL, "bad cache=fast");
	expect_disk_error("bios", "pc", "virtio-blk,aio=posix,backend=file=/d/a", NULL, "bad aio=posix");
	expect_disk_error("bios", "pc", "virtio-blk,format=vmdk,backend=file=/d/a", NULL, "bad format=vmdk");
	expect_disk_error("bios", "pc", "virtio-blk,format=raw", NULL, "format= needs backend=file");
	expect_disk_error("bios", "pc", "virtio-blk,cache=none", NULL, "cache= needs backend=file");
	expect_disk_error("bios", "pc", "virtio-blk,aio=native", NULL, "aio= needs backend=file");
	expect_disk_error("bios", "pc", "virtio-blk,backend=file=/d/a,size=1G", NULL,
			  "size= is for backend=null");
	expect_disk_error("bios", "pc", "virtio-blk,backend=file=/d/a,latency-ns=5", NULL,
			  "latency-ns= is for backend=null");
	expect_disk_error("bios", "pc", "virtio-blk,backend=file=/d/a,aio=native", NULL,
			  "aio=native needs O_DIRECT: cache=none or cache=directsync (not writeback)");
	expect_disk_error("bios", "pc", "virtio-blk,backend=file=/d/a,aio=native,cache=unsafe", NULL,
			  "(not unsafe)");
	expect_disk_error("bios", "pc", "virtio-blk,backend=file=/d/missing.img", NULL,
			  "backend file /d/missing.img not found");
	expect_disk_error("bios", "pc", "ide,readonly=on", NULL,
			  "QEMU's ide-hd refuses read-only drives");
	expect_disk_error("bios", "pc", "ide,transport=modern", NULL, "transport= is for virtio-blk");
	expect_disk_error("bios", "pc", "ide,,", NULL, "unknown model 'ide,'");
	/* io_uring: asked of QEMU only when used */
	uring_calls = 0;
	assert_int_equal(build_disks(&c, "bios", "pc", err, sizeof(err), uring_no,
				     "virtio-blk,backend=file=/d/a,aio=threads", (char *)NULL), 0);
	qemu_command_free(&c);
	assert_int_equal(uring_calls, 0);
	assert_int_equal(build_disks(&c, "bios", "pc", err, sizeof(err), uring_no,
				     "virtio-blk,backend=file=/d/a,aio=io_uring", (char *)NULL), 2);
	assert_non_null(strstr(err, "aio=io_uring: this QEMU (qemu-system-x86_64) does not support it"));
	assert_int_equal(uring_calls, 1);
	/* limits */
	assert_int_equal(build_disks(&c, "bios", "pc", err, sizeof(err), NULL, "ide", "ide", "ide",
				     "ide", "ide", (char *)NULL), 2);
	assert_non_null(strstr(err, "at most 4 ide disks"));
	assert_int_equal(build_disks(&c, "bios", "pc", err, sizeof(err), NULL, "virtio-blk",
				     "virtio-blk", "virtio-blk", "virtio-blk", "virtio-blk",
				     "virtio-blk", "virtio-blk", "virtio-blk", "virtio-blk",
				     (char *)NULL), 2);
	assert_non_null(strstr(err, "at most 8 disks"));
}

/* poll-max-ns=: the iothread object's adaptive polling window (docs/measurement.md §3: a lost
 * notification once blamed on it); only with an iothread, one value per shared iothread */
static void test_disk_poll_max_ns(void **state)
{
	struct qemu_command c;

	(void)state;
	DISKS_OK(&c, "bios", "pc", "virtio-blk,iothread=on,poll-max-ns=0");
	assert_true(find_pair(&c, "-object", "iothread,id=iothread.disk0,poll-max-ns=0") > 0);
	assert_int_equal(count(&c, "-object"), 1);
	qemu_command_free(&c);
	/* not given: QEMU's default, no property */
	DISKS_OK(&c, "bios", "pc", "virtio-blk,iothread=on");
	assert_true(find_pair(&c, "-object", "iothread,id=iothread.disk0") > 0);
	qemu_command_free(&c);
	/* a shared NAME with the same value on each disk: one object carrying it */
	DISKS_OK(&c, "bios", "q35", "virtio-blk,iothread=io_A,poll-max-ns=20000",
		 "virtio-blk,iothread=io_A,poll-max-ns=20000");
	assert_int_equal(count(&c, "-object"), 1);
	assert_true(find_pair(&c, "-object", "iothread,id=io_A,poll-max-ns=20000") > 0);
	qemu_command_free(&c);
	expect_disk_error("bios", "q35", "virtio-blk,iothread=io_A,poll-max-ns=0",
			  "virtio-blk,iothread=io_A", "share iothread io_A but ask for different "
			  "poll-max-ns=");
	expect_disk_error("bios", "pc", "virtio-blk,poll-max-ns=0", NULL,
			  "poll-max-ns= is the polling of the disk's iothread: it needs iothread=on");
	expect_disk_error("bios", "pc", "virtio-blk,iothread=on,poll-max-ns=-1", NULL,
			  "bad poll-max-ns=-1");
	expect_disk_error("bios", "pc", "virtio-blk,iothread=on,poll-max-ns=2000000000", NULL,
			  "bad poll-max-ns=2000000000 (0..1000000000 ns");
	expect_disk_error("bios", "pc", "ide,poll-max-ns=0", NULL, "needs iothread=on");
}

/* iothread=on|off|NAME: the one place in qemu.c that every virtio storage device goes through */
static void test_disk_iothread(void **state)
{
	struct qemu_command c;
	char err[512];

	(void)state;
	/* on: an iothread object of the disk's own, before the device that names it */
	DISKS_OK(&c, "bios", "pc", "virtio-blk,latency-ns=200000,iothread=on");
	assert_true(find_pair(&c, "-object", "iothread,id=iothread.disk0") > 0);
	assert_true(find_pair(&c, "-object", "iothread,id=iothread.disk0") <
		    find_pair(&c, "-device", "virtio-blk-pci,drive=disk0,addr=0x10,disable-legacy=off,"
			      "disable-modern=off,iothread=iothread.disk0"));
	assert_int_equal(count(&c, "-object"), 1);
	assert_string_equal(c.iothreads, "on");
	qemu_command_free(&c);

	/* off, given or not: QEMU's main loop, no object, no property */
	DISKS_OK(&c, "bios", "pc", "virtio-blk,iothread=off", "virtio-blk");
	assert_int_equal(count(&c, "-object"), 0);
	assert_true(find_pair(&c, "-device", "virtio-blk-pci,drive=disk0,addr=0x10,"
			      "disable-legacy=off,disable-modern=off") > 0);
	assert_true(find_pair(&c, "-device", "virtio-blk-pci,drive=disk1,addr=0x11,"
			      "disable-legacy=off,disable-modern=off") > 0);
	assert_string_equal(c.iothreads, "off,off");
	qemu_command_free(&c);

	/* a shared NAME: one object, both disks on it; a third disk on the main loop */
	DISKS_OK(&c, "bios", "q35", "virtio-blk,iothread=io_A", "virtio-blk,iothread=off",
		 "virtio-blk,backend=file=/d/a,iothread=io_A");
	assert_int_equal(count(&c, "-object"), 1);
	assert_true(find_pair(&c, "-object", "iothread,id=io_A") > 0);
	assert_true(find_pair(&c, "-device", "virtio-blk-pci,drive=disk0,addr=0x10,"
			      "disable-legacy=off,disable-modern=off,iothread=io_A") > 0);
	assert_true(find_pair(&c, "-device", "virtio-blk-pci,drive=disk1,addr=0x11,"
			      "disable-legacy=off,disable-modern=off") > 0);
	assert_true(find_pair(&c, "-device", "virtio-blk-pci,drive=disk2,addr=0x12,"
			      "disable-legacy=off,disable-modern=off,write-cache=on,iothread=io_A") > 0);
	assert_string_equal(c.iothreads, "io_A,off,io_A");
	qemu_command_free(&c);

	/* two disks each on: one iothread each */
	DISKS_OK(&c, "bios", "pc", "virtio-blk,iothread=on", "virtio-blk,transport=modern,iothread=on");
	assert_int_equal(count(&c, "-object"), 2);
	assert_true(find_pair(&c, "-object", "iothread,id=iothread.disk0") > 0);
	assert_true(find_pair(&c, "-object", "iothread,id=iothread.disk1") > 0);
	assert_true(find_pair(&c, "-device", "virtio-blk-pci,drive=disk1,addr=0x11,"
			      "disable-legacy=on,disable-modern=off,iothread=iothread.disk1") > 0);
	assert_string_equal(c.iothreads, "on,on");
	qemu_command_free(&c);

	/* IDE: QEMU's ide-hd has no iothread; off is what it has, so off is accepted */
	expect_disk_error("bios", "pc", "ide,iothread=on", NULL,
			  "--disk: iothread=on with ide: QEMU's ide-hd has no iothread (use virtio-blk)");
	expect_disk_error("bios", "pc", "ide,iothread=shared", NULL, "ide-hd has no iothread");
	DISKS_OK(&c, "bios", "pc", "ide,iothread=off", "virtio-blk,iothread=on");
	assert_string_equal(c.iothreads, "off,on");
	assert_int_equal(count(&c, "-object"), 1);
	assert_true(find_pair(&c, "-device", "virtio-blk-pci,drive=disk1,addr=0x11,"
			      "disable-legacy=off,disable-modern=off,iothread=iothread.disk1") > 0);
	qemu_command_free(&c);
	/* no disks: nothing to say */
	assert_int_equal(build_disks(&c, "bios", "pc", err, sizeof(err), NULL, (char *)NULL), 0);
	assert_string_equal(c.iothreads, "");
	qemu_command_free(&c);

	/* NAMEs: a letter, then letters, digits, '-', '_' (no dot: on's objects have one) */
	expect_disk_error("bios", "pc", "virtio-blk,iothread=1st", NULL, "--disk: bad iothread=1st "
			  "(on, off, or a NAME");
	expect_disk_error("bios", "pc", "virtio-blk,iothread=iothread.disk0", NULL, "bad iothread=");
	expect_disk_error("bios", "pc", "virtio-blk,iothread=a b", NULL, "bad iothread=");
	expect_disk_error("bios", "pc", "virtio-blk,iothread=abcdefghijklmnopqrstuvwxyzABCDEFG",
			  NULL, "at most 31");
	DISKS_OK(&c, "bios", "pc", "virtio-blk,iothread=abcdefghijklmnopqrstuvwxyzABCDE");
	qemu_command_free(&c);
}

/* virtio-scsi: a virtio-scsi-pci controller per disk at 0x10+N, its scsi-hd at target 0 LUN 0;
 * the same keys as virtio-blk; --disk order is the guest's model order. */
static void test_disk_virtio_scsi(void **state)
{
	struct qemu_command c;

	(void)state;
	DISKS_OK(&c, "bios", "pc", "virtio-scsi");
	assert_true(find_pair(&c, "-blockdev", "driver=null-co,node-name=disk0,size=1073741824,"
			      "read-zeroes=on") > 0);
	assert_true(find_pair(&c, "-device", "virtio-scsi-pci,id=scsi0,addr=0x10,"
			      "disable-legacy=off,disable-modern=off") > 0);
	assert_true(find_pair(&c, "-device", "virtio-scsi-pci,id=scsi0,addr=0x10,"
			      "disable-legacy=off,disable-modern=off") <
		    find_pair(&c, "-device", "scsi-hd,drive=disk0,bus=scsi0.0,channel=0,scsi-id=0,"
			      "lun=0"));
	assert_int_equal(count(&c, "-device"), 4); /* + isa-debug-exit, pci-testdev */
	assert_string_equal(c.iothreads, "off");
	qemu_command_free(&c);

	/* after ide and virtio-blk; transport, file, cache, format, iothread; q35 too */
	DISKS_OK(&c, "bios", "pc", "ide", "virtio-blk", "virtio-scsi,transport=modern,iothread=on",
		 "virtio-scsi,transport=legacy,backend=file=/d/a,format=qcow2,cache=writethrough,"
		 "readonly=on,iothread=shared");
	assert_true(find_pair(&c, "-device", "ide-hd,drive=disk0,bus=ide.0,unit=0") > 0);
	assert_true(find_pair(&c, "-device", "virtio-blk-pci,drive=disk1,addr=0x11,"
			      "disable-legacy=off,disable-modern=off") > 0);
	assert_true(find_pair(&c, "-object", "iothread,id=iothread.disk2") > 0);
	assert_true(find_pair(&c, "-device", "virtio-scsi-pci,id=scsi2,addr=0x12,disable-legacy=on,"
			      "disable-modern=off,iothread=iothread.disk2") > 0);
	assert_true(find_pair(&c, "-device", "scsi-hd,drive=disk2,bus=scsi2.0,channel=0,scsi-id=0,"
			      "lun=0") > 0);
	assert_true(find_pair(&c, "-object", "iothread,id=shared") > 0);
	assert_true(find_pair(&c, "-blockdev", "driver=file,node-name=disk3-file,filename=/d/a,"
			      "aio=threads,cache.direct=off,cache.no-flush=off,read-only=on") > 0);
	assert_true(find_pair(&c, "-blockdev", "driver=qcow2,node-name=disk3,file=disk3-file,"
			      "read-only=on") > 0);
	assert_true(find_pair(&c, "-device", "virtio-scsi-pci,id=scsi3,addr=0x13,disable-legacy=off,"
			      "disable-modern=on,iothread=shared") > 0);
	assert_true(find_pair(&c, "-device", "scsi-hd,drive=disk3,bus=scsi3.0,channel=0,scsi-id=0,"
			      "lun=0,write-cache=off") > 0);
	assert_string_equal(c.iothreads, "off,off,on,shared");
	qemu_command_free(&c);

	/* blkdebug under the controller's disk, as for virtio-blk */
	DISKS_OK(&c, "bios", "q35", "virtio-scsi,size=8M,inject=eio-write");
	assert_true(find_pair(&c, "-blockdev", "driver=blkdebug,node-name=disk0-dbg,image=disk0-null,"
			      "inject-error.0.event=write_aio,inject-error.0.iotype=write,"
			      "inject-error.0.errno=5") > 0);
	assert_true(find_pair(&c, "-device", "scsi-hd,drive=disk0,bus=scsi0.0,channel=0,scsi-id=0,"
			      "lun=0") > 0);
	qemu_command_free(&c);

	/* the order rule names the order; microvm refused with one line */
	expect_disk_error("bios", "pc", "virtio-scsi", "virtio-blk", "--disk: give virtio-blk disks "
			  "before virtio-scsi disks (the guest numbers disks by model in the order ide, ");
	expect_disk_error("bios", "pc", "virtio-scsi", "ide", "give ide disks before virtio-scsi");
	expect_disk_error("pvh", "microvm", "virtio-scsi", NULL, "--disk virtio-scsi: microvm has no "
			  "PCI");
	expect_disk_error("bios", "pc", "virtio-scsi,transport=mmio", NULL,
			  "kvmio drives virtio-scsi over PCI only");
	expect_disk_error("bios", "pc", "virtio-scsi,lun=1", NULL, "unknown key 'lun'");
	expect_disk_error("bios", "pc", "virtio-scsi,cache=none", NULL, "cache= needs backend=file");
	expect_disk_error("bios", "pc", "virtio-scsi,backend=file=/d/a,size=1G", NULL,
			  "size= is for backend=null");
	expect_disk_error("bios", "pc", "virtio-scsi,iothread=9", NULL, "bad iothread=9");
	expect_disk_error("bios", "pc", "virtio-scsix", NULL, "unknown model 'virtio-scsix' (ide, ");
}

static void test_parse_size(void **state)
{
	unsigned long long v;

	(void)state;
	assert_int_equal(qemu_parse_size("512", &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(qemu_parse_size("4K", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(qemu_parse_size("3m", &v), 0);
	assert_int_equal(v, 3ull << 20);
	assert_int_equal(qemu_parse_size("2G", &v), 0);
	assert_int_equal(v, 2ull << 30);
	assert_int_equal(qemu_parse_size("2GiB", &v), 0);
	assert_int_equal(v, 2ull << 30);
	assert_int_equal(qemu_parse_size("1T", &v), 0);
	assert_int_equal(v, 1ull << 40);
	assert_int_not_equal(qemu_parse_size("", &v), 0);
	assert_int_not_equal(qemu_parse_size("G", &v), 0);
	assert_int_not_equal(qemu_parse_size("-1", &v), 0);
	assert_int_not_equal(qemu_parse_size("1X", &v), 0);
	assert_int_not_equal(qemu_parse_size("1Gx", &v), 0);
	assert_int_not_equal(qemu_parse_size("99999999999999999999", &v), 0);
	assert_int_not_equal(qemu_parse_size("99999999999T", &v), 0);
}

/* ---- --net ---------------------------------------------------------------------------------- */

static int yes(void) { return 1; }
static int no(void) { return 0; }

static void expect_net_error(const char *machine, const char *spec, const char *needle)
{
	struct qemu_options o = base_options();
	struct qemu_command c;
	char err[512] = "";
	char *nets[] = { (char *)spec };

	o.machine = machine;
	o.nets = nets;
	o.nnets = 1;
	o.tap_usable = yes;
	o.vhost_usable = no;
	assert_int_equal(qemu_build_command(&o, &c, err, sizeof(err)), 2);
	if (!strstr(err, needle))
		fail_msg("'%s': error '%s' lacks '%s'", spec, err, needle);
	assert_null(strchr(err, '\n'));
}

static void test_net_loop(void **state)
{
	struct qemu_options o = base_options();
	struct qemu_command c;
	char *nets[] = { "e1000,topology=loop", "rtl8139,topology=loop,mac=52:54:00:AA:bb:01" };
	char *guest[] = { "bench=net-tx" };
	char *guest_rx[] = { "bench=net-tx rxdev=0" };

	(void)state;
	o.nets = nets;
	o.nnets = 2;
	o.guest_args = guest;
	o.nguest_args = 1;
	assert_true(qemu_loop_needs_rxdev(&o));
	build_ok(&o, &c);
	assert_true(find_pair(&c, "-netdev", "hubport,id=net0,hubid=0") > 0);
	assert_true(find_pair(&c, "-netdev", "hubport,id=net1,hubid=0") > 0);
	assert_true(find_pair(&c, "-device", "e1000,netdev=net0,addr=0x18") > 0);
	assert_true(find_pair(&c, "-device", "rtl8139,netdev=net1,addr=0x19,mac=52:54:00:aa:bb:01") > 0);
	assert_true(find_pair(&c, "-append", "bench=net-tx rxdev=1") > 0);
	assert_int_equal(find_pair(&c, "-device", "pci-testdev"), -1);
	assert_string_equal(c.argv[0], "qemu-system-x86_64");
	qemu_command_free(&c);
	o.guest_args = guest_rx; /* the guest options say: nothing appended */
	assert_false(qemu_loop_needs_rxdev(&o));
	build_ok(&o, &c);
	assert_true(find_pair(&c, "-append", "bench=net-tx rxdev=0") > 0);
	qemu_command_free(&c);
	o.nnets = 1; /* one loop NIC: no rxdev */
	o.guest_args = guest;
	assert_false(qemu_loop_needs_rxdev(&o));
	qemu_command_free(&c);
}

static void test_net_peer_and_models(void **state)
{
	struct qemu_options o = base_options();
	struct qemu_command c;
	char *nets[] = { "virtio-net", "virtio-net,transport=legacy", "virtio-net,transport=modern",
			 "e1000-82545em,peer-mode=sink", "e1000-82544gc,peer-mode=flood,peer-size=1514",
			 "e1000e", "rtl8139,topology=peer" };

	(void)state;
	o.machine = "q35";
	o.nets = nets;
	o.nnets = 7;
	o.net_dir = "/tmp/kvmio.abc";
	build_ok(&o, &c);
	assert_true(find_pair(&c, "-netdev", "dgram,id=net0,local.type=unix,local.path="
			      "/tmp/kvmio.abc/guest0.sock,remote.type=unix,remote.path="
			      "/tmp/kvmio.abc/peer0.sock") > 0);
	assert_true(find_pair(&c, "-device", "virtio-net-pci,netdev=net0,addr=0x18,"
			      "disable-legacy=off,disable-modern=off") > 0);
	assert_true(find_pair(&c, "-device", "virtio-net-pci,netdev=net1,addr=0x19,"
			      "disable-legacy=off,disable-modern=on") > 0);
	assert_true(find_pair(&c, "-device", "virtio-net-pci,netdev=net2,addr=0x1a,"
			      "disable-legacy=on,disable-modern=off") > 0);
	assert_true(find_pair(&c, "-device", "e1000-82545em,netdev=net3,addr=0x1b") > 0);
	assert_true(find_pair(&c, "-device", "e1000-82544gc,netdev=net4,addr=0x1c") > 0);
	assert_true(find_pair(&c, "-device", "e1000e,netdev=net5,addr=0x1d") > 0);
	assert_true(find_pair(&c, "-device", "rtl8139,netdev=net6,addr=0x1e") > 0);
	assert_int_equal(count(&c, "-netdev"), 7);
	qemu_command_free(&c);
}

static void test_net_tap(void **state)
{
	struct qemu_options o = base_options();
	struct qemu_command c;
	char *nets[] = { "virtio-net,topology=tap" };
	char *nets_on[] = { "virtio-net,topology=tap,vhost=on" };
	char *nets_e1000[] = { "e1000,topology=tap" };
	char err[256];

	(void)state;
	o.nets = nets;
	o.nnets = 1;
	o.netns = "kvmio-42";
	o.tap_usable = yes;
	o.vhost_usable = yes;
	build_ok(&o, &c); /* tcg: no vhost even though /dev/vhost-net exists */
	assert_string_equal(c.argv[0], "ip");
	assert_string_equal(c.argv[1], "netns");
	assert_string_equal(c.argv[2], "exec");
	assert_string_equal(c.argv[3], "kvmio-42");
	assert_string_equal(c.argv[4], "qemu-system-x86_64");
	assert_true(c.has_tap);
	assert_string_equal(c.tap, "kvmiotap0");
	assert_true(find_pair(&c, "-netdev", "tap,id=net0,ifname=kvmiotap0,script=no,"
			      "downscript=no,vhost=off") > 0);
	qemu_command_free(&c);
	o.kvm_flavour = kvm_yes; /* kvm + /dev/vhost-net: vhost by default */
	build_ok(&o, &c);
	assert_true(find_pair(&c, "-netdev", "tap,id=net0,ifname=kvmiotap0,script=no,"
			      "downscript=no,vhost=on") > 0);
	qemu_command_free(&c);
	o.vhost_usable = no; /* ... not without it */
	build_ok(&o, &c);
	assert_true(find_pair(&c, "-netdev", "tap,id=net0,ifname=kvmiotap0,script=no,"
			      "downscript=no,vhost=off") > 0);
	qemu_command_free(&c);
	o.nets = nets_on; /* asked for explicitly: an error */
	assert_int_equal(qemu_build_command(&o, &c, err, sizeof(err)), 2);
	assert_non_null(strstr(err, "no /dev/vhost-net"));
	o.vhost_usable = yes;
	o.kvm_flavour = kvm_no;
	build_ok(&o, &c);
	assert_non_null(strstr(c.argv[find_pair(&c, "-netdev", NULL) + 1], "vhost=on"));
	qemu_command_free(&c);
	o.nets = nets_e1000;
	build_ok(&o, &c);
	assert_true(find_pair(&c, "-device", "e1000,netdev=net0,addr=0x18") > 0);
	qemu_command_free(&c);
	o.tap_usable = no;
	assert_int_equal(qemu_build_command(&o, &c, err, sizeof(err)), 2);
	assert_string_equal(err, "tap topology needs root and /dev/net/tun");
}

static void test_net_errors(void **state)
{
	struct qemu_options o = base_options();
	struct qemu_command c;
	char err[256];
	char *eight[] = { "e1000", "e1000", "e1000", "e1000", "e1000", "e1000", "e1000", "e1000" };
	char *two_taps[] = { "virtio-net,topology=tap", "e1000,topology=tap" };

	(void)state;
	expect_net_error("pc", "", "empty spec");
	expect_net_error("pc", "ne2k", "unknown model 'ne2k'");
	expect_net_error("pc", "e1000,transport=modern", "transport= is for virtio-net");
	expect_net_error("pc", "virtio-net,transport=new", "bad transport=new");
	expect_net_error("pc", "virtio-net,topology=bridge", "bad topology=bridge");
	expect_net_error("pc", "virtio-net,vhost=maybe", "bad vhost=maybe");
	expect_net_error("pc", "e1000,topology=tap,vhost=on", "vhost=on is for virtio-net");
	expect_net_error("pc", "virtio-net,vhost=on", "vhost=on needs topology=tap");
	expect_net_error("pc", "virtio-net,topology=tap,vhost=on", "no /dev/vhost-net");
	expect_net_error("pc", "e1000,mac=52:54:00:12:34", "bad mac=");
	expect_net_error("pc", "e1000,mac=01:00:5e:00:00:01", "bad mac=");
	expect_net_error("pc", "e1000,mac=52:54:00:12:34:5g", "bad mac=");
	expect_net_error("pc", "e1000,topology=loop,peer-mode=sink", "peer-* options need "
			 "topology=peer");
	expect_net_error("pc", "e1000,peer-mode=mirror", "bad peer-mode=mirror");
	expect_net_error("pc", "e1000,peer-mode=flood,peer-size=59", "bad peer-size=59");
	expect_net_error("pc", "e1000,peer-mode=flood,peer-size=1515", "bad peer-size=1515");
	expect_net_error("pc", "e1000,peer-mode=flood,peer-count=0", "bad peer-count=0");
	expect_net_error("pc", "e1000,peer-mode=flood,peer-rate=-1", "bad peer-rate=-1");
	expect_net_error("pc", "e1000,peer-drop-every=0", "bad peer-drop-every=0");
	expect_net_error("pc", "e1000,peer-mode=sink,peer-corrupt-every=3", "are for "
			 "peer-mode=reflect");
	expect_net_error("pc", "e1000,peer-count=5", "are for peer-mode=flood");
	expect_net_error("pc", "e1000,speed=10", "unknown key 'speed'");
	expect_net_error("pc", "e1000,mac", "is not KEY=VALUE");
	/* a lone loop NIC has nobody on its hub */
	expect_net_error("pc", "rtl8139,topology=loop", "a topology=loop NIC needs a second one on "
			 "its hub to talk to: give --net rtl8139,topology=loop twice");
	expect_net_error("pc", "virtio-net,topology=tap,vhost=on", "no /dev/vhost-net");
	{
		struct qemu_options m = base_options();
		char *nets[] = { "e1000" };

		m.firmware = "pvh";
		m.nets = nets;
		m.nnets = 1;
		assert_int_equal(qemu_build_command(&m, &c, err, sizeof(err)), 2);
		assert_non_null(strstr(err, "microvm has no PCI"));
	}
	o.nets = eight;
	o.nnets = 8;
	assert_int_equal(qemu_build_command(&o, &c, err, sizeof(err)), 2);
	assert_non_null(strstr(err, "at most 7 NICs"));
	o.nets = two_taps;
	o.nnets = 2;
	o.tap_usable = yes;
	assert_int_equal(qemu_build_command(&o, &c, err, sizeof(err)), 2);
	assert_non_null(strstr(err, "at most one topology=tap NIC"));
}

static void test_net_peer_argv(void **state)
{
	struct qemu_nic n;
	char err[256], **argv, *s;

	(void)state;
	assert_int_equal(net_parse_spec("virtio-net,peer-mode=flood,peer-rate=5000,peer-count=300",
					&n, err, sizeof(err)), 0);
	argv = net_peer_argv("/x/kvmio", &n, 2, "/tmp/d", 130, 1514);
	s = qemu_command_string(argv);
	assert_string_equal(s, "/x/kvmio peer --socket /tmp/d/peer2.sock --guest-socket "
			    "/tmp/d/guest2.sock --mode flood --size 1514 --count 300 --rate 5000 "
			    "--dev 2 --timeout 130");
	free(s);
	net_argv_free(argv);
	assert_int_equal(net_parse_spec("e1000,peer-drop-every=4,peer-corrupt-every=9", &n, err,
					sizeof(err)), 0);
	argv = net_peer_argv("kvmio", &n, 0, "D", 5, 0);
	s = qemu_command_string(argv);
	assert_string_equal(s, "kvmio peer --socket D/peer0.sock --guest-socket D/guest0.sock "
			    "--mode reflect --drop-every 4 --corrupt-every 9 --dev 0 --timeout 5");
	free(s);
	net_argv_free(argv);
	/* --connect: the peer on UDP ports (libvirt's <interface type='udp'>) */
	argv = net_peer_argv_udp("kvmio", &n, 1, 40001, 40002, 5, 0);
	s = qemu_command_string(argv);
	assert_string_equal(s, "kvmio peer --udp 40001 --guest-udp 40002 "
			    "--mode reflect --drop-every 4 --corrupt-every 9 --dev 1 --timeout 5");
	free(s);
	net_argv_free(argv);
	s = net_tap_script("kvmio-7", "kvmiotap0", 0);
	assert_string_equal(s, "ip netns add kvmio-7\n"
			    "ip -n kvmio-7 link set lo up\n"
			    "ip -n kvmio-7 tuntap add dev kvmiotap0 mode tap\n"
			    "ip -n kvmio-7 addr add 10.199.0.1/24 dev kvmiotap0\n"
			    "ip -n kvmio-7 link set kvmiotap0 up\n");
	free(s);
	s = net_tap_script("kvmio-7", "kvmiotap0", 1);
	assert_string_equal(s, "ip -n kvmio-7 link del kvmiotap0\nip netns del kvmio-7\n");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bios_default),
		cmocka_unit_test(test_bios_q35),
		cmocka_unit_test(test_pvh),
		cmocka_unit_test(test_uefi),
		cmocka_unit_test(test_forbidden_combinations),
		cmocka_unit_test(test_accel),
		cmocka_unit_test(test_pci_testdev_rule),
		cmocka_unit_test(test_guest_options_and_qemu_args),
		cmocka_unit_test(test_command_string),
		cmocka_unit_test(test_outcome),
		cmocka_unit_test(test_launch_captures),
		cmocka_unit_test(test_launch_timeout),
		cmocka_unit_test(test_launch_missing_binary),
		cmocka_unit_test(test_tempdir),
		cmocka_unit_test(test_disk_null_defaults),
		cmocka_unit_test(test_disk_ide),
		cmocka_unit_test(test_disk_ahci),
		cmocka_unit_test(test_disk_ahci_errors),
		cmocka_unit_test(test_disk_file),
		cmocka_unit_test(test_disk_inject),
		cmocka_unit_test(test_disk_nvme),
		cmocka_unit_test(test_disk_errors),
		cmocka_unit_test(test_disk_iothread),
		cmocka_unit_test(test_disk_poll_max_ns),
		cmocka_unit_test(test_disk_virtio_scsi),
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_net_loop),
		cmocka_unit_test(test_net_peer_and_models),
		cmocka_unit_test(test_net_tap),
		cmocka_unit_test(test_net_errors),
		cmocka_unit_test(test_net_peer_argv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
