/*
 * The result directory of `kvmio run` (docs/run.md). This is the only code that reads or
 * writes one: `kvmio run` writes it, `kvmio compare` and `kvmio report` load it.
 *
 *   DIR/job.ini                         the job file, as given
 *   DIR/matrix.tsv                      ID, run|skip, reason ("-" if none), params
 *   DIR/results.csv, DIR/results.json   every result record of every finished run
 *   DIR/images/FORMAT-SIZE.img          disk images made once (backend=file)
 *   DIR/runs/ID/rN/{serial.log,cmd.txt,flavour,host_tsc_hz,host,stdout.txt,stderr.txt,exit}
 *                                       repeat N of configuration ID; exit is written last;
 *                                       host: the --hosts name that ran it (else none: local)
 *   DIR/hosts/NAME.json                 kvmio run --hosts: a host's facts, its state
 *   DIR/report.html, DIR/summary.txt    written by kvmio report
 */
#ifndef KVMIO_HOST_MATRIX_RESULTDIR_H
#define KVMIO_HOST_MATRIX_RESULTDIR_H
#include <stddef.h>
#include "boot/libvirt.h"
#include "matrix/job.h"
#include "matrix/repeat.h"
#include "proto/proto.h"

/* The files of one run (resultdir_run_path). */
#define RESULTDIR_RUN_LOG "serial.log"
#define RESULTDIR_RUN_CMD "cmd.txt"
#define RESULTDIR_RUN_FLAVOUR "flavour"
#define RESULTDIR_RUN_HOST_TSC "host_tsc_hz"   /* "HZ METHOD": the host's TSC, beside the guest's */
#define RESULTDIR_RUN_HOST_NOISE "host_noise"  /* "LOST_PCT WORK_NS": the noise probe before the
						* run, then a line per CPU (boot/noise.h) */
#define RESULTDIR_RUN_HOST_STORAGE "host_storage" /* "MEDIAN_NS": the storage probe of the run's
						   * image before the run (boot/storage.h) */
#define RESULTDIR_RUN_STDOUT "stdout.txt"
#define RESULTDIR_RUN_STDERR "stderr.txt"
#define RESULTDIR_RUN_EXIT "exit"
#define RESULTDIR_RUN_HOST "host"         /* kvmio run --hosts: the host's name */

/* The host of a run without a RESULTDIR_RUN_HOST file (no --hosts): this machine. */
#define RESULTDIR_LOCAL_HOST "local"

/* What kvmio report writes (by default) into DIR. */
#define RESULTDIR_REPORT_HTML "report.html"
#define RESULTDIR_SUMMARY "summary.txt"

/* ---- writing: kvmio run ------------------------------------------------------------------ */

/*
 * Take DIR for the job file at job_path: a directory without job.ini gets a copy of it, runs/
 * and images/; with resume, one that holds the same job is taken as it is. 0, or an exit code
 * with the one-line reason in err (KVMIO_EXIT_BADCONFIG: it holds a run, or another job).
 */
int resultdir_claim(const char *dir, const char *job_path, int resume, char *err,
		    size_t errlen);

/* DIR/matrix.tsv of the expanded job. 0, or -1. */
int resultdir_write_matrix(const char *dir, const struct job_matrix *m);

/* DIR/images/FORMAT-SIZE.img (malloc'd): where the runner makes an image. */
char *resultdir_image_path(const char *dir, const char *format, const char *size);

/* DIR/runs/ID/rN/NAME into buf. */
void resultdir_run_path(const char *dir, const char *id, int repeat, const char *name, char *buf,
			size_t len);

/* Before repeat N of c starts: runs/ID/rN made, its exit and serial.log removed, its flavour,
 * the host's TSC frequency and how it was found (no file when host_tsc_hz is 0) and cmd.txt
 * (cmd_text) written. 0, or -1 with errno. */
int resultdir_run_begin(const char *dir, const struct job_config *c, int repeat,
			const char *cmd_text, uint64_t host_tsc_hz, const char *host_tsc_method);
/* A run ended with kvmio exit code `code`: its exit file, written last. 0, or -1. */
int resultdir_run_end(const char *dir, const char *id, int repeat, int code);
/* The exit code of a finished run; -1 while it has none. */
int resultdir_run_exit(const char *dir, const char *id, int repeat);
/* Why a run failed: the last "kvmio: " line of its stderr.txt (malloc'd; "" if none). */
char *resultdir_run_failure(const char *dir, const char *id, int repeat);
/* The host's TSC frequency recorded for a run; 0 when none was. */
uint64_t resultdir_run_host_tsc(const char *dir, const char *id, int repeat);
/* The noise probe taken before a run: the mean share of the CPUs lost, percent, and the mean
 * ns per block of work (boot/noise.h; NAN: none), then `detail` (one line per CPU). 0, or -1. */
int resultdir_run_host_noise_write(const char *dir, const char *id, int repeat, double lost_pct,
				   double work_ns, const char *detail);
/* That share; NAN when no probe was taken. */
double resultdir_run_host_noise(const char *dir, const char *id, int repeat);
/* That work time; NAN when no probe (or one from before kvmio measured it) was taken. */
double resultdir_run_host_work(const char *dir, const char *id, int repeat);
/* The storage probe of the run's image taken before a run: the median read, ns, then `detail`.
 * 0, or -1. */
