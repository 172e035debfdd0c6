/*
 * Realtek RTL8139 (10ec:8139) Fast Ethernet, through its I/O-port BAR as the drivers of the
 * era did: a receive ring buffer the device fills with [header, frame, FCS] records, and four
 * transmit descriptors (buffer address + status/size register) used in turn.
 *
 * References (cited by section name): Realtek RTL8139C(L)/RTL8139D(L) datasheets, "Register
 * Descriptions" (the register table, Receive Status Register in Rx packet header, Transmit
 * Status Register, Command Register, ISR/IMR, TCR, RCR, 9346CR, CONFIG1, MSR, BMSR) and
 * "Functional Description" (Transmit, Receive); Realtek "RTL8139(A/B) Programming Guide"
 * (Initialization, Packet Transmission, Packet Reception).
 *
 * Accesses per frame, in the common path: transmit = 1 write (TSD), completion = 1 read per
 * finished slot (TSD); receive = 1 read (CR.BUFE), release = 1 write (CAPR); one more CR read
 * when the ring is found empty. In irq=intx the handler adds 2 per interrupt (ISR read, ack).
 */
#include "net.h"
#include "kernel/devio.h"
#include "kernel/interrupts.h"
#include "kernel/lib.h"
#include "kernel/memory.h"
#include "kernel/pci.h"
#include "kernel/report.h"
#include "kernel/tsc.h"

#define PCI_VENDOR_REALTEK   0x10ec
#define PCI_DEVICE_RTL8139   0x8139
#define RTL_IO_BAR           0

/* Register offsets from the I/O base (datasheet, register table). */
#define REG_IDR0             0x00   /* IDR0-5: station (MAC) address */
#define REG_TSD0             0x10   /* TSD0-3: transmit status of descriptor n, 32 bits each */
#define REG_TSAD0            0x20   /* TSAD0-3: transmit start address of descriptor n */
#define REG_RBSTART          0x30   /* receive ring buffer start (physical, 32 bits) */
#define REG_CR               0x37   /* command register, 8 bits */
#define REG_CAPR             0x38   /* current address of packet read, 16 bits */
#define REG_IMR              0x3c   /* interrupt mask, 16 bits */
#define REG_ISR              0x3e   /* interrupt status, 16 bits, write 1 to clear */
#define REG_TCR              0x40   /* transmit configuration */
#define REG_RCR              0x44   /* receive configuration */
#define REG_MPC              0x4c   /* missed packet counter: 24 bits, cleared by any write */
#define REG_9346CR           0x50   /* 93C46 command register: config register write enable */
#define REG_CONFIG1          0x52
#define REG_MSR              0x58   /* media status */
#define TSD(n)               (REG_TSD0 + 4 * (n))
#define TSAD(n)              (REG_TSAD0 + 4 * (n))
#define MAC_LEN              6

/* Command Register. */
#define CR_BUFE              0x01   /* receive buffer empty: the ring holds no unread packet */
#define CR_TE                0x04
#define CR_RE                0x08
#define CR_RST               0x10   /* software reset; reads 1 until the reset is done */

/* 9346CR operating mode (EEM1:0): 11 = config register write enable, 00 = normal. */
#define CFG9346_NORMAL       0x00
#define CFG9346_CONFIG_WRITE 0xc0

/* Media Status Register. */
#define MSR_LINKB            0x04   /* inverse of link status: 0 = link ok */

/* CONFIG1: all zero = powered on (no PWRDN/SLEEP on the 8139/8139A, no PM/LWAKE later). */
#define CONFIG1_POWER_ON     0x00

/* Interrupt Status / Mask Register bits. */
#define INT_ROK              0x0001
#define INT_RER              0x0002
#define INT_TOK              0x0004
#define INT_TER              0x0008
#define INT_RXOVW            0x0010 /* receive buffer overflow */
#define INT_FOVW             0x0040 /* receive FIFO overflow */
#define INT_ALL              0xffff
#define INT_NONE             0x0000
#define INT_MASK_INTX        (INT_ROK | INT_RER | INT_TOK | INT_TER | INT_RXOVW | INT_FOVW)

