/*
 * Entry paths into kvmio:
 *  multiboot_entry  32-bit protected mode, paging off, EAX = 0x2BADB002, EBX = multiboot info
 *                   (Multiboot Specification 0.6.96, §3.2 "Machine state"), or EAX =
 *                   0x36d76289, EBX = multiboot2 information (Multiboot2 Specification 1.0,
 *                   §3.3 "I386 machine state"; GRUB's multiboot2 command, build/kvmio.img).
 *  pvh_entry        32-bit protected mode, paging off, EBX = hvm_start_info
 *                   (Xen "x86/HVM direct boot ABI", docs/misc/pvh.pandoc).
 *  entry64          long mode from our UEFI loader: RDI = struct boot_info *, IF = 0.
 * The 32-bit paths build a temporary identity map of the first 4 GiB with 2 MiB pages, enter
 * long mode (Intel SDM Vol. 3A §9.8.5 "Initializing IA-32e Mode") and call boot_from_32().
 */
#include "kernel/image.h"
#include "kernel/boot.h"

#define MULTIBOOT_MAGIC       0x1BADB002
#define MULTIBOOT_FLAG_ALIGN  (1 << 0)   /* page-align modules */
#define MULTIBOOT_FLAG_MEMORY (1 << 1)   /* want mem_* and mmap_* */
#define MULTIBOOT_FLAGS       (MULTIBOOT_FLAG_ALIGN | MULTIBOOT_FLAG_MEMORY)

/* Multiboot2 1.0 §3.1.1 "Multiboot2 header layout" (8-byte aligned, first 32 KiB), §3.1.3 tags */
#define MULTIBOOT2_MAGIC      0xE85250D6
#define MULTIBOOT2_ARCH_I386  0          /* 32-bit protected mode of i386 */
#define MULTIBOOT2_TAG_END    0

#define XEN_ELFNOTE_PHYS32_ENTRY 18

#define CR0_PE    (1 << 0)
#define CR0_PG    (1 << 31)
#define CR4_PAE   (1 << 5)
#define MSR_EFER  0xC0000080
#define EFER_LME  (1 << 8)
#define PTE_P     (1 << 0)
#define PTE_W     (1 << 1)
#define PTE_PS    (1 << 7)

#define SEL_CODE64 0x08
#define SEL_DATA   0x10

#define STACK_SIZE 65536

	.macro LOAD_DATA_SEGMENTS
	movw $SEL_DATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorw %ax, %ax
	movw %ax, %fs
	movw %ax, %gs
	.endm

	.section .multiboot, "a"
	.align 4
multiboot_header:
	.long MULTIBOOT_MAGIC
	.long MULTIBOOT_FLAGS
	.long -(MULTIBOOT_MAGIC + MULTIBOOT_FLAGS)

	/* No request tags: GRUB passes the command line, memory map and RSDP tags unasked; the
	 * kernel is loaded from its ELF program headers, entered at e_entry (multiboot_entry). */
	.align 8
multiboot2_header:
	.long MULTIBOOT2_MAGIC
	.long MULTIBOOT2_ARCH_I386
	.long multiboot2_header_end - multiboot2_header
	.long -(MULTIBOOT2_MAGIC + MULTIBOOT2_ARCH_I386 + (multiboot2_header_end - multiboot2_header))
	.align 8
	.word MULTIBOOT2_TAG_END         /* type */
	.word 0                          /* flags */
	.long 8                          /* size */
multiboot2_header_end:

	.section .kvmio_header, "a"
	.align 8
	.quad KVMIO_IMAGE_MAGIC
	.long KVMIO_IMAGE_VERSION
	.long 48                        /* sizeof(struct kvmio_image_header) */
	.quad _kernel_start
	.quad _load_end
	.quad _kernel_end
	.quad entry64

	.section .note.Xen, "a", @note
	.align 4
	.long 4                         /* name size: "Xen\0" */
	.long 4                         /* descriptor size */
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.align 4
	.long pvh_entry

	.section .text.entry, "ax"
	.code32
	.global multiboot_entry
multiboot_entry:
	cli
	movl $BOOT_MULTIBOOT, boot_path32
	movl %eax, boot_magic32
	movl %ebx, boot_arg32
	jmp start32

	.global pvh_entry
pvh_entry:
	cli
	movl $BOOT_PVH, boot_path32
	movl $0, boot_magic32
	movl %ebx, boot_arg32
	jmp start32

start32:
	lgdt gdt_pointer
	/* PML4[0] -> PDPT, PDPT[0..3] -> four page directories of 2 MiB pages. */
	movl $boot_pdpt, %eax
	orl $(PTE_P | PTE_W), %eax
	movl %eax, boot_pml4
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $12, %eax
	addl $boot_pd, %eax
	orl $(PTE_P | PTE_W), %eax
	movl %eax, boot_pdpt(,%ecx,8)
	incl %ecx
	cmpl $4, %ecx
	jne 1b
	xorl %ecx, %ecx
2:	movl %ecx, %eax
	shll $21, %eax
	orl $(PTE_P | PTE_W | PTE_PS), %eax
	movl %eax, boot_pd(,%ecx,8)
	movl %ecx, %eax
	shrl $11, %eax                  /* high dword: bits 32.. of (ecx << 21) */
	movl %eax, boot_pd+4(,%ecx,8)
	incl %ecx
	cmpl $2048, %ecx
	jne 2b

	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE), %eax
	movl %eax, %cr0
	ljmp $SEL_CODE64, $start64

	.code64
start64:
	LOAD_DATA_SEGMENTS
	leaq stack_top(%rip), %rsp
	xorl %ebp, %ebp
	movl boot_path32(%rip), %edi
	movl boot_magic32(%rip), %esi
	movl boot_arg32(%rip), %edx
	call boot_from_32
	jmp halt_forever

	.global entry64
entry64:
	cli
	lgdt gdt_pointer64(%rip)
	leaq stack_top(%rip), %rsp
	pushq $SEL_CODE64
	leaq 1f(%rip), %rax
	pushq %rax
	lretq
1:	LOAD_DATA_SEGMENTS
	xorl %ebp, %ebp
	call kernel_main                /* RDI = boot_info, untouched */
halt_forever:
	cli
	hlt
	jmp halt_forever

	.section .rodata
	.align 16
gdt:
	.quad 0                         /* null */
	.quad 0x00af9a000000ffff        /* 0x08: 64-bit code, DPL 0 (SDM 3A §3.4.5, L=1) */
	.quad 0x00cf92000000ffff        /* 0x10: flat data */
gdt_end:
gdt_pointer:
	.word gdt_end - gdt - 1
	.long gdt
gdt_pointer64:
	.word gdt_end - gdt - 1
	.quad gdt

	.section .data
	.align 4
boot_path32:  .long 0
boot_magic32: .long 0
boot_arg32:   .long 0

	.section .bss
	.align 4096
boot_pml4: .skip 4096
boot_pdpt: .skip 4096
boot_pd:   .skip 4096 * 4
	.align 16
	.global stack_bottom
stack_bottom:
	.skip STACK_SIZE
	.global stack_top
stack_top:

	.section .note.GNU-stack, "", @progbits
