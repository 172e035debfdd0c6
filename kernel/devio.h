/*
 * Device-register access for drivers. Every port or MMIO access to a device is a potential VM
 * exit, so each one is counted (reads and writes apart); benchmarks report the counts per
 * operation. A counter increment is a single add to memory. Use these for device registers,
 * never plain inb/mmio_read (kernel/io.h), so the counts are complete.
 */
#ifndef KVMIO_KERNEL_DEVIO_H
#define KVMIO_KERNEL_DEVIO_H
#include <stdint.h>
#include "io.h"

struct io_counters {
	uint64_t pio_r, pio_w, mmio_r, mmio_w;
};
extern struct io_counters io_count;

static inline uint8_t dev_inb(uint16_t p) { io_count.pio_r++; return inb(p); }
static inline uint16_t dev_inw(uint16_t p) { io_count.pio_r++; return inw(p); }
static inline uint32_t dev_inl(uint16_t p) { io_count.pio_r++; return inl(p); }
static inline void dev_outb(uint16_t p, uint8_t v) { io_count.pio_w++; outb(p, v); }
static inline void dev_outw(uint16_t p, uint16_t v) { io_count.pio_w++; outw(p, v); }
static inline void dev_outl(uint16_t p, uint32_t v) { io_count.pio_w++; outl(p, v); }

/* String port input/output: one instruction, `count` accesses (each word is an exit or part of
 * one batched exit depending on the hypervisor); counted as `count` accesses. */
static inline void dev_insw(uint16_t p, void *buf, uint32_t count)
{
	io_count.pio_r += count;
	asm volatile("rep insw" : "+D"(buf), "+c"(count) : "d"(p) : "memory");
}
static inline void dev_outsw(uint16_t p, const void *buf, uint32_t count)
{
	io_count.pio_w += count;
	asm volatile("rep outsw" : "+S"(buf), "+c"(count) : "d"(p) : "memory");
}

static inline uint8_t dev_mmio_read8(uint64_t a) { io_count.mmio_r++; return mmio_read8(a); }
static inline uint16_t dev_mmio_read16(uint64_t a) { io_count.mmio_r++; return mmio_read16(a); }
static inline uint32_t dev_mmio_read32(uint64_t a) { io_count.mmio_r++; return mmio_read32(a); }
static inline void dev_mmio_write8(uint64_t a, uint8_t v) { io_count.mmio_w++; mmio_write8(a, v); }
static inline void dev_mmio_write16(uint64_t a, uint16_t v) { io_count.mmio_w++; mmio_write16(a, v); }
static inline void dev_mmio_write32(uint64_t a, uint32_t v) { io_count.mmio_w++; mmio_write32(a, v); }

#endif
