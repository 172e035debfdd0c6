/* NVMe queue arithmetic (nvme_queue.h): pure, compiled into the guest and into a host test. */
#include "nvme_queue.h"

void nvme_cq_advance(struct nvme_cq_cursor *c)
{
	c->head = nvme_ring_next(c->head, c->size);
	if (c->head == 0)
		c->phase ^= 1;
}

int nvme_prp_build(uint64_t addr, uint64_t bytes, uint64_t page, uint64_t *list, unsigned list_cap,
		   uint64_t list_phys, uint64_t *prp1, uint64_t *prp2)
{
	if (!bytes || (addr & 3) || !page || (page & (page - 1)))
		return -1;
	uint64_t first_end = (addr & ~(page - 1)) + page; /* end of PRP1's page */
	*prp1 = addr;
	*prp2 = 0;
	if (addr + bytes <= first_end)
		return 0;
	uint64_t rest = addr + bytes - first_end;
	uint64_t pages = (rest + page - 1) / page;
	if (pages == 1) {
		*prp2 = first_end;
		return 0;
	}
	if (pages > list_cap)
		return -1;
	for (uint64_t i = 0; i < pages; i++)
		list[i] = first_end + i * page;
	*prp2 = list_phys;
	return 0;
}

const char *nvme_sct_name(uint8_t sct)
{
	switch (sct) {
	case NVME_SCT_GENERIC: return "NVMe generic command error";
	case NVME_SCT_CMD_SPECIFIC: return "NVMe command specific error";
	case NVME_SCT_MEDIA: return "NVMe media or data integrity error";
	case NVME_SCT_PATH: return "NVMe path related error";
	case NVME_SCT_VENDOR: return "NVMe vendor specific error";
	default: return "NVMe error (reserved status code type)";
	}
}
