/*
 * Schema-directed decoding and validation (encoding is encode.c's). JSON is decoded straight into
 * the struct from the pull reader's tokens (no intermediate tree); every error is collected in
 * Pydantic 2's words so that FastAPI clients read Cadre's 422s unchanged. Coercions follow
 * Pydantic's lax mode for JSON: "42" and 42.0 are ints, "9.5" and 9 are numbers, "yes"/"no"/1/0
 * are booleans; only strings are strings.
 */
#include "schema_internal.h"

#include <math.h>
#include <string.h>

static uint64_t *set_bits(const cadre_schema *s, void *obj)
{
    return (uint64_t *)((char *)obj + s->set_offset);
}

static uint64_t *null_bits(const cadre_schema *s, void *obj)
{
    return (uint64_t *)((char *)obj + s->null_offset);
}

/*
 * A location under construction: a chain of steps on the C stack, from the innermost up to the
 * root. Nothing is allocated while decoding; an error copies the chain into the arena.
 */
typedef struct loc {
    const struct loc *up;
    cadre_loc_seg seg;
} loc;

static loc loc_root(const char *root)
{
    return (loc){ NULL, { cadre_slice_cstr(root), 0 } };
}

/* The step for a field name (NULL: the list index). */
static cadre_loc_seg step(const char *name, long index)
{
    return name ? (cadre_loc_seg){ cadre_slice_cstr(name), 0 }
                : (cadre_loc_seg){ { NULL, 0 }, index };
}

static loc loc_push(const loc *l, const char *name, long index)
{
    return (loc){ l, step(name, index) };
}

/* The steps of l, then last when given, as an array in arena memory. */
static cadre_loc_seg *loc_steps(cadre_arena *a, const loc *l, const cadre_loc_seg *last, size_t *n)
{
    size_t depth = last ? 1 : 0;
    for (const loc *p = l; p; p = p->up)
        depth++;
    cadre_loc_seg *out = cadre_arena_alloc(a, depth * sizeof *out);
    size_t i = depth;
    if (last)
        out[--i] = *last;
    for (const loc *p = l; p; p = p->up)
        out[--i] = p->seg;
    *n = depth;
    return out;
}

/* A number for messages and ctx: integral values without a fraction, as Pydantic shows them. */
static const char *num_text(cadre_arena *a, double x)
{
    if (x == floor(x) && fabs(x) < 1e15)
        return cadre_arena_printf(a, "%.0f", x);
    cadre_buf b;
    cadre_json_writer w;
    cadre_buf_init_arena(&b, a, 64);
    cadre_json_writer_init(&w, &b);
    cadre_json_double(&w, x);
    return cadre_arena_strndup(a, b.data, b.len);
}

static cadre_slice json_quote(cadre_arena *a, cadre_slice text)
{
    cadre_buf b;
    cadre_json_writer w;
    cadre_buf_init_arena(&b, a, 6 * text.len + 8);
    cadre_json_writer_init(&w, &b);
    cadre_json_string(&w, text.ptr ? text.ptr : "", text.len);
    return (cadre_slice){ b.data, b.len };
}

/* The decoding context shared by the recursive functions below. */
typedef struct dctx {
    cadre_json_reader *rd;
    cadre_arena *arena;
    cadre_verrors *errs;
    bool model; /* decoding a model's members (CADRE_MODEL): strings refuse NUL */
    bool input_json; /* inputs are JSON text (a JSON body; a form's lists and files), not text */
} dctx;

/* An error at l, then field (NULL: index); input is JSON text when decoding JSON, else text. */
static void err(dctx *c, const loc *l, const char *field, long index, const char *type,
                const char *msg, cadre_slice input, const char *ctx)
{
    cadre_loc_seg last = step(field, index);
    size_t n;
    cadre_loc_seg *steps = loc_steps(c->arena, l, &last, &n);
    cadre_verror *v = CADRE_VEC_PUSH(c->errs, c->errs->arena, 0); /* never NULL: an arena's */
    *v = (cadre_verror){ .type = type, .loc = steps, .nloc = n, .msg = msg, .input = input,
                         .input_is_json = c->input_json, .ctx = ctx };
}

/* ---------------------------------------------------------------------------------------------
 * Scalars (shared by JSON and text decoding): a value arrives as a JSON token or as text.
 * ------------------------------------------------------------------------------------------- */

