/*
 * Migrations: engine-neutral JSON files of table operations. Replaying them gives the recorded
 * schema (a list of tables of columns, the same cadre__column the models become); makemigrations
 * diffs that with the models; migrate turns each operation into SQL for the engine at hand.
 *
 * File format (written by makemigrations, readable and reviewable):
 *
 *   {
 *     "cadre_migration": 1,
 *     "name": "0002_product_sku",
 *     "depends_on": "0001_initial",
 *     "operations": [
 *       {"op": "add_column", "table": "product", "column":
 *         {"name": "sku", "type": "text", "nullable": true, "indexed": true}}
 *     ]
 *   }
 */
#include <cadre/migrate.h>

#include "orm_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------------
 * The file format, declared with the schema module (so a hand-edited file gets precise errors)
 * ------------------------------------------------------------------------------------------- */

#define MIG_TYPES(V)                                                                               \
    V(MIG_BOOL, "bool")                                                                            \
    V(MIG_INT32, "int32")                                                                          \
    V(MIG_INT64, "int64")                                                                          \
    V(MIG_DOUBLE, "double")                                                                        \
    V(MIG_TEXT, "text")                                                                            \
    V(MIG_DATE, "date")                                                                            \
    V(MIG_DATETIME, "datetime")                                                                    \
    V(MIG_UUID, "uuid")
CADRE_ENUM(mig_type, MIG_TYPES) /* in the order of enum cadre__coltype */

#define MIG_ON_DELETE(V) V(MIG_PROTECT, "protect") V(MIG_CASCADE, "cascade") V(MIG_SET_NULL, "set_null")
CADRE_ENUM(mig_on_delete, MIG_ON_DELETE) /* in the order of CADRE_ON_DELETE_* */

#define MIG_OPS(V)                                                                                 \
    V(OP_CREATE_TABLE, "create_table")                                                             \
    V(OP_DROP_TABLE, "drop_table")                                                                 \
    V(OP_RENAME_TABLE, "rename_table")                                                             \
    V(OP_ADD_COLUMN, "add_column")                                                                 \
    V(OP_DROP_COLUMN, "drop_column")                                                               \
    V(OP_ALTER_COLUMN, "alter_column")                                                             \
    V(OP_RENAME_COLUMN, "rename_column")
CADRE_ENUM(mig_op_kind, MIG_OPS)

#define MIG_REF_FIELDS(F)                                                                          \
    F(string, table, CADRE_MIN_LEN(1))                                                             \
    F(string, column, CADRE_MIN_LEN(1))                                                            \
    F(enum(mig_on_delete), on_delete, CADRE_DEFAULT(MIG_PROTECT))
CADRE_SCHEMA_STRICT(mig_ref, MIG_REF_FIELDS)

#define MIG_COLUMN_FIELDS(F)                                                                       \
    F(string, name, CADRE_MIN_LEN(1))                                                              \
    F(enum(mig_type), type)                                                                        \
    F(bool, primary_key, CADRE_DEFAULT(false))                                                     \
    F(bool, nullable, CADRE_DEFAULT(false))                                                        \
    F(bool, unique, CADRE_DEFAULT(false))                                                          \
    F(bool, indexed, CADRE_DEFAULT(false))                                                         \
    F(string, default_value, CADRE_OPTIONAL)                                                       \
    F(bool, default_now, CADRE_DEFAULT(false))                                                     \
    F(object(mig_ref), references, CADRE_OPTIONAL)
CADRE_SCHEMA_STRICT(mig_column, MIG_COLUMN_FIELDS)

#define MIG_OP_FIELDS(F)                                                                           \
    F(enum(mig_op_kind), op)                                                                       \
    F(string, table, CADRE_OPTIONAL)                                                               \
    F(array(mig_column), columns, CADRE_OPTIONAL)                                                  \
    F(object(mig_column), column, CADRE_OPTIONAL)                                                  \
    F(string, name, CADRE_OPTIONAL)                                                                \
    F(string, from, CADRE_OPTIONAL)                                                                \
    F(string, to, CADRE_OPTIONAL)
CADRE_SCHEMA_STRICT(mig_op, MIG_OP_FIELDS)

#define MIG_FILE_FIELDS(F)                                                                         \
    F(int32, cadre_migration, CADRE_GE(1), CADRE_LE(1))                                            \
    F(string, name, CADRE_MIN_LEN(1))                                                              \
    F(string, depends_on, CADRE_NULLABLE)                                                          \
    F(array(mig_op), operations)
CADRE_SCHEMA_STRICT(mig_file, MIG_FILE_FIELDS)

/* ---------------------------------------------------------------------------------------------
 * Operations and the schema state they build
 * ------------------------------------------------------------------------------------------- */

typedef struct op {
    int kind;            /* mig_op_kind */
    const char *table;   /* every kind but rename_table */
    cadre__table create; /* create_table */
    cadre__column col;   /* add_column, alter_column: the whole new definition */
    const char *name;    /* drop_column */
    const char *from, *to; /* rename_table, rename_column */
} op;

typedef struct migration {
    char *name; /* "0002_product_sku" */
    char *path;
    char *depends_on; /* NULL for the first */
    op *ops;
    size_t nops;
} migration;

typedef struct state {
    cadre_arena *arena;
    cadre__table *tables;
    size_t len, cap;
} state;

static cadre__table *find_table(state *s, const char *name)
{
    for (size_t i = 0; i < s->len; i++)
        if (strcmp(s->tables[i].name, name) == 0)
            return &s->tables[i];
    return NULL;
}

static cadre__column *find_col(const cadre__table *t, const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->cols[i].name, name) == 0)
            return &t->cols[i];
    return NULL;
}

