/* Unit tests of the scratch-disk label and stamps (host/disk.c) on hand-made images. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "boot/disk.h"
#include "boot/launch.h"
#include "lib/file.h"
#include "proto/proto.h"
#include "analysis/report.h"
#include "helpers.h"

#define SIZE (4ull << 20) /* 4 MiB: data area is sectors 2048..8191 */
#define SEED 0x1234567ull
#define FIRST_DATA (DISK_DATA_START / DISK_SECTOR)

static char dir[256];

static int setup(void **state)
{
	char *tmp = dir_make_temp();

	(void)state;
	if (!tmp)
		return -1;
	snprintf(dir, sizeof(dir), "%s", tmp);
	free(tmp);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dir_remove_tree(dir);
	return 0;
}

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* A labelled raw image made by mkdisk. */
static void make_raw(const char *path)
{
	char err[512] = "";
	uint64_t id = 0;

	unlink(path);
	assert_int_equal(disk_make(path, SIZE, "raw", "off", 0, &id, err, sizeof(err)), 0);
}

static void write_sector(const char *path, uint64_t lba, const uint8_t *sector)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, sector, DISK_SECTOR, (off_t)(lba * DISK_SECTOR)), DISK_SECTOR);
	close(fd);
}

/* Stamp sectors [first, first+n) as the guest would, pass 1. */
static void stamp_range(const char *path, uint64_t first, uint64_t n, uint64_t seed)
{
	uint8_t s[DISK_SECTOR];

	for (uint64_t lba = first; lba < first + n; lba++) {
		disk_stamp_make(s, seed, lba, 1);
		write_sector(path, lba, s);
	}
}

static int verify(const char *path, const char *format, uint64_t seed, int64_t pass,
		  struct disk_verify_result *res, char *why, size_t whylen)
{
	char err[512] = "";

	if (disk_verify(path, format, seed, pass, res, err, sizeof(err)) != 0)
		fail_msg("disk_verify: %s", err);
	return disk_verify_verdict(res, why, whylen);
}

/* PROGRAM ARGS... (NULL-terminated) with its output discarded: its exit code. */
static int run_prog(const char *first, ...)
{
	char *argv[16];
	int n = 0;
	va_list ap;

	va_start(ap, first);
	for (const char *a = first; a && n < 15; a = va_arg(ap, const char *))
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	return test_wait(test_spawn(argv, NULL, NULL));
}

static void test_label(void **state)
{
	uint8_t sector[DISK_SECTOR] = { 0 };
	struct kvmio_label l, back;
	char why[128];

	(void)state;
	disk_label_make(&l, SIZE, 0xabcdef);
	memcpy(sector, &l, sizeof(l));
	assert_int_equal(disk_label_check(sector, &back, why, sizeof(why)), 0);
	assert_memory_equal(back.magic, "KVMIO-SCRATCH\0\0", 16);
	assert_int_equal(back.version, 1);
	assert_int_equal(back.header_size, 48);
	assert_int_equal(back.size_bytes, SIZE);
	assert_int_equal(back.id, 0xabcdef);
	/* the crc is CRC-32 of the struct with crc = 0 */
	back.crc = 0;
	assert_int_equal(crc32_update(0, &back, sizeof(back)), l.crc);
	sector[40] ^= 1; /* id */
	assert_int_equal(disk_label_check(sector, NULL, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "crc"));
	sector[40] ^= 1;
	sector[0] = 'X';
	assert_int_equal(disk_label_check(sector, NULL, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "magic"));
}