static size_t count_chars(cadre_slice s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len; i++)
        n += ((unsigned char)s.ptr[i] & 0xC0) != 0x80;
    return n;
}

/* Range constraints on a number; reports the first that fails. */
static bool check_range(dctx *c, const loc *l, const char *name, long idx, const cadre_field *f, double v,
                        cadre_slice input)
{
    const char *type = NULL, *word = NULL, *key = NULL;
    double bound = 0;
    if (f->has_gt && !(v > f->gt))
        type = "greater_than", word = "greater than", key = "gt", bound = f->gt;
    else if (f->has_ge && !(v >= f->ge))
        type = "greater_than_equal", word = "greater than or equal to", key = "ge", bound = f->ge;
    else if (f->has_lt && !(v < f->lt))
        type = "less_than", word = "less than", key = "lt", bound = f->lt;
    else if (f->has_le && !(v <= f->le))
        type = "less_than_equal", word = "less than or equal to", key = "le", bound = f->le;
    if (!type)
        return true;
    const char *b = num_text(c->arena, bound);
    err(c, l, name, idx, type, cadre_arena_printf(c->arena, "Input should be %s %s", word, b), input,
        cadre_arena_printf(c->arena, "{\"%s\":%s}", key, b));
    return false;
}

static bool check_len(dctx *c, const loc *l, const char *name, long idx, const cadre_field *f,
                      cadre_slice s, cadre_slice input)
{
    if (!f->has_min_len && !f->has_max_len)
        return true;
    size_t n = count_chars(s);
    if (f->has_min_len && n < f->min_len) {
        err(c, l, name, idx, "string_too_short",
            cadre_arena_printf(c->arena, "String should have at least %zu character%s", f->min_len,
                               f->min_len == 1 ? "" : "s"),
            input, cadre_arena_printf(c->arena, "{\"min_length\":%zu}", f->min_len));
        return false;
    }
    if (f->has_max_len && n > f->max_len) {
        err(c, l, name, idx, "string_too_long",
            cadre_arena_printf(c->arena, "String should have at most %zu character%s", f->max_len,
                               f->max_len == 1 ? "" : "s"),
            input, cadre_arena_printf(c->arena, "{\"max_length\":%zu}", f->max_len));
        return false;
    }
    return true;
}

static bool bool_word(cadre_slice s, bool *out)
{
    static const char *const yes[] = { "true", "1", "yes", "on", "t", "y" };
    static const char *const no[] = { "false", "0", "no", "off", "f", "n" };
    for (size_t i = 0; i < 6; i++) {
        if (cadre_slice_ieq_cstr(s, yes[i])) {
            *out = true;
            return true;
        }
        if (cadre_slice_ieq_cstr(s, no[i])) {
            *out = false;
            return true;
        }
    }
    return false;
}

/*
 * Parses text as a number the way Python's float() does for JSON-ish input, but the number alone:
 * no space around it and no leading '+' (a padded "%2010" in a URL is not 10).
 */
static bool text_double(cadre_arena *a, cadre_slice t, double *out)
{
    if (t.len == 0 || t.len > 64 || t.ptr[0] == '+')
        return false;
    char *z = cadre_arena_strndup(a, t.ptr, t.len);
    for (size_t i = 0; i < t.len; i++)
        if (!strchr("0123456789+-.eE", z[i]))
            return false; /* no hex, no inf/nan */
    char *end;
    double v = cadre_strtod(z, &end);
    if (*end || !isfinite(v))
        return false;
    *out = v;
    return true;
}

/* Whether s is an integer's text: an optional '-', then one or more digits. */
static bool all_digits(cadre_slice s)
{
    size_t i = s.len && s.ptr[0] == '-';
    if (i == s.len)
        return false;
    for (; i < s.len; i++)
        if (s.ptr[i] < '0' || s.ptr[i] > '9')
            return false;
    return true;
}

/* An integer beyond int64 (negative: below it) for an int32 or int64 field: the field's own
 * bound on that side if it has one, else the bound of its C type, as Pydantic reports a bounded
 * int. Returns false. */
