/*
 * bench=disk: block I/O through the one block interface (drivers/blk.h), per operation.
 *
 * Before timing: the operation stream (op and LBA of every request) is computed into an array,
 * buffers are allocated and touched. The timed loop then only stamps, submits, polls and stores
 * latencies: no printing, no allocation, no division. The same stream, run against the
 * in-memory ramdisk, gives the harness's own cost per operation (harness_mean).
 *
 * Data safety: I/O only touches the data area (from DISK_DATA_START). Writes need the kvmio
 * scratch label in sector 0 (written by `kvmio mkdisk`) or write=unsafe; sector 0 is never
 * written either way.
 */
#include "bench.h"
#include "stats.h"
#include "drivers/blk.h"
#include "crc32.h"
#include "kernel/devio.h"
#include "disklabel.h"
#include "kernel/exec.h"
#include "kernel/interrupts.h"
#include "kernel/lib.h"
#include "kernel/memory.h"
#include "kernel/tsc.h"

#define BENCH_NAME         "disk"
#define MAX_QD             1024
#define HARNESS_MAX_OPS    20000ull
#define HARNESS_SECTORS    (16ull * 1024 * 1024 / DISK_SECTOR)
/* Both times exec_deadline_scale(): between completions the guest submits, polls and checks
 * itself, ~10x slower again when its instructions are interpreted (kernel/exec.h). */
#define STALL_SECONDS      10           /* no completion for this long: a device error */
#define STALL_CYCLES_BLIND (1ull << 35) /* when tsc_hz is unknown (~16 s at 2 GHz) */
#define BATCH_STALL_ROUNDS 4096         /* stamp=batch: empty polls between stall checks */

struct disk_run {
	const struct options *o;
	struct blkdev *d;
	uint64_t tsc_hz;
	uint64_t first_lba, blocks;  /* data area in device sectors; blocks of bs */
	uint32_t bs_sectors;
	uint64_t *lba;               /* per op: LBA; bit 63 set = write */
	uint64_t *samples;
	uint64_t *flush_samples;
	uint64_t max_ops;
	struct blk_req *reqs;
	uint8_t **bufs;
	int label;
	uint64_t label_id;
};

#define OP_WRITE_BIT (1ull << 63)

static uint64_t rng_state;
static uint64_t rng_next(void) /* xorshift64* */
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void device_error(const struct blkdev *d, const char *msg)
{
	rec_begin_device_error(d->model, msg);
	rec_str("what", d->err.what ? d->err.what : "-");
	rec_u64("lba", d->err.lba);
	rec_hex("status", d->err.status);
	rec_hex("error", d->err.error);
	if (d->error_fields)
		d->error_fields(d);
	rec_end();
}

static uint64_t stall_cycles(const struct disk_run *r)
{
	return (r->tsc_hz ? r->tsc_hz * STALL_SECONDS : STALL_CYCLES_BLIND) * exec_deadline_scale();
}

/* Synchronous single request (probing the label, flushes). Returns the request status. */
static int sync_io(struct disk_run *r, struct blk_req *q, uint64_t *cycles)
{
	struct blkdev *d = r->d;
	uint64_t t0 = ts_read();
	if (d->submit(d, q))
		return BLK_EIO;
	for (;;) {
		if (blk_wait(d, stall_cycles(r))) {
			d->err.what = "no completion interrupt";
			return BLK_ETIMEOUT;
		}
		struct blk_req *done = d->poll(d);
		if (done) {
			if (cycles)
				*cycles = ts_read() - t0;
			return done->status;
		}
		if (ts_read() - t0 > stall_cycles(r)) {
			d->err.what = "no completion";
			return BLK_ETIMEOUT;
		}
	}
}

static int read_label(struct disk_run *r, uint8_t *buf)
{
	struct blk_req q = { .lba = 0, .sectors = 1, .op = BLK_READ, .buf = buf };
	if (sync_io(r, &q, 0) != BLK_OK)
		return -1;
	struct kvmio_label l;
	memcpy(&l, buf, sizeof(l));
	uint32_t crc = l.crc;
	l.crc = 0;
	if (memcmp(l.magic, DISK_LABEL_MAGIC, sizeof(l.magic)) || l.version != DISK_LABEL_VERSION ||
	    l.header_size != sizeof(l) || crc32_update(0, &l, sizeof(l)) != crc)
		return 0;
	r->label_id = l.id;
	return 1;
}

