/* Printing checked logs: a readable table, CSV, or one JSON document; `kvmio parse`. */
#ifndef KVMIO_HOST_ANALYSIS_REPORT_H
#define KVMIO_HOST_ANALYSIS_REPORT_H
#include <stdint.h>
#include <stdio.h>
#include "boot/peer.h"
#include "boot/pin.h"
#include "proto/proto.h"

/* How `kvmio boot` ran QEMU; NULL in reports of `kvmio parse`. */
struct report_launch {
	const char *firmware;   /* bios, uefi, pvh */
	const char *machine;    /* pc, q35, microvm */
	const char *accel;      /* kvm or tcg: what QEMU was started with */
	const char *accel_label;/* its flavour: "tcg", "kvm (kvm_amd, hardware SVM, bare metal)" */
	const char *accel_why;  /* why that accelerator ("auto: tcg, because ...") */
	const char *iothread;   /* each disk's iothread setting in --disk order, comma-separated
				 * (on, off: QEMU's main loop, NAME); "" without disks */
	int qemu_exit;          /* QEMU's exit status, -1 if killed or not run */
	double first_record_s;  /* QEMU start to the first record; < 0: none */
	double wall_s;          /* QEMU start to exit */
	const struct peer_stats *peers; /* topology=peer: one per peer NIC (--net) */
	int npeers;
	const char *tap_cmd;    /* --tap-cmd, or NULL */
	int tap_status;         /* its exit status; -1: not run (no ready record), -2: killed */
	const char *tap_output; /* its stdout and stderr */
	const struct pin_outcome *pin; /* --pin: what was pinned where; NULL without --pin */
	uint64_t host_tsc_hz;   /* this host's TSC frequency, 0 if unknown (boot/hostinfo.h) */
	const char *host_tsc_method; /* sysfs or monotonic_raw */
};

enum report_format { REPORT_TABLE, REPORT_CSV, REPORT_JSON };

/* Logs in one format on stdout: a table per log, one CSV, or one JSON document. */
void report_print(const struct log *logs, size_t n, enum report_format format,
		  const struct report_launch *launch);

void report_table(FILE *out, const struct log *log, const struct report_launch *launch);

/* CSV: one header line, then one row per result record of each log. */
void report_csv_header(FILE *out, const struct report_launch *launch);
void report_csv_rows(FILE *out, const struct log *log, const struct report_launch *launch);

/* JSON: {"logs":[...]} for all logs at once. */
void report_json(FILE *out, const struct log *logs, size_t nlogs,
		 const struct report_launch *launch);

/* `kvmio parse [--csv|--json] LOG...` (argv after "parse"): exit status of the worst log. */
int cmd_parse(int argc, char **argv);

#endif
