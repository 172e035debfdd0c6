/*
 * kvmio run --hosts (host/matrix/fleet.c), without QEMU or libvirt: the hosts file's parser,
 * the scheduler's decisions fed with events (probes, runs finished, a host lost), and result
 * rows that carry their host (matrix/resultdir.c) with host as a configuration axis in compare.
 * Run from the repository root (tests/data/disk.log is each fake run's serial log).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "analysis/compare.h"
#include "lib/file.h"
#include "matrix/fleet.h"
#include "matrix/resultdir.h"
#include "helpers.h"

/* ---- the hosts file ---- */

static int parse(const char *text, struct fleet_host **h, int *n, char *err)
{
	return fleet_parse_hosts(text, "HOSTS", h, n, err, 512);
}

static void test_hosts_file(void **state)
{
	struct fleet_host *h;
	char err[512];
	int n;

	(void)state;
	assert_int_equal(parse("# the fleet\n\n"
			       "a qemu:///embed?root=/tmp/a   # first\n"
			       "qemu+ssh://root@node2.lab:2222/system?socket=/run/x\n"
			       "  qemu+tcp://10.0.0.7/system\n"
			       "qemu:///system\n"
			       "q qemu+ssh://u@[fe80::1]:22/system\n", &h, &n, err), 0);
	assert_int_equal(n, 5);
	assert_string_equal(h[0].name, "a");
	assert_string_equal(h[0].uri, "qemu:///embed?root=/tmp/a");
	assert_string_equal(h[1].name, "node2.lab");      /* user and port dropped */
	assert_string_equal(h[1].uri, "qemu+ssh://root@node2.lab:2222/system?socket=/run/x");
	assert_string_equal(h[2].name, "10.0.0.7");
	assert_string_equal(h[3].name, "qemu:///system"); /* no host part: the URI */
	assert_string_equal(h[4].name, "q");
	free(h);

	/* a '#' inside a word is not a comment */
	assert_int_equal(parse("x qemu+tcp://h/system#frag\n", &h, &n, err), 0);
	assert_string_equal(h[0].uri, "qemu+tcp://h/system#frag");
	free(h);

	/* bad files: one message, FILE:LINE */
	assert_int_equal(parse("# nothing\n\n", &h, &n, err), -1);
	assert_string_equal(err, "HOSTS: no hosts (one libvirt URI a line, or NAME URI)");
	assert_null(h);
	assert_int_equal(parse("", &h, &n, err), -1);
	assert_int_equal(parse("a qemu:///system\na qemu+ssh://b/system\n", &h, &n, err), -1);
	assert_string_equal(err, "HOSTS:2: host name 'a' given twice");
	assert_int_equal(parse("qemu+ssh://n/system\nn qemu+tcp://n/system\n", &h, &n, err), -1);
	assert_string_equal(err, "HOSTS:2: host name 'n' given twice");
	assert_int_equal(parse("a qemu:///system\nb qemu:///system\n", &h, &n, err), -1);
	assert_non_null(strstr(err, "HOSTS:2: URI qemu:///system given twice"));
	assert_int_equal(parse("a b qemu:///system\n", &h, &n, err), -1);
	assert_non_null(strstr(err, "HOSTS:1: expected URI or NAME URI"));
	assert_int_equal(parse("node1\n", &h, &n, err), -1);
	assert_non_null(strstr(err, "HOSTS:1: 'node1' is not a libvirt URI"));
	assert_int_equal(parse("x xen:///system\n", &h, &n, err), -1);
	assert_non_null(strstr(err, "HOSTS:1: 'xen:///system' is not a URI of libvirt's QEMU"));
	assert_int_equal(parse("x qemu+:///system\n", &h, &n, err), -1);
	assert_int_equal(parse("a/b qemu:///system\n", &h, &n, err), -1);
	assert_non_null(strstr(err, "HOSTS:1: bad host name 'a/b'"));
}

/* ---- the scheduler ---- */

static struct fleet_item item(int cfg, int repeat)
{
	return (struct fleet_item){ cfg, repeat, -1 };
}

static void expect_run(struct fleet_sched *s, int host, int cfg, int repeat)
{
	struct fleet_item it;
	int h = -1;

	assert_int_equal(fleet_sched_next(s, &h, &it), FLEET_RUN);
	assert_int_equal(h, host);
	assert_int_equal(it.cfg, cfg);
	assert_int_equal(it.repeat, repeat);
}

static void expect(struct fleet_sched *s, enum fleet_action a)
{
	struct fleet_item it;
	int h;

	assert_int_equal(fleet_sched_next(s, &h, &it), a);
}

