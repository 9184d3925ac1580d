/* Rows by primary key beyond one at a time: bulk insert (cadre_model_insert_many) and automatic
 * timestamps (CADRE_AUTO_NOW_ADD / CADRE_AUTO_NOW), on SQLite and (under tests/pg/with-postgres)
 * on PostgreSQL. */
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
#include <time.h>

#define BULK_ITEM_FIELDS(F)                                                                        \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, name, CADRE_MAX_LEN(200), CADRE_UNIQUE)                                              \
    F(int64, qty, CADRE_OPTIONAL, CADRE_DEFAULT(7))                                                \
    F(double, price, CADRE_GE(0))                                                                  \
    F(string, note, CADRE_OPTIONAL)
CADRE_MODEL(bulk_item, BULK_ITEM_FIELDS)

#define STAMPED_NOTE_FIELDS(F)                                                                     \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, title, CADRE_MAX_LEN(100))                                                           \
    F(datetime, created_at, CADRE_AUTO_NOW_ADD)                                                    \
    F(datetime, updated_at, CADRE_AUTO_NOW)
CADRE_MODEL(stamped_note, STAMPED_NOTE_FIELDS)

/* a timestamp that is not a datetime: refused when written */
#define BAD_STAMP_FIELDS(F)                                                                        \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(int64, changed, CADRE_AUTO_NOW)
CADRE_MODEL(bad_stamp, BAD_STAMP_FIELDS)

static cadre_db *db;

/* Opens the test database with a fresh table for each model given. */
static cadre_db *fresh(const cadre_schema *const *models, size_t n)
{
    cadre_db *d;
    assert_int_equal(cadre_db_open(url, &d), 0);
    cadre_buf b;
    cadre_buf_init(&b, 1 << 16);
    for (size_t i = 0; i < n; i++) {
        cadre_buf_reset(&b);
        assert_int_equal(cadre_buf_appendf(&b, "DROP TABLE IF EXISTS %s; ", models[i]->name), 0);
        assert_int_equal(cadre_model_create_sql(models[i], cadre_db_engine(d), &b), 0);
        assert_int_equal(cadre_buf_append(&b, "", 1), 0);
        assert_int_equal(cadre_db_exec_script(d, b.data), 0);
    }
    cadre_buf_free(&b);
    return d;
}

static int64_t count_rows(const cadre_schema *m, cadre_arena *a)
{
    cadre_query q;
    int64_t n = -1;
    cadre_q_init(&q, db, m, a);
    assert_int_equal(cadre_q_count(&q, &n), 0);
    return n;
}

/* The time as the timestamps hold it (microseconds, truncated). */
static cadre_datetime now_utc(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (cadre_datetime){ .sec = ts.tv_sec, .usec = (int32_t)(ts.tv_nsec / 1000) };
}

static int cmp_time(cadre_datetime a, cadre_datetime b)
{
    if (a.sec != b.sec)
        return a.sec < b.sec ? -1 : 1;
    return (a.usec > b.usec) - (a.usec < b.usec);
}

static void assert_within(cadre_datetime t, cadre_datetime from, cadre_datetime to)
{
    if (cmp_time(t, from) < 0 || cmp_time(t, to) > 0)
        fail_msg("%lld.%06d not within [%lld.%06d, %lld.%06d]", (long long)t.sec, (int)t.usec,
                 (long long)from.sec, (int)from.usec, (long long)to.sec, (int)to.usec);
}

static void assert_same_time(cadre_datetime a, cadre_datetime b)
{
    if (cmp_time(a, b) != 0)
        fail_msg("%lld.%06d != %lld.%06d", (long long)a.sec, (int)a.usec, (long long)b.sec,
                 (int)b.usec);
}

static bulk_item item(cadre_arena *a, size_t i)
{
    bulk_item it = { 0 };
    it.name = cadre_slice_cstr(cadre_arena_printf(a, "item-%zu", i));
    it.price = (double)i / 4;
    it.cadre_set_ = (uint64_t)1 << 1 | (uint64_t)1 << 3; /* name, price */
    if (i % 2 == 0) {
        /* even rows say qty and note; odd rows leave them to the columns' defaults */
        it.qty = (int64_t)i;
        it.note = cadre_slice_cstr(cadre_arena_printf(a, "n%zu", i));
        it.cadre_set_ |= (uint64_t)1 << 2 | (uint64_t)1 << 4;
    }
    return it;
}

