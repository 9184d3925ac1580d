/*
 * The automatic CRUD API: six typed routes per model whose handlers share one description (the
 * model, the database, a run-time "page" schema for lists), passed as the routes' data.
 */
#include "orm_internal.h"


#include <stdio.h>
#include <stdlib.h>
#include <string.h>



#define ID_FIELDS(F) F(int64, id)
CADRE_SCHEMA(cadre__crud_id, ID_FIELDS)

/* A list answer: {"count": N, "results": [rows]}; the schema is built per model at run time. */
struct page {
    int64_t count;
    cadre_rows results; /* same layout as an array(T) member */
    uint64_t cadre_set_, cadre_null_;
};

struct crud {
    const cadre_schema *model;
    const cadre_field *pk;
    cadre_db *db;
    cadre_schema page;
    cadre_field page_fields[2];
    char page_name[96], names[6][96], summaries[6][128];
};

#define DEFAULT_LIMIT 100
#define MAX_LIMIT 1000
#define MAX_IN_VALUES 1000 /* FIELD__in=a,b,…: each value is a bound parameter */

/* The filter lookups (FIELD__LOOKUP=value) and the field types each applies to: the same table
 * decides what a list accepts and what its OpenAPI operation documents. A field that is a list
 * or an object has none; isnull applies to every field. */
enum { LK_TEXT = 1, LK_ORDERED = 2, LK_EQUAL = 4 };
static const struct {
    const char *name, *doc;
    unsigned kinds;
} lookups[] = {
    { "exact", "equals the value", LK_TEXT | LK_ORDERED | LK_EQUAL },
    { "ne", "is not the value", LK_TEXT | LK_ORDERED | LK_EQUAL },
    { "lt", "is less than the value", LK_TEXT | LK_ORDERED },
    { "lte", "is at most the value", LK_TEXT | LK_ORDERED },
    { "gt", "is greater than the value", LK_TEXT | LK_ORDERED },
    { "gte", "is at least the value", LK_TEXT | LK_ORDERED },
    { "contains", "contains the value (case-sensitive)", LK_TEXT },
    { "icontains", "contains the value, in any case", LK_TEXT },
    { "startswith", "starts with the value", LK_TEXT },
    { "in", "is one of the values (comma-separated)", LK_TEXT | LK_ORDERED | LK_EQUAL },
    { "isnull", "is empty (true) or set (false)",
      LK_TEXT | LK_ORDERED | LK_EQUAL },
};

/* What lookups f takes (0: it cannot be filtered). */
static unsigned filter_kind(const cadre_field *f)
{
    switch (f->type) {
    case CADRE_T_STRING: return LK_TEXT;
    case CADRE_T_INT32:
    case CADRE_T_INT64:
    case CADRE_T_DOUBLE:
    case CADRE_T_DATE:
    case CADRE_T_DATETIME: return LK_ORDERED;
    case CADRE_T_BOOL:
    case CADRE_T_ENUM:
    case CADRE_T_UUID: return LK_EQUAL;
    default: return 0;
    }
}

/* The index of lookup name in lookups[] when it applies to f, else -1. */
static int lookup_for(const cadre_field *f, const char *name)
{
    for (size_t i = 0; i < sizeof lookups / sizeof *lookups; i++)
        if (strcmp(name, lookups[i].name) == 0)
            return lookups[i].kinds & filter_kind(f) ? (int)i : -1;
    return -1;
}

static const struct crud *crud_of(cadre_request *r)
{
    return r->route_data;
}


/* An error at [root, key], its input JSON text (json) or the client's text. */
static void add_error(cadre_verrors *errs, const char *root, cadre_slice key, const char *type,
                      const char *msg, cadre_slice input, bool json, const char *ctx)
{
    cadre_verror *v = cadre_verrors_push(errs, type, msg, root, key, -1);
    v->input = input;
    v->input_is_json = json;
    v->ctx = ctx;
}


/* Whether field i of row holds a value: present and not null. */
static bool has_value(const cadre_schema *m, const void *row, size_t i)
{
    uint64_t set = *(const uint64_t *)((const char *)row + m->set_offset);
    uint64_t null = *(const uint64_t *)((const char *)row + m->null_offset);
    return (set >> i & 1) && !(null >> i & 1);
}

