/* Building the QEMU command line for `kvmio boot`. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "boot/net.h"
#include "boot/qemu.h"
#include "boot/qemubin.h"
#include "boot/launch.h"
#include "lib/proc.h"
#include "disklabel.h"

void qemu_host_kvm_flavour(struct kvm_flavour *out)
{
	static struct kvm_flavour cached;
	static int have;

	if (!have) {
		struct host_facts f;

		host_facts_read_kvm(&f);
		host_kvm_flavour(&f, &cached);
		have = 1;
	}
	*out = cached;
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

/* ---- --disk -------------------------------------------------------------------------------- */

int qemu_parse_size(const char *s, unsigned long long *out)
{
	unsigned long long v, mul = 1;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (*end) {
		switch (*end) {
		case 'k': case 'K': mul = 1ull << 10; break;
		case 'm': case 'M': mul = 1ull << 20; break;
		case 'g': case 'G': mul = 1ull << 30; break;
		case 't': case 'T': mul = 1ull << 40; break;
		default: return -1;
		}
		if (end[1] && !(end[1] == 'i' && end[2] == 'B' && !end[3]) &&
		    !((end[1] == 'B' || end[1] == 'b') && !end[2]))
			return -1;
	}
	if (v == 0 || v > ~0ull / mul)
		return -1;
	*out = v * mul;
	return 0;
}

static int one_of(const char *v, const char *const *set)
{
	for (int i = 0; set[i]; i++)
		if (strcmp(v, set[i]) == 0)
			return i;
	return -1;
}

/* Value VALUE of KEY among SET, as the static string; NULL with a message if not in SET. */
static const char *pick(const char *key, const char *v, const char *const *set, char *err,
			size_t errlen)
{
	int i = one_of(v, set);
	size_t n = 0;

	if (i >= 0)
		return set[i];
	n += (size_t)snprintf(err, errlen, "--disk: bad %s=%s (", key, v);
	for (int k = 0; set[k] && n < errlen; k++)
		n += (size_t)snprintf(err + n, errlen - n, "%s%s", k ? ", " : "", set[k]);
	if (n < errlen)
		snprintf(err + n, errlen - n, ")");
	return NULL;
}

int qemu_parse_iothread(const char *owner, const char *v, char *out, char *err, size_t errlen)
{
	size_t n = strlen(v);
	int ok = n > 0 && n < QEMU_IOTHREAD_MAX &&
		 ((v[0] >= 'a' && v[0] <= 'z') || (v[0] >= 'A' && v[0] <= 'Z'));

	for (size_t i = 1; ok && i < n; i++)
		ok = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", v[i]) !=
		     NULL;
	if (!ok) {
		snprintf(err, errlen, "%s: bad iothread=%.64s (on, off, or a NAME shared by the "
			 "devices that give it: a letter, then letters, digits, '-' or '_', at most "
			 "%d)", owner, v, QEMU_IOTHREAD_MAX - 1);
		return KVMIO_EXIT_BADCONFIG;
	}
	memcpy(out, v, n + 1);
	return KVMIO_EXIT_OK;
}

/*
 * The --disk models, in the order the guest numbers their disks (common/disk_models.def, which
 * the guest's driver table reads too): --disk specs must come in this order, so the Nth --disk
 * is the guest's dev=N. The rank of a model is its index here.
 */
static const struct {
	const char *name;
	enum qemu_disk_model model;
} disk_models[] = {
#define KVMIO_DISK_MODEL(id, name, driver) { name, QEMU_DISK_##id },
#include "disk_models.def"
#undef KVMIO_DISK_MODEL
};
#define NDISK_MODELS (sizeof(disk_models) / sizeof(disk_models[0]))

static const char *disk_model_name(enum qemu_disk_model m)
{
	for (size_t i = 0; i < NDISK_MODELS; i++)
		if (disk_models[i].model == m)
			return disk_models[i].name;
	return "?";
}

static size_t disk_model_rank(enum qemu_disk_model m)
{
	for (size_t i = 0; i < NDISK_MODELS; i++)
		if (disk_models[i].model == m)
			return i;
	return NDISK_MODELS;
}

/* "ide, ahci, nvme, virtio-blk" into buf */
static void disk_model_list(char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NDISK_MODELS && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "", disk_models[i].name);
}

