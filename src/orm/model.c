/*
 * Models: table definitions derived from the same field descriptors that decode JSON. A model
 * first becomes a list of columns (what a migration file records too); the SQL is generated from
 * columns, so CREATE TABLE and migrations cannot disagree. The engines differ only in column
 * types, the auto-increment primary key and the spelling of booleans.
 */
#include "orm_internal.h"

#include <stdio.h>
#include <string.h>

const cadre_field *cadre_model_pk(const cadre_schema *model)
{
    for (size_t i = 0; i < model->nfields; i++)
        if (model->fields[i].primary_key)
            return &model->fields[i];
    return NULL;
}

int cadre__engine_pg(const char *engine, bool *pg)
{
    if (strcmp(engine, "postgresql") == 0)
        *pg = true;
    else if (strcmp(engine, "sqlite") == 0)
        *pg = false;
    else {
        cadre_log(CADRE_LOG_ERROR, "unknown database engine \"%s\" (sqlite or postgresql)", engine);
        return CADRE_EINVAL;
    }
    return 0;
}

int cadre__stmts_add(cadre__stmts *s, const char *sql, size_t len)
{
    char **slot = CADRE_VEC_PUSH(s, s->arena, 0); /* never NULL: an arena's, no maximum */
    *slot = cadre_arena_strndup(s->arena, sql, len);
    return 0;
}

static int coltype_of(const cadre_field *f)
{
    switch (f->type) {
    case CADRE_T_BOOL: return CADRE__COL_BOOL;
    case CADRE_T_INT32: return CADRE__COL_INT32;
    case CADRE_T_INT64: return CADRE__COL_INT64;
    case CADRE_T_DOUBLE: return CADRE__COL_DOUBLE;
    case CADRE_T_STRING:
    case CADRE_T_ENUM: return CADRE__COL_TEXT;
    case CADRE_T_DATE: return CADRE__COL_DATE;
    case CADRE_T_DATETIME: return CADRE__COL_DATETIME;
    case CADRE_T_UUID: return CADRE__COL_UUID;
    default: return -1; /* arrays and nested objects have no column form (yet) */
    }
}

/* The field's default as neutral text, or NULL. */
static const char *default_text(const cadre_field *f, cadre_arena *a)
{
    if (!f->has_default)
        return NULL;
    switch (f->type) {
    case CADRE_T_BOOL: return f->def_i ? "true" : "false";
    case CADRE_T_INT32:
    case CADRE_T_INT64: return cadre_arena_printf(a, "%lld", (long long)f->def_i);
    case CADRE_T_DOUBLE: return cadre_arena_printf(a, "%.17g", f->def_d);
    case CADRE_T_STRING: return f->def_s;
    case CADRE_T_ENUM: {
        const cadre_enum *en = f->en();
        return f->def_i >= 0 && (size_t)f->def_i < en->count ? en->values[f->def_i] : NULL;
    }
    default: return NULL;
    }
}

bool cadre_model_field_is_column(const cadre_field *f)
{
    return coltype_of(f) >= 0;
}

int cadre__model_table(const cadre_schema *m, cadre_arena *arena, cadre__table *out)
{
    *out = (cadre__table){ .name = m->name, .ncols = m->nfields,
                           .cols = cadre_arena_calloc(arena, (m->nfields + 1) * sizeof(cadre__column)) };
    if (!out->cols)
        return CADRE_ENOMEM;
    for (size_t i = 0; i < m->nfields; i++) {
        const cadre_field *f = &m->fields[i];
        cadre__column *c = &out->cols[i];
        c->name = f->name;
        c->type = coltype_of(f);
        if (c->type < 0) {
            cadre_log(CADRE_LOG_ERROR, "model %s: field %s has no column type (arrays and objects "
                                       "are not columns)", m->name, f->name);
            return CADRE_EINVAL;
        }
        c->pk = f->primary_key;
        c->null = !f->primary_key && (f->optional || f->nullable);
        c->unique = f->unique && !f->primary_key;
        c->index = f->db_index && !f->primary_key;
        c->def = default_text(f, arena);
        /* automatic timestamps: the database fills them too (rows written by other means, rows
         * already there when the column is added) */
        c->def_now = (f->auto_now_add || f->auto_now) && f->type == CADRE_T_DATETIME && !c->def;
        if (f->fk) {
            const cadre_schema *target = f->fk();
            const cadre_field *tpk = cadre_model_pk(target);
            if (!tpk) {
                cadre_log(CADRE_LOG_ERROR, "model %s: %s references %s, which has no primary key",
                          m->name, f->name, target->name);
                return CADRE_EINVAL;
            }
            if (f->on_delete == CADRE_ON_DELETE_SET_NULL && !c->null) {
                cadre_log(CADRE_LOG_ERROR, "model %s: %s is ON DELETE SET NULL but cannot be null "
                                           "(add CADRE_NULLABLE)", m->name, f->name);
                return CADRE_EINVAL;
            }
            c->ref_table = target->name;
            c->ref_column = tpk->name;
            c->on_delete = f->on_delete >= 0 && f->on_delete <= 2 ? f->on_delete : 0;
        }
    }
    return 0;
}

