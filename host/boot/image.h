/*
 * `kvmio image FILE --cmdline "OPTIONS"`: a copy of the bootable disk image (build/kvmio.img,
 * scripts/mkimage) with guest options baked into its GRUB configuration, written with mtools
 * into the image's EFI System Partition (no root, no loop devices).
 */
#ifndef KVMIO_HOST_BOOT_IMAGE_H
#define KVMIO_HOST_BOOT_IMAGE_H
#include <stddef.h>
#include <stdint.h>

#define IMAGE_FILE_NAME "kvmio.img"          /* in the image directory (kvmio boot's) */
#define IMAGE_GRUB_CFG "::/boot/grub/grub.cfg" /* read by both GRUBs (scripts/mkimage) */
#define IMAGE_KERNEL "/boot/kvmio.elf"

/*
 * The byte offset of the EFI System Partition in a GPT disk whose first sectors are disk[0..len)
 * (the header at LBA 1, the partition array where it says, within len). 0, or 2 with a
 * one-line message in err.
 */
int image_find_esp(const uint8_t *disk, size_t len, uint64_t *offset, char *err, size_t errlen);

/*
 * The grub.cfg that boots the kernel with these guest options: each option word single-quoted
 * (GRUB's shell quoting). 0, or 2 with a one-line message in err (a character GRUB's quoting
 * cannot carry, or longer than the guest takes).
 */
int image_grub_cfg(const char *options, char *out, size_t outlen, char *err, size_t errlen);

/* argv after "image"; the exit codes of docs/protocol.md. */
int cmd_image(int argc, char **argv);

#endif
