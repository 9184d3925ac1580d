/*
 * The query builder. Field names are looked up in the model's descriptor and written into the SQL
 * from there (never from the caller's string), values are always bound, LIKE/GLOB patterns are
 * escaped: nothing a request sends can change the statement's shape. Columns in conditions and
 * orderings are qualified with the model's table, so that they stay unambiguous when
 * select_related joins other tables (aliased cadre__r0, cadre__r1…; their columns come back as
 * r0__name… and are split into the related structs after the query).
 */
#include "orm_internal.h"

#include <cadre/schema.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cadre_q_init(cadre_query *q, cadre_db *db, const cadre_schema *model, cadre_arena *arena)
{
    memset(q, 0, sizeof *q);
    q->db = db;
    q->model = model;
    q->arena = arena;
    cadre_buf_init_arena(&q->where, arena, (size_t)1 << 20);
    cadre_buf_init_arena(&q->order, arena, (size_t)1 << 16);
    q->limit = q->offset = -1;
    q->pg = strcmp(cadre_db_engine(db), "postgresql") == 0;
}

static void misuse(cadre_query *q, const char *what, const char *name)
{
    if (!q->error)
        cadre_log(CADRE_LOG_ERROR, "query on %s: %s \"%s\"", q->model->name, what, name);
    q->error = CADRE_EINVAL;
}

static void bind(cadre_query *q, cadre_value v)
{
    *CADRE_VEC_PUSH(&q->params, q->arena, 0) = v; /* never NULL: an arena's, no maximum */
}

/* Starts a condition: the connective before it. */
static void connective(cadre_query *q)
{
    if (q->in_or) {
        cadre_buf_append_str(&q->where, q->or_empty ? (q->where.len ? " AND (" : "(") : " OR ");
        q->or_empty = false;
    } else if (q->where.len) {
        cadre_buf_append_str(&q->where, " AND ");
    }
}

/* A pattern value: the text escaped for LIKE ('\\' escape) or GLOB, wrapped in wildcards. */
static cadre_value pattern(cadre_query *q, cadre_slice s, bool glob, bool lead, bool lower)
{
    char *p = cadre_arena_alloc(q->arena, 3 * s.len + 3), *o = p;
    const char *any = glob ? "*" : "%";
    if (lead)
        *o++ = *any;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (lower && c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (glob && (c == '*' || c == '?' || c == '[')) {
            *o++ = '[';
            *o++ = c;
            *o++ = ']';
        } else if (!glob && (c == '%' || c == '_' || c == '\\')) {
            *o++ = '\\';
            *o++ = c;
        } else {
            *o++ = c;
        }
    }
    *o++ = *any;
    return (cadre_value){ .type = CADRE_V_TEXT, .s = { p, (size_t)(o - p) } };
}

static const cadre_field *field(cadre_query *q, const char *name, size_t len)
{
    const cadre_field *f = cadre_schema_field(q->model, name, len);
    if (!f) {
        char tmp[128];
        snprintf(tmp, sizeof tmp, "%.*s", (int)len, name);
        misuse(q, "unknown field", tmp);
    }
    return f;
}

/*
 * Rewrites a text value for a date, datetime or UUID field in the form cadre_model_insert stores
 * (datetimes: UTC, six fractional digits, see cadre_datetime_format_utc), so that comparing it
 * with stored text compares the values: "…T16:08:26+05:00" is converted to UTC, "…T16:08:26Z"
 * and "…T16:08:26.000Z" become one text. False, v untouched, when it is not text of that type.
 */
static bool stored_form(cadre_query *q, const cadre_field *f, cadre_value *v)
{
    if (v->type != CADRE_V_TEXT || !v->s.ptr ||
        (f->type != CADRE_T_DATE && f->type != CADRE_T_DATETIME && f->type != CADRE_T_UUID))
        return false;
    char *buf = cadre_arena_alloc(q->arena, CADRE_DATETIME_TEXT); /* the longest of the three */
    size_t len;
    if (f->type == CADRE_T_DATE) {
        cadre_date d;
        if (cadre_date_parse(v->s, &d))
            return false;
        len = cadre_date_format(&d, buf);
    } else if (f->type == CADRE_T_DATETIME) {
        cadre_datetime t;
        if (cadre_datetime_parse(v->s, &t))
            return false;
        len = cadre_datetime_format_utc(&t, buf);
    } else {
        cadre_uuid u;
        if (cadre_uuid_parse(v->s, &u))
            return false;
        len = cadre_uuid_format(&u, buf);
    }
    *v = CADRE_PSLICE(((cadre_slice){ buf, len }));
    return true;
}

/* "table.column": unambiguous once other tables are joined */
static const char *qualified(cadre_query *q, const cadre_field *f)
{
    return cadre_arena_printf(q->arena, "%s.%s", q->model->name, f->name);
}

/* Whether foreign key f can be crossed: its model has a primary key to join on. */
static bool crossable(const cadre_field *f)
{
    return f->fk && cadre_model_pk(f->fk());
}

/* The foreign key of m that a path step names: "author" (Django's name for the relation) or
 * "author_id" (the field), when it is a foreign key that can be crossed; NULL otherwise. */
