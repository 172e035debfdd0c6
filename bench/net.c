/*
 * bench=net-tx | net-rx | net-rr | net-echo: per-packet costs through the one NIC interface
 * (drivers/net.h). Frames are kvmio test frames (kernel/netframe.h): a sequence number and a
 * CRC in every payload, so every received frame is checked and loss, corruption, duplicates
 * and reordering are counted, never hidden. All frames are built before timing; the timed
 * loops stamp, transmit, poll, check and store, without printing, allocation or division.
 *
 * Topologies (set up by `kvmio boot --net`): loop = two NICs on a QEMU hub, dev= transmits and
 * rxdev= receives (and, for net-rr, reflects); peer = one NIC and `kvmio peer` on a socket
 * (reflect, sink or flood); tap = a tap device in a network namespace (net-echo answers the
 * host's ping and UDP).
 */
#include "bench.h"
#include "stats.h"
#include "drivers/net.h"
#include "crc32.h"
#include "kernel/devio.h"
#include "kernel/exec.h"
#include "kernel/interrupts.h"
#include "kernel/lib.h"
#include "kernel/memory.h"
#include "netframe.h"
#include "kernel/tsc.h"

/*
 * Bounded waits, in seconds of r->bound_second: a second times exec_deadline_scale(), because
 * each covers work the guest does itself (transmitting, reflecting in the loop topology,
 * draining and checking frames), ~10x slower again when its instructions are interpreted
 * (kernel/exec.h). The link wait too: it only lengthens a wait for a link that stays down.
 */
#define IDLE_SECONDS        3     /* net-rx: no frame for this long after the first: done */
#define FIRST_FRAME_SECONDS 10    /* ... or before the first */
#define RR_REPLY_SECONDS    3     /* net-rr: a request without a reply in this time is lost */
#define LINK_WAIT_SECONDS   2
#define TX_STALL_SECONDS    10    /* no transmit completion for this long: the NIC is stuck */
#define DRAIN_SECOND_PART   4     /* net-tx: a quarter second for frames still on their way */
#define BLIND_SECOND        (1ull << 31)  /* cycles standing in for a second when tsc_hz is 0 */
#define MAX_FRAME_BYTES     (64ull << 20) /* all frames of a run are built beforehand */
#define TIME_FRAME_BYTES    (48ull << 20) /* time=: frames built for it, the run's cap with
					   * BENCH_TIME_MAX_OPS (the record says stopped=cap) */
#define HARNESS_MAX_FRAMES  20000ull

static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

struct rx_account {
	uint64_t rx, ok, corrupt, foreign, dup, reordered, highest;
	int any;
	uint8_t *seen;            /* one bit per sequence number */
	uint64_t nseq;
};

struct net_run {
	const struct options *o;
	const char *bench;
	struct netdev *tx, *rx;   /* rx == tx on peer/tap topologies */
	uint64_t second;          /* cycles per second, or BLIND_SECOND */
	uint64_t bound_second;    /* second * exec_deadline_scale(): unit of the bounded waits */
	uint32_t stream;
	uint64_t n;
	uint8_t *frames;          /* n frames of o->size bytes, back to back */
	uint64_t *stamp, *samples;
	struct rx_account acc;
};

static void rec_mac(const char *key, const uint8_t *mac)
{
	rec_field(key);
	for (int i = 0; i < 6; i++) {
		if (i)
			rec_put_char(':');
		rec_put_hex(mac[i], 2);
	}
}

static void report_nic(unsigned index, struct netdev *d)
{
	static const char *const modes[] = { "poll", "intx", "msix" };
	rec_begin("nic");
	rec_u64("index", index);
	rec_str("model", d->model);
	rec_str("transport", d->transport);
	rec_str("irq", modes[d->mode]);
	if (d->pci)
		rec_bdf(d->pci);
	rec_mac("mac", d->mac);
	rec_str("link", d->link_up(d) ? "up" : "down");
	rec_u64("tx_slots", d->tx_slots);
	if (d->ring)
		rec_str("ring", d->ring);
	rec_end();
}

/* ---- frames ---- */

