/*
 * PCI Local Bus Specification 3.0: configuration mechanism #1 (CF8/CFC, §3.2.2.3.2), header
 * type 0/1 (§6.1), BAR sizing (§6.2.5.1), capability list (§6.7); ECAM: PCI Express Base 4.0
 * §7.2.2 (bus << 20 | device << 15 | function << 12 | offset).
 */
#include "pci.h"
#include "io.h"
#include "lib.h"
#include "memory.h"
#include "report.h"
#include "acpi.h"
#include "interrupts.h"

#define PCI_CONFIG_ADDRESS   0xcf8
#define PCI_CONFIG_DATA      0xcfc
#define PCI_CONFIG_ENABLE    0x80000000u

#define PCI_VENDOR_ID        0x00
#define PCI_DEVICE_ID        0x02
#define PCI_COMMAND          0x04
#define PCI_STATUS           0x06
#define PCI_REVISION         0x08
#define PCI_CLASS_PROG       0x09
#define PCI_HEADER_TYPE      0x0e
#define PCI_BAR0             0x10
#define PCI_SECONDARY_BUS    0x19
#define PCI_CAP_PTR          0x34
#define PCI_INTERRUPT_LINE   0x3c
#define PCI_INTERRUPT_PIN    0x3d
#define PCI_CMD_IO           (1u << 0)
#define PCI_CMD_MEMORY       (1u << 1)
#define PCI_CMD_MASTER       (1u << 2)
#define PCI_STATUS_CAP_LIST  (1u << 4)
#define PCI_HEADER_MULTIFN   0x80
#define PCI_HEADER_MASK      0x7f
#define PCI_HEADER_BRIDGE    0x01
#define PCI_BAR_IO           0x1u
#define PCI_BAR_MEM_TYPE     0x6u
#define PCI_BAR_MEM_64       0x4u
#define PCI_BAR_PREFETCH     0x8u
#define PCI_BAR_IO_MASK      0xfffffffcu
#define PCI_BAR_MEM_MASK     0xfffffff0u
#define PCI_CAP_LIMIT        48      /* guards against looping capability lists */
#define PCI_CMD_INTX_DISABLE (1u << 10)
#define MSIX_CTRL            2       /* message control, from the capability */
#define MSIX_CTRL_SIZE_MASK  0x7ffu
#define MSIX_CTRL_MASKALL    (1u << 14)
#define MSIX_CTRL_ENABLE     (1u << 15)
#define MSIX_TABLE           4       /* table offset | BIR */
#define MSIX_BIR_MASK        0x7u
#define MSIX_ENTRY_SIZE      16
#define MSIX_ENTRY_ADDR_LO   0
#define MSIX_ENTRY_ADDR_HI   4
#define MSIX_ENTRY_DATA      8
#define MSIX_ENTRY_CTRL      12
#define MSIX_ENTRY_MASKED    1u
#define MSI_CTRL             2
#define MSI_CTRL_ENABLE      (1u << 0)
#define MSI_CTRL_64BIT       (1u << 7)
#define MSI_ADDR_LO          4
#define MSI_ADDR_HI          8
#define MSI_DATA_32          8
#define MSI_DATA_64          12
#define MSI_ADDRESS_BASE     0xfee00000u  /* Intel SDM 3A §11.11.1: dest APIC ID at bits 19:12 */
#define MSI_DEST_SHIFT       12

static uint64_t ecam;
static uint8_t ecam_bus_start, ecam_bus_end;
static struct pci_dev devices[PCI_MAX_DEVICES];
static unsigned device_count;
static int scan_overflow;

void pci_init(uint64_t ecam_base, uint8_t bus_start, uint8_t bus_end)
{
	ecam = ecam_base;
	ecam_bus_start = bus_start;
	ecam_bus_end = bus_end;
	if (ecam && ecam >= (4ull << 30))
		map_identity_uncached(ecam, ((uint64_t)bus_end + 1) << 20);
}

const char *pci_access_method(void) { return ecam ? "ecam" : "cf8"; }

static uint64_t ecam_addr(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
	return ecam + ((uint64_t)bus << 20 | (uint64_t)dev << 15 | (uint64_t)fn << 12 | off);
}

static int use_ecam(uint8_t bus) { return ecam && bus >= ecam_bus_start && bus <= ecam_bus_end; }

static uint32_t cf8_address(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
	return PCI_CONFIG_ENABLE | (uint32_t)bus << 16 | (uint32_t)dev << 11 | (uint32_t)fn << 8 | (off & 0xfc);
}

static uint32_t cfg_read32(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
	if (use_ecam(bus))
		return mmio_read32(ecam_addr(bus, dev, fn, off));
	outl(PCI_CONFIG_ADDRESS, cf8_address(bus, dev, fn, off));
	return inl(PCI_CONFIG_DATA);
}