static const cadre_field *hop_field(const cadre_schema *m, const char *step, size_t len)
{
    const cadre_field *f = cadre_schema_field(m, step, len);
    if (f && crossable(f))
        return f;
    for (size_t i = 0; i < m->nfields; i++) {
        const char *n = m->fields[i].name;
        if (crossable(&m->fields[i]) && strlen(n) == len + 3 && strncmp(n, step, len) == 0 &&
            strcmp(n + len, "_id") == 0)
            return &m->fields[i];
    }
    return NULL;
}

const cadre_field *cadre_model_path(const cadre_schema *m, const char *path, size_t len,
                                    const cadre_field **hops, size_t *nhops, size_t *used)
{
    size_t n = 0, at = 0;
    for (;;) {
        const char *step = path + at;
        const char *sep = memmem(step, len - at, "__", 2);
        size_t slen = sep ? (size_t)(sep - step) : len - at;
        if (sep) { /* a hop when the step is a foreign key and the next step a field beyond it */
            const cadre_field *fk = hop_field(m, step, slen);
            const char *next = sep + 2;
            const char *after = memmem(next, len - (size_t)(next - path), "__", 2);
            size_t nlen = after ? (size_t)(after - next) : len - (size_t)(next - path);
            const cadre_schema *t = fk ? fk->fk() : NULL;
            if (t && (cadre_schema_field(t, next, nlen) || hop_field(t, next, nlen))) {
                if (n == CADRE_Q_MAX_HOPS)
                    return NULL;
                hops[n++] = fk;
                m = t;
                at = (size_t)(next - path);
                continue;
            }
        }
        const cadre_field *f = cadre_schema_field(m, step, slen);
        if (!f)
            return NULL;
        *nhops = n;
        *used = at + slen;
        return f;
    }
}

/* Opens a condition on field f at the end of hops: for each hop, the key among the keys of the
 * related rows that match what follows (each related table aliased, so that a key to the model's
 * own table stays unambiguous). Returns the column to compare; close_hops ends it. */
static const char *open_hops(cadre_query *q, const cadre_field *const *hops, size_t nhops,
                             const cadre_field *f)
{
    const char *owner = q->model->name;
    for (size_t k = 0; k < nhops; k++) {
        const cadre_schema *t = hops[k]->fk();
        cadre_buf_appendf(&q->where, "%s.%s IN (SELECT cadre__h%zu.%s FROM %s AS cadre__h%zu WHERE ",
                          owner, hops[k]->name, k, cadre_model_pk(t)->name, t->name, k);
        owner = cadre_arena_printf(q->arena, "cadre__h%zu", k);
    }
    return cadre_arena_printf(q->arena, "%s.%s", owner, f->name);
}

static void close_hops(cadre_query *q, size_t nhops)
{
    for (size_t k = 0; k < nhops; k++)
        cadre_buf_append_str(&q->where, ")");
}

static void condition(cadre_query *q, const char *lookup, cadre_value v, bool negate)
{
    /* FIELD, FIELD__op, or a path across foreign keys: author__name__icontains */
    const cadre_field *hops[CADRE_Q_MAX_HOPS];
    size_t nhops, used, len = strlen(lookup);
    const cadre_field *f = cadre_model_path(q->model, lookup, len, hops, &nhops, &used);
    if (!f) {
        misuse(q, "unknown field", lookup);
        return;
    }
    const char *op = used == len ? "exact" : lookup + used + 2;
    if (used < len && strncmp(lookup + used, "__", 2) != 0) {
        misuse(q, "unknown field", lookup);
        return;
    }
    cadre_buf *w = &q->where;
    connective(q);
    if (negate)
        cadre_buf_append_str(w, "NOT (");
    const char *col = open_hops(q, hops, nhops, f);
    bool compare = strcmp(op, "exact") == 0 || strcmp(op, "ne") == 0 || strcmp(op, "lt") == 0 ||
                   strcmp(op, "lte") == 0 || strcmp(op, "gt") == 0 || strcmp(op, "gte") == 0;
    if (compare) /* text that is not of the field's type is compared as it is */
        stored_form(q, f, &v);
    if (strcmp(op, "exact") == 0 || strcmp(op, "ne") == 0) {
        bool ne = op[0] == 'n';
        if (v.type == CADRE_V_NULL) {
            cadre_buf_appendf(w, "%s IS %sNULL", col, ne ? "NOT " : "");
        } else {
            cadre_buf_appendf(w, "%s %s ?", col, ne ? "<>" : "=");
            bind(q, v);
        }
    } else if (strcmp(op, "lt") == 0 || strcmp(op, "lte") == 0 || strcmp(op, "gt") == 0 ||
               strcmp(op, "gte") == 0) {
        cadre_buf_appendf(w, "%s %s%s ?", col, op[0] == 'l' ? "<" : ">", op[2] == 'e' ? "=" : "");
        bind(q, v);
    } else if (strcmp(op, "isnull") == 0) {
        cadre_buf_appendf(w, "%s IS %sNULL", col, v.type == CADRE_V_INT && v.i == 0 ? "NOT " : "");
    } else if (strcmp(op, "contains") == 0 || strcmp(op, "startswith") == 0 ||
               strcmp(op, "icontains") == 0) {
        cadre_slice text = v.type == CADRE_V_TEXT && v.s.ptr ? v.s : (cadre_slice){ "", 0 };
        bool starts = op[0] == 's', ci = op[0] == 'i';
        if (ci) {
            /* PostgreSQL: ILIKE; SQLite: lower() on both sides (ASCII) */
            cadre_buf_appendf(w, q->pg ? "%s ILIKE ? ESCAPE '\\'" : "lower(%s) LIKE ? ESCAPE '\\'",
                              col);
            bind(q, pattern(q, text, false, true, !q->pg));
        } else if (q->pg) {
            cadre_buf_appendf(w, "%s LIKE ? ESCAPE '\\'", col); /* case-sensitive in PostgreSQL */
            bind(q, pattern(q, text, false, !starts, false));
        } else {
            cadre_buf_appendf(w, "%s GLOB ?", col); /* SQLite's LIKE ignores case; GLOB does not */
            bind(q, pattern(q, text, true, !starts, false));
        }
    } else {
        misuse(q, "unknown lookup", lookup);
    }
    close_hops(q, nhops);
    if (negate)
        cadre_buf_append_str(w, ")");
}

