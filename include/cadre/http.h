/**
 * cadre/http.h — the HTTP/1.1 server core: a strict RFC 9112 parser, the request a handler sees,
 * the response it builds, and the multi-worker event-loop server.
 *
 * The parser allocates nothing: every slice it returns points into the caller's buffer.
 */
#ifndef CADRE_HTTP_H
#define CADRE_HTTP_H

#include "base.h"

#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Parser
 * ------------------------------------------------------------------------------------------- */

/** Limits applied while parsing. cadre_http_limits_default() gives the documented defaults. */
typedef struct cadre_http_limits {
    size_t max_head;    /**< request line + header section, bytes (default 16 KiB) → 431 */
    size_t max_target;  /**< request target, bytes (default 8 KiB) → 414 */
    size_t max_body;    /**< body, bytes, declared or chunked (default 1 MiB) → 413 */
    size_t max_headers; /**< number of header fields (default 100) → 431 */
} cadre_http_limits;

/** The defaults: 16 KiB head, 8 KiB target, 1 MiB body, 100 header fields. */
cadre_http_limits cadre_http_limits_default(void);

typedef struct cadre_header {
    cadre_slice name;  /**< as sent (case preserved); a valid token */
    cadre_slice value; /**< without leading and trailing whitespace */
} cadre_header;

/** Why a request was refused: the status to answer and a short, static reason. */
typedef struct cadre_http_error {
    int status;         /**< 400, 413, 414, 417, 431, 501 or 505 */
    const char *reason; /**< e.g. "both Content-Length and Transfer-Encoding"; static storage */
} cadre_http_error;

/** A parsed request head. Every slice points into the buffer given to cadre_http_parse_head. */
typedef struct cadre_http_head {
    cadre_slice method;  /**< a token, case-sensitive ("GET") */
    cadre_slice target;  /**< the request target exactly as sent */
    cadre_slice path;    /**< path part of the target, still percent-encoded ("*" for OPTIONS *) */
    cadre_slice query;   /**< after '?', still encoded; absent (ptr NULL) when there is no '?' */
    cadre_slice host;    /**< Host header, or the authority of an absolute-form target */
    int version;         /**< 10 for HTTP/1.0, 11 for HTTP/1.1 (and 1.x, x > 1) */
    cadre_header *headers; /**< the caller's array, filled in order */
    size_t num_headers;
    int64_t content_length; /**< -1 when there is no Content-Length */
    bool chunked;           /**< Transfer-Encoding ends in chunked */
    bool keep_alive;        /**< the connection may stay open after this request */
    bool expect_continue;   /**< "Expect: 100-continue" */
} cadre_http_head;

enum {
    CADRE_HTTP_PARTIAL = -2, /**< need more bytes */
    CADRE_HTTP_ERROR = -1,   /**< refused: see the cadre_http_error */
};

/**
 * Parses a request line and header section from buf[0..len).
 *
 * prev_len is how many bytes the previous call on the same request saw (0 the first time), so that
 * a request arriving in pieces is scanned once. headers/max_headers is the caller's array; more
 * fields than that (or than lim->max_headers) is a 431.
 *
 * Returns the length of the head (> 0, the body starts there), CADRE_HTTP_PARTIAL, or
 * CADRE_HTTP_ERROR with *err filled. Refusals follow RFC 9112 strictly: bare CR or LF, obs-fold,
 * whitespace before a colon, NUL or control bytes, both Content-Length and Transfer-Encoding,
 * duplicate or malformed Content-Length, missing or repeated Host in HTTP/1.1 → 400; a transfer
 * coding other than a final chunked → 501; unknown expectation → 417; versions other than 1.x →
 * 505; limits → 414/431 (413 is the caller's to decide, from content_length).
 */
int cadre_http_parse_head(const char *buf, size_t len, size_t prev_len, const cadre_http_limits *lim,
                          cadre_http_head *head /* OUT */, cadre_header *headers, size_t max_headers,
                          cadre_http_error *err /* OUT */);

/** Incremental state of a chunked body decoder. Zero it (or call _init) before the first call. */
typedef struct cadre_http_chunked {
    /* private */
    int state;
    uint64_t remaining; /* bytes left in the current chunk */
    size_t total;       /* decoded bytes so far */
    size_t line;        /* bytes in the current size/trailer line (bounded) */
    size_t trailers;    /* bytes of trailer section so far */
} cadre_http_chunked;

void cadre_http_chunked_init(cadre_http_chunked *c);

