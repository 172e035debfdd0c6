/*
 * Boot tests of kvmio on two real libvirt endpoints (scripts/libvirt-endpoints, started here
 * into a temporary directory and always stopped): `kvmio boot --connect` gives end status=ok on
 * endpoint a (its own libvirtd's unix socket) and endpoint b (another libvirtd in a network
 * namespace, over qemu+ssh://); on b the kernel is uploaded into the storage pool kvmio once
 * (a volume named by its SHA-256, the path QEMU was given) and re-used by the next boot, and a
 * pool that cannot start is one line and exit 2; an endpoint whose libvirtd was killed fails
 * with one line and exit 2, promptly, and one killed mid-boot ends that boot; stop leaves
 * nothing behind.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "lib/file.h"
#include "lib/proc.h"
#include "proto/proto.h"
#include "helpers.h"

#define SCRIPT "scripts/libvirt-endpoints"
#define KERNEL "build/kvmio.elf"
#define LOST_BOUND_S 60.0   /* a dead endpoint must be reported within this */

static char epdir[300], uri_a[1024], uri_b[1024], connect_arg[1100], kernel[4096];
static pid_t mid_boot;  /* the kvmio whose host was lost mid-boot: its QEMU stays until stop */

/* scripts/libvirt-endpoints VERB epdir [NAME]; its exit code (output into test_out_path). */
static int endpoints(const char *verb, const char *name)
{
	char *argv[] = { SCRIPT, (char *)verb, epdir, (char *)name, NULL };

	return test_wait(test_spawn(argv, test_out_path, NULL));
}

/* A guardian that stops the endpoints (and removes the test's directory) when this process ends
 * however it ends, a crash included: it waits for the end of a pipe only this process holds. */
