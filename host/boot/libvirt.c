/*
 * The libvirt backend of `kvmio boot --connect [URI]` (libvirt.h).
 *
 * One event-loop thread runs libvirt's default event implementation (the embedded driver and
 * domain events need it) and is the watchdog of every libvirt call the boot makes: a call that
 * has not returned after LIBVIRT_CALL_TIMEOUT_S ends kvmio (one line, exit 3). Domains are
 * transient and auto-destroyed with the connection (VIR_DOMAIN_START_AUTODESTROY), except under
 * the embedded driver, which has no auto-destroy: there a reaper process, forked before libvirt
 * starts, kills the domain's QEMU if kvmio dies without destroying it (and, for every URI,
 * removes the boot's temporary directory).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include "boot/hostinfo.h"
#include "boot/libvirt.h"
#include "kvmio_proto.h"
#include "lib/file.h"
#include "lib/proc.h"

#define LOOP_TICK_MS 100          /* the event loop wakes at least this often */
#define WATCH_TICK_US 100000      /* the serial file and the deadline, as often as launch.c */
#define STATE_POLL_S 1.0          /* is the domain still there (in case an event is lost) */
#define LOST_EVENT_GRACE_S 2.0    /* gone without a stop event: give the event this long */

int libvirt_serial_to_file(const char *uri)
{
	return !uri || !*uri || strncmp(uri, "qemu:///embed", 13) == 0;
}

int libvirt_uri_is_qemu(const char *uri)
{
	size_t n = strcspn(uri, ":");

	return !strncmp(uri + n, "://", 3) && ((n == 4 && !strncmp(uri, "qemu", 4)) ||
					       (n > 5 && !strncmp(uri, "qemu+", 5)));
}

int libvirt_embed_root(const char *uri, char *root, size_t len)
{
	const char *q, *r;

	if (strncmp(uri, "qemu:///embed", 13) != 0 || (uri[13] && uri[13] != '?'))
		return -1;
	q = strchr(uri, '?');
	for (r = q ? q + 1 : NULL; r && *r; r += strcspn(r, "&"), r += *r == '&')
		if (strncmp(r, "root=", 5) == 0) {
			size_t n = strcspn(r + 5, "&");

			if (n == 0 || n >= len)
				return -1;
			memcpy(root, r + 5, n);
			root[n] = '\0';
			return 0;
		}
	return -1;
}

int libvirt_session_init(struct libvirt_session *s, const char *uri, char *err, size_t errlen)
{
	char conf[4300];

	memset(s, 0, sizeof(*s));
	s->dir = dir_make_temp();
	if (!s->dir) {
		snprintf(err, errlen, "cannot make a temporary directory: %s", strerror(errno));
		return KVMIO_EXIT_IO;
	}
	snprintf(s->serial, sizeof(s->serial), "%s/serial.log", s->dir);
	snprintf(s->name, sizeof(s->name), "kvmio-%d", (int)getpid());
	s->console = !libvirt_serial_to_file(uri);
	if (!uri || !*uri) {
		snprintf(s->uri, sizeof(s->uri), LIBVIRT_EMBED_URI_FMT, s->dir);
		snprintf(s->root, sizeof(s->root), "%s", s->dir);
	} else {
		snprintf(s->uri, sizeof(s->uri), "%s", uri);
		if (strncmp(uri, "qemu:///embed", 13) == 0 &&
		    libvirt_embed_root(uri, s->root, sizeof(s->root)) != 0) {
			snprintf(err, errlen, "--connect %.200s: an embedded URI needs root=DIR "
				 "(qemu:///embed?root=DIR)", uri);
			return KVMIO_EXIT_BADCONFIG;
		}
	}
	if (s->root[0]) {
		/* QEMU's stdout/stderr in files (no virtlogd to talk to); as root, QEMU as root */
		const char *text = geteuid() == 0 ? "stdio_handler = \"file\"\nuser = \"root\"\n"
						    "group = \"root\"\n" : "stdio_handler = \"file\"\n";

		snprintf(conf, sizeof(conf), "%s/etc", s->root);
		if (dir_make_all(conf) != 0) {
			snprintf(err, errlen, "cannot make %.300s: %s", conf, strerror(errno));
			return KVMIO_EXIT_IO;
		}
		snprintf(conf, sizeof(conf), "%s/etc/qemu.conf", s->root);
		if (!path_exists(conf) && file_write(conf, text, strlen(text)) != 0) {
			snprintf(err, errlen, "cannot write %.300s: %s", conf, strerror(errno));
			return KVMIO_EXIT_IO;
		}
	}
	return KVMIO_EXIT_OK;
}

