/*
 * virtio-scsi (Virtio 1.2 §5.6 "SCSI Host Device") over the virtio PCI transport
 * (virtio_pci.c) and the split virtqueue (virtq.c), driving the SCSI disks behind it with
 * SBC/SPC commands (scsi.h).
 *
 * Queues (§5.6.2): 0 controlq, 1 eventq, 2.. requestq; every request goes to the first
 * request queue. One request (§5.6.6.1) = the command header with its CDB (device-readable),
 * the data-out buffer for writes, the response header with its sense buffer (device-writable),
 * the data-in buffer for reads: three descriptors (two for SYNCHRONIZE CACHE), or one
 * indirect descriptor pointing at a table of them (indirect=1). The headers hold exactly
 * cdb_size and sense_size bytes, each in a descriptor of its own, so the layout is what a
 * device without VIRTIO_F_ANY_LAYOUT expects too (§2.7.4 "Message Framing", its legacy
 * interface). The used length is ignored (§5.6.6, legacy interface).
 *
 * Probe: targets 0..max_target (at most VSCSI_SCAN_TARGETS), LUN 0 of each: INQUIRY; for a
 * connected direct-access device TEST UNIT READY (clearing the unit attention a reset leaves),
 * MODE SENSE(6) (write protection), READ CAPACITY(10), and (16) when the last LBA does not fit
 * in 32 bits. Each disk found is one struct blkdev, numbered in target order.
 */
#include "blk.h"
#include "scsi.h"
#include "virtio_pci.h"
#include "kernel/exec.h"
#include "kernel/interrupts.h"
#include "kernel/io.h"
#include "kernel/lib.h"
#include "kernel/memory.h"
#include "kernel/report.h"
#include "kernel/tsc.h"

/* Device configuration layout (§5.6.4 struct virtio_scsi_config), byte offsets. */
#define VSCSI_CFG_NUM_QUEUES      0   /* le32: request queues */
#define VSCSI_CFG_SEG_MAX         4   /* le32: segments per command */
#define VSCSI_CFG_MAX_SECTORS     8   /* le32: transfer size hint, 512-byte sectors */
#define VSCSI_CFG_CMD_PER_LUN     12  /* le32: linked commands per LUN */
#define VSCSI_CFG_EVENT_INFO_SIZE 16  /* le32: bytes of an eventq buffer */
#define VSCSI_CFG_SENSE_SIZE      20  /* le32: sense bytes in a response */
#define VSCSI_CFG_CDB_SIZE        24  /* le32: CDB bytes in a request */
#define VSCSI_CFG_MAX_CHANNEL     28  /* le16 */
#define VSCSI_CFG_MAX_TARGET      30  /* le16 */
#define VSCSI_CFG_MAX_LUN         32  /* le32 */

/* Virtqueues (§5.6.2) */
#define VSCSI_CONTROLQ            0
#define VSCSI_EVENTQ              1
#define VSCSI_REQUESTQ            2   /* the first request queue */

/* Feature bits (§5.6.3): none is asked for (no bidirectional commands, no hotplug or
 * parameter-change events, no protection information). */
#define VIRTIO_SCSI_F_INOUT       0
#define VIRTIO_SCSI_F_HOTPLUG     1
#define VIRTIO_SCSI_F_CHANGE      2
#define VIRTIO_SCSI_F_T10_PI      3

/* Request LUN addressing (§5.6.6.1): byte 0 is 1, byte 1 the target (so at most 256 targets),
 * bytes 2-3 the LUN as a single-level LUN structure (flat space: 0x4000 | lun, big-endian),
 * bytes 4-7 zero. */
#define VSCSI_LUN_BYTE0           1
#define VSCSI_LUN_FLAT            0x40
#define VSCSI_LUN_BYTES           8

/* task_attr (§5.6.6.1) */
#define VIRTIO_SCSI_S_SIMPLE      0

/* Response codes (§5.6.6.1) */
#define VIRTIO_SCSI_S_OK                0
#define VIRTIO_SCSI_S_OVERRUN           1
#define VIRTIO_SCSI_S_ABORTED           2
#define VIRTIO_SCSI_S_BAD_TARGET        3
#define VIRTIO_SCSI_S_RESET             4
#define VIRTIO_SCSI_S_BUSY              5
#define VIRTIO_SCSI_S_TRANSPORT_FAILURE 6
#define VIRTIO_SCSI_S_TARGET_FAILURE    7
#define VIRTIO_SCSI_S_NEXUS_FAILURE     8
#define VIRTIO_SCSI_S_FAILURE           9
#define VIRTIO_SCSI_S_COUNT             10

