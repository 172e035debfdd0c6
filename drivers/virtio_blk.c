/*
 * virtio-blk (Virtio 1.2 §5.2) over a virtio transport (virtio.h: PCI or MMIO) and split or packed
 * virtqueues (virtq.c, virtq_packed.c; ring=).
 * One request = header (device-readable), data, status byte (device-writable): three
 * descriptors, or one indirect descriptor pointing at a three-entry table (indirect=1).
 * Multi-queue (VIRTIO_BLK_F_MQ, §5.2.3, queues=N): requests go to the request queues in turn
 * (round-robin, the next queue with room when one is full) and completions are taken from all
 * of them; every queue shares the device's one completion vector (VIRTIO_MSIX_ENTRY).
 */
#include "blk.h"
#include "virtio_mmio.h"
#include "virtio_pci.h"
#include "options.h"
#include "kernel/interrupts.h"
#include "kernel/lib.h"
#include "kernel/memory.h"
#include "kernel/report.h"

#define VIRTIO_BLK_F_SIZE_MAX  1
#define VIRTIO_BLK_F_SEG_MAX   2
#define VIRTIO_BLK_F_RO        5
#define VIRTIO_BLK_F_BLK_SIZE  6
#define VIRTIO_BLK_F_FLUSH     9
#define VIRTIO_BLK_F_CONFIG_WCE 11 /* §5.2.3: the cache mode in the configuration's writeback */
#define VIRTIO_BLK_F_MQ        12  /* §5.2.3: num_queues in the configuration */

#define VIRTIO_BLK_CFG_CAPACITY 0   /* le64, 512-byte sectors */
#define VIRTIO_BLK_CFG_SIZE_MAX 8   /* le32 */
#define VIRTIO_BLK_CFG_WRITEBACK 32 /* u8, with VIRTIO_BLK_F_CONFIG_WCE: 0 writethrough, 1 writeback */
#define VIRTIO_BLK_CFG_NUM_QUEUES 34 /* le16, with VIRTIO_BLK_F_MQ (§5.2.4 struct virtio_blk_config) */

#define VIRTIO_BLK_T_IN    0
#define VIRTIO_BLK_T_OUT   1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_SECTOR     512
#define VIRTIO_BLK_MAX_QUEUE  256
#define VIRTIO_BLK_MAX_SECTORS 2048 /* 1 MiB per request: the largest bs= */
#define VIRTIO_BLK_MAX_DEVICES 4
#define VIRTIO_BLK_MAX_SLOTS  1024 /* requests in flight at most: qd= goes no higher */
#define REQUEST_QUEUE         0   /* the first request queue; with MQ they follow it */
#define MODEL                 "virtio-blk"

struct virtio_blk_hdr { uint32_t type, reserved; uint64_t sector; };

/* Per in-flight request: the header, status byte and indirect table live here. */
struct vblk_slot {
	struct virtio_blk_hdr hdr;
	uint8_t status;
	uint8_t pad[7];
	struct virtq_desc table[3];
	struct blk_req *req;
};

struct vblk {
	struct blkdev blk;
	struct virtio_dev vdev;
	struct virtq q[VIRTIO_QUEUES_MAX];
	uint16_t nq;             /* request queues in use */
	uint16_t next_q;         /* where the next request goes (round-robin) */
	uint16_t poll_q;         /* where the next completion scan starts */
	struct vblk_slot *slots;
	uint16_t *free_slots;
	uint16_t nfree, nslots;
	int indirect;
	char why[96];            /* a refusal naming numbers */
};

static struct vblk vblks[VIRTIO_BLK_MAX_DEVICES];
static unsigned vblk_count;

static int submit_on(struct vblk *vb, struct virtq *q, struct vblk_slot *slot,
		     const struct virtq_buf *bufs, unsigned n);

static int vblk_submit(struct blkdev *d, struct blk_req *r)
{
	struct vblk *vb = d->priv;
	if (!vb->nfree)
		return -1;
	uint16_t s = vb->free_slots[--vb->nfree];
	struct vblk_slot *slot = &vb->slots[s];
	slot->req = r;
	slot->status = 0xff;
	slot->hdr.type = r->op == BLK_READ ? VIRTIO_BLK_T_IN :
			 r->op == BLK_WRITE ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_FLUSH;
	slot->hdr.sector = r->lba;
	r->slot = s;
	uint32_t bytes = r->sectors * VIRTIO_BLK_SECTOR;
	struct virtq_buf bufs[3];
	unsigned n = 0;
	bufs[n++] = (struct virtq_buf){ &slot->hdr, sizeof(slot->hdr), 0 };
	if (r->op != BLK_FLUSH)
		bufs[n++] = (struct virtq_buf){ r->buf, bytes, r->op == BLK_READ };
	bufs[n++] = (struct virtq_buf){ &slot->status, 1, 1 };
	int head = -1;
	/* the next queue in turn; another when it is full (the slots never outnumber the room) */
	struct virtq *q = 0;
	for (uint16_t k = 0; k < vb->nq && head < 0; k++) {
		q = &vb->q[vb->next_q];
		vb->next_q = (uint16_t)(vb->next_q + 1 == vb->nq ? 0 : vb->next_q + 1);
		head = submit_on(vb, q, slot, bufs, n);
	}
	if (head < 0) {
		vb->free_slots[vb->nfree++] = s;
		return -1;
	}
	virtio_kick(q);
	return 0;
}

