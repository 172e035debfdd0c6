/* Scratch disks: `kvmio mkdisk` and `kvmio verify-disk` (common/disklabel.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include "boot/disk.h"
#include "boot/launch.h"
#include "lib/clock.h"
#include "lib/file.h"
#include "lib/args.h"
#include "proto/proto.h"
#include "boot/qemu.h"
#include "crc32.h"

_Static_assert(sizeof(struct kvmio_label) == 48, "label layout");
_Static_assert(sizeof(struct kvmio_stamp) == 32, "stamp layout");

void disk_label_make(struct kvmio_label *l, uint64_t size, uint64_t id)
{
	memset(l, 0, sizeof(*l));
	memcpy(l->magic, DISK_LABEL_MAGIC, sizeof(l->magic));
	l->version = DISK_LABEL_VERSION;
	l->header_size = sizeof(*l);
	l->size_bytes = size;
	l->id = id;
	l->crc = 0;
	l->crc = crc32_update(0, l, sizeof(*l));
}

int disk_label_check(const uint8_t *sector0, struct kvmio_label *out, char *why, size_t whylen)
{
	struct kvmio_label l;
	uint32_t crc;

	memcpy(&l, sector0, sizeof(l));
	if (out)
		*out = l;
	if (memcmp(l.magic, DISK_LABEL_MAGIC, sizeof(l.magic)) != 0) {
		snprintf(why, whylen, "no kvmio label in sector 0 (magic)");
		return -1;
	}
	if (l.version != DISK_LABEL_VERSION || l.header_size != sizeof(l)) {
		snprintf(why, whylen, "label version %" PRIu32 " header_size %" PRIu32
			 " (expected %d, %zu)", l.version, l.header_size, DISK_LABEL_VERSION,
			 sizeof(l));
		return -1;
	}
	crc = l.crc;
	l.crc = 0;
	if (crc32_update(0, &l, sizeof(l)) != crc) {
		snprintf(why, whylen, "label crc mismatch (sector 0 was changed)");
		return -1;
	}
	why[0] = '\0';
	return 0;
}

void disk_stamp_make(uint8_t *sector, uint64_t seed, uint64_t lba, uint32_t pass)
{
	struct kvmio_stamp s = { DISK_STAMP_MAGIC, lba, seed, pass, 0 };

	for (uint32_t i = sizeof(s); i < DISK_SECTOR; i++)
		sector[i] = stamp_fill(seed, lba, pass, i);
	memcpy(sector, &s, sizeof(s));
	s.crc = crc32_update(0, sector, DISK_SECTOR);
	memcpy(sector, &s, sizeof(s));
}

enum stamp_state disk_stamp_check(const uint8_t *sector, uint64_t lba, uint64_t seed,
				  int64_t pass, char *why, size_t whylen)
{
	uint8_t copy[DISK_SECTOR];
	struct kvmio_stamp s;
	uint32_t crc;

	memcpy(&s, sector, sizeof(s));
	if (s.magic != DISK_STAMP_MAGIC)
		return STAMP_NONE;
	memcpy(copy, sector, DISK_SECTOR);
	memset(copy + offsetof(struct kvmio_stamp, crc), 0, sizeof(s.crc));
	crc = crc32_update(0, copy, DISK_SECTOR);
	if (crc != s.crc) {
		snprintf(why, whylen, "crc %08" PRIx32 ", sector says %08" PRIx32, crc, s.crc);
		return STAMP_BAD;
	}
	if (s.lba != lba) {
		snprintf(why, whylen, "stamp says lba %" PRIu64 " (misplaced write)", s.lba);
		return STAMP_BAD;
	}
	if (s.seed != seed) {
		snprintf(why, whylen, "seed %" PRIu64 ", expected %" PRIu64, s.seed, seed);
		return STAMP_BAD;
	}
	if (pass >= 0 && s.pass != (uint64_t)pass) {
		snprintf(why, whylen, "pass %" PRIu32 ", expected %" PRId64, s.pass, pass);
		return STAMP_BAD;
	}
	for (uint32_t i = sizeof(s); i < DISK_SECTOR; i++) {
		uint8_t want = stamp_fill(seed, lba, s.pass, i);

		if (sector[i] != want) {
			snprintf(why, whylen, "byte %" PRIu32 " is 0x%02x, expected 0x%02x", i,
				 sector[i], want);
			return STAMP_BAD;
		}
	}
	return STAMP_OK;
}

static void note_bad(struct disk_verify_result *res, uint64_t lba, const char *why)
{
	res->bad++;
	if (res->nbad_listed < DISK_VERIFY_MAX_BAD) {
		res->bad_list[res->nbad_listed].lba = lba;
		snprintf(res->bad_list[res->nbad_listed].why, sizeof(res->bad_list[0].why), "%s", why);
		res->nbad_listed++;
	}
}

static int read_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, off + (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

int disk_verify_raw(const char *path, uint64_t seed, int64_t pass, struct disk_verify_result *res,
		    char *err, size_t errlen)
{
	enum { CHUNK = 1 << 20 };
	uint8_t sector0[DISK_SECTOR];
	uint8_t *buf = NULL;
	struct stat st;
	uint64_t end_sector, s;
	int fd, rc = KVMIO_EXIT_IO;

	memset(res, 0, sizeof(*res));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return KVMIO_EXIT_IO;
	}
	res->size = (uint64_t)st.st_size;
	if (res->size < DISK_SECTOR || read_full(fd, sector0, DISK_SECTOR, 0) != 0) {
		snprintf(err, errlen, "%s: cannot read sector 0 (%" PRIu64 " bytes)", path, res->size);
		goto out;
	}
	res->label_ok = disk_label_check(sector0, &res->label, res->label_why,
					 sizeof(res->label_why)) == 0;
	buf = malloc(CHUNK);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	end_sector = res->size / DISK_SECTOR;
	s = DISK_DATA_START / DISK_SECTOR;
	while (s < end_sector) {
		off_t data = lseek(fd, (off_t)(s * DISK_SECTOR), SEEK_DATA), hole;
		uint64_t first, last;

		if (data < 0) {
			if (errno != ENXIO && errno != EINVAL) {
				snprintf(err, errlen, "%s: %s", path, strerror(errno));
				goto out;
			}
			if (errno == EINVAL) /* no SEEK_DATA here: read everything */
				data = (off_t)(s * DISK_SECTOR), hole = (off_t)res->size;
			else
				break; /* only a hole up to the end */
		} else {
			hole = lseek(fd, data, SEEK_HOLE);
			if (hole < 0)
				hole = (off_t)res->size;
		}
		first = (uint64_t)data / DISK_SECTOR;
		last = ((uint64_t)hole + DISK_SECTOR - 1) / DISK_SECTOR;
		if (first < s)
			first = s;
		if (last > end_sector)
			last = end_sector;
		res->unstamped += first - s;
		for (uint64_t at = first; at < last;) {
			uint64_t n = last - at;

			if (n > CHUNK / DISK_SECTOR)
				n = CHUNK / DISK_SECTOR;
			if (read_full(fd, buf, n * DISK_SECTOR, (off_t)(at * DISK_SECTOR)) != 0) {
				snprintf(err, errlen, "%s: read error at sector %" PRIu64, path, at);
				goto out;
			}
			for (uint64_t k = 0; k < n; k++) {
				char why[96];

				switch (disk_stamp_check(buf + k * DISK_SECTOR, at + k, seed, pass, why,
							 sizeof(why))) {
				case STAMP_OK:
					res->ok++;
					break;
				case STAMP_BAD:
					note_bad(res, at + k, why);
					break;
				default:
					res->unstamped++;
				}
			}
			at += n;
		}
		s = last;
	}
	if (s < end_sector)
		res->unstamped += end_sector - s;
	rc = KVMIO_EXIT_OK;
