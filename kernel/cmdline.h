/* Guest options: key=value, parsed strictly. Every option is listed by `help`. */
#ifndef KVMIO_CMDLINE_H
#define KVMIO_CMDLINE_H
#include <stdint.h>

struct options {
	const char *bench;     /* exits | spin | none */
	uint64_t ops;
	uint64_t warmup;
	uint64_t seed;
	uint64_t timeout;      /* seconds */
	int timeout_given;     /* 1: timeout= was on the command line (honoured exactly) */
	uint64_t pci;          /* 1: emit pci records */
	const char *fault;     /* none | ud | pf | gp | de */
	const char *bar;       /* auto | 0..5: memory BAR for bench=exits mmio-read */
	enum { DEV_AUTO, DEV_INDEX, DEV_BDF } dev_kind; /* dev=auto, dev=N, dev=BB:DD.F */
	uint64_t dev_index;
	uint8_t dev_bus, dev_dev, dev_fn;
	/* device drivers */
	const char *irq;       /* poll | intx | msix */
	const char *ata_mode;  /* pio | dma */
	const char *transport; /* virtio: auto | legacy | modern */
	uint64_t evidx, indirect;
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
	int help;
};

/* Parse into opts (defaults first). On error returns -1 with *bad_key, *bad_value, *why set. */
int cmdline_parse(const char *cmdline, struct options *opts, const char **why, char *bad_key,
		  char *bad_value, unsigned bad_len);
/* One `option` record per option. */
void cmdline_report_help(void);

#endif
