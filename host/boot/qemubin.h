/*
 * What kvmio knows about a QEMU binary (the `qemu` job axis, kvmio boot --qemu): its version
 * string, its build id (the SHA-256 of the file), the devices and accelerators it has and a
 * device's properties. Each binary is asked once per process (-version, -device help,
 * -accel help, -device MODEL,help), every question under QEMUBIN_PROBE_TIMEOUT_S; this module
 * is the one owner of these facts.
 */
#ifndef KVMIO_HOST_BOOT_QEMUBIN_H
#define KVMIO_HOST_BOOT_QEMUBIN_H
#include <stddef.h>

#define QEMUBIN_PROBE_TIMEOUT_S 20.0
#define QEMUBIN_SHA256_HEX 64             /* hex digits of a SHA-256 */

struct qemu_binary {
	char path[4096];                  /* as given */
	int usable;                       /* 0: missing, not executable, or it would not run */
	char why[600];                    /* the one-line reason when not usable */
	char version[200];                /* first line of -version, "QEMU emulator version" cut */
	char build[QEMUBIN_SHA256_HEX + 1]; /* SHA-256 of the file, hex */
	char *devices;                    /* -device help output ("" if it printed none) */
	char *accels;                     /* -accel help output */
};

/* The facts of binary PATH (a name without '/' is looked up in PATH), probed on first use and
 * cached for the process. Never NULL (out of memory aborts through xalloc). */
const struct qemu_binary *qemubin_probe(const char *path);

/* 1 if the binary lists device MODEL (a name or an alias) in -device help, 0 if not, -1 if its list is unknown
 * (no `name "..."` lines: a stand-in, or an unusable binary). */
int qemubin_has_device(const struct qemu_binary *b, const char *model);
/* The same for an accelerator (-accel help). */
int qemubin_has_accel(const struct qemu_binary *b, const char *accel);

/*
 * The properties of device MODEL in binary PATH (-device MODEL,help), space-separated into
 * list. 0, or -1 with the reason in list (binary unusable, no such device, no answer).
 */
int qemubin_device_props(const char *path, const char *model, char *list, size_t len);

/* 1 if NAME is a word of the space-separated list. */
int qemubin_list_has(const char *list, const char *name);

/* SHA-256 of a file (nettle) as hex into hex[QEMUBIN_SHA256_HEX + 1]; of a buffer the same. */
int qemubin_sha256_file(const char *path, char *hex);
void qemubin_sha256_buffer(const void *data, size_t len, char *hex);

#endif
