/* host/job.c: job files (errors with FILE:LINE), expansion order and counts, skips. */
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "matrix/job.h"

static char err[1024];

static int load(const char *text, struct job_file *jf)
{
	err[0] = '\0';
	return job_load_string("t.ini", text, jf, err, sizeof(err));
}

static void expect_error(const char *text, const char *want)
{
	struct job_file jf;

	assert_int_equal(load(text, &jf), 2);
	if (!strstr(err, want))
		fail_msg("error '%s' lacks '%s'", err, want);
}

static void test_unknown_key_line(void **state)
{
	struct job_file jf;

	(void)state;
	/* the file on disk: line 7 */
	assert_int_equal(job_load("tests/data/job-unknown-key.ini", &jf, err, sizeof(err)), 2);
	assert_non_null(strstr(err, "tests/data/job-unknown-key.ini:7: unknown key 'bogus'"));
	expect_error("[global]\nrepeat = 2\n\n; comment\n[disk]\ndisk = ide\nbogus = 1\n",
		     "t.ini:7: unknown key 'bogus'");
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("[disk]\ndisk = ide\nrw =\n", "t.ini:3: empty value for 'rw'");
	expect_error("[disk]\ndisk = ide\nthis is garbage\n", "t.ini:3: malformed line");
	expect_error("[disk\ndisk = ide\n", "t.ini:1: bad section header");
	expect_error("[disk]\ndisk = ide,,virtio-blk\n", "t.ini:2: disk: bad list");
	expect_error("[disk]\ndisk = ide,\n", "t.ini:2: disk: bad list");
	expect_error("[disk]\nrepeat = 2,3\n", "t.ini:2: repeat: takes one value");
	expect_error("[disk]\nrepeat = zero\n", "t.ini:2: repeat:");
	expect_error("[disk]\ndisk = ide\ndisk = virtio-blk\n", "t.ini:3: 'disk' given twice");
	expect_error("disk = ide\n", "t.ini:1: 'disk' outside a section");
	expect_error("[global]\nops = 1\n", "no job section");
	/* the first problem wins: a garbage line before an unknown key */
	expect_error("[d]\nnonsense\nbogus = 1\n", "t.ini:2: malformed line");
	expect_error("[d]\nbogus = 1\nnonsense\n", "t.ini:2: unknown key");
	/* values of guest options: the guest's own table, before anything runs */
	expect_error("[disk]\ndisk = ide\nqd = 1, abc\n", "t.ini:3: qd = abc: not a number (guest "
		     "option qd)");
	expect_error("[global]\nbs = 4096\nrw = sideways\n[disk]\ndisk = ide\n",
		     "t.ini:3: rw = sideways: not one of the allowed values");
	expect_error("[net]\nnet = e1000\nframe = 60, 2000\n", "t.ini:3: frame = 2000: out of "
		     "range (guest option size)");
	expect_error("[d]\nbench = exits, nope\n", "t.ini:2: bench = nope:");
}

static void test_expansion_order(void **state)
{
	struct job_file jf;
	struct job_matrix m;

	(void)state;
	assert_int_equal(load("[global]\ndisk = ide, virtio-blk\nops = 100\n"
			      "[a]\nrw = randread,write\nbs=512, 4096,8192\n"
			      "[b]\nops = 200\ndisk = virtio-blk\n", &jf), 0);
	assert_int_equal(job_expand(&jf, "D", &m, err, sizeof(err)), 0);
	assert_int_equal(m.n, 2 * 2 * 3 + 1);
	/* the first key varies slowest, the last fastest */
	assert_string_equal(m.cfg[0].id, "c001");
	assert_string_equal(job_param(&m.cfg[0], "disk"), "ide");
	assert_string_equal(job_param(&m.cfg[0], "rw"), "randread");
	assert_string_equal(job_param(&m.cfg[0], "bs"), "512");
	assert_string_equal(job_param(&m.cfg[1], "bs"), "4096");
	assert_string_equal(job_param(&m.cfg[3], "rw"), "write");
	assert_string_equal(job_param(&m.cfg[6], "disk"), "virtio-blk");
	assert_string_equal(m.cfg[11].id, "c012");
	assert_string_equal(m.cfg[0].params,
			    "bs=512;disk=ide;ops=100;rw=randread");
	/* [global] overridden in [b]; the key keeps its [global] place */
	assert_string_equal(m.cfg[12].section, "b");
	assert_string_equal(job_param(&m.cfg[12], "ops"), "200");
	assert_string_equal(job_param(&m.cfg[12], "disk"), "virtio-blk");
	assert_string_equal(m.cfg[12].keys[0], "disk");
	assert_string_equal(m.cfg[12].keys[1], "ops");
	assert_string_equal(m.cfg[12].params, "disk=virtio-blk;ops=200");
	/* guest options in key order; bench=disk implied for a disk job */
	assert_string_equal(m.cfg[0].guest[0], "bench=disk");
	assert_string_equal(m.cfg[0].guest[1], "ops=100");
	assert_string_equal(m.cfg[0].guest[2], "rw=randread");
	assert_string_equal(m.cfg[0].guest[3], "bs=512");
	assert_false(m.cfg[0].skip);
	job_matrix_free(&m);
	job_file_free(&jf);
}

