/*
 * Where the TSC frequency comes from, in order of trust:
 *  1. CPUID 0x15 (TSC/crystal ratio and crystal Hz), 0x16 (base MHz): Intel SDM Vol. 2A CPUID.
 *  2. Hypervisor leaf 0x40000010 EAX = TSC kHz (QEMU offers it with invtsc or tsc-frequency).
 *  3. kvmclock (KVM pvclock ABI: Documentation/virt/kvm/x86/msr.rst): tsc_to_system_mul/shift.
 *  4. Calibration against the ACPI PM timer, 3.579545 MHz (ACPI 6.4 §4.8.3.3).
 *  5. Calibration against PIT channel 2 (gated through port 0x61), 1.193182 MHz.
 *  6. Calibration against PIT channel 0 read back with the counter-latch command (8254 data
 *     sheet, "Counter Latch Command"): machines with a PIT but no port 0x61 (microvm).
 */
#include "tsc.h"
#include "io.h"
#include "lib.h"

#define CPUID_TSC_LEAF          0x15
#define CPUID_FREQ_LEAF         0x16
#define CPUID_HV_BASE           0x40000000
#define CPUID_KVM_FEATURES      0x40000001
#define CPUID_HV_TIMING         0x40000010
#define CPUID_EXT_POWER         0x80000007
#define EXT_POWER_INVTSC        (1u << 8)
#define KVM_FEATURE_CLOCKSOURCE  (1u << 0)
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)
#define MSR_KVM_SYSTEM_TIME     0x12
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define KVM_SYSTEM_TIME_ENABLE  1ull

#define PIT_HZ                  1193182ull
#define PIT_CH2_DATA            0x42
#define PIT_COMMAND             0x43
#define PIT_CMD_CH2_LOHI_MODE2  0xb4   /* channel 2, lobyte/hibyte, mode 2, binary */
#define PIT_CMD_CH2_LATCH       0x80   /* channel 2 counter latch */
#define PIT_CH0_DATA            0x40
#define PIT_CMD_CH0_LOHI_MODE2  0x34   /* channel 0, lobyte/hibyte, mode 2 (rate generator) */
#define PIT_CMD_CH0_LATCH       0x00
#define PIT_RELOAD              0xffff /* mode 2: counts 0xffff..1, ~55 ms a period */
#define PORT_NMI_SC             0x61   /* system control port B */
#define NMI_SC_GATE2            0x01
#define NMI_SC_SPEAKER          0x02
#define POLL_LIMIT              50000000
#define PM_TIMER_HZ             3579545ull
/* Calibration: CAL_WINDOWS windows of CAL_WINDOW_MS, median; more windows (up to
 * CAL_WINDOWS_MAX) while the middle half spreads over CAL_SPREAD_PPM. Each end of a window is
 * the tightest of CAL_SAMPLE_TRIES bracketed reads. */
#define CAL_WINDOW_MS           40ull
#define CAL_WINDOWS             5
#define CAL_WINDOWS_MAX         15
#define CAL_SPREAD_PPM          300
#define CAL_SAMPLE_TRIES        5
#define MIN_PLAUSIBLE_HZ        10000000ull        /* a TSC slower than 10 MHz is a broken reference */
#define TS_COST_PAIRS           1001

struct pvclock_vcpu_time_info {
	uint32_t version, pad0;
	uint64_t tsc_timestamp, system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags, pad[2];
} __attribute__((packed));

static struct pvclock_vcpu_time_info kvmclock __attribute__((aligned(64)));

static uint64_t from_cpuid15(void)
{
	if (cpuid(0, 0).eax < CPUID_TSC_LEAF)
		return 0;
	struct cpuid_regs r = cpuid(CPUID_TSC_LEAF, 0);
	if (!r.eax || !r.ebx || !r.ecx)
		return 0; /* ratio or crystal not enumerated */
	return (uint64_t)r.ecx * r.ebx / r.eax;
}

static uint64_t from_cpuid16(void)
{
	if (cpuid(0, 0).eax < CPUID_FREQ_LEAF)
		return 0;
	return (uint64_t)(cpuid(CPUID_FREQ_LEAF, 0).eax & 0xffff) * 1000000;
}

static int hypervisor_present(void) { return !!(cpuid(1, 0).ecx & (1u << 31)); }

static int hypervisor_is_kvm(void)
{
	struct cpuid_regs r = cpuid(CPUID_HV_BASE, 0);
	return r.ebx == 0x4b4d564b && r.ecx == 0x564b4d56 && r.edx == 0x4d; /* "KVMKVMKVM\0\0\0" */
}

static uint64_t from_hv_leaf(void)
{
	if (!hypervisor_present() || cpuid(CPUID_HV_BASE, 0).eax < CPUID_HV_TIMING)
		return 0;
	return (uint64_t)cpuid(CPUID_HV_TIMING, 0).eax * 1000;
}