out:
	free(buf);
	close(fd);
	return rc;
}

int disk_verify_verdict(const struct disk_verify_result *res, char *why, size_t whylen)
{
	if (!res->label_ok) {
		snprintf(why, whylen, "label broken: %s", res->label_why);
		return KVMIO_EXIT_FAILED;
	}
	if (res->bad) {
		snprintf(why, whylen, "%" PRIu64 " bad sector%s (first: lba %" PRIu64 ": %s)",
			 res->bad, res->bad == 1 ? "" : "s", res->bad_list[0].lba,
			 res->bad_list[0].why);
		return KVMIO_EXIT_FAILED;
	}
	if (res->ok == 0) {
		snprintf(why, whylen, "no stamped sectors: nothing the guest wrote reached the file");
		return KVMIO_EXIT_FAILED;
	}
	why[0] = '\0';
	return KVMIO_EXIT_OK;
}

const char *disk_qemu_img(void)
{
	const char *e = getenv("KVMIO_QEMU_IMG");

	return e && *e ? e : "qemu-img";
}

/* Run qemu-img; 0, or -1 with its first stderr line (or why it did not run) in err. */
static int run_qemu_img(char *const *argv, char *err, size_t errlen)
{
	struct launch_result r;
	int rc = 0;

	launch_run(argv, 3600, &r);
	if (!r.started) {
		snprintf(err, errlen, "cannot run %s: %s (install qemu-utils)", argv[0],
			 strerror(r.exec_errno));
		rc = -1;
	} else if (!r.exited || r.exit_code != 0) {
		char *nl = r.err ? strchr(r.err, '\n') : NULL;

		if (nl)
			*nl = '\0';
		snprintf(err, errlen, "%s %s failed: %s", argv[0], argv[1],
			 r.err && r.err[0] ? r.err : "no message");
		rc = -1;
	}
	launch_result_free(&r);
	return rc;
}

