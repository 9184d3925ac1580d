/*
 * x86-64 System V context switch.
 *   void cadre__ctx_switch(void **save_sp, void *load_sp)
 * Saves the callee-saved registers on the current stack, stores the stack pointer in *save_sp,
 * switches to load_sp and restores the registers saved there. A new coroutine's stack is laid
 * out by coro.c so that the first switch "returns" into cadre__ctx_trampoline with r12 = argument
 * and r13 = entry function.
 */
    .text
    .globl  cadre__ctx_switch
    .hidden cadre__ctx_switch
    .type   cadre__ctx_switch, @function
cadre__ctx_switch:
    pushq   %rbp
    pushq   %rbx
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    movq    %rsp, (%rdi)
    movq    %rsi, %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    ret
    .size   cadre__ctx_switch, .-cadre__ctx_switch

    .globl  cadre__ctx_trampoline
    .hidden cadre__ctx_trampoline
    .type   cadre__ctx_trampoline, @function
cadre__ctx_trampoline:
    movq    %r12, %rdi
    callq   *%r13
    ud2                     /* the entry function never returns: it switches away */
    .size   cadre__ctx_trampoline, .-cadre__ctx_trampoline

    .section .note.GNU-stack, "", @progbits
