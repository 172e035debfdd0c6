/*
 * Virtio over PCI. References: Virtio 1.2 §4.1 "Virtio Over PCI Bus" (modern capabilities,
 * §4.1.4; legacy I/O layout, §4.1.4.10 "Legacy Interfaces: A Note on PCI Device Layout"),
 * §3.1 device initialization. The split virtqueue's memory is drivers/virtq.c.
 */
#include "virtio_pci.h"
#include "kernel/devio.h"
#include "kernel/lib.h"
#include "kernel/memory.h"
#include "kernel/report.h"

/* Legacy I/O BAR0 registers */
#define VIRTIO_LEGACY_DEVICE_FEATURES 0x00
#define VIRTIO_LEGACY_GUEST_FEATURES  0x04
#define VIRTIO_LEGACY_QUEUE_PFN       0x08
#define VIRTIO_LEGACY_QUEUE_SIZE      0x0c
#define VIRTIO_LEGACY_QUEUE_SELECT    0x0e
#define VIRTIO_LEGACY_QUEUE_NOTIFY    0x10
#define VIRTIO_LEGACY_STATUS          0x12
#define VIRTIO_LEGACY_ISR             0x13
#define VIRTIO_LEGACY_CONFIG_VECTOR   0x14  /* only with MSI-X enabled */
#define VIRTIO_LEGACY_QUEUE_VECTOR    0x16
#define VIRTIO_LEGACY_CONFIG          0x14  /* device config without MSI-X */
#define VIRTIO_LEGACY_CONFIG_MSIX     0x18  /* device config with MSI-X */
#define VIRTIO_LEGACY_PFN_SHIFT       12

/* Modern: vendor capability (§4.1.4) */
#define PCI_CAP_VENDOR          0x09
#define VIRTIO_CAP_CFG_TYPE     3
#define VIRTIO_CAP_BAR          4
#define VIRTIO_CAP_OFFSET       8
#define VIRTIO_CAP_NOTIFY_MULT  16
#define VIRTIO_PCI_CAP_COMMON   1
#define VIRTIO_PCI_CAP_NOTIFY   2
#define VIRTIO_PCI_CAP_ISR      3
#define VIRTIO_PCI_CAP_DEVICE   4
#define PCI_CAP_LIST_LIMIT      48

/* Modern common configuration (§4.1.4.3) */
#define VIRTIO_COMMON_DFSELECT      0x00
#define VIRTIO_COMMON_DF            0x04
#define VIRTIO_COMMON_GFSELECT      0x08
#define VIRTIO_COMMON_GF            0x0c
#define VIRTIO_COMMON_MSIX_CONFIG   0x10
#define VIRTIO_COMMON_STATUS        0x14
#define VIRTIO_COMMON_CFG_GENERATION 0x15
#define VIRTIO_COMMON_Q_SELECT      0x16
#define VIRTIO_COMMON_Q_SIZE        0x18
#define VIRTIO_COMMON_Q_MSIX        0x1a
#define VIRTIO_COMMON_Q_ENABLE      0x1c
#define VIRTIO_COMMON_Q_NOTIFY_OFF  0x1e
#define VIRTIO_COMMON_Q_DESC        0x20
#define VIRTIO_COMMON_Q_DRIVER      0x28
#define VIRTIO_COMMON_Q_DEVICE      0x30

#define PCI_SUBSYSTEM_ID        0x2e
#define RESET_SPIN_LIMIT        1000000

int virtio_pci_match(const struct pci_dev *d, uint16_t type)
{
	if (d->vendor != PCI_VENDOR_VIRTIO)
		return 0;
	if (d->device == VIRTIO_PCI_MODERN_BASE + type)
		return 1;
	return d->device >= VIRTIO_PCI_LEGACY_FIRST && d->device <= VIRTIO_PCI_LEGACY_LAST &&
	       pci_read16(d, PCI_SUBSYSTEM_ID) == type;
}

static uint8_t status_read(struct virtio_dev *v)
{
	return v->transport == VIRTIO_LEGACY ? dev_inb(v->io + VIRTIO_LEGACY_STATUS)
					     : dev_mmio_read8(v->common + VIRTIO_COMMON_STATUS);
}

