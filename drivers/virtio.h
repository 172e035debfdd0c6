/*
 * Virtio devices, transport-neutral (Virtio 1.2 §2 "Basic Facilities of a Virtio Device", §3.1
 * "Device Initialization"): what a device driver (virtio_blk.c, virtio_net.c) calls, whichever
 * transport carries the device: PCI (§4.1, virtio_pci.c) or MMIO (§4.2, virtio_mmio.c). The
 * rings are drivers/virtq.h; a transport only tells the device where they are. A driver finds
 * its devices through the transport (virtio_pci_init, virtio_mmio_init), then uses only the
 * functions below, which dispatch through the device's transport table.
 */
#ifndef KVMIO_DRIVERS_VIRTIO_H
#define KVMIO_DRIVERS_VIRTIO_H
#include <stdint.h>
#include "completion.h"
#include "virtq.h"
#include "kernel/interrupts.h"
#include "kernel/pci.h"

/* Device types (§5) */
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
#define VIRTIO_F_RING_PACKED        34   /* §2.8: packed virtqueues (modern interfaces only) */

/* Interrupt status bits (§4.1.4.5 ISR status, §4.2.2 InterruptStatus) */
#define VIRTIO_ISR_QUEUE          1
#define VIRTIO_ISR_CONFIG         2

/* Which interface the device speaks: legacy (0.9.5: PCI I/O BAR, MMIO version 1) or modern
 * (1.x: PCI capabilities, MMIO version 2). */
enum virtio_transport { VIRTIO_LEGACY = 0, VIRTIO_MODERN = 1 };

/* Which interface to use when the device offers both (transitional PCI devices); on MMIO the
 * device's version decides, and asking for the other one is refused. */
enum virtio_transport_pref { VIRTIO_PREFER_AUTO, VIRTIO_PREFER_LEGACY, VIRTIO_PREFER_MODERN };

struct virtio_dev;
struct virtio_mmio_slot;

/* What a transport does for the neutral layer (virtio.c). Every register it touches goes through
 * kernel/devio.h, so the access counts stay complete. */
struct virtio_transport_ops {
	const char *name_legacy, *name_modern;     /* the transport field of disk/nic records */
	uint8_t (*status_read)(struct virtio_dev *v);
	void (*status_write)(struct virtio_dev *v, uint8_t s);
	/* Write the driver features (the device's interface decides how many bits it takes). */
	void (*features_write)(struct virtio_dev *v, uint64_t features);
	/* Device configuration space, width 1, 2 or 4 bytes. */
	uint32_t (*cfg_read)(struct virtio_dev *v, uint32_t off, unsigned width);
	/* The configuration generation (modern), or 0 where there is none. */
	uint32_t (*cfg_generation)(struct virtio_dev *v);
	/* Select queue `index` and return the size to use (at most max_size, a power of two on
	 * modern interfaces, the device's own on legacy PCI); 0: no such queue. */
	uint16_t (*queue_size)(struct virtio_dev *v, uint16_t index, uint16_t max_size);
	/* Tell the device where the rings of q (set up by virtq_init or virtq_packed_init in
	 * `ring`) are and enable it: a legacy interface takes the page number of `ring`, a modern
	 * one the three areas (virtq_areas). 0, or -1. */
	int (*queue_enable)(struct virtio_dev *v, struct virtq *q, void *ring);
	void (*notify)(struct virtq *q);
	/* Route completion interrupts for mode (not poll) to vector. 0, or -1 with *why set. */
	int (*irq_route)(struct virtio_dev *v, enum completion_mode mode, uint8_t vector,
			 const char **why);
	/* Read the interrupt status and acknowledge it where the transport needs that. */
	uint8_t (*isr_read)(struct virtio_dev *v);
	/* The error record of a device the driver gives up on: the device's address. */
	void (*report_error)(struct virtio_dev *v, const char *model, const char *why);
};

struct virtio_dev {
	const struct virtio_transport_ops *ops;
	enum virtio_transport transport;
	int mapped;             /* the chosen interface's registers are known */
	int msix;               /* PCI MSI-X enabled: legacy config space moves by 4 bytes */
	/* PCI (virtio_pci.c) */
	const struct pci_dev *pci;
	uint16_t io;            /* legacy: I/O BAR0 */
	uint64_t common, isr, device, notify; /* modern: mapped capability regions */
	uint32_t notify_multiplier;
	/* MMIO (virtio_mmio.c) */
	uint64_t mmio;          /* the register block */
	uint32_t gsi;           /* its interrupt line */
	uint64_t offered;       /* the device's feature bits */
	uint64_t features;      /* negotiated */
};

/* A driver's device is a PCI function or a virtio-mmio slot (exactly one of the two given): map
 * the transport, reset it, set ACKNOWLEDGE|DRIVER and read the offered features
 * (virtio_pci_init or virtio_mmio_init). 0, or -1 with *why set. */