void disk_filler_make(uint8_t *buf, size_t len, uint64_t *state)
{
	uint64_t x;

	if (!*state)
		*state = DISK_FILLER_SEED0;
	for (size_t i = 0; i < len; i += 8) {
		x = xorshift64_next(state);
		size_t n = len - i < 8 ? len - i : 8;
		memcpy(buf + i, &x, n);
		/* never a stamp: a sector that starts with DISK_STAMP_MAGIC would be checked as one */
		if (i % DISK_SECTOR == 0 && n == 8 && x == DISK_STAMP_MAGIC)
			buf[i] ^= 1;
	}
}

/* Write the whole file (size bytes) with the filler, from a stream seeded by id. 0, or errno. */
static int write_filler(int fd, uint64_t size, uint64_t id)
{
	enum { CHUNK = 1 << 20 };
	uint8_t *buf = malloc(CHUNK);
	uint64_t state = id ^ DISK_FILLER_SEED0;
	int e = 0;

	if (!buf)
		return ENOMEM;
	for (uint64_t off = 0; off < size && !e; off += CHUNK) {
		size_t n = size - off < CHUNK ? (size_t)(size - off) : CHUNK;

		disk_filler_make(buf, n, &state);
		if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n)
			e = errno ? errno : EIO;
	}
	free(buf);
	return e;
}

/* Labelled raw image at path (created with flags): sparse, or with `full` every byte written
 * (disk_filler_make). 0, or errno. */
static int write_raw(const char *path, uint64_t size, uint64_t id, int flags, int full)
{
	uint8_t sector0[DISK_SECTOR] = { 0 };
	struct kvmio_label l;
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, 0644), e = 0;

	if (fd < 0)
		return errno;
	disk_label_make(&l, size, id);
	memcpy(sector0, &l, sizeof(l));
	if (ftruncate(fd, (off_t)size) != 0)
		e = errno;
	if (!e && full)
		e = write_filler(fd, size, l.id);
	if (!e && pwrite(fd, sector0, sizeof(sector0), 0) != (ssize_t)sizeof(sector0))
		e = errno ? errno : EIO;
	if (!e && fsync(fd) != 0)
		e = errno;
	if (close(fd) != 0 && !e)
		e = errno;
	return e;
}

