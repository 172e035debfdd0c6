/*
 * Intel 8254x gigabit Ethernet (the e1000 family QEMU emulates: 82540EM, 82544GC, 82545EM) and
 * the 82574L (QEMU's e1000e): one legacy receive ring and one legacy transmit ring,
 * memory-mapped registers (BAR0).
 *
 * Reference (cited as SDM): "PCI/PCI-X Family of Gigabit Ethernet Controllers Software
 * Developer's Manual" (Intel 8254x SDM, 317453006EN): §3.2 Receive descriptors, §3.3 transmit
 * descriptors, §5.6 EEPROM map, §13 register descriptions (cited by register name), §14.3
 * General Configuration, §14.4 Receive Initialization, §14.5 Transmit Initialization.
 *
 * The 82574L (cited as 82574 DS: "Intel 82574 GbE Controller Family Datasheet", 317694) keeps
 * the 8254x register offsets, the legacy descriptors (§7.1.4 legacy receive descriptor, used
 * while RFCTL.EXTEN is 0, its reset value; §7.2.10.1 legacy transmit descriptor) and the INTx
 * behaviour, and differs where this file needs it in: the EERD layout (§10.2.2.6), no
 * one-second receive hold-off in QEMU's model, and MSI-X (§7.4.2, §10.2.4: IVAR maps the
 * receive-queue, transmit-queue and "other" causes to table entries; EIAC auto-clears them).
 *
 * Per frame the driver touches the device once on each side: transmit() writes TDT, and
 * rx_release() writes RDT. Completions are found in the descriptors (DD), never in registers,
 * so poll mode adds no device access; in intx mode the handler reads ICR (which acks).
 */
#include "net.h"
#include "kernel/devio.h"
#include "kernel/interrupts.h"
#include "kernel/lib.h"
#include "kernel/memory.h"
#include "kernel/pci.h"
#include "kernel/report.h"
#include "kernel/tsc.h"

/* PCI IDs (QEMU hw/net/e1000.c; SDM §5.6 EEPROM "Device ID" defaults). */
#define PCI_VENDOR_INTEL        0x8086
#define PCI_DEVICE_82540EM      0x100e   /* -device e1000 */
#define PCI_DEVICE_82544GC      0x100c   /* -device e1000-82544gc (copper) */
#define PCI_DEVICE_82545EM      0x100f   /* -device e1000-82545em (copper) */
#define PCI_DEVICE_82574L       0x10d3   /* -device e1000e (82574 DS §9.3.3 Device ID) */
#define BAR_REGISTERS           0        /* memory BAR: the register file */

/* Register offsets (SDM §13, register summary table). */
#define REG_CTRL                0x0000   /* Device Control */
#define REG_STATUS              0x0008   /* Device Status */
#define REG_EERD                0x0014   /* EEPROM Read */
#define REG_CTRL_EXT            0x0018   /* Extended Device Control */
#define REG_ICR                 0x00c0   /* Interrupt Cause Read: read clears */
#define REG_ITR                 0x00c4   /* Interrupt Throttling, 256 ns units */
#define REG_IMS                 0x00d0   /* Interrupt Mask Set/Read */
#define REG_IMC                 0x00d8   /* Interrupt Mask Clear */
#define REG_EIAC                0x00dc   /* 82574: Interrupt Auto Clear (MSI-X causes) */
#define REG_IVAR                0x00e4   /* 82574: Interrupt Vector Allocation */
#define REG_RCTL                0x0100   /* Receive Control */
#define REG_TCTL                0x0400   /* Transmit Control */
#define REG_TIPG                0x0410   /* Transmit Inter Packet Gap */
#define REG_RDBAL               0x2800   /* Receive Descriptor Base Address Low/High */
#define REG_RDBAH               0x2804
#define REG_RDLEN               0x2808   /* ring size in bytes, a multiple of 128 */
#define REG_RDH                 0x2810
#define REG_RDT                 0x2818
#define REG_RDTR                0x2820   /* Receive Delay Timer */
#define REG_TDBAL               0x3800   /* Transmit Descriptor Base Address Low/High */
#define REG_TDBAH               0x3804
#define REG_TDLEN               0x3808
#define REG_TDH                 0x3810
#define REG_TDT                 0x3818
#define REG_MPC                 0x4010   /* Missed Packets Count: read clears */
#define REG_MTA                 0x5200   /* Multicast Table Array, 128 words */
#define MTA_WORDS               128
#define REG_RAL0                0x5400   /* Receive Address Low/High, entry 0 */
#define REG_RAH0                0x5404

