/* The database layer on SQLite: URLs, statements with bound parameters, rows into schema structs,
 * constraint errors, and values that look like SQL staying values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cadre.h>

#include "engine_fixture.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KIND_VALUES(V) V(KIND_TOOL, "tool") V(KIND_TOY, "toy")
CADRE_ENUM(kind, KIND_VALUES)

#define PRODUCT_FIELDS(F)                                                                          \
    F(int64, id)                                                                                   \
    F(string, name)                                                                                \
    F(double, price)                                                                               \
    F(bool, in_stock)                                                                              \
    F(enum(kind), kind)                                                                            \
    F(date, added)                                                                                 \
    F(string, note, CADRE_NULLABLE)
CADRE_SCHEMA(Product, PRODUCT_FIELDS)

/* The engine comes from engine_fixture.h (SQLite, or PostgreSQL under tests/pg/with-postgres);
 * the same code runs on both: only the table definition differs. */

/* The same statement on both engines; PostgreSQL returns the new id with RETURNING. */
static const char insert_sql_lite[] =
    "INSERT INTO product (name, price, in_stock, kind, added, note) VALUES (?, ?, ?, ?, ?, ?)";
static const char insert_sql_pg[] = "INSERT INTO product (name, price, in_stock, kind, added, note) "
                                    "VALUES (?, ?, ?, ?, ?, ?) RETURNING id";
static const char *insert_sql = insert_sql_lite;

static cadre_db *open_db(void)
{
    cadre_db *db;
    assert_int_equal(cadre_db_open(url, &db), 0);
    assert_string_equal(cadre_db_engine(db), pg ? "postgresql" : "sqlite");
    assert_int_equal(cadre_db_exec_script(db, pg ? "DROP TABLE IF EXISTS product;"
                                                   "CREATE TABLE product (id BIGSERIAL PRIMARY KEY, "
                                                   "name TEXT NOT NULL UNIQUE, price DOUBLE PRECISION "
                                                   "NOT NULL, in_stock INTEGER NOT NULL, kind TEXT NOT "
                                                   "NULL, added TEXT NOT NULL, note TEXT)"
                                                 : "DROP TABLE IF EXISTS product;"
                                                   "CREATE TABLE product (id INTEGER PRIMARY KEY, name "
                                                   "TEXT NOT NULL UNIQUE, price REAL NOT NULL, in_stock "
                                                   "INTEGER NOT NULL, kind TEXT NOT NULL, added TEXT NOT "
                                                   "NULL, note TEXT)"),
                     0);
    insert_sql = pg ? insert_sql_pg : insert_sql_lite;
    return db;
}