static bool int_out_of_range(dctx *c, const loc *l, const char *name, long idx, const cadre_field *f,
                             bool negative, cadre_slice input)
{
    if (!check_range(c, l, name, idx, f, negative ? -HUGE_VAL : HUGE_VAL, input))
        return false;
    bool i32 = f->type == CADRE_T_INT32;
    const char *b = negative ? (i32 ? "-2147483648" : "-9223372036854775808")
                             : (i32 ? "2147483647" : "9223372036854775807");
    err(c, l, name, idx, negative ? "greater_than_equal" : "less_than_equal",
        cadre_arena_printf(c->arena, "Input should be %s %s",
                           negative ? "greater than or equal to" : "less than or equal to", b),
        input, cadre_arena_printf(c->arena, "{\"%s\":%s}", negative ? "ge" : "le", b));
    return false;
}

/*
 * Stores a scalar: kind is the JSON token type, or CADRE_JSON_STRING for text input. Returns true
 * when the value was valid (stored), false after reporting an error.
 */
static bool store_scalar(dctx *c, const loc *l, const char *name, long idx, const cadre_field *f,
                         const cadre_json_token *t, cadre_slice input, void *dst)
{
    cadre_json_type k = t->type;
    switch (f->type) {
    case CADRE_T_BOOL: {
        bool v;
        if (k == CADRE_JSON_TRUE || k == CADRE_JSON_FALSE) {
            v = k == CADRE_JSON_TRUE;
        } else if (k == CADRE_JSON_NUMBER && t->is_int && (t->i == 0 || t->i == 1)) {
            v = t->i == 1;
        } else if (k == CADRE_JSON_STRING && bool_word(t->str, &v)) {
            /* lax */
        } else {
            bool parsing = k == CADRE_JSON_STRING || k == CADRE_JSON_NUMBER;
            err(c, l, name, idx, parsing ? "bool_parsing" : "bool_type",
                parsing ? "Input should be a valid boolean, unable to interpret input"
                        : "Input should be a valid boolean",
                input, NULL);
            return false;
        }
        *(bool *)dst = v;
        return true;
    }
    case CADRE_T_INT32:
    case CADRE_T_INT64: {
        int64_t v;
        if (k == CADRE_JSON_NUMBER && t->is_int) {
            v = t->i;
        } else if (k == CADRE_JSON_NUMBER && all_digits(input)) {
            /* an integer beyond int64: out of the type's range, as Pydantic says of an int
             * field bounded like the C type (conint(le=2**63-1)), not a float */
            return int_out_of_range(c, l, name, idx, f, input.ptr[0] == '-', input);
        } else if (k == CADRE_JSON_NUMBER) {
            if (!isfinite(t->d)) {
                err(c, l, name, idx, "finite_number", "Input should be a finite number", input,
                    NULL);
                return false;
            }
            if (t->d != floor(t->d)) {
                err(c, l, name, idx, "int_from_float",
                    "Input should be a valid integer, got a number with a fractional part", input,
                    NULL);
                return false;
            }
            if (t->d >= 9223372036854775808.0 || t->d < -9223372036854775808.0) {
                err(c, l, name, idx, "int_parsing_size",
                    "Unable to parse input string as an integer, exceeded maximum size", input,
                    NULL);
                return false;
            }
            v = (int64_t)t->d;
        } else if (k == CADRE_JSON_TRUE || k == CADRE_JSON_FALSE) {
            v = k == CADRE_JSON_TRUE;
        } else if (k == CADRE_JSON_STRING) {
            /* the digits alone (an optional '-'): no padding, no '+', as text_double */
            if (cadre_slice_to_i64(t->str, false, &v) != 0) {
                if (all_digits(t->str))
                    return int_out_of_range(c, l, name, idx, f, t->str.ptr[0] == '-', input);
                err(c, l, name, idx, "int_parsing",
                    "Input should be a valid integer, unable to parse string as an integer", input,
                    NULL);
                return false;
            }
        } else {
            err(c, l, name, idx, "int_type", "Input should be a valid integer", input, NULL);
            return false;
        }
        if (f->type == CADRE_T_INT32 && (v < INT32_MIN || v > INT32_MAX)) {
            bool low = v < INT32_MIN;
            err(c, l, name, idx, low ? "greater_than_equal" : "less_than_equal",
                low ? "Input should be greater than or equal to -2147483648"
                    : "Input should be less than or equal to 2147483647",
                input, low ? "{\"ge\":-2147483648}" : "{\"le\":2147483647}");
            return false;
        }
        if (!check_range(c, l, name, idx, f, (double)v, input))
            return false;
        if (f->type == CADRE_T_INT32)
            *(int32_t *)dst = (int32_t)v;
        else
            *(int64_t *)dst = v;
        return true;
    }
    case CADRE_T_DOUBLE: {
        double v;
        if (k == CADRE_JSON_NUMBER) {
            v = t->d;
        } else if (k == CADRE_JSON_TRUE || k == CADRE_JSON_FALSE) {
            v = k == CADRE_JSON_TRUE;
        } else if (k == CADRE_JSON_STRING) {
            if (!text_double(c->arena, t->str, &v)) {
                err(c, l, name, idx, "float_parsing",
                    "Input should be a valid number, unable to parse string as a number", input,
                    NULL);
                return false;
            }
        } else {
            err(c, l, name, idx, "float_type", "Input should be a valid number", input, NULL);
            return false;
        }
        if (!check_range(c, l, name, idx, f, v, input))
            return false;
        *(double *)dst = v;
        return true;
    }
    case CADRE_T_STRING: {
        if (k != CADRE_JSON_STRING) {
            err(c, l, name, idx, "string_type", "Input should be a valid string", input, NULL);
            return false;
        }
        if (!check_len(c, l, name, idx, f, t->str, input))
            return false;
        char *copy = cadre_arena_strndup(c->arena, t->str.ptr, t->str.len);
        if (f->pattern && cadre__pattern_match(f->pattern, copy) != 1) {
            cadre_slice pq = json_quote(c->arena, cadre_slice_cstr(f->pattern));
            err(c, l, name, idx, "string_pattern_mismatch",
                cadre_arena_printf(c->arena, "String should match pattern '%s'", f->pattern), input,
                cadre_arena_printf(c->arena, "{\"pattern\":%.*s}", (int)pq.len, pq.ptr));
            return false;
        }
        if (c->model && memchr(t->str.ptr, '\0', t->str.len)) {
            /* a model's text is a column's: PostgreSQL cannot store a NUL in text, and C code
             * reading the value as a string would see it cut short. DRF's words, in the shape
             * of a Pydantic validator's ValueError (after the constraints, as Pydantic runs it). */
            err(c, l, name, idx, "value_error", "Value error, Null characters are not allowed.",
                input, "{\"error\":{}}");
            return false;
        }
        *(cadre_slice *)dst = (cadre_slice){ copy, t->str.len };
        return true;
    }
    case CADRE_T_ENUM: {
        const cadre_enum *en = f->en();
        if (k == CADRE_JSON_STRING) {
            for (size_t i = 0; i < en->count; i++) {
                if (cadre_slice_eq_cstr(t->str, en->values[i])) {
                    *(int *)dst = (int)i;
                    return true;
                }
            }
        }
        /* "Input should be 'red', 'green' or 'blue'" */
        cadre_buf exp;
        cadre_buf_init_arena(&exp, c->arena, (size_t)1 << 20);
        for (size_t i = 0; i < en->count; i++) {
            if (i)
                cadre_buf_append_str(&exp, i + 1 == en->count ? " or " : ", ");
            cadre_buf_appendf(&exp, "'%s'", en->values[i]);
        }
        cadre_slice eq = json_quote(c->arena, (cadre_slice){ exp.data ? exp.data : "", exp.len });
        err(c, l, name, idx, "enum",
            cadre_arena_printf(c->arena, "Input should be %.*s", (int)exp.len, exp.data ? exp.data : ""),
            input, cadre_arena_printf(c->arena, "{\"expected\":%.*s}", (int)eq.len, eq.ptr));
        return false;
    }
    case CADRE_T_DATE:
    case CADRE_T_DATETIME:
    case CADRE_T_UUID: {
        static const char *const kinds[][4] = {
            /* type error, its message, parsing error, its message prefix */
            { "date_type", "Input should be a valid date", "date_parsing",
              "Input should be a valid date in the format YYYY-MM-DD, " },
            { "datetime_type", "Input should be a valid datetime", "datetime_parsing",
              "Input should be a valid datetime, " },
            { "uuid_type", "UUID input should be a string, bytes or UUID object", "uuid_parsing",
              "Input should be a valid UUID, " },
        };
        const char *const *kd = kinds[f->type - CADRE_T_DATE];
        if (k != CADRE_JSON_STRING) {
            err(c, l, name, idx, kd[0], kd[1], input, NULL);
            return false;
        }
        const char *why = f->type == CADRE_T_DATE       ? cadre_date_parse(t->str, dst)
                          : f->type == CADRE_T_DATETIME ? cadre_datetime_parse(t->str, dst)
                                                        : cadre_uuid_parse(t->str, dst);
        if (why) {
            cadre_slice wq = json_quote(c->arena, cadre_slice_cstr(why));
            err(c, l, name, idx, kd[2], cadre_arena_printf(c->arena, "%s%s", kd[3], why), input,
                cadre_arena_printf(c->arena, "{\"error\":%.*s}", (int)wq.len, wq.ptr));
            return false;
        }
        return true;
    }
    case CADRE_T_FILE: {
        /* FastAPI's UploadFile validator: anything but an uploaded file, named by its Python
         * class (only multipart/form-data carries files, see cadre/form.h) */
        const char *cls = k == CADRE_JSON_STRING                         ? "str"
                          : k == CADRE_JSON_NUMBER                       ? (t->is_int ? "int" : "float")
                          : k == CADRE_JSON_TRUE || k == CADRE_JSON_FALSE ? "bool"
                          : k == CADRE_JSON_NULL                         ? "NoneType"
                          : k == CADRE_JSON_ARRAY                        ? "list"
                                                                         : "dict";
        err(c, l, name, idx, "value_error",
            cadre_arena_printf(c->arena, "Value error, Expected UploadFile, received: <class '%s'>",
                               cls),
            input, "{\"error\":{}}");
        return false;
    }
    default:
        return false;
    }
}

