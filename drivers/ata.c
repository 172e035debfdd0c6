/*
 * ATA disks on a PCI IDE controller (PIIX3/PIIX4 and any class 01:01 function), PIO or
 * bus-master DMA, one command per channel at a time.
 *
 * References (cited below by clause name): ATA/ATAPI-6 (T13/1410D): "Interface register
 * definitions", the command descriptions (IDENTIFY DEVICE, SET MULTIPLE MODE, READ/WRITE
 * SECTORS/MULTIPLE/DMA (EXT), FLUSH CACHE (EXT)), "48-bit Address feature set" and the
 * "Protocol" clause (PIO data-in, PIO data-out, non-data, DMA, software reset, device
 * selection); "Programming Interface for Bus Master IDE Controller" rev 1.0 (BMIDE): the
 * register descriptions, the PRD table and the "Standard Programming Sequence"; PCI IDE
 * Controller Specification rev 1.0 (programming interface byte, native-mode BARs); Intel
 * 82371SB (PIIX3) / 82371AB (PIIX4) datasheets, IDETIM register (IDE decode enable).
 *
 * Flow: submit() programs the taskfile and issues the command; poll() takes the status (from
 * the interrupt handler in intx mode, from the alternate status register in poll mode) and
 * moves the request on: one DRQ block per step for PIO, the end of the transfer for DMA.
 */
#include "ata_identify.h"
#include "ata_prd.h"
#include "blk.h"
#include "kernel/acpi.h"
#include "kernel/devio.h"
#include "kernel/interrupts.h"
#include "kernel/lib.h"
#include "kernel/memory.h"
#include "kernel/pci.h"
#include "kernel/report.h"
#include "kernel/tsc.h"

/* PCI: class 01 (mass storage), subclass 01 (IDE); programming interface bits (PCI IDE). */
#define PCI_CLASS_IDE         0x0101
#define PCI_VENDOR_INTEL      0x8086
#define PCI_DEVICE_PIIX3_IDE  0x7010
#define PCI_DEVICE_PIIX4_IDE  0x7111
#define PROGIF_NATIVE(ch)     (1u << (2 * (ch)))  /* channel runs in native-PCI mode */
#define PROGIF_BUS_MASTER     0x80
#define PIIX_IDETIM(ch)       (0x40 + 2 * (ch))  /* IDE timing register, one per channel */
#define PIIX_IDETIM_DECODE    0x8000             /* IDE decode enable */
#define BAR_BUS_MASTER        4
#define BAR_CMD(ch)           (2 * (ch))
#define BAR_CTRL(ch)          (2 * (ch) + 1)
#define NATIVE_CTRL_OFFSET    2                  /* device control inside the control BAR */

/* Compatibility-mode resources (PCI IDE spec, table 2). */
#define COMPAT_CMD_PRIMARY    0x1f0
#define COMPAT_CTRL_PRIMARY   0x3f6
#define COMPAT_IRQ_PRIMARY    14
#define COMPAT_CMD_SECONDARY  0x170
#define COMPAT_CTRL_SECONDARY 0x376
#define COMPAT_IRQ_SECONDARY  15

/* Command block registers, offsets from the command base (ATA-6 interface registers). */
#define REG_DATA              0
#define REG_ERROR             1   /* read */
#define REG_FEATURES          1   /* write */
#define REG_COUNT             2
#define REG_LBA_LOW           3
#define REG_LBA_MID           4
#define REG_LBA_HIGH          5
#define REG_DEVICE            6
#define REG_STATUS            7   /* read: also clears the pending interrupt (ATA-6 status register) */
#define REG_COMMAND           7   /* write */

/* Status / alternate status bits (ATA-6 status register). */
#define ST_ERR                0x01
#define ST_DRQ                0x08
#define ST_DF                 0x20
#define ST_DRDY               0x40
#define ST_BSY                0x80
#define ST_FLOATING           0xff  /* no device drives the bus: pulled-up data lines */

/* Device register (ATA-6 device register) and device control register. */
#define DEV_OBSOLETE          0xa0  /* bits 7 and 5: set for LBA28 commands by convention */
#define DEV_LBA               0x40
#define DEV_SLAVE             0x10
#define DEV_LBA28_HIGH_MASK   0x0f
#define CTL_NIEN              0x02
#define CTL_SRST              0x04
#define CTL_HOB               0x80

/* ATA-6 commands (command descriptions; command code summary table). */
#define CMD_READ_SECTORS      0x20
#define CMD_READ_SECTORS_EXT  0x24
#define CMD_READ_DMA_EXT      0x25
#define CMD_READ_MULTIPLE_EXT 0x29
#define CMD_WRITE_SECTORS     0x30
#define CMD_WRITE_SECTORS_EXT 0x34
#define CMD_WRITE_DMA_EXT     0x35
#define CMD_WRITE_MULTIPLE_EXT 0x39
#define CMD_READ_MULTIPLE     0xc4
#define CMD_WRITE_MULTIPLE    0xc5
#define CMD_SET_MULTIPLE      0xc6
#define CMD_READ_DMA          0xc8
#define CMD_WRITE_DMA         0xca
#define CMD_FLUSH_CACHE       0xe7
#define CMD_FLUSH_CACHE_EXT   0xea
#define CMD_IDENTIFY          0xec

