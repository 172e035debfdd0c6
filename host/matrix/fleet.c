/* `kvmio run --hosts FILE`: the hosts file, the scheduler, the runs over the hosts (fleet.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "boot/libvirt.h"
#include "kvmio_proto.h"
#include "lib/proc.h"
#include "matrix/fleet.h"
#include "matrix/resultdir.h"

/* Paths are bounded: cmd_run refuses a DIR longer than 1024 bytes. */
#ifndef __clang__
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

/* ---- the hosts file ----------------------------------------------------------------------- */

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

/* The host part of a URI (scheme://[user@]HOST[:port]/...) into out; "" if it has none. */
static void uri_host(const char *uri, char *out, size_t len)
{
	const char *p = strstr(uri, "://"), *at;
	size_t n;

	out[0] = '\0';
	if (!p)
		return;
	p += 3;
	n = strcspn(p, "/?");
	at = memchr(p, '@', n);
	if (at) {
		n -= (size_t)(at + 1 - p);
		p = at + 1;
	}
	if (n && p[0] == '[') {            /* [IPv6]:port */
		const char *e = memchr(p, ']', n);

		n = e ? (size_t)(e + 1 - p) : n;
	} else {
		n = strcspn(p, ":/?") < n ? strcspn(p, ":/?") : n;
	}
	if (n < len)
		snprintf(out, len, "%.*s", (int)n, p);
}