/* CTRL (SDM §13 Device Control Register). */
#define CTRL_ASDE               (1u << 5)  /* auto-speed detection */
#define CTRL_SLU                (1u << 6)  /* set link up */
#define CTRL_RST                (1u << 26) /* device reset, self-clearing */
#define CTRL_PHY_RST            (1u << 31)

/* STATUS (SDM §13 Device Status Register). */
#define STATUS_LU               (1u << 1)  /* link up */

/* EERD (SDM §13 EEPROM Read Register; QEMU implements it for all three models). The 82574
 * moves DONE to bit 1 and the address to bits 2-15 (82574 DS §10.2.2.6). */
#define EERD_START              (1u << 0)
#define EERD_DONE_8254X         (1u << 4)
#define EERD_ADDR_SHIFT_8254X   8
#define EERD_DONE_82574         (1u << 1)
#define EERD_ADDR_SHIFT_82574   2
#define EERD_DATA_SHIFT         16
#define EEPROM_MAC_WORDS        3          /* words 0-2: Ethernet address (SDM §5.6) */

/* Interrupt causes: ICR, IMS, IMC share the layout (SDM §13 Interrupt Cause Read). */
#define INT_TXDW                (1u << 0)  /* transmit descriptor written back */
#define INT_LSC                 (1u << 2)  /* link status change */
#define INT_RXO                 (1u << 6)  /* receiver overrun */
#define INT_RXT0                (1u << 7)  /* receiver timer: a frame arrived */
#define INT_RXQ0                (1u << 20) /* 82574, MSI-X: receive queue 0 (replaces RXT0) */
#define INT_TXQ0                (1u << 22) /* 82574, MSI-X: transmit queue 0 (replaces TXDW) */
#define INT_OTHER               (1u << 24) /* 82574, MSI-X: any other cause (LSC, RXO, ...) */
#define INT_ALL                 0xffffffffu
#define INT_ENABLED             (INT_RXT0 | INT_TXDW | INT_LSC | INT_RXO)
#define INT_ENABLED_MSIX        (INT_RXQ0 | INT_TXQ0 | INT_OTHER | INT_LSC | INT_RXO)

/* CTRL_EXT (82574 DS §10.2.2.3): IAME keeps IMS when EIAC auto-clears a cause on MSI-X. */
#define CTRL_EXT_IAME           (1u << 27)

/* IVAR (82574 DS §10.2.4.13): a 4-bit field per cause, table entry in bits 0-2, bit 3 valid. */
#define IVAR_VALID              (1u << 3)
#define IVAR_RXQ0_SHIFT         0
#define IVAR_TXQ0_SHIFT         8
#define IVAR_OTHER_SHIFT        16
#define E1000E_MSIX_ENTRY       0          /* every cause on the one table entry we use */

/* RCTL (SDM §13 Receive Control Register). BSIZE 00 with BSEX 0: 2048-byte buffers. */
#define RCTL_EN                 (1u << 1)
#define RCTL_BAM                (1u << 15) /* accept broadcast */
#define RCTL_BSIZE_2048         (0u << 16)
#define RCTL_SECRC              (1u << 26) /* strip the Ethernet CRC */

/* RAH (SDM §13 Receive Address High). */
#define RAH_AV                  (1u << 31) /* address valid */

/* TCTL and TIPG (SDM §13 Transmit Control Register; §14.5 gives the values). */
#define TCTL_EN                 (1u << 1)
#define TCTL_PSP                (1u << 3)  /* pad short packets */
#define TCTL_CT_SHIFT           4
#define TCTL_CT_DEFAULT         0x0f       /* collision threshold */
#define TCTL_COLD_SHIFT         12
#define TCTL_COLD_FULL_DUPLEX   0x40       /* collision distance, 64 byte times */
#define TIPG_IPGT_COPPER        10         /* 82540, 82544GC, 82545 copper */
#define TIPG_IPGR1              8
#define TIPG_IPGR1_SHIFT        10
#define TIPG_IPGR2              6
#define TIPG_IPGR2_SHIFT        20

