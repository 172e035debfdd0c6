/* libFuzzer target: arbitrary bytes as a `kvmio boot --disk SPEC` (syntax only, no files),
 * and its prop.NAME=VALUE items. */
#include "boot/qemu.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size), err[512];
	static struct qemu_disk d;
	static struct qemu_props p;

	if (!s)
		return 0;
	err[0] = '\0';
	if (qemu_parse_disk(s, &d, err, sizeof(err)) != 0 && !err[0])
		abort(); /* every refusal says why */
	err[0] = '\0';
	if (qemu_spec_props("--disk", s, &p, err, sizeof(err)) != 0 && !err[0])
		abort();
	free(s);
	return 0;
}
