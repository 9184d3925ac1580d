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
    int rc = cadre__mig_load_dir(dir, &a, &ms, &n);
    if (rc == 0 && n > 0)
        last = n - 1;
    if (rc == 0 && target && (rc = find_migration(ms, n, target, &last)) != 0)
        goto out;
    if (rc == 0)
        rc = applied_names(db, &a, &applied, true);
    for (size_t i = 0; rc == 0 && n > 0 && i <= last; i++) {
        if (is_applied(&applied, ms[i].name)) {
            rc = cadre__mig_replay(ms + i, 1, &s);
            continue;
        }
        cadre__stmts sql = { .arena = &a };
        for (size_t j = 0; j < ms[i].nops && rc == 0; j++) {
            char *where = cadre_arena_printf(&a, "%s: operation %zu", ms[i].path, j + 1);
            rc = where ? cadre__mig_step(&s, &ms[i].ops[j], pg, &sql, where) : CADRE_ENOMEM;
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
    int rc = cadre__mig_load_dir(dir, a, ms, n);
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
    rc = cadre__mig_load_dir(dir, &a, &ms, &n);
    if (rc == 0)
        rc = find_migration(ms, n, name, &at);
    if (rc == 0)
        rc = cadre__mig_replay(ms, at, &s);
    for (size_t j = 0; rc == 0 && j < ms[at].nops; j++)
        rc = cadre__mig_step(&s, &ms[at].ops[j], pg, &sql, ms[at].path);
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
