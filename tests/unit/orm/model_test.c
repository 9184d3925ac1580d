/* Models: the tables their declarations give, on SQLite and (under tests/pg/with-postgres) on
 * PostgreSQL, with keys, defaults and ON DELETE behaving as declared. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cadre.h>

#include "db/engine_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SUPPLIER_FIELDS(F)                                                                         \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, name, CADRE_MAX_LEN(200), CADRE_UNIQUE)
CADRE_MODEL(supplier, SUPPLIER_FIELDS)

#define STATUS_VALUES(V) V(STATUS_ACTIVE, "active") V(STATUS_RETIRED, "retired")
CADRE_ENUM(status, STATUS_VALUES)

#define PRODUCT_FIELDS(F)                                                                          \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, name, CADRE_MAX_LEN(200), CADRE_INDEX)                                               \
    F(double, price, CADRE_GE(0))                                                                  \
    F(bool, in_stock, CADRE_DEFAULT(true))                                                         \
    F(enum(status), status, CADRE_DEFAULT(STATUS_ACTIVE))                                          \
    F(string, note, CADRE_NULLABLE, CADRE_DEFAULT_STR("it's new"))                                 \
    F(datetime, added, CADRE_OPTIONAL)                                                             \
    F(int64, supplier_id, CADRE_FOREIGN_KEY(supplier, CADRE_ON_DELETE_PROTECT))
CADRE_MODEL(product, PRODUCT_FIELDS)

#define MOVEMENT_FIELDS(F)                                                                         \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(int64, product_id, CADRE_FOREIGN_KEY(product, CADRE_ON_DELETE_CASCADE))                      \
    F(int64, supplier_id, CADRE_NULLABLE, CADRE_FOREIGN_KEY(supplier, CADRE_ON_DELETE_SET_NULL))   \
    F(int32, qty)
CADRE_MODEL(movement, MOVEMENT_FIELDS)

#define BAD_FIELDS(F) F(int64, id, CADRE_PRIMARY_KEY) F(strings, tags)
CADRE_MODEL(bad, BAD_FIELDS)

/* a foreign key to its own table */
#define CATEGORY_FIELDS(F)                                                                         \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, name)                                                                                \
    F(int64, parent_id, CADRE_NULLABLE, CADRE_FOREIGN_KEY(category, CADRE_ON_DELETE_SET_NULL))
CADRE_MODEL(category, CATEGORY_FIELDS)


static char *create_sql(const cadre_schema *m, const char *engine)
{
    cadre_buf b;
    cadre_buf_init(&b, 1 << 16);
    assert_int_equal(cadre_model_create_sql(m, engine, &b), 0);
    assert_int_equal(cadre_buf_append(&b, "", 1), 0);
    return b.data;
}

/* Opens the test database with fresh tables for the first n of supplier, product, movement. */
static cadre_db *fresh_tables(size_t n)
{
    cadre_db *db;
    assert_int_equal(cadre_db_open(url, &db), 0);
    assert_int_equal(cadre_db_exec_script(db, "DROP TABLE IF EXISTS movement; DROP TABLE IF EXISTS "
                                              "product; DROP TABLE IF EXISTS supplier"),
                     0);
    const cadre_schema *models[] = { CADRE_SCHEMA_OF(supplier), CADRE_SCHEMA_OF(product),
                                     CADRE_SCHEMA_OF(movement) };
    for (size_t i = 0; i < n; i++) {
        char *sql = create_sql(models[i], cadre_db_engine(db));
        assert_int_equal(cadre_db_exec_script(db, sql), 0);
        free(sql);
    }
    return db;
}

static void test_sql_text(void **state)
{
    (void)state;
    char *s = create_sql(CADRE_SCHEMA_OF(product), "sqlite");
    assert_string_equal(s, "CREATE TABLE product (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, price "
                           "REAL NOT NULL, in_stock INTEGER NOT NULL DEFAULT 1, status TEXT NOT NULL "
                           "DEFAULT 'active', note TEXT DEFAULT 'it''s new', added TEXT, supplier_id "
                           "INTEGER NOT NULL REFERENCES supplier(id) ON DELETE RESTRICT); CREATE INDEX "
                           "product_name_idx ON product (name); CREATE INDEX product_supplier_id_idx "
                           "ON product (supplier_id)");
    free(s);
    s = create_sql(CADRE_SCHEMA_OF(product), "postgresql");
    assert_string_equal(s, "CREATE TABLE product (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, price "
                           "DOUBLE PRECISION NOT NULL, in_stock BOOLEAN NOT NULL DEFAULT TRUE, status "
                           "TEXT NOT NULL DEFAULT 'active', note TEXT DEFAULT 'it''s new', added "
                           "TIMESTAMPTZ, supplier_id BIGINT NOT NULL REFERENCES supplier(id) ON DELETE "
                           "RESTRICT); CREATE INDEX product_name_idx ON product (name); CREATE INDEX "
                           "product_supplier_id_idx ON product (supplier_id)");
    free(s);
    s = create_sql(CADRE_SCHEMA_OF(supplier), "sqlite");
    assert_string_equal(s, "CREATE TABLE supplier (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE)");
    free(s);
    cadre_buf b;
    cadre_buf_init(&b, 1 << 16);
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    assert_int_equal(cadre_model_create_sql(CADRE_SCHEMA_OF(bad), "sqlite", &b), CADRE_EINVAL);
    assert_int_equal(cadre_model_create_sql(CADRE_SCHEMA_OF(supplier), "oracle", &b), CADRE_EINVAL);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    cadre_buf_free(&b);
    assert_string_equal(cadre_model_pk(CADRE_SCHEMA_OF(product))->name, "id");
}

