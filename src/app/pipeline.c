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
    size_t at; /* the next middleware to run; app->mw.len: the router */
};

int cadre_app_use(cadre_app *app, cadre_middleware fn, void *ctx)
{
    if (!fn)
        return CADRE_EINVAL;
    struct cadre__mw *slot = CADRE_VEC_PUSH(&app->mw, NULL, 0);
    if (!slot)
        return CADRE_ENOMEM;
    *slot = (struct cadre__mw){ fn, ctx };
    return 0;
}

int cadre_app_auth_hooks(cadre_app *app, const cadre_auth_hooks *hooks)
{
    if (!hooks || !hooks->check)
        return CADRE_EINVAL;
    if (app->auth.check)
        return CADRE_EEXIST;
    app->auth = *hooks;
    return 0;
}

int cadre_app_on_error(cadre_app *app, int status, cadre_error_page fn, void *ctx)
{
    if (!fn || (status != 0 && (status < 400 || status > 599)))
        return CADRE_EINVAL;
    struct cadre__error_page *slot = NULL;
    for (size_t i = 0; i < app->error_pages.len && !slot; i++)
        if (app->error_pages.items[i].status == status)
            slot = &app->error_pages.items[i];
    if (!slot && !(slot = CADRE_VEC_PUSH(&app->error_pages, NULL, 0)))
        return CADRE_ENOMEM;
    *slot = (struct cadre__error_page){ status, fn, ctx };
    return 0;
}

void cadre_app_dev_mode(cadre_app *app, bool on)
{
    app->dev = on;
}

bool cadre_app_is_dev(const cadre_app *app)
{
    return app->dev;
}

const char *cadre_app_reload_source(const cadre_app *app)
{
    return app->reload_source;
}

bool cadre_request_wants_html(cadre_request *r)
{
    cadre_slice accept = cadre_request_header(r, "Accept");
    if (!accept.ptr || !memmem(accept.ptr, accept.len, "text/html", 9))
        return false;
    /* an API route's errors stay JSON whatever the client accepts; found only here, on the
     * error path, so that routing a request costs nothing for it */
    return !cadre_request_is_api(r);
}

bool cadre_request_is_api(cadre_request *r)
{
    return cadre__route_is_api(cadre_request_app(r), r->route) || cadre_request_get(r, "cadre.api");
}

static const struct cadre__error_page *page_for(const cadre_app *app, int status)
{
    const struct cadre__error_page *any = NULL;
    for (size_t i = 0; i < app->error_pages.len; i++) {
        if (app->error_pages.items[i].status == status)
            return &app->error_pages.items[i];
        if (app->error_pages.items[i].status == 0)
            any = &app->error_pages.items[i];
    }
    return any;
}

int cadre_app_error(cadre_request *r, int status, const char *detail)
{
    const cadre_app *app = cadre_request_app(r);
    const struct cadre__error_page *page = cadre_request_wants_html(r) ? page_for(app, status) : NULL;
    if (page) {
        /* the headers set for the answer (Allow, Retry-After) stay; a page that fails falls back
         * on the JSON answer rather than on nothing */
        int rc = page->fn(r, status, detail, page->ctx);
        if (rc > 0 && cadre_responded(r))
            return cadre_response_status(r);
        cadre_log(CADRE_LOG_ERROR, "the error page for %d failed (%d): answering JSON", status,
                  rc);
    }
    return cadre_error(r, status, detail);
}

static void json_cstr(cadre_json_writer *w, const char *s)
{
    cadre_json_string(w, s, strlen(s));
}

static void put_html(cadre_buf *b, const char *s, size_t n)
{
    cadre_buf_append_html(b, s, n);
}

