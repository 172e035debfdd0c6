/* `kvmio peer`: reflect, sink or flood kvmio test frames on a unix datagram socket or a UDP
 * port of 127.0.0.1. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>
#include "lib/args.h"
#include "boot/peer.h"
#include "lib/proc.h"
#include "proto/proto.h"

void peer_build_frame(uint8_t *f, uint32_t len, const uint8_t dst[6], const uint8_t src[6],
		      uint64_t seq, uint8_t kind, uint32_t stream)
{
	struct kvmio_frame h = { KVMIO_FRAME_MAGIC, 0, seq, (uint16_t)len, kind, 0, stream };

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = ETHERTYPE_KVMIO >> 8;
	f[13] = ETHERTYPE_KVMIO & 0xff;
	memcpy(f + ETH_HDR_LEN, &h, sizeof(h));
	for (uint32_t i = KVMIO_FRAME_MIN; i < len; i++)
		f[i] = frame_fill(seq, i);
	h.crc = crc32_update(0, f + ETH_HDR_LEN, len - ETH_HDR_LEN);
	memcpy(f + ETH_HDR_LEN, &h, sizeof(h));
}

enum peer_verdict peer_check_frame(const uint8_t *f, size_t len, struct kvmio_frame *h)
{
	uint32_t zero = 0, crc;

	if (len < (size_t)KVMIO_FRAME_MIN || f[12] != (ETHERTYPE_KVMIO >> 8) ||
	    f[13] != (ETHERTYPE_KVMIO & 0xff))
		return PEER_FOREIGN;
	memcpy(h, f + ETH_HDR_LEN, sizeof(*h));
	if (h->magic != KVMIO_FRAME_MAGIC)
		return PEER_FOREIGN;
	if (h->len != len)
		return PEER_CORRUPT;
	crc = crc32_update(0, f + ETH_HDR_LEN, 4);
	crc = crc32_update(crc, &zero, 4);
	crc = crc32_update(crc, f + ETH_HDR_LEN + 8, len - ETH_HDR_LEN - 8);
	return crc == h->crc ? PEER_OK : PEER_CORRUPT;
}

enum peer_verdict peer_account(struct peer_stats *s, const uint8_t *f, size_t len,
			       struct kvmio_frame *h)
{
	enum peer_verdict v = peer_check_frame(f, len, h);

	s->rx++;
	if (v == PEER_OK)
		s->rx_ok++;
	else if (v == PEER_CORRUPT)
		s->rx_corrupt++;
	else
		s->rx_foreign++;
	return v;
}

int peer_reflect(const struct peer_config *c, struct peer_stats *s, uint8_t *f, size_t len)
{
	struct kvmio_frame h;
	uint8_t mac[6];

	if (peer_account(s, f, len, &h) != PEER_OK)
		return 0;
	if (c->drop_every && s->rx_ok % c->drop_every == 0) {
		s->dropped++;
		return 0;
	}
	memcpy(mac, f, 6);
	memcpy(f, f + 6, 6);
	memcpy(f + 6, mac, 6);
	if (c->corrupt_every && s->rx_ok % c->corrupt_every == 0) {
		f[len - 1] ^= 0x5a; /* a filler byte (or the kvmio header's last): the CRC fails */
		s->corrupted++;
	}
	return 1;
}

void peer_format_line(const struct peer_stats *s, char *buf, size_t len)
{
	int n = snprintf(buf, len, "peer: mode=%s rx=%" PRIu64 " rx_ok=%" PRIu64 " rx_corrupt=%"
			 PRIu64 " rx_foreign=%" PRIu64 " tx=%" PRIu64 " dropped_on_purpose=%" PRIu64
			 " corrupted_on_purpose=%" PRIu64 " tx_failed=%" PRIu64,
			 peer_mode_name(s->mode), s->rx, s->rx_ok, s->rx_corrupt, s->rx_foreign,
			 s->tx, s->dropped, s->corrupted, s->tx_failed);

	if (s->dev >= 0 && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, " dev=%d", s->dev);
}