int qemu_parse_disk(const char *spec, struct qemu_disk *d, char *err, size_t errlen)
{
	static const char *const transports[] = { "legacy", "modern", "transitional", "mmio",
						   "mmio-modern", NULL };
	static const char *const caches[] = { "none", "writethrough", "writeback", "directsync",
					       "unsafe", NULL };
	static const char *const aios[] = { "threads", "native", "io_uring", NULL };
	static const char *const formats[] = { "raw", "qcow2", NULL };
	static const char *const onoff[] = { "on", "off", NULL };
	static const char *const injects[] = { "eio-read", "eio-write", NULL };
	char buf[4096], *save = NULL, *tok;
	int first = 1, size_given = 0;

	memset(d, 0, sizeof(*d));
	d->latency_ns = -1;
	d->poll_max_ns = -1;
	strcpy(d->iothread, "off");
	d->size = 1ull << 30;
	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, errlen, "--disk: spec too long");
		return KVMIO_EXIT_BADCONFIG;
	}
	/* Split at single commas; ",," is a literal comma (as in QEMU), for file names. */
	{
		size_t j = 0;

		for (const char *p = spec; *p; p++) {
			if (*p == ',' && p[1] == ',') {
				buf[j++] = ',';
				p++;
			} else {
				buf[j++] = *p == ',' ? '\x1f' : *p;
			}
		}
		buf[j] = '\0';
	}
	for (tok = strtok_r(buf, "\x1f", &save); tok;
	     tok = strtok_r(NULL, "\x1f", &save), first = 0) {
		char *eq = strchr(tok, '=');
		const char *k = tok, *v = eq ? eq + 1 : NULL;

		if (first) {
			size_t m = 0;
			char models[128];

			while (m < NDISK_MODELS && strcmp(tok, disk_models[m].name) != 0)
				m++;
			if (m == NDISK_MODELS) {
				disk_model_list(models, sizeof(models));
				snprintf(err, errlen, "--disk: unknown model '%.64s' (%s first, then "
					 "KEY=VALUE,...)", tok, models);
				return KVMIO_EXIT_BADCONFIG;
			}
			d->model = disk_models[m].model;
			continue;
		}
		if (strncmp(tok, "prop.", 5) == 0)
			continue; /* a device property: qemu_spec_props */
		if (!eq || !*v) {
			snprintf(err, errlen, "--disk: '%.64s' is not KEY=VALUE", tok);
			return KVMIO_EXIT_BADCONFIG;
		}
		*eq = '\0';
		if (strcmp(k, "transport") == 0) {
			if (!(d->transport = pick(k, v, transports, err, errlen)))
				return KVMIO_EXIT_BADCONFIG;
		} else if (strcmp(k, "backend") == 0) {
			if (strcmp(v, "null") == 0) {
				d->file = NULL;
			} else if (strncmp(v, "file=", 5) == 0 && v[5]) {
				snprintf(d->filebuf, sizeof(d->filebuf), "%s", v + 5);
				d->file = d->filebuf;
			} else {
				snprintf(err, errlen, "--disk: bad backend=%.64s (null or file=PATH)", v);
				return KVMIO_EXIT_BADCONFIG;
			}
		} else if (strcmp(k, "file") == 0) { /* file=PATH: short for backend=file=PATH */
			snprintf(d->filebuf, sizeof(d->filebuf), "%s", v);
			d->file = d->filebuf;
		} else if (strcmp(k, "size") == 0) {
			if (qemu_parse_size(v, &d->size) != 0 || d->size % 512) {
				snprintf(err, errlen, "--disk: bad size=%.64s (bytes or K/M/G/T suffix, "
					 "a multiple of 512)", v);
				return KVMIO_EXIT_BADCONFIG;
			}
			size_given = 1;
		} else if (strcmp(k, "cache") == 0) {
			if (!(d->cache = pick(k, v, caches, err, errlen)))
				return KVMIO_EXIT_BADCONFIG;
		} else if (strcmp(k, "aio") == 0) {
			if (!(d->aio = pick(k, v, aios, err, errlen)))
				return KVMIO_EXIT_BADCONFIG;
		} else if (strcmp(k, "format") == 0) {
			if (!(d->format = pick(k, v, formats, err, errlen)))
				return KVMIO_EXIT_BADCONFIG;
		} else if (strcmp(k, "latency-ns") == 0) {
			char *end;

			errno = 0;
			d->latency_ns = strtoll(v, &end, 10);
			if (errno || *end || *v < '0' || *v > '9') {
				snprintf(err, errlen, "--disk: bad latency-ns=%.64s (nanoseconds)", v);
				return KVMIO_EXIT_BADCONFIG;
			}
		} else if (strcmp(k, "readonly") == 0) {
			if (!pick(k, v, onoff, err, errlen))
				return KVMIO_EXIT_BADCONFIG;
			d->readonly = strcmp(v, "on") == 0;
		} else if (strcmp(k, "inject") == 0) {
			if (!(d->inject = pick(k, v, injects, err, errlen)))
				return KVMIO_EXIT_BADCONFIG;
		} else if (strcmp(k, "iothread") == 0) {
			if (qemu_parse_iothread("--disk", v, d->iothread, err, errlen) != 0)
				return KVMIO_EXIT_BADCONFIG;
		} else if (strcmp(k, "poll-max-ns") == 0) {
			char *end;

			errno = 0;
			d->poll_max_ns = strtoll(v, &end, 10);
			if (errno || *end || *v < '0' || *v > '9' ||
			    d->poll_max_ns > QEMU_POLL_MAX_NS_LIMIT) {
				snprintf(err, errlen, "--disk: bad poll-max-ns=%.64s (0..%lld ns; 0 "
					 "turns the iothread's adaptive polling off)", v,
					 (long long)QEMU_POLL_MAX_NS_LIMIT);
				return KVMIO_EXIT_BADCONFIG;
			}
		} else if (strcmp(k, "packed") == 0) {
			if (!(d->packed = pick(k, v, onoff, err, errlen)))
				return KVMIO_EXIT_BADCONFIG;
		} else if (strcmp(k, "queues") == 0) {
			char *end;
			unsigned long q;

			errno = 0;
			q = strtoul(v, &end, 10);
			if (errno || *end || *v < '0' || *v > '9' || q < 1 || q > QEMU_DISK_QUEUES_MAX) {
				snprintf(err, errlen, "--disk: bad queues=%.64s (1..%d request queues)", v,
					 QEMU_DISK_QUEUES_MAX);
				return KVMIO_EXIT_BADCONFIG;
			}
			d->queues = (unsigned)q;
		} else {
			snprintf(err, errlen, "--disk: unknown key '%.64s' (transport, backend, file, "
				 "size, cache, aio, format, latency-ns, readonly, inject, iothread, packed, "
				 "queues)", k);
			return KVMIO_EXIT_BADCONFIG;
		}
	}
	if (first) {
		char models[128];

		disk_model_list(models, sizeof(models));
		snprintf(err, errlen, "--disk: empty spec (%s)", models);
		return KVMIO_EXIT_BADCONFIG;
	}
	/* Combinations that cannot work, whatever the machine. */
	if (d->model == QEMU_DISK_IDE && d->transport) {
		snprintf(err, errlen, "--disk: transport= is for virtio-blk and virtio-scsi (IDE PIO or "
			 "DMA is the guest's choice)");
		return KVMIO_EXIT_BADCONFIG;
	}
	if (d->model == QEMU_DISK_IDE && strcmp(d->iothread, "off") != 0) {
		snprintf(err, errlen, "--disk: iothread=%s with ide: QEMU's ide-hd has no iothread "
			 "(use virtio-blk)", d->iothread);
		return KVMIO_EXIT_BADCONFIG;
	}
	if (d->poll_max_ns >= 0 && strcmp(d->iothread, "off") == 0) {
		snprintf(err, errlen, "--disk: poll-max-ns= is the polling of the disk's iothread: it "
			 "needs iothread=on or iothread=NAME");
		return KVMIO_EXIT_BADCONFIG;
	}
	if (d->model == QEMU_DISK_VIRTIO_SCSI && d->queues) {
		snprintf(err, errlen, "--disk: queues= is for virtio-blk (kvmio's virtio-scsi driver "
			 "sends every request on the first request queue)");
		return KVMIO_EXIT_BADCONFIG;
	}
	if (d->model == QEMU_DISK_IDE && (d->packed || d->queues)) {
		snprintf(err, errlen, "--disk: %s= is for virtio-blk (ide-hd has no virtqueues)",
			 d->packed ? "packed" : "queues");
		return KVMIO_EXIT_BADCONFIG;
	}
	if (d->packed && !strcmp(d->packed, "on") && d->transport &&
	    !strcmp(d->transport, "legacy")) {
		snprintf(err, errlen, "--disk: packed=on with transport=legacy: packed rings are "
			 "virtio 1.x only (transport=modern or transitional)");
		return KVMIO_EXIT_BADCONFIG;
	}
	if (d->model == QEMU_DISK_AHCI && d->transport) {
		snprintf(err, errlen, "--disk: transport= is for virtio-blk (ahci has one transport)");
		return KVMIO_EXIT_BADCONFIG;
	}
	if (d->model == QEMU_DISK_AHCI && strcmp(d->iothread, "off") != 0) {
		snprintf(err, errlen, "--disk: iothread=%s with ahci: QEMU's AHCI disks have no "
			 "iothread (use virtio-blk)", d->iothread);
		return KVMIO_EXIT_BADCONFIG;
	}
	if (d->model == QEMU_DISK_AHCI && d->readonly) {
		snprintf(err, errlen, "--disk: readonly=on with ahci: QEMU's ide-hd refuses read-only "
			 "drives (use virtio-blk)");
		return KVMIO_EXIT_BADCONFIG;
	}
	if (d->model == QEMU_DISK_IDE && d->readonly) {
		snprintf(err, errlen, "--disk: readonly=on with ide: QEMU's ide-hd refuses read-only "
			 "drives (use virtio-blk)");
		return KVMIO_EXIT_BADCONFIG;
	}
	if (!d->file) {
		if (d->format || d->cache || d->aio) {
			snprintf(err, errlen, "--disk: %s= needs backend=file=PATH (backend=null has "
				 "no format, cache or aio)", d->format ? "format" : d->cache ? "cache"
				 : "aio");
			return KVMIO_EXIT_BADCONFIG;
		}
	} else {
		if (size_given) {
			snprintf(err, errlen, "--disk: size= is for backend=null (a file has its own "
				 "size: kvmio mkdisk FILE SIZE)");
			return KVMIO_EXIT_BADCONFIG;
		}
		if (d->latency_ns >= 0) {
			snprintf(err, errlen, "--disk: latency-ns= is for backend=null");
			return KVMIO_EXIT_BADCONFIG;
		}
		if (!d->cache)
			d->cache = "writeback";
		if (!d->aio)
			d->aio = "threads";
		if (!d->format)
			d->format = "raw";
		if (strcmp(d->aio, "native") == 0 && strcmp(d->cache, "none") != 0 &&
		    strcmp(d->cache, "directsync") != 0) {
			snprintf(err, errlen, "--disk: aio=native needs O_DIRECT: cache=none or "
				 "cache=directsync (not %s)", d->cache);
			return KVMIO_EXIT_BADCONFIG;
		}
	}
	if (d->model == QEMU_DISK_NVME && d->transport) {
		snprintf(err, errlen, "--disk: transport= is for virtio-blk (nvme has one PCI "
			 "transport; its doorbells are the guest's dbbuf=)");
		return KVMIO_EXIT_BADCONFIG;
	}
	if (d->model == QEMU_DISK_NVME && strcmp(d->iothread, "off") != 0) {
		snprintf(err, errlen, "--disk: iothread=%s with nvme: QEMU 7.2's nvme device has no "
			 "iothread (use virtio-blk)", d->iothread);
		return KVMIO_EXIT_BADCONFIG;
	}
	if (d->model == QEMU_DISK_NVME && d->readonly) {
		snprintf(err, errlen, "--disk: readonly=on with nvme: QEMU 7.2's nvme device does not "
			 "mark the namespace write-protected, so the guest cannot tell (use virtio-blk)");
		return KVMIO_EXIT_BADCONFIG;
	}
	d->transport_given = d->transport != NULL;
	if ((d->model == QEMU_DISK_VIRTIO || d->model == QEMU_DISK_VIRTIO_SCSI) && !d->transport)
		d->transport = "transitional";
	return KVMIO_EXIT_OK;
}

