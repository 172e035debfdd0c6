/* SCSI CDBs, READ CAPACITY data and sense data (scsi.h): the guest's virtio-scsi driver and
 * host unit tests. */
#include "scsi.h"

/* Big-endian fields (SPC-4 §3.5.3: the most significant byte first). */
static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static void clear(uint8_t *cdb)
{
	for (unsigned i = 0; i < SCSI_CDB_MAX; i++)
		cdb[i] = 0;
}

/* READ/WRITE (10): OPERATION CODE, flags, LOGICAL BLOCK ADDRESS (bytes 2-5), group, TRANSFER
 * LENGTH (bytes 7-8), CONTROL. (16): LOGICAL BLOCK ADDRESS bytes 2-9, TRANSFER LENGTH 10-13. */
#define RW10_LBA     2
#define RW10_LENGTH  7
#define RW16_LBA     2
#define RW16_LENGTH  10

unsigned scsi_cdb_rw(uint8_t *cdb, int write, uint64_t lba, uint32_t blocks)
{
	clear(cdb);
	if (blocks == 0)
		return 0;
	if (lba <= SCSI_RW10_MAX_LBA && blocks <= SCSI_RW10_MAX_BLOCKS &&
	    lba + blocks - 1 <= SCSI_RW10_MAX_LBA) {
		cdb[0] = write ? SCSI_OP_WRITE_10 : SCSI_OP_READ_10;
		put_be32(cdb + RW10_LBA, (uint32_t)lba);
		put_be16(cdb + RW10_LENGTH, (uint16_t)blocks);
		return SCSI_CDB10_LEN;
	}
	cdb[0] = write ? SCSI_OP_WRITE_16 : SCSI_OP_READ_16;
	put_be64(cdb + RW16_LBA, lba);
	put_be32(cdb + RW16_LENGTH, blocks);
	return SCSI_CDB16_LEN;
}

unsigned scsi_cdb_sync_cache(uint8_t *cdb)
{
	clear(cdb);
	cdb[0] = SCSI_OP_SYNCHRONIZE_CACHE_10; /* LBA 0 and 0 blocks: the whole medium */
	return SCSI_CDB10_LEN;
}

#define INQUIRY_ALLOC 3 /* ALLOCATION LENGTH, bytes 3-4 */

unsigned scsi_cdb_inquiry(uint8_t *cdb, uint16_t alloc)
{
	clear(cdb);
	cdb[0] = SCSI_OP_INQUIRY;
	put_be16(cdb + INQUIRY_ALLOC, alloc);
	return SCSI_CDB6_LEN;
}

unsigned scsi_cdb_test_unit_ready(uint8_t *cdb)
{
	clear(cdb);
	cdb[0] = SCSI_OP_TEST_UNIT_READY;
	return SCSI_CDB6_LEN;
}

#define MODE_SENSE6_FLAGS 1     /* DBD: bit 3 */
#define MODE_SENSE6_DBD   0x08
#define MODE_SENSE6_PAGE  2     /* PC (bits 7-6, 0: current values) and PAGE CODE */
#define MODE_SENSE6_ALLOC 4

unsigned scsi_cdb_mode_sense6(uint8_t *cdb, uint8_t page, uint8_t alloc)
{
	clear(cdb);
	cdb[0] = SCSI_OP_MODE_SENSE_6;
	cdb[MODE_SENSE6_FLAGS] = MODE_SENSE6_DBD;
	cdb[MODE_SENSE6_PAGE] = page & SCSI_MODE_PAGE_CODE_MASK;
	cdb[MODE_SENSE6_ALLOC] = alloc;
	return SCSI_CDB6_LEN;
}

int scsi_mode6_caching_wce(const uint8_t *data, unsigned len)
{
	if (len < SCSI_MODE_HEADER6_LEN)
		return -1;
	unsigned off = SCSI_MODE_HEADER6_LEN + data[SCSI_MODE6_BLOCK_DESC_LEN];
	if (off + SCSI_CACHING_PAGE_LEN > len ||
	    (data[off] & SCSI_MODE_PAGE_CODE_MASK) != SCSI_MODE_PAGE_CACHING)
		return -1;
	return (data[off + SCSI_CACHING_FLAGS] & SCSI_CACHING_WCE) != 0;
}

unsigned scsi_cdb_read_capacity10(uint8_t *cdb)
{
	clear(cdb);
	cdb[0] = SCSI_OP_READ_CAPACITY_10;
	return SCSI_CDB10_LEN;
}

#define RC16_SERVICE_ACTION 1   /* bits 4-0 */
#define RC16_ALLOC          10  /* ALLOCATION LENGTH, bytes 10-13 */

unsigned scsi_cdb_read_capacity16(uint8_t *cdb, uint32_t alloc)
{
	clear(cdb);
	cdb[0] = SCSI_OP_SERVICE_ACTION_IN_16;
	cdb[RC16_SERVICE_ACTION] = SCSI_SA_READ_CAPACITY_16;
	put_be32(cdb + RC16_ALLOC, alloc);
	return SCSI_CDB16_LEN;
}

