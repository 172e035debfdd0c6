/*
 * The packed virtqueue (drivers/virtq_packed.c, Virtio 1.2 §2.8), the guest's own file compiled
 * for the host, reached through virtq.h's one queue API: ring wrap counters and the avail/used
 * flags (§2.8.1), chains and the buffer id in every descriptor (§2.8.6), out-of-order
 * completion and free buffer ids, indirect tables (§2.8.19), event suppression both ways with
 * and without EVENT_IDX (§2.8.10, §2.8.14), and many laps of the ring. The tests play the
 * device: they read available descriptors in ring order and write used ones as §2.8.2 says.
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

struct device {
	uint16_t pos, used_pos;  /* next descriptor to read, next used descriptor to write */
	uint8_t wrap, used_wrap; /* Device Ring Wrap Counters (both start at 1) */
};

struct fixture {
	struct virtq q;
	void *ring;
	void *cookies[QSIZE];
	uint8_t buf[4][512];
	struct device dev;
};

static struct fixture *setup(int event_idx)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct virtq_layout l = virtq_packed_layout(QSIZE);

	assert_non_null(f);
	f->ring = aligned_alloc(VIRTQ_LEGACY_ALIGN, l.bytes);
	assert_non_null(f->ring);
	memset(f->ring, 0, l.bytes);
	virtq_packed_init(&f->q, QSIZE, f->ring, f->cookies, event_idx);
	f->dev = (struct device){ 0, 0, 1, 1 };
	return f;
}

static void teardown(struct fixture *f)
{
	free(f->ring);
	free(f);
}

static int is_avail(uint16_t flags, int wrap)
{
	return !!(flags & VIRTQ_DESC_F_AVAIL) == wrap && !!(flags & VIRTQ_DESC_F_USED) != wrap;
}

/* The device takes the next available buffer: its id and descriptor count; -1 if none. The
 * descriptors must all be available in the device's lap and carry one id (§2.8.6). */
static int device_pop(struct fixture *f, unsigned *count)
{
	struct virtq *q = &f->q;
	struct device *d = &f->dev;
	if (!is_avail(q->ring[d->pos].flags, d->wrap))
		return -1;
	int id = q->ring[d->pos].id;
	unsigned n = 0;
	for (;;) {
		struct pvirtq_desc *e = &q->ring[d->pos];
		assert_true(is_avail(e->flags, d->wrap));
		assert_int_equal(e->id, id);
		n++;
		uint16_t fl = e->flags;
		if (++d->pos == q->size) {
			d->pos = 0;
			d->wrap ^= 1;
		}
		if (!(fl & VIRTQ_DESC_F_NEXT))
			break;
		assert_true(n < q->size);
	}
	*count = n;
	return id;
}

/* The device marks buffer `id` (of `count` descriptors) used, `len` bytes written (§2.8.2). */
static void device_complete(struct fixture *f, uint16_t id, unsigned count, uint32_t len)
{
	struct virtq *q = &f->q;
	struct device *d = &f->dev;
	struct pvirtq_desc *e = &q->ring[d->used_pos];
	e->id = id;
	e->len = len;
	e->flags = (uint16_t)((d->used_wrap ? VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_USED : 0) |
			      (len ? VIRTQ_DESC_F_WRITE : 0));
	d->used_pos = (uint16_t)(d->used_pos + count);
	if (d->used_pos >= q->size) {
		d->used_pos = (uint16_t)(d->used_pos - q->size);
		d->used_wrap ^= 1;
	}
}

static void test_layout(void **state)
{
	(void)state;
	/* ring 16 x size, the two 4-byte event structures, then 2 x 2 bytes per id; whole pages */
	struct virtq_layout l = virtq_packed_layout(256);
	assert_int_equal(l.avail_off, 4096);
	assert_int_equal(l.used_off, 4100);
	assert_int_equal(l.bytes, 8192);
	l = virtq_packed_layout(1024); /* 16384 + 8 + 4096 -> 24576 */
	assert_int_equal(l.avail_off, 16384);
	assert_int_equal(l.bytes, 24576);

	struct fixture *f = setup(0);
	struct virtq *q = &f->q;
	uint8_t *base = f->ring;
	uint64_t desc, drv, dev;
	virtq_areas(q, &desc, &drv, &dev);
	assert_int_equal(desc, (uint64_t)(uintptr_t)base);
	assert_int_equal(drv, (uint64_t)(uintptr_t)(base + 16 * QSIZE));
	assert_int_equal(dev, (uint64_t)(uintptr_t)(base + 16 * QSIZE + 4));
	assert_int_equal(desc % VIRTQ_PACKED_ALIGN, 0);
	assert_int_equal(drv % 4, 0);
	assert_int_equal(dev % 4, 0);
	assert_true(q->packed);
	assert_int_equal(q->avail_wrap, 1); /* §2.8.1 */
	assert_int_equal(q->used_wrap, 1);
	assert_int_equal(q->num_free, QSIZE);
	assert_null(virtq_get_used(q, NULL)); /* a zeroed ring holds nothing used */
	teardown(f);
}

