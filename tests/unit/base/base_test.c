/*
 * Unit tests for the base module (include/cadre/base.h): error codes, slices, integer parsing, the
 * arena, the bounded buffer, growable arrays and CADRE_CONTAINER_OF, the text helpers, logging and
 * cadre_panic. Expectations come from the header.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cadre/base.h>

/* ---------------------------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------------------------- */

static void test_errors_every_code(void **state)
{
    int n = 0;
#define CHECK_CODE(name, code, msg)                                                                \
    assert_int_equal(CADRE_E##name, code);                                                         \
    assert_true(CADRE_E##name < 0);                                                                \
    assert_string_equal(cadre_strerror(CADRE_E##name), msg);                                       \
    assert_string_equal(cadre_errname(CADRE_E##name), "CADRE_E" #name);                           \
    n++;
    CADRE_ERRNO_MAP(CHECK_CODE)
#undef CHECK_CODE
    assert_int_equal(n, 19);
}

static void test_errors_unknown(void **state)
{
    static const int unknown[] = { -20, -999, 1, 42, INT_MIN, INT_MAX };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        assert_string_equal(cadre_strerror(unknown[i]), "unknown error");
        assert_string_equal(cadre_errname(unknown[i]), "CADRE_E?");
    }
    /* CADRE_OK is not an error code, but the answers are never NULL */
    assert_non_null(cadre_strerror(CADRE_OK));
    assert_non_null(cadre_errname(CADRE_OK));
}

/* ---------------------------------------------------------------------------------------------
 * Slices
 * ------------------------------------------------------------------------------------------- */

static cadre_slice sl(const char *p, size_t n) { return (cadre_slice){ p, n }; }

static void test_slice_cstr_and_lit(void **state)
{
    const char *s = "abc";
    cadre_slice a = cadre_slice_cstr(s);
    assert_ptr_equal(a.ptr, s);
    assert_int_equal(a.len, 3);
    cadre_slice e = cadre_slice_cstr("");
    assert_non_null(e.ptr);
    assert_int_equal(e.len, 0);
    cadre_slice n = cadre_slice_cstr(NULL);
    assert_null(n.ptr);
    assert_int_equal(n.len, 0);
    cadre_slice l = CADRE_LIT("hello");
    assert_int_equal(l.len, 5);
    assert_memory_equal(l.ptr, "hello", 5);
}

static void test_slice_eq(void **state)
{
    char x[] = "hello", y[] = "hello";
    assert_true(cadre_slice_eq(sl(x, 5), sl(y, 5))); /* same bytes, different memory */
    assert_true(cadre_slice_eq(sl(x, 3), sl(y, 3)));
    assert_false(cadre_slice_eq(sl(x, 5), sl(y, 4)));
    assert_false(cadre_slice_eq(sl("hello", 5), sl("hellO", 5)));
    assert_false(cadre_slice_eq(sl("hello", 5), sl("Hello", 5)));
    assert_true(cadre_slice_eq(sl("", 0), sl("x", 0)));
    assert_true(cadre_slice_eq(sl("a\0b", 3), sl("a\0b", 3)));
    assert_false(cadre_slice_eq(sl("a\0b", 3), sl("a\0c", 3)));
}

/* Comma-separated lists: items without their spaces, empty ones skipped. */
static void test_list_next(void **state)
{
    (void)state;
    const char *p = " name, price ,,id ,";
    cadre_slice item;
    const char *want[] = { "name", "price", "id" };
    for (size_t i = 0; i < 3; i++) {
        assert_true(cadre_list_next(&p, &item));
        assert_true(cadre_slice_eq_cstr(item, want[i]));
    }
    assert_false(cadre_list_next(&p, &item));
    assert_false(cadre_list_next(&p, &item));
    const char *none = NULL, *blank = " , ";
    assert_false(cadre_list_next(&none, &item));
    assert_false(cadre_list_next(&blank, &item));
    const char *one = "solo";
    assert_true(cadre_list_next(&one, &item));
    assert_int_equal(item.len, 4);
}

static void test_slice_ieq(void **state)
{
    assert_true(cadre_slice_ieq(CADRE_LIT("Content-Length"), CADRE_LIT("content-LENGTH")));
    assert_true(cadre_slice_ieq(CADRE_LIT("abcXYZ09-_"), CADRE_LIT("ABCxyz09-_")));
    assert_true(cadre_slice_ieq(sl("", 0), sl("", 0)));
    assert_false(cadre_slice_ieq(CADRE_LIT("abc"), CADRE_LIT("abd")));
    assert_false(cadre_slice_ieq(CADRE_LIT("abc"), CADRE_LIT("ab")));
    assert_false(cadre_slice_ieq(CADRE_LIT("ab"), CADRE_LIT("abc")));
    /* ASCII only: no "case" between @ and `, [ and {, ^ and ~, or Latin-1 letters */
    assert_false(cadre_slice_ieq(CADRE_LIT("@"), CADRE_LIT("`")));
    assert_false(cadre_slice_ieq(CADRE_LIT("["), CADRE_LIT("{")));
    assert_false(cadre_slice_ieq(CADRE_LIT("^"), CADRE_LIT("~")));
    assert_false(cadre_slice_ieq(CADRE_LIT("\xc4"), CADRE_LIT("\xe4")));
    assert_true(cadre_slice_ieq(CADRE_LIT("\xc4"), CADRE_LIT("\xc4")));
    assert_false(cadre_slice_ieq(sl("a\0b", 3), sl("a\0c", 3)));
    assert_true(cadre_slice_ieq(sl("A\0b", 3), sl("a\0B", 3)));
}

static void test_slice_eq_cstr(void **state)
{
    assert_true(cadre_slice_eq_cstr(sl("abcdef", 3), "abc"));
    assert_false(cadre_slice_eq_cstr(sl("abcdef", 3), "ab"));
    assert_false(cadre_slice_eq_cstr(sl("abcdef", 3), "abcd"));
    assert_false(cadre_slice_eq_cstr(sl("abc", 3), "ABC"));
    assert_true(cadre_slice_eq_cstr(sl("x", 0), ""));
    assert_false(cadre_slice_eq_cstr(sl("a", 1), ""));
    assert_false(cadre_slice_eq_cstr(sl("a\0b", 3), "a")); /* the slice's NUL is a byte */

    assert_true(cadre_slice_ieq_cstr(sl("HoSt: x", 4), "host"));
    assert_false(cadre_slice_ieq_cstr(sl("HoSt", 4), "hosts"));
    assert_false(cadre_slice_ieq_cstr(sl("HoSt", 4), "hos"));
    assert_false(cadre_slice_ieq_cstr(sl("@", 1), "`"));
    assert_true(cadre_slice_ieq_cstr(sl("", 0), ""));
}

/* ---------------------------------------------------------------------------------------------
 * cadre_slice_to_i64
 * ------------------------------------------------------------------------------------------- */

typedef struct irow {
    const char *s;
    size_t len;
    int rc_strict, rc_loose;
    int64_t value;
} irow;

#define IS(str) .s = (str), .len = sizeof(str) - 1
#define ALL(v) .rc_strict = 0, .rc_loose = 0, .value = (v)
#define NOPE(rc) .rc_strict = (rc), .rc_loose = (rc)

static const irow i64_rows[] = {
    { IS("0"), ALL(0) },
    { IS("1"), ALL(1) },
    { IS("-1"), ALL(-1) },
    { IS("42"), ALL(42) },
    { IS("1000000"), ALL(1000000) },
    { IS("9223372036854775807"), ALL(INT64_MAX) },
    { IS("-9223372036854775807"), ALL(-INT64_MAX) },
    { IS("-9223372036854775808"), ALL(INT64_MIN) },
    { IS("9223372036854775808"), NOPE(CADRE_ETOOBIG) },
    { IS("-9223372036854775809"), NOPE(CADRE_ETOOBIG) },
    { IS("9999999999999999999"), NOPE(CADRE_ETOOBIG) },
    { IS("-9999999999999999999"), NOPE(CADRE_ETOOBIG) },
    { IS(""), NOPE(CADRE_EPARSE) },
    { IS("-"), NOPE(CADRE_EPARSE) },
    { IS("+1"), NOPE(CADRE_EPARSE) },
    { IS("+"), NOPE(CADRE_EPARSE) },
    { IS(" 1"), NOPE(CADRE_EPARSE) },
    { IS("1 "), NOPE(CADRE_EPARSE) },
    { IS("- 1"), NOPE(CADRE_EPARSE) },
    { IS("--1"), NOPE(CADRE_EPARSE) },
    { IS("1-"), NOPE(CADRE_EPARSE) },
    { IS("12a"), NOPE(CADRE_EPARSE) },
    { IS("a"), NOPE(CADRE_EPARSE) },
    { IS("0x10"), NOPE(CADRE_EPARSE) },
    { IS("1.5"), NOPE(CADRE_EPARSE) },
    { IS("1e3"), NOPE(CADRE_EPARSE) },
    { IS("1\0"), NOPE(CADRE_EPARSE) },
    { IS("\t1"), NOPE(CADRE_EPARSE) },
    { IS("01"), .rc_strict = CADRE_EPARSE, .rc_loose = 0, .value = 1 },
    { IS("00"), .rc_strict = CADRE_EPARSE, .rc_loose = 0, .value = 0 },
    { IS("-01"), .rc_strict = CADRE_EPARSE, .rc_loose = 0, .value = -1 },
    { IS("0001234"), .rc_strict = CADRE_EPARSE, .rc_loose = 0, .value = 1234 },
};

static void test_to_i64_table(void **state)
{
    int bad = 0;
    for (size_t i = 0; i < sizeof i64_rows / sizeof i64_rows[0]; i++) {
        const irow *r = &i64_rows[i];
        for (int strict = 1; strict >= 0; strict--) {
            /* exact-size copy: the slice is not NUL-terminated */
            char *p = malloc(r->len ? r->len : 1);
            assert_non_null(p);
            memcpy(p, r->s, r->len);
            int64_t v = 12345;
            int rc = cadre_slice_to_i64(sl(p, r->len), strict, &v);
            int want = strict ? r->rc_strict : r->rc_loose;
            if (rc != want || (want == 0 && v != r->value)) {
                print_error("\"%.*s\" strict=%d: rc %d value %lld, want rc %d value %lld\n", (int)r->len,
                            r->s, strict, rc, (long long)v, want, (long long)r->value);
                bad++;
            }
            free(p);
        }
    }
    assert_int_equal(bad, 0);
}

static void test_to_i64_edges(void **state)
{
    int64_t v = 7;
    /* "-0": optional '-' then "0" itself; if accepted it is 0 */
    for (int strict = 0; strict <= 1; strict++) {
        int rc = cadre_slice_to_i64(CADRE_LIT("-0"), strict, &v);
        assert_true(rc == 0 || rc == CADRE_EPARSE);
        if (rc == 0)
            assert_int_equal(v, 0);
    }
    /* 20 digits: outside the grammar (1..19 digits) and out of range */
    int rc = cadre_slice_to_i64(CADRE_LIT("99999999999999999999"), true, &v);
    assert_true(rc == CADRE_ETOOBIG || rc == CADRE_EPARSE);
    rc = cadre_slice_to_i64(CADRE_LIT("18446744073709551617"), false, &v); /* 2^64 + 1 */
    assert_true(rc == CADRE_ETOOBIG || rc == CADRE_EPARSE);
    /* the slice's length is the whole number */
    assert_int_equal(cadre_slice_to_i64(sl("12345", 3), true, &v), 0);
    assert_int_equal(v, 123);
    assert_int_equal(cadre_slice_to_i64(sl("-12345", 1), true, &v), CADRE_EPARSE);
    /* the absent slice is not a number */
    assert_int_equal(cadre_slice_to_i64(sl(NULL, 0), true, &v), CADRE_EPARSE);
}

/* ---------------------------------------------------------------------------------------------
 * Arena
 * ------------------------------------------------------------------------------------------- */

static bool aligned16(const void *p) { return ((uintptr_t)p & 15) == 0; }

static void test_arena_many(void **state)
{
    enum { N = 20000 };
    cadre_arena a;
    cadre_arena_init(&a, 0);
    unsigned char **ptrs = calloc(N, sizeof *ptrs);
    size_t *sizes = calloc(N, sizeof *sizes);
    assert_non_null(ptrs);
    assert_non_null(sizes);
    for (size_t i = 0; i < N; i++) {
        sizes[i] = (i * 7) % 113 + 1;
        ptrs[i] = cadre_arena_alloc(&a, sizes[i]);
        assert_non_null(ptrs[i]);
        assert_true(aligned16(ptrs[i]));
        memset(ptrs[i], (int)(i & 0xff), sizes[i]);
    }
    /* no allocation overlaps another */
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < sizes[i]; k++)
            if (ptrs[i][k] != (unsigned char)(i & 0xff))
                fail_msg("allocation %zu byte %zu was overwritten", i, k);
    cadre_arena_free(&a);
    free(ptrs);
    free(sizes);
}

static void test_arena_large(void **state)
{
    cadre_arena a;
    cadre_arena_init(&a, 0); /* 8 KiB chunks */
    char *small = cadre_arena_alloc(&a, 10);
    memcpy(small, "0123456789", 10);
    char *big = cadre_arena_alloc(&a, 100000);
    assert_true(aligned16(big));
    memset(big, 'B', 100000);
    char *huge = cadre_arena_alloc(&a, 3u << 20);
    assert_true(aligned16(huge));
    memset(huge, 'H', 3u << 20);
    char *after = cadre_arena_alloc(&a, 32);
    assert_true(aligned16(after));
    memset(after, 'A', 32);
    assert_memory_equal(small, "0123456789", 10);
    for (size_t i = 0; i < 100000; i++)
        if (big[i] != 'B')
            fail_msg("big[%zu] overwritten", i);
    for (size_t i = 0; i < (3u << 20); i++)
        if (huge[i] != 'H')
            fail_msg("huge[%zu] overwritten", i);
    cadre_arena_free(&a);

    /* tiny chunks: every allocation is bigger than a chunk */
    cadre_arena_init(&a, 32);
    char *p[50];
    for (int i = 0; i < 50; i++) {
        p[i] = cadre_arena_alloc(&a, 100 + (size_t)i);
        assert_true(aligned16(p[i]));
        memset(p[i], 'a' + i % 26, 100 + (size_t)i);
    }
    for (int i = 0; i < 50; i++)
        for (int k = 0; k < 100 + i; k++)
            assert_int_equal(p[i][k], 'a' + i % 26);
    cadre_arena_free(&a);
}

static void test_arena_zero_size(void **state)
{
    cadre_arena a;
    cadre_arena_init(&a, 0);
    void *p = cadre_arena_alloc(&a, 0);
    assert_non_null(p);
    void *q = cadre_arena_alloc(&a, 1);
    assert_non_null(q);
    assert_true(aligned16(q));
    cadre_arena_free(&a);
}

static void test_arena_calloc_and_reset(void **state)
{
    cadre_arena a;
    cadre_arena_init(&a, 0);
    unsigned char *first = cadre_arena_alloc(&a, 16);
    memset(first, 0xFF, 16);
    for (int i = 0; i < 100; i++)
        memset(cadre_arena_alloc(&a, 1000), 0xFF, 1000); /* several chunks, all dirty */
    cadre_arena_reset(&a);

    /* reuse: the first chunk is kept, so the first allocation starts over at the same place */
    unsigned char *again = cadre_arena_alloc(&a, 16);
    assert_ptr_equal(again, first);
    unsigned char *z = cadre_arena_calloc(&a, 4096);
    assert_true(aligned16(z));
    for (int i = 0; i < 4096; i++)
        assert_int_equal(z[i], 0);
    unsigned char *zb = cadre_arena_calloc(&a, 50000);
    assert_true(aligned16(zb));
    for (int i = 0; i < 50000; i++)
        assert_int_equal(zb[i], 0);

    /* many reset cycles reuse memory without losing allocations */
    for (int round = 0; round < 50; round++) {
        char *ps[40];
        for (int i = 0; i < 40; i++) {
            ps[i] = cadre_arena_alloc(&a, 500);
            memset(ps[i], 'a' + (i + round) % 26, 500);
        }
        for (int i = 0; i < 40; i++)
            for (int k = 0; k < 500; k++)
                assert_int_equal(ps[i][k], 'a' + (i + round) % 26);
        cadre_arena_reset(&a);
    }
    cadre_arena_free(&a);

    /* usable again after free + init */
    cadre_arena_init(&a, 0);
    char *s = cadre_arena_strndup(&a, "again", 5);
    assert_string_equal(s, "again");
    cadre_arena_free(&a);
}

static void test_arena_strndup_printf(void **state)
{
    cadre_arena a;
    cadre_arena_init(&a, 0);
    char *s = cadre_arena_strndup(&a, "hello world", 5);
    assert_string_equal(s, "hello");
    char *e = cadre_arena_strndup(&a, "xyz", 0);
    assert_string_equal(e, "");
    char *nul = cadre_arena_strndup(&a, "a\0b", 3); /* copies n bytes, then adds a NUL */
    assert_memory_equal(nul, "a\0b", 3);
    assert_int_equal(nul[3], 0);
    const char src[4] = { 'w', 'x', 'y', 'z' }; /* not NUL-terminated */
    char *w = cadre_arena_strndup(&a, src, 4);
    assert_string_equal(w, "wxyz");

    char *f = cadre_arena_printf(&a, "%d-%s-%c", 42, "x", 'y');
    assert_string_equal(f, "42-x-y");
    char *fe = cadre_arena_printf(&a, "%s", "");
    assert_string_equal(fe, "");

    /* longer than a chunk */
    size_t n = 20000;
    char *big = malloc(n + 1);
    assert_non_null(big);
    memset(big, 'q', n);
    big[n] = 0;
    char *fb = cadre_arena_printf(&a, "<%s>", big);
    assert_int_equal(strlen(fb), n + 2);
    assert_int_equal(fb[0], '<');
    assert_int_equal(fb[n + 1], '>');
    assert_memory_equal(fb + 1, big, n);
    char *sb = cadre_arena_strndup(&a, big, n);
    assert_string_equal(sb, big);
    free(big);
    /* earlier results are intact */
    assert_string_equal(s, "hello");
    assert_string_equal(f, "42-x-y");
    cadre_arena_free(&a);
}

/* ---------------------------------------------------------------------------------------------
 * Bounded buffer
 * ------------------------------------------------------------------------------------------- */

static void test_buf_max(void **state)
{
    cadre_buf b;
    cadre_buf_init(&b, 10);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(cadre_buf_append(&b, "hello", 5), 0);
    assert_int_equal(b.len, 5);
    assert_int_equal(cadre_buf_append(&b, "world", 5), 0); /* exactly max */
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "helloworld", 10);
    assert_int_equal(cadre_buf_append(&b, "!", 1), CADRE_ETOOBIG);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "helloworld", 10);
    assert_int_equal(cadre_buf_append_str(&b, "!"), CADRE_ETOOBIG);
    assert_int_equal(cadre_buf_appendf(&b, "%d", 1), CADRE_ETOOBIG);
    assert_int_equal(cadre_buf_reserve(&b, 1), CADRE_ETOOBIG);
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "helloworld", 10);
    assert_int_equal(cadre_buf_append(&b, "", 0), 0);
    assert_int_equal(cadre_buf_append_str(&b, ""), 0);
    assert_int_equal(cadre_buf_reserve(&b, 0), 0);
    assert_int_equal(b.len, 10);
    cadre_buf_free(&b);

    /* a failing append that would only partly fit leaves the buffer unchanged */
    cadre_buf_init(&b, 10);
    assert_int_equal(cadre_buf_append_str(&b, "hello"), 0);
    assert_int_equal(cadre_buf_append(&b, "123456", 6), CADRE_ETOOBIG);
    assert_int_equal(b.len, 5);
    assert_memory_equal(b.data, "hello", 5);
    assert_int_equal(cadre_buf_appendf(&b, "%s", "123456"), CADRE_ETOOBIG);
    assert_int_equal(b.len, 5);
    assert_memory_equal(b.data, "hello", 5);
    assert_int_equal(cadre_buf_appendf(&b, "%s", "12345"), 0); /* exactly max */
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "hello12345", 10);
    cadre_buf_free(&b);

    /* overflowing sizes are refused, not wrapped */
    cadre_buf_init(&b, 10);
    assert_int_equal(cadre_buf_append_str(&b, "abcde"), 0);
    assert_int_equal(cadre_buf_reserve(&b, SIZE_MAX), CADRE_ETOOBIG);
    assert_int_equal(cadre_buf_reserve(&b, SIZE_MAX - 2), CADRE_ETOOBIG);
    assert_int_equal(b.len, 5);
    cadre_buf_free(&b);

    /* max 0: nothing fits */
    cadre_buf_init(&b, 0);
    assert_int_equal(cadre_buf_append(&b, "x", 1), CADRE_ETOOBIG);
    assert_int_equal(b.len, 0);
    cadre_buf_free(&b);
}

