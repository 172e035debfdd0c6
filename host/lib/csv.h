/* CSV (RFC 4180): the one reader and the one writer of the host's CSV files and output. */
#ifndef KVMIO_HOST_LIB_CSV_H
#define KVMIO_HOST_LIB_CSV_H
#include <stdio.h>

/* One field, preceded by a comma unless first; quoted when it holds a comma, a quote, CR or
 * LF (quotes doubled). NULL is written as the empty field. */
void csv_field(FILE *out, const char *s, int first);
/* The same, always quoted. */
void csv_field_quoted(FILE *out, const char *s, int first);

/*
 * Split the record at *p in place (quoted fields may hold commas, doubled quotes and line
 * ends); *p advances past its line end. Up to max field pointers go to fields; returns the
 * number of fields the record has (an empty line has one, empty), or -1 at the end of text.
 */
int csv_next_record(char **p, char **fields, int max);

#endif