void cadre_q_filter(cadre_query *q, const char *lookup, cadre_value v)
{
    condition(q, lookup, v, false);
}

void cadre_q_exclude(cadre_query *q, const char *lookup, cadre_value v)
{
    condition(q, lookup, v, true);
}

void cadre_q_filter_in(cadre_query *q, const char *name, const cadre_value *values, size_t n)
{
    const cadre_field *hops[CADRE_Q_MAX_HOPS];
    size_t nhops, used, len = strlen(name);
    const cadre_field *f = cadre_model_path(q->model, name, len, hops, &nhops, &used);
    if (!f || used != len) {
        misuse(q, "unknown field", name);
        return;
    }
    connective(q);
    if (n == 0) {
        cadre_buf_append_str(&q->where, "1 = 0");
        return;
    }
    cadre_buf_appendf(&q->where, "%s IN (", open_hops(q, hops, nhops, f));
    for (size_t i = 0; i < n; i++) {
        cadre_value v = values[i];
        stored_form(q, f, &v);
        cadre_buf_append_str(&q->where, i ? ", ?" : "?");
        bind(q, v);
    }
    cadre_buf_append_str(&q->where, ")");
    close_hops(q, nhops);
}

void cadre_q_or_begin(cadre_query *q)
{
    if (q->in_or)
        misuse(q, "nested or-group", "cadre_q_or_begin");
    q->in_or = true;
    q->or_empty = true;
}

void cadre_q_or_end(cadre_query *q)
{
    if (!q->in_or)
        misuse(q, "or-group not begun", "cadre_q_or_end");
    else if (!q->or_empty)
        cadre_buf_append_str(&q->where, ")");
    q->in_or = false;
}

void cadre_q_order_by(cadre_query *q, const char *name)
{
    bool desc = name[0] == '-';
    const cadre_field *hops[CADRE_Q_MAX_HOPS];
    size_t nhops, used, len = strlen(name + desc);
    const cadre_field *f = cadre_model_path(q->model, name + desc, len, hops, &nhops, &used);
    if (!f || used != len) {
        misuse(q, "unknown field", name + desc);
        return;
    }
    cadre_buf *o = &q->order;
    if (o->len)
        cadre_buf_append_str(o, ", ");
    /* across foreign keys: the related row's value, one scalar subquery per hop (aliased as
     * the conditions' are) */
    for (size_t k = 0; k < nhops; k++)
        cadre_buf_append_str(o, "(SELECT ");
    if (nhops)
        cadre_buf_appendf(o, "cadre__h%zu.%s", nhops - 1, f->name);
    else
        cadre_buf_append_str(o, qualified(q, f));
    for (size_t k = nhops; k-- > 0;) {
        const cadre_schema *t = hops[k]->fk();
        const char *from = k ? cadre_arena_printf(q->arena, "cadre__h%zu", k - 1) : q->model->name;
        cadre_buf_appendf(o, " FROM %s AS cadre__h%zu WHERE cadre__h%zu.%s = %s.%s)", t->name, k, k,
                          cadre_model_pk(t)->name, from, hops[k]->name);
    }
    if (desc)
        cadre_buf_append_str(o, " DESC");
}

void cadre_q_limit(cadre_query *q, int64_t n)
{
    q->limit = n;
}

void cadre_q_offset(cadre_query *q, int64_t n)
{
    q->offset = n;
}

void cadre_q_select_related(cadre_query *q, const char *fk_field, cadre_rows *related)
{
    *related = (cadre_rows){ 0 };
    const cadre_field *f = field(q, fk_field, strlen(fk_field));
    if (!f)
        return;
    if (!f->fk) {
        misuse(q, "select_related of a field that is not a foreign key", fk_field);
        return;
    }
    const cadre_schema *t = f->fk();
    if (!cadre_model_pk(t)) {
        misuse(q, "select_related to a model without a primary key", fk_field);
        return;
    }
    size_t nfields = q->model->nfields + t->nfields;
    for (size_t k = 0; k < q->nrelated; k++)
        nfields += q->related[k].target->nfields;
    if (q->nrelated == CADRE_Q_MAX_RELATED || nfields > 64) {
        misuse(q, q->nrelated == CADRE_Q_MAX_RELATED ? "select_related: too many joins"
                                                     : "select_related: more than 64 fields in all",
               fk_field);
        return;
    }
    q->related[q->nrelated].fk = f;
    q->related[q->nrelated].target = t;
    q->related[q->nrelated].out = related;
    q->nrelated++;
}

