/*
 * --pin (host/boot/pin.c): the CPU list parser, the classification of QEMU's thread names, the
 * launch info's text, and pinning a real process's threads.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "boot/pin.h"

static void parse_ok(const char *s, int n, ...)
{
	struct pin_cpus p;
	char err[256] = "";
	va_list ap;

	assert_int_equal(pin_parse_cpus(s, &p, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(p.n, n);
	va_start(ap, n);
	for (int k = 0; k < n; k++)
		assert_int_equal(p.cpu[k], va_arg(ap, int));
	va_end(ap);
}

static void parse_bad(const char *s, const char *why)
{
	struct pin_cpus p;
	char err[256] = "";

	assert_int_equal(pin_parse_cpus(s, &p, err, sizeof(err)), -1);
	if (!strstr(err, why))
		fail_msg("'%s': '%s' does not say '%s'", s ? s : "(null)", err, why);
}

static void test_parse(void **state)
{
	(void)state;
	parse_ok("1", 1, 1);
	parse_ok("0-1", 2, 0, 1);
	parse_ok("0,2-3", 3, 0, 2, 3);
	parse_ok("3,1", 2, 3, 1);            /* the order given: 3 takes the vCPU */
	parse_ok("5-5", 1, 5);
	parse_ok("0001", 1, 1);
	parse_ok("1023", 1, 1023);
	parse_bad("", "empty");
	parse_bad(NULL, "empty");
	parse_bad("1-0", "range 1-0 goes down");
	parse_bad("1,1", "CPU 1 twice");
	parse_bad("0-2,1", "CPU 1 twice");
	parse_bad("1024", "up to 1023");
	parse_bad("00001", "up to 1023");   /* five digits: a typo, not CPU 1 */
	parse_bad("0-2000", "up to 1023");
	parse_bad("0-99", "more than 64 CPUs");
	parse_bad("a", "bad CPU list 'a'");
	parse_bad("1,", "bad CPU list");
	parse_bad(",1", "bad CPU list");
	parse_bad("1-", "bad CPU list");
	parse_bad("-1", "bad CPU list");
	parse_bad("1 2", "bad CPU list");
	parse_bad("1;2", "bad CPU list");
}

static void test_cpus_text(void **state)
{
	struct pin_cpus p;
	char err[64], text[64];

	(void)state;
	assert_int_equal(pin_parse_cpus("2,0-1", &p, err, sizeof(err)), 0);
	pin_cpus_text(&p, 0, text, sizeof(text));
	assert_string_equal(text, "2,0,1");
	pin_cpus_text(&p, 1, text, sizeof(text));
	assert_string_equal(text, "0,1");
}

static void test_classify(void **state)
{
	(void)state;
	/* QEMU's names with -name ...,debug-threads=on */
	assert_int_equal(pin_classify("CPU 0/TCG", 0), PIN_VCPU);
	assert_int_equal(pin_classify("CPU 0/KVM", 0), PIN_VCPU);
	assert_int_equal(pin_classify("CPU 12/KVM", 0), PIN_VCPU);
	assert_int_equal(pin_classify("IO iothread0", 0), PIN_IOTHREAD);
	assert_int_equal(pin_classify("IO mon_iothread", 0), PIN_IOTHREAD);
	assert_int_equal(pin_classify("call_rcu", 0), PIN_RCU);
	assert_int_equal(pin_classify("qemu-system-x86", 1), PIN_MAIN);
	/* the main thread is the main thread whatever its name */
	assert_int_equal(pin_classify("CPU 0/TCG", 1), PIN_MAIN);
	/* the RCU thread starts before -name is read and keeps the process's name; workers */
	assert_int_equal(pin_classify("qemu-system-x86", 0), PIN_OTHER);
	assert_int_equal(pin_classify("worker", 0), PIN_OTHER);
	/* near misses */
	assert_int_equal(pin_classify("CPU", 0), PIN_OTHER);
	assert_int_equal(pin_classify("CPU x/TCG", 0), PIN_OTHER);
	assert_int_equal(pin_classify("CPU 0/", 0), PIN_OTHER);
	assert_int_equal(pin_classify("IO ", 0), PIN_OTHER);
	assert_int_equal(pin_classify("IOthread", 0), PIN_OTHER);
	assert_int_equal(pin_classify("", 0), PIN_OTHER);
	assert_string_equal(pin_kind_name(PIN_VCPU), "vcpu");
	assert_string_equal(pin_kind_name(PIN_IOTHREAD), "iothread");
}

static void test_outcome_text(void **state)
{
	struct pin_outcome o;
	char err[64], text[512];

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_int_equal(pin_parse_cpus("1,0", &o.cpus, err, sizeof(err)), 0);
	o.applied = 1;
	o.nthreads = 4;
	o.thread[0] = (struct pin_thread){ 100, "qemu-system-x86", PIN_MAIN, 0 };
	o.thread[1] = (struct pin_thread){ 101, "qemu-system-x86", PIN_OTHER, 0 };
	o.thread[2] = (struct pin_thread){ 102, "IO iothread0", PIN_IOTHREAD, 0 };
	o.thread[3] = (struct pin_thread){ 103, "CPU 0/KVM", PIN_VCPU, 0 };
	pin_outcome_text(&o, text, sizeof(text));
	assert_string_equal(text, "CPU 0/KVM (vcpu) -> 1; qemu-system-x86 (main), qemu-system-x86 "
			    "(other), IO iothread0 (iothread) -> 0");
	o.thread[1].err = EINVAL;
	o.thread[3].kind = PIN_OTHER;
	pin_outcome_text(&o, text, sizeof(text));
	assert_non_null(strstr(text, "no vCPU thread found -> 1; "));
	assert_non_null(strstr(text, "qemu-system-x86 (other) [not pinned: Invalid argument]"));
	o.applied = 0;
	snprintf(o.why, sizeof(o.why), "the guest wrote no record");
	pin_outcome_text(&o, text, sizeof(text));
	assert_string_equal(text, "nothing: the guest wrote no record");
}

