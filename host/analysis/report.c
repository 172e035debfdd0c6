/* Printing checked logs: a readable table, CSV, or one JSON document; `kvmio parse`. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "analysis/report.h"
#include "boot/hostinfo.h"
#include "proto/figures.h"
#include "lib/args.h"
#include "lib/csv.h"
#include "lib/json.h"

static const char *const cycle_keys[] = { "min", "p50", "p90", "p99", "p999", "max" };
#define NCYCLE_KEYS (sizeof(cycle_keys) / sizeof(cycle_keys[0]))

static const char *get(const struct record *r, const char *key)
{
	const char *v = r ? record_get(r, key) : NULL;

	return v ? v : "-";
}

/* ns of a field into buf, or "-" / "" when it cannot be known. */
static const char *ns_text(char *buf, size_t size, const struct record *r, const char *key,
			   uint64_t hz, const char *unknown)
{
	double c, ns;

	if (record_get_number(r, key, &c) != 0 || !cycles_to_ns(c, hz, &ns))
		return unknown;
	snprintf(buf, size, "%.1f", ns);
	return buf;
}

/* A latency field in microseconds, for the disk and network tables: 0, or -1 when it cannot
 * be known (no tsc_hz, no such field, or a result without operations). */
static int latency_us(const struct record *r, const struct result_figures *f, uint64_t hz,
		      const char *key, double *us)
{
	double v;

	if (f->units <= 0 || !hz || record_get_number(r, key, &v) != 0)
		return -1;
	*us = v * 1e6 / (double)hz;
	return 0;
}

static const char *fmt_fig(char *buf, size_t size, int has, const char *fmt, double v,
			   const char *unknown)
{
	if (!has)
		return unknown;
	snprintf(buf, size, fmt, v);
	return buf;
}

/* ---- kvmio parse -------------------------------------------------------------------------- */

/* The first problem of a log, on stderr. */
static void print_log_problem(const struct log *log)
{
	if (log->status != KVMIO_EXIT_OK)
		fprintf(stderr, "kvmio: %s:%d: %s\n", log->name ? log->name : "?", log->err_line,
			log->err);
}

void report_print(const struct log *logs, size_t n, enum report_format format,
		  const struct report_launch *launch)
{
	if (format == REPORT_JSON) {
		report_json(stdout, logs, n, launch);
	} else if (format == REPORT_CSV) {
		report_csv_header(stdout, launch);
		for (size_t i = 0; i < n; i++)
			report_csv_rows(stdout, &logs[i], launch);
	} else {
		for (size_t i = 0; i < n; i++)
			report_table(stdout, &logs[i], launch);
	}
	fflush(stdout);
}

int cmd_parse(int argc, char **argv)
{
	enum report_format format = REPORT_TABLE;
	struct log *logs;
	int nfiles = 0, rc = KVMIO_EXIT_OK, i, only_files = 0;
	char **files = calloc((size_t)argc + 1, sizeof(*files));

	if (!files)
		return KVMIO_EXIT_IO;
	for (i = 0; i < argc; i++) {
		if (!only_files && strcmp(argv[i], "--csv") == 0)
			format = REPORT_CSV;
		else if (!only_files && strcmp(argv[i], "--json") == 0)
			format = REPORT_JSON;
		else if (!only_files && strcmp(argv[i], "--") == 0)
			only_files = 1;
		else if (!only_files && argv[i][0] == '-' && argv[i][1] != '\0') {
			free(files);
			return usage_error("parse: unknown option '%s'", argv[i]);
		} else
			files[nfiles++] = argv[i];
	}
	if (nfiles == 0) {
		free(files);
		return usage_error("parse: no log files given");
	}
	logs = calloc((size_t)nfiles, sizeof(*logs));
	if (!logs) {
		free(files);
		return KVMIO_EXIT_IO;
	}
	for (i = 0; i < nfiles; i++) {
		int st = log_parse_file(&logs[i], files[i]);

		print_log_problem(&logs[i]);
		if (st != KVMIO_EXIT_OK && rc == KVMIO_EXIT_OK)
			rc = st;
	}
	report_print(logs, (size_t)nfiles, format, NULL);
	for (i = 0; i < nfiles; i++)
		log_free(&logs[i]);
	free(logs);
	free(files);
	return rc;
}

/* ---- table ------------------------------------------------------------------------------- */

