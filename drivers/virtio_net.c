/*
 * virtio-net (Virtio 1.2 §5.1) over a virtio transport (virtio.h: PCI or MMIO) and split or
 * packed virtqueues (virtq.c, virtq_packed.c; ring=):
 * queue 0 receives, queue 1 transmits. No offloads. RX buffers are posted before DRIVER_OK.
 * Each frame travels behind a virtio_net_hdr: 10 bytes on a legacy device without mergeable
 * buffers, 12 otherwise (§5.1.6). The header gets a descriptor of its own (legacy devices
 * without ANY_LAYOUT require it), except with mergeable RX buffers, where it is inline.
 */
#include "net.h"
#include "virtio_mmio.h"
#include "virtio_pci.h"
#include "kernel/interrupts.h"
#include "kernel/lib.h"
#include "kernel/memory.h"
#include "kernel/report.h"

#define VIRTIO_NET_F_MAC        5
#define VIRTIO_NET_F_MRG_RXBUF  15
#define VIRTIO_NET_F_STATUS     16
#define VIRTIO_NET_CFG_MAC      0
#define VIRTIO_NET_CFG_STATUS   6
#define VIRTIO_NET_S_LINK_UP    1

#define RX_QUEUE                0
#define TX_QUEUE                1
#define VNET_QUEUE_MAX          256
#define VNET_BUF                2048   /* holds a header and a 1514-byte frame */
#define VNET_HDR_LEGACY         10
#define VNET_HDR_MODERN         12
#define VNET_MTU                1500
#define VNET_MAX_DEVICES        4
#define MODEL                   "virtio-net"

struct vnet {
	struct netdev net;
	struct virtio_dev vdev;
	struct virtq rxq, txq;
	uint32_t hdr_len;
	int mrg;
	uint8_t *rx_bufs, *tx_bufs;
	uint16_t rx_count, tx_count;
	uint16_t *tx_free;
	uint16_t tx_nfree;
	uint8_t *rx_current;        /* buffer handed out by receive(), until rx_release */
};

static struct vnet vnets[VNET_MAX_DEVICES];
static unsigned vnet_count;

int virtio_net_match(const struct pci_dev *p) { return virtio_pci_match(p, VIRTIO_TYPE_NET); }

static int post_rx(struct vnet *v, uint8_t *buf)
{
	struct virtq_buf bufs[2];
	unsigned n = 0;
	if (v->mrg) {
		bufs[n++] = (struct virtq_buf){ buf, VNET_BUF, 1 };
	} else {
		bufs[n++] = (struct virtq_buf){ buf, v->hdr_len, 1 };
		bufs[n++] = (struct virtq_buf){ buf + v->hdr_len, VNET_BUF - v->hdr_len, 1 };
	}
	return virtq_add_chain(&v->rxq, bufs, n, buf) < 0 ? -1 : 0;
}

/* A NIC that stopped completing: its transmit or its receive ring, both sides. */
static void vnet_error_fields(const struct netdev *d, int tx)
{
	const struct vnet *v = d->priv;

	if (tx)
		virtq_report_fields(&v->txq, "tx_ring_");
	else
		virtq_report_fields(&v->rxq, "rx_ring_");
}

static int vnet_transmit(struct netdev *d, const void *frame, uint32_t len)
{
	struct vnet *v = d->priv;
	if (!v->tx_nfree || len > VNET_BUF - v->hdr_len)
		return -1;
	uint16_t slot = v->tx_free[--v->tx_nfree];
	uint8_t *buf = v->tx_bufs + (uint64_t)slot * VNET_BUF;
	memset(buf, 0, v->hdr_len); /* no checksum or segmentation offload asked */
	memcpy(buf + v->hdr_len, frame, len);
	struct virtq_buf bufs[2] = {
		{ buf, v->hdr_len, 0 },
		{ buf + v->hdr_len, len, 0 },
	};
	if (virtq_add_chain(&v->txq, bufs, 2, (void *)(uint64_t)(slot + 1)) < 0) {
		v->tx_free[v->tx_nfree++] = slot;
		return -1;
	}
	virtio_kick(&v->txq);
	return 0;
}

static uint32_t vnet_tx_complete(struct netdev *d)
{
	struct vnet *v = d->priv;
	uint32_t n = 0;
	void *cookie;
	while ((cookie = virtq_get_used(&v->txq, 0))) {
		v->tx_free[v->tx_nfree++] = (uint16_t)((uint64_t)cookie - 1);
		n++;
	}
	return n;
}

static const void *vnet_receive(struct netdev *d, uint32_t *len)
{
	struct vnet *v = d->priv;
	uint32_t written;
	if (v->rx_current)
		return 0; /* the caller still holds the last frame */
	uint8_t *buf = virtq_get_used(&v->rxq, &written);
	if (!buf)
		return 0;
	v->rx_current = buf;
	*len = written > v->hdr_len ? written - v->hdr_len : 0;
	return buf + v->hdr_len;
}

static void vnet_rx_release(struct netdev *d)
{
	struct vnet *v = d->priv;
	if (!v->rx_current)
		return;
	post_rx(v, v->rx_current);
	v->rx_current = 0;
	virtio_kick(&v->rxq);
}

