/* `kvmio boot --net`: NIC specs, their QEMU arguments, the peer command, the tap namespace. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "boot/net.h"
#include "kvmio_proto.h"
#include "lib/args.h"
#include "lib/proc.h"

const char *net_topology_name(enum net_topology t)
{
	return t == NET_LOOP ? "loop" : t == NET_TAP ? "tap" : "peer";
}

const char *peer_mode_name(enum peer_mode m)
{
	return m == PEER_SINK ? "sink" : m == PEER_FLOOD ? "flood" : "reflect";
}

int peer_mode_parse(const char *s, enum peer_mode *m)
{
	if (!strcmp(s, "reflect"))
		*m = PEER_REFLECT;
	else if (!strcmp(s, "sink"))
		*m = PEER_SINK;
	else if (!strcmp(s, "flood"))
		*m = PEER_FLOOD;
	else
		return -1;
	return 0;
}

static int parse_mac(const char *v, char *out)
{
	unsigned char b[6];
	char tail;

	if (strlen(v) != 17 || sscanf(v, "%2hhx:%2hhx:%2hhx:%2hhx:%2hhx:%2hhx%c", &b[0], &b[1], &b[2], &b[3],
				       &b[4], &b[5], &tail) != 6)
		return -1;
	for (int i = 0; i < 17; i++)
		if ((i % 3 == 2) != (v[i] == ':'))
			return -1;
	if (b[0] & 1)
		return -1; /* multicast: no NIC address */
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", b[0] & 0xffu, b[1] & 0xffu,
		 b[2] & 0xffu, b[3] & 0xffu, b[4] & 0xffu, b[5] & 0xffu);
	return 0;
}

