/**
 * cadre/app.h — an application: routes, the command line (cadre_main) and the in-process test
 * client.
 */
#ifndef CADRE_APP_H
#define CADRE_APP_H

#include "base.h"
#include "http.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cadre_app cadre_app;

/** A handler: an ordinary function that builds the response and returns its status. */
typedef int (*cadre_handler)(cadre_request *r);

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
int cadre__route(cadre_app *app, const char *method, const char *path, cadre_handler h,
                 const char *file, int line);

#define cadre_route(app, method, path, h) cadre__route((app), (method), (path), (h), __FILE__, __LINE__)
#define cadre_get(app, path, h) cadre_route((app), "GET", (path), (h))
#define cadre_post(app, path, h) cadre_route((app), "POST", (path), (h))
#define cadre_put(app, path, h) cadre_route((app), "PUT", (path), (h))
#define cadre_patch(app, path, h) cadre_route((app), "PATCH", (path), (h))
#define cadre_delete(app, path, h) cadre_route((app), "DELETE", (path), (h))

/**
 * Returns the number of configuration errors recorded so far (bad patterns, duplicates), after
 * writing each to the log. An app with errors does not serve.
 */
size_t cadre_app_check(cadre_app *app);

/**
 * Routes a request and runs its handler: 404 {"detail":"Not Found"}, 405 {"detail":"Method Not
 * Allowed"} with Allow, 400 for a path that does not decode. Used by the server and the test
 * client; exposed for custom servers.
 */
int cadre_app_dispatch(void *app, cadre_request *r);

/** Serves the app with the given configuration until SIGTERM/SIGINT (see cadre_server_run). */
int cadre_app_serve(cadre_app *app, const cadre_server_config *config);

/**
 * The app binary's command line, as manage.py is Django's:
 *   serve [--host H] [--port P] [--workers N] [--log-level L] [--log-format plain|json]
 *         [--access-log] [--header-timeout MS] [--body-timeout MS] [--keepalive-timeout MS]
 *         [--write-timeout MS] [--shutdown-timeout MS] [--max-body BYTES] [--max-head BYTES]
 *         [--max-target BYTES]                             (the default subcommand)
 *   routes                                                 lists the routes
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
    const char *body; /**< NUL-terminated for convenience; body_len excludes the NUL */
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
