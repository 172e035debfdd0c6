/*
 * virtio over MMIO on -M microvm in the QEMU command-line builder (host/boot/qemu.c, net.c):
 * virtio-blk-device / virtio-net-device on virtio-mmio-bus.N in --disk then --net order,
 * acpi=off (microvm lists the devices on the command line only then), the version-2 global,
 * the refusals on either side, and the job-file axes through the same builder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "boot/qemu.h"
#include "matrix/job.h"

static int exists_yes(const char *path) { (void)path; return 1; }
static int yes(void) { return 1; }
static int no(void) { return 0; }

static int build(struct qemu_command *c, const char *machine, char **disks, int nd, char **nets,
		 int nn, char *err, size_t errlen)
{
	struct qemu_options o = { 0 };

	o.qemu = "qemu-system-x86_64";
	o.image_dir = "/img";
	o.accel = "tcg";
	o.firmware = strcmp(machine, "microvm") ? "bios" : "pvh";
	o.machine = machine;
	o.disks = disks;
	o.ndisks = nd;
	o.nets = nets;
	o.nnets = nn;
	o.path_exists = exists_yes;
	o.tap_usable = yes;
	o.vhost_usable = no;
	err[0] = '\0';
	return qemu_build_command(&o, c, err, errlen);
}

/* Index of ARG followed by VALUE, or -1. */
static int find_pair(const struct qemu_command *c, const char *arg, const char *value)
{
	for (int i = 0; i + 1 < c->argc; i++)
		if (!strcmp(c->argv[i], arg) && !strcmp(c->argv[i + 1], value))
			return i;
	return -1;
}

static int find_arg(const struct qemu_command *c, const char *arg)
{
	for (int i = 0; i < c->argc; i++)
		if (!strcmp(c->argv[i], arg))
			return i;
	return -1;
}

static void expect_error(const char *machine, char **disks, int nd, char **nets, int nn,
			 const char *needle)
{
	struct qemu_command c;
	char err[512];

	assert_int_equal(build(&c, machine, disks, nd, nets, nn, err, sizeof(err)), 2);
	if (!strstr(err, needle))
		fail_msg("error '%s' lacks '%s'", err, needle);
	assert_null(strchr(err, '\n'));
	assert_null(c.argv);
}

static void test_disks_default_mmio(void **state)
{
	struct qemu_command c;
	char err[512];
	char *disks[] = { "virtio-blk,size=64M", "virtio-blk,transport=mmio,backend=file=/d/a,"
			  "cache=none,aio=native,format=qcow2,iothread=on" };

	(void)state;
	assert_int_equal(build(&c, "microvm", disks, 2, NULL, 0, err, sizeof(err)), 0);
	assert_true(find_pair(&c, "-M", "microvm,acpi=off") > 0);
	assert_int_equal(find_arg(&c, "-global"), -1); /* version 1: QEMU's default */
	assert_true(find_pair(&c, "-device", "virtio-blk-device,drive=disk0,bus=virtio-mmio-bus.0") > 0);
	assert_true(find_pair(&c, "-blockdev", "driver=file,node-name=disk1-file,filename=/d/a,"
			      "aio=native,cache.direct=on,cache.no-flush=off") > 0);
	assert_true(find_pair(&c, "-blockdev", "driver=qcow2,node-name=disk1,file=disk1-file") > 0);
	assert_true(find_pair(&c, "-object", "iothread,id=iothread.disk1") > 0);
	assert_true(find_pair(&c, "-device", "virtio-blk-device,drive=disk1,bus=virtio-mmio-bus.1,"
			      "write-cache=on,iothread=iothread.disk1") > 0);
	assert_int_equal(find_arg(&c, "virtio-blk-pci"), -1);
	qemu_command_free(&c);
}