int net_parse_spec(const char *spec, struct qemu_nic *n, char *err, size_t errlen)
{
	static const char *const models[] = { "e1000", "e1000-82545em", "e1000-82544gc",
					       "e1000e", "rtl8139", "virtio-net", NULL };
	static const char *const transports[] = { "legacy", "modern", "transitional", "mmio",
						   "mmio-modern", NULL };
	char buf[1024], *save = NULL, *tok;
	int first = 1, vhost_given = 0;

	memset(n, 0, sizeof(*n));
	n->vhost = -1;
	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, errlen, "--net: spec too long");
		return KVMIO_EXIT_BADCONFIG;
	}
	snprintf(buf, sizeof(buf), "%s", spec);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save), first = 0) {
		char *eq = strchr(tok, '=');
		const char *k = tok, *v = eq ? eq + 1 : NULL;
		uint64_t u;

		if (first) {
			for (int i = 0; models[i]; i++)
				if (!strcmp(tok, models[i]))
					n->model = models[i];
			if (!n->model) {
				snprintf(err, errlen, "--net: unknown model '%.64s' (e1000, e1000-82545em, "
					 "e1000-82544gc, e1000e, rtl8139 or virtio-net first, then KEY=VALUE,...)",
					 tok);
				return KVMIO_EXIT_BADCONFIG;
			}
			continue;
		}
		if (strncmp(tok, "prop.", 5) == 0)
			continue; /* a device property: qemu_spec_props */
		if (!eq || !*v) {
			snprintf(err, errlen, "--net: '%.64s' is not KEY=VALUE", tok);
			return KVMIO_EXIT_BADCONFIG;
		}
		*eq = '\0';
		if (!strcmp(k, "transport")) {
			n->transport = NULL;
			for (int i = 0; transports[i]; i++)
				if (!strcmp(v, transports[i]))
					n->transport = transports[i];
			if (!n->transport) {
				snprintf(err, errlen, "--net: bad transport=%.64s (legacy, modern, "
					 "transitional, mmio, mmio-modern)", v);
				return KVMIO_EXIT_BADCONFIG;
			}
		} else if (!strcmp(k, "topology")) {
			if (!strcmp(v, "loop"))
				n->topology = NET_LOOP;
			else if (!strcmp(v, "peer"))
				n->topology = NET_PEER;
			else if (!strcmp(v, "tap"))
				n->topology = NET_TAP;
			else {
				snprintf(err, errlen, "--net: bad topology=%.64s (loop, peer, tap)", v);
				return KVMIO_EXIT_BADCONFIG;
			}
		} else if (!strcmp(k, "vhost")) {
			if (strcmp(v, "on") && strcmp(v, "off")) {
				snprintf(err, errlen, "--net: bad vhost=%.64s (on, off)", v);
				return KVMIO_EXIT_BADCONFIG;
			}
			n->vhost = !strcmp(v, "on");
			vhost_given = 1;
		} else if (!strcmp(k, "packed")) {
			if (strcmp(v, "on") && strcmp(v, "off")) {
				snprintf(err, errlen, "--net: bad packed=%.64s (on, off)", v);
				return KVMIO_EXIT_BADCONFIG;
			}
			n->packed = !strcmp(v, "on") ? "on" : "off";
		} else if (!strcmp(k, "mac")) {
			if (parse_mac(v, n->mac)) {
				snprintf(err, errlen, "--net: bad mac=%.64s (XX:XX:XX:XX:XX:XX, unicast)",
					 v);
				return KVMIO_EXIT_BADCONFIG;
			}
		} else if (!strcmp(k, "peer-mode")) {
			if (peer_mode_parse(v, &n->peer_mode)) {
				snprintf(err, errlen, "--net: bad peer-mode=%.64s (reflect, sink, flood)",
					 v);
				return KVMIO_EXIT_BADCONFIG;
			}
			n->peer_opts = 1;
		} else if (!strcmp(k, "peer-rate")) {
			char *end;

			errno = 0;
			n->peer_rate = strtod(v, &end);
			if (errno || *end || *v < '0' || *v > '9' || n->peer_rate > 1e9) {
				snprintf(err, errlen, "--net: bad peer-rate=%.64s (frames per second, "
					 "0 = as fast as possible)", v);
				return KVMIO_EXIT_BADCONFIG;
			}
			n->peer_opts = 1;
		} else if (!strcmp(k, "peer-size")) {
			if (arg_u64(v, 10, &u) || u < 60 || u > 1514) {
				snprintf(err, errlen, "--net: bad peer-size=%.64s (60..1514 bytes)", v);
				return KVMIO_EXIT_BADCONFIG;
			}
			n->peer_size = (unsigned)u;
			n->peer_opts = 1;
		} else if (!strcmp(k, "peer-count")) {
			if (arg_u64(v, 10, &u) || u == 0 || u > 100000000ull) {
				snprintf(err, errlen, "--net: bad peer-count=%.64s (1..10^8)", v);
				return KVMIO_EXIT_BADCONFIG;
			}
			n->peer_count = u;
			n->peer_opts = 1;
		} else if (!strcmp(k, "peer-drop-every") || !strcmp(k, "peer-corrupt-every")) {
			if (arg_u64(v, 10, &u) || u == 0) {
				snprintf(err, errlen, "--net: bad %s=%.64s (N >= 1: every N-th frame)", k,
					 v);
				return KVMIO_EXIT_BADCONFIG;
			}
			if (k[5] == 'd')
				n->peer_drop_every = u;
			else
				n->peer_corrupt_every = u;
			n->peer_opts = 1;
		} else {
			snprintf(err, errlen, "--net: unknown key '%.64s' (transport, topology, vhost, "
				 "packed, mac, peer-mode, peer-rate, peer-size, peer-count, peer-drop-every, "
				 "peer-corrupt-every)", k);
			return KVMIO_EXIT_BADCONFIG;
		}
	}
	if (first) {
		snprintf(err, errlen, "--net: empty spec (e1000, e1000-82545em, e1000-82544gc, "
			 "e1000e, rtl8139 or virtio-net)");
		return KVMIO_EXIT_BADCONFIG;
	}
	if (n->transport && strcmp(n->model, "virtio-net") != 0) {
		snprintf(err, errlen, "--net: transport= is for virtio-net (%s has one PCI interface)",
			 n->model);
		return KVMIO_EXIT_BADCONFIG;
	}
	if (n->packed && strcmp(n->model, "virtio-net") != 0) {
		snprintf(err, errlen, "--net: packed= is for virtio-net (%s has no virtqueues)",
			 n->model);
		return KVMIO_EXIT_BADCONFIG;
	}
	if (n->packed && !strcmp(n->packed, "on") && n->transport &&
	    !strcmp(n->transport, "legacy")) {
		snprintf(err, errlen, "--net: packed=on with transport=legacy: packed rings are "
			 "virtio 1.x only (transport=modern or transitional)");
		return KVMIO_EXIT_BADCONFIG;
	}
	n->transport_given = n->transport != NULL;
	if (!strcmp(n->model, "virtio-net") && !n->transport)
		n->transport = "transitional";
	if (vhost_given && n->vhost == 1 && strcmp(n->model, "virtio-net") != 0) {
		snprintf(err, errlen, "--net: vhost=on is for virtio-net (%s is emulated in QEMU)",
			 n->model);
		return KVMIO_EXIT_BADCONFIG;
	}
	if (vhost_given && n->vhost == 1 && n->topology != NET_TAP) {
		snprintf(err, errlen, "--net: vhost=on needs topology=tap (vhost-net drives a tap "
			 "device)");
		return KVMIO_EXIT_BADCONFIG;
	}
	if (n->peer_opts && n->topology != NET_PEER) {
		snprintf(err, errlen, "--net: peer-* options need topology=peer (not %s)",
			 net_topology_name(n->topology));
		return KVMIO_EXIT_BADCONFIG;
	}
	if (n->peer_opts && n->peer_mode != PEER_REFLECT &&
	    (n->peer_drop_every || n->peer_corrupt_every)) {
		snprintf(err, errlen, "--net: peer-drop-every/peer-corrupt-every are for "
			 "peer-mode=reflect");
		return KVMIO_EXIT_BADCONFIG;
	}
	if (n->peer_mode != PEER_FLOOD && (n->peer_count || n->peer_rate > 0 || n->peer_size)) {
		snprintf(err, errlen, "--net: peer-count/peer-rate/peer-size are for peer-mode=flood");
		return KVMIO_EXIT_BADCONFIG;
	}
	return KVMIO_EXIT_OK;
}

