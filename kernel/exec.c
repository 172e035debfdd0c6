/*
 * How the guest is being executed, decided from timing alone: a hypervisor that interprets
 * every instruction need not say so in CPUID (kvm_pvm shows the ordinary KVM leaves), so the
 * serial log must carry the measurement that proves how its figures were produced.
 */
#include "exec.h"
#include "tsc.h"

static uint64_t deadline_scale = 1;

uint64_t exec_deadline_scale(void) { return deadline_scale; }

/* KVMIO_EXEC_LOOP_ITERS iterations of dec/jnz on a register: no memory, no exits. */
static uint64_t time_loop(void)
{
	uint64_t n = KVMIO_EXEC_LOOP_ITERS;
	uint64_t t0 = ts_read();
	asm volatile("1:\n\tdec %0\n\tjnz 1b" : "+r"(n) : : "cc");
	return ts_read() - t0;
}

/* Two RDTSC with only the two moves that keep the first reading between them, no fences
 * (Intel SDM Vol. 2B, RDTSC: EDX:EAX <- TSC). */
static uint64_t time_rdtsc(void)
{
	uint32_t lo0, hi0, lo1, hi1;
	asm volatile("rdtsc\n\tmov %%eax, %0\n\tmov %%edx, %1\n\trdtsc"
		     : "=&r"(lo0), "=&r"(hi0), "=a"(lo1), "=d"(hi1));
	return (((uint64_t)hi1 << 32) | lo1) - (((uint64_t)hi0 << 32) | lo0);
}

void exec_probe(struct exec_info *out)
{
	uint64_t loop = UINT64_MAX, tsc = UINT64_MAX;

	for (int i = 0; i < EXEC_LOOP_TRIALS; i++) {
		uint64_t c = time_loop();
		if (c < loop)
			loop = c;
	}
	for (int i = 0; i < EXEC_RDTSC_TRIALS; i++) {
		uint64_t c = time_rdtsc();
		if (c < tsc)
			tsc = c;
	}
	out->loop_iters = KVMIO_EXEC_LOOP_ITERS;
	out->loop_cyc = loop;
	out->rdtsc_cyc = tsc;
	out->emulated = loop > KVMIO_EXEC_EMULATED_LOOP_CYC;
	out->exec = out->emulated ? "emulated" : "native";
	out->deadline_scale = out->emulated ? KVMIO_EXEC_EMULATED_DEADLINE_SCALE : 1;
	deadline_scale = out->deadline_scale;
}
