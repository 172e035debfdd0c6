/* NIC registry, probing in PCI order, and the completion wait shared by every NIC model. */
#include "net.h"
#include "kernel/interrupts.h"

static struct netdev *nics[NET_MAX_DEVICES];
static unsigned nic_count;

int net_register(struct netdev *d)
{
	if (nic_count == NET_MAX_DEVICES)
		return -1;
	nics[nic_count] = d;
	return (int)nic_count++;
}

unsigned net_count(void) { return nic_count; }
struct netdev *net_get(unsigned index) { return index < nic_count ? nics[index] : 0; }

int net_probe_all(const struct net_config *cfg)
{
	int rc = 0;
	for (unsigned i = 0; i < pci_count(); i++) {
		const struct pci_dev *p = pci_get(i);
		int r = 0;
		if (e1000_match(p))
			r = e1000_init(p, cfg);
		else if (rtl8139_match(p))
			r = rtl8139_init(p, cfg);
		else if (virtio_net_match(p))
			r = virtio_net_init(p, cfg);
		if (r)
			rc = -1;
	}
	return rc;
}

int net_wait(struct netdev *d, uint64_t max_cycles)
{
	return d->mode == COMPLETE_POLL ? 0 : irq_wait(&d->irq_pending, max_cycles);
}
