/* The guest's option table and its parser (options.h): compiled into the guest and the host. */
#include "hexdigit.h"
#include "options.h"
#include "parse.h"
#include "virtio_mmio_arg.h"

#define AT(field) offsetof(struct options, field)
#define OPT_STR_(x) #x
#define OPT_STR(x) OPT_STR_(x) /* a number macro as a string literal, for the help texts */

/* No libc on the guest side: the few string helpers this file needs. */
static size_t str_len(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/* s[0..len) equals the NUL-terminated word w */
static int span_is(const char *s, size_t len, const char *w)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (w[i] != s[i])
			return 0;
	return w[len] == 0;
}

static int starts_with(const char *s, size_t len, const char *prefix)
{
	size_t i;

	for (i = 0; prefix[i]; i++)
		if (i >= len || s[i] != prefix[i])
			return 0;
	return 1;
}

static void copy_bytes(void *dst, const void *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		((char *)dst)[i] = ((const char *)src)[i];
}

static const char *const bench_choices[] = {
#define KVMIO_BENCH(name, run, help) name,
#include "benches.def"
#undef KVMIO_BENCH
	0
};
static const char *const irq_choices[] = { "poll", "intx", "msix", 0 };
static const char *const wait_choices[] = { "spin", "halt", 0 };
static const char *const ata_choices[] = { "pio", "dma", 0 };
static const char *const transport_choices[] = { "auto", "legacy", "modern", 0 };
static const char *const ring_choices[] = { "split", "packed", 0 };
static const char *const rw_choices[] = { "read", "write", "randread", "randwrite", "randrw", 0 };
static const char *const write_choices[] = { "safe", "unsafe", 0 };
static const char *const fault_choices[] = { "none", "ud", "pf", "gp", "de", "noirq", 0 };
static const char *const stamp_choices[] = { "op", "batch", 0 };
static const char *const bar_choices[] = { "auto", "0", "1", "2", "3", "4", "5", 0 };

const char *const exit_test_names[] = {
#define KVMIO_EXIT_TEST(name, id, help) name,
#include "exit_tests.def"
#undef KVMIO_EXIT_TEST
	0
};
const unsigned exit_test_count = sizeof(exit_test_names) / sizeof(exit_test_names[0]) - 1;
_Static_assert(sizeof(exit_test_names) / sizeof(exit_test_names[0]) - 1 <= 64,
	       "tests= is kept as a 64-bit mask");

