/*
 * Boot tests of `kvmio run JOB.ini --hosts FILE` (host/matrix/fleet.c) over two libvirt endpoints
 * the test makes itself: two embedded drivers, `qemu:///embed?root=DIR1` and `...root=DIR2`
 * (libvirt's QEMU driver in each kvmio boot's own process: no daemon). Every run completes, both
 * hosts get runs, every row carries its host and that host's facts, and compare and report set
 * the hosts side by side. A host that cannot be reached (a socket with no daemon behind it) is
 * reported dead and the other does all the work; with every host dead the run stops (exit 13)
 * and --resume with another hosts file finishes it; `kvmio run --connect` to an unreachable host
 * leaves its runs unfinished (exit 13). A real endpoint killed mid-run: a private libvirtd (root,
 * its own mount namespace and socket) SIGKILLed after its first run; its next run goes to the
 * other host and the matrix completes. Bad hosts files: one line, exit 2.
 * Run from the repository root.
 */
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "lib/csv.h"
#include "helpers.h"

/* 4 configurations x 2 repeats of a short disk benchmark on null-co */
#define JOB "[global]\nrepeat = 2\ntimeout = 180\n\n[d]\ndisk = ide, virtio-blk\nbackend = null\n" \
	    "bench = disk\nrw = randread\nops = 100, 150\n"
#define NCFG 4
#define NREP 2

static char job[300], res[300], hosts[300];

static void write_job(const char *text)
{
	snprintf(job, sizeof(job), "%s/job.ini", test_dir);
	snprintf(res, sizeof(res), "%s/res", test_dir);
	test_write_file(job, text);
}

/* The hosts file: its lines, "%s" standing for test_dir. */
static void write_hosts(const char *name, const char *fmt)
{
	char text[2048];

	snprintf(hosts, sizeof(hosts), "%s/%s", test_dir, name);
	snprintf(text, sizeof(text), fmt, test_dir, test_dir, test_dir);
	test_write_file(hosts, text);
}

/* The host that ran repeat r of configuration c ("" if none), and its exit ("" if none). */
static void run_host(int c, int r, char *host, size_t hl, char *exitc, size_t el)
{
	char path[600], *t;

	snprintf(path, sizeof(path), "%s/runs/c%03d/r%d/host", res, c, r);
	t = test_slurp(path);
	snprintf(host, hl, "%.*s", (int)strcspn(t, "\n"), t);
	free(t);
	snprintf(path, sizeof(path), "%s/runs/c%03d/r%d/exit", res, c, r);
	t = test_slurp(path);
	snprintf(exitc, el, "%.*s", (int)strcspn(t, "\n"), t);
	free(t);
}

/* Every row of results.csv: its host is one of `names` (space-separated), with that host's
 * facts; the number of rows. */
static int check_rows(const char *names)
{
	char path[600], *text, *p, *h[64], *f[64];
	int nh, rows = 0, kh = -1, kf = -1, kc = -1, kq = -1;

	snprintf(path, sizeof(path), "%s/results.csv", res);
	text = test_read(path);
	assert_non_null(text);
	p = text;
	nh = csv_next_record(&p, h, 64);
	for (int i = 0; i < nh; i++) {
		kh = !strcmp(h[i], "host") ? i : kh;
		kf = !strcmp(h[i], "host_flavour") ? i : kf;
		kc = !strcmp(h[i], "host_cpu") ? i : kc;
		kq = !strcmp(h[i], "host_qemu_version") ? i : kq;
	}
	/* the host columns come last, after every older column */
	assert_int_equal(kh, nh - 4);
	assert_true(kf == nh - 3 && kc == nh - 2 && kq == nh - 1);
	while (csv_next_record(&p, f, 64) == nh) {
		char want[80];

		snprintf(want, sizeof(want), " %s ", f[kh]);
		{
			char padded[200];

			snprintf(padded, sizeof(padded), " %s ", names);
			if (!f[kh][0] || !strstr(padded, want))
				fail_msg("row of %s: host '%s', want one of %s", f[0], f[kh], names);
		}
		assert_true(!strcmp(f[kf], "tcg") || !strcmp(f[kf], "kvm"));
		assert_true(f[kc][0] != '\0');
		assert_true(strchr(f[kq], '.') != NULL);  /* "7.2.0" */
		rows++;
	}
	free(text);
	return rows;
}

