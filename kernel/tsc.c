/*
 * Where the TSC frequency comes from, in order of trust:
 *  1. CPUID 0x15 (TSC/crystal ratio and crystal Hz), 0x16 (base MHz): Intel SDM Vol. 2A CPUID.
 *  2. Hypervisor leaf 0x40000010 EAX = TSC kHz (QEMU offers it with invtsc or tsc-frequency).
 *  3. kvmclock (KVM pvclock ABI: Documentation/virt/kvm/x86/msr.rst): tsc_to_system_mul/shift.
 *  4. Calibration against PIT channel 2 (gate and OUT2 through port 0x61), 1.193182 MHz.
 *  5. Calibration against the ACPI PM timer, 3.579545 MHz (ACPI 6.4 §4.8.3.3).
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
#define PIT_CMD_CH2_LOHI_MODE0  0xb0   /* channel 2, lobyte/hibyte, mode 0, binary */
#define PIT_CH0_DATA            0x40
#define PIT_CMD_CH0_LOHI_MODE2  0x34   /* channel 0, lobyte/hibyte, mode 2 (rate generator) */
#define PIT_CMD_CH0_LATCH       0x00
#define PIT_CH0_RELOAD          0xffff
#define PORT_NMI_SC             0x61   /* system control port B */
#define NMI_SC_GATE2            0x01
#define NMI_SC_SPEAKER          0x02
#define NMI_SC_OUT2             0x20
#define PIT_CAL_COUNT           59659  /* 50 ms */
#define POLL_LIMIT              50000000
#define PM_TIMER_HZ             3579545ull
#define PM_CAL_TICKS            (PM_TIMER_HZ / 20) /* 50 ms */
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

static uint64_t from_pit(void)
{
	uint8_t sc = inb(PORT_NMI_SC);
	if (sc == 0xff)
		return 0; /* no system control port: no PIT gate (microvm) */
	outb(PORT_NMI_SC, (uint8_t)((sc & ~(NMI_SC_GATE2 | NMI_SC_SPEAKER))));
	outb(PIT_COMMAND, PIT_CMD_CH2_LOHI_MODE0);
	outb(PIT_CH2_DATA, PIT_CAL_COUNT & 0xff);
	outb(PIT_CH2_DATA, PIT_CAL_COUNT >> 8);
	uint64_t t0 = ts_read();
	outb(PORT_NMI_SC, (uint8_t)((sc & ~NMI_SC_SPEAKER) | NMI_SC_GATE2)); /* start counting */
	uint64_t t1 = 0;
	for (long i = 0; i < POLL_LIMIT; i++) {
		if (inb(PORT_NMI_SC) & NMI_SC_OUT2) {
			t1 = ts_read();
			break;
		}
	}
	outb(PORT_NMI_SC, sc);
	if (!t1)
		return 0;
	uint64_t hz = (t1 - t0) * PIT_HZ / PIT_CAL_COUNT;
	return hz >= MIN_PLAUSIBLE_HZ ? hz : 0;
}

static uint16_t pit0_read(void)
{
	outb(PIT_COMMAND, PIT_CMD_CH0_LATCH);
	uint8_t lo = inb(PIT_CH0_DATA);
	return (uint16_t)(lo | inb(PIT_CH0_DATA) << 8);
}

/* Channel 0 counts down from 0xffff and reloads; sum the decrements over ~50 ms. */
static uint64_t from_pit0(void)
{
	outb(PIT_COMMAND, PIT_CMD_CH0_LOHI_MODE2);
	outb(PIT_CH0_DATA, PIT_CH0_RELOAD & 0xff);
	outb(PIT_CH0_DATA, PIT_CH0_RELOAD >> 8);
	uint16_t prev = pit0_read();
	uint64_t t0 = ts_read(), t1 = 0, ticks = 0;
	for (long i = 0; i < POLL_LIMIT; i++) {
		uint16_t now = pit0_read();
		ticks += (uint16_t)(prev - now) % PIT_CH0_RELOAD; /* mode 2 never shows 0 */
		prev = now;
		if (ticks >= PIT_CAL_COUNT) {
			t1 = ts_read();
			break;
		}
	}
	if (!t1 || prev == 0xffff)
		return 0; /* no counter behind the ports */
	uint64_t hz = (t1 - t0) * PIT_HZ / ticks;
	return hz >= MIN_PLAUSIBLE_HZ ? hz : 0;
}

static uint32_t pm_timer_read(uint16_t port, uint32_t mask) { return inl(port) & mask; }

static uint64_t from_pm_timer(uint16_t port, int is32)
{
	if (!port)
		return 0;
	uint32_t mask = is32 ? 0xffffffffu : 0x00ffffffu;
	uint32_t start = pm_timer_read(port, mask);
	uint64_t t0 = ts_read(), t1 = 0, ticks = 0;
	for (long i = 0; i < POLL_LIMIT; i++) {
		ticks = (pm_timer_read(port, mask) - start) & mask;
		if (ticks >= PM_CAL_TICKS) {
			t1 = ts_read();
			break;
		}
	}
	if (!t1)
		return 0;
	uint64_t hz = (t1 - t0) * PM_TIMER_HZ / ticks;
	return hz >= MIN_PLAUSIBLE_HZ ? hz : 0;
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
	else if ((hz = from_pit()))
		out->method = "pit";
	else if ((hz = from_pm_timer(pm_timer_port, pm_timer_32bit)))
		out->method = "pmtimer";
	else if ((hz = from_pit0()))
		out->method = "pit0";
	else
		out->method = "none";
	out->hz = hz;
	known_hz = hz;
}
