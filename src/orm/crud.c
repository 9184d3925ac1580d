/*
 * Rows by primary key: insert, get, update, delete, with the SQL written from the model's
 * descriptor and every value bound. The same calls run on SQLite and PostgreSQL (both understand
 * INSERT … RETURNING).
 */
#include <cadre/orm.h>

#include "schema/schema_internal.h"

#include <string.h>

static bool is_column(const cadre_field *f)
{
    return f->type != CADRE_T_STRINGS && f->type != CADRE_T_INT64S && f->type != CADRE_T_DOUBLES &&
           f->type != CADRE_T_OBJECT && f->type != CADRE_T_ARRAY;
}

static bool is_set(const cadre_schema *m, const void *obj, size_t i)
{
    return (*(const uint64_t *)((const char *)obj + m->set_offset) >> i) & 1;
}

/* The bound value of field f of obj. */
cadre_value cadre__model_value(const cadre_schema *m, const cadre_field *f, const void *obj,
                               cadre_arena *arena);
cadre_value cadre__model_value(const cadre_schema *m, const cadre_field *f, const void *obj,
                            cadre_arena *arena)
{
    size_t i = (size_t)(f - m->fields);
    const void *p = (const char *)obj + f->offset;
    if (f->nullable && ((*(const uint64_t *)((const char *)obj + m->null_offset) >> i) & 1))
        return CADRE_PNULL;
    switch (f->type) {
    case CADRE_T_BOOL: return CADRE_PINT(*(const bool *)p);
    case CADRE_T_INT32: return CADRE_PINT(*(const int32_t *)p);
    case CADRE_T_INT64: return CADRE_PINT(*(const int64_t *)p);
    case CADRE_T_DOUBLE: return CADRE_PDOUBLE(*(const double *)p);
    case CADRE_T_STRING: {
        const cadre_slice *s = p;
        return CADRE_PSLICE(s->ptr ? *s : CADRE_LIT(""));
    }
    case CADRE_T_ENUM: {
        const cadre_enum *en = f->en();
        int v = *(const int *)p;
        return v >= 0 && (size_t)v < en->count ? CADRE_PTEXT(en->values[v]) : CADRE_PNULL;
    }
    case CADRE_T_DATE: {
        char *buf = cadre_arena_alloc(arena, 16);
        return CADRE_PSLICE(((cadre_slice){ buf, cadre__format_date(p, buf) }));
    }
    case CADRE_T_DATETIME: {
        char *buf = cadre_arena_alloc(arena, 48);
        return CADRE_PSLICE(((cadre_slice){ buf, cadre__format_datetime(p, buf) }));
    }
    case CADRE_T_UUID: {
        char *buf = cadre_arena_alloc(arena, 40);
        return CADRE_PSLICE(((cadre_slice){ buf, cadre__format_uuid(p, buf) }));
    }
    default:
        return CADRE_PNULL;
    }
}

static const cadre_field *int_pk(const cadre_schema *m)
{
    const cadre_field *pk = cadre_model_pk(m);
    if (!pk || pk->type != CADRE_T_INT64) {
        cadre_log(CADRE_LOG_ERROR, "model %s: needs an int64 CADRE_PRIMARY_KEY", m->name);
        return NULL;
    }
    return pk;
}

int cadre_model_insert(cadre_db *db, cadre_arena *arena, const cadre_schema *m, void *obj)
{
    const cadre_field *pk = int_pk(m);
    if (!pk)
        return CADRE_EINVAL;
    cadre_buf cols, marks;
    cadre_buf_init_arena(&cols, arena, (size_t)1 << 16);
    cadre_buf_init_arena(&marks, arena, (size_t)1 << 16);
    cadre_value *vals = cadre_arena_alloc(arena, (m->nfields ? m->nfields : 1) * sizeof *vals);
    size_t n = 0;
    for (size_t i = 0; i < m->nfields; i++) {
        const cadre_field *f = &m->fields[i];
        if (f == pk || !is_column(f) || (f->optional && !is_set(m, obj, i)))
            continue;
        cadre_buf_appendf(&cols, "%s%s", n ? ", " : "", f->name);
        cadre_buf_append_str(&marks, n ? ", ?" : "?");
        vals[n++] = cadre__model_value(m, f, obj, arena);
    }
    char *sql = n ? cadre_arena_printf(arena, "INSERT INTO %s (%.*s) VALUES (%.*s) RETURNING %s",
                                       m->name, (int)cols.len, cols.data, (int)marks.len,
                                       marks.data, pk->name)
                  : cadre_arena_printf(arena, "INSERT INTO %s DEFAULT VALUES RETURNING %s", m->name,
                                       pk->name);
    int64_t id = 0;
    int rc = cadre_db_exec(db, sql, vals, n, NULL, &id);
    if (rc == 0) {
        *(int64_t *)((char *)obj + pk->offset) = id;
        *(uint64_t *)((char *)obj + m->set_offset) |= (uint64_t)1 << (pk - m->fields);
    }
    return rc;
}

int cadre_model_get(cadre_db *db, cadre_arena *arena, const cadre_schema *m, int64_t id, void *obj,
                    bool *found)
{
    *found = false;
    const cadre_field *pk = int_pk(m);
    if (!pk)
        return CADRE_EINVAL;
    cadre_query q;
    cadre_q_init(&q, db, m, arena);
    cadre_q_filter(&q, pk->name, CADRE_PINT(id));
    return cadre_q_first(&q, obj, found);
}

int cadre_model_update(cadre_db *db, cadre_arena *arena, const cadre_schema *m, const void *obj,
                       bool partial, int64_t *changes)
{
    const cadre_field *pk = int_pk(m);
    if (!pk)
        return CADRE_EINVAL;
    cadre_buf set;
    cadre_buf_init_arena(&set, arena, (size_t)1 << 16);
    cadre_value *vals = cadre_arena_alloc(arena, (m->nfields + 1) * sizeof *vals);
    size_t n = 0;
    for (size_t i = 0; i < m->nfields; i++) {
        const cadre_field *f = &m->fields[i];
        if (f == pk || !is_column(f) || (partial && !is_set(m, obj, i)))
            continue;
        cadre_buf_appendf(&set, "%s%s = ?", n ? ", " : "", f->name);
        vals[n++] = cadre__model_value(m, f, obj, arena);
    }
    if (changes)
        *changes = 0;
    vals[n] = CADRE_PINT(*(const int64_t *)((const char *)obj + pk->offset));
    if (n == 0) {
        /* nothing to change: report whether the row exists */
        cadre_query q;
        bool yes;
        cadre_q_init(&q, db, m, arena);
        cadre_q_filter(&q, pk->name, vals[0]);
        int rc = cadre_q_exists(&q, &yes);
        if (rc == 0 && changes)
            *changes = yes;
        return rc;
    }
    char *sql = cadre_arena_printf(arena, "UPDATE %s SET %.*s WHERE %s = ?", m->name, (int)set.len,
                                   set.data, pk->name);
    return cadre_db_exec(db, sql, vals, n + 1, changes, NULL);
}

int cadre_model_delete(cadre_db *db, const cadre_schema *m, int64_t id, int64_t *changes)
{
    const cadre_field *pk = int_pk(m);
    if (!pk)
        return CADRE_EINVAL;
    cadre_arena a;
    cadre_arena_init(&a, 1024);
    cadre_query q;
    cadre_q_init(&q, db, m, &a);
    cadre_q_filter(&q, pk->name, CADRE_PINT(id));
    int rc = cadre_q_delete(&q, changes);
    cadre_arena_free(&a);
    return rc;
}
