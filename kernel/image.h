/*
 * Header inside the flat kernel image (build/kvmio.bin), found by loaders that are not
 * multiboot or PVH (the UEFI loader). It lies 8-byte aligned within the first 8 KiB.
 */
#ifndef KVMIO_KERNEL_IMAGE_H
#define KVMIO_KERNEL_IMAGE_H

#define KVMIO_IMAGE_MAGIC 0x474d494f494d564bull /* "KVMIOIMG" little-endian */
#define KVMIO_IMAGE_VERSION 1
#define KVMIO_IMAGE_SEARCH 8192

#ifndef __ASSEMBLER__
#include <stdint.h>

struct kvmio_image_header {
	uint64_t magic;
	uint32_t version;
	uint32_t header_size;   /* sizeof(struct kvmio_image_header) */
	uint64_t load_addr;     /* physical address of byte 0 of the flat image */
	uint64_t load_end;      /* end of the bytes present in the flat image */
	uint64_t bss_end;       /* end of all memory the kernel occupies (zero from load_end) */
	uint64_t entry64;       /* 64-bit entry: RDI = struct boot_info *, IF=0, identity map */
};

#endif /* __ASSEMBLER__ */

#endif