/* Our buffers: the device's cdb_size and sense_size (defaults 32 and 96, §5.6.4) must fit. */
#define VSCSI_CDB_BUF             64
#define VSCSI_SENSE_BUF           252  /* SPC-4 §4.5.1: sense data is at most 252 bytes */
#define VSCSI_EVENT_BUF           64
#define VSCSI_EVENTS              4    /* eventq buffers kept posted (§5.6.5, §5.6.6.3) */

#define VSCSI_SCAN_TARGETS        256  /* the LUN format's target byte: the bound on the scan */
#define VSCSI_PROBE_LUN           0
#define VSCSI_UA_RETRIES          4    /* unit attentions a reset may leave per command */
#define VSCSI_MAX_CTRLS           8    /* one controller per `kvmio boot --disk virtio-scsi` */
#define VSCSI_MAX_LUNS            BLK_MAX_DEVICES
#define VSCSI_MAX_QUEUE           256
#define VSCSI_SMALL_QUEUE         16   /* controlq and eventq */
#define VSCSI_MAX_SECTORS_512     2048 /* 1 MiB per request: the largest bs= */
#define SECTOR_512                512
/* A probe command's bound in TSC cycles, times exec_deadline_scale(): ~3 s at 3 GHz. */
#define VSCSI_CMD_TIMEOUT         (1ull << 33)
#define MODEL                     "virtio-scsi"

/* §5.6.6.1 struct virtio_scsi_req_cmd: the device-readable header (cdb holds cdb_size bytes). */
struct virtio_scsi_req_cmd {
	uint8_t lun[VSCSI_LUN_BYTES];
	uint64_t id;
	uint8_t task_attr, prio, crn;
	uint8_t cdb[VSCSI_CDB_BUF];
} __attribute__((packed));
#define VSCSI_REQ_HDR 19   /* lun, id, task_attr, prio, crn */

/* §5.6.6.1 struct virtio_scsi_req_cmd: the device-writable response (sense_size bytes). */
struct virtio_scsi_resp_cmd {
	uint32_t sense_len;
	uint32_t residual;
	uint16_t status_qualifier;
	uint8_t status;
	uint8_t response;
	uint8_t sense[VSCSI_SENSE_BUF];
} __attribute__((packed));
#define VSCSI_RESP_HDR 12  /* sense_len, residual, status_qualifier, status, response */

_Static_assert(__builtin_offsetof(struct virtio_scsi_req_cmd, cdb) == VSCSI_REQ_HDR, "§5.6.6.1");
_Static_assert(__builtin_offsetof(struct virtio_scsi_resp_cmd, sense) == VSCSI_RESP_HDR, "§5.6.6.1");

/* §5.6.6.3 struct virtio_scsi_event; its buffers are event_info_size bytes (at most
 * VSCSI_EVENT_BUF, one buffer every VSCSI_EVENT_BUF bytes). */
struct virtio_scsi_event {
	uint32_t event;
	uint8_t lun[VSCSI_LUN_BYTES];
	uint32_t reason;
} __attribute__((packed));

struct vscsi_lun;

/* Per in-flight request: its headers, indirect table and owner. */
struct vscsi_slot {
	struct virtio_scsi_req_cmd req;
	struct virtio_scsi_resp_cmd resp;
	struct virtq_desc table[3];
	struct blk_req *r;
	struct vscsi_lun *lun;
	struct vscsi_slot *next_done;  /* completed for another LUN, not yet taken by it */
};

struct vscsi_ctrl {
	struct virtio_dev vdev;
	const char *unusable;      /* ring=packed on the legacy transport (virtio_ring_want) */
	struct virtq controlq, eventq, requestq;
	struct vscsi_slot *slots;
	uint16_t *free_slots;
	uint16_t nfree, nslots;
	uint8_t (*events)[VSCSI_EVENT_BUF];
	uint32_t req_len, resp_len, event_len; /* descriptor lengths: headers + cdb/sense sizes */
	uint32_t max_sectors_512;
	uint16_t max_target;
	uint32_t max_lun;
	int indirect;
	uint8_t *probe_buf;            /* INQUIRY / READ CAPACITY data */
	struct vscsi_lun *luns[VSCSI_MAX_LUNS];
	unsigned nluns;
	uint64_t events_seen;
};

