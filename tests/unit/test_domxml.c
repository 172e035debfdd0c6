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
					     "/tmp/k/serial.log", 1 };

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
	has(xml, "<cpu mode='maximum'/>");           /* -cpu max, as the QEMU backend under TCG */
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

static void test_refusals(void **state)
{
	char *guest[] = { "bench=disk" };
	char *legacy[] = { "virtio-blk,transport=legacy,file=/d/a.img" };
	char *inject[] = { "virtio-blk,file=/d/a.img,inject=eio-write" };
	char *nvme[] = { "nvme,file=/d/a.img" };
	char *scsi[] = { "virtio-scsi,file=/d/a.img" };
	char *ahci[] = { "ahci,file=/d/a.img" };
	char *prop[] = { "virtio-blk,file=/d/a.img,prop.num-queues=2" };
	char *nets[] = { "virtio-net,topology=loop", "virtio-net,topology=loop" };
	struct qemu_options o = opts(guest, 1, NULL, 0);

	(void)state;
	o.firmware = "uefi";
	o.ovmf_code = "/fw/CODE.fd";
	o.ovmf_vars = "/fw/VARS.fd";
	o.esp_dir = "/tmp/esp";
	refused(&o, "firmware uefi");
	o = opts(guest, 1, NULL, 0);
	o.firmware = "pvh";
	refused(&o, "firmware pvh");
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
	o.nets = nets;
	o.nnets = 2;
	refused(&o, "--net");
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
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_embed_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