static void report_disk(unsigned index, struct blkdev *d, int label, uint64_t label_id)
{
	rec_begin("disk");
	rec_u64("index", index);
	rec_str("model", d->model);
	rec_str("transport", d->transport);
	static const char *const modes[] = { "poll", "intx", "msix" };
	rec_str("irq", modes[d->mode]);
	if (d->pci)
		rec_bdf(d->pci);
	rec_u64("sectors", d->sectors);
	rec_u64("sector_size", d->sector_size);
	rec_u64("queue_depth", d->queue_depth);
	rec_u64("max_sectors", d->max_sectors);
	rec_str("label", label > 0 ? "yes" : "no");
	if (label > 0)
		rec_hex("label_id", label_id);
	rec_u64("read_only", (uint64_t)d->read_only);
	if (d->write_cache != BLK_WCE_UNKNOWN)
		rec_str("write_cache", d->write_cache == BLK_WCE_ON ? "on" : "off");
	if (d->dbbuf)
		rec_str("dbbuf", d->dbbuf);
	if (d->ring) {
		rec_str("ring", d->ring);
		rec_u64("queues", d->queues);
	}
	rec_end();
}

static int op_writes(const char *rw) { return strcmp(rw, "read") && strcmp(rw, "randread"); }

/* The whole operation stream, decided before timing. */
static void plan_ops(struct disk_run *r, const char *rw, uint64_t n)
{
	int seq = !strncmp(rw, "read", 4) || !strncmp(rw, "write", 5);
	uint64_t next_block = 0;
	rng_state = r->o->seed * 0x9e3779b97f4a7c15ull + 1;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t block;
		if (seq) {
			block = next_block;
			next_block = next_block + 1 == r->blocks ? 0 : next_block + 1;
		} else {
			block = (uint64_t)(((unsigned __int128)rng_next() * r->blocks) >> 64);
		}
		int write = !strcmp(rw, "write") || !strcmp(rw, "randwrite") ||
			    (!strcmp(rw, "randrw") && rng_next() % 100 >= r->o->mix);
		r->lba[i] = (r->first_lba + block * r->bs_sectors) | (write ? OP_WRITE_BIT : 0);
	}
}

struct series_result {
	uint64_t ops, elapsed, flushes, bytes;
	uint64_t half_ops, half_elapsed; /* the first half of the run: ops done, cycles taken */
	struct io_counters io;
	uint64_t irqs;
	uint64_t ticks;  /* wait=halt: timer ticks taken during the series */
	int failed;
};

/*
 * The timed loop. Keeps up to qd requests in flight; after every `flush_every` writes it drains
 * and issues a flush (timed apart). lba_mask != 0 folds LBAs into a small device (ramdisk).
 * stamp=op (batch 0): each request is timed from its submission to its completion. stamp=batch:
 * no clock read per request; one at the end of every `batch` completions, each of which gets
 * the batch's mean (at qd=1 the mean latency, at qd>1 the time per op: latency / qd by
 * Little's law), and the stall check reads the clock only every BATCH_STALL_ROUNDS empty polls.
 */
static void run_series(struct disk_run *r, struct blkdev *d, uint64_t n, uint64_t qd,
		       uint64_t flush_every, uint64_t lba_mask, uint64_t deadline, uint64_t batch,
		       struct series_result *res)
{
	struct blk_req *free_list[MAX_QD];
	uint64_t nfree = qd, submitted = 0, done = 0, writes_since_flush = 0;
	uint64_t last_progress, stall = stall_cycles(r), in_batch = 0, idle_rounds = 0;

	for (uint64_t i = 0; i < qd; i++)
		free_list[i] = &r->reqs[i];
	memset(res, 0, sizeof(*res));
	struct io_counters io0 = io_count;
	uint64_t irq0 = d->irqs, tick0 = irq_wait_ticks();
	uint64_t t_start = ts_read();
	last_progress = t_start;
	uint64_t batch_start = t_start;
	/* the split into halves, for steady state: half the ops, or half the time= */
	uint64_t half_ops = deadline ? UINT64_MAX : n / 2;
	uint64_t t_mid = deadline && deadline > t_start ? t_start + (deadline - t_start) / 2
							 : UINT64_MAX;

