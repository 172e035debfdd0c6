/* `kvmio run --until-cv`: when a configuration has run often enough (repeat.h). */
#include <math.h>
#include <string.h>
#include "analysis/metric.h"
#include "analysis/stats.h"
#include "matrix/repeat.h"
#include "proto/figures.h"

enum repeat_verdict repeat_decide(const double *values, size_t n, int runs,
				  const struct repeat_goal *goal, double *cv)
{
	*cv = stats_cv(values, n);
	if (!isnan(*cv) && 100 * *cv <= goal->cv_pct)
		return REPEAT_STABLE;
	return runs >= goal->max_repeat ? REPEAT_MAX : REPEAT_MORE;
}

int repeat_primary_value(const struct log *log, double *value)
{
	const struct record *r = log_find(log, "result", NULL, NULL);
	const char *bench = r ? record_get(r, "bench") : NULL;
	struct result_figures f;

	if (!bench)
		return -1;
	switch (metric_primary(bench)) {
	case METRIC_IOPS:
	case METRIC_FRAMES_S:
		result_figures(r, log_tsc_hz(log), &f);
		if (!f.has_rate)
			return -1;
		*value = f.rate;
		return 0;
	default:
		return record_get_number(r, "p50", value) == 0 ? 0 : -1;
	}
}

const char *repeat_verdict_text(enum repeat_verdict v)
{
	switch (v) {
	case REPEAT_MORE: return "more runs";
	case REPEAT_STABLE: return "reached";
	case REPEAT_MAX: return "not reached";
	}
	return "?";
}
