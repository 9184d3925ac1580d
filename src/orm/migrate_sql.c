/*
 * The SQL of each operation, per engine, given the state before it: PostgreSQL alters a table in
 * place; SQLite renames and adds columns in place when it can and otherwise rebuilds the table.
 */
#include "migrate_internal.h"

#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * SQL for an operation, given the state before it
 * ------------------------------------------------------------------------------------------- */

static int stmtf(cadre__stmts *out, const char *fmt, ...) CADRE_PRINTF(2, 3);
static int stmtf(cadre__stmts *out, const char *fmt, ...)
{
    cadre_buf b;
    cadre_buf_init_arena(&b, out->arena, (size_t)1 << 20);
    va_list ap;
    va_start(ap, fmt);
    int rc = cadre_buf_vappendf(&b, fmt, ap);
    va_end(ap);
    return rc ? rc : cadre__stmts_add(out, b.data, b.len);
}

/* SQLite changes a table beyond renames and simple additions by rebuilding it, as its manual
 * documents: create the new shape, copy the rows, drop the old table, rename the new one. Foreign
 * key enforcement is off during migrations (see run_migration), and checked before the commit. */
static int sqlite_rebuild(const cadre__table *old, const cadre__table *new, cadre__stmts *out)
{
    char *tmp = cadre_arena_printf(out->arena, "cadre__new_%s", new->name);
    if (!tmp)
        return CADRE_ENOMEM;
    int rc = cadre__create_table_sql(new, tmp, false, out);
    cadre_buf cols, vals;
    cadre_buf_init_arena(&cols, out->arena, (size_t)1 << 20);
    cadre_buf_init_arena(&vals, out->arena, (size_t)1 << 20);
    bool any = false;
    for (size_t i = 0; i < new->ncols && rc == 0; i++) {
        const cadre__column *c = &new->cols[i];
        const cadre__column *was = cadre__mig_find_col(old, c->name);
        if (!was)
            continue; /* a new column takes its default */
        rc = cadre_buf_appendf(&cols, "%s%s", any ? ", " : "", c->name);
        if (rc == 0 && was->null && !c->null && (c->def || c->def_now)) { /* NULLs take the default */
            rc = cadre_buf_appendf(&vals, "%sCOALESCE(%s, ", any ? ", " : "", c->name);
            if (rc == 0)
                rc = cadre__default_sql(c, false, &vals);
            if (rc == 0)
                rc = cadre_buf_append_str(&vals, ")");
        } else if (rc == 0) {
            rc = cadre_buf_appendf(&vals, "%s%s", any ? ", " : "", c->name);
        }
        any = true;
    }
    if (rc == 0 && any)
        rc = stmtf(out, "INSERT INTO %s (%s) SELECT %s FROM %s", tmp, cadre_buf_cstr(&cols),
                   cadre_buf_cstr(&vals), old->name);
    /* AUTOINCREMENT's high-water mark (DROP TABLE deletes it): keys of rows deleted before the
     * rebuild must stay unused after it */
    bool autoinc = false;
    for (size_t i = 0; i < new->ncols; i++)
        autoinc |= new->cols[i].pk && new->cols[i].type == CADRE__COL_INT64;
    if (rc == 0 && autoinc)
        rc = stmtf(out, "UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE "
                        "name = '%s') WHERE name = '%s' AND seq < (SELECT seq FROM sqlite_sequence "
                        "WHERE name = '%s')", old->name, tmp, old->name);
    if (rc == 0 && autoinc)
        rc = stmtf(out, "INSERT INTO sqlite_sequence (name, seq) SELECT '%s', seq FROM "
                        "sqlite_sequence WHERE name = '%s' AND NOT EXISTS (SELECT 1 FROM "
                        "sqlite_sequence WHERE name = '%s')", tmp, old->name, tmp);
    if (rc == 0)
        rc = stmtf(out, "DROP TABLE %s", old->name);
    if (rc == 0)
        rc = stmtf(out, "ALTER TABLE %s RENAME TO %s", tmp, new->name);
    return rc ? rc : cadre__create_indexes_sql(new, out);
}

/* PostgreSQL alters a column in place, one property at a time. Constraint and index names are
 * the ones PostgreSQL gives inline constraints (TABLE_COLUMN_key, TABLE_COLUMN_fkey) and
 * cadre__create_indexes_sql gives indexes (TABLE_COLUMN_idx). */
