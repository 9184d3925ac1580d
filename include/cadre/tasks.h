/**
 * cadre/tasks.h — durable background tasks, in the app's own database and its own binary: no
 * broker, no second deployment. A task is a C function with a typed argument schema; a job is one
 * call of it, a row of the table cadre_job, enqueued in the transaction of the write that causes
 * it and run on the server's workers beside the requests.
 *
 *     #define ALERT_FIELDS(F) F(int64, item_id) F(int32, stock)
 *     CADRE_SCHEMA(alert_args, ALERT_FIELDS)
 *
 *     static int send_alert(cadre_job *job, const alert_args *a)
 *     {
 *         … // 0: done; a negative CADRE_E*: tried again later (exponential backoff)
 *     }
 *     CADRE_TASK(low_stock_alert, alert_args, send_alert, .queue = "mail", .max_attempts = 5);
 *
 *     cadre_tasks(app, db);                        // the module: its table, its runners
 *     cadre_task_add(app, &low_stock_alert);
 *
 *     // in a handler: the job exists only if the transaction commits
 *     alert_args a = { .item_id = 42, .stock = 3 };
 *     cadre_enqueue(&tx, low_stock_alert, &a, .unique = "low-stock:42");
 *
 * Jobs run inside `APP serve`: each worker thread runs up to `concurrency` jobs at once, each on
 * a coroutine of its own, so a job waiting on the database or the network holds no thread (its
 * waits suspend it as a handler's do). A job's function must not block its thread for long:
 * heavy computation belongs on a cadre_pool (cadre/http.h).
 *
 * Semantics, the same on SQLite and PostgreSQL:
 * - **Claiming**: an UPDATE … RETURNING of the next available jobs (priority, then run_at, then
 *   id), with FOR UPDATE SKIP LOCKED on PostgreSQL and SQLite's single writer, so a job is
 *   claimed by one worker of one instance.
 * - **Retries**: a failed attempt is retried after backoff_ms × 2^(attempt−1), capped at
 *   max_backoff_ms, ± 25 % jitter, until max_attempts; then the job is failed, its error kept.
 * - **Heartbeats**: each worker marks its running jobs every heartbeat_ms; a running job whose
 *   mark is older than rescue_after_ms (its process was killed, its machine died) is made
 *   available again and retried, or failed when it had no attempt left. A worker's outcome for a
 *   job counts only while the job is still its own (same worker, same attempt): a rescued job is
 *   never completed twice.
 * - **Stop**: at SIGTERM no new job is claimed; running ones get the shutdown timeout to finish,
 *   and those still running shortly before it are released (available again, the attempt not
 *   counted), as is a job whose function returns CADRE_ECANCELED.
 * - **Uniqueness**: at most one job that has not ended (available or running) per unique key.
 * - **Retention**: completed, failed and cancelled jobs are deleted after retention_s.
 *
 * Commands: `APP tasks [STATE]` lists jobs, `APP tasks retry ID`, `APP tasks cancel ID`.
 */
#ifndef CADRE_TASKS_H
#define CADRE_TASKS_H

#include "app.h"
#include "db.h"
#include "orm.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A job: the table cadre_job. Times are milliseconds since the Unix epoch (by the module's
 * clock). state is "available" (waiting for run_at or a worker), "running", "completed",
 * "failed" (no attempt left, or a failure that another would not mend) or "cancelled".
 */
