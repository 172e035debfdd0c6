/*
 * kernel_main: the one place every boot path arrives. Order matters: serial and the IDT first
 * (so a fault is reported), then our own page tables and allocator, ACPI, the clock, then
 * hello, the options and the workload.
 */
#include "acpi.h"
#include "boot.h"
#include "cmdline.h"
#include "cpu.h"
#include "interrupts.h"
#include "io.h"
#include "lib.h"
#include "memory.h"
#include "pci.h"
#include "report.h"
#include "serial.h"
#include "tsc.h"
#include "bench/bench.h"

#ifndef KVMIO_BUILD_ID
#define KVMIO_BUILD_ID "unknown"
#endif

extern uint64_t exit_efi_reset_system;

static struct boot_info boot;
static struct options opts;
static struct cpu_info cpu;
static struct tsc_info tsc;

static const char *boot_path_name(uint32_t path)
{
	switch (path) {
	case BOOT_MULTIBOOT: return "multiboot";
	case BOOT_PVH: return "pvh";
	case BOOT_UEFI: return "uefi";
	}
	return "unknown";
}

static void report_hello(void)
{
	const struct acpi_info *a = acpi();

	rec_begin("hello");
	rec_str("build", KVMIO_BUILD_ID);
	rec_str("boot", boot_path_name(boot.path));
	rec_str("cmdline", boot.cmdline);
	rec_u64("mem_kib", usable_ram_kib(&boot));
	rec_u64("cpus", cpu.logical_cpus);
	rec_str("cpu_vendor", cpu.vendor);
	rec_u64("cpu_family", cpu.family);
	rec_u64("cpu_model", cpu.model);
	rec_u64("cpu_stepping", cpu.stepping);
	rec_str("hv", cpu.hv_signature[0] ? cpu.hv_signature : "none");
	rec_str("accel", cpu.accel);
	rec_u64("tsc_hz", tsc.hz);
	rec_str("tsc_method", tsc.method);
	rec_u64("invtsc", (uint64_t)tsc.invariant);
	rec_u64("ts_cost", tsc.ts_cost);
	rec_str("ts", TS_METHOD);
	if (a->rsdp)
		rec_hex("acpi", a->rsdp);
	else
		rec_str("acpi", "none");
	if (a->ecam_base)
		rec_hex("ecam", a->ecam_base);
	else
		rec_str("ecam", "none");
	rec_str("pci_access", pci_access_method());
	rec_end();
}

static _Noreturn void report_bad_option(const char *why, const char *key, const char *value)
{
	rec_begin("error");
	rec_str("code", "badconfig");
	rec_str("msg", why);
	rec_str("key", key);
	if (value[0])
		rec_str("value", value);
	rec_end();
	report_finish(STATUS_BADCONFIG);
}

void kernel_main(const struct boot_info *bi)
{
	static char bad_key[64], bad_value[64];
	const char *why = "";

	serial_init();
	idt_init();
	if (bi->magic != BOOT_INFO_MAGIC)
		report_fail(STATUS_FAIL, "boot", "boot_info magic is wrong: loader and kernel do not match");
	boot = *bi;
	exit_efi_reset_system = boot.efi_reset_system;
	paging_init();
	page_alloc_init(&boot);
	acpi_init(boot.rsdp);
	lapic_init();
	cpu_identify(&cpu);
	tsc_init(&tsc, acpi()->pm_timer_port, acpi()->pm_timer_32bit);
	pci_init(acpi()->ecam_base, acpi()->ecam_bus_start, acpi()->ecam_bus_end);

	serial_write("\n", 1); /* start on a fresh line after firmware output */
	report_hello();

	if (boot.flags & BOOT_FLAG_CMDLINE_TRUNCATED)
		report_bad_option("command line longer than 1023 bytes", "cmdline", "");
	if (cmdline_parse(boot.cmdline, &opts, &why, bad_key, bad_value, sizeof(bad_key)))
		report_bad_option(why, bad_key, bad_value);
	if (opts.help) {
		cmdline_report_help();
		report_finish(STATUS_OK);
	}
	watchdog_start(opts.timeout, tsc.hz);
	if (strcmp(opts.fault, "none"))
		cpu_fault(opts.fault);

	pci_scan();
	if (opts.pci)
		pci_report();

	enum guest_status status = STATUS_OK;
	if (!strcmp(opts.bench, "exits"))
		status = bench_exits(&opts);
	else if (!strcmp(opts.bench, "spin"))
		status = bench_spin(&opts);
	report_finish(status);
}
