/*
 * Virtio over MMIO. Reference: Virtio 1.2 §4.2 "Virtio Over MMIO": §4.2.2 "MMIO Device Register
 * Layout" (version 2), §4.2.3 device initialization and queue setup, §4.2.4 "Legacy interface"
 * (version 1: GuestPageSize, QueueAlign, QueuePFN in place of the ring addresses and
 * QueueReady). QEMU's microvm speaks version 1 unless -global virtio-mmio.force-legacy=false.
 * The device interrupt is a level-triggered line held while InterruptStatus has a bit set,
 * until the driver writes the bits to InterruptACK.
 */
#include "virtio_mmio.h"
#include "kernel/devio.h"
#include "kernel/lib.h"
#include "kernel/memory.h"
#include "kernel/report.h"

/* §4.2.2 register layout, offsets from the base */
#define VMMIO_MAGIC_VALUE        0x000   /* 0x74726976, "virt" */
#define VMMIO_VERSION            0x004
#define VMMIO_DEVICE_ID          0x008
#define VMMIO_VENDOR_ID          0x00c
#define VMMIO_DEVICE_FEATURES    0x010
#define VMMIO_DEVICE_FEATURES_SEL 0x014
#define VMMIO_DRIVER_FEATURES    0x020
#define VMMIO_DRIVER_FEATURES_SEL 0x024
#define VMMIO_GUEST_PAGE_SIZE    0x028   /* legacy only (§4.2.4) */
#define VMMIO_QUEUE_SEL          0x030
#define VMMIO_QUEUE_NUM_MAX      0x034
#define VMMIO_QUEUE_NUM          0x038
#define VMMIO_QUEUE_ALIGN        0x03c   /* legacy only */
#define VMMIO_QUEUE_PFN          0x040   /* legacy only */
#define VMMIO_QUEUE_READY        0x044   /* version 2 only */
#define VMMIO_QUEUE_NOTIFY       0x050
#define VMMIO_INTERRUPT_STATUS   0x060
#define VMMIO_INTERRUPT_ACK      0x064
#define VMMIO_STATUS             0x070
#define VMMIO_QUEUE_DESC_LOW     0x080   /* version 2: the three ring addresses, 64-bit each */
#define VMMIO_QUEUE_DESC_HIGH    0x084
#define VMMIO_QUEUE_DRIVER_LOW   0x090
#define VMMIO_QUEUE_DRIVER_HIGH  0x094
#define VMMIO_QUEUE_DEVICE_LOW   0x0a0
#define VMMIO_QUEUE_DEVICE_HIGH  0x0a4
#define VMMIO_CONFIG_GENERATION  0x0fc   /* version 2 only */
#define VMMIO_CONFIG             0x100   /* device-specific configuration */

#define VMMIO_MAGIC              0x74726976u
#define VMMIO_VERSION_LEGACY     1
#define VMMIO_VERSION_MODERN     2
#define VMMIO_PAGE_SHIFT         12      /* the GuestPageSize we write, and QueuePFN's unit */

static const struct virtio_transport_ops mmio_ops;

static struct virtio_mmio_slot slots[VIRTIO_MMIO_ARG_MAX];
static unsigned nslots;

int virtio_mmio_check(const struct virtio_mmio_slot *s)
{
	if (!s->bad)
		return 0;
	rec_begin_device_error("virtio-mmio", s->bad);
	rec_hex("mmio", s->base);
	rec_end();
	return -1;
}

void virtio_mmio_scan(const struct options *o)
{
	for (uint64_t i = 0; i < o->nmmio; i++) {
		const struct virtio_mmio_arg *a = &o->mmio[i];
		struct virtio_mmio_slot s = { .base = a->base, .size = a->size, .gsi = a->gsi };
		if (dev_mmio_read32(a->base + VMMIO_MAGIC_VALUE) != VMMIO_MAGIC) {
			s.bad = "no virtio-mmio magic value at this virtio_mmio.device= address";
		} else {
			s.version = dev_mmio_read32(a->base + VMMIO_VERSION);
			if (s.version != VMMIO_VERSION_LEGACY && s.version != VMMIO_VERSION_MODERN)
				s.bad = "virtio-mmio version is neither 1 (legacy) nor 2";
			else
				s.device_id = dev_mmio_read32(a->base + VMMIO_DEVICE_ID);
		}
		/* insertion in address order: drivers number their devices by it */
		unsigned j = nslots++;
		for (; j > 0 && slots[j - 1].base > s.base; j--)
			slots[j] = slots[j - 1];
		slots[j] = s;
	}
}