void libvirt_session_end(struct libvirt_session *s)
{
	dir_remove_tree(s->dir);
	free(s->dir);
	s->dir = NULL;
}

/* ---- the event loop and the watchdog of every call -------------------------------------- */

static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *guard_call;        /* the libvirt call under way, or NULL */
static double guard_since;
static const char *guard_uri;
static volatile int loop_quit;
static int reaper_fd = -1;            /* write end: closing it without a byte kills the QEMU */
static pid_t reaper_pid;

static void guard(const char *call)
{
	pthread_mutex_lock(&guard_lock);
	guard_call = call;
	guard_since = clock_now_s();
	pthread_mutex_unlock(&guard_lock);
}

static void unguard(void)
{
	guard(NULL);
}

void libvirt_watch(const char *call)
{
	guard(call);
}

static void loop_tick(int timer, void *opaque)
{
	(void)timer;
	(void)opaque;
}

static void *loop_main(void *arg)
{
	(void)arg;
	while (!loop_quit) {
		const char *call;
		double since;

		if (virEventRunDefaultImpl() < 0)
			usleep(LOOP_TICK_MS * 1000);
		pthread_mutex_lock(&guard_lock);
		call = guard_call;
		since = guard_since;
		pthread_mutex_unlock(&guard_lock);
		if (call && clock_now_s() - since > LIBVIRT_CALL_TIMEOUT_S) {
			fprintf(stderr, "kvmio: boot: libvirt: %s did not return within %g s (%s)\n",
				call, LIBVIRT_CALL_TIMEOUT_S, guard_uri ? guard_uri : "?");
			_exit(KVMIO_EXIT_TIMEOUT); /* the reaper (embedded) or auto-destroy ends QEMU */
		}
	}
	return NULL;
}

static void quiet_errors(void *opaque, virErrorPtr e)
{
	(void)opaque;
	(void)e;
}

/* libvirt ready for one use: the library, its default event loop (registered once per process),
 * the tick timer and the thread that runs the loop. KVMIO_EXIT_OK, or an exit status with the
 * reason in err; *timer and *up say what loop_stop undoes. */
static int event_impl; /* virEventRegisterDefaultImpl done: once per process */

static int loop_start(pthread_t *loop, int *timer, int *up, char *err, size_t errlen)
{
	if (virInitialize() < 0 || (!event_impl && virEventRegisterDefaultImpl() < 0)) {
		snprintf(err, errlen, "libvirt: cannot initialise the library");
		return KVMIO_EXIT_BADCONFIG;
	}
	event_impl = 1;
	/* a remote connection over ssh writes into a pipe to ssh: when the host's daemon or ssh dies
	 * that write must fail with EPIPE, not kill kvmio (libvirt leaves SIGPIPE to the program) */
	signal(SIGPIPE, SIG_IGN);
	virSetErrorFunc(NULL, quiet_errors);
	*timer = virEventAddTimeout(LOOP_TICK_MS, loop_tick, NULL, NULL);
	loop_quit = 0;
	if (pthread_create(loop, NULL, loop_main, NULL) != 0) {
		snprintf(err, errlen, "cannot start the libvirt event thread");
		return KVMIO_EXIT_IO;
	}
	*up = 1;
	return KVMIO_EXIT_OK;
}

static void loop_stop(pthread_t loop, int timer, int up)
{
	if (up) {
		loop_quit = 1;
		pthread_join(loop, NULL);
	}
	if (timer >= 0)
		virEventRemoveTimeout(timer);
}

/* libvirt's last error as one line into err, after WHAT. */
static void last_error(const char *what, const char *uri, char *err, size_t errlen)
{
	const char *m = virGetLastErrorMessage();
	size_t n;

	snprintf(err, errlen, "libvirt: %s %.300s: %s", what, uri, m ? m : "unknown error");
	for (n = 0; err[n]; n++)
		if (err[n] == '\n' || err[n] == '\r')
			err[n] = ' ';
}

/* 1 when libvirt's last error (read before any other call) says the host cannot be reached or
 * went away: an RPC error (socket, ssh, tls, the daemon gone), or a connection that is no longer
 * alive. Not the guest's failure, nor a bad configuration (an unknown URI scheme, a refused XML,
 * a missing emulator: those come from the drivers, not from the RPC layer). */
