/*
 * SCSI commands and sense data for a block device (the SBC-3 and SPC-4 subset a disk driver
 * needs): the CDBs of INQUIRY, TEST UNIT READY, READ CAPACITY(10)/(16), READ/WRITE(10)/(16)
 * and SYNCHRONIZE CACHE(10), what READ CAPACITY returns, and sense data in fixed or descriptor
 * format (SPC-4 §4.5). Pure: drivers/virtio_scsi.c builds its commands with it, and
 * tests/unit/test_scsi.c compiles drivers/scsi.c on the host.
 * Every multi-byte field of a CDB or of returned data is big-endian (SPC-4 §3.5.3).
 */
#ifndef KVMIO_DRIVERS_SCSI_H
#define KVMIO_DRIVERS_SCSI_H
#include <stdint.h>

/* Operation codes (SPC-4 annex D "operation codes"; each command is its own clause of SPC-4 §6
 * or SBC-3 §5, named here) */
#define SCSI_OP_TEST_UNIT_READY      0x00   /* SPC-4 TEST UNIT READY */
#define SCSI_OP_INQUIRY              0x12   /* SPC-4 INQUIRY */
#define SCSI_OP_MODE_SENSE_6         0x1a   /* SPC-4 MODE SENSE (6) */
#define SCSI_OP_READ_CAPACITY_10     0x25   /* SBC-3 READ CAPACITY (10) */
#define SCSI_OP_READ_10              0x28   /* SBC-3 READ (10) */
#define SCSI_OP_WRITE_10             0x2a   /* SBC-3 WRITE (10) */
#define SCSI_OP_SYNCHRONIZE_CACHE_10 0x35   /* SBC-3 SYNCHRONIZE CACHE (10) */
#define SCSI_OP_READ_16              0x88   /* SBC-3 READ (16) */
#define SCSI_OP_WRITE_16             0x8a   /* SBC-3 WRITE (16) */
#define SCSI_OP_SERVICE_ACTION_IN_16 0x9e   /* SBC-3: READ CAPACITY (16) is its service action */
#define SCSI_SA_READ_CAPACITY_16     0x10

#define SCSI_CDB6_LEN   6
#define SCSI_CDB10_LEN  10
#define SCSI_CDB16_LEN  16
#define SCSI_CDB_MAX    SCSI_CDB16_LEN

/* The 10-byte READ/WRITE limits: a 32-bit LBA and a 16-bit transfer length (SBC-3 READ (10)). */
#define SCSI_RW10_MAX_LBA     0xffffffffull
#define SCSI_RW10_MAX_BLOCKS  0xffffu

/* INQUIRY standard data (SPC-4 INQUIRY, standard INQUIRY data): byte 0 is PERIPHERAL QUALIFIER (bits 7-5) and
 * PERIPHERAL DEVICE TYPE (bits 4-0). */
#define SCSI_INQUIRY_LEN          36         /* the standard data up to PRODUCT REVISION LEVEL */
#define SCSI_INQ_QUALIFIER_SHIFT  5
#define SCSI_INQ_QUALIFIER_CONNECTED 0       /* a device is connected to this logical unit */
#define SCSI_INQ_TYPE_MASK        0x1f
#define SCSI_TYPE_DISK            0x00       /* direct access block device (SBC) */
#define SCSI_INQ_VENDOR_OFF       8          /* T10 VENDOR IDENTIFICATION, 8 bytes */
#define SCSI_INQ_PRODUCT_OFF      16         /* PRODUCT IDENTIFICATION, 16 bytes */

/* MODE SENSE (6): all pages (SPC-4 §7.5 "Mode parameters"), no block descriptors. The mode
 * parameter header's DEVICE-SPECIFIC PARAMETER (byte 2) of a direct-access device has WP,
 * write protected, in bit 7 (SBC-3 "Mode parameters"). */
#define SCSI_MODE_ALL_PAGES       0x3f
#define SCSI_MODE_HEADER6_LEN     4
#define SCSI_MODE6_DEVICE_PARAM   2
#define SCSI_MODE_WP              0x80
/* The Caching mode page (SBC-3 "Caching mode page"): page code 08h, 20 bytes, WCE (the volatile
 * write cache enabled) in bit 2 of its byte 2. The mode parameter header (6)'s byte 3 is the
 * length of the block descriptors that sit between it and the first page. */
#define SCSI_MODE_PAGE_CACHING    0x08
#define SCSI_MODE_PAGE_CODE_MASK  0x3f
#define SCSI_MODE6_BLOCK_DESC_LEN 3
#define SCSI_CACHING_PAGE_LEN     20
#define SCSI_CACHING_FLAGS        2
#define SCSI_CACHING_WCE          0x04

/* READ CAPACITY parameter data (SBC-3 READ CAPACITY (10) and (16) parameter data) */
#define SCSI_READ_CAPACITY_10_LEN 8          /* RETURNED LOGICAL BLOCK ADDRESS, BLOCK LENGTH */
#define SCSI_READ_CAPACITY_16_LEN 32
#define SCSI_RC10_USE_16          0xffffffffu /* the last LBA does not fit: ask (16) */

/* Status codes (SAM-5 "Status codes") */
#define SCSI_STATUS_GOOD                 0x00
#define SCSI_STATUS_CHECK_CONDITION      0x02
#define SCSI_STATUS_CONDITION_MET        0x04
#define SCSI_STATUS_BUSY                 0x08
#define SCSI_STATUS_RESERVATION_CONFLICT 0x18
#define SCSI_STATUS_TASK_SET_FULL        0x28
#define SCSI_STATUS_ACA_ACTIVE           0x30
#define SCSI_STATUS_TASK_ABORTED         0x40