static void test_allowed(void **state)
{
	struct pin_cpus p;
	cpu_set_t set;
	char err[256];
	int first = 0;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	while (!CPU_ISSET(first, &set))
		first++;
	p = (struct pin_cpus){ .cpu = { first }, .n = 1 };
	assert_int_equal(pin_check_allowed(&p, err, sizeof(err)), 0);
	p = (struct pin_cpus){ .cpu = { first, PIN_CPU_LIMIT - 1 }, .n = 2 };
	assert_int_equal(pin_check_allowed(&p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "CPU 1023 is not one kvmio may run on (allowed: "));
}

/* pin_resolve: "last" is the highest CPU this process may use, a list is parsed and checked;
 * the affinity narrowed to one CPU makes "last" that CPU. */
static void test_resolve(void **state)
{
	struct pin_cpus p;
	cpu_set_t set, one;
	char err[256];
	int last = CPU_SETSIZE - 1;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	while (!CPU_ISSET(last, &set))
		last--;
	assert_int_equal(pin_resolve("last", &p, err, sizeof(err)), 0);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.cpu[0], last);
	assert_int_equal(pin_resolve("1023", &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "CPU 1023 is not one kvmio may run on"));
	assert_int_equal(pin_resolve("lastt", &p, err, sizeof(err)), -1);
	CPU_ZERO(&one);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set)) {
			CPU_SET(c, &one);
			break;
		}
	assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
	assert_int_equal(pin_resolve("last", &p, err, sizeof(err)), 0);
	assert_true(CPU_ISSET(p.cpu[0], &one));
	assert_int_equal(sched_setaffinity(0, sizeof(set), &set), 0);
}

/* A real process (one thread: its main one) gets the CPUs of the rest of the list; a process
 * that is gone leaves nothing applied, at once. */
static void test_apply(void **state)
{
	struct pin_outcome o;
	struct pin_cpus p;
	cpu_set_t set, got;
	int cpus[2], n = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	p = (struct pin_cpus){ .cpu = { cpus[0], cpus[n - 1] }, .n = n };
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	assert_int_equal(pin_apply(pid, &p, &o), 0);
	assert_int_equal(o.applied, 1);
	assert_int_equal(o.nthreads, 1);
	assert_int_equal(o.nvcpus, 0);
	assert_int_equal(o.thread[0].tid, pid);
	assert_int_equal(o.thread[0].kind, PIN_MAIN);
	assert_int_equal(o.thread[0].err, 0);
	assert_int_equal(sched_getaffinity(pid, sizeof(got), &got), 0);
	assert_int_equal(CPU_COUNT(&got), 1);
	assert_true(CPU_ISSET(cpus[n - 1], &got));   /* the rest of the list (or the one CPU) */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	assert_int_equal(pin_apply(pid, &p, &o), -1);
	assert_int_equal(o.applied, 0);
	assert_non_null(strstr(o.why, "could not be listed"));
}

/* pin_verify: the affinities someone else set (libvirt's <cputune>), read back: the same
 * outcome as pin_apply where they match, PIN_ERR_ELSEWHERE where not; nothing is changed. */
static void test_verify(void **state)
{
	struct pin_outcome o;
	struct pin_cpus p;
	cpu_set_t set, one, got;
	int first = 0;
	char text[512];
	pid_t pid;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	while (!CPU_ISSET(first, &set))
		first++;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	CPU_ZERO(&one);
	CPU_SET(first, &one);
	assert_int_equal(sched_setaffinity(pid, sizeof(one), &one), 0);
	p = (struct pin_cpus){ .cpu = { first }, .n = 1 };
	assert_int_equal(pin_verify(pid, &p, &o), 0);
	assert_int_equal(o.applied, 1);
	assert_int_equal(o.nthreads, 1);
	assert_int_equal(o.thread[0].kind, PIN_MAIN);
	assert_int_equal(o.thread[0].err, 0);
	/* asked for another CPU: reported, not moved */
	p = (struct pin_cpus){ .cpu = { first, first + 1 }, .n = 2 };
	assert_int_equal(pin_verify(pid, &p, &o), 0);
	assert_int_equal(o.thread[0].err, PIN_ERR_ELSEWHERE);
	pin_outcome_text(&o, text, sizeof(text));
	assert_non_null(strstr(text, "(main) [not pinned: runs on other CPUs than asked]"));
	assert_int_equal(sched_getaffinity(pid, sizeof(got), &got), 0);
	assert_true(CPU_EQUAL(&got, &one));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_cpus_text),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_outcome_text),
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_verify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