static void test_chain(void **state)
{
	struct fixture *f = setup(0);
	struct virtq *q = &f->q;
	int c0 = 0;
	unsigned n;
	(void)state;

	struct virtq_buf req[3] = {
		{ f->buf[0], 16, 0 }, { f->buf[1], 512, 1 }, { f->buf[2], 1, 1 },
	};
	int id = virtq_add_chain(q, req, 3, &c0);
	assert_int_equal(id, 0);
	/* available in lap 1: AVAIL set, USED clear; NEXT on all but the last; the id in each */
	assert_int_equal(q->ring[0].flags, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_NEXT);
	assert_int_equal(q->ring[1].flags, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE);
	assert_int_equal(q->ring[2].flags, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_WRITE);
	assert_int_equal(q->ring[1].addr, (uint64_t)(uintptr_t)f->buf[1]);
	assert_int_equal(q->ring[1].len, 512);
	assert_int_equal(q->ring[3].flags, 0);
	assert_int_equal(q->num_free, 5);
	assert_int_equal(q->next_avail, 3);
	assert_int_equal(virtq_publish(q), 1); /* events enabled (zeroed Device Area) */

	assert_int_equal(device_pop(f, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(device_pop(f, &n), -1);
	assert_null(virtq_get_used(q, NULL)); /* not used yet */
	device_complete(f, 0, 3, 513);
	uint32_t len = 0;
	assert_ptr_equal(virtq_get_used(q, &len), &c0);
	assert_int_equal(len, 513);
	assert_int_equal(q->next_used, 3); /* skipped the whole chain */
	assert_int_equal(q->num_free, QSIZE);
	assert_null(virtq_get_used(q, NULL));

	/* No room: a chain longer than the free descriptors changes nothing. */
	struct virtq_buf big[QSIZE + 1];
	for (int i = 0; i < QSIZE + 1; i++)
		big[i] = (struct virtq_buf){ f->buf[0], 8, 0 };
	assert_int_equal(virtq_add_chain(q, big, QSIZE + 1, &c0), -1);
	assert_int_equal(virtq_add_chain(q, big, 0, &c0), -1);
	assert_int_equal(q->next_avail, 3);
	assert_int_equal(q->num_free, QSIZE);
	teardown(f);
}

/* A chain that crosses the end of the ring: the descriptors after it carry the next lap's
 * flags (AVAIL clear, USED set) and the wrap counter toggles. */
static void test_chain_across_wrap(void **state)
{
	struct fixture *f = setup(0);
	struct virtq *q = &f->q;
	int c = 0;
	unsigned n;
	(void)state;

	struct virtq_buf one = { f->buf[0], 8, 0 };
	for (int i = 0; i < 6; i++) { /* move to position 6 */
		int id = virtq_add_chain(q, &one, 1, &c);
		assert_true(id >= 0);
		assert_int_equal(device_pop(f, &n), id);
		device_complete(f, (uint16_t)id, n, 0);
		assert_ptr_equal(virtq_get_used(q, NULL), &c);
	}
	struct virtq_buf three[3] = { { f->buf[0], 8, 0 }, { f->buf[1], 8, 1 }, { f->buf[2], 1, 1 } };
	int id = virtq_add_chain(q, three, 3, &c);
	assert_true(id >= 0);
	assert_int_equal(q->ring[6].flags, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_NEXT);
	assert_int_equal(q->ring[7].flags, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE);
	assert_int_equal(q->ring[0].flags, VIRTQ_DESC_F_USED | VIRTQ_DESC_F_WRITE);
	assert_int_equal(q->avail_wrap, 0);
	assert_int_equal(q->next_avail, 1);
	assert_int_equal(device_pop(f, &n), id);
	assert_int_equal(n, 3);
	device_complete(f, (uint16_t)id, n, 9); /* written at 6; the device skips to 1 */
	assert_ptr_equal(virtq_get_used(q, NULL), &c);
	assert_int_equal(q->next_used, 1);
	assert_int_equal(q->used_wrap, 0);
	/* the stale lap-1 descriptors at 1.. are not mistaken for used ones of lap 0 */
	assert_null(virtq_get_used(q, NULL));
	teardown(f);
}

/* Buffer ids: one per buffer in flight, handed back out of order, reused only when free. */
static void test_free_ids(void **state)
{
	struct fixture *f = setup(0);
	struct virtq *q = &f->q;
	int cookie[QSIZE], inflight[QSIZE] = { 0 };
	unsigned n;
	(void)state;

	struct virtq_buf one = { f->buf[0], 8, 1 };
	for (int i = 0; i < QSIZE; i++) {
		int id = virtq_add_chain(q, &one, 1, &cookie[i]);
		assert_true(id >= 0 && id < QSIZE);
		assert_false(inflight[id]);
		inflight[id] = 1;
	}
	assert_int_equal(q->num_free, 0);
	assert_int_equal(virtq_add_chain(q, &one, 1, &cookie[0]), -1); /* full */
	int popped[QSIZE];
	for (int i = 0; i < QSIZE; i++)
		popped[i] = device_pop(f, &n);
	/* complete 5, 2, 7 in that order: the driver gets their cookies in that order */
	static const int order[] = { 5, 2, 7 };
	for (int k = 0; k < 3; k++)
		device_complete(f, (uint16_t)popped[order[k]], 1, 4);
	for (int k = 0; k < 3; k++) {
		assert_ptr_equal(virtq_get_used(q, NULL), &cookie[order[k]]);
		inflight[popped[order[k]]] = 0;
	}
	assert_null(virtq_get_used(q, NULL));
	assert_int_equal(q->num_free, 3);
	/* new buffers get free ids only */
	for (int k = 0; k < 3; k++) {
		int id = virtq_add_chain(q, &one, 1, &cookie[0]);
		assert_true(id >= 0);
		assert_false(inflight[id]);
		inflight[id] = 1;
	}
	assert_int_equal(virtq_add_chain(q, &one, 1, &cookie[0]), -1);
	teardown(f);
}

/* Many laps: chains of 1..3 descriptors, up to three buffers in flight completed in a shuffled
 * order, every cookie back exactly once, the free count restored each time. */
static void test_many_laps(void **state)
{
	struct fixture *f = setup(1);
	struct virtq *q = &f->q;
	int cookies[64];
	unsigned long rng = 12345;
	(void)state;

	virtq_want_interrupts(q, 1);
	struct { int id; unsigned n; int *cookie; } fl[QSIZE];
	int nfl = 0, next_cookie = 0, done = 0;
	uint8_t laps_seen_wrap0 = 0;
	for (int round = 0; round < 5000; round++) {
		rng = rng * 6364136223846793005ul + 1442695040888963407ul;
		unsigned want = 1 + (unsigned)(rng >> 33) % 3;
		if (nfl < 3 && want <= q->num_free) {
			struct virtq_buf b[3] = { { f->buf[0], 16, 0 }, { f->buf[1], 512, 1 }, { f->buf[2], 1, 1 } };
			int *c = &cookies[next_cookie++ % 64];
			int id = virtq_add_chain(q, b, want, c);
			assert_true(id >= 0);
			virtq_publish(q);
			unsigned n;
			assert_int_equal(device_pop(f, &n), id);
			assert_int_equal(n, want);
			fl[nfl].id = id;
			fl[nfl].n = n;
			fl[nfl].cookie = c;
			nfl++;
			continue;
		}
		/* complete one in flight, picked at random */
		int k = (int)((rng >> 40) % (unsigned long)nfl);
		device_complete(f, (uint16_t)fl[k].id, fl[k].n, 1);
		assert_ptr_equal(virtq_get_used(q, NULL), fl[k].cookie);
		/* EVENT_IDX with interrupts: the driver asks for the next used position */
		assert_int_equal(q->driver_event->off_wrap,
				 q->next_used | (q->used_wrap << RING_EVENT_WRAP_SHIFT));
		assert_int_equal(q->next_used, f->dev.used_pos);
		assert_int_equal(q->used_wrap, f->dev.used_wrap);
		fl[k] = fl[--nfl];
		done++;
		if (!q->avail_wrap)
			laps_seen_wrap0 = 1;
	}
	assert_true(done > 1000);
	assert_true(laps_seen_wrap0);
	while (nfl) {
		device_complete(f, (uint16_t)fl[nfl - 1].id, fl[nfl - 1].n, 1);
		assert_ptr_equal(virtq_get_used(q, NULL), fl[nfl - 1].cookie);
		nfl--;
	}
	assert_int_equal(q->num_free, QSIZE);
	teardown(f);
}

static void test_indirect(void **state)
{
	struct fixture *f = setup(0);
	struct virtq *q = &f->q;
	struct virtq_desc table[3];
	int c = 0;
	unsigned n;
	(void)state;

	/* filled in the split format, as drivers do */
	table[0] = (struct virtq_desc){ (uint64_t)(uintptr_t)f->buf[0], 16, VIRTQ_DESC_F_NEXT, 1 };
	table[1] = (struct virtq_desc){ (uint64_t)(uintptr_t)f->buf[1], 512,
					VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2 };
	table[2] = (struct virtq_desc){ (uint64_t)(uintptr_t)f->buf[2], 1, VIRTQ_DESC_F_WRITE, 3 };
	int id = virtq_add_indirect(q, table, 3, &c);
	assert_true(id >= 0);
	assert_int_equal(q->ring[0].flags, VIRTQ_DESC_F_AVAIL | VIRTQ_DESC_F_INDIRECT);
	assert_int_equal(q->ring[0].addr, (uint64_t)(uintptr_t)table);
	assert_int_equal(q->ring[0].len, 3 * sizeof(struct pvirtq_desc));
	/* §2.8.19: the table now holds packed descriptors, WRITE the only flag, ids 0 */
	struct pvirtq_desc *pt = (struct pvirtq_desc *)table;
	assert_int_equal(pt[0].addr, (uint64_t)(uintptr_t)f->buf[0]);
	assert_int_equal(pt[0].len, 16);
	assert_int_equal(pt[0].flags, 0);
	assert_int_equal(pt[1].flags, VIRTQ_DESC_F_WRITE);
	assert_int_equal(pt[2].flags, VIRTQ_DESC_F_WRITE);
	assert_int_equal(pt[2].len, 1);
	assert_int_equal(pt[0].id | pt[1].id | pt[2].id, 0);
	assert_int_equal(q->num_free, QSIZE - 1);
	assert_int_equal(device_pop(f, &n), id);
	assert_int_equal(n, 1);
	device_complete(f, (uint16_t)id, 1, 513);
	assert_ptr_equal(virtq_get_used(q, NULL), &c);
	assert_int_equal(q->num_free, QSIZE);
	for (int i = 0; i < QSIZE; i++)
		assert_true(virtq_add_indirect(q, table, 3, &c) >= 0);
	assert_int_equal(virtq_add_indirect(q, table, 3, &c), -1);
	teardown(f);
}

/* Available buffer notifications (§2.8.10, §2.8.21.3): the Device Area decides. */
static void test_notify_suppression(void **state)
{
	struct fixture *f = setup(0);
	struct virtq *q = &f->q;
	struct virtq_buf b = { f->buf[0], 64, 0 };
	int c = 0;
	(void)state;

	virtq_add_chain(q, &b, 1, &c);
	assert_int_equal(virtq_publish(q), 1); /* ENABLE */
	q->device_event->flags = RING_EVENT_FLAGS_DISABLE;
	virtq_add_chain(q, &b, 1, &c);
	assert_int_equal(virtq_publish(q), 0);
	/* without EVENT_IDX a DESC request is not ours to honour: notify */
	q->device_event->flags = RING_EVENT_FLAGS_DESC;
	q->device_event->off_wrap = 7 | 1u << RING_EVENT_WRAP_SHIFT;
	virtq_add_chain(q, &b, 1, &c);
	assert_int_equal(virtq_publish(q), 1);
	assert_int_equal(q->notifies, 2);
	assert_int_equal(q->notifies_suppressed, 1);
	teardown(f);

	/* EVENT_IDX: notify when this publish made the descriptor at off (in its lap) available */
	f = setup(1);
	q = &f->q;
	q->device_event->flags = RING_EVENT_FLAGS_DESC;
	q->device_event->off_wrap = 2 | 1u << RING_EVENT_WRAP_SHIFT;
	virtq_add_chain(q, &b, 1, &c);
	assert_int_equal(virtq_publish(q), 0);   /* 0: the device waits for 2 */
	virtq_add_chain(q, &b, 1, &c);
	assert_int_equal(virtq_publish(q), 0);   /* 1 */
	virtq_add_chain(q, &b, 1, &c);
	virtq_add_chain(q, &b, 1, &c);
	assert_int_equal(virtq_publish(q), 1);   /* 2..3 holds 2 */
	assert_int_equal(virtq_publish(q), 0);   /* nothing new */
	/* across the wrap: positions 4..7 then 0..1 of the next lap (wrap counter 0) */
	for (int i = 0; i < 4; i++) { /* give the device its buffers back to make room */
		unsigned n;
		int id = device_pop(f, &n);
		device_complete(f, (uint16_t)id, n, 0);
		assert_non_null(virtq_get_used(q, NULL));
	}
	q->device_event->off_wrap = 1 | 0u << RING_EVENT_WRAP_SHIFT; /* position 1 of lap 0 */
	for (int i = 0; i < 5; i++)
		virtq_add_chain(q, &b, 1, &c); /* 4 5 6 7 0 */
	assert_int_equal(q->avail_wrap, 0);
	assert_int_equal(virtq_publish(q), 0);
	virtq_add_chain(q, &b, 1, &c); /* 1 */
	assert_int_equal(virtq_publish(q), 1);
	/* an event in the previous lap (7 of lap 1) inside a batch that wraps: 6 7 0 */
	for (int i = 0; i < 6; i++) {
		unsigned n;
		int id = device_pop(f, &n);
		device_complete(f, (uint16_t)id, n, 0);
		assert_non_null(virtq_get_used(q, NULL));
	}
	for (int i = 0; i < 4; i++) /* 2 3 4 5 */
		virtq_add_chain(q, &b, 1, &c);
	virtq_publish(q);
	for (int i = 0; i < 4; i++) {
		unsigned n;
		int id = device_pop(f, &n);
		device_complete(f, (uint16_t)id, n, 0);
		assert_non_null(virtq_get_used(q, NULL));
	}
	q->device_event->off_wrap = 7 | 0u << RING_EVENT_WRAP_SHIFT; /* lap 0's 7 */
	for (int i = 0; i < 3; i++) /* 6 7 (lap 0), 0 (lap 1) */
		virtq_add_chain(q, &b, 1, &c);
	assert_int_equal(q->avail_wrap, 1);
	assert_int_equal(virtq_publish(q), 1);
	teardown(f);
}

/* Used buffer notifications (§2.8.10): the Driver Area says what we want. */
static void test_interrupt_suppression(void **state)
{
	struct fixture *f = setup(0);
	struct virtq *q = &f->q;
	(void)state;

	virtq_want_interrupts(q, 0);
	assert_int_equal(q->driver_event->flags, RING_EVENT_FLAGS_DISABLE);
	virtq_want_interrupts(q, 1);
	assert_int_equal(q->driver_event->flags, RING_EVENT_FLAGS_ENABLE);
	teardown(f);

	f = setup(1);
	q = &f->q;
	virtq_want_interrupts(q, 0);
	assert_int_equal(q->driver_event->flags, RING_EVENT_FLAGS_DISABLE);
	virtq_want_interrupts(q, 1);
	assert_int_equal(q->driver_event->flags, RING_EVENT_FLAGS_DESC);
	assert_int_equal(q->driver_event->off_wrap, 0 | 1u << RING_EVENT_WRAP_SHIFT);
	struct virtq_buf b[2] = { { f->buf[0], 64, 0 }, { f->buf[1], 64, 1 } };
	int c = 0;
	unsigned n;
	for (int i = 0; i < 4; i++) { /* 4 chains of 2: the used position wraps to 0 of lap 0 */
		int id = virtq_add_chain(q, b, 2, &c);
		assert_int_equal(device_pop(f, &n), id);
		device_complete(f, (uint16_t)id, n, 64);
		assert_non_null(virtq_get_used(q, NULL));
		uint16_t pos = (uint16_t)((2 * (i + 1)) % QSIZE), wrap = i < 3;
		assert_int_equal(q->driver_event->off_wrap, pos | wrap << RING_EVENT_WRAP_SHIFT);
	}
	/* with interrupts off, the offset stays where it was */
	virtq_want_interrupts(q, 0);
	int id = virtq_add_chain(q, b, 2, &c);
	assert_int_equal(device_pop(f, &n), id);
	device_complete(f, (uint16_t)id, n, 64);
	assert_non_null(virtq_get_used(q, NULL));
	assert_int_equal(q->driver_event->off_wrap, 0);
	assert_int_equal(q->driver_event->flags, RING_EVENT_FLAGS_DISABLE);
	teardown(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_chain_across_wrap),
		cmocka_unit_test(test_free_ids),
		cmocka_unit_test(test_many_laps),
		cmocka_unit_test(test_indirect),
		cmocka_unit_test(test_notify_suppression),
		cmocka_unit_test(test_interrupt_suppression),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
