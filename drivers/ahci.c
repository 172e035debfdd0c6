/*
 * SATA disks behind an AHCI host bus adapter (PCI class 01:06 prog-if 01: QEMU's ich9-ahci,
 * built into q35, `-device ahci` on pc).
 *
 * References (cited below by section): Serial ATA AHCI 1.3.1 (AHCI): §3.1 HBA registers,
 * §3.3 port registers, §4.2 system memory structures (received FIS, command list, command
 * table, PRD), §6.2.2 software error recovery,
 * §10.1.2 system software initialization, §10.3 port start/stop, §10.4.3 HBA reset, §10.7
 * interrupt handling; Serial ATA 2.6 (SATA) §10.3.4 Register FIS host to device, §10.3.5
 * Register FIS device to host, §10.3.6 Set Device Bits FIS; ATA8-ACS (ACS): IDENTIFY DEVICE,
 * READ/WRITE DMA (EXT), READ/WRITE FPDMA QUEUED, FLUSH CACHE (EXT).
 *
 * Flow: one command slot per request (a command header, a command table with the H2D
 * register FIS and one PRD per 4 MiB). A port starts with non-queued READ/WRITE DMA EXT
 * (qd=1); the first time a request is asked for while one is in flight it switches, once idle,
 * to READ/WRITE FPDMA QUEUED (NCQ: PxSACT and PxCI, up to 32 tags) for the rest of the boot.
 * poll() works from PxIS (read in poll mode, captured by the interrupt handler otherwise) and
 * the slots still set in PxCI (non-queued) or PxSACT (NCQ).
 */
#include "ata_identify.h"
#include "blk.h"
#include "disklabel.h"
#include "kernel/devio.h"
#include "kernel/interrupts.h"
#include "kernel/io.h"
#include "kernel/lib.h"
#include "kernel/memory.h"
#include "kernel/pci.h"
#include "kernel/report.h"
#include "kernel/tsc.h"

/* PCI: class 01 (mass storage), subclass 06 (SATA), programming interface 01 (AHCI 1.0);
 * ABAR is BAR5 (AHCI §2.1.11). */
#define PCI_CLASS_AHCI        0x010601
#define BAR_ABAR              5

/* Generic host control registers (AHCI §3.1). */
#define HBA_CAP               0x00
#define HBA_GHC               0x04
#define HBA_IS                0x08
#define HBA_PI                0x0c
#define HBA_VS                0x10
/* CAP, host capabilities (AHCI §3.1.1). */
#define CAP_NP_MASK           0x1f        /* number of ports - 1 */
#define CAP_NCS_SHIFT         8           /* number of command slots - 1 */
#define CAP_NCS_MASK          0x1f
#define CAP_SNCQ              (1u << 30)  /* supports native command queuing */
/* GHC, global HBA control (AHCI §3.1.2). */
#define GHC_HR                (1u << 0)   /* HBA reset */
#define GHC_IE                (1u << 1)   /* interrupt enable */
#define GHC_AE                (1u << 31)  /* AHCI enable */

/* Port registers: 0x80 bytes each from 0x100 (AHCI §3.3). */
#define PORT_BASE             0x100
#define PORT_STRIDE           0x80
#define PX_CLB                0x00        /* §3.3.1 command list base (1 KiB aligned) */
#define PX_CLBU               0x04        /* §3.3.2 */
#define PX_FB                 0x08        /* §3.3.3 FIS base (256 B aligned) */
#define PX_FBU                0x0c        /* §3.3.4 */
#define PX_IS                 0x10        /* §3.3.5 interrupt status, write 1 to clear */
#define PX_IE                 0x14        /* §3.3.6 interrupt enable */
#define PX_CMD                0x18        /* §3.3.7 command and status */
#define PX_TFD                0x20        /* §3.3.8 task file data */
#define PX_SIG                0x24        /* §3.3.9 signature */
#define PX_SSTS               0x28        /* §3.3.10 SATA status (SCR0) */
#define PX_SERR               0x30        /* §3.3.12 SATA error (SCR1), write 1 to clear */
#define PX_SACT               0x34        /* §3.3.13 SATA active (SCR3): NCQ tags outstanding */
#define PX_CI                 0x38        /* §3.3.14 command issue */
/* PxIS / PxIE bits (AHCI §3.3.5, §3.3.6). */
#define PXIS_DHRS             (1u << 0)   /* D2H register FIS received */
#define PXIS_PSS              (1u << 1)   /* PIO setup FIS received */
#define PXIS_DSS              (1u << 2)   /* DMA setup FIS received */
#define PXIS_SDBS             (1u << 3)   /* set device bits FIS received */
#define PXIS_UFS              (1u << 4)   /* unknown FIS */
#define PXIS_OFS              (1u << 24)  /* overflow */
#define PXIS_INFS             (1u << 26)  /* interface non-fatal error */
#define PXIS_IFS              (1u << 27)  /* interface fatal error */
#define PXIS_HBDS             (1u << 28)  /* host bus data error */
#define PXIS_HBFS             (1u << 29)  /* host bus fatal error */
#define PXIS_TFES             (1u << 30)  /* task file error */
#define PXIS_ERRORS           (PXIS_TFES | PXIS_HBFS | PXIS_HBDS | PXIS_IFS | PXIS_INFS | \
			       PXIS_OFS | PXIS_UFS)
