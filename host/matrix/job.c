/* `kvmio run` job files: parsing (libinih), expansion, the kvmio boot arguments, skips. */
#include <errno.h>
#include <ini.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "matrix/job.h"
#include "matrix/resultdir.h"
#include "lib/args.h"
#include "lib/file.h"
#include "options.h"
#include "boot/qemu.h"
#include "boot/qemubin.h"

/* Every key of docs/run.md. single: no lists (one value per job). */
static const struct {
	const char *key;
	int single;
} job_keys[] = {
	{ "machine", 0 }, { "firmware", 0 }, { "accel", 0 }, { "disk", 0 },
	{ "disk_transport", 0 }, { "backend", 0 }, { "disk_size", 0 }, { "latency_ns", 0 },
	{ "cache", 0 }, { "aio", 0 }, { "format", 0 }, { "iothread", 0 }, { "net", 0 },
	{ "net_transport", 0 },
	{ "topology", 0 }, { "vhost", 0 }, { "peer_mode", 0 }, { "irq", 0 }, { "wait", 0 }, { "evidx", 0 },
	{ "indirect", 0 }, { "mrg", 0 }, { "ata_mode", 0 }, { "itr", 0 }, { "bench", 0 },
	{ "rw", 0 }, { "mix", 0 }, { "bs", 0 }, { "qd", 0 }, { "ops", 0 }, { "time", 0 },
	{ "warmup", 0 }, { "range", 0 }, { "flush", 0 }, { "write", 0 }, { "sweep", 1 },
	{ "frame", 0 }, { "burst", 0 }, { "repeat", 1 }, { "timeout", 1 },
	{ "dbbuf", 0 },
	{ "ring", 0 }, { "queues", 0 },
	{ "poll_max_ns", 0 }, { "pin", 0 },
	{ "qemu", 0 }, { "disk_props", 0 }, { "net_props", 0 },
};

/* Keys whose items are NAME=VALUE[+NAME=VALUE...] device properties (or none). */
static int props_key(const char *key)
{
	return !strcmp(key, "disk_props") || !strcmp(key, "net_props");
}

/* Guest options passed through as KEY=VALUE (job key, guest key). */
static const char *const guest_keys[][2] = {
	{ "bench", "bench" }, { "irq", "irq" }, { "wait", "wait" }, { "evidx", "evidx" },
	{ "indirect", "indirect" },
	{ "mrg", "mrg" }, { "ata_mode", "ata_mode" }, { "itr", "itr" }, { "rw", "rw" },
	{ "mix", "mix" }, { "bs", "bs" }, { "qd", "qd" }, { "ops", "ops" }, { "time", "time" },
	{ "warmup", "warmup" }, { "range", "range" }, { "flush", "flush" }, { "write", "write" },
	{ "sweep", "sweep" }, { "frame", "size" }, { "burst", "burst" },
	{ "dbbuf", "dbbuf" },
	{ "ring", "ring" }, { "queues", "queues" },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int key_index(const char *key)
{
	for (size_t i = 0; i < NELEM(job_keys); i++)
		if (strcmp(job_keys[i].key, key) == 0)
			return (int)i;
	return -1;
}

/* ---- parsing ----------------------------------------------------------------------------- */

struct parse_state {
	struct job_file *jf;
	const char *name;
	const char *text;           /* the whole file */
	size_t pos;
	int line;                   /* line the reader handed out last */
	struct job_section *cur;
	int err_line;
	char err[512];
};

/* ini_parse_stream reader: one line at a time, counting lines. */
static char *reader(char *str, int num, void *stream)
{
	struct parse_state *ps = stream;
	int n = 0;

	if (ps->text[ps->pos] == '\0')
		return NULL;
	while (n < num - 1 && ps->text[ps->pos]) {
		char c = ps->text[ps->pos++];

		str[n++] = c;
		if (c == '\n')
			break;
	}
	str[n] = '\0';
	ps->line++;
	return str;
}

static int fail(struct parse_state *ps, const char *fmt, ...)
{
	va_list ap;

	if (ps->err_line)
		return 0;
	ps->err_line = ps->line;
	va_start(ap, fmt);
	vsnprintf(ps->err, sizeof(ps->err), fmt, ap);
	va_end(ap);
	return 0;
}

/* A list value: no empty items, no stray spaces inside items. */
static int check_list(const char *v, int single, int eq_ok, char *why, size_t len)
{
	const char *p = v;

	if (single && strchr(v, ',')) {
		snprintf(why, len, "takes one value, not a list");
		return -1;
	}
	for (;;) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		size_t a = 0, b = n;

		while (a < n && (p[a] == ' ' || p[a] == '\t'))
			a++;
		while (b > a && (p[b - 1] == ' ' || p[b - 1] == '\t'))
			b--;
		if (a == b) {
			snprintf(why, len, "bad list '%s': empty item", v);
			return -1;
		}
		for (size_t k = a; k < b; k++)
			if (p[k] == ' ' || p[k] == '\t' || p[k] == ';' || (p[k] == '=' && !eq_ok)) {
				snprintf(why, len, "bad list '%s': '%c' inside an item", v, p[k]);
				return -1;
			}
		if (!c)
			return 0;
		p = c + 1;
	}
}