int fleet_parse_hosts(const char *text, const char *path, struct fleet_host **hosts, int *n,
		      char *err, size_t errlen)
{
	struct fleet_host *h = NULL;
	int count = 0, lineno = 0;

	*hosts = NULL;
	*n = 0;
	for (const char *line = text; line && *line;) {
		size_t len = strcspn(line, "\n");
		char buf[2 * FLEET_URI_MAX], *f[3], *save = NULL, *c;
		int nf = 0;
		struct fleet_host one, *nh;

		lineno++;
		if (len >= sizeof(buf)) {
			snprintf(err, errlen, "%s:%d: line too long", path, lineno);
			goto bad;
		}
		memcpy(buf, line, len);
		buf[len] = '\0';
		line += len + (line[len] == '\n');
		/* a comment: '#' at the start or after a blank (a URI may hold '#' elsewhere) */
		for (c = buf; *c; c++)
			if (*c == '#' && (c == buf || c[-1] == ' ' || c[-1] == '\t')) {
				*c = '\0';
				break;
			}
		for (char *t = strtok_r(buf, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
			if (nf == 2) {
				snprintf(err, errlen, "%s:%d: expected URI or NAME URI, got more words",
					 path, lineno);
				goto bad;
			}
			f[nf++] = t;
		}
		if (nf == 0)
			continue;
		memset(&one, 0, sizeof(one));
		if (!strstr(f[nf - 1], ":/")) {
			snprintf(err, errlen, "%s:%d: '%.200s' is not a libvirt URI (like "
				 "qemu+ssh://HOST/system)", path, lineno, f[nf - 1]);
			goto bad;
		}
		if (!libvirt_uri_is_qemu(f[nf - 1])) {
			snprintf(err, errlen, "%s:%d: '%.200s' is not a URI of libvirt's QEMU driver "
				 "(qemu:///..., qemu+ssh://...)", path, lineno, f[nf - 1]);
			goto bad;
		}
		if (strlen(f[nf - 1]) >= sizeof(one.uri)) {
			snprintf(err, errlen, "%s:%d: URI too long", path, lineno);
			goto bad;
		}
		snprintf(one.uri, sizeof(one.uri), "%s", f[nf - 1]);
		if (nf == 2) {
			for (c = f[0]; *c && name_char(*c); c++)
				;
			if (*c || strlen(f[0]) >= sizeof(one.name)) {
				snprintf(err, errlen, "%s:%d: bad host name '%.100s' (letters, digits, "
					 "'.', '_', '-'; at most %d)", path, lineno, f[0],
					 FLEET_NAME_MAX - 1);
				goto bad;
			}
			snprintf(one.name, sizeof(one.name), "%s", f[0]);
		} else {
			uri_host(one.uri, one.name, sizeof(one.name));
			if (!one.name[0]) {
				if (strlen(one.uri) >= sizeof(one.name)) {
					snprintf(err, errlen, "%s:%d: the URI has no host part and is "
						 "too long for a name: give one (NAME URI)", path, lineno);
					goto bad;
				}
				snprintf(one.name, sizeof(one.name), "%s", one.uri);
			}
		}
		for (int k = 0; k < count; k++) {
			char a[FLEET_NAME_MAX], b[FLEET_NAME_MAX];

			resultdir_host_file(h[k].name, a, sizeof(a));
			resultdir_host_file(one.name, b, sizeof(b));
			if (!strcmp(h[k].name, one.name) || !strcmp(a, b)) {
				snprintf(err, errlen, "%s:%d: host name '%s' given twice", path, lineno,
					 one.name);
				goto bad;
			}
			if (!strcmp(h[k].uri, one.uri)) {
				snprintf(err, errlen, "%s:%d: URI %.200s given twice", path, lineno,
					 one.uri);
				goto bad;
			}
		}
		if (count == FLEET_MAX_HOSTS) {
			snprintf(err, errlen, "%s:%d: more than %d hosts", path, lineno,
				 FLEET_MAX_HOSTS);
			goto bad;
		}
		nh = realloc(h, sizeof(*h) * (size_t)(count + 1));
		if (!nh) {
			snprintf(err, errlen, "out of memory");
			goto bad;
		}
		h = nh;
		h[count++] = one;
	}
	if (count == 0) {
		snprintf(err, errlen, "%s: no hosts (one libvirt URI a line, or NAME URI)", path);
		goto bad;
	}
	*hosts = h;
	*n = count;
	return 0;
bad:
	free(h);
	return -1;
}

/* ---- the scheduler ------------------------------------------------------------------------ */

int fleet_sched_init(struct fleet_sched *s, const struct fleet_item *items, int n, int nhosts,
		     int per_host)
{
	memset(s, 0, sizeof(*s));
	s->cap = n + 1;
	s->nhosts = nhosts;
	s->per_host = per_host > 0 ? per_host : 1;
	s->queue = calloc((size_t)s->cap, sizeof(*s->queue));
	s->running = calloc((size_t)s->cap, sizeof(*s->running));
	s->running_host = calloc((size_t)s->cap, sizeof(int));
	s->state = calloc((size_t)nhosts + 1, sizeof(*s->state));
	s->busy = calloc((size_t)nhosts + 1, sizeof(int));
	s->started = calloc((size_t)nhosts + 1, sizeof(int));
	if (!s->queue || !s->running || !s->running_host || !s->state || !s->busy || !s->started) {
		fleet_sched_free(s);
		return -1;
	}
	memcpy(s->queue, items, sizeof(*items) * (size_t)n);
	s->nqueue = n;
	for (int k = 0; k < n; k++)
		if (items[k].cfg >= s->ncfg)
			s->ncfg = items[k].cfg + 1;
	s->ran = calloc((size_t)nhosts * (size_t)s->ncfg + 1, sizeof(int));
	if (!s->ran) {
		fleet_sched_free(s);
		return -1;
	}
	return 0;
}

void fleet_sched_free(struct fleet_sched *s)
{
	free(s->queue);
	free(s->running);
	free(s->running_host);
	free(s->state);
	free(s->busy);
	free(s->started);
	free(s->ran);
	memset(s, 0, sizeof(*s));
}

int fleet_sched_alive(const struct fleet_sched *s)
{
	int n = 0;

	for (int h = 0; h < s->nhosts; h++)
		n += s->state[h] != FLEET_HOST_DEAD;
	return n;
}

static int image_in_use(const struct fleet_sched *s, int image)
{
	for (int k = 0; image >= 0 && k < s->nrunning; k++)
		if (s->running[k].image == image)
			return 1;
	return 0;
}

/* Is item q passed over by host h (another live host has run its configuration fewer times)? */
static int passed_over(const struct fleet_sched *s, int h, int q)
{
	int cfg = s->queue[q].cfg, mine = s->ran[h * s->ncfg + cfg];

	for (int o = 0; o < s->nhosts; o++)
		if (o != h && s->state[o] != FLEET_HOST_DEAD && s->ran[o * s->ncfg + cfg] < mine)
			return 1;
	return 0;
}

enum fleet_action fleet_sched_next(struct fleet_sched *s, int *host, struct fleet_item *item)
{
	int first_host = -1, pick = -1, best = -1, first = -1;
	char tried[FLEET_MAX_HOSTS] = { 0 };

	if (s->nqueue == 0)
		return s->nrunning == 0 ? FLEET_DONE : FLEET_WAIT;
	if (fleet_sched_alive(s) == 0)
		return s->nrunning == 0 ? FLEET_ALL_DEAD : FLEET_WAIT;
	for (int h = 0; h < s->nhosts; h++)
		if (s->state[h] == FLEET_HOST_UNKNOWN) {
			s->state[h] = FLEET_HOST_PROBING;
			*host = h;
			return FLEET_PROBE;
		}
	for (int q = 0; q < s->nqueue && first < 0; q++)
		if (!image_in_use(s, s->queue[q].image))
			first = q;
	if (first < 0)
		return FLEET_WAIT;
	/* the free hosts in order of preference, each offered the first item it does not pass
	 * over; when every one passes over every item, the first item to the first host */
	for (;;) {
		best = -1;
		for (int h = 0; h < s->nhosts && h < FLEET_MAX_HOSTS; h++) {
			if (tried[h] || s->state[h] != FLEET_HOST_UP || s->busy[h] >= s->per_host)
				continue;
			if (best < 0 || s->busy[h] < s->busy[best] ||
			    (s->busy[h] == s->busy[best] && s->started[h] < s->started[best]))
				best = h;
		}
		if (best < 0)
			break;
		tried[best] = 1;
		if (first_host < 0)
			first_host = best;
		for (int q = first; q < s->nqueue && pick < 0; q++)
			if (!image_in_use(s, s->queue[q].image) && !passed_over(s, best, q))
				pick = q;
		if (pick >= 0)
			break;
	}
	if (first_host < 0)
		return FLEET_WAIT;
	if (pick < 0) {
		pick = first;
		best = first_host;
	}
	*item = s->queue[pick];
	*host = best;
	s->ran[best * s->ncfg + item->cfg]++;
	memmove(&s->queue[pick], &s->queue[pick + 1],
		sizeof(*s->queue) * (size_t)(s->nqueue - pick - 1));
	s->nqueue--;
	s->running[s->nrunning] = *item;
	s->running_host[s->nrunning++] = best;
	s->busy[best]++;
	s->started[best]++;
	return FLEET_RUN;
}

void fleet_sched_probed(struct fleet_sched *s, int host, int ok)
{
	if (host >= 0 && host < s->nhosts)
		s->state[host] = ok ? FLEET_HOST_UP : FLEET_HOST_DEAD;
}

int fleet_sched_ended(struct fleet_sched *s, int host, const struct fleet_item *item,
		      enum fleet_outcome outcome)
{
	int k, died = 0;

	for (k = 0; k < s->nrunning; k++)
		if (s->running_host[k] == host && s->running[k].cfg == item->cfg &&
		    s->running[k].repeat == item->repeat)
			break;
	if (k == s->nrunning)
		return 0;
	memmove(&s->running[k], &s->running[k + 1], sizeof(*s->running) * (size_t)(s->nrunning - k - 1));
	memmove(&s->running_host[k], &s->running_host[k + 1],
		sizeof(int) * (size_t)(s->nrunning - k - 1));
	s->nrunning--;
	s->busy[host]--;
	if (outcome == FLEET_LOST) {
		died = s->state[host] != FLEET_HOST_DEAD;
		s->state[host] = FLEET_HOST_DEAD;
		/* first in line again, for the other hosts */
		memmove(&s->queue[1], &s->queue[0], sizeof(*s->queue) * (size_t)s->nqueue);
		s->queue[0] = *item;
		s->nqueue++;
	}
	return died;
}

/* ---- running ------------------------------------------------------------------------------ */

struct fleet_child {
	pid_t pid;
	int host, probe;          /* probe: reading the host's facts, else a run */
	struct fleet_item item;
	double start;
	int fd;                   /* probe: the read end of its pipe */
};

/* The probe: in a child process of its own (an embedded driver stays in the process that opened
 * it), the facts and the error as bytes on fd; exits 0 or libvirt_host_facts's code. */
static void probe_child(const char *uri, int fd)
{
	struct libvirt_facts f;
	char err[1024];
	int rc;

	rc = libvirt_host_facts(uri, &f, err, sizeof(err));
	if (write(fd, &f, sizeof(f)) != (ssize_t)sizeof(f) ||
	    write(fd, err, strlen(err) + 1) != (ssize_t)(strlen(err) + 1))
		rc = KVMIO_EXIT_IO;
	_exit(rc);
}

static pid_t probe_start(const char *uri, int *fdp)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		close(p[0]);
		if (nul >= 0) {
			dup2(nul, 0);
			dup2(nul, 1);
		}
		probe_child(uri, p[1]);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	setpgid(pid, pid);
	*fdp = p[0];
	return pid;
}

