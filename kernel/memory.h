/* Identity paging and a page allocator for DMA-able memory, taken from the boot memory map. */
#ifndef KVMIO_KERNEL_MEMORY_H
#define KVMIO_KERNEL_MEMORY_H
#include <stdint.h>
#include "boot.h"

#define PAGE_SIZE 4096ull

/* Our own page tables: the first 4 GiB identity-mapped with 2 MiB pages (all boot paths). */
void paging_init(void);
/* Identity-map [base, base+len) above 4 GiB (64-bit BARs), uncached. 0 on success. */
int map_identity_uncached(uint64_t base, uint64_t len);

/* Usable RAM below 4 GiB that lies outside the kernel image. */
void page_alloc_init(const struct boot_info *bi);
/* Contiguous, zeroed, page-aligned, physical == virtual, below 4 GiB; NULL when exhausted. */
void *page_alloc(uint64_t pages);
uint64_t page_free_count(void);
uint64_t usable_ram_kib(const struct boot_info *bi);

#endif
