/*
 * Schemas (cadre/schema.h): the struct CADRE_SCHEMA generates, JSON decoding with Pydantic 2's
 * lax coercions and its error objects (type, loc, msg, input, ctx) word for word, text decoding
 * for parameters, defaults, encoding and JSON Schema.
 *
 * The reference is FastAPI 0.100+ / Pydantic 2 in JSON mode: every expected 422 "detail" below is
 * what FastAPI answers for the same input (compact, as Starlette's JSONResponse writes it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cadre.h>

#include "verror_text.h"

#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Schemas
 * ------------------------------------------------------------------------------------------- */

/* The SPEC item, and ItemOut = the same list plus one field (X-macro composition). */
#define ITEM_FIELDS(F)                                                                             \
    F(string, name, CADRE_MIN_LEN(1), CADRE_MAX_LEN(100))                                          \
    F(double, price, CADRE_GT(0))                                                                  \
    F(strings, tags, CADRE_MAX_ITEMS(10), CADRE_DEFAULT_EMPTY)                                     \
    F(bool, in_stock, CADRE_DEFAULT(true))
CADRE_SCHEMA(Item, ITEM_FIELDS)

#define ITEM_OUT_FIELDS(F) ITEM_FIELDS(F) F(int64, id)
CADRE_SCHEMA(ItemOut, ITEM_OUT_FIELDS)

/* Every scalar type, optional and unconstrained: the coercion tables. */
#define SCALAR_FIELDS(F)                                                                           \
    F(bool, b, CADRE_OPTIONAL)                                                                     \
    F(int32, i32, CADRE_OPTIONAL)                                                                  \
    F(int64, i64, CADRE_OPTIONAL)                                                                  \
    F(double, d, CADRE_OPTIONAL)                                                                   \
    F(string, s, CADRE_OPTIONAL)
CADRE_SCHEMA(Scalars, SCALAR_FIELDS)

/* Every constraint macro. */
#define BOUND_FIELDS(F)                                                                            \
    F(int64, gt0, CADRE_GT(0), CADRE_OPTIONAL)                                                     \
    F(int64, ge1, CADRE_GE(1), CADRE_OPTIONAL)                                                     \
    F(double, lt1, CADRE_LT(1), CADRE_OPTIONAL)                                                    \
    F(double, le_half, CADRE_LE(0.5), CADRE_OPTIONAL)                                              \
    F(int32, pct, CADRE_GE(0), CADRE_LE(100), CADRE_OPTIONAL)                                      \
    F(string, code, CADRE_MIN_LEN(2), CADRE_MAX_LEN(3), CADRE_OPTIONAL)                            \
    F(string, one, CADRE_MIN_LEN(1), CADRE_MAX_LEN(1), CADRE_OPTIONAL)                             \
    F(strings, few, CADRE_MIN_ITEMS(2), CADRE_MAX_ITEMS(3), CADRE_OPTIONAL)                        \
    F(int64s, nums, CADRE_MIN_ITEMS(1), CADRE_OPTIONAL)                                            \
    F(doubles, vals, CADRE_MAX_ITEMS(1), CADRE_OPTIONAL)
CADRE_SCHEMA(Bounds, BOUND_FIELDS)

/* Nesting: an object and an array of objects. */
#define DIMS_FIELDS(F)                                                                             \
    F(double, w, CADRE_GE(0))                                                                      \
    F(int64s, h, CADRE_DEFAULT_EMPTY)
CADRE_SCHEMA(Dims, DIMS_FIELDS)

#define SHAPE_FIELDS(F)                                                                            \
    F(string, label)                                                                               \
    F(object(Dims), dims)                                                                          \
    F(array(Dims), many, CADRE_MAX_ITEMS(3), CADRE_DEFAULT_EMPTY)                                  \
    F(doubles, weights, CADRE_DEFAULT_EMPTY)
CADRE_SCHEMA(Shape, SHAPE_FIELDS)

/* Defaults, optional and nullable fields. */
#define OPTS_FIELDS(F)                                                                             \
    F(int64, n, CADRE_DEFAULT(7))                                                                  \
    F(int32, m, CADRE_DEFAULT(-3))                                                                 \
    F(double, x, CADRE_DEFAULT(2.5))                                                               \
    F(bool, on, CADRE_DEFAULT(true))                                                               \
    F(bool, off, CADRE_DEFAULT(false))                                                             \
    F(string, s, CADRE_DEFAULT_STR("hi"))                                                          \
    F(strings, t, CADRE_DEFAULT_EMPTY)                                                             \
    F(int64, opt, CADRE_OPTIONAL)                                                                  \
    F(string, note, CADRE_NULLABLE)                                                                \
    F(string, maybe, CADRE_NULLABLE, CADRE_OPTIONAL)
CADRE_SCHEMA(Opts, OPTS_FIELDS)

/* For JSON Schema: constraints, defaults, a nested object, an array of objects, nullable. */
#define PRODUCT_FIELDS(F)                                                                          \
    F(string, name, CADRE_MIN_LEN(1), CADRE_MAX_LEN(100))                                          \
    F(double, price, CADRE_GT(0))                                                                  \
    F(int32, qty, CADRE_GE(0), CADRE_LT(1000), CADRE_DEFAULT(1))                                   \
    F(strings, tags, CADRE_MAX_ITEMS(10), CADRE_DEFAULT_EMPTY)                                     \
    F(bool, in_stock, CADRE_DEFAULT(true))                                                         \
    F(string, kind, CADRE_DEFAULT_STR("basic"), CADRE_DESCRIPTION("the kind"))                     \
    F(object(Dims), dims)                                                                          \
    F(array(Dims), parts, CADRE_DEFAULT_EMPTY)                                                     \
    F(string, note, CADRE_NULLABLE)
CADRE_SCHEMA(Product, PRODUCT_FIELDS)

/* Formats: enum, date, datetime, uuid, pattern; and a strict schema. */
#define COLOR_VALUES(V) V(COLOR_RED, "red") V(COLOR_GREEN, "green") V(COLOR_BLUE, "blue")
CADRE_ENUM(color, COLOR_VALUES)

#define EVENT_FIELDS(F)                                                                            \
    F(enum(color), colour, CADRE_DEFAULT(COLOR_GREEN))                                             \
    F(date, day)                                                                                   \
    F(datetime, at, CADRE_OPTIONAL)                                                                \
    F(uuid, id)                                                                                    \
    F(string, code, CADRE_PATTERN("^[A-Z]{3}[0-9]+$"))
CADRE_SCHEMA_STRICT(Event, EVENT_FIELDS)

/* ---------------------------------------------------------------------------------------------
 * Helpers: one arena per test; errors compared as the JSON text FastAPI sends.
 * ------------------------------------------------------------------------------------------- */

static cadre_arena A;

#define loc_text(v) loc_json(&A, (v))


static int setup(void **state)
{
    (void)state;
    cadre_arena_init(&A, 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cadre_arena_free(&A);
    return 0;
}

static const char *errs_text(const cadre_verrors *e)
{
    cadre_buf b;
    cadre_json_writer w;
    cadre_buf_init_arena(&b, &A, 1 << 20);
    cadre_json_writer_init(&w, &b);
    cadre_verrors_write(e, &w);
    assert_int_equal(cadre_json_writer_error(&w), 0);
    char *s = cadre_arena_strndup(&A, b.data, b.len);
    /* always valid JSON */
    assert_int_equal(cadre_json_validate(s, strlen(s), 0, NULL, NULL), 0);
    return s;
}

/* Decodes json into out; returns the return code, *errs gets the error document. */
static int decode(const cadre_schema *s, const char *json, void *out, const char **errs)
{
    cadre_verrors e;
    cadre_verrors_init(&e, &A);
    int rc = cadre_schema_decode_json(s, json, strlen(json), out, &A, "body", &e);
    *errs = errs_text(&e);
    if (rc == 0)
        assert_int_equal(e.len, 0);
    else
        assert_true(e.len > 0);
    return rc;
}

/* Asserts that json decodes into out without errors. */
#define DECODE_OK(T, json, out)                                                                    \
    do {                                                                                           \
        const char *e_;                                                                            \
        int rc_ = decode(CADRE_SCHEMA_OF(T), (json), (out), &e_);                                  \
        if (rc_ != 0)                                                                              \
            fail_msg("%s: rc %d, errors %s", (json), rc_, e_);                                     \
    } while (0)

/* Asserts that json fails with exactly the error list `detail` (the JSON array text). */
#define DECODE_ERR(T, json, detail)                                                                \
    do {                                                                                           \
        T o_;                                                                                      \
        const char *e_;                                                                            \
        int rc_ = decode(CADRE_SCHEMA_OF(T), (json), &o_, &e_);                                    \
        assert_int_equal(rc_, CADRE_EINVAL);                                                       \
        assert_string_equal(e_, "{\"detail\":" detail "}");                                        \
    } while (0)

static const char *encode(const cadre_schema *s, const void *in)
{
    cadre_buf b;
    cadre_json_writer w;
    cadre_buf_init_arena(&b, &A, 1 << 20);
    cadre_json_writer_init(&w, &b);
    cadre_schema_encode_json(s, in, &w);
    assert_int_equal(cadre_json_writer_error(&w), 0);
    return cadre_arena_strndup(&A, b.data, b.len);
}

static const char *json_schema(const cadre_schema *s, bool ref_nested)
{
    cadre_buf b;
    cadre_json_writer w;
    cadre_buf_init_arena(&b, &A, 1 << 20);
    cadre_json_writer_init(&w, &b);
    cadre_schema_write_json_schema(s, &w, ref_nested);
    assert_int_equal(cadre_json_writer_error(&w), 0);
    return cadre_arena_strndup(&A, b.data, b.len);
}

static void assert_cstr(cadre_slice s, const char *want)
{
    assert_non_null(s.ptr);
    assert_int_equal(s.len, strlen(want));
    assert_memory_equal(s.ptr, want, s.len);
    assert_int_equal(s.ptr[s.len], '\0'); /* NUL-terminated */
}

/* ---------------------------------------------------------------------------------------------
 * The generated struct and descriptor
 * ------------------------------------------------------------------------------------------- */

#define IS_TYPE(expr, T) _Generic((expr), T: 1, default: 0)

static void test_struct_layout(void **state)
{
    (void)state;
    Item it;
    Bounds bd;
    Shape sh;
    Scalars sc;
    /* member types follow the type words */
    assert_true(IS_TYPE(it.name, cadre_slice));
    assert_true(IS_TYPE(it.price, double));
    assert_true(IS_TYPE(it.tags, cadre_strings));
    assert_true(IS_TYPE(it.in_stock, bool));
    assert_true(IS_TYPE(sc.i32, int32_t));
    assert_true(IS_TYPE(sc.i64, int64_t));
    assert_true(IS_TYPE(bd.nums, cadre_int64s));
    assert_true(IS_TYPE(bd.vals, cadre_doubles));
    assert_true(IS_TYPE(sh.dims, Dims));
    assert_true(IS_TYPE(sh.many.items, Dims *));
    assert_true(IS_TYPE(sh.many.len, size_t));
    assert_true(IS_TYPE(it.cadre_set_, uint64_t));
    assert_true(IS_TYPE(it.cadre_null_, uint64_t));
    assert_int_equal(sizeof sc.b, sizeof(bool));
    assert_int_equal(sizeof sc.i32, 4);
    assert_int_equal(sizeof sh.dims, sizeof(Dims));

    /* the descriptor matches the struct */
    const cadre_schema *s = CADRE_SCHEMA_OF(Item);
    assert_ptr_equal(s, Item__schema()); /* one static descriptor */
    assert_string_equal(s->name, "Item");
    assert_int_equal(s->size, sizeof(Item));
    assert_int_equal(s->nfields, 4);
    assert_int_equal(s->set_offset, offsetof(Item, cadre_set_));
    assert_int_equal(s->null_offset, offsetof(Item, cadre_null_));
    static const struct {
        const char *name;
        cadre_type type;
        size_t offset;
    } want[] = {
        { "name", CADRE_T_STRING, offsetof(Item, name) },
        { "price", CADRE_T_DOUBLE, offsetof(Item, price) },
        { "tags", CADRE_T_STRINGS, offsetof(Item, tags) },
        { "in_stock", CADRE_T_BOOL, offsetof(Item, in_stock) },
    };
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(s->fields[i].name, want[i].name);
        assert_int_equal(s->fields[i].type, want[i].type);
        assert_int_equal(s->fields[i].offset, want[i].offset);
    }
    /* constraints landed in the descriptor */
    assert_true(s->fields[0].has_min_len && s->fields[0].min_len == 1);
    assert_true(s->fields[0].has_max_len && s->fields[0].max_len == 100);
    assert_false(s->fields[0].has_default);
    assert_true(s->fields[1].has_gt && s->fields[1].gt == 0);
    assert_true(s->fields[2].has_max_items && s->fields[2].max_items == 10);
    assert_true(s->fields[2].has_default);
    assert_true(s->fields[3].has_default && s->fields[3].def_i == 1);

    const cadre_schema *b = CADRE_SCHEMA_OF(Bounds);
    assert_true(b->fields[3].has_le && b->fields[3].le == 0.5);
    assert_true(b->fields[1].has_ge && b->fields[1].ge == 1);
    assert_true(b->fields[2].has_lt && b->fields[2].lt == 1);
    assert_true(b->fields[7].has_min_items && b->fields[7].min_items == 2);
    assert_true(b->fields[7].optional);
    assert_int_equal(b->fields[4].type, CADRE_T_INT32);
    assert_int_equal(b->fields[8].type, CADRE_T_INT64S);
    assert_int_equal(b->fields[9].type, CADRE_T_DOUBLES);

    const cadre_schema *o = CADRE_SCHEMA_OF(Opts);
    assert_true(o->fields[8].nullable);
    assert_false(o->fields[8].optional);
    assert_string_equal(o->fields[5].def_s, "hi");
    assert_true(o->fields[2].def_d == 2.5);

    const cadre_schema *p = CADRE_SCHEMA_OF(Product);
    assert_string_equal(p->fields[5].description, "the kind");

    /* object(T) and array(T) point at T's descriptor; array(T) knows sizeof(T) */
    const cadre_schema *shs = CADRE_SCHEMA_OF(Shape);
    assert_int_equal(shs->fields[1].type, CADRE_T_OBJECT);
    assert_ptr_equal(shs->fields[1].sub(), Dims__schema());
    assert_int_equal(shs->fields[1].offset, offsetof(Shape, dims));
    assert_int_equal(shs->fields[2].type, CADRE_T_ARRAY);
    assert_ptr_equal(shs->fields[2].sub(), Dims__schema());
    assert_int_equal(shs->fields[2].elem_size, sizeof(Dims));
    assert_int_equal(shs->fields[2].offset, offsetof(Shape, many));

    /* cadre_schema_field */
    assert_ptr_equal(cadre_schema_field(s, "price", 5), &s->fields[1]);
    assert_ptr_equal(cadre_schema_field(s, "pricey", 5), &s->fields[1]); /* by length */
    assert_null(cadre_schema_field(s, "pric", 4));
    assert_null(cadre_schema_field(s, "nope", 4));

    /* cadre_none */
    assert_int_equal(cadre_none__schema()->nfields, 0);
    assert_int_equal(cadre_none__schema()->size, sizeof(cadre_none));
}

