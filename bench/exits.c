/*
 * bench=exits: the cost of the cheapest guest->host round trips. Under KVM each of these is a
 * VM exit (cpuid, port I/O, MMIO to an emulated BAR) and they are the floor under every device
 * model's per-I/O cost; under TCG they show the emulator's dispatch cost instead.
 *
 * One table, as kvm-unit-tests' x86/vmexit.c has: per test, the operation, a predicate that
 * says why it cannot run here (its `skip` record), and the fields that say exactly what was
 * timed. The names and their order are common/exit_tests.def; tests= picks a subset.
 * Every operation is timed alone: timestamp, operation, timestamp, store. No printing, no
 * allocation, no division in the loop, and no call: each test's loop has its operation inline.
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
#define PORT_LIMIT           0x10000  /* an I/O BAR above it cannot be reached with in/out */

/* warmup: a count, then, for warmup=TIME, until the TSC passes e->warmup_until (0: none).
 * Then n timed runs, or with time= (e->deadline) until the TSC passes the deadline, at most n:
 * the compare is outside the timestamp pair. stamp=op: a pair around each run, nothing else
 * between them; stamp=batch (e->batch): a pair around each batch of e->batch runs, each run
 * given the batch's mean. *e->done gets the count. */
#define TIMED_SERIES(samples, n, warmup, op)                                   \
	do {                                                                   \
		for (uint64_t w_ = 0; w_ < (warmup); w_++) {                   \
			op;                                                    \
		}                                                              \
		while (e->warmup_until && ts_read() < e->warmup_until) {       \
			op;                                                    \
		}                                                              \
		uint64_t i_ = 0;                                               \
		while (!e->batch && i_ < (n)) {                                \
			uint64_t t0_ = ts_read();                              \
			op;                                                    \
			uint64_t t1_ = ts_read();                              \
			(samples)[i_++] = t1_ - t0_;                           \
			if (e->deadline && t1_ >= e->deadline)                 \
				break;                                         \
		}                                                              \
		while (e->batch && i_ < (n)) {                                 \
			uint64_t b_ = (n) - i_ < e->batch ? (n) - i_ : e->batch; \
			uint64_t t0_ = ts_read();                              \
			for (uint64_t k_ = 0; k_ < b_; k_++) {                 \
				op;                                            \
			}                                                      \
			uint64_t t1_ = ts_read();                              \
			bench_batch_samples((samples) + i_, b_, t1_ - t0_);    \
			i_ += b_;                                              \
			if (e->deadline && t1_ >= e->deadline)                 \
				break;                                         \
		}                                                              \
		*e->done = i_;                                                 \
	} while (0)

/* What the tests need to know about this machine, found once before they run. */
struct exit_env {
	uint64_t ops, warmup;
	uint64_t warmup_cycles;        /* warmup=TIME in TSC cycles; 0: a count */
	uint64_t warmup_until;         /* the TSC at the end of this test's warmup=TIME; 0: none */
	uint64_t time_cycles;          /* time=S in TSC cycles; 0: ops= counts */
	uint64_t deadline;             /* the TSC at which this test's time= ends; 0: none */
	uint64_t *done;                /* operations the series timed */
	uint64_t batch;                /* stamp=batch: operations per timestamp pair; 0: one each */
	uint16_t pm_timer_port;        /* 0: no ACPI PM timer */
	const struct pci_dev *dev;     /* pci-testdev or dev=; NULL: none */
	int mbar, iobar;               /* BAR numbers, -1: none */
	uint64_t mmio;                 /* address of the memory BAR, 0: unusable */
	uint64_t io;                   /* base of the I/O BAR, 0: unassigned */
};

struct exit_test {
	const char *name;
	/* Time ops runs of the test's one operation (after warmup untimed ones) into samples. */
	void (*operation)(const struct exit_env *e, uint64_t *samples);
	/* NULL when the test can run here, else why not (the skip record's reason). */
	const char *(*available)(const struct exit_env *e);
	/* The result record's own fields: what exactly was timed. */
	void (*fields)(const struct exit_env *e);
};