/* Receive Configuration Register. */
#define RCR_APM              (1u << 1)  /* accept physical match (our MAC) */
#define RCR_AB               (1u << 3)  /* accept broadcast */
#define RCR_WRAP             (1u << 7)  /* 1: a packet near the end continues past it (no wrap) */
#define RCR_MXDMA_UNLIMITED  (7u << 8)  /* max DMA burst per receive transfer */
#define RCR_RBLEN_32K        (2u << 11) /* ring length 8K << RBLEN, plus 16 bytes */
#define RCR_RXFTH_NONE       (7u << 13) /* receive FIFO threshold: whole packet first */
#define RCR_CONFIG           (RCR_RXFTH_NONE | RCR_RBLEN_32K | RCR_MXDMA_UNLIMITED | RCR_WRAP | \
			      RCR_AB | RCR_APM)

/* Transmit Configuration Register. */
#define TCR_CLRABT           (1u << 0)  /* leave the transmit-abort state: retransmit */
#define TCR_TXRR_SHIFT       4          /* retries are 16 + 16 * TXRR */
#define TCR_MXDMA_1024       (6u << 8)  /* max DMA burst per transmit transfer */
#define TCR_IFG_STANDARD     (3u << 24) /* 9.6 us / 960 ns interframe gap, IEEE 802.3 */
#define TCR_CONFIG           (TCR_IFG_STANDARD | TCR_MXDMA_1024 | (0u << TCR_TXRR_SHIFT))

/* Transmit Status Register (TSD0-3). Writing SIZE with OWN = 0 starts the transmission. */
#define TSD_SIZE_MASK        0x1fffu
#define TSD_OWN              (1u << 13) /* set by the device when the DMA to its FIFO is done */
#define TSD_TUN              (1u << 14) /* FIFO underrun during the transmission */
#define TSD_TOK              (1u << 15) /* transmitted */
#define TSD_ERTXTH_SHIFT     16         /* early transmit threshold, in 32-byte units */
#define TSD_ERTXTH_256       (8u << TSD_ERTXTH_SHIFT)
#define TSD_TABT             (1u << 30) /* transmission aborted (excess collisions) */
#define TSD_DONE             (TSD_TOK | TSD_TUN | TSD_TABT)

/* Receive Status Register in the Rx packet header (low half; the high half is the length of
 * frame + FCS). */
#define RXS_ROK              0x0001
#define RXS_FAE              0x0002 /* frame alignment error */
#define RXS_CRC              0x0004
#define RXS_LONG             0x0008 /* > 4 KiB */
#define RXS_RUNT             0x0010 /* < 64 bytes */
#define RXS_ISE              0x0020 /* invalid symbol (100BASE-TX) */
#define RXS_ERRORS           (RXS_FAE | RXS_CRC | RXS_LONG | RXS_RUNT | RXS_ISE)
#define RX_HDR_LEN           4
#define RX_FCS_LEN           4
#define RX_LEN_EARLY         0xfff0 /* header of a packet still being copied (early receive) */
#define RX_MIN_LEN           8      /* below this the header cannot be right */
#define RX_ALIGN             4      /* each packet starts on a 32-bit boundary */
#define CAPR_OFFSET          16     /* CAPR is written 16 below the read offset (Programming
				     * Guide, Packet Reception; the device adds 16 back) */

/* Ring: 32 KiB + 16 (RBLEN). With WRAP = 1 a packet that starts near the end runs on past it,
 * so the buffer needs slack after the ring: 1.5 KiB in the datasheet's words for a full-size
 * frame; we leave room for the largest frame QEMU's net layer can hand a NIC (68 KiB), so
 * not even a jumbo frame from a peer writes past our buffer (it is then dropped as bad). */
#define RX_RING_LEN          32768u
#define RX_RING_PAD          16u
#define RX_SLACK             69632u
#define RX_BUF_BYTES         (RX_RING_LEN + RX_RING_PAD + RX_SLACK)

#define TX_SLOTS             4
#define TX_BUF_SIZE          2048u  /* >= 1792, the largest SIZE the device takes; 32-bit aligned */

#define MTU                  1500
#define ETH_MAX_FRAME_LEN    1514   /* without FCS */