static uint64_t from_kvmclock(void)
{
	if (!hypervisor_present() || !hypervisor_is_kvm())
		return 0;
	uint32_t features = cpuid(CPUID_KVM_FEATURES, 0).eax;
	uint32_t msr;
	if (features & KVM_FEATURE_CLOCKSOURCE2)
		msr = MSR_KVM_SYSTEM_TIME_NEW;
	else if (features & KVM_FEATURE_CLOCKSOURCE)
		msr = MSR_KVM_SYSTEM_TIME;
	else
		return 0;
	wrmsr(msr, (uint64_t)&kvmclock | KVM_SYSTEM_TIME_ENABLE);
	uint32_t version, mul;
	int8_t shift;
	do {
		version = *(volatile uint32_t *)&kvmclock.version;
		barrier();
		mul = kvmclock.tsc_to_system_mul;
		shift = kvmclock.tsc_shift;
		barrier();
	} while ((version & 1) || version != *(volatile uint32_t *)&kvmclock.version);
	wrmsr(msr, 0);
	if (!mul)
		return 0;
	/* ns = (ticks << shift) * mul >> 32, so hz = 1e9 * 2^32 / (mul * 2^shift). */
	unsigned __int128 num = (unsigned __int128)1000000000ull << 32;
	if (shift >= 0)
		return (uint64_t)(num / ((unsigned __int128)mul << shift));
	return (uint64_t)((num << -shift) / mul);
}

/*
 * Calibration against a reference counter. One window: a bracketed sample of the counter and
 * the TSC at each end (the counter read between two timestamps, the tightest of a few tries,
 * so a vCPU preempted mid-read cannot skew an end), the counter's ticks accumulated in between
 * (it wraps). The TSC rate of the window is its TSC cycles over its counter ticks. A preempted
 * poll only delays the end, it does not bias the ratio; a preemption longer than the counter's
 * wrap period undercounts ticks, which the median over windows throws out.
 */
struct ref_counter {
	uint64_t hz;                 /* ticks per second */
	uint32_t (*read)(void);
	uint32_t mask;               /* counting up: the counter's width */
	uint32_t reload;             /* counting down (PIT mode 2): the reload value; 0 if up */
	uint64_t window_ticks;       /* ticks per calibration window */
};

static uint32_t ref_delta(const struct ref_counter *r, uint32_t prev, uint32_t now)
{
	if (r->reload) /* mode 2 counts reload..1, so no value repeats within a period */
		return (prev - now + r->reload) % r->reload;
	return (now - prev) & r->mask;
}

static void ref_sample(const struct ref_counter *r, uint32_t *value, uint64_t *tsc)
{
	uint64_t best = ~0ull;

	for (int i = 0; i < CAL_SAMPLE_TRIES; i++) {
		uint64_t t0 = ts_read();
		uint32_t v = r->read();
		uint64_t t1 = ts_read();
		if (t1 - t0 < best) {
			best = t1 - t0;
			*value = v;
			*tsc = t0 + (t1 - t0) / 2;
		}
	}
}

/* The TSC rate over one window; 0 if the counter does not advance. */
static uint64_t ref_window_hz(const struct ref_counter *r)
{
	uint32_t v0, v1, prev;
	uint64_t t0, t1, ticks = 0;

	ref_sample(r, &v0, &t0);
	prev = v0;
	for (long i = 0; i < POLL_LIMIT && ticks < r->window_ticks; i++) {
		uint32_t now = r->read();
		ticks += ref_delta(r, prev, now);
		prev = now;
	}
	if (ticks < r->window_ticks)
		return 0;
	ref_sample(r, &v1, &t1);
	ticks += ref_delta(r, prev, v1);
	if (!ticks || t1 <= t0)
		return 0;
	uint64_t hz = (uint64_t)((unsigned __int128)(t1 - t0) * r->hz / ticks);
	return hz >= MIN_PLAUSIBLE_HZ ? hz : 0;
}

static void sort_u64(uint64_t *v, int n)
{
	for (int i = 1; i < n; i++) {
		uint64_t x = v[i];
		int j = i - 1;
		while (j >= 0 && v[j] > x) {
			v[j + 1] = v[j];
			j--;
		}
		v[j + 1] = x;
	}
}

/*
 * The median of CAL_WINDOWS windows; while the middle windows spread more than
 * CAL_SPREAD_PPM, more windows, up to CAL_WINDOWS_MAX ("longer where needed").
 */
static uint64_t ref_calibrate(const struct ref_counter *r, struct tsc_info *out)
{
	uint64_t hz[CAL_WINDOWS_MAX], sorted[CAL_WINDOWS_MAX];
	int n = 0;

	while (n < CAL_WINDOWS_MAX) {
		if (!(hz[n] = ref_window_hz(r)))
			return 0;
		n++;
		if (n < CAL_WINDOWS)
			continue;
		for (int i = 0; i < n; i++)
			sorted[i] = hz[i];
		sort_u64(sorted, n);
		/* spread of the middle half, in ppm of the median */
		uint64_t med = sorted[n / 2], lo = sorted[n / 4], hi = sorted[n - 1 - n / 4];
		out->cal_windows = (uint64_t)n;
		out->cal_spread_ppm = (hi - lo) * 1000000 / med;
		if (out->cal_spread_ppm <= CAL_SPREAD_PPM)
			return med;
	}
	return sorted[n / 2];
}

