/*
 * Protocol records on the serial line (docs/protocol.md): "@kvmio 1 TYPE seq=N k=v ... crc=X".
 * Build one record at a time: rec_begin, fields, rec_end. Never call inside a timed region.
 */
#ifndef KVMIO_KERNEL_REPORT_H
#define KVMIO_KERNEL_REPORT_H
#include <stdint.h>

#include "kvmio_proto.h" /* enum guest_status, the prefix and version */

void rec_begin(const char *type);
void rec_str(const char *key, const char *value);          /* escaped */
void rec_strn(const char *key, const char *value, uint64_t len);
void rec_u64(const char *key, uint64_t value);
void rec_hex(const char *key, uint64_t value);              /* 0x... */
void rec_ratio2(const char *key, uint64_t num, uint64_t den); /* num/den with two decimals */
/* A field built piece by piece: rec_field(key) then rec_put_* (values must not need escaping). */
void rec_field(const char *key);
void rec_put_char(char c);
void rec_put_u64(uint64_t v);
void rec_put_hex(uint64_t v, int digits);                    /* no 0x, zero-padded to digits */
void rec_end(void);

struct pci_dev;
/* The field bdf=BB:DD.F of a PCI function: hex, as lspci writes it (docs/protocol.md, `pci`). */
void rec_bdf(const struct pci_dev *d);

/* An error record code=device, begun with msg and model: the caller adds what says which
 * device and what failed (bdf, port, lba, ...) and calls rec_end(). */
void rec_begin_device_error(const char *model, const char *msg);
/* A device its driver gives up on: error code=device msg model bdf, ended. Returns -1, what
 * a driver's init returns then. */
int report_device_error(const char *model, const struct pci_dev *d, const char *msg);

unsigned report_count(void);

/* An error record (code, msg) and then end + exit with the given status. */
void report_error(const char *code, const char *msg);
/* The same naming the option (or device) at fault: key= is left out when key is NULL. */
void report_error_key(const char *code, const char *msg, const char *key);
_Noreturn void report_fail(enum guest_status status, const char *code, const char *msg);
/* The end record, then leave the machine. */
_Noreturn void report_finish(enum guest_status status);

/* Leave the machine: isa-debug-exit, UEFI ResetSystem, ACPI S5, then halt (kernel/exit.c). */
_Noreturn void machine_exit(enum guest_status status);
/* Under UEFI: RuntimeServices->ResetSystem, for machine_exit (0: none). */
void machine_set_efi_reset(uint64_t reset_system);

#endif
