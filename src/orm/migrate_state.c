/*
 * The schema state a list of operations builds: each operation checked against the tables and
 * columns there are at that point, then applied. Replaying every migration gives the recorded
 * schema that makemigrations compares with the models and that migrate turns into SQL.
 */
#include "migrate_internal.h"

#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Operations and the schema state they build
 * ------------------------------------------------------------------------------------------- */

cadre__table *cadre__mig_find_table(state *s, const char *name)
{
    for (size_t i = 0; i < s->len; i++)
        if (strcmp(s->tables[i].name, name) == 0)
            return &s->tables[i];
    return NULL;
}

cadre__column *cadre__mig_find_col(const cadre__table *t, const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return &t->cols[i];
    return NULL;
}

bool cadre__mig_ident_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 63 || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

static cadre__column *cols_copy(cadre_arena *a, const cadre__column *cols, size_t n, size_t extra)
{
    cadre__column *c = cadre_arena_calloc(a, (n + extra + 1) * sizeof *c);
    if (c && n)
        memcpy(c, cols, n * sizeof *c);
    return c;
}

/* t's multi-column indexes, copied (with their column lists) so that changing them leaves other
 * states' alone; extra more slots. */
static cadre__index *indexes_copy(cadre_arena *a, const cadre__table *t, size_t extra)
{
    cadre__index *ix = cadre_arena_calloc(a, (t->nindexes + extra + 1) * sizeof *ix);
    for (size_t i = 0; ix && i < t->nindexes; i++) {
        ix[i] = t->indexes[i];
        ix[i].cols = cadre_arena_calloc(a, (ix[i].ncols + 1) * sizeof *ix[i].cols);
        if (!ix[i].cols)
            return NULL;
        memcpy(ix[i].cols, t->indexes[i].cols, ix[i].ncols * sizeof *ix[i].cols);
    }
    return ix;
}

/* The table of s that has the index name, or NULL (index names are the database's, not a
 * table's: both engines keep them in one namespace). */
static cadre__table *index_table(state *s, const char *name, size_t *at)
{
    for (size_t i = 0; i < s->len; i++)
        for (size_t j = 0; j < s->tables[i].nindexes; j++)
            if (strcmp(s->tables[i].indexes[j].name, name) == 0) {
                *at = j;
                return &s->tables[i];
            }
    return NULL;
}

/* Checks a column against the state it will live in (FK target, SET NULL on a nullable). */
static int check_column(state *s, const char *table, const cadre__column *c, const cadre__table *self,
                        const char *where)
{
    if (!cadre__mig_ident_ok(c->name)) {
        cadre_log(CADRE_LOG_ERROR, "%s: \"%s\" is not a valid column name", where, c->name);
        return CADRE_EINVAL;
    }
    if (c->pk && c->null) {
        cadre_log(CADRE_LOG_ERROR, "%s: %s.%s: a primary key cannot be nullable", where, table, c->name);
        return CADRE_EINVAL;
    }
    if (c->ref_table) {
        const cadre__table *t =
            strcmp(c->ref_table, table) == 0 ? self : cadre__mig_find_table(s, c->ref_table);
        const cadre__column *rc = t ? cadre__mig_find_col(t, c->ref_column) : NULL;
        if (!rc || !(rc->pk || rc->unique)) {
            cadre_log(CADRE_LOG_ERROR, "%s: %s.%s references %s(%s), which is not a primary key or "
                                       "unique column of a table that exists at that point",
                      where, table, c->name, c->ref_table, c->ref_column);
            return CADRE_EINVAL;
        }
        if (c->on_delete == CADRE_ON_DELETE_SET_NULL && !c->null) {
            cadre_log(CADRE_LOG_ERROR, "%s: %s.%s is ON DELETE SET NULL but not nullable", where,
                      table, c->name);
            return CADRE_EINVAL;
        }
    }
    return 0;
}

