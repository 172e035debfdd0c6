/*
 * The guest's options: one table (name, kind, range, default, help) that the guest's parser,
 * its `help` records, and the host's check before launching all read. Options are
 * "key=value" words separated by spaces; "help" is the one bare word. Unknown keys, repeated
 * keys, missing or malformed values and out-of-range numbers are errors: a benchmark never runs
 * with a configuration other than the one asked for. No libc: the guest compiles this too.
 */
#ifndef KVMIO_COMMON_OPTIONS_H
#define KVMIO_COMMON_OPTIONS_H
#include <stddef.h>
#include <stdint.h>
#include "virtio_mmio_arg.h"

struct options {
	const char *bench;     /* one of common/benches.def */
	uint64_t ops;
	uint64_t warmup;       /* untimed operations before each measurement ... */
	uint64_t warmup_ms;    /* ... or, when not 0, untimed operations for this long */
	const char *stamp;     /* op: a timestamp pair per operation; batch: one per batch */
	uint64_t batch;        /* stamp=batch: operations per timestamp pair */
	uint64_t seed;
	uint64_t timeout;      /* seconds */
	int timeout_given;     /* 1: timeout= was on the command line (honoured exactly) */
	uint64_t pci;          /* 1: emit pci records */
	const char *fault;     /* none | ud | pf | gp | de | noirq */
	const char *bar;       /* auto | 0..5: memory BAR for bench=exits mmio-read */
	uint64_t tests;        /* bench=exits: bit i runs test i of common/exit_tests.def */
	enum { DEV_AUTO, DEV_INDEX, DEV_BDF } dev_kind; /* dev=auto, dev=N, dev=BB:DD.F */
	uint64_t dev_index;
	uint8_t dev_bus, dev_dev, dev_fn;
	/* device drivers */
	const char *irq;       /* poll | intx | msix */
	const char *wait;      /* spin | halt: how irq modes wait for the interrupt */
	const char *ata_mode;  /* pio | dma */
	const char *transport; /* virtio: auto | legacy | modern */
	uint64_t evidx, indirect;
	uint64_t dbbuf;        /* nvme: shadow doorbell buffer */
	const char *ring;      /* virtio: split | packed */
	uint64_t queues;       /* virtio-blk: request queues */
	/* bench=disk */
	const char *rw;        /* read | write | randread | randwrite | randrw */
	uint64_t mix;          /* randrw: percent reads */
	uint64_t bs;           /* bytes per request */
	uint64_t qd;           /* requests in flight */
	uint64_t time;         /* seconds; 0: run ops= operations */
	uint64_t range;        /* sectors of the data area to use; 0: all */
	uint64_t flush;        /* flush after every N writes; 0: never */
	uint64_t verify;       /* 1: write stamped blocks, read back and check */
	const char *write;     /* safe | unsafe */
	char sweep[64];        /* "", or qd:1,2,4 / bs:4096,65536 */
	/* bench=net-* */
	uint64_t size;         /* frame bytes without FCS, 60..1514 */
	uint64_t burst;        /* frames queued per transmit round */
	enum { RXDEV_SAME, RXDEV_INDEX } rxdev_kind;
	uint64_t rxdev;        /* loop topology: the NIC that receives */
	uint8_t ip[4];         /* net-echo: our IPv4 address */
	int64_t itr;           /* e1000 ITR; -1: device default */
	uint64_t mrg;          /* virtio-net mergeable RX buffers */
	/* virtio-mmio transports the platform described (virtio_mmio.device=, repeatable) */
	struct virtio_mmio_arg mmio[VIRTIO_MMIO_ARG_MAX];
	uint64_t nmmio;
	int help;
};

enum option_kind {
	OPT_U64,       /* a number in [min, max] */
	OPT_CHOICE,    /* one of choices */
	OPT_DEV,       /* auto, a device index, or a PCI address BB:DD.F */
	OPT_SWEEP,     /* none, or qd:N,N,... / bs:N,N,... */
	OPT_IPV4,      /* A.B.C.D */
	OPT_RXDEV,     /* same, or a NIC index */
	OPT_ITR,       /* default, or 0..max */
	OPT_TESTS,     /* all, or a comma-separated list of choices, each at most once */
	OPT_WARMUP,    /* a count in [min, max], or a time: Nms or Ns (at most WARMUP_MAX_MS) */
	OPT_VIRTIO_MMIO, /* none, or SIZE@BASE:IRQ[:ID]; may be given once per transport */
};

#define WARMUP_MAX_MS 3600000ull /* an hour */
#define WAIT_TICK_HZ 100         /* wait=halt: the timer tick that bounds every halted wait */
#define VIRTIO_QUEUES_MAX 16     /* queues= at most (virtio-blk request queues) */

struct option_spec {
	const char *name;
	enum option_kind kind;
	uint64_t min, max;          /* OPT_U64, OPT_ITR (max) */
	const char *const *choices; /* OPT_CHOICE, OPT_TESTS: NULL-terminated */
	const char *def;            /* the default, as it would be written; parsed like a value */
	const char *help;
	size_t offset;              /* OPT_U64, OPT_CHOICE: where the value goes in struct options */
};

extern const struct option_spec option_specs[];
extern const unsigned option_nspecs;

#define OPTION_WORD_MAX 64 /* bytes kept of a bad key or value, NUL included */
#define OPTION_WHY_MAX 256 /* a reason that names the bad part of a value */

/* What was wrong with a command line: why, and the key (and value) at fault. */
struct option_error {
	const char *why;             /* a constant, or why_buf */
	char key[OPTION_WORD_MAX];
	char value[OPTION_WORD_MAX];
	char why_buf[OPTION_WHY_MAX];
};

/* The exit tests of bench=exits (common/exit_tests.def), in order: tests= names them. */
extern const char *const exit_test_names[];
extern const unsigned exit_test_count;

/* Parse cmdline into o (the table's defaults first). 0, or -1 with err filled. */
int options_parse(const char *cmdline, struct options *o, struct option_error *err);

/* Check one option, key=value, as the parser would take it: 0, or -1 with err->why set. */
int options_check_one(const char *key, const char *value, struct option_error *err);

/* The table's defaults alone (what an empty command line gives). */
void options_defaults(struct options *o);

#endif
