/*
 * The command line of packed rings and virtio-blk multi-queue (host/boot/qemu.c, net.c):
 * --disk virtio-blk,...,packed=on|off,queues=N -> virtio-blk-pci packed=, num-queues=;
 * --net virtio-net,...,packed=on|off -> virtio-net-pci packed=; the keys refused on models
 * without virtqueues and with transport=legacy, each with one line; and the job-file axes
 * ring= and queues= (host/matrix/job.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "boot/net.h"
#include "boot/qemu.h"
#include "matrix/job.h"
#include "helpers.h"

static void kvm_no(struct kvm_flavour *k) { fake_host_flavour(FAKE_NO_KVM, k); }
static int exists_yes(const char *p) { (void)p; return 1; }

/* Build for -M pc with one --disk and/or a --net pair; the status, err filled. */
static int build(struct qemu_command *c, const char *disk, const char *net, char *err, size_t len)
{
	struct qemu_options o = { 0 };
	char *disks[1] = { (char *)disk }, *nets[2] = { (char *)net, (char *)net };

	o.qemu = "qemu-system-x86_64";
	o.image_dir = "/img";
	o.kvm_flavour = kvm_no;
	o.firmware = "bios";
	o.machine = "pc";
	o.path_exists = exists_yes;
	o.disks = disks;
	o.ndisks = disk ? 1 : 0;
	o.nets = nets;
	o.nnets = net ? 2 : 0;
	o.net_dir = "/tmp/d";
	err[0] = '\0';
	return qemu_build_command(&o, c, err, len);
}

/* The -device value that starts with prefix, or NULL. */
static const char *device(const struct qemu_command *c, const char *prefix)
{
	for (int i = 0; i + 1 < c->argc; i++)
		if (!strcmp(c->argv[i], "-device") && !strncmp(c->argv[i + 1], prefix, strlen(prefix)))
			return c->argv[i + 1];
	return NULL;
}

static void expect_ok(const char *disk, const char *net, const char *prefix, const char *want)
{
	struct qemu_command c;
	char err[512];

	if (build(&c, disk, net, err, sizeof(err)) != 0)
		fail_msg("%s %s: unexpected error %s", disk ? disk : "", net ? net : "", err);
	const char *d = device(&c, prefix);
	assert_non_null(d);
	if (!strstr(d, want))
		fail_msg("-device %s lacks '%s'", d, want);
	qemu_command_free(&c);
}

static void expect_absent(const char *disk, const char *net, const char *prefix, const char *what)
{
	struct qemu_command c;
	char err[512];

	assert_int_equal(build(&c, disk, net, err, sizeof(err)), 0);
	const char *d = device(&c, prefix);
	assert_non_null(d);
	if (strstr(d, what))
		fail_msg("-device %s has '%s'", d, what);
	qemu_command_free(&c);
}

static void expect_error(const char *disk, const char *net, const char *text)
{
	struct qemu_command c;
	char err[512];

	assert_int_equal(build(&c, disk, net, err, sizeof(err)), 2);
	if (!strstr(err, text))
		fail_msg("error '%s' lacks '%s'", err, text);
	assert_null(strchr(err, '\n'));
}

static void test_disk_packed_queues(void **state)
{
	(void)state;
	expect_ok("virtio-blk,packed=on", NULL, "virtio-blk-pci", ",packed=on");
	expect_ok("virtio-blk,packed=off", NULL, "virtio-blk-pci", ",packed=off");
	expect_ok("virtio-blk,queues=4", NULL, "virtio-blk-pci", ",num-queues=4");
	expect_ok("virtio-blk,transport=modern,packed=on,queues=2,iothread=on", NULL,
		  "virtio-blk-pci", "disable-legacy=on,disable-modern=off,"
		  "iothread=iothread.disk0,packed=on,num-queues=2");
	expect_ok("virtio-blk,backend=file=/d/a,packed=on", NULL, "virtio-blk-pci",
		  "write-cache=on,packed=on");
	/* not given: QEMU's defaults (split; num-queues from the vCPUs) */
	expect_absent("virtio-blk", NULL, "virtio-blk-pci", "packed");
	expect_absent("virtio-blk", NULL, "virtio-blk-pci", "num-queues");
	/* transitional offers the modern interface: packed works there */
	expect_ok("virtio-blk,transport=transitional,packed=on", NULL, "virtio-blk-pci", "packed=on");
	expect_ok("virtio-blk,transport=legacy,packed=off", NULL, "virtio-blk-pci", "packed=off");
}

static void test_disk_refusals(void **state)
{
	(void)state;
	expect_error("ide,packed=on", NULL, "--disk: packed= is for virtio-blk (ide-hd has no virtqueues)");
	expect_error("ide,packed=off", NULL, "packed= is for virtio-blk");
	expect_error("ide,queues=2", NULL, "--disk: queues= is for virtio-blk");
	expect_error("virtio-blk,packed=yes", NULL, "bad packed=yes");
	expect_error("virtio-blk,queues=0", NULL, "--disk: bad queues=0 (1..64 request queues)");
	expect_error("virtio-blk,queues=65", NULL, "bad queues=65");
	expect_error("virtio-blk,queues=-1", NULL, "bad queues=-1");
	expect_error("virtio-blk,queues=2x", NULL, "bad queues=2x");
	expect_error("virtio-blk,transport=legacy,packed=on", NULL,
		     "--disk: packed=on with transport=legacy: packed rings are virtio 1.x only");
}