static void test_tables_behave(void **state)
{
    (void)state;
    cadre_db *db = fresh_tables(3);
    static const char ins_supplier[] = "INSERT INTO supplier (name) VALUES (?) RETURNING id";
    static const char ins_product[] =
        "INSERT INTO product (name, price, supplier_id, added) VALUES (?, ?, ?, ?) RETURNING id";
    static const char ins_movement[] =
        "INSERT INTO movement (product_id, supplier_id, qty) VALUES (?, ?, ?) RETURNING id";
    int64_t s1, s2, p1, id;
    cadre_value acme = CADRE_PTEXT("acme"), bolt = CADRE_PTEXT("bolt co");
    assert_int_equal(cadre_db_exec(db, ins_supplier, &acme, 1, NULL, &s1), 0);
    assert_int_equal(cadre_db_exec(db, ins_supplier, &bolt, 1, NULL, &s2), 0);
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    assert_int_equal(cadre_db_exec(db, ins_supplier, &acme, 1, NULL, NULL), CADRE_EEXIST);
    cadre_value pv[] = { CADRE_PTEXT("hammer"), CADRE_PDOUBLE(9.5), CADRE_PINT(s1),
                         CADRE_PTEXT("2026-11-26T14:00:00+01:00") };
    assert_int_equal(cadre_db_exec(db, ins_product, pv, 4, NULL, &p1), 0);
    cadre_value orphan[] = { CADRE_PTEXT("ghost"), CADRE_PDOUBLE(1), CADRE_PINT(999), CADRE_PNULL };
    assert_int_equal(cadre_db_exec(db, ins_product, orphan, 4, NULL, NULL), CADRE_ESTATE); /* FK */

    /* defaults and the datetime came back as declared */
    cadre_arena a;
    cadre_arena_init(&a, 0);
    product got;
    bool found;
    cadre_value key = CADRE_PINT(p1);
    assert_int_equal(cadre_db_query_one(db, &a, CADRE_SCHEMA_OF(product), &got, &found,
                                        "SELECT * FROM product WHERE id = ?", &key, 1),
                     0);
    assert_true(found);
    assert_true(got.in_stock);
    assert_int_equal(got.status, STATUS_ACTIVE);
    assert_string_equal(got.note.ptr, "it's new");
    assert_int_equal(got.added.sec, 1795698000); /* 2026-11-26T13:00:00Z */

    /* movements: CASCADE with the product, SET NULL with the supplier */
    cadre_value mv[] = { CADRE_PINT(p1), CADRE_PINT(s2), CADRE_PINT(5) };
    assert_int_equal(cadre_db_exec(db, ins_movement, mv, 3, NULL, &id), 0);
    cadre_value ks2 = CADRE_PINT(s2), ks1 = CADRE_PINT(s1), kp1 = CADRE_PINT(p1);
    assert_int_equal(cadre_db_exec(db, "DELETE FROM supplier WHERE id = ?", &ks2, 1, NULL, NULL), 0);
    movement m;
    cadre_value kid = CADRE_PINT(id);
    assert_int_equal(cadre_db_query_one(db, &a, CADRE_SCHEMA_OF(movement), &m, &found,
                                        "SELECT * FROM movement WHERE id = ?", &kid, 1),
                     0);
    assert_true(found);
    assert_true(m.cadre_null_ & (1u << 2)); /* supplier_id set to NULL */
    /* PROTECT: a supplier with products cannot go */
    assert_int_equal(cadre_db_exec(db, "DELETE FROM supplier WHERE id = ?", &ks1, 1, NULL, NULL),
                     CADRE_ESTATE);
    /* CASCADE: deleting the product takes its movements */
    assert_int_equal(cadre_db_exec(db, "DELETE FROM product WHERE id = ?", &kp1, 1, NULL, NULL), 0);
    assert_int_equal(cadre_db_query_one(db, &a, CADRE_SCHEMA_OF(movement), &m, &found,
                                        "SELECT * FROM movement WHERE id = ?", &kid, 1),
                     0);
    assert_false(found);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    cadre_arena_free(&a);
    cadre_db_close(db);
}

/* Returns the ids the query finds, in order, as "1,2,3". */
static const char *ids(cadre_query *q)
{
    cadre_rows rows;
    int rc = cadre_q_fetch(q, &rows);
    if (rc)
        return cadre_arena_printf(q->arena, "error %d", rc);
    cadre_buf b;
    cadre_buf_init_arena(&b, q->arena, 4096);
    for (size_t i = 0; i < rows.len; i++)
        cadre_buf_appendf(&b, "%s%lld", i ? "," : "", (long long)((product *)rows.items)[i].id);
    cadre_buf_append(&b, "", 1);
    return b.data;
}

