/*
 * The SQLite driver: one connection per worker thread (no SQLite mutex needed), WAL, foreign keys
 * on, and a per-connection cache of prepared statements keyed by the SQL text, with each
 * statement's column-to-field map kept beside it.
 *
 * Waiting for a lock. When another process (a backup, the sqlite3 shell, a migration) holds the
 * write lock, SQLite's own busy handler would sleep on the worker thread and stall every
 * connection of the worker. Inside a request, the busy handler therefore waits at most 200 us (the
 * other workers' own writes, microseconds long) and then gives up, and the statement is retried
 * after the request sleeps as a coroutine (cadre_sleep), for BUSY_TIMEOUT_MS in all: only the
 * requests that need the database wait. Outside a request (the migrate command)
 * the busy handler sleeps as SQLite's does.
 *
 * The file under a running server. A database file deleted or replaced while the server has it
 * open would take writes that are lost at the next start; writes first check that the path still
 * names the file that was opened (CADRE_ESTALE otherwise).
 */
#include "db_internal.h"

#include <cadre/http.h>

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#define BUSY_TIMEOUT_MS 5000
#define MAX_CACHED 256

struct cached {
    char *sql; /* own copy of the text */
    uint64_t hash;
    sqlite3_stmt *st;
    const cadre_schema *map_for; /* the schema the map below was computed for */
    int *map;                    /* column -> field index, -1 for none */
};

struct sconn {
    sqlite3 *db;
    /* The request whose transaction is open on this (per-thread) connection: other requests of
     * the worker wait until it ends instead of joining it. */
    const void *owner;
    bool in_tx;
    CADRE_VEC(struct cached) cache;
    char err[256]; /* the last error's message: a rollback after it would reset SQLite's own */
    char *path;    /* the file's path, NULL for a memory or temporary database */
    dev_t dev;     /* the file that was opened */
    ino_t ino;
    bool stale_logged;
    bool retrying; /* a statement is being tried again after a busy answer */
    uint64_t deadline_ms; /* the running statement's (cadre_db_statement_timeout), 0: none */
    cadre__db_usage usage;
};

/* The connection runs a statement (on) or is done (off); an open transaction holds it. */
static void mark_used(struct sconn *c, bool on)
{
    cadre__usage_set(&c->usage.used, on || c->in_tx);
}

static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* SQLite calls this every few thousand virtual machine steps while a statement with a deadline
 * runs: past it, the statement is interrupted (SQLITE_INTERRUPT, answered CADRE_ETIMEDOUT). */
static int past_deadline(void *arg)
{
    const struct sconn *c = arg;
    return monotonic_ms() >= c->deadline_ms;
}

/* Arms (or disarms) the current request's statement timeout on the connection. */
static void arm_deadline(struct sconn *c)
{
    int ms = cadre__db_statement_timeout();
    if (ms > 0) {
        c->deadline_ms = monotonic_ms() + (uint64_t)ms;
        sqlite3_progress_handler(c->db, 4000, past_deadline, c);
    } else if (c->deadline_ms) {
        c->deadline_ms = 0;
        sqlite3_progress_handler(c->db, 0, NULL, NULL);
    }
}

/* SQLite's own waits between attempts (sqliteDefaultBusyCallback), in ms. */
static const int backoff_ms[] = { 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 };

static int backoff_delay(int attempt)
{
    int n = (int)(sizeof backoff_ms / sizeof *backoff_ms);
    return backoff_ms[attempt < n ? attempt : n - 1];
}

/* Inside a request, a statement's first attempt may wait this long on the thread, in SPIN_US
 * steps: the other workers of the process hold the write lock for microseconds at a time, and a
 * coroutine sleep (a millisecond at least) would cost more than the wait. */
#define SPIN_US 50
#define SPIN_STEPS 4

/* SQLite's busy handler. Inside a request: a short wait on the first attempt (above), then 0 (give
 * up now): the statement is retried after the request sleeps (retry_busy). Elsewhere (the migrate
 * command) a blocking wait, as SQLite's own. */
