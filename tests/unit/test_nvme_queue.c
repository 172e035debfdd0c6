/*
 * The NVMe queue arithmetic (drivers/nvme_queue.c), the guest's own file compiled for the host:
 * doorbell offsets with the stride, the CQ phase tag across wraps, the shadow doorbell EventIdx
 * test (including 16-bit wrap), PRP1/PRP2/PRP lists, and the status field's SCT/SC.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>
#include "drivers/nvme_queue.h"

#define PAGE 4096ull

static void test_doorbell_offsets(void **state)
{
	(void)state;
	/* DSTRD 0: 4-byte stride, SQ0 tail at 1000h, CQ0 head at 1004h, SQ1 tail at 1008h */
	assert_int_equal(NVME_REG_DOORBELL_BASE + nvme_db_offset(0, NVME_DB_SQ_TAIL, 0), 0x1000);
	assert_int_equal(NVME_REG_DOORBELL_BASE + nvme_db_offset(0, NVME_DB_CQ_HEAD, 0), 0x1004);
	assert_int_equal(NVME_REG_DOORBELL_BASE + nvme_db_offset(1, NVME_DB_SQ_TAIL, 0), 0x1008);
	assert_int_equal(NVME_REG_DOORBELL_BASE + nvme_db_offset(1, NVME_DB_CQ_HEAD, 0), 0x100c);
	/* DSTRD 1: 8 bytes apart; DSTRD 3: 32 */
	assert_int_equal(nvme_db_offset(1, NVME_DB_SQ_TAIL, 1), 16);
	assert_int_equal(nvme_db_offset(1, NVME_DB_CQ_HEAD, 1), 24);
	assert_int_equal(nvme_db_offset(2, NVME_DB_CQ_HEAD, 3), 5 * 32);
}

static void test_ring(void **state)
{
	(void)state;
	assert_int_equal(nvme_ring_next(0, 4), 1);
	assert_int_equal(nvme_ring_next(3, 4), 0);
	assert_false(nvme_ring_full(0, 0, 4));       /* empty */
	assert_true(nvme_ring_full(0, 3, 4));        /* tail one behind head */
	assert_true(nvme_ring_full(2, 1, 4));
	assert_false(nvme_ring_full(2, 2, 4));
}

/* The controller posts entries with phase 1 on the first lap, 0 on the second, ... */
static void test_phase(void **state)
{
	(void)state;
	struct nvme_cq_cursor c;
	nvme_cq_cursor_init(&c, 3);
	assert_false(nvme_cqe_is_new(&c, 0));        /* zeroed memory: nothing yet */
	for (unsigned lap = 0; lap < 4; lap++) {
		uint16_t posted = (uint16_t)((lap & 1) ? 0 : 1);
		for (unsigned i = 0; i < 3; i++) {
			assert_int_equal(c.head, i);
			assert_true(nvme_cqe_is_new(&c, posted | 0x8000));
			assert_false(nvme_cqe_is_new(&c, (uint16_t)(posted ^ 1)));
			nvme_cq_advance(&c);
		}
		assert_int_equal(c.head, 0);
	}
}

static void test_need_mmio(void **state)
{
	(void)state;
	/* the controller saw up to 4 (EventIdx 4): moving 4 -> 5 covers it */
	assert_true(nvme_dbbuf_need_mmio(4, 5, 4));
	/* EventIdx 4 lies in [3, 7): moving 3 -> 7 covers it */
	assert_true(nvme_dbbuf_need_mmio(4, 7, 3));
	/* the controller is still behind (EventIdx 2, not in [4, 6)): no register write */
	assert_false(nvme_dbbuf_need_mmio(2, 6, 4));
	/* EventIdx ahead of the new value: not yet */
	assert_false(nvme_dbbuf_need_mmio(9, 6, 4));
	/* nothing new: never */
	assert_false(nvme_dbbuf_need_mmio(4, 4, 4));
	/* modulo 2^16 */
	assert_true(nvme_dbbuf_need_mmio(0xffff, 1, 0xfffe));
	assert_false(nvme_dbbuf_need_mmio(0xfff0, 1, 0xfffe));
	/* queue indices wrap at the queue size (8 here), not at 2^16: moving 6 -> 1 covers entries
	 * 6, 7 and 0, and nothing else */
	assert_true(nvme_dbbuf_need_mmio(6, 1, 6));
	assert_true(nvme_dbbuf_need_mmio(7, 1, 6));
	assert_true(nvme_dbbuf_need_mmio(0, 1, 6));
	assert_false(nvme_dbbuf_need_mmio(1, 1, 6));
	assert_false(nvme_dbbuf_need_mmio(3, 1, 6));
	assert_false(nvme_dbbuf_need_mmio(5, 1, 6));
	assert_true(nvme_dbbuf_need_mmio(7, 0, 7));
}

