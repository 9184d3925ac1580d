/*
 * The tasks module's test app: $CADRE_DATABASE_URL names the database (SQLite or PostgreSQL).
 * The task `work` records each run in the table effect (job, key, attempt, process) and fails
 * on purpose while its attempt is at most args.fail; `slow` is the same with a 300 ms timeout.
 *   TASKSAPP_FAKE_CLOCK=1   the module's clock stands still at the start's time but for what
 *                           POST /clock adds (=MS: at that time, ms since the epoch, instead)
 *   TASKSAPP_SCHEDULE=1     `work` runs every minute with the key "tick"
 *   TASKSAPP_HEARTBEAT_MS, TASKSAPP_RESCUE_MS, TASKSAPP_CONCURRENCY, TASKSAPP_POLL_MS,
 *   TASKSAPP_RETENTION_S
 */
#include <cadre.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static cadre_db *db;
static _Atomic int64_t clock_offset;

#define WORK_FIELDS(F)                                                                             \
    F(string, key, CADRE_MAX_LEN(100))                                                             \
    F(int32, fail, CADRE_DEFAULT(0))                                                               \
    F(bool, permanent, CADRE_DEFAULT(false))                                                       \
    F(int32, sleep_first, CADRE_DEFAULT(0))                                                        \
    F(int32, sleep, CADRE_DEFAULT(0))
CADRE_SCHEMA(work_args, WORK_FIELDS)

static int do_work(cadre_job *job, const work_args *a)
{
    cadre_request *r = cadre_job_request(job);
    int ms = a->sleep + (job->attempt == 1 ? a->sleep_first : 0);
    if (ms) {
        int rc = cadre_sleep(r, ms);
        if (rc)
            return rc;
    }
    cadre_value p[] = { CADRE_PINT(job->id), CADRE_PSLICE(a->key), CADRE_PINT(job->attempt),
                        CADRE_PINT(getpid()) };
    int rc = cadre_db_exec(db, "INSERT INTO effect (job_id, key, attempt, pid) VALUES (?, ?, ?, ?)",
                           p, 4, NULL, NULL);
    if (rc)
        return rc;
    if (job->attempt <= a->fail) {
        cadre_job_error(job, "failing on purpose, attempt %d", job->attempt);
        if (a->permanent)
            cadre_job_no_retry(job);
        return CADRE_EIO;
    }
    char result[160];
    snprintf(result, sizeof result, "done:%.*s:%d", (int)a->key.len, a->key.ptr, job->attempt);
    return cadre_job_result(job, result);
}
CADRE_TASK(work, work_args, do_work);
CADRE_TASK(slow, work_args, do_work, .timeout_ms = 300, .max_attempts = 2, .backoff_ms = 100);

/* A frozen clock: the time the process started, moved only by POST /clock. */
static int64_t fake_clock(void *ctx)
{
    return *(const int64_t *)ctx + atomic_load(&clock_offset);
}

static int json(cadre_request *r, int status, const char *text)
{
    return cadre_json_text(r, status, text, strlen(text));
}

static int64_t query_int(cadre_request *r, const char *key, int64_t fallback)
{
    cadre_slice v;
    int64_t n;
    if (!cadre_request_query(r, key, &v) || cadre_slice_to_i64(v, false, &n) != 0)
        return fallback;
    return n;
}

static const char *query_str(cadre_request *r, const char *key)
{
    cadre_slice v;
    if (!cadre_request_query(r, key, &v))
        return NULL;
    return cadre_arena_strndup(r->arena, v.ptr, v.len);
}

/* POST /enqueue?task=work|slow&key=K&fail=N&permanent=1&sleep_first=MS&sleep=MS&unique=U
 *   &delay=MS&priority=P&queue=Q&n=COUNT&rollback=1&many=1
 * In one transaction with a row of its own (note): rolled back with rollback=1. many=1: the n
 * jobs (of work) in one cadre_enqueue_many, keyed KEY-0 … KEY-(n-1); answers {"ids":[…]}. */
