/* Number parsing shared by the guest and the host (parse.h). */
#include "hexdigit.h"
#include "parse.h"

int parse_u64(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0, base = 10;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		len -= 2;
	}
	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int digit = hex_digit_value(s[i]);
		uint64_t d = digit < 0 ? base : (uint64_t)digit;
		if (d >= base || v > (UINT64_MAX - d) / base)
			return -1;
		v = v * base + d;
	}
	*out = v;
	return 0;
}