static void build_frame(uint8_t *f, uint32_t len, const uint8_t *dst, const uint8_t *src,
			uint64_t seq, uint8_t kind, uint32_t stream)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = ETHERTYPE_KVMIO >> 8;
	f[13] = ETHERTYPE_KVMIO & 0xff;
	struct kvmio_frame h = { KVMIO_FRAME_MAGIC, 0, seq, (uint16_t)len, kind, 0, stream };
	memcpy(f + ETH_HDR_LEN, &h, sizeof(h));
	for (uint32_t i = KVMIO_FRAME_MIN; i < len; i++)
		f[i] = frame_fill(seq, i);
	h.crc = crc32_update(0, f + ETH_HDR_LEN, len - ETH_HDR_LEN);
	memcpy(f + ETH_HDR_LEN, &h, sizeof(h));
}

enum frame_verdict { FRAME_OK, FRAME_FOREIGN, FRAME_CORRUPT };

/* Checks a received frame; on FRAME_OK fills *h. Works on a copy of the header only. */
static enum frame_verdict check_frame(const uint8_t *f, uint32_t len, struct kvmio_frame *h)
{
	if (len < KVMIO_FRAME_MIN || f[12] != (ETHERTYPE_KVMIO >> 8) || f[13] != (ETHERTYPE_KVMIO & 0xff))
		return FRAME_FOREIGN;
	memcpy(h, f + ETH_HDR_LEN, sizeof(*h));
	if (h->magic != KVMIO_FRAME_MAGIC)
		return FRAME_FOREIGN;
	if (h->len != len)
		return FRAME_CORRUPT;
	uint32_t want = h->crc, zero = 0;
	uint32_t crc = crc32_update(0, f + ETH_HDR_LEN, 4);
	crc = crc32_update(crc, &zero, 4);
	crc = crc32_update(crc, f + ETH_HDR_LEN + 8, len - ETH_HDR_LEN - 8);
	return crc == want ? FRAME_OK : FRAME_CORRUPT;
}

/* Count one received frame of ours: ok, duplicate, reordered (arrived after a later one). */
static void account(struct rx_account *a, const struct kvmio_frame *h)
{
	a->ok++;
	if (h->seq < a->nseq) {
		uint8_t bit = (uint8_t)(1u << (h->seq & 7));
		if (a->seen[h->seq >> 3] & bit) {
			a->dup++;
			a->ok--;
			return;
		}
		a->seen[h->seq >> 3] |= bit;
	}
	if (a->any && h->seq < a->highest)
		a->reordered++;
	if (!a->any || h->seq > a->highest)
		a->highest = h->seq;
	a->any = 1;
}

/* Receive everything waiting on d; returns frames of ours seen (any kind). */
static uint64_t drain_rx(struct net_run *r, struct netdev *d, struct kvmio_frame *last)
{
	uint64_t mine = 0;
	uint32_t len;
	const uint8_t *f;
	while ((f = d->receive(d, &len))) {
		struct kvmio_frame h;
		r->acc.rx++;
		enum frame_verdict v = check_frame(f, len, &h);
		if (v == FRAME_FOREIGN || (v == FRAME_OK && h.stream != r->stream && h.kind != FRAME_FLOOD))
			r->acc.foreign++;
		else if (v == FRAME_CORRUPT)
			r->acc.corrupt++;
		else {
			account(&r->acc, &h);
			mine++;
			if (last)
				*last = h;
		}
		d->rx_release(d);
	}
	return mine;
}

/* ---- results ---- */

struct counts { struct io_counters io; uint64_t irqs, ticks; }; /* ticks: wait=halt's timer */

static void counts_start(struct net_run *r, struct counts *c)
{
	c->io = io_count;
	c->irqs = r->tx->irqs + (r->rx != r->tx ? r->rx->irqs : 0);
	c->ticks = irq_wait_ticks();
}

static void counts_stop(struct net_run *r, struct counts *c)
{
	c->io.pio_r = io_count.pio_r - c->io.pio_r;
	c->io.pio_w = io_count.pio_w - c->io.pio_w;
	c->io.mmio_r = io_count.mmio_r - c->io.mmio_r;
	c->io.mmio_w = io_count.mmio_w - c->io.mmio_w;
	c->irqs = r->tx->irqs + (r->rx != r->tx ? r->rx->irqs : 0) - c->irqs;
	c->ticks = irq_wait_ticks() - c->ticks;
}

