/*
 * The split virtqueue (virtq.h): pure ring memory, shared with the device. The guest compiles
 * this into the kernel; tests/unit/test_virtq.c compiles the same file on the host.
 */
#include "virtq.h"

#define DESC_BYTES        16u  /* struct virtq_desc */
#define AVAIL_HDR_BYTES   4u   /* flags, idx */
#define USED_HDR_BYTES    4u
#define EVENT_BYTES       2u   /* used_event after the avail ring, avail_event after the used ring */

/* The compiler must not move ring accesses across this; x86 keeps loads in order and stores
 * in order by itself. */
static inline void compiler_barrier(void) { __asm__ volatile("" ::: "memory"); }

/* A store (avail idx) made visible before a later load (the device's suppression state): the
 * one reordering x86 does, and the driver must read that state only after publishing. */
static inline void store_load_fence(void) { __asm__ volatile("mfence" ::: "memory"); }

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }

struct virtq_layout virtq_layout(uint16_t size)
{
	struct virtq_layout l;
	_Static_assert(sizeof(struct virtq_desc) == DESC_BYTES, "descriptor layout (§2.7.5)");
	_Static_assert(sizeof(struct virtq_used_elem) == 8, "used element layout (§2.7.8)");

	l.avail_off = (uint64_t)DESC_BYTES * size;
	l.used_off = align_up(l.avail_off + AVAIL_HDR_BYTES + 2ull * size + EVENT_BYTES,
			      VIRTQ_LEGACY_ALIGN);
	l.bytes = l.used_off + align_up(USED_HDR_BYTES + 8ull * size + EVENT_BYTES, VIRTQ_LEGACY_ALIGN);
	return l;
}

void virtq_init(struct virtq *q, uint16_t size, void *ring, void **cookies, int event_idx)
{
	struct virtq_layout l = virtq_layout(size);
	uint8_t *base = ring;

	q->packed = 0;
	q->size = size;
	q->desc = (struct virtq_desc *)base;
	q->avail = (struct virtq_avail *)(base + l.avail_off);
	q->used = (struct virtq_used *)(base + l.used_off);
	q->used_event = &q->avail->ring[size];
	q->avail_event = (uint16_t *)&q->used->ring[size];
	q->cookie = cookies;
	q->event_idx = event_idx;
	q->interrupts = 0;
	q->free_head = 0;
	q->last_used = q->avail_idx = q->kicked_idx = 0;
	q->notifies = q->notifies_suppressed = 0;
	/* The free list: every descriptor, in order, chained through next. */
	for (uint16_t i = 0; i < size; i++)
		q->desc[i].next = (uint16_t)(i + 1);
	q->num_free = size;
}

/* Put a chain's head in the next avail slot; the device sees it at virtq_publish. */
static void add_to_avail(struct virtq *q, uint16_t head, void *cookie)
{
	q->cookie[head] = cookie;
	q->avail->ring[q->avail_idx & (q->size - 1)] = head;
	q->avail_idx++;
}

void virtq_areas(const struct virtq *q, uint64_t *desc, uint64_t *driver, uint64_t *device)
{
	if (q->packed) {
		*desc = (uint64_t)(uintptr_t)q->ring;
		*driver = (uint64_t)(uintptr_t)q->driver_event;
		*device = (uint64_t)(uintptr_t)q->device_event;
	} else {
		*desc = (uint64_t)(uintptr_t)q->desc;
		*driver = (uint64_t)(uintptr_t)q->avail;
		*device = (uint64_t)(uintptr_t)q->used;
	}
}