const struct option_spec option_specs[] = {
	{ "bench", OPT_CHOICE, 0, 0, bench_choices, "exits", "workload: "
#define KVMIO_BENCH(name, run, help) name " (" help "); "
#include "benches.def"
#undef KVMIO_BENCH
	  , AT(bench) },
	{ "ops", OPT_U64, 1, 100000000, 0, "10000", "timed operations per measurement", AT(ops) },
	{ "warmup", OPT_WARMUP, 0, 100000000, 0, "100", "untimed operations before each measurement: a count, or a time (200ms, 2s) to run them for", AT(warmup) },
	{ "stamp", OPT_CHOICE, 0, 0, stamp_choices, "op", "exits, disk: op: a timestamp pair around every operation; batch: one pair around each batch of batch= operations, for where a timestamp is itself expensive (rdtsc emulated or trapping): every operation of a batch gets the batch's mean, so IOPS and mean latency hold, percentiles are of batch means", AT(stamp) },
	{ "batch", OPT_U64, 1, 65536, 0, "64", "stamp=batch: operations per timestamp pair", AT(batch) },
	{ "seed", OPT_U64, 0, UINT64_MAX, 0, "1", "seed for randomised workloads", AT(seed) },
	{ "timeout", OPT_U64, 1, 86400, 0, "60", "watchdog: seconds before the guest reports a timeout and exits; the default is multiplied by deadline_scale (see hello), a given value is used as is", AT(timeout) },
	{ "pci", OPT_U64, 0, 1, 0, "1", "1: report every PCI function as a pci record", AT(pci) },
	{ "dev", OPT_DEV, 0, 0, 0, "auto", "device: exits: PCI BB:DD.F whose BARs are read (auto: first pci-testdev); disk: disk index N (see disk records) or BB:DD.F (auto: disk 0)", 0 },
	{ "bar", OPT_CHOICE, 0, 0, bar_choices, "auto", "BAR of dev= whose MMIO bench=exits reads (auto: the first memory BAR)", AT(bar) },
	{ "tests", OPT_TESTS, 0, 0, exit_test_names, "all", "exits: the tests to run, in this order: all, or a comma-separated list of "
#define KVMIO_EXIT_TEST(name, id, help) name " (" help "); "
#include "exit_tests.def"
#undef KVMIO_EXIT_TEST
	  , AT(tests) },
	{ "irq", OPT_CHOICE, 0, 0, irq_choices, "poll", "completions: poll the device, intx (I/O APIC) or msix (MSI-X, else MSI)", AT(irq) },
	{ "wait", OPT_CHOICE, 0, 0, wait_choices, "spin", "irq=intx|msix: how the guest waits for a completion interrupt: spin (interrupts on, a PAUSE loop: the vCPU never sleeps, so no wake-up is timed, but its host thread never yields its CPU) or halt (HLT, as an OS idles: the vCPU thread sleeps until the interrupt wakes it; a " OPT_STR(WAIT_TICK_HZ) " Hz timer tick bounds every wait, its interrupts are the result's ticks=)", AT(wait) },
	{ "ata_mode", OPT_CHOICE, 0, 0, ata_choices, "pio", "IDE data transfer: pio or dma (bus-master)", AT(ata_mode) },
	{ "transport", OPT_CHOICE, 0, 0, transport_choices, "auto", "virtio: legacy (I/O BAR) or modern (1.x capabilities); auto: modern when offered", AT(transport) },
	{ "evidx", OPT_U64, 0, 1, 0, "0", "virtio: negotiate VIRTIO_RING_F_EVENT_IDX", AT(evidx) },
	{ "indirect", OPT_U64, 0, 1, 0, "0", "virtio: negotiate VIRTIO_RING_F_INDIRECT_DESC and use indirect tables", AT(indirect) },
	{ "dbbuf", OPT_U64, 0, 1, 0, "0", "nvme: use the shadow doorbell buffer (Doorbell Buffer Config): doorbell registers written only when the controller's EventIdx asks", AT(dbbuf) },
	{ "ring", OPT_CHOICE, 0, 0, ring_choices, "split", "virtio: virtqueue layout; packed negotiates VIRTIO_F_RING_PACKED (modern transport only; the host's packed=on)", AT(ring) },
	{ "queues", OPT_U64, 1, VIRTIO_QUEUES_MAX, 0, "1", "virtio-blk: request queues (VIRTIO_BLK_F_MQ), requests spread round-robin; at most the device's num-queues", AT(queues) },
	{ "rw", OPT_CHOICE, 0, 0, rw_choices, "randread", "disk: access pattern", AT(rw) },
	{ "mix", OPT_U64, 0, 100, 0, "50", "disk: percent reads for rw=randrw", AT(mix) },
	{ "bs", OPT_U64, 512, 1048576, 0, "4096", "disk: bytes per request, a multiple of the sector size", AT(bs) },
	{ "qd", OPT_U64, 1, 1024, 0, "1", "disk: requests in flight (at most the device's queue)", AT(qd) },
	{ "time", OPT_U64, 0, 86400, 0, "0", "disk, exits, net-tx/rx/rr: run each series for S seconds instead of ops= operations (0: use ops); net-echo: answer for S seconds. The record's stopped= says whether time or the sample cap ended it", AT(time) },
	{ "range", OPT_U64, 0, UINT64_MAX, 0, "0", "disk: sectors of the data area (from 1 MiB) to use; 0: all", AT(range) },
	{ "flush", OPT_U64, 0, 100000000, 0, "0", "disk: flush after every N writes; 0: never", AT(flush) },
	{ "verify", OPT_U64, 0, 1, 0, "0", "disk: write stamped blocks over the range, read each back and check it", AT(verify) },
	{ "write", OPT_CHOICE, 0, 0, write_choices, "safe", "disk: safe writes only to disks with the kvmio scratch label; unsafe allows any disk", AT(write) },
	{ "sweep", OPT_SWEEP, 0, 0, 0, "none", "disk: a series in one boot, qd:1,2,4,... or bs:4096,65536,...", 0 },
	{ "size", OPT_U64, 60, 1514, 0, "60", "net: frame bytes without the FCS", AT(size) },
	{ "burst", OPT_U64, 1, 256, 0, "1", "net-tx: frames queued per transmit round", AT(burst) },
	{ "rxdev", OPT_RXDEV, 0, 0, 0, "same", "net: NIC that receives (loop topology: the other NIC on the hub); same: dev=", 0 },
	{ "ip", OPT_IPV4, 0, 0, 0, "10.199.0.2", "net-echo: our IPv4 address (answers ARP, ICMP echo, UDP echo)", 0 },
	{ "itr", OPT_ITR, 0, 65535, 0, "default", "e1000, e1000e: interrupt throttling register value (256 ns units); default: leave the device's", 0 },
	{ "mrg", OPT_U64, 0, 1, 0, "0", "virtio-net: negotiate VIRTIO_NET_F_MRG_RXBUF", AT(mrg) },
	{ "virtio_mmio.device", OPT_VIRTIO_MMIO, 0, 0, 0, "none", "a virtio-mmio transport, SIZE@BASE:IRQ[:ID] (IRQ: its I/O APIC GSI), as QEMU's microvm (acpi=off) and Firecracker append them; repeatable, up to 8", 0 },
	{ "fault", OPT_CHOICE, 0, 0, fault_choices, "none", "test aid: raise ud, pf, gp or de after hello; noirq: drop every device interrupt (acknowledged, never handed to the driver), so irq modes meet their no-completion deadline", AT(fault) },
};