static void table_header(FILE *out, const struct log *log, const struct report_launch *launch)
{
	const struct record *h = log_find(log, "hello", NULL, NULL);
	const char *accel = get(h, "accel");

	fprintf(out, "== %s\n", log->name);
	if (launch)
	{
		fprintf(out, "launched:     firmware=%s machine=%s accel=%s%s%s (QEMU exit %d)\n",
			launch->firmware, launch->machine, launch->accel,
			launch->iothread[0] ? " iothread=" : "", launch->iothread, launch->qemu_exit);
		fprintf(out, "flavour:      %s\n", launch->accel_label);
		fprintf(out, "accel choice: %s\n", launch->accel_why);
		if (launch->first_record_s >= 0)
			fprintf(out, "timing:       first record %.0f ms after QEMU start, QEMU ran %.0f ms\n",
				launch->first_record_s * 1e3, launch->wall_s * 1e3);
		if (launch->pin) {
			char text[2048];

			pin_outcome_text(launch->pin, text, sizeof(text));
			fprintf(out, "pinned:       %s\n", text);
		}
	}
	if (!h) {
		fprintf(out, "(no hello record)\n");
		return;
	}
	fprintf(out, "build:        %s\n", get(h, "build"));
	for (int k = 0; launch && k < launch->npeers; k++) {
		char line[512];

		if (launch->peers[k].valid) {
			peer_format_line(&launch->peers[k], line, sizeof(line));
			fprintf(out, "%s\n", line);
		} else {
			fprintf(out, "peer: dev=%d: no summary (the peer did not run or was killed)\n",
				launch->peers[k].dev);
		}
	}
	fprintf(out, "boot:         %s\n", get(h, "boot"));
	fprintf(out, "accelerator:  %s (guest sees hv=%s)%s\n", accel, get(h, "hv"),
		strcmp(accel, "tcg") == 0 || (launch && strcmp(launch->accel, "tcg") == 0)
			? "  TCG: emulation figures, not KVM figures" : "");
	fprintf(out, "cpu:          %s family %s model %s stepping %s, %s cpus\n",
		get(h, "cpu_vendor"), get(h, "cpu_family"), get(h, "cpu_model"),
		get(h, "cpu_stepping"), get(h, "cpus"));
	fprintf(out, "tsc:          %s Hz (%s), invtsc=%s, ts_cost=%s cycles (%s)\n",
		get(h, "tsc_hz"), get(h, "tsc_method"), get(h, "invtsc"), get(h, "ts_cost"),
		get(h, "ts"));
	if (launch && launch->host_tsc_hz) {
		uint64_t ghz = 0;
		double ppm = record_get_u64(h, "tsc_hz", &ghz) == 0 && ghz ?
			     host_tsc_error_ppm(ghz, launch->host_tsc_hz) : 0;

		fprintf(out, "host tsc:     %llu Hz (%s): the guest's is %+.0f ppm off%s\n",
			(unsigned long long)launch->host_tsc_hz, launch->host_tsc_method, ppm,
			fabs(ppm) > HOST_TSC_TOLERANCE_PPM ? "  TSC DISAGREES by more than 0.1 %: "
			"ns figures are off by as much" : "");
	}
	if (record_get(h, "exec"))
		fprintf(out, "execution:    exec=%s (guest's own measure: %s cycles for %s loop "
			"iterations, rdtsc %s cycles)\n", get(h, "exec"), get(h, "loop_cyc"),
			get(h, "loop_iters"), get(h, "rdtsc_cyc"));
	if (record_get(h, "cmdline"))
		fprintf(out, "cmdline:      %s\n", get(h, "cmdline"));
}

static void table_options(FILE *out, const struct log *log)
{
	int any = 0;

	for (size_t i = 0; i < log->nrecs; i++) {
		const struct record *r = &log->recs[i];

		if (strcmp(r->type, "option") != 0)
			continue;
		if (!any++)
			fprintf(out, "\n%-20s %-16s %s\n", "option", "default", "help");
		fprintf(out, "%-20s %-16s %s\n", get(r, "name"), get(r, "default"), get(r, "help"));
	}
}

static void table_pci(FILE *out, const struct log *log)
{
	int any = 0;

	for (size_t i = 0; i < log->nrecs; i++) {
		const struct record *r = &log->recs[i];

		if (strcmp(r->type, "pci") != 0)
			continue;
		if (!any++)
			fprintf(out, "\n%-8s %-10s %-7s %s\n", "bdf", "id", "class", "bars");
		fprintf(out, "%-8s %-10s %-7s", get(r, "bdf"), get(r, "id"), get(r, "class"));
		for (int f = 0; f < r->nfields; f++)
			if (strncmp(r->fields[f].key, "bar", 3) == 0)
				fprintf(out, " %s=%s", r->fields[f].key, r->fields[f].value);
		fputc('\n', out);
	}
}

