/*
 * The split virtqueue (drivers/virtq.c), the guest's own file compiled for the host: ring
 * layout, the free list, 16-bit index wrap, EVENT_IDX (vring_need_event), notification and
 * interrupt suppression, indirect descriptors. The tests play the device: they write used
 * elements and used idx as a device would, and read what the driver published.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "drivers/virtq.h"

#define QSIZE 8

struct fixture {
	struct virtq q;
	void *ring;
	void *cookies[QSIZE];
	uint8_t buf[4][512];
};

static struct fixture *setup(int event_idx)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct virtq_layout l = virtq_layout(QSIZE);

	assert_non_null(f);
	f->ring = aligned_alloc(VIRTQ_LEGACY_ALIGN, l.bytes);
	assert_non_null(f->ring);
	memset(f->ring, 0, l.bytes);
	virtq_init(&f->q, QSIZE, f->ring, f->cookies, event_idx);
	return f;
}

static void teardown(struct fixture *f)
{
	free(f->ring);
	free(f);
}

/* The device completes the chain at `head`, having written `len` bytes. */
static void device_complete(struct virtq *q, uint16_t head, uint32_t len)
{
	uint16_t idx = q->used->idx;
	q->used->ring[idx & (q->size - 1)] = (struct virtq_used_elem){ head, len };
	q->used->idx = (uint16_t)(idx + 1);
}

/* Descriptor indices of the chain starting at head, following NEXT. */
static unsigned chain_of(const struct virtq *q, uint16_t head, uint16_t *out, unsigned max)
{
	unsigned n = 0;
	uint16_t i = head;
	for (;;) {
		assert_true(n < max);
		out[n++] = i;
		if (!(q->desc[i].flags & VIRTQ_DESC_F_NEXT))
			return n;
		i = q->desc[i].next;
	}
}

static void test_layout(void **state)
{
	(void)state;
	/* Legacy layout: descriptors, avail ring (+ used_event), used ring (+ avail_event) on the
	 * next 4096. Queue size 256: 4096 + 518 -> 8192, + 2054 -> 4096: 12288 bytes. */
	struct virtq_layout l = virtq_layout(256);
	assert_int_equal(l.avail_off, 4096);
	assert_int_equal(l.used_off, 8192);
	assert_int_equal(l.bytes, 12288);
	l = virtq_layout(128);
	assert_int_equal(l.avail_off, 2048);
	assert_int_equal(l.used_off, 4096);
	assert_int_equal(l.bytes, 8192);
	l = virtq_layout(1024); /* 16384 + 2054 -> 20480; 8198 -> 12288 */
	assert_int_equal(l.used_off, 20480);
	assert_int_equal(l.bytes, 32768);

	struct fixture *f = setup(1);
	struct virtq *q = &f->q;
	uint8_t *base = f->ring;
	assert_ptr_equal(q->desc, base);
	assert_ptr_equal(q->avail, base + 128);
	assert_ptr_equal(q->used, base + 4096);
	/* used_event after the avail ring, avail_event after the used ring (§2.7.10) */
	assert_ptr_equal(q->used_event, base + 128 + 4 + 2 * QSIZE);
	assert_ptr_equal(q->avail_event, base + 4096 + 4 + 8 * QSIZE);
	assert_int_equal(q->num_free, QSIZE);
	assert_int_equal(q->free_head, 0);
	teardown(f);
}

