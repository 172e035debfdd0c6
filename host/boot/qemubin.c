/* The facts of a QEMU binary: version, build id, devices, accelerators, properties (qemubin.h). */
#include <errno.h>
#include <fcntl.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "boot/launch.h"
#include "boot/qemubin.h"
#include "lib/proc.h"
#include "lib/xalloc.h"

static void hex_digest(const unsigned char *d, char *hex)
{
	for (int i = 0; i < SHA256_DIGEST_SIZE; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

void qemubin_sha256_buffer(const void *data, size_t len, char *hex)
{
	struct sha256_ctx ctx;
	unsigned char d[SHA256_DIGEST_SIZE];

	sha256_init(&ctx);
	sha256_update(&ctx, len, data);
	sha256_digest(&ctx, sizeof(d), d);
	hex_digest(d, hex);
}

int qemubin_sha256_file(const char *path, char *hex)
{
	struct sha256_ctx ctx;
	unsigned char d[SHA256_DIGEST_SIZE], buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	sha256_init(&ctx);
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		sha256_update(&ctx, (size_t)n, buf);
	}
	close(fd);
	sha256_digest(&ctx, sizeof(d), d);
	hex_digest(d, hex);
	return 0;
}

/* Run PATH ARGS... under the probe deadline: stdout and stderr joined (malloc'd), NULL when it
 * could not start; *code its exit status (-1: killed or timed out). */
static char *ask(const char *path, const char *a1, const char *a2, int *code)
{
	char *argv[] = { (char *)path, (char *)a1, (char *)a2, NULL };
	struct launch_result res;
	char *text;

	launch_run(argv, QEMUBIN_PROBE_TIMEOUT_S, &res);
	if (!res.started) {
		launch_result_free(&res);
		*code = -1;
		return NULL;
	}
	*code = res.exited && !res.timed_out ? res.exit_code : -1;
	text = xasprintf("%s%s", res.out ? res.out : "", res.err ? res.err : "");
	launch_result_free(&res);
	return text;
}

static void first_line(const char *text, char *out, size_t len)
{
	size_t n = strcspn(text, "\n");

	snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), text);
}

static struct qemu_binary **cache;
static int ncache;

const struct qemu_binary *qemubin_probe(const char *path)
{
	struct qemu_binary *b;
	char exe[4096], *text;
	int code;

	for (int i = 0; i < ncache; i++)
		if (strcmp(cache[i]->path, path) == 0)
			return cache[i];
	b = xrealloc(NULL, sizeof(*b));
	memset(b, 0, sizeof(*b));
	cache = xrealloc(cache, sizeof(*cache) * (size_t)(ncache + 1));
	cache[ncache++] = b;
	snprintf(b->path, sizeof(b->path), "%s", path);
	b->devices = xstrdup("");
	b->accels = xstrdup("");
	if (path_search(path, exe, sizeof(exe)) != 0) {
		snprintf(b->why, sizeof(b->why), "QEMU binary %.400s: %s", path,
			 strchr(path, '/') && access(path, F_OK) == 0 ? "not executable"
			 : strchr(path, '/') ? "no such file" : "not found in PATH");
		return b;
	}
	if (qemubin_sha256_file(exe, b->build) != 0) {
		snprintf(b->why, sizeof(b->why), "QEMU binary %.400s: cannot read it: %s", exe,
			 strerror(errno));
		return b;
	}
	text = ask(exe, "-version", NULL, &code);
	if (!text || code != 0) {
		char line[200] = "";

		if (text)
			first_line(text, line, sizeof(line));
		snprintf(b->why, sizeof(b->why), "QEMU binary %.300s: -version %s%s%.200s", path,
			 !text ? "could not run" : code < 0 ? "timed out or was killed"
			 : "failed", line[0] ? ": " : "", line);
		free(text);
		return b;
	}
	first_line(text, b->version, sizeof(b->version));
	if (strncmp(b->version, "QEMU emulator version ", 22) == 0)
		memmove(b->version, b->version + 22, strlen(b->version + 22) + 1);
	if (!b->version[0])
		snprintf(b->version, sizeof(b->version), "unknown");
	free(text);
	b->usable = 1;
	text = ask(exe, "-device", "help", &code);
	if (text && code == 0) {
		free(b->devices);
		b->devices = text;
	} else {
		free(text);
	}
	text = ask(exe, "-accel", "help", &code);
	if (text && code == 0) {
		free(b->accels);
		b->accels = text;
	} else {
		free(text);
	}
	return b;
}

