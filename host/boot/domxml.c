/*
 * The libvirt domain XML of `kvmio boot --connect` (domxml.h). libvirt's vocabulary where it has
 * one (direct kernel boot, <cpu>, <iothreads>, <disk><driver cache= io= iothread=>); what it has
 * no element for, the exact QEMU arguments of the QEMU backend in <qemu:commandline>: a null-co
 * disk (libvirt has no null block driver), pci-testdev (bench=exits), the --image boot disk
 * (snapshot=on: libvirt's own <disk> would need a transient overlay), the UEFI boot volume (a
 * FAT directory, snapshot=on likewise), a topology=loop NIC (QEMU's hub), --qemu-arg.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "boot/domxml.h"
#include "boot/qemu.h"
#include "kvmio_proto.h"

void domxml_put_text(FILE *f, const char *text)
{
	for (const char *c = text; *c; c++) {
		switch (*c) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*c, f);
		}
	}
}

/* <name>text</name> on a line of its own, indented. */
static void element(FILE *f, int indent, const char *name, const char *text)
{
	fprintf(f, "%*s<%s>", indent, "", name);
	domxml_put_text(f, text);
	fprintf(f, "</%s>\n", name);
}

/* name='value' (with a leading space). */
static void attr(FILE *f, const char *name, const char *value)
{
	fprintf(f, " %s='", name);
	domxml_put_text(f, value);
	fputc('\'', f);
}

/* libvirt's iothread ids (1, 2, ...) of the file-backed disks: iothread=on a new one each, a
 * NAME one for every disk naming it. */
struct lv_iothreads {
	char name[QEMU_MAX_DISKS][QEMU_IOTHREAD_MAX];
	int n;
};

static int lv_iothread_id(struct lv_iothreads *t, const char *setting)
{
	if (strcmp(setting, "off") == 0)
		return 0;
	if (strcmp(setting, "on") != 0)
		for (int i = 0; i < t->n; i++)
			if (strcmp(t->name[i], setting) == 0)
				return i + 1;
	snprintf(t->name[t->n], sizeof(t->name[0]), "%s", setting);
	return ++t->n;
}

/* 1 if a -blockdev/-device value belongs to disk k: node-name=diskK[-,], drive=diskK[,], or
 * its virtio-scsi controller (id=scsiK,). */
static int arg_of_disk(const char *v, int k)
{
	char key[3][48];

	snprintf(key[0], sizeof(key[0]), "node-name=disk%d", k);
	snprintf(key[1], sizeof(key[1]), "drive=disk%d", k);
	snprintf(key[2], sizeof(key[2]), "virtio-scsi-pci,id=scsi%d", k);
	for (int i = 0; i < 3; i++) {
		const char *p = strstr(v, key[i]);

		if (p && (p[strlen(key[i])] == ',' || p[strlen(key[i])] == '-' ||
			  !p[strlen(key[i])]))
			return 1;
	}
	return 0;
}

/* 1 for the QEMU backend's arguments of the --image boot disk: its -drive (id=esp, snapshot=on:
 * the image stays unchanged), its ide-hd (bootindex=0) and the AHCI controller it may sit on. */
static int boot_image_arg(const char *k, const char *v)
{
	if (strcmp(k, "-drive") == 0)
		return strncmp(v, "if=none,id=esp,", 15) == 0;
	const char *d = strstr(v, "drive=esp");

	if (strcmp(k, "-device") != 0)
		return 0;
	return (d && (d[9] == ',' || d[9] == '\0')) || strncmp(v, "ahci,id=espahci,", 16) == 0;
}

/* 1 if a -netdev/-device value belongs to NIC i: its netdev (,id=netI) or the device on it
 * (,netdev=netI). */
