/*
 * The test frame kvmio sends, shared by the guest and the host peer (`kvmio peer`).
 * Ethernet II header, then struct kvmio_frame, then filler bytes frame_fill(seq, i).
 * crc covers the frame from the kvmio header to the end (so a peer that swaps the MAC
 * addresses keeps it valid), computed with the crc field zero. All integers little-endian.
 */
#ifndef KVMIO_COMMON_NETFRAME_H
#define KVMIO_COMMON_NETFRAME_H
#include <stdint.h>

#define ETH_HDR_LEN        14
#define ETH_MIN_FRAME      60     /* without the FCS */
#define ETH_MAX_FRAME      1514
#define ETHERTYPE_KVMIO    0x88b5 /* IEEE 802 "local experimental ethertype 1" */
#define KVMIO_FRAME_MAGIC  0x464d564bu /* "KVMF" */

enum kvmio_frame_kind {
	FRAME_DATA = 0,      /* net-tx / loop data */
	FRAME_REQUEST = 1,   /* net-rr request: the other side answers with a FRAME_REPLY */
	FRAME_REPLY = 2,
	FRAME_FLOOD = 3,     /* sent by the peer for net-rx */
};

struct kvmio_frame {
	uint32_t magic;
	uint32_t crc;        /* CRC-32 of bytes [ETH_HDR_LEN, len) with this field zero */
	uint64_t seq;
	uint16_t len;        /* whole frame length, Ethernet header included, FCS excluded */
	uint8_t kind;        /* enum kvmio_frame_kind */
	uint8_t reserved;
	uint32_t stream;     /* who sent it: a random id per run */
};

#define KVMIO_FRAME_MIN (ETH_HDR_LEN + (int)sizeof(struct kvmio_frame))

static inline uint8_t frame_fill(uint64_t seq, uint32_t i)
{
	uint64_t x = seq * 0x9e3779b97f4a7c15ull + i;
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 29;
	return (uint8_t)x;
}

#endif