	while (done < submitted || (submitted < n && !res->failed) ||
	       (flush_every && writes_since_flush >= flush_every && !res->failed)) {
		while (nfree && submitted < n && !res->failed) {
			if (flush_every && writes_since_flush >= flush_every)
				break; /* drain first */
			struct blk_req *q = free_list[--nfree];
			uint64_t e = r->lba[submitted];
			q->lba = (e & ~OP_WRITE_BIT) & (lba_mask ? lba_mask : ~0ull);
			q->op = (e & OP_WRITE_BIT) ? BLK_WRITE : BLK_READ;
			q->sectors = r->bs_sectors;
			q->tag = submitted;
			q->t_submit = batch ? 0 : ts_read();
			if (d->submit(d, q)) {
				free_list[nfree++] = q;
				break;
			}
			submitted++;
			if (q->op == BLK_WRITE)
				writes_since_flush++;
			if (!batch && deadline && q->t_submit >= deadline)
				n = submitted; /* time= reached: stop submitting */
		}
		if (flush_every && writes_since_flush >= flush_every && done == submitted) {
			struct blk_req fq = { .op = BLK_FLUSH, .buf = 0 };
			uint64_t c = 0;
			if (sync_io(r, &fq, &c) != BLK_OK) {
				res->failed = 1;
				break;
			}
			r->flush_samples[res->flushes++] = c;
			writes_since_flush = 0;
			continue;
		}
		if (blk_wait(d, stall)) {
			d->err.what = "no completion interrupt";
			res->failed = 2;
			break;
		}
		struct blk_req *q;
		int progressed = 0;
		while (batch && (q = d->poll(d))) {
			done++;
			progressed = 1;
			free_list[nfree++] = q;
			if (q->status != BLK_OK)
				res->failed = 1;
			if (++in_batch < batch)
				continue;
			uint64_t t = ts_read();
			bench_batch_samples(r->samples + done - in_batch, in_batch, t - batch_start);
			batch_start = last_progress = t;
			in_batch = 0;
			if (!res->half_elapsed && (done >= half_ops || t >= t_mid)) {
				res->half_elapsed = t - t_start;
				res->half_ops = done;
			}
			if (deadline && t >= deadline && n > submitted)
				n = submitted; /* time= reached: stop submitting */
		}
		if (batch && (progressed || ++idle_rounds % BATCH_STALL_ROUNDS))
			continue;
		/* stamp=batch comes here only for the stall check: a completion taken by the per-op
		 * loop below would be timed on its own as well as inside its batch's time */
		while (!batch && (q = d->poll(d))) {
			uint64_t t = ts_read();
			r->samples[done++] = t - q->t_submit;
			free_list[nfree++] = q;
			last_progress = t;
			if (!res->half_elapsed && (done >= half_ops || t >= t_mid)) {
				res->half_elapsed = t - t_start;
				res->half_ops = done;
			}
			if (q->status != BLK_OK)
				res->failed = 1;
		}
		if (ts_read() - last_progress > stall) {
			d->err.what = "no completion";
			res->failed = 2;
			break;
		}
	}
	res->elapsed = ts_read() - t_start;
	if (in_batch) /* the last, shorter batch */
		bench_batch_samples(r->samples + done - in_batch, in_batch,
				    t_start + res->elapsed - batch_start);
	res->ops = done;
	res->bytes = done * r->bs_sectors * d->sector_size;
	res->io.pio_r = io_count.pio_r - io0.pio_r;
	res->io.pio_w = io_count.pio_w - io0.pio_w;
	res->io.mmio_r = io_count.mmio_r - io0.mmio_r;
	res->io.mmio_w = io_count.mmio_w - io0.mmio_w;
	res->irqs = d->irqs - irq0;
	res->ticks = irq_wait_ticks() - tick0;
}

/* stamp=batch: its batch size; stamp=op: 0 */
static uint64_t stamp_batch(const struct options *o)
{
	return strcmp(o->stamp, "batch") ? 0 : o->batch;
}

/* "randread-4k-qd1": the series name, in buf. */
static void series_name(char *buf, unsigned cap, const char *rw, uint64_t bs, uint64_t qd,
			const char *suffix)
{
	char *p = buf, *end = buf + cap;
	p = str_append(p, end, rw);
	p = str_append(p, end, "-");
	p = u64_append(p, end, bs % 1024 ? bs : bs / 1024);
	p = str_append(p, end, bs % 1024 ? "" : "k");
	p = str_append(p, end, "-qd");
	p = u64_append(p, end, qd);
	str_append(p, end, suffix);
}