static int arg_of_nic(const char *k, const char *v, int i)
{
	char key[32];
	const char *p;
	size_t l;

	if (strcmp(k, "-netdev") != 0 && strcmp(k, "-device") != 0)
		return 0;
	snprintf(key, sizeof(key), k[1] == 'n' ? ",id=net%d" : ",netdev=net%d", i);
	l = strlen(key);
	return (p = strstr(v, key)) && (p[l] == ',' || p[l] == '\0');
}

static void qemu_arg(FILE *f, const char *v)
{
	fputs("    <qemu:arg", f);
	attr(f, "value", v);
	fputs("/>\n", f);
}

/*
 * <qemu:commandline>: the QEMU backend's own arguments (cmd->argv) for the null disks (their
 * -blockdev and -device; a device's iothread is libvirt's iothreadN, since libvirt refuses
 * iothreads it did not define), pci-testdev, and the --qemu-arg words.
 */
static void commandline(FILE *f, const struct qemu_options *o, const struct qemu_command *cmd,
			const int *null_disk, const int *iothread, int any_ahci,
			const int *cmdline_nic, char (*mac)[18])
{
	int any = o->nqemu_args > 0;

	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1 && any)
			fputs("  <qemu:commandline>\n", f);
		for (int i = 0; i + 1 < cmd->argc; i++) {
			const char *k = cmd->argv[i], *v = cmd->argv[i + 1];
			int disk = -1;

			if (strcmp(k, "-blockdev") == 0 || strcmp(k, "-device") == 0)
				for (int d = 0; d < o->ndisks && disk < 0; d++)
					if (null_disk[d] && arg_of_disk(v, d))
						disk = d;
			int nic = -1;

			for (int n = 0; n < o->nnets && disk < 0 && nic < 0; n++)
				if (cmdline_nic[n] && arg_of_nic(k, v, n))
					nic = n;
			if (nic >= 0) {
				any = 1;
				if (pass == 0)
					continue;
				qemu_arg(f, k);
				if (strcmp(k, "-device") == 0 && !strstr(v, ",mac=")) {
					/* QEMU's own MAC, named: the same whatever order */
					char *nv = NULL;

					if (asprintf(&nv, "%s,mac=%s", v, mac[nic]) >= 0) {
						qemu_arg(f, nv);
						free(nv);
						continue;
					}
				}
				qemu_arg(f, v);
				continue;
			}
			if (disk < 0 && !(strcmp(k, "-device") == 0 && strcmp(v, "pci-testdev") == 0) &&
			    !boot_image_arg(k, v) && !(any_ahci && strcmp(k, "-device") == 0 &&
							 strncmp(v, "ahci,id=ahci0,", 14) == 0))
				continue;
			any = 1;
			if (pass == 0)
				continue;
			qemu_arg(f, k);
			if (disk >= 0 && strcmp(k, "-device") == 0 && strstr(v, ",iothread=")) {
				const char *p = strstr(v, ",iothread="), *rest = p + strcspn(p + 1, ",") + 1;
				char *nv = NULL;

				if (asprintf(&nv, "%.*s,iothread=iothread%d%s", (int)(p - v), v,
					     iothread[disk], rest) < 0) {
					qemu_arg(f, v);
					continue;
				}
				qemu_arg(f, nv);
				free(nv);
			} else {
				qemu_arg(f, v);
			}
		}
	}
	if (!any)
		return;
	for (int i = 0; i < o->nqemu_args; i++)
		qemu_arg(f, o->qemu_args[i]);
	fputs("  </qemu:commandline>\n", f);
}

