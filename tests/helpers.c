/* The tests' shared helpers (helpers.h). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
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
#include "helpers.h"

/* ---- programs ---- */

const char *test_kvmio_bin(void)
{
	const char *b = getenv("KVMIO_BIN");

	return b && *b ? b : "build/kvmio";
}

pid_t test_spawn(char *const *argv, const char *out_path, const char *err_path)
{
	pid_t pid;

	fflush(NULL); /* nothing buffered may reach the child's output twice */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		int o = out_path ? open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : nul;
		int e = err_path ? open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : o;

		if (nul < 0 || o < 0 || e < 0 || dup2(nul, 0) < 0 || dup2(o, 1) < 0 || dup2(e, 2) < 0)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

int test_wait(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status))
		fail_msg("process %d ended by signal %d (%s), not by exit", (int)pid,
			 WIFSIGNALED(status) ? WTERMSIG(status) : 0,
			 WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "?");
	return WEXITSTATUS(status);
}

int test_kvmio_argv(const char *out_path, const char *const *args)
{
	const char *argv[MAX_ARGS];
	int n = 0;

	argv[n++] = test_kvmio_bin();
	while (*args && n < MAX_ARGS - 1)
		argv[n++] = *args++;
	argv[n] = NULL;
	return test_wait(test_spawn((char *const *)argv, out_path, NULL));
}

/* The NULL-terminated variadic arguments after `first` into args (at most MAX_ARGS - 2). */
static void collect(const char **args, const char *first, va_list ap)
{
	int n = 0;

	for (const char *a = first; a && n < MAX_ARGS - 2; a = va_arg(ap, const char *))
		args[n++] = a;
	args[n] = NULL;
}

int test_kvmio(const char *out_path, ...)
{
	const char *args[MAX_ARGS];
	va_list ap;

	va_start(ap, out_path);
	collect(args, va_arg(ap, const char *), ap);
	va_end(ap);
	return test_kvmio_argv(out_path, args);
}

