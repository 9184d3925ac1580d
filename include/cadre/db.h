/**
 * cadre/db.h — the database layer: one interface, a driver per engine. SQLite is the default
 * (`sqlite:///path/to/file.db`); PostgreSQL (`postgresql://…`) comes with its driver.
 *
 * Each worker thread gets its own connection per database (opened on first use, kept for the
 * thread's life), with its own cache of prepared statements, so queries take no lock. Values are
 * always bound parameters, never spliced into SQL. Rows are mapped into schema structs
 * (cadre/schema.h): a column fills the field of the same name.
 */
#ifndef CADRE_DB_H
#define CADRE_DB_H

#include "base.h"
#include "schema.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cadre_db cadre_db;

/** A bound parameter. Build them with the CADRE_P* macros. */
typedef struct cadre_value {
    enum { CADRE_V_NULL, CADRE_V_INT, CADRE_V_DOUBLE, CADRE_V_TEXT } type;
    int64_t i;
    double d;
    cadre_slice s;
} cadre_value;

#define CADRE_PNULL ((cadre_value){ .type = CADRE_V_NULL })
#define CADRE_PINT(x) ((cadre_value){ .type = CADRE_V_INT, .i = (x) })
#define CADRE_PDOUBLE(x) ((cadre_value){ .type = CADRE_V_DOUBLE, .d = (x) })
#define CADRE_PTEXT(str) ((cadre_value){ .type = CADRE_V_TEXT, .s = cadre_slice_cstr(str) })
#define CADRE_PSLICE(sl) ((cadre_value){ .type = CADRE_V_TEXT, .s = (sl) })

/** Rows returned by cadre_db_query: an array of structs of the query's schema. */
typedef struct cadre_rows_link cadre_rows_link;
typedef struct cadre_rows {
    void *items; /**< rows: ((T *)rows.items)[i] */
    size_t len;
    /** The parallel arrays of related rows a query joined (cadre_q_select_related), or NULL:
     *  read them with cadre_related. */
    const cadre_rows_link *links;
} cadre_rows;

/**
 * Related rows a query fetched with its rows. select_related (start NULL): the rows of field
 * `via`'s model, parallel to them: with->items[i] belongs to items[i]. prefetch (start set): the
 * rows of model `schema` whose foreign key `via` names one of them, grouped: items[i]'s are
 * with->items[start[i] .. start[i] + count[i]).
 */
struct cadre_rows_link {
    const struct cadre_field *via;
    const struct cadre_schema *schema;
    const cadre_rows *with;
    const size_t *start, *count;
    const cadre_rows_link *next;
};

/**
 * Opens a database by URL: "sqlite:///abs/path.db", "sqlite://relative.db" or a plain file path
 * (SQLite: WAL, a busy timeout of 5 s, foreign keys on), or "postgresql://user:pw@host:port/db"
 * (libpq, non-blocking: a query suspends only the calling request; up to 8 connections per worker
 * thread; libpq is loaded then, so SQLite-only apps do not carry it: CADRE_EUNSUPPORTED when it
 * cannot be loaded). Nothing is connected until first use. A URL Cadre does not know is
 * CADRE_EINVAL, logged with the forms it takes: "sqlite:/x.db" or "sqlite::memory:" are refused
 * rather than taken as file names (an in-memory database would be one per worker thread). The
 * cadre_db is shared by all threads; free it with cadre_db_close after the server stopped.
 *
 * SQL uses '?' placeholders on both engines (they become $1, $2… for PostgreSQL). On PostgreSQL,
 * cadre_db_exec's last_id is the first column of the first row returned (INSERT … RETURNING id).
 */
int cadre_db_open(const char *url, cadre_db **out /* OUT */);

/**
 * Opens the database the deployment names in $CADRE_DATABASE_URL, or fallback_url when that is
 * unset or empty: how apps take their database from the environment (twelve-factor style) with a
 * development default such as "sqlite://app.db". Errors as cadre_db_open.
 */
