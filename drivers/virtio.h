/*
 * Shared virtio code: the PCI transport (legacy 0.9.5 I/O BAR, or modern 1.x capabilities) and
 * the split virtqueue (Virtio 1.2 §2.7). Every virtio device model (blk, net) uses these.
 */
#ifndef KVMIO_DRIVERS_VIRTIO_H
#define KVMIO_DRIVERS_VIRTIO_H
#include <stdint.h>
#include "kernel/pci.h"

#define PCI_VENDOR_VIRTIO         0x1af4
#define VIRTIO_PCI_LEGACY_FIRST   0x1000   /* transitional IDs 0x1000..0x103f */
#define VIRTIO_PCI_LEGACY_LAST    0x103f
#define VIRTIO_PCI_MODERN_BASE    0x1040   /* + virtio device type */
#define VIRTIO_TYPE_NET           1
#define VIRTIO_TYPE_BLOCK         2

/* Device status (§2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER      2
#define VIRTIO_STATUS_DRIVER_OK   4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_FAILED      128

/* Device-independent feature bits (§6) */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32

#define VIRTIO_MSI_NO_VECTOR      0xffff

/* Split virtqueue layout (§2.7.5-8) */
#define VIRTQ_DESC_F_NEXT     1
#define VIRTQ_DESC_F_WRITE    2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

struct virtq_desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct virtq_avail { uint16_t flags, idx, ring[]; /* then used_event */ };
struct virtq_used_elem { uint32_t id, len; };
struct virtq_used { uint16_t flags, idx; struct virtq_used_elem ring[]; /* then avail_event */ };

enum virtio_transport { VIRTIO_LEGACY = 0, VIRTIO_MODERN = 1 };

struct virtio_dev {
	const struct pci_dev *pci;
	enum virtio_transport transport;
	int msix;               /* MSI-X enabled: legacy config space moves by 4 bytes */
	uint16_t io;            /* legacy: I/O BAR0 */
	uint64_t common, isr, device, notify; /* modern: mapped capability regions */
	uint32_t notify_multiplier;
	uint64_t features;      /* negotiated */
};

struct virtq {
	struct virtio_dev *vdev;
	uint16_t index, size;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	uint16_t *used_event, *avail_event;
	uint16_t free_head, num_free, last_used, avail_idx;
	uint16_t kicked_idx;    /* avail idx at the last notification */
	int event_idx;
	int interrupts;         /* the driver wants completion interrupts */
	void **cookie;          /* per head descriptor */
	uint64_t notify_addr;   /* modern */
	uint64_t notifies, notifies_suppressed;
};

/* One buffer of a chain: device-readable (out) or device-writable (in). */
struct virtq_buf { const void *addr; uint32_t len; int device_writes; };

/* Which transport to use when the device offers both (transitional devices). */
enum virtio_transport_pref { VIRTIO_PREFER_AUTO, VIRTIO_PREFER_LEGACY, VIRTIO_PREFER_MODERN };

/* Is this PCI function a virtio device of `type`? */
int virtio_pci_match(const struct pci_dev *d, uint16_t type);
/* Map the transport, reset (waiting for the reset to finish: firmware may have driven the
 * device) and set ACKNOWLEDGE|DRIVER. 0 on success; -1 with *why set. */
int virtio_pci_init(struct virtio_dev *v, const struct pci_dev *d, enum virtio_transport_pref pref,
		    const char **why);
const char *virtio_transport_name(const struct virtio_dev *v);
uint64_t virtio_device_features(struct virtio_dev *v);
/* Write the driver features; modern: set FEATURES_OK and check the device kept it (§3.1.1). */
int virtio_set_features(struct virtio_dev *v, uint64_t features);
static inline int virtio_has(const struct virtio_dev *v, unsigned bit) { return (v->features >> bit) & 1; }
/* Device configuration space (after the MSI-X fields on legacy with MSI-X). */
uint8_t virtio_cfg_read8(struct virtio_dev *v, uint32_t off);
uint16_t virtio_cfg_read16(struct virtio_dev *v, uint32_t off);
uint32_t virtio_cfg_read32(struct virtio_dev *v, uint32_t off);
uint64_t virtio_cfg_read64(struct virtio_dev *v, uint32_t off);
/* Enable MSI-X entry `entry` for `vector` (before queues are set up). 0 on success. */
int virtio_enable_msix(struct virtio_dev *v, unsigned entry, uint8_t vector);
/* Allocate and program queue `index` with at most `max_size` entries; msix_entry is the MSI-X
 * table entry for it or VIRTIO_MSI_NO_VECTOR. 0 on success. */
int virtq_setup(struct virtq *q, struct virtio_dev *v, uint16_t index, uint16_t max_size,
		uint16_t msix_entry, int event_idx);
void virtio_driver_ok(struct virtio_dev *v);
void virtio_fail(struct virtio_dev *v);
/* Read (and so clear) the ISR status: bit 0 queue interrupt, bit 1 config change. */
uint8_t virtio_isr_read(struct virtio_dev *v);

/* Add a chain (out buffers first, then in); returns the head or -1 when there is no room. */
int virtq_add_chain(struct virtq *q, const struct virtq_buf *bufs, unsigned n, void *cookie);
/* Add one descriptor pointing at an indirect table the caller filled (§2.7.5.3). */
int virtq_add_indirect(struct virtq *q, struct virtq_desc *table, unsigned n, void *cookie);
/* Publish added chains and notify the device unless it asked not to be. */
void virtq_kick(struct virtq *q);
/* The cookie of the next completed chain (and the bytes written), or NULL. */
void *virtq_get_used(struct virtq *q, uint32_t *len);
/* Ask for (or suppress) interrupts: NO_INTERRUPT, or used_event with EVENT_IDX. */
void virtq_want_interrupts(struct virtq *q, int on);

#endif