static bool ident_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 63 || !((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

static bool col_equal(const cadre__column *a, const cadre__column *b)
{
    return strcmp(a->name, b->name) == 0 && a->type == b->type && a->pk == b->pk &&
           a->null == b->null && a->unique == b->unique && a->index == b->index &&
           (a->def == b->def || (a->def && b->def && strcmp(a->def, b->def) == 0)) &&
           a->def_now == b->def_now &&
           (a->ref_table == b->ref_table ||
            (a->ref_table && b->ref_table && strcmp(a->ref_table, b->ref_table) == 0 &&
             strcmp(a->ref_column, b->ref_column) == 0 && a->on_delete == b->on_delete));
}

static cadre__column *cols_copy(cadre_arena *a, const cadre__column *cols, size_t n, size_t extra)
{
    cadre__column *c = cadre_arena_calloc(a, (n + extra + 1) * sizeof *c);
    if (c && n)
        memcpy(c, cols, n * sizeof *c);
    return c;
}

/* Checks a column against the state it will live in (FK target, SET NULL on a nullable). */
static int check_column(state *s, const char *table, const cadre__column *c, const cadre__table *self,
                        const char *where)
{
    if (!ident_ok(c->name)) {
        cadre_log(CADRE_LOG_ERROR, "%s: \"%s\" is not a valid column name", where, c->name);
        return CADRE_EINVAL;
    }
    if (c->pk && c->null) {
        cadre_log(CADRE_LOG_ERROR, "%s: %s.%s: a primary key cannot be nullable", where, table, c->name);
        return CADRE_EINVAL;
    }
    if (c->ref_table) {
        const cadre__table *t = strcmp(c->ref_table, table) == 0 ? self : find_table(s, c->ref_table);
        const cadre__column *rc = t ? find_col(t, c->ref_column) : NULL;
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
static const cadre__table *referenced_by(state *s, const char *table, const char **col)
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
static int apply_op(state *s, const op *o, const char *where)
{
    cadre__table *t = o->kind == OP_RENAME_TABLE ? find_table(s, o->from)
                      : o->table                ? find_table(s, o->table)
                                                : NULL;
    const char *tname = o->kind == OP_RENAME_TABLE ? o->from : o->table;
    if (!tname || !ident_ok(tname)) {
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
        if (s->len == s->cap) {
            size_t cap = s->cap ? s->cap * 2 : 16;
            cadre__table *n = cadre_arena_alloc(s->arena, cap * sizeof *n);
            if (!n)
                return CADRE_ENOMEM;
            if (s->len)
                memcpy(n, s->tables, s->len * sizeof *n);
            s->tables = n;
            s->cap = cap;
        }
        s->tables[s->len] = o->create;
        s->tables[s->len].cols = cols_copy(s->arena, o->create.cols, o->create.ncols, 0);
        if (!s->tables[s->len].cols)
            return CADRE_ENOMEM;
        s->len++;
        return 0;
    }
    if (!t) {
        cadre_log(CADRE_LOG_ERROR, "%s: no table %s at that point", where, tname);
        return CADRE_EINVAL;
    }
    const char *refcol;
    const cadre__table *by;
    switch (o->kind) {
    case OP_DROP_TABLE:
        if ((by = referenced_by(s, tname, &refcol)) != NULL) {
            cadre_log(CADRE_LOG_ERROR, "%s: table %s is still referenced by %s.%s", where, tname,
                      by->name, refcol);
            return CADRE_EINVAL;
        }
        *t = s->tables[--s->len];
        return 0;
    case OP_RENAME_TABLE:
        if (!o->to || !ident_ok(o->to) || find_table(s, o->to)) {
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
        if (find_col(t, o->col.name)) {
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
        cadre__column *c = cname ? find_col(t, cname) : NULL;
        if (!c) {
            cadre_log(CADRE_LOG_ERROR, "%s: no column %s.%s at that point", where, tname,
                      cname ? cname : "(missing)");
            return CADRE_EINVAL;
        }
        if (o->kind == OP_DROP_COLUMN) {
            if (c->pk || t->ncols == 1) {
                cadre_log(CADRE_LOG_ERROR, "%s: %s.%s is the primary key or the last column: "
                                           "drop the table instead", where, tname, cname);
                return CADRE_EINVAL;
            }
            cadre__column *cols = cols_copy(s->arena, t->cols, t->ncols, 0);
            if (!cols)
                return CADRE_ENOMEM;
            size_t at = (size_t)(c - t->cols);
            memmove(cols + at, cols + at + 1, (t->ncols - at - 1) * sizeof *cols);
            t->cols = cols;
            t->ncols--;
            return 0;
        }
        if (o->kind == OP_RENAME_COLUMN) {
            if (!o->to || !ident_ok(o->to) || find_col(t, o->to)) {
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
        *c = o->col;
        return 0;
    }
    default:
        cadre_log(CADRE_LOG_ERROR, "%s: unknown operation", where);
        return CADRE_EINVAL;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Reading migration files
 * ------------------------------------------------------------------------------------------- */

static char *dup_slice(cadre_arena *a, cadre_slice s)
{
    return s.ptr ? cadre_arena_strndup(a, s.ptr, s.len) : NULL;
}

/* A default as written in a file, checked against the column type and put in the canonical form
 * the models produce (so that "1.50" and 1.5 compare equal). */
static int normalize_default(cadre_arena *a, cadre__column *c, const char *where)
{
    if (!c->def)
        return 0;
    char *end;
    errno = 0;
    switch (c->type) {
    case CADRE__COL_BOOL:
        if (strcmp(c->def, "true") != 0 && strcmp(c->def, "false") != 0)
            goto bad;
        return 0;
    case CADRE__COL_INT32:
    case CADRE__COL_INT64: {
        long long v = strtoll(c->def, &end, 10);
        if (errno || end == c->def || *end)
            goto bad;
        c->def = cadre_arena_printf(a, "%lld", v);
        return c->def ? 0 : CADRE_ENOMEM;
    }
    case CADRE__COL_DOUBLE: {
        double v = strtod(c->def, &end);
        if (errno || end == c->def || *end || v != v)
            goto bad;
        c->def = cadre_arena_printf(a, "%.17g", v);
        return c->def ? 0 : CADRE_ENOMEM;
    }
    default:
        return 0;
    }
bad:
    cadre_log(CADRE_LOG_ERROR, "%s: column %s: default_value \"%s\" is not a %s", where, c->name,
              c->def, mig_type__enum()->values[c->type]);
    return CADRE_EINVAL;
}

static int column_from(cadre_arena *a, const mig_column *in, cadre__column *c, const char *where)
{
    *c = (cadre__column){ .name = dup_slice(a, in->name), .type = (int)in->type,
                          .pk = in->primary_key, .null = in->nullable, .unique = in->unique,
                          .index = in->indexed, .def_now = in->default_now };
    if (cadre_schema_has(CADRE_SCHEMA_OF(mig_column), in, "default_value")) {
        if (memchr(in->default_value.ptr, '\0', in->default_value.len)) {
            cadre_log(CADRE_LOG_ERROR, "%s: column %s: default_value holds a NUL character", where,
                      c->name);
            return CADRE_EINVAL;
        }
        c->def = dup_slice(a, in->default_value);
    }
    if (cadre_schema_has(CADRE_SCHEMA_OF(mig_column), in, "references")) {
        c->ref_table = dup_slice(a, in->references.table);
        c->ref_column = dup_slice(a, in->references.column);
        c->on_delete = (int)in->references.on_delete;
        if (!ident_ok(c->ref_table) || !ident_ok(c->ref_column)) {
            cadre_log(CADRE_LOG_ERROR, "%s: column %s: invalid references", where, c->name);
            return CADRE_EINVAL;
        }
    }
    if (c->def_now && (c->def || (c->type != CADRE__COL_DATETIME && c->type != CADRE__COL_DATE))) {
        cadre_log(CADRE_LOG_ERROR, "%s: column %s: default_now needs a date or datetime column "
                                   "and no default_value", where, c->name);
        return CADRE_EINVAL;
    }
    return normalize_default(a, c, where);
}

static int read_file(const char *path, cadre_arena *a, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cadre_log(CADRE_LOG_ERROR, "cannot read %s: %s", path, strerror(errno));
        return CADRE_EIO;
    }
    cadre_buf b;
    cadre_buf_init_arena(&b, a, (size_t)64 << 20);
    char chunk[8192];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = cadre_buf_append(&b, chunk, n);
    if (rc == 0 && ferror(f))
        rc = CADRE_EIO;
    fclose(f);
    if (rc) {
        cadre_log(CADRE_LOG_ERROR, "cannot read %s: %s", path, cadre_strerror(rc));
        return rc;
    }
    *data = b.data ? b.data : "";
    *len = b.len;
    return 0;
}

/* Decodes and checks one migration's text (name: what the file name says it is, or NULL not to
 * compare). */
static int parse_text(cadre_arena *a, const char *path, const char *name, const char *data,
                      size_t len, migration *m)
{
    int rc;
    mig_file f;
    cadre_verrors errs;
    cadre_verrors_init(&errs, a);
    rc = cadre_schema_decode_json(CADRE_SCHEMA_OF(mig_file), data, len, &f, a, "migration", &errs);
    if (rc) {
        for (size_t i = 0; i < errs.len; i++)
            cadre_log(CADRE_LOG_ERROR, "%s: %s: %s", path, errs.items[i].loc, errs.items[i].msg);
        return CADRE_EINVAL;
    }
    if (!name)
        name = dup_slice(a, f.name);
    else if (!cadre_slice_eq_cstr(f.name, name)) {
        cadre_log(CADRE_LOG_ERROR, "%s: \"name\" is \"%.*s\" but the file is named %s.json", path,
                  (int)f.name.len, f.name.ptr, name);
        return CADRE_EINVAL;
    }
    *m = (migration){ .name = cadre_arena_strndup(a, name, strlen(name)),
                      .path = cadre_arena_strndup(a, path, strlen(path)),
                      .ops = cadre_arena_calloc(a, (f.operations.len + 1) * sizeof(op)),
                      .nops = f.operations.len };
    if (!m->name || !m->path || !m->ops)
        return CADRE_ENOMEM;
    for (size_t i = 0; i < f.operations.len; i++) {
        const mig_op *in = &f.operations.items[i];
        op *o = &m->ops[i];
        char *where = cadre_arena_printf(a, "%s: operation %zu (%s)", path, i + 1,
                                         mig_op_kind__enum()->values[in->op]);
        if (!where)
            return CADRE_ENOMEM;
        *o = (op){ .kind = (int)in->op, .table = dup_slice(a, in->table), .name = dup_slice(a, in->name),
                   .from = dup_slice(a, in->from), .to = dup_slice(a, in->to) };
        bool has_col = cadre_schema_has(CADRE_SCHEMA_OF(mig_op), in, "column");
        bool has_cols = cadre_schema_has(CADRE_SCHEMA_OF(mig_op), in, "columns");
        bool need_col = o->kind == OP_ADD_COLUMN || o->kind == OP_ALTER_COLUMN;
        bool need_cols = o->kind == OP_CREATE_TABLE;
        bool need_table = o->kind != OP_RENAME_TABLE;
        bool need_rename = o->kind == OP_RENAME_TABLE || o->kind == OP_RENAME_COLUMN;
        if (has_col != need_col || has_cols != need_cols || !o->table != !need_table ||
            (!o->from || !o->to) == need_rename || (o->kind == OP_DROP_COLUMN) != !!o->name) {
            cadre_log(CADRE_LOG_ERROR, "%s: wrong members for this operation (create_table: table, "
                                       "columns; drop_table: table; rename_table: from, to; "
                                       "add_column/alter_column: table, column; drop_column: "
                                       "table, name; rename_column: table, from, to)", where);
            return CADRE_EINVAL;
        }
        if (need_col && (rc = column_from(a, &in->column, &o->col, where)) != 0)
            return rc;
        if (need_cols) {
            o->create = (cadre__table){ o->table, cadre_arena_calloc(a, (in->columns.len + 1) *
                                                                            sizeof(cadre__column)),
                                        in->columns.len };
            if (!o->create.cols)
                return CADRE_ENOMEM;
            for (size_t j = 0; j < in->columns.len; j++)
                if ((rc = column_from(a, &in->columns.items[j], &o->create.cols[j], where)) != 0)
                    return rc;
        }
    }
    m->depends_on = (f.cadre_null_ >> 2) & 1 ? NULL : dup_slice(a, f.depends_on); /* field 2 */
    return 0;
}

static int parse_migration(cadre_arena *a, const char *path, const char *name, migration *m)
{
    char *data;
    size_t len;
    int rc = read_file(path, a, &data, &len);
    return rc ? rc : parse_text(a, path, name, data, len, m);
}

static bool migration_file_name(const char *n, size_t *stem)
{
    size_t len = strlen(n);
    if (len < 10 || strcmp(n + len - 5, ".json") != 0)
        return false;
    for (int i = 0; i < 4; i++)
        if (n[i] < '0' || n[i] > '9')
            return false;
    if (n[4] != '_')
        return false;
    for (size_t i = 5; i < len - 5; i++)
        if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') || n[i] == '_'))
            return false;
    *stem = len - 5;
    return true;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every migration of dir, in order, checked to form one line (each depends on the one before).
 * A missing dir is no migrations. */
static int load_dir(const char *dir, cadre_arena *a, migration **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return 0;
        cadre_log(CADRE_LOG_ERROR, "cannot open the migrations directory %s: %s", dir, strerror(errno));
        return CADRE_EIO;
    }
    char **names = NULL;
    size_t len = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        size_t stem;
        if (!migration_file_name(e->d_name, &stem))
            continue;
        if (len == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = cadre_arena_alloc(a, cap * sizeof *nn);
            if (!nn) {
                rc = CADRE_ENOMEM;
                break;
            }
            if (len)
                memcpy(nn, names, len * sizeof *nn);
            names = nn;
        }
        if (!(names[len++] = cadre_arena_strndup(a, e->d_name, stem)))
            rc = CADRE_ENOMEM;
    }
    closedir(d);
    if (rc)
        return rc;
    if (len)
        qsort(names, len, sizeof *names, cmp_names);
    migration *ms = cadre_arena_calloc(a, (len + 1) * sizeof *ms);
    if (!ms)
        return CADRE_ENOMEM;
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && strncmp(names[i], names[i - 1], 4) == 0) {
            cadre_log(CADRE_LOG_ERROR, "migrations %s and %s have the same number: merge them into "
                                       "one (or renumber one) by hand", names[i - 1], names[i]);
            return CADRE_EINVAL;
        }
        char *path = cadre_arena_printf(a, "%s/%s.json", dir, names[i]);
        if (!path)
            return CADRE_ENOMEM;
        if ((rc = parse_migration(a, path, names[i], &ms[i])) != 0)
            return rc;
    }
    for (size_t i = 0; i < len; i++) {
        bool ok = i == 0 ? !ms[i].depends_on
                         : ms[i].depends_on && strcmp(ms[i].depends_on, ms[i - 1].name) == 0;
        if (!ok) {
            cadre_log(CADRE_LOG_ERROR, "%s: depends_on should be %s%s%s: migrations form one line, "
                                       "each following the one before it", ms[i].path,
                      i ? "\"" : "", i ? ms[i - 1].name : "null", i ? "\"" : "");
            return CADRE_EINVAL;
        }
    }
    *out = ms;
    *n = len;
    return 0;
}

/* The state after replaying ms[0..upto). */
static int replay(migration *ms, size_t upto, state *s)
{
    for (size_t i = 0; i < upto; i++)
        for (size_t j = 0; j < ms[i].nops; j++) {
            char *where = cadre_arena_printf(s->arena, "%s: operation %zu", ms[i].path, j + 1);
            int rc = where ? apply_op(s, &ms[i].ops[j], where) : CADRE_ENOMEM;
            if (rc)
                return rc;
        }
    return 0;
}

/* A copy of s that apply_op on s cannot change. */
static int state_clone(const state *s, state *out)
{
    *out = (state){ s->arena, cadre_arena_alloc(s->arena, (s->len + 1) * sizeof(cadre__table)),
                    s->len, s->len + 1 };
    if (!out->tables)
        return CADRE_ENOMEM;
    for (size_t i = 0; i < s->len; i++) {
        out->tables[i] = s->tables[i];
        out->tables[i].cols = cols_copy(s->arena, s->tables[i].cols, s->tables[i].ncols, 0);
        if (!out->tables[i].cols)
            return CADRE_ENOMEM;
    }
    return 0;
}

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
        const cadre__column *was = find_col(old, c->name);
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
        const cadre__table *t = find_table(s, o->from);
        int rc = stmtf(out, "ALTER TABLE %s RENAME TO %s", o->from, o->to);
        for (size_t i = 0; i < t->ncols && rc == 0; i++)
            rc = rename_named(t, o->to, &t->cols[i], t->cols[i].name, pg, out);
        return rc;
    }
    if (o->kind == OP_DROP_TABLE)
        return stmtf(out, "DROP TABLE %s", o->table);
    const cadre__table *t = find_table(s, o->table);
    if (o->kind == OP_RENAME_COLUMN) {
        int rc = stmtf(out, "ALTER TABLE %s RENAME COLUMN %s TO %s", o->table, o->from, o->to);
        return rc ? rc : rename_named(t, t->name, find_col(t, o->from), o->to, pg, out);
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
            return pg_alter(o->table, find_col(t, o->col.name), &o->col, out);
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
    int rc = state_clone(s, &after);
    if (rc)
        return rc;
    cadre__table *copy = find_table(&after, t->name);
    rc = apply_op(&after, o, "sql");
    return rc ? rc : sqlite_rebuild(t, copy, out);
}

/* Applies o to s (refusing what cannot apply) and appends its SQL for the state before it. */
static int step(state *s, const op *o, bool pg, cadre__stmts *out, const char *where)
{
    state before;
    int rc = state_clone(s, &before);
    if (rc == 0)
        rc = apply_op(s, o, where);
    return rc ? rc : op_sql(&before, o, pg, out);
}

/* ---------------------------------------------------------------------------------------------
 * makemigrations: the operations that take the recorded state to the models
 * ------------------------------------------------------------------------------------------- */

typedef struct oplist {
    cadre_arena *arena;
    op *items;
    size_t len, cap;
} oplist;

/* Appends o and applies it to s (which validates it). */
static int emit(oplist *l, state *s, op o)
{
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        op *n = cadre_arena_alloc(l->arena, cap * sizeof *n);
        if (!n)
            return CADRE_ENOMEM;
        if (l->len)
            memcpy(n, l->items, l->len * sizeof *n);
        l->items = n;
        l->cap = cap;
    }
    l->items[l->len++] = o;
    return apply_op(s, &o, "makemigrations");
}

static const cadre__table *find_in(const cadre__table *ts, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ts[i].name, name) == 0)
            return &ts[i];
    return NULL;
}

/* same: what makes them look alike ("of the same type", "with the same columns"); needs_default:
 * dropping and adding would also need a default for the new one (a column that cannot be null). */
static int refuse_rename(const char *kind, const char *gone, const char *new, const char *flag_old,
                         const char *flag_new, const char *same, bool needs_default)
{
    cadre_log(CADRE_LOG_ERROR,
              "makemigrations: %s %s is gone and %s %s is new, %s: was it renamed? Cadre does not "
              "guess. Run makemigrations again with --rename %s=%s to rename it (keeping its "
              "data), or with --no-rename to drop %s and add %s (losing %s's data%s).",
              kind, gone, kind, new, same, flag_old, flag_new, gone, new, gone,
              needs_default ? "; the new column then needs a default or to be nullable, for the "
                              "rows already there"
                            : "");
    return CADRE_EINVAL;
}

static int apply_renames(state *s, const cadre__table *T, size_t nt,
                         const cadre_makemigrations_options *opt, oplist *ops)
{
    for (size_t pass = 0; pass < 2; pass++) /* tables first, then columns (by new table names) */
        for (size_t i = 0; opt && i < opt->nrenames; i++) {
            const char *r = opt->renames[i];
            const char *eq = strchr(r, '='), *dot = memchr(r, '.', eq ? (size_t)(eq - r) : 0);
            if (!eq) {
                cadre_log(CADRE_LOG_ERROR, "makemigrations: --rename %s: expected OLD=NEW or "
                                           "TABLE.OLD=NEW", r);
                return CADRE_EINVAL;
            }
            if ((pass == 0) != !dot)
                continue;
            char *table = dot ? cadre_arena_strndup(s->arena, r, (size_t)(dot - r)) : NULL;
            const char *o0 = dot ? dot + 1 : r;
            char *old = cadre_arena_strndup(s->arena, o0, (size_t)(eq - o0));
            char *new = cadre_arena_strndup(s->arena, eq + 1, strlen(eq + 1));
            if (!old || !new || (dot && !table))
                return CADRE_ENOMEM;
            const cadre__table *target = find_in(T, nt, dot ? table : new);
            const cadre__table *cur = dot ? find_table(s, table) : find_table(s, old);
            bool ok = target && cur &&
                      (dot ? find_col(cur, old) && !find_col(cur, new) && find_col(target, new) &&
                                 !find_col(target, old)
                           : !find_table(s, new) && !find_in(T, nt, old));
            if (!ok) {
                cadre_log(CADRE_LOG_ERROR, "makemigrations: --rename %s does not match the change: "
                                           "%s must exist in the migrations and not in the models, "
                                           "%s the other way round", r, old, new);
                return CADRE_EINVAL;
            }
            op o = dot ? (op){ .kind = OP_RENAME_COLUMN, .table = table, .from = old, .to = new }
                       : (op){ .kind = OP_RENAME_TABLE, .from = old, .to = new };
            int rc = emit(ops, s, o);
            if (rc)
                return rc;
        }
    return 0;
}

static int diff(state *s, const cadre__table *T, size_t nt, const cadre_makemigrations_options *opt,
                oplist *ops)
{
    bool no_rename = opt && opt->no_rename;
    int rc = apply_renames(s, T, nt, opt, ops);
    if (rc)
        return rc;

    /* a table gone and one new with the same columns: perhaps a rename */
    for (size_t i = 0; i < s->len && !no_rename; i++) {
        const cadre__table *g = &s->tables[i];
        if (find_in(T, nt, g->name))
            continue;
        for (size_t j = 0; j < nt; j++) {
            const cadre__table *n = &T[j];
            if (find_table(s, n->name) || n->ncols != g->ncols)
                continue;
            bool same = true;
            for (size_t k = 0; k < n->ncols && same; k++) {
                const cadre__column *c = find_col(g, n->cols[k].name);
                same = c && c->type == n->cols[k].type;
            }
            if (same)
                return refuse_rename("table", g->name, n->name, g->name, n->name,
                                     "with the same columns", false);
        }
    }

    /* new tables, each after the tables it references */
    for (;;) {
        size_t created = 0, waiting = 0;
        for (size_t j = 0; j < nt; j++) {
            const cadre__table *n = &T[j];
            if (find_table(s, n->name))
                continue;
            bool ready = true;
            for (size_t k = 0; k < n->ncols && ready; k++)
                ready = !n->cols[k].ref_table || strcmp(n->cols[k].ref_table, n->name) == 0 ||
                        find_table(s, n->cols[k].ref_table);
            if (!ready) {
                waiting++;
                continue;
            }
            if ((rc = emit(ops, s, (op){ .kind = OP_CREATE_TABLE, .table = n->name, .create = *n })))
                return rc;
            created++;
        }
        if (waiting == 0)
            break;
        if (created == 0) {
            cadre_log(CADRE_LOG_ERROR, "makemigrations: the new tables reference each other in a "
                                       "cycle (or a model that is not registered): create one "
                                       "without its foreign key first, migrate, then add it");
            return CADRE_EINVAL;
        }
    }

    /* columns of the tables that both have: renames refused, then adds, alters, drops */
    for (size_t j = 0; j < nt; j++) {
        const cadre__table *n = &T[j];
        const cadre__table *cur = find_table(s, n->name);
        for (size_t k = 0; k < cur->ncols && !no_rename; k++) {
            const cadre__column *g = &cur->cols[k];
            if (find_col(n, g->name))
                continue;
            for (size_t m = 0; m < n->ncols; m++)
                if (!find_col(cur, n->cols[m].name) && n->cols[m].type == g->type) {
                    char *o = cadre_arena_printf(s->arena, "%s.%s", n->name, g->name);
                    char *w = cadre_arena_printf(s->arena, "%s.%s", n->name, n->cols[m].name);
                    const cadre__column *nc = &n->cols[m];
                    return o && w ? refuse_rename("column", o, w, o, nc->name, "of the same type",
                                                  !nc->null && !nc->def && !nc->def_now)
                                  : CADRE_ENOMEM;
                }
        }
    }
    for (size_t pass = 0; pass < 3; pass++)
        for (size_t j = 0; j < nt; j++) {
            const cadre__table *n = &T[j];
            cadre__table *cur = find_table(s, n->name);
            if (pass == 0) {
                for (size_t k = 0; k < n->ncols; k++) {
                    const cadre__column *c = &n->cols[k];
                    if (find_col(cur, c->name))
                        continue;
                    if (!c->null && !c->def && !c->def_now && !c->pk) {
                        cadre_log(CADRE_LOG_ERROR,
                                  "makemigrations: %s.%s is new and cannot be null, so the rows "
                                  "already in %s need a value: give it a default (CADRE_DEFAULT…) "
                                  "or make it CADRE_OPTIONAL or CADRE_NULLABLE; to require it "
                                  "afterwards, change that in a later migration",
                                  n->name, c->name, n->name);
                        return CADRE_EINVAL;
                    }
                    if ((rc = emit(ops, s, (op){ .kind = OP_ADD_COLUMN, .table = n->name, .col = *c })))
                        return rc;
                    cur = find_table(s, n->name);
                }
            } else if (pass == 1) {
                for (size_t k = 0; k < n->ncols; k++) {
                    const cadre__column *c = &n->cols[k], *was = find_col(cur, c->name);
                    if (col_equal(was, c))
                        continue;
                    if ((rc = emit(ops, s, (op){ .kind = OP_ALTER_COLUMN, .table = n->name, .col = *c })))
                        return rc;
                }
            } else {
                for (size_t k = 0; k < cur->ncols;) {
                    const char *name = cur->cols[k].name;
                    if (find_col(n, name)) {
                        k++;
                        continue;
                    }
                    if ((rc = emit(ops, s, (op){ .kind = OP_DROP_COLUMN, .table = n->name, .name = name })))
                        return rc;
                    cur = find_table(s, n->name);
                }
            }
        }

    /* tables gone, each before the tables it references */
    for (;;) {
        size_t dropped = 0, left = 0;
        for (size_t i = 0; i < s->len; i++) {
            const char *col;
            if (find_in(T, nt, s->tables[i].name))
                continue;
            left++;
            if (referenced_by(s, s->tables[i].name, &col))
                continue;
            if ((rc = emit(ops, s, (op){ .kind = OP_DROP_TABLE, .table = s->tables[i].name })))
                return rc;
            dropped++;
            break; /* s->tables changed */
        }
        if (left == 0)
            break;
        if (dropped == 0) {
            cadre_log(CADRE_LOG_ERROR, "makemigrations: the tables to drop reference each other "
                                       "in a cycle: drop a foreign key first");
            return CADRE_EINVAL;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Writing a migration file
 * ------------------------------------------------------------------------------------------- */

static void write_column(cadre_json_writer *w, const cadre__column *c)
{
    cadre_json_begin_object(w);
    cadre_json_key(w, "name", 4);
    cadre_json_string(w, c->name, strlen(c->name));
    cadre_json_key(w, "type", 4);
    const char *type = mig_type__enum()->values[c->type];
    cadre_json_string(w, type, strlen(type));
    static const char *const flags[] = { "primary_key", "nullable", "unique", "indexed" };
    const bool on[] = { c->pk, c->null, c->unique, c->index };
    for (size_t i = 0; i < 4; i++)
        if (on[i]) {
            cadre_json_key(w, flags[i], strlen(flags[i]));
            cadre_json_bool(w, true);
        }
    if (c->def) {
        cadre_json_key(w, "default_value", 13);
        cadre_json_string(w, c->def, strlen(c->def));
    }
    if (c->def_now) {
        cadre_json_key(w, "default_now", 11);
        cadre_json_bool(w, true);
    }
    if (c->ref_table) {
        cadre_json_key(w, "references", 10);
        cadre_json_begin_object(w);
        cadre_json_key(w, "table", 5);
        cadre_json_string(w, c->ref_table, strlen(c->ref_table));
        cadre_json_key(w, "column", 6);
        cadre_json_string(w, c->ref_column, strlen(c->ref_column));
        cadre_json_key(w, "on_delete", 9);
        const char *od = mig_on_delete__enum()->values[c->on_delete];
        cadre_json_string(w, od, strlen(od));
        cadre_json_end_object(w);
    }
    cadre_json_end_object(w);
}

/* "key": "value" for an operation's string members (names are identifiers: no escaping). */
static int member(cadre_buf *b, const char *key, const char *v)
{
    return v ? cadre_buf_appendf(b, ", \"%s\": \"%s\"", key, v) : 0;
}

static int render(const char *name, const char *depends_on, const oplist *ops, cadre_buf *b)
{
    int rc = cadre_buf_appendf(b, "{\n  \"cadre_migration\": 1,\n  \"name\": \"%s\",\n"
                                  "  \"depends_on\": ", name);
    if (rc == 0)
        rc = depends_on ? cadre_buf_appendf(b, "\"%s\"", depends_on) : cadre_buf_append_str(b, "null");
    if (rc == 0)
        rc = cadre_buf_append_str(b, ",\n  \"operations\": [\n");
    for (size_t i = 0; i < ops->len && rc == 0; i++) {
        const op *o = &ops->items[i];
        rc = cadre_buf_appendf(b, "    {\"op\": \"%s\"", mig_op_kind__enum()->values[o->kind]);
        if (rc == 0)
            rc = member(b, "table", o->kind == OP_RENAME_TABLE ? NULL : o->table);
        if (rc == 0)
            rc = member(b, "name", o->kind == OP_DROP_COLUMN ? o->name : NULL);
        if (rc == 0 && (o->kind == OP_RENAME_TABLE || o->kind == OP_RENAME_COLUMN))
            rc = cadre_buf_appendf(b, ", \"from\": \"%s\", \"to\": \"%s\"", o->from, o->to);
        cadre_json_writer w;
        if (rc == 0 && o->kind == OP_CREATE_TABLE) {
            rc = cadre_buf_append_str(b, ", \"columns\": [");
            for (size_t k = 0; k < o->create.ncols && rc == 0; k++) {
                rc = cadre_buf_append_str(b, k ? ",\n      " : "\n      ");
                cadre_json_writer_init(&w, b);
                write_column(&w, &o->create.cols[k]);
                rc = rc ? rc : cadre_json_writer_error(&w);
            }
            if (rc == 0)
                rc = cadre_buf_append_str(b, "\n    ]");
        }
        if (rc == 0 && (o->kind == OP_ADD_COLUMN || o->kind == OP_ALTER_COLUMN)) {
            rc = cadre_buf_append_str(b, ", \"column\":\n      ");
            cadre_json_writer_init(&w, b);
            write_column(&w, &o->col);
            rc = rc ? rc : cadre_json_writer_error(&w);
        }
        if (rc == 0)
            rc = cadre_buf_append_str(b, i + 1 < ops->len ? "},\n" : "}\n");
    }
    return rc ? rc : cadre_buf_append_str(b, "  ]\n}\n");
}

/* Writes data to path through a temporary file and a rename: never a half-written migration. */
static int write_atomically(const char *path, const char *data, size_t len)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return CADRE_EINVAL;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        cadre_log(CADRE_LOG_ERROR, "cannot create %s: %s", tmp, strerror(errno));
        return CADRE_EIO;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    int err = off < len ? errno : 0;
    if (!err && fsync(fd) != 0)
        err = errno;
    if (close(fd) != 0 && !err)
        err = errno;
    if (!err && rename(tmp, path) != 0)
        err = errno;
    if (err) {
        cadre_log(CADRE_LOG_ERROR, "cannot write %s: %s", path, strerror(err ? err : EIO));
        unlink(tmp);
        return CADRE_EIO;
    }
    return 0;
}

/* A name from the operations, as Django derives one. */
static const char *derive_name(cadre_arena *a, const oplist *ops, bool first)
{
    if (first)
        return "initial";
    if (ops->len == 1) {
        const op *o = &ops->items[0];
        switch (o->kind) {
        case OP_CREATE_TABLE: return o->table;
        case OP_DROP_TABLE: return cadre_arena_printf(a, "delete_%s", o->table);
        case OP_RENAME_TABLE: return cadre_arena_printf(a, "rename_%s_%s", o->from, o->to);
        case OP_ADD_COLUMN: return cadre_arena_printf(a, "%s_%s", o->table, o->col.name);
        case OP_DROP_COLUMN: return cadre_arena_printf(a, "remove_%s_%s", o->table, o->name);
        case OP_ALTER_COLUMN: return cadre_arena_printf(a, "alter_%s_%s", o->table, o->col.name);
        case OP_RENAME_COLUMN: return cadre_arena_printf(a, "rename_%s_%s", o->table, o->to);
        }
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "auto_%Y%m%d_%H%M", &tm);
    return cadre_arena_strndup(a, buf, strlen(buf));
}

static const char *op_summary(cadre_arena *a, const op *o)
{
    switch (o->kind) {
    case OP_CREATE_TABLE: return cadre_arena_printf(a, "create table %s", o->table);
    case OP_DROP_TABLE: return cadre_arena_printf(a, "drop table %s", o->table);
    case OP_RENAME_TABLE: return cadre_arena_printf(a, "rename table %s to %s", o->from, o->to);
    case OP_ADD_COLUMN: return cadre_arena_printf(a, "add column %s.%s", o->table, o->col.name);
    case OP_DROP_COLUMN: return cadre_arena_printf(a, "drop column %s.%s", o->table, o->name);
    case OP_ALTER_COLUMN: return cadre_arena_printf(a, "alter column %s.%s", o->table, o->col.name);
    default: return cadre_arena_printf(a, "rename column %s.%s to %s", o->table, o->from, o->to);
    }
}

int cadre_makemigrations(const cadre_schema *const *models, size_t nmodels, const char *dir,
                         const cadre_makemigrations_options *opt, cadre_buf *written, FILE *out)
{
    cadre_arena a;
    cadre_arena_init(&a, 16384);
    migration *ms;
    size_t n;
    state s = { .arena = &a };
    oplist ops = { .arena = &a };
    cadre__table *T = cadre_arena_calloc(&a, (nmodels + 1) * sizeof *T);
    int rc = T ? load_dir(dir, &a, &ms, &n) : CADRE_ENOMEM;
    if (rc == 0)
        rc = replay(ms, n, &s);
    for (size_t i = 0; i < nmodels && rc == 0; i++) {
        rc = cadre__model_table(models[i], &a, &T[i]);
        if (rc == 0 && (!ident_ok(T[i].name) || find_in(T, i, T[i].name))) {
            cadre_log(CADRE_LOG_ERROR, "makemigrations: model %s is registered twice or its name "
                                       "is not a valid table name", T[i].name);
            rc = CADRE_EINVAL;
        }
    }
    if (rc == 0)
        rc = diff(&s, T, nmodels, opt, &ops);
    if (rc)
        goto out;
    if (ops.len == 0) {
        if (out)
            fprintf(out, "No changes detected\n");
        goto out;
    }
    if (opt && opt->check) {
        if (out)
            fprintf(out, "Changes not yet in a migration:\n");
        for (size_t i = 0; i < ops.len && out; i++)
            fprintf(out, "  - %s\n", op_summary(&a, &ops.items[i]));
        rc = CADRE_ESTATE;
        goto out;
    }
    const char *name = opt && opt->name ? opt->name : derive_name(&a, &ops, n == 0);
    char *full = name ? cadre_arena_printf(&a, "%04zu_%s", n ? (size_t)atoi(ms[n - 1].name) + 1 : 1,
                                           name) : NULL;
    size_t stem;
    char *file = full ? cadre_arena_printf(&a, "%s.json", full) : NULL;
    if (!file) {
        rc = CADRE_ENOMEM;
        goto out;
    }
    if (strlen(full) > 64 || !migration_file_name(file, &stem)) {
        cadre_log(CADRE_LOG_ERROR, "makemigrations: \"%s\" is not a usable migration name "
                                   "(lower-case letters, digits and _, at most 59 characters)", name);
        rc = CADRE_EINVAL;
        goto out;
    }
    cadre_buf text;
    cadre_buf_init_arena(&text, &a, (size_t)64 << 20);
    char *path = cadre_arena_printf(&a, "%s/%s", dir, file);
    rc = path ? render(full, n ? ms[n - 1].name : NULL, &ops, &text) : CADRE_ENOMEM;
    if (rc)
        goto out;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        cadre_log(CADRE_LOG_ERROR, "cannot create the migrations directory %s: %s", dir, strerror(errno));
        rc = CADRE_EIO;
        goto out;
    }
    if ((rc = write_atomically(path, text.data, text.len)) != 0)
        goto out;
    if (out) {
        fprintf(out, "Migration %s:\n", path);
        for (size_t i = 0; i < ops.len; i++)
            fprintf(out, "  - %s\n", op_summary(&a, &ops.items[i]));
    }
    if (written && (rc = cadre_buf_append_str(written, path)) == 0 && !cadre_buf_cstr(written))
        rc = CADRE_ENOMEM;
out:
    cadre_arena_free(&a);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Applying migrations
 * ------------------------------------------------------------------------------------------- */

#define APPLIED_FIELDS(F) F(string, name) F(string, applied)
CADRE_SCHEMA(mig_applied, APPLIED_FIELDS)

#define FK_CHECK_FIELDS(F) F(string, table) F(int64, rowid, CADRE_OPTIONAL) F(string, parent)
CADRE_SCHEMA(mig_fk_violation, FK_CHECK_FIELDS)

static const char *const create_record_table =
    "CREATE TABLE IF NOT EXISTS cadre_migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)";

#define EXISTS_FIELDS(F) F(int64, n)
CADRE_SCHEMA(mig_exists, EXISTS_FIELDS)

/* The names db has recorded. Only migrate creates the record table (create): the other commands
 * and the start-up check read a database without one as having nothing applied. */
static int applied_names(cadre_db *db, cadre_arena *a, cadre_rows *rows, bool create)
{
    *rows = (cadre_rows){ 0 };
    int rc;
    if (create) {
        rc = cadre_db_exec(db, create_record_table, NULL, 0, NULL, NULL);
    } else {
        bool pg = strcmp(cadre_db_engine(db), "postgresql") == 0, found = false;
        mig_exists e = { 0 };
        rc = cadre_db_query_one(db, a, CADRE_SCHEMA_OF(mig_exists), &e, &found,
                                pg ? "SELECT COUNT(*) AS n FROM pg_tables WHERE tablename = "
                                     "'cadre_migrations' AND schemaname = current_schema()"
                                   : "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' "
                                     "AND name = 'cadre_migrations'",
                                NULL, 0);
        if (rc || !found || e.n == 0)
            return rc;
    }
    return rc ? rc : cadre_db_query(db, a, CADRE_SCHEMA_OF(mig_applied), rows,
                                    "SELECT name, applied FROM cadre_migrations ORDER BY name", NULL, 0);
}

static bool is_applied(const cadre_rows *rows, const char *name)
{
    const mig_applied *r = rows->items;
    for (size_t i = 0; i < rows->len; i++)
        if (cadre_slice_eq_cstr(r[i].name, name))
            return true;
    return false;
}

/* The index of the migration named name, or whose number is name ("0002" or "2"). */
static int find_migration(const migration *ms, size_t n, const char *name, size_t *at)
{
    char *end;
    long num = strtol(name, &end, 10);
    for (size_t i = 0; i < n; i++)
        if (strcmp(ms[i].name, name) == 0 || (*end == '\0' && end != name && atol(ms[i].name) == num)) {
            *at = i;
            return 0;
        }
    cadre_log(CADRE_LOG_ERROR, "no migration named %s", name);
    return CADRE_ENOTFOUND;
}

static int run_migration(cadre_db *db, bool pg, migration *m, const cadre__stmts *sql, bool *skipped)
{
    if (!pg && (cadre_db_exec(db, "PRAGMA foreign_keys = OFF", NULL, 0, NULL, NULL)) != 0)
        return CADRE_EIO;
    cadre_tx tx;
    int rc = cadre_db_begin(db, &tx);
    cadre_arena a;
    cadre_arena_init(&a, 1024);
    bool found = false;
    mig_applied rec;
    const cadre_value name = CADRE_PTEXT(m->name);
    if (rc == 0 && pg) /* another migrate running at the same time waits here */
        rc = cadre_tx_exec(&tx, "LOCK TABLE cadre_migrations IN EXCLUSIVE MODE", NULL, 0, NULL, NULL);
    if (rc == 0)
        rc = cadre_tx_query_one(&tx, &a, CADRE_SCHEMA_OF(mig_applied), &rec, &found,
                                "SELECT name, applied FROM cadre_migrations WHERE name = ?", &name, 1);
    *skipped = rc == 0 && found;
    for (size_t i = 0; rc == 0 && !found && i < sql->len; i++) {
        rc = cadre_tx_exec(&tx, sql->items[i], NULL, 0, NULL, NULL);
        if (rc)
            cadre_log(CADRE_LOG_ERROR, "migration %s failed at statement %zu: %s: %s", m->name, i + 1,
                      sql->items[i], cadre_db_errmsg(db));
    }
    if (rc == 0 && !found && !pg) {
        mig_fk_violation v;
        bool bad = false;
        rc = cadre_tx_query_one(&tx, &a, CADRE_SCHEMA_OF(mig_fk_violation), &v, &bad,
                                "PRAGMA foreign_key_check", NULL, 0);
        if (rc == 0 && bad) {
            cadre_log(CADRE_LOG_ERROR, "migration %s: rows of %.*s would reference missing rows of "
                                       "%.*s (foreign key check)", m->name, (int)v.table.len,
                      v.table.ptr, (int)v.parent.len, v.parent.ptr);
            rc = CADRE_ESTATE;
        }
    }
    if (rc == 0 && !found) {
        char when[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        const cadre_value rec_params[] = { CADRE_PTEXT(m->name), CADRE_PTEXT(when) };
        rc = cadre_tx_exec(&tx, "INSERT INTO cadre_migrations (name, applied) VALUES (?, ?)",
                           rec_params, 2, NULL, NULL);
    }
    if (tx.open)
        rc = rc == 0 ? cadre_tx_commit(&tx) : (cadre_tx_rollback(&tx), rc);
    if (!pg)
        cadre_db_exec(db, "PRAGMA foreign_keys = ON", NULL, 0, NULL, NULL);
    cadre_arena_free(&a);
    return rc;
}

int cadre_migrate(cadre_db *db, const char *dir, const char *target, FILE *out)
{
    cadre_arena a;
    cadre_arena_init(&a, 16384);
    migration *ms;
    size_t n, last = 0, done = 0;
    state s = { .arena = &a };
    cadre_rows applied;
    bool pg = strcmp(cadre_db_engine(db), "postgresql") == 0;
    int rc = load_dir(dir, &a, &ms, &n);
    if (rc == 0 && n > 0)
        last = n - 1;
    if (rc == 0 && target && (rc = find_migration(ms, n, target, &last)) != 0)
        goto out;
    if (rc == 0)
        rc = applied_names(db, &a, &applied, true);
    for (size_t i = 0; rc == 0 && n > 0 && i <= last; i++) {
        if (is_applied(&applied, ms[i].name)) {
            rc = replay(ms + i, 1, &s);
            continue;
        }
        cadre__stmts sql = { .arena = &a };
        for (size_t j = 0; j < ms[i].nops && rc == 0; j++) {
            char *where = cadre_arena_printf(&a, "%s: operation %zu", ms[i].path, j + 1);
            rc = where ? step(&s, &ms[i].ops[j], pg, &sql, where) : CADRE_ENOMEM;
        }
        if (rc)
            break;
        if (out) {
            fprintf(out, "Applying %s...", ms[i].name);
            fflush(out);
        }
        bool skipped = false;
        rc = run_migration(db, pg, &ms[i], &sql, &skipped);
        if (out)
            fprintf(out, rc ? " FAILED (nothing of it was applied)\n"
                            : skipped ? " already applied by another process\n" : " OK\n");
        done += rc == 0 && !skipped;
    }
    if (rc == 0 && out && done == 0 && target && last + 1 < n)
        fprintf(out, "No migrations to apply: %s is applied already. Migrations only go forward: "
                     "to undo one, write the next migration.\n", ms[last].name);
    else if (rc == 0 && out && done == 0)
        fprintf(out, "No migrations to apply.\n");
out:
    cadre_arena_free(&a);
    return rc;
}

/* dir's migrations and the names db has applied (nothing is created). */
static int load_status(cadre_db *db, const char *dir, cadre_arena *a, migration **ms, size_t *n,
                       cadre_rows *applied)
{
    int rc = load_dir(dir, a, ms, n);
    return rc ? rc : applied_names(db, a, applied, false);
}

int cadre_showmigrations(cadre_db *db, const char *dir, FILE *out)
{
    cadre_arena a;
    cadre_arena_init(&a, 16384);
    migration *ms;
    size_t n;
    cadre_rows applied;
    int rc = load_status(db, dir, &a, &ms, &n, &applied);
    for (size_t i = 0; rc == 0 && i < n; i++)
        fprintf(out, "[%c] %s\n", is_applied(&applied, ms[i].name) ? 'X' : ' ', ms[i].name);
    const mig_applied *r = rc == 0 ? applied.items : NULL;
    for (size_t i = 0; rc == 0 && i < applied.len; i++) {
        bool known = false;
        for (size_t j = 0; j < n && !known; j++)
            known = cadre_slice_eq_cstr(r[i].name, ms[j].name);
        if (!known)
            fprintf(out, "[X] %.*s (applied %.*s; its file is missing)\n", (int)r[i].name.len,
                    r[i].name.ptr, (int)r[i].applied.len, r[i].applied.ptr);
    }
    if (rc == 0 && n == 0)
        fprintf(out, "(no migrations in %s)\n", dir);
    cadre_arena_free(&a);
    return rc;
}

int cadre_migrations_pending(cadre_db *db, const char *dir, size_t *count)
{
    cadre_arena a;
    cadre_arena_init(&a, 16384);
    migration *ms;
    size_t n;
    cadre_rows applied;
    int rc = load_status(db, dir, &a, &ms, &n, &applied);
    *count = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        *count += !is_applied(&applied, ms[i].name);
    cadre_arena_free(&a);
    return rc;
}

int cadre_sqlmigrate(const char *dir, const char *name, const char *engine, cadre_buf *out)
{
    bool pg;
    int rc = cadre__engine_pg(engine, &pg);
    if (rc)
        return rc;
    cadre_arena a;
    cadre_arena_init(&a, 16384);
    migration *ms;
    size_t n, at;
    state s = { .arena = &a };
    cadre__stmts sql = { .arena = &a };
    rc = load_dir(dir, &a, &ms, &n);
    if (rc == 0)
        rc = find_migration(ms, n, name, &at);
    if (rc == 0)
        rc = replay(ms, at, &s);
    for (size_t j = 0; rc == 0 && j < ms[at].nops; j++)
        rc = step(&s, &ms[at].ops[j], pg, &sql, ms[at].path);
    if (rc == 0 && !pg)
        rc = cadre_buf_append_str(out, "PRAGMA foreign_keys = OFF;\n");
    if (rc == 0)
        rc = cadre_buf_append_str(out, "BEGIN;\n");
    for (size_t i = 0; rc == 0 && i < sql.len; i++)
        rc = cadre_buf_appendf(out, "%s;\n", sql.items[i]);
    if (rc == 0 && !pg)
        rc = cadre_buf_append_str(out, "PRAGMA foreign_key_check;\n");
    if (rc == 0)
        rc = cadre_buf_appendf(out, "INSERT INTO cadre_migrations (name, applied) VALUES ('%s', "
                                    "<now>);\nCOMMIT;\n", ms[at].name);
    if (rc == 0 && !pg)
        rc = cadre_buf_append_str(out, "PRAGMA foreign_keys = ON;\n");
    if (rc == 0 && !cadre_buf_cstr(out))
        rc = CADRE_ENOMEM;
    cadre_arena_free(&a);
    return rc;
}

int cadre__migration_check(const char *data, size_t len, cadre_buf *sql)
{
    cadre_arena a;
    cadre_arena_init(&a, 16384);
    migration m;
    int rc = parse_text(&a, "input", NULL, data, len, &m);
    for (int pg = 0; pg < 2 && rc == 0; pg++) {
        state st = { .arena = &a };
        cadre__stmts out = { .arena = &a };
        for (size_t j = 0; rc == 0 && j < m.nops; j++)
            rc = step(&st, &m.ops[j], pg, &out, "input");
        for (size_t i = 0; rc == 0 && i < out.len && sql; i++)
            rc = cadre_buf_appendf(sql, "%s;\n", out.items[i]);
    }
    cadre_arena_free(&a);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * The app's commands
 * ------------------------------------------------------------------------------------------- */

#include "app/app_internal.h"

struct models {
    cadre_db *db;
    const char *dir;
    const cadre_schema **models;
    size_t n;
};

/* Options shared by the commands: --dir DIR; the rest go to the command. Returns the index of
 * the first argument not consumed, or -1 after printing an error. */
static const char *take_dir(int *argc, char **argv, const char *dir)
{
    int w = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < *argc)
            dir = argv[++i];
        else
            argv[w++] = argv[i];
    }
    *argc = w;
    return dir;
}

static int cmd_makemigrations(cadre_app *app, int argc, char **argv, void *ctx)
{
    (void)app;
    struct models *m = ctx;
    const char *dir = take_dir(&argc, argv, m->dir);
    cadre_makemigrations_options opt = { 0 };
    const char **renames = calloc((size_t)argc + 1, sizeof *renames);
    if (!renames)
        return 1;
    opt.renames = renames;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rename") == 0 && i + 1 < argc)
            renames[opt.nrenames++] = argv[++i];
        else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            opt.name = argv[++i];
        else if (strcmp(argv[i], "--no-rename") == 0)
            opt.no_rename = true;
        else if (strcmp(argv[i], "--check") == 0)
            opt.check = true;
        else {
            fprintf(stderr, "error: makemigrations: unknown option \"%s\" (--name NAME, --rename "
                            "OLD=NEW, --rename TABLE.OLD=NEW, --no-rename, --check, --dir DIR)\n",
                    argv[i]);
            free(renames);
            return 2;
        }
    }
    int rc = cadre_makemigrations(m->models, m->n, dir, &opt, NULL, stdout);
    free(renames);
    return rc == 0 ? 0 : 1;
}

static int cmd_migrate(cadre_app *app, int argc, char **argv, void *ctx)
{
    (void)app;
    struct models *m = ctx;
    const char *dir = take_dir(&argc, argv, m->dir);
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        fprintf(stderr, "error: usage: migrate [NAME] [--dir DIR]\n");
        return 2;
    }
    return cadre_migrate(m->db, dir, argc == 2 ? argv[1] : NULL, stdout) == 0 ? 0 : 1;
}

static int cmd_showmigrations(cadre_app *app, int argc, char **argv, void *ctx)
{
    (void)app;
    struct models *m = ctx;
    const char *dir = take_dir(&argc, argv, m->dir);
    if (argc != 1) {
        fprintf(stderr, "error: usage: showmigrations [--dir DIR]\n");
        return 2;
    }
    return cadre_showmigrations(m->db, dir, stdout) == 0 ? 0 : 1;
}

static int cmd_sqlmigrate(cadre_app *app, int argc, char **argv, void *ctx)
{
    (void)app;
    struct models *m = ctx;
    const char *dir = take_dir(&argc, argv, m->dir);
    const char *engine = cadre_db_engine(m->db), *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--engine") == 0 && i + 1 < argc)
            engine = argv[++i];
        else if (!name && argv[i][0] != '-')
            name = argv[i];
        else
            name = NULL, i = argc;
    }
    if (!name) {
        fprintf(stderr, "error: usage: sqlmigrate NAME [--engine sqlite|postgresql] [--dir DIR]\n");
        return 2;
    }
    cadre_buf b;
    cadre_buf_init(&b, (size_t)64 << 20);
    int rc = cadre_sqlmigrate(dir, name, engine, &b);
    if (rc == 0)
        fwrite(b.data, 1, b.len, stdout);
    cadre_buf_free(&b);
    return rc == 0 ? 0 : 1;
}

