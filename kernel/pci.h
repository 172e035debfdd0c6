/* PCI configuration space (CF8/CFC or ECAM), enumeration and BARs. */
#ifndef KVMIO_KERNEL_PCI_H
#define KVMIO_KERNEL_PCI_H
#include <stdint.h>

#define PCI_MAX_DEVICES 64

enum pci_bar_type { BAR_NONE = 0, BAR_IO, BAR_MEM32, BAR_MEM64 };

struct pci_bar {
	uint64_t addr;      /* as assigned by firmware; 0 = unassigned */
	uint64_t size;
	uint8_t type;       /* enum pci_bar_type */
	uint8_t prefetch;
};

struct pci_dev {
	uint8_t bus, dev, fn;
	uint16_t vendor, device;
	uint32_t class;     /* class << 16 | subclass << 8 | prog-if */
	uint8_t rev, hdr, irq_line, irq_pin;
	struct pci_bar bar[6];
};

/* Use ECAM when ecam_base is non-zero (from ACPI MCFG), CF8/CFC otherwise. */
void pci_init(uint64_t ecam_base, uint8_t bus_start, uint8_t bus_end);
/* Scan from bus 0 through bridges; fills the device table. */
void pci_scan(void);
void pci_report(void);
const char *pci_access_method(void);

unsigned pci_count(void);
struct pci_dev *pci_get(unsigned i);
struct pci_dev *pci_find_id(uint16_t vendor, uint16_t device);
struct pci_dev *pci_find_bdf(uint8_t bus, uint8_t dev, uint8_t fn);

uint32_t pci_read32(const struct pci_dev *d, uint16_t off);
uint16_t pci_read16(const struct pci_dev *d, uint16_t off);
uint8_t pci_read8(const struct pci_dev *d, uint16_t off);
void pci_write32(const struct pci_dev *d, uint16_t off, uint32_t v);
void pci_write16(const struct pci_dev *d, uint16_t off, uint16_t v);
void pci_write8(const struct pci_dev *d, uint16_t off, uint8_t v);

/* Turn on I/O and memory decoding (and bus mastering if asked): firmware may leave them off. */
void pci_enable(const struct pci_dev *d, int bus_master);
/* Address to use for a BAR: MMIO above 4 GiB gets mapped; 0 if unassigned or absent. */
uint64_t pci_bar_address(const struct pci_dev *d, int bar);
/* Offset of capability `id` in config space, 0 if absent. */
uint8_t pci_find_cap(const struct pci_dev *d, uint8_t id);

#define PCI_CAP_MSI  0x05
#define PCI_CAP_MSIX 0x11

/* Route the function's INTx pin to `vector` through the I/O APIC (the interrupt line firmware
 * programmed, with the MADT's trigger/polarity); clears the INTx-disable bit. 0 on success. */
int pci_intx_route(const struct pci_dev *d, uint8_t vector);
/* Number of MSI-X table entries, 0 if the function has no MSI-X. */
unsigned pci_msix_count(const struct pci_dev *d);
/* Point MSI-X table entry `entry` at `vector` on this CPU, unmask it, enable MSI-X and set
 * INTx-disable. 0 on success. */
int pci_msix_enable(const struct pci_dev *d, unsigned entry, uint8_t vector);
/* The same with plain MSI (one vector). 0 on success, -1 if the function has no MSI. */
int pci_msi_enable(const struct pci_dev *d, uint8_t vector);

#endif