static void test_urls(void **state)
{
    (void)state;
    cadre_db *db;
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    assert_int_equal(cadre_db_open("", &db), CADRE_EINVAL);
    assert_null(db);
    assert_int_equal(cadre_db_open("mysql://x/y", &db), CADRE_EINVAL);
    assert_int_equal(cadre_db_open("postgresql://u:p@127.0.0.1/db", &db), 0); /* connects lazily */
    assert_string_equal(cadre_db_engine(db), "postgresql");
    cadre_db_close(db);
    assert_int_equal(cadre_db_open("sqlite://", &db), CADRE_EINVAL);
    assert_int_equal(cadre_db_open("sqlite:/typo.db", &db), CADRE_EINVAL);
    assert_int_equal(cadre_db_open("sqlite::memory:", &db), CADRE_EINVAL);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    char abs[160];
    snprintf(abs, sizeof abs, "sqlite:///%s/abs.db", dir + 1); /* sqlite:///tmp/... */
    assert_int_equal(cadre_db_open(abs, &db), 0);
    assert_int_equal(cadre_db_exec_script(db, "CREATE TABLE t (x INTEGER)"), 0);
    cadre_db_close(db);
    char path[160];
    snprintf(path, sizeof path, "%s/abs.db", dir);
    assert_int_equal(access(path, F_OK), 0); /* the absolute path was used */
    unlink(path);
    snprintf(path, sizeof path, "%s/abs.db-wal", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/abs.db-shm", dir);
    unlink(path);
}

static void test_insert_and_query(void **state)
{
    (void)state;
    cadre_db *db = open_db();
    int64_t changes = 0, id = 0;
    cadre_value p[] = { CADRE_PTEXT("hammer"), CADRE_PDOUBLE(9.5), CADRE_PINT(1),
                        CADRE_PTEXT("tool"), CADRE_PTEXT("2026-11-26"), CADRE_PNULL };
    assert_int_equal(cadre_db_exec(db, insert_sql, p, 6, &changes, &id), 0);
    assert_int_equal(changes, 1);
    assert_int_equal(id, 1);
    cadre_value q[] = { CADRE_PTEXT("yo-yo"), CADRE_PINT(3), CADRE_PINT(0), CADRE_PTEXT("toy"),
                        CADRE_PTEXT("2025-01-31"), CADRE_PTEXT("red") };
    assert_int_equal(cadre_db_exec(db, insert_sql, q, 6, NULL, &id), 0);
    assert_int_equal(id, 2);

    cadre_arena a;
    cadre_arena_init(&a, 0);
    cadre_rows rows;
    assert_int_equal(cadre_db_query(db, &a, CADRE_SCHEMA_OF(Product), &rows,
                                    "SELECT * FROM product ORDER BY id", NULL, 0),
                     0);
    assert_int_equal(rows.len, 2);
    Product *pr = rows.items;
    assert_int_equal(pr[0].id, 1);
    assert_string_equal(pr[0].name.ptr, "hammer");
    assert_true(pr[0].price == 9.5);
    assert_true(pr[0].in_stock);
    assert_int_equal(pr[0].kind, KIND_TOOL);
    assert_int_equal(pr[0].added.year, 2026);
    assert_true(pr[0].cadre_null_ & (1u << 6)); /* note IS NULL */
    assert_true(pr[1].price == 3.0);             /* an INTEGER column into a double field */
    assert_false(pr[1].in_stock);
    assert_int_equal(pr[1].kind, KIND_TOY);
    assert_string_equal(pr[1].note.ptr, "red");
    assert_true(cadre_schema_has(CADRE_SCHEMA_OF(Product), &pr[1], "note"));

    /* encoded like any schema struct */
    cadre_buf b;
    cadre_json_writer w;
    cadre_buf_init(&b, 4096);
    cadre_json_writer_init(&w, &b);
    cadre_schema_encode_json(CADRE_SCHEMA_OF(Product), &pr[0], &w);
    cadre_buf_append(&b, "", 1);
    assert_string_equal(b.data, "{\"id\":1,\"name\":\"hammer\",\"price\":9.5,\"in_stock\":true,"
                                "\"kind\":\"tool\",\"added\":\"2026-11-26\",\"note\":null}");
    cadre_buf_free(&b);

    /* one row, or none */
    Product one;
    bool found;
    cadre_value id2 = CADRE_PINT(2);
    assert_int_equal(cadre_db_query_one(db, &a, CADRE_SCHEMA_OF(Product), &one, &found,
                                        "SELECT id, name FROM product WHERE id = ?", &id2, 1),
                     0);
    assert_true(found);
    assert_string_equal(one.name.ptr, "yo-yo");
    assert_false(cadre_schema_has(CADRE_SCHEMA_OF(Product), &one, "price")); /* not selected */
    cadre_value id9 = CADRE_PINT(9);
    assert_int_equal(cadre_db_query_one(db, &a, CADRE_SCHEMA_OF(Product), &one, &found,
                                        "SELECT id, name FROM product WHERE id = ?", &id9, 1),
                     0);
    assert_false(found);

    /* the same statement again (from the cache), with other values */
    assert_int_equal(cadre_db_query_one(db, &a, CADRE_SCHEMA_OF(Product), &one, &found,
                                        "SELECT id, name FROM product WHERE id = ?", &id2, 1),
                     0);
    assert_true(found);
    cadre_arena_free(&a);
    cadre_db_close(db);
}

static void test_errors(void **state)
{
    (void)state;
    cadre_db *db = open_db();
    cadre_value p[] = { CADRE_PTEXT("hammer"), CADRE_PDOUBLE(9.5), CADRE_PINT(1),
                        CADRE_PTEXT("tool"), CADRE_PTEXT("2026-11-26"), CADRE_PNULL };
    assert_int_equal(cadre_db_exec(db, insert_sql, p, 6, NULL, NULL), 0);
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    /* UNIQUE */
    assert_int_equal(cadre_db_exec(db, insert_sql, p, 6, NULL, NULL), CADRE_EEXIST);
    /* NOT NULL */
    cadre_value n[] = { CADRE_PTEXT("saw"), CADRE_PNULL, CADRE_PINT(1), CADRE_PTEXT("tool"),
                        CADRE_PTEXT("2026-11-26"), CADRE_PNULL };
    assert_int_equal(cadre_db_exec(db, insert_sql, n, 6, NULL, NULL), CADRE_ESTATE);
    /* SQL errors and wrong parameter counts */
    assert_int_equal(cadre_db_exec(db, "INSERT INTO nowhere VALUES (1)", NULL, 0, NULL, NULL),
                     CADRE_EIO);
    assert_int_equal(cadre_db_exec(db, insert_sql, p, 2, NULL, NULL), CADRE_EINVAL);
    /* a column that does not fit its field */
    cadre_arena a;
    cadre_arena_init(&a, 0);
    cadre_rows rows;
    assert_int_equal(cadre_db_query(db, &a, CADRE_SCHEMA_OF(Product), &rows,
                                    "SELECT 'not a date' AS added", NULL, 0),
                     CADRE_EPARSE);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    cadre_arena_free(&a);
    cadre_db_close(db);
}

static void test_values_stay_values(void **state)
{
    (void)state;
    cadre_db *db = open_db();
    static const char *const nasty[] = {
        "x'); DROP TABLE product; --",
        "\" OR 1=1 --",
        "Robert'); DELETE FROM product WHERE ('1'='1",
        "é \xF0\x9F\x98\x80 \\ ' \" ;",
    };
    cadre_arena a;
    cadre_arena_init(&a, 0);
    for (size_t i = 0; i < 4; i++) {
        cadre_value p[] = { CADRE_PTEXT(nasty[i]), CADRE_PDOUBLE(1), CADRE_PINT(1),
                            CADRE_PTEXT("tool"), CADRE_PTEXT("2026-11-26"), CADRE_PTEXT(nasty[i]) };
        assert_int_equal(cadre_db_exec(db, insert_sql, p, 6, NULL, NULL), 0);
        Product got;
        bool found;
        cadre_value key = CADRE_PTEXT(nasty[i]);
        assert_int_equal(cadre_db_query_one(db, &a, CADRE_SCHEMA_OF(Product), &got, &found,
                                            "SELECT * FROM product WHERE name = ?", &key, 1),
                         0);
        assert_true(found);
        assert_string_equal(got.name.ptr, nasty[i]);
        assert_string_equal(got.note.ptr, nasty[i]);
    }
    cadre_rows rows;
    assert_int_equal(cadre_db_query(db, &a, CADRE_SCHEMA_OF(Product), &rows,
                                    "SELECT id FROM product", NULL, 0),
                     0);
    assert_int_equal(rows.len, 4); /* nothing was dropped or deleted */
    cadre_arena_free(&a);
    cadre_db_close(db);
}

/* Each thread gets its own connection: two threads insert concurrently, all rows arrive. */
static cadre_db *shared_db;

static void *inserter(void *arg)
{
    long base = (long)(intptr_t)arg;
    for (long i = 0; i < 50; i++) {
        char name[32];
        snprintf(name, sizeof name, "t%ld-%ld", base, i);
        cadre_value p[] = { CADRE_PTEXT(name), CADRE_PDOUBLE(1), CADRE_PINT(1), CADRE_PTEXT("toy"),
                            CADRE_PTEXT("2026-11-26"), CADRE_PNULL };
        if (cadre_db_exec(shared_db, insert_sql, p, 6, NULL, NULL) != 0)
            return (void *)1;
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    shared_db = open_db();
    pthread_t t[2];
    for (long i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, inserter, (void *)(intptr_t)i), 0);
    for (int i = 0; i < 2; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        assert_null(ret);
    }
    cadre_arena a;
    cadre_arena_init(&a, 0);
    cadre_rows rows;
    assert_int_equal(cadre_db_query(shared_db, &a, CADRE_SCHEMA_OF(Product), &rows,
                                    "SELECT id FROM product", NULL, 0),
                     0);
    assert_int_equal(rows.len, 100);
    /* one connection for this thread and one for each inserter, none in use now */
    cadre_db_stats st;
    cadre_db_pool_stats(shared_db, &st);
    assert_int_equal(st.connections, 3);
    assert_int_equal(st.in_use, 0);
    assert_int_equal(st.waiting, 0);
    cadre_arena_free(&a);
    cadre_db_close(shared_db);
}

static int count_rows(cadre_db *db)
{
    cadre_arena a;
    cadre_arena_init(&a, 0);
    cadre_rows rows;
    assert_int_equal(cadre_db_query(db, &a, CADRE_SCHEMA_OF(Product), &rows, "SELECT id FROM product",
                                    NULL, 0),
                     0);
    int n = (int)rows.len;
    cadre_arena_free(&a);
    return n;
}

static int insert_named(cadre_tx *tx, const char *name)
{
    cadre_value p[] = { CADRE_PTEXT(name), CADRE_PDOUBLE(1), CADRE_PINT(1), CADRE_PTEXT("tool"),
                        CADRE_PTEXT("2026-11-26"), CADRE_PNULL };
    return cadre_tx_exec(tx, insert_sql, p, 6, NULL, NULL);
}

static void test_transactions(void **state)
{
    (void)state;
    cadre_db *db = open_db();
    cadre_tx tx;

    /* commit: both rows; the transaction holds its connection until it ends */
    cadre_db_stats st;
    assert_int_equal(cadre_db_begin(db, &tx), 0);
    cadre_db_pool_stats(db, &st);
    assert_int_equal(st.in_use, 1);
    assert_int_equal(insert_named(&tx, "a"), 0);
    assert_int_equal(insert_named(&tx, "b"), 0);
    cadre_arena a;
    cadre_arena_init(&a, 0);
    cadre_rows rows;
    assert_int_equal(cadre_tx_query(&tx, &a, CADRE_SCHEMA_OF(Product), &rows,
                                    "SELECT id FROM product", NULL, 0),
                     0);
    assert_int_equal(rows.len, 2); /* the transaction sees its own rows */
    if (pg)
        assert_int_equal(count_rows(db), 0); /* another connection does not, yet */
    assert_int_equal(cadre_tx_commit(&tx), 0);
    cadre_db_pool_stats(db, &st);
    assert_int_equal(st.in_use, 0);
    assert_int_equal(count_rows(db), 2);
    assert_int_equal(insert_named(&tx, "late"), CADRE_ESTATE); /* ended */
    assert_int_equal(cadre_tx_commit(&tx), CADRE_ESTATE);

    /* rollback: nothing */
    assert_int_equal(cadre_db_begin(db, &tx), 0);
    assert_int_equal(insert_named(&tx, "c"), 0);
    cadre_tx_rollback(&tx);
    cadre_tx_rollback(&tx); /* twice is harmless */
    cadre_db_pool_stats(db, &st);
    assert_int_equal(st.in_use, 0);
    assert_int_equal(count_rows(db), 2);
    cadre_arena_free(&a);
    cadre_db_close(db);
}

/* on_commit hooks: each appends its letter to the log they share */
static char hook_log[16];
static void hook_a(void *ctx)
{
    strncat(hook_log, ctx, sizeof hook_log - strlen(hook_log) - 1);
}

static void test_on_commit(void **state)
{
    (void)state;
    cadre_db *db = open_db();
    cadre_tx tx;
    /* committed: the hooks run after the commit, in the order added, a repeated one once */
    hook_log[0] = '\0';
    assert_int_equal(cadre_db_begin(db, &tx), 0);
    assert_int_equal(insert_named(&tx, "a"), 0);
    assert_int_equal(cadre_tx_on_commit(&tx, hook_a, "x"), 0);
    assert_int_equal(cadre_tx_on_commit(&tx, hook_a, "y"), 0);
    assert_int_equal(cadre_tx_on_commit(&tx, hook_a, "x"), 0); /* the same: kept once */
    assert_string_equal(hook_log, ""); /* nothing before the commit */
    assert_int_equal(cadre_tx_commit(&tx), 0);
    assert_string_equal(hook_log, "xy");
    assert_int_equal(cadre_tx_on_commit(&tx, hook_a, "z"), CADRE_ESTATE); /* ended */
    /* rolled back: forgotten */
    hook_log[0] = '\0';
    assert_int_equal(cadre_db_begin(db, &tx), 0);
    assert_int_equal(cadre_tx_on_commit(&tx, hook_a, "r"), 0);
    cadre_tx_rollback(&tx);
    assert_string_equal(hook_log, "");
    cadre_db_close(db);
}

static int two_inserts(cadre_tx *tx, void *ctx)
{
    const char *second = ctx;
    int rc = insert_named(tx, "first");
    if (rc == 0)
        rc = insert_named(tx, second);
    return rc < 0 ? rc : 7;
}

static void test_atomic(void **state)
{
    (void)state;
    cadre_db *db = open_db();
    assert_int_equal(cadre_db_atomic(db, two_inserts, "second"), 7);
    assert_int_equal(count_rows(db), 2);
    /* the second insert fails (UNIQUE): the first one is rolled back with it */
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    assert_int_equal(cadre_db_exec_script(db, "DELETE FROM product"), 0);
    assert_int_equal(cadre_db_atomic(db, two_inserts, "first"), CADRE_EEXIST);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    assert_int_equal(count_rows(db), 0);
    cadre_db_close(db);
}

static void test_query_each(void **state)
{
    (void)state;
    cadre_db *db = open_db();
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", i);
        cadre_value p[] = { CADRE_PTEXT(name), CADRE_PDOUBLE(i + 0.5), CADRE_PINT(1),
                            CADRE_PTEXT("toy"), CADRE_PTEXT("2026-11-26"), CADRE_PNULL };
        assert_int_equal(cadre_db_exec(db, insert_sql, p, 6, NULL, NULL), 0);
    }
    cadre_arena a;
    cadre_arena_init(&a, 0);
    /* ids 3, 1, 99 (absent), 2, 1: five runs of one statement, in order */
    cadre_value ids[] = { CADRE_PINT(3), CADRE_PINT(1), CADRE_PINT(99), CADRE_PINT(2), CADRE_PINT(1) };
    Product rows[5];
    bool found[5];
    assert_int_equal(cadre_db_query_each(db, &a, CADRE_SCHEMA_OF(Product), rows, found, 5,
                                         "SELECT id, name, price FROM product WHERE id = ?", ids, 1),
                     0);
    static const int want[] = { 3, 1, 0, 2, 1 };
    for (int i = 0; i < 5; i++) {
        assert_int_equal(found[i], want[i] != 0);
        assert_int_equal(rows[i].id, want[i]);
        if (want[i])
            assert_true(rows[i].price == want[i] - 1 + 0.5);
    }
    assert_string_equal(rows[0].name.ptr, "p2");
    /* and again (the statement is cached), then a failing one */
    assert_int_equal(cadre_db_query_each(db, &a, CADRE_SCHEMA_OF(Product), rows, found, 2,
                                         "SELECT id, name, price FROM product WHERE id = ?", ids, 1),
                     0);
    assert_int_equal(rows[1].id, 1);
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    assert_int_equal(cadre_db_query_each(db, &a, CADRE_SCHEMA_OF(Product), rows, found, 2,
                                         "SELECT id FROM nowhere WHERE id = ?", ids, 1),
                     CADRE_EIO);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    /* the connection is still good afterwards */
    assert_int_equal(count_rows(db), 3);
    cadre_arena_free(&a);
    cadre_db_close(db);
}