/* IDENTIFY DEVICE words: ata_identify.h. */

/* ATAPI signature left in LBA mid/high when a packet device aborts IDENTIFY DEVICE (ATA-6 signature and persistence). */
#define ATAPI_SIG_MID         0x14
#define ATAPI_SIG_HIGH        0xeb

/* Bus master IDE registers, from BAR4 + 8 * channel (BMIDE register descriptions). */
#define BM_CHANNEL_STRIDE     8
#define BM_COMMAND            0
#define BM_STATUS             2
#define BM_PRDT               4
#define BM_CMD_START          0x01
#define BM_CMD_TO_MEMORY      0x08  /* "read/write control": 1 = the controller writes memory */
#define BM_ST_ACTIVE          0x01
#define BM_ST_ERROR           0x02  /* write 1 to clear */
#define BM_ST_INTR            0x04  /* write 1 to clear */

/* Each channel's PRD table (ata_prd.h) is a page of its own: page-aligned, so the table never
 * crosses a 64 KiB boundary itself (BMIDE physical region descriptor table). */
#define PRD_MAX               (PAGE_SIZE / sizeof(struct ata_prd))

#define SECTOR                512
#define WORDS_PER_SECTOR      (SECTOR / 2)
#define LBA28_LIMIT           (1ull << 28)
#define LBA28_MAX_COUNT       256          /* count register 0 = 256 sectors */
#define LBA48_MAX_SECTORS     8192         /* 4 MiB per command: at most 65 PRDs */

/*
 * Bounds, in TSC cycles. tsc_hz is not known here; 2^33 is ~3 s at 3 GHz and ~86 s at 100 MHz,
 * below the benchmark's 10 s stall on any current TSC. Probing a missing drive ends at once
 * (floating bus or status 0); only a drive stuck busy costs the probe bound.
 */
#define CMD_TIMEOUT           (1ull << 33)
#define PROBE_TIMEOUT         (1ull << 31)
#define SRST_PULSE            50000ull     /* >= 5 us with a TSC up to 10 GHz (ATA-6 software reset protocol) */
#define SRST_SETTLE           20000000ull  /* >= 2 ms likewise */

#define MAX_CHANNELS          4
#define MAX_DRIVES            (2 * MAX_CHANNELS)

enum ata_state { ST_IDLE, ST_PIO_IN, ST_PIO_OUT, ST_DMA, ST_NODATA, ST_DONE };

struct ata_drive;

struct ata_channel {
	const struct pci_dev *pci;
	uint16_t cmd, ctrl, bm;        /* bm = 0: no bus master */
	uint8_t devctl;                /* what we keep in device control: nIEN in poll mode */
	int8_t selected;               /* unit the device register points at, -1 unknown */
	struct ata_drive *unit[2];
	struct ata_drive *active;      /* drive with a command in flight */
	struct ata_prd *prd;
	struct ata_channel *irq_next;  /* channels sharing a vector (native mode) */
	uint8_t shared;                /* the vector is shared with the other channel */
	volatile uint32_t irq_seen;    /* the handler captured a status for poll() */
	volatile uint8_t irq_status, irq_bm_status;
	uint64_t spurious;
};

struct ata_drive {
	struct blkdev blk;
	struct ata_channel *ch;
	uint8_t unit;
	uint8_t lba48, dma, flush_ext;
	uint32_t multiple;             /* sectors per DRQ block with READ/WRITE MULTIPLE, 0: unused */
	enum ata_state state;
	struct blk_req *req;
	uint8_t *pos;                  /* PIO: next block of the buffer */
	uint32_t left;                 /* PIO: sectors not yet transferred */
	uint32_t block;                /* PIO: sectors per DRQ block for this command */
	uint8_t ext;                   /* this command uses 48-bit addressing */
	uint8_t done_status;           /* ST_DONE: the status to hand back */
	uint64_t deadline;
};

static struct ata_channel channels[MAX_CHANNELS];
static unsigned channel_count;
static struct ata_drive drives[MAX_DRIVES];
static unsigned drive_count;

/* ---- register helpers ---- */

static uint8_t alt_status(const struct ata_channel *ch) { return dev_inb(ch->ctrl); }

/* The 400 ns a device may take to show a valid status after a command or a data block
 * (ATA-6 protocol clause): one alternate-status read, as the standard suggests. */
static uint8_t delay400(const struct ata_channel *ch) { return alt_status(ch); }

static int wait_not_busy(const struct ata_channel *ch, uint64_t bound, uint8_t *st)
{
	uint64_t start = ts_read();
	for (;;) {
		*st = alt_status(ch);
		if (!(*st & ST_BSY))
			return 0;
		if (ts_read() - start > bound)
			return -1;
		cpu_relax();
	}
}

static void spin_cycles(uint64_t n)
{
	uint64_t start = ts_read();
	while (ts_read() - start < n)
		cpu_relax();
}