/* Before writing row: a 422 naming each string field that holds a NUL, as the decoder answers
 * for a CADRE_MODEL; this catches a model declared with plain CADRE_SCHEMA, whose decoder let
 * it through. 0 when none does. */
static int nul_text(cadre_request *r, const struct crud *c, const void *row)
{
    const cadre_schema *m = c->model;
    cadre_verrors errs;
    cadre_verrors_init(&errs, r->arena);
    for (size_t i = 0; !m->model && i < m->nfields; i++) {
        const cadre_field *f = &m->fields[i];
        const cadre_slice *s = (const cadre_slice *)((const char *)row + f->offset);
        if (f->type != CADRE_T_STRING || !has_value(m, row, i) || !s->ptr ||
            !memchr(s->ptr, '\0', s->len))
            continue;
        add_error(&errs, "body", cadre_slice_cstr(f->name), "value_error",
                  "Value error, Null characters are not allowed.", *s, false, "{\"error\":{}}");
    }
    return errs.len ? cadre_respond_verrors(r, 422, &errs) : 0;
}

/* Maps a database error to an answer, the same on every engine (the database's own message, which
 * differs between engines and names their internals, is logged, not sent): 409 for a UNIQUE
 * violation, 422 for another constraint (a foreign key naming no row), each naming the field when
 * row is given; id is row's key (-1 for a new row), partial whether only its present fields were
 * written. Anything else is returned: 503 for a database
 * that is down, 500 otherwise. */
static int db_answer(cadre_request *r, const struct crud *c, int rc, const void *row, int64_t id,
                     bool partial)
{
    if (rc != CADRE_EEXIST && rc != CADRE_ESTATE)
        return rc;
    /* DEBUG: the client's answer says it, and a client repeating a conflict must not fill the
     * log (real failures, returned above, are logged as errors where they happen) */
    cadre_log(CADRE_LOG_DEBUG, "%s: %s", c->model->name, cadre_db_errmsg(c->db));
    if (row) {
        cadre_verrors errs;
        cadre_verrors_init(&errs, r->arena);
        if (cadre_model_conflicts(c->db, r->arena, c->model, row, id, partial, &errs) > 0)
            return cadre_respond_verrors(r, rc == CADRE_EEXIST ? 409 : 422, &errs);
    }
    return rc == CADRE_EEXIST ? cadre_error(r, 409, "A unique value is already taken")
                              : cadre_error(r, 422, "A constraint of the database refused the value");
}

static int answer_row(cadre_request *r, const struct crud *c, int64_t id, void *out, int status)
{
    bool found;
    int rc = cadre_model_get(c->db, r->arena, c->model, id, out, &found);
    if (rc)
        return db_answer(r, c, rc, NULL, -1, false);
    return found ? status : cadre_error(r, 404, "Not Found");
}

/* Whether the app has model access hooks (auth's permissions). */
static bool guarded(cadre_request *r, const struct crud *c)
{
    (void)c;
    return cadre__model_access_on(cadre_request_app(r));
}

/* Row id as r may see it, into row: the model-level check for action, the row found through the
 * access filter (one it hides is not found: 404, as one that is not there), then the row's own
 * check. Returns 0, an answer's status, or a negative CADRE_E*. */
static int row_for(cadre_request *r, const struct crud *c, int64_t id, const char *action,
                   void *row)
{
    int rc = cadre_model_check(r, c->model, action, NULL);
    if (rc)
        return rc;
    cadre_query q;
    cadre_q_init(&q, c->db, c->model, r->arena);
    rc = cadre_model_filter(r, c->model, &q);
    if (rc)
        return rc;
    cadre_q_filter(&q, c->pk->name, CADRE_PINT(id));
    bool found;
    rc = cadre_q_first(&q, row, &found);
    if (rc)
        return db_answer(r, c, rc, NULL, -1, false);
    if (!found)
        return cadre_error(r, 404, "Not Found");
    return cadre_model_check(r, c->model, action, row);
}