static void status_write(struct virtio_dev *v, uint8_t s)
{
	if (v->transport == VIRTIO_LEGACY)
		dev_outb(v->io + VIRTIO_LEGACY_STATUS, s);
	else
		dev_mmio_write8(v->common + VIRTIO_COMMON_STATUS, s);
}

/* Find the modern capabilities; 0 if all four needed regions are there. */
static int map_modern(struct virtio_dev *v, const struct pci_dev *d)
{
	uint8_t off = pci_find_cap(d, PCI_CAP_VENDOR);
	for (int n = 0; off && n < PCI_CAP_LIST_LIMIT; n++, off = pci_read8(d, off + 1) & 0xfc) {
		if (pci_read8(d, off) != PCI_CAP_VENDOR)
			continue;
		uint8_t type = pci_read8(d, off + VIRTIO_CAP_CFG_TYPE);
		uint8_t bar = pci_read8(d, off + VIRTIO_CAP_BAR);
		if (bar > 5 || d->bar[bar].type == BAR_IO || d->bar[bar].type == BAR_NONE)
			continue;
		uint64_t base = pci_bar_address(d, bar);
		if (!base)
			continue;
		uint64_t addr = base + pci_read32(d, off + VIRTIO_CAP_OFFSET);
		if (type == VIRTIO_PCI_CAP_COMMON && !v->common)
			v->common = addr;
		else if (type == VIRTIO_PCI_CAP_ISR && !v->isr)
			v->isr = addr;
		else if (type == VIRTIO_PCI_CAP_DEVICE && !v->device)
			v->device = addr;
		else if (type == VIRTIO_PCI_CAP_NOTIFY && !v->notify) {
			v->notify = addr;
			v->notify_multiplier = pci_read32(d, off + VIRTIO_CAP_NOTIFY_MULT);
		}
	}
	return v->common && v->isr && v->device && v->notify ? 0 : -1;
}

/* The device's feature bits; modern: two 32-bit halves through the select register (§4.1.4.3). */
static uint64_t device_features(struct virtio_dev *v)
{
	if (v->transport == VIRTIO_LEGACY)
		return dev_inl(v->io + VIRTIO_LEGACY_DEVICE_FEATURES);
	dev_mmio_write32(v->common + VIRTIO_COMMON_DFSELECT, 0);
	uint64_t lo = dev_mmio_read32(v->common + VIRTIO_COMMON_DF);
	dev_mmio_write32(v->common + VIRTIO_COMMON_DFSELECT, 1);
	uint64_t hi = dev_mmio_read32(v->common + VIRTIO_COMMON_DF);
	return hi << 32 | lo;
}

/* Write the driver features; modern: set FEATURES_OK and check the device kept it (§3.1.1). */
static int set_features(struct virtio_dev *v, uint64_t features)
{
	v->features = features;
	if (v->transport == VIRTIO_LEGACY) {
		dev_outl(v->io + VIRTIO_LEGACY_GUEST_FEATURES, (uint32_t)features);
		return 0;
	}
	dev_mmio_write32(v->common + VIRTIO_COMMON_GFSELECT, 0);
	dev_mmio_write32(v->common + VIRTIO_COMMON_GF, (uint32_t)features);
	dev_mmio_write32(v->common + VIRTIO_COMMON_GFSELECT, 1);
	dev_mmio_write32(v->common + VIRTIO_COMMON_GF, (uint32_t)(features >> 32));
	status_write(v, status_read(v) | VIRTIO_STATUS_FEATURES_OK);
	return (status_read(v) & VIRTIO_STATUS_FEATURES_OK) ? 0 : -1;
}