static int host_lost(virConnectPtr conn)
{
	virErrorPtr e = virGetLastError();
	int rpc = e && (e->domain == VIR_FROM_RPC || e->code == VIR_ERR_RPC);

	return rpc || (conn && virConnectIsAlive(conn) == 0);
}

/* A libvirt call through uri failed: its error as one line in err ("WHAT URI: ..."), and the
 * exit status: a host lost (an RPC error, a connection no longer alive) or a bad configuration.
 * host_lost reads libvirt's last error before last_error takes it. */
static int call_failed(virConnectPtr conn, const char *what, const char *uri, char *err,
		       size_t errlen)
{
	int rc = host_lost(conn) ? KVMIO_EXIT_HOST_LOST : KVMIO_EXIT_BADCONFIG;

	last_error(what, uri, err, errlen);
	return rc;
}

/* ---- the embedded driver's QEMU: its pid file, the reaper -------------------------------- */

/* The QEMU pid of the domain under an embedded root (its pid file), 0 if none or not that
 * domain's QEMU. */
static pid_t embedded_qemu_pid(const char *root, const char *name)
{
	char path[4400], line[64], *cmd;
	size_t len;
	pid_t pid;
	int ok = 0;

	snprintf(path, sizeof(path), "%s/run/qemu/%s.pid", root, name);
	if (file_read_line(path, line, sizeof(line)) != 0 || (pid = (pid_t)atoi(line)) <= 1)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	cmd = file_read(path, &len);
	for (size_t i = 0; cmd && i < len; i += strlen(cmd + i) + 1)
		ok |= strncmp(cmd + i, "guest=", 6) == 0 && !strncmp(cmd + i + 6, name, strlen(name)) &&
		      (cmd[i + 6 + strlen(name)] == ',' || !cmd[i + 6 + strlen(name)]);
	free(cmd);
	return ok ? pid : 0;
}

/* Fork the reaper: it waits for kvmio's end; without a byte first, it kills the domain's QEMU
 * (embedded driver; elsewhere auto-destroy does) and removes the session's directory. Before
 * libvirt starts (no threads yet). */
static void reaper_start(const struct libvirt_session *s)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0)
		return;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		char c;
		ssize_t n;
		pid_t q;

		setsid(); /* out of kvmio's process group: a kill of the group leaves it */
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		close(p[1]);
		do
			n = read(p[0], &c, 1);
		while (n < 0 && errno == EINTR);
		if (n == 1)
			_exit(0);
		q = s->root[0] ? embedded_qemu_pid(s->root, s->name) : 0;
		if (q > 0)
			kill(q, SIGKILL);
		dir_remove_tree(s->dir);
		_exit(0);
	}
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		return;
	}
	reaper_fd = p[1];
	reaper_pid = pid;
}

static void reaper_release(void)
{
	if (reaper_fd < 0)
		return;
	if (write(reaper_fd, "x", 1) != 1)
		perror("kvmio: reaper");
	close(reaper_fd);
	reaper_fd = -1;
	waitpid(reaper_pid, NULL, 0); /* it exits at once on the byte */
	reaper_pid = 0;
}

/* ---- one boot ----------------------------------------------------------------------------- */

struct watch {
	const char *name;
	volatile int stopped;         /* the domain's STOPPED event arrived */
	volatile int detail;          /* its VIR_DOMAIN_EVENT_STOPPED_* */
	volatile double at;           /* when */
};

static int on_lifecycle(virConnectPtr c, virDomainPtr d, int event, int detail, void *opaque)
{
	struct watch *w = opaque;
	const char *name = virDomainGetName(d);

	(void)c;
	if (event == VIR_DOMAIN_EVENT_STOPPED && name && strcmp(name, w->name) == 0) {
		w->detail = detail;
		w->at = clock_now_s();
		__atomic_store_n(&w->stopped, 1, __ATOMIC_RELEASE);
	}
	return 0;
}

/* QEMU's own messages from the domain's log (lines stamped "YYYY-MM-DDT", -msg timestamp=on)
 * into res->err, when the log is on this machine. */
