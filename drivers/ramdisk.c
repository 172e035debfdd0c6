/*
 * A disk in guest memory: submit queues, poll completes (copying the data when copy_data is
 * set). It touches no device, so a benchmark run against it without copying measures the
 * harness alone (timestamps, queueing, bookkeeping); every disk result reports that figure
 * beside the device's.
 */
#include "blk.h"
#include "kernel/lib.h"
#include "kernel/memory.h"

#define RAMDISK_SECTOR 512
#define RAMDISK_QUEUE 64

struct ramdisk {
	struct blkdev blk;
	uint8_t *data;
	int copy_data;
	struct blk_req *queue[RAMDISK_QUEUE];
	unsigned head, count;
};

static int ramdisk_submit(struct blkdev *d, struct blk_req *r)
{
	struct ramdisk *rd = d->priv;
	if (rd->count == RAMDISK_QUEUE)
		return -1;
	rd->queue[(rd->head + rd->count++) % RAMDISK_QUEUE] = r;
	return 0;
}

static struct blk_req *ramdisk_poll(struct blkdev *d)
{
	struct ramdisk *rd = d->priv;
	if (!rd->count)
		return 0;
	struct blk_req *r = rd->queue[rd->head];
	rd->head = (rd->head + 1) % RAMDISK_QUEUE;
	rd->count--;
	uint8_t *p = rd->data + r->lba * RAMDISK_SECTOR;
	uint64_t n = (uint64_t)r->sectors * RAMDISK_SECTOR;
	if (rd->copy_data && r->op == BLK_READ)
		memcpy(r->buf, p, n);
	else if (rd->copy_data && r->op == BLK_WRITE)
		memcpy(p, r->buf, n);
	r->status = BLK_OK;
	return r;
}

struct blkdev *ramdisk_create(uint64_t sectors, int copy_data)
{
	static struct ramdisk rd;
	uint64_t pages = (sectors * RAMDISK_SECTOR + PAGE_SIZE - 1) / PAGE_SIZE;

	rd.copy_data = copy_data;
	if (rd.blk.sectors == sectors && (rd.data || !copy_data))
		return &rd.blk;
	rd.data = copy_data ? page_alloc(pages) : 0;
	if (copy_data && !rd.data)
		return 0;
	rd.blk = (struct blkdev){
		.model = "ramdisk", .transport = "memory", .mode = COMPLETE_POLL,
		.sectors = sectors, .sector_size = RAMDISK_SECTOR, .max_sectors = 2048,
		.queue_depth = RAMDISK_QUEUE, .can_flush = 1,
		.submit = ramdisk_submit, .poll = ramdisk_poll, .priv = &rd,
	};
	return &rd.blk;
}