static void guardian(void)
{
	int p[2];
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char c;

		setsid();
		close(p[1]);
		while (read(p[0], &c, 1) < 0 && errno == EINTR)
			;
		execl("/bin/sh", "sh", "-c", "\"$0\" stop \"$1\"; rm -rf \"$2\"", SCRIPT, epdir,
		      test_dir, (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	fcntl(p[1], F_SETFD, FD_CLOEXEC); /* kvmio and the script do not hold it */
}

/* The URI of endpoint NAME in epdir/hosts ("NAME URI" lines, # comments). */
static void host_uri(const char *name, char *uri, size_t len)
{
	char path[400], *text, *line, *save = NULL;

	snprintf(path, sizeof(path), "%s/hosts", epdir);
	text = test_read(path);
	assert_non_null(text);
	uri[0] = '\0';
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (line[0] != '#' && strncmp(line, name, strlen(name)) == 0 &&
		    line[strlen(name)] == ' ')
			snprintf(uri, len, "%s", line + strlen(name) + 1);
	free(text);
	if (!uri[0])
		fail_msg("%s names no endpoint %s", path, name);
}

static int group_setup(void **state)
{
	if (test_dir_setup(state) != 0)
		return -1;
	snprintf(epdir, sizeof(epdir), "%s/ep", test_dir);
	guardian();
	if (endpoints("start", NULL) != 0) {
		fprintf(stderr, "%s start %s failed:\n%s\n", SCRIPT, epdir, test_output(test_out_path));
		return -1;
	}
	host_uri("a", uri_a, sizeof(uri_a));
	host_uri("b", uri_b, sizeof(uri_b));
	return 0;
}

/* 1 if a process runs the QEMU of kvmio PID's domain (-name guest=kvmio-PID,...). */
static int qemu_of_runs(pid_t pid)
{
	char want[64], path[64];
	DIR *d = opendir("/proc");
	struct dirent *e;
	int found = 0;

	assert_non_null(d);
	snprintf(want, sizeof(want), "guest=kvmio-%d,", (int)pid);
	while (!found && (e = readdir(d))) {
		size_t len = 0;
		char *cmd;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/cmdline", e->d_name);
		cmd = file_read(path, &len);
		found = cmd && memmem(cmd, len, want, strlen(want)) != NULL;
		free(cmd);
	}
	closedir(d);
	return found;
}

static int group_teardown(void **state)
{
	int rc = endpoints("stop", NULL);

	if (rc != 0)
		fprintf(stderr, "%s stop %s: exit %d\n%s\n", SCRIPT, epdir, rc,
			test_output(test_out_path));
	return test_dir_teardown(state) || rc;
}

/* kvmio boot --connect=URI [EXTRA] -- bench=exits ops=200: exit want; what kvmio printed. */
static const char *boot_with(struct log *log, const char *uri, const char *extra, int want)
{
	struct test_boot b = { .args = connect_arg, .timeout = "240", .guest_check = 1,
			       .opts = "bench=exits ops=200" };

	snprintf(connect_arg, sizeof(connect_arg), "--connect=%s%s%s", uri, extra ? " " : "",
		 extra ? extra : "");
	return test_boot_log(log, want, &b);
}

static const char *boot(struct log *log, const char *uri, int want)
{
	return boot_with(log, uri, NULL, want);
}

static void boot_ok(const char *uri)
{
	struct log log;
	const struct record *end;

	boot(&log, uri, KVMIO_EXIT_OK);
	end = log_find(&log, "end", NULL, NULL);
	assert_non_null(end);
	test_assert_field(end, "status", "ok");
	assert_non_null(log_find(&log, "result", "name", "pio-read"));
	log_free(&log);
}

/* virsh -c URI vol-list kvmio: its output (test_output's buffer), or fail. */
static const char *volumes(const char *uri)
{
	char *argv[] = { "virsh", "-c", (char *)uri, "vol-list", "kvmio", NULL };

	if (test_wait(test_spawn(argv, test_out_path, NULL)) != 0)
		fail_msg("virsh vol-list: %s", test_output(test_out_path));
	return test_output(test_out_path);
}

static void test_local_endpoint(void **state)
{
	(void)state;
	boot_ok(uri_a);
}

/* The newest QEMU log of endpoint b (DIR/b/log/qemu/kvmio-PID.log: libvirt's, with QEMU's
 * command line) holds "-kernel PATH". */
static void b_qemu_had_kernel(const char *path)
{
	char cmd[1200], out[400];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "grep -ho -- '-kernel [^ ]*' \"$(ls -t %s/b/log/qemu/kvmio-*.log "
		 "| head -n 1)\"", epdir);
	p = popen(cmd, "r");
	assert_non_null(p);
	out[0] = '\0';
	if (!fgets(out, sizeof(out), p))
		out[0] = '\0';
	pclose(p);
	out[strcspn(out, "\n")] = '\0';
	if (strcmp(out + (strncmp(out, "-kernel ", 8) == 0 ? 8 : 0), path) != 0)
		fail_msg("endpoint b's QEMU had '%s', want -kernel %s", out, path);
}

/* virsh -c URI ARGS...: exit 0, or fail with what it said. */
static void virsh(const char *uri, const char *a1, const char *a2, const char *a3, const char *a4,
		  const char *a5)
{
	char *argv[] = { "virsh", "-c", (char *)uri, (char *)a1, (char *)a2, (char *)a3,
			 (char *)a4, (char *)a5, NULL };

	if (test_wait(test_spawn(argv, test_out_path, NULL)) != 0)
		fail_msg("virsh %s %s: %s", a1, a2 ? a2 : "", test_output(test_out_path));
}

/* A pool kvmio on b that cannot start: the boot ends with libvirt's reason, one line, exit 2;
 * --firmware uefi to b is refused (one line, exit 2). */
static void test_upload_error(void **state)
{
	const char *printed;
	struct log log;

	(void)state;
	virsh(uri_b, "pool-define-as", "kvmio", "dir", "--target", "/nonexistent/kvmio-pool");
	printed = boot(&log, uri_b, KVMIO_EXIT_BADCONFIG);
	log_free(&log);
	virsh(uri_b, "pool-undefine", "kvmio", NULL, NULL, NULL);
	if (strncmp(printed, "kvmio: boot: libvirt: cannot start the storage pool kvmio: ", 59) ||
	    !strstr(printed, "/nonexistent/kvmio-pool") ||
	    strchr(printed, '\n') != printed + strlen(printed) - 1)
		fail_msg("want one line naming the pool's path, got:\n%s", printed);
	/* uefi's variables and boot volume are files here: refused for another host */
	snprintf(connect_arg, sizeof(connect_arg), "--connect=%s", uri_b);
	assert_int_equal(test_kvmio(test_out_path, "boot", connect_arg, "--firmware", "uefi", "--",
				    "bench=exits", NULL), KVMIO_EXIT_BADCONFIG);
	printed = test_output(test_out_path);
	if (!strstr(printed, "--firmware uefi needs QEMU on this machine") ||
	    strchr(printed, '\n') != printed + strlen(printed) - 1)
		fail_msg("uefi through ssh: want one line, got:\n%s", printed);
}

static void test_ssh_endpoint_upload(void **state)
{
	char sha[80], vol[200];
	const char *printed;
	struct log log;

	(void)state;
	test_file_hash(KERNEL, sha);
	snprintf(vol, sizeof(vol), "/var/lib/libvirt/images/kvmio/%s", sha);
	/* first boot: uploaded */
	printed = boot(&log, uri_b, KVMIO_EXIT_OK);
	if (!strstr(printed, "uploaded to root@") || !strstr(printed, vol))
		fail_msg("no upload of %s said:\n%s", KERNEL, printed);
	test_assert_field(log_find(&log, "end", NULL, NULL), "status", "ok");
	log_free(&log);
	b_qemu_had_kernel(vol);
	printed = volumes(uri_b);
	if (!strstr(printed, sha) || strstr(printed, ".part-"))
		fail_msg("pool kvmio of endpoint b after the upload:\n%s", printed);
	/* second boot: the same volume, nothing sent */
	printed = boot(&log, uri_b, KVMIO_EXIT_OK);
	if (strstr(printed, "uploaded to") || !strstr(printed, "already, volume") ||
	    !strstr(printed, vol))
		fail_msg("the second boot did not re-use the volume:\n%s", printed);
	test_assert_field(log_find(&log, "end", NULL, NULL), "status", "ok");
	log_free(&log);
	b_qemu_had_kernel(vol);
	printed = volumes(uri_b);
	{ /* one volume of it (a line " NAME PATH" per volume) */
		char head[96];
		const char *first;

		snprintf(head, sizeof(head), "\n %s", sha);
		first = strstr(printed, head);
		if (!first || strstr(first + 1, head) || strstr(printed, ".part-"))
			fail_msg("pool kvmio of endpoint b after the second boot:\n%s", printed);
	}
	/* --no-upload: the kernel at its path here (this machine is b's too) */
	printed = boot_with(&log, uri_b, "--no-upload", KVMIO_EXIT_OK);
	assert_null(strstr(printed, "uploaded"));
	assert_null(strstr(printed, "already"));
	test_assert_field(log_find(&log, "end", NULL, NULL), "status", "ok");
	log_free(&log);
	assert_non_null(realpath(KERNEL, kernel));
	b_qemu_had_kernel(kernel);
	/* endpoint a is this machine: nothing uploaded there */
	printed = boot(&log, uri_a, KVMIO_EXIT_OK);
	assert_null(strstr(printed, "uploaded"));
	log_free(&log);
}

/* kvmio boot --connect URI of a killed endpoint (killed here first if kill): exit 2 within
 * LOST_BOUND_S, one line (a fleet asks the host again and finds it lost). */
static void lost(const char *name, const char *uri, int kill)
{
	struct log log;
	const char *printed;
	double t0;

	if (kill)
		assert_int_equal(endpoints("kill", name), 0);
	t0 = clock_now_s();
	printed = boot(&log, uri, KVMIO_EXIT_BADCONFIG);
	log_free(&log);
	if (clock_now_s() - t0 > LOST_BOUND_S)
		fail_msg("endpoint %s: the failure took %.1f s", name, clock_now_s() - t0);
	if (strncmp(printed, "kvmio: boot: libvirt: cannot connect to ", 40) != 0 ||
	    strchr(printed, '\n') != printed + strlen(printed) - 1)
		fail_msg("endpoint %s killed: want one line 'kvmio: boot: libvirt: cannot connect "
			 "to ...', got:\n%s", name, printed);
}

/* Endpoint b lost while a guest runs there (a 60 s disk bench): kvmio ends within LOST_BOUND_S
 * of the kill with exit 13, saying it lost the connection. */
static void lost_mid_boot(void)
{
	char arg[1100], qlog[600], err[400];
	char *argv[] = { (char *)test_kvmio_bin(), "boot", arg, "--timeout", "240", "--disk",
			 "virtio-blk,backend=null", "--", "bench=disk", "time=60", NULL };
	const char *printed;
	pid_t pid;
	double t0;
	int rc;

	snprintf(arg, sizeof(arg), "--connect=%s", uri_b);
	snprintf(err, sizeof(err), "%s/mid.err", test_dir);
	pid = mid_boot = test_spawn(argv, test_out_path, err);
	/* the domain runs once libvirt has its log, DIR/b/log/qemu/kvmio-PID.log */
	snprintf(qlog, sizeof(qlog), "%s/b/log/qemu/kvmio-%d.log", epdir, (int)pid);
	for (t0 = clock_now_s(); !path_exists(qlog); usleep(100000))
		if (clock_now_s() - t0 > LOST_BOUND_S)
			fail_msg("the domain did not start on endpoint b: %s", test_output(err));
	sleep(3);
	assert_int_equal(endpoints("kill", "b"), 0);
	t0 = clock_now_s();
	rc = test_wait(pid);
	if (clock_now_s() - t0 > LOST_BOUND_S)
		fail_msg("kvmio took %.1f s after its host was lost", clock_now_s() - t0);
	printed = test_output(err);
	if (rc != KVMIO_EXIT_HOST_LOST || !strstr(printed, "libvirt: lost the connection to "))
		fail_msg("endpoint b lost mid-boot: exit %d,\n%s", rc, printed);
}

static void test_killed_endpoints(void **state)
{
	(void)state;
	lost_mid_boot();
	lost("b", uri_b, 0);
	lost("a", uri_a, 1);
}

/* stop: nothing of the endpoints is left (the lost host's QEMU included), and again is fine. */
static void test_stop(void **state)
{
	char path[400];

	(void)state;
	assert_true(mid_boot > 0);
	assert_true(qemu_of_runs(mid_boot)); /* its host is lost, not its QEMU */
	if (endpoints("stop", NULL) != 0)
		fail_msg("%s stop: %s", SCRIPT, test_output(test_out_path));
	assert_false(qemu_of_runs(mid_boot));
	snprintf(path, sizeof(path), "%s/a/holder.pid", epdir);
	assert_false(path_exists(path));
	snprintf(path, sizeof(path), "%s/b/holder.pid", epdir);
	assert_false(path_exists(path));
	assert_int_equal(endpoints("stop", NULL), 0);
}

/* Issue 12's fleet on the two real endpoints: `kvmio run --hosts DIR/hosts` spreads a job over a
 * (unix socket) and b (qemu+ssh, the kernel uploaded there), b's libvirtd is killed once it has
 * finished a run, and the matrix still completes: b's finished runs kept, its unfinished run
 * given to a, every results.csv row naming its host, b dead in DIR/hosts/b.json and in the
 * report's Hosts section. */
static void test_fleet_two_endpoints(void **state)
{
	char job[400], res[400], hosts[400], errp[400], path[600], *e = NULL;
	char *argv[] = { (char *)test_kvmio_bin(), "run", job, "--hosts", hosts, "-o", res, NULL };
	int rc, on_a = 0, on_b = 0;
	pid_t run;

	(void)state;
	/* the endpoints anew (test_killed_endpoints lost both; stop is idempotent) */
	if (endpoints("stop", NULL) != 0 || endpoints("start", NULL) != 0)
		fail_msg("%s start again: %s", SCRIPT, test_output(test_out_path));
	snprintf(hosts, sizeof(hosts), "%s/hosts", epdir);
	snprintf(job, sizeof(job), "%s/fleet.ini", test_dir);
	snprintf(res, sizeof(res), "%s/fleet-res", test_dir);
	snprintf(errp, sizeof(errp), "%s/fleet.err", test_dir);
	test_write_file(job, "[global]\nrepeat = 3\ntimeout = 180\n\n[x]\nbench = exits\n"
			     "machine = pc, q35\nops = 200\n");
	run = test_spawn(argv, test_out_path, errp);
	/* once b has finished a run (over ssh, its kernel uploaded), its libvirtd dies */
	for (int i = 0; i < 2400 && !(e && strstr(e, " on b: ok")); i++) {
		free(e);
		usleep(100000);
		e = test_slurp(errp);
	}
	if (!strstr(e, " on b: ok")) {
		kill(run, SIGTERM);
		test_wait(run);
		fail_msg("host b ran nothing:\n%s", e);
	}
	free(e);
	assert_int_equal(endpoints("kill", "b"), 0);
	rc = test_wait(run);
	e = test_slurp(errp);
	if (rc != 0 || !strstr(e, "kvmio: run: host b lost: boot: libvirt: ") ||
	    !strstr(e, "kvmio: run: 6 runs (0 failed)"))
		fail_msg("kvmio run --hosts with b killed: exit %d:\n%s", rc, e);
	free(e);
	for (int c = 1; c <= 2; c++)
		for (int r = 1; r <= 3; r++) {
			char *host, *code;

			snprintf(path, sizeof(path), "%s/runs/c%03d/r%d/exit", res, c, r);
			code = test_slurp(path);
			assert_string_equal(code, "0\n");
			free(code);
			snprintf(path, sizeof(path), "%s/runs/c%03d/r%d/host", res, c, r);
			host = test_slurp(path);
			on_a += !strcmp(host, "a\n");
			on_b += !strcmp(host, "b\n");
			free(host);
		}
	assert_int_equal(on_a + on_b, 6);
	assert_true(on_b >= 1);   /* what b finished is kept */
	assert_true(on_a >= 3);   /* a took b's share after the loss */
	snprintf(path, sizeof(path), "%s/results.csv", res);
	e = test_slurp(path);
	assert_non_null(strstr(e, ",host,host_flavour,host_cpu,host_qemu_version\n"));
	assert_non_null(strstr(e, ",b,"));
	assert_non_null(strstr(e, ",a,"));
	free(e);
	snprintf(path, sizeof(path), "%s/hosts/b.json", res);
	e = test_slurp(path);
	assert_non_null(strstr(e, "\"state\":\"dead\""));
	free(e);
	/* the report: per host, b dead */
	assert_int_equal(test_kvmio_split(test_out_path, test_err_path, "report", res, (char *)NULL),
			 0);
	snprintf(path, sizeof(path), "%s/summary.txt", res);
	e = test_slurp(path);
	if (!strstr(e, "hosts:") || !strstr(e, "  b: qemu+ssh://") || !strstr(e, ", dead"))
		fail_msg("summary.txt has no Hosts part with b dead:\n%s", e);
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local_endpoint),
		cmocka_unit_test(test_upload_error),
		cmocka_unit_test(test_ssh_endpoint_upload),
		cmocka_unit_test(test_killed_endpoints), /* the endpoints are lost after */
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_fleet_two_endpoints), /* starts them again */
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
