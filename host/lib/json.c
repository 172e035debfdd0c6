/* JSON output (json.h). */
#include <stdlib.h>
#include <string.h>
#include "lib/json.h"

json_t *json_of_bytes(const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = 0;
	char *utf8, *w;
	json_t *v;

	for (const unsigned char *q = p; *q; q++)
		n += *q < 0x80 ? 1 : 2;
	w = utf8 = malloc(n + 1);
	if (!utf8)
		return NULL;
	for (; *p; p++) {
		if (*p < 0x80) {
			*w++ = (char)*p;
		} else {
			*w++ = (char)(0xc0 | *p >> 6);
			*w++ = (char)(0x80 | (*p & 0x3f));
		}
	}
	*w = '\0';
	v = json_stringn(utf8, n);
	free(utf8);
	return v;
}

int json_is_number_text(const char *s)
{
	const char *p = s;

	if (!s)
		return 0;
	if (*p == '-')
		p++;
	if (*p == '0' && p[1] >= '0' && p[1] <= '9')
		return 0; /* leading zeros are not JSON */
	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return 0;
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	}
	return *p == '\0';
}

void json_write_string(FILE *out, const char *s)
{
	json_t *v = json_of_bytes(s);

	if (!v || json_dumpf(v, out, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) != 0)
		fputs("\"\"", out); /* out of memory: an empty string keeps the document valid */
	json_decref(v);
}

void json_write_key(FILE *out, const char *key, int first)
{
	if (!first)
		fputc(',', out);
	json_write_string(out, key);
	fputc(':', out);
}

void json_write_value(FILE *out, const char *s)
{
	if (!s || !*s)
		fputs("null", out);
	else if (json_is_number_text(s))
		fputs(s, out);
	else
		json_write_string(out, s);
}
