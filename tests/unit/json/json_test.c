/*
 * Unit tests for the JSON codec (include/cadre/json.h): the pull reader, cadre_json_skip,
 * cadre_json_validate, the writer and cadre_json_reserialize.
 *
 * The expectations come from RFC 8259 and the header (the contract), not from the implementation.
 * Where the contract leaves a choice open (\n or \u000a, the exponent's spelling, how many U+FFFD
 * a multi-byte invalid sequence becomes), the test accepts every answer the contract allows.
 *
 * Table driven: every row of the document, number, string, writer-string, double and reserialize
 * tables is its own cmocka test case, named after the row. Every input is copied into a buffer of
 * exactly its length, so that a sanitizer build catches any read past len; allocations are
 * tracked and freed by the teardown, so a failing assertion (which longjmps) leaks nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cadre/json.h>

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

#define MAX_LIVE 64
static void *live[MAX_LIVE];
static cadre_arena arena;
#define MAX_BUFS 4
static cadre_buf bufs[MAX_BUFS];
static size_t nbufs;

static int setup(void **state)
{
    cadre_arena_init(&arena, 0);
    return 0;
}

static int teardown(void **state)
{
    for (size_t i = 0; i < MAX_LIVE; i++) {
        free(live[i]);
        live[i] = NULL;
    }
    for (size_t i = 0; i < MAX_BUFS; i++)
        cadre_buf_free(&bufs[i]);
    nbufs = 0;
    cadre_arena_free(&arena);
    return 0;
}

static void *tmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    assert_non_null(p);
    for (size_t i = 0; i < MAX_LIVE; i++)
        if (!live[i]) {
            live[i] = p;
            return p;
        }
    fail_msg("too many live test allocations");
    return NULL;
}

/* An exact-size copy of s[0..n): reading past n is a heap overflow under ASan. */
static char *dup_exact(const char *s, size_t n)
{
    char *p = tmalloc(n);
    if (n)
        memcpy(p, s, n);
    return p;
}