/* Bounds in TSC cycles (tsc_hz is not known to drivers): 2^31 is ~0.7 s at 3 GHz. The reset
 * takes microseconds on hardware, none in QEMU. */
#define RESET_TIMEOUT        (1ull << 31)

#define RTL_MAX_DEVICES      NET_MAX_DEVICES

struct rtl8139 {
	struct netdev net;
	uint16_t io;
	uint8_t vector;
	struct rtl8139 *irq_next;   /* others on the same (shared) INTx vector */
	uint8_t *rx_ring;
	uint32_t rx_off;            /* where the next packet header is */
	uint32_t rx_held;           /* length field (frame + FCS) of the frame handed out, 0 none */
	uint8_t *tx_buf[TX_SLOTS];
	uint32_t tx_head;           /* next slot to fill */
	uint32_t tx_tail;           /* oldest slot in flight */
	uint32_t tx_inflight;
	uint32_t mpc_last;          /* MPC value at the last rx_missed */
	uint64_t missed;            /* MPC increments, accumulated */
	uint64_t rx_bad;            /* frames with error status or bad headers, dropped here */
	uint64_t tx_errors;         /* underruns and aborts */
};

static struct rtl8139 rtls[RTL_MAX_DEVICES];
static unsigned rtl_count;

int rtl8139_match(const struct pci_dev *p)
{
	return p->vendor == PCI_VENDOR_REALTEK && p->device == PCI_DEVICE_RTL8139;
}

/* ---- transmit (datasheet, Functional Description: Transmit; Programming Guide, Packet
 * Transmission): the four descriptors are used round-robin, in the order the device serves
 * them. ---- */

static int rtl_transmit(struct netdev *d, const void *frame, uint32_t len)
{
	struct rtl8139 *r = d->priv;
	if (r->tx_inflight == TX_SLOTS)
		return -1;
	uint32_t slot = r->tx_head;
	memcpy(r->tx_buf[slot], frame, len);
	barrier(); /* the frame is in memory before the device is told to fetch it */
	dev_outl(r->io + TSD(slot), TSD_ERTXTH_256 | (len & TSD_SIZE_MASK)); /* OWN = 0: go */
	r->tx_head = (slot + 1) % TX_SLOTS;
	r->tx_inflight++;
	return 0;
}

/* Oldest first: a slot is free again once TOK (or an error) shows in its TSD. */
static uint32_t rtl_tx_complete(struct netdev *d)
{
	struct rtl8139 *r = d->priv;
	uint32_t done = 0;
	while (r->tx_inflight) {
		uint32_t tsd = dev_inl(r->io + TSD(r->tx_tail));
		if (!(tsd & TSD_DONE))
			break;
		if (tsd & TSD_TABT) {
			/* The transmitter stays in the abort state until CLRABT, which retransmits
			 * this descriptor (TCR, CLRABT): the slot stays in flight. */
			r->tx_errors++;
			dev_outl(r->io + REG_TCR, TCR_CONFIG | TCR_CLRABT);
			break;
		}
		if (tsd & TSD_TUN)
			r->tx_errors++;
		r->tx_tail = (r->tx_tail + 1) % TX_SLOTS;
		r->tx_inflight--;
		done++;
	}
	return done;
}

/* ---- receive (datasheet, Functional Description: Receive; Programming Guide, Packet
 * Reception) ---- */

/* Resynchronise after a header that cannot be right: restart the receiver with an empty
 * ring, as the Programming Guide's error recovery (and Linux's 8139too) does. */
static void rx_restart(struct rtl8139 *r)
{
	dev_outb(r->io + REG_CR, CR_TE);
	dev_outb(r->io + REG_CR, CR_RE | CR_TE);
	dev_outl(r->io + REG_RBSTART, (uint32_t)(uintptr_t)r->rx_ring);
	dev_outl(r->io + REG_RCR, RCR_CONFIG);
	r->rx_off = 0;
	r->rx_held = 0;
}

/* Step past the packet whose length field is len and tell the device (CAPR). */
static void rx_advance(struct rtl8139 *r, uint32_t len)
{
	r->rx_off = (uint32_t)ALIGN_UP(r->rx_off + RX_HDR_LEN + len, RX_ALIGN) % RX_RING_LEN;
	dev_outw(r->io + REG_CAPR, (uint16_t)(r->rx_off - CAPR_OFFSET));
}