static int busy_handler(void *arg, int count)
{
    struct sconn *c = arg;
    if (cadre_current_request()) {
        if (c->retrying || count >= SPIN_STEPS)
            return 0;
        struct timespec ts = { 0, SPIN_US * 1000L };
        nanosleep(&ts, NULL);
        return 1;
    }
    int waited = 0;
    for (int i = 0; i < count; i++)
        waited += backoff_delay(i);
    int d = backoff_delay(count);
    if (waited + d > BUSY_TIMEOUT_MS)
        return 0;
    struct timespec ts = { d / 1000, (long)(d % 1000) * 1000000L };
    nanosleep(&ts, NULL);
    return 1;
}

/*
 * After SQLITE_BUSY inside a request: sleeps the request (not the worker) and returns 0 when the
 * statement may be tried again, CADRE_EBUSY when it may not. A statement is retried only where
 * SQLite allows it (sqlite3_step: outside an explicit transaction, or a COMMIT) and where no
 * other request can use the connection meanwhile: in autocommit mode, or inside this request's
 * own transaction (c->in_tx, which other requests wait for).
 */
static int retry_busy(struct sconn *c, const char *sql, int *attempt, int *waited)
{
    cadre_request *r = cadre_current_request();
    bool commit = c->in_tx && c->owner == r && strcmp(sql, "COMMIT") == 0;
    if (!r || !(sqlite3_get_autocommit(c->db) || commit))
        return CADRE_EBUSY;
    int d = backoff_delay((*attempt)++);
    if (*waited + d > BUSY_TIMEOUT_MS)
        return CADRE_EBUSY;
    *waited += d;
    if (*attempt == 1)
        cadre__usage_waited(&c->usage);
    cadre__usage_add(&c->usage.waiting, 1);
    int rc = cadre_sleep(r, d);
    cadre__usage_add(&c->usage.waiting, -1);
    return rc == 0 ? 0 : CADRE_EBUSY;
}

/* What a single attempt returns when the database was busy and nothing has happened yet. */
#define BUSY_RETRY 1

static bool is_busy(int rc)
{
    return (rc & 0xff) == SQLITE_BUSY && rc != SQLITE_BUSY_SNAPSHOT;
}

/* CADRE_ESTALE when the path no longer names the file that was opened: writes would go to a file
 * that nothing can open again. Logged once per connection and episode. */
static int check_file(struct sconn *c)
{
    if (!c->path)
        return 0;
    struct stat st;
    bool gone = stat(c->path, &st) != 0;
    if (!gone && st.st_dev == c->dev && st.st_ino == c->ino) {
        c->stale_logged = false;
        return 0;
    }
    if (!c->stale_logged) {
        c->stale_logged = true;
        cadre_log(CADRE_LOG_ERROR,
                  "sqlite: %s was %s while the server had it open: writes are refused (503) until "
                  "the file is back or the server restarts with the database it should use",
                  c->path, gone ? "removed (or its directory)" : "replaced");
    }
    return CADRE_ESTALE;
}

/* True when the database's file system is mounted read-only: SQLite then fails to create its
 * -wal/-shm files ("unable to open database file") rather than saying "readonly". */
static bool read_only_storage(struct sconn *c)
{
    struct statvfs vfs;
    return c->path && statvfs(c->path, &vfs) == 0 && (vfs.f_flag & ST_RDONLY);
}

/*
 * A database on read-only storage (a read-only mount, a device's firmware image) cannot be read
 * in WAL mode: SQLite fails to create the -shm file it needs even to read. Opened as immutable
 * (no locks, no -shm; nothing can change it while the storage is read-only), it can: reads work,
 * writes fail as read-only (503). Returns 0, or a CADRE_E* with the connection left as it was.
 */