/* Receive descriptor (SDM §3.2.3) and its status/error bits. */
struct e1000_rx_desc {
	uint64_t addr;
	uint16_t length;
	uint16_t csum;
	uint8_t status;
	uint8_t errors;
	uint16_t special;
};
#define RXD_STAT_DD             (1u << 0)  /* descriptor done */
#define RXD_STAT_EOP            (1u << 1)  /* end of packet */
#define RXD_ERR_FRAME           0x97       /* CE | SE | SEQ | CXE | RXE: the frame is bad */

/* Legacy transmit descriptor (SDM §3.3.3) and its command/status bits. */
struct e1000_tx_desc {
	uint64_t addr;
	uint16_t length;
	uint8_t cso;
	uint8_t cmd;
	uint8_t status;
	uint8_t css;
	uint16_t special;
};
#define TXD_CMD_EOP             (1u << 0)  /* end of packet */
#define TXD_CMD_IFCS            (1u << 1)  /* insert FCS */
#define TXD_CMD_RS              (1u << 3)  /* report status: write DD back */
#define TXD_STAT_DD             (1u << 0)

#define RX_RING                 256        /* 4 KiB of descriptors each way */
#define TX_RING                 256
#define BUF_SIZE                2048
#define E1000_MAX_DEVICES       NET_MAX_DEVICES
#define ETH_MTU                 1500
#define ETH_MAX_LEN             1514

/*
 * Bounds in TSC cycles, good without a known tsc_hz: 2^31 is ~0.7 s at 3 GHz. After setting
 * CTRL.RST the device must be left alone for a moment (Linux's e1000 waits 5 ms before reading
 * CTRL again): RESET_SETTLE is >= 1 ms with a TSC up to 10 GHz.
 */
#define RESET_TIMEOUT           (1ull << 31)
#define RESET_SETTLE            10000000ull
#define EERD_TIMEOUT            (1ull << 28)
#define LINK_TIMEOUT            (1ull << 31)

/*
 * QEMU's e1000 model refuses frames for one second of virtual time after every RCTL write
 * (hw/net/e1000.c: flush_queue_timer; e1000_can_receive is false while it runs) and queues
 * them meanwhile; a real 8254x has no such delay. Until then the link cannot carry frames to
 * us, so link_up() says down: the benchmark's link wait covers it, for all NICs at once.
 */
#define RX_ENABLE_DELAY_MS      1100
#define RX_ENABLE_DELAY_BLIND   (5ull << 29)  /* ~1.1 s at 2.1 GHz when tsc_hz is unknown */

/* What differs between the family members this driver takes (PCI device ID). */
struct e1000_model {
	uint16_t device;
	const char *name;        /* the model, as `kvmio boot --net` names it */
	uint32_t eerd_done, eerd_addr_shift;
	int rx_hold_off;         /* QEMU holds receive back for RX_ENABLE_DELAY_MS after RCTL */
	int msix;                /* IVAR/EIAC MSI-X (82574) */
};

static const struct e1000_model e1000_models[] = {
	{ PCI_DEVICE_82540EM, "e1000", EERD_DONE_8254X, EERD_ADDR_SHIFT_8254X, 1, 0 },
	{ PCI_DEVICE_82544GC, "e1000-82544gc", EERD_DONE_8254X, EERD_ADDR_SHIFT_8254X, 1, 0 },
	{ PCI_DEVICE_82545EM, "e1000-82545em", EERD_DONE_8254X, EERD_ADDR_SHIFT_8254X, 1, 0 },
	{ PCI_DEVICE_82574L, "e1000e", EERD_DONE_82574, EERD_ADDR_SHIFT_82574, 0, 1 },
};

struct e1000 {
	struct netdev net;
	const struct e1000_model *model;
	int msix;                  /* MSI-X enabled: causes auto-clear, the handler reads nothing */
	uint64_t regs;
	struct e1000_rx_desc *rx;
	struct e1000_tx_desc *tx;
	uint8_t *rx_buf, *tx_buf;
	uint32_t rx_next;          /* next descriptor the device will fill */
	uint32_t tx_tail;          /* next descriptor to hand to the device (TDT) */
	uint32_t tx_clean;         /* oldest descriptor not yet reclaimed */
	uint64_t missed;           /* MPC accumulated (the register clears on read) */
	uint64_t rx_ready_at;      /* TSC when QEMU starts accepting frames; 0 once passed */
	const char *why;           /* for the error record */
	uint8_t vector;            /* 0 in poll mode */
	struct e1000 *irq_next;    /* the next NIC on the same INTx line */
};