static void result_fields(struct net_run *r, uint64_t frames, uint64_t elapsed,
			  const struct counts *c, uint64_t harness_elapsed, uint64_t harness_frames,
			  uint64_t sent)
{
	static const char *const modes[] = { "poll", "intx", "msix" };
	rec_u64("dev", r->o->dev_kind == DEV_INDEX ? r->o->dev_index : 0);
	rec_u64("rxdev", r->o->rxdev_kind == RXDEV_INDEX ? r->o->rxdev :
			 (r->o->dev_kind == DEV_INDEX ? r->o->dev_index : 0));
	rec_str("model", r->tx->model);
	rec_str("transport", r->tx->transport);
	rec_str("irq", modes[r->tx->mode]);
	rec_str("wait", r->o->wait);
	if (r->tx->ring)
		rec_str("ring", r->tx->ring);
	rec_u64("size", r->o->size);
	rec_u64("burst", r->o->burst);
	rec_u64("frames", frames);
	rec_u64("sent", sent);
	rec_u64("bytes", frames * r->o->size);
	rec_u64("elapsed", elapsed);
	rec_u64("pio_r", c->io.pio_r);
	rec_u64("pio_w", c->io.pio_w);
	rec_u64("mmio_r", c->io.mmio_r);
	rec_u64("mmio_w", c->io.mmio_w);
	rec_u64("irqs", c->irqs);
	if (!strcmp(r->o->wait, "halt"))
		rec_u64("ticks", c->ticks);
	rec_ratio2("harness_mean", harness_elapsed, harness_frames);
	rec_u64("rx", r->acc.rx);
	rec_u64("rx_ok", r->acc.ok);
	rec_u64("lost", sent > r->acc.ok ? sent - r->acc.ok : 0);
	rec_u64("corrupt", r->acc.corrupt);
	rec_u64("reordered", r->acc.reordered);
	rec_u64("dup", r->acc.dup);
	rec_u64("foreign", r->acc.foreign);
	rec_u64("missed", r->rx->rx_missed(r->rx));
}

static void reset_account(struct net_run *r)
{
	uint8_t *seen = r->acc.seen;
	uint64_t nseq = r->acc.nseq;
	memset(seen, 0, (nseq + 7) / 8);
	r->acc = (struct rx_account){ .seen = seen, .nseq = nseq };
}

/* ---- net-tx: transmit n frames in bursts; latency = submit to transmit completion ---- */

/* n frames, or with a deadline (time=) those submitted before it, at most n; *done: how many */
static int run_tx(struct net_run *r, struct netdev *tx, struct netdev *rx, int drain, uint64_t n,
		  uint64_t deadline, uint64_t *elapsed, uint64_t *done)
{
	uint64_t submitted = 0, completed = 0, size = r->o->size, burst = r->o->burst;
	uint64_t t_start = ts_read(), last = t_start;
	while (completed < n) {
		for (uint64_t k = 0; k < burst && submitted < n; k++) {
			uint64_t t = ts_read();
			if (deadline && t >= deadline) {
				n = submitted; /* time= reached: complete what is in flight */
				break;
			}
			if (tx->transmit(tx, r->frames + submitted * size, (uint32_t)size))
				break;
			r->stamp[submitted++] = t;
		}
		if (submitted > completed && net_wait(tx, TX_STALL_SECONDS * r->bound_second))
			return -1;
		uint32_t c = tx->tx_complete(tx);
		uint64_t now = ts_read();
		for (uint32_t k = 0; k < c && completed < submitted; k++, completed++)
			r->samples[completed] = now - r->stamp[completed];
		if (c)
			last = now;
		if (drain)
			drain_rx(r, rx, 0);
		if (now - last > TX_STALL_SECONDS * r->bound_second)
			return -1;
	}
	*elapsed = ts_read() - t_start;
	*done = completed;
	/* Frames still on their way to the receiving NIC: wait for them, bounded. */
	uint64_t t = ts_read();
	while (drain && r->acc.ok + r->acc.corrupt < n && ts_read() - t < r->bound_second / DRAIN_SECOND_PART)
		drain_rx(r, rx, 0);
	return 0;
}

/* ---- net-rr: request on tx, reply (the reflected request) back on tx ---- */

