/*
 * JSON output. Strings go through Debian's jansson, which escapes them: values from guest
 * logs may hold any byte, so a string is made of the code points of its bytes (Latin-1) and
 * printed ASCII-only (such bytes read \u00XX): the output is always valid JSON. Numbers are
 * written as the decimal text they come in, so a log's figures keep their exact digits (a
 * jansson real would round them through a double, an integer stops at 2^63).
 */
#ifndef KVMIO_HOST_LIB_JSON_H
#define KVMIO_HOST_LIB_JSON_H
#include <stdio.h>
#include <jansson.h>

/* A jansson string of any bytes (NULL: ""). */
json_t *json_of_bytes(const char *s);

/* 1 if s is a number as JSON writes it: -?(0|[1-9][0-9]*)(.[0-9]+)? */
int json_is_number_text(const char *s);

/* A string (NULL: ""). */
void json_write_string(FILE *out, const char *s);
/* ,"key": (no comma when first). */
void json_write_key(FILE *out, const char *key, int first);
/* Number text as a number, NULL or "" as null, anything else as a string. */
void json_write_value(FILE *out, const char *s);

#endif