static int retrieve(cadre_request *r, const void *params, const void *body, void *out)
{
    (void)body;
    const struct crud *c = crud_of(r);
    int64_t id = ((const cadre__crud_id *)params)->id;
    if (!guarded(r, c))
        return answer_row(r, c, id, out, 200);
    int rc = row_for(r, c, id, "view", out);
    return rc ? rc : 200;
}

static int create(cadre_request *r, const void *params, const void *body, void *out)
{
    (void)params;
    const struct crud *c = crud_of(r);
    void *row = cadre_alloc(r, c->model->size);
    memcpy(row, body, c->model->size);
    int rc = nul_text(r, c, row);
    if (rc == 0)
        rc = cadre_model_check(r, c->model, "add", row);
    if (rc)
        return rc;
    rc = cadre_model_insert(c->db, r->arena, c->model, row);
    if (rc)
        return db_answer(r, c, rc, row, -1, false);
    return answer_row(r, c, *(int64_t *)((char *)row + c->pk->offset), out, 201);
}

static int update(cadre_request *r, const void *params, const void *body, void *out, bool partial)
{
    const struct crud *c = crud_of(r);
    int64_t id = ((const cadre__crud_id *)params)->id, changes = 0;
    void *row = cadre_alloc(r, c->model->size);
    memcpy(row, body, c->model->size);
    *(int64_t *)((char *)row + c->pk->offset) = id; /* the path names the row, not the body */
    *(uint64_t *)((char *)row + c->model->set_offset) &= ~((uint64_t)1 << (c->pk - c->model->fields));
    int rc = nul_text(r, c, row);
    if (rc == 0 && guarded(r, c)) {
        /* the row as it is, and as it would be: a change must not make a row its user could not
         * have (a note handed to another owner) */
        void *cur = cadre_alloc(r, c->model->size);
        rc = row_for(r, c, id, "change", cur);
        if (rc == 0) {
            if (partial)
                cadre_schema_overlay(c->model, cur, row);
            rc = cadre_model_check(r, c->model, "change", partial ? cur : row);
        }
    }
    if (rc)
        return rc;
    rc = cadre_model_update(c->db, r->arena, c->model, row, partial, &changes);
    if (rc)
        return db_answer(r, c, rc, row, id, partial);
    if (!changes)
        return cadre_error(r, 404, "Not Found");
    return answer_row(r, c, id, out, 200);
}

static int replace(cadre_request *r, const void *params, const void *body, void *out)
{
    return update(r, params, body, out, false);
}

static int patch(cadre_request *r, const void *params, const void *body, void *out)
{
    return update(r, params, body, out, true);
}

static int destroy(cadre_request *r, const void *params, const void *body, void *out)
{
    (void)body, (void)out;
    const struct crud *c = crud_of(r);
    int64_t changes = 0;
    int64_t id = ((const cadre__crud_id *)params)->id;
    int rc = guarded(r, c) ? row_for(r, c, id, "delete", cadre_alloc(r, c->model->size)) : 0;
    if (rc)
        return rc;
    rc = cadre_model_delete(c->db, c->model, id, &changes);
    if (rc == CADRE_ESTATE) { /* still referenced (ON DELETE PROTECT): a conflict (DEBUG: as
                               * db_answer's, the client's 409 says it) */
        cadre_log(CADRE_LOG_DEBUG, "%s %lld: %s", c->model->name, (long long)id,
                  cadre_db_errmsg(c->db));
        return cadre_error(r, 409, cadre_arena_printf(r->arena, "This %s is still referenced by other "
                                                                "rows (protected from deletion)",
                                                      c->model->name));
    }
    if (rc)
        return db_answer(r, c, rc, NULL, -1, false);
    return changes ? cadre_respond(r, 204, NULL, NULL, 0) : cadre_error(r, 404, "Not Found");
}

/* FIELD__in=a,b,c: each value read as the field's type (loose: constraints are for input rows);
 * an empty list matches nothing. The first bad value is the parameter's one error. */
