/*
 * How the guest's own instructions are executed, measured by the guest itself, and the factor
 * its wall-time deadlines are stretched by.
 *
 * "native": instructions run at (near) native speed: hardware virtualization (VMX/SVM) or
 * QEMU's TCG running translated host code. "emulated": every instruction is interpreted, as
 * KVM's instruction emulator does for a guest that is not PVM-aware under the kvm_pvm module
 * (about 10x slower than TCG; a timestamp costs ~6000 cycles, a port read ~24000).
 *
 * Only <stdint.h> here: the host's tests include this header for the threshold.
 */
#ifndef KVMIO_EXEC_H
#define KVMIO_EXEC_H
#include <stdint.h>

/* The probe: a register-only `dec %rcx; jnz` loop of EXEC_LOOP_ITERS iterations, timed with
 * ts_read(), minimum over EXEC_LOOP_TRIALS (the first run also pays TCG's translation and any
 * trial may be preempted); and two back-to-back RDTSC, minimum over EXEC_RDTSC_TRIALS. */
#define EXEC_LOOP_ITERS      1000ull
#define EXEC_LOOP_TRIALS     5
#define EXEC_RDTSC_TRIALS    16

/*
 * The verdict: emulated when the loop takes more than EXEC_EMULATED_CYC_PER_ITER TSC cycles per
 * iteration. A dec/jnz iteration costs ~1 cycle on hardware and a few cycles in TCG's
 * translated code (a chained block of a dozen host instructions); interpreting it costs
 * hundreds to thousands of cycles per instruction (fetch, decode, write-back in the
 * emulator). The measured figure also carries one timestamp (ts_cost); 40 per iteration
 * leaves room for a trapped RDTSC (a few thousand cycles) in the native case and is still
 * far below one interpreted instruction.
 */
#define EXEC_EMULATED_CYC_PER_ITER 40ull
#define EXEC_EMULATED_LOOP_CYC     (EXEC_EMULATED_CYC_PER_ITER * EXEC_LOOP_ITERS)

/*
 * Wall-time bounds on work the guest does itself are multiplied by this when emulated: kvm_pvm's
 * emulator runs the guest ~10x slower than TCG, the slowest native case the bounds were already
 * sized for; times 2 for margin. Native: 1, nothing changes.
 */
#define EXEC_EMULATED_DEADLINE_SCALE 20ull

struct exec_info {
	uint64_t loop_iters;     /* EXEC_LOOP_ITERS */
	uint64_t loop_cyc;       /* TSC cycles for the loop, minimum over the trials */
	uint64_t rdtsc_cyc;      /* TSC cycles between two back-to-back RDTSC, minimum */
	int emulated;            /* loop_cyc > EXEC_EMULATED_LOOP_CYC */
	const char *exec;        /* "native" | "emulated" */
	uint64_t deadline_scale; /* 1, or EXEC_EMULATED_DEADLINE_SCALE when emulated */
};

/* Measure (interrupts still off: call before the watchdog starts) and remember the verdict. */
void exec_probe(struct exec_info *out);
/* The factor for wall-time deadlines: 1 until exec_probe has run, and when native. */
uint64_t exec_deadline_scale(void);

#endif
