/*
 * How much of its CPUs the host itself takes away (docs/measurement.md): a thread per CPU spins
 * reading CLOCK_MONOTONIC_RAW and counts every gap between two reads longer than NOISE_GAP_NS as
 * time the CPU was not its own (interrupts, other tasks, a hypervisor below this machine running
 * something else: steal that no counter of this kernel shows). Under TCG every guest figure is
 * host CPU time, so a run can be no steadier than this. `kvmio host --noise [SECONDS]` prints it;
 * `kvmio run` probes NOISE_RUN_PROBE_MS before every run on the CPUs QEMU will use and keeps the
 * result beside the run (runs/ID/rN/host_noise, results.csv host_lost_pct).
 *
 * Between two clock reads each thread does a fixed block of work (NOISE_WORK_OPS dependent
 * multiply-adds), so the probe also says how fast the CPU ran when it had it: the time per
 * block, gaps left out (work_ns, results.csv host_work_ns). On this project's PVM machine the
 * same work took 22.2-26.6 ms over one minute with nothing else running: the CPU itself changes
 * speed, and under TCG every guest figure moves with it.
 */
#ifndef KVMIO_HOST_BOOT_NOISE_H
#define KVMIO_HOST_BOOT_NOISE_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "boot/pin.h"

#define NOISE_GAP_NS 10000ull        /* a longer gap between two clock reads: the CPU was taken */
#define NOISE_RUN_PROBE_MS 200       /* kvmio run: the probe before each run (--noise-probe) */
#define NOISE_PROBE_MAX_MS 10000
#define NOISE_SPREAD_LIMIT_PCT 2.0   /* report: runs of one configuration whose probes differ by
				      * more points than this ran on a machine that changed */
#define NOISE_BUCKETS 5
#define NOISE_WORK_OPS 1024          /* multiply-adds per block between two clock reads (about 1
				      * us: far under NOISE_GAP_NS) */
#define NOISE_WORK_WINDOWS 16        /* the probe's span in as many windows: work_ns is their
				      * median, so a blip of a few ms is not taken for the speed */
#define NOISE_SPEED_LIMIT_PCT 5.0    /* report: runs of one configuration whose probes' work_ns
				      * differ by more than this ran on CPUs of another speed (the
				      * PVM machine's 200 ms probes took two levels 2 % apart, with
				      * 10-boot IOPS spreads of 0.9-1.5 %: a tighter limit cries
				      * wolf) */

/* Gap classes: 10-100 us, 100 us-1 ms, 1-4 ms, 4-16 ms, longer. */
extern const uint64_t noise_bucket_limit_ns[NOISE_BUCKETS];
extern const char *const noise_bucket_name[NOISE_BUCKETS];

struct noise {
	int cpu;                     /* -1: any */
	uint64_t span_ns;            /* the probe's length */
	uint64_t lost_ns;            /* the sum of the gaps over NOISE_GAP_NS */
	uint64_t gaps, max_gap_ns;
	uint64_t hist[NOISE_BUCKETS];
	uint64_t blocks;             /* blocks of NOISE_WORK_OPS done in the span */
	double window_work_ns[NOISE_WORK_WINDOWS]; /* ns per block in each window, gaps left out */
	int nwindows;
};

/* Count one gap of gap_ns (ignored at or under NOISE_GAP_NS). Pure. */
void noise_account(struct noise *n, uint64_t gap_ns);
/* The share of the span the CPU was taken away, percent (0 for an empty span). Pure. */
double noise_lost_pct(const struct noise *n);
/* The mean of lost_pct over n probes. Pure. */
double noise_mean_lost_pct(const struct noise *probes, int n);
/* ns per block of work, the gaps left out: the median of the windows' when there are any, else
 * (span - lost) / blocks; NAN without blocks. Pure. */
double noise_work_ns(const struct noise *n);
/* The mean of work_ns over the probes that have one; NAN if none. Pure. */
double noise_mean_work_ns(const struct noise *probes, int n);

/* Spin for `seconds` on each CPU of cpus at once (NULL or none: every CPU this process may use),
 * one thread per CPU, each pinned to its CPU. out: room for PIN_MAX_CPUS; returns how many
 * probes it filled, or -1 with a reason in err. */
int noise_probe(const struct pin_cpus *cpus, double seconds, struct noise *out, char *err,
		size_t errlen);

/* "lost 7.9 % of 2.00 s, 8435 gaps (10-100 us 8435, ...), longest 5.1 ms, work 1187 ns per
 * block" for one probe. */
void noise_text(FILE *f, const struct noise *n);

/* `kvmio host --noise [SECONDS]` */
int noise_command(double seconds);

#endif