bool cadre_schema_check_items(const cadre_field *f, size_t n, const cadre_loc_seg *where,
                              size_t nloc, cadre_slice input, cadre_arena *arena,
                              cadre_verrors *errs)
{
    bool too_long = f->has_max_items && n > f->max_items;
    if (!too_long && !(f->has_min_items && n < f->min_items))
        return true;
    size_t bound = too_long ? f->max_items : f->min_items;
    cadre_verrors_add(
        errs,
        &(cadre_verror){
            .type = too_long ? "too_long" : "too_short",
            .loc = where,
            .nloc = nloc,
            .msg = cadre_arena_printf(arena, "List should have %s %zu item%s after validation, not %zu",
                                      too_long ? "at most" : "at least", bound,
                                      bound == 1 ? "" : "s", n),
            .input = input,
            .input_is_json = true,
            .ctx = cadre_arena_printf(arena,
                                      "{\"field_type\":\"List\",\"%s\":%zu,\"actual_length\":%zu}",
                                      too_long ? "max_length" : "min_length", bound, n),
        });
    return false;
}

/* ---------------------------------------------------------------------------------------------
 * JSON decoding
 * ------------------------------------------------------------------------------------------- */

static int decode_object(dctx *c, const cadre_schema *s, void *out, const loc *l, size_t obj_start);
static int decode_members(dctx *c, const cadre_schema *s, void *out, const loc *l, size_t obj_start);