/* A NUL-terminated copy, for readable assert_string_equal messages. */
static char *cstr(const char *s, size_t n)
{
    char *p = tmalloc(n + 1);
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

/* prefix + s + suffix, exact size. */
static char *wrap(const char *prefix, const char *s, size_t n, const char *suffix, size_t *out_len)
{
    size_t a = strlen(prefix), b = strlen(suffix);
    char *p = tmalloc(a + n + b);
    memcpy(p, prefix, a);
    if (n)
        memcpy(p + a, s, n);
    memcpy(p + a + n, suffix, b);
    *out_len = a + n + b;
    return p;
}

/* depth levels of arrays: "[[...]]" */
static char *nested_arrays(size_t depth, size_t *out_len)
{
    char *p = tmalloc(2 * depth);
    memset(p, '[', depth);
    memset(p + depth, ']', depth);
    *out_len = 2 * depth;
    return p;
}

/* depth levels of objects: {"a":{"a":...{}...}} (each level but the last opens with {"a":) */
static char *nested_objects(size_t depth, size_t *out_len)
{
    size_t n = 5 * (depth - 1) + 2 + (depth - 1);
    char *p = tmalloc(n), *q = p;
    for (size_t i = 0; i + 1 < depth; i++) {
        memcpy(q, "{\"a\":", 5);
        q += 5;
    }
    *q++ = '{';
    memset(q, '}', depth);
    *out_len = n;
    return p;
}

static cadre_buf *new_buf(size_t max)
{
    assert_true(nbufs < MAX_BUFS);
    cadre_buf *b = &bufs[nbufs++];
    cadre_buf_init(b, max);
    return b;
}

static bool in_buffer(const char *p, const char *buf, size_t len)
{
    return p >= buf && p < buf + len;
}

/*
 * Reads every token of data[0..len) with a fresh reader. Returns 0 when CADRE_JSON_END was reached,
 * otherwise the error (and the reader's reason and offset in *reason and *off). Tokens go to toks (up to
 * cap; *ntok counts all). A document of len bytes has at most len + 1 tokens: more is a hang.
 */
static int read_all(const char *data, size_t len, size_t max_depth, cadre_json_token *toks,
                    size_t cap, size_t *ntok, const char **reason, size_t *off)
{
    cadre_json_reader rd;
    cadre_json_token t;
    size_t n = 0;
    cadre_json_reader_init(&rd, data, len, &arena, max_depth);
    size_t o = 12345;
    assert_null(cadre_json_error(&rd, &o)); /* no error before the first token */
    assert_null(cadre_json_error(&rd, NULL));
    for (;;) {
        int rc = cadre_json_next(&rd, &t);
        if (rc != 0) {
            assert_int_equal(rc, CADRE_EPARSE);
            assert_int_equal(t.type, CADRE_JSON_NONE);
            *reason = cadre_json_error(&rd, off);
            assert_non_null(*reason);
            assert_true(*off <= len);
            /* sticky: the same error again */
            size_t off2 = 0;
            cadre_json_token t2;
            assert_int_equal(cadre_json_next(&rd, &t2), CADRE_EPARSE);
            assert_int_equal(t2.type, CADRE_JSON_NONE);
            assert_string_equal(cadre_json_error(&rd, &off2), *reason);
            assert_int_equal(off2, *off);
            assert_int_equal(cadre_json_next(&rd, &t2), CADRE_EPARSE);
            if (ntok)
                *ntok = n;
            return rc;
        }
        assert_int_not_equal(t.type, CADRE_JSON_NONE);
        assert_true(t.offset <= len);
        if (t.type == CADRE_JSON_NUMBER) {
            /* the text as written: a slice of the input starting at the token */
            assert_ptr_equal(t.str.ptr, data + t.offset);
            assert_true(t.str.len >= 1 && t.offset + t.str.len <= len);
            if (t.is_int)
                assert_true((double)t.i == t.d);
        }
        if (toks && n < cap)
            toks[n] = t;
        n++;
        assert_true(n <= len + 1);
        if (t.type == CADRE_JSON_END) {
            assert_null(cadre_json_error(&rd, NULL));
            if (ntok)
                *ntok = n;
            return 0;
        }
    }
}

/* Both the reader and cadre_json_validate must accept data[0..len). */
static void expect_valid(const char *data, size_t len, size_t max_depth)
{
    const char *reason = NULL;
    size_t off = 0;
    char *in = dup_exact(data, len);
    int rc = read_all(in, len, max_depth, NULL, 0, NULL, &reason, &off);
    if (rc != 0)
        fail_msg("reader refused a valid document: %s at offset %zu", reason, off);
    rc = cadre_json_validate(in, len, max_depth, &reason, &off);
    if (rc != 0)
        fail_msg("validate refused a valid document: %s at offset %zu", reason, off);
    assert_int_equal(cadre_json_validate(in, len, max_depth, NULL, NULL), 0);
}

/*
 * Both the reader and cadre_json_validate must refuse data[0..len) with CADRE_EPARSE, a reason,
 * and the same offset (exactly at, when at >= 0). Returns the offset.
 */
static size_t expect_invalid(const char *data, size_t len, size_t max_depth, long at)
{
    const char *reason = NULL, *vreason = NULL;
    size_t off = 0, voff = 0;
    char *in = dup_exact(data, len);
    int rc = read_all(in, len, max_depth, NULL, 0, NULL, &reason, &off);
    if (rc == 0)
        fail_msg("reader accepted an invalid document");
    rc = cadre_json_validate(in, len, max_depth, &vreason, &voff);
    assert_int_equal(rc, CADRE_EPARSE);
    assert_non_null(vreason);
    assert_int_equal(voff, off);
    assert_int_equal(cadre_json_validate(in, len, max_depth, NULL, NULL), CADRE_EPARSE);
    if (at >= 0 && off != (size_t)at)
        fail_msg("error \"%s\" at offset %zu, expected at %ld", reason, off, at);
    return off;
}

/* ---------------------------------------------------------------------------------------------
 * Documents: structure, whitespace, trailing data, error offsets
 * ------------------------------------------------------------------------------------------- */

typedef struct drow {
    const char *name;
    const char *in;
    size_t len;
    bool ok;
    long at; /* when !ok: the error offset, or -1 when the contract leaves it open */
} drow;

#define IN(s) .in = (s), .len = sizeof(s) - 1
#define OK .ok = true, .at = -1
#define BAD .ok = false, .at = -1
#define BAD_AT(n) .ok = false, .at = (n)

static const drow doc_rows[] = {
    /* top-level scalars are JSON texts (RFC 8259 section 2) */
    { "top-level null", IN("null"), OK },
    { "top-level true", IN("true"), OK },
    { "top-level false", IN("false"), OK },
    { "top-level zero", IN("0"), OK },
    { "top-level negative", IN("-1"), OK },
    { "top-level string", IN("\"x\""), OK },
    { "empty array", IN("[]"), OK },
    { "empty object", IN("{}"), OK },
    { "spaces around and inside", IN(" [ ] "), OK },
    { "all four whitespace characters", IN("\t\n\r [1] \n\r\t"), OK },
    { "whitespace everywhere", IN(" { \"a\" : [ 1 , 2 ] , \"b\" : { } } "), OK },
    { "nested arrays", IN("[[[]]]"), OK },
    { "nested objects", IN("{\"a\":{\"b\":[]}}"), OK },
    { "every kind of value", IN("[1,\"a\",{},[],null,true,false,-0.5e-1,1E+2]"), OK },
    { "duplicate keys are passed through", IN("{\"a\":1,\"a\":2}"), OK },
    { "empty key", IN("{\"\":0}"), OK },
    { "escaped NUL", IN("\"\\u0000\""), OK },
    { "raw DEL is allowed", IN("[\"\x7f\"]"), OK },
    { "literals in an object", IN("{\"t\":true,\"f\":false,\"n\":null}"), OK },

    { "empty input", IN(""), BAD_AT(0) },
    { "whitespace only", IN("   "), BAD_AT(3) },
    { "newline only", IN("\n"), BAD_AT(1) },
    { "trailing comma in array", IN("[1,2,]"), BAD_AT(5) },
    { "trailing comma in array of strings", IN("[\"a\",]"), BAD_AT(5) },
    { "trailing comma in object", IN("{\"a\":1,}"), BAD_AT(7) },
    { "leading comma in array", IN("[,1]"), BAD_AT(1) },
    { "double comma", IN("[1,,2]"), BAD_AT(3) },
    { "comma only object", IN("{,}"), BAD_AT(1) },
    { "missing colon", IN("{\"a\" 1}"), BAD_AT(5) },
    { "double colon", IN("{\"a\"::1}"), BAD_AT(5) },
    { "key without value", IN("{\"a\"}"), BAD_AT(4) },
    { "second key without value", IN("{\"a\":1,\"b\"}"), BAD_AT(10) },
    { "colon without value", IN("{\"a\":}"), BAD_AT(5) },
    { "missing comma in array", IN("[1 2]"), BAD_AT(3) },
    { "missing comma between literals", IN("[true false]"), BAD_AT(6) },
    { "missing comma in object", IN("{\"a\":1 \"b\":2}"), BAD_AT(7) },
    { "unquoted key", IN("{a:1}"), BAD_AT(1) },
    { "number as key", IN("{1:1}"), BAD_AT(1) },
    { "null as key", IN("{null:1}"), BAD_AT(1) },
    { "single-quoted string", IN("['a']"), BAD_AT(1) },
    { "single-quoted key", IN("{'a':1}"), BAD_AT(1) },
    { "single-quoted top level", IN("'a'"), BAD_AT(0) },
    { "two numbers", IN("1 2"), BAD_AT(2) },
    { "data after object", IN("{}x"), BAD_AT(2) },
    { "data after array and space", IN(" [1] x"), BAD_AT(5) },
    { "extra closing bracket", IN("[]]"), BAD_AT(2) },
    { "extra closing brace", IN("{}}"), BAD_AT(2) },
    { "two strings", IN("\"a\" \"b\""), BAD_AT(4) },
    { "two objects", IN("{\"a\":1}{}"), BAD_AT(7) },
    { "comma after document", IN("[1],"), BAD_AT(3) },
    { "NUL after document", IN("1\0"), BAD_AT(1) },
    { "lone [", IN("["), BAD_AT(1) },
    { "lone ]", IN("]"), BAD_AT(0) },
    { "lone {", IN("{"), BAD_AT(1) },
    { "lone }", IN("}"), BAD_AT(0) },
    { "unclosed array", IN("[1"), BAD_AT(2) },
    { "unclosed array after comma", IN("[1,2"), BAD_AT(4) },
    { "unclosed object", IN("{\"a\":1"), BAD_AT(6) },
    { "object ends after key", IN("{\"a\""), BAD_AT(4) },
    { "object ends after colon", IN("{\"a\":"), BAD_AT(5) },
    { "array closed by brace", IN("[}"), BAD_AT(1) },
    { "object closed by bracket", IN("{]"), BAD_AT(1) },
    { "mismatched nesting", IN("[{]}"), BAD_AT(2) },
    { "truncated true", IN("tru"), BAD },
    { "truncated null", IN("[nul]"), BAD },
    { "capitalised True", IN("True"), BAD_AT(0) },
    { "NULL", IN("NULL"), BAD_AT(0) },
    { "null followed by letter", IN("nulll"), BAD },
    { "true followed by letter", IN("[truex]"), BAD },
    { "undefined", IN("undefined"), BAD_AT(0) },
    { "form feed is not whitespace", IN("\f1"), BAD_AT(0) },
    { "vertical tab is not whitespace", IN("\v1"), BAD_AT(0) },
    { "trailing form feed", IN("1\f"), BAD_AT(1) },
    { "no-break space is not whitespace", IN("\xc2\xa0" "1"), BAD_AT(0) },
    { "line comment", IN("[1]//x"), BAD_AT(3) },
    { "block comment", IN("/*x*/1"), BAD_AT(0) },
    { "unterminated string", IN("\"abc"), BAD },
    { "raw control character, offset of the byte", IN("\"ab\x01\""), BAD_AT(3) },
    { "invalid UTF-8, offset of the byte", IN("\"a\x80\""), BAD_AT(2) },
    { "leading zero in array", IN("[01]"), BAD },
    { "fraction without digits in array", IN("[1.]"), BAD },
};
#define NDOC (sizeof doc_rows / sizeof doc_rows[0])

static void test_doc_row(void **state)
{
    const drow *r = *state;
    if (r->ok)
        expect_valid(r->in, r->len, 0);
    else
        expect_invalid(r->in, r->len, 0, r->at);
}

/* ---------------------------------------------------------------------------------------------
 * Token sequences
 * ------------------------------------------------------------------------------------------- */

typedef struct tok_expect {
    cadre_json_type type;
    size_t offset;
    const char *str; /* STRING/KEY: decoded value; NUMBER: the text */
    size_t str_len;  /* for str with NUL bytes; 0: strlen */
    bool is_int;
    int64_t i;
    double d;
} tok_expect;

#define T(ty, off) { .type = CADRE_JSON_##ty, .offset = (off) }
#define TS(ty, off, s) { .type = CADRE_JSON_##ty, .offset = (off), .str = (s) }
#define TI(off, s, v) { CADRE_JSON_NUMBER, (off), (s), 0, true, (v), (double)(v) }
#define TD(off, s, v) { CADRE_JSON_NUMBER, (off), (s), 0, false, 0, (v) }

static void check_tokens(const char *doc, size_t len, const tok_expect *exp, size_t nexp)
{
    char *in = dup_exact(doc, len);
    cadre_json_token toks[64];
    size_t n = 0, off = 0;
    const char *reason = NULL;
    int rc = read_all(in, len, 0, toks, 64, &n, &reason, &off);
    if (rc != 0)
        fail_msg("refused: %s at %zu", reason, off);
    assert_int_equal(n, nexp + 1); /* + END */
    assert_int_equal(toks[nexp].type, CADRE_JSON_END);
    for (size_t k = 0; k < nexp; k++) {
        const cadre_json_token *t = &toks[k];
        const tok_expect *e = &exp[k];
        if (t->type != e->type || t->offset != e->offset)
            fail_msg("token %zu: type %d at %zu, expected type %d at %zu", k, (int)t->type,
                     t->offset, (int)e->type, e->offset);
        if (e->type == CADRE_JSON_STRING || e->type == CADRE_JSON_KEY ||
            e->type == CADRE_JSON_NUMBER) {
            size_t el = e->str_len ? e->str_len : strlen(e->str);
            assert_non_null(t->str.ptr);
            if (t->str.len != el || memcmp(t->str.ptr, e->str, el) != 0)
                fail_msg("token %zu: \"%s\", expected \"%s\"", k, cstr(t->str.ptr, t->str.len),
                         e->str);
        }
        if (e->type == CADRE_JSON_NUMBER) {
            assert_int_equal(t->is_int, e->is_int);
            if (e->is_int)
                assert_true(t->i == e->i);
            assert_true(t->d == e->d);
        }
    }
}

static void test_tokens_nested(void **state)
{
    static const char doc[] =
        "{\"name\":\"Ada\",\"tags\":[\"x\",\"y\\n\"],\"n\":{\"i\":-12,\"f\":2.5e1,"
        "\"big\":9223372036854775807},\"ok\":true,\"no\":false,\"nil\":null,\"e\":[],\"o\":{}}";
    static const tok_expect exp[] = {
        T(OBJECT, 0),
        TS(KEY, 1, "name"),
        TS(STRING, 8, "Ada"),
        TS(KEY, 14, "tags"),
        T(ARRAY, 21),
        TS(STRING, 22, "x"),
        TS(STRING, 26, "y\n"),
        T(ARRAY_END, 31),
        TS(KEY, 33, "n"),
        T(OBJECT, 37),
        TS(KEY, 38, "i"),
        TI(42, "-12", -12),
        TS(KEY, 46, "f"),
        TD(50, "2.5e1", 25.0),
        TS(KEY, 56, "big"),
        TI(62, "9223372036854775807", INT64_MAX),
        T(OBJECT_END, 81),
        TS(KEY, 83, "ok"),
        T(TRUE, 88),
        TS(KEY, 93, "no"),
        T(FALSE, 98),
        TS(KEY, 104, "nil"),
        T(NULL, 110),
        TS(KEY, 115, "e"),
        T(ARRAY, 119),
        T(ARRAY_END, 120),
        TS(KEY, 122, "o"),
        T(OBJECT, 126),
        T(OBJECT_END, 127),
        T(OBJECT_END, 128),
    };
    check_tokens(doc, sizeof doc - 1, exp, sizeof exp / sizeof exp[0]);
}

static void test_tokens_with_whitespace(void **state)
{
    static const char doc[] = " [ 1 ,\n\t{ \"k\\u0041\" : [ ] } , \"v\" ] ";
    static const tok_expect exp[] = {
        T(ARRAY, 1),
        TI(3, "1", 1),
        T(OBJECT, 8),
        TS(KEY, 10, "kA"),
        T(ARRAY, 22),
        T(ARRAY_END, 24),
        T(OBJECT_END, 26),
        TS(STRING, 30, "v"),
        T(ARRAY_END, 34),
    };
    check_tokens(doc, sizeof doc - 1, exp, sizeof exp / sizeof exp[0]);
}

static void test_tokens_scalars(void **state)
{
    static const tok_expect n[] = { T(NULL, 2) };
    check_tokens("\n\tnull ", 7, n, 1);
    static const tok_expect s[] = { { CADRE_JSON_STRING, 0, "a\0b", 3, false, 0, 0 } };
    check_tokens("\"a\\u0000b\"", 10, s, 1);
    static const tok_expect num[] = { TD(1, "-1.25e-3", -1.25e-3) };
    check_tokens(" -1.25e-3", 9, num, 1);
}

/* Only data[0..len) is read: bytes after len never complete or spoil a document. */
static void test_len_is_respected(void **state)
{
    assert_int_equal(cadre_json_validate("[1]xyz", 3, 0, NULL, NULL), 0);
    assert_int_equal(cadre_json_validate("\"ab\"", 3, 0, NULL, NULL), CADRE_EPARSE);
    assert_int_equal(cadre_json_validate("[1,2]", 4, 0, NULL, NULL), CADRE_EPARSE);
    assert_int_equal(cadre_json_validate("truex", 4, 0, NULL, NULL), 0);
    assert_int_equal(cadre_json_validate("nul", 0, 0, NULL, NULL), CADRE_EPARSE);
    static const tok_expect num[] = { TI(0, "12", 12) };
    check_tokens("1234", 2, num, 1);
}

/* A long string without escapes is one slice of the input; one escape at the end makes a copy. */
static void test_long_strings(void **state)
{
    size_t n = 100000;
    char *doc = tmalloc(n + 2);
    doc[0] = '"';
    memset(doc + 1, 'a', n);
    doc[n + 1] = '"';
    cadre_json_reader rd;
    cadre_json_token t;
    cadre_json_reader_init(&rd, doc, n + 2, &arena, 0);
    assert_int_equal(cadre_json_next(&rd, &t), 0);
    assert_int_equal(t.type, CADRE_JSON_STRING);
    assert_ptr_equal(t.str.ptr, doc + 1);
    assert_int_equal(t.str.len, n);
    assert_int_equal(cadre_json_next(&rd, &t), 0);
    assert_int_equal(t.type, CADRE_JSON_END);

    memcpy(doc + n - 5, "\\u0042", 6); /* ...aaaa\u0042" */
    cadre_json_reader_init(&rd, doc, n + 2, &arena, 0);
    assert_int_equal(cadre_json_next(&rd, &t), 0);
    assert_int_equal(t.type, CADRE_JSON_STRING);
    assert_false(in_buffer(t.str.ptr, doc, n + 2));
    assert_int_equal(t.str.len, n - 6 + 1);
    for (size_t i = 0; i < n - 6; i++)
        if (t.str.ptr[i] != 'a')
            fail_msg("byte %zu", i);
    assert_int_equal(t.str.ptr[n - 6], 'B');
}

/* ---------------------------------------------------------------------------------------------
 * Numbers
 * ------------------------------------------------------------------------------------------- */

enum { D_EXACT = 0, D_TINY }; /* D_TINY: 0 or a subnormal, not negative */

typedef struct nrow {
    const char *name;
    const char *in;
    bool ok;
    bool is_int;
    int64_t i;
    double d;
    int dmode;
} nrow;

#define NINT(s, v) .in = (s), .ok = true, .is_int = true, .i = (v), .d = (double)(v)
#define NDBL(s, v) .in = (s), .ok = true, .is_int = false, .d = (v)
#define NBAD(s) .in = (s), .ok = false

static const nrow num_rows[] = {
    { "0", NINT("0", 0) },
    { "-0 (d is negative zero)", .in = "-0", .ok = true, .is_int = true, .i = 0, .d = -0.0 },
    { "1", NINT("1", 1) },
    { "-1", NINT("-1", -1) },
    { "10", NINT("10", 10) },
    { "INT64_MAX", NINT("9223372036854775807", INT64_MAX) },
    { "INT64_MIN", NINT("-9223372036854775808", INT64_MIN) },
    { "INT64_MAX - 1", NINT("9223372036854775806", INT64_MAX - 1) },
    { "INT64_MIN + 1", NINT("-9223372036854775807", INT64_MIN + 1) },
    { "2^53 + 1 is exact as an int", .in = "9007199254740993", .ok = true, .is_int = true,
      .i = 9007199254740993, .d = 9007199254740992.0 },
    { "INT64_MAX + 1 is a double", NDBL("9223372036854775808", 9223372036854775808.0) },
    { "INT64_MIN - 1 is a double", NDBL("-9223372036854775809", -9223372036854775808.0) },
    { "20 digits", NDBL("12345678901234567890", 12345678901234567890.0) },
    { "30 digits", NDBL("123456789012345678901234567890", 123456789012345678901234567890.0) },
    { "1.5", NDBL("1.5", 1.5) },
    { "1.0 has a fraction", NDBL("1.0", 1.0) },
    { "-0.0", NDBL("-0.0", -0.0) },
    { "0.1 correctly rounded", NDBL("0.1", 0.1) },
    { "0.3", NDBL("0.3", 0.3) },
    { "1e2 has an exponent", NDBL("1e2", 100.0) },
    { "1E2", NDBL("1E2", 100.0) },
    { "1e+2", NDBL("1e+2", 100.0) },
    { "1e-2", NDBL("1e-2", 0.01) },
    { "0e0", NDBL("0e0", 0.0) },
    { "-1.25e-3", NDBL("-1.25e-3", -1.25e-3) },
    { "1.5E+10", NDBL("1.5E+10", 1.5e10) },
    { "123.456e-7", NDBL("123.456e-7", 123.456e-7) },
    { "exponent with leading zeros", NDBL("1e007", 1e7) },
    { "long fraction", NDBL("3.14159265358979323846264338327950288", 3.14159265358979323846) },
    { "DBL_MAX", NDBL("1.7976931348623157e308", DBL_MAX) },
    { "just below the rounding edge to infinity", NDBL("1.7976931348623158e308", DBL_MAX) },
    { "DBL_MIN", NDBL("2.2250738585072014e-308", DBL_MIN) },
    { "hard rounding case", NDBL("2.2250738585072011e-308", 2.2250738585072011e-308) },
    { "smallest subnormal", NDBL("5e-324", 4.9406564584124654e-324) },
    { "1e-400 underflows to zero", .in = "1e-400", .ok = true, .is_int = false, .dmode = D_TINY },
    { "-1e-400", .in = "-1e-400", .ok = true, .is_int = false, .d = -0.0, .dmode = D_TINY },
    { "1e400 overflows a double", NBAD("1e400") },
    { "-1e400", NBAD("-1e400") },
    { "just above the rounding edge to infinity", NBAD("1.7976931348623159e308") },
    { "1 and 390 zeros", NBAD("1"
                         "0000000000000000000000000000000000000000000000000000000000000000000000000"
                         "0000000000000000000000000000000000000000000000000000000000000000000000000"
                         "0000000000000000000000000000000000000000000000000000000000000000000000000"
                         "0000000000000000000000000000000000000000000000000000000000000000000000000"
                         "0000000000000000000000000000000000000000000000000000000000000000000000000"
                         "0000000000000000000000000") },
    { "leading zero", NBAD("01") },
    { "negative leading zero", NBAD("-01") },
    { "double zero", NBAD("00") },
    { "leading zero with fraction", NBAD("00.5") },
    { "minus alone", NBAD("-") },
    { "minus then space", NBAD("- 1") },
    { "fraction without digits", NBAD("1.") },
    { "fraction without digits before exponent", NBAD("1.e3") },
    { "no integer part", NBAD(".5") },
    { "negative without integer part", NBAD("-.5") },
    { "plus sign", NBAD("+1") },
    { "exponent without digits", NBAD("1e") },
    { "exponent sign without digits", NBAD("1e+") },
    { "negative exponent sign without digits", NBAD("1E-") },
    { "fractional exponent", NBAD("1e2.5") },
    { "two dots", NBAD("1..2") },
    { "two fractions", NBAD("1.2.3") },
    { "hex", NBAD("0x10") },
    { "octal-looking", NBAD("017") },
    { "NaN", NBAD("NaN") },
    { "nan", NBAD("nan") },
    { "Infinity", NBAD("Infinity") },
    { "-Infinity", NBAD("-Infinity") },
    { "inf", NBAD("inf") },
    { "letter after number", NBAD("1a") },
    { "full-width digit", NBAD("\xef\xbc\x91") },
};
#define NNUM (sizeof num_rows / sizeof num_rows[0])

static void check_number_tok(const nrow *r, const cadre_json_token *t, const char *in,
                             size_t at)
{
    size_t n = strlen(r->in);
    assert_int_equal(t->type, CADRE_JSON_NUMBER);
    assert_int_equal(t->offset, at);
    /* the text exactly as written: a slice of the input */
    assert_ptr_equal(t->str.ptr, in + at);
    assert_int_equal(t->str.len, n);
    assert_int_equal(t->is_int, r->is_int);
    if (r->is_int && t->i != r->i)
        fail_msg("i = %lld, expected %lld", (long long)t->i, (long long)r->i);
    if (r->dmode == D_TINY) {
        assert_true(t->d == 0.0 || fpclassify(t->d) == FP_SUBNORMAL);
        assert_int_equal(!!signbit(t->d), !!signbit(r->d));
    } else if (!(t->d == r->d) || !!signbit(t->d) != !!signbit(r->d)) {
        fail_msg("d = %.17g, expected %.17g", t->d, r->d);
    }
}

static void test_num_row(void **state)
{
    const nrow *r = *state;
    size_t n = strlen(r->in), len;
    /* alone; with whitespace around; as an array element followed by another value */
    static const char *const pre[] = { "", " \t", "[" };
    static const char *const post[] = { "", "\n ", ",0]" };
    for (int k = 0; k < 3; k++) {
        char *in = wrap(pre[k], r->in, n, post[k], &len);
        size_t at = strlen(pre[k]);
        if (!r->ok) {
            size_t off = expect_invalid(in, len, 0, -1);
            assert_true(off >= at);
            continue;
        }
        expect_valid(in, len, 0);
        cadre_json_reader rd;
        cadre_json_token t;
        cadre_json_reader_init(&rd, in, len, &arena, 0);
        assert_int_equal(cadre_json_next(&rd, &t), 0);
        if (k == 2) {
            assert_int_equal(t.type, CADRE_JSON_ARRAY);
            assert_int_equal(cadre_json_next(&rd, &t), 0);
        }
        check_number_tok(r, &t, in, at);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Strings
 * ------------------------------------------------------------------------------------------- */

enum { SLICE = 1, COPY, EITHER };

typedef struct srow {
    const char *name;
    const char *in; /* the JSON string, quotes included */
    size_t len;
    bool ok;
    const char *out;
    size_t out_len;
    int where;
} srow;

#define S_OK(s, o, w) IN(s), .ok = true, .out = (o), .out_len = sizeof(o) - 1, .where = (w)
#define S_BAD(s) IN(s), .ok = false

static const srow str_rows[] = {
    { "empty", S_OK("\"\"", "", EITHER) },
    { "ASCII", S_OK("\"abc\"", "abc", SLICE) },
    { "space and punctuation", S_OK("\" !#[]~\"", " !#[]~", SLICE) },
    { "raw slash", S_OK("\"a/b\"", "a/b", SLICE) },
    { "raw DEL", S_OK("\"\x7f\"", "\x7f", SLICE) },
    { "raw 2-byte UTF-8", S_OK("\"caf\xc3\xa9\"", "caf\xc3\xa9", SLICE) },
    { "raw 3-byte UTF-8", S_OK("\"\xe2\x82\xac\"", "\xe2\x82\xac", SLICE) },
    { "raw 4-byte UTF-8", S_OK("\"\xf0\x9f\x98\x80\"", "\xf0\x9f\x98\x80", SLICE) },
    { "raw U+0080", S_OK("\"\xc2\x80\"", "\xc2\x80", SLICE) },
    { "raw U+07FF", S_OK("\"\xdf\xbf\"", "\xdf\xbf", SLICE) },
    { "raw U+0800", S_OK("\"\xe0\xa0\x80\"", "\xe0\xa0\x80", SLICE) },
    { "raw U+D7FF", S_OK("\"\xed\x9f\xbf\"", "\xed\x9f\xbf", SLICE) },
    { "raw U+E000", S_OK("\"\xee\x80\x80\"", "\xee\x80\x80", SLICE) },
    { "raw U+FFFF", S_OK("\"\xef\xbf\xbf\"", "\xef\xbf\xbf", SLICE) },
    { "raw U+10000", S_OK("\"\xf0\x90\x80\x80\"", "\xf0\x90\x80\x80", SLICE) },
    { "raw U+10FFFF", S_OK("\"\xf4\x8f\xbf\xbf\"", "\xf4\x8f\xbf\xbf", SLICE) },
    { "escaped quote", S_OK("\"\\\"\"", "\"", COPY) },
    { "escaped backslash", S_OK("\"\\\\\"", "\\", COPY) },
    { "escaped slash", S_OK("\"\\/\"", "/", COPY) },
    { "\\b", S_OK("\"\\b\"", "\b", COPY) },
    { "\\f", S_OK("\"\\f\"", "\f", COPY) },
    { "\\n", S_OK("\"\\n\"", "\n", COPY) },
    { "\\r", S_OK("\"\\r\"", "\r", COPY) },
    { "\\t", S_OK("\"\\t\"", "\t", COPY) },
    { "every short escape between text",
      S_OK("\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"", "a\"b\\c/d\be\ff\ng\rh\ti", COPY) },
    { "escaped backslash then u", S_OK("\"\\\\u0041\"", "\\u0041", COPY) },
    { "\\u0041", S_OK("\"\\u0041\"", "A", COPY) },
    { "\\u0041 between text", S_OK("\"x\\u0041y\"", "xAy", COPY) },
    { "two \\u escapes", S_OK("\"\\u0041\\u0042\"", "AB", COPY) },
    { "\\u00e9 is C3 A9", S_OK("\"\\u00e9\"", "\xc3\xa9", COPY) },
    { "\\u00E9 upper-case hex", S_OK("\"\\u00E9\"", "\xc3\xa9", COPY) },
    { "\\u0080", S_OK("\"\\u0080\"", "\xc2\x80", COPY) },
    { "\\u07ff", S_OK("\"\\u07ff\"", "\xdf\xbf", COPY) },
    { "\\u0800", S_OK("\"\\u0800\"", "\xe0\xa0\x80", COPY) },
    { "\\u20ac", S_OK("\"\\u20ac\"", "\xe2\x82\xac", COPY) },
    { "\\uffff", S_OK("\"\\uffff\"", "\xef\xbf\xbf", COPY) },
    { "\\u0000 is a NUL byte", S_OK("\"\\u0000\"", "\0", COPY) },
    { "\\u001f", S_OK("\"\\u001f\"", "\x1f", COPY) },
    { "\\u0022 is a quote", S_OK("\"\\u0022\"", "\"", COPY) },
    { "\\u005c is a backslash", S_OK("\"\\u005c\"", "\\", COPY) },
    { "surrogate pair U+1F600", S_OK("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", COPY) },
    { "surrogate pair upper-case", S_OK("\"\\uD83D\\uDE00\"", "\xf0\x9f\x98\x80", COPY) },
    { "surrogate pair U+10000", S_OK("\"\\ud800\\udc00\"", "\xf0\x90\x80\x80", COPY) },
    { "surrogate pair U+10FFFF", S_OK("\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf", COPY) },
    { "surrogate pair U+1D11E", S_OK("\"a\\uD834\\uDD1Eb\"", "a\xf0\x9d\x84\x9e" "b", COPY) },

    { "lone high surrogate", S_BAD("\"\\ud800\"") },
    { "lone high surrogate DBFF", S_BAD("\"\\udbff\"") },
    { "high surrogate then a character", S_BAD("\"\\ud800x\"") },
    { "lone low surrogate", S_BAD("\"\\udc00\"") },
    { "lone low surrogate DFFF", S_BAD("\"\\udfff\"") },
    { "pair in the wrong order", S_BAD("\"\\ude00\\ud83d\"") },
    { "high surrogate then \\u0041", S_BAD("\"\\ud800\\u0041\"") },
    { "high surrogate then high", S_BAD("\"\\ud800\\ud800\"") },
    { "high surrogate then \\n", S_BAD("\"\\ud800\\n\"") },
    { "high surrogate then truncated escape", S_BAD("\"\\ud800\\u\"") },
    { "high surrogate then backslash at end", S_BAD("\"\\ud800\\") },
    { "\\u without digits", S_BAD("\"\\u\"") },
    { "\\u with one digit", S_BAD("\"\\u1\"") },
    { "\\u with two digits", S_BAD("\"\\u12\"") },
    { "\\u with three digits", S_BAD("\"\\u123\"") },
    { "\\u with a non-hex digit", S_BAD("\"\\u12g4\"") },
    { "\\uGGGG", S_BAD("\"\\uGGGG\"") },
    { "\\u with a space", S_BAD("\"\\u 123\"") },
    { "\\U", S_BAD("\"\\U0041\"") },
    { "\\x", S_BAD("\"\\x41\"") },
    { "\\a", S_BAD("\"\\a\"") },
    { "\\v", S_BAD("\"\\v\"") },
    { "\\0", S_BAD("\"\\0\"") },
    { "\\'", S_BAD("\"\\'\"") },
    { "backslash space", S_BAD("\"\\ \"") },
    { "backslash before UTF-8", S_BAD("\"\\\xc3\xa9\"") },
    { "unterminated", S_BAD("\"abc") },
    { "lone quote", S_BAD("\"") },
    { "escaped closing quote", S_BAD("\"abc\\\"") },
    { "ends in a backslash", S_BAD("\"\\") },
    { "raw 0x01", S_BAD("\"\x01\"") },
    { "raw 0x1f", S_BAD("\"\x1f\"") },
    { "raw tab", S_BAD("\"a\tb\"") },
    { "raw newline", S_BAD("\"a\nb\"") },
    { "raw carriage return", S_BAD("\"\r\"") },
    { "raw NUL", S_BAD("\"a\0b\"") },
    { "lone continuation byte 0x80", S_BAD("\"\x80\"") },
    { "lone continuation byte 0xBF", S_BAD("\"a\xbf" "b\"") },
    { "overlong C0 AF", S_BAD("\"\xc0\xaf\"") },
    { "overlong C1 BF", S_BAD("\"\xc1\xbf\"") },
    { "overlong 3-byte E0 80 80", S_BAD("\"\xe0\x80\x80\"") },
    { "overlong 3-byte E0 9F BF", S_BAD("\"\xe0\x9f\xbf\"") },
    { "overlong 4-byte F0 80 80 80", S_BAD("\"\xf0\x80\x80\x80\"") },
    { "overlong 4-byte F0 8F BF BF", S_BAD("\"\xf0\x8f\xbf\xbf\"") },
    { "encoded surrogate ED A0 80", S_BAD("\"\xed\xa0\x80\"") },
    { "encoded surrogate ED BF BF", S_BAD("\"\xed\xbf\xbf\"") },
    { "encoded surrogate pair", S_BAD("\"\xed\xa0\xbd\xed\xb8\x80\"") },
    { "above U+10FFFF F4 90 80 80", S_BAD("\"\xf4\x90\x80\x80\"") },
    { "F5 lead byte", S_BAD("\"\xf5\x80\x80\x80\"") },
    { "5-byte form", S_BAD("\"\xf8\x88\x80\x80\x80\"") },
    { "0xFE", S_BAD("\"\xfe\"") },
    { "0xFF", S_BAD("\"\xff\"") },
    { "2-byte lead then ASCII", S_BAD("\"\xc3" "A\"") },
    { "3-byte lead, bad second byte", S_BAD("\"\xe2\x28\xa1\"") },
    { "3-byte, bad third byte", S_BAD("\"\xe2\x82\x28\"") },
    { "truncated 3-byte before the quote", S_BAD("\"\xe2\x82\"") },
    { "extra continuation byte", S_BAD("\"\xc3\xa9\xa9\"") },
    { "truncated 2-byte at end of input", S_BAD("\"\xc3") },
    { "truncated 3-byte at end of input", S_BAD("\"\xe2\x82") },
    { "truncated 4-byte at end of input", S_BAD("\"\xf0\x9f\x98") },
};
#define NSTR (sizeof str_rows / sizeof str_rows[0])

static void check_str_tok(const srow *r, const cadre_json_token *t, cadre_json_type type,
                          const char *in, size_t len, size_t at)
{
    assert_int_equal(t->type, type);
    assert_int_equal(t->offset, at);
    assert_non_null(t->str.ptr);
    if (t->str.len != r->out_len || memcmp(t->str.ptr, r->out, r->out_len) != 0)
        fail_msg("decoded to %zu bytes \"%s\"", t->str.len, cstr(t->str.ptr, t->str.len));
    if (r->where == SLICE)
        assert_ptr_equal(t->str.ptr, in + at + 1);
    else if (r->where == COPY)
        assert_false(in_buffer(t->str.ptr, in, len));
}

static void test_str_row(void **state)
{
    const srow *r = *state;
    size_t len;
    /* as a value, as a key, as an array element */
    char *as_value = dup_exact(r->in, r->len);
    char *as_key = wrap("{", r->in, r->len, ":0}", &len);
    size_t key_len = len;
    char *as_elem = wrap("[1,", r->in, r->len, "]", &len);
    size_t elem_len = len;
    if (!r->ok) {
        expect_invalid(as_value, r->len, 0, -1);
        expect_invalid(as_key, key_len, 0, -1);
        expect_invalid(as_elem, elem_len, 0, -1);
        return;
    }
    expect_valid(as_value, r->len, 0);
    expect_valid(as_key, key_len, 0);
    expect_valid(as_elem, elem_len, 0);

    cadre_json_reader rd;
    cadre_json_token t;
    cadre_json_reader_init(&rd, as_value, r->len, &arena, 0);
    assert_int_equal(cadre_json_next(&rd, &t), 0);
    check_str_tok(r, &t, CADRE_JSON_STRING, as_value, r->len, 0);

    cadre_json_reader_init(&rd, as_key, key_len, &arena, 0);
    assert_int_equal(cadre_json_next(&rd, &t), 0);
    assert_int_equal(t.type, CADRE_JSON_OBJECT);
    assert_int_equal(cadre_json_next(&rd, &t), 0);
    check_str_tok(r, &t, CADRE_JSON_KEY, as_key, key_len, 1);

    cadre_json_reader_init(&rd, as_elem, elem_len, &arena, 0);
    for (int k = 0; k < 3; k++)
        assert_int_equal(cadre_json_next(&rd, &t), 0);
    check_str_tok(r, &t, CADRE_JSON_STRING, as_elem, elem_len, 3);
}

/* ---------------------------------------------------------------------------------------------
 * Depth
 * ------------------------------------------------------------------------------------------- */

static void check_depth(size_t max_depth, size_t limit)
{
    size_t len;
    char *doc = nested_arrays(limit, &len);
    expect_valid(doc, len, max_depth);
    doc = nested_arrays(limit + 1, &len);
    /* the problem is the bracket that opens level limit + 1 */
    expect_invalid(doc, len, max_depth, (long)limit);
    doc = nested_objects(limit, &len);
    expect_valid(doc, len, max_depth);
    doc = nested_objects(limit + 1, &len);
    expect_invalid(doc, len, max_depth, (long)(5 * limit));
}

static void test_depth_5(void **state)
{
    check_depth(5, 5);
    /* arrays and objects count together; scalars do not add a level */
    expect_valid("{\"a\":[{\"b\":[{}]}]}", 18, 5);
    expect_invalid("{\"a\":[{\"b\":[{\"c\":[]}]}]}", 24, 5, 17);
    expect_valid("[[[[[1,\"x\",null]]]]]", 20, 5);
    /* the depth goes down again at each end */
    expect_valid("[[[[[]]]],[[[[]]]],[[[[]]]]]", 28, 5);
}

static void test_depth_1_and_2(void **state)
{
    expect_valid("[]", 2, 1);
    expect_valid("{}", 2, 1);
    expect_valid("{\"a\":1,\"b\":\"x\"}", 15, 1);
    expect_valid("7", 1, 1);
    expect_invalid("[[]]", 4, 1, 1);
    expect_invalid("{\"a\":{}}", 8, 1, 5);
    expect_valid("[{\"a\":1}]", 9, 2);
    expect_invalid("[{\"a\":[1]}]", 11, 2, 6);
    expect_valid("[[],[],[]]", 10, 2);
    expect_invalid("[[],[],[[]]]", 12, 2, 8);
}

static void test_depth_default(void **state)
{
    assert_int_equal(CADRE_JSON_DEFAULT_DEPTH, 64);
    check_depth(0, CADRE_JSON_DEFAULT_DEPTH);
    check_depth(CADRE_JSON_DEFAULT_DEPTH, CADRE_JSON_DEFAULT_DEPTH);
}

static void test_depth_max(void **state)
{
    check_depth(CADRE_JSON_MAX_DEPTH, CADRE_JSON_MAX_DEPTH);
    check_depth(1000, 1000);
}

/*
 * The header allows max_depth "at most CADRE_JSON_MAX_DEPTH" and the reader keeps one bit per
 * level in a fixed array: a larger request must not let a document go deeper than that array.
 */
static void test_depth_above_max_is_capped(void **state)
{
    size_t len;
    char *doc = nested_arrays(CADRE_JSON_MAX_DEPTH + 1, &len);
    expect_invalid(doc, len, CADRE_JSON_MAX_DEPTH + 1, -1);
    expect_invalid(doc, len, SIZE_MAX, -1);
    doc = nested_arrays(100000, &len);
    expect_invalid(doc, len, 100000, -1);
}

/* Deep unclosed nesting: refused (by depth or by the end of input) without a crash. */
static void test_depth_unclosed(void **state)
{
    size_t n = 100000;
    char *doc = tmalloc(n);
    memset(doc, '[', n);
    expect_invalid(doc, n, 0, CADRE_JSON_DEFAULT_DEPTH);
    expect_invalid(doc, n, CADRE_JSON_MAX_DEPTH, CADRE_JSON_MAX_DEPTH);
    expect_invalid(doc, 100, 100, 100); /* within the limit: the end of input is the problem */
}

/* ---------------------------------------------------------------------------------------------
 * Errors, skip, validate
 * ------------------------------------------------------------------------------------------- */

static void test_error_sticky_after_tokens(void **state)
{
    static const char doc[] = "[1,2,]";
    char *in = dup_exact(doc, 6);
    cadre_json_reader rd;
    cadre_json_token t;
    size_t off = 99;
    cadre_json_reader_init(&rd, in, 6, &arena, 0);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(cadre_json_next(&rd, &t), 0);
        assert_null(cadre_json_error(&rd, NULL));
    }
    assert_int_equal(t.type, CADRE_JSON_NUMBER);
    assert_int_equal(t.i, 2);
    assert_int_equal(cadre_json_next(&rd, &t), CADRE_EPARSE);
    assert_int_equal(t.type, CADRE_JSON_NONE);
    const char *reason = cadre_json_error(&rd, &off);
    assert_non_null(reason);
    assert_true(reason[0] != '\0');
    assert_int_equal(off, 5);
    for (int k = 0; k < 3; k++) {
        assert_int_equal(cadre_json_next(&rd, &t), CADRE_EPARSE);
        assert_string_equal(cadre_json_error(&rd, &off), reason);
        assert_int_equal(off, 5);
    }
}

static void expect_next(cadre_json_reader *rd, cadre_json_type type, const char *str)
{
    cadre_json_token t;
    int rc = cadre_json_next(rd, &t);
    if (rc != 0)
        fail_msg("next: %d (%s)", rc, cadre_json_error(rd, NULL));
    if (t.type != type)
        fail_msg("type %d, expected %d", (int)t.type, (int)type);
    if (str)
        assert_string_equal(cstr(t.str.ptr, t.str.len), str);
}

static void test_skip_nested(void **state)
{
    static const char doc[] = "{\"a\":{\"x\":[1,{\"y\":2}],\"z\":\"s\\u0041\"},\"b\":[[],[1,[2]]],"
                              "\"c\":3,\"d\":\"v\",\"e\":{},\"f\":[],\"g\":[{\"h\":[[{}]]}]}";
    size_t len = sizeof doc - 1;
    char *in = dup_exact(doc, len);
    cadre_json_reader rd;
    cadre_json_token t;
    cadre_json_reader_init(&rd, in, len, &arena, 0);
    expect_next(&rd, CADRE_JSON_OBJECT, NULL);
    expect_next(&rd, CADRE_JSON_KEY, "a");
    assert_int_equal(cadre_json_next(&rd, &t), 0);
    assert_int_equal(t.type, CADRE_JSON_OBJECT);
    assert_int_equal(cadre_json_skip(&rd, &t), 0);
    assert_int_equal(cadre_json_next(&rd, &t), 0);
    assert_int_equal(t.type, CADRE_JSON_KEY);
    assert_string_equal(cstr(t.str.ptr, t.str.len), "b");
    assert_int_equal(t.offset, 37);
    assert_int_equal(cadre_json_next(&rd, &t), 0);
    assert_int_equal(t.type, CADRE_JSON_ARRAY);
    assert_int_equal(cadre_json_skip(&rd, &t), 0);
    expect_next(&rd, CADRE_JSON_KEY, "c");
    assert_int_equal(cadre_json_next(&rd, &t), 0);
    assert_int_equal(t.type, CADRE_JSON_NUMBER);
    assert_int_equal(cadre_json_skip(&rd, &t), 0); /* a scalar: nothing to skip */
    expect_next(&rd, CADRE_JSON_KEY, "d");
    assert_int_equal(cadre_json_next(&rd, &t), 0);
    assert_int_equal(t.type, CADRE_JSON_STRING);
    assert_int_equal(cadre_json_skip(&rd, &t), 0);
    expect_next(&rd, CADRE_JSON_KEY, "e");
    assert_int_equal(cadre_json_next(&rd, &t), 0);
    assert_int_equal(cadre_json_skip(&rd, &t), 0); /* {} */
    expect_next(&rd, CADRE_JSON_KEY, "f");
    assert_int_equal(cadre_json_next(&rd, &t), 0);
    assert_int_equal(cadre_json_skip(&rd, &t), 0); /* [] */
    expect_next(&rd, CADRE_JSON_KEY, "g");
    assert_int_equal(cadre_json_next(&rd, &t), 0);
    assert_int_equal(t.type, CADRE_JSON_ARRAY);
    /* read into the array, then skip the object inside it */
    expect_next(&rd, CADRE_JSON_OBJECT, NULL);
    {
        cadre_json_token o = { .type = CADRE_JSON_OBJECT };
        assert_int_equal(cadre_json_skip(&rd, &o), 0);
    }
    expect_next(&rd, CADRE_JSON_ARRAY_END, NULL);
    expect_next(&rd, CADRE_JSON_OBJECT_END, NULL);
    expect_next(&rd, CADRE_JSON_END, NULL);
}

static void test_skip_top_level(void **state)
{
    static const char doc[] = " [1,{\"a\":[true,null]},\"x\"] ";
    size_t len = sizeof doc - 1;
    char *in = dup_exact(doc, len);
    cadre_json_reader rd;
    cadre_json_token t;
    cadre_json_reader_init(&rd, in, len, &arena, 0);
    assert_int_equal(cadre_json_next(&rd, &t), 0);
    assert_int_equal(cadre_json_skip(&rd, &t), 0);
    expect_next(&rd, CADRE_JSON_END, NULL);

    /* skipping does not hide trailing data */
    in = dup_exact("[[1]] 2", 7);
    cadre_json_reader_init(&rd, in, 7, &arena, 0);
    assert_int_equal(cadre_json_next(&rd, &t), 0);
    assert_int_equal(cadre_json_skip(&rd, &t), 0);
    assert_int_equal(cadre_json_next(&rd, &t), CADRE_EPARSE);
}

static void test_skip_errors(void **state)
{
    cadre_json_reader rd;
    cadre_json_token t;
    size_t off;
    /* invalid content inside the skipped value */
    char *in = dup_exact("{\"a\":[1,{\"b\":2,}],\"c\":1}", 24);
    cadre_json_reader_init(&rd, in, 24, &arena, 0);
    expect_next(&rd, CADRE_JSON_OBJECT, NULL);
    expect_next(&rd, CADRE_JSON_KEY, "a");
    assert_int_equal(cadre_json_next(&rd, &t), 0);
    assert_int_equal(cadre_json_skip(&rd, &t), CADRE_EPARSE);
    assert_non_null(cadre_json_error(&rd, &off));
    assert_int_equal(off, 15);
    assert_int_equal(cadre_json_next(&rd, &t), CADRE_EPARSE);
    /* skipping again after the error fails the same way */
    {
        cadre_json_token arr = { .type = CADRE_JSON_ARRAY, .offset = 5 };
        assert_int_equal(cadre_json_skip(&rd, &arr), CADRE_EPARSE);
        assert_non_null(cadre_json_error(&rd, &off));
        assert_int_equal(off, 15);
    }

    /* input ends inside the skipped value */
    in = dup_exact("{\"a\":[1,[2,3]", 13);
    cadre_json_reader_init(&rd, in, 13, &arena, 0);
    expect_next(&rd, CADRE_JSON_OBJECT, NULL);
    expect_next(&rd, CADRE_JSON_KEY, "a");
    assert_int_equal(cadre_json_next(&rd, &t), 0);
    assert_int_equal(cadre_json_skip(&rd, &t), CADRE_EPARSE);
    assert_non_null(cadre_json_error(&rd, &off));
    assert_int_equal(off, 13);

    /* the depth limit holds inside skipped values */
    in = dup_exact("{\"a\":[[[1]]]}", 13);
    cadre_json_reader_init(&rd, in, 13, &arena, 3);
    expect_next(&rd, CADRE_JSON_OBJECT, NULL);
    expect_next(&rd, CADRE_JSON_KEY, "a");
    assert_int_equal(cadre_json_next(&rd, &t), 0);
    assert_int_equal(cadre_json_skip(&rd, &t), CADRE_EPARSE);
    assert_non_null(cadre_json_error(&rd, &off));
    assert_int_equal(off, 7);

    /* an invalid string inside the skipped value */
    in = dup_exact("[[\"\\ud800\"],1]", 14);
    cadre_json_reader_init(&rd, in, 14, &arena, 0);
    expect_next(&rd, CADRE_JSON_ARRAY, NULL);
    assert_int_equal(cadre_json_next(&rd, &t), 0);
    assert_int_equal(cadre_json_skip(&rd, &t), CADRE_EPARSE);
}

static void test_validate(void **state)
{
    static const char *const good[] = {
        "{\"a\":[1,2,{\"b\":null}],\"c\":\"\\u00e9\"}", "[]", "\"\"", " 0 ", "[1e-400]",
        "{\"\xf0\x9f\x98\x80\":\"\\ud83d\\ude00\"}",
    };
    static const char *const bad[] = {
        "[1,]", "{\"a\"}", "\"\\ud800\"", "[1e400]", "01", "\"\x80\"", "[\"a\" \"b\"]", "{}{}", "",
    };
    const char *reason;
    size_t off;
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
        size_t n = strlen(good[k]);
        char *in = dup_exact(good[k], n);
        reason = "untouched";
        off = 777;
        assert_int_equal(cadre_json_validate(in, n, 0, &reason, &off), 0);
        assert_int_equal(cadre_json_validate(in, n, 0, NULL, NULL), 0);
    }
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        size_t n = strlen(bad[k]);
        char *in = dup_exact(bad[k], n);
        reason = NULL;
        off = 777;
        assert_int_equal(cadre_json_validate(in, n, 0, &reason, &off), CADRE_EPARSE);
        assert_non_null(reason);
        assert_true(off <= n);
        assert_int_equal(cadre_json_validate(in, n, 0, &reason, NULL), CADRE_EPARSE);
        assert_int_equal(cadre_json_validate(in, n, 0, NULL, &off), CADRE_EPARSE);
    }
    /* validate takes its own depth */
    assert_int_equal(cadre_json_validate("[[[]]]", 6, 3, NULL, NULL), 0);
    assert_int_equal(cadre_json_validate("[[[]]]", 6, 2, &reason, &off), CADRE_EPARSE);
    assert_int_equal(off, 2);
}