static void test_buf_consume_reset_free(void **state)
{
    cadre_buf b;
    cadre_buf_init(&b, 10);
    assert_int_equal(cadre_buf_append_str(&b, "helloworld"), 0);
    cadre_buf_consume(&b, 3);
    assert_int_equal(b.len, 7);
    assert_memory_equal(b.data, "loworld", 7);
    assert_int_equal(cadre_buf_append_str(&b, "abc"), 0); /* room again: max counts len */
    assert_int_equal(b.len, 10);
    assert_memory_equal(b.data, "loworldabc", 10);
    cadre_buf_consume(&b, 0);
    assert_int_equal(b.len, 10);
    cadre_buf_consume(&b, 10);
    assert_int_equal(b.len, 0);
    assert_int_equal(cadre_buf_append_str(&b, "0123456789"), 0);
    cadre_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(cadre_buf_append_str(&b, "xyz"), 0);
    assert_int_equal(b.len, 3);
    assert_memory_equal(b.data, "xyz", 3);
    cadre_buf_free(&b);
    assert_int_equal(b.len, 0);
    /* usable again, still bounded by the same max */
    assert_int_equal(cadre_buf_append_str(&b, "0123456789"), 0);
    assert_memory_equal(b.data, "0123456789", 10);
    assert_int_equal(cadre_buf_append_str(&b, "x"), CADRE_ETOOBIG);
    cadre_buf_free(&b);
    cadre_buf_free(&b); /* twice is harmless */
}