int virtio_init(struct virtio_dev *v, const struct pci_dev *pci, const struct virtio_mmio_slot *mmio,
		enum virtio_transport_pref pref, const char **why);
/* What irq= the transport cannot give: msix on MMIO, where the device is then brought up
 * polled and marked unusable (blkdev/netdev .unusable) with the returned reason; else NULL. */
const char *virtio_unusable_mode(const struct virtio_mmio_slot *mmio, enum completion_mode *mode);
const char *virtio_transport_name(const struct virtio_dev *v);
static inline int virtio_offers(const struct virtio_dev *v, unsigned bit) { return (v->offered >> bit) & 1; }
static inline int virtio_has(const struct virtio_dev *v, unsigned bit) { return (v->features >> bit) & 1; }

/* Reset (§3.1.1 step 1, waiting a bounded time until the device reads back 0: firmware may
 * have driven it), ACKNOWLEDGE, DRIVER, and the offered features. For the transports' init.
 * 0, or -1 with *why set. */
int virtio_reset_and_acknowledge(struct virtio_dev *v, uint64_t (*read_features)(struct virtio_dev *v),
				 const char **why);

/* Completion interrupts as irq= asks: nothing for poll; else a new vector running
 * handler(arg), routed by the transport (MSI-X or INTx on PCI, the GSI on MMIO). Call
 * before the queues are set up. 0, or -1 with *why set. */
int virtio_irq_setup(struct virtio_dev *v, enum completion_mode mode, irq_handler_fn handler,
		     void *arg, const char **why);
/* Read (and so clear) the interrupt status: bit 0 queue interrupt, bit 1 config change. */
uint8_t virtio_isr_read(struct virtio_dev *v);
/* In the interrupt handler: a line interrupt stays asserted until the status is read (and, on
 * MMIO, acknowledged); MSI-X needs nothing. */
static inline void virtio_irq_ack(struct virtio_dev *v)
{
	if (!v->msix)
		virtio_isr_read(v);
}

/* Feature negotiation (§3.1.1 steps 4-6): the driver's `want` bits where offered,
 * VIRTIO_F_VERSION_1 on a modern interface, and the ring features the options asked for
 * (evidx=1: EVENT_IDX, indirect=1: INDIRECT_DESC), which the device must offer. Modern: sets
 * FEATURES_OK and checks the device kept it. 0, or -1 with *why set. */
int virtio_negotiate(struct virtio_dev *v, uint64_t want, int evidx, int indirect, const char **why);

/* ring=packed (drivers/virtio_ring.c): with `packed`, add VIRTIO_F_RING_PACKED to *want and
 * return 0; on a legacy interface (32 feature bits, no packed rings) return 0 with split
 * rings and *unusable saying why; -1 with *why when the modern device does not offer it.
 * virtio_queue_setup then lays out whichever ring was negotiated. */
int virtio_ring_want(const struct virtio_dev *v, int packed, uint64_t *want, const char **unusable,
		     const char **why);
/* "packed" or "split": the ring layout negotiated, for the records. */
const char *virtio_ring_name(const struct virtio_dev *v);

/* Device configuration space; 64-bit fields re-read until the generation is stable. */
uint8_t virtio_cfg_read8(struct virtio_dev *v, uint32_t off);
uint16_t virtio_cfg_read16(struct virtio_dev *v, uint32_t off);
uint32_t virtio_cfg_read32(struct virtio_dev *v, uint32_t off);
uint64_t virtio_cfg_read64(struct virtio_dev *v, uint32_t off);

/* Allocate queue `index` with at most `max_size` entries (legacy PCI: the device's size), lay
 * it out (virtq_init, or virtq_packed_init with VIRTIO_F_RING_PACKED; EVENT_IDX as negotiated),
 * and tell the device. 0 on success. */
int virtio_queue_setup(struct virtio_dev *v, struct virtq *q, uint16_t index, uint16_t max_size);
/* Publish what was added to q and notify the device unless it asked not to be. */
void virtio_kick(struct virtq *q);
void virtio_driver_ok(struct virtio_dev *v);
/* A device the driver gives up on: its error record, then FAILED in the device status when the
 * transport got that far (§2.1). Returns -1. */
int virtio_give_up(struct virtio_dev *v, const char *model, const char *why);

/* A queue's snapshot (virtq_snapshot) as fields of the record being written: PREFIXpublished,
 * PREFIXused, PREFIXtaken, PREFIXin_flight, PREFIXavail_event (EVENT_IDX), PREFIXdevice_flags,
 * PREFIXlast_kick, PREFIXkicks, PREFIXkicks_suppressed (prefix "ring_", "tx_ring_", ...). */
void virtq_report_fields(const struct virtq *q, const char *prefix);

#endif
