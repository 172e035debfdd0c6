/* Block-device registry and the completion wait shared by every disk model. */
#include "blk.h"
#include "kernel/interrupts.h"

static struct blkdev *devices[BLK_MAX_DEVICES];
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

int blk_probe_all(const struct blk_config *cfg)
{
	int rc = 0;
	/* IDE first, then virtio: the order `kvmio boot --disk` numbers disks in. */
	if (ata_probe(cfg))
		rc = -1;
	if (virtio_blk_probe(cfg))
		rc = -1;
	return rc;
}

int blk_wait(struct blkdev *d, uint64_t max_cycles)
{
	return d->mode == COMPLETE_POLL ? 0 : irq_wait(&d->irq_pending, max_cycles);
}