int peer_parse_line(const char *text, struct peer_stats *s)
{
	const char *line = NULL, *p = text;
	char mode[16];

	while ((p = strstr(p, "peer: mode=")) != NULL) {
		if (p == text || p[-1] == '\n')
			line = p;
		p++;
	}
	memset(s, 0, sizeof(*s));
	s->dev = -1;
	if (!line)
		return -1;
	if (sscanf(line, "peer: mode=%15s rx=%" SCNu64 " rx_ok=%" SCNu64 " rx_corrupt=%" SCNu64
		   " rx_foreign=%" SCNu64 " tx=%" SCNu64 " dropped_on_purpose=%" SCNu64
		   " corrupted_on_purpose=%" SCNu64 " tx_failed=%" SCNu64, mode, &s->rx, &s->rx_ok,
		   &s->rx_corrupt, &s->rx_foreign, &s->tx, &s->dropped, &s->corrupted,
		   &s->tx_failed) != 9 || peer_mode_parse(mode, &s->mode) != 0)
		return -1;
	{
		const char *nl = strchr(line, '\n'), *d = strstr(line, " dev=");

		if (d && (!nl || d < nl))
			s->dev = atoi(d + 5);
	}
	s->valid = 1;
	return 0;
}

/* ---- the socket loop ---------------------------------------------------------------------- */

static volatile sig_atomic_t peer_stop;

static void on_stop(int sig)
{
	(void)sig;
	peer_stop = 1;
}

static int fill_addr(struct sockaddr_un *a, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(a->sun_path))
		return -1;
	strcpy(a->sun_path, path);
	return 0;
}

static void fill_udp(struct sockaddr_in *a, unsigned port)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

struct peer_sock {
	int fd;
	int connected;
	struct sockaddr_storage guest;
	socklen_t guest_len;
};

/*
 * Send one frame to the guest's socket without blocking for long: connected to it (once it
 * exists), so that POLLOUT says whether QEMU has room. 1 sent, 0 not now (full or no guest
 * socket yet), -1 failed for good.
 */
static int send_frame(struct peer_sock *ps, const uint8_t *f, size_t len)
{
	ssize_t n;

	if (!ps->connected) {
		if (connect(ps->fd, (struct sockaddr *)&ps->guest, ps->guest_len) != 0)
			return errno == ENOENT || errno == ECONNREFUSED || errno == EAGAIN ? 0 : -1;
		ps->connected = 1;
	}
	n = send(ps->fd, f, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n == (ssize_t)len)
		return 1;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ENOBUFS))
		return 0;
	if (n < 0 && (errno == ECONNREFUSED || errno == ENOTCONN)) {
		/* QEMU went away (or came back with a new socket): connect again next time. */
		struct sockaddr_un none = { .sun_family = AF_UNSPEC };

		connect(ps->fd, (struct sockaddr *)&none, sizeof(sa_family_t));
		ps->connected = 0;
		return 0;
	}
	return -1;
}

/* Reflected frames waiting for room at the guest: a small ring, dropped when full. */
#define PENDING 64