static void filter_in(cadre_request *r, const cadre_schema *m, const cadre_field *loose,
                      const char *path, cadre_slice val, cadre_query *q, cadre_verrors *errs,
                      cadre_slice name)
{
    size_t cap = val.len ? 1 : 0;
    for (size_t i = 0; i < val.len; i++)
        cap += val.ptr[i] == ',';
    if (cap > MAX_IN_VALUES) {
        const char *msg = cadre_arena_printf(
            r->arena, "List should have at most %d items after validation, not %zu", MAX_IN_VALUES,
            cap);
        const char *ctx = cadre_arena_printf(
            r->arena, "{\"field_type\":\"List\",\"max_length\":%d,\"actual_length\":%zu}",
            MAX_IN_VALUES, cap);
        add_error(errs, "query", name, "too_long", msg, (cadre_slice){ "null", 4 }, true, ctx);
        return;
    }
    cadre_value *vals = cadre_arena_alloc(r->arena, (cap ? cap : 1) * sizeof *vals);
    size_t n = 0, before = errs->len;
    const char *p = val.ptr, *end = val.ptr + val.len;
    while (n < cap && errs->len == before) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *e = comma ? comma : end;
        void *tmp = cadre_arena_calloc(r->arena, m->size);
        cadre_schema_decode_text(m, loose, (cadre_slice){ p, (size_t)(e - p) }, tmp, r->arena,
                                 "query", errs);
        vals[n++] = cadre__model_value(m, loose, tmp, r->arena);
        p = e + 1;
    }
    if (errs->len == before)
        cadre_q_filter_in(q, path, vals, n);
}

/*
 * One query-string parameter of a list request: a filter, or ordering / limit / offset. The name
 * is the client's (URL-decoded: any bytes): it reaches the answer only through the JSON writer,
 * and it is compared whole, so "limit%00x" is not limit.
 */
