/* Migrations: makemigrations from model changes, migrate on SQLite and (under
 * tests/pg/with-postgres) PostgreSQL, data kept across each change, refusals, broken files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cadre.h>

#include "db/engine_fixture.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

/* Successive versions of the models. A version is a schema under another C name, given its
 * table's name by as() below. */
#define SUPPLIER_FIELDS(F)                                                                         \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, name, CADRE_MAX_LEN(200))
CADRE_MODEL(supplier, SUPPLIER_FIELDS)

#define SUPPLIER_UNIQUE_FIELDS(F) /* name becomes unique */                                       \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, name, CADRE_MAX_LEN(200), CADRE_UNIQUE)
CADRE_MODEL(supplier_unique, SUPPLIER_UNIQUE_FIELDS)

#define SUPPLIER_STAMPED_FIELDS(F) /* + an automatic timestamp */                              \
    SUPPLIER_FIELDS(F)                                                                             \
    F(datetime, created_at, CADRE_AUTO_NOW_ADD)
CADRE_MODEL(supplier_stamped, SUPPLIER_STAMPED_FIELDS)

#define PRODUCT_FIELDS(F)                                                                          \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, name, CADRE_MAX_LEN(200), CADRE_INDEX)                                               \
    F(double, price, CADRE_GE(0))                                                                  \
    F(int64, supplier_id, CADRE_FOREIGN_KEY(supplier, CADRE_ON_DELETE_PROTECT))
CADRE_MODEL(product, PRODUCT_FIELDS)

#define PRODUCT_SKU_FIELDS(F) /* + sku (optional, indexed), + stock (default 0) */               \
    PRODUCT_FIELDS(F)                                                                              \
    F(string, sku, CADRE_OPTIONAL, CADRE_INDEX)                                                    \
    F(int32, stock, CADRE_DEFAULT(0))
CADRE_MODEL(product_sku, PRODUCT_SKU_FIELDS)

#define PRODUCT_TITLE_FIELDS(F) /* name renamed to title */                                      \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, title, CADRE_MAX_LEN(200), CADRE_INDEX)                                              \
    F(double, price, CADRE_GE(0))                                                                  \
    F(int64, supplier_id, CADRE_FOREIGN_KEY(supplier, CADRE_ON_DELETE_PROTECT))                    \
    F(string, sku, CADRE_OPTIONAL, CADRE_INDEX)                                                    \
    F(int32, stock, CADRE_DEFAULT(0))
CADRE_MODEL(product_title, PRODUCT_TITLE_FIELDS)

#define PRODUCT_LAST_FIELDS(F) /* sku dropped, price nullable, stock unique */                   \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, title, CADRE_MAX_LEN(200), CADRE_INDEX)                                              \
    F(double, price, CADRE_NULLABLE)                                                               \
    F(int64, supplier_id, CADRE_FOREIGN_KEY(supplier, CADRE_ON_DELETE_PROTECT))                    \
    F(int32, stock, CADRE_DEFAULT(0))
CADRE_MODEL(product_last, PRODUCT_LAST_FIELDS)

#define PRODUCT_REQUIRED_FIELDS(F) /* a new column that cannot be null and has no default */     \
    PRODUCT_FIELDS(F)                                                                              \
    F(string, barcode)
CADRE_MODEL(product_required, PRODUCT_REQUIRED_FIELDS)

#define MOVEMENT_FIELDS(F)                                                                         \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(int64, product_id, CADRE_FOREIGN_KEY(product, CADRE_ON_DELETE_CASCADE))                      \
    F(int32, quantity)
CADRE_MODEL(movement, MOVEMENT_FIELDS)

/* Two modules: accounts (a member table) and the app's own, shop (orders that reference
 * members). */
#define MEMBER_FIELDS(F)                                                                           \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, login, CADRE_MAX_LEN(50), CADRE_UNIQUE)
CADRE_MODEL(member, MEMBER_FIELDS)

/* names that SQL keeps for itself: a model "order", a field "group" */
#define SQL_ORDER_FIELDS(F) F(int64, id, CADRE_PRIMARY_KEY) F(int32, quantity)
CADRE_MODEL(order, SQL_ORDER_FIELDS)
#define TEAM_FIELDS(F) F(int64, id, CADRE_PRIMARY_KEY) F(string, group)
CADRE_MODEL(team, TEAM_FIELDS)

#define ORDER_FIELDS(F)                                                                            \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(int64, member_id, CADRE_FOREIGN_KEY(member, CADRE_ON_DELETE_CASCADE))                        \
    F(int32, quantity)
CADRE_MODEL(shop_order, ORDER_FIELDS)

#define N_FIELDS(F) F(int64, n)
CADRE_SCHEMA(count_row, N_FIELDS)

static cadre_db *db;
static char mdir[128]; /* the migrations directory of the test */

/* s under the table name name (as a model's next version is declared under the same name). */
static const cadre_schema *as(const cadre_schema *s, const char *name)
{
    static cadre_schema copies[32];
    static size_t n;
    assert_true(n < 32);
    copies[n] = *s;
    copies[n].name = name;
    return &copies[n++];
}

static void exec(const char *sql)
{
    if (cadre_db_exec(db, sql, NULL, 0, NULL, NULL) != 0)
        fail_msg("%s: %s", sql, cadre_db_errmsg(db));
}

static void rm_dir(const char *path);

static void rm_migrations(void)
{
    rm_dir(mdir);
    char accounts[160];
    snprintf(accounts, sizeof accounts, "%s/accounts-migrations", dir);
    rm_dir(accounts);
}

static void rm_dir(const char *path_)
{
    DIR *d = opendir(path_);
    struct dirent *e;
    char path[512];
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", path_, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(path_);
}

/* A fresh database and migrations directory for each test. */
static int fresh(void **state)
{
    (void)state;
    snprintf(mdir, sizeof mdir, "%s/migrations", dir);
    rm_migrations();
    if (cadre_db_open(url, &db) != 0)
        return -1;
    static const char *const tables[] = { "movement", "product", "supplier", "cadre_migrations",
                                          "cadre__new_product", "cadre__new_supplier",
                                          "shop_order", "member", "cadre_migrations_new" };
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP TABLE IF EXISTS %s%s", tables[i], pg ? " CASCADE" : "");
        if (cadre_db_exec(db, sql, NULL, 0, NULL, NULL) != 0)
            return -1;
    }
    return 0;
}

static int done(void **state)
{
    (void)state;
    cadre_db_close(db);
    rm_migrations();
    return 0;
}

/* makemigrations with models; returns its result and the new file's name (or "") in file. */
static int make(const cadre_schema *const *models, size_t n, const cadre_makemigrations_options *o,
                char *file, size_t cap)
{
    cadre_buf w;
    cadre_buf_init(&w, 4096);
    int rc = cadre_makemigrations(models, n, mdir, o, &w, NULL);
    const char *slash = w.len ? strrchr(w.data, '/') : NULL;
    snprintf(file, cap, "%s", slash ? slash + 1 : "");
    cadre_buf_free(&w);
    return rc;
}