const unsigned option_nspecs = sizeof(option_specs) / sizeof(option_specs[0]);

static void copy_word(char *dst, unsigned cap, const char *src, size_t len)
{
	if (!cap)
		return;
	if (len >= cap)
		len = cap - 1;
	copy_bytes(dst, src, len);
	dst[len] = 0;
}

static int parse_hex_field(const char *s, size_t len, uint64_t max, uint8_t *out)
{
	uint64_t v = 0;
	if (len == 0 || len > 2)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int d = hex_digit_value(s[i]);
		if (d < 0)
			return -1;
		v = v * 16 + (uint64_t)d;
	}
	if (v > max)
		return -1;
	*out = (uint8_t)v;
	return 0;
}

/* BB:DD.F in hex, as lspci writes it. */
static int parse_bdf(const char *s, size_t len, struct options *o)
{
	const char *colon = 0, *dot = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == ':' && !colon)
			colon = s + i;
		else if (s[i] == '.' && colon && !dot)
			dot = s + i;
	}
	if (!colon || !dot)
		return -1;
	if (parse_hex_field(s, (size_t)(colon - s), 255, &o->dev_bus) ||
	    parse_hex_field(colon + 1, (size_t)(dot - colon - 1), 31, &o->dev_dev) ||
	    parse_hex_field(dot + 1, (size_t)(s + len - dot - 1), 7, &o->dev_fn))
		return -1;
	o->dev_kind = DEV_BDF;
	return 0;
}

/* qd:1,2,4 or bs:4096,65536: a key, then 1..16 numbers. */
static int parse_sweep(const char *s, size_t len, struct options *o)
{
	if (len >= sizeof(o->sweep) || len < 4 || (!starts_with(s, len, "qd:") &&
						    !starts_with(s, len, "bs:")))
		return -1;
	unsigned values = 0;
	for (size_t i = 3; i <= len; i++) {
		size_t start = i;
		while (i < len && s[i] != ',')
			i++;
		uint64_t v;
		if (parse_u64(s + start, i - start, &v) || v == 0 || ++values > 16)
			return -1;
	}
	copy_bytes(o->sweep, s, len);
	o->sweep[len] = 0;
	return 0;
}

static const char *match_choice(const char *const *choices, const char *v, size_t len)
{
	for (; *choices; choices++)
		if (span_is(v, len, *choices))
			return *choices;
	return 0;
}

/* err->why_buf gets s[0..n) appended, cut to fit; err->why points at it. */
static void why_append(struct option_error *err, size_t *at, const char *s, size_t n)
{
	for (size_t i = 0; i < n && *at + 1 < sizeof(err->why_buf); i++)
		err->why_buf[(*at)++] = s[i];
	err->why_buf[*at] = 0;
	err->why = err->why_buf;
}