static int by_id(const void *a, const void *b)
{
    int64_t x = ((const bulk_item *)a)->id, y = ((const bulk_item *)b)->id;
    return (x > y) - (x < y);
}

/* Every struct of items has a distinct key, and the table holds exactly those rows. */
static void assert_table_is(cadre_arena *a, bulk_item *items, size_t n)
{
    bulk_item *sorted = cadre_arena_alloc(a, (n ? n : 1) * sizeof *sorted);
    memcpy(sorted, items, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, by_id);
    cadre_query q;
    cadre_rows rows;
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(bulk_item), a);
    cadre_q_order_by(&q, "id");
    assert_int_equal(cadre_q_fetch(&q, &rows), 0);
    assert_int_equal(rows.len, n);
    const bulk_item *got = rows.items;
    for (size_t i = 0; i < n; i++) {
        const bulk_item *want = &sorted[i];
        assert_true(want->id > 0);
        assert_true(want->cadre_set_ & 1); /* the key is marked present */
        if (i)
            assert_true(want->id != sorted[i - 1].id);
        assert_int_equal(got[i].id, want->id);
        assert_string_equal(got[i].name.ptr, want->name.ptr);
        assert_true(got[i].price == want->price);
        if (want->cadre_set_ & (uint64_t)1 << 2) {
            assert_int_equal(got[i].qty, want->qty);
            assert_string_equal(got[i].note.ptr, want->note.ptr);
        } else {
            assert_int_equal(got[i].qty, 7); /* the column's default */
            assert_false(got[i].cadre_set_ & (uint64_t)1 << 4); /* NULL: no value */
        }
    }
}

