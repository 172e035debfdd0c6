/* `--pin CPUS`: QEMU's threads onto CPUs (pin.h). */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "boot/pin.h"
#include "lib/file.h"

int pin_parse_cpus(const char *s, struct pin_cpus *p, char *err, size_t errlen)
{
	const char *q = s;

	memset(p, 0, sizeof(*p));
	if (!s || !*s) {
		snprintf(err, errlen, "an empty CPU list");
		return -1;
	}
	for (;;) {
		char *end;
		long lo, hi, digits;

		if (*q < '0' || *q > '9')
			goto bad;
		lo = strtol(q, &end, 10);
		hi = lo;
		digits = end - q;
		q = end;
		if (*q == '-') {
			q++;
			if (*q < '0' || *q > '9')
				goto bad;
			hi = strtol(q, &end, 10);
			if (end - q > digits)
				digits = end - q;
			q = end;
		}
		if (digits > 4)   /* 0001 is 1; no number needs more (and lists stay short) */
			lo = PIN_CPU_LIMIT;
		if (lo >= PIN_CPU_LIMIT || hi >= PIN_CPU_LIMIT) {
			snprintf(err, errlen, "CPU list '%s': CPU numbers go up to %d", s,
				 PIN_CPU_LIMIT - 1);
			return -1;
		}
		if (hi < lo) {
			snprintf(err, errlen, "CPU list '%s': range %ld-%ld goes down", s, lo, hi);
			return -1;
		}
		for (long c = lo; c <= hi; c++) {
			for (int k = 0; k < p->n; k++)
				if (p->cpu[k] == c) {
					snprintf(err, errlen, "CPU list '%s': CPU %ld twice", s, c);
					return -1;
				}
			if (p->n == PIN_MAX_CPUS) {
				snprintf(err, errlen, "CPU list '%s': more than %d CPUs", s,
					 PIN_MAX_CPUS);
				return -1;
			}
			p->cpu[p->n++] = (int)c;
		}
		if (*q == '\0')
			return 0;
		if (*q++ != ',')
			goto bad;
	}
bad:
	snprintf(err, errlen, "bad CPU list '%s' (e.g. 1, 0-1, 0,2-3)", s);
	return -1;
}

void pin_cpus_text(const struct pin_cpus *p, int from, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int k = from; k < p->n && used < len; k++)
		used += (size_t)snprintf(buf + used, len - used, "%s%d", k > from ? "," : "",
					 p->cpu[k]);
}

/* The CPUs this process may run on, into set. 0, or -1 with the reason in err. */
static int own_affinity(cpu_set_t *set, char *err, size_t errlen)
{
	CPU_ZERO(set);
	if (sched_getaffinity(0, sizeof(*set), set) != 0) {
		snprintf(err, errlen, "cannot read this process's CPU affinity: %s",
			 strerror(errno));
		return -1;
	}
	return 0;
}

int pin_check_allowed(const struct pin_cpus *p, char *err, size_t errlen)
{
	cpu_set_t set;

	if (own_affinity(&set, err, errlen) != 0)
		return -1;
	for (int k = 0; k < p->n; k++)
		if (!CPU_ISSET(p->cpu[k], &set)) {
			char allowed[256];
			size_t used = 0;

			allowed[0] = '\0';
			for (int c = 0; c < CPU_SETSIZE && used < sizeof(allowed); c++)
				if (CPU_ISSET(c, &set))
					used += (size_t)snprintf(allowed + used, sizeof(allowed) - used,
								 "%s%d", used ? "," : "", c);
			snprintf(err, errlen, "CPU %d is not one kvmio may run on (allowed: %s)",
				 p->cpu[k], allowed);
			return -1;
		}
	return 0;
}

int pin_resolve(const char *s, struct pin_cpus *p, char *err, size_t errlen)
{
	if (!strcmp(s, PIN_LAST)) {
		cpu_set_t set;

		if (own_affinity(&set, err, errlen) != 0)
			return -1;
		p->n = 0;
		for (int c = CPU_SETSIZE - 1; c >= 0 && !p->n; c--)
			if (CPU_ISSET(c, &set))
				p->cpu[p->n++] = c;
		if (!p->n) {
			snprintf(err, errlen, "this process may run on no CPU");
			return -1;
		}
		return 0;
	}
	if (pin_parse_cpus(s, p, err, errlen) != 0)
		return -1;
	return pin_check_allowed(p, err, errlen);
}

enum pin_kind pin_classify(const char *comm, int is_main)
{
	const char *slash;

