/*
 * The SCSI commands and sense decoder of the virtio-scsi driver (drivers/scsi.c), the guest's own
 * file compiled for the host: READ/WRITE(10) while the LBA and length fit, (16) beyond, every
 * field big-endian; READ CAPACITY data; fixed and descriptor sense data, with the INFORMATION
 * field and truncated buffers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "drivers/scsi.h"

static uint8_t cdb[SCSI_CDB_MAX];

static void test_rw10(void **state)
{
	(void)state;
	memset(cdb, 0xee, sizeof(cdb));
	assert_int_equal(scsi_cdb_rw(cdb, 0, 0x12345678, 8), 10);
	static const uint8_t want[10] = { 0x28, 0, 0x12, 0x34, 0x56, 0x78, 0, 0, 8, 0 };
	assert_memory_equal(cdb, want, 10);
	for (int i = 10; i < SCSI_CDB_MAX; i++)
		assert_int_equal(cdb[i], 0); /* the rest cleared */
	assert_int_equal(scsi_cdb_rw(cdb, 1, 2048, 2048), 10);
	assert_int_equal(cdb[0], SCSI_OP_WRITE_10);
	assert_int_equal(cdb[7], 0x08);
	assert_int_equal(cdb[8], 0x00);
	/* the last block that (10) can reach: LBA 2^32 - 1, one block */
	assert_int_equal(scsi_cdb_rw(cdb, 0, 0xffffffffull, 1), 10);
	assert_int_equal(scsi_cdb_rw(cdb, 0, 0, 0xffff), 10);
}

static void test_rw16(void **state)
{
	(void)state;
	/* an LBA above 32 bits */
	assert_int_equal(scsi_cdb_rw(cdb, 0, 0x123456789aull, 16), 16);
	static const uint8_t want[16] = { 0x88, 0, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0x9a,
					  0, 0, 0, 16, 0, 0 };
	assert_memory_equal(cdb, want, 16);
	/* a request that starts below 2^32 but runs past it */
	assert_int_equal(scsi_cdb_rw(cdb, 1, 0xfffffff8ull, 16), 16);
	assert_int_equal(cdb[0], SCSI_OP_WRITE_16);
	assert_int_equal(cdb[9], 0xf8);
	assert_int_equal(cdb[6], 0xff);
	assert_int_equal(cdb[5], 0x00);
	/* a length above 16 bits */
	assert_int_equal(scsi_cdb_rw(cdb, 0, 0, 0x10000), 16);
	assert_int_equal(cdb[11], 0x01);
	assert_int_equal(cdb[12], 0x00);
	/* nothing to move: no command */
	assert_int_equal(scsi_cdb_rw(cdb, 0, 0, 0), 0);
}

static void test_other_cdbs(void **state)
{
	(void)state;
	assert_int_equal(scsi_cdb_sync_cache(cdb), 10);
	static const uint8_t sync[10] = { 0x35 };
	assert_memory_equal(cdb, sync, 10);
	assert_int_equal(scsi_cdb_inquiry(cdb, SCSI_INQUIRY_LEN), 6);
	static const uint8_t inq[6] = { 0x12, 0, 0, 0, 36, 0 };
	assert_memory_equal(cdb, inq, 6);
	assert_int_equal(scsi_cdb_test_unit_ready(cdb), 6);
	static const uint8_t tur[6] = { 0 };
	assert_memory_equal(cdb, tur, 6);
	assert_int_equal(scsi_cdb_mode_sense6(cdb, SCSI_MODE_ALL_PAGES, 4), 6);
	static const uint8_t ms[6] = { 0x1a, 0x08, 0x3f, 0, 4, 0 };
	assert_memory_equal(cdb, ms, 6);
	assert_int_equal(scsi_cdb_mode_sense6(cdb, SCSI_MODE_PAGE_CACHING, 24), 6);
	static const uint8_t ms8[6] = { 0x1a, 0x08, 0x08, 0, 24, 0 };
	assert_memory_equal(cdb, ms8, 6);
	assert_int_equal(scsi_cdb_read_capacity10(cdb), 10);
	assert_int_equal(cdb[0], 0x25);
	assert_int_equal(scsi_cdb_read_capacity16(cdb, 32), 16);
	static const uint8_t rc16[16] = { 0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0 };
	assert_memory_equal(cdb, rc16, 16);
}