#define CADRE_JOB_FIELDS(F)                                                                        \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, queue, CADRE_MAX_LEN(100), CADRE_INDEX)                                              \
    F(string, task, CADRE_MAX_LEN(100))                                                            \
    F(string, args, CADRE_DEFAULT_STR("{}"), CADRE_DESCRIPTION("the arguments, as JSON"))         \
    F(int32, priority, CADRE_DEFAULT(0), CADRE_DESCRIPTION("lower runs first"))                    \
    F(string, state, CADRE_MAX_LEN(16), CADRE_INDEX, CADRE_DEFAULT_STR("available"))               \
    F(int32, attempt, CADRE_DEFAULT(0), CADRE_DESCRIPTION("attempts begun so far"))                \
    F(int32, max_attempts, CADRE_DEFAULT(20))                                                      \
    F(int64, run_at, CADRE_INDEX, CADRE_DESCRIPTION("not run before (ms since the epoch)"))        \
    F(int64, created_at)                                                                           \
    F(int64, started_at, CADRE_OPTIONAL, CADRE_NULLABLE)                                           \
    F(int64, finished_at, CADRE_OPTIONAL, CADRE_NULLABLE)                                          \
    F(int64, heartbeat_at, CADRE_OPTIONAL, CADRE_NULLABLE)                                         \
    F(int32, timeout_ms, CADRE_DEFAULT(0))                                                         \
    F(string, worker, CADRE_MAX_LEN(200), CADRE_OPTIONAL, CADRE_NULLABLE,                         \
      CADRE_DESCRIPTION("the worker running it: host:pid:thread"))                                 \
    F(string, unique_key, CADRE_MAX_LEN(200), CADRE_OPTIONAL, CADRE_NULLABLE, CADRE_UNIQUE)        \
    F(string, result, CADRE_OPTIONAL, CADRE_NULLABLE)                                              \
    F(string, error, CADRE_OPTIONAL, CADRE_NULLABLE, CADRE_DESCRIPTION("the last failure"))
CADRE_MODEL(cadre_job, CADRE_JOB_FIELDS)

/** A periodic task's schedule (cadre_task_schedule): the last period whose job was enqueued. */
#define CADRE_PERIODIC_FIELDS(F)                                                                   \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, name, CADRE_MAX_LEN(400), CADRE_UNIQUE, CADRE_DESCRIPTION("task and expression"))    \
    F(int64, last_fire, CADRE_DEFAULT(0), CADRE_DESCRIPTION("ms since the epoch"))
CADRE_MODEL(cadre_periodic, CADRE_PERIODIC_FIELDS)

/* ---------------------------------------------------------------------------------------------
 * The module
 * ------------------------------------------------------------------------------------------- */

typedef struct cadre_tasks_opts {
    /** The queues this process runs, comma-separated ("default"; $CADRE_TASKS_QUEUES). Jobs of
     *  other queues are enqueued here but run by the instances that name them. */
    const char *queues;
    /** Jobs run at once per worker thread (10; $CADRE_TASKS_CONCURRENCY). -1: none here (this
     *  instance only enqueues). */
    int concurrency;
    int poll_ms;         /**< how often an idle worker looks for jobs enqueued elsewhere (1000) */
    int heartbeat_ms;    /**< how often running jobs are marked alive (2000) */
    int rescue_after_ms; /**< a running job unmarked this long is retried (60 000): longer than
                              any job may block its thread, and than heartbeat_ms */
    int retention_s;     /**< finished jobs are deleted after this (7 days); -1: never */
    /** The time in milliseconds since the epoch (NULL: the real clock): a test's fake clock. */
    int64_t (*clock)(void *ctx);
    void *clock_ctx;
} cadre_tasks_opts;

/**
 * Adds the tasks module to app, its jobs in db (the table cadre_job, created by `migrate` with
 * the app's own migrations), and starts its runners on every worker of `serve`. Options as
 * above: cadre_tasks(app, db, .queues = "default,mail", .concurrency = 20). Returns the module,
 * or NULL (a configuration error is recorded: the app will not start).
 */
cadre_module *cadre__tasks(cadre_app *app, cadre_db *db, const cadre_tasks_opts *opts,
                           const char *file, int line);
#define cadre_tasks(app, db, ...)                                                                  \
    cadre__tasks((app), (db), &(cadre_tasks_opts){ __VA_ARGS__ }, __FILE__, __LINE__)