void net_peer_socket(const char *dir, int i, char *buf, size_t len)
{
	snprintf(buf, len, "%s/peer%d.sock", dir, i);
}

void net_guest_socket(const char *dir, int i, char *buf, size_t len)
{
	snprintf(buf, len, "%s/guest%d.sock", dir, i);
}

void net_tap_name(int i, char *buf, size_t len)
{
	snprintf(buf, len, "kvmiotap%d", i);
}

void net_netns_name(char *buf, size_t len)
{
	snprintf(buf, len, "kvmio-%ld", (long)getpid());
}

int net_qemu_args(const struct qemu_nic *n, int i, const char *dir, const char *tap, int vhost,
		  char *netdev, size_t nlen, char *device, size_t dlen)
{
	char mac[32] = "", gs[4096], ps[4096];
	int r;

	switch (n->topology) {
	case NET_LOOP:
		r = snprintf(netdev, nlen, "hubport,id=net%d,hubid=0", i);
		break;
	case NET_TAP:
		r = snprintf(netdev, nlen, "tap,id=net%d,ifname=%s,script=no,downscript=no,vhost=%s",
			     i, tap, vhost ? "on" : "off");
		break;
	default:
		net_guest_socket(dir, i, gs, sizeof(gs));
		net_peer_socket(dir, i, ps, sizeof(ps));
		if (strchr(gs, ','))
			return -1;
		r = snprintf(netdev, nlen, "dgram,id=net%d,local.type=unix,local.path=%s,"
			     "remote.type=unix,remote.path=%s", i, gs, ps);
		break;
	}
	if (r < 0 || (size_t)r >= nlen)
		return -1;
	if (n->mac[0])
		snprintf(mac, sizeof(mac), ",mac=%s", n->mac);
	if (!strcmp(n->model, "virtio-net") && !strncmp(n->transport, "mmio", 4))
		r = snprintf(device, dlen, "virtio-net-device,netdev=net%d,bus=virtio-mmio-bus.%d%s%s%s",
			     i, n->mmio_bus, n->packed ? ",packed=" : "", n->packed ? n->packed : "", mac);
	else if (!strcmp(n->model, "virtio-net"))
		r = snprintf(device, dlen, "virtio-net-pci,netdev=net%d,addr=0x%x,disable-legacy=%s,"
			     "disable-modern=%s%s%s%s", i, QEMU_NIC_SLOT0 + i,
			     !strcmp(n->transport, "modern") ? "on" : "off",
			     !strcmp(n->transport, "legacy") ? "on" : "off",
			     n->packed ? ",packed=" : "", n->packed ? n->packed : "", mac);
	else
		r = snprintf(device, dlen, "%s,netdev=net%d,addr=0x%x%s", n->model, i,
			     QEMU_NIC_SLOT0 + i, mac);
	return r < 0 || (size_t)r >= dlen ? -1 : 0;
}

