/*
 * Databases: URL parsing, one connection per (worker thread, database), and the dispatch to the
 * engine's driver. A thread finds its connection in a small thread-local table, so a query takes
 * no lock; the database keeps a list of every connection only to close them all at the end.
 */
#include "db_internal.h"

#include <cadre/app.h>
#include <cadre/http.h>
#include <cadre/schema.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct conn_entry {
    void *conn;
    struct conn_entry *next;
};

struct stat_ref {
    cadre_db *db;
    int which; /* 0 connections, 1 in use, 2 waiting, 3 waits */
};

struct cadre_db {
    const cadre__db_driver *driver;
    char *target; /* what the driver connects to (a file path for SQLite) */
    uint64_t id;  /* unique per open: thread-local entries of a closed db never match again */
    pthread_mutex_t lock;
    struct conn_entry *conns;
    struct stat_ref refs[4]; /* cadre_db_metrics' series */
};

static atomic_uint_fast64_t next_id = 1;

#define TL_SLOTS 8
static _Thread_local struct {
    uint64_t id;
    void *conn;
} tl[TL_SLOTS];

/* Whether s starts as a URL does: a scheme (a letter, then letters, digits, + - .) and ':'. A
 * path is taken as it is only when it does not ("sqlite:/typo.db" and "sqlite::memory:" are not
 * files to create). */
static bool looks_like_url(const char *s)
{
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
        return false;
    for (s++; *s && *s != ':' && *s != '/'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '+' || *s == '-' || *s == '.'))
            return false;
    return *s == ':';
}

int cadre_db_open(const char *url, cadre_db **out)
{
    *out = NULL;
    if (!url || !*url)
        return CADRE_EINVAL;
    const cadre__db_driver *drv = NULL;
    const char *target = url;
    if (strncmp(url, "sqlite:///", 10) == 0) {
        drv = &cadre__sqlite_driver;
        target = url + 9; /* keep the leading '/' of the absolute path */
    } else if (strncmp(url, "sqlite://", 9) == 0) {
        drv = &cadre__sqlite_driver;
        target = url + 9;
    } else if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0) {
        drv = &cadre__postgres_driver; /* libpq takes the URI as it is */
        int rc = cadre__pq_available();
        if (rc)
            return rc;
    } else if (!looks_like_url(url)) {
        drv = &cadre__sqlite_driver; /* a plain path */
    } else {
        cadre_log(CADRE_LOG_ERROR, "database URL \"%s\": not one Cadre knows: "
                                   "sqlite:///absolute/path.db, sqlite://relative/path.db or "
                                   "postgresql://user:password@host:port/name", url);
        return CADRE_EINVAL;
    }
    if (!*target) {
        cadre_log(CADRE_LOG_ERROR, "database URL \"%s\": no database named", url);
        return CADRE_EINVAL;
    }
    if (drv == &cadre__sqlite_driver && strstr(target, ":memory:")) {
        cadre_log(CADRE_LOG_ERROR, "database URL \"%s\": an in-memory SQLite database belongs to "
                                   "one connection, and each worker thread has its own: use a "
                                   "file (on a tmpfs such as /dev/shm for speed)", url);
        return CADRE_EINVAL;
    }
    cadre_db *db = calloc(1, sizeof *db);
    if (!db)
        return CADRE_ENOMEM;
    db->driver = drv;
    db->target = strdup(target);
    if (!db->target) {
        free(db);
        return CADRE_ENOMEM;
    }
    db->id = atomic_fetch_add(&next_id, 1);
    pthread_mutex_init(&db->lock, NULL);
    *out = db;
    return 0;
}

int cadre_db_open_env(const char *fallback_url, cadre_db **out)
{
    bool failed;
    /* $CADRE_CONFIG's settings first; its errors are the app's to refuse (cadre_app_new), not a
     * database that cannot be opened */
    cadre_config_load();
    char *url = cadre_env_secret("CADRE_DATABASE_URL", &failed); /* or CADRE_DATABASE_URL_FILE */
    if (failed) {
        *out = NULL;
        return CADRE_EINVAL;
    }
    int rc = cadre_db_open(url ? url : fallback_url, out);
    free(url);
    return rc;
}

