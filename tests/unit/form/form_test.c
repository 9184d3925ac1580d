/*
 * Forms (cadre/form.h): urlencoded bodies (WHATWG parsing), the incremental multipart parser
 * (RFC 7578 / 2046: boundaries, delimiters, part headers, limits, every prefix of a body, every
 * split of a body), uploads in temporary files, decoding into schema structs with the errors of
 * the JSON path, the per-field error lookup, and typed routes with .form through the in-process
 * test client. Tables first; each row names what it checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cadre.h>

#include "verror_text.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------------
 * Schemas
 * ------------------------------------------------------------------------------------------- */

#define FCOLOR_VALUES(V) V(FC_RED, "red") V(FC_GREEN, "green")
CADRE_ENUM(fcolor, FCOLOR_VALUES)

#define PROFILE_FIELDS(F)                                                                          \
    F(string, name, CADRE_MIN_LEN(1), CADRE_MAX_LEN(10))                                           \
    F(int64, age, CADRE_GE(0))                                                                     \
    F(double, score, CADRE_OPTIONAL)                                                               \
    F(bool, subscribe, CADRE_DEFAULT(false))                                                       \
    F(strings, tags, CADRE_MAX_ITEMS(3), CADRE_DEFAULT_EMPTY)                                      \
    F(int64s, ids, CADRE_DEFAULT_EMPTY)                                                            \
    F(doubles, weights, CADRE_DEFAULT_EMPTY)                                                       \
    F(enum(fcolor), color, CADRE_DEFAULT(FC_RED))                                                  \
    F(date, born, CADRE_OPTIONAL)                                                                  \
    F(string, note, CADRE_DEFAULT_STR("none"))
CADRE_SCHEMA(Profile, PROFILE_FIELDS)

/* A required bool: an unchecked box is "missing". */
#define TERMS_FIELDS(F) F(bool, agree) F(string, who, CADRE_OPTIONAL)
CADRE_SCHEMA(Terms, TERMS_FIELDS)

#define STRICT_FIELDS(F) F(string, a, CADRE_OPTIONAL)
CADRE_SCHEMA_STRICT(StrictForm, STRICT_FIELDS)

#define INNER_FIELDS(F) F(int64, x)
CADRE_SCHEMA(Inner, INNER_FIELDS)
#define OUTER_FIELDS(F) F(object(Inner), inner, CADRE_OPTIONAL) F(array(Inner), many, CADRE_DEFAULT_EMPTY)
CADRE_SCHEMA(Outer, OUTER_FIELDS)

#define UPLOAD_FIELDS(F)                                                                           \
    F(string, title, CADRE_MIN_LEN(1))                                                             \
    F(file, doc)                                                                                   \
    F(files, extras, CADRE_MAX_ITEMS(3), CADRE_DEFAULT_EMPTY)                                      \
    F(file, avatar, CADRE_OPTIONAL)                                                                \
    F(int64, n, CADRE_DEFAULT(0))
CADRE_SCHEMA(Upload, UPLOAD_FIELDS)

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

static cadre_arena arena;

#define loc_text(v) loc_json(&arena, (v))

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    cadre_arena_init(&arena, 0);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cadre-form-test-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

/* Entries in the test's temporary directory (every upload must be gone after cleanup). */
static int tmp_entries(void)
{
    DIR *d = opendir(tmpdir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static int teardown(void **state)
{
    (void)state;
    assert_int_equal(tmp_entries(), 0);
    rmdir(tmpdir);
    cadre_arena_free(&arena);
    return 0;
}

static const char *errors_json(const cadre_verrors *e)
{
    cadre_buf b;
    cadre_json_writer w;
    cadre_buf_init_arena(&b, &arena, 1 << 20);
    cadre_json_writer_init(&w, &b);
    cadre_verrors_write(e, &w);
    return cadre_buf_cstr(&b);
}

static const char *encode(const cadre_schema *s, const void *obj)
{
    cadre_buf b;
    cadre_json_writer w;
    cadre_buf_init_arena(&b, &arena, 1 << 20);
    cadre_json_writer_init(&w, &b);
    cadre_schema_encode_json(s, obj, &w);
    return cadre_buf_cstr(&b);
}

/* The file's bytes, in the arena (NULL when it cannot be read). */
static const char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = cadre_arena_alloc(&arena, 1 << 20);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

/* ---------------------------------------------------------------------------------------------
 * application/x-www-form-urlencoded
 * ------------------------------------------------------------------------------------------- */

static const struct url_case {
    const char *what, *body;
    const char *want; /* the decoded struct as JSON, or NULL when errors are expected */
    const char *errors; /* the 422 detail list, when want is NULL */
} url_cases[] = {
    { "empty body: every required field is missing", "", NULL,
      "[{\"type\":\"missing\",\"loc\":[\"body\",\"name\"],\"msg\":\"Field required\",\"input\":null},"
      "{\"type\":\"missing\",\"loc\":[\"body\",\"age\"],\"msg\":\"Field required\",\"input\":null}]" },
    { "the minimum", "name=Bob&age=42",
      "{\"name\":\"Bob\",\"age\":42,\"subscribe\":false,\"tags\":[],\"ids\":[],\"weights\":[],"
      "\"color\":\"red\",\"note\":\"none\"}",
      NULL },
    { "a= : an empty value is absent (FastAPI's Form rule)", "name=&age=1", NULL,
      "[{\"type\":\"missing\",\"loc\":[\"body\",\"name\"],\"msg\":\"Field required\",\"input\":null}]" },
    { "an empty value for a field with a default takes the default", "name=x&age=1&note=",
      "{\"name\":\"x\",\"age\":1,\"subscribe\":false,\"tags\":[],\"ids\":[],\"weights\":[],"
      "\"color\":\"red\",\"note\":\"none\"}",
      NULL },
    { "=b : an empty name is ignored", "=b&name=x&age=1",
      "{\"name\":\"x\",\"age\":1,\"subscribe\":false,\"tags\":[],\"ids\":[],\"weights\":[],"
      "\"color\":\"red\",\"note\":\"none\"}",
      NULL },
    { "a : a name alone is an empty value", "name=x&age=1&subscribe",
      "{\"name\":\"x\",\"age\":1,\"subscribe\":false,\"tags\":[],\"ids\":[],\"weights\":[],"
      "\"color\":\"red\",\"note\":\"none\"}",
      NULL },
    { "a checked box", "name=x&age=1&subscribe=on",
      "{\"name\":\"x\",\"age\":1,\"subscribe\":true,\"tags\":[],\"ids\":[],\"weights\":[],"
      "\"color\":\"red\",\"note\":\"none\"}",
      NULL },
    { "%zz and a cut escape stay as they are", "name=%zz%2&age=1",
      "{\"name\":\"%zz%2\",\"age\":1,\"subscribe\":false,\"tags\":[],\"ids\":[],\"weights\":[],"
      "\"color\":\"red\",\"note\":\"none\"}",
      NULL },
    { "+ is a space, %2B a plus", "name=a+b%20c%2B&age=1",
      "{\"name\":\"a b c+\",\"age\":1,\"subscribe\":false,\"tags\":[],\"ids\":[],\"weights\":[],"
      "\"color\":\"red\",\"note\":\"none\"}",
      NULL },
    { "UTF-8, counted in characters by max_length", "name=%C3%A9t%C3%A9%E2%82%AC&age=1",
      "{\"name\":\"\xC3\xA9t\xC3\xA9\xE2\x82\xAC\",\"age\":1,\"subscribe\":false,\"tags\":[],"
      "\"ids\":[],\"weights\":[],\"color\":\"red\",\"note\":\"none\"}",
      NULL },
    { "invalid UTF-8 becomes U+FFFD, one per maximal subpart", "name=%FF%E2%82x%F0%9F&age=1",
      "{\"name\":\"\xEF\xBF\xBD\xEF\xBF\xBDx\xEF\xBF\xBD\",\"age\":1,\"subscribe\":false,"
      "\"tags\":[],\"ids\":[],\"weights\":[],\"color\":\"red\",\"note\":\"none\"}",
      NULL },
    { "an encoded name", "%6Eame=x&age=1",
      "{\"name\":\"x\",\"age\":1,\"subscribe\":false,\"tags\":[],\"ids\":[],\"weights\":[],"
      "\"color\":\"red\",\"note\":\"none\"}",
      NULL },
    { "'=' inside a value; stray '&'s", "&&name=x=y&&age=1&",
      "{\"name\":\"x=y\",\"age\":1,\"subscribe\":false,\"tags\":[],\"ids\":[],\"weights\":[],"
      "\"color\":\"red\",\"note\":\"none\"}",
      NULL },
    { "a repeated scalar: the last one wins", "name=a&age=1&name=b",
      "{\"name\":\"b\",\"age\":1,\"subscribe\":false,\"tags\":[],\"ids\":[],\"weights\":[],"
      "\"color\":\"red\",\"note\":\"none\"}",
      NULL },
    { "a repeated scalar: errors only from the last", "age=x&name=a&age=2",
      "{\"name\":\"a\",\"age\":2,\"subscribe\":false,\"tags\":[],\"ids\":[],\"weights\":[],"
      "\"color\":\"red\",\"note\":\"none\"}",
      NULL },
    { "arrays from repeated names, in order", "tags=x&ids=3&tags=&weights=1.5&ids=-4&tags=z&name=n&age=0",
      "{\"name\":\"n\",\"age\":0,\"subscribe\":false,\"tags\":[\"x\",\"\",\"z\"],\"ids\":[3,-4],"
      "\"weights\":[1.5],\"color\":\"red\",\"note\":\"none\"}",
      NULL },
    { "an array item that does not parse: loc with its index", "ids=1&ids=x&ids=3&name=n&age=1", NULL,
      "[{\"type\":\"int_parsing\",\"loc\":[\"body\",\"ids\",1],\"msg\":\"Input should be a valid "
      "integer, unable to parse string as an integer\",\"input\":\"x\"}]" },
    { "too many items", "tags=a&tags=b&tags=c&tags=d&name=n&age=1", NULL,
      "[{\"type\":\"too_long\",\"loc\":[\"body\",\"tags\"],\"msg\":\"List should have at most 3 "
      "items after validation, not 4\",\"input\":[\"a\",\"b\",\"c\",\"d\"],\"ctx\":{\"field_type\":"
      "\"List\",\"max_length\":3,\"actual_length\":4}}]" },
    { "every error, in field order", "subscribe=maybe&age=-1&name=12345678901&color=blue&born=2026-13-01&score=abc",
      NULL,
      "[{\"type\":\"string_too_long\",\"loc\":[\"body\",\"name\"],\"msg\":\"String should have at "
      "most 10 characters\",\"input\":\"12345678901\",\"ctx\":{\"max_length\":10}},"
      "{\"type\":\"greater_than_equal\",\"loc\":[\"body\",\"age\"],\"msg\":\"Input should be greater "
      "than or equal to 0\",\"input\":\"-1\",\"ctx\":{\"ge\":0}},"
      "{\"type\":\"float_parsing\",\"loc\":[\"body\",\"score\"],\"msg\":\"Input should be a valid "
      "number, unable to parse string as a number\",\"input\":\"abc\"},"
      "{\"type\":\"bool_parsing\",\"loc\":[\"body\",\"subscribe\"],\"msg\":\"Input should be a valid "
      "boolean, unable to interpret input\",\"input\":\"maybe\"},"
      "{\"type\":\"enum\",\"loc\":[\"body\",\"color\"],\"msg\":\"Input should be 'red' or 'green'\","
      "\"input\":\"blue\",\"ctx\":{\"expected\":\"'red' or 'green'\"}},"
      "{\"type\":\"date_parsing\",\"loc\":[\"body\",\"born\"],\"msg\":\"Input should be a valid "
      "date in the format YYYY-MM-DD, month value is outside expected range of 1-12\",\"input\":"
      "\"2026-13-01\",\"ctx\":{\"error\":\"month value is outside expected range of 1-12\"}}]" },
    { "a fraction for an int is int_parsing (text, as a query parameter)", "name=x&age=1.5", NULL,
      "[{\"type\":\"int_parsing\",\"loc\":[\"body\",\"age\"],\"msg\":\"Input should be a valid "
      "integer, unable to parse string as an integer\",\"input\":\"1.5\"}]" },
    { "names the schema lacks are ignored", "name=x&age=1&na+me=y&other=1",
      "{\"name\":\"x\",\"age\":1,\"subscribe\":false,\"tags\":[],\"ids\":[],\"weights\":[],"
      "\"color\":\"red\",\"note\":\"none\"}",
      NULL },
};

static void test_urlencoded_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof url_cases / sizeof url_cases[0]; i++) {
        const struct url_case *c = &url_cases[i];
        Profile p;
        cadre_verrors e;
        cadre_verrors_init(&e, &arena);
        int rc = cadre_form_decode_urlencoded(CADRE_SCHEMA_OF(Profile), cadre_slice_cstr(c->body), &p,
                                              &arena, &e);
        if (c->want) {
            if (rc != 0 || strcmp(encode(CADRE_SCHEMA_OF(Profile), &p), c->want) != 0)
                fail_msg("%s: rc %d\n  got  %s\n  want %s\n  errors %s", c->what, rc,
                         encode(CADRE_SCHEMA_OF(Profile), &p), c->want, errors_json(&e));
        } else {
            const char *got = errors_json(&e);
            char *want = cadre_arena_printf(&arena, "{\"detail\":%s}", c->errors);
            if (rc != CADRE_EINVAL || strcmp(got, want) != 0)
                fail_msg("%s: rc %d\n  got  %s\n  want %s", c->what, rc, got, want);
        }
    }
}