static int pg_alter(const char *t, const cadre__column *was, const cadre__column *c, cadre__stmts *out)
{
    static const char *const actions[] = { "RESTRICT", "CASCADE", "SET NULL" };
    const char *n = c->name;
    int rc = 0;
    bool ref_changed = !was->ref_table != !c->ref_table ||
                       (c->ref_table && (strcmp(was->ref_table, c->ref_table) != 0 ||
                                         strcmp(was->ref_column, c->ref_column) != 0 ||
                                         was->on_delete != c->on_delete));
    if (was->ref_table && ref_changed)
        rc = stmtf(out, "ALTER TABLE %s DROP CONSTRAINT %s_%s_fkey", t, t, n);
    if (rc == 0 && was->unique && !c->unique)
        rc = stmtf(out, "ALTER TABLE %s DROP CONSTRAINT %s_%s_key", t, t, n);
    if (rc == 0 && cadre__column_indexed(was) && !cadre__column_indexed(c))
        rc = stmtf(out, "DROP INDEX %s_%s_idx", t, n);
    if (rc == 0 && was->type != c->type) {
        cadre__column plain = *c;
        plain.pk = false; /* BIGINT, not BIGSERIAL */
        const char *type = cadre__column_type(&plain, true);
        rc = stmtf(out, "ALTER TABLE %s ALTER COLUMN %s TYPE %s USING %s::%s", t, n, type, n, type);
    }
    bool has_def = c->def || c->def_now;
    bool def_changed = !was->def != !c->def || (c->def && strcmp(was->def, c->def) != 0) ||
                       was->def_now != c->def_now;
    if (rc == 0 && def_changed && !has_def)
        rc = stmtf(out, "ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT", t, n);
    if (rc == 0 && has_def && (def_changed || (was->null && !c->null))) {
        cadre_buf d;
        cadre_buf_init_arena(&d, out->arena, 1024);
        rc = cadre__default_sql(c, true, &d);
        rc = rc ? rc : cadre_buf_cstr(&d) ? 0 : CADRE_ENOMEM;
        if (rc == 0 && def_changed)
            rc = stmtf(out, "ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s", t, n, d.data);
        if (rc == 0 && was->null && !c->null) /* existing NULLs take the default */
            rc = stmtf(out, "UPDATE %s SET %s = %s WHERE %s IS NULL", t, n, d.data, n);
    }
    if (rc == 0 && was->null != c->null && !c->pk)
        rc = stmtf(out, "ALTER TABLE %s ALTER COLUMN %s %s NOT NULL", t, n, c->null ? "DROP" : "SET");
    if (rc == 0 && !was->unique && c->unique)
        rc = stmtf(out, "ALTER TABLE %s ADD CONSTRAINT %s_%s_key UNIQUE (%s)", t, t, n, n);
    if (rc == 0 && c->ref_table && ref_changed)
        rc = stmtf(out, "ALTER TABLE %s ADD CONSTRAINT %s_%s_fkey FOREIGN KEY (%s) REFERENCES %s(%s) "
                        "ON DELETE %s", t, t, n, n, c->ref_table, c->ref_column, actions[c->on_delete]);
    if (rc == 0 && !cadre__column_indexed(was) && cadre__column_indexed(c))
        rc = stmtf(out, "CREATE INDEX %s_%s_idx ON %s (%s)", t, n, t, n);
    return rc;
}

/* Renames what carries a table's or a column's name: constraints and indexes (PostgreSQL), or the
 * indexes (SQLite, whose other constraints have no names to keep in step). */
static int rename_named(const cadre__table *t, const char *new_table, const cadre__column *c,
                        const char *new_col, bool pg, cadre__stmts *out)
{
    const char *ot = t->name, *nt = new_table, *oc = c->name, *nc = new_col;
    int rc = 0;
    if (pg && c->pk && strcmp(ot, nt) != 0)
        rc = stmtf(out, "ALTER TABLE %s RENAME CONSTRAINT %s_pkey TO %s_pkey", nt, ot, nt);
    if (rc == 0 && pg && c->unique)
        rc = stmtf(out, "ALTER TABLE %s RENAME CONSTRAINT %s_%s_key TO %s_%s_key", nt, ot, oc, nt, nc);
    if (rc == 0 && pg && c->ref_table)
        rc = stmtf(out, "ALTER TABLE %s RENAME CONSTRAINT %s_%s_fkey TO %s_%s_fkey", nt, ot, oc, nt, nc);
    if (rc == 0 && cadre__column_indexed(c)) {
        if (pg)
            rc = stmtf(out, "ALTER INDEX %s_%s_idx RENAME TO %s_%s_idx", ot, oc, nt, nc);
        else {
            rc = stmtf(out, "DROP INDEX %s_%s_idx", ot, oc);
            if (rc == 0)
                rc = stmtf(out, "CREATE INDEX %s_%s_idx ON %s (%s)", nt, nc, nt, nc);
        }
    }
    return rc;
}

