/* CSV (csv.h). */
#include <string.h>
#include "lib/csv.h"

static void write_field(FILE *out, const char *s, int first, int always_quote)
{
	if (!s)
		s = "";
	if (!first)
		fputc(',', out);
	if (!always_quote && !strpbrk(s, ",\"\r\n")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

void csv_field(FILE *out, const char *s, int first)
{
	write_field(out, s, first, 0);
}

void csv_field_quoted(FILE *out, const char *s, int first)
{
	write_field(out, s, first, 1);
}

int csv_next_record(char **p, char **fields, int max)
{
	char *s = *p, *w;
	int n = 0;

	if (!*s)
		return -1;
	for (;;) {
		w = s;
		if (n < max)
			fields[n] = w;
		n++;
		if (*s == '"') {
			s++;
			for (;;) {
				if (*s == '"' && s[1] == '"') {
					*w++ = '"';
					s += 2;
				} else if (*s == '"') {
					s++;
					break;
				} else if (!*s) {
					break;
				} else {
					*w++ = *s++;
				}
			}
		}
		while (*s && *s != ',' && *s != '\n' && *s != '\r')
			*w++ = *s++;
		if (*s == ',') {
			*w = '\0';
			s++;
			continue;
		}
		if (*s == '\r')
			*s++ = '\0';
		if (*s == '\n')
			*s++ = '\0';
		*w = '\0';
		break;
	}
	*p = s;
	return n;
}