/* RETURNED LOGICAL BLOCK ADDRESS, then LOGICAL BLOCK LENGTH IN BYTES. */
void scsi_parse_capacity10(const uint8_t *data, uint32_t *last_lba, uint32_t *block_len)
{
	*last_lba = get_be32(data);
	*block_len = get_be32(data + 4);
}

void scsi_parse_capacity16(const uint8_t *data, uint64_t *last_lba, uint32_t *block_len)
{
	*last_lba = get_be64(data);
	*block_len = get_be32(data + 8);
}

int scsi_sense_decode(const uint8_t *sense, uint32_t len, struct scsi_sense *out)
{
	*out = (struct scsi_sense){ 0 };
	if (len < 1)
		return -1;
	uint8_t code = sense[0] & SCSI_SENSE_RESPONSE_MASK;
	if (code == SCSI_SENSE_FIXED_CURRENT || code == SCSI_SENSE_FIXED_DEFERRED) {
		if (len <= SCSI_FIXED_KEY)
			return -1;
		out->format = 'f';
		out->deferred = code == SCSI_SENSE_FIXED_DEFERRED;
		out->key = sense[SCSI_FIXED_KEY] & SCSI_SENSE_KEY_MASK;
		/* ASC/ASCQ only when the device returned them and ADDITIONAL SENSE LENGTH covers them */
		uint32_t avail = len > SCSI_FIXED_ADDITIONAL_LEN
			? SCSI_FIXED_ADDITIONAL_LEN + 1u + sense[SCSI_FIXED_ADDITIONAL_LEN] : 0;
		if (avail > len)
			avail = len;
		if (avail > SCSI_FIXED_ASCQ) {
			out->asc = sense[SCSI_FIXED_ASC];
			out->ascq = sense[SCSI_FIXED_ASCQ];
		}
		if ((sense[0] & SCSI_FIXED_VALID) && len >= SCSI_FIXED_INFO + 4) {
			out->info_valid = 1;
			out->info = get_be32(sense + SCSI_FIXED_INFO);
		}
		return 0;
	}
	if (code == SCSI_SENSE_DESC_CURRENT || code == SCSI_SENSE_DESC_DEFERRED) {
		if (len <= SCSI_DESC_ASCQ)
			return -1;
		out->format = 'd';
		out->deferred = code == SCSI_SENSE_DESC_DEFERRED;
		out->key = sense[SCSI_DESC_KEY] & SCSI_SENSE_KEY_MASK;
		out->asc = sense[SCSI_DESC_ASC];
		out->ascq = sense[SCSI_DESC_ASCQ];
		if (len <= SCSI_DESC_ADDITIONAL_LEN)
			return 0;
		uint32_t end = SCSI_DESC_FIRST + sense[SCSI_DESC_ADDITIONAL_LEN];
		if (end > len)
			end = len;
		/* Walk the descriptors: TYPE, ADDITIONAL LENGTH (bytes after these two), data. */
		for (uint32_t at = SCSI_DESC_FIRST; at + 2 <= end; at += 2u + sense[at + 1]) {
			if (sense[at] == SCSI_DESC_TYPE_INFORMATION && at + SCSI_DESC_INFO_LEN <= end) {
				out->info_valid = (sense[at + 2] & SCSI_DESC_INFO_VALID) != 0;
				out->info = get_be64(sense + at + 4);
				break;
			}
		}
		return 0;
	}
	return -1;
}

const char *scsi_sense_key_name(uint8_t key)
{
	static const char *const names[] = {
		"NO SENSE", "RECOVERED ERROR", "NOT READY", "MEDIUM ERROR", "HARDWARE ERROR",
		"ILLEGAL REQUEST", "UNIT ATTENTION", "DATA PROTECT", "BLANK CHECK", "VENDOR SPECIFIC",
		"COPY ABORTED", "ABORTED COMMAND", "OBSOLETE", "VOLUME OVERFLOW", "MISCOMPARE",
		"COMPLETED",
	};
	return names[key & SCSI_SENSE_KEY_MASK];
}

const char *scsi_status_name(uint8_t status)
{
	switch (status) {
	case SCSI_STATUS_GOOD: return "GOOD";
	case SCSI_STATUS_CHECK_CONDITION: return "CHECK CONDITION";
	case SCSI_STATUS_CONDITION_MET: return "CONDITION MET";
	case SCSI_STATUS_BUSY: return "BUSY";
	case SCSI_STATUS_RESERVATION_CONFLICT: return "RESERVATION CONFLICT";
	case SCSI_STATUS_TASK_SET_FULL: return "TASK SET FULL";
	case SCSI_STATUS_ACA_ACTIVE: return "ACA ACTIVE";
	case SCSI_STATUS_TASK_ABORTED: return "TASK ABORTED";
	default: return "UNKNOWN STATUS";
	}
}
