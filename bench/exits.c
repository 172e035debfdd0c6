/*
 * bench=exits: the cost of the cheapest guest->host round trips. Under KVM each of these is a
 * VM exit (cpuid, port I/O, MMIO to an emulated BAR) and they are the floor under every device
 * model's per-I/O cost; under TCG they show the emulator's dispatch cost instead.
 * Every operation is timed alone: timestamp, operation, timestamp, store. No printing, no
 * allocation, no division in the loop.
 */
#include "bench.h"
#include "stats.h"
#include "kernel/acpi.h"
#include "kernel/io.h"
#include "kernel/lib.h"
#include "kernel/memory.h"
#include "kernel/pci.h"
#include "kernel/tsc.h"

#define BENCH_NAME           "exits"
#define PORT_UNHANDLED       0xe0     /* no device decodes it on pc, q35 or microvm */
#define PCI_VENDOR_REDHAT    0x1b36
#define PCI_DEVICE_TESTDEV   0x0005   /* QEMU pci-testdev: BAR0 MMIO, BAR1 I/O */

#define TIMED_SERIES(samples, n, warmup, op)                                   \
	do {                                                                   \
		for (uint64_t w_ = 0; w_ < (warmup); w_++) {                   \
			op;                                                    \
		}                                                              \
		for (uint64_t i_ = 0; i_ < (n); i_++) {                        \
			uint64_t t0_ = ts_read();                              \
			op;                                                    \
			uint64_t t1_ = ts_read();                              \
			(samples)[i_] = t1_ - t0_;                             \
		}                                                              \
	} while (0)

static void skip(const char *name, const char *reason)
{
	rec_begin("skip");
	rec_str("bench", BENCH_NAME);
	rec_str("name", name);
	rec_str("reason", reason);
	rec_end();
}

static int first_bar_of(const struct pci_dev *d, int want_io)
{
	for (int b = 0; b < 6; b++) {
		if (d->bar[b].type == BAR_NONE)
			continue;
		if ((d->bar[b].type == BAR_IO) == !!want_io)
			return b;
	}
	return -1;
}

static void bar_reads(const struct options *o, uint64_t *s, const struct pci_dev *d)
{
	int mbar = strcmp(o->bar, "auto") ? o->bar[0] - '0' : first_bar_of(d, 0);
	int iobar = first_bar_of(d, 1);
	uint64_t mmio = mbar >= 0 && d->bar[mbar].type != BAR_IO ? pci_bar_address(d, mbar) : 0;
	uint64_t io = iobar >= 0 ? pci_bar_address(d, iobar) : 0;

	pci_enable(d, 0); /* OVMF leaves devices without a driver with decoding off */
	if (mmio) {
		TIMED_SERIES(s, o->ops, o->warmup, (void)mmio_read32(mmio));
		result_record_begin(BENCH_NAME, "mmio-read", s, o->ops);
		rec_bdf(d);
		rec_u64("bar", (uint64_t)mbar);
		rec_hex("addr", mmio);
		rec_u64("width", 32);
		rec_end();
	} else {
		skip("mmio-read", mbar < 0 ? "the device has no memory BAR" : "memory BAR unassigned by firmware");
	}
	if (io && io < 0x10000) {
		uint16_t port = (uint16_t)io;
		TIMED_SERIES(s, o->ops, o->warmup, (void)inl(port));
		result_record_begin(BENCH_NAME, "pio-read", s, o->ops);
		rec_bdf(d);
		rec_u64("bar", (uint64_t)iobar);
		rec_hex("port", port);
		rec_u64("width", 32);
		rec_end();
	} else {
		skip("pio-read", iobar < 0 ? "the device has no I/O BAR" : "I/O BAR unassigned by firmware");
	}
}

enum guest_status bench_exits(const struct options *o)
{
	const struct pci_dev *d = pci_find_id(PCI_VENDOR_REDHAT, PCI_DEVICE_TESTDEV);
	if (o->dev_kind != DEV_AUTO &&
	    (o->dev_kind != DEV_BDF || !(d = pci_find_bdf(o->dev_bus, o->dev_dev, o->dev_fn)))) {
		rec_begin("error");
		rec_str("code", "badconfig");
		rec_str("msg", o->dev_kind == DEV_BDF ? "dev= names no PCI function on this machine"
						      : "bench=exits takes dev=BB:DD.F");
		rec_str("key", "dev");
		rec_end();
		return STATUS_BADCONFIG;
	}
	if (strcmp(o->bar, "auto")) {
		int b = o->bar[0] - '0';
		if (!d || d->bar[b].type == BAR_NONE || d->bar[b].type == BAR_IO) {
			rec_begin("error");
			rec_str("code", "badconfig");
			rec_str("msg", "bar= names no memory BAR of the device");
			rec_str("key", "bar");
			rec_end();
			return STATUS_BADCONFIG;
		}
	}
	uint64_t *s = page_alloc((o->ops * sizeof(uint64_t) + PAGE_SIZE - 1) / PAGE_SIZE);
	if (!s) {
		rec_begin("error");
		rec_str("code", "nomem");
		rec_str("msg", "not enough memory for the samples of ops= operations");
		rec_u64("pages", (o->ops * sizeof(uint64_t) + PAGE_SIZE - 1) / PAGE_SIZE);
		rec_end();
		return STATUS_FAIL;
	}

	TIMED_SERIES(s, o->ops, o->warmup, (void)ts_read());
	result_record_begin(BENCH_NAME, "timestamp", s, o->ops);
	rec_str("insn", TS_METHOD);
	rec_end();

	TIMED_SERIES(s, o->ops, o->warmup, (void)cpuid(0, 0));
	result_record_begin(BENCH_NAME, "cpuid", s, o->ops);
	rec_hex("leaf", 0);
	rec_end();

	TIMED_SERIES(s, o->ops, o->warmup, (void)inb(PORT_UNHANDLED));
	result_record_begin(BENCH_NAME, "pio-unhandled", s, o->ops);
	rec_hex("port", PORT_UNHANDLED);
	rec_u64("width", 8);
	rec_end();

	uint16_t pmt = acpi()->pm_timer_port;
	if (pmt) {
		TIMED_SERIES(s, o->ops, o->warmup, (void)inl(pmt));
		result_record_begin(BENCH_NAME, "pmtimer", s, o->ops);
		rec_hex("port", pmt);
		rec_u64("width", 32);
		rec_end();
	} else {
		skip("pmtimer", "no ACPI PM timer (no FADT PM_TMR_BLK; hardware-reduced ACPI has none)");
	}

	if (d) {
		bar_reads(o, s, d);
	} else {
		skip("mmio-read", "no pci-testdev (1b36:0005) on this machine: add -device pci-testdev");
		skip("pio-read", "no pci-testdev (1b36:0005) on this machine: add -device pci-testdev");
	}
	return STATUS_OK;
}

enum guest_status bench_spin(const struct options *o)
{
	(void)o;
	irq_enable();
	for (;;)
		cpu_relax();
}
