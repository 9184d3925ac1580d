/*
 * Applying migrations to a database, each in its own transaction and recorded in the table
 * cadre_migrations; showmigrations, the pending count, sqlmigrate and the fuzz target's check.
 */
#include "migrate_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------------------------------------
 * Applying migrations
 * ------------------------------------------------------------------------------------------- */

#define APPLIED_FIELDS(F) F(string, module) F(string, name) F(string, applied)
CADRE_SCHEMA(mig_applied, APPLIED_FIELDS)

#define FK_CHECK_FIELDS(F) F(string, table) F(int64, rowid, CADRE_OPTIONAL) F(string, parent)
CADRE_SCHEMA(mig_fk_violation, FK_CHECK_FIELDS)

#define RECORD_COLUMNS                                                                             \
    "(module TEXT NOT NULL, name TEXT NOT NULL, applied TEXT NOT NULL, PRIMARY KEY (module, name))"

#define EXISTS_FIELDS(F) F(int64, n)
CADRE_SCHEMA(mig_exists, EXISTS_FIELDS)

static bool is_pg(cadre_db *db)
{
    return strcmp(cadre_db_engine(db), "postgresql") == 0;
}

static int count_of(cadre_db *db, cadre_arena *a, const char *sql, int64_t *n)
{
    bool found = false;
    mig_exists e = { 0 };
    int rc = cadre_db_query_one(db, a, CADRE_SCHEMA_OF(mig_exists), &e, &found, sql, NULL, 0);
    *n = found ? e.n : 0;
    return rc;
}

/*
 * A record table made before modules (name, applied) becomes (module, name, applied), its rows
 * given to legacy (the app's own module: the only one migrations had then). One transaction: a
 * new table filled from the old, the old dropped, the new renamed (so no index name clashes on
 * PostgreSQL).
 */
static int upgrade_record_table(cadre_db *db, const char *legacy, FILE *out)
{
    cadre_tx tx;
    int rc = cadre_db_begin(db, &tx);
    const cadre_value label = CADRE_PTEXT(legacy);
    if (rc == 0 && is_pg(db)) { /* another migrate upgrading at the same time: one does it */
        cadre_arena a;
        cadre_arena_init(&a, 1024);
        bool found = false;
        mig_exists e = { 0 };
        rc = cadre_tx_exec(&tx, "LOCK TABLE cadre_migrations IN ACCESS EXCLUSIVE MODE", NULL, 0,
                           NULL, NULL);
        if (rc == 0)
            rc = cadre_tx_query_one(&tx, &a, CADRE_SCHEMA_OF(mig_exists), &e, &found,
                                    "SELECT COUNT(*) AS n FROM information_schema.columns WHERE "
                                    "table_name = 'cadre_migrations' AND column_name = 'module' "
                                    "AND table_schema = current_schema()",
                                    NULL, 0);
        cadre_arena_free(&a);
        if (rc == 0 && found && e.n > 0) /* done by the other one meanwhile */
            return cadre_tx_commit(&tx);
    }
    if (rc == 0)
        rc = cadre_tx_exec(&tx, "CREATE TABLE cadre_migrations_new " RECORD_COLUMNS, NULL, 0, NULL,
                           NULL);
    if (rc == 0)
        rc = cadre_tx_exec(&tx, "INSERT INTO cadre_migrations_new (module, name, applied) "
                                "SELECT CAST(? AS TEXT), name, applied FROM cadre_migrations",
                           &label, 1, NULL, NULL);
    if (rc == 0)
        rc = cadre_tx_exec(&tx, "DROP TABLE cadre_migrations", NULL, 0, NULL, NULL);
    if (rc == 0)
        rc = cadre_tx_exec(&tx, "ALTER TABLE cadre_migrations_new RENAME TO cadre_migrations",
                           NULL, 0, NULL, NULL);
    if (tx.open)
        rc = rc == 0 ? cadre_tx_commit(&tx) : (cadre_tx_rollback(&tx), rc);
    if (rc)
        cadre_log(CADRE_LOG_ERROR, "cannot upgrade the table cadre_migrations to record modules: "
                                   "%s", cadre_db_errmsg(db));
    else if (out)
        fprintf(out, "Upgraded cadre_migrations to record each migration's module: the "
                     "migrations applied so far are the module %s's.\n", legacy);
    return rc;
}

