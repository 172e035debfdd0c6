/*
 * NVMe queue arithmetic, pure so tests/unit/test_nvme_queue.c can compile drivers/nvme_queue.c on
 * the host: doorbell offsets with the controller's stride, ring indices, the completion queue's
 * phase tag, the shadow doorbell's EventIdx test, PRP construction and the status field.
 * References: NVM Express Base Specification 1.4 (NVMe 1.4): §3.1.24 SQyTDBL and §3.1.25 CQyHDBL
 * (doorbell offsets), §4.1 (circular queues, empty and full), §4.3 (Physical Region Page entry
 * and list), §4.6 (completion queue entry: phase tag, status field, §4.6.1.1 SCT, §4.6.1.2 SC),
 * §5.10 Doorbell Buffer Config (shadow doorbell and EventIdx buffers).
 */
#ifndef KVMIO_DRIVERS_NVME_QUEUE_H
#define KVMIO_DRIVERS_NVME_QUEUE_H
#include <stdint.h>

/* §3.1.24/§3.1.25: doorbells start at 1000h, queue y's SQ tail at (2y) * (4 << CAP.DSTRD) from
 * there, its CQ head at (2y + 1) * (4 << CAP.DSTRD). */
#define NVME_REG_DOORBELL_BASE 0x1000u
#define NVME_DOORBELL_UNIT     4u   /* bytes: 4 << CAP.DSTRD is the stride */

enum nvme_db_kind { NVME_DB_SQ_TAIL = 0, NVME_DB_CQ_HEAD = 1 };

/* Byte offset of a doorbell from the start of the doorbell area (add NVME_REG_DOORBELL_BASE
 * for the register, or use as is in the shadow doorbell and EventIdx buffers, which §5.10 lays
 * out with the same stride). */
static inline uint32_t nvme_db_offset(uint16_t qid, enum nvme_db_kind kind, uint8_t dstrd)
{
	return (2u * qid + (uint32_t)kind) * (NVME_DOORBELL_UNIT << dstrd);
}

/* §4.1: the next slot of a circular queue of `size` entries. */
static inline uint16_t nvme_ring_next(uint16_t i, uint16_t size)
{
	return (uint16_t)(i + 1 == size ? 0 : i + 1);
}

/* §4.1.2: a queue is full when its tail is one slot behind its head. */
static inline int nvme_ring_full(uint16_t head, uint16_t tail, uint16_t size)
{
	return nvme_ring_next(tail, size) == head;
}

/*
 * §4.6: the completion queue as the host consumes it. The controller inverts the phase tag
 * each time it wraps; an entry is new when its phase tag (status bit 0) equals the phase the
 * host expects at head. The host starts at head 0 with phase 1 (the queue memory is zeroed).
 */
struct nvme_cq_cursor {
	uint16_t head, size;
	uint8_t phase;
};
#define NVME_CQE_STATUS_PHASE 0x0001u  /* §4.6, DW3 bit 16: status bit 0 */

static inline void nvme_cq_cursor_init(struct nvme_cq_cursor *c, uint16_t size)
{
	c->head = 0;
	c->size = size;
	c->phase = 1;
}
static inline int nvme_cqe_is_new(const struct nvme_cq_cursor *c, uint16_t status_phase)
{
	return (status_phase & NVME_CQE_STATUS_PHASE) == c->phase;
}
/* Consume the entry at head: head moves on, and the expected phase flips at the wrap. */
void nvme_cq_advance(struct nvme_cq_cursor *c);

/*
 * §5.10 (shadow doorbells): after writing `new_idx` to the shadow doorbell whose previous value
 * was `old_idx`, the host writes the MMIO doorbell only if the controller's EventIdx for that
 * queue lies in [old_idx, new_idx) modulo 2^16, i.e. the controller asked to hear about an
 * entry the update covers.
 */
static inline int nvme_dbbuf_need_mmio(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event_idx - 1) < (uint16_t)(new_idx - old_idx);
}

/*
 * §4.3: PRPs for the contiguous buffer [addr, addr + bytes) with memory page size `page`
 * (CC.MPS): PRP1 is addr (any dword-aligned offset); the rest is page-aligned pages. Two pages
 * or fewer: PRP2 is the second page (or 0). More: PRP2 points at `list`, which gets one entry
 * per page after the first (list_cap entries at most, one page of list: no chaining). `list_phys`
 * is the list's address as the controller sees it. Returns 0, or -1 (bytes 0, addr not dword
 * aligned, or the list would not fit).
 */
int nvme_prp_build(uint64_t addr, uint64_t bytes, uint64_t page, uint64_t *list, unsigned list_cap,
		   uint64_t list_phys, uint64_t *prp1, uint64_t *prp2);

/* §4.6.1: the status field (CQE DW3 bits 31:17, here shifted down so bit 0 is SC's bit 0). */
#define NVME_STATUS_SC_MASK   0xffu       /* §4.6.1.2 Status Code */
#define NVME_STATUS_SCT_SHIFT 8
#define NVME_STATUS_SCT_MASK  0x7u        /* §4.6.1.1 Status Code Type */
#define NVME_STATUS_DNR       0x4000u     /* Do Not Retry */
#define NVME_SCT_GENERIC      0x0
#define NVME_SCT_CMD_SPECIFIC 0x1
#define NVME_SCT_MEDIA        0x2
#define NVME_SCT_PATH         0x3
#define NVME_SCT_VENDOR       0x7
#define NVME_SC_INVALID_OPCODE 0x01     /* generic: Invalid Command Opcode (§4.6.1.2.1) */

/* The 15-bit status field from the CQE's status/phase halfword (DW3 bits 31:16). */
static inline uint16_t nvme_cqe_status(uint16_t status_phase) { return (uint16_t)(status_phase >> 1); }
static inline uint8_t nvme_status_sc(uint16_t status) { return (uint8_t)(status & NVME_STATUS_SC_MASK); }
static inline uint8_t nvme_status_sct(uint16_t status)
{
	return (uint8_t)((status >> NVME_STATUS_SCT_SHIFT) & NVME_STATUS_SCT_MASK);
}
/* A name for the error record: "NVMe generic error", "NVMe media error", ... */
const char *nvme_sct_name(uint8_t sct);

#endif
