/* Charts drawn by gnuplot (gnuplot.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "analysis/gnuplot.h"
#include "lib/file.h"
#include "lib/proc.h"

int gnuplot_find(struct gnuplot *g)
{
	static char found[4096];
	const char *env = getenv("KVMIO_GNUPLOT");

	memset(g, 0, sizeof(*g));
	if (env && *env)
		g->exe = access(env, X_OK) == 0 ? env : NULL;
	else if (path_search("gnuplot", found, sizeof(found)) == 0)
		g->exe = found;
	return g->exe ? 0 : -1;
}

int gnuplot_start(struct gnuplot *g)
{
	g->tmpdir = dir_make_temp();
	return g->tmpdir ? 0 : -1;
}

void gnuplot_stop(struct gnuplot *g)
{
	dir_remove_tree(g->tmpdir);
	free(g->tmpdir);
	g->tmpdir = NULL;
}

static void chart_free(struct gnuplot_chart *c)
{
	if (c->data)
		fclose(c->data);
	if (c->script)
		fclose(c->script);
	free(c->data_path);
	free(c->script_path);
	free(c->svg_path);
	memset(c, 0, sizeof(*c));
}

int gnuplot_chart_begin(struct gnuplot *g, struct gnuplot_chart *c, int width, int height,
			char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	c->id = ++g->ncharts;
	if (asprintf(&c->data_path, "%s/c%d.dat", g->tmpdir, c->id) < 0 ||
	    asprintf(&c->script_path, "%s/c%d.gp", g->tmpdir, c->id) < 0 ||
	    asprintf(&c->svg_path, "%s/c%d.svg", g->tmpdir, c->id) < 0 ||
	    !(c->data = fopen(c->data_path, "w")) || !(c->script = fopen(c->script_path, "w"))) {
		snprintf(err, errlen, "%s: %s", g->tmpdir, strerror(errno));
		chart_free(c);
		return -1;
	}
	fprintf(c->script,
		"set terminal svg size %d,%d noenhanced font 'sans,11' background '#ffffff'\n"
		"set output '%s'\n"
		"set datafile missing 'nan'\n"
		"set grid ytics lc rgb '#dddddd'\n"
		"set border 3\nset tics nomirror\n"
		"set key top left reverse Left noopaque font ',10'\n",
		width, height, c->svg_path);
	return 0;
}

/* The SVG from its <svg element on, with its ids prefixed kN- (N: the chart). */
static char *unique_ids(const char *svg, int id)
{
	const char *p = strstr(svg, "<svg");
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		return NULL;
	for (p = p ? p : svg; *p;) {
		if (!strncmp(p, "id='gp", 6) || !strncmp(p, "id=\"gp", 6)) {
			fprintf(f, "id=%ck%d-gp", p[3], id);
			p += 6;
		} else if (!strncmp(p, "#gp", 3)) {
			fprintf(f, "#k%d-gp", id);
			p += 3;
		} else if (!strncmp(p, "id=\"gnuplot_canvas\"", 19)) {
			fprintf(f, "id=\"k%d-canvas\"", id);
			p += 19;
		} else {
			fputc(*p++, f);
		}
	}
	fclose(f);
	return out;
}

char *gnuplot_chart_end(struct gnuplot *g, struct gnuplot_chart *c, char *err, size_t errlen)
{
	char *log_path = NULL, *svg = NULL, *out = NULL;
	char *argv[] = { (char *)g->exe, c->script_path, NULL };

	fclose(c->data);
	fclose(c->script);
	c->data = c->script = NULL;
	if (asprintf(&log_path, "%s/c%d.err", g->tmpdir, c->id) < 0) {
		snprintf(err, errlen, "out of memory");
	} else if (proc_run(argv, log_path) != 0 || !(svg = file_read(c->svg_path, NULL))) {
		char *msg = file_read(log_path, NULL);

		if (msg)
			msg[strcspn(msg, "\n")] = '\0';
		snprintf(err, errlen, "gnuplot failed on %s: %s", c->script_path,
			 msg && *msg ? msg : "no output");
		free(msg);
	} else if (!(out = unique_ids(svg, c->id))) {
		snprintf(err, errlen, "out of memory");
	}
	if (out) { /* a failed chart's files stay for a look until gnuplot_stop */
		unlink(c->data_path);
		unlink(c->script_path);
		unlink(c->svg_path);
	}
	free(log_path);
	free(svg);
	chart_free(c);
	return out;
}

char *gnuplot_text(const char *s)
{
	char *r = strdup(s ? s : "");

	for (char *p = r; p && *p; p++)
		if (*p == '"' || *p == '\'' || *p == '\\' || (unsigned char)*p < 0x20 ||
		    (unsigned char)*p > 0x7e)
			*p = '_';
	return r;
}

void gnuplot_set_text(FILE *script, const char *setting, const char *text)
{
	char *t = gnuplot_text(text);

	fprintf(script, "set %s '%s'\n", setting, t ? t : "");
	free(t);
}