/* What db has recorded, as (module, name, applied) rows. Only migrate creates or upgrades the
 * record table (create): the other commands and the start-up check read a database without one
 * as having nothing applied, and a table from before modules as legacy's. */
static int applied_rows(cadre_db *db, cadre_arena *a, cadre_rows *rows, bool create,
                        const char *legacy, FILE *out)
{
    *rows = (cadre_rows){ 0 };
    bool pg = is_pg(db);
    int64_t exists = 0, has_module = 0;
    int rc = count_of(db, a,
                      pg ? "SELECT COUNT(*) AS n FROM pg_tables WHERE tablename = "
                           "'cadre_migrations' AND schemaname = current_schema()"
                         : "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND "
                           "name = 'cadre_migrations'",
                      &exists);
    if (rc == 0 && exists)
        rc = count_of(db, a,
                      pg ? "SELECT COUNT(*) AS n FROM information_schema.columns WHERE "
                           "table_name = 'cadre_migrations' AND column_name = 'module' AND "
                           "table_schema = current_schema()"
                         : "SELECT COUNT(*) AS n FROM pragma_table_info('cadre_migrations') "
                           "WHERE name = 'module'",
                      &has_module);
    if (rc)
        return rc;
    if (!exists && !create)
        return 0;
    if (!exists)
        rc = cadre_db_exec(db, "CREATE TABLE IF NOT EXISTS cadre_migrations " RECORD_COLUMNS,
                           NULL, 0, NULL, NULL);
    else if (!has_module && create)
        rc = upgrade_record_table(db, legacy, out);
    if (rc)
        return rc;
    if (exists && !has_module && !create) {
        const cadre_value label = CADRE_PTEXT(legacy);
        return cadre_db_query(db, a, CADRE_SCHEMA_OF(mig_applied), rows,
                              "SELECT CAST(? AS TEXT) AS module, name, applied FROM "
                              "cadre_migrations ORDER BY name",
                              &label, 1);
    }
    return cadre_db_query(db, a, CADRE_SCHEMA_OF(mig_applied), rows,
                          "SELECT module, name, applied FROM cadre_migrations ORDER BY module, "
                          "name",
                          NULL, 0);
}

static bool is_applied(const cadre_rows *rows, const migration *m)
{
    const mig_applied *r = rows->items;
    for (size_t i = 0; i < rows->len; i++)
        if (cadre_slice_eq_cstr(r[i].name, m->name) && cadre_slice_eq_cstr(r[i].module, m->module))
            return true;
    return false;
}

/* The index of the migration named name, or whose number is name ("0002" or "2"). */
static int find_migration(const mig_module *mm, const char *name, size_t *at)
{
    char *end;
    long num = strtol(name, &end, 10);
    for (size_t i = 0; i < mm->n; i++)
        if (strcmp(mm->ms[i].name, name) == 0 ||
            (*end == '\0' && end != name && atol(mm->ms[i].name) == num)) {
            *at = i;
            return 0;
        }
    cadre_log(CADRE_LOG_ERROR, "module %s has no migration named %s", mm->label, name);
    return CADRE_ENOTFOUND;
}

