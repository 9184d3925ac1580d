/*
 * Coroutines. This file is the one platform shim: the CPU-specific stack layout for the assembly
 * switch, the ucontext fallback, and AddressSanitizer's fiber annotations (without them ASan
 * mistakes a switched stack for a corrupted one).
 */
#include "coro.h"

#include <cadre/base.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define CORO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORO_ASAN 1
#endif
#endif
#ifdef CORO_ASAN
#include <sanitizer/common_interface_defs.h>
#endif

#if CADRE_CORO_ASM
void cadre__ctx_switch(void **save_sp, void *load_sp);
void cadre__ctx_trampoline(void);
#else
#include <ucontext.h>
struct uctx_pair {
    ucontext_t co, caller;
};
#endif

static size_t page_size(void)
{
    static size_t ps;
    if (!ps)
        ps = (size_t)sysconf(_SC_PAGESIZE);
    return ps;
}

int cadre__coro_init(cadre__coro *co, size_t stack_size)
{
    memset(co, 0, sizeof *co);
    size_t ps = page_size();
#ifdef CORO_ASAN
    stack_size *= 2; /* instrumented frames are larger */
#endif
    stack_size = (stack_size + ps - 1) & ~(ps - 1);
    size_t map = stack_size + ps;
    char *m = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (m == MAP_FAILED)
        return CADRE_ENOMEM;
    if (mprotect(m, ps, PROT_NONE) != 0) {
        munmap(m, map);
        return CADRE_ENOMEM;
    }
    co->stack = m;
    co->map_size = map;
    co->stack_size = stack_size;
    co->done = true;
#if !CADRE_CORO_ASM
    co->uctx = calloc(1, sizeof(struct uctx_pair));
    if (!co->uctx) {
        munmap(m, map);
        return CADRE_ENOMEM;
    }
#endif
    return 0;
}

void cadre__coro_destroy(cadre__coro *co)
{
    if (co->stack)
        munmap(co->stack, co->map_size);
    free(co->uctx);
    co->stack = NULL;
    co->uctx = NULL;
}

static void coro_main(void *arg)
{
    cadre__coro *co = arg;
#ifdef CORO_ASAN
    __sanitizer_finish_switch_fiber(NULL, &co->asan_caller_bottom, &co->asan_caller_size);
#endif
    co->fn(co->arg);
    co->done = true;
#ifdef CORO_ASAN
    /* NULL: this fiber's fake stack is dead for good. */
    __sanitizer_start_switch_fiber(NULL, co->asan_caller_bottom, co->asan_caller_size);
#endif
#if CADRE_CORO_ASM
    cadre__ctx_switch(&co->sp, co->caller_sp);
#else
    /* returning from the ucontext entry resumes uc_link, the caller */
#endif
}

#if !CADRE_CORO_ASM
static void uctx_entry(unsigned hi, unsigned lo)
{
    coro_main((void *)(((uintptr_t)hi << 32) | (uintptr_t)lo));
}
#endif

void cadre__coro_start(cadre__coro *co, cadre__coro_fn fn, void *arg)
{
    co->fn = fn;
    co->arg = arg;
    co->done = false;
    char *top = co->stack + co->map_size;
    top = (char *)((uintptr_t)top & ~(uintptr_t)15);
#if CADRE_CORO_ASM && defined(__x86_64__)
    /* After the six pops and `ret` in cadre__ctx_switch: rsp == top (16-aligned), in the
     * trampoline with r12 = co and r13 = coro_main; its `call` then aligns the callee. */
    void **sp = (void **)top;
    sp[-1] = (void *)cadre__ctx_trampoline; /* return address */
    sp[-2] = NULL;                          /* rbp */
    sp[-3] = NULL;                          /* rbx */
    sp[-4] = co;                            /* r12 */
    sp[-5] = (void *)coro_main;             /* r13 */
    sp[-6] = NULL;                          /* r14 */
    sp[-7] = NULL;                          /* r15 */
    co->sp = sp - 7;
#elif CADRE_CORO_ASM && defined(__aarch64__)
    /* The 176-byte frame restored by cadre__ctx_switch: x19 = co, x20 = coro_main,
     * x30 (return address) = trampoline; sp ends at top. */
    void **sp = (void **)(top - 176);
    memset(sp, 0, 176);
    sp[0] = co;                             /* x19 */
    sp[1] = (void *)coro_main;              /* x20 */
    sp[11] = (void *)cadre__ctx_trampoline; /* x30 */
    co->sp = sp;
#elif CADRE_CORO_ASM
#error "CADRE_CORO_ASM is set for an unsupported CPU; build with -Dcoro=ucontext"
#else
    struct uctx_pair *u = co->uctx;
    getcontext(&u->co);
    u->co.uc_stack.ss_sp = co->stack + (co->map_size - co->stack_size);
    u->co.uc_stack.ss_size = co->stack_size;
    u->co.uc_link = &u->caller;
    uintptr_t p = (uintptr_t)co;
    makecontext(&u->co, (void (*)(void))uctx_entry, 2, (unsigned)(p >> 32), (unsigned)p);
#endif
}

bool cadre__coro_resume(cadre__coro *co)
{
#ifdef CORO_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, co->stack + (co->map_size - co->stack_size),
                                   co->stack_size);
#endif
#if CADRE_CORO_ASM
    cadre__ctx_switch(&co->caller_sp, co->sp);
#else
    struct uctx_pair *u = co->uctx;
    swapcontext(&u->caller, &u->co);
#endif
#ifdef CORO_ASAN
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
    return co->done;
}

void cadre__coro_yield(cadre__coro *co)
{
#ifdef CORO_ASAN
    __sanitizer_start_switch_fiber(&co->asan_fake, co->asan_caller_bottom, co->asan_caller_size);
#endif
#if CADRE_CORO_ASM
    cadre__ctx_switch(&co->sp, co->caller_sp);
#else
    struct uctx_pair *u = co->uctx;
    swapcontext(&u->co, &u->caller);
#endif
#ifdef CORO_ASAN
    __sanitizer_finish_switch_fiber(co->asan_fake, &co->asan_caller_bottom, &co->asan_caller_size);
#endif
}