int resultdir_run_host_storage_write(const char *dir, const char *id, int repeat,
				     double median_ns, const char *detail);
/* That median; NAN when no probe was taken (a run without an image the runner made). */
double resultdir_run_host_storage(const char *dir, const char *id, int repeat);

/* DIR/results.csv and DIR/results.json from every finished run's serial.log. With --until-cv
 * (goal and until, one state per configuration; else both NULL) results.json says per
 * configuration how many repeats it took and whether it reached the target. 0, or -1. */
int resultdir_write_results(const char *dir, const char *job_name, const struct job_matrix *m,
			    const struct repeat_goal *goal, const struct repeat_state *until);

/* kvmio run --hosts: the host that runs repeat N of id (runs/ID/rN/host, after
 * resultdir_run_begin). 0, or -1. */
int resultdir_run_set_host(const char *dir, const char *id, int repeat, const char *name);

/* A host's record, DIR/hosts/NAME.json (NAME with every byte but [A-Za-z0-9._-] as '_'):
 * its URI, state ("up", "dead"), the libvirt error that made it dead ("" if none) and its facts
 * (f NULL: none known). Replaces an earlier one of that name. 0, or -1. */
int resultdir_write_host(const char *dir, const char *name, const char *uri, const char *state,
			 const char *error, const struct libvirt_facts *f);
/* The file name of a host's record (hosts/FILE.json) into buf. */
void resultdir_host_file(const char *name, char *buf, size_t len);

/* ---- reading: kvmio compare, kvmio report ------------------------------------------------- */

struct resultdir_config {
	char *id, *status, *reason, *params;  /* matrix.tsv; status "run" or "skip" */
	int skip;
	int nkv;
	char **keys, **vals;                  /* params split at ';' and '=' */
	char *flavours;                       /* accelerator flavours of its rows, " | " between;
					       * NULL if results.csv has no flavour column */
	char *run_id;                         /* its directory under runs/: id, or the id
					       * before "@HOST" (split by host, below) */
};

/* A host of the rows (results.csv's host column) or of DIR/hosts/: its record (NULL fields
 * when it has none) and what it ran. */
struct resultdir_host {
	char *name, *uri, *state, *error, *hostname, *flavour, *cpu, *qemu_version,
	     *libvirt_version, *local_flavour;
	int nruns, nruns_failed;              /* finished runs with rows, of them exit != 0 */
	int nrows;
};

/* One results.csv row. */
struct resultdir_row {
	int line;                             /* in results.csv */
	int cfg;                              /* index into the configurations */
	int repeat;                           /* 0 when there is no repeat column */
	int ok;                               /* exit is 0 */
	char **field;                         /* one per column (into the loaded text) */
};

/* A finished run that has rows, in the order of its first row. */
struct resultdir_run {
	int cfg, repeat;
};

struct resultdir {
	char *dir;
	int has_matrix;                       /* 0: configurations come from results.csv */
	struct resultdir_config *cfg;
	int ncfg;
	char *csv_path, *csv_text;
	char **column;                        /* results.csv header */
	int ncolumns;
	struct resultdir_row *row;
	int nrows, nrows_failed;              /* rows; of them from runs with exit != 0 */
	struct resultdir_run *run;
	int nruns;
	char *flavours;                       /* all rows' flavours, " | " between; NULL if none */
	int nflavours;
	/* Hosts (kvmio run --hosts). When the rows come from more than one host, host is a
	 * configuration axis: each configuration is one per host that ran it, "ID@HOST" with the
	 * parameter host=HOST (run_id stays ID), so compare and report group by host. */
	struct resultdir_host *hosts;
	int nhosts;
};

enum resultdir_matrix { RESULTDIR_MATRIX_OPTIONAL, RESULTDIR_MATRIX_REQUIRED };

/*
 * Load DIR/matrix.tsv (without it, when optional, each configuration of results.csv is taken
 * as run) and DIR/results.csv. 0, or KVMIO_EXIT_BADCONFIG (missing or malformed: FILE:LINE in
 * err) or KVMIO_EXIT_IO.
 */
int resultdir_load(const char *dir, enum resultdir_matrix matrix, struct resultdir *rd,
		   char *err, size_t errlen);
void resultdir_free(struct resultdir *rd);

int resultdir_config_index(const struct resultdir *rd, const char *id);  /* -1 if unknown */
const char *resultdir_param(const struct resultdir_config *c, const char *key); /* NULL: absent */
int resultdir_column(const struct resultdir *rd, const char *name);        /* -1 if absent */

/* The QEMU binaries of the rows (results.csv's qemu, qemu_version, qemu_build): "LABEL = PATH:
 * VERSION, build sha256:HEX", "; " between (malloc'd), or NULL without those columns. */
char *resultdir_qemu_binaries(const struct resultdir *rd);

/* Parse the serial.log of a run (log_parse_file: a failed run's log still has its results). */
int resultdir_run_log(const struct resultdir *rd, const struct resultdir_run *run,
		      struct log *log);

#endif
