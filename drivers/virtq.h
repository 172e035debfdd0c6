/*
 * The split virtqueue (Virtio 1.2 §2.7): descriptor table, available and used rings, the list
 * of free descriptors, EVENT_IDX notification arithmetic (§2.7.10) and indirect descriptors
 * (§2.7.5.3). Memory only: no device register, no allocation, so the host's unit tests
 * compile drivers/virtq.c as it is (tests/unit/test_virtq.c). The transport (drivers/virtio_pci.c)
 * allocates the rings, tells the device where they are and notifies it.
 *
 * One queue API for both layouts: a queue laid out by virtq_packed_init (VIRTIO_F_RING_PACKED,
 * §2.8; drivers/virtq_packed.c) takes the same virtq_add_chain, virtq_add_indirect,
 * virtq_publish, virtq_get_used and virtq_want_interrupts, which hand it to the packed code, so
 * a device driver never knows which layout was negotiated.
 *
 * Ring indices are free-running 16-bit counters ("The Virtqueue Available Ring", "The
 * Virtqueue Used Ring"): they wrap from 65535 to 0 and a ring slot is index & (size - 1), so
 * size is a power of two.
 */
#ifndef KVMIO_DRIVERS_VIRTQ_H
#define KVMIO_DRIVERS_VIRTQ_H
#include <stddef.h>
#include <stdint.h>

/* Descriptor, avail and used ring flags (§2.7.5-8). */
#define VIRTQ_DESC_F_NEXT          1
#define VIRTQ_DESC_F_WRITE         2   /* device-writable */
#define VIRTQ_DESC_F_INDIRECT      4   /* the buffer is a table of descriptors */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

struct virtq_desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct virtq_avail { uint16_t flags, idx, ring[]; /* then used_event */ };
struct virtq_used_elem { uint32_t id, len; };
struct virtq_used { uint16_t flags, idx; struct virtq_used_elem ring[]; /* then avail_event */ };

/* Legacy layout (§2.7 "Legacy Interfaces: A Note on Virtqueue Layout"), which the modern
 * transport accepts too: descriptors, then the avail ring, then the used ring on the next
 * 4096-byte boundary, in one physically contiguous area. */
#define VIRTQ_LEGACY_ALIGN 4096
struct virtq_layout {
	uint64_t avail_off;  /* from the start of the area */
	uint64_t used_off;
	uint64_t bytes;      /* the whole area, a multiple of VIRTQ_LEGACY_ALIGN */
};
struct virtq_layout virtq_layout(uint16_t size);

/* Packed layout (§2.8.13 "The Virtqueue Descriptor Format", §2.8.14 "Event Suppression
 * Structure Format"). Flags: NEXT, WRITE and INDIRECT as above, plus the avail/used bits that
 * must match (used) or differ (available) against the ring wrap counters (§2.8.1). */
#define VIRTQ_DESC_F_AVAIL          (1u << 7)
#define VIRTQ_DESC_F_USED           (1u << 15)
#define RING_EVENT_FLAGS_ENABLE     0x0  /* §2.8.10: events on */
#define RING_EVENT_FLAGS_DISABLE    0x1  /* events off */
#define RING_EVENT_FLAGS_DESC       0x2  /* an event at off_wrap (EVENT_IDX only) */
#define RING_EVENT_OFF_MASK         0x7fff
#define RING_EVENT_WRAP_SHIFT       15   /* desc_event_wrap above the 15-bit offset */
#define VIRTQ_PACKED_ALIGN          16   /* §2.8.10.1: the descriptor ring's alignment */
#define VIRTQ_PACKED_MAX_CHAIN      16   /* descriptors per chain virtq_add_chain takes on a packed queue */

struct pvirtq_desc { uint64_t addr; uint32_t len; uint16_t id, flags; };
struct pvirtq_event_suppress { uint16_t off_wrap, flags; };

/* Packed layout in one area: descriptor ring (16-byte aligned), driver event suppression
 * (avail_off: the Driver Area), device event suppression (used_off: the Device Area), then
 * the driver's own per-buffer-id bookkeeping (never read by the device). */
struct virtq_layout virtq_packed_layout(uint16_t size);

struct virtio_dev;

struct virtq {
	uint16_t size;          /* entries, a power of two */
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	uint16_t *used_event, *avail_event; /* the EVENT_IDX fields after the rings */
	uint16_t free_head;     /* first free descriptor; free ones are chained through next */
	uint16_t num_free;
	uint16_t last_used;     /* used idx up to which completions were taken */
	uint16_t avail_idx;     /* avail idx with the chains added but not yet published */
	uint16_t kicked_idx;    /* avail idx at the last publish */
	int event_idx;          /* VIRTIO_RING_F_EVENT_IDX negotiated */
	int interrupts;         /* the driver wants completion interrupts */
	void **cookie;          /* per head descriptor: what virtq_get_used hands back */
	uint64_t notifies, notifies_suppressed;
	int last_publish_notified; /* the last virtq_publish asked for a notify (else suppressed) */
	/* Packed layout (§2.8), when `packed` is set; desc, avail and used are then NULL. */
	int packed;
	struct pvirtq_desc *ring;                   /* Descriptor Area */
	struct pvirtq_event_suppress *driver_event; /* Driver Area: written here, read by the device */
	struct pvirtq_event_suppress *device_event; /* Device Area: written by the device */
	uint16_t next_avail, next_used;             /* ring positions, 0..size-1 */
	uint8_t avail_wrap, used_wrap;              /* Driver Ring Wrap Counter; the used one expected */
	uint16_t free_id;                           /* first free buffer id (size: none) */
	uint16_t *id_next, *id_count;               /* per buffer id: free-list link, descriptors used */
	uint16_t added;                             /* descriptors made available since the last publish */
	/* The transport's (drivers/virtio_pci.c), never read here: device, queue, where to notify. */
	struct virtio_dev *vdev;
	uint16_t index;
	uint64_t notify_addr;
};