static void test_xmacro_composition(void **state)
{
    (void)state;
    const cadre_schema *s = CADRE_SCHEMA_OF(ItemOut);
    assert_string_equal(s->name, "ItemOut");
    assert_int_equal(s->nfields, 5);
    assert_int_equal(s->size, sizeof(ItemOut));
    for (size_t i = 0; i < 4; i++) {
        assert_string_equal(s->fields[i].name, Item__schema()->fields[i].name);
        assert_int_equal(s->fields[i].type, Item__schema()->fields[i].type);
    }
    assert_string_equal(s->fields[4].name, "id");
    assert_int_equal(s->fields[4].type, CADRE_T_INT64);
    assert_int_equal(s->fields[4].offset, offsetof(ItemOut, id));
    assert_true(IS_TYPE(((ItemOut *)0)->id, int64_t));
    assert_true(IS_TYPE(((ItemOut *)0)->name, cadre_slice));

    /* the added field is required like any other */
    DECODE_ERR(ItemOut, "{\"name\":\"a\",\"price\":1}",
               "[{\"type\":\"missing\",\"loc\":[\"body\",\"id\"],\"msg\":\"Field required\","
               "\"input\":{\"name\":\"a\",\"price\":1}}]");
    ItemOut o;
    DECODE_OK(ItemOut, "{\"name\":\"a\",\"price\":1,\"id\":9}", &o);
    assert_int_equal(o.id, 9);
    assert_cstr(o.name, "a");
}

/* ---------------------------------------------------------------------------------------------
 * Decoding valid documents
 * ------------------------------------------------------------------------------------------- */

static void test_decode_valid(void **state)
{
    (void)state;
    Item it;
    memset(&it, 0xAB, sizeof it); /* zeroed by the decoder first */
    DECODE_OK(Item, "{\"name\":\"Widget\",\"price\":9.99,\"tags\":[\"a\",\"b\\\"c\",\"\"],"
                    "\"in_stock\":false}",
              &it);
    assert_cstr(it.name, "Widget");
    assert_true(it.price == 9.99);
    assert_int_equal(it.tags.len, 3);
    assert_cstr(it.tags.items[0], "a");
    assert_cstr(it.tags.items[1], "b\"c");
    assert_cstr(it.tags.items[2], "");
    assert_false(it.in_stock);
    assert_true(cadre_has(&it, Item, name));
    assert_true(cadre_has(&it, Item, tags));
    assert_true(cadre_has(&it, Item, in_stock));
    assert_int_equal(it.cadre_null_, 0);

    /* escapes decoded, UTF-8 kept */
    DECODE_OK(Item, "{\"name\":\"caf\\u00e9 \\ud83d\\ude00\\n\",\"price\":1}", &it);
    assert_cstr(it.name, "caf\xc3\xa9 \xf0\x9f\x98\x80\n");

    /* every type at once, whitespace everywhere */
    Scalars sc;
    DECODE_OK(Scalars,
              " {\n \"b\" : true ,\t\"i32\": -2147483648, \"i64\":9223372036854775807,"
              " \"d\": -1.5e3, \"s\": \"x y\" } \n",
              &sc);
    assert_true(sc.b);
    assert_int_equal(sc.i32, INT32_MIN);
    assert_true(sc.i64 == INT64_MAX);
    assert_true(sc.d == -1500.0);
    assert_cstr(sc.s, "x y");

    Bounds bd;
    DECODE_OK(Bounds,
              "{\"gt0\":1,\"ge1\":1,\"lt1\":0.999,\"le_half\":0.5,\"pct\":100,\"code\":\"ab\","
              "\"one\":\"\xc3\xa9\",\"few\":[\"x\",\"y\",\"z\"],\"nums\":[-1,0,1],\"vals\":[2.25]}",
              &bd);
    assert_int_equal(bd.gt0, 1);
    assert_int_equal(bd.pct, 100);
    assert_cstr(bd.one, "\xc3\xa9");
    assert_int_equal(bd.few.len, 3);
    assert_cstr(bd.few.items[2], "z");
    assert_int_equal(bd.nums.len, 3);
    assert_true(bd.nums.items[0] == -1 && bd.nums.items[2] == 1);
    assert_int_equal(bd.vals.len, 1);
    assert_true(bd.vals.items[0] == 2.25);

    Shape sh;
    DECODE_OK(Shape,
              "{\"label\":\"L\",\"dims\":{\"w\":2,\"h\":[3,4]},"
              "\"many\":[{\"w\":1},{\"w\":0.5,\"h\":[]},{\"w\":3,\"h\":[7]}],\"weights\":[1,2.5]}",
              &sh);
    assert_cstr(sh.label, "L");
    assert_true(sh.dims.w == 2.0);
    assert_int_equal(sh.dims.h.len, 2);
    assert_true(sh.dims.h.items[1] == 4);
    assert_true(cadre_has(&sh.dims, Dims, h));
    assert_int_equal(sh.many.len, 3);
    assert_true(sh.many.items[0].w == 1.0);
    assert_int_equal(sh.many.items[0].h.len, 0);
    assert_false(cadre_has(&sh.many.items[0], Dims, h));
    assert_true(cadre_has(&sh.many.items[1], Dims, h));
    assert_true(sh.many.items[2].h.items[0] == 7);
    assert_int_equal(sh.weights.len, 2);
    assert_true(sh.weights.items[0] == 1.0 && sh.weights.items[1] == 2.5);

    /* many elements: arrays grow */
    char big[4096];
    size_t n = (size_t)snprintf(big, sizeof big, "{\"label\":\"x\",\"dims\":{\"w\":0,\"h\":[");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%s%d", i ? "," : "", i * 3);
    snprintf(big + n, sizeof big - n, "]}}");
    DECODE_OK(Shape, big, &sh);
    assert_int_equal(sh.dims.h.len, 100);
    for (int i = 0; i < 100; i++)
        assert_true(sh.dims.h.items[i] == i * 3);
}

static void test_unknown_and_duplicate_members(void **state)
{
    (void)state;
    Item it;
    /* unknown members are skipped, whatever they hold */
    DECODE_OK(Item,
              "{\"extra\":{\"deep\":[1,{\"a\":null},[true]]},\"name\":\"n\",\"zzz\":\"q\","
              "\"price\":2,\"more\":[],\"Name\":5}",
              &it);
    assert_cstr(it.name, "n");
    assert_true(it.price == 2.0);
    assert_false(cadre_schema_has(Item__schema(), &it, "extra")); /* not a field */

    /* duplicate member: the last one wins */
    DECODE_OK(Item, "{\"name\":\"first\",\"price\":1,\"name\":\"second\"}", &it);
    assert_cstr(it.name, "second");
}

static void test_duplicate_member_earlier_value_not_validated(void **state)
{
    (void)state;
    /* FastAPI parses the body with json.loads (a dict: last wins) and only then validates, so an
     * invalid earlier duplicate is never seen. */
    Item it;
    DECODE_OK(Item, "{\"name\":\"x\",\"price\":-1,\"price\":5}", &it);
    assert_true(it.price == 5.0);
    DECODE_OK(Item, "{\"name\":123,\"price\":1,\"name\":\"ok\"}", &it);
    assert_cstr(it.name, "ok");
    /* the other way round, the (last) invalid value is reported once */
    DECODE_ERR(Item, "{\"name\":\"x\",\"price\":5,\"price\":-1}",
               "[{\"type\":\"greater_than\",\"loc\":[\"body\",\"price\"],"
               "\"msg\":\"Input should be greater than 0\",\"input\":-1,\"ctx\":{\"gt\":0}}]");
}

/* A partial update laid over a whole row: the fields present in the patch replace the row's,
 * null included; the others stay; every member's size is its own (no neighbour overwritten). */
static void test_overlay(void **state)
{
    (void)state;
    Opts row, patch;
    DECODE_OK(Opts, "{\"n\":1,\"m\":2,\"x\":0.5,\"on\":false,\"s\":\"row\",\"t\":[\"a\"],"
                    "\"opt\":9,\"note\":\"kept?\",\"maybe\":\"m\"}", &row);
    DECODE_OK(Opts, "{\"note\":null,\"m\":-1,\"s\":\"patched\"}", &patch);
    cadre_schema_overlay(Opts__schema(), &row, &patch);
    assert_int_equal(row.n, 1);
    assert_int_equal(row.m, -1);
    assert_true(row.x == 0.5);
    assert_false(row.on);
    assert_int_equal(row.s.len, 7);
    assert_memory_equal(row.s.ptr, "patched", 7);
    assert_int_equal(row.t.len, 1);
    assert_int_equal(row.opt, 9);
    assert_true(cadre_is_null(&row, Opts, note));
    assert_false(cadre_is_null(&row, Opts, maybe));
    assert_true(cadre_has(&row, Opts, maybe));

    Shape a, b;
    DECODE_OK(Shape, "{\"label\":\"a\",\"dims\":{\"w\":1,\"h\":[1,2]},\"many\":[{\"w\":3}]}", &a);
    DECODE_OK(Shape, "{\"label\":\"b\",\"dims\":{\"w\":5}}", &b);
    cadre_schema_overlay(Shape__schema(), &a, &b);
    assert_true(a.dims.w == 5);
    assert_int_equal(a.dims.h.len, 0);
    assert_int_equal(a.many.len, 1);
    assert_true(a.many.items[0].w == 3);
    assert_int_equal(cadre_field_size(cadre_schema_field(Shape__schema(), "dims", 4)), sizeof(Dims));
}