int peer_run(const struct peer_config *c, struct peer_stats *s, char *err, size_t errlen)
{
	static uint8_t pending[PENDING][ETH_MAX_FRAME + 64];
	static size_t pending_len[PENDING];
	unsigned phead = 0, ptail = 0;
	struct peer_sock ps = { -1, 0, { 0 }, 0 };
	struct sockaddr_storage self;
	socklen_t self_len;
	uint8_t buf[65536], flood_frame[ETH_MAX_FRAME], guest_mac[6];
	static const uint8_t peer_mac[6] = { 0x02, 0x6b, 0x76, 0x6d, 0x69, 0x6f }; /* local "kvmio" */
	uint64_t flood_count = 0, flood_next = 0;
	uint32_t stream = (uint32_t)(getpid() * 2654435761u ^ (uint32_t)time(NULL));
	int flooding = 0;
	double start = clock_now_s(), flood_t0 = 0;

	memset(s, 0, sizeof(*s));
	s->mode = c->mode;
	s->dev = c->dev;
	if (c->udp_port) {
		fill_udp((struct sockaddr_in *)&self, c->udp_port);
		fill_udp((struct sockaddr_in *)&ps.guest, c->guest_udp_port);
		self_len = ps.guest_len = sizeof(struct sockaddr_in);
	} else if (fill_addr((struct sockaddr_un *)&self, c->socket) ||
		   fill_addr((struct sockaddr_un *)&ps.guest, c->guest_socket)) {
		snprintf(err, errlen, "socket path too long (at most %zu bytes)",
			 sizeof(((struct sockaddr_un *)&self)->sun_path) - 1);
		return -1;
	} else {
		self_len = ps.guest_len = sizeof(struct sockaddr_un);
	}
	if (c->mode == PEER_FLOOD && (c->size < ETH_MIN_FRAME || c->size > ETH_MAX_FRAME)) {
		snprintf(err, errlen, "--size %u: 60..1514 bytes", c->size);
		return -1;
	}
	ps.fd = socket(c->udp_port ? AF_INET : AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ps.fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (!c->udp_port)
		unlink(c->socket);
	if (bind(ps.fd, (struct sockaddr *)&self, self_len) != 0) {
		if (c->udp_port)
			snprintf(err, errlen, "bind 127.0.0.1:%u: %s", c->udp_port, strerror(errno));
		else
			snprintf(err, errlen, "bind %s: %s", c->socket, strerror(errno));
		close(ps.fd);
		return -1;
	}
	{
		int big = 4 << 20;

		setsockopt(ps.fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
		setsockopt(ps.fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	}
	proc_on_stop_signals(on_stop);
	signal(SIGPIPE, SIG_IGN);
	memset(guest_mac, 0xff, sizeof(guest_mac));

	while (!peer_stop) {
		double t = clock_now_s(), wait_s = 0.1;
		struct pollfd pfd = { ps.fd, POLLIN, 0 };
		int want_out = phead != ptail || (flooding && flood_next < flood_count);

		if (c->timeout_s > 0 && t - start >= c->timeout_s)
			break;
		/* Flood: everything due by now, as long as QEMU takes it. */
		while (flooding && flood_next < flood_count) {
			int r;

			if (c->rate > 0) {
				double due = flood_t0 + (double)flood_next / c->rate;

				if (due > t) {
					if (due - t < wait_s)
						wait_s = due - t;
					break;
				}
			}
			peer_build_frame(flood_frame, c->size, guest_mac, peer_mac, flood_next,
					 FRAME_FLOOD, stream);
			r = send_frame(&ps, flood_frame, c->size);
			if (r == 0) {
				want_out = 1;
				break;
			}
			if (r < 0)
				s->tx_failed++;
			else
				s->tx++;
			flood_next++;
		}
		/* Reflect: replies QEMU had no room for. */
		while (phead != ptail) {
			int r = send_frame(&ps, pending[ptail % PENDING], pending_len[ptail % PENDING]);

			if (r == 0)
				break;
			if (r < 0)
				s->tx_failed++;
			else
				s->tx++;
			ptail++;
		}
		want_out = phead != ptail || (flooding && flood_next < flood_count && c->rate <= 0);
		if (want_out && ps.connected)
			pfd.events |= POLLOUT;
		if (want_out && !ps.connected)
			wait_s = 0.01; /* the guest socket does not exist yet: try again soon */
		if (c->timeout_s > 0 && start + c->timeout_s - t < wait_s)
			wait_s = start + c->timeout_s - t;
		if (poll(&pfd, 1, wait_s > 0 ? (int)(wait_s * 1000) + (wait_s < 0.001) : 0) < 0 &&
		    errno != EINTR)
			break;
		if (!(pfd.revents & POLLIN))
			continue;
		for (int burst = 0; burst < 256; burst++) {
			ssize_t n = recv(ps.fd, buf, sizeof(buf), MSG_DONTWAIT);
			struct kvmio_frame h;

			if (n < 0)
				break;
			if (c->mode == PEER_REFLECT) {
				if (!peer_reflect(c, s, buf, (size_t)n))
					continue;
				if (phead == ptail) {
					int r = send_frame(&ps, buf, (size_t)n);

					if (r > 0) {
						s->tx++;
						continue;
					}
					if (r < 0) {
						s->tx_failed++;
						continue;
					}
				}
				if (phead - ptail < PENDING && (size_t)n <= sizeof(pending[0])) {
					memcpy(pending[phead % PENDING], buf, (size_t)n);
					pending_len[phead % PENDING] = (size_t)n;
					phead++;
				} else {
					s->tx_failed++;
				}
				continue;
			}
			if (peer_account(s, buf, (size_t)n, &h) == PEER_OK && c->mode == PEER_FLOOD &&
			    !flooding) {
				/* The guest's first frame: its MAC, and (go frame) how many to send. */
				memcpy(guest_mac, buf + 6, 6);
				flood_count = c->count ? c->count
					      : h.kind == FRAME_REQUEST && h.seq ? h.seq : 1000;
				flooding = 1;
				flood_t0 = clock_now_s();
			}
		}
	}
	close(ps.fd);
	if (!c->udp_port)
		unlink(c->socket);
	return 0;
}

/* 1 if UDP port `port` of 127.0.0.1 is taken (bound by someone). */
static int udp_port_taken(const char *path, unsigned port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), taken;

	(void)path;
	if (fd < 0)
		return 0;
	fill_udp(&a, port);
	taken = bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno == EADDRINUSE;
	close(fd);
	return taken;
}

int peer_udp_ports(unsigned *peer, unsigned *guest)
{
	int fd[2] = { -1, -1 }, rc = 0;
	unsigned *out[2] = { peer, guest };

	for (int k = 0; k < 2 && rc == 0; k++) {
		struct sockaddr_in a;
		socklen_t len = sizeof(a);

		fill_udp(&a, 0);
		fd[k] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd[k] < 0 || bind(fd[k], (struct sockaddr *)&a, sizeof(a)) != 0 ||
		    getsockname(fd[k], (struct sockaddr *)&a, &len) != 0)
			rc = -1;
		else
			*out[k] = ntohs(a.sin_port);
	}
	for (int k = 0; k < 2; k++)
		if (fd[k] >= 0)
			close(fd[k]);
	return rc;
}

static int unix_socket_exists(const char *socket, unsigned port)
{
	struct stat st;

	(void)port;
	return stat(socket, &st) == 0;
}

/* Start the peer; wait until ready(socket, port) says it listens. */
static int spawn_wait(char *const *argv, int (*ready)(const char *, unsigned),
		      const char *socket, unsigned port, double wait_s, int *fd)
{
	int p[2];
	pid_t pid, parent = getpid();
	double until = clock_now_s() + wait_s;

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(KVMIO_EXIT_FAILED);
		setpgid(0, 0); /* Ctrl-C goes to kvmio, which stops the peer itself */
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		dup2(nul, 0);
		dup2(p[1], 1);
		execv(argv[0], argv);
		_exit(PROC_EXEC_FAILED);
	}
	close(p[1]);
	*fd = p[0];
	while (clock_now_s() < until) {
		if (ready(socket, port))
			return pid;
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			close(p[0]);
			return -1;
		}
		usleep(5000);
	}
	return pid; /* QEMU will start anyway; the peer line says what happened */
}