static int reopen_immutable(struct sconn *c)
{
    /* file:PATH?immutable=1, with the characters a URI gives meaning to escaped */
    size_t n = strlen(c->path);
    char *uri = malloc(3 * n + 32);
    if (!uri)
        return CADRE_ENOMEM;
    memcpy(uri, "file:", 5);
    char *o = uri + 5;
    for (const char *p = c->path; *p; p++) {
        if (*p == '%' || *p == '?' || *p == '#') {
            static const char hex[] = "0123456789ABCDEF";
            *o++ = '%';
            *o++ = hex[(unsigned char)*p >> 4];
            *o++ = hex[(unsigned char)*p & 15];
        } else {
            *o++ = *p;
        }
    }
    memcpy(o, "?immutable=1", 13);
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX,
                             NULL);
    free(uri);
    if (rc != SQLITE_OK) {
        sqlite3_close(db);
        return CADRE_EIO;
    }
    sqlite3_close(c->db);
    c->db = db;
    sqlite3_busy_handler(c->db, busy_handler, c);
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_exec(c->db, "PRAGMA foreign_keys=ON;", NULL, NULL, NULL);
    return 0;
}

/* Connections are per thread (SQLITE_OPEN_NOMUTEX), so SQLite's global memory statistics, which
 * take a mutex on every allocation, buy nothing: off, before SQLite initializes. */
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

static void configure(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); /* SQLITE_MISUSE if already initialized: fine */
}

static int sqlite_connect(const char *path, void **out)
{
    pthread_once(&config_once, configure);
    struct sconn *c = calloc(1, sizeof *c);
    if (!c)
        return CADRE_ENOMEM;
    int rc = sqlite3_open_v2(path, &c->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        cadre_log(CADRE_LOG_ERROR, "sqlite: cannot open %s: %s", path,
                  c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        sqlite3_close(c->db);
        free(c);
        return CADRE_ECLOSED;
    }
    cadre__usage_set(&c->usage.open, 1);
    sqlite3_busy_handler(c->db, busy_handler, c);
    sqlite3_extended_result_codes(c->db, 1);
    const char *file = sqlite3_db_filename(c->db, "main");
    struct stat st;
    if (file && file[0] && stat(file, &st) == 0) {
        c->path = strdup(file);
        c->dev = st.st_dev;
        c->ino = st.st_ino;
    }
    if (read_only_storage(c) && reopen_immutable(c) == 0) {
        cadre_log(CADRE_LOG_WARN, "sqlite: %s is on read-only storage: serving it read-only "
                                  "(writes answer 503)", c->path);
        *out = c;
        return 0;
    }
    char *err = NULL;
    if (sqlite3_exec(c->db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; "
                            "PRAGMA synchronous=NORMAL;", NULL, NULL, &err) != SQLITE_OK) {
        /* a read-only file cannot switch to WAL: keep going, report once */
        cadre_log(CADRE_LOG_WARN, "sqlite: %s: %s", path, err ? err : "pragma failed");
        sqlite3_free(err);
    }
    *out = c;
    return 0;
}

static void sqlite_disconnect(void *conn)
{
    struct sconn *c = conn;
    for (size_t i = 0; i < c->cache.len; i++) {
        sqlite3_finalize(c->cache.items[i].st);
        free(c->cache.items[i].map);
        free(c->cache.items[i].sql);
    }
    CADRE_VEC_FREE(&c->cache);
    sqlite3_close(c->db);
    free(c->path);
    free(c);
}

static const char *errmsg(void *conn)
{
    struct sconn *c = conn;
    return c->err[0] ? c->err : sqlite3_errmsg(c->db);
}


/* Maps an SQLite result code to a CADRE_E* code, logging what is not the caller's to report. The
 * failures of the storage itself get codes of their own, so that the answer (a 503) can say which:
 * a full disk, a read-only file, a damaged file, a lock held too long. */
static int fail(struct sconn *c, int rc, const char *sql)
{
    snprintf(c->err, sizeof c->err, "%s", sqlite3_errmsg(c->db));
    int sys = sqlite3_system_errno(c->db);
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        cadre_log(CADRE_LOG_WARN, "sqlite: database locked past %d ms: %s", BUSY_TIMEOUT_MS, sql);
        return CADRE_EBUSY;
    case SQLITE_CONSTRAINT:
        return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY ? CADRE_EEXIST
                                                                                     : CADRE_ESTATE;
    case SQLITE_NOMEM:
        return CADRE_ENOMEM;
    case SQLITE_INTERRUPT:
        if (c->deadline_ms) {
            cadre_log(CADRE_LOG_WARN, "sqlite: statement cancelled after its timeout: %s", sql);
            return CADRE_ETIMEDOUT;
        }
        cadre_log(CADRE_LOG_ERROR, "sqlite: %s: %s", c->err, sql);
        return CADRE_EIO;
    case SQLITE_FULL:
        cadre_log(CADRE_LOG_ERROR, "sqlite: disk full: %s: %s", c->err, sql);
        return CADRE_ENOSPC;
    case SQLITE_READONLY:
        cadre_log(CADRE_LOG_ERROR, "sqlite: %s (is the file or its directory read-only?): %s",
                  c->err, sql);
        return CADRE_EREADONLY;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        cadre_log(CADRE_LOG_ERROR, "sqlite: the database file is damaged: %s: %s", c->err, sql);
        return CADRE_ECORRUPT;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
        if (read_only_storage(c)) {
            cadre_log(CADRE_LOG_ERROR, "sqlite: %s (%s is on read-only storage): %s", c->err,
                      c->path, sql);
            return CADRE_EREADONLY;
        }
        if (sys == ENOSPC || sys == EDQUOT || sys == EFBIG) {
            cadre_log(CADRE_LOG_ERROR, "sqlite: disk full: %s: %s", c->err, sql);
            return CADRE_ENOSPC;
        }
        if (sys == EROFS || sys == EACCES || sys == EPERM) {
            cadre_log(CADRE_LOG_ERROR, "sqlite: %s (%s): %s", c->err, strerror(sys), sql);
            return CADRE_EREADONLY;
        }
        cadre_log(CADRE_LOG_ERROR, "sqlite: %s%s%s: %s", c->err, sys ? ": " : "",
                  sys ? strerror(sys) : "", sql);
        return CADRE_EIO;
    default:
        cadre_log(CADRE_LOG_ERROR, "sqlite: %s: %s%s", c->err, sql,
                  strncmp(c->err, "no such table", 13) == 0
                      ? " (a missing table: have the migrations been applied? run the app's migrate "
                        "command)"
                      : "");
        return CADRE_EIO;
    }
}