static void test_presence_and_defaults(void **state)
{
    (void)state;
    Item it;
    DECODE_OK(Item, "{\"name\":\"x\",\"price\":1}", &it);
    assert_true(cadre_has(&it, Item, name));
    assert_true(cadre_has(&it, Item, price));
    assert_false(cadre_has(&it, Item, tags)); /* defaulted, not present (model_fields_set) */
    assert_false(cadre_has(&it, Item, in_stock));
    assert_true(it.in_stock);            /* CADRE_DEFAULT(true) */
    assert_int_equal(it.tags.len, 0);    /* CADRE_DEFAULT_EMPTY */
    assert_false(cadre_schema_has(Item__schema(), &it, "nope"));

    Opts o;
    DECODE_OK(Opts, "{\"note\":\"n\"}", &o);
    assert_int_equal(o.n, 7);
    assert_int_equal(o.m, -3);
    assert_true(o.x == 2.5);
    assert_true(o.on);
    assert_false(o.off);
    assert_cstr(o.s, "hi");
    assert_int_equal(o.t.len, 0);
    assert_false(cadre_has(&o, Opts, opt));
    assert_int_equal(o.opt, 0);
    assert_false(cadre_has(&o, Opts, maybe));
    assert_true(cadre_has(&o, Opts, note));
    assert_cstr(o.note, "n");
    assert_int_equal(o.cadre_null_, 0);

    /* given values override defaults, and are present */
    DECODE_OK(Opts,
              "{\"n\":1,\"m\":2,\"x\":3,\"on\":false,\"off\":true,\"s\":\"\",\"t\":[\"a\"],"
              "\"opt\":0,\"note\":null,\"maybe\":null}",
              &o);
    assert_int_equal(o.n, 1);
    assert_int_equal(o.m, 2);
    assert_true(o.x == 3.0);
    assert_false(o.on);
    assert_true(o.off);
    assert_cstr(o.s, "");
    assert_int_equal(o.t.len, 1);
    assert_true(cadre_has(&o, Opts, opt));
    assert_true(cadre_has(&o, Opts, note));
    assert_true(cadre_has(&o, Opts, maybe));
    /* null recorded for the nullable fields (bits 8 and 9) */
    assert_int_equal(o.cadre_null_, (1u << 8) | (1u << 9));

    /* a nullable field without a default is still required (Optional[str] with no default) */
    DECODE_ERR(Opts, "{}",
               "[{\"type\":\"missing\",\"loc\":[\"body\",\"note\"],\"msg\":\"Field required\","
               "\"input\":{}}]");
}

/* ---------------------------------------------------------------------------------------------
 * Lax coercions (Pydantic 2, JSON input)
 * ------------------------------------------------------------------------------------------- */

static void test_coerce_int(void **state)
{
    (void)state;
    Scalars sc;
    DECODE_OK(Scalars, "{\"i64\":\"42\",\"i32\":\"-7\"}", &sc);
    assert_int_equal(sc.i64, 42);
    assert_int_equal(sc.i32, -7);
    DECODE_OK(Scalars, "{\"i64\":42.0,\"i32\":-3.0}", &sc);
    assert_int_equal(sc.i64, 42);
    assert_int_equal(sc.i32, -3);
    DECODE_OK(Scalars, "{\"i64\":1e3}", &sc);
    assert_int_equal(sc.i64, 1000);
    DECODE_OK(Scalars, "{\"i64\":true,\"i32\":false}", &sc); /* bool -> int is lax-allowed */
    assert_int_equal(sc.i64, 1);
    assert_int_equal(sc.i32, 0);
    DECODE_OK(Scalars, "{\"i64\":-9223372036854775808}", &sc);
    assert_true(sc.i64 == INT64_MIN);

    DECODE_ERR(Scalars, "{\"i64\":42.5}",
               "[{\"type\":\"int_from_float\",\"loc\":[\"body\",\"i64\"],"
               "\"msg\":\"Input should be a valid integer, got a number with a fractional part\","
               "\"input\":42.5}]");
    DECODE_ERR(Scalars, "{\"i64\":\"abc\"}",
               "[{\"type\":\"int_parsing\",\"loc\":[\"body\",\"i64\"],"
               "\"msg\":\"Input should be a valid integer, unable to parse string as an integer\","
               "\"input\":\"abc\"}]");
    DECODE_ERR(Scalars, "{\"i64\":\"4.5\"}",
               "[{\"type\":\"int_parsing\",\"loc\":[\"body\",\"i64\"],"
               "\"msg\":\"Input should be a valid integer, unable to parse string as an integer\","
               "\"input\":\"4.5\"}]");
    DECODE_ERR(Scalars, "{\"i64\":\"\"}",
               "[{\"type\":\"int_parsing\",\"loc\":[\"body\",\"i64\"],"
               "\"msg\":\"Input should be a valid integer, unable to parse string as an integer\","
               "\"input\":\"\"}]");
    DECODE_ERR(Scalars, "{\"i64\":null}",
               "[{\"type\":\"int_type\",\"loc\":[\"body\",\"i64\"],"
               "\"msg\":\"Input should be a valid integer\",\"input\":null}]");
    DECODE_ERR(Scalars, "{\"i32\":[1]}",
               "[{\"type\":\"int_type\",\"loc\":[\"body\",\"i32\"],"
               "\"msg\":\"Input should be a valid integer\",\"input\":[1]}]");
    DECODE_ERR(Scalars, "{\"i64\":{\"a\":1}}",
               "[{\"type\":\"int_type\",\"loc\":[\"body\",\"i64\"],"
               "\"msg\":\"Input should be a valid integer\",\"input\":{\"a\":1}}]");
}

static void test_int32_range(void **state)
{
    (void)state;
    Scalars sc;
    DECODE_OK(Scalars, "{\"i32\":2147483647}", &sc);
    assert_int_equal(sc.i32, INT32_MAX);
    DECODE_OK(Scalars, "{\"i32\":\"-2147483648\"}", &sc);
    assert_int_equal(sc.i32, INT32_MIN);
    DECODE_ERR(Scalars, "{\"i32\":2147483648}",
               "[{\"type\":\"less_than_equal\",\"loc\":[\"body\",\"i32\"],"
               "\"msg\":\"Input should be less than or equal to 2147483647\","
               "\"input\":2147483648,\"ctx\":{\"le\":2147483647}}]");
    DECODE_ERR(Scalars, "{\"i32\":-2147483649}",
               "[{\"type\":\"greater_than_equal\",\"loc\":[\"body\",\"i32\"],"
               "\"msg\":\"Input should be greater than or equal to -2147483648\","
               "\"input\":-2147483649,\"ctx\":{\"ge\":-2147483648}}]");
    DECODE_ERR(Scalars, "{\"i32\":\"99999999999\"}",
               "[{\"type\":\"less_than_equal\",\"loc\":[\"body\",\"i32\"],"
               "\"msg\":\"Input should be less than or equal to 2147483647\","
               "\"input\":\"99999999999\",\"ctx\":{\"le\":2147483647}}]");
}

/* Integers beyond int64: what Pydantic answers for an int bounded like the C type
 * (conint(ge=-2**63, le=2**63-1)), the input echoed; a float beyond it: int_parsing_size. */
static void test_int64_range(void **state)
{
    (void)state;
    Scalars sc;
    DECODE_OK(Scalars, "{\"i64\":9223372036854775807}", &sc);
    assert_true(sc.i64 == INT64_MAX);
    DECODE_ERR(Scalars, "{\"i64\":99999999999999999999}",
               "[{\"type\":\"less_than_equal\",\"loc\":[\"body\",\"i64\"],"
               "\"msg\":\"Input should be less than or equal to 9223372036854775807\","
               "\"input\":99999999999999999999,\"ctx\":{\"le\":9223372036854775807}}]");
    DECODE_ERR(Scalars, "{\"i64\":9223372036854775808}",
               "[{\"type\":\"less_than_equal\",\"loc\":[\"body\",\"i64\"],"
               "\"msg\":\"Input should be less than or equal to 9223372036854775807\","
               "\"input\":9223372036854775808,\"ctx\":{\"le\":9223372036854775807}}]");
    DECODE_ERR(Scalars, "{\"i64\":-9223372036854775809}",
               "[{\"type\":\"greater_than_equal\",\"loc\":[\"body\",\"i64\"],"
               "\"msg\":\"Input should be greater than or equal to -9223372036854775808\","
               "\"input\":-9223372036854775809,\"ctx\":{\"ge\":-9223372036854775808}}]");
    DECODE_ERR(Scalars, "{\"i64\":\"99999999999999999999\"}",
               "[{\"type\":\"less_than_equal\",\"loc\":[\"body\",\"i64\"],"
               "\"msg\":\"Input should be less than or equal to 9223372036854775807\","
               "\"input\":\"99999999999999999999\",\"ctx\":{\"le\":9223372036854775807}}]");
    DECODE_ERR(Scalars, "{\"i32\":99999999999999999999}",
               "[{\"type\":\"less_than_equal\",\"loc\":[\"body\",\"i32\"],"
               "\"msg\":\"Input should be less than or equal to 2147483647\","
               "\"input\":99999999999999999999,\"ctx\":{\"le\":2147483647}}]");
    DECODE_ERR(Scalars, "{\"i64\":1e20}",
               "[{\"type\":\"int_parsing_size\",\"loc\":[\"body\",\"i64\"],"
               "\"msg\":\"Unable to parse input string as an integer, exceeded maximum size\","
               "\"input\":1e20}]");
    DECODE_ERR(Scalars, "{\"i64\":-1.5e19}",
               "[{\"type\":\"int_parsing_size\",\"loc\":[\"body\",\"i64\"],"
               "\"msg\":\"Unable to parse input string as an integer, exceeded maximum size\","
               "\"input\":-1.5e19}]");
    /* the field's own bound, when it has one on that side (ge1: CADRE_GE(1)) */
    DECODE_ERR(Bounds, "{\"ge1\":-99999999999999999999}",
               "[{\"type\":\"greater_than_equal\",\"loc\":[\"body\",\"ge1\"],"
               "\"msg\":\"Input should be greater than or equal to 1\","
               "\"input\":-99999999999999999999,\"ctx\":{\"ge\":1}}]");
    /* as text (query and path parameters) */
    cadre_verrors errs;
    cadre_verrors_init(&errs, &A);
    const cadre_field *f = cadre_schema_field(CADRE_SCHEMA_OF(Scalars), "i64", 3);
    assert_int_equal(cadre_schema_decode_text(CADRE_SCHEMA_OF(Scalars), f,
                                              CADRE_LIT("-99999999999999999999"), &sc, &A, "query",
                                              &errs),
                     CADRE_EINVAL);
    assert_string_equal(errs.items[0].type, "greater_than_equal");
    assert_string_equal(loc_text(&errs.items[0]), "[\"query\",\"i64\"]");
}

/* A model's strings refuse NUL (PostgreSQL cannot store it; C would cut it short), in JSON and in
 * text; a plain schema's take it, as Pydantic's str does. */
#define NOTE_FIELDS(F)                                                                             \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, text, CADRE_MAX_LEN(5))                                                              \
    F(string, tag, CADRE_OPTIONAL)
CADRE_MODEL(Note, NOTE_FIELDS)

static void test_model_strings_refuse_nul(void **state)
{
    (void)state;
    DECODE_ERR(Note, "{\"text\":\"a\\u0000b\",\"tag\":\"\\u0000\"}",
               "[{\"type\":\"value_error\",\"loc\":[\"body\",\"text\"],"
               "\"msg\":\"Value error, Null characters are not allowed.\","
               "\"input\":\"a\\u0000b\",\"ctx\":{\"error\":{}}},"
               "{\"type\":\"value_error\",\"loc\":[\"body\",\"tag\"],"
               "\"msg\":\"Value error, Null characters are not allowed.\","
               "\"input\":\"\\u0000\",\"ctx\":{\"error\":{}}}]");
    /* the constraints first, as Pydantic runs a validator after them */
    DECODE_ERR(Note, "{\"text\":\"abcdef\\u0000\"}",
               "[{\"type\":\"string_too_long\",\"loc\":[\"body\",\"text\"],"
               "\"msg\":\"String should have at most 5 characters\","
               "\"input\":\"abcdef\\u0000\",\"ctx\":{\"max_length\":5}}]");
    Note n;
    DECODE_OK(Note, "{\"text\":\"ab\"}", &n);
    Scalars sc;
    DECODE_OK(Scalars, "{\"s\":\"a\\u0000b\"}", &sc);
    assert_int_equal(sc.s.len, 3);
    /* as text: form fields and query values decoded for a model */
    cadre_verrors errs;
    cadre_verrors_init(&errs, &A);
    const cadre_field *f = cadre_schema_field(CADRE_SCHEMA_OF(Note), "text", 4);
    assert_int_equal(cadre_schema_decode_text(CADRE_SCHEMA_OF(Note), f, (cadre_slice){ "c\0d", 3 },
                                              &n, &A, "body", &errs),
                     CADRE_EINVAL);
    assert_int_equal(errs.len, 1);
    assert_string_equal(errs.items[0].type, "value_error");
    assert_string_equal(loc_text(&errs.items[0]), "[\"body\",\"text\"]");
    f = cadre_schema_field(CADRE_SCHEMA_OF(Scalars), "s", 1);
    assert_int_equal(cadre_schema_decode_text(CADRE_SCHEMA_OF(Scalars), f,
                                              (cadre_slice){ "c\0d", 3 }, &sc, &A, "body", &errs),
                     0);
}