/* A qemu item: LABEL:PATH, or PATH alone (then its own label). The label into label. */
static const char *qemu_item(const char *item, char *label, size_t len)
{
	const char *colon = strchr(item, ':');

	if (colon && memchr(item, '/', (size_t)(colon - item)) == NULL) {
		snprintf(label, len, "%.*s", (int)(colon - item), item);
		return colon + 1;
	}
	snprintf(label, len, "%s", item);
	return item;
}

/* A disk_props/net_props item (none, or NAME=VALUE[+NAME=VALUE...]) as ",prop.NAME=VALUE..."
 * appended to spec (len bytes in all). */
static void props_spec(const char *item, char *spec, size_t len)
{
	size_t n = strlen(spec);

	if (strcmp(item, "none") == 0)
		return;
	for (const char *p = item; *p && n < len;) {
		size_t w = strcspn(p, "+");

		n += (size_t)snprintf(spec + n, len - n, ",prop.%.*s", (int)w, p);
		p += w;
		p += *p == '+';
	}
}

static int split_list(const char *v, char ***items);

int job_check_ab_value(const char *key, const char *value, int probe, char *why, size_t len)
{
	char **items, labels[64][64];
	int n = split_list(value, &items), rc = 0;

	for (int i = 0; i < n; i++) {
		if (rc == 0 && strcmp(key, "qemu") == 0) {
			const char *path = qemu_item(items[i], labels[i < 64 ? i : 63],
						     sizeof(labels[0]));
			const char *l = labels[i < 64 ? i : 63];
			int ok = l[0] != '\0' && path[0] != '\0';

			for (const char *c = l; ok && *c && path != items[i]; c++)
				ok = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					    "0123456789-_.", *c) != NULL;
			if (!ok) {
				snprintf(why, len, "qemu: bad item '%s' (LABEL:PATH, a LABEL of letters, "
					 "digits, '-', '_' or '.')", items[i]);
				rc = -1;
			}
			for (int k = 0; rc == 0 && k < i && k < 64; k++)
				if (i < 64 && !strcmp(labels[k], l)) {
					snprintf(why, len, "qemu: label '%s' given twice", l);
					rc = -1;
				}
			if (rc == 0 && probe) {
				const struct qemu_binary *b = qemubin_probe(path);

				if (!b->usable) {
					snprintf(why, len, "qemu: %s", b->why);
					rc = -1;
				}
			}
		} else if (rc == 0) {
			char spec[1024] = "x", e[512];
			struct qemu_props pr;
			int ok = strcmp(items[i], "none") == 0;

			if (!ok) {
				props_spec(items[i], spec, sizeof(spec));
				ok = strstr(items[i], "++") == NULL && items[i][0] != '+' &&
				     items[i][strlen(items[i]) - 1] != '+' &&
				     qemu_spec_props(key, spec, &pr, e, sizeof(e)) == 0;
			}
			if (!ok) {
				snprintf(why, len, "%s: bad item '%s' (none, or NAME=VALUE[+NAME=VALUE...]: "
					 "device properties)", key, items[i]);
				rc = -1;
			}
		}
		free(items[i]);
	}
	free(items);
	return rc;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *ps = user;
	struct job_file *jf = ps->jf;
	struct job_section *s;
	char why[256];
	int ki;

	if (!name) /* a new section (INI_CALL_HANDLER_ON_NEW_SECTION builds) */
		return 1;
	if (!section[0])
		return fail(ps, "'%s' outside a section ([global] or [JOB])", name);
	if (!ps->cur || strcmp(ps->cur->name, section) != 0) {
		if (strcmp(section, "global") == 0) {
			s = &jf->global;
		} else {
			for (int i = 0; i < jf->nsecs; i++)
				if (strcmp(jf->secs[i].name, section) == 0)
					return fail(ps, "section [%s] appears twice", section);
			s = realloc(jf->secs, sizeof(*s) * (size_t)(jf->nsecs + 1));
			if (!s)
				return fail(ps, "out of memory");
			jf->secs = s;
			s = &jf->secs[jf->nsecs++];
			memset(s, 0, sizeof(*s));
		}
		if (s->name)
			return fail(ps, "section [%s] appears twice", section);
		s->name = strdup(section);
		s->line = ps->line;
		ps->cur = s;
	}
	s = ps->cur;
	ki = key_index(name);
	if (ki < 0)
		return fail(ps, "unknown key '%s'", name);
	if (!value[0])
		return fail(ps, "empty value for '%s'", name);
	if (check_list(value, job_keys[ki].single, props_key(name), why, sizeof(why)) != 0)
		return fail(ps, "%s: %s", name, why);
	for (int i = 0; i < s->nkv; i++)
		if (strcmp(s->kv[i].key, name) == 0)
			return fail(ps, "'%s' given twice in [%s] (first on line %d)", name,
				    section, s->kv[i].line);
	if (strcmp(name, "qemu") == 0 || props_key(name)) {
		char bad[1024];

		if (job_check_ab_value(name, value, 0, bad, sizeof(bad)) != 0)
			return fail(ps, "%s", bad);
	}
	if (strcmp(name, "repeat") == 0) {
		uint64_t r;

		if (arg_u64(value, 10, &r) != 0 || r < 1 || r > 10000)
			return fail(ps, "repeat: '%s' is not a count 1..10000", value);
	}
	if (strcmp(name, "timeout") == 0) {
		double t;

		if (arg_double(value, 0, 1e6, &t) != 0 || t <= 0)
			return fail(ps, "timeout: '%s' is not seconds > 0", value);
	}
	{
		struct job_kv *kv = realloc(s->kv, sizeof(*kv) * (size_t)(s->nkv + 1));

		if (!kv)
			return fail(ps, "out of memory");
		s->kv = kv;
		kv[s->nkv].key = strdup(name);
		kv[s->nkv].value = strdup(value);
		kv[s->nkv].line = ps->line;
		s->nkv++;
	}
	return 1;
}