static void test_buf_appendf_and_growth(void **state)
{
    cadre_buf b;
    cadre_buf_init(&b, 1 << 20);
    assert_int_equal(cadre_buf_appendf(&b, "%d-%s", 12345, "x"), 0);
    assert_int_equal(b.len, 7);
    assert_memory_equal(b.data, "12345-x", 7);
    char big[5001];
    memset(big, 'z', 5000);
    big[5000] = 0;
    assert_int_equal(cadre_buf_appendf(&b, "[%s]", big), 0);
    assert_int_equal(b.len, 7 + 5002);
    assert_int_equal(b.data[7], '[');
    assert_memory_equal(b.data + 8, big, 5000);
    assert_int_equal(b.data[7 + 5001], ']');
    cadre_buf_reset(&b);
    for (int i = 0; i < 100000; i++) {
        char c = (char)('a' + i % 26);
        assert_int_equal(cadre_buf_append(&b, &c, 1), 0);
    }
    assert_int_equal(b.len, 100000);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(b.data[i], 'a' + i % 26);
    assert_int_equal(cadre_buf_reserve(&b, 1000), 0);
    assert_int_equal(b.len, 100000); /* reserving adds no bytes */
    cadre_buf_consume(&b, 99990);
    assert_int_equal(b.len, 10);
    assert_int_equal(b.data[0], 'a' + 99990 % 26);
    cadre_buf_free(&b);
}