static struct e1000 nics[E1000_MAX_DEVICES];
static unsigned nic_count;

static uint32_t rd(const struct e1000 *e, uint32_t reg) { return dev_mmio_read32(e->regs + reg); }
static void wr(const struct e1000 *e, uint32_t reg, uint32_t v) { dev_mmio_write32(e->regs + reg, v); }

static void spin_cycles(uint64_t n)
{
	uint64_t start = ts_read();
	while (ts_read() - start < n)
		cpu_relax();
}

/* ---- the netdev operations ---- */

static int e1000_link_up(struct netdev *d)
{
	struct e1000 *e = d->priv;
	if (!(rd(e, REG_STATUS) & STATUS_LU))
		return 0;
	if (e->rx_ready_at && ts_read() < e->rx_ready_at)
		return 0;
	e->rx_ready_at = 0;
	return 1;
}

/* One frame per descriptor (§3.3.3): EOP, FCS inserted by the device, DD written back. */
static int e1000_transmit(struct netdev *d, const void *frame, uint32_t len)
{
	struct e1000 *e = d->priv;
	uint32_t next = (e->tx_tail + 1) % TX_RING;
	if (next == e->tx_clean || len > ETH_MAX_LEN)
		return -1;
	volatile struct e1000_tx_desc *t = &e->tx[e->tx_tail];
	memcpy(e->tx_buf + (uint64_t)e->tx_tail * BUF_SIZE, frame, len);
	t->length = (uint16_t)len;
	t->cmd = TXD_CMD_EOP | TXD_CMD_IFCS | TXD_CMD_RS;
	t->status = 0;
	barrier();
	e->tx_tail = next;
	wr(e, REG_TDT, next);
	return 0;
}

static uint32_t e1000_tx_complete(struct netdev *d)
{
	struct e1000 *e = d->priv;
	uint32_t n = 0;
	while (e->tx_clean != e->tx_tail) {
		volatile struct e1000_tx_desc *t = &e->tx[e->tx_clean];
		if (!(t->status & TXD_STAT_DD))
			break;
		t->status = 0;
		e->tx_clean = (e->tx_clean + 1) % TX_RING;
		n++;
	}
	return n;
}

/* Give descriptor rx_next back to the device: RDT names the first descriptor the device may
 * not fill, so writing this one's index hands it the one before (§14.4; the ring keeps one
 * descriptor unused so that RDH == RDT always means empty). */
static void rx_give_back(struct e1000 *e)
{
	volatile struct e1000_rx_desc *r = &e->rx[e->rx_next];
	r->status = 0;
	barrier();
	wr(e, REG_RDT, e->rx_next);
	e->rx_next = (e->rx_next + 1) % RX_RING;
}

/*
 * The next good frame. With 2048-byte buffers and long-packet reception off every frame fits
 * in one descriptor; a descriptor without EOP or with a frame error is recycled and skipped.
 */
static const void *e1000_receive(struct netdev *d, uint32_t *len)
{
	struct e1000 *e = d->priv;
	for (;;) {
		volatile struct e1000_rx_desc *r = &e->rx[e->rx_next];
		uint8_t status = r->status;
		if (!(status & RXD_STAT_DD))
			return 0;
		barrier();
		if ((status & RXD_STAT_EOP) && !(r->errors & RXD_ERR_FRAME) && r->length) {
			*len = r->length;
			return e->rx_buf + (uint64_t)e->rx_next * BUF_SIZE;
		}
		rx_give_back(e);
	}
}

static void e1000_rx_release(struct netdev *d)
{
	rx_give_back(d->priv);
}

static uint64_t e1000_rx_missed(struct netdev *d)
{
	struct e1000 *e = d->priv;
	e->missed += rd(e, REG_MPC);
	return e->missed;
}

/*
 * Reading ICR acknowledges every cause and deasserts the line (§13 ICR). INTx lines can be
 * shared, so the handler asks every NIC on its line; a read of 0 means "not this one".
 */