/* Why inih refused line n (it calls no handler for those). */
static void line_problem(const char *text, int n, char *buf, size_t len)
{
	const char *p = text;
	char line[256];
	size_t k = 0;

	for (int i = 1; i < n && p; i++) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (!p) {
		snprintf(buf, len, "malformed line");
		return;
	}
	while (*p == ' ' || *p == '\t')
		p++;
	while (p[k] && p[k] != '\n' && p[k] != '\r' && k < sizeof(line) - 1) {
		line[k] = p[k];
		k++;
	}
	line[k] = '\0';
	if (line[0] == '[')
		snprintf(buf, len, "bad section header '%s' (expected [NAME])", line);
	else
		snprintf(buf, len, "malformed line '%s' (expected KEY = VALUE)", line);
}

void job_file_free(struct job_file *jf)
{
	struct job_section *all[2] = { &jf->global, NULL };

	for (int i = -1; i < jf->nsecs; i++) {
		struct job_section *s = i < 0 ? all[0] : &jf->secs[i];

		for (int k = 0; k < s->nkv; k++) {
			free(s->kv[k].key);
			free(s->kv[k].value);
		}
		free(s->kv);
		free(s->name);
	}
	free(jf->secs);
	free(jf->path);
	memset(jf, 0, sizeof(*jf));
}

/* Every value of a key that becomes a guest option, checked against the guest's own option
 * table (common/options.c) before anything runs: FILE:LINE names the first bad one. */
static int check_guest_values(const struct job_file *jf, char *err, size_t errlen)
{
	for (int i = -1; i < jf->nsecs; i++) {
		const struct job_section *s = i < 0 ? &jf->global : &jf->secs[i];

		for (int k = 0; k < s->nkv; k++) {
			const struct job_kv *kv = &s->kv[k];
			const char *guest = NULL;
			char **items;
			int n, bad = -1;
			struct option_error oe;

			for (size_t g = 0; g < NELEM(guest_keys); g++)
				if (!strcmp(guest_keys[g][0], kv->key))
					guest = guest_keys[g][1];
			if (!guest)
				continue;
			n = split_list(kv->value, &items);
			for (int it = 0; it < n; it++) {
				if (bad < 0 && options_check_one(guest, items[it], &oe) != 0) {
					bad = it;
					snprintf(err, errlen, "%s:%d: %s = %s: %s (guest option %s)",
						 jf->path, kv->line, kv->key, items[it], oe.why, guest);
				}
				free(items[it]);
			}
			free(items);
			if (bad >= 0)
				return -1;
		}
	}
	return 0;
}

int job_load_string(const char *name, const char *text, struct job_file *jf, char *err,
		    size_t errlen)
{
	struct parse_state ps;
	int rc;

	memset(jf, 0, sizeof(*jf));
	memset(&ps, 0, sizeof(ps));
	jf->path = strdup(name);
	ps.jf = jf;
	ps.name = name;
	ps.text = text;
	rc = ini_parse_stream(reader, &ps, handler, &ps);
	if (rc != 0 || ps.err_line) {
		char why[300];

		if (ps.err_line && (rc <= 0 || ps.err_line <= rc)) {
			snprintf(err, errlen, "%s:%d: %s", name, ps.err_line, ps.err);
		} else if (rc > 0) {
			line_problem(text, rc, why, sizeof(why));
			snprintf(err, errlen, "%s:%d: %s", name, rc, why);
		} else {
			snprintf(err, errlen, "%s: cannot parse (out of memory)", name);
		}
		job_file_free(jf);
		return KVMIO_EXIT_BADCONFIG;
	}
	if (jf->nsecs == 0) {
		snprintf(err, errlen, "%s:%d: no job section (only [global] or nothing)", name,
			 ps.line > 0 ? ps.line : 1);
		job_file_free(jf);
		return KVMIO_EXIT_BADCONFIG;
	}
	if (check_guest_values(jf, err, errlen) != 0) {
		job_file_free(jf);
		return KVMIO_EXIT_BADCONFIG;
	}
	return KVMIO_EXIT_OK;
}