static void cfg_write32(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint32_t v)
{
	if (use_ecam(bus)) {
		mmio_write32(ecam_addr(bus, dev, fn, off), v);
		return;
	}
	outl(PCI_CONFIG_ADDRESS, cf8_address(bus, dev, fn, off));
	outl(PCI_CONFIG_DATA, v);
}

uint32_t pci_read32(const struct pci_dev *d, uint16_t off) { return cfg_read32(d->bus, d->dev, d->fn, off); }
uint16_t pci_read16(const struct pci_dev *d, uint16_t off)
{
	return (uint16_t)(pci_read32(d, off & ~3) >> ((off & 2) * 8));
}
uint8_t pci_read8(const struct pci_dev *d, uint16_t off)
{
	return (uint8_t)(pci_read32(d, off & ~3) >> ((off & 3) * 8));
}
void pci_write32(const struct pci_dev *d, uint16_t off, uint32_t v) { cfg_write32(d->bus, d->dev, d->fn, off, v); }

/* Narrow writes as read-modify-write of the dword. Do not use on registers with
 * write-1-to-clear bits next to the target (e.g. STATUS next to COMMAND): callers write
 * COMMAND with pci_write32 semantics that leave STATUS's W1C bits at zero. */
void pci_write16(const struct pci_dev *d, uint16_t off, uint16_t v)
{
	uint32_t shift = (off & 2) * 8, old = pci_read32(d, off & ~3);
	pci_write32(d, off & ~3, (old & ~(0xffffu << shift)) | (uint32_t)v << shift);
}
void pci_write8(const struct pci_dev *d, uint16_t off, uint8_t v)
{
	uint32_t shift = (off & 3) * 8, old = pci_read32(d, off & ~3);
	pci_write32(d, off & ~3, (old & ~(0xffu << shift)) | (uint32_t)v << shift);
}

static void set_command(const struct pci_dev *d, uint16_t cmd)
{
	/* Dword write with STATUS = 0: its bits are read-only or write-1-to-clear. */
	pci_write32(d, PCI_COMMAND, cmd);
}

/* Size every BAR with decoding switched off, then restore it (PCI 3.0 §6.2.5.1). */
static void size_bars(struct pci_dev *d)
{
	int nbars = (d->hdr == PCI_HEADER_BRIDGE) ? 2 : 6;
	uint16_t cmd = pci_read16(d, PCI_COMMAND);

	set_command(d, cmd & ~(PCI_CMD_IO | PCI_CMD_MEMORY));
	for (int i = 0; i < nbars; i++) {
		uint16_t off = PCI_BAR0 + i * 4;
		uint32_t orig = pci_read32(d, off);
		pci_write32(d, off, 0xffffffffu);
		uint32_t probe = pci_read32(d, off);
		pci_write32(d, off, orig);
		struct pci_bar *b = &d->bar[i];
		if (orig & PCI_BAR_IO) {
			uint32_t mask = probe & PCI_BAR_IO_MASK & 0xffff;
			if (!mask)
				continue;
			b->type = BAR_IO;
			b->addr = orig & PCI_BAR_IO_MASK;
			b->size = (~mask & 0xffff) + 1;
			continue;
		}
		uint64_t addr = orig & PCI_BAR_MEM_MASK;
		uint64_t mask = probe & PCI_BAR_MEM_MASK;
		b->prefetch = !!(orig & PCI_BAR_PREFETCH);
		if ((orig & PCI_BAR_MEM_TYPE) == PCI_BAR_MEM_64 && i + 1 < nbars) {
			uint16_t hi_off = off + 4;
			uint32_t orig_hi = pci_read32(d, hi_off);
			pci_write32(d, hi_off, 0xffffffffu);
			uint32_t probe_hi = pci_read32(d, hi_off);
			pci_write32(d, hi_off, orig_hi);
			addr |= (uint64_t)orig_hi << 32;
			mask |= (uint64_t)probe_hi << 32;
			if (mask) {
				b->type = BAR_MEM64;
				b->addr = addr;
				b->size = ~mask + 1;
			}
			i++; /* the upper half is not a BAR of its own */
			continue;
		}
		if (!mask)
			continue;
		b->type = BAR_MEM32;
		b->addr = addr;
		b->size = (uint64_t)(~(uint32_t)mask) + 1;
	}
	set_command(d, cmd);
}

static void scan_bus(uint8_t bus, int depth);