int test_kvmio_split(const char *out_path, const char *err_path, ...)
{
	const char *args[MAX_ARGS], *argv[MAX_ARGS];
	int n = 0;
	va_list ap;

	va_start(ap, err_path);
	collect(args, va_arg(ap, const char *), ap);
	va_end(ap);
	argv[n++] = test_kvmio_bin();
	for (int i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return test_wait(test_spawn((char *const *)argv, out_path, err_path));
}

/* ---- files ---- */

char *test_read(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

char *test_slurp(const char *path)
{
	char *t = test_read(path);

	if (!t) {
		t = calloc(1, 1);
		assert_non_null(t);
	}
	return t;
}

const char *test_output(const char *path)
{
	static char *last;

	free(last);
	last = test_slurp(path);
	return last;
}

void test_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* ---- records ---- */

uint64_t test_u64_of(const struct record *r, const char *key)
{
	uint64_t v = 0;
	assert_non_null(r);
	if (record_get_u64(r, key, &v) != 0)
		fail_msg("record %s has no integer field %s", r->type, key);
	return v;
}

void test_assert_field(const struct record *r, const char *key, const char *want)
{
	assert_non_null(r);
	const char *v = record_get(r, key);
	if (!v || strcmp(v, want))
		fail_msg("%s.%s = %s, want %s", r->type, key, v ? v : "(absent)", want);
}

/* A result record is internally consistent: ordered percentiles, histogram counts = ops. */
void test_check_result(const struct log *log, const char *name, uint64_t ops)
{
	const struct record *r = log_find(log, "result", "name", name);
	if (!r)
		fail_msg("no result record for %s", name);
	assert_int_equal(test_u64_of(r, "ops"), ops);
	uint64_t min = test_u64_of(r, "min"), p50 = test_u64_of(r, "p50"), p90 = test_u64_of(r, "p90");
	uint64_t p99 = test_u64_of(r, "p99"), p999 = test_u64_of(r, "p999"), max = test_u64_of(r, "max");
	assert_true(min > 0);
	assert_true(min <= p50 && p50 <= p90 && p90 <= p99 && p99 <= p999 && p999 <= max);
	assert_true(test_u64_of(r, "total") >= min * ops && test_u64_of(r, "total") <= max * ops);
	const char *hist = record_get(r, "hist");
	assert_non_null(hist);
	uint64_t counted = 0, prev_lower = 0;
	int first = 1;
	for (const char *p = hist; *p;) {
		char *end;
		uint64_t lower = strtoull(p, &end, 10);
		assert_true(*end == ':');
		uint64_t count = strtoull(end + 1, &end, 10);
		assert_true(first || lower > prev_lower);
		assert_true(lower <= max);
		first = 0;
		prev_lower = lower;
		counted += count;
		p = *end == ',' ? end + 1 : end;
	}
	assert_int_equal(counted, ops);
}

/* ---- boot tests ---- */

char test_dir[200], test_log_path[256], test_out_path[256], test_err_path[256];

int test_dir_setup(void **state)
{
	(void)state;
	snprintf(test_dir, sizeof(test_dir), "/tmp/kvmio-test-XXXXXX");
	if (!mkdtemp(test_dir))
		return -1;
	snprintf(test_log_path, sizeof(test_log_path), "%s/serial.log", test_dir);
	snprintf(test_out_path, sizeof(test_out_path), "%s/out", test_dir);
	snprintf(test_err_path, sizeof(test_err_path), "%s/err", test_dir);
	return 0;
}

int test_dir_teardown(void **state)
{
	(void)state;
	if (test_dir[0])
		dir_remove_tree(test_dir);
	return 0;
}

/* Append the space-separated words of text to argv (at n), each after `before` if given; room
 * is kept for --tap-cmd CMD, "--", the NULL and the program test_kvmio_argv puts first. */
static void add_words(const char **argv, int *n, char *text, const char *before)
{
	enum { KEEP = 5 };

	for (char *save = NULL, *t = strtok_r(text, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		if (*n + (before ? 2 : 1) > MAX_ARGS - KEEP)
			fail_msg("kvmio boot: more than %d arguments", MAX_ARGS - KEEP);
		if (before)
			argv[(*n)++] = before;
		argv[(*n)++] = t;
	}
}

const char *test_boot_log(struct log *log, int want, const struct test_boot *b)
{
	const char *argv[MAX_ARGS], *logp = b->log ? b->log : test_log_path;
	char argbuf[512], specbuf[1024], optbuf[1024], shown[2048];
	int n = 0;

	argv[n++] = "boot";
	snprintf(argbuf, sizeof(argbuf), "%s", b->args ? b->args : "");
	add_words(argv, &n, argbuf, NULL);
	argv[n++] = "--timeout";
	argv[n++] = b->timeout ? b->timeout : "120";
	argv[n++] = "--log";
	argv[n++] = logp;
	if (!b->guest_check)
		argv[n++] = "--no-guest-check";
	snprintf(specbuf, sizeof(specbuf), "%s", b->specs ? b->specs : "");
	add_words(argv, &n, specbuf, b->flag);
	if (b->tap_cmd) {
		argv[n++] = "--tap-cmd";
		argv[n++] = b->tap_cmd;
	}
	argv[n++] = "--";
	snprintf(optbuf, sizeof(optbuf), "%s %s", b->prefix ? b->prefix : "", b->opts ? b->opts : "");
	add_words(argv, &n, optbuf, NULL);
	argv[n] = NULL;
	unlink(logp); /* no earlier boot's log can pass for this one's */
	int rc = test_kvmio_argv(test_out_path, argv);
	const char *printed = test_output(test_out_path);
	if (rc != want) {
		size_t len = 0;
		shown[0] = '\0';
		for (int i = 0; i < n && len < sizeof(shown); i++)
			len += (size_t)snprintf(shown + len, sizeof(shown) - len, " %s", argv[i]);
		/* kvmio's whole report first, on its own lines (cmocka cuts a message at about
		 * 1 KiB, and a cut message has no newline to end it), then the one-line verdict */
		fprintf(stderr, "%s%s", printed,
			printed[0] && printed[strlen(printed) - 1] != '\n' ? "\n" : "");
		fail_msg("kvmio%s: exit %d, want %d (kvmio's output above)", shown, rc, want);
	}
	memset(log, 0, sizeof(*log));
	log_parse_file(log, logp);
	return printed;
}

void test_sparse_file(const char *path, long long bytes)
{
	FILE *f = fopen(path, "w");

	if (!f)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	assert_int_equal(ftruncate(fileno(f), (off_t)bytes), 0);
	assert_int_equal(fclose(f), 0);
}

void test_precious_file(const char *path, int lines, long long bytes)
{
	FILE *f = fopen(path, "w");

	if (!f)
		fail_msg("cannot write %s: %s", path, strerror(errno));
	for (int i = 0; i < lines; i++)
		fprintf(f, "precious data line %d\n", i);
	assert_int_equal(ftruncate(fileno(f), (off_t)bytes), 0);
	assert_int_equal(fclose(f), 0);
}

const struct record *test_check_disk_result(const struct log *log, const char *name, uint64_t ops)
{
	const struct record *r = name ? log_find(log, "result", "name", name)
				      : log_find(log, "result", "bench", "disk");
	if (!r)
		fail_msg("no disk result %s", name ? name : "");
	test_check_result(log, record_get(r, "name"), ops);
	assert_int_equal(test_u64_of(r, "bytes"), ops * test_u64_of(r, "bs"));
	assert_true(test_u64_of(r, "elapsed") >= test_u64_of(r, "total") / test_u64_of(r, "qd"));
	return r;
}

void test_check_disk_models(const struct log *log, const char *models)
{
	char buf[512], index[16];
	int i = 0;

	snprintf(buf, sizeof(buf), "%s", models);
	for (char *save = NULL, *m = strtok_r(buf, " ", &save); m; m = strtok_r(NULL, " ", &save)) {
		snprintf(index, sizeof(index), "%d", i++);
		const struct record *d = log_find(log, "disk", "index", index);
		if (!d)
			fail_msg("no disk record index=%s (want %s)", index, m);
		test_assert_field(d, "model", m);
	}
}

const struct record *test_check_net_clean(const struct log *log, uint64_t ops, uint64_t timed)
{
	const struct record *r = log_find(log, "result", NULL, NULL);

	assert_non_null(r);
	test_check_result(log, record_get(r, "name"), timed);
	assert_int_equal(test_u64_of(r, "rx_ok"), ops);
	assert_int_equal(test_u64_of(r, "lost"), 0);
	assert_int_equal(test_u64_of(r, "corrupt"), 0);
	assert_int_equal(test_u64_of(r, "reordered"), 0);
	assert_int_equal(test_u64_of(r, "dup"), 0);
	return r;
}

/* kvmio mkdisk/verify-disk IMG [--seed SEED] [--format FORMAT] into test_out_path: its exit. */
static int disk_cmd(const char *cmd, const char *img, const char *size_or_seed, const char *format)
{
	const char *args[8];
	int n = 0;

	args[n++] = cmd;
	args[n++] = img;
	if (!strcmp(cmd, "verify-disk"))
		args[n++] = "--seed";
	args[n++] = size_or_seed;
	if (format) {
		args[n++] = "--format";
		args[n++] = format;
	}
	args[n] = NULL;
	return test_kvmio_argv(test_out_path, args);
}

void test_write_verify(struct log *log, const struct test_boot *b, const struct test_verify *v)
{
	enum { OPS = 150, SECTOR = 512, DEFAULT_BS = 4096 };
	struct test_boot vb = *b;
	char img[300], spec[600], opts[512], seed[24], want[64];
	unsigned bs = v->bs ? v->bs : DEFAULT_BS;

	snprintf(img, sizeof(img), "%s/disk.%s", test_dir, v->format ? v->format : "raw");
	snprintf(spec, sizeof(spec), "%s,backend=file=%s%s%s,cache=none", v->model, img,
		 v->format ? ",format=" : "", v->format ? v->format : "");
	unlink(img);
	if (disk_cmd("mkdisk", img, "64M", v->format) != 0)
		fail_msg("kvmio mkdisk %s: %s", img, test_output(test_out_path));
	vb.flag = "--disk";
	vb.specs = spec;
	snprintf(opts, sizeof(opts), "verify=1 ops=%d rw=randwrite seed=%u", OPS, v->seed);
	if (v->bs)
		snprintf(opts + strlen(opts), sizeof(opts) - strlen(opts), " bs=%u", v->bs);
	snprintf(opts + strlen(opts), sizeof(opts) - strlen(opts), " %s", b->opts ? b->opts : "");
	vb.opts = opts;
	test_boot_log(log, 0, &vb);
	test_assert_field(log_find(log, "disk", NULL, NULL), "label", "yes");
	const struct record *r = log_find(log, "result", "verify", "ok");
	assert_non_null(r);
	assert_int_equal(test_u64_of(r, "ops"), OPS);
	/* The stamps reached the image file: checked from the host after QEMU is gone ... */
	snprintf(seed, sizeof(seed), "%u", v->seed);
	assert_int_equal(disk_cmd("verify-disk", img, seed, v->format), 0);
	snprintf(want, sizeof(want), "stamped ok: %u\n", OPS * bs / SECTOR);
	assert_non_null(strstr(test_output(test_out_path), want));
	/* ... and a wrong seed is caught */
	snprintf(seed, sizeof(seed), "%u", v->seed + 1);
	assert_int_equal(disk_cmd("verify-disk", img, seed, v->format), 1);
	unlink(img);
}

const struct record *test_check_device_error(const struct log *log, const char *model)
{
	const struct record *e = log_find(log, "error", "code", "device");

	assert_non_null(e);
	if (model)
		test_assert_field(e, "model", model);
	test_assert_field(log_find(log, "end", NULL, NULL), "status", "fail");
	return e;
}

void test_file_hash(const char *path, char *out)
{
	char cmd[400];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "sha256sum '%s'", path);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(out, 65, p));
	assert_int_equal(pclose(p), 0);
}

/* ---- fake hosts ---- */

void fake_host_facts(enum fake_host which, struct host_facts *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->kvm_path, sizeof(f->kvm_path), "/dev/kvm");
	f->all_read = 1;
	snprintf(f->qemu, sizeof(f->qemu), "qemu-system-x86_64");
	snprintf(f->qemu_version, sizeof(f->qemu_version), "QEMU emulator version 7.2.22");
	f->qemu_kvm = f->qemu_tcg = 1;
	snprintf(f->ovmf_code, sizeof(f->ovmf_code), "/usr/share/OVMF/OVMF_CODE_4M.fd");
	f->net_tun = f->netns = f->io_uring = 1;
	f->kvm_api = -1;
	f->kvm_vm_errno = -1;
	if (which == FAKE_NO_KVM)
		return;
	f->kvm_exists = 1;
	f->kvm_api = 12;
	f->kvm_vm_errno = 0;
	f->mod_kvm = 1;
	switch (which) {
	case FAKE_KVM_UNUSABLE:
		f->kvm_vm_errno = EPERM;
		f->mod_kvm_intel = 1;
		f->flag_vmx = 1;
		break;
	case FAKE_BARE_VMX:
		f->mod_kvm_intel = 1;
		f->flag_vmx = 1;
		snprintf(f->nested, sizeof(f->nested), "Y");
		break;
	case FAKE_BARE_SVM:
		f->mod_kvm_amd = 1;
		f->flag_svm = 1;
		snprintf(f->nested, sizeof(f->nested), "1");
		break;
	case FAKE_NESTED_VMX:
		f->mod_kvm_intel = 1;
		f->flag_vmx = 1;
		f->cpuid_hypervisor = 1;
		snprintf(f->hv_vendor, sizeof(f->hv_vendor), "KVMKVMKVM");
		snprintf(f->nested, sizeof(f->nested), "N");
		break;
	case FAKE_NESTED_SVM_HYPERV:
		f->mod_kvm_amd = 1;
		f->flag_svm = 1;
		f->cpuid_hypervisor = 1;
		snprintf(f->hv_vendor, sizeof(f->hv_vendor), "Microsoft Hv");
		break;
	case FAKE_PVM:
		f->mod_kvm_pvm = 1;
		f->cpuid_hypervisor = 1;
		snprintf(f->hv_vendor, sizeof(f->hv_vendor), "KVMKVMKVM");
		break;
	case FAKE_OTHER:
	default:
		break;
	}
}