static void table_results(FILE *out, const struct log *log)
{
	uint64_t hz = log_tsc_hz(log);
	int any = 0;

	for (size_t i = 0; i < log->nrecs; i++) {
		const struct record *r = &log->recs[i];
		char b1[32], b2[32], b3[32];

		if (strcmp(r->type, "result") != 0)
			continue;
		if (!any++)
			fprintf(out, "\n%-8s %-20s %8s %9s %9s %9s %9s %9s %9s %11s %10s %10s %10s\n",
				"bench", "name", "ops", "min", "p50", "p90", "p99", "p999", "max",
				"mean", "p50_ns", "p99_ns", "mean_ns");
		fprintf(out, "%-8s %-20s %8s", get(r, "bench"), get(r, "name"), get(r, "ops"));
		for (size_t k = 0; k < NCYCLE_KEYS; k++)
			fprintf(out, " %9s", get(r, cycle_keys[k]));
		fprintf(out, " %11s %10s %10s %10s\n", get(r, "mean"),
			ns_text(b1, sizeof(b1), r, "p50", hz, "-"),
			ns_text(b2, sizeof(b2), r, "p99", hz, "-"),
			ns_text(b3, sizeof(b3), r, "mean", hz, "-"));
	}
	if (any)
		fprintf(out, "(cycles; ns from the log's tsc_hz)\n");
}

static void table_disks(FILE *out, const struct log *log)
{
	int any = 0;

	for (size_t i = 0; i < log->nrecs; i++) {
		const struct record *r = &log->recs[i];

		if (strcmp(r->type, "disk") != 0)
			continue;
		if (!any++)
			fprintf(out, "\n%-4s %-10s %-9s %-5s %-8s %12s %6s %5s %-5s %-18s %-3s %s\n",
				"disk", "model", "transport", "irq", "bdf", "sectors", "sector",
				"qd", "label", "label_id", "ro", "wcache");
		fprintf(out, "%-4s %-10s %-9s %-5s %-8s %12s %6s %5s %-5s %-18s %-3s %s\n",
			get(r, "index"), get(r, "model"), get(r, "transport"), get(r, "irq"),
			get(r, "bdf"), get(r, "sectors"), get(r, "sector_size"),
			get(r, "queue_depth"), get(r, "label"), get(r, "label_id"),
			get(r, "read_only"), get(r, "write_cache"));
	}
}

/* The derived figures of a disk or network table row, as text ("-" when unknown). */
struct row_text {
	char rate[32], bandwidth[32], p50_us[32], p99_us[32], acc[32], irq[32];
	char completion[32]; /* irq=, with "+halt" when the guest halted for it (wait=halt) */
};

/* A figure as printed with fmt into buf, or "-". */
static void row_figure(char *buf, size_t size, int has, const char *fmt, double v)
{
	if (has)
		snprintf(buf, size, fmt, v);
	else
		snprintf(buf, size, "-");
}

static void row_text(const struct record *r, const struct result_figures *f, uint64_t hz,
		     struct row_text *t)
{
	double p50 = 0, p99 = 0;
	int has_p50 = latency_us(r, f, hz, "p50", &p50) == 0;
	int has_p99 = latency_us(r, f, hz, "p99", &p99) == 0;

	row_figure(t->rate, sizeof(t->rate), f->has_rate, "%.0f", f->rate);
	if (f->disk)
		row_figure(t->bandwidth, sizeof(t->bandwidth), f->has_mbps, "%.2f", f->mbps);
	else
		row_figure(t->bandwidth, sizeof(t->bandwidth), f->has_gbps, "%.3f", f->gbps);
	row_figure(t->p50_us, sizeof(t->p50_us), has_p50, "%.2f", p50);
	row_figure(t->p99_us, sizeof(t->p99_us), has_p99, "%.2f", p99);
	row_figure(t->acc, sizeof(t->acc), f->has_acc, "%.2f", f->acc_per_unit);
	row_figure(t->irq, sizeof(t->irq), f->has_irq, "%.2f", f->irq_per_unit);
	snprintf(t->completion, sizeof(t->completion), "%s%s", get(r, "irq"),
		 record_get(r, "wait") && !strcmp(record_get(r, "wait"), "halt") ? "+halt" : "");
}

