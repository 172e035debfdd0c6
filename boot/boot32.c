/*
 * The 32-bit entry paths (multiboot v1 and 2, PVH) arrive here in long mode and translate what their
 * loader handed over into a struct boot_info. Everything is copied into kernel memory before
 * the page allocator can reuse the loader's memory.
 */
#include "kernel/boot.h"
#include "kernel/lib.h"
#include "boot/bootinfo.h"

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002
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

/* multiboot v1 and PVH: a NUL-terminated string of any length */
#define BOOT_CMDLINE_UNBOUNDED ((size_t)-1)

static struct boot_info boot_info32;
/* The multiboot2 tags hold a copy of the RSDP, not its address: keep it in kernel memory. */
static uint8_t rsdp_copy32[BOOTINFO_RSDP_COPY_LEN] __attribute__((aligned(16)));

static void from_multiboot(struct boot_info *bi, uint32_t magic, uint32_t info_addr)
{
	const struct multiboot_info *mb = (const void *)(uint64_t)info_addr;

	if (magic != MULTIBOOT_BOOTLOADER_MAGIC)
		return;
	if (mb->flags & MB_INFO_CMDLINE)
		bootinfo_copy_cmdline(bi, (const char *)(uint64_t)mb->cmdline, BOOT_CMDLINE_UNBOUNDED, 1);
	if (mb->flags & MB_INFO_MMAP) {
		uint64_t p = mb->mmap_addr, end = p + mb->mmap_length;
		while (p < end) {
			const struct multiboot_mmap_entry *e = (const void *)p;
			bootinfo_add_range(bi, e->addr, e->len, e->type);
			p += e->size + sizeof(e->size);
		}
	}
}

static void from_pvh(struct boot_info *bi, uint32_t start_info_addr)
{
	const struct hvm_start_info *si = (const void *)(uint64_t)start_info_addr;

	if (si->magic != PVH_START_MAGIC)
		return;
	if (si->cmdline_paddr)
		bootinfo_copy_cmdline(bi, (const char *)si->cmdline_paddr, BOOT_CMDLINE_UNBOUNDED, 0);
	bi->rsdp = si->rsdp_paddr;
	if (si->version >= 1 && si->memmap_paddr) {
		const struct hvm_memmap_entry *e = (const void *)si->memmap_paddr;
		for (uint32_t i = 0; i < si->memmap_entries; i++)
			bootinfo_add_range(bi, e[i].addr, e[i].size, e[i].type);
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
		bootinfo_from_multiboot2(bi, (const void *)(uint64_t)arg, rsdp_copy32);
	} else if (path == BOOT_MULTIBOOT)
		from_multiboot(bi, magic, arg);
	else
		from_pvh(bi, arg);
	kernel_main(bi);
}
