/*
 * How the guest's own instructions are executed, measured by the guest itself, and the factor
 * its wall-time deadlines are stretched by.
 *
 * "native": instructions run at (near) native speed: hardware virtualization (VMX/SVM) or
 * QEMU's TCG running translated host code. "emulated": every instruction is interpreted, as
 * KVM's instruction emulator does for a guest that is not PVM-aware under the kvm_pvm module
 * (about 10x slower than TCG; a timestamp costs ~6000 cycles, a port read ~24000).
 *
 */
#ifndef KVMIO_KERNEL_EXEC_H
#define KVMIO_KERNEL_EXEC_H
#include <stdint.h>
#include "kvmio_proto.h"

/* The probe and the verdict's threshold are shared with the host: common/kvmio_proto.h. The
 * first trial also pays TCG's translation, and any trial may be preempted: the minimum counts. */
#define EXEC_LOOP_TRIALS     5
#define EXEC_RDTSC_TRIALS    16

struct exec_info {
	uint64_t loop_iters;     /* KVMIO_EXEC_LOOP_ITERS */
	uint64_t loop_cyc;       /* TSC cycles for the loop, minimum over the trials */
	uint64_t rdtsc_cyc;      /* TSC cycles between two back-to-back RDTSC, minimum */
	int emulated;            /* loop_cyc > KVMIO_EXEC_EMULATED_LOOP_CYC */
	const char *exec;        /* "native" | "emulated" */
	uint64_t deadline_scale; /* 1, or KVMIO_EXEC_EMULATED_DEADLINE_SCALE when emulated */
};

/* Measure (interrupts still off: call before the watchdog starts) and remember the verdict. */
void exec_probe(struct exec_info *out);
/* The factor for wall-time deadlines: 1 until exec_probe has run, and when native. */
uint64_t exec_deadline_scale(void);

#endif
