/*
 * The runners. On each worker thread of `serve`, a dispatcher coroutine claims jobs — as many as
 * the worker has room for, in one statement — and starts a coroutine for each; it marks the
 * worker's running jobs alive every heartbeat, and worker 0 also rescues other workers' stale
 * jobs, deletes finished ones past their retention, enqueues periodic tasks' jobs and reads the
 * table's counts for /metrics (when asked). Between claims it waits on an eventfd
 * that enqueueing (any thread), a finished job and the stop write, or for poll_ms. On
 * PostgreSQL, worker 0 also listens for other instances' enqueues (listener).
 */
#include "tasks/tasks_internal.h"

#include "cadre/http.h"
#include "cadre/json.h"
#include "cadre/migrate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

/* A job being run: the row, then what its function reported; the row's strings follow it in
 * the same allocation (run_new). */
typedef struct run {
    cadre_job job; /* first: the cadre_job * a task gets is its run */
    tasks_worker *w;
    cadre_request *r;
    char *result, *error; /* malloc'd */
    bool no_retry;
} run;

#define RETRY_OUTCOME 5 /* writes of a job's outcome tried, 0.2 s, 0.4 s … apart */
#define PRUNE_BATCH 10000 /* finished jobs deleted by one statement */

static uint64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/* splitmix64 over the worker's own state (its thread only) */
static uint64_t next_random(tasks_worker *w)
{
    uint64_t z = (w->rng += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static void kick_worker(tasks_worker *w)
{
    if (!atomic_exchange(&w->kicked, true)) {
        uint64_t one = 1;
        if (write(w->efd, &one, sizeof one) < 0) { /* full (2^64 − 2 kicks): it is awake */
        }
    }
}

void cadre__tasks_kick(tasks_state *ts)
{
    for (int i = 0; i < TASKS_MAX_WORKERS; i++) {
        tasks_worker *w = atomic_load(&ts->workers[i]);
        if (w)
            kick_worker(w);
    }
}

static void drain(int fd)
{
    uint64_t v;
    while (read(fd, &v, sizeof v) == (ssize_t)sizeof v) {
    }
}

/* ---------------------------------------------------------------------------------------------
 * Inside a task's function
 * ------------------------------------------------------------------------------------------- */

static run *run_of(cadre_job *job)
{
    return (run *)job;
}

cadre_request *cadre_job_request(cadre_job *job)
{
    return job ? run_of(job)->r : NULL;
}

int cadre_job_result(cadre_job *job, const char *text)
{
    if (!job || !text)
        return CADRE_EINVAL;
    run *x = run_of(job);
    char *copy = strdup(text);
    if (!copy)
        return CADRE_ENOMEM;
    free(x->result);
    x->result = copy;
    return 0;
}

void cadre_job_error(cadre_job *job, const char *fmt, ...)
{
    if (!job || !fmt)
        return;
    run *x = run_of(job);
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    if (msg) {
        free(x->error);
        x->error = msg;
    }
}

void cadre_job_no_retry(cadre_job *job)
{
    if (job)
        run_of(job)->no_retry = true;
}

/* ---------------------------------------------------------------------------------------------
 * A job's outcome
 * ------------------------------------------------------------------------------------------- */

/* Writes the outcome sql (its last three parameters: the job's id, worker and attempt, so that a
 * job that is no longer this worker's — cancelled, or rescued while this one was stuck — is
 * left alone). A database that fails is tried again a few times: a job whose outcome is never
 * written stays running, unmarked, and is rescued and run again. */
static void write_outcome(cadre_request *r, run *x, const char *sql, cadre_value *p, size_t n,
                          const char *what)
{
    tasks_state *ts = x->w->ts;
    p[n - 3] = CADRE_PINT(x->job.id);
    p[n - 2] = CADRE_PTEXT(x->w->lease);
    p[n - 1] = CADRE_PINT(x->job.attempt);
    int rc = 0;
    int64_t changes = 0;
    for (int i = 0; i < RETRY_OUTCOME; i++) {
        rc = cadre_db_exec(ts->db, sql, p, n, &changes, NULL);
        if (rc == 0 || rc == CADRE_EINVAL)
            break;
        cadre_sleep(r, 200 << i);
    }
    if (rc)
        cadre_log(CADRE_LOG_ERROR, "tasks: job %lld (%.*s): cannot record that it %s: %s; it "
                                   "will be rescued and run again",
                  (long long)x->job.id, (int)x->job.task.len, x->job.task.ptr, what,
                  cadre_strerror(rc));
    else if (changes == 0)
        cadre_log(CADRE_LOG_INFO, "tasks: job %lld (%.*s) %s, but it is no longer this worker's "
                                  "(cancelled, or rescued): outcome dropped",
                  (long long)x->job.id, (int)x->job.task.len, x->job.task.ptr, what);
}

#define GUARD " WHERE id = ? AND worker = ? AND attempt = ? AND state = 'running'"

static void count(tasks_state *ts, const run *x, const char *outcome)
{
    /* the run's strings are NUL-terminated copies (run_new) */
    cadre_counter_add(ts->outcomes, 1, CADRE_LABELS(x->job.task.ptr, outcome));
}

/*
 * Completions are written in groups, as a database's group commit: a job that ends while another
 * runner of its worker is writing completions leaves its own in w->done and returns; the writer
 * writes all that are waiting when its statement is done, in one statement again. Under load a
 * statement marks many jobs completed (one commit, one round trip); alone, a job's is written at
 * once. A completion not written yet leaves its job running and marked alive (heartbeat) — the
 * stop waits for it (wind_down); a process that dies before writing it has the job rescued and
 * run again, as it would have before the job ended.
 */
typedef struct tasks_done {
    int64_t id;
    int attempt;
    const char *task; /* the registered task's name (static) */
    char *result;     /* malloc'd; NULL: none */
} tasks_done;

#define DONE_BATCH 256 /* completions one statement writes at most */

/* One statement marks n jobs of w completed; their ids, attempts and results go as a JSON array
 * (one parameter, one statement text whatever n: prepared once). */
static const char *const complete_sql[2] = {
    /* SQLite */
    "UPDATE cadre_job SET state = 'completed', finished_at = ?, result = v.result, "
    "worker = NULL, unique_key = NULL FROM (SELECT json_extract(value, '$[0]') AS id, "
    "json_extract(value, '$[1]') AS attempt, json_extract(value, '$[2]') AS result "
    "FROM json_each(?)) AS v WHERE cadre_job.id = v.id AND cadre_job.attempt = v.attempt AND "
    "cadre_job.worker = ? AND cadre_job.state = 'running' RETURNING id",
    /* PostgreSQL */
    "UPDATE cadre_job AS j SET state = 'completed', finished_at = ?, result = v.result, "
    "worker = NULL, unique_key = NULL FROM (SELECT (e->>0)::bigint AS id, (e->>1)::int AS "
    "attempt, e->>2 AS result FROM json_array_elements(CAST(? AS json)) AS e) AS v "
    "WHERE j.id = v.id AND j.attempt = v.attempt AND j.worker = ? AND j.state = 'running' "
    "RETURNING j.id",
};


static int write_completed(cadre_request *r, tasks_worker *w, const tasks_done *d, size_t n)
{
    tasks_state *ts = w->ts;
    cadre_buf b;
    cadre_buf_init(&b, (size_t)1 << 30); /* results as large as the table takes */
    cadre_json_writer jw;
    cadre_json_writer_init(&jw, &b);
    cadre_json_begin_array(&jw);
    for (size_t i = 0; i < n; i++) {
        cadre_json_begin_array(&jw);
        cadre_json_int(&jw, d[i].id);
        cadre_json_int(&jw, d[i].attempt);
        if (d[i].result)
            cadre_json_string(&jw, d[i].result, strlen(d[i].result));
        else
            cadre_json_null(&jw);
        cadre_json_end_array(&jw);
    }
    cadre_json_end_array(&jw);
    int rc = cadre_json_writer_error(&jw), encoded = rc;
    cadre_arena a;
    cadre_arena_init(&a, 4096);
    cadre_rows done = { 0 }; /* the jobs marked: those still this worker's */
    if (rc == 0) {
        cadre_value p[] = { CADRE_PINT(cadre__tasks_clock(ts)),
                            { .type = CADRE_V_TEXT, .s = { b.data, b.len } }, CADRE_PTEXT(w->lease) };
        for (int i = 0; i < RETRY_OUTCOME; i++) {
            rc = cadre_db_query(ts->db, &a, CADRE_SCHEMA_OF(tasks_id_row), &done,
                                complete_sql[ts->pg], p, 3);
            if (rc == 0 || rc == CADRE_EINVAL)
                break;
            cadre_arena_reset(&a);
            cadre_sleep(r, 200 << i);
        }
    }
    cadre_buf_free(&b);
    if ((encoded || rc == CADRE_EINVAL) && n > 1) {
        /* one job's result (too large, refused) fails the statement: the others are written
         * alone, so that only that job is run again */
        cadre_arena_free(&a);
        for (size_t i = 0; i < n; i++)
            write_completed(r, w, d + i, 1);
        return rc;
    }
    if (rc == 0 && done.len > 1 && done.len < n)
        qsort(done.items, done.len, sizeof(tasks_id_row), cadre__tasks_cmp_id);
    for (size_t i = 0; i < n && (rc || done.len < n); i++) {
        if (rc)
            cadre_log(CADRE_LOG_ERROR, "tasks: job %lld (%s): cannot record that it completed: "
                                       "%s; it will be rescued and run again",
                      (long long)d[i].id, d[i].task, cadre_strerror(rc));
        else if (!done.len || !bsearch(&(tasks_id_row){ .id = d[i].id }, done.items, done.len,
                                       sizeof(tasks_id_row), cadre__tasks_cmp_id))
            cadre_log(CADRE_LOG_INFO, "tasks: job %lld (%s) completed, but it is no longer this "
                                      "worker's (cancelled, or rescued): outcome dropped",
                      (long long)d[i].id, d[i].task);
    }
    cadre_arena_free(&a);
    return rc;
}

/* Records that x completed: at once, or by the runner writing completions now. */
static void complete(cadre_request *r, run *x, cadre_task *t)
{
    tasks_worker *w = x->w;
    if (w->ndone == w->done_cap) {
        size_t cap = w->done_cap ? 2 * w->done_cap : 16;
        tasks_done *d = realloc(w->done, cap * sizeof *d);
        if (!d) {
            cadre_log(CADRE_LOG_ERROR, "tasks: job %lld (%s): cannot record that it completed: "
                                       "out of memory; it will be rescued and run again",
                      (long long)x->job.id, t->name);
            return;
        }
        w->done = d;
        w->done_cap = cap;
    }
    w->done[w->ndone++] = (tasks_done){ x->job.id, x->job.attempt, t->name, x->result };
    x->result = NULL;
    if (w->writing)
        return; /* in the writer's next statement */
    w->writing = true;
    while (w->ndone) { /* bounded: each turn takes all that was waiting */
        tasks_done *batch = w->done; /* the runners ending meanwhile start a new array */
        size_t n = w->ndone;
        w->done = NULL;
        w->ndone = w->done_cap = 0;
        for (size_t at = 0; at < n; at += DONE_BATCH)
            write_completed(r, w, batch + at, n - at < DONE_BATCH ? n - at : DONE_BATCH);
        for (size_t i = 0; i < n; i++)
            free(batch[i].result);
        free(batch);
    }
    w->writing = false; /* (runner() kicks the worker once finish returns: wind_down waits) */
}

static void finish(cadre_request *r, run *x, cadre_task *t, int rc)
{
    tasks_state *ts = x->w->ts;
    int64_t now = cadre__tasks_clock(ts);
    char why[160];
    const char *error = x->error;
    if (!error && rc < 0) {
        snprintf(why, sizeof why, "%s: %s", cadre_errname(rc), cadre_strerror(rc));
        error = why;
    }
    if (rc >= 0) {
        count(ts, x, "completed");
        complete(r, x, t);
    } else if (rc == CADRE_ECANCELED) {
        cadre_value p[] = { CADRE_PINT(now), { 0 }, { 0 }, { 0 } };
        write_outcome(r, x,
                      "UPDATE cadre_job SET state = 'available', attempt = attempt - 1, run_at = ?, "
                      "worker = NULL, heartbeat_at = NULL" GUARD,
                      p, 4, "was released");
        count(ts, x, "released");
    } else if (x->no_retry || x->job.attempt >= x->job.max_attempts) {
        cadre_value p[] = { CADRE_PINT(now), CADRE_PTEXT(error), { 0 }, { 0 }, { 0 } };
        cadre_log(CADRE_LOG_WARN, "tasks: job %lld (%.*s) failed for good, attempt %d of %d: %s",
                  (long long)x->job.id, (int)x->job.task.len, x->job.task.ptr, x->job.attempt,
                  x->job.max_attempts, error);
        write_outcome(r, x,
                      "UPDATE cadre_job SET state = 'failed', finished_at = ?, error = ?, "
                      "worker = NULL, unique_key = NULL" GUARD,
                      p, 5, "failed");
        count(ts, x, "failed");
    } else {
        static const cadre_task_opts fallback = { .backoff_ms = 1000, .max_backoff_ms = 3600000 };
        int64_t delay = cadre__tasks_backoff(t ? &t->o : &fallback, x->job.attempt,
                                             next_random(x->w));
        cadre_value p[] = { CADRE_PINT(now + delay), CADRE_PTEXT(error), { 0 }, { 0 }, { 0 } };
        cadre_log(CADRE_LOG_INFO, "tasks: job %lld (%.*s) attempt %d of %d failed: %s; next in "
                                  "%lld ms",
                  (long long)x->job.id, (int)x->job.task.len, x->job.task.ptr, x->job.attempt,
                  x->job.max_attempts, error, (long long)delay);
        write_outcome(r, x,
                      "UPDATE cadre_job SET state = 'available', run_at = ?, error = ?, "
                      "worker = NULL, heartbeat_at = NULL" GUARD,
                      p, 5, "failed an attempt");
        count(ts, x, "retried");
    }
}

/* Frees a run: when its coroutine ends, or is dropped at the shutdown deadline. */
static void drop_run(void *arg)
{
    run *x = arg;
    free(x->result);
    free(x->error);
    free(x);
}

/* The coroutine of one job. */
static void runner(cadre_request *r, void *ctx)
{
    run *x = ctx;
    x->r = r;
    cadre_request_defer(r, drop_run, x);
    tasks_worker *w = x->w;
    tasks_state *ts = w->ts;
    cadre_task *t = cadre__tasks_find(ts, x->job.task);
    int rc;
    if (!t) { /* enqueued by another build of the program: one that knows it may run it */
        cadre_job_error(&x->job, "no task named %.*s in this program (cadre_task_add)",
                        (int)x->job.task.len, x->job.task.ptr);
        rc = CADRE_ENOTFOUND;
    } else {
        const cadre_schema *s = t->args();
        void *args = cadre_arena_calloc(r->arena, s->size);
        cadre_verrors errs;
        cadre_verrors_init(&errs, r->arena);
        rc = args ? cadre_schema_decode_json(s, x->job.args.ptr, x->job.args.len, args, r->arena,
                                             "args", &errs)
                  : CADRE_ENOMEM;
        if (rc == CADRE_EINVAL || rc == CADRE_EPARSE) {
            cadre_buf b;
            cadre_buf_init(&b, 4096);
            cadre_json_writer jw;
            cadre_json_writer_init(&jw, &b);
            cadre_verrors_write(&errs, &jw);
            cadre_job_error(&x->job, "its arguments do not fit the task's schema: %.*s",
                            (int)b.len, b.data ? b.data : "");
            cadre_buf_free(&b);
            cadre_job_no_retry(&x->job);
        } else if (rc == 0) {
            uint64_t t0 = mono_ms();
            if (x->job.timeout_ms > 0)
                cadre_request_deadline(r, x->job.timeout_ms);
            rc = t->run(&x->job, args);
            cadre_request_deadline(r, 0);
            uint64_t took = mono_ms() - t0;
            cadre_histogram_observe(ts->durations, (double)took / 1e3, CADRE_LABELS(t->name));
            if (rc == CADRE_ETIMEDOUT && x->job.timeout_ms > 0 &&
                took >= (uint64_t)x->job.timeout_ms)
                cadre_job_error(&x->job, "timed out after %d ms", x->job.timeout_ms);
        }
    }
    finish(r, x, t, rc);
    w->running--;
    kick_worker(w); /* room for another */
}

/* ---------------------------------------------------------------------------------------------
 * The dispatcher
 * ------------------------------------------------------------------------------------------- */

/* Copies s to *at, NUL-terminated, and moves *at past it. */
static cadre_slice own(char **at, cadre_slice s)
{
    cadre_slice copy = { *at, s.len };
    if (s.len)
        memcpy(*at, s.ptr, s.len);
    (*at)[s.len] = '\0';
    *at += s.len + 1;
    return copy;
}

/* A run of row (whose strings are in the claim's scratch memory): one allocation with copies of
 * them. NULL when memory runs out. */
static run *run_new(tasks_worker *w, const cadre_job *row)
{
    size_t size = sizeof(run) + row->queue.len + row->task.len + row->args.len + row->state.len +
                  row->worker.len + row->unique_key.len + 6;
    run *x = calloc(1, size);
    if (!x)
        return NULL;
    char *at = (char *)(x + 1);
    x->w = w;
    x->job = *row;
    x->job.queue = own(&at, row->queue);
    x->job.task = own(&at, row->task);
    x->job.args = own(&at, row->args);
    x->job.state = own(&at, row->state);
    x->job.worker = own(&at, row->worker);
    x->job.unique_key = own(&at, row->unique_key);
    x->job.result = x->job.error = (cadre_slice){ "", 0 }; /* not claimed: not the run's */
    return x;
}

/* Makes a job claimed but not started available again (no memory for it, or the stop began
 * while it was claimed). */
static void unclaim(tasks_worker *w, const cadre_job *job, int why)
{
    cadre_value p[] = { CADRE_PINT(job->id), CADRE_PTEXT(w->lease), CADRE_PINT(job->attempt) };
    int rc = cadre_db_exec(w->ts->db,
                           "UPDATE cadre_job SET state = 'available', attempt = attempt - 1, "
                           "worker = NULL, heartbeat_at = NULL" GUARD,
                           p, 3, NULL, NULL);
    cadre_log(why == CADRE_ESTATE ? CADRE_LOG_INFO : CADRE_LOG_ERROR,
              "tasks: %s: cannot start job %lld (%s); %s", w->lease, (long long)job->id,
              why == CADRE_ESTATE ? "the server is stopping" : cadre_strerror(why),
              rc ? "cannot hand it back either: it is rescued once this worker's heartbeat "
                   "leaves it"
                 : "handed back");
}

/* Claims up to room jobs and starts them. Returns how many were claimed, or a CADRE_E*. */
static int claim(cadre_arena *scratch, tasks_worker *w, int room, int64_t now)
{
    tasks_state *ts = w->ts;
    size_t n = 4 + ts->nqueues + 1;
    cadre_value *p = cadre_arena_alloc(scratch, n * sizeof *p);
    if (!p)
        return CADRE_ENOMEM;
    p[0] = CADRE_PTEXT(w->lease);
    p[1] = p[2] = p[3] = CADRE_PINT(now);
    for (size_t i = 0; i < ts->nqueues; i++)
        p[4 + i] = CADRE_PTEXT(ts->queues[i]);
    p[n - 1] = CADRE_PINT(room);
    cadre_rows rows;
    int rc = cadre_db_query(ts->db, scratch, cadre_job__schema(), &rows, ts->claim_sql, p, n);
    if (rc)
        return rc;
    cadre_job *jobs = rows.items;
    for (size_t i = 0; i < rows.len; i++) {
        run *x = run_new(w, &jobs[i]);
        int why = x ? cadre_spawn(runner, x) : CADRE_ENOMEM;
        if (why) {
            free(x);
            unclaim(w, &jobs[i], why);
            continue;
        }
        w->running++;
    }
    return (int)rows.len;
}

static void heartbeat(tasks_worker *w, int64_t now)
{
    if (w->running == 0)
        return;
    cadre_value p[] = { CADRE_PINT(now), CADRE_PTEXT(w->lease) };
    int rc = cadre_db_exec(w->ts->db,
                           "UPDATE cadre_job SET heartbeat_at = ? WHERE worker = ? AND "
                           "state = 'running'",
                           p, 2, NULL, NULL);
    if (rc)
        cadre_log(CADRE_LOG_WARN, "tasks: %s: cannot mark its running jobs alive: %s", w->lease,
                  cadre_strerror(rc));
}

/* Running jobs whose worker stopped marking them (killed, its machine gone): available again,
 * or failed when they have had every attempt. */
static void rescue(tasks_worker *w, int64_t now)
{
    tasks_state *ts = w->ts;
    char why[128];
    snprintf(why, sizeof why, "rescued: its worker stopped marking it alive (no heartbeat for "
                              "%d ms)",
             ts->o.rescue_after_ms);
    cadre_value p[] = { CADRE_PINT(now), CADRE_PINT(now), CADRE_PTEXT(why),
                        CADRE_PINT(now - ts->o.rescue_after_ms) };
    int64_t changes = 0;
    int rc = cadre_db_exec(ts->db,
                           "UPDATE cadre_job SET state = CASE WHEN attempt >= max_attempts THEN "
                           "'failed' ELSE 'available' END, finished_at = CASE WHEN attempt >= "
                           "max_attempts THEN CAST(? AS BIGINT) ELSE NULL END, unique_key = CASE "
                           "WHEN attempt >= max_attempts THEN NULL ELSE unique_key END, "
                           "run_at = ?, error = ?, "
                           "worker = NULL, heartbeat_at = NULL WHERE state = 'running' AND "
                           "heartbeat_at < ?",
                           p, 4, &changes, NULL);
    if (rc)
        cadre_log(CADRE_LOG_WARN, "tasks: cannot rescue stale jobs: %s", cadre_strerror(rc));
    else if (changes)
        atomic_fetch_add(&ts->rescued, (uint64_t)changes);
    if (changes)
        cadre_log(CADRE_LOG_WARN, "tasks: rescued %lld job(s) whose worker stopped marking them "
                                  "alive for %d ms",
                  (long long)changes, ts->o.rescue_after_ms);
}

#define COUNTS_FIELDS(F) F(int64, due, CADRE_OPTIONAL) F(int64, running, CADRE_OPTIONAL)
CADRE_SCHEMA(counts_row, COUNTS_FIELDS)

/* The table's counts for /metrics: due (available, run_at passed) and running jobs. */
static void read_counts(tasks_worker *w, cadre_arena *scratch, int64_t now)
{
    tasks_state *ts = w->ts;
    counts_row row = { 0 };
    bool found = false;
    int rc = cadre_db_query_one(ts->db, scratch, CADRE_SCHEMA_OF(counts_row), &row, &found,
                                "SELECT SUM(CASE WHEN state = 'available' AND run_at <= ? THEN 1 "
                                "ELSE 0 END) AS due, SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 "
                                "END) AS running FROM cadre_job WHERE state IN ('available', "
                                "'running')",
                                &CADRE_PINT(now), 1);
    if (rc == 0) {
        atomic_store(&ts->due, row.due);
        atomic_store(&ts->running, row.running);
    } else {
        atomic_store(&ts->counts_wanted, true); /* try again at the next heartbeat */
    }
}

static void prune(tasks_worker *w, int64_t now)
{
    tasks_state *ts = w->ts;
    if (ts->o.retention_s < 0)
        return;
    cadre_value p[] = { CADRE_PINT(now - (int64_t)ts->o.retention_s * 1000) };
    /* In batches, so that no statement holds the database long; as many as it takes (up to a
     * million rows a turn: more than any queue finishes in the minute between turns). */
    int64_t changes = PRUNE_BATCH;
    for (int i = 0; i < 100 && changes == PRUNE_BATCH; i++) {
        int rc = cadre_db_exec(ts->db,
                               "DELETE FROM cadre_job WHERE id IN (SELECT id FROM cadre_job WHERE "
                               "state IN ('completed', 'failed', 'cancelled') AND finished_at < ? "
                               "LIMIT " CADRE__STR(PRUNE_BATCH) ")",
                               p, 1, &changes, NULL);
        if (rc) {
            cadre_log(CADRE_LOG_WARN, "tasks: cannot delete old jobs: %s", cadre_strerror(rc));
            return;
        }
    }
}

/* Enqueues a periodic task's job for period (ms), once whatever the number of instances: the
 * schedule's row moves to the period in the job's transaction, and only one instance moves it. */
static int fire(tasks_worker *w, tasks_schedule *s, int64_t period)
{
    tasks_state *ts = w->ts;
    char when[CADRE__TASKS_UTC];
    cadre__tasks_utc(period, when);
    cadre_tx tx;
    int64_t changes = 0;
    int rc = cadre_db_begin(ts->db, &tx);
    if (rc == 0)
        rc = cadre_tx_exec(&tx, "INSERT INTO cadre_periodic (name, last_fire) VALUES (?, 0) ON "
                                "CONFLICT (name) DO NOTHING",
                           &CADRE_PTEXT(s->name), 1, NULL, NULL);
    if (rc == 0)
        rc = cadre_tx_exec(&tx, "UPDATE cadre_periodic SET last_fire = ? WHERE name = ? AND "
                                "last_fire < ?",
                           (cadre_value[]){ CADRE_PINT(period), CADRE_PTEXT(s->name),
                                            CADRE_PINT(period) },
                           3, &changes, NULL);
    if (rc == 0 && changes)
        rc = cadre__tasks_insert(&tx, ts, s->task, cadre_slice_cstr(s->args),
                                 &(cadre_enqueue_opts){ 0 });
    if (rc == 0)
        rc = cadre_tx_commit(&tx);
    else if (tx.open)
        cadre_tx_rollback(&tx);
    if (rc)
        cadre_log(CADRE_LOG_ERROR, "tasks: %s: cannot enqueue the job for %s: %s (trying again "
                                   "in %d ms)",
                  s->name, when, cadre_strerror(rc), ts->o.poll_ms);
    else
        cadre_log(CADRE_LOG_INFO, "tasks: %s: the job for %s %s", s->name, when,
                  changes ? "enqueued" : "enqueued by another instance");
    return rc;
}

/* Worker 0: the periodic tasks whose time has come; one whose job could not be enqueued (the
 * database is down) is tried again after poll_ms, its period kept. Returns when to look next
 * (INT64_MAX: never). */
static int64_t schedules(tasks_worker *w, int64_t now)
{
    int64_t soonest = INT64_MAX;
    for (tasks_schedule *s = w->ts->schedules; s; s = s->next_schedule) {
        int64_t look = s->next;
        if (s->next < 0) /* none was due when the worker started */
            look = s->next = cadre_cron_next(&s->cron, now);
        else if (now >= s->next) {
            if (fire(w, s, s->next) == 0)
                look = s->next = cadre_cron_next(&s->cron, now);
            else
                look = now + w->ts->o.poll_ms;
        }
        if (look >= 0 && look < soonest)
            soonest = look;
    }
    return soonest;
}

/* After the stop: waits for the worker's jobs, marking them alive, until shortly before the
 * shutdown timeout; releases those still running then. */
static void wind_down(cadre_request *r, tasks_worker *w)
{
    tasks_state *ts = w->ts;
    int left = cadre_stop_time_left();
    if (left < 0)
        left = 0;
    int margin = left / 5 < 1000 ? left / 5 : 1000;
    uint64_t end = mono_ms() + (uint64_t)(left - margin), next_beat = 0;
    while (w->running > 0) { /* bounded: each turn waits for a job to end (its completion
                              * written: the writer is a runner), or the end */
        uint64_t now = mono_ms();
        if (now >= end)
            break;
        if (now >= next_beat) {
            heartbeat(w, cadre__tasks_clock(ts));
            next_beat = now + (uint64_t)ts->o.heartbeat_ms;
        }
        uint64_t wait = (end < next_beat ? end : next_beat) - now;
        atomic_store(&w->kicked, false);
        cadre_wait_fd(r, w->efd, CADRE_WAIT_READ, (int)wait);
        drain(w->efd);
    }
    if (w->running == 0)
        return;
    cadre_value p[] = { CADRE_PINT(cadre__tasks_clock(ts)), CADRE_PTEXT(w->lease) };
    int64_t changes = 0;
    int rc = cadre_db_exec(ts->db,
                           "UPDATE cadre_job SET state = 'available', attempt = attempt - 1, "
                           "run_at = ?, worker = NULL, heartbeat_at = NULL WHERE worker = ? AND "
                           "state = 'running'",
                           p, 2, &changes, NULL);
    if (rc)
        cadre_log(CADRE_LOG_WARN, "tasks: %s: cannot release its %d running job(s) at the stop: "
                                  "%s; they will be rescued",
                  w->lease, w->running, cadre_strerror(rc));
    else
        cadre_log(CADRE_LOG_WARN, "tasks: %s: released %lld job(s) still running at the stop: "
                                  "they will run again",
                  w->lease, (long long)changes);
}

static void dispatcher(cadre_request *r, void *ctx)
{
    tasks_worker *w = ctx;
    tasks_state *ts = w->ts;
    int64_t next_beat = 0, next_rescue = 0, next_prune = 0, next_fire = INT64_MAX;
    bool failing = false, migrated = false, waiting = false;
    cadre_arena scratch; /* each turn's rows: not r's arena, which holds r's state */
    cadre_arena_init(&scratch, 16384);
    for (;;) { /* bounded by the stop: cadre_idle_fd returns CADRE_ECANCELED then */
        atomic_store(&w->kicked, false);
        drain(w->efd);
        /* nothing is claimed before migrate has run (each query would fail and say so, every
         * poll): the runners wait for it, said once */
        size_t pending = 0;
        if (!migrated && cadre_app_migrations_pending(ts->app, &pending) == 0 && pending) {
            if (!waiting && w->index == 0)
                cadre_log(CADRE_LOG_WARN, "tasks: no job runs until the app's migrate command "
                                          "has run (%zu migration%s pending)",
                          pending, pending == 1 ? "" : "s");
            waiting = true;
            if (cadre_idle_fd(r, w->efd, ts->o.poll_ms) == CADRE_ECANCELED)
                break;
            continue;
        }
        if (!migrated && waiting && w->index == 0)
            cadre_log(CADRE_LOG_INFO, "tasks: migrated: running jobs");
        migrated = true;
        int64_t now = cadre__tasks_clock(ts);
        if (now >= next_beat) {
            heartbeat(w, now);
            /* the table's counts, only when /metrics asked for them since */
            if (w->index == 0 && atomic_exchange(&ts->counts_wanted, false))
                read_counts(w, &scratch, now);
            next_beat = now + ts->o.heartbeat_ms;
        }
        if (w->index == 0) { /* the instance's chores, each on its own cadence */
            if (now >= next_rescue) { /* a stale job waits rescue_after_ms and up to ¼ more */
                rescue(w, now);
                next_rescue = now + ts->o.rescue_after_ms / 4;
            }
            if (now >= next_prune) {
                prune(w, now);
                next_prune = now + 60000;
            }
            next_fire = schedules(w, now);
        }
        int room = ts->o.concurrency - w->running, got = 0;
        if (room > 0) {
            got = claim(&scratch, w, room, now);
            if (got < 0 && !failing)
                cadre_log(CADRE_LOG_ERROR, "tasks: %s: cannot claim jobs: %s (trying again every "
                                           "%d ms)",
                          w->lease, cadre_strerror(got), ts->o.poll_ms);
            else if (got >= 0 && failing)
                cadre_log(CADRE_LOG_INFO, "tasks: %s: claiming jobs again", w->lease);
            failing = got < 0;
        }
        cadre_arena_reset(&scratch);
        if (got > 0 && got == room && !cadre_stopping())
            continue; /* there may be more */
        int64_t wait = next_beat - now < ts->o.poll_ms ? next_beat - now : ts->o.poll_ms;
        if (next_fire - now < wait)
            wait = next_fire - now;
        if (w->index == 0 && next_rescue - now < wait)
            wait = next_rescue - now;
        if (cadre_idle_fd(r, w->efd, (int)(wait > 0 ? wait : 0)) == CADRE_ECANCELED)
            break;
    }
    cadre_arena_free(&scratch);
    wind_down(r, w);
}

/*
 * PostgreSQL: a job enqueued by another instance wakes this one's workers at once — its enqueue
 * notifies CADRE__TASKS_CHANNEL in its transaction (tasks.c), and worker 0 listens on it on a
 * connection of its own. Polling every poll_ms stays as the fallback: while the listening
 * connection is down (said once, tried again every 5 s), and for what a lost connection missed.
 */
#define LISTEN_RETRY_MS 5000

static void listener(cadre_request *r, void *ctx)
{
    tasks_state *ts = ctx;
    cadre_db_listener *l = NULL;
    bool down = false;
    for (;;) { /* bounded by the stop: cadre_idle_fd returns CADRE_ECANCELED then */
        if (!l) {
            int rc = cadre_db_listen(ts->db, CADRE__TASKS_CHANNEL, &l);
            if (rc) {
                if (!down)
                    cadre_log(CADRE_LOG_WARN, "tasks: cannot listen for new jobs (%s): other "
                                              "instances' jobs are found every %d ms",
                              cadre_strerror(rc), ts->o.poll_ms);
                down = true;
                if (cadre_idle(r, LISTEN_RETRY_MS) == CADRE_ECANCELED)
                    break;
                continue;
            }
            cadre_log(CADRE_LOG_INFO, "tasks: listening for other instances' new jobs "
                                      "(PostgreSQL's LISTEN)");
            down = false;
            cadre__tasks_kick(ts); /* what was enqueued while nobody listened */
        }
        int got = 0, n;
        while ((n = cadre_db_listener_next(l, NULL, 0)) > 0)
            got++;
        if (got)
            cadre__tasks_kick(ts);
        if (n < 0) {
            cadre_db_listener_close(l);
            l = NULL;
            continue;
        }
        if (cadre_idle_fd(r, cadre_db_listener_fd(l), -1) == CADRE_ECANCELED)
            break;
    }
    cadre_db_listener_close(l);
}

void cadre__tasks_worker_start(cadre_app *app, int index, void *ctx)
{
    (void)app;
    tasks_state *ts = ctx;
    if (ts->o.concurrency <= 0 || !ts->nqueues || !ts->tasks)
        return;
    if (index < 0 || index >= TASKS_MAX_WORKERS) {
        cadre_log(CADRE_LOG_WARN, "tasks: worker %d runs no jobs (at most %d workers do)", index,
                  TASKS_MAX_WORKERS);
        return;
    }
    /* a worker of an earlier serve in this process is taken again: kickers may hold it */
    tasks_worker *w = atomic_load(&ts->workers[index]);
    bool fresh = !w;
    if (fresh) {
        w = calloc(1, sizeof *w);
        if (!w || (w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
            cadre_log(CADRE_LOG_ERROR, "tasks: worker %d cannot start its runners: %s", index,
                      w ? "no eventfd" : "out of memory");
            free(w);
            return;
        }
        w->ts = ts;
        w->index = index;
        w->rng = ts->rng ^ ((uint64_t)(index + 1) * UINT64_C(0xD1B54A32D192ED03));
    }
    w->running = 0;
    /* a writer dropped at the last stop's deadline (cadre__tasks_workers_free) left its flag and
     * the completions it had not taken: they were not written (those jobs are released or
     * rescued), and no completion would ever be written again with the flag left set */
    for (size_t j = 0; j < w->ndone; j++)
        free(w->done[j].result);
    w->ndone = 0;
    w->writing = false;
    /* the periods due from now on: fixed before this worker serves a request (not at its
     * dispatcher's first turn, which waits for the database) */
    for (tasks_schedule *s = index == 0 ? ts->schedules : NULL; s; s = s->next_schedule)
        s->next = cadre_cron_next(&s->cron, cadre__tasks_clock(ts));
    char host[64] = "localhost";
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    snprintf(w->lease, sizeof w->lease, "%s:%ld:w%d", host, (long)getpid(), index);
    if (fresh)
        atomic_store(&ts->workers[index], w);
    int rc = cadre_spawn(dispatcher, w);
    if (rc)
        cadre_log(CADRE_LOG_ERROR, "tasks: worker %d cannot start its runners: %s", index,
                  cadre_strerror(rc));
    if (rc == 0 && index == 0 && ts->pg && (rc = cadre_spawn(listener, ts)) != 0)
        cadre_log(CADRE_LOG_WARN, "tasks: cannot listen for new jobs: %s (other instances' jobs "
                  "are found every %d ms)", cadre_strerror(rc), ts->o.poll_ms);
}

void cadre__tasks_workers_free(tasks_state *ts)
{
    for (int i = 0; i < TASKS_MAX_WORKERS; i++) {
        tasks_worker *w = atomic_exchange(&ts->workers[i], NULL);
        if (w) {
            close(w->efd);
            for (size_t j = 0; j < w->ndone; j++) /* a writer dropped at the stop's deadline */
                free(w->done[j].result);
            free(w->done);
            free(w);
        }
    }
}