/* Whether v suits field f (see cadre_q_set); dates, datetimes and UUIDs are rewritten in the
 * form cadre_model_insert stores. */
static bool fits(cadre_query *q, const cadre_field *f, cadre_value *v)
{
    if (v->type == CADRE_V_NULL)
        return f->nullable || f->optional;
    switch (f->type) {
    case CADRE_T_BOOL: return v->type == CADRE_V_INT && (v->i == 0 || v->i == 1);
    case CADRE_T_INT32: return v->type == CADRE_V_INT && v->i >= INT32_MIN && v->i <= INT32_MAX;
    case CADRE_T_INT64: return v->type == CADRE_V_INT;
    case CADRE_T_DOUBLE: return v->type == CADRE_V_INT || v->type == CADRE_V_DOUBLE;
    case CADRE_T_STRING: return v->type == CADRE_V_TEXT;
    default: break;
    }
    if (v->type != CADRE_V_TEXT || !v->s.ptr)
        return false;
    if (f->type == CADRE_T_ENUM) {
        const cadre_enum *en = f->en();
        for (size_t i = 0; i < en->count; i++)
            if (cadre_slice_eq_cstr(v->s, en->values[i]))
                return true;
        return false;
    }
    return stored_form(q, f, v);
}

void cadre_q_set(cadre_query *q, const char *name, cadre_value v)
{
    const cadre_field *f = field(q, name, strlen(name));
    if (!f)
        return;
    if (f->primary_key) {
        misuse(q, "cannot update the primary key", name);
        return;
    }
    if (!cadre_model_field_is_column(f) || !fits(q, f, &v)) {
        misuse(q, !cadre_model_field_is_column(f) ? "no column to update" : "value does not suit field", name);
        return;
    }
    if (!q->set_values)
        q->set_values = cadre_arena_calloc(q->arena, q->model->nfields * sizeof *q->set_values);
    size_t i = (size_t)(f - q->model->fields);
    q->set_values[i] = v;
    q->set_mask |= (uint64_t)1 << i;
}

/* head ("SELECT … FROM model …", "DELETE FROM model", "UPDATE model SET …") plus WHERE and, for
 * row queries, ORDER BY / LIMIT / OFFSET. */
static const char *build(cadre_query *q, const char *head, bool rows)
{
    if (q->in_or)
        misuse(q, "or-group not ended", "cadre_q_or_end");
    if (q->error)
        return NULL;
    cadre_buf b;
    cadre_buf_init_arena(&b, q->arena, (size_t)1 << 21);
    int rc = cadre_buf_append_str(&b, head);
    if (rc == 0 && q->where.len)
        rc = cadre_buf_appendf(&b, " WHERE %.*s", (int)q->where.len, q->where.data);
    if (rc == 0 && rows && q->order.len)
        rc = cadre_buf_appendf(&b, " ORDER BY %.*s", (int)q->order.len, q->order.data);
    if (rc == 0 && rows && q->limit >= 0)
        rc = cadre_buf_appendf(&b, " LIMIT %lld", (long long)q->limit);
    if (rc == 0 && rows && q->offset >= 0)
        rc = cadre_buf_appendf(&b, q->limit >= 0 || q->pg ? " OFFSET %lld" : " LIMIT -1 OFFSET %lld",
                               (long long)q->offset);
    if (rc == 0)
        rc = cadre_buf_append(&b, "", 1);
    if (rc) {
        q->error = rc;
        return NULL;
    }
    return b.data;
}

/* "SELECT a, b, c FROM model": the model's columns */
static const char *select_head(cadre_query *q)
{
    cadre_buf b;
    cadre_buf_init_arena(&b, q->arena, (size_t)1 << 16);
    cadre_buf_append_str(&b, "SELECT ");
    for (size_t i = 0; i < q->model->nfields; i++)
        if (cadre_model_field_is_column(&q->model->fields[i]))
            cadre_buf_appendf(&b, "%s%s", b.len > 7 ? ", " : "", q->model->fields[i].name);
    cadre_buf_appendf(&b, " FROM %s", q->model->name);
    cadre_buf_append(&b, "", 1);
    return b.data;
}

/* A joined row: the model's struct, then each related model's, one after another. */
typedef struct joined {
    cadre_schema s;
    size_t offset[CADRE_Q_MAX_RELATED]; /* where related k's struct starts */
    size_t first[CADRE_Q_MAX_RELATED];  /* its first field's index (and cadre_set_ bit) in s */
} joined;

static size_t round16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

/* The schema of a joined row: the model's fields as they are, related k's renamed "rK__name" and
 * moved to their struct's place; one cadre_set_/cadre_null_ pair at the end for all of them. */
static void joined_schema(cadre_query *q, joined *j)
{
    const cadre_schema *m = q->model;
    size_t n = m->nfields, size = round16(m->size);
    for (size_t k = 0; k < q->nrelated; k++)
        n += q->related[k].target->nfields;
    cadre_field *fs = cadre_arena_alloc(q->arena, n * sizeof *fs);
    memcpy(fs, m->fields, m->nfields * sizeof *fs);
    n = m->nfields;
    for (size_t k = 0; k < q->nrelated; k++) {
        const cadre_schema *t = q->related[k].target;
        j->offset[k] = size;
        j->first[k] = n;
        for (size_t i = 0; i < t->nfields; i++, n++) {
            fs[n] = t->fields[i];
            fs[n].name = cadre_arena_printf(q->arena, "r%zu__%s", k, t->fields[i].name);
            fs[n].offset += size;
        }
        size += round16(t->size);
    }
    j->s = (cadre_schema){ m->name, size + 16, fs, n, size, size + 8, false, m->model };
}