static size_t count_files(void)
{
    size_t n = 0;
    DIR *d = opendir(mdir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

static char *slurp(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", mdir, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

static void put(const char *name, const char *text)
{
    char path[512];
    mkdir(mdir, 0755);
    snprintf(path, sizeof path, "%s/%s", mdir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static size_t pending(void)
{
    size_t n = 99;
    assert_int_equal(cadre_migrations_pending(db, "app", mdir, &n), 0);
    return n;
}

static int64_t count_rows(const char *sql)
{
    cadre_arena a;
    cadre_arena_init(&a, 1024);
    count_row r;
    bool found;
    assert_int_equal(cadre_db_query_one(db, &a, CADRE_SCHEMA_OF(count_row), &r, &found, sql, NULL, 0), 0);
    cadre_arena_free(&a);
    return r.n;
}

static void test_initial_then_no_changes(void **state)
{
    (void)state;
    const cadre_schema *models[] = { CADRE_SCHEMA_OF(product), CADRE_SCHEMA_OF(supplier),
                                     CADRE_SCHEMA_OF(movement) };
    char file[128];
    assert_int_equal(make(models, 3, NULL, file, sizeof file), 0);
    assert_string_equal(file, "0001_initial.json");
    /* tables come after the tables they reference, whatever the registration order */
    const char *text = slurp(file);
    const char *s = strstr(text, "\"table\": \"supplier\""), *p = strstr(text, "\"table\": \"product\""),
               *m = strstr(text, "\"table\": \"movement\"");
    assert_true(s && p && m && s < p && p < m);
    assert_non_null(strstr(text, "\"depends_on\": null"));
    assert_non_null(strstr(text, "{\"name\":\"supplier_id\",\"type\":\"int64\",\"references\":"
                                 "{\"table\":\"supplier\",\"column\":\"id\",\"on_delete\":\"protect\"}}"));
    /* nothing changed: nothing written; --check agrees */
    assert_int_equal(make(models, 3, NULL, file, sizeof file), 0);
    assert_string_equal(file, "");
    cadre_makemigrations_options check = { .check = true };
    assert_int_equal(make(models, 3, &check, file, sizeof file), 0);
    assert_int_equal(count_files(), 1);

    assert_int_equal(pending(), 1);
    /* only migrate creates the record table */
    assert_int_equal(cadre_db_exec(db, "SELECT * FROM cadre_migrations", NULL, 0, NULL, NULL), CADRE_EIO);
    assert_int_equal(cadre_migrate(db, "app", mdir, NULL, NULL), 0);
    assert_int_equal(pending(), 0);
    assert_int_equal(cadre_migrate(db, "app", mdir, NULL, NULL), 0); /* nothing to do */

    /* the tables are the models' */
    cadre_arena a;
    cadre_arena_init(&a, 4096);
    supplier sup = { .name = cadre_slice_cstr("acme") };
    assert_int_equal(cadre_model_insert(db, &a, CADRE_SCHEMA_OF(supplier), &sup), 0);
    product prod = { .name = cadre_slice_cstr("hammer"), .price = 9.5, .supplier_id = sup.id };
    assert_int_equal(cadre_model_insert(db, &a, CADRE_SCHEMA_OF(product), &prod), 0);
    product orphan = { .name = cadre_slice_cstr("x"), .price = 1, .supplier_id = 999 };
    assert_int_equal(cadre_model_insert(db, &a, CADRE_SCHEMA_OF(product), &orphan), CADRE_ESTATE);
    assert_int_equal(cadre_model_delete(db, CADRE_SCHEMA_OF(supplier), sup.id, NULL), CADRE_ESTATE);
    cadre_arena_free(&a);

    /* showmigrations */
    char out[256] = "";
    FILE *f = fmemopen(out, sizeof out, "w");
    assert_int_equal(cadre_showmigrations(db, "app", mdir, f), 0);
    fclose(f);
    assert_string_equal(out, "[X] 0001_initial\n");
}

/* The models evolve through adds, a refused and then declared rename, alters, drops; the rows
 * stay through every step on both engines. */
static void test_evolution_keeps_data(void **state)
{
    (void)state;
    const cadre_schema *v1[] = { CADRE_SCHEMA_OF(supplier), CADRE_SCHEMA_OF(product),
                                 CADRE_SCHEMA_OF(movement) };
    char file[128];
    assert_int_equal(make(v1, 3, NULL, file, sizeof file), 0);
    assert_int_equal(cadre_migrate(db, "app", mdir, NULL, NULL), 0);
    exec("INSERT INTO supplier (name) VALUES ('acme')");
    exec("INSERT INTO product (name, price, supplier_id) VALUES ('hammer', 9.5, 1)");
    exec("INSERT INTO product (name, price, supplier_id) VALUES ('drill', 120, 1)");
    exec("INSERT INTO movement (product_id, quantity) VALUES (1, 5)");

    /* 2: add sku (optional) and stock (default 0) */
    const cadre_schema *v2[] = { CADRE_SCHEMA_OF(supplier), as(CADRE_SCHEMA_OF(product_sku), "product"),
                                 CADRE_SCHEMA_OF(movement) };
    cadre_makemigrations_options check = { .check = true };
    assert_int_equal(make(v2, 3, &check, file, sizeof file), CADRE_ESTATE); /* pending change */
    assert_int_equal(count_files(), 1);
    assert_int_equal(make(v2, 3, NULL, file, sizeof file), 0);
    assert_int_equal(strncmp(file, "0002_auto_", 10), 0); /* two operations: a dated name */
    assert_int_equal(cadre_migrate(db, "app", mdir, NULL, NULL), 0);
    assert_int_equal(count_rows("SELECT COUNT(*) AS n FROM product WHERE stock = 0 AND sku IS NULL"), 2);
    exec("UPDATE product SET sku = 'H-1', stock = 7 WHERE id = 1");

    /* 3: name → title: a possible rename is refused, then done when declared */
    const cadre_schema *v3[] = { CADRE_SCHEMA_OF(supplier),
                                 as(CADRE_SCHEMA_OF(product_title), "product"),
                                 CADRE_SCHEMA_OF(movement) };
    assert_int_equal(make(v3, 3, NULL, file, sizeof file), CADRE_EINVAL);
    assert_int_equal(count_files(), 2);
    const char *bad_renames[] = { "product.nope=title" };
    cadre_makemigrations_options bad = { .renames = bad_renames, .nrenames = 1 };
    assert_int_equal(make(v3, 3, &bad, file, sizeof file), CADRE_EINVAL);
    const char *renames[] = { "product.name=title" };
    cadre_makemigrations_options ren = { .renames = renames, .nrenames = 1 };
    assert_int_equal(make(v3, 3, &ren, file, sizeof file), 0);
    assert_string_equal(file, "0003_rename_product_title.json");
    assert_int_equal(cadre_migrate(db, "app", mdir, NULL, NULL), 0);
    assert_int_equal(count_rows("SELECT COUNT(*) AS n FROM product WHERE title = 'hammer' AND "
                                "sku = 'H-1' AND stock = 7"), 1);
    assert_int_equal(make(v3, 3, NULL, file, sizeof file), 0); /* in step */
    assert_string_equal(file, "");

    /* 4: sku dropped, price nullable, supplier.name unique (SQLite rebuilds both tables) */
    const cadre_schema *v4[] = { as(CADRE_SCHEMA_OF(supplier_unique), "supplier"),
                                 as(CADRE_SCHEMA_OF(product_last), "product"),
                                 CADRE_SCHEMA_OF(movement) };
    assert_int_equal(make(v4, 3, NULL, file, sizeof file), 0);
    assert_int_equal(cadre_migrate(db, "app", mdir, NULL, NULL), 0);
    assert_int_equal(count_rows("SELECT COUNT(*) AS n FROM product WHERE title = 'hammer' AND "
                                "stock = 7 AND price = 9.5"), 1);
    assert_int_equal(count_rows("SELECT COUNT(*) AS n FROM movement WHERE product_id = 1"), 1);
    exec("UPDATE product SET price = NULL WHERE id = 2"); /* now nullable */
    assert_int_equal(cadre_db_exec(db, "INSERT INTO supplier (name) VALUES ('acme')", NULL, 0, NULL,
                                   NULL), CADRE_EEXIST); /* now unique */
    /* the foreign keys still hold after the rebuilds */
    assert_int_equal(cadre_db_exec(db, "DELETE FROM supplier WHERE id = 1", NULL, 0, NULL, NULL),
                     CADRE_ESTATE);
    exec("DELETE FROM product WHERE id = 1"); /* cascades to movement */
    assert_int_equal(count_rows("SELECT COUNT(*) AS n FROM movement"), 0);
    assert_int_equal(cadre_db_exec(db, "UPDATE product SET sku = 'x'", NULL, 0, NULL, NULL), CADRE_EIO);


    /* 5: movement dropped */
    const cadre_schema *v5[] = { as(CADRE_SCHEMA_OF(supplier_unique), "supplier"),
                                 as(CADRE_SCHEMA_OF(product_last), "product") };
    assert_int_equal(make(v5, 2, NULL, file, sizeof file), 0);
    assert_string_equal(file, "0005_delete_movement.json");
    assert_int_equal(cadre_migrate(db, "app", mdir, NULL, NULL), 0);
    assert_int_equal(cadre_db_exec(db, "SELECT * FROM movement", NULL, 0, NULL, NULL), CADRE_EIO);

    /* replaying the five files gives the models: nothing more to write */
    assert_int_equal(make(v5, 2, NULL, file, sizeof file), 0);
    assert_string_equal(file, "");
    assert_int_equal(pending(), 0);
}

static void test_refusals(void **state)
{
    (void)state;
    const cadre_schema *v1[] = { CADRE_SCHEMA_OF(supplier), CADRE_SCHEMA_OF(product) };
    char file[128];
    assert_int_equal(make(v1, 2, NULL, file, sizeof file), 0);
    /* a new column that cannot be null, with no default: refused, nothing written */
    const cadre_schema *req[] = { CADRE_SCHEMA_OF(supplier),
                                  as(CADRE_SCHEMA_OF(product_required), "product") };
    assert_int_equal(make(req, 2, NULL, file, sizeof file), CADRE_EINVAL);
    assert_int_equal(count_files(), 1);
    /* a table renamed (same columns under another name): refused unless declared */
    const cadre_schema *moved[] = { as(CADRE_SCHEMA_OF(supplier), "vendor"), CADRE_SCHEMA_OF(product) };
    assert_int_equal(make(moved, 2, NULL, file, sizeof file), CADRE_EINVAL);
    /* --no-rename: drop and create. PRODUCT still references supplier, so this is refused too */
    cadre_makemigrations_options nr = { .no_rename = true };
    assert_int_equal(make(moved, 2, &nr, file, sizeof file), CADRE_EINVAL);
    assert_int_equal(count_files(), 1);
    /* a bad name */
    cadre_makemigrations_options named = { .name = "Bad Name" };
    const cadre_schema *v2[] = { CADRE_SCHEMA_OF(supplier), as(CADRE_SCHEMA_OF(product_sku), "product") };
    assert_int_equal(make(v2, 2, &named, file, sizeof file), CADRE_EINVAL);
    named.name = "add_sku";
    assert_int_equal(make(v2, 2, &named, file, sizeof file), 0);
    assert_string_equal(file, "0002_add_sku.json");
}

/* A migration that fails part-way leaves nothing of itself, on both engines. */
static void test_failing_migration_rolls_back(void **state)
{
    (void)state;
    const cadre_schema *v1[] = { CADRE_SCHEMA_OF(supplier), CADRE_SCHEMA_OF(product) };
    char file[128];
    assert_int_equal(make(v1, 2, NULL, file, sizeof file), 0);
    assert_int_equal(cadre_migrate(db, "app", mdir, NULL, NULL), 0);
    exec("INSERT INTO supplier (name) VALUES ('acme')");
    exec("INSERT INTO supplier (name) VALUES ('acme')"); /* a duplicate */
    /* one migration: add a column, then make name unique (which the duplicate breaks) */
    put("0002_sku_and_unique.json",
        "{\"cadre_migration\": 1, \"name\": \"0002_sku_and_unique\", \"depends_on\": \"0001_initial\","
        " \"operations\": ["
        "  {\"op\": \"add_column\", \"table\": \"supplier\", \"column\": {\"name\": \"city\", "
        "\"type\": \"text\", \"nullable\": true}},"
        "  {\"op\": \"alter_column\", \"table\": \"supplier\", \"column\": {\"name\": \"name\", "
        "\"type\": \"text\", \"unique\": true}}]}");
    assert_int_not_equal(cadre_migrate(db, "app", mdir, NULL, NULL), 0);
    assert_int_equal(pending(), 1);
    assert_int_equal(cadre_db_exec(db, "SELECT city FROM supplier", NULL, 0, NULL, NULL), CADRE_EIO);
    assert_int_equal(count_rows("SELECT COUNT(*) AS n FROM supplier"), 2);
    /* SQLite: foreign keys are enforced again after the failure */
    assert_int_equal(cadre_db_exec(db, "INSERT INTO product (name, price, supplier_id) VALUES "
                                       "('x', 1, 99)", NULL, 0, NULL, NULL), CADRE_ESTATE);
    /* fix the data: it applies */
    exec("DELETE FROM supplier WHERE id = 2");
    assert_int_equal(cadre_migrate(db, "app", mdir, NULL, NULL), 0);
    assert_int_equal(pending(), 0);
    exec("UPDATE supplier SET city = 'Lyon'");
}

/* An automatic timestamp added to a table with rows: the database fills it for them. */
static void test_timestamp_added(void **state)
{
    (void)state;
    const cadre_schema *v1[] = { CADRE_SCHEMA_OF(supplier) };
    const cadre_schema *v2[] = { as(CADRE_SCHEMA_OF(supplier_stamped), "supplier") };
    char file[128];
    assert_int_equal(make(v1, 1, NULL, file, sizeof file), 0);
    assert_int_equal(cadre_migrate(db, "app", mdir, NULL, NULL), 0);
    exec("INSERT INTO supplier (name) VALUES ('acme')");
    exec("INSERT INTO supplier (name) VALUES ('gone')");
    exec("DELETE FROM supplier WHERE name = 'gone'"); /* its key, 2, must not come back */
    assert_int_equal(make(v2, 1, NULL, file, sizeof file), 0);
    assert_string_equal(file, "0002_supplier_created_at.json");
    assert_non_null(strstr(slurp(file), "\"default_now\":true"));
    assert_int_equal(cadre_migrate(db, "app", mdir, NULL, NULL), 0);
    assert_int_equal(count_rows("SELECT COUNT(*) AS n FROM supplier WHERE created_at IS NOT NULL"), 1);
    cadre_arena a;
    cadre_arena_init(&a, 4096);
    supplier_stamped got;
    bool found = false;
    time_t now = time(NULL);
    assert_int_equal(cadre_model_get(db, &a, v2[0], 1, &got, &found), 0);
    assert_true(found);
    assert_true(cadre_schema_has(v2[0], &got, "created_at"));
    assert_true(got.created_at.sec > now - 600 && got.created_at.sec <= now + 1);
    cadre_arena_free(&a);
    /* by plain SQL: the default fills it; and the key is a new one (SQLite rebuilt the table) */
    int64_t id = 0;
    if (cadre_db_exec(db, pg ? "INSERT INTO supplier (name) VALUES ('bolt') RETURNING id"
                             : "INSERT INTO supplier (name) VALUES ('bolt')", NULL, 0, NULL, &id) != 0)
        fail_msg("insert: %s", cadre_db_errmsg(db));
    assert_int_equal(id, 3);
    assert_int_equal(count_rows("SELECT COUNT(*) AS n FROM supplier WHERE created_at IS NOT NULL"), 2);
    assert_int_equal(make(v2, 1, NULL, file, sizeof file), 0);
    assert_string_equal(file, "");
}

/* migrate up to a named migration; sqlmigrate shows each engine's SQL. */
static void test_target_and_sqlmigrate(void **state)
{
    (void)state;
    const cadre_schema *v1[] = { CADRE_SCHEMA_OF(supplier), CADRE_SCHEMA_OF(product) };
    const cadre_schema *v2[] = { CADRE_SCHEMA_OF(supplier), as(CADRE_SCHEMA_OF(product_sku), "product") };
    char file[128];
    assert_int_equal(make(v1, 2, NULL, file, sizeof file), 0);
    assert_int_equal(make(v2, 2, &(cadre_makemigrations_options){ .name = "sku" }, file, sizeof file), 0);
    assert_int_equal(cadre_migrate(db, "app", mdir, "0001", NULL), 0);
    assert_int_equal(pending(), 1);
    assert_int_equal(cadre_migrate(db, "app", mdir, "0009", NULL), CADRE_ENOTFOUND);
    assert_int_equal(cadre_migrate(db, "app", mdir, "0002_sku", NULL), 0);
    assert_int_equal(pending(), 0);

    cadre_buf b;
    cadre_buf_init(&b, 1 << 20);
    assert_int_equal(cadre_sqlmigrate("app", mdir, "0001", "postgresql", &b), 0);
    assert_non_null(strstr(b.data, "CREATE TABLE supplier (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL);\n"));
    assert_non_null(strstr(b.data, "CREATE INDEX product_supplier_id_idx ON product (supplier_id);\n"));
    cadre_buf_reset(&b);
    assert_int_equal(cadre_sqlmigrate("app", mdir, "2", "postgresql", &b), 0);
    assert_non_null(strstr(b.data, "ALTER TABLE product ADD COLUMN sku TEXT;\n"
                                   "CREATE INDEX product_sku_idx ON product (sku);\n"
                                   "ALTER TABLE product ADD COLUMN stock INTEGER NOT NULL DEFAULT 0;\n"));
    cadre_buf_reset(&b);
    assert_int_equal(cadre_sqlmigrate("app", mdir, "0002_sku", "sqlite", &b), 0);
    assert_non_null(strstr(b.data, "PRAGMA foreign_keys = OFF;\nBEGIN;\n"));
    assert_non_null(strstr(b.data, "ALTER TABLE product ADD COLUMN stock INTEGER NOT NULL DEFAULT 0;\n"));
    cadre_buf_reset(&b);
    assert_int_equal(cadre_sqlmigrate("app", mdir, "0003", "sqlite", &b), CADRE_ENOTFOUND);
    assert_int_equal(cadre_sqlmigrate("app", mdir, "0001", "oracle", &b), CADRE_EINVAL);
    cadre_buf_free(&b);
}

static bool index_exists(const char *name)
{
    char sql[256];
    snprintf(sql, sizeof sql, pg ? "SELECT COUNT(*) AS n FROM pg_indexes WHERE indexname = '%s'"
                                 : "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'index' "
                                   "AND name = '%s'", name);
    return count_rows(sql) == 1;
}

/* Multi-column indexes written by hand in a migration (add_index, drop_index): created, kept
 * through a SQLite rebuild and a column's rename, dropped with a column they hold, and never
 * asked for again by makemigrations (no model declares them). */
static void test_hand_written_indexes(void **state)
{
    (void)state;
    const cadre_schema *v1[] = { CADRE_SCHEMA_OF(supplier), CADRE_SCHEMA_OF(product),
                                 CADRE_SCHEMA_OF(movement) };
    char file[128];
    assert_int_equal(make(v1, 3, NULL, file, sizeof file), 0);
    put("0002_by_hand.json",
        "{\"cadre_migration\": 1, \"name\": \"0002_by_hand\", \"depends_on\": \"0001_initial\", "
        "\"operations\": ["
        "{\"op\": \"add_index\", \"table\": \"supplier\", \"name\": \"supplier_name_id\", "
        "\"fields\": [\"name\", \"id\"]},"
        "{\"op\": \"add_index\", \"table\": \"product\", \"name\": \"product_name_price\", "
        "\"fields\": [\"name\", \"price\"]},"
        "{\"op\": \"add_index\", \"table\": \"movement\", \"name\": \"movement_by_product\", "
        "\"fields\": [\"product_id\", \"quantity\"]}]}");
    assert_int_equal(cadre_migrate(db, "app", mdir, NULL, NULL), 0);
    assert_true(index_exists("supplier_name_id"));
    assert_true(index_exists("product_name_price"));
    assert_true(index_exists("movement_by_product"));
    assert_int_equal(make(v1, 3, NULL, file, sizeof file), 0); /* in step with the models */
    assert_string_equal(file, "");
    cadre_buf b;
    cadre_buf_init(&b, 1 << 20);
    assert_int_equal(cadre_sqlmigrate("app", mdir, "0002", "postgresql", &b), 0);
    assert_non_null(strstr(b.data, "CREATE INDEX product_name_price ON product (name, price);\n"));
    cadre_buf_free(&b);

    /* supplier.name unique: SQLite rebuilds the table, and its index with it; product.name
     * renamed: the index follows */
    const char *renames[] = { "product.name=title" };
    cadre_makemigrations_options ren = { .renames = renames, .nrenames = 1 };
    const cadre_schema *v2[] = { as(CADRE_SCHEMA_OF(supplier_unique), "supplier"),
                                 as(CADRE_SCHEMA_OF(product_title), "product"),
                                 CADRE_SCHEMA_OF(movement) };
    assert_int_equal(make(v2, 3, &ren, file, sizeof file), 0);
    assert_int_equal(cadre_migrate(db, "app", mdir, NULL, NULL), 0);
    assert_true(index_exists("supplier_name_id"));
    assert_true(index_exists("product_name_price"));
    exec("INSERT INTO supplier (name) VALUES ('acme')");
    exec("INSERT INTO product (title, price, supplier_id) VALUES ('saw', 5, 1)");

    /* a column an index holds, dropped (price, now product_last's nullable one, stays; sku
     * goes): first an index on sku, by hand, then the models without sku */
    char text[1024];
    snprintf(text, sizeof text,
             "{\"cadre_migration\": 1, \"name\": \"0004_sku\", \"depends_on\": \"%.*s\", "
             "\"operations\": [{\"op\": \"add_index\", \"table\": \"product\", \"name\": "
             "\"product_sku_stock\", \"fields\": [\"sku\", \"stock\"]}, {\"op\": \"drop_index\", "
             "\"table\": \"movement\", \"name\": \"movement_by_product\"}]}",
             (int)(strlen(file) - 5), file); /* after the file makemigrations just wrote */
    put("0004_sku.json", text);
    assert_int_equal(cadre_migrate(db, "app", mdir, NULL, NULL), 0);
    assert_true(index_exists("product_sku_stock"));
    assert_false(index_exists("movement_by_product"));
    const cadre_schema *v3[] = { as(CADRE_SCHEMA_OF(supplier_unique), "supplier"),
                                 as(CADRE_SCHEMA_OF(product_last), "product"),
                                 CADRE_SCHEMA_OF(movement) };
    assert_int_equal(make(v3, 3, NULL, file, sizeof file), 0);
    assert_int_equal(cadre_migrate(db, "app", mdir, NULL, NULL), 0);
    assert_false(index_exists("product_sku_stock"));
    assert_true(index_exists("product_name_price")); /* title, price: both still there */
    assert_int_equal(count_rows("SELECT COUNT(*) AS n FROM product WHERE title = 'saw'"), 1);
    assert_int_equal(make(v3, 3, NULL, file, sizeof file), 0);
    assert_string_equal(file, "");
    assert_int_equal(pending(), 0);
}

/* Broken or inconsistent files are refused with the reason, by every command. */
static void test_broken_files(void **state)
{
    (void)state;
    static const struct {
        const char *file, *text;
    } cases[] = {
        { "0001_initial.json", "{not json" },
        { "0001_initial.json", "{\"cadre_migration\": 1, \"name\": \"0001_other\", \"depends_on\": null, "
                               "\"operations\": []}" },
        { "0001_initial.json", "{\"cadre_migration\": 2, \"name\": \"0001_initial\", \"depends_on\": "
                               "null, \"operations\": []}" },
        { "0001_initial.json", "{\"cadre_migration\": 1, \"name\": \"0001_initial\", \"depends_on\": "
                               "\"0000_x\", \"operations\": []}" },
        { "0001_initial.json", "{\"cadre_migration\": 1, \"name\": \"0001_initial\", \"depends_on\": "
                               "null, \"operations\": [{\"op\": \"explode\", \"table\": \"t\"}]}" },
        { "0001_initial.json", "{\"cadre_migration\": 1, \"name\": \"0001_initial\", \"depends_on\": "
                               "null, \"operations\": [{\"op\": \"drop_table\", \"table\": \"t\"}]}" },
        { "0001_initial.json", "{\"cadre_migration\": 1, \"name\": \"0001_initial\", \"depends_on\": "
                               "null, \"operations\": [{\"op\": \"create_table\", \"table\": \"t; "
                               "DROP TABLE x\", \"columns\": [{\"name\": \"id\", \"type\": \"int64\"}]}]}" },
        { "0001_initial.json", "{\"cadre_migration\": 1, \"name\": \"0001_initial\", \"depends_on\": "
                               "null, \"operations\": [{\"op\": \"create_table\", \"table\": \"t\", "
                               "\"columns\": [{\"name\": \"n\", \"type\": \"int32\", "
                               "\"default_value\": \"1; DROP TABLE x\"}]}]}" },
        { "0001_initial.json", "{\"cadre_migration\": 1, \"name\": \"0001_initial\", \"depends_on\": "
                               "null, \"operations\": [{\"op\": \"create_table\", \"table\": \"t\", "
                               "\"columns\": [{\"name\": \"n\", \"type\": \"int32\", \"extra\": 1}]}]}" },
        { "0001_initial.json", "{\"cadre_migration\": 1, \"name\": \"0001_initial\", \"depends_on\": "
                               "null, \"operations\": [{\"op\": \"add_column\", \"table\": \"t\"}]}" },
        /* operations on what does not exist at that point */
        { "0001_initial.json", "{\"cadre_migration\": 1, \"name\": \"0001_initial\", \"depends_on\": "
                               "null, \"operations\": [{\"op\": \"drop_column\", \"table\": \"t\", "
                               "\"name\": \"x\"}]}" },
        { "0001_initial.json", "{\"cadre_migration\": 1, \"name\": \"0001_initial\", \"depends_on\": "
                               "null, \"operations\": [{\"op\": \"rename_column\", \"table\": \"t\", "
                               "\"from\": \"x\", \"to\": \"y\"}]}" },
        { "0001_initial.json", "{\"cadre_migration\": 1, \"name\": \"0001_initial\", \"depends_on\": "
                               "null, \"operations\": [{\"op\": \"create_table\", \"table\": \"t\", "
                               "\"columns\": [{\"name\": \"id\", \"type\": \"int64\"}]}, {\"op\": "
                               "\"alter_column\", \"table\": \"t\", \"column\": {\"name\": \"nope\", "
                               "\"type\": \"text\"}}]}" },
        { "0001_initial.json", "{\"cadre_migration\": 1, \"name\": \"0001_initial\", \"depends_on\": "
                               "null, \"operations\": [{\"op\": \"create_table\", \"table\": \"t\", "
                               "\"columns\": [{\"name\": \"s\", \"type\": \"int64\", \"references\": "
                               "{\"table\": \"elsewhere\", \"column\": \"id\"}}]}]}" },
        { "0001_initial.json", "{\"cadre_migration\": 1, \"name\": \"0001_initial\", \"depends_on\": "
                               "null, \"operations\": [{\"op\": \"create_table\", \"table\": \"t\", "
                               "\"columns\": [{\"name\": \"s\", \"type\": \"text\", "
                               "\"default_value\": \"a\\u0000b\"}]}]}" },
        /* multi-column indexes that cannot be */
        { "0001_initial.json", "{\"cadre_migration\": 1, \"name\": \"0001_initial\", \"depends_on\": "
                               "null, \"operations\": [{\"op\": \"create_table\", \"table\": \"t\", "
                               "\"columns\": [{\"name\": \"id\", \"type\": \"int64\"}, {\"name\": \"n\", "
                               "\"type\": \"int32\"}]}, "
                               "{\"op\": \"add_index\", \"table\": \"t\", \"name\": \"t_x\", \"fields\": [\"n\", \"x\"]}]}" }, /* an index on a column that is not there */
        { "0001_initial.json", "{\"cadre_migration\": 1, \"name\": \"0001_initial\", \"depends_on\": "
                               "null, \"operations\": [{\"op\": \"create_table\", \"table\": \"t\", "
                               "\"columns\": [{\"name\": \"id\", \"type\": \"int64\"}, {\"name\": \"n\", "
                               "\"type\": \"int32\"}]}, "
                               "{\"op\": \"add_index\", \"table\": \"t\", \"name\": \"t_n\", \"fields\": []}]}" }, /* no columns */
        { "0001_initial.json", "{\"cadre_migration\": 1, \"name\": \"0001_initial\", \"depends_on\": "
                               "null, \"operations\": [{\"op\": \"create_table\", \"table\": \"t\", "
                               "\"columns\": [{\"name\": \"id\", \"type\": \"int64\"}, {\"name\": \"n\", "
                               "\"type\": \"int32\"}]}, "
                               "{\"op\": \"add_index\", \"table\": \"t\", \"name\": \"t n\", \"fields\": [\"n\"]}]}" }, /* a name that is no identifier */
        { "0001_initial.json", "{\"cadre_migration\": 1, \"name\": \"0001_initial\", \"depends_on\": "
                               "null, \"operations\": [{\"op\": \"create_table\", \"table\": \"t\", "
                               "\"columns\": [{\"name\": \"id\", \"type\": \"int64\"}, {\"name\": \"n\", "
                               "\"type\": \"int32\"}]}, "
                               "{\"op\": \"add_index\", \"table\": \"t\", \"fields\": [\"n\"]}]}" }, /* no name */
        { "0001_initial.json", "{\"cadre_migration\": 1, \"name\": \"0001_initial\", \"depends_on\": "
                               "null, \"operations\": [{\"op\": \"create_table\", \"table\": \"t\", "
                               "\"columns\": [{\"name\": \"id\", \"type\": \"int64\"}, {\"name\": \"n\", "
                               "\"type\": \"int32\"}]}, "
                               "{\"op\": \"add_index\", \"table\": \"t\", \"name\": \"t_n\", \"fields\": [\"n\"]}, {\"op\": \"add_index\", \"table\": \"t\", \"name\": \"t_n\", \"fields\": [\"id\"]}]}" }, /* a name taken */
        { "0001_initial.json", "{\"cadre_migration\": 1, \"name\": \"0001_initial\", \"depends_on\": "
                               "null, \"operations\": [{\"op\": \"create_table\", \"table\": \"t\", "
                               "\"columns\": [{\"name\": \"id\", \"type\": \"int64\"}, {\"name\": \"n\", "
                               "\"type\": \"int32\"}]}, "
                               "{\"op\": \"drop_index\", \"table\": \"t\", \"name\": \"t_n\"}]}" }, /* an index that is not there */
    };
    const cadre_schema *models[] = { CADRE_SCHEMA_OF(supplier) };
    char file[128];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        rm_migrations();
        put(cases[i].file, cases[i].text);
        if (make(models, 1, NULL, file, sizeof file) != CADRE_EINVAL ||
            cadre_migrate(db, "app", mdir, NULL, NULL) != CADRE_EINVAL)
            fail_msg("case %zu was not refused: %s", i, cases[i].text);
        assert_int_equal(count_files(), 1);
    }
    /* two files with one number */
    rm_migrations();
    assert_int_equal(make(models, 1, NULL, file, sizeof file), 0);
    put("0001_again.json", slurp("0001_initial.json"));
    assert_int_equal(cadre_migrate(db, "app", mdir, NULL, NULL), CADRE_EINVAL);
    assert_int_equal(cadre_db_exec(db, "SELECT * FROM supplier", NULL, 0, NULL, NULL), CADRE_EIO);
}


/* The shop app: the accounts module (its migrations in DIR/accounts-migrations) and the app's own
 * module with the orders, whose foreign key points into accounts. */
static cadre_app *shop_app(void)
{
    char adir[160];
    snprintf(adir, sizeof adir, "%s/accounts-migrations", dir);
    cadre_app *app = cadre_app_new("shop");
    assert_non_null(app);
    assert_int_equal(cadre_models(app, db, mdir, CADRE_SCHEMA_OF(shop_order)), 0);
    cadre_module *accounts = cadre_module_add(app, "accounts");
    assert_non_null(accounts);
    assert_int_equal(cadre_models(accounts, db, adir, CADRE_SCHEMA_OF(member)), 0);
    assert_int_equal(cadre_app_check(app), 0);
    return app;
}

static char *capture(FILE *f)
{
    static char out[8192];
    fflush(f);
    rewind(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    fclose(f);
    return out;
}

static void test_modules_cross_module_foreign_key(void **state)
{
    (void)state;
    cadre_app *app = shop_app();
    /* accounts comes first (the app's own module last), and shop's first migration requires
     * accounts' */
    assert_int_equal(cadre_app_makemigrations(app, NULL, NULL, NULL), 0);
    char *text = slurp("0001_initial.json");
    assert_non_null(strstr(text, "\"requires\": [\"accounts:0001_initial\"]"));
    assert_non_null(strstr(text, "\"shop_order\""));
    assert_null(strstr(text, "\"member\", \"columns\""));
    size_t n = 9;
    assert_int_equal(cadre_app_migrations_pending(app, &n), 0);
    assert_int_equal(n, 2);
    /* migrating only shop applies what it requires first */
    FILE *f = tmpfile();
    assert_int_equal(cadre_app_migrate(app, "shop", NULL, f), 0);
    char *out = capture(f);
    assert_string_equal(out, "Applying accounts.0001_initial... OK\n"
                             "Applying shop.0001_initial... OK\n");
    assert_int_equal(cadre_app_migrations_pending(app, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(count_rows("SELECT COUNT(*) AS n FROM cadre_migrations WHERE module = "
                                "'accounts' AND name = '0001_initial'"), 1);
    /* the foreign key holds across the modules */
    exec("INSERT INTO member (id, login) VALUES (1, 'ann')");
    exec("INSERT INTO shop_order (id, member_id, quantity) VALUES (1, 1, 3)");
    assert_int_not_equal(cadre_db_exec(db, "INSERT INTO shop_order (id, member_id, quantity) "
                                           "VALUES (2, 42, 1)", NULL, 0, NULL, NULL), 0);
    exec("DELETE FROM member WHERE id = 1");
    assert_int_equal(count_rows("SELECT COUNT(*) AS n FROM shop_order"), 0); /* cascade */
    /* nothing more to make, nothing more to apply; the list is per module */
    assert_int_equal(cadre_app_makemigrations(app, NULL, NULL, NULL), 0);
    f = tmpfile();
    assert_int_equal(cadre_app_showmigrations(app, NULL, f), 0);
    out = capture(f);
    assert_string_equal(out, "accounts\n [X] 0001_initial\nshop\n [X] 0001_initial\n");
    cadre_app_free(app);
}

/* A model of the shop module that extends accounts' member (as a project's CADRE_USER_MODEL
 * extends auth's cadre_user): the same table, more columns. */
#define MEMBER_PLUS_FIELDS(F)                                                                      \
    MEMBER_FIELDS(F)                                                                               \
    F(string, nickname, CADRE_MAX_LEN(30), CADRE_DEFAULT_STR("none"))
CADRE__MODEL_AS(member_plus, "member", MEMBER_PLUS_FIELDS)
#define MEMBER_MORE_FIELDS(F)                                                                      \
    MEMBER_PLUS_FIELDS(F)                                                                          \
    F(int32, age, CADRE_OPTIONAL, CADRE_NULLABLE)
CADRE__MODEL_AS(member_more, "member", MEMBER_MORE_FIELDS)
#define MEMBER_SHORT_FIELDS(F)                                                                     \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, nickname, CADRE_MAX_LEN(30), CADRE_DEFAULT_STR("none"))
CADRE__MODEL_AS(member_short, "member", MEMBER_SHORT_FIELDS)

/* The shop app with accounts, shop's models: shop_order and an extension of member. */
static cadre_app *extended_app(const cadre_schema *extension)
{
    char adir[160];
    snprintf(adir, sizeof adir, "%s/accounts-migrations", dir);
    cadre_app *app = cadre_app_new("shop");
    assert_non_null(app);
    assert_int_equal(cadre_models(app, db, mdir, CADRE_SCHEMA_OF(shop_order), extension), 0);
    cadre_module *accounts = cadre_module_add(app, "accounts");
    assert_non_null(accounts);
    assert_int_equal(cadre_models(accounts, db, adir, CADRE_SCHEMA_OF(member)), 0);
    assert_int_equal(cadre_app_check(app), 0);
    return app;
}

static void test_modules_extend_a_table(void **state)
{
    (void)state;
    cadre_app *app = extended_app(CADRE_SCHEMA_OF(member_plus));
    /* the table is accounts' once, as the extending model */
    cadre_module *m = NULL;
    assert_ptr_equal(cadre_app_model(app, "member"), CADRE_SCHEMA_OF(member_plus));
    size_t seen = 0;
    const cadre_schema *s;
    for (size_t i = 0; (s = cadre_app_model_at(app, i, &m)) != NULL; i++)
        if (strcmp(s->name, "member") == 0) {
            seen++;
            assert_ptr_equal(s, CADRE_SCHEMA_OF(member_plus));
            assert_string_equal(cadre_module_label(m), "accounts");
        }
    assert_int_equal(seen, 1);
    /* shop's migration adds its column to accounts' table, after accounts' migration */
    assert_int_equal(cadre_app_makemigrations(app, NULL, NULL, NULL), 0);
    char *text = slurp("0001_initial.json");
    assert_non_null(strstr(text, "\"op\": \"add_column\", \"table\": \"member\""));
    assert_non_null(strstr(text, "\"nickname\""));
    assert_non_null(strstr(text, "\"requires\": [\"accounts:0001_initial\"]"));
    assert_null(strstr(text, "\"login\""));
    assert_int_equal(cadre_app_migrate(app, NULL, NULL, NULL), 0);
    exec("INSERT INTO member (id, login) VALUES (1, 'ann')");
    assert_int_equal(count_rows("SELECT COUNT(*) AS n FROM member WHERE nickname = 'none'"), 1);
    assert_int_equal(cadre_app_makemigrations(app, NULL, NULL, NULL), 0); /* no changes */
    assert_int_equal(count_files(), 1);
    cadre_app_free(app);

    /* another field later: shop adds it; accounts, whose model has neither, drops nothing */
    app = extended_app(CADRE_SCHEMA_OF(member_more));
    assert_int_equal(cadre_app_makemigrations(app, NULL, NULL, NULL), 0);
    assert_int_equal(count_files(), 2);
    assert_int_equal(cadre_app_migrate(app, NULL, NULL, NULL), 0);
    exec("UPDATE member SET age = 30 WHERE id = 1");
    member_more row;
    bool found;
    cadre_arena a;
    cadre_arena_init(&a, 1024);
    assert_int_equal(member_more_get(db, &a, 1, &row, &found), 0);
    assert_true(found);
    assert_int_equal(row.age, 30);
    assert_int_equal(row.nickname.len, 4);
    assert_int_equal(row.login.len, 3);
    cadre_arena_free(&a);
    cadre_app_free(app);

    /* and back: shop drops its column */
    app = extended_app(CADRE_SCHEMA_OF(member_plus));
    assert_int_equal(cadre_app_makemigrations(app, NULL, NULL, NULL), 0);
    assert_int_equal(count_files(), 3);
    assert_non_null(strstr(slurp("0003_remove_member_age.json"), "drop_column"));
    assert_int_equal(cadre_app_migrate(app, NULL, NULL, NULL), 0);
    cadre_app_free(app);

    /* an extension without accounts' columns is refused, nothing written */
    app = extended_app(CADRE_SCHEMA_OF(member_short));
    assert_int_equal(cadre_app_makemigrations(app, NULL, NULL, NULL), CADRE_EINVAL);
    assert_int_equal(count_files(), 3);
    cadre_app_free(app);
}

/* A database migrated before modules existed: cadre_migrations (name, applied). The next migrate
 * upgrades it, gives its rows to the app's own module, and applies nothing twice. */
static void test_modules_upgrade_old_record_table(void **state)
{
    (void)state;
    cadre_app *app = cadre_app_new("shop");
    assert_non_null(app);
    assert_int_equal(cadre_models(app, db, mdir, CADRE_SCHEMA_OF(supplier)), 0);
    assert_int_equal(cadre_app_makemigrations(app, NULL, NULL, NULL), 0);
    assert_int_equal(cadre_app_migrate(app, NULL, NULL, NULL), 0);
    /* back to the record table of before, holding what was applied */
    exec("DROP TABLE cadre_migrations");
    exec("CREATE TABLE cadre_migrations (name TEXT PRIMARY KEY, applied TEXT NOT NULL)");
    exec("INSERT INTO cadre_migrations (name, applied) VALUES ('0001_initial', "
         "'2026-01-01T00:00:00Z')");
    /* read as it is by the read-only commands */
    size_t n = 9;
    assert_int_equal(cadre_app_migrations_pending(app, &n), 0);
    assert_int_equal(n, 0);
    /* a new migration: migrate upgrades the table first, then applies only the new one */
    const cadre_schema *v2[] = { as(CADRE_SCHEMA_OF(supplier_unique), "supplier") };
    char file[64];
    assert_int_equal(make(v2, 1, NULL, file, sizeof file), 0);
    FILE *f = tmpfile();
    assert_int_equal(cadre_app_migrate(app, NULL, NULL, f), 0);
    char *out = capture(f);
    assert_non_null(strstr(out, "Upgraded cadre_migrations"));
    assert_null(strstr(out, "Applying shop.0001_initial"));
    assert_non_null(strstr(out, "Applying shop.0002_"));
    assert_int_equal(count_rows("SELECT COUNT(*) AS n FROM cadre_migrations WHERE module = "
                                "'shop' AND name = '0001_initial' AND applied = "
                                "'2026-01-01T00:00:00Z'"), 1);
    assert_int_equal(count_rows("SELECT COUNT(*) AS n FROM cadre_migrations"), 2);
    assert_int_equal(cadre_app_migrations_pending(app, &n), 0);
    assert_int_equal(n, 0);
    cadre_app_free(app);
}

/* Runs cadre_main(app, argv) in a child with its stdout and stderr in out (bounded: killed after
 * 20 s); returns its exit status. */
static int run_main(cadre_app *app, char **argv, int argc, char *out, size_t cap)
{
    char path[200];
    snprintf(path, sizeof path, "%s/main-output", dir);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen(path, "w", stdout) || dup2(fileno(stdout), 2) < 0)
            _exit(99);
        alarm(20);
        int st = cadre_main(app, argc, argv);
        fflush(NULL);
        _exit(st);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = 0;
    fclose(f);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Models changed and no makemigrations run: migrate says so, serve refuses to start (it would
 * answer 500 to every request that touches the model). */
/* A model or a column named by a word of SQL is refused at registration, naming it, rather
 * than failing at migrate with a syntax error; other names are not. */
static void test_sql_words_refused(void **state)
{
    (void)state;
    assert_true(cadre_sql_reserved("order"));
    assert_true(cadre_sql_reserved("USER"));
    assert_true(cadre_sql_reserved("group"));
    assert_true(cadre_sql_reserved("select"));
    assert_false(cadre_sql_reserved("orders"));
    assert_false(cadre_sql_reserved("action"));
    assert_false(cadre_sql_reserved("name"));
    assert_false(cadre_sql_reserved(""));
    const cadre_schema *bad[] = { CADRE_SCHEMA_OF(order), CADRE_SCHEMA_OF(team) };
    const char *said[] = { "a model named \"order\"", "the field team.group" };
    for (size_t i = 0; i < 2; i++) {
        cadre_app *app = cadre_app_new("shop");
        assert_non_null(app);
        cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
        assert_int_equal(cadre__models(cadre_module_of(app), db, mdir, NULL, 0, &bad[i], 1,
                                       __FILE__, __LINE__), CADRE_EINVAL);
        FILE *log = tmpfile();
        assert_non_null(log);
        cadre_log_configure(CADRE_LOG_ERROR, CADRE_LOG_PLAIN, fileno(log));
        assert_int_equal(cadre_app_check(app), 1);
        cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, 2);
        char text[2048] = "";
        rewind(log);
        text[fread(text, 1, sizeof text - 1, log)] = '\0';
        fclose(log);
        if (!strstr(text, said[i]) || !strstr(text, "word of SQL"))
            fail_msg("the refusal of %s: %s", said[i], text);
        cadre_app_free(app);
    }
}

static void test_forgotten_makemigrations_is_said(void **state)
{
    (void)state;
    const cadre_schema *v1[] = { as(CADRE_SCHEMA_OF(supplier), "supplier") };
    char file[64], out[4096];
    assert_int_equal(make(v1, 1, NULL, file, sizeof file), 0);
    cadre_app *app = cadre_app_new("shop");
    assert_int_equal(cadre_models(app, db, mdir, as(CADRE_SCHEMA_OF(supplier_stamped), "supplier")),
                     0);
    char *migrate[] = { "shop", "migrate", NULL };
    assert_int_equal(run_main(app, migrate, 2, out, sizeof out), 0);
    if (!strstr(out, "Applying shop.0001_initial... OK"))
        fail_msg("migrate said: %s", out);
    assert_non_null(strstr(out, "Your models in shop have changes that are not yet in a "
                                "migration"));
    char *serve[] = { "shop", "serve", "--port", "0", NULL };
    assert_int_equal(run_main(app, serve, 4, out, sizeof out), 1);
    assert_non_null(strstr(out, "the models of shop have changes that are not in a migration: "
                                "run the app's makemigrations command"));
    assert_null(strstr(out, "listening on"));
    cadre_app_free(app);

    /* a SQLite file that cannot be opened: serve says why and exits */
    cadre_db *bad;
    assert_int_equal(cadre_db_open("sqlite:///nonexistent-cadre-dir/x.db", &bad), 0);
    app = cadre_app_new("shop");
    assert_int_equal(cadre_models(app, bad, mdir, as(CADRE_SCHEMA_OF(supplier), "supplier")), 0);
    assert_int_equal(run_main(app, serve, 4, out, sizeof out), 1);
    assert_non_null(strstr(out, "cannot open /nonexistent-cadre-dir/x.db"));
    assert_non_null(strstr(out, "not serving without the app's SQLite database"));
    cadre_app_free(app);
    cadre_db_close(bad);
    /* URLs that are not ones are refused, not taken as file names */
    assert_int_equal(cadre_db_open("sqlite:/typo.db", &bad), CADRE_EINVAL);
    assert_int_equal(cadre_db_open("sqlite::memory:", &bad), CADRE_EINVAL);
    assert_int_equal(cadre_db_open("sqlite://:memory:", &bad), CADRE_EINVAL);
    assert_int_equal(cadre_db_open("mysql://x@y/z", &bad), CADRE_EINVAL);
    assert_int_equal(cadre_db_open("sqlite://", &bad), CADRE_EINVAL);
    assert_int_equal(cadre_db_open("relative/dir/plain.db", &bad), 0); /* a path stays a path */
    cadre_db_close(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_initial_then_no_changes, fresh, done),
        cmocka_unit_test_setup_teardown(test_evolution_keeps_data, fresh, done),
        cmocka_unit_test_setup_teardown(test_refusals, fresh, done),
        cmocka_unit_test_setup_teardown(test_failing_migration_rolls_back, fresh, done),
        cmocka_unit_test_setup_teardown(test_timestamp_added, fresh, done),
        cmocka_unit_test_setup_teardown(test_target_and_sqlmigrate, fresh, done),
        cmocka_unit_test_setup_teardown(test_broken_files, fresh, done),
        cmocka_unit_test_setup_teardown(test_hand_written_indexes, fresh, done),
        cmocka_unit_test_setup_teardown(test_modules_cross_module_foreign_key, fresh, done),
        cmocka_unit_test_setup_teardown(test_modules_upgrade_old_record_table, fresh, done),
        cmocka_unit_test_setup_teardown(test_modules_extend_a_table, fresh, done),
        cmocka_unit_test_setup_teardown(test_forgotten_makemigrations_is_said, fresh, done),
        cmocka_unit_test_setup_teardown(test_sql_words_refused, fresh, done),
    };
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    return cmocka_run_group_tests(tests, engine_setup, engine_teardown);
}