static void test_queries(void **state)
{
    (void)state;
    cadre_db *db = fresh_tables(2);
    cadre_value acme = CADRE_PTEXT("acme");
    assert_int_equal(cadre_db_exec(db, "INSERT INTO supplier (name) VALUES (?) RETURNING id", &acme, 1,
                                   NULL, NULL),
                     0);
    /* 1 Hammer 9.5 | 2 hammer drill 120 | 3 50% off_sale 3 (note NULL) | 4 Saw 25 */
    static const struct {
        const char *name;
        double price;
        bool null_note;
    } seed[] = { { "Hammer", 9.5, false }, { "hammer drill", 120, false },
                 { "50% off_sale", 3, true }, { "Saw", 25, false } };
    for (size_t i = 0; i < 4; i++) {
        cadre_value v[] = { CADRE_PTEXT(seed[i].name), CADRE_PDOUBLE(seed[i].price), CADRE_PINT(1),
                            seed[i].null_note ? CADRE_PNULL : CADRE_PTEXT("x") };
        assert_int_equal(cadre_db_exec(db, "INSERT INTO product (name, price, supplier_id, note) "
                                           "VALUES (?, ?, ?, ?) RETURNING id",
                                       v, 4, NULL, NULL),
                         0);
    }
    cadre_arena a;
    cadre_arena_init(&a, 0);
    cadre_query q;
#define Q() cadre_q_init(&q, db, CADRE_SCHEMA_OF(product), &a)
    Q();
    cadre_q_order_by(&q, "id");
    assert_string_equal(ids(&q), "1,2,3,4");
    Q();
    cadre_q_filter(&q, "price__lt", CADRE_PDOUBLE(10));
    cadre_q_order_by(&q, "-price");
    assert_string_equal(ids(&q), "1,3");
    Q();
    cadre_q_filter(&q, "price__gte", CADRE_PDOUBLE(9.5));
    cadre_q_filter(&q, "price__lte", CADRE_PDOUBLE(25));
    cadre_q_order_by(&q, "price");
    assert_string_equal(ids(&q), "1,4");
    Q(); /* contains is case-sensitive on both engines */
    cadre_q_filter(&q, "name__contains", CADRE_PTEXT("ammer"));
    cadre_q_exclude(&q, "name__contains", CADRE_PTEXT("drill"));
    assert_string_equal(ids(&q), "1");
    Q();
    cadre_q_filter(&q, "name__contains", CADRE_PTEXT("Ham"));
    assert_string_equal(ids(&q), "1");
    Q();
    cadre_q_filter(&q, "name__icontains", CADRE_PTEXT("HAM"));
    cadre_q_order_by(&q, "id");
    assert_string_equal(ids(&q), "1,2");
    Q(); /* wildcards in values are matched literally */
    cadre_q_filter(&q, "name__contains", CADRE_PTEXT("% off_"));
    assert_string_equal(ids(&q), "3");
    Q();
    cadre_q_filter(&q, "name__icontains", CADRE_PTEXT("%"));
    assert_string_equal(ids(&q), "3");
    Q();
    cadre_q_filter(&q, "name__contains", CADRE_PTEXT("_"));
    assert_string_equal(ids(&q), "3");
    Q();
    cadre_q_filter(&q, "name__startswith", CADRE_PTEXT("ham"));
    assert_string_equal(ids(&q), "2");
    Q();
    cadre_q_filter(&q, "note__isnull", CADRE_PINT(1));
    assert_string_equal(ids(&q), "3");
    Q();
    cadre_q_filter(&q, "note", CADRE_PNULL); /* exact NULL is IS NULL */
    assert_string_equal(ids(&q), "3");
    Q();
    cadre_q_filter(&q, "name__ne", CADRE_PTEXT("Saw"));
    cadre_q_filter(&q, "note__isnull", CADRE_PINT(0));
    cadre_q_order_by(&q, "-id");
    assert_string_equal(ids(&q), "2,1");
    Q();
    cadre_value in[] = { CADRE_PINT(4), CADRE_PINT(2), CADRE_PINT(42) };
    cadre_q_filter_in(&q, "id", in, 3);
    cadre_q_order_by(&q, "id");
    assert_string_equal(ids(&q), "2,4");
    Q();
    cadre_q_filter_in(&q, "id", NULL, 0);
    assert_string_equal(ids(&q), "");
    Q(); /* a long IN list: 20 000 bound parameters ($10000 and beyond on PostgreSQL) */
    static cadre_value many[20000];
    for (size_t i = 0; i < 20000; i++)
        many[i] = CADRE_PINT((int64_t)i + 2);
    cadre_q_filter_in(&q, "id", many, 20000);
    cadre_q_order_by(&q, "id");
    assert_string_equal(ids(&q), "2,3,4");
    Q(); /* (price < 5 OR name = 'Saw') AND note IS NOT NULL */
    cadre_q_or_begin(&q);
    cadre_q_filter(&q, "price__lt", CADRE_PDOUBLE(5));
    cadre_q_filter(&q, "name", CADRE_PTEXT("Saw"));
    cadre_q_or_end(&q);
    cadre_q_order_by(&q, "id");
    assert_string_equal(ids(&q), "3,4");
    cadre_q_filter(&q, "note__isnull", CADRE_PINT(0));
    assert_string_equal(ids(&q), "4");
    Q();
    cadre_q_order_by(&q, "price");
    cadre_q_limit(&q, 2);
    cadre_q_offset(&q, 1);
    assert_string_equal(ids(&q), "1,4");
    Q();
    cadre_q_order_by(&q, "price");
    cadre_q_offset(&q, 3);
    assert_string_equal(ids(&q), "2");

    /* count, exists, first, delete */
    int64_t n;
    bool yes;
    product first;
    Q();
    cadre_q_filter(&q, "price__gt", CADRE_PDOUBLE(5));
    cadre_q_limit(&q, 1); /* ignored by count */
    assert_int_equal(cadre_q_count(&q, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(cadre_q_exists(&q, &yes), 0);
    assert_true(yes);
    Q();
    cadre_q_filter(&q, "price__gt", CADRE_PDOUBLE(1000));
    assert_int_equal(cadre_q_exists(&q, &yes), 0);
    assert_false(yes);
    Q();
    cadre_q_order_by(&q, "-price");
    assert_int_equal(cadre_q_first(&q, &first, &yes), 0);
    assert_true(yes);
    assert_string_equal(first.name.ptr, "hammer drill");
    Q();
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    cadre_q_filter(&q, "price__lt", CADRE_PDOUBLE(10));
    cadre_q_limit(&q, 1); /* refused, not "delete every match" */
    assert_int_equal(cadre_q_delete(&q, &n), CADRE_EINVAL);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    Q();
    cadre_q_filter(&q, "price__lt", CADRE_PDOUBLE(10));
    assert_int_equal(cadre_q_delete(&q, &n), 0);
    assert_int_equal(n, 2);
    Q();
    assert_int_equal(cadre_q_count(&q, &n), 0);
    assert_int_equal(n, 2);

    /* names from a request never reach the SQL: unknown fields and lookups are refused */
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    Q();
    cadre_q_filter(&q, "name; DROP TABLE product; --", CADRE_PTEXT("x"));
    assert_string_equal(ids(&q), "error -2");
    Q();
    cadre_q_order_by(&q, "-price; DELETE FROM product");
    assert_int_equal(cadre_q_count(&q, &n), CADRE_EINVAL);
    Q();
    cadre_q_filter(&q, "price__regex", CADRE_PTEXT(".*"));
    assert_int_equal(cadre_q_exists(&q, &yes), CADRE_EINVAL);
    Q();
    cadre_q_or_begin(&q);
    assert_int_equal(cadre_q_count(&q, &n), CADRE_EINVAL); /* group never ended */
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    /* values are values */
    Q();
    cadre_q_filter(&q, "name", CADRE_PTEXT("x' OR '1'='1"));
    assert_string_equal(ids(&q), "");
    Q();
    assert_int_equal(cadre_q_count(&q, &n), 0);
    assert_int_equal(n, 2); /* nothing was dropped or deleted */

    /* the estimate (PostgreSQL's reltuples after ANALYZE) above a threshold, else a count */
    bool est;
    if (pg)
        assert_int_equal(cadre_db_exec(db, "ANALYZE product", NULL, 0, NULL, NULL), 0);
    Q();
    assert_int_equal(cadre_q_count_estimate(&q, 1, &n, &est), 0);
    assert_int_equal(n, 2);
    assert_true(est == pg); /* SQLite keeps no estimate: it counts */
    assert_int_equal(cadre_db_exec(db, "DELETE FROM product WHERE price > 100", NULL, 0, NULL, NULL),
                     0);
    Q();
    assert_int_equal(cadre_q_count_estimate(&q, 2, &n, &est), 0); /* not above 2: counted */
    assert_false(est);
    assert_int_equal(n, 1);
    Q();
    cadre_q_filter(&q, "price__gt", CADRE_PDOUBLE(0)); /* a condition: always counted */
    assert_int_equal(cadre_q_count_estimate(&q, 0, &n, &est), 0);
    assert_false(est);
    assert_int_equal(n, 1);
#undef Q
    cadre_arena_free(&a);
    cadre_db_close(db);
}

static void test_rows_by_key(void **state)
{
    (void)state;
    cadre_db *db = fresh_tables(2);
    cadre_arena a;
    cadre_arena_init(&a, 0);
    supplier s = { .name = CADRE_LIT("acme") };
    assert_int_equal(cadre_model_insert(db, &a, CADRE_SCHEMA_OF(supplier), &s), 0);
    assert_int_equal(s.id, 1);
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    supplier dup = { .name = CADRE_LIT("acme") };
    assert_int_equal(cadre_model_insert(db, &a, CADRE_SCHEMA_OF(supplier), &dup), CADRE_EEXIST);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);

    /* absent optional fields take the column default; nullable null is NULL */
    product p = { .name = CADRE_LIT("drill"), .price = 120, .in_stock = false,
                  .status = STATUS_RETIRED, .supplier_id = s.id };
    p.cadre_null_ = 1u << 5; /* note: NULL */
    assert_int_equal(cadre_model_insert(db, &a, CADRE_SCHEMA_OF(product), &p), 0);
    assert_true(p.id > 0);
    product got;
    bool found;
    assert_int_equal(cadre_model_get(db, &a, CADRE_SCHEMA_OF(product), p.id, &got, &found), 0);
    assert_true(found);
    assert_string_equal(got.name.ptr, "drill");
    assert_false(got.in_stock);
    assert_int_equal(got.status, STATUS_RETIRED);
    assert_true(got.cadre_null_ & (1u << 5));
    /* added was optional and absent: the column is NULL, the field not present */
    assert_false(cadre_schema_has(CADRE_SCHEMA_OF(product), &got, "added"));

    /* PATCH: only the fields present */
    product patch = { .id = p.id, .price = 99.5 };
    patch.cadre_set_ = 1u << 2; /* price */
    int64_t changes;
    assert_int_equal(cadre_model_update(db, &a, CADRE_SCHEMA_OF(product), &patch, true, &changes), 0);
    assert_int_equal(changes, 1);
    assert_int_equal(cadre_model_get(db, &a, CADRE_SCHEMA_OF(product), p.id, &got, &found), 0);
    assert_true(got.price == 99.5);
    assert_string_equal(got.name.ptr, "drill"); /* untouched */
    /* PUT: every field */
    got.name = CADRE_LIT("big drill");
    got.status = STATUS_ACTIVE;
    assert_int_equal(cadre_model_update(db, &a, CADRE_SCHEMA_OF(product), &got, false, &changes), 0);
    assert_int_equal(changes, 1);
    product again;
    assert_int_equal(cadre_model_get(db, &a, CADRE_SCHEMA_OF(product), p.id, &again, &found), 0);
    assert_string_equal(again.name.ptr, "big drill");
    assert_int_equal(again.status, STATUS_ACTIVE);
    /* a row that is not there */
    patch.id = 999;
    assert_int_equal(cadre_model_update(db, &a, CADRE_SCHEMA_OF(product), &patch, true, &changes), 0);
    assert_int_equal(changes, 0);
    assert_int_equal(cadre_model_get(db, &a, CADRE_SCHEMA_OF(product), 999, &got, &found), 0);
    assert_false(found);
    /* delete */
    assert_int_equal(cadre_model_delete(db, CADRE_SCHEMA_OF(product), p.id, &changes), 0);
    assert_int_equal(changes, 1);
    assert_int_equal(cadre_model_delete(db, CADRE_SCHEMA_OF(product), p.id, &changes), 0);
    assert_int_equal(changes, 0);
    cadre_arena_free(&a);
    cadre_db_close(db);
}

/* suppliers 1 acme, 2 bolt co; products 1 hammer 9.5 (acme), 2 drill 120 (bolt co, note NULL,
 * retired), 3 saw 25 (acme); movements 1 hammer/acme 5, 2 drill/no supplier 3, 3 saw/bolt co -1 */
static cadre_db *stock(cadre_arena *a)
{
    cadre_db *db = fresh_tables(3);
    const char *names[] = { "acme", "bolt co" };
    for (int i = 0; i < 2; i++) {
        supplier s = { .name = cadre_slice_cstr(names[i]) };
        assert_int_equal(cadre_model_insert(db, a, CADRE_SCHEMA_OF(supplier), &s), 0);
        assert_int_equal(s.id, i + 1);
    }
    product ps[] = {
        { .name = CADRE_LIT("hammer"), .price = 9.5, .in_stock = true, .note = CADRE_LIT("x"),
          .supplier_id = 1 },
        { .name = CADRE_LIT("drill"), .price = 120, .status = STATUS_RETIRED, .supplier_id = 2,
          .cadre_null_ = 1u << 5 },
        { .name = CADRE_LIT("saw"), .price = 25, .in_stock = true, .note = CADRE_LIT("y"),
          .supplier_id = 1 },
    };
    for (int i = 0; i < 3; i++)
        assert_int_equal(cadre_model_insert(db, a, CADRE_SCHEMA_OF(product), &ps[i]), 0);
    movement ms[] = { { .product_id = 1, .supplier_id = 1, .qty = 5 },
                      { .product_id = 2, .qty = 3, .cadre_null_ = 1u << 2 },
                      { .product_id = 3, .supplier_id = 2, .qty = -1 } };
    for (int i = 0; i < 3; i++)
        assert_int_equal(cadre_model_insert(db, a, CADRE_SCHEMA_OF(movement), &ms[i]), 0);
    return db;
}

/* What a change hook saw: each call's operation, key and a field of its row. */
struct seen {
    int n;
    int op[8];
    int64_t id[8];
    int32_t qty[8];
};

static void on_movement(const cadre_model_change *c, void *ctx)
{
    struct seen *s = ctx;
    assert_ptr_equal(c->model, CADRE_SCHEMA_OF(movement));
    assert_non_null(c->arena);
    if (s->n < 8) {
        const movement *m = c->row;
        s->op[s->n] = c->op;
        s->id[s->n] = c->id;
        s->qty[s->n] = m->qty;
    }
    s->n++;
}

static void test_change_hooks(void **state)
{
    (void)state;
    cadre_db *db = fresh_tables(3);
    cadre_arena a;
    cadre_arena_init(&a, 0);
    static struct seen seen; /* the hook stays added for the process: a static context */
    memset(&seen, 0, sizeof seen);
    assert_int_equal(cadre_model_on_change(NULL, on_movement, &seen), CADRE_EINVAL);
    assert_int_equal(cadre_model_on_change(CADRE_SCHEMA_OF(movement), on_movement, &seen), 0);
    supplier s = { .name = CADRE_LIT("hooks") };
    assert_int_equal(supplier_insert(db, &a, &s), 0);
    product p = { .name = CADRE_LIT("saw"), .price = 1, .supplier_id = s.id };
    assert_int_equal(product_insert(db, &a, &p), 0);
    assert_int_equal(seen.n, 0); /* another model's writes */

    movement m = { .product_id = p.id, .supplier_id = s.id, .qty = 5 };
    assert_int_equal(movement_insert(db, &a, &m), 0);
    movement many[2] = { { .product_id = p.id, .supplier_id = s.id, .qty = -1 },
                         { .product_id = p.id, .supplier_id = s.id, .qty = -2 } };
    assert_int_equal(movement_insert_many(db, &a, many, 2), 0);
    movement patch = { .id = m.id, .qty = 7 };
    cadre_set(&patch, movement, qty);
    int64_t changes;
    assert_int_equal(movement_patch(db, &a, &patch, &changes), 0);
    patch.id = 999; /* no such row: no call */
    assert_int_equal(movement_patch(db, &a, &patch, &changes), 0);
    assert_int_equal(changes, 0);
    assert_int_equal(movement_delete(db, many[0].id, &changes), 0);
    assert_int_equal(movement_delete(db, many[0].id, &changes), 0); /* gone: no call */
    assert_int_equal(changes, 0);
    /* a bulk delete through a query: no call */
    cadre_query q;
    movement_query(&q, db, &a);
    cadre_q_filter(&q, "id", CADRE_PINT(many[1].id));
    assert_int_equal(cadre_q_delete(&q, &changes), 0);
    assert_int_equal(changes, 1);

    assert_int_equal(seen.n, 5);
    int op[] = { CADRE_MODEL_INSERTED, CADRE_MODEL_INSERTED, CADRE_MODEL_INSERTED,
                 CADRE_MODEL_UPDATED, CADRE_MODEL_DELETED };
    int64_t id[] = { m.id, many[0].id, many[1].id, m.id, many[0].id };
    int32_t qty[] = { 5, -1, -2, 7, -1 }; /* a delete's row is the row as it was */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(seen.op[i], op[i]);
        assert_int_equal(seen.id[i], id[i]);
        assert_int_equal(seen.qty[i], qty[i]);
    }
    cadre_arena_free(&a);
    cadre_db_close(db);
}