static int list_param(cadre_request *r, const struct crud *c, cadre_query *q, cadre_slice key,
                      cadre_slice val, int64_t *limit, int64_t *offset, cadre_verrors *errs)
{
    const cadre_schema *m = c->model;
    char *k = cadre_arena_strndup(r->arena, key.ptr ? key.ptr : "", key.len);
    bool has_nul = strlen(k) != key.len; /* then no name below can match */
    cadre_slice name = { k, key.len }; /* the parameter's, for its errors */
    if (!has_nul && (strcmp(k, "limit") == 0 || strcmp(k, "offset") == 0)) {
        /* read as FastAPI reads `limit: int = Query(ge=0)`, with Pydantic's errors echoing the
         * input: int_parsing, greater_than_equal, less_than_equal past int64 */
        cadre_field nf = { .name = k, .type = CADRE_T_INT64, .has_ge = 1, .ge = 0 };
        int64_t n = 0;
        if (cadre_schema_decode_text(m, &nf, val, &n, r->arena, "query", errs) == 0)
            *(k[0] == 'l' ? limit : offset) = n;
        return 0;
    }
    if (!has_nul && strcmp(k, "ordering") == 0) {
        const char *p = val.ptr, *end = val.ptr + val.len;
        while (p < end) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *e = comma ? comma : end;
            bool desc = *p == '-';
            const cadre_field *hops[CADRE_Q_MAX_HOPS];
            size_t nhops, used, flen = (size_t)(e - p - desc);
            const cadre_field *of = cadre_model_path(m, p + desc, flen, hops, &nhops, &used);
            if (!of || used != flen) { /* a field, or one across foreign keys: author__name */
                add_error(errs, "query", name, "value_error",
                                  cadre_arena_printf(r->arena, "%s has no field %.*s to order by",
                                                     m->name, (int)(e - p - desc), p + desc), val, false, NULL);
                return 0;
            }
            cadre_q_order_by(q, cadre_arena_strndup(r->arena, p, (size_t)(e - p)));
            p = e + 1;
        }
        return 0;
    }
    /* a filter: FIELD or FIELD__LOOKUP, also across foreign keys (author__name__icontains),
     * its value read as the (last) field's type */
    const cadre_field *hops[CADRE_Q_MAX_HOPS];
    size_t nhops, flen = 0;
    const cadre_field *f = has_nul ? NULL : cadre_model_path(m, k, key.len, hops, &nhops, &flen);
    char *sep = f && flen < key.len ? k + flen : NULL;
    if (sep && strncmp(sep, "__", 2) != 0)
        f = NULL;
    if (!f)
        flen = (size_t)((sep = strstr(k, "__")) ? sep - k : (ptrdiff_t)key.len);
    if (has_nul || !f || !filter_kind(f) || (sep && lookup_for(f, sep + 2) < 0)) {
        const char *msg;
        if (!has_nul && f && filter_kind(f) && sep) {
            /* the lookups it does take, which is what the client needs to know */
            const char *takes = "";
            for (size_t i = 0; i < sizeof lookups / sizeof *lookups; i++)
                if (lookups[i].kinds & filter_kind(f))
                    takes = cadre_arena_printf(r->arena, "%s%s%s", takes, *takes ? ", " : "",
                                               lookups[i].name);
            msg = cadre_arena_printf(r->arena, "unknown filter: %s.%.*s has no lookup %s (it "
                                               "takes %s)", m->name, (int)flen, k, sep + 2, takes);
        } else {
            msg = cadre_arena_printf(r->arena, "unknown filter: %s has no field %.*s to filter by",
                                     m->name, (int)flen, k);
        }
        add_error(errs, "query", name, "value_error", msg, val, false, NULL);
        return 0;
    }
    if (val.len && memchr(val.ptr, '\0', val.len)) {
        /* a NUL would end the pattern or value where the database reads it as a C string (a
         * LIKE pattern "%a\0zzz%" matching as "%a"): refused, in DRF's words and the shape of a
         * Pydantic validator's ValueError, whatever the field's type */
        add_error(errs, "query", name, "value_error", "Value error, Null characters are not allowed.",
                  val, false, "{\"error\":{}}");
        return 0;
    }
    if (sep && strcmp(sep + 2, "isnull") == 0) {
        /* django-filter's BooleanWidget: true/false/1/0, any case; anything else is an error
         * (there: no filter at all; Django's ORM refuses a non-boolean isnull) */
        bool yes = cadre_slice_ieq_cstr(val, "true") || cadre_slice_eq_cstr(val, "1");
        if (!yes && !cadre_slice_ieq_cstr(val, "false") && !cadre_slice_eq_cstr(val, "0")) {
            add_error(errs, "query", name, "bool_parsing",
                              "Input should be a valid boolean, unable to interpret input", val, false, NULL);
            return 0;
        }
        cadre_q_filter(q, k, CADRE_PINT(yes));
        return 0;
    }
    /* constraints (min length, ranges) are for input rows, not for filter values; the value is
     * read as a member of the field's own model (the related one, across foreign keys) */
    const cadre_schema *owner = nhops ? hops[nhops - 1]->fk() : m;
    cadre_field loose = { .name = k, .type = f->type, .offset = f->offset, .en = f->en };
    if (sep && strcmp(sep + 2, "in") == 0) {
        filter_in(r, owner, &loose, cadre_arena_strndup(r->arena, k, flen), val, q, errs, name);
        return 0;
    }
    void *tmp = cadre_arena_calloc(r->arena, owner->size);
    size_t before = errs->len;
    cadre_schema_decode_text(owner, &loose, val, tmp, r->arena, "query", errs);
    if (errs->len == before)
        cadre_q_filter(q, k, cadre__model_value(owner, &loose, tmp, r->arena));
    return 0;
}