	if (is_main)
		return PIN_MAIN;
	if (!strncmp(comm, "CPU ", 4) && comm[4] >= '0' && comm[4] <= '9' &&
	    (slash = strchr(comm, '/')) && slash[1])
		return PIN_VCPU;
	if (!strncmp(comm, "IO ", 3) && comm[3])
		return PIN_IOTHREAD;
	if (!strcmp(comm, "call_rcu"))
		return PIN_RCU;
	return PIN_OTHER;
}

const char *pin_kind_name(enum pin_kind k)
{
	static const char *const names[] = { "vcpu", "main", "iothread", "rcu", "other" };

	return k <= PIN_OTHER ? names[k] : "?";
}

/* Each thread of pid onto its CPUs (set 1), or its affinity compared with them (set 0). */
static int pin_threads(pid_t pid, const struct pin_cpus *cpus, struct pin_outcome *out, int set)
{
	char path[64];
	cpu_set_t vcpu, rest;
	struct dirent *e;
	DIR *d;

	memset(out, 0, sizeof(*out));
	out->cpus = *cpus;
	CPU_ZERO(&vcpu);
	CPU_ZERO(&rest);
	CPU_SET(cpus->cpu[0], &vcpu);
	for (int k = cpus->n > 1 ? 1 : 0; k < cpus->n; k++)
		CPU_SET(cpus->cpu[k], &rest);
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d) {
		snprintf(out->why, sizeof(out->why), "QEMU's threads could not be listed (%s)",
			 strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) && out->nthreads < PIN_MAX_THREADS) {
		struct pin_thread *t = &out->thread[out->nthreads];
		char comm[sizeof(t->name)];   /* a comm holds 15 bytes */
		int tid = atoi(e->d_name);

		if (tid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/comm", (int)pid, tid);
		if (file_read_line(path, comm, sizeof(comm)) != 0)
			continue;   /* gone meanwhile */
		t->tid = tid;
		snprintf(t->name, sizeof(t->name), "%s", comm);
		t->kind = pin_classify(comm, tid == (int)pid);
		if (set) {
			t->err = sched_setaffinity(tid, sizeof(cpu_set_t),
						   t->kind == PIN_VCPU ? &vcpu : &rest) ? errno : 0;
		} else {
			cpu_set_t now;

			CPU_ZERO(&now);
			t->err = sched_getaffinity(tid, sizeof(now), &now) ? errno :
				 CPU_EQUAL(&now, t->kind == PIN_VCPU ? &vcpu : &rest) ? 0 :
				 PIN_ERR_ELSEWHERE;
		}
		out->nvcpus += t->kind == PIN_VCPU;
		out->nthreads++;
	}
	closedir(d);
	if (out->nthreads == 0) {
		snprintf(out->why, sizeof(out->why), "QEMU had no threads left to pin");
		return -1;
	}
	out->applied = 1;
	return 0;
}

int pin_apply(pid_t pid, const struct pin_cpus *cpus, struct pin_outcome *out)
{
	return pin_threads(pid, cpus, out, 1);
}

int pin_verify(pid_t pid, const struct pin_cpus *cpus, struct pin_outcome *out)
{
	return pin_threads(pid, cpus, out, 0);
}

const char *pin_error_text(int err)
{
	return err == PIN_ERR_ELSEWHERE ? "runs on other CPUs than asked" : strerror(err);
}

/* The threads of one side (vCPU or not) as "name (kind), ..." into f. */
static void side_text(FILE *f, const struct pin_outcome *o, int vcpu)
{
	int n = 0;

	for (int i = 0; i < o->nthreads; i++) {
		const struct pin_thread *t = &o->thread[i];

		if ((t->kind == PIN_VCPU) != vcpu)
			continue;
		fprintf(f, "%s%s (%s)", n++ ? ", " : "", t->name, pin_kind_name(t->kind));
		if (t->err)
			fprintf(f, " [not pinned: %s]", pin_error_text(t->err));
	}
	if (n == 0)
		fprintf(f, vcpu ? "no vCPU thread found" : "no other thread");
}

void pin_outcome_text(const struct pin_outcome *o, char *buf, size_t len)
{
	char cpus[256];
	char *s = NULL;
	size_t n = 0;
	FILE *f;

	if (!o->applied) {
		snprintf(buf, len, "nothing: %s", o->why);
		return;
	}
	f = open_memstream(&s, &n);
	if (!f) {
		snprintf(buf, len, "?");
		return;
	}
	side_text(f, o, 1);
	fprintf(f, " -> %d; ", o->cpus.cpu[0]);
	side_text(f, o, 0);
	pin_cpus_text(&o->cpus, o->cpus.n > 1 ? 1 : 0, cpus, sizeof(cpus));
	fprintf(f, " -> %s", cpus);
	fclose(f);
	snprintf(buf, len, "%s", s ? s : "?");
	free(s);
}