static void probe_all(struct fleet_sched *s, int nhosts, const int *ok)
{
	for (int i = 0; i < nhosts; i++) {
		struct fleet_item it;
		int h = -1;

		assert_int_equal(fleet_sched_next(s, &h, &it), FLEET_PROBE);
		assert_int_equal(h, i);
	}
	for (int i = 0; i < nhosts; i++)
		fleet_sched_probed(s, i, ok[i]);
}

static void test_sched_spread(void **state)
{
	/* 2 configurations x 2 repeats over 2 hosts, one run per host at a time */
	struct fleet_item q[] = { item(0, 1), item(0, 2), item(1, 1), item(1, 2) };
	struct fleet_sched s;
	int up[] = { 1, 1 };

	(void)state;
	assert_int_equal(fleet_sched_init(&s, q, 4, 2, 1), 0);
	probe_all(&s, 2, up);
	expect(&s, FLEET_RUN);          /* c0 r1 on host 0 */
	expect_run(&s, 1, 0, 2);        /* c0 r2 on host 1 */
	expect(&s, FLEET_WAIT);         /* one domain per host */
	/* host 0 finishes first: it leaves c0 alone (host 1 ran it as often) and takes c1 */
	assert_int_equal(fleet_sched_ended(&s, 0, &(struct fleet_item){ 0, 1, -1 },
					   FLEET_FINISHED), 0);
	expect_run(&s, 0, 1, 1);
	assert_int_equal(fleet_sched_ended(&s, 1, &(struct fleet_item){ 0, 2, -1 },
					   FLEET_FINISHED), 0);
	expect_run(&s, 1, 1, 2);
	expect(&s, FLEET_WAIT);
	fleet_sched_ended(&s, 0, &(struct fleet_item){ 1, 1, -1 }, FLEET_FINISHED);
	expect(&s, FLEET_WAIT);         /* the last run is still under way */
	fleet_sched_ended(&s, 1, &(struct fleet_item){ 1, 2, -1 }, FLEET_FINISHED);
	expect(&s, FLEET_DONE);
	fleet_sched_free(&s);

	/* one host: the queue's order; --per-host 2: two at a time */
	assert_int_equal(fleet_sched_init(&s, q, 4, 1, 2), 0);
	probe_all(&s, 1, up);
	expect_run(&s, 0, 0, 1);
	expect_run(&s, 0, 0, 2);
	expect(&s, FLEET_WAIT);
	fleet_sched_free(&s);
}

static void test_sched_host_lost(void **state)
{
	struct fleet_item q[] = { item(0, 1), item(1, 1), item(2, 1) };
	struct fleet_sched s;
	int up[] = { 1, 1 };

	(void)state;
	assert_int_equal(fleet_sched_init(&s, q, 3, 2, 1), 0);
	probe_all(&s, 2, up);
	expect_run(&s, 0, 0, 1);
	expect_run(&s, 1, 1, 1);
	/* host 0 finished its run; host 1 is lost with c1 r1 under way */
	fleet_sched_ended(&s, 0, &(struct fleet_item){ 0, 1, -1 }, FLEET_FINISHED);
	assert_int_equal(fleet_sched_ended(&s, 1, &(struct fleet_item){ 1, 1, -1 }, FLEET_LOST), 1);
	assert_int_equal(fleet_sched_alive(&s), 1);
	/* the lost run is first in line again, for host 0 */
	expect_run(&s, 0, 1, 1);
	expect(&s, FLEET_WAIT);
	fleet_sched_ended(&s, 0, &(struct fleet_item){ 1, 1, -1 }, FLEET_FINISHED);
	expect_run(&s, 0, 2, 1);
	fleet_sched_ended(&s, 0, &(struct fleet_item){ 2, 1, -1 }, FLEET_FINISHED);
	expect(&s, FLEET_DONE);
	fleet_sched_free(&s);

	/* a host whose probe failed never gets a run; when the last one is lost, all are dead */
	{
		int mixed[] = { 0, 1 };

		assert_int_equal(fleet_sched_init(&s, q, 3, 2, 1), 0);
		probe_all(&s, 2, mixed);
		expect_run(&s, 1, 0, 1);
		expect(&s, FLEET_WAIT);
		assert_int_equal(fleet_sched_ended(&s, 1, &(struct fleet_item){ 0, 1, -1 },
						   FLEET_LOST), 1);
		assert_int_equal(fleet_sched_alive(&s), 0);
		expect(&s, FLEET_ALL_DEAD);
		assert_int_equal(s.nqueue, 3);   /* nothing lost: every run still to do */
		fleet_sched_free(&s);
	}

	/* --per-host 2: the second run lost on an already dead host says nothing new; Ctrl-C's
	 * runs are neither finished nor queued */
	assert_int_equal(fleet_sched_init(&s, q, 3, 2, 2), 0);
	probe_all(&s, 2, up);
	expect_run(&s, 0, 0, 1);
	expect_run(&s, 1, 1, 1);
	expect_run(&s, 0, 2, 1);
	assert_int_equal(fleet_sched_ended(&s, 0, &(struct fleet_item){ 0, 1, -1 }, FLEET_LOST), 1);
	assert_int_equal(fleet_sched_ended(&s, 0, &(struct fleet_item){ 2, 1, -1 }, FLEET_LOST), 0);
	assert_int_equal(s.nqueue, 2);
	fleet_sched_ended(&s, 1, &(struct fleet_item){ 1, 1, -1 }, FLEET_STOPPED);
	assert_int_equal(s.nqueue, 2);
	assert_int_equal(s.nrunning, 0);
	fleet_sched_free(&s);
}