#define PXIS_WANTED           (PXIS_DHRS | PXIS_SDBS | PXIS_ERRORS)
#define PXIS_ALL              0xffffffffu
/* PxCMD bits (AHCI §3.3.7). */
#define PXCMD_ST              (1u << 0)   /* start: process the command list */
#define PXCMD_SUD             (1u << 1)   /* spin-up device */
#define PXCMD_POD             (1u << 2)   /* power on device */
#define PXCMD_FRE             (1u << 4)   /* FIS receive enable */
#define PXCMD_FR              (1u << 14)  /* FIS receive running */
#define PXCMD_CR              (1u << 15)  /* command list running */
/* PxTFD (AHCI §3.3.8): the shadow status and error registers. */
#define TFD_STS_ERR           0x01
#define TFD_STS_DRQ           0x08
#define TFD_STS_BSY           0x80
#define TFD_STS_MASK          0xff
#define TFD_ERR_SHIFT         8
#define TFD_ERR_MASK          0xff
/* PxSSTS (AHCI §3.3.10). */
#define SSTS_DET_MASK         0x0f
#define SSTS_DET_PRESENT      0x3         /* device present, Phy communication established */
/* PxSIG (AHCI §3.3.9): an ATA disk's signature. */
#define SIG_ATA               0x00000101u

/* Register FIS host to device (SATA §10.3.4): the command FIS of a command table. */
struct fis_h2d {
	uint8_t type;          /* FIS_TYPE_H2D */
	uint8_t flags;         /* FIS_H2D_C: command register update; bits 3:0 port multiplier port */
	uint8_t command;
	uint8_t features;      /* 7:0 */
	uint8_t lba0, lba1, lba2;
	uint8_t device;
	uint8_t lba3, lba4, lba5;
	uint8_t features_exp;  /* 15:8 */
	uint8_t count, count_exp;
	uint8_t icc, control;
	uint8_t reserved[4];
};
_Static_assert(sizeof(struct fis_h2d) == 20, "SATA §10.3.4: five DWORDs");
#define FIS_TYPE_H2D          0x27
#define FIS_H2D_C             0x80
#define FIS_DEV_LBA           0x40        /* device register: LBA addressing */
#define FIS_STATUS_ERR        0x01        /* status byte of a D2H / SDB FIS: ERR */
#define NCQ_TAG_SHIFT         3           /* FPDMA QUEUED: the tag in count bits 7:3 (ACS) */

/* Register FIS device to host (SATA §10.3.5): the LBA at which a command stopped. */
struct fis_d2h {
	uint8_t type, flags, status, error;
	uint8_t lba0, lba1, lba2, device;
	uint8_t lba3, lba4, lba5, reserved0;
	uint8_t count, count_exp, reserved1[2];
	uint8_t reserved2[4];
};

/* Set Device Bits FIS (SATA §10.3.6): how NCQ commands end. */
struct fis_sdb {
	uint8_t type, flags, status, error;
	uint32_t active;       /* SActive bits the device completed */
};

/* Received FIS area (AHCI §4.2.1), 256-byte aligned. */
struct received_fis {
	uint8_t dsfis[0x20];   /* DMA setup FIS at 0x00 */
	uint8_t psfis[0x20];   /* PIO setup FIS at 0x20 */
	struct fis_d2h rfis;   /* D2H register FIS at 0x40 */
	uint8_t pad0[4];
	struct fis_sdb sdbfis; /* set device bits FIS at 0x58 */
	uint8_t ufis[0x40];    /* unknown FIS at 0x60 */
	uint8_t reserved[0x60];
};
_Static_assert(sizeof(struct received_fis) == 256, "AHCI §4.2.1 layout");
_Static_assert(__builtin_offsetof(struct received_fis, sdbfis) == 0x58, "AHCI §4.2.1 layout");

#define FIS_H2D_DWORDS        (sizeof(struct fis_h2d) / 4)

/* Command header (AHCI §4.2.2): 32 per command list. */
struct cmd_header {
	uint32_t flags;        /* CFL, A, W, P, R, B, C, PMP; PRDTL in 31:16 */
	volatile uint32_t prdbc; /* bytes transferred, written by the HBA */
	uint32_t ctba, ctbau;  /* command table base, 128-byte aligned */
	uint32_t reserved[4];
};
#define CMDH_CFL_MASK         0x1f        /* command FIS length, DWORDs */
#define CMDH_W                (1u << 6)   /* write: host to device */
#define CMDH_PRDTL_SHIFT      16
#define MAX_SLOTS             32
_Static_assert(sizeof(struct cmd_header) * MAX_SLOTS == 1024, "AHCI §4.2.2: a 1 KiB list");

