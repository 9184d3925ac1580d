/* Private declarations of the app module. Never installed. */
#ifndef CADRE_APP_INTERNAL_H
#define CADRE_APP_INTERNAL_H

#include <cadre/app.h>

#include <pthread.h>
#include <stdatomic.h>

/* One segment of a route pattern: a literal ("items") or a parameter ("{id}"). */
struct cadre__seg {
    char *text; /* literal text, or the parameter name */
    size_t len;
    bool param;
};

struct cadre__route {
    char *method;
    char *pattern;
    struct cadre__seg *segs;
    size_t nsegs, nparams;
    cadre_handler handler;          /* plain route */
    const char *handler_name;       /* its C name (for the OpenAPI operation id) */
    const cadre_route_spec *spec;   /* typed route (owned copy), or NULL */
    bool hidden;                    /* left out of the OpenAPI document (its own routes) */
    bool prefix;                    /* also matches every path below it (static files) */
    bool operational;               /* /livez, /readyz, /metrics: served by `worker` too */
    const void *data;               /* a plain route's r->route_data (static files: the mount) */
    cadre_guard *guards;            /* the groups' then its own, NULL-terminated (owned), or NULL */
    const cadre_guard *own_guards;  /* while adding: the route's own (the caller's) */
    unsigned auth;                  /* CADRE_AUTH_*: its own, else its group's (0: none) */
    char *name;                     /* for cadre_url_for (owned), or NULL */
    const char *file;
    int line;
};

/* An open route group (cadre_group_begin): its full prefix and guards, with its parents'. */
struct cadre__group {
    char *prefix;        /* the joined prefix of this group and its parents */
    cadre_guard *guards; /* the parents' then its own, NULL-terminated (owned) */
    size_t nguards;
    const char *tags;
    bool hidden;
    unsigned auth; /* its own, else its parent's */
};

#define CADRE__MAX_GROUPS 8

struct cadre__command {
    char *name, *usage;
    cadre_command_fn fn;
    void *ctx;
};

struct cadre__on_start {
    int (*fn)(cadre_app *app, void *ctx);
    void *ctx;
};

struct cadre__on_worker {
    void (*fn)(cadre_app *app, int worker, void *ctx);
    void *ctx;
};

struct cadre__error_page {
    int status; /* 0: any */
    cadre_error_page fn;
    void *ctx;
};

struct cadre__mw {
    cadre_middleware fn;
    void *ctx;
};

struct cadre__on_response {
    cadre_response_hook fn;
    void *ctx;
};

struct cadre__attachment {
    char *key;
    void *ptr;
    void (*free_fn)(void *);
};

/* The state attached to the app or to a module (cadre_app_attach, cadre_module_attach). */
struct cadre__attachments {
    struct cadre__attachment *items;
    size_t len, cap;
};

struct cadre_app {
    char *name;
    /* routes and commands keep their own names (main.c reads them): they grow with
     * cadre_vec_push, like the CADRE_VEC arrays below */
    struct cadre__route *routes;
    size_t nroutes, cap_routes;
    struct cadre__ready_check *ready; /* readiness checks (health.c) */
    size_t nready;
    atomic_bool draining;             /* stopping: /readyz answers 503 */
    struct cadre__metrics *metrics;   /* the registry (metrics.c) */
    _Atomic size_t in_flight;         /* requests in cadre_app_dispatch now */
    time_t started_at;
    char *version;
    CADRE_VEC(char *) errors; /* configuration errors, "file:line: message" */
    cadre_server_config config;
    CADRE_VEC(void *) owned; /* freed with the app (cadre_app_own) */
    cadre_buf openapi; /* the document, built on first request */
    char *docs_dir;          /* local docs assets (cadre_app_docs_assets), or NULL: CDN */
    cadre_buf docs_cache[3]; /* those assets, read on first request */
    pthread_mutex_t openapi_lock;
    struct cadre__command *commands; /* cadre_app_command */
    size_t ncommands, cap_commands;
    CADRE_VEC(struct cadre__on_start) on_start;    /* cadre_app_on_start */
    CADRE_VEC(struct cadre__on_worker) on_worker;  /* cadre_app_on_worker_start */
    struct cadre__group groups[CADRE__MAX_GROUPS]; /* the open groups, outermost first */
    size_t ngroups;
    CADRE_VEC(struct cadre__error_page) error_pages; /* cadre_app_on_error */
    bool dev; /* development mode: the debug page for 500s */
    bool operations_only; /* cadre_app_serve_command(…, true): the operational routes alone */
    const char *reload_errors; /* serve --reload's child: the last build's errors (a file) */
    const char *reload_source; /* serve --reload's child: the project's source directory */
    unsigned char (*keys)[32]; /* the secret key then its fallbacks, each hashed to 32 bytes */
    size_t nkeys, cap_keys;
    bool secret_set;      /* cadre_app_secret_key was called: the environment is not read */
    bool secret_required; /* cadre_app_require_secret */
    CADRE_VEC(struct cadre__mw) mw;                   /* cadre_app_use, outermost first */
    CADRE_VEC(struct cadre__on_response) on_response; /* cadre_app_on_response */
    bool access_log; /* the serving configuration's access_log */
    struct cadre__attachments attached; /* cadre_app_attach */
    CADRE_VEC(cadre_module *) modules;  /* cadre_module_add, in the order added */
    cadre_module **module_order; /* sorted by dependency (cadre_app_module_at) */
    bool module_order_valid, checked_modules;
    cadre_auth_hooks auth; /* cadre_app_auth_hooks (check NULL: none) */
    const cadre_header *security; /* cadre_security_headers: what the server adds (owned) */
    size_t nsecurity;
    struct cadre__net *proxies; /* cadre_app_trusted_proxies */
    size_t nproxies;
};

