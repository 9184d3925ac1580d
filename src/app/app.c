/* The application object: its routes, its configuration errors and its server config. */
#include "app_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cadre__routes_free(cadre_app *app);

cadre_app *cadre_request_app(const cadre_request *r)
{
    return r->ctx;
}

cadre_app *cadre_app_new(const char *name)
{
    cadre_app *app = calloc(1, sizeof *app);
    if (!app)
        return NULL;
    app->name = strdup(name ? name : "cadre");
    if (!app->name) {
        free(app);
        return NULL;
    }
    cadre_server_config_default(&app->config);
    if (cadre_config_load() != 0) /* $CADRE_CONFIG's settings, before any is read */
        cadre_app_config_error(app, NULL, 0, "the configuration file (CADRE_CONFIG) has errors "
                               "(said above)");
    cadre_buf_init(&app->openapi, 0);
    pthread_mutex_init(&app->openapi_lock, NULL);
    cadre__openapi_install(app);
    cadre__docs_install(app);
    cadre__health_install(app);
    cadre__metrics_install(app);
    cadre__main_install(app);
    cadre_security_headers(app); /* on by default */
    const char *proxies = getenv("CADRE_TRUSTED_PROXIES");
    if (proxies && *proxies)
        cadre_app_trusted_proxies(app, proxies);
    return app;
}

void cadre_app_free(cadre_app *app)
{
    if (!app)
        return;
    cadre__routes_free(app);
    cadre__health_free(app);
    cadre__metrics_free(app);
    free(app->proxies);
    while (app->ngroups)
        cadre_group_end(app);
    for (size_t i = 0; i < app->errors.len; i++)
        free(app->errors.items[i]);
    CADRE_VEC_FREE(&app->errors);
    for (size_t i = 0; i < app->owned.len; i++)
        free(app->owned.items[i]);
    CADRE_VEC_FREE(&app->owned);
    cadre_buf_free(&app->openapi);
    cadre__docs_free(app);
    pthread_mutex_destroy(&app->openapi_lock);
    for (size_t i = 0; i < app->ncommands; i++) {
        free(app->commands[i].name);
        free(app->commands[i].usage);
    }
    free(app->commands);
    CADRE_VEC_FREE(&app->on_start);
    CADRE_VEC_FREE(&app->on_worker);
    CADRE_VEC_FREE(&app->on_response);
    CADRE_VEC_FREE(&app->mw);
    CADRE_VEC_FREE(&app->error_pages);
    if (app->keys)
        memset(app->keys, 0, app->nkeys * sizeof *app->keys); /* no key left in freed memory */
    free(app->keys);
    cadre__modules_free(app); /* before the app's attachments: a module's may use them */
    cadre__attachments_free(&app->attached);
    free(app->version);
    free(app->name);
    free(app);
}

void *cadre_app_own(cadre_app *app, void *p)
{
    if (!p)
        return NULL;
    void **slot = CADRE_VEC_PUSH(&app->owned, NULL, 0);
    if (!slot) {
        free(p);
        return NULL;
    }
    *slot = p;
    return p;
}

int cadre_app_command(cadre_app *app, const char *name, const char *usage, cadre_command_fn fn,
                      void *ctx)
{
    for (size_t i = 0; i < app->ncommands; i++)
        if (strcmp(name, app->commands[i].name) == 0)
            return CADRE_EEXIST;
    struct cadre__command c = { strdup(name), strdup(usage ? usage : name), fn, ctx };
    struct cadre__command *slot =
        c.name && c.usage
            ? cadre_vec_push(&app->commands, &app->ncommands, &app->cap_commands, sizeof c, NULL, 0)
            : NULL;
    if (!slot) {
        free(c.name);
        free(c.usage);
        return CADRE_ENOMEM;
    }
    *slot = c;
    return 0;
}

int cadre_app_version(cadre_app *app, const char *version)
{
    char *v = version ? strdup(version) : NULL;
    if (version && !v)
        return CADRE_ENOMEM;
    free(app->version);
    app->version = v;
    return 0;
}

int cadre_app_attach(cadre_app *app, const char *key, void *ptr, void (*free_fn)(void *))
{
    return cadre__attach(&app->attached, key, ptr, free_fn);
}

void *cadre_app_attachment(const cadre_app *app, const char *key)
{
    return cadre__attachment(&app->attached, key);
}

int cadre_app_on_start(cadre_app *app, int (*fn)(cadre_app *app, void *ctx), void *ctx)
{
    struct cadre__on_start *slot = CADRE_VEC_PUSH(&app->on_start, NULL, 0);
    if (!slot)
        return CADRE_ENOMEM;
    *slot = (struct cadre__on_start){ fn, ctx };
    return 0;
}

int cadre_app_on_worker_start(cadre_app *app, void (*fn)(cadre_app *app, int worker, void *ctx),
                              void *ctx)
{
    struct cadre__on_worker *slot = CADRE_VEC_PUSH(&app->on_worker, NULL, 0);
    if (!slot)
        return CADRE_ENOMEM;
    *slot = (struct cadre__on_worker){ fn, ctx };
    return 0;
}

static void app_worker_start(int worker, void *ctx)
{
    cadre_app *app = ctx;
    for (size_t i = 0; i < app->on_worker.len; i++)
        app->on_worker.items[i].fn(app, worker, app->on_worker.items[i].ctx);
}

int cadre_app_on_response(cadre_app *app, cadre_response_hook fn, void *ctx)
{
    struct cadre__on_response *slot = CADRE_VEC_PUSH(&app->on_response, NULL, 0);
    if (!slot)
        return CADRE_ENOMEM;
    *slot = (struct cadre__on_response){ fn, ctx };
    return 0;
}

