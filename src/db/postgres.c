/*
 * The PostgreSQL driver, on libpq's asynchronous API: connecting, sending and waiting for results
 * never block the worker. While libpq waits for the socket, the request's coroutine waits in
 * cadre_wait_fd and the worker serves other connections; outside a request (start-up, command-line
 * subcommands) it waits in poll(2).
 *
 * A worker thread has a small pool of connections per database (the "connection" db.c keeps per
 * thread is this pool), because several suspended requests of one worker may each be in the
 * middle of a query. Statements are prepared once per connection; '?' placeholders are rewritten
 * to $1, $2… so the same SQL runs on SQLite and PostgreSQL. After the server restarts, the next
 * query finds the connection broken, answers CADRE_ECLOSED (503), and the one after reconnects.
 */
#include "db_internal.h"

#include <cadre/http.h>

#include <dlfcn.h>
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* libpq is loaded when the first PostgreSQL database is opened, not linked: an app on SQLite (or
 * on no database) then does not carry libpq and what it pulls in (TLS, Kerberos, LDAP: several
 * megabytes of resident memory). */
#define PQ_FUNCTIONS(X) \
    X(PQclear) \
    X(PQcmdTuples) \
    X(PQconnectPoll) \
    X(PQconnectStart) \
    X(PQconsumeInput) \
    X(PQenterPipelineMode) \
    X(PQerrorMessage) \
    X(PQexitPipelineMode) \
    X(PQfinish) \
    X(PQflush) \
    X(PQfreemem) \
    X(PQfname) \
    X(PQgetResult) \
    X(PQgetisnull) \
    X(PQgetlength) \
    X(PQgetvalue) \
    X(PQisBusy) \
    X(PQnfields) \
    X(PQnotifies) \
    X(PQntuples) \
    X(PQpipelineStatus) \
    X(PQpipelineSync) \
    X(PQresultErrorField) \
    X(PQresultErrorMessage) \
    X(PQresultStatus) \
    X(PQsendPrepare) \
    X(PQsendQuery) \
    X(PQsendQueryPrepared) \
    X(PQsetNoticeProcessor) \
    X(PQsetnonblocking) \
    X(PQsocket) \
    X(PQstatus)

static struct {
#define PQ_POINTER(f) __typeof__(&f) f;
    PQ_FUNCTIONS(PQ_POINTER)
#undef PQ_POINTER
} pq;

static pthread_once_t pq_once = PTHREAD_ONCE_INIT;
static const char *pq_error; /* why libpq could not be loaded, or NULL */

static void pq_load(void)
{
    void *h = dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        pq_error = "libpq.so.5 cannot be loaded (install the libpq5 package)";
        return;
    }