/* --log-sql: each statement with its time, never its parameter values; off, nothing. */
static void test_log_sql(void **state)
{
    (void)state;
    cadre_db *db = open_db();
    char path[200];
    snprintf(path, sizeof path, "%s/sql.log", dir);
    FILE *f = fopen(path, "w+");
    assert_non_null(f);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, fileno(f));
    cadre_value p[] = { CADRE_PTEXT("s3cret-value"), CADRE_PDOUBLE(1), CADRE_PINT(1),
                        CADRE_PTEXT("tool"), CADRE_PTEXT("2026-11-26"), CADRE_PNULL };
    assert_int_equal(cadre_db_exec(db, insert_sql, p, 6, NULL, NULL), 0); /* not logged: off */
    cadre_log_sql(true);
    assert_int_equal(cadre_log_sql_level(), CADRE_LOG_INFO);
    p[0] = CADRE_PTEXT("s3cret-value-2"); /* names are unique */
    assert_int_equal(cadre_db_exec(db, insert_sql, p, 6, NULL, NULL), 0);
    assert_int_not_equal(cadre_db_exec(db, "SELECT nope FROM nowhere", NULL, 0, NULL, NULL), 0);
    cadre_log_sql(false);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, 2);
    char buf[8192];
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    unlink(path);
    const char *first = strstr(buf, "INFO sql ");
    assert_non_null(first);
    const char *ins = strstr(first, " ms: INSERT INTO");
    assert_non_null(ins);
    assert_null(strstr(ins + 1, " ms: INSERT INTO")); /* once: logging was off before */
    assert_non_null(strstr(buf, " ms (failed): SELECT nope FROM nowhere"));
    assert_null(strstr(buf, "s3cret-value"));
    assert_int_equal(cadre_log_sql_level(), CADRE_LOG_OFF);
    cadre_db_close(db);
}