/* Decoded strings with escapes live in the arena, which must outlive the tokens only. */
static void test_many_escaped_strings(void **state)
{
    size_t n = 2000, len = 0;
    char *doc = tmalloc(2 + n * 9);
    doc[len++] = '[';
    for (size_t k = 0; k < n; k++) {
        memcpy(doc + len, "\"\\u0041\",", 9);
        len += 9;
    }
    doc[len - 1] = ']';
    cadre_json_reader rd;
    cadre_json_token t;
    cadre_json_reader_init(&rd, doc, len, &arena, 0);
    assert_int_equal(cadre_json_next(&rd, &t), 0);
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(cadre_json_next(&rd, &t), 0);
        assert_int_equal(t.type, CADRE_JSON_STRING);
        assert_int_equal(t.str.len, 1);
        assert_int_equal(t.str.ptr[0], 'A');
        assert_int_equal(t.offset, 1 + 9 * k);
    }
    expect_next(&rd, CADRE_JSON_ARRAY_END, NULL);
    expect_next(&rd, CADRE_JSON_END, NULL);
}

/* ---------------------------------------------------------------------------------------------
 * Writer
 * ------------------------------------------------------------------------------------------- */

static void expect_out(const cadre_buf *b, const char *exp)
{
    assert_string_equal(cstr(b->data, b->len), exp);
}

