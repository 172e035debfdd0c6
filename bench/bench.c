/* The benchmark table: common/benches.def names each benchmark and its run function here. */
#include "bench/bench.h"
#include "kernel/lib.h"

/* bench=none: nothing after hello and the pci records. */
static enum guest_status bench_none(const struct options *o)
{
	(void)o;
	return STATUS_OK;
}

static const struct bench {
	const char *name;
	enum guest_status (*run)(const struct options *o);
	const char *help;
} benches[] = {
#define KVMIO_BENCH(name, run, help) { name, bench_##run, help },
#include "benches.def"
#undef KVMIO_BENCH
};

enum guest_status bench_run(const struct options *o)
{
	for (unsigned i = 0; i < ARRAY_SIZE(benches); i++)
		if (!strcmp(benches[i].name, o->bench))
			return benches[i].run(o);
	/* the option parser takes bench= only from the same list */
	report_fail(STATUS_BADCONFIG, "badconfig", "bench= names no benchmark");
}