static void test_coerce_double(void **state)
{
    (void)state;
    Scalars sc;
    DECODE_OK(Scalars, "{\"d\":\"9.5\"}", &sc);
    assert_true(sc.d == 9.5);
    DECODE_OK(Scalars, "{\"d\":9}", &sc);
    assert_true(sc.d == 9.0);
    DECODE_OK(Scalars, "{\"d\":true}", &sc);
    assert_true(sc.d == 1.0);
    DECODE_OK(Scalars, "{\"d\":\"-2e2\"}", &sc);
    assert_true(sc.d == -200.0);
    DECODE_OK(Scalars, "{\"d\":\"7\"}", &sc);
    assert_true(sc.d == 7.0);

    DECODE_ERR(Scalars, "{\"d\":\"abc\"}",
               "[{\"type\":\"float_parsing\",\"loc\":[\"body\",\"d\"],"
               "\"msg\":\"Input should be a valid number, unable to parse string as a number\","
               "\"input\":\"abc\"}]");
    DECODE_ERR(Scalars, "{\"d\":null}",
               "[{\"type\":\"float_type\",\"loc\":[\"body\",\"d\"],"
               "\"msg\":\"Input should be a valid number\",\"input\":null}]");
    DECODE_ERR(Scalars, "{\"d\":[]}",
               "[{\"type\":\"float_type\",\"loc\":[\"body\",\"d\"],"
               "\"msg\":\"Input should be a valid number\",\"input\":[]}]");
}

static void test_coerce_bool(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        bool v;
    } ok[] = {
        { "{\"b\":true}", true },   { "{\"b\":false}", false }, { "{\"b\":\"yes\"}", true },
        { "{\"b\":\"no\"}", false }, { "{\"b\":\"on\"}", true },  { "{\"b\":\"off\"}", false },
        { "{\"b\":\"1\"}", true },   { "{\"b\":\"0\"}", false },  { "{\"b\":1}", true },
        { "{\"b\":0}", false },      { "{\"b\":\"true\"}", true }, { "{\"b\":\"false\"}", false },
        { "{\"b\":\"y\"}", true },   { "{\"b\":\"n\"}", false },  { "{\"b\":\"t\"}", true },
        { "{\"b\":\"f\"}", false },  { "{\"b\":\"TRUE\"}", true }, { "{\"b\":\"Off\"}", false },
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        Scalars sc;
        sc.b = !ok[i].v;
        DECODE_OK(Scalars, ok[i].json, &sc);
        if (sc.b != ok[i].v)
            fail_msg("%s: got %d", ok[i].json, sc.b);
    }
    DECODE_ERR(Scalars, "{\"b\":\"maybe\"}",
               "[{\"type\":\"bool_parsing\",\"loc\":[\"body\",\"b\"],"
               "\"msg\":\"Input should be a valid boolean, unable to interpret input\","
               "\"input\":\"maybe\"}]");
    DECODE_ERR(Scalars, "{\"b\":2}",
               "[{\"type\":\"bool_parsing\",\"loc\":[\"body\",\"b\"],"
               "\"msg\":\"Input should be a valid boolean, unable to interpret input\","
               "\"input\":2}]");
    DECODE_ERR(Scalars, "{\"b\":null}",
               "[{\"type\":\"bool_type\",\"loc\":[\"body\",\"b\"],"
               "\"msg\":\"Input should be a valid boolean\",\"input\":null}]");
    DECODE_ERR(Scalars, "{\"b\":{}}",
               "[{\"type\":\"bool_type\",\"loc\":[\"body\",\"b\"],"
               "\"msg\":\"Input should be a valid boolean\",\"input\":{}}]");
}

static void test_string_strict(void **state)
{
    (void)state;
    /* only strings are strings, even in lax mode */
    DECODE_ERR(Scalars, "{\"s\":123}",
               "[{\"type\":\"string_type\",\"loc\":[\"body\",\"s\"],"
               "\"msg\":\"Input should be a valid string\",\"input\":123}]");
    DECODE_ERR(Scalars, "{\"s\":true}",
               "[{\"type\":\"string_type\",\"loc\":[\"body\",\"s\"],"
               "\"msg\":\"Input should be a valid string\",\"input\":true}]");
    DECODE_ERR(Scalars, "{\"s\":null}",
               "[{\"type\":\"string_type\",\"loc\":[\"body\",\"s\"],"
               "\"msg\":\"Input should be a valid string\",\"input\":null}]");
    DECODE_ERR(Scalars, "{\"s\":[\"a\"]}",
               "[{\"type\":\"string_type\",\"loc\":[\"body\",\"s\"],"
               "\"msg\":\"Input should be a valid string\",\"input\":[\"a\"]}]");
}

/* ---------------------------------------------------------------------------------------------
 * Constraints
 * ------------------------------------------------------------------------------------------- */

static void test_number_bounds(void **state)
{
    (void)state;
    DECODE_ERR(Bounds, "{\"gt0\":0}",
               "[{\"type\":\"greater_than\",\"loc\":[\"body\",\"gt0\"],"
               "\"msg\":\"Input should be greater than 0\",\"input\":0,\"ctx\":{\"gt\":0}}]");
    DECODE_ERR(Bounds, "{\"ge1\":0}",
               "[{\"type\":\"greater_than_equal\",\"loc\":[\"body\",\"ge1\"],"
               "\"msg\":\"Input should be greater than or equal to 1\",\"input\":0,"
               "\"ctx\":{\"ge\":1}}]");
    DECODE_ERR(Bounds, "{\"lt1\":1}",
               "[{\"type\":\"less_than\",\"loc\":[\"body\",\"lt1\"],"
               "\"msg\":\"Input should be less than 1\",\"input\":1,\"ctx\":{\"lt\":1}}]");
    DECODE_ERR(Bounds, "{\"le_half\":0.75}",
               "[{\"type\":\"less_than_equal\",\"loc\":[\"body\",\"le_half\"],"
               "\"msg\":\"Input should be less than or equal to 0.5\",\"input\":0.75,"
               "\"ctx\":{\"le\":0.5}}]");
    DECODE_ERR(Bounds, "{\"pct\":-1}",
               "[{\"type\":\"greater_than_equal\",\"loc\":[\"body\",\"pct\"],"
               "\"msg\":\"Input should be greater than or equal to 0\",\"input\":-1,"
               "\"ctx\":{\"ge\":0}}]");
    DECODE_ERR(Bounds, "{\"pct\":101}",
               "[{\"type\":\"less_than_equal\",\"loc\":[\"body\",\"pct\"],"
               "\"msg\":\"Input should be less than or equal to 100\",\"input\":101,"
               "\"ctx\":{\"le\":100}}]");
    /* coerced values are checked too, the input shown as given */
    DECODE_ERR(Bounds, "{\"gt0\":\"-5\"}",
               "[{\"type\":\"greater_than\",\"loc\":[\"body\",\"gt0\"],"
               "\"msg\":\"Input should be greater than 0\",\"input\":\"-5\",\"ctx\":{\"gt\":0}}]");
    /* edges that pass */
    Bounds b;
    DECODE_OK(Bounds, "{\"gt0\":1,\"ge1\":1,\"lt1\":0.5,\"le_half\":0.5,\"pct\":0}", &b);
}

static void test_string_lengths(void **state)
{
    (void)state;
    DECODE_ERR(Bounds, "{\"code\":\"a\"}",
               "[{\"type\":\"string_too_short\",\"loc\":[\"body\",\"code\"],"
               "\"msg\":\"String should have at least 2 characters\",\"input\":\"a\","
               "\"ctx\":{\"min_length\":2}}]");
    DECODE_ERR(Bounds, "{\"code\":\"abcd\"}",
               "[{\"type\":\"string_too_long\",\"loc\":[\"body\",\"code\"],"
               "\"msg\":\"String should have at most 3 characters\",\"input\":\"abcd\","
               "\"ctx\":{\"max_length\":3}}]");
    /* singular "character" */
    DECODE_ERR(Bounds, "{\"one\":\"\"}",
               "[{\"type\":\"string_too_short\",\"loc\":[\"body\",\"one\"],"
               "\"msg\":\"String should have at least 1 character\",\"input\":\"\","
               "\"ctx\":{\"min_length\":1}}]");
    DECODE_ERR(Bounds, "{\"one\":\"ab\"}",
               "[{\"type\":\"string_too_long\",\"loc\":[\"body\",\"one\"],"
               "\"msg\":\"String should have at most 1 character\",\"input\":\"ab\","
               "\"ctx\":{\"max_length\":1}}]");
    /* lengths count code points: "é" is 1 character (2 bytes), 😀 is 1 (4 bytes) */
    Bounds b;
    DECODE_OK(Bounds, "{\"one\":\"\xc3\xa9\",\"code\":\"\xc3\xa9\xc3\xa9\xc3\xa9\"}", &b);
    assert_int_equal(b.code.len, 6);
    DECODE_OK(Bounds, "{\"one\":\"\\u00e9\",\"code\":\"\xf0\x9f\x98\x80\\ud83d\\ude00\"}", &b);
    assert_cstr(b.one, "\xc3\xa9");
    assert_cstr(b.code, "\xf0\x9f\x98\x80\xf0\x9f\x98\x80");
    DECODE_ERR(Bounds, "{\"code\":\"\xc3\xa9\"}",
               "[{\"type\":\"string_too_short\",\"loc\":[\"body\",\"code\"],"
               "\"msg\":\"String should have at least 2 characters\",\"input\":\"\xc3\xa9\","
               "\"ctx\":{\"min_length\":2}}]");
    DECODE_ERR(Bounds, "{\"code\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}",
               "[{\"type\":\"string_too_long\",\"loc\":[\"body\",\"code\"],"
               "\"msg\":\"String should have at most 3 characters\","
               "\"input\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\",\"ctx\":{\"max_length\":3}}]");
}

static void test_list_constraints(void **state)
{
    (void)state;
    DECODE_ERR(Item,
               "{\"name\":\"x\",\"price\":1,"
               "\"tags\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\"]}",
               "[{\"type\":\"too_long\",\"loc\":[\"body\",\"tags\"],"
               "\"msg\":\"List should have at most 10 items after validation, not 11\","
               "\"input\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\"],"
               "\"ctx\":{\"field_type\":\"List\",\"max_length\":10,\"actual_length\":11}}]");
    Item it;
    DECODE_OK(Item,
              "{\"name\":\"x\",\"price\":1,"
              "\"tags\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\"]}",
              &it);
    assert_int_equal(it.tags.len, 10);

    DECODE_ERR(Bounds, "{\"few\":[\"a\"]}",
               "[{\"type\":\"too_short\",\"loc\":[\"body\",\"few\"],"
               "\"msg\":\"List should have at least 2 items after validation, not 1\","
               "\"input\":[\"a\"],"
               "\"ctx\":{\"field_type\":\"List\",\"min_length\":2,\"actual_length\":1}}]");
    DECODE_ERR(Bounds, "{\"nums\":[]}",
               "[{\"type\":\"too_short\",\"loc\":[\"body\",\"nums\"],"
               "\"msg\":\"List should have at least 1 item after validation, not 0\","
               "\"input\":[],"
               "\"ctx\":{\"field_type\":\"List\",\"min_length\":1,\"actual_length\":0}}]");
    DECODE_ERR(Bounds, "{\"vals\":[1,2]}",
               "[{\"type\":\"too_long\",\"loc\":[\"body\",\"vals\"],"
               "\"msg\":\"List should have at most 1 item after validation, not 2\","
               "\"input\":[1,2],"
               "\"ctx\":{\"field_type\":\"List\",\"max_length\":1,\"actual_length\":2}}]");
    DECODE_ERR(Item, "{\"name\":\"x\",\"price\":1,\"tags\":\"abc\"}",
               "[{\"type\":\"list_type\",\"loc\":[\"body\",\"tags\"],"
               "\"msg\":\"Input should be a valid list\",\"input\":\"abc\"}]");
    DECODE_ERR(Item, "{\"name\":\"x\",\"price\":1,\"tags\":{\"a\":1}}",
               "[{\"type\":\"list_type\",\"loc\":[\"body\",\"tags\"],"
               "\"msg\":\"Input should be a valid list\",\"input\":{\"a\":1}}]");
    DECODE_ERR(Item, "{\"name\":\"x\",\"price\":1,\"tags\":null}",
               "[{\"type\":\"list_type\",\"loc\":[\"body\",\"tags\"],"
               "\"msg\":\"Input should be a valid list\",\"input\":null}]");
    /* items are validated with their index in loc */
    DECODE_ERR(Item, "{\"name\":\"x\",\"price\":1,\"tags\":[\"a\",1,\"b\",null]}",
               "[{\"type\":\"string_type\",\"loc\":[\"body\",\"tags\",1],"
               "\"msg\":\"Input should be a valid string\",\"input\":1},"
               "{\"type\":\"string_type\",\"loc\":[\"body\",\"tags\",3],"
               "\"msg\":\"Input should be a valid string\",\"input\":null}]");
    DECODE_ERR(Bounds, "{\"nums\":[1,\"2\",2.5],\"vals\":[\"x\"]}",
               "[{\"type\":\"int_from_float\",\"loc\":[\"body\",\"nums\",2],"
               "\"msg\":\"Input should be a valid integer, got a number with a fractional part\","
               "\"input\":2.5},"
               "{\"type\":\"float_parsing\",\"loc\":[\"body\",\"vals\",0],"
               "\"msg\":\"Input should be a valid number, unable to parse string as a number\","
               "\"input\":\"x\"}]");
    Bounds b;
    DECODE_OK(Bounds, "{\"nums\":[\"5\",6.0,true],\"vals\":[\"1.25\"]}", &b);
    assert_true(b.nums.items[0] == 5 && b.nums.items[1] == 6 && b.nums.items[2] == 1);
    assert_true(b.vals.items[0] == 1.25);
}

