/*
 * The migration file format: declared with the schema module, read (one file, or a directory of
 * them forming one line) and written by makemigrations.
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
#include "migrate_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
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

/* mig_op_kind, the operations' names, is declared in migrate_internal.h: every part uses it. */

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
    F(strings, fields, CADRE_OPTIONAL)                                                             \
    F(string, from, CADRE_OPTIONAL)                                                                \
    F(string, to, CADRE_OPTIONAL)
CADRE_SCHEMA_STRICT(mig_op, MIG_OP_FIELDS)

#define MIG_FILE_FIELDS(F)                                                                         \
    F(int32, cadre_migration, CADRE_GE(1), CADRE_LE(1))                                            \
    F(string, name, CADRE_MIN_LEN(1))                                                              \
    F(string, depends_on, CADRE_NULLABLE)                                                          \
    F(strings, requires, CADRE_DEFAULT_EMPTY)                                                      \
    F(array(mig_op), operations)
CADRE_SCHEMA_STRICT(mig_file, MIG_FILE_FIELDS)

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
        double v = cadre_strtod(c->def, &end);
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
        if (!cadre__mig_ident_ok(c->ref_table) || !cadre__mig_ident_ok(c->ref_column)) {
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
int cadre__mig_parse_text(cadre_arena *a, const char *path, const char *name, const char *data,
                          size_t len, migration *m)
{
    int rc;
    mig_file f;
    cadre_verrors errs;
    cadre_verrors_init(&errs, a);
    rc = cadre_schema_decode_json(CADRE_SCHEMA_OF(mig_file), data, len, &f, a, "migration", &errs);
    if (rc) {
        for (size_t i = 0; i < errs.len; i++)
            cadre_log(CADRE_LOG_ERROR, "%s: %s: %s", path, cadre_verror_path(&errs.items[i], a),
                      errs.items[i].msg);
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
        bool has_fields = cadre_schema_has(CADRE_SCHEMA_OF(mig_op), in, "fields");
        bool need_col = o->kind == OP_ADD_COLUMN || o->kind == OP_ALTER_COLUMN;
        bool need_cols = o->kind == OP_CREATE_TABLE;
        bool need_fields = o->kind == OP_ADD_INDEX;
        bool need_table = o->kind != OP_RENAME_TABLE;
        bool need_rename = o->kind == OP_RENAME_TABLE || o->kind == OP_RENAME_COLUMN;
        bool need_name = o->kind == OP_DROP_COLUMN || o->kind == OP_ADD_INDEX ||
                         o->kind == OP_DROP_INDEX;
        if (has_col != need_col || has_cols != need_cols || has_fields != need_fields ||
            !o->table != !need_table || (!o->from || !o->to) == need_rename ||
            need_name != !!o->name) {
            cadre_log(CADRE_LOG_ERROR, "%s: wrong members for this operation (create_table: table, "
                                       "columns; drop_table: table; rename_table: from, to; "
                                       "add_column/alter_column: table, column; drop_column: "
                                       "table, name; rename_column: table, from, to; add_index: "
                                       "table, name, fields; drop_index: table, name)", where);
            return CADRE_EINVAL;
        }
        if (need_fields) {
            o->index = (cadre__index){ o->name, cadre_arena_calloc(a, (in->fields.len + 1) *
                                                                       sizeof(char *)),
                                       in->fields.len };
            if (!o->index.cols)
                return CADRE_ENOMEM;
            for (size_t j = 0; j < in->fields.len; j++)
                if (!(o->index.cols[j] = dup_slice(a, in->fields.items[j])))
                    return CADRE_ENOMEM;
        }
        if (need_col && (rc = column_from(a, &in->column, &o->col, where)) != 0)
            return rc;
        if (need_cols) {
            o->create = (cadre__table){ .name = o->table, .ncols = in->columns.len,
                                        .cols = cadre_arena_calloc(a, (in->columns.len + 1) *
                                                                          sizeof(cadre__column)) };
            if (!o->create.cols)
                return CADRE_ENOMEM;
            for (size_t j = 0; j < in->columns.len; j++)
                if ((rc = column_from(a, &in->columns.items[j], &o->create.cols[j], where)) != 0)
                    return rc;
        }
    }
    m->depends_on = (f.cadre_null_ >> 2) & 1 ? NULL : dup_slice(a, f.depends_on); /* field 2 */
    m->nrequires = f.requires.len;
    m->requires = cadre_arena_calloc(a, (f.requires.len + 1) * sizeof *m->requires);
    if (!m->requires)
        return CADRE_ENOMEM;
    for (size_t i = 0; i < f.requires.len; i++) {
        char *r = dup_slice(a, f.requires.items[i]);
        const char *colon = r ? strchr(r, ':') : NULL;
        size_t stem;
        char *file = colon ? cadre_arena_printf(a, "%s.json", colon + 1) : NULL;
        if (!r)
            return CADRE_ENOMEM;
        if (!colon || colon == r || !file || !cadre__mig_migration_file_name(file, &stem)) {
            cadre_log(CADRE_LOG_ERROR, "%s: requires \"%s\": expected MODULE:NAME, such as "
                                       "\"auth:0001_initial\"", path, r);
            return CADRE_EINVAL;
        }
        m->requires[i] = r;
    }
    return 0;
}

static int parse_migration(cadre_arena *a, const char *path, const char *name, migration *m)
{
    char *data;
    size_t len;
    int rc = read_file(path, a, &data, &len);
    return rc ? rc : cadre__mig_parse_text(a, path, name, data, len, m);
}

bool cadre__mig_migration_file_name(const char *n, size_t *stem)
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

/* Checks that ms[0..len) form one line: each depends on the one before it. */
static int check_line(const migration *ms, size_t len)
{
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
    return 0;
}

/* Every migration of dir, in order, checked to form one line (each depends on the one before).
 * A missing dir is no migrations. */
int cadre__mig_load_dir(const char *dir, cadre_arena *a, migration **out, size_t *n)
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
    CADRE_VEC(char *) names = { 0 };
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t stem;
        if (cadre__mig_migration_file_name(e->d_name, &stem)) /* the push: never NULL (arena) */
            *CADRE_VEC_PUSH(&names, a, 0) = cadre_arena_strndup(a, e->d_name, stem);
    }
    closedir(d);
    size_t len = names.len;
    if (len)
        qsort(names.items, len, sizeof *names.items, cmp_names);
    migration *ms = cadre_arena_calloc(a, (len + 1) * sizeof *ms);
    if (!ms)
        return CADRE_ENOMEM;
    for (size_t i = 0; i < len; i++) {
        const char *name = names.items[i];
        if (i > 0 && strncmp(name, names.items[i - 1], 4) == 0) {
            cadre_log(CADRE_LOG_ERROR, "migrations %s and %s have the same number: merge them into "
                                       "one (or renumber one) by hand",
                      names.items[i - 1], name);
            return CADRE_EINVAL;
        }
        char *path = cadre_arena_printf(a, "%s/%s.json", dir, name);
        if (!path)
            return CADRE_ENOMEM;
        int rc = parse_migration(a, path, name, &ms[i]);
        if (rc)
            return rc;
    }
    int rc = check_line(ms, len);
    if (rc)
        return rc;
    *out = ms;
    *n = len;
    return 0;
}