int cadre_db_open_env(const char *fallback_url, cadre_db **out /* OUT */);

/** Closes every connection (of every thread) and frees the database. */
void cadre_db_close(cadre_db *db);

/** The URL's engine name: "sqlite" or "postgresql". */
const char *cadre_db_engine(const cadre_db *db);

/**
 * Whether word (ASCII case ignored) is reserved by PostgreSQL's or SQLite's SQL, so that it cannot
 * name a table or a column as Cadre writes them, unquoted: "order", "user", "group", "select"…
 * Models and fields so named are refused when registered (cadre_models), and by
 * `cadre generate model`.
 */
bool cadre_sql_reserved(const char *word);

/**
 * Runs a query and maps every row into a struct of schema s: columns are matched to fields by
 * name, exactly or else ignoring case (PostgreSQL lower-cases unquoted names; extra columns are
 * ignored; fields without a column keep their zero value and are not marked present). A NULL
 * marks a CADRE_NULLABLE field present and null, so it is encoded as null; other fields stay
 * absent. Strings are copied into arena. The statement is prepared once per connection and
 * cached by its text (sql is copied: it may be built at run time).
 *
 * Returns 0, or CADRE_EIO (SQL error: logged with the statement), CADRE_ETIMEDOUT (the database
 * stayed locked past the busy timeout), CADRE_ECLOSED (cannot connect), CADRE_EPARSE (a column's
 * value does not fit its field: logged), CADRE_EINVAL (more than 65535 parameters on
 * PostgreSQL) or CADRE_ENOMEM.
 */
int cadre_db_query(cadre_db *db, cadre_arena *arena, const cadre_schema *s, cadre_rows *out /* OUT */,
                   const char *sql, const cadre_value *params, size_t nparams);

/**
 * As cadre_db_query for at most one row: 0 and *found = true with the row in *row (a struct of
 * schema s), or 0 and *found = false when there is none.
 */
int cadre_db_query_one(cadre_db *db, cadre_arena *arena, const cadre_schema *s, void *row,
                       bool *found /* OUT */, const char *sql, const cadre_value *params,
                       size_t nparams);

/**
 * Runs the same query n times with different parameters — params holds n groups of nparams — and
 * stores the first row of each run in rows[i] (an array of n structs of schema s, each zeroed when
 * its run found nothing, as found[i] says). On PostgreSQL the n runs travel as one pipeline: one
 * round trip instead of n. On SQLite they run one after another. Errors as cadre_db_query.
 */
int cadre_db_query_each(cadre_db *db, cadre_arena *arena, const cadre_schema *s, void *rows,
                        bool *found, size_t n, const char *sql, const cadre_value *params,
                        size_t nparams);

/**
 * Runs a statement that returns no rows. *changes (optional) gets the number of rows changed and
 * *last_id (optional) the rowid of the last insert. Errors as cadre_db_query, plus
 * CADRE_EEXIST for a UNIQUE or PRIMARY KEY violation and CADRE_ESTATE for other constraints.
 */
int cadre_db_exec(cadre_db *db, const char *sql, const cadre_value *params, size_t nparams,
                  int64_t *changes /* OUT, may be NULL */, int64_t *last_id /* OUT, may be NULL */);

/* ---------------------------------------------------------------------------------------------
 * Transactions: every statement on one connection, committed or rolled back as a whole.
 * ------------------------------------------------------------------------------------------- */

/** A transaction in progress. Fill it with cadre_db_begin; the fields are private. */
typedef struct cadre_tx {
    cadre_db *db;
    void *conn, *pinned;
    bool open;
    struct cadre_tx_hook *on_commit;
} cadre_tx;

/**
 * Begins a transaction (SQLite: BEGIN IMMEDIATE, so it holds the write lock from the start).
 * Until it ends, other requests of the same worker that use this database wait for it rather than
 * join it. End it with cadre_tx_commit or cadre_tx_rollback on every path. Errors as cadre_db_exec.
 */