void cadre_db_close(cadre_db *db)
{
    if (!db)
        return;
    for (struct conn_entry *e = db->conns, *n; e; e = n) {
        n = e->next;
        db->driver->disconnect(e->conn);
        free(e);
    }
    for (int i = 0; i < TL_SLOTS; i++)
        if (tl[i].id == db->id)
            tl[i].id = 0;
    pthread_mutex_destroy(&db->lock);
    free(db->target);
    free(db);
}

void cadre_db_pool_stats(cadre_db *db, cadre_db_stats *out)
{
    *out = (cadre_db_stats){ 0 };
    pthread_mutex_lock(&db->lock);
    for (struct conn_entry *e = db->conns; e; e = e->next) {
        const cadre__db_usage *u = db->driver->usage(e->conn);
        out->connections += atomic_load_explicit(&u->open, memory_order_relaxed);
        out->in_use += atomic_load_explicit(&u->used, memory_order_relaxed);
        out->waiting += atomic_load_explicit(&u->waiting, memory_order_relaxed);
        out->waits += atomic_load_explicit(&u->waits, memory_order_relaxed);
    }
    pthread_mutex_unlock(&db->lock);
}

/* One /metrics series of the database: refs[which] of its struct, as a gauge's context. */
static double stat_read(void *ctx)
{
    const struct stat_ref *ref = ctx;
    cadre_db_stats st;
    cadre_db_pool_stats(ref->db, &st);
    switch (ref->which) {
    case 0: return st.connections;
    case 1: return st.in_use;
    case 2: return st.waiting;
    default: return (double)st.waits;
    }
}

int cadre_db_metrics(cadre_app *app, cadre_db *db)
{
    static const struct {
        const char *name, *help;
    } series[] = {
        { "db_pool_connections_open", "Database connections open, every worker's." },
        { "db_pool_connections_in_use", "Database connections running a statement or held by a "
                                        "transaction." },
        { "db_pool_requests_waiting", "Requests waiting for a database connection or lock." },
        { "db_pool_waits_total", "Requests that had to wait for a database connection or lock." },
    };
    if (!app || !db)
        return CADRE_EINVAL;
    int rc = 0;
    for (int i = 0; i < 4 && rc == 0; i++) {
        db->refs[i] = (struct stat_ref){ db, i };
        rc = (i == 3 ? cadre_counter_fn : cadre_gauge)(app, series[i].name, series[i].help,
                                                       stat_read, &db->refs[i]);
    }
    return rc;
}

const char *cadre_db_engine(const cadre_db *db)
{
    return db->driver->name;
}

int cadre_db_listen(cadre_db *db, const char *channel, cadre_db_listener **out)
{
    if (out)
        *out = NULL;
    size_t n = channel ? strlen(channel) : 0;
    bool ok = db && out && n > 0 && n <= 63 && !(channel[0] >= '0' && channel[0] <= '9');
    for (size_t i = 0; ok && i < n; i++)
        ok = (channel[i] >= 'a' && channel[i] <= 'z') || (channel[i] >= '0' && channel[i] <= '9') ||
             channel[i] == '_';
    if (!ok)
        return CADRE_EINVAL;
    if (db->driver != &cadre__postgres_driver)
        return CADRE_EUNSUPPORTED;
    return cadre__pg_listen(db->target, channel, out);
}

/* This thread's connection, opened on first use. */
static int conn_of(cadre_db *db, void **conn)
{
    int free_slot = -1;
    for (int i = 0; i < TL_SLOTS; i++) {
        if (tl[i].id == db->id) {
            *conn = tl[i].conn;
            return 0;
        }
        if (free_slot < 0 && tl[i].id == 0)
            free_slot = i;
    }
    int rc = db->driver->connect(db->target, conn);
    if (rc)
        return rc;
    struct conn_entry *e = malloc(sizeof *e);
    if (!e) {
        db->driver->disconnect(*conn);
        return CADRE_ENOMEM;
    }
    e->conn = *conn;
    pthread_mutex_lock(&db->lock);
    e->next = db->conns;
    db->conns = e;
    pthread_mutex_unlock(&db->lock);
    if (free_slot < 0)
        free_slot = (int)(db->id % TL_SLOTS); /* more databases than slots: share one */
    tl[free_slot].id = db->id;
    tl[free_slot].conn = *conn;
    return 0;
}

