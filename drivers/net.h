/*
 * The network-device interface every NIC model implements, so bench/ never knows which model it
 * drives. NICs are numbered in PCI enumeration order (dev=N); `kvmio boot --net` places them so
 * that this is also --net order. Transmit copies the frame into a driver buffer; receive hands
 * out a driver buffer until rx_release.
 */
#ifndef KVMIO_DRIVERS_NET_H
#define KVMIO_DRIVERS_NET_H
#include <stdint.h>
#include "completion.h"
#include "kernel/pci.h"

#define NET_MAX_DEVICES 8

struct netdev {
	const char *model;       /* "e1000", "e1000-82545em", "e1000-82544gc", "e1000e", "rtl8139", "virtio-net" */
	const char *transport;   /* "pci" for the emulated NICs; "legacy" or "modern" for virtio */
	enum completion_mode mode;
	const struct pci_dev *pci;
	uint8_t mac[6];
	uint32_t mtu;            /* 1500 */
	uint32_t tx_slots;       /* frames that can be queued for transmission at once */
	const char *unusable;    /* as in struct blkdev: listed, refused if chosen; or NULL */
	const char *unusable_key; /* the option at fault; NULL: irq */
	const char *ring;        /* virtio: "split" or "packed"; NULL for other models */

	int (*link_up)(struct netdev *d);
	/* Queue one frame (len <= 1514, >= 60: the driver pads nothing). 0, or -1 when full. */
	int (*transmit)(struct netdev *d, const void *frame, uint32_t len);
	/* Reclaim finished transmissions: how many since the last call. */
	uint32_t (*tx_complete)(struct netdev *d);
	/* The next received frame (without FCS), valid until rx_release; NULL if none. */
	const void *(*receive)(struct netdev *d, uint32_t *len);
	void (*rx_release)(struct netdev *d);
	/* Frames the device itself dropped (missed-packet counters), 0 if it has none. */
	uint64_t (*rx_missed)(struct netdev *d);

	/* Optional: the device's state as fields of the error record being written, when it stops
	 * completing: its transmit side (tx 1) or its receive side (virtio: tx_ring_*, rx_ring_*). */
	void (*error_fields)(const struct netdev *d, int tx);
	volatile uint32_t irq_pending; /* set by the driver's interrupt handler */
	uint64_t irqs;
	void *priv;
};

struct net_config {
	enum completion_mode mode;
	int virtio_transport;   /* 0 auto, 1 legacy, 2 modern */
	int evidx, indirect;    /* virtio ring features */
	int packed;             /* virtio: ring=packed (VIRTIO_F_RING_PACKED) */
	int mrg;                /* virtio-net: VIRTIO_NET_F_MRG_RXBUF */
	int itr;                /* e1000 ITR register value; -1: leave the device default */
};

int net_register(struct netdev *d);
unsigned net_count(void);
struct netdev *net_get(unsigned index);

/* Walk PCI once, in order; on each function, the first NIC driver whose match() takes it
 * brings it up with init(), which registers it; then the virtio-mmio transports in address
 * order (net_mmio_drivers). NICs are numbered in that order. An init that
 * fails writes an error record; returns -1 then. */
int net_probe_all(const struct net_config *cfg);
/* The NIC drivers: match() says whether a PCI function is theirs; init() brings it up and
 * registers it (0), or writes an error record (-1). */
int e1000_match(const struct pci_dev *p);
int e1000_init(const struct pci_dev *p, const struct net_config *cfg);
int rtl8139_match(const struct pci_dev *p);
int rtl8139_init(const struct pci_dev *p, const struct net_config *cfg);
int virtio_net_match(const struct pci_dev *p);
int virtio_net_init(const struct pci_dev *p, const struct net_config *cfg);
/* virtio-net on a virtio-mmio transport (drivers/virtio_mmio.h): net_probe_all's MMIO walk,
 * after the PCI one, in address order. */
struct virtio_mmio_slot;
int virtio_net_init_mmio(const struct virtio_mmio_slot *m, const struct net_config *cfg);

/* An in-memory NIC receiving what it sends (not registered): the harness baseline. */
struct netdev *memnet_create(void);

/* irq modes: spin with interrupts on until the handler ran (bounded); poll mode: returns. */
int net_wait(struct netdev *d, uint64_t max_cycles);

#endif