static void test_stamp(void **state)
{
	uint8_t s[DISK_SECTOR], zero[DISK_SECTOR] = { 0 };
	struct kvmio_stamp st;
	char why[96];

	(void)state;
	disk_stamp_make(s, 7, 5000, 3);
	memcpy(&st, s, sizeof(st));
	assert_true(st.magic == DISK_STAMP_MAGIC);
	assert_memory_equal(s, "KVMIOSTP", 8);
	assert_int_equal(st.lba, 5000);
	assert_int_equal(st.seed, 7);
	assert_int_equal(st.pass, 3);
	assert_int_equal(s[100], stamp_fill(7, 5000, 3, 100));
	assert_int_equal(disk_stamp_check(s, 5000, 7, -1, why, sizeof(why)), STAMP_OK);
	assert_int_equal(disk_stamp_check(s, 5000, 7, 3, why, sizeof(why)), STAMP_OK);
	assert_int_equal(disk_stamp_check(s, 5000, 7, 2, why, sizeof(why)), STAMP_BAD);
	assert_non_null(strstr(why, "pass 3"));
	assert_int_equal(disk_stamp_check(s, 5001, 7, -1, why, sizeof(why)), STAMP_BAD);
	assert_non_null(strstr(why, "lba 5000"));
	assert_int_equal(disk_stamp_check(s, 5000, 8, -1, why, sizeof(why)), STAMP_BAD);
	assert_non_null(strstr(why, "seed 7"));
	assert_int_equal(disk_stamp_check(zero, 5000, 7, -1, why, sizeof(why)), STAMP_NONE);
	s[300] ^= 0x40;
	assert_int_equal(disk_stamp_check(s, 5000, 7, -1, why, sizeof(why)), STAMP_BAD);
	assert_non_null(strstr(why, "crc"));
}

static void test_good(void **state)
{
	struct disk_verify_result r;
	char path[512], why[256];

	(void)state;
	path_of(path, sizeof(path), "good.img");
	make_raw(path);
	stamp_range(path, FIRST_DATA, 100, SEED);
	stamp_range(path, FIRST_DATA + 3000, 8, SEED); /* a second extent, far away */
	stamp_range(path, SIZE / DISK_SECTOR - 1, 1, SEED); /* the last sector */
	assert_int_equal(verify(path, "raw", SEED, -1, &r, why, sizeof(why)), 0);
	assert_true(r.label_ok);
	assert_int_equal(r.ok, 109);
	assert_int_equal(r.bad, 0);
	assert_int_equal(r.unstamped, SIZE / DISK_SECTOR - FIRST_DATA - 109);
	assert_int_equal(verify(path, "raw", SEED, 1, &r, why, sizeof(why)), 0);
	/* stamps below the data area are not looked at */
	stamp_range(path, 10, 1, 999);
	assert_int_equal(verify(path, "raw", SEED, -1, &r, why, sizeof(why)), 0);
}

static void test_flipped_byte(void **state)
{
	struct disk_verify_result r;
	char path[512], why[256];
	uint8_t s[DISK_SECTOR];

	(void)state;
	path_of(path, sizeof(path), "flip.img");
	make_raw(path);
	stamp_range(path, FIRST_DATA, 50, SEED);
	disk_stamp_make(s, SEED, FIRST_DATA + 17, 1);
	s[200] ^= 0x01;
	write_sector(path, FIRST_DATA + 17, s);
	assert_int_equal(verify(path, "raw", SEED, -1, &r, why, sizeof(why)), 1);
	assert_int_equal(r.ok, 49);
	assert_int_equal(r.bad, 1);
	assert_int_equal(r.bad_list[0].lba, FIRST_DATA + 17);
	assert_non_null(strstr(why, "1 bad sector (first: lba 2065: crc"));

	/* a flipped filler byte with the crc recomputed: caught by the filler check */
	disk_stamp_make(s, SEED, FIRST_DATA + 18, 1);
	s[DISK_SECTOR - 1] ^= 0xff;
	{
		struct kvmio_stamp st;

		memcpy(&st, s, sizeof(st));
		st.crc = 0;
		memcpy(s, &st, sizeof(st));
		st.crc = crc32_update(0, s, DISK_SECTOR);
		memcpy(s, &st, sizeof(st));
	}
	write_sector(path, FIRST_DATA + 18, s);
	assert_int_equal(verify(path, "raw", SEED, -1, &r, why, sizeof(why)), 1);
	assert_int_equal(r.bad, 2);
	assert_int_equal(r.bad_list[1].lba, FIRST_DATA + 18);
	assert_non_null(strstr(r.bad_list[1].why, "byte 511"));
}