/** Wakes this process's idle workers to look for jobs now (a job enqueued by another program;
 *  a test that moved its clock). Any thread. */
void cadre_tasks_wake(cadre_app *app);

/** The module's clock: milliseconds since the epoch (0 before cadre_tasks). */
int64_t cadre_tasks_now(cadre_app *app);

/* ---------------------------------------------------------------------------------------------
 * Tasks
 * ------------------------------------------------------------------------------------------- */

typedef struct cadre_task_opts {
    const char *queue;  /**< "default" */
    int priority;       /**< 0; lower runs first */
    int max_attempts;   /**< 20 */
    int timeout_ms;     /**< 0: none. A deadline for the job's waits (cadre_request_deadline):
                             past it they return CADRE_ETIMEDOUT and the attempt fails */
    int backoff_ms;     /**< the first retry's delay (1000); doubled for each attempt after */
    int max_backoff_ms; /**< the longest delay (3 600 000) */
} cadre_task_opts;

/** A task, as CADRE_TASK defines it. The members after o are the module's. */
typedef struct cadre_task {
    const char *name;
    const cadre_schema *(*args)(void);
    int (*run)(cadre_job *job, const void *args);
    cadre_task_opts o;
    /* private */
    void *tasks;
    struct cadre_task *next;
} cadre_task;

/** Declares a task defined in another file (for a header): CADRE_TASK_DECLARE(NAME, ARGS). */
#define CADRE_TASK_DECLARE(NAME, ARGS)                                                             \
    typedef ARGS NAME##__args_t;                                                                   \
    extern cadre_task NAME

/**
 * Defines the task NAME, whose arguments are a struct of the schema ARGS and whose function is
 * FN: int FN(cadre_job *job, const ARGS *args), checked at compile time. Options are
 * cadre_task_opts members. FN returns 0 (the job is completed), or a negative CADRE_E* (the
 * attempt failed: retried after a backoff while attempts are left; cadre_job_error says why,
 * cadre_job_no_retry fails it now; CADRE_ECANCELED releases the job, as at a stop).
 */
#define CADRE_TASK(NAME, ARGS, FN, ...)                                                            \
    typedef ARGS NAME##__args_t;                                                                   \
    static int NAME##__run(cadre_job *job_, const void *args_)                                     \
    {                                                                                              \
        return FN(job_, (const ARGS *)args_);                                                      \
    }                                                                                              \
    cadre_task NAME = { .name = #NAME, .args = ARGS##__schema, .run = NAME##__run,                 \
                        .o = { __VA_ARGS__ } }

/** Registers a task with the app's tasks module (cadre_tasks first): its name must be unique.
 *  Returns 0, or a negative CADRE_E* (a configuration error is recorded). */
int cadre__task_add(cadre_app *app, cadre_task *task, const char *file, int line);
#define cadre_task_add(app, task) cadre__task_add((app), (task), __FILE__, __LINE__)

/* ---------------------------------------------------------------------------------------------
 * Enqueueing
 * ------------------------------------------------------------------------------------------- */

typedef struct cadre_enqueue_opts {
    int64_t delay_ms;     /**< run no sooner than this from now (0) */
    int64_t run_at;       /**< or not before this time, ms since the epoch (wins over delay_ms) */
    int priority;         /**< 0: the task's */
    const char *queue;    /**< NULL: the task's */
    int max_attempts;     /**< 0: the task's */
    /** At most one job with this key that has not ended: while one is available or running,
     *  cadre_enqueue adds none and returns CADRE_EEXIST (*id then names that one). */
    const char *unique;
    int64_t *id;          /**< OUT (may be NULL): the job's id (cadre_enqueue_many: n ids) */
} cadre_enqueue_opts;