/* The server's on_response for an app: the access log, then the hooks (app.c). */
void cadre__app_on_response(void *ctx, cadre_request *r, int status, uint64_t bytes,
                            uint64_t elapsed_us);

/* Attachment lists (module.c): of the app, of each module. */
int cadre__attach(struct cadre__attachments *l, const char *key, void *ptr,
                  void (*free_fn)(void *));
void *cadre__attachment(const struct cadre__attachments *l, const char *key);
void cadre__attachments_free(struct cadre__attachments *l);
/* Modules (module.c): records unresolvable dependencies as configuration errors; frees them. */
void cadre__modules_check(cadre_app *app);
void cadre__modules_free(cadre_app *app);


/* Registers the built-in commands serve, routes, openapi and help (main.c). */
void cadre__main_install(cadre_app *app);

/* A built-in GET route at path ("": none), outside any open group, open to anyone, out of
 * OpenAPI (router.c): /livez, /metrics. */
int cadre__route_builtin(cadre_app *app, const char *path, cadre_handler handler);

/* Removes the plain routes of handler (router.c: a built-in route moved elsewhere). */
void cadre__routes_remove(cadre_app *app, cadre_handler handler);

/* Makes the metrics registry, its built-in metrics and /metrics (metrics.c); frees them. */
void cadre__metrics_install(cadre_app *app);
void cadre__metrics_free(cadre_app *app);
/* serve --no-metrics: the built-in response hook does nothing, /metrics is gone. */
void cadre__metrics_off(cadre_app *app);
bool cadre__metrics_on(const cadre_app *app);

/* Registers /livez and /readyz (health.c); frees the readiness checks. */
void cadre__health_install(cadre_app *app);
void cadre__health_free(cadre_app *app);

/* Registers GET /openapi.json (openapi.c). */
void cadre__openapi_install(cadre_app *app);
/* Registers /docs, /redoc and their assets (docs.c); frees what they cached. */
void cadre__docs_install(cadre_app *app);
void cadre__docs_free(cadre_app *app);

/* Runs a typed route: decode and validate, call, encode (typed.c). */
int cadre__typed_dispatch(const struct cadre__route *rt, cadre_request *r);

/* Answers an error the app produces itself: the app's error page for a client that wants HTML on a
 * route that is not typed, else {"detail": detail} (pipeline.c). Returns the status. */

/* Loads the secret key from the environment (or makes a development one) unless it was set;
 * logs and returns CADRE_EINVAL when the app requires one and has none (secret.c). */
int cadre__app_load_secret(cadre_app *app);

/* The server configuration the app serves with: config (or the app's own), with what the
 * pipeline needs (bodies read on demand, the on-response hook when something listens). Used by
 * cadre_app_serve and the test client, so both serve alike. */
cadre_server_config cadre__app_server_config(cadre_app *app, const cadre_server_config *config);

/* Whether the route of pattern (a request's r->route, compared by address) is a typed route: an
 * API, whose errors stay JSON (router.c). */
bool cadre__route_is_api(const cadre_app *app, const char *pattern);

/* Routes a request and runs its route's handler (router.c): the innermost step of the pipeline.
 * Returns what the handler returned, or the status of the router's own answer (404, 405, 400). */
int cadre__route_request(cadre_app *app, cadre_request *r);

/* The joined prefix of the open groups ("" when none). */
const char *cadre__group_prefix(const cadre_app *app);

/* Parses a route pattern into rt (router.c); errors are recorded on app. */
int cadre__route_add(cadre_app *app, struct cadre__route *rt, const char *method, const char *path,
                     const char *file, int line);


/* serve --reload (reload.c): the supervisor (cfg: where to listen; argv: serve's, "serve"
 * first). Returns the exit status. */
int cadre__serve_reload(const cadre_server_config *cfg, int argc, char **argv);
/* In a reload child: answers a browser's request with the failed build's output when the last
 * build failed (true), else false. */
bool cadre__reload_failed(cadre_request *r, const char *errors);

#endif