/* ---------------------------------------------------------------------------------------------
 * Missing fields, several errors, nesting, top-level shape, JSON errors
 * ------------------------------------------------------------------------------------------- */

static void test_missing(void **state)
{
    (void)state;
    DECODE_ERR(Item, "{}",
               "[{\"type\":\"missing\",\"loc\":[\"body\",\"name\"],\"msg\":\"Field required\","
               "\"input\":{}},"
               "{\"type\":\"missing\",\"loc\":[\"body\",\"price\"],\"msg\":\"Field required\","
               "\"input\":{}}]");
    DECODE_ERR(Item, "{\"name\":\"x\",\"other\":1}",
               "[{\"type\":\"missing\",\"loc\":[\"body\",\"price\"],\"msg\":\"Field required\","
               "\"input\":{\"name\":\"x\",\"other\":1}}]");
}

static void test_several_errors(void **state)
{
    (void)state;
    /* every problem is reported, not just the first (members in field order here) */
    DECODE_ERR(Item,
               "{\"name\":\"\",\"price\":0,\"tags\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\","
               "\"8\",\"9\",\"10\",\"11\"],\"in_stock\":\"maybe\"}",
               "[{\"type\":\"string_too_short\",\"loc\":[\"body\",\"name\"],"
               "\"msg\":\"String should have at least 1 character\",\"input\":\"\","
               "\"ctx\":{\"min_length\":1}},"
               "{\"type\":\"greater_than\",\"loc\":[\"body\",\"price\"],"
               "\"msg\":\"Input should be greater than 0\",\"input\":0,\"ctx\":{\"gt\":0}},"
               "{\"type\":\"too_long\",\"loc\":[\"body\",\"tags\"],"
               "\"msg\":\"List should have at most 10 items after validation, not 11\","
               "\"input\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\"],"
               "\"ctx\":{\"field_type\":\"List\",\"max_length\":10,\"actual_length\":11}},"
               "{\"type\":\"bool_parsing\",\"loc\":[\"body\",\"in_stock\"],"
               "\"msg\":\"Input should be a valid boolean, unable to interpret input\","
               "\"input\":\"maybe\"}]");
    DECODE_ERR(Scalars, "{\"b\":null,\"i32\":\"x\",\"i64\":1.5,\"d\":\"y\",\"s\":1}",
               "[{\"type\":\"bool_type\",\"loc\":[\"body\",\"b\"],"
               "\"msg\":\"Input should be a valid boolean\",\"input\":null},"
               "{\"type\":\"int_parsing\",\"loc\":[\"body\",\"i32\"],"
               "\"msg\":\"Input should be a valid integer, unable to parse string as an integer\","
               "\"input\":\"x\"},"
               "{\"type\":\"int_from_float\",\"loc\":[\"body\",\"i64\"],"
               "\"msg\":\"Input should be a valid integer, got a number with a fractional part\","
               "\"input\":1.5},"
               "{\"type\":\"float_parsing\",\"loc\":[\"body\",\"d\"],"
               "\"msg\":\"Input should be a valid number, unable to parse string as a number\","
               "\"input\":\"y\"},"
               "{\"type\":\"string_type\",\"loc\":[\"body\",\"s\"],"
               "\"msg\":\"Input should be a valid string\",\"input\":1}]");
    /* an invalid value and a missing field together */
    DECODE_ERR(Item, "{\"name\":5}",
               "[{\"type\":\"string_type\",\"loc\":[\"body\",\"name\"],"
               "\"msg\":\"Input should be a valid string\",\"input\":5},"
               "{\"type\":\"missing\",\"loc\":[\"body\",\"price\"],\"msg\":\"Field required\","
               "\"input\":{\"name\":5}}]");
}

static void test_errors_in_field_order(void **state)
{
    (void)state;
    /* Pydantic validates a model field by field in declaration order, so FastAPI lists errors in
     * that order whatever the order of the members in the body: name (missing) before price. */
    DECODE_ERR(Item, "{\"price\":-1}",
               "[{\"type\":\"missing\",\"loc\":[\"body\",\"name\"],\"msg\":\"Field required\","
               "\"input\":{\"price\":-1}},"
               "{\"type\":\"greater_than\",\"loc\":[\"body\",\"price\"],"
               "\"msg\":\"Input should be greater than 0\",\"input\":-1,\"ctx\":{\"gt\":0}}]");
    DECODE_ERR(Scalars, "{\"s\":1,\"b\":null}",
               "[{\"type\":\"bool_type\",\"loc\":[\"body\",\"b\"],"
               "\"msg\":\"Input should be a valid boolean\",\"input\":null},"
               "{\"type\":\"string_type\",\"loc\":[\"body\",\"s\"],"
               "\"msg\":\"Input should be a valid string\",\"input\":1}]");
}

static void test_input_is_the_value_only(void **state)
{
    (void)state;
    /* whitespace around a value is not part of the error's input */
    DECODE_ERR(Scalars, "{ \"i64\" : \"abc\" , \"s\" :\t7 \n}",
               "[{\"type\":\"int_parsing\",\"loc\":[\"body\",\"i64\"],"
               "\"msg\":\"Input should be a valid integer, unable to parse string as an integer\","
               "\"input\":\"abc\"},"
               "{\"type\":\"string_type\",\"loc\":[\"body\",\"s\"],"
               "\"msg\":\"Input should be a valid string\",\"input\":7}]");
}

static void test_nested_locations(void **state)
{
    (void)state;
    DECODE_ERR(Shape, "{\"label\":\"x\",\"dims\":{\"w\":1,\"h\":[1,\"x\",3]}}",
               "[{\"type\":\"int_parsing\",\"loc\":[\"body\",\"dims\",\"h\",1],"
               "\"msg\":\"Input should be a valid integer, unable to parse string as an integer\","
               "\"input\":\"x\"}]");
    DECODE_ERR(Shape, "{\"label\":\"x\",\"dims\":{\"w\":1},\"many\":[{\"w\":1,\"h\":\"x\"}]}",
               "[{\"type\":\"list_type\",\"loc\":[\"body\",\"many\",0,\"h\"],"
               "\"msg\":\"Input should be a valid list\",\"input\":\"x\"}]");
    /* a missing field of a nested object: input is that object */
    DECODE_ERR(Shape, "{\"label\":\"x\",\"dims\":{\"h\":[]}}",
               "[{\"type\":\"missing\",\"loc\":[\"body\",\"dims\",\"w\"],\"msg\":\"Field required\","
               "\"input\":{\"h\":[]}}]");
    DECODE_ERR(Shape, "{\"label\":\"x\",\"dims\":{\"w\":1},\"many\":[{\"w\":1},{\"w\":-1},{}]}",
               "[{\"type\":\"greater_than_equal\",\"loc\":[\"body\",\"many\",1,\"w\"],"
               "\"msg\":\"Input should be greater than or equal to 0\",\"input\":-1,"
               "\"ctx\":{\"ge\":0}},"
               "{\"type\":\"missing\",\"loc\":[\"body\",\"many\",2,\"w\"],"
               "\"msg\":\"Field required\",\"input\":{}}]");
    /* not an object where an object is expected */
    DECODE_ERR(Shape, "{\"label\":\"x\",\"dims\":5}",
               "[{\"type\":\"model_attributes_type\",\"loc\":[\"body\",\"dims\"],"
               "\"msg\":\"Input should be a valid dictionary or object to extract fields from\","
               "\"input\":5}]");
    DECODE_ERR(Shape, "{\"label\":\"x\",\"dims\":[1]}",
               "[{\"type\":\"model_attributes_type\",\"loc\":[\"body\",\"dims\"],"
               "\"msg\":\"Input should be a valid dictionary or object to extract fields from\","
               "\"input\":[1]}]");
    DECODE_ERR(Shape, "{\"label\":\"x\",\"dims\":{\"w\":1},\"many\":[{\"w\":1},\"s\"]}",
               "[{\"type\":\"model_attributes_type\",\"loc\":[\"body\",\"many\",1],"
               "\"msg\":\"Input should be a valid dictionary or object to extract fields from\","
               "\"input\":\"s\"}]");
    DECODE_ERR(Shape, "{\"label\":\"x\",\"dims\":{\"w\":1},\"many\":{}}",
               "[{\"type\":\"list_type\",\"loc\":[\"body\",\"many\"],"
               "\"msg\":\"Input should be a valid list\",\"input\":{}}]");
    /* max_items on an array of objects */
    DECODE_ERR(Shape,
               "{\"label\":\"x\",\"dims\":{\"w\":1},\"many\":[{\"w\":1},{\"w\":1},{\"w\":1},{\"w\":1}]}",
               "[{\"type\":\"too_long\",\"loc\":[\"body\",\"many\"],"
               "\"msg\":\"List should have at most 3 items after validation, not 4\","
               "\"input\":[{\"w\":1},{\"w\":1},{\"w\":1},{\"w\":1}],"
               "\"ctx\":{\"field_type\":\"List\",\"max_length\":3,\"actual_length\":4}}]");
    /* errors at several depths at once */
    DECODE_ERR(Shape,
               "{\"label\":1,\"dims\":{\"w\":\"a\",\"h\":[true,\"q\"]},\"many\":[{\"h\":[1.5]}],"
               "\"weights\":[\"z\"]}",
               "[{\"type\":\"string_type\",\"loc\":[\"body\",\"label\"],"
               "\"msg\":\"Input should be a valid string\",\"input\":1},"
               "{\"type\":\"float_parsing\",\"loc\":[\"body\",\"dims\",\"w\"],"
               "\"msg\":\"Input should be a valid number, unable to parse string as a number\","
               "\"input\":\"a\"},"
               "{\"type\":\"int_parsing\",\"loc\":[\"body\",\"dims\",\"h\",1],"
               "\"msg\":\"Input should be a valid integer, unable to parse string as an integer\","
               "\"input\":\"q\"},"
               /* field order within many[0]: w (declared first), then h */
               "{\"type\":\"missing\",\"loc\":[\"body\",\"many\",0,\"w\"],"
               "\"msg\":\"Field required\",\"input\":{\"h\":[1.5]}},"
               "{\"type\":\"int_from_float\",\"loc\":[\"body\",\"many\",0,\"h\",0],"
               "\"msg\":\"Input should be a valid integer, got a number with a fractional part\","
               "\"input\":1.5},"
               "{\"type\":\"float_parsing\",\"loc\":[\"body\",\"weights\",0],"
               "\"msg\":\"Input should be a valid number, unable to parse string as a number\","
               "\"input\":\"z\"}]");
}

static void test_top_level_not_object(void **state)
{
    (void)state;
    DECODE_ERR(Item, "[1,2]",
               "[{\"type\":\"model_attributes_type\",\"loc\":[\"body\"],"
               "\"msg\":\"Input should be a valid dictionary or object to extract fields from\","
               "\"input\":[1,2]}]");
    DECODE_ERR(Item, "\"str\"",
               "[{\"type\":\"model_attributes_type\",\"loc\":[\"body\"],"
               "\"msg\":\"Input should be a valid dictionary or object to extract fields from\","
               "\"input\":\"str\"}]");
    DECODE_ERR(Item, "null",
               "[{\"type\":\"model_attributes_type\",\"loc\":[\"body\"],"
               "\"msg\":\"Input should be a valid dictionary or object to extract fields from\","
               "\"input\":null}]");
}