static int vnet_link_up(struct netdev *d)
{
	struct vnet *v = d->priv;
	if (!virtio_has(&v->vdev, VIRTIO_NET_F_STATUS))
		return 1; /* no status field: the link is always up (§5.1.4) */
	return virtio_cfg_read16(&v->vdev, VIRTIO_NET_CFG_STATUS) & VIRTIO_NET_S_LINK_UP;
}

static uint64_t vnet_rx_missed(struct netdev *d) { (void)d; return 0; }

static void vnet_irq(struct int_frame *f, void *arg)
{
	struct vnet *v = arg;
	(void)f;
	virtio_irq_ack(&v->vdev);
	v->net.irqs++;
	v->net.irq_pending = 1;
}

static int vnet_add(const struct pci_dev *p, const struct virtio_mmio_slot *m, const struct net_config *cfg)
{
	if (vnet_count == VNET_MAX_DEVICES)
		return 0;
	struct vnet *v = &vnets[vnet_count];
	const char *why = "";
	enum completion_mode mode = cfg->mode;
	const char *irq_unusable = virtio_unusable_mode(m, &mode);

	memset(v, 0, sizeof(*v));
	uint64_t want = (1ull << VIRTIO_NET_F_MAC) | (1ull << VIRTIO_NET_F_STATUS);
	if (cfg->mrg)
		want |= 1ull << VIRTIO_NET_F_MRG_RXBUF;
	if (virtio_init(&v->vdev, p, m, (enum virtio_transport_pref)cfg->virtio_transport, &why) ||
	    virtio_irq_setup(&v->vdev, mode, vnet_irq, v, &why))
		return virtio_give_up(&v->vdev, MODEL, why);
	if (cfg->mrg && !virtio_offers(&v->vdev, VIRTIO_NET_F_MRG_RXBUF))
		return virtio_give_up(&v->vdev, MODEL, "mrg=1 asked, but the device does not offer MRG_RXBUF");
	const char *unusable = irq_unusable;
	if (virtio_ring_want(&v->vdev, cfg->packed, &want, &unusable, &why))
		return virtio_give_up(&v->vdev, MODEL, why);
	/* No indirect tables here (indirect= applies to virtio-blk): chains are two descriptors. */
	if (virtio_negotiate(&v->vdev, want, cfg->evidx, 0, &why))
		return virtio_give_up(&v->vdev, MODEL, why);
	v->mrg = virtio_has(&v->vdev, VIRTIO_NET_F_MRG_RXBUF);
	v->hdr_len = (v->vdev.transport == VIRTIO_MODERN || v->mrg) ? VNET_HDR_MODERN : VNET_HDR_LEGACY;
	if (virtio_queue_setup(&v->vdev, &v->rxq, RX_QUEUE, VNET_QUEUE_MAX) ||
	    virtio_queue_setup(&v->vdev, &v->txq, TX_QUEUE, VNET_QUEUE_MAX))
		return virtio_give_up(&v->vdev, MODEL, "virtqueue setup failed");
	virtq_want_interrupts(&v->rxq, mode != COMPLETE_POLL);
	virtq_want_interrupts(&v->txq, mode != COMPLETE_POLL);

	v->rx_count = v->mrg ? v->rxq.size : v->rxq.size / 2;
	v->tx_count = v->txq.size / 2;
	v->rx_bufs = page_alloc((uint64_t)v->rx_count * VNET_BUF / PAGE_SIZE + 1);
	v->tx_bufs = page_alloc((uint64_t)v->tx_count * VNET_BUF / PAGE_SIZE + 1);
	v->tx_free = page_alloc(1);
	if (!v->rx_bufs || !v->tx_bufs || !v->tx_free)
		return virtio_give_up(&v->vdev, MODEL, "out of memory for packet buffers");
	for (uint16_t i = 0; i < v->rx_count; i++)
		post_rx(v, v->rx_bufs + (uint64_t)i * VNET_BUF);
	for (uint16_t i = 0; i < v->tx_count; i++)
		v->tx_free[v->tx_nfree++] = i;

	v->net = (struct netdev){
		.model = MODEL, .transport = virtio_transport_name(&v->vdev), .mode = mode,
		.pci = p, .mtu = VNET_MTU, .tx_slots = v->tx_count,
		.link_up = vnet_link_up, .transmit = vnet_transmit, .tx_complete = vnet_tx_complete,
		.receive = vnet_receive, .rx_release = vnet_rx_release, .rx_missed = vnet_rx_missed,
		.error_fields = vnet_error_fields,
		.priv = v, .unusable = unusable, .unusable_key = unusable && unusable != irq_unusable ? "ring" : 0,
		.ring = virtio_ring_name(&v->vdev),
	};
	for (int i = 0; i < 6; i++)
		v->net.mac[i] = virtio_has(&v->vdev, VIRTIO_NET_F_MAC) ?
			virtio_cfg_read8(&v->vdev, VIRTIO_NET_CFG_MAC + (uint32_t)i) : (uint8_t)(i ? i : 0x02);
	virtio_driver_ok(&v->vdev);
	virtio_kick(&v->rxq); /* the posted RX buffers */
	vnet_count++;
	net_register(&v->net);
	return 0;
}

int virtio_net_init(const struct pci_dev *p, const struct net_config *cfg) { return vnet_add(p, 0, cfg); }
int virtio_net_init_mmio(const struct virtio_mmio_slot *m, const struct net_config *cfg) { return vnet_add(0, m, cfg); }
