/*
 * `kvmio run --until-cv PCT --max-repeat N` (docs/run.md): after its configured repeats, a
 * configuration runs again, one more run per round and every configuration in turn, until the
 * coefficient of variation of its primary metric is at most PCT percent, or it has N runs.
 */
#ifndef KVMIO_HOST_MATRIX_REPEAT_H
#define KVMIO_HOST_MATRIX_REPEAT_H
#include <stddef.h>
#include "proto/proto.h"

struct repeat_goal {
	double cv_pct;          /* the target: CV at most this, in percent */
	int max_repeat;         /* runs of a configuration at most */
};

enum repeat_verdict {
	REPEAT_MORE,            /* above the target (or fewer than 2 values) and runs to spare */
	REPEAT_STABLE,          /* the CV is at most the target */
	REPEAT_MAX,             /* above the target, max_repeat runs reached */
};

/* Where a configuration stands. */
struct repeat_state {
	int runs;               /* runs so far, failed ones included (they are repeats 1..runs) */
	size_t nvalues;         /* of them with a primary value (exit 0) */
	double cv;              /* the CV of those values, a fraction; NAN below 2 values */
	enum repeat_verdict verdict;
};

/* The decision for `runs` runs whose primary values (runs that exited 0) are values[0..n):
 * their CV (stats_cv) into *cv, and whether to run again. Pure. */
enum repeat_verdict repeat_decide(const double *values, size_t n, int runs,
				  const struct repeat_goal *goal, double *cv);

/* The primary value of a run's log: the primary metric (metric_primary: IOPS for disks,
 * frames/s for net-tx and net-rx, else p50 cycles) of its first result record. 0, or -1 when it
 * has none. */
int repeat_primary_value(const struct log *log, double *value);

/* "reached", "not reached" or "more runs". */
const char *repeat_verdict_text(enum repeat_verdict v);

#endif