#define PQ_RESOLVE(f)                                                                              \
    if (!(*(void **)&pq.f = dlsym(h, #f))) {                                                      \
        pq_error = "libpq.so.5 lacks " #f " (libpq 14 or later is needed)";                        \
        return;                                                                                    \
    }
    PQ_FUNCTIONS(PQ_RESOLVE)
#undef PQ_RESOLVE
}

int cadre__pq_available(void)
{
    pthread_once(&pq_once, pq_load);
    if (pq_error) {
        cadre_log(CADRE_LOG_ERROR, "postgresql: %s", pq_error);
        return CADRE_EUNSUPPORTED;
    }
    return 0;
}

#define POOL_MAX 8           /* connections per worker thread and database */
#define CONNECT_TIMEOUT_MS 5000
#define QUERY_TIMEOUT_MS 30000
#define ACQUIRE_TIMEOUT_MS 10000
#define MAX_PREPARED 256     /* statements kept prepared per connection */

struct pstmt {
    char *sql; /* own copy of the text */
    uint64_t hash;
    int nparams;     /* its '?' placeholders */
    char name[16];
    const cadre_schema *map_for;
    int *map;
    int ncols;
};

struct pconn {
    PGconn *pg;
    bool busy;
    bool in_tx; /* a transaction is open: never reconnect silently in the middle of one */
    int timeout; /* the session's statement_timeout in ms (0: none), -1 when not known */
    struct pstmt *stmts;
    size_t nstmts, cap;
    char err[256];
};

/* A request waiting for a connection (on its own coroutine stack while it waits). */
struct waiter {
    cadre_request *r;
    struct pconn *given; /* the connection handed to it by release */
    struct waiter *next;
};

struct pool {
    char *conninfo;
    struct pconn conns[POOL_MAX];
    size_t n;
    struct waiter *wait_head, *wait_tail; /* FIFO: the first to wait gets the next connection */
    char err[256];
    cadre__db_usage usage;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Waits until the connection's socket is ready, suspending the current request if there is one.
 * Returns 0, or CADRE_ETIMEDOUT. */
static int wait_socket(PGconn *pg, bool write, uint64_t deadline)
{
    uint64_t now = now_ms();
    if (now >= deadline)
        return CADRE_ETIMEDOUT;
    int timeout = (int)(deadline - now);
    int fd = pq.PQsocket(pg);
    if (fd < 0)
        return CADRE_ECLOSED;
    cadre_request *r = cadre_current_request();
    if (r) {
        int rc = cadre_wait_fd(r, fd, write ? CADRE_WAIT_WRITE : CADRE_WAIT_READ, timeout);
        if (rc != CADRE_ESTATE)
            return rc;
    }
    struct pollfd p = { .fd = fd, .events = write ? POLLOUT : POLLIN };
    int n;
    do {
        n = poll(&p, 1, timeout);
    } while (n < 0 && errno == EINTR);
    return n == 0 ? CADRE_ETIMEDOUT : 0;
}

/* Server notices ("table does not exist, skipping") go to the debug log, not to stderr. */
static void notice(void *arg, const char *msg)
{
    (void)arg;
    cadre_log(CADRE_LOG_DEBUG, "postgresql: %s", msg);
}

static void drop(struct pconn *c)
{
    for (size_t i = 0; i < c->nstmts; i++) {
        free(c->stmts[i].map);
        free(c->stmts[i].sql);
    }
    free(c->stmts);
    c->stmts = NULL;
    c->nstmts = c->cap = 0;
    if (c->pg)
        pq.PQfinish(c->pg);
    c->pg = NULL;
}

static PGresult *next_result(PGconn *pg, uint64_t deadline, int *rc);

/*
 * The session reads timestamptz values in UTC, as Django's connections do with USE_TZ: a row
 * reads back the same on every server (whatever its TimeZone setting or the client's PGTZ), and
 * the same as on SQLite, where datetimes are stored in UTC (docs/database.md).
 */
static int session_utc(PGconn *pg, uint64_t deadline)
{
    if (!pq.PQsendQuery(pg, "SET TimeZone = 'UTC'"))
        return CADRE_ECLOSED;
    int rc = 0, step;
    PGresult *res;
    while ((res = next_result(pg, deadline, &step)) != NULL) {
        if (pq.PQresultStatus(res) != PGRES_COMMAND_OK)
            rc = CADRE_ECLOSED;
        pq.PQclear(res);
    }
    return rc ? rc : step;
}

static int pg_connect_to(const char *conninfo, char *err, size_t errlen, struct pconn *c)
{
    drop(c);
    c->pg = pq.PQconnectStart(conninfo);
    if (!c->pg)
        return CADRE_ENOMEM;
    if (pq.PQstatus(c->pg) == CONNECTION_BAD)
        goto bad;
    uint64_t deadline = now_ms() + CONNECT_TIMEOUT_MS;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED)
            goto bad;
        int rc = wait_socket(c->pg, st == PGRES_POLLING_WRITING, deadline);
        if (rc)
            goto bad;
        st = pq.PQconnectPoll(c->pg);
    }
    if (pq.PQsetnonblocking(c->pg, 1) != 0 || session_utc(c->pg, deadline) != 0)
        goto bad;
    pq.PQsetNoticeProcessor(c->pg, notice, NULL);
    c->timeout = 0;
    return 0;
bad:
    snprintf(err, errlen, "%s", c->pg ? pq.PQerrorMessage(c->pg) : "connection failed");
    cadre_log(CADRE_LOG_ERROR, "postgresql: cannot connect: %s", err);
    drop(c);
    return CADRE_ECLOSED;
}

static int pg_connect_one(struct pool *p, struct pconn *c)
{
    return pg_connect_to(p->conninfo, p->err, sizeof p->err, c);
}

static int pg_connect(const char *conninfo, void **out)
{
    int loaded = cadre__pq_available();
    if (loaded)
        return loaded;
    struct pool *p = calloc(1, sizeof *p);
    if (!p)
        return CADRE_ENOMEM;
    p->conninfo = strdup(conninfo);
    if (!p->conninfo) {
        free(p);
        return CADRE_ENOMEM;
    }
    /* The first connection now, so that a wrong URL or a stopped server shows at once. */
    int rc = pg_connect_one(p, &p->conns[0]);
    if (rc) {
        free(p->conninfo);
        free(p);
        return rc;
    }
    p->n = 1;
    cadre__usage_set(&p->usage.open, 1);
    *out = p;
    return 0;
}

static void pg_disconnect(void *conn)
{
    struct pool *p = conn;
    for (size_t i = 0; i < p->n; i++)
        drop(&p->conns[i]);
    free(p->conninfo);
    free(p);
}

