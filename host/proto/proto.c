/* Reading and checking kvmio protocol logs: docs/protocol.md. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "proto/proto.h"
#include "lib/file.h"
#include "hexdigit.h"

static const struct kvmio_record_kind record_kinds[] = KVMIO_RECORD_KINDS;

static const struct kvmio_record_kind *find_kind(const char *type)
{
	for (size_t i = 0; i < sizeof(record_kinds) / sizeof(record_kinds[0]); i++)
		if (strcmp(record_kinds[i].type, type) == 0)
			return &record_kinds[i];
	return NULL;
}

int proto_lost_wakeup(const struct record *err)
{
	const char *kick = record_get(err, "ring_last_kick");
	const char *pub = record_get(err, "ring_published"), *used = record_get(err, "ring_used");
	const char *taken = record_get(err, "ring_taken");

	return kick && pub && used && taken && !strcmp(kick, "suppressed") &&
	       !strcmp(used, taken) && strcmp(pub, used) != 0;
}

const char *record_get(const struct record *r, const char *key)
{
	for (int i = 0; i < r->nfields; i++)
		if (strcmp(r->fields[i].key, key) == 0)
			return r->fields[i].value;
	return NULL;
}

static int parse_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

int record_get_u64(const struct record *r, const char *key, uint64_t *out)
{
	return parse_u64(record_get(r, key), out);
}

int record_get_number(const struct record *r, const char *key, double *out)
{
	const char *v = r ? record_get(r, key) : NULL;
	char *end;

	if (!v || *v < '0' || *v > '9')
		return -1;
	*out = strtod(v, &end);
	return *end ? -1 : 0;
}

const struct record *log_find(const struct log *log, const char *type, const char *key,
			      const char *value)
{
	for (size_t i = 0; i < log->nrecs; i++) {
		const struct record *r = &log->recs[i];
		const char *v;

		if (strcmp(r->type, type) != 0)
			continue;
		if (!key)
			return r;
		v = record_get(r, key);
		if (v && value && strcmp(v, value) == 0)
			return r;
	}
	return NULL;
}

/* Record the first problem of the log; later ones are not reported. */
static int fail(struct log *log, int status, int line, const char *fmt, ...)
{
	va_list ap;

	if (log->err[0])
		return log->status;
	log->status = status;
	log->err_line = line;
	va_start(ap, fmt);
	vsnprintf(log->err, sizeof(log->err), fmt, ap);
	va_end(ap);
	/* Values from the log may hold any byte: keep the message on one printable line. */
	for (char *p = log->err; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	return status;
}



/* Decode %XX escapes in place. Returns 0, or -1 on a bad escape. */
static int unescape(char *s)
{
	char *out = s;

	while (*s) {
		if (*s == '%') {
			int hi = hex_digit_value(s[1]), lo = hi < 0 ? -1 : hex_digit_value(s[2]);

			if (hi < 0 || lo < 0)
				return -1;
			*out++ = (char)(hi << 4 | lo);
			s += 3;
		} else {
			*out++ = *s++;
		}
	}
	*out = '\0';
	return 0;
}

static int is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

/*
 * Split and check one record line (text from the '@' of the prefix, no line end).
 * Fills *r; on a problem records it in log and returns non-zero.
 */
static int parse_record(struct log *log, struct record *r, const char *text, size_t len,
			int line)
{
	const size_t crc_tail = strlen(" crc=") + 8;
	const size_t plen = strlen(KVMIO_PROTO_PREFIX);
	char *p, *tok, *save = NULL;
	uint32_t want, got;
	int ntok = 0;

	memset(r, 0, sizeof(*r));
	r->line = line;
	if (len > KVMIO_PROTO_MAX_LINE)
		return fail(log, KVMIO_EXIT_CORRUPT, line, "record line longer than %d bytes",
			    KVMIO_PROTO_MAX_LINE);
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 || (unsigned char)text[i] > 0x7e)
			return fail(log, KVMIO_EXIT_CORRUPT, line,
				    "non-printable byte 0x%02x in record",
				    (unsigned char)text[i]);
	/* Version first: a newer protocol may checksum differently. */
	if (len < plen + 2 || text[plen] != ' ')
		return fail(log, KVMIO_EXIT_CORRUPT, line, "bad record prefix");
	{
		size_t i = plen + 1;
		unsigned long ver = 0;

		if (text[i] < '0' || text[i] > '9')
			return fail(log, KVMIO_EXIT_CORRUPT, line, "bad protocol version");
		for (; i < len && text[i] >= '0' && text[i] <= '9'; i++)
			if (ver < 1000000)
				ver = ver * 10 + (unsigned long)(text[i] - '0');
		if (i < len && text[i] != ' ')
			return fail(log, KVMIO_EXIT_CORRUPT, line, "bad protocol version");
		if (ver != KVMIO_PROTO_VERSION)
			return fail(log, KVMIO_EXIT_VERSION, line,
				    "unknown protocol version %lu (this kvmio knows %d)", ver,
				    KVMIO_PROTO_VERSION);
	}
	if (len < crc_tail || memcmp(text + len - crc_tail, " crc=", 5) != 0)
		return fail(log, KVMIO_EXIT_CORRUPT, line, "record has no crc= at its end");
	want = 0;
	for (size_t i = len - 8; i < len; i++) {
		char c = text[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return fail(log, KVMIO_EXIT_CORRUPT, line, "bad crc value");
		want = want << 4 | (uint32_t)hex_digit_value(c);
	}
	got = crc32_update(0, text, len - crc_tail);
	if (got != want)
		return fail(log, KVMIO_EXIT_CORRUPT, line,
			    "checksum mismatch (crc=%08x, computed %08x)", want, got);

	r->buf = malloc(len + 1);
	if (!r->buf)
		return fail(log, KVMIO_EXIT_IO, line, "out of memory");
	memcpy(r->buf, text, len);
	r->buf[len] = '\0';
	/* Single spaces only: an empty token means a doubled space. */
	for (p = r->buf; *p; p++)
		if (*p == ' ' && (p[1] == ' ' || p[1] == '\0'))
			return fail(log, KVMIO_EXIT_CORRUPT, line, "bad spacing in record");
	for (tok = strtok_r(r->buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save), ntok++) {
		char *eq, *k;

		if (ntok < 2)
			continue; /* prefix and version, checked above */
		if (ntok == 2) {
			size_t tl = strlen(tok);

			if (tl == 0 || tl >= sizeof(r->type))
				return fail(log, KVMIO_EXIT_CORRUPT, line, "bad record type");
			for (k = tok; *k; k++)
				if (*k < 'a' || *k > 'z')
					return fail(log, KVMIO_EXIT_CORRUPT, line,
						    "bad record type");
			memcpy(r->type, tok, tl + 1);
			continue;
		}
		eq = strchr(tok, '=');
		if (!eq || eq == tok)
			return fail(log, KVMIO_EXIT_CORRUPT, line, "field without key=value");
		for (k = tok; k < eq; k++)
			if (!is_key_char(*k))
				return fail(log, KVMIO_EXIT_CORRUPT, line, "bad character in key");
		*eq = '\0';
		if (eq[1] == '\0')
			return fail(log, KVMIO_EXIT_CORRUPT, line, "empty value for %s", tok);
		if (unescape(eq + 1) != 0)
			return fail(log, KVMIO_EXIT_CORRUPT, line, "bad %%XX escape in %s", tok);
		if (r->nfields >= KVMIO_PROTO_MAX_FIELDS)
			return fail(log, KVMIO_EXIT_CORRUPT, line, "more than %d fields",
				    KVMIO_PROTO_MAX_FIELDS);
		r->fields[r->nfields].key = tok;
		r->fields[r->nfields].value = eq + 1;
		r->nfields++;
	}
	if (!r->type[0])
		return fail(log, KVMIO_EXIT_CORRUPT, line, "record without a type");
	for (int i = 0; i < r->nfields; i++)
		for (int j = i + 1; j < r->nfields; j++)
			if (strcmp(r->fields[i].key, r->fields[j].key) == 0)
				return fail(log, KVMIO_EXIT_SEQUENCE, line,
					    "duplicate field %s in %s record", r->fields[i].key,
					    r->type);
	if (r->nfields < 2 || strcmp(r->fields[0].key, "seq") != 0)
		return fail(log, KVMIO_EXIT_SEQUENCE, line, "seq= is not the first field");
	{
		uint64_t seq;

		if (parse_u64(r->fields[0].value, &seq) != 0 || seq > 0xffffffffu)
			return fail(log, KVMIO_EXIT_CORRUPT, line, "bad seq value");
		r->seq = (unsigned)seq;
	}
	return 0;
}

/* Checks that depend on the records before this one. */
static int check_record(struct log *log, const struct record *r, int seen_end)
{
	const struct kvmio_record_kind *kind = find_kind(r->type);

	if (seen_end)
		return fail(log, KVMIO_EXIT_SEQUENCE, r->line, "%s record after end", r->type);
	if (r->seq != log->nrecs)
		return fail(log, KVMIO_EXIT_SEQUENCE, r->line,
			    "wrong sequence number: seq=%u, expected %zu", r->seq, log->nrecs);
	if (!kind)
		return fail(log, KVMIO_EXIT_SEQUENCE, r->line, "unknown record type %s",
			    r->type);
	if (log->nrecs == 0 && strcmp(r->type, "hello") != 0 && strcmp(r->type, "error") != 0)
		return fail(log, KVMIO_EXIT_SEQUENCE, r->line,
			    "first record is %s, not hello or error", r->type);
	for (int i = 0; kind->required[i]; i++)
		if (!record_get(r, kind->required[i]))
			return fail(log, KVMIO_EXIT_SEQUENCE, r->line,
				    "%s record without %s=", r->type, kind->required[i]);
	if (strcmp(r->type, "end") == 0) {
		uint64_t n;

		if (record_get_u64(r, "records", &n) != 0 || n != log->nrecs)
			return fail(log, KVMIO_EXIT_SEQUENCE, r->line,
				    "end says records=%s, but %zu records came before it",
				    record_get(r, "records"), log->nrecs);
	}
	return 0;
}

static int append_record(struct log *log, struct record *r)
{
	static const size_t step = 64;

	if (log->nrecs % step == 0) {
		struct record *n = realloc(log->recs, (log->nrecs + step) * sizeof(*n));

		if (!n)
			return -1;
		log->recs = n;
	}
	log->recs[log->nrecs++] = *r;
	return 0;
}

/* Outcome of a structurally good log: what the guest itself said. */
static int log_outcome(struct log *log)
{
	const struct record *end = log_find(log, "end", NULL, NULL);
	const struct record *err = log_find(log, "error", NULL, NULL);
	const struct record *tmo = log_find(log, "timeout", NULL, NULL);
	const char *status = record_get(end, "status");

	if (strcmp(status, "badconfig") == 0) {
		const struct record *bad = log_find(log, "error", "code", "badconfig");
		const struct record *at = bad ? bad : end;
		const char *key = bad ? record_get(bad, "key") : NULL;
		const char *value = bad ? record_get(bad, "value") : NULL;

		return fail(log, KVMIO_EXIT_BADCONFIG, at->line, "guest rejected option %s%s%s: %s",
			    key ? key : "?", value ? "=" : "", value ? value : "",
			    bad ? record_get(bad, "msg") : "bad configuration");
	}
	if (strcmp(status, "timeout") == 0 || tmo) {
		const struct record *at = tmo ? tmo : end;

		return fail(log, KVMIO_EXIT_TIMEOUT, at->line, "guest watchdog fired after %s s",
			    tmo ? record_get(tmo, "after_s") : "?");
	}
	if (strcmp(status, "fail") == 0 || err) {
		const struct record *at = err ? err : end;

		return fail(log, KVMIO_EXIT_GUEST_FAIL, at->line, "guest error %s: %s%s",
			    err ? record_get(err, "code") : "fail",
			    err ? record_get(err, "msg") : "end status=fail",
			    err && proto_lost_wakeup(err) ? PROTO_LOST_WAKEUP_HINT : "");
	}
	if (strcmp(status, "ok") != 0)
		return fail(log, KVMIO_EXIT_SEQUENCE, end->line, "unknown end status %s", status);
	return KVMIO_EXIT_OK;
}

int log_parse_buffer(struct log *log, const char *name, const char *data, size_t len)
{
	const size_t plen = strlen(KVMIO_PROTO_PREFIX);
	size_t pos = 0;
	int line = 0, seen_end = 0;

	memset(log, 0, sizeof(*log));
	log->name = strdup(name ? name : "-");
	if (!log->name)
		return fail(log, KVMIO_EXIT_IO, 0, "out of memory");
	while (pos < len) {
		const char *start = data + pos;
		const char *nl = memchr(start, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - start) : len - pos;
		const char *at = memmem(start, llen, KVMIO_PROTO_PREFIX, plen);
		struct record r;

		line++;
		pos += llen + (nl ? 1 : 0);
		if (!at)
			continue; /* firmware output, not ours */
		if (!nl)
			return fail(log, KVMIO_EXIT_TRUNCATED, line,
				    "log ends inside a record line (truncated)");
		llen -= (size_t)(at - start);
		if (llen > 0 && at[llen - 1] == '\r')
			llen--;
		if (parse_record(log, &r, at, llen, line) != 0 ||
		    check_record(log, &r, seen_end) != 0) {
			free(r.buf);
			return log->status;
		}
		if (append_record(log, &r) != 0) {
			free(r.buf);
			return fail(log, KVMIO_EXIT_IO, line, "out of memory");
		}
		if (strcmp(r.type, "end") == 0)
			seen_end = 1;
	}
	if (!seen_end && log->nrecs == 0)
		return fail(log, KVMIO_EXIT_NO_END, line, "no kvmio records at all");
	if (!seen_end)
		return fail(log, KVMIO_EXIT_NO_END, line, "no end record (after %zu records)",
			    log->nrecs);
	return log_outcome(log);
}

int log_parse_file(struct log *log, const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *data;
	size_t len = 0;
	int status, e;

	if (!f) {
		e = errno;
		memset(log, 0, sizeof(*log));
		log->name = strdup(path);
		return fail(log, KVMIO_EXIT_IO, 0, "cannot open: %s", strerror(e));
	}
	data = file_read_stream(f, &len);
	e = errno;
	if (f != stdin)
		fclose(f);
	if (!data) {
		memset(log, 0, sizeof(*log));
		log->name = strdup(path);
		return fail(log, KVMIO_EXIT_IO, 0, "cannot read: %s", strerror(e));
	}
	status = log_parse_buffer(log, path, data, len);
	free(data);
	return status;
}

void log_free(struct log *log)
{
	for (size_t i = 0; i < log->nrecs; i++)
		free(log->recs[i].buf);
	free(log->recs);
	free(log->name);
	memset(log, 0, sizeof(*log));
}