struct vscsi_lun {
	struct blkdev blk;
	struct vscsi_ctrl *c;
	uint8_t lun_bytes[VSCSI_LUN_BYTES];
	struct vscsi_slot *done_head, *done_tail;
	char what[128];                /* the error record's `what` */
};

static struct vscsi_ctrl ctrls[VSCSI_MAX_CTRLS];
static unsigned ctrl_count;
static struct vscsi_lun luns[VSCSI_MAX_LUNS];
static unsigned lun_count;
static char probe_why[160];

static const char *const response_names[VIRTIO_SCSI_S_COUNT] = {
	"OK", "OVERRUN", "ABORTED", "BAD_TARGET", "RESET", "BUSY", "TRANSPORT_FAILURE",
	"TARGET_FAILURE", "NEXUS_FAILURE", "FAILURE",
};

static char *hex_append(char *p, char *end, uint32_t v, unsigned digits)
{
	static const char hex[] = "0123456789abcdef";
	p = str_append(p, end, "0x");
	for (int i = (int)digits - 1; i >= 0 && p + 1 < end; i--) {
		*p++ = hex[(v >> (4 * i)) & 0xf];
		*p = '\0';
	}
	return p;
}

static void lun_address(uint8_t *out, uint8_t target, uint16_t lun)
{
	memset(out, 0, VSCSI_LUN_BYTES);
	out[0] = VSCSI_LUN_BYTE0;
	out[1] = target;
	out[2] = (uint8_t)(VSCSI_LUN_FLAT | (lun >> 8));
	out[3] = (uint8_t)lun;
}

/* ---- requests ---- */

/* Queue one command: header (with the CDB already in slot->req.cdb), data, response. */
static int queue_command(struct vscsi_ctrl *c, struct vscsi_slot *slot, const uint8_t *lun,
			 void *data, uint32_t bytes, int data_in)
{
	memcpy(slot->req.lun, lun, VSCSI_LUN_BYTES);
	slot->req.id = (uint64_t)(slot - c->slots);
	slot->req.task_attr = VIRTIO_SCSI_S_SIMPLE;
	slot->resp.response = VIRTIO_SCSI_S_FAILURE; /* until the device says otherwise */
	slot->resp.status = SCSI_STATUS_GOOD;
	slot->resp.sense_len = 0;
	slot->resp.residual = 0;
	struct virtq_buf bufs[3];
	unsigned n = 0;
	bufs[n++] = (struct virtq_buf){ &slot->req, c->req_len, 0 };
	if (bytes && !data_in)
		bufs[n++] = (struct virtq_buf){ data, bytes, 0 };
	bufs[n++] = (struct virtq_buf){ &slot->resp, c->resp_len, 1 };
	if (bytes && data_in)
		bufs[n++] = (struct virtq_buf){ data, bytes, 1 };
	int head;
	if (c->indirect) {
		virtq_fill_indirect(slot->table, bufs, n);
		head = virtq_add_indirect(&c->requestq, slot->table, n, slot);
	} else {
		head = virtq_add_chain(&c->requestq, bufs, n, slot);
	}
	if (head < 0)
		return -1;
	virtio_kick(&c->requestq);
	return 0;
}

static int vscsi_submit(struct blkdev *d, struct blk_req *r)
{
	struct vscsi_lun *l = d->priv;
	struct vscsi_ctrl *c = l->c;
	if (!c->nfree)
		return -1;
	uint16_t s = c->free_slots[--c->nfree];
	struct vscsi_slot *slot = &c->slots[s];
	unsigned cdb_len = r->op == BLK_FLUSH ? scsi_cdb_sync_cache(slot->req.cdb)
			   : scsi_cdb_rw(slot->req.cdb, r->op == BLK_WRITE, r->lba, r->sectors);
	slot->r = r;
	slot->lun = l;
	r->slot = s;
	if (!cdb_len || queue_command(c, slot, l->lun_bytes, r->buf,
				      r->op == BLK_FLUSH ? 0 : r->sectors * d->sector_size,
				      r->op == BLK_READ)) {
		c->free_slots[c->nfree++] = s;
		return -1;
	}
	return 0;
}