/* "SELECT model.a AS a, …, cadre__r0.x AS r0__x, … FROM model LEFT JOIN target AS cadre__r0 ON
 * cadre__r0.pk = model.fk …" */
static const char *joined_head(cadre_query *q)
{
    const cadre_schema *m = q->model;
    cadre_buf b;
    cadre_buf_init_arena(&b, q->arena, (size_t)1 << 18);
    cadre_buf_append_str(&b, "SELECT ");
    for (size_t i = 0; i < m->nfields; i++)
        if (cadre_model_field_is_column(&m->fields[i]))
            cadre_buf_appendf(&b, "%s%s.%s AS %s", b.len > 7 ? ", " : "", m->name,
                              m->fields[i].name, m->fields[i].name);
    for (size_t k = 0; k < q->nrelated; k++) {
        const cadre_schema *t = q->related[k].target;
        for (size_t i = 0; i < t->nfields; i++)
            if (cadre_model_field_is_column(&t->fields[i]))
                cadre_buf_appendf(&b, ", cadre__r%zu.%s AS r%zu__%s", k, t->fields[i].name, k,
                                  t->fields[i].name);
    }
    cadre_buf_appendf(&b, " FROM %s", m->name);
    for (size_t k = 0; k < q->nrelated; k++)
        cadre_buf_appendf(&b, " LEFT JOIN %s AS cadre__r%zu ON cadre__r%zu.%s = %s.%s",
                          q->related[k].target->name, k, k,
                          cadre_model_pk(q->related[k].target)->name, m->name,
                          q->related[k].fk->name);
    cadre_buf_append(&b, "", 1);
    return b.data;
}

/* Bits first … first+n-1 of word, moved down to 0 … n-1. */
static uint64_t bits(uint64_t word, size_t first, size_t n)
{
    word >>= first;
    return n >= 64 ? word : word & (((uint64_t)1 << n) - 1);
}

/* Copies one part of a joined row into a struct of schema s, with its own presence bits. */
static void place(const cadre_schema *s, void *dst, const char *src, uint64_t set, uint64_t null,
                  size_t first)
{
    memcpy(dst, src, s->size);
    *(uint64_t *)((char *)dst + s->set_offset) = bits(set, first, s->nfields);
    *(uint64_t *)((char *)dst + s->null_offset) = bits(null, first, s->nfields);
}

/* Splits the joined rows into the model's rows and each select_related's parallel array; a related
 * part whose primary key did not come back (no row joined) stays zeroed. */
static void split(cadre_query *q, const joined *j, const cadre_rows *in, cadre_rows *out)
{
    const cadre_schema *m = q->model;
    if (!in->len)
        return;
    out->items = cadre_arena_alloc(q->arena, in->len * m->size);
    out->len = in->len;
    cadre_rows_link *links = cadre_arena_calloc(q->arena, q->nrelated * sizeof *links);
    for (size_t k = 0; k < q->nrelated; k++) {
        cadre_rows *rel = q->related[k].out;
        rel->items = cadre_arena_calloc(q->arena, in->len * q->related[k].target->size);
        rel->len = in->len;
        /* the rows say where their related rows are (cadre_related, templates), with a copy
         * of the related rows' descriptor: the caller's may be a local that goes first */
        cadre_rows *with = cadre_arena_alloc(q->arena, sizeof *with);
        if (links && with) {
            *with = *rel;
            links[k] = (cadre_rows_link){ .via = q->related[k].fk,
                                          .schema = q->related[k].target, .with = with,
                                          .next = k + 1 < q->nrelated ? &links[k + 1] : NULL };
            out->links = links;
        }
    }
    for (size_t i = 0; i < in->len; i++) {
        const char *row = (const char *)in->items + i * j->s.size;
        uint64_t set = *(const uint64_t *)(row + j->s.set_offset);
        uint64_t null = *(const uint64_t *)(row + j->s.null_offset);
        place(m, (char *)out->items + i * m->size, row, set, null, 0);
        for (size_t k = 0; k < q->nrelated; k++) {
            const cadre_schema *t = q->related[k].target;
            size_t pk = (size_t)(cadre_model_pk(t) - t->fields);
            if ((set >> (j->first[k] + pk)) & 1)
                place(t, (char *)q->related[k].out->items + i * t->size, row + j->offset[k], set,
                      null, j->first[k]);
        }
    }
}

/* Runs the row query, at most max rows of it (-1: as the query says). */
static int run_rows(cadre_query *q, int64_t max, cadre_rows *out)
{
    *out = (cadre_rows){ 0 };
    for (size_t k = 0; k < q->nrelated; k++)
        *q->related[k].out = (cadre_rows){ 0 };
    int64_t limit = q->limit;
    if (max >= 0 && (q->limit < 0 || q->limit > max))
        q->limit = max;
    const char *sql = build(q, q->nrelated ? joined_head(q) : select_head(q), true);
    q->limit = limit;
    if (!sql)
        return q->error;
    if (!q->nrelated)
        return cadre_db_query(q->db, q->arena, q->model, out, sql, q->params.items, q->params.len);
    joined j;
    joined_schema(q, &j);
    cadre_rows rows;
    int rc = cadre_db_query(q->db, q->arena, &j.s, &rows, sql, q->params.items, q->params.len);
    if (rc == 0)
        split(q, &j, &rows, out);
    return rc;
}