/* Built-in migrations, in the order of their names, checked as a directory's are. */
static int load_sources(const char *label, const cadre_migration_source *src, size_t nsrc,
                        cadre_arena *a, migration **out, size_t *n)
{
    migration *ms = cadre_arena_calloc(a, (nsrc + 1) * sizeof *ms);
    const cadre_migration_source **sorted = cadre_arena_calloc(a, (nsrc + 1) * sizeof *sorted);
    if (!ms || !sorted)
        return CADRE_ENOMEM;
    for (size_t i = 0; i < nsrc; i++) { /* insertion sort: a module has a few dozen at most */
        size_t j = i;
        for (; j > 0 && strcmp(sorted[j - 1]->name, src[i].name) > 0; j--)
            sorted[j] = sorted[j - 1];
        sorted[j] = &src[i];
    }
    for (size_t i = 0; i < nsrc; i++) {
        size_t stem;
        char *file = cadre_arena_printf(a, "%s.json", sorted[i]->name);
        char *where = cadre_arena_printf(a, "%s:%s (built in)", label, sorted[i]->name);
        if (!file || !where)
            return CADRE_ENOMEM;
        if (!cadre__mig_migration_file_name(file, &stem) ||
            (i > 0 && strncmp(sorted[i]->name, sorted[i - 1]->name, 4) == 0)) {
            cadre_log(CADRE_LOG_ERROR, "%s: not a migration name, or its number is taken", where);
            return CADRE_EINVAL;
        }
        int rc = cadre__mig_parse_text(a, where, sorted[i]->name, sorted[i]->text,
                                       strlen(sorted[i]->text), &ms[i]);
        if (rc)
            return rc;
    }
    int rc = check_line(ms, nsrc);
    if (rc == 0) {
        *out = ms;
        *n = nsrc;
    }
    return rc;
}

int cadre__mig_load_module(mig_module *m, cadre_arena *a)
{
    int rc = m->dir ? cadre__mig_load_dir(m->dir, a, &m->ms, &m->n)
                    : load_sources(m->label, m->src, m->nsrc, a, &m->ms, &m->n);
    for (size_t i = 0; rc == 0 && i < m->n; i++)
        m->ms[i].module = m->label;
    return rc;
}

/* The module (*mod, an index in p->mods) and index (*at) of the migration req names
 * ("auth:0001_initial"). */
