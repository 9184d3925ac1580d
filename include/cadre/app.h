/**
 * cadre/app.h — an application: routes, the command line (cadre_main) and the in-process test
 * client.
 */
#ifndef CADRE_APP_H
#define CADRE_APP_H

#include "base.h"
#include "http.h"
#include "websocket.h"
#include "schema.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cadre_app cadre_app;

/** A handler: an ordinary function that builds the response and returns its status. */
typedef int (*cadre_handler)(cadre_request *r);

/**
 * A guard decides whether a request may reach its route's handler: it runs after routing, before
 * the parameters and the body are decoded. It returns 0 to let the request pass, or answers
 * (sets a response and returns its status: `return cadre_error(r, 403, "Forbidden");`), or
 * returns a negative CADRE_E* (mapped as a handler's). ctx is the guard's own (a permission
 * name, say).
 */
typedef int (*cadre_guard_fn)(cadre_request *r, void *ctx);

typedef struct cadre_guard {
    cadre_guard_fn fn;
    void *ctx;
} cadre_guard;

/** A list of guards for .guards, run in order: CADRE_GUARDS({ login_required }, { has_perm,
 *  "inventory.change" }). Copied at registration. */
#define CADRE_GUARDS(...) ((const cadre_guard[]){ __VA_ARGS__, { NULL, NULL } })

/** What a plain route may add after its handler: cadre_get(app, "/p/{id}", show, .name = "p"). */
typedef struct cadre_route_opts {
    const char *method, *path;
    cadre_handler handler;
    const char *handler_name; /**< the handler's C name (OpenAPI operation id) */
    const cadre_guard *guards; /**< CADRE_GUARDS(...), run after the group's (copied) */
    const char *name;          /**< the route's name, for cadre_url_for (copied) */
    /** List it in the OpenAPI document. A plain route declares no contract (a page, a file, a
     *  hand-written answer), so it is left out unless this says otherwise (FastAPI's
     *  include_in_schema); typed routes are in, unless their group is hidden. */
    bool in_schema;
    const void *data;          /**< given to the handler as r->route_data (not copied) */
    unsigned auth;             /**< who may call it: CADRE_AUTH_* (0: the group's, else anyone) */
    const char *file;          /**< where the route was declared (for start-up errors) */
    int line;
} cadre_route_opts;

/**
 * A WebSocket route's handler: runs on the connection's coroutine once the opening handshake is
 * accepted (cadre/websocket.h), reading and writing messages until it returns; the connection is
 * then closed, with 1000, or 1011 when it returns a negative CADRE_E*. r is the handshake's
 * request: its user (the route's guards ran before), its headers.
 */
typedef int (*cadre_ws_handler)(cadre_request *r, cadre_ws *ws);

typedef struct cadre_ws_route_opts {
    const char *path;
    cadre_ws_handler handler;
    const cadre_guard *guards; /**< CADRE_GUARDS(...): checked before the handshake is accepted */
    const char *name;          /**< for cadre_url_for */
    unsigned auth;             /**< CADRE_AUTH_* as for a route (0: the group's) */
    /** Origins trusted besides the site's own, comma-separated ("https://app.example.com"), or
     *  "*" for any. A browser's handshake sent from a page of another origin is refused 403:
     *  it carries the user's cookies, and that page would act as the user (cross-site WebSocket
     *  hijacking). A client that sends no Origin (not a browser) is not checked. */
    const char *origins;
    size_t max_message;        /**< cadre_ws_opts' */
    int ping_interval_ms;
    int idle_timeout_ms;
    const char *subprotocols;
    bool no_compression;       /**< cadre_ws_opts': answer without permessage-deflate */
    const char *file;
    int line;
} cadre_ws_route_opts;

/**
 * Adds a WebSocket route at path (a pattern, as cadre_route's): a GET whose guards run first (a
 * login required, a permission: refused with their usual answers, before any upgrade), whose
 * Origin is checked, and whose handshake is then accepted and handed to handler. A plain GET
 * there is answered 426 Upgrade Required. Options are cadre_ws_route_opts members:
 *
 *     cadre_websocket(app, "/ws/stock", stock_feed,
 *                     .guards = CADRE_GUARDS(CADRE_PERM("inventory.view_product")));
 *
 * Returns 0, or a configuration error's code as cadre_route.
 */
int cadre__websocket(cadre_app *app, const cadre_ws_route_opts *opts);
#define cadre_websocket(app, path_, ...)                                                           \
    cadre__websocket((app), &(cadre_ws_route_opts){ .path = (path_),                               \
                                                    .handler = CADRE__FIRST(__VA_ARGS__, ),        \
                                                    .file = __FILE__,                              \
                                                    .line = __LINE__,                              \
                                                    CADRE__REST(__VA_ARGS__, ) })

/** The app a request came to (its dispatch context), for code that has only the request. */
cadre_app *cadre_request_app(const cadre_request *r);

/** Whether r is an API request: routed to a typed route (or, unrouted, its path is a typed
 *  route's). Its errors are JSON for every client; a page's may be HTML for a browser. */
bool cadre_request_is_api(cadre_request *r);

/** Whether r is a browser asking for a page: its Accept names text/html and it is not an API
 *  request. What decides an HTML error page, or a redirect to a login page, over JSON. */
bool cadre_request_wants_html(cadre_request *r);

/** Creates an application. name appears in logs. Returns NULL only when memory runs out. */
cadre_app *cadre_app_new(const char *name);

/** Frees the application and its routes. */
void cadre_app_free(cadre_app *app);

/**
 * The app's server configuration (cadre_server_config_default() at creation), for the program
 * to adjust before serving; cadre_main's options are applied on top. Owned by the app.
 */
cadre_server_config *cadre_app_config(cadre_app *app);

/**
 * Adds a route. path is a pattern such as "/items/{id}": literal segments and whole-segment
 * parameters named in braces. HEAD is answered by GET routes.
 *
 * A bad pattern or a route registered twice is recorded with file and line, and the app then
 * refuses to start (cadre_main / cadre_app_serve print every such error). Returns 0 or
 * CADRE_EINVAL / CADRE_EEXIST.
 */
