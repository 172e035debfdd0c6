/* `kvmio run JOB.ini`: run a job's matrix, keep every run, write results.csv/json (docs/run.md). */
#ifndef KVMIO_HOST_MATRIX_RUN_H
#define KVMIO_HOST_MATRIX_RUN_H
#include <stdio.h>
#include "matrix/job.h"

/* The subcommand (argv after "run"); exit 0, 1 (some run failed), 2 usage/job, 130 Ctrl-C. */
int cmd_run(int argc, char **argv);

#endif