static const char *pg_errmsg(void *conn)
{
    return ((struct pool *)conn)->err;
}

/* Takes a free connection of the pool (opening one if needed), waiting while all are busy. */
static int acquire(struct pool *p, struct pconn **out)
{
    for (size_t i = 0; i < p->n; i++) {
        if (!p->conns[i].busy) {
            *out = &p->conns[i];
            (*out)->busy = true;
            cadre__usage_add(&p->usage.used, 1);
            return 0;
        }
    }
    if (p->n < POOL_MAX) {
        *out = &p->conns[p->n++];
        (*out)->busy = true;
        cadre__usage_set(&p->usage.open, (unsigned)p->n);
        cadre__usage_add(&p->usage.used, 1);
        return 0;
    }
    /* all in use by other requests of this worker: queue until release hands one over */
    cadre_request *r = cadre_current_request();
    if (!r)
        return CADRE_ETIMEDOUT;
    struct waiter me = { r, NULL, NULL };
    if (p->wait_tail)
        p->wait_tail->next = &me;
    else
        p->wait_head = &me;
    p->wait_tail = &me;
    cadre__usage_waited(&p->usage);
    cadre__usage_add(&p->usage.waiting, 1);
    cadre_wait_fd(r, -1, 0, ACQUIRE_TIMEOUT_MS);
    cadre__usage_add(&p->usage.waiting, -1);
    if (me.given) {
        *out = me.given;
        return 0;
    }
    /* timed out: leave the queue */
    for (struct waiter **w = &p->wait_head, *prev = NULL; *w; prev = *w, w = &(*w)->next) {
        if (*w == &me) {
            *w = me.next;
            if (p->wait_tail == &me)
                p->wait_tail = prev;
            break;
        }
    }
    return CADRE_ETIMEDOUT;
}

/* Gives c to the first waiting request, or marks it free. */
static void release(struct pool *p, struct pconn *c)
{
    struct waiter *w = p->wait_head;
    if (!w) {
        c->busy = false;
        cadre__usage_add(&p->usage.used, -1);
        return;
    }
    p->wait_head = w->next;
    if (!p->wait_head)
        p->wait_tail = NULL;
    w->given = c; /* stays busy: it changes hands */
    cadre_wake(w->r);
}

/* Sends what libpq has buffered, then waits for and returns the next result (NULL at the end).
 * *rc gets an error code when waiting failed. */
static PGresult *next_result(PGconn *pg, uint64_t deadline, int *rc)
{
    *rc = 0;
    int f;
    while ((f = pq.PQflush(pg)) == 1) {
        if ((*rc = wait_socket(pg, true, deadline)) != 0)
            return NULL;
    }
    if (f < 0) {
        *rc = CADRE_ECLOSED;
        return NULL;
    }
    while (pq.PQisBusy(pg)) {
        if ((*rc = wait_socket(pg, false, deadline)) != 0)
            return NULL;
        if (!pq.PQconsumeInput(pg)) {
            *rc = CADRE_ECLOSED;
            return NULL;
        }
    }
    return pq.PQgetResult(pg);
}

/* Maps a failed result to a CADRE_E* code (SQLSTATE class 23: constraint violations). */
static int result_error(struct pool *p, struct pconn *c, PGresult *res, const char *sql)
{
    const char *state = res ? pq.PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? pq.PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = res ? pq.PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    if (primary) /* "duplicate key value … (Key (name)=(Acme) already exists.)", no "ERROR:  " */
        snprintf(p->err, sizeof p->err, "%s%s%s%s", primary, detail ? " (" : "", detail ? detail : "",
                 detail ? ")" : "");
    else
        snprintf(p->err, sizeof p->err, "%s", res ? pq.PQresultErrorMessage(res) : pq.PQerrorMessage(c->pg));
    size_t len = strlen(p->err);
    while (len && (p->err[len - 1] == '\n' || p->err[len - 1] == ' '))
        p->err[--len] = '\0';
    /* class 08 (connection exception) and 57P (the server is shutting down or restarting) */
    if (pq.PQstatus(c->pg) == CONNECTION_BAD ||
        (state && (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0))) {
        cadre_log(CADRE_LOG_ERROR, "postgresql: connection lost: %s", p->err);
        drop(c);
        return CADRE_ECLOSED;
    }
    if (state && strcmp(state, "23505") == 0)
        return CADRE_EEXIST;
    if (state && strncmp(state, "23", 2) == 0)
        return CADRE_ESTATE;
    if (state && (strcmp(state, "57014") == 0))
        return CADRE_ETIMEDOUT; /* query canceled (statement_timeout) */
    /* The server's own troubles, each the operator's to tell apart (the reason goes in the 503):
     * disk full (53100), read-only (25006: a standby, default_transaction_read_only), damaged
     * data (XX001, XX002), a lock not granted in time (55P03: lock_timeout). */
    int trouble = !state                        ? 0
                  : strcmp(state, "53100") == 0 ? CADRE_ENOSPC
                  : strcmp(state, "25006") == 0 ? CADRE_EREADONLY
                  : strcmp(state, "XX001") == 0 || strcmp(state, "XX002") == 0 ? CADRE_ECORRUPT
                  : strcmp(state, "55P03") == 0 ? CADRE_EBUSY
                                                : 0;
    if (trouble) {
        cadre_log(CADRE_LOG_ERROR, "postgresql: %s: %s", p->err, sql);
        return trouble;
    }
    cadre_log(CADRE_LOG_ERROR, "postgresql: %s: %s%s", p->err, sql,
              state && strcmp(state, "42P01") == 0 ? " (a missing table: have the migrations been "
                                                     "applied? run the app's migrate command)"
                                                   : "");
    return CADRE_EIO;
}