static int default_path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode));
}

#define IO_URING_PROBE_TIMEOUT_S 10.0

int qemu_io_uring_usable(const char *qemu)
{
	/*
	 * QEMU opens -blockdev nodes before it creates devices: with a device that cannot exist,
	 * a QEMU that knows aio=io_uring fails on the device, one that does not fails on the node.
	 * The node is the QEMU binary itself, read-only (any regular file will do).
	 */
	static char last_qemu[4096];
	static int last = -1;
	char exe[4096], node[4200];
	char *argv[] = { exe, "-M", "none", "-nodefaults", "-display", "none", "-S", "-blockdev",
			 node, "-device", "kvmio-probe-no-such-device", NULL };
	struct launch_result res;

	if (last >= 0 && strcmp(last_qemu, qemu) == 0)
		return last;
	if (path_search(qemu, exe, sizeof(exe)) != 0 || strchr(exe, ','))
		return 0;
	snprintf(node, sizeof(node), "driver=file,node-name=probe,read-only=on,aio=io_uring,"
		 "filename=%s", exe);
	launch_run(argv, IO_URING_PROBE_TIMEOUT_S, &res);
	snprintf(last_qemu, sizeof(last_qemu), "%s", qemu);
	last = res.err && strstr(res.err, "kvmio-probe-no-such-device") &&
	       !strstr(res.err, "-blockdev") ? 1 : 0;
	launch_result_free(&res);
	return last;
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

char *qemu_keyval_escape(const char *s)
{
	char *out = malloc(strlen(s) * 2 + 1), *p = out;

	if (!out)
		return NULL;
	for (; *s; s++) {
		*p++ = *s;
		if (*s == ',')
			*p++ = ',';
	}
	*p = '\0';
	return out;
}

/* ---- prop.NAME=VALUE: device properties passed through (qemu_spec_props) ---- */

int qemu_spec_props(const char *owner, const char *spec, struct qemu_props *p, char *err,
		    size_t errlen)
{
	const char *s = spec;

	p->n = 0;
	while (*s) {
		size_t n = 0;
		const char *name, *eq;

		/* one item: up to a single comma (",," is a literal comma, as in QEMU) */
		while (s[n] && !(s[n] == ',' && s[n + 1] != ','))
			n += s[n] == ',' ? 2 : 1;
		if (n > 5 && strncmp(s, "prop.", 5) == 0) {
			int ok;

			name = s + 5;
			eq = memchr(name, '=', n - 5);
			ok = eq && eq > name && (size_t)(eq - name) < sizeof(p->name[0]) &&
			     (size_t)(s + n - eq - 1) < sizeof(p->value[0]) && eq + 1 < s + n &&
			     ((*name >= 'a' && *name <= 'z') || (*name >= 'A' && *name <= 'Z'));
			for (const char *c = name; ok && c < eq; c++)
				ok = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					    "0123456789-_.", *c) != NULL;
			for (const char *c = eq ? eq + 1 : name; ok && c < s + n; c++)
				ok = *c > ' ' && *c != ',' && *c < 0x7f;
			if (!ok) {
				snprintf(err, errlen, "%s: bad '%.*s' (prop.NAME=VALUE: NAME a device "
					 "property, VALUE without spaces or commas)", owner,
					 (int)(n < 100 ? n : 100), s);
				return KVMIO_EXIT_BADCONFIG;
			}
			if (p->n == QEMU_MAX_PROPS) {
				snprintf(err, errlen, "%s: at most %d prop. items", owner,
					 QEMU_MAX_PROPS);
				return KVMIO_EXIT_BADCONFIG;
			}
			for (int i = 0; i < p->n; i++)
				if (strlen(p->name[i]) == (size_t)(eq - name) &&
				    !strncmp(p->name[i], name, (size_t)(eq - name))) {
					snprintf(err, errlen, "%s: prop.%s given twice", owner,
						 p->name[i]);
					return KVMIO_EXIT_BADCONFIG;
				}
			snprintf(p->name[p->n], sizeof(p->name[0]), "%.*s", (int)(eq - name), name);
			snprintf(p->value[p->n], sizeof(p->value[0]), "%.*s", (int)(s + n - eq - 1),
				 eq + 1);
			p->n++;
		}
		s += n;
		if (*s == ',')
			s++;
	}
	return KVMIO_EXIT_OK;
}