static void qemu_messages(const struct libvirt_session *s, struct launch_result *res)
{
	char path[4400], *log, *out, *p;
	size_t len = 0;

	if (s->root[0])
		snprintf(path, sizeof(path), "%s/log/qemu/%s.log", s->root, s->name);
	else
		snprintf(path, sizeof(path), "/var/log/libvirt/qemu/%s.log", s->name);
	log = file_read(path, NULL);
	out = log ? calloc(1, strlen(log) + 1) : NULL;
	for (char *line = log, *next; out && line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strlen(line) > 11 && line[4] == '-' && line[7] == '-' && line[10] == 'T' &&
		    (p = strchr(line, ' '))) {
			len += (size_t)sprintf(out + len, "%s\n", p + 1);
		}
	}
	free(log);
	if (out) {
		free(res->err);
		res->err = out;
		res->err_len = len;
	}
}

static void append_err(struct launch_result *res, const char *text)
{
	char *n = NULL;

	if (asprintf(&n, "%s%s\n", res->err ? res->err : "", text) < 0)
		return;
	free(res->err);
	res->err = n;
	res->err_len = strlen(n);
}

/* The console stream's bytes (the guest's serial port as a pty), appended by the event loop. */
#define CONSOLE_MAX (64u << 20)   /* bytes kept, as launch.c keeps of QEMU's stdout */
#define CONSOLE_DRAIN_S 2.0       /* after the domain stopped: the rest of the stream */
struct console {
	pthread_mutex_t lock;
	char *buf;
	size_t len, cap;
	int eof;
};

static void on_console(virStreamPtr st, int events, void *opaque)
{
	struct console *c = opaque;
	char chunk[65536];
	int n = 0;

	while ((events & VIR_STREAM_EVENT_READABLE) &&
	       (n = virStreamRecv(st, chunk, sizeof(chunk))) > 0) {
		pthread_mutex_lock(&c->lock);
		if (c->len + (size_t)n + 1 > c->cap && c->len + (size_t)n < CONSOLE_MAX) {
			size_t cap = c->cap ? c->cap : 65536;
			char *b;

			while (cap < c->len + (size_t)n + 1)
				cap *= 2;
			b = realloc(c->buf, cap);
			if (b) {
				c->buf = b;
				c->cap = cap;
			}
		}
		if (c->len + (size_t)n + 1 <= c->cap) {
			memcpy(c->buf + c->len, chunk, (size_t)n);
			c->len += (size_t)n;
			c->buf[c->len] = '\0';
		}
		pthread_mutex_unlock(&c->lock);
	}
	/* n: 0 end of stream, -1 error, -2 nothing more for now */
	if ((events & (VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP)) || n == 0 || n == -1) {
		virStreamEventRemoveCallback(st);
		__atomic_store_n(&c->eof, 1, __ATOMIC_RELEASE);
	}
}

static void read_serial(const struct libvirt_session *s, struct console *con,
			struct launch_result *res, double started_at)
{
	size_t len = 0;
	char *text;

	if (s->console) {
		pthread_mutex_lock(&con->lock);
		text = malloc(con->len + 1);
		if (text) {
			memcpy(text, con->buf ? con->buf : "", con->len);
			text[con->len] = '\0';
			len = con->len;
		}
		pthread_mutex_unlock(&con->lock);
	} else {
		text = file_read(s->serial, &len);
	}

	if (!text)
		return;
	free(res->out);
	res->out = text;
	res->out_len = len;
	if (res->first_record_s < 0 && memmem(text, len, KVMIO_PROTO_PREFIX,
					      strlen(KVMIO_PROTO_PREFIX)))
		res->first_record_s = clock_now_s() - started_at;
}