int virtq_add_chain(struct virtq *q, const struct virtq_buf *bufs, unsigned n, void *cookie)
{
	if (q->packed)
		return virtq_packed_add_chain(q, bufs, n, cookie);
	if (n == 0 || n > q->num_free)
		return -1;
	uint16_t head = q->free_head, i = head, last = head;
	for (unsigned k = 0; k < n; k++) {
		struct virtq_desc *d = &q->desc[i];
		d->addr = (uint64_t)(uintptr_t)bufs[k].addr;
		d->len = bufs[k].len;
		d->flags = (uint16_t)((bufs[k].device_writes ? VIRTQ_DESC_F_WRITE : 0) |
				      (k + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		last = i;
		i = d->next;
	}
	q->free_head = q->desc[last].next;
	q->num_free = (uint16_t)(q->num_free - n);
	add_to_avail(q, head, cookie);
	return head;
}

int virtq_add_indirect(struct virtq *q, struct virtq_desc *table, unsigned n, void *cookie)
{
	if (q->packed)
		return virtq_packed_add_indirect(q, table, n, cookie);
	if (q->num_free == 0)
		return -1;
	uint16_t head = q->free_head;
	struct virtq_desc *d = &q->desc[head];
	q->free_head = d->next;
	q->num_free--;
	d->addr = (uint64_t)(uintptr_t)table;
	d->len = (uint32_t)(n * sizeof(*table));
	d->flags = VIRTQ_DESC_F_INDIRECT;
	add_to_avail(q, head, cookie);
	return head;
}

void virtq_fill_indirect(struct virtq_desc *table, const struct virtq_buf *bufs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		table[i].addr = (uint64_t)(uintptr_t)bufs[i].addr;
		table[i].len = bufs[i].len;
		table[i].flags = (uint16_t)((bufs[i].device_writes ? VIRTQ_DESC_F_WRITE : 0) |
					    (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		table[i].next = (uint16_t)(i + 1);
	}
}

int virtq_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

int virtq_publish(struct virtq *q)
{
	if (q->packed)
		return virtq_packed_publish(q);
	uint16_t old = q->kicked_idx;
	compiler_barrier(); /* the ring entries before the idx that publishes them */
	*(volatile uint16_t *)&q->avail->idx = q->avail_idx;
	store_load_fence();
	int notify;
	if (q->event_idx)
		notify = virtq_need_event(*(volatile uint16_t *)q->avail_event, q->avail_idx, old);
	else
		notify = !(*(volatile uint16_t *)&q->used->flags & VIRTQ_USED_F_NO_NOTIFY);
	q->kicked_idx = q->avail_idx;
	q->last_publish_notified = notify;
	if (!notify) {
		q->notifies_suppressed++;
		return 0;
	}
	q->notifies++;
	return 1;
}

void *virtq_get_used(struct virtq *q, uint32_t *len)
{
	if (q->packed)
		return virtq_packed_get_used(q, len);
	if (q->last_used == *(volatile uint16_t *)&q->used->idx)
		return 0;
	compiler_barrier(); /* the used element after the idx that says it is there */
	struct virtq_used_elem e = q->used->ring[q->last_used & (q->size - 1)];
	q->last_used++;
	if (q->event_idx && q->interrupts) {
		*(volatile uint16_t *)q->used_event = q->last_used;
		/* used_event visible before the next load of used idx: else the device may read the
		 * old used_event after adding an element, send no interrupt, while we read the old
		 * idx and wait for one (the lost-interrupt race of §2.7.10; Linux's virtio_mb) */
		store_load_fence();
	}
	/* Back on the free list: the whole chain, its tail pointing at the old free head. */
	uint16_t head = (uint16_t)e.id, i = head, count = 1;
	while (q->desc[i].flags & VIRTQ_DESC_F_NEXT) {
		i = q->desc[i].next;
		count++;
	}
	q->desc[i].next = q->free_head;
	q->free_head = head;
	q->num_free = (uint16_t)(q->num_free + count);
	if (len)
		*len = e.len;
	return q->cookie[head];
}

void virtq_want_interrupts(struct virtq *q, int on)
{
	if (q->packed) {
		virtq_packed_want_interrupts(q, on);
		return;
	}
	q->interrupts = on;
	if (q->event_idx)
		*(volatile uint16_t *)q->used_event = on ? q->last_used : (uint16_t)(q->last_used - 1);
	else
		*(volatile uint16_t *)&q->avail->flags = on ? 0 : VIRTQ_AVAIL_F_NO_INTERRUPT;
}

void virtq_snapshot(const struct virtq *q, struct virtq_snapshot *s)
{
	s->event_idx = q->event_idx;
	s->last_publish_notified = q->last_publish_notified;
	s->notifies = q->notifies;
	s->notifies_suppressed = q->notifies_suppressed;
	s->in_flight = (uint16_t)(q->size - q->num_free);
	if (q->packed) {
		uint32_t ev = *(volatile uint32_t *)q->device_event; /* off_wrap, flags */
		s->published = (uint16_t)(q->next_avail | (uint16_t)q->avail_wrap << 15);
		s->taken = (uint16_t)(q->next_used | (uint16_t)q->used_wrap << 15);
		s->device_used = s->taken;
		s->device_event = (uint16_t)ev;
		s->device_flags = (uint16_t)(ev >> 16);
		return;
	}
	s->published = *(volatile uint16_t *)&q->avail->idx;
	s->device_used = *(volatile uint16_t *)&q->used->idx;
	s->taken = q->last_used;
	s->device_event = q->event_idx ? *(volatile uint16_t *)q->avail_event : 0;
	s->device_flags = *(volatile uint16_t *)&q->used->flags;
}