/* The tables whose columns reference table (other than itself). */
const cadre__table *cadre__mig_referenced_by(state *s, const char *table, const char **col)
{
    for (size_t i = 0; i < s->len; i++) {
        if (strcmp(s->tables[i].name, table) == 0)
            continue;
        for (size_t j = 0; j < s->tables[i].ncols; j++)
            if (s->tables[i].cols[j].ref_table && strcmp(s->tables[i].cols[j].ref_table, table) == 0) {
                *col = s->tables[i].cols[j].name;
                return &s->tables[i];
            }
    }
    return NULL;
}

/* Applies o to the state, refusing what cannot apply (where names the file and operation). */
int cadre__mig_apply_op(state *s, const op *o, const char *where)
{
    cadre__table *t = o->kind == OP_RENAME_TABLE ? cadre__mig_find_table(s, o->from)
                      : o->table                ? cadre__mig_find_table(s, o->table)
                                                : NULL;
    const char *tname = o->kind == OP_RENAME_TABLE ? o->from : o->table;
    if (!tname || !cadre__mig_ident_ok(tname)) {
        cadre_log(CADRE_LOG_ERROR, "%s: missing or invalid table name", where);
        return CADRE_EINVAL;
    }
    if (o->kind == OP_CREATE_TABLE) {
        if (t) {
            cadre_log(CADRE_LOG_ERROR, "%s: table %s exists already", where, tname);
            return CADRE_EINVAL;
        }
        size_t npk = 0;
        for (size_t i = 0; i < o->create.ncols; i++) {
            const cadre__column *c = &o->create.cols[i];
            int rc = check_column(s, tname, c, &o->create, where);
            if (rc)
                return rc;
            npk += c->pk;
            for (size_t j = 0; j < i; j++)
                if (strcmp(o->create.cols[j].name, c->name) == 0) {
                    cadre_log(CADRE_LOG_ERROR, "%s: table %s has two columns named %s", where, tname,
                              c->name);
                    return CADRE_EINVAL;
                }
        }
        if (npk > 1 || o->create.ncols == 0) {
            cadre_log(CADRE_LOG_ERROR, "%s: table %s needs columns and at most one primary key",
                      where, tname);
            return CADRE_EINVAL;
        }
        /* never NULL: an arena's, no maximum */
        cadre__table *nt = cadre_vec_push(&s->tables, &s->len, &s->cap, sizeof *nt, s->arena, 0);
        *nt = o->create;
        nt->module = s->module;
        nt->cols = cols_copy(s->arena, o->create.cols, o->create.ncols, 0);
        nt->indexes = NULL;
        nt->nindexes = 0;
        if (!nt->cols)
            return CADRE_ENOMEM;
        return 0;
    }
    if (!t) {
        cadre_log(CADRE_LOG_ERROR, "%s: no table %s at that point", where, tname);
        return CADRE_EINVAL;
    }
    const char *refcol;
    const cadre__table *by;
    size_t at;
    switch (o->kind) {
    case OP_ADD_INDEX: {
        const cadre__index *ix = &o->index;
        if (!cadre__mig_ident_ok(ix->name) || index_table(s, ix->name, &at) || ix->ncols == 0 ||
            ix->ncols > 16) {
            cadre_log(CADRE_LOG_ERROR, "%s: index \"%s\" on %s: a name that is not taken, and 1 to "
                                       "16 columns", where, ix->name ? ix->name : "", tname);
            return CADRE_EINVAL;
        }
        for (size_t i = 0; i < ix->ncols; i++)
            if (!cadre__mig_find_col(t, ix->cols[i])) {
                cadre_log(CADRE_LOG_ERROR, "%s: index %s: no column %s.%s at that point", where,
                          ix->name, tname, ix->cols[i]);
                return CADRE_EINVAL;
            }
        cadre__index *all = indexes_copy(s->arena, t, 1);
        if (!all)
            return CADRE_ENOMEM;
        all[t->nindexes] = *ix; /* the op's column list: never changed (copied before a rename) */
        t->indexes = all;
        t->nindexes++;
        return 0;
    }
    case OP_DROP_INDEX:
        if (!o->name || index_table(s, o->name, &at) != t) {
            cadre_log(CADRE_LOG_ERROR, "%s: no index %s on %s at that point", where,
                      o->name ? o->name : "(missing)", tname);
            return CADRE_EINVAL;
        }
        t->indexes = indexes_copy(s->arena, t, 0);
        if (!t->indexes)
            return CADRE_ENOMEM;
        memmove(t->indexes + at, t->indexes + at + 1, (t->nindexes - at - 1) * sizeof *t->indexes);
        t->nindexes--;
        return 0;
    case OP_DROP_TABLE:
        if ((by = cadre__mig_referenced_by(s, tname, &refcol)) != NULL) {
            cadre_log(CADRE_LOG_ERROR, "%s: table %s is still referenced by %s.%s", where, tname,
                      by->name, refcol);
            return CADRE_EINVAL;
        }
        *t = s->tables[--s->len];
        return 0;
    case OP_RENAME_TABLE:
        if (!o->to || !cadre__mig_ident_ok(o->to) || cadre__mig_find_table(s, o->to)) {
            cadre_log(CADRE_LOG_ERROR, "%s: cannot rename %s to \"%s\" (invalid or taken)", where,
                      tname, o->to ? o->to : "");
            return CADRE_EINVAL;
        }
        for (size_t i = 0; i < s->len; i++)
            for (size_t j = 0; j < s->tables[i].ncols; j++)
                if (s->tables[i].cols[j].ref_table && strcmp(s->tables[i].cols[j].ref_table, tname) == 0)
                    s->tables[i].cols[j].ref_table = o->to;
        t->name = o->to;
        return 0;
    case OP_ADD_COLUMN: {
        if (cadre__mig_find_col(t, o->col.name)) {
            cadre_log(CADRE_LOG_ERROR, "%s: %s.%s exists already", where, tname, o->col.name);
            return CADRE_EINVAL;
        }
        int rc = check_column(s, tname, &o->col, t, where);
        if (rc)
            return rc;
        if (o->col.pk) {
            cadre_log(CADRE_LOG_ERROR, "%s: %s.%s: a primary key cannot be added to a table",
                      where, tname, o->col.name);
            return CADRE_EINVAL;
        }
        cadre__column *cols = cols_copy(s->arena, t->cols, t->ncols, 1);
        if (!cols)
            return CADRE_ENOMEM;
        cols[t->ncols] = o->col;
        /* a column another module adds is that module's: only its migrations change it */
        cols[t->ncols].module = cadre__mig_owned(t, s->module) ? NULL : s->module;
        t->cols = cols;
        t->ncols++;
        return 0;
    }
    case OP_DROP_COLUMN:
    case OP_ALTER_COLUMN:
    case OP_RENAME_COLUMN: {
        const char *cname = o->kind == OP_DROP_COLUMN    ? o->name
                            : o->kind == OP_RENAME_COLUMN ? o->from
                                                          : o->col.name;
        cadre__column *c = cname ? cadre__mig_find_col(t, cname) : NULL;
        if (!c) {
            cadre_log(CADRE_LOG_ERROR, "%s: no column %s.%s at that point", where, tname,
                      cname ? cname : "(missing)");
            return CADRE_EINVAL;
        }
        const char *owner = cadre__mig_col_owner(t, c);
        if (owner && s->module && !cadre__mig_same_module(owner, s->module)) {
            cadre_log(CADRE_LOG_ERROR, "%s: %s.%s is module %s's column: module %s cannot change "
                                       "it", where, tname, cname, owner, s->module);
            return CADRE_EINVAL;
        }
        if (o->kind == OP_DROP_COLUMN) {
            if (c->pk || t->ncols == 1) {
                cadre_log(CADRE_LOG_ERROR, "%s: %s.%s is the primary key or the last column: "
                                           "drop the table instead", where, tname, cname);
                return CADRE_EINVAL;
            }
            cadre__column *cols = cols_copy(s->arena, t->cols, t->ncols, 0);
            cadre__index *ix = indexes_copy(s->arena, t, 0);
            if (!cols || !ix)
                return CADRE_ENOMEM;
            size_t n = 0; /* the indexes holding the column go with it, as in both engines */
            for (size_t i = 0; i < t->nindexes; i++) {
                bool holds = false;
                for (size_t j = 0; j < ix[i].ncols; j++)
                    holds |= strcmp(ix[i].cols[j], cname) == 0;
                if (!holds)
                    ix[n++] = ix[i];
            }
            size_t pos = (size_t)(c - t->cols);
            memmove(cols + pos, cols + pos + 1, (t->ncols - pos - 1) * sizeof *cols);
            t->cols = cols;
            t->ncols--;
            t->indexes = ix;
            t->nindexes = n;
            return 0;
        }
        if (o->kind == OP_RENAME_COLUMN) {
            if (!o->to || !cadre__mig_ident_ok(o->to) || cadre__mig_find_col(t, o->to)) {
                cadre_log(CADRE_LOG_ERROR, "%s: cannot rename %s.%s to \"%s\" (invalid or taken)",
                          where, tname, cname, o->to ? o->to : "");
                return CADRE_EINVAL;
            }
            for (size_t i = 0; i < s->len; i++)
                for (size_t j = 0; j < s->tables[i].ncols; j++) {
                    cadre__column *r = &s->tables[i].cols[j];
                    if (r->ref_table && strcmp(r->ref_table, tname) == 0 &&
                        strcmp(r->ref_column, cname) == 0)
                        r->ref_column = o->to;
                }
            if (!(t->indexes = indexes_copy(s->arena, t, 0)) && t->nindexes)
                return CADRE_ENOMEM;
            for (size_t i = 0; i < t->nindexes; i++)
                for (size_t j = 0; j < t->indexes[i].ncols; j++)
                    if (strcmp(t->indexes[i].cols[j], cname) == 0)
                        t->indexes[i].cols[j] = o->to;
            c->name = o->to;
            return 0;
        }
        if (o->col.pk != c->pk) {
            cadre_log(CADRE_LOG_ERROR, "%s: %s.%s: changing which column is the primary key is not "
                                       "supported", where, tname, cname);
            return CADRE_EINVAL;
        }
        int rc = check_column(s, tname, &o->col, t, where);
        if (rc)
            return rc;
        const char *mod = c->module;
        *c = o->col;
        c->module = mod;
        return 0;
    }
    default:
        cadre_log(CADRE_LOG_ERROR, "%s: unknown operation", where);
        return CADRE_EINVAL;
    }
}