/* The cached statement for sql, reset and with its bindings cleared. */
static struct cached *prepare(struct sconn *c, const char *sql, int *err)
{
    uint64_t hash = cadre__sql_hash(sql);
    for (size_t i = 0; i < c->cache.len; i++) {
        if (c->cache.items[i].hash == hash && strcmp(c->cache.items[i].sql, sql) == 0) {
            sqlite3_reset(c->cache.items[i].st);
            sqlite3_clear_bindings(c->cache.items[i].st);
            return &c->cache.items[i];
        }
    }
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK) {
        *err = is_busy(rc) ? BUSY_RETRY : fail(c, rc, sql); /* reading the schema can be busy */
        return NULL;
    }
    if (c->cache.len == MAX_CACHED) {
        /* full: drop the oldest */
        sqlite3_finalize(c->cache.items[0].st);
        free(c->cache.items[0].map);
        free(c->cache.items[0].sql);
        memmove(c->cache.items, c->cache.items + 1, (c->cache.len - 1) * sizeof *c->cache.items);
        c->cache.len--;
    }
    char *copy = strdup(sql);
    struct cached *k = copy ? CADRE_VEC_PUSH(&c->cache, NULL, MAX_CACHED) : NULL;
    if (!k) {
        free(copy);
        sqlite3_finalize(st);
        *err = CADRE_ENOMEM;
        return NULL;
    }
    *k = (struct cached){ copy, hash, st, NULL, NULL };
    return k;
}