int cadre__route(cadre_app *app, const cadre_route_opts *opts);

/** cadre_route(app, "GET", "/items/{id}", handler, options...): options are cadre_route_opts
 *  members (.name, .guards). */
#define cadre_route(app, method_, path_, ...)                                                      \
    cadre__route((app), &(cadre_route_opts){ .method = (method_),                                  \
                                             .path = (path_),                                      \
                                             .handler = CADRE__FIRST(__VA_ARGS__, ),               \
                                             .handler_name = CADRE__STR(CADRE__FIRST(__VA_ARGS__, )), \
                                             .file = __FILE__,                                     \
                                             .line = __LINE__,                                     \
                                             CADRE__REST(__VA_ARGS__, ) })
#define cadre_get(app, path, ...) cadre_route((app), "GET", (path), __VA_ARGS__)
#define cadre_post(app, path, ...) cadre_route((app), "POST", (path), __VA_ARGS__)
#define cadre_put(app, path, ...) cadre_route((app), "PUT", (path), __VA_ARGS__)
#define cadre_patch(app, path, ...) cadre_route((app), "PATCH", (path), __VA_ARGS__)
#define cadre_delete(app, path, ...) cadre_route((app), "DELETE", (path), __VA_ARGS__)

/**
 * Route groups. Every route added between cadre_group_begin and its cadre_group_end (plain, typed,
 * CRUD and static routes alike) has its path under prefix ("/admin" + "/users"), runs the
 * group's guards before its own, takes the group's OpenAPI tags when it has none, and is left out
 * of OpenAPI when the group is hidden. Groups nest (prefixes join, guards run outer first), up to
 * 8 deep. Everything is copied. An unbalanced begin/end is a configuration error (the app does not
 * serve). Returns 0 or CADRE_EINVAL / CADRE_ENOMEM (recorded as configuration errors).
 */
typedef struct cadre_group_spec {
    const cadre_guard *guards; /**< CADRE_GUARDS(...), run before each route's own */
    const char *tags;          /**< OpenAPI tags for the routes without their own */
    bool hidden;               /**< leave the group's routes out of OpenAPI */
    unsigned auth;             /**< CADRE_AUTH_* for the routes without their own */
} cadre_group_spec;

int cadre__group_begin(cadre_app *app, const char *prefix, const cadre_group_spec *spec,
                       const char *file, int line);
int cadre_group_end(cadre_app *app);

/** cadre_group_begin(app, "/admin", .guards = CADRE_GUARDS({ staff_only }), .hidden = true) */
#define cadre_group_begin(app, prefix, ...)                                                        \
    cadre__group_begin((app), (prefix), &(cadre_group_spec){ __VA_ARGS__ }, __FILE__, __LINE__)

/* ---------------------------------------------------------------------------------------------
 * Typed routes: parameters, body and response declared with schemas (cadre/schema.h).
 * ------------------------------------------------------------------------------------------- */

/** A typed handler, as stored; CADRE_ROUTE checks the real signature at compile time. */
typedef int (*cadre_typed_handler)(cadre_request *r, const void *params, const void *body, void *out);

typedef struct cadre_route_spec {
    const char *method;
    const char *path;
    cadre_typed_handler handler;
    const cadre_schema *params;   /**< path/query/header/cookie parameters (cadre_none: none) */
    const cadre_schema *body;     /**< JSON body (cadre_none: none) */
    const cadre_schema *response; /**< response body (cadre_none: the handler responds itself) */
    int status;                   /**< success status when the handler returns 0 (default 200) */
    const char *summary, *description, *tags, *operation_id; /**< for OpenAPI */
    bool deprecated;
    bool partial_body; /**< PATCH: required body fields may be absent (only present ones set) */
    /** The body may also come as a form, FastAPI's Form()/File(): application/x-www-form-urlencoded
     *  or multipart/form-data is decoded into the body schema (cadre/form.h, docs/forms.md), and
     *  OpenAPI lists those media types. Without it a form body is refused (422), as FastAPI
     *  does for a JSON body model. A body schema with a file field needs it. */
    bool form;
    const struct cadre_form_limits *form_limits; /**< multipart limits (NULL: the defaults); not
                                                      copied: static, or living as long as the app */
    const void *data;  /**< given to the handler as r->route_data (e.g. the model of a CRUD API) */
    const cadre_guard *guards; /**< CADRE_GUARDS(...), run after the group's (copied) */
    const char *name;          /**< the route's name, for cadre_url_for (copied) */
    unsigned auth;             /**< who may call it: CADRE_AUTH_* (0: the group's, else anyone) */
    bool forbids; /**< the handler may answer 403 itself (a permission it checks, as cadre_crud
                       does): OpenAPI lists 403 for it when it is secured */
    /** For parameters the handler reads itself (a CRUD list's filters): writes more OpenAPI
     *  parameter objects, each a whole JSON object, into the operation's "parameters" array. */
    void (*doc_params)(const struct cadre_route_spec *spec, cadre_json_writer *w);
    const char *handler_name; /**< the handler's C name: the default operation id's stem */
    const char *file; /**< where the route was declared (for start-up errors) */
    int line;
} cadre_route_spec;

/**
 * Adds a typed route (the spec is copied). Path parameters must be fields of the params schema,
 * or the app refuses to start. Returns 0 or a negative CADRE_E* (recorded as with cadre_route).
 *
 * At request time: every parameter and the body are decoded and validated first; any failure
 * answers 422 {"detail":[…]} listing every error, and the handler does not run. Otherwise the
 * handler gets the decoded structs and fills *out; its return value is the status (0: the spec's
 * status). A 2xx status with a response schema encodes *out as JSON, unless the handler set a
 * response itself (cadre_respond and friends).
 */
int cadre__route_typed(cadre_app *app, const cadre_route_spec *spec);

#define CADRE__PASTE_(a, b) a##b
#define CADRE__PASTE(a, b) CADRE__PASTE_(a, b)

