/*
 * bench=net-echo: a tiny responder so real host tools can talk to the guest over a tap:
 * ARP requests for ip= (RFC 826), ICMP echo (RFC 792) and UDP echo (RFC 768: the datagram
 * goes back with the ports swapped) over IPv4 (RFC 791, no options, no fragments).
 * It writes a `ready` record when it listens and stops after ops= answered ICMP/UDP packets,
 * or IDLE_SECONDS without traffic once the first packet came, or time= seconds.
 */
#include "bench.h"
#include "stats.h"
#include "drivers/net.h"
#include "kernel/exec.h"
#include "kernel/lib.h"
#include "kernel/memory.h"
#include "netframe.h"
#include "kernel/tsc.h"

#define ETHERTYPE_IPV4   0x0800
#define ETHERTYPE_ARP    0x0806
#define ARP_HTYPE_ETHER  1
#define ARP_OP_REQUEST   1
#define ARP_OP_REPLY     2
#define IP_PROTO_ICMP    1
#define IP_PROTO_UDP     17
#define ICMP_ECHO_REPLY  0
#define ICMP_ECHO_REQUEST 8
#define IP_TTL           64
#define ETH_HDR          14
#define ARP_LEN          28
#define IP_HDR_MIN       20
#define UDP_HDR          8
/* Times exec_deadline_scale() (kernel/exec.h): the host's tools pace on our answers, and the
 * transmit retry waits on our own completion processing, ~10x slower again when our
 * instructions are interpreted. time= is a requested duration and is not scaled. */
#define IDLE_SECONDS     3
#define TX_RETRY_SECONDS 1   /* a full transmit ring must drain within this */
#define MAX_SAMPLES      65536

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }

/* RFC 1071 ones' complement sum, continuing from `sum`. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, uint32_t len)
{
	for (uint32_t i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

struct echo_counts { uint64_t arp, icmp, udp, other; };

/* Build the answer to frame f in out; returns its length, 0 if there is nothing to answer. */
static uint32_t answer(const uint8_t *f, uint32_t len, uint8_t *out, const uint8_t *mac,
		       const uint8_t *ip, struct echo_counts *c)
{
	if (len < ETH_HDR)
		return 0;
	uint16_t type = get16(f + 12);
	if (type == ETHERTYPE_ARP && len >= ETH_HDR + ARP_LEN) {
		const uint8_t *a = f + ETH_HDR;
		if (get16(a) != ARP_HTYPE_ETHER || get16(a + 2) != ETHERTYPE_IPV4 ||
		    get16(a + 6) != ARP_OP_REQUEST || memcmp(a + 24, ip, 4)) {
			c->other++;
			return 0;
		}
		memcpy(out, f + 6, 6);
		memcpy(out + 6, mac, 6);
		put16(out + 12, ETHERTYPE_ARP);
		uint8_t *r = out + ETH_HDR;
		memcpy(r, a, 6);              /* htype, ptype, hlen, plen */
		put16(r + 6, ARP_OP_REPLY);
		memcpy(r + 8, mac, 6);        /* sender: us */
		memcpy(r + 14, ip, 4);
		memcpy(r + 18, a + 8, 10);    /* target: the asker's hardware and protocol address */
		memset(out + ETH_HDR + ARP_LEN, 0, ETH_MIN_FRAME - ETH_HDR - ARP_LEN);
		c->arp++;
		return ETH_MIN_FRAME;
	}
	if (type != ETHERTYPE_IPV4 || len < ETH_HDR + IP_HDR_MIN) {
		c->other++;
		return 0;
	}
	const uint8_t *iph = f + ETH_HDR;
	uint32_t ihl = (iph[0] & 0xf) * 4u, total = get16(iph + 2);
	if ((iph[0] >> 4) != 4 || ihl < IP_HDR_MIN || total < ihl || ETH_HDR + total > len ||
	    memcmp(iph + 16, ip, 4) || (get16(iph + 6) & 0x3fff)) {
		c->other++;
		return 0; /* not IPv4 to us, or a fragment */
	}
	memcpy(out, f + 6, 6);
	memcpy(out + 6, mac, 6);
	memcpy(out + 12, f + 12, 2 + total);
	uint8_t *oip = out + ETH_HDR, *l4 = oip + ihl;
	memcpy(oip + 12, iph + 16, 4);    /* source <- destination */
	memcpy(oip + 16, iph + 12, 4);    /* destination <- source */
	oip[8] = IP_TTL;
	uint32_t l4len = total - ihl;
	if (iph[9] == IP_PROTO_ICMP && l4len >= 8 && l4[0] == ICMP_ECHO_REQUEST) {
		l4[0] = ICMP_ECHO_REPLY;
		put16(l4 + 2, 0);
		put16(l4 + 2, csum_fold(csum_add(0, l4, l4len)));
		c->icmp++;
	} else if (iph[9] == IP_PROTO_UDP && l4len >= UDP_HDR) {
		memcpy(l4, iph + ihl + 2, 2);    /* ports swapped */
		memcpy(l4 + 2, iph + ihl, 2);
		put16(l4 + 6, 0);
		uint8_t pseudo[12];
		memcpy(pseudo, oip + 12, 8);
		pseudo[8] = 0;
		pseudo[9] = IP_PROTO_UDP;
		put16(pseudo + 10, (uint16_t)l4len);
		uint16_t sum = csum_fold(csum_add(csum_add(0, pseudo, 12), l4, l4len));
		put16(l4 + 6, sum ? sum : 0xffff);
		c->udp++;
	} else {
		c->other++;
		return 0;
	}
	put16(oip + 10, 0);
	put16(oip + 10, csum_fold(csum_add(0, oip, ihl)));
	uint32_t n = ETH_HDR + total;
	if (n < ETH_MIN_FRAME) {
		memset(out + n, 0, ETH_MIN_FRAME - n);
		n = ETH_MIN_FRAME;
	}
	return n;
}