/* Words of the guest options, each KEY=VALUE looked at. */
static const char *guest_value(char *const *args, int n, const char *key, size_t *vlen)
{
	size_t kl = strlen(key);
	const char *found = NULL;

	for (int i = 0; i < n; i++) {
		const char *p = args[i];

		while (*p) {
			size_t wl = strcspn(p, " ");

			if (wl > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
				found = p + kl + 1;
				*vlen = wl - kl - 1;
			}
			p += wl;
			p += strspn(p, " ");
		}
	}
	return found;
}

int net_guest_has_option(char *const *args, int n, const char *key)
{
	size_t l;

	return guest_value(args, n, key, &l) != NULL;
}

int net_guest_option(char *const *args, int n, const char *key, char *buf, size_t len)
{
	size_t l;
	const char *v = guest_value(args, n, key, &l);

	if (!v || l >= len)
		return -1;
	memcpy(buf, v, l);
	buf[l] = '\0';
	return 0;
}

char **net_peer_argv(const char *exe, const struct qemu_nic *n, int i, const char *dir,
		     double timeout_s, unsigned guest_size)
{
	char **argv = calloc(32, sizeof(*argv));
	char path[4096];
	int k = 0, bad = 0;

#define ARG(...) do { if (asprintf(&argv[k], __VA_ARGS__) < 0) { argv[k] = NULL; bad = 1; } \
		      else k++; } while (0)
	if (!argv)
		return NULL;
	ARG("%s", exe);
	ARG("peer");
	net_peer_socket(dir, i, path, sizeof(path));
	ARG("--socket");
	ARG("%s", path);
	net_guest_socket(dir, i, path, sizeof(path));
	ARG("--guest-socket");
	ARG("%s", path);
	ARG("--mode");
	ARG("%s", peer_mode_name(n->peer_mode));
	if (n->peer_mode == PEER_FLOOD) {
		ARG("--size");
		ARG("%u", n->peer_size ? n->peer_size : guest_size ? guest_size : 60);
		if (n->peer_count) {
			ARG("--count");
			ARG("%llu", (unsigned long long)n->peer_count);
		}
		ARG("--rate");
		ARG("%g", n->peer_rate);
	}
	if (n->peer_drop_every) {
		ARG("--drop-every");
		ARG("%llu", (unsigned long long)n->peer_drop_every);
	}
	if (n->peer_corrupt_every) {
		ARG("--corrupt-every");
		ARG("%llu", (unsigned long long)n->peer_corrupt_every);
	}
	ARG("--dev");
	ARG("%d", i);
	ARG("--timeout");
	ARG("%g", timeout_s);
#undef ARG
	if (bad) {
		net_argv_free(argv);
		return NULL;
	}
	return argv;
}

char **net_peer_argv_udp(const char *exe, const struct qemu_nic *n, int i, unsigned peer_port,
			 unsigned guest_port, double timeout_s, unsigned guest_size)
{
	char **argv = net_peer_argv(exe, n, i, "", timeout_s, guest_size);

	/* argv[2..5]: --socket PATH --guest-socket PATH (net_peer_argv's order) */
	if (!argv)
		return NULL;
	free(argv[2]);
	free(argv[3]);
	free(argv[4]);
	free(argv[5]);
	argv[2] = strdup("--udp");
	argv[4] = strdup("--guest-udp");
	if (asprintf(&argv[3], "%u", peer_port) < 0)
		argv[3] = NULL;
	if (asprintf(&argv[5], "%u", guest_port) < 0)
		argv[5] = NULL;
	if (!argv[2] || !argv[3] || !argv[4] || !argv[5]) {
		for (int k = 2; k < 6; k++)
			argv[k] = argv[k] ? argv[k] : strdup("");
		net_argv_free(argv);
		return NULL;
	}
	return argv;
}