/* Drains the remaining results of the current command. */
static int finish_command(struct pconn *c, uint64_t deadline)
{
    int rc;
    PGresult *res;
    while ((res = next_result(c->pg, deadline, &rc)) != NULL)
        pq.PQclear(res);
    return rc;
}

/* '?' placeholders (outside quotes) become $1, $2, …; *count gets how many there were. NULL when
 * out of memory, or with *count -1 when there are more than PostgreSQL takes. */
static char *rewrite(const char *sql, int *count)
{
    size_t n = strlen(sql), q = 0;
    for (size_t i = 0; i < n; i++)
        q += sql[i] == '?';
    *count = -1;
    if (q > 65535) { /* PostgreSQL's own limit on bound parameters */
        cadre_log(CADRE_LOG_ERROR, "postgresql: %zu parameters, more than the 65535 allowed", q);
        return NULL;
    }
    char *out = malloc(n + 6 * q + 1); /* "$65535" is 6 bytes for one '?' */
    if (!out)
        return NULL;
    size_t o = 0;
    int k = 0;
    char quote = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = sql[i];
        if (quote) {
            if (ch == quote)
                quote = 0;
        } else if (ch == '\'' || ch == '"') {
            quote = ch;
        } else if (ch == '?') {
            o += (size_t)snprintf(out + o, 7, "$%d", ++k);
            continue;
        }
        out[o++] = ch;
    }
    out[o] = '\0';
    *count = k;
    return out;
}

/* The prepared statement for sql on this connection. */
static int prepare(struct pool *p, struct pconn *c, const char *sql, uint64_t deadline,
                   struct pstmt **out)
{
    uint64_t hash = cadre__sql_hash(sql);
    for (size_t i = 0; i < c->nstmts; i++) {
        if (c->stmts[i].hash == hash && strcmp(c->stmts[i].sql, sql) == 0) {
            *out = &c->stmts[i];
            return 0;
        }
    }
    if (c->nstmts == MAX_PREPARED) {
        /* full (generated SQL has many shapes): start over, on the server too */
        int rc = pq.PQsendQuery(c->pg, "DEALLOCATE ALL") ? finish_command(c, deadline)
                                                       : result_error(p, c, NULL, sql);
        if (rc)
            return rc;
        for (size_t i = 0; i < c->nstmts; i++) {
            free(c->stmts[i].map);
            free(c->stmts[i].sql);
        }
        c->nstmts = 0;
    }
    if (c->nstmts == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        struct pstmt *n = realloc(c->stmts, cap * sizeof *n);
        if (!n)
            return CADRE_ENOMEM;
        c->stmts = n;
        c->cap = cap;
    }
    struct pstmt *s = &c->stmts[c->nstmts];
    memset(s, 0, sizeof *s);
    s->hash = hash;
    char *copy = s->sql = strdup(sql);
    if (!copy)
        return CADRE_ENOMEM;
    snprintf(s->name, sizeof s->name, "cadre%zu", c->nstmts);
    char *text = rewrite(sql, &s->nparams);
    if (!text) {
        free(copy);
        s->sql = NULL;
        return s->nparams < 0 ? CADRE_EINVAL : CADRE_ENOMEM;
    }
    int ok = pq.PQsendPrepare(c->pg, s->name, text, 0, NULL);
    free(text);
    int rc = 0;
    PGresult *res = ok ? next_result(c->pg, deadline, &rc) : NULL;
    if (!ok)
        rc = result_error(p, c, NULL, sql);
    else if (!res)
        rc = rc ? rc : CADRE_ECLOSED;
    else if (pq.PQresultStatus(res) != PGRES_COMMAND_OK) {
        rc = result_error(p, c, res, sql);
        if (c->pg)
            finish_command(c, deadline);
    }
    pq.PQclear(res);
    if (rc == 0)
        rc = finish_command(c, deadline);
    if (rc) {
        /* not kept (and if the connection was dropped, s went with its array) */
        free(copy);
        if (c->pg)
            s->sql = NULL;
        return rc;
    }
    c->nstmts++;
    *out = s;
    return 0;
}

