/*
 * Leaving the machine. QEMU's isa-debug-exit (iobase 0xf4) ends QEMU with status (V << 1) | 1.
 * Without it: UEFI ResetSystem(EfiResetShutdown) when we came through UEFI, then ACPI S5; if
 * the machine is still running after all that, halt with interrupts off (the host's timeout
 * ends it).
 */
#include "acpi.h"
#include "boot.h"
#include "io.h"
#include "report.h"

#define DEBUG_EXIT_PORT     0xf4
#define EFI_RESET_SHUTDOWN  2   /* UEFI 2.9 §8.5.1 EFI_RESET_TYPE EfiResetShutdown */

typedef void (__attribute__((ms_abi)) *efi_reset_system_fn)(int type, uint64_t status,
							      uint64_t data_size, void *data);

static uint64_t exit_efi_reset_system;

void machine_set_efi_reset(uint64_t reset_system) { exit_efi_reset_system = reset_system; }

void machine_exit(enum guest_status status)
{
	irq_disable();
	outl(DEBUG_EXIT_PORT, (uint32_t)status);
	if (exit_efi_reset_system)
		((efi_reset_system_fn)exit_efi_reset_system)(EFI_RESET_SHUTDOWN, status, 0, 0);
	acpi_poweroff();
	for (;;)
		asm volatile("cli; hlt");
}