static void e1000_irq(struct int_frame *f, void *arg)
{
	(void)f;
	struct e1000 *first = arg;
	if (first->msix) { /* a vector of its own; EIAC cleared the causes (82574 DS §7.4.2) */
		first->net.irqs++;
		first->net.irq_pending = 1;
		return;
	}
	for (struct e1000 *e = arg; e; e = e->irq_next) {
		if (!rd(e, REG_ICR))
			continue;
		e->net.irqs++;
		e->net.irq_pending = 1;
	}
}

/* ---- bring-up ---- */

static const struct e1000_model *model_of(const struct pci_dev *p)
{
	if (p->vendor != PCI_VENDOR_INTEL)
		return 0;
	for (unsigned i = 0; i < ARRAY_SIZE(e1000_models); i++)
		if (e1000_models[i].device == p->device)
			return &e1000_models[i];
	return 0;
}

int e1000_match(const struct pci_dev *p)
{
	return model_of(p) != 0;
}

/* §14.3: mask everything, stop both units, then CTRL.RST; it clears itself when done. */
static int reset(struct e1000 *e)
{
	wr(e, REG_IMC, INT_ALL);
	wr(e, REG_RCTL, 0);
	wr(e, REG_TCTL, TCTL_PSP);
	wr(e, REG_CTRL, rd(e, REG_CTRL) | CTRL_RST);
	spin_cycles(RESET_SETTLE);
	uint64_t start = ts_read();
	while (rd(e, REG_CTRL) & CTRL_RST) {
		if (ts_read() - start > RESET_TIMEOUT)
			return -1;
		cpu_relax();
	}
	wr(e, REG_IMC, INT_ALL); /* reset may leave causes pending: mask and drop them */
	rd(e, REG_ICR);
	return 0;
}

static int eeprom_read(struct e1000 *e, uint32_t word, uint16_t *out)
{
	wr(e, REG_EERD, EERD_START | word << e->model->eerd_addr_shift);
	uint64_t start = ts_read();
	for (;;) {
		uint32_t v = rd(e, REG_EERD);
		if (v & e->model->eerd_done) {
			*out = (uint16_t)(v >> EERD_DATA_SHIFT);
			return 0;
		}
		if (ts_read() - start > EERD_TIMEOUT)
			return -1;
		cpu_relax();
	}
}

/* The station address: RAL0/RAH0 as loaded from the EEPROM at reset, else EEPROM words 0-2
 * (§5.6.1); then programmed back into RAL0/RAH0 with AV so unicast filtering accepts it. */
static int read_mac(struct e1000 *e, uint8_t mac[6])
{
	uint32_t lo = rd(e, REG_RAL0), hi = rd(e, REG_RAH0) & 0xffff;
	if (!lo && !hi) {
		for (uint32_t w = 0; w < EEPROM_MAC_WORDS; w++) {
			uint16_t v;
			if (eeprom_read(e, w, &v))
				return -1;
			if (w < 2)
				lo |= (uint32_t)v << (16 * w);
			else
				hi = v;
		}
	}
	for (int i = 0; i < 4; i++)
		mac[i] = (uint8_t)(lo >> (8 * i));
	mac[4] = (uint8_t)hi;
	mac[5] = (uint8_t)(hi >> 8);
	wr(e, REG_RAL0, lo);
	wr(e, REG_RAH0, hi | RAH_AV);
	return 0;
}

/* §14.4: multicast table cleared, ring base/length, head 0, tail at the last descriptor (all
 * but one owned by the device), then RCTL. */
static int setup_rx(struct e1000 *e)
{
	e->rx = page_alloc(ALIGN_UP(sizeof(*e->rx) * RX_RING, PAGE_SIZE) / PAGE_SIZE);
	e->rx_buf = page_alloc((uint64_t)RX_RING * BUF_SIZE / PAGE_SIZE);
	if (!e->rx || !e->rx_buf)
		return -1;
	for (uint32_t i = 0; i < RX_RING; i++)
		e->rx[i].addr = (uint64_t)(e->rx_buf + (uint64_t)i * BUF_SIZE);
	for (uint32_t i = 0; i < MTA_WORDS; i++)
		wr(e, REG_MTA + 4 * i, 0);
	uint64_t base = (uint64_t)e->rx;
	wr(e, REG_RDBAL, (uint32_t)base);
	wr(e, REG_RDBAH, (uint32_t)(base >> 32));
	wr(e, REG_RDLEN, RX_RING * sizeof(*e->rx));
	wr(e, REG_RDH, 0);
	wr(e, REG_RDT, RX_RING - 1);
	wr(e, REG_RDTR, 0); /* no receive delay: RXT0 as each frame lands */
	e->rx_next = 0;
	wr(e, REG_RCTL, RCTL_EN | RCTL_BAM | RCTL_BSIZE_2048 | RCTL_SECRC);
	if (e->model->rx_hold_off) {
		uint64_t hz = tsc_hz();
		e->rx_ready_at = ts_read() + (hz ? hz / 1000 * RX_ENABLE_DELAY_MS
						 : RX_ENABLE_DELAY_BLIND);
	}
	return 0;
}

