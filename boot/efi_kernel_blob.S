/*
 * The flat kernel image (build/kvmio.bin, passed as -DKERNEL_BIN="path") carried inside the
 * UEFI loader. It goes into .data, which elf_x86_64_efi.lds and the objcopy to PE keep.
 * efi_loader.c copies it to the physical address its kvmio_image_header names.
 */
	.section .data
	.balign 4096
	.global kernel_blob_start
	.global kernel_blob_end
	.hidden kernel_blob_start
	.hidden kernel_blob_end
kernel_blob_start:
	.incbin KERNEL_BIN
kernel_blob_end:

	.section .note.GNU-stack, "", @progbits