/* The Caching mode page's WCE after the header and any block descriptors; -1 where the data holds
 * no whole Caching page (short, or another page first) */
static void test_caching_wce(void **state)
{
	uint8_t d[40] = { 23, 0, 0, 0, 0x08, 0x12, 0x04 };

	(void)state;
	assert_int_equal(scsi_mode6_caching_wce(d, 24), 1);
	d[6] = 0x01; /* RCD only */
	assert_int_equal(scsi_mode6_caching_wce(d, 24), 0);
	d[4] = 0x88; /* PS set: still page 08h */
	assert_int_equal(scsi_mode6_caching_wce(d, 24), 0);
	assert_int_equal(scsi_mode6_caching_wce(d, 23), -1);  /* the page cut short */
	assert_int_equal(scsi_mode6_caching_wce(d, 3), -1);   /* not even the header */
	d[4] = 0x0a;                                          /* the Control page, not Caching */
	assert_int_equal(scsi_mode6_caching_wce(d, 24), -1);
	memset(d, 0, sizeof(d));                              /* an 8-byte block descriptor */
	d[3] = 8;
	d[12] = 0x08;
	d[14] = 0x04;
	assert_int_equal(scsi_mode6_caching_wce(d, 32), 1);
	assert_int_equal(scsi_mode6_caching_wce(d, 31), -1);
}

static void test_capacity(void **state)
{
	(void)state;
	static const uint8_t rc10[8] = { 0x00, 0x1f, 0xff, 0xff, 0x00, 0x00, 0x02, 0x00 };
	uint32_t last32, len;
	scsi_parse_capacity10(rc10, &last32, &len);
	assert_int_equal(last32, 0x1fffff);
	assert_int_equal(len, 512);
	static const uint8_t big10[8] = { 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x10, 0x00 };
	scsi_parse_capacity10(big10, &last32, &len);
	assert_int_equal(last32, SCSI_RC10_USE_16);
	assert_int_equal(len, 4096);
	static const uint8_t rc16[12] = { 0, 0, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 2, 0 };
	uint64_t last;
	scsi_parse_capacity16(rc16, &last, &len);
	assert_int_equal(last, 0x1ffffffffffull);
	assert_int_equal(len, 512);
}

static void test_sense_fixed(void **state)
{
	(void)state;
	struct scsi_sense s;
	/* QEMU's EIO: ABORTED COMMAND, I/O PROCESS TERMINATED (0x00/0x06), no INFORMATION */
	uint8_t eio[18] = { 0x70, 0, 0x0b, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x00, 0x06 };
	assert_int_equal(scsi_sense_decode(eio, sizeof(eio), &s), 0);
	assert_int_equal(s.format, 'f');
	assert_int_equal(s.key, SCSI_SENSE_ABORTED_COMMAND);
	assert_int_equal(s.asc, 0x00);
	assert_int_equal(s.ascq, 0x06);
	assert_int_equal(s.info_valid, 0);
	assert_int_equal(s.deferred, 0);
	/* MEDIUM ERROR, UNRECOVERED READ ERROR (0x11/0x00), VALID with the LBA in INFORMATION */
	uint8_t med[18] = { 0xf0, 0, 0x03, 0x00, 0x01, 0x23, 0x45, 10, 0, 0, 0, 0, 0x11, 0x00 };
	assert_int_equal(scsi_sense_decode(med, sizeof(med), &s), 0);
	assert_int_equal(s.key, SCSI_SENSE_MEDIUM_ERROR);
	assert_int_equal(s.asc, 0x11);
	assert_int_equal(s.info_valid, 1);
	assert_int_equal(s.info, 0x12345);
	/* deferred */
	med[0] = 0x71;
	assert_int_equal(scsi_sense_decode(med, sizeof(med), &s), 0);
	assert_int_equal(s.deferred, 1);
	assert_int_equal(s.info_valid, 0); /* VALID clear */
	/* truncated: the key but not ASC/ASCQ (and ADDITIONAL SENSE LENGTH too short for them) */
	assert_int_equal(scsi_sense_decode(eio, 8, &s), 0);
	assert_int_equal(s.key, SCSI_SENSE_ABORTED_COMMAND);
	assert_int_equal(s.asc, 0);
	assert_int_equal(s.ascq, 0);
	eio[7] = 4; /* additional length ends before ASC */
	assert_int_equal(scsi_sense_decode(eio, sizeof(eio), &s), 0);
	assert_int_equal(s.ascq, 0);
	assert_int_equal(scsi_sense_decode(eio, 2, &s), -1);
	assert_int_equal(scsi_sense_decode(eio, 0, &s), -1);
	/* an unknown response code */
	uint8_t junk[18] = { 0x7f, 0, 0x03 };
	assert_int_equal(scsi_sense_decode(junk, sizeof(junk), &s), -1);
	assert_int_equal(s.format, 0);
	assert_int_equal(s.key, 0);
}

