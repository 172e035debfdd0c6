/*
 * Virtio over PCI (Virtio 1.2 §4.1): the legacy 0.9.5 I/O BAR or the modern 1.x capabilities,
 * device initialization (§3.1.1: reset, status, feature negotiation), completion interrupts
 * (MSI-X or INTx) and queue setup. Every virtio device model (blk, net) comes up through
 * here; the rings themselves are drivers/virtq.h.
 */
#ifndef KVMIO_DRIVERS_VIRTIO_PCI_H
#define KVMIO_DRIVERS_VIRTIO_PCI_H
#include <stdint.h>
#include "completion.h"
#include "virtq.h"
#include "kernel/interrupts.h"
#include "kernel/pci.h"

#define PCI_VENDOR_VIRTIO         0x1af4
#define VIRTIO_PCI_LEGACY_FIRST   0x1000   /* transitional IDs 0x1000..0x103f */
#define VIRTIO_PCI_LEGACY_LAST    0x103f
#define VIRTIO_PCI_MODERN_BASE    0x1040   /* + virtio device type */
#define VIRTIO_TYPE_NET           1
#define VIRTIO_TYPE_BLOCK         2
#define VIRTIO_TYPE_SCSI          8    /* Virtio 1.2 §5 "Device Types": SCSI host */

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
#define VIRTIO_F_RING_PACKED        34   /* §2.8: packed virtqueues (modern transports only) */

#define VIRTIO_MSI_NO_VECTOR      0xffff
#define VIRTIO_MSIX_ENTRY         0        /* the one MSI-X table entry: every queue uses it */

enum virtio_transport { VIRTIO_LEGACY = 0, VIRTIO_MODERN = 1 };

/* Which transport to use when the device offers both (transitional devices). */
enum virtio_transport_pref { VIRTIO_PREFER_AUTO, VIRTIO_PREFER_LEGACY, VIRTIO_PREFER_MODERN };

struct virtio_dev {
	const struct pci_dev *pci;
	enum virtio_transport transport;
	int mapped;             /* the chosen transport's registers are known */
	int msix;               /* MSI-X enabled: legacy config space moves by 4 bytes */
	uint16_t io;            /* legacy: I/O BAR0 */
	uint64_t common, isr, device, notify; /* modern: mapped capability regions */
	uint32_t notify_multiplier;
	uint64_t offered;       /* the device's feature bits */
	uint64_t features;      /* negotiated */
};

/* Is this PCI function a virtio device of `type`? */
int virtio_pci_match(const struct pci_dev *d, uint16_t type);
/* Map the transport, reset (waiting for the reset to finish: firmware may have driven the
 * device), set ACKNOWLEDGE|DRIVER and read the offered features. 0, or -1 with *why set. */
int virtio_pci_init(struct virtio_dev *v, const struct pci_dev *d, enum virtio_transport_pref pref,
		    const char **why);
const char *virtio_transport_name(const struct virtio_dev *v);
static inline int virtio_offers(const struct virtio_dev *v, unsigned bit) { return (v->offered >> bit) & 1; }
static inline int virtio_has(const struct virtio_dev *v, unsigned bit) { return (v->features >> bit) & 1; }

/* Completion interrupts as irq= asks: nothing for poll; else a new vector running
 * handler(arg), on MSI-X table entry VIRTIO_MSIX_ENTRY or the function's INTx line. Call
 * before the queues are set up. 0, or -1 with *why set. */
int virtio_irq_setup(struct virtio_dev *v, enum completion_mode mode, irq_handler_fn handler,
		     void *arg, const char **why);
/* Read (and so clear) the ISR status: bit 0 queue interrupt, bit 1 config change. */
uint8_t virtio_isr_read(struct virtio_dev *v);
/* In the interrupt handler: INTx stays asserted until the ISR is read; MSI-X needs nothing. */
static inline void virtio_irq_ack(struct virtio_dev *v)
{
	if (!v->msix)
		virtio_isr_read(v);
}

/* Feature negotiation (§3.1.1 steps 4-6): the driver's `want` bits where offered,
 * VIRTIO_F_VERSION_1 on the modern transport, and the ring features the options asked for
 * (evidx=1: EVENT_IDX, indirect=1: INDIRECT_DESC), which the device must offer. Modern: sets
 * FEATURES_OK and checks the device kept it. 0, or -1 with *why set. */
int virtio_negotiate(struct virtio_dev *v, uint64_t want, int evidx, int indirect, const char **why);

/* ring=packed (drivers/virtio_ring.c): with `packed`, add VIRTIO_F_RING_PACKED to *want and
 * return 0; on the legacy transport (32 feature bits, no packed rings) return 0 with split
 * rings and *unusable saying why; -1 with *why when the modern device does not offer it.
 * virtio_queue_setup then lays out whichever ring was negotiated. */
int virtio_ring_want(const struct virtio_dev *v, int packed, uint64_t *want, const char **unusable,
		     const char **why);
/* "packed" or "split": the ring layout negotiated, for the records. */
const char *virtio_ring_name(const struct virtio_dev *v);

/* Device configuration space (after the MSI-X fields on legacy with MSI-X). */
uint8_t virtio_cfg_read8(struct virtio_dev *v, uint32_t off);
uint16_t virtio_cfg_read16(struct virtio_dev *v, uint32_t off);
uint32_t virtio_cfg_read32(struct virtio_dev *v, uint32_t off);
uint64_t virtio_cfg_read64(struct virtio_dev *v, uint32_t off);

/* Allocate queue `index` with at most `max_size` entries (legacy: the device's size), lay it
 * out (virtq_init, or virtq_packed_init with VIRTIO_F_RING_PACKED; EVENT_IDX as negotiated),
 * and tell the device: rings (descriptor, driver and device areas), MSI-X entry, enable.
 * 0 on success. */
int virtio_queue_setup(struct virtio_dev *v, struct virtq *q, uint16_t index, uint16_t max_size);
/* Publish what was added to q and notify the device unless it asked not to be. */
void virtio_kick(struct virtq *q);
void virtio_driver_ok(struct virtio_dev *v);
/* A device the driver gives up on: its error record (report_device_error), then FAILED in
 * the device status when the transport got that far (§2.1). Returns -1. */
int virtio_give_up(struct virtio_dev *v, const char *model, const char *why);

#endif