static void test_modern_and_nets(void **state)
{
	struct qemu_command c;
	char err[512];
	char *disks[] = { "virtio-blk,transport=mmio-modern,inject=eio-read" };
	char *nets[] = { "virtio-net,topology=loop,transport=mmio-modern",
			 "virtio-net,topology=loop,transport=mmio-modern,mac=52:54:00:00:00:09" };

	(void)state;
	assert_int_equal(build(&c, "microvm", disks, 1, nets, 2, err, sizeof(err)), 0);
	assert_true(find_pair(&c, "-M", "microvm,acpi=off") > 0);
	assert_true(find_pair(&c, "-global", "virtio-mmio.force-legacy=false") > 0);
	assert_true(find_pair(&c, "-blockdev", "driver=raw,node-name=disk0,file=disk0-dbg") > 0);
	assert_true(find_pair(&c, "-device", "virtio-blk-device,drive=disk0,bus=virtio-mmio-bus.0") > 0);
	/* NICs after the disks, in --net order */
	assert_true(find_pair(&c, "-netdev", "hubport,id=net0,hubid=0") > 0);
	assert_true(find_pair(&c, "-device", "virtio-net-device,netdev=net0,bus=virtio-mmio-bus.1") > 0);
	assert_true(find_pair(&c, "-device", "virtio-net-device,netdev=net1,bus=virtio-mmio-bus.2,"
			      "mac=52:54:00:00:00:09") > 0);
	qemu_command_free(&c);

	/* packed rings and queues on version 2, as on PCI */
	char *packed_disk[] = { "virtio-blk,transport=mmio-modern,packed=on,queues=2" };
	char *packed_nets[] = { "virtio-net,topology=loop,transport=mmio-modern,packed=on",
				"virtio-net,topology=loop,transport=mmio-modern,packed=off" };
	assert_int_equal(build(&c, "microvm", packed_disk, 1, packed_nets, 2, err, sizeof(err)), 0);
	assert_true(find_pair(&c, "-device", "virtio-blk-device,drive=disk0,bus=virtio-mmio-bus.0,"
			      "packed=on,num-queues=2") > 0);
	assert_true(find_pair(&c, "-device", "virtio-net-device,netdev=net0,bus=virtio-mmio-bus.1,"
			      "packed=on") > 0);
	assert_true(find_pair(&c, "-device", "virtio-net-device,netdev=net1,bus=virtio-mmio-bus.2,"
			      "packed=off") > 0);
	qemu_command_free(&c);

	/* a NIC alone starts at transport 0; peer topology as on PCI */
	char *peer[] = { "virtio-net,topology=peer,peer-mode=reflect" };
	assert_int_equal(build(&c, "microvm", NULL, 0, peer, 1, err, sizeof(err)), 0);
	assert_true(find_pair(&c, "-device", "virtio-net-device,netdev=net0,bus=virtio-mmio-bus.0") > 0);
	qemu_command_free(&c);
}

static void test_no_devices_keeps_acpi(void **state)
{
	struct qemu_command c;
	char err[512];

	(void)state;
	assert_int_equal(build(&c, "microvm", NULL, 0, NULL, 0, err, sizeof(err)), 0);
	assert_true(find_pair(&c, "-M", "microvm") > 0);
	qemu_command_free(&c);
	/* pc keeps PCI virtio, untouched */
	char *disks[] = { "virtio-blk" };
	assert_int_equal(build(&c, "pc", disks, 1, NULL, 0, err, sizeof(err)), 0);
	assert_true(find_pair(&c, "-M", "pc") > 0);
	assert_true(find_pair(&c, "-device", "virtio-blk-pci,drive=disk0,addr=0x10,"
			      "disable-legacy=off,disable-modern=off") > 0);
	qemu_command_free(&c);
}

