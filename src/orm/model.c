/*
 * Models: table definitions derived from the same field descriptors that decode JSON. The SQL
 * differs between engines only in column types and the auto-increment primary key.
 */
#include <cadre/orm.h>

#include <string.h>

const cadre_field *cadre_model_pk(const cadre_schema *model)
{
    for (size_t i = 0; i < model->nfields; i++)
        if (model->fields[i].primary_key)
            return &model->fields[i];
    return NULL;
}

static const char *column_type(const cadre_field *f, bool pg)
{
    switch (f->type) {
    case CADRE_T_BOOL: return pg ? "BOOLEAN" : "INTEGER";
    case CADRE_T_INT32: return "INTEGER";
    case CADRE_T_INT64: return pg ? "BIGINT" : "INTEGER";
    case CADRE_T_DOUBLE: return pg ? "DOUBLE PRECISION" : "REAL";
    case CADRE_T_STRING:
    case CADRE_T_ENUM: return "TEXT";
    case CADRE_T_DATE: return pg ? "DATE" : "TEXT";
    case CADRE_T_DATETIME: return pg ? "TIMESTAMPTZ" : "TEXT";
    case CADRE_T_UUID: return pg ? "UUID" : "TEXT";
    default: return NULL; /* arrays and nested objects have no column form (yet) */
    }
}

/* A quoted SQL string literal (defaults only: they come from the program, not from users). */
static int literal(cadre_buf *out, const char *s)
{
    int rc = cadre_buf_append(out, "'", 1);
    for (; *s && rc == 0; s++)
        rc = *s == '\'' ? cadre_buf_append(out, "''", 2) : cadre_buf_append(out, s, 1);
    return rc ? rc : cadre_buf_append(out, "'", 1);
}

static int default_clause(const cadre_field *f, bool pg, cadre_buf *out)
{
    if (!f->has_default)
        return 0;
    switch (f->type) {
    case CADRE_T_BOOL:
        return cadre_buf_appendf(out, " DEFAULT %s", pg ? (f->def_i ? "TRUE" : "FALSE")
                                                        : (f->def_i ? "1" : "0"));
    case CADRE_T_INT32:
    case CADRE_T_INT64:
        return cadre_buf_appendf(out, " DEFAULT %lld", (long long)f->def_i);
    case CADRE_T_DOUBLE:
        return cadre_buf_appendf(out, " DEFAULT %.17g", f->def_d);
    case CADRE_T_STRING: {
        if (!f->def_s)
            return 0;
        int rc = cadre_buf_append_str(out, " DEFAULT ");
        return rc ? rc : literal(out, f->def_s);
    }
    case CADRE_T_ENUM: {
        const cadre_enum *en = f->en();
        if (f->def_i < 0 || (size_t)f->def_i >= en->count)
            return 0;
        int rc = cadre_buf_append_str(out, " DEFAULT ");
        return rc ? rc : literal(out, en->values[f->def_i]);
    }
    default:
        return 0;
    }
}

int cadre_model_create_sql(const cadre_schema *m, const char *engine, cadre_buf *out)
{
    bool pg;
    if (strcmp(engine, "postgresql") == 0)
        pg = true;
    else if (strcmp(engine, "sqlite") == 0)
        pg = false;
    else {
        cadre_log(CADRE_LOG_ERROR, "model %s: unknown database engine %s", m->name, engine);
        return CADRE_EINVAL;
    }
    int rc = cadre_buf_appendf(out, "CREATE TABLE %s (", m->name);
    for (size_t i = 0; i < m->nfields && rc == 0; i++) {
        const cadre_field *f = &m->fields[i];
        const char *type = column_type(f, pg);
        if (!type) {
            cadre_log(CADRE_LOG_ERROR, "model %s: field %s has no column type (arrays and objects "
                                       "are not columns)", m->name, f->name);
            return CADRE_EINVAL;
        }
        bool auto_pk = f->primary_key && f->type == CADRE_T_INT64;
        rc = cadre_buf_appendf(out, "%s%s ", i ? ", " : "", f->name);
        if (rc == 0)
            rc = cadre_buf_append_str(out, auto_pk ? (pg ? "BIGSERIAL" : "INTEGER") : type);
        if (rc == 0 && f->primary_key)
            rc = cadre_buf_append_str(out, " PRIMARY KEY");
        else if (rc == 0 && !f->optional && !f->nullable)
            rc = cadre_buf_append_str(out, " NOT NULL");
        if (rc == 0 && f->unique && !f->primary_key)
            rc = cadre_buf_append_str(out, " UNIQUE");
        if (rc == 0)
            rc = default_clause(f, pg, out);
        if (rc == 0 && f->fk) {
            const cadre_schema *target = f->fk();
            const cadre_field *tpk = cadre_model_pk(target);
            if (!tpk) {
                cadre_log(CADRE_LOG_ERROR, "model %s: %s references %s, which has no primary key",
                          m->name, f->name, target->name);
                return CADRE_EINVAL;
            }
            if (f->on_delete == CADRE_ON_DELETE_SET_NULL && !f->nullable && !f->optional) {
                cadre_log(CADRE_LOG_ERROR, "model %s: %s is ON DELETE SET NULL but cannot be null "
                                           "(add CADRE_NULLABLE)", m->name, f->name);
                return CADRE_EINVAL;
            }
            static const char *const actions[] = { "RESTRICT", "CASCADE", "SET NULL" };
            rc = cadre_buf_appendf(out, " REFERENCES %s(%s) ON DELETE %s", target->name, tpk->name,
                                   actions[f->on_delete >= 0 && f->on_delete <= 2 ? f->on_delete : 0]);
        }
    }
    if (rc == 0)
        rc = cadre_buf_append_str(out, ")");
    for (size_t i = 0; i < m->nfields && rc == 0; i++) {
        const cadre_field *f = &m->fields[i];
        /* foreign keys are indexed too: joins and ON DELETE checks look them up */
        if ((f->db_index || f->fk) && !f->unique && !f->primary_key)
            rc = cadre_buf_appendf(out, "; CREATE INDEX %s_%s_idx ON %s (%s)", m->name, f->name,
                                   m->name, f->name);
    }
    return rc;
}