/* Device selection (ATA-6 device selection protocol): only when it changes. */
static int select_unit(struct ata_channel *ch, uint8_t unit, uint64_t bound)
{
	uint8_t st;
	if (ch->selected == (int8_t)unit)
		return 0;
	dev_outb(ch->cmd + REG_DEVICE, DEV_OBSOLETE | (unit ? DEV_SLAVE : 0));
	delay400(ch);
	ch->selected = (int8_t)unit;
	if (wait_not_busy(ch, bound, &st))
		return -1;
	return (st & ST_DRQ) ? -1 : 0;
}

/* Taskfile for a read/write/flush (ATA-6 48-bit Address feature set: the registers are
 * two-deep FIFOs, the high-order ("previous") bytes written first). */
static void write_taskfile(struct ata_drive *dr, uint64_t lba, uint32_t count, int ext)
{
	struct ata_channel *ch = dr->ch;
	uint8_t dev = dr->unit ? DEV_SLAVE : 0;
	if (ext) {
		dev_outb(ch->cmd + REG_DEVICE, DEV_LBA | dev);
		dev_outb(ch->cmd + REG_COUNT, (uint8_t)(count >> 8));
		dev_outb(ch->cmd + REG_LBA_LOW, (uint8_t)(lba >> 24));
		dev_outb(ch->cmd + REG_LBA_MID, (uint8_t)(lba >> 32));
		dev_outb(ch->cmd + REG_LBA_HIGH, (uint8_t)(lba >> 40));
	} else {
		dev_outb(ch->cmd + REG_DEVICE, DEV_OBSOLETE | DEV_LBA | dev |
			 (uint8_t)((lba >> 24) & DEV_LBA28_HIGH_MASK));
	}
	dev_outb(ch->cmd + REG_COUNT, (uint8_t)count);
	dev_outb(ch->cmd + REG_LBA_LOW, (uint8_t)lba);
	dev_outb(ch->cmd + REG_LBA_MID, (uint8_t)(lba >> 8));
	dev_outb(ch->cmd + REG_LBA_HIGH, (uint8_t)(lba >> 16));
}

/* LBA of the first failed sector from the error outputs (ATA-6 read/write command "Error outputs"). */
static uint64_t read_error_lba(struct ata_drive *dr)
{
	struct ata_channel *ch = dr->ch;
	uint64_t lba = dev_inb(ch->cmd + REG_LBA_LOW) | (uint64_t)dev_inb(ch->cmd + REG_LBA_MID) << 8 |
		       (uint64_t)dev_inb(ch->cmd + REG_LBA_HIGH) << 16;
	if (dr->ext) {
		dev_outb(ch->ctrl, ch->devctl | CTL_HOB);
		lba |= (uint64_t)dev_inb(ch->cmd + REG_LBA_LOW) << 24 |
		       (uint64_t)dev_inb(ch->cmd + REG_LBA_MID) << 32 |
		       (uint64_t)dev_inb(ch->cmd + REG_LBA_HIGH) << 40;
		dev_outb(ch->ctrl, ch->devctl);
	} else {
		lba |= (uint64_t)(dev_inb(ch->cmd + REG_DEVICE) & DEV_LBA28_HIGH_MASK) << 24;
	}
	return lba;
}

/* ---- completion ---- */

static void stop_dma(struct ata_drive *dr)
{
	struct ata_channel *ch = dr->ch;
	if (!dr->dma)
		return;
	dev_outb(ch->bm + BM_COMMAND, 0);
	uint8_t bms = dev_inb(ch->bm + BM_STATUS);
	dev_outb(ch->bm + BM_STATUS, bms | BM_ST_INTR | BM_ST_ERROR);
}

static struct blk_req *complete(struct ata_drive *dr, uint8_t status)
{
	struct blk_req *r = dr->req;
	r->status = status;
	dr->req = 0;
	dr->state = ST_IDLE;
	if (dr->ch->active == dr)
		dr->ch->active = 0;
	barrier();
	return r;
}

static void set_error(struct ata_drive *dr, const char *what, uint64_t lba, uint8_t st, uint8_t err)
{
	dr->blk.err = (struct blk_error){ .what = what, .lba = lba, .status = st, .error = err };
}

/* ERR or DF: the command ended with an error (ATA-6 status register). */
static struct blk_req *fail_ata(struct ata_drive *dr, uint8_t st)
{
	struct blk_req *r = dr->req;
	uint8_t err = dev_inb(dr->ch->cmd + REG_ERROR);
	uint64_t lba = r->lba;
	if (r->op != BLK_FLUSH) {
		uint64_t at = read_error_lba(dr);
		if (at >= r->lba && at < r->lba + r->sectors)
			lba = at;
	}
	if (dr->dma && dr->state == ST_DMA)
		stop_dma(dr);
	set_error(dr, "ATA error", lba, st, err);
	return complete(dr, BLK_EIO);
}

static struct blk_req *fail_protocol(struct ata_drive *dr, const char *what, uint8_t st)
{
	if (dr->dma && dr->state == ST_DMA)
		stop_dma(dr);
	set_error(dr, what, dr->req->lba, st, dev_inb(dr->ch->cmd + REG_ERROR));
	return complete(dr, BLK_EIO);
}

/* Complete now, from submit(): poll() hands the request back; irq modes get woken up. */
static int finish_early(struct ata_drive *dr, uint8_t status)
{
	dr->state = ST_DONE;
	dr->done_status = status;
	if (dr->ch->active == dr)
		dr->ch->active = 0;
	if (dr->blk.mode != COMPLETE_POLL)
		dr->blk.irq_pending = 1;
	return 0;
}

