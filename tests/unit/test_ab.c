/*
 * The A/B loop without booting a guest: the build id (SHA-256 against FIPS 180-2 vectors), a
 * binary's facts (qemubin.c) from stand-in scripts, prop.NAME=VALUE into the -device lines the
 * builder makes, the qemu/disk_props/net_props job keys (a missing binary and a property typo
 * refused, a missing device skipped), the runner's plan (interleave, grouped) and the gate on
 * tests/data/ab/qemu-slower and qemu-same (mkfixture.py there). Run from the repository root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "analysis/compare.h"
#include "boot/qemu.h"
#include "boot/qemubin.h"
#include "kvmio_proto.h"
#include "lib/file.h"
#include "matrix/job.h"
#include "matrix/run.h"
#include "helpers.h"

#define AB_QEMU_SLOWER "tests/data/ab/qemu-slower" /* new 10 % slower on virtio-blk, 8 runs */
#define AB_QEMU_SAME "tests/data/ab/qemu-same"     /* new within 0.5 % of old */

static char fake[512], fake_small[512];

/* A stand-in QEMU: a version, devices (virtio-blk-pci, e1000, ide-hd and the two kvmio always
 * adds), tcg, and the properties of those three. small: no virtio-blk-pci. */
static void write_fake(const char *path, int small)
{
	char text[2048];

	snprintf(text, sizeof(text),
		 "#!/bin/sh\n"
		 "case \"$1 ${2:-}\" in\n"
		 "'-version ') echo 'QEMU emulator version 9.9.9 (stand-in)' ;;\n"
		 "'-device help') %s echo 'name \"e1000\", bus PCI'; echo 'name \"ide-hd\", bus IDE'; "
		 "echo 'name \"isa-debug-exit\", bus ISA'; echo 'name \"pci-testdev\", bus PCI' ;;\n"
		 "'-accel help') printf 'Accelerators supported in QEMU binary:\\ntcg\\n' ;;\n"
		 "'-device virtio-blk-pci,help') printf 'virtio-blk-pci options:\\n"
		 "  queue-size=<uint16>    -  (default: 256)\\n  num-queues=<uint16>\\n"
		 "  drive=<str>            - Node name\\n' ;;\n"
		 "'-device e1000,help') printf 'e1000 options:\\n  mitigation=<bool>      - on/off\\n' ;;\n"
		 "'-device ide-hd,help') printf 'ide-hd options:\\n  drive=<str>\\n"
		 "  discard_granularity=<size>\\n' ;;\n"
		 "*) exit 1 ;;\n"
		 "esac\n", small ? "" : "echo 'name \"virtio-blk-pci\", bus PCI';");
	test_write_file(path, text);
	assert_int_equal(chmod(path, 0755), 0);
}

static int setup(void **state)
{
	if (test_dir_setup(state) != 0)
		return -1;
	snprintf(fake, sizeof(fake), "%s/qemu-a", test_dir);
	snprintf(fake_small, sizeof(fake_small), "%s/qemu-small", test_dir);
	write_fake(fake, 0);
	write_fake(fake_small, 1);
	unsetenv("KVMIO_QEMU");
	return 0;
}

/* ---- the build id ------------------------------------------------------------------------ */

