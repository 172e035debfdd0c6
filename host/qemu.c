/* Building the QEMU command line for `kvmio boot`. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "host/qemu.h"

int qemu_kvm_usable(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return 0;
	close(fd);
	return 1;
}

const char *qemu_image_name(const char *firmware)
{
	if (strcmp(firmware, "bios") == 0)
		return "kvmio.elf";
	if (strcmp(firmware, "pvh") == 0)
		return "kvmio-pvh.elf";
	if (strcmp(firmware, "uefi") == 0)
		return "kvmio.efi";
	return NULL;
}

const char *qemu_default_machine(const char *firmware)
{
	if (strcmp(firmware, "bios") == 0)
		return "pc";
	if (strcmp(firmware, "uefi") == 0)
		return "q35";
	if (strcmp(firmware, "pvh") == 0)
		return "microvm";
	return NULL;
}

char *qemu_join_guest_args(char *const *args, int n)
{
	size_t len = 1;
	char *s;

	for (int i = 0; i < n; i++)
		len += strlen(args[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	s[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, args[i]);
	}
	return s;
}

int qemu_guest_runs_exits(char *const *args, int n)
{
	int chose_bench = 0;

	/* An option word may itself hold several space-separated options. */
	for (int i = 0; i < n; i++) {
		const char *p = args[i];

		while (*p) {
			size_t wl = strcspn(p, " ");

			if (wl > 6 && strncmp(p, "bench=", 6) == 0) {
				const char *v = p + 6, *vend = p + wl;

				chose_bench = 1;
				while (v < vend) {
					size_t l = strcspn(v, ",");

					if (v + l > vend)
						l = (size_t)(vend - v);
					if (l == 5 && strncmp(v, "exits", 5) == 0)
						return 1;
					v += l + (v + l < vend);
				}
			}
			p += wl;
			p += strspn(p, " ");
		}
	}
	return !chose_bench;
}

struct argv_builder {
	char **argv;
	int argc, cap, failed;
};

static void add(struct argv_builder *b, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (b->failed)
		return;
	if (b->argc + 2 > b->cap) {
		int cap = b->cap ? b->cap * 2 : 32;
		char **n = realloc(b->argv, (size_t)cap * sizeof(*n));

		if (!n) {
			b->failed = 1;
			return;
		}
		b->argv = n;
		b->cap = cap;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		b->failed = 1;
		va_end(ap);
		return;
	}
	va_end(ap);
	b->argv[b->argc++] = s;
	b->argv[b->argc] = NULL;
}

