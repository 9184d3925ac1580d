/*
 * libFuzzer target for schema-directed decoding (cadre_schema_decode_json, decode_text).
 *
 * Input: the JSON body for a schema with every field type. Invariants (abort on violation):
 * decoding agrees with the reader on what is JSON (CADRE_EPARSE exactly when
 * cadre_json_validate refuses); a valid decode encodes to JSON that decodes again to the same
 * encoding (a fixed point); every reported error has a non-empty type and msg, and its loc, input
 * and ctx are valid JSON texts, so the 422 body is always valid JSON.
 */
#include <cadre.h>

#include "fuzz_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIMS_FIELDS(F)                                                                             \
    F(double, w, CADRE_GE(0))                                                                      \
    F(doubles, h, CADRE_MAX_ITEMS(4))                                                              \
    F(bool, ok, CADRE_DEFAULT(false))
CADRE_SCHEMA(fz_dims, DIMS_FIELDS)

#define KIND_VALUES(V) V(FZ_SMALL, "small") V(FZ_LARGE, "large")
CADRE_ENUM(fz_kind, KIND_VALUES)

#define THING_FIELDS(F)                                                                            \
    F(string, name, CADRE_MIN_LEN(1), CADRE_MAX_LEN(20))                                           \
    F(double, price, CADRE_GT(0), CADRE_LT(1e6))                                                   \
    F(strings, tags, CADRE_MAX_ITEMS(5), CADRE_DEFAULT_EMPTY)                                      \
    F(bool, in_stock, CADRE_DEFAULT(true))                                                         \
    F(int32, small, CADRE_OPTIONAL)                                                                \
    F(int64, big, CADRE_GE(-5), CADRE_OPTIONAL)                                                    \
    F(int64s, ids, CADRE_MIN_ITEMS(1), CADRE_OPTIONAL)                                             \
    F(string, note, CADRE_NULLABLE, CADRE_DEFAULT_STR("none"))                                     \
    F(object(fz_dims), dims, CADRE_OPTIONAL, CADRE_NULLABLE)                                       \
    F(array(fz_dims), many, CADRE_DEFAULT_EMPTY)                                                   \
    F(enum(fz_kind), kind, CADRE_DEFAULT(FZ_SMALL))                                                \
    F(date, day, CADRE_OPTIONAL)                                                                   \
    F(datetime, at, CADRE_OPTIONAL)                                                                \
    F(uuid, uid, CADRE_OPTIONAL)                                                                   \
    F(string, code, CADRE_PATTERN("^[A-Z]+[0-9]*$"), CADRE_OPTIONAL)
CADRE_SCHEMA(fz_thing, THING_FIELDS)

/* json: decoded from JSON, whose inputs are the body's JSON text; else from a parameter's text,
 * whose inputs are that text */
static void check_errors(const cadre_verrors *e, const char *root, bool json)
{
    check_verrors(e, root, 1);
    for (size_t i = 0; i < e->len; i++)
        CHECK(!e->items[i].input.ptr || e->items[i].input_is_json == json);
}

static int decode(const char *in, size_t n, fz_thing *out, cadre_arena *a, cadre_verrors *e)
{
    cadre_verrors_init(e, a);
    int rc = cadre_schema_decode_json(CADRE_SCHEMA_OF(fz_thing), in, n, out, a, "body", e);
    CHECK(rc == 0 || rc == CADRE_EINVAL || rc == CADRE_EPARSE);
    CHECK((rc == 0) == (e->len == 0));
    check_errors(e, "body", true);
    return rc;
}

static void encode(const fz_thing *t, cadre_buf *b)
{
    cadre_json_writer w;
    cadre_json_writer_init(&w, b);
    cadre_schema_encode_json(CADRE_SCHEMA_OF(fz_thing), t, &w);
    CHECK(cadre_json_writer_error(&w) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size ? size : 1);
    memcpy(in, data, size);
    cadre_arena a;
    cadre_arena_init(&a, 4096);
    cadre_verrors e;
    fz_thing t, t2;

    int rc = decode(in, size, &t, &a, &e);
    /* what is JSON is decided by the reader alone (nesting within the default depth) */
    CHECK((rc == CADRE_EPARSE) == (cadre_json_validate(in, size, 0, NULL, NULL) != 0));
    if (rc == 0) {
        cadre_buf b1, b2;
        cadre_buf_init(&b1, (size_t)1 << 24);
        cadre_buf_init(&b2, (size_t)1 << 24);
        encode(&t, &b1);
        CHECK(decode(b1.data, b1.len, &t2, &a, &e) == 0);
        encode(&t2, &b2);
        CHECK(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0);
        cadre_buf_free(&b1);
        cadre_buf_free(&b2);
    }

    /* the same bytes as a parameter's text, for each scalar field */
    for (size_t i = 0; i < CADRE_SCHEMA_OF(fz_thing)->nfields; i++) {
        const cadre_field *f = &CADRE_SCHEMA_OF(fz_thing)->fields[i];
        if (f->type == CADRE_T_STRINGS || f->type == CADRE_T_INT64S || f->type == CADRE_T_DOUBLES ||
            f->type == CADRE_T_OBJECT || f->type == CADRE_T_ARRAY)
            continue;
        cadre_verrors_init(&e, &a);
        int r = cadre_schema_decode_text(CADRE_SCHEMA_OF(fz_thing), f, (cadre_slice){ in, size }, &t,
                                         &a, "query", &e);
        CHECK((r == 0) == (e.len == 0));
        check_errors(&e, "query", false);
    }
    cadre_arena_free(&a);
    free(in);
    return 0;
}