static int find_module(mig_module *mods, size_t nmods, const char *label, size_t *k)
{
    for (size_t i = 0; i < nmods; i++)
        if (strcmp(mods[i].label, label) == 0) {
            *k = i;
            return 0;
        }
    char known[512] = "";
    size_t len = 0;
    for (size_t i = 0; i < nmods && len < sizeof known; i++)
        len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "",
                                mods[i].label);
    cadre_log(CADRE_LOG_ERROR, "no module %s has models (the modules with models: %s)", label,
              nmods ? known : "none");
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
    const cadre_value key[] = { CADRE_PTEXT(m->module), CADRE_PTEXT(m->name) };
    if (rc == 0 && pg) /* another migrate running at the same time waits here */
        rc = cadre_tx_exec(&tx, "LOCK TABLE cadre_migrations IN EXCLUSIVE MODE", NULL, 0, NULL, NULL);
    if (rc == 0)
        rc = cadre_tx_query_one(&tx, &a, CADRE_SCHEMA_OF(mig_applied), &rec, &found,
                                "SELECT module, name, applied FROM cadre_migrations WHERE "
                                "module = ? AND name = ?",
                                key, 2);
    *skipped = rc == 0 && found;
    for (size_t i = 0; rc == 0 && !found && i < sql->len; i++) {
        rc = cadre_tx_exec(&tx, sql->items[i], NULL, 0, NULL, NULL);
        if (rc)
            cadre_log(CADRE_LOG_ERROR, "migration %s.%s failed at statement %zu: %s: %s",
                      m->module, m->name, i + 1, sql->items[i], cadre_db_errmsg(db));
    }
    if (rc == 0 && !found && !pg) {
        mig_fk_violation v;
        bool bad = false;
        rc = cadre_tx_query_one(&tx, &a, CADRE_SCHEMA_OF(mig_fk_violation), &v, &bad,
                                "PRAGMA foreign_key_check", NULL, 0);
        if (rc == 0 && bad) {
            cadre_log(CADRE_LOG_ERROR, "migration %s.%s: rows of %.*s would reference missing "
                                       "rows of %.*s (foreign key check)", m->module, m->name,
                      (int)v.table.len, v.table.ptr, (int)v.parent.len, v.parent.ptr);
            rc = CADRE_ESTATE;
        }
    }
    if (rc == 0 && !found) {
        char when[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        const cadre_value rec_params[] = { CADRE_PTEXT(m->module), CADRE_PTEXT(m->name),
                                           CADRE_PTEXT(when) };
        rc = cadre_tx_exec(&tx, "INSERT INTO cadre_migrations (module, name, applied) VALUES "
                                "(?, ?, ?)",
                           rec_params, 3, NULL, NULL);
    }
    if (tx.open)
        rc = rc == 0 ? cadre_tx_commit(&tx) : (cadre_tx_rollback(&tx), rc);
    if (!pg)
        cadre_db_exec(db, "PRAGMA foreign_keys = ON", NULL, 0, NULL, NULL);
    cadre_arena_free(&a);
    return rc;
}

/* Marks m and everything it follows (the migrations before it in its module, what it requires,
 * and theirs) as needed. */
static void need(mig_plan *p, migration *m)
{
    if (m->needed)
        return;
    m->needed = true;
    for (size_t k = 0; k < p->nmods; k++) /* the ones before it in its line */
        if (m >= p->mods[k].ms && m < p->mods[k].ms + p->mods[k].n && m > p->mods[k].ms)
            need(p, m - 1);
    for (size_t r = 0; r < m->nrequires; r++) {
        const char *colon = strchr(m->requires[r], ':');
        for (size_t k = 0; k < p->nmods; k++) {
            mig_module *mm = &p->mods[k];
            if (strlen(mm->label) != (size_t)(colon - m->requires[r]) ||
                strncmp(mm->label, m->requires[r], (size_t)(colon - m->requires[r])) != 0)
                continue;
            for (size_t i = 0; i < mm->n; i++)
                if (strcmp(mm->ms[i].name, colon + 1) == 0)
                    need(p, &mm->ms[i]);
        }
    }
}

/* The migrations of mods (the app's modules, in dependency order) applied to db: those of module
 * (NULL: all) up to target, and what they need. legacy: the module that owns the rows of a record
 * table made before modules. */