static void result_fields(struct disk_run *r, const char *rw, uint64_t bs, uint64_t qd,
			  const struct series_result *res, uint64_t harness_total, uint64_t harness_ops)
{
	static const char *const modes[] = { "poll", "intx", "msix" };
	rec_u64("dev", r->o->dev_kind == DEV_INDEX ? r->o->dev_index : 0);
	rec_str("model", r->d->model);
	rec_str("transport", r->d->transport);
	rec_str("irq", modes[r->d->mode]);
	rec_str("wait", r->o->wait);
	if (r->d->ring) {
		rec_str("ring", r->d->ring);
		rec_u64("queues", r->d->queues);
	}
	rec_str("rw", rw);
	rec_u64("bs", bs);
	rec_u64("qd", qd);
	rec_u64("bytes", res->bytes);
	rec_u64("elapsed", res->elapsed);
	rec_u64("half_ops", res->half_ops);
	rec_u64("half_elapsed", res->half_elapsed);
	rec_u64("pio_r", res->io.pio_r);
	rec_u64("pio_w", res->io.pio_w);
	rec_u64("mmio_r", res->io.mmio_r);
	rec_u64("mmio_w", res->io.mmio_w);
	rec_u64("irqs", res->irqs);
	if (!strcmp(r->o->wait, "halt"))
		rec_u64("ticks", res->ticks);
	rec_u64("flushes", res->flushes);
	if (r->d->dbbuf)
		rec_str("dbbuf", r->d->dbbuf);
	rec_ratio2("harness_mean", harness_total, harness_ops);
}

/* Cycles the harness itself spends per operation: the same stream, same qd, through a
 * ramdisk that completes without touching data; elapsed / ops (not latency, which grows
 * with qd). */
static uint64_t harness_cost(struct disk_run *r, uint64_t n, uint64_t qd, uint64_t *ops)
{
	struct blkdev *ram = ramdisk_create(HARNESS_SECTORS, 0);
	struct series_result res;
	if (!ram)
		return 0;
	if (n > HARNESS_MAX_OPS)
		n = HARNESS_MAX_OPS;
	if (qd > ram->queue_depth)
		qd = ram->queue_depth;
	/* ramdisk sectors are a power of two: fold the stream into it with a mask */
	run_series(r, ram, n, qd, 0, HARNESS_SECTORS - r->bs_sectors, 0, stamp_batch(r->o), &res);
	*ops = res.ops;
	return res.elapsed;
}

/* One measured series: plan, harness baseline, device run, records. */
static int measure(struct disk_run *r, const char *rw, uint64_t bs, uint64_t qd)
{
	const struct options *o = r->o;
	uint64_t n = o->time ? r->max_ops : o->ops;

	r->bs_sectors = (uint32_t)(bs / r->d->sector_size);
	r->blocks = (o->range ? o->range : r->d->sectors - r->first_lba) / r->bs_sectors;
	plan_ops(r, rw, n);
	uint64_t harness_ops = 0, harness_total = harness_cost(r, n, qd, &harness_ops);

	if (o->warmup || o->warmup_ms) {
		/* warmup=N: N ops of the planned stream; warmup=TIME: the stream again and again
		 * until TIME has passed (steady state: the first ~100 ms run faster) */
		uint64_t until = o->warmup_ms && r->tsc_hz ? ts_read() + o->warmup_ms * r->tsc_hz / 1000
							     : 0;
		do {
			struct series_result w;
			run_series(r, r->d, o->warmup && o->warmup < n ? o->warmup : n, qd, 0, 0,
				   until, stamp_batch(o), &w);
			if (w.failed) {
				device_error(r->d, "device error during warmup");
				return -1;
			}
		} while (until && ts_read() < until);
	}
	uint64_t deadline = o->time && r->tsc_hz ? ts_read() + o->time * r->tsc_hz : 0;
	struct series_result res;
	run_series(r, r->d, n, qd, o->flush, 0, deadline, stamp_batch(o), &res);
	if (res.failed) {
		device_error(r->d, res.failed == 2 ? "device stopped completing requests" :
						    "device reported an error");
		return -1;
	}
	char name[64];
	series_name(name, sizeof(name), rw, bs, qd, "");
	result_record_begin(BENCH_NAME, name, r->samples, res.ops);
	result_fields(r, rw, bs, qd, &res, harness_total, harness_ops);
	bench_stopped_field(o->time != 0, res.ops >= n);
	bench_stamp_fields(stamp_batch(o));
	rec_end();
	if (res.flushes) {
		series_name(name, sizeof(name), rw, bs, qd, "-flush");
		result_record_begin(BENCH_NAME, name, r->flush_samples, res.flushes);
		result_fields(r, rw, bs, qd, &res, harness_total, harness_ops);
		rec_end();
	}
	return 0;
}