/* At start-up: say so when the database lacks migrations (the service still starts: the database
 * may be migrated by another instance, or be unreachable for now). */
static int warn_pending(cadre_app *app, void *ctx)
{
    (void)app;
    struct models *m = ctx;
    size_t n = 0;
    int rc = cadre_migrations_pending(m->db, m->dir, &n);
    if (rc)
        cadre_log(CADRE_LOG_WARN, "could not check the migrations in %s: %s", m->dir,
                  cadre_strerror(rc));
    else if (n)
        cadre_log(CADRE_LOG_WARN, "this %s database lacks %zu migration%s of %s/: requests that "
                                  "need %s will fail until the app's migrate command is run",
                  cadre_db_engine(m->db), n, n == 1 ? "" : "s", m->dir,
                  n == 1 ? "it" : "them");
    return 0;
}

int cadre__models(cadre_app *app, cadre_db *db, const char *dir, const cadre_schema *const *models,
                  size_t nmodels, const char *file, int line)
{
    struct models *m = cadre__app_own(app, calloc(1, sizeof *m));
    const cadre_schema **list = cadre__app_own(app, calloc(nmodels + 1, sizeof *list));
    char *d = cadre__app_own(app, strdup(dir ? dir : "migrations"));
    if (!m || !list || !d) {
        cadre__app_error(app, file, line, "cadre_models: out of memory");
        return CADRE_ENOMEM;
    }
    memcpy(list, models, nmodels * sizeof *list);
    *m = (struct models){ db, d, list, nmodels };
    static const struct {
        const char *name, *usage;
        cadre_command_fn fn;
    } cmds[] = {
        { "makemigrations", "makemigrations [--name N] [--rename OLD=NEW]... [--no-rename] [--check]"
                            "\n                              writes the next migration from the "
                            "model changes\n                              (each migration command "
                            "takes --dir DIR: another migrations directory)",
          cmd_makemigrations },
        { "migrate", "migrate [NAME]         applies pending migrations (up to NAME)", cmd_migrate },
        { "showmigrations", "showmigrations         lists migrations, [X] = applied",
          cmd_showmigrations },
        { "sqlmigrate", "sqlmigrate NAME [--engine E]  prints a migration's SQL", cmd_sqlmigrate },
    };
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        int rc = cadre_app_command(app, cmds[i].name, cmds[i].usage, cmds[i].fn, m);
        if (rc) {
            cadre__app_error(app, file, line, "cadre_models: cannot add the %s command: %s",
                             cmds[i].name, cadre_strerror(rc));
            return rc;
        }
    }
    if (cadre_app_on_start(app, warn_pending, m) != 0) {
        cadre__app_error(app, file, line, "cadre_models: out of memory");
        return CADRE_ENOMEM;
    }
    return 0;
}
