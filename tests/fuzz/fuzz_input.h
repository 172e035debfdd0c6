/* libFuzzer inputs as the parsers take them: a NUL-terminated copy (malloc'd) of the bytes. */
#ifndef KVMIO_TESTS_FUZZ_INPUT_H
#define KVMIO_TESTS_FUZZ_INPUT_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline char *fuzz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s) {
		memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

#endif