/* ---------------------------------------------------------------------------------------------
 * Logging
 * ------------------------------------------------------------------------------------------- */

static int log_pipe[2];

static int log_setup(void **state)
{
    if (pipe(log_pipe) != 0)
        return -1;
    fcntl(log_pipe[0], F_SETFL, O_NONBLOCK);
    return 0;
}

static int log_teardown(void **state)
{
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, 2);
    close(log_pipe[0]);
    close(log_pipe[1]);
    return 0;
}

/* Everything written to the pipe so far, NUL-terminated (static). */
static const char *log_read(size_t *n_out)
{
    static char buf[65536];
    size_t n = 0;
    for (;;) {
        ssize_t r = read(log_pipe[0], buf + n, sizeof buf - 1 - n);
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    buf[n] = 0;
    if (n_out)
        *n_out = n;
    return buf;
}

static int count_char(const char *s, char c)
{
    int n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

static void test_log_level_parse(void **state)
{
    cadre_log_level l;
    assert_int_equal(cadre_log_level_parse("debug", &l), 0);
    assert_int_equal(l, CADRE_LOG_DEBUG);
    assert_int_equal(cadre_log_level_parse("info", &l), 0);
    assert_int_equal(l, CADRE_LOG_INFO);
    assert_int_equal(cadre_log_level_parse("warn", &l), 0);
    assert_int_equal(l, CADRE_LOG_WARN);
    assert_int_equal(cadre_log_level_parse("error", &l), 0);
    assert_int_equal(l, CADRE_LOG_ERROR);
    assert_int_equal(cadre_log_level_parse("off", &l), 0);
    assert_int_equal(l, CADRE_LOG_OFF);
    assert_int_equal(cadre_log_level_parse("verbose", &l), CADRE_EINVAL);
    assert_int_equal(cadre_log_level_parse("", &l), CADRE_EINVAL);
    assert_int_equal(cadre_log_level_parse("infoo", &l), CADRE_EINVAL);
}

static void test_log_levels(void **state)
{
    cadre_log_configure(CADRE_LOG_WARN, CADRE_LOG_PLAIN, log_pipe[1]);
    assert_false(cadre_log_enabled(CADRE_LOG_DEBUG));
    assert_false(cadre_log_enabled(CADRE_LOG_INFO));
    assert_true(cadre_log_enabled(CADRE_LOG_WARN));
    assert_true(cadre_log_enabled(CADRE_LOG_ERROR));
    cadre_log(CADRE_LOG_INFO, "hidden");
    size_t n;
    log_read(&n);
    assert_int_equal(n, 0);
    cadre_log(CADRE_LOG_ERROR, "shown %d", 1);
    const char *out = log_read(&n);
    assert_non_null(strstr(out, "shown 1"));
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, log_pipe[1]);
    assert_false(cadre_log_enabled(CADRE_LOG_ERROR));
    cadre_log(CADRE_LOG_ERROR, "off");
    log_read(&n);
    assert_int_equal(n, 0);
}

static void test_log_plain(void **state)
{
    cadre_log_configure(CADRE_LOG_DEBUG, CADRE_LOG_PLAIN, log_pipe[1]);
    cadre_log(CADRE_LOG_INFO, "hello %d", 5);
    const char *out = log_read(NULL);
    /* "2026-11-26T14:00:00.123Z INFO message" */
    assert_true(strlen(out) > 25);
    assert_int_equal(out[4], '-');
    assert_int_equal(out[10], 'T');
    if (!strstr(out, "Z INFO hello 5\n"))
        fail_msg("plain record \"%s\"", out);
    assert_int_equal(count_char(out, '\n'), 1);
    assert_int_equal(out[strlen(out) - 1], '\n');

    static const char *const fields[] = { "method", "GET", "path", "/x", NULL };
    cadre_log_fields(CADRE_LOG_WARN, "req", fields);
    out = log_read(NULL);
    assert_non_null(strstr(out, "WARN req"));
    assert_non_null(strstr(out, "method=GET"));
    assert_non_null(strstr(out, "path=/x"));
    assert_int_equal(count_char(out, '\n'), 1);
}

static void test_log_json(void **state)
{
    cadre_log_configure(CADRE_LOG_DEBUG, CADRE_LOG_JSON, log_pipe[1]);
    cadre_log(CADRE_LOG_INFO, "hello %d", 5);
    const char *out = log_read(NULL);
    if (strncmp(out, "{\"ts\":\"", 7) != 0 || !strstr(out, "\"level\":\"info\"") ||
        !strstr(out, "\"msg\":\"hello 5\"") || strcmp(out + strlen(out) - 2, "}\n") != 0)
        fail_msg("JSON record \"%s\"", out);

    /* the message is escaped: one object on one line */
    cadre_log(CADRE_LOG_ERROR, "say \"hi\" back\\slash\nline2");
    out = log_read(NULL);
    assert_non_null(strstr(out, "\"level\":\"error\""));
    if (!strstr(out, "\"msg\":\"say \\\"hi\\\" back\\\\slash\\") || !strstr(out, "line2\""))
        fail_msg("JSON escaping: \"%s\"", out);
    assert_int_equal(count_char(out, '\n'), 1);

    static const char *const fields[] = { "method", "GET", "q", "a\"b", NULL };
    cadre_log_fields(CADRE_LOG_INFO, "req", fields);
    out = log_read(NULL);
    assert_non_null(strstr(out, "\"msg\":\"req\""));
    assert_non_null(strstr(out, "\"method\":\"GET\""));
    assert_non_null(strstr(out, "\"q\":\"a\\\"b\""));
    assert_int_equal(count_char(out, '\n'), 1);

    /* the thread's request id, in every record until cleared; once when the fields say it */
    cadre_log_request_id("0123456789abcdef0123");
    cadre_log(CADRE_LOG_WARN, "in a request");
    out = log_read(NULL);
    if (!strstr(out, "\"msg\":\"in a request\",\"request_id\":\"0123456789abcdef0123\"}"))
        fail_msg("JSON record with its request id \"%s\"", out);
    static const char *const own[] = { "request_id", "0123456789abcdef0123", NULL };
    cadre_log_fields(CADRE_LOG_INFO, "req", own);
    out = log_read(NULL);
    assert_non_null(strstr(out, "request_id"));
    assert_null(strstr(strstr(out, "request_id") + 1, "request_id"));
    cadre_log_configure(CADRE_LOG_DEBUG, CADRE_LOG_PLAIN, log_pipe[1]);
    cadre_log(CADRE_LOG_WARN, "plain");
    out = log_read(NULL);
    assert_non_null(strstr(out, "WARN plain request_id=0123456789abcdef0123\n"));
    cadre_log_request_id(NULL);
    cadre_log(CADRE_LOG_WARN, "outside");
    out = log_read(NULL);
    assert_null(strstr(out, "request_id"));
}

static void test_log_long_message_cut(void **state)
{
    char *big = malloc(10001);
    assert_non_null(big);
    memset(big, 'm', 10000);
    big[10000] = 0;
    for (int fmt = 0; fmt <= 1; fmt++) {
        cadre_log_configure(CADRE_LOG_DEBUG, fmt ? CADRE_LOG_JSON : CADRE_LOG_PLAIN, log_pipe[1]);
        cadre_log(CADRE_LOG_INFO, "%s", big);
        size_t n;
        const char *out = log_read(&n);
        assert_true(n > 4000);
        assert_true(n <= 4096 + 256); /* cut near 4 KiB, plus the record's own fields */
        assert_int_equal(count_char(out, '\n'), 1);
        assert_int_equal(out[n - 1], '\n');
        if (fmt)
            assert_int_equal(out[n - 2], '}');
    }
    free(big);
}

/* ---------------------------------------------------------------------------------------------
 * Growable arrays and CADRE_CONTAINER_OF
 * ------------------------------------------------------------------------------------------- */

struct point {
    int x, y;
    char tag[12];
};

/* Heap-backed: elements keep their values across growth, capacity doubles from 8, free empties. */
static void test_vec_growth(void **state)
{
    CADRE_VEC(int) v = { 0 };
    assert_null(v.items);
    size_t caps[16], ncaps = 0;
    for (int i = 0; i < 1000; i++) {
        int *slot = CADRE_VEC_PUSH(&v, NULL, 0);
        assert_non_null(slot);
        assert_int_equal(*slot, 0);
        assert_ptr_equal(slot, &v.items[i]);
        *slot = i * 3;
        assert_int_equal(v.len, (size_t)i + 1);
        assert_true(v.cap >= v.len);
        if (ncaps == 0 || caps[ncaps - 1] != v.cap)
            caps[ncaps++] = v.cap;
    }
    for (int i = 0; i < 1000; i++)
        assert_int_equal(v.items[i], i * 3);
    assert_int_equal(ncaps, 8); /* 8, 16, …, 1024 */
    for (size_t i = 0; i < ncaps; i++)
        assert_int_equal(caps[i], (size_t)8 << i);
    CADRE_VEC_FREE(&v);
    assert_null(v.items);
    assert_int_equal(v.len, 0);
    assert_int_equal(v.cap, 0);
    /* usable again after the free */
    int *again = CADRE_VEC_PUSH(&v, NULL, 0);
    assert_non_null(again);
    assert_int_equal(v.len, 1);
    CADRE_VEC_FREE(&v);
}

/* Every pushed element is zero-filled, also one that reuses a slot dropped by lowering len. */
static void test_vec_zeroing(void **state)
{
    CADRE_VEC(struct point) v = { 0 };
    for (int i = 0; i < 20; i++) {
        struct point *p = CADRE_VEC_PUSH(&v, NULL, 0);
        assert_non_null(p);
        assert_int_equal(p->x, 0);
        assert_int_equal(p->y, 0);
        for (size_t k = 0; k < sizeof p->tag; k++)
            assert_int_equal(p->tag[k], 0);
        *p = (struct point){ i, -i, "dirty dirty" };
    }
    v.len = 3; /* drop the rest: their memory is dirty */
    struct point *p = CADRE_VEC_PUSH(&v, NULL, 0);
    assert_ptr_equal(p, &v.items[3]);
    assert_int_equal(p->x, 0);
    assert_int_equal(p->y, 0);
    assert_int_equal(p->tag[0], 0);
    assert_int_equal(v.items[2].x, 2);
    assert_string_equal(v.items[2].tag, "dirty dirty");
    CADRE_VEC_FREE(&v);
}

/* The maximum: pushing past it gives NULL and leaves the array as it was (the out-of-memory path
 * of a bounded array), and the capacity never exceeds it. */
static void test_vec_max(void **state)
{
    CADRE_VEC(long) v = { 0 };
    for (long i = 0; i < 5; i++) {
        long *slot = CADRE_VEC_PUSH(&v, NULL, 5);
        assert_non_null(slot);
        *slot = i;
        assert_true(v.cap <= 5);
    }
    long *before = v.items;
    assert_null(CADRE_VEC_PUSH(&v, NULL, 5));
    assert_null(CADRE_VEC_PUSH(&v, NULL, 5));
    assert_ptr_equal(v.items, before);
    assert_int_equal(v.len, 5);
    assert_int_equal(v.cap, 5);
    for (long i = 0; i < 5; i++)
        assert_int_equal(v.items[i], i);
    v.len = 4; /* room again */
    assert_non_null(CADRE_VEC_PUSH(&v, NULL, 5));
    assert_int_equal(v.len, 5);
    CADRE_VEC_FREE(&v);

    /* a maximum past 8 clamps only the last growth: 8, 16, then 20 */
    for (int i = 0; i < 20; i++)
        assert_non_null(CADRE_VEC_PUSH(&v, NULL, 20));
    assert_int_equal(v.cap, 20);
    assert_null(CADRE_VEC_PUSH(&v, NULL, 20));
    CADRE_VEC_FREE(&v);

    /* in an arena too */
    cadre_arena a;
    cadre_arena_init(&a, 0);
    for (int i = 0; i < 3; i++)
        assert_non_null(CADRE_VEC_PUSH(&v, &a, 3));
    assert_null(CADRE_VEC_PUSH(&v, &a, 3));
    assert_int_equal(v.len, 3);
    cadre_arena_free(&a);

    /* an element of no size is refused */
    size_t len = 0, cap = 0;
    char *raw = NULL;
    assert_null(cadre_vec_push(&raw, &len, &cap, 0, NULL, 0));
    assert_int_equal(len, 0);
}

/* Arena-backed: growth copies into new arena blocks, the values survive, the memory is the
 * arena's (nothing to free), and the array starts over empty after an arena reset. */
static void test_vec_arena(void **state)
{
    cadre_arena a;
    cadre_arena_init(&a, 256); /* small chunks: growth moves across chunks */
    CADRE_VEC(struct point) v = { 0 };
    struct point *first = NULL;
    for (int i = 0; i < 300; i++) {
        struct point *p = CADRE_VEC_PUSH(&v, &a, 0);
        assert_non_null(p);
        assert_int_equal(p->x, 0);
        assert_int_equal(p->tag[0], 0);
        p->x = i;
        p->y = 2 * i;
        snprintf(p->tag, sizeof p->tag, "p%d", i);
        if (i == 0)
            first = v.items;
    }
    assert_true(v.items != first); /* it moved */
    assert_int_equal(v.len, 300);
    for (int i = 0; i < 300; i++) {
        char want[12];
        snprintf(want, sizeof want, "p%d", i);
        assert_int_equal(v.items[i].x, i);
        assert_int_equal(v.items[i].y, 2 * i);
        assert_string_equal(v.items[i].tag, want);
    }
    cadre_arena_reset(&a);
    v.items = NULL; /* its memory went with the reset */
    v.len = v.cap = 0;
    assert_non_null(CADRE_VEC_PUSH(&v, &a, 0));
    assert_int_equal(v.len, 1);
    cadre_arena_free(&a); /* and that is all: no CADRE_VEC_FREE */
}

/* cadre_vec_push: an array whose members have other names, elements sized at run time. */
static void test_vec_raw(void **state)
{
    struct {
        char *rows;
        size_t nrows, cap_rows;
    } t = { 0 };
    size_t size = 24;
    for (size_t i = 0; i < 50; i++) {
        char *row = cadre_vec_push(&t.rows, &t.nrows, &t.cap_rows, size, NULL, 0);
        assert_non_null(row);
        for (size_t k = 0; k < size; k++)
            assert_int_equal(row[k], 0);
        memset(row, (int)('a' + i % 26), size);
    }
    assert_int_equal(t.nrows, 50);
    for (size_t i = 0; i < 50; i++)
        assert_int_equal(t.rows[i * size + size - 1], (char)('a' + i % 26));
    cadre_vec_free(&t.rows, &t.nrows, &t.cap_rows);
    assert_null(t.rows);
    assert_int_equal(t.nrows, 0);
    assert_int_equal(t.cap_rows, 0);
}

/* An arena-backed array that would outgrow size_t aborts as the arena does on out of memory. */
static void test_vec_arena_overflow(void **state)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        signal(SIGABRT, SIG_DFL);
        cadre_arena a;
        cadre_arena_init(&a, 0);
        size_t len = 0, cap = 0;
        char *items = NULL;
        cadre_vec_push(&items, &len, &cap, SIZE_MAX / 4, &a, 0);
        _exit(0); /* not reached */
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGABRT);
}

