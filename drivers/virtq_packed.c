/*
 * The packed virtqueue (Virtio 1.2 §2.8, VIRTIO_F_RING_PACKED): one descriptor ring that the
 * driver and the device both write, two ring wrap counters (§2.8.1), buffer ids the driver
 * allocates and the device hands back (§2.8.6), indirect tables (§2.8.7, §2.8.19) and the two
 * event suppression structures (§2.8.10, §2.8.14) with the EVENT_IDX mode
 * (RING_EVENT_FLAGS_DESC). Pure ring memory like virtq.c: compiled into the guest and, for
 * tests/unit/test_virtq_packed.c, on the host. The public entry points are virtq.h's, which
 * dispatch here for a queue laid out by virtq_packed_init.
 *
 * Positions are 0..size-1 with a wrap counter beside them (no free-running index as in the
 * split ring); the device writes one used descriptor per buffer, at the next used position,
 * and skips the rest of the buffer's descriptors (§2.8.2), so the driver keeps the descriptor
 * count of every buffer id (id_count) to find the next one. Buffers may complete out of order.
 */
#include "virtq.h"

#define PDESC_BYTES   16u /* struct pvirtq_desc */
#define EVENT_BYTES   4u  /* struct pvirtq_event_suppress */
#define PAGE_BYTES    4096u

static inline void compiler_barrier(void) { __asm__ volatile("" ::: "memory"); }
/* As in virtq.c: the flags store that publishes before the load of the device's suppression
 * state (§2.8.21.3 "The driver MUST perform a suitable memory barrier before reading the Event
 * Suppression structure"). */
static inline void store_load_fence(void) { __asm__ volatile("mfence" ::: "memory"); }

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }

struct virtq_layout virtq_packed_layout(uint16_t size)
{
	struct virtq_layout l;
	_Static_assert(sizeof(struct pvirtq_desc) == PDESC_BYTES, "descriptor layout (§2.8.13)");
	_Static_assert(sizeof(struct pvirtq_event_suppress) == EVENT_BYTES, "event layout (§2.8.14)");

	/* §2.8.10.1: ring 16-byte aligned (the area is page-aligned), each event structure 4. */
	l.avail_off = (uint64_t)PDESC_BYTES * size;
	l.used_off = l.avail_off + EVENT_BYTES;
	/* then id_next[size] and id_count[size], the driver's */
	l.bytes = align_up(l.used_off + EVENT_BYTES + 4ull * size, PAGE_BYTES);
	return l;
}

static uint16_t wrap_flags(int wrap)
{
	/* §2.8.1: available = AVAIL matches the Driver Ring Wrap Counter, USED its inverse. */
	return (uint16_t)(wrap ? VIRTQ_DESC_F_AVAIL : VIRTQ_DESC_F_USED);
}

void virtq_packed_init(struct virtq *q, uint16_t size, void *ring, void **cookies, int event_idx)
{
	struct virtq_layout l = virtq_packed_layout(size);
	uint8_t *base = ring;

	q->packed = 1;
	q->size = size;
	q->desc = 0;
	q->avail = 0;
	q->used = 0;
	q->used_event = q->avail_event = 0;
	q->ring = (struct pvirtq_desc *)base;
	q->driver_event = (struct pvirtq_event_suppress *)(base + l.avail_off);
	q->device_event = (struct pvirtq_event_suppress *)(base + l.used_off);
	q->id_next = (uint16_t *)(base + l.used_off + EVENT_BYTES);
	q->id_count = q->id_next + size;
	q->cookie = cookies;
	q->event_idx = event_idx;
	q->interrupts = 0;
	q->next_avail = q->next_used = 0;
	q->avail_wrap = q->used_wrap = 1; /* §2.8.1: both counters start at 1 */
	q->added = 0;
	q->notifies = q->notifies_suppressed = 0;
	q->free_head = q->last_used = q->avail_idx = q->kicked_idx = 0;
	for (uint16_t i = 0; i < size; i++) {
		q->id_next[i] = (uint16_t)(i + 1); /* the last one links to size: none */
		q->id_count[i] = 0;
	}
	q->free_id = 0;
	q->num_free = size;
}