int libvirt_launch(struct libvirt_session *s, const char *xml, double timeout_s,
		   struct launch_result *res, launch_tick_fn tick, void *ctx, char *err,
		   size_t errlen)
{
	char logs[4400];
	struct watch w = { .name = s->name };
	struct console con = { .lock = PTHREAD_MUTEX_INITIALIZER };
	virConnectPtr conn = NULL;
	virDomainPtr dom = NULL;
	virStreamPtr st = NULL;
	char *own_xml = NULL;         /* the XML rebuilt after an upload */
	pthread_t loop;
	int timer = -1, cb = -1, rc = KVMIO_EXIT_OK, stopping = 0, loop_up = 0, lost = 0;
	double started_at, deadline, next_poll, gone_at = 0;

	memset(res, 0, sizeof(*res));
	res->out = calloc(1, 1);
	res->err = calloc(1, 1);
	res->first_record_s = -1;
	err[0] = '\0';
	/* libvirt's own log into the session directory, not onto kvmio's stderr */
	snprintf(logs, sizeof(logs), "4:file:%s/libvirt.log", s->dir);
	setenv("LIBVIRT_LOG_OUTPUTS", logs, 0);
	reaper_start(s);
	guard_uri = s->uri;
	if ((rc = loop_start(&loop, &timer, &loop_up, err, errlen)) != KVMIO_EXIT_OK)
		goto out;
	if (!libvirt_uri_is_qemu(s->uri)) {
		/* libvirt would try its daemon for any other scheme: say what is wrong instead */
		snprintf(err, errlen, "libvirt: cannot connect to %.300s: not a QEMU driver URI "
			 "(qemu:///system, qemu+ssh://HOST/system, qemu:///embed?root=DIR)", s->uri);
		rc = KVMIO_EXIT_BADCONFIG;
		goto out;
	}
	guard("virConnectOpen");
	conn = virConnectOpen(s->uri);
	unguard();
	if (!conn) {
		/* no daemon, a bad URI, no permission: one line, exit 2 (issue 12); a fleet asks the
		 * host again to tell a lost host from a bad configuration (fleet.c) */
		rc = KVMIO_EXIT_BADCONFIG;
		last_error("cannot connect to", s->uri, err, errlen);
		goto out;
	}
	if (!s->root[0])
		virConnectSetKeepAlive(conn, 5, 3); /* a dead remote ends the connection (~20 s) */
	guard("virConnectDomainEventRegisterAny");
	cb = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
					      VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), &w, NULL);
	unguard();
	if (s->upload) {
		/* another host: the kernel or image there first, and the XML naming it */
		char *rebuilt = NULL, host[256];

		if (upload_file(conn, s->upload, &s->uploaded, err, errlen) != 0 ||
		    s->rebuild(s->rebuild_ctx, s->uploaded.path, &rebuilt, err, errlen) != 0) {
			free(rebuilt);
			rc = KVMIO_EXIT_BADCONFIG;
			goto out;
		}
		xml = own_xml = rebuilt;
		upload_uri_host(s->uri, host, sizeof(host));
		if (s->uploaded.reused)
			fprintf(stderr, "kvmio: boot: %s: on %s already, volume %s\n", s->upload,
				host, s->uploaded.path);
		else
			fprintf(stderr, "kvmio: boot: %s: uploaded to %s, volume %s (%lld bytes, "
				"%.2f s)\n", s->upload, host, s->uploaded.path, s->uploaded.bytes,
				s->uploaded.seconds);
	}
	started_at = clock_now_s();
	guard("virDomainCreateXML");
	/* the console: paused until its stream is attached, so no byte is lost */
	dom = virDomainCreateXML(conn, xml, (s->root[0] ? 0 : VIR_DOMAIN_START_AUTODESTROY) |
				 (s->console || s->started ? VIR_DOMAIN_START_PAUSED : 0));
	unguard();
	if (!dom) {
		rc = call_failed(conn, "cannot start a domain through", s->uri, err, errlen);
		goto out;
	}
	if (s->console) {
		int ok;

		guard("virDomainOpenConsole");
		ok = (st = virStreamNew(conn, VIR_STREAM_NONBLOCK)) &&
		     virDomainOpenConsole(dom, NULL, st, VIR_DOMAIN_CONSOLE_FORCE) == 0 &&
		     virStreamEventAddCallback(st, VIR_STREAM_EVENT_READABLE |
					       VIR_STREAM_EVENT_ERROR | VIR_STREAM_EVENT_HANGUP,
					       on_console, &con, NULL) == 0;
		unguard();
		if (!ok) {
			rc = call_failed(conn, "cannot attach to the console of a domain through",
					 s->uri, err, errlen);
			goto out;
		}
	}
	res->started = 1;
	if (s->root[0])
		res->pid = (int)embedded_qemu_pid(s->root, s->name);
	if (s->started)
		s->started(s->started_ctx, res->pid);
	if (s->console || s->started) {
		int ok;

		guard("virDomainResume");
		ok = virDomainResume(dom) == 0;
		unguard();
		if (!ok) {
			rc = call_failed(conn, "cannot resume a domain through", s->uri, err, errlen);
			goto out;
		}
	}
	deadline = timeout_s > 0 ? started_at + timeout_s : 0;
	next_poll = started_at + STATE_POLL_S;
	for (;;) {
		double t = clock_now_s();

		read_serial(s, &con, res, started_at);
		if (__atomic_load_n(&w.stopped, __ATOMIC_ACQUIRE))
			break;
		if (tick && !stopping)
			tick(ctx, res->out, res->out_len);
		if (!stopping && (launch_interrupted() || (deadline > 0 && t >= deadline))) {
			if (launch_interrupted())
				res->interrupted = 1;
			else
				res->timed_out = 1;
			guard("virDomainDestroy");
			virDomainDestroy(dom);
			unguard();
			stopping = 1;
		}
		if (t >= next_poll) {
			int active;

			guard("virDomainIsActive");
			active = virDomainIsActive(dom);
			unguard();
			next_poll = t + STATE_POLL_S;
			if (active != 1 && !gone_at) {
				gone_at = t;
				guard("virConnectIsAlive");
				lost = virConnectIsAlive(conn) != 1;
				unguard();
			}
			if (gone_at && t >= gone_at + LOST_EVENT_GRACE_S) {
				w.detail = -1;      /* gone, and no event said why */
				w.at = gone_at;
				break;
			}
		}
		usleep(WATCH_TICK_US);
	}
	res->wall_s = w.at - started_at;
	for (double until = clock_now_s() + CONSOLE_DRAIN_S; s->console && st &&
	     !__atomic_load_n(&con.eof, __ATOMIC_ACQUIRE) && clock_now_s() < until;)
		usleep(WATCH_TICK_US / 10);
	read_serial(s, &con, res, started_at);
	qemu_messages(s, res);
	if (w.detail == -1 && lost) {
		/* the host, not the guest: kvmio run --hosts gives the run to another host */
		snprintf(err, errlen, "libvirt: lost the connection to %.300s (the daemon or its "
			 "host went away)", s->uri);
		rc = KVMIO_EXIT_HOST_LOST;
		goto out;
	}
	switch (w.detail) {
	case VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN:
		res->exited = 1;       /* the guest powered off (ACPI): the log decides */
		res->exit_code = 0;
		break;
	case VIR_DOMAIN_EVENT_STOPPED_DESTROYED:
		res->signal = SIGKILL; /* ours (deadline, interrupt) or someone else's */
		res->exit_code = -1;
		if (!stopping)
			append_err(res, "libvirt: the domain was destroyed from outside kvmio");
		break;
	default:
		res->exited = 1;       /* not a debug-exit code: "QEMU exited with status 1" */
		res->exit_code = 1;
		append_err(res, w.detail == VIR_DOMAIN_EVENT_STOPPED_CRASHED ? "libvirt: the domain "
			   "crashed" : w.detail == VIR_DOMAIN_EVENT_STOPPED_FAILED ? "libvirt: QEMU or "
			   "libvirt failed" : "libvirt: the domain stopped without saying why");
		break;
	}