/* One record per request: method, route pattern, target, status, bytes, duration, the client
 * (after the trusted proxies), the user when there is one, the request id. */
static void access_log(cadre_request *r, int status, uint64_t bytes, uint64_t elapsed_us)
{
    char client[CADRE_PEER_SIZE], user[CADRE_I64_TEXT] = "-";
    const int64_t *uid = cadre_request_get(r, CADRE_USER_ID_KEY);
    if (uid)
        cadre_i64_text(*uid, user);
    char st[8], len[24], ms[32];
    snprintf(st, sizeof st, "%d", status);
    snprintf(len, sizeof len, "%llu", (unsigned long long)bytes);
    snprintf(ms, sizeof ms, "%llu.%03llu", (unsigned long long)(elapsed_us / 1000),
             (unsigned long long)(elapsed_us % 1000));
    char *method = cadre_arena_strndup(r->arena, r->head.method.ptr, r->head.method.len);
    char *target = cadre_arena_strndup(r->arena, r->head.target.ptr, r->head.target.len);
    const char *fields[] = { "method", method, "route", r->route ? r->route : "-",
                             "target", target, "status", st,
                             "bytes", len, "duration_ms", ms,
                             "client", cadre_request_client(r, client) ? client : "-",
                             "user", user,
                             r->request_id ? "request_id" : NULL, r->request_id, NULL };
    cadre_log_fields(CADRE_LOG_INFO, "request", fields);
}

void cadre__app_on_response(void *ctx, cadre_request *r, int status, uint64_t bytes,
                            uint64_t elapsed_us)
{
    cadre_app *app = ctx;
    if (app->access_log && cadre_log_enabled(CADRE_LOG_INFO))
        access_log(r, status, bytes, elapsed_us);
    for (size_t i = 0; i < app->on_response.len; i++)
        app->on_response.items[i].fn(r, status, bytes, elapsed_us, app->on_response.items[i].ctx);
}

cadre_server_config *cadre_app_config(cadre_app *app)
{
    return &app->config;
}

void cadre_app_config_error(cadre_app *app, const char *file, int line, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char **e = CADRE_VEC_PUSH(&app->errors, NULL, 0);
    size_t n = strlen(file ? file : "?") + strlen(msg) + 32;
    char *s = e ? malloc(n) : NULL;
    if (!s)
        cadre_panic("out of memory recording a configuration error: %s", msg);
    if (file)
        snprintf(s, n, "%s:%d: %s", file, line, msg);
    else /* not from a line of the app's code: the message says where */
        snprintf(s, n, "%s", msg);
    *e = s;
}

size_t cadre_app_check(cadre_app *app)
{
    if (!app->checked_modules) { /* once: the errors are recorded */
        app->checked_modules = true;
        cadre__modules_check(app);
        for (size_t i = 0; i < app->nroutes && !app->auth.check; i++)
            if (app->routes[i].auth & (CADRE_AUTH_SESSION | CADRE_AUTH_TOKEN)) {
                cadre_app_config_error(app, app->routes[i].file, app->routes[i].line,
                                       "route %s %s declares .auth, but the app has no auth: "
                                       "call cadre_auth(app, db) (cadre/auth.h)",
                                       app->routes[i].method, app->routes[i].pattern);
                break;
            }
    }
    while (app->ngroups) {
        cadre_app_config_error(app, NULL, 0, "cadre_group_begin(\"%s\") without its cadre_group_end",
                         app->groups[app->ngroups - 1].prefix);
        cadre_group_end(app);
    }
    for (size_t i = 0; i < app->errors.len; i++)
        cadre_log(CADRE_LOG_ERROR, "%s", app->errors.items[i]);
    return app->errors.len;
}

int cadre_app_serve(cadre_app *app, const cadre_server_config *config)
{
    if (cadre_app_check(app) > 0) {
        cadre_log(CADRE_LOG_ERROR, "%s: %zu configuration error(s); not serving", app->name,
                  app->errors.len);
        return CADRE_EINVAL;
    }
    int krc = cadre__app_load_secret(app);
    if (krc < 0)
        return krc;
    for (size_t i = 0; i < app->on_start.len; i++) {
        int rc = app->on_start.items[i].fn(app, app->on_start.items[i].ctx);
        if (rc < 0)
            return rc;
    }
    cadre_server_config cfg = cadre__app_server_config(app, config);
    return cadre_server_run(&cfg, cadre_app_dispatch, app);
}

/* The server's stop begins: /readyz answers 503 from now on. */
static void app_stopping(void *ctx)
{
    atomic_store(&((cadre_app *)ctx)->draining, true);
}

cadre_server_config cadre__app_server_config(cadre_app *app, const cadre_server_config *config)
{
    cadre_server_config cfg = config ? *config : app->config;
    cfg.body_on_demand = true; /* the pipeline reads it, after guards and middleware */
    /* the hook only when something listens: it costs two clock reads per request */
    if (!cfg.on_response && (cfg.access_log || app->on_response.len))
        cfg.on_response = cadre__app_on_response;
    app->access_log = cfg.access_log;
    if (!cfg.on_stopping) {
        cfg.on_stopping = app_stopping;
        cfg.on_stopping_ctx = app;
    }
    cfg.extra_headers = app->security;
    cfg.n_extra_headers = app->nsecurity;
    if (!cfg.on_worker_start && app->on_worker.len) {
        cfg.on_worker_start = app_worker_start;
        cfg.on_worker_start_ctx = app;
    }
    return cfg;
}