/* The state after replaying ms[0..upto). */
bool cadre__mig_same_module(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

bool cadre__mig_owned(const cadre__table *t, const char *owner)
{
    return cadre__mig_same_module(t->module, owner);
}

const char *cadre__mig_col_owner(const cadre__table *t, const cadre__column *c)
{
    return c->module ? c->module : t->module;
}

int cadre__mig_replay(migration *ms, size_t upto, state *s)
{
    for (size_t i = 0; i < upto; i++)
        for (size_t j = 0; j < ms[i].nops; j++) {
            s->module = ms[i].module;
            char *where = cadre_arena_printf(s->arena, "%s: operation %zu", ms[i].path, j + 1);
            int rc = where ? cadre__mig_apply_op(s, &ms[i].ops[j], where) : CADRE_ENOMEM;
            if (rc)
                return rc;
        }
    return 0;
}

/* A copy of s that apply_op on s cannot change. */
int cadre__mig_state_clone(const state *s, state *out)
{
    *out = (state){ s->arena, cadre_arena_alloc(s->arena, (s->len + 1) * sizeof(cadre__table)),
                    s->len, s->len + 1, s->module };
    if (!out->tables)
        return CADRE_ENOMEM;
    for (size_t i = 0; i < s->len; i++) {
        out->tables[i] = s->tables[i];
        out->tables[i].cols = cols_copy(s->arena, s->tables[i].cols, s->tables[i].ncols, 0);
        out->tables[i].indexes = indexes_copy(s->arena, &s->tables[i], 0);
        if (!out->tables[i].cols || !out->tables[i].indexes)
            return CADRE_ENOMEM;
    }
    return 0;
}