/**
 * Decodes a chunked body in place. buf[*src..len) is undecoded input; decoded bytes are moved
 * down to buf[*dst..] (dst never passes src). Both offsets advance. Chunk extensions are
 * validated and ignored; trailer fields are validated and discarded.
 *
 * Returns 0 when the last chunk and trailers have been read (*src is then the end of the message
 * and *dst the end of the decoded body), CADRE_HTTP_PARTIAL when more input is needed, or
 * CADRE_HTTP_ERROR with *err (400 malformed or overflowing size, 413 body over max_body, 431
 * trailer section over 16 KiB).
 */
int cadre_http_chunked_decode(cadre_http_chunked *c, char *buf, size_t len, size_t *src, size_t *dst,
                              size_t max_body, cadre_http_error *err /* OUT */);

/** The next element of a header's comma-separated list value (RFC 9110 section 5.6.1:
 *  "gzip, chunked", "keep-alive, Upgrade") into *item, without the spaces and tabs around it;
 *  *rest (start with the whole value) moves past it. Empty elements are skipped. Returns false
 *  at the end. Allocates nothing: item points into the value. */
bool cadre_http_list_next(cadre_slice *rest, cadre_slice *item);

/** Writes t as an HTTP date, IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", RFC 9110 5.6.7), into
 *  out whatever the locale; returns its length (29). */
size_t cadre_http_date(time_t t, char out[32]);

/** The standard reason phrase for a status ("Not Found"), or "Unknown" for unlisted codes. */
const char *cadre_http_status_text(int status);

/**
 * Percent-decodes src into dst (which may be src itself: decoding only shrinks). With plus_space,
 * '+' becomes ' ' (query strings and forms). Returns the decoded length, or CADRE_EPARSE for a
 * '%' not followed by two hex digits.
 */
long cadre_url_decode(char *dst, const char *src, size_t len, bool plus_space);

/** Appends s[0..len) to out percent-encoded for a query value or a path segment: every byte but
 *  RFC 3986's unreserved ones (letters, digits, - . _ ~) as %XX. Returns 0 or CADRE_ENOMEM. */
int cadre_url_encode(cadre_buf *out, const char *s, size_t len);

/* ---------------------------------------------------------------------------------------------
 * Requests, as a handler sees them
 * ------------------------------------------------------------------------------------------- */

/** A path parameter captured by the router ("{id}"), percent-decoded. */
typedef struct cadre_param {
    const char *name;  /**< from the route pattern, NUL-terminated */
    cadre_slice value; /**< decoded; in the request arena */
} cadre_param;

typedef struct cadre_request cadre_request;

/**
 * A request. Public fields are read-only; all their memory belongs to the request and lives until
 * its response has been sent. Copy anything that must outlive it.
 */
struct cadre_request {
    cadre_http_head head; /**< method, target, path, query, headers, version… */
    cadre_slice body;     /**< the whole body (chunked already decoded); empty when none */
    cadre_arena *arena;   /**< the request's arena: use cadre_alloc() */
    cadre_param *params;  /**< path parameters, set by the router */
    size_t num_params;
    void *ctx;  /**< the dispatch context (for an app: its cadre_app, see cadre_request_app); a
                     request's own state goes in cadre_request_set */
    const void *route_data; /**< the matched route's data (cadre_route_spec.data, or a plain
                                 route's .data option), or NULL */
    /** The matched route's pattern ("/items/{id}"), set by the app's router; NULL before routing
     *  or when no route matched. For logs and metrics labels: never the raw path. */
    const char *route;
    /** The request's id: the client's X-Request-ID when it is 20 to 200 of [A-Za-z0-9+/=-] (a
     *  proxy's, to follow a request across services), else 32 hex digits made here. Sent back
     *  as X-Request-ID, and in every log record written while the request runs. NULL when the
     *  server's request_ids is off. */
    const char *request_id;
    /** The state of the body sink that took this request's body as it arrived
     *  (cadre_request_stream_body; body is then empty), or NULL. Dropped after the response. */
    void *body_state;

    /* private: the response being built, the connection this request came from, its state
     * (cadre_request_set) and its cleanups (cadre_request_defer), both in the arena */
    struct cadre__response_state *res;
    struct cadre__conn *conn;
    struct cadre__state *state;
    struct cadre__defer *defers;
    bool background; /* a background coroutine's (cadre_spawn): no connection */
};

/** Room for a client address in text, its NUL included (INET6_ADDRSTRLEN). */
#define CADRE_PEER_SIZE 46

/**
 * The address of the client at the other end of r's connection ("127.0.0.1", "2001:db8::1"; an
 * IPv4 client of a dual-stack socket in its dotted form) into out; the proxy's when there is one
 * (trusting X-Forwarded-For is the app's choice). Returns its length, or 0 with out empty when
 * there is no socket (the test client) or it cannot be read.
 */