static int serve_reflect(struct netdev *d)
{
	uint32_t len;
	const uint8_t *f = d->receive(d, &len);
	if (!f)
		return 0;
	uint8_t copy[ETH_MAX_FRAME];
	memcpy(copy, f + 6, 6);     /* dst <- src */
	memcpy(copy + 6, f, 6);     /* src <- dst */
	memcpy(copy + 12, f + 12, len - 12);
	d->rx_release(d);
	while (d->transmit(d, copy, len))
		d->tx_complete(d);
	d->tx_complete(d);
	return 1;
}

/* n requests, or with a deadline (time=) those sent before it; *done: replies, *sent: requests */
static int run_rr(struct net_run *r, struct netdev *tx, struct netdev *rx, uint64_t n,
		  uint64_t deadline, uint64_t *elapsed, uint64_t *done, uint64_t *sent)
{
	uint64_t size = r->o->size, ok = 0, i;
	uint64_t t_start = ts_read();
	for (i = 0; i < n; i++) {
		uint64_t t0 = ts_read();
		if (deadline && t0 >= deadline)
			break;
		if (tx->transmit(tx, r->frames + i * size, (uint32_t)size)) {
			tx->tx_complete(tx);
			if (tx->transmit(tx, r->frames + i * size, (uint32_t)size))
				return -1;
		}
		for (;;) {
			if (rx != tx)
				serve_reflect(rx);
			struct kvmio_frame h = { 0 };
			uint64_t before = r->acc.ok, corrupt_before = r->acc.corrupt;
			drain_rx(r, tx, &h);
			if (r->acc.ok > before && h.seq == i) {
				r->samples[ok++] = ts_read() - t0;
				break;
			}
			if (r->acc.corrupt > corrupt_before)
				break; /* the reply came back damaged: counted, no sample */
			if (ts_read() - t0 > RR_REPLY_SECONDS * r->bound_second)
				break; /* lost: counted at the end */
			tx->tx_complete(tx);
		}
	}
	*elapsed = ts_read() - t_start;
	*done = ok;
	*sent = i;
	return 0;
}

/* ---- net-rx: frames arriving (the peer floods, or in loop we send them); gaps between ---- */

static void send_go(struct net_run *r, struct netdev *d, uint64_t count)
{
	uint8_t go[ETH_MIN_FRAME];
	build_frame(go, ETH_MIN_FRAME, broadcast, d->mac, count, FRAME_REQUEST, r->stream);
	if (!d->transmit(d, go, ETH_MIN_FRAME))
		d->tx_complete(d);
}

/* n frames, or with a deadline (time=) until it passes: then in loop the frames sent so far
 * are still received (bounded by the idle wait), the peer's later ones are not waited for.
 * *got: gaps between frames; *sent_out: frames sent in loop */
static int run_rx(struct net_run *r, struct netdev *tx, struct netdev *rx, uint64_t n,
		  uint64_t deadline, uint64_t *elapsed, uint64_t *got, uint64_t *sent_out)
{
	uint64_t size = r->o->size, sent = 0, count = 0, first = 0, last = 0, target = n;
	uint64_t start = ts_read();
	if (rx == tx)
		send_go(r, tx, n);
	while (count < target) {
		if (deadline && target == n && ts_read() >= deadline) {
			target = rx != tx ? sent : count;
			if (count >= target)
				break;
		}
		if (rx != tx && sent < target && !tx->transmit(tx, r->frames + sent * size, (uint32_t)size))
			sent++;
		if (rx != tx)
			tx->tx_complete(tx);
		uint32_t len;
		const uint8_t *f = rx->receive(rx, &len);
		uint64_t now = ts_read();
		if (!f) {
			if (rx == tx && rx->mode != COMPLETE_POLL && net_wait(rx, r->second / 10))
				rx->irq_pending = 0;
			if (now - (count ? last : start) > (count ? IDLE_SECONDS : FIRST_FRAME_SECONDS) * r->bound_second)
				break;
			continue;
		}
		struct kvmio_frame h;
		r->acc.rx++;
		enum frame_verdict v = check_frame(f, len, &h);
		rx->rx_release(rx);
		if (v == FRAME_CORRUPT) {
			r->acc.corrupt++;
			continue;
		}
		if (v == FRAME_FOREIGN) {
			r->acc.foreign++;
			continue;
		}
		account(&r->acc, &h);
		if (count)
			r->samples[count - 1] = now - last;
		else
			first = now;
		last = now;
		count++;
	}
	*elapsed = last - first;
	*got = count ? count - 1 : 0; /* gaps between frames */
	*sent_out = sent;
	return 0;
}