/* One request on queue q: its chain, or its indirect table. The head, or -1 when q is full. */
static int submit_on(struct vblk *vb, struct virtq *q, struct vblk_slot *slot,
		     const struct virtq_buf *bufs, unsigned n)
{
	int head;
	if (vb->indirect) {
		virtq_fill_indirect(slot->table, bufs, n);
		head = virtq_add_indirect(q, slot->table, n, slot);
	} else {
		head = virtq_add_chain(q, bufs, n, slot);
	}
	return head;
}

/* A stalled disk's ring, both sides (protocol.md, error records): the first queue with
 * requests outstanding. ring_used == ring_taken with requests in flight and the last publish
 * suppressed means the device asked for no notify (avail_event or NO_NOTIFY) and then never
 * took the request: a wake-up lost on the device's side. */
static void vblk_error_fields(const struct blkdev *d)
{
	const struct vblk *vb = d->priv;
	uint16_t k = 0;
	for (uint16_t i = 0; i < vb->nq; i++)
		if (vb->q[i].num_free != vb->q[i].size) {
			k = i;
			break;
		}
	rec_u64("ring_queue", k);
	virtq_report_fields(&vb->q[k], "ring_");
}

static struct blk_req *vblk_poll(struct blkdev *d)
{
	struct vblk *vb = d->priv;
	struct vblk_slot *slot = 0;
	/* every queue, starting after the last one that had something: none is starved */
	for (uint16_t k = 0; k < vb->nq && !slot; k++) {
		slot = virtq_get_used(&vb->q[vb->poll_q], 0);
		vb->poll_q = (uint16_t)(vb->poll_q + 1 == vb->nq ? 0 : vb->poll_q + 1);
	}
	if (!slot)
		return 0;
	struct blk_req *r = slot->req;
	vb->free_slots[vb->nfree++] = (uint16_t)(slot - vb->slots);
	if (slot->status == VIRTIO_BLK_S_OK) {
		r->status = BLK_OK;
		return r;
	}
	r->status = slot->status == VIRTIO_BLK_S_UNSUPP ? BLK_EUNSUPP : BLK_EIO;
	d->err.what = slot->status == VIRTIO_BLK_S_UNSUPP ? "virtio-blk UNSUPP" : "virtio-blk IOERR";
	d->err.lba = r->lba;
	d->err.status = slot->status;
	d->err.error = 0;
	return r;
}

static void vblk_irq(struct int_frame *f, void *arg)
{
	struct vblk *vb = arg;
	(void)f;
	virtio_irq_ack(&vb->vdev);
	vb->blk.irqs++;
	vb->blk.irq_pending = 1;
}

