/*
 * Coroutines: a stack and a saved context. The context switch is a few instructions of
 * hand-written assembly on x86-64 and aarch64 (coro_<cpu>.S), ucontext elsewhere. Stacks are
 * mmap'd with a PROT_NONE guard page below, so an overflow faults instead of corrupting memory;
 * only the pages a coroutine touches become resident.
 */
#ifndef CADRE_HTTP_CORO_H
#define CADRE_HTTP_CORO_H

#include <stdbool.h>
#include <stddef.h>

typedef struct cadre__coro cadre__coro;
typedef void (*cadre__coro_fn)(void *arg);

struct cadre__coro {
    void *sp;        /* saved stack pointer of the coroutine while it is not running */
    void *caller_sp; /* saved stack pointer of whoever resumed it */
    char *stack;     /* mapping: guard page + stack */
    size_t stack_size; /* usable bytes above the guard page */
    size_t map_size;
    cadre__coro_fn fn;
    void *arg;
    bool done;
    void *uctx; /* ucontext fallback state, or NULL */
    /* AddressSanitizer's view of the stacks (see coro.c); unused otherwise */
    void *asan_fake;
    const void *asan_caller_bottom;
    size_t asan_caller_size;
};

/** Maps the stack. Returns 0 or CADRE_ENOMEM. */
int cadre__coro_init(cadre__coro *co, size_t stack_size);

/** Unmaps the stack. The coroutine must not be suspended mid-function. */
void cadre__coro_destroy(cadre__coro *co);

/** Prepares the coroutine to run fn(arg) from the top of its stack at the next resume. */
void cadre__coro_start(cadre__coro *co, cadre__coro_fn fn, void *arg);

/** Runs the coroutine until it yields or fn returns. Returns true when fn has returned. */
bool cadre__coro_resume(cadre__coro *co);

/** From inside the coroutine: back to the caller of cadre__coro_resume. */
void cadre__coro_yield(cadre__coro *co);

#endif