/* ---- the harness: the same loop through memnet ---- */

static void harness(struct net_run *r, uint64_t *elapsed, uint64_t *frames)
{
	struct netdev *m = memnet_create();
	uint64_t n = r->n < HARNESS_MAX_FRAMES ? r->n : HARNESS_MAX_FRAMES, done = 0, sent = 0;
	struct rx_account saved = r->acc;
	*elapsed = 0;
	if (!strcmp(r->bench, "net-rr"))
		run_rr(r, m, m, n, 0, elapsed, &done, &sent);
	else
		run_tx(r, m, m, r->rx != r->tx, n, 0, elapsed, &done);
	*frames = n;
	r->acc = saved;
	reset_account(r);
}

/* ---- setup ---- */

static struct netdev *pick(uint64_t index, int given, uint64_t fallback)
{
	return net_get((unsigned)(given ? index : fallback));
}

enum guest_status bench_net(const struct options *o)
{
	static struct net_run run;
	struct net_run *r = &run;
	struct net_config cfg = {
		.mode = !strcmp(o->irq, "msix") ? COMPLETE_MSIX :
			!strcmp(o->irq, "intx") ? COMPLETE_INTX : COMPLETE_POLL,
		.virtio_transport = !strcmp(o->transport, "legacy") ? 1 : !strcmp(o->transport, "modern") ? 2 : 0,
		.evidx = (int)o->evidx, .indirect = (int)o->indirect, .mrg = (int)o->mrg, .itr = (int)o->itr,
		.packed = !strcmp(o->ring, "packed"),
	};
	memset(r, 0, sizeof(*r));
	r->o = o;
	r->bench = o->bench;
	r->second = tsc_hz() ? tsc_hz() : BLIND_SECOND;
	r->bound_second = r->second * exec_deadline_scale();
	r->stream = (uint32_t)(ts_read() ^ (o->seed * 0x9e3779b9u));
	if (o->time && !tsc_hz()) {
		report_error_key("badconfig", "time= needs a known TSC frequency (tsc_method=none)", "time");
		return STATUS_BADCONFIG;
	}
	if (!strcmp(o->stamp, "batch")) {
		report_error_key("badconfig", "stamp=batch is for bench=exits and bench=disk: the "
				 "network benchmarks stamp each frame", "stamp");
		return STATUS_BADCONFIG;
	}
	if (net_probe_all(&cfg))
		return STATUS_FAIL; /* the driver wrote the error record */
	/* Links come up after init (QEMU's e1000 also holds RX back for a second): wait, bounded,
	 * so the nic records say what the benchmark starts with. */
	uint64_t t = ts_read();
	for (unsigned i = 0; i < net_count(); i++)
		while (!net_get(i)->link_up(net_get(i)) && ts_read() - t < LINK_WAIT_SECONDS * r->bound_second)
			cpu_relax();
	for (unsigned i = 0; i < net_count(); i++)
		report_nic(i, net_get(i));
	if (!net_count()) {
		report_error_key("badconfig", "no NIC found: attach one (kvmio boot --net MODEL,...)", "dev");
		return STATUS_BADCONFIG;
	}
	if (o->dev_kind == DEV_BDF) {
		report_error_key("badconfig", "network benchmarks take dev=N (see the nic records)", "dev");
		return STATUS_BADCONFIG;
	}
	uint64_t dev = o->dev_kind == DEV_INDEX ? o->dev_index : 0;
	r->tx = pick(dev, 1, 0);
	r->rx = o->rxdev_kind == RXDEV_INDEX ? net_get((unsigned)o->rxdev) : r->tx;
	if (!r->tx || !r->rx) {
		report_error_key("badconfig", "dev= or rxdev= names no NIC on this machine", !r->tx ? "dev" : "rxdev");
		return STATUS_BADCONFIG;
	}
	if (r->tx->unusable || r->rx->unusable) {
		const struct netdev *bad = r->tx->unusable ? r->tx : r->rx;
		report_error_key("badconfig", bad->unusable, bad->unusable_key ? bad->unusable_key : "irq");
		return STATUS_BADCONFIG;
	}
	if (!r->tx->link_up(r->tx) || !r->rx->link_up(r->rx)) {
		report_error_key("device", "link down (is the NIC connected? --net ...,topology=)", "dev");
		return STATUS_FAIL;
	}
	if (!strcmp(o->bench, "net-echo"))
		return net_echo(o, r->tx, r->second);
	r->n = o->ops;
	if (o->time) {
		r->n = TIME_FRAME_BYTES / o->size;
		if (r->n > BENCH_TIME_MAX_OPS)
			r->n = BENCH_TIME_MAX_OPS;
	}
	if (r->n * o->size > MAX_FRAME_BYTES) {
		report_error_key("badconfig", "ops= x size= exceeds the 64 MiB of prebuilt frames", "ops");
		return STATUS_BADCONFIG;
	}
	r->frames = page_alloc(ALIGN_UP(r->n * o->size, PAGE_SIZE) / PAGE_SIZE);
	r->stamp = page_alloc(ALIGN_UP(r->n * 8, PAGE_SIZE) / PAGE_SIZE);
	r->samples = page_alloc(ALIGN_UP(r->n * 8, PAGE_SIZE) / PAGE_SIZE);
	r->acc.nseq = r->n;
	r->acc.seen = page_alloc(ALIGN_UP((r->n + 7) / 8, PAGE_SIZE) / PAGE_SIZE);
	if (!r->frames || !r->stamp || !r->samples || !r->acc.seen) {
		report_error_key("nomem", "not enough memory for ops= frames of size= bytes", 0);
		return STATUS_FAIL;
	}
	const uint8_t *dst = r->rx != r->tx ? r->rx->mac : broadcast;
	uint8_t kind = !strcmp(o->bench, "net-rr") ? FRAME_REQUEST : FRAME_DATA;
	for (uint64_t i = 0; i < r->n; i++)
		build_frame(r->frames + i * o->size, (uint32_t)o->size, dst, r->tx->mac, i, kind, r->stream);