/* §14.5: ring base/length, head = tail = 0 (empty), TCTL with the recommended CT and
 * full-duplex COLD, TIPG for copper. */
static int setup_tx(struct e1000 *e)
{
	e->tx = page_alloc(ALIGN_UP(sizeof(*e->tx) * TX_RING, PAGE_SIZE) / PAGE_SIZE);
	e->tx_buf = page_alloc((uint64_t)TX_RING * BUF_SIZE / PAGE_SIZE);
	if (!e->tx || !e->tx_buf)
		return -1;
	for (uint32_t i = 0; i < TX_RING; i++)
		e->tx[i].addr = (uint64_t)(e->tx_buf + (uint64_t)i * BUF_SIZE);
	uint64_t base = (uint64_t)e->tx;
	wr(e, REG_TDBAL, (uint32_t)base);
	wr(e, REG_TDBAH, (uint32_t)(base >> 32));
	wr(e, REG_TDLEN, TX_RING * sizeof(*e->tx));
	wr(e, REG_TDH, 0);
	wr(e, REG_TDT, 0);
	e->tx_tail = e->tx_clean = 0;
	wr(e, REG_TIPG, TIPG_IPGT_COPPER | TIPG_IPGR1 << TIPG_IPGR1_SHIFT |
			TIPG_IPGR2 << TIPG_IPGR2_SHIFT);
	wr(e, REG_TCTL, TCTL_EN | TCTL_PSP | TCTL_CT_DEFAULT << TCTL_CT_SHIFT |
			TCTL_COLD_FULL_DUPLEX << TCTL_COLD_SHIFT);
	return 0;
}

/*
 * MSI-X on the 82574 (82574 DS §7.4.2): table entry E1000E_MSIX_ENTRY for the receive-queue-0,
 * transmit-queue-0 and other causes (IVAR), auto-cleared when the message is sent (EIAC) with
 * IMS kept (CTRL_EXT.IAME), so the handler touches no register: one message per event.
 */
static int setup_msix(struct e1000 *e, const struct pci_dev *p, uint8_t vector)
{
	if (pci_msix_enable(p, E1000E_MSIX_ENTRY, vector))
		return -1;
	wr(e, REG_IVAR, (IVAR_VALID | E1000E_MSIX_ENTRY) << IVAR_RXQ0_SHIFT |
			(IVAR_VALID | E1000E_MSIX_ENTRY) << IVAR_TXQ0_SHIFT |
			(IVAR_VALID | E1000E_MSIX_ENTRY) << IVAR_OTHER_SHIFT);
	wr(e, REG_EIAC, INT_RXQ0 | INT_TXQ0 | INT_OTHER);
	wr(e, REG_CTRL_EXT, rd(e, REG_CTRL_EXT) | CTRL_EXT_IAME);
	e->msix = 1;
	return 0;
}

/*
 * irq=msix: MSI-X on the 82574; the 8254x have none. Real 82540EM/82545EM parts have an MSI
 * capability, and if the function shows one we use it; QEMU's 8254x models show none, so the
 * NIC comes up polled and is marked unusable (refused only if chosen).
 */