/*
 * CADRE_EINVAL (logged) when a text parameter holds a NUL byte: text-format parameters travel as
 * C strings, so the value would arrive cut short (and PostgreSQL cannot store a NUL in text at
 * all). Refused rather than truncated: "a\0zzz" must not compare or store as "a".
 */
static int nul_in_text(struct pool *p, const char *sql, const cadre_value *params, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (params[i].type == CADRE_V_TEXT && params[i].s.ptr &&
            memchr(params[i].s.ptr, '\0', params[i].s.len)) {
            snprintf(p->err, sizeof p->err, "parameter %zu holds a NUL byte", i + 1);
            cadre_log(CADRE_LOG_ERROR, "postgresql: %s: %s", p->err, sql);
            return CADRE_EINVAL;
        }
    }
    return 0;
}

/*
 * Gives the session the statement_timeout the current request asks for (cadre_db_statement_
 * timeout), when it has another: the server then cancels a statement that runs longer (57014,
 * CADRE_ETIMEDOUT) and the connection stays usable. A SET is one round trip, made only when the
 * setting changes; a rolled-back transaction may have undone it, so the value is then unknown.
 */
static int session_timeout(struct pool *p, struct pconn *c, int ms, uint64_t deadline)
{
    if (c->timeout == ms)
        return 0;
    char sql[64];
    snprintf(sql, sizeof sql, "SET statement_timeout = %d", ms);
    if (!pq.PQsendQuery(c->pg, sql))
        return result_error(p, c, NULL, sql);
    int rc = 0, step;
    PGresult *res;
    while ((res = next_result(c->pg, deadline, &step)) != NULL) {
        if (pq.PQresultStatus(res) != PGRES_COMMAND_OK && !rc)
            rc = result_error(p, c, res, sql);
        pq.PQclear(res);
    }
    if (!rc && step)
        rc = step;
    c->timeout = rc ? -1 : ms;
    return rc;
}

/* Runs a prepared statement; *res gets its (first) result, to PQclear. */
static int run(struct pool *p, struct pconn *c, const char *sql, const cadre_value *params,
               size_t nparams, PGresult **res)
{
    int limit = cadre__db_statement_timeout();
    /* the server cancels first; the client's own deadline is for a server that does not answer */
    uint64_t deadline = now_ms() + (limit && limit < QUERY_TIMEOUT_MS ? (uint64_t)limit + 1000
                                                                      : QUERY_TIMEOUT_MS);
    int rc = nul_in_text(p, sql, params, nparams);
    if (rc)
        return rc;
    if (!c->pg && c->in_tx)
        return CADRE_ECLOSED; /* the connection died with the transaction's work on it */
    if (!c->pg && (rc = pg_connect_one(p, c)) != 0)
        return rc;
    if ((rc = session_timeout(p, c, limit, deadline)) != 0)
        return rc;
    struct pstmt *s = NULL;
    if ((rc = prepare(p, c, sql, deadline, &s)) != 0)
        return rc;
    if ((int)nparams != s->nparams) {
        cadre_log(CADRE_LOG_ERROR, "postgresql: %zu parameters given, the statement takes %d: %s",
                  nparams, s->nparams, sql);
        return CADRE_EINVAL;
    }
    /* text-format parameters, NUL-terminated, in a scratch arena */
    cadre_arena scratch;
    cadre_arena_init(&scratch, 1024);
    const char **vals = cadre_arena_alloc(&scratch, (nparams ? nparams : 1) * sizeof *vals);
    for (size_t i = 0; i < nparams; i++) {
        switch (params[i].type) {
        case CADRE_V_INT: vals[i] = cadre_arena_printf(&scratch, "%lld", (long long)params[i].i); break;
        case CADRE_V_DOUBLE: vals[i] = cadre_arena_printf(&scratch, "%.17g", params[i].d); break;
        case CADRE_V_TEXT:
            vals[i] = params[i].s.ptr ? cadre_arena_strndup(&scratch, params[i].s.ptr, params[i].s.len)
                                      : NULL;
            break;
        default: vals[i] = NULL; break;
        }
    }
    int ok = pq.PQsendQueryPrepared(c->pg, s->name, (int)nparams, vals, NULL, NULL, 0);
    cadre_arena_free(&scratch);
    if (!ok)
        return result_error(p, c, NULL, sql);
    *res = next_result(c->pg, deadline, &rc);
    if (!*res) {
        if (rc == CADRE_ETIMEDOUT) {
            /* give up on this connection: it is mid-command */
            drop(c);
            return rc;
        }
        return rc ? rc : result_error(p, c, NULL, sql);
    }
    ExecStatusType st = pq.PQresultStatus(*res);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        rc = result_error(p, c, *res, sql);
        pq.PQclear(*res);
        *res = NULL;
    }
    if (c->pg) {
        int drc = finish_command(c, deadline);
        if (!rc)
            rc = drc;
    }
    if (rc && *res) {
        pq.PQclear(*res);
        *res = NULL;
    }
    return rc;
}