int disk_make(const char *path, uint64_t size, const char *format, const char *prealloc,
	      int force, uint64_t *id, char *err, size_t errlen)
{
	struct stat st;
	int qcow2, e;

	if (strcmp(format, "raw") != 0 && strcmp(format, "qcow2") != 0) {
		snprintf(err, errlen, "mkdisk: bad --format %s (raw or qcow2)", format);
		return KVMIO_EXIT_BADCONFIG;
	}
	qcow2 = strcmp(format, "qcow2") == 0;
	if (strcmp(prealloc, "off") && strcmp(prealloc, "metadata") && strcmp(prealloc, "full")) {
		snprintf(err, errlen, "mkdisk: bad --preallocation %s (off, metadata or full)",
			 prealloc);
		return KVMIO_EXIT_BADCONFIG;
	}
	if (!qcow2 && strcmp(prealloc, "metadata") == 0) {
		snprintf(err, errlen, "mkdisk: --preallocation metadata is for qcow2 (raw has no "
			 "metadata: off or full)");
		return KVMIO_EXIT_BADCONFIG;
	}
	if (size <= DISK_MIN_SIZE || size % DISK_SECTOR) {
		snprintf(err, errlen, "mkdisk: SIZE %" PRIu64 " must be more than 1 MiB + 4 KiB "
			 "(the data area starts at 1 MiB) and a multiple of 512", size);
		return KVMIO_EXIT_BADCONFIG;
	}
	if (!force && lstat(path, &st) == 0) {
		snprintf(err, errlen, "mkdisk: %s exists (use --force to overwrite it)", path);
		return KVMIO_EXIT_BADCONFIG;
	}
	if (getrandom(id, sizeof(*id), 0) != (ssize_t)sizeof(*id)) {
		snprintf(err, errlen, "mkdisk: getrandom: %s", strerror(errno));
		return KVMIO_EXIT_IO;
	}
	if (!qcow2) {
		if (force)
			unlink(path); /* a fresh sparse file, whatever was there */
		e = write_raw(path, size, *id, O_EXCL, strcmp(prealloc, "full") == 0);
		if (e) {
			snprintf(err, errlen, "mkdisk: %s: %s", path, strerror(e));
			if (e != EEXIST)
				unlink(path);
			return e == EEXIST ? KVMIO_EXIT_BADCONFIG : KVMIO_EXIT_IO;
		}
		return KVMIO_EXIT_OK;
	} else {
		char *tmp = dir_make_temp(), *raw = NULL, opt[64];
		char *argv[12];
		int n = 0, rc = KVMIO_EXIT_IO;

		if (!tmp || asprintf(&raw, "%s/label.raw", tmp) < 0) {
			snprintf(err, errlen, "mkdisk: cannot make a temporary directory: %s",
				 strerror(errno));
			goto qout;
		}
		if ((e = write_raw(raw, size, *id, O_EXCL, strcmp(prealloc, "full") == 0)) != 0) {
			snprintf(err, errlen, "mkdisk: %s: %s", raw, strerror(e));
			goto qout;
		}
		snprintf(opt, sizeof(opt), "preallocation=%s", prealloc);
		argv[n++] = (char *)disk_qemu_img();
		argv[n++] = "convert";
		argv[n++] = "-q";
		argv[n++] = "-f";
		argv[n++] = "raw";
		argv[n++] = "-O";
		argv[n++] = "qcow2";
		argv[n++] = "-o";
		argv[n++] = opt;
		argv[n++] = raw;
		argv[n++] = (char *)path;
		argv[n] = NULL;
		if (run_qemu_img(argv, err, errlen) != 0)
			goto qout;
		rc = KVMIO_EXIT_OK;
qout:
		dir_remove_tree(tmp);
		free(tmp);
		free(raw);
		return rc;
	}
}

int disk_verify(const char *path, const char *format, uint64_t seed, int64_t pass,
		struct disk_verify_result *res, char *err, size_t errlen)
{
	char *tmp, *raw = NULL, *argv[12];
	struct stat st;
	int rc = KVMIO_EXIT_IO, n = 0;

	if (!format || strcmp(format, "raw") == 0)
		return disk_verify_raw(path, seed, pass, res, err, errlen);
	if (strcmp(format, "qcow2") != 0) {
		snprintf(err, errlen, "verify-disk: bad --format %s (raw or qcow2)", format);
		return KVMIO_EXIT_BADCONFIG;
	}
	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return KVMIO_EXIT_IO;
	}
	tmp = dir_make_temp();
	if (!tmp || asprintf(&raw, "%s/image.raw", tmp) < 0) {
		snprintf(err, errlen, "verify-disk: cannot make a temporary directory: %s",
			 strerror(errno));
		goto out;
	}
	/* qemu-img writes zero runs as holes, so the raw copy is as sparse as the qcow2. */
	argv[n++] = (char *)disk_qemu_img();
	argv[n++] = "convert";
	argv[n++] = "-q";
	argv[n++] = "-f";
	argv[n++] = "qcow2";
	argv[n++] = "-O";
	argv[n++] = "raw";
	argv[n++] = (char *)path;
	argv[n++] = raw;
	argv[n] = NULL;
	if (run_qemu_img(argv, err, errlen) != 0)
		goto out;
	rc = disk_verify_raw(raw, seed, pass, res, err, errlen);
out:
	dir_remove_tree(tmp);
	free(tmp);
	free(raw);
	return rc;
}

/* ---- subcommands ------------------------------------------------------------------------- */