static void test_need_event(void **state)
{
	static const struct { uint16_t event, new_idx, old_idx; int want; } cases[] = {
		{ 0, 1, 0, 1 },           /* the device waits for entry 0: it was just added */
		{ 1, 1, 0, 0 },           /* it waits for entry 1: not there yet */
		{ 2, 3, 0, 1 },           /* inside a batch of three */
		{ 3, 3, 0, 0 },
		{ 5, 5, 5, 0 },           /* nothing published */
		{ 65535, 0, 65535, 1 },   /* the one entry added crosses the wrap */
		{ 0, 0, 65535, 0 },
		{ 65534, 2, 65534, 1 },   /* a batch of four across the wrap: 65534 65535 0 1 */
		{ 1, 2, 65534, 1 },
		{ 2, 2, 65534, 0 },
		{ 65533, 2, 65534, 0 },   /* before the batch: already passed, no notification */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (virtq_need_event(cases[i].event, cases[i].new_idx, cases[i].old_idx) != cases[i].want)
			fail_msg("need_event(event=%u, new=%u, old=%u) != %d", cases[i].event,
				 cases[i].new_idx, cases[i].old_idx, cases[i].want);
}

static void test_chain_and_free_list(void **state)
{
	struct fixture *f = setup(0);
	struct virtq *q = &f->q;
	uint16_t ids[QSIZE];
	int c0 = 0, c1 = 1;
	(void)state;

	/* header (out), data (in), status (in): three descriptors */
	struct virtq_buf req[3] = {
		{ f->buf[0], 16, 0 }, { f->buf[1], 512, 1 }, { f->buf[2], 1, 1 },
	};
	assert_int_equal(virtq_add_chain(q, req, 3, &c0), 0);
	assert_int_equal(chain_of(q, 0, ids, QSIZE), 3);
	assert_int_equal(q->desc[0].flags, VIRTQ_DESC_F_NEXT);
	assert_int_equal(q->desc[1].flags, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE);
	assert_int_equal(q->desc[2].flags, VIRTQ_DESC_F_WRITE);
	assert_int_equal(q->desc[1].addr, (uint64_t)(uintptr_t)f->buf[1]);
	assert_int_equal(q->desc[1].len, 512);
	assert_int_equal(q->num_free, 5);
	assert_int_equal(q->free_head, 3);
	assert_int_equal(q->avail->ring[0], 0);
	assert_int_equal(q->avail->idx, 0); /* not published yet */
	assert_int_equal(q->avail_idx, 1);

	assert_int_equal(virtq_add_chain(q, req, 2, &c1), 3);
	assert_int_equal(q->num_free, 3);
	assert_int_equal(virtq_add_chain(q, req, 3, &c1), 5);
	assert_int_equal(q->num_free, 0);
	assert_int_equal(virtq_add_chain(q, req, 1, &c1), -1); /* full */
	assert_int_equal(virtq_add_chain(q, req, 0, &c1), -1);

	/* Nothing used yet. Then the device completes the first chain. */
	uint32_t len = 0;
	assert_null(virtq_get_used(q, &len));
	device_complete(q, 0, 513);
	assert_ptr_equal(virtq_get_used(q, &len), &c0);
	assert_int_equal(len, 513);
	assert_int_equal(q->num_free, 3);
	assert_int_equal(q->free_head, 0);     /* the chain is the new free head ... */
	assert_int_equal(q->desc[2].next, 8);  /* ... its tail points at the old one (none left) */
	assert_null(virtq_get_used(q, &len));

	/* Out of order: the third chain (5, 6, 7) completes before the second (3, 4). */
	device_complete(q, 5, 0);
	assert_ptr_equal(virtq_get_used(q, NULL), &c1);
	device_complete(q, 3, 0);
	assert_ptr_equal(virtq_get_used(q, NULL), &c1);
	assert_int_equal(q->num_free, QSIZE);
	/* Every descriptor is free again, each exactly once: a chain of all eight takes them. */
	struct virtq_buf all[QSIZE];
	for (int i = 0; i < QSIZE; i++)
		all[i] = (struct virtq_buf){ f->buf[0], 1, 0 };
	int head = virtq_add_chain(q, all, QSIZE, &c0);
	assert_int_equal(head, 3);
	assert_int_equal(chain_of(q, (uint16_t)head, ids, QSIZE), QSIZE);
	static const uint16_t order[QSIZE] = { 3, 4, 5, 6, 7, 0, 1, 2 };
	assert_memory_equal(ids, order, sizeof(order));
	teardown(f);
}

/* Indices are free-running 16-bit counters: 65535 + 1 is 0, and the ring slot is idx & 7. */
static void test_index_wrap(void **state)
{
	struct fixture *f = setup(0);
	struct virtq *q = &f->q;
	int c = 7;
	(void)state;

	struct virtq_buf b = { f->buf[0], 64, 0 };
	assert_int_equal(virtq_add_chain(q, &b, 1, &c), 0); /* in flight throughout */
	for (int i = 0; i < QSIZE; i++)
		q->avail->ring[i] = 0xffff;
	q->avail_idx = q->kicked_idx = 65535;
	q->avail->idx = 65535;
	q->last_used = 65535;
	q->used->idx = 65535;
	int head = virtq_add_chain(q, &b, 1, &c);
	assert_int_equal(head, 1);
	assert_int_equal(q->avail->ring[65535 & (QSIZE - 1)], head);
	assert_int_equal(q->avail->ring[0], 0xffff);
	assert_int_equal(q->avail_idx, 0);
	assert_int_equal(virtq_publish(q), 1);
	assert_int_equal(q->avail->idx, 0);
	assert_int_equal(q->kicked_idx, 0);

	device_complete(q, (uint16_t)head, 64); /* used ring slot 7, used idx 65535 -> 0 */
	assert_int_equal(q->used->idx, 0);
	uint32_t len = 0;
	assert_ptr_equal(virtq_get_used(q, &len), &c);
	assert_int_equal(len, 64);
	assert_int_equal(q->last_used, 0);
	assert_null(virtq_get_used(q, &len));

	/* The next one lands in slot 0 of both rings. */
	head = virtq_add_chain(q, &b, 1, &c);
	assert_int_equal(q->avail->ring[0], head);
	assert_int_equal(virtq_publish(q), 1);
	assert_int_equal(q->avail->idx, 1);
	teardown(f);
}

static void test_notify_suppression(void **state)
{
	struct fixture *f = setup(0);
	struct virtq *q = &f->q;
	struct virtq_buf b = { f->buf[0], 64, 0 };
	int c = 0;
	(void)state;

	/* Without EVENT_IDX: the device's NO_NOTIFY flag decides. */
	virtq_add_chain(q, &b, 1, &c);
	assert_int_equal(virtq_publish(q), 1);
	q->used->flags = VIRTQ_USED_F_NO_NOTIFY;
	virtq_add_chain(q, &b, 1, &c);
	assert_int_equal(virtq_publish(q), 0);
	assert_int_equal(q->avail->idx, 2); /* published all the same */
	assert_int_equal(q->notifies, 1);
	assert_int_equal(q->notifies_suppressed, 1);
	teardown(f);

	/* With EVENT_IDX: notify only when avail_event lies in what this publish added. */
	f = setup(1);
	q = &f->q;
	q->used->flags = VIRTQ_USED_F_NO_NOTIFY; /* ignored with EVENT_IDX */
	*q->avail_event = 2;
	virtq_add_chain(q, &b, 1, &c);
	assert_int_equal(virtq_publish(q), 0);   /* 0..1: the device waits for entry 2 */
	virtq_add_chain(q, &b, 1, &c);
	assert_int_equal(virtq_publish(q), 0);   /* 1..2 */
	virtq_add_chain(q, &b, 1, &c);
	virtq_add_chain(q, &b, 1, &c);
	assert_int_equal(virtq_publish(q), 1);   /* 2..4 holds entry 2 */
	assert_int_equal(virtq_publish(q), 0);   /* nothing new */
	assert_int_equal(q->notifies, 1);
	assert_int_equal(q->notifies_suppressed, 3);
	teardown(f);
}

/* The snapshot an error record carries: both sides' indexes and the last publish's verdict. */
static void test_snapshot(void **state)
{
	struct fixture *f = setup(0);
	struct virtq *q = &f->q;
	struct virtq_buf b[2] = { { f->buf[0], 16, 0 }, { f->buf[1], 1, 1 } };
	struct virtq_snapshot s;
	int c = 0;
	(void)state;

	virtq_add_chain(q, b, 2, &c);
	assert_int_equal(virtq_publish(q), 1);
	q->used->flags = VIRTQ_USED_F_NO_NOTIFY;  /* the device polls */
	virtq_add_chain(q, b, 2, &c);
	assert_int_equal(virtq_publish(q), 0);
	q->used->ring[0].id = 0;                  /* it took the first chain only */
	q->used->idx = 1;
	assert_ptr_equal(virtq_get_used(q, 0), &c);
	virtq_snapshot(q, &s);
	assert_int_equal(s.published, 2);
	assert_int_equal(s.device_used, 1);
	assert_int_equal(s.taken, 1);
	assert_int_equal(s.in_flight, 2);         /* the second chain's two descriptors */
	assert_int_equal(s.device_flags, VIRTQ_USED_F_NO_NOTIFY);
	assert_int_equal(s.last_publish_notified, 0);
	assert_int_equal(s.notifies, 1);
	assert_int_equal(s.notifies_suppressed, 1);
	assert_int_equal(s.event_idx, 0);
	teardown(f);

	f = setup(1);
	q = &f->q;
	*q->avail_event = 7;
	virtq_add_chain(q, b, 1, &c);
	virtq_publish(q);
	virtq_snapshot(q, &s);
	assert_int_equal(s.event_idx, 1);
	assert_int_equal(s.device_event, 7);
	assert_int_equal(s.in_flight, 1);
	assert_int_equal(s.last_publish_notified, 0);
	teardown(f);
}

static void test_interrupt_suppression(void **state)
{
	struct fixture *f = setup(0);
	struct virtq *q = &f->q;
	(void)state;

	virtq_want_interrupts(q, 0);
	assert_int_equal(q->avail->flags, VIRTQ_AVAIL_F_NO_INTERRUPT);
	virtq_want_interrupts(q, 1);
	assert_int_equal(q->avail->flags, 0);
	teardown(f);

	/* EVENT_IDX: used_event = the next used idx we wait for, or one behind to say never. */
	f = setup(1);
	q = &f->q;
	virtq_want_interrupts(q, 0);
	assert_int_equal(*q->used_event, 65535); /* last_used 0, minus one, wrapped */
	assert_int_equal(q->avail->flags, 0);
	virtq_want_interrupts(q, 1);
	assert_int_equal(*q->used_event, 0);
	/* Taking a completion moves used_event on while interrupts are wanted. */
	struct virtq_buf b = { f->buf[0], 64, 1 };
	int c = 0, head = virtq_add_chain(q, &b, 1, &c);
	device_complete(q, (uint16_t)head, 64);
	assert_non_null(virtq_get_used(q, NULL));
	assert_int_equal(*q->used_event, 1);
	teardown(f);
}

static void test_indirect(void **state)
{
	struct fixture *f = setup(0);
	struct virtq *q = &f->q;
	struct virtq_desc table[3];
	int c = 0;
	(void)state;

	int head = virtq_add_indirect(q, table, 3, &c);
	assert_int_equal(head, 0);
	assert_int_equal(q->desc[0].flags, VIRTQ_DESC_F_INDIRECT);
	assert_int_equal(q->desc[0].addr, (uint64_t)(uintptr_t)table);
	assert_int_equal(q->desc[0].len, 3 * sizeof(struct virtq_desc));
	assert_int_equal(q->num_free, QSIZE - 1); /* one ring descriptor per request */
	device_complete(q, 0, 0);
	assert_ptr_equal(virtq_get_used(q, NULL), &c);
	assert_int_equal(q->num_free, QSIZE);
	/* until the ring is out of descriptors */
	for (int i = 0; i < QSIZE; i++)
		assert_true(virtq_add_indirect(q, table, 3, &c) >= 0);
	assert_int_equal(virtq_add_indirect(q, table, 3, &c), -1);
	teardown(f);
}

/* The indirect table a driver fills from its buffers: out first, then in, linked by NEXT. */
static void test_fill_indirect(void **state)
{
	uint8_t hdr[16], data[512], status;
	const struct virtq_buf bufs[3] = {
		{ hdr, sizeof(hdr), 0 }, { data, sizeof(data), 1 }, { &status, 1, 1 },
	};
	struct virtq_desc table[3];
	(void)state;

	memset(table, 0xff, sizeof(table));
	virtq_fill_indirect(table, bufs, 3);
	assert_int_equal(table[0].addr, (uint64_t)(uintptr_t)hdr);
	assert_int_equal(table[0].len, sizeof(hdr));
	assert_int_equal(table[0].flags, VIRTQ_DESC_F_NEXT);
	assert_int_equal(table[0].next, 1);
	assert_int_equal(table[1].addr, (uint64_t)(uintptr_t)data);
	assert_int_equal(table[1].len, sizeof(data));
	assert_int_equal(table[1].flags, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE);
	assert_int_equal(table[1].next, 2);
	assert_int_equal(table[2].addr, (uint64_t)(uintptr_t)&status);
	assert_int_equal(table[2].len, 1);
	assert_int_equal(table[2].flags, VIRTQ_DESC_F_WRITE); /* the last: no NEXT */
	/* one buffer: no NEXT at all */
	virtq_fill_indirect(table, bufs, 1);
	assert_int_equal(table[0].flags, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_need_event),
		cmocka_unit_test(test_chain_and_free_list),
		cmocka_unit_test(test_index_wrap),
		cmocka_unit_test(test_notify_suppression),
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_interrupt_suppression),
		cmocka_unit_test(test_indirect),
		cmocka_unit_test(test_fill_indirect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