static int enqueue(cadre_request *r)
{
    const char *key = query_str(r, "key");
    const char *task = query_str(r, "task");
    work_args a = { .key = cadre_slice_cstr(key ? key : "k"),
                    .fail = (int32_t)query_int(r, "fail", 0),
                    .permanent = query_int(r, "permanent", 0) != 0,
                    .sleep_first = (int32_t)query_int(r, "sleep_first", 0),
                    .sleep = (int32_t)query_int(r, "sleep", 0) };
    int64_t n = query_int(r, "n", 1), id = 0;
    cadre_tx tx;
    int rc = cadre_db_begin(db, &tx);
    if (rc)
        return rc;
    rc = cadre_tx_exec(&tx, "INSERT INTO note (key) VALUES (?)", &CADRE_PSLICE(a.key), 1, NULL,
                       NULL);
    if (query_int(r, "many", 0) && rc == 0) {
        /* n jobs in one cadre_enqueue_many, keyed KEY-0, KEY-1, …; the body lists their ids */
        work_args *many = cadre_arena_calloc(r->arena, (size_t)(n > 0 ? n : 1) * sizeof *many);
        int64_t *ids = cadre_arena_calloc(r->arena, (size_t)(n > 0 ? n : 1) * sizeof *ids);
        if (!many || !ids) {
            cadre_tx_rollback(&tx);
            return CADRE_ENOMEM;
        }
        for (int64_t i = 0; i < n; i++) {
            many[i] = a;
            many[i].key = cadre_slice_cstr(cadre_arena_printf(r->arena, "%.*s-%lld",
                                                              (int)a.key.len, a.key.ptr,
                                                              (long long)i));
        }
        rc = cadre_enqueue_many(&tx, work, many, (size_t)n, .unique = query_str(r, "unique"),
                                .queue = query_str(r, "queue"), .id = ids);
        if (rc == 0 && !query_int(r, "rollback", 0))
            rc = cadre_tx_commit(&tx);
        if (rc || query_int(r, "rollback", 0)) {
            if (tx.open)
                cadre_tx_rollback(&tx);
            return rc ? rc : json(r, 200, "{\"rolled_back\":true}");
        }
        cadre_buf b;
        cadre_buf_init_arena(&b, r->arena, (size_t)1 << 24);
        cadre_buf_append_str(&b, "{\"ids\":[");
        for (int64_t i = 0; i < n; i++)
            cadre_buf_appendf(&b, "%s%lld", i ? "," : "", (long long)ids[i]);
        cadre_buf_append_str(&b, "]}");
        return cadre_json_text(r, 201, b.data, b.len);
    }
    for (int64_t i = 0; rc == 0 && i < n; i++) {
        if (task && strcmp(task, "slow") == 0)
            rc = cadre_enqueue(&tx, slow, &a, .unique = query_str(r, "unique"),
                               .delay_ms = query_int(r, "delay", 0), .id = &id);
        else
            rc = cadre_enqueue(&tx, work, &a, .unique = query_str(r, "unique"),
                               .queue = query_str(r, "queue"),
                               .delay_ms = query_int(r, "delay", 0),
                               .priority = (int)query_int(r, "priority", 0), .id = &id);
    }
    if (rc == CADRE_EEXIST) {
        cadre_tx_rollback(&tx);
        return json(r, 409, cadre_arena_printf(r->arena, "{\"id\":%lld}", (long long)id));
    }
    if (rc || query_int(r, "rollback", 0)) {
        cadre_tx_rollback(&tx);
        return rc ? rc : json(r, 200, "{\"rolled_back\":true}");
    }
    rc = cadre_tx_commit(&tx);
    if (rc)
        return rc;
    return json(r, 201, cadre_arena_printf(r->arena, "{\"id\":%lld}", (long long)id));
}

/* GET /jobs/{id}: the job's row as JSON */
static int job(cadre_request *r)
{
    int64_t id;
    if (cadre_slice_to_i64(cadre_request_param(r, "id"), false, &id) != 0)
        return cadre_error(r, 404, "no such job");
    cadre_job row;
    bool found;
    int rc = cadre_db_query_one(db, r->arena, CADRE_SCHEMA_OF(cadre_job), &row, &found,
                                "SELECT * FROM cadre_job WHERE id = ?", &CADRE_PINT(id), 1);
    if (rc)
        return rc;
    if (!found)
        return cadre_error(r, 404, "no such job");
    cadre_buf b;
    cadre_buf_init_arena(&b, r->arena, 1 << 20);
    cadre_json_writer w;
    cadre_json_writer_init(&w, &b);
    cadre_schema_encode_json(CADRE_SCHEMA_OF(cadre_job), &row, &w);
    return cadre_json_text(r, 200, b.data, b.len);
}

#define COUNT_FIELDS(F) F(int64, n) F(int64, d)
CADRE_SCHEMA(count_row, COUNT_FIELDS)

/* GET /count?what=jobs|effects|pids|notes&key=K|state=S: {"n": rows, "d": distinct jobs
 * (effects), processes (pids) or workers (jobs)} */
