/* IDENTIFY DEVICE data (ata_identify.h): the guest's IDE and AHCI drivers and host unit tests. */
#include "ata_identify.h"

void ata_id_capacity(const uint16_t id[ATA_ID_WORDS], struct ata_id_capacity *c)
{
	uint16_t cmdset2 = id[ATA_ID_CMDSET2];

	c->sectors = id[ATA_ID_LBA28_SECTORS] | (uint64_t)id[ATA_ID_LBA28_SECTORS + 1] << 16;
	c->lba48 = 0;
	c->flush_ext = 0;
	if ((cmdset2 & ATA_ID_CMDSET2_VALID_MASK) != ATA_ID_CMDSET2_VALID ||
	    !(cmdset2 & ATA_ID_CMDSET2_LBA48))
		return;
	c->lba48 = 1;
	c->flush_ext = (cmdset2 & ATA_ID_CMDSET2_FLUSH_EXT) != 0;
	uint64_t s48 = 0;
	for (int w = ATA_ID_LBA48_WORDS - 1; w >= 0; w--)
		s48 = s48 << 16 | id[ATA_ID_LBA48_SECTORS + w];
	if (s48 > c->sectors)
		c->sectors = s48;
}

int ata_id_write_cache(const uint16_t id[ATA_ID_WORDS])
{
	return (id[ATA_ID_CMDSET_ENABLED] & ATA_ID_ENABLED_WCACHE) != 0;
}
