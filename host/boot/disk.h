/*
 * Scratch disks for the disk benchmark: `kvmio mkdisk` (label in sector 0, common/disklabel.h)
 * and `kvmio verify-disk` (the stamps the guest's verify=1 wrote into the data area).
 */
#ifndef KVMIO_HOST_BOOT_DISK_H
#define KVMIO_HOST_BOOT_DISK_H
#include <stddef.h>
#include <stdint.h>
#include "disklabel.h"

/* Smallest disk mkdisk makes: the data area (from DISK_DATA_START) needs at least one page. */
#define DISK_MIN_SIZE (DISK_DATA_START + 4096ull)

/* Fill a label for a disk of size bytes with the given id (crc computed). */
void disk_label_make(struct kvmio_label *l, uint64_t size, uint64_t id);

/* Check sector 0 (512 bytes): 0 if the label is intact, else -1 and a reason in why. */
int disk_label_check(const uint8_t *sector0, struct kvmio_label *out, char *why, size_t whylen);

/* Write a stamped sector as the guest's verify=1 does (for tests and tools). */
void disk_stamp_make(uint8_t *sector, uint64_t seed, uint64_t lba, uint32_t pass);

enum stamp_state { STAMP_NONE = 0, STAMP_OK = 1, STAMP_BAD = 2 };

/*
 * Check one 512-byte sector found at sector number lba. pass < 0: any pass (the stamp's own
 * pass is used for the filler). STAMP_BAD comes with a reason in why.
 */
enum stamp_state disk_stamp_check(const uint8_t *sector, uint64_t lba, uint64_t seed,
				  int64_t pass, char *why, size_t whylen);

#define DISK_VERIFY_MAX_BAD 8
struct disk_verify_result {
	uint64_t ok, bad, unstamped;      /* sectors of the data area */
	int label_ok;
	struct kvmio_label label;
	char label_why[128];
	uint64_t size;                    /* bytes (of the raw image) */
	int nbad_listed;
	struct {
		uint64_t lba;
		char why[96];
	} bad_list[DISK_VERIFY_MAX_BAD];
};

/*
 * Check a raw image file (sparse holes count as unstamped). Returns 0 if it was read (look at
 * res), or 10 (KVMIO_EXIT_IO) with err.
 */
int disk_verify_raw(const char *path, uint64_t seed, int64_t pass, struct disk_verify_result *res,
		    char *err, size_t errlen);

/* verify-disk's verdict: 0 (stamped ok > 0, nothing bad), else 1 with a one-line reason. */
int disk_verify_verdict(const struct disk_verify_result *res, char *why, size_t whylen);

/*
 * The filler of a fully preallocated image (mkdisk --preallocation full, job formats raw-full and
 * qcow2-full): len bytes of a xorshift64 stream continued from *state (0: DISK_FILLER_SEED0),
 * never a sector that starts with DISK_STAMP_MAGIC. Not zeros: a block fallocated on ext4 is an
 * unwritten extent, which reads as zeros without touching the storage, as a hole does, and an
 * image of zeros may be kept as holes by the storage below this machine; only written data
 * makes every read, in every configuration of a matrix, read what the storage holds.
 */
#define DISK_FILLER_SEED0 0x9e3779b97f4a7c15ull
void disk_filler_make(uint8_t *buf, size_t len, uint64_t *state);

/* qemu-img binary: $KVMIO_QEMU_IMG or "qemu-img". */
const char *disk_qemu_img(void);

/*
 * mkdisk: format "raw" or "qcow2", prealloc "off", "metadata" (qcow2 only) or "full".
 * Returns 0 with *id set, 2 (usage: exists without force, bad size/format), 10 (I/O, qemu-img).
 */
int disk_make(const char *path, uint64_t size, const char *format, const char *prealloc,
	      int force, uint64_t *id, char *err, size_t errlen);

/* verify-disk: format "raw", "qcow2" or NULL (qemu-img's guess is not used: NULL = raw). */
int disk_verify(const char *path, const char *format, uint64_t seed, int64_t pass,
		struct disk_verify_result *res, char *err, size_t errlen);

/* The kvmio subcommands (argv after the command name); exit codes as in the README. */
int cmd_mkdisk(int argc, char **argv);
int cmd_verify_disk(int argc, char **argv);

#endif