int qemubin_has_device(const struct qemu_binary *b, const char *model)
{
	char want[300];

	if (!b->usable || !strstr(b->devices, "name \""))
		return -1;
	snprintf(want, sizeof(want), "name \"%s\"", model);
	if (strstr(b->devices, want))
		return 1;
	/* `-device help` also lists other names a model answers to: name "ich9-ahci", ...,
	 * alias "ahci" */
	snprintf(want, sizeof(want), "alias \"%s\"", model);
	return strstr(b->devices, want) != NULL;
}

int qemubin_has_accel(const struct qemu_binary *b, const char *accel)
{
	const char *p = b->accels;

	if (!b->usable || !strstr(b->accels, "Accelerators supported"))
		return -1;
	while ((p = strchr(p, '\n'))) {
		size_t n;

		p++;
		n = strcspn(p, "\n");
		if (n == strlen(accel) && strncmp(p, accel, n) == 0)
			return 1;
	}
	return 0;
}

int qemubin_list_has(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; *p;) {
		size_t w = strcspn(p, " ");

		if (w == n && strncmp(p, name, n) == 0)
			return 1;
		p += w;
		p += strspn(p, " ");
	}
	return 0;
}

struct props_entry {
	char *path, *model, *list;
	int rc;
};
static struct props_entry *props_cache;
static int nprops;

/* "  NAME=<type> ..." lines of -device MODEL,help into a space-separated list. */
static int parse_props(const char *text, char *list, size_t len)
{
	size_t n = 0;
	int count = 0;

	list[0] = '\0';
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *p = l;
		size_t w;

		if (*p != ' ')
			continue;
		p += strspn(p, " ");
		w = strcspn(p, "=\n ");
		if (w == 0 || p[w] != '=' || n + w + 2 > len)
			continue;
		n += (size_t)snprintf(list + n, len - n, "%s%.*s", count ? " " : "", (int)w, p);
		count++;
	}
	return count;
}

int qemubin_device_props(const char *path, const char *model, char *list, size_t len)
{
	const struct qemu_binary *b;
	struct props_entry *e = NULL;
	char arg[300], *text, buf[8192];
	int code, rc = -1;

	for (int i = 0; i < nprops; i++)
		if (!strcmp(props_cache[i].path, path) && !strcmp(props_cache[i].model, model))
			e = &props_cache[i];
	if (!e) {
		b = qemubin_probe(path);
		if (!b->usable) {
			snprintf(buf, sizeof(buf), "%s", b->why);
		} else if (qemubin_has_device(b, model) == 0) {
			snprintf(buf, sizeof(buf), "QEMU binary %.300s has no device %s", path, model);
		} else {
			snprintf(arg, sizeof(arg), "%s,help", model);
			text = ask(path, "-device", arg, &code);
			if (text && code == 0 && parse_props(text, buf, sizeof(buf)) > 0)
				rc = 0;
			else
				snprintf(buf, sizeof(buf), "QEMU binary %.300s: -device %s,help gave no "
					 "property list", path, model);
			free(text);
		}
		props_cache = xrealloc(props_cache, sizeof(*props_cache) * (size_t)(nprops + 1));
		e = &props_cache[nprops++];
		e->path = xstrdup(path);
		e->model = xstrdup(model);
		e->list = xstrdup(buf);
		e->rc = rc;
	}
	snprintf(list, len, "%s", e->list);
	return e->rc;
}