/* When statements are logged, the monotonic time in ns (never 0); otherwise 0, and no clock is
 * read: the hot path pays one relaxed load. */
static uint64_t sql_clock(void)
{
    if (cadre_log_sql_level() == CADRE_LOG_OFF)
        return 0;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec + 1;
}

/*
 * A statement that failed for another reason than the data (not a constraint, not "no row") is
 * noted on the request running it (not a background coroutine), under "cadre.db.error": the statement and the database's
 * message, for the development debug page (the app reads it; nothing is sent in production).
 */
static int noted(cadre_db *db, void *conn, int rc, const char *sql, uint64_t start)
{
    if (start) { /* statement logging is on (cadre_log_sql) */
        cadre_log_level level = cadre_log_sql_level();
        if (level != CADRE_LOG_OFF)
            cadre_log(level, "sql %.3f ms%s: %s", (double)(sql_clock() - start) / 1e6,
                      rc < 0 && rc != CADRE_ENOTFOUND ? " (failed)" : "", sql);
    }
    if (rc >= 0 || rc == CADRE_EEXIST || rc == CADRE_ESTATE || rc == CADRE_ENOTFOUND)
        return rc;
    cadre_request *r = cadre_current_request();
    /* not on a background coroutine's: it has no page, and its arena lives as long as it does
     * (a note for each failed statement while the database is down would pile up there) */
    if (r && !r->background) {
        const char *msg = db->driver->errmsg(conn);
        cadre_request_set(r, "cadre.db.error",
                          cadre_arena_printf(r->arena, "%s\n%s", msg ? msg : "", sql));
    }
    return rc;
}

/* Development mode: the same SELECT run more than this many times in one request is said (an
 * N+1: a query per row where one query, select_related or prefetch, would do). */
#define N_PLUS_ONE 10

struct shape_count {
    uint64_t hash;
    unsigned n;
};

static void count_shape(const char *sql)
{
    cadre_request *r = cadre_current_request();
    if (!r || !cadre_request_get(r, CADRE_DEV_MODE_KEY))
        return;
    struct shape_count *t = cadre_request_get(r, "cadre.db.shapes");
    if (!t) { /* 64 shapes per request are watched: enough to see the loop that matters */
        t = cadre_arena_calloc(r->arena, 64 * sizeof *t);
        if (!t || cadre_request_set(r, "cadre.db.shapes", t) != 0)
            return;
    }
    uint64_t h = cadre__sql_hash(sql);
    for (size_t i = 0; i < 64; i++) {
        if (t[i].n && t[i].hash != h)
            continue;
        t[i].hash = h;
        if (++t[i].n == N_PLUS_ONE + 1)
            cadre_log(CADRE_LOG_WARN, "%.*s %.*s ran the same query more than %d times (an N+1? "
                                      "select_related or prefetch fetch related rows in one "
                                      "query): %s",
                      (int)r->head.method.len, r->head.method.ptr, (int)r->head.path.len,
                      r->head.path.ptr, N_PLUS_ONE, sql);
        return;
    }
}

#define TIMEOUT_KEY "cadre.db.timeout"

int cadre_db_statement_timeout(int ms)
{
    cadre_request *r = cadre_current_request();
    if (!r)
        return CADRE_ESTATE;
    if (ms < 0)
        return CADRE_EINVAL;
    int *t = cadre_request_get(r, TIMEOUT_KEY);
    if (!t) {
        if (ms == 0)
            return 0;
        if (!(t = cadre_arena_alloc(r->arena, sizeof *t)))
            return CADRE_ENOMEM;
        int rc = cadre_request_set(r, TIMEOUT_KEY, t);
        if (rc)
            return rc;
    }
    *t = ms;
    return 0;
}

int cadre__db_statement_timeout(void)
{
    cadre_request *r = cadre_current_request();
    const int *t = r ? cadre_request_get(r, TIMEOUT_KEY) : NULL;
    return t ? *t : 0;
}

