/*
 * The jobs in the admin (cadre_tasks_admin): the change list of cadre_job with its times as UTC,
 * its attempts and last error, searched by state, task and queue; each job's page read-only;
 * "Retry now" and "Cancel" actions calling cadre_job_retry and cadre_job_cancel.
 */
#include "tasks_internal.h"

#include "cadre/admin.h"

#include <string.h>

#define ERROR_SHOWN 80 /* bytes of a job's last error in the list */

/* A time (ms since the epoch) as the list shows it: UTC, NULL ("-") when absent. */
static const char *utc(cadre_request *r, bool present, int64_t ms)
{
    char *t = present ? cadre_alloc(r, CADRE__TASKS_UTC) : NULL;
    if (t)
        cadre__tasks_utc(ms, t);
    return t;
}

static int run_at_column(cadre_request *r, const cadre_rows *rows, const char **out, void *ctx)
{
    (void)ctx;
    const cadre_job *j = rows->items;
    for (size_t i = 0; i < rows->len; i++)
        out[i] = utc(r, true, j[i].run_at);
    return 0;
}

static int finished_column(cadre_request *r, const cadre_rows *rows, const char **out, void *ctx)
{
    (void)ctx;
    const cadre_job *j = rows->items;
    for (size_t i = 0; i < rows->len; i++)
        out[i] = utc(r, cadre_has(&j[i], cadre_job, finished_at) &&
                            !cadre_is_null(&j[i], cadre_job, finished_at),
                     j[i].finished_at);
    return 0;
}

static int attempts_column(cadre_request *r, const cadre_rows *rows, const char **out, void *ctx)
{
    (void)ctx;
    const cadre_job *j = rows->items;
    for (size_t i = 0; i < rows->len; i++)
        out[i] = cadre_arena_printf(r->arena, "%d of %d", j[i].attempt, j[i].max_attempts);
    return 0;
}

/* The last error's first line, cut at ERROR_SHOWN bytes (not inside a UTF-8 sequence). */
static int error_column(cadre_request *r, const cadre_rows *rows, const char **out, void *ctx)
{
    (void)ctx;
    const cadre_job *j = rows->items;
    for (size_t i = 0; i < rows->len; i++) {
        out[i] = NULL;
        if (!cadre_has(&j[i], cadre_job, error) || cadre_is_null(&j[i], cadre_job, error))
            continue;
        const char *e = j[i].error.ptr;
        size_t n = j[i].error.len, cut = 0;
        while (cut < n && cut < ERROR_SHOWN && e[cut] != '\n')
            cut++;
        if (cut < n && e[cut] != '\n')
            while (cut && ((unsigned char)e[cut] & 0xC0) == 0x80)
                cut--;
        out[i] = cadre_arena_printf(r->arena, "%.*s%s", (int)cut, e, cut < n ? "…" : "");
    }
    return 0;
}

/* "Retry now" or "Cancel" on the selected jobs: those it applies to are changed, the others
 * counted and said (a running job cannot be retried; a finished one cannot be cancelled). */
static int change_jobs(cadre_request *r, const int64_t *ids, size_t n, bool retry)
{
    cadre_app *app = cadre_request_app(r);
    size_t done = 0, refused = 0;
    for (size_t i = 0; i < n; i++) {
        int rc = retry ? cadre_job_retry(app, ids[i]) : cadre_job_cancel(app, ids[i]);
        if (rc == 0)
            done++;
        else if (rc == CADRE_ESTATE || rc == CADRE_ENOTFOUND)
            refused++;
        else
            return rc;
    }
    const char *what = retry ? "failed or cancelled" : "available or running";
    if (refused)
        cadre_admin_message(r, "%s %zu job%s; %zu %s not %s.", retry ? "Retried" : "Cancelled",
                            done, done == 1 ? "" : "s", refused, refused == 1 ? "was" : "were",
                            what);
    else
        cadre_admin_message(r, "%s %zu job%s.", retry ? "Retried" : "Cancelled", done,
                            done == 1 ? "" : "s");
    if (retry && done)
        cadre_tasks_wake(app);
    return 0;
}

static int retry_jobs(cadre_request *r, const cadre_schema *model, const int64_t *ids, size_t n,
                      void *ctx)
{
    (void)model;
    (void)ctx;
    return change_jobs(r, ids, n, true);
}

static int cancel_jobs(cadre_request *r, const cadre_schema *model, const int64_t *ids, size_t n,
                       void *ctx)
{
    (void)model;
    (void)ctx;
    return change_jobs(r, ids, n, false);
}

int cadre__tasks_admin(cadre_app *app, const char *file, int line)
{
    if (!cadre__tasks_state(app)) {
        cadre_app_config_error(app, file, line,
                           "cadre_tasks_admin: call cadre_tasks(app, db) first (the jobs' module)");
        return CADRE_ESTATE;
    }
    const cadre_schema *job = CADRE_SCHEMA_OF(cadre_job);
    const cadre_admin_column_opts none = { 0 };
    int rc = cadre__admin_register(app, job,
                                   &(cadre_admin_model_opts){
                                       .list = "id, task, queue, state",
                                       .search = "=state, task, =queue",
                                       .singular = "job",
                                       .plural = "jobs",
                                       /* the times are shown by the columns, as UTC */
                                       .fieldsets = "Job: task, queue, state, priority, args, "
                                                    "unique_key; Run: worker, timeout_ms; "
                                                    "Outcome: result, error",
                                       .view_only = true,
                                   },
                                   file, line);
    if (rc == 0)
        rc = cadre__admin_column(app, job, "Attempts", attempts_column, &none, file, line);
    if (rc == 0)
        rc = cadre__admin_column(app, job, "Run at", run_at_column, &none, file, line);
    if (rc == 0)
        rc = cadre__admin_column(app, job, "Finished", finished_column, &none, file, line);
    if (rc == 0)
        rc = cadre__admin_column(app, job, "Last error", error_column, &none, file, line);
    if (rc == 0)
        rc = cadre__admin_action(app, job, "retry", retry_jobs,
                                 &(cadre_admin_action_opts){ .label = "Retry now",
                                                             .permission = "tasks.change_cadre_job" },
                                 file, line);
    if (rc == 0)
        rc = cadre__admin_action(app, job, "cancel", cancel_jobs,
                                 &(cadre_admin_action_opts){ .label = "Cancel",
                                                             .permission = "tasks.change_cadre_job" },
                                 file, line);
    return rc;
}