int job_load(const char *path, struct job_file *jf, char *err, size_t errlen)
{
	size_t n;
	char *text = file_read(path, &n);
	int rc;

	memset(jf, 0, sizeof(*jf));
	if (!text) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return KVMIO_EXIT_IO;
	}
	if (memchr(text, '\0', n)) {
		snprintf(err, errlen, "%s:1: not a text file", path);
		free(text);
		return KVMIO_EXIT_BADCONFIG;
	}
	rc = job_load_string(path, text, jf, err, errlen);
	free(text);
	return rc;
}

/* ---- expansion --------------------------------------------------------------------------- */

static char *trim_dup(const char *s, size_t n)
{
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return strndup(s, n);
}

static int split_list(const char *v, char ***items)
{
	int n = 0;
	const char *p = v;

	*items = NULL;
	for (;;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		char **x = realloc(*items, sizeof(char *) * (size_t)(n + 1));

		if (!x)
			return n;
		*items = x;
		x[n++] = trim_dup(p, len);
		if (!c)
			return n;
		p = c + 1;
	}
}

const char *job_param(const struct job_config *c, const char *key)
{
	for (int i = 0; i < c->nparams; i++)
		if (strcmp(c->keys[i], key) == 0)
			return c->values[i];
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void push(char ***v, int *n, char *s)
{
	char **x = realloc(*v, sizeof(char *) * (size_t)(*n + 2));

	if (!x) {
		free(s);
		return;
	}
	*v = x;
	x[(*n)++] = s;
	x[*n] = NULL;
}

static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, f);
	if (vasprintf(&s, f, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static int image_index(struct job_matrix *m, const char *dir, const char *format,
		       const char *size_text, unsigned long long size)
{
	char *path = resultdir_image_path(dir, format, size_text);
	struct job_image *x;

	for (int i = 0; i < m->nimages; i++)
		if (strcmp(m->images[i].path, path) == 0) {
			free(path);
			return i;
		}
	x = realloc(m->images, sizeof(*x) * (size_t)(m->nimages + 1));
	if (!x) {
		free(path);
		return -1;
	}
	m->images = x;
	x[m->nimages].path = path;
	x[m->nimages].format = strdup(format);
	x[m->nimages].size = size;
	return m->nimages++;
}

static int path_ok(const char *p)
{
	(void)p;
	return 1; /* images are made by the runner before the run */
}

static int is_write_workload(const struct job_config *c)
{
	const char *rw = job_param(c, "rw");

	return rw && (strcmp(rw, "write") == 0 || strcmp(rw, "randwrite") == 0 ||
		      strcmp(rw, "randrw") == 0);
}

static void set_skip(struct job_config *c, const char *fmt_, ...)
{
	va_list ap;

	if (c->skip)
		return;
	c->skip = 1;
	va_start(ap, fmt_);
	vsnprintf(c->reason, sizeof(c->reason), fmt_, ap);
	va_end(ap);
}

/* Every property a -device model may have (telling a typo from another refusal). */
static int any_props(const char *qemu, const char *model, char *list, size_t len)
{
	(void)qemu;
	(void)model;
	snprintf(list, len, "*");
	return 0;
}

/* The kvmio boot arguments of one configuration, and the builder's verdict on them. */
/* The first -device model of cmd that binary b lacks into model; 0 if none. */
static int missing_device(const struct qemu_binary *b, const struct qemu_command *cmd,
			  char *model, size_t len)
{
	for (int i = 0; i + 1 < cmd->argc && b->usable; i++) {
		if (strcmp(cmd->argv[i], "-device"))
			continue;
		snprintf(model, len, "%.*s", (int)strcspn(cmd->argv[i + 1], ","), cmd->argv[i + 1]);
		if (qemubin_has_device(b, model) == 0)
			return 1;
	}
	return 0;
}

static void build_config(struct job_config *c, struct job_matrix *m, const char *dir)
{
	const char *v, *disk = job_param(c, "disk"), *net = job_param(c, "net");
	const char *backend = job_param(c, "backend");
	char spec[1024];
	int has_write = 0;

	c->image = -1;
	c->image_path = NULL;
	if ((v = job_param(c, "firmware"))) {
		push(&c->opts, &c->nopts, strdup("--firmware"));
		push(&c->opts, &c->nopts, strdup(v));
	}
	if ((v = job_param(c, "machine"))) {
		push(&c->opts, &c->nopts, strdup("--machine"));
		push(&c->opts, &c->nopts, strdup(v));
	}
	if ((v = job_param(c, "accel"))) {
		push(&c->opts, &c->nopts, strdup("--accel"));
		push(&c->opts, &c->nopts, strdup(v));
	}
	if (job_param(c, "qemu")) {
		push(&c->opts, &c->nopts, strdup("--qemu"));
		push(&c->opts, &c->nopts, strdup(c->qemu));
	}
	if ((v = job_param(c, "timeout"))) {
		c->timeout = strtod(v, NULL);
		push(&c->opts, &c->nopts, strdup("--timeout"));
		push(&c->opts, &c->nopts, strdup(v));
	}
	if ((v = job_param(c, "repeat")))
		c->repeat = atoi(v);
	if ((v = job_param(c, "pin")) && strcmp(v, "none")) {
		char why[300], cpus[256];

		if (pin_resolve(v, &c->pin, why, sizeof(why)) != 0) {
			c->pin.n = 0;
			set_skip(c, "pin=%s: %s", v, why);
		} else {
			pin_cpus_text(&c->pin, 0, cpus, sizeof(cpus));
			push(&c->opts, &c->nopts, strdup("--pin"));
			push(&c->opts, &c->nopts, strdup(cpus));
		}
	}
	if (!disk) {
		static const char *const dk[] = { "disk_transport", "backend", "disk_size",
						  "latency_ns", "cache", "aio", "format",
						  "iothread", "queues", "disk_props",
						  "poll_max_ns" };

		for (size_t k = 0; k < NELEM(dk); k++)
			if (job_param(c, dk[k]))
				set_skip(c, "%s= without disk=", dk[k]);
	} else {
		int n = snprintf(spec, sizeof(spec), "%s", disk);
		const char *size = job_param(c, "disk_size");

		if ((v = job_param(c, "disk_transport")))
			n += snprintf(spec + n, sizeof(spec) - (size_t)n, ",transport=%s", v);
		if (!backend || strcmp(backend, "null") == 0) {
			n += snprintf(spec + n, sizeof(spec) - (size_t)n, ",backend=null");
			if (size)
				n += snprintf(spec + n, sizeof(spec) - (size_t)n, ",size=%s", size);
			if ((v = job_param(c, "latency_ns")))
				n += snprintf(spec + n, sizeof(spec) - (size_t)n, ",latency-ns=%s",
					      v);
			/* format=: the builder refuses it on null, as boot does */
			if ((v = job_param(c, "format")))
				n += snprintf(spec + n, sizeof(spec) - (size_t)n, ",format=%s", v);
			/* null-co keeps nothing and carries no label: writes need write=unsafe */
			has_write = is_write_workload(c) && !job_param(c, "write");
		} else if (strcmp(backend, "file") == 0) {
			const char *format = job_param(c, "format");
			unsigned long long bytes = 0;

			if (!format)
				format = "raw";
			if (!size)
				size = "1G";
			if (job_param(c, "latency_ns"))
				set_skip(c, "latency_ns= needs backend=null");
			const char *qemu_format = "raw", *prealloc;

			if (job_image_format(format, &qemu_format, &prealloc) != 0)
				set_skip(c, "unknown format '%s' (" JOB_FORMATS ")", format);
			if (qemu_parse_size(size, &bytes) != 0 || bytes == 0)
				set_skip(c, "bad disk_size '%s'", size);
			if (!c->skip) {
				c->image = image_index(m, dir, format, size, bytes);
				c->image_path = c->image >= 0 ? m->images[c->image].path : NULL;
				/* a comma in the result directory's name is doubled, as --disk
				 * reads it */
				char *path = qemu_keyval_escape(c->image >= 0 ?
								m->images[c->image].path : "?");

				n += snprintf(spec + n, sizeof(spec) - (size_t)n, ",backend=file=%s",
					      path ? path : "?");
				free(path);
				n += snprintf(spec + n, sizeof(spec) - (size_t)n, ",format=%s",
					      qemu_format);
			}
		} else {
			set_skip(c, "unknown backend '%s' (null, file)", backend);
		}
		if ((v = job_param(c, "cache")))
			n += snprintf(spec + n, sizeof(spec) - (size_t)n, ",cache=%s", v);
		if ((v = job_param(c, "aio")))
			n += snprintf(spec + n, sizeof(spec) - (size_t)n, ",aio=%s", v);
		/* every virtio disk of the configuration; the builder refuses on|NAME on ide */
		if ((v = job_param(c, "iothread")))
			n += snprintf(spec + n, sizeof(spec) - (size_t)n, ",iothread=%s", v);
		/* ring=packed: the device must offer it (packed=on); the builder refuses it on ide */
		if ((v = job_param(c, "ring")) && !strcmp(v, "packed"))
			n += snprintf(spec + n, sizeof(spec) - (size_t)n, ",packed=on");
		if ((v = job_param(c, "queues")))
			n += snprintf(spec + n, sizeof(spec) - (size_t)n, ",queues=%s", v);
		if ((v = job_param(c, "poll_max_ns")))
			n += snprintf(spec + n, sizeof(spec) - (size_t)n, ",poll-max-ns=%s", v);
		if ((v = job_param(c, "disk_props")))
			props_spec(v, spec, sizeof(spec));
		push(&c->opts, &c->nopts, strdup("--disk"));
		push(&c->opts, &c->nopts, strdup(spec));
	}
	if (!net) {
		static const char *const nk[] = { "net_transport", "topology", "vhost",
						  "peer_mode", "net_props" };

		for (size_t k = 0; k < NELEM(nk); k++)
			if (job_param(c, nk[k]))
				set_skip(c, "%s= without net=", nk[k]);
	} else {
		int n = snprintf(spec, sizeof(spec), "%s", net);
		const char *topo = job_param(c, "topology");

		if ((v = job_param(c, "net_transport")))
			n += snprintf(spec + n, sizeof(spec) - (size_t)n, ",transport=%s", v);
		n += snprintf(spec + n, sizeof(spec) - (size_t)n, ",topology=%s",
			      topo ? topo : "loop");
		if ((v = job_param(c, "vhost")))
			n += snprintf(spec + n, sizeof(spec) - (size_t)n, ",vhost=%s", v);
		if ((v = job_param(c, "peer_mode")))
			n += snprintf(spec + n, sizeof(spec) - (size_t)n, ",peer-mode=%s", v);
		if ((v = job_param(c, "ring")) && !strcmp(v, "packed"))
			n += snprintf(spec + n, sizeof(spec) - (size_t)n, ",packed=on");
		if ((v = job_param(c, "net_props")))
			props_spec(v, spec, sizeof(spec));
		push(&c->opts, &c->nopts, strdup("--net"));
		push(&c->opts, &c->nopts, strdup(spec));
		if (!topo || strcmp(topo, "loop") == 0) { /* the loop's second NIC receives */
			push(&c->opts, &c->nopts, strdup("--net"));
			push(&c->opts, &c->nopts, strdup(spec));
		}
	}
	/* guest options, in the configuration's key order */
	if (!job_param(c, "bench") && disk && !net)
		push(&c->guest, &c->nguest, strdup("bench=disk"));
	for (int i = 0; i < c->nparams; i++)
		for (size_t k = 0; k < NELEM(guest_keys); k++)
			if (strcmp(c->keys[i], guest_keys[k][0]) == 0)
				push(&c->guest, &c->nguest,
				     fmt("%s=%s", guest_keys[k][1], c->values[i]));
	if (has_write)
		push(&c->guest, &c->nguest, strdup("write=unsafe"));
	if (!c->opts)
		push(&c->opts, &c->nopts, NULL), c->nopts = 0;
	if (!c->guest)
		push(&c->guest, &c->nguest, NULL), c->nguest = 0;

	/* The verdict of the builder kvmio boot uses (files: the runner makes them). */
	if (!c->skip) {
		struct qemu_options q;
		struct qemu_command cmd;
		char err[4096], *guest[64], *disks[8], *nets[8];
		const struct qemu_binary *qb = qemubin_probe(c->qemu);
		int ng = 0;

		memset(&q, 0, sizeof(q));
		q.disks = disks;
		q.nets = nets;
		q.guest_args = guest;
		for (int i = 0; i + 1 < c->nopts; i += 2) {
			const char *o = c->opts[i], *a = c->opts[i + 1];

			if (!strcmp(o, "--firmware"))
				q.firmware = a;
			else if (!strcmp(o, "--machine"))
				q.machine = a;
			else if (!strcmp(o, "--accel"))
				q.accel = a;
			else if (!strcmp(o, "--disk") && q.ndisks < 8)
				disks[q.ndisks++] = (char *)a;
			else if (!strcmp(o, "--net") && q.nnets < 8)
				nets[q.nnets++] = (char *)a;
		}
		for (int i = 0; i < c->nguest && ng < 62; i++)
			guest[ng++] = c->guest[i];
		q.nguest_args = ng;
		if (qemu_loop_needs_rxdev(&q))
			guest[q.nguest_args++] = "rxdev=1";
		q.qemu = c->qemu;
		q.image_dir = ".";
		q.path_exists = path_ok;
		if (qemu_build_command(&q, &cmd, err, sizeof(err)) != 0) {
			char e2[16], model[128];

			/* refused for a property? (with every name allowed, it builds) */
			q.device_props = any_props;
			if ((job_param(c, "disk_props") || job_param(c, "net_props")) &&
			    qemu_build_command(&q, &cmd, e2, sizeof(e2)) == 0) {
				if (missing_device(qb, &cmd, model, sizeof(model)))
					set_skip(c, "QEMU binary %s has no device %s", c->qemu, model);
				else
					c->prop_refused = strdup(err);
				qemu_command_free(&cmd);
			}
			set_skip(c, "%s", err);
		} else {
			char model[128];

			snprintf(c->flavour, sizeof(c->flavour), "%s", cmd.accel_label);
			/* every device and the accelerator it needs, in that binary */
			if (missing_device(qb, &cmd, model, sizeof(model)))
				set_skip(c, "QEMU binary %s has no device %s", c->qemu, model);
			if (qb->usable && qemubin_has_accel(qb, cmd.accel) == 0)
				set_skip(c, "QEMU binary %s has no accelerator %s", c->qemu, cmd.accel);
			qemu_command_free(&cmd);
		}
	}
}

/* A property refused in configurations [from, to) that no configuration there with the same
 * disk_props and net_props could take: a typo, into fatal. 1 if so. */
static int props_typo(const struct job_matrix *m, int from, int to, char *fatal, size_t len)
{
	for (int i = from; i < to; i++) {
		const struct job_config *c = &m->cfg[i];
		int taken = 0;

		if (!c->prop_refused)
			continue;
		for (int j = from; j < to && !taken; j++) {
			const struct job_config *d = &m->cfg[j];
			const char *a1 = job_param(c, "disk_props"), *b1 = job_param(d, "disk_props");
			const char *a2 = job_param(c, "net_props"), *b2 = job_param(d, "net_props");

			taken = !d->skip && !d->prop_refused && (!a1) == (!b1) && (!a2) == (!b2) &&
				(!a1 || !strcmp(a1, b1)) && (!a2 || !strcmp(a2, b2));
		}
		if (!taken) {
			snprintf(fatal, len, "[%.64s] %s (%.200s): %.3600s", c->section, c->id,
				 c->params, c->prop_refused);
			return 1;
		}
	}
	return 0;
}

static void add_param(struct job_config *c, const char *k, const char *v)
{
	for (int i = 0; i < c->nparams; i++)
		if (strcmp(c->keys[i], k) == 0) {
			free(c->values[i]);
			c->values[i] = strdup(v);
			return;
		}
	c->keys = realloc(c->keys, sizeof(char *) * (size_t)(c->nparams + 1));
	c->values = realloc(c->values, sizeof(char *) * (size_t)(c->nparams + 1));
	c->keys[c->nparams] = strdup(k);
	c->values[c->nparams] = strdup(v);
	c->nparams++;
}

static char *params_string(const struct job_config *c)
{
	char **kv = calloc((size_t)c->nparams + 1, sizeof(char *));
	size_t len = 1;
	char *s;
	int n = 0;

	for (int i = 0; i < c->nparams; i++) {
		if (!job_param_is_config(c->keys[i]))
			continue;
		kv[n] = fmt("%s=%s", c->keys[i], c->values[i]);
		len += strlen(kv[n++]) + 1;
	}
	qsort(kv, (size_t)n, sizeof(char *), cmp_str);
	s = calloc(1, len);
	for (int i = 0; i < n; i++) {
		if (i)
			strcat(s, ";");
		strcat(s, kv[i]);
		free(kv[i]);
	}
	free(kv);
	return s;
}

int job_image_format(const char *format, const char **qemu_format, const char **prealloc)
{
	static const struct {
		const char *job, *qemu, *prealloc;
	} formats[] = {
		{ "raw", "raw", "off" }, { "qcow2", "qcow2", "off" },
		{ "qcow2-prealloc", "qcow2", "metadata" },
		{ "raw-full", "raw", "full" }, { "qcow2-full", "qcow2", "full" },
	};

	for (size_t i = 0; i < NELEM(formats); i++)
		if (!strcmp(format, formats[i].job)) {
			*qemu_format = formats[i].qemu;
			*prealloc = formats[i].prealloc;
			return 0;
		}
	return -1;
}

int job_param_is_config(const char *key)
{
	return strcmp(key, "repeat") != 0 && strcmp(key, "timeout") != 0;
}

/* qemu = LABEL:PATH: the parameter becomes the label (what compare --baseline names), the
 * path the binary; without the key, KVMIO_QEMU or qemu-system-x86_64. Its version and build. */
static void take_qemu(struct job_config *c)
{
	const char *env = getenv("KVMIO_QEMU");
	const struct qemu_binary *b;

	for (int i = 0; i < c->nparams; i++)
		if (strcmp(c->keys[i], "qemu") == 0) {
			char label[256];
			const char *path = qemu_item(c->values[i], label, sizeof(label));

			c->qemu = strdup(path);
			free(c->values[i]);
			c->values[i] = strdup(label);
		}
	if (!c->qemu)
		c->qemu = strdup(env && *env ? env : "qemu-system-x86_64");
	b = qemubin_probe(c->qemu);
	if (b->usable) {
		snprintf(c->qemu_version, sizeof(c->qemu_version), "%s", b->version);
		snprintf(c->qemu_build, sizeof(c->qemu_build), "sha256:%s", b->build);
	}
}

int job_expand(const struct job_file *jf, const char *dir, struct job_matrix *m, char *err,
	       size_t errlen)
{
	char fatal[4096] = "";

	memset(m, 0, sizeof(*m));
	/* every binary of the qemu key, asked before anything runs (not at load: a job file alone
	 * never makes kvmio start a program) */
	for (int i = -1; i < jf->nsecs; i++) {
		const struct job_section *s = i < 0 ? &jf->global : &jf->secs[i];

		for (int k = 0; k < s->nkv; k++)
			if (!strcmp(s->kv[k].key, "qemu") &&
			    job_check_ab_value("qemu", s->kv[k].value, 1, fatal, sizeof(fatal)) != 0) {
				snprintf(err, errlen, "%.200s:%d: %.3800s", jf->path, s->kv[k].line,
					 fatal);
				return KVMIO_EXIT_BADCONFIG;
			}
	}
	for (int si = 0; si < jf->nsecs; si++) {
		const struct job_section *s = &jf->secs[si];
		/* the job's keys: [global] first (overridden in place), then its own */
		const char *keys[64], *vals[64];
		char **items[64];
		int nitems[64], nk = 0, idx[64];
		long total = 1;
		int first = m->n;

		for (int pass = 0; pass < 2; pass++) {
			const struct job_section *from = pass ? s : &jf->global;

			for (int k = 0; k < from->nkv; k++) {
				int j;

				for (j = 0; j < nk; j++)
					if (strcmp(keys[j], from->kv[k].key) == 0)
						break;
				if (j == nk) {
					if (nk == 64)
						continue;
					keys[nk++] = from->kv[k].key;
				}
				vals[j] = from->kv[k].value;
			}
		}
		for (int k = 0; k < nk; k++) {
			nitems[k] = split_list(vals[k], &items[k]);
			total *= nitems[k];
			idx[k] = 0;
		}
		if (total > 100000) {
			snprintf(err, errlen, "%s:%d: [%s] expands to %ld configurations (limit "
				 "100000)", jf->path, s->line, s->name, total);
			for (int k = 0; k < nk; k++) {
				for (int i = 0; i < nitems[k]; i++)
					free(items[k][i]);
				free(items[k]);
			}
			job_matrix_free(m);
			return KVMIO_EXIT_BADCONFIG;
		}
		for (long t = 0; t < total; t++) {
			struct job_config *c;

			m->cfg = realloc(m->cfg, sizeof(*m->cfg) * (size_t)(m->n + 1));
			c = &m->cfg[m->n];
			memset(c, 0, sizeof(*c));
			snprintf(c->id, sizeof(c->id), "c%03d", m->n + 1);
			m->n++;
			c->section = strdup(s->name);
			for (int k = 0; k < nk; k++)
				add_param(c, keys[k], items[k][idx[k]]);
			take_qemu(c);
			c->params = params_string(c);
			build_config(c, m, dir);
			/* next index: the last key varies fastest */
			for (int k = nk - 1; k >= 0; k--) {
				if (++idx[k] < nitems[k])
					break;
				idx[k] = 0;
			}
		}
		for (int k = 0; k < nk; k++) {
			for (int i = 0; i < nitems[k]; i++)
				free(items[k][i]);
			free(items[k]);
		}
		if (props_typo(m, first, m->n, fatal, sizeof(fatal))) {
			snprintf(err, errlen, "%.200s: %.3800s", jf->path, fatal);
			job_matrix_free(m);
			return KVMIO_EXIT_BADCONFIG;
		}
	}
	return KVMIO_EXIT_OK;
}

void job_matrix_free(struct job_matrix *m)
{
	for (int i = 0; i < m->n; i++) {
		struct job_config *c = &m->cfg[i];

		for (int k = 0; k < c->nparams; k++) {
			free(c->keys[k]);
			free(c->values[k]);
		}
		free(c->keys);
		free(c->values);
		free(c->params);
		free(c->section);
		free(c->qemu);
		free(c->prop_refused);
		for (int k = 0; k < c->nopts; k++)
			free(c->opts[k]);
		free(c->opts);
		for (int k = 0; k < c->nguest; k++)
			free(c->guest[k]);
		free(c->guest);
	}
	free(m->cfg);
	for (int i = 0; i < m->nimages; i++) {
		free(m->images[i].path);
		free(m->images[i].format);
	}
	free(m->images);
	memset(m, 0, sizeof(*m));
}

char **job_boot_argv(const struct job_config *c, const char *exe, const char *log,
		     const char *extra)
{
	return job_boot_argv2(c, exe, log, extra, NULL);
}

char **job_boot_argv2(const struct job_config *c, const char *exe, const char *log,
		      const char *extra, const char *extra2)
{
	char **v = calloc((size_t)(c->nopts + c->nguest + 8), sizeof(char *));
	int n = 0;

	if (!v)
		return NULL;
	v[n++] = (char *)exe;
	v[n++] = "boot";
	for (int i = 0; i < c->nopts; i++)
		v[n++] = c->opts[i];
	if (log) {
		v[n++] = "--log";
		v[n++] = (char *)log;
	}
	if (extra)
		v[n++] = (char *)extra;
	if (extra2)
		v[n++] = (char *)extra2;
	v[n++] = "--";
	for (int i = 0; i < c->nguest; i++)
		v[n++] = c->guest[i];
	v[n] = NULL;
	return v;
}

char *job_boot_string(const struct job_config *c, const char *exe)
{
	char **v = job_boot_argv(c, exe, NULL, NULL);
	char *s = v ? qemu_command_string(v) : NULL;

	free(v);
	return s;
}
