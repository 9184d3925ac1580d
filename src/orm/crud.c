/*
 * Rows by primary key: insert, get, update, delete, with the SQL written from the model's
 * descriptor and every value bound. The same calls run on SQLite and PostgreSQL (both understand
 * INSERT … RETURNING).
 */
#include "orm_internal.h"

#include <cadre/schema.h>

#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

static bool is_set(const cadre_schema *m, const void *obj, size_t i)
{
    return (*(const uint64_t *)((const char *)obj + m->set_offset) >> i) & 1;
}

cadre_value cadre__model_value(const cadre_schema *m, const cadre_field *f, const void *obj,
                            cadre_arena *arena)
{
    size_t i = (size_t)(f - m->fields);
    const void *p = (const char *)obj + f->offset;
    if (f->optional && !is_set(m, obj, i)) /* absent: NULL, not the struct's zero bytes */
        return CADRE_PNULL;
    if (f->nullable && ((*(const uint64_t *)((const char *)obj + m->null_offset) >> i) & 1))
        return CADRE_PNULL;
    switch (f->type) {
    case CADRE_T_BOOL: return CADRE_PINT(*(const bool *)p);
    case CADRE_T_INT32: return CADRE_PINT(*(const int32_t *)p);
    case CADRE_T_INT64: return CADRE_PINT(*(const int64_t *)p);
    case CADRE_T_DOUBLE: return CADRE_PDOUBLE(*(const double *)p);
    case CADRE_T_STRING: {
        const cadre_slice *s = p;
        return CADRE_PSLICE(s->ptr ? *s : CADRE_LIT(""));
    }
    case CADRE_T_ENUM: {
        const cadre_enum *en = f->en();
        int v = *(const int *)p;
        return v >= 0 && (size_t)v < en->count ? CADRE_PTEXT(en->values[v]) : CADRE_PNULL;
    }
    case CADRE_T_DATE: {
        char *buf = cadre_arena_alloc(arena, CADRE_DATE_TEXT);
        return CADRE_PSLICE(((cadre_slice){ buf, cadre_date_format(p, buf) }));
    }
    case CADRE_T_DATETIME: { /* UTC, six fractional digits: text order is time order */
        char *buf = cadre_arena_alloc(arena, CADRE_DATETIME_TEXT);
        return CADRE_PSLICE(((cadre_slice){ buf, cadre_datetime_format_utc(p, buf) }));
    }
    case CADRE_T_UUID: {
        char *buf = cadre_arena_alloc(arena, CADRE_UUID_TEXT);
        return CADRE_PSLICE(((cadre_slice){ buf, cadre_uuid_format(p, buf) }));
    }
    default:
        return CADRE_PNULL;
    }
}

static const cadre_field *int_pk(const cadre_schema *m)
{
    const cadre_field *pk = cadre_model_pk(m);
    if (!pk || pk->type != CADRE_T_INT64) {
        cadre_log(CADRE_LOG_ERROR, "model %s: needs an int64 CADRE_PRIMARY_KEY", m->name);
        return NULL;
    }
    return pk;
}

/* The key, for the calls that write rows: also checks that automatic timestamps are datetimes. */
static const cadre_field *writable(const cadre_schema *m)
{
    const cadre_field *pk = int_pk(m);
    for (size_t i = 0; pk && i < m->nfields; i++) {
        const cadre_field *f = &m->fields[i];
        if ((f->auto_now_add || f->auto_now) && f->type != CADRE_T_DATETIME) {
            cadre_log(CADRE_LOG_ERROR, "model %s: %s is CADRE_AUTO_NOW%s but not a datetime",
                      m->name, f->name, f->auto_now ? "" : "_ADD");
            return NULL;
        }
    }
    return pk;
}

/* The current UTC time, and its bound form (the stored form: cadre_datetime_format_utc). */
struct now {
    cadre_datetime t;
    cadre_value v;
    char text[CADRE_DATETIME_TEXT];
};

static void now_init(struct now *n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    n->t = (cadre_datetime){ .sec = ts.tv_sec, .usec = (int32_t)(ts.tv_nsec / 1000) };
    n->v = CADRE_PSLICE(((cadre_slice){ n->text, cadre_datetime_format_utc(&n->t, n->text) }));
}