/* A bad tests= list: what is wrong, the name at fault, then the names there are. */
static int tests_error(struct option_error *err, const struct option_spec *s, const char *what,
		       const char *name, size_t name_len)
{
	static const char names[] = " (tests= is all, or a comma-separated list of: ";
	size_t at = 0;

	why_append(err, &at, what, str_len(what));
	why_append(err, &at, name, name_len);
	why_append(err, &at, names, sizeof(names) - 1);
	for (const char *const *c = s->choices; *c; c++) {
		if (c != s->choices)
			why_append(err, &at, ", ", 2);
		why_append(err, &at, *c, str_len(*c));
	}
	why_append(err, &at, ")", 1);
	return -1;
}

/* tests=: all, or names from the spec's choices, comma-separated, each at most once. Bit k of
 * o->tests is choice k. */
static int parse_tests(struct options *o, const struct option_spec *s, const char *v, size_t len,
		       struct option_error *err)
{
	uint64_t mask = 0;

	if (span_is(v, len, "all")) {
		for (unsigned k = 0; s->choices[k]; k++)
			mask |= 1ull << k;
		o->tests = mask;
		return 0;
	}
	for (size_t i = 0; i <= len; i++) {
		size_t start = i;
		while (i < len && v[i] != ',')
			i++;
		unsigned k = 0;
		while (s->choices[k] && !span_is(v + start, i - start, s->choices[k]))
			k++;
		if (i == start)
			return tests_error(err, s, "an empty name in the list", "", 0);
		if (!s->choices[k])
			return tests_error(err, s, "no exit test named ", v + start, i - start);
		if (mask & (1ull << k))
			return tests_error(err, s, "exit test named twice: ", v + start, i - start);
		mask |= 1ull << k;
	}
	o->tests = mask;
	return 0;
}

static int apply(struct options *o, const struct option_spec *s, const char *v, size_t len,
		 struct option_error *err)
{
	uint64_t n;
	const char *choice;

	switch (s->kind) {
	case OPT_U64:
		if (parse_u64(v, len, &n)) {
			err->why = "not a number";
			return -1;
		}
		if (n < s->min || n > s->max) {
			err->why = "out of range";
			return -1;
		}
		*(uint64_t *)((char *)o + s->offset) = n;
		return 0;
	case OPT_CHOICE:
		if (!(choice = match_choice(s->choices, v, len))) {
			err->why = "not one of the allowed values";
			return -1;
		}
		*(const char **)((char *)o + s->offset) = choice;
		return 0;
	case OPT_DEV:
		if (span_is(v, len, "auto"))
			return 0;
		if (!parse_u64(v, len, &n) && n < 64) {
			o->dev_kind = DEV_INDEX;
			o->dev_index = n;
			return 0;
		}
		if (parse_bdf(v, len, o)) {
			err->why = "not a device index or a PCI address BB:DD.F";
			return -1;
		}
		return 0;
	case OPT_IPV4: {
		uint8_t ip[4];
		size_t start = 0;
		for (int k = 0; k < 4; k++) {
			size_t end = start;
			while (end < len && v[end] != '.')
				end++;
			if (parse_u64(v + start, end - start, &n) || n > 255 || (k < 3 && end == len) ||
			    (k == 3 && end != len)) {
				err->why = "not an IPv4 address A.B.C.D";
				return -1;
			}
			ip[k] = (uint8_t)n;
			start = end + 1;
		}
		copy_bytes(o->ip, ip, 4);
		return 0;
	}
	case OPT_RXDEV:
		if (span_is(v, len, "same"))
			return 0;
		if (parse_u64(v, len, &n) || n >= 64) {
			err->why = "not a NIC index";
			return -1;
		}
		o->rxdev_kind = RXDEV_INDEX;
		o->rxdev = n;
		return 0;
	case OPT_ITR:
		if (span_is(v, len, "default"))
			return 0;
		if (parse_u64(v, len, &n) || n > s->max) {
			err->why = "not 0..65535 or default";
			return -1;
		}
		o->itr = (int64_t)n;
		return 0;
	case OPT_TESTS:
		return parse_tests(o, s, v, len, err);
	case OPT_WARMUP: {
		uint64_t scale = 0;

		if (len > 2 && v[len - 2] == 'm' && v[len - 1] == 's')
			scale = 1, len -= 2;
		else if (len > 1 && v[len - 1] == 's')
			scale = 1000, len -= 1;
		if (parse_u64(v, len, &n)) {
			err->why = "not a count or a time (200ms, 2s)";
			return -1;
		}
		if (scale) {
			if (n == 0 || n > WARMUP_MAX_MS / scale) {
				err->why = "out of range";
				return -1;
			}
			o->warmup = 0;
			o->warmup_ms = n * scale;
			return 0;
		}
		if (n < s->min || n > s->max) {
			err->why = "out of range";
			return -1;
		}
		o->warmup = n;
		o->warmup_ms = 0;
		return 0;
	}
	case OPT_VIRTIO_MMIO: {
		struct virtio_mmio_arg m;
		const char *why;

		if (span_is(v, len, "none"))
			return 0;
		if (virtio_mmio_arg_parse(v, len, &m, &why)) {
			err->why = why;
			return -1;
		}
		for (uint64_t k = 0; k < o->nmmio; k++)
			if (o->mmio[k].base == m.base) {
				err->why = "the same virtio-mmio BASE twice";
				return -1;
			}
		if (o->nmmio == VIRTIO_MMIO_ARG_MAX) {
			err->why = "more than 8 virtio_mmio.device entries";
			return -1;
		}
		o->mmio[o->nmmio++] = m;
		return 0;
	}
	case OPT_SWEEP:
		if (span_is(v, len, "none"))
			return 0;
		if (parse_sweep(v, len, o)) {
			err->why = "not qd:N,N,... or bs:N,N,... (1 to 16 values)";
			return -1;
		}
		return 0;
	}
	return -1;
}