/* Physical region descriptor (AHCI §4.2.3.3): DBC is the byte count - 1, at most 4 MiB, even. */
struct prd {
	uint32_t dba, dbau;
	uint32_t reserved;
	uint32_t dbc;          /* 21:0 byte count - 1; bit 31 interrupt on completion */
};
#define PRD_DBC_MAX           (4u << 20)
#define PRD_PER_TABLE         8           /* a 256-byte table: 128-byte aligned in an array */

/* Command table (AHCI §4.2.3): the command FIS, the ATAPI command, the PRDT at 0x80. */
struct cmd_table {
	union {
		struct fis_h2d h2d;
		uint8_t bytes[0x40];
	} cfis;
	uint8_t acmd[0x10];
	uint8_t reserved[0x30];
	struct prd prdt[PRD_PER_TABLE];
};
#define CTBL_ALIGN            128
_Static_assert(__builtin_offsetof(struct cmd_table, prdt) == 0x80, "AHCI §4.2.3 layout");
_Static_assert(sizeof(struct cmd_table) % CTBL_ALIGN == 0, "command tables stay 128-byte aligned");

/* ACS commands. */
#define ATA_READ_DMA          0xc8
#define ATA_WRITE_DMA         0xca
#define ATA_READ_DMA_EXT      0x25
#define ATA_WRITE_DMA_EXT     0x35
#define ATA_READ_FPDMA        0x60
#define ATA_WRITE_FPDMA       0x61
#define ATA_FLUSH_CACHE       0xe7
#define ATA_FLUSH_CACHE_EXT   0xea
#define ATA_IDENTIFY          0xec

/* IDENTIFY DEVICE words: ata_identify.h. */

#define SECTOR                512
#define LBA28_LIMIT           (1ull << 28)
#define LBA28_MAX_SECTORS     256
#define MAX_SECTORS           8192        /* 4 MiB per request: one PRD */

/*
 * Bounds, in TSC cycles (tsc_hz is not known here, as in ata.c): 2^33 is ~3 s at 3 GHz and
 * ~86 s at 100 MHz, below the benchmark's 10 s stall on any current TSC; 2^31 covers the
 * 500 ms (PxCMD.CR/FR, AHCI §10.3.2) and 1 s (GHC.HR, §10.4.3) the spec allows.
 */
#define CMD_TIMEOUT           (1ull << 33)
#define REG_TIMEOUT           (1ull << 31)

#define MAX_HBAS              2
#define MAX_PORTS             32
#define MAX_DISKS             8

struct ahci_hba;

struct ahci_slot {
	struct blk_req *req;
	uint8_t status;       /* enum blk_status once done */
};

struct ahci_port {
	struct blkdev blk;
	struct ahci_hba *hba;
	uint64_t regs;                 /* this port's registers */
	unsigned index;
	struct cmd_header *clb;        /* the command list; the received FIS area follows it */
	struct received_fis *rfis;
	struct cmd_table *tables;      /* MAX_SLOTS command tables */
	uint32_t nslots;
	int lba48, flush_ext, ncq;     /* what IDENTIFY and CAP allow */
	int queued;                    /* issuing FPDMA QUEUED now */
	int ncq_inflight;              /* what is outstanding is NCQ (PxSACT), not PxCI alone */
	int want_queue;                /* a second request was asked for while one ran */
	uint32_t outstanding;          /* slots issued, not yet handed back */
	uint32_t ready;                /* slots done, to be handed back by poll() */
	uint64_t deadline;             /* of the oldest progress: outstanding requests time out */
	volatile uint32_t irq_is;      /* PxIS bits the interrupt handler took */
	struct ahci_slot slot[MAX_SLOTS];
};

struct ahci_hba {
	const struct pci_dev *pci;
	uint64_t abar;
	uint32_t cap;
	struct ahci_port *ports[MAX_PORTS];
};

static struct ahci_hba hbas[MAX_HBAS];
static unsigned hba_count;
static struct ahci_port ports[MAX_DISKS];
static unsigned port_count;

/* ---- registers ---- */

static uint32_t hba_read(const struct ahci_hba *h, uint32_t off) { return dev_mmio_read32(h->abar + off); }
static void hba_write(const struct ahci_hba *h, uint32_t off, uint32_t v) { dev_mmio_write32(h->abar + off, v); }
static uint32_t px_read(const struct ahci_port *p, uint32_t off) { return dev_mmio_read32(p->regs + off); }
static void px_write(const struct ahci_port *p, uint32_t off, uint32_t v) { dev_mmio_write32(p->regs + off, v); }

/* Wait until (reg & mask) == want, bounded. 0, or -1 on timeout. */
static int wait_reg(uint64_t addr, uint32_t mask, uint32_t want, uint64_t bound)
{
	uint64_t start = ts_read();
	while ((dev_mmio_read32(addr) & mask) != want) {
		if (ts_read() - start > bound)
			return -1;
		cpu_relax();
	}
	return 0;
}