static void test_net_packed(void **state)
{
	(void)state;
	expect_ok(NULL, "virtio-net,topology=loop,packed=on", "virtio-net-pci", "disable-modern=off,packed=on");
	expect_ok(NULL, "virtio-net,topology=loop,packed=off", "virtio-net-pci", "packed=off");
	expect_absent(NULL, "virtio-net,topology=loop", "virtio-net-pci", "packed");
	expect_ok(NULL, "virtio-net,topology=loop,packed=on,mac=52:54:00:00:00:02", "virtio-net-pci",
		  "packed=on,mac=52:54:00:00:00:02");
	expect_error(NULL, "e1000,topology=loop,packed=on", "--net: packed= is for virtio-net (e1000 has no virtqueues)");
	expect_error(NULL, "rtl8139,packed=off", "packed= is for virtio-net");
	expect_error(NULL, "virtio-net,packed=1", "--net: bad packed=1 (on, off)");
	expect_error(NULL, "virtio-net,transport=legacy,packed=on",
		     "--net: packed=on with transport=legacy: packed rings are virtio 1.x only");
}

/* A one-section job file's configurations: their --disk/--net specs and guest options. */
static void job_args(const char *text, int config, char *opts, size_t olen, char *guest, size_t glen,
		     int *nconfigs, const char **skip)
{
	struct job_file jf;
	struct job_matrix m;
	char err[512];

	if (job_load_string("t.ini", text, &jf, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(job_expand(&jf, "D", &m, err, sizeof(err)), 0);
	*nconfigs = m.n;
	assert_true(config < m.n);
	const struct job_config *c = &m.cfg[config];
	opts[0] = guest[0] = '\0';
	for (int i = 0; i < c->nopts; i++)
		snprintf(opts + strlen(opts), olen - strlen(opts), "%s%s", i ? " " : "", c->opts[i]);
	for (int i = 0; i < c->nguest; i++)
		snprintf(guest + strlen(guest), glen - strlen(guest), "%s%s", i ? " " : "", c->guest[i]);
	*skip = c->skip ? "skip" : NULL;
	job_matrix_free(&m);
	job_file_free(&jf);
}

static void test_job_axes(void **state)
{
	char opts[1024], guest[512];
	int n;
	const char *skip;
	(void)state;

	/* ring: the guest's ring= and, for packed, the device's packed=on */
	const char *ring = "[r]\ndisk = virtio-blk\nring = split, packed\nops = 10\n";
	job_args(ring, 0, opts, sizeof(opts), guest, sizeof(guest), &n, &skip);
	assert_int_equal(n, 2);
	assert_null(skip);
	assert_null(strstr(opts, "packed"));
	assert_non_null(strstr(guest, "ring=split"));
	job_args(ring, 1, opts, sizeof(opts), guest, sizeof(guest), &n, &skip);
	assert_null(skip);
	assert_non_null(strstr(opts, "--disk virtio-blk,backend=null,packed=on"));
	assert_non_null(strstr(guest, "ring=packed"));

	/* on the network too: both loop NICs */
	const char *net = "[n]\nnet = virtio-net\nring = packed\nbench = net-rr\n";
	job_args(net, 0, opts, sizeof(opts), guest, sizeof(guest), &n, &skip);
	assert_null(skip);
	assert_non_null(strstr(opts, "--net virtio-net,topology=loop,packed=on --net "
				     "virtio-net,topology=loop,packed=on"));

	/* packed on a model without virtqueues: the builder's one line makes it a skip */
	const char *ide = "[i]\ndisk = ide\nring = packed\n";
	job_args(ide, 0, opts, sizeof(opts), guest, sizeof(guest), &n, &skip);
	assert_non_null(skip);

	/* queues: the guest's queues= and the device's num-queues */
	const char *mq = "[q]\ndisk = virtio-blk\nqueues = 1, 4\nqd = 16\n";
	job_args(mq, 0, opts, sizeof(opts), guest, sizeof(guest), &n, &skip);
	assert_int_equal(n, 2);
	assert_non_null(strstr(guest, "queues=1"));
	assert_non_null(strstr(opts, "queues=1"));
	job_args(mq, 1, opts, sizeof(opts), guest, sizeof(guest), &n, &skip);
	assert_null(skip);
	assert_non_null(strstr(opts, "--disk virtio-blk,backend=null,queues=4"));
	assert_non_null(strstr(guest, "queues=4"));
	const char *mqnet = "[q]\nnet = virtio-net\nqueues = 2\n";
	job_args(mqnet, 0, opts, sizeof(opts), guest, sizeof(guest), &n, &skip);
	assert_non_null(skip); /* queues= without a disk */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disk_packed_queues),
		cmocka_unit_test(test_disk_refusals),
		cmocka_unit_test(test_net_packed),
		cmocka_unit_test(test_job_axes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
