/*
 * Virtio over PCI (Virtio 1.2 §4.1): the legacy 0.9.5 I/O BAR or the modern 1.x capabilities,
 * and completion interrupts by MSI-X or INTx. A driver finds its PCI devices here
 * (virtio_pci_match, virtio_pci_init), then uses the transport-neutral virtio.h; the rings
 * themselves are drivers/virtq.h.
 */
#ifndef KVMIO_DRIVERS_VIRTIO_PCI_H
#define KVMIO_DRIVERS_VIRTIO_PCI_H
#include <stdint.h>
#include "virtio.h"
#include "kernel/pci.h"

#define PCI_VENDOR_VIRTIO         0x1af4
#define VIRTIO_PCI_LEGACY_FIRST   0x1000   /* transitional IDs 0x1000..0x103f */
#define VIRTIO_PCI_LEGACY_LAST    0x103f
#define VIRTIO_PCI_MODERN_BASE    0x1040   /* + virtio device type */

#define VIRTIO_MSI_NO_VECTOR      0xffff
#define VIRTIO_MSIX_ENTRY         0        /* the one MSI-X table entry: every queue uses it */

/* Is this PCI function a virtio device of `type`? */
int virtio_pci_match(const struct pci_dev *d, uint16_t type);
/* Map the transport, reset (waiting for the reset to finish: firmware may have driven the
 * device), set ACKNOWLEDGE|DRIVER and read the offered features. 0, or -1 with *why set. */
int virtio_pci_init(struct virtio_dev *v, const struct pci_dev *d, enum virtio_transport_pref pref,
		    const char **why);

#endif