static const void *rtl_receive(struct netdev *d, uint32_t *len)
{
	struct rtl8139 *r = d->priv;
	for (;;) {
		if (dev_inb(r->io + REG_CR) & CR_BUFE)
			return 0;
		barrier(); /* read the header only after the device said it is there */
		uint32_t hdr = *(volatile uint32_t *)(r->rx_ring + r->rx_off);
		uint32_t status = hdr & 0xffff, plen = hdr >> 16;
		if (plen == RX_LEN_EARLY)
			return 0; /* still being copied in: try again later */
		if (plen < RX_MIN_LEN || plen > RX_SLACK) {
			r->rx_bad++;
			rx_restart(r);
			return 0;
		}
		if (!(status & RXS_ROK) || (status & RXS_ERRORS) ||
		    plen - RX_FCS_LEN > ETH_MAX_FRAME_LEN) {
			r->rx_bad++;
			rx_advance(r, plen);
			continue;
		}
		r->rx_held = plen;
		*len = plen - RX_FCS_LEN;
		return r->rx_ring + r->rx_off + RX_HDR_LEN;
	}
}

static void rtl_rx_release(struct netdev *d)
{
	struct rtl8139 *r = d->priv;
	if (!r->rx_held)
		return;
	rx_advance(r, r->rx_held);
	r->rx_held = 0;
}

/* MPC counts frames the device dropped for lack of ring space (24 bits, cleared by writes:
 * we only read it and accumulate the difference, so no count is lost between read and
 * clear). Frames dropped here for a bad status are added: they did not arrive either.
 * QEMU's model counts every refused delivery attempt in MPC, and its net layer queues and
 * retries the frame: there MPC can grow while nothing is lost (only once the ring is full). */
static uint64_t rtl_rx_missed(struct netdev *d)
{
	struct rtl8139 *r = d->priv;
	uint32_t mpc = dev_inl(r->io + REG_MPC) & 0xffffff;
	r->missed += (mpc - r->mpc_last) & 0xffffff;
	r->mpc_last = mpc;
	return r->missed + r->rx_bad;
}

/* MSR.LINKB is inverted: 0 = link ok. */
static int rtl_link_up(struct netdev *d)
{
	struct rtl8139 *r = d->priv;
	return !(dev_inb(r->io + REG_MSR) & MSR_LINKB);
}

/* ---- interrupts: INTx only (no MSI/MSI-X capability) ---- */

/* ISR bits are write-1-to-clear; acking them deasserts the level-triggered line. Every
 * rtl8139 on the vector is looked at, as the line may be shared. */
static void rtl_irq(struct int_frame *f, void *arg)
{
	(void)f;
	for (struct rtl8139 *r = arg; r; r = r->irq_next) {
		uint16_t isr = dev_inw(r->io + REG_ISR);
		if (!isr || isr == INT_ALL)
			continue; /* not this one (or gone) */
		dev_outw(r->io + REG_ISR, isr);
		r->net.irqs++;
		r->net.irq_pending = 1;
	}
}

static int setup_intx(struct rtl8139 *r)
{
	const struct pci_dev *p = r->net.pci;
	for (unsigned i = 0; i < rtl_count; i++) {
		struct rtl8139 *o = &rtls[i];
		if (o != r && o->vector && o->net.pci->irq_line == p->irq_line) {
			/* Same line as an rtl8139 already routed: share its vector and handler. */
			while (o->irq_next)
				o = o->irq_next;
			o->irq_next = r;
			r->vector = o->vector;
			return 0;
		}
	}
	uint8_t v = irq_alloc_vector();
	if (!v)
		return -1;
	irq_register(v, rtl_irq, r);
	if (pci_intx_route(p, v))
		return -1;
	r->vector = v;
	return 0;
}

/* ---- bring-up (Programming Guide, Initialization) ---- */

static int soft_reset(uint16_t io)
{
	dev_outb(io + REG_CR, CR_RST);
	uint64_t start = ts_read();
	while (dev_inb(io + REG_CR) & CR_RST) {
		if (ts_read() - start > RESET_TIMEOUT)
			return -1;
		cpu_relax();
	}
	return 0;
}