/* One buffer of a chain: device-readable (out) or device-writable (in). */
struct virtq_buf { const void *addr; uint32_t len; int device_writes; };

/* Lay a queue of `size` entries out in `ring` (virtq_layout(size).bytes, zeroed), with
 * `cookies` (size pointers) beside it: every descriptor free, indices at 0. The transport's
 * fields are left alone. */
void virtq_init(struct virtq *q, uint16_t size, void *ring, void **cookies, int event_idx);
/* The same for the packed layout (ring: virtq_packed_layout(size).bytes, zeroed): both wrap
 * counters at 1 (§2.8.1), every buffer id free, events enabled. */
void virtq_packed_init(struct virtq *q, uint16_t size, void *ring, void **cookies, int event_idx);
/* Where the three areas are, for the transport: descriptors (table or ring), Driver Area
 * (avail ring or driver event suppression), Device Area (used ring or device event suppression). */
void virtq_areas(const struct virtq *q, uint64_t *desc, uint64_t *driver, uint64_t *device);
/* Add a chain (out buffers first, then in); returns the head (split) or the buffer id
 * (packed), or -1 when there is no room. */
int virtq_add_chain(struct virtq *q, const struct virtq_buf *bufs, unsigned n, void *cookie);
/* Add one descriptor pointing at an indirect table of n entries the caller filled in the split
 * format (struct virtq_desc). On a packed queue the table is rewritten in place into the packed
 * format (struct pvirtq_desc, WRITE the only flag, §2.8.19), so callers need not know. */
int virtq_add_indirect(struct virtq *q, struct virtq_desc *table, unsigned n, void *cookie);
/* Fill an indirect table (split format, §2.7.5.3) with the n buffers of a chain, as
 * virtq_add_chain would lay them out: each buffer's address and length, WRITE where the
 * device writes it, NEXT linking entry i to i + 1 on all but the last. */
void virtq_fill_indirect(struct virtq_desc *table, const struct virtq_buf *bufs, unsigned n);
/* vring_need_event (§2.7.10): does moving avail idx from old_idx to new_idx pass `event`
 * (the device's avail_event), modulo 2^16? */
int virtq_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx);
/* Publish the added chains (avail idx) and say whether the device wants to be notified:
 * with EVENT_IDX when its avail_event lies in what was published since the last call,
 * else unless it set VIRTQ_USED_F_NO_NOTIFY. Counts notifies and notifies_suppressed. */
int virtq_publish(struct virtq *q);
/* The cookie of the next completed chain (and the bytes the device wrote), or NULL; its
 * descriptors go back on the free list. */
void *virtq_get_used(struct virtq *q, uint32_t *len);
/* Ask for (or suppress) completion interrupts: NO_INTERRUPT, or used_event with EVENT_IDX. */
void virtq_want_interrupts(struct virtq *q, int on);

/* A queue's state as both sides left it, for an error record when requests stop completing:
 * whether the device took what was published, and whether it had asked not to be notified. */
struct virtq_snapshot {
	uint16_t published;      /* split: avail idx; packed: next avail position | wrap << 15 */
	uint16_t device_used;    /* split: used idx the device wrote; packed: not kept (= taken) */
	uint16_t taken;          /* split: last_used; packed: next used position | wrap << 15 */
	uint16_t in_flight;      /* descriptors not yet returned by the device */
	uint16_t device_event;   /* split: avail_event (EVENT_IDX); packed: device event off_wrap */
	uint16_t device_flags;   /* split: used flags (NO_NOTIFY); packed: device event flags */
	int event_idx;
	int last_publish_notified;
	uint64_t notifies, notifies_suppressed;
};
void virtq_snapshot(const struct virtq *q, struct virtq_snapshot *s);

/* The packed implementations (virtq_packed.c), reached through the functions above. */
int virtq_packed_add_chain(struct virtq *q, const struct virtq_buf *bufs, unsigned n, void *cookie);
int virtq_packed_add_indirect(struct virtq *q, struct virtq_desc *table, unsigned n, void *cookie);
int virtq_packed_publish(struct virtq *q);
void *virtq_packed_get_used(struct virtq *q, uint32_t *len);
void virtq_packed_want_interrupts(struct virtq *q, int on);

#endif