static cadre_slice raw_since(dctx *c, size_t start)
{
    return (cadre_slice){ c->rd->start + start, (size_t)(c->rd->p - c->rd->start) - start };
}

/* The element descriptor an array field's items are checked against (its own constraints do
 * not apply to items, except for string lengths, which have no list meaning). */
static cadre_field item_field(const cadre_field *f)
{
    cadre_field e = { .name = f->name };
    switch (f->type) {
    case CADRE_T_STRINGS:
        e.type = CADRE_T_STRING;
        break;
    case CADRE_T_INT64S:
        e.type = CADRE_T_INT64;
        break;
    case CADRE_T_DOUBLES:
        e.type = CADRE_T_DOUBLE;
        break;
    case CADRE_T_FILES:
        e.type = CADRE_T_FILE;
        break;
    default:
        e.type = f->type;
    }
    return e;
}

/* Decodes the value whose first token is t into dst (a member of type f). */
static int decode_value(dctx *c, const cadre_field *f, const cadre_json_token *t, void *dst,
                        uint64_t *nulls, size_t bit, const loc *l, const char *name, long idx)
{
    size_t start = t->offset;
    if (t->type == CADRE_JSON_ARRAY || t->type == CADRE_JSON_OBJECT) {
        bool want_array = f->type == CADRE_T_STRINGS || f->type == CADRE_T_INT64S ||
                          f->type == CADRE_T_DOUBLES || f->type == CADRE_T_ARRAY ||
                          f->type == CADRE_T_FILES;
        bool want_object = f->type == CADRE_T_OBJECT;
        if (want_object && t->type == CADRE_JSON_OBJECT) {
            loc sub = loc_push(l, name, idx);
            return decode_object(c, cadre_field_sub(f), dst, &sub, start);
        }
        if (want_array && t->type == CADRE_JSON_ARRAY) {
            loc sub = loc_push(l, name, idx);
            cadre_field ef = item_field(f);
            size_t esize = f->type == CADRE_T_STRINGS   ? sizeof(cadre_slice)
                           : f->type == CADRE_T_INT64S  ? sizeof(int64_t)
                           : f->type == CADRE_T_DOUBLES ? sizeof(double)
                           : f->type == CADRE_T_FILES   ? sizeof(cadre_upload)
                                                        : f->elem_size;
            size_t cap = 8, n = 0;
            char *items = cadre_arena_alloc(c->arena, cap * esize);
            size_t before = c->errs->len;
            cadre_json_token et;
            for (;;) {
                if (cadre_json_next(c->rd, &et))
                    return CADRE_EPARSE;
                if (et.type == CADRE_JSON_ARRAY_END)
                    break;
                if (n == cap) {
                    char *bigger = cadre_arena_alloc(c->arena, 2 * cap * esize);
                    memcpy(bigger, items, n * esize);
                    items = bigger;
                    cap *= 2;
                }
                void *slot = items + n * esize;
                memset(slot, 0, esize);
                int rc;
                if (f->type == CADRE_T_ARRAY) {
                    if (et.type != CADRE_JSON_OBJECT) {
                        size_t es = et.offset;
                        if (cadre_json_skip(c->rd, &et))
                            return CADRE_EPARSE;
                        err(c, &sub, NULL, (long)n, "model_attributes_type",
                            "Input should be a valid dictionary or object to extract fields from",
                            raw_since(c, es), NULL);
                        n++;
                        continue;
                    }
                    loc item = loc_push(&sub, NULL, (long)n);
                    rc = decode_object(c, cadre_field_sub(f), slot, &item, et.offset);
                } else {
                    rc = decode_value(c, &ef, &et, slot, NULL, 0, &sub, NULL, (long)n);
                }
                if (rc == CADRE_EPARSE)
                    return rc;
                n++;
            }
            if ((f->has_max_items && n > f->max_items) || (f->has_min_items && n < f->min_items))
            {
                cadre_loc_seg last = step(name, idx);
                size_t nloc;
                cadre_loc_seg *where = loc_steps(c->arena, l, &last, &nloc);
                cadre_schema_check_items(f, n, where, nloc, raw_since(c, start), c->arena, c->errs);
            }
            /* the members all share the {items, len} layout */
            struct {
                void *items;
                size_t len;
            } *arr = dst;
            arr->items = items;
            arr->len = n;
            return c->errs->len == before ? 0 : CADRE_EINVAL;
        }
        /* a container where something else was expected */
        if (cadre_json_skip(c->rd, t))
            return CADRE_EPARSE;
    }
    cadre_slice input = raw_since(c, start);
    if (t->type == CADRE_JSON_NULL && f->nullable && nulls) {
        *nulls |= (uint64_t)1 << bit;
        return 0;
    }
    switch (f->type) {
    case CADRE_T_STRINGS:
    case CADRE_T_INT64S:
    case CADRE_T_DOUBLES:
    case CADRE_T_ARRAY:
    case CADRE_T_FILES:
        err(c, l, name, idx, "list_type", "Input should be a valid list", input, NULL);
        return CADRE_EINVAL;
    case CADRE_T_OBJECT:
        err(c, l, name, idx, "model_attributes_type",
            "Input should be a valid dictionary or object to extract fields from", input, NULL);
        return CADRE_EINVAL;
    default:
        return store_scalar(c, l, name, idx, f, t, input, dst) ? 0 : CADRE_EINVAL;
    }
}