static void table_disk_results(FILE *out, const struct log *log)
{
	uint64_t hz = log_tsc_hz(log);
	int any = 0;

	for (size_t i = 0; i < log->nrecs; i++) {
		const struct record *r = &log->recs[i];
		struct result_figures f;
		struct row_text t;

		result_figures(r, hz, &f);
		if (!f.disk)
			continue;
		row_text(r, &f, hz, &t);
		if (!any++)
			fprintf(out, "\n%-3s %-10s %-9s %-9s %-12s %7s %3s %7s %10s %9s %9s %9s %7s "
				"%6s %16s\n", "dev", "model", "transport", "irq", "rw", "bs", "qd",
				"ops", "IOPS", "MB/s", "p50_us", "p99_us", "acc/op", "irq/op",
				"harness(cyc/op)");
		fprintf(out, "%-3s %-10s %-9s %-9s %-12s %7s %3s %7s %10s %9s %9s %9s %7s %6s %16s\n",
			get(r, "dev"), get(r, "model"), get(r, "transport"), t.completion,
			get(r, "rw"), get(r, "bs"), get(r, "qd"), get(r, "ops"),
			t.rate, t.bandwidth, t.p50_us, t.p99_us, t.acc, t.irq, get(r, "harness_mean"));
	}
	if (any)
		fprintf(out, "(IOPS and MB/s over elapsed cycles, first submit to last completion; "
			"acc/op = device register accesses per op; harness = ramdisk cycles/op)\n");
	for (size_t i = 0; i < log->nrecs; i++) {
		struct result_figures f;

		result_figures(&log->recs[i], hz, &f);
		if (f.disk && f.has_drift)
			fprintf(out, "steady state: %s: the second half ran %+.1f %% against the first%s\n",
				get(&log->recs[i], "name"), f.drift_pct,
				fabs(f.drift_pct) > FIGURES_DRIFT_LIMIT_PCT ? "  DRIFT over 2 %: not "
				"steady (longer time=, or a warmup)" : "");
	}
}

static void table_nics(FILE *out, const struct log *log)
{
	int any = 0;

	for (size_t i = 0; i < log->nrecs; i++) {
		const struct record *r = &log->recs[i];

		if (strcmp(r->type, "nic") != 0)
			continue;
		if (!any++)
			fprintf(out, "\n%-3s %-14s %-12s %-5s %-8s %-17s %-4s %s\n", "nic", "model",
				"transport", "irq", "bdf", "mac", "link", "tx_slots");
		fprintf(out, "%-3s %-14s %-12s %-5s %-8s %-17s %-4s %s\n", get(r, "index"),
			get(r, "model"), get(r, "transport"), get(r, "irq"), get(r, "bdf"),
			get(r, "mac"), get(r, "link"), get(r, "tx_slots"));
	}
	for (size_t i = 0; i < log->nrecs; i++)
		if (strcmp(log->recs[i].type, "ready") == 0)
			fprintf(out, "ready: the guest listens at %s\n", get(&log->recs[i], "ip"));
}

static void table_net_results(FILE *out, const struct log *log)
{
	uint64_t hz = log_tsc_hz(log);
	int any = 0;

	for (size_t i = 0; i < log->nrecs; i++) {
		const struct record *r = &log->recs[i];
		struct result_figures f;
		struct row_text t;

		result_figures(r, hz, &f);
		if (!f.net)
			continue;
		row_text(r, &f, hz, &t);
		if (!any++)
			fprintf(out, "\n%-3s %-14s %-12s %-9s %-8s %5s %8s %10s %7s %9s %9s %7s %7s "
				"%7s %5s %7s %9s %8s\n", "dev", "model", "transport", "irq", "bench",
				"size", "frames", "frames/s", "Gbit/s", "p50_us", "p99_us", "acc/pkt",
				"irq/pkt", "rx_ok", "lost", "corrupt", "reordered", "harness");
		fprintf(out, "%-3s %-14s %-12s %-9s %-8s %5s %8s %10s %7s %9s %9s %7s %7s %7s %5s "
			"%7s %9s %8s\n", get(r, "dev"), get(r, "model"), get(r, "transport"),
			t.completion, get(r, "bench"), get(r, "size"), get(r, "frames"),
			t.rate, t.bandwidth, t.p50_us, t.p99_us, t.acc, t.irq, get(r, "rx_ok"),
			get(r, "lost"), get(r, "corrupt"), get(r, "reordered"), get(r, "harness_mean"));
		if (record_get(r, "icmp") || record_get(r, "arp"))
			fprintf(out, "    echo: arp=%s icmp=%s udp=%s other=%s\n", get(r, "arp"),
				get(r, "icmp"), get(r, "udp"), get(r, "other"));
	}
	if (any)
		fprintf(out, "(frames/s and Gbit/s over elapsed cycles; p50/p99 per frame: tx submit to "
			"completion, rr round trip, rx gap; acc/pkt = device register accesses per "
			"frame; harness = memnet cycles/frame)\n");
}

