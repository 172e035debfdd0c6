/* The host's own noise on its CPUs (noise.h). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <time.h>
#include "analysis/stats.h"
#include "boot/noise.h"
#include "lib/clock.h"
#include "kvmio_proto.h"

const uint64_t noise_bucket_limit_ns[NOISE_BUCKETS] = { 100000, 1000000, 4000000, 16000000,
							UINT64_MAX };
const char *const noise_bucket_name[NOISE_BUCKETS] = { "10-100 us", "0.1-1 ms", "1-4 ms",
						       "4-16 ms", "over 16 ms" };

void noise_account(struct noise *n, uint64_t gap_ns)
{
	if (gap_ns <= NOISE_GAP_NS)
		return;
	n->gaps++;
	n->lost_ns += gap_ns;
	if (gap_ns > n->max_gap_ns)
		n->max_gap_ns = gap_ns;
	for (int b = 0; b < NOISE_BUCKETS; b++)
		if (gap_ns <= noise_bucket_limit_ns[b]) {
			n->hist[b]++;
			break;
		}
}

double noise_lost_pct(const struct noise *n)
{
	return n->span_ns ? 100.0 * (double)n->lost_ns / (double)n->span_ns : 0;
}

double noise_mean_lost_pct(const struct noise *probes, int n)
{
	double sum = 0;

	for (int i = 0; i < n; i++)
		sum += noise_lost_pct(&probes[i]);
	return n > 0 ? sum / n : 0;
}

double noise_work_ns(const struct noise *n)
{
	if (n->nwindows > 0)
		return stats_median(n->window_work_ns, (size_t)(n->nwindows < NOISE_WORK_WINDOWS ?
								n->nwindows : NOISE_WORK_WINDOWS));
	if (!n->blocks || n->lost_ns > n->span_ns)
		return NAN;
	return (double)(n->span_ns - n->lost_ns) / (double)n->blocks;
}

double noise_mean_work_ns(const struct noise *probes, int n)
{
	double sum = 0;
	int k = 0;

	for (int i = 0; i < n; i++) {
		double w = noise_work_ns(&probes[i]);

		if (!isnan(w)) {
			sum += w;
			k++;
		}
	}
	return k ? sum / k : NAN;
}

struct spinner {
	struct noise *n;
	uint64_t span_ns;
	int err;
};

static void *spin(void *arg)
{
	struct spinner *s = arg;
	uint64_t start, last, t;

	if (s->n->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(s->n->cpu, &set);
		int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);

		if (rc != 0) {
			s->err = rc;
			return NULL;
		}
	}
	uint64_t acc = 1, window_ns = s->span_ns / NOISE_WORK_WINDOWS, w_start, w_lost, w_blocks = 0;

	start = last = w_start = clock_raw_ns();
	w_lost = 0;
	do {
		/* a fixed block of dependent multiply-adds: how fast the CPU runs (noise_work_ns) */
		for (int k = 0; k < NOISE_WORK_OPS; k++)
			acc = acc * 6364136223846793005ull + 1442695040888963407ull;
		__asm__ volatile("" : "+r"(acc));
		s->n->blocks++;
		w_blocks++;
		t = clock_raw_ns();
		noise_account(s->n, t - last);
		last = t;
		if (window_ns && t - w_start >= window_ns && s->n->nwindows < NOISE_WORK_WINDOWS) {
			uint64_t lost = s->n->lost_ns - w_lost, span = t - w_start;

			if (lost < span)
				s->n->window_work_ns[s->n->nwindows++] = (double)(span - lost) /
									  (double)w_blocks;
			w_start = t;
			w_lost = s->n->lost_ns;
			w_blocks = 0;
		}
	} while (t - start < s->span_ns);
	s->n->span_ns = t - start;
	return NULL;
}

int noise_probe(const struct pin_cpus *cpus, double seconds, struct noise *out, char *err,
		size_t errlen)
{
	struct pin_cpus all = { .n = 0 };
	pthread_t th[PIN_MAX_CPUS];
	struct spinner sp[PIN_MAX_CPUS];
	int started = 0, failed = 0;

	if (!cpus || cpus->n == 0) {
		cpu_set_t set;

		if (sched_getaffinity(0, sizeof(set), &set) != 0) {
			snprintf(err, errlen, "the CPUs this process may use: %s", strerror(errno));
			return -1;
		}
		for (int c = 0; c < CPU_SETSIZE && all.n < PIN_MAX_CPUS; c++)
			if (CPU_ISSET(c, &set))
				all.cpu[all.n++] = c;
		cpus = &all;
	}
	for (int i = 0; i < cpus->n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].cpu = cpus->cpu[i];
		sp[i] = (struct spinner){ &out[i], (uint64_t)(seconds * 1e9), 0 };
		if (pthread_create(&th[i], NULL, spin, &sp[i]) != 0) {
			snprintf(err, errlen, "a probe thread: %s", strerror(errno));
			failed = 1;
			break;
		}
		started++;
	}
	for (int i = 0; i < started; i++) {
		pthread_join(th[i], NULL);
		if (sp[i].err && !failed) {
			snprintf(err, errlen, "CPU %d: %s", out[i].cpu, strerror(sp[i].err));
			failed = 1;
		}
	}
	return failed ? -1 : started;
}

void noise_text(FILE *f, const struct noise *n)
{
	fprintf(f, "lost %.2f %% of %.2f s in %llu gaps over %llu us (", noise_lost_pct(n),
		(double)n->span_ns / 1e9, (unsigned long long)n->gaps,
		(unsigned long long)(NOISE_GAP_NS / 1000));
	for (int b = 0; b < NOISE_BUCKETS; b++)
		fprintf(f, "%s%s %llu", b ? ", " : "", noise_bucket_name[b],
			(unsigned long long)n->hist[b]);
	fprintf(f, "), longest %.2f ms", (double)n->max_gap_ns / 1e6);
	if (!isnan(noise_work_ns(n)))
		fprintf(f, ", work %.0f ns per block", noise_work_ns(n));
}

int noise_command(double seconds)
{
	struct noise probes[PIN_MAX_CPUS];
	char err[256];
	int n = noise_probe(NULL, seconds, probes, err, sizeof(err));

	if (n < 0) {
		fprintf(stderr, "kvmio: host: --noise: %s\n", err);
		return KVMIO_EXIT_IO;
	}
	printf("# a thread per CPU spinning %.2f s at once; a gap over %llu us between two reads "
	       "of CLOCK_MONOTONIC_RAW is time the CPU was taken away\n", seconds,
	       (unsigned long long)(NOISE_GAP_NS / 1000));
	for (int i = 0; i < n; i++) {
		printf("cpu %d: ", probes[i].cpu);
		noise_text(stdout, &probes[i]);
		putchar('\n');
	}
	printf("mean lost: %.2f %%\n", noise_mean_lost_pct(probes, n));
	printf("mean work: %.0f ns per block of %d multiply-adds (the CPUs' speed when not taken "
	       "away)\n", noise_mean_work_ns(probes, n), NOISE_WORK_OPS);
	return fflush(stdout) == 0 ? KVMIO_EXIT_OK : KVMIO_EXIT_IO;
}
