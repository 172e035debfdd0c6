/* Reading and checking kvmio protocol logs (docs/protocol.md). */
#ifndef KVMIO_HOST_PROTO_PROTO_H
#define KVMIO_HOST_PROTO_PROTO_H
#include <stddef.h>
#include <stdint.h>

#include "kvmio_proto.h"

struct field {
	char *key;
	char *value; /* unescaped */
};

struct record {
	int line;       /* 1-based line number in the source */
	char type[16];
	unsigned seq;
	int nfields;    /* seq and crc are included as fields */
	struct field fields[KVMIO_PROTO_MAX_FIELDS];
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

#include "crc32.h" /* CRC-32 (zlib) of a record body, as the guest computes it */

const char *record_get(const struct record *r, const char *key);
/* 1 if a device error record shows a lost wake-up: a virtio disk whose device asked not to be
 * notified (ring_last_kick=suppressed) and then never took the published request (ring_used ==
 * ring_taken != ring_published). */
int proto_lost_wakeup(const struct record *err);
#define PROTO_LOST_WAKEUP_HINT                                                                 \
	" (the device asked not to be notified, then never took the request: a wake-up lost "   \
	"between the guest and QEMU; under TCG, QEMU before 8.1 drops the guest's barriers "    \
	"unless the machine allows a second CPU, docs/measurement.md §3)"
int record_get_u64(const struct record *r, const char *key, uint64_t *out); /* 0 on success */
/* A field as a number: decimal digits, maybe with a fraction (cycle counts, the two-decimal
 * means). 0, or -1 when r is NULL, the field is absent or it is not such a number. */
int record_get_number(const struct record *r, const char *key, double *out);

/* Parse and check a whole log. Returns log->status. Never aborts on bad input. */
int log_parse_buffer(struct log *log, const char *name, const char *data, size_t len);
int log_parse_file(struct log *log, const char *path); /* "-" = stdin */
void log_free(struct log *log);

/* First record of TYPE whose KEY equals VALUE (KEY NULL: the first of TYPE), or NULL. */
const struct record *log_find(const struct log *log, const char *type, const char *key,
			      const char *value);

#endif
