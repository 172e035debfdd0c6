/*
 * One `virtio_mmio.device=SIZE@BASE:IRQ[:ID]` word: how QEMU's microvm (auto-kernel-cmdline,
 * with acpi=off) and Firecracker describe a virtio-mmio transport on the kernel command line
 * (the Linux virtio_mmio module's syntax: SIZE with an optional K/M/G suffix, BASE a number,
 * IRQ the I/O APIC GSI, an optional platform-device ID that we ignore). Pure: the guest's
 * option parser and the host's unit test run it.
 */
#ifndef KVMIO_COMMON_VIRTIO_MMIO_ARG_H
#define KVMIO_COMMON_VIRTIO_MMIO_ARG_H
#include <stddef.h>
#include <stdint.h>

#define VIRTIO_MMIO_ARG_MAX 8          /* transports kept from the command line */
#define VIRTIO_MMIO_ARG_MIN_SIZE 0x100 /* the register block of virtio 1.2 §4.2.2 */
#define VIRTIO_MMIO_ARG_MAX_GSI 255

struct virtio_mmio_arg {
	uint64_t base, size;
	uint32_t gsi;
};

/* Parse s[0..len). 0, or -1 with *why set (a constant naming the bad part). */
int virtio_mmio_arg_parse(const char *s, size_t len, struct virtio_mmio_arg *out, const char **why);

#endif