/* json_invalid: one error, loc ["body", byte offset] as json.loads reports it; input {} */
static void expect_json_invalid(const char *json, size_t at)
{
    Item it;
    cadre_verrors e;
    cadre_verrors_init(&e, &A);
    int rc = cadre_schema_decode_json(Item__schema(), json, strlen(json), &it, &A, "body", &e);
    assert_int_equal(rc, CADRE_EPARSE);
    assert_int_equal(e.len, 1);
    assert_string_equal(e.items[0].type, "json_invalid");
    assert_string_equal(e.items[0].msg, "JSON decode error");
    char loc[64];
    snprintf(loc, sizeof loc, "[\"body\",%zu]", at);
    if (strcmp(loc_text(&e.items[0]), loc) != 0)
        fail_msg("%s: loc %s, want %s", json, loc_text(&e.items[0]), loc);
    assert_non_null(e.items[0].input.ptr);
    assert_int_equal(e.items[0].input.len, 2);
    assert_memory_equal(e.items[0].input.ptr, "{}", 2);
    /* ctx {"error": reason} */
    assert_non_null(e.items[0].ctx);
    assert_true(strncmp(e.items[0].ctx, "{\"error\":\"", 10) == 0);
    const char *text = errs_text(&e);
    char head[128];
    snprintf(head, sizeof head,
             "{\"detail\":[{\"type\":\"json_invalid\",\"loc\":[\"body\",%zu],"
             "\"msg\":\"JSON decode error\",\"input\":{},\"ctx\":{\"error\":\"",
             at);
    assert_true(strncmp(text, head, strlen(head)) == 0);
}

static void test_json_invalid(void **state)
{
    (void)state;
    expect_json_invalid("{\"name\":}", 8);            /* Expecting value */
    expect_json_invalid("not json", 0);               /* Expecting value */
    expect_json_invalid("", 0);                       /* Expecting value */
    expect_json_invalid("{\"name\":\"x\"", 11);       /* Expecting ',' delimiter */
    expect_json_invalid("{\"name\":\"x\"} trailing", 13); /* Extra data */
    expect_json_invalid("{\"a\":1,}", 7);             /* Expecting property name */
    /* a syntax error after a validation error: only the JSON error is reported */
    expect_json_invalid("{\"name\":5,\"price\":-1,\"x\":[}", 26);
    /* valid JSON around invalid data still parses as JSON first: errors, not json_invalid */
    Item it;
    const char *e;
    assert_int_equal(decode(Item__schema(), "  {\"name\":\"a\",\"price\":1}  \n", &it, &e), 0);
}

/* ---------------------------------------------------------------------------------------------
 * cadre_verrors directly
 * ------------------------------------------------------------------------------------------- */

static void test_verrors_write(void **state)
{
    (void)state;
    cadre_verrors e;
    cadre_verrors_init(&e, &A);
    assert_string_equal(errs_text(&e), "{\"detail\":[]}");
    cadre_verrors_push(&e, "missing", "Field required", "query", CADRE_LIT("q"), -1);
    /* JSON input (a JSON body's value) is written as it is, with ctx */
    cadre_loc_seg at[3] = { { CADRE_LIT("body"), 0 }, { CADRE_LIT("a"), 0 }, { { NULL, 0 }, 0 } };
    cadre_verrors_add(&e, &(cadre_verror){ .type = "value_error", .loc = at, .nloc = 3,
                                           .msg = "Value error, \"quoted\"",
                                           .input = CADRE_LIT("[1,2]"), .input_is_json = true,
                                           .ctx = "{\"error\":\"x\"}" });
    at[1].key = CADRE_LIT("changed"); /* the location was copied */
    /* text input (a form's, a query's) is written as a JSON string, whatever it holds */
    cadre_verrors_add_field(&e, "body", "name", "unique", "taken", CADRE_LIT("a\"b\\"));
    for (int i = 0; i < 20; i++) /* grows past the first allocation */
        cadre_verrors_push(&e, "t", "m", "body", (cadre_slice){ NULL, 0 }, i);
    assert_int_equal(e.len, 23);
    const char *t = errs_text(&e);
    const char *want = "{\"detail\":[{\"type\":\"missing\",\"loc\":[\"query\",\"q\"],"
                       "\"msg\":\"Field required\",\"input\":null},"
                       "{\"type\":\"value_error\",\"loc\":[\"body\",\"a\",0],"
                       "\"msg\":\"Value error, \\\"quoted\\\"\",\"input\":[1,2],"
                       "\"ctx\":{\"error\":\"x\"}},"
                       "{\"type\":\"unique\",\"loc\":[\"body\",\"name\"],\"msg\":\"taken\","
                       "\"input\":\"a\\\"b\\\\\"},"
                       "{\"type\":\"t\",\"loc\":[\"body\",0],\"msg\":\"m\",\"input\":null}";
    if (strncmp(t, want, strlen(want)) != 0)
        fail_msg("got %s", t);
    assert_string_equal(e.items[22].type, "t");
    /* read back without JSON: the field a form shows an error beside, a path for a log */
    assert_true(cadre_slice_eq_cstr(cadre_verror_field(&e.items[1], "body"), "a"));
    assert_true(cadre_slice_eq_cstr(cadre_verror_field(&e.items[2], "body"), "name"));
    assert_null(cadre_verror_field(&e.items[0], "body").ptr);  /* a query's */
    assert_null(cadre_verror_field(&e.items[3], "body").ptr);  /* an index, not a name */
    assert_string_equal(cadre_verror_path(&e.items[1], &A), "body.a[0]");
    assert_string_equal(cadre_verror_path(&e.items[0], &A), "query.q");
}

/* A location built from request text: JSON however hostile the name (quotes, backslashes,
 * controls, NUL, invalid UTF-8), and the name reads back as sent (invalid bytes as U+FFFD). */
static void test_verror_loc(void **state)
{
    (void)state;
    static const struct {
        const char *key;
        size_t len;
        const char *want;
    } rows[] = {
        { "name", 4, "[\"query\",\"name\"]" },
        { "", 0, "[\"query\",\"\"]" },
        { "a\"b", 3, "[\"query\",\"a\\\"b\"]" },
        { "a\\", 2, "[\"query\",\"a\\\\\"]" },
        { "x\n", 2, "[\"query\",\"x\\n\"]" },
        { "a\0b", 3, "[\"query\",\"a\\u0000b\"]" },
        { "\xff", 1, "[\"query\",\"\xEF\xBF\xBD\"]" },
        { "x\"]}],\"injected\":true", 21, "[\"query\",\"x\\\"]}],\\\"injected\\\":true\"]" },
        { "\xe2\x80\xa8", 3, "[\"query\",\"\xe2\x80\xa8\"]" }, /* U+2028 is JSON */
    };
    cadre_verrors e;
    cadre_verrors_init(&e, &A);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        cadre_slice key = { rows[i].key, rows[i].len };
        const char *l = loc_text(cadre_verrors_push(&e, "t", "m", "query", key, -1));
        assert_string_equal(l, rows[i].want);
        assert_int_equal(cadre_json_validate(l, strlen(l), 0, NULL, NULL), 0);
    }
    cadre_slice none = { NULL, 0 };
    assert_string_equal(loc_text(cadre_verrors_push(&e, "t", "m", "body", none, -1)), "[\"body\"]");
    assert_string_equal(loc_text(cadre_verrors_push(&e, "t", "m", "body", none, 12)),
                        "[\"body\",12]");
    assert_string_equal(loc_text(cadre_verrors_push(&e, "t", "m", "body", CADRE_LIT("tags"), 3)),
                        "[\"body\",\"tags\",3]");

    /* written into an error list, the document stays one object with one member */
    cadre_verrors_init(&e, &A);
    cadre_verrors_push(&e, "value_error", "m", "query", CADRE_LIT("x\"]}],\"injected\":true"), -1)
        ->input = CADRE_LIT("1");
    assert_string_equal(errs_text(&e), "{\"detail\":[{\"type\":\"value_error\",\"loc\":[\"query\","
                                       "\"x\\\"]}],\\\"injected\\\":true\"],\"msg\":\"m\","
                                       "\"input\":\"1\"}]}");
}

/* ---------------------------------------------------------------------------------------------
 * Text decoding (parameters) and defaults
 * ------------------------------------------------------------------------------------------- */

static int dtext(const cadre_schema *s, const char *field, const char *text, void *out,
                 const char **errs)
{
    cadre_verrors e;
    cadre_verrors_init(&e, &A);
    const cadre_field *f = cadre_schema_field(s, field, strlen(field));
    assert_non_null(f);
    int rc = cadre_schema_decode_text(s, f, cadre_slice_cstr(text), out, &A, "query", &e);
    *errs = errs_text(&e);
    return rc;
}

static void test_decode_text(void **state)
{
    (void)state;
    const cadre_schema *s = Scalars__schema();
    Scalars sc;
    memset(&sc, 0, sizeof sc);
    const char *e;

    assert_int_equal(dtext(s, "i64", "42", &sc, &e), 0);
    assert_int_equal(sc.i64, 42);
    assert_string_equal(e, "{\"detail\":[]}");
    assert_int_equal(dtext(s, "i32", "-17", &sc, &e), 0);
    assert_int_equal(sc.i32, -17);
    assert_int_equal(dtext(s, "b", "true", &sc, &e), 0);
    assert_true(sc.b);
    assert_int_equal(dtext(s, "b", "0", &sc, &e), 0);
    assert_false(sc.b);
    assert_int_equal(dtext(s, "b", "yes", &sc, &e), 0);
    assert_true(sc.b);
    assert_int_equal(dtext(s, "d", "1.5", &sc, &e), 0);
    assert_true(sc.d == 1.5);
    assert_int_equal(dtext(s, "d", "3", &sc, &e), 0);
    assert_true(sc.d == 3.0);
    assert_int_equal(dtext(s, "s", "1.5", &sc, &e), 0); /* text is a string as is */
    assert_cstr(sc.s, "1.5");
    assert_int_equal(dtext(s, "s", "", &sc, &e), 0);
    assert_cstr(sc.s, "");

    assert_int_equal(dtext(s, "i64", "abc", &sc, &e), CADRE_EINVAL);
    assert_string_equal(e, "{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"query\",\"i64\"],"
                           "\"msg\":\"Input should be a valid integer, unable to parse string as an "
                           "integer\",\"input\":\"abc\"}]}");
    assert_int_equal(dtext(s, "i64", "1.5", &sc, &e), CADRE_EINVAL);
    assert_string_equal(e, "{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"query\",\"i64\"],"
                           "\"msg\":\"Input should be a valid integer, unable to parse string as an "
                           "integer\",\"input\":\"1.5\"}]}");
    assert_int_equal(dtext(s, "b", "maybe", &sc, &e), CADRE_EINVAL);
    assert_string_equal(e, "{\"detail\":[{\"type\":\"bool_parsing\",\"loc\":[\"query\",\"b\"],"
                           "\"msg\":\"Input should be a valid boolean, unable to interpret input\","
                           "\"input\":\"maybe\"}]}");
    assert_int_equal(dtext(s, "d", "abc", &sc, &e), CADRE_EINVAL);
    assert_string_equal(e, "{\"detail\":[{\"type\":\"float_parsing\",\"loc\":[\"query\",\"d\"],"
                           "\"msg\":\"Input should be a valid number, unable to parse string as a "
                           "number\",\"input\":\"abc\"}]}");
    /* input text with quotes is escaped in the error */
    assert_int_equal(dtext(s, "i64", "a\"b", &sc, &e), CADRE_EINVAL);
    assert_non_null(strstr(e, "\"input\":\"a\\\"b\""));

    /* constraints apply to text too */
    Bounds b;
    memset(&b, 0, sizeof b);
    assert_int_equal(dtext(Bounds__schema(), "code", "a", &b, &e), CADRE_EINVAL);
    assert_string_equal(e, "{\"detail\":[{\"type\":\"string_too_short\",\"loc\":[\"query\",\"code\"],"
                           "\"msg\":\"String should have at least 2 characters\",\"input\":\"a\","
                           "\"ctx\":{\"min_length\":2}}]}");
    assert_int_equal(dtext(Bounds__schema(), "gt0", "0", &b, &e), CADRE_EINVAL);
    assert_string_equal(e, "{\"detail\":[{\"type\":\"greater_than\",\"loc\":[\"query\",\"gt0\"],"
                           "\"msg\":\"Input should be greater than 0\",\"input\":\"0\","
                           "\"ctx\":{\"gt\":0}}]}");
    assert_int_equal(dtext(Bounds__schema(), "code", "abc", &b, &e), 0);
    assert_cstr(b.code, "abc");
}