int cadre__mig_migrate(cadre_db *db, mig_module *mods, size_t nmods, const char *legacy,
                       const char *module, const char *target, FILE *out)
{
    cadre_arena a;
    cadre_arena_init(&a, 16384);
    mig_plan p;
    state s = { .arena = &a };
    cadre_rows applied;
    bool pg = is_pg(db);
    size_t done = 0, k = 0, last = 0;
    int rc = cadre__mig_plan(&a, mods, nmods, &p);
    if (rc == 0 && module)
        rc = find_module(mods, nmods, module, &k);
    if (rc == 0 && module && mods[k].n > 0)
        last = mods[k].n - 1;
    if (rc == 0 && module && target)
        rc = find_migration(&mods[k], target, &last);
    if (rc)
        goto out;
    for (size_t i = 0; i < p.n && !module; i++)
        p.order[i]->needed = true;
    for (size_t i = 0; module && i < mods[k].n && i <= last; i++)
        need(&p, &mods[k].ms[i]);
    rc = applied_rows(db, &a, &applied, true, legacy, out);
    for (size_t i = 0; rc == 0 && i < p.n; i++) {
        migration *m = p.order[i];
        if (is_applied(&applied, m)) {
            rc = cadre__mig_replay(m, 1, &s);
            continue;
        }
        if (!m->needed)
            continue;
        cadre__stmts sql = { .arena = &a };
        s.module = m->module;
        for (size_t j = 0; j < m->nops && rc == 0; j++) {
            char *where = cadre_arena_printf(&a, "%s: operation %zu", m->path, j + 1);
            rc = where ? cadre__mig_step(&s, &m->ops[j], pg, &sql, where) : CADRE_ENOMEM;
        }
        if (rc)
            break;
        if (out) {
            fprintf(out, "Applying %s.%s...", m->module, m->name);
            fflush(out);
        }
        bool skipped = false;
        rc = run_migration(db, pg, m, &sql, &skipped);
        if (out)
            fprintf(out, rc ? " FAILED (nothing of it was applied)\n"
                            : skipped ? " already applied by another process\n" : " OK\n");
        done += rc == 0 && !skipped;
    }
    if (rc == 0 && out && done == 0 && module && target && last + 1 < mods[k].n)
        fprintf(out, "No migrations to apply: %s.%s is applied already. Migrations only go "
                     "forward: to undo one, write the next migration.\n",
                mods[k].label, mods[k].ms[last].name);
    else if (rc == 0 && out && done == 0)
        fprintf(out, "No migrations to apply.\n");
out:
    cadre_arena_free(&a);
    return rc;
}

int cadre__mig_show(cadre_db *db, mig_module *mods, size_t nmods, const char *legacy,
                    const char *module, bool headings, FILE *out)
{
    cadre_arena a;
    cadre_arena_init(&a, 16384);
    mig_plan p;
    cadre_rows applied;
    size_t k = 0;
    int rc = cadre__mig_plan(&a, mods, nmods, &p);
    if (rc == 0 && module)
        rc = find_module(mods, nmods, module, &k);
    if (rc == 0)
        rc = applied_rows(db, &a, &applied, false, legacy, NULL);
    for (size_t i = 0; rc == 0 && i < nmods; i++) {
        mig_module *mm = &mods[i];
        if (module && i != k)
            continue;
        if (headings)
            fprintf(out, "%s\n", mm->label);
        for (size_t j = 0; j < mm->n; j++)
            fprintf(out, "%s[%c] %s\n", headings ? " " : "",
                    is_applied(&applied, &mm->ms[j]) ? 'X' : ' ', mm->ms[j].name);
        const mig_applied *r = applied.items;
        for (size_t j = 0; j < applied.len; j++) {
            bool known = !cadre_slice_eq_cstr(r[j].module, mm->label);
            for (size_t m = 0; m < mm->n && !known; m++)
                known = cadre_slice_eq_cstr(r[j].name, mm->ms[m].name);
            if (!known)
                fprintf(out, "%s[X] %.*s (applied %.*s; its file is missing)\n",
                        headings ? " " : "", (int)r[j].name.len, r[j].name.ptr,
                        (int)r[j].applied.len, r[j].applied.ptr);
        }
        if (mm->n == 0)
            fprintf(out, "%s(no migrations%s%s)\n", headings ? " " : "", mm->dir ? " in " : "",
                    mm->dir ? mm->dir : "");
    }
    cadre_arena_free(&a);
    return rc;
}

int cadre__mig_pending(cadre_db *db, mig_module *mods, size_t nmods, const char *legacy,
                       size_t *count)
{
    cadre_arena a;
    cadre_arena_init(&a, 16384);
    mig_plan p;
    cadre_rows applied;
    *count = 0;
    int rc = cadre__mig_plan(&a, mods, nmods, &p);
    if (rc == 0)
        rc = applied_rows(db, &a, &applied, false, legacy, NULL);
    for (size_t i = 0; rc == 0 && i < p.n; i++)
        *count += !is_applied(&applied, p.order[i]);
    cadre_arena_free(&a);
    return rc;
}