static int pg_query(void *conn, void *pinned, cadre_arena *arena, const cadre_schema *s,
                    cadre_rows *out, const char *sql, const cadre_value *params, size_t nparams,
                    size_t max_rows)
{
    struct pool *p = conn;
    struct pconn *c = pinned;
    int rc = c ? 0 : acquire(p, &c);
    if (rc)
        return rc;
    PGresult *res = NULL;
    rc = run(p, c, sql, params, nparams, &res);
    if (rc == 0) {
        int nrows = pq.PQntuples(res), ncols = pq.PQnfields(res);
        size_t n = (size_t)nrows < max_rows ? (size_t)nrows : max_rows;
        char *rows = n ? cadre_arena_calloc(arena, n * s->size) : NULL;
        int *map = cadre_arena_alloc(arena, (size_t)(ncols ? ncols : 1) * sizeof *map);
        for (int j = 0; j < ncols; j++) {
            const cadre_field *f = cadre__db_field_for(s, pq.PQfname(res, j));
            map[j] = f ? (int)(f - s->fields) : -1;
        }
        for (size_t i = 0; i < n && rc == 0; i++) {
            for (int j = 0; j < ncols; j++) {
                if (map[j] < 0)
                    continue;
                const cadre_field *f = &s->fields[map[j]];
                bool null = pq.PQgetisnull(res, (int)i, j);
                const char *v = null ? NULL : pq.PQgetvalue(res, (int)i, j);
                size_t len = null ? 0 : (size_t)pq.PQgetlength(res, (int)i, j);
                /* PostgreSQL's booleans are t/f */
                if (f->type == CADRE_T_BOOL && v && len == 1 && (*v == 't' || *v == 'f'))
                    v = *v == 't' ? "1" : "0";
                if (cadre__db_store_text(s, f, rows + i * s->size, v, len, arena) != 0) {
                    cadre_log(CADRE_LOG_ERROR, "postgresql: column %s does not fit field %s.%s: %s",
                              pq.PQfname(res, j), s->name, f->name, sql);
                    rc = CADRE_EPARSE;
                    break;
                }
            }
        }
        out->items = rows;
        out->len = rc ? 0 : n;
        pq.PQclear(res);
    }
    if (!pinned)
        release(p, c);
    return rc;
}

/* Maps row 0 of res into row (zeroed first); *found says whether there was one. */
static int first_row(PGresult *res, const cadre_schema *s, void *row, bool *found,
                     cadre_arena *arena, const char *sql)
{
    memset(row, 0, s->size);
    *found = pq.PQntuples(res) > 0;
    if (!*found)
        return 0;
    for (int j = 0; j < pq.PQnfields(res); j++) {
        const cadre_field *f = cadre__db_field_for(s, pq.PQfname(res, j));
        if (!f)
            continue;
        bool null = pq.PQgetisnull(res, 0, j);
        const char *v = null ? NULL : pq.PQgetvalue(res, 0, j);
        size_t len = null ? 0 : (size_t)pq.PQgetlength(res, 0, j);
        if (f->type == CADRE_T_BOOL && v && len == 1 && (*v == 't' || *v == 'f'))
            v = *v == 't' ? "1" : "0";
        if (cadre__db_store_text(s, f, row, v, len, arena) != 0) {
            cadre_log(CADRE_LOG_ERROR, "postgresql: column %s does not fit field %s.%s: %s",
                      pq.PQfname(res, j), s->name, f->name, sql);
            return CADRE_EPARSE;
        }
    }
    return 0;
}

/* n executions of one prepared statement in a single pipeline (libpq 14+): all are sent, then
 * one sync, then the n results are read — one round trip. */
