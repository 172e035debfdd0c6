/* Running QEMU under a deadline and collecting its serial output. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "boot/hostinfo.h"
#include "boot/launch.h"
#include "lib/proc.h"
#include "proto/proto.h"

#define KILL_GRACE_S 2.0
/* After QEMU reports an accelerator failure: time to let the rest of its message arrive
 * before it is stopped (a paused QEMU would otherwise wait for the whole deadline). */
#define ACCEL_FAILURE_GRACE_S 0.3
#define MAX_CAPTURE (64u << 20) /* bytes kept per stream; the rest is read and dropped */

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

void launch_catch_signals(void)
{
	proc_on_stop_signals(on_signal);
}

int launch_interrupted(void)
{
	return got_signal != 0;
}

struct capture {
	int fd;
	char **buf;
	size_t *len;
	size_t cap;
};

/* Read what is there; returns 1 at end of file or error. */
static int capture_read(struct capture *c)
{
	char chunk[65536];
	ssize_t n = read(c->fd, chunk, sizeof(chunk));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return 1;
	if (*c->len + (size_t)n + 1 > c->cap && *c->len + (size_t)n <= MAX_CAPTURE) {
		size_t cap = c->cap ? c->cap : 65536;
		char *b;

		while (cap < *c->len + (size_t)n + 1)
			cap *= 2;
		b = realloc(*c->buf, cap);
		if (!b)
			return 0; /* keep what we have; drop this chunk */
		*c->buf = b;
		c->cap = cap;
	}
	if (*c->len + (size_t)n + 1 <= c->cap) {
		memcpy(*c->buf + *c->len, chunk, (size_t)n);
		*c->len += (size_t)n;
		(*c->buf)[*c->len] = '\0';
	}
	return 0;
}

static void child_exec(char *const *argv, int out, int err, int status)
{
	int null = open("/dev/null", O_RDONLY);
	int e;

	setpgid(0, 0); /* the terminal's Ctrl-C goes to kvmio, which stops QEMU itself */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	if (null < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) {
		e = errno;
	} else {
		execvp(argv[0], argv);
		e = errno;
	}
	if (write(status, &e, sizeof(e)) < 0)
		_exit(PROC_EXEC_FAILED);
	_exit(PROC_EXEC_FAILED);
}

static void stop(pid_t pid, int sig)
{
	if (kill(-pid, sig) != 0)
		kill(pid, sig);
}

int launch_run(char *const *argv, double timeout_s, struct launch_result *res)
{
	return launch_run_tick(argv, timeout_s, res, NULL, NULL);
}

int launch_run_tick(char *const *argv, double timeout_s, struct launch_result *res,
		    launch_tick_fn tick, void *ctx)
{
	int out[2], err[2], status[2];
	struct capture cap[2];
	double deadline, kill_at = 0, started_at, failed_at = 0;
	int open_fds = 2, reaped = 0, stopping = 0, wstatus = 0;
	pid_t pid;

	memset(res, 0, sizeof(res[0]));
	res->out = calloc(1, 1);
	res->err = calloc(1, 1);
	if (!res->out || !res->err || pipe2(out, O_CLOEXEC) != 0)
		goto fail_early;
	if (pipe2(err, O_CLOEXEC) != 0) {
		close(out[0]);
		close(out[1]);
		goto fail_early;
	}
	if (pipe2(status, O_CLOEXEC) != 0) {
		close(out[0]), close(out[1]), close(err[0]), close(err[1]);
		goto fail_early;
	}
	started_at = clock_now_s();
	pid = fork();
	if (pid == 0)
		child_exec(argv, out[1], err[1], status[1]);
	close(out[1]);
	close(err[1]);
	close(status[1]);
	if (pid < 0) {
		close(out[0]), close(err[0]), close(status[0]);
		goto fail_early;
	}
	setpgid(pid, pid); /* also here, so a signal right away reaches the group */
	{
		int e;
		ssize_t n;

		do
			n = read(status[0], &e, sizeof(e));
		while (n < 0 && errno == EINTR);
		close(status[0]);
		if (n == (ssize_t)sizeof(e)) {
			close(out[0]), close(err[0]);
			waitpid(pid, NULL, 0);
			res->exec_errno = e;
			return -1;
		}
	}
	res->started = 1;
	res->pid = (int)pid;
	res->first_record_s = -1;
	cap[0] = (struct capture){ out[0], &res->out, &res->out_len, 1 };
	cap[1] = (struct capture){ err[0], &res->err, &res->err_len, 1 };
	deadline = timeout_s > 0 ? clock_now_s() + timeout_s : 0;
	for (;;) {
		struct pollfd pfd[2];
		int n = 0, map[2];
		double t;

		if (!reaped && waitpid(pid, &wstatus, WNOHANG) == pid) {
			reaped = 1;
			res->wall_s = clock_now_s() - started_at;
		}
		if (reaped && open_fds == 0)
			break;
		if (tick && !reaped)
			tick(ctx, res->out, res->out_len);
		t = clock_now_s();
		if (!res->accel_failure && (res->accel_failure = host_accel_failure(res->err))) {
			failed_at = t;
			res->accel_failure_s = t - started_at;
		}
		if (!stopping && (got_signal || (deadline > 0 && t >= deadline) ||
				  (failed_at > 0 && t >= failed_at + ACCEL_FAILURE_GRACE_S))) {
			if (got_signal)
				res->interrupted = 1;
			else if (!failed_at)
				res->timed_out = 1;
			stop(pid, SIGTERM);
			stopping = 1;
			kill_at = t + KILL_GRACE_S;
		} else if (stopping == 1 && !reaped && t >= kill_at) {
			stop(pid, SIGKILL);
			stopping = 2;
		}
		for (int i = 0; i < 2; i++)
			if (cap[i].fd >= 0) {
				pfd[n].fd = cap[i].fd;
				pfd[n].events = POLLIN;
				map[n++] = i;
			}
		/* After QEMU is gone, only drain what is already there. */
		if (poll(pfd, (nfds_t)n, reaped ? 0 : 100) <= 0) {
			if (reaped)
				break;
			continue;
		}
		for (int k = 0; k < n; k++) {
			struct capture *c = &cap[map[k]];

			if (pfd[k].revents && capture_read(c)) {
				close(c->fd);
				c->fd = -1;
				open_fds--;
			}
			if (map[k] == 0 && res->first_record_s < 0 && res->out &&
			    memmem(res->out, res->out_len, KVMIO_PROTO_PREFIX,
				   strlen(KVMIO_PROTO_PREFIX)))
				res->first_record_s = clock_now_s() - started_at;
		}
	}
	for (int i = 0; i < 2; i++)
		if (cap[i].fd >= 0)
			close(cap[i].fd);
	if (WIFEXITED(wstatus)) {
		res->exited = 1;
		res->exit_code = WEXITSTATUS(wstatus);
	} else if (WIFSIGNALED(wstatus)) {
		res->signal = WTERMSIG(wstatus);
		res->exit_code = -1;
	}
	return 0;

fail_early:
	res->exec_errno = errno;
	return -1;
}