int peer_spawn(char *const *argv, const char *socket, double wait_s, int *fd)
{
	return spawn_wait(argv, unix_socket_exists, socket, 0, wait_s, fd);
}

int peer_spawn_udp(char *const *argv, unsigned port, double wait_s, int *fd)
{
	return spawn_wait(argv, udp_port_taken, NULL, port, wait_s, fd);
}

int peer_stop_and_read(int pid, int fd, double grace_s, struct peer_stats *s)
{
	char out[4096];
	size_t len = 0;
	double until;
	int status;

	kill(pid, SIGTERM);
	until = clock_now_s() + grace_s;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (clock_now_s() >= until) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		usleep(5000);
	}
	for (;;) {
		ssize_t n = read(fd, out + len, sizeof(out) - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (len += (size_t)n) >= sizeof(out) - 1)
			break;
	}
	out[len] = '\0';
	close(fd);
	return peer_parse_line(out, s);
}

/* ---- kvmio peer ---------------------------------------------------------------------------- */

static int peer_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "kvmio: peer: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (usage: kvmio peer --socket PATH --guest-socket PATH | --udp PORT "
		"--guest-udp PORT, --mode "
		"reflect|sink|flood [--size N] [--count N] [--rate PPS] [--drop-every N] "
		"[--corrupt-every N] [--timeout S])\n");
	return KVMIO_EXIT_BADCONFIG;
}