static void test_skips(void **state)
{
	struct job_file jf;
	struct job_matrix m;

	(void)state;
	assert_int_equal(load("[a]\nmachine = pc, q35\ndisk = ide\n"
			      "[b]\ndisk = virtio-blk\nbackend = file\n"
			      "cache = writeback, none\naio = native\n"
			      "[c]\ndisk = virtio-blk\nbackend = null\ncache = none\n", &jf), 0);
	assert_int_equal(job_expand(&jf, "D", &m, err, sizeof(err)), 0);
	assert_int_equal(m.n, 5);
	assert_false(m.cfg[0].skip);
	assert_true(m.cfg[1].skip); /* ide on q35: kvmio boot's own words */
	assert_non_null(strstr(m.cfg[1].reason, "q35"));
	assert_true(m.cfg[2].skip); /* aio=native with cache=writeback */
	assert_non_null(strstr(m.cfg[2].reason, "aio=native"));
	assert_non_null(strstr(m.cfg[2].reason, "writeback"));
	assert_false(m.cfg[3].skip); /* aio=native with cache=none is fine */
	assert_true(m.cfg[4].skip); /* cache= on null-co */
	assert_non_null(strstr(m.cfg[4].reason, "cache"));
	job_matrix_free(&m);
	job_file_free(&jf);
}

/* disk = ahci: the same --disk parser as kvmio boot (pc and q35 run, iothread= is a skip). */
static void test_ahci_axis(void **state)
{
	struct job_file jf;
	struct job_matrix m;

	(void)state;
	assert_int_equal(load("[a]\nmachine = pc, q35\ndisk = ahci\n"
			      "[b]\ndisk = ahci\niothread = on\n", &jf), 0);
	assert_int_equal(job_expand(&jf, "D", &m, err, sizeof(err)), 0);
	assert_int_equal(m.n, 3);
	assert_false(m.cfg[0].skip);
	assert_false(m.cfg[1].skip);
	int found = 0;
	for (int i = 0; i + 1 < m.cfg[1].nopts; i++)
		found |= !strcmp(m.cfg[1].opts[i], "--disk") &&
			 !strcmp(m.cfg[1].opts[i + 1], "ahci,backend=null");
	assert_true(found);
	assert_true(m.cfg[2].skip);
	assert_non_null(strstr(m.cfg[2].reason, "iothread=on with ahci"));
	job_matrix_free(&m);
	job_file_free(&jf);
}

