/* What every boot path hands to kernel_main: one view of the machine. */
#ifndef KVMIO_KERNEL_BOOT_H
#define KVMIO_KERNEL_BOOT_H

#define BOOT_INFO_MAGIC 0x4f49424bu /* "KBIO" */
#define BOOT_MMAP_MAX 128
#define BOOT_CMDLINE_MAX 1024

#define BOOT_FLAG_CMDLINE_TRUNCATED (1u << 0) /* the loader's command line did not fit */

/* boot paths (struct boot_info.path); plain defines so boot/entry.S can use them */
#define BOOT_MULTIBOOT 1
#define BOOT_PVH 2
#define BOOT_UEFI 3
#define BOOT_MULTIBOOT2 4   /* the multiboot entry, reached by a multiboot2 loader (GRUB) */


#ifndef __ASSEMBLER__
#include <stdint.h>

/* E820 numbering, which multiboot and PVH use as they are; UEFI types are mapped onto it. */
enum boot_mem_type { MEM_USABLE = 1, MEM_RESERVED = 2, MEM_ACPI = 3, MEM_NVS = 4 };

struct boot_mem_range {
	uint64_t base;
	uint64_t len;
	uint32_t type;
	uint32_t pad;
};

struct boot_info {
	uint32_t magic;              /* BOOT_INFO_MAGIC */
	uint32_t path;               /* enum boot_path */
	uint64_t rsdp;               /* physical address of the ACPI RSDP, 0 if the path gave none */
	uint64_t efi_reset_system;   /* UEFI only: RuntimeServices->ResetSystem (ms_abi), else 0 */
	uint32_t mmap_count;
	uint32_t flags;              /* BOOT_FLAG_* */
	struct boot_mem_range mmap[BOOT_MMAP_MAX];
	char cmdline[BOOT_CMDLINE_MAX]; /* NUL-terminated ASCII, options only (no image name) */
};

/* Every entry path ends here, in long mode with the first 4 GiB identity-mapped. */
void kernel_main(const struct boot_info *bi) __attribute__((noreturn));

#endif /* __ASSEMBLER__ */

#endif