void net_argv_free(char **argv)
{
	for (int i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* ---- tap in a private network namespace -------------------------------------------------- */

#define MAX_IP_ARGS 12

/* The ip commands: setup (teardown 0) or removal; returns how many, fills cmds. */
static int tap_cmds(const char *ns, const char *tap, int teardown,
		    const char *cmds[][MAX_IP_ARGS])
{
	static char addr[32];
	int n = 0;

	snprintf(addr, sizeof(addr), "%s/%d", NET_TAP_HOST_IP, NET_TAP_PREFIX);
#define CMD(...) do { const char *c[MAX_IP_ARGS] = { "ip", __VA_ARGS__, NULL }; \
		      memcpy(cmds[n++], c, sizeof(c)); } while (0)
	if (!teardown) {
		CMD("netns", "add", ns);
		CMD("-n", ns, "link", "set", "lo", "up");
		CMD("-n", ns, "tuntap", "add", "dev", tap, "mode", "tap");
		CMD("-n", ns, "addr", "add", addr, "dev", tap);
		CMD("-n", ns, "link", "set", tap, "up");
	} else {
		CMD("-n", ns, "link", "del", tap);
		CMD("netns", "del", ns);
	}
#undef CMD
	return n;
}

char *net_tap_script(const char *ns, const char *tap, int teardown)
{
	const char *cmds[8][MAX_IP_ARGS];
	int n = tap_cmds(ns, tap, teardown, cmds);
	size_t len = 1;
	char *s;

	for (int i = 0; i < n; i++)
		for (int k = 0; cmds[i][k]; k++)
			len += strlen(cmds[i][k]) + 1;
	s = calloc(1, len + 1);
	if (!s)
		return NULL;
	for (int i = 0; i < n; i++) {
		for (int k = 0; cmds[i][k]; k++) {
			if (k)
				strcat(s, " ");
			strcat(s, cmds[i][k]);
		}
		strcat(s, "\n");
	}
	return s;
}

/* Run argv quietly (stderr kept in err); its exit status, or -1. */
static int run_quiet(const char *const *argv, char *err, size_t errlen)
{
	int pipefd[2], status;
	pid_t pid;
	ssize_t got = 0, r;

	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return -1;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);

		dup2(nul, 0);
		dup2(nul, 1);
		dup2(pipefd[1], 2);
		execvp(argv[0], (char *const *)argv);
		dprintf(2, "cannot run %s: %s", argv[0], strerror(errno));
		_exit(PROC_EXEC_FAILED);
	}
	close(pipefd[1]);
	if (err && errlen)
		err[0] = '\0';
	while (err && (size_t)got + 1 < errlen &&
	       (r = read(pipefd[0], err + got, errlen - 1 - (size_t)got)) > 0)
		got += r;
	if (err && errlen) {
		err[got] = '\0';
		err[strcspn(err, "\r\n")] = '\0';
	}
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int net_tap_setup(const char *ns, const char *tap, char *err, size_t errlen)
{
	const char *cmds[8][MAX_IP_ARGS];
	int n = tap_cmds(ns, tap, 0, cmds);
	char e[256];

	for (int i = 0; i < n; i++) {
		if (run_quiet(cmds[i], e, sizeof(e)) != 0) {
			snprintf(err, errlen, "tap: '%s %s %s %s' failed: %s", cmds[i][0], cmds[i][1],
				 cmds[i][2], cmds[i][3] ? cmds[i][3] : "", e[0] ? e : "?");
			if (i > 0)
				net_tap_teardown(ns, tap);
			return -1;
		}
	}
	return 0;
}

void net_tap_teardown(const char *ns, const char *tap)
{
	const char *cmds[8][MAX_IP_ARGS];
	int n = tap_cmds(ns, tap, 1, cmds);

	for (int i = 0; i < n; i++)
		run_quiet(cmds[i], NULL, 0);
}

int net_tap_possible(void)
{
	return geteuid() == 0 && access("/dev/net/tun", R_OK | W_OK) == 0;
}

int net_vhost_possible(void)
{
	return access("/dev/vhost-net", F_OK) == 0;
}