/* The statements of o, run against the state s it applies to (s is left unchanged). */
static int op_sql(state *s, const op *o, bool pg, cadre__stmts *out)
{
    if (o->kind == OP_CREATE_TABLE) {
        int rc = cadre__create_table_sql(&o->create, o->create.name, pg, out);
        return rc ? rc : cadre__create_indexes_sql(&o->create, out);
    }
    if (o->kind == OP_RENAME_TABLE) {
        const cadre__table *t = cadre__mig_find_table(s, o->from);
        int rc = stmtf(out, "ALTER TABLE %s RENAME TO %s", o->from, o->to);
        for (size_t i = 0; i < t->ncols && rc == 0; i++)
            rc = rename_named(t, o->to, &t->cols[i], t->cols[i].name, pg, out);
        return rc;
    }
    if (o->kind == OP_DROP_TABLE)
        return stmtf(out, "DROP TABLE %s", o->table);
    if (o->kind == OP_ADD_INDEX)
        return cadre__index_sql(o->table, &o->index, out);
    if (o->kind == OP_DROP_INDEX)
        return stmtf(out, "DROP INDEX %s", o->name);
    const cadre__table *t = cadre__mig_find_table(s, o->table);
    if (o->kind == OP_RENAME_COLUMN) {
        int rc = stmtf(out, "ALTER TABLE %s RENAME COLUMN %s TO %s", o->table, o->from, o->to);
        return rc ? rc : rename_named(t, t->name, cadre__mig_find_col(t, o->from), o->to, pg, out);
    }
    if (pg) {
        cadre_buf b;
        cadre_buf_init_arena(&b, out->arena, (size_t)1 << 16);
        switch (o->kind) {
        case OP_ADD_COLUMN: {
            int rc = cadre__column_sql(&o->col, true, &b);
            if (rc == 0)
                rc = stmtf(out, "ALTER TABLE %s ADD COLUMN %s", o->table, cadre_buf_cstr(&b));
            if (rc == 0 && cadre__column_indexed(&o->col))
                rc = stmtf(out, "CREATE INDEX %s_%s_idx ON %s (%s)", o->table, o->col.name, o->table,
                           o->col.name);
            return rc;
        }
        case OP_DROP_COLUMN: /* its constraints and indexes go with it */
            return stmtf(out, "ALTER TABLE %s DROP COLUMN %s", o->table, o->name);
        default:
            return pg_alter(o->table, cadre__mig_find_col(t, o->col.name), &o->col, out);
        }
    }
    /* SQLite: ADD COLUMN when it can (no UNIQUE, a constant value for the rows there: SQLite
     * refuses an expression default such as the current time), else a rebuild */
    const cadre__column *c = &o->col;
    if (o->kind == OP_ADD_COLUMN && !c->unique && !c->def_now && (c->null || c->def)) {
        cadre_buf b;
        cadre_buf_init_arena(&b, out->arena, (size_t)1 << 16);
        int rc = cadre__column_sql(c, false, &b);
        if (rc == 0)
            rc = stmtf(out, "ALTER TABLE %s ADD COLUMN %s", o->table, cadre_buf_cstr(&b));
        if (rc == 0 && cadre__column_indexed(c))
            rc = stmtf(out, "CREATE INDEX %s_%s_idx ON %s (%s)", o->table, c->name, o->table, c->name);
        return rc;
    }
    /* the table after the operation, on a scratch copy of the state */
    state after;
    int rc = cadre__mig_state_clone(s, &after);
    if (rc)
        return rc;
    cadre__table *copy = cadre__mig_find_table(&after, t->name);
    rc = cadre__mig_apply_op(&after, o, "sql");
    return rc ? rc : sqlite_rebuild(t, copy, out);
}

/* Applies o to s (refusing what cannot apply) and appends its SQL for the state before it. */
int cadre__mig_step(state *s, const op *o, bool pg, cadre__stmts *out, const char *where)
{
    state before;
    int rc = cadre__mig_state_clone(s, &before);
    if (rc == 0)
        rc = cadre__mig_apply_op(s, o, where);
    return rc ? rc : op_sql(&before, o, pg, out);
}
