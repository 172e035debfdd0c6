/*
 * The block-device interface every disk model implements, so bench/ never knows which model
 * it drives. Requests are asynchronous: submit() queues, poll() hands back completed requests,
 * wait() sleeps until the device has something to say (an interrupt) in irq modes.
 */
#ifndef KVMIO_DRIVERS_BLK_H
#define KVMIO_DRIVERS_BLK_H
#include <stdint.h>
#include "completion.h"
#include "kernel/pci.h"

#define BLK_MAX_DEVICES 8

enum blk_op { BLK_READ = 0, BLK_WRITE = 1, BLK_FLUSH = 2 };
/* A device's volatile write cache. UNKNOWN (0: the device did not say): the disk record
 * leaves write_cache out. */
enum blk_write_cache { BLK_WCE_UNKNOWN = 0, BLK_WCE_OFF = 1, BLK_WCE_ON = 2 };

/* Request status, set by the driver when it completes the request. */
enum blk_status { BLK_OK = 0, BLK_EIO = 1, BLK_EUNSUPP = 2, BLK_ETIMEOUT = 3 };

struct blk_req {
	uint64_t lba;          /* in device sectors */
	uint32_t sectors;      /* 0 for BLK_FLUSH */
	uint8_t op;            /* enum blk_op */
	uint8_t status;        /* enum blk_status, valid once returned by poll() */
	uint16_t slot;         /* driver-private (queue slot, descriptor head) */
	void *buf;             /* identity-mapped, below 4 GiB, sectors * sector_size bytes */
	uint64_t t_submit;     /* the benchmark's timestamps */
	uint64_t tag;          /* the benchmark's own use */
};

/* What went wrong, for the error record: filled by the driver before it completes a request
 * with a non-zero status. */
struct blk_error {
	const char *what;      /* e.g. "ATA error", "virtio-blk IOERR" */
	uint64_t lba;
	uint32_t status;       /* device status register / status byte */
	uint32_t error;        /* device error register, 0 if none */
};

struct blkdev {
	const char *model;       /* "ide", "virtio-blk", "ramdisk" */
	const char *transport;   /* "pio", "dma", "legacy", "modern", "memory" */
	enum completion_mode mode;
	const struct pci_dev *pci;   /* NULL for the ramdisk */
	uint64_t sectors;
	uint32_t sector_size;
	uint32_t max_sectors;    /* per request */
	uint32_t queue_depth;    /* requests in flight at most */
	int read_only;           /* the device refuses writes */
	int can_flush;
	enum blk_write_cache write_cache; /* as the device says: does it acknowledge a write before
					   * the write is stable (the host's cache mode as the
					   * guest sees it)? */
	const char *dbbuf;       /* NVMe: "1" shadow doorbell buffer in use (dbbuf=1), "0" not;
				  * NULL for the other models */
	const char *unusable;    /* why it cannot run with the asked options (e.g. irq=msix on
				  * IDE): it is listed, polled, and refused if selected; or NULL */
	const char *unusable_key; /* the option at fault in that refusal; NULL: irq */
	const char *ring;        /* virtio: "split" or "packed"; NULL for other models */
	uint32_t queues;         /* virtio: request queues in use; 0 for other models */

	int (*submit)(struct blkdev *d, struct blk_req *r); /* 0 queued, -1 queue full */
	struct blk_req *(*poll)(struct blkdev *d);          /* a completed request or NULL */
	/* Optional: the driver's own state, as more fields of a device error record (virtio-blk:
	 * its ring indexes and the device's notification suppression); NULL: none. */
	void (*error_fields)(const struct blkdev *d);

	volatile uint32_t irq_pending; /* set by the driver's interrupt handler */
	uint64_t irqs;                 /* interrupts taken for this device */
	struct blk_error err;
	void *priv;
};

/* Options every block driver reads when it probes. */
struct blk_config {
	enum completion_mode mode;
	int ata_dma;         /* ata_mode=dma */
	int evidx;           /* virtio: negotiate VIRTIO_RING_F_EVENT_IDX */
	int indirect;        /* virtio: negotiate VIRTIO_RING_F_INDIRECT_DESC */
	uint32_t queue_depth_limit; /* 0: as the device allows */
	int virtio_transport;  /* enum virtio_transport_pref: 0 auto, 1 legacy, 2 modern */
	int nvme_dbbuf;        /* NVMe: use the shadow doorbell buffer (Doorbell Buffer Config) */
	int packed;          /* virtio: ring=packed (VIRTIO_F_RING_PACKED) */
	uint32_t queues;     /* virtio-blk: request queues (queues=) */
};

/* Registry: drivers add what they find; benchmarks take devices by index. */
int blk_register(struct blkdev *d); /* index, or -1 when full */
unsigned blk_count(void);
struct blkdev *blk_get(unsigned index);

/* Walk PCI once; on each function, the first block driver whose match() takes it brings it up
 * with init(), which registers its disks. Disks are then numbered by driver, in the order of
 * the driver table (IDE, AHCI, NVMe, virtio-blk, then virtio-scsi: the order `kvmio boot --disk`
 * numbers them in), and in PCI order within a driver; then the virtio-mmio transports
 * (blk_mmio_drivers), numbered with their driver in address order. An init that fails writes
 * an error record; returns -1 then. */
int blk_probe_all(const struct blk_config *cfg);
/* The block drivers: match() says whether a PCI function is theirs; init() brings it up and
 * registers every disk behind it (0), or writes an error record (-1). */
int ata_match(const struct pci_dev *p);
int ata_init(const struct pci_dev *p, const struct blk_config *cfg);
int ahci_match(const struct pci_dev *p);
int ahci_init(const struct pci_dev *p, const struct blk_config *cfg);
int nvme_match(const struct pci_dev *p);
int nvme_init(const struct pci_dev *p, const struct blk_config *cfg);
int virtio_blk_match(const struct pci_dev *p);
int virtio_blk_init(const struct pci_dev *p, const struct blk_config *cfg);
int virtio_scsi_match(const struct pci_dev *p);
int virtio_scsi_init(const struct pci_dev *p, const struct blk_config *cfg);
/* virtio-blk on a virtio-mmio transport (drivers/virtio_mmio.h), found by blk_probe_all's
 * MMIO walk after the PCI one, numbered with the virtio-blk disks in address order. */
struct virtio_mmio_slot;
int virtio_blk_init_mmio(const struct virtio_mmio_slot *m, const struct blk_config *cfg);
/* A disk in guest memory, not registered. copy_data=0: requests complete without touching
 * data, so a run against it measures the benchmark harness alone. */
struct blkdev *ramdisk_create(uint64_t sectors, int copy_data);

/* In irq modes: sleep (sti; hlt) until the device's handler set irq_pending, then clear it.
 * Returns at once in poll mode. Bounded: gives up after `max_cycles` TSC cycles (returns -1). */
int blk_wait(struct blkdev *d, uint64_t max_cycles);

#endif