int cmd_mkdisk(int argc, char **argv)
{
	const char *file = NULL, *size_s = NULL, *format = "raw", *prealloc = "off", *v;
	unsigned long long size;
	uint64_t id;
	char err[512];
	int force = 0, rc;

	for (int i = 0; i < argc; i++) {
		int missing = 0;

		if (strcmp(argv[i], "--force") == 0)
			force = 1;
		else if ((v = option_value(argc, argv, &i, "--format", &missing)))
			format = v;
		else if ((v = option_value(argc, argv, &i, "--preallocation", &missing)))
			prealloc = v;
		else if (missing)
			return usage_error("mkdisk: option '%s' needs a value", argv[i]);
		else if (argv[i][0] == '-' && argv[i][1])
			return usage_error("mkdisk: unknown option '%s'", argv[i]);
		else if (!file)
			file = argv[i];
		else if (!size_s)
			size_s = argv[i];
		else
			return usage_error("mkdisk: unexpected argument '%s'", argv[i]);
	}
	if (!file || !size_s)
		return usage_error("mkdisk: usage: kvmio mkdisk FILE SIZE [--format raw|qcow2] "
				  "[--preallocation off|metadata|full] [--force]");
	if (qemu_parse_size(size_s, &size) != 0)
		return usage_error("mkdisk: bad SIZE '%s' (bytes, or a K/M/G/T suffix)", size_s);
	rc = disk_make(file, size, format, prealloc, force, &id, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "kvmio: %s\n", err);
		return rc;
	}
	printf("%s: %s, %llu bytes, label id 0x%016" PRIx64 ", data area from %d\n", file, format,
	       size, id, DISK_DATA_START);
	return KVMIO_EXIT_OK;
}

int cmd_verify_disk(int argc, char **argv)
{
	const char *file = NULL, *format = "raw", *v;
	struct disk_verify_result res;
	uint64_t seed = 0, p;
	int64_t pass = -1;
	int have_seed = 0, rc;
	char err[512], why[256];

	for (int i = 0; i < argc; i++) {
		int missing = 0;

		if ((v = option_value(argc, argv, &i, "--seed", &missing))) {
			if (arg_u64(v, 0, &seed) != 0)
				return usage_error("verify-disk: bad --seed '%s'", v);
			have_seed = 1;
		} else if ((v = option_value(argc, argv, &i, "--pass", &missing))) {
			if (arg_u64(v, 0, &p) != 0 || p > UINT32_MAX)
				return usage_error("verify-disk: bad --pass '%s'", v);
			pass = (int64_t)p;
		} else if ((v = option_value(argc, argv, &i, "--format", &missing))) {
			format = v;
		} else if (missing) {
			return usage_error("verify-disk: option '%s' needs a value", argv[i]);
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return usage_error("verify-disk: unknown option '%s'", argv[i]);
		} else if (!file) {
			file = argv[i];
		} else {
			return usage_error("verify-disk: unexpected argument '%s'", argv[i]);
		}
	}
	if (!file || !have_seed)
		return usage_error("verify-disk: usage: kvmio verify-disk FILE --seed S "
				  "[--format raw|qcow2] [--pass P]");
	if (strcmp(format, "raw") != 0 && strcmp(format, "qcow2") != 0)
		return usage_error("verify-disk: bad --format '%s' (raw or qcow2)", format);
	rc = disk_verify(file, format, seed, pass, &res, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "kvmio: verify-disk: %s\n", err);
		return rc;
	}
	if (res.label_ok)
		printf("label:      ok, id 0x%016" PRIx64 ", size %" PRIu64 "%s\n", res.label.id,
		       res.label.size_bytes, res.label.size_bytes != res.size ? " (file size differs)"
		       : "");
	else
		printf("label:      BAD: %s\n", res.label_why);
	printf("stamped ok: %" PRIu64 "\nbad:        %" PRIu64 "\nunstamped:  %" PRIu64
	       "  (sectors of the data area, from byte %d; seed %" PRIu64 ")\n", res.ok, res.bad,
	       res.unstamped, DISK_DATA_START, seed);
	for (int i = 0; i < res.nbad_listed; i++)
		printf("bad lba %" PRIu64 ": %s\n", res.bad_list[i].lba, res.bad_list[i].why);
	rc = disk_verify_verdict(&res, why, sizeof(why));
	if (rc)
		fprintf(stderr, "kvmio: verify-disk: %s: %s\n", file, why);
	fflush(stdout);
	return rc;
}