static void table_skips_errors(FILE *out, const struct log *log)
{
	for (size_t i = 0; i < log->nrecs; i++) {
		const struct record *r = &log->recs[i];

		if (strcmp(r->type, "result") == 0 && strcmp(get(r, "stopped"), "cap") == 0) {
			fprintf(out, "note:  %s/%s: stopped at its sample cap (%s ops) before time= "
				"ended: its figures cover less than time=\n", get(r, "bench"),
				get(r, "name"), get(r, "ops"));
		} else if (strcmp(r->type, "skip") == 0) {
			fprintf(out, "skip:  %s/%s: %s\n", get(r, "bench"), get(r, "name"),
				get(r, "reason"));
		} else if (strcmp(r->type, "error") == 0) {
			int exception = strcmp(get(r, "code"), "exception") == 0;

			fprintf(out, "error: %s: %s", get(r, "code"), get(r, "msg"));
			for (int f = 0; f < r->nfields; f++) {
				const char *k = r->fields[f].key;

				if (!strcmp(k, "seq") || !strcmp(k, "crc") || !strcmp(k, "code") ||
				    !strcmp(k, "msg"))
					continue;
				/* An exception's registers are in the log; show the essentials. */
				if (exception && strcmp(k, "vector") && strcmp(k, "name") &&
				    strcmp(k, "err") && strcmp(k, "rip") && strcmp(k, "cr2"))
					continue;
				fprintf(out, " %s=%s", k, r->fields[f].value);
			}
			fputc('\n', out);
		} else if (strcmp(r->type, "timeout") == 0) {
			fprintf(out, "timeout: guest watchdog after %s s at rip=%s\n",
				get(r, "after_s"), get(r, "rip"));
		}
	}
}

void report_table(FILE *out, const struct log *log, const struct report_launch *launch)
{
	const struct record *end = log_find(log, "end", NULL, NULL);

	table_header(out, log, launch);
	table_options(out, log);
	table_pci(out, log);
	table_disks(out, log);
	table_results(out, log);
	table_disk_results(out, log);
	table_nics(out, log);
	table_net_results(out, log);
	fputc('\n', out);
	table_skips_errors(out, log);
	if (launch && launch->tap_cmd) {
		if (launch->tap_status == -1)
			fprintf(out, "tap-cmd: not run (no ready record): %s\n", launch->tap_cmd);
		else
			fprintf(out, "tap-cmd: %s: %s %d\n", launch->tap_cmd,
				launch->tap_status == -2 ? "killed," : "exit", launch->tap_status);
		for (const char *l = launch->tap_output; l && *l;) {
			size_t n = strcspn(l, "\n");

			fprintf(out, "  | %.*s\n", (int)n, l);
			l += n + (l[n] == '\n');
		}
	}
	if (end)
		fprintf(out, "end:   status=%s records=%s\n", get(end, "status"),
			get(end, "records"));
	else
		fprintf(out, "end:   (missing)\n");
	if (log->err[0])
		fprintf(out, "check: line %d: %s (exit %d)\n", log->err_line, log->err,
			log->status);
	else
		fprintf(out, "check: ok\n");
	fputc('\n', out);
}

/* ---- CSV --------------------------------------------------------------------------------- */

void report_csv_header(FILE *out, const struct report_launch *launch)
{
	fputs("log,boot,accel,tsc_hz,tsc_method,bench,name,ops,total,min,p50,p90,p99,p999,max,"
	      "mean,p50_ns,p99_ns,mean_ns", out);
	if (launch)
		fputs(",launch_accel,launch_flavour,host_tsc_hz,launch_iothread", out);
	/* bench=disk columns: empty for other results */
	fputs(",dev,model,transport,irq,wait,rw,bs,qd,bytes,elapsed,pio_r,pio_w,mmio_r,mmio_w,irqs,"
	      "ticks,harness_mean,flushes,verify,iops,mbps,acc_per_op,irq_per_op", out);
	/* bench=net-* columns (dev..harness_mean above are filled for them too) */
	fputs(",rxdev,size,burst,frames,sent,rx,rx_ok,lost,corrupt,reordered,dup,foreign,missed,"
	      "arp,icmp,udp,other,frames_per_s,gbit_per_s,acc_per_pkt,irq_per_pkt", out);
	if (launch)
		fputs(",peer_rx,peer_rx_ok,peer_rx_corrupt,peer_tx", out);
	fputc('\n', out);
}

static void csv_disk_fields(FILE *out, const struct record *r, const struct result_figures *f)
{
	static const char *const keys[] = { "dev", "model", "transport", "irq", "wait", "rw", "bs",
					    "qd", "bytes", "elapsed", "pio_r", "pio_w", "mmio_r",
					    "mmio_w", "irqs", "ticks", "harness_mean", "flushes",
					    "verify" };
	char b[32];

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const char *v = f->disk || f->net ? record_get(r, keys[k]) : NULL;

		csv_field(out, v ? v : "", 0);
	}
	if (!f->disk) {
		fputs(",,,,", out);
		return;
	}
	csv_field(out, fmt_fig(b, sizeof(b), f->has_rate, "%.1f", f->rate, ""), 0);
	csv_field(out, fmt_fig(b, sizeof(b), f->has_mbps, "%.3f", f->mbps, ""), 0);
	csv_field(out, fmt_fig(b, sizeof(b), f->has_acc, "%.3f", f->acc_per_unit, ""), 0);
	csv_field(out, fmt_fig(b, sizeof(b), f->has_irq, "%.3f", f->irq_per_unit, ""), 0);
}

