/* Reading and checking kvmio protocol logs (docs/protocol.md). */
#ifndef KVMIO_PROTO_H
#define KVMIO_PROTO_H
#include <stddef.h>
#include <stdint.h>

#define PROTO_PREFIX "@kvmio"
#define PROTO_VERSION 1
#define PROTO_MAX_LINE 4096
#define PROTO_MAX_FIELDS 96

/* Exit codes of the kvmio tool: docs/protocol.md, "What the host checks". */
enum kvmio_exit {
	KVMIO_EXIT_OK = 0,
	KVMIO_EXIT_GUEST_FAIL = 1,
	KVMIO_EXIT_BADCONFIG = 2,
	KVMIO_EXIT_TIMEOUT = 3,
	KVMIO_EXIT_TRUNCATED = 4,
	KVMIO_EXIT_NO_END = 5,
	KVMIO_EXIT_CORRUPT = 6,
	KVMIO_EXIT_VERSION = 7,
	KVMIO_EXIT_SEQUENCE = 8,
	KVMIO_EXIT_QEMU = 9,
	KVMIO_EXIT_IO = 10,
	KVMIO_EXIT_ACCEL = 11,         /* the accelerator failed (KVM internal error, ...) */
	KVMIO_EXIT_INTERRUPTED = 130,  /* SIGINT/SIGTERM: QEMU stopped */
};

struct field {
	char *key;
	char *value; /* unescaped */
};

struct record {
	int line;       /* 1-based line number in the source */
	char type[16];
	unsigned seq;
	int nfields;    /* seq and crc are included as fields */
	struct field fields[PROTO_MAX_FIELDS];
	char *buf;      /* owns the strings above */
};

struct log {
	char *name;             /* file name as given, "-" for stdin */
	struct record *recs;
	size_t nrecs;
	int status;             /* enum kvmio_exit for this log */
	int err_line;           /* line of the first problem, 0 if none */
	char err[256];          /* one-line description of the first problem, "" if none */
};

/* CRC-32 (zlib) of a record body; shared with the guest (kernel/crc32.c). */
#include "../kernel/crc32.h"

const char *record_get(const struct record *r, const char *key);
int record_get_u64(const struct record *r, const char *key, uint64_t *out); /* 0 on success */

/* Parse and check a whole log. Returns log->status. Never aborts on bad input. */
int log_parse_buffer(struct log *log, const char *name, const char *data, size_t len);
int log_parse_file(struct log *log, const char *path); /* "-" = stdin */
void log_free(struct log *log);

/* First record of TYPE whose KEY equals VALUE (KEY NULL: the first of TYPE), or NULL. */
const struct record *log_find(const struct log *log, const char *type, const char *key,
			      const char *value);

#endif
