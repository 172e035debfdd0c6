/*
 * The transport-neutral half of virtio (virtio.h): device initialization steps (Virtio 1.2
 * §3.1.1), feature negotiation, configuration reads (§2.5), queue allocation and the
 * interrupt vector; register accesses go through the device's transport table (virtio_pci.c,
 * virtio_mmio.c). The split virtqueue's memory is drivers/virtq.c.
 */
#include "virtio.h"
#include "virtio_mmio.h"
#include "virtio_pci.h"
#include "kernel/io.h"
#include "kernel/lib.h"
#include "kernel/memory.h"
#include "kernel/report.h"

#define RESET_SPIN_LIMIT        1000000

int virtio_reset_and_acknowledge(struct virtio_dev *v, uint64_t (*read_features)(struct virtio_dev *v),
				 const char **why)
{
	const struct virtio_transport_ops *t = v->ops;

	v->mapped = 1;
	t->status_write(v, 0);
	int spins = 0;
	while (t->status_read(v) != 0 && ++spins < RESET_SPIN_LIMIT)
		cpu_relax();
	if (spins == RESET_SPIN_LIMIT) {
		*why = "device did not finish its reset";
		return -1;
	}
	t->status_write(v, VIRTIO_STATUS_ACKNOWLEDGE);
	t->status_write(v, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	v->offered = read_features(v);
	return 0;
}

int virtio_init(struct virtio_dev *v, const struct pci_dev *pci, const struct virtio_mmio_slot *mmio,
		enum virtio_transport_pref pref, const char **why)
{
	return mmio ? virtio_mmio_init(v, mmio, pref, why) : virtio_pci_init(v, pci, pref, why);
}

const char *virtio_unusable_mode(const struct virtio_mmio_slot *mmio, enum completion_mode *mode)
{
	if (!mmio || *mode != COMPLETE_MSIX)
		return 0;
	*mode = COMPLETE_POLL;
	return "virtio-mmio has no MSI or MSI-X: use irq=poll or irq=intx";
}

const char *virtio_transport_name(const struct virtio_dev *v)
{
	return v->transport == VIRTIO_LEGACY ? v->ops->name_legacy : v->ops->name_modern;
}

int virtio_irq_setup(struct virtio_dev *v, enum completion_mode mode, irq_handler_fn handler,
		     void *arg, const char **why)
{
	if (mode == COMPLETE_POLL)
		return 0;
	uint8_t vector = irq_alloc_vector();
	if (!vector) {
		*why = "no interrupt vector left";
		return -1;
	}
	irq_register(vector, handler, arg);
	return v->ops->irq_route(v, mode, vector, why);
}

uint8_t virtio_isr_read(struct virtio_dev *v) { return v->ops->isr_read(v); }

int virtio_negotiate(struct virtio_dev *v, uint64_t want, int evidx, int indirect, const char **why)
{
	if (v->transport == VIRTIO_MODERN)
		want |= 1ull << VIRTIO_F_VERSION_1;
	if (evidx) {
		if (!virtio_offers(v, VIRTIO_RING_F_EVENT_IDX)) {
			*why = "evidx=1 asked, but the device does not offer EVENT_IDX";
			return -1;
		}
		want |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	}
	if (indirect) {
		if (!virtio_offers(v, VIRTIO_RING_F_INDIRECT_DESC)) {
			*why = "indirect=1 asked, but the device does not offer INDIRECT_DESC";
			return -1;
		}
		want |= 1ull << VIRTIO_RING_F_INDIRECT_DESC;
	}
	v->features = v->offered & want;
	v->ops->features_write(v, v->features);
	if (v->transport == VIRTIO_LEGACY)
		return 0; /* legacy devices have no FEATURES_OK (§3.1.2) */
	v->ops->status_write(v, v->ops->status_read(v) | VIRTIO_STATUS_FEATURES_OK);
	if (!(v->ops->status_read(v) & VIRTIO_STATUS_FEATURES_OK)) {
		*why = "device refused the features (FEATURES_OK not kept)";
		return -1;
	}
	return 0;
}

uint8_t virtio_cfg_read8(struct virtio_dev *v, uint32_t off) { return (uint8_t)v->ops->cfg_read(v, off, 1); }
uint16_t virtio_cfg_read16(struct virtio_dev *v, uint32_t off) { return (uint16_t)v->ops->cfg_read(v, off, 2); }
uint32_t virtio_cfg_read32(struct virtio_dev *v, uint32_t off) { return v->ops->cfg_read(v, off, 4); }

/* 64-bit fields in two halves, re-read until the generation is stable (§2.5.1, §4.1.4.3.1). */
uint64_t virtio_cfg_read64(struct virtio_dev *v, uint32_t off)
{
	for (;;) {
		uint32_t gen = v->ops->cfg_generation(v);
		uint64_t lo = virtio_cfg_read32(v, off), hi = virtio_cfg_read32(v, off + 4);
		if (gen == v->ops->cfg_generation(v))
			return hi << 32 | lo;
	}
}

int virtio_queue_setup(struct virtio_dev *v, struct virtq *q, uint16_t index, uint16_t max_size)
{
	memset(q, 0, sizeof(*q));
	q->vdev = v;
	q->index = index;
	uint16_t size = v->ops->queue_size(v, index, max_size);
	if (!size)
		return -1;

	/* One physically contiguous, zeroed area in the legacy layout (virtq.h), or the packed
	 * one (§2.8.10.1: descriptor ring, driver and device event suppression); a legacy
	 * interface takes its page number, a modern one the three addresses. */
	int packed = virtio_has(v, VIRTIO_F_RING_PACKED);
	if (packed && v->transport == VIRTIO_LEGACY)
		return -1; /* cannot be negotiated there: 32 feature bits */
	struct virtq_layout layout = packed ? virtq_packed_layout(size) : virtq_layout(size);
	_Static_assert(VIRTQ_LEGACY_ALIGN == PAGE_SIZE, "the ring area is whole pages");
	void *ring = page_alloc(layout.bytes / PAGE_SIZE);
	void **cookies = page_alloc(ALIGN_UP(sizeof(void *) * size, PAGE_SIZE) / PAGE_SIZE);
	if (!ring || !cookies)
		return -1;
	if (packed)
		virtq_packed_init(q, size, ring, cookies, virtio_has(v, VIRTIO_RING_F_EVENT_IDX));
	else
		virtq_init(q, size, ring, cookies, virtio_has(v, VIRTIO_RING_F_EVENT_IDX));
	return v->ops->queue_enable(v, q, ring);
}

void virtio_kick(struct virtq *q)
{
	if (virtq_publish(q))
		q->vdev->ops->notify(q);
}

void virtio_driver_ok(struct virtio_dev *v)
{
	v->ops->status_write(v, v->ops->status_read(v) | VIRTIO_STATUS_DRIVER_OK);
}

int virtio_give_up(struct virtio_dev *v, const char *model, const char *why)
{
	v->ops->report_error(v, model, why);
	if (v->mapped)
		v->ops->status_write(v, v->ops->status_read(v) | VIRTIO_STATUS_FAILED);
	return -1;
}

/* PREFIX + name into buf (record keys are short) */
static const char *field_key(char *buf, unsigned cap, const char *prefix, const char *name)
{
	unsigned n = 0;

	for (; *prefix && n + 1 < cap; prefix++)
		buf[n++] = *prefix;
	for (; *name && n + 1 < cap; name++)
		buf[n++] = *name;
	buf[n] = 0;
	return buf;
}

void virtq_report_fields(const struct virtq *q, const char *prefix)
{
	struct virtq_snapshot s;
	char k[48];

	virtq_snapshot(q, &s);
	rec_u64(field_key(k, sizeof(k), prefix, "published"), s.published);
	rec_u64(field_key(k, sizeof(k), prefix, "used"), s.device_used);
	rec_u64(field_key(k, sizeof(k), prefix, "taken"), s.taken);
	rec_u64(field_key(k, sizeof(k), prefix, "in_flight"), s.in_flight);
	if (s.event_idx)
		rec_u64(field_key(k, sizeof(k), prefix, "avail_event"), s.device_event);
	rec_hex(field_key(k, sizeof(k), prefix, "device_flags"), s.device_flags);
	rec_str(field_key(k, sizeof(k), prefix, "last_kick"), s.last_publish_notified ? "sent" : "suppressed");
	rec_u64(field_key(k, sizeof(k), prefix, "kicks"), s.notifies);
	rec_u64(field_key(k, sizeof(k), prefix, "kicks_suppressed"), s.notifies_suppressed);
}