static int count(cadre_request *r)
{
    const char *what = query_str(r, "what");
    const char *key = query_str(r, "key");
    const char *state = query_str(r, "state");
    const char *sql;
    cadre_value p[1];
    size_t np = 0;
    if (what && strcmp(what, "effects") == 0 && key) {
        sql = "SELECT COUNT(*) AS n, COUNT(DISTINCT job_id) AS d FROM effect WHERE key = ?";
        p[np++] = CADRE_PTEXT(key);
    } else if (what && strcmp(what, "effects") == 0) {
        sql = "SELECT COUNT(*) AS n, COUNT(DISTINCT job_id) AS d FROM effect";
    } else if (what && strcmp(what, "pids") == 0 && key) {
        sql = "SELECT COUNT(*) AS n, COUNT(DISTINCT pid) AS d FROM effect WHERE key = ?";
        p[np++] = CADRE_PTEXT(key);
    } else if (what && strcmp(what, "notes") == 0 && key) {
        sql = "SELECT COUNT(*) AS n, 0 AS d FROM note WHERE key = ?";
        p[np++] = CADRE_PTEXT(key);
    } else if (what && strcmp(what, "jobs") == 0 && state) {
        sql = "SELECT COUNT(*) AS n, COUNT(DISTINCT worker) AS d FROM cadre_job WHERE state = ?";
        p[np++] = CADRE_PTEXT(state);
    } else if (what && strcmp(what, "jobs") == 0) {
        sql = "SELECT COUNT(*) AS n, 0 AS d FROM cadre_job";
    } else {
        return cadre_error(r, 400, "what=effects|notes|jobs");
    }
    count_row row;
    bool found;
    int rc = cadre_db_query_one(db, r->arena, CADRE_SCHEMA_OF(count_row), &row, &found, sql, p, np);
    if (rc)
        return rc;
    return json(r, 200, cadre_arena_printf(r->arena, "{\"n\":%lld,\"d\":%lld}",
                                           (long long)row.n, (long long)row.d));
}

/* POST /reset: every job and row gone (between tests) */
static int reset(cadre_request *r)
{
    int rc = cadre_db_exec_script(db, "DELETE FROM cadre_job; DELETE FROM cadre_periodic; DELETE FROM effect; "
                                         "DELETE FROM note");
    return rc ? rc : json(r, 200, "{}");
}

/* POST /clock?advance=MS: moves the fake clock on and wakes the runners; GET /clock: its time */
static int clock_now(cadre_request *r)
{
    return json(r, 200, cadre_arena_printf(r->arena, "{\"now\":%lld}",
                                              (long long)cadre_tasks_now(cadre_request_app(r))));
}

static int clock_advance(cadre_request *r)
{
    atomic_fetch_add(&clock_offset, query_int(r, "advance", 0));
    cadre_tasks_wake(cadre_request_app(r));
    return clock_now(r);
}

static int env_int(const char *name, int fallback)
{
    const char *v = getenv(name);
    return v && *v ? atoi(v) : fallback;
}

int main(int argc, char **argv)
{
    if (cadre_db_open_env("sqlite://tasksapp.db", &db) != 0)
        return 2;
    bool pg = strcmp(cadre_db_engine(db), "postgresql") == 0;
    /* the test's own tables, beside the migrated ones */
    int rc = cadre_db_exec_script(db, pg ? "CREATE TABLE IF NOT EXISTS effect (id BIGSERIAL "
                                           "PRIMARY KEY, job_id BIGINT, key TEXT, attempt INT, "
                                           "pid INT);"
                                           "CREATE TABLE IF NOT EXISTS note (id BIGSERIAL PRIMARY "
                                           "KEY, key TEXT)"
                                         : "CREATE TABLE IF NOT EXISTS effect (id INTEGER PRIMARY "
                                           "KEY, job_id INTEGER, key TEXT, attempt INTEGER, pid "
                                           "INTEGER);"
                                           "CREATE TABLE IF NOT EXISTS note (id INTEGER PRIMARY "
                                           "KEY, key TEXT)");
    if (rc) {
        fprintf(stderr, "tasksapp: cannot create its tables: %s\n", cadre_strerror(rc));
        return 2;
    }
    cadre_app *app = cadre_app_new("tasksapp");
    bool fake = getenv("TASKSAPP_FAKE_CLOCK") != NULL;
    static int64_t start;
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    start = (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
    if (fake && atoll(getenv("TASKSAPP_FAKE_CLOCK")) > 1) /* instances that share a clock */
        start = atoll(getenv("TASKSAPP_FAKE_CLOCK"));
    cadre_tasks(app, db, .heartbeat_ms = env_int("TASKSAPP_HEARTBEAT_MS", 0),
                .rescue_after_ms = env_int("TASKSAPP_RESCUE_MS", 0),
                .concurrency = env_int("TASKSAPP_CONCURRENCY", 0),
                .poll_ms = env_int("TASKSAPP_POLL_MS", 0),
                .retention_s = env_int("TASKSAPP_RETENTION_S", 0), .clock = fake ? fake_clock : NULL, .clock_ctx = &start);
    cadre_task_add(app, &work);
    cadre_task_add(app, &slow);
    static const work_args tick = { .key = { "tick", 4 } };
    if (getenv("TASKSAPP_SCHEDULE"))
        cadre_task_schedule(app, work, "* * * * *", &tick);
    if (getenv("TASKSAPP_BAD_SCHEDULE"))
        cadre_task_schedule(app, work, getenv("TASKSAPP_BAD_SCHEDULE"), NULL);
    cadre_post(app, "/enqueue", enqueue);
    cadre_get(app, "/jobs/{id}", job);
    cadre_get(app, "/count", count);
    cadre_get(app, "/clock", clock_now);
    cadre_post(app, "/clock", clock_advance);
    cadre_post(app, "/reset", reset);
    int status = cadre_main(app, argc, argv);
    cadre_db_close(db);
    return status;
}
