/*
 * Virtio over MMIO (Virtio 1.2 §4.2): the transports the platform describes on the command line
 * (virtio_mmio.device=SIZE@BASE:IRQ, common/virtio_mmio_arg.h), probed once at boot and kept in
 * address order, and the transport itself, version 1 (legacy, §4.2.4) and version 2 (modern,
 * §4.2.2). Drivers find their devices with virtio_mmio_count/get and bring them up with
 * virtio_mmio_init, then use the transport-neutral virtio.h.
 */
#ifndef KVMIO_DRIVERS_VIRTIO_MMIO_H
#define KVMIO_DRIVERS_VIRTIO_MMIO_H
#include <stdint.h>
#include "virtio.h"
#include "options.h"

struct virtio_mmio_slot {
	uint64_t base, size;
	uint32_t gsi;          /* the entry's IRQ: an I/O APIC GSI */
	uint32_t version;      /* 1 legacy, 2 modern */
	uint32_t device_id;    /* virtio device type (§5); 0: a transport with no device behind */
	const char *bad;       /* why the entry is not a virtio-mmio transport, or NULL */
};

/* Probe every virtio_mmio.device= entry of the options (the magic value, a known version, the
 * device ID) and keep them in ascending address order; an entry that is no virtio-mmio
 * transport is kept with `bad` set, for the drivers' walks to report. No records: the scan
 * runs on every boot, the walks only for the benchmarks that use devices. */
void virtio_mmio_scan(const struct options *o);
/* For the drivers' walks: 0 for a good slot; for a bad one its device error record, -1. */
int virtio_mmio_check(const struct virtio_mmio_slot *s);
unsigned virtio_mmio_count(void);
const struct virtio_mmio_slot *virtio_mmio_get(unsigned index);

/* Bring a slot up to ACKNOWLEDGE|DRIVER with the offered features read (§3.1.1 steps 1-3).
 * pref: the slot's version decides; legacy or modern asked of the other is refused. 0, or -1
 * with *why set. */
int virtio_mmio_init(struct virtio_dev *v, const struct virtio_mmio_slot *s,
		     enum virtio_transport_pref pref, const char **why);

#endif