static void test_sha256_vectors(void **state)
{
	char hex[QEMUBIN_SHA256_HEX + 1], path[600], *million = malloc(1000000);

	(void)state;
	qemubin_sha256_buffer("", 0, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	qemubin_sha256_buffer("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	snprintf(path, sizeof(path), "%s/abc2", test_dir);
	test_write_file(path, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
	assert_int_equal(qemubin_sha256_file(path, hex), 0);
	assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* a file longer than one read: one million 'a' */
	assert_non_null(million);
	memset(million, 'a', 1000000);
	snprintf(path, sizeof(path), "%s/million", test_dir);
	assert_int_equal(file_write(path, million, 1000000), 0);
	assert_int_equal(qemubin_sha256_file(path, hex), 0);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(million);
	snprintf(path, sizeof(path), "%s/none", test_dir);
	assert_int_equal(qemubin_sha256_file(path, hex), -1);
}

/* ---- a binary's facts -------------------------------------------------------------------- */

static void test_probe(void **state)
{
	const struct qemu_binary *b = qemubin_probe(fake), *small = qemubin_probe(fake_small);
	char list[512], path[600];

	(void)state;
	assert_true(b->usable);
	assert_string_equal(b->version, "9.9.9 (stand-in)");
	assert_int_equal(strlen(b->build), QEMUBIN_SHA256_HEX);
	assert_string_not_equal(b->build, small->build);     /* the files differ */
	assert_ptr_equal(qemubin_probe(fake), b);             /* asked once */
	assert_int_equal(qemubin_has_device(b, "virtio-blk-pci"), 1);
	assert_int_equal(qemubin_has_device(small, "virtio-blk-pci"), 0);
	assert_int_equal(qemubin_has_device(b, "virtio-blk"), 0);
	assert_int_equal(qemubin_has_device(small, "ide-hd"), 1);
	assert_int_equal(qemubin_has_accel(b, "tcg"), 1);
	assert_int_equal(qemubin_has_accel(b, "kvm"), 0);
	assert_int_equal(qemubin_device_props(fake, "virtio-blk-pci", list, sizeof(list)), 0);
	assert_string_equal(list, "queue-size num-queues drive");
	assert_int_equal(qemubin_device_props(fake_small, "virtio-blk-pci", list, sizeof(list)), -1);
	assert_non_null(strstr(list, "has no device virtio-blk-pci"));

	snprintf(path, sizeof(path), "%s/no-such-qemu", test_dir);
	b = qemubin_probe(path);
	assert_false(b->usable);
	assert_non_null(strstr(b->why, "no such file"));
	snprintf(path, sizeof(path), "%s/abc2", test_dir);   /* there, not executable */
	test_write_file(path, "x");
	b = qemubin_probe(path);
	assert_false(b->usable);
	assert_non_null(strstr(b->why, "not executable"));
	assert_int_equal(qemubin_has_device(b, "e1000"), -1);
}

/* ---- prop.NAME=VALUE --------------------------------------------------------------------- */

static void test_spec_props(void **state)
{
	struct qemu_props p;
	char err[512];

	(void)state;
	assert_int_equal(qemu_spec_props("--disk", "virtio-blk,prop.queue-size=128,iothread=on,"
					 "prop.x-foo.bar=on", &p, err, sizeof(err)), 0);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.name[0], "queue-size");
	assert_string_equal(p.value[0], "128");
	assert_string_equal(p.name[1], "x-foo.bar");
	/* a file name with a literal comma is not a prop. item */
	assert_int_equal(qemu_spec_props("--disk", "ide,file=/tmp/a,,prop.b=c", &p, err,
					 sizeof(err)), 0);
	assert_int_equal(p.n, 0);
	assert_int_equal(qemu_spec_props("--disk", "ide,prop.=1", &p, err, sizeof(err)), 2);
	assert_non_null(strstr(err, "--disk: bad 'prop.=1'"));
	assert_int_equal(qemu_spec_props("--net", "e1000,prop.mitigation", &p, err, sizeof(err)), 2);
	assert_int_equal(qemu_spec_props("--net", "e1000,prop.a=1,prop.a=2", &p, err, sizeof(err)),
			 2);
	assert_non_null(strstr(err, "prop.a given twice"));
	/* the spec parsers leave them alone */
	{
		struct qemu_disk d;

		assert_int_equal(qemu_parse_disk("virtio-blk,prop.queue-size=128", &d, err,
						 sizeof(err)), 0);
	}
}

static int stand_in_props(const char *qemu, const char *model, char *list, size_t len)
{
	(void)qemu;
	if (!strcmp(model, "virtio-blk-pci"))
		snprintf(list, len, "queue-size num-queues drive addr");
	else if (!strcmp(model, "e1000"))
		snprintf(list, len, "mitigation netdev addr");
	else
		return snprintf(list, len, "no device %s", model), -1;
	return 0;
}

static const char *arg_after(const struct qemu_command *cmd, const char *opt, const char *prefix)
{
	for (int i = 0; i + 1 < cmd->argc; i++)
		if (!strcmp(cmd->argv[i], opt) && !strncmp(cmd->argv[i + 1], prefix, strlen(prefix)))
			return cmd->argv[i + 1];
	return NULL;
}

static void test_builder_props(void **state)
{
	char *disks[] = { "virtio-blk,prop.queue-size=1024,prop.num-queues=2" };
	char *nets[] = { "e1000,topology=loop,prop.mitigation=off", "e1000,topology=loop" };
	struct qemu_options o = { .accel = "tcg", .disks = disks, .ndisks = 1, .nets = nets,
				  .nnets = 2, .qemu = "q", .device_props = stand_in_props };
	struct qemu_command cmd;
	char err[1024];
	const char *dev;

	(void)state;
	assert_int_equal(qemu_build_command(&o, &cmd, err, sizeof(err)), 0);
	dev = arg_after(&cmd, "-device", "virtio-blk-pci,");
	assert_non_null(dev);
	assert_non_null(strstr(dev, ",queue-size=1024,num-queues=2"));
	dev = arg_after(&cmd, "-device", "e1000,netdev=net0");
	assert_non_null(dev);
	assert_non_null(strstr(dev, ",mitigation=off"));
	dev = arg_after(&cmd, "-device", "e1000,netdev=net1");
	assert_null(strstr(dev, "mitigation"));
	qemu_command_free(&cmd);

	/* a typo: refused, with the valid names in the one line */
	disks[0] = "virtio-blk,prop.queue-sise=1024";
	assert_int_equal(qemu_build_command(&o, &cmd, err, sizeof(err)), KVMIO_EXIT_BADCONFIG);
	assert_string_equal(err, "--disk: virtio-blk-pci has no property 'queue-sise' (valid: "
			    "queue-size num-queues drive addr)");
	/* what kvmio sets itself stays its own */
	disks[0] = "virtio-blk,prop.addr=0x5";
	assert_int_equal(qemu_build_command(&o, &cmd, err, sizeof(err)), KVMIO_EXIT_BADCONFIG);
	assert_non_null(strstr(err, "kvmio sets addr of virtio-blk-pci itself"));
	/* a device whose properties the binary cannot tell */
	disks[0] = "ide,prop.discard_granularity=0";
	o.nnets = 0;
	assert_int_equal(qemu_build_command(&o, &cmd, err, sizeof(err)), KVMIO_EXIT_BADCONFIG);
	assert_non_null(strstr(err, "no device ide-hd"));
}

/* ---- job keys ---------------------------------------------------------------------------- */

static int load(const char *text, struct job_file *jf, char *err, size_t len)
{
	return job_load_string("ab.ini", text, jf, err, len);
}

static void test_job_qemu_key(void **state)
{
	struct job_file jf;
	struct job_matrix m;
	char text[2048], err[4096], want[300], *boot;

	(void)state;
	snprintf(text, sizeof(text), "[ab]\nqemu = old:%s, new:%s\ndisk = virtio-blk, ide\n"
		 "accel = tcg\ndisk_props = none, queue-size=128+num-queues=1\n", fake, fake_small);
	assert_int_equal(load(text, &jf, err, sizeof(err)), 0);
	assert_int_equal(job_expand(&jf, test_dir, &m, err, sizeof(err)), 0);
	assert_int_equal(m.n, 8);
	/* the parameter is the label, the binary and its facts beside it */
	assert_string_equal(job_param(&m.cfg[0], "qemu"), "old");
	assert_string_equal(m.cfg[0].qemu, fake);
	assert_string_equal(m.cfg[0].qemu_version, "9.9.9 (stand-in)");
	assert_int_equal(strncmp(m.cfg[0].qemu_build, "sha256:", 7), 0);
	assert_string_equal(m.cfg[0].params, "accel=tcg;disk=virtio-blk;disk_props=none;qemu=old");
	assert_false(m.cfg[0].skip);
	assert_false(m.cfg[1].skip);
	boot = job_boot_string(&m.cfg[1], "kvmio");
	snprintf(want, sizeof(want), " --qemu %s/", test_dir);
	assert_non_null(strstr(boot, want));
	assert_non_null(strstr(boot, ",prop.queue-size=128,prop.num-queues=1 "));
	free(boot);
	assert_false(m.cfg[2].skip);
	/* ide-hd has no queue-size, virtio-blk-pci has: for ide a skip, not a refusal */
	assert_true(m.cfg[3].skip);
	assert_string_equal(m.cfg[3].reason, "--disk: ide-hd has no property 'queue-size' (valid: "
			    "drive discard_granularity)");
	/* the small build lacks virtio-blk-pci: skipped, with and without properties */
	for (int i = 4; i < 6; i++) {
		assert_true(m.cfg[i].skip);
		assert_non_null(strstr(m.cfg[i].reason, "/qemu-small has no device virtio-blk-pci"));
	}
	assert_false(m.cfg[6].skip);
	assert_true(m.cfg[7].skip);
	job_matrix_free(&m);
	job_file_free(&jf);
}

static void test_job_refusals(void **state)
{
	struct job_file jf;
	struct job_matrix m;
	char text[2048], err[4096];

	(void)state;
	/* a missing binary: refused at its line, before the matrix (loading starts nothing) */
	snprintf(text, sizeof(text), "[ab]\nqemu = old:%s, new:%s/nope\ndisk = virtio-blk\n", fake,
		 test_dir);
	assert_int_equal(load(text, &jf, err, sizeof(err)), 0);
	assert_int_equal(job_expand(&jf, test_dir, &m, err, sizeof(err)), KVMIO_EXIT_BADCONFIG);
	assert_non_null(strstr(err, "ab.ini:2: qemu: QEMU binary "));
	assert_non_null(strstr(err, "/nope: no such file"));
	job_file_free(&jf);
	/* labels */
	snprintf(text, sizeof(text), "[ab]\nqemu = a:%s, a:%s\n", fake, fake);
	assert_int_equal(load(text, &jf, err, sizeof(err)), KVMIO_EXIT_BADCONFIG);
	assert_non_null(strstr(err, "label 'a' given twice"));
	snprintf(text, sizeof(text), "[ab]\nqemu = a b:%s\n", fake);
	assert_int_equal(load(text, &jf, err, sizeof(err)), KVMIO_EXIT_BADCONFIG);
	/* property items */
	assert_int_equal(load("[ab]\ndisk = virtio-blk\ndisk_props = queue-size\n", &jf, err,
			      sizeof(err)), KVMIO_EXIT_BADCONFIG);
	assert_non_null(strstr(err, "ab.ini:3: disk_props: bad item 'queue-size'"));
	assert_int_equal(load("[ab]\nnet = e1000\nnet_props = mitigation=on+\n", &jf, err,
			      sizeof(err)), KVMIO_EXIT_BADCONFIG);
	assert_int_equal(load("[ab]\nnet = e1000\nmachine = pc=q35\n", &jf, err, sizeof(err)),
			 KVMIO_EXIT_BADCONFIG);   /* '=' stays refused elsewhere */
	/* a property typo: the matrix is refused, with the valid names */
	snprintf(text, sizeof(text), "[ab]\nqemu = old:%s\ndisk = virtio-blk\naccel = tcg\n"
		 "disk_props = none, queue-sise=128\n", fake);
	assert_int_equal(load(text, &jf, err, sizeof(err)), 0);
	assert_int_equal(job_expand(&jf, test_dir, &m, err, sizeof(err)), KVMIO_EXIT_BADCONFIG);
	assert_non_null(strstr(err, "ab.ini: [ab] c002 "));
	assert_non_null(strstr(err, "virtio-blk-pci has no property 'queue-sise' (valid: queue-size "
			       "num-queues drive)"));
	assert_null(strchr(err, '\n'));
	job_file_free(&jf);
	/* disk_props without disk: a skip, as for the other disk keys */
	snprintf(text, sizeof(text), "[ab]\nqemu = old:%s\naccel = tcg\ndisk_props = queue-size=128\n",
		 fake);
	assert_int_equal(load(text, &jf, err, sizeof(err)), 0);
	assert_int_equal(job_expand(&jf, test_dir, &m, err, sizeof(err)), 0);
	assert_true(m.cfg[0].skip);
	assert_string_equal(m.cfg[0].reason, "disk_props= without disk=");
	job_matrix_free(&m);
	job_file_free(&jf);
}

/* ---- the plan ---------------------------------------------------------------------------- */

static char *plan_text(const struct job_matrix *m, enum run_order order)
{
	struct run_step plan[64];
	int n = run_plan(m, order, plan);
	static char text[1024];
	size_t len = 0;

	text[0] = '\0';
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s/r%d", i ? " " : "",
					m->cfg[plan[i].cfg].id, plan[i].repeat);
	return text;
}

static void test_plan(void **state)
{
	struct job_file jf;
	struct job_matrix m;
	char text[2048], err[4096];

	(void)state;
	/* c001 a/poll, c002 a/msix, c003 b/poll, c004 b/msix; [solo] c005 */
	snprintf(text, sizeof(text), "[ab]\nqemu = a:%s, b:%s\ndisk = virtio-blk\naccel = tcg\n"
		 "irq = poll, msix\nrepeat = 3\n[solo]\ndisk = virtio-blk\naccel = tcg\n"
		 "repeat = 2\n", fake, fake);
	assert_int_equal(load(text, &jf, err, sizeof(err)), 0);
	assert_int_equal(job_expand(&jf, test_dir, &m, err, sizeof(err)), 0);
	assert_int_equal(m.n, 5);
	for (int i = 0; i < m.n; i++)
		m.cfg[i].skip = 0;   /* the solo one uses the binary of this host (or none) */
	/* the same configuration in two binaries takes turns; irq is not an A/B key */
	assert_string_equal(plan_text(&m, RUN_ORDER_INTERLEAVE),
			    "c001/r1 c003/r1 c001/r2 c003/r2 c001/r3 c003/r3 "
			    "c002/r1 c004/r1 c002/r2 c004/r2 c002/r3 c004/r3 c005/r1 c005/r2");
	assert_string_equal(plan_text(&m, RUN_ORDER_GROUPED),
			    "c001/r1 c001/r2 c001/r3 c002/r1 c002/r2 c002/r3 c003/r1 c003/r2 "
			    "c003/r3 c004/r1 c004/r2 c004/r3 c005/r1 c005/r2");
	/* skipped configurations have no runs; repeats may differ */
	m.cfg[1].skip = 1;
	m.cfg[3].repeat = 1;
	m.cfg[1].repeat = 5;
	assert_string_equal(plan_text(&m, RUN_ORDER_INTERLEAVE),
			    "c001/r1 c003/r1 c001/r2 c003/r2 c001/r3 c003/r3 c004/r1 c005/r1 c005/r2");
	job_matrix_free(&m);
	job_file_free(&jf);
	assert_true(run_ab_key("qemu") && run_ab_key("disk_props") && run_ab_key("net_props"));
	assert_false(run_ab_key("irq"));
}

/* ---- the verdict and the gate ------------------------------------------------------------ */

static int compare(char **out, ...)
{
	char *argv[16], *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	va_list ap;
	int argc = 0, rc;

	va_start(ap, out);
	while (argc < 15 && (argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	rc = compare_command(argc, argv, f);
	fclose(f);
	if (out)
		*out = text;
	else
		free(text);
	return rc;
}

static void test_gate(void **state)
{
	char *out;

	(void)state;
	assert_int_equal(compare(&out, AB_QEMU_SLOWER, "--baseline", "qemu=old",
				 "--max-regression", "3", NULL), KVMIO_EXIT_REGRESSION);
	assert_non_null(strstr(out, "c004 vs c003 (qemu: old -> new)"));
	assert_non_null(strstr(out, "REGRESSION c004 vs c003 (qemu: old -> new): disk "
			       "randread-4k-qd1 iops ratio 0.900"));
	assert_null(strstr(out, "REGRESSION c002"));
	assert_non_null(strstr(out, "gate: 1 regression in 2 comparisons"));
	free(out);
	/* the planted 10 % passes a 15 % limit */
	assert_int_equal(compare(NULL, AB_QEMU_SLOWER, "--baseline", "qemu=old",
				 "--max-regression", "15", NULL), 0);
	assert_int_equal(compare(&out, AB_QEMU_SAME, "--baseline", "qemu=old",
				 "--max-regression", "3", NULL), 0);
	assert_non_null(strstr(out, "gate: 0 regressions in 2 comparisons"));
	free(out);
}

static void test_ab_rows(void **state)
{
	struct cmp_data d;
	struct cmp_ab_row *rows;
	char err[512];
	int n;

	(void)state;
	assert_int_equal(compare_load(AB_QEMU_SLOWER, &d, err, sizeof(err)), 0);
	n = compare_ab_rows(&d, &rows);
	assert_int_equal(n, 2);
	/* sorted by effect: the regression first */
	assert_string_equal(d.rd.cfg[rows[0].other].id, "c004");
	assert_string_equal(d.rd.cfg[rows[0].base].id, "c003");
	assert_string_equal(rows[0].differs, "qemu: old -> new");
	assert_true(rows[0].slower_pct > 9.5 && rows[0].slower_pct < 10.5);
	assert_true(rows[0].r.ratio_lo < rows[0].r.ratio && rows[0].r.ratio < rows[0].r.ratio_hi);
	assert_int_equal(rows[0].r.verdict, CMP_SLOWER);
	assert_string_equal(d.rd.cfg[rows[1].other].id, "c002");
	assert_true(rows[1].slower_pct < rows[0].slower_pct);
	compare_ab_rows_free(rows, n);
	compare_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_probe),
		cmocka_unit_test(test_spec_props),
		cmocka_unit_test(test_builder_props),
		cmocka_unit_test(test_job_qemu_key),
		cmocka_unit_test(test_job_refusals),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_gate),
		cmocka_unit_test(test_ab_rows),
	};

	return cmocka_run_group_tests(tests, setup, test_dir_teardown);
}