static void test_insert_many(void **state)
{
    (void)state;
    const cadre_schema *models[] = { CADRE_SCHEMA_OF(bulk_item) };
    db = fresh(models, 1);
    cadre_arena a;
    cadre_arena_init(&a, 0);

    /* none: nothing happens */
    assert_int_equal(cadre_model_insert_many(db, &a, CADRE_SCHEMA_OF(bulk_item), NULL, 0), 0);
    assert_int_equal(count_rows(CADRE_SCHEMA_OF(bulk_item), &a), 0);

    /* one */
    enum { N = 1300 }; /* more than a multi-row INSERT's 256 rows, an odd remainder */
    bulk_item *items = cadre_arena_calloc(&a, (N + 1) * sizeof *items);
    items[0] = item(&a, 0);
    assert_int_equal(cadre_model_insert_many(db, &a, CADRE_SCHEMA_OF(bulk_item), items, 1), 0);
    assert_table_is(&a, items, 1);
    bulk_item one;
    bool found;
    assert_int_equal(cadre_model_get(db, &a, CADRE_SCHEMA_OF(bulk_item), items[0].id, &one, &found),
                     0);
    assert_true(found);
    assert_string_equal(one.name.ptr, "item-0");

    /* many, two shapes interleaved (optional fields present in every other row) */
    for (size_t i = 1; i <= N; i++)
        items[i] = item(&a, i);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(cadre_model_insert_many(db, &a, CADRE_SCHEMA_OF(bulk_item), items + 1, N), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    print_message("insert_many on %s: %d rows in %.1f ms\n", cadre_db_engine(db), N,
                  (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    assert_table_is(&a, items, N + 1);

    /* and cadre_model_insert goes on from there */
    bulk_item next = item(&a, N + 1);
    assert_int_equal(cadre_model_insert(db, &a, CADRE_SCHEMA_OF(bulk_item), &next), 0);
    for (size_t i = 0; i <= N; i++)
        assert_true(items[i].id != next.id);
    assert_int_equal(count_rows(CADRE_SCHEMA_OF(bulk_item), &a), N + 2);

    cadre_arena_free(&a);
    cadre_db_close(db);
}

/* A UNIQUE violation anywhere in the batch: nothing of it stays, the structs are untouched. */
static void test_insert_many_all_or_nothing(void **state)
{
    (void)state;
    const cadre_schema *models[] = { CADRE_SCHEMA_OF(bulk_item) };
    db = fresh(models, 1);
    cadre_arena a;
    cadre_arena_init(&a, 0);
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    bulk_item first = item(&a, 5000);
    assert_int_equal(cadre_model_insert(db, &a, CADRE_SCHEMA_OF(bulk_item), &first), 0);

    enum { N = 600 };
    /* the duplicate: of a row already there (in the second multi-row INSERT on PostgreSQL), of a
     * row earlier in the same call, of a row later in the same call */
    const size_t dup_at[] = { 300, 599, 0 };
    const size_t dup_of[] = { 5000, 10, 1 };
    for (size_t k = 0; k < 3; k++) {
        bulk_item *items = cadre_arena_calloc(&a, N * sizeof *items);
        for (size_t i = 0; i < N; i++)
            items[i] = item(&a, i);
        items[dup_at[k]].name = cadre_slice_cstr(cadre_arena_printf(&a, "item-%zu", dup_of[k]));
        bulk_item before = items[N / 2];
        assert_int_equal(cadre_model_insert_many(db, &a, CADRE_SCHEMA_OF(bulk_item), items, N),
                         CADRE_EEXIST);
        /* the message is the violation's, not the rollback's that followed */
        const char *msg = cadre_db_errmsg(db);
        if (!strstr(msg, "UNIQUE") && !strstr(msg, "unique") && !strstr(msg, "duplicate"))
            fail_msg("errmsg after a failed insert_many: %s", msg);
        assert_int_equal(count_rows(CADRE_SCHEMA_OF(bulk_item), &a), 1);
        assert_int_equal(items[N / 2].id, 0);
        assert_memory_equal(&items[N / 2], &before, sizeof before);
    }

    /* a failed batch leaves the database usable: the same rows without the duplicate go in */
    bulk_item *items = cadre_arena_calloc(&a, N * sizeof *items);
    for (size_t i = 0; i < N; i++)
        items[i] = item(&a, i);
    assert_int_equal(cadre_model_insert_many(db, &a, CADRE_SCHEMA_OF(bulk_item), items, N), 0);
    bulk_item *all = cadre_arena_alloc(&a, (N + 1) * sizeof *all);
    memcpy(all, items, N * sizeof *all);
    all[N] = first;
    assert_table_is(&a, all, N + 1);

    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    cadre_arena_free(&a);
    cadre_db_close(db);
}

/* Keys decided before the rows go in must be the keys the database would have given: checked on
 * tables whose keys are not the plain model's. */
static void test_insert_many_keys(void **state)
{
    (void)state;
    cadre_arena a;
    cadre_arena_init(&a, 0);
    const cadre_schema *m = CADRE_SCHEMA_OF(bulk_item);
    assert_int_equal(cadre_db_open(url, &db), 0);
    bulk_item items[6];
    for (size_t i = 0; i < 6; i++)
        items[i] = item(&a, i);
    if (!pg) {
        /* AUTOINCREMENT: a key deleted from the top is not given again */
        assert_int_equal(cadre_db_exec_script(db, "DROP TABLE IF EXISTS bulk_item; CREATE TABLE "
                                                  "bulk_item (id INTEGER PRIMARY KEY "
                                                  "AUTOINCREMENT, name TEXT NOT NULL UNIQUE, "
                                                  "qty INTEGER DEFAULT 7, price REAL NOT NULL, "
                                                  "note TEXT)"),
                         0);
        assert_int_equal(cadre_model_insert_many(db, &a, m, items, 4), 0);
        int64_t top = 0;
        for (size_t i = 0; i < 4; i++)
            top = items[i].id > top ? items[i].id : top;
        assert_int_equal(top, 4);
        assert_int_equal(cadre_model_delete(db, m, 4, NULL), 0);
        assert_int_equal(cadre_model_delete(db, m, 3, NULL), 0);
        assert_int_equal(cadre_model_insert_many(db, &a, m, items + 4, 2), 0);
        assert_int_equal(items[4].id + items[5].id, 5 + 6);
        assert_int_equal(items[4].id * items[5].id, 5 * 6);
        bulk_item single = item(&a, 6);
        assert_int_equal(cadre_model_insert(db, &a, m, &single), 0);
        assert_int_equal(single.id, 7);
        cadre_model_delete(db, m, 1, NULL); /* keep 2, 5, 6, 7 */
        items[0] = items[1], items[1] = items[4], items[2] = items[5], items[3] = single;
        assert_table_is(&a, items, 4);

        /* keys at the top of int64 in a table without AUTOINCREMENT (one not made from a model):
         * SQLite picks them at random then, so they are its to pick */
        assert_int_equal(cadre_db_exec_script(db, "DROP TABLE IF EXISTS bulk_item; CREATE TABLE "
                                                  "bulk_item (id INTEGER PRIMARY KEY, "
                                                  "name TEXT NOT NULL UNIQUE, "
                                                  "qty INTEGER DEFAULT 7, price REAL NOT NULL, "
                                                  "note TEXT)"),
                         0);
        assert_int_equal(cadre_db_exec_script(db, "INSERT INTO bulk_item (id, name, price) VALUES "
                                                  "(9223372036854775806, 'top', 1)"),
                         0);
        for (size_t i = 0; i < 5; i++)
            items[i] = item(&a, i);
        assert_int_equal(cadre_model_insert_many(db, &a, m, items, 5), 0);
        /* the row that was there: qty from the column's default, no note */
        items[5] = (bulk_item){ .id = INT64_MAX - 1, .name = CADRE_LIT("top"), .price = 1,
                                .cadre_set_ = 1 | 2 | 8 };
        assert_table_is(&a, items, 6);
    } else {
        /* an identity column that takes no key from an INSERT unless told to */
        assert_int_equal(cadre_db_exec_script(db, "DROP TABLE IF EXISTS bulk_item; CREATE TABLE "
                                                  "bulk_item (id BIGINT GENERATED ALWAYS AS "
                                                  "IDENTITY PRIMARY KEY, name TEXT NOT NULL "
                                                  "UNIQUE, qty BIGINT DEFAULT 7, price DOUBLE "
                                                  "PRECISION NOT NULL, note TEXT)"),
                         0);
        assert_int_equal(cadre_model_insert_many(db, &a, m, items, 3), 0);
        bulk_item single = item(&a, 3);
        assert_int_equal(cadre_model_insert(db, &a, m, &single), 0);
        items[3] = single;
        assert_table_is(&a, items, 4);
        assert_int_equal(single.id, 4);

        /* a default from a sequence the column does not own: one by one, RETURNING the keys */
        assert_int_equal(cadre_db_exec_script(db, "DROP TABLE bulk_item; DROP SEQUENCE IF "
                                                  "EXISTS bulk_keys; CREATE SEQUENCE bulk_keys "
                                                  "START 100 INCREMENT 10; CREATE TABLE bulk_item "
                                                  "(id BIGINT PRIMARY KEY DEFAULT "
                                                  "nextval('bulk_keys'), name TEXT NOT NULL "
                                                  "UNIQUE, qty BIGINT DEFAULT 7, price DOUBLE "
                                                  "PRECISION NOT NULL, note TEXT)"),
                         0);
        for (size_t i = 0; i < 6; i++)
            items[i] = item(&a, i);
        assert_int_equal(cadre_model_insert_many(db, &a, m, items, 6), 0);
        for (size_t i = 0; i < 6; i++)
            assert_int_equal(items[i].id, 100 + 10 * (int64_t)i);
        assert_table_is(&a, items, 6);
        cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
        items[0] = item(&a, 6), items[1] = item(&a, 2); /* a duplicate: none of the two stays */
        assert_int_equal(cadre_model_insert_many(db, &a, m, items, 2), CADRE_EEXIST);
        cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
        assert_int_equal(count_rows(m, &a), 6);
        assert_int_equal(cadre_db_exec_script(db, "DROP TABLE bulk_item; DROP SEQUENCE bulk_keys"),
                         0);
    }
    cadre_arena_free(&a);
    cadre_db_close(db);
}

static void test_timestamps(void **state)
{
    (void)state;
    const cadre_schema *models[] = { CADRE_SCHEMA_OF(stamped_note), CADRE_SCHEMA_OF(bad_stamp) };
    db = fresh(models, 2);
    const cadre_schema *m = CADRE_SCHEMA_OF(stamped_note);
    cadre_arena a;
    cadre_arena_init(&a, 0);

    /* insert: both set to the time of the call, whatever the struct held */
    stamped_note n = { .title = CADRE_LIT("first"), .cadre_set_ = 1u << 1 | 1u << 2 };
    n.created_at = (cadre_datetime){ .sec = 946684800 }; /* 2000-01-01: not written */
    cadre_datetime t0 = now_utc();
    assert_int_equal(cadre_model_insert(db, &a, m, &n), 0);
    cadre_datetime t1 = now_utc();
    assert_within(n.created_at, t0, t1);
    assert_same_time(n.updated_at, n.created_at);
    assert_true(n.cadre_set_ & 1u << 2 && n.cadre_set_ & 1u << 3);
    stamped_note got;
    bool found;
    assert_int_equal(cadre_model_get(db, &a, m, n.id, &got, &found), 0);
    assert_true(found);
    assert_same_time(got.created_at, n.created_at);
    assert_same_time(got.updated_at, n.updated_at);
    const cadre_datetime inserted = n.created_at;

    /* full update: created_at stays (even though the struct says otherwise), updated_at moves */
    stamped_note upd = { .id = n.id, .title = CADRE_LIT("second"), .cadre_set_ = 1u << 1 };
    upd.created_at = (cadre_datetime){ .sec = 946684800 };
    upd.updated_at = (cadre_datetime){ .sec = 946684800 };
    int64_t changes = -1;
    cadre_datetime t2 = now_utc();
    assert_int_equal(cadre_model_update(db, &a, m, &upd, false, &changes), 0);
    cadre_datetime t3 = now_utc();
    assert_int_equal(changes, 1);
    assert_int_equal(cadre_model_get(db, &a, m, n.id, &got, &found), 0);
    assert_string_equal(got.title.ptr, "second");
    assert_same_time(got.created_at, inserted);
    assert_within(got.updated_at, t2, t3);
    assert_true(cmp_time(got.updated_at, inserted) >= 0);

    /* partial update: only the title is present, updated_at moves all the same */
    stamped_note patch = { .id = n.id, .title = CADRE_LIT("third"), .cadre_set_ = 1u << 1 };
    cadre_datetime t4 = now_utc();
    assert_int_equal(cadre_model_update(db, &a, m, &patch, true, &changes), 0);
    cadre_datetime t5 = now_utc();
    assert_int_equal(changes, 1);
    assert_int_equal(cadre_model_get(db, &a, m, n.id, &got, &found), 0);
    assert_string_equal(got.title.ptr, "third");
    assert_same_time(got.created_at, inserted);
    assert_within(got.updated_at, t4, t5);
    /* an empty partial update is still an update: it touches updated_at, and tells a missing row */
    stamped_note empty = { .id = n.id };
    cadre_datetime t6 = now_utc();
    assert_int_equal(cadre_model_update(db, &a, m, &empty, true, &changes), 0);
    cadre_datetime t7 = now_utc();
    assert_int_equal(changes, 1);
    assert_int_equal(cadre_model_get(db, &a, m, n.id, &got, &found), 0);
    assert_string_equal(got.title.ptr, "third");
    assert_within(got.updated_at, t6, t7);
    empty.id = 999;
    assert_int_equal(cadre_model_update(db, &a, m, &empty, true, &changes), 0);
    assert_int_equal(changes, 0);

    /* insert_many: one time for the whole batch, in each struct and in each row */
    stamped_note many[3] = { { .title = CADRE_LIT("a"), .cadre_set_ = 1u << 1 },
                             { .title = CADRE_LIT("b"), .cadre_set_ = 1u << 1 },
                             { .title = CADRE_LIT("c"), .cadre_set_ = 1u << 1 } };
    cadre_datetime t8 = now_utc();
    assert_int_equal(cadre_model_insert_many(db, &a, m, many, 3), 0);
    cadre_datetime t9 = now_utc();
    for (int i = 0; i < 3; i++) {
        assert_within(many[i].created_at, t8, t9);
        assert_same_time(many[i].created_at, many[0].created_at);
        assert_same_time(many[i].updated_at, many[i].created_at);
        assert_int_equal(cadre_model_get(db, &a, m, many[i].id, &got, &found), 0);
        assert_true(found);
        assert_string_equal(got.title.ptr, many[i].title.ptr);
        assert_same_time(got.created_at, many[i].created_at);
        assert_same_time(got.updated_at, many[i].created_at);
    }

    /* a timestamp that is not a datetime: every write refuses the model */
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    bad_stamp b = { 0 };
    assert_int_equal(cadre_model_insert(db, &a, CADRE_SCHEMA_OF(bad_stamp), &b), CADRE_EINVAL);
    assert_int_equal(cadre_model_insert_many(db, &a, CADRE_SCHEMA_OF(bad_stamp), &b, 1),
                     CADRE_EINVAL);
    assert_int_equal(cadre_model_update(db, &a, CADRE_SCHEMA_OF(bad_stamp), &b, false, NULL),
                     CADRE_EINVAL);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    assert_int_equal(count_rows(CADRE_SCHEMA_OF(bad_stamp), &a), 0);

    cadre_arena_free(&a);
    cadre_db_close(db);
}

/* ---------------------------------------------------------------------------------------------
 * Through the automatic CRUD API: timestamps are read-only input, and insert_many in a request
 * ------------------------------------------------------------------------------------------- */

static cadre_app *app;

static char *request(const char *method, const char *target, const char *body, int status)
{
    cadre_test_response res;
    assert_int_equal(cadre_test_request(app, method, target,
                                        body ? "Content-Type: application/json\r\n" : NULL, body,
                                        body ? strlen(body) : 0, &res),
                     0);
    if (res.status != status)
        fail_msg("%s %s: %d %s, want %d", method, target, res.status, res.body, status);
    char *copy = strdup(res.body);
    cadre_test_response_free(&res);
    return copy;
}

static stamped_note row(int64_t id, cadre_arena *a)
{
    stamped_note got;
    bool found;
    assert_int_equal(cadre_model_get(db, a, CADRE_SCHEMA_OF(stamped_note), id, &got, &found), 0);
    assert_true(found);
    return got;
}

/* POST /bulk: three notes in one cadre_model_insert_many, inside a request. */
static int bulk(cadre_request *r)
{
    stamped_note notes[3] = { { .title = CADRE_LIT("x"), .cadre_set_ = 1u << 1 },
                              { .title = CADRE_LIT("y"), .cadre_set_ = 1u << 1 },
                              { .title = CADRE_LIT("z"), .cadre_set_ = 1u << 1 } };
    int rc = cadre_model_insert_many(db, r->arena, CADRE_SCHEMA_OF(stamped_note), notes, 3);
    if (rc)
        return rc;
    char *body = cadre_arena_printf(r->arena, "%lld %lld %lld", (long long)notes[0].id,
                                    (long long)notes[1].id, (long long)notes[2].id);
    return cadre_respond(r, 201, "text/plain", body, strlen(body));
}

static void test_timestamps_read_only_in_input(void **state)
{
    (void)state;
    const cadre_schema *models[] = { CADRE_SCHEMA_OF(stamped_note) };
    db = fresh(models, 1);
    cadre_arena a;
    cadre_arena_init(&a, 0);
    app = cadre_app_new("notes");
    assert_int_equal(cadre_crud(app, "/api/notes", CADRE_SCHEMA_OF(stamped_note), db), 0);
    assert_int_equal(cadre_post(app, "/bulk", bulk), 0);
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);

    /* not required; the answer carries them */
    cadre_datetime t0 = now_utc();
    char *body = request("POST", "/api/notes", "{\"title\":\"a\"}", 201);
    cadre_datetime t1 = now_utc();
    assert_non_null(strstr(body, "\"created_at\":\""));
    assert_non_null(strstr(body, "\"updated_at\":\""));
    free(body);
    stamped_note one = row(1, &a);
    assert_within(one.created_at, t0, t1);
    assert_same_time(one.updated_at, one.created_at);

    /* a value sent is validated like the key's, then ignored */
    t0 = now_utc();
    free(request("POST", "/api/notes",
                 "{\"title\":\"b\",\"created_at\":\"2000-01-01T00:00:00Z\",\"updated_at\":"
                 "\"2000-01-01T00:00:00Z\",\"id\":77}",
                 201));
    t1 = now_utc();
    stamped_note two = row(2, &a);
    assert_within(two.created_at, t0, t1);
    assert_within(two.updated_at, t0, t1);
    free(request("POST", "/api/notes", "{\"title\":\"c\",\"created_at\":\"yesterday\"}", 422));

    /* PUT: not required either; created_at stays, updated_at moves */
    t0 = now_utc();
    free(request("PUT", "/api/notes/1",
                 "{\"title\":\"a2\",\"created_at\":\"2000-01-01T00:00:00Z\"}", 200));
    t1 = now_utc();
    stamped_note after = row(1, &a);
    assert_string_equal(after.title.ptr, "a2");
    assert_same_time(after.created_at, one.created_at);
    assert_within(after.updated_at, t0, t1);

    /* PATCH of a timestamp alone: the value sent is ignored, the update still happens */
    t0 = now_utc();
    free(request("PATCH", "/api/notes/1", "{\"updated_at\":\"2000-01-01T00:00:00Z\"}", 200));
    t1 = now_utc();
    after = row(1, &a);
    assert_string_equal(after.title.ptr, "a2");
    assert_same_time(after.created_at, one.created_at);
    assert_within(after.updated_at, t0, t1);
    free(request("PATCH", "/api/notes/99", "{\"title\":\"x\"}", 404));

    /* insert_many inside a request */
    body = request("POST", "/bulk", NULL, 201);
    long long ids[3];
    assert_int_equal(sscanf(body, "%lld %lld %lld", &ids[0], &ids[1], &ids[2]), 3);
    free(body);
    const char *titles[] = { "x", "y", "z" };
    for (int i = 0; i < 3; i++)
        assert_string_equal(row(ids[i], &a).title.ptr, titles[i]);

    /* OpenAPI: read-only like the key, and not in "required" */
    cadre_buf doc;
    cadre_buf_init(&doc, 1 << 20);
    assert_int_equal(cadre_app_openapi(app, &doc), 0);
    assert_int_equal(cadre_buf_append(&doc, "", 1), 0);
    assert_non_null(strstr(doc.data, "\"id\":{\"type\":\"integer\",\"format\":\"int64\",\"title\":"
                                     "\"Id\",\"readOnly\":true}"));
    assert_non_null(strstr(doc.data, "\"created_at\":{\"type\":\"string\",\"format\":\"date-time\","
                                     "\"title\":\"Created At\",\"readOnly\":true}"));
    assert_non_null(strstr(doc.data, "\"updated_at\":{\"type\":\"string\",\"format\":\"date-time\","
                                     "\"title\":\"Updated At\",\"readOnly\":true}"));
    assert_non_null(strstr(doc.data, "\"required\":[\"title\"]"));
    cadre_buf_free(&doc);

    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    cadre_app_free(app);
    cadre_arena_free(&a);
    cadre_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_insert_many),
        cmocka_unit_test(test_insert_many_all_or_nothing),
        cmocka_unit_test(test_insert_many_keys),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_timestamps_read_only_in_input),
    };
    return cmocka_run_group_tests(tests, engine_setup, engine_teardown);
}
