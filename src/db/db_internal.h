/* Private declarations of the db module: the driver interface. Never installed. */
#ifndef CADRE_DB_INTERNAL_H
#define CADRE_DB_INTERNAL_H

#include <cadre/db.h>

#include <pthread.h>
#include <stdatomic.h>

/* How a driver's connection is used, for cadre_db_pool_stats: written only by the thread that
 * owns the connection (a load and a store, no locked instruction), read by any. */
typedef struct cadre__db_usage {
    atomic_uint open;                /* connections open */
    atomic_uint used;                /* of them running a statement or held by a transaction */
    atomic_uint waiting;             /* requests waiting for a connection or a lock */
    atomic_uint_fast64_t waits;      /* requests that have had to wait */
} cadre__db_usage;

static inline void cadre__usage_add(atomic_uint *v, int d)
{
    atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + (unsigned)d,
                          memory_order_relaxed);
}

static inline void cadre__usage_set(atomic_uint *v, unsigned x)
{
    atomic_store_explicit(v, x, memory_order_relaxed);
}

static inline void cadre__usage_waited(cadre__db_usage *u)
{
    atomic_store_explicit(&u->waits, atomic_load_explicit(&u->waits, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* One engine's functions; a connection is the driver's own object. */
typedef struct cadre__db_driver {
    const char *name;
    int (*connect)(const char *target, void **conn);
    void (*disconnect)(void *conn);
    /* pinned: the connection of a transaction (from begin), or NULL for any */
    int (*query)(void *conn, void *pinned, cadre_arena *arena, const cadre_schema *s,
                 cadre_rows *out, const char *sql, const cadre_value *params, size_t nparams,
                 size_t max_rows);
    int (*exec)(void *conn, void *pinned, const char *sql, const cadre_value *params,
                size_t nparams, int64_t *changes, int64_t *last_id);
    /* A transaction: begin pins a connection (*pinned) and sends BEGIN; end sends COMMIT (or
     * ROLLBACK when commit is false) and unpins it. */
    /* The same statement n times (params: n groups of nparams), the first row of each into
     * rows[i] with found[i]; NULL when the engine has nothing better than a loop. */
    int (*query_each)(void *conn, cadre_arena *arena, const cadre_schema *s, void *rows,
                      bool *found, size_t n, const char *sql, const cadre_value *params,
                      size_t nparams);
    int (*begin)(void *conn, void **pinned);
    int (*end)(void *conn, void *pinned, bool commit);
    int (*exec_script)(void *conn, const char *sql);
    const char *(*errmsg)(void *conn);
    cadre__db_usage *(*usage)(void *conn);
} cadre__db_driver;

extern const cadre__db_driver cadre__sqlite_driver;
extern const cadre__db_driver cadre__postgres_driver;

/* A listening connection to conninfo on channel (postgres.c; the channel checked). */
int cadre__pg_listen(const char *conninfo, const char *channel, cadre_db_listener **out);

/* Loads libpq on first use (postgres.c). Returns 0 or CADRE_EUNSUPPORTED (logged). */
int cadre__pq_available(void);

/* FNV-1a of a statement's text: prepared-statement caches are keyed by text, not by address,
 * because the query builder's SQL lives in request arenas whose addresses are reused. */
static inline uint64_t cadre__sql_hash(const char *sql)
{
    uint64_t h = 1469598103934665603u;
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
        h = (h ^ *p) * 1099511628211u;
    return h;
}

/* The field a result column fills: the same name, or failing that the same name in another case
 * (PostgreSQL folds unquoted identifiers to lower case: randomNumber arrives as randomnumber). */
const cadre_field *cadre__db_field_for(const cadre_schema *s, const char *column);

/* Stores one column value into a row struct (shared by drivers): the text form of the value, or
 * NULL for SQL NULL (a nullable field is then present and null; another stays absent). Returns 0
 * or CADRE_EPARSE (a value the field's type cannot hold). */
int cadre__db_store_text(const cadre_schema *s, const cadre_field *f, void *row, const char *text,
                         size_t len, cadre_arena *arena);

/* The current request's statement timeout (cadre_db_statement_timeout) in ms, 0 for none. */
int cadre__db_statement_timeout(void);

/* WebSocket topics across instances (relay.c). A message as notifications: emit is called
 * with each, in order (not NUL-terminated). Returns 0, CADRE_ENOMEM or CADRE_ETOOBIG. */
int cadre__relay_chunks(const char *instance, uint64_t seq, const char *topic, int type,
                        const void *data, size_t len,
                        void (*emit)(const char *s, size_t n, void *ctx), void *ctx);
/* The receiving side, without a database (the listener's, and the fuzz target's): notifications
 * in (NUL-terminated), whole messages out to sink; own's (16 hex digits) are skipped. */
typedef struct cadre__relay_rx cadre__relay_rx;
cadre__relay_rx *cadre__relay_rx_new(const char *own,
                                     void (*sink)(const char *topic, int type, const void *data,
                                                  size_t len, void *ctx),
                                     void *ctx);
void cadre__relay_rx_take(cadre__relay_rx *rx, const char *notification);
void cadre__relay_rx_free(cadre__relay_rx *rx);

#endif