/* Put the eventq buffers back that the device used (no event is acted upon: hotplug and
 * parameter changes were not negotiated, §5.6.6.3). */
static void drain_events(struct vscsi_ctrl *c)
{
	void *e;
	int any = 0;
	while ((e = virtq_get_used(&c->eventq, 0))) {
		c->events_seen++;
		struct virtq_buf b = { e, c->event_len, 1 };
		if (virtq_add_chain(&c->eventq, &b, 1, e) >= 0)
			any = 1;
	}
	if (any)
		virtio_kick(&c->eventq);
}

/* The outcome of a completed command, into d->err when it failed: BLK_OK, BLK_EIO or
 * BLK_EUNSUPP. status = response << 8 | SCSI status; error = key << 16 | ASC << 8 | ASCQ.
 * whole_transfer: a residual (data the device did not move) is a failure too. */
static uint8_t outcome(struct vscsi_lun *l, const struct vscsi_slot *slot, uint64_t lba,
		       uint32_t blocks, uint32_t data_bytes, int whole_transfer)
{
	const struct virtio_scsi_resp_cmd *resp = &slot->resp;
	struct blk_error *err = &l->blk.err;
	char *p = l->what, *end = l->what + sizeof(l->what);
	struct scsi_sense sense = { 0 };

	if (resp->response == VIRTIO_SCSI_S_OK && resp->status == SCSI_STATUS_GOOD &&
	    (resp->residual == 0 || !whole_transfer))
		return BLK_OK;
	err->lba = lba;
	err->status = (uint32_t)resp->response << 8 | resp->status;
	err->error = 0;
	err->what = l->what;
	p = str_append(p, end, MODEL " ");
	if (resp->response != VIRTIO_SCSI_S_OK) {
		p = str_append(p, end, "response ");
		str_append(p, end, resp->response < VIRTIO_SCSI_S_COUNT ? response_names[resp->response]
									 : "unknown");
		return BLK_EIO;
	}
	if (resp->status == SCSI_STATUS_GOOD) { /* GOOD, but not all of the data moved */
		p = str_append(p, end, "short transfer: residual ");
		u64_append(p, end, resp->residual < data_bytes ? resp->residual : data_bytes);
		return BLK_EIO;
	}
	p = str_append(p, end, scsi_status_name(resp->status));
	uint32_t sense_len = resp->sense_len < l->c->resp_len - VSCSI_RESP_HDR
			     ? resp->sense_len : l->c->resp_len - VSCSI_RESP_HDR;
	if (resp->status != SCSI_STATUS_CHECK_CONDITION || scsi_sense_decode(resp->sense, sense_len, &sense))
		return BLK_EIO;
	err->error = (uint32_t)sense.key << 16 | (uint32_t)sense.asc << 8 | sense.ascq;
	/* INFORMATION is the first failing LBA when it lies in the request (SBC-3 READ/WRITE) */
	if (sense.info_valid && sense.info >= lba && sense.info - lba < blocks)
		err->lba = sense.info;
	p = str_append(p, end, ", sense ");
	p = str_append(p, end, scsi_sense_key_name(sense.key));
	p = str_append(p, end, " asc ");
	p = hex_append(p, end, sense.asc, 2);
	p = str_append(p, end, " ascq ");
	p = hex_append(p, end, sense.ascq, 2);
	p = str_append(p, end, sense.format == 'd' ? " (descriptor" : " (fixed");
	str_append(p, end, sense.deferred ? ", deferred)" : ")");
	return sense.key == SCSI_SENSE_ILLEGAL_REQUEST && sense.asc == SCSI_ASC_INVALID_OPCODE
		? BLK_EUNSUPP : BLK_EIO;
}

static struct blk_req *complete(struct vscsi_lun *l, struct vscsi_slot *slot)
{
	struct vscsi_ctrl *c = l->c;
	struct blk_req *r = slot->r;
	c->free_slots[c->nfree++] = (uint16_t)(slot - c->slots);
	uint32_t bytes = r->op == BLK_FLUSH ? 0 : r->sectors * l->blk.sector_size;
	r->status = outcome(l, slot, r->lba, r->sectors, bytes, 1);
	return r;
}