/* ---- verify=1: stamped writes over the range, every block read back and checked ---- */

#define VERIFY_PASS 1

static void stamp_sector(uint8_t *sec, uint64_t lba, uint64_t seed)
{
	struct kvmio_stamp st = { DISK_STAMP_MAGIC, lba, seed, VERIFY_PASS, 0 };
	memcpy(sec, &st, sizeof(st));
	for (uint32_t i = sizeof(st); i < DISK_SECTOR; i++)
		sec[i] = stamp_fill(seed, lba, VERIFY_PASS, i);
	st.crc = crc32_update(0, sec, DISK_SECTOR);
	memcpy(sec, &st, sizeof(st));
}

static int sector_ok(const uint8_t *sec, uint64_t lba, uint64_t seed)
{
	uint8_t copy[DISK_SECTOR];
	struct kvmio_stamp st;
	memcpy(copy, sec, DISK_SECTOR);
	memcpy(&st, copy, sizeof(st));
	uint32_t crc = st.crc;
	st.crc = 0;
	memcpy(copy, &st, sizeof(st));
	if (st.magic != DISK_STAMP_MAGIC || st.lba != lba || st.seed != seed || st.pass != VERIFY_PASS ||
	    crc32_update(0, copy, DISK_SECTOR) != crc)
		return 0;
	for (uint32_t i = sizeof(st); i < DISK_SECTOR; i++)
		if (sec[i] != stamp_fill(seed, lba, VERIFY_PASS, i))
			return 0;
	return 1;
}

static int verify(struct disk_run *r, const char *rw, uint64_t bs)
{
	const struct options *o = r->o;
	uint64_t n = r->blocks < o->ops ? r->blocks : o->ops;
	struct blk_req *q = &r->reqs[0];
	uint8_t *buf = q->buf;

	/* Each block once: in order, or shuffled (Fisher-Yates) for the random patterns. */
	rng_state = o->seed * 0x9e3779b97f4a7c15ull + 1;
	for (uint64_t i = 0; i < n; i++)
		r->lba[i] = r->first_lba + i * r->bs_sectors;
	if (strncmp(rw, "rand", 4) == 0)
		for (uint64_t i = n - 1; i > 0; i--) {
			uint64_t j = rng_next() % (i + 1), t = r->lba[i];
			r->lba[i] = r->lba[j];
			r->lba[j] = t;
		}
	for (int phase = 0; phase < 2; phase++) {
		uint64_t total = 0, irq0 = r->d->irqs, tick0 = irq_wait_ticks();
		struct io_counters io0 = io_count;
		for (uint64_t i = 0; i < n; i++) {
			uint64_t lba = r->lba[i];
			if (phase == 0)
				for (uint32_t s = 0; s < r->bs_sectors; s++)
					stamp_sector(buf + s * DISK_SECTOR, lba + s, o->seed);
			else
				memset(buf, 0, bs);
			*q = (struct blk_req){ .lba = lba, .sectors = r->bs_sectors, .buf = buf,
					       .op = phase == 0 ? BLK_WRITE : BLK_READ };
			int st = sync_io(r, q, &r->samples[i]);
			if (st != BLK_OK) { /* sync_io named a timeout in err.what */
				device_error(r->d, phase == 0 ? "verify write failed" : "verify read failed");
				return -1;
			}
			total += r->samples[i];
			for (uint32_t s = 0; phase == 1 && s < r->bs_sectors; s++)
				if (!sector_ok(buf + s * DISK_SECTOR, lba + s, o->seed)) {
					rec_begin("error");
					rec_str("code", "verify");
					rec_str("msg", "data read back differs from what was written");
					rec_u64("lba", lba + s);
					rec_end();
					return -1;
				}
		}
		if (phase == 0 && r->d->can_flush) {
			struct blk_req fq = { .op = BLK_FLUSH };
			if (sync_io(r, &fq, 0) != BLK_OK) {
				device_error(r->d, "flush after verify writes failed");
				return -1;
			}
		}
		char name[64];
		series_name(name, sizeof(name), phase == 0 ? "verify-write" : "verify-read", bs, 1, "");
		result_record_begin(BENCH_NAME, name, r->samples, n);
		struct series_result res = { .ops = n, .elapsed = total, .bytes = n * bs,
					     .irqs = r->d->irqs - irq0,
					     .ticks = irq_wait_ticks() - tick0 };
		res.io.pio_r = io_count.pio_r - io0.pio_r;
		res.io.pio_w = io_count.pio_w - io0.pio_w;
		res.io.mmio_r = io_count.mmio_r - io0.mmio_r;
		res.io.mmio_w = io_count.mmio_w - io0.mmio_w;
		result_fields(r, phase == 0 ? "verify-write" : "verify-read", bs, 1, &res, 0, 0);
		rec_str("verify", phase == 1 ? "ok" : "-");
		rec_u64("seed", o->seed);
		rec_end();
	}
	return 0;
}