/* The output is always valid JSON (checked with the reader). */
static void expect_valid_json(const cadre_buf *b)
{
    const char *reason = NULL;
    size_t off = 0;
    char *in = dup_exact(b->data, b->len);
    if (cadre_json_validate(in, b->len, CADRE_JSON_MAX_DEPTH, &reason, &off) != 0)
        fail_msg("writer output is not JSON (%s at %zu): %s", reason, off, cstr(b->data, b->len));
}

static void test_writer_structure(void **state)
{
    cadre_buf *b = new_buf(1 << 20);
    cadre_json_writer w;
    cadre_json_writer_init(&w, b);
    assert_ptr_equal(w.out, b);
    cadre_json_begin_object(&w);
    cadre_json_key(&w, "a", 1);
    cadre_json_begin_array(&w);
    cadre_json_int(&w, 1);
    cadre_json_string(&w, "x", 1);
    cadre_json_bool(&w, true);
    cadre_json_bool(&w, false);
    cadre_json_null(&w);
    cadre_json_double(&w, -1.5);
    cadre_json_raw(&w, "2.50", 4);
    cadre_json_end_array(&w);
    cadre_json_key(&w, "b", 1);
    cadre_json_begin_object(&w);
    cadre_json_end_object(&w);
    cadre_json_key(&w, "c", 1);
    cadre_json_begin_array(&w);
    cadre_json_end_array(&w);
    cadre_json_key(&w, "d", 1);
    cadre_json_begin_object(&w);
    cadre_json_key(&w, "e", 1);
    cadre_json_begin_object(&w);
    cadre_json_key(&w, "f", 1);
    cadre_json_begin_array(&w);
    cadre_json_begin_array(&w);
    cadre_json_end_array(&w);
    cadre_json_begin_object(&w);
    cadre_json_end_object(&w);
    cadre_json_end_array(&w);
    cadre_json_end_object(&w);
    cadre_json_key(&w, "g", 1);
    cadre_json_raw(&w, "{\"r\":[]}", 8);
    cadre_json_end_object(&w);
    cadre_json_end_object(&w);
    assert_int_equal(cadre_json_writer_error(&w), 0);
    expect_out(b, "{\"a\":[1,\"x\",true,false,null,-1.5,2.50],\"b\":{},\"c\":[],"
                  "\"d\":{\"e\":{\"f\":[[],{}]},\"g\":{\"r\":[]}}}");
    expect_valid_json(b);
}

