/*
 * The query builder. Field names are looked up in the model's descriptor and written into the SQL
 * from there (never from the caller's string), values are always bound, LIKE/GLOB patterns are
 * escaped: nothing a request sends can change the statement's shape.
 */
#include <cadre/orm.h>

#include <stdio.h>
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
    if (q->nparams == q->cap_params) {
        size_t cap = q->cap_params ? 2 * q->cap_params : 8;
        cadre_value *n = cadre_arena_alloc(q->arena, cap * sizeof *n);
        if (q->nparams)
            memcpy(n, q->params, q->nparams * sizeof *n);
        q->params = n;
        q->cap_params = cap;
    }
    q->params[q->nparams++] = v;
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

static void condition(cadre_query *q, const char *lookup, cadre_value v, bool negate)
{
    const char *sep = strstr(lookup, "__");
    size_t flen = sep ? (size_t)(sep - lookup) : strlen(lookup);
    const char *op = sep ? sep + 2 : "exact";
    const cadre_field *f = field(q, lookup, flen);
    if (!f)
        return;
    cadre_buf *w = &q->where;
    connective(q);
    if (negate)
        cadre_buf_append_str(w, "NOT (");
    const char *col = f->name;
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
    const cadre_field *f = field(q, name, strlen(name));
    if (!f)
        return;
    connective(q);
    if (n == 0) {
        cadre_buf_append_str(&q->where, "1 = 0");
        return;
    }
    cadre_buf_appendf(&q->where, "%s IN (", f->name);
    for (size_t i = 0; i < n; i++) {
        cadre_buf_append_str(&q->where, i ? ", ?" : "?");
        bind(q, values[i]);
    }
    cadre_buf_append_str(&q->where, ")");
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
    const cadre_field *f = field(q, name + desc, strlen(name + desc));
    if (!f)
        return;
    cadre_buf_appendf(&q->order, "%s%s%s", q->order.len ? ", " : "", f->name, desc ? " DESC" : "");
}

void cadre_q_limit(cadre_query *q, int64_t n)
{
    q->limit = n;
}

void cadre_q_offset(cadre_query *q, int64_t n)
{
    q->offset = n;
}

/* "SELECT <what> FROM model [WHERE …]" plus, for row queries, ORDER BY / LIMIT / OFFSET. */
static const char *build(cadre_query *q, const char *what, bool rows)
{
    if (q->in_or)
        misuse(q, "or-group not ended", "cadre_q_or_end");
    if (q->error)
        return NULL;
    cadre_buf b;
    cadre_buf_init_arena(&b, q->arena, (size_t)1 << 21);
    int rc = cadre_buf_appendf(&b, "%s FROM %s", what, q->model->name);
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

/* "SELECT a, b, c": the model's columns */
static const char *columns(cadre_query *q)
{
    cadre_buf b;
    cadre_buf_init_arena(&b, q->arena, (size_t)1 << 16);
    cadre_buf_append_str(&b, "SELECT ");
    for (size_t i = 0; i < q->model->nfields; i++) {
        cadre_type t = q->model->fields[i].type;
        if (t == CADRE_T_STRINGS || t == CADRE_T_INT64S || t == CADRE_T_DOUBLES ||
            t == CADRE_T_OBJECT || t == CADRE_T_ARRAY)
            continue;
        cadre_buf_appendf(&b, "%s%s", b.len > 7 ? ", " : "", q->model->fields[i].name);
    }
    cadre_buf_append(&b, "", 1);
    return b.data;
}

int cadre_q_fetch(cadre_query *q, cadre_rows *out)
{
    out->items = NULL;
    out->len = 0;
    const char *sql = build(q, columns(q), true);
    if (!sql)
        return q->error;
    return cadre_db_query(q->db, q->arena, q->model, out, sql, q->params, q->nparams);
}

int cadre_q_first(cadre_query *q, void *row, bool *found)
{
    *found = false;
    int64_t limit = q->limit;
    q->limit = 1;
    const char *sql = build(q, columns(q), true);
    q->limit = limit;
    if (!sql)
        return q->error;
    return cadre_db_query_one(q->db, q->arena, q->model, row, found, sql, q->params, q->nparams);
}

/* A one-column result row for COUNT(*). */
#define COUNT_FIELDS(F) F(int64, n)
CADRE_SCHEMA(cadre__count, COUNT_FIELDS)

int cadre_q_count(cadre_query *q, int64_t *n)
{
    *n = 0;
    const char *sql = build(q, "SELECT COUNT(*) AS n", false);
    if (!sql)
        return q->error;
    cadre__count c;
    bool found;
    int rc = cadre_db_query_one(q->db, q->arena, CADRE_SCHEMA_OF(cadre__count), &c, &found, sql,
                                q->params, q->nparams);
    if (rc == 0 && found)
        *n = c.n;
    return rc;
}

int cadre_q_exists(cadre_query *q, bool *yes)
{
    *yes = false;
    int64_t limit = q->limit;
    q->limit = 1;
    const char *sql = build(q, "SELECT 1 AS n", true);
    q->limit = limit;
    if (!sql)
        return q->error;
    cadre__count c;
    return cadre_db_query_one(q->db, q->arena, CADRE_SCHEMA_OF(cadre__count), &c, yes, sql,
                              q->params, q->nparams);
}

int cadre_q_delete(cadre_query *q, int64_t *changes)
{
    const char *sql = build(q, "DELETE", false);
    if (!sql)
        return q->error;
    return cadre_db_exec(q->db, sql, q->params, q->nparams, changes, NULL);
}