static struct blk_req *vscsi_poll(struct blkdev *d)
{
	struct vscsi_lun *l = d->priv;
	struct vscsi_ctrl *c = l->c;
	struct vscsi_slot *slot = l->done_head;
	if (slot) {
		l->done_head = slot->next_done;
		return complete(l, slot);
	}
	while ((slot = virtq_get_used(&c->requestq, 0))) {
		if (slot->lun == l)
			return complete(l, slot);
		/* another disk on this controller: its poll takes it */
		struct vscsi_lun *o = slot->lun;
		slot->next_done = 0;
		if (o->done_head)
			o->done_tail->next_done = slot;
		else
			o->done_head = slot;
		o->done_tail = slot;
	}
	drain_events(c);
	return 0;
}

static void vscsi_irq(struct int_frame *f, void *arg)
{
	struct vscsi_ctrl *c = arg;
	(void)f;
	virtio_irq_ack(&c->vdev);
	for (unsigned i = 0; i < c->nluns; i++) {
		c->luns[i]->blk.irqs++;
		c->luns[i]->blk.irq_pending = 1;
	}
}

/* ---- probe ---- */

/* One command, waited for by polling (bounded). 0 with the response in *slot, -1 on a
 * timeout or no room (probe_why set). */
static int sync_command(struct vscsi_ctrl *c, const uint8_t *lun, const uint8_t *cdb,
			unsigned cdb_len, void *data, uint32_t bytes, struct vscsi_slot **out)
{
	if (!c->nfree) {
		str_append(probe_why, probe_why + sizeof(probe_why), "no free request slot");
		return -1;
	}
	struct vscsi_slot *slot = &c->slots[c->free_slots[c->nfree - 1]];
	memset(slot->req.cdb, 0, sizeof(slot->req.cdb));
	memcpy(slot->req.cdb, cdb, cdb_len);
	slot->r = 0;
	slot->lun = 0;
	if (queue_command(c, slot, lun, data, bytes, 1)) {
		str_append(probe_why, probe_why + sizeof(probe_why), "request queue full");
		return -1;
	}
	uint64_t deadline = ts_read() + VSCSI_CMD_TIMEOUT * exec_deadline_scale();
	void *done;
	while (!(done = virtq_get_used(&c->requestq, 0))) {
		if (ts_read() > deadline) {
			char *p = str_append(probe_why, probe_why + sizeof(probe_why),
					     "no completion for SCSI command ");
			hex_append(p, probe_why + sizeof(probe_why), cdb[0], 2);
			return -1;
		}
		cpu_relax();
	}
	*out = done;
	return 0;
}

/* The last probe command failed with CHECK CONDITION and sense key ILLEGAL REQUEST: the device
 * does not do it (an optional command or page), which is not a failure of the device. */
static int refused_as_illegal(const struct vscsi_lun *l)
{
	return l->blk.err.status == SCSI_STATUS_CHECK_CONDITION &&
	       l->blk.err.error >> 16 == SCSI_SENSE_ILLEGAL_REQUEST;
}

/* A probe command with the unit attentions a reset leaves retried (SAM-5: the first
 * command after a reset reports one, then the condition is cleared). Returns the outcome
 * (BLK_OK, ...), with the response in *slot; -1 on a timeout. */
static int probe_command(struct vscsi_ctrl *c, struct vscsi_lun *scratch, const uint8_t *lun,
			 const uint8_t *cdb, unsigned cdb_len, uint32_t bytes, struct vscsi_slot **slot)
{
	for (int attempt = 0;; attempt++) {
		memset(c->probe_buf, 0, PAGE_SIZE);
		if (sync_command(c, lun, cdb, cdb_len, c->probe_buf, bytes, slot))
			return -1;
		int st = outcome(scratch, *slot, 0, 0, bytes, 0);
		const struct blk_error *e = &scratch->blk.err;
		if (st != BLK_OK && attempt < VSCSI_UA_RETRIES && e->status == SCSI_STATUS_CHECK_CONDITION &&
		    e->error >> 16 == SCSI_SENSE_UNIT_ATTENTION)
			continue;
		return st;
	}
}

