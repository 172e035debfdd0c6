/*
 * `kvmio run JOB.ini --hosts FILE [--per-host N]`: the same matrix over several libvirt hosts
 * (docs/fleet.md). Every run is the `kvmio boot --connect URI` child `kvmio run --connect` starts,
 * on one host; the configurations are spread over the hosts, at most per_host runs per host at a
 * time (1 by default, for measurement quality). Before its first run a host's facts are read
 * through libvirt (boot/libvirt.c, in a child process under a deadline) into DIR/hosts/NAME.json.
 * A run that ends KVMIO_EXIT_HOST_LOST marks its host dead and goes back to the queue for the
 * others; finished runs stay. The scheduling is a pure state machine (fleet_sched_*), fed with
 * what happened, so the unit tests drive it without a process.
 */
#ifndef KVMIO_HOST_MATRIX_FLEET_H
#define KVMIO_HOST_MATRIX_FLEET_H
#include <signal.h>
#include <stddef.h>
#include "matrix/job.h"
#include "matrix/run.h"

#define FLEET_NAME_MAX 64          /* a host's name: [A-Za-z0-9._-], or a URI's host part */
#define FLEET_URI_MAX 4096
#define FLEET_MAX_HOSTS 256
#define FLEET_PROBE_TIMEOUT_S 180.0 /* reading a host's facts (the embedded driver probes QEMU) */

struct fleet_host {
	char name[FLEET_NAME_MAX];
	char uri[FLEET_URI_MAX];
};

/*
 * The hosts file: one host a line, `URI` or `NAME URI` (whitespace between), `#` to the end of
 * the line a comment (at its start or after a blank), blank lines ignored. A URI holds ":/". NAME:
 * letters, digits, '.', '_', '-'; without one, the URI's host part (qemu+ssh://user@HOST:22/...),
 * else the URI itself. Every name and URI once. *hosts malloc'd (free it). 0, or -1 with
 * "PATH:LINE: problem" (or "PATH: no hosts") in err.
 */
int fleet_parse_hosts(const char *text, const char *path, struct fleet_host **hosts, int *n,
		      char *err, size_t errlen);

/* ---- the scheduler (pure) ----------------------------------------------------------------- */

enum fleet_host_state { FLEET_HOST_UNKNOWN, FLEET_HOST_PROBING, FLEET_HOST_UP, FLEET_HOST_DEAD };

/* One run: repeat `repeat` of configuration `cfg`; image: the job's file image it uses (one
 * QEMU at a time each, image locks), -1 for none. */
struct fleet_item {
	int cfg, repeat, image;
};

struct fleet_sched {
	struct fleet_item *queue;  /* waiting, in order: the next is queue[0] */
	int nqueue;
	struct fleet_item *running;
	int *running_host;
	int nrunning;
	enum fleet_host_state *state;
	int *busy;                 /* per host: runs under way */
	int *started;              /* per host: runs given to it so far */
	int *ran;                  /* [host * ncfg + cfg]: runs of cfg given to host so far */
	int nhosts, per_host, cap, ncfg;
};

enum fleet_action {
	FLEET_WAIT,      /* nothing can start now: wait for an event */
	FLEET_PROBE,     /* read host's facts (then fleet_sched_probed) */
	FLEET_RUN,       /* start item on host (then fleet_sched_ended) */
	FLEET_DONE,      /* every item finished */
	FLEET_ALL_DEAD,  /* items left, no host left to run them */
};

enum fleet_outcome {
	FLEET_FINISHED,  /* the run ended (ok or failed for the guest's own reasons): kept */
	FLEET_LOST,      /* its host went away: the host is dead, the item queued again first */
	FLEET_STOPPED,   /* interrupted (Ctrl-C): neither finished nor queued (--resume) */
};

/* items[0..n) in order; hosts all unknown. 0, or -1 (out of memory). */
int fleet_sched_init(struct fleet_sched *s, const struct fleet_item *items, int n, int nhosts,
		     int per_host);
void fleet_sched_free(struct fleet_sched *s);
/*
 * What to do next. While items wait, each unknown host is probed first (FLEET_PROBE, *host).
 * Then the free up hosts in order of preference (the fewest runs now, then the fewest given so
 * far, then the first in the file) are each offered the first waiting item whose image is not
 * in use, passing over those of a configuration another live host has been given fewer times
 * (so each host gets its share of every configuration's repeats and compare can set the hosts
 * side by side; one host: queue order); when all pass over all, the first item goes to the
 * first host (FLEET_RUN, *host, *item).
 */
enum fleet_action fleet_sched_next(struct fleet_sched *s, int *host, struct fleet_item *item);
/* A probe ended: the host is up (ok) or dead. */
void fleet_sched_probed(struct fleet_sched *s, int host, int ok);
/* A run ended on host. 1 when this made the host dead (FLEET_LOST the first time), else 0. */
int fleet_sched_ended(struct fleet_sched *s, int host, const struct fleet_item *item,
		      enum fleet_outcome outcome);
int fleet_sched_alive(const struct fleet_sched *s);   /* hosts not dead */

/* ---- running ------------------------------------------------------------------------------ */

struct fleet_run {
	const char *exe, *dir;
	const struct job_matrix *m;
	const struct fleet_host *hosts;
	int nhosts, per_host;
	int total, done, failed;    /* progress: runs in all, finished (before too), failed */
	int runs_per_host[FLEET_MAX_HOSTS];
};

/*
 * Run todo[0..ntodo) over the hosts until all finished, every host is dead, or *stop is set
 * (then the runs under way are stopped and stay unfinished). 0; KVMIO_EXIT_HOST_LOST when every
 * host died with runs left (one line says so); KVMIO_EXIT_IO when a run cannot start.
 */
int fleet_run(struct fleet_run *fr, const struct run_step *todo, int ntodo,
	      volatile sig_atomic_t *stop);

#endif