size_t cadre_request_peer(const cadre_request *r, char out[CADRE_PEER_SIZE]);

/** The first header named name (ASCII case-insensitive); absent slice (ptr NULL) if none. */
cadre_slice cadre_request_header(const cadre_request *r, const char *name);

/** The media type of a Content-Type value: what comes before any ';', without the spaces around
 *  it ("text/html" of "text/html; charset=utf-8"); empty when there is none. Compare it with
 *  cadre_slice_ieq_cstr (media types are case-insensitive). */
cadre_slice cadre_media_type(cadre_slice content_type);

/** The decoded path parameter name; absent slice if the route has no such parameter. */
cadre_slice cadre_request_param(const cadre_request *r, const char *name);

/**
 * The query parameter named key, decoded ('+' is a space); when it appears several times, the
 * last one (as Starlette's and Django's query dicts do). Returns true and sets *value (in the
 * request arena, NUL-terminated) if present, even if empty; false otherwise.
 */
bool cadre_request_query(cadre_request *r, const char *key, cadre_slice *value /* OUT */);

/**
 * Takes a request's body while it arrives instead of the whole body being buffered first (a large
 * upload goes to disk as it comes): see cadre_request_stream_body. feed gets the body's bytes in
 * order (chunked coding already decoded), in pieces of any size; a negative CADRE_E* refuses the
 * body and closes the connection: CADRE_ETOOBIG 413, CADRE_EPARSE 400, CADRE_ENOSPC 503, others
 * 500, with reason(state) as the detail of a 413 or 400 (may return NULL). drop(state) is called
 * once, when the request is done (answered, its connection lost, or abandoned at shutdown).
 * max_body replaces the server's body limit for this request when larger. feed runs on the worker
 * thread, outside any coroutine, so it must not block for long (a file write is the most it
 * should do). The body timeout still applies, counted from the last bytes received.
 */
typedef struct cadre_body_sink {
    void *state;
    int (*feed)(void *state, const char *data, size_t len);
    const char *(*reason)(void *state);
    void (*drop)(void *state);
    uint64_t max_body;
} cadre_body_sink;

/**
 * The answer to a body that could not be taken, from rc (a sink's feed, or a body decoder such as
 * the multipart one): CADRE_ETOOBIG 413 and CADRE_EPARSE 400, with reason as the detail (a
 * default when NULL); CADRE_ENOSPC 503 (no space left to store it); others 500 (reason, which may
 * name a path, is not sent: the sink or decoder logs it). Returns the status; *detail is a static
 * string or reason.
 */
int cadre_body_refusal(int rc, const char *reason, const char **detail);

/**
 * Makes r->body hold the request's whole body (chunked coding decoded), reading what has not
 * arrived yet: the request is suspended meanwhile, its worker serves others. A request is
 * dispatched when its head is read if its body is still on the way
 * (cadre_server_config.body_on_demand), so that a guard can refuse it before it is sent; this
 * is when `Expect: 100-continue` is answered. Returns 0 at once when the body is already there
 * (or there is none), and for every later call. Otherwise the body cannot be had: the response
 * is set (413 larger than the limit, 400 malformed chunked coding or the connection closed
 * before its end, 408 not received in time), the connection closes after it, and the status is
 * returned: the handler returns it as is. A request answered without its body being read closes
 * its connection after the response (what followed it is discarded).
 */
int cadre_request_read_body(cadre_request *r);

/**
 * As cadre_request_read_body, but the body goes to sink as it arrives instead of being buffered
 * (a multipart upload written to disk piece by piece); a body that had arrived whole with its
 * head is fed at once. The sink is the request's from this call whatever happens (dropped when
 * the request is done); on success r->body_state is sink->state and r->body is empty. Returns
 * 0, or the status of the answer set, as cadre_request_read_body (the sink's failures map as
 * cadre_body_sink says).
 */
int cadre_request_stream_body(cadre_request *r, const cadre_body_sink *sink);

/** Allocates from the request arena (freed after the response; aborts on out-of-memory). */
void *cadre_alloc(cadre_request *r, size_t size);

/**
 * Reads an Authorization (or Proxy-Authorization) header value as RFC 9110 section 11.4's
 * credentials in their token68 form: an auth-scheme ("Bearer", compared case-insensitively by
 * whoever reads it), then one or more spaces and a token68 (letters, digits, "-._~+/", then any
 * "="), or the scheme alone. Spaces and tabs around the whole are ignored. Fills *scheme and
 * *token (slices into value; *token empty for a scheme alone) and returns true, or returns false
 * for anything else (auth-param lists, a tab or a comma inside, two tokens). Allocates nothing.
 */
