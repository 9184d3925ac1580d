/*
 * The jobs benchmark's app (bench/jobs, issue #17): a no-op task through the tasks module, on
 * the database $CADRE_DATABASE_URL names (SQLite or PostgreSQL).
 *   jobs-bench migrate                the table cadre_job
 *   jobs-bench enqueue N [BATCH [many]]  N no-op jobs, BATCH to a transaction (1000; 0: each
 *                                     job written on its own, without a transaction; many:
 *                                     BATCH to a cadre_enqueue_many); prints
 *                                     {"enqueued":N,"seconds":S} (S: the enqueueing alone)
 *   jobs-bench worker | serve         runs them (serve also answers POST
 *                                     /enqueue?n=N&batch=B[&many=1], the same in the server:
 *                                     its workers are woken at commit)
 * $JOBS_BENCH_POLL_MS sets the runners' poll_ms (the module's default otherwise);
 * $CADRE_TASKS_CONCURRENCY their concurrency, as for any app.
 */
#include <cadre/app.h>
#include <cadre/db.h>
#include <cadre/http.h>
#include <cadre/tasks.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static cadre_db *db;

#define NOOP_FIELDS(F) F(int64, n)
CADRE_SCHEMA(noop_args, NOOP_FIELDS)

static int do_noop(cadre_job *job, const noop_args *a)
{
    (void)job;
    (void)a;
    return 0;
}
CADRE_TASK(noop, noop_args, do_noop);

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Enqueues n no-op jobs, batch of them to a transaction (0: each on its own; many: batch to a
 * cadre_enqueue_many). Returns 0 or the first error. */
static int enqueue_jobs(int64_t n, int64_t batch, bool many)
{
    int rc = 0;
    if (many && batch > 0) {
        noop_args *a = calloc((size_t)batch, sizeof *a);
        for (int64_t i = 0; a && rc == 0 && i < n;) {
            int64_t k = 0;
            for (; k < batch && i < n; k++)
                a[k].n = i++;
            rc = cadre_enqueue_many(NULL, noop, a, (size_t)k);
        }
        free(a);
        return a ? rc : CADRE_ENOMEM;
    }
    for (int64_t i = 0; rc == 0 && i < n;) {
        if (batch <= 0) {
            noop_args a = { .n = i++ };
            rc = cadre_enqueue(NULL, noop, &a);
            continue;
        }
        cadre_tx tx;
        rc = cadre_db_begin(db, &tx);
        for (int64_t k = 0; rc == 0 && k < batch && i < n; k++) {
            noop_args a = { .n = i++ };
            rc = cadre_enqueue(&tx, noop, &a);
        }
        if (rc == 0)
            rc = cadre_tx_commit(&tx);
        else if (tx.open)
            cadre_tx_rollback(&tx);
    }
    return rc;
}

static int parse_count(const char *s, int64_t *out)
{
    return cadre_slice_to_i64(cadre_slice_cstr(s), false, out) == 0 && *out >= 0 ? 0 : -1;
}

/* jobs-bench enqueue N [BATCH] */
static int enqueue_command(cadre_app *app, int argc, char **argv, void *ctx)
{
    (void)app;
    (void)ctx;
    int64_t n, batch = 1000;
    if (argc < 2 || argc > 4 || parse_count(argv[1], &n) != 0 ||
        (argc >= 3 && parse_count(argv[2], &batch) != 0) ||
        (argc == 4 && strcmp(argv[3], "many") != 0)) {
        fprintf(stderr, "usage: jobs-bench enqueue N [BATCH [many]]\n");
        return 2;
    }
    double t0 = now_s();
    int rc = enqueue_jobs(n, batch, argc == 4);
    double took = now_s() - t0;
    if (rc) {
        fprintf(stderr, "jobs-bench: cannot enqueue: %s\n", cadre_strerror(rc));
        return 1;
    }
    printf("{\"enqueued\":%lld,\"seconds\":%.6f}\n", (long long)n, took);
    return 0;
}

static int64_t query_int(cadre_request *r, const char *key, int64_t fallback)
{
    cadre_slice v;
    int64_t n;
    if (!cadre_request_query(r, key, &v) || cadre_slice_to_i64(v, false, &n) != 0)
        return fallback;
    return n;
}

/* POST /enqueue?n=N&batch=B[&many=1]: as the command, in the server */
static int enqueue_route(cadre_request *r)
{
    int64_t n = query_int(r, "n", 1);
    int rc = enqueue_jobs(n, query_int(r, "batch", 1000), query_int(r, "many", 0) != 0);
    if (rc)
        return rc;
    char body[64];
    int len = snprintf(body, sizeof body, "{\"enqueued\":%lld}", (long long)n);
    return cadre_json_text(r, 201, body, (size_t)len);
}

int main(int argc, char **argv)
{
    if (cadre_db_open_env("sqlite://jobs-bench.db", &db) != 0)
        return 2;
    const char *poll = getenv("JOBS_BENCH_POLL_MS");
    cadre_app *app = cadre_app_new("jobs-bench");
    cadre_tasks(app, db, .poll_ms = poll && *poll ? atoi(poll) : 0);
    cadre_task_add(app, &noop);
    cadre_app_command(app, "enqueue",
                      "enqueue N [BATCH [many]]   enqueues N no-op jobs, BATCH a transaction "
                      "(many: BATCH a cadre_enqueue_many)",
                      enqueue_command, NULL);
    cadre_post(app, "/enqueue", enqueue_route);
    int status = cadre_main(app, argc, argv);
    cadre_db_close(db);
    return status;
}