/* ---- port start/stop (AHCI §10.3) ---- */

/* §10.3.2: clear ST and wait for CR to clear; then, if asked, FRE and FR. */
static int ahci_port_stop(struct ahci_port *p, int fis_too)
{
	uint32_t cmd = px_read(p, PX_CMD);
	if (cmd & PXCMD_ST)
		px_write(p, PX_CMD, cmd & ~PXCMD_ST);
	if (wait_reg(p->regs + PX_CMD, PXCMD_CR, 0, REG_TIMEOUT))
		return -1;
	if (!fis_too)
		return 0;
	cmd = px_read(p, PX_CMD);
	if (cmd & PXCMD_FRE)
		px_write(p, PX_CMD, cmd & ~PXCMD_FRE);
	return wait_reg(p->regs + PX_CMD, PXCMD_FR, 0, REG_TIMEOUT);
}

/* §10.3.1: CR clear, FRE set, BSY and DRQ clear, then ST. */
static int ahci_port_start(struct ahci_port *p)
{
	if (wait_reg(p->regs + PX_CMD, PXCMD_CR, 0, REG_TIMEOUT) ||
	    wait_reg(p->regs + PX_TFD, TFD_STS_BSY | TFD_STS_DRQ, 0, REG_TIMEOUT))
		return -1;
	px_write(p, PX_CMD, px_read(p, PX_CMD) | PXCMD_FRE | PXCMD_SUD | PXCMD_POD | PXCMD_ST);
	return 0;
}

/* ---- commands ---- */

/* Command header (§4.2.2) and command table (§4.2.3) of one slot: the H2D register FIS
 * (SATA §10.3.4) and a PRD per 4 MiB of [buf, buf + bytes). -1 when the buffer cannot be
 * described (odd address or length, past 4 GiB, too long). */
static int build_command(struct ahci_port *p, unsigned slot, uint8_t command, uint64_t lba,
			 uint16_t count, uint16_t features, void *buf, uint32_t bytes, int write)
{
	struct cmd_table *t = &p->tables[slot];
	struct cmd_header *h = &p->clb[slot];
	struct fis_h2d *f = &t->cfis.h2d;
	uint64_t addr = (uint64_t)(uintptr_t)buf;
	unsigned nprd = 0;

	if ((addr & 1) || (bytes & 1) || addr + bytes > (1ull << 32))
		return -1;
	memset(&t->cfis, 0, sizeof(t->cfis));
	f->type = FIS_TYPE_H2D;
	f->flags = FIS_H2D_C;
	f->command = command;
	f->features = (uint8_t)features;
	f->features_exp = (uint8_t)(features >> 8);
	f->lba0 = (uint8_t)lba;
	f->lba1 = (uint8_t)(lba >> 8);
	f->lba2 = (uint8_t)(lba >> 16);
	f->lba3 = (uint8_t)(lba >> 24);
	f->lba4 = (uint8_t)(lba >> 32);
	f->lba5 = (uint8_t)(lba >> 40);
	f->device = FIS_DEV_LBA;
	f->count = (uint8_t)count;
	f->count_exp = (uint8_t)(count >> 8);
	while (bytes) {
		uint32_t n = bytes < PRD_DBC_MAX ? bytes : PRD_DBC_MAX;
		if (nprd == PRD_PER_TABLE)
			return -1;
		t->prdt[nprd] = (struct prd){ .dba = (uint32_t)addr, .dbau = (uint32_t)(addr >> 32),
					      .dbc = n - 1 };
		addr += n;
		bytes -= n;
		nprd++;
	}
	h->flags = (FIS_H2D_DWORDS & CMDH_CFL_MASK) | (write ? CMDH_W : 0) | nprd << CMDH_PRDTL_SHIFT;
	h->prdbc = 0;
	h->ctba = (uint32_t)(uintptr_t)t;
	h->ctbau = 0;
	barrier(); /* the header and table in memory before PxCI lets the HBA fetch them */
	return 0;
}

static void set_error(struct ahci_port *p, const char *what, uint64_t lba, uint32_t tfd)
{
	p->blk.err = (struct blk_error){ .what = what, .lba = lba, .status = tfd & TFD_STS_MASK,
					 .error = (tfd >> TFD_ERR_SHIFT) & TFD_ERR_MASK };
}

/* ---- probe-time commands: issued on slot 0 and waited for ---- */

/* 0 done, -1 task-file error or timeout (tfd filled). */
static int run_sync(struct ahci_port *p, uint32_t *tfd)
{
	px_write(p, PX_IS, PXIS_ALL);
	px_write(p, PX_CI, 1u);
	int rc = wait_reg(p->regs + PX_CI, 1u, 0, CMD_TIMEOUT);
	*tfd = px_read(p, PX_TFD);
	uint32_t is = px_read(p, PX_IS);
	px_write(p, PX_IS, is);
	if (rc || (is & PXIS_ERRORS) || (*tfd & TFD_STS_ERR))
		return -1;
	return 0;
}

