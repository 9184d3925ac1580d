/*
 * The tasks module's shared state: the module (tasks.c: options, registry, enqueueing,
 * management, commands) and its runners (runner.c: per worker thread, a dispatcher coroutine
 * that claims jobs and a coroutine per running job).
 */
#ifndef CADRE_TASKS_INTERNAL_H
#define CADRE_TASKS_INTERNAL_H

#include "cadre/tasks.h"

#include <stdatomic.h>

#define TASKS_KEY "cadre.tasks"
#define TASKS_MAX_WORKERS 256

typedef struct tasks_state tasks_state;

/* One worker thread's runners. Its fields are its thread's, but for kicked and efd. */
/* The PostgreSQL channel an enqueue notifies and each instance's worker 0 listens on. */
#define CADRE__TASKS_CHANNEL "cadre_jobs"

typedef struct tasks_worker {
    tasks_state *ts;
    int index;
    int efd;            /* eventfd: any thread writes it to wake the dispatcher */
    atomic_bool kicked; /* written since the dispatcher last looked: no need to write again */
    int running;        /* jobs running on this worker */
    uint64_t rng;       /* the jitter's random numbers */
    char lease[128];    /* "host:pid:w3", the cadre_job.worker of its jobs */
    /* jobs done whose completion is not written yet: one runner at a time (writing) writes all
     * that are waiting in one statement, while the others' jobs end (runner.c) */
    struct tasks_done *done;
    size_t ndone, done_cap;
    bool writing;
} tasks_worker;

/* A periodic task (cadre_task_schedule). next is worker 0's to read and write. */
typedef struct tasks_schedule {
    cadre_task *task;
    const char *name; /* "task cron", the cadre_periodic row's */
    const char *args; /* JSON */
    cadre_cron cron;
    int64_t next; /* the next period, ms; -1: none */
    struct tasks_schedule *next_schedule;
} tasks_schedule;

struct tasks_state {
    cadre_app *app;
    cadre_db *db;
    cadre_module *mod;
    cadre_tasks_opts o;
    bool pg;
    cadre_task *tasks; /* registered, newest first */
    tasks_schedule *schedules;
    const char **queues;
    size_t nqueues;
    char *claim_sql; /* built for the engine and the queues */
    _Atomic(tasks_worker *) workers[TASKS_MAX_WORKERS];
    uint64_t rng; /* seeds each worker's jitter */
    /* metrics: outcomes and durations by task; the table's counts as worker 0 last read them
     * (each heartbeat), and the jobs this process rescued */
    cadre_metric *outcomes, *durations;
    _Atomic int64_t due, running;
    atomic_bool counts_wanted; /* /metrics read due or running: worker 0 reads the table again */
    _Atomic uint64_t rescued;
};

/* A job's id alone: what a RETURNING id reads. */
#define TASKS_ID_FIELDS(F) F(int64, id)
CADRE_SCHEMA(tasks_id_row, TASKS_ID_FIELDS)
/* qsort/bsearch order of tasks_id_row by id */
int cadre__tasks_cmp_id(const void *a, const void *b);

tasks_state *cadre__tasks_state(const cadre_app *app);
int64_t cadre__tasks_clock(tasks_state *ts);
cadre_task *cadre__tasks_find(tasks_state *ts, cadre_slice name);
void cadre__tasks_kick(tasks_state *ts);
/* Inserts a job of t with args (JSON text) in tx (NULL: at once), as cadre_enqueue. */
int cadre__tasks_insert(cadre_tx *tx, tasks_state *ts, cadre_task *t, cadre_slice args,
                        const cadre_enqueue_opts *o);
/* on_worker_start: starts the worker's dispatcher (runner.c) */
void cadre__tasks_worker_start(cadre_app *app, int worker, void *ctx);
void cadre__tasks_workers_free(tasks_state *ts);
/* The delay before attempt+1 after attempt failed: backoff × 2^(attempt−1) ± 25 %. r: a random
 * 64-bit number. */
int64_t cadre__tasks_backoff(const cadre_task_opts *o, int attempt, uint64_t r);
int cadre__tasks_commands(tasks_state *ts);
/* ms since the epoch as "2026-12-06 21:07:00 UTC" into out. */
#define CADRE__TASKS_UTC 32
void cadre__tasks_utc(int64_t ms, char out[CADRE__TASKS_UTC]);

#endif