static void test_select_related(void **state)
{
    (void)state;
    cadre_arena a;
    cadre_arena_init(&a, 0);
    cadre_db *db = stock(&a);
    cadre_query q;
    cadre_rows rows, sup, prod;
    const product *p;
    const supplier *s;
    const movement *m;

    /* filters and order on the model, with its column names (id, name) also in the joined table */
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(product), &a);
    cadre_q_select_related(&q, "supplier_id", &sup);
    cadre_q_filter(&q, "price__lt", CADRE_PDOUBLE(100));
    cadre_q_filter(&q, "id__gte", CADRE_PINT(1));
    cadre_q_exclude(&q, "name", CADRE_PTEXT("acme"));
    cadre_q_order_by(&q, "-name");
    assert_int_equal(cadre_q_fetch(&q, &rows), 0);
    assert_int_equal(rows.len, 2);
    assert_int_equal(sup.len, 2);
    p = rows.items;
    s = sup.items;
    assert_string_equal(p[0].name.ptr, "saw");
    assert_int_equal(p[0].id, 3);
    assert_true(p[0].price == 25);
    assert_string_equal(p[1].name.ptr, "hammer");
    assert_int_equal(s[0].id, 1);
    assert_string_equal(s[0].name.ptr, "acme");
    assert_int_equal(s[1].id, 1);
    assert_true(cadre_has(&s[1], supplier, name));
    assert_true(cadre_has(&p[1], product, supplier_id));
    assert_false(cadre_has(&p[1], product, added)); /* NULL, not present: as without the join */
    /* "name" is the product's name: no supplier is called drill */
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(product), &a);
    cadre_q_filter(&q, "name", CADRE_PTEXT("drill"));
    cadre_q_select_related(&q, "supplier_id", &sup);
    assert_int_equal(cadre_q_fetch(&q, &rows), 0);
    assert_int_equal(rows.len, 1);
    p = rows.items;
    s = sup.items;
    assert_int_equal(p[0].id, 2);
    assert_int_equal(p[0].status, STATUS_RETIRED);
    assert_true(p[0].cadre_null_ & (1u << 5)); /* note NULL stays the product's */
    assert_int_equal(s[0].cadre_null_, 0);
    assert_int_equal(s[0].id, 2);
    assert_string_equal(s[0].name.ptr, "bolt co");

    /* a NULL foreign key: a zeroed struct; two joins in one query, limit and offset */
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(movement), &a);
    cadre_q_select_related(&q, "supplier_id", &sup);
    cadre_q_select_related(&q, "product_id", &prod);
    cadre_q_order_by(&q, "-qty");
    assert_int_equal(cadre_q_fetch(&q, &rows), 0);
    assert_int_equal(rows.len, 3);
    assert_int_equal(sup.len, 3);
    assert_int_equal(prod.len, 3);
    m = rows.items;
    s = sup.items;
    p = prod.items;
    assert_int_equal(m[0].id, 1);
    assert_int_equal(m[0].qty, 5);
    assert_string_equal(s[0].name.ptr, "acme");
    assert_string_equal(p[0].name.ptr, "hammer");
    assert_int_equal(m[1].id, 2);
    assert_true(m[1].cadre_null_ & (1u << 2)); /* the movement's supplier_id is NULL */
    assert_int_equal(s[1].cadre_set_, 0);
    assert_int_equal(s[1].cadre_null_, 0);
    assert_int_equal(s[1].id, 0);
    assert_null(s[1].name.ptr);
    assert_string_equal(p[1].name.ptr, "drill");
    assert_true(p[1].cadre_null_ & (1u << 5));
    assert_false(cadre_has(&p[1], product, added));
    assert_int_equal(m[2].qty, -1);
    assert_string_equal(s[2].name.ptr, "bolt co");
    assert_string_equal(p[2].name.ptr, "saw");
    assert_int_equal(p[2].supplier_id, 1); /* saw's own supplier, not the movement's */
    /* the same rows through the movements themselves: cadre_related follows each key (NULL for
     * a null key, and for a field the query did not join) */
    const supplier *via = cadre_related(&rows, 0, "supplier_id");
    assert_ptr_equal(via, &s[0]);
    assert_null(cadre_related(&rows, 1, "supplier_id"));
    const product *prod2 = cadre_related(&rows, 2, "product_id");
    assert_string_equal(prod2->name.ptr, "saw");
    assert_null(cadre_related(&rows, 0, "qty"));
    assert_null(cadre_related(&rows, 3, "product_id")); /* past the rows */
    /* rendered: m.supplier.name, none for the null key */
    cadre_templates *t;
    static const cadre_template_source tpl[] = {
        { .name = "m.html",
          .text = "{% for m in rows %}{{ m.qty }} {{ m.product.name }} "
                  "{{ m.supplier.name|default('-') }};{% endfor %}",
          .len = 99 },
    };
    assert_int_equal(cadre_templates_load_sources(tpl, 1, &t), 0);
    cadre_buf out;
    cadre_buf_init(&out, 4096);
    assert_int_equal(cadre_template_render(t, "m.html",
                                           &CADRE_CTX({ "rows", CADRE_TROWS(movement, &rows) }),
                                           &out),
                     0);
    assert_int_equal(cadre_buf_append(&out, "", 1), 0);
    assert_string_equal(out.data, "5 hammer acme;3 drill -;-1 saw bolt co;");
    cadre_buf_free(&out);
    cadre_templates_free(t);
    cadre_q_limit(&q, 1);
    cadre_q_offset(&q, 1);
    assert_int_equal(cadre_q_fetch(&q, &rows), 0);
    assert_int_equal(rows.len, 1);
    assert_int_equal(sup.len, 1);
    assert_int_equal(((const movement *)rows.items)[0].id, 2);
    assert_int_equal(((const supplier *)sup.items)[0].cadre_set_, 0);
    assert_string_equal(((const product *)prod.items)[0].name.ptr, "drill");
    /* nothing found: empty arrays */
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(movement), &a);
    cadre_q_select_related(&q, "supplier_id", &sup);
    cadre_q_filter(&q, "qty__gt", CADRE_PINT(100));
    assert_int_equal(cadre_q_fetch(&q, &rows), 0);
    assert_int_equal(rows.len, 0);
    assert_int_equal(sup.len, 0);
    /* first and get fill one related struct; count and exists ignore the join */
    movement one;
    bool found;
    int64_t n;
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(movement), &a);
    cadre_q_select_related(&q, "product_id", &prod);
    cadre_q_filter(&q, "qty__lt", CADRE_PINT(5));
    cadre_q_order_by(&q, "qty");
    assert_int_equal(cadre_q_first(&q, &one, &found), 0);
    assert_true(found);
    assert_int_equal(one.id, 3);
    assert_int_equal(prod.len, 1);
    assert_string_equal(((const product *)prod.items)[0].name.ptr, "saw");
    assert_int_equal(cadre_q_count(&q, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(cadre_q_get(&q, &one), CADRE_EEXIST);
    assert_int_equal(prod.len, 0);
    cadre_q_filter(&q, "product_id", CADRE_PINT(2));
    assert_int_equal(cadre_q_get(&q, &one), 0);
    assert_int_equal(one.id, 2);
    assert_int_equal(prod.len, 1);
    assert_string_equal(((const product *)prod.items)[0].name.ptr, "drill");

    /* misuse: not a foreign key, no such field, too many joins */
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(product), &a);
    cadre_q_select_related(&q, "name", &sup);
    assert_int_equal(cadre_q_fetch(&q, &rows), CADRE_EINVAL);
    assert_int_equal(rows.len, 0);
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(product), &a);
    cadre_q_select_related(&q, "supplier_id; DROP TABLE product", &sup);
    assert_int_equal(cadre_q_fetch(&q, &rows), CADRE_EINVAL);
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(product), &a);
    cadre_q_select_related(&q, "supplier", &sup);
    assert_int_equal(cadre_q_first(&q, &one, &found), CADRE_EINVAL);
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(movement), &a);
    for (int i = 0; i < CADRE_Q_MAX_RELATED; i++)
        cadre_q_select_related(&q, "supplier_id", &sup);
    assert_int_equal(cadre_q_fetch(&q, &rows), 0); /* the same key four times is fine */
    assert_int_equal(sup.len, 3);
    cadre_q_select_related(&q, "product_id", &prod);
    assert_int_equal(cadre_q_fetch(&q, &rows), CADRE_EINVAL);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);

    /* a key to its own table */
    char *sql = create_sql(CADRE_SCHEMA_OF(category), cadre_db_engine(db));
    assert_int_equal(cadre_db_exec_script(db, "DROP TABLE IF EXISTS category"), 0);
    assert_int_equal(cadre_db_exec_script(db, sql), 0);
    free(sql);
    category tools = { .name = CADRE_LIT("tools"), .cadre_null_ = 1u << 2 };
    assert_int_equal(cadre_model_insert(db, &a, CADRE_SCHEMA_OF(category), &tools), 0);
    category saws = { .name = CADRE_LIT("saws"), .parent_id = tools.id };
    assert_int_equal(cadre_model_insert(db, &a, CADRE_SCHEMA_OF(category), &saws), 0);
    cadre_rows parents;
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(category), &a);
    cadre_q_select_related(&q, "parent_id", &parents);
    cadre_q_filter(&q, "name__startswith", CADRE_PTEXT("s"));
    assert_int_equal(cadre_q_fetch(&q, &rows), 0);
    assert_int_equal(rows.len, 1);
    assert_string_equal(((const category *)rows.items)[0].name.ptr, "saws");
    assert_int_equal(((const category *)parents.items)[0].id, tools.id);
    assert_string_equal(((const category *)parents.items)[0].name.ptr, "tools");
    assert_true(((const category *)parents.items)[0].cadre_null_ & (1u << 2));
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(category), &a);
    cadre_q_select_related(&q, "parent_id", &parents);
    cadre_q_order_by(&q, "name");
    assert_int_equal(cadre_q_fetch(&q, &rows), 0);
    assert_int_equal(rows.len, 2);
    assert_string_equal(((const category *)rows.items)[1].name.ptr, "tools");
    assert_int_equal(((const category *)parents.items)[1].cadre_set_, 0);
    assert_int_equal(((const category *)parents.items)[1].cadre_null_, 0); /* not "parent NULL" */
    assert_int_equal(cadre_db_exec_script(db, "DROP TABLE category"), 0);
    cadre_arena_free(&a);
    cadre_db_close(db);
}