/* INQUIRY, TEST UNIT READY, READ CAPACITY at one target's LUN 0. 1: a disk, registered;
 * 0: nothing usable there; -1: failed (probe_why set). */
static int probe_target(struct vscsi_ctrl *c, uint8_t target, enum completion_mode mode)
{
	struct vscsi_lun *l = &luns[lun_count];
	uint8_t cdb[SCSI_CDB_MAX];
	struct vscsi_slot *slot;
	unsigned n;
	int st;

	memset(l, 0, sizeof(*l));
	l->c = c;
	lun_address(l->lun_bytes, target, VSCSI_PROBE_LUN);

	n = scsi_cdb_inquiry(cdb, SCSI_INQUIRY_LEN);
	st = probe_command(c, l, l->lun_bytes, cdb, n, SCSI_INQUIRY_LEN, &slot);
	if (st < 0)
		return -1;
	if (slot->resp.response == VIRTIO_SCSI_S_BAD_TARGET)
		return 0; /* no device at this target */
	if (st != BLK_OK)
		goto failed;
	uint8_t pq = c->probe_buf[0] >> SCSI_INQ_QUALIFIER_SHIFT;
	if (pq != SCSI_INQ_QUALIFIER_CONNECTED || (c->probe_buf[0] & SCSI_INQ_TYPE_MASK) != SCSI_TYPE_DISK)
		return 0; /* not a disk (CD-ROM, ...), or no LUN 0 connected */

	n = scsi_cdb_test_unit_ready(cdb);
	if ((st = probe_command(c, l, l->lun_bytes, cdb, n, 0, &slot)) < 0)
		return -1;
	if (st != BLK_OK)
		goto failed;

	/* Write protection: WP in the mode parameter header; a device without MODE SENSE (ILLEGAL
	 * REQUEST) is taken as writable. */
	int read_only = 0;
	n = scsi_cdb_mode_sense6(cdb, SCSI_MODE_ALL_PAGES, SCSI_MODE_HEADER6_LEN);
	if ((st = probe_command(c, l, l->lun_bytes, cdb, n, SCSI_MODE_HEADER6_LEN, &slot)) < 0)
		return -1;
	if (st == BLK_OK)
		read_only = (c->probe_buf[SCSI_MODE6_DEVICE_PARAM] & SCSI_MODE_WP) != 0;
	else if (!refused_as_illegal(l))
		goto failed;

	/* The write cache: WCE of the Caching mode page; a device without it (or without MODE
	 * SENSE) leaves it unknown. */
	enum blk_write_cache write_cache = BLK_WCE_UNKNOWN;
	if (st == BLK_OK) {
		const uint8_t alloc = SCSI_MODE_HEADER6_LEN + SCSI_CACHING_PAGE_LEN;
		n = scsi_cdb_mode_sense6(cdb, SCSI_MODE_PAGE_CACHING, alloc);
		if ((st = probe_command(c, l, l->lun_bytes, cdb, n, alloc, &slot)) < 0)
			return -1;
		int wce = st == BLK_OK ? scsi_mode6_caching_wce(c->probe_buf, alloc) : -1;
		if (wce >= 0)
			write_cache = wce ? BLK_WCE_ON : BLK_WCE_OFF;
		else if (st != BLK_OK && !refused_as_illegal(l))
			goto failed;
	}

	uint64_t last_lba;
	uint32_t block_len, last32;
	n = scsi_cdb_read_capacity10(cdb);
	if ((st = probe_command(c, l, l->lun_bytes, cdb, n, SCSI_READ_CAPACITY_10_LEN, &slot)) < 0)
		return -1;
	if (st != BLK_OK)
		goto failed;
	scsi_parse_capacity10(c->probe_buf, &last32, &block_len);
	last_lba = last32;
	if (last32 == SCSI_RC10_USE_16) {
		n = scsi_cdb_read_capacity16(cdb, SCSI_READ_CAPACITY_16_LEN);
		if ((st = probe_command(c, l, l->lun_bytes, cdb, n, SCSI_READ_CAPACITY_16_LEN, &slot)) < 0)
			return -1;
		if (st != BLK_OK)
			goto failed;
		scsi_parse_capacity16(c->probe_buf, &last_lba, &block_len);
	}
	if (block_len < SECTOR_512 || block_len > PAGE_SIZE || (block_len & (block_len - 1))) {
		char *p = str_append(probe_why, probe_why + sizeof(probe_why), "unusable block length ");
		u64_append(p, probe_why + sizeof(probe_why), block_len);
		return -1;
	}
	uint32_t max_blocks = c->max_sectors_512 * SECTOR_512 / block_len;
	l->blk = (struct blkdev){
		.model = MODEL, .transport = virtio_transport_name(&c->vdev), .mode = mode,
		.pci = c->vdev.pci, .sectors = last_lba + 1, .sector_size = block_len,
		.max_sectors = max_blocks ? max_blocks : 1, .queue_depth = c->nslots,
		.read_only = read_only, .can_flush = 1, .write_cache = write_cache, .submit = vscsi_submit, .poll = vscsi_poll, .priv = l,
		.unusable = c->unusable, .unusable_key = c->unusable ? "ring" : 0,
		.ring = virtio_ring_name(&c->vdev), .queues = 1,
	};
	c->luns[c->nluns++] = l;
	lun_count++;
	return 1;

failed: {
		char *p = str_append(probe_why, probe_why + sizeof(probe_why), "target ");
		p = u64_append(p, probe_why + sizeof(probe_why), target);
		p = str_append(p, probe_why + sizeof(probe_why), ": ");
		str_append(p, probe_why + sizeof(probe_why), l->what);
		return -1;
	}
}

