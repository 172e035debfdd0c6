/*
 * Boot tests of what the libvirt backend (`kvmio boot --connect`, the embedded driver) adds
 * beyond disks: --net (loop in <qemu:commandline>, the peer as <interface type='udp'>, tap as
 * <interface type='ethernet'>), --pin (<cputune>, read back), --firmware uefi (<loader>,
 * <nvram>) and pvh. Each through both backends where it can: the same records, end status=ok.
 */
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "proto/proto.h"
#include "helpers.h"

static char log_qemu[300], log_lv[300];

static int setup(void **state)
{
	if (test_dir_setup(state) != 0)
		return -1;
	snprintf(log_qemu, sizeof(log_qemu), "%s/qemu.log", test_dir);
	snprintf(log_lv, sizeof(log_lv), "%s/libvirt.log", test_dir);
	return 0;
}

/* The records without their figures: type and identity (as test_libvirt.c compares them). */
static const char *const shape_keys[] = { "name", "bench", "bdf", "id", "class", "model",
					    "transport", "mac", "dev", "size", "status", "boot",
					    "cmdline", "accel" };

static char *shape(const struct log *log)
{
	return test_log_shape(log, shape_keys, sizeof(shape_keys) / sizeof(shape_keys[0]));
}

/* kvmio boot [--connect] ARGS --net SPEC... -- OPTS into log; what it printed. */
static const char *boot(struct log *log, const char *logp, int libvirt, const char *args,
			const char *flag, const char *specs, const char *opts, int want)
{
	char a[400];

	snprintf(a, sizeof(a), "%s%s%s", libvirt ? "--connect" : "", libvirt && args ? " " : "",
		 args ? args : "");
	struct test_boot b = { .log = logp, .args = a[0] ? a : NULL, .timeout = "300",
			       .guest_check = 1, .flag = flag, .specs = specs, .opts = opts };
	return test_boot_log(log, want, &b);
}

/* The same guest through both backends: the same records, end status=ok; the libvirt run's
 * output (valid until the next test_output) into *printed. */
static void same_records(const char *args, const char *flag, const char *specs, const char *opts,
			 const char *result, const char **printed)
{
	struct log a, b;
	char *sa, *sb;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	boot(&a, log_qemu, 0, args, flag, specs, opts, 0);
	*printed = boot(&b, log_lv, 1, args, flag, specs, opts, 0);
	assert_int_equal(a.status, KVMIO_EXIT_OK);
	assert_int_equal(b.status, KVMIO_EXIT_OK);
	test_assert_field(log_find(&b, "end", NULL, NULL), "status", "ok");
	if (result)
		assert_non_null(log_find(&b, "result", "bench", result));
	sa = shape(&a);
	sb = shape(&b);
	if (strcmp(sa, sb) != 0)
		fail_msg("QEMU backend:\n%s\nlibvirt backend:\n%s", sa, sb);
	free(sa);
	free(sb);
	log_free(&a);
	log_free(&b);
}

/* net-rr over loop (QEMU's hub, in <qemu:commandline>): e1000 and virtio-net. */
static void test_rr_loop(void **state)
{
	const char *out;

	(void)state;
	same_records(NULL, "--net", "e1000,topology=loop e1000,topology=loop",
		     "bench=net-rr ops=100", "net-rr", &out);
	same_records(NULL, "--net", "virtio-net,topology=loop virtio-net,topology=loop",
		     "bench=net-rr ops=100", "net-rr", &out);
}

/* net-tx and net-rr to the peer, on UDP through libvirt's <interface type='udp'>: every frame
 * reaches the peer (and comes back), as over the QEMU backend's unix socket. */
