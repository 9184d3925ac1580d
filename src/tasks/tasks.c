/*
 * The tasks module: its options, its table and migrations, the registry of tasks, enqueueing,
 * and cancelling or retrying a job.
 */
#include "tasks/tasks_internal.h"

#include "cadre/json.h"
#include "cadre/migrate.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Compiled into the library from src/tasks/migrations (meson.build). */
extern const cadre_migration_source cadre_tasks_migrations[];
extern const size_t cadre_tasks_migrations_count;

#define MAX_ARGS_JSON ((size_t)1 << 20) /* a job's arguments: 1 MiB of JSON at most */

tasks_state *cadre__tasks_state(const cadre_app *app)
{
    return app ? cadre_app_attachment(app, TASKS_KEY) : NULL;
}

int64_t cadre__tasks_clock(tasks_state *ts)
{
    if (ts->o.clock)
        return ts->o.clock(ts->o.clock_ctx);
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int64_t cadre_tasks_now(cadre_app *app)
{
    tasks_state *ts = cadre__tasks_state(app);
    return ts ? cadre__tasks_clock(ts) : 0;
}

void cadre_tasks_wake(cadre_app *app)
{
    tasks_state *ts = cadre__tasks_state(app);
    if (ts)
        cadre__tasks_kick(ts);
}

cadre_task *cadre__tasks_find(tasks_state *ts, cadre_slice name)
{
    for (cadre_task *t = ts->tasks; t; t = t->next)
        if (cadre_slice_eq_cstr(name, t->name))
            return t;
    return NULL;
}

int64_t cadre__tasks_backoff(const cadre_task_opts *o, int attempt, uint64_t r)
{
    int64_t d = o->backoff_ms;
    for (int i = 1; i < attempt && d < o->max_backoff_ms; i++)
        d *= 2;
    if (d > o->max_backoff_ms)
        d = o->max_backoff_ms;
    /* ± 25 %: d × (0.75 + 0.5 × r/2^64) */
    double f = 0.75 + 0.5 * ((double)(r >> 11) / (double)(UINT64_C(1) << 53));
    return (int64_t)((double)d * f);
}

static void state_free(void *p)
{
    tasks_state *ts = p;
    cadre__tasks_workers_free(ts);
    free(ts->claim_sql);
    free(ts);
}

/* A queue's name: 1 to 100 of [A-Za-z0-9_.-]. */
static bool queue_ok(const char *s, size_t n)
{
    if (n == 0 || n > 100)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] >= 'a' && s[i] <= 'z') && !(s[i] >= 'A' && s[i] <= 'Z') &&
            !(s[i] >= '0' && s[i] <= '9') && !strchr("_.-", s[i]))
            return false;
    return true;
}

/* Splits "a,b" into ts->queues (owned by the app). Returns NULL or why the list is wrong. */
static const char *split_queues(tasks_state *ts, const char *list)
{
    size_t n = 0;
    cadre_slice q;
    for (const char *p = list; cadre_list_next(&p, &q); n++)
        if (!queue_ok(q.ptr, q.len))
            return "queues: names of 1 to 100 letters, digits, '_', '.' or '-', comma-separated "
                   "(\"default,mail\")";
    ts->queues = n ? cadre_app_own(ts->app, calloc(n, sizeof *ts->queues)) : NULL;
    if (n && !ts->queues)
        return "out of memory";
    for (const char *p = list; cadre_list_next(&p, &q);) {
        char *name = cadre_app_own(ts->app, strndup(q.ptr, q.len));
        if (!name)
            return "out of memory";
        ts->queues[ts->nqueues++] = name;
    }
    return NULL;
}

/* The claim: the next available jobs of this process's queues, marked running by one worker in
 * one statement. PostgreSQL skips rows another transaction has locked (another worker claiming
 * them); SQLite's writer lock makes the statement alone on the database. */