static int bring_up(struct vscsi_ctrl *c, const struct pci_dev *pd, const struct blk_config *cfg)
{
	const char *why = "";
	uint64_t want = 0;

	memset(c, 0, sizeof(*c));
	probe_why[0] = '\0';
	if (virtio_pci_init(&c->vdev, pd, (enum virtio_transport_pref)cfg->virtio_transport, &why) ||
	    virtio_irq_setup(&c->vdev, cfg->mode, vscsi_irq, c, &why) ||
	    virtio_ring_want(&c->vdev, cfg->packed, &want, &c->unusable, &why) ||
	    virtio_negotiate(&c->vdev, want, cfg->evidx, cfg->indirect, &why))
		return virtio_give_up(&c->vdev, MODEL, why);
	c->indirect = virtio_has(&c->vdev, VIRTIO_RING_F_INDIRECT_DESC);

	/* §5.6.4: what the device offers, read before DRIVER_OK */
	uint32_t num_queues = virtio_cfg_read32(&c->vdev, VSCSI_CFG_NUM_QUEUES);
	uint32_t seg_max = virtio_cfg_read32(&c->vdev, VSCSI_CFG_SEG_MAX);
	uint32_t max_sectors = virtio_cfg_read32(&c->vdev, VSCSI_CFG_MAX_SECTORS);
	uint32_t cmd_per_lun = virtio_cfg_read32(&c->vdev, VSCSI_CFG_CMD_PER_LUN);
	uint32_t event_info = virtio_cfg_read32(&c->vdev, VSCSI_CFG_EVENT_INFO_SIZE);
	uint32_t sense_size = virtio_cfg_read32(&c->vdev, VSCSI_CFG_SENSE_SIZE);
	uint32_t cdb_size = virtio_cfg_read32(&c->vdev, VSCSI_CFG_CDB_SIZE);
	c->max_target = virtio_cfg_read16(&c->vdev, VSCSI_CFG_MAX_TARGET);
	c->max_lun = virtio_cfg_read32(&c->vdev, VSCSI_CFG_MAX_LUN);
	if (num_queues == 0)
		return virtio_give_up(&c->vdev, MODEL, "the device has no request queue (num_queues 0)");
	if (seg_max == 0)
		return virtio_give_up(&c->vdev, MODEL, "seg_max 0: not even one data segment per command");
	if (cdb_size < SCSI_CDB16_LEN || cdb_size > VSCSI_CDB_BUF)
		return virtio_give_up(&c->vdev, MODEL, "cdb_size outside 16..64 bytes");
	if (sense_size > VSCSI_SENSE_BUF)
		return virtio_give_up(&c->vdev, MODEL, "sense_size above 252 bytes");
	if (event_info > VSCSI_EVENT_BUF)
		return virtio_give_up(&c->vdev, MODEL, "event_info_size above 64 bytes");
	c->req_len = VSCSI_REQ_HDR + cdb_size;
	c->resp_len = VSCSI_RESP_HDR + sense_size;
	c->event_len = event_info ? event_info : sizeof(struct virtio_scsi_event);
	c->max_sectors_512 = max_sectors && max_sectors < VSCSI_MAX_SECTORS_512 ? max_sectors
									      : VSCSI_MAX_SECTORS_512;

	if (virtio_queue_setup(&c->vdev, &c->controlq, VSCSI_CONTROLQ, VSCSI_SMALL_QUEUE) ||
	    virtio_queue_setup(&c->vdev, &c->eventq, VSCSI_EVENTQ, VSCSI_SMALL_QUEUE) ||
	    virtio_queue_setup(&c->vdev, &c->requestq, VSCSI_REQUESTQ, VSCSI_MAX_QUEUE))
		return virtio_give_up(&c->vdev, MODEL, "virtqueue setup failed");
	/* No interrupts while probing (commands are polled), none ever for control and events. */
	virtq_want_interrupts(&c->controlq, 0);
	virtq_want_interrupts(&c->eventq, 0);
	virtq_want_interrupts(&c->requestq, 0);

	/* Three descriptors per request, or one with indirect tables; at most cmd_per_lun. */
	c->nslots = c->indirect ? c->requestq.size : c->requestq.size / 3;
	if (cmd_per_lun && c->nslots > cmd_per_lun)
		c->nslots = (uint16_t)cmd_per_lun;
	if (cfg->queue_depth_limit && c->nslots > cfg->queue_depth_limit)
		c->nslots = (uint16_t)cfg->queue_depth_limit;
	c->slots = page_alloc(ALIGN_UP(sizeof(struct vscsi_slot) * c->nslots, PAGE_SIZE) / PAGE_SIZE);
	c->free_slots = page_alloc(ALIGN_UP(2ull * c->nslots, PAGE_SIZE) / PAGE_SIZE);
	_Static_assert(VSCSI_EVENT_BUF * VSCSI_EVENTS <= PAGE_SIZE, "the eventq buffers fit a page");
	c->events = page_alloc(1);
	c->probe_buf = page_alloc(1);
	if (!c->slots || !c->free_slots || !c->events || !c->probe_buf)
		return virtio_give_up(&c->vdev, MODEL, "out of memory for request slots");
	for (uint16_t i = 0; i < c->nslots; i++)
		c->free_slots[c->nfree++] = i;

	virtio_driver_ok(&c->vdev);
	/* §5.6.5 "Device Initialization": the driver should place buffers in the eventq */
	for (unsigned i = 0; i < VSCSI_EVENTS; i++) {
		struct virtq_buf b = { c->events[i], c->event_len, 1 };
		if (virtq_add_chain(&c->eventq, &b, 1, c->events[i]) < 0)
			break;
	}
	virtio_kick(&c->eventq);

	unsigned last = c->max_target < VSCSI_SCAN_TARGETS - 1 ? c->max_target : VSCSI_SCAN_TARGETS - 1;
	for (unsigned t = 0; t <= last && lun_count < VSCSI_MAX_LUNS; t++) {
		if (probe_target(c, (uint8_t)t, cfg->mode) < 0)
			return virtio_give_up(&c->vdev, MODEL, probe_why);
	}
	virtq_want_interrupts(&c->requestq, cfg->mode != COMPLETE_POLL);
	return 0;
}

int virtio_scsi_match(const struct pci_dev *p) { return virtio_pci_match(p, VIRTIO_TYPE_SCSI); }

int virtio_scsi_init(const struct pci_dev *pd, const struct blk_config *cfg)
{
	if (ctrl_count == VSCSI_MAX_CTRLS || lun_count == VSCSI_MAX_LUNS)
		return 0; /* left alone, as any device without a driver */
	struct vscsi_ctrl *c = &ctrls[ctrl_count];
	unsigned first = lun_count;
	if (bring_up(c, pd, cfg)) {
		lun_count = first; /* the disks of a failed controller are not registered */
		return -1;
	}
	ctrl_count++;
	for (unsigned i = first; i < lun_count; i++)
		blk_register(&luns[i].blk);
	return 0;
}