static void test_two_embedded(void **state)
{
	char host[80], code[16], *out, *e, path[600];
	int on_a = 0, on_b = 0, rc;

	(void)state;
	write_job(JOB);
	write_hosts("hosts", "# two endpoints, no daemon\n"
		    "a qemu:///embed?root=%s/root-a\n"
		    "b qemu:///embed?root=%s/root-b   # the second\n");
	rc = test_kvmio_split(test_out_path, test_err_path, "run", job, "--hosts", hosts, "-o", res,
			      (char *)NULL);
	e = test_slurp(test_err_path);
	if (rc != 0)
		fail_msg("kvmio run --hosts: exit %d:\n%s", rc, e);
	assert_non_null(strstr(e, "kvmio: run: host a (qemu:///embed?root="));
	assert_non_null(strstr(e, "kvmio: run: host b (qemu:///embed?root="));
	assert_non_null(strstr(e, "kvmio: run: 8 runs (0 failed)"));
	free(e);
	for (int c = 1; c <= NCFG; c++)
		for (int r = 1; r <= NREP; r++) {
			run_host(c, r, host, sizeof(host), code, sizeof(code));
			assert_string_equal(code, "0");
			on_a += !strcmp(host, "a");
			on_b += !strcmp(host, "b");
		}
	assert_int_equal(on_a + on_b, NCFG * NREP);
	assert_true(on_a > 0 && on_b > 0);
	assert_int_equal(check_rows("a b"), NCFG * NREP); /* one result per run */
	/* the hosts' facts, and the same on every run in results.json */
	snprintf(path, sizeof(path), "%s/hosts/a.json", res);
	e = test_slurp(path);
	assert_non_null(strstr(e, "\"state\":\"up\""));
	assert_non_null(strstr(e, "\"hostname\":\""));
	assert_non_null(strstr(e, "\"local\":true"));
	free(e);
	snprintf(path, sizeof(path), "%s/results.json", res);
	e = test_slurp(path);
	assert_non_null(strstr(e, "\"host\":\"a\",\"host_flavour\":\""));
	assert_non_null(strstr(e, "\"host\":\"b\",\"host_flavour\":\""));
	free(e);

	/* host is an axis: each configuration that ran on both, b against a */
	rc = test_kvmio_split(test_out_path, test_err_path, "compare", res, "--baseline", "host=a",
			      (char *)NULL);
	out = test_slurp(test_out_path);
	if (rc != 0 || !strstr(out, "(host: a -> b)") || !strstr(out, "@b vs c00"))
		fail_msg("compare --baseline host=a: exit %d:\n%s%s", rc, out,
			 test_output(test_err_path));
	free(out);
	/* the report's Hosts section */
	rc = test_kvmio_split(test_out_path, test_err_path, "report", res, (char *)NULL);
	out = test_slurp(test_out_path);
	if (rc != 0 || !strstr(out, "\nhosts:\n  a: qemu:///embed?root=") ||
	    !strstr(out, "\n  b: qemu:///embed?root="))
		fail_msg("report: exit %d:\n%s%s", rc, out, test_output(test_err_path));
	free(out);
	snprintf(path, sizeof(path), "%s/report.html", res);
	e = test_slurp(path);
	assert_non_null(strstr(e, "<h2>Hosts</h2>"));
	free(e);
}

