/* Block-device registry, the driver table and its probe, and the completion wait shared by
 * every disk model. */
#include "blk.h"
#include "virtio_mmio.h"
#include "kernel/interrupts.h"
#include "kernel/lib.h"

/* The block drivers, in disk-numbering order (blk_probe_all): common/disk_models.def. */
static const struct blk_driver {
	const char *name;
	int (*match)(const struct pci_dev *p);
	int (*init)(const struct pci_dev *p, const struct blk_config *cfg);
} blk_drivers[] = {
#define KVMIO_DISK_MODEL(id, name, driver) { name, driver##_match, driver##_init },
#include "disk_models.def"
#undef KVMIO_DISK_MODEL
};

/* The block drivers of virtio-mmio transports, by virtio device type; `name` is their entry in
 * blk_drivers, whose place they are numbered in. */
static const struct blk_mmio_driver {
	const char *name;
	uint32_t virtio_type;
	int (*init)(const struct virtio_mmio_slot *m, const struct blk_config *cfg);
} blk_mmio_drivers[] = {
	{ "virtio-blk", VIRTIO_TYPE_BLOCK, virtio_blk_init_mmio },
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
	for (unsigned i = 0; i < virtio_mmio_count(); i++) {
		const struct virtio_mmio_slot *m = virtio_mmio_get(i);
		if (virtio_mmio_check(m))
			rc = -1;
		for (unsigned k = 0; k < ARRAY_SIZE(blk_mmio_drivers); k++) {
			if (m->device_id != blk_mmio_drivers[k].virtio_type)
				continue;
			unsigned before = device_count, table = 0;
			while (table < ARRAY_SIZE(blk_drivers) && strcmp(blk_drivers[table].name, blk_mmio_drivers[k].name))
				table++;
			if (blk_mmio_drivers[k].init(m, cfg))
				rc = -1;
			for (unsigned j = before; j < device_count; j++)
				device_driver[j] = (uint8_t)table;
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