static int bring_up(struct vblk *vb, const struct pci_dev *pd, const struct virtio_mmio_slot *m,
		    const struct blk_config *cfg)
{
	const char *why = "";
	struct blkdev *d = &vb->blk;
	enum completion_mode mode = cfg->mode;
	const char *irq_unusable = virtio_unusable_mode(m, &mode);

	/* VIRTIO_BLK_F_CONFIG_WCE with FLUSH: a driver that takes FLUSH alone tells the device it
	 * will flush, and the device may switch to writeback (§5.2.5: without CONFIG_WCE the cache
	 * is writeback after reset iff FLUSH was negotiated; QEMU does so whatever its cache= said,
	 * so cache=writethrough measured writeback). With CONFIG_WCE the device keeps its mode. */
	uint64_t want = (1ull << VIRTIO_BLK_F_RO) | (1ull << VIRTIO_BLK_F_FLUSH) |
			(1ull << VIRTIO_BLK_F_CONFIG_WCE) |
			(1ull << VIRTIO_BLK_F_SIZE_MAX) | (1ull << VIRTIO_BLK_F_SEG_MAX) |
			(1ull << VIRTIO_BLK_F_BLK_SIZE);
	const char *unusable = irq_unusable;
	uint32_t queues = cfg->queues ? cfg->queues : 1;
	if (queues > 1)
		want |= 1ull << VIRTIO_BLK_F_MQ;
	if (virtio_init(&vb->vdev, pd, m, (enum virtio_transport_pref)cfg->virtio_transport, &why) ||
	    virtio_irq_setup(&vb->vdev, mode, vblk_irq, vb, &why) ||
	    virtio_ring_want(&vb->vdev, cfg->packed, &want, &unusable, &why))
		return virtio_give_up(&vb->vdev, MODEL, why);
	/* §5.2.3: without VIRTIO_BLK_F_MQ there is one request queue */
	uint32_t offered = virtio_offers(&vb->vdev, VIRTIO_BLK_F_MQ) ?
		virtio_cfg_read16(&vb->vdev, VIRTIO_BLK_CFG_NUM_QUEUES) : 1;
	if (queues > offered) {
		char *p = vb->why, *end = vb->why + sizeof(vb->why);
		p = str_append(p, end, "queues=");
		p = u64_append(p, end, queues);
		p = str_append(p, end, " asked, but the device offers ");
		p = u64_append(p, end, offered);
		str_append(p, end, " request queue(s) (num-queues)");
		return virtio_give_up(&vb->vdev, MODEL, vb->why);
	}
	if (virtio_negotiate(&vb->vdev, want, cfg->evidx, cfg->indirect, &why))
		return virtio_give_up(&vb->vdev, MODEL, why);
	vb->indirect = virtio_has(&vb->vdev, VIRTIO_RING_F_INDIRECT_DESC);

	vb->nq = (uint16_t)queues;
	uint32_t room = 0;
	for (uint16_t i = 0; i < vb->nq; i++) {
		if (virtio_queue_setup(&vb->vdev, &vb->q[i], (uint16_t)(REQUEST_QUEUE + i), VIRTIO_BLK_MAX_QUEUE))
			return virtio_give_up(&vb->vdev, MODEL, "request queue setup failed");
		virtq_want_interrupts(&vb->q[i], mode != COMPLETE_POLL);
		/* Three descriptors per request, or one with indirect tables. */
		room += vb->indirect ? vb->q[i].size : vb->q[i].size / 3;
	}
	vb->nslots = room > VIRTIO_BLK_MAX_SLOTS ? VIRTIO_BLK_MAX_SLOTS : (uint16_t)room;
	if (cfg->queue_depth_limit && vb->nslots > cfg->queue_depth_limit)
		vb->nslots = (uint16_t)cfg->queue_depth_limit;
	vb->slots = page_alloc(ALIGN_UP(sizeof(struct vblk_slot) * vb->nslots, PAGE_SIZE) / PAGE_SIZE);
	vb->free_slots = page_alloc(ALIGN_UP(2ull * vb->nslots, PAGE_SIZE) / PAGE_SIZE);
	if (!vb->slots || !vb->free_slots)
		return virtio_give_up(&vb->vdev, MODEL, "out of memory for request slots");
	for (uint16_t i = 0; i < vb->nslots; i++)
		vb->free_slots[vb->nfree++] = i;

	uint32_t max_sectors = VIRTIO_BLK_MAX_SECTORS;
	if (virtio_has(&vb->vdev, VIRTIO_BLK_F_SIZE_MAX)) {
		uint32_t size_max = virtio_cfg_read32(&vb->vdev, VIRTIO_BLK_CFG_SIZE_MAX);
		if (size_max / VIRTIO_BLK_SECTOR && size_max / VIRTIO_BLK_SECTOR < max_sectors)
			max_sectors = size_max / VIRTIO_BLK_SECTOR;
	}
	*d = (struct blkdev){
		.model = MODEL, .transport = virtio_transport_name(&vb->vdev), .mode = mode,
		.pci = pd, .sectors = virtio_cfg_read64(&vb->vdev, VIRTIO_BLK_CFG_CAPACITY),
		.sector_size = VIRTIO_BLK_SECTOR, .max_sectors = max_sectors,
		.queue_depth = vb->nslots, .read_only = virtio_has(&vb->vdev, VIRTIO_BLK_F_RO),
		.can_flush = virtio_has(&vb->vdev, VIRTIO_BLK_F_FLUSH),
		.write_cache = virtio_has(&vb->vdev, VIRTIO_BLK_F_CONFIG_WCE) ?
			(virtio_cfg_read8(&vb->vdev, VIRTIO_BLK_CFG_WRITEBACK) ? BLK_WCE_ON : BLK_WCE_OFF) :
			(virtio_has(&vb->vdev, VIRTIO_BLK_F_FLUSH) ? BLK_WCE_ON : BLK_WCE_OFF),
		.submit = vblk_submit, .poll = vblk_poll, .error_fields = vblk_error_fields,
		.priv = vb,
		.unusable = unusable, .unusable_key = unusable && unusable != irq_unusable ? "ring" : 0,
		.ring = virtio_ring_name(&vb->vdev), .queues = vb->nq,
	};
	virtio_driver_ok(&vb->vdev);
	return 0;
}

int virtio_blk_match(const struct pci_dev *p) { return virtio_pci_match(p, VIRTIO_TYPE_BLOCK); }

static int vblk_add(const struct pci_dev *pd, const struct virtio_mmio_slot *m, const struct blk_config *cfg)
{
	if (vblk_count == VIRTIO_BLK_MAX_DEVICES)
		return 0; /* left alone, as any device without a driver */
	struct vblk *vb = &vblks[vblk_count];
	if (bring_up(vb, pd, m, cfg))
		return -1;
	vblk_count++;
	blk_register(&vb->blk);
	return 0;
}

int virtio_blk_init(const struct pci_dev *pd, const struct blk_config *cfg) { return vblk_add(pd, 0, cfg); }
int virtio_blk_init_mmio(const struct virtio_mmio_slot *m, const struct blk_config *cfg) { return vblk_add(0, m, cfg); }