/* One host cannot be reached: reported dead, the other runs everything. */
static void test_host_unreachable(void **state)
{
	char host[80], code[16], *e, path[600];
	int rc;

	(void)state;
	write_job("[global]\nrepeat = 2\ntimeout = 180\n\n[d]\ndisk = virtio-blk\nbackend = null\n"
		  "bench = disk\nops = 100, 150\n");
	write_hosts("hosts", "gone qemu+unix:///system?socket=%s/no-daemon-here\n"
		    "good qemu:///embed?root=%s/root-good\n");
	rc = test_kvmio_split(test_out_path, test_err_path, "run", job, "--hosts", hosts, "-o", res,
			      (char *)NULL);
	e = test_slurp(test_err_path);
	if (rc != 0 || !strstr(e, "kvmio: run: host gone dead: libvirt: cannot connect to "
			       "qemu+unix:///system?socket="))
		fail_msg("exit %d:\n%s", rc, e);
	free(e);
	for (int c = 1; c <= 2; c++)
		for (int r = 1; r <= 2; r++) {
			run_host(c, r, host, sizeof(host), code, sizeof(code));
			assert_string_equal(code, "0");
			assert_string_equal(host, "good");
		}
	assert_int_equal(check_rows("good"), 4);
	snprintf(path, sizeof(path), "%s/hosts/gone.json", res);
	e = test_slurp(path);
	assert_non_null(strstr(e, "\"state\":\"dead\""));
	assert_non_null(strstr(e, "Failed to connect socket"));
	free(e);
	rc = test_kvmio_split(test_out_path, test_err_path, "report", res, (char *)NULL);
	e = test_slurp(test_out_path);
	if (rc != 0 || !strstr(e, "  gone: qemu+unix:///system?socket=") ||
	    !strstr(e, ", dead, ") || !strstr(e, "  good: qemu:///embed?root="))
		fail_msg("report: exit %d:\n%s", rc, e);
	free(e);
}

/* Every host dead: nothing lost, exit 13; --resume with another hosts file finishes. */
static void test_all_dead_resume(void **state)
{
	char host[80], code[16], *e;
	int rc;

	(void)state;
	write_job("[global]\nrepeat = 1\ntimeout = 180\n\n[d]\ndisk = virtio-blk\nbackend = null\n"
		  "bench = disk\nops = 100, 150\n");
	write_hosts("dead", "x qemu+unix:///system?socket=%s/nothing-here\n");
	rc = test_kvmio_split(test_out_path, test_err_path, "run", job, "--hosts", hosts, "-o", res,
			      (char *)NULL);
	e = test_slurp(test_err_path);
	if (rc != KVMIO_EXIT_HOST_LOST ||
	    !strstr(e, "kvmio: run: every host is dead: 0 of 2 runs finished; --resume"))
		fail_msg("exit %d:\n%s", rc, e);
	free(e);
	run_host(1, 1, host, sizeof(host), code, sizeof(code));
	assert_string_equal(code, "");
	write_hosts("alive", "y qemu:///embed?root=%s/root-y\n");
	rc = test_kvmio_split(test_out_path, test_err_path, "run", job, "--hosts", hosts, "-o", res,
			      "--resume", (char *)NULL);
	e = test_slurp(test_err_path);
	if (rc != 0)
		fail_msg("--resume: exit %d:\n%s", rc, e);
	free(e);
	for (int c = 1; c <= 2; c++) {
		run_host(c, 1, host, sizeof(host), code, sizeof(code));
		assert_string_equal(code, "0");
		assert_string_equal(host, "y");
	}
	assert_int_equal(check_rows("y"), 2);
}

/* A private libvirtd (root): its own mount namespace, tmpfs over its state directories, QEMU's
 * output in files (no virtlogd), its socket in DIR. Its pid (libvirtd itself: unshare and sh exec
 * it), once the socket is there. */
static pid_t private_libvirtd(const char *dir)
{
	char conf[400], qconf[400], script[400], sock[400], text[2048];
	char *argv[] = { "unshare", "-m", "--propagation", "private", "sh", script, NULL };
	pid_t pid;

	assert_int_equal(geteuid(), 0);
	snprintf(conf, sizeof(conf), "%s/libvirtd.conf", dir);
	snprintf(qconf, sizeof(qconf), "%s/qemu.conf", dir);
	snprintf(script, sizeof(script), "%s/start.sh", dir);
	snprintf(sock, sizeof(sock), "%s/libvirt-sock", dir);
	snprintf(text, sizeof(text), "unix_sock_dir = \"%s\"\nunix_sock_rw_perms = \"0700\"\n"
		 "auth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n", dir);
	test_write_file(conf, text);
	/* namespaces = []: the domains' QEMUs stay in the daemon's mount namespace, where
	 * kill_namespace finds them */
	test_write_file(qconf, "stdio_handler = \"file\"\nuser = \"root\"\ngroup = \"root\"\n"
			"namespaces = []\n");
	snprintf(text, sizeof(text), "set -e\n"
		 "for d in /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do\n"
		 "  mount -t tmpfs none $d\ndone\n"
		 "mkdir -p /var/log/libvirt/qemu /var/lib/libvirt/qemu /run/libvirt/qemu\n"
		 "mount --bind %s /etc/libvirt/qemu.conf\n"
		 "exec libvirtd -f %s\n", qconf, conf);
	test_write_file(script, text);
	snprintf(text, sizeof(text), "%s/libvirtd.out", dir);
	pid = test_spawn(argv, text, NULL);
	for (int i = 0; i < 300 && access(sock, F_OK) != 0; i++)
		usleep(100000);
	if (access(sock, F_OK) != 0)
		fail_msg("the private libvirtd did not start:\n%s", test_output(text));
	return pid;
}