/* Numbers in text are the number alone: no padding, no sign but '-' (issue #10: a path
 * /items/%2010 is not item 10). The same rule for a JSON string holding a number. */
static void test_decode_text_strict_numbers(void **state)
{
    (void)state;
    const cadre_schema *s = Scalars__schema();
    Scalars sc;
    memset(&sc, 0, sizeof sc);
    const char *e;
    static const char *const bad_ints[] = { " 10", "10 ", "\t10", "10\t", " 10 ", "+10", "+ 10",
                                            "\n10", "10\n", "1 0", "\v10", "\f10", "\r10" };
    for (size_t i = 0; i < sizeof bad_ints / sizeof bad_ints[0]; i++) {
        for (int k = 0; k < 2; k++) {
            if (dtext(s, k ? "i32" : "i64", bad_ints[i], &sc, &e) != CADRE_EINVAL)
                fail_msg("\"%s\" was read as an integer", bad_ints[i]);
            assert_non_null(strstr(e, "\"type\":\"int_parsing\""));
        }
    }
    assert_int_equal(dtext(s, "i64", " 10", &sc, &e), CADRE_EINVAL);
    assert_string_equal(e, "{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"query\",\"i64\"],"
                           "\"msg\":\"Input should be a valid integer, unable to parse string as "
                           "an integer\",\"input\":\" 10\"}]}");
    static const char *const bad_doubles[] = { " 1.5", "1.5 ", "\t1.5", "+1.5", " 2", "2\n" };
    for (size_t i = 0; i < sizeof bad_doubles / sizeof bad_doubles[0]; i++) {
        if (dtext(s, "d", bad_doubles[i], &sc, &e) != CADRE_EINVAL)
            fail_msg("\"%s\" was read as a number", bad_doubles[i]);
        assert_non_null(strstr(e, "\"type\":\"float_parsing\""));
    }
    /* what a number is stays one */
    assert_int_equal(dtext(s, "i64", "10", &sc, &e), 0);
    assert_int_equal(sc.i64, 10);
    assert_int_equal(dtext(s, "i64", "-10", &sc, &e), 0);
    assert_int_equal(sc.i64, -10);
    assert_int_equal(dtext(s, "d", "1e+2", &sc, &e), 0);
    assert_true(sc.d == 100.0);
    assert_int_equal(dtext(s, "d", "-2.5", &sc, &e), 0);
    assert_true(sc.d == -2.5);
    /* a JSON string holding a number: the same rule */
    DECODE_ERR(Scalars, "{\"i64\":\" 5\"}",
               "[{\"type\":\"int_parsing\",\"loc\":[\"body\",\"i64\"],"
               "\"msg\":\"Input should be a valid integer, unable to parse string as an integer\","
               "\"input\":\" 5\"}]");
    DECODE_ERR(Scalars, "{\"d\":\"+5\"}",
               "[{\"type\":\"float_parsing\",\"loc\":[\"body\",\"d\"],"
               "\"msg\":\"Input should be a valid number, unable to parse string as a number\","
               "\"input\":\"+5\"}]");
}

static void test_schema_default(void **state)
{
    (void)state;
    const cadre_schema *s = Opts__schema();
    Opts o;
    memset(&o, 0, sizeof o);
    cadre_verrors e;
    cadre_verrors_init(&e, &A);
#define FLD(name) cadre_schema_field(s, name, strlen(name))
    assert_int_equal(cadre_schema_default(s, FLD("n"), &o, &A, "query", CADRE_LIT("null"), &e), 0);
    assert_int_equal(o.n, 7);
    assert_int_equal(cadre_schema_default(s, FLD("m"), &o, &A, "query", CADRE_LIT("null"), &e), 0);
    assert_int_equal(o.m, -3);
    assert_int_equal(cadre_schema_default(s, FLD("x"), &o, &A, "query", CADRE_LIT("null"), &e), 0);
    assert_true(o.x == 2.5);
    assert_int_equal(cadre_schema_default(s, FLD("on"), &o, &A, "query", CADRE_LIT("null"), &e), 0);
    assert_true(o.on);
    assert_int_equal(cadre_schema_default(s, FLD("s"), &o, &A, "query", CADRE_LIT("null"), &e), 0);
    assert_cstr(o.s, "hi");
    assert_int_equal(cadre_schema_default(s, FLD("opt"), &o, &A, "query", CADRE_LIT("null"), &e), 0);
    assert_int_equal(e.len, 0);
    /* required: "missing" with the given input */
    assert_int_equal(cadre_schema_default(s, FLD("note"), &o, &A, "header", CADRE_LIT("null"), &e),
                     CADRE_EINVAL);
    assert_int_equal(e.len, 1);
    assert_string_equal(errs_text(&e),
                        "{\"detail\":[{\"type\":\"missing\",\"loc\":[\"header\",\"note\"],"
                        "\"msg\":\"Field required\",\"input\":null}]}");
    /* empty string default */
    const cadre_schema *ps = Product__schema();
    Product p;
    memset(&p, 0, sizeof p);
    assert_int_equal(cadre_schema_default(ps, cadre_schema_field(ps, "kind", 4), &p, &A, "query",
                                          CADRE_LIT("null"), &e),
                     0);
    assert_cstr(p.kind, "basic");
    assert_int_equal(cadre_schema_default(ps, cadre_schema_field(ps, "name", 4), &p, &A, "body",
                                          CADRE_LIT("{}"), &e),
                     CADRE_EINVAL);
    assert_int_equal(e.len, 2);
    assert_string_equal(loc_text(&e.items[1]), "[\"body\",\"name\"]");
    assert_int_equal(e.items[1].input.len, 2);
#undef FLD
}

/* ---------------------------------------------------------------------------------------------
 * Encoding
 * ------------------------------------------------------------------------------------------- */

static void test_encode(void **state)
{
    (void)state;
    ItemOut o;
    memset(&o, 0, sizeof o);
    static cadre_slice tags[] = { { "a", 1 }, { "b\"c", 3 } };
    o.name = CADRE_LIT("Widget \xc3\xa9");
    o.price = 10.0;
    o.tags = (cadre_strings){ tags, 2 };
    o.in_stock = true;
    o.id = 42;
    assert_string_equal(encode(ItemOut__schema(), &o),
                        "{\"name\":\"Widget \xc3\xa9\",\"price\":10.0,\"tags\":[\"a\",\"b\\\"c\"],"
                        "\"in_stock\":true,\"id\":42}");

    /* optional absent: left out; present: written; nullable + null: null */
    Opts p;
    memset(&p, 0, sizeof p);
    p.n = -1;
    p.m = 2;
    p.x = 0.25;
    p.on = false;
    p.off = true;
    p.s = CADRE_LIT("q");
    p.note = CADRE_LIT("ignored");
    p.cadre_null_ = 1u << 8; /* note is null */
    assert_string_equal(encode(Opts__schema(), &p),
                        "{\"n\":-1,\"m\":2,\"x\":0.25,\"on\":false,\"off\":true,\"s\":\"q\",\"t\":[],"
                        "\"note\":null}");
    p.cadre_set_ = (1u << 7) | (1u << 9); /* opt and maybe present */
    p.opt = 5;
    p.maybe = CADRE_LIT("m");
    p.cadre_null_ = 0;
    assert_string_equal(encode(Opts__schema(), &p),
                        "{\"n\":-1,\"m\":2,\"x\":0.25,\"on\":false,\"off\":true,\"s\":\"q\",\"t\":[],"
                        "\"opt\":5,\"note\":\"ignored\",\"maybe\":\"m\"}");
    p.cadre_null_ = 1u << 9;
    assert_string_equal(encode(Opts__schema(), &p),
                        "{\"n\":-1,\"m\":2,\"x\":0.25,\"on\":false,\"off\":true,\"s\":\"q\",\"t\":[],"
                        "\"opt\":5,\"note\":\"ignored\",\"maybe\":null}");

    /* nested objects, arrays of objects, numbers */
    Shape sh;
    memset(&sh, 0, sizeof sh);
    static int64_t hs[] = { 1, -2 };
    static double ws[] = { 0.5, 3.0, -0.125 };
    Dims many[2];
    memset(many, 0, sizeof many);
    many[0].w = 1.5;
    many[1].w = 2.0;
    many[1].h = (cadre_int64s){ hs, 2 };
    sh.label = CADRE_LIT("L\n");
    sh.dims.w = 100.0;
    sh.many.items = many;
    sh.many.len = 2;
    sh.weights = (cadre_doubles){ ws, 3 };
    assert_string_equal(encode(Shape__schema(), &sh),
                        "{\"label\":\"L\\n\",\"dims\":{\"w\":100.0,\"h\":[]},"
                        "\"many\":[{\"w\":1.5,\"h\":[]},{\"w\":2.0,\"h\":[1,-2]}],"
                        "\"weights\":[0.5,3.0,-0.125]}");
    /* zeroed struct: empty string for an unset slice */
    Scalars sc;
    memset(&sc, 0, sizeof sc);
    assert_string_equal(encode(Scalars__schema(), &sc), "{}"); /* all optional, none present */
    sc.cadre_set_ = 0x1f;
    assert_string_equal(encode(Scalars__schema(), &sc),
                        "{\"b\":false,\"i32\":0,\"i64\":0,\"d\":0.0,\"s\":\"\"}");
}

static void test_decode_encode_roundtrip(void **state)
{
    (void)state;
    static const char doc[] = "{\"name\":\"n\\u00e9\",\"price\":0.1,\"tags\":[\"x\"],\"in_stock\":false}";
    Item it;
    DECODE_OK(Item, doc, &it);
    assert_string_equal(encode(Item__schema(), &it),
                        "{\"name\":\"n\xc3\xa9\",\"price\":0.1,\"tags\":[\"x\"],\"in_stock\":false}");
    Opts o;
    DECODE_OK(Opts, "{\"note\":null,\"opt\":3}", &o);
    assert_string_equal(encode(Opts__schema(), &o),
                        "{\"n\":7,\"m\":-3,\"x\":2.5,\"on\":true,\"off\":false,\"s\":\"hi\",\"t\":[],"
                        "\"opt\":3,\"note\":null}");
}

/* ---------------------------------------------------------------------------------------------
 * JSON Schema
 * ------------------------------------------------------------------------------------------- */

/* No object in the document has the same key twice. */
static void assert_no_duplicate_keys(const char *json)
{
    cadre_json_reader rd;
    cadre_json_token t;
    cadre_arena a;
    cadre_arena_init(&a, 0);
    cadre_json_reader_init(&rd, json, strlen(json), &a, 0);
    /* per depth: the keys seen, as one string "\0k1\0k2..." kept simply in a fixed table */
    enum { MAXD = 32, MAXK = 64 };
    static char keys[MAXD][MAXK][64];
    static int nkeys[MAXD];
    static bool is_obj[MAXD];
    int depth = 0;
    for (;;) {
        assert_int_equal(cadre_json_next(&rd, &t), 0);
        if (t.type == CADRE_JSON_END)
            break;
        if (t.type == CADRE_JSON_OBJECT || t.type == CADRE_JSON_ARRAY) {
            depth++;
            assert_true(depth < MAXD);
            nkeys[depth] = 0;
            is_obj[depth] = t.type == CADRE_JSON_OBJECT;
        } else if (t.type == CADRE_JSON_OBJECT_END || t.type == CADRE_JSON_ARRAY_END) {
            depth--;
        } else if (t.type == CADRE_JSON_KEY) {
            assert_true(is_obj[depth]);
            char k[64];
            snprintf(k, sizeof k, "%.*s", (int)t.str.len, t.str.ptr);
            for (int i = 0; i < nkeys[depth]; i++)
                if (strcmp(keys[depth][i], k) == 0)
                    fail_msg("duplicate key \"%s\" at offset %zu in %s", k, t.offset, json);
            assert_true(nkeys[depth] < MAXK);
            strcpy(keys[depth][nkeys[depth]++], k);
        }
    }
    cadre_arena_free(&a);
}

