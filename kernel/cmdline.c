/*
 * Options are "key=value" words separated by spaces; "help" is the one bare word. Unknown
 * keys, repeated keys, missing or malformed values and out-of-range numbers are errors:
 * a benchmark never runs with a configuration other than the one asked for.
 */
#include <stddef.h>
#include "cmdline.h"
#include "hexdigit.h"
#include "lib.h"
#include "report.h"

enum opt_kind { OPT_U64, OPT_CHOICE, OPT_DEV, OPT_SWEEP, OPT_IPV4, OPT_RXDEV, OPT_ITR };

struct option_spec {
	const char *name;
	enum opt_kind kind;
	uint64_t min, max;          /* OPT_U64 */
	const char *const *choices; /* OPT_CHOICE, NULL-terminated */
	const char *def;
	const char *help;
	size_t offset;              /* where the value goes in struct options */
};

#define AT(field) offsetof(struct options, field)

static const char *const bench_choices[] = { "exits", "disk", "net-tx", "net-rx", "net-rr",
					      "net-echo", "spin", "none", 0 };
static const char *const irq_choices[] = { "poll", "intx", "msix", 0 };
static const char *const ata_choices[] = { "pio", "dma", 0 };
static const char *const transport_choices[] = { "auto", "legacy", "modern", 0 };
static const char *const rw_choices[] = { "read", "write", "randread", "randwrite", "randrw", 0 };
static const char *const write_choices[] = { "safe", "unsafe", 0 };
static const char *const fault_choices[] = { "none", "ud", "pf", "gp", "de", 0 };
static const char *const bar_choices[] = { "auto", "0", "1", "2", "3", "4", "5", 0 };