static void test_refusals(void **state)
{
	char *ide[] = { "ide" };
	char *pci_t[] = { "virtio-blk,transport=legacy" };
	char *mmio_t[] = { "virtio-blk,transport=mmio" };
	char *mixed[] = { "virtio-blk,transport=mmio", "virtio-blk,transport=mmio-modern" };
	char *nine[] = { "virtio-blk", "virtio-blk", "virtio-blk", "virtio-blk", "virtio-blk",
			 "virtio-blk", "virtio-blk", "virtio-blk" };
	char *e1000[] = { "e1000,topology=loop", "e1000,topology=loop" };
	char *net_pci[] = { "virtio-net,transport=modern" };
	char *net_mmio[] = { "virtio-net,transport=mmio" };
	char *net_one[] = { "virtio-net,topology=peer" };
	char *net_bad[] = { "virtio-net,transport=pcie" };
	char *packed_v1[] = { "virtio-blk,packed=on" };
	char *packed_v1_net[] = { "virtio-net,transport=mmio,packed=on" };

	(void)state;
	expect_error("microvm", ide, 1, NULL, 0, "--disk ide: microvm has no PCI or IDE (only "
		     "virtio-blk runs there, over virtio-mmio)");
	expect_error("microvm", (char *[]){ "ahci" }, 1, NULL, 0, "--disk ahci: microvm has no PCI");
	expect_error("microvm", pci_t, 1, NULL, 0, "microvm has no PCI (there virtio-blk is "
		     "transport=mmio or mmio-modern)");
	expect_error("pc", mmio_t, 1, NULL, 0, "virtio-mmio needs -M microvm (pc has PCI");
	expect_error("q35", mmio_t, 1, NULL, 0, "virtio-mmio needs -M microvm (q35 has PCI");
	expect_error("microvm", mixed, 2, NULL, 0, "mmio and mmio-modern mixed");
	expect_error("microvm", nine, 8, net_one, 1, "at most 8 virtio-mmio devices");
	expect_error("microvm", NULL, 0, e1000, 2, "--net e1000: microvm has no PCI, so no "
		     "emulated NIC");
	expect_error("microvm", NULL, 0, net_pci, 1, "microvm has no PCI (there virtio-net is "
		     "transport=mmio or mmio-modern)");
	expect_error("pc", NULL, 0, net_mmio, 1, "virtio-mmio needs -M microvm (pc has PCI");
	expect_error("pc", NULL, 0, net_bad, 1, "bad transport=pcie (legacy, modern, "
		     "transitional, mmio, mmio-modern)");
	expect_error("pc", (char *[]){ "virtio-blk,transport=pcie" }, 1, NULL, 0,
		     "bad transport=pcie (legacy, modern, transitional, mmio, mmio-modern)");
	/* packed rings need version 2, whether mmio was given or is microvm's default */
	expect_error("microvm", packed_v1, 1, NULL, 0, "--disk: packed=on with transport=mmio "
		     "(virtio-mmio version 1)");
	expect_error("microvm", NULL, 0, packed_v1_net, 1, "--net: packed=on with transport=mmio");
	/* eight is fine */
	struct qemu_command c;
	char err[512];
	assert_int_equal(build(&c, "microvm", nine, 8, NULL, 0, err, sizeof(err)), 0);
	assert_true(find_pair(&c, "-device", "virtio-blk-device,drive=disk7,bus=virtio-mmio-bus.7") > 0);
	qemu_command_free(&c);
}

static void test_no_debug_exit(void **state)
{
	struct qemu_options o = { 0 };
	struct qemu_command c;
	char err[512] = "";
	char *disks[] = { "virtio-blk" };

	(void)state;
	o.firmware = "pvh";
	o.accel = "tcg";
	o.no_debug_exit = 1;
	o.disks = disks;
	o.ndisks = 1;
	assert_int_equal(qemu_build_command(&o, &c, err, sizeof(err)), 2);
	assert_non_null(strstr(err, "--no-debug-exit with virtio-mmio devices"));
}

/* The job-file axes go through the same builder: mmio runs on microvm, is skipped on pc. */
static void test_job_axes(void **state)
{
	struct job_file jf;
	struct job_matrix m;
	char err[512] = "";
	char *s;

	(void)state;
	assert_int_equal(job_load_string("t.ini", "[d]\nfirmware = pvh\nmachine = microvm, pc\n"
					 "accel = tcg\ndisk = virtio-blk\n"
					 "disk_transport = mmio, mmio-modern\n"
					 "[n]\nfirmware = pvh\nmachine = microvm\naccel = tcg\n"
					 "net = virtio-net\ntopology = loop\nnet_transport = mmio\n"
					 "bench = net-rr\n", &jf, err, sizeof(err)), 0);
	assert_int_equal(job_expand(&jf, "DIR", &m, err, sizeof(err)), 0);
	assert_int_equal(m.n, 5);
	int run = 0, skipped = 0;
	for (int i = 0; i < 4; i++) {
		if (m.cfg[i].skip) {
			skipped++;
			assert_non_null(strstr(m.cfg[i].reason, "virtio-mmio needs -M microvm"));
		} else {
			run++;
			s = job_boot_string(&m.cfg[i], "kvmio");
			assert_non_null(strstr(s, "--machine microvm"));
			assert_non_null(strstr(s, ",transport=mmio"));
			free(s);
		}
	}
	assert_int_equal(run, 2);
	assert_int_equal(skipped, 2);
	assert_false(m.cfg[4].skip);
	s = job_boot_string(&m.cfg[4], "kvmio");
	assert_non_null(strstr(s, "--net virtio-net,transport=mmio,topology=loop --net "
			       "virtio-net,transport=mmio,topology=loop"));
	free(s);
	job_matrix_free(&m);
	job_file_free(&jf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_disks_default_mmio),
		cmocka_unit_test(test_modern_and_nets),
		cmocka_unit_test(test_no_devices_keeps_acpi),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_no_debug_exit),
		cmocka_unit_test(test_job_axes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
