/* libFuzzer target: arbitrary bytes as a `kvmio run` job file (libinih, key and value checks,
 * guest option values against the guest's table). */
#include "matrix/job.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size), err[1024];
	struct job_file jf;

	if (!s)
		return 0;
	err[0] = '\0';
	if (job_load_string("fuzz.ini", s, &jf, err, sizeof(err)) == 0)
		job_file_free(&jf);
	else if (strncmp(err, "fuzz.ini", 8) != 0)
		abort(); /* every refusal names the file (and line) */
	free(s);
	return 0;
}
