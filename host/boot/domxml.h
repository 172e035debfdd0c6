/*
 * The libvirt domain XML of `kvmio boot --connect`: a pure function of the same options the QEMU
 * backend reads (struct qemu_options, its --disk specs through qemu_parse_disk) and of the
 * command qemu_build_command resolved from them (machine, accelerator, image, memory).
 */
#ifndef KVMIO_HOST_BOOT_DOMXML_H
#define KVMIO_HOST_BOOT_DOMXML_H
#include <stddef.h>
#include <stdio.h>
#include "boot/net.h"
#include "boot/pin.h"
#include "boot/qemu.h"

#define DOMXML_QEMU_NS "http://libvirt.org/schemas/domain/qemu/1.0"

struct domxml_params {
	const char *name;          /* the domain's name */
	const char *emulator;      /* the QEMU binary, an absolute path on the host that runs it */
	const char *serial_path;   /* the file the guest's serial port writes (on that host);
				    * NULL: a pty, read through virDomainOpenConsole */
	int run_as_root;           /* 1: QEMU runs as root and libvirt relabels no file */
	const struct pin_cpus *pin; /* --pin: <cputune> (vcpupin, emulatorpin, iothreadpin); NULL */
	/* --net topology=peer NIC i: its <interface type='udp'> ports on 127.0.0.1, the peer's
	 * (<source port>) and QEMU's (<local port>); NULL or 0: the placeholders PEERPORTi and
	 * GUESTPORTi (--print-xml) */
	const unsigned *udp_peer, *udp_guest;
	/* without --pin: the CPUs QEMU may run on ("0", "0-1,3"), as <vcpu cpuset=>: the
	 * affinity kvmio's own QEMU would inherit (libvirt would give it every CPU); NULL: none */
	const char *cpuset;
};

/* QEMU's own MAC address of a NIC without mac= (52:54:00:12:34:56, then one more for each
 * such NIC, in --net order): libvirt would pick a random one, so the XML names it. */
#define DOMXML_QEMU_MAC_FMT "52:54:00:12:34:%02x"
#define DOMXML_QEMU_MAC_LAST 0x56

/*
 * The domain XML (malloc'd) into *xml. cmd: qemu_build_command of the same options with
 * no_debug_exit set (libvirt has no isa-debug-exit: the guest powers off through ACPI). What
 * libvirt cannot say is refused: 0, or 2 with a one-line message in err.
 */
int domxml_build(const struct qemu_options *o, const struct qemu_command *cmd,
		 const struct domxml_params *p, char **xml, char *err, size_t errlen);

/* text with the five XML special characters as entities, onto f (the one XML escaper). */
void domxml_put_text(FILE *f, const char *text);

#endif