static void disk_element(FILE *f, const struct qemu_disk *d, int k, int ide_index, int iothread)
{
	char target[8], id[16];

	fputs("    <disk type='file' device='disk'", f);
	if (d->model == QEMU_DISK_VIRTIO)
		attr(f, "model", strcmp(d->transport, "modern") == 0 ? "virtio-non-transitional"
			  : "virtio-transitional");
	fputs(">\n      <driver name='qemu'", f);
	attr(f, "type", d->format);
	attr(f, "cache", d->cache);
	attr(f, "io", d->aio);
	if (iothread) {
		snprintf(id, sizeof(id), "%d", iothread);
		attr(f, "iothread", id);
	}
	if (d->queues) {
		snprintf(id, sizeof(id), "%u", d->queues);
		attr(f, "queues", id);
	}
	if (d->packed)
		attr(f, "packed", d->packed);
	fputs("/>\n      <source", f);
	attr(f, "file", d->file);
	fputs("/>\n      <target", f);
	if (d->model == QEMU_DISK_IDE) {
		snprintf(target, sizeof(target), "hd%c", 'a' + ide_index);
		attr(f, "dev", target);
		fputs(" bus='ide'/>\n", f);
	} else {
		snprintf(target, sizeof(target), "vd%c", 'a' + k);
		attr(f, "dev", target);
		fputs(" bus='virtio'/>\n", f);
	}
	if (d->readonly)
		fputs("      <readonly/>\n", f);
	if (d->model == QEMU_DISK_IDE)
		fprintf(f, "      <address type='drive' controller='0' bus='%d' target='0' "
			"unit='%d'/>\n", ide_index / 2, ide_index % 2);
	else
		fprintf(f, "      <address type='pci' domain='0x0000' bus='0x00' slot='0x%02x' "
			"function='0x0'/>\n", QEMU_VIRTIO_SLOT0 + k);
	fputs("    </disk>\n", f);
}

/* 1 if NIC i's -netdev in cmd (a tap) says vhost=on (qemu_build_command resolved it). */
static int nic_vhost(const struct qemu_command *cmd, int i)
{
	for (int a = 0; a + 1 < cmd->argc; a++)
		if (arg_of_nic(cmd->argv[a], cmd->argv[a + 1], i) && cmd->argv[a][1] == 'n')
			return strstr(cmd->argv[a + 1], ",vhost=on") != NULL;
	return 0;
}

/*
 * NIC i as a libvirt <interface>: topology=peer as type='udp' (QEMU's -netdev socket,udp= to
 * the peer on 127.0.0.1), topology=tap as type='ethernet' on kvmio's own tap (managed='no'),
 * the model, QEMU's MAC, the QEMU backend's PCI slot, virtio-net's <driver>.
 */
static void interface_element(FILE *f, const struct qemu_nic *n, int i, const char *mac,
			      int vhost, const char *tap, const struct domxml_params *p)
{
	int virtio = strcmp(n->model, "virtio-net") == 0;

	fprintf(f, "    <interface type='%s'>\n      <mac", n->topology == NET_TAP ? "ethernet" : "udp");
	attr(f, "address", mac);
	fputs("/>\n", f);
	if (n->topology == NET_TAP) {
		fputs("      <target", f);
		attr(f, "dev", tap);
		fputs(" managed='no'/>\n", f);
	} else {
		fputs("      <source address='127.0.0.1'", f);
		if (p->udp_peer && p->udp_peer[i])
			fprintf(f, " port='%u'", p->udp_peer[i]);
		else
			fprintf(f, " port='PEERPORT%d'", i);
		fputs(">\n        <local address='127.0.0.1'", f);
		if (p->udp_guest && p->udp_guest[i])
			fprintf(f, " port='%u'", p->udp_guest[i]);
		else
			fprintf(f, " port='GUESTPORT%d'", i);
		fputs("/>\n      </source>\n", f);
	}
	fputs("      <model", f);
	attr(f, "type", !virtio ? n->model : strcmp(n->transport, "modern") == 0 ?
	     "virtio-non-transitional" : "virtio-transitional");
	fputs("/>\n", f);
	if (virtio) {
		fprintf(f, "      <driver name='%s'", vhost ? "vhost" : "qemu");
		if (n->packed)
			attr(f, "packed", n->packed);
		fputs("/>\n", f);
	}
	fprintf(f, "      <address type='pci' domain='0x0000' bus='0x00' slot='0x%02x' "
		"function='0x0'/>\n    </interface>\n", QEMU_NIC_SLOT0 + i);
}

