/*
 * Interrupt descriptor table (Intel SDM Vol. 3A §6.14.1, 64-bit gates), exception records,
 * the local APIC (SDM Vol. 3A chapter 10/11 "APIC") and the watchdog on its one-shot timer.
 */
#include "interrupts.h"
#include "options.h" /* WAIT_TICK_HZ */
#include "acpi.h"
#include "io.h"
#include "lib.h"
#include "report.h"
#include "tsc.h"

#define SEL_CODE64          0x08
#define GATE_INTERRUPT      0x8e   /* present, DPL 0, 64-bit interrupt gate */

#define PIC1_DATA           0x21
#define PIC2_DATA           0xa1
#define PIC_MASK_ALL        0xff

#define MSR_APIC_BASE       0x1b
#define APIC_BASE_ENABLE    (1ull << 11)
#define APIC_BASE_X2APIC    (1ull << 10)
#define APIC_BASE_ADDR_MASK 0xffffff000ull
#define MSR_X2APIC_FIRST    0x800
#define APIC_ID             0x020
#define APIC_EOI            0x0b0
#define APIC_SVR            0x0f0
#define APIC_SVR_ENABLE     (1u << 8)
#define APIC_LVT_TIMER      0x320
#define APIC_LVT_MASKED     (1u << 16)
#define APIC_LVT_PERIODIC   (1u << 17)  /* SDM 3A §11.5.4.1: timer mode 01b, periodic */
#define APIC_TIMER_INITIAL  0x380
#define APIC_TIMER_CURRENT  0x390
#define APIC_TIMER_DIVIDE   0x3e0
#define APIC_DIVIDE_BY_16   0x3
#define APIC_TIMER_MAX      0xffffffffull
#define APIC_ASSUMED_HZ     (1000000000ull / 16) /* QEMU and KVM: 1 GHz bus clock, /16 */

struct idt_gate {
	uint16_t offset_low, selector;
	uint8_t ist, type_attr;
	uint16_t offset_mid;
	uint32_t offset_high, reserved;
} __attribute__((packed));