static void test_writer_top_level_and_arrays(void **state)
{
    cadre_json_writer w;
    cadre_buf *b = new_buf(1 << 20);
    cadre_json_writer_init(&w, b);
    cadre_json_null(&w);
    expect_out(b, "null");

    b = new_buf(1 << 20);
    cadre_json_writer_init(&w, b);
    cadre_json_string(&w, "hi", 2);
    expect_out(b, "\"hi\"");

    b = new_buf(1 << 20);
    cadre_json_writer_init(&w, b);
    cadre_json_begin_array(&w);
    cadre_json_begin_array(&w);
    cadre_json_int(&w, 1);
    cadre_json_int(&w, 2);
    cadre_json_end_array(&w);
    cadre_json_begin_array(&w);
    cadre_json_end_array(&w);
    cadre_json_begin_array(&w);
    cadre_json_begin_object(&w);
    cadre_json_key(&w, "k", 1);
    cadre_json_int(&w, 3);
    cadre_json_key(&w, "l", 1);
    cadre_json_int(&w, 4);
    cadre_json_end_object(&w);
    cadre_json_end_array(&w);
    cadre_json_bool(&w, true);
    cadre_json_end_array(&w);
    assert_int_equal(cadre_json_writer_error(&w), 0);
    expect_out(b, "[[1,2],[],[{\"k\":3,\"l\":4}],true]");
}