/* PIT channel 2 (gate and OUT2 through port 0x61): free-running mode 2, read by latching. */
static uint32_t pit2_read(void)
{
	outb(PIT_COMMAND, PIT_CMD_CH2_LATCH);
	uint8_t lo = inb(PIT_CH2_DATA);
	return (uint32_t)(lo | inb(PIT_CH2_DATA) << 8);
}

static uint64_t from_pit(struct tsc_info *out)
{
	static const struct ref_counter pit2 = { PIT_HZ, pit2_read, 0, PIT_RELOAD,
						 PIT_HZ * CAL_WINDOW_MS / 1000 };
	uint8_t sc = inb(PORT_NMI_SC);
	if (sc == 0xff)
		return 0; /* no system control port: no PIT gate (microvm) */
	outb(PORT_NMI_SC, (uint8_t)((sc & ~NMI_SC_SPEAKER) | NMI_SC_GATE2));
	outb(PIT_COMMAND, PIT_CMD_CH2_LOHI_MODE2);
	outb(PIT_CH2_DATA, PIT_RELOAD & 0xff);
	outb(PIT_CH2_DATA, PIT_RELOAD >> 8);
	uint64_t hz = ref_calibrate(&pit2, out);
	outb(PORT_NMI_SC, sc);
	return hz;
}

/* PIT channel 0 read back with the counter-latch command: a PIT but no port 0x61 (microvm). */
static uint32_t pit0_read(void)
{
	outb(PIT_COMMAND, PIT_CMD_CH0_LATCH);
	uint8_t lo = inb(PIT_CH0_DATA);
	return (uint32_t)(lo | inb(PIT_CH0_DATA) << 8);
}

static uint64_t from_pit0(struct tsc_info *out)
{
	static const struct ref_counter pit0 = { PIT_HZ, pit0_read, 0, PIT_RELOAD,
						 PIT_HZ * CAL_WINDOW_MS / 1000 };
	outb(PIT_COMMAND, PIT_CMD_CH0_LOHI_MODE2);
	outb(PIT_CH0_DATA, PIT_RELOAD & 0xff);
	outb(PIT_CH0_DATA, PIT_RELOAD >> 8);
	if (pit0_read() == 0xffff && pit0_read() == 0xffff)
		return 0; /* no counter behind the ports (mode 2 never shows the reload value twice) */
	return ref_calibrate(&pit0, out);
}

static uint16_t pm_port;
static uint32_t pm_mask;

static uint32_t pm_timer_read(void) { return inl(pm_port) & pm_mask; }

static uint64_t from_pm_timer(uint16_t port, int is32, struct tsc_info *out)
{
	static const struct ref_counter pm = { PM_TIMER_HZ, pm_timer_read, 0, 0,
					       PM_TIMER_HZ * CAL_WINDOW_MS / 1000 };
	struct ref_counter r = pm;

	if (!port)
		return 0;
	pm_port = port;
	pm_mask = is32 ? 0xffffffffu : 0x00ffffffu; /* FADT TMR_VAL_EXT */
	r.mask = pm_mask;
	return ref_calibrate(&r, out);
}

static uint64_t measure_ts_cost(void)
{
	uint64_t cost[TS_COST_PAIRS];

	for (int i = 0; i < TS_COST_PAIRS; i++) {
		uint64_t a = ts_read();
		uint64_t b = ts_read();
		cost[i] = b - a;
	}
	/* insertion sort: small, once */
	for (int i = 1; i < TS_COST_PAIRS; i++) {
		uint64_t v = cost[i];
		int j = i - 1;
		while (j >= 0 && cost[j] > v) {
			cost[j + 1] = cost[j];
			j--;
		}
		cost[j + 1] = v;
	}
	return cost[TS_COST_PAIRS / 2];
}

static uint64_t known_hz;

uint64_t tsc_hz(void) { return known_hz; }

void tsc_init(struct tsc_info *out, uint16_t pm_timer_port, int pm_timer_32bit)
{
	uint64_t hz;

	out->invariant = cpuid(0x80000000, 0).eax >= CPUID_EXT_POWER &&
			 (cpuid(CPUID_EXT_POWER, 0).edx & EXT_POWER_INVTSC);
	out->ts_cost = measure_ts_cost();
	if ((hz = from_cpuid15()))
		out->method = "cpuid15";
	else if ((hz = from_cpuid16()))
		out->method = "cpuid16";
	else if ((hz = from_hv_leaf()))
		out->method = "hvleaf";
	else if ((hz = from_kvmclock()))
		out->method = "kvmclock";
	else if ((hz = from_pm_timer(pm_timer_port, pm_timer_32bit, out)))
		out->method = "pmtimer";
	else if ((hz = from_pit(out)))
		out->method = "pit";
	else if ((hz = from_pit0(out)))
		out->method = "pit0";
	else
		out->method = "none";
	out->hz = hz;
	known_hz = hz;
}
