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
	uint64_t pci;          /* 1: emit pci records */
	const char *fault;     /* none | ud | pf | gp | de */
	const char *bar;       /* auto | 0..5: memory BAR for bench=exits mmio-read */
	int dev_set;           /* dev= given */
	uint8_t dev_bus, dev_dev, dev_fn;
	int help;
};

/* Parse into opts (defaults first). On error returns -1 with *bad_key, *bad_value, *why set. */
int cmdline_parse(const char *cmdline, struct options *opts, const char **why, char *bad_key,
		  char *bad_value, unsigned bad_len);
/* One `option` record per option. */
void cmdline_report_help(void);

#endif
