/*
 * NVMe controllers (PCI class 01h, subclass 08h, programming interface 02h) with the NVM command
 * set: namespace 1 of each controller becomes one disk, driven through one I/O submission /
 * completion queue pair.
 *
 * References: NVM Express Base Specification 1.4 (NVMe 1.4): §3.1 controller registers (§3.1.1
 * CAP, §3.1.3 INTMS, §3.1.4 INTMC, §3.1.5 CC, §3.1.6 CSTS, §3.1.8 AQA, §3.1.9 ASQ, §3.1.10 ACQ,
 * §3.1.24/§3.1.25 doorbells), §4.2 submission queue entry, §4.3 PRPs, §4.6 completion queue
 * entry, §5.3 Create I/O Completion Queue, §5.4 Create I/O Submission Queue, §5.10 Doorbell
 * Buffer Config, §5.15 Identify (§5.15.2.1 namespace data structure, §5.15.2.2 controller data
 * structure), §6.8 Flush, §6.9 Read, §6.15 Write, §7.5 interrupts (§7.5.1.1 pin-based masking
 * with INTMS/INTMC), §7.6.1 controller initialization. The queue arithmetic is nvme_queue.c.
 *
 * Flow: submit() writes a command at the SQ tail and rings the SQ tail doorbell; poll() takes
 * completions at the CQ head by phase tag and rings the CQ head doorbell once per batch (at the
 * poll that finds the queue empty, or before the next submission). With dbbuf=1 both doorbells
 * go to the shadow doorbell buffer, and to the register only when the controller's EventIdx asks
 * for it (§5.10). QEMU 7.2 (hw/nvme/ctrl.c, with the 7.2 stable fix that writes the CQ EventIdx):
 * the admin queue keeps register doorbells (the controller copies them into the shadow buffer
 * itself); for I/O queues created after the command, the controller reads the shadow SQ tail
 * whenever it processes the SQ and sets the SQ EventIdx to the entries it has fetched, and each
 * time it posts completions it sets the CQ EventIdx to the head it knew, then reads the shadow
 * head. So a register write is saved only when the controller is still busy with earlier
 * entries: at qd=1 every doorbell still reaches the register; at higher qd most do not.
 */
#include "blk.h"
#include "nvme_queue.h"
#include "kernel/devio.h"
#include "kernel/interrupts.h"
#include "kernel/lib.h"
#include "kernel/memory.h"
#include "kernel/pci.h"
#include "kernel/report.h"
#include "kernel/tsc.h"

#define MODEL                   "nvme"
#define PCI_CLASS_NVME          0x010802   /* class 01h, subclass 08h, prog-if 02h (NVMe) */
#define NVME_BAR                0

/* §3.1 controller registers: offsets in BAR0. */
#define NVME_REG_CAP            0x00   /* 64 bits, read as two dwords */
#define NVME_REG_VS             0x08
#define NVME_REG_INTMS          0x0c
#define NVME_REG_INTMC          0x10
#define NVME_REG_CC             0x14
#define NVME_REG_CSTS           0x1c
#define NVME_REG_AQA            0x24
#define NVME_REG_ASQ            0x28   /* 64 bits */
#define NVME_REG_ACQ            0x30   /* 64 bits */

/* §3.1.1 CAP fields (bit positions in the 64-bit register). */
#define CAP_MQES_MASK           0xffffull   /* maximum queue entries, 0's based */
#define CAP_TO_SHIFT            24          /* timeout, 500 ms units */
#define CAP_TO_MASK             0xffull
#define CAP_DSTRD_SHIFT         32          /* doorbell stride: 4 << DSTRD bytes */
#define CAP_DSTRD_MASK          0xfull
#define CAP_CSS_NVM             (1ull << 37) /* command sets supported: NVM */
#define CAP_MPSMIN_SHIFT        48          /* memory page size minimum: 2^(12 + MPSMIN) */
#define CAP_MPSMIN_MASK         0xfull
#define CAP_TO_UNIT_MS          500

/* §3.1.5 CC fields. */
#define CC_EN                   (1u << 0)
#define CC_CSS_NVM              (0u << 4)
#define CC_MPS_SHIFT            7           /* memory page size 2^(12 + MPS) */
#define CC_AMS_RR               (0u << 11)  /* round robin arbitration */
#define CC_IOSQES_SHIFT         16          /* I/O SQ entry size, 2^n bytes */
#define CC_IOCQES_SHIFT         20          /* I/O CQ entry size, 2^n bytes */