static const struct option_spec specs[] = {
	{ "bench", OPT_CHOICE, 0, 0, bench_choices, "exits",
	  "workload: exits (VM-exit costs), disk (block I/O), spin (busy loop until the watchdog; a test aid), none", AT(bench) },
	{ "ops", OPT_U64, 1, 100000000, 0, "10000", "timed operations per measurement", AT(ops) },
	{ "warmup", OPT_U64, 0, 100000000, 0, "100", "untimed operations before each measurement", AT(warmup) },
	{ "seed", OPT_U64, 0, UINT64_MAX, 0, "1", "seed for randomised workloads", AT(seed) },
	{ "timeout", OPT_U64, 1, 86400, 0, "60", "watchdog: seconds before the guest reports a timeout and exits; the default is multiplied by deadline_scale (see hello), a given value is used as is", AT(timeout) },
	{ "pci", OPT_U64, 0, 1, 0, "1", "1: report every PCI function as a pci record", AT(pci) },
	{ "dev", OPT_DEV, 0, 0, 0, "auto", "device: exits: PCI BB:DD.F whose BARs are read (auto: first pci-testdev); disk: disk index N (see disk records) or BB:DD.F (auto: disk 0)", 0 },
	{ "bar", OPT_CHOICE, 0, 0, bar_choices, "auto", "BAR of dev= whose MMIO bench=exits reads (auto: the first memory BAR)", AT(bar) },
	{ "irq", OPT_CHOICE, 0, 0, irq_choices, "poll", "completions: poll the device, intx (I/O APIC) or msix (MSI-X, else MSI)", AT(irq) },
	{ "ata_mode", OPT_CHOICE, 0, 0, ata_choices, "pio", "IDE data transfer: pio or dma (bus-master)", AT(ata_mode) },
	{ "transport", OPT_CHOICE, 0, 0, transport_choices, "auto", "virtio: legacy (I/O BAR) or modern (1.x capabilities); auto: modern when offered", AT(transport) },
	{ "evidx", OPT_U64, 0, 1, 0, "0", "virtio: negotiate VIRTIO_RING_F_EVENT_IDX", AT(evidx) },
	{ "indirect", OPT_U64, 0, 1, 0, "0", "virtio: negotiate VIRTIO_RING_F_INDIRECT_DESC and use indirect tables", AT(indirect) },
	{ "rw", OPT_CHOICE, 0, 0, rw_choices, "randread", "disk: access pattern", AT(rw) },
	{ "mix", OPT_U64, 0, 100, 0, "50", "disk: percent reads for rw=randrw", AT(mix) },
	{ "bs", OPT_U64, 512, 1048576, 0, "4096", "disk: bytes per request, a multiple of the sector size", AT(bs) },
	{ "qd", OPT_U64, 1, 1024, 0, "1", "disk: requests in flight (at most the device's queue)", AT(qd) },
	{ "time", OPT_U64, 0, 86400, 0, "0", "disk: run for S seconds instead of ops= operations (0: use ops)", AT(time) },
	{ "range", OPT_U64, 0, UINT64_MAX, 0, "0", "disk: sectors of the data area (from 1 MiB) to use; 0: all", AT(range) },
	{ "flush", OPT_U64, 0, 100000000, 0, "0", "disk: flush after every N writes; 0: never", AT(flush) },
	{ "verify", OPT_U64, 0, 1, 0, "0", "disk: write stamped blocks over the range, read each back and check it", AT(verify) },
	{ "write", OPT_CHOICE, 0, 0, write_choices, "safe", "disk: safe writes only to disks with the kvmio scratch label; unsafe allows any disk", AT(write) },
	{ "sweep", OPT_SWEEP, 0, 0, 0, "none", "disk: a series in one boot, qd:1,2,4,... or bs:4096,65536,...", 0 },
	{ "size", OPT_U64, 60, 1514, 0, "60", "net: frame bytes without the FCS", AT(size) },
	{ "burst", OPT_U64, 1, 256, 0, "1", "net-tx: frames queued per transmit round", AT(burst) },
	{ "rxdev", OPT_RXDEV, 0, 0, 0, "same", "net: NIC that receives (loop topology: the other NIC on the hub); same: dev=", 0 },
	{ "ip", OPT_IPV4, 0, 0, 0, "10.199.0.2", "net-echo: our IPv4 address (answers ARP, ICMP echo, UDP echo)", 0 },
	{ "itr", OPT_ITR, 0, 65535, 0, "default", "e1000: interrupt throttling register value (256 ns units); default: leave the device's", 0 },
	{ "mrg", OPT_U64, 0, 1, 0, "0", "virtio-net: negotiate VIRTIO_NET_F_MRG_RXBUF", AT(mrg) },
	{ "fault", OPT_CHOICE, 0, 0, fault_choices, "none", "test aid: raise ud, pf, gp or de after hello", AT(fault) },
};

static void set_defaults(struct options *o)
{
	memset(o, 0, sizeof(*o));
	o->bench = "exits";
	o->ops = 10000;
	o->warmup = 100;
	o->seed = 1;
	o->timeout = 60;
	o->pci = 1;
	o->fault = "none";
	o->bar = "auto";
	o->irq = "poll";
	o->ata_mode = "pio";
	o->transport = "auto";
	o->rw = "randread";
	o->mix = 50;
	o->bs = 4096;
	o->qd = 1;
	o->write = "safe";
	o->size = 60;
	o->burst = 1;
	o->ip[0] = 10, o->ip[1] = 199, o->ip[2] = 0, o->ip[3] = 2;
	o->itr = -1;
}

static void copy_word(char *dst, unsigned cap, const char *src, size_t len)
{
	if (!cap)
		return;
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, src, len);
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
	if (len >= sizeof(o->sweep) || len < 4 || (strncmp(s, "qd:", 3) && strncmp(s, "bs:", 3)))
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
	memcpy(o->sweep, s, len);
	o->sweep[len] = 0;
	return 0;
}

static const char *match_choice(const char *const *choices, const char *v, size_t len)
{
	for (; *choices; choices++)
		if (strlen(*choices) == len && !strncmp(*choices, v, len))
			return *choices;
	return 0;
}

