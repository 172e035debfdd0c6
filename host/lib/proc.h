/* This process and the programs it starts: its own executable, PATH lookups, the clock. */
#ifndef KVMIO_HOST_LIB_PROC_H
#define KVMIO_HOST_LIB_PROC_H
#include <stddef.h>

/* How a shell reports a child that could not be executed, and one killed by a signal; kvmio
 * records runs the same way. */
#define PROC_EXEC_FAILED 127
#define PROC_EXIT_SIGNALLED(sig) (128 + (sig))

/* The path of the running kvmio (/proc/self/exe), or "kvmio" when it cannot be read. */
void self_exe(char *buf, size_t len);

/* Where prog would be run from: prog itself when it holds a '/', else the first executable
 * PATH/prog (PATH unset: /usr/bin:/bin). 0 with the path in buf, or -1. */
int path_search(const char *prog, char *buf, size_t len);

/* Run argv (argv[0] looked up in PATH) with stdin from /dev/null and stdout and stderr into
 * out_path; its exit status, or -1 when it could not run or was killed. */
int proc_run(char *const argv[], const char *out_path);

/* handler for SIGINT, SIGTERM and SIGHUP, without SA_RESTART (a blocking wait returns). */
void proc_on_stop_signals(void (*handler)(int sig));

/* Seconds on the monotonic clock. */
double clock_now_s(void);

#endif