void cadre_q_prefetch(cadre_query *q, const cadre_schema *related, const char *fk_field,
                      cadre_rows *out)
{
    *out = (cadre_rows){ 0 };
    const cadre_field *f = cadre_schema_field(related, fk_field, strlen(fk_field));
    const cadre_field *pk = cadre_model_pk(q->model);
    if (!f || !f->fk || f->fk() != q->model || !pk || pk->type != CADRE_T_INT64) {
        misuse(q, "prefetch: not a foreign key of that model to this one", fk_field);
        return;
    }
    if (q->nprefetch == CADRE_Q_MAX_RELATED) {
        misuse(q, "prefetch: too many", fk_field);
        return;
    }
    q->prefetch[q->nprefetch].model = related;
    q->prefetch[q->nprefetch].fk = f;
    q->prefetch[q->nprefetch].out = out;
    q->nprefetch++;
}

/* The value of int64 field f of row. */
static int64_t int_at(const void *row, const cadre_field *f)
{
    return *(const int64_t *)((const char *)row + f->offset);
}

#define PREFETCH_SLICE 1000 /* keys bound per query */

static int by_int(const void *a, const void *b)
{
    int64_t x = ((const cadre_value *)a)->i, y = ((const cadre_value *)b)->i;
    return (x > y) - (x < y);
}

/* After the rows: each prefetch's related rows in one query, grouped per row by key (a binary
 * search in the related rows, which come ordered by their foreign key). */
