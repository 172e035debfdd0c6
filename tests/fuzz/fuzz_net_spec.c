/* libFuzzer target: arbitrary bytes as a `kvmio boot --net SPEC` (and its prop. items). */
#include "boot/net.h"
#include "boot/qemu.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size), err[512];
	struct qemu_nic n;
	static struct qemu_props p;

	if (!s)
		return 0;
	err[0] = '\0';
	if (net_parse_spec(s, &n, err, sizeof(err)) != 0 && !err[0])
		abort(); /* every refusal says why */
	err[0] = '\0';
	if (qemu_spec_props("--net", s, &p, err, sizeof(err)) != 0 && !err[0])
		abort();
	free(s);
	return 0;
}