/* The query functions below run on (conn, pinned): a thread's connection, or a transaction's. */
static int query_rows(cadre_db *db, void *conn, void *pinned, cadre_arena *arena,
                      const cadre_schema *s, cadre_rows *out, const char *sql,
                      const cadre_value *params, size_t nparams, size_t max_rows)
{
    *out = (cadre_rows){ 0 };
    uint64_t start = sql_clock();
    count_shape(sql);
    int rc = db->driver->query(conn, pinned, arena, s, out, sql, params, nparams, max_rows);
    return noted(db, conn, rc, sql, start);
}

static int query_one(cadre_db *db, void *conn, void *pinned, cadre_arena *arena,
                     const cadre_schema *s, void *row, bool *found, const char *sql,
                     const cadre_value *params, size_t nparams)
{
    cadre_rows rows;
    *found = false;
    int rc = query_rows(db, conn, pinned, arena, s, &rows, sql, params, nparams, 1);
    if (rc == 0 && rows.len) {
        memcpy(row, rows.items, s->size);
        *found = true;
    }
    return rc;
}

int cadre_db_query(cadre_db *db, cadre_arena *arena, const cadre_schema *s, cadre_rows *out,
                   const char *sql, const cadre_value *params, size_t nparams)
{
    void *conn;
    *out = (cadre_rows){ 0 };
    int rc = conn_of(db, &conn);
    return rc ? rc : query_rows(db, conn, NULL, arena, s, out, sql, params, nparams, SIZE_MAX);
}

int cadre_db_query_one(cadre_db *db, cadre_arena *arena, const cadre_schema *s, void *row,
                       bool *found, const char *sql, const cadre_value *params, size_t nparams)
{
    void *conn;
    *found = false;
    int rc = conn_of(db, &conn);
    return rc ? rc : query_one(db, conn, NULL, arena, s, row, found, sql, params, nparams);
}

int cadre_db_query_each(cadre_db *db, cadre_arena *arena, const cadre_schema *s, void *rows,
                        bool *found, size_t n, const char *sql, const cadre_value *params,
                        size_t nparams)
{
    void *conn;
    int rc = conn_of(db, &conn);
    if (rc)
        return rc;
    if (db->driver->query_each) {
        uint64_t start = sql_clock();
        rc = db->driver->query_each(conn, arena, s, rows, found, n, sql, params, nparams);
        return noted(db, conn, rc, sql, start);
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        void *row = (char *)rows + i * s->size;
        rc = query_one(db, conn, NULL, arena, s, row, &found[i], sql, params + i * nparams, nparams);
        if (rc == 0 && !found[i])
            memset(row, 0, s->size);
    }
    return rc;
}

int cadre_db_exec(cadre_db *db, const char *sql, const cadre_value *params, size_t nparams,
                  int64_t *changes, int64_t *last_id)
{
    void *conn;
    int rc = conn_of(db, &conn);
    if (rc)
        return rc;
    uint64_t start = sql_clock();
    rc = db->driver->exec(conn, NULL, sql, params, nparams, changes, last_id);
    return noted(db, conn, rc, sql, start);
}

/* ---------------------------------------------------------------------------------------------
 * Transactions
 * ------------------------------------------------------------------------------------------- */

int cadre_db_begin(cadre_db *db, cadre_tx *tx)
{
    memset(tx, 0, sizeof *tx);
    tx->db = db;
    int rc = conn_of(db, &tx->conn);
    if (rc == 0)
        rc = db->driver->begin(tx->conn, &tx->pinned);
    tx->open = rc == 0;
    return rc;
}

int cadre_tx_query(cadre_tx *tx, cadre_arena *arena, const cadre_schema *s, cadre_rows *out,
                   const char *sql, const cadre_value *params, size_t nparams)
{
    if (!tx->open)
        return CADRE_ESTATE;
    return query_rows(tx->db, tx->conn, tx->pinned, arena, s, out, sql, params, nparams, SIZE_MAX);
}

