/* NIC registry, the driver table and its probe in PCI order, and the completion wait shared by
 * every NIC model. */
#include "net.h"
#include "virtio_mmio.h"
#include "kernel/interrupts.h"
#include "kernel/lib.h"

static const struct net_driver {
	const char *name;
	int (*match)(const struct pci_dev *p);
	int (*init)(const struct pci_dev *p, const struct net_config *cfg);
} net_drivers[] = {
	{ "e1000", e1000_match, e1000_init },
	{ "rtl8139", rtl8139_match, rtl8139_init },
	{ "virtio-net", virtio_net_match, virtio_net_init },
};

/* The NIC drivers of virtio-mmio transports, by virtio device type (walked after PCI). */
static const struct net_mmio_driver {
	const char *name;
	uint32_t virtio_type;
	int (*init)(const struct virtio_mmio_slot *m, const struct net_config *cfg);
} net_mmio_drivers[] = {
	{ "virtio-net", VIRTIO_TYPE_NET, virtio_net_init_mmio },
};

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
		for (unsigned k = 0; k < ARRAY_SIZE(net_drivers); k++) {
			if (!net_drivers[k].match(p))
				continue;
			if (net_drivers[k].init(p, cfg))
				rc = -1;
			break;
		}
	}
	for (unsigned i = 0; i < virtio_mmio_count(); i++) {
		const struct virtio_mmio_slot *m = virtio_mmio_get(i);
		if (virtio_mmio_check(m))
			rc = -1;
		for (unsigned k = 0; k < ARRAY_SIZE(net_mmio_drivers); k++) {
			if (m->device_id != net_mmio_drivers[k].virtio_type)
				continue;
			if (net_mmio_drivers[k].init(m, cfg))
				rc = -1;
			break;
		}
	}
	return rc;
}

int net_wait(struct netdev *d, uint64_t max_cycles)
{
	return d->mode == COMPLETE_POLL ? 0 : irq_wait(&d->irq_pending, max_cycles);
}