unsigned virtio_mmio_count(void) { return nslots; }
const struct virtio_mmio_slot *virtio_mmio_get(unsigned index) { return index < nslots ? &slots[index] : 0; }

static uint32_t rd(struct virtio_dev *v, uint32_t reg) { return dev_mmio_read32(v->mmio + reg); }
static void wr(struct virtio_dev *v, uint32_t reg, uint32_t val) { dev_mmio_write32(v->mmio + reg, val); }

static uint8_t status_read(struct virtio_dev *v) { return (uint8_t)rd(v, VMMIO_STATUS); }
static void status_write(struct virtio_dev *v, uint8_t s) { wr(v, VMMIO_STATUS, s); }

/* DeviceFeatures in two 32-bit halves through DeviceFeaturesSel (§4.2.2). */
static uint64_t device_features(struct virtio_dev *v)
{
	wr(v, VMMIO_DEVICE_FEATURES_SEL, 0);
	uint64_t lo = rd(v, VMMIO_DEVICE_FEATURES);
	wr(v, VMMIO_DEVICE_FEATURES_SEL, 1);
	uint64_t hi = rd(v, VMMIO_DEVICE_FEATURES);
	return hi << 32 | lo;
}

static void features_write(struct virtio_dev *v, uint64_t features)
{
	wr(v, VMMIO_DRIVER_FEATURES_SEL, 0);
	wr(v, VMMIO_DRIVER_FEATURES, (uint32_t)features);
	if (v->transport == VIRTIO_MODERN) { /* legacy devices have 32 feature bits */
		wr(v, VMMIO_DRIVER_FEATURES_SEL, 1);
		wr(v, VMMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	}
}

int virtio_mmio_init(struct virtio_dev *v, const struct virtio_mmio_slot *s,
		     enum virtio_transport_pref pref, const char **why)
{
	memset(v, 0, sizeof(*v));
	v->ops = &mmio_ops;
	v->mmio = s->base;
	v->gsi = s->gsi;
	v->transport = s->version == VMMIO_VERSION_LEGACY ? VIRTIO_LEGACY : VIRTIO_MODERN;
	if (pref == VIRTIO_PREFER_LEGACY && v->transport != VIRTIO_LEGACY) {
		*why = "transport=legacy asked, but this virtio-mmio device is version 2 (modern)";
		return -1;
	}
	if (pref == VIRTIO_PREFER_MODERN && v->transport != VIRTIO_MODERN) {
		*why = "transport=modern asked, but this virtio-mmio device is version 1 (legacy; "
		       "QEMU: -global virtio-mmio.force-legacy=false)";
		return -1;
	}
	if (virtio_reset_and_acknowledge(v, device_features, why))
		return -1;
	if (v->transport == VIRTIO_LEGACY) /* §4.2.4: before any queue is set up */
		wr(v, VMMIO_GUEST_PAGE_SIZE, 1u << VMMIO_PAGE_SHIFT);
	return 0;
}

/* Device configuration at 0x100 (§4.2.2), read at the field's width. */
static uint32_t cfg_read(struct virtio_dev *v, uint32_t off, unsigned width)
{
	uint64_t a = v->mmio + VMMIO_CONFIG + off;
	return width == 1 ? dev_mmio_read8(a) : width == 2 ? dev_mmio_read16(a) : dev_mmio_read32(a);
}

static uint32_t cfg_generation(struct virtio_dev *v)
{
	return v->transport == VIRTIO_MODERN ? rd(v, VMMIO_CONFIG_GENERATION) : 0;
}

static uint16_t pow2_floor(uint32_t n)
{
	uint32_t p = 1;
	while (p * 2 <= n)
		p *= 2;
	return (uint16_t)p;
}

/* §4.2.3.2 steps 1-4: select the queue, check it is not in use, read QueueNumMax. */
static uint16_t queue_size(struct virtio_dev *v, uint16_t index, uint16_t max_size)
{
	wr(v, VMMIO_QUEUE_SEL, index);
	if (rd(v, v->transport == VIRTIO_LEGACY ? VMMIO_QUEUE_PFN : VMMIO_QUEUE_READY) != 0)
		return 0;
	uint32_t max = rd(v, VMMIO_QUEUE_NUM_MAX);
	if (max > max_size)
		max = max_size;
	return max ? pow2_floor(max) : 0;
}

/* §4.2.3.2 steps 5-8 (version 2: QueueNum, the ring addresses, QueueReady); §4.2.4 legacy:
 * QueueNum, QueueAlign and the page number of the one contiguous area. */
static int queue_enable(struct virtio_dev *v, struct virtq *q, void *ring)
{
	wr(v, VMMIO_QUEUE_NUM, q->size);
	if (v->transport == VIRTIO_LEGACY) {
		wr(v, VMMIO_QUEUE_ALIGN, VIRTQ_LEGACY_ALIGN);
		wr(v, VMMIO_QUEUE_PFN, (uint32_t)((uint64_t)ring >> VMMIO_PAGE_SHIFT));
		return 0;
	}
	uint64_t desc, drv, devc;
	virtq_areas(q, &desc, &drv, &devc);
	wr(v, VMMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(v, VMMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(v, VMMIO_QUEUE_DRIVER_LOW, (uint32_t)drv);
	wr(v, VMMIO_QUEUE_DRIVER_HIGH, (uint32_t)(drv >> 32));
	wr(v, VMMIO_QUEUE_DEVICE_LOW, (uint32_t)devc);
	wr(v, VMMIO_QUEUE_DEVICE_HIGH, (uint32_t)(devc >> 32));
	wr(v, VMMIO_QUEUE_READY, 1);
	return 0;
}

/* QueueNotify takes the queue index (§4.2.2; no VIRTIO_F_NOTIFICATION_DATA negotiated). */
static void notify(struct virtq *q) { wr(q->vdev, VMMIO_QUEUE_NOTIFY, q->index); }

/* The transport's one interrupt line; there is no MSI-X on MMIO (intx stands for the line). */
static int irq_route(struct virtio_dev *v, enum completion_mode mode, uint8_t vector, const char **why)
{
	if (mode != COMPLETE_INTX) {
		*why = "irq=msix: virtio-mmio has no MSI-X (use irq=intx or poll)";
		return -1;
	}
	if (ioapic_route_named(v->gsi, vector, 1, 0)) {
		*why = "the virtio_mmio.device= IRQ is not a pin of the I/O APIC";
		return -1;
	}
	return 0;
}

/* InterruptStatus, then InterruptACK with the same bits: the line drops (§4.2.2). */
static uint8_t isr_read(struct virtio_dev *v)
{
	uint32_t s = rd(v, VMMIO_INTERRUPT_STATUS);
	if (s)
		wr(v, VMMIO_INTERRUPT_ACK, s);
	return (uint8_t)s;
}

static void give_up_record(struct virtio_dev *v, const char *model, const char *why)
{
	rec_begin_device_error(model, why);
	rec_hex("mmio", v->mmio);
	rec_end();
}

static const struct virtio_transport_ops mmio_ops = {
	.name_legacy = "mmio-legacy", .name_modern = "mmio-modern",
	.status_read = status_read, .status_write = status_write, .features_write = features_write,
	.cfg_read = cfg_read, .cfg_generation = cfg_generation, .queue_size = queue_size,
	.queue_enable = queue_enable, .notify = notify, .irq_route = irq_route, .isr_read = isr_read,
	.report_error = give_up_record,
};
