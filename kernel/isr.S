/*
 * One stub per vector. The CPU pushes an error code only for some exceptions (Intel SDM
 * Vol. 3A §6.13); the others push a zero so every frame looks alike: struct int_frame.
 */
	.altmacro
	.macro ISR vec
	.align 16
isr_\vec:
	.if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	pushq $0
	.endif
	pushq $\vec
	jmp isr_common
	.endm

	.text
isr_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	cld
	call interrupt_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp          /* vector and error code */
	iretq

	.set vec, 0
	.rept 256
	ISR %vec
	.set vec, vec + 1
	.endr

	.macro ISR_ENTRY vec
	.quad isr_\vec
	.endm

	.section .rodata
	.align 8
	.global isr_table
isr_table:
	.set vec, 0
	.rept 256
	ISR_ENTRY %vec
	.set vec, vec + 1
	.endr

	.section .note.GNU-stack, "", @progbits