static void test_peer(void **state)
{
	static const char *const models[] = { "e1000", "virtio-net" };
	char spec[100];
	const char *out;

	(void)state;
	for (int i = 0; i < 2; i++) {
		snprintf(spec, sizeof(spec), "%s,peer-mode=sink", models[i]);
		same_records(NULL, "--net", spec, "bench=net-tx ops=200 burst=4", "net-tx", &out);
		if (!strstr(out, "peer: mode=sink rx=200 rx_ok=200 "))
			fail_msg("%s net-tx: the peer did not get every frame:\n%s", models[i], out);
		same_records(NULL, "--net", models[i], "bench=net-rr ops=100", "net-rr", &out);
		if (!strstr(out, "peer: mode=reflect rx=100 rx_ok=100 ") ||
		    !strstr(out, " tx=100 "))
			fail_msg("%s net-rr: the peer did not reflect every frame:\n%s", models[i],
				 out);
	}
	/* the XML says it */
	assert_int_equal(test_kvmio(test_out_path, "boot", "--print-xml", "--net", "e1000", "--",
				    "bench=net-rr", (char *)NULL), 0);
	assert_non_null(strstr(test_output(test_out_path), "<interface type='udp'>"));
}

/* topology=tap: the embedded driver's QEMU in kvmio's namespace, the guest answers ping. */
static void test_tap(void **state)
{
	struct log log;
	const char *out;

	(void)state;
	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0) {
		assert_int_equal(test_kvmio_split(test_out_path, test_err_path, "boot", "--connect",
						  "--net", "virtio-net,topology=tap", "--",
						  "bench=net-echo", (char *)NULL), KVMIO_EXIT_BADCONFIG);
		assert_non_null(strstr(test_output(test_err_path), "tap topology needs root"));
		return;
	}
	struct test_boot b = { .log = log_lv, .args = "--connect", .timeout = "300",
			       .guest_check = 1, .flag = "--net", .specs = "virtio-net,topology=tap",
			       .tap_cmd = "ping -c 3 -W 2 10.199.0.2", .opts = "bench=net-echo" };
	out = test_boot_log(&log, 0, &b);
	if (!strstr(out, "3 packets transmitted, 3 received"))
		fail_msg("%s", out);
	assert_int_equal(test_u64_of(log_find(&log, "result", "bench", "net-echo"), "icmp"), 3);
	log_free(&log);
}

/* vhost=on without /dev/vhost-net (this machine), the peer behind a remote URI: one line and
 * exit 2, nothing started. */
static void test_vhost_refused(void **state)
{
	const char *e;
	int rc;

	(void)state;
	/* a remote URI and the peer on this machine's 127.0.0.1: refused before any connection */
	rc = test_kvmio_split(test_out_path, test_err_path, "boot", "--connect",
			      "qemu+ssh://nohost.invalid/system", "--net", "e1000", "--",
			      "bench=net-rr", (char *)NULL);
	assert_int_equal(rc, KVMIO_EXIT_BADCONFIG);
	e = test_output(test_err_path);
	if (!strstr(e, "topology=peer needs QEMU on this machine") ||
	    strchr(e, '\n') != e + strlen(e) - 1)
		fail_msg("want one line, got:\n%s", e);
	if (access("/dev/vhost-net", F_OK) == 0) {
		/* a host with vhost-net: nothing to refuse, libvirt is asked for it */
		assert_int_equal(test_kvmio(test_out_path, "boot", "--print-xml", "--net",
					    "virtio-net,topology=tap,vhost=on", "--",
					    "bench=net-echo", (char *)NULL), 0);
		assert_non_null(strstr(test_output(test_out_path), "<driver name='vhost'/>"));
		return;
	}
	rc = test_kvmio_split(test_out_path, test_err_path, "boot", "--connect", "--net",
			      "virtio-net,topology=tap,vhost=on", "--", "bench=net-echo",
			      (char *)NULL);
	assert_int_equal(rc, KVMIO_EXIT_BADCONFIG);
	e = test_output(test_err_path);
	if (strcmp(e, "kvmio: boot: --net: vhost=on: no /dev/vhost-net\n") != 0 &&
	    !strstr(e, "tap topology needs root"))
		fail_msg("want one line, got:\n%s", e);
}

/* --pin: libvirt pins (<cputune>), kvmio reads it back: the same 'pinned:' line as the QEMU
 * backend's, every thread where it was asked to be. */