static void test_boot_args(void **state)
{
	struct job_file jf;
	struct job_matrix m;
	char *s;

	(void)state;
	assert_int_equal(load("[global]\nrepeat = 3\n"
			      "[d]\ndisk = virtio-blk\nbackend = null, file\nformat = qcow2-prealloc\n"
			      "rw = randwrite\n"
			      "[n]\nnet = e1000\ntopology = loop\nbench = net-tx\nframe = 64\n", &jf), 0);
	assert_int_equal(job_expand(&jf, "DIR", &m, err, sizeof(err)), 0);
	assert_int_equal(m.n, 3);
	assert_true(m.cfg[0].skip); /* format= on null */
	assert_false(m.cfg[1].skip);
	assert_int_equal(m.cfg[1].repeat, 3);
	assert_int_equal(m.nimages, 1);
	assert_string_equal(m.images[0].path, "DIR/images/qcow2-prealloc-1G.img");
	s = job_boot_string(&m.cfg[1], "kvmio");
	assert_string_equal(s, "kvmio boot --disk virtio-blk,backend=file=DIR/images/"
			    "qcow2-prealloc-1G.img,format=qcow2 -- bench=disk rw=randwrite");
	free(s);
	/* the loop topology gets its second NIC; frame= is the guest's size= */
	s = job_boot_string(&m.cfg[2], "kvmio");
	assert_string_equal(s, "kvmio boot --net e1000,topology=loop --net e1000,topology=loop "
			    "-- bench=net-tx size=64");
	free(s);
	job_matrix_free(&m);
	job_file_free(&jf);

	/* a result directory with a comma in its name: the image path's comma doubled, as --disk
	 * reads it (not a skip: "'0/images/...' is not KEY=VALUE") */
	assert_int_equal(load("[d]\ndisk = virtio-blk\nbackend = file\n", &jf), 0);
	assert_int_equal(job_expand(&jf, "Q-1,0", &m, err, sizeof(err)), 0);
	assert_false(m.cfg[0].skip);
	assert_string_equal(m.images[0].path, "Q-1,0/images/raw-1G.img");
	s = job_boot_string(&m.cfg[0], "kvmio");
	assert_string_equal(s, "kvmio boot --disk virtio-blk,backend=file=Q-1,,0/images/"
			    "raw-1G.img,format=raw -- bench=disk");
	free(s);
	job_matrix_free(&m);
	job_file_free(&jf);

	/* null-co keeps nothing and has no label: writes get write=unsafe */
	assert_int_equal(load("[d]\ndisk = ide\nrw = write, read\n", &jf), 0);
	assert_int_equal(job_expand(&jf, "DIR", &m, err, sizeof(err)), 0);
	s = job_boot_string(&m.cfg[0], "kvmio");
	assert_string_equal(s, "kvmio boot --disk ide,backend=null -- bench=disk rw=write "
			    "write=unsafe");
	free(s);
	s = job_boot_string(&m.cfg[1], "kvmio");
	assert_string_equal(s, "kvmio boot --disk ide,backend=null -- bench=disk rw=read");
	free(s);
	job_matrix_free(&m);
	job_file_free(&jf);
}

/* format: the fully allocated images (raw-full, qcow2-full) are images of their own, given to
 * QEMU as raw and qcow2; an unknown format is a skip listing the known ones. */
static void test_full_formats(void **state)
{
	struct job_file jf;
	struct job_matrix m;
	const char *qf, *pre;
	char *s;

	(void)state;
	assert_int_equal(job_image_format("raw-full", &qf, &pre), 0);
	assert_string_equal(qf, "raw");
	assert_string_equal(pre, "full");
	assert_int_equal(job_image_format("qcow2-prealloc", &qf, &pre), 0);
	assert_string_equal(pre, "metadata");
	assert_int_equal(job_image_format("vmdk", &qf, &pre), -1);
	assert_int_equal(load("[d]\ndisk = ide\nbackend = file\nformat = raw-full, qcow2-full, raw, vmdk\n",
			      &jf), 0);
	assert_int_equal(job_expand(&jf, "DIR", &m, err, sizeof(err)), 0);
	assert_int_equal(m.n, 4);
	assert_int_equal(m.nimages, 3);
	s = job_boot_string(&m.cfg[0], "kvmio");
	assert_string_equal(s, "kvmio boot --disk ide,backend=file=DIR/images/raw-full-1G.img,format=raw -- bench=disk");
	free(s);
	s = job_boot_string(&m.cfg[1], "kvmio");
	assert_string_equal(s, "kvmio boot --disk ide,backend=file=DIR/images/qcow2-full-1G.img,format=qcow2 -- bench=disk");
	free(s);
	assert_true(m.cfg[3].skip);
	assert_string_equal(m.cfg[3].reason, "unknown format 'vmdk' (" JOB_FORMATS ")");
	job_matrix_free(&m);
	job_file_free(&jf);
}