out:
	if (st) {
		guard("virStreamAbort");
		if (!__atomic_load_n(&con.eof, __ATOMIC_ACQUIRE))
			virStreamEventRemoveCallback(st);
		virStreamAbort(st);
		virStreamFree(st);
		unguard();
	}
	if (dom) {
		/* a transient domain that is still there (an error above) goes now */
		guard("virDomainDestroy");
		if (virDomainIsActive(dom) == 1)
			virDomainDestroy(dom);
		virDomainFree(dom);
		unguard();
	}
	if (conn) {
		guard("virConnectClose");
		if (cb >= 0)
			virConnectDomainEventDeregisterAny(conn, cb);
		virConnectClose(conn);
		unguard();
	}
	loop_stop(loop, timer, loop_up);
	reaper_release();
	free(con.buf);
	free(own_xml);
	return rc;
}

/* ---- a host's facts (kvmio run --hosts) --------------------------------------------------- */

int libvirt_uri_is_local(const char *uri)
{
	const char *p = uri ? strstr(uri, "://") : NULL;

	return p && strcspn(p + 3, "/?") == 0; /* no host part */
}

/* The text between <tag> and </tag> after `from` in xml, into out ("" if none). */
static void xml_text(const char *xml, const char *from, const char *tag, char *out, size_t len)
{
	const char *a = xml ? strstr(xml, from) : NULL, *b;
	char open[64], close[64];

	out[0] = '\0';
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	if (!a || !(a = strstr(a, open)) || !(b = strstr(a, close)))
		return;
	a += strlen(open);
	snprintf(out, len, "%.*s", (int)(b - a), a);
}