/* ---- error handling ---- */

/* After an error (§6.2.2): stop the port, clear PxSERR and PxIS, start it again. Everything
 * still outstanding is handed back with `status`. */
static void fail_outstanding(struct ahci_port *p, uint8_t status)
{
	for (unsigned s = 0; s < MAX_SLOTS; s++)
		if (p->outstanding & (1u << s))
			p->slot[s].status = status;
	p->ready |= p->outstanding;
	p->outstanding = 0;
	ahci_port_stop(p, 0);
	px_write(p, PX_SERR, PXIS_ALL);
	px_write(p, PX_IS, PXIS_ALL);
	p->irq_is = 0;
	ahci_port_start(p);
}

/* The first outstanding slot (the request the error record names). */
static unsigned first_slot(uint32_t mask)
{
	unsigned s = 0;
	while (s < MAX_SLOTS && !(mask & (1u << s)))
		s++;
	return s;
}

/* Task-file or interface error: the slots the device finished complete normally, the rest
 * fail. The LBA is the failing request's (the D2H FIS's if it points inside it, for a
 * non-queued command; the first failing request's under NCQ, where the device says no more). */
static void handle_error(struct ahci_port *p, const char *what, uint32_t tfd, uint32_t active)
{
	uint32_t done = p->outstanding & ~active;
	uint32_t failed = p->outstanding & active;
	for (unsigned s = 0; s < MAX_SLOTS; s++)
		if (done & (1u << s))
			p->slot[s].status = BLK_OK;
	p->ready |= done;
	p->outstanding &= ~done;
	if (!failed) /* the error came with the last completion: blame the last one done */
		failed = done;
	unsigned s = first_slot(failed);
	struct blk_req *r = p->slot[s].req;
	uint64_t lba = r->lba;
	if (!p->ncq_inflight && r->op != BLK_FLUSH) {
		const struct fis_d2h *f = &p->rfis->rfis;
		uint64_t at = f->lba0 | (uint64_t)f->lba1 << 8 | (uint64_t)f->lba2 << 16 |
			      (uint64_t)f->lba3 << 24 | (uint64_t)f->lba4 << 32 | (uint64_t)f->lba5 << 40;
		if (at >= r->lba && at < r->lba + r->sectors)
			lba = at;
	}
	set_error(p, what, lba, tfd);
	p->slot[s].status = BLK_EIO;
	p->ready |= 1u << s;
	p->outstanding &= ~(1u << s);
	fail_outstanding(p, BLK_EIO);
}

/* ---- submit / poll ---- */

static int lowest_free(const struct ahci_port *p)
{
	uint32_t busy = p->outstanding | p->ready;
	for (unsigned s = 0; s < p->nslots; s++)
		if (!(busy & (1u << s)))
			return (int)s;
	return -1;
}

static int ahci_submit(struct blkdev *d, struct blk_req *r)
{
	struct ahci_port *p = d->priv;
	int write = r->op == BLK_WRITE;

	if (r->op == BLK_FLUSH || !p->queued) {
		/* Non-queued commands run alone: one issued while queued commands are outstanding
		 * makes the device abort them (ACS, READ FPDMA QUEUED). */
		if (p->outstanding || p->ready) {
			if (r->op != BLK_FLUSH && p->ncq && !p->queued)
				p->want_queue = 1;
			return -1;
		}
		if (r->op != BLK_FLUSH && p->want_queue) {
			p->queued = 1;
			p->blk.transport = "ncq";
		}
	}
	if (p->outstanding && !p->ncq_inflight)
		return -1; /* a non-queued command (a flush) is running: it runs alone */
	int s = lowest_free(p);
	if (s < 0)
		return -1;
	uint32_t bit = 1u << s;
	int rc;
	if (r->op == BLK_FLUSH) {
		rc = build_command(p, (unsigned)s, p->flush_ext ? ATA_FLUSH_CACHE_EXT : ATA_FLUSH_CACHE,
				   0, 0, 0, 0, 0, 0);
	} else if (p->queued) {
		/* FPDMA QUEUED (ACS): count in features, the tag in count bits 7:3. */
		rc = build_command(p, (unsigned)s, write ? ATA_WRITE_FPDMA : ATA_READ_FPDMA, r->lba,
				   (uint16_t)(s << NCQ_TAG_SHIFT), (uint16_t)r->sectors, r->buf,
				   r->sectors * SECTOR, write);
	} else if (p->lba48) {
		rc = build_command(p, (unsigned)s, write ? ATA_WRITE_DMA_EXT : ATA_READ_DMA_EXT, r->lba,
				   (uint16_t)r->sectors, 0, r->buf, r->sectors * SECTOR, write);
	} else {
		rc = r->lba + r->sectors > LBA28_LIMIT ? -1 :
		     build_command(p, (unsigned)s, write ? ATA_WRITE_DMA : ATA_READ_DMA, r->lba,
				   (uint16_t)r->sectors, 0, r->buf, r->sectors * SECTOR, write);
	}
	p->slot[s].req = r;
	r->slot = (uint16_t)s;
	if (rc) {
		set_error(p, "request not supported", r->lba, 0);
		p->slot[s].status = BLK_EUNSUPP;
		p->ready |= bit;
		if (d->mode != COMPLETE_POLL)
			d->irq_pending = 1;
		return 0;
	}
	if (!p->outstanding)
		p->deadline = ts_read() + CMD_TIMEOUT;
	p->outstanding |= bit;
	/* A non-queued command (DMA EXT, FLUSH) runs alone; NCQ ones end in PxSACT. */
	p->ncq_inflight = p->queued && r->op != BLK_FLUSH;
	/* §3.3.13 PxSACT: set for a native queued command before its slot in PxCI (§3.3.14). */
	if (p->ncq_inflight)
		px_write(p, PX_SACT, bit);
	px_write(p, PX_CI, bit);
	return 0;
}

