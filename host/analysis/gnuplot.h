/*
 * Charts drawn by gnuplot (svg terminal) for kvmio report: each chart is a data file and a
 * script in a private temporary directory; gnuplot turns them into SVG, which comes back with
 * its ids made unique per chart, ready to be inlined into one page.
 */
#ifndef KVMIO_HOST_ANALYSIS_GNUPLOT_H
#define KVMIO_HOST_ANALYSIS_GNUPLOT_H
#include <stddef.h>
#include <stdio.h>

struct gnuplot {
	const char *exe;            /* $KVMIO_GNUPLOT, or gnuplot on PATH */
	char *tmpdir;
	int ncharts;
};

struct gnuplot_chart {
	FILE *data, *script;        /* write the data and the plot commands here */
	char *data_path, *script_path, *svg_path;
	int id;
};

/* Find gnuplot; 0, or -1 (not found). */
int gnuplot_find(struct gnuplot *g);
/* Its temporary directory; 0, or -1 with errno. */
int gnuplot_start(struct gnuplot *g);
/* Remove the temporary directory (safe to call on a gnuplot never started). */
void gnuplot_stop(struct gnuplot *g);

/* A new chart of width x height pixels: files open, the terminal and common settings written.
 * 0, or -1 with the reason in err. */
int gnuplot_chart_begin(struct gnuplot *g, struct gnuplot_chart *c, int width, int height,
			char *err, size_t errlen);
/* Run gnuplot on it: the SVG from its <svg element on (malloc'd), ids prefixed "kN-", or NULL
 * with the reason (gnuplot's first line) in err. The chart's files are gone either way. */
char *gnuplot_chart_end(struct gnuplot *g, struct gnuplot_chart *c, char *err, size_t errlen);

/* Text for the data files and single-quoted strings: printable ASCII, no quotes (malloc'd). */
char *gnuplot_text(const char *s);
/* "set SETTING 'TEXT'" into a script. */
void gnuplot_set_text(FILE *script, const char *setting, const char *text);

#endif