static void test_writer_keys_escaped(void **state)
{
    cadre_json_writer w;
    cadre_buf *b = new_buf(1 << 20);
    cadre_json_writer_init(&w, b);
    cadre_json_begin_object(&w);
    cadre_json_key(&w, "a\"b\\c", 5);
    cadre_json_int(&w, 1);
    cadre_json_key(&w, "", 0);
    cadre_json_int(&w, 2);
    cadre_json_key(&w, "caf\xc3\xa9", 5);
    cadre_json_int(&w, 3);
    cadre_json_key(&w, "x\0y", 3); /* the length counts, not a NUL */
    cadre_json_int(&w, 4);
    cadre_json_end_object(&w);
    assert_int_equal(cadre_json_writer_error(&w), 0);
    expect_out(b, "{\"a\\\"b\\\\c\":1,\"\":2,\"caf\xc3\xa9\":3,\"x\\u0000y\":4}");

    /* control characters and invalid UTF-8 in a key still give JSON */
    b = new_buf(1 << 20);
    cadre_json_writer_init(&w, b);
    cadre_json_begin_object(&w);
    cadre_json_key(&w, "\n\x01\x80\xff", 4);
    cadre_json_null(&w);
    cadre_json_end_object(&w);
    expect_valid_json(b);
}

/* cadre_json_string: exact rows, with every spelling the contract allows. */
typedef struct wsrow {
    const char *name;
    const char *in;
    size_t len;
    const char *out[4]; /* acceptable outputs, quotes included */
} wsrow;