static void apply_default(dctx *c, const cadre_field *f, void *dst)
{
    switch (f->type) {
    case CADRE_T_BOOL: *(bool *)dst = f->def_i != 0; break;
    case CADRE_T_INT32: *(int32_t *)dst = (int32_t)f->def_i; break;
    case CADRE_T_INT64: *(int64_t *)dst = f->def_i; break;
    case CADRE_T_DOUBLE: *(double *)dst = f->def_d; break;
    case CADRE_T_ENUM: *(int *)dst = (int)f->def_i; break;
    case CADRE_T_STRING:
        *(cadre_slice *)dst = f->def_s ? (cadre_slice){ f->def_s, strlen(f->def_s) }
                                       : (cadre_slice){ "", 0 };
        break;
    default:
        break; /* arrays: empty; objects: zeroed */
    }
    (void)c;
}

/*
 * Decodes an object member by member. Two rules make the result Pydantic's: when a member appears
 * twice the last one counts (errors from earlier occurrences are dropped, as json.loads would
 * never have shown them), and the object's errors come out in field declaration order, with
 * "missing" for absent required fields and defaults for the others.
 */
static int decode_object(dctx *c, const cadre_schema *s, void *out, const loc *l, size_t obj_start)
{
    bool outer_model = c->model;
    c->model = s->model;
    int rc = decode_members(c, s, out, l, obj_start);
    c->model = outer_model;
    return rc;
}