static void test_wrong_lba(void **state)
{
	struct disk_verify_result r;
	char path[512], why[256];
	uint8_t s[DISK_SECTOR];

	(void)state;
	path_of(path, sizeof(path), "lba.img");
	make_raw(path);
	stamp_range(path, FIRST_DATA, 10, SEED);
	disk_stamp_make(s, SEED, FIRST_DATA + 100, 1); /* written one sector off */
	write_sector(path, FIRST_DATA + 101, s);
	assert_int_equal(verify(path, "raw", SEED, -1, &r, why, sizeof(why)), 1);
	assert_int_equal(r.ok, 10);
	assert_int_equal(r.bad, 1);
	assert_int_equal(r.bad_list[0].lba, FIRST_DATA + 101);
	assert_non_null(strstr(why, "stamp says lba 2148"));
}

static void test_wrong_seed_and_pass(void **state)
{
	struct disk_verify_result r;
	char path[512], why[256];

	(void)state;
	path_of(path, sizeof(path), "seed.img");
	make_raw(path);
	stamp_range(path, FIRST_DATA, 20, SEED);
	assert_int_equal(verify(path, "raw", SEED + 1, -1, &r, why, sizeof(why)), 1);
	assert_int_equal(r.bad, 20);
	assert_int_equal(r.ok, 0);
	assert_int_equal(r.nbad_listed, DISK_VERIFY_MAX_BAD);
	assert_non_null(strstr(why, "20 bad sectors"));
	assert_non_null(strstr(why, "expected 19088744"));
	assert_int_equal(verify(path, "raw", SEED, 2, &r, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "pass 1, expected 2"));
}

static void test_no_stamps(void **state)
{
	struct disk_verify_result r;
	char path[512], why[256];

	(void)state;
	path_of(path, sizeof(path), "empty.img");
	make_raw(path);
	assert_int_equal(verify(path, "raw", SEED, -1, &r, why, sizeof(why)), 1);
	assert_string_equal(why, "no stamped sectors: nothing the guest wrote reached the file");
	assert_int_equal(r.unstamped, SIZE / DISK_SECTOR - FIRST_DATA);
	assert_true(r.label_ok);
}

static void test_broken_label(void **state)
{
	struct disk_verify_result r;
	char path[512], why[256];
	uint8_t s[DISK_SECTOR];

	(void)state;
	path_of(path, sizeof(path), "label.img");
	make_raw(path);
	stamp_range(path, FIRST_DATA, 5, SEED);
	disk_stamp_make(s, SEED, 0, 1); /* something wrote LBA 0 */
	write_sector(path, 0, s);
	assert_int_equal(verify(path, "raw", SEED, -1, &r, why, sizeof(why)), 1);
	assert_false(r.label_ok);
	assert_int_equal(r.ok, 5);
	assert_non_null(strstr(why, "label broken"));
}