bool cadre_http_credentials(cadre_slice value, cadre_slice *scheme /* OUT */,
                            cadre_slice *token /* OUT */);

/* ---------------------------------------------------------------------------------------------
 * Cookies (RFC 6265)
 * ------------------------------------------------------------------------------------------- */

/**
 * Steps through the pairs of a Cookie header value ("a=1; b=2"), as browsers send them (RFC 6265
 * section 5.4) and as servers read them leniently: pairs separated by ';', spaces and tabs around
 * names and values ignored, a value in double quotes unquoted, a pair without '=' or with an empty
 * name skipped. Start with *pos = 0; each call fills *name and *value (slices into header) and
 * returns true, or returns false at the end. Allocates nothing.
 */
bool cadre_cookie_next(cadre_slice header, size_t *pos, cadre_slice *name, cadre_slice *value);

/** The value of the cookie named name in the request's Cookie header(s) (the first when it comes
 *  several times, as browsers send the most specific path first), or the absent slice. */
cadre_slice cadre_request_cookie(const cadre_request *r, const char *name);

typedef struct cadre_cookie_opts {
    const char *path;      /**< Path (default "/") */
    const char *domain;    /**< Domain (default none: this host only) */
    int64_t max_age;       /**< seconds, with a matching Expires; 0: a session cookie; < 0: delete */
    bool secure;           /**< only over HTTPS */
    bool http_only;        /**< out of reach of scripts */
    const char *same_site; /**< "Lax" (default), "Strict" or "None" (which needs secure) */
} cadre_cookie_opts;

/**
 * Adds a Set-Cookie header: name=value with the options' attributes. name must be a token and
 * value cookie-octets (RFC 6265 section 4.1.1: no space, '"', ',', ';' or '\'; encode anything
 * else, base64url for instance); path and domain must hold no ';' or control character;
 * SameSite=None needs secure (browsers drop it otherwise). Returns 0, or CADRE_EINVAL when
 * something is not allowed (nothing is added: no header injection).
 */
int cadre__set_cookie(cadre_request *r, const char *name, const char *value,
                      const cadre_cookie_opts *opts);

/** cadre_set_cookie(r, "theme", "dark", .max_age = 86400 * 365, .http_only = true) */
#define cadre_set_cookie(r, name, value, ...)                                                      \
    cadre__set_cookie((r), (name), (value), &(cadre_cookie_opts){ __VA_ARGS__ })

/**
 * Per-request state under a key (a middleware's session, the current user, a transaction): what
 * the next layers read with cadre_request_get. key is compared as a string and must live as long
 * as the request (a literal: "auth.user"); ptr is the caller's (arena memory, or something a
 * deferred cleanup frees). Setting a key again replaces its value. Returns 0 (the entry is in the
 * arena, so it cannot fail short of aborting).
 */
int cadre_request_set(cadre_request *r, const char *key, void *ptr);

/** The value set under key for this request, or NULL. */
void *cadre_request_get(const cadre_request *r, const char *key);

/**
 * Registers fn(arg) to run when the request is over: after its response is written (or the
 * connection is lost, or the request is abandoned at shutdown), before its arena is freed; in the
 * reverse order of registration (lwan's coro_defer). For what the arena does not free: a file, a
 * database cursor, a lock. fn runs on the worker, outside the request's coroutine: it must not
 * suspend.
 */
void cadre_request_defer(cadre_request *r, void (*fn)(void *arg), void *arg);

/* ---------------------------------------------------------------------------------------------
 * Responses. A handler sets a response with these functions and returns its status, or returns
 * a negative CADRE_E*, which an app maps to an answer (cadre/app.h: 404, 503 or 500). A dispatch
 * function of one's own (cadre_server_run) that returns a negative code answers 500.
 * ------------------------------------------------------------------------------------------- */

/**
 * Sets the response: status, Content-Type (NULL for none) and body. Both are copied into the
 * request arena, so they may live on the handler's stack. Returns status, so a handler can
 * `return cadre_respond(...)`. A later call replaces an earlier one.
 */
int cadre_respond(cadre_request *r, int status, const char *content_type, const void *body, size_t len);

/**
 * As cadre_respond, without copying: body and content_type must stay valid until the request
 * ends (string literals, static data, or memory from the request arena).
 */
int cadre_respond_ref(cadre_request *r, int status, const char *content_type, const void *body,
                      size_t len);