int rtl8139_init(const struct pci_dev *p, const struct net_config *cfg)
{
	if (rtl_count == RTL_MAX_DEVICES)
		return report_device_error("rtl8139", p, "too many rtl8139 NICs");
	if (p->bar[RTL_IO_BAR].type != BAR_IO || !pci_bar_address(p, RTL_IO_BAR))
		return report_device_error("rtl8139", p, "BAR0 is not an assigned I/O BAR");
	struct rtl8139 *r = &rtls[rtl_count];
	*r = (struct rtl8139){ .io = (uint16_t)pci_bar_address(p, RTL_IO_BAR) };
	enum completion_mode mode = cfg->mode == COMPLETE_MSIX ? COMPLETE_POLL : cfg->mode;
	uint16_t io = r->io;

	pci_enable(p, 1);
	/* Power on: CONFIG1 is writable only with 9346CR in config-write mode (9346CR, CONFIG1). */
	dev_outb(io + REG_9346CR, CFG9346_CONFIG_WRITE);
	dev_outb(io + REG_CONFIG1, CONFIG1_POWER_ON);
	dev_outb(io + REG_9346CR, CFG9346_NORMAL);
	if (soft_reset(io))
		return report_device_error("rtl8139", p,
					   "rtl8139 software reset did not complete (CR.RST stays set)");
	dev_outw(io + REG_IMR, INT_NONE);

	/* DMA addresses are 32 bits: page_alloc memory is below 4 GiB and identity-mapped. */
	r->rx_ring = page_alloc(ALIGN_UP(RX_BUF_BYTES, PAGE_SIZE) / PAGE_SIZE);
	uint8_t *tx = page_alloc(ALIGN_UP(TX_SLOTS * TX_BUF_SIZE, PAGE_SIZE) / PAGE_SIZE);
	if (!r->rx_ring || !tx)
		return report_device_error("rtl8139", p, "out of memory for rtl8139 buffers");
	dev_outl(io + REG_RBSTART, (uint32_t)(uintptr_t)r->rx_ring);
	for (int i = 0; i < TX_SLOTS; i++) {
		r->tx_buf[i] = tx + i * TX_BUF_SIZE;
		dev_outl(io + TSAD(i), (uint32_t)(uintptr_t)r->tx_buf[i]);
	}

	/* The transmitter and receiver are enabled before TCR/RCR are written: the device takes
	 * the configuration only then (Programming Guide, Initialization; QEMU ignores TCR
	 * writes while TE is clear). Writing RCR also starts the ring at offset 0. */
	dev_outb(io + REG_CR, CR_RE | CR_TE);
	dev_outl(io + REG_RCR, RCR_CONFIG);
	dev_outl(io + REG_TCR, TCR_CONFIG);
	dev_outl(io + REG_MPC, 0);
	dev_outw(io + REG_ISR, INT_ALL);

	r->net = (struct netdev){
		.model = "rtl8139", .transport = "pci", .mode = mode, .pci = p, .mtu = MTU,
		.tx_slots = TX_SLOTS,
		.unusable = cfg->mode == COMPLETE_MSIX
				    ? "rtl8139 has no MSI or MSI-X: use irq=poll or irq=intx" : 0,
		.link_up = rtl_link_up, .transmit = rtl_transmit, .tx_complete = rtl_tx_complete,
		.receive = rtl_receive, .rx_release = rtl_rx_release, .rx_missed = rtl_rx_missed,
		.priv = r,
	};
	/* The station address, loaded from the EEPROM at reset (IDR0-5). */
	for (int i = 0; i < MAC_LEN; i++)
		r->net.mac[i] = dev_inb(io + REG_IDR0 + i);

	if (mode == COMPLETE_INTX) {
		if (setup_intx(r))
			return report_device_error("rtl8139", p,
						   "INTx routing failed (no interrupt line, I/O APIC or vector)");
		dev_outw(io + REG_IMR, INT_MASK_INTX);
	}
	rtl_count++;
	if (net_register(&r->net) < 0)
		return report_device_error("rtl8139", p, "too many NICs");
	return 0;
}