/* 1 if the -device option list DEV sets property NAME itself. */
static int device_sets(const char *dev, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = strchr(dev, ','); p; p = strchr(p + 1, ','))
		if (!strncmp(p + 1, name, n) && p[1 + n] == '=')
			return 1;
	return 0;
}

/*
 * Add props to the last -device of argv[from..]: each checked against the binary's property
 * list of that model. 0, or -1 with the one-line message in err (owner: "--disk").
 */
static int apply_props(struct argv_builder *b, int from, const struct qemu_props *p,
		       const struct qemu_options *o, const char *owner, char *err, size_t errlen)
{
	int (*props)(const char *, const char *, char *, size_t) =
		o->device_props ? o->device_props : qemubin_device_props;
	const char *qemu = o->qemu ? o->qemu : "qemu-system-x86_64";
	char model[128], list[8192];
	int dev = -1;

	if (p->n == 0 || b->failed)
		return 0;
	for (int i = from; i + 1 < b->argc; i++)
		if (strcmp(b->argv[i], "-device") == 0)
			dev = i + 1;
	if (dev < 0) {
		snprintf(err, errlen, "%s: prop.%s: kvmio builds no -device for it", owner,
			 p->name[0]);
		return -1;
	}
	snprintf(model, sizeof(model), "%.*s", (int)strcspn(b->argv[dev], ","), b->argv[dev]);
	if (props(qemu, model, list, sizeof(list)) != 0) {
		snprintf(err, errlen, "%s: prop.%s: %s", owner, p->name[0], list);
		return -1;
	}
	for (int i = 0; i < p->n; i++) {
		char *s;

		if (strcmp(list, "*") != 0 && !qemubin_list_has(list, p->name[i])) {
			snprintf(err, errlen, "%s: %s has no property '%s' (valid: %s)", owner, model,
				 p->name[i], list);
			return -1;
		}
		if (device_sets(b->argv[dev], p->name[i]) ||
		    !strcmp(p->name[i], "id")) {
			snprintf(err, errlen, "%s: prop.%s: kvmio sets %s of %s itself (use its own "
				 "key)", owner, p->name[i], p->name[i], model);
			return -1;
		}
		if (asprintf(&s, "%s,%s=%s", b->argv[dev], p->name[i], p->value[i]) < 0) {
			b->failed = 1;
			return 0;
		}
		free(b->argv[dev]);
		b->argv[dev] = s;
	}
	return 0;
}

/* The first AHCI port --disk ahci takes: on q35 under UEFI the ESP sits on port 0 (ide.0). */
static int ahci_first_port(const char *firmware, const char *machine)
{
	return strcmp(firmware, "uefi") == 0 && strcmp(machine, "q35") == 0;
}

/* Check every --disk against the machine; 0 or 2 with err. disks[] filled. */
static int check_disks(const struct qemu_options *o, const char *firmware, const char *machine,
		       struct qemu_disk *disks, char *err, size_t errlen)
{
	int (*exists)(const char *) = o->path_exists ? o->path_exists : default_path_exists;
	int (*uring)(const char *) = o->io_uring_usable ? o->io_uring_usable : qemu_io_uring_usable;
	int nide = 0, nahci = 0;
	size_t rank = 0;  /* highest model rank so far */
	char e[400];

	if (o->ndisks > QEMU_MAX_DISKS) {
		snprintf(err, errlen, "--disk: at most %d disks", QEMU_MAX_DISKS);
		return KVMIO_EXIT_BADCONFIG;
	}
	for (int i = 0; i < o->ndisks; i++) {
		struct qemu_disk *d = &disks[i];

		if (qemu_parse_disk(o->disks[i], d, e, sizeof(e)) != 0) {
			snprintf(err, errlen, "%s", e);
			return KVMIO_EXIT_BADCONFIG;
		}
		if (strcmp(machine, "microvm") == 0 && d->model == QEMU_DISK_NVME) {
			snprintf(err, errlen, "--disk nvme: microvm has no PCI bus for an NVMe "
				 "controller (use -M pc or q35)");
			return KVMIO_EXIT_BADCONFIG;
		}
		if (d->model == QEMU_DISK_VIRTIO_SCSI && strcmp(machine, "microvm") == 0) {
			snprintf(err, errlen, "--disk virtio-scsi: microvm has no PCI (kvmio drives "
				 "virtio-scsi over PCI only; on microvm use virtio-blk, over virtio-mmio)");
			return KVMIO_EXIT_BADCONFIG;
		}
		if (d->model == QEMU_DISK_VIRTIO_SCSI && qemu_transport_is_mmio(d->transport)) {
			snprintf(err, errlen, "--disk virtio-scsi,transport=%s: kvmio drives virtio-scsi "
				 "over PCI only (legacy, modern or transitional)", d->transport);
			return KVMIO_EXIT_BADCONFIG;
		}
		if (strcmp(machine, "microvm") == 0 && d->model != QEMU_DISK_VIRTIO) {
			snprintf(err, errlen, "--disk %s: microvm has no PCI or IDE (only virtio-blk "
				 "runs there, over virtio-mmio)", disk_model_name(d->model));
			return KVMIO_EXIT_BADCONFIG;
		}
		if (strcmp(machine, "microvm") == 0 && d->model == QEMU_DISK_VIRTIO) {
			if (d->transport_given && !qemu_transport_is_mmio(d->transport)) {
				snprintf(err, errlen, "--disk virtio-blk,transport=%s: microvm has no PCI "
					 "(there virtio-blk is transport=mmio or mmio-modern)",
					 d->transport);
				return KVMIO_EXIT_BADCONFIG;
			}
			if (!d->transport_given)
				d->transport = "mmio";
			if (d->packed && !strcmp(d->packed, "on") && !strcmp(d->transport, "mmio")) {
				snprintf(err, errlen, "--disk: packed=on with transport=mmio (virtio-mmio "
					 "version 1): packed rings are virtio 1.x only (transport=mmio-modern)");
				return KVMIO_EXIT_BADCONFIG;
			}
		} else if (d->model == QEMU_DISK_VIRTIO && qemu_transport_is_mmio(d->transport)) {
			snprintf(err, errlen, "--disk virtio-blk,transport=%s: virtio-mmio needs -M "
				 "microvm (%s has PCI: legacy, modern or transitional)", d->transport,
				 machine);
			return KVMIO_EXIT_BADCONFIG;
		}
		if (disk_model_rank(d->model) < rank) {
			char models[128];

			disk_model_list(models, sizeof(models));
			snprintf(err, errlen, "--disk: give %s disks before %s disks (the guest numbers "
				 "disks by model in the order %s, so dev=N follows that order)",
				 disk_model_name(d->model), disk_models[rank].name, models);
			return KVMIO_EXIT_BADCONFIG;
		}
		for (int j = 0; j < i; j++)
			if (!strcmp(disks[j].iothread, d->iothread) && strcmp(d->iothread, "on") &&
			    strcmp(d->iothread, "off") && d->poll_max_ns != disks[j].poll_max_ns) {
				snprintf(err, errlen, "--disk: disks %d and %d share iothread %s but ask "
					 "for different poll-max-ns= (give each of them the same value)",
					 j, i, d->iothread);
				return KVMIO_EXIT_BADCONFIG;
			}
		rank = disk_model_rank(d->model);
		if (d->model == QEMU_DISK_IDE) {
			if (strcmp(machine, "pc") != 0) {
				snprintf(err, errlen, "--disk ide: IDE needs -M pc (q35 has AHCI, "
					 "microvm has no IDE)");
				return KVMIO_EXIT_BADCONFIG;
			}
			if (++nide > QEMU_MAX_IDE) {
				snprintf(err, errlen, "--disk: at most %d ide disks (ide.0 and ide.1, "
					 "two units each)", QEMU_MAX_IDE);
				return KVMIO_EXIT_BADCONFIG;
			}
		}
		if (d->model == QEMU_DISK_AHCI &&
		    ++nahci > QEMU_MAX_AHCI - ahci_first_port(firmware, machine)) {
			snprintf(err, errlen, "--disk: at most %d ahci disks (one per AHCI port%s)",
				 QEMU_MAX_AHCI - ahci_first_port(firmware, machine),
				 ahci_first_port(firmware, machine) ? "; the UEFI boot volume takes "
				 "port 0 on q35" : "");
			return KVMIO_EXIT_BADCONFIG;
		}
		if (d->file && !exists(d->file)) {
			snprintf(err, errlen, "--disk: backend file %.300s not found (make one: kvmio "
				 "mkdisk FILE SIZE)", d->file);
			return KVMIO_EXIT_BADCONFIG;
		}
		if (d->aio && strcmp(d->aio, "io_uring") == 0 &&
		    !uring(o->qemu ? o->qemu : "qemu-system-x86_64")) {
			snprintf(err, errlen, "--disk: aio=io_uring: this QEMU (%.200s) does not "
				 "support it (use threads or native)",
				 o->qemu ? o->qemu : "qemu-system-x86_64");
			return KVMIO_EXIT_BADCONFIG;
		}
	}
	return KVMIO_EXIT_OK;
}