static int set_multiple(struct ata_channel *ch, uint8_t unit, uint32_t count);

/* Software reset of a channel after a timeout (ATA-6 software reset protocol), then the settings SRST may drop. */
static void reset_channel(struct ata_channel *ch)
{
	uint8_t st;
	if (ch->bm) {
		dev_outb(ch->bm + BM_COMMAND, 0);
		dev_outb(ch->bm + BM_STATUS, BM_ST_INTR | BM_ST_ERROR);
	}
	dev_outb(ch->ctrl, CTL_NIEN | CTL_SRST);
	spin_cycles(SRST_PULSE);
	dev_outb(ch->ctrl, CTL_NIEN);
	spin_cycles(SRST_SETTLE);
	wait_not_busy(ch, PROBE_TIMEOUT, &st);
	ch->selected = -1;
	for (int u = 0; u < 2; u++) {
		struct ata_drive *dr = ch->unit[u];
		if (dr && dr->multiple && set_multiple(ch, (uint8_t)u, dr->multiple))
			dr->multiple = 0;
	}
	dev_inb(ch->cmd + REG_STATUS);
	ch->irq_seen = 0;
	dev_outb(ch->ctrl, ch->devctl);
}

static struct blk_req *fail_timeout(struct ata_drive *dr, uint8_t st)
{
	set_error(dr, "ATA timeout", dr->req->lba, st, 0);
	if (dr->dma)
		dev_outb(dr->ch->bm + BM_COMMAND, 0);
	reset_channel(dr->ch);
	return complete(dr, BLK_ETIMEOUT);
}

/* ---- submit ---- */

static uint8_t rw_command(const struct ata_drive *dr, int write, int ext, int multiple)
{
	if (dr->dma)
		return write ? (ext ? CMD_WRITE_DMA_EXT : CMD_WRITE_DMA) : (ext ? CMD_READ_DMA_EXT : CMD_READ_DMA);
	if (multiple)
		return write ? (ext ? CMD_WRITE_MULTIPLE_EXT : CMD_WRITE_MULTIPLE) :
			       (ext ? CMD_READ_MULTIPLE_EXT : CMD_READ_MULTIPLE);
	return write ? (ext ? CMD_WRITE_SECTORS_EXT : CMD_WRITE_SECTORS) :
		       (ext ? CMD_READ_SECTORS_EXT : CMD_READ_SECTORS);
}

/* PIO data-out: the first block goes without an interrupt (ATA-6 PIO data-out protocol). */
static int write_first_block(struct ata_drive *dr)
{
	struct ata_channel *ch = dr->ch;
	uint8_t st;
	if (wait_not_busy(ch, CMD_TIMEOUT, &st)) {
		set_error(dr, "ATA timeout", dr->req->lba, st, 0);
		reset_channel(ch);
		return finish_early(dr, BLK_ETIMEOUT);
	}
	if ((st & (ST_ERR | ST_DF)) || !(st & ST_DRQ)) {
		uint8_t err = dev_inb(ch->cmd + REG_ERROR);
		dev_inb(ch->cmd + REG_STATUS); /* the device may have raised INTRQ with the abort */
		set_error(dr, (st & (ST_ERR | ST_DF)) ? "ATA error" : "ATA protocol error: no DRQ for write data",
			  dr->req->lba, st, err);
		return finish_early(dr, BLK_EIO);
	}
	uint32_t n = dr->left < dr->block ? dr->left : dr->block;
	dev_outsw(ch->cmd + REG_DATA, dr->pos, n * WORDS_PER_SECTOR);
	dr->pos += n * SECTOR;
	dr->left -= n;
	delay400(ch);
	return 0;
}