#define NO_TESTDEV "no pci-testdev (1b36:0005) on this machine: add -device pci-testdev"

/* ---- timestamp: nothing between the two timestamps ---- */
static void time_timestamp(const struct exit_env *e, uint64_t *s)
{
	TIMED_SERIES(s, e->ops, e->warmup, (void)ts_read());
}
static const char *available_timestamp(const struct exit_env *e) { (void)e; return 0; }
static void fields_timestamp(const struct exit_env *e)
{
	(void)e;
	rec_str("insn", TS_METHOD);
}

/* ---- cpuid: always a VM exit under KVM ---- */
static void time_cpuid(const struct exit_env *e, uint64_t *s)
{
	TIMED_SERIES(s, e->ops, e->warmup, (void)cpuid(0, 0));
}
static const char *available_cpuid(const struct exit_env *e) { (void)e; return 0; }
static void fields_cpuid(const struct exit_env *e)
{
	(void)e;
	rec_hex("leaf", 0);
}

/* ---- pio-unhandled: a port read nobody answers ---- */
static void time_pio_unhandled(const struct exit_env *e, uint64_t *s)
{
	TIMED_SERIES(s, e->ops, e->warmup, (void)inb(PORT_UNHANDLED));
}
static const char *available_pio_unhandled(const struct exit_env *e) { (void)e; return 0; }
static void fields_pio_unhandled(const struct exit_env *e)
{
	(void)e;
	rec_hex("port", PORT_UNHANDLED);
	rec_u64("width", 8);
}

/* ---- pmtimer: the ACPI PM timer port from the FADT ---- */
static void time_pmtimer(const struct exit_env *e, uint64_t *s)
{
	uint16_t port = e->pm_timer_port;
	TIMED_SERIES(s, e->ops, e->warmup, (void)inl(port));
}
static const char *available_pmtimer(const struct exit_env *e)
{
	if (e->pm_timer_port)
		return 0;
	return "no ACPI PM timer (no FADT PM_TMR_BLK; hardware-reduced ACPI has none)";
}
static void fields_pmtimer(const struct exit_env *e)
{
	rec_hex("port", e->pm_timer_port);
	rec_u64("width", 32);
}

/* ---- mmio-read: a 32-bit read of the device's memory BAR ---- */
static void time_mmio_read(const struct exit_env *e, uint64_t *s)
{
	uint64_t addr = e->mmio;
	TIMED_SERIES(s, e->ops, e->warmup, (void)mmio_read32(addr));
}
static const char *available_mmio_read(const struct exit_env *e)
{
	if (!e->dev)
		return NO_TESTDEV;
	if (e->mmio)
		return 0;
	return e->mbar < 0 ? "the device has no memory BAR" : "memory BAR unassigned by firmware";
}
static void fields_mmio_read(const struct exit_env *e)
{
	rec_bdf(e->dev);
	rec_u64("bar", (uint64_t)e->mbar);
	rec_hex("addr", e->mmio);
	rec_u64("width", 32);
}

/* ---- pio-read: a 32-bit read of the device's I/O BAR ---- */
static void time_pio_read(const struct exit_env *e, uint64_t *s)
{
	uint16_t port = (uint16_t)e->io;
	TIMED_SERIES(s, e->ops, e->warmup, (void)inl(port));
}
static const char *available_pio_read(const struct exit_env *e)
{
	if (!e->dev)
		return NO_TESTDEV;
	if (e->io && e->io < PORT_LIMIT)
		return 0;
	return e->iobar < 0 ? "the device has no I/O BAR" : "I/O BAR unassigned by firmware";
}
static void fields_pio_read(const struct exit_env *e)
{
	rec_bdf(e->dev);
	rec_u64("bar", (uint64_t)e->iobar);
	rec_hex("port", (uint16_t)e->io);
	rec_u64("width", 32);
}

static const struct exit_test exit_tests[] = {
#define KVMIO_EXIT_TEST(name, id, help) { name, time_##id, available_##id, fields_##id },
#include "exit_tests.def"
#undef KVMIO_EXIT_TEST
};
_Static_assert(ARRAY_SIZE(exit_tests) <= 64, "tests= selects them with a 64-bit mask");

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