/* ---- iothreads: the one place for iothread=on|off|NAME (every virtio storage device) ---- */

#define QEMU_MAX_IOTHREADS QEMU_MAX_DISKS /* at most one per device */

struct iothreads {
	char id[QEMU_MAX_IOTHREADS][QEMU_IOTHREAD_MAX + 16];
	long long poll_max_ns[QEMU_MAX_IOTHREADS]; /* as the first disk naming it asked; -1 */
	int n;
};

/*
 * The device property of an iothread SETTING (qemu_parse_iothread) into prop: "" for off (QEMU's
 * main loop), else ",iothread=ID", with "-object iothread,id=ID" added before ID's first device.
 * on: ID is iothread.OWNER, the device's own; NAME: ID is NAME, one object for every device
 * naming it.
 */
static void iothread_property(struct argv_builder *b, struct iothreads *t, const char *setting,
			      long long poll_max_ns, const char *owner, char *prop, size_t len)
{
	char id[sizeof(t->id[0])];
	int seen = 0;

	prop[0] = '\0';
	if (strcmp(setting, "off") == 0)
		return;
	if (strcmp(setting, "on") == 0)
		snprintf(id, sizeof(id), "iothread.%s", owner);
	else
		snprintf(id, sizeof(id), "%s", setting);
	for (int i = 0; i < t->n; i++)
		if (strcmp(t->id[i], id) == 0) {
			seen = 1;
			if (poll_max_ns >= 0 && t->poll_max_ns[i] != poll_max_ns)
				b->failed = 1; /* qemu_check_disks refused this before */
		}
	if (!seen) {
		if (t->n == QEMU_MAX_IOTHREADS) {
			b->failed = 1;
			return;
		}
		t->poll_max_ns[t->n] = poll_max_ns;
		snprintf(t->id[t->n++], sizeof(t->id[0]), "%s", id);
		add(b, "-object");
		if (poll_max_ns >= 0)
			add(b, "iothread,id=%s,poll-max-ns=%lld", id, poll_max_ns);
		else
			add(b, "iothread,id=%s", id);
	}
	snprintf(prop, len, ",iothread=%s", id);
}

static void add_disk(struct argv_builder *b, const struct qemu_disk *d, int k, int ide_index,
		     const char *ahci_bus, struct iothreads *iothreads)
{
	const char *ro = d->readonly ? ",read-only=on" : "";
	const char *wce = NULL;
	char lower[64];

	if (d->file) {
		int direct = !strcmp(d->cache, "none") || !strcmp(d->cache, "directsync");
		int noflush = !strcmp(d->cache, "unsafe");
		char *fn = qemu_keyval_escape(d->file);

		if (!fn) {
			b->failed = 1;
			return;
		}
		wce = !strcmp(d->cache, "writethrough") || !strcmp(d->cache, "directsync") ? "off"
			: "on";
		add(b, "-blockdev");
		add(b, "driver=file,node-name=disk%d-file,filename=%s,aio=%s,cache.direct=%s,"
		    "cache.no-flush=%s%s", k, fn, d->aio, direct ? "on" : "off",
		    noflush ? "on" : "off", ro);
		free(fn);
		snprintf(lower, sizeof(lower), "disk%d-file", k);
	} else {
		char lat[48] = "";

		if (d->latency_ns >= 0)
			snprintf(lat, sizeof(lat), ",latency-ns=%lld", d->latency_ns);
		add(b, "-blockdev");
		/* With inject=, a raw format node sits on top so blkdebug sees read_aio/write_aio. */
		add(b, "driver=null-co,node-name=disk%d%s,size=%llu,read-zeroes=on%s%s", k,
		    d->inject ? "-null" : "", d->size, lat, ro);
		snprintf(lower, sizeof(lower), "disk%d-null", k);
	}
	if (d->inject) {
		int rd = strcmp(d->inject, "eio-read") == 0;

		add(b, "-blockdev");
		add(b, "driver=blkdebug,node-name=disk%d-dbg,image=%s,inject-error.0.event=%s,"
		    "inject-error.0.iotype=%s,inject-error.0.errno=5%s", k, lower,
		    rd ? "read_aio" : "write_aio", rd ? "read" : "write", ro);
		snprintf(lower, sizeof(lower), "disk%d-dbg", k);
	}
	if (d->file || d->inject) {
		add(b, "-blockdev");
		add(b, "driver=%s,node-name=disk%d,file=%s%s", d->file ? d->format : "raw", k, lower,
		    ro);
	}
	if (d->model == QEMU_DISK_IDE) {
		add(b, "-device");
		add(b, "ide-hd,drive=disk%d,bus=ide.%d,unit=%d%s%s", k, ide_index / 2, ide_index % 2,
		    wce ? ",write-cache=" : "", wce ? wce : "");
	} else if (d->model == QEMU_DISK_AHCI) {
		/* one disk per AHCI port: the port's bus is ahci_bus (ide.N on q35, ahci0.N on pc) */
		add(b, "-device");
		add(b, "ide-hd,drive=disk%d,bus=%s%s%s", k, ahci_bus, wce ? ",write-cache=" : "",
		    wce ? wce : "");
	} else if (d->model == QEMU_DISK_NVME) {
		/* One controller per disk, its namespace 1 on the drive; the serial is required. */
		add(b, "-device");
		add(b, "nvme,serial=kvmio-disk%d,drive=disk%d,addr=0x%x%s%s", k, k,
		    QEMU_NVME_SLOT0 + k, wce ? ",write-cache=" : "", wce ? wce : "");
	} else {
		int legacy_off = strcmp(d->transport, "modern") == 0;
		int modern_off = strcmp(d->transport, "legacy") == 0;
		char owner[16], iothread[QEMU_IOTHREAD_MAX + 32], rings[64] = "";

		snprintf(owner, sizeof(owner), "disk%d", k);
		iothread_property(b, iothreads, d->iothread, d->poll_max_ns, owner, iothread,
				  sizeof(iothread));
		if (d->packed) /* QEMU's property names: packed, num-queues */
			snprintf(rings, sizeof(rings), ",packed=%s", d->packed);
		if (d->queues)
			snprintf(rings + strlen(rings), sizeof(rings) - strlen(rings),
				 ",num-queues=%u", d->queues);
		if (d->model == QEMU_DISK_VIRTIO_SCSI) {
			/* A controller per disk, as virtio-blk has a device per disk (its own queues
			 * and iothread); the disk is target 0, LUN 0 on its bus. */
			add(b, "-device");
			add(b, "virtio-scsi-pci,id=scsi%d,addr=0x%x,disable-legacy=%s,disable-modern=%s%s%s",
			    k, QEMU_VIRTIO_SLOT0 + k, legacy_off ? "on" : "off",
			    modern_off ? "on" : "off", iothread, rings);
			add(b, "-device");
			add(b, "scsi-hd,drive=disk%d,bus=scsi%d.0,channel=0,scsi-id=0,lun=0%s%s", k, k,
			    wce ? ",write-cache=" : "", wce ? wce : "");
			return;
		}
		add(b, "-device");
		if (qemu_transport_is_mmio(d->transport)) /* microvm: the N-th virtio-mmio transport */
			add(b, "virtio-blk-device,drive=disk%d,bus=virtio-mmio-bus.%d%s%s%s%s", k,
			    d->mmio_bus, wce ? ",write-cache=" : "", wce ? wce : "", iothread, rings);
		else
			add(b, "virtio-blk-pci,drive=disk%d,addr=0x%x,disable-legacy=%s,disable-modern=%s%s%s%s%s",
			    k, QEMU_VIRTIO_SLOT0 + k, legacy_off ? "on" : "off", modern_off ? "on" : "off",
			    wce ? ",write-cache=" : "", wce ? wce : "", iothread, rings);
	}
}