static struct blk_req *hand_back(struct ahci_port *p)
{
	unsigned s = first_slot(p->ready);
	p->ready &= ~(1u << s);
	struct blk_req *r = p->slot[s].req;
	r->status = p->slot[s].status;
	p->slot[s].req = 0;
	barrier();
	return r;
}

static struct blk_req *ahci_poll(struct blkdev *d)
{
	struct ahci_port *p = d->priv;

	if (p->ready)
		return hand_back(p);
	if (!p->outstanding)
		return 0;
	uint32_t is;
	if (d->mode == COMPLETE_POLL) {
		is = px_read(p, PX_IS);
		if (is)
			px_write(p, PX_IS, is);
	} else {
		is = p->irq_is;
		if (is)
			__atomic_fetch_and(&p->irq_is, ~is, __ATOMIC_SEQ_CST);
	}
	if (!is) {
		if (ts_read() < p->deadline)
			return 0;
		/* Nothing from the device before the deadline: one last look at the slots. */
		is = px_read(p, PX_IS);
		px_write(p, PX_IS, is);
		uint32_t active = px_read(p, p->ncq_inflight ? PX_SACT : PX_CI);
		if (!(p->outstanding & ~active) && !(is & PXIS_ERRORS)) {
			uint32_t tfd = px_read(p, PX_TFD);
			if (tfd & (TFD_STS_ERR | TFD_ERR_MASK << TFD_ERR_SHIFT)) {
				/* A queued command the device failed in an SDB FIS that a later one
				 * overwrote before we read it: the task file still holds the error. */
				handle_error(p, "ATA error", tfd, active);
				return hand_back(p);
			}
			struct blk_req *r = p->slot[first_slot(p->outstanding)].req;
			set_error(p, "AHCI command timeout", r->lba, tfd);
			fail_outstanding(p, BLK_ETIMEOUT);
			return hand_back(p);
		}
	}
	uint32_t active = px_read(p, p->ncq_inflight ? PX_SACT : PX_CI);
	/* An NCQ error shows as TFES, or (QEMU before 8.1) as an SDB FIS with ERR set that
	 * leaves the failed tag in PxSACT (SATA §10.3.6): its status and error then describe it. */
	const struct fis_sdb *sdb = &p->rfis->sdbfis;
	if (p->ncq_inflight && (is & PXIS_SDBS) && (sdb->status & FIS_STATUS_ERR) && !(is & PXIS_ERRORS)) {
		handle_error(p, "ATA error", (uint32_t)sdb->error << TFD_ERR_SHIFT | sdb->status, active);
		return hand_back(p);
	}
	if (is & PXIS_ERRORS) {
		handle_error(p, (is & PXIS_TFES) ? "ATA error" : (is & (PXIS_HBFS | PXIS_HBDS)) ?
			     "AHCI host bus error" : "AHCI interface error", px_read(p, PX_TFD), active);
		return hand_back(p);
	}
	uint32_t done = p->outstanding & ~active;
	if (!done)
		return 0;
	for (unsigned s = 0; s < MAX_SLOTS; s++)
		if (done & (1u << s))
			p->slot[s].status = BLK_OK;
	p->outstanding &= ~done;
	p->ready |= done;
	p->deadline = ts_read() + CMD_TIMEOUT;
	return hand_back(p);
}

/* ---- interrupts (AHCI §10.7.2): PxIS first, then the port's bit in IS ---- */

static void ahci_irq(struct int_frame *f, void *arg)
{
	struct ahci_hba *h = arg;
	(void)f;
	uint32_t is = hba_read(h, HBA_IS);
	if (!is)
		return;
	for (unsigned i = 0; i < MAX_PORTS; i++) {
		struct ahci_port *p = h->ports[i];
		if (!(is & (1u << i)) || !p)
			continue;
		uint32_t pis = px_read(p, PX_IS);
		px_write(p, PX_IS, pis);
		__atomic_fetch_or(&p->irq_is, pis, __ATOMIC_SEQ_CST);
		p->blk.irqs++;
		p->blk.irq_pending = 1;
	}
	hba_write(h, HBA_IS, is);
}

