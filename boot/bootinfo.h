/*
 * Filling a struct boot_info from what a loader handed over: pure code (no device access, no
 * globals, no records), shared by the 32-bit entry paths (boot/boot32.c) and unit-tested on the
 * host (tests/unit/test_bootinfo.c).
 */
#ifndef KVMIO_BOOT_BOOTINFO_H
#define KVMIO_BOOT_BOOTINFO_H
#include <stddef.h>
#include <stdint.h>
#include "../kernel/boot.h"

#define MULTIBOOT2_BOOTLOADER_MAGIC 0x36d76289 /* Multiboot2 1.0 §3.3: EAX on entry */
#define BOOTINFO_RSDP_COPY_LEN 36   /* ACPI 6.4 §5.2.5.3 Table 5.3: Length of the 2.0+ RSDP */

/* Append one memory range (dropped when the map is full or len is 0). */
void bootinfo_add_range(struct boot_info *bi, uint64_t base, uint64_t len, uint32_t type);

/*
 * Copy a command line of at most max bytes (it ends at its NUL or there); with
 * skip_first_word drop the leading image name (multiboot v1 loaders pass "kernel-path
 * options", as GRUB and QEMU do). Too long for bi->cmdline: cut, and BOOT_FLAG_CMDLINE_TRUNCATED.
 */
void bootinfo_copy_cmdline(struct boot_info *bi, const char *src, size_t max, int skip_first_word);

/*
 * The multiboot2 information at info (Multiboot2 1.0 §3.4): command line, memory map, and the
 * ACPI RSDP, whose tags hold a copy of it, not its address: the copy goes to
 * rsdp_copy[BOOTINFO_RSDP_COPY_LEN] (kernel memory) and bi->rsdp points there; the 2.0+ RSDP
 * (§3.4.17) wins over the 1.0 one (§3.4.16). Tags that do not fit in total_size are not read.
 */
void bootinfo_from_multiboot2(struct boot_info *bi, const void *info, uint8_t *rsdp_copy);

#endif
