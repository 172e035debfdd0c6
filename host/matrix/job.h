/*
 * `kvmio run` job files (docs/run.md): INI -> jobs -> the expanded configurations, each with
 * the `kvmio boot` arguments it runs with, checked by the same QEMU command builder `kvmio boot`
 * uses (qemu_build_command); a configuration boot would refuse becomes a skip with its reason.
 */
#ifndef KVMIO_HOST_MATRIX_JOB_H
#define KVMIO_HOST_MATRIX_JOB_H
#include <stddef.h>
#include "boot/pin.h"

struct job_kv {
	char *key, *value;
	int line;
};

struct job_section {
	char *name;
	int line;
	struct job_kv *kv;
	int nkv;
};

struct job_file {
	char *path;
	struct job_section *secs;   /* in file order; [global] is kept apart */
	int nsecs;
	struct job_section global;  /* nkv 0 if there was none */
};

/* A disk image the runner makes once (backend=file) and shares. */
struct job_image {
	char *path;                 /* DIR/images/<format>-<size>.img */
	char *format;               /* a job format: raw, qcow2, qcow2-prealloc, raw-full, qcow2-full */
	unsigned long long size;
};

/* A job's format= value as the image is made: the QEMU format (raw, qcow2) and kvmio mkdisk's
 * preallocation (off; metadata for qcow2-prealloc; full for raw-full and qcow2-full: every block
 * allocated and written, so that reads reach the host's storage and a configuration's writes
 * change no later configuration's reads). 0, or -1 for an unknown value. */
#define JOB_FORMATS "raw, qcow2, qcow2-prealloc, raw-full, qcow2-full"
int job_image_format(const char *format, const char **qemu_format, const char **prealloc);

struct job_config {
	char id[16];                /* c001, ... */
	char *section;              /* the job section it came from */
	int nparams;
	char **keys, **values;      /* in expansion order */
	char *params;               /* key=value;key=value, sorted by key */
	int skip;                   /* 1: kvmio boot would refuse it */
	char reason[512];           /* "" if none */
	char flavour[400];          /* the accelerator flavour kvmio boot will use (hostinfo.h) */
	int repeat;                 /* from repeat= (0: not given) */
	double timeout;             /* host timeout, seconds (0: boot's default) */
	struct pin_cpus pin;        /* pin=: the CPUs its QEMU runs on (n 0: not pinned) */
	char **opts;                /* kvmio boot options (before "--"), NULL-terminated */
	int nopts;
	char **guest;               /* guest options (after "--"), NULL-terminated */
	int nguest;
	int image;                  /* index into the matrix's images, -1 none */
	const char *image_path;     /* that image's path (the matrix's, borrowed); NULL none */
	char *qemu;                 /* the QEMU binary it runs (qemu = LABEL:PATH, KVMIO_QEMU,
				     * else qemu-system-x86_64) */
	char qemu_version[200];     /* its version string and build id (qemubin.h) */
	char qemu_build[72];
	char *prop_refused;         /* skipped for a disk_props/net_props property its device
				     * model lacks: the builder's whole message (NULL: not); the
				     * job is refused when the property is valid for none */
};

struct job_matrix {
	struct job_config *cfg;
	int n;
	struct job_image *images;
	int nimages;
};

/* Read and check a job file. 0, or 2 with "FILE:LINE: message" in err (10: unreadable). */
int job_load(const char *path, struct job_file *jf, char *err, size_t errlen);
/* The same from a string (name is used in messages). */
int job_load_string(const char *name, const char *text, struct job_file *jf, char *err,
		    size_t errlen);
void job_file_free(struct job_file *jf);

/*
 * Expand every job into configurations (cartesian product, key order, [global] keys first).
 * dir: the result directory (for image paths). 0, or 2 with a message in err.
 */
int job_expand(const struct job_file *jf, const char *dir, struct job_matrix *m, char *err,
	       size_t errlen);
void job_matrix_free(struct job_matrix *m);

/* A value of the qemu key (LABEL:PATH, ...; with probe, every binary asked: refused when
 * missing or not executable) or of disk_props/net_props (none, or NAME=VALUE[+NAME=VALUE...]).
 * 0, or -1 with the one-line reason in why. job_load checks the syntax, job_expand probes. */
int job_check_ab_value(const char *key, const char *value, int probe, char *why, size_t len);

/* 0 for the keys that say how to run, not what (repeat, timeout): not in params. */
int job_param_is_config(const char *key);

/* The value of KEY in a configuration, or NULL. */
const char *job_param(const struct job_config *c, const char *key);

/*
 * The full argv (NULL-terminated, malloc'd array; strings borrowed from c except the ones
 * given): exe boot OPTS [--log LOG] [EXTRA] -- GUEST. log/extra may be NULL.
 */
char **job_boot_argv(const struct job_config *c, const char *exe, const char *log,
		     const char *extra);
/* The same with a second EXTRA word after the first (either may be NULL). */
char **job_boot_argv2(const struct job_config *c, const char *exe, const char *log,
		      const char *extra, const char *extra2);

/* Shell-quoted `kvmio boot ...` line of a configuration (malloc'd). */
char *job_boot_string(const struct job_config *c, const char *exe);

#endif
