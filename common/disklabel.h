/*
 * On-disk formats shared by the guest and the host tool (`kvmio mkdisk`, `kvmio verify-disk`).
 * All integers little-endian. Sector size 512 for both formats.
 *
 * Scratch label, sector 0 (LBA 0) of a disk the guest may write. Written only by the host;
 * the guest never writes LBA 0. Benchmark I/O only touches the data area, which starts at
 * DISK_DATA_START bytes (1 MiB) on every disk, labelled or not.
 *
 * Stamp: every 512-byte sector the guest writes for verify=1 starts with a kvmio_stamp; the
 * rest of the sector is filled with stamp_fill(seed, lba, pass, i) bytes. crc covers the whole
 * sector with the crc field taken as zero.
 */
#ifndef KVMIO_COMMON_DISKLABEL_H
#define KVMIO_COMMON_DISKLABEL_H
#include <stdint.h>

#define DISK_SECTOR 512
#define DISK_DATA_START (1024 * 1024)
#define DISK_LABEL_MAGIC "KVMIO-SCRATCH\0\0" /* 16 bytes with the NULs */
#define DISK_LABEL_VERSION 1
#define DISK_STAMP_MAGIC 0x5054534f494d564bull /* "KVMIOSTP" little-endian */
/* The serial number kvmio boot gives the UEFI boot volume's ide-hd (on an AHCI port): the
 * guest's AHCI driver leaves that disk out, so --disk N stays dev=N. */
#define KVMIO_ESP_SERIAL "kvmio-esp"

struct kvmio_label {
	char magic[16];
	uint32_t version;
	uint32_t header_size;     /* sizeof(struct kvmio_label) */
	uint64_t size_bytes;      /* the disk's size when labelled */
	uint64_t id;              /* random, so two scratch disks can be told apart */
	uint32_t crc;             /* CRC-32 of this struct with crc = 0 */
	uint32_t reserved;
};

struct kvmio_stamp {
	uint64_t magic;           /* DISK_STAMP_MAGIC */
	uint64_t lba;             /* 512-byte sector number this sector was written to */
	uint64_t seed;
	uint32_t pass;
	uint32_t crc;             /* CRC-32 of the 512-byte sector with crc = 0 */
};

/* Deterministic filler for byte i (i >= sizeof(struct kvmio_stamp)) of a stamped sector. */
static inline uint8_t stamp_fill(uint64_t seed, uint64_t lba, uint32_t pass, uint32_t i)
{
	uint64_t x = seed ^ (lba * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)pass << 32) ^ i;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (uint8_t)x;
}

#endif