static int bind(struct sconn *c, struct cached *k, const cadre_value *p, size_t n)
{
    if ((int)n != sqlite3_bind_parameter_count(k->st)) {
        cadre_log(CADRE_LOG_ERROR, "sqlite: %zu parameters given, the statement takes %d: %s", n,
                  sqlite3_bind_parameter_count(k->st), k->sql);
        return CADRE_EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        int rc, at = (int)i + 1;
        switch (p[i].type) {
        case CADRE_V_INT: rc = sqlite3_bind_int64(k->st, at, p[i].i); break;
        case CADRE_V_DOUBLE: rc = sqlite3_bind_double(k->st, at, p[i].d); break;
        case CADRE_V_TEXT:
            rc = p[i].s.ptr ? sqlite3_bind_text64(k->st, at, p[i].s.ptr, p[i].s.len, SQLITE_STATIC,
                                                  SQLITE_UTF8)
                            : sqlite3_bind_null(k->st, at);
            break;
        default: rc = sqlite3_bind_null(k->st, at); break;
        }
        if (rc != SQLITE_OK)
            return fail(c, rc, k->sql);
    }
    return 0;
}

/* Waits (suspending the request) while another request's transaction holds the connection. */
static int wait_turn(struct sconn *c, void *pinned)
{
    if (!c->in_tx || pinned == c)
        return 0;
    cadre_request *r = cadre_current_request();
    if (!r || c->owner == r)
        return c->owner == r ? 0 : CADRE_ESTATE;
    cadre__usage_waited(&c->usage);
    cadre__usage_add(&c->usage.waiting, 1);
    int rc = 0;
    for (int waited = 0; c->in_tx && !rc; waited++) {
        if (waited >= BUSY_TIMEOUT_MS)
            rc = CADRE_EBUSY;
        else
            cadre_sleep(r, 1);
    }
    cadre__usage_add(&c->usage.waiting, -1);
    return rc;
}

/* A statement that writes, outside a transaction (begin checks for those): is the file still
 * there? */
static int check_write(struct sconn *c, struct cached *k)
{
    if (c->in_tx || !sqlite3_get_autocommit(c->db) || sqlite3_stmt_readonly(k->st))
        return 0;
    return check_file(c);
}

/* One attempt of query: 0, a CADRE_E* code, or BUSY_RETRY (busy before the first row). */
static int query_once(struct sconn *c, void *pinned, cadre_arena *arena, const cadre_schema *s,
                      cadre_rows *out, const char *sql, const cadre_value *params, size_t nparams,
                      size_t max_rows)
{
    int err = wait_turn(c, pinned);
    if (err)
        return err;
    struct cached *k = prepare(c, sql, &err);
    if (!k)
        return err;
    if ((err = bind(c, k, params, nparams)) != 0 || (err = check_write(c, k)) != 0)
        return err;
    int ncols = sqlite3_column_count(k->st);
    if (k->map_for != s) {
        free(k->map);
        k->map = malloc((size_t)(ncols ? ncols : 1) * sizeof *k->map);
        if (!k->map) {
            k->map_for = NULL;
            return CADRE_ENOMEM;
        }
        for (int i = 0; i < ncols; i++) {
            const cadre_field *f = cadre__db_field_for(s, sqlite3_column_name(k->st, i));
            k->map[i] = f ? (int)(f - s->fields) : -1;
        }
        k->map_for = s;
    }
    size_t cap = 0, n = 0;
    char *rows = NULL;
    int rc;
    arm_deadline(c);
    while (n < max_rows && (rc = sqlite3_step(k->st)) == SQLITE_ROW) {
        char *row = cadre_vec_push(&rows, &n, &cap, s->size, arena, 0); /* zeroed, never NULL */
        for (int i = 0; i < ncols; i++) {
            if (k->map[i] < 0)
                continue;
            const cadre_field *f = &s->fields[k->map[i]];
            int type = sqlite3_column_type(k->st, i);
            void *dst = row + f->offset;
            uint64_t bit = (uint64_t)1 << k->map[i];
            if (type == SQLITE_INTEGER &&
                (f->type == CADRE_T_INT64 || f->type == CADRE_T_INT32 || f->type == CADRE_T_BOOL ||
                 f->type == CADRE_T_DOUBLE)) {
                int64_t v = sqlite3_column_int64(k->st, i);
                if (f->type == CADRE_T_INT64)
                    *(int64_t *)dst = v;
                else if (f->type == CADRE_T_INT32)
                    *(int32_t *)dst = (int32_t)v;
                else if (f->type == CADRE_T_BOOL)
                    *(bool *)dst = v != 0;
                else
                    *(double *)dst = (double)v;
                *(uint64_t *)(row + s->set_offset) |= bit;
            } else if (type == SQLITE_FLOAT && f->type == CADRE_T_DOUBLE) {
                *(double *)dst = sqlite3_column_double(k->st, i);
                *(uint64_t *)(row + s->set_offset) |= bit;
            } else {
                const char *text = type == SQLITE_NULL ? NULL : (const char *)sqlite3_column_text(k->st, i);
                size_t len = text ? (size_t)sqlite3_column_bytes(k->st, i) : 0;
                if (cadre__db_store_text(s, f, row, text, len, arena) != 0) {
                    cadre_log(CADRE_LOG_ERROR, "sqlite: column %s does not fit field %s.%s: %s",
                              sqlite3_column_name(k->st, i), s->name, f->name, sql);
                    sqlite3_reset(k->st);
                    return CADRE_EPARSE;
                }
            }
        }
    }
    if (n < max_rows && rc != SQLITE_DONE) {
        sqlite3_reset(k->st);
        if (n == 0 && is_busy(rc))
            return BUSY_RETRY;
        return fail(c, rc, sql);
    }
    sqlite3_reset(k->st);
    out->items = rows;
    out->len = n;
    return 0;
}