static int pg_query_each(void *conn, cadre_arena *arena, const cadre_schema *s, void *rows,
                         bool *found, size_t n, const char *sql, const cadre_value *params,
                         size_t nparams)
{
    struct pool *p = conn;
    struct pconn *c;
    int rc = nul_in_text(p, sql, params, n * nparams);
    if (rc == 0)
        rc = acquire(p, &c);
    if (rc)
        return rc;
    uint64_t deadline = now_ms() + QUERY_TIMEOUT_MS;
    struct pstmt *st = NULL;
    cadre_arena scratch;
    cadre_arena_init(&scratch, 4096);
    if (!c->pg && (rc = pg_connect_one(p, c)) != 0)
        goto out;
    if ((rc = session_timeout(p, c, cadre__db_statement_timeout(), deadline)) != 0 ||
        (rc = prepare(p, c, sql, deadline, &st)) != 0)
        goto out;
    if ((int)nparams != st->nparams) {
        rc = CADRE_EINVAL;
        goto out;
    }
    if (!pq.PQenterPipelineMode(c->pg)) {
        rc = result_error(p, c, NULL, sql);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const char **vals = cadre_arena_alloc(&scratch, (nparams ? nparams : 1) * sizeof *vals);
        for (size_t k = 0; k < nparams; k++) {
            const cadre_value *v = &params[i * nparams + k];
            vals[k] = v->type == CADRE_V_INT    ? cadre_arena_printf(&scratch, "%lld", (long long)v->i)
                      : v->type == CADRE_V_DOUBLE ? cadre_arena_printf(&scratch, "%.17g", v->d)
                      : v->type == CADRE_V_TEXT && v->s.ptr
                          ? cadre_arena_strndup(&scratch, v->s.ptr, v->s.len)
                          : NULL;
        }
        if (!pq.PQsendQueryPrepared(c->pg, st->name, (int)nparams, vals, NULL, NULL, 0)) {
            rc = result_error(p, c, NULL, sql);
            goto out;
        }
    }
    if (!pq.PQpipelineSync(c->pg)) {
        rc = result_error(p, c, NULL, sql);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        PGresult *res = next_result(c->pg, deadline, &rc);
        if (!res) {
            if (!rc)
                rc = result_error(p, c, NULL, sql);
            goto out;
        }
        ExecStatusType es = pq.PQresultStatus(res);
        if (es == PGRES_TUPLES_OK && rc == 0)
            rc = first_row(res, s, (char *)rows + i * s->size, &found[i], arena, sql);
        else if (es != PGRES_TUPLES_OK && rc == 0)
            rc = result_error(p, c, res, sql);
        pq.PQclear(res);
        if (!c->pg)
            goto out;
        /* each query's results end with a NULL */
        PGresult *end = next_result(c->pg, deadline, &rc);
        pq.PQclear(end);
    }
    PGresult *sync = next_result(c->pg, deadline, &rc); /* PGRES_PIPELINE_SYNC */
    pq.PQclear(sync);
    if (c->pg && !pq.PQexitPipelineMode(c->pg) && !rc)
        rc = result_error(p, c, NULL, sql);
out:
    if (rc && c->pg && pq.PQpipelineStatus(c->pg) != PQ_PIPELINE_OFF)
        drop(c); /* a pipeline left half-read cannot be reused */
    cadre_arena_free(&scratch);
    release(p, c);
    return rc;
}

static int pg_exec(void *conn, void *pinned, const char *sql, const cadre_value *params,
                   size_t nparams, int64_t *changes, int64_t *last_id)
{
    struct pool *p = conn;
    struct pconn *c = pinned;
    int rc = c ? 0 : acquire(p, &c);
    if (rc)
        return rc;
    PGresult *res = NULL;
    rc = run(p, c, sql, params, nparams, &res);
    if (rc == 0) {
        if (changes)
            *changes = strtoll(pq.PQcmdTuples(res), NULL, 10);
        if (last_id) {
            /* INSERT … RETURNING id gives it as the first column of the first row */
            *last_id = pq.PQntuples(res) > 0 && pq.PQnfields(res) > 0 ? strtoll(pq.PQgetvalue(res, 0, 0), NULL, 10)
                                                                : 0;
        }
        pq.PQclear(res);
    }
    if (!pinned)
        release(p, c);
    return rc;
}

static int pg_exec_script(void *conn, const char *sql)
{
    struct pool *p = conn;
    struct pconn *c;
    int rc = acquire(p, &c);
    if (rc)
        return rc;
    uint64_t deadline = now_ms() + QUERY_TIMEOUT_MS;
    if (!c->pg && (rc = pg_connect_one(p, c)) != 0)
        goto out;
    if ((rc = session_timeout(p, c, cadre__db_statement_timeout(), deadline)) != 0)
        goto out;
    if (!pq.PQsendQuery(c->pg, sql)) {
        rc = result_error(p, c, NULL, sql);
        goto out;
    }
    PGresult *res;
    while ((res = next_result(c->pg, deadline, &rc)) != NULL) {
        ExecStatusType st = pq.PQresultStatus(res);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && rc == 0)
            rc = result_error(p, c, res, sql);
        pq.PQclear(res);
        if (!c->pg)
            break;
    }
