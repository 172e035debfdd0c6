/*
 * `--pin CPUS` for kvmio boot and kvmio run (docs/run.md): QEMU's vCPU thread on the first CPU
 * of the list, its other threads (main loop, iothreads, RCU, workers) on the rest, or on that
 * same CPU when the list has one. QEMU runs with `-name kvmio,debug-threads=on`, so its threads
 * say what they are ("CPU 0/TCG", "CPU 0/KVM", "IO iothread0", "call_rcu"); kvmio sets their
 * affinities once the guest's first record arrives, when they all exist.
 */
#ifndef KVMIO_HOST_BOOT_PIN_H
#define KVMIO_HOST_BOOT_PIN_H
#include <stddef.h>
#include <sys/types.h>

#define PIN_MAX_CPUS 64        /* CPUs in a list */
#define PIN_CPU_LIMIT 1024     /* CPU numbers below this (CPU_SETSIZE) */
#define PIN_MAX_THREADS 64     /* QEMU threads pinned and reported */

/* A CPU list in the order given: cpu[0] takes the vCPU thread. */
struct pin_cpus {
	int cpu[PIN_MAX_CPUS];
	int n;
};

/* Parse "1", "0-1", "0,2-3" (decimal, ranges ascending, no CPU twice). 0, or -1 with a one-line
 * reason in err. Pure. */
int pin_parse_cpus(const char *s, struct pin_cpus *p, char *err, size_t errlen);

/* Every CPU of p is one this process may run on (sched_getaffinity). 0, or -1 with a one-line
 * reason naming the CPUs allowed. */
int pin_check_allowed(const struct pin_cpus *p, char *err, size_t errlen);

/* What --pin and the job key pin= take: a CPU list (pin_parse_cpus) or "last", the
 * highest-numbered CPU this process may run on (every QEMU thread on it, the other CPUs left to
 * the host: docs/measurement.md §2); either checked with pin_check_allowed. 0, or -1 with a
 * one-line reason in err. */
#define PIN_LAST "last"
int pin_resolve(const char *s, struct pin_cpus *p, char *err, size_t errlen);

/* "1", "0,2,3": a list (or its part from index `from`) as text. */
void pin_cpus_text(const struct pin_cpus *p, int from, char *buf, size_t len);

enum pin_kind { PIN_VCPU, PIN_MAIN, PIN_IOTHREAD, PIN_RCU, PIN_OTHER };

/* What a QEMU thread is, from its name (/proc/PID/task/TID/comm, debug-threads=on) and whether
 * it is the main thread (TID = PID): "CPU N/ACCEL" a vCPU, "IO ID" an iothread, "call_rcu" the
 * RCU thread. Pure. */
enum pin_kind pin_classify(const char *comm, int is_main);
const char *pin_kind_name(enum pin_kind k);   /* vcpu, main, iothread, rcu, other */

/* What kvmio pinned. */
struct pin_thread {
	int tid;
	char name[32];
	enum pin_kind kind;
	int err;                   /* 0, the errno of sched_setaffinity, or PIN_ERR_ELSEWHERE */
};
#define PIN_ERR_ELSEWHERE (-1)     /* pin_verify: the thread may run on other CPUs than asked */
struct pin_outcome {
	int applied;               /* 1: the threads were listed and pinned */
	char why[128];             /* applied 0: why not */
	struct pin_cpus cpus;
	int nthreads, nvcpus;
	struct pin_thread thread[PIN_MAX_THREADS];
};

/* Pin the threads of process pid: each thread of /proc/PID/task once (bounded, no waiting: a
 * QEMU that is gone leaves applied 0 and the reason). 0, or -1. */
int pin_apply(pid_t pid, const struct pin_cpus *cpus, struct pin_outcome *out);

/* The same outcome for threads someone else pinned (libvirt's <cputune>): each thread's
 * affinity read back and compared with what pin_apply would set (PIN_ERR_ELSEWHERE where it
 * differs). 0, or -1. */
int pin_verify(pid_t pid, const struct pin_cpus *cpus, struct pin_outcome *out);

/* A thread's err as text: strerror, or what PIN_ERR_ELSEWHERE means. */
const char *pin_error_text(int err);

/* One line: "CPU 0/TCG (vcpu) -> 0; qemu-system-x86 (main), call_rcu (rcu) -> 1". */
void pin_outcome_text(const struct pin_outcome *o, char *buf, size_t len);

#endif