/* A probe ended (code; -1 when it was killed at its deadline): the host up, or dead. */
static int probe_end(struct fleet_run *fr, struct fleet_child *kd, int code,
		     struct libvirt_facts *facts)
{
	const struct fleet_host *h = &fr->hosts[kd->host];
	struct libvirt_facts f;
	char buf[sizeof(f) + 1100];
	size_t got = 0;
	ssize_t n;
	const char *err;

	memset(&f, 0, sizeof(f));
	while (got < sizeof(buf) - 1 && (n = read(kd->fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	close(kd->fd);
	buf[got] = '\0';
	if (got >= sizeof(f))
		memcpy(&f, buf, sizeof(f));
	err = got > sizeof(f) && buf[sizeof(f)] ? buf + sizeof(f) : code < 0 ?
	      "no answer within the deadline" : "the facts could not be read";
	if (code == 0 && got >= sizeof(f)) {
		fprintf(stderr, "kvmio: run: host %s (%s): %s, %s, CPU %s, QEMU %s, libvirt %s\n",
			h->name, h->uri, f.hostname, f.flavour, f.cpu[0] ? f.cpu : "unknown",
			f.qemu_version[0] ? f.qemu_version : "unknown",
			f.libvirt_version[0] ? f.libvirt_version : "unknown");
		resultdir_write_host(fr->dir, h->name, h->uri, "up", "", &f);
		facts[kd->host] = f;
		return 1;
	}
	fprintf(stderr, "kvmio: run: host %s dead: %s\n", h->name, err);
	resultdir_write_host(fr->dir, h->name, h->uri, "dead", err, NULL);
	return 0;
}

#define FLEET_TICK_US 100000

/* Does the host still answer? A probe as at the start, waited for here (FLEET_PROBE_TIMEOUT_S).
 * kvmio boot says a host it cannot reach is a bad configuration ("cannot connect", exit 2), as
 * for a wrong URI; a run that ends so on a host that no longer answers was lost with its host. */
static int host_answers(const struct fleet_run *fr, int host)
{
	int fd, status = 0;
	pid_t pid = probe_start(fr->hosts[host].uri, &fd);
	double t0 = clock_now_s();

	if (pid < 0)
		return 1; /* cannot tell: the run's own outcome stands */
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (clock_now_s() - t0 > FLEET_PROBE_TIMEOUT_S) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			close(fd);
			return 0;
		}
		usleep(FLEET_TICK_US);
	}
	close(fd);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void stop_all(struct fleet_child *kids, int nkids)
{
	for (int k = 0; k < nkids; k++)
		if (kids[k].pid > 0)
			kill(-kids[k].pid, SIGTERM);
	for (int k = 0; k < nkids; k++) {
		int status;

		if (kids[k].pid <= 0)
			continue;
		for (int t = 0; t < 100; t++) {
			if (waitpid(kids[k].pid, &status, WNOHANG) == kids[k].pid)
				break;
			if (t == 99) {
				kill(-kids[k].pid, SIGKILL);
				waitpid(kids[k].pid, &status, 0);
			}
			usleep(50000);
		}
		if (kids[k].probe)
			close(kids[k].fd);
		kids[k].pid = 0;
	}
}

int fleet_run(struct fleet_run *fr, const struct run_step *todo, int ntodo,
	      volatile sig_atomic_t *stop)
{
	struct fleet_item *items = calloc((size_t)ntodo + 1, sizeof(*items));
	int nkids = fr->nhosts * (fr->per_host + 1), rc = KVMIO_EXIT_OK, running = 0;
	struct fleet_child *kids = calloc((size_t)nkids, sizeof(*kids));
	struct libvirt_facts *facts = calloc((size_t)fr->nhosts + 1, sizeof(*facts));
	int *probed = calloc((size_t)fr->nhosts + 1, sizeof(int));
	struct fleet_sched s;

	if (!items || !kids || !facts || !probed || fr->nhosts > FLEET_MAX_HOSTS) {
		free(items);
		free(kids);
		free(facts);
		free(probed);
		return KVMIO_EXIT_IO;
	}
	for (int k = 0; k < ntodo; k++)
		items[k] = (struct fleet_item){ todo[k].cfg, todo[k].repeat,
						fr->m->cfg[todo[k].cfg].image };
	if (fleet_sched_init(&s, items, ntodo, fr->nhosts, fr->per_host) != 0) {
		free(items);
		free(kids);
		free(facts);
		free(probed);
		return KVMIO_EXIT_IO;
	}
	free(items);
	while (!*stop) {
		struct fleet_item it;
		enum fleet_action a;
		int host, status, slot;
		pid_t pid;

		/* start what can start */
		while (!*stop && (a = fleet_sched_next(&s, &host, &it)) != FLEET_WAIT &&
		       a != FLEET_DONE && a != FLEET_ALL_DEAD) {
			char connect[FLEET_URI_MAX + 16];
			const struct job_config *c = &fr->m->cfg[it.cfg];

			for (slot = 0; kids[slot].pid > 0; slot++)
				;
			if (a == FLEET_PROBE) {
				pid = probe_start(fr->hosts[host].uri, &kids[slot].fd);
				if (pid < 0) {
					fprintf(stderr, "kvmio: run: cannot start a probe of %s: %s\n",
						fr->hosts[host].name, strerror(errno));
					rc = KVMIO_EXIT_IO;
					*stop = 1;
					break;
				}
				kids[slot] = (struct fleet_child){ pid, host, 1, it, clock_now_s(),
								   kids[slot].fd };
				running++;
				continue;
			}
			snprintf(connect, sizeof(connect), "--connect=%s", fr->hosts[host].uri);
			pid = run_start(fr->exe, fr->dir, c, it.repeat, NULL, connect);
			if (pid > 0)
				resultdir_run_set_host(fr->dir, c->id, it.repeat, fr->hosts[host].name);
			if (pid < 0) {
				fprintf(stderr, "kvmio: run: cannot start %s r%d: %s\n", c->id,
					it.repeat, strerror(errno));
				rc = KVMIO_EXIT_IO;
				*stop = 1;
				break;
			}
			kids[slot] = (struct fleet_child){ pid, host, 0, it, clock_now_s(), -1 };
			running++;
		}
		if (*stop)
			break;
		if (running == 0) {
			a = fleet_sched_next(&s, &host, &it);
			if (a == FLEET_ALL_DEAD) {
				fprintf(stderr, "kvmio: run: every host is dead: %d of %d runs finished; "
					"--resume (with another --hosts file) runs the rest\n", fr->done,
					fr->total);
				rc = KVMIO_EXIT_HOST_LOST;
			}
			break;
		}
		pid = waitpid(-1, &status, WNOHANG);
		if (pid < 0 && errno != EINTR)
			break;
		if (pid <= 0) {
			/* probes have a deadline of their own (each libvirt call has one inside) */
			for (int k = 0; k < nkids; k++)
				if (kids[k].pid > 0 && kids[k].probe &&
				    clock_now_s() - kids[k].start > FLEET_PROBE_TIMEOUT_S)
					kill(-kids[k].pid, SIGKILL);
			usleep(FLEET_TICK_US);
			continue;
		}
		for (int k = 0; k < nkids; k++) {
			struct fleet_child *kd = &kids[k];
			const struct job_config *c;
			const char *hn;
			double took;
			int code;

			if (kd->pid != pid)
				continue;
			code = WIFEXITED(status) ? WEXITSTATUS(status)
						 : PROC_EXIT_SIGNALLED(WTERMSIG(status));
			kd->pid = 0;
			running--;
			if (kd->probe) {
				probed[kd->host] = probe_end(fr, kd, WIFEXITED(status) ? code : -1,
							     facts);
				fleet_sched_probed(&s, kd->host, probed[kd->host]);
				break;
			}
			c = &fr->m->cfg[kd->item.cfg];
			hn = fr->hosts[kd->host].name;
			took = clock_now_s() - kd->start;
			if (*stop && (code == KVMIO_EXIT_INTERRUPTED || !WIFEXITED(status))) {
				fleet_sched_ended(&s, kd->host, &kd->item, FLEET_STOPPED);
				break;
			}
			if (code == KVMIO_EXIT_BADCONFIG && !host_answers(fr, kd->host))
				code = KVMIO_EXIT_HOST_LOST;
			if (code == KVMIO_EXIT_HOST_LOST) {
				char *why = resultdir_run_failure(fr->dir, c->id, kd->item.repeat);

				if (fleet_sched_ended(&s, kd->host, &kd->item, FLEET_LOST)) {
					fprintf(stderr, "kvmio: run: host %s lost: %s; its unfinished runs "
						"go to the other hosts (%d left)\n", hn,
						why && why[0] ? why : "(no message)",
						fleet_sched_alive(&s));
					/* dead, its facts kept for the rows of its finished runs */
					resultdir_write_host(fr->dir, hn, fr->hosts[kd->host].uri,
							     "dead", why ? why : "",
							     probed[kd->host] ? &facts[kd->host] : NULL);
				}
				fprintf(stderr, "run %s r%d on %s: host lost, queued again\n", c->id,
					kd->item.repeat, hn);
				free(why);
				break;
			}
			fleet_sched_ended(&s, kd->host, &kd->item, FLEET_FINISHED);
			resultdir_run_end(fr->dir, c->id, kd->item.repeat, code);
			fr->done++;
			fr->failed += code != 0;
			fr->runs_per_host[kd->host]++;
			fprintf(stderr, "run %d/%d %s r%d on %s: %s (%.1f s)%s%s\n", fr->done,
				fr->total, c->id, kd->item.repeat, hn, run_exit_word(code), took,
				code ? ", see " : "", code ? "stderr.txt" : "");
			break;
		}
	}
	if (*stop)
		stop_all(kids, nkids);
	fleet_sched_free(&s);
	free(kids);
	free(facts);
	free(probed);
	return rc;
}