/**
 * CADRE_ROUTE(app, POST, "/items", create_item, Params, Body, Response, .status = 201, ...)
 *
 * Params, Body and Response are types declared with CADRE_SCHEMA (cadre_none for none). The
 * handler must be `int fn(cadre_request *, const Params *, const Body *, Response *)`: anything
 * else is a compile error. Options after the types are cadre_route_spec members (.status,
 * .summary, .description, .tags, .operation_id, .deprecated, .form, .form_limits).
 */
#define CADRE_ROUTE(app, METHOD, path_, fn, P, B, ...)                                             \
    ((void)sizeof(struct {                                                                         \
         _Static_assert(_Generic((fn), int (*)(cadre_request *, const P *, const B *,              \
                                               CADRE__FIRST(__VA_ARGS__, ) *): 1,                 \
                                 default: 0),                                                      \
                        "CADRE_ROUTE: " #fn " must be int " #fn "(cadre_request *, const " #P      \
                        " *, const " #B " *, " CADRE__STR(CADRE__FIRST(__VA_ARGS__, )) " *)");     \
         int cadre__checked;                                                                       \
     }),                                                                                           \
     cadre__route_typed(                                                                           \
        (app),                                                                                     \
        &(cadre_route_spec){                                                                       \
            .method = #METHOD,                                                                     \
            .path = (path_),                                                                       \
            .handler = (cadre_typed_handler)(void (*)(void))(int (*)(                              \
                cadre_request *, const P *, const B *, CADRE__FIRST(__VA_ARGS__, ) *)){ fn },      \
            .handler_name = #fn,                                                                   \
            .params = P##__schema(),                                                               \
            .body = B##__schema(),                                                                 \
            .response = CADRE__PASTE(CADRE__FIRST(__VA_ARGS__, ), __schema)(),                     \
            .file = __FILE__,                                                                      \
            .line = __LINE__,                                                                      \
            CADRE__REST(__VA_ARGS__, ) }))

/**
 * Answers errs as FastAPI's validation answer: {"detail":[{"type","loc","msg","input","ctx"},…]}
 * with status (422 for invalid input, 409 for a conflict such as a taken name), as typed routes
 * do for what their schemas find. A handler that checks more itself collects into a list
 * (cadre_verrors_init with r->arena, cadre_verrors_add_field) and answers with this. Returns
 * status.
 */
int cadre_respond_verrors(cadre_request *r, int status, const cadre_verrors *errs);

/* ---------------------------------------------------------------------------------------------
 * The request pipeline: middleware around the router and the handlers.
 * ------------------------------------------------------------------------------------------- */

/** The rest of the pipeline after a middleware (opaque; lives as long as the request). */
typedef struct cadre_next cadre_next;

/**
 * A middleware: runs for every request, before and after the rest of the pipeline (the
 * middleware registered after it, then the router, the route's guards and its handler). It may
 * answer at once (set a response and return its status, e.g. `return cadre_error(r, 401, ...)`),
 * or call cadre_next_call(r, next) — at most once — and then see the final response
 * (cadre_response_status, cadre_response_header, cadre_response_length), change it (add a header,
 * replace it) and return. It returns a status or a negative CADRE_E*, as a handler does.
 */
typedef int (*cadre_middleware)(cadre_request *r, cadre_next *next, void *ctx);

/** Adds a middleware; the first added is the outermost. Returns 0, CADRE_EINVAL or ENOMEM. */
int cadre_app_use(cadre_app *app, cadre_middleware fn, void *ctx);

/**
 * Runs the rest of the pipeline and returns the final status: by then the response is set, every
 * result mapped to an answer — a handler's status without a response answers that status;
 * CADRE_ENOTFOUND 404 {"detail":"Not Found"}; a database down, busy or failing 503 with a detail
 * naming the trouble (CADRE_ECLOSED, CADRE_EBUSY, CADRE_ETIMEDOUT with Retry-After: 1;
 * CADRE_ENOSPC, CADRE_EREADONLY, CADRE_ECORRUPT, CADRE_ESTALE); any other negative code 500.
 * 503s and 500s are logged.
 */
int cadre_next_call(cadre_request *r, cadre_next *next);

/* ---------------------------------------------------------------------------------------------
 * Who may call a route: one declaration per route or group (.auth), which the auth module
 * (cadre/auth.h) carries out. Without auth in the app, a route that declares it refuses to start.
 * ------------------------------------------------------------------------------------------- */

enum {
    /** A logged-in browser session (its cookie). Its unsafe requests (POST, PUT, PATCH, DELETE)
     *  must carry the CSRF token. */
    CADRE_AUTH_SESSION = 1u << 0,
    /** An API token: `Authorization: Bearer …`. No cookie is looked at, no CSRF token needed. */
    CADRE_AUTH_TOKEN = 1u << 1,
    /** Anyone, even in a group that asks for more (the group's login page, a health check). */
    CADRE_AUTH_PUBLIC = 1u << 2,
};

/**
 * What a module that authenticates requests gives the app (auth does): check runs for every
 * routed request after routing, before the guards, with the route's declaration (0 when it has
 * none: anyone may call it, though a session it carries is still recognised — and its unsafe
 * requests still checked for CSRF); it lets the request go on (0), answers it (401, 403: sets
 * the response and returns the status) or returns a negative CADRE_E*. security writes the
 * OpenAPI side: components.securitySchemes' members when op is NULL (auth: the declarations of
 * every documented operation, ORed: only the schemes some operation uses), else an operation's
 * "security" array for the declaration auth. Both run on any thread; ctx lives as long as the
 * app.
 */
typedef struct cadre_auth_hooks {
    int (*check)(cadre_request *r, unsigned auth, void *ctx);
    void (*security)(cadre_json_writer *w, unsigned auth, const char *op, void *ctx);
    void *ctx;
} cadre_auth_hooks;

/** Installs hooks (copied; once per app). Returns 0, CADRE_EINVAL (no check function) or
 *  CADRE_EEXIST (the app has hooks already). */
int cadre_app_auth_hooks(cadre_app *app, const cadre_auth_hooks *hooks);

/* ---------------------------------------------------------------------------------------------
 * Browser safety: security headers and CORS
 * ------------------------------------------------------------------------------------------- */

/** Security headers that every response of the app carries unless it sets its own of the same
 *  name. NULL: the default; "": not sent. */
typedef struct cadre_security_opts {
    bool off;                         /**< none at all */
    const char *content_type_options; /**< X-Content-Type-Options ("nosniff") */
    const char *referrer_policy;      /**< Referrer-Policy ("same-origin") */
    const char *frame_options;        /**< X-Frame-Options ("DENY"; "SAMEORIGIN" for frames of
                                           the site's own pages) */
    const char *opener_policy;        /**< Cross-Origin-Opener-Policy ("same-origin") */
    int64_t hsts_seconds;             /**< Strict-Transport-Security max-age: 0 (the default)
                                           sends none — turn it on once the site is HTTPS only,
                                           as browsers then refuse plain HTTP for that long */
    bool hsts_subdomains;             /**< ; includeSubDomains */
    bool hsts_preload;                /**< ; preload */
} cadre_security_opts;

/**
 * Sets the app's security headers (they are on from cadre_app_new, as Django's SecurityMiddleware
 * and XFrameOptionsMiddleware set them: X-Content-Type-Options: nosniff, Referrer-Policy:
 * same-origin, X-Frame-Options: DENY, Cross-Origin-Opener-Policy: same-origin), replacing the
 * set before: cadre_security_headers(app, .hsts_seconds = 31536000). The server writes them with
 * each response at no cost per request. Returns 0 or CADRE_EINVAL (recorded as a configuration
 * error).
 */
int cadre__security_headers(cadre_app *app, const cadre_security_opts *opts, const char *file,
                            int line);
#define cadre_security_headers(app, ...)                                                           \
    cadre__security_headers((app), &(cadre_security_opts){ __VA_ARGS__ }, __FILE__, __LINE__)

typedef struct cadre_cors_opts {
    /** The origins whose pages may call the app, comma-separated, each scheme://host[:port]
     *  ("https://app.example.com"), or "*" for any (not with credentials). Required. */
    const char *origins;
    const char *methods;        /**< allowed ("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS") */
    const char *headers;        /**< request headers allowed ("Accept, Accept-Language,
                                     Authorization, Content-Language, Content-Type, X-CSRFToken,
                                     X-Requested-With") */
    const char *expose_headers; /**< response headers a script may read beyond the safe ones */
    bool credentials;           /**< cookies and Authorization from those origins */
    int64_t max_age;            /**< seconds a browser keeps a preflight's answer (600) */
} cadre_cors_opts;

/**
 * Answers cross-origin requests (the Fetch standard's CORS protocol) as a middleware: a preflight
 * (OPTIONS with Access-Control-Request-Method) from an allowed origin, for an allowed method and
 * headers, is answered 204 with the Access-Control-Allow-* headers, any other preflight 400
 * ("Disallowed CORS origin"); other requests run as always and, from an allowed origin, carry
 * Access-Control-Allow-Origin (the origin itself with Vary: Origin, or "*" for any origin without
 * credentials). Call it before other middleware, so that their answers carry its headers too.
 * Unsafe requests with a session cookie still need a CSRF token, and their origin in auth's
 * trusted_origins (cadre/auth.h). Returns 0 or CADRE_EINVAL (recorded: "*" with credentials is
 * refused at start-up).
 */
int cadre__cors(cadre_app *app, const cadre_cors_opts *opts, const char *file, int line);
#define cadre_cors(app, ...)                                                                       \
    cadre__cors((app), &(cadre_cors_opts){ __VA_ARGS__ }, __FILE__, __LINE__)

/**
 * The proxies (load balancers) whose X-Forwarded-For the app believes: addresses or CIDR blocks,
 * comma-separated ("127.0.0.1,10.0.0.0/8,fd00::/8"); also read from $CADRE_TRUSTED_PROXIES by
 * cadre_app_new. Replaces the list before. Returns 0, CADRE_EINVAL (recorded as a configuration
 * error) or CADRE_ENOMEM.
 */
int cadre_app_trusted_proxies(cadre_app *app, const char *list);

/**
 * The address of r's client: its connection's peer (cadre_request_peer) — or, when that is a
 * trusted proxy, the rightmost X-Forwarded-For address that is not one (a client cannot forge
 * what the proxies appended after it). Returns its length (0: unknown, out empty).
 */
size_t cadre_request_client(cadre_request *r, char out[CADRE_PEER_SIZE]);

/* ---------------------------------------------------------------------------------------------
 * Error pages
 * ------------------------------------------------------------------------------------------- */

/**
 * Answers an error that the app produces itself (no route: 404; a method not allowed: 405, its
 * Allow header already set; a path that does not decode: 400; a handler's CADRE_ENOTFOUND: 404,
 * its CADRE_ELIMIT: 429; a failure: 500 or 503) for a client that asked for HTML — a browser's Accept names text/html —
 * on a route that is not a typed (API) route. detail is the short reason ("Not Found"). It sets
 * the response (cadre_render, cadre_respond, …) and returns the status. API routes and API
 * clients keep FastAPI's JSON shape. Responses a handler sets itself (cadre_error) are its own.
 */
typedef int (*cadre_error_page)(cadre_request *r, int status, const char *detail, void *ctx);

/** Registers the page for status (0: for every error status without its own). Returns 0,
 *  CADRE_EINVAL (a status outside 400..599, or no fn) or CADRE_ENOMEM. */
int cadre_app_on_error(cadre_app *app, int status, cadre_error_page fn, void *ctx);

/**
 * Answers an error as the app answers its own: the page registered for status (cadre_app_on_error)
 * when the client asked for HTML on a route that is not an API route, else cadre_error's JSON
 * {"detail": detail}. Headers already set (WWW-Authenticate, Retry-After) stay. For a guard or
 * a handler whose refusal a browser may see (a 403 on a page). Returns status.
 */
int cadre_app_error(cadre_request *r, int status, const char *detail);

/**
 * Development mode (`serve --dev`, or $CADRE_DEV=1): a 500 answers a debug page — the error, the
 * route, the request's method, target and headers, and the SQL statement that failed with the
 * database's message — as HTML to a browser, as JSON ("debug") to an API client. Off by default;
 * never turn it on in production (it shows what an attacker should not see).
 */
void cadre_app_dev_mode(cadre_app *app, bool on);

/** The request state key (cadre_request_get) that is set, to the app, on each request of an app
 *  in development mode: what a layer checks to do development-only work for a request. */
#define CADRE_DEV_MODE_KEY "cadre.dev"

/** The request state key (cadre_request_set) under which the module that authenticates requests
 *  (auth) puts a pointer to the user's id (const int64_t *, living as long as the request): the
 *  access log's "user". */
#define CADRE_USER_ID_KEY "cadre.user_id"

/** Whether the app is in development mode (for modules that are lenient there only). */
bool cadre_app_is_dev(const cadre_app *app);

/**
 * Under `serve --reload`, the directory of the project's sources that it watches; NULL otherwise.
 * The app then reads what was embedded from files below it from those files, and again when they
 * change (its templates: cadre_template_source.path), so such an edit needs no rebuild.
 */
const char *cadre_app_reload_source(const cadre_app *app);

/* ---------------------------------------------------------------------------------------------
 * The app's secret key, and cookies signed with it
 * ------------------------------------------------------------------------------------------- */

/**
 * Sets the app's secret key (copied; at least 32 bytes of text), which signs cookies (and, with
 * auth, sessions and tokens). Without a call, the key is read when the app starts: from
 * $CADRE_SECRET_KEY, or the file named by $CADRE_SECRET_KEY_FILE (its first line); old keys still
 * verify from $CADRE_SECRET_KEY_FALLBACKS (comma-separated), so a key can be rotated without
 * logging everyone out (Django's SECRET_KEY_FALLBACKS). In development mode without a key, one is
 * made and kept in ./.cadre-secret-key (mode 0600). Returns 0, CADRE_EINVAL (shorter than 32) or
 * CADRE_ENOMEM.
 */
int cadre_app_secret_key(cadre_app *app, const char *key);

/** Declares that the app needs a secret key (a module that signs something calls it): serve then
 *  refuses to start in production mode without one, naming the settings that give it. */
void cadre_app_require_secret(cadre_app *app);

/**
 * Sets a cookie whose value the client can read but not change: value (len bytes, any bytes),
 * the time it was signed and an HMAC-SHA256 of both under the app's key, base64url-encoded. The
 * options are cadre_set_cookie's. Returns 0, CADRE_ESTATE (the app has no secret key: logged) or
 * CADRE_EINVAL.
 */
int cadre__set_signed_cookie(cadre_request *r, const char *name, const void *value, size_t len,
                             const cadre_cookie_opts *opts);
#define cadre_set_signed_cookie(r, name, value, len, ...)                                          \
    cadre__set_signed_cookie((r), (name), (value), (len), &(cadre_cookie_opts){ __VA_ARGS__ })

/**
 * The value of a signed cookie, verified with the app's key or one of its fallbacks, and no
 * older than max_age seconds (0: any age). Returns 0 with *value (the request's arena, NUL-
 * terminated), CADRE_ENOTFOUND (no such cookie) or CADRE_EINVAL (tampered, signed with another
 * key, too old or malformed: treat it as absent).
 */
int cadre_request_signed_cookie(cadre_request *r, const char *name, int64_t max_age,
                                cadre_slice *value /* OUT */);

/* ---------------------------------------------------------------------------------------------
 * Reverse routing: the path of a named route (.name = "product-detail").
 * ------------------------------------------------------------------------------------------- */

/** One path parameter for cadre_url_for (built by the macro from a string, a slice or an
 *  integer). */
typedef struct cadre_url_arg {
    cadre_slice s; /**< the text, when not is_int */
    int64_t i;
    bool is_int;
} cadre_url_arg;

static inline cadre_url_arg cadre__url_str(const char *s)
{
    return (cadre_url_arg){ cadre_slice_cstr(s), 0, false };
}
static inline cadre_url_arg cadre__url_slice(cadre_slice s)
{
    return (cadre_url_arg){ s, 0, false };
}
static inline cadre_url_arg cadre__url_int(int64_t i)
{
    return (cadre_url_arg){ { NULL, 0 }, i, true };
}
#define CADRE__URL_ARG(x)                                                                          \
    _Generic((x), char *: cadre__url_str, const char *: cadre__url_str,                            \
             cadre_slice: cadre__url_slice, default: cadre__url_int)(x)
#define CADRE__NARGS_(a1, a2, a3, a4, a5, a6, a7, n, ...) n
#define CADRE__NARGS(...) CADRE__NARGS_(__VA_ARGS__, 7, 6, 5, 4, 3, 2, 1, 0)
#define CADRE__URL_ARGS_1(n)
#define CADRE__URL_ARGS_2(n, a) , CADRE__URL_ARG(a)
#define CADRE__URL_ARGS_3(n, a, b) , CADRE__URL_ARG(a), CADRE__URL_ARG(b)
#define CADRE__URL_ARGS_4(n, a, b, c) , CADRE__URL_ARG(a), CADRE__URL_ARG(b), CADRE__URL_ARG(c)
#define CADRE__URL_ARGS_5(n, a, b, c, d)                                                           \
    , CADRE__URL_ARG(a), CADRE__URL_ARG(b), CADRE__URL_ARG(c), CADRE__URL_ARG(d)
#define CADRE__URL_ARGS_6(n, a, b, c, d, e)                                                        \
    , CADRE__URL_ARG(a), CADRE__URL_ARG(b), CADRE__URL_ARG(c), CADRE__URL_ARG(d), CADRE__URL_ARG(e)

const char *cadre__url_for(cadre_request *r, const char *name, size_t nargs,
                           const cadre_url_arg *args);

/**
 * cadre_url_for(r, "product-detail", id): the path of the route named "product-detail" with its
 * parameters filled in the order of its pattern (up to five: strings, cadre_slices or integers),
 * each percent-encoded as a path segment. Allocated in the request's arena. NULL (and an ERROR
 * record) when no route has the name or the count of parameters is not the pattern's: Django's
 * NoReverseMatch, a programming error (cadre_redirect then answers 500).
 */
#define cadre_url_for(r, ...)                                                                      \
    cadre__url_for((r), CADRE__FIRST(__VA_ARGS__, ), (size_t)(CADRE__NARGS(__VA_ARGS__) - 1),      \
                   (const cadre_url_arg[]){ { { NULL, 0 }, 0, false } CADRE__PASTE(                \
                       CADRE__URL_ARGS_, CADRE__NARGS(__VA_ARGS__))(__VA_ARGS__) } + 1)

/**
 * Returns the number of configuration errors recorded so far (bad patterns, duplicates), after
 * writing each to the log. An app with errors does not serve.
 */
size_t cadre_app_check(cadre_app *app);

/**
 * Runs a request through the app's pipeline (middleware, router, handler; see cadre_next_call) and
 * returns the final status: 404 {"detail":"Not Found"} for no route, 405 {"detail":"Method Not
 * Allowed"} with Allow, 400 for a path that does not decode. Used by the server and the test
 * client; exposed for custom servers.
 */
int cadre_app_dispatch(void *app, cadre_request *r);

/**
 * Writes the app's OpenAPI 3.1 document (JSON) to out: every route, typed ones with their
 * parameters, request body, responses and 422, and their schemas under components. Also served at
 * GET /openapi.json and printed by the `openapi` subcommand. Returns 0 or CADRE_ETOOBIG/ENOMEM.
 */
int cadre_app_openapi(cadre_app *app, cadre_buf *out);

/**
 * Where /docs (Swagger UI) and /redoc load their scripts and styles from: NULL (the default) for
 * a CDN, or a local directory laid out as npm installs the packages (node_modules with
 * swagger-ui-dist/ and redoc/), which the app then serves under /docs/assets/ — for machines
 * without internet. The `--docs-assets DIR` option and $CADRE_DOCS_ASSETS set it too.
 * Returns 0; CADRE_ENOTFOUND (logged, naming the missing file; the CDN stays) when dir lacks one
 * of the files; CADRE_ENOMEM.
 */
int cadre_app_docs_assets(cadre_app *app, const char *dir);

/**
 * A subcommand of the app binary, run by cadre_main as `APP name ARGS…`: fn gets argv from the
 * command name on (argv[0] is name) and returns the process exit status. Modules add theirs this
 * way (cadre_models adds makemigrations, migrate, showmigrations and sqlmigrate); so can users.
 * usage is the line `APP help` shows for it, e.g. "migrate [NAME]   applies pending migrations".
 * name and usage are copied. Returns 0, CADRE_EEXIST (a command of that name exists, built-in
 * ones included) or CADRE_ENOMEM.
 */
typedef int (*cadre_command_fn)(cadre_app *app, int argc, char **argv, void *ctx);
int cadre_app_command(cadre_app *app, const char *name, const char *usage, cadre_command_fn fn,
                      void *ctx);

/**
 * Runs `serve` with a command's arguments (argv[0] the command's name; serve's options), as
 * cadre_main runs it: for a command that serves in another way. With operations_only the app
 * answers only its operational routes — /livez, /readyz and /metrics — and 404 to every other:
 * a process that does background work (the tasks module's `APP worker`) with an instance's
 * probes and metrics. Returns the process exit status.
 */
int cadre_app_serve_command(cadre_app *app, int argc, char **argv, bool operations_only);

/**
 * Registers fn to run when the app starts serving (cadre_app_serve: after the configuration
 * checks, before listening), in registration order. A negative return stops the start with that
 * error (fn logs why). Modules use it for start-up checks: cadre_models warns about migrations not
 * applied yet. Returns 0 or CADRE_ENOMEM.
 */
int cadre_app_on_start(cadre_app *app, int (*fn)(cadre_app *app, void *ctx), void *ctx);

/**
 * Registers fn to run on each worker thread of `serve` as it starts, before it serves, in
 * registration order: worker is the thread's index from 0. Where a module starts its background
 * coroutines (cadre_spawn, cadre/http.h), which then run beside the requests. Returns 0 or
 * CADRE_ENOMEM.
 */
int cadre_app_on_worker_start(cadre_app *app, void (*fn)(cadre_app *app, int worker, void *ctx),
                              void *ctx);

/**
 * A function told of every response once it is queued (h2o's logger): the request (its route
 * pattern in r->route, its response readable with cadre_response_status and friends), the status,
 * the response's length in bytes (head and body) and the microseconds from the request's head to
 * the queued response. It runs on the worker after the handler: it must not block or suspend.
 */
typedef void (*cadre_response_hook)(cadre_request *r, int status, uint64_t bytes,
                                    uint64_t elapsed_us, void *ctx);

/** Registers a response hook (access logs, metrics), run in registration order after the app's
 *  own access log (serve --access-log). Returns 0 or CADRE_ENOMEM. */
int cadre_app_on_response(cadre_app *app, cadre_response_hook fn, void *ctx);

/* ---------------------------------------------------------------------------------------------
 * Health: /livez and /readyz, for load balancers and orchestrators
 * ------------------------------------------------------------------------------------------- */

/**
 * A readiness check: 0 when its part is ready, else a negative CADRE_E* with *why (static, or
 * the request's arena) saying what is not. It runs on the worker for each probe of /readyz (a
 * load balancer's, every few seconds): keep it cheap, and bounded in time.
 */
typedef int (*cadre_ready_fn)(cadre_request *r, const char **why, void *ctx);

/**
 * Adds a readiness check named name (copied): /readyz answers 503 while it fails. cadre_models
 * adds "database" (the database answers) and "migrations" (every migration of the app's modules
 * is applied). Returns 0, CADRE_EEXIST (the name is taken) or CADRE_ENOMEM.
 */
int cadre_app_ready_check(cadre_app *app, const char *name, cadre_ready_fn fn, void *ctx);

/** Where the health routes are; each a path, "" for none, NULL to keep the default. */
typedef struct cadre_health_opts {
    const char *livez;  /**< "/livez": 200 while the process answers */
    const char *readyz; /**< "/readyz": 200 when every readiness check passes, else 503 */
} cadre_health_opts;

/**
 * Every app has GET /livez and GET /readyz (Kubernetes' names), open to anyone whatever the
 * app's auth, out of OpenAPI: "ok" as text/plain, or with ?verbose each check as
 * application/health+json ({"status":"pass","checks":{"database":[{"status":"pass"}]}}, the
 * IETF draft's shape), never cached. While the server stops (SIGTERM), /readyz answers 503
 * first. cadre_app_health(app, .readyz = "/-/ready") moves one; "" removes it. Returns 0 or a
 * route's configuration error.
 */
int cadre__app_health(cadre_app *app, const cadre_health_opts *opts);
#define cadre_app_health(app, ...) cadre__app_health((app), &(cadre_health_opts){ __VA_ARGS__ })

/* ---------------------------------------------------------------------------------------------
 * Metrics: GET /metrics in Prometheus' text format
 * ------------------------------------------------------------------------------------------- */

/** A counter or a histogram of the app's registry (every worker thread adds to the same one). */
typedef struct cadre_metric cadre_metric;

/** Label values for cadre_counter_add and cadre_histogram_observe, in the order of the metric's
 *  label names: CADRE_LABELS("GET", "/items/{id}"). */
#define CADRE_LABELS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/**
 * A counter named name (Prometheus' rules: [a-zA-Z_:][a-zA-Z0-9_:]*, "_total" at the end by
 * convention) with its help text and its label names, comma-separated ("method,route", or NULL
 * for none); everything copied. Returns it, or NULL (a configuration error is recorded: a bad or
 * taken name). Kept as long as the app; keep label values few (a route pattern, never a raw
 * path): each distinct set is a series, and a metric holds at most 4096 (more are dropped, and
 * said once in the log).
 */
cadre_metric *cadre_counter(cadre_app *app, const char *name, const char *help,
                            const char *labels);

/**
 * A histogram, as cadre_counter, with its buckets' upper bounds, ascending (NULL: OpenTelemetry's
 * for durations in seconds, 0.005 to 10). Up to 32 buckets.
 */
cadre_metric *cadre_histogram(cadre_app *app, const char *name, const char *help,
                              const char *labels, const double *buckets, size_t nbuckets);

/** Adds n to the counter's series of those label values (NULL: none). Any thread; lock-free once
 *  the series exists. */
void cadre_counter_add(cadre_metric *m, uint64_t n, const char *const *labels);

/** Counts v into the histogram's series of those label values. Any thread. */
void cadre_histogram_observe(cadre_metric *m, double v, const char *const *labels);

/** A gauge read when /metrics is asked: fn's value (called on the worker that answers it, so
 *  cheap and thread-safe), no labels; name and help copied. Returns 0, CADRE_EINVAL (no fn, or a
 *  name outside Prometheus' rules), CADRE_EEXIST (the name is taken) or CADRE_ENOMEM. */
int cadre_gauge(cadre_app *app, const char *name, const char *help, double (*fn)(void *ctx),
                void *ctx);

/** A counter read when /metrics is asked, as cadre_gauge: for a count kept elsewhere that only
 *  grows (fn's value, typed counter; name with "_total" by convention). */
int cadre_counter_fn(cadre_app *app, const char *name, const char *help, double (*fn)(void *ctx),
                     void *ctx);

/**
 * Where /metrics is and who may read it: a client on the machine itself (its address, after the
 * trusted proxies, on loopback — and not through a proxy the app does not trust), a client in
 * allow (comma-separated addresses or networks, "10.0.0.0/8, 2001:db8::/32"), or one that sends
 * Authorization: Bearer token. Others get 403: metrics tell an attacker much. The defaults come
 * from $CADRE_METRICS_ALLOW and $CADRE_METRICS_TOKEN (or the file in $CADRE_METRICS_TOKEN_FILE).
 * NULL leaves a member as it is; the strings are copied. Returns 0, or the route's configuration
 * error (a path taken by another route).
 */
typedef struct cadre_metrics_opts {
    const char *path;  /**< "/metrics"; "" for none (the metrics are still kept) */
    const char *allow; /**< networks besides loopback, or NULL */
    const char *token; /**< a bearer token that may read them, or NULL */
} cadre_metrics_opts;
int cadre__app_metrics(cadre_app *app, const cadre_metrics_opts *opts);
#define cadre_app_metrics(app, ...) cadre__app_metrics((app), &(cadre_metrics_opts){ __VA_ARGS__ })

/**
 * Attaches a module's state to the app under key ("cadre.templates"): found again with
 * cadre_app_attachment, freed with free_fn (may be NULL) when the app is freed or the key is
 * attached again. Returns 0 or CADRE_ENOMEM (free_fn is then called on ptr).
 */
int cadre_app_attach(cadre_app *app, const char *key, void *ptr, void (*free_fn)(void *));

/** Hands p (malloc'd) to the app, which frees it in cadre_app_free: for what a module allocates
 *  at set-up and needs as long as the app lives. Returns p, or NULL (p freed) when memory runs
 *  out. NULL p returns NULL. */
void *cadre_app_own(cadre_app *app, void *p);

/** The version the OpenAPI document gives the API (info.version; "0.1.0" until set). Copied.
 *  Returns 0 or CADRE_ENOMEM. */
int cadre_app_version(cadre_app *app, const char *version);

/** What is attached under key, or NULL. */
void *cadre_app_attachment(const cadre_app *app, const char *key);

/**
 * Records a configuration error found while the app is set up (a module's bad declaration): the
 * app then refuses to start, and cadre_app_check lists it as "file:line: message". For modules
 * built on the app (the orm, templates, auth) as for users' own. file may be NULL.
 */
void cadre_app_config_error(cadre_app *app, const char *file, int line, const char *fmt, ...)
    CADRE_PRINTF(4, 5);

/* ---------------------------------------------------------------------------------------------
 * Modules: a label, the modules it builds on, and what the layers above attach to it (its
 * models and migrations: cadre/migrate.h; its templates: cadre/template.h). auth and admin are
 * modules; so is the user's app (cadre_app_own_module: the one cadre_models(app, …) uses).
 * ------------------------------------------------------------------------------------------- */

typedef struct cadre_module cadre_module;

typedef struct cadre_module_opts {
    const char *label;           /**< 1 to 63 of [a-z0-9_-], starting with a letter: "auth" */
    const char *const *depends;  /**< CADRE_DEPENDS("auth", …): the modules this one builds on */
} cadre_module_opts;

/** A list of module labels for .depends. */
#define CADRE_DEPENDS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/**
 * Adds a module to app: cadre_module_add(app, "shop", .depends = CADRE_DEPENDS("auth")).
 * The modules it depends on may be added before or after it; cadre_app_check refuses a missing
 * one or a cycle. Everything is copied. Returns the module (owned by the app), or NULL for a bad
 * or duplicate label (recorded as a configuration error; the functions taking a module accept
 * NULL and do nothing then).
 */
cadre_module *cadre__module_add(cadre_app *app, const cadre_module_opts *opts, const char *file,
                                int line);
#define cadre_module_add(app, label_, ...)                                                         \
    cadre__module_add((app), &(cadre_module_opts){ .label = (label_), __VA_ARGS__ }, __FILE__,    \
                      __LINE__)

/** The app's own module, labelled with the app's name (made on first use). NULL only when
 *  memory runs out. */
cadre_module *cadre_app_own_module(cadre_app *app);

/** The module labelled label, or NULL. */
cadre_module *cadre_app_module(cadre_app *app, const char *label);

/**
 * The app's modules in dependency order: a module comes after those it depends on (otherwise in
 * the order they were added), the app's own module last unless another depends on it. i from 0;
 * NULL past the end. While the dependencies cannot be resolved (cadre_app_check says why), the
 * order is the order of addition.
 */
cadre_module *cadre_app_module_at(cadre_app *app, size_t i);

const char *cadre_module_label(const cadre_module *m);
cadre_app *cadre_module_app(const cadre_module *m);
/** The i-th label m depends on, or NULL past the end. */
const char *cadre_module_depends(const cadre_module *m, size_t i);
/** Whether m depends on the module labelled label, directly or through others. */
bool cadre_module_needs(const cadre_module *m, const char *label);

/** As cadre_app_attach, for state a layer keeps per module (its models, its templates). */
int cadre_module_attach(cadre_module *m, const char *key, void *ptr, void (*free_fn)(void *));
void *cadre_module_attachment(const cadre_module *m, const char *key);

/** The module of x, a cadre_app * (its own module) or a cadre_module *: for APIs that take
 *  either, as cadre_models does. */
static inline cadre_module *cadre__module_self(cadre_module *m)
{
    return m;
}
#define cadre_module_of(x)                                                                         \
    _Generic((x), cadre_app *: cadre_app_own_module, cadre_module *: cadre__module_self)(x)

/** Serves the app with the given configuration until SIGTERM/SIGINT (see cadre_server_run). */
int cadre_app_serve(cadre_app *app, const cadre_server_config *config);

/**
 * The app binary's command line, as manage.py is Django's:
 *   serve [--host H] [--port P] [--workers N] [--log-level L] [--log-format plain|json]
 *         [--access-log] [--header-timeout MS] [--body-timeout MS] [--keepalive-timeout MS]
 *         [--write-timeout MS] [--shutdown-timeout MS] [--max-body BYTES] [--max-head BYTES]
 *         [--max-target BYTES]                             (the default subcommand)
 *   routes                                                 lists the routes
 *   openapi                                                prints the OpenAPI document
 *   NAME ARGS…                                             a command from cadre_app_command
 * The port defaults to $PORT when set, else 8000; --port 0 picks a free port. Once every worker
 * listens, an INFO record "listening on http://HOST:PORT (N workers)" is logged.
 * Returns the process exit status; frees app.
 */
int cadre_main(cadre_app *app, int argc, char **argv);

/* ---------------------------------------------------------------------------------------------
 * Test client: a request through the whole stack (parser, router, handler, response writer)
 * without a socket, for users' own tests.
 * ------------------------------------------------------------------------------------------- */

typedef struct cadre_test_response {
    int status;            /**< e.g. 200 */
    cadre_header *headers; /**< response headers, in order */
    size_t num_headers;
    const char *body; /**< NUL-terminated for convenience; body_len excludes the NUL; a chunked
                           (streamed) body is given joined */
    size_t body_len;
    /* private */
    char *raw;
} cadre_test_response;

/**
 * Sends one request through the app. headers is NULL or a block of "Name: value\r\n" lines;
 * Host and Content-Length (when body is not NULL) are added. Fills *out, which the caller frees
 * with cadre_test_response_free. Returns 0, or a negative CADRE_E* if no response came.
 */
int cadre_test_request(cadre_app *app, const char *method, const char *target, const char *headers,
                       const void *body, size_t body_len, cadre_test_response *out /* OUT */);

/**
 * Feeds raw bytes (one or more pipelined requests) to the app as a connection would get them and
 * returns the first response. The rest of the output is in out->raw. Returns 0 or CADRE_E*.
 */
int cadre_test_raw(cadre_app *app, const char *raw, size_t len, cadre_test_response *out /* OUT */);

/** The first response header named name (case-insensitive), NUL-terminated, or NULL. */
const char *cadre_test_header(const cadre_test_response *res, const char *name);

/** Frees what cadre_test_request / cadre_test_raw put in res. */
void cadre_test_response_free(cadre_test_response *res);

#ifdef __cplusplus
}
#endif
#endif