/**
 * A response whose body is len bytes of the open file fd from offset, sent with sendfile(2)
 * straight from the page cache (cadre/static.h builds on this). content_type is copied (NULL for
 * none). Content-Length is len; a HEAD request, a 304 or a 204 sends no body, as usual.
 *
 * Ownership: the response takes fd whatever happens — it is closed once the body has been sent,
 * when the connection dies first, when a later cadre_respond* replaces this response, or right
 * away if the response carries no body. The caller must not use or close fd afterwards.
 *
 * The file should be a regular file at least offset + len bytes long: if it shrinks before the
 * body is out, the connection is closed (the promised length cannot be kept). Returns status, or
 * CADRE_EINVAL for a negative fd or offset (the response is left unset; a valid fd is closed).
 */
int cadre_respond_file(cadre_request *r, int status, const char *content_type, int fd, off_t offset,
                       size_t len);

/**
 * Writes the next part of a streamed body (cadre_respond_stream): appends it to out (empty at
 * each call; a part of any size, best a few KiB to a few hundred) and returns 1 when more is to
 * come, 0 when the body is complete, or a negative CADRE_E* to abort. It runs on the request's
 * coroutine, so it may suspend (database queries, cadre_wait_fd) like a handler.
 */
typedef int (*cadre_body_writer)(cadre_request *r, cadre_buf *out, void *ctx);

/**
 * A response whose body is made while it is sent, of a length not known in advance (a CSV export
 * of a million rows, a report): once the handler and the app's middlewares have returned (its
 * headers are then final: set them before), the server sends the head with Transfer-Encoding:
 * chunked — to an HTTP/1.0 client, a body that ends when the connection closes — then calls
 * write(r, out, ctx) for each part and sends it. While the client is slower than the writer, the
 * writer waits (more than 64 KiB queued), so a body of any size takes the memory of one part;
 * a client that stops reading is dropped by the write timeout. When write fails (or the
 * connection breaks) the connection is closed without the last chunk: the client sees a
 * truncated body, never one that looks complete. A HEAD request, a 204 or a 304 sends no body
 * and write is not called. ctx must live until the request ends (cadre_request_defer can free
 * it). content_type is copied. Returns status; a later cadre_respond* replaces the stream.
 */
int cadre_respond_stream(cadre_request *r, int status, const char *content_type,
                         cadre_body_writer write, void *ctx);

/** A text/plain; charset=utf-8 response with a NUL-terminated body (copied). Returns status. */
int cadre_text(cadre_request *r, int status, const char *text);

/**
 * An application/json response whose body is already-serialized JSON text (copied). Returns
 * status. The typed JSON API comes with the schema module; this is for hand-written JSON.
 */
int cadre_json_text(cadre_request *r, int status, const char *json, size_t len);

/**
 * An error answer in the FastAPI shape {"detail":"<detail>"} (detail is JSON-escaped).
 * Returns status.
 */
int cadre_error(cadre_request *r, int status, const char *detail);

/**
 * Sets a response header (both strings copied), replacing the headers of that name set so far.
 * Content-Length, Date, Connection and Transfer-Encoding are the server's and refused. Returns 0,
 * or CADRE_EINVAL when name is not a token or value holds a control character other than a tab
 * (CR and LF above all: no header injection).
 */
int cadre_set_header(cadre_request *r, const char *name, const char *value);

/** As cadre_set_header, but adds one more header of that name (Vary, Link, Set-Cookie — which
 *  cadre_set_cookie writes this way). */
int cadre_add_header(cadre_request *r, const char *name, const char *value);

/**
 * A redirect: status (301, 302, 303, 307 or 308) with Location: location (copied) and no body.
 * Returns status. A NULL location (cadre_url_for found no route) or another status answers 500
 * and logs why.
 */
int cadre_redirect(cadre_request *r, int status, const char *location);

/** True once the handler has set a response (cadre_respond, cadre_text, cadre_error, …). */
bool cadre_responded(const cadre_request *r);

/** Drops the response set so far: status, headers, body (a file body is closed). */
void cadre_response_clear(cadre_request *r);

/** The response's status so far, 0 while none is set (what a middleware sees after the rest of
 *  the pipeline has run). */
int cadre_response_status(const cadre_request *r);

/** A header of the response so far (ASCII case-insensitive; Content-Type included), or the absent
 *  slice. Valid until the header is replaced or the request ends. */
cadre_slice cadre_response_header(const cadre_request *r, const char *name);

/** The length of the response body so far (a file body's too). */
uint64_t cadre_response_length(const cadre_request *r);

/** Asks the server to close the connection after this response. */
void cadre_close_after(cadre_request *r);

