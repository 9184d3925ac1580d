/*
 * The coroutine switch on another CPU: built with a cross compiler and run under qemu-user by
 * tests/cross/run (e.g. aarch64), since CI machines are x86-64. Exit status 0 = passed.
 */
#include "http/coro.h"

#include <stdio.h>
#include <string.h>

static int counter;

static double __attribute__((noinline)) scale(double x)
{
    return x * 1.5;
}

static void body(void *arg)
{
    cadre__coro *co = arg;
    for (int i = 0; i < 1000; i++) {
        volatile double d = scale((double)i);
        char big[4096];
        memset(big, i & 0x7f, sizeof big);
        counter++;
        cadre__coro_yield(co);
        if (d != i * 1.5 || big[100] != (char)(i & 0x7f)) {
            printf("corrupted after switch %d\n", i);
            return;
        }
    }
}

int main(void)
{
    cadre__coro co;
    if (cadre__coro_init(&co, 65536) != 0)
        return 1;
    for (int round = 0; round < 3; round++) {
        cadre__coro_start(&co, body, &co);
        volatile double keep = 3.25 * round; /* callee-saved FP registers must survive */
        int n = 0;
        while (!cadre__coro_resume(&co)) {
            n++;
            if (keep != 3.25 * round) {
                puts("caller's floating-point state clobbered");
                return 1;
            }
        }
        if (n != 1000) {
            printf("expected 1000 resumes, got %d\n", n);
            return 1;
        }
    }
    cadre__coro_destroy(&co);
    printf("coroutine switch ok: %d switches\n", counter);
    return counter == 3000 ? 0 : 1;
}
