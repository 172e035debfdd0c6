/* Running QEMU under a deadline and collecting its serial output. */
#ifndef KVMIO_HOST_BOOT_LAUNCH_H
#define KVMIO_HOST_BOOT_LAUNCH_H
#include <stddef.h>

struct launch_result {
	char *out;          /* QEMU's stdout: the guest's serial bytes (malloc'd, NUL-terminated) */
	size_t out_len;
	char *err;          /* QEMU's stderr (malloc'd, NUL-terminated) */
	size_t err_len;
	int started;        /* 0: fork or exec failed (exec_errno says why) */
	int pid;            /* QEMU's process id (its group's too) once started */
	int exec_errno;
	int exited;         /* 1: exit_code is valid */
	int exit_code;
	int signal;         /* terminating signal, 0 if none */
	int timed_out;      /* killed by us at the deadline */
	int interrupted;    /* killed by us because kvmio got SIGINT/SIGTERM */
	const char *accel_failure; /* QEMU's stderr showed the accelerator failing: the cause
				    * (host_accel_failure); QEMU was stopped at once */
	double accel_failure_s;    /* QEMU start to that message */
	double first_record_s; /* QEMU start to the first "@kvmio" on the serial line; -1: none */
	double wall_s;         /* QEMU start to exit */
};

/* Install SIGINT/SIGTERM handlers that make launch_run stop QEMU; returns the flag state. */
void launch_catch_signals(void);
int launch_interrupted(void);

/* Run argv (argv[0] looked up in PATH) with stdin /dev/null. timeout_s <= 0: no deadline. */
int launch_run(char *const *argv, double timeout_s, struct launch_result *res);
void launch_result_free(struct launch_result *res);

/* launch_run, calling tick(ctx, output so far) about every 100 ms while QEMU runs (res->pid
 * is set by then). */
typedef void (*launch_tick_fn)(void *ctx, const char *out, size_t len);
int launch_run_tick(char *const *argv, double timeout_s, struct launch_result *res,
		    launch_tick_fn tick, void *ctx);

struct log;

/*
 * The kvmio exit code of a boot: QEMU's exit (isa-debug-exit codes), the host deadline and the
 * checked log, cross-checked. Writes the one-line reason (without "kvmio: ") to msg when the
 * code is not 0 or when QEMU and the log disagree.
 */
int launch_outcome(const struct launch_result *res, const struct log *log, double timeout_s,
		   const char *qemu, char *msg, size_t msglen);

#endif