static char *claim_sql(const tasks_state *ts)
{
    cadre_buf b;
    cadre_buf_init(&b, 1 << 16);
    cadre_buf_append_str(&b, "UPDATE cadre_job SET state = 'running', attempt = attempt + 1, "
                             "worker = ?, started_at = ?, heartbeat_at = ? WHERE id IN (SELECT id "
                             "FROM cadre_job WHERE state = 'available' AND run_at <= ? AND "
                             "queue IN (");
    for (size_t i = 0; i < ts->nqueues; i++)
        cadre_buf_append_str(&b, i ? ", ?" : "?");
    cadre_buf_append_str(&b, ") ORDER BY priority, run_at, id LIMIT ?");
    if (ts->pg)
        cadre_buf_append_str(&b, " FOR UPDATE SKIP LOCKED");
    int rc = cadre_buf_append_str(&b, ") RETURNING id, queue, task, args, priority, state, "
                                      "attempt, max_attempts, run_at, created_at, started_at, "
                                      "timeout_ms, worker, unique_key");
    char *sql = rc ? NULL : strndup(b.data, b.len);
    cadre_buf_free(&b);
    return sql;
}


void cadre__tasks_utc(int64_t ms, char out[CADRE__TASKS_UTC])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(out, CADRE__TASKS_UTC, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(out, CADRE__TASKS_UTC, "%lld ms", (long long)ms);
}

/* The table's counts as worker 0 last read them; reading one asks for a fresh read. */
static double due_jobs(void *ctx)
{
    tasks_state *ts = ctx;
    atomic_store(&ts->counts_wanted, true);
    return (double)atomic_load(&ts->due);
}

static double running_jobs(void *ctx)
{
    tasks_state *ts = ctx;
    atomic_store(&ts->counts_wanted, true);
    return (double)atomic_load(&ts->running);
}

static double rescued_jobs(void *ctx)
{
    return (double)atomic_load(&((tasks_state *)ctx)->rescued);
}

/* The module's series in /metrics (cadre/app.h). */
static int metrics(tasks_state *ts)
{
    ts->outcomes = cadre_counter(ts->app, "tasks_jobs_total",
                                 "Job attempts ended here, by task and outcome (completed, failed: "
                                 "for good, retried, released: at a stop)",
                                 "task,outcome");
    ts->durations = cadre_histogram(ts->app, "tasks_job_duration_seconds",
                                    "Time a job's attempt ran here, by task", "task", NULL, 0);
    if (!ts->outcomes || !ts->durations)
        return CADRE_EEXIST; /* the configuration error says which */
    int rc = cadre_gauge(ts->app, "tasks_jobs_due",
                         "Jobs available and due, every queue's (the queues' depth; read from "
                         "the table at the heartbeat after a scrape)",
                         due_jobs, ts);
    if (rc == 0)
        rc = cadre_gauge(ts->app, "tasks_jobs_running", "Jobs running, on every instance",
                         running_jobs, ts);
    if (rc == 0)
        rc = cadre_counter_fn(ts->app, "tasks_jobs_rescued_total",
                              "Running jobs this process found unmarked past rescue_after_ms and "
                              "made available again (or failed)",
                              rescued_jobs, ts);
    return rc;
}