static void scan_function(uint8_t bus, uint8_t dev, uint8_t fn, int depth)
{
	uint32_t id = cfg_read32(bus, dev, fn, PCI_VENDOR_ID);
	if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0)
		return;
	if (device_count == PCI_MAX_DEVICES) {
		scan_overflow = 1;
		return;
	}
	struct pci_dev *d = &devices[device_count++];
	memset(d, 0, sizeof(*d));
	d->bus = bus, d->dev = dev, d->fn = fn;
	d->vendor = (uint16_t)id;
	d->device = (uint16_t)(id >> 16);
	uint32_t class_rev = pci_read32(d, PCI_REVISION);
	d->rev = (uint8_t)class_rev;
	d->class = class_rev >> 8;
	d->hdr = pci_read8(d, PCI_HEADER_TYPE) & PCI_HEADER_MASK;
	d->irq_line = pci_read8(d, PCI_INTERRUPT_LINE);
	d->irq_pin = pci_read8(d, PCI_INTERRUPT_PIN);
	if (d->hdr <= PCI_HEADER_BRIDGE)
		size_bars(d);
	if (d->hdr == PCI_HEADER_BRIDGE) {
		uint8_t secondary = pci_read8(d, PCI_SECONDARY_BUS);
		if (secondary > bus && depth < 32)
			scan_bus(secondary, depth + 1);
	}
}

static void scan_bus(uint8_t bus, int depth)
{
	for (uint8_t dev = 0; dev < 32; dev++) {
		uint32_t id = cfg_read32(bus, dev, 0, PCI_VENDOR_ID);
		if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0)
			continue;
		int multifunction = cfg_read32(bus, dev, 0, PCI_HEADER_TYPE & ~3) >> 16 & PCI_HEADER_MULTIFN;
		for (uint8_t fn = 0; fn < (multifunction ? 8 : 1); fn++)
			scan_function(bus, dev, fn, depth);
	}
}

void pci_scan(void)
{
	device_count = 0;
	scan_bus(0, 0);
}

unsigned pci_count(void) { return device_count; }
struct pci_dev *pci_get(unsigned i) { return i < device_count ? &devices[i] : 0; }

struct pci_dev *pci_find_id(uint16_t vendor, uint16_t device)
{
	for (unsigned i = 0; i < device_count; i++)
		if (devices[i].vendor == vendor && devices[i].device == device)
			return &devices[i];
	return 0;
}

struct pci_dev *pci_find_bdf(uint8_t bus, uint8_t dev, uint8_t fn)
{
	for (unsigned i = 0; i < device_count; i++)
		if (devices[i].bus == bus && devices[i].dev == dev && devices[i].fn == fn)
			return &devices[i];
	return 0;
}

uint8_t pci_find_cap(const struct pci_dev *d, uint8_t id)
{
	if (!(pci_read16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST))
		return 0;
	uint8_t off = pci_read8(d, PCI_CAP_PTR) & 0xfc;
	for (int n = 0; off && n < PCI_CAP_LIMIT; n++) {
		if (pci_read8(d, off) == id)
			return off;
		off = pci_read8(d, off + 1) & 0xfc;
	}
	return 0;
}

void pci_enable(const struct pci_dev *d, int bus_master)
{
	uint16_t cmd = pci_read16(d, PCI_COMMAND) | PCI_CMD_IO | PCI_CMD_MEMORY;
	if (bus_master)
		cmd |= PCI_CMD_MASTER;
	set_command(d, cmd);
}

uint64_t pci_bar_address(const struct pci_dev *d, int bar)
{
	const struct pci_bar *b = &d->bar[bar];
	if (b->type == BAR_NONE || !b->addr)
		return 0;
	if (b->type != BAR_IO && b->addr + b->size > (4ull << 30) &&
	    map_identity_uncached(b->addr, b->size))
		return 0;
	return b->addr;
}

static void report_caps(const struct pci_dev *d)
{
	rec_field("caps");
	int n = 0;
	if (pci_read16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST) {
		uint8_t off = pci_read8(d, PCI_CAP_PTR) & 0xfc;
		for (int k = 0; off && k < PCI_CAP_LIMIT; k++) {
			if (n++)
				rec_put_char(',');
			rec_put_hex(pci_read8(d, off), 2);
			off = pci_read8(d, off + 1) & 0xfc;
		}
	}
	if (!n)
		rec_put_char('-');
}