static void test_sense_descriptor(void **state)
{
	(void)state;
	struct scsi_sense s;
	/* MEDIUM ERROR 0x11/0x00; a vendor descriptor (type 0x80, 2 bytes), then INFORMATION
	 * (type 0, additional length 10, VALID) holding LBA 0x1_0000_0002 */
	uint8_t d[8 + 4 + 12] = { 0x72, 0x03, 0x11, 0x00, 0, 0, 0, 16,
				  0x80, 0x02, 0xaa, 0xbb,
				  0x00, 0x0a, 0x80, 0x00, 0, 0, 0, 0x01, 0, 0, 0, 0x02 };
	assert_int_equal(scsi_sense_decode(d, sizeof(d), &s), 0);
	assert_int_equal(s.format, 'd');
	assert_int_equal(s.key, SCSI_SENSE_MEDIUM_ERROR);
	assert_int_equal(s.asc, 0x11);
	assert_int_equal(s.ascq, 0x00);
	assert_int_equal(s.info_valid, 1);
	assert_int_equal(s.info, 0x100000002ull);
	/* the INFORMATION descriptor cut off by the buffer: ignored */
	assert_int_equal(scsi_sense_decode(d, 20, &s), 0);
	assert_int_equal(s.info_valid, 0);
	assert_int_equal(s.key, SCSI_SENSE_MEDIUM_ERROR);
	/* ... or by ADDITIONAL SENSE LENGTH */
	d[7] = 4;
	assert_int_equal(scsi_sense_decode(d, sizeof(d), &s), 0);
	assert_int_equal(s.info_valid, 0);
	/* VALID clear */
	d[7] = 16;
	d[14] = 0;
	assert_int_equal(scsi_sense_decode(d, sizeof(d), &s), 0);
	assert_int_equal(s.info_valid, 0);
	/* deferred, header only */
	uint8_t h[8] = { 0x73, 0x06, 0x29, 0x00, 0, 0, 0, 0 };
	assert_int_equal(scsi_sense_decode(h, sizeof(h), &s), 0);
	assert_int_equal(s.deferred, 1);
	assert_int_equal(s.key, SCSI_SENSE_UNIT_ATTENTION);
	assert_int_equal(s.asc, 0x29);
	assert_int_equal(scsi_sense_decode(h, 3, &s), -1);
	/* a descriptor whose length runs past the end does not read past it */
	uint8_t loop[10] = { 0x72, 0x05, 0x24, 0x00, 0, 0, 0, 2, 0x01, 0xff };
	assert_int_equal(scsi_sense_decode(loop, sizeof(loop), &s), 0);
	assert_int_equal(s.key, SCSI_SENSE_ILLEGAL_REQUEST);
	assert_int_equal(s.info_valid, 0);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(scsi_sense_key_name(SCSI_SENSE_MEDIUM_ERROR), "MEDIUM ERROR");
	assert_string_equal(scsi_sense_key_name(SCSI_SENSE_ABORTED_COMMAND), "ABORTED COMMAND");
	assert_string_equal(scsi_sense_key_name(SCSI_SENSE_DATA_PROTECT), "DATA PROTECT");
	assert_string_equal(scsi_sense_key_name(0xf), "COMPLETED");
	assert_string_equal(scsi_status_name(SCSI_STATUS_CHECK_CONDITION), "CHECK CONDITION");
	assert_string_equal(scsi_status_name(SCSI_STATUS_TASK_SET_FULL), "TASK SET FULL");
	assert_string_equal(scsi_status_name(0x7e), "UNKNOWN STATUS");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rw10),
		cmocka_unit_test(test_rw16),
		cmocka_unit_test(test_other_cdbs),
		cmocka_unit_test(test_capacity),
		cmocka_unit_test(test_caching_wce),
		cmocka_unit_test(test_sense_fixed),
		cmocka_unit_test(test_sense_descriptor),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests_name("scsi", tests, NULL, NULL);
}