int virtio_pci_init(struct virtio_dev *v, const struct pci_dev *d, enum virtio_transport_pref pref,
		    const char **why)
{
	memset(v, 0, sizeof(*v));
	v->pci = d;
	pci_enable(d, 1);
	int has_modern = map_modern(v, d) == 0;
	int has_legacy = d->bar[0].type == BAR_IO && d->bar[0].addr;

	if (pref == VIRTIO_PREFER_LEGACY && !has_legacy) {
		*why = "transport=legacy asked, but the device has no legacy I/O BAR (disable-legacy=on?)";
		return -1;
	}
	if (pref == VIRTIO_PREFER_MODERN && !has_modern) {
		*why = "transport=modern asked, but the device has no virtio 1.x capabilities";
		return -1;
	}
	if (!has_legacy && !has_modern) {
		*why = "neither a legacy I/O BAR nor modern capabilities are usable (BARs unassigned?)";
		return -1;
	}
	v->transport = (pref == VIRTIO_PREFER_LEGACY || !has_modern) ? VIRTIO_LEGACY : VIRTIO_MODERN;
	if (v->transport == VIRTIO_LEGACY)
		v->io = (uint16_t)d->bar[0].addr;
	v->mapped = 1;

	/* §3.1.1: reset, and wait until the device reads back 0 (firmware may have used it). */
	status_write(v, 0);
	int spins = 0;
	while (status_read(v) != 0 && ++spins < RESET_SPIN_LIMIT)
		cpu_relax();
	if (spins == RESET_SPIN_LIMIT) {
		*why = "device did not finish its reset";
		return -1;
	}
	status_write(v, VIRTIO_STATUS_ACKNOWLEDGE);
	status_write(v, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	v->offered = device_features(v);
	return 0;
}

const char *virtio_transport_name(const struct virtio_dev *v)
{
	return v->transport == VIRTIO_LEGACY ? "legacy" : "modern";
}

static uint64_t config_base(struct virtio_dev *v)
{
	if (v->transport == VIRTIO_MODERN)
		return v->device;
	return v->io + (v->msix ? VIRTIO_LEGACY_CONFIG_MSIX : VIRTIO_LEGACY_CONFIG);
}

uint8_t virtio_cfg_read8(struct virtio_dev *v, uint32_t off)
{
	uint64_t a = config_base(v) + off;
	return v->transport == VIRTIO_LEGACY ? dev_inb((uint16_t)a) : dev_mmio_read8(a);
}

uint16_t virtio_cfg_read16(struct virtio_dev *v, uint32_t off)
{
	uint64_t a = config_base(v) + off;
	return v->transport == VIRTIO_LEGACY ? dev_inw((uint16_t)a) : dev_mmio_read16(a);
}

uint32_t virtio_cfg_read32(struct virtio_dev *v, uint32_t off)
{
	uint64_t a = config_base(v) + off;
	return v->transport == VIRTIO_LEGACY ? dev_inl((uint16_t)a) : dev_mmio_read32(a);
}

/* 64-bit fields in two halves; modern re-reads until config_generation is stable (§4.1.4.3.1). */
uint64_t virtio_cfg_read64(struct virtio_dev *v, uint32_t off)
{
	for (;;) {
		uint8_t gen = v->transport == VIRTIO_MODERN ?
			dev_mmio_read8(v->common + VIRTIO_COMMON_CFG_GENERATION) : 0;
		uint64_t lo = virtio_cfg_read32(v, off), hi = virtio_cfg_read32(v, off + 4);
		if (v->transport == VIRTIO_LEGACY ||
		    gen == dev_mmio_read8(v->common + VIRTIO_COMMON_CFG_GENERATION))
			return hi << 32 | lo;
	}
}

static int enable_msix(struct virtio_dev *v, uint8_t vector)
{
	if (pci_msix_enable(v->pci, VIRTIO_MSIX_ENTRY, vector))
		return -1;
	v->msix = 1;
	if (v->transport == VIRTIO_LEGACY)
		dev_outw(v->io + VIRTIO_LEGACY_CONFIG_VECTOR, VIRTIO_MSI_NO_VECTOR);
	else
		dev_mmio_write16(v->common + VIRTIO_COMMON_MSIX_CONFIG, VIRTIO_MSI_NO_VECTOR);
	return 0;
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
	if (mode == COMPLETE_MSIX) {
		if (enable_msix(v, vector)) {
			*why = "MSI-X setup failed";
			return -1;
		}
		return 0;
	}
	if (pci_intx_route(v->pci, vector)) {
		*why = "INTx routing failed (no interrupt line or I/O APIC)";
		return -1;
	}
	return 0;
}

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
	if (set_features(v, v->offered & want)) {
		*why = "device refused the features (FEATURES_OK not kept)";
		return -1;
	}
	return 0;
}

static uint16_t pow2_floor(uint16_t n)
{
	uint16_t p = 1;
	while ((uint32_t)p * 2 <= n)
		p = (uint16_t)(p * 2);
	return p;
}

