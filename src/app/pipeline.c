/*
 * The request pipeline: the app's middleware, an onion of plain functions (each may answer at
 * once, or call the rest with cadre_next_call and see the final response after it), around the
 * router and the handler; and the mapping of handler results to answers, which belongs to the app
 * rather than to the HTTP core. Handlers run on coroutines, so a middleware is a plain function
 * that calls the rest, not a callback chain.
 */
#include "app_internal.h"

#include <stdlib.h>
#include <string.h>

struct cadre_next {
    cadre_app *app;
    size_t at; /* the next middleware to run; app->nmw: the router */
};

int cadre_app_use(cadre_app *app, cadre_middleware fn, void *ctx)
{
    if (!fn)
        return CADRE_EINVAL;
    struct cadre__mw *n = realloc(app->mw, (app->nmw + 1) * sizeof *n);
    if (!n)
        return CADRE_ENOMEM;
    app->mw = n;
    app->mw[app->nmw++] = (struct cadre__mw){ fn, ctx };
    return 0;
}

/* The detail of a 503 for a handler's failure, or NULL when the failure is a 500. A resource that
 * is down, busy or failing (a database: a full disk, a read-only or damaged file) is the
 * operator's to mend or the client's to retry; the detail names the kind of trouble and nothing
 * more (the log has the rest). */
static const char *unavailable_reason(int code)
{
    switch (code) {
    case CADRE_EBUSY:
    case CADRE_ETIMEDOUT: return "Service Unavailable: the database is busy, retry shortly";
    case CADRE_ECLOSED: return "Service Unavailable: the database cannot be reached";
    case CADRE_ENOSPC: return "Service Unavailable: the database's disk is full";
    case CADRE_EREADONLY: return "Service Unavailable: the database is read-only";
    case CADRE_ECORRUPT: return "Service Unavailable: the database file is damaged";
    case CADRE_ESTALE: return "Service Unavailable: the database file was removed or replaced";
    default: return NULL;
    }
}

/*
 * Turns what a handler (or a middleware) returned into the response, unless it set one itself:
 * a status without a response answers that status with no body; CADRE_ENOTFOUND answers 404
 * (Django's Http404: `return cadre_q_get(&q, out);`); another negative code drops whatever
 * response was begun and answers 503 (with the trouble named) or 500, logged. Returns the final
 * status.
 */
static int settle(cadre_request *r, int rc)
{
    if (rc == CADRE_ENOTFOUND && !cadre_responded(r))
        return cadre_error(r, 404, "Not Found");
    if (rc < 0) {
        const char *why = unavailable_reason(rc);
        cadre_log(CADRE_LOG_ERROR, "%.*s %.*s: handler failed: %s (%s)", (int)r->head.method.len,
                  r->head.method.ptr, (int)r->head.target.len, r->head.target.ptr,
                  cadre_strerror(rc), cadre_errname(rc));
        cadre_response_clear(r);
        if (!why)
            return cadre_error(r, 500, "Internal Server Error");
        cadre_error(r, 503, why);
        if (rc == CADRE_EBUSY || rc == CADRE_ETIMEDOUT || rc == CADRE_ECLOSED)
            cadre_set_header(r, "Retry-After", "1");
        return 503;
    }
    if (cadre_responded(r))
        return cadre_response_status(r);
    if (rc >= 100 && rc <= 599)
        return cadre_respond_ref(r, rc, NULL, NULL, 0);
    cadre_log(CADRE_LOG_ERROR, "%.*s %.*s: handler returned %d without a response",
              (int)r->head.method.len, r->head.method.ptr, (int)r->head.target.len,
              r->head.target.ptr, rc);
    return cadre_error(r, 500, "Internal Server Error");
}

int cadre_next_call(cadre_request *r, cadre_next *next)
{
    cadre_app *app = next->app;
    int rc;
    if (next->at < app->nmw) {
        const struct cadre__mw *m = &app->mw[next->at++];
        rc = m->fn(r, next, m->ctx);
    } else if (next->at == app->nmw) {
        next->at++;
        rc = cadre__route_request(app, r);
    } else {
        cadre_log(CADRE_LOG_ERROR, "a middleware called cadre_next_call twice: %.*s %.*s",
                  (int)r->head.method.len, r->head.method.ptr, (int)r->head.target.len,
                  r->head.target.ptr);
        rc = CADRE_ESTATE;
    }
    return settle(r, rc);
}

int cadre_app_dispatch(void *ctx, cadre_request *r)
{
    cadre_next next = { ctx, 0 };
    return cadre_next_call(r, &next);
}