static int list(cadre_request *r, const void *params, const void *body, void *out)
{
    (void)params, (void)body;
    const struct crud *c = crud_of(r);
    cadre_query q;
    cadre_q_init(&q, c->db, c->model, r->arena);
    int rc = cadre_model_check(r, c->model, "view", NULL);
    if (rc == 0)
        rc = cadre_model_filter(r, c->model, &q);
    if (rc)
        return rc;
    cadre_verrors errs;
    cadre_verrors_init(&errs, r->arena);
    int64_t limit = DEFAULT_LIMIT, offset = 0;
    cadre_slice qs = r->head.query;
    const char *p = qs.ptr, *end = qs.ptr ? qs.ptr + qs.len : NULL;
    while (p && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pe = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pe - p));
        const char *ke = eq ? eq : pe;
        if (ke > p) {
            char *key = cadre_alloc(r, (size_t)(ke - p) + 1);
            long kl = cadre_url_decode(key, p, (size_t)(ke - p), true);
            const char *vs = eq ? eq + 1 : pe;
            char *val = cadre_alloc(r, (size_t)(pe - vs) + 1);
            long vl = cadre_url_decode(val, vs, (size_t)(pe - vs), true);
            if (kl >= 0 && vl >= 0) {
                val[vl] = '\0';
                list_param(r, c, &q, (cadre_slice){ key, (size_t)kl }, (cadre_slice){ val, (size_t)vl },
                           &limit, &offset, &errs);
            }
        }
        p = pe + 1;
    }
    if (errs.len)
        return cadre_respond_verrors(r, 422, &errs);
    struct page *pg = out;
    rc = cadre_q_count(&q, &pg->count);
    if (rc == 0) {
        cadre_q_order_by(&q, c->pk->name); /* a stable order under the caller's */
        cadre_q_limit(&q, limit > MAX_LIMIT ? MAX_LIMIT : limit);
        cadre_q_offset(&q, offset);
        rc = cadre_q_fetch(&q, &pg->results);
    }
    return rc ? db_answer(r, c, rc, NULL, -1, false) : 200;
}

/* One query parameter of the list's OpenAPI operation. */
static void doc_param(cadre_json_writer *w, const char *name, const cadre_field *schema_of,
                      const char *type, const char *description)
{
    cadre_json_begin_object(w);
    cadre_json_key(w, "name", 4), cadre_json_string(w, name, strlen(name));
    cadre_json_key(w, "in", 2), cadre_json_string(w, "query", 5);
    cadre_json_key(w, "required", 8), cadre_json_bool(w, false);
    cadre_json_key(w, "schema", 6);
    if (schema_of) {
        cadre_schema_write_field_schema(schema_of, w, true);
    } else {
        cadre_json_begin_object(w);
        cadre_json_key(w, "type", 4), cadre_json_string(w, type, strlen(type));
        if (strcmp(type, "integer") == 0)
            cadre_json_key(w, "minimum", 7), cadre_json_int(w, 0);
        cadre_json_end_object(w);
    }
    cadre_json_key(w, "description", 11), cadre_json_string(w, description, strlen(description));
    cadre_json_end_object(w);
}

/* The list's query parameters in OpenAPI: limit, offset, ordering, and each field's filters
 * (FIELD and FIELD__LOOKUP, from the table list_param reads with). */
