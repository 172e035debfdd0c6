/* Bus-master IDE PRD tables (ata_prd.h): the guest's IDE driver and host unit tests. */
#include "ata_prd.h"

int ata_prd_build(struct ata_prd *table, unsigned max, uint64_t addr, uint64_t bytes)
{
	unsigned i = 0;

	if (bytes == 0 || addr >= ATA_PRD_ADDR_LIMIT || bytes > ATA_PRD_ADDR_LIMIT - addr)
		return -1;
	while (bytes) {
		uint64_t chunk = ATA_PRD_BOUNDARY - (addr & (ATA_PRD_BOUNDARY - 1));
		if (chunk > bytes)
			chunk = bytes;
		if (i == max)
			return -1;
		table[i].base = (uint32_t)addr;
		table[i].bytes = (uint16_t)chunk; /* 64 KiB wraps to 0, as the format wants */
		table[i].flags = 0;
		addr += chunk;
		bytes -= chunk;
		i++;
	}
	table[i - 1].flags = ATA_PRD_EOT;
	return (int)i;
}