int qemu_loop_needs_rxdev(const struct qemu_options *o)
{
	int loops = 0;

	for (int i = 0; i < o->nnets; i++) {
		struct qemu_nic n;
		char e[256];

		if (net_parse_spec(o->nets[i], &n, e, sizeof(e)) == 0 && n.topology == NET_LOOP)
			loops++;
	}
	return loops == 2 && !net_guest_has_option(o->guest_args, o->nguest_args, "rxdev");
}

/* Check every --net against the machine; 0 or 2 with err. nics[] and vhost[] filled. */
static int check_nets(const struct qemu_options *o, const char *machine, const char *accel,
		      struct qemu_nic *nics, int *vhost, char *err, size_t errlen)
{
	int (*tap_ok)(void) = o->tap_usable ? o->tap_usable : net_tap_possible;
	int (*vhost_ok)(void) = o->vhost_usable ? o->vhost_usable : net_vhost_possible;
	int ntap = 0, nloop = 0;
	char e[400];

	if (o->nnets > QEMU_MAX_NICS) {
		snprintf(err, errlen, "--net: at most %d NICs (PCI slots 0x%x..0x%x)", QEMU_MAX_NICS,
			 QEMU_NIC_SLOT0, QEMU_NIC_SLOT0 + QEMU_MAX_NICS - 1);
		return KVMIO_EXIT_BADCONFIG;
	}
	for (int i = 0; i < o->nnets; i++) {
		struct qemu_nic *n = &nics[i];

		if (net_parse_spec(o->nets[i], n, e, sizeof(e)) != 0) {
			snprintf(err, errlen, "%s", e);
			return KVMIO_EXIT_BADCONFIG;
		}
		if (strcmp(machine, "microvm") == 0) {
			if (strcmp(n->model, "virtio-net") != 0) {
				snprintf(err, errlen, "--net %s: microvm has no PCI, so no emulated NIC "
					 "(use virtio-net: it runs over virtio-mmio there)", n->model);
				return KVMIO_EXIT_BADCONFIG;
			}
			if (n->transport_given && !qemu_transport_is_mmio(n->transport)) {
				snprintf(err, errlen, "--net virtio-net,transport=%s: microvm has no PCI "
					 "(there virtio-net is transport=mmio or mmio-modern)",
					 n->transport);
				return KVMIO_EXIT_BADCONFIG;
			}
			if (!n->transport_given)
				n->transport = "mmio";
			if (n->packed && !strcmp(n->packed, "on") && !strcmp(n->transport, "mmio")) {
				snprintf(err, errlen, "--net: packed=on with transport=mmio (virtio-mmio "
					 "version 1): packed rings are virtio 1.x only (transport=mmio-modern)");
				return KVMIO_EXIT_BADCONFIG;
			}
		} else if (n->transport && qemu_transport_is_mmio(n->transport)) {
			snprintf(err, errlen, "--net virtio-net,transport=%s: virtio-mmio needs -M "
				 "microvm (%s has PCI: legacy, modern or transitional)", n->transport,
				 machine);
			return KVMIO_EXIT_BADCONFIG;
		}
		vhost[i] = 0;
		if (n->topology == NET_LOOP)
			nloop++;
		if (n->topology == NET_TAP) {
			if (++ntap > 1) {
				snprintf(err, errlen, "--net: at most one topology=tap NIC");
				return KVMIO_EXIT_BADCONFIG;
			}
			if (!tap_ok()) {
				snprintf(err, errlen, "tap topology needs root and /dev/net/tun");
				return KVMIO_EXIT_BADCONFIG;
			}
			if (n->vhost == 1 && !vhost_ok()) {
				snprintf(err, errlen, "--net: vhost=on: no /dev/vhost-net");
				return KVMIO_EXIT_BADCONFIG;
			}
			vhost[i] = n->vhost == 1 || (n->vhost < 0 && !strcmp(n->model, "virtio-net") &&
						      !strcmp(accel, "kvm") && vhost_ok());
		}
	}
	if (nloop == 1) {
		for (int i = 0; i < o->nnets; i++)
			if (nics[i].topology == NET_LOOP)
				snprintf(err, errlen, "--net: a topology=loop NIC needs a second one on its "
					 "hub to talk to: give --net %s,topology=loop twice", nics[i].model);
		return KVMIO_EXIT_BADCONFIG;
	}
	return KVMIO_EXIT_OK;
}