/* ---- probing ---- */

static void probe_error(const struct ahci_hba *h, int port, const char *msg)
{
	rec_begin_device_error("ahci", msg);
	rec_hex("abar", h->abar);
	if (port >= 0)
		rec_u64("port", (uint64_t)port);
	rec_end();
}

/* §10.4.3 HBA reset, then §10.1.2: AHCI enable. */
static int ahci_hba_reset(struct ahci_hba *h)
{
	hba_write(h, HBA_GHC, hba_read(h, HBA_GHC) | GHC_AE);
	hba_write(h, HBA_GHC, GHC_AE | GHC_HR);
	if (wait_reg(h->abar + HBA_GHC, GHC_HR, 0, REG_TIMEOUT))
		return -1;
	hba_write(h, HBA_GHC, GHC_AE);
	return (hba_read(h, HBA_GHC) & GHC_AE) ? 0 : -1;
}

/* The UEFI boot volume kvmio boot marks with KVMIO_ESP_SERIAL: not a disk to measure. The
 * serial's characters come two per word, the first in the high byte (ACS, IDENTIFY DEVICE). */
static int is_boot_volume(const uint16_t *id)
{
	const char *want = KVMIO_ESP_SERIAL;
	for (unsigned i = 0; i < ATA_ID_SERIAL_CHARS; i++) {
		uint16_t w = id[ATA_ID_SERIAL + i / 2];
		char c = (char)(i & 1 ? w & 0xff : w >> 8);
		char expect = *want ? *want++ : ' ';
		if (c != expect)
			return 0;
	}
	return 1;
}

/* One port: memory, FIS receive, the device's signature, start, IDENTIFY. 0 = a disk was set
 * up (or nothing is attached), -1 = error record written. */
static int probe_port(struct ahci_hba *h, unsigned i, const struct blk_config *cfg, int *found)
{
	static uint16_t id[ATA_ID_WORDS] __attribute__((aligned(16)));
	uint64_t regs = h->abar + PORT_BASE + (uint64_t)i * PORT_STRIDE;

	*found = 0;
	if ((dev_mmio_read32(regs + PX_SSTS) & SSTS_DET_MASK) != SSTS_DET_PRESENT)
		return 0;
	if (port_count == MAX_DISKS)
		return 0;
	struct ahci_port *p = &ports[port_count];
	memset(p, 0, sizeof(*p));
	p->hba = h;
	p->regs = regs;
	p->index = i;
	if (ahci_port_stop(p, 1)) {
		probe_error(h, (int)i, "AHCI port does not stop (PxCMD.CR/FR stay set)");
		return -1;
	}
	/* One page: the command list (1 KiB aligned), then the received FIS area (256 B). */
	p->clb = page_alloc(1);
	p->tables = page_alloc(ALIGN_UP(MAX_SLOTS * sizeof(struct cmd_table), PAGE_SIZE) / PAGE_SIZE);
	if (!p->clb || !p->tables) {
		probe_error(h, (int)i, "out of memory for the AHCI command list");
		return -1;
	}
	_Static_assert(sizeof(struct cmd_header) * MAX_SLOTS + sizeof(struct received_fis) <= PAGE_SIZE,
		       "command list and received FIS share a page");
	p->rfis = (struct received_fis *)(p->clb + MAX_SLOTS);
	px_write(p, PX_CLB, (uint32_t)(uintptr_t)p->clb);
	px_write(p, PX_CLBU, 0);
	px_write(p, PX_FB, (uint32_t)(uintptr_t)p->rfis);
	px_write(p, PX_FBU, 0);
	px_write(p, PX_CMD, px_read(p, PX_CMD) | PXCMD_FRE);
	px_write(p, PX_SERR, PXIS_ALL);
	px_write(p, PX_IS, PXIS_ALL);
	px_write(p, PX_IE, 0);
	/* The device's first D2H FIS sets the signature and clears BSY (§3.3.9). */
	if (wait_reg(p->regs + PX_TFD, TFD_STS_BSY | TFD_STS_DRQ, 0, REG_TIMEOUT)) {
		probe_error(h, (int)i, "AHCI device stays busy: skipped");
		return -1;
	}
	uint32_t sig = px_read(p, PX_SIG);
	if (sig != SIG_ATA)
		return 0; /* ATAPI, port multiplier, nothing: not a disk */
	if (ahci_port_start(p)) {
		probe_error(h, (int)i, "AHCI port does not start");
		return -1;
	}
	uint32_t tfd;
	memset(id, 0, sizeof(id));
	if (build_command(p, 0, ATA_IDENTIFY, 0, 0, 0, id, sizeof(id), 0) || run_sync(p, &tfd)) {
		probe_error(h, (int)i, "AHCI IDENTIFY DEVICE failed");
		return -1;
	}
	if ((id[ATA_ID_CONFIG] & ATA_ID_CONFIG_NOT_ATA) || is_boot_volume(id))
		return 0;
	if (!(id[ATA_ID_CAPS] & ATA_ID_CAPS_LBA)) {
		probe_error(h, (int)i, "AHCI drive without LBA addressing: skipped");
		return -1;
	}
	struct ata_id_capacity idcap;
	ata_id_capacity(id, &idcap);
	uint64_t sectors = idcap.sectors;
	p->lba48 = idcap.lba48;
	p->flush_ext = idcap.flush_ext;
	uint32_t hba_slots = ((h->cap >> CAP_NCS_SHIFT) & CAP_NCS_MASK) + 1;
	uint32_t dev_depth = (id[ATA_ID_QUEUE_DEPTH] & ATA_ID_QUEUE_DEPTH_MASK) + 1u;
	p->ncq = p->lba48 && (h->cap & CAP_SNCQ) && (id[ATA_ID_SATA_CAPS] & ATA_ID_SATA_CAPS_NCQ);
	p->nslots = p->ncq ? (hba_slots < dev_depth ? hba_slots : dev_depth) : 1;
	if (cfg->queue_depth_limit && p->nslots > cfg->queue_depth_limit)
		p->nslots = cfg->queue_depth_limit;

	p->blk = (struct blkdev){
		.model = "ahci", .transport = "dma", .mode = cfg->mode, .pci = h->pci,
		.sectors = sectors, .sector_size = SECTOR,
		.max_sectors = p->lba48 ? MAX_SECTORS : LBA28_MAX_SECTORS,
		.queue_depth = p->nslots, .can_flush = 1,
		.write_cache = ata_id_write_cache(id) ? BLK_WCE_ON : BLK_WCE_OFF,
		.submit = ahci_submit, .poll = ahci_poll, .priv = p,
	};
	if (cfg->mode != COMPLETE_POLL)
		px_write(p, PX_IE, PXIS_WANTED);
	h->ports[i] = p;
	port_count++;
	*found = 1;
	return 0;
}