static const struct peer_stats *peer_of(const struct record *r,
					const struct report_launch *launch)
{
	const char *dev = record_get(r, "dev");

	for (int k = 0; launch && dev && k < launch->npeers; k++)
		if (launch->peers[k].valid && launch->peers[k].dev == atoi(dev))
			return &launch->peers[k];
	return NULL;
}

static void csv_net_fields(FILE *out, const struct record *r, const struct result_figures *f,
			   const struct report_launch *launch)
{
	static const char *const keys[] = { "rxdev", "size", "burst", "frames", "sent", "rx",
					    "rx_ok", "lost", "corrupt", "reordered", "dup",
					    "foreign", "missed", "arp", "icmp", "udp", "other" };
	const struct peer_stats *p = f->net ? peer_of(r, launch) : NULL;
	char b[32];

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		const char *v = f->net ? record_get(r, keys[k]) : NULL;

		csv_field(out, v ? v : "", 0);
	}
	csv_field(out, fmt_fig(b, sizeof(b), f->net && f->has_rate, "%.1f", f->rate, ""), 0);
	csv_field(out, fmt_fig(b, sizeof(b), f->has_gbps, "%.4f", f->gbps, ""), 0);
	csv_field(out, fmt_fig(b, sizeof(b), f->net && f->has_acc, "%.3f", f->acc_per_unit, ""), 0);
	csv_field(out, fmt_fig(b, sizeof(b), f->net && f->has_irq, "%.3f", f->irq_per_unit, ""), 0);
	if (!launch)
		return;
	if (!p) {
		fputs(",,,,", out);
		return;
	}
	fprintf(out, ",%llu,%llu,%llu,%llu", (unsigned long long)p->rx,
		(unsigned long long)p->rx_ok, (unsigned long long)p->rx_corrupt,
		(unsigned long long)p->tx);
}

void report_csv_rows(FILE *out, const struct log *log, const struct report_launch *launch)
{
	const struct record *h = log_find(log, "hello", NULL, NULL);
	uint64_t hz = log_tsc_hz(log);

	for (size_t i = 0; i < log->nrecs; i++) {
		const struct record *r = &log->recs[i];
		static const char *const keys[] = { "bench", "name", "ops", "total", "min", "p50",
						    "p90", "p99", "p999", "max", "mean" };
		struct result_figures f;
		char b[32];

		if (strcmp(r->type, "result") != 0)
			continue;
		csv_field(out, log->name, 1);
		csv_field(out, h ? get(h, "boot") : "", 0);
		csv_field(out, h ? get(h, "accel") : "", 0);
		csv_field(out, h ? get(h, "tsc_hz") : "", 0);
		csv_field(out, h ? get(h, "tsc_method") : "", 0);
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			csv_field(out, get(r, keys[k]), 0);
		csv_field(out, ns_text(b, sizeof(b), r, "p50", hz, ""), 0);
		csv_field(out, ns_text(b, sizeof(b), r, "p99", hz, ""), 0);
		csv_field(out, ns_text(b, sizeof(b), r, "mean", hz, ""), 0);
		if (launch) {
			csv_field(out, launch->accel, 0);
			csv_field(out, launch->accel_label, 0);
			fprintf(out, ",%llu", (unsigned long long)launch->host_tsc_hz);
			csv_field(out, launch->iothread, 0);
		}
		result_figures(r, hz, &f);
		csv_disk_fields(out, r, &f);
		csv_net_fields(out, r, &f, launch);
		fputc('\n', out);
	}
}

/* ---- JSON -------------------------------------------------------------------------------- */

/* Cycle counts and a few counters go out as numbers; everything else as strings. */
static int json_numeric_key(const char *key)
{
	static const char *const keys[] = { "seq", "records", "ops", "total", "min", "p50",
					    "p90", "p99", "p999", "max", "mean", "tsc_hz",
					    "ts_cost", "index", "sectors", "sector_size",
					    "queue_depth", "max_sectors", "read_only", "dev", "bs",
					    "qd", "bytes", "elapsed", "pio_r", "pio_w", "mmio_r",
					    "mmio_w", "irqs", "harness_mean", "flushes", "rxdev",
					    "size", "burst", "frames", "sent", "rx", "rx_ok", "lost",
					    "corrupt", "reordered", "dup", "foreign", "missed", "arp",
					    "icmp", "udp", "other", "tx_slots" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(key, keys[i]) == 0)
			return 1;
	return 0;
}

