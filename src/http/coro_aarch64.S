/*
 * AArch64 (AAPCS64) context switch.
 *   void cadre__ctx_switch(void **save_sp, void *load_sp)
 * Saves x19-x30 and d8-d15 in a 176-byte frame on the current stack, stores sp in *save_sp,
 * switches to load_sp and restores the frame found there. A new coroutine's frame is laid out by
 * coro.c so that the first switch returns into cadre__ctx_trampoline with x19 = argument and
 * x20 = entry function.
 */
    .text
    .globl  cadre__ctx_switch
    .hidden cadre__ctx_switch
    .type   cadre__ctx_switch, %function
cadre__ctx_switch:
    sub     sp, sp, #176
    stp     x19, x20, [sp, #0]
    stp     x21, x22, [sp, #16]
    stp     x23, x24, [sp, #32]
    stp     x25, x26, [sp, #48]
    stp     x27, x28, [sp, #64]
    stp     x29, x30, [sp, #80]
    stp     d8, d9, [sp, #96]
    stp     d10, d11, [sp, #112]
    stp     d12, d13, [sp, #128]
    stp     d14, d15, [sp, #144]
    mov     x9, sp
    str     x9, [x0]
    mov     sp, x1
    ldp     x19, x20, [sp, #0]
    ldp     x21, x22, [sp, #16]
    ldp     x23, x24, [sp, #32]
    ldp     x25, x26, [sp, #48]
    ldp     x27, x28, [sp, #64]
    ldp     x29, x30, [sp, #80]
    ldp     d8, d9, [sp, #96]
    ldp     d10, d11, [sp, #112]
    ldp     d12, d13, [sp, #128]
    ldp     d14, d15, [sp, #144]
    add     sp, sp, #176
    ret
    .size   cadre__ctx_switch, .-cadre__ctx_switch

    .globl  cadre__ctx_trampoline
    .hidden cadre__ctx_trampoline
    .type   cadre__ctx_trampoline, %function
cadre__ctx_trampoline:
    mov     x0, x19
    blr     x20
    brk     #0              /* the entry function never returns: it switches away */
    .size   cadre__ctx_trampoline, .-cadre__ctx_trampoline

    .section .note.GNU-stack, "", %progbits
