/* Building the QEMU command line for `kvmio boot`: a pure function of the options. */
#ifndef KVMIO_QEMU_H
#define KVMIO_QEMU_H
#include <stddef.h>

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
	int (*kvm_usable)(void);       /* 1 if /dev/kvm can be used; NULL: qemu_kvm_usable */
	int no_debug_exit;             /* 1: no isa-debug-exit, as under other VMMs (ACPI power-off) */
};

struct qemu_command {
	char **argv;                   /* NULL-terminated, all strings owned */
	int argc;
	const char *firmware, *machine, *accel; /* resolved (static strings) */
	char image[4096];              /* the guest image the command needs */
	int memory_mib;
};

/* 1 if /dev/kvm opens read-write. */
int qemu_kvm_usable(void);

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
 * one-line message in err. Touches no files except through kvm_usable.
 */
int qemu_build_command(const struct qemu_options *o, struct qemu_command *cmd, char *err,
		       size_t errlen);
void qemu_command_free(struct qemu_command *cmd);

/* Shell-quoted command line (malloc'd). */
char *qemu_command_string(char *const *argv);

#endif