static void test_prp(void **state)
{
	(void)state;
	uint64_t list[512], p1, p2;
	/* within one page */
	assert_int_equal(nvme_prp_build(0x100000, 4096, PAGE, list, 512, 0x9000, &p1, &p2), 0);
	assert_int_equal(p1, 0x100000);
	assert_int_equal(p2, 0);
	assert_int_equal(nvme_prp_build(0x100200, 512, PAGE, list, 512, 0x9000, &p1, &p2), 0);
	assert_int_equal(p2, 0);
	/* two pages: PRP2 is the second page */
	assert_int_equal(nvme_prp_build(0x100000, 8192, PAGE, list, 512, 0x9000, &p1, &p2), 0);
	assert_int_equal(p2, 0x101000);
	/* an offset into the first page pushes 4 KiB over two pages */
	assert_int_equal(nvme_prp_build(0x100800, 4096, PAGE, list, 512, 0x9000, &p1, &p2), 0);
	assert_int_equal(p1, 0x100800);
	assert_int_equal(p2, 0x101000);
	/* three pages: a list of the pages after the first */
	list[2] = 0xdead;
	assert_int_equal(nvme_prp_build(0x100000, 12288, PAGE, list, 512, 0x9000, &p1, &p2), 0);
	assert_int_equal(p2, 0x9000);
	assert_int_equal(list[0], 0x101000);
	assert_int_equal(list[1], 0x102000);
	assert_int_equal(list[2], 0xdead);           /* nothing past the last page */
	/* 1 MiB with an offset: 256 pages after the first */
	assert_int_equal(nvme_prp_build(0x200200, 1 << 20, PAGE, list, 512, 0x9000, &p1, &p2), 0);
	assert_int_equal(list[255], 0x200000 + 256 * PAGE);
	/* refusals: empty, not dword aligned, list too small */
	assert_int_equal(nvme_prp_build(0x100000, 0, PAGE, list, 512, 0x9000, &p1, &p2), -1);
	assert_int_equal(nvme_prp_build(0x100002, 512, PAGE, list, 512, 0x9000, &p1, &p2), -1);
	assert_int_equal(nvme_prp_build(0x100000, 4 * PAGE, PAGE, list, 2, 0x9000, &p1, &p2), -1);
}

static void test_status(void **state)
{
	(void)state;
	/* Unrecovered Read Error: SCT 2h, SC 81h, phase 1: halfword (0x281 << 1) | 1 */
	uint16_t sp = (uint16_t)(0x281 << 1 | 1);
	uint16_t st = nvme_cqe_status(sp);
	assert_int_equal(st, 0x281);
	assert_int_equal(nvme_status_sct(st), NVME_SCT_MEDIA);
	assert_int_equal(nvme_status_sc(st), 0x81);
	assert_string_equal(nvme_sct_name(NVME_SCT_MEDIA), "NVMe media or data integrity error");
	/* DNR set, generic Invalid Command Opcode */
	st = nvme_cqe_status((uint16_t)((NVME_STATUS_DNR | NVME_SC_INVALID_OPCODE) << 1));
	assert_int_equal(nvme_status_sct(st), NVME_SCT_GENERIC);
	assert_int_equal(nvme_status_sc(st), NVME_SC_INVALID_OPCODE);
	assert_int_equal(nvme_cqe_status(1), 0);    /* success with phase 1 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doorbell_offsets),
		cmocka_unit_test(test_ring),
		cmocka_unit_test(test_phase),
		cmocka_unit_test(test_need_mmio),
		cmocka_unit_test(test_prp),
		cmocka_unit_test(test_status),
	};
	return cmocka_run_group_tests_name("nvme_queue", tests, NULL, NULL);
}