bool cadre__column_indexed(const cadre__column *c)
{
    /* foreign keys are indexed too: joins and ON DELETE checks look them up */
    return (c->index || c->ref_table) && !c->unique && !c->pk;
}

const char *cadre__column_type(const cadre__column *c, bool pg)
{
    static const char *const sqlite[] = { "INTEGER", "INTEGER", "INTEGER", "REAL",
                                          "TEXT",    "TEXT",    "TEXT",    "TEXT" };
    static const char *const postgres[] = { "BOOLEAN", "INTEGER", "BIGINT",      "DOUBLE PRECISION",
                                            "TEXT",    "DATE",    "TIMESTAMPTZ", "UUID" };
    if (c->pk && c->type == CADRE__COL_INT64)
        return pg ? "BIGSERIAL" : "INTEGER"; /* auto-increment (SQLite: the rowid) */
    return (pg ? postgres : sqlite)[c->type];
}

/* A quoted SQL string literal. */
static int literal(cadre_buf *out, const char *s)
{
    int rc = cadre_buf_append(out, "'", 1);
    for (; *s && rc == 0; s++)
        rc = *s == '\'' ? cadre_buf_append(out, "''", 2) : cadre_buf_append(out, s, 1);
    return rc ? rc : cadre_buf_append(out, "'", 1);
}

int cadre__default_sql(const cadre__column *c, bool pg, cadre_buf *out)
{
    /* SQLite: the text form Cadre writes datetimes in (six fractional digits, 'Z': see
     * cadre_datetime_format_utc), to the millisecond, which is all SQLite's clock gives */
    if (c->def_now)
        return cadre_buf_append_str(out, pg ? "now()"
                                            : "(strftime('%Y-%m-%dT%H:%M:%f', 'now') || '000Z')");
    switch (c->type) {
    case CADRE__COL_BOOL:
        if (pg)
            return cadre_buf_append_str(out, strcmp(c->def, "true") == 0 ? "TRUE" : "FALSE");
        return cadre_buf_append_str(out, strcmp(c->def, "true") == 0 ? "1" : "0");
    case CADRE__COL_INT32:
    case CADRE__COL_INT64:
    case CADRE__COL_DOUBLE:
        return cadre_buf_append_str(out, c->def); /* validated as a number where it came from */
    default:
        return literal(out, c->def);
    }
}

int cadre__column_sql(const cadre__column *c, bool pg, cadre_buf *out)
{
    int rc = cadre_buf_appendf(out, "%s %s", c->name, cadre__column_type(c, pg));
    /* SQLite: AUTOINCREMENT so that the keys of deleted rows are never handed out again, as on
     * PostgreSQL (and as Django does) */
    if (rc == 0 && c->pk)
        rc = cadre_buf_append_str(out, c->type == CADRE__COL_INT64 && !pg ? " PRIMARY KEY AUTOINCREMENT"
                                                                         : " PRIMARY KEY");
    else if (rc == 0 && !c->null)
        rc = cadre_buf_append_str(out, " NOT NULL");
    if (rc == 0 && c->unique)
        rc = cadre_buf_append_str(out, " UNIQUE");
    if (rc == 0 && (c->def || c->def_now)) {
        rc = cadre_buf_append_str(out, " DEFAULT ");
        if (rc == 0)
            rc = cadre__default_sql(c, pg, out);
    }
    if (rc == 0 && c->ref_table) {
        static const char *const actions[] = { "RESTRICT", "CASCADE", "SET NULL" };
        rc = cadre_buf_appendf(out, " REFERENCES %s(%s) ON DELETE %s", c->ref_table, c->ref_column,
                               actions[c->on_delete]);
    }
    return rc;
}

int cadre__create_table_sql(const cadre__table *t, const char *as_name, bool pg, cadre__stmts *out)
{
    cadre_buf b;
    cadre_buf_init_arena(&b, out->arena, (size_t)1 << 20);
    int rc = cadre_buf_appendf(&b, "CREATE TABLE %s (", as_name);
    for (size_t i = 0; i < t->ncols && rc == 0; i++) {
        if (i)
            rc = cadre_buf_append_str(&b, ", ");
        if (rc == 0)
            rc = cadre__column_sql(&t->cols[i], pg, &b);
    }
    if (rc == 0)
        rc = cadre_buf_append_str(&b, ")");
    return rc ? rc : cadre__stmts_add(out, b.data, b.len);
}

int cadre__create_indexes_sql(const cadre__table *t, cadre__stmts *out)
{
    for (size_t i = 0; i < t->ncols; i++) {
        const cadre__column *c = &t->cols[i];
        if (!cadre__column_indexed(c))
            continue;
        char *sql = cadre_arena_printf(out->arena, "CREATE INDEX %s_%s_idx ON %s (%s)", t->name,
                                       c->name, t->name, c->name);
        int rc = sql ? cadre__stmts_add(out, sql, strlen(sql)) : CADRE_ENOMEM;
        if (rc)
            return rc;
    }
    for (size_t i = 0; i < t->nindexes; i++) {
        int rc = cadre__index_sql(t->name, &t->indexes[i], out);
        if (rc)
            return rc;
    }
    return 0;
}