int cadre__mig_sql(mig_module *mods, size_t nmods, const char *module, const char *name,
                   const char *engine, cadre_buf *out)
{
    bool pg;
    int rc = cadre__engine_pg(engine, &pg);
    if (rc)
        return rc;
    cadre_arena a;
    cadre_arena_init(&a, 16384);
    mig_plan p;
    size_t k = 0, at = 0;
    state s = { .arena = &a };
    cadre__stmts sql = { .arena = &a };
    rc = cadre__mig_plan(&a, mods, nmods, &p);
    if (rc == 0)
        rc = find_module(mods, nmods, module, &k);
    if (rc == 0)
        rc = find_migration(&mods[k], name, &at);
    migration *m = rc == 0 ? &mods[k].ms[at] : NULL;
    for (size_t i = 0; rc == 0 && p.order[i] != m; i++) /* what comes before it, in order */
        rc = cadre__mig_replay(p.order[i], 1, &s);
    s.module = m ? m->module : NULL;
    for (size_t j = 0; rc == 0 && j < m->nops; j++)
        rc = cadre__mig_step(&s, &m->ops[j], pg, &sql, m->path);
    if (rc == 0 && !pg)
        rc = cadre_buf_append_str(out, "PRAGMA foreign_keys = OFF;\n");
    if (rc == 0)
        rc = cadre_buf_append_str(out, "BEGIN;\n");
    for (size_t i = 0; rc == 0 && i < sql.len; i++)
        rc = cadre_buf_appendf(out, "%s;\n", sql.items[i]);
    if (rc == 0 && !pg)
        rc = cadre_buf_append_str(out, "PRAGMA foreign_key_check;\n");
    if (rc == 0)
        rc = cadre_buf_appendf(out, "INSERT INTO cadre_migrations (module, name, applied) VALUES "
                                    "('%s', '%s', <now>);\nCOMMIT;\n", m->module, m->name);
    if (rc == 0 && !pg)
        rc = cadre_buf_append_str(out, "PRAGMA foreign_keys = ON;\n");
    if (rc == 0 && !cadre_buf_cstr(out))
        rc = CADRE_ENOMEM;
    cadre_arena_free(&a);
    return rc;
}

/* The one-module, one-directory functions of cadre/migrate.h. */

int cadre_migrate(cadre_db *db, const char *module, const char *dir, const char *target, FILE *out)
{
    mig_module m = { .label = module, .dir = dir };
    return cadre__mig_migrate(db, &m, 1, module, module, target, out);
}

int cadre_showmigrations(cadre_db *db, const char *module, const char *dir, FILE *out)
{
    mig_module m = { .label = module, .dir = dir };
    return cadre__mig_show(db, &m, 1, module, NULL, false, out);
}

int cadre_migrations_pending(cadre_db *db, const char *module, const char *dir, size_t *count)
{
    mig_module m = { .label = module, .dir = dir };
    return cadre__mig_pending(db, &m, 1, module, count);
}

int cadre_sqlmigrate(const char *module, const char *dir, const char *name, const char *engine,
                     cadre_buf *out)
{
    mig_module m = { .label = module, .dir = dir };
    return cadre__mig_sql(&m, 1, module, name, engine, out);
}

int cadre__migration_check(const char *data, size_t len, cadre_buf *sql)
{
    cadre_arena a;
    cadre_arena_init(&a, 16384);
    migration m;
    int rc = cadre__mig_parse_text(&a, "input", NULL, data, len, &m);
    for (int pg = 0; pg < 2 && rc == 0; pg++) {
        state st = { .arena = &a };
        cadre__stmts out = { .arena = &a };
        for (size_t j = 0; rc == 0 && j < m.nops; j++)
            rc = cadre__mig_step(&st, &m.ops[j], pg, &out, "input");
        for (size_t i = 0; rc == 0 && i < out.len && sql; i++)
            rc = cadre_buf_appendf(sql, "%s;\n", out.items[i]);
    }
    cadre_arena_free(&a);
    return rc;
}