void fake_host_flavour(enum fake_host which, struct kvm_flavour *k)
{
	struct host_facts f;

	fake_host_facts(which, &f);
	host_kvm_flavour(&f, k);
}

/* KVMIO_TEST_FILTER=PATTERN runs only the tests whose names match (cmocka's filter: '*' and
 * '?' wildcards), in every test binary: `KVMIO_TEST_FILTER='*e1000e*' build/test/boot/test_boot`. */
__attribute__((constructor)) static void test_filter_from_environment(void)
{
	const char *f = getenv("KVMIO_TEST_FILTER");

	if (f && *f)
		cmocka_set_test_filter(f);
}

char *test_log_shape(const struct log *log, const char *const *keys, size_t nkeys)
{
	size_t cap = 65536, len = 0;
	char *s = calloc(1, cap);

	assert_non_null(s);
	for (size_t i = 0; i < log->nrecs; i++) {
		const struct record *r = &log->recs[i];

		len += (size_t)snprintf(s + len, cap - len, "%s", r->type);
		for (size_t k = 0; k < nkeys; k++) {
			const char *v = record_get(r, keys[k]);

			if (v && strcmp(r->type, "option") != 0)
				len += (size_t)snprintf(s + len, cap - len, " %s=%s", keys[k], v);
		}
		len += (size_t)snprintf(s + len, cap - len, "\n");
		assert_true(len < cap);
	}
	return s;
}