static void test_pin(void **state)
{
	char cpu[16], want[80];
	const char *text;
	cpu_set_t set;
	int first = 0;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	while (!CPU_ISSET(first, &set))
		first++;
	snprintf(cpu, sizeof(cpu), "%d", first);
	for (int k = 0; k < 3; k++) {   /* the last session saw it fail now and then: thrice */
		assert_int_equal(test_kvmio(test_out_path, "boot", "--connect", "--pin", cpu,
					    "--disk", "virtio-blk,backend=null,iothread=on", "--",
					    "bench=exits", "ops=300", (char *)NULL), 0);
		text = test_output(test_out_path);
		snprintf(want, sizeof(want), "pinned:       CPU 0/TCG (vcpu) -> %d; ", first);
		if (!strstr(text, want) || !strstr(text, "(main)") ||
		    !strstr(text, "IO iothread1 (iothread)") || strstr(text, "not pinned"))
			fail_msg("want '%s', every thread pinned:\n%s", want, text);
		snprintf(want, sizeof(want), " -> %d\n", first);
		assert_non_null(strstr(strstr(text, "(vcpu) -> "), want));
	}
	assert_int_equal(test_kvmio(test_out_path, "boot", "--connect", "--pin", cpu, "--json",
				    "--", "bench=exits", "ops=300", (char *)NULL), 0);
	text = test_output(test_out_path);
	assert_non_null(strstr(text, "\"pin\":{\"applied\":true,"));
	snprintf(want, sizeof(want), "\"kind\":\"vcpu\",\"cpus\":\"%d\",\"error\":null}", first);
	assert_non_null(strstr(text, want));
}

/* uefi through libvirt (<loader type='pflash'>, <nvram>): OVMF under TCG, kvmio.efi from the
 * boot volume, then the disk image's GRUB. */
static void test_uefi(void **state)
{
	char img[300], *slash;
	const char *out;
	struct log log;

	(void)state;
	same_records("--firmware uefi --accel tcg", NULL, NULL, "bench=exits ops=300", NULL, &out);
	snprintf(img, sizeof(img), "%s", test_kvmio_bin());
	slash = strrchr(img, '/');
	snprintf(slash ? slash + 1 : img, sizeof(img) - (size_t)(slash ? slash + 1 - img : 0),
		 "kvmio.img");
	if (test_kvmio(test_out_path, "boot", "--connect", "--firmware", "uefi", "--accel", "tcg",
		       "--image", img, "--timeout", "300", "--log", log_lv, (char *)NULL) != 0)
		fail_msg("%s", test_output(test_out_path));
	memset(&log, 0, sizeof(log));
	log_parse_file(&log, log_lv);
	assert_int_equal(log.status, KVMIO_EXIT_OK);
	test_assert_field(log_find(&log, "hello", NULL, NULL), "boot", "multiboot2");
	test_assert_field(log_find(&log, "end", NULL, NULL), "status", "ok");
	log_free(&log);
}

/* pvh: direct kernel boot of kvmio-pvh.elf through libvirt, on q35 and microvm. */
static void test_pvh(void **state)
{
	const char *out;

	(void)state;
	same_records("--firmware pvh --machine q35", NULL, NULL, "bench=exits ops=300", NULL, &out);
	same_records("--firmware pvh", NULL, NULL, "bench=exits ops=300", NULL, &out);
	assert_non_null(strstr(out, "pvh"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rr_loop, setup, test_dir_teardown),
		cmocka_unit_test_setup_teardown(test_peer, setup, test_dir_teardown),
		cmocka_unit_test_setup_teardown(test_tap, setup, test_dir_teardown),
		cmocka_unit_test_setup_teardown(test_vhost_refused, setup, test_dir_teardown),
		cmocka_unit_test_setup_teardown(test_pin, setup, test_dir_teardown),
		cmocka_unit_test_setup_teardown(test_uefi, setup, test_dir_teardown),
		cmocka_unit_test_setup_teardown(test_pvh, setup, test_dir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
