/* What CPU and hypervisor we run on; test aids that fault on purpose. */
#ifndef KVMIO_KERNEL_CPU_H
#define KVMIO_KERNEL_CPU_H
#include <stdint.h>

struct cpu_info {
	char vendor[13];
	char hv_signature[13];     /* "" when no hypervisor bit */
	const char *accel;         /* kvm, tcg, other, none */
	uint32_t family, model, stepping, logical_cpus;
};

void cpu_identify(struct cpu_info *c);
/* Raise the named exception (ud, pf, gp, de). Returns only for an unknown name. */
void cpu_fault(const char *kind);

#endif