struct link {
    struct link *next;
};

struct node {
    int before;
    struct link link;
    double after;
};

static void test_container_of(void **state)
{
    struct node n = { 7, { NULL }, 2.5 };
    struct link *l = &n.link;
    struct node *back = CADRE_CONTAINER_OF(l, struct node, link);
    assert_ptr_equal(back, &n);
    assert_int_equal(back->before, 7);
    void *untyped = &n.after;
    assert_ptr_equal(CADRE_CONTAINER_OF(untyped, struct node, after), &n);
    const struct link *cl = &n.link;
    assert_ptr_equal(CADRE_CONTAINER_OF(cl, struct node, link), &n);
    /* the first member: the same address */
    assert_ptr_equal(CADRE_CONTAINER_OF(&n.before, struct node, before), &n);
}

/* ---------------------------------------------------------------------------------------------
 * Text helpers
 * ------------------------------------------------------------------------------------------- */

static void test_utf8_valid(void **state)
{
    static const struct {
        const char *s;
        bool ok;
    } cases[] = {
        { "", true },
        { "plain ascii", true },
        { "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", true },
        { "\xf4\x8f\xbf\xbf", true },          /* U+10FFFF */
        { "\xf4\x90\x80\x80", false },         /* past U+10FFFF */
        { "\xc0\xaf", false },                 /* overlong */
        { "\xe0\x80\xaf", false },             /* overlong */
        { "\xed\xa0\x80", false },             /* a UTF-16 surrogate */
        { "\xe2\x82", false },                 /* cut short */
        { "a\x80" "b", false },                /* a stray continuation byte */
        { "\xff", false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        if (cadre_utf8_valid(cases[i].s, strlen(cases[i].s)) != cases[i].ok)
            fail_msg("case %zu: expected %s", i, cases[i].ok ? "valid" : "invalid");
    /* the length given counts, not the NUL */
    assert_true(cadre_utf8_valid("\xe2\x82\xac", 3));
    assert_false(cadre_utf8_valid("\xe2\x82\xac", 2));
    const unsigned char euro[] = { 0xe2, 0x82, 0xac };
    assert_int_equal(cadre_utf8_seq_len(euro, euro + 3), 3);
    assert_int_equal(cadre_utf8_seq_len(euro, euro + 2), 0);
}

/* True when some ending of at most 3 bytes makes s[0..n) valid: the oracle of a valid beginning.
 * The second byte's allowed ranges end at 0x8F/0x90, 0x9F/0xA0 and 0xBF, so their bounds stand
 * for all bytes of a range. */
static bool completes(const unsigned char *s, size_t n)
{
    static const unsigned char tail[] = { 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf };
    unsigned char b[8];
    memcpy(b, s, n);
    if (cadre_utf8_valid((const char *)b, n))
        return true;
    for (size_t i = 0; i < sizeof tail; i++) {
        b[n] = tail[i];
        if (cadre_utf8_valid((const char *)b, n + 1))
            return true;
        for (size_t j = 0; j < sizeof tail; j++) {
            b[n + 1] = tail[j];
            if (cadre_utf8_valid((const char *)b, n + 2))
                return true;
            for (size_t k = 0; k < sizeof tail; k++) {
                b[n + 2] = tail[k];
                if (cadre_utf8_valid((const char *)b, n + 3))
                    return true;
            }
        }
    }
    return false;
}

static void test_utf8_valid_prefix(void **state)
{
    static const struct {
        const char *s;
        bool ok;
        size_t complete;
    } cases[] = {
        { "", true, 0 },
        { "abc", true, 3 },
        { "abc\xe2\x82\xac", true, 6 },
        { "abc\xe2\x82", true, 3 },            /* the euro sign cut short */
        { "\xf0\x9f\x98", true, 0 },
        { "\xf4\x8f", true, 0 },               /* may still become U+10FFFF */
        { "\xf4\x90", false, 0 },              /* past U+10FFFF whatever follows */
        { "ok \xed\xa0", false, 0 },           /* a surrogate whatever follows */
        { "\xe0\x9f", false, 0 },              /* overlong whatever follows */
        { "\xc0", false, 0 },
        { "\xe2\x28", false, 0 },
        { "\xe2\x82\xac\x80", false, 0 },      /* a stray continuation byte */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t complete = 99;
        bool ok = cadre_utf8_valid_prefix(cases[i].s, strlen(cases[i].s), &complete);
        if (ok != cases[i].ok || (ok && complete != cases[i].complete))
            fail_msg("case %zu: %s, complete %zu", i, ok ? "a valid beginning" : "invalid",
                     complete);
    }
    /* Every string of up to 2 bytes, and every lead byte with every second byte followed by the
     * bounds of the continuation range: a valid beginning exactly when some ending completes it,
     * and complete is a valid part, whole when the string is valid. */
    unsigned char b[4];
    for (unsigned len = 1; len <= 3; len++) {
        unsigned total = len == 1 ? 256 : 65536;
        for (unsigned v = 0; v < total; v++) {
            b[0] = (unsigned char)(v & 0xff);
            b[1] = (unsigned char)(v >> 8);
            if (len == 3) {
                for (unsigned t = 0; t < 4; t++) {
                    static const unsigned char third[] = { 0x41, 0x80, 0xbf, 0xc2 };
                    b[2] = third[t];
                    size_t complete = 99;
                    bool ok = cadre_utf8_valid_prefix((const char *)b, 3, &complete);
                    if (ok != completes(b, 3))
                        fail_msg("%02x %02x %02x: %d", b[0], b[1], b[2], ok);
                    if (ok && (!cadre_utf8_valid((const char *)b, complete) ||
                               (complete == 3) != cadre_utf8_valid((const char *)b, 3)))
                        fail_msg("%02x %02x %02x: complete %zu", b[0], b[1], b[2], complete);
                }
                continue;
            }
            size_t complete = 99;
            bool ok = cadre_utf8_valid_prefix((const char *)b, len, &complete);
            if (ok != completes(b, len))
                fail_msg("%02x %02x (%u bytes): %d", b[0], b[1], len, ok);
            if (ok && (!cadre_utf8_valid((const char *)b, complete) ||
                       (complete == len) != cadre_utf8_valid((const char *)b, len)))
                fail_msg("%02x %02x (%u bytes): complete %zu", b[0], b[1], len, complete);
        }
    }
}

static void test_hexval_strtod_html(void **state)
{
    assert_int_equal(cadre_hexval('0'), 0);
    assert_int_equal(cadre_hexval('9'), 9);
    assert_int_equal(cadre_hexval('a'), 10);
    assert_int_equal(cadre_hexval('F'), 15);
    assert_int_equal(cadre_hexval('g'), -1);
    assert_int_equal(cadre_hexval(' '), -1);

    char *end;
    assert_true(cadre_strtod("2.5", NULL) == 2.5);
    assert_true(cadre_strtod("-1e3xyz", &end) == -1000.0);
    assert_string_equal(end, "xyz");

    cadre_buf b;
    cadre_buf_init(&b, 64);
    const char *html = "<a href=\"x\">Tom & Jerry's</a>";
    assert_int_equal(cadre_buf_append_html(&b, html, strlen(html)), 0);
    assert_string_equal(cadre_buf_cstr(&b),
                        "&lt;a href=&#34;x&#34;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
    cadre_buf_free(&b);
    cadre_buf_init(&b, 8);
    assert_int_equal(cadre_buf_append_html(&b, "a<b<c<d", 7), CADRE_ETOOBIG);
    cadre_buf_free(&b);
}

/* ---------------------------------------------------------------------------------------------
 * cadre_panic
 * ------------------------------------------------------------------------------------------- */

static void test_panic(void **state)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 2);
        close(p[0]);
        signal(SIGABRT, SIG_DFL);
        cadre_panic("out of %s %d", "memory", 7);
        _exit(0); /* not reached */
    }
    close(p[1]);
    char buf[512];
    size_t n = 0;
    ssize_t r;
    while ((r = read(p[0], buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = 0;
    close(p[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGABRT);
    if (!strstr(buf, "cadre: fatal: out of memory 7"))
        fail_msg("panic wrote \"%s\"", buf);
}

/* Escaped text is always valid JSON: quotes and controls escaped, valid UTF-8 kept, and each byte
 * that starts no valid sequence (a stray continuation, an overlong form, a surrogate, a sequence
 * cut short at the end) replaced by U+FFFD. */
static void test_json_escape_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "plain", "plain" },
        { "a\"b\\c\n", "a\\\"b\\\\c\\n" },
        { "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" },
        { "\xff", "\\ufffd" },
        { "a\x80" "b", "a\\ufffd" "b" },
        { "\xc0\xaf", "\\ufffd\\ufffd" },             /* overlong '/' */
        { "\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd" }, /* a UTF-16 surrogate */
        { "ok\xe2\x82", "ok\\ufffd\\ufffd" },         /* cut short */
        { "\x01\x7f", "\\u0001\\u007f" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char out[64];
        size_t n = strlen(cases[i].in);
        size_t len = cadre_escape_json(out, cases[i].in, n);
        assert_true(len <= 6 * n);
        out[len] = '\0';
        assert_string_equal(out, cases[i].out);
    }
}

/* cadre_i64_text: every int64_t, the limits included, as printf writes it. */
static void test_i64_text(void **state)
{
    (void)state;
    static const int64_t values[] = { 0, 7, -7, 10, -10, 1234567890123, INT64_MAX, INT64_MIN,
                                      INT64_MIN + 1 };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        char got[CADRE_I64_TEXT], want[32];
        snprintf(want, sizeof want, "%lld", (long long)values[i]);
        assert_int_equal(cadre_i64_text(values[i], got), strlen(want));
        assert_string_equal(got, want);
    }
}

int main(void)
{
    const struct CMUnitTest errors[] = {
        cmocka_unit_test(test_errors_every_code),
        cmocka_unit_test(test_errors_unknown),
        cmocka_unit_test(test_json_escape_utf8),
    };
    const struct CMUnitTest slices[] = {
        cmocka_unit_test(test_slice_cstr_and_lit),
        cmocka_unit_test(test_slice_eq),
        cmocka_unit_test(test_slice_ieq),
        cmocka_unit_test(test_list_next),
        cmocka_unit_test(test_i64_text),
        cmocka_unit_test(test_slice_eq_cstr),
        cmocka_unit_test(test_to_i64_table),
        cmocka_unit_test(test_to_i64_edges),
    };
    const struct CMUnitTest arena[] = {
        cmocka_unit_test(test_arena_many),
        cmocka_unit_test(test_arena_large),
        cmocka_unit_test(test_arena_zero_size),
        cmocka_unit_test(test_arena_calloc_and_reset),
        cmocka_unit_test(test_arena_strndup_printf),
    };
    const struct CMUnitTest buf[] = {
        cmocka_unit_test(test_buf_max),
        cmocka_unit_test(test_buf_consume_reset_free),
        cmocka_unit_test(test_buf_appendf_and_growth),
    };
    const struct CMUnitTest vec[] = {
        cmocka_unit_test(test_vec_growth),
        cmocka_unit_test(test_vec_zeroing),
        cmocka_unit_test(test_vec_max),
        cmocka_unit_test(test_vec_arena),
        cmocka_unit_test(test_vec_raw),
        cmocka_unit_test(test_vec_arena_overflow),
        cmocka_unit_test(test_container_of),
    };
    const struct CMUnitTest text[] = {
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_utf8_valid_prefix),
        cmocka_unit_test(test_hexval_strtod_html),
    };
    const struct CMUnitTest logging[] = {
        cmocka_unit_test(test_log_level_parse),
        cmocka_unit_test(test_log_levels),
        cmocka_unit_test(test_log_plain),
        cmocka_unit_test(test_log_json),
        cmocka_unit_test(test_log_long_message_cut),
        cmocka_unit_test(test_panic),
    };
    int failed = 0;
    failed += cmocka_run_group_tests_name("errors", errors, NULL, NULL);
    failed += cmocka_run_group_tests_name("slices", slices, NULL, NULL);
    failed += cmocka_run_group_tests_name("arena", arena, NULL, NULL);
    failed += cmocka_run_group_tests_name("buf", buf, NULL, NULL);
    failed += cmocka_run_group_tests_name("vec", vec, NULL, NULL);
    failed += cmocka_run_group_tests_name("text", text, NULL, NULL);
    failed += cmocka_run_group_tests_name("logging", logging, log_setup, log_teardown);
    return failed ? 1 : 0;
}