/* ---------------------------------------------------------------------------------------------
 * Suspending a request: the request's coroutine waits, its worker goes on serving others.
 * ------------------------------------------------------------------------------------------- */

enum { CADRE_WAIT_READ = 1, CADRE_WAIT_WRITE = 2 };

/**
 * Suspends the calling request until fd is readable (CADRE_WAIT_READ) and/or writable
 * (CADRE_WAIT_WRITE), or timeout_ms passes (-1: no timeout). fd should be non-blocking.
 * Returns 0 when ready, CADRE_ETIMEDOUT, or CADRE_ESTATE when not called from a request running
 * on a server worker or the test client.
 */
int cadre_wait_fd(cadre_request *r, int fd, int events, int timeout_ms);

/** Suspends the calling request for ms milliseconds without blocking its worker. Returns 0,
 *  CADRE_ETIMEDOUT when the request's deadline (cadre_request_deadline) cut it short, or
 *  CADRE_ESTATE (not on a worker). */
int cadre_sleep(cadre_request *r, int ms);

/**
 * Makes r, suspended in cadre_wait_fd or cadre_sleep, return 0 on its worker's next turn, as if
 * its wait were over: how a request hands a resource (a database connection) to one waiting for
 * it. Call it from the worker thread r runs on (another of its requests), and only while r's
 * handler has not returned: r is recycled after that. Returns 0, CADRE_ESTATE when r is not
 * suspended, or CADRE_ENOMEM.
 */
int cadre_wake(cadre_request *r);

/**
 * The request whose handler is running on this thread, or NULL outside a handler (start-up code,
 * command-line subcommands). Lower layers (the PostgreSQL driver) use it to suspend the request
 * instead of blocking the worker.
 */
cadre_request *cadre_current_request(void);

/* ---------------------------------------------------------------------------------------------
 * Background coroutines: work on a worker's event loop without a client (a task queue's
 * runners), suspending as a request's handler does instead of blocking the thread.
 * ------------------------------------------------------------------------------------------- */

/** What cadre_spawn runs: r is the coroutine's own request — no head, no body, no connection; an
 *  arena that lives until fn returns (never reset it: it also holds the request's state, what
 *  cadre_request_set and the database keep there; a long loop takes its scratch memory from an
 *  arena of its own); cadre_current_request()
 *  is r, so the database's calls suspend it rather than block the worker. */
typedef void (*cadre_background_fn)(cadre_request *r, void *ctx);

/**
 * Starts fn(r, ctx) on a coroutine of the calling worker thread: from on_worker_start
 * (cadre_server_config), a handler or another background coroutine. It first runs on the
 * worker's next turn, and may wait (cadre_wait_fd, cadre_sleep, cadre_idle) as long as it likes.
 * At a stop the worker waits for its background coroutines as for its requests, up to the
 * shutdown timeout (then they are dropped with their stacks, as requests are): they should watch
 * cadre_stopping() and wait in cadre_idle, which returns at once then. ctx stays the caller's
 * and must outlive the coroutine. Returns 0, CADRE_EINVAL (fn NULL), CADRE_ESTATE off a server
 * worker thread or once it stops, or CADRE_ENOMEM.
 */
int cadre_spawn(cadre_background_fn fn, void *ctx);

/**
 * A background coroutine's idle wait: suspends r until cadre_wake(r) (0), ms pass
 * (CADRE_ETIMEDOUT; -1: no limit) or the server stops (CADRE_ECANCELED, at once if it has
 * already). CADRE_ESTATE for a request that is not a background coroutine's.
 */
int cadre_idle(cadre_request *r, int ms);

/** As cadre_idle, and returns 0 as well when fd (non-blocking) becomes readable: an eventfd or
 *  a pipe that other threads write to wake the coroutine (cadre_wake works only on its own
 *  worker's thread). fd -1 is cadre_idle. */
int cadre_idle_fd(cadre_request *r, int fd, int ms);

/**
 * Sets a deadline ms milliseconds from now for everything r waits for from then on: a wait
 * (cadre_wait_fd, cadre_sleep, cadre_idle, the database's suspending calls, cadre_pool_run) that
 * would end later returns CADRE_ETIMEDOUT at the deadline instead, and one begun after it at
 * once. 0 removes it. A task's timeout (cadre/tasks.h) is one: C code that computes without
 * waiting is never interrupted. Returns 0, CADRE_EINVAL (ms negative) or CADRE_ESTATE (r not a
 * server worker's request or background coroutine).
 */
int cadre_request_deadline(cadre_request *r, int ms);

