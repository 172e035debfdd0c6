/* `kvmio run JOB.ini`: run a job's matrix, keep every run, write results.csv/json (docs/run.md). */
#ifndef KVMIO_HOST_MATRIX_RUN_H
#define KVMIO_HOST_MATRIX_RUN_H
#include <stdio.h>
#include <sys/types.h>
#include "matrix/job.h"

/*
 * The order of the runs. interleave (the default): configurations that differ only in the
 * A/B keys (qemu, disk_props, net_props) take turns, repeat by repeat (A1 B1 A2 B2 ...), so a
 * drift of the machine hits both sides alike; grouped: every repeat of a configuration, then
 * the next (configurations in matrix order either way).
 */
enum run_order { RUN_ORDER_INTERLEAVE, RUN_ORDER_GROUPED };

struct run_step {
	int cfg, repeat;
};

/* 1 for a key whose values an A/B pair differs in (qemu, disk_props, net_props). */
int run_ab_key(const char *key);

/* The plan: every repeat 1..cfg.repeat of every configuration that is not skipped, in order,
 * into plan (room for all). The number of steps. */
int run_plan(const struct job_matrix *m, enum run_order order, struct run_step *plan);

/* Start repeat `repeat` of c as a child `kvmio boot` (resultdir_run_begin first: cmd.txt, the
 * flavour, the host's TSC), with pin ("--pin=CPUS") and connect ("--connect[=URI]") when not
 * NULL; its pid, or -1 with errno. */
pid_t run_start(const char *exe, const char *dir, const struct job_config *c, int repeat,
		const char *pin, const char *connect);
/* A kvmio exit code in words: "ok", "timeout", "host lost", ... */
const char *run_exit_word(int code);

/* The subcommand (argv after "run"); exit 0, 1 (some run failed), 2 usage/job, 130 Ctrl-C. */
int cmd_run(int argc, char **argv);

#endif
