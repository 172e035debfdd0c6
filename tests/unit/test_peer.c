/*
 * Unit tests of `kvmio peer` (host/peer.c) without QEMU: frame building and checking against
 * kernel/netframe.h, reflection with drop/corrupt on purpose, the summary line, and the socket
 * loop over unix datagram sockets (the test plays the guest).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "boot/launch.h"
#include "lib/file.h"
#include "boot/peer.h"

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static void test_build_and_check(void **state)
{
	uint8_t f[ETH_MAX_FRAME];
	struct kvmio_frame h;

	(void)state;
	for (uint32_t len = ETH_MIN_FRAME; len <= ETH_MAX_FRAME; len += 97) {
		peer_build_frame(f, len, bcast, guest_mac, 1234 + len, FRAME_DATA, 0xabcdef);
		assert_int_equal(peer_check_frame(f, len, &h), PEER_OK);
		assert_int_equal(h.seq, 1234 + len);
		assert_int_equal(h.len, len);
		assert_int_equal(h.kind, FRAME_DATA);
		assert_int_equal(h.stream, 0xabcdef);
		assert_int_equal(f[12], 0x88);
		assert_int_equal(f[13], 0xb5);
		assert_int_equal(f[len - 1], frame_fill(1234 + len, len - 1));
		/* Every byte after the Ethernet header is covered. */
		for (uint32_t i = ETH_HDR_LEN; i < len; i += 13) {
			f[i] ^= 0x01;
			assert_int_not_equal(peer_check_frame(f, len, &h), PEER_OK);
			f[i] ^= 0x01;
		}
		/* The MAC addresses are not: a reflector may swap them. */
		f[0] ^= 0xff;
		assert_int_equal(peer_check_frame(f, len, &h), PEER_OK);
		/* Truncated or padded: corrupt (length mismatch). */
		assert_int_equal(peer_check_frame(f, len - 1, &h), PEER_CORRUPT);
	}
	/* Not ours: too short, another ethertype, another magic. */
	peer_build_frame(f, 60, bcast, guest_mac, 1, FRAME_DATA, 1);
	assert_int_equal(peer_check_frame(f, 20, &h), PEER_FOREIGN);
	f[12] = 0x08;
	f[13] = 0x00;
	assert_int_equal(peer_check_frame(f, 60, &h), PEER_FOREIGN);
	peer_build_frame(f, 60, bcast, guest_mac, 1, FRAME_DATA, 1);
	f[ETH_HDR_LEN] ^= 0xff;
	assert_int_equal(peer_check_frame(f, 60, &h), PEER_FOREIGN);
	/* Garbage of every length never crashes. */
	srand(7);
	for (int n = 0; n < 2000; n++) {
		size_t len = (size_t)(rand() % (ETH_MAX_FRAME + 1));

		for (size_t i = 0; i < len; i++)
			f[i] = (uint8_t)rand();
		if (n & 1 && len > 40) {
			f[12] = 0x88;
			f[13] = 0xb5;
			memcpy(f + ETH_HDR_LEN, &(uint32_t){ KVMIO_FRAME_MAGIC }, 4);
		}
		assert_int_not_equal(peer_check_frame(f, len, &h), PEER_OK);
	}
}

static void test_reflect_logic(void **state)
{
	struct peer_config c = { .mode = PEER_REFLECT, .drop_every = 5, .corrupt_every = 3 };
	struct peer_stats s = { 0 };
	uint8_t f[256];
	struct kvmio_frame h;
	int sent = 0, bad = 0;

	(void)state;
	for (uint64_t seq = 1; seq <= 30; seq++) {
		peer_build_frame(f, 100, bcast, guest_mac, seq, FRAME_REQUEST, 9);
		if (!peer_reflect(&c, &s, f, 100))
			continue;
		sent++;
		assert_memory_equal(f, guest_mac, 6); /* back to the sender */
		assert_memory_equal(f + 6, bcast, 6);
		if (peer_check_frame(f, 100, &h) != PEER_OK)
			bad++;
		else
			assert_int_equal(h.seq, seq);
	}
	assert_int_equal(s.rx, 30);
	assert_int_equal(s.rx_ok, 30);
	assert_int_equal(s.dropped, 6);          /* 5, 10, ..., 30 */
	assert_int_equal(sent, 24);
	assert_int_equal(s.corrupted, 8);        /* multiples of 3 not of 5: 3 6 9 12 18 21 24 27 */
	assert_int_equal(bad, 8);
	/* Foreign and corrupt frames are counted and not reflected. */
	memset(f, 0x11, sizeof(f));
	assert_int_equal(peer_reflect(&c, &s, f, 64), 0);
	peer_build_frame(f, 64, bcast, guest_mac, 1, FRAME_REQUEST, 9);
	f[63] ^= 1;
	assert_int_equal(peer_reflect(&c, &s, f, 64), 0);
	assert_int_equal(s.rx_foreign, 1);
	assert_int_equal(s.rx_corrupt, 1);
	assert_int_equal(s.rx, 32);
}