static const wsrow wstr_rows[] = {
    { "empty", IN(""), { "\"\"" } },
    { "ASCII", IN("abc"), { "\"abc\"" } },
    { "quote", IN("a\"b"), { "\"a\\\"b\"" } },
    { "backslash", IN("a\\b"), { "\"a\\\\b\"" } },
    { "newline", IN("\n"), { "\"\\n\"", "\"\\u000a\"", "\"\\u000A\"" } },
    { "tab", IN("\t"), { "\"\\t\"", "\"\\u0009\"" } },
    { "carriage return", IN("\r"), { "\"\\r\"", "\"\\u000d\"", "\"\\u000D\"" } },
    { "backspace", IN("\b"), { "\"\\b\"", "\"\\u0008\"" } },
    { "form feed", IN("\f"), { "\"\\f\"", "\"\\u000c\"", "\"\\u000C\"" } },
    { "0x01", IN("\x01"), { "\"\\u0001\"" } },
    { "0x1f", IN("\x1f"), { "\"\\u001f\"", "\"\\u001F\"" } },
    { "NUL", IN("a\0b"), { "\"a\\u0000b\"" } },
    { "slash", IN("/"), { "\"/\"", "\"\\/\"" } },
    { "DEL", IN("\x7f"), { "\"\x7f\"", "\"\\u007f\"", "\"\\u007F\"" } },
    { "UTF-8 kept as is", IN("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"),
      { "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"" } },
    { "U+10FFFF kept", IN("\xf4\x8f\xbf\xbf"), { "\"\xf4\x8f\xbf\xbf\"" } },
    { "U+D7FF and U+E000 kept", IN("\xed\x9f\xbf\xee\x80\x80"),
      { "\"\xed\x9f\xbf\xee\x80\x80\"" } },
    { "0x80 alone", IN("\x80"), { "\"\xef\xbf\xbd\"" } },
    { "0xFF between text", IN("a\xff" "b"), { "\"a\xef\xbf\xbd" "b\"" } },
    { "0xFE", IN("\xfe"), { "\"\xef\xbf\xbd\"" } },
    { "lead byte then ASCII", IN("\xe2(\xa1"), { "\"\xef\xbf\xbd(\xef\xbf\xbd\"" } },
    { "2-byte lead at end", IN("x\xc3"), { "\"x\xef\xbf\xbd\"" } },
    { "extra continuation byte", IN("\xc3\xa9\xa9"), { "\"\xc3\xa9\xef\xbf\xbd\"" } },
    { "mixed", IN("\"\\\n\xc3\xa9\x80"),
      { "\"\\\"\\\\\\n\xc3\xa9\xef\xbf\xbd\"", "\"\\\"\\\\\\u000a\xc3\xa9\xef\xbf\xbd\"",
        "\"\\\"\\\\\\u000A\xc3\xa9\xef\xbf\xbd\"" } },
};
#define NWSTR (sizeof wstr_rows / sizeof wstr_rows[0])

static void test_wstr_row(void **state)
{
    const wsrow *r = *state;
    char *in = dup_exact(r->in, r->len);
    cadre_json_writer w;
    cadre_buf *b = new_buf(1 << 20);
    cadre_json_writer_init(&w, b);
    cadre_json_string(&w, in, r->len);
    assert_int_equal(cadre_json_writer_error(&w), 0);
    char *got = cstr(b->data, b->len);
    bool match = false;
    for (int k = 0; k < 4 && r->out[k]; k++)
        if (strlen(r->out[k]) == b->len && memcmp(r->out[k], b->data, b->len) == 0)
            match = true;
    if (!match)
        fail_msg("wrote %s, expected %s", got, r->out[0]);
    expect_valid_json(b);

    /* reading it back gives the input, invalid bytes replaced */
    bool has_invalid = strstr(r->out[0], "\xef\xbf\xbd") != NULL &&
                       memmem(r->in, r->len, "\xef\xbf\xbd", 3) == NULL;
    if (!has_invalid) {
        cadre_json_reader rd;
        cadre_json_token t;
        cadre_json_reader_init(&rd, b->data, b->len, &arena, 0);
        assert_int_equal(cadre_json_next(&rd, &t), 0);
        assert_int_equal(t.type, CADRE_JSON_STRING);
        assert_int_equal(t.str.len, r->len);
        assert_memory_equal(t.str.ptr, r->in, r->len);
    }
}

/*
 * Multi-byte invalid sequences: the contract does not say whether one U+FFFD replaces the whole
 * maximal subpart or each byte, so anything from 1 to nbad replacements is accepted; the bytes
 * around must be kept and the output must be JSON.
 */
static void test_writer_invalid_utf8_sequences(void **state)
{
    static const struct {
        const char *in;
        size_t len, pre, nbad;
    } rows[] = {
        { "\xc0\xaf", 2, 0, 2 },           /* overlong */
        { "x\xed\xa0\x80y", 5, 1, 3 },     /* encoded surrogate */
        { "\xf4\x90\x80\x80", 4, 0, 4 },   /* > U+10FFFF */
        { "ab\xe2\x82", 4, 2, 2 },         /* truncated at the end */
        { "\xf0\x9f\x98", 3, 0, 3 },       /* truncated at the end */
        { "\xe0\x80\x80z", 4, 0, 3 },      /* overlong 3-byte */
        { "\xf8\x88\x80\x80\x80", 5, 0, 5 }, /* 5-byte form */
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        char *in = dup_exact(rows[k].in, rows[k].len);
        cadre_json_writer w;
        cadre_buf *b = new_buf(1 << 20);
        cadre_json_writer_init(&w, b);
        cadre_json_string(&w, in, rows[k].len);
        assert_int_equal(cadre_json_writer_error(&w), 0);
        expect_valid_json(b);
        size_t post = rows[k].len - rows[k].pre - rows[k].nbad;
        const char *o = b->data;
        size_t rep = b->len - 2 - rows[k].pre - post; /* bytes of replacement */
        if (b->len < 2 + rows[k].pre + post || rep % 3 != 0 || rep / 3 < 1 ||
            rep / 3 > rows[k].nbad)
            fail_msg("row %zu: wrote %s", k, cstr(b->data, b->len));
        assert_memory_equal(o + 1, rows[k].in, rows[k].pre);
        for (size_t i = 0; i < rep; i += 3)
            assert_memory_equal(o + 1 + rows[k].pre + i, "\xef\xbf\xbd", 3);
        assert_memory_equal(o + 1 + rows[k].pre + rep, rows[k].in + rows[k].pre + rows[k].nbad,
                            post);
        nbufs = 0;
        cadre_buf_free(b);
    }
}

/* All 256 byte values in one string: always valid JSON. */
static void test_writer_every_byte(void **state)
{
    char in[256];
    for (int i = 0; i < 256; i++)
        in[i] = (char)i;
    cadre_json_writer w;
    cadre_buf *b = new_buf(1 << 20);
    cadre_json_writer_init(&w, b);
    cadre_json_string(&w, in, 256);
    assert_int_equal(cadre_json_writer_error(&w), 0);
    expect_valid_json(b);
    for (size_t i = 0; i < b->len; i++)
        assert_true((unsigned char)b->data[i] >= 0x20);
}

static void test_writer_ints(void **state)
{
    static const struct {
        int64_t v;
        const char *out;
    } rows[] = {
        { 0, "0" },
        { -1, "-1" },
        { 1, "1" },
        { 10, "10" },
        { -10, "-10" },
        { INT64_MAX, "9223372036854775807" },
        { INT64_MIN, "-9223372036854775808" },
        { INT64_MIN + 1, "-9223372036854775807" },
    };
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        cadre_json_writer w;
        cadre_buf *b = new_buf(1 << 10);
        cadre_json_writer_init(&w, b);
        cadre_json_int(&w, rows[k].v);
        assert_int_equal(cadre_json_writer_error(&w), 0);
        expect_out(b, rows[k].out);
        nbufs = 0;
        cadre_buf_free(b);
    }
    cadre_json_writer w;
    cadre_buf *b = new_buf(1 << 10);
    cadre_json_writer_init(&w, b);
    cadre_json_begin_array(&w);
    cadre_json_int(&w, INT64_MIN);
    cadre_json_int(&w, 0);
    cadre_json_int(&w, -1);
    cadre_json_int(&w, INT64_MAX);
    cadre_json_end_array(&w);
    expect_out(b, "[-9223372036854775808,0,-1,9223372036854775807]");
}

/* cadre_json_double */
typedef struct dblrow {
    const char *name;
    double v;
    const char *out; /* exact output, or NULL */
    int digits;      /* significant digits of the shortest form, or 0 */
} dblrow;

static const dblrow dbl_rows[] = {
    { "0.1", 0.1, "0.1", 1 },
    { "1.0 keeps a fraction", 1.0, "1.0", 1 },
    { "-2.5", -2.5, "-2.5", 2 },
    { "1e300", 1e300, NULL, 1 },
    { "1e-300", 1e-300, NULL, 1 },
    { "5e-324", 4.9406564584124654e-324, NULL, 1 },
    { "1e-320 (subnormal)", 1e-320, NULL, 1 },
    { "1/3", 1 / 3.0, NULL, 16 },
    { "2/3", 2 / 3.0, NULL, 16 },
    { "0.1 + 0.2", 0.30000000000000004, NULL, 17 },
    { "DBL_MAX", DBL_MAX, NULL, 17 },
    { "-DBL_MAX", -DBL_MAX, NULL, 17 },
    { "DBL_MIN", DBL_MIN, NULL, 17 },
    { "0.0", 0.0, NULL, 0 },
    { "-0.0 stays negative", -0.0, NULL, 0 },
    { "123456.789", 123456.789, NULL, 9 },
    { "1e21", 1e21, NULL, 1 },
    { "1e22", 1e22, NULL, 1 },
    { "1e-7", 1e-7, NULL, 1 },
    { "2^53", 9007199254740992.0, NULL, 16 },
    { "2^63", 9223372036854775808.0, NULL, 0 },
    { "100", 100.0, NULL, 1 },
    { "-1e-5", -1e-5, NULL, 1 },
    { "pi", 3.141592653589793, NULL, 16 },
};
#define NDBLR (sizeof dbl_rows / sizeof dbl_rows[0])

/* significant digits of a JSON number's mantissa, without leading and trailing zeros */
static int sig_digits(const char *s)
{
    char d[64];
    int n = 0;
    for (; *s && *s != 'e' && *s != 'E'; s++)
        if (*s >= '0' && *s <= '9' && n < 63)
            d[n++] = *s;
    int a = 0;
    while (a < n && d[a] == '0')
        a++;
    while (n > a && d[n - 1] == '0')
        n--;
    return n - a;
}

static void test_dbl_row(void **state)
{
    const dblrow *r = *state;
    cadre_json_writer w;
    cadre_buf *b = new_buf(1 << 10);
    cadre_json_writer_init(&w, b);
    cadre_json_double(&w, r->v);
    assert_int_equal(cadre_json_writer_error(&w), 0);
    char *s = cstr(b->data, b->len);
    if (r->out)
        assert_string_equal(s, r->out);
    expect_valid_json(b);
    /* reads back to the same value (strtod and the reader) */
    char *end;
    double back = strtod(s, &end);
    assert_true(*end == '\0');
    if (!(back == r->v) || !!signbit(back) != !!signbit(r->v))
        fail_msg("wrote %s, reads back as %.17g, expected %.17g", s, back, r->v);
    cadre_json_reader rd;
    cadre_json_token t;
    cadre_json_reader_init(&rd, b->data, b->len, &arena, 0);
    assert_int_equal(cadre_json_next(&rd, &t), 0);
    assert_int_equal(t.type, CADRE_JSON_NUMBER);
    assert_true(t.d == r->v);
    if (r->digits && sig_digits(s) != r->digits)
        fail_msg("wrote %s: %d significant digits, the shortest form has %d", s, sig_digits(s),
                 r->digits);
}

static void test_writer_double_nonfinite(void **state)
{
    static const double bad[] = { NAN, INFINITY, -INFINITY };
    for (size_t k = 0; k < 3; k++) {
        cadre_json_writer w;
        cadre_buf *b = new_buf(1 << 10);
        cadre_json_writer_init(&w, b);
        cadre_json_double(&w, bad[k]);
        expect_out(b, "null");
        assert_int_equal(cadre_json_writer_error(&w), CADRE_EINVAL);
        nbufs = 0;
        cadre_buf_free(b);
    }
    /* inside an array: null in its place; the error is sticky */
    cadre_json_writer w;
    cadre_buf *b = new_buf(1 << 10);
    cadre_json_writer_init(&w, b);
    cadre_json_begin_array(&w);
    cadre_json_int(&w, 1);
    cadre_json_double(&w, NAN);
    assert_int_equal(cadre_json_writer_error(&w), CADRE_EINVAL);
    assert_true(b->len >= 7);
    assert_memory_equal(b->data, "[1,null", 7);
    cadre_json_int(&w, 2);
    cadre_json_end_array(&w);
    assert_int_equal(cadre_json_writer_error(&w), CADRE_EINVAL);
}

static void test_writer_too_big(void **state)
{
    cadre_json_writer w;
    cadre_buf *b = new_buf(8);
    cadre_json_writer_init(&w, b);
    cadre_json_string(&w, "0123456789abcdef", 16);
    assert_int_equal(cadre_json_writer_error(&w), CADRE_ETOOBIG);
    assert_true(b->len <= 8);
    /* the first error stays */
    cadre_json_double(&w, NAN);
    cadre_json_int(&w, 1);
    assert_int_equal(cadre_json_writer_error(&w), CADRE_ETOOBIG);
    assert_true(b->len <= 8);

    /* exactly at the limit is fine */
    b = new_buf(7);
    cadre_json_writer_init(&w, b);
    cadre_json_begin_object(&w);
    cadre_json_key(&w, "a", 1);
    cadre_json_int(&w, 1);
    cadre_json_end_object(&w);
    assert_int_equal(cadre_json_writer_error(&w), 0);
    expect_out(b, "{\"a\":1}");

    /* one byte short: the closing brace does not fit */
    b = new_buf(6);
    cadre_json_writer_init(&w, b);
    cadre_json_begin_object(&w);
    cadre_json_key(&w, "a", 1);
    cadre_json_int(&w, 1);
    assert_int_equal(cadre_json_writer_error(&w), 0);
    cadre_json_end_object(&w);
    assert_int_equal(cadre_json_writer_error(&w), CADRE_ETOOBIG);
    assert_true(b->len <= 6);

    /* many small values */
    b = new_buf(100);
    cadre_json_writer_init(&w, b);
    cadre_json_begin_array(&w);
    for (int k = 0; k < 100; k++)
        cadre_json_int(&w, k);
    cadre_json_end_array(&w);
    assert_int_equal(cadre_json_writer_error(&w), CADRE_ETOOBIG);
    assert_true(b->len <= 100);
}

/* The private error field documents CADRE_EINVAL for misuse; an unmatched end is misuse. */
static void test_writer_misuse(void **state)
{
    cadre_json_writer w;
    cadre_buf *b = new_buf(1 << 10);
    cadre_json_writer_init(&w, b);
    cadre_json_end_array(&w);
    assert_int_equal(cadre_json_writer_error(&w), CADRE_EINVAL);

    b = new_buf(1 << 10);
    cadre_json_writer_init(&w, b);
    cadre_json_end_object(&w);
    assert_int_equal(cadre_json_writer_error(&w), CADRE_EINVAL);
}

static void test_writer_deep(void **state)
{
    size_t n = CADRE_JSON_MAX_DEPTH, len;
    cadre_json_writer w;
    cadre_buf *b = new_buf(1 << 20);
    cadre_json_writer_init(&w, b);
    for (size_t k = 0; k < n; k++) {
        cadre_json_begin_array(&w);
        cadre_json_int(&w, (int64_t)k);
    }
    for (size_t k = 0; k < n; k++)
        cadre_json_end_array(&w);
    assert_int_equal(cadre_json_writer_error(&w), 0);
    expect_valid_json(b);

    /* empty nested objects and arrays */
    b = new_buf(1 << 20);
    cadre_json_writer_init(&w, b);
    for (size_t k = 0; k < n; k++)
        cadre_json_begin_array(&w);
    for (size_t k = 0; k < n; k++)
        cadre_json_end_array(&w);
    assert_int_equal(cadre_json_writer_error(&w), 0);
    char *exp = nested_arrays(n, &len);
    assert_int_equal(b->len, len);
    assert_memory_equal(b->data, exp, len);
}

/* ---------------------------------------------------------------------------------------------
 * Reserialize
 * ------------------------------------------------------------------------------------------- */

typedef struct rrow {
    const char *name;
    const char *in;
    size_t len;
    const char *out[3]; /* acceptable outputs; none: CADRE_EPARSE expected */
} rrow;

static const rrow rs_rows[] = {
    { "spaces removed, escapes decoded", IN(" { \"a\" : [1, 2.50, \"x\\u0041\"] } "),
      { "{\"a\":[1,2.50,\"xA\"]}" } },
    { "empty array", IN("[]"), { "[]" } },
    { "empty object with spaces", IN(" {\n} "), { "{}" } },
    { "null", IN("null"), { "null" } },
    { "true with spaces", IN(" true "), { "true" } },
    { "false", IN("\tfalse\n"), { "false" } },
    { "-0 as written", IN("-0"), { "-0" } },
    { "1E+2 as written", IN("1E+2"), { "1E+2" } },
    { "-1.25e-3 as written", IN("[ -1.25e-3 ]"), { "[-1.25e-3]" } },
    { "1e-400 as written", IN("[1e-400]"), { "[1e-400]" } },
    { "big integer as written", IN(" 9223372036854775808 "), { "9223372036854775808" } },
    { "\\u00e9 to UTF-8", IN("\"\\u00e9\""), { "\"\xc3\xa9\"" } },
    { "surrogate pair to UTF-8", IN("\"\\ud83d\\ude00\""), { "\"\xf0\x9f\x98\x80\"" } },
    { "escaped slash", IN("\"a\\/b\""), { "\"a/b\"", "\"a\\/b\"" } },
    { "quote and backslash", IN("\"\\\"\\\\\""), { "\"\\\"\\\\\"" } },
    { "\\u0022 and \\u005c re-escaped", IN("\"\\u0022\\u005c\""), { "\"\\\"\\\\\"" } },
    { "NUL re-escaped", IN("\"\\u0000\""), { "\"\\u0000\"" } },
    { "\\u001f", IN("\"\\u001f\""), { "\"\\u001f\"", "\"\\u001F\"" } },
    { "\\n", IN("\"\\n\""), { "\"\\n\"", "\"\\u000a\"", "\"\\u000A\"" } },
    { "raw UTF-8", IN("[ \"caf\xc3\xa9\" ]"), { "[\"caf\xc3\xa9\"]" } },
    { "nested", IN("{ \"a\" : { \"b\" : { \"c\" : [ [ ] , { } ] } } , \"d\" : \"e\" }"),
      { "{\"a\":{\"b\":{\"c\":[[],{}]}},\"d\":\"e\"}" } },
    { "duplicate keys kept", IN("{\"a\":1,\"a\":2}"), { "{\"a\":1,\"a\":2}" } },
    { "empty key and string", IN("{\"\":\"\"}"), { "{\"\":\"\"}" } },
    { "deep arrays", IN("[1,[2,[3,[4]]]]"), { "[1,[2,[3,[4]]]]" } },
    { "escaped key", IN("{\"k\\u0041\":true}"), { "{\"kA\":true}" } },

    { "trailing comma", IN("[1,]"), { NULL } },
    { "trailing data", IN("{\"a\":1}x"), { NULL } },
    { "lone surrogate", IN("[\"\\ud800\"]"), { NULL } },
    { "empty", IN(""), { NULL } },
    { "overflowing number", IN("[1e400]"), { NULL } },
    { "invalid UTF-8", IN("[\"\x80\"]"), { NULL } },
    { "unclosed", IN("{\"a\":[1,2"), { NULL } },
    { "leading zero", IN("[01]"), { NULL } },
};
#define NRS (sizeof rs_rows / sizeof rs_rows[0])

static int reserialize(const char *in, size_t len, size_t depth, cadre_buf *b)
{
    cadre_json_reader rd;
    cadre_json_writer w;
    cadre_json_reader_init(&rd, in, len, &arena, depth);
    cadre_json_writer_init(&w, b);
    int rc = cadre_json_reserialize(&rd, &w);
    if (rc == CADRE_EPARSE) {
        size_t off = 0;
        assert_non_null(cadre_json_error(&rd, &off));
        assert_true(off <= len);
    }
    return rc;
}

static void test_rs_row(void **state)
{
    const rrow *r = *state;
    char *in = dup_exact(r->in, r->len);
    cadre_buf *b = new_buf(1 << 20);
    int rc = reserialize(in, r->len, 0, b);
    if (!r->out[0]) {
        assert_int_equal(rc, CADRE_EPARSE);
        return;
    }
    assert_int_equal(rc, 0);
    char *got = cstr(b->data, b->len);
    bool match = false;
    for (int k = 0; k < 3 && r->out[k]; k++)
        if (strlen(r->out[k]) == b->len && memcmp(r->out[k], b->data, b->len) == 0)
            match = true;
    if (!match)
        fail_msg("wrote %s, expected %s", got, r->out[0]);
    expect_valid_json(b);
    /* a fixed point */
    cadre_buf *b2 = new_buf(1 << 20);
    char *again = dup_exact(b->data, b->len);
    assert_int_equal(reserialize(again, b->len, 0, b2), 0);
    assert_string_equal(cstr(b2->data, b2->len), got);
}

static void test_reserialize_errors(void **state)
{
    /* the reader's depth limit */
    cadre_buf *b = new_buf(1 << 20);
    assert_int_equal(reserialize("[[[[[[]]]]]]", 12, 5, b), CADRE_EPARSE);
    b = new_buf(1 << 20);
    assert_int_equal(reserialize("[[[[[]]]]]", 10, 5, b), 0);
    expect_out(b, "[[[[[]]]]]");

    /* the writer's limit */
    b = new_buf(5);
    assert_int_equal(reserialize("[1,2,3,4,5,6,7,8,9]", 19, 0, b), CADRE_ETOOBIG);
    assert_true(b->len <= 5);

    /* both at once: whichever comes first, never 0 */
    b = new_buf(4);
    int rc = reserialize("[1,2,3,", 7, 0, b);
    assert_true(rc == CADRE_ETOOBIG || rc == CADRE_EPARSE);
}

static void test_reserialize_deep(void **state)
{
    size_t len;
    char *doc = nested_arrays(CADRE_JSON_MAX_DEPTH, &len);
    cadre_buf *b = new_buf(1 << 20);
    assert_int_equal(reserialize(doc, len, CADRE_JSON_MAX_DEPTH, b), 0);
    assert_int_equal(b->len, len);
    assert_memory_equal(b->data, doc, len);
    b = new_buf(1 << 20);
    assert_int_equal(reserialize(doc, len, 0, b), CADRE_EPARSE);
}

/* ---------------------------------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------------------------------- */

#define ROWS(var, rows, n, fn)                                                                     \
    struct CMUnitTest *var = calloc(n, sizeof *var);                                               \
    if (!var)                                                                                      \
        return 1;                                                                                  \
    for (size_t i = 0; i < n; i++)                                                                 \
        var[i] = (struct CMUnitTest){ rows[i].name, fn, setup, teardown, (void *)&rows[i] };

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    ROWS(docs, doc_rows, NDOC, test_doc_row)
    ROWS(nums, num_rows, NNUM, test_num_row)
    ROWS(strs, str_rows, NSTR, test_str_row)
    ROWS(wstrs, wstr_rows, NWSTR, test_wstr_row)
    ROWS(dbls, dbl_rows, NDBLR, test_dbl_row)
    ROWS(rss, rs_rows, NRS, test_rs_row)
    const struct CMUnitTest reader[] = {
        TEST(test_tokens_nested),
        TEST(test_tokens_with_whitespace),
        TEST(test_tokens_scalars),
        TEST(test_len_is_respected),
        TEST(test_long_strings),
        TEST(test_many_escaped_strings),
        TEST(test_depth_5),
        TEST(test_depth_1_and_2),
        TEST(test_depth_default),
        TEST(test_depth_max),
        TEST(test_depth_above_max_is_capped),
        TEST(test_depth_unclosed),
        TEST(test_error_sticky_after_tokens),
        TEST(test_skip_nested),
        TEST(test_skip_top_level),
        TEST(test_skip_errors),
        TEST(test_validate),
    };
    const struct CMUnitTest writer[] = {
        TEST(test_writer_structure),
        TEST(test_writer_top_level_and_arrays),
        TEST(test_writer_keys_escaped),
        TEST(test_writer_invalid_utf8_sequences),
        TEST(test_writer_every_byte),
        TEST(test_writer_ints),
        TEST(test_writer_double_nonfinite),
        TEST(test_writer_too_big),
        TEST(test_writer_misuse),
        TEST(test_writer_deep),
        TEST(test_reserialize_errors),
        TEST(test_reserialize_deep),
    };
    int failed = 0;
    failed += _cmocka_run_group_tests("json_documents", docs, NDOC, NULL, NULL);
    failed += _cmocka_run_group_tests("json_numbers", nums, NNUM, NULL, NULL);
    failed += _cmocka_run_group_tests("json_strings", strs, NSTR, NULL, NULL);
    failed += cmocka_run_group_tests_name("json_reader", reader, NULL, NULL);
    failed += _cmocka_run_group_tests("json_writer_strings", wstrs, NWSTR, NULL, NULL);
    failed += _cmocka_run_group_tests("json_writer_doubles", dbls, NDBLR, NULL, NULL);
    failed += cmocka_run_group_tests_name("json_writer", writer, NULL, NULL);
    failed += _cmocka_run_group_tests("json_reserialize", rss, NRS, NULL, NULL);
    free(docs);
    free(nums);
    free(strs);
    free(wstrs);
    free(dbls);
    free(rss);
    return failed ? 1 : 0;
}
