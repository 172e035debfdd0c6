/* Building the QEMU command line for `kvmio boot`: a pure function of the options. */
#ifndef KVMIO_HOST_BOOT_QEMU_H
#define KVMIO_HOST_BOOT_QEMU_H
#include <stddef.h>
#include "boot/hostinfo.h"

struct qemu_options {
	const char *firmware;          /* bios (default), uefi, pvh */
	const char *machine;           /* pc, q35, microvm; NULL: by firmware */
	const char *accel;             /* auto (default), kvm, tcg */
	int memory_mib;                /* 0: 128, or 256 for uefi */
	const char *qemu;              /* QEMU binary */
	const char *image_dir;         /* where kvmio.elf, kvmio-pvh.elf, kvmio.efi are */
	const char *ovmf_code;         /* uefi: firmware code, used in place */
	const char *ovmf_vars;         /* uefi: the private, writable copy of the variables */
	const char *esp_dir;           /* uefi: directory served as the FAT boot volume */
	char **guest_args;             /* guest options, joined with spaces */
	int nguest_args;
	char **qemu_args;              /* appended verbatim, in order */
	int nqemu_args;
	/* fills the KVM flavour of this host; NULL: qemu_host_kvm_flavour (read once) */
	void (*kvm_flavour)(struct kvm_flavour *out);
	int no_debug_exit;             /* 1: no isa-debug-exit, as under other VMMs (ACPI power-off) */
	char **disks;                  /* --disk specs, in order: guest dev=0, 1, ... */
	int ndisks;
	int (*path_exists)(const char *path);        /* NULL: stat() says regular file/blockdev */
	int (*io_uring_usable)(const char *qemu);    /* NULL: qemu_io_uring_usable */
	char **nets;                   /* --net specs, in order: guest NIC dev=0, 1, ... */
	int nnets;
	const char *net_dir;           /* private directory of the peer sockets (NULL: "NETDIR") */
	const char *netns;             /* tap: the network namespace (NULL: "kvmio-PID") */
	int (*tap_usable)(void);       /* NULL: net_tap_possible (root and /dev/net/tun) */
	int (*vhost_usable)(void);     /* NULL: net_vhost_possible (/dev/vhost-net) */
	/* the properties of a device model in binary qemu, space-separated (prop.NAME=VALUE is
	 * checked against them; "*": any name); 0 or -1 with the reason in list.
	 * NULL: qemubin_device_props */
	int (*device_props)(const char *qemu, const char *model, char *list, size_t len);
	const char *boot_image;        /* --image: boot this disk image (bios, uefi), not -kernel
					* or the ESP directory; the guest options are in it */
};

/*
 * prop.NAME=VALUE items of a --disk or --net SPEC (the spec parsers skip them): each is added
 * as NAME=VALUE to the -device line kvmio builds for that disk or NIC (the last one, for a
 * device built of several), once checked against the binary's `-device MODEL,help`. NAME: a
 * letter, then letters, digits, '-', '_' or '.'; VALUE: no spaces.
 */
#define QEMU_MAX_PROPS 16
struct qemu_props {
	int n;
	char name[QEMU_MAX_PROPS][64];
	char value[QEMU_MAX_PROPS][256];
};
/* The prop. items of SPEC into *p. 0, or 2 with a one-line message naming OWNER ("--disk"). */
int qemu_spec_props(const char *owner, const char *spec, struct qemu_props *p, char *err,
		    size_t errlen);

/* One parsed --disk SPEC (see qemu_parse_disk). Strings point into static tables or the spec. */
#define QEMU_MAX_DISKS 8
#define QEMU_MAX_IDE 4                 /* ide.0 and ide.1, two units each (pc) */
#define QEMU_VIRTIO_SLOT0 0x10         /* virtio disk N (in --disk order) sits at 00:(0x10+N).0;
					* a virtio-scsi disk is the scsi-hd on a virtio-scsi-pci
					* controller of its own there */