/* §3.1.6 CSTS fields. */
#define CSTS_RDY                (1u << 0)
#define CSTS_CFS                (1u << 1)   /* controller fatal status */

/* §3.1.8 AQA fields (0's based sizes). */
#define AQA_ACQS_SHIFT          16

/* §4.2 and §4.6: entry sizes as CC and Identify give them (log2). */
#define NVME_SQE_LOG2           6           /* 64 bytes */
#define NVME_CQE_LOG2           4           /* 16 bytes */
#define NVME_PAGE_LOG2          12          /* the memory page size we use (CC.MPS = 0) */
#define NVME_PAGE               (1ull << NVME_PAGE_LOG2)

/* Admin command opcodes (§5, Figure "Opcodes for Admin Commands"). */
#define NVME_ADMIN_CREATE_SQ    0x01
#define NVME_ADMIN_CREATE_CQ    0x05
#define NVME_ADMIN_IDENTIFY     0x06
#define NVME_ADMIN_GET_FEATURES 0x0a
#define NVME_ADMIN_DBBUF_CONFIG 0x7c
/* NVM command set opcodes (§6, Figure "Opcodes for NVM Commands"). */
#define NVME_CMD_FLUSH          0x00
#define NVME_CMD_WRITE          0x01
#define NVME_CMD_READ           0x02

/* §5.15 Identify: CDW10.CNS. */
#define IDENTIFY_CNS_NAMESPACE  0x00
#define IDENTIFY_CNS_CONTROLLER 0x01
#define IDENTIFY_BYTES          4096

/* §5.15.2.2 Identify Controller data structure: byte offsets. */
#define IDC_MDTS                77          /* max data transfer, 2^n units of CAP.MPSMIN; 0: none */
#define IDC_OACS                256         /* 16 bits: optional admin command support */
#define IDC_OACS_DBBUF          (1u << 8)   /* Doorbell Buffer Config */
#define IDC_NN                  516         /* 32 bits: number of namespaces */
#define IDC_VWC                 525         /* volatile write cache */
#define IDC_VWC_PRESENT         0x01
/* §5.21.1.6 Volatile Write Cache feature (Get Features CDW10.FID): completion DW0 bit 0 WCE. */
#define FEAT_VOLATILE_WRITE_CACHE 0x06
#define FEAT_VWC_WCE            0x01
/* §5.15.2.1 Identify Namespace data structure: byte offsets. */
#define IDNS_NSZE               0           /* 64 bits: namespace size in logical blocks */
#define IDNS_FLBAS              26          /* bits 3:0: the LBA format in use */
#define IDNS_FLBAS_INDEX_MASK   0x0f
#define IDNS_NSATTR             99
#define IDNS_NSATTR_WP          0x01        /* write protected */
#define IDNS_LBAF               128         /* LBA format n at 128 + 4n */
#define IDNS_LBAF_SIZE          4
#define IDNS_LBAF_LBADS_BYTE    2           /* LBA data size, 2^n bytes */

/* §5.3 Create I/O Completion Queue, §5.4 Create I/O Submission Queue: CDW10/CDW11 fields. */
#define CREATE_QSIZE_SHIFT      16          /* CDW10: queue size (0's based) << 16 | QID */
#define CREATE_CQ_PC            (1u << 0)   /* physically contiguous */
#define CREATE_CQ_IEN           (1u << 1)   /* interrupts enabled */
#define CREATE_CQ_IV_SHIFT      16          /* interrupt vector (MSI-X entry) */
#define CREATE_SQ_PC            (1u << 0)
#define CREATE_SQ_CQID_SHIFT    16

#define NVME_NSID               1           /* the namespace we drive */
#define ADMIN_QID               0
#define IO_QID                  1
#define ADMIN_ENTRIES           8
#define IO_ENTRIES_MAX          1024        /* qd= goes to 1024 at most */
#define IRQ_VECTOR_ENTRY        0           /* MSI-X table entry / INTMS bit of every queue */
#define MAX_TRANSFER            (1024u * 1024u) /* the largest bs= */
#define PRP_LIST_ENTRIES        (PAGE_SIZE / sizeof(uint64_t)) /* one page of list, unchained */
#define NVME_MAX_CONTROLLERS    4
#define TIMEOUT_FALLBACK_CYCLES (1ull << 31) /* per 500 ms unit when tsc_hz is unknown */