int virtio_queue_setup(struct virtio_dev *v, struct virtq *q, uint16_t index, uint16_t max_size)
{
	uint16_t size;
	uint16_t msix_entry = v->msix ? VIRTIO_MSIX_ENTRY : VIRTIO_MSI_NO_VECTOR;

	memset(q, 0, sizeof(*q));
	q->vdev = v;
	q->index = index;
	if (v->transport == VIRTIO_LEGACY) {
		dev_outw(v->io + VIRTIO_LEGACY_QUEUE_SELECT, index);
		size = dev_inw(v->io + VIRTIO_LEGACY_QUEUE_SIZE); /* fixed by the device */
	} else {
		dev_mmio_write16(v->common + VIRTIO_COMMON_Q_SELECT, index);
		size = dev_mmio_read16(v->common + VIRTIO_COMMON_Q_SIZE);
		if (size > max_size)
			size = max_size;
		size = size ? pow2_floor(size) : 0;
	}
	if (!size)
		return -1;

	/* One physically contiguous, zeroed area in the legacy layout (virtq.h), or the packed
	 * one (§2.8.10.1: descriptor ring, driver and device event suppression); the legacy
	 * transport takes its page number, the modern one the three addresses. */
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

	if (v->transport == VIRTIO_LEGACY) {
		if (v->msix) {
			dev_outw(v->io + VIRTIO_LEGACY_QUEUE_VECTOR, msix_entry);
			if (dev_inw(v->io + VIRTIO_LEGACY_QUEUE_VECTOR) != msix_entry)
				return -1;
		}
		dev_outl(v->io + VIRTIO_LEGACY_QUEUE_PFN, (uint32_t)((uint64_t)ring >> VIRTIO_LEGACY_PFN_SHIFT));
		return 0;
	}
	dev_mmio_write16(v->common + VIRTIO_COMMON_Q_SIZE, size);
	if (v->msix) {
		dev_mmio_write16(v->common + VIRTIO_COMMON_Q_MSIX, msix_entry);
		if (dev_mmio_read16(v->common + VIRTIO_COMMON_Q_MSIX) != msix_entry)
			return -1;
	}
	uint64_t desc, drv, devc;
	virtq_areas(q, &desc, &drv, &devc);
	dev_mmio_write32(v->common + VIRTIO_COMMON_Q_DESC, (uint32_t)desc);
	dev_mmio_write32(v->common + VIRTIO_COMMON_Q_DESC + 4, (uint32_t)(desc >> 32));
	dev_mmio_write32(v->common + VIRTIO_COMMON_Q_DRIVER, (uint32_t)drv);
	dev_mmio_write32(v->common + VIRTIO_COMMON_Q_DRIVER + 4, (uint32_t)(drv >> 32));
	dev_mmio_write32(v->common + VIRTIO_COMMON_Q_DEVICE, (uint32_t)devc);
	dev_mmio_write32(v->common + VIRTIO_COMMON_Q_DEVICE + 4, (uint32_t)(devc >> 32));
	q->notify_addr = v->notify +
		(uint64_t)dev_mmio_read16(v->common + VIRTIO_COMMON_Q_NOTIFY_OFF) * v->notify_multiplier;
	dev_mmio_write16(v->common + VIRTIO_COMMON_Q_ENABLE, 1);
	return 0;
}

void virtio_kick(struct virtq *q)
{
	if (!virtq_publish(q))
		return;
	if (q->vdev->transport == VIRTIO_LEGACY)
		dev_outw(q->vdev->io + VIRTIO_LEGACY_QUEUE_NOTIFY, q->index);
	else
		dev_mmio_write16(q->notify_addr, q->index);
}

void virtio_driver_ok(struct virtio_dev *v) { status_write(v, status_read(v) | VIRTIO_STATUS_DRIVER_OK); }

int virtio_give_up(struct virtio_dev *v, const char *model, const char *why)
{
	report_device_error(model, v->pci, why);
	if (v->mapped)
		status_write(v, status_read(v) | VIRTIO_STATUS_FAILED);
	return -1;
}

uint8_t virtio_isr_read(struct virtio_dev *v)
{
	return v->transport == VIRTIO_LEGACY ? dev_inb(v->io + VIRTIO_LEGACY_ISR) : dev_mmio_read8(v->isr);
}