static void test_sched_images(void **state)
{
	/* two runs on one file image never run at once, whatever the hosts */
	struct fleet_item q[] = { { 0, 1, 0 }, { 0, 2, 0 }, { 1, 1, -1 } };
	struct fleet_sched s;
	int up[] = { 1, 1 };

	(void)state;
	assert_int_equal(fleet_sched_init(&s, q, 3, 2, 1), 0);
	probe_all(&s, 2, up);
	expect_run(&s, 0, 0, 1);
	expect_run(&s, 1, 1, 1);        /* c0 r2 waits for the image */
	fleet_sched_ended(&s, 1, &(struct fleet_item){ 1, 1, -1 }, FLEET_FINISHED);
	expect(&s, FLEET_WAIT);
	fleet_sched_ended(&s, 0, &(struct fleet_item){ 0, 1, 0 }, FLEET_FINISHED);
	expect_run(&s, 1, 0, 2);
	fleet_sched_free(&s);
}

/* ---- result rows with their host ---- */

static void fake_run(const char *dir, const struct job_config *c, int r, const char *host,
		     int code)
{
	char path[512];
	char *log = test_read("tests/data/disk.log");

	assert_non_null(log);
	assert_int_equal(resultdir_run_begin(dir, c, r, "# cmd\n", 0, ""), 0);
	resultdir_run_path(dir, c->id, r, RESULTDIR_RUN_LOG, path, sizeof(path));
	test_write_file(path, log);
	free(log);
	if (host)
		assert_int_equal(resultdir_run_set_host(dir, c->id, r, host), 0);
	assert_int_equal(resultdir_run_end(dir, c->id, r, code), 0);
}