	uint64_t h_elapsed = 0, h_frames = 0;
	harness(r, &h_elapsed, &h_frames);
	struct counts c;
	uint64_t elapsed = 0, frames = 0, sent = r->n;
	/* time=: from here (the untimed harness ran before); the frames built are the cap */
	uint64_t deadline = o->time ? ts_read() + o->time * tsc_hz() : 0;
	counts_start(r, &c);
	int rc;
	if (!strcmp(o->bench, "net-tx")) {
		rc = run_tx(r, r->tx, r->rx, r->rx != r->tx, r->n, deadline, &elapsed, &frames);
		sent = r->rx == r->tx ? 0 : frames; /* peer/tap: the receiving end counts (the peer's line) */
	} else if (!strcmp(o->bench, "net-rr")) {
		rc = run_rr(r, r->tx, r->rx, r->n, deadline, &elapsed, &frames, &sent);
	} else {
		rc = run_rx(r, r->tx, r->rx, r->n, deadline, &elapsed, &frames, &sent);
		if (r->rx == r->tx)
			sent = r->acc.any ? r->acc.highest + 1 : 0;
	}
	counts_stop(r, &c);
	if (rc) {
		rec_begin("error");
		rec_str("code", "device");
		rec_str("msg", "the NIC stopped completing transmissions");
		rec_str("key", "dev");
		rec_str("model", r->tx->model);
		if (r->tx->error_fields)
			r->tx->error_fields(r->tx, 1);
		if (r->rx->error_fields) /* the receiving NIC (rxdev=, or the same one) */
			r->rx->error_fields(r->rx, 0);
		rec_end();
		return STATUS_FAIL;
	}
	if (!strcmp(o->bench, "net-rr") && frames == 0) {
		report_error_key("device", "no replies at all (peer gone or not reflecting?)", "dev");
		return STATUS_FAIL;
	}
	char name[48], *p = name, *end = name + sizeof(name);
	p = str_append(p, end, o->bench + 4); /* tx, rx, rr */
	p = str_append(p, end, "-");
	u64_append(p, end, o->size);
	result_record_begin(o->bench, name, r->samples, frames);
	result_fields(r, frames, elapsed, &c, h_elapsed, h_frames, sent);
	/* the cap: every frame built was used (net-rx counts gaps, one fewer than frames) */
	bench_stopped_field(o->time != 0, (!strcmp(o->bench, "net-rx") ? frames + 1 : frames) >= r->n);
	rec_end();
	return STATUS_OK;
}
