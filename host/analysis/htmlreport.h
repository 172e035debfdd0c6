/* kvmio report: one self-contained HTML file (gnuplot SVG charts inline) and a plain-text
 * summary from a `kvmio run` result directory (docs/run.md). */
#ifndef KVMIO_HOST_ANALYSIS_HTMLREPORT_H
#define KVMIO_HOST_ANALYSIS_HTMLREPORT_H
#include <stdio.h>

/* `kvmio report DIR [-o FILE]`: writes FILE (default DIR/report.html) and DIR/summary.txt, and
 * prints the summary to stdout. Returns 0, 2 on usage errors, 1 on any other failure (missing
 * results.csv, no results, gnuplot missing or failing), after one line on stderr. */
int cmd_report(int argc, char **argv);

/* The same without argument parsing; summary_out may be NULL. */
int htmlreport_write(const char *dir, const char *html_path, FILE *summary_out);

#endif