/* The development debug page of a failed request: what failed, where, and the request. */
static int debug_page(cadre_request *r, int code)
{
    const char *db = cadre_request_get(r, "cadre.db.error");
    const char *nl = db ? strchr(db, '\n') : NULL;
    if (!cadre_request_wants_html(r)) {
        cadre_buf out;
        cadre_json_writer w;
        cadre_buf_init_arena(&out, r->arena, (size_t)1 << 20);
        cadre_json_writer_init(&w, &out);
        cadre_json_begin_object(&w);
        cadre_json_key(&w, "detail", 6);
        json_cstr(&w, "Internal Server Error");
        cadre_json_key(&w, "debug", 5);
        cadre_json_begin_object(&w);
        cadre_json_key(&w, "error", 5);
        json_cstr(&w, cadre_errname(code));
        cadre_json_key(&w, "message", 7);
        json_cstr(&w, cadre_strerror(code));
        cadre_json_key(&w, "route", 5);
        json_cstr(&w, r->route ? r->route : "");
        cadre_json_key(&w, "request", 7);
        cadre_json_string(&w, r->head.method.ptr, r->head.method.len);
        cadre_json_key(&w, "target", 6);
        cadre_json_string(&w, r->head.target.ptr, r->head.target.len);
        if (r->request_id) { /* what its log records carry */
            cadre_json_key(&w, "request_id", 10);
            json_cstr(&w, r->request_id);
        }
        if (db) {
            cadre_json_key(&w, "database", 8);
            cadre_json_string(&w, db, (size_t)(nl - db));
            cadre_json_key(&w, "sql", 3);
            json_cstr(&w, nl + 1);
        }
        cadre_json_end_object(&w);
        cadre_json_end_object(&w);
        return cadre_respond_ref(r, 500, "application/json", out.data, out.len);
    }
    cadre_buf b;
    cadre_buf_init_arena(&b, r->arena, (size_t)1 << 20);
    cadre_buf_appendf(&b, "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
                          "<title>500 Internal Server Error</title>"
                          "<style>body{font:14px/1.4 system-ui,sans-serif;margin:2em}"
                          "pre{background:#f4f4f4;padding:1em;white-space:pre-wrap}"
                          "th{text-align:left;padding-right:1em;white-space:nowrap;"
                          "vertical-align:top}.dev{color:#666}</style></head>"
                          "<body>\n<h1>500 Internal Server Error</h1>\n<p>The handler returned "
                          "<code>%s</code> (%s).</p>\n<p class=\"dev\">Development mode "
                          "(<code>--dev</code>): this page is never shown in production.</p>\n"
                          "<table>",
                      cadre_errname(code), cadre_strerror(code));
    cadre_buf_append_str(&b, "<tr><th>Route</th><td>");
    put_html(&b, r->route ? r->route : "(none)", r->route ? strlen(r->route) : 6);
    cadre_buf_append_str(&b, "</td></tr><tr><th>Request</th><td>");
    put_html(&b, r->head.method.ptr, r->head.method.len);
    cadre_buf_append_str(&b, " ");
    put_html(&b, r->head.target.ptr, r->head.target.len);
    if (r->request_id) {
        cadre_buf_append_str(&b, "</td></tr><tr><th>Request id</th><td>");
        put_html(&b, r->request_id, strlen(r->request_id));
        cadre_buf_append_str(&b, " <span class=\"dev\">(in the log records of this request)</span>");
    }
    cadre_buf_append_str(&b, "</td></tr></table>\n");
    if (db) {
        cadre_buf_append_str(&b, "<h2>The database said: ");
        put_html(&b, db, (size_t)(nl - db));
        cadre_buf_append_str(&b, "</h2>\n");
        if (strncmp(db, "no such table", 13) == 0 || strstr(db, "does not exist"))
            cadre_buf_append_str(&b, "<p>Have the migrations been applied? Run the app's "
                                     "<code>migrate</code> command.</p>\n");
        cadre_buf_append_str(&b, "<p>The statement that failed:</p>\n<pre>");
        put_html(&b, nl + 1, strlen(nl + 1));
        cadre_buf_append_str(&b, "</pre>\n");
    }
    cadre_buf_append_str(&b, "<h2>Headers</h2>\n<table>");
    for (size_t i = 0; i < r->head.num_headers; i++) {
        cadre_buf_append_str(&b, "<tr><th>");
        put_html(&b, r->head.headers[i].name.ptr, r->head.headers[i].name.len);
        cadre_buf_append_str(&b, "</th><td>");
        put_html(&b, r->head.headers[i].value.ptr, r->head.headers[i].value.len);
        cadre_buf_append_str(&b, "</td></tr>");
    }
    cadre_buf_append_str(&b, "</table>\n</body></html>\n");
    return cadre_respond_ref(r, 500, "text/html; charset=utf-8", b.data, b.len);
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
    case CADRE_ECANCELED: return "Service Unavailable: the server is stopping";
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
        return cadre_app_error(r, 404, "Not Found");
    if (rc == CADRE_ELIMIT && !cadre_responded(r)) /* throttled: Retry-After is the caller's */
        return cadre_app_error(r, 429, "Too Many Requests");
    if (rc < 0) {
        const char *why = unavailable_reason(rc);
        cadre_log(CADRE_LOG_ERROR, "%.*s %.*s: handler failed: %s (%s)", (int)r->head.method.len,
                  r->head.method.ptr, (int)r->head.target.len, r->head.target.ptr,
                  cadre_strerror(rc), cadre_errname(rc));
        cadre_response_clear(r);
        if (!why && cadre_request_app(r)->dev)
            return debug_page(r, rc);
        if (!why)
            return cadre_app_error(r, 500, "Internal Server Error");
        if (rc == CADRE_EBUSY || rc == CADRE_ETIMEDOUT || rc == CADRE_ECLOSED)
            cadre_set_header(r, "Retry-After", "1");
        return cadre_app_error(r, 503, why);
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
    if (next->at < app->mw.len) {
        const struct cadre__mw *m = &app->mw.items[next->at++];
        rc = m->fn(r, next, m->ctx);
    } else if (next->at == app->mw.len) {
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
    cadre_app *app = ctx;
    cadre_next next = { ctx, 0 };
    /* development mode, for the layers above that check more then (the database's N+1) */
    if (app->dev) {
        cadre_request_set(r, CADRE_DEV_MODE_KEY, ctx);
        const char *errors = app->reload_errors;
        if (errors && cadre__reload_failed(r, errors))
            return 500;
    }
    atomic_fetch_add_explicit(&app->in_flight, 1, memory_order_relaxed);
    int rc = cadre_next_call(r, &next);
    atomic_fetch_sub_explicit(&app->in_flight, 1, memory_order_relaxed);
    return rc;
}
