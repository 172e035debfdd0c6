/*
 * make install DESTDIR=TMP PREFIX=/usr: the tree a distribution package would hold, and an
 * installed kvmio that finds its guest images (PREFIX/lib/kvmio) and runs the installed job
 * files (PREFIX/share/kvmio/jobs) with no KVMIO_IMAGE_DIR. No QEMU: dry runs only.
 */
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "lib/file.h"
#include "helpers.h"

static char dir[256], root[300], out_path[300];

static int setup(void **state)
{
	char cmd[1024];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/kvmio-test-install-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(root, sizeof(root), "%s/root", dir);
	snprintf(out_path, sizeof(out_path), "%s/out", dir);
	snprintf(cmd, sizeof(cmd), "make --no-print-directory install DESTDIR=%s PREFIX=/usr "
		 ">%s 2>&1", root, out_path);
	if (system(cmd) != 0)
		fail_msg("make install failed:\n%s", test_output(out_path));
	unsetenv("KVMIO_IMAGE_DIR");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	dir_remove_tree(dir);
	return 0;
}

static void assert_installed(const char *rel, mode_t mode)
{
	char path[600];
	struct stat st;

	snprintf(path, sizeof(path), "%s/usr/%s", root, rel);
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		fail_msg("not installed: /usr/%s", rel);
	if ((st.st_mode & 07777) != mode)
		fail_msg("/usr/%s: mode %o, want %o", rel, st.st_mode & 07777, mode);
}

/* The same bytes as the build tree's file. */
static void assert_same(const char *built, const char *rel)
{
	char path[600], *a, *b;
	size_t na, nb;

	snprintf(path, sizeof(path), "%s/usr/%s", root, rel);
	a = file_read(built, &na);
	b = file_read(path, &nb);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
	free(a);
	free(b);
}

static void test_tree(void **state)
{
	static const char *const images[] = { "kvmio.elf", "kvmio-pvh.elf", "kvmio.efi", "kvmio.img" };
	char built[300], rel[300];
	glob_t g;

	(void)state;
	assert_installed("bin/kvmio", 0755);
	assert_installed("share/man/man1/kvmio.1", 0644);
	for (size_t i = 0; i < sizeof(images) / sizeof(images[0]); i++) {
		snprintf(rel, sizeof(rel), "lib/kvmio/%s", images[i]);
		assert_installed(rel, 0644);
		snprintf(built, sizeof(built), "build/%s", images[i]);
		assert_same(built, rel);
	}
	/* every job file of the tree */
	assert_int_equal(glob("jobs/*.ini", 0, NULL, &g), 0);
	assert_true(g.gl_pathc >= 3);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		snprintf(rel, sizeof(rel), "share/kvmio/%s", g.gl_pathv[i]);
		assert_installed(rel, 0644);
		assert_same(g.gl_pathv[i], rel);
	}
	globfree(&g);
}

/* PREFIX/bin/kvmio ARGS... (NULL-terminated), stdout and stderr into out_path. */
static int installed_kvmio(const char *arg, ...)
{
	char bin[400];
	const char *argv[16] = { bin };
	int n = 1;
	va_list ap;

	snprintf(bin, sizeof(bin), "%s/usr/bin/kvmio", root);
	va_start(ap, arg);
	for (const char *a = arg; a && n < 15; a = va_arg(ap, const char *))
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return test_wait(test_spawn((char *const *)argv, out_path, NULL));
}

static void test_installed_kvmio_finds_images(void **state)
{
	char want[1200], made[400], job[400], res[400];
	struct stat a, b;

	(void)state;
	/* boot: the multiboot image and the disk image from PREFIX/lib/kvmio */
	assert_int_equal(installed_kvmio("boot", "--dry-run", "--accel", "tcg", NULL), 0);
	snprintf(want, sizeof(want), "-kernel %s/usr/bin/../lib/kvmio/kvmio.elf", root);
	if (!strstr(test_output(out_path), want))
		fail_msg("installed kvmio does not use PREFIX/lib/kvmio:\n%s", test_output(out_path));
	snprintf(made, sizeof(made), "%s/mine.img", dir);
	assert_int_equal(installed_kvmio("image", made, "--cmdline", "ops=5", NULL), 0);
	snprintf(want, sizeof(want), "%s: %s/usr/bin/../lib/kvmio/kvmio.img with guest options "
		 "'ops=5'", made, root);
	if (!strstr(test_output(out_path), want))
		fail_msg("installed kvmio image did not copy PREFIX/lib/kvmio/kvmio.img:\n%s",
			 test_output(out_path));
	snprintf(want, sizeof(want), "%s/usr/lib/kvmio/kvmio.img", root);
	assert_int_equal(stat(made, &a), 0);
	assert_int_equal(stat(want, &b), 0);
	assert_int_equal(a.st_size, b.st_size);
	/* run: an installed job file, as the fleet controller would use it */
	snprintf(job, sizeof(job), "%s/usr/share/kvmio/jobs/smoke.ini", root);
	snprintf(res, sizeof(res), "%s/results", dir);
	assert_int_equal(installed_kvmio("run", job, "--dry-run", "-o", res, NULL), 0);
	assert_non_null(strstr(test_output(out_path), "configurations"));
	/* ... or by its name alone, with or without .ini: found in PREFIX/share/kvmio/jobs */
	assert_int_equal(installed_kvmio("run", "smoke", "--dry-run", "-o", res, NULL), 0);
	snprintf(want, sizeof(want), "# %s/usr/bin/../share/kvmio/jobs/smoke.ini: ", root);
	if (!strstr(test_output(out_path), want))
		fail_msg("kvmio run smoke did not find the installed job:\n%s", test_output(out_path));
	assert_int_equal(installed_kvmio("run", "smoke.ini", "--dry-run", "-o", res, NULL), 0);
	assert_non_null(strstr(test_output(out_path), want));
	/* a name found nowhere: one line naming where it looked, exit 2 */
	assert_int_equal(installed_kvmio("run", "no-such-job", "--dry-run", NULL), 2);
	snprintf(want, sizeof(want), "kvmio: run: no job file 'no-such-job' (looked in ., "
		 "%s/usr/bin/../share/kvmio/jobs, %s/usr/bin/../jobs)", root, root);
	if (!strstr(test_output(out_path), want))
		fail_msg("no such job: want '%s' in:\n%s", want, test_output(out_path));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_installed_kvmio_finds_images),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
