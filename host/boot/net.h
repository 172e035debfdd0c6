/*
 * `kvmio boot --net SPEC`: parsing a NIC spec, its QEMU -netdev/-device arguments, the peer
 * command line, and the tap topology's network namespace (ip netns). Pure functions except
 * net_tap_setup/net_tap_teardown, which run `ip`.
 */
#ifndef KVMIO_HOST_BOOT_NET_H
#define KVMIO_HOST_BOOT_NET_H
#include <stddef.h>
#include <stdint.h>

#define QEMU_MAX_NICS 7            /* slots 0x18..0x1e (q35 has its LPC bridge at 0x1f) */
#define QEMU_NIC_SLOT0 0x18        /* NIC N (in --net order) sits at 00:(0x18+N).0 */
#define NET_TAP_HOST_IP "10.199.0.1"
#define NET_TAP_PREFIX 24
#define NET_TAP_GUEST_IP "10.199.0.2"

enum net_topology { NET_PEER, NET_LOOP, NET_TAP };
enum peer_mode { PEER_REFLECT, PEER_SINK, PEER_FLOOD };

struct qemu_nic {
	const char *model;             /* e1000, e1000-82545em, e1000-82544gc, e1000e, rtl8139, virtio-net */
	const char *transport;         /* virtio-net: legacy, modern, transitional, mmio,
					* mmio-modern (microvm); else NULL */
	int transport_given;           /* transport= was in the spec */
	int mmio_bus;                  /* mmio: virtio-mmio-bus.N (set by qemu_build_command) */
	enum net_topology topology;
	int vhost;                     /* -1 auto (tap + virtio-net + kvm + /dev/vhost-net), 0, 1 */
	char mac[18];                  /* "" = QEMU's default */
	const char *packed;            /* virtio-net: "on", "off" (packed=), or NULL: QEMU's (off) */
	enum peer_mode peer_mode;
	int peer_opts;                 /* 1 if any peer-* key was given */
	double peer_rate;              /* frames per second, 0 = as fast as possible */
	unsigned peer_size;            /* 0: the guest's size= (else 60) */
	uint64_t peer_count;           /* 0: from the guest's go frame */
	uint64_t peer_drop_every, peer_corrupt_every;
};

const char *net_topology_name(enum net_topology t);
const char *peer_mode_name(enum peer_mode m);
int peer_mode_parse(const char *s, enum peer_mode *m); /* 0 or -1 */

/* Parse one --net SPEC (syntax only). 0, or 2 with a one-line message in err. */
int net_parse_spec(const char *spec, struct qemu_nic *n, char *err, size_t errlen);

/*
 * The -netdev and -device values of NIC i. dir: the private directory of the peer sockets;
 * tap: the tap interface name; vhost: resolved 0/1. Returns 0 or -1 (too long).
 */
int net_qemu_args(const struct qemu_nic *n, int i, const char *dir, const char *tap, int vhost,
		  char *netdev, size_t nlen, char *device, size_t dlen);

/* Peer socket paths of NIC i inside dir. */
void net_peer_socket(const char *dir, int i, char *buf, size_t len);
void net_guest_socket(const char *dir, int i, char *buf, size_t len);

/* The tap interface of NIC i (inside the namespace only). */
void net_tap_name(int i, char *buf, size_t len);

/* The namespace for this kvmio process: kvmio-PID. */
void net_netns_name(char *buf, size_t len);

/* 1 if the guest options hold KEY= (an option word may hold several space-separated words). */
int net_guest_has_option(char *const *args, int n, const char *key);
/* Value of KEY= in the guest options (last one wins), copied to buf; 0 if found, -1 if not. */
int net_guest_option(char *const *args, int n, const char *key, char *buf, size_t len);

/*
 * argv (NULL-terminated, malloc'd strings) of `kvmio peer` for NIC i: exe is the kvmio binary,
 * timeout_s the peer's own bound. guest_size: the guest's size= (0 unknown).
 */
char **net_peer_argv(const char *exe, const struct qemu_nic *n, int i, const char *dir,
		     double timeout_s, unsigned guest_size);
/* The same for a peer on UDP ports of 127.0.0.1 (libvirt's <interface type='udp'>): --udp
 * PEER_PORT --guest-udp GUEST_PORT in place of the socket paths. */
char **net_peer_argv_udp(const char *exe, const struct qemu_nic *n, int i, unsigned peer_port,
			 unsigned guest_port, double timeout_s, unsigned guest_size);
void net_argv_free(char **argv);

/* The `ip` commands that build (teardown 0) or remove (1) the tap namespace, one per line
 * (malloc'd), as --dry-run prints them. At most one tap NIC: its tap is TAP inside NS. */
char *net_tap_script(const char *ns, const char *tap, int teardown);

/* Create the namespace and the tap device (runs ip). 0, or -1 with a message in err; on
 * failure what was made is removed again. */
int net_tap_setup(const char *ns, const char *tap, char *err, size_t errlen);
/* Remove them (always safe to call; ignores what is already gone). */
void net_tap_teardown(const char *ns, const char *tap);

/* 1 if we are root and /dev/net/tun exists. */
int net_tap_possible(void);
/* 1 if /dev/vhost-net exists. */
int net_vhost_possible(void);

#endif