int cadre_tx_query_one(cadre_tx *tx, cadre_arena *arena, const cadre_schema *s, void *row,
                       bool *found, const char *sql, const cadre_value *params, size_t nparams)
{
    *found = false;
    if (!tx->open)
        return CADRE_ESTATE;
    return query_one(tx->db, tx->conn, tx->pinned, arena, s, row, found, sql, params, nparams);
}

int cadre_tx_exec(cadre_tx *tx, const char *sql, const cadre_value *params, size_t nparams,
                  int64_t *changes, int64_t *last_id)
{
    if (!tx->open)
        return CADRE_ESTATE;
    uint64_t start = sql_clock();
    int rc = tx->db->driver->exec(tx->conn, tx->pinned, sql, params, nparams, changes, last_id);
    return noted(tx->db, tx->conn, rc, sql, start);
}

struct cadre_tx_hook {
    void (*fn)(void *ctx);
    void *ctx;
    struct cadre_tx_hook *next;
};

int cadre_tx_on_commit(cadre_tx *tx, void (*fn)(void *ctx), void *ctx)
{
    if (!tx->open)
        return CADRE_ESTATE;
    struct cadre_tx_hook **end = &tx->on_commit;
    for (; *end; end = &(*end)->next) /* a few hooks: the same one asked again is kept once */
        if ((*end)->fn == fn && (*end)->ctx == ctx)
            return 0;
    struct cadre_tx_hook *h = malloc(sizeof *h);
    if (!h)
        return CADRE_ENOMEM;
    *h = (struct cadre_tx_hook){ fn, ctx, NULL };
    *end = h;
    return 0;
}

/* Runs the hooks (committed) or forgets them, and frees them. */
static void end_hooks(cadre_tx *tx, bool run)
{
    for (struct cadre_tx_hook *h = tx->on_commit, *next; h; h = next) {
        next = h->next;
        if (run)
            h->fn(h->ctx);
        free(h);
    }
    tx->on_commit = NULL;
}

int cadre_tx_commit(cadre_tx *tx)
{
    if (!tx->open)
        return CADRE_ESTATE;
    tx->open = false;
    int rc = tx->db->driver->end(tx->conn, tx->pinned, true);
    end_hooks(tx, rc == 0);
    return rc;
}

void cadre_tx_rollback(cadre_tx *tx)
{
    if (!tx->open)
        return;
    tx->open = false;
    tx->db->driver->end(tx->conn, tx->pinned, false);
    end_hooks(tx, false);
}

int cadre_db_atomic(cadre_db *db, int (*fn)(cadre_tx *tx, void *ctx), void *ctx)
{
    cadre_tx tx;
    int rc = cadre_db_begin(db, &tx);
    if (rc)
        return rc;
    int result = fn(&tx, ctx);
    if (result < 0) {
        cadre_tx_rollback(&tx);
        return result;
    }
    rc = cadre_tx_commit(&tx);
    return rc ? rc : result;
}

int cadre_db_exec_script(cadre_db *db, const char *sql)
{
    void *conn;
    int rc = conn_of(db, &conn);
    return rc ? rc : db->driver->exec_script(conn, sql);
}

const char *cadre_db_errmsg(cadre_db *db)
{
    for (int i = 0; i < TL_SLOTS; i++)
        if (tl[i].id == db->id)
            return db->driver->errmsg(tl[i].conn);
    return "not connected";
}

const cadre_field *cadre__db_field_for(const cadre_schema *s, const char *column)
{
    if (!column)
        return NULL;
    const cadre_field *f = cadre_schema_field(s, column, strlen(column));
    for (size_t i = 0; !f && i < s->nfields; i++)
        if (strcasecmp(s->fields[i].name, column) == 0)
            f = &s->fields[i];
    return f;
}