static int ata_submit(struct blkdev *d, struct blk_req *r)
{
	struct ata_drive *dr = d->priv;
	struct ata_channel *ch = dr->ch;

	if (dr->req || ch->active)
		return -1; /* one command per channel */
	dr->req = r;
	dr->ext = 0;
	if (r->op == BLK_READ || r->op == BLK_WRITE) {
		uint64_t bytes = (uint64_t)r->sectors * SECTOR, addr = (uint64_t)(uintptr_t)r->buf;
		if (!r->sectors || r->sectors > d->max_sectors || (dr->dma && (addr & 1)) ||
		    addr + bytes > (4ull << 30)) {
			set_error(dr, "request not supported", r->lba, 0, 0);
			return finish_early(dr, BLK_EUNSUPP);
		}
		if (r->lba >= d->sectors || r->sectors > d->sectors - r->lba) {
			set_error(dr, "request beyond the end of the disk", r->lba, 0, 0);
			return finish_early(dr, BLK_EIO);
		}
		/* LBA28 reaches sector 0x0ffffffe (ATA-6 48-bit Address feature set): beyond, or more than 256 sectors,
		 * needs the EXT command. */
		dr->ext = r->lba + r->sectors >= LBA28_LIMIT || r->sectors > LBA28_MAX_COUNT;
	} else if (r->op != BLK_FLUSH) {
		set_error(dr, "request not supported", r->lba, 0, 0);
		return finish_early(dr, BLK_EUNSUPP);
	}

	ch->active = dr;
	ch->irq_seen = 0;
	d->irq_pending = 0;
	barrier();
	if (select_unit(ch, dr->unit, CMD_TIMEOUT)) {
		set_error(dr, "ATA timeout: device selection", r->lba, alt_status(ch), 0);
		reset_channel(ch);
		return finish_early(dr, BLK_ETIMEOUT);
	}
	dr->deadline = ts_read() + CMD_TIMEOUT;

	if (r->op == BLK_FLUSH) {
		dev_outb(ch->cmd + REG_COMMAND, dr->flush_ext ? CMD_FLUSH_CACHE_EXT : CMD_FLUSH_CACHE);
		dr->state = ST_NODATA;
		delay400(ch);
		return 0;
	}

	int write = r->op == BLK_WRITE;
	if (dr->dma) {
		/* BMIDE standard programming sequence: PRD table, its address and the direction, then the ATA command, then
		 * Start. The status register's interrupt/error bits were cleared at the last
		 * completion. */
		uint64_t addr = (uint64_t)(uintptr_t)r->buf, bytes = (uint64_t)r->sectors * SECTOR;
		if (ata_prd_build(ch->prd, PRD_MAX, addr, bytes) < 0) {
			set_error(dr, "request not supported", r->lba, 0, 0);
			ch->active = 0;
			return finish_early(dr, BLK_EUNSUPP);
		}
		barrier(); /* PRDs in memory before the port writes that let the controller read them */
		uint8_t dir = write ? 0 : BM_CMD_TO_MEMORY;
		dev_outl(ch->bm + BM_PRDT, (uint32_t)(uintptr_t)ch->prd);
		dev_outb(ch->bm + BM_COMMAND, dir);
		write_taskfile(dr, r->lba, r->sectors, dr->ext);
		dev_outb(ch->cmd + REG_COMMAND, rw_command(dr, write, dr->ext, 0));
		delay400(ch);
		dev_outb(ch->bm + BM_COMMAND, dir | BM_CMD_START);
		dr->state = ST_DMA;
		return 0;
	}

	dr->pos = r->buf;
	dr->left = r->sectors;
	dr->block = dr->multiple ? dr->multiple : 1;
	write_taskfile(dr, r->lba, r->sectors, dr->ext);
	dev_outb(ch->cmd + REG_COMMAND, rw_command(dr, write, dr->ext, dr->multiple != 0));
	if (write) {
		dr->state = ST_PIO_OUT;
		return write_first_block(dr);
	}
	dr->state = ST_PIO_IN;
	delay400(ch);
	return 0;
}

/* ---- poll ---- */

/* The status a step works from: the interrupt handler's capture in intx mode, the alternate
 * status register in poll mode. 0 = nothing yet; -1 = timed out (the request is completed). */
static int take_status(struct ata_drive *dr, uint8_t *st, uint8_t *bms)
{
	struct ata_channel *ch = dr->ch;
	if (dr->blk.mode != COMPLETE_POLL) {
		if (ch->irq_seen) {
			*st = ch->irq_status;
			*bms = ch->irq_bm_status;
			ch->irq_seen = 0;
			barrier();
			return 1;
		}
		if (ts_read() < dr->deadline)
			return 0;
		/* No interrupt before the deadline: look at the device once. */
		*st = dev_inb(ch->cmd + REG_STATUS);
		if (*st & ST_BSY)
			return -1;
		*bms = 0;
		if (dr->dma) {
			*bms = dev_inb(ch->bm + BM_STATUS);
			dev_outb(ch->bm + BM_STATUS, *bms);
		}
		return 1;
	}
	*st = alt_status(ch);
	/* DMA (ATA-6 DMA protocol): the device may show DRQ without BSY for the whole data phase; the
	 * command is over when both are clear (or ERR/DF is set). */
	uint8_t busy = dr->state == ST_DMA ? (ST_BSY | ST_DRQ) : ST_BSY;
	if ((*st & busy) && !(!(*st & ST_BSY) && (*st & (ST_ERR | ST_DF))))
		return ts_read() < dr->deadline ? 0 : -1;
	*bms = 0;
	if (dr->state == ST_DMA) {
		/* BMIDE standard programming sequence: the transfer is over once the controller is no longer active too. */
		*bms = dev_inb(ch->bm + BM_STATUS);
		if ((*bms & BM_ST_ACTIVE) && !(*bms & BM_ST_ERROR) && !(*st & (ST_ERR | ST_DF)))
			return ts_read() < dr->deadline ? 0 : -1;
		if (*bms & (BM_ST_INTR | BM_ST_ERROR))
			dev_outb(ch->bm + BM_STATUS, *bms);
	}
	return 1;
}

static struct blk_req *ata_poll(struct blkdev *d)
{
	struct ata_drive *dr = d->priv;
	struct ata_channel *ch = dr->ch;
	struct blk_req *r = dr->req;
	uint8_t st, bms;

	if (!r)
		return 0;
	if (dr->state == ST_DONE)
		return complete(dr, dr->done_status);