/* The BARs the device tests read: bar= (or the first memory BAR) and the first I/O BAR. */
static void find_bars(const struct options *o, struct exit_env *e)
{
	const struct pci_dev *d = e->dev;
	e->mbar = strcmp(o->bar, "auto") ? o->bar[0] - '0' : first_bar_of(d, 0);
	e->iobar = first_bar_of(d, 1);
	e->mmio = e->mbar >= 0 && d->bar[e->mbar].type != BAR_IO ? pci_bar_address(d, e->mbar) : 0;
	e->io = e->iobar >= 0 ? pci_bar_address(d, e->iobar) : 0;
	pci_enable(d, 0); /* OVMF leaves devices without a driver with decoding off */
}

static void skip(const char *name, const char *reason)
{
	rec_begin("skip");
	rec_str("bench", BENCH_NAME);
	rec_str("name", name);
	rec_str("reason", reason);
	rec_end();
}

enum guest_status bench_exits(const struct options *o)
{
	uint64_t done = 0;
	struct exit_env e = { .ops = o->time ? BENCH_TIME_MAX_OPS : o->ops, .warmup = o->warmup,
			      .mbar = -1, .iobar = -1, .warmup_cycles = o->warmup_ms * tsc_hz() / 1000,
			      .time_cycles = o->time * tsc_hz(), .done = &done,
			      .batch = strcmp(o->stamp, "batch") ? 0 : o->batch };

	e.dev = pci_find_id(PCI_VENDOR_REDHAT, PCI_DEVICE_TESTDEV);
	if (o->dev_kind != DEV_AUTO &&
	    (o->dev_kind != DEV_BDF || !(e.dev = pci_find_bdf(o->dev_bus, o->dev_dev, o->dev_fn)))) {
		report_error_key("badconfig",
				 o->dev_kind == DEV_BDF ? "dev= names no PCI function on this machine"
							: "bench=exits takes dev=BB:DD.F",
				 "dev");
		return STATUS_BADCONFIG;
	}
	if (strcmp(o->bar, "auto")) {
		int b = o->bar[0] - '0';
		if (!e.dev || e.dev->bar[b].type == BAR_NONE || e.dev->bar[b].type == BAR_IO) {
			report_error_key("badconfig", "bar= names no memory BAR of the device", "bar");
			return STATUS_BADCONFIG;
		}
	}
	if (o->time && !tsc_hz()) {
		report_error_key("badconfig", "time= needs a known TSC frequency (tsc_method=none)", "time");
		return STATUS_BADCONFIG;
	}
	uint64_t pages = (e.ops * sizeof(uint64_t) + PAGE_SIZE - 1) / PAGE_SIZE;
	uint64_t *s = page_alloc(pages);
	if (!s) {
		rec_begin("error");
		rec_str("code", "nomem");
		rec_str("msg", "not enough memory for the samples of ops= operations");
		rec_u64("pages", pages);
		rec_end();
		return STATUS_FAIL;
	}
	e.pm_timer_port = acpi()->pm_timer_port;
	if (e.dev)
		find_bars(o, &e);

	for (unsigned i = 0; i < ARRAY_SIZE(exit_tests); i++) {
		const struct exit_test *t = &exit_tests[i];
		if (!(o->tests & (1ull << i)))
			continue;
		const char *why_not = t->available(&e);
		if (why_not) {
			skip(t->name, why_not);
			continue;
		}
		e.warmup_until = e.warmup_cycles ? ts_read() + e.warmup_cycles : 0;
		/* time= counts from the end of the warmup; a warmup by count is short */
		e.deadline = e.time_cycles ? (e.warmup_until ? e.warmup_until : ts_read()) + e.time_cycles
					   : 0;
		t->operation(&e, s);
		result_record_begin(BENCH_NAME, t->name, s, done);
		t->fields(&e);
		bench_stopped_field(o->time != 0, done >= e.ops);
		bench_stamp_fields(e.batch);
		rec_end();
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