int cadre__index_sql(const char *table, const cadre__index *ix, cadre__stmts *out)
{
    cadre_buf b;
    cadre_buf_init_arena(&b, out->arena, (size_t)1 << 16);
    int rc = cadre_buf_appendf(&b, "CREATE INDEX %s ON %s (", ix->name, table);
    for (size_t i = 0; i < ix->ncols && rc == 0; i++)
        rc = cadre_buf_appendf(&b, "%s%s", i ? ", " : "", ix->cols[i]);
    if (rc == 0)
        rc = cadre_buf_append_str(&b, ")");
    return rc ? rc : cadre__stmts_add(out, b.data, b.len);
}

int cadre_model_create_sql(const cadre_schema *m, const char *engine, cadre_buf *out)
{
    bool pg;
    int rc = cadre__engine_pg(engine, &pg);
    if (rc)
        return rc;
    cadre_arena arena;
    cadre_arena_init(&arena, 4096);
    cadre__table t;
    cadre__stmts stmts = { .arena = &arena };
    rc = cadre__model_table(m, &arena, &t);
    if (rc == 0)
        rc = cadre__create_table_sql(&t, t.name, pg, &stmts);
    if (rc == 0)
        rc = cadre__create_indexes_sql(&t, &stmts);
    for (size_t i = 0; i < stmts.len && rc == 0; i++)
        rc = cadre_buf_appendf(out, "%s%s", i ? "; " : "", stmts.items[i]);
    cadre_arena_free(&arena);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * What a constraint refused, per field
 * ------------------------------------------------------------------------------------------- */

/* Whether field i of row was written with a value: not null, and present — or, unless the
 * write was partial, a field that is not optional (an insert or a full update writes those
 * whether or not they are marked present). */
static bool written_value(const cadre_schema *m, const void *row, size_t i, bool partial)
{
    uint64_t set = *(const uint64_t *)((const char *)row + m->set_offset);
    uint64_t null = *(const uint64_t *)((const char *)row + m->null_offset);
    bool present = (set >> i & 1) || (!partial && !m->fields[i].optional);
    return present && !(null >> i & 1);
}

int cadre_model_conflicts(cadre_db *db, cadre_arena *arena, const cadre_schema *model,
                          const void *row, int64_t id, bool partial, cadre_verrors *errs)
{
    const cadre_field *pk = cadre_model_pk(model);
    int added = 0;
    for (size_t i = 0; i < model->nfields; i++) {
        const cadre_field *f = &model->fields[i];
        if (f->primary_key || !written_value(model, row, i, partial))
            continue;
        if (f->unique) {
            /* another row holds the value (the database's message names no field, and differs
             * between engines) */
            cadre_query q;
            bool taken = false;
            cadre_q_init(&q, db, model, arena);
            cadre_q_filter(&q, f->name, cadre__model_value(model, f, row, arena));
            if (id >= 0 && pk)
                cadre_q_exclude(&q, pk->name, CADRE_PINT(id));
            int rc = cadre_q_exists(&q, &taken);
            if (rc)
                return rc;
            if (taken) {
                cadre_buf input;
                cadre_json_writer w;
                cadre_buf_init_arena(&input, arena, (size_t)1 << 20);
                cadre_json_writer_init(&w, &input);
                cadre_schema_encode_field(f, row, &w);
                /* Django's words */
                char first = model->name[0] >= 'a' && model->name[0] <= 'z'
                                 ? (char)(model->name[0] - 32)
                                 : model->name[0];
                cadre_verror *v = cadre_verrors_push(
                    errs, "unique",
                    cadre_arena_printf(arena, "%c%s with this %s already exists.", first,
                                       model->name + 1, f->name),
                    "body", cadre_slice_cstr(f->name), -1);
                v->input = (cadre_slice){ input.data, input.len };
                v->input_is_json = true;
                added++;
            }
        }
        if (f->fk && f->type == CADRE_T_INT64) {
            /* a foreign key naming no row */
            int64_t ref = *(const int64_t *)((const char *)row + f->offset);
            const cadre_schema *target = f->fk();
            void *tmp = cadre_arena_alloc(arena, target->size);
            bool found = true;
            int rc = tmp ? cadre_model_get(db, arena, target, ref, tmp, &found) : CADRE_ENOMEM;
            if (rc)
                return rc;
            if (!found) {
                cadre_verror *v = cadre_verrors_push(
                    errs, "foreign_key",
                    cadre_arena_printf(arena, "No %s with id %lld", target->name, (long long)ref),
                    "body", cadre_slice_cstr(f->name), -1);
                v->input = cadre_slice_cstr(cadre_arena_printf(arena, "%lld", (long long)ref));
                v->input_is_json = true;
                added++;
            }
        }
    }
    return added;
}