static void test_qcow2_roundtrip(void **state)
{
	struct disk_verify_result r;
	char raw[512], q[512], q2[512], why[256], err[512];
	uint64_t id;

	(void)state;
	if (run_prog("qemu-img", "--version", (char *)NULL) != 0)
		fail_msg("qemu-img does not run (scripts/install-deps.sh installs qemu-utils)");
	path_of(raw, sizeof(raw), "rt.img");
	path_of(q, sizeof(q), "rt.qcow2");
	make_raw(raw);
	stamp_range(raw, FIRST_DATA + 64, 32, SEED);
	assert_int_equal(run_prog("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, q,
			     (char *)NULL), 0);
	assert_int_equal(verify(q, "qcow2", SEED, -1, &r, why, sizeof(why)), 0);
	assert_int_equal(r.ok, 32);
	assert_int_equal(r.unstamped, SIZE / DISK_SECTOR - FIRST_DATA - 32);

	/* mkdisk --format qcow2: the label survives, every preallocation mode */
	path_of(q2, sizeof(q2), "mk.qcow2");
	assert_int_equal(disk_make(q2, SIZE, "qcow2", "metadata", 0, &id, err, sizeof(err)), 0);
	assert_int_equal(verify(q2, "qcow2", SEED, -1, &r, why, sizeof(why)), 1);
	assert_true(r.label_ok);
	assert_int_equal(r.label.id, id);
	assert_int_equal(r.label.size_bytes, SIZE);
	assert_string_equal(why, "no stamped sectors: nothing the guest wrote reached the file");
	assert_int_equal(disk_make(q2, SIZE, "qcow2", "off", 0, &id, err, sizeof(err)), 2);
	assert_int_equal(disk_make(q2, SIZE, "qcow2", "full", 1, &id, err, sizeof(err)), 0);
	assert_int_equal(verify(q2, "qcow2", SEED, -1, &r, why, sizeof(why)), 1);
	assert_true(r.label_ok);
	/* a qcow2 read as raw has no label */
	assert_int_equal(verify(q2, "raw", SEED, -1, &r, why, sizeof(why)), 1);
	assert_false(r.label_ok);
}

/* The filler: a stream (the same from the same state, continued across calls), not zeros, and
 * never a sector that starts with the stamp's magic. */
static void test_filler(void **state)
{
	uint8_t a[4096], b[4096], c[2048];
	uint64_t s1 = 0, s2 = 0, s3 = 42;

	(void)state;
	disk_filler_make(a, sizeof(a), &s1);
	disk_filler_make(b, 2048, &s2);
	disk_filler_make(b + 2048, 2048, &s2);
	assert_memory_equal(a, b, sizeof(a));    /* continued across calls */
	assert_true(s1 == s2 && s1 != 0);
	disk_filler_make(c, sizeof(c), &s3);
	assert_memory_not_equal(a, c, sizeof(c)); /* another seed, another stream */
	for (size_t off = 0; off < sizeof(a); off += DISK_SECTOR) {
		uint64_t first;
		int zero = 1;

		memcpy(&first, a + off, sizeof(first));
		assert_true(first != DISK_STAMP_MAGIC);
		for (size_t i = 0; i < DISK_SECTOR && zero; i++)
			zero = a[off + i] == 0;
		assert_false(zero);
	}
}