int cadre_db_begin(cadre_db *db, cadre_tx *tx /* OUT */);

/** cadre_db_query, cadre_db_query_one and cadre_db_exec inside the transaction (CADRE_ESTATE
 *  once it has ended). */
int cadre_tx_query(cadre_tx *tx, cadre_arena *arena, const cadre_schema *s, cadre_rows *out,
                   const char *sql, const cadre_value *params, size_t nparams);
int cadre_tx_query_one(cadre_tx *tx, cadre_arena *arena, const cadre_schema *s, void *row,
                       bool *found, const char *sql, const cadre_value *params, size_t nparams);
int cadre_tx_exec(cadre_tx *tx, const char *sql, const cadre_value *params, size_t nparams,
                  int64_t *changes, int64_t *last_id);

/** Commits. If the commit fails the transaction is rolled back and the error returned. */
int cadre_tx_commit(cadre_tx *tx);

/** Rolls back (nothing if it already ended). */
void cadre_tx_rollback(cadre_tx *tx);

/**
 * Runs fn(ctx) once the transaction has committed, right after the commit and in the order
 * added (Django's transaction.on_commit): for what must happen only if the writes last — waking a
 * task queue's workers, sending a message about them. A rollback, or a failed commit, forgets it.
 * The same fn and ctx added again are kept once (a wake-up that each of many writes asks for
 * runs once). fn runs on the committing thread and must not fail. Returns 0, CADRE_ESTATE (the
 * transaction has ended) or CADRE_ENOMEM.
 */
int cadre_tx_on_commit(cadre_tx *tx, void (*fn)(void *ctx), void *ctx);

/**
 * Runs fn in a transaction: committed when fn returns >= 0, rolled back when it returns a negative
 * CADRE_E* (which is returned). Returns fn's result, or the begin/commit error.
 */
int cadre_db_atomic(cadre_db *db, int (*fn)(cadre_tx *tx, void *ctx), void *ctx);

/** Runs several statements separated by ';' (no parameters): schema set-up, migrations. */
int cadre_db_exec_script(cadre_db *db, const char *sql);

/**
 * Bounds every statement the current request runs from now on (on any database) to ms
 * milliseconds, 0 restoring the default (none beyond the drivers' 30 s): a statement still
 * running then is cancelled — by the server on PostgreSQL (statement_timeout; the connection is
 * kept), by interrupting it on SQLite — and its call returns CADRE_ETIMEDOUT. For the pages that
 * must stay cheap whatever the data (the admin's change lists): the handler answers with less
 * (no count) or says the query took too long, instead of holding a worker and the database.
 * Returns 0, CADRE_EINVAL for a negative ms, or CADRE_ESTATE outside a request.
 */
int cadre_db_statement_timeout(int ms);

/** The last error message on this thread's connection (static or connection-owned text). */
const char *cadre_db_errmsg(cadre_db *db);

/* ---------------------------------------------------------------------------------------------
 * Notifications (PostgreSQL's LISTEN/NOTIFY): one process tells the others something changed
 *
 * A listener is a connection of its own (not one of the pools'), listening on a channel. It is
 * waited on as a descriptor — a background coroutine's cadre_idle_fd (cadre/http.h) — and read
 * with cadre_db_listener_next. Notifications are sent with SQL on any connection:
 * `SELECT pg_notify('channel', 'payload')`, which inside a transaction is delivered when it
 * commits, and not at all when it rolls back. The tasks module wakes other instances' workers
 * this way when a job is enqueued.
 * ------------------------------------------------------------------------------------------- */

typedef struct cadre_db_listener cadre_db_listener;