/* cadre_db_statement_timeout: a statement past the request's limit is cancelled with
 * CADRE_ETIMEDOUT, the connection goes on serving, and 0 (or the next request) lifts the limit. */
#define COUNT_FIELDS(F) F(int64, n)
CADRE_SCHEMA(Count, COUNT_FIELDS)
static const char slow_sql[] = /* minutes: the limit must cut it */
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000000) "
    "SELECT count(*) AS n FROM c";
static const char medium_lite[] = /* ~0.2 s */
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) "
    "SELECT count(*) AS n FROM c";
static const char medium_pg[] = "SELECT 7 AS n FROM pg_sleep(0.2)";

static int timed_dispatch(void *ctx, cadre_request *r)
{
    cadre_db *db = ctx;
    Count c;
    bool found;
    const char *medium = pg ? medium_pg : medium_lite;
    int64_t want = pg ? 7 : 1000000;
    if (cadre_slice_eq_cstr(r->head.path, "/limited")) {
        if (cadre_db_statement_timeout(-1) != CADRE_EINVAL || cadre_db_statement_timeout(50) != 0)
            return cadre_text(r, 500, "setting refused");
        int rc = cadre_db_query_one(db, r->arena, CADRE_SCHEMA_OF(Count), &c, &found, slow_sql,
                                    NULL, 0);
        if (rc != CADRE_ETIMEDOUT)
            return cadre_text(r, 500, cadre_errname(rc));
        if (cadre_db_query_one(db, r->arena, CADRE_SCHEMA_OF(Count), &c, &found, medium, NULL, 0) !=
            CADRE_ETIMEDOUT)
            return cadre_text(r, 500, "medium not cancelled");
        /* the connection still serves, and the limit lifted lets the medium one finish */
        if (cadre_db_statement_timeout(0) != 0)
            return cadre_text(r, 500, "reset refused");
    }
    int rc = cadre_db_query_one(db, r->arena, CADRE_SCHEMA_OF(Count), &c, &found, medium, NULL, 0);
    if (rc || !found || c.n != want)
        return cadre_text(r, 500, rc ? cadre_errname(rc) : "wrong count");
    return cadre_text(r, 200, "ok");
}

