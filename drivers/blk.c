/* Block-device registry and the completion wait shared by every disk model. */
#include "blk.h"
#include "kernel/io.h"
#include "kernel/tsc.h"

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

/*
 * irq modes spin with interrupts enabled until the device's handler has run: the figures then
 * hold the interrupt's injection and handling, not a HLT exit and vCPU wake-up.
 */
int blk_wait(struct blkdev *d, uint64_t max_cycles)
{
	if (d->mode == COMPLETE_POLL)
		return 0;
	uint64_t start = ts_read();
	irq_enable();
	while (!d->irq_pending) {
		if (ts_read() - start > max_cycles)
			return -1;
		cpu_relax();
	}
	d->irq_pending = 0;
	return 0;
}