/**
 * Opens a connection that listens on channel (1 to 63 of [a-z0-9_], not starting with a digit).
 * Suspends the current request while it connects and while the server answers LISTEN (else
 * blocks), up to 5 s each. The listener is the caller's (cadre_db_listener_close), used on the
 * thread that opened it. Returns 0 with *out, CADRE_EINVAL (a bad channel), CADRE_EUNSUPPORTED
 * (SQLite: one process has nothing to tell itself this way; or libpq is not installed),
 * CADRE_ECLOSED (the server cannot be reached, or the connection broke: logged),
 * CADRE_ETIMEDOUT (no answer in time), CADRE_EIO (LISTEN refused, as by a standby: logged) or
 * CADRE_ENOMEM.
 */
int cadre_db_listen(cadre_db *db, const char *channel, cadre_db_listener **out /* OUT */);

/** The listener's socket, readable when a notification may have come (-1 once lost). */
int cadre_db_listener_fd(const cadre_db_listener *l);

/**
 * The next notification that has come, its payload copied into payload[0..cap) (cut to fit,
 * NUL-terminated; NULL to skip it; PostgreSQL's payloads are under 8000 bytes, so a cap of 8000
 * never cuts). Never waits. Returns 1 (one taken), 0 (none now) or
 * CADRE_ECLOSED (the connection was lost, logged: close the listener and listen again —
 * notifications sent meanwhile are lost, so look at what changed).
 */
int cadre_db_listener_next(cadre_db_listener *l, char *payload, size_t cap);

/** Closes the listener (NULL: nothing). */
void cadre_db_listener_close(cadre_db_listener *l);

/* ---------------------------------------------------------------------------------------------
 * Connection usage, for metrics
 * ------------------------------------------------------------------------------------------- */

/** How the database's connections are used now, summed over every worker thread. */
typedef struct cadre_db_stats {
    unsigned connections; /**< open (SQLite: one per thread; PostgreSQL: up to 8 per worker) */
    unsigned in_use;      /**< of them, running a statement or held by an open transaction */
    unsigned waiting;     /**< requests waiting: for a connection (PostgreSQL, all of their
                               worker's in use), another request's transaction or a lock held by
                               another process (SQLite) */
    uint64_t waits;       /**< requests that have had to wait so, since the database was opened */
} cadre_db_stats;

/** Fills *out. Any thread; takes the database's lock for a moment, writes nothing the queries
 *  share (each connection counts its own). */
void cadre_db_pool_stats(cadre_db *db, cadre_db_stats *out /* OUT */);

typedef struct cadre_app cadre_app;

/**
 * Adds the database's usage to the app's /metrics (cadre/app.h), read at each scrape:
 * db_pool_connections_open, db_pool_connections_in_use and db_pool_requests_waiting (gauges),
 * db_pool_waits_total (a counter). cadre_models does it for the models' database; call it for a
 * database you open yourself. One database per app: a second call answers CADRE_EEXIST.
 * db must outlive the app. Returns 0, CADRE_EINVAL (app or db NULL), CADRE_EEXIST or
 * CADRE_ENOMEM.
 */
int cadre_db_metrics(cadre_app *app, cadre_db *db);

/**
 * WebSocket topics across instances (cadre/websocket.h): with PostgreSQL, what any instance of
 * the app publishes (cadre_ws_publish) reaches the subscribed sockets of every instance that
 * called this — Django Channels' Redis layer, in the database the app already has. Worker 0 of
 * each instance sends its process's publishes to the channel cadre_topics with NOTIFY (many to a
 * statement; a message of any size, cut into 8000-byte notifications) and listens to the
 * others' on a connection of its own. The publisher never waits; delivery stays at most once:
 * what is published while the database is down reaches the instance's own sockets only (said
 * once), and order is kept per publishing instance. On SQLite it does nothing and returns 0:
 * publishes reach the sockets of the process that makes them (run the tasks that publish inside
 * `serve`, not in a separate `APP worker`). Call it once, at start-up; db must outlive the app.
 * Returns 0, CADRE_EINVAL, CADRE_EEXIST (a second call), CADRE_ESYSTEM or CADRE_ENOMEM.
 */
int cadre_db_relay_topics(cadre_app *app, cadre_db *db);

#ifdef __cplusplus
}
#endif
#endif
