/* Filling struct boot_info from a loader's data (bootinfo.h). */
#include "bootinfo.h"

/*
 * Multiboot2 1.0 §3.4 "Boot information format": a u32 total_size, a u32 reserved, then tags
 * (each u32 type, u32 size, padded to 8 bytes) up to an end tag of type 0.
 */
#define MB2_INFO_HEADER_LEN   8
#define MB2_TAG_ALIGN         8
#define MB2_TAG_END           0
#define MB2_TAG_CMDLINE       1   /* §3.4.6 Boot command line: NUL-terminated string */
#define MB2_TAG_MMAP          6   /* §3.4.8 Memory map */
#define MB2_TAG_ACPI_OLD      14  /* §3.4.16 ACPI old RSDP: a copy of the RSDPv1 */
#define MB2_TAG_ACPI_NEW      15  /* §3.4.17 ACPI new RSDP: a copy of the RSDPv2 */

struct mb2_tag {
	uint32_t type, size;
};

struct mb2_tag_mmap {
	uint32_t type, size;
	uint32_t entry_size, entry_version;
	/* entries of entry_size bytes follow, each starting like struct mb2_mmap_entry */
};

struct mb2_mmap_entry {
	uint64_t base_addr, length;
	uint32_t type;   /* E820 numbering: 1 RAM, 3 ACPI reclaimable, 4 NVS, 5 bad (§3.4.8) */
	uint32_t reserved;
};

void bootinfo_add_range(struct boot_info *bi, uint64_t base, uint64_t len, uint32_t type)
{
	if (bi->mmap_count < BOOT_MMAP_MAX && len) {
		bi->mmap[bi->mmap_count].base = base;
		bi->mmap[bi->mmap_count].len = len;
		bi->mmap[bi->mmap_count].type = type;
		bi->mmap_count++;
	}
}

void bootinfo_copy_cmdline(struct boot_info *bi, const char *src, size_t max, int skip_first_word)
{
	const char *end;
	size_t n = 0;

	if (!src)
		return;
	end = src;
	while ((size_t)(end - src) < max && *end)
		end++;
	if (skip_first_word) {
		while (src < end && *src != ' ')
			src++;
	}
	while (src < end && *src == ' ')
		src++;
	for (; src + n < end; n++) {
		if (n == BOOT_CMDLINE_MAX - 1) {
			bi->flags |= BOOT_FLAG_CMDLINE_TRUNCATED; /* kernel_main refuses it */
			break;
		}
		bi->cmdline[n] = src[n];
	}
	bi->cmdline[n] = 0;
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void bootinfo_from_multiboot2(struct boot_info *bi, const void *info, uint8_t *rsdp_copy)
{
	const uint8_t *p = info;
	uint32_t total = rd32(p), off = MB2_INFO_HEADER_LEN;
	int have_new_rsdp = 0;

	while (off + sizeof(struct mb2_tag) <= total) {
		const struct mb2_tag *t = (const void *)(p + off);
		uint32_t body;

		if (t->type == MB2_TAG_END || t->size < sizeof(*t) || t->size > total - off)
			break;
		body = t->size - (uint32_t)sizeof(*t);
		if (t->type == MB2_TAG_CMDLINE) {
			/* GRUB's multiboot2 passes the options alone (its multiboot v1 does not) */
			bootinfo_copy_cmdline(bi, (const char *)(t + 1), body, 0);
		} else if (t->type == MB2_TAG_MMAP && t->size >= sizeof(struct mb2_tag_mmap)) {
			const struct mb2_tag_mmap *m = (const void *)t;
			uint32_t e = sizeof(*m);

			while (m->entry_size >= sizeof(struct mb2_mmap_entry) &&
			       m->entry_size <= t->size - e) {
				const struct mb2_mmap_entry *r = (const void *)((const uint8_t *)m + e);

				bootinfo_add_range(bi, r->base_addr, r->length, r->type);
				e += m->entry_size;
			}
		} else if ((t->type == MB2_TAG_ACPI_NEW ||
			    (t->type == MB2_TAG_ACPI_OLD && !have_new_rsdp)) && body) {
			const uint8_t *s = (const uint8_t *)(t + 1);
			uint32_t n = body < BOOTINFO_RSDP_COPY_LEN ? body : BOOTINFO_RSDP_COPY_LEN;

			for (uint32_t i = 0; i < BOOTINFO_RSDP_COPY_LEN; i++)
				rsdp_copy[i] = i < n ? s[i] : 0;
			bi->rsdp = (uint64_t)(uintptr_t)rsdp_copy;
			have_new_rsdp |= t->type == MB2_TAG_ACPI_NEW;
		}
		off += (t->size + MB2_TAG_ALIGN - 1) & ~(uint32_t)(MB2_TAG_ALIGN - 1);
	}
}
