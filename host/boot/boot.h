/*
 * `kvmio boot [OPTIONS] [-- GUEST-OPTIONS...]`: build the QEMU command line (qemu.c), check the
 * guest options against the guest's own table, prepare the UEFI volume, start the peers and
 * the tap namespace (net.c, peer.c), run QEMU under its deadline (launch.c), check and print
 * the log (analysis/report.c).
 */
#ifndef KVMIO_HOST_BOOT_BOOT_H
#define KVMIO_HOST_BOOT_BOOT_H

/* The boot options and the environment, as `kvmio help` prints them. */
extern const char boot_options_help[];

/* argv after "boot"; the exit codes of docs/protocol.md. */
int cmd_boot(int argc, char **argv);

/* Where the guest images are (KVMIO_IMAGE_DIR, beside kvmio, or PREFIX/lib/kvmio); malloc'd. */
char *boot_image_dir(void);

#endif