/* ---- entry ---- */

static int sweep_values(const struct options *o, uint64_t *vals, char *axis)
{
	if (!o->sweep[0]) {
		*axis = 0;
		return 0;
	}
	*axis = o->sweep[0]; /* 'q' or 'b' */
	int n = 0;
	const char *p = o->sweep + 3;
	while (*p) {
		const char *start = p;
		while (*p && *p != ',')
			p++;
		parse_u64(start, (size_t)(p - start), &vals[n++]);
		if (*p)
			p++;
	}
	return n;
}

static int check_shape(struct disk_run *r, uint64_t bs, uint64_t qd)
{
	struct blkdev *d = r->d;
	if (bs % d->sector_size) {
		report_error_key("badconfig", "bs= is not a multiple of the sector size", "bs");
		return -1;
	}
	if (bs / d->sector_size > d->max_sectors) {
		report_error_key("badconfig", "bs= is larger than the device takes in one request", "bs");
		return -1;
	}
	if (qd > d->queue_depth || qd > MAX_QD) {
		report_error_key("badconfig", "qd= exceeds the device's queue depth (see its disk record)", "qd");
		return -1;
	}
	uint64_t sectors_needed = bs / d->sector_size;
	if (d->sectors < r->first_lba + sectors_needed) {
		report_error_key("badconfig", "disk too small: the data area starts at 1 MiB", "dev");
		return -1;
	}
	if (r->o->range && (r->o->range < sectors_needed || r->first_lba + r->o->range > d->sectors)) {
		report_error_key("badconfig", r->o->range < sectors_needed ? "range= is smaller than one block"
						       : "range= goes past the end of the disk", "range");
		return -1;
	}
	return 0;
}

static struct blkdev *select_disk(const struct options *o)
{
	if (o->dev_kind == DEV_INDEX)
		return blk_get((unsigned)o->dev_index);
	if (o->dev_kind == DEV_BDF) {
		for (unsigned i = 0; i < blk_count(); i++) {
			const struct pci_dev *p = blk_get(i)->pci;
			if (p && p->bus == o->dev_bus && p->dev == o->dev_dev && p->fn == o->dev_fn)
				return blk_get(i);
		}
		return 0;
	}
	return blk_get(0);
}

enum guest_status bench_disk(const struct options *o)
{
	static struct disk_run run;
	struct disk_run *r = &run;
	struct blk_config cfg = {
		.mode = !strcmp(o->irq, "msix") ? COMPLETE_MSIX :
			!strcmp(o->irq, "intx") ? COMPLETE_INTX : COMPLETE_POLL,
		.ata_dma = !strcmp(o->ata_mode, "dma"),
		.evidx = (int)o->evidx, .indirect = (int)o->indirect, .nvme_dbbuf = (int)o->dbbuf,
		.virtio_transport = !strcmp(o->transport, "legacy") ? 1 : !strcmp(o->transport, "modern") ? 2 : 0,
		.packed = !strcmp(o->ring, "packed"), .queues = (uint32_t)o->queues,
	};
	uint64_t sweep[16];
	char axis;
	int nsweep = sweep_values(o, sweep, &axis);

	memset(r, 0, sizeof(*r));
	r->o = o;
	r->tsc_hz = tsc_hz();
	r->first_lba = DISK_DATA_START / DISK_SECTOR;
	if (o->time && !r->tsc_hz) {
		report_error_key("badconfig", "time= needs a known TSC frequency (tsc_method=none)", "time");
		return STATUS_BADCONFIG;
	}
	if (blk_probe_all(&cfg))
		return STATUS_FAIL; /* the driver wrote the error record */