/* Runs attempt(state) until it is not BUSY_RETRY, sleeping the request in between (retry_busy). */
static int with_retry(struct sconn *c, const char *sql, int rc, int *attempt, int *waited)
{
    if (rc != BUSY_RETRY)
        return rc;
    rc = retry_busy(c, sql, attempt, waited);
    if (rc != 0) {
        snprintf(c->err, sizeof c->err, "database is locked");
        cadre_log(CADRE_LOG_WARN, "sqlite: database locked past %d ms: %s", BUSY_TIMEOUT_MS, sql);
        return rc;
    }
    return BUSY_RETRY;
}

static int query(void *conn, void *pinned, cadre_arena *arena, const cadre_schema *s,
                 cadre_rows *out, const char *sql, const cadre_value *params, size_t nparams,
                 size_t max_rows)
{
    struct sconn *c = conn;
    int rc, attempt = 0, waited = 0;
    mark_used(c, true);
    do {
        c->retrying = attempt > 0;
        rc = with_retry(c, sql, query_once(c, pinned, arena, s, out, sql, params, nparams, max_rows),
                        &attempt, &waited);
    } while (rc == BUSY_RETRY);
    c->retrying = false;
    mark_used(c, false);
    return rc;
}

/* One attempt of exec: 0, a CADRE_E* code, or BUSY_RETRY. */
static int exec_once(struct sconn *c, void *pinned, const char *sql, const cadre_value *params,
                     size_t nparams, int64_t *changes, int64_t *last_id)
{
    int err = wait_turn(c, pinned);
    if (err)
        return err;
    struct cached *k = prepare(c, sql, &err);
    if (!k)
        return err;
    if ((err = bind(c, k, params, nparams)) != 0 || (err = check_write(c, k)) != 0)
        return err;
    int rc;
    arm_deadline(c);
    while ((rc = sqlite3_step(k->st)) == SQLITE_ROW)
        ; /* rows of a statement run for its effect are ignored */
    sqlite3_reset(k->st);
    if (rc != SQLITE_DONE)
        return is_busy(rc) ? BUSY_RETRY : fail(c, rc, sql);
    if (changes)
        *changes = sqlite3_changes64(c->db);
    if (last_id)
        *last_id = sqlite3_last_insert_rowid(c->db);
    return 0;
}

