/*
 * The 32-bit entry paths (multiboot v1 and 2, PVH) arrive here in long mode and translate what their
 * loader handed over into a struct boot_info. Everything is copied into kernel memory before
 * the page allocator can reuse the loader's memory.
 */
#include "kernel/boot.h"
#include "kernel/lib.h"

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002
#define MULTIBOOT2_BOOTLOADER_MAGIC 0x36d76289 /* Multiboot2 1.0 §3.3: EAX on entry */
#define MB_INFO_CMDLINE  (1u << 2)   /* Multiboot 0.6.96 §3.3: cmdline valid */
#define MB_INFO_MMAP     (1u << 6)   /* mmap_addr/mmap_length valid */

struct multiboot_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
} __attribute__((packed));

struct multiboot_mmap_entry {
	uint32_t size;   /* size of the rest of this entry */
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

#define PVH_START_MAGIC 0x336ec578   /* xen/include/public/arch-x86/hvm/start_info.h */

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr;
	uint64_t memmap_paddr;       /* version >= 1 */
	uint32_t memmap_entries, reserved;
};

struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

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
#define ACPI_RSDP_V2_LEN      36  /* ACPI 6.4 §5.2.5.3 Table 5.3: Length of the 2.0+ RSDP */

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

static struct boot_info boot_info32;
/* The multiboot2 tags hold a copy of the RSDP, not its address: keep it in kernel memory. */
static uint8_t rsdp_copy32[ACPI_RSDP_V2_LEN] __attribute__((aligned(16)));

static void add_range(struct boot_info *bi, uint64_t base, uint64_t len, uint32_t type)
{
	if (bi->mmap_count < BOOT_MMAP_MAX && len) {
		bi->mmap[bi->mmap_count].base = base;
		bi->mmap[bi->mmap_count].len = len;
		bi->mmap[bi->mmap_count].type = type;
		bi->mmap_count++;
	}
}

/* Copy a command line; with skip_first_word drop the leading image name (multiboot loaders
 * pass "kernel-path options", as GRUB and QEMU do). */
static void copy_cmdline(struct boot_info *bi, const char *src, int skip_first_word)
{
	if (!src)
		return;
	if (skip_first_word) {
		while (*src && *src != ' ')
			src++;
	}
	while (*src == ' ')
		src++;
	size_t n = strlen(src);
	if (n >= BOOT_CMDLINE_MAX) {
		n = BOOT_CMDLINE_MAX - 1;
		bi->flags |= BOOT_FLAG_CMDLINE_TRUNCATED; /* kernel_main refuses it */
	}
	memcpy(bi->cmdline, src, n);
	bi->cmdline[n] = 0;
}

static void from_multiboot(struct boot_info *bi, uint32_t magic, uint32_t info_addr)
{
	const struct multiboot_info *mb = (const void *)(uint64_t)info_addr;

	if (magic != MULTIBOOT_BOOTLOADER_MAGIC)
		return;
	if (mb->flags & MB_INFO_CMDLINE)
		copy_cmdline(bi, (const char *)(uint64_t)mb->cmdline, 1);
	if (mb->flags & MB_INFO_MMAP) {
		uint64_t p = mb->mmap_addr, end = p + mb->mmap_length;
		while (p < end) {
			const struct multiboot_mmap_entry *e = (const void *)p;
			add_range(bi, e->addr, e->len, e->type);
			p += e->size + sizeof(e->size);
		}
	}
}

static void from_multiboot2(struct boot_info *bi, uint32_t info_addr)
{
	const uint8_t *p = (const uint8_t *)(uint64_t)info_addr;
	uint32_t total = *(const uint32_t *)p;
	uint32_t off = MB2_INFO_HEADER_LEN;
	int have_new_rsdp = 0;

	while (off + sizeof(struct mb2_tag) <= total) {
		const struct mb2_tag *t = (const void *)(p + off);
		uint32_t body = t->size - (uint32_t)sizeof(*t);

		if (t->type == MB2_TAG_END || t->size < sizeof(*t))
			break;
		if (t->type == MB2_TAG_CMDLINE) {
			/* GRUB's multiboot2 passes the options alone (its multiboot v1 does not) */
			copy_cmdline(bi, (const char *)(t + 1), 0);
		} else if (t->type == MB2_TAG_MMAP && t->size >= sizeof(struct mb2_tag_mmap)) {
			const struct mb2_tag_mmap *m = (const void *)t;
			uint32_t e = sizeof(*m);

			while (m->entry_size >= sizeof(struct mb2_mmap_entry) &&
			       e + m->entry_size <= t->size) {
				const struct mb2_mmap_entry *r = (const void *)((const uint8_t *)m + e);
				add_range(bi, r->base_addr, r->length, r->type);
				e += m->entry_size;
			}
		} else if ((t->type == MB2_TAG_ACPI_NEW ||
			    (t->type == MB2_TAG_ACPI_OLD && !have_new_rsdp)) && body) {
			memcpy(rsdp_copy32, t + 1, body < sizeof(rsdp_copy32) ? body : sizeof(rsdp_copy32));
			bi->rsdp = (uint64_t)rsdp_copy32;
			have_new_rsdp |= t->type == MB2_TAG_ACPI_NEW;
		}
		off += (t->size + MB2_TAG_ALIGN - 1) & ~(uint32_t)(MB2_TAG_ALIGN - 1);
	}
}

static void from_pvh(struct boot_info *bi, uint32_t start_info_addr)
{
	const struct hvm_start_info *si = (const void *)(uint64_t)start_info_addr;

	if (si->magic != PVH_START_MAGIC)
		return;
	if (si->cmdline_paddr)
		copy_cmdline(bi, (const char *)si->cmdline_paddr, 0);
	bi->rsdp = si->rsdp_paddr;
	if (si->version >= 1 && si->memmap_paddr) {
		const struct hvm_memmap_entry *e = (const void *)si->memmap_paddr;
		for (uint32_t i = 0; i < si->memmap_entries; i++)
			add_range(bi, e[i].addr, e[i].size, e[i].type);
	}
}

void boot_from_32(uint32_t path, uint32_t magic, uint32_t arg);

void boot_from_32(uint32_t path, uint32_t magic, uint32_t arg)
{
	struct boot_info *bi = &boot_info32;

	bi->magic = BOOT_INFO_MAGIC;
	bi->path = path;
	if (path == BOOT_MULTIBOOT && magic == MULTIBOOT2_BOOTLOADER_MAGIC) {
		bi->path = BOOT_MULTIBOOT2;
		from_multiboot2(bi, arg);
	} else if (path == BOOT_MULTIBOOT)
		from_multiboot(bi, magic, arg);
	else
		from_pvh(bi, arg);
	kernel_main(bi);
}
