/*
 * Virtio over PCI. References: Virtio 1.2 §4.1 "Virtio Over PCI Bus" (modern capabilities,
 * §4.1.4; legacy I/O layout, §4.1.4.10 "Legacy Interfaces: A Note on PCI Device Layout"),
 * §3.1 device initialization. The transport table (virtio.h) the neutral layer, virtio.c,
 * dispatches through; the split virtqueue's memory is drivers/virtq.c.
 */
#include "virtio_pci.h"
#include "kernel/devio.h"
#include "kernel/lib.h"
#include "kernel/memory.h"
#include "kernel/report.h"

static const struct virtio_transport_ops pci_ops;

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

/* Write the driver features (§4.1.4.3: two 32-bit halves on modern). */
static void features_write(struct virtio_dev *v, uint64_t features)
{
	if (v->transport == VIRTIO_LEGACY) {
		dev_outl(v->io + VIRTIO_LEGACY_GUEST_FEATURES, (uint32_t)features);
		return;
	}
	dev_mmio_write32(v->common + VIRTIO_COMMON_GFSELECT, 0);
	dev_mmio_write32(v->common + VIRTIO_COMMON_GF, (uint32_t)features);
	dev_mmio_write32(v->common + VIRTIO_COMMON_GFSELECT, 1);
	dev_mmio_write32(v->common + VIRTIO_COMMON_GF, (uint32_t)(features >> 32));
}

int virtio_pci_init(struct virtio_dev *v, const struct pci_dev *d, enum virtio_transport_pref pref,
		    const char **why)
{
	memset(v, 0, sizeof(*v));
	v->ops = &pci_ops;
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
	/* §3.1.1: reset, and wait until the device reads back 0 (firmware may have used it). */
	return virtio_reset_and_acknowledge(v, device_features, why);
}

static uint64_t config_base(struct virtio_dev *v)
{
	if (v->transport == VIRTIO_MODERN)
		return v->device;
	return v->io + (v->msix ? VIRTIO_LEGACY_CONFIG_MSIX : VIRTIO_LEGACY_CONFIG);
}

static uint32_t cfg_read(struct virtio_dev *v, uint32_t off, unsigned width)
{
	uint64_t a = config_base(v) + off;
	if (v->transport == VIRTIO_LEGACY)
		return width == 1 ? dev_inb((uint16_t)a) : width == 2 ? dev_inw((uint16_t)a) : dev_inl((uint16_t)a);
	return width == 1 ? dev_mmio_read8(a) : width == 2 ? dev_mmio_read16(a) : dev_mmio_read32(a);
}

/* config_generation (§4.1.4.3.1); legacy has none. */
static uint32_t cfg_generation(struct virtio_dev *v)
{
	return v->transport == VIRTIO_MODERN ? dev_mmio_read8(v->common + VIRTIO_COMMON_CFG_GENERATION) : 0;
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

static int irq_route(struct virtio_dev *v, enum completion_mode mode, uint8_t vector, const char **why)
{
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

static uint16_t pow2_floor(uint16_t n)
{
	uint16_t p = 1;
	while ((uint32_t)p * 2 <= n)
		p = (uint16_t)(p * 2);
	return p;
}

static uint16_t queue_size(struct virtio_dev *v, uint16_t index, uint16_t max_size)
{
	uint16_t size;

	if (v->transport == VIRTIO_LEGACY) {
		dev_outw(v->io + VIRTIO_LEGACY_QUEUE_SELECT, index);
		return dev_inw(v->io + VIRTIO_LEGACY_QUEUE_SIZE); /* fixed by the device */
	}
	dev_mmio_write16(v->common + VIRTIO_COMMON_Q_SELECT, index);
	size = dev_mmio_read16(v->common + VIRTIO_COMMON_Q_SIZE);
	if (size > max_size)
		size = max_size;
	return size ? pow2_floor(size) : 0;
}

/* The queue selected by queue_size: its rings, MSI-X entry, enable. */
static int queue_enable(struct virtio_dev *v, struct virtq *q, void *ring)
{
	uint16_t msix_entry = v->msix ? VIRTIO_MSIX_ENTRY : VIRTIO_MSI_NO_VECTOR;

	if (v->transport == VIRTIO_LEGACY) {
		if (v->msix) {
			dev_outw(v->io + VIRTIO_LEGACY_QUEUE_VECTOR, msix_entry);
			if (dev_inw(v->io + VIRTIO_LEGACY_QUEUE_VECTOR) != msix_entry)
				return -1;
		}
		dev_outl(v->io + VIRTIO_LEGACY_QUEUE_PFN, (uint32_t)((uint64_t)ring >> VIRTIO_LEGACY_PFN_SHIFT));
		return 0;
	}
	dev_mmio_write16(v->common + VIRTIO_COMMON_Q_SIZE, q->size);
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

static void notify(struct virtq *q)
{
	if (q->vdev->transport == VIRTIO_LEGACY)
		dev_outw(q->vdev->io + VIRTIO_LEGACY_QUEUE_NOTIFY, q->index);
	else
		dev_mmio_write16(q->notify_addr, q->index);
}

static uint8_t isr_read(struct virtio_dev *v)
{
	return v->transport == VIRTIO_LEGACY ? dev_inb(v->io + VIRTIO_LEGACY_ISR) : dev_mmio_read8(v->isr);
}

static void give_up_record(struct virtio_dev *v, const char *model, const char *why)
{
	report_device_error(model, v->pci, why);
}

static const struct virtio_transport_ops pci_ops = {
	.name_legacy = "legacy", .name_modern = "modern",
	.status_read = status_read, .status_write = status_write, .features_write = features_write,
	.cfg_read = cfg_read, .cfg_generation = cfg_generation, .queue_size = queue_size,
	.queue_enable = queue_enable, .notify = notify, .irq_route = irq_route, .isr_read = isr_read,
	.report_error = give_up_record,
};