/* pin: an axis; none adds nothing, last the highest CPU kvmio may use, a CPU it may not use
 * is a skip naming the CPUs it may. */
static void test_pin_axis(void **state)
{
	struct job_file jf;
	struct job_matrix m;
	struct pin_cpus last;
	char *s, want[200], cpu[16];

	(void)state;
	assert_int_equal(pin_resolve("last", &last, err, sizeof(err)), 0);
	assert_int_equal(load("[d]\ndisk = virtio-blk\npin = none, last, 1023\n", &jf), 0);
	assert_int_equal(job_expand(&jf, "DIR", &m, err, sizeof(err)), 0);
	assert_int_equal(m.n, 3);
	s = job_boot_string(&m.cfg[0], "kvmio");
	assert_string_equal(s, "kvmio boot --disk virtio-blk,backend=null -- bench=disk");
	free(s);
	assert_int_equal(m.cfg[0].pin.n, 0);
	pin_cpus_text(&last, 0, cpu, sizeof(cpu));
	snprintf(want, sizeof(want), "kvmio boot --pin %s --disk virtio-blk,backend=null -- bench=disk", cpu);
	s = job_boot_string(&m.cfg[1], "kvmio");
	assert_string_equal(s, want);
	free(s);
	assert_int_equal(m.cfg[1].pin.n, 1);
	assert_int_equal(m.cfg[1].pin.cpu[0], last.cpu[0]);
	assert_string_equal(job_param(&m.cfg[1], "pin"), "last");
	assert_true(m.cfg[2].skip);
	assert_non_null(strstr(m.cfg[2].reason, "pin=1023: CPU 1023 is not one kvmio may run on"));
	job_matrix_free(&m);
	job_file_free(&jf);
}

/* iothread: an axis like the others, into --disk; ide cannot have one (boot's own words) */
static void test_iothread_axis(void **state)
{
	struct job_file jf;
	struct job_matrix m;
	char *s;

	(void)state;
	assert_int_equal(load("[global]\nops = 500\n"
			      "[d]\ndisk = virtio-blk, ide\nlatency_ns = 50000\niothread = on, off, q1\n"
			      "[n]\nnet = e1000\niothread = on\n", &jf), 0);
	assert_int_equal(job_expand(&jf, "DIR", &m, err, sizeof(err)), 0);
	assert_int_equal(m.n, 2 * 3 + 1);
	assert_string_equal(m.cfg[0].params, "disk=virtio-blk;iothread=on;latency_ns=50000;ops=500");
	s = job_boot_string(&m.cfg[0], "kvmio");
	assert_string_equal(s, "kvmio boot --disk virtio-blk,backend=null,latency-ns=50000,"
			    "iothread=on -- bench=disk ops=500");
	free(s);
	assert_false(m.cfg[0].skip);
	assert_string_equal(job_param(&m.cfg[1], "iothread"), "off");
	s = job_boot_string(&m.cfg[1], "kvmio");
	assert_non_null(strstr(s, "--disk virtio-blk,backend=null,latency-ns=50000,iothread=off "));
	free(s);
	s = job_boot_string(&m.cfg[2], "kvmio");
	assert_non_null(strstr(s, "--disk virtio-blk,backend=null,latency-ns=50000,iothread=q1 "));
	free(s);
	assert_false(m.cfg[1].skip);
	assert_false(m.cfg[2].skip);
	/* ide: on and NAME are what kvmio boot refuses; off is the main loop ide has anyway */
	assert_true(m.cfg[3].skip);
	assert_non_null(strstr(m.cfg[3].reason, "QEMU's ide-hd has no iothread"));
	assert_false(m.cfg[4].skip);
	assert_true(m.cfg[5].skip);
	assert_non_null(strstr(m.cfg[5].reason, "iothread=q1 with ide"));
	/* no disk */
	assert_true(m.cfg[6].skip);
	assert_string_equal(m.cfg[6].reason, "iothread= without disk=");
	job_matrix_free(&m);
	job_file_free(&jf);
	/* a bad value: kvmio boot's refusal, as a skip */
	assert_int_equal(load("[d]\ndisk = virtio-blk\niothread = 2nd\n", &jf), 0);
	assert_int_equal(job_expand(&jf, "DIR", &m, err, sizeof(err)), 0);
	assert_true(m.cfg[0].skip);
	assert_non_null(strstr(m.cfg[0].reason, "bad iothread=2nd"));
	job_matrix_free(&m);
	job_file_free(&jf);
	/* poll_max_ns: into --disk as poll-max-ns=; without an iothread, boot's refusal as a skip */
	assert_int_equal(load("[d]\ndisk = virtio-blk\nbackend = null\niothread = on, off\n"
			      "poll_max_ns = 0\n", &jf), 0);
	assert_int_equal(job_expand(&jf, "DIR", &m, err, sizeof(err)), 0);
	assert_int_equal(m.n, 2);
	s = job_boot_string(&m.cfg[0], "kvmio");
	assert_non_null(strstr(s, "--disk virtio-blk,backend=null,iothread=on,poll-max-ns=0 "));
	free(s);
	assert_false(m.cfg[0].skip);
	assert_true(m.cfg[1].skip);
	assert_non_null(strstr(m.cfg[1].reason, "poll-max-ns= is the polling of the disk's iothread"));
	job_matrix_free(&m);
	job_file_free(&jf);
}