/* SIGKILL every process in the mount namespace ns ("mnt:[N]", the private libvirtd's): the
 * domains' QEMUs outlive their daemon (libvirt keeps domains across daemon restarts). */
static void kill_namespace(const char *ns)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char link[300], target[64];
		ssize_t n;

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(link, sizeof(link), "/proc/%s/ns/mnt", e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (!strcmp(target, ns))
			kill((pid_t)atoi(e->d_name), SIGKILL);
	}
	if (d)
		closedir(d);
}

/* A real endpoint killed mid-run (SIGKILL to its libvirtd): the host is lost, its run goes to
 * the other host, every run completes. */
static void test_host_killed(void **state)
{
	char lv[300], errp[400], host[80], code[16], path[600], *e = NULL;
	char *argv[16];
	char nslink[64], ns[64] = "";
	pid_t daemon, run;
	int n = 0, rc, on_s = 0;
	ssize_t len;

	(void)state;
	write_job("[global]\nrepeat = 4\ntimeout = 180\n\n[d]\ndisk = ide, virtio-blk\n"
		  "backend = null\nbench = disk\nops = 100\n");
	snprintf(lv, sizeof(lv), "%s/lv", test_dir);
	assert_int_equal(mkdir(lv, 0700), 0);
	daemon = private_libvirtd(lv);
	snprintf(nslink, sizeof(nslink), "/proc/%d/ns/mnt", (int)daemon);
	len = readlink(nslink, ns, sizeof(ns) - 1);
	assert_true(len > 0);
	ns[len] = '\0';
	write_hosts("hosts", "a qemu:///embed?root=%s/root-a\n"
		    "s qemu+unix:///system?socket=%s/lv/libvirt-sock\n");
	snprintf(errp, sizeof(errp), "%s/run.err", test_dir);
	argv[n++] = (char *)test_kvmio_bin();
	argv[n++] = "run";
	argv[n++] = job;
	argv[n++] = "--hosts";
	argv[n++] = hosts;
	argv[n++] = "-o";
	argv[n++] = res;
	argv[n] = NULL;
	run = test_spawn(argv, test_out_path, errp);
	/* once s has finished a run, its daemon dies */
	for (int i = 0; i < 3000; i++) {
		free(e);
		e = test_slurp(errp);
		if (strstr(e, " on s: ok"))
			break;
		usleep(100000);
	}
	if (!strstr(e, " on s: ok")) {
		kill(daemon, SIGKILL);
		kill(run, SIGTERM);
		waitpid(daemon, NULL, 0);
		test_wait(run);
		kill_namespace(ns);
		fail_msg("host s ran nothing:\n%s", e);
	}
	free(e);
	usleep(500000);
	kill(daemon, SIGKILL);
	waitpid(daemon, NULL, 0);
	rc = test_wait(run);
	kill_namespace(ns);
	e = test_slurp(errp);
	if (rc != 0 || !strstr(e, "kvmio: run: host s lost: boot: libvirt: ") ||
	    !strstr(e, "on s: host lost, queued again") ||
	    !strstr(e, "kvmio: run: 8 runs (0 failed)"))
		fail_msg("exit %d:\n%s", rc, e);
	free(e);
	for (int c = 1; c <= 2; c++)
		for (int r = 1; r <= 4; r++) {
			run_host(c, r, host, sizeof(host), code, sizeof(code));
			assert_string_equal(code, "0");
			on_s += !strcmp(host, "s");
		}
	assert_true(on_s >= 1);                 /* its finished runs are kept */
	assert_int_equal(check_rows("a s"), 8);
	snprintf(path, sizeof(path), "%s/hosts/s.json", res);
	e = test_slurp(path);
	assert_non_null(strstr(e, "\"state\":\"dead\""));
	assert_non_null(strstr(e, "\"qemu_version\":\""));  /* its facts kept */
	free(e);
}