struct idt_pointer {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

extern const uint64_t isr_table[256];
static struct idt_gate idt[256] __attribute__((aligned(16)));
static irq_handler_fn irq_handlers[256];
static void *irq_args[256];
static uint64_t irq_counts[256];
#define VECTOR_DEVICE_FIRST 0x50
#define VECTOR_DEVICE_LAST 0xef
static uint8_t next_vector = VECTOR_DEVICE_FIRST;
static int drop_device_irqs; /* fault=noirq */
static uint64_t lapic_mmio;
static int lapic_x2;
static int in_exception;

static const char *const exception_names[32] = {
	"DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "CSO", "TS", "NP", "SS", "GP",
	"PF", "RES15", "MF", "AC", "MC", "XM", "VE", "CP", "RES22", "RES23", "RES24", "RES25",
	"RES26", "RES27", "HV", "VC", "SX", "RES31",
};

void idt_init(void)
{
	for (int v = 0; v < 256; v++) {
		uint64_t a = isr_table[v];
		idt[v].offset_low = (uint16_t)a;
		idt[v].selector = SEL_CODE64;
		idt[v].ist = 0;
		idt[v].type_attr = GATE_INTERRUPT;
		idt[v].offset_mid = (uint16_t)(a >> 16);
		idt[v].offset_high = (uint32_t)(a >> 32);
		idt[v].reserved = 0;
	}
	struct idt_pointer p = { sizeof(idt) - 1, (uint64_t)idt };
	asm volatile("lidt %0" : : "m"(p));
}

static void report_exception(const struct int_frame *f)
{
	if (in_exception++) /* a fault while reporting a fault: just leave */
		machine_exit(STATUS_FAIL);
	rec_begin("error");
	rec_str("code", "exception");
	rec_str("msg", "CPU exception in the guest");
	rec_u64("vector", f->vector);
	rec_str("name", exception_names[f->vector]);
	rec_hex("err", f->error);
	rec_hex("rip", f->rip);
	rec_hex("cr2", read_cr2());
	rec_hex("rsp", f->rsp);
	rec_hex("rflags", f->rflags);
	rec_hex("rax", f->rax); rec_hex("rbx", f->rbx); rec_hex("rcx", f->rcx);
	rec_hex("rdx", f->rdx); rec_hex("rsi", f->rsi); rec_hex("rdi", f->rdi);
	rec_hex("rbp", f->rbp); rec_hex("r8", f->r8); rec_hex("r9", f->r9);
	rec_hex("r10", f->r10); rec_hex("r11", f->r11); rec_hex("r12", f->r12);
	rec_hex("r13", f->r13); rec_hex("r14", f->r14); rec_hex("r15", f->r15);
	rec_end();
	report_finish(STATUS_FAIL);
}

void interrupt_dispatch(struct int_frame *f);

void interrupt_dispatch(struct int_frame *f)
{
	if (f->vector < 32)
		report_exception(f);
	if (f->vector == VECTOR_SPURIOUS)
		return; /* SDM 3A §10.9: no EOI for spurious interrupts */
	irq_counts[f->vector]++;
	if (drop_device_irqs && f->vector >= VECTOR_DEVICE_FIRST && f->vector <= VECTOR_DEVICE_LAST)
		; /* fault=noirq: acknowledged, never handed to the driver */
	else if (irq_handlers[f->vector])
		irq_handlers[f->vector](f, irq_args[f->vector]);
	lapic_eoi();
}

uint64_t irq_count(uint8_t vector) { return irq_counts[vector]; }

static enum irq_wait_how wait_how = IRQ_WAIT_SPIN;

int irq_wait(volatile uint32_t *pending, uint64_t max_cycles)
{
	uint64_t start = ts_read();
	irq_enable();
	while (!*pending) {
		if (ts_read() - start > max_cycles)
			return -1;
		if (wait_how == IRQ_WAIT_SPIN) {
			cpu_relax();
			continue;
		}
		/* SDM 2B HLT, and STI: interrupts are recognised only after the instruction that
		 * follows STI, so an interrupt arriving between the check and HLT ends the HLT
		 * instead of being taken before it (a lost wake-up). */
		irq_disable();
		if (!*pending)
			asm volatile("sti; hlt" ::: "memory");
		else
			irq_enable();
	}
	*pending = 0;
	return 0;
}

uint8_t irq_alloc_vector(void)
{
	if (next_vector > VECTOR_DEVICE_LAST)
		return 0;
	return next_vector++;
}

/* ---- I/O APIC (82093AA data sheet §3.2: IOREGSEL/IOWIN, redirection table at 0x10) ---- */

#define IOAPIC_REGSEL       0x00
#define IOAPIC_WINDOW       0x10
#define IOAPIC_REDIR_BASE   0x10
#define REDIR_ACTIVE_LOW    (1u << 13)
#define REDIR_LEVEL         (1u << 15)
#define REDIR_MASKED        (1u << 16)
#define REDIR_DEST_SHIFT    24          /* in the high dword */
#define IOAPIC_DEFAULT_BASE 0xfec00000u
#define IOAPIC_PINS         24          /* redirection entries of the 82093AA */

static void ioapic_write(uint32_t reg, uint32_t v)
{
	uint64_t base = acpi()->ioapic_base ? acpi()->ioapic_base : IOAPIC_DEFAULT_BASE;
	mmio_write32(base + IOAPIC_REGSEL, reg);
	mmio_write32(base + IOAPIC_WINDOW, v);
}

int ioapic_route(uint32_t gsi, uint8_t vector, int level, int active_low)
{
	if (!acpi()->ioapic_base && !acpi()->rsdp)
		return -1; /* no MADT to trust: no I/O APIC known */
	return ioapic_route_named(gsi, vector, level, active_low);
}

int ioapic_route_named(uint32_t gsi, uint8_t vector, int level, int active_low)
{
	uint32_t pin = gsi - acpi()->ioapic_gsi_base;
	uint32_t low = vector | (level ? REDIR_LEVEL : 0) | (active_low ? REDIR_ACTIVE_LOW : 0);

	if (gsi < acpi()->ioapic_gsi_base || pin >= IOAPIC_PINS)
		return -1;
	ioapic_write(IOAPIC_REDIR_BASE + 2 * pin + 1, lapic_id() << REDIR_DEST_SHIFT);
	ioapic_write(IOAPIC_REDIR_BASE + 2 * pin, low);
	return 0;
}

void ioapic_mask(uint32_t gsi)
{
	uint32_t pin = gsi - acpi()->ioapic_gsi_base;
	ioapic_write(IOAPIC_REDIR_BASE + 2 * pin, REDIR_MASKED);
}

void irq_register(uint8_t vector, irq_handler_fn fn, void *arg)
{
	irq_args[vector] = arg;
	irq_handlers[vector] = fn;
}

/* ---- local APIC ---- */

static uint32_t lapic_read(uint32_t reg)
{
	if (lapic_x2)
		return (uint32_t)rdmsr(MSR_X2APIC_FIRST + (reg >> 4));
	return mmio_read32(lapic_mmio + reg);
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	if (lapic_x2)
		wrmsr(MSR_X2APIC_FIRST + (reg >> 4), v);
	else
		mmio_write32(lapic_mmio + reg, v);
}

void lapic_eoi(void) { lapic_write(APIC_EOI, 0); }

uint32_t lapic_id(void)
{
	uint32_t id = lapic_read(APIC_ID);
	return lapic_x2 ? id : id >> 24;
}

void lapic_init(void)
{
	outb(PIC1_DATA, PIC_MASK_ALL);
	outb(PIC2_DATA, PIC_MASK_ALL);

	uint64_t base = rdmsr(MSR_APIC_BASE);
	if (!(base & APIC_BASE_ENABLE))
		wrmsr(MSR_APIC_BASE, base |= APIC_BASE_ENABLE);
	lapic_x2 = !!(base & APIC_BASE_X2APIC);
	lapic_mmio = base & APIC_BASE_ADDR_MASK; /* below 4 GiB on every PC machine */
	lapic_write(APIC_LVT_TIMER, APIC_LVT_MASKED);
	lapic_write(APIC_SVR, APIC_SVR_ENABLE | VECTOR_SPURIOUS);
}

/* ---- watchdog: one-shot LAPIC timer, re-armed until the deadline has passed; with
 * wait=halt a periodic tick instead (irq_wait_set) ---- */

static uint64_t timer_hz;
static const char *timer_method = "none";
static uint64_t watchdog_ticks_left;
static uint64_t watchdog_seconds;
static uint64_t tick_period;   /* 0: one-shot; else LAPIC ticks between periodic interrupts */
static uint64_t tick_count;    /* periodic interrupts taken */

/* Unmasked, one-shot (mode 0) or periodic (APIC_LVT_PERIODIC), after `ticks`. */
static void timer_arm(uint64_t ticks, uint32_t mode)
{
	lapic_write(APIC_TIMER_DIVIDE, APIC_DIVIDE_BY_16);
	lapic_write(APIC_LVT_TIMER, VECTOR_WATCHDOG | mode);
	lapic_write(APIC_TIMER_INITIAL, (uint32_t)ticks);
}

/* Count LAPIC timer ticks over ~10 ms of TSC. */
static void timer_calibrate(uint64_t tsc_hz)
{
	if (!tsc_hz) {
		timer_hz = APIC_ASSUMED_HZ;
		timer_method = "assumed-1ghz-bus";
		return;
	}
	lapic_write(APIC_TIMER_DIVIDE, APIC_DIVIDE_BY_16);
	lapic_write(APIC_LVT_TIMER, APIC_LVT_MASKED);
	lapic_write(APIC_TIMER_INITIAL, (uint32_t)APIC_TIMER_MAX);
	uint64_t t0 = ts_read(), span = tsc_hz / 100;
	while (ts_read() - t0 < span)
		cpu_relax();
	uint64_t elapsed = ts_read() - t0;
	uint64_t ticks = APIC_TIMER_MAX - lapic_read(APIC_TIMER_CURRENT);
	lapic_write(APIC_TIMER_INITIAL, 0);
	timer_hz = elapsed ? (uint64_t)((unsigned __int128)ticks * tsc_hz / elapsed) : 0;
	timer_method = "tsc";
	if (!timer_hz) {
		timer_hz = APIC_ASSUMED_HZ;
		timer_method = "assumed-1ghz-bus";
	}
}

static void watchdog_irq(struct int_frame *f, void *arg)
{
	(void)arg;
	if (tick_period) {
		tick_count++;
		if (watchdog_ticks_left >= tick_period) {
			watchdog_ticks_left -= tick_period;
			return;
		}
	} else if (watchdog_ticks_left) {
		uint64_t chunk = watchdog_ticks_left > APIC_TIMER_MAX ? APIC_TIMER_MAX : watchdog_ticks_left;
		watchdog_ticks_left -= chunk;
		timer_arm(chunk, 0);
		return;
	}
	rec_begin("timeout");
	rec_u64("after_s", watchdog_seconds);
	rec_hex("rip", f->rip);
	rec_end();
	report_finish(STATUS_TIMEOUT);
}

void watchdog_start(uint64_t seconds, uint64_t tsc_hz)
{
	timer_calibrate(tsc_hz);
	watchdog_seconds = seconds;
	irq_register(VECTOR_WATCHDOG, watchdog_irq, 0);
	uint64_t total = seconds * timer_hz;
	uint64_t chunk = total > APIC_TIMER_MAX ? APIC_TIMER_MAX : total;
	watchdog_ticks_left = total - chunk;
	timer_arm(chunk ? chunk : 1, 0);
	irq_enable();
}

uint64_t lapic_timer_hz(void) { return timer_hz; }
const char *lapic_timer_method(void) { return timer_method; }

void irq_wait_set(enum irq_wait_how how)
{
	wait_how = how;
	if (how != IRQ_WAIT_HALT || tick_period)
		return;
	/* The watchdog's one-shot count becomes a periodic tick: what is left of its current
	 * count plus the chunks still to come is the time left, counted down tick by tick. */
	irq_disable();
	uint64_t period = timer_hz / WAIT_TICK_HZ;
	watchdog_ticks_left += lapic_read(APIC_TIMER_CURRENT);
	tick_period = period ? period : 1;
	timer_arm(tick_period, APIC_LVT_PERIODIC);
	irq_enable();
}

uint64_t irq_wait_ticks(void) { return tick_count; }

void irq_drop_device_interrupts(void) { drop_device_irqs = 1; }