/*
 * The boot volume: the ESP directory (uefi), or the --image disk (its drive added here). On pc
 * with --disk the guest finds PIIX IDE disks first, so the boot volume goes on an AHCI
 * controller (SeaBIOS and OVMF boot from it) and --disk N stays dev=N; else on ide.0 (on q35
 * the ICH9 AHCI controller).
 */
static void add_esp_device(struct argv_builder *b, const struct qemu_options *o,
			   const char *machine)
{
	if (o->boot_image) {
		char *fn = qemu_keyval_escape(o->boot_image);

		if (!fn) {
			b->failed = 1;
			return;
		}
		add(b, "-drive");
		add(b, "if=none,id=esp,format=raw,snapshot=on,file=%s", fn);
		free(fn);
	}
	/* --image: the firmware must boot this disk, not a --disk found before it (SeaBIOS
	 * would give the IDE disk drive 0x80 and stop there): bootindex puts it first */
	if (o->ndisks > 0 && strcmp(machine, "pc") == 0) {
		add(b, "-device");
		add(b, "ahci,id=espahci,addr=0x1f");
		add(b, "-device");
		add(b, "ide-hd,drive=esp,bus=espahci.0,serial=%s%s", KVMIO_ESP_SERIAL,
		    o->boot_image ? ",bootindex=0" : "");
	} else {
		add(b, "-device");
		add(b, "ide-hd,drive=esp,bus=ide.0,serial=%s%s", KVMIO_ESP_SERIAL,
		    o->boot_image ? ",bootindex=0" : "");
	}
}

int qemu_transport_is_mmio(const char *transport)
{
	return transport && (!strcmp(transport, "mmio") || !strcmp(transport, "mmio-modern"));
}

/*
 * Give every virtio-mmio disk, then NIC, its transport (mmio_bus) in option order. *nmmio: how
 * many; *modern: 1 if they are version 2. 0, or 2 with err: more than QEMU_MMIO_TRANSPORTS, or
 * legacy and modern mixed (one -global decides for every transport).
 */
static int assign_mmio(struct qemu_disk *disks, int ndisks, struct qemu_nic *nics, int nnics,
		       int *nmmio, int *modern, char *err, size_t errlen)
{
	int legacy = 0;

	*nmmio = *modern = 0;
	for (int i = 0; i < ndisks + nnics; i++) {
		const char *t = i < ndisks ? disks[i].transport : nics[i - ndisks].transport;

		if (!qemu_transport_is_mmio(t))
			continue;
		if (*nmmio == QEMU_MMIO_TRANSPORTS) {
			snprintf(err, errlen, "--disk/--net: at most %d virtio-mmio devices (microvm's "
				 "transports without ACPI)", QEMU_MMIO_TRANSPORTS);
			return KVMIO_EXIT_BADCONFIG;
		}
		if (i < ndisks)
			disks[i].mmio_bus = *nmmio;
		else
			nics[i - ndisks].mmio_bus = *nmmio;
		(*nmmio)++;
		if (!strcmp(t, "mmio-modern"))
			*modern = 1;
		else
			legacy = 1;
	}
	if (legacy && *modern) {
		snprintf(err, errlen, "--disk/--net: transport=mmio and mmio-modern mixed: QEMU sets "
			 "the virtio-mmio version for every transport at once (-global "
			 "virtio-mmio.force-legacy)");
		return KVMIO_EXIT_BADCONFIG;
	}
	return KVMIO_EXIT_OK;
}