/* "id:price:status:in_stock" of every product, in id order */
static const char *prices(cadre_db *db, cadre_arena *a)
{
    cadre_query q;
    cadre_rows rows;
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(product), a);
    cadre_q_order_by(&q, "id");
    assert_int_equal(cadre_q_fetch(&q, &rows), 0);
    cadre_buf b;
    cadre_buf_init_arena(&b, a, 4096);
    for (size_t i = 0; i < rows.len; i++) {
        const product *p = &((const product *)rows.items)[i];
        cadre_buf_appendf(&b, "%s%lld:%g:%s:%d", i ? " " : "", (long long)p->id, p->price,
                          status__enum()->values[p->status], p->in_stock);
    }
    cadre_buf_append(&b, "", 1);
    return b.data;
}

static void test_bulk_update(void **state)
{
    (void)state;
    cadre_arena a;
    cadre_arena_init(&a, 0);
    cadre_db *db = stock(&a);
    cadre_query q;
    int64_t n = -1;
    assert_string_equal(prices(db, &a), "1:9.5:active:1 2:120:retired:0 3:25:active:1");

    /* the filtered rows, several fields; values bound before the conditions' */
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(product), &a);
    cadre_q_filter(&q, "supplier_id", CADRE_PINT(1));
    cadre_q_exclude(&q, "name__startswith", CADRE_PTEXT("s"));
    cadre_q_set(&q, "price", CADRE_PINT(7));
    cadre_q_set(&q, "status", CADRE_PTEXT("retired"));
    cadre_q_set(&q, "in_stock", CADRE_PINT(0));
    cadre_q_set(&q, "price", CADRE_PDOUBLE(8.25)); /* again: replaces */
    assert_int_equal(cadre_q_update(&q, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(prices(db, &a), "1:8.25:retired:0 2:120:retired:0 3:25:active:1");
    /* an or-group */
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(product), &a);
    cadre_q_or_begin(&q);
    cadre_q_filter(&q, "price__gt", CADRE_PDOUBLE(100));
    cadre_q_filter(&q, "name", CADRE_PTEXT("saw"));
    cadre_q_or_end(&q);
    cadre_q_set(&q, "in_stock", CADRE_PINT(1));
    assert_int_equal(cadre_q_update(&q, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(prices(db, &a), "1:8.25:retired:0 2:120:retired:1 3:25:active:1");
    /* no condition: every row; nothing matching: 0 */
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(product), &a);
    cadre_q_set(&q, "status", CADRE_PTEXT("active"));
    assert_int_equal(cadre_q_update(&q, NULL), 0);
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(product), &a);
    cadre_q_filter(&q, "price__lt", CADRE_PDOUBLE(1));
    cadre_q_set(&q, "price", CADRE_PINT(0));
    assert_int_equal(cadre_q_update(&q, &n), 0);
    assert_int_equal(n, 0);
    assert_string_equal(prices(db, &a), "1:8.25:active:0 2:120:active:1 3:25:active:1");
    /* NULL for a nullable field, a datetime (stored normalised), text that looks like SQL */
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(product), &a);
    cadre_q_filter(&q, "id", CADRE_PINT(3));
    cadre_q_set(&q, "note", CADRE_PNULL);
    cadre_q_set(&q, "added", CADRE_PTEXT("2026-11-26T14:00:00+01:00"));
    cadre_q_set(&q, "name", CADRE_PTEXT("saw'); DROP TABLE product; --"));
    assert_int_equal(cadre_q_update(&q, &n), 0);
    assert_int_equal(n, 1);
    product got;
    bool found;
    assert_int_equal(cadre_model_get(db, &a, CADRE_SCHEMA_OF(product), 3, &got, &found), 0);
    assert_true(found);
    assert_true(got.cadre_null_ & (1u << 5));
    assert_int_equal(got.added.sec, 1795698000);
    assert_string_equal(got.name.ptr, "saw'); DROP TABLE product; --");
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(product), &a);
    cadre_q_filter(&q, "added__gte", CADRE_PTEXT("2026-11-26T13:00:00Z")); /* compared as text */
    assert_int_equal(cadre_q_count(&q, &n), 0);
    assert_int_equal(n, 1);

    /* refused: the key, unknown fields, values of the wrong kind, no SET, a limit */
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    const struct {
        const char *field;
        cadre_value v;
    } refused[] = {
        { "id", CADRE_PINT(50) },
        { "colour", CADRE_PTEXT("red") },
        { "price = 0; DROP TABLE product; --", CADRE_PINT(1) },
        { "price", CADRE_PTEXT("cheap") },
        { "status", CADRE_PTEXT("sold") },
        { "in_stock", CADRE_PINT(2) },
        { "name", CADRE_PNULL },
        { "name", CADRE_PINT(1) },
        { "added", CADRE_PTEXT("yesterday") },
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        cadre_q_init(&q, db, CADRE_SCHEMA_OF(product), &a);
        cadre_q_set(&q, "price", CADRE_PINT(1));
        cadre_q_set(&q, refused[i].field, refused[i].v);
        n = -1;
        assert_int_equal(cadre_q_update(&q, &n), CADRE_EINVAL);
        assert_int_equal(n, 0);
    }
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(product), &a);
    assert_int_equal(cadre_q_update(&q, NULL), CADRE_EINVAL); /* nothing set */
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(product), &a);
    cadre_q_set(&q, "price", CADRE_PINT(1));
    cadre_q_order_by(&q, "price");
    cadre_q_limit(&q, 1);
    assert_int_equal(cadre_q_update(&q, NULL), CADRE_EINVAL);
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(product), &a);
    cadre_q_filter(&q, "nope", CADRE_PINT(1));
    cadre_q_set(&q, "price", CADRE_PINT(1));
    assert_int_equal(cadre_q_update(&q, NULL), CADRE_EINVAL);
    /* the database's constraints: UNIQUE, a foreign key naming no row */
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(supplier), &a);
    cadre_q_set(&q, "name", CADRE_PTEXT("same"));
    assert_int_equal(cadre_q_update(&q, NULL), CADRE_EEXIST);
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(product), &a);
    cadre_q_set(&q, "supplier_id", CADRE_PINT(99));
    assert_int_equal(cadre_q_update(&q, NULL), CADRE_ESTATE);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    assert_string_equal(prices(db, &a), "1:8.25:active:0 2:120:active:1 3:25:active:1");
    cadre_arena_free(&a);
    cadre_db_close(db);
}

