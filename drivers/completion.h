/* How a driver learns that the device finished something: the irq= option, for every class. */
#ifndef KVMIO_DRIVERS_COMPLETION_H
#define KVMIO_DRIVERS_COMPLETION_H

/* poll: read the device's state; intx: its INTx pin through the I/O APIC; msix: MSI-X (MSI
 * where a model has only that). */
enum completion_mode { COMPLETE_POLL = 0, COMPLETE_INTX = 1, COMPLETE_MSIX = 2 };

#endif