static int apply(struct options *o, const struct option_spec *s, const char *v, size_t len,
		 const char **why)
{
	uint64_t n;
	const char *choice;

	switch (s->kind) {
	case OPT_U64:
		if (parse_u64(v, len, &n)) {
			*why = "not a number";
			return -1;
		}
		if (n < s->min || n > s->max) {
			*why = "out of range";
			return -1;
		}
		*(uint64_t *)((char *)o + s->offset) = n;
		return 0;
	case OPT_CHOICE:
		if (!(choice = match_choice(s->choices, v, len))) {
			*why = "not one of the allowed values";
			return -1;
		}
		*(const char **)((char *)o + s->offset) = choice;
		return 0;
	case OPT_DEV:
		if (len == 4 && !strncmp(v, "auto", 4))
			return 0;
		if (!parse_u64(v, len, &n) && n < 64) {
			o->dev_kind = DEV_INDEX;
			o->dev_index = n;
			return 0;
		}
		if (parse_bdf(v, len, o)) {
			*why = "not a device index or a PCI address BB:DD.F";
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
				*why = "not an IPv4 address A.B.C.D";
				return -1;
			}
			ip[k] = (uint8_t)n;
			start = end + 1;
		}
		memcpy(o->ip, ip, 4);
		return 0;
	}
	case OPT_RXDEV:
		if (len == 4 && !strncmp(v, "same", 4))
			return 0;
		if (parse_u64(v, len, &n) || n >= 64) {
			*why = "not a NIC index";
			return -1;
		}
		o->rxdev_kind = RXDEV_INDEX;
		o->rxdev = n;
		return 0;
	case OPT_ITR:
		if (len == 7 && !strncmp(v, "default", 7))
			return 0;
		if (parse_u64(v, len, &n) || n > s->max) {
			*why = "not 0..65535 or default";
			return -1;
		}
		o->itr = (int64_t)n;
		return 0;
	case OPT_SWEEP:
		if (len == 4 && !strncmp(v, "none", 4))
			return 0;
		if (parse_sweep(v, len, o)) {
			*why = "not qd:N,N,... or bs:N,N,... (1 to 16 values)";
			return -1;
		}
		return 0;
	}
	return -1;
}

int cmdline_parse(const char *p, struct options *o, const char **why, char *bad_key,
		  char *bad_value, unsigned bad_len)
{
	uint64_t seen = 0;

	set_defaults(o);
	bad_key[0] = bad_value[0] = 0;
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
		copy_word(bad_key, bad_len, word, klen);
		if (klen == wlen) {
			if (klen == 4 && !strncmp(word, "help", 4)) {
				o->help = 1;
				continue;
			}
			*why = "expected key=value";
			return -1;
		}
		const char *value = word + klen + 1;
		size_t vlen = wlen - klen - 1;
		copy_word(bad_value, bad_len, value, vlen);
		unsigned i;
		for (i = 0; i < ARRAY_SIZE(specs); i++)
			if (strlen(specs[i].name) == klen && !strncmp(specs[i].name, word, klen))
				break;
		if (i == ARRAY_SIZE(specs)) {
			*why = "unknown option";
			return -1;
		}
		if (seen & (1ull << i)) {
			*why = "option given twice";
			return -1;
		}
		seen |= 1ull << i;
		if (vlen == 0) {
			*why = "empty value";
			return -1;
		}
		if (apply(o, &specs[i], value, vlen, why))
			return -1;
		/* The caller stretches only the default watchdog (kernel/exec.h): note an explicit one. */
		if (specs[i].kind == OPT_U64 && specs[i].offset == AT(timeout))
			o->timeout_given = 1;
	}
	return 0;
}

void cmdline_report_help(void)
{
	for (unsigned i = 0; i < ARRAY_SIZE(specs); i++) {
		rec_begin("option");
		rec_str("name", specs[i].name);
		rec_str("default", specs[i].def);
		if (specs[i].kind == OPT_CHOICE) {
			rec_field("values");
			for (const char *const *c = specs[i].choices; *c; c++) {
				if (c != specs[i].choices)
					rec_put_char('|');
				for (const char *s = *c; *s; s++)
					rec_put_char(*s);
			}
		} else if (specs[i].kind == OPT_U64) {
			rec_field("range");
			rec_put_u64(specs[i].min);
			rec_put_char('-');
			rec_put_u64(specs[i].max);
		}
		rec_str("help", specs[i].help);
		rec_end();
	}
}