/* disk=virtio-scsi: an axis value like the others, with the virtio keys */
static void test_virtio_scsi_axis(void **state)
{
	struct job_file jf;
	struct job_matrix m;
	char *s;

	(void)state;
	assert_int_equal(load("[d]\nmachine = pc, q35\ndisk = virtio-scsi\n"
			      "disk_transport = legacy\niothread = on\nrw = randwrite\n"
			      "[m]\nfirmware = pvh\nmachine = microvm\ndisk = virtio-scsi\n", &jf), 0);
	assert_int_equal(job_expand(&jf, "DIR", &m, err, sizeof(err)), 0);
	assert_int_equal(m.n, 3);
	assert_string_equal(job_param(&m.cfg[0], "disk"), "virtio-scsi");
	for (int i = 0; i < 2; i++) {
		assert_false(m.cfg[i].skip);
		s = job_boot_string(&m.cfg[i], "kvmio");
		assert_non_null(strstr(s, "--disk virtio-scsi,transport=legacy,backend=null,"
				       "iothread=on -- bench=disk rw=randwrite write=unsafe"));
		free(s);
	}
	assert_true(m.cfg[2].skip); /* microvm: kvmio boot's own words */
	assert_non_null(strstr(m.cfg[2].reason, "--disk virtio-scsi: microvm"));
	job_matrix_free(&m);
	job_file_free(&jf);
}

/* Every job file shipped loads and expands, with something to run. The modern study runs
 * everything it lists: a skip there means a model or key it names went missing. */
static void test_shipped_jobs(void **state)
{
	glob_t g;

	(void)state;
	assert_int_equal(glob("jobs/*.ini", 0, NULL, &g), 0);
	assert_true(g.gl_pathc >= 4);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		const char *file = g.gl_pathv[i];
		struct job_file jf;
		struct job_matrix m;
		int run = 0;

		if (job_load(file, &jf, err, sizeof(err)) != 0)
			fail_msg("%s: %s", file, err);
		if (job_expand(&jf, "D", &m, err, sizeof(err)) != 0)
			fail_msg("%s: %s", file, err);
		for (int k = 0; k < m.n; k++) {
			run += !m.cfg[k].skip;
			if (strstr(file, "modern") && m.cfg[k].skip)
				fail_msg("%s: %s skipped: %s", file, m.cfg[k].id, m.cfg[k].reason);
		}
		assert_true(run > 0);
		job_matrix_free(&m);
		job_file_free(&jf);
	}
	globfree(&g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_key_line),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_expansion_order),
		cmocka_unit_test(test_skips),
		cmocka_unit_test(test_ahci_axis),
		cmocka_unit_test(test_boot_args),
		cmocka_unit_test(test_pin_axis),
		cmocka_unit_test(test_full_formats),
		cmocka_unit_test(test_iothread_axis),
		cmocka_unit_test(test_virtio_scsi_axis),
		cmocka_unit_test(test_shipped_jobs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