/* Stores the time into obj's automatic timestamps: both kinds on insert, AUTO_NOW on update. */
static void stamp(const cadre_schema *m, void *obj, const struct now *now, bool insert)
{
    for (size_t i = 0; i < m->nfields; i++) {
        const cadre_field *f = &m->fields[i];
        if (!(f->auto_now || (insert && f->auto_now_add)))
            continue;
        *(cadre_datetime *)((char *)obj + f->offset) = now->t;
        *(uint64_t *)((char *)obj + m->set_offset) |= (uint64_t)1 << i;
        *(uint64_t *)((char *)obj + m->null_offset) &= ~((uint64_t)1 << i);
    }
}

/* The value a write stores into column f: the time for an automatic timestamp, else obj's. */
static cadre_value column_value(const cadre_schema *m, const cadre_field *f, const void *obj,
                                const struct now *now, cadre_arena *arena)
{
    return f->auto_now_add || f->auto_now ? now->v : cadre__model_value(m, f, obj, arena);
}

/* The fields an insert of obj writes (bit i: field i): every column but the key, except optional
 * fields that are absent (the column's default then); automatic timestamps always. */
static uint64_t insert_mask(const cadre_schema *m, const cadre_field *pk, const void *obj)
{
    uint64_t mask = 0;
    for (size_t i = 0; i < m->nfields; i++) {
        const cadre_field *f = &m->fields[i];
        if (f == pk || !cadre_model_field_is_column(f))
            continue;
        if (f->optional && !is_set(m, obj, i) && !f->auto_now_add && !f->auto_now)
            continue;
        mask |= (uint64_t)1 << i;
    }
    return mask;
}

/* Appends the values of obj's fields in mask to vals (in field order); returns how many. */
static size_t row_values(const cadre_schema *m, uint64_t mask, const void *obj,
                         const struct now *now, cadre_arena *arena, cadre_value *vals)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nfields; i++)
        if ((mask >> i) & 1)
            vals[n++] = column_value(m, &m->fields[i], obj, now, arena);
    return n;
}

