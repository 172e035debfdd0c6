/*
 * IDENTIFY DEVICE data (ATA/ATAPI-6 IDENTIFY DEVICE, the data table; ACS, IDENTIFY DEVICE
 * data): the words drivers/ata.c (IDE) and drivers/ahci.c (SATA) read, and the capacity,
 * 48-bit addressing and FLUSH CACHE EXT both decide from them. Pure: tests/unit/
 * test_ata_identify.c compiles drivers/ata_identify.c on the host.
 */
#ifndef KVMIO_DRIVERS_ATA_IDENTIFY_H
#define KVMIO_DRIVERS_ATA_IDENTIFY_H
#include <stdint.h>

#define ATA_ID_WORDS              256
#define ATA_ID_CONFIG             0
#define ATA_ID_CONFIG_NOT_ATA     0x8000
#define ATA_ID_SERIAL             10     /* words 10-19: 20 ASCII characters, space padded */
#define ATA_ID_SERIAL_CHARS       20
#define ATA_ID_MULTIPLE_MAX       47     /* bits 7:0: sectors per DRQ block, READ/WRITE MULTIPLE */
#define ATA_ID_MULTIPLE_MASK      0xff
#define ATA_ID_CAPS               49
#define ATA_ID_CAPS_DMA           0x0100
#define ATA_ID_CAPS_LBA           0x0200
#define ATA_ID_LBA28_SECTORS      60     /* words 60-61 */
#define ATA_ID_QUEUE_DEPTH        75     /* bits 4:0: maximum queue depth - 1 (SATA) */
#define ATA_ID_QUEUE_DEPTH_MASK   0x1f
#define ATA_ID_SATA_CAPS          76
#define ATA_ID_SATA_CAPS_NCQ      0x0100
#define ATA_ID_CMDSET2            83     /* valid when bits 15:14 are 01b */
#define ATA_ID_CMDSET2_VALID_MASK 0xc000
#define ATA_ID_CMDSET2_VALID      0x4000
#define ATA_ID_CMDSET2_LBA48      0x0400
#define ATA_ID_CMDSET2_FLUSH_EXT  0x2000
#define ATA_ID_CMDSET_ENABLED     85     /* commands and feature sets enabled (ACS: word 85) */
#define ATA_ID_ENABLED_WCACHE     0x0020 /* bit 5: the volatile write cache is enabled */
#define ATA_ID_LBA48_SECTORS      100    /* words 100-103, least significant first */
#define ATA_ID_LBA48_WORDS        4

/* What the capacity words say: the addressable sectors (the 48-bit count where the 48-bit
 * Address feature set is supported and it is the larger, else words 60-61), whether 48-bit
 * commands may be used, and whether FLUSH CACHE EXT is supported (only with 48-bit). */
struct ata_id_capacity {
	uint64_t sectors;
	uint8_t lba48;
	uint8_t flush_ext;
};
void ata_id_capacity(const uint16_t id[ATA_ID_WORDS], struct ata_id_capacity *c);
/* 1 if word 85 says the volatile write cache is enabled (QEMU: the device's write-cache=, from
 * the drive's cache mode), else 0. */
int ata_id_write_cache(const uint16_t id[ATA_ID_WORDS]);

#endif
