/*
 * An in-memory NIC that receives what it transmits, without copying: a run of a network
 * benchmark against it measures the harness alone (frame checks, bookkeeping, timestamps);
 * every network result reports that figure (harness_mean) beside the device's. Not registered.
 */
#include "net.h"

#define MEMNET_SLOTS 256

struct memnet {
	struct netdev net;
	const void *frames[MEMNET_SLOTS];
	uint32_t lens[MEMNET_SLOTS];
	unsigned head, count, completed, held;
};

static int memnet_transmit(struct netdev *d, const void *frame, uint32_t len)
{
	struct memnet *m = d->priv;
	if (m->count == MEMNET_SLOTS && !m->held) { /* nobody receives: drop the oldest */
		m->head = (m->head + 1) % MEMNET_SLOTS;
		m->count--;
	}
	if (m->count == MEMNET_SLOTS)
		return -1;
	unsigned i = (m->head + m->count++) % MEMNET_SLOTS;
	m->frames[i] = frame;
	m->lens[i] = len;
	m->completed++;
	return 0;
}

static uint32_t memnet_tx_complete(struct netdev *d)
{
	struct memnet *m = d->priv;
	uint32_t n = m->completed;
	m->completed = 0;
	return n;
}

static const void *memnet_receive(struct netdev *d, uint32_t *len)
{
	struct memnet *m = d->priv;
	if (!m->count || m->held)
		return 0;
	m->held = 1;
	*len = m->lens[m->head];
	return m->frames[m->head];
}

static void memnet_rx_release(struct netdev *d)
{
	struct memnet *m = d->priv;
	if (!m->held)
		return;
	m->held = 0;
	m->head = (m->head + 1) % MEMNET_SLOTS;
	m->count--;
}

static int memnet_link_up(struct netdev *d) { (void)d; return 1; }
static uint64_t memnet_rx_missed(struct netdev *d) { (void)d; return 0; }

struct netdev *memnet_create(void)
{
	static struct memnet m;
	m = (struct memnet){ 0 };
	m.net = (struct netdev){
		.model = "memnet", .transport = "memory", .mode = COMPLETE_POLL, .mtu = 1500,
		.tx_slots = MEMNET_SLOTS, .mac = { 0x02, 0, 0, 0, 0, 0x01 },
		.link_up = memnet_link_up, .transmit = memnet_transmit,
		.tx_complete = memnet_tx_complete, .receive = memnet_receive,
		.rx_release = memnet_rx_release, .rx_missed = memnet_rx_missed, .priv = &m,
	};
	return &m.net;
}