static void list_doc_params(const cadre_route_spec *spec, cadre_json_writer *w)
{
    const struct crud *c = spec->data;
    const cadre_schema *m = c->model;
    char name[160], text[320];
    snprintf(text, sizeof text, "At most this many rows (default %d; more than %d gives %d).",
             DEFAULT_LIMIT, MAX_LIMIT, MAX_LIMIT);
    doc_param(w, "limit", NULL, "integer", text);
    doc_param(w, "offset", NULL, "integer", "Rows to skip before the first returned (default 0).");
    size_t n = (size_t)snprintf(text, sizeof text, "Fields to order by, comma-separated; a leading "
                                                   "- for descending. One of:");
    for (size_t i = 0; i < m->nfields && n < sizeof text; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s %s", i ? "," : "", m->fields[i].name);
    doc_param(w, "ordering", NULL, "string", text);
    for (size_t i = 0; i < m->nfields; i++) {
        const cadre_field *f = &m->fields[i];
        unsigned kind = filter_kind(f);
        if (!kind)
            continue;
        /* the value's type, without the constraints that are for input rows */
        cadre_field loose = { .name = f->name, .type = f->type, .en = f->en };
        /* FIELD alone is FIELD__exact */
        snprintf(text, sizeof text, "Rows whose %s equals the value (also %s__exact).", f->name,
                 f->name);
        doc_param(w, f->name, &loose, NULL, text);
        for (size_t k = 0; k < sizeof lookups / sizeof *lookups; k++) {
            if (!(lookups[k].kinds & kind) || strcmp(lookups[k].name, "exact") == 0)
                continue;
            snprintf(name, sizeof name, "%s__%s", f->name, lookups[k].name);
            snprintf(text, sizeof text, "Rows whose %s %s.", f->name, lookups[k].doc);
            bool in = strcmp(lookups[k].name, "in") == 0;
            bool isnull = strcmp(lookups[k].name, "isnull") == 0;
            doc_param(w, name, in || isnull ? NULL : &loose, isnull ? "boolean" : "string", text);
        }
    }
}

int cadre__crud(cadre_app *app, const char *prefix, const cadre_schema *model, cadre_db *db,
                const char *file, int line)
{
    const cadre_field *pk = cadre_model_pk(model);
    if (!pk || pk->type != CADRE_T_INT64) {
        cadre_app_config_error(app, file, line, "cadre_crud %s: model %s needs an int64 CADRE_PRIMARY_KEY",
                         prefix, model->name);
        return CADRE_EINVAL;
    }
    struct crud *c = cadre_app_own(app, calloc(1, sizeof *c));
    char *item = cadre_app_own(app, malloc(strlen(prefix) + 6));
    if (!c || !item) {
        cadre_app_config_error(app, file, line, "cadre_crud %s: out of memory", prefix);
        return CADRE_ENOMEM;
    }
    snprintf(item, strlen(prefix) + 6, "%s/{id}", prefix);
    c->model = model;
    c->pk = pk;
    c->db = db;
    snprintf(c->page_name, sizeof c->page_name, "%sPage", model->name);
    c->page_fields[0] = (cadre_field){ .name = "count", .type = CADRE_T_INT64,
                                       .offset = offsetof(struct page, count) };
    c->page_fields[1] = (cadre_field){ .name = "results", .type = CADRE_T_ARRAY,
                                       .offset = offsetof(struct page, results),
                                       .sub_schema = model, .elem_size = model->size };
    c->page = (cadre_schema){ c->page_name, sizeof(struct page), c->page_fields, 2,
                              offsetof(struct page, cadre_set_), offsetof(struct page, cadre_null_),
                              false, false };
    static const char *const verbs[] = { "list", "create", "read", "replace", "update", "delete" };
    static const char *const words[] = { "List", "Create", "Read", "Replace", "Update", "Delete" };
    for (int i = 0; i < 6; i++) {
        snprintf(c->names[i], sizeof c->names[i], "%s_%s", verbs[i], model->name);
        snprintf(c->summaries[i], sizeof c->summaries[i], "%s %s", words[i], model->name);
    }
    const cadre_schema *none = cadre_none__schema(), *id = CADRE_SCHEMA_OF(cadre__crud_id);
    struct {
        const char *method, *path;
        cadre_typed_handler h;
        const cadre_schema *params, *body, *response;
        int status;
        bool partial;
    } routes[] = {
        { "GET", prefix, list, none, none, &c->page, 200, false },
        { "POST", prefix, create, none, model, model, 201, false },
        { "GET", item, retrieve, id, none, model, 200, false },
        { "PUT", item, replace, id, model, model, 200, false },
        { "PATCH", item, patch, id, model, model, 200, true },
        { "DELETE", item, destroy, id, none, none, 204, false },
    };
    int rc = 0;
    for (int i = 0; i < 6 && rc == 0; i++) {
        cadre_route_spec spec = {
            .method = routes[i].method, .path = routes[i].path, .handler = routes[i].h,
            .params = routes[i].params, .body = routes[i].body, .response = routes[i].response,
            .status = routes[i].status, .summary = c->summaries[i], .tags = model->name,
            .partial_body = routes[i].partial, .data = c, .handler_name = c->names[i],
            .doc_params = routes[i].h == list ? list_doc_params : NULL,
            .forbids = true, /* the model's permissions, when auth is on */
            .file = file, .line = line,
        };
        rc = cadre__route_typed(app, &spec);
    }
    return rc;
}