static void json_record(FILE *out, const struct record *r, uint64_t hz)
{
	struct result_figures fig;
	char b[4][32];
	int first = 1;

	fputc('{', out);
	for (int f = 0; f < r->nfields; f++) {
		const struct field *fl = &r->fields[f];

		if (strcmp(fl->key, "crc") == 0)
			continue;
		if (!first)
			fputc(',', out);
		first = 0;
		json_write_string(out, fl->key);
		fputc(':', out);
		if (json_numeric_key(fl->key) && json_is_number_text(fl->value))
			fputs(fl->value, out);
		else
			json_write_string(out, fl->value);
	}
	if (strcmp(r->type, "result") == 0) {
		static const char *const keys[] = { "p50", "p99", "mean" };

		for (size_t k = 0; k < 3; k++) {
			char b[32];
			const char *ns = ns_text(b, sizeof(b), r, keys[k], hz, NULL);

			fprintf(out, ",\"%s_ns\":%s", keys[k], ns ? ns : "null");
		}
	}
	result_figures(r, hz, &fig);
	if (fig.disk)
		fprintf(out, ",\"iops\":%s,\"mbps\":%s,\"acc_per_op\":%s,\"irq_per_op\":%s",
			fmt_fig(b[0], 32, fig.has_rate, "%.1f", fig.rate, "null"),
			fmt_fig(b[1], 32, fig.has_mbps, "%.3f", fig.mbps, "null"),
			fmt_fig(b[2], 32, fig.has_acc, "%.3f", fig.acc_per_unit, "null"),
			fmt_fig(b[3], 32, fig.has_irq, "%.3f", fig.irq_per_unit, "null"));
	if (fig.net)
		fprintf(out, ",\"frames_per_s\":%s,\"gbit_per_s\":%s,\"acc_per_pkt\":%s,"
			"\"irq_per_pkt\":%s",
			fmt_fig(b[0], 32, fig.has_rate, "%.1f", fig.rate, "null"),
			fmt_fig(b[1], 32, fig.has_gbps, "%.4f", fig.gbps, "null"),
			fmt_fig(b[2], 32, fig.has_acc, "%.3f", fig.acc_per_unit, "null"),
			fmt_fig(b[3], 32, fig.has_irq, "%.3f", fig.irq_per_unit, "null"));
	fputc('}', out);
}

static void json_list(FILE *out, const struct log *log, const char *type, uint64_t hz)
{
	int first = 1;

	fputc('[', out);
	for (size_t i = 0; i < log->nrecs; i++) {
		if (strcmp(log->recs[i].type, type) != 0)
			continue;
		if (!first)
			fputc(',', out);
		first = 0;
		json_record(out, &log->recs[i], hz);
	}
	fputc(']', out);
}

static void json_single(FILE *out, const struct log *log, const char *type, uint64_t hz)
{
	const struct record *r = log_find(log, type, NULL, NULL);

	if (r)
		json_record(out, r, hz);
	else
		fputs("null", out);
}

/* ,"pin":{"applied":true,"vcpu_cpu":0,"other_cpus":"1","threads":[{"tid","name","kind",
 * "cpus","error"},...]} */
static void json_pin(FILE *out, const struct pin_outcome *o)
{
	char vcpu[16], rest[256];

	snprintf(vcpu, sizeof(vcpu), "%d", o->cpus.cpu[0]);
	pin_cpus_text(&o->cpus, o->cpus.n > 1 ? 1 : 0, rest, sizeof(rest));
	fprintf(out, ",\"pin\":{\"applied\":%s,\"why\":", o->applied ? "true" : "false");
	json_write_string(out, o->why);
	fputs(",\"vcpu_cpus\":", out);
	json_write_string(out, vcpu);
	fputs(",\"other_cpus\":", out);
	json_write_string(out, rest);
	fputs(",\"threads\":[", out);
	for (int i = 0; i < o->nthreads; i++) {
		const struct pin_thread *t = &o->thread[i];

		fprintf(out, "%s{\"tid\":%d,\"name\":", i ? "," : "", t->tid);
		json_write_string(out, t->name);
		fputs(",\"kind\":", out);
		json_write_string(out, pin_kind_name(t->kind));
		fputs(",\"cpus\":", out);
		json_write_string(out, t->kind == PIN_VCPU ? vcpu : rest);
		fputs(",\"error\":", out);
		if (t->err)
			json_write_string(out, pin_error_text(t->err));
		else
			fputs("null", out);
		fputc('}', out);
	}
	fputs("]}", out);
}

