/*
 * Unit tests for cadre_url_decode (include/cadre/http.h): percent-decoding, '+' as space with
 * plus_space, CADRE_EPARSE for a '%' not followed by two hex digits, in-place decoding.
 *
 * Table driven: every row is its own cmocka test case and is run twice, into a separate buffer and
 * in place (dst == src), each time from an input buffer of exactly len bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cadre/http.h>

typedef struct urow {
    const char *name;
    const char *src;
    size_t src_len;
    bool plus_space;
    long rc;         /* CADRE_EPARSE, or the decoded length (then out/out_len) */
    const char *out;
} urow;

#define SRC(s) .src = (s), .src_len = sizeof(s) - 1
#define OUT(s) .rc = (long)(sizeof(s) - 1), .out = (s)
#define BAD .rc = CADRE_EPARSE

static const urow rows[] = {
    { "empty", SRC(""), false, OUT("") },
    { "plain", SRC("abc/def"), false, OUT("abc/def") },
    { "%41 is A", SRC("%41"), false, OUT("A") },
    { "escape between text", SRC("x%41y"), false, OUT("xAy") },
    { "lower-case hex", SRC("%4a%7e"), false, OUT("J~") },
    { "upper-case hex", SRC("%4A%7E"), false, OUT("J~") },
    { "mixed-case hex", SRC("%4a%4A%c3%A9"), false, OUT("JJ\xc3\xa9") },
    { "%2F decodes to a slash", SRC("a%2Fb"), false, OUT("a/b") },
    { "%2f decodes to a slash", SRC("a%2fb"), false, OUT("a/b") },
    { "%25 decodes to a percent, not decoded twice", SRC("%2541"), false, OUT("%41") },
    { "%20 is a space", SRC("a%20b"), false, OUT("a b") },
    { "consecutive escapes", SRC("%e2%82%ac"), false, OUT("\xe2\x82\xac") },
    { "%FF", SRC("%FF%ff"), false, OUT("\xff\xff") },
    { "%00 decodes to NUL", SRC("%00"), false, OUT("\0") },
    { "NUL in the middle", SRC("a%00b"), false, OUT("a\0b") },
    { "'+' kept without plus_space", SRC("a+b"), false, OUT("a+b") },
    { "'+' is a space with plus_space", SRC("a+b++"), true, OUT("a b  ") },
    { "%2B stays '+' with plus_space", SRC("a%2Bb"), true, OUT("a+b") },
    { "%20 with plus_space", SRC("a%20b+c"), true, OUT("a b c") },
    { "raw non-ASCII bytes pass through", SRC("caf\xc3\xa9"), false, OUT("caf\xc3\xa9") },
    { "other reserved characters untouched", SRC("a=b&c;d?e#f"), true, OUT("a=b&c;d?e#f") },
    { "lone %", SRC("%"), false, BAD },
    { "%4 truncated", SRC("%4"), false, BAD },
    { "%G1", SRC("%G1"), false, BAD },
    { "%1G", SRC("%1G"), false, BAD },
    { "%zz", SRC("%zz"), true, BAD },
    { "trailing %", SRC("abc%"), false, BAD },
    { "trailing %4", SRC("abc%4"), true, BAD },
    { "%%41", SRC("%%41"), false, BAD },
    { "% followed by space", SRC("% 1"), false, BAD },
    { "%+1 with plus_space", SRC("%+1"), true, BAD },
    { "bad escape after good ones", SRC("%41%42%4"), false, BAD },
    { "% then NUL", SRC("%\0" "0"), false, BAD },
};

#define NROWS (sizeof(rows) / sizeof(rows[0]))

static const char *esc(const char *p, size_t n)
{
    static char out[2][256];
    static int which;
    char *o = out[which++ & 1];
    size_t k = 0;
    for (size_t i = 0; i < n && k < sizeof(out[0]) - 6; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c >= 0x7f)
            k += (size_t)snprintf(o + k, 5, "\\x%02x", c);
        else
            o[k++] = (char)c;
    }
    o[k] = 0;
    return o;
}

static void check(const urow *r, long rc, const char *dst, const char *how)
{
    if (rc != r->rc)
        fail_msg("%s: rc %ld, want %ld", how, rc, r->rc);
    if (rc >= 0 && memcmp(dst, r->out, (size_t)rc) != 0)
        fail_msg("%s: decoded \"%s\", want \"%s\"", how, esc(dst, (size_t)rc), esc(r->out, (size_t)rc));
}

static void test_row(void **state)
{
    const urow *r = *state;
    size_t n = r->src_len;

    /* separate buffers; the source is exactly n bytes */
    char *src = malloc(n ? n : 1);
    char *dst = malloc(n + 16);
    assert_non_null(src);
    assert_non_null(dst);
    memcpy(src, r->src, n);
    memset(dst, 0x5A, n + 16);
    long rc = cadre_url_decode(dst, src, n, r->plus_space);
    check(r, rc, dst, "dst != src");
    assert_memory_equal(src, r->src, n); /* the source is not modified */
    if (rc >= 0) {
        /* nothing written past the decoded length + 1 (room for an optional NUL) */
        for (size_t i = (size_t)rc + 1; i < n + 16; i++)
            if ((unsigned char)dst[i] != 0x5A)
                fail_msg("byte %zu written past the decoded length %ld", i, rc);
    }

    /* in place */
    memcpy(src, r->src, n);
    rc = cadre_url_decode(src, src, n, r->plus_space);
    check(r, rc, src, "in place");
    free(src);
    free(dst);
}

/* len is respected: bytes after it are never read, even when they would complete an escape. */
static void test_len_is_respected(void **state)
{
    char out[16];
    assert_int_equal(cadre_url_decode(out, "%41XYZ", 3, false), 1);
    assert_int_equal(out[0], 'A');
    assert_int_equal(cadre_url_decode(out, "ab%41", 2, false), 2);
    assert_memory_equal(out, "ab", 2);
    assert_int_equal(cadre_url_decode(out, "%41", 2, false), CADRE_EPARSE);
    assert_int_equal(cadre_url_decode(out, "a%41", 2, false), CADRE_EPARSE);
    assert_int_equal(cadre_url_decode(out, "xyz", 0, false), 0);
}

/* A long input with every byte value escaped, decoded in place. */
static void test_all_bytes_in_place(void **state)
{
    char buf[256 * 3 + 1];
    for (int i = 0; i < 256; i++)
        snprintf(buf + i * 3, 4, "%%%02X", i); /* 3 chars + a NUL the next one overwrites */
    long rc = cadre_url_decode(buf, buf, 256 * 3, true);
    assert_int_equal(rc, 256);
    for (int i = 0; i < 256; i++)
        assert_int_equal((unsigned char)buf[i], i);
}

int main(void)
{
    struct CMUnitTest *t = calloc(NROWS, sizeof *t);
    if (!t)
        return 1;
    for (size_t i = 0; i < NROWS; i++)
        t[i] = (struct CMUnitTest){ rows[i].name, test_row, NULL, NULL, (void *)&rows[i] };
    const struct CMUnitTest other[] = {
        cmocka_unit_test(test_len_is_respected),
        cmocka_unit_test(test_all_bytes_in_place),
    };
    int failed = _cmocka_run_group_tests("url_decode", t, NROWS, NULL, NULL);
    failed += cmocka_run_group_tests_name("url_misc", other, NULL, NULL);
    free(t);
    return failed ? 1 : 0;
}