/* Step to the next ring position, toggling the wrap counter past the end (§2.8.1). */
static void advance(uint16_t *pos, uint8_t *wrap, uint16_t by, uint16_t size)
{
	uint32_t p = (uint32_t)*pos + by;
	if (p >= size) {
		p -= size;
		*wrap ^= 1;
	}
	*pos = (uint16_t)p;
}

static int take_id(struct virtq *q, unsigned descs)
{
	if (descs == 0 || descs > q->num_free || q->free_id >= q->size)
		return -1;
	uint16_t id = q->free_id;
	q->free_id = q->id_next[id];
	q->id_count[id] = (uint16_t)descs;
	q->num_free = (uint16_t)(q->num_free - descs);
	return id;
}

/*
 * §2.8.21.1 "Placing Available Buffers Into The Descriptor Ring": every descriptor of the list
 * is written, flags included, except the first one's flags, which are stored last after a
 * barrier, so the device never sees part of a list (§2.8.17). The buffer id goes in every
 * descriptor (§2.8.6 requires it in the last one; the others may carry it).
 */
static int place(struct virtq *q, const struct pvirtq_desc *src, unsigned n, uint16_t id, void *cookie)
{
	uint16_t head = q->next_avail, head_flags = 0;
	for (unsigned k = 0; k < n; k++) {
		struct pvirtq_desc *d = &q->ring[q->next_avail];
		uint16_t f = (uint16_t)(src[k].flags | wrap_flags(q->avail_wrap) |
					(k + 1 < n ? VIRTQ_DESC_F_NEXT : 0));
		d->addr = src[k].addr;
		d->len = src[k].len;
		d->id = id;
		if (k == 0)
			head_flags = f;
		else
			*(volatile uint16_t *)&d->flags = f;
		advance(&q->next_avail, &q->avail_wrap, 1, q->size);
	}
	q->cookie[id] = cookie;
	q->added = (uint16_t)(q->added + n);
	compiler_barrier(); /* x86 keeps stores in order: the compiler must, too */
	*(volatile uint16_t *)&q->ring[head].flags = head_flags;
	return id;
}

int virtq_packed_add_chain(struct virtq *q, const struct virtq_buf *bufs, unsigned n, void *cookie)
{
	struct pvirtq_desc src[VIRTQ_PACKED_MAX_CHAIN];
	if (n > VIRTQ_PACKED_MAX_CHAIN)
		return -1;
	int id = take_id(q, n);
	if (id < 0)
		return -1;
	for (unsigned k = 0; k < n; k++)
		src[k] = (struct pvirtq_desc){ (uint64_t)(uintptr_t)bufs[k].addr, bufs[k].len, 0,
					       (uint16_t)(bufs[k].device_writes ? VIRTQ_DESC_F_WRITE : 0) };
	return place(q, src, n, (uint16_t)id, cookie);
}

int virtq_packed_add_indirect(struct virtq *q, struct virtq_desc *table, unsigned n, void *cookie)
{
	_Static_assert(sizeof(struct virtq_desc) == sizeof(struct pvirtq_desc), "same 16 bytes");
	int id = take_id(q, 1);
	if (id < 0)
		return -1;
	/* §2.8.19: in the table WRITE is the only valid flag; the buffer id is reserved (0). The
	 * entries follow one another (§2.8.7): the split format's next links have no place here. */
	struct pvirtq_desc *pt = (struct pvirtq_desc *)table;
	for (unsigned i = 0; i < n; i++) {
		uint16_t f = table[i].flags & VIRTQ_DESC_F_WRITE;
		pt[i].id = 0;
		pt[i].flags = f;
	}
	struct pvirtq_desc d = { (uint64_t)(uintptr_t)table, (uint32_t)(n * sizeof(*pt)), 0,
				 VIRTQ_DESC_F_INDIRECT };
	return place(q, &d, 1, (uint16_t)id, cookie);
}