/* §4.2 Figure "Common Command Format": 64 bytes. */
struct nvme_sqe {
	uint8_t opcode;
	uint8_t flags;          /* FUSE, PSDT (0: PRPs) */
	uint16_t cid;
	uint32_t nsid;
	uint32_t cdw2, cdw3;
	uint64_t mptr;
	uint64_t prp1, prp2;
	uint32_t cdw10, cdw11, cdw12, cdw13, cdw14, cdw15;
};
_Static_assert(sizeof(struct nvme_sqe) == 1u << NVME_SQE_LOG2, "NVMe 1.4 §4.2: 64-byte commands");

/* §4.6 Figure "Completion Queue Entry Layout": 16 bytes. */
struct nvme_cqe {
	uint32_t dw0;           /* command specific */
	uint32_t dw1;
	uint16_t sq_head, sq_id;
	uint16_t cid;
	uint16_t status_phase;  /* bit 0 phase tag, 15:1 status field */
};
_Static_assert(sizeof(struct nvme_cqe) == 1u << NVME_CQE_LOG2, "NVMe 1.4 §4.6: 16-byte completions");

struct nvme_queue {
	volatile struct nvme_sqe *sq;
	volatile struct nvme_cqe *cq;
	uint16_t size;          /* entries, SQ and CQ alike */
	uint16_t sq_tail;
	uint16_t sq_tail_told;  /* last SQ tail the controller was given (register or shadow) */
	uint16_t cq_head_told;
	struct nvme_cq_cursor cur;
	uint64_t sq_db, cq_db;  /* doorbell register addresses */
	/* dbbuf=1 (I/O queue only): the queue's entries in the shadow and EventIdx buffers */
	volatile uint32_t *sq_shadow, *cq_shadow, *sq_event, *cq_event;
};

struct nvme_slot {
	struct blk_req *req;
	uint64_t *prp_list;
};

struct nvme_ctrl {
	struct blkdev blk;
	const struct pci_dev *pci;
	uint64_t regs;
	uint8_t dstrd;
	uint64_t timeout_cycles;   /* CAP.TO as TSC cycles */
	struct nvme_queue admin, io;
	struct nvme_slot *slots;
	uint16_t *free_slots;
	uint16_t nfree, nslots;
	int dbbuf;
	int cq_head_pending;       /* completions taken since the last CQ head doorbell */
	int intx;                  /* pin-based: the handler masks with INTMS, poll() unmasks */
	uint8_t vector;
	uint16_t admin_status;     /* status field of the last admin completion */
	uint32_t admin_result;     /* its DW0 (command specific: Get Features' value) */
};

static struct nvme_ctrl ctrls[NVME_MAX_CONTROLLERS];
static unsigned ctrl_count;

/* A full fence: the shadow doorbell store must be visible before the EventIdx load (§5.10). */
static inline void mb(void) { asm volatile("mfence" ::: "memory"); }

static uint32_t reg_read32(const struct nvme_ctrl *c, uint32_t off) { return dev_mmio_read32(c->regs + off); }
static void reg_write32(const struct nvme_ctrl *c, uint32_t off, uint32_t v) { dev_mmio_write32(c->regs + off, v); }
static uint64_t reg_read64(const struct nvme_ctrl *c, uint32_t off)
{
	uint64_t lo = reg_read32(c, off), hi = reg_read32(c, off + 4);
	return hi << 32 | lo;
}
static void reg_write64(const struct nvme_ctrl *c, uint32_t off, uint64_t v)
{
	reg_write32(c, off, (uint32_t)v);
	reg_write32(c, off + 4, (uint32_t)(v >> 32));
}

