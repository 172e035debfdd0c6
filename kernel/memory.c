/*
 * Paging: 4-level tables (Intel SDM Vol. 3A §4.5), 2 MiB pages for the first 4 GiB, more
 * directories allocated on demand for MMIO above it. Allocation: bump pointers over the usable
 * ranges of the boot memory map; benchmarks allocate once and never free.
 */
#include "memory.h"
#include "io.h"
#include "lib.h"

#define PTE_PRESENT   (1ull << 0)
#define PTE_WRITE     (1ull << 1)
#define PTE_PWT       (1ull << 3)
#define PTE_PCD       (1ull << 4)
#define PTE_LARGE     (1ull << 7)
#define PTE_ADDR_MASK 0x000ffffffffff000ull
#define LARGE_PAGE    (2ull << 20)
#define GIB           (1ull << 30)
#define LOW_LIMIT     (4 * GIB)
#define ALLOC_FLOOR   (1ull << 20)   /* never hand out the first MiB (BIOS data, EBDA, ROMs) */
#define MAX_FREE_RANGES 64
#define PHYS_LIMIT    (1ull << 46)

extern char _kernel_start[], _kernel_end[];

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt_low[512] __attribute__((aligned(4096)));
static uint64_t pd_low[4][512] __attribute__((aligned(4096)));

struct free_range { uint64_t next, end; };
static struct free_range free_ranges[MAX_FREE_RANGES];
static unsigned free_range_count;

void paging_init(void)
{
	pml4[0] = (uint64_t)pdpt_low | PTE_PRESENT | PTE_WRITE;
	for (uint64_t g = 0; g < 4; g++) {
		pdpt_low[g] = (uint64_t)pd_low[g] | PTE_PRESENT | PTE_WRITE;
		for (uint64_t i = 0; i < 512; i++)
			pd_low[g][i] = (g * GIB + i * LARGE_PAGE) | PTE_PRESENT | PTE_WRITE | PTE_LARGE;
	}
	write_cr3((uint64_t)pml4);
}

static uint64_t *table_next(uint64_t *entry)
{
	if (!(*entry & PTE_PRESENT)) {
		void *page = page_alloc(1);
		if (!page)
			return 0;
		*entry = (uint64_t)page | PTE_PRESENT | PTE_WRITE;
	}
	return (uint64_t *)(*entry & PTE_ADDR_MASK);
}

int map_identity_uncached(uint64_t base, uint64_t len)
{
	uint64_t end = base + len;

	if (end < base || end > PHYS_LIMIT)
		return -1;
	for (uint64_t a = ALIGN_DOWN(base, LARGE_PAGE); a < end; a += LARGE_PAGE) {
		if (a < LOW_LIMIT)
			continue;
		uint64_t *pdpt = table_next(&pml4[(a >> 39) & 511]);
		uint64_t *pd = pdpt ? table_next(&pdpt[(a >> 30) & 511]) : 0;
		if (!pd)
			return -1;
		pd[(a >> 21) & 511] = a | PTE_PRESENT | PTE_WRITE | PTE_LARGE | PTE_PCD | PTE_PWT;
	}
	write_cr3(read_cr3()); /* flush the TLB */
	return 0;
}

static void add_free_range(uint64_t start, uint64_t end)
{
	start = ALIGN_UP(start, PAGE_SIZE);
	end = ALIGN_DOWN(end, PAGE_SIZE);
	if (start >= end || free_range_count == MAX_FREE_RANGES)
		return;
	free_ranges[free_range_count].next = start;
	free_ranges[free_range_count].end = end;
	free_range_count++;
}

void page_alloc_init(const struct boot_info *bi)
{
	uint64_t kstart = (uint64_t)_kernel_start, kend = (uint64_t)_kernel_end;

	for (uint32_t i = 0; i < bi->mmap_count; i++) {
		const struct boot_mem_range *r = &bi->mmap[i];
		uint64_t start = r->base, end = r->base + r->len;
		if (r->type != MEM_USABLE)
			continue;
		if (start < ALLOC_FLOOR)
			start = ALLOC_FLOOR;
		if (end > LOW_LIMIT)
			end = LOW_LIMIT;
		if (start >= end)
			continue;
		/* Cut the kernel image out of the range. */
		if (start < kend && end > kstart) {
			add_free_range(start, kstart);
			add_free_range(kend, end);
		} else {
			add_free_range(start, end);
		}
	}
}

void *page_alloc(uint64_t pages)
{
	uint64_t bytes = pages * PAGE_SIZE;

	for (unsigned i = 0; i < free_range_count; i++) {
		struct free_range *r = &free_ranges[i];
		if (r->end - r->next >= bytes) {
			void *p = (void *)r->next;
			r->next += bytes;
			memset(p, 0, bytes);
			return p;
		}
	}
	return 0;
}

uint64_t page_free_count(void)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < free_range_count; i++)
		n += (free_ranges[i].end - free_ranges[i].next) / PAGE_SIZE;
	return n;
}

uint64_t usable_ram_kib(const struct boot_info *bi)
{
	uint64_t bytes = 0;
	for (uint32_t i = 0; i < bi->mmap_count; i++)
		if (bi->mmap[i].type == MEM_USABLE)
			bytes += bi->mmap[i].len;
	return bytes / 1024;
}