static size_t popcount(uint64_t x)
{
    size_t n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

/*
 * The INSERT of rows rows whose columns are mask's. Without key: one row, the key assigned by the
 * database and returned (INSERT … RETURNING). With key: the key is the first value of each row
 * (keys allocated beforehand; on PostgreSQL OVERRIDING SYSTEM VALUE also lets an identity column
 * GENERATED ALWAYS take them). NULL when the text does not fit.
 */
static char *insert_sql(const cadre_schema *m, const cadre_field *pk, uint64_t mask, size_t rows,
                        bool with_key, bool pg, cadre_arena *arena)
{
    cadre_buf b;
    cadre_buf_init_arena(&b, arena, (size_t)1 << 24);
    size_t ncols = popcount(mask) + with_key;
    int rc = cadre_buf_appendf(&b, "INSERT INTO %s ", m->name);
    if (ncols == 0) {
        rc |= cadre_buf_append_str(&b, "DEFAULT VALUES");
    } else {
        rc |= cadre_buf_append_str(&b, "(");
        if (with_key)
            rc |= cadre_buf_append_str(&b, pk->name);
        for (size_t i = 0, k = with_key; i < m->nfields; i++)
            if ((mask >> i) & 1)
                rc |= cadre_buf_appendf(&b, "%s%s", k++ ? ", " : "", m->fields[i].name);
        rc |= cadre_buf_append_str(&b, with_key && pg ? ") OVERRIDING SYSTEM VALUE VALUES "
                                                      : ") VALUES ");
        for (size_t r = 0; r < rows; r++) {
            rc |= cadre_buf_append_str(&b, r ? ", (?" : "(?");
            for (size_t k = 1; k < ncols; k++)
                rc |= cadre_buf_append(&b, ", ?", 3);
            rc |= cadre_buf_append(&b, ")", 1);
        }
    }
    if (!with_key)
        rc |= cadre_buf_appendf(&b, " RETURNING %s", pk->name);
    rc |= cadre_buf_append(&b, "", 1);
    return rc ? NULL : b.data;
}

/* The single-row INSERTs built so far, by shape (rows of one shape share theirs). */
#define SHAPES 8
struct shapes {
    uint64_t mask[SHAPES];
    char *sql[SHAPES];
    size_t n, next; /* entries used; the one to replace when all are */
};

/* An INSERT … RETURNING key of one row, on db or inside tx, its values in arena; the statement
 * is built in keep, once per shape. */
static int insert_row(cadre_db *db, cadre_tx *tx, cadre_arena *keep, cadre_arena *arena,
                      const cadre_schema *m, const cadre_field *pk, const void *obj,
                      const struct now *now, struct shapes *shapes, int64_t *id)
{
    uint64_t mask = insert_mask(m, pk, obj);
    char *sql = NULL;
    for (size_t i = 0; i < shapes->n && !sql; i++)
        if (shapes->mask[i] == mask)
            sql = shapes->sql[i];
    if (!sql) {
        if (!(sql = insert_sql(m, pk, mask, 1, false, false, keep)))
            return CADRE_ENOMEM;
        size_t at = shapes->n < SHAPES ? shapes->n++ : shapes->next++ % SHAPES;
        shapes->mask[at] = mask;
        shapes->sql[at] = sql;
    }
    cadre_value *vals = cadre_arena_alloc(arena, (m->nfields ? m->nfields : 1) * sizeof *vals);
    size_t n = row_values(m, mask, obj, now, arena, vals);
    return tx ? cadre_tx_exec(tx, sql, vals, n, NULL, id)
              : cadre_db_exec(db, sql, vals, n, NULL, id);
}

static void set_key(const cadre_schema *m, const cadre_field *pk, void *obj, int64_t id)
{
    *(int64_t *)((char *)obj + pk->offset) = id;
    *(uint64_t *)((char *)obj + m->set_offset) |= (uint64_t)1 << (pk - m->fields);
}

/* ---------------------------------------------------------------------------------------------
 * Change hooks: added at set-up (one thread), read while serving (any)
 * ------------------------------------------------------------------------------------------- */

#define MAX_HOOKS 64

static struct hook {
    const cadre_schema *model;
    cadre_model_change_fn fn;
    void *ctx;
} hooks[MAX_HOOKS];
static atomic_size_t num_hooks;

int cadre_model_on_change(const cadre_schema *model, cadre_model_change_fn fn, void *ctx)
{
    if (!model || !fn)
        return CADRE_EINVAL;
    size_t n = atomic_load(&num_hooks);
    if (n == MAX_HOOKS)
        return CADRE_ETOOBIG;
    hooks[n] = (struct hook){ model, fn, ctx };
    atomic_store(&num_hooks, n + 1);
    return 0;
}

static bool has_hooks(const cadre_schema *m)
{
    size_t n = atomic_load_explicit(&num_hooks, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (hooks[i].model == m)
            return true;
    return false;
}

static void changed(const cadre_schema *m, int op, int64_t id, const void *row, cadre_arena *a)
{
    size_t n = atomic_load_explicit(&num_hooks, memory_order_acquire);
    cadre_model_change c = { .model = m, .op = op, .id = id, .row = row, .arena = a };
    for (size_t i = 0; i < n; i++)
        if (hooks[i].model == m)
            hooks[i].fn(&c, hooks[i].ctx);
}

int cadre_model_insert(cadre_db *db, cadre_arena *arena, const cadre_schema *m, void *obj)
{
    const cadre_field *pk = writable(m);
    if (!pk)
        return CADRE_EINVAL;
    struct now now;
    now_init(&now);
    struct shapes shapes = { .n = 0 };
    int64_t id = 0;
    int rc = insert_row(db, NULL, arena, arena, m, pk, obj, &now, &shapes, &id);
    if (rc == 0) {
        set_key(m, pk, obj, id);
        stamp(m, obj, &now, true);
        changed(m, CADRE_MODEL_INSERTED, id, obj, arena);
    }
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Bulk insert
 *
 * RETURNING does not say which returned key belongs to which row of a multi-row INSERT (SQLite
 * documents the order as arbitrary; PostgreSQL promises none). So the keys are decided first and
 * sent with the rows, in multi-row INSERTs: on PostgreSQL taken from the key column's sequence
 * (one query for all of them); on SQLite, whose transaction holds the write lock from BEGIN
 * IMMEDIATE on, the keys SQLite itself would give the rows one by one: one more than the largest
 * in the table, or than the largest ever given for an AUTOINCREMENT table (sqlite_sequence, which
 * an explicit key advances as an assigned one does). Where neither works (a key without a
 * sequence, keys near the top of int64) the rows go one by one through a single-row INSERT …
 * RETURNING, still in the one transaction.
 * ------------------------------------------------------------------------------------------- */

/* Bound parameters per statement: under SQLite's limit (32766 since 3.32; PostgreSQL: 65535). */
#define MAX_PARAMS 32766
/* Rows per multi-row INSERT, at most (a power of two: see insert_group). */
#define MAX_BATCH_ROWS 256

#define KEY_FIELDS(F) F(int64, id)
CADRE_SCHEMA(cadre__crud_key, KEY_FIELDS)

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* n fresh keys from the key column's sequence (PostgreSQL), ascending; *none when it has none. */
static int take_keys_pg(cadre_tx *tx, cadre_arena *arena, const cadre_schema *m,
                        const cadre_field *pk, size_t n, int64_t *ids, bool *none)
{
    static const char sql[] =
        "SELECT nextval(s) AS id FROM (SELECT pg_get_serial_sequence(?, ?) AS s) AS q, "
        "generate_series(1, ?)";
    /* the table name is parsed as SQL parses identifiers (folded to lower case); the column
     * name is taken literally: fold it as CREATE TABLE did */
    char *col = cadre_arena_strndup(arena, pk->name, strlen(pk->name));
    for (char *p = col; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    cadre_value params[] = { CADRE_PTEXT(m->name), CADRE_PTEXT(col), CADRE_PINT((int64_t)n) };
    cadre_rows rows;
    int rc = cadre_tx_query(tx, arena, CADRE_SCHEMA_OF(cadre__crud_key), &rows, sql, params, 3);
    if (rc)
        return rc;
    const cadre__crud_key *k = rows.items;
    for (size_t i = 0; i < rows.len; i++) {
        if (!(k[i].cadre_set_ & 1)) { /* NULL: no sequence */
            *none = true;
            return 0;
        }
        ids[i] = k[i].id;
    }
    if (rows.len != n) {
        cadre_log(CADRE_LOG_ERROR, "model %s: asked for %zu keys, got %zu", m->name, n, rows.len);
        return CADRE_EIO;
    }
    qsort(ids, n, sizeof *ids, cmp_i64);
    return 0;
}

/* The n keys SQLite would give n rows inserted one by one now (the transaction holds the write
 * lock); *none when they would pass the top of int64 (SQLite then picks keys at random). */
static int take_keys_sqlite(cadre_tx *tx, cadre_arena *arena, const cadre_schema *m,
                            const cadre_field *pk, size_t n, int64_t *ids, bool *none)
{
    static const char has_seq[] = "SELECT COUNT(*) AS id FROM sqlite_master WHERE type = 'table' "
                                  "AND name = 'sqlite_sequence'";
    static const char seq[] = "SELECT seq AS id FROM sqlite_sequence WHERE name = ? COLLATE NOCASE";
    const cadre_schema *ks = CADRE_SCHEMA_OF(cadre__crud_key);
    cadre__crud_key k;
    bool found;
    char *max = cadre_arena_printf(arena, "SELECT MAX(%s) AS id FROM %s", pk->name, m->name);
    int rc = cadre_tx_query_one(tx, arena, ks, &k, &found, max, NULL, 0);
    int64_t last = found ? k.id : 0; /* 0 for an empty table: the first key is 1 */
    if (rc == 0)
        rc = cadre_tx_query_one(tx, arena, ks, &k, &found, has_seq, NULL, 0);
    if (rc == 0 && found && k.id > 0) {
        cadre_value name = CADRE_PTEXT(m->name);
        rc = cadre_tx_query_one(tx, arena, ks, &k, &found, seq, &name, 1);
        if (rc == 0 && found && k.id > last) /* AUTOINCREMENT: never a key given before */
            last = k.id;
    }
    if (rc)
        return rc;
    if (last > INT64_MAX - (int64_t)n) {
        *none = true;
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        ids[i] = last + 1 + (int64_t)i;
    return 0;
}

/* Inserts the rows idx[0..n) of objs (all of shape mask) with their keys ids[idx[i]], in
 * multi-row INSERTs of power-of-two sizes (so that a model has a few statement shapes, each
 * prepared once per connection, not one per row count). */
static int insert_group(cadre_tx *tx, bool pg, const cadre_schema *m, const cadre_field *pk,
                        uint64_t mask, const char *objs, const size_t *idx, size_t n,
                        const int64_t *ids, const struct now *now)
{
    size_t per_row = popcount(mask) + 1, batch = MAX_BATCH_ROWS;
    while (batch > 1 && batch * per_row > MAX_PARAMS)
        batch /= 2;
    cadre_arena scratch; /* one statement's SQL and values at a time */
    cadre_arena_init(&scratch, (size_t)1 << 16);
    int rc = 0;
    for (size_t done = 0; done < n && rc == 0;) {
        size_t rows = batch;
        while (rows > n - done)
            rows /= 2;
        cadre_arena_reset(&scratch);
        char *sql = insert_sql(m, pk, mask, rows, true, pg, &scratch);
        if (!sql) {
            rc = CADRE_ENOMEM;
            break;
        }
        cadre_value *vals = cadre_arena_alloc(&scratch, rows * per_row * sizeof *vals);
        size_t nv = 0;
        for (size_t r = 0; r < rows; r++) {
            size_t i = idx[done + r];
            vals[nv++] = CADRE_PINT(ids[i]);
            nv += row_values(m, mask, objs + i * m->size, now, &scratch, vals + nv);
        }
        rc = cadre_tx_exec(tx, sql, vals, nv, NULL, NULL);
        done += rows;
    }
    cadre_arena_free(&scratch);
    return rc;
}

/* Keys first, then the rows grouped by shape (which absent optional fields they leave to their
 * defaults). *fallback when the keys cannot be decided beforehand (nothing done then). */
static int insert_many_keyed(cadre_tx *tx, bool pg, cadre_arena *arena, const cadre_schema *m,
                             const cadre_field *pk, const char *objs, size_t n,
                             const struct now *now, int64_t *ids, bool *fallback)
{
    *fallback = false;
    int rc = (pg ? take_keys_pg : take_keys_sqlite)(tx, arena, m, pk, n, ids, fallback);
    if (rc || *fallback)
        return rc;
    uint64_t *masks = cadre_arena_alloc(arena, n * sizeof *masks);
    size_t *idx = cadre_arena_alloc(arena, n * sizeof *idx);
    bool *done = cadre_arena_calloc(arena, n * sizeof *done);
    for (size_t i = 0; i < n; i++)
        masks[i] = insert_mask(m, pk, objs + i * m->size);
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (done[i])
            continue;
        size_t g = 0;
        for (size_t j = i; j < n; j++) {
            if (!done[j] && masks[j] == masks[i]) {
                idx[g++] = j;
                done[j] = true;
            }
        }
        rc = insert_group(tx, pg, m, pk, masks[i], objs, idx, g, ids, now);
    }
    return rc;
}

/* One by one (keys the database assigns): ids[i] gets row i's key. */
static int insert_many_rows(cadre_tx *tx, cadre_arena *arena, const cadre_schema *m,
                            const cadre_field *pk, const char *objs, size_t n,
                            const struct now *now, int64_t *ids)
{
    cadre_arena scratch; /* one row's values at a time */
    cadre_arena_init(&scratch, 0);
    struct shapes shapes = { .n = 0 }; /* their SQL in arena */
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        cadre_arena_reset(&scratch);
        rc = insert_row(NULL, tx, arena, &scratch, m, pk, objs + i * m->size, now, &shapes,
                        &ids[i]);
    }
    cadre_arena_free(&scratch);
    return rc;
}

int cadre_model_insert_many(cadre_db *db, cadre_arena *arena, const cadre_schema *m, void *objs,
                            size_t n)
{
    const cadre_field *pk = writable(m);
    if (!pk)
        return CADRE_EINVAL;
    if (n == 0)
        return 0;
    struct now now;
    now_init(&now);
    int64_t *ids = cadre_arena_alloc(arena, n * sizeof *ids);
    cadre_tx tx;
    int rc = cadre_db_begin(db, &tx);
    if (rc)
        return rc;
    bool fallback, pg = strcmp(cadre_db_engine(db), "postgresql") == 0;
    rc = insert_many_keyed(&tx, pg, arena, m, pk, objs, n, &now, ids, &fallback);
    if (rc == 0 && fallback)
        rc = insert_many_rows(&tx, arena, m, pk, objs, n, &now, ids);
    if (rc) {
        cadre_tx_rollback(&tx);
        return rc;
    }
    if ((rc = cadre_tx_commit(&tx)) != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        void *obj = (char *)objs + i * m->size;
        set_key(m, pk, obj, ids[i]);
        stamp(m, obj, &now, true);
    }
    if (has_hooks(m))
        for (size_t i = 0; i < n; i++)
            changed(m, CADRE_MODEL_INSERTED, ids[i], (char *)objs + i * m->size, arena);
    return 0;
}

int cadre_model_get(cadre_db *db, cadre_arena *arena, const cadre_schema *m, int64_t id, void *obj,
                    bool *found)
{
    *found = false;
    const cadre_field *pk = int_pk(m);
    if (!pk)
        return CADRE_EINVAL;
    cadre_query q;
    cadre_q_init(&q, db, m, arena);
    cadre_q_filter(&q, pk->name, CADRE_PINT(id));
    return cadre_q_first(&q, obj, found);
}

int cadre_model_update(cadre_db *db, cadre_arena *arena, const cadre_schema *m, const void *obj,
                       bool partial, int64_t *changes)
{
    const cadre_field *pk = writable(m);
    if (!pk)
        return CADRE_EINVAL;
    struct now now;
    now_init(&now);
    cadre_buf set;
    cadre_buf_init_arena(&set, arena, (size_t)1 << 16);
    cadre_value *vals = cadre_arena_alloc(arena, (m->nfields + 1) * sizeof *vals);
    size_t n = 0;
    for (size_t i = 0; i < m->nfields; i++) {
        const cadre_field *f = &m->fields[i];
        if (f == pk || !cadre_model_field_is_column(f) || (f->auto_now_add && !f->auto_now))
            continue; /* the key and the time of insertion never change */
        if (partial && !is_set(m, obj, i) && !f->auto_now)
            continue;
        cadre_buf_appendf(&set, "%s%s = ?", n ? ", " : "", f->name);
        vals[n++] = column_value(m, f, obj, &now, arena);
    }
    if (changes)
        *changes = 0;
    vals[n] = CADRE_PINT(*(const int64_t *)((const char *)obj + pk->offset));
    if (n == 0) {
        /* nothing to change: report whether the row exists */
        cadre_query q;
        bool yes;
        cadre_q_init(&q, db, m, arena);
        cadre_q_filter(&q, pk->name, vals[0]);
        int rc = cadre_q_exists(&q, &yes);
        if (rc == 0 && changes)
            *changes = yes;
        return rc;
    }
    char *sql = cadre_arena_printf(arena, "UPDATE %s SET %.*s WHERE %s = ?", m->name, (int)set.len,
                                   set.data, pk->name);
    int64_t count = 0;
    int rc = cadre_db_exec(db, sql, vals, n + 1, &count, NULL);
    if (changes)
        *changes = count;
    if (rc == 0 && count > 0)
        changed(m, CADRE_MODEL_UPDATED, vals[n].i, obj, arena);
    return rc;
}

int cadre_model_delete(cadre_db *db, const cadre_schema *m, int64_t id, int64_t *changes)
{
    const cadre_field *pk = int_pk(m);
    if (!pk)
        return CADRE_EINVAL;
    cadre_arena a;
    cadre_arena_init(&a, 1024);
    void *old = NULL; /* the row as it was, for the hooks */
    bool found = false;
    int rc = 0;
    if (has_hooks(m)) {
        old = cadre_arena_alloc(&a, m->size);
        rc = cadre_model_get(db, &a, m, id, old, &found);
    }
    int64_t count = 0;
    if (rc == 0) {
        cadre_query q;
        cadre_q_init(&q, db, m, &a);
        cadre_q_filter(&q, pk->name, CADRE_PINT(id));
        rc = cadre_q_delete(&q, &count);
    }
    if (changes)
        *changes = count;
    if (rc == 0 && count > 0 && found)
        changed(m, CADRE_MODEL_DELETED, id, old, &a);
    cadre_arena_free(&a);
    return rc;
}