static void test_line(void **state)
{
	struct peer_stats s = { 1, 2, 3, 4, 5, 6, 7, 8, 3, PEER_FLOOD, 0 }, t;
	char line[512], text[700];

	(void)state;
	peer_format_line(&s, line, sizeof(line));
	assert_string_equal(line, "peer: mode=flood rx=1 rx_ok=2 rx_corrupt=3 rx_foreign=4 tx=5 "
			    "dropped_on_purpose=6 corrupted_on_purpose=7 tx_failed=8 dev=3");
	snprintf(text, sizeof(text), "noise\n%s\n", line);
	assert_int_equal(peer_parse_line(text, &t), 0);
	assert_true(t.valid);
	assert_int_equal(t.tx, 5);
	assert_int_equal(t.dev, 3);
	assert_int_equal(t.mode, PEER_FLOOD);
	assert_int_equal(peer_parse_line("peer: mode=bogus rx=1", &t), -1);
	assert_int_equal(peer_parse_line("", &t), -1);
}

/* ---- the socket loop: a forked peer, the test as the guest ---------------------------------- */

static char dir[256], peer_path[300], guest_path[300];
static int guest_fd;
static pid_t peer_pid;
static int peer_out;

static void start_peer(const struct peer_config *c)
{
	int p[2];
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char *tmp = dir_make_temp();

	assert_non_null(tmp);
	snprintf(dir, sizeof(dir), "%s", tmp);
	free(tmp);
	snprintf(peer_path, sizeof(peer_path), "%s/peer0.sock", dir);
	snprintf(guest_path, sizeof(guest_path), "%s/guest0.sock", dir);
	guest_fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	assert_true(guest_fd >= 0);
	strcpy(a.sun_path, guest_path);
	assert_int_equal(bind(guest_fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	peer_pid = fork();
	assert_true(peer_pid >= 0);
	if (peer_pid == 0) {
		struct peer_config cc = *c;
		struct peer_stats s;
		char err[256], line[512];

		close(p[0]);
		cc.socket = peer_path;
		cc.guest_socket = guest_path;
		if (peer_run(&cc, &s, err, sizeof(err)) != 0)
			_exit(3);
		peer_format_line(&s, line, sizeof(line));
		dprintf(p[1], "%s\n", line);
		_exit(0);
	}
	close(p[1]);
	peer_out = p[0];
	for (int k = 0; k < 400 && access(peer_path, F_OK) != 0; k++)
		usleep(5000);
	assert_int_equal(access(peer_path, F_OK), 0);
}

static void stop_peer(struct peer_stats *s)
{
	char buf[1024] = "";
	ssize_t n;
	int status;

	kill(peer_pid, SIGTERM);
	assert_int_equal(waitpid(peer_pid, &status, 0), peer_pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	n = read(peer_out, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(peer_out);
	close(guest_fd);
	assert_int_equal(peer_parse_line(buf, s), 0);
	dir_remove_tree(dir);
}

static void to_peer(const void *f, size_t len)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };

	strcpy(a.sun_path, peer_path);
	assert_int_equal(sendto(guest_fd, f, len, 0, (struct sockaddr *)&a, sizeof(a)),
			 (ssize_t)len);
}

/* One frame from the peer within ms, or -1. */
static ssize_t from_peer(uint8_t *buf, size_t len, int ms)
{
	struct pollfd p = { guest_fd, POLLIN, 0 };

	if (poll(&p, 1, ms) <= 0)
		return -1;
	return recv(guest_fd, buf, len, 0);
}

/* The peer on UDP ports of 127.0.0.1 (libvirt's <interface type='udp'>): the test plays
 * QEMU's socket on the guest port; reflect sends every frame back there. */
static void test_udp_reflect(void **state)
{
	struct peer_config c = { .mode = PEER_REFLECT, .dev = 0 };
	struct sockaddr_in g = { .sin_family = AF_INET }, pa = { .sin_family = AF_INET };
	struct peer_stats s;
	uint8_t f[ETH_MAX_FRAME], r[ETH_MAX_FRAME + 16];
	struct kvmio_frame h;
	unsigned pport, gport;
	int p[2], fd;
	pid_t pid;
	char buf[1024] = "";
	ssize_t n;

	(void)state;
	assert_int_equal(peer_udp_ports(&pport, &gport), 0);
	assert_true(pport != gport && pport > 0 && gport > 0);
	c.udp_port = pport;
	c.guest_udp_port = gport;
	g.sin_port = htons((uint16_t)gport);
	g.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	pa.sin_port = htons((uint16_t)pport);
	pa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&g, sizeof(g)), 0);
	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct peer_stats cs;
		char err[256], line[512];

		close(p[0]);
		if (peer_run(&c, &cs, err, sizeof(err)) != 0)
			_exit(3);
		peer_format_line(&cs, line, sizeof(line));
		dprintf(p[1], "%s\n", line);
		_exit(0);
	}
	close(p[1]);
	for (int seq = 1; seq <= 5; seq++) {
		struct pollfd pf = { fd, POLLIN, 0 };

		peer_build_frame(f, 100, bcast, guest_mac, (uint64_t)seq, FRAME_REQUEST, 9);
		/* until the peer has bound its port, the frame is lost: send again */
		for (int k = 0; k < 200; k++) {
			assert_int_equal(sendto(fd, f, 100, 0, (struct sockaddr *)&pa, sizeof(pa)), 100);
			if (poll(&pf, 1, 10) > 0)
				break;
		}
		n = recv(fd, r, sizeof(r), 0);
		assert_int_equal(n, 100);
		assert_int_equal(peer_check_frame(r, (size_t)n, &h), PEER_OK);
		assert_int_equal(h.seq, (uint64_t)seq);
		assert_memory_equal(r, guest_mac, 6);
		while (recv(fd, r, sizeof(r), MSG_DONTWAIT) > 0)
			;
	}
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	n = read(p[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(p[0]);
	close(fd);
	assert_int_equal(peer_parse_line(buf, &s), 0);
	assert_true(s.rx_ok >= 5);
	assert_int_equal(s.tx, s.rx_ok);
}

static void test_socket_reflect(void **state)
{
	struct peer_config c = { .mode = PEER_REFLECT, .drop_every = 4, .corrupt_every = 5,
				 .dev = 0 };
	struct peer_stats s;
	uint8_t f[ETH_MAX_FRAME], r[ETH_MAX_FRAME + 16];
	struct kvmio_frame h;
	int got = 0, ok = 0, corrupt = 0;

	(void)state;
	start_peer(&c);
	for (uint64_t seq = 1; seq <= 20; seq++) {
		ssize_t n;

		peer_build_frame(f, 60 + (uint32_t)seq * 50, bcast, guest_mac, seq, FRAME_REQUEST, 5);
		to_peer(f, 60 + seq * 50);
		n = from_peer(r, sizeof(r), seq % 4 == 0 ? 100 : 2000);
		if (seq % 4 == 0) {
			assert_int_equal(n, -1); /* dropped on purpose */
			continue;
		}
		assert_int_equal(n, (ssize_t)(60 + seq * 50));
		got++;
		if (peer_check_frame(r, (size_t)n, &h) == PEER_OK) {
			ok++;
			assert_int_equal(h.seq, seq);
			assert_memory_equal(r, guest_mac, 6);
		} else {
			corrupt++;
			assert_int_equal(seq % 5, 0);
		}
	}
	memset(f, 0xee, 100); /* garbage: counted, not reflected */
	to_peer(f, 100);
	to_peer(f, 1);
	assert_int_equal(from_peer(r, sizeof(r), 200), -1);
	stop_peer(&s);
	assert_int_equal(got, 15);
	assert_int_equal(corrupt, 3); /* 5, 10, 15 (20 was dropped) */
	assert_int_equal(ok, 12);
	assert_int_equal(s.rx, 22);
	assert_int_equal(s.rx_ok, 20);
	assert_int_equal(s.rx_foreign, 2);
	assert_int_equal(s.tx, 15);
	assert_int_equal(s.dropped, 5);
	assert_int_equal(s.corrupted, 3);
	assert_int_equal(s.dev, 0);
}

static void test_socket_sink(void **state)
{
	struct peer_config c = { .mode = PEER_SINK, .dev = -1 };
	struct peer_stats s;
	uint8_t f[ETH_MAX_FRAME], r[64];

	(void)state;
	start_peer(&c);
	for (uint64_t seq = 0; seq < 50; seq++) {
		peer_build_frame(f, 1514, bcast, guest_mac, seq, FRAME_DATA, 5);
		if (seq % 10 == 3)
			f[700] ^= 0x40; /* damaged in flight */
		to_peer(f, 1514);
	}
	to_peer("garbage", 7);
	assert_int_equal(from_peer(r, sizeof(r), 200), -1); /* a sink says nothing */
	stop_peer(&s);
	assert_int_equal(s.rx, 51);
	assert_int_equal(s.rx_ok, 45);
	assert_int_equal(s.rx_corrupt, 5);
	assert_int_equal(s.rx_foreign, 1);
	assert_int_equal(s.tx, 0);
	assert_int_equal(s.mode, PEER_SINK);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_socket_flood(void **state)
{
	struct peer_config c = { .mode = PEER_FLOOD, .size = 200, .count = 0, .rate = 0,
				 .dev = 1 };
	struct peer_stats s;
	uint8_t go[ETH_MIN_FRAME], r[ETH_MAX_FRAME + 16];
	struct kvmio_frame h;
	uint64_t n = 0, next = 0;
	double t0;

	(void)state;
	/* As fast as possible; the count comes from the guest's go frame (seq = count). */
	start_peer(&c);
	assert_int_equal(from_peer(r, sizeof(r), 200), -1); /* nothing before the go frame */
	peer_build_frame(go, ETH_MIN_FRAME, bcast, guest_mac, 300, FRAME_REQUEST, 77);
	to_peer(go, sizeof(go));
	for (ssize_t len; (len = from_peer(r, sizeof(r), 1000)) > 0; n++) {
		assert_int_equal(len, 200);
		assert_int_equal(peer_check_frame(r, (size_t)len, &h), PEER_OK);
		assert_int_equal(h.kind, FRAME_FLOOD);
		assert_int_equal(h.seq, next++);
		assert_memory_equal(r, guest_mac, 6); /* learnt from the go frame */
	}
	stop_peer(&s);
	assert_int_equal(n, 300);
	assert_int_equal(s.tx, 300);
	assert_int_equal(s.rx_ok, 1);

	/* --count and --rate: 40 frames at 200/s take about 0.2 s, not less. */
	c.count = 40;
	c.rate = 200;
	c.size = 60;
	start_peer(&c);
	to_peer(go, sizeof(go));
	t0 = now_s();
	n = 0;
	while (n < 40 && from_peer(r, sizeof(r), 2000) > 0)
		n++;
	assert_int_equal(n, 40);
	assert_true(now_s() - t0 >= 0.18);
	assert_int_equal(from_peer(r, sizeof(r), 300), -1); /* and no more */
	stop_peer(&s);
	assert_int_equal(s.tx, 40);
}

static void test_socket_timeout(void **state)
{
	struct peer_config c = { .mode = PEER_SINK, .timeout_s = 0.3, .dev = -1 };
	struct peer_stats s;
	double t0 = now_s();
	int status;
	char buf[512] = "";
	ssize_t n;

	(void)state;
	start_peer(&c);
	assert_int_equal(waitpid(peer_pid, &status, 0), peer_pid); /* ends on its own */
	assert_true(now_s() - t0 < 5);
	n = read(peer_out, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(peer_out);
	close(guest_fd);
	assert_int_equal(peer_parse_line(buf, &s), 0);
	dir_remove_tree(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_and_check),
		cmocka_unit_test(test_reflect_logic),
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_socket_reflect),
		cmocka_unit_test(test_udp_reflect),
		cmocka_unit_test(test_socket_sink),
		cmocka_unit_test(test_socket_flood),
		cmocka_unit_test(test_socket_timeout),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
