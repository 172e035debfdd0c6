/*
 * virtio_mmio.device=SIZE@BASE:IRQ[:ID] (common/virtio_mmio_arg.c) and the option parser that
 * takes it (common/options.c): the words QEMU's microvm appends, repeated, and what is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "options.h"
#include "virtio_mmio_arg.h"

static int parse(const char *s, struct virtio_mmio_arg *a, const char **why)
{
	*why = NULL;
	return virtio_mmio_arg_parse(s, strlen(s), a, why);
}

static void test_parse_good(void **state)
{
	struct virtio_mmio_arg a;
	const char *why;

	(void)state;
	/* what QEMU 7.2's microvm appends with acpi=off */
	assert_int_equal(parse("512@0xfeb00e00:12", &a, &why), 0);
	assert_int_equal(a.size, 512);
	assert_int_equal(a.base, 0xfeb00e00);
	assert_int_equal(a.gsi, 12);
	/* Firecracker's form: a K suffix, and the optional platform-device ID */
	assert_int_equal(parse("4K@0xd0000000:5:3", &a, &why), 0);
	assert_int_equal(a.size, 4096);
	assert_int_equal(a.base, 0xd0000000);
	assert_int_equal(a.gsi, 5);
	assert_int_equal(parse("1M@4096:255", &a, &why), 0);
	assert_int_equal(a.size, 1 << 20);
	assert_int_equal(a.base, 4096);
	assert_int_equal(a.gsi, 255);
}

static void test_parse_bad(void **state)
{
	static const char *const bad[] = {
		"512", "512@0xfeb00000", "@0xfeb00000:5", "512@:5", "512@0xfeb00000:",
		"abc@0xfeb00000:5", "512@0xzz:5", "512@0xfeb00000:x", "512@0xfeb00000:256",
		"255@0xfeb00000:5", "512@0:5", "512@0xfeb00000:5:", "512@0xfeb00000:5:x", "K@0x1000:5",
		"99999999999999999999G@0x1000:5", "512@0xffffffffffffffff:5",
	};
	struct virtio_mmio_arg a = { 1, 2, 3 };
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], &a, &why), -1);
		assert_non_null(why);
		/* nothing written on failure */
		assert_int_equal(a.base, 1);
	}
}

static void test_options_repeat(void **state)
{
	struct options o;
	struct option_error e;

	(void)state;
	assert_int_equal(options_parse("bench=disk irq=intx virtio_mmio.device=512@0xfeb00e00:12 "
				       "virtio_mmio.device=512@0xfeb00c00:11", &o, &e), 0);
	assert_int_equal(o.nmmio, 2);
	assert_int_equal(o.mmio[0].base, 0xfeb00e00);
	assert_int_equal(o.mmio[1].gsi, 11);
	assert_int_equal(options_parse("", &o, &e), 0);
	assert_int_equal(o.nmmio, 0);
	/* other options still may not repeat */
	assert_int_equal(options_parse("virtio_mmio.device=512@0xfeb00000:5 qd=1 qd=2", &o, &e), -1);
	assert_string_equal(e.why, "option given twice");
}

static void test_options_refused(void **state)
{
	struct options o;
	struct option_error e;
	char line[1024];
	int n = 0;

	(void)state;
	assert_int_equal(options_parse("virtio_mmio.device=512@0xfeb00000", &o, &e), -1);
	assert_string_equal(e.key, "virtio_mmio.device");
	assert_non_null(strstr(e.why, "SIZE@BASE:IRQ"));
	assert_int_equal(options_parse("virtio_mmio.device=512@0xfeb00000:5 "
				       "virtio_mmio.device=512@0xfeb00000:6", &o, &e), -1);
	assert_non_null(strstr(e.why, "BASE twice"));
	for (int i = 0; i <= VIRTIO_MMIO_ARG_MAX; i++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, "virtio_mmio.device=512@0x%x:%d ",
			      0xfeb00000 + i * 512, 5 + i);
	assert_int_equal(options_parse(line, &o, &e), -1);
	assert_non_null(strstr(e.why, "more than 8"));
	/* the host's one-option check reads the same table */
	assert_int_equal(options_check_one("virtio_mmio.device", "512@0xfeb00000:5", &e), 0);
	assert_int_equal(options_check_one("virtio_mmio.device", "512@0xfeb00000", &e), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_options_repeat),
		cmocka_unit_test(test_options_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