static int decode_members(dctx *c, const cadre_schema *s, void *out, const loc *l, size_t obj_start)
{
    uint64_t seen = 0;
    size_t before = c->errs->len;
    uint64_t *nulls = null_bits(s, out);
    size_t from[64] = { 0 }, to[64] = { 0 }; /* each field's errors: items[from, to) */
    cadre_verror extra[64];                   /* unknown members, when forbidden (first 64) */
    size_t nextra = 0;
    cadre_json_token t;
    for (;;) {
        if (cadre_json_next(c->rd, &t))
            return CADRE_EPARSE;
        if (t.type == CADRE_JSON_OBJECT_END)
            break;
        /* t is a KEY */
        const cadre_field *f = cadre_schema_field(s, t.str.ptr, t.str.len);
        cadre_json_token v;
        if (cadre_json_next(c->rd, &v))
            return CADRE_EPARSE;
        if (!f) {
            size_t vstart = v.offset;
            if (cadre_json_skip(c->rd, &v))
                return CADRE_EPARSE;
            if (s->forbid_extra) {
                /* reported after the fields' errors, as Pydantic does */
                cadre_loc_seg key = { { t.str.ptr ? t.str.ptr : "", t.str.len }, 0 };
                if (nextra < 64) {
                    size_t nloc;
                    cadre_loc_seg *where = loc_steps(c->arena, l, &key, &nloc);
                    extra[nextra++] = (cadre_verror){ .type = "extra_forbidden", .loc = where,
                                                      .nloc = nloc,
                                                      .msg = "Extra inputs are not permitted",
                                                      .input = raw_since(c, vstart),
                                                      .input_is_json = true };
                }
            }
            continue;
        }
        size_t i = (size_t)(f - s->fields);
        uint64_t bit = (uint64_t)1 << i;
        if ((seen & bit) && to[i] > from[i]) {
            /* a repeated member: forget what the earlier one reported */
            size_t d = to[i] - from[i];
            cadre_verror *e = c->errs->items;
            memmove(e + from[i], e + to[i], (c->errs->len - to[i]) * sizeof *e);
            c->errs->len -= d;
            for (size_t j = 0; j < s->nfields; j++) {
                if (j != i && from[j] >= to[i]) {
                    from[j] -= d;
                    to[j] -= d;
                }
            }
        }
        *nulls &= ~bit;
        from[i] = c->errs->len;
        int rc = decode_value(c, f, &v, (char *)out + f->offset, nulls, i, l, f->name, 0);
        if (rc == CADRE_EPARSE)
            return rc;
        to[i] = c->errs->len;
        seen |= bit;
    }
    cadre_slice input = raw_since(c, obj_start);
    for (size_t i = 0; i < s->nfields; i++) {
        const cadre_field *f = &s->fields[i];
        if ((seen >> i) & 1)
            continue;
        from[i] = c->errs->len;
        if (f->has_default)
            apply_default(c, f, (char *)out + f->offset);
        else if (cadre_field_required(f)) /* not keys nor automatic timestamps: read-only */
            err(c, l, f->name, 0, "missing", "Field required", input, NULL);
        to[i] = c->errs->len;
    }
    *set_bits(s, out) = seen;
    size_t n = c->errs->len - before;
    if (n > 1) {
        /* field order */
        cadre_verror *tmp = cadre_arena_alloc(c->arena, n * sizeof *tmp);
        memcpy(tmp, c->errs->items + before, n * sizeof *tmp);
        size_t o = before;
        for (size_t i = 0; i < s->nfields; i++)
            for (size_t k = from[i]; k < to[i]; k++)
                c->errs->items[o++] = tmp[k - before];
    }
    for (size_t i = 0; i < nextra; i++)
        cadre_verrors_add(c->errs, &extra[i]);
    return c->errs->len == before ? 0 : CADRE_EINVAL;
}

