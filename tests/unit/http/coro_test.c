/* Coroutines: the context switch keeps registers and stacks apart, stacks are reused, and the
 * guard page below a stack turns an overflow into a fault instead of silent corruption. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http/coro.h"

#include <cadre/base.h>

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct ctx {
    cadre__coro *co;
    int steps;
    int yields;
    bool corrupt;
};

static double __attribute__((noinline)) scale(double x)
{
    return x * 1.5;
}

static void stepper(void *arg)
{
    struct ctx *c = arg;
    for (int i = 0; i < c->steps; i++) {
        volatile double d = scale((double)i);
        char local[2048];
        memset(local, i & 0x7f, sizeof local);
        c->yields++;
        cadre__coro_yield(c->co);
        if (d != i * 1.5 || local[1000] != (char)(i & 0x7f))
            c->corrupt = true;
    }
}

static void test_resume_yield(void **state)
{
    (void)state;
    cadre__coro co;
    assert_int_equal(cadre__coro_init(&co, 64 * 1024), 0);
    for (int round = 0; round < 3; round++) { /* the same stack, started again */
        struct ctx c = { .co = &co, .steps = 500 };
        cadre__coro_start(&co, stepper, &c);
        volatile double keep = 3.25 * round; /* live across switches in the caller */
        int resumes = 0;
        while (!cadre__coro_resume(&co)) {
            resumes++;
            assert_true(keep == 3.25 * round);
            assert_true(resumes <= 500);
        }
        assert_int_equal(resumes, 500);
        assert_int_equal(c.yields, 500);
        assert_false(c.corrupt);
    }
    cadre__coro_destroy(&co);
}

static void nothing(void *arg)
{
    *(int *)arg = 42;
}

static void test_finishes_without_yield(void **state)
{
    (void)state;
    cadre__coro co;
    int v = 0;
    assert_int_equal(cadre__coro_init(&co, 16 * 1024), 0);
    cadre__coro_start(&co, nothing, &v);
    assert_true(cadre__coro_resume(&co));
    assert_int_equal(v, 42);
    cadre__coro_destroy(&co);
}

struct pair {
    cadre__coro a, b;
    int trace[8];
    int n;
};

static void inner(void *arg)
{
    struct pair *p = arg;
    p->trace[p->n++] = 2;
    cadre__coro_yield(&p->b);
    p->trace[p->n++] = 4;
}

static void outer(void *arg)
{
    struct pair *p = arg;
    p->trace[p->n++] = 1;
    cadre__coro_start(&p->b, inner, p);
    assert_false(cadre__coro_resume(&p->b)); /* a coroutine resuming another */
    p->trace[p->n++] = 3;
    assert_true(cadre__coro_resume(&p->b));
    p->trace[p->n++] = 5;
}

static void test_nested(void **state)
{
    (void)state;
    struct pair p = { .n = 0 };
    assert_int_equal(cadre__coro_init(&p.a, 64 * 1024), 0);
    assert_int_equal(cadre__coro_init(&p.b, 64 * 1024), 0);
    cadre__coro_start(&p.a, outer, &p);
    assert_true(cadre__coro_resume(&p.a));
    assert_int_equal(p.n, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(p.trace[i], i + 1);
    cadre__coro_destroy(&p.a);
    cadre__coro_destroy(&p.b);
}

static void __attribute__((noinline)) recurse(volatile char *prev, int depth)
{
    volatile char frame[1024];
    frame[0] = (char)depth;
    frame[1023] = prev ? prev[0] : 0;
    if (depth > 0)
        recurse(frame, depth - 1);
}

static void overflow(void *arg)
{
    (void)arg;
    recurse(NULL, 1 << 20); /* far more than the stack: must hit the guard page */
}

static void test_guard_page(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        cadre__coro co;
        if (cadre__coro_init(&co, 32 * 1024) != 0)
            _exit(2);
        cadre__coro_start(&co, overflow, NULL);
        cadre__coro_resume(&co);
        _exit(0); /* reaching here means the overflow went unnoticed */
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    /* ASan reports the overflow itself and exits non-zero; without it, SIGSEGV */
    assert_true(WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resume_yield),
        cmocka_unit_test(test_finishes_without_yield),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_guard_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