int cmd_peer(int argc, char **argv)
{
	struct peer_config c = { .mode = PEER_REFLECT, .size = 60, .dev = -1 };
	struct peer_stats s;
	char err[512], line[512];
	int have_mode = 0;

	for (int i = 0; i < argc; i++) {
		const char *v;
		int missing = 0;
		double d;

		if ((v = option_value(argc, argv, &i, "--socket", &missing))) {
			c.socket = v;
		} else if ((v = option_value(argc, argv, &i, "--guest-socket", &missing))) {
			c.guest_socket = v;
		} else if ((v = option_value(argc, argv, &i, "--udp", &missing))) {
			if (arg_double(v, 1, 65535, &d) || d != (unsigned)d)
				return peer_usage("bad --udp '%s' (a port, 1..65535)", v);
			c.udp_port = (unsigned)d;
		} else if ((v = option_value(argc, argv, &i, "--guest-udp", &missing))) {
			if (arg_double(v, 1, 65535, &d) || d != (unsigned)d)
				return peer_usage("bad --guest-udp '%s' (a port, 1..65535)", v);
			c.guest_udp_port = (unsigned)d;
		} else if ((v = option_value(argc, argv, &i, "--mode", &missing))) {
			if (peer_mode_parse(v, &c.mode))
				return peer_usage("bad --mode '%s' (reflect, sink, flood)", v);
			have_mode = 1;
		} else if ((v = option_value(argc, argv, &i, "--size", &missing))) {
			if (arg_double(v, ETH_MIN_FRAME, ETH_MAX_FRAME, &d) || d != (unsigned)d)
				return peer_usage("bad --size '%s' (60..1514)", v);
			c.size = (unsigned)d;
		} else if ((v = option_value(argc, argv, &i, "--count", &missing))) {
			if (arg_double(v, 1, 1e8, &d) || d != (uint64_t)d)
				return peer_usage("bad --count '%s' (1..10^8)", v);
			c.count = (uint64_t)d;
		} else if ((v = option_value(argc, argv, &i, "--rate", &missing))) {
			if (arg_double(v, 0, 1e9, &d))
				return peer_usage("bad --rate '%s' (frames/s, 0 = as fast as possible)",
						  v);
			c.rate = d;
		} else if ((v = option_value(argc, argv, &i, "--drop-every", &missing))) {
			if (arg_double(v, 1, 1e18, &d) || d != (uint64_t)d)
				return peer_usage("bad --drop-every '%s' (N >= 1)", v);
			c.drop_every = (uint64_t)d;
		} else if ((v = option_value(argc, argv, &i, "--corrupt-every", &missing))) {
			if (arg_double(v, 1, 1e18, &d) || d != (uint64_t)d)
				return peer_usage("bad --corrupt-every '%s' (N >= 1)", v);
			c.corrupt_every = (uint64_t)d;
		} else if ((v = option_value(argc, argv, &i, "--timeout", &missing))) {
			if (arg_double(v, 0, 1e6, &d))
				return peer_usage("bad --timeout '%s' (seconds, 0 = none)", v);
			c.timeout_s = d;
		} else if ((v = option_value(argc, argv, &i, "--dev", &missing))) {
			if (arg_double(v, 0, 64, &d) || d != (int)d)
				return peer_usage("bad --dev '%s'", v);
			c.dev = (int)d;
		} else if (missing) {
			return peer_usage("option '%s' needs a value", argv[i]);
		} else {
			return peer_usage("unknown option '%s'", argv[i]);
		}
	}
	if (!(c.udp_port && c.guest_udp_port) && (!c.socket || !c.guest_socket))
		return peer_usage("--socket and --guest-socket (or --udp and --guest-udp) are "
				  "required%s", "");
	if (!have_mode)
		return peer_usage("--mode is required%s", "");
	if (c.mode != PEER_REFLECT && (c.drop_every || c.corrupt_every))
		return peer_usage("--drop-every/--corrupt-every are for --mode reflect%s", "");
	if (peer_run(&c, &s, err, sizeof(err)) != 0) {
		fprintf(stderr, "kvmio: peer: %s\n", err);
		return KVMIO_EXIT_IO;
	}
	peer_format_line(&s, line, sizeof(line));
	printf("%s\n", line);
	fflush(stdout);
	return KVMIO_EXIT_OK;
}