cadre_module *cadre__tasks(cadre_app *app, cadre_db *db, const cadre_tasks_opts *opts,
                           const char *file, int line)
{
    if (!app)
        return NULL;
    if (cadre__tasks_state(app)) {
        cadre_app_config_error(app, file, line, "cadre_tasks: the tasks module is on already");
        return NULL;
    }
    if (!db) {
        cadre_app_config_error(app, file, line, "cadre_tasks: no database (open one with "
                                                "cadre_db_open_env first)");
        return NULL;
    }
    cadre_tasks_opts o = *opts;
    const char *envq = getenv("CADRE_TASKS_QUEUES");
    if (envq && *envq)
        o.queues = envq;
    if (!o.queues)
        o.queues = "default";
    const char *envc = getenv("CADRE_TASKS_CONCURRENCY"); /* over the code's; 0 means none */
    if (envc && *envc) {
        int64_t n;
        if (cadre_slice_to_i64(cadre_slice_cstr(envc), false, &n) != 0 || n < -1 || n > 10000) {
            cadre_app_config_error(app, file, line, "cadre_tasks: $CADRE_TASKS_CONCURRENCY must "
                                                    "be a number of jobs per worker thread, 1 to "
                                                    "10000 (0 or -1: none)");
            return NULL;
        }
        o.concurrency = n ? (int)n : -1;
    }
    if (!o.concurrency)
        o.concurrency = 10;
    if (!o.poll_ms)
        o.poll_ms = 1000;
    if (!o.heartbeat_ms)
        o.heartbeat_ms = 2000;
    if (!o.rescue_after_ms)
        o.rescue_after_ms = 60000;
    if (!o.retention_s)
        o.retention_s = 7 * 86400;

    const char *bad = NULL;
    if (o.concurrency < -1 || o.concurrency > 10000)
        bad = "concurrency: jobs at once per worker thread, 1 to 10000 (-1: none here)";
    else if (o.poll_ms < 10 || o.heartbeat_ms < 10)
        bad = "poll_ms and heartbeat_ms: at least 10";
    else if (o.rescue_after_ms < 2 * o.heartbeat_ms)
        bad = "rescue_after_ms must be at least twice heartbeat_ms (a live worker's jobs would "
              "be taken from it)";
    else if (o.retention_s < -1)
        bad = "retention_s: seconds, or -1 to keep finished jobs";
    if (bad) {
        cadre_app_config_error(app, file, line, "cadre_tasks: %s", bad);
        return NULL;
    }
    tasks_state *ts = calloc(1, sizeof *ts);
    if (!ts || cadre_app_attach(app, TASKS_KEY, ts, state_free) != 0) {
        cadre_app_config_error(app, file, line, "cadre_tasks: out of memory");
        return NULL; /* attach freed ts */
    }
    ts->app = app;
    ts->db = db;
    ts->o = o;
    ts->o.queues = NULL;
    ts->pg = strcmp(cadre_db_engine(db), "postgresql") == 0;
    ts->rng = (uint64_t)getpid() * UINT64_C(0x9E3779B97F4A7C15) ^ (uint64_t)time(NULL);
    if ((bad = split_queues(ts, o.queues)) != NULL) {
        cadre_app_config_error(app, file, line, "cadre_tasks: %s%s", o.queues == envq ?
                               "$CADRE_TASKS_QUEUES: " : "", bad);
        return NULL;
    }
    if (ts->nqueues && !(ts->claim_sql = claim_sql(ts))) {
        cadre_app_config_error(app, file, line, "cadre_tasks: out of memory");
        return NULL;
    }

    cadre_module *m = cadre__module_add(app, &(cadre_module_opts){ .label = "tasks" }, file, line);
    if (!m)
        return NULL;
    ts->mod = m;
    int rc = cadre__models(m, db, NULL, cadre_tasks_migrations, cadre_tasks_migrations_count,
                           (const cadre_schema *const[]){ cadre_job__schema(),
                                                          cadre_periodic__schema() },
                           2, file, line);
    if (rc == 0)
        rc = metrics(ts);
    if (rc == 0)
        rc = cadre_app_on_worker_start(app, cadre__tasks_worker_start, ts);
    if (rc == 0)
        rc = cadre__tasks_commands(ts);
    if (rc) {
        cadre_app_config_error(app, file, line, "cadre_tasks: %s", cadre_strerror(rc));
        return NULL;
    }
    return m;
}

int cadre__task_add(cadre_app *app, cadre_task *t, const char *file, int line)
{
    tasks_state *ts = cadre__tasks_state(app);
    const char *bad = NULL;
    if (!app)
        return CADRE_EINVAL;
    if (!ts)
        bad = "the tasks module is not on (cadre_tasks(app, db) first)";
    else if (!t || !t->name || !t->run || !t->args)
        bad = "not a task (define it with CADRE_TASK)";
    else if (t->tasks)
        bad = "this task is registered already";
    else if (cadre__tasks_find(ts, cadre_slice_cstr(t->name)))
        bad = "another task has this name";
    else if (strlen(t->name) > 100)
        bad = "a task's name is at most 100 characters";
    else if (t->o.queue && !queue_ok(t->o.queue, strlen(t->o.queue)))
        bad = ".queue: 1 to 100 letters, digits, '_', '.' or '-'";
    else if (t->o.max_attempts < 0 || t->o.timeout_ms < 0 || t->o.backoff_ms < 0 ||
             t->o.max_backoff_ms < 0)
        bad = ".max_attempts, .timeout_ms, .backoff_ms and .max_backoff_ms cannot be negative";
    if (bad) {
        cadre_app_config_error(app, file, line, "cadre_task_add(%s): %s",
                               t && t->name ? t->name : "?", bad);
        return CADRE_EINVAL;
    }
    if (!t->o.queue)
        t->o.queue = "default";
    if (!t->o.max_attempts)
        t->o.max_attempts = 20;
    if (!t->o.backoff_ms)
        t->o.backoff_ms = 1000;
    if (!t->o.max_backoff_ms)
        t->o.max_backoff_ms = 3600 * 1000;
    if (t->o.max_backoff_ms < t->o.backoff_ms)
        t->o.max_backoff_ms = t->o.backoff_ms;
    t->tasks = ts;
    t->next = ts->tasks;
    ts->tasks = t;
    return 0;
}