int cadre__db_store_text(const cadre_schema *s, const cadre_field *f, void *row, const char *text,
                         size_t len, cadre_arena *arena)
{
    void *dst = (char *)row + f->offset;
    size_t bit = (size_t)(f - s->fields);
    if (!text) { /* a nullable field holds null (encoded as null); others stay absent */
        if (f->nullable) {
            *(uint64_t *)((char *)row + s->null_offset) |= (uint64_t)1 << bit;
            *(uint64_t *)((char *)row + s->set_offset) |= (uint64_t)1 << bit;
        }
        return 0;
    }
    cadre_slice t = { text, len };
    switch (f->type) {
    case CADRE_T_BOOL:
    case CADRE_T_INT32:
    case CADRE_T_INT64: {
        int64_t v;
        if (cadre_slice_to_i64(t, false, &v) != 0)
            return CADRE_EPARSE;
        if (f->type == CADRE_T_BOOL)
            *(bool *)dst = v != 0;
        else if (f->type == CADRE_T_INT32)
            *(int32_t *)dst = (int32_t)v;
        else
            *(int64_t *)dst = v;
        break;
    }
    case CADRE_T_DOUBLE: {
        char *end;
        char *z = cadre_arena_strndup(arena, text, len);
        *(double *)dst = cadre_strtod(z, &end);
        if (*end)
            return CADRE_EPARSE;
        break;
    }
    case CADRE_T_STRING:
        *(cadre_slice *)dst = (cadre_slice){ cadre_arena_strndup(arena, text, len), len };
        break;
    case CADRE_T_ENUM: {
        const cadre_enum *en = f->en();
        size_t i = 0;
        while (i < en->count && !cadre_slice_eq_cstr(t, en->values[i]))
            i++;
        if (i == en->count)
            return CADRE_EPARSE;
        *(int *)dst = (int)i;
        break;
    }
    case CADRE_T_DATE:
        if (cadre_date_parse(t, dst))
            return CADRE_EPARSE;
        break;
    case CADRE_T_DATETIME:
        if (cadre_datetime_parse(t, dst))
            return CADRE_EPARSE;
        break;
    case CADRE_T_UUID:
        if (cadre_uuid_parse(t, dst))
            return CADRE_EPARSE;
        break;
    default:
        return CADRE_EPARSE; /* arrays and objects have no column form */
    }
    *(uint64_t *)((char *)row + s->set_offset) |= (uint64_t)1 << bit;
    return 0;
}

/* PostgreSQL's reserved key words (its appendix C: "reserved" and "reserved (can be function or
 * type)"), and SQLite's that its parser does not take back as names (those outside parse.y's
 * %fallback ID list); sorted, for bsearch. */
static const char *const reserved[] = {
    "add", "all", "alter", "analyse", "analyze", "and", "any", "array", "as",
    "asc", "asymmetric", "authorization", "autoincrement", "between", "binary", "both", "case",
    "cast", "check", "collate", "collation", "column", "commit", "concurrently", "constraint",
    "create", "cross", "current_catalog", "current_date", "current_role", "current_schema",
    "current_time", "current_timestamp", "current_user", "default", "deferrable", "delete",
    "desc", "distinct", "do", "drop", "else", "end", "escape", "except", "exists", "false",
    "fetch", "for", "foreign", "freeze", "from", "full", "grant", "group", "having", "ilike", "in",
    "index", "initially", "inner", "insert", "intersect", "into", "is", "isnull", "join",
    "lateral", "leading", "left", "like", "limit", "localtime", "localtimestamp", "natural",
    "not", "notnull", "null", "offset", "on", "only", "or", "order", "outer", "overlaps",
    "placing", "primary", "references", "returning", "right", "select", "session_user",
    "set", "similar", "some", "symmetric", "system_user", "table", "tablesample", "then", "to",
    "trailing", "transaction", "true", "union", "unique", "update", "user", "using", "values",
    "variadic", "verbose", "when", "where", "window", "with",
};

static int reserved_cmp(const void *key, const void *item)
{
    return strcmp(key, *(const char *const *)item);
}

bool cadre_sql_reserved(const char *word)
{
    char lower[32];
    size_t n = strlen(word);
    if (n == 0 || n >= sizeof lower)
        return false;
    for (size_t i = 0; i <= n; i++)
        lower[i] = (char)(word[i] >= 'A' && word[i] <= 'Z' ? word[i] + 32 : word[i]);
    return bsearch(lower, reserved, sizeof reserved / sizeof reserved[0], sizeof reserved[0],
                   reserved_cmp) != NULL;
}