	int got = take_status(dr, &st, &bms);
	if (got == 0)
		return 0;
	if (got < 0)
		return fail_timeout(dr, st);
	if (st & (ST_ERR | ST_DF))
		return fail_ata(dr, st);

	switch (dr->state) {
	case ST_PIO_IN: {
		/* PIO data-in (ATA-6 protocol): one DRQ block per interrupt. */
		if (!(st & ST_DRQ))
			return fail_protocol(dr, "ATA protocol error: no DRQ for read data", st);
		uint32_t n = dr->left < dr->block ? dr->left : dr->block;
		dev_insw(ch->cmd + REG_DATA, dr->pos, n * WORDS_PER_SECTOR);
		dr->pos += n * SECTOR;
		dr->left -= n;
		if (dr->left) {
			dr->deadline = ts_read() + CMD_TIMEOUT;
			if (d->mode == COMPLETE_POLL)
				delay400(ch);
			return 0;
		}
		/* After the last block the device raises no interrupt: status says how it ended. */
		if (wait_not_busy(ch, CMD_TIMEOUT, &st))
			return fail_timeout(dr, st);
		if (st & (ST_ERR | ST_DF))
			return fail_ata(dr, st);
		if (st & ST_DRQ)
			return fail_protocol(dr, "ATA protocol error: DRQ after the last block", st);
		return complete(dr, BLK_OK);
	}
	case ST_PIO_OUT: {
		/* PIO data-out (ATA-6 protocol): an interrupt after every block; DRQ if more wanted. */
		if (!dr->left) {
			if (st & ST_DRQ)
				return fail_protocol(dr, "ATA protocol error: DRQ after the last block", st);
			return complete(dr, BLK_OK);
		}
		if (!(st & ST_DRQ))
			return fail_protocol(dr, "ATA protocol error: no DRQ for write data", st);
		uint32_t n = dr->left < dr->block ? dr->left : dr->block;
		dev_outsw(ch->cmd + REG_DATA, dr->pos, n * WORDS_PER_SECTOR);
		dr->pos += n * SECTOR;
		dr->left -= n;
		dr->deadline = ts_read() + CMD_TIMEOUT;
		delay400(ch);
		return 0;
	}
	case ST_DMA:
		/* BMIDE standard programming sequence, last step: Start cleared, then the controller and device status decide. */
		dev_outb(ch->bm + BM_COMMAND, 0);
		barrier();
		if (bms & BM_ST_ERROR)
			return fail_protocol(dr, "bus master error", st);
		if (st & ST_DRQ)
			return fail_protocol(dr, "ATA protocol error: DRQ after DMA", st);
		return complete(dr, BLK_OK);
	case ST_NODATA:
		if (st & ST_DRQ)
			return fail_protocol(dr, "ATA protocol error: DRQ in a non-data command", st);
		return complete(dr, BLK_OK);
	default:
		return 0;
	}
}

/* ---- interrupts ---- */

/* INTRQ: reading the status register deasserts it (ATA-6 status register); for DMA the bus master's
 * interrupt bit is cleared by writing it back (BMIDE status register, write 1 to clear). poll() does the rest. */
static void channel_irq(struct ata_channel *ch)
{
	struct ata_drive *dr = ch->active;
	uint8_t bms = 0;
	if (ch->shared && ch->irq_seen)
		return; /* shared native-mode line: this channel's status is already taken */
	if (dr && dr->dma) {
		bms = dev_inb(ch->bm + BM_STATUS);
		if (!(bms & BM_ST_INTR) && ch->shared)
			return; /* not this channel */
	}
	uint8_t st = dev_inb(ch->cmd + REG_STATUS);
	if (bms & (BM_ST_INTR | BM_ST_ERROR))
		dev_outb(ch->bm + BM_STATUS, bms);
	if (!dr || (st & ST_BSY)) {
		ch->spurious++;
		return;
	}
	ch->irq_status = st;
	ch->irq_bm_status = bms;
	barrier();
	ch->irq_seen = 1;
	dr->blk.irqs++;
	dr->blk.irq_pending = 1;
}

static void ata_irq(struct int_frame *f, void *arg)
{
	(void)f;
	for (struct ata_channel *ch = arg; ch; ch = ch->irq_next)
		channel_irq(ch);
}

/* ---- probing ---- */

static int set_multiple(struct ata_channel *ch, uint8_t unit, uint32_t count)
{
	uint8_t st;
	dev_outb(ch->cmd + REG_DEVICE, DEV_OBSOLETE | (unit ? DEV_SLAVE : 0));
	delay400(ch);
	ch->selected = (int8_t)unit;
	if (wait_not_busy(ch, PROBE_TIMEOUT, &st))
		return -1;
	dev_outb(ch->cmd + REG_COUNT, (uint8_t)count);
	dev_outb(ch->cmd + REG_COMMAND, CMD_SET_MULTIPLE);
	delay400(ch);
	if (wait_not_busy(ch, PROBE_TIMEOUT, &st))
		return -1;
	dev_inb(ch->cmd + REG_STATUS);
	return (st & (ST_ERR | ST_DF)) ? -1 : 0;
}

