/*
 * `kvmio peer`: the other end of a guest NIC on a unix datagram socket (QEMU -netdev dgram), or
 * on a UDP port of 127.0.0.1 (QEMU -netdev socket,udp=: libvirt's <interface type='udp'>).
 * reflect: swap the MAC addresses and send every kvmio frame back; sink: check and count;
 * flood: on the guest's first frame, send COUNT kvmio FRAME_FLOOD frames at RATE.
 * The frame format is common/netframe.h, shared with the guest.
 */
#ifndef KVMIO_HOST_BOOT_PEER_H
#define KVMIO_HOST_BOOT_PEER_H
#include <stddef.h>
#include <stdint.h>
#include "boot/net.h"
#include "netframe.h"

struct peer_config {
	const char *socket;            /* our unix datagram socket (bound; QEMU's remote.path) */
	const char *guest_socket;      /* QEMU's socket (its local.path) */
	unsigned udp_port;             /* UDP instead: our port on 127.0.0.1 (0: unix sockets) */
	unsigned guest_udp_port;       /* QEMU's port there (its localaddr) */
	enum peer_mode mode;
	unsigned size;                 /* flood: bytes per frame (60..1514), FCS excluded */
	uint64_t count;                /* flood: frames; 0: the count in the guest's go frame */
	double rate;                   /* flood: frames per second, 0 = as fast as possible */
	uint64_t drop_every;           /* reflect: do not send back every N-th frame (0: none) */
	uint64_t corrupt_every;        /* reflect: flip a payload byte of every N-th frame */
	double timeout_s;              /* stop after this long (0: run until a signal) */
	int dev;                       /* the guest NIC this peer serves; -1: not said */
};

struct peer_stats {
	uint64_t rx, rx_ok, rx_corrupt, rx_foreign, tx, dropped, corrupted, tx_failed;
	int dev;
	enum peer_mode mode;
	int valid;                     /* peer_parse_line: 1 when a line was parsed */
};

enum peer_verdict { PEER_OK, PEER_FOREIGN, PEER_CORRUPT };

/* A kvmio test frame of len bytes (KVMIO_FRAME_MIN..ETH_MAX_FRAME), as the guest builds it. */
void peer_build_frame(uint8_t *f, uint32_t len, const uint8_t dst[6], const uint8_t src[6],
		      uint64_t seq, uint8_t kind, uint32_t stream);

/* Check a received frame: ours and intact (fills *h), not ours at all, or ours but damaged. */
enum peer_verdict peer_check_frame(const uint8_t *f, size_t len, struct kvmio_frame *h);

/* Count a received frame in s (rx, rx_ok, rx_corrupt, rx_foreign); its verdict. */
enum peer_verdict peer_account(struct peer_stats *s, const uint8_t *f, size_t len,
			       struct kvmio_frame *h);

/*
 * Reflect mode: account the frame in f and turn it into the reply in place (MACs swapped,
 * every corrupt_every-th reflected frame with its last byte flipped). Returns 1 if the frame
 * is to be sent back, 0 if not (not ours, or dropped on purpose).
 */
int peer_reflect(const struct peer_config *c, struct peer_stats *s, uint8_t *f, size_t len);

/* The one summary line (no newline): "peer: mode=... rx=N ...". */
void peer_format_line(const struct peer_stats *s, char *buf, size_t len);
/* Parse such a line back (the last "peer:" line of text); 0 or -1. */
int peer_parse_line(const char *text, struct peer_stats *s);

/* The socket loop; returns 0, or -1 with a message in err (socket problems). */
int peer_run(const struct peer_config *c, struct peer_stats *s, char *err, size_t errlen);

/*
 * kvmio boot: start `kvmio peer` (argv from net_peer_argv) with its stdout on a pipe (*fd) and
 * SIGTERM when kvmio dies; wait up to wait_s for its socket to appear. pid, or -1.
 */
int peer_spawn(char *const *argv, const char *socket, double wait_s, int *fd);
/* The same with the peer on UDP port `port` of 127.0.0.1: waits until the port is taken. */
int peer_spawn_udp(char *const *argv, unsigned port, double wait_s, int *fd);
/* Two distinct free UDP ports of 127.0.0.1 (the peer's, QEMU's). 0, or -1. */
int peer_udp_ports(unsigned *peer, unsigned *guest);
/* Stop it (SIGTERM, then SIGKILL after grace_s), read its line into *s. 0, or -1 if no line. */
int peer_stop_and_read(int pid, int fd, double grace_s, struct peer_stats *s);

/* `kvmio peer ...` */
int cmd_peer(int argc, char **argv);

#endif
