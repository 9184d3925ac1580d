/*
 * makemigrations: the models diffed against the state the migrations record, the difference
 * written as the next migration file. Renames are never guessed.
 */
#include "migrate_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---------------------------------------------------------------------------------------------
 * makemigrations: the operations that take the recorded state to the models
 * ------------------------------------------------------------------------------------------- */

/* Appends o and applies it to s (which validates it). */
static int emit(oplist *l, state *s, op o)
{
    *CADRE_VEC_PUSH(l, l->arena, 0) = o; /* never NULL: an arena's, no maximum */
    return cadre__mig_apply_op(s, &o, "makemigrations");
}

static const cadre__table *find_in(const cadre__table *ts, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(ts[i].name, name) == 0)
            return &ts[i];
    return NULL;
}

/* Whether column c of table t is the module's (s->module) to add, change or drop. */
static bool mine(const state *s, const cadre__table *t, const cadre__column *c)
{
    return cadre__mig_same_module(cadre__mig_col_owner(t, c), s->module);
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
            const cadre__table *cur =
                dot ? cadre__mig_find_table(s, table) : cadre__mig_find_table(s, old);
            const cadre__column *oc = dot && cur ? cadre__mig_find_col(cur, old) : NULL;
            bool ok =
                target && cur && (dot ? oc && mine(s, cur, oc) : cadre__mig_owned(cur, s->module)) &&
                (dot ? oc && !cadre__mig_find_col(cur, new) &&
                           cadre__mig_find_col(target, new) && !cadre__mig_find_col(target, old)
                     : !cadre__mig_find_table(s, new) && !find_in(T, nt, old));
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

/* A model whose table another module's migrations created extends that table (the user model a
 * project declares with CADRE_USER_MODEL): its module adds, changes and drops only the columns
 * it added; the others are the owner's, and the model must have each of them as it is. A column
 * of the module's own table that another module added is that module's: left alone. */
static int check_extensions(state *s, const cadre__table *T, size_t nt)
{
    for (size_t j = 0; j < nt; j++) {
        const cadre__table *t = cadre__mig_find_table(s, T[j].name);
        if (!t)
            continue;
        for (size_t k = 0; k < t->ncols; k++) {
            const cadre__column *c = &t->cols[k], *m = cadre__mig_find_col(&T[j], c->name);
            const char *owner = cadre__mig_col_owner(t, c);
            if (mine(s, t, c) || (m && col_equal(c, m)))
                continue;
            if (!m && !cadre__mig_owned(t, owner))
                continue; /* a third module's extension column: not this model's business */
            if (!m)
                cadre_log(CADRE_LOG_ERROR, "makemigrations: module %s's model %s extends module "
                                           "%s's table %s but has no field %s: an extending model "
                                           "has every field of the table first (for the user: "
                                           "CADRE_USER_FIELDS(F), then its own), or its own name "
                                           "if it is not meant to extend %s",
                          s->module, T[j].name, owner, t->name, c->name, t->name);
            else
                cadre_log(CADRE_LOG_ERROR, "makemigrations: %s.%s is module %s's column and module "
                                           "%s's model declares it otherwise: change it in module "
                                           "%s, or give module %s's field another name",
                          t->name, c->name, owner, s->module, owner, s->module);
            return CADRE_EINVAL;
        }
    }
    return 0;
}

/* The operations that take s (every module's tables) to T (the models of the module s->module):
 * only that module's tables are created, changed or dropped. */
static int diff(state *s, const cadre__table *T, size_t nt, const cadre_makemigrations_options *opt,
                oplist *ops)
{
    bool no_rename = opt && opt->no_rename;
    int rc = check_extensions(s, T, nt);
    if (rc)
        return rc;
    rc = apply_renames(s, T, nt, opt, ops);
    if (rc)
        return rc;

    /* a table gone and one new with the same columns: perhaps a rename */
    for (size_t i = 0; i < s->len && !no_rename; i++) {
        const cadre__table *g = &s->tables[i];
        if (find_in(T, nt, g->name) || !cadre__mig_owned(g, s->module))
            continue;
        for (size_t j = 0; j < nt; j++) {
            const cadre__table *n = &T[j];
            if (cadre__mig_find_table(s, n->name) || n->ncols != g->ncols)
                continue;
            bool same = true;
            for (size_t k = 0; k < n->ncols && same; k++) {
                const cadre__column *c = cadre__mig_find_col(g, n->cols[k].name);
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
            if (cadre__mig_find_table(s, n->name))
                continue;
            bool ready = true;
            for (size_t k = 0; k < n->ncols && ready; k++)
                ready = !n->cols[k].ref_table || strcmp(n->cols[k].ref_table, n->name) == 0 ||
                        cadre__mig_find_table(s, n->cols[k].ref_table);
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
        const cadre__table *cur = cadre__mig_find_table(s, n->name);
        for (size_t k = 0; k < cur->ncols && !no_rename; k++) {
            const cadre__column *g = &cur->cols[k];
            if (cadre__mig_find_col(n, g->name) || !mine(s, cur, g))
                continue;
            for (size_t m = 0; m < n->ncols; m++)
                if (!cadre__mig_find_col(cur, n->cols[m].name) && n->cols[m].type == g->type) {
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
            cadre__table *cur = cadre__mig_find_table(s, n->name);
            if (pass == 0) {
                for (size_t k = 0; k < n->ncols; k++) {
                    const cadre__column *c = &n->cols[k];
                    if (cadre__mig_find_col(cur, c->name))
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
                    cur = cadre__mig_find_table(s, n->name);
                }
            } else if (pass == 1) {
                for (size_t k = 0; k < n->ncols; k++) {
                    const cadre__column *c = &n->cols[k], *was = cadre__mig_find_col(cur, c->name);
                    if (col_equal(was, c) || !mine(s, cur, was))
                        continue; /* another module's: check_extensions saw it is alike */
                    if ((rc = emit(ops, s, (op){ .kind = OP_ALTER_COLUMN, .table = n->name, .col = *c })))
                        return rc;
                }
            } else {
                for (size_t k = 0; k < cur->ncols;) {
                    const char *name = cur->cols[k].name;
                    if (cadre__mig_find_col(n, name) || !mine(s, cur, &cur->cols[k])) {
                        k++;
                        continue;
                    }
                    if ((rc = emit(ops, s, (op){ .kind = OP_DROP_COLUMN, .table = n->name, .name = name })))
                        return rc;
                    cur = cadre__mig_find_table(s, n->name);
                }
            }
        }

    /* tables gone, each before the tables it references */
    for (;;) {
        size_t dropped = 0, left = 0;
        for (size_t i = 0; i < s->len; i++) {
            const char *col;
            if (find_in(T, nt, s->tables[i].name) || !cadre__mig_owned(&s->tables[i], s->module))
                continue;
            left++;
            if (cadre__mig_referenced_by(s, s->tables[i].name, &col))
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

/* Adds "owner:LAST" to req (deduplicated) for each column of c[0..n) that references a table of
 * another module, and for table (when not NULL: the table an operation changes) when it is
 * another module's: the new migration must come after that table's migrations. */
static int add_requires(cadre_arena *a, state *s, const mig_plan *p, const char *table,
                        const cadre__column *c, size_t n, const char ***req, size_t *nreq)
{
    for (size_t i = 0; i <= n; i++) {
        const char *name = i < n ? c[i].ref_table : table;
        const cadre__table *t = name ? cadre__mig_find_table(s, name) : NULL;
        if (!t || !t->module || cadre__mig_owned(t, s->module))
            continue;
        const char *last = NULL;
        for (size_t k = 0; k < p->nmods; k++)
            if (strcmp(p->mods[k].label, t->module) == 0 && p->mods[k].n)
                last = p->mods[k].ms[p->mods[k].n - 1].name;
        char *r = last ? cadre_arena_printf(a, "%s:%s", t->module, last) : NULL;
        if (!last)
            continue;
        if (!r)
            return CADRE_ENOMEM;
        bool dup = false;
        for (size_t j = 0; j < *nreq && !dup; j++)
            dup = strcmp((*req)[j], r) == 0;
        if (dup)
            continue;
        const char **more = cadre_arena_alloc(a, (*nreq + 1) * sizeof *more);
        if (!more)
            return CADRE_ENOMEM;
        if (*nreq)
            memcpy(more, *req, *nreq * sizeof *more);
        more[(*nreq)++] = r;
        *req = more;
    }
    return 0;
}

/* mkdir -p: dir and the directories above it that are missing ("accounts/migrations"). */
static int make_dirs(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(path, dir, n + 1);
    for (char *p = path + 1; *p; p++) { /* bounded by the path's length */
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(path, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

int cadre__mig_make(mig_module *mods, size_t nmods, size_t k,
                    const cadre_makemigrations_options *opt, cadre_buf *written, FILE *out)
{
    cadre_arena a;
    cadre_arena_init(&a, 16384);
    mig_plan p;
    mig_module *mm = &mods[k];
    state s = { .arena = &a };
    oplist ops = { .arena = &a };
    cadre__table *T = cadre_arena_calloc(&a, (mm->nmodels + 1) * sizeof *T);
    int rc = T ? cadre__mig_plan(&a, mods, nmods, &p) : CADRE_ENOMEM;
    for (size_t i = 0; rc == 0 && i < p.n; i++)
        rc = cadre__mig_replay(p.order[i], 1, &s);
    for (size_t i = 0; i < mm->nmodels && rc == 0; i++) {
        rc = cadre__model_table(mm->models[i], &a, &T[i]);
        if (rc == 0 && (!cadre__mig_ident_ok(T[i].name) || find_in(T, i, T[i].name))) {
            cadre_log(CADRE_LOG_ERROR, "makemigrations: model %s is registered twice or its name "
                                       "is not a valid table name", T[i].name);
            rc = CADRE_EINVAL;
        }
    }
    s.module = mm->label;
    if (rc == 0)
        rc = diff(&s, T, mm->nmodels, opt, &ops);
    if (rc)
        goto out;
    const char *in = nmods > 1 ? cadre_arena_printf(&a, " in %s", mm->label) : "";
    if (ops.len == 0) {
        if (out && (mm->dir || nmods == 1)) /* a built-in module's (auth) is no news */
            fprintf(out, "No changes detected%s\n", in ? in : "");
        goto out;
    }
    if (opt && opt->check) {
        if (out)
            fprintf(out, "Changes not yet in a migration%s:\n", in ? in : "");
        for (size_t i = 0; i < ops.len && out; i++)
            fprintf(out, "  - %s\n", op_summary(&a, &ops.items[i]));
        rc = CADRE_ESTATE;
        goto out;
    }
    if (!mm->dir) {
        cadre_log(CADRE_LOG_ERROR, "makemigrations: the models of module %s differ from its "
                                   "migrations, which are built into the program: its models "
                                   "cannot change here", mm->label);
        rc = CADRE_EINVAL;
        goto out;
    }
    const char **req = NULL;
    size_t nreq = 0;
    for (size_t i = 0; i < ops.len && rc == 0; i++) {
        const op *o = &ops.items[i];
        rc = o->kind == OP_CREATE_TABLE
                 ? add_requires(&a, &s, &p, NULL, o->create.cols, o->create.ncols, &req, &nreq)
             : o->kind == OP_ADD_COLUMN || o->kind == OP_ALTER_COLUMN
                 ? add_requires(&a, &s, &p, o->table, &o->col, 1, &req, &nreq)
             : o->kind == OP_DROP_COLUMN ? add_requires(&a, &s, &p, o->table, NULL, 0, &req, &nreq)
                                         : 0;
    }
    if (rc)
        goto out;
    size_t n = mm->n;
    migration *ms = mm->ms;
    const char *dir = mm->dir;
    const char *name = opt && opt->name ? opt->name : cadre__mig_derive_name(&a, &ops, n == 0);
    char *full = name ? cadre_arena_printf(&a, "%04zu_%s", n ? (size_t)atoi(ms[n - 1].name) + 1 : 1,
                                           name) : NULL;
    size_t stem;
    char *file = full ? cadre_arena_printf(&a, "%s.json", full) : NULL;
    if (!file) {
        rc = CADRE_ENOMEM;
        goto out;
    }
    if (strlen(full) > 64 || !cadre__mig_migration_file_name(file, &stem)) {
        cadre_log(CADRE_LOG_ERROR, "makemigrations: \"%s\" is not a usable migration name "
                                   "(lower-case letters, digits and _, at most 59 characters)", name);
        rc = CADRE_EINVAL;
        goto out;
    }
    cadre_buf text;
    cadre_buf_init_arena(&text, &a, (size_t)64 << 20);
    char *path = cadre_arena_printf(&a, "%s/%s", dir, file);
    rc = path ? cadre__mig_render(full, n ? ms[n - 1].name : NULL, req, nreq, &ops, &text)
              : CADRE_ENOMEM;
    if (rc)
        goto out;
    if (make_dirs(dir) != 0) {
        cadre_log(CADRE_LOG_ERROR, "cannot create the migrations directory %s: %s", dir, strerror(errno));
        rc = CADRE_EIO;
        goto out;
    }
    if ((rc = cadre__mig_write_atomically(path, text.data, text.len)) != 0)
        goto out;
    if (out) {
        fprintf(out, "Migration %s:\n", path);
        for (size_t i = 0; i < ops.len; i++)
            fprintf(out, "  - %s\n", op_summary(&a, &ops.items[i]));
        for (size_t i = 0; i < nreq; i++)
            fprintf(out, "  (after %s)\n", req[i]);
    }
    if (written && (rc = cadre_buf_append_str(written, path)) == 0 && !cadre_buf_cstr(written))
        rc = CADRE_ENOMEM;
out:
    cadre_arena_free(&a);
    return rc;
}

int cadre_makemigrations(const cadre_schema *const *models, size_t nmodels, const char *dir,
                         const cadre_makemigrations_options *opt, cadre_buf *written, FILE *out)
{
    mig_module m = { .label = "app", .dir = dir, .models = models, .nmodels = nmodels };
    return cadre__mig_make(&m, 1, 0, opt, written, out);
}