/* args as JSON (1 MiB at most) into *out, which the caller frees. */
static int encode_args(cadre_task *t, const void *args, cadre_buf *out)
{
    cadre_buf_init(out, MAX_ARGS_JSON);
    cadre_json_writer w;
    cadre_json_writer_init(&w, out);
    if (args)
        cadre_schema_encode_json(t->args(), args, &w);
    else
        cadre_buf_append_str(out, "{}");
    if (w.error)
        cadre_log(CADRE_LOG_ERROR, "tasks: %s: the arguments do not encode: %s", t->name,
                  cadre_strerror(w.error));
    return w.error ? w.error : out->data ? 0 : CADRE_ENOMEM;
}

int cadre__task_schedule(cadre_app *app, cadre_task *t, const char *cron, const void *args,
                         const char *file, int line)
{
    tasks_state *ts = cadre__tasks_state(app);
    if (!app)
        return CADRE_EINVAL;
    if (!t || !t->tasks || t->tasks != ts) {
        cadre_app_config_error(app, file, line, "cadre_task_schedule(%s): register the task "
                                                "first (cadre_task_add)",
                               t && t->name ? t->name : "?");
        return CADRE_ESTATE;
    }
    cadre_cron c;
    char why[CADRE_CRON_WHY];
    if (cadre_cron_parse(cron, &c, why) != 0) {
        cadre_app_config_error(app, file, line, "cadre_task_schedule(%s, \"%s\"): %s", t->name,
                               cron ? cron : "(null)", why);
        return CADRE_EINVAL;
    }
    if (cadre_cron_next(&c, cadre__tasks_clock(ts)) < 0) {
        cadre_app_config_error(app, file, line, "cadre_task_schedule(%s, \"%s\"): names no "
                                                "minute in the next five years",
                               t->name, cron);
        return CADRE_EINVAL;
    }
    char *name = NULL;
    if (asprintf(&name, "%s %s", t->name, cron) < 0 || !cadre_app_own(app, name)) {
        cadre_app_config_error(app, file, line, "cadre_task_schedule: out of memory");
        return CADRE_ENOMEM;
    }
    for (tasks_schedule *s = ts->schedules; s; s = s->next_schedule)
        if (strcmp(s->name, name) == 0) {
            cadre_app_config_error(app, file, line, "cadre_task_schedule(%s, \"%s\"): scheduled "
                                                    "already", t->name, cron);
            return CADRE_EEXIST;
        }
    cadre_buf json;
    int rc = encode_args(t, args, &json);
    tasks_schedule *s = rc ? NULL : cadre_app_own(app, calloc(1, sizeof *s));
    char *text = s ? cadre_app_own(app, strndup(json.data, json.len)) : NULL;
    cadre_buf_free(&json);
    if (!text) {
        cadre_app_config_error(app, file, line, "cadre_task_schedule(%s): %s", t->name,
                               cadre_strerror(rc ? rc : CADRE_ENOMEM));
        return rc ? rc : CADRE_ENOMEM;
    }
    *s = (tasks_schedule){ .task = t, .name = name, .args = text, .cron = c, .next = -1,
                           .next_schedule = ts->schedules };
    ts->schedules = s;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Enqueueing
 * ------------------------------------------------------------------------------------------- */

/* The checks cadre_enqueue and cadre_enqueue_many share: 0, or what to return (logged). */
static int check_enqueue(cadre_tx *tx, tasks_state *ts, cadre_task *t, const cadre_enqueue_opts *o,
                         const char *fn)
{
    if (tx && !tx->open)
        return CADRE_ESTATE;
    if (tx && tx->db != ts->db) {
        cadre_log(CADRE_LOG_ERROR, "%s(%s): the transaction is on another database than the "
                                   "tasks module's", fn, t->name);
        return CADRE_EINVAL;
    }
    const char *queue = o->queue ? o->queue : t->o.queue;
    if (o->delay_ms < 0 || o->max_attempts < 0 || !queue_ok(queue, strlen(queue)) ||
        (o->unique && (!*o->unique || strlen(o->unique) > 200))) {
        cadre_log(CADRE_LOG_ERROR, "%s(%s): .delay_ms and .max_attempts cannot be negative, "
                                   ".queue is 1 to 100 of [A-Za-z0-9_.-], .unique 1 to 200 "
                                   "characters", fn, t->name);
        return CADRE_EINVAL;
    }
    return 0;
}

/* Whether task t can be enqueued (registered), said once per call when not. */
static int registered(cadre_task *t, const char *fn)
{
    if (t->tasks)
        return 0;
    cadre_log(CADRE_LOG_ERROR, "%s: the task %s is not registered (cadre_task_add(app, &%s) at "
                               "start-up)", fn, t->name, t->name);
    return CADRE_ESTATE;
}

static void kick_hook(void *ctx)
{
    cadre__tasks_kick(ctx);
}

static int run_query_one(cadre_tx *tx, cadre_db *db, cadre_arena *a, cadre_job *row, bool *found,
                         const char *sql, const cadre_value *p, size_t n)
{
    return tx ? cadre_tx_query_one(tx, a, cadre_job__schema(), row, found, sql, p, n)
              : cadre_db_query_one(db, a, cadre_job__schema(), row, found, sql, p, n);
}

int cadre__enqueue(cadre_tx *tx, cadre_task *t, const void *args, const cadre_enqueue_opts *o)
{
    if (!t || !args || !o)
        return CADRE_EINVAL;
    int rc = registered(t, "cadre_enqueue");
    if (rc)
        return rc;
    cadre_buf json;
    rc = encode_args(t, args, &json);
    if (rc == 0)
        rc = cadre__tasks_insert(tx, t->tasks, t, (cadre_slice){ json.data, json.len }, o);
    cadre_buf_free(&json);
    return rc;
}

int cadre__tasks_insert(cadre_tx *tx, tasks_state *ts, cadre_task *t, cadre_slice args,
                        const cadre_enqueue_opts *o)
{
    int checked = check_enqueue(tx, ts, t, o, "cadre_enqueue");
    if (checked)
        return checked;
    const char *queue = o->queue ? o->queue : t->o.queue;
    int64_t now = cadre__tasks_clock(ts);
    int64_t run_at = o->run_at ? o->run_at : now + o->delay_ms;
    cadre_value p[] = {
        CADRE_PTEXT(queue),
        CADRE_PTEXT(t->name),
        CADRE_PSLICE(args),
        CADRE_PINT(o->priority ? o->priority : t->o.priority),
        CADRE_PINT(o->max_attempts ? o->max_attempts : t->o.max_attempts),
        CADRE_PINT(run_at),
        CADRE_PINT(now),
        CADRE_PINT(t->o.timeout_ms),
        o->unique ? CADRE_PTEXT(o->unique) : CADRE_PNULL,
    };
#define INSERT_JOB                                                                                 \
    "INSERT INTO cadre_job (queue, task, args, priority, state, attempt, max_attempts, run_at, "   \
    "created_at, timeout_ms, unique_key) VALUES (?, ?, ?, ?, 'available', 0, ?, ?, ?, ?, ?) "      \
    "ON CONFLICT (unique_key) DO NOTHING RETURNING id"
    /* On PostgreSQL the same statement notifies the other instances' listeners (runner.c), in
     * the enqueue's transaction: delivered when it commits (once per transaction, however many
     * jobs it enqueues: PostgreSQL folds identical notifications), never when it rolls back. */
    const char *insert = ts->pg ? "WITH j AS (" INSERT_JOB ") SELECT j.id FROM j, "
                                  "pg_notify('" CADRE__TASKS_CHANNEL "', '') AS n"
                                : INSERT_JOB;
#undef INSERT_JOB
    cadre_arena a;
    cadre_arena_init(&a, 512);
    cadre_job row;
    bool found = false;
    int rc = 0;
    /* Bounded: a unique key's holder can end between the insert and the look-up (then the
     * insert is tried again), at most three times. */
    for (int tries = 0; tries < 3; tries++) {
        rc = run_query_one(tx, ts->db, &a, &row, &found, insert, p, sizeof p / sizeof *p);
        if (rc || found)
            break;
        rc = run_query_one(tx, ts->db, &a, &row, &found,
                           "SELECT id FROM cadre_job WHERE unique_key = ?", &p[8], 1);
        if (rc == 0 && found) {
            rc = CADRE_EEXIST;
            break;
        }
    }
    if (rc == 0 && !found)
        rc = CADRE_EBUSY; /* the key changed hands three times: hardly possible */
    if (o->id)
        *o->id = (rc == 0 || rc == CADRE_EEXIST) ? row.id : 0;
    cadre_arena_free(&a);
    if (rc == 0) {
        if (!tx || cadre_tx_on_commit(tx, kick_hook, ts) != 0)
            cadre__tasks_kick(ts); /* without a hook, the workers look early: no harm */
    }
    return rc;
}

int cadre__tasks_cmp_id(const void *a, const void *b)
{
    int64_t x = ((const tasks_id_row *)a)->id, y = ((const tasks_id_row *)b)->id;
    return (x > y) - (x < y);
}

int cadre__enqueue_many(cadre_tx *tx, cadre_task *t, const void *args, size_t n,
                        const cadre_enqueue_opts *o)
{
    if (!t || (!args && n) || !o)
        return CADRE_EINVAL;
    int rc = registered(t, "cadre_enqueue_many");
    if (rc)
        return rc;
    tasks_state *ts = t->tasks;
    if ((rc = check_enqueue(tx, ts, t, o, "cadre_enqueue_many")) != 0)
        return rc;
    if (o->unique) {
        cadre_log(CADRE_LOG_ERROR, "cadre_enqueue_many(%s): .unique names one job: enqueue a job "
                                   "with a unique key with cadre_enqueue", t->name);
        return CADRE_EINVAL;
    }
    if (n == 0)
        return 0;
    if (n > CADRE_ENQUEUE_MANY_MAX) {
        cadre_log(CADRE_LOG_ERROR, "cadre_enqueue_many(%s): %zu jobs in one call; at most %d",
                  t->name, n, CADRE_ENQUEUE_MANY_MAX);
        return CADRE_EINVAL;
    }
    /* the jobs' arguments as one JSON array: one parameter, one statement whatever n */
    const cadre_schema *s = t->args();
    cadre_buf json;
    cadre_buf_init(&json, (size_t)1 << 30);
    cadre_json_writer w;
    cadre_json_writer_init(&w, &json);
    cadre_json_begin_array(&w);
    for (size_t i = 0; i < n; i++) {
        size_t before = json.len;
        cadre_schema_encode_json(s, (const char *)args + i * s->size, &w);
        if (!w.error && json.len - before - (i > 0) > MAX_ARGS_JSON) /* (its comma aside) */
            w.error = CADRE_ETOOBIG;
    }
    cadre_json_end_array(&w);
    if ((rc = w.error ? w.error : json.data ? 0 : CADRE_ENOMEM) != 0) {
        cadre_log(CADRE_LOG_ERROR, "cadre_enqueue_many(%s): the arguments do not encode: %s",
                  t->name, cadre_strerror(rc));
        cadre_buf_free(&json);
        return rc;
    }
    const char *queue = o->queue ? o->queue : t->o.queue;
    int64_t now = cadre__tasks_clock(ts);
    cadre_value p[] = {
        CADRE_PTEXT(queue),
        CADRE_PTEXT(t->name),
        CADRE_PINT(o->priority ? o->priority : t->o.priority),
        CADRE_PINT(o->max_attempts ? o->max_attempts : t->o.max_attempts),
        CADRE_PINT(o->run_at ? o->run_at : now + o->delay_ms),
        CADRE_PINT(now),
        CADRE_PINT(t->o.timeout_ms),
        { .type = CADRE_V_TEXT, .s = { json.data, json.len } },
    };
#define INSERT_JOBS(ARGS, FROM)                                                                    \
    "INSERT INTO cadre_job (queue, task, args, priority, state, attempt, max_attempts, run_at, "   \
    "created_at, timeout_ms) SELECT CAST(? AS TEXT), CAST(? AS TEXT), " ARGS ", "                  \
    "CAST(? AS INTEGER), 'available', 0, CAST(? AS INTEGER), CAST(? AS BIGINT), "                  \
    "CAST(? AS BIGINT), CAST(? AS INTEGER) FROM " FROM " RETURNING id"
    /* the rows in the array's order, their ids rising with it: each row's default id is drawn
     * as the ordered SELECT hands it to the INSERT, which both engines do though neither
     * documents it (the ORM's insert_many takes its keys first instead: crud.c); on
     * PostgreSQL, notified as one cadre_enqueue is */
    const char *insert =
        ts->pg ? "WITH j AS (" INSERT_JOBS("e.v::text", "json_array_elements(CAST(? AS json)) "
                                                        "WITH ORDINALITY AS e(v, i) ORDER BY e.i")
                 ") SELECT j.id FROM j, pg_notify('" CADRE__TASKS_CHANNEL "', '') AS n"
               : INSERT_JOBS("value", "json_each(?) ORDER BY key");
#undef INSERT_JOBS
    cadre_arena a;
    cadre_arena_init(&a, 4096);
    cadre_rows rows = { 0 };
    const cadre_schema *id_row = CADRE_SCHEMA_OF(tasks_id_row);
    rc = tx ? cadre_tx_query(tx, &a, id_row, &rows, insert, p, sizeof p / sizeof *p)
            : cadre_db_query(ts->db, &a, id_row, &rows, insert, p, sizeof p / sizeof *p);
    cadre_buf_free(&json);
    if (rc == 0 && rows.len != n) {
        cadre_log(CADRE_LOG_ERROR, "cadre_enqueue_many(%s): %zu jobs written of %zu", t->name,
                  rows.len, n);
        rc = CADRE_EIO;
    }
    if (rc == 0 && o->id) {
        qsort(rows.items, rows.len, sizeof(tasks_id_row), cadre__tasks_cmp_id);
        for (size_t i = 0; i < n; i++)
            o->id[i] = ((tasks_id_row *)rows.items)[i].id;
    }
    cadre_arena_free(&a);
    if (rc == 0 && (!tx || cadre_tx_on_commit(tx, kick_hook, ts) != 0))
        cadre__tasks_kick(ts);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Managing jobs
 * ------------------------------------------------------------------------------------------- */

/* Runs sql on job id (its parameters: the module's time, then the id); when it changes nothing,
 * tells why: not found or not in a state it takes. */
static int job_change(cadre_app *app, int64_t id, const char *sql)
{
    tasks_state *ts = cadre__tasks_state(app);
    if (!ts)
        return CADRE_ESTATE;
    cadre_value p[] = { CADRE_PINT(cadre__tasks_clock(ts)), CADRE_PINT(id) };
    int64_t changes = 0;
    int rc = cadre_db_exec(ts->db, sql, p, 2, &changes, NULL);
    if (rc || changes)
        return rc;
    cadre_arena a;
    cadre_arena_init(&a, 256);
    cadre_job row;
    bool found = false;
    rc = cadre_db_query_one(ts->db, &a, cadre_job__schema(), &row, &found,
                            "SELECT id FROM cadre_job WHERE id = ?", &CADRE_PINT(id), 1);
    cadre_arena_free(&a);
    return rc ? rc : found ? CADRE_ESTATE : CADRE_ENOTFOUND;
}

int cadre_job_cancel(cadre_app *app, int64_t id)
{
    return job_change(app, id,
                      "UPDATE cadre_job SET state = 'cancelled', finished_at = ?, worker = NULL, "
                      "unique_key = NULL, error = COALESCE(error, 'cancelled') WHERE id = ? AND "
                      "state IN ('available', 'running')");
}

int cadre_job_retry(cadre_app *app, int64_t id)
{
    return job_change(app, id,
                      "UPDATE cadre_job SET state = 'available', run_at = ?, finished_at = NULL, "
                      "max_attempts = CASE WHEN attempt >= max_attempts THEN attempt + 1 ELSE "
                      "max_attempts END WHERE id = ? AND state IN ('failed', 'cancelled')");
}