static void test_mkdisk(void **state)
{
	char path[512], err[512];
	struct stat st;
	uint64_t id1, id2;

	(void)state;
	path_of(path, sizeof(path), "mk.img");
	unlink(path);
	assert_int_equal(disk_make(path, SIZE, "raw", "off", 0, &id1, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, SIZE);
	assert_true(st.st_blocks * 512 < (blkcnt_t)SIZE); /* sparse */
	assert_int_equal(disk_make(path, SIZE, "raw", "off", 0, &id2, err, sizeof(err)), 2);
	assert_non_null(strstr(err, "exists (use --force"));
	assert_int_equal(disk_make(path, SIZE * 2, "raw", "full", 1, &id2, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, SIZE * 2);
	assert_true(id1 != id2);
	/* full: every block written, with the filler (not zeros: an fallocated block reads as zeros
	 * without touching the storage), the label intact, no sector taken for a stamp */
	assert_true(st.st_blocks * 512 >= (blkcnt_t)(SIZE * 2));
	{
		struct disk_verify_result r;
		char why[256];
		uint8_t sector[DISK_SECTOR];
		FILE *f = fopen(path, "rb");
		uint64_t zero_sectors = 0;

		assert_non_null(f);
		for (uint64_t lba = 1; fread(sector, 1, sizeof(sector), f) == sizeof(sector); lba++) {
			int z = 1;

			for (size_t i = 0; i < sizeof(sector) && z; i++)
				z = sector[i] == 0;
			zero_sectors += lba > 1 && z; /* sector 0 is the label's */
		}
		fclose(f);
		assert_int_equal(zero_sectors, 0);
		assert_int_equal(verify(path, "raw", SEED, -1, &r, why, sizeof(why)), 1);
		assert_true(r.label_ok);
		assert_int_equal(r.label.id, id2);
		assert_int_equal(r.bad, 0);
		assert_int_equal(r.unstamped, SIZE * 2 / DISK_SECTOR - FIRST_DATA);
	}
	assert_int_equal(disk_make(path, DISK_MIN_SIZE, "raw", "off", 1, &id2, err, sizeof(err)), 2);
	assert_non_null(strstr(err, "more than 1 MiB + 4 KiB"));
	assert_int_equal(disk_make(path, DISK_MIN_SIZE + 100, "raw", "off", 1, &id2, err,
				   sizeof(err)), 2);
	assert_int_equal(disk_make(path, DISK_MIN_SIZE + 512, "raw", "off", 1, &id2, err,
				   sizeof(err)), 0);
	assert_int_equal(disk_make(path, SIZE, "vmdk", "off", 1, &id2, err, sizeof(err)), 2);
	assert_int_equal(disk_make(path, SIZE, "raw", "metadata", 1, &id2, err, sizeof(err)), 2);
	assert_non_null(strstr(err, "metadata is for qcow2"));
	assert_int_equal(disk_make(path, SIZE, "raw", "some", 1, &id2, err, sizeof(err)), 2);
	path_of(path, sizeof(path), "no/such/dir.img");
	assert_int_equal(disk_make(path, SIZE, "raw", "off", 0, &id2, err, sizeof(err)), 10);
}

static void test_cli(void **state)
{
	const char *bin = test_kvmio_bin();
	char path[512];

	(void)state;
	if (access(bin, X_OK) != 0)
		fail_msg("%s not built", bin);
	path_of(path, sizeof(path), "cli.img");
	unlink(path);
	assert_int_equal(test_kvmio_split(NULL, NULL, "mkdisk", path, "8M", (char *)NULL), 0);
	assert_int_equal(test_kvmio_split(NULL, NULL, "mkdisk", path, "8M", (char *)NULL), 2);
	assert_int_equal(test_kvmio_split(NULL, NULL, "mkdisk", path, "8M", "--force", (char *)NULL), 0);
	assert_int_equal(test_kvmio_split(NULL, NULL, "mkdisk", path, "8X", "--force", (char *)NULL), 2);
	assert_int_equal(test_kvmio_split(NULL, NULL, "mkdisk", path, (char *)NULL), 2);
	assert_int_equal(test_kvmio_split(NULL, NULL, "verify-disk", path, (char *)NULL), 2); /* no --seed */
	assert_int_equal(test_kvmio_split(NULL, NULL, "verify-disk", path, "--seed", "5", (char *)NULL), 1);
	stamp_range(path, FIRST_DATA, 4, 5);
	assert_int_equal(test_kvmio_split(NULL, NULL, "verify-disk", path, "--seed", "5", (char *)NULL), 0);
	assert_int_equal(test_kvmio_split(NULL, NULL, "verify-disk", path, "--seed=5", "--pass", "1", (char *)NULL), 0);
	assert_int_equal(test_kvmio_split(NULL, NULL, "verify-disk", path, "--seed", "6", (char *)NULL), 1);
	assert_int_equal(test_kvmio_split(NULL, NULL, "verify-disk", path, "--seed", "5", "--format", "vdi",
			     (char *)NULL), 2);
	assert_int_equal(test_kvmio_split(NULL, NULL, "verify-disk", "/nonexistent.img", "--seed", "5", (char *)NULL),
			 10);
	/* boot --disk: usage errors exit 2 before QEMU runs */
	assert_int_equal(test_kvmio_split(NULL, NULL, "boot", "--dry-run", "--disk", "virtio-blk,size=64M",
			     "--disk", "virtio-blk,backend=file=", (char *)NULL), 2);
	assert_int_equal(test_kvmio_split(NULL, NULL, "boot", "--dry-run", "--accel", "tcg", "--disk", "ide",
			     "--disk", "virtio-blk,transport=modern", (char *)NULL), 0);
	assert_int_equal(test_kvmio_split(NULL, NULL, "boot", "--dry-run", "--accel", "tcg", "--machine", "q35",
			     "--disk", "ide", (char *)NULL), 2);
	assert_int_equal(test_kvmio_split(NULL, NULL, "boot", "--dry-run", "--accel", "tcg", "--disk", (char *)NULL), 2);
	{
		char spec[600];

		snprintf(spec, sizeof(spec), "virtio-blk,backend=file=%s,readonly=on", path);
		assert_int_equal(test_kvmio_split(NULL, NULL, "boot", "--dry-run", "--accel", "tcg", "--disk", spec,
				     (char *)NULL), 0);
		snprintf(spec, sizeof(spec), "virtio-blk,backend=file=%s.missing", path);
		assert_int_equal(test_kvmio_split(NULL, NULL, "boot", "--dry-run", "--accel", "tcg", "--disk", spec,
				     (char *)NULL), 2);
	}
}

/* ---- disk records and results in the reports (tests/data/disk.log, from mklog.py) ---------- */

static char *render(const struct log *log, int kind)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	if (kind == 0) {
		report_table(f, log, NULL);
	} else if (kind == 1) {
		report_csv_header(f, NULL);
		report_csv_rows(f, log, NULL);
	} else {
		report_json(f, log, 1, NULL);
	}
	fclose(f);
	return buf;
}

#define HAS(text, needle)                                                                      \
	do {                                                                                   \
		if (!strstr(text, needle))                                                     \
			fail_msg("output lacks '%s':\n%s", needle, text);                       \
	} while (0)

static void test_report_disk(void **state)
{
	struct log log;
	char *out;

	(void)state;
	assert_int_equal(log_parse_file(&log, "tests/data/disk.log"), 0);
	out = render(&log, 0);
	HAS(out, "disk model      transport irq   bdf           sectors sector    qd label label_id");
	HAS(out, "label_id           ro  wcache\n");
	/* a log from before write_cache (or a driver that does not read it): "-" */
	HAS(out, "1    virtio-blk modern    msix  00:11.0        131072    512   128 yes   "
		 "0x1234abcd5678ef00 0   -\n");
	HAS(out, "dev model      transport irq       rw                bs  qd     ops       IOPS      "
		 "MB/s    p50_us    p99_us  acc/op irq/op  harness(cyc/op)\n");
	HAS(out, "1   virtio-blk modern    msix      randread        4096   1    1000      10000     "
		 "40.96     90.00    200.00    3.00   1.00          3846.78\n");
	HAS(out, "0   ide        pio       poll      read           65536   1     100       2000    "
		 "131.07    500.00    600.00   23.00   0.00         52000.50\n");
	free(out);

	out = render(&log, 1);
	HAS(out, "mean_ns,dev,model,transport,irq,wait,rw,bs,qd,bytes,elapsed,pio_r,pio_w,mmio_r,mmio_w,"
		 "irqs,ticks,harness_mean,flushes,verify,iops,mbps,acc_per_op,irq_per_op,rxdev,");
	HAS(out, ",180000.00,90000.0,200000.0,90000.0,1,virtio-blk,modern,msix,,randread,4096,1,"
		 "4096000,200000000,0,0,1000,2000,1000,,3846.78,0,,10000.0,40.960,3.000,1.000,");
	HAS(out, ",0,ide,pio,poll,,read,65536,1,6553600,100000000,1600,700,0,0,0,,52000.50,0,,"
		 "2000.0,131.072,23.000,0.000,");
	HAS(out, ",verify-read,4096,1,40960,1000000,0,0,20,10,10,,0.00,0,ok,20000.0,81.920,3.000,"
		 "1.000,");
	free(out);

	out = render(&log, 2);
	HAS(out, "\"disks\":[{\"seq\":1,\"index\":0,\"model\":\"ide\",\"transport\":\"pio\"");
	HAS(out, "\"label_id\":\"0x1234abcd5678ef00\"");
	HAS(out, "\"elapsed\":200000000,");
	HAS(out, "\"harness_mean\":3846.78,");
	HAS(out, "\"iops\":10000.0,\"mbps\":40.960,\"acc_per_op\":3.000,\"irq_per_op\":1.000}");
	HAS(out, "\"iops\":2000.0,\"mbps\":131.072,\"acc_per_op\":23.000,\"irq_per_op\":0.000}");
	free(out);
	log_free(&log);

	/* tsc_hz=0: rates and microseconds cannot be known */
	assert_int_equal(log_parse_file(&log, "tests/data/disk-notsc.log"), 0);
	out = render(&log, 0);
	HAS(out, "1   virtio-blk modern    msix      randread        4096   1    1000          -         "
		 "-         -         -    3.00   1.00          3846.78\n");
	free(out);
	out = render(&log, 1);
	HAS(out, ",3846.78,0,,,,3.000,1.000,");
	free(out);
	out = render(&log, 2);
	HAS(out, "\"iops\":null,\"mbps\":null,\"acc_per_op\":3.000,\"irq_per_op\":1.000}");
	free(out);
	log_free(&log);

	/* exits results get no disk figures and no disk table */
	assert_int_equal(log_parse_file(&log, "tests/data/good.log"), 0);
	out = render(&log, 0);
	assert_null(strstr(out, "IOPS"));
	free(out);
	out = render(&log, 2);
	assert_null(strstr(out, "\"iops\""));
	HAS(out, "\"disks\":[]");
	free(out);
	log_free(&log);
}

/* A log line with its crc. */
static void add_line(char *buf, size_t size, const char *body)
{
	char line[1024];

	snprintf(line, sizeof(line), "%s crc=%08x\n", body, crc32_update(0, body, strlen(body)));
	strncat(buf, line, size - strlen(buf) - 1);
}

static void test_disk_record_required_fields(void **state)
{
	static const char *const fields[] = { "index", "model", "transport", "sectors",
					      "sector_size" };
	struct log log;

	(void)state;
	for (size_t drop = 0; drop <= 5; drop++) {
		char buf[4096] = "", body[1024];
		int n;

		add_line(buf, sizeof(buf), "@kvmio 1 hello seq=0 build=x boot=pvh tsc_hz=0 "
			 "tsc_method=none accel=tcg");
		n = snprintf(body, sizeof(body), "@kvmio 1 disk seq=1");
		for (size_t f = 0; f < 5; f++)
			if (f != drop)
				n += snprintf(body + n, sizeof(body) - (size_t)n, " %s=%s", fields[f],
					      f == 1 ? "ide" : f == 2 ? "pio" : "1");
		add_line(buf, sizeof(buf), body);
		add_line(buf, sizeof(buf), "@kvmio 1 end seq=2 status=ok records=2");
		if (drop == 5) {
			assert_int_equal(log_parse_buffer(&log, "t", buf, strlen(buf)), 0);
		} else {
			assert_int_equal(log_parse_buffer(&log, "t", buf, strlen(buf)),
					 KVMIO_EXIT_SEQUENCE);
			HAS(log.err, fields[drop]);
		}
		log_free(&log);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label),
		cmocka_unit_test(test_stamp),
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_flipped_byte),
		cmocka_unit_test(test_wrong_lba),
		cmocka_unit_test(test_wrong_seed_and_pass),
		cmocka_unit_test(test_no_stamps),
		cmocka_unit_test(test_broken_label),
		cmocka_unit_test(test_qcow2_roundtrip),
		cmocka_unit_test(test_filler),
		cmocka_unit_test(test_mkdisk),
		cmocka_unit_test(test_cli),
		cmocka_unit_test(test_report_disk),
		cmocka_unit_test(test_disk_record_required_fields),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
