/*
 * The physical region descriptor table of a bus-master IDE transfer ("Programming Interface
 * for Bus Master IDE Controller" rev 1.0, the physical region descriptor table). Pure: the
 * guest's drivers/ata.c fills its table with it, and tests/unit/test_ata_prd.c compiles
 * drivers/ata_prd.c on the host.
 */
#ifndef KVMIO_DRIVERS_ATA_PRD_H
#define KVMIO_DRIVERS_ATA_PRD_H
#include <stdint.h>

/* One region: physical base address and byte count (0 means 64 KiB); EOT marks the last
 * entry. A region must not cross a 64 KiB boundary. */
struct ata_prd {
	uint32_t base;
	uint16_t bytes;
	uint16_t flags;
};
#define ATA_PRD_EOT        0x8000
#define ATA_PRD_BOUNDARY   0x10000ull       /* 64 KiB */
#define ATA_PRD_ADDR_LIMIT 0x100000000ull   /* bases are 32 bits */

/* Describe the contiguous buffer [addr, addr + bytes) in table (room for max entries): one
 * region per piece between 64 KiB boundaries, EOT on the last. Returns the entries used, or
 * -1 when bytes is 0, the buffer reaches past 4 GiB or the regions do not fit. */
int ata_prd_build(struct ata_prd *table, unsigned max, uint64_t addr, uint64_t bytes);

#endif