/* kvmio run --connect to a host that cannot be reached: each run fails with kvmio boot's one
 * line ("cannot connect", exit 2, as a wrong URI), kvmio run exits 1; only --hosts asks a host
 * again and moves its runs (a host lost while its run is under way is exit 13 either way). */
static void test_connect_lost(void **state)
{
	char uri[400], host[80], code[16], *e;
	int rc;

	(void)state;
	write_job("[global]\nrepeat = 1\ntimeout = 180\n\n[d]\ndisk = virtio-blk\nbackend = null\n"
		  "bench = disk\nops = 100, 150\n");
	snprintf(uri, sizeof(uri), "qemu+unix:///system?socket=%s/nothing-here", test_dir);
	rc = test_kvmio_split(test_out_path, test_err_path, "run", job, "--connect", uri, "-o", res,
			      (char *)NULL);
	e = test_slurp(test_err_path);
	if (rc != KVMIO_EXIT_GUEST_FAIL || !strstr(e, "c001 r1: bad configuration (") ||
	    !strstr(e, "2 runs (2 failed)"))
		fail_msg("exit %d:\n%s", rc, e);
	free(e);
	run_host(1, 1, host, sizeof(host), code, sizeof(code));
	assert_string_equal(code, "2");
	snprintf(uri, sizeof(uri), "%s/runs/c001/r1/stderr.txt", res);
	e = test_slurp(uri);
	assert_non_null(strstr(e, "kvmio: boot: libvirt: cannot connect to qemu+unix:///system"));
	free(e);
}

/* One line naming the problem, exit 2. */
static void bad(const char *want, const char *a1, const char *a2, const char *a3,
		const char *a4)
{
	int rc = test_kvmio_split(test_out_path, test_err_path, "run", job, "-o", res, a1, a2, a3,
				  a4, (char *)NULL);
	const char *e = test_output(test_err_path);

	assert_int_equal(rc, KVMIO_EXIT_BADCONFIG);
	if (!strstr(e, want) || strchr(e, '\n') != e + strlen(e) - 1)
		fail_msg("want one line with '%s', got:\n%s", want, e);
}

static void test_bad_hosts(void **state)
{
	char missing[400];

	(void)state;
	write_job(JOB);
	snprintf(missing, sizeof(missing), "%s/no-such-file", test_dir);
	bad("run: --hosts", "--hosts", missing, NULL, NULL);
	write_hosts("empty", "# nobody\n\n");
	bad("no hosts", "--hosts", hosts, NULL, NULL);
	write_hosts("dup", "a qemu:///embed?root=%s/r1\na qemu:///embed?root=%s/r2\n");
	bad("dup:2: host name 'a' given twice", "--hosts", hosts, NULL, NULL);
	write_hosts("words", "a b qemu:///system\n");
	bad("words:1: expected URI or NAME URI", "--hosts", hosts, NULL, NULL);
	write_hosts("ok", "a qemu:///embed?root=%s/r1\n");
	bad("--per-host 2 with host a", "--hosts", hosts, "--per-host", "2");
	bad("--per-host goes with --hosts", "--per-host", "2", NULL, NULL);
	bad("--hosts with --connect", "--hosts", hosts, "--connect", NULL);
	bad("run: '--hosts' needs a value", "--hosts", NULL, NULL, NULL);
	bad("unknown option '--host'", "--host", hosts, NULL, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST_IN_DIR(test_bad_hosts),
		TEST_IN_DIR(test_two_embedded),
		TEST_IN_DIR(test_host_unreachable),
		TEST_IN_DIR(test_all_dead_resume),
		TEST_IN_DIR(test_connect_lost),
		TEST_IN_DIR(test_host_killed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
