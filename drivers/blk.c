/* Block-device registry, the driver table and its probe, and the completion wait shared by
 * every disk model. */
#include "blk.h"
#include "kernel/interrupts.h"
#include "kernel/lib.h"

/* The block drivers, in disk-numbering order (blk_probe_all). */
static const struct blk_driver {
	const char *name;
	int (*match)(const struct pci_dev *p);
	int (*init)(const struct pci_dev *p, const struct blk_config *cfg);
} blk_drivers[] = {
	{ "ide", ata_match, ata_init },
	{ "ahci", ahci_match, ahci_init },
	{ "nvme", nvme_match, nvme_init },
	{ "virtio-blk", virtio_blk_match, virtio_blk_init },
	{ "virtio-scsi", virtio_scsi_match, virtio_scsi_init },
};

static struct blkdev *devices[BLK_MAX_DEVICES];
static uint8_t device_driver[BLK_MAX_DEVICES]; /* blk_drivers index of the driver that found it */
static unsigned device_count;

int blk_register(struct blkdev *d)
{
	if (device_count == BLK_MAX_DEVICES)
		return -1;
	devices[device_count] = d;
	return (int)device_count++;
}

unsigned blk_count(void) { return device_count; }
struct blkdev *blk_get(unsigned index) { return index < device_count ? devices[index] : 0; }

/* Stable insertion sort by driver: PCI order stays within each driver. */
static void number_by_driver(void)
{
	for (unsigned i = 1; i < device_count; i++) {
		struct blkdev *d = devices[i];
		uint8_t k = device_driver[i];
		unsigned j = i;
		for (; j > 0 && device_driver[j - 1] > k; j--) {
			devices[j] = devices[j - 1];
			device_driver[j] = device_driver[j - 1];
		}
		devices[j] = d;
		device_driver[j] = k;
	}
}

int blk_probe_all(const struct blk_config *cfg)
{
	int rc = 0;
	_Static_assert(ARRAY_SIZE(blk_drivers) <= UINT8_MAX, "device_driver holds a table index");
	for (unsigned i = 0; i < pci_count(); i++) {
		const struct pci_dev *p = pci_get(i);
		for (unsigned k = 0; k < ARRAY_SIZE(blk_drivers); k++) {
			if (!blk_drivers[k].match(p))
				continue;
			unsigned before = device_count;
			if (blk_drivers[k].init(p, cfg))
				rc = -1;
			for (unsigned j = before; j < device_count; j++)
				device_driver[j] = (uint8_t)k;
			break;
		}
	}
	number_by_driver();
	return rc;
}

int blk_wait(struct blkdev *d, uint64_t max_cycles)
{
	return d->mode == COMPLETE_POLL ? 0 : irq_wait(&d->irq_pending, max_cycles);
}