static void test_get(void **state)
{
    (void)state;
    cadre_arena a;
    cadre_arena_init(&a, 0);
    cadre_db *db = stock(&a);
    cadre_query q;
    product p;
    /* exactly one */
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(product), &a);
    cadre_q_filter(&q, "name__icontains", CADRE_PTEXT("DRI"));
    assert_int_equal(cadre_q_get(&q, &p), 0);
    assert_int_equal(p.id, 2);
    assert_string_equal(p.name.ptr, "drill");
    assert_true(cadre_has(&p, product, price));
    /* none */
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(product), &a);
    cadre_q_filter(&q, "price__gt", CADRE_PDOUBLE(1000));
    assert_int_equal(cadre_q_get(&q, &p), CADRE_ENOTFOUND);
    assert_int_equal(p.id, 0);
    assert_int_equal(p.cadre_set_, 0);
    /* two: MultipleObjectsReturned */
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(product), &a);
    cadre_q_filter(&q, "supplier_id", CADRE_PINT(1));
    assert_int_equal(cadre_q_get(&q, &p), CADRE_EEXIST);
    assert_int_equal(p.id, 0);
    assert_int_equal(p.cadre_set_, 0);
    /* ... unless a limit or offset leaves one */
    cadre_q_order_by(&q, "-price");
    cadre_q_limit(&q, 1);
    assert_int_equal(cadre_q_get(&q, &p), 0);
    assert_string_equal(p.name.ptr, "saw");
    cadre_q_limit(&q, -1);
    cadre_q_offset(&q, 1);
    assert_int_equal(cadre_q_get(&q, &p), 0);
    assert_string_equal(p.name.ptr, "hammer");
    /* every row: three */
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(product), &a);
    assert_int_equal(cadre_q_get(&q, &p), CADRE_EEXIST);
    /* misuse, and values that look like SQL */
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(product), &a);
    cadre_q_filter(&q, "id = 1 OR 1 = 1 --", CADRE_PINT(1));
    assert_int_equal(cadre_q_get(&q, &p), CADRE_EINVAL);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(product), &a);
    cadre_q_filter(&q, "name", CADRE_PTEXT("saw' OR '1'='1"));
    assert_int_equal(cadre_q_get(&q, &p), CADRE_ENOTFOUND);
    cadre_arena_free(&a);
    cadre_db_close(db);
}