#define QEMU_NVME_SLOT0 QEMU_VIRTIO_SLOT0 /* nvme disk N likewise: one slot per --disk index */
#define QEMU_MAX_AHCI 6                /* one disk per AHCI port: ich9-ahci has six */
#define QEMU_AHCI_SLOT 0x0e            /* pc: the -device ahci for --disk ahci sits at 00:0e.0 */
enum qemu_disk_model { QEMU_DISK_IDE, QEMU_DISK_VIRTIO, QEMU_DISK_NVME, QEMU_DISK_VIRTIO_SCSI,
		       QEMU_DISK_AHCI };
/*
 * iothread=on|off|NAME, the key every virtio storage device takes (qemu_parse_iothread): off is
 * QEMU's main loop (its default); on an `-object iothread` of the device's own; devices naming
 * the same NAME share one. A NAME is a letter, then letters, digits, '-' or '_' (no dot: the
 * iothreads of `on` are called iothread.diskN, so no NAME can clash with them).
 */
#define QEMU_IOTHREAD_MAX 32           /* bytes of an iothread setting, NUL included */
#define QEMU_DISK_QUEUES_MAX 64        /* --disk queues= at most */
#define QEMU_POLL_MAX_NS_LIMIT 1000000000LL /* --disk poll-max-ns= at most (1 s) */
/*
 * Under TCG the machine has room for a second CPU that is never plugged: QEMU before 8.1 leaves
 * out the guest's memory barriers (MFENCE, LOCK-prefixed instructions) when the machine can
 * have only one CPU, although its device threads (main loop, iothreads, a virtio-net TX bottom
 * half) read the rings while the vCPU writes them. A driver's "publish avail idx, MFENCE, read
 * avail_event" then runs out of order on the host and a notification is lost: the device
 * waits for a kick the driver was told it need not send (QEMU 8.1, commit "tcg: Do not elide
 * memory barriers for !CF_PARALLEL in system mode"). With maxcpus=2 TCG keeps the barriers
 * (CF_PARALLEL); one socket per CPU keeps CPUID's count at the one CPU that runs.
 * docs/measurement.md, "Guest barriers under TCG".
 */
#define QEMU_TCG_MAXCPUS 2             /* libvirt: <vcpu current='1'>2</vcpu>, one socket each */
#define QEMU_TCG_STR_(x) #x
#define QEMU_TCG_STR(x) QEMU_TCG_STR_(x)
#define QEMU_TCG_SMP "1,sockets=" QEMU_TCG_STR(QEMU_TCG_MAXCPUS) ",cores=1,threads=1,maxcpus=" \
	QEMU_TCG_STR(QEMU_TCG_MAXCPUS)
struct qemu_disk {
	enum qemu_disk_model model;
	const char *transport;         /* virtio: legacy, modern, transitional; microvm: mmio
					* (virtio-mmio version 1, QEMU's default) or mmio-modern (2) */
	int transport_given;           /* transport= was in the spec (else the machine's default) */
	int mmio_bus;                  /* mmio: the virtio-mmio transport, virtio-mmio-bus.N */
	const char *file;              /* NULL: null-co backend */
	unsigned long long size;       /* null backend, bytes */
	const char *cache;             /* file: none writethrough writeback directsync unsafe */
	const char *aio;               /* file: threads native io_uring */
	const char *format;            /* file: raw qcow2 */
	long long latency_ns;          /* null backend; -1: not given */
	int readonly;
	const char *inject;            /* NULL, eio-read, eio-write */
	char iothread[QEMU_IOTHREAD_MAX]; /* off (QEMU's main loop), on (its own), or a NAME */
	long long poll_max_ns;         /* its iothread's poll-max-ns= (adaptive polling); -1: QEMU's
					* default (32768 ns in 7.2) */
	const char *packed;            /* virtio: "on", "off" (packed=), or NULL: QEMU's default (off) */
	unsigned queues;               /* virtio-blk: num-queues=; 0: QEMU's default */
	char filebuf[4096];
};

