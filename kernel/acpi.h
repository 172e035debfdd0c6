/* The parts of ACPI kvmio needs: RSDP, FADT (PM timer, power-off), MCFG (ECAM). */
#ifndef KVMIO_KERNEL_ACPI_H
#define KVMIO_KERNEL_ACPI_H
#include <stdint.h>

struct acpi_info {
	uint64_t rsdp;           /* 0: no ACPI */
	uint16_t pm_timer_port;  /* 0: no PM timer */
	int pm_timer_32bit;
	uint64_t ecam_base;      /* 0: no MCFG */
	uint8_t ecam_bus_start, ecam_bus_end;
	int hw_reduced;
	uint64_t ioapic_base;    /* first I/O APIC from the MADT; 0 if none */
	uint32_t ioapic_gsi_base;
};

/* ISA IRQ -> GSI with trigger/polarity, from MADT interrupt source overrides (ACPI 6.4
 * §5.2.12.5). Without an override: gsi = irq, edge, active high (the ISA defaults). */
struct irq_route { uint32_t gsi; int level; int active_low; int overridden; };
struct irq_route acpi_isa_irq_route(uint8_t irq);

/* rsdp: from the boot path, or 0 to search the BIOS areas (multiboot v1 gives none). */
void acpi_init(uint64_t rsdp);
const struct acpi_info *acpi(void);
/* Enter S5 (soft off) through PM1 control or the sleep control register; returns on failure. */
void acpi_poweroff(void);

#endif