/** Whether the server of the calling worker thread is stopping (false off a worker thread). */
bool cadre_stopping(void);

/** While the calling worker's server stops: the milliseconds left before it drops what still
 *  runs (the shutdown timeout's end), for work that would rather hand itself back first (a task
 *  queue releasing its jobs). -1 when it is not stopping, or off a worker thread. */
int cadre_stop_time_left(void);

/* ---------------------------------------------------------------------------------------------
 * Blocking work off the workers: a small pool of threads. A request that runs a job on it is
 * suspended until the job is done; its worker serves other requests meanwhile (a password hash,
 * which takes tens of milliseconds and megabytes of memory, is the case it was made for). The
 * number of threads bounds how many jobs run at once, and so the memory they take; jobs beyond it
 * wait their turn, up to a bound beyond which they are refused.
 * ------------------------------------------------------------------------------------------- */

typedef struct cadre_pool cadre_pool;

/** Starts threads (1..256) that run at most max_waiting queued jobs between them. *out is the
 *  caller's, freed with cadre_pool_free. Returns 0, CADRE_EINVAL, CADRE_ENOMEM or CADRE_ESYSTEM. */
int cadre_pool_new(unsigned threads, size_t max_waiting, cadre_pool **out /* OUT */);

/**
 * Runs fn on a copy of arg's size bytes on one of p's threads, suspending the calling request
 * until it is done, then copies the result back into arg. fn must find everything it needs in
 * that copy (copy a password into arg, never a pointer into the request's arena): a request
 * abandoned at shutdown leaves its job to finish on its own. Outside a request (start-up code, a
 * command), or with p NULL, fn runs at once on the calling thread. Returns 0, CADRE_EBUSY (more
 * than max_waiting jobs are queued: answer 503), CADRE_ETIMEDOUT (the request's deadline,
 * cadre_request_deadline, passed: arg is left as it was, the job finishes on its own),
 * CADRE_ENOMEM or CADRE_ESYSTEM.
 */
int cadre_pool_run(cadre_pool *p, void (*fn)(void *arg), void *arg, size_t size);

/** Lets the queued jobs finish, stops the threads and frees p. NULL is ignored. */
void cadre_pool_free(cadre_pool *p);

/* ---------------------------------------------------------------------------------------------
 * Server
 * ------------------------------------------------------------------------------------------- */

/** Called for each request, on a coroutine. Returns the status or a negative CADRE_E*. */
typedef int (*cadre_dispatch_fn)(void *ctx, cadre_request *r);

typedef struct cadre_server_config {
    const char *host;               /**< listen address (default "127.0.0.1") */
    int port;                       /**< default 8000 */
    int workers;                    /**< worker threads; 0 = online CPUs */
    unsigned header_timeout_ms;     /**< whole request head must arrive within (10 000) → 408 */
    unsigned body_timeout_ms;       /**< whole body must arrive within (30 000) → 408 */
    unsigned keepalive_timeout_ms;  /**< idle keep-alive connection closed after (60 000) */
    unsigned write_timeout_ms;      /**< a response that cannot be written within (30 000): close */
    unsigned shutdown_timeout_ms;   /**< in-flight requests get this long at SIGTERM (10 000) */
    /** At SIGTERM (or SIGINT, SIGHUP), keep serving this long before the stop begins (0): with
     *  on_stopping turning readiness to 503 at once, longer than a load balancer's check
     *  interval, so that it sends no new request to a server that has stopped accepting. A
     *  second signal cuts it short. */
    unsigned drain_delay_ms;
    bool request_ids;               /**< give each request an id (cadre_request.request_id): on */
    void (*on_stopping)(void *ctx); /**< called as the stop begins, before the delay (optional) */
    void *on_stopping_ctx;
    size_t max_connections;         /**< per worker (default 65 536); beyond: accept waits */
    size_t stack_size;              /**< coroutine stack (default 256 KiB, guard page below) */
    cadre_http_limits limits;
    bool access_log;                /**< one log record per request (INFO): the app writes it
                                         from on_response (cadre_server_run alone does not) */
    void (*on_listen)(int port, void *ctx); /**< called once all workers listen (optional) */
    void *on_listen_ctx;
    /** Called on each worker thread as it starts, before it serves (optional): worker is its
     *  index, from 0. Where cadre_spawn starts a worker's background coroutines. */
    void (*on_worker_start)(int worker, void *ctx);
    void *on_worker_start_ctx;
    /** The dispatch function reads the body itself, when it wants it (cadre_request_read_body,
     *  cadre_request_stream_body): a request is dispatched as soon as its head is read, so that
     *  it can be refused before its body is sent. Otherwise (the default) the body is read before
     *  dispatch. An app sets it: its guards and middleware run before the body. */
    bool body_on_demand;
    /** Called on the worker once each response is queued (optional; the app sets its own): the
     *  dispatch context, the request (its response state readable), the response's status, its
     *  length in bytes (head and body) and the microseconds since the request's head was read.
     *  Must not block or suspend. */
    void (*on_response)(void *ctx, cadre_request *r, int status, uint64_t bytes,
                        uint64_t elapsed_us);
    /** Headers every response carries after its own, unless it set one of the same name itself
     *  (an app's security headers): n_extra_headers of them, written as they are (each name a
     *  token, each value without CR or LF). Must outlive the server. */
    const cadre_header *extra_headers;
    size_t n_extra_headers;
} cadre_server_config;

