/* IDT, exception records, the local APIC and the guest watchdog. */
#ifndef KVMIO_KERNEL_INTERRUPTS_H
#define KVMIO_KERNEL_INTERRUPTS_H
#include <stdint.h>

struct int_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

#define VECTOR_WATCHDOG 0x40
#define VECTOR_SPURIOUS 0xff

typedef void (*irq_handler_fn)(struct int_frame *f, void *arg);

void idt_init(void);
/* Mask the legacy 8259 PICs and enable the local APIC (xAPIC or x2APIC as firmware left it). */
void lapic_init(void);
void lapic_eoi(void);
uint32_t lapic_id(void);
/* Route a vector to a handler (device interrupts, later issues). */
void irq_register(uint8_t vector, irq_handler_fn fn, void *arg);
/* A free vector for a device interrupt (0x50..0xef), 0 when none is left. */
uint8_t irq_alloc_vector(void);
/* Program I/O APIC pin `gsi` to deliver `vector` to this CPU. 0 on success, -1 if no IOAPIC. */
int ioapic_route(uint32_t gsi, uint8_t vector, int level, int active_low);
/* The same for a GSI the platform named itself (virtio_mmio.device=...:GSI from microvm
 * without ACPI): the MADT's I/O APIC, else the one at the default 0xfec00000. -1 if the GSI is
 * not one of its 24 pins. */
int ioapic_route_named(uint32_t gsi, uint8_t vector, int level, int active_low);
void ioapic_mask(uint32_t gsi);
/* Wait with interrupts enabled until a handler sets *pending (then clear it); -1 after
 * max_cycles of TSC. Used by drivers in irq modes, in the way irq_wait_set chose. */
int irq_wait(volatile uint32_t *pending, uint64_t max_cycles);
/* How irq_wait waits (option wait=): SPIN, a PAUSE loop (the vCPU never sleeps: no vCPU wake-up
 * in the figures, but the vCPU thread never yields its host CPU), or HALT, HLT until an
 * interrupt as an OS idles (the vCPU thread sleeps and the interrupt wakes it). HALT turns the
 * watchdog's timer into a WAIT_TICK_HZ tick (options.h), so every halted wait wakes to check its
 * deadline and stays bounded; the tick's interrupts are counted (irq_wait_ticks). */
enum irq_wait_how { IRQ_WAIT_SPIN, IRQ_WAIT_HALT };
void irq_wait_set(enum irq_wait_how how);
uint64_t irq_wait_ticks(void);
/* Test aid (fault=noirq): device interrupts are acknowledged and dropped, never handed to their
 * driver, so every irq-mode wait must end at its own deadline. */
void irq_drop_device_interrupts(void);
/* Interrupts delivered to a vector since boot. */
uint64_t irq_count(uint8_t vector);

/* Arm the watchdog: after `seconds` a timeout record is written and the guest exits. */
void watchdog_start(uint64_t seconds, uint64_t tsc_hz);
uint64_t lapic_timer_hz(void);
const char *lapic_timer_method(void);

#endif