/* The set bits say which fields were sent (an empty value is not "sent"). */
static void test_urlencoded_presence(void **state)
{
    (void)state;
    Profile p;
    cadre_verrors e;
    cadre_verrors_init(&e, &arena);
    assert_int_equal(cadre_form_decode_urlencoded(CADRE_SCHEMA_OF(Profile),
                                                  CADRE_LIT("name=x&age=3&score=&tags=a"), &p, &arena, &e),
                     0);
    assert_true(cadre_has(&p, Profile, name));
    assert_true(cadre_has(&p, Profile, tags));
    assert_false(cadre_has(&p, Profile, score));
    assert_false(cadre_has(&p, Profile, note));
    assert_string_equal(p.name.ptr, "x");
    assert_int_equal(p.name.ptr[p.name.len], '\0');
}

/* The same wrong values give the same errors in a form and in JSON (as strings). */
static void test_urlencoded_errors_match_json(void **state)
{
    (void)state;
    static const char *const rows[][2] = {
        /* form, JSON */
        { "name=12345678901&age=1", "{\"name\":\"12345678901\",\"age\":\"1\"}" },
        { "name=x&age=abc", "{\"name\":\"x\",\"age\":\"abc\"}" },
        { "name=x&age=-3", "{\"name\":\"x\",\"age\":\"-3\"}" },
        { "name=x&age=1&score=1e999", "{\"name\":\"x\",\"age\":\"1\",\"score\":\"1e999\"}" },
        { "name=x&age=1&subscribe=2", "{\"name\":\"x\",\"age\":\"1\",\"subscribe\":\"2\"}" },
        { "name=x&age=1&color=RED", "{\"name\":\"x\",\"age\":\"1\",\"color\":\"RED\"}" },
        { "name=x&age=1&born=2026-02-30", "{\"name\":\"x\",\"age\":\"1\",\"born\":\"2026-02-30\"}" },
        { "name=x&age=1&born=yesterday", "{\"name\":\"x\",\"age\":\"1\",\"born\":\"yesterday\"}" },
        { "name=x&age=1&ids=1&ids=b", "{\"name\":\"x\",\"age\":\"1\",\"ids\":[\"1\",\"b\"]}" },
        { "name=x&age=1&tags=1&tags=2&tags=3&tags=4",
          "{\"name\":\"x\",\"age\":\"1\",\"tags\":[\"1\",\"2\",\"3\",\"4\"]}" },
        { "name=x&age=1&weights=a&weights=2", "{\"name\":\"x\",\"age\":\"1\",\"weights\":[\"a\",\"2\"]}" },
        { "name=%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9%C3%A9&age=x",
          "{\"name\":\"\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9"
          "\xC3\xA9\",\"age\":\"x\"}" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        Profile a, b;
        cadre_verrors ea, eb;
        cadre_verrors_init(&ea, &arena);
        cadre_verrors_init(&eb, &arena);
        int ra = cadre_form_decode_urlencoded(CADRE_SCHEMA_OF(Profile), cadre_slice_cstr(rows[i][0]),
                                              &a, &arena, &ea);
        int rb = cadre_schema_decode_json(CADRE_SCHEMA_OF(Profile), rows[i][1], strlen(rows[i][1]),
                                          &b, &arena, "body", &eb);
        assert_int_equal(ra, CADRE_EINVAL);
        assert_int_equal(rb, CADRE_EINVAL);
        if (strcmp(errors_json(&ea), errors_json(&eb)) != 0)
            fail_msg("%s\n  form %s\n  json %s", rows[i][0], errors_json(&ea), errors_json(&eb));
    }
}

static void test_urlencoded_required_bool(void **state)
{
    (void)state;
    Terms t;
    cadre_verrors e;
    cadre_verrors_init(&e, &arena);
    /* an unchecked box (not sent) for a bool without a default: missing, as FastAPI's Form(...) */
    assert_int_equal(cadre_form_decode_urlencoded(CADRE_SCHEMA_OF(Terms), CADRE_LIT("who=me"), &t,
                                                  &arena, &e),
                     CADRE_EINVAL);
    assert_string_equal(errors_json(&e), "{\"detail\":[{\"type\":\"missing\",\"loc\":[\"body\","
                                         "\"agree\"],\"msg\":\"Field required\",\"input\":null}]}");
    cadre_verrors_init(&e, &arena);
    assert_int_equal(cadre_form_decode_urlencoded(CADRE_SCHEMA_OF(Terms), CADRE_LIT("agree=on"), &t,
                                                  &arena, &e),
                     0);
    assert_true(t.agree);
    assert_int_equal(cadre_form_decode_urlencoded(CADRE_SCHEMA_OF(Terms), CADRE_LIT("agree=off"), &t,
                                                  &arena, &e),
                     0);
    assert_false(t.agree);
}

static void test_urlencoded_strict_and_unformable(void **state)
{
    (void)state;
    StrictForm s;
    cadre_verrors e;
    cadre_verrors_init(&e, &arena);
    assert_int_equal(cadre_form_decode_urlencoded(CADRE_SCHEMA_OF(StrictForm),
                                                  CADRE_LIT("a=1&b=2&b=3&c+d=&a=9"), &s, &arena, &e),
                     CADRE_EINVAL);
    assert_string_equal(errors_json(&e),
                        "{\"detail\":[{\"type\":\"extra_forbidden\",\"loc\":[\"body\",\"b\"],\"msg\":"
                        "\"Extra inputs are not permitted\",\"input\":[\"2\",\"3\"]},"
                        "{\"type\":\"extra_forbidden\",\"loc\":[\"body\",\"c d\"],\"msg\":"
                        "\"Extra inputs are not permitted\",\"input\":\"\"}]}");
    assert_string_equal(s.a.ptr, "9");
    /* a name that came with the form is a string of the loc, whatever it holds (issue #10) */
    cadre_verrors_init(&e, &arena);
    assert_int_equal(cadre_form_decode_urlencoded(CADRE_SCHEMA_OF(StrictForm),
                                                  CADRE_LIT("x%22%5D%2C%22y=1&q%5C%0A=2&%00%FF=3"),
                                                  &s, &arena, &e),
                     CADRE_EINVAL);
    assert_string_equal(errors_json(&e),
                        "{\"detail\":[{\"type\":\"extra_forbidden\",\"loc\":[\"body\",\"x\\\"],\\\"y\"],"
                        "\"msg\":\"Extra inputs are not permitted\",\"input\":\"1\"},"
                        "{\"type\":\"extra_forbidden\",\"loc\":[\"body\",\"q\\\\\\n\"],\"msg\":"
                        "\"Extra inputs are not permitted\",\"input\":\"2\"},"
                        "{\"type\":\"extra_forbidden\",\"loc\":[\"body\",\"\\u0000\xEF\xBF\xBD\"],"
                        "\"msg\":\"Extra inputs are not permitted\",\"input\":\"3\"}]}");

    Outer o;
    cadre_verrors_init(&e, &arena);
    assert_int_equal(cadre_form_decode_urlencoded(CADRE_SCHEMA_OF(Outer),
                                                  CADRE_LIT("inner=x&many=1&many=2"), &o, &arena, &e),
                     CADRE_EINVAL);
    assert_int_equal(e.len, 3);
    assert_string_equal(e.items[0].type, "model_attributes_type");
    assert_string_equal(loc_text(&e.items[0]), "[\"body\",\"inner\"]");
    assert_string_equal(loc_text(&e.items[2]), "[\"body\",\"many\",1]");

    /* a file field in a urlencoded form: text is not an upload (FastAPI's message) */
    Upload u;
    cadre_verrors_init(&e, &arena);
    assert_int_equal(cadre_form_decode_urlencoded(CADRE_SCHEMA_OF(Upload), CADRE_LIT("title=t&doc=abc"),
                                                  &u, &arena, &e),
                     CADRE_EINVAL);
    assert_string_equal(errors_json(&e),
                        "{\"detail\":[{\"type\":\"value_error\",\"loc\":[\"body\",\"doc\"],\"msg\":"
                        "\"Value error, Expected UploadFile, received: <class 'str'>\",\"input\":"
                        "\"abc\",\"ctx\":{\"error\":{}}}]}");
}

static void test_url_decode(void **state)
{
    (void)state;
    static const char *const rows[][2] = {
        { "", "" },         { "+", " " },         { "%", "%" },         { "%2", "%2" },
        { "%zz", "%zz" },   { "%41%42", "AB" },   { "%e2%82%ac", "\xE2\x82\xAC" },
        { "%00", "" },      { "a%C0%80b", "a\xEF\xBF\xBD\xEF\xBF\xBD" "b" },
        { "%ED%A0%80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" }, /* a surrogate */
        { "%F4%90%80%80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" },
        { "%E2%82", "\xEF\xBF\xBD" }, /* cut: one replacement */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        cadre_slice d = cadre_form_url_decode(&arena, rows[i][0], strlen(rows[i][0]), true);
        size_t want = strlen(rows[i][1]) + (strcmp(rows[i][0], "%00") == 0);
        if (d.len != want || memcmp(d.ptr, rows[i][1], strlen(rows[i][1])) != 0 || d.ptr[d.len])
            fail_msg("%s: got %.*s (%zu bytes)", rows[i][0], (int)d.len, d.ptr, d.len);
    }
    cadre_slice d = cadre_form_url_decode(&arena, "a+b", 3, false);
    assert_string_equal(d.ptr, "a+b");
}

/* ---------------------------------------------------------------------------------------------
 * Boundaries
 * ------------------------------------------------------------------------------------------- */

static void test_boundary(void **state)
{
    (void)state;
    static const struct {
        const char *ct, *boundary; /* NULL: refused */
    } rows[] = {
        { "multipart/form-data; boundary=abc", "abc" },
        { "Multipart/Form-Data;BOUNDARY=abc", "abc" },
        { "multipart/form-data; charset=utf-8; boundary=\"a b:c\"", "a b:c" },
        { "multipart/form-data; boundary=----=_Part_0/x?y", "----=_Part_0/x?y" },
        { "multipart/form-data; boundary=abc ; x=\"q;\\\"\"", "abc" },
        { "multipart/form-data; boundary=abc;", "abc" },
        { "multipart/form-data", NULL },
        { "multipart/form-data; boundary=", NULL },
        { "multipart/form-data; boundary=\"\"", NULL },
        { "multipart/form-data; boundary=\"abc \"", NULL },  /* ends with a space */
        { "multipart/form-data; boundary=\"a\\bc\"", NULL }, /* a quoted-pair */
        { "multipart/form-data; boundary=\"abc", NULL },
        { "multipart/form-data; boundary=a; boundary=b", NULL },
        { "multipart/form-data; boundary=a!b", NULL },
        { "multipart/form-data; boundary=a b", NULL },
        { "multipart/mixed; boundary=abc", NULL },
        { "text/plain; boundary=abc", NULL },
        { "multipart/form-data; boundary=1234567890123456789012345678901234567890123456789012345678901234567890",
          "1234567890123456789012345678901234567890123456789012345678901234567890" },
        { "multipart/form-data; boundary=12345678901234567890123456789012345678901234567890123456789012345678901",
          NULL },
        { "multipart/form-data; =x; boundary=abc", NULL },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        cadre_slice b;
        const char *why = NULL;
        int rc = cadre_multipart_boundary(cadre_slice_cstr(rows[i].ct), &b, &why);
        if (rows[i].boundary) {
            if (rc != 0 || !cadre_slice_eq_cstr(b, rows[i].boundary))
                fail_msg("%s: rc %d (%s) got %.*s", rows[i].ct, rc, why ? why : "", (int)b.len,
                         b.ptr ? b.ptr : "");
        } else if (rc != CADRE_EPARSE || !why || b.ptr) {
            fail_msg("%s: accepted", rows[i].ct);
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * The multipart parser, as a transcript of its callbacks
 * ------------------------------------------------------------------------------------------- */

static int log_begin(void *ctx, const cadre_multipart_part *p)
{
    cadre_buf *b = ctx;
    cadre_buf_appendf(b, "[%.*s", (int)p->name.len, p->name.ptr);
    if (p->filename.ptr)
        cadre_buf_appendf(b, " file=%.*s", (int)p->filename.len, p->filename.ptr);
    if (p->content_type.ptr)
        cadre_buf_appendf(b, " type=%.*s", (int)p->content_type.len, p->content_type.ptr);
    cadre_buf_append_str(b, "|");
    return 0;
}

static int log_data(void *ctx, const char *d, size_t n)
{
    assert_true(n > 0);
    return cadre_buf_append(ctx, d, n);
}

static int log_end(void *ctx)
{
    return cadre_buf_append_str(ctx, "]");
}

static const cadre_multipart_callbacks log_cb = { log_begin, log_data, log_end };

/* Parses body in pieces of `step` bytes (0: whole) with boundary XyZ; returns the transcript,
 * with "!reason" appended on failure and the code in *rc. */
static const char *transcript(const char *body, size_t len, size_t step, const cadre_form_limits *lim,
                              int *rc)
{
    cadre_buf out;
    cadre_buf_init_arena(&out, &arena, 1 << 22);
    cadre_multipart m;
    cadre_multipart_init(&m, CADRE_LIT("XyZ"), lim, &arena, &log_cb, &out);
    int r = 0;
    if (step == 0)
        step = len ? len : 1;
    for (size_t i = 0; i < len && r == 0; i += step)
        r = cadre_multipart_feed(&m, body + i, len - i < step ? len - i : step);
    if (r == 0)
        r = cadre_multipart_finish(&m);
    if (r)
        cadre_buf_appendf(&out, "!%s", cadre_multipart_reason(&m));
    *rc = r;
    return cadre_buf_cstr(&out) ? cadre_buf_cstr(&out) : "";
}

#define CD "Content-Disposition: form-data; name="

static const struct mp_case {
    const char *what, *body;
    int rc;
    const char *transcript;
} mp_cases[] = {
    { "two parts, preamble and epilogue ignored",
      "preamble\r\n--XyZ\r\n" CD "\"a\"\r\n\r\nhello\r\n--XyZ\r\n" CD "\"f\"; filename=\"x.txt\"\r\n"
      "Content-Type: text/plain\r\n\r\nfile\r\nbody\r\n--XyZ--\r\nepilogue --XyZ garbage",
      0, "[a|hello][f file=x.txt type=text/plain|file\r\nbody]" },
    { "no preamble, no CRLF after the close delimiter", "--XyZ\r\n" CD "a\r\n\r\nv\r\n--XyZ--", 0,
      "[a|v]" },
    { "an empty form", "--XyZ--\r\n", 0, "" },
    { "an empty value: CRLF CRLF CRLF before the delimiter", "--XyZ\r\n" CD "a\r\n\r\n\r\n--XyZ--",
      0, "[a|]" },
    { "transport padding after delimiters", "--XyZ \t\r\n" CD "a\r\n\r\nv\r\n--XyZ\t\r\n" CD "b\r\n\r\nw\r\n--XyZ--",
      0, "[a|v][b|w]" },
    { "boundary-like content is data",
      "--XyZ\r\n" CD "a\r\n\r\nx--XyZ\r\n-XyZ\r\n--XyW\r\r\n--Xy\n--XyZ\r\n--X\r\n--XyZ--", 0,
      "[a|x--XyZ\r\n-XyZ\r\n--XyW\r\r\n--Xy\n--XyZ\r\n--X]" },
    { "content starting like a delimiter", "--XyZ\r\n" CD "a\r\n\r\n--Xy\r\n--XyZ--", 0,
      "[a|--Xy]" },
    { "a part ending with its header section (RFC 2046 allows it; Go reads it so)",
      "--XyZ\r\n" CD "a\r\n\r\n--XyZ\r\n" CD "b\r\n\r\n--XyZ--", 0, "[a|][b|]" },
    { "a preamble holding the boundary not at a line start",
      "x--XyZ\r\n--XyZ\r\n" CD "a\r\n\r\nv\r\n--XyZ--", 0, "[a|v]" },
    { "header names any case, values trimmed, unknown headers ignored",
      "--XyZ\r\ncontent-DISPOSITION:form-data;name=a  \r\nX-Other: 1\r\ncontent-type:  a/b  \r\n\r\nv\r\n--XyZ--",
      0, "[a type=a/b|v]" },
    { "quoted names with escapes; Windows and Unix paths cut to the base name",
      "--XyZ\r\n" CD "\"q\\\"n\"; filename=\"C:\\Users\\me\\a.txt\"\r\n\r\n1\r\n--XyZ\r\n" CD
      "b; filename=\"../../etc/passwd\"\r\n\r\n2\r\n--XyZ\r\n" CD "c; filename=\"a\\\\b\\\"c\"\r\n\r\n3\r\n"
      "--XyZ\r\n" CD "d; filename=\"x/..\"\r\n\r\n4\r\n--XyZ--",
      0, "[q\"n file=a.txt|1][b file=passwd|2][c file=b\"c|3][d file=|4]" },
    { "filename* (RFC 5987) wins when it is UTF-8",
      "--XyZ\r\n" CD "a; filename=\"plain.txt\"; filename*=UTF-8''%C3%A9t%C3%A9.txt\r\n\r\n1\r\n--XyZ\r\n" CD
      "b; filename=\"p.txt\"; filename*=iso-8859-1''%E9.txt\r\n\r\n2\r\n--XyZ--",
      0, "[a file=\xC3\xA9t\xC3\xA9.txt|1][b file=p.txt|2]" },
    { "wrong boundary", "--Other\r\n" CD "a\r\n\r\nv\r\n--Other--", CADRE_EPARSE,
      "!no boundary delimiter in the multipart body" },
    { "empty body", "", CADRE_EPARSE, "!no boundary delimiter in the multipart body" },
    { "no close delimiter", "--XyZ\r\n" CD "a\r\n\r\nv\r\n--XyZ\r\n", CADRE_EPARSE,
      "[a|v]!the multipart body ends before its closing boundary" },
    { "a delimiter followed by other characters", "--XyZ\r\n" CD "a\r\n\r\nv\r\n--XyZa\r\n", CADRE_EPARSE,
      "[a|v]!a boundary delimiter followed by other characters" },
    { "one dash after the boundary", "--XyZ-\r\n", CADRE_EPARSE,
      "!a boundary delimiter followed by other characters" },
    { "a bare CR after a delimiter", "--XyZ\rx", CADRE_EPARSE, "!a bare CR after a boundary delimiter" },
    { "missing Content-Disposition", "--XyZ\r\nContent-Type: text/plain\r\n\r\nv\r\n--XyZ--",
      CADRE_EPARSE, "!a part without Content-Disposition" },
    { "no headers at all", "--XyZ\r\n\r\nv\r\n--XyZ--", CADRE_EPARSE, "!a part without Content-Disposition" },
    { "a folded header line", "--XyZ\r\n" CD "a;\r\n filename=x\r\n\r\nv\r\n--XyZ--", CADRE_EPARSE,
      "!a folded part header line (obs-fold)" },
    { "a bare LF in headers", "--XyZ\r\n" CD "a\n\r\nv\r\n--XyZ--", CADRE_EPARSE,
      "!a bare LF in a part's headers" },
    { "a bare CR in headers", "--XyZ\r\n" CD "a\rx\r\n\r\nv\r\n--XyZ--", CADRE_EPARSE,
      "!a bare CR in a part's headers" },
    { "a header without a colon", "--XyZ\r\n" CD "a\r\nnocolon\r\n\r\nv\r\n--XyZ--", CADRE_EPARSE,
      "!a malformed part header" },
    { "whitespace before the colon", "--XyZ\r\nContent-Disposition : form-data; name=a\r\n\r\nv\r\n--XyZ--",
      CADRE_EPARSE, "!a malformed part header" },
    { "not form-data", "--XyZ\r\nContent-Disposition: attachment; name=a\r\n\r\nv\r\n--XyZ--",
      CADRE_EPARSE, "!a part's Content-Disposition is not form-data" },
    { "no name", "--XyZ\r\nContent-Disposition: form-data; filename=a\r\n\r\nv\r\n--XyZ--", CADRE_EPARSE,
      "!a part's Content-Disposition has no name" },
    { "two Content-Dispositions", "--XyZ\r\n" CD "a\r\n" CD "b\r\n\r\nv\r\n--XyZ--", CADRE_EPARSE,
      "!a part with two Content-Disposition headers" },
    { "two names", "--XyZ\r\n" CD "a; name=b\r\n\r\nv\r\n--XyZ--", CADRE_EPARSE,
      "!a repeated Content-Disposition parameter" },
    { "two Content-Types", "--XyZ\r\n" CD "a\r\nContent-Type: a/b\r\nContent-Type: a/c\r\n\r\nv\r\n--XyZ--",
      CADRE_EPARSE, "!a part with two Content-Type headers" },
    { "an unterminated quoted name", "--XyZ\r\n" CD "\"a\r\n\r\nv\r\n--XyZ--", CADRE_EPARSE,
      "!an unterminated quoted string in a Content-Disposition" },
    { "a NUL in headers", "--XyZ\r\n" CD "a\0\r\n\r\nv\r\n--XyZ--", CADRE_EPARSE,
      "!a NUL in a part's headers" },
};

static void test_multipart_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof mp_cases / sizeof mp_cases[0]; i++) {
        const struct mp_case *c = &mp_cases[i];
        size_t len = strlen(c->body);
        if (strstr(c->what, "NUL"))
            len = strlen(c->body) + 1 + strlen(c->body + strlen(c->body) + 1);
        /* whole, then every piece size from 1 to 9: the same transcript */
        for (size_t step = 0; step < 10; step++) {
            int rc;
            const char *t = transcript(c->body, len, step, NULL, &rc);
            if (rc != c->rc || strcmp(t, c->transcript) != 0)
                fail_msg("%s (pieces of %zu): rc %d\n  got  %s\n  want %s", c->what, step, rc, t,
                         c->transcript);
        }
    }
}

/* Every prefix of a valid body fails cleanly, until the close delimiter is complete. */
static void test_multipart_every_prefix(void **state)
{
    (void)state;
    const char body[] = "--XyZ\r\n" CD "a\r\n\r\nhello\r\n--XyZ\r\n" CD "f; filename=x\r\n\r\n\r\n"
                        "--XyZ--\r\n";
    size_t n = sizeof body - 1, done = n - 2; /* "--XyZ--" complete: the CRLF is epilogue */
    for (size_t k = 0; k <= n; k++) {
        for (size_t step = 0; step < 4; step++) {
            int rc;
            transcript(body, k, step, NULL, &rc);
            if (k < done)
                assert_int_equal(rc, CADRE_EPARSE);
            else if (k >= done && k < n && rc != 0)
                fail_msg("prefix %zu of %zu refused", k, n);
        }
    }
}

/* The transcript is the same whatever the split: every split in two and in three. */
static void test_multipart_every_split(void **state)
{
    (void)state;
    const char body[] = "pre\r\n--XyZ\r\n" CD "\"a\"\r\n\r\nx\r\n--Xy\r\r\n--XyZ \r\n" CD
                        "f; filename=\"n.bin\"\r\nContent-Type: a/b\r\n\r\n\r\n\r\n--XyZ--x";
    size_t n = sizeof body - 1;
    int rc;
    const char *whole = transcript(body, n, 0, NULL, &rc);
    assert_int_equal(rc, 0);
    for (size_t a = 0; a <= n; a++) {
        for (size_t b = a; b <= n; b++) {
            cadre_buf out;
            cadre_buf_init_arena(&out, &arena, 1 << 16);
            cadre_multipart m;
            cadre_multipart_init(&m, CADRE_LIT("XyZ"), NULL, &arena, &log_cb, &out);
            assert_int_equal(cadre_multipart_feed(&m, body, a), 0);
            assert_int_equal(cadre_multipart_feed(&m, body + a, b - a), 0);
            assert_int_equal(cadre_multipart_feed(&m, body + b, n - b), 0);
            assert_int_equal(cadre_multipart_finish(&m), 0);
            assert_string_equal(cadre_buf_cstr(&out), whole);
        }
        cadre_arena_reset(&arena);
        whole = transcript(body, n, 0, NULL, &rc);
    }
}

static char *parts_body(size_t nparts, size_t *len)
{
    cadre_buf b;
    cadre_buf_init_arena(&b, &arena, 1 << 24);
    for (size_t i = 0; i < nparts; i++)
        cadre_buf_appendf(&b, "--XyZ\r\n" CD "p%zu\r\n\r\n%zu\r\n", i, i);
    cadre_buf_append_str(&b, "--XyZ--\r\n");
    *len = b.len;
    return b.data;
}

static void test_multipart_limits(void **state)
{
    (void)state;
    int rc;
    size_t len;
    /* parts: 1000 by default */
    char *body = parts_body(1000, &len);
    transcript(body, len, 0, NULL, &rc);
    assert_int_equal(rc, 0);
    body = parts_body(1001, &len);
    assert_string_equal(strstr(transcript(body, len, 0, NULL, &rc), "!"), "!more than 1000 parts");
    assert_int_equal(rc, CADRE_ETOOBIG);
    body = parts_body(5000, &len);
    transcript(body, len, 7, NULL, &rc);
    assert_int_equal(rc, CADRE_ETOOBIG);
    cadre_form_limits lim = { .max_parts = 3 };
    body = parts_body(4, &len);
    transcript(body, len, 0, &lim, &rc);
    assert_int_equal(rc, CADRE_ETOOBIG);

    /* a field: exactly the limit passes, one byte more is refused */
    lim = (cadre_form_limits){ .max_field_size = 5 };
    const char *ok = "--XyZ\r\n" CD "a\r\n\r\n12345\r\n--XyZ--";
    const char *big = "--XyZ\r\n" CD "a\r\n\r\n123456\r\n--XyZ--";
    const char *file = "--XyZ\r\n" CD "a; filename=f\r\n\r\n123456\r\n--XyZ--";
    for (size_t step = 0; step < 4; step++) {
        transcript(ok, strlen(ok), step, &lim, &rc);
        assert_int_equal(rc, 0);
        assert_string_equal(strstr(transcript(big, strlen(big), step, &lim, &rc), "!"),
                            "!a form field is larger than 5 bytes");
        assert_int_equal(rc, CADRE_ETOOBIG);
        transcript(file, strlen(file), step, &lim, &rc); /* the field limit is not a file's */
        assert_int_equal(rc, 0);
    }
    lim = (cadre_form_limits){ .max_file_size = 5 };
    assert_string_equal(strstr(transcript(file, strlen(file), 0, &lim, &rc), "!"),
                        "!a file is larger than 5 bytes");
    assert_int_equal(rc, CADRE_ETOOBIG);
    transcript(big, strlen(big), 0, &lim, &rc);
    assert_int_equal(rc, 0);

    /* header bytes of one part */
    lim = (cadre_form_limits){ .max_header_bytes = 49 };
    const char *h49 = "--XyZ\r\n" CD "abcdefgh\r\n\r\nv\r\n--XyZ--"; /* 47 + 2 bytes */
    const char *h50 = "--XyZ\r\n" CD "abcdefghi\r\n\r\nv\r\n--XyZ--";
    transcript(h49, strlen(h49), 0, &lim, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(strstr(transcript(h50, strlen(h50), 1, &lim, &rc), "!"),
                        "!a part's headers are larger than 49 bytes");
    assert_int_equal(rc, CADRE_ETOOBIG);
}

/* A callback's error stops the parser, and sticks. */
static int refuse_data(void *ctx, const char *d, size_t n)
{
    (void)ctx, (void)d, (void)n;
    return CADRE_EIO;
}

static void test_multipart_callback_error(void **state)
{
    (void)state;
    static const cadre_multipart_callbacks cb = { NULL, refuse_data, NULL };
    cadre_multipart m;
    cadre_multipart_init(&m, CADRE_LIT("XyZ"), NULL, &arena, &cb, NULL);
    const char *b = "--XyZ\r\n" CD "a\r\n\r\nv\r\n--XyZ--";
    assert_int_equal(cadre_multipart_feed(&m, b, strlen(b)), CADRE_EIO);
    assert_non_null(cadre_multipart_reason(&m));
    assert_int_equal(cadre_multipart_feed(&m, b, 1), CADRE_EIO);
    assert_int_equal(cadre_multipart_finish(&m), CADRE_EIO);
}

/* ---------------------------------------------------------------------------------------------
 * Multipart into a schema, with uploads
 * ------------------------------------------------------------------------------------------- */

#define MP_CT "multipart/form-data; boundary=XyZ"

/* The file's content: CRLFs, NULs, high bytes and near-delimiters. */
static const char payload[] = "line1\r\nline2\r\n\r\nx--XyZ--\r\n--XyW\r\n--Xy\0\xFF\xFE\r\n-\r";

static char *upload_body(size_t *len)
{
    cadre_buf b;
    cadre_buf_init_arena(&b, &arena, 1 << 20);
    cadre_buf_append_str(&b, "--XyZ\r\n" CD "\"title\"\r\n\r\nReport\r\n");
    cadre_buf_append_str(&b, "--XyZ\r\n" CD "\"doc\"; filename=\"C:\\tmp\\r\xC3\xA9port.bin\"\r\n"
                             "Content-Type: application/octet-stream\r\n\r\n");
    cadre_buf_append(&b, payload, sizeof payload - 1);
    cadre_buf_append_str(&b, "\r\n--XyZ\r\n" CD "\"extras\"; filename=\"a.txt\"\r\n\r\nA\r\n");
    cadre_buf_append_str(&b, "--XyZ\r\n" CD "\"extras\"; filename=\"b.txt\"\r\n\r\n\r\n");
    cadre_buf_append_str(&b, "--XyZ\r\n" CD "\"avatar\"; filename=\"\"\r\nContent-Type: "
                             "application/octet-stream\r\n\r\n\r\n"); /* no file chosen */
    cadre_buf_append_str(&b, "--XyZ\r\n" CD "\"ignored\"; filename=\"big.bin\"\r\n\r\nzzzz\r\n");
    cadre_buf_append_str(&b, "--XyZ\r\n" CD "\"n\"\r\n\r\n7\r\n--XyZ--\r\n");
    *len = b.len;
    return b.data;
}

static void check_upload(const Upload *u)
{
    assert_string_equal(u->title.ptr, "Report");
    assert_int_equal(u->n, 7);
    assert_string_equal(u->doc.filename, "r\xC3\xA9port.bin");
    assert_string_equal(u->doc.content_type, "application/octet-stream");
    assert_int_equal(u->doc.size, sizeof payload - 1);
    assert_non_null(u->doc.path);
    assert_memory_equal(u->doc.path, tmpdir, strlen(tmpdir));
    size_t len;
    const char *bytes = slurp(u->doc.path, &len);
    assert_non_null(bytes);
    assert_int_equal(len, sizeof payload - 1);
    assert_memory_equal(bytes, payload, len);
    assert_int_equal(u->extras.len, 2);
    assert_string_equal(u->extras.items[0].filename, "a.txt");
    assert_string_equal(u->extras.items[0].content_type, "text/plain"); /* RFC 7578's default */
    assert_int_equal(u->extras.items[0].size, 1);
    assert_int_equal(u->extras.items[1].size, 0);
    bytes = slurp(u->extras.items[1].path, &len);
    assert_non_null(bytes);
    assert_int_equal(len, 0);
    assert_false(cadre_has(u, Upload, avatar));
    assert_null(u->avatar.path);
    assert_true(cadre_has(u, Upload, doc));
}

static void test_upload_to_temp_files(void **state)
{
    (void)state;
    cadre_form_limits lim = { .tmp_dir = tmpdir };
    size_t len;
    char *body = upload_body(&len);
    for (size_t step = 0; step < 8; step++) {
        Upload u;
        cadre_verrors e;
        cadre_verrors_init(&e, &arena);
        cadre_form f;
        assert_int_equal(cadre_form_multipart_begin(&f, CADRE_SCHEMA_OF(Upload), CADRE_LIT(MP_CT), &u,
                                                    &arena, &lim, &e),
                         0);
        size_t piece = step == 0 ? len : step == 7 ? 4096 : step;
        for (size_t i = 0; i < len; i += piece)
            assert_int_equal(cadre_form_multipart_feed(&f, body + i, len - i < piece ? len - i : piece), 0);
        int rc = cadre_form_multipart_end(&f);
        if (rc)
            fail_msg("rc %d: %s %s", rc, cadre_form_reason(&f) ? cadre_form_reason(&f) : "",
                     errors_json(&e));
        check_upload(&u);
        assert_int_equal(tmp_entries(), 3); /* doc and two extras; the ignored part is not kept */
        assert_string_equal(encode(CADRE_SCHEMA_OF(Upload), &u),
                            "{\"title\":\"Report\",\"doc\":\"r\xC3\xA9port.bin\",\"extras\":[\"a.txt\","
                            "\"b.txt\"],\"n\":7}");
        cadre_form_cleanup(&f);
        assert_int_equal(tmp_entries(), 0);
        cadre_form_cleanup(&f); /* twice is fine */
    }
}

static void test_upload_errors(void **state)
{
    (void)state;
    cadre_form_limits lim = { .tmp_dir = tmpdir };
    static const struct {
        const char *what, *body, *errors;
    } rows[] = {
        { "no file chosen for a required file; title empty",
          "--XyZ\r\n" CD "title\r\n\r\n\r\n--XyZ\r\n" CD "doc; filename=\"\"\r\n\r\n\r\n--XyZ--",
          "{\"detail\":[{\"type\":\"missing\",\"loc\":[\"body\",\"title\"],\"msg\":\"Field required\","
          "\"input\":null},{\"type\":\"missing\",\"loc\":[\"body\",\"doc\"],\"msg\":\"Field required\","
          "\"input\":null}]}" },
        { "text for a file field",
          "--XyZ\r\n" CD "title\r\n\r\nt\r\n--XyZ\r\n" CD "doc\r\n\r\nnot a file\r\n--XyZ--",
          "{\"detail\":[{\"type\":\"value_error\",\"loc\":[\"body\",\"doc\"],\"msg\":\"Value error, "
          "Expected UploadFile, received: <class 'str'>\",\"input\":\"not a file\",\"ctx\":{\"error\":{}}}]}" },
        { "a file for a text field and for an int",
          "--XyZ\r\n" CD "title; filename=t.txt\r\n\r\nabc\r\n--XyZ\r\n" CD "n; filename=n.txt\r\n"
          "Content-Type: a/b\r\n\r\n1\r\n--XyZ\r\n" CD "doc; filename=d\r\n\r\n\r\n--XyZ--",
          "{\"detail\":[{\"type\":\"string_type\",\"loc\":[\"body\",\"title\"],\"msg\":\"Input should be "
          "a valid string\",\"input\":{\"filename\":\"t.txt\",\"content_type\":\"text/plain\",\"size\":3}},"
          "{\"type\":\"int_type\",\"loc\":[\"body\",\"n\"],\"msg\":\"Input should be a valid integer\","
          "\"input\":{\"filename\":\"n.txt\",\"content_type\":\"a/b\",\"size\":1}}]}" },
        { "too many files, and text among them",
          "--XyZ\r\n" CD "title\r\n\r\nt\r\n--XyZ\r\n" CD "doc; filename=d\r\n\r\n\r\n--XyZ\r\n" CD
          "extras; filename=1\r\n\r\n\r\n--XyZ\r\n" CD "extras\r\n\r\ntext\r\n--XyZ\r\n" CD
          "extras; filename=3\r\n\r\n\r\n--XyZ\r\n" CD "extras; filename=4\r\n\r\n\r\n--XyZ--",
          "{\"detail\":[{\"type\":\"value_error\",\"loc\":[\"body\",\"extras\",1],\"msg\":\"Value error, "
          "Expected UploadFile, received: <class 'str'>\",\"input\":\"text\",\"ctx\":{\"error\":{}}},"
          "{\"type\":\"too_long\",\"loc\":[\"body\",\"extras\"],\"msg\":\"List should have at most 3 items "
          "after validation, not 4\",\"input\":[{\"filename\":\"1\",\"content_type\":\"text/plain\","
          "\"size\":0},\"text\",{\"filename\":\"3\",\"content_type\":\"text/plain\",\"size\":0},"
          "{\"filename\":\"4\",\"content_type\":\"text/plain\",\"size\":0}],\"ctx\":{\"field_type\":"
          "\"List\",\"max_length\":3,\"actual_length\":4}}]}" },
        { "the same text errors as a urlencoded form",
          "--XyZ\r\n" CD "title\r\n\r\nt\r\n--XyZ\r\n" CD "doc; filename=d\r\n\r\n\r\n--XyZ\r\n" CD
          "n\r\n\r\n1.5\r\n--XyZ--",
          "{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"body\",\"n\"],\"msg\":\"Input should be a "
          "valid integer, unable to parse string as an integer\",\"input\":\"1.5\"}]}" },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        Upload u;
        cadre_verrors e;
        cadre_verrors_init(&e, &arena);
        cadre_form f;
        int rc = cadre_form_decode_multipart(&f, CADRE_SCHEMA_OF(Upload), CADRE_LIT(MP_CT),
                                             cadre_slice_cstr(rows[i].body), &u, &arena, &lim, &e);
        if (rc != CADRE_EINVAL || strcmp(errors_json(&e), rows[i].errors) != 0)
            fail_msg("%s: rc %d (%s)\n  got  %s\n  want %s", rows[i].what, rc,
                     cadre_form_reason(&f) ? cadre_form_reason(&f) : "", errors_json(&e),
                     rows[i].errors);
        cadre_form_cleanup(&f);
    }
}

static void test_upload_failures_clean_up(void **state)
{
    (void)state;
    size_t len;
    char *body = upload_body(&len);
    /* every prefix: a clean refusal, and no file left behind */
    cadre_form_limits lim = { .tmp_dir = tmpdir };
    for (size_t k = 0; k < len - 2; k++) {
        Upload u;
        cadre_verrors e;
        cadre_verrors_init(&e, &arena);
        cadre_form f;
        int rc = cadre_form_decode_multipart(&f, CADRE_SCHEMA_OF(Upload), CADRE_LIT(MP_CT),
                                             (cadre_slice){ body, k }, &u, &arena, &lim, &e);
        assert_int_equal(rc, CADRE_EPARSE);
        assert_non_null(cadre_form_reason(&f));
        assert_int_equal(e.len, 0);
        cadre_form_cleanup(&f);
        assert_int_equal(tmp_entries(), 0);
        if (k % 64 == 0)
            cadre_arena_reset(&arena), body = upload_body(&len);
    }
    /* a file over its limit */
    lim.max_file_size = 10;
    Upload u;
    cadre_verrors e;
    cadre_verrors_init(&e, &arena);
    cadre_form f;
    assert_int_equal(cadre_form_decode_multipart(&f, CADRE_SCHEMA_OF(Upload), CADRE_LIT(MP_CT),
                                                 (cadre_slice){ body, len }, &u, &arena, &lim, &e),
                     CADRE_ETOOBIG);
    assert_string_equal(cadre_form_reason(&f), "a file is larger than 10 bytes");
    cadre_form_cleanup(&f);
    assert_int_equal(tmp_entries(), 0);

    /* no boundary */
    assert_int_equal(cadre_form_decode_multipart(&f, CADRE_SCHEMA_OF(Upload),
                                                 CADRE_LIT("multipart/form-data"),
                                                 (cadre_slice){ body, len }, &u, &arena, &lim, &e),
                     CADRE_EPARSE);
    assert_string_equal(cadre_form_reason(&f), "no boundary in the multipart/form-data Content-Type");
    cadre_form_cleanup(&f);

    /* a directory that does not exist: EIO, said why */
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    lim = (cadre_form_limits){ .tmp_dir = "/nonexistent/cadre" };
    assert_int_equal(cadre_form_decode_multipart(&f, CADRE_SCHEMA_OF(Upload), CADRE_LIT(MP_CT),
                                                 (cadre_slice){ body, len }, &u, &arena, &lim, &e),
                     CADRE_EIO);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    assert_non_null(strstr(cadre_form_reason(&f), "/nonexistent/cadre"));
    cadre_form_cleanup(&f);
}

/* A file the handler moved is not deleted by the cleanup. */
static void test_upload_kept_when_moved(void **state)
{
    (void)state;
    cadre_form_limits lim = { .tmp_dir = tmpdir };
    size_t len;
    char *body = upload_body(&len);
    Upload u;
    cadre_verrors e;
    cadre_verrors_init(&e, &arena);
    cadre_form f;
    assert_int_equal(cadre_form_decode_multipart(&f, CADRE_SCHEMA_OF(Upload), CADRE_LIT(MP_CT),
                                                 (cadre_slice){ body, len }, &u, &arena, &lim, &e),
                     0);
    char kept[128];
    snprintf(kept, sizeof kept, "%s.kept", tmpdir);
    assert_int_equal(rename(u.doc.path, kept), 0);
    /* and another file now at the old path is not the upload either */
    FILE *other = fopen(u.doc.path, "w");
    assert_non_null(other);
    fclose(other);
    cadre_form_cleanup(&f);
    struct stat st;
    assert_int_equal(stat(kept, &st), 0);
    assert_int_equal(st.st_size, sizeof payload - 1);
    assert_int_equal(stat(u.doc.path, &st), 0);
    unlink(u.doc.path);
    unlink(kept);
}

static void test_field_error_lookup(void **state)
{
    (void)state;
    Profile p;
    cadre_verrors e;
    cadre_verrors_init(&e, &arena);
    cadre_form_decode_urlencoded(CADRE_SCHEMA_OF(Profile), CADRE_LIT("age=x&ids=1&ids=y"), &p, &arena, &e);
    assert_string_equal(cadre_form_error(&e, "name"), "Field required");
    assert_string_equal(cadre_form_error(&e, "age"),
                        "Input should be a valid integer, unable to parse string as an integer");
    const cadre_verror *ids = cadre_form_field_error(&e, "ids");
    assert_int_equal(ids->nloc, 3); /* ["body","ids",1] */
    assert_true(cadre_slice_eq_cstr(ids->loc[1].key, "ids"));
    assert_null(ids->loc[2].key.ptr);
    assert_int_equal(ids->loc[2].index, 1);
    assert_true(cadre_slice_eq_cstr(ids->input, "y") && !ids->input_is_json); /* the text sent */
    assert_null(cadre_form_error(&e, "tags"));
    assert_null(cadre_form_error(&e, "ag")); /* a prefix of a name is not the name */
    assert_null(cadre_form_error(&e, NULL));
    cadre_verrors_push(&e, "missing", "Field required", "body", (cadre_slice){ NULL, 0 }, -1);
    assert_string_equal(cadre_form_error(&e, NULL), "Field required");
    /* JSON bodies have the same locs */
    cadre_verrors_init(&e, &arena);
    cadre_schema_decode_json(CADRE_SCHEMA_OF(Profile), "{\"name\":\"\"}", 11, &p, &arena, "body", &e);
    assert_string_equal(cadre_form_field_error(&e, "name")->type, "string_too_short");
    assert_string_equal(cadre_form_field_error(&e, "age")->type, "missing");
    assert_null(cadre_form_error(NULL, "age"));
}

/* The file type in JSON: a value_error naming the value's Python class; JSON Schema binary. */
static void test_file_field_in_json(void **state)
{
    (void)state;
    Upload u;
    cadre_verrors e;
    cadre_verrors_init(&e, &arena);
    const char *j = "{\"title\":\"t\",\"doc\":1,\"extras\":[\"x\",null],\"avatar\":{}}";
    assert_int_equal(cadre_schema_decode_json(CADRE_SCHEMA_OF(Upload), j, strlen(j), &u, &arena, "body", &e),
                     CADRE_EINVAL);
    assert_int_equal(e.len, 4);
    assert_string_equal(e.items[0].msg, "Value error, Expected UploadFile, received: <class 'int'>");
    assert_string_equal(loc_text(&e.items[1]), "[\"body\",\"extras\",0]");
    assert_string_equal(e.items[1].msg, "Value error, Expected UploadFile, received: <class 'str'>");
    assert_string_equal(e.items[2].msg, "Value error, Expected UploadFile, received: <class 'NoneType'>");
    assert_string_equal(e.items[3].msg, "Value error, Expected UploadFile, received: <class 'dict'>");

    cadre_buf b;
    cadre_json_writer w;
    cadre_buf_init_arena(&b, &arena, 1 << 16);
    cadre_json_writer_init(&w, &b);
    cadre_schema_write_json_schema(CADRE_SCHEMA_OF(Upload), &w, true);
    const char *s = cadre_buf_cstr(&b);
    assert_non_null(strstr(s, "\"doc\":{\"type\":\"string\",\"format\":\"binary\",\"title\":\"Doc\"}"));
    assert_non_null(strstr(s, "\"extras\":{\"type\":\"array\",\"items\":{\"type\":\"string\",\"format\":"
                              "\"binary\"},\"maxItems\":3,\"title\":\"Extras\",\"default\":[]}"));
    assert_non_null(strstr(s, "\"required\":[\"title\",\"doc\"]"));
}

/* ---------------------------------------------------------------------------------------------
 * Typed routes with .form, through the test client
 * ------------------------------------------------------------------------------------------- */

#define RESULT_FIELDS(F) F(string, summary)
CADRE_SCHEMA(Result, RESULT_FIELDS)

static int h_profile(cadre_request *r, const cadre_none *p, const Profile *in, Profile *out)
{
    (void)r, (void)p;
    *out = *in;
    return 0;
}

static char last_path[256];

static int h_upload(cadre_request *r, const cadre_none *p, const Upload *in, Result *out)
{
    (void)p;
    size_t len = 0;
    const char *bytes = slurp(in->doc.path, &len);
    snprintf(last_path, sizeof last_path, "%s", in->doc.path);
    out->summary.ptr = cadre_arena_printf(r->arena, "%s %s %lld %d %zu", in->title.ptr, in->doc.filename,
                                          (long long)in->doc.size,
                                          bytes && len == sizeof payload - 1 &&
                                              memcmp(bytes, payload, len) == 0,
                                          in->extras.len);
    out->summary.len = strlen(out->summary.ptr);
    return 201;
}

static void test_typed_routes(void **state)
{
    (void)state;
    static cadre_form_limits lim;
    lim = (cadre_form_limits){ .tmp_dir = tmpdir, .max_file_size = 1000 };
    cadre_app *app = cadre_app_new("forms");
    assert_int_equal(CADRE_ROUTE(app, POST, "/profile", h_profile, cadre_none, Profile, Profile,
                                 .form = true),
                     0);
    assert_int_equal(CADRE_ROUTE(app, POST, "/json-only", h_profile, cadre_none, Profile, Profile), 0);
    assert_int_equal(CADRE_ROUTE(app, POST, "/upload", h_upload, cadre_none, Upload, Result,
                                 .form = true, .form_limits = &lim),
                     0);
    assert_int_equal(cadre_app_check(app), 0);
    cadre_test_response res;
    const char *urlenc = "Content-Type: application/x-www-form-urlencoded\r\n";

    assert_int_equal(cadre_test_request(app, "POST", "/profile", urlenc, "name=Ann&age=5&tags=a&tags=b", 28,
                                        &res),
                     0);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.body, "{\"name\":\"Ann\",\"age\":5,\"subscribe\":false,\"tags\":[\"a\",\"b\"],"
                                  "\"ids\":[],\"weights\":[],\"color\":\"red\",\"note\":\"none\"}");
    cadre_test_response_free(&res);

    /* a charset parameter and case do not matter */
    assert_int_equal(cadre_test_request(app, "POST", "/profile",
                                        "Content-Type: Application/X-WWW-Form-Urlencoded; charset=UTF-8\r\n",
                                        "name=Ann&age=x", 14, &res),
                     0);
    assert_int_equal(res.status, 422);
    assert_string_equal(res.body, "{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"body\",\"age\"],"
                                  "\"msg\":\"Input should be a valid integer, unable to parse string as "
                                  "an integer\",\"input\":\"x\"}]}");
    cadre_test_response_free(&res);

    /* an empty urlencoded body is an empty form: the fields are missing, not the body */
    assert_int_equal(cadre_test_request(app, "POST", "/profile", urlenc, "", 0, &res), 0);
    assert_int_equal(res.status, 422);
    assert_non_null(strstr(res.body, "[\"body\",\"name\"]"));
    cadre_test_response_free(&res);

    /* JSON still works on a form route */
    assert_int_equal(cadre_test_request(app, "POST", "/profile", "Content-Type: application/json\r\n",
                                        "{\"name\":\"J\",\"age\":1}", 20, &res),
                     0);
    assert_int_equal(res.status, 200);
    cadre_test_response_free(&res);

    /* a route without .form refuses a form as before (FastAPI with a JSON body model), with a
     * hint in ctx that the body should have been sent as JSON */
    assert_int_equal(cadre_test_request(app, "POST", "/json-only", urlenc, "name=Ann&age=5", 14, &res), 0);
    assert_int_equal(res.status, 422);
    assert_string_equal(res.body, "{\"detail\":[{\"type\":\"model_attributes_type\",\"loc\":[\"body\"],"
                                  "\"msg\":\"Input should be a valid dictionary or object to extract "
                                  "fields from\",\"input\":\"name=Ann&age=5\",\"ctx\":{\"hint\":"
                                  "\"this route takes JSON: send the body with Content-Type: "
                                  "application/json (curl -d sends "
                                  "application/x-www-form-urlencoded)\"}}]}");
    cadre_test_response_free(&res);

    /* multipart with a file: the handler reads it, the file is gone afterwards */
    size_t len;
    char *body = upload_body(&len);
    assert_int_equal(cadre_test_request(app, "POST", "/upload", "Content-Type: " MP_CT "\r\n", body, len,
                                        &res),
                     0);
    assert_int_equal(res.status, 201);
    char want[128];
    snprintf(want, sizeof want, "{\"summary\":\"Report r\xC3\xA9port.bin %zu 1 2\"}", sizeof payload - 1);
    assert_string_equal(res.body, want);
    cadre_test_response_free(&res);
    assert_int_equal(access(last_path, F_OK), -1);
    assert_int_equal(tmp_entries(), 0);

    /* malformed: 400 with the reason; a limit: 413 */
    assert_int_equal(cadre_test_request(app, "POST", "/upload", "Content-Type: " MP_CT "\r\n", body,
                                        len - 12, &res),
                     0);
    assert_int_equal(res.status, 400);
    assert_string_equal(res.body, "{\"detail\":\"the multipart body ends before its closing boundary\"}");
    cadre_test_response_free(&res);
    assert_int_equal(cadre_test_request(app, "POST", "/upload",
                                        "Content-Type: multipart/form-data\r\n", body, len, &res),
                     0);
    assert_int_equal(res.status, 400);
    cadre_test_response_free(&res);
    lim.max_file_size = 5;
    assert_int_equal(cadre_test_request(app, "POST", "/upload", "Content-Type: " MP_CT "\r\n", body, len,
                                        &res),
                     0);
    assert_int_equal(res.status, 413);
    assert_string_equal(res.body, "{\"detail\":\"a file is larger than 5 bytes\"}");
    cadre_test_response_free(&res);
    assert_int_equal(tmp_entries(), 0);

    /* OpenAPI: the form media types only where .form is set; a file schema is multipart only */
    cadre_buf doc;
    cadre_buf_init(&doc, 1 << 22);
    assert_int_equal(cadre_app_openapi(app, &doc), 0);
    const char *d = cadre_buf_cstr(&doc);
    assert_non_null(strstr(d, "\"/profile\":{\"post\":{\"operationId\":\"h_profile_profile_post\","
                              "\"requestBody\":{\"content\":{\"application/json\":{\"schema\":{\"$ref\":"
                              "\"#/components/schemas/Profile\"}},\"application/x-www-form-urlencoded\":"
                              "{\"schema\":{\"$ref\":\"#/components/schemas/Profile\"}},"
                              "\"multipart/form-data\":{\"schema\":{\"$ref\":\"#/components/schemas/"
                              "Profile\"}}},\"required\":true}"));
    assert_non_null(strstr(d, "\"/json-only\":{\"post\":{\"operationId\":\"h_profile_json_only_post\","
                              "\"requestBody\":{\"content\":{\"application/json\":{\"schema\":{\"$ref\":"
                              "\"#/components/schemas/Profile\"}}},\"required\":true}"));
    assert_non_null(strstr(d, "\"requestBody\":{\"content\":{\"multipart/form-data\":{\"schema\":{\"$ref\":"
                              "\"#/components/schemas/Upload\"}}},\"required\":true}"));
    assert_non_null(strstr(d, "\"doc\":{\"type\":\"string\",\"format\":\"binary\",\"title\":\"Doc\"}"));
    cadre_buf_free(&doc);
    cadre_app_free(app);
}

static int h_unused(cadre_request *r, const cadre_none *p, const Upload *in, Result *out)
{
    (void)r, (void)p, (void)in, (void)out;
    return 0;
}

#define FILE_PARAM_FIELDS(F) F(file, f, CADRE_OPTIONAL)
CADRE_SCHEMA(FileParam, FILE_PARAM_FIELDS)

static int h_unused2(cadre_request *r, const FileParam *p, const cadre_none *in, Result *out)
{
    (void)r, (void)p, (void)in, (void)out;
    return 0;
}

static void test_typed_startup_refusals(void **state)
{
    (void)state;
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    /* a body with a file field needs .form */
    cadre_app *app = cadre_app_new("bad");
    assert_int_equal(CADRE_ROUTE(app, POST, "/u", h_unused, cadre_none, Upload, Result), CADRE_EINVAL);
    assert_int_equal(cadre_app_check(app), 3); /* doc, extras and avatar */
    cadre_app_free(app);
    /* a file is never a parameter */
    app = cadre_app_new("bad2");
    assert_int_equal(CADRE_ROUTE(app, GET, "/p", h_unused2, FileParam, cadre_none, Result), CADRE_EINVAL);
    assert_int_equal(cadre_app_check(app), 1);
    cadre_app_free(app);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_urlencoded_table),
        T(test_urlencoded_presence),
        T(test_urlencoded_errors_match_json),
        T(test_urlencoded_required_bool),
        T(test_urlencoded_strict_and_unformable),
        T(test_url_decode),
        T(test_boundary),
        T(test_multipart_table),
        T(test_multipart_every_prefix),
        T(test_multipart_every_split),
        T(test_multipart_limits),
        T(test_multipart_callback_error),
        T(test_upload_to_temp_files),
        T(test_upload_errors),
        T(test_upload_failures_clean_up),
        T(test_upload_kept_when_moved),
        T(test_field_error_lookup),
        T(test_file_field_in_json),
        T(test_typed_routes),
        T(test_typed_startup_refusals),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