static void test_rows_with_hosts(void **state)
{
	struct job_file jf;
	struct job_matrix m;
	struct libvirt_facts fa = { .hostname = "node-a", .qemu_version = "7.2.0",
				    .libvirt_version = "9.0.0", .cpu = "AMD EPYC-Rome",
				    .flavour = "kvm" };
	struct libvirt_facts fb = { .hostname = "node-b", .qemu_version = "8.2.1",
				    .libvirt_version = "10.0.0", .cpu = "Intel Skylake",
				    .flavour = "tcg" };
	struct cmp_data d;
	char err[512], path[512], *csv, *out = NULL;
	size_t len = 0;
	FILE *f;
	int a, b, colhost;

	(void)state;
	assert_int_equal(job_load_string("t.ini", "[d]\ndisk = virtio-blk, ide\nbackend = null\n"
					 "bench = disk\nrepeat = 2\n", &jf, err, sizeof(err)), 0);
	assert_int_equal(job_expand(&jf, test_dir, &m, err, sizeof(err)), 0);
	assert_int_equal(m.n, 2);
	assert_int_equal(resultdir_claim(test_dir, "tests/data/job-tiny.ini", 0, err, sizeof(err)), 0);
	assert_int_equal(resultdir_write_matrix(test_dir, &m), 0);
	assert_int_equal(resultdir_write_host(test_dir, "a", "qemu+ssh://a/system", "up", "", &fa),
			 0);
	assert_int_equal(resultdir_write_host(test_dir, "b", "qemu+ssh://b/system", "dead",
					      "libvirt: lost", &fb), 0);
	assert_int_equal(resultdir_write_host(test_dir, "c", "qemu+ssh://c/system", "dead",
					      "libvirt: cannot connect", NULL), 0);
	for (int i = 0; i < 2; i++) {
		fake_run(test_dir, &m.cfg[i], 1, "a", 0);
		fake_run(test_dir, &m.cfg[i], 2, "b", 0);
	}
	assert_int_equal(resultdir_write_results(test_dir, "t.ini", &m, NULL, NULL), 0);
	snprintf(path, sizeof(path), "%s/results.csv", test_dir);
	csv = test_read(path);
	assert_non_null(csv);
	/* the host columns last: older readers find theirs where they were */
	assert_non_null(strstr(csv, ",host_tsc_hz,tsc_error_ppm,host_lost_pct,host_work_ns,host_disk_ns,host,"
			       "host_flavour,"
			       "host_cpu,host_qemu_version\n"));
	assert_non_null(strstr(csv, ",a,kvm,AMD EPYC-Rome,7.2.0\n"));
	assert_non_null(strstr(csv, ",b,tcg,Intel Skylake,8.2.1\n"));
	free(csv);
	snprintf(path, sizeof(path), "%s/results.json", test_dir);
	csv = test_read(path);
	assert_non_null(strstr(csv, "\"host\":\"b\",\"host_flavour\":\"tcg\",\"host_cpu\":"
			       "\"Intel Skylake\",\"host_qemu_version\":\"8.2.1\""));
	free(csv);

	/* host a configuration axis: c001@a, c001@b, ... with host= */
	assert_int_equal(compare_load(test_dir, &d, err, sizeof(err)), 0);
	assert_int_equal(d.rd.ncfg, 4);
	a = resultdir_config_index(&d.rd, "c001@a");
	b = resultdir_config_index(&d.rd, "c001@b");
	assert_true(a >= 0 && b >= 0);
	assert_string_equal(resultdir_param(&d.rd.cfg[b], "host"), "b");
	assert_string_equal(d.rd.cfg[b].run_id, "c001");
	assert_int_equal(d.rd.nhosts, 3);
	colhost = resultdir_column(&d.rd, "host");
	assert_true(colhost >= 0);
	for (int i = 0; i < d.rd.nhosts; i++) {
		const struct resultdir_host *h = &d.rd.hosts[i];

		if (!strcmp(h->name, "a")) {
			assert_int_equal(h->nruns, 2);
			assert_string_equal(h->cpu, "AMD EPYC-Rome");
			assert_string_equal(h->state, "up");
		} else if (!strcmp(h->name, "b")) {
			assert_int_equal(h->nruns, 2);
			assert_string_equal(h->state, "dead");
			assert_string_equal(h->qemu_version, "8.2.1"); /* its facts kept */
		} else {
			assert_string_equal(h->name, "c");
			assert_int_equal(h->nruns, 0);
			assert_null(h->cpu);
			assert_string_equal(h->error, "libvirt: cannot connect");
		}
	}
	compare_free(&d);
	f = open_memstream(&out, &len);
	assert_int_equal(compare_command(3, (char *[]){ test_dir, "--baseline", "host=a" }, f), 0);
	fclose(f);
	assert_non_null(strstr(out, "c001@b vs c001@a (host: a -> b)"));
	assert_non_null(strstr(out, "c002@b vs c002@a (host: a -> b)"));
	free(out);
	job_matrix_free(&m);
	job_file_free(&jf);
}

/* Rows from one host (and older result directories) keep their plain ids. */
static void test_rows_one_host(void **state)
{
	struct job_file jf;
	struct job_matrix m;
	struct cmp_data d;
	char err[512], path[512], *csv;

	(void)state;
	assert_int_equal(job_load_string("t.ini", "[d]\ndisk = virtio-blk\nbackend = null\n"
					 "bench = disk\nrepeat = 1\n", &jf, err, sizeof(err)), 0);
	assert_int_equal(job_expand(&jf, test_dir, &m, err, sizeof(err)), 0);
	assert_int_equal(resultdir_claim(test_dir, "tests/data/job-tiny.ini", 0, err, sizeof(err)), 0);
	assert_int_equal(resultdir_write_matrix(test_dir, &m), 0);
	fake_run(test_dir, &m.cfg[0], 1, NULL, 0);
	assert_int_equal(resultdir_write_results(test_dir, "t.ini", &m, NULL, NULL), 0);
	snprintf(path, sizeof(path), "%s/results.csv", test_dir);
	csv = test_read(path);
	assert_non_null(strstr(csv, ",local,"));
	free(csv);
	assert_int_equal(compare_load(test_dir, &d, err, sizeof(err)), 0);
	assert_int_equal(d.rd.ncfg, 1);
	assert_string_equal(d.rd.cfg[0].id, "c001");
	assert_null(resultdir_param(&d.rd.cfg[0], "host"));
	compare_free(&d);
	/* the fixture without host columns */
	assert_int_equal(compare_load("tests/data/compare", &d, err, sizeof(err)), 0);
	assert_int_equal(d.rd.nhosts, 0);
	assert_int_equal(resultdir_config_index(&d.rd, "c001"), 0);
	compare_free(&d);
	job_matrix_free(&m);
	job_file_free(&jf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hosts_file),
		cmocka_unit_test(test_sched_spread),
		cmocka_unit_test(test_sched_host_lost),
		cmocka_unit_test(test_sched_images),
		TEST_IN_DIR(test_rows_with_hosts),
		TEST_IN_DIR(test_rows_one_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
