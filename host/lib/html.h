/* HTML (and SVG) output. */
#ifndef KVMIO_HOST_LIB_HTML_H
#define KVMIO_HOST_LIB_HTML_H
#include <stdio.h>

/* Text with < > & " ' escaped (NULL writes nothing). */
void html_escape(FILE *out, const char *s);

#endif