int qemu_build_command(const struct qemu_options *o, struct qemu_command *cmd, char *err,
		       size_t errlen)
{
	int nmmio = 0, mmio_modern = 0;
	struct qemu_nic *nics = NULL;
	int *vhost = NULL;
	char netns[64];
	struct qemu_disk *disks = NULL;
	const char *firmware = o->firmware ? o->firmware : "bios";
	const char *accel = o->accel ? o->accel : "auto";
	struct kvm_flavour kvm;
	struct argv_builder b = { 0 };
	const char *machine, *image;
	char *guest;
	struct qemu_props *props = NULL;   /* per --disk, then per --net */
	int prop_failed = 0;

	memset(cmd, 0, sizeof(*cmd));
	image = qemu_image_name(firmware);
	if (!image) {
		snprintf(err, errlen, "unknown firmware '%s' (bios, uefi or pvh)", firmware);
		return KVMIO_EXIT_BADCONFIG;
	}
	machine = o->machine ? o->machine : qemu_default_machine(firmware);
	if (strcmp(machine, "pc") && strcmp(machine, "q35") && strcmp(machine, "microvm")) {
		snprintf(err, errlen, "unknown machine '%s' (pc, q35 or microvm)", machine);
		return KVMIO_EXIT_BADCONFIG;
	}
	if (strcmp(machine, "microvm") == 0 && strcmp(firmware, "pvh") != 0) {
		snprintf(err, errlen, "firmware %s cannot boot machine microvm: use --firmware pvh",
			 firmware);
		return KVMIO_EXIT_BADCONFIG;
	}
	if (o->boot_image && strcmp(firmware, "pvh") == 0) {
		snprintf(err, errlen, "--image boots through firmware: --firmware bios or uefi (pvh "
			 "has none)");
		return KVMIO_EXIT_BADCONFIG;
	}
	if (o->boot_image && o->nguest_args > 0) {
		snprintf(err, errlen, "--image: the guest options are in the image (kvmio image FILE "
			 "--cmdline \"OPTIONS\"), not on this command line");
		return KVMIO_EXIT_BADCONFIG;
	}
	if (strcmp(accel, "tcg") == 0) {
		/* tcg asks nothing of /dev/kvm */
		memset(&kvm, 0, sizeof(kvm));
		kvm.exec = EXEC_UNKNOWN;
	} else {
		(o->kvm_flavour ? o->kvm_flavour : qemu_host_kvm_flavour)(&kvm);
	}
	if (host_accel_choose(accel, &kvm, &accel, cmd->accel_why, sizeof(cmd->accel_why))) {
		snprintf(err, errlen, "%s", cmd->accel_why);
		return KVMIO_EXIT_BADCONFIG;
	}
	snprintf(cmd->accel_label, sizeof(cmd->accel_label), "%s", host_accel_label(accel, &kvm));
	cmd->exec = host_accel_exec(accel, &kvm);
	if (o->ndisks > 0) {
		disks = calloc((size_t)o->ndisks, sizeof(*disks));
		if (!disks) {
			snprintf(err, errlen, "out of memory");
			return KVMIO_EXIT_BADCONFIG;
		}
		if (check_disks(o, firmware, machine, disks, err, errlen) != 0) {
			free(disks);
			return KVMIO_EXIT_BADCONFIG;
		}
	}
	if (o->nnets > 0) {
		nics = calloc((size_t)o->nnets, sizeof(*nics));
		vhost = calloc((size_t)o->nnets, sizeof(*vhost));
		if (!nics || !vhost || check_nets(o, machine, accel, nics, vhost, err, errlen)) {
			if (!nics || !vhost)
				snprintf(err, errlen, "out of memory");
			free(nics);
			free(vhost);
			free(disks);
			return KVMIO_EXIT_BADCONFIG;
		}
	}
	props = calloc((size_t)(o->ndisks + o->nnets) + 1, sizeof(*props));
	for (int i = 0; props && i < o->ndisks + o->nnets; i++)
		if (qemu_spec_props(i < o->ndisks ? "--disk" : "--net",
				    i < o->ndisks ? o->disks[i] : o->nets[i - o->ndisks], &props[i],
				    err, errlen) != 0) {
			free(props);
			free(nics);
			free(vhost);
			free(disks);
			return KVMIO_EXIT_BADCONFIG;
		}
	if (!props)
		b.failed = 1;
	int mmio_rc = assign_mmio(disks, o->ndisks, nics, o->nnets, &nmmio, &mmio_modern, err,
				  errlen);

	if (mmio_rc == KVMIO_EXIT_OK && nmmio && o->no_debug_exit) {
		snprintf(err, errlen, "--no-debug-exit with virtio-mmio devices: microvm lists them "
			 "only without ACPI (acpi=off), so the guest would have no ACPI power-off");
		mmio_rc = KVMIO_EXIT_BADCONFIG;
	}
	if (mmio_rc != KVMIO_EXIT_OK) {
		free(props);
		free(nics);
		free(vhost);
		free(disks);
		return KVMIO_EXIT_BADCONFIG;
	}
	if (o->netns)
		snprintf(netns, sizeof(netns), "%s", o->netns);
	else
		net_netns_name(netns, sizeof(netns));
	for (int i = 0; i < o->nnets; i++)
		if (nics[i].topology == NET_TAP) {
			cmd->has_tap = 1;
			net_tap_name(0, cmd->tap, sizeof(cmd->tap));
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
	if (o->boot_image)
		snprintf(cmd->image, sizeof(cmd->image), "%s", o->boot_image);

	if (cmd->has_tap) {
		/* QEMU runs inside the private namespace, where the tap device lives. */
		add(&b, "ip");
		add(&b, "netns");
		add(&b, "exec");
		add(&b, "%s", netns);
	}
	add(&b, "%s", o->qemu ? o->qemu : "qemu-system-x86_64");
	add(&b, "-nodefaults");
	add(&b, "-nographic");
	add(&b, "-no-reboot");
	add(&b, "-name");
	add(&b, "kvmio,debug-threads=on");   /* thread names say which is which (boot/pin.h) */
	add(&b, "-serial");
	add(&b, "stdio");
	add(&b, "-monitor");
	add(&b, "none");
	add(&b, "-M");
	/* microvm appends virtio_mmio.device= entries to the command line only without ACPI */
	add(&b, "%s%s", cmd->machine, nmmio ? ",acpi=off" : "");
	if (mmio_modern) {
		add(&b, "-global");
		add(&b, "virtio-mmio.force-legacy=false");
	}
	add(&b, "-accel");
	add(&b, "%s", cmd->accel);
	add(&b, "-cpu");
	add(&b, "%s", strcmp(cmd->accel, "kvm") == 0 ? "host" : "max");
	if (strcmp(cmd->accel, "tcg") == 0) {
		add(&b, "-smp"); /* the guest's barriers kept (QEMU_TCG_SMP) */
		add(&b, "%s", QEMU_TCG_SMP);
	}
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
		if (!o->boot_image) {
			add(&b, "-drive");
			add(&b, "if=none,id=esp,format=raw,snapshot=on,file=fat:%s",
			    o->esp_dir ? o->esp_dir : "esp");
		}
		add_esp_device(&b, o, cmd->machine);
	} else if (o->boot_image) {
		add_esp_device(&b, o, cmd->machine); /* SeaBIOS boots the same disk */
	} else {
		add(&b, "-kernel");
		add(&b, "%s", cmd->image);
		guest = qemu_join_guest_args(o->guest_args, o->nguest_args);
		if (!guest) {
			b.failed = 1;
		} else if (guest[0] || qemu_loop_needs_rxdev(o)) {
			add(&b, "-append");
			add(&b, "%s%s%s", guest, guest[0] && qemu_loop_needs_rxdev(o) ? " " : "",
			    qemu_loop_needs_rxdev(o) ? "rxdev=1" : "");
		}
		free(guest);
	}
	{
		struct iothreads iothreads = { .n = 0 };
		size_t len = 0;

		int pc = strcmp(cmd->machine, "pc") == 0;
		int port = ahci_first_port(cmd->firmware, cmd->machine);

		for (int i = 0, nide = 0; i < o->ndisks; i++) {
			int from = b.argc;
			char bus[32] = "";

			if (disks[i].model == QEMU_DISK_AHCI) {
				/* q35: its built-in ich9-ahci (00:1f.2); pc: an ahci of our own */
				if (pc && port == 0) {
					add(&b, "-device");
					add(&b, "ahci,id=ahci0,addr=0x%x", QEMU_AHCI_SLOT);
				}
				snprintf(bus, sizeof(bus), "%s.%d", pc ? "ahci0" : "ide", port++);
			}
			add_disk(&b, &disks[i], i, nide, bus, &iothreads);
			if (!prop_failed && props &&
			    apply_props(&b, from, &props[i], o, "--disk", err, errlen) != 0)
				prop_failed = 1;
			nide += disks[i].model == QEMU_DISK_IDE;
			len += (size_t)snprintf(cmd->iothreads + len, sizeof(cmd->iothreads) - len,
						"%s%s", i ? "," : "", disks[i].iothread);
		}
	}
	free(disks);
	for (int i = 0; i < o->nnets; i++) {
		char netdev[8400], device[256];

		if (net_qemu_args(&nics[i], i, o->net_dir ? o->net_dir : "NETDIR", cmd->tap, vhost[i],
				  netdev, sizeof(netdev), device, sizeof(device)) != 0) {
			snprintf(err, errlen, "--net: socket directory name too long or holds a comma");
			free(props);
			free(nics);
			free(vhost);
			qemu_command_free(cmd);
			b.failed = 0;
			for (int k = 0; k < b.argc; k++)
				free(b.argv[k]);
			free(b.argv);
			return KVMIO_EXIT_BADCONFIG;
		}
		add(&b, "-netdev");
		add(&b, "%s", netdev);
		add(&b, "-device");
		add(&b, "%s", device);
		if (!prop_failed && props &&
		    apply_props(&b, b.argc - 2, &props[o->ndisks + i], o, "--net", err, errlen) != 0)
			prop_failed = 1;
	}
	free(nics);
	free(vhost);
	for (int i = 0; i < o->nqemu_args; i++)
		add(&b, "%s", o->qemu_args[i]);
	free(props);
	cmd->argv = b.argv;
	cmd->argc = b.argc;
	if (prop_failed) {
		qemu_command_free(cmd);
		return KVMIO_EXIT_BADCONFIG;
	}
	if (b.failed) {
		qemu_command_free(cmd);
		snprintf(err, errlen, "out of memory");
		return KVMIO_EXIT_BADCONFIG;
	}
	return KVMIO_EXIT_OK;
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
