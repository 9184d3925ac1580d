/*
 * `APP tasks`: lists jobs, retries or cancels one.
 */
#include "tasks/tasks_internal.h"

#include "cadre/migrate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


static const char *when(cadre_arena *a, int64_t ms)
{
    char out[CADRE__TASKS_UTC];
    cadre__tasks_utc(ms, out);
    return cadre_arena_strndup(a, out, strlen(out));
}

static bool parse_id(const char *s, int64_t *id)
{
    return cadre_slice_to_i64(cadre_slice_cstr(s), true, id) == 0 && *id > 0;
}

static bool state_ok(const char *s)
{
    static const char *const states[] = { "available", "running", "completed", "failed",
                                          "cancelled", "all" };
    for (size_t i = 0; i < sizeof states / sizeof *states; i++)
        if (strcmp(s, states[i]) == 0)
            return true;
    return false;
}

static int list(tasks_state *ts, const char *state, const char *queue, int64_t limit)
{
    cadre_arena a;
    cadre_arena_init(&a, 8192);
    cadre_value p[] = { CADRE_PTEXT(state), CADRE_PTEXT(state), CADRE_PTEXT(queue),
                        CADRE_PTEXT(queue), CADRE_PINT(limit) };
    cadre_rows rows;
    int rc = cadre_db_query(ts->db, &a, cadre_job__schema(), &rows,
                            "SELECT * FROM cadre_job WHERE (? = 'all' OR state = ?) AND "
                            "(? = '' OR queue = ?) ORDER BY id DESC LIMIT ?",
                            p, 5);
    if (rc) {
        fprintf(stderr, "error: cannot read the jobs: %s\n", cadre_strerror(rc));
        cadre_arena_free(&a);
        return 1;
    }
    if (!rows.len)
        printf("No jobs%s%s.\n", strcmp(state, "all") ? " " : "",
               strcmp(state, "all") ? state : "");
    else
        printf("%-8s %-10s %-24s %-12s %-8s %-23s %s\n", "ID", "STATE", "TASK", "QUEUE",
               "ATTEMPT", "RUN AT", "ERROR / RESULT");
    const cadre_job *j = rows.items;
    for (size_t i = 0; i < rows.len; i++, j++) {
        cadre_slice note = j->error.len && !cadre_slice_eq_cstr(j->state, "completed")
                               ? j->error
                               : j->result;
        printf("%-8lld %-10.*s %-24.*s %-12.*s %-8s %-23s %.*s\n", (long long)j->id,
               (int)j->state.len, j->state.ptr, (int)j->task.len, j->task.ptr, (int)j->queue.len,
               j->queue.ptr, cadre_arena_printf(&a, "%d/%d", j->attempt, j->max_attempts),
               when(&a, j->run_at), note.len > 200 ? 200 : (int)note.len,
               note.ptr ? note.ptr : "");
    }
    cadre_arena_free(&a);
    return 0;
}

static int cmd_tasks(cadre_app *app, int argc, char **argv, void *ctx)
{
    tasks_state *ts = ctx;
    size_t pending = 0;
    if (cadre_app_migrations_pending(app, &pending) != 0 || pending) {
        fprintf(stderr, "error: %zu migration(s) not applied yet: run `%s migrate` first\n",
                pending, program_invocation_short_name);
        return 1;
    }
    if (argc == 3 && (strcmp(argv[1], "retry") == 0 || strcmp(argv[1], "cancel") == 0)) {
        int64_t id;
        if (!parse_id(argv[2], &id)) {
            fprintf(stderr, "error: %s is not a job id (a number, from `%s tasks`)\n", argv[2],
                    program_invocation_short_name);
            return 2;
        }
        bool retry = argv[1][0] == 'r';
        int rc = retry ? cadre_job_retry(app, id) : cadre_job_cancel(app, id);
        if (rc == CADRE_ENOTFOUND)
            fprintf(stderr, "error: no job %lld\n", (long long)id);
        else if (rc == CADRE_ESTATE)
            fprintf(stderr, "error: job %lld %s\n", (long long)id,
                    retry ? "has not failed or been cancelled: only those are retried"
                          : "has ended already: only available and running jobs are cancelled");
        else if (rc)
            fprintf(stderr, "error: %s\n", cadre_strerror(rc));
        else
            printf("Job %lld %s.\n", (long long)id,
                   retry ? "will run again" : "is cancelled");
        return rc ? 1 : 0;
    }
    const char *state = "all", *queue = "";
    int64_t limit = 50;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--queue") == 0 && i + 1 < argc) {
            queue = argv[++i];
        } else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            if (!parse_id(argv[++i], &limit)) {
                fprintf(stderr, "error: --limit takes a number of jobs, at least 1\n");
                return 2;
            }
        } else if (argv[i][0] != '-' && state_ok(argv[i]) && strcmp(state, "all") == 0) {
            state = argv[i];
        } else {
            const char *p = program_invocation_short_name;
            fprintf(stderr, "usage: %s tasks [STATE] [--queue Q] [--limit N]\n"
                            "       %s tasks retry ID\n"
                            "       %s tasks cancel ID\n"
                            "STATE: available, running, completed, failed, cancelled or all "
                            "(the default)\n",
                    p, p, p);
            return 2;
        }
    }
    return list(ts, state, queue, limit);
}

/* worker [serve's options]: runs jobs, answering only /livez, /readyz and /metrics */
static int cmd_worker(cadre_app *app, int argc, char **argv, void *ctx)
{
    tasks_state *ts = ctx;
    if (ts->o.concurrency <= 0 || !ts->nqueues) {
        fprintf(stderr, "error: this worker would run no job: %s\n",
                ts->o.concurrency <= 0 ? "$CADRE_TASKS_CONCURRENCY (or .concurrency) says none"
                                       : "it names no queue ($CADRE_TASKS_QUEUES)");
        return 2;
    }
    if (!ts->tasks) {
        fprintf(stderr, "error: this worker would run no job: no task is registered "
                        "(cadre_task_add)\n");
        return 2;
    }
    char queues[1024] = "";
    for (size_t i = 0; i < ts->nqueues; i++)
        snprintf(queues + strlen(queues), sizeof queues - strlen(queues), "%s%s", i ? "," : "",
                 ts->queues[i]);
    cadre_log(CADRE_LOG_INFO, "worker: runs the jobs of %s (%d at once per worker thread); "
                              "answers /livez, /readyz and /metrics only",
              queues, ts->o.concurrency);
    return cadre_app_serve_command(app, argc, argv, true);
}

int cadre__tasks_commands(tasks_state *ts)
{
    int rc = cadre_app_command(ts->app, "worker",
                               "worker [serve's options]   runs jobs without the app's routes "
                               "(only /livez, /readyz, /metrics)",
                               cmd_worker, ts);
    if (rc)
        return rc;
    return cadre_app_command(ts->app, "tasks",
                             "tasks [STATE] [--queue Q] [--limit N]   lists jobs; tasks retry ID, "
                             "tasks cancel ID",
                             cmd_tasks, ts);
}