static bool find_required(const mig_plan *p, const char *req, size_t *mod, size_t *at)
{
    const char *colon = strchr(req, ':');
    size_t llen = (size_t)(colon - req);
    for (size_t k = 0; k < p->nmods; k++) {
        const mig_module *m = &p->mods[k];
        if (strlen(m->label) != llen || strncmp(m->label, req, llen) != 0)
            continue;
        for (size_t i = 0; i < m->n; i++)
            if (strcmp(m->ms[i].name, colon + 1) == 0) {
                *mod = k;
                *at = i;
                return true;
            }
    }
    return false;
}

int cadre__mig_plan(cadre_arena *a, mig_module *mods, size_t nmods, mig_plan *p)
{
    *p = (mig_plan){ mods, nmods, NULL, 0 };
    size_t total = 0;
    for (size_t k = 0; k < nmods; k++) {
        int rc = cadre__mig_load_module(&mods[k], a);
        if (rc)
            return rc;
        total += mods[k].n;
    }
    size_t *next = cadre_arena_calloc(a, (nmods + 1) * sizeof *next); /* placed so far, per module */
    p->order = cadre_arena_calloc(a, (total + 1) * sizeof *p->order);
    if (!next || !p->order)
        return CADRE_ENOMEM;
    for (size_t k = 0; k < nmods; k++)
        for (size_t i = 0; i < mods[k].n; i++)
            for (size_t r = 0; r < mods[k].ms[i].nrequires; r++) {
                size_t mod, at;
                if (!find_required(p, mods[k].ms[i].requires[r], &mod, &at)) {
                    cadre_log(CADRE_LOG_ERROR, "%s requires %s, which is not among the app's "
                                               "migrations (is its module added, with its "
                                               "models?)",
                              mods[k].ms[i].path, mods[k].ms[i].requires[r]);
                    return CADRE_EINVAL;
                }
            }
    while (p->n < total) { /* bounded: each round places one at least, or stops */
        bool progress = false;
        for (size_t k = 0; k < nmods; k++) {
            while (next[k] < mods[k].n) {
                migration *m = &mods[k].ms[next[k]];
                bool ready = true;
                for (size_t r = 0; r < m->nrequires && ready; r++) {
                    size_t mod = 0, at = 0;
                    find_required(p, m->requires[r], &mod, &at);
                    ready = at < next[mod];
                }
                if (!ready)
                    break;
                p->order[p->n++] = m;
                next[k]++;
                progress = true;
            }
        }
        if (!progress) {
            for (size_t k = 0; k < nmods; k++)
                if (next[k] < mods[k].n) {
                    cadre_log(CADRE_LOG_ERROR, "%s: what it requires requires it in turn (a cycle "
                                               "of requires between modules' migrations)",
                              mods[k].ms[next[k]].path);
                    break;
                }
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

int cadre__mig_render(const char *name, const char *depends_on, const char *const *req,
                      size_t nreq, const oplist *ops, cadre_buf *b)
{
    int rc = cadre_buf_appendf(b, "{\n  \"cadre_migration\": 1,\n  \"name\": \"%s\",\n"
                                  "  \"depends_on\": ", name);
    if (rc == 0)
        rc = depends_on ? cadre_buf_appendf(b, "\"%s\"", depends_on) : cadre_buf_append_str(b, "null");
    if (rc == 0 && nreq) {
        rc = cadre_buf_append_str(b, ",\n  \"requires\": [");
        for (size_t i = 0; i < nreq && rc == 0; i++)
            rc = cadre_buf_appendf(b, "%s\"%s\"", i ? ", " : "", req[i]);
        if (rc == 0)
            rc = cadre_buf_append_str(b, "]");
    }
    if (rc == 0)
        rc = cadre_buf_append_str(b, ",\n  \"operations\": [\n");
    for (size_t i = 0; i < ops->len && rc == 0; i++) {
        const op *o = &ops->items[i];
        rc = cadre_buf_appendf(b, "    {\"op\": \"%s\"", mig_op_kind__enum()->values[o->kind]);
        if (rc == 0)
            rc = member(b, "table", o->kind == OP_RENAME_TABLE ? NULL : o->table);
        if (rc == 0)
            rc = member(b, "name", o->kind == OP_DROP_COLUMN || o->kind == OP_ADD_INDEX ||
                                           o->kind == OP_DROP_INDEX
                                       ? o->name
                                       : NULL);
        for (size_t k = 0; k < o->index.ncols && rc == 0 && o->kind == OP_ADD_INDEX; k++)
            rc = cadre_buf_appendf(b, "%s\"%s\"%s", k ? ", " : ", \"fields\": [", o->index.cols[k],
                                   k + 1 == o->index.ncols ? "]" : "");
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
int cadre__mig_write_atomically(const char *path, const char *data, size_t len)
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
const char *cadre__mig_derive_name(cadre_arena *a, const oplist *ops, bool first)
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
        case OP_ADD_INDEX: return o->name;
        case OP_DROP_INDEX: return cadre_arena_printf(a, "remove_%s", o->name);
        }
    }
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "auto_%Y%m%d_%H%M", &tm);
    return cadre_arena_strndup(a, buf, strlen(buf));
}
