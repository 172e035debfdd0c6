/* libFuzzer target: arbitrary bytes as a `kvmio boot --disk SPEC` (syntax only, no files). */
#include "boot/qemu.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size), err[512];
	static struct qemu_disk d;

	if (!s)
		return 0;
	err[0] = '\0';
	if (qemu_parse_disk(s, &d, err, sizeof(err)) != 0 && !err[0])
		abort(); /* every refusal says why */
	free(s);
	return 0;
}