out:
    release(p, c);
    return rc;
}

static const char begin_sql[] = "BEGIN";
static const char commit_sql[] = "COMMIT";
static const char rollback_sql[] = "ROLLBACK";

static int pg_begin(void *conn, void **pinned)
{
    struct pool *p = conn;
    struct pconn *c;
    int rc = acquire(p, &c);
    if (rc)
        return rc;
    if ((rc = pg_exec(p, c, begin_sql, NULL, 0, NULL, NULL)) != 0) {
        release(p, c);
        return rc;
    }
    c->in_tx = true;
    *pinned = c;
    return 0;
}

static int pg_end(void *conn, void *pinned, bool commit)
{
    struct pool *p = conn;
    struct pconn *c = pinned;
    int rc = pg_exec(p, c, commit ? commit_sql : rollback_sql, NULL, 0, NULL, NULL);
    if (rc && commit && c->pg)
        pg_exec(p, c, rollback_sql, NULL, 0, NULL, NULL);
    if (rc || !commit)
        c->timeout = -1; /* a SET inside it was undone */
    c->in_tx = false;
    release(p, c);
    return rc;
}

static cadre__db_usage *pg_usage(void *conn)
{
    return &((struct pool *)conn)->usage;
}

const cadre__db_driver cadre__postgres_driver = {
    .name = "postgresql",
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .query = pg_query,
    .exec = pg_exec,
    .query_each = pg_query_each,
    .begin = pg_begin,
    .end = pg_end,
    .exec_script = pg_exec_script,
    .errmsg = pg_errmsg,
    .usage = pg_usage,
};

/* ---------------------------------------------------------------------------------------------
 * LISTEN: a connection of its own, outside the pools
 * ------------------------------------------------------------------------------------------- */

struct cadre_db_listener {
    struct pconn c;
};

int cadre__pg_listen(const char *conninfo, const char *channel, cadre_db_listener **out)
{
    int rc = cadre__pq_available();
    if (rc)
        return rc;
    cadre_db_listener *l = calloc(1, sizeof *l);
    if (!l)
        return CADRE_ENOMEM;
    if ((rc = pg_connect_to(conninfo, l->c.err, sizeof l->c.err, &l->c)) != 0) {
        free(l);
        return rc;
    }
    char sql[96]; /* the channel was checked: an identifier of at most 63 bytes */
    snprintf(sql, sizeof sql, "LISTEN \"%s\"", channel);
    rc = pq.PQsendQuery(l->c.pg, sql) ? 0 : CADRE_ECLOSED;
    PGresult *res;
    int step = 0;
    uint64_t deadline = now_ms() + CONNECT_TIMEOUT_MS;
    while (rc == 0 && (res = next_result(l->c.pg, deadline, &step)) != NULL) {
        if (pq.PQresultStatus(res) != PGRES_COMMAND_OK) {
            cadre_log(CADRE_LOG_ERROR, "postgresql: %s: %s", sql, pq.PQresultErrorMessage(res));
            rc = CADRE_EIO;
        }
        pq.PQclear(res);
    }
    if (rc || step) {
        drop(&l->c);
        free(l);
        return rc ? rc : step;
    }
    *out = l;
    return 0;
}

int cadre_db_listener_fd(const cadre_db_listener *l)
{
    return l && l->c.pg ? pq.PQsocket(l->c.pg) : -1;
}

int cadre_db_listener_next(cadre_db_listener *l, char *payload, size_t cap)
{
    if (!l || !l->c.pg)
        return CADRE_ECLOSED;
    PGnotify *n = pq.PQnotifies(l->c.pg); /* those read already first */
    if (!n) {
        if (!pq.PQconsumeInput(l->c.pg) || pq.PQstatus(l->c.pg) == CONNECTION_BAD) {
            cadre_log(CADRE_LOG_WARN, "postgresql: a listening connection was lost: %s",
                      pq.PQerrorMessage(l->c.pg));
            drop(&l->c);
            return CADRE_ECLOSED;
        }
        n = pq.PQnotifies(l->c.pg);
    }
    if (!n)
        return 0;
    if (payload && cap)
        snprintf(payload, cap, "%s", n->extra ? n->extra : "");
    pq.PQfreemem(n);
    return 1;
}

void cadre_db_listener_close(cadre_db_listener *l)
{
    if (!l)
        return;
    drop(&l->c);
    free(l);
}