/* Sense keys (SPC-4 §4.5.6 "Sense key and additional sense code definitions") */
#define SCSI_SENSE_NO_SENSE        0x0
#define SCSI_SENSE_RECOVERED_ERROR 0x1
#define SCSI_SENSE_NOT_READY       0x2
#define SCSI_SENSE_MEDIUM_ERROR    0x3
#define SCSI_SENSE_HARDWARE_ERROR  0x4
#define SCSI_SENSE_ILLEGAL_REQUEST 0x5
#define SCSI_SENSE_UNIT_ATTENTION  0x6
#define SCSI_SENSE_DATA_PROTECT    0x7
#define SCSI_SENSE_ABORTED_COMMAND 0xb
#define SCSI_ASC_INVALID_OPCODE    0x20      /* INVALID COMMAND OPERATION CODE (SPC-4 annex D, ASC/ASCQ assignments) */

/* Sense data (SPC-4 §4.5): RESPONSE CODE in byte 0, bits 6-0. */
#define SCSI_SENSE_RESPONSE_MASK   0x7f
#define SCSI_SENSE_FIXED_CURRENT   0x70
#define SCSI_SENSE_FIXED_DEFERRED  0x71
#define SCSI_SENSE_DESC_CURRENT    0x72
#define SCSI_SENSE_DESC_DEFERRED   0x73
/* Fixed format (§4.5.3): VALID (byte 0 bit 7) says INFORMATION (bytes 3-6) is defined. */
#define SCSI_FIXED_VALID           0x80
#define SCSI_FIXED_KEY             2         /* bits 3-0 */
#define SCSI_FIXED_INFO            3
#define SCSI_FIXED_ADDITIONAL_LEN  7
#define SCSI_FIXED_ASC             12
#define SCSI_FIXED_ASCQ            13
/* Descriptor format (§4.5.2): descriptors from byte 8, each TYPE, ADDITIONAL LENGTH, ... */
#define SCSI_DESC_KEY              1         /* bits 3-0 */
#define SCSI_DESC_ASC              2
#define SCSI_DESC_ASCQ             3
#define SCSI_DESC_ADDITIONAL_LEN   7
#define SCSI_DESC_FIRST            8
#define SCSI_DESC_TYPE_INFORMATION 0x00      /* §4.5.2.2: VALID in byte 2 bit 7, INFORMATION 4-11 */
#define SCSI_DESC_INFO_VALID       0x80
#define SCSI_DESC_INFO_LEN         12
#define SCSI_SENSE_KEY_MASK        0x0f

/* Fill cdb (SCSI_CDB_MAX bytes, zeroed first) for a read or write of `blocks` logical blocks at
 * `lba`: READ/WRITE(10) when both fit, else (16). Returns the CDB length (10 or 16), 0 when
 * blocks is 0 or above the (16) limit. */
unsigned scsi_cdb_rw(uint8_t *cdb, int write, uint64_t lba, uint32_t blocks);
/* SYNCHRONIZE CACHE(10) of the whole medium (LBA 0, NUMBER OF LOGICAL BLOCKS 0). */
unsigned scsi_cdb_sync_cache(uint8_t *cdb);
/* Standard INQUIRY of `alloc` bytes (EVPD 0). */
unsigned scsi_cdb_inquiry(uint8_t *cdb, uint16_t alloc);
unsigned scsi_cdb_test_unit_ready(uint8_t *cdb);
/* MODE SENSE (6) of one page (SCSI_MODE_ALL_PAGES: every page) with DBD set, `alloc` bytes. */
unsigned scsi_cdb_mode_sense6(uint8_t *cdb, uint8_t page, uint8_t alloc);
/* The WCE bit of the Caching mode page in MODE SENSE (6) data of len bytes: 1 or 0; -1 when the
 * data holds no whole Caching page. */
int scsi_mode6_caching_wce(const uint8_t *data, unsigned len);
unsigned scsi_cdb_read_capacity10(uint8_t *cdb);
unsigned scsi_cdb_read_capacity16(uint8_t *cdb, uint32_t alloc);

/* READ CAPACITY(10) data: *last_lba (SCSI_RC10_USE_16 when the disk needs (16)) and block
 * length. READ CAPACITY(16) data likewise, with a 64-bit last LBA. */
void scsi_parse_capacity10(const uint8_t *data, uint32_t *last_lba, uint32_t *block_len);
void scsi_parse_capacity16(const uint8_t *data, uint64_t *last_lba, uint32_t *block_len);

/* Decoded sense data. */
struct scsi_sense {
	int format;             /* 0 none/unknown, 'f' fixed, 'd' descriptor */
	int deferred;           /* 0x71/0x73: about an earlier command */
	uint8_t key, asc, ascq;
	int info_valid;         /* INFORMATION holds (for reads and writes) the failing LBA */
	uint64_t info;
};
/* Decode `len` bytes of sense data (as many as the device returned). Returns 0, or -1 when it
 * is too short or of an unknown response code (out->format 0, the rest 0). */
int scsi_sense_decode(const uint8_t *sense, uint32_t len, struct scsi_sense *out);
/* "MEDIUM ERROR", ... (every one of the 16 keys has a name; 0xc is "OBSOLETE"). */
const char *scsi_sense_key_name(uint8_t key);
/* "CHECK CONDITION", ...; "UNKNOWN STATUS" for others. */
const char *scsi_status_name(uint8_t status);

#endif