/* Aggregates over the matching rows, and per group, the same on both engines. */
static void test_aggregates(void **state)
{
    (void)state;
    cadre_arena a;
    cadre_arena_init(&a, 0);
    cadre_db *db = stock(&a); /* hammer 9.5 (supplier 1), drill 120 (2), saw 25 (1) */
    cadre_query q;
    double v;
    bool some;
    static const struct {
        cadre_agg fn;
        double want;
    } all[] = { { CADRE_AGG_COUNT, 3 }, { CADRE_AGG_SUM, 154.5 }, { CADRE_AGG_AVG, 51.5 },
                { CADRE_AGG_MIN, 9.5 }, { CADRE_AGG_MAX, 120 } };
    for (size_t i = 0; i < 5; i++) {
        product_query(&q, db, &a);
        assert_int_equal(cadre_q_aggregate(&q, all[i].fn, "price", &v, &some), 0);
        assert_true(some);
        assert_true(v == all[i].want);
    }
    product_query(&q, db, &a);
    cadre_q_filter(&q, "supplier_id", CADRE_PINT(1));
    assert_int_equal(cadre_q_aggregate(&q, CADRE_AGG_SUM, "price", &v, &some), 0);
    assert_true(some && v == 34.5);
    /* no row: SUM is null, COUNT 0 */
    product_query(&q, db, &a);
    cadre_q_filter(&q, "price__gt", CADRE_PDOUBLE(1000));
    assert_int_equal(cadre_q_aggregate(&q, CADRE_AGG_SUM, "price", &v, &some), 0);
    assert_false(some);
    assert_true(v == 0);
    product_query(&q, db, &a);
    cadre_q_filter(&q, "price__gt", CADRE_PDOUBLE(1000));
    assert_int_equal(cadre_q_aggregate(&q, CADRE_AGG_COUNT, "id", &v, &some), 0);
    assert_true(some && v == 0);
    /* per supplier, and per enum value */
    cadre_rows groups;
    product_query(&q, db, &a);
    assert_int_equal(cadre_q_group(&q, "supplier_id", CADRE_AGG_SUM, "price", &groups), 0);
    assert_int_equal(groups.len, 2);
    const cadre_group_row *g = groups.items;
    assert_int_equal(g[0].key.i64, 1);
    assert_true(g[0].value == 34.5);
    assert_int_equal(g[0].count, 2);
    assert_int_equal(g[1].key.i64, 2);
    assert_true(g[1].value == 120);
    assert_int_equal(g[1].count, 1);
    product_query(&q, db, &a);
    assert_int_equal(cadre_q_group(&q, "status", CADRE_AGG_MAX, "price", &groups), 0);
    assert_int_equal(groups.len, 2);
    g = groups.items;
    assert_string_equal(g[0].key.s.ptr, "active");
    assert_int_equal(g[0].count, 2);
    assert_true(g[0].value == 25);
    assert_string_equal(g[1].key.s.ptr, "retired");
    /* a nullable key: its null group */
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(movement), &a);
    assert_int_equal(cadre_q_group(&q, "supplier_id", CADRE_AGG_SUM, "qty", &groups), 0);
    assert_int_equal(groups.len, 3);
    size_t nulls = 0;
    for (size_t i = 0; i < groups.len; i++)
        nulls += CADRE_GROUP_KEY_NULL(&((const cadre_group_row *)groups.items)[i]);
    assert_int_equal(nulls, 1);
    /* mistakes: refused when run */
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    product_query(&q, db, &a);
    assert_int_equal(cadre_q_aggregate(&q, CADRE_AGG_SUM, "name", &v, NULL), CADRE_EINVAL);
    product_query(&q, db, &a);
    assert_int_equal(cadre_q_aggregate(&q, CADRE_AGG_SUM, "nope", &v, NULL), CADRE_EINVAL);
    product_query(&q, db, &a);
    assert_int_equal(cadre_q_group(&q, "nope", CADRE_AGG_COUNT, "id", &groups), CADRE_EINVAL);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    cadre_arena_free(&a);
    cadre_db_close(db);
}