int qemu_build_command(const struct qemu_options *o, struct qemu_command *cmd, char *err,
		       size_t errlen)
{
	const char *firmware = o->firmware ? o->firmware : "bios";
	const char *accel = o->accel ? o->accel : "auto";
	int (*kvm_usable)(void) = o->kvm_usable ? o->kvm_usable : qemu_kvm_usable;
	struct argv_builder b = { 0 };
	const char *machine, *image;
	char *guest;

	memset(cmd, 0, sizeof(*cmd));
	image = qemu_image_name(firmware);
	if (!image) {
		snprintf(err, errlen, "unknown firmware '%s' (bios, uefi or pvh)", firmware);
		return 2;
	}
	machine = o->machine ? o->machine : qemu_default_machine(firmware);
	if (strcmp(machine, "pc") && strcmp(machine, "q35") && strcmp(machine, "microvm")) {
		snprintf(err, errlen, "unknown machine '%s' (pc, q35 or microvm)", machine);
		return 2;
	}
	if (strcmp(machine, "microvm") == 0 && strcmp(firmware, "pvh") != 0) {
		snprintf(err, errlen, "firmware %s cannot boot machine microvm: use --firmware pvh",
			 firmware);
		return 2;
	}
	if (strcmp(accel, "auto") == 0) {
		accel = kvm_usable() ? "kvm" : "tcg";
	} else if (strcmp(accel, "kvm") == 0) {
		if (!kvm_usable()) {
			snprintf(err, errlen, "--accel kvm: /dev/kvm cannot be opened read-write "
				 "(use --accel tcg or auto)");
			return 2;
		}
	} else if (strcmp(accel, "tcg") != 0) {
		snprintf(err, errlen, "unknown accelerator '%s' (auto, kvm or tcg)", accel);
		return 2;
	}
	/* Static strings for the caller. */
	cmd->firmware = !strcmp(firmware, "bios") ? "bios" : !strcmp(firmware, "uefi") ? "uefi"
			: "pvh";
	cmd->machine = !strcmp(machine, "pc") ? "pc" : !strcmp(machine, "q35") ? "q35" : "microvm";
	cmd->accel = strcmp(accel, "kvm") == 0 ? "kvm" : "tcg";
	cmd->memory_mib = o->memory_mib > 0 ? o->memory_mib
			  : strcmp(firmware, "uefi") == 0 ? 256 : 128;
	snprintf(cmd->image, sizeof(cmd->image), "%s/%s", o->image_dir ? o->image_dir : ".",
		 image);

	add(&b, "%s", o->qemu ? o->qemu : "qemu-system-x86_64");
	add(&b, "-nodefaults");
	add(&b, "-nographic");
	add(&b, "-no-reboot");
	add(&b, "-serial");
	add(&b, "stdio");
	add(&b, "-monitor");
	add(&b, "none");
	add(&b, "-M");
	add(&b, "%s", cmd->machine);
	add(&b, "-accel");
	add(&b, "%s", cmd->accel);
	add(&b, "-cpu");
	add(&b, "%s", strcmp(cmd->accel, "kvm") == 0 ? "host" : "max");
	add(&b, "-m");
	add(&b, "%d", cmd->memory_mib);
	if (!o->no_debug_exit) {
		add(&b, "-device");
		add(&b, "isa-debug-exit,iobase=0xf4,iosize=0x04");
	}
	if (strcmp(cmd->machine, "microvm") != 0 &&
	    qemu_guest_runs_exits(o->guest_args, o->nguest_args)) {
		add(&b, "-device");
		add(&b, "pci-testdev");
	}
	if (strcmp(cmd->firmware, "uefi") == 0) {
		add(&b, "-drive");
		add(&b, "if=pflash,format=raw,unit=0,readonly=on,file=%s",
		    o->ovmf_code ? o->ovmf_code : "OVMF_CODE.fd");
		add(&b, "-drive");
		add(&b, "if=pflash,format=raw,unit=1,file=%s",
		    o->ovmf_vars ? o->ovmf_vars : "OVMF_VARS.fd");
		/* ide-hd refuses a read-only drive; snapshot=on keeps the directory unchanged. */
		add(&b, "-drive");
		add(&b, "if=none,id=esp,format=raw,snapshot=on,file=fat:%s",
		    o->esp_dir ? o->esp_dir : "esp");
		add(&b, "-device");
		add(&b, "ide-hd,drive=esp,bus=ide.0");
	} else {
		add(&b, "-kernel");
		add(&b, "%s", cmd->image);
		guest = qemu_join_guest_args(o->guest_args, o->nguest_args);
		if (!guest) {
			b.failed = 1;
		} else if (guest[0]) {
			add(&b, "-append");
			add(&b, "%s", guest);
		}
		free(guest);
	}
	for (int i = 0; i < o->nqemu_args; i++)
		add(&b, "%s", o->qemu_args[i]);
	cmd->argv = b.argv;
	cmd->argc = b.argc;
	if (b.failed) {
		qemu_command_free(cmd);
		snprintf(err, errlen, "out of memory");
		return 2;
	}
	return 0;
}

void qemu_command_free(struct qemu_command *cmd)
{
	for (int i = 0; cmd->argv && i < cmd->argc; i++)
		free(cmd->argv[i]);
	free(cmd->argv);
	cmd->argv = NULL;
	cmd->argc = 0;
}

char *qemu_command_string(char *const *argv)
{
	size_t len = 1;
	char *s, *p;

	for (int i = 0; argv[i]; i++)
		len += strlen(argv[i]) * 4 + 3;
	s = malloc(len);
	if (!s)
		return NULL;
	p = s;
	for (int i = 0; argv[i]; i++) {
		const char *a = argv[i];
		int plain = a[0] != '\0';

		for (const char *c = a; *c; c++)
			if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "0123456789-_./=,:+@%", *c))
				plain = 0;
		if (i)
			*p++ = ' ';
		if (plain) {
			p = stpcpy(p, a);
			continue;
		}
		*p++ = '\'';
		for (const char *c = a; *c; c++) {
			if (*c == '\'')
				p = stpcpy(p, "'\\''");
			else
				*p++ = *c;
		}
		*p++ = '\'';
	}
	*p = '\0';
	return s;
}