/** Fills the documented defaults. */
void cadre_server_config_default(cadre_server_config *c);

/** How many client connections the process's servers hold open now (every worker's). */
size_t cadre_server_connections(void);

/**
 * Runs the server until SIGTERM, SIGINT or SIGHUP, then shuts down gracefully: stops accepting,
 * gives idle connections 2 s for a last request (answered with Connection: close), lets in-flight
 * requests finish until shutdown_timeout_ms, and returns. Returns 0, or a negative CADRE_E*
 * (e.g. the address cannot be bound; the reason is logged).
 *
 * Listening sockets handed over in systemd's protocol (LISTEN_FDS, LISTEN_PID) are served instead
 * of opening new ones; under Type=notify (NOTIFY_SOCKET) systemd is told READY=1 with MAINPID once
 * every worker listens, and STOPPING=1 as a stop begins.
 *
 * SIGUSR2 upgrades the binary, as nginx does: the program argv[0] names now (a new build moved
 * into its place) is started with this process's arguments, environment and listening sockets;
 * once it listens, this process stops accepting and finishes its requests (readiness stays, no
 * drain delay) and returns 0. The sockets never close, so no connection is refused across it; a
 * new program that fails to start is logged and this one serves on. Under systemd the unit needs
 * NotifyAccess=all, so that the new process may name itself the main one.
 *
 * Blocks SIGTERM, SIGINT, SIGHUP, SIGUSR1 (logged and ignored), SIGUSR2 and SIGPIPE in the
 * calling thread and its workers.
 */
int cadre_server_run(const cadre_server_config *c, cadre_dispatch_fn dispatch, void *ctx);

/** Asks a running server (in this process) to shut down as if it got SIGTERM. Async-signal-safe. */
void cadre_server_stop(void);

/**
 * Whether this process was started by a running server's binary upgrade (SIGUSR2) and has not
 * taken its sockets over yet: true from main until cadre_server_run starts. A start-up check
 * that refuses then (an app whose database lacks its migrations) makes the upgrade fail, and
 * the running process serves on.
 */
bool cadre_server_upgrading(void);

/**
 * A listening TCP socket on host:port as the server opens its own (SO_REUSEADDR and
 * SO_REUSEPORT, a backlog of 4096, non-blocking, close-on-exec), refusing an address something
 * already listens on; port 0 picks a free one. *bound_port gets the port. For a process that
 * holds the socket and hands it to servers it starts (LISTEN_FDS, as serve --reload does).
 * Returns the descriptor, the caller's to close, or -1 (the reason logged).
 */
int cadre_listen(const char *host, int port, int *bound_port /* OUT */);

/**
 * For in-process test clients (cadre_test_raw in cadre/app.h is one): one exchange without a
 * socket. The bytes raw[0..len) — one request or several, as a client would send them before
 * closing its side — go through the server's real connection code (parser, limits, body
 * handling, dispatch(ctx, r), response writer) on a private worker configured by c, whose event
 * loop runs only while a handler is suspended, for at most timeout_ms. Nothing listens, no thread
 * is started; c must stay valid during the call.
 *
 * *out is set to everything the server wrote (empty when it closed without answering); it is the
 * caller's, to free with cadre_buf_free whatever the result. Returns 0, CADRE_ETIMEDOUT when a
 * handler was still suspended at the deadline, CADRE_ETOOBIG when raw exceeds the input the limits
 * allow, or CADRE_ENOMEM / CADRE_ESYSTEM when the worker cannot be set up.
 */
int cadre_http_test_exchange(const cadre_server_config *c, cadre_dispatch_fn dispatch, void *ctx,
                             const char *raw, size_t len, int timeout_ms, cadre_buf *out /* OUT */);

#ifdef __cplusplus
}
#endif
#endif