void launch_result_free(struct launch_result *res)
{
	free(res->out);
	free(res->err);
	memset(res, 0, sizeof(*res));
}

/* First line of QEMU's stderr, or "" */
static void first_line(const char *text, char *out, size_t size)
{
	size_t n = text ? strcspn(text, "\r\n") : 0;

	if (n >= size)
		n = size - 1;
	if (n)
		memcpy(out, text, n);
	out[n] = '\0';
}

int launch_outcome(const struct launch_result *res, const struct log *log, double timeout_s,
		   const char *qemu, char *msg, size_t msglen)
{
	static const char *const guest_status[] = KVMIO_STATUS_NAMES;
	char line[256];
	int from_qemu;

	msg[0] = '\0';
	if (res->interrupted) {
		snprintf(msg, msglen, "interrupted: QEMU stopped");
		return KVMIO_EXIT_INTERRUPTED;
	}
	if (!res->started) {
		snprintf(msg, msglen, "cannot run %s: %s", qemu, strerror(res->exec_errno));
		return KVMIO_EXIT_QEMU;
	}
	if (res->accel_failure) {
		snprintf(msg, msglen, "accelerator failed after %.1f s: %s; QEMU stopped (try "
			 "--accel tcg; 'kvmio host' shows what this host's KVM can run)",
			 res->accel_failure_s, res->accel_failure);
		return KVMIO_EXIT_ACCEL;
	}
	if (res->timed_out) {
		snprintf(msg, msglen, "QEMU killed after %g s (host timeout)", timeout_s);
		return KVMIO_EXIT_TIMEOUT;
	}
	if (log->nrecs == 0 && log->status != KVMIO_EXIT_TRUNCATED &&
	    log->status != KVMIO_EXIT_CORRUPT && log->status != KVMIO_EXIT_VERSION) {
		first_line(res->err, line, sizeof(line));
		if (line[0])
			snprintf(msg, msglen, "QEMU printed no kvmio protocol: %s", line);
		else if (res->exited)
			snprintf(msg, msglen, "QEMU exited with status %d and printed no kvmio protocol",
				 res->exit_code);
		else
			snprintf(msg, msglen, "QEMU died from signal %d and printed no kvmio protocol",
				 res->signal);
		return KVMIO_EXIT_QEMU;
	}
	if (log->status >= KVMIO_EXIT_TRUNCATED) {
		snprintf(msg, msglen, "%s:%d: %s", log->name, log->err_line, log->err);
		return log->status;
	}
	if (!res->exited) {
		snprintf(msg, msglen, "QEMU died from signal %d", res->signal);
		return KVMIO_EXIT_QEMU;
	}
	switch (res->exit_code) {
	case 0: /* ACPI power-off or UEFI ResetSystem: the log decides */
		from_qemu = log->status;
		break;
	case KVMIO_DEBUG_EXIT_CODE(STATUS_OK): case KVMIO_DEBUG_EXIT_CODE(STATUS_FAIL):
	case KVMIO_DEBUG_EXIT_CODE(STATUS_BADCONFIG): case KVMIO_DEBUG_EXIT_CODE(STATUS_TIMEOUT):
		from_qemu = res->exit_code >> 1; /* isa-debug-exit: (V << 1) | 1 */
		break;
	default:
		first_line(res->err, line, sizeof(line));
		snprintf(msg, msglen, "QEMU exited with status %d%s%s", res->exit_code,
			 line[0] ? ": " : "", line);
		return KVMIO_EXIT_QEMU;
	}
	if (from_qemu != log->status) {
		snprintf(msg, msglen, "QEMU exit status %d (guest %s) disagrees with %s (%s)",
			 res->exit_code, guest_status[from_qemu], log->name,
			 log->err[0] ? log->err : "end status=ok");
		return from_qemu > log->status ? from_qemu : log->status;
	}
	if (log->status != KVMIO_EXIT_OK)
		snprintf(msg, msglen, "%s:%d: %s", log->name, log->err_line, log->err);
	return log->status;
}