static int run_prefetch(cadre_query *q, cadre_rows *rows)
{
    const cadre_field *pk = cadre_model_pk(q->model);
    cadre_value *ids = rows->len ? cadre_arena_alloc(q->arena, rows->len * sizeof *ids) : NULL;
    cadre_value *sorted = rows->len ? cadre_arena_alloc(q->arena, rows->len * sizeof *ids) : NULL;
    if (rows->len && !sorted)
        return CADRE_ENOMEM;
    for (size_t i = 0; ids && i < rows->len; i++)
        ids[i] = CADRE_PINT(int_at((const char *)rows->items + i * q->model->size, pk));
    for (size_t k = 0; k < q->nprefetch; k++) {
        const cadre_schema *t = q->prefetch[k].model;
        const cadre_field *fk = q->prefetch[k].fk;
        cadre_rows *out = q->prefetch[k].out;
        *out = (cadre_rows){ 0 };
        if (!rows->len)
            continue;
        if (!ids)
            return CADRE_ENOMEM;
        /* in slices of PREFETCH_SLICE keys, in key order (under both engines' limits on bound
         * parameters), the slices' rows one after another: still ordered by key */
        size_t nkeys = 0;
        for (size_t i = 0; i < rows->len; i++) /* the rows' keys, sorted */
            sorted[nkeys++] = ids[i];
        qsort(sorted, nkeys, sizeof *sorted, by_int);
        for (size_t from = 0; from < nkeys;) {
            size_t n = nkeys - from < PREFETCH_SLICE ? nkeys - from : PREFETCH_SLICE;
            cadre_query sub;
            cadre_rows part;
            cadre_q_init(&sub, q->db, t, q->arena);
            cadre_q_filter_in(&sub, fk->name, sorted + from, n);
            cadre_q_order_by(&sub, fk->name);
            cadre_q_order_by(&sub, cadre_model_pk(t)->name);
            int rc = cadre_q_fetch(&sub, &part);
            if (rc)
                return rc;
            if (!out->len) {
                *out = part;
            } else if (part.len) {
                char *all = cadre_arena_alloc(q->arena, (out->len + part.len) * t->size);
                if (!all)
                    return CADRE_ENOMEM;
                memcpy(all, out->items, out->len * t->size);
                memcpy(all + out->len * t->size, part.items, part.len * t->size);
                *out = (cadre_rows){ .items = all, .len = out->len + part.len };
            }
            from += n;
        }
        size_t *start = cadre_arena_alloc(q->arena, rows->len * sizeof *start);
        size_t *count = cadre_arena_alloc(q->arena, rows->len * sizeof *count);
        cadre_rows_link *link = cadre_arena_calloc(q->arena, sizeof *link);
        cadre_rows *with = cadre_arena_alloc(q->arena, sizeof *with); /* as split's */
        if (!start || !count || !link || !with)
            return CADRE_ENOMEM;
        *with = *out;
        for (size_t i = 0; i < rows->len; i++) {
            int64_t id = ids[i].i;
            size_t lo = 0, hi = out->len;
            while (lo < hi) { /* the first related row whose key is >= id */
                size_t mid = lo + (hi - lo) / 2;
                if (int_at((const char *)out->items + mid * t->size, fk) < id)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            size_t end = lo;
            while (end < out->len && int_at((const char *)out->items + end * t->size, fk) == id)
                end++;
            start[i] = lo;
            count[i] = end - lo;
        }
        *link = (cadre_rows_link){ .via = fk, .schema = t, .with = with, .start = start,
                                   .count = count, .next = rows->links };
        rows->links = link;
    }
    return 0;
}

int cadre_q_fetch(cadre_query *q, cadre_rows *out)
{
    int rc = run_rows(q, -1, out);
    return rc == 0 && q->nprefetch ? run_prefetch(q, out) : rc;
}

int cadre_q_first(cadre_query *q, void *row, bool *found)
{
    *found = false;
    cadre_rows rows;
    int rc = run_rows(q, 1, &rows);
    if (rc == 0 && rows.len) {
        memcpy(row, rows.items, q->model->size);
        *found = true;
    }
    return rc;
}

int cadre_q_get(cadre_query *q, void *row)
{
    memset(row, 0, q->model->size);
    cadre_rows rows;
    int rc = run_rows(q, 2, &rows);
    if (rc == 0 && rows.len != 1) {
        for (size_t k = 0; k < q->nrelated; k++) {
            *q->related[k].out = (cadre_rows){ 0 };
        }
        return rows.len ? CADRE_EEXIST : CADRE_ENOTFOUND;
    }
    if (rc == 0)
        memcpy(row, rows.items, q->model->size);
    return rc;
}

/* A one-column result row for COUNT(*). */
#define COUNT_FIELDS(F) F(int64, n)
CADRE_SCHEMA(cadre__count, COUNT_FIELDS)

int cadre_q_count(cadre_query *q, int64_t *n)
{
    *n = 0;
    const char *head = cadre_arena_printf(q->arena, "SELECT COUNT(*) AS n FROM %s", q->model->name);
    const char *sql = build(q, head, false);
    if (!sql)
        return q->error;
    cadre__count c;
    bool found;
    int rc = cadre_db_query_one(q->db, q->arena, CADRE_SCHEMA_OF(cadre__count), &c, &found, sql,
                                q->params.items, q->params.len);
    if (rc == 0 && found)
        *n = c.n;
    return rc;
}

int cadre_q_count_estimate(cadre_query *q, int64_t above, int64_t *n, bool *estimated)
{
    *estimated = false;
    if (q->pg && q->where.len == 0 && !q->error) {
        cadre__count c;
        bool found;
        cadre_value table = CADRE_PTEXT(q->model->name);
        int rc = cadre_db_query_one(q->db, q->arena, CADRE_SCHEMA_OF(cadre__count), &c, &found,
                                    "SELECT CAST(reltuples AS bigint) AS n FROM pg_class "
                                    "WHERE oid = to_regclass(?)", &table, 1);
        if (rc)
            return rc;
        if (found && c.n > above) { /* -1: never analyzed */
            *n = c.n;
            *estimated = true;
            return 0;
        }
    }
    return cadre_q_count(q, n);
}

/* "CAST(SUM(product.price) AS <double>)" for fn over f; NULL (a misuse) for a field that is
 * not a number where fn needs one. */
static const char *aggregate_sql(cadre_query *q, cadre_agg fn, const cadre_field *f)
{
    static const char *const names[] = { "COUNT", "SUM", "AVG", "MIN", "MAX" };
    if ((unsigned)fn > CADRE_AGG_MAX) {
        misuse(q, "unknown aggregate", f->name);
        return NULL;
    }
    bool number = f->type == CADRE_T_INT32 || f->type == CADRE_T_INT64 || f->type == CADRE_T_DOUBLE;
    if (fn != CADRE_AGG_COUNT && !number) {
        misuse(q, "an aggregate other than COUNT needs a number field", f->name);
        return NULL;
    }
    return cadre_arena_printf(q->arena, "CAST(%s(%s) AS %s)", names[fn], qualified(q, f),
                              q->pg ? "DOUBLE PRECISION" : "REAL");
}

#define AGG_FIELDS(F) F(double, v, CADRE_OPTIONAL, CADRE_NULLABLE)
CADRE_SCHEMA(cadre__agg, AGG_FIELDS)

int cadre_q_aggregate(cadre_query *q, cadre_agg fn, const char *name, double *out, bool *has_value)
{
    *out = 0;
    if (has_value)
        *has_value = false;
    const cadre_field *f = field(q, name, strlen(name));
    const char *agg = f ? aggregate_sql(q, fn, f) : NULL;
    const char *head = agg ? cadre_arena_printf(q->arena, "SELECT %s AS v FROM %s", agg,
                                                q->model->name)
                           : "";
    const char *sql = build(q, head, false);
    if (!sql)
        return q->error;
    cadre__agg row;
    bool found;
    int rc = cadre_db_query_one(q->db, q->arena, CADRE_SCHEMA_OF(cadre__agg), &row, &found, sql,
                                q->params.items, q->params.len);
    if (rc == 0 && found && cadre_has(&row, cadre__agg, v) && !cadre_is_null(&row, cadre__agg, v)) {
        *out = row.v;
        if (has_value)
            *has_value = true;
    }
    return rc;
}

int cadre_q_group(cadre_query *q, const char *by, cadre_agg fn, const char *name, cadre_rows *out)
{
    *out = (cadre_rows){ 0 };
    const cadre_field *k = field(q, by, strlen(by));
    const cadre_field *f = field(q, name, strlen(name));
    const char *agg = k && f ? aggregate_sql(q, fn, f) : NULL;
    if (k && (k->type == CADRE_T_OBJECT || k->type == CADRE_T_ARRAY || !cadre_model_field_is_column(k)))
        misuse(q, "group by a field that is not a column", by);
    const char *col = k ? qualified(q, k) : "";
    const char *head = agg ? cadre_arena_printf(q->arena,
                                                "SELECT %s AS k, %s AS v, COUNT(*) AS n FROM %s",
                                                col, agg, q->model->name)
                           : "";
    const char *sql = build(q, head, false);
    if (!sql)
        return q->error;
    sql = cadre_arena_printf(q->arena, "%s GROUP BY %s ORDER BY %s", sql, col, col);
    /* the row: the key in the by field's own type, at the union's start */
    cadre_field *fields = cadre_arena_calloc(q->arena, 3 * sizeof *fields);
    cadre_schema *s = cadre_arena_calloc(q->arena, sizeof *s);
    if (!fields || !s || !sql)
        return CADRE_ENOMEM;
    fields[0] = *k;
    fields[0].name = "k";
    fields[0].offset = offsetof(cadre_group_row, key);
    fields[0].optional = fields[0].nullable = true;
    fields[0].primary_key = fields[0].unique = false;
    fields[0].auto_now = fields[0].auto_now_add = false;
    if (k->type == CADRE_T_ENUM) /* an enum's value as its text (key.s) */
        fields[0].type = CADRE_T_STRING, fields[0].en = NULL;
    fields[1] = (cadre_field){ .name = "v", .type = CADRE_T_DOUBLE, .optional = true,
                               .nullable = true, .offset = offsetof(cadre_group_row, value) };
    fields[2] = (cadre_field){ .name = "n", .type = CADRE_T_INT64,
                               .offset = offsetof(cadre_group_row, count) };
    *s = (cadre_schema){ "cadre_group_row", sizeof(cadre_group_row), fields, 3,
                         offsetof(cadre_group_row, cadre_set_),
                         offsetof(cadre_group_row, cadre_null_), false, false };
    return cadre_db_query(q->db, q->arena, s, out, sql, q->params.items, q->params.len);
}

int cadre_q_exists(cadre_query *q, bool *yes)
{
    *yes = false;
    int64_t limit = q->limit;
    q->limit = 1;
    const char *head = cadre_arena_printf(q->arena, "SELECT 1 AS n FROM %s", q->model->name);
    const char *sql = build(q, head, true);
    q->limit = limit;
    if (!sql)
        return q->error;
    cadre__count c;
    return cadre_db_query_one(q->db, q->arena, CADRE_SCHEMA_OF(cadre__count), &c, yes, sql,
                              q->params.items, q->params.len);
}

int cadre_q_delete(cadre_query *q, int64_t *changes)
{
    if (changes)
        *changes = 0;
    if (q->limit >= 0 || q->offset >= 0) /* a DELETE takes none: refuse rather than delete all */
        misuse(q, "delete with a limit or offset", "cadre_q_delete");
    const char *head = cadre_arena_printf(q->arena, "DELETE FROM %s", q->model->name);
    const char *sql = build(q, head, false);
    if (!sql)
        return q->error;
    return cadre_db_exec(q->db, sql, q->params.items, q->params.len, changes, NULL);
}

int cadre_q_update(cadre_query *q, int64_t *changes)
{
    if (changes)
        *changes = 0;
    if (!q->set_mask)
        misuse(q, "update with no field set", "cadre_q_set");
    if (q->limit >= 0 || q->offset >= 0)
        misuse(q, "update with a limit or offset", "cadre_q_update");
    const cadre_schema *m = q->model;
    cadre_buf head;
    cadre_buf_init_arena(&head, q->arena, (size_t)1 << 16);
    cadre_buf_appendf(&head, "UPDATE %s SET ", m->name);
    cadre_value *vals = cadre_arena_alloc(q->arena, (m->nfields + q->params.len) * sizeof *vals);
    size_t n = 0;
    for (size_t i = 0; i < m->nfields; i++) {
        if (!((q->set_mask >> i) & 1))
            continue;
        cadre_buf_appendf(&head, "%s%s = ?", n ? ", " : "", m->fields[i].name);
        vals[n++] = q->set_values[i];
    }
    cadre_buf_append(&head, "", 1);
    const char *sql = build(q, head.data, false);
    if (!sql)
        return q->error;
    if (q->params.len)
        memcpy(vals + n, q->params.items, q->params.len * sizeof *vals);
    return cadre_db_exec(q->db, sql, vals, n + q->params.len, changes, NULL);
}

cadre_rows cadre_related_set(const cadre_rows *rows, size_t i, const char *related_model)
{
    for (const cadre_rows_link *l = rows ? rows->links : NULL; l; l = l->next)
        if (l->start && strcmp(l->schema->name, related_model) == 0 && i < rows->len)
            return (cadre_rows){ .items = (char *)l->with->items + l->start[i] * l->schema->size,
                                 .len = l->count[i] };
    return (cadre_rows){ 0 };
}

const void *cadre_related(const cadre_rows *rows, size_t i, const char *fk_field)
{
    for (const cadre_rows_link *l = rows ? rows->links : NULL; l; l = l->next) {
        if (l->start || strcmp(l->via->name, fk_field) != 0 || i >= l->with->len)
            continue;
        const char *row = (const char *)l->with->items + i * l->schema->size;
        /* no row joined (a null key): a zeroed struct, nothing present */
        return *(const uint64_t *)(row + l->schema->set_offset) ? row : NULL;
    }
    return NULL;
}