static void test_json_schema_refs(void **state)
{
    (void)state;
    const char *js = json_schema(Product__schema(), true);
    assert_string_equal(
        js, "{\"type\":\"object\",\"title\":\"Product\",\"properties\":{"
            "\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":100,\"title\":\"Name\"},"
            "\"price\":{\"type\":\"number\",\"exclusiveMinimum\":0,\"title\":\"Price\"},"
            "\"qty\":{\"type\":\"integer\",\"format\":\"int32\",\"minimum\":0,"
            "\"exclusiveMaximum\":1000,\"title\":\"Qty\",\"default\":1},"
            "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"maxItems\":10,"
            "\"title\":\"Tags\",\"default\":[]},"
            "\"in_stock\":{\"type\":\"boolean\",\"title\":\"In Stock\",\"default\":true},"
            "\"kind\":{\"type\":\"string\",\"title\":\"Kind\",\"default\":\"basic\","
            "\"description\":\"the kind\"},"
            "\"dims\":{\"$ref\":\"#/components/schemas/Dims\",\"title\":\"Dims\"},"
            "\"parts\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/components/schemas/Dims\"},"
            "\"title\":\"Parts\",\"default\":[]},"
            "\"note\":{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}],\"title\":\"Note\"}"
            "},\"required\":[\"name\",\"price\",\"dims\",\"note\"]}");
    assert_no_duplicate_keys(js);

    /* the nested type's own schema (its component) */
    const char *dj = json_schema(Dims__schema(), true);
    assert_string_equal(dj, "{\"type\":\"object\",\"title\":\"Dims\",\"properties\":{"
                            "\"w\":{\"type\":\"number\",\"minimum\":0,\"title\":\"W\"},"
                            "\"h\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"},"
                            "\"title\":\"H\",\"default\":[]}},"
                            "\"required\":[\"w\"]}");

    /* no required fields: no "required" member */
    const char *sj = json_schema(Scalars__schema(), true);
    assert_null(strstr(sj, "\"required\""));
    assert_non_null(strstr(sj, "\"i32\":{\"type\":\"integer\",\"format\":\"int32\",\"title\":\"I32\"}"));
    assert_non_null(strstr(sj, "\"d\":{\"type\":\"number\",\"title\":\"D\"}"));
    /* every constraint keyword */
    const char *bj = json_schema(Bounds__schema(), true);
    assert_non_null(strstr(bj, "\"exclusiveMinimum\":0"));
    assert_non_null(strstr(bj, "\"minimum\":1"));
    assert_non_null(strstr(bj, "\"exclusiveMaximum\":1"));
    assert_non_null(strstr(bj, "\"maximum\":0.5"));
    assert_non_null(strstr(bj, "\"minItems\":2,\"maxItems\":3"));
    assert_non_null(strstr(bj, "\"minLength\":2,\"maxLength\":3"));
    assert_non_null(strstr(bj, "\"items\":{\"type\":\"number\"},\"maxItems\":1"));
    /* defaults of every type */
    const char *oj = json_schema(Opts__schema(), true);
    assert_non_null(strstr(oj, "\"n\":{\"type\":\"integer\",\"format\":\"int64\",\"title\":\"N\","
                               "\"default\":7}"));
    assert_non_null(strstr(oj, "\"m\":{\"type\":\"integer\",\"format\":\"int32\",\"title\":\"M\","
                               "\"default\":-3}"));
    assert_non_null(strstr(oj, "\"x\":{\"type\":\"number\",\"title\":\"X\",\"default\":2.5}"));
    assert_non_null(strstr(oj, "\"off\":{\"type\":\"boolean\",\"title\":\"Off\",\"default\":false}"));
    assert_non_null(strstr(oj, "\"s\":{\"type\":\"string\",\"title\":\"S\",\"default\":\"hi\"}"));
    assert_non_null(strstr(oj, "\"required\":[\"note\"]"));
    assert_no_duplicate_keys(oj);
}

static void test_json_schema_inline(void **state)
{
    (void)state;
    const char *js = json_schema(Product__schema(), false);
    assert_null(strstr(js, "$ref"));
    /* the nested object is written out in place, the array's items too */
    assert_non_null(strstr(js, "\"items\":{\"type\":\"object\",\"title\":\"Dims\",\"properties\":{"
                               "\"w\":{\"type\":\"number\",\"minimum\":0,\"title\":\"W\"},"));
    assert_non_null(strstr(js, "\"dims\":{\"type\":\"object\","));
    assert_non_null(strstr(js, "\"required\":[\"name\",\"price\",\"dims\",\"note\"]}"));
    /* valid JSON with one title per schema object */
    assert_int_equal(cadre_json_validate(js, strlen(js), 0, NULL, NULL), 0);
    assert_no_duplicate_keys(js);
}

static void test_formats_valid(void **state)
{
    (void)state;
    Event e;
    DECODE_OK(Event,
              "{\"colour\":\"blue\",\"day\":\"2024-02-29\",\"at\":\"2026-11-26T14:00:00.5+01:30\","
              "\"id\":\"123E4567-E89B-12D3-A456-426614174000\",\"code\":\"ABC123\"}",
              &e);
    assert_int_equal(e.colour, COLOR_BLUE);
    assert_int_equal(e.day.year, 2024);
    assert_int_equal(e.day.month, 2);
    assert_int_equal(e.day.day, 29);
    /* 2026-11-26T14:00:00+01:30 is 12:30:00Z: 1795696200 */
    assert_int_equal(e.at.sec, 1795696200);
    assert_int_equal(e.at.usec, 500000);
    assert_int_equal(e.at.offset_min, 90);
    assert_false(e.at.naive);
    assert_int_equal(e.id.b[0], 0x12);
    assert_int_equal(e.id.b[15], 0x00);
    assert_string_equal(encode(CADRE_SCHEMA_OF(Event), &e),
                        "{\"colour\":\"blue\",\"day\":\"2024-02-29\","
                        "\"at\":\"2026-11-26T14:00:00.500000+01:30\","
                        "\"id\":\"123e4567-e89b-12d3-a456-426614174000\",\"code\":\"ABC123\"}");
    /* defaults, a naive datetime, a UUID without hyphens */
    DECODE_OK(Event,
              "{\"day\":\"1970-01-01\",\"at\":\"1970-01-02 00:00:01\","
              "\"id\":\"123e4567e89b12d3a456426614174000\",\"code\":\"XYZ9\"}",
              &e);
    assert_int_equal(e.colour, COLOR_GREEN);
    assert_int_equal(e.at.sec, 86401);
    assert_true(e.at.naive);
    assert_string_equal(encode(CADRE_SCHEMA_OF(Event), &e),
                        "{\"colour\":\"green\",\"day\":\"1970-01-01\",\"at\":\"1970-01-02T00:00:01\","
                        "\"id\":\"123e4567-e89b-12d3-a456-426614174000\",\"code\":\"XYZ9\"}");
}

static void test_formats_errors(void **state)
{
    (void)state;
    DECODE_ERR(Event,
               "{\"colour\":\"pink\",\"day\":\"2023-02-29\",\"at\":\"2026-13-01T00:00:00Z\","
               "\"id\":\"xyz\",\"code\":\"abc\",\"extra\":1}",
               "[{\"type\":\"enum\",\"loc\":[\"body\",\"colour\"],"
               "\"msg\":\"Input should be 'red', 'green' or 'blue'\",\"input\":\"pink\","
               "\"ctx\":{\"expected\":\"'red', 'green' or 'blue'\"}},"
               "{\"type\":\"date_parsing\",\"loc\":[\"body\",\"day\"],"
               "\"msg\":\"Input should be a valid date in the format YYYY-MM-DD, day value is "
               "outside expected range\",\"input\":\"2023-02-29\","
               "\"ctx\":{\"error\":\"day value is outside expected range\"}},"
               "{\"type\":\"datetime_parsing\",\"loc\":[\"body\",\"at\"],"
               "\"msg\":\"Input should be a valid datetime, month value is outside expected range "
               "of 1-12\",\"input\":\"2026-13-01T00:00:00Z\","
               "\"ctx\":{\"error\":\"month value is outside expected range of 1-12\"}},"
               "{\"type\":\"uuid_parsing\",\"loc\":[\"body\",\"id\"],"
               "\"msg\":\"Input should be a valid UUID, invalid character: expected an optional "
               "prefix of `urn:uuid:` followed by [0-9a-fA-F-]\",\"input\":\"xyz\","
               "\"ctx\":{\"error\":\"invalid character: expected an optional prefix of "
               "`urn:uuid:` followed by [0-9a-fA-F-]\"}},"
               "{\"type\":\"string_pattern_mismatch\",\"loc\":[\"body\",\"code\"],"
               "\"msg\":\"String should match pattern '^[A-Z]{3}[0-9]+$'\",\"input\":\"abc\","
               "\"ctx\":{\"pattern\":\"^[A-Z]{3}[0-9]+$\"}},"
               "{\"type\":\"extra_forbidden\",\"loc\":[\"body\",\"extra\"],"
               "\"msg\":\"Extra inputs are not permitted\",\"input\":1}]");
    DECODE_ERR(Event, "{\"colour\":1,\"day\":5,\"id\":null,\"code\":\"ABC1\"}",
               "[{\"type\":\"enum\",\"loc\":[\"body\",\"colour\"],"
               "\"msg\":\"Input should be 'red', 'green' or 'blue'\",\"input\":1,"
               "\"ctx\":{\"expected\":\"'red', 'green' or 'blue'\"}},"
               "{\"type\":\"date_type\",\"loc\":[\"body\",\"day\"],"
               "\"msg\":\"Input should be a valid date\",\"input\":5},"
               "{\"type\":\"uuid_type\",\"loc\":[\"body\",\"id\"],"
               "\"msg\":\"UUID input should be a string, bytes or UUID object\",\"input\":null}]");
    /* RFC 3339 edges */
    static const char *const bad_datetimes[] = {
        "2026-11-26T24:00:00Z", "2026-11-26T23:60:00Z", "2026-11-26T23:59:60Z",
        "2026-11-26T23:59", "2026-11-26X23:59:00", "2026-11-26T23:59:00+0100",
        "2026-11-26T23:59:00.Z", "2026-11-26T23:59:00Zjunk", "2026-02-30T00:00:00Z",
    };
    for (size_t i = 0; i < sizeof bad_datetimes / sizeof *bad_datetimes; i++) {
        char doc[256];
        snprintf(doc, sizeof doc, "{\"day\":\"2000-01-01\",\"id\":\"%s\",\"code\":\"A1\",\"at\":\"%s\"}",
                 "00000000-0000-0000-0000-000000000000", bad_datetimes[i]);
        Event e;
        const char *err;
        assert_int_equal(decode(CADRE_SCHEMA_OF(Event), doc, &e, &err), CADRE_EINVAL);
        assert_non_null(strstr(err, "datetime_parsing"));
    }
}

static void test_formats_json_schema(void **state)
{
    (void)state;
    cadre_buf b;
    cadre_json_writer w;
    cadre_buf_init(&b, 1 << 16);
    cadre_json_writer_init(&w, &b);
    cadre_schema_write_json_schema(CADRE_SCHEMA_OF(Event), &w, true);
    assert_int_equal(cadre_buf_append(&b, "", 1), 0);
    assert_string_equal(
        b.data,
        "{\"type\":\"object\",\"title\":\"Event\",\"properties\":{"
        "\"colour\":{\"type\":\"string\",\"enum\":[\"red\",\"green\",\"blue\"],\"title\":\"Colour\","
        "\"default\":\"green\"},"
        "\"day\":{\"type\":\"string\",\"format\":\"date\",\"title\":\"Day\"},"
        "\"at\":{\"type\":\"string\",\"format\":\"date-time\",\"title\":\"At\"},"
        "\"id\":{\"type\":\"string\",\"format\":\"uuid\",\"title\":\"Id\"},"
        "\"code\":{\"type\":\"string\",\"pattern\":\"^[A-Z]{3}[0-9]+$\",\"title\":\"Code\"}},"
        "\"required\":[\"day\",\"id\",\"code\"],\"additionalProperties\":false}");
    cadre_buf_free(&b);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_struct_layout),
        T(test_xmacro_composition),
        T(test_decode_valid),
        T(test_unknown_and_duplicate_members),
        T(test_duplicate_member_earlier_value_not_validated),
        T(test_presence_and_defaults),
        T(test_overlay),
        T(test_coerce_int),
        T(test_int32_range),
        T(test_int64_range),
        T(test_model_strings_refuse_nul),
        T(test_coerce_double),
        T(test_coerce_bool),
        T(test_string_strict),
        T(test_number_bounds),
        T(test_string_lengths),
        T(test_list_constraints),
        T(test_missing),
        T(test_several_errors),
        T(test_errors_in_field_order),
        T(test_input_is_the_value_only),
        T(test_nested_locations),
        T(test_top_level_not_object),
        T(test_json_invalid),
        T(test_verrors_write),
        T(test_verror_loc),
        T(test_decode_text),
        T(test_decode_text_strict_numbers),
        T(test_schema_default),
        T(test_encode),
        T(test_decode_encode_roundtrip),
        T(test_json_schema_refs),
        T(test_json_schema_inline),
        T(test_formats_valid),
        T(test_formats_errors),
        T(test_formats_json_schema),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