void pci_report(void)
{
	static const char *const type_names[] = { "", "io", "mem32", "mem64" };
	static const char bar_keys[6][5] = { "bar0", "bar1", "bar2", "bar3", "bar4", "bar5" };

	for (unsigned i = 0; i < device_count; i++) {
		const struct pci_dev *d = &devices[i];
		rec_begin("pci");
		rec_bdf(d);
		rec_field("id");
		rec_put_hex(d->vendor, 4); rec_put_char(':'); rec_put_hex(d->device, 4);
		rec_field("class");
		rec_put_hex(d->class, 6);
		rec_hex("rev", d->rev);
		rec_hex("hdr", d->hdr);
		rec_field("irq");
		rec_put_u64(d->irq_line); rec_put_char('/'); rec_put_u64(d->irq_pin);
		report_caps(d);
		for (int b = 0; b < 6; b++) {
			const struct pci_bar *bar = &d->bar[b];
			if (bar->type == BAR_NONE)
				continue;
			rec_field(bar_keys[b]);
			for (const char *s = type_names[bar->type]; *s; s++)
				rec_put_char(*s);
			if (bar->prefetch)
				rec_put_char('p');
			rec_put_char(':');
			rec_put_char('0'); rec_put_char('x'); rec_put_hex(bar->addr, 1);
			rec_put_char(':');
			rec_put_u64(bar->size);
		}
		rec_str("access", use_ecam(d->bus) ? "ecam" : "cf8");
		rec_end();
	}
	if (scan_overflow)
		report_error("pci", "more PCI functions than the device table holds; list cut");
}

/* ---- interrupts: INTx through the I/O APIC, MSI, MSI-X (PCI 3.0 §6.8) ---- */

int pci_intx_route(const struct pci_dev *d, uint8_t vector)
{
	if (!d->irq_pin || d->irq_line == 0 || d->irq_line == 0xff)
		return -1; /* no pin, or firmware routed none */
	struct irq_route r = acpi_isa_irq_route(d->irq_line);
	/* PCI INTx is level-triggered; an ISA line without an override still carries it so. */
	int level = r.overridden ? r.level : 1;
	if (ioapic_route(r.gsi, vector, level, r.overridden ? r.active_low : 0))
		return -1;
	set_command(d, pci_read16(d, PCI_COMMAND) & ~PCI_CMD_INTX_DISABLE);
	return 0;
}

unsigned pci_msix_count(const struct pci_dev *d)
{
	uint8_t cap = pci_find_cap(d, PCI_CAP_MSIX);
	return cap ? (pci_read16(d, cap + MSIX_CTRL) & MSIX_CTRL_SIZE_MASK) + 1 : 0;
}

int pci_msix_enable(const struct pci_dev *d, unsigned entry, uint8_t vector)
{
	uint8_t cap = pci_find_cap(d, PCI_CAP_MSIX);
	if (!cap || entry >= pci_msix_count(d))
		return -1;
	uint32_t table = pci_read32(d, cap + MSIX_TABLE);
	uint64_t bar = pci_bar_address(d, (int)(table & MSIX_BIR_MASK));
	if (!bar || d->bar[table & MSIX_BIR_MASK].type == BAR_IO)
		return -1;
	uint64_t e = bar + (table & ~MSIX_BIR_MASK) + entry * MSIX_ENTRY_SIZE;
	uint16_t ctrl = pci_read16(d, cap + MSIX_CTRL);
	pci_write16(d, cap + MSIX_CTRL, ctrl | MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL);
	mmio_write32(e + MSIX_ENTRY_ADDR_LO, MSI_ADDRESS_BASE | lapic_id() << MSI_DEST_SHIFT);
	mmio_write32(e + MSIX_ENTRY_ADDR_HI, 0);
	mmio_write32(e + MSIX_ENTRY_DATA, vector); /* fixed delivery, edge */
	mmio_write32(e + MSIX_ENTRY_CTRL, 0);      /* unmask */
	pci_write16(d, cap + MSIX_CTRL, (ctrl | MSIX_CTRL_ENABLE) & ~MSIX_CTRL_MASKALL);
	set_command(d, pci_read16(d, PCI_COMMAND) | PCI_CMD_INTX_DISABLE);
	return 0;
}

int pci_msi_enable(const struct pci_dev *d, uint8_t vector)
{
	uint8_t cap = pci_find_cap(d, PCI_CAP_MSI);
	if (!cap)
		return -1;
	uint16_t ctrl = pci_read16(d, cap + MSI_CTRL);
	pci_write32(d, cap + MSI_ADDR_LO, MSI_ADDRESS_BASE | lapic_id() << MSI_DEST_SHIFT);
	if (ctrl & MSI_CTRL_64BIT) {
		pci_write32(d, cap + MSI_ADDR_HI, 0);
		pci_write16(d, cap + MSI_DATA_64, vector);
	} else {
		pci_write16(d, cap + MSI_DATA_32, vector);
	}
	pci_write16(d, cap + MSI_CTRL, ctrl | MSI_CTRL_ENABLE);
	set_command(d, pci_read16(d, PCI_COMMAND) | PCI_CMD_INTX_DISABLE);
	return 0;
}