	uint8_t *sector = page_alloc(1);
	for (unsigned i = 0; i < blk_count(); i++) {
		r->d = blk_get(i);
		int label = read_label(r, sector);
		if (label < 0) {
			device_error(r->d, "cannot read sector 0");
			return STATUS_FAIL;
		}
		report_disk(i, r->d, label, r->label_id);
	}
	r->d = select_disk(o);
	if (!r->d) {
		report_error_key("badconfig", blk_count() ? "dev= names no disk on this machine (see the disk records)"
						    : "no disk found: attach one (kvmio boot --disk MODEL,...)", "dev");
		return STATUS_BADCONFIG;
	}
	if (r->d->unusable) {
		report_error_key("badconfig", r->d->unusable, r->d->unusable_key ? r->d->unusable_key : "irq");
		return STATUS_BADCONFIG;
	}
	r->label = read_label(r, sector) > 0;

	uint64_t bs_max = o->bs, qd_max = o->qd;
	for (int i = 0; i < nsweep; i++) {
		if (axis == 'b' && sweep[i] > bs_max)
			bs_max = sweep[i];
		if (axis == 'q' && sweep[i] > qd_max)
			qd_max = sweep[i];
	}
	for (int i = 0; i <= nsweep; i++) {
		uint64_t bs = axis == 'b' && i < nsweep ? sweep[i] : o->bs;
		uint64_t qd = axis == 'q' && i < nsweep ? sweep[i] : o->qd;
		if (check_shape(r, bs, qd))
			return STATUS_BADCONFIG;
	}
	int writes = op_writes(o->rw) || o->verify;
	if (writes && r->d->read_only) {
		report_error_key("badconfig", "the disk is read-only: refusing to write", "dev");
		return STATUS_BADCONFIG;
	}
	if (writes && !r->label && strcmp(o->write, "unsafe")) {
		report_error_key("badconfig", "refusing to write: the disk has no kvmio scratch label "
			    "(make one with kvmio mkdisk, or pass write=unsafe)", "write");
		return STATUS_BADCONFIG;
	}
	if (o->flush && !r->d->can_flush) {
		report_error_key("badconfig", "flush= asked, but the device cannot flush", "flush");
		return STATUS_BADCONFIG;
	}

	r->max_ops = o->time ? BENCH_TIME_MAX_OPS : o->ops;
	uint64_t arr_pages = ALIGN_UP(r->max_ops * 8, PAGE_SIZE) / PAGE_SIZE;
	r->lba = page_alloc(arr_pages);
	r->samples = page_alloc(arr_pages);
	r->flush_samples = page_alloc(o->flush ? ALIGN_UP((r->max_ops / o->flush + 2) * 8, PAGE_SIZE) / PAGE_SIZE : 1);
	r->reqs = page_alloc(ALIGN_UP(qd_max * sizeof(struct blk_req), PAGE_SIZE) / PAGE_SIZE);
	if (!r->lba || !r->samples || !r->flush_samples || !r->reqs) {
		report_error_key("nomem", "not enough memory for ops= samples and qd= requests", 0);
		return STATUS_FAIL;
	}
	for (uint64_t i = 0; i < qd_max; i++) {
		r->reqs[i].buf = page_alloc(ALIGN_UP(bs_max, PAGE_SIZE) / PAGE_SIZE);
		if (!r->reqs[i].buf) {
			report_error_key("nomem", "not enough memory for qd= buffers of bs= bytes", 0);
			return STATUS_FAIL;
		}
	}

	if (o->verify) {
		r->bs_sectors = (uint32_t)(o->bs / r->d->sector_size);
		r->blocks = (o->range ? o->range : r->d->sectors - r->first_lba) / r->bs_sectors;
		return verify(r, o->rw, o->bs) ? STATUS_FAIL : STATUS_OK;
	}
	for (int i = 0; i < (nsweep ? nsweep : 1); i++) {
		uint64_t bs = axis == 'b' ? sweep[i] : o->bs;
		uint64_t qd = axis == 'q' ? sweep[i] : o->qd;
		if (measure(r, o->rw, bs, qd))
			return STATUS_FAIL;
	}
	return STATUS_OK;
}