/* irq=intx: the INTx pin; irq=msix: MSI (the ICH9 AHCI function has MSI, no MSI-X). */
static int setup_interrupts(struct ahci_hba *h, enum completion_mode mode)
{
	if (mode == COMPLETE_POLL)
		return 0;
	uint8_t vector = irq_alloc_vector();
	if (!vector)
		return -1;
	irq_register(vector, ahci_irq, h);
	if (mode == COMPLETE_MSIX ? pci_msi_enable(h->pci, vector) : pci_intx_route(h->pci, vector))
		return -1;
	hba_write(h, HBA_IS, hba_read(h, HBA_IS));
	hba_write(h, HBA_GHC, GHC_AE | GHC_IE);
	return 0;
}

int ahci_match(const struct pci_dev *p) { return p->class == PCI_CLASS_AHCI; }

int ahci_init(const struct pci_dev *pci, const struct blk_config *asked)
{
	struct blk_config cfg = *asked;
	const char *unusable = 0;
	int rc = 0;

	if (hba_count == MAX_HBAS)
		return 0; /* left alone, as any device without a driver */
	if (pci->bar[BAR_ABAR].type != BAR_MEM32 && pci->bar[BAR_ABAR].type != BAR_MEM64)
		return 0; /* no ABAR: not usable in AHCI mode */
	struct ahci_hba *h = &hbas[hba_count];
	memset(h, 0, sizeof(*h));
	h->pci = pci;
	h->abar = pci_bar_address(pci, BAR_ABAR);
	if (!h->abar)
		return 0;
	if (cfg.mode == COMPLETE_MSIX && !pci_find_cap(pci, PCI_CAP_MSI)) {
		unusable = "this AHCI controller has no MSI or MSI-X: use irq=poll or irq=intx";
		cfg.mode = COMPLETE_POLL;
	}
	pci_enable(pci, 1);
	if (ahci_hba_reset(h)) {
		probe_error(h, -1, "AHCI HBA reset (GHC.HR) does not complete");
		return -1;
	}
	h->cap = hba_read(h, HBA_CAP);
	uint32_t pi = hba_read(h, HBA_PI);
	unsigned first = port_count, nports = (h->cap & CAP_NP_MASK) + 1;
	for (unsigned i = 0; i < MAX_PORTS; i++) {
		int found;
		if (!(pi & (1u << i)) || i >= nports)
			continue;
		if (probe_port(h, i, &cfg, &found))
			rc = -1;
	}
	if (port_count == first)
		return rc; /* no disk behind this controller: leave it reset, no vector taken */
	hba_count++;
	if (setup_interrupts(h, cfg.mode)) {
		probe_error(h, -1, "cannot set up the AHCI interrupt: use irq=poll");
		port_count = first;
		return -1;
	}
	for (unsigned i = first; i < port_count; i++) {
		ports[i].blk.unusable = unusable;
		if (blk_register(&ports[i].blk) < 0)
			return -1;
	}
	return rc;
}