/* <cputune>: --pin's vCPU on its first CPU, QEMU's other threads (libvirt's emulator threads
 * and iothreads) on the rest, or on that CPU when the list has one (boot/pin.h). */
static void cputune(FILE *f, const struct pin_cpus *pin, int niothreads)
{
	char rest[256];

	pin_cpus_text(pin, pin->n > 1 ? 1 : 0, rest, sizeof(rest));
	fprintf(f, "  <cputune>\n    <vcpupin vcpu='0' cpuset='%d'/>\n", pin->cpu[0]);
	fprintf(f, "    <emulatorpin cpuset='%s'/>\n", rest);
	for (int k = 1; k <= niothreads; k++)
		fprintf(f, "    <iothreadpin iothread='%d' cpuset='%s'/>\n", k, rest);
	fputs("  </cputune>\n", f);
}

int domxml_build(const struct qemu_options *o, const struct qemu_command *cmd,
		 const struct domxml_params *p, char **xml, char *err, size_t errlen)
{
	struct qemu_disk disks[QEMU_MAX_DISKS];
	int null_disk[QEMU_MAX_DISKS], iothread[QEMU_MAX_DISKS], any_ahci = 0;
	struct qemu_nic nics[QEMU_MAX_NICS];
	int cmdline_nic[QEMU_MAX_NICS];
	char mac[QEMU_MAX_NICS][18];
	struct lv_iothreads lt = { .n = 0 };
	char *guest, *buf = NULL;
	size_t len = 0;
	FILE *f;

	*xml = NULL;
	if (o->nnets > QEMU_MAX_NICS) {
		snprintf(err, errlen, "--net: at most %d NICs", QEMU_MAX_NICS);
		return KVMIO_EXIT_BADCONFIG;
	}
	for (int i = 0, unset = 0; i < o->nnets; i++) {
		struct qemu_nic *n = &nics[i];
		struct qemu_props props;

		if (net_parse_spec(o->nets[i], n, err, errlen) != 0)
			return KVMIO_EXIT_BADCONFIG;
		if (n->mac[0])
			snprintf(mac[i], sizeof(mac[i]), "%s", n->mac);
		else
			snprintf(mac[i], sizeof(mac[i]), DOMXML_QEMU_MAC_FMT,
				 (DOMXML_QEMU_MAC_LAST + unset++) & 0xff);
		cmdline_nic[i] = n->topology == NET_LOOP;
		if (cmdline_nic[i])
			continue;   /* QEMU's own arguments: props and every transport as they are */
		if (qemu_spec_props("--net", o->nets[i], &props, err, errlen) != 0)
			return KVMIO_EXIT_BADCONFIG;
		if (props.n > 0) {
			snprintf(err, errlen, "--connect: --net prop.%s= on a topology=%s NIC has no "
				 "libvirt attribute (topology=loop takes it)", props.name[0],
				 net_topology_name(n->topology));
			return KVMIO_EXIT_BADCONFIG;
		}
		if (n->transport && strcmp(n->transport, "legacy") == 0) {
			snprintf(err, errlen, "--connect: --net transport=legacy has no libvirt model "
				 "(virtio-transitional or virtio-non-transitional: transitional, modern)");
			return KVMIO_EXIT_BADCONFIG;
		}
	}
	if (!o->no_debug_exit) {
		snprintf(err, errlen, "--connect: libvirt has no isa-debug-exit (no_debug_exit unset)");
		return KVMIO_EXIT_BADCONFIG;
	}
	if (o->ndisks > QEMU_MAX_DISKS) {
		snprintf(err, errlen, "--disk: at most %d disks", QEMU_MAX_DISKS);
		return KVMIO_EXIT_BADCONFIG;
	}
	for (int k = 0; k < o->ndisks; k++) {
		struct qemu_disk *d = &disks[k];

		if (qemu_parse_disk(o->disks[k], d, err, errlen) != 0)
			return KVMIO_EXIT_BADCONFIG;
		null_disk[k] = d->file == NULL;
		iothread[k] = 0;
		any_ahci |= d->model == QEMU_DISK_AHCI; /* on pc with its own controller (ahci0) */
		if (null_disk[k])
			continue;
		if (d->model == QEMU_DISK_VIRTIO_SCSI) {
			snprintf(err, errlen, "--connect: --disk virtio-scsi needs backend=null through "
				 "libvirt (a file disk on a libvirt virtio-scsi <controller> is not "
				 "written yet)");
			return KVMIO_EXIT_BADCONFIG;
		}
		if (d->model == QEMU_DISK_NVME) {
			snprintf(err, errlen, "--connect: --disk nvme needs backend=null through "
				 "libvirt (libvirt 9.0 has no NVMe disk bus)");
			return KVMIO_EXIT_BADCONFIG;
		}
		if (d->model != QEMU_DISK_IDE && d->model != QEMU_DISK_VIRTIO) {
			snprintf(err, errlen, "--connect: --disk %.*s needs backend=null through "
				 "libvirt (file disks: ide and virtio-blk, as libvirt <disk>s)",
				 (int)strcspn(o->disks[k], ","), o->disks[k]);
			return KVMIO_EXIT_BADCONFIG;
		}
		{
			struct qemu_props props;

			if (qemu_spec_props("--disk", o->disks[k], &props, err, errlen) != 0)
				return KVMIO_EXIT_BADCONFIG;
			if (props.n > 0) {
				snprintf(err, errlen, "--connect: --disk prop.%s= on a file disk has "
					 "no libvirt attribute (backend=null takes it)", props.name[0]);
				return KVMIO_EXIT_BADCONFIG;
			}
		}
		if (d->inject) {
			snprintf(err, errlen, "--connect: --disk inject= needs backend=null through "
				 "libvirt (a file disk is a libvirt <disk>, which has no blkdebug)");
			return KVMIO_EXIT_BADCONFIG;
		}
		if (d->model == QEMU_DISK_VIRTIO && strcmp(d->transport, "legacy") == 0) {
			snprintf(err, errlen, "--connect: --disk transport=legacy has no libvirt model "
				 "(virtio-transitional or virtio-non-transitional: transitional, modern)");
			return KVMIO_EXIT_BADCONFIG;
		}
	}
	for (int k = 0; k < o->ndisks; k++)
		if (disks[k].poll_max_ns >= 0) {
			snprintf(err, errlen, "--connect: --disk poll-max-ns= has no libvirt 9.0 "
				 "element (<iothreads> takes no polling settings): use the QEMU backend");
			return KVMIO_EXIT_BADCONFIG;
		}
	/* every iothread is libvirt's (<iothreads>), null disks' too */
	for (int k = 0; k < o->ndisks; k++)
		iothread[k] = lv_iothread_id(&lt, disks[k].iothread);
	guest = qemu_join_guest_args(o->guest_args, o->nguest_args);
	f = guest ? open_memstream(&buf, &len) : NULL;
	if (!f) {
		free(guest);
		snprintf(err, errlen, "out of memory");
		return KVMIO_EXIT_IO;
	}
	fprintf(f, "<domain type='%s' xmlns:qemu='%s'>\n",
		strcmp(cmd->accel, "kvm") == 0 ? "kvm" : "qemu", DOMXML_QEMU_NS);
	element(f, 2, "name", p->name);
	fprintf(f, "  <memory unit='MiB'>%d</memory>\n", cmd->memory_mib);
	int tcg = strcmp(cmd->accel, "kvm") != 0;
	fputs("  <vcpu", f);
	if (p->cpuset && !p->pin) {
		fputs(" placement='static'", f);
		attr(f, "cpuset", p->cpuset);
	}
	if (tcg) /* room for a CPU never plugged: TCG keeps the guest's barriers (QEMU_TCG_SMP) */
		fprintf(f, " current='1'>%d</vcpu>\n", QEMU_TCG_MAXCPUS);
	else
		fputs(">1</vcpu>\n", f);
	if (lt.n)
		fprintf(f, "  <iothreads>%d</iothreads>\n", lt.n);
	if (p->pin)
		cputune(f, p->pin, lt.n);
	fputs("  <os>\n    <type arch='x86_64'", f);
	attr(f, "machine", cmd->machine);
	fputs(">hvm</type>\n", f);
	if (strcmp(cmd->firmware, "uefi") == 0) {
		/* OVMF's code in place, read-only; the boot's private copy of its variables */
		fputs("    <loader readonly='yes' type='pflash'>", f);
		domxml_put_text(f, o->ovmf_code ? o->ovmf_code : "OVMF_CODE.fd");
		fputs("</loader>\n", f);
		element(f, 4, "nvram", o->ovmf_vars ? o->ovmf_vars : "OVMF_VARS.fd");
	}
	if (o->boot_image || strcmp(cmd->firmware, "uefi") == 0) {
		/* the image's own loader (GRUB), or kvmio.efi on the UEFI boot volume */
		fputs("    <boot dev='hd'/>\n", f);
	} else {
		element(f, 4, "kernel", cmd->image);
		if (guest[0])
			element(f, 4, "cmdline", guest);
	}
	fputs("  </os>\n  <features>\n    <acpi/>\n  </features>\n", f);
	/* -cpu host under KVM, -cpu max under TCG: the QEMU backend's CPUs */
	if (tcg)
		fprintf(f, "  <cpu mode='maximum'>\n    <topology sockets='%d' dies='1' cores='1' "
			"threads='1'/>\n  </cpu>\n", QEMU_TCG_MAXCPUS);
	else
		fputs("  <cpu mode='host-passthrough'/>\n", f);
	fputs("  <clock offset='utc'/>\n", f);
	fputs("  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>destroy</on_reboot>\n"
	      "  <on_crash>destroy</on_crash>\n", f);
	fputs("  <devices>\n", f);
	element(f, 4, "emulator", p->emulator);
	for (int k = 0, nide = 0; k < o->ndisks; k++) {
		if (!null_disk[k])
			disk_element(f, &disks[k], k, nide, iothread[k]);
		nide += disks[k].model == QEMU_DISK_IDE;
	}
	for (int i = 0; i < o->nnets; i++)
		if (!cmdline_nic[i])
			interface_element(f, &nics[i], i, mac[i], nic_vhost(cmd, i), cmd->tap, p);
	fputs("    <controller type='usb' model='none'/>\n", f);
	if (p->serial_path) {
		fputs("    <serial type='file'>\n      <source", f);
		attr(f, "path", p->serial_path);
		fputs(" append='off'/>\n      <target port='0'/>\n    </serial>\n", f);
	} else {
		fputs("    <serial type='pty'>\n      <target port='0'/>\n    </serial>\n", f);
	}
	fputs("    <memballoon model='none'/>\n  </devices>\n", f);
	if (p->run_as_root)
		fputs("  <seclabel type='static' model='dac' relabel='no'>\n"
		      "    <label>+0:+0</label>\n  </seclabel>\n", f);
	commandline(f, o, cmd, null_disk, iothread, any_ahci, cmdline_nic, mac);
	fputs("</domain>\n", f);
	free(guest);
	if (fclose(f) != 0 || !buf) {
		free(buf);
		snprintf(err, errlen, "out of memory");
		return KVMIO_EXIT_IO;
	}
	*xml = buf;
	return KVMIO_EXIT_OK;
}