static void json_log(FILE *out, const struct log *log, const struct report_launch *launch)
{
	uint64_t hz = log_tsc_hz(log);

	fputs("{\"file\":", out);
	json_write_string(out, log->name);
	fprintf(out, ",\"status\":%d,\"error\":", log->status);
	if (log->err[0])
		json_write_string(out, log->err);
	else
		fputs("null", out);
	fprintf(out, ",\"error_line\":%d", log->err_line);
	if (launch) {
		fputs(",\"launch\":{\"firmware\":", out);
		json_write_string(out, launch->firmware);
		fputs(",\"machine\":", out);
		json_write_string(out, launch->machine);
		fputs(",\"accel\":", out);
		json_write_string(out, launch->accel);
		fputs(",\"flavour\":", out);
		json_write_string(out, launch->accel_label);
		fputs(",\"accel_why\":", out);
		json_write_string(out, launch->accel_why);
		fprintf(out, ",\"host_tsc_hz\":%llu,\"host_tsc_method\":",
			(unsigned long long)launch->host_tsc_hz);
		json_write_string(out, launch->host_tsc_method ? launch->host_tsc_method : "");
		fputs(",\"iothread\":[", out);
		for (const char *p = launch->iothread; *p;) {
			size_t n = strcspn(p, ",");
			char one[64];

			snprintf(one, sizeof(one), "%.*s", (int)n, p);
			if (p != launch->iothread)
				fputc(',', out);
			json_write_string(out, one);
			p += n + (p[n] == ',');
		}
		fputc(']', out);
		fprintf(out, ",\"qemu_exit\":%d", launch->qemu_exit);
		if (launch->first_record_s >= 0)
			fprintf(out, ",\"first_record_ms\":%.1f", launch->first_record_s * 1e3);
		else
			fputs(",\"first_record_ms\":null", out);
		fprintf(out, ",\"wall_ms\":%.1f", launch->wall_s * 1e3);
		fputs(",\"peers\":[", out);
		for (int k = 0; k < launch->npeers; k++) {
			const struct peer_stats *p = &launch->peers[k];

			fprintf(out, "%s{\"dev\":%d", k ? "," : "", p->dev);
			if (p->valid)
				fprintf(out, ",\"mode\":\"%s\",\"rx\":%llu,\"rx_ok\":%llu,"
					"\"rx_corrupt\":%llu,\"rx_foreign\":%llu,\"tx\":%llu,"
					"\"dropped_on_purpose\":%llu,\"corrupted_on_purpose\":%llu,"
					"\"tx_failed\":%llu}", peer_mode_name(p->mode),
					(unsigned long long)p->rx, (unsigned long long)p->rx_ok,
					(unsigned long long)p->rx_corrupt,
					(unsigned long long)p->rx_foreign, (unsigned long long)p->tx,
					(unsigned long long)p->dropped,
					(unsigned long long)p->corrupted,
					(unsigned long long)p->tx_failed);
			else
				fputs(",\"mode\":null}", out);
		}
		fputc(']', out);
		if (launch->pin)
			json_pin(out, launch->pin);
		if (launch->tap_cmd) {
			fputs(",\"tap_cmd\":{\"cmd\":", out);
			json_write_string(out, launch->tap_cmd);
			fprintf(out, ",\"status\":%d,\"output\":", launch->tap_status);
			json_write_string(out, launch->tap_output);
			fputc('}', out);
		}
		fputc('}', out);
	}
	fputs(",\"hello\":", out);
	json_single(out, log, "hello", hz);
	fputs(",\"options\":", out);
	json_list(out, log, "option", hz);
	fputs(",\"pci\":", out);
	json_list(out, log, "pci", hz);
	fputs(",\"disks\":", out);
	json_list(out, log, "disk", hz);
	fputs(",\"nics\":", out);
	json_list(out, log, "nic", hz);
	fputs(",\"ready\":", out);
	json_single(out, log, "ready", hz);
	fputs(",\"results\":", out);
	json_list(out, log, "result", hz);
	fputs(",\"skips\":", out);
	json_list(out, log, "skip", hz);
	fputs(",\"errors\":", out);
	json_list(out, log, "error", hz);
	fputs(",\"timeout\":", out);
	json_single(out, log, "timeout", hz);
	fputs(",\"end\":", out);
	json_single(out, log, "end", hz);
	fputc('}', out);
}

void report_json(FILE *out, const struct log *logs, size_t nlogs,
		 const struct report_launch *launch)
{
	fputs("{\"logs\":[", out);
	for (size_t i = 0; i < nlogs; i++) {
		if (i)
			fputs(",\n", out);
		json_log(out, &logs[i], launch);
	}
	fputs("]}\n", out);
}