int cadre_schema_decode_json(const cadre_schema *s, const char *json, size_t len, void *out,
                             cadre_arena *arena, const char *root, cadre_verrors *errs)
{
    cadre_json_reader rd;
    cadre_json_token t;
    memset(out, 0, s->size);
    cadre_json_reader_init(&rd, json, len, arena, 0);
    dctx c = { &rd, arena, errs, false, true };
    loc l = loc_root(root);
    int rc = cadre_json_next(&rd, &t);
    if (rc == 0 && t.type == CADRE_JSON_OBJECT) {
        rc = decode_object(&c, s, out, &l, t.offset);
    } else if (rc == 0) {
        size_t start = t.offset;
        rc = cadre_json_skip(&rd, &t);
        if (rc == 0) {
            cadre_verror *v = cadre_verrors_push(
                errs, "model_attributes_type",
                "Input should be a valid dictionary or object to extract fields from", root,
                (cadre_slice){ NULL, 0 }, -1);
            v->input = (cadre_slice){ json + start, (size_t)(rd.p - json) - start };
            v->input_is_json = true;
            rc = CADRE_EINVAL;
        }
    }
    if (rc != CADRE_EPARSE) {
        /* the whole text must be one JSON document */
        cadre_json_token end;
        if (cadre_json_next(&rd, &end) != 0)
            rc = CADRE_EPARSE;
    }
    if (rc == CADRE_EPARSE) {
        size_t at;
        const char *why = cadre_json_error(&rd, &at);
        errs->len = 0;
        /* FastAPI: {"type":"json_invalid","loc":["body",POS],"msg":"JSON decode error",...} */
        cadre_slice reason = json_quote(arena, cadre_slice_cstr(why ? why : "invalid JSON"));
        cadre_verror *v = cadre_verrors_push(errs, "json_invalid", "JSON decode error", root,
                                             (cadre_slice){ NULL, 0 }, (int64_t)at);
        v->input = (cadre_slice){ "{}", 2 };
        v->input_is_json = true;
        v->ctx = cadre_arena_printf(arena, "{\"error\":%.*s}", (int)reason.len, reason.ptr);
        return CADRE_EPARSE;
    }
    return rc;
}

static int decode_token(bool model, bool input_json, const cadre_field *f,
                        const cadre_json_token *t, cadre_slice input, void *out, cadre_arena *arena,
                        const char *root, cadre_verrors *errs)
{
    dctx c = { NULL, arena, errs, model, input_json };
    loc l = loc_root(root);
    size_t before = errs->len;
    store_scalar(&c, &l, f->name, 0, f, t, input, (char *)out + f->offset);
    return errs->len == before ? 0 : CADRE_EINVAL;
}

int cadre_schema_decode_token(const cadre_field *f, const cadre_json_token *t, cadre_slice input,
                              void *out, cadre_arena *arena, const char *root,
                              cadre_verrors *errs)
{
    /* not text (an uploaded file for a text field, say): no string, no NUL to refuse */
    return decode_token(false, true, f, t, input, out, arena, root, errs);
}

int cadre_schema_decode_text(const cadre_schema *s, const cadre_field *f, cadre_slice text, void *out,
                             cadre_arena *arena, const char *root, cadre_verrors *errs)
{
    cadre_json_token t = { .type = CADRE_JSON_STRING, .str = text };
    return decode_token(s && s->model, false, f, &t, text, out, arena, root, errs);
}

int cadre_schema_default(const cadre_schema *s, const cadre_field *f, void *out, cadre_arena *arena,
                         const char *root, cadre_slice input, cadre_verrors *errs)
{
    (void)s;
    dctx c = { NULL, arena, errs, false, true };
    if (f->has_default) {
        apply_default(&c, f, (char *)out + f->offset);
        return 0;
    }
    if (f->optional)
        return 0;
    loc l = loc_root(root);
    err(&c, &l, f->name, 0, "missing", "Field required", input, NULL);
    return CADRE_EINVAL;
}