static void version_text(unsigned long v, char *out, size_t len)
{
	snprintf(out, len, "%lu.%lu.%lu", v / 1000000, v / 1000 % 1000, v % 1000);
}

int libvirt_host_facts(const char *uri, struct libvirt_facts *f, char *err, size_t errlen)
{
	char logs[4400], *dir = dir_make_temp(), *caps = NULL, *dom = NULL, *name;
	char vendor[64];
	unsigned long hv = 0, lib = 0;
	virConnectPtr conn = NULL;
	pthread_t loop;
	int rc = KVMIO_EXIT_OK, loop_up = 0, timer = -1;

	memset(f, 0, sizeof(*f));
	err[0] = '\0';
	/* libvirt's own log into a temporary directory, not onto stderr */
	if (dir) {
		snprintf(logs, sizeof(logs), "4:file:%s/libvirt.log", dir);
		setenv("LIBVIRT_LOG_OUTPUTS", logs, 0);
	}
	guard_uri = uri;
	if ((rc = loop_start(&loop, &timer, &loop_up, err, errlen)) != KVMIO_EXIT_OK)
		goto out;
	if (!libvirt_uri_is_qemu(uri)) {
		snprintf(err, errlen, "libvirt: %.300s: not a QEMU driver URI", uri);
		rc = KVMIO_EXIT_BADCONFIG;
		goto out;
	}
	guard("virConnectOpen");
	conn = virConnectOpen(uri);
	unguard();
	if (!conn) {
		rc = call_failed(NULL, "cannot connect to", uri, err, errlen);
		goto out;
	}
	guard("virConnectGetHostname");
	name = virConnectGetHostname(conn);
	unguard();
	if (!name) {
		rc = call_failed(conn, "cannot ask the host name of", uri, err, errlen);
		goto out;
	}
	snprintf(f->hostname, sizeof(f->hostname), "%s", name);
	free(name);
	guard("virConnectGetVersion");
	if (virConnectGetVersion(conn, &hv) == 0 && hv)
		version_text(hv, f->qemu_version, sizeof(f->qemu_version));
	unguard();
	guard("virConnectGetLibVersion");
	if (virConnectGetLibVersion(conn, &lib) == 0 && lib)
		version_text(lib, f->libvirt_version, sizeof(f->libvirt_version));
	unguard();
	guard("virConnectGetCapabilities");
	caps = virConnectGetCapabilities(conn);
	unguard();
	if (!caps) {
		rc = call_failed(conn, "cannot read the capabilities of", uri, err, errlen);
		goto out;
	}
	/* the host's CPU: <host><cpu><vendor>, <model> */
	xml_text(caps, "<host>", "vendor", vendor, sizeof(vendor));
	xml_text(caps, "<host>", "model", f->cpu, sizeof(f->cpu));
	if (vendor[0] && f->cpu[0]) {
		char model[sizeof(f->cpu)];

		memcpy(model, f->cpu, sizeof(model));
		snprintf(f->cpu, sizeof(f->cpu), "%.60s %.120s", vendor, model);
	}
	/* kvm domains: the capabilities list them, and QEMU's domain capabilities for them load */
	if (strstr(caps, "<domain type='kvm'")) {
		guard("virConnectGetDomainCapabilities");
		dom = virConnectGetDomainCapabilities(conn, NULL, "x86_64", NULL, "kvm", 0);
		unguard();
	}
	snprintf(f->flavour, sizeof(f->flavour), "%s", dom ? "kvm" : "tcg");
	f->local = libvirt_uri_is_local(uri);
	if (f->local) {
		/* this machine: kvmio host's own facts beside libvirt's */
		struct host_facts hf;
		struct kvm_flavour k;

		host_facts_read_kvm(&hf);
		host_kvm_flavour(&hf, &k);
		snprintf(f->local_flavour, sizeof(f->local_flavour), "%s",
			 k.backend == KVM_BACKEND_NONE || k.backend == KVM_BACKEND_UNUSABLE ?
			 "tcg (no usable KVM)" : k.label);
		snprintf(f->local_cpu, sizeof(f->local_cpu), "%s", hf.cpu_model);
	}
out:
	free(caps);
	free(dom);
	if (conn) {
		guard("virConnectClose");
		virConnectClose(conn);
		unguard();
	}
	loop_stop(loop, timer, loop_up);
	dir_remove_tree(dir);
	free(dir);
	return rc;
}
