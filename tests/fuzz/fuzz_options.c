/* libFuzzer target: arbitrary bytes through the guest's option parser (common/options.c), the
 * code the guest runs on its command line and the host runs before launching. */
#include "options.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size), *eq;
	struct options o;
	struct option_error e;

	if (!s)
		return 0;
	if (options_parse(s, &o, &e) != 0 && (!e.why || !e.why[0]))
		abort(); /* every refusal says why */
	eq = strchr(s, '=');
	if (eq) {
		*eq = '\0';
		if (options_check_one(s, eq + 1, &e) != 0 && (!e.why || !e.why[0]))
			abort();
	}
	free(s);
	return 0;
}