static void test_statement_timeout(void **state)
{
    (void)state;
    cadre_db *db = open_db();
    assert_int_equal(cadre_db_statement_timeout(10), CADRE_ESTATE); /* no request */
    cadre_server_config c;
    cadre_server_config_default(&c);
    static const char *const reqs[] = { "GET /limited HTTP/1.1\r\nHost: x\r\n\r\n",
                                        "GET /free HTTP/1.1\r\nHost: x\r\n\r\n" };
    for (size_t i = 0; i < 2; i++) { /* the second request carries no limit of the first's */
        cadre_buf out;
        assert_int_equal(cadre_http_test_exchange(&c, timed_dispatch, db, reqs[i], strlen(reqs[i]),
                                                  20000, &out), 0);
        cadre_buf_append(&out, "", 1);
        if (!strstr(out.data, "200 OK"))
            fail_msg("%s", out.data);
        cadre_buf_free(&out);
    }
    cadre_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_insert_and_query),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_values_stay_values),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_transactions),
        cmocka_unit_test(test_atomic),
        cmocka_unit_test(test_on_commit),
        cmocka_unit_test(test_query_each),
        cmocka_unit_test(test_log_sql),
        cmocka_unit_test(test_statement_timeout),
    };
    return cmocka_run_group_tests(tests, engine_setup, engine_teardown);
}