static int exec(void *conn, void *pinned, const char *sql, const cadre_value *params,
                size_t nparams, int64_t *changes, int64_t *last_id)
{
    struct sconn *c = conn;
    int rc, attempt = 0, waited = 0;
    mark_used(c, true);
    do {
        c->retrying = attempt > 0;
        rc = with_retry(c, sql, exec_once(c, pinned, sql, params, nparams, changes, last_id),
                        &attempt, &waited);
    } while (rc == BUSY_RETRY);
    c->retrying = false;
    mark_used(c, false);
    return rc;
}

static int exec_script(void *conn, const char *sql)
{
    struct sconn *c = conn;
    char *msg = NULL;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        cadre_log(CADRE_LOG_ERROR, "sqlite: %s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return (rc & 0xff) == SQLITE_BUSY ? CADRE_EBUSY : CADRE_EIO;
    }
    return 0;
}

static const char read_begin_sql[] = "BEGIN"; /* deferred: a read transaction */
static const char read_end_sql[] = "COMMIT";

/* The runs share one read transaction: SQLite then takes its file locks once, not once per
 * statement (the locking system calls cost more than a point lookup). */
static int query_each(void *conn, cadre_arena *arena, const cadre_schema *s, void *rows,
                      bool *found, size_t n, const char *sql, const cadre_value *params,
                      size_t nparams)
{
    struct sconn *c = conn;
    int rc = wait_turn(c, NULL);
    if (rc)
        return rc;
    bool own = !c->in_tx; /* inside the caller's transaction already: no nesting */
    if (own && (rc = exec(c, NULL, read_begin_sql, NULL, 0, NULL, NULL)) != 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        cadre_rows one = { 0 };
        void *row = (char *)rows + i * s->size;
        rc = query(c, c, arena, s, &one, sql, params + i * nparams, nparams, 1);
        found[i] = rc == 0 && one.len;
        if (found[i])
            memcpy(row, one.items, s->size);
        else
            memset(row, 0, s->size);
    }
    if (own) {
        int end_rc = exec(c, c, read_end_sql, NULL, 0, NULL, NULL);
        if (rc == 0)
            rc = end_rc;
    }
    return rc;
}

static const char begin_sql[] = "BEGIN IMMEDIATE"; /* the write lock now, not at the first write */
static const char commit_sql[] = "COMMIT";
static const char rollback_sql[] = "ROLLBACK";

static int begin(void *conn, void **pinned)
{
    struct sconn *c = conn;
    int rc = wait_turn(c, NULL);
    if (rc)
        return rc;
    if ((rc = check_file(c)) != 0 || (rc = exec(c, NULL, begin_sql, NULL, 0, NULL, NULL)) != 0)
        return rc;
    /* exec may have slept (busy), but each attempt first waited its turn (wait_turn): no other
     * request's transaction is open now */
    c->in_tx = true;
    c->owner = cadre_current_request();
    cadre__usage_set(&c->usage.used, 1);
    *pinned = c;
    return 0;
}

static int end(void *conn, void *pinned, bool commit)
{
    struct sconn *c = conn;
    int rc = exec(c, pinned, commit ? commit_sql : rollback_sql, NULL, 0, NULL, NULL);
    if (rc && commit)
        exec(c, pinned, rollback_sql, NULL, 0, NULL, NULL);
    c->in_tx = false;
    c->owner = NULL;
    cadre__usage_set(&c->usage.used, 0);
    return rc;
}

static cadre__db_usage *usage(void *conn)
{
    return &((struct sconn *)conn)->usage;
}

const cadre__db_driver cadre__sqlite_driver = {
    .name = "sqlite",
    .connect = sqlite_connect,
    .disconnect = sqlite_disconnect,
    .query = query,
    .exec = exec,
    .query_each = query_each,
    .begin = begin,
    .end = end,
    .exec_script = exec_script,
    .errmsg = errmsg,
    .usage = usage,
};