/* IDENTIFY DEVICE. 1 = an ATA device answered, 0 = nothing there (or ATAPI), -1 = stuck. */
static int identify(struct ata_channel *ch, uint8_t unit, uint16_t *id)
{
	uint8_t st;
	dev_outb(ch->cmd + REG_DEVICE, DEV_OBSOLETE | (unit ? DEV_SLAVE : 0));
	delay400(ch);
	ch->selected = (int8_t)unit;
	st = alt_status(ch);
	if (st == ST_FLOATING || st == 0)
		return 0; /* floating bus, or no device behind the selected unit */
	if (wait_not_busy(ch, PROBE_TIMEOUT, &st))
		return -1;
	dev_outb(ch->cmd + REG_COMMAND, CMD_IDENTIFY);
	delay400(ch);
	if (wait_not_busy(ch, PROBE_TIMEOUT, &st))
		return -1;
	if (st == 0 || st == ST_FLOATING)
		return 0;
	if (st & (ST_ERR | ST_DF)) {
		/* A packet device aborts with its signature in LBA mid/high: skipped, as is any
		 * device that aborts IDENTIFY DEVICE. */
		dev_inb(ch->cmd + REG_STATUS);
		return 0;
	}
	if (!(st & ST_DRQ))
		return 0;
	dev_insw(ch->cmd + REG_DATA, id, ATA_ID_WORDS);
	dev_inb(ch->cmd + REG_STATUS);
	return (id[ATA_ID_CONFIG] & ATA_ID_CONFIG_NOT_ATA) ? 0 : 1;
}

static void probe_error(const struct ata_channel *ch, uint8_t unit, const char *msg)
{
	rec_begin_device_error("ide", msg);
	rec_hex("port", ch->cmd);
	rec_u64("unit", unit);
	rec_end();
}

/* One drive: IDENTIFY, capacity, multiple mode. 0 = registered or absent, -1 = error. */
static int probe_unit(struct ata_channel *ch, uint8_t unit, const struct blk_config *cfg)
{
	static uint16_t id[ATA_ID_WORDS];
	int found = identify(ch, unit, id);
	if (found < 0) {
		probe_error(ch, unit, "IDE drive stays busy: skipped");
		return -1;
	}
	if (!found)
		return 0;
	if (!(id[ATA_ID_CAPS] & ATA_ID_CAPS_LBA)) {
		probe_error(ch, unit, "IDE drive without LBA addressing: skipped");
		return -1;
	}
	if (drive_count == MAX_DRIVES)
		return -1;

	struct ata_drive *dr = &drives[drive_count];
	memset(dr, 0, sizeof(*dr));
	dr->ch = ch;
	dr->unit = unit;
	struct ata_id_capacity cap;
	ata_id_capacity(id, &cap);
	uint64_t sectors = cap.sectors;
	dr->lba48 = cap.lba48;
	dr->flush_ext = cap.flush_ext;
	if (cfg->ata_dma) {
		if (!ch->bm || !ch->prd) {
			probe_error(ch, unit, "IDE controller has no bus master: use ata_mode=pio");
			return -1;
		}
		if (!(id[ATA_ID_CAPS] & ATA_ID_CAPS_DMA)) {
			probe_error(ch, unit, "IDE drive does not support DMA: use ata_mode=pio");
			return -1;
		}
		dr->dma = 1;
	} else {
		/* The largest power of two up to word 47's limit (ATA-6 SET MULTIPLE MODE). */
		uint32_t max = id[ATA_ID_MULTIPLE_MAX] & ATA_ID_MULTIPLE_MASK, m = 1;
		while (m * 2 <= max)
			m *= 2;
		if (max >= 2 && !set_multiple(ch, unit, m))
			dr->multiple = m;
	}

	dr->blk = (struct blkdev){
		.model = "ide", .transport = dr->dma ? "dma" : "pio", .mode = cfg->mode,
		.pci = ch->pci, .sectors = sectors, .sector_size = SECTOR,
		.max_sectors = dr->lba48 ? LBA48_MAX_SECTORS : LBA28_MAX_COUNT,
		.queue_depth = 1, .can_flush = 1,
		.write_cache = ata_id_write_cache(id) ? BLK_WCE_ON : BLK_WCE_OFF,
		.submit = ata_submit, .poll = ata_poll, .priv = dr,
	};
	ch->unit[unit] = dr;
	drive_count++;
	return 0;
}

static struct ata_channel *add_channel(const struct pci_dev *pci, int index, int *bad)
{
	uint16_t cmd, ctrl;
	uint32_t progif = pci->class & 0xff;