/* prefetch: a reverse relation in one more query, grouped per row, in C and in templates. */
static void test_prefetch(void **state)
{
    (void)state;
    cadre_arena a;
    cadre_arena_init(&a, 0);
    cadre_db *db = stock(&a);
    supplier extra = { .name = CADRE_LIT("empty ltd") }; /* a supplier of nothing */
    assert_int_equal(supplier_insert(db, &a, &extra), 0);
    cadre_query q;
    cadre_rows rows, products;
    supplier_query(&q, db, &a);
    cadre_q_prefetch(&q, CADRE_SCHEMA_OF(product), "supplier_id", &products);
    cadre_q_order_by(&q, "-name");
    assert_int_equal(cadre_q_fetch(&q, &rows), 0);
    assert_int_equal(rows.len, 3);
    assert_int_equal(products.len, 3); /* every product of these suppliers, in one query */
    const supplier *s = rows.items;
    assert_string_equal(s[0].name.ptr, "empty ltd");
    assert_int_equal(cadre_related_set(&rows, 0, "product").len, 0);
    cadre_rows of_bolt = cadre_related_set(&rows, 1, "product");
    assert_int_equal(of_bolt.len, 1);
    assert_string_equal(((const product *)of_bolt.items)[0].name.ptr, "drill");
    cadre_rows of_acme = cadre_related_set(&rows, 2, "product");
    assert_int_equal(of_acme.len, 2);
    assert_string_equal(((const product *)of_acme.items)[0].name.ptr, "hammer"); /* by key */
    assert_string_equal(((const product *)of_acme.items)[1].name.ptr, "saw");
    assert_int_equal(cadre_related_set(&rows, 2, "movement").len, 0); /* not prefetched */
    assert_int_equal(cadre_related_set(&rows, 9, "product").len, 0);

    cadre_templates *t;
    static const char text[] = "{% for s in rows %}{{ s.name }}:{% for p in s.product_set %} "
                               "{{ p.name }}{% empty %} none{% endfor %};{% endfor %}";
    static const cadre_template_source tpl[] = {
        { .name = "s.html", .text = text, .len = sizeof text - 1 }
    };
    assert_int_equal(cadre_templates_load_sources(tpl, 1, &t), 0);
    cadre_buf out;
    cadre_buf_init(&out, 4096);
    assert_int_equal(cadre_template_render(t, "s.html",
                                           &CADRE_CTX({ "rows", CADRE_TROWS(supplier, &rows) }),
                                           &out),
                     0);
    assert_int_equal(cadre_buf_append(&out, "", 1), 0);
    assert_string_equal(out.data, "empty ltd: none;bolt co: drill;acme: hammer saw;");
    cadre_buf_free(&out);
    cadre_templates_free(t);

    /* more rows than one query binds keys for: slices, still grouped right */
    enum { MANY = 1200 };
    supplier *many = cadre_arena_calloc(&a, MANY * sizeof *many);
    for (int i = 0; i < MANY; i++)
        many[i].name = cadre_slice_cstr(cadre_arena_printf(&a, "s%04d", i));
    assert_int_equal(supplier_insert_many(db, &a, many, MANY), 0);
    product late[2] = { { .name = CADRE_LIT("late a"), .price = 1, .supplier_id = many[MANY - 1].id },
                        { .name = CADRE_LIT("late b"), .price = 2, .supplier_id = many[MANY - 1].id } };
    assert_int_equal(product_insert_many(db, &a, late, 2), 0);
    supplier_query(&q, db, &a);
    cadre_q_prefetch(&q, CADRE_SCHEMA_OF(product), "supplier_id", &products);
    cadre_q_order_by(&q, "-id");
    assert_int_equal(cadre_q_fetch(&q, &rows), 0);
    assert_int_equal(rows.len, MANY + 3);
    assert_int_equal(products.len, 5);
    cadre_rows late_set = cadre_related_set(&rows, 0, "product"); /* the newest supplier */
    assert_int_equal(late_set.len, 2);
    assert_string_equal(((const product *)late_set.items)[1].name.ptr, "late b");
    assert_int_equal(cadre_related_set(&rows, MANY + 2, "product").len, 2); /* acme, the first */

    /* a prefetch that is not a foreign key to the model: refused when run */
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    supplier_query(&q, db, &a);
    cadre_q_prefetch(&q, CADRE_SCHEMA_OF(product), "name", &products);
    assert_int_equal(cadre_q_fetch(&q, &rows), CADRE_EINVAL);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    cadre_arena_free(&a);
    cadre_db_close(db);
}

/* The functions CADRE_MODEL declares, typed for the model; presence bits set by name; what a
 * constraint refused, per field, the same on both engines. */
static void test_typed_api(void **state)
{
    (void)state;
    cadre_db *db = fresh_tables(2);
    cadre_arena a;
    cadre_arena_init(&a, 0);
    supplier s = { .name = CADRE_LIT("acme") };
    assert_int_equal(supplier_insert(db, &a, &s), 0);
    assert_true(s.id > 0);

    product p = { .name = CADRE_LIT("drill"), .price = 120, .supplier_id = s.id };
    cadre_set(&p, product, in_stock); /* false, written: not the column's default (true) */
    cadre_set_null(&p, product, note);
    assert_true(cadre_has(&p, product, note) && cadre_is_null(&p, product, note));
    assert_false(cadre_has(&p, product, added));
    assert_int_equal(CADRE_FIELD_INDEX(product, note), 5);
    assert_int_equal(product_insert(db, &a, &p), 0);
    product got;
    bool found = false;
    assert_int_equal(product_get(db, &a, p.id, &got, &found), 0);
    assert_true(found);
    assert_false(got.in_stock);
    assert_true(cadre_is_null(&got, product, note));

    /* an optional field a handler fills is written once it is set, and left out until then */
    cadre_datetime when = { .sec = 1764000000 };
    got.added = when;
    assert_int_equal(product_update(db, &a, &got, NULL), 0);
    product again;
    assert_int_equal(product_get(db, &a, p.id, &again, &found), 0);
    assert_false(cadre_has(&again, product, added)); /* not set: not written */
    cadre_set(&got, product, added);
    assert_int_equal(product_update(db, &a, &got, NULL), 0);
    assert_int_equal(product_get(db, &a, p.id, &again, &found), 0);
    assert_true(cadre_has(&again, product, added));
    assert_int_equal(again.added.sec, 1764000000);

    /* patch: the present fields only */
    product change = { .id = p.id, .price = 99 };
    cadre_set(&change, product, price);
    int64_t changes = 0;
    assert_int_equal(product_patch(db, &a, &change, &changes), 0);
    assert_int_equal(changes, 1);
    assert_int_equal(product_get(db, &a, p.id, &again, &found), 0);
    assert_true(again.price == 99 && cadre_slice_eq_cstr(again.name, "drill"));
    cadre_unset(&change, product, price);
    assert_false(cadre_has(&change, product, price));

    cadre_query q;
    cadre_rows rows;
    product_query(&q, db, &a);
    cadre_q_filter(&q, "price__lt", CADRE_PDOUBLE(100));
    assert_int_equal(cadre_q_fetch(&q, &rows), 0);
    assert_int_equal(rows.len, 1);

    /* conflicts: a taken unique value and a foreign key naming no row, per field */
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    supplier dup = { .name = CADRE_LIT("acme") };
    assert_int_equal(supplier_insert(db, &a, &dup), CADRE_EEXIST);
    cadre_verrors errs;
    cadre_verrors_init(&errs, &a);
    assert_int_equal(supplier_conflicts(db, &a, &dup, -1, &errs), 1);
    assert_string_equal(errs.items[0].type, "unique");
    assert_string_equal(errs.items[0].msg, "Supplier with this name already exists.");
    assert_true(cadre_slice_eq_cstr(cadre_verror_field(&errs.items[0], "body"), "name"));
    assert_true(cadre_slice_eq_cstr(errs.items[0].input, "\"acme\"") && errs.items[0].input_is_json);
    /* the row itself holding the value is no conflict */
    cadre_verrors_init(&errs, &a);
    assert_int_equal(supplier_conflicts(db, &a, &s, s.id, &errs), 0);
    product orphan = { .name = CADRE_LIT("saw"), .price = 1, .supplier_id = 999 };
    assert_int_equal(product_insert(db, &a, &orphan), CADRE_ESTATE);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    assert_int_equal(product_conflicts(db, &a, &orphan, -1, &errs), 1);
    assert_string_equal(errs.items[0].type, "foreign_key");
    assert_string_equal(errs.items[0].msg, "No supplier with id 999");
    assert_string_equal(cadre_verror_path(&errs.items[0], &a), "body.supplier_id");

    assert_int_equal(product_delete(db, p.id, &changes), 0);
    assert_int_equal(changes, 1);
    assert_int_equal(product_get(db, &a, p.id, &again, &found), 0);
    assert_false(found);
    cadre_arena_free(&a);
    cadre_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sql_text),
        cmocka_unit_test(test_tables_behave),
        cmocka_unit_test(test_queries),
        cmocka_unit_test(test_rows_by_key),
        cmocka_unit_test(test_change_hooks),
        cmocka_unit_test(test_select_related),
        cmocka_unit_test(test_bulk_update),
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_typed_api),
        cmocka_unit_test(test_prefetch),
        cmocka_unit_test(test_aggregates),
    };
    return cmocka_run_group_tests(tests, engine_setup, engine_teardown);
}