static int setup_interrupts(struct e1000 *e, const struct pci_dev *p, enum completion_mode *mode)
{
	int msix = *mode == COMPLETE_MSIX && e->model->msix && pci_msix_count(p) > 0;
	if (*mode == COMPLETE_MSIX && !msix && !pci_find_cap(p, PCI_CAP_MSI)) {
		e->net.unusable = "this e1000 model has no MSI or MSI-X: use irq=poll or irq=intx";
		*mode = COMPLETE_POLL;
	}
	if (*mode == COMPLETE_POLL)
		return 0;
	if (*mode == COMPLETE_INTX) {
		/* Another e1000 already on this line: join its handler's list (firmware often
		 * gives neighbouring slots the same line, e.g. on q35). */
		for (unsigned i = 0; i < nic_count; i++) {
			struct e1000 *o = &nics[i];
			if (o->net.mode == COMPLETE_INTX && o->net.pci->irq_line == p->irq_line) {
				e->vector = o->vector;
				e->irq_next = o->irq_next;
				o->irq_next = e;
				return 0;
			}
		}
	}
	uint8_t vector = irq_alloc_vector();
	if (!vector) {
		e->why = "no free interrupt vector";
		return -1;
	}
	irq_register(vector, e1000_irq, e);
	if (msix ? setup_msix(e, p, vector)
		 : *mode == COMPLETE_MSIX ? pci_msi_enable(p, vector) : pci_intx_route(p, vector)) {
		e->why = msix ? "MSI-X setup failed" : *mode == COMPLETE_MSIX ? "MSI setup failed"
			: "INTx routing failed (no interrupt line or I/O APIC)";
		return -1;
	}
	e->vector = vector;
	return 0;
}

static int bring_up(struct e1000 *e, const struct pci_dev *p, const struct net_config *cfg)
{
	if (p->bar[BAR_REGISTERS].type != BAR_MEM32 && p->bar[BAR_REGISTERS].type != BAR_MEM64) {
		e->why = "BAR0 is not a memory BAR";
		return -1;
	}
	e->regs = pci_bar_address(p, BAR_REGISTERS);
	if (!e->regs) {
		e->why = "BAR0 unassigned";
		return -1;
	}
	pci_enable(p, 1);
	if (reset(e)) {
		e->why = "reset timed out (CTRL.RST stayed set)";
		return -1;
	}
	/* §14.3 / link setup: MAC-PHY auto-speed detection, force link up, no PHY reset. */
	wr(e, REG_CTRL, (rd(e, REG_CTRL) | CTRL_SLU | CTRL_ASDE) & ~CTRL_PHY_RST);
	if (read_mac(e, e->net.mac)) {
		e->why = "EEPROM read timed out (no MAC address)";
		return -1;
	}
	if (setup_rx(e) || setup_tx(e)) {
		e->why = "out of memory for descriptor rings";
		return -1;
	}
	enum completion_mode mode = cfg->mode;
	if (setup_interrupts(e, p, &mode))
		return -1;
	e->net.mode = mode;
	if (cfg->itr >= 0)
		wr(e, REG_ITR, (uint32_t)cfg->itr);
	rd(e, REG_ICR);
	wr(e, REG_IMS, mode == COMPLETE_POLL ? 0 : e->msix ? INT_ENABLED_MSIX : INT_ENABLED);
	/* Autonegotiation can take a while on real parts; a link that stays down is not a
	 * driver failure (the benchmark checks link_up), so only wait, bounded. */
	uint64_t start = ts_read();
	while (!(rd(e, REG_STATUS) & STATUS_LU) && ts_read() - start < LINK_TIMEOUT)
		cpu_relax();
	return 0;
}

int e1000_init(const struct pci_dev *p, const struct net_config *cfg)
{
	const struct e1000_model *model = model_of(p);
	if (nic_count == E1000_MAX_DEVICES || net_count() == NET_MAX_DEVICES)
		return report_device_error(model->name, p, "too many NICs");
	struct e1000 *e = &nics[nic_count];
	*e = (struct e1000){ .model = model };
	e->net = (struct netdev){
		.model = model->name, .transport = "pci", .mode = cfg->mode, .pci = p,
		.mtu = ETH_MTU, .tx_slots = TX_RING - 1,
		.link_up = e1000_link_up, .transmit = e1000_transmit,
		.tx_complete = e1000_tx_complete, .receive = e1000_receive,
		.rx_release = e1000_rx_release, .rx_missed = e1000_rx_missed, .priv = e,
	};
	if (bring_up(e, p, cfg)) {
		if (e->regs) { /* leave it quiet */
			wr(e, REG_IMC, INT_ALL);
			wr(e, REG_RCTL, 0);
			wr(e, REG_TCTL, 0);
		}
		return report_device_error(model->name, p, e->why);
	}
	net_register(&e->net); /* room checked above */
	nic_count++;
	return 0;
}