	if (channel_count == MAX_CHANNELS)
		return 0;
	if (progif & PROGIF_NATIVE(index)) {
		if (pci->bar[BAR_CMD(index)].type != BAR_IO || pci->bar[BAR_CTRL(index)].type != BAR_IO) {
			*bad = 1;
			return 0;
		}
		cmd = (uint16_t)pci_bar_address(pci, BAR_CMD(index));
		ctrl = (uint16_t)pci_bar_address(pci, BAR_CTRL(index));
		if (!cmd || !ctrl)
			return 0;
		ctrl += NATIVE_CTRL_OFFSET;
	} else {
		cmd = index ? COMPAT_CMD_SECONDARY : COMPAT_CMD_PRIMARY;
		ctrl = index ? COMPAT_CTRL_SECONDARY : COMPAT_CTRL_PRIMARY;
		for (unsigned i = 0; i < channel_count; i++)
			if (channels[i].cmd == cmd)
				return 0; /* a second controller in compatibility mode: ports taken */
	}
	struct ata_channel *ch = &channels[channel_count++];
	memset(ch, 0, sizeof(*ch));
	ch->pci = pci;
	ch->cmd = cmd;
	ch->ctrl = ctrl;
	ch->selected = -1;
	ch->devctl = CTL_NIEN;
	if ((progif & PROGIF_BUS_MASTER) && pci->bar[BAR_BUS_MASTER].type == BAR_IO) {
		uint64_t bm = pci_bar_address(pci, BAR_BUS_MASTER);
		if (bm)
			ch->bm = (uint16_t)(bm + (uint64_t)index * BM_CHANNEL_STRIDE);
	}
	return ch;
}

/* Route a channel's interrupt: ISA IRQ 14/15 through the MADT in compatibility mode, the
 * function's INTx pin in native mode (both channels then share one vector). */
static int route_channel(struct ata_channel *ch, int index, struct ata_channel **native_head)
{
	uint32_t progif = ch->pci->class & 0xff;
	if (progif & PROGIF_NATIVE(index)) {
		if (*native_head) {
			ch->irq_next = (*native_head)->irq_next;
			(*native_head)->irq_next = ch;
			ch->shared = (*native_head)->shared = 1;
			return 0;
		}
		uint8_t v = irq_alloc_vector();
		if (!v)
			return -1;
		irq_register(v, ata_irq, ch);
		if (pci_intx_route(ch->pci, v))
			return -1;
		*native_head = ch;
		return 0;
	}
	uint8_t v = irq_alloc_vector();
	if (!v)
		return -1;
	irq_register(v, ata_irq, ch);
	struct irq_route r = acpi_isa_irq_route(index ? COMPAT_IRQ_SECONDARY : COMPAT_IRQ_PRIMARY);
	return ioapic_route(r.gsi, v, r.level, r.active_low);
}

static int probe_controller(const struct pci_dev *pci, const struct blk_config *cfg)
{
	int rc = 0;
	struct ata_channel *native_head = 0;

	pci_enable(pci, cfg->ata_dma);
	if (pci->vendor == PCI_VENDOR_INTEL &&
	    (pci->device == PCI_DEVICE_PIIX3_IDE || pci->device == PCI_DEVICE_PIIX4_IDE)) {
		for (int i = 0; i < 2; i++) {
			uint16_t t = pci_read16(pci, PIIX_IDETIM(i));
			if (!(t & PIIX_IDETIM_DECODE))
				pci_write16(pci, PIIX_IDETIM(i), t | PIIX_IDETIM_DECODE);
		}
	}
	for (int index = 0; index < 2; index++) {
		int bad = 0;
		struct ata_channel *ch = add_channel(pci, index, &bad);
		if (bad) {
			report_error("device", "IDE channel in native mode without I/O BARs: skipped");
			rc = -1;
		}
		if (!ch)
			continue;
		unsigned before = drive_count;
		dev_outb(ch->ctrl, CTL_NIEN); /* no interrupts while probing */
		if (dev_inb(ch->cmd + REG_STATUS) == ST_FLOATING) {
			channel_count--; /* nothing attached */
			continue;
		}
		if (cfg->ata_dma && ch->bm) {
			ch->prd = page_alloc(1);
			dev_outb(ch->bm + BM_COMMAND, 0);
			dev_outb(ch->bm + BM_STATUS, BM_ST_INTR | BM_ST_ERROR);
		}
		for (uint8_t unit = 0; unit < 2; unit++)
			if (probe_unit(ch, unit, cfg))
				rc = -1;
		if (drive_count == before) {
			channel_count--;
			continue;
		}
		if (cfg->mode == COMPLETE_INTX) {
			if (route_channel(ch, index, &native_head)) {
				probe_error(ch, 0, "cannot route the IDE interrupt: use irq=poll");
				drive_count = before;
				channel_count--;
				rc = -1;
				continue;
			}
			ch->devctl = 0; /* nIEN clear: INTRQ enabled */
		}
		dev_inb(ch->cmd + REG_STATUS); /* drop anything left pending */
		dev_outb(ch->ctrl, ch->devctl);
	}
	return rc;
}

int ata_match(const struct pci_dev *p) { return (p->class >> 8) == PCI_CLASS_IDE; }

int ata_init(const struct pci_dev *pci, const struct blk_config *asked)
{
	unsigned first = drive_count;
	struct blk_config cfg = *asked;

	if (cfg.mode == COMPLETE_MSIX)
		cfg.mode = COMPLETE_POLL; /* IDE has no MSI: bring drives up polled, mark them below */
	int rc = probe_controller(pci, &cfg);
	for (unsigned i = first; i < drive_count; i++) {
		if (asked->mode == COMPLETE_MSIX) /* bench=disk refuses it if chosen */
			drives[i].blk.unusable = "IDE has no MSI or MSI-X: use irq=poll or irq=intx";
		if (blk_register(&drives[i].blk) < 0)
			return -1;
	}
	return rc;
}
