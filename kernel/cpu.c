/* CPUID leaves 0, 1 and 0x40000000 (Intel SDM Vol. 2A CPUID; hypervisor leaves by convention). */
#include "cpu.h"
#include "io.h"
#include "lib.h"

#define CPUID_HYPERVISOR_BIT (1u << 31) /* leaf 1 ECX */
#define CPUID_HV_BASE        0x40000000
#define UNMAPPED_ADDRESS     0x00007f0000000000ull /* canonical, far above our identity map */
#define NONCANONICAL_ADDRESS 0x8000000000000000ull

static void regs_to_string(char *out, uint32_t a, uint32_t b, uint32_t c)
{
	memcpy(out, &a, 4);
	memcpy(out + 4, &b, 4);
	memcpy(out + 8, &c, 4);
	out[12] = 0;
	for (int i = 0; i < 12; i++)
		if (out[i] && (out[i] < 0x21 || out[i] > 0x7e))
			out[i] = '?';
}

void cpu_identify(struct cpu_info *c)
{
	struct cpuid_regs r = cpuid(0, 0);
	regs_to_string(c->vendor, r.ebx, r.edx, r.ecx);

	r = cpuid(1, 0);
	uint32_t base_family = (r.eax >> 8) & 0xf, base_model = (r.eax >> 4) & 0xf;
	c->family = base_family == 0xf ? base_family + ((r.eax >> 20) & 0xff) : base_family;
	c->model = (base_family == 0x6 || base_family == 0xf) ? base_model | ((r.eax >> 12) & 0xf0)
							       : base_model;
	c->stepping = r.eax & 0xf;
	c->logical_cpus = (r.ebx >> 16) & 0xff;
	if (!c->logical_cpus)
		c->logical_cpus = 1;

	c->hv_signature[0] = 0;
	c->accel = "none";
	if (r.ecx & CPUID_HYPERVISOR_BIT) {
		r = cpuid(CPUID_HV_BASE, 0);
		regs_to_string(c->hv_signature, r.ebx, r.ecx, r.edx);
		if (!strcmp(c->hv_signature, "KVMKVMKVM"))
			c->accel = "kvm";
		else if (!strcmp(c->hv_signature, "TCGTCGTCGTCG"))
			c->accel = "tcg";
		else
			c->accel = "other";
	}
}

void cpu_fault(const char *kind)
{
	if (!strcmp(kind, "ud"))
		asm volatile("ud2");
	else if (!strcmp(kind, "pf"))
		(void)*(volatile uint64_t *)UNMAPPED_ADDRESS;
	else if (!strcmp(kind, "gp"))
		(void)*(volatile uint64_t *)NONCANONICAL_ADDRESS;
	else if (!strcmp(kind, "de"))
		asm volatile("xorl %%ecx, %%ecx; divl %%ecx" : : : "eax", "ecx", "edx");
}