/**
 * Enqueues a job of task with *args (copied, as JSON): cadre_enqueue(&tx, low_stock_alert, &a,
 * .delay_ms = 60000). args is a pointer to the task's argument struct, checked at compile time;
 * a compound literal goes in parentheses, or its commas would split the macro's arguments:
 * cadre_enqueue(&tx, low_stock_alert, (&(alert_args){ .item_id = 42, .stock = 3 })). With tx,
 * the job is written in that transaction and exists only if it commits; the workers are woken
 * once it has. With tx NULL, it is written at once. Returns 0,
 * CADRE_EEXIST (the unique key is taken), CADRE_ESTATE (the task is not registered, or tx has
 * ended), CADRE_EINVAL (a bad option: logged) or the database's error.
 */
int cadre__enqueue(cadre_tx *tx, cadre_task *task, const void *args, const cadre_enqueue_opts *o);
#define cadre_enqueue(tx, NAME, args, ...)                                                         \
    cadre__enqueue((tx), &(NAME), (const NAME##__args_t *){ (args) },                             \
                   &(cadre_enqueue_opts){ __VA_ARGS__ })

/** Jobs one cadre_enqueue_many call writes at most. */
#define CADRE_ENQUEUE_MANY_MAX 100000

/**
 * Enqueues n jobs of task, one per element of the array args (n argument structs), in one
 * statement — one round trip to the database however many, where n cadre_enqueue calls take n:
 * for a batch of work (a mailing, an import's rows), as Oban's insert_all or River's InsertMany.
 * The options apply to every job, but .unique, which names one job (CADRE_EINVAL); .id, when
 * set, points to n int64_t that receive the jobs' ids in args' order. With tx, the jobs exist
 * only if it commits; the workers are woken once it has. n 0 does nothing; more than
 * CADRE_ENQUEUE_MANY_MAX is CADRE_EINVAL. Returns 0 (all n written, the ids set), or as
 * cadre_enqueue, or CADRE_ETOOBIG (a job's arguments are over 1 MiB as JSON) or CADRE_EIO (the
 * database wrote fewer rows than asked: logged); then none is written (unless tx goes on to
 * commit what a failed statement left: it leaves nothing) and the ids are left as they were.
 */
int cadre__enqueue_many(cadre_tx *tx, cadre_task *task, const void *args, size_t n,
                        const cadre_enqueue_opts *o);
#define cadre_enqueue_many(tx, NAME, args, n, ...)                                                 \
    cadre__enqueue_many((tx), &(NAME), (const NAME##__args_t *){ (args) }, (n),                   \
                        &(cadre_enqueue_opts){ __VA_ARGS__ })

/* ---------------------------------------------------------------------------------------------
 * Periodic tasks
 * ------------------------------------------------------------------------------------------- */

/**
 * Enqueues a job of task with *args (NULL: every field its default) at each minute the cron
 * expression names, in UTC: cadre_task_schedule(app, nightly_report, "0 3 * * *", NULL).
 * With several instances running tasks, each period's job is enqueued once: the instances agree
 * through the table cadre_periodic (the last period enqueued, per schedule). Periods that pass
 * while no instance runs are skipped, as cron skips them. A schedule is named by its task and
 * expression: the same pair twice is refused, as is an expression that names no minute in the
 * next five years ("0 0 30 2 *"). A job that cannot be enqueued (the database is down) is tried
 * again every poll_ms, its period kept. args is copied. Returns 0, or a negative CADRE_E* (a
 * configuration error is recorded: a bad expression says what is wrong with which field).
 */
int cadre__task_schedule(cadre_app *app, cadre_task *task, const char *cron, const void *args,
                         const char *file, int line);
#define cadre_task_schedule(app, NAME, cron, args)                                                 \
    cadre__task_schedule((app), &(NAME), (cron), (const NAME##__args_t *){ (args) }, __FILE__,    \
                         __LINE__)

/**
 * A parsed cron expression: five fields (minute hour day-of-month month day-of-week), each `*`,
 * a number, a range `1-5`, a list `1,15`, with steps: `0-30/10`, `5/20` (5 to the end), a star
 * followed by `/15` (every 15th);
 * months `jan`–`dec` and days `sun`–`sat` by name too, Sunday as 0 or 7; or one of @yearly,
 * @monthly, @weekly, @daily (@midnight), @hourly. When both day fields are restricted, a day
 * matching either runs (cron's rule).
 */
typedef struct cadre_cron {
    uint64_t minutes;  /**< bit m: minute m, 0-59 */
    uint32_t hours;    /**< bit h: hour h, 0-23 */
    uint32_t days;     /**< bit d: day of the month d, 1-31 */
    uint16_t months;   /**< bit m: month m, 1-12 */
    uint8_t weekdays;  /**< bit w: weekday w, 0 (Sunday)-6 */
    bool any_day, any_weekday; /**< the day fields began with '*' */
} cadre_cron;

#define CADRE_CRON_WHY 160

/** Parses expr into *out. Returns 0, or CADRE_EPARSE with what is wrong (which field, why) in
 *  why (CADRE_CRON_WHY bytes; may be NULL). */
int cadre_cron_parse(const char *expr, cadre_cron *out /* OUT */, char *why /* OUT */);

/** The first minute after after_ms (ms since the epoch) that c names, in ms since the epoch (UTC);
 *  -1 when none comes within five years ("0 0 30 2 *": February has no 30th). */
int64_t cadre_cron_next(const cadre_cron *c, int64_t after_ms);

/* ---------------------------------------------------------------------------------------------
 * Inside a task's function: job is the one it was given
 * ------------------------------------------------------------------------------------------- */

/** The job's request (a background coroutine's: cadre/http.h): its arena lives until the
 *  function returns; the database's calls suspend it. */
cadre_request *cadre_job_request(cadre_job *job);

/** Stores text (copied; a later call replaces it) as the job's result when it completes.
 *  Returns 0, CADRE_EINVAL (job or text NULL) or CADRE_ENOMEM. */
int cadre_job_result(cadre_job *job, const char *text);

/** Says why the attempt failed (stored in the job's error; else the returned code's words). */
void cadre_job_error(cadre_job *job, const char *fmt, ...) CADRE_PRINTF(2, 3);

/** Makes this attempt's failure final: the job fails without another (bad input, a resource
 *  gone for good). */
void cadre_job_no_retry(cadre_job *job);

/* ---------------------------------------------------------------------------------------------
 * Managing jobs (the admin's actions, `APP tasks`)
 * ------------------------------------------------------------------------------------------- */

/**
 * Cancels job id: an available job will not run; a running one's outcome is ignored and it is
 * not retried (its function is not interrupted). Returns 0, CADRE_ENOTFOUND, CADRE_ESTATE (it
 * has ended already) or the database's error.
 */
int cadre_job_cancel(cadre_app *app, int64_t id);

/** Makes a failed or cancelled job available again, now, with one more attempt if it had none
 *  left. Returns 0, CADRE_ENOTFOUND, CADRE_ESTATE (it has not ended, or it completed) or the
 *  database's error. */
int cadre_job_retry(cadre_app *app, int64_t id);

/**
 * Shows the jobs in the admin (cadre/admin.h), at /admin/tasks/cadre_job/: id, task, queue,
 * state, attempts, when it runs, when it finished and its last error, newest first, searched by
 * state ("failed"), task or queue; each job's page shows it whole, read-only (jobs are written by
 * code, never through a form). Actions "Retry now" (cadre_job_retry) and "Cancel"
 * (cadre_job_cancel) need tasks.change_cadre_job; deleting finished jobs, tasks.delete_cadre_job.
 * Call after cadre_tasks and cadre_admin. Returns 0, or an error after recording a configuration
 * error (the app then refuses to start).
 */
int cadre__tasks_admin(cadre_app *app, const char *file, int line);
#define cadre_tasks_admin(app) cadre__tasks_admin((app), __FILE__, __LINE__)

#ifdef __cplusplus
}
#endif
#endif