struct qemu_command {
	char **argv;                   /* NULL-terminated, all strings owned */
	int argc;
	const char *firmware, *machine, *accel; /* resolved (static strings) */
	char accel_label[400];         /* the flavour: "tcg", "kvm (kvm_intel, hardware VMX, ...)" */
	char accel_why[512];           /* why this accelerator ("auto: tcg, because ...") */
	enum exec_mode exec;           /* how the guest's code runs under it (hostinfo.h) */
	char image[4096];              /* the guest image the command needs */
	int memory_mib;
	int has_tap;                   /* argv starts with "ip netns exec NS" */
	char iothreads[QEMU_MAX_DISKS * QEMU_IOTHREAD_MAX]; /* each disk's iothread setting in
					* --disk order, comma-separated (on, off, NAME); "" without disks */
	char tap[16];                  /* the tap device inside the namespace */
};

/* virtio-mmio (microvm): the transports of -M microvm,acpi=off (QEMU 7.2: 8, at GSIs 5..12). A
 * disk or NIC gets transport N in --disk order, then --net order, so the guest, numbering them
 * by address, numbers them as kvmio boot does. */
#define QEMU_MMIO_TRANSPORTS 8
/* 1 if a transport= value is one of the virtio-mmio ones (mmio, mmio-modern). */
int qemu_transport_is_mmio(const char *transport);
/* A file name inside an option list (-blockdev, and kvmio's own --disk FILE=): commas doubled,
 * as QEMU's keyval escaping and qemu_parse_disk read them; malloc'd, NULL without memory. */
char *qemu_keyval_escape(const char *s);

/* This host's KVM flavour (host_facts_read_kvm + host_kvm_flavour), read once per process. */
void qemu_host_kvm_flavour(struct kvm_flavour *out);

/* Image file name for a firmware: kvmio.elf, kvmio-pvh.elf, kvmio.efi; NULL if unknown. */
const char *qemu_image_name(const char *firmware);

/* Resolved machine for firmware/machine options, or NULL if unknown firmware. */
const char *qemu_default_machine(const char *firmware);

/* Guest options joined with single spaces (malloc'd). */
char *qemu_join_guest_args(char *const *args, int n);

/* 1 if the guest options run the exits benchmark (bench=exits, or no bench= at all). */
int qemu_guest_runs_exits(char *const *args, int n);

/*
 * Fill *cmd. Returns 0, or 2 (usage error: impossible combination, kvm unusable) with a
 * one-line message in err. Touches no files except through kvm_flavour.
 */
int qemu_build_command(const struct qemu_options *o, struct qemu_command *cmd, char *err,
		       size_t errlen);
void qemu_command_free(struct qemu_command *cmd);

/* Parse SIZE with optional K/M/G/T suffix (binary); 0 on success. */
int qemu_parse_size(const char *s, unsigned long long *out);

/* An iothread=VALUE setting (on, off or NAME) into out[QEMU_IOTHREAD_MAX]. 0, or 2 with a
 * one-line message in err naming OWNER ("--disk"). */
int qemu_parse_iothread(const char *owner, const char *v, char *out, char *err, size_t errlen);

/* Parse one --disk SPEC (syntax only, no files). 0, or 2 with a one-line message in err. */
int qemu_parse_disk(const char *spec, struct qemu_disk *d, char *err, size_t errlen);

/* 1 if QEMU accepts aio=io_uring (probes the binary once). */
int qemu_io_uring_usable(const char *qemu);

/* 1 if the options have exactly two topology=loop NICs and the guest options no rxdev=:
 * then kvmio appends rxdev=1 (NIC 0 sends, NIC 1 receives). */
int qemu_loop_needs_rxdev(const struct qemu_options *o);

/* Shell-quoted command line (malloc'd). */
char *qemu_command_string(char *const *argv);

#endif