void options_defaults(struct options *o)
{
	struct option_error unused; /* every default parses (tests/unit/test_options.c) */

	*o = (struct options){ 0 };
	o->itr = -1;
	for (unsigned i = 0; i < option_nspecs; i++)
		apply(o, &option_specs[i], option_specs[i].def, str_len(option_specs[i].def), &unused);
}

int options_parse(const char *p, struct options *o, struct option_error *err)
{
	uint64_t seen = 0;

	_Static_assert(sizeof(option_specs) / sizeof(option_specs[0]) <= 64,
		       "options given twice are found with a 64-bit mask");
	options_defaults(o);
	err->why = "";
	err->key[0] = err->value[0] = 0;
	while (*p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		const char *word = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		size_t wlen = (size_t)(p - word), klen = 0;
		while (klen < wlen && word[klen] != '=')
			klen++;
		copy_word(err->key, sizeof(err->key), word, klen);
		if (klen == wlen) {
			if (span_is(word, klen, "help")) {
				o->help = 1;
				continue;
			}
			err->why = "expected key=value";
			return -1;
		}
		const char *value = word + klen + 1;
		size_t vlen = wlen - klen - 1;
		copy_word(err->value, sizeof(err->value), value, vlen);
		unsigned i;
		for (i = 0; i < option_nspecs; i++)
			if (span_is(word, klen, option_specs[i].name))
				break;
		if (i == option_nspecs) {
			err->why = "unknown option";
			return -1;
		}
		if ((seen & (1ull << i)) && option_specs[i].kind != OPT_VIRTIO_MMIO) {
			err->why = "option given twice";
			return -1;
		}
		seen |= 1ull << i;
		if (vlen == 0) {
			err->why = "empty value";
			return -1;
		}
		if (apply(o, &option_specs[i], value, vlen, err))
			return -1;
		/* The guest stretches only the default watchdog (kernel/exec.h): note an explicit one. */
		if (option_specs[i].kind == OPT_U64 && option_specs[i].offset == AT(timeout))
			o->timeout_given = 1;
	}
	if (span_is(o->wait, str_len(o->wait), "halt") && span_is(o->irq, str_len(o->irq), "poll")) {
		copy_word(err->key, sizeof(err->key), "wait", 4);
		copy_word(err->value, sizeof(err->value), "halt", 4);
		err->why = "wait=halt needs irq=intx or irq=msix (irq=poll never waits for an interrupt)";
		return -1;
	}
	return 0;
}

int options_check_one(const char *key, const char *value, struct option_error *err)
{
	struct options scratch;
	size_t klen = str_len(key), vlen = str_len(value);

	options_defaults(&scratch);
	err->why = "";
	copy_word(err->key, sizeof(err->key), key, klen);
	copy_word(err->value, sizeof(err->value), value, vlen);
	for (unsigned i = 0; i < option_nspecs; i++) {
		if (!span_is(key, klen, option_specs[i].name))
			continue;
		if (vlen == 0) {
			err->why = "empty value";
			return -1;
		}
		return apply(&scratch, &option_specs[i], value, vlen, err);
	}
	err->why = "unknown option";
	return -1;
}