int virtq_packed_publish(struct virtq *q)
{
	/* new and old as ring positions; old may lie before 0 (mod 2^16) when the batch wrapped */
	uint16_t new_pos = q->next_avail, old_pos = (uint16_t)(new_pos - q->added);
	q->added = 0;
	store_load_fence();
	uint32_t snap = *(volatile uint32_t *)q->device_event; /* off_wrap and flags at once */
	uint16_t off_wrap = (uint16_t)snap, flags = (uint16_t)(snap >> 16);
	int notify;
	if (q->event_idx && flags == RING_EVENT_FLAGS_DESC) {
		/* §2.8.10: notify when the descriptor at off (in the lap of the wrap bit) was made
		 * available by this batch. An event in the previous lap sits size positions back. */
		uint16_t event = off_wrap & RING_EVENT_OFF_MASK;
		if ((off_wrap >> RING_EVENT_WRAP_SHIFT) != q->avail_wrap)
			event = (uint16_t)(event - q->size);
		notify = virtq_need_event(event, new_pos, old_pos);
	} else {
		notify = flags != RING_EVENT_FLAGS_DISABLE;
	}
	q->last_publish_notified = notify;
	if (!notify) {
		q->notifies_suppressed++;
		return 0;
	}
	q->notifies++;
	return 1;
}

/* Tell the device where we want the next used buffer notification (EVENT_IDX): at the next
 * used position, in the lap of the used wrap counter. */
static void set_driver_event(struct virtq *q)
{
	*(volatile uint16_t *)&q->driver_event->off_wrap =
		(uint16_t)(q->next_used | (uint16_t)q->used_wrap << RING_EVENT_WRAP_SHIFT);
}

void *virtq_packed_get_used(struct virtq *q, uint32_t *len)
{
	/* §2.8.22: used when AVAIL and USED both equal the wrap counter we expect. */
	struct pvirtq_desc *d = &q->ring[q->next_used];
	uint16_t flags = *(volatile uint16_t *)&d->flags;
	int avail = !!(flags & VIRTQ_DESC_F_AVAIL), used = !!(flags & VIRTQ_DESC_F_USED);
	if (used != q->used_wrap || avail != q->used_wrap)
		return 0;
	compiler_barrier(); /* id and len after the flags that say they are there */
	uint16_t id = *(volatile uint16_t *)&d->id;
	uint32_t written = *(volatile uint32_t *)&d->len;
	if (id >= q->size || !q->id_count[id])
		return 0; /* not a buffer of ours: leave the ring alone (the wait times out) */
	uint16_t count = q->id_count[id];
	advance(&q->next_used, &q->used_wrap, count, q->size);
	q->id_count[id] = 0;
	q->id_next[id] = q->free_id;
	q->free_id = id;
	q->num_free = (uint16_t)(q->num_free + count);
	if (q->event_idx && q->interrupts) {
		set_driver_event(q);
		/* the event visible before the next load of a descriptor's flags (as in virtq.c) */
		store_load_fence();
	}
	if (len)
		*len = written;
	return q->cookie[id];
}

void virtq_packed_want_interrupts(struct virtq *q, int on)
{
	q->interrupts = on;
	uint16_t flags = RING_EVENT_FLAGS_DISABLE;
	if (on && q->event_idx) {
		set_driver_event(q);
		compiler_barrier(); /* the offset before the flags that make it count */
		flags = RING_EVENT_FLAGS_DESC;
	} else if (on) {
		flags = RING_EVENT_FLAGS_ENABLE;
	}
	*(volatile uint16_t *)&q->driver_event->flags = flags;
}
