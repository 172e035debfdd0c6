/* Unit tests of the libvirt domain XML (host/boot/domxml.c) and the embedded URI's root
 * (host/boot/libvirt.c): golden substrings for each option, the refusals, the one escaper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "boot/domxml.h"
#include "boot/pin.h"
#include "boot/libvirt.h"
#include "boot/qemu.h"
#include "helpers.h"

static void kvm_no(struct kvm_flavour *k)
{
	fake_host_flavour(FAKE_NO_KVM, k);
}

static void kvm_yes(struct kvm_flavour *k)
{
	fake_host_flavour(FAKE_BARE_VMX, k);
}

static int any_path(const char *path)
{
	(void)path;
	return 1;
}

static int uring_yes(const char *qemu)
{
	(void)qemu;
	return 1;
}

static int any_props(const char *qemu, const char *model, char *list, size_t len)
{
	(void)qemu;
	(void)model;
	snprintf(list, len, "*");
	return 0;
}

static const struct domxml_params params = { "kvmio-42", "/usr/bin/qemu-system-x86_64",
					     "/tmp/k/serial.log", 1, NULL, NULL, NULL, NULL };

static struct qemu_options opts(char **guest, int nguest, char **disks, int ndisks)
{
	struct qemu_options o = { 0 };

	o.qemu = "qemu-system-x86_64";
	o.image_dir = "/img";
	o.kvm_flavour = kvm_no;
	o.no_debug_exit = 1;
	o.guest_args = guest;
	o.nguest_args = nguest;
	o.disks = disks;
	o.ndisks = ndisks;
	o.path_exists = any_path;
	o.io_uring_usable = uring_yes;
	return o;
}

/* The XML of o (which must build), malloc'd. */
static char *xml_of(const struct qemu_options *o, const struct domxml_params *p)
{
	struct qemu_command cmd;
	char err[512] = "", *xml = NULL;

	assert_int_equal(qemu_build_command(o, &cmd, err, sizeof(err)), 0);
	assert_int_equal(domxml_build(o, &cmd, p, &xml, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	qemu_command_free(&cmd);
	assert_non_null(xml);
	return xml;
}

/* The options are refused with a message holding WANT. */
static void refused(const struct qemu_options *o, const char *want)
{
	struct qemu_command cmd;
	char err[512] = "", *xml = (char *)1;

	assert_int_equal(qemu_build_command(o, &cmd, err, sizeof(err)), 0);
	assert_int_equal(domxml_build(o, &cmd, &params, &xml, err, sizeof(err)), 2);
	assert_null(xml);
	if (!strstr(err, want))
		fail_msg("message '%s' lacks '%s'", err, want);
	assert_null(strchr(err, '\n'));
	qemu_command_free(&cmd);
}

static void has(const char *xml, const char *want)
{
	if (!strstr(xml, want))
		fail_msg("XML lacks \"%s\":\n%s", want, xml);
}

static void lacks(const char *xml, const char *unwanted)
{
	if (strstr(xml, unwanted))
		fail_msg("XML has \"%s\":\n%s", unwanted, xml);
}

static void test_tcg_exits(void **state)
{
	char *guest[] = { "bench=exits", "ops=100" };
	struct qemu_options o = opts(guest, 2, NULL, 0);
	char *xml = xml_of(&o, &params);

	(void)state;
	has(xml, "<domain type='qemu' xmlns:qemu='" DOMXML_QEMU_NS "'>");
	has(xml, "<name>kvmio-42</name>");
	has(xml, "<memory unit='MiB'>128</memory>");
	has(xml, "<type arch='x86_64' machine='pc'>hvm</type>");
	has(xml, "<kernel>/img/kvmio.elf</kernel>");
	has(xml, "<cmdline>bench=exits ops=100</cmdline>");
	has(xml, "<acpi/>");                         /* the guest powers off through ACPI */
	/* -cpu max and -smp QEMU_TCG_SMP, as the QEMU backend under TCG: room for a second CPU,
	 * never plugged, so that QEMU 7.2's TCG keeps the guest's memory barriers */
	has(xml, "  <vcpu current='1'>2</vcpu>\n");
	has(xml, "  <cpu mode='maximum'>\n    <topology sockets='2' dies='1' cores='1' threads='1'/>\n"
		 "  </cpu>\n");
	has(xml, "<on_poweroff>destroy</on_poweroff>");
	has(xml, "<emulator>/usr/bin/qemu-system-x86_64</emulator>");
	has(xml, "<serial type='file'>\n      <source path='/tmp/k/serial.log' append='off'/>");
	has(xml, "<label>+0:+0</label>");
	/* bench=exits: pci-testdev, which libvirt has no element for */
	has(xml, "<qemu:arg value='-device'/>\n    <qemu:arg value='pci-testdev'/>");
	lacks(xml, "isa-debug-exit");
	lacks(xml, "<iothreads>");
	lacks(xml, "<disk");
	assert_string_equal(xml + strlen(xml) - 10, "</domain>\n");
	free(xml);
}

static void test_kvm_q35_memory(void **state)
{
	char *guest[] = { "bench=disk" };
	struct qemu_options o = opts(guest, 1, NULL, 0);
	struct domxml_params p = params;
	char *xml;

	(void)state;
	o.kvm_flavour = kvm_yes;
	o.accel = "kvm";
	o.machine = "q35";
	o.memory_mib = 512;
	p.run_as_root = 0;
	p.serial_path = NULL; /* a pty, for the console stream */
	xml = xml_of(&o, &p);
	has(xml, "<serial type='pty'>\n      <target port='0'/>\n    </serial>");
	lacks(xml, "<serial type='file'>");
	has(xml, "<domain type='kvm'");
	has(xml, "<cpu mode='host-passthrough'/>");
	has(xml, "  <vcpu>1</vcpu>\n");             /* KVM keeps the barriers itself */
	lacks(xml, "<topology");
	has(xml, "machine='q35'");
	has(xml, "<memory unit='MiB'>512</memory>");
	lacks(xml, "<seclabel");
	lacks(xml, "qemu:commandline");             /* no exits bench, no null disk */
	free(xml);
}

static void test_file_disks(void **state)
{
	char *guest[] = { "bench=disk" };
	char *disks[] = { "ide,file=/d/a.qcow2,format=qcow2,cache=writethrough",
			  "virtio-blk,transport=modern,file=/d/b.img,cache=none,aio=native,"
			  "iothread=on,readonly=on",
			  "virtio-blk,file=/d/c.img,aio=io_uring,iothread=shared",
			  "virtio-blk,file=/d/d.img,iothread=shared,queues=2,packed=on" };
	struct qemu_options o = opts(guest, 1, disks, 4);
	char *xml = xml_of(&o, &params);

	(void)state;
	has(xml, "<iothreads>2</iothreads>");
	/* IDE: hda on the PIIX controller, libvirt's cache= (QEMU's write-cache follows it) */
	has(xml, "<disk type='file' device='disk'>\n"
		 "      <driver name='qemu' type='qcow2' cache='writethrough' io='threads'/>\n"
		 "      <source file='/d/a.qcow2'/>\n"
		 "      <target dev='hda' bus='ide'/>\n"
		 "      <address type='drive' controller='0' bus='0' target='0' unit='0'/>");
	/* modern: the non-transitional model; iothread=on: an iothread of its own */
	has(xml, "<disk type='file' device='disk' model='virtio-non-transitional'>\n"
		 "      <driver name='qemu' type='raw' cache='none' io='native' iothread='1'/>\n"
		 "      <source file='/d/b.img'/>\n"
		 "      <target dev='vdb' bus='virtio'/>\n"
		 "      <readonly/>\n"
		 "      <address type='pci' domain='0x0000' bus='0x00' slot='0x11' "
		 "function='0x0'/>");
	/* a NAME: one iothread for both disks naming it */
	has(xml, "<disk type='file' device='disk' model='virtio-transitional'>\n"
		 "      <driver name='qemu' type='raw' cache='writeback' io='io_uring' "
		 "iothread='2'/>\n      <source file='/d/c.img'/>");
	/* queues=, packed=: libvirt's <driver queues= packed=> */
	has(xml, "<driver name='qemu' type='raw' cache='writeback' io='threads' iothread='2' "
		 "queues='2' packed='on'/>\n"
		 "      <source file='/d/d.img'/>\n      <target dev='vdd' bus='virtio'/>\n"
		 "      <address type='pci' domain='0x0000' bus='0x00' slot='0x13'");
	lacks(xml, "qemu:commandline");
	free(xml);
}

static void test_null_disks(void **state)
{
	char *guest[] = { "bench=disk" };
	char *disks[] = { "ide,size=64M", "virtio-blk,size=1G,latency-ns=1000,iothread=io",
			  "virtio-blk,inject=eio-read", "virtio-blk,file=/d/x.img,iothread=io" };
	struct qemu_options o = opts(guest, 1, disks, 4);
	char *xml = xml_of(&o, &params);

	(void)state;
	/* libvirt has no null block driver: the QEMU backend's own arguments */
	has(xml, "<qemu:arg value='-blockdev'/>\n    <qemu:arg value='driver=null-co,"
		 "node-name=disk0,size=67108864,read-zeroes=on'/>");
	has(xml, "<qemu:arg value='ide-hd,drive=disk0,bus=ide.0,unit=0'/>");
	has(xml, "<qemu:arg value='driver=null-co,node-name=disk1,size=1073741824,"
		 "read-zeroes=on,latency-ns=1000'/>");
	/* the iothread is libvirt's (iothread1), shared with the file disk naming the same */
	has(xml, "<iothreads>1</iothreads>");
	has(xml, "<qemu:arg value='virtio-blk-pci,drive=disk1,addr=0x11,disable-legacy=off,"
		 "disable-modern=off,iothread=iothread1'/>");
	has(xml, "<driver name='qemu' type='raw' cache='writeback' io='threads' iothread='1'/>\n"
		 "      <source file='/d/x.img'/>");
	lacks(xml, "-object");
	/* inject= on a null disk: blkdebug and the raw node, as on the QEMU path */
	has(xml, "driver=blkdebug,node-name=disk2-dbg,image=disk2-null");
	has(xml, "<qemu:arg value='driver=raw,node-name=disk2,file=disk2-dbg'/>");
	has(xml, "virtio-blk-pci,drive=disk2,addr=0x12");
	free(xml);
	/* an NVMe disk on null-co: the QEMU backend's nvme device */
	disks[0] = "nvme,size=64M";
	o = opts(guest, 1, disks, 1);
	xml = xml_of(&o, &params);
	has(xml, "<qemu:arg value='nvme,serial=kvmio-disk0,drive=disk0,addr=0x10'/>");
	free(xml);
	/* virtio-scsi on null-co: its controller (with libvirt's iothread) and its scsi-hd */
	disks[0] = "virtio-scsi,size=64M,iothread=on";
	o = opts(guest, 1, disks, 1);
	xml = xml_of(&o, &params);
	has(xml, "<iothreads>1</iothreads>");
	has(xml, "<qemu:arg value='virtio-scsi-pci,id=scsi0,addr=0x10,disable-legacy=off,"
		 "disable-modern=off,iothread=iothread1'/>");
	has(xml, "<qemu:arg value='scsi-hd,drive=disk0,bus=scsi0.0,channel=0,scsi-id=0,lun=0'/>");
	free(xml);
	/* AHCI on null-co (pc): the controller of our own, then the disk on its port */
	disks[0] = "ahci,size=64M";
	o = opts(guest, 1, disks, 1);
	xml = xml_of(&o, &params);
	has(xml, "<qemu:arg value='-device'/>\n    <qemu:arg value='ahci,id=ahci0,addr=0x");
	has(xml, "<qemu:arg value='ide-hd,drive=disk0,bus=ahci0.0'/>");
	lacks(xml, "pci-testdev");
	lacks(xml, "<source file='/d/x.img'/>\n      <target dev='vda'");
	free(xml);
}

/* --image: no kernel, the firmware boots the disk image (the QEMU backend's snapshot drive) */
static void test_boot_image(void **state)
{
	struct qemu_options o = opts(NULL, 0, NULL, 0);
	char *xml;

	(void)state;
	o.boot_image = "/img/kvmio.img";
	xml = xml_of(&o, &params);
	has(xml, "<boot dev='hd'/>");
	lacks(xml, "<kernel>");
	lacks(xml, "<cmdline>");
	has(xml, "<qemu:arg value='-drive'/>\n    <qemu:arg value='if=none,id=esp,format=raw,"
		 "snapshot=on,file=/img/kvmio.img'/>");
	has(xml, "<qemu:arg value='ide-hd,drive=esp,bus=ide.0,");
	has(xml, "bootindex=0'/>");
	free(xml);
}

static void test_escaping(void **state)
{
	char *guest[] = { "bench=disk", "x='a&b<c>\"'" };
	char *qargs[] = { "-device", "foo,bar=<1>" };
	struct qemu_options o = opts(guest, 2, NULL, 0);
	struct domxml_params p = params;
	char *xml, *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	domxml_put_text(f, "<a href='x'>\"&\"</a>");
	fclose(f);
	assert_string_equal(buf, "&lt;a href=&apos;x&apos;&gt;&quot;&amp;&quot;&lt;/a&gt;");
	free(buf);
	o.qemu_args = qargs;
	o.nqemu_args = 2;
	p.name = "k&<1>";
	p.serial_path = "/tmp/a'b/serial.log";
	xml = xml_of(&o, &p);
	has(xml, "<name>k&amp;&lt;1&gt;</name>");
	has(xml, "<cmdline>bench=disk x=&apos;a&amp;b&lt;c&gt;&quot;&apos;</cmdline>");
	has(xml, "<source path='/tmp/a&apos;b/serial.log' append='off'/>");
	/* --qemu-arg: verbatim, last */
	has(xml, "<qemu:arg value='-device'/>\n    <qemu:arg value='foo,bar=&lt;1&gt;'/>\n"
		 "  </qemu:commandline>");
	free(xml);
}

static int yes(void)
{
	return 1;
}

static int no(void)
{
	return 0;
}

/* topology=peer: <interface type='udp'> to the peer's port, QEMU's on <local>; QEMU's own MAC
 * (counted over the NICs without mac=) and the QEMU backend's PCI slot; loop NICs (QEMU's hub)
 * as the QEMU backend's arguments, their MACs named. */
static void test_net_peer_loop(void **state)
{
	char *guest[] = { "bench=net-rr" };
	char *nets[] = { "e1000,topology=peer", "rtl8139,mac=02:00:00:00:00:07",
			 "e1000e,topology=loop", "virtio-net,topology=loop,packed=on" };
	static const unsigned peer[] = { 40001, 40003 }, local[] = { 40002, 40004 };
	struct qemu_options o = opts(guest, 1, NULL, 0);
	struct domxml_params p = params;
	char *xml;

	(void)state;
	o.nets = nets;
	o.nnets = 4;
	p.udp_peer = peer;
	p.udp_guest = local;
	xml = xml_of(&o, &p);
	has(xml, "    <interface type='udp'>\n"
		 "      <mac address='52:54:00:12:34:56'/>\n"
		 "      <source address='127.0.0.1' port='40001'>\n"
		 "        <local address='127.0.0.1' port='40002'/>\n"
		 "      </source>\n"
		 "      <model type='e1000'/>\n"
		 "      <address type='pci' domain='0x0000' bus='0x00' slot='0x18' function='0x0'/>\n"
		 "    </interface>\n");
	has(xml, "    <interface type='udp'>\n"
		 "      <mac address='02:00:00:00:00:07'/>\n"
		 "      <source address='127.0.0.1' port='40003'>\n"
		 "        <local address='127.0.0.1' port='40004'/>\n"
		 "      </source>\n"
		 "      <model type='rtl8139'/>\n"
		 "      <address type='pci' domain='0x0000' bus='0x00' slot='0x19' function='0x0'/>\n");
	lacks(xml, "<driver name='qemu'/>");  /* <driver> is virtio-net's */
	has(xml, "<qemu:arg value='-netdev'/>\n    <qemu:arg value='hubport,id=net2,hubid=0'/>\n"
		 "    <qemu:arg value='-device'/>\n"
		 "    <qemu:arg value='e1000e,netdev=net2,addr=0x1a,mac=52:54:00:12:34:57'/>\n"
		 "    <qemu:arg value='-netdev'/>\n    <qemu:arg value='hubport,id=net3,hubid=0'/>\n"
		 "    <qemu:arg value='-device'/>\n"
		 "    <qemu:arg value='virtio-net-pci,netdev=net3,addr=0x1b,disable-legacy=off,"
		 "disable-modern=off,packed=on,mac=52:54:00:12:34:58'/>\n");
	lacks(xml, "id=net0");   /* the peer NICs are libvirt's */
	lacks(xml, "id=net1");
	free(xml);
}

/* virtio-net: its transport as libvirt's model, <driver name='qemu'> with packed=; without
 * ports (--print-xml) the placeholders. */
static void test_net_virtio(void **state)
{
	char *guest[] = { "bench=net-tx" };
	char *nets[] = { "virtio-net,transport=modern,packed=on,mac=52:54:00:aa:bb:cc",
			 "virtio-net" };
	struct qemu_options o = opts(guest, 1, NULL, 0);
	char *xml;

	(void)state;
	o.nets = nets;
	o.nnets = 2;
	xml = xml_of(&o, &params);
	has(xml, "      <mac address='52:54:00:aa:bb:cc'/>\n"
		 "      <source address='127.0.0.1' port='PEERPORT0'>\n"
		 "        <local address='127.0.0.1' port='GUESTPORT0'/>\n"
		 "      </source>\n"
		 "      <model type='virtio-non-transitional'/>\n"
		 "      <driver name='qemu' packed='on'/>\n"
		 "      <address type='pci' domain='0x0000' bus='0x00' slot='0x18' function='0x0'/>");
	has(xml, "      <mac address='52:54:00:12:34:56'/>\n"
		 "      <source address='127.0.0.1' port='PEERPORT1'>\n"
		 "        <local address='127.0.0.1' port='GUESTPORT1'/>\n"
		 "      </source>\n"
		 "      <model type='virtio-transitional'/>\n"
		 "      <driver name='qemu'/>\n"
		 "      <address type='pci' domain='0x0000' bus='0x00' slot='0x19' function='0x0'/>");
	lacks(xml, "<qemu:arg value='-netdev'/>");
	free(xml);
}

/* topology=tap: <interface type='ethernet'> on kvmio's tap, managed='no'; vhost as <driver
 * name='vhost'> where qemu_build_command chose it (kvm and /dev/vhost-net), which refuses
 * vhost=on without /dev/vhost-net. */
static void test_net_tap(void **state)
{
	char *guest[] = { "bench=net-echo" };
	char *tap[] = { "virtio-net,topology=tap" }, *on[] = { "virtio-net,topology=tap,vhost=on" };
	char *e1000[] = { "e1000,topology=tap" };
	struct qemu_options o = opts(guest, 1, NULL, 0);
	struct qemu_command cmd;
	char err[512], *xml;

	(void)state;
	o.nets = tap;
	o.nnets = 1;
	o.tap_usable = yes;
	o.vhost_usable = no;
	xml = xml_of(&o, &params);
	has(xml, "    <interface type='ethernet'>\n"
		 "      <mac address='52:54:00:12:34:56'/>\n"
		 "      <target dev='kvmiotap0' managed='no'/>\n"
		 "      <model type='virtio-transitional'/>\n"
		 "      <driver name='qemu'/>\n"
		 "      <address type='pci' domain='0x0000' bus='0x00' slot='0x18' function='0x0'/>\n"
		 "    </interface>\n");
	free(xml);
	o.kvm_flavour = kvm_yes;
	o.vhost_usable = yes;          /* vhost auto: on under KVM with /dev/vhost-net */
	xml = xml_of(&o, &params);
	has(xml, "<driver name='vhost'/>");
	free(xml);
	o.nets = on;
	xml = xml_of(&o, &params);
	has(xml, "<driver name='vhost'/>");
	free(xml);
	o.vhost_usable = no;
	assert_int_equal(qemu_build_command(&o, &cmd, err, sizeof(err)), 2);
	assert_string_equal(err, "--net: vhost=on: no /dev/vhost-net");
	o = opts(guest, 1, NULL, 0);
	o.nets = e1000;
	o.nnets = 1;
	o.tap_usable = yes;
	xml = xml_of(&o, &params);
	has(xml, "<target dev='kvmiotap0' managed='no'/>\n      <model type='e1000'/>\n"
		 "      <address type='pci'");
	free(xml);
}

/* --pin: <cputune> with the vCPU on the first CPU, the emulator and every iothread on the
 * rest; one CPU: all on it. */
static void test_pin(void **state)
{
	char *guest[] = { "bench=disk" };
	char *disks[] = { "virtio-blk,backend=null,iothread=on", "virtio-blk,backend=null,iothread=on" };
	struct qemu_options o = opts(guest, 1, disks, 2);
	struct domxml_params p = params;
	struct pin_cpus cpus;
	char err[128], *xml;

	(void)state;
	assert_int_equal(pin_parse_cpus("3,0-1", &cpus, err, sizeof(err)), 0);
	p.pin = &cpus;
	xml = xml_of(&o, &p);
	has(xml, "  <iothreads>2</iothreads>\n"
		 "  <cputune>\n"
		 "    <vcpupin vcpu='0' cpuset='3'/>\n"
		 "    <emulatorpin cpuset='0,1'/>\n"
		 "    <iothreadpin iothread='1' cpuset='0,1'/>\n"
		 "    <iothreadpin iothread='2' cpuset='0,1'/>\n"
		 "  </cputune>\n"
		 "  <os>\n");
	free(xml);
	assert_int_equal(pin_parse_cpus("2", &cpus, err, sizeof(err)), 0);
	o = opts(guest, 1, NULL, 0);
	xml = xml_of(&o, &p);
	has(xml, "  <cputune>\n"
		 "    <vcpupin vcpu='0' cpuset='2'/>\n"
		 "    <emulatorpin cpuset='2'/>\n"
		 "  </cputune>\n");
	lacks(xml, "iothreadpin");
	free(xml);
	xml = xml_of(&o, &params);
	lacks(xml, "<cputune>");
	has(xml, "  <vcpu current='1'>2</vcpu>\n");
	free(xml);
	/* without --pin: kvmio's own CPUs for the whole QEMU, as the QEMU backend's inherits them */
	p.pin = NULL;
	p.cpuset = "0,2";
	xml = xml_of(&o, &p);
	has(xml, "  <vcpu placement='static' cpuset='0,2' current='1'>2</vcpu>\n");
	lacks(xml, "<cputune>");
	free(xml);
	/* with it, <cputune> alone says where */
	p.pin = &cpus;
	xml = xml_of(&o, &p);
	has(xml, "  <vcpu current='1'>2</vcpu>\n");
	free(xml);
}

/* uefi: OVMF's code read-only in place, the boot's copy of its variables as <nvram>, no
 * kernel; the FAT boot volume as the QEMU backend's arguments. */
static void test_uefi(void **state)
{
	char *guest[] = { "bench=exits" };
	struct qemu_options o = opts(guest, 1, NULL, 0);
	char *xml;

	(void)state;
	o.firmware = "uefi";
	o.ovmf_code = "/fw/CODE.fd";
	o.ovmf_vars = "/tmp/t/OVMF_VARS.fd";
	o.esp_dir = "/tmp/t/esp";
	xml = xml_of(&o, &params);
	has(xml, "<memory unit='MiB'>256</memory>");
	has(xml, "  <os>\n"
		 "    <type arch='x86_64' machine='q35'>hvm</type>\n"
		 "    <loader readonly='yes' type='pflash'>/fw/CODE.fd</loader>\n"
		 "    <nvram>/tmp/t/OVMF_VARS.fd</nvram>\n"
		 "    <boot dev='hd'/>\n"
		 "  </os>\n");
	lacks(xml, "<kernel>");
	lacks(xml, "<cmdline>");
	lacks(xml, "if=pflash");
	has(xml, "<qemu:arg value='-drive'/>\n    <qemu:arg value='if=none,id=esp,format=raw,"
		 "snapshot=on,file=fat:/tmp/t/esp'/>\n    <qemu:arg value='-device'/>\n"
		 "    <qemu:arg value='ide-hd,drive=esp,bus=ide.0,serial=kvmio-esp'/>");
	free(xml);
	o.boot_image = "/img/kvmio.img";
	o.guest_args = NULL;
	o.nguest_args = 0;
	xml = xml_of(&o, &params);
	has(xml, "    <nvram>/tmp/t/OVMF_VARS.fd</nvram>\n    <boot dev='hd'/>\n");
	has(xml, "snapshot=on,file=/img/kvmio.img'/>");
	free(xml);
}

/* pvh: direct kernel boot of kvmio-pvh.elf (QEMU finds its PVH note), on q35 or microvm. */
static void test_pvh(void **state)
{
	char *guest[] = { "bench=exits" };
	struct qemu_options o = opts(guest, 1, NULL, 0);
	char *xml;

	(void)state;
	o.firmware = "pvh";
	o.machine = "q35";
	xml = xml_of(&o, &params);
	has(xml, "    <type arch='x86_64' machine='q35'>hvm</type>\n"
		 "    <kernel>/img/kvmio-pvh.elf</kernel>\n"
		 "    <cmdline>bench=exits</cmdline>\n");
	lacks(xml, "<loader");
	free(xml);
	o.machine = NULL;
	xml = xml_of(&o, &params);
	has(xml, "    <type arch='x86_64' machine='microvm'>hvm</type>\n"
		 "    <kernel>/img/kvmio-pvh.elf</kernel>\n");
	lacks(xml, "pci-testdev");   /* microvm has no PCI, as on the QEMU backend */
	free(xml);
}

static void test_refusals(void **state)
{
	char *guest[] = { "bench=disk" };
	char *legacy[] = { "virtio-blk,transport=legacy,file=/d/a.img" };
	char *inject[] = { "virtio-blk,file=/d/a.img,inject=eio-write" };
	char *nvme[] = { "nvme,file=/d/a.img" };
	char *scsi[] = { "virtio-scsi,file=/d/a.img" };
	char *ahci[] = { "ahci,file=/d/a.img" };
	char *prop[] = { "virtio-blk,file=/d/a.img,prop.num-queues=2" };
	char *netlegacy[] = { "virtio-net,transport=legacy" };
	char *netprop[] = { "e1000,prop.mac=52:54:00:00:00:01" };
	struct qemu_options o = opts(guest, 1, NULL, 0);

	(void)state;
	o = opts(guest, 1, NULL, 0);
	o.nets = netlegacy;
	o.nnets = 1;
	refused(&o, "--net transport=legacy has no libvirt model");
	o = opts(guest, 1, NULL, 0);
	o.nets = netprop;
	o.nnets = 1;
	o.device_props = any_props;
	refused(&o, "--net prop.mac= on a topology=peer NIC");
	o = opts(guest, 1, legacy, 1);
	refused(&o, "transport=legacy");
	o = opts(guest, 1, inject, 1);
	refused(&o, "inject=");
	o = opts(guest, 1, nvme, 1);
	refused(&o, "NVMe");
	o = opts(guest, 1, scsi, 1);
	refused(&o, "virtio-scsi needs backend=null");
	o = opts(guest, 1, ahci, 1);
	refused(&o, "--disk ahci needs backend=null");
	o = opts(guest, 1, prop, 1);
	o.device_props = any_props;
	refused(&o, "prop.num-queues=");
	o = opts(guest, 1, NULL, 0);
	o.no_debug_exit = 0;
	refused(&o, "isa-debug-exit");
}

static void test_embed_root(void **state)
{
	char root[64];

	(void)state;
	assert_int_equal(libvirt_embed_root("qemu:///embed?root=/tmp/r", root, sizeof(root)), 0);
	assert_string_equal(root, "/tmp/r");
	assert_int_equal(libvirt_embed_root("qemu:///embed?x=1&root=/a/b&y=2", root,
					    sizeof(root)), 0);
	assert_string_equal(root, "/a/b");
	assert_int_equal(libvirt_embed_root("qemu:///embed", root, sizeof(root)), -1);
	assert_int_equal(libvirt_embed_root("qemu:///embed?root=", root, sizeof(root)), -1);
	assert_int_equal(libvirt_embed_root("qemu:///system", root, sizeof(root)), -1);
	assert_int_equal(libvirt_embed_root("qemu:///embedded?root=/x", root, sizeof(root)), -1);
	/* the serial port: a file under the embedded driver, the console stream elsewhere */
	assert_int_equal(libvirt_serial_to_file(NULL), 1);
	assert_int_equal(libvirt_serial_to_file(""), 1);
	assert_int_equal(libvirt_serial_to_file("qemu:///embed?root=/r"), 1);
	assert_int_equal(libvirt_serial_to_file("qemu:///system"), 0);
	assert_int_equal(libvirt_serial_to_file("qemu+ssh://u@h/system"), 0);
	assert_int_equal(libvirt_embed_root("qemu:///embed?root=/a/very/long/path/that/does/"
					    "not/fit/in/sixty/four/bytes/at/all/not/at/all", root,
					    sizeof(root)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcg_exits),
		cmocka_unit_test(test_kvm_q35_memory),
		cmocka_unit_test(test_file_disks),
		cmocka_unit_test(test_null_disks),
		cmocka_unit_test(test_boot_image),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_net_peer_loop),
		cmocka_unit_test(test_net_virtio),
		cmocka_unit_test(test_net_tap),
		cmocka_unit_test(test_pin),
		cmocka_unit_test(test_uefi),
		cmocka_unit_test(test_pvh),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_embed_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