enum guest_status net_echo(const struct options *o, struct netdev *d, uint64_t second)
{
	static uint8_t out[ETH_MAX_FRAME];
	uint64_t *samples = page_alloc(MAX_SAMPLES * 8 / 4096);
	struct echo_counts c = { 0 };
	uint64_t answered = 0, n = 0, start = ts_read(), last = 0;
	uint64_t bound_second = second * exec_deadline_scale();

	if (!samples)
		return STATUS_FAIL;
	rec_begin("ready");
	rec_field("ip");
	for (int i = 0; i < 4; i++) {
		if (i)
			rec_put_char('.');
		rec_put_u64(o->ip[i]);
	}
	rec_field("mac");
	for (int i = 0; i < 6; i++) {
		if (i)
			rec_put_char(':');
		rec_put_hex(d->mac[i], 2);
	}
	rec_end();
	while (answered < o->ops) {
		uint32_t len;
		const uint8_t *f = d->receive(d, &len);
		uint64_t now = ts_read();
		if (!f) {
			d->tx_complete(d);
			if (o->time && now - start > o->time * second)
				break;
			if (last && now - last > IDLE_SECONDS * bound_second)
				break;
			continue;
		}
		uint32_t olen = answer(f, len, out, d->mac, o->ip, &c);
		d->rx_release(d);
		last = now;
		if (!olen)
			continue;
		while (d->transmit(d, out, olen) && ts_read() - now < TX_RETRY_SECONDS * bound_second)
			d->tx_complete(d);
		if (n < MAX_SAMPLES)
			samples[n++] = ts_read() - now;
		if (out[12] == (ETHERTYPE_IPV4 >> 8))
			answered++;
	}
	result_record_begin("net-echo", "echo", samples, n);
	rec_str("model", d->model);
	rec_str("transport", d->transport);
	rec_u64("arp", c.arp);
	rec_u64("icmp", c.icmp);
	rec_u64("udp", c.udp);
	rec_u64("other", c.other);
	rec_end();
	return STATUS_OK;
}
