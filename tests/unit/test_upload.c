/*
 * Unit tests of which libvirt URIs name another host (host/boot/upload.c): there kvmio uploads
 * the guest's kernel or image; on this machine it does not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "boot/upload.h"

static void test_remote_uris(void **state)
{
	(void)state;
	assert_true(upload_uri_remote("qemu+ssh://root@10.0.0.2/system"));
	assert_true(upload_uri_remote("qemu+ssh://root@10.0.0.2:2022/system?socket=/x&keyfile=/k"));
	assert_true(upload_uri_remote("qemu+tcp://host/system"));
	assert_true(upload_uri_remote("qemu+tls://host.example/system"));
	assert_true(upload_uri_remote("qemu+libssh2://u@h/system?known_hosts=/kh"));
	assert_true(upload_uri_remote("qemu://host/system")); /* TLS */
	assert_true(upload_uri_remote("qemu+ssh:///system")); /* ssh to localhost: still ssh */
}

static void test_local_uris(void **state)
{
	(void)state;
	assert_false(upload_uri_remote(NULL));
	assert_false(upload_uri_remote(""));
	assert_false(upload_uri_remote("qemu:///system"));
	assert_false(upload_uri_remote("qemu:///session"));
	assert_false(upload_uri_remote("qemu:///embed?root=/tmp/r"));
	assert_false(upload_uri_remote("qemu+unix:///system?socket=/tmp/a/libvirt-sock"));
	assert_false(upload_uri_remote("test:///default"));
	assert_false(upload_uri_remote("not a uri"));
}

static void test_uri_host(void **state)
{
	char h[64];

	(void)state;
	upload_uri_host("qemu+ssh://root@10.0.0.2:2022/system?socket=/x", h, sizeof(h));
	assert_string_equal(h, "root@10.0.0.2:2022");
	upload_uri_host("qemu+tcp://host?x=1", h, sizeof(h));
	assert_string_equal(h, "host");
	upload_uri_host("qemu:///system", h, sizeof(h));
	assert_string_equal(h, "");
	upload_uri_host("nonsense", h, sizeof(h));
	assert_string_equal(h, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_remote_uris),
		cmocka_unit_test(test_local_uris),
		cmocka_unit_test(test_uri_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