static uint16_t le16_at(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32_at(const uint8_t *p) { return (uint32_t)le16_at(p) | (uint32_t)le16_at(p + 2) << 16; }
static uint64_t le64_at(const uint8_t *p) { return (uint64_t)le32_at(p) | (uint64_t)le32_at(p + 4) << 32; }

/* ---- doorbells ---- */

/* Tell the controller about a new SQ tail or CQ head: the register, or with the shadow
 * doorbell buffer the shadow entry, then the register only if EventIdx asks for it. */
static void ring(uint64_t reg, volatile uint32_t *shadow, volatile uint32_t *event, uint16_t value,
		 uint16_t *told, int force_register)
{
	if (shadow) {
		*shadow = value;
		mb();
		if (!force_register && !nvme_dbbuf_need_mmio((uint16_t)*event, value, *told)) {
			*told = value;
			return;
		}
	}
	dev_mmio_write32(reg, value);
	*told = value;
}

static void ring_sq(struct nvme_queue *q)
{
	barrier(); /* the command is in memory before the doorbell */
	ring(q->sq_db, q->sq_shadow, q->sq_event, q->sq_tail, &q->sq_tail_told, 0);
}

/* The CQ head once per batch. Pin-based interrupts: the line stays asserted until the head
 * register shows the queue empty, so the register is written even with the shadow buffer, and
 * the vector the handler masked is unmasked afterwards (§7.5.1.1). */
static void ring_cq_head(struct nvme_ctrl *c, struct nvme_queue *q)
{
	ring(q->cq_db, q->cq_shadow, q->cq_event, q->cur.head, &q->cq_head_told, c->intx);
	if (c->intx)
		reg_write32(c, NVME_REG_INTMC, 1u << IRQ_VECTOR_ENTRY);
}

static void queue_init(struct nvme_ctrl *c, struct nvme_queue *q, uint16_t qid, uint16_t size,
		       void *sq, void *cq)
{
	memset(q, 0, sizeof(*q));
	q->sq = sq;
	q->cq = cq;
	q->size = size;
	nvme_cq_cursor_init(&q->cur, size);
	q->sq_db = c->regs + NVME_REG_DOORBELL_BASE + nvme_db_offset(qid, NVME_DB_SQ_TAIL, c->dstrd);
	q->cq_db = c->regs + NVME_REG_DOORBELL_BASE + nvme_db_offset(qid, NVME_DB_CQ_HEAD, c->dstrd);
}

/* ---- admin commands (synchronous, polled, bounded by CAP.TO) ---- */

/* Run one admin command; 0, or -1 with *why set. */
static int admin(struct nvme_ctrl *c, struct nvme_sqe *cmd, const char **why)
{
	struct nvme_queue *q = &c->admin;
	cmd->cid = q->sq_tail;
	q->sq[q->sq_tail] = *cmd;
	q->sq_tail = nvme_ring_next(q->sq_tail, q->size);
	ring_sq(q);
	uint64_t start = ts_read();
	for (;;) {
		volatile struct nvme_cqe *e = &q->cq[q->cur.head];
		uint16_t sp = e->status_phase;
		if (nvme_cqe_is_new(&q->cur, sp)) {
			barrier();
			nvme_cq_advance(&q->cur);
			dev_mmio_write32(q->cq_db, q->cur.head);
			c->admin_status = nvme_cqe_status(sp);
			c->admin_result = e->dw0;
			if (c->admin_status) {
				*why = "the controller failed the command (status and error: its SCT and SC)";
				return -1;
			}
			return 0;
		}
		if (ts_read() - start > c->timeout_cycles) {
			*why = "admin command timed out (CAP.TO)";
			return -1;
		}
		cpu_relax();
	}
}

static int identify(struct nvme_ctrl *c, uint32_t cns, uint32_t nsid, void *buf, const char **why)
{
	struct nvme_sqe cmd = { .opcode = NVME_ADMIN_IDENTIFY, .nsid = nsid,
				.prp1 = (uint64_t)(uintptr_t)buf, .cdw10 = cns };
	return admin(c, &cmd, why);
}

/* ---- controller reset and enable (§7.6.1) ---- */

static int wait_ready(struct nvme_ctrl *c, uint32_t want, const char **why)
{
	uint64_t start = ts_read();
	for (;;) {
		uint32_t csts = reg_read32(c, NVME_REG_CSTS);
		if (csts == UINT32_MAX) {
			*why = "controller registers read all ones";
			return -1;
		}
		if ((csts & CSTS_RDY) == want)
			return 0;
		if (want && (csts & CSTS_CFS)) {
			*why = "controller fatal status (CSTS.CFS) while enabling";
			return -1;
		}
		if (ts_read() - start > c->timeout_cycles) {
			*why = want ? "CSTS.RDY did not become 1 within CAP.TO" : "CSTS.RDY did not clear within CAP.TO";
			return -1;
		}
		cpu_relax();
	}
}

static int reset_and_enable(struct nvme_ctrl *c, const char **why)
{
	reg_write32(c, NVME_REG_CC, 0); /* CC.EN = 0: reset */
	if (wait_ready(c, 0, why))
		return -1;
	void *asq = page_alloc(1), *acq = page_alloc(1);
	if (!asq || !acq) {
		*why = "out of memory for the admin queue";
		return -1;
	}
	queue_init(c, &c->admin, ADMIN_QID, ADMIN_ENTRIES, asq, acq);
	reg_write32(c, NVME_REG_AQA, (ADMIN_ENTRIES - 1u) << AQA_ACQS_SHIFT | (ADMIN_ENTRIES - 1u));
	reg_write64(c, NVME_REG_ASQ, (uint64_t)(uintptr_t)asq);
	reg_write64(c, NVME_REG_ACQ, (uint64_t)(uintptr_t)acq);
	reg_write32(c, NVME_REG_CC, CC_CSS_NVM | 0u << CC_MPS_SHIFT | CC_AMS_RR |
				     NVME_SQE_LOG2 << CC_IOSQES_SHIFT | NVME_CQE_LOG2 << CC_IOCQES_SHIFT | CC_EN);
	return wait_ready(c, CSTS_RDY, why);
}

/* ---- I/O ---- */

static int nvme_submit(struct blkdev *d, struct blk_req *r)
{
	struct nvme_ctrl *c = d->priv;
	struct nvme_queue *q = &c->io;
	if (!c->nfree)
		return -1;
	if (c->cq_head_pending) { /* completions taken since the last batch ended */
		ring_cq_head(c, q);
		c->cq_head_pending = 0;
	}
	uint16_t s = c->free_slots[--c->nfree];
	struct nvme_slot *slot = &c->slots[s];
	struct nvme_sqe cmd = { .cid = s, .nsid = NVME_NSID };
	if (r->op == BLK_FLUSH) {
		cmd.opcode = NVME_CMD_FLUSH;
	} else {
		uint64_t bytes = (uint64_t)r->sectors * d->sector_size;
		if (!r->sectors || r->sectors > d->max_sectors ||
		    nvme_prp_build((uint64_t)(uintptr_t)r->buf, bytes, NVME_PAGE, slot->prp_list,
				   PRP_LIST_ENTRIES, (uint64_t)(uintptr_t)slot->prp_list, &cmd.prp1, &cmd.prp2)) {
			c->free_slots[c->nfree++] = s;
			return -1;
		}
		cmd.opcode = r->op == BLK_WRITE ? NVME_CMD_WRITE : NVME_CMD_READ;
		cmd.cdw10 = (uint32_t)r->lba;           /* SLBA, §6.9 / §6.15 */
		cmd.cdw11 = (uint32_t)(r->lba >> 32);
		cmd.cdw12 = r->sectors - 1;             /* NLB, 0's based */
	}
	slot->req = r;
	r->slot = s;
	q->sq[q->sq_tail] = cmd;
	q->sq_tail = nvme_ring_next(q->sq_tail, q->size);
	ring_sq(q);
	return 0;
}

static struct blk_req *nvme_poll(struct blkdev *d)
{
	struct nvme_ctrl *c = d->priv;
	struct nvme_queue *q = &c->io;
	volatile struct nvme_cqe *e = &q->cq[q->cur.head];
	uint16_t sp = e->status_phase;
	if (!nvme_cqe_is_new(&q->cur, sp)) {
		if (c->cq_head_pending) {
			ring_cq_head(c, q);
			c->cq_head_pending = 0;
		}
		return 0;
	}
	barrier(); /* the rest of the entry after its phase tag */
	uint16_t cid = e->cid;
	nvme_cq_advance(&q->cur);
	c->cq_head_pending = 1;
	if (cid >= c->nslots || !c->slots[cid].req) {
		/* not a command of ours: the controller is confused; the bench's stall check ends it */
		return 0;
	}
	struct blk_req *r = c->slots[cid].req;
	c->slots[cid].req = 0;
	c->free_slots[c->nfree++] = cid;
	uint16_t status = nvme_cqe_status(sp);
	if (!status) {
		r->status = BLK_OK;
		return r;
	}
	uint8_t sct = nvme_status_sct(status), sc = nvme_status_sc(status);
	r->status = sct == NVME_SCT_GENERIC && sc == NVME_SC_INVALID_OPCODE ? BLK_EUNSUPP : BLK_EIO;
	d->err = (struct blk_error){ .what = nvme_sct_name(sct), .lba = r->lba, .status = sct, .error = sc };
	return r;
}

/* MSI-X/MSI: nothing to acknowledge. Pin-based: mask the vector until poll() has taken the
 * completions and written the CQ head (§7.5.1.1), or the level-triggered line fires again. */
static void nvme_irq(struct int_frame *f, void *arg)
{
	struct nvme_ctrl *c = arg;
	(void)f;
	if (c->intx)
		reg_write32(c, NVME_REG_INTMS, 1u << IRQ_VECTOR_ENTRY);
	c->blk.irqs++;
	c->blk.irq_pending = 1;
}

/* ---- bring-up ---- */

static int give_up(struct nvme_ctrl *c, const char *why)
{
	report_device_error(MODEL, c->pci, why);
	if (c->regs)
		reg_write32(c, NVME_REG_CC, 0); /* leave it disabled */
	return -1;
}

/* An admin command that failed: which one, why, and the controller's status if it gave one. */
static int give_up_admin(struct nvme_ctrl *c, const char *command, const char *why)
{
	static char msg[160];
	char *end = msg + sizeof(msg);
	str_append(str_append(str_append(msg, end, command), end, ": "), end, why);
	rec_begin_device_error(MODEL, msg);
	rec_bdf(c->pci);
	if (c->admin_status) {
		rec_hex("status", nvme_status_sct(c->admin_status));
		rec_hex("error", nvme_status_sc(c->admin_status));
	}
	rec_end();
	reg_write32(c, NVME_REG_CC, 0);
	return -1;
}

static int setup_irq(struct nvme_ctrl *c, enum completion_mode mode, const char **why)
{
	if (mode == COMPLETE_POLL)
		return 0;
	uint8_t vector = irq_alloc_vector();
	if (!vector) {
		*why = "no interrupt vector left";
		return -1;
	}
	irq_register(vector, nvme_irq, c);
	c->vector = vector;
	if (mode == COMPLETE_MSIX) {
		/* MSI-X table entry 0 (the I/O CQ's IV); MSI (one message) where there is no MSI-X. */
		if (pci_msix_count(c->pci) ? pci_msix_enable(c->pci, IRQ_VECTOR_ENTRY, vector)
					   : pci_msi_enable(c->pci, vector)) {
			*why = "MSI-X/MSI setup failed";
			return -1;
		}
		return 0;
	}
	c->intx = 1;
	return 0;
}

static int bring_up(struct nvme_ctrl *c, const struct pci_dev *p, const struct blk_config *cfg)
{
	const char *why = "";
	uint8_t *idbuf;

	memset(c, 0, sizeof(*c));
	c->pci = p;
	if (p->bar[NVME_BAR].type != BAR_MEM32 && p->bar[NVME_BAR].type != BAR_MEM64)
		return give_up(c, "BAR0 is not a memory BAR");
	pci_enable(p, 1);
	uint64_t base = pci_bar_address(p, NVME_BAR);
	if (!base)
		return give_up(c, "BAR0 is not assigned");
	c->regs = base;

	uint64_t cap = reg_read64(c, NVME_REG_CAP);
	uint64_t to_units = (cap >> CAP_TO_SHIFT) & CAP_TO_MASK;
	uint64_t hz = tsc_hz();
	if (!to_units)
		to_units = 1;
	c->timeout_cycles = to_units * (hz ? hz * CAP_TO_UNIT_MS / 1000 : TIMEOUT_FALLBACK_CYCLES);
	c->dstrd = (uint8_t)((cap >> CAP_DSTRD_SHIFT) & CAP_DSTRD_MASK);
	if (!(cap & CAP_CSS_NVM))
		return give_up(c, "controller does not support the NVM command set (CAP.CSS)");
	if ((cap >> CAP_MPSMIN_SHIFT) & CAP_MPSMIN_MASK)
		return give_up(c, "controller's minimum memory page size is above 4 KiB (CAP.MPSMIN)");
	if (reset_and_enable(c, &why))
		return give_up(c, why);

	/* Identify controller: transfer limit, optional admin commands, namespaces. */
	_Static_assert(IDENTIFY_BYTES == PAGE_SIZE, "one page per Identify data structure");
	if (!(idbuf = page_alloc(1)))
		return give_up(c, "out of memory for Identify data");
	if (identify(c, IDENTIFY_CNS_CONTROLLER, 0, idbuf, &why))
		return give_up_admin(c, "Identify Controller", why);
	uint8_t mdts = idbuf[IDC_MDTS];
	uint16_t oacs = le16_at(idbuf + IDC_OACS);
	uint32_t nn = le32_at(idbuf + IDC_NN);
	/* The write cache: none without VWC; else the feature's current value. A controller that
	 * fails Get Features leaves it unknown: nothing else depends on it. */
	enum blk_write_cache write_cache = BLK_WCE_OFF;
	if (idbuf[IDC_VWC] & IDC_VWC_PRESENT) {
		struct nvme_sqe cmd = { .opcode = NVME_ADMIN_GET_FEATURES,
					.cdw10 = FEAT_VOLATILE_WRITE_CACHE };
		const char *ignored;
		write_cache = admin(c, &cmd, &ignored) ? BLK_WCE_UNKNOWN :
			      (c->admin_result & FEAT_VWC_WCE) ? BLK_WCE_ON : BLK_WCE_OFF;
	}
	if (nn < NVME_NSID)
		return give_up(c, "controller has no namespace 1 (Identify Controller NN = 0)");
	if (identify(c, IDENTIFY_CNS_NAMESPACE, NVME_NSID, idbuf, &why))
		return give_up_admin(c, "Identify Namespace 1", why);
	uint64_t nsze = le64_at(idbuf + IDNS_NSZE);
	unsigned lbaf = idbuf[IDNS_FLBAS] & IDNS_FLBAS_INDEX_MASK;
	uint8_t lbads = idbuf[IDNS_LBAF + IDNS_LBAF_SIZE * lbaf + IDNS_LBAF_LBADS_BYTE];
	int write_protected = (idbuf[IDNS_NSATTR] & IDNS_NSATTR_WP) != 0;
	if (!nsze)
		return give_up(c, "namespace 1 is empty or inactive (NSZE = 0)");
	if (lbads < 9 || lbads > NVME_PAGE_LOG2)
		return give_up(c, "namespace 1's LBA data size is not 512 B to 4 KiB");
	uint32_t sector_size = 1u << lbads;

	/* dbbuf=1: the shadow doorbell and EventIdx buffers, one page each, before the I/O queues. */
	void *shadow = 0, *event = 0;
	if (cfg->nvme_dbbuf) {
		if (!(oacs & IDC_OACS_DBBUF))
			return give_up(c, "dbbuf=1 asked, but the controller does not offer Doorbell Buffer "
					  "Config (Identify Controller OACS bit 8)");
		shadow = page_alloc(1);
		event = page_alloc(1);
		if (!shadow || !event)
			return give_up(c, "out of memory for the shadow doorbell buffers");
		struct nvme_sqe cmd = { .opcode = NVME_ADMIN_DBBUF_CONFIG,
					.prp1 = (uint64_t)(uintptr_t)shadow, .prp2 = (uint64_t)(uintptr_t)event };
		if (admin(c, &cmd, &why))
			return give_up_admin(c, "Doorbell Buffer Config", why);
		c->dbbuf = 1;
	}

	/* The I/O queue pair: MQES + 1 entries at most, IO_ENTRIES_MAX, or qd + 1 when limited. */
	uint32_t entries = (uint32_t)(cap & CAP_MQES_MASK) + 1;
	if (entries > IO_ENTRIES_MAX)
		entries = IO_ENTRIES_MAX;
	if (cfg->queue_depth_limit && entries > cfg->queue_depth_limit + 1)
		entries = cfg->queue_depth_limit + 1;
	if (entries < 2)
		return give_up(c, "controller's queues are too small (CAP.MQES)");
	void *sq = page_alloc(ALIGN_UP((uint64_t)entries << NVME_SQE_LOG2, PAGE_SIZE) / PAGE_SIZE);
	void *cq = page_alloc(ALIGN_UP((uint64_t)entries << NVME_CQE_LOG2, PAGE_SIZE) / PAGE_SIZE);
	c->nslots = (uint16_t)(entries - 1); /* a full queue keeps one entry empty (§4.1.2) */
	c->slots = page_alloc(ALIGN_UP(sizeof(struct nvme_slot) * c->nslots, PAGE_SIZE) / PAGE_SIZE);
	c->free_slots = page_alloc(ALIGN_UP(sizeof(uint16_t) * c->nslots, PAGE_SIZE) / PAGE_SIZE);
	if (!sq || !cq || !c->slots || !c->free_slots)
		return give_up(c, "out of memory for the I/O queues");
	uint32_t max_bytes = MAX_TRANSFER;
	if (mdts && mdts < 32 && (NVME_PAGE << mdts) < max_bytes)
		max_bytes = (uint32_t)(NVME_PAGE << mdts);
	for (uint16_t i = 0; i < c->nslots; i++) {
		/* A PRP list only when a transfer can span more than two pages (§4.3). */
		if (max_bytes > 2 * NVME_PAGE && !(c->slots[i].prp_list = page_alloc(1)))
			return give_up(c, "out of memory for PRP lists");
		c->free_slots[c->nfree++] = (uint16_t)(c->nslots - 1 - i);
	}
	queue_init(c, &c->io, IO_QID, (uint16_t)entries, sq, cq);
	if (c->dbbuf) {
		uint32_t sq_off = nvme_db_offset(IO_QID, NVME_DB_SQ_TAIL, c->dstrd) / sizeof(uint32_t);
		uint32_t cq_off = nvme_db_offset(IO_QID, NVME_DB_CQ_HEAD, c->dstrd) / sizeof(uint32_t);
		c->io.sq_shadow = (uint32_t *)shadow + sq_off;
		c->io.cq_shadow = (uint32_t *)shadow + cq_off;
		c->io.sq_event = (uint32_t *)event + sq_off;
		c->io.cq_event = (uint32_t *)event + cq_off;
	}

	if (setup_irq(c, cfg->mode, &why))
		return give_up(c, why);
	struct nvme_sqe ccq = { .opcode = NVME_ADMIN_CREATE_CQ, .prp1 = (uint64_t)(uintptr_t)cq,
				.cdw10 = (entries - 1) << CREATE_QSIZE_SHIFT | IO_QID,
				.cdw11 = (uint32_t)IRQ_VECTOR_ENTRY << CREATE_CQ_IV_SHIFT | CREATE_CQ_PC |
					 (cfg->mode != COMPLETE_POLL ? CREATE_CQ_IEN : 0) };
	if (admin(c, &ccq, &why))
		return give_up_admin(c, "Create I/O Completion Queue", why);
	struct nvme_sqe csq = { .opcode = NVME_ADMIN_CREATE_SQ, .prp1 = (uint64_t)(uintptr_t)sq,
				.cdw10 = (entries - 1) << CREATE_QSIZE_SHIFT | IO_QID,
				.cdw11 = (uint32_t)IO_QID << CREATE_SQ_CQID_SHIFT | CREATE_SQ_PC };
	if (admin(c, &csq, &why))
		return give_up_admin(c, "Create I/O Submission Queue", why);
	/* Pin-based: routed once the admin commands are done (their completions went unheeded). */
	if (c->intx && pci_intx_route(p, c->vector))
		return give_up(c, "INTx routing failed (no interrupt line or I/O APIC)");

	c->blk = (struct blkdev){
		.model = MODEL, .transport = c->dbbuf ? "shadow-db" : "mmio-db", .mode = cfg->mode,
		.pci = p, .sectors = nsze, .sector_size = sector_size,
		.max_sectors = max_bytes / sector_size, .queue_depth = c->nslots,
		.read_only = write_protected, .can_flush = 1, .write_cache = write_cache, .dbbuf = c->dbbuf ? "1" : "0",
		.submit = nvme_submit, .poll = nvme_poll, .priv = c,
	};
	return 0;
}

int nvme_match(const struct pci_dev *p) { return p->class == PCI_CLASS_NVME; }

int nvme_init(const struct pci_dev *p, const struct blk_config *cfg)
{
	if (ctrl_count == NVME_MAX_CONTROLLERS)
		return 0; /* left alone, as any device without a driver */
	struct nvme_ctrl *c = &ctrls[ctrl_count];
	if (bring_up(c, p, cfg))
		return -1;
	ctrl_count++;
	blk_register(&c->blk);
	return 0;
}
