/* Router, responses and the in-process test client, through the whole stack without a socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cadre.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int h_root(cadre_request *r)
{
    return cadre_text(r, 200, "root");
}

static int h_item(cadre_request *r)
{
    cadre_slice id = cadre_request_param(r, "id");
    return cadre_text(r, 200, cadre_arena_printf(r->arena, "item:%.*s", (int)id.len, id.ptr));
}

static int h_item_new(cadre_request *r)
{
    return cadre_text(r, 200, "new");
}

static int h_pair(cadre_request *r)
{
    cadre_slice a = cadre_request_param(r, "a"), b = cadre_request_param(r, "b");
    return cadre_text(r, 200,
                      cadre_arena_printf(r->arena, "%.*s|%.*s", (int)a.len, a.ptr, (int)b.len, b.ptr));
}

static int h_echo(cadre_request *r)
{
    cadre_slice ct = cadre_request_header(r, "content-type");
    char *type = ct.ptr ? cadre_arena_strndup(r->arena, ct.ptr, ct.len) : NULL;
    return cadre_respond(r, 200, type, r->body.ptr, r->body.len);
}

static int h_query(cadre_request *r)
{
    cadre_slice v;
    if (!cadre_request_query(r, "q", &v))
        return cadre_error(r, 404, "no \"q\"");
    return cadre_text(r, 200, cadre_arena_strndup(r->arena, v.ptr, v.len));
}

static int h_headers(cadre_request *r)
{
    assert_int_equal(cadre_set_header(r, "X-One", "1"), 0);
    assert_int_equal(cadre_set_header(r, "Bad Name", "x"), CADRE_EINVAL);
    assert_int_equal(cadre_set_header(r, "X-Inject", "a\r\nSet-Cookie: evil"), CADRE_EINVAL);
    assert_int_equal(cadre_set_header(r, "X-Ctl", "a\x01b"), CADRE_EINVAL);
    assert_int_equal(cadre_set_header(r, "X-Tab", "a\tb"), 0);
    assert_int_equal(cadre_set_header(r, "X-Twice", "first"), 0);
    assert_int_equal(cadre_set_header(r, "x-twice", "second"), 0); /* replaces */
    assert_int_equal(cadre_add_header(r, "X-Many", "1"), 0);
    assert_int_equal(cadre_add_header(r, "X-Many", "2"), 0);           /* adds */
    assert_int_equal(cadre_set_header(r, "Content-Length", "5"), CADRE_EINVAL);
    return cadre_respond(r, 201, NULL, NULL, 0);
}

static int h_fail(cadre_request *r)
{
    (void)r;
    return CADRE_EIO;
}

/* a failure code per ?e=: ENOTFOUND (404), ECLOSED/ETIMEDOUT (503) */
static int h_fail_with(cadre_request *r)
{
    cadre_slice e = { 0 };
    cadre_request_query(r, "e", &e);
    static const struct {
        const char *name;
        int code;
    } codes[] = { { "notfound", CADRE_ENOTFOUND }, { "closed", CADRE_ECLOSED },
                  { "busy", CADRE_EBUSY },         { "nospc", CADRE_ENOSPC },
                  { "readonly", CADRE_EREADONLY }, { "corrupt", CADRE_ECORRUPT },
                  { "stale", CADRE_ESTALE },       { "io", CADRE_EIO },
                  { "limit", CADRE_ELIMIT } };
    if (cadre_slice_eq_cstr(e, "limit"))
        cadre_set_header(r, "Retry-After", "30"); /* a throttle says when */
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
        if (cadre_slice_eq_cstr(e, codes[i].name))
            return codes[i].code;
    return CADRE_ETIMEDOUT;
}

static int h_status_only(cadre_request *r)
{
    (void)r;
    return 204;
}

static int h_sleep(cadre_request *r)
{
    assert_int_equal(cadre_sleep(r, 20), 0);
    return cadre_text(r, 200, "awake");
}

static cadre_app *make_app(void)
{
    cadre_app *app = cadre_app_new("test");
    assert_non_null(app);
    assert_int_equal(cadre_get(app, "/", h_root), 0);
    assert_int_equal(cadre_get(app, "/items/{id}", h_item), 0);
    assert_int_equal(cadre_get(app, "/items/new", h_item_new), 0); /* literal beats {id} */
    assert_int_equal(cadre_get(app, "/pair/{a}/{b}", h_pair), 0);
    assert_int_equal(cadre_post(app, "/echo", h_echo), 0);
    assert_int_equal(cadre_put(app, "/echo", h_echo), 0);
    assert_int_equal(cadre_get(app, "/query", h_query), 0);
    assert_int_equal(cadre_get(app, "/headers", h_headers), 0);
    assert_int_equal(cadre_get(app, "/fail", h_fail), 0);
    assert_int_equal(cadre_get(app, "/fail-with", h_fail_with), 0);
    assert_int_equal(cadre_get(app, "/status", h_status_only), 0);
    assert_int_equal(cadre_get(app, "/sleep", h_sleep), 0);
    return app;
}

#define GET(app, target, res) cadre_test_request((app), "GET", (target), NULL, NULL, 0, (res))

static void test_routing(void **state)
{
    (void)state;
    cadre_app *app = make_app();
    cadre_test_response res;

    assert_int_equal(GET(app, "/", &res), 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.body, "root");
    assert_string_equal(cadre_test_header(&res, "content-type"), "text/plain; charset=utf-8");
    assert_non_null(cadre_test_header(&res, "Date"));
    cadre_test_response_free(&res);

    assert_int_equal(GET(app, "/items/42", &res), 0);
    assert_string_equal(res.body, "item:42");
    cadre_test_response_free(&res);

    assert_int_equal(GET(app, "/items/new", &res), 0);
    assert_string_equal(res.body, "new");
    cadre_test_response_free(&res);

    /* a parameter is decoded, and an encoded slash does not split the segment */
    assert_int_equal(GET(app, "/items/a%2Fb%20c", &res), 0);
    assert_string_equal(res.body, "item:a/b c");
    cadre_test_response_free(&res);

    assert_int_equal(GET(app, "/pair/x/y", &res), 0);
    assert_string_equal(res.body, "x|y");
    cadre_test_response_free(&res);

    /* no match: FastAPI's 404 */
    assert_int_equal(GET(app, "/items", &res), 0);
    assert_int_equal(res.status, 404);
    assert_string_equal(res.body, "{\"detail\":\"Not Found\"}");
    assert_string_equal(cadre_test_header(&res, "Content-Type"), "application/json");
    cadre_test_response_free(&res);

    assert_int_equal(GET(app, "/items/1/2", &res), 0);
    assert_int_equal(res.status, 404);
    cadre_test_response_free(&res);

    /* a parameter never matches an empty segment: /items/ is not /items/{id} */
    assert_int_equal(GET(app, "/items/", &res), 0);
    assert_int_equal(res.status, 404);
    cadre_test_response_free(&res);

    cadre_app_free(app);
}

static void test_method_not_allowed(void **state)
{
    (void)state;
    cadre_app *app = make_app();
    cadre_test_response res;

    assert_int_equal(cadre_test_request(app, "DELETE", "/echo", NULL, NULL, 0, &res), 0);
    assert_int_equal(res.status, 405);
    assert_string_equal(res.body, "{\"detail\":\"Method Not Allowed\"}");
    const char *allow = cadre_test_header(&res, "Allow");
    assert_non_null(allow);
    assert_non_null(strstr(allow, "POST"));
    assert_non_null(strstr(allow, "PUT"));
    assert_null(strstr(allow, "GET"));
    cadre_test_response_free(&res);

    assert_int_equal(cadre_test_request(app, "POST", "/", NULL, "x", 1, &res), 0);
    assert_int_equal(res.status, 405);
    allow = cadre_test_header(&res, "Allow");
    assert_non_null(strstr(allow, "GET"));
    assert_non_null(strstr(allow, "HEAD"));
    cadre_test_response_free(&res);

    /* HEAD is answered by GET routes, with the length but no body */
    assert_int_equal(cadre_test_request(app, "HEAD", "/", NULL, NULL, 0, &res), 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(cadre_test_header(&res, "Content-Length"), "4");
    assert_int_equal(res.body_len, 0);
    cadre_test_response_free(&res);

    /* OPTIONS: what may be done here (Django's View.options), or on the whole server for "*" */
    assert_int_equal(cadre_test_request(app, "OPTIONS", "/echo", NULL, NULL, 0, &res), 0);
    assert_int_equal(res.status, 204);
    assert_string_equal(cadre_test_header(&res, "Allow"), "POST, PUT, OPTIONS");
    cadre_test_response_free(&res);
    assert_int_equal(cadre_test_request(app, "OPTIONS", "*", NULL, NULL, 0, &res), 0);
    assert_int_equal(res.status, 204);
    allow = cadre_test_header(&res, "Allow");
    assert_non_null(strstr(allow, "GET, POST, PUT"));
    assert_non_null(strstr(allow, "HEAD"));
    cadre_test_response_free(&res);
    assert_int_equal(cadre_test_request(app, "OPTIONS", "/nothing/here", NULL, NULL, 0, &res), 0);
    assert_int_equal(res.status, 404);
    cadre_test_response_free(&res);

    /* a method no route takes and HTTP does not define: 501; a standard one: 405 */
    assert_int_equal(cadre_test_request(app, "FOO", "/", NULL, NULL, 0, &res), 0);
    assert_int_equal(res.status, 501);
    assert_string_equal(res.body, "{\"detail\":\"Not Implemented\"}");
    cadre_test_response_free(&res);
    assert_int_equal(cadre_test_request(app, "DELETE", "/", NULL, NULL, 0, &res), 0);
    assert_int_equal(res.status, 405);
    cadre_test_response_free(&res);

    cadre_app_free(app);
}

static void test_bodies(void **state)
{
    (void)state;
    cadre_app *app = make_app();
    cadre_test_response res;

    assert_int_equal(cadre_test_request(app, "POST", "/echo", "Content-Type: application/json\r\n",
                                        "{\"a\":1}", 7, &res),
                     0);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.body, "{\"a\":1}");
    assert_string_equal(cadre_test_header(&res, "Content-Type"), "application/json");
    cadre_test_response_free(&res);

    /* chunked, through the same parser as the server */
    static const char chunked[] = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n";
    assert_int_equal(cadre_test_raw(app, chunked, sizeof chunked - 1, &res), 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.body, "hello world");
    cadre_test_response_free(&res);

    /* refusals come from the parser with their status and close the connection */
    static const char both[] = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    assert_int_equal(cadre_test_raw(app, both, sizeof both - 1, &res), 0);
    assert_int_equal(res.status, 400);
    assert_string_equal(cadre_test_header(&res, "Connection"), "close");
    assert_non_null(strstr(res.body, "Content-Length and Transfer-Encoding"));
    cadre_test_response_free(&res);

    cadre_app_free(app);
}

static void test_query_and_headers(void **state)
{
    (void)state;
    cadre_app *app = make_app();
    cadre_test_response res;

    /* the last of several wins, as in Starlette and Django */
    assert_int_equal(GET(app, "/query?x=1&q=first&q=a+b%21", &res), 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.body, "a b!");
    cadre_test_response_free(&res);

    assert_int_equal(GET(app, "/query?%71=encoded-key", &res), 0);
    assert_string_equal(res.body, "encoded-key");
    cadre_test_response_free(&res);

    assert_int_equal(GET(app, "/query?q", &res), 0);
    assert_int_equal(res.status, 200);
    assert_int_equal(res.body_len, 0);
    cadre_test_response_free(&res);

    assert_int_equal(GET(app, "/query?qq=1", &res), 0);
    assert_int_equal(res.status, 404);
    assert_string_equal(res.body, "{\"detail\":\"no \\\"q\\\"\"}");
    cadre_test_response_free(&res);

    assert_int_equal(GET(app, "/headers", &res), 0);
    assert_int_equal(res.status, 201);
    assert_string_equal(cadre_test_header(&res, "X-One"), "1");
    assert_null(cadre_test_header(&res, "Set-Cookie"));
    assert_null(cadre_test_header(&res, "Content-Type"));
    assert_null(cadre_test_header(&res, "X-Ctl"));
    assert_string_equal(cadre_test_header(&res, "X-Tab"), "a\tb");
    size_t twice = 0, many = 0;
    for (size_t i = 0; i < res.num_headers; i++) {
        if (cadre_slice_ieq_cstr(res.headers[i].name, "X-Twice")) {
            twice++;
            assert_string_equal(res.headers[i].value.ptr, "second");
        }
        many += cadre_slice_ieq_cstr(res.headers[i].name, "X-Many");
    }
    assert_int_equal(twice, 1);
    assert_int_equal(many, 2);
    cadre_test_response_free(&res);

    cadre_app_free(app);
}

static void test_handler_results(void **state)
{
    (void)state;
    cadre_app *app = make_app();
    cadre_test_response res;

    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1); /* the 500 is logged; keep quiet */
    assert_int_equal(GET(app, "/fail", &res), 0);
    assert_int_equal(res.status, 500);
    assert_string_equal(res.body, "{\"detail\":\"Internal Server Error\"}");
    cadre_test_response_free(&res);
    static const struct {
        const char *target, *body;
        int status;
        const char *retry_after;
    } codes[] = {
        { "/fail-with?e=notfound", "{\"detail\":\"Not Found\"}", 404, NULL },
        { "/fail-with?e=closed",
          "{\"detail\":\"Service Unavailable: the database cannot be reached\"}", 503, "1" },
        { "/fail-with?e=timedout",
          "{\"detail\":\"Service Unavailable: the database is busy, retry shortly\"}", 503, "1" },
        { "/fail-with?e=busy",
          "{\"detail\":\"Service Unavailable: the database is busy, retry shortly\"}", 503, "1" },
        { "/fail-with?e=nospc", "{\"detail\":\"Service Unavailable: the database's disk is full\"}",
          503, NULL },
        { "/fail-with?e=readonly", "{\"detail\":\"Service Unavailable: the database is read-only\"}",
          503, NULL },
        { "/fail-with?e=corrupt",
          "{\"detail\":\"Service Unavailable: the database file is damaged\"}", 503, NULL },
        { "/fail-with?e=stale",
          "{\"detail\":\"Service Unavailable: the database file was removed or replaced\"}", 503,
          NULL },
        { "/fail-with?e=io", "{\"detail\":\"Internal Server Error\"}", 500, NULL },
        { "/fail-with?e=limit", "{\"detail\":\"Too Many Requests\"}", 429, "30" },
    };
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        assert_int_equal(GET(app, codes[i].target, &res), 0);
        assert_int_equal(res.status, codes[i].status);
        assert_string_equal(res.body, codes[i].body);
        const char *ra = cadre_test_header(&res, "Retry-After");
        if (codes[i].retry_after)
            assert_string_equal(ra, codes[i].retry_after);
        else
            assert_null(ra);
        assert_string_equal(cadre_test_header(&res, "X-Content-Type-Options"), "nosniff");
        cadre_test_response_free(&res);
    }
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);

    assert_int_equal(GET(app, "/status", &res), 0);
    assert_int_equal(res.status, 204);
    assert_null(cadre_test_header(&res, "Content-Length"));
    cadre_test_response_free(&res);

    /* a suspended handler: the test client runs the worker loop until it finishes */
    assert_int_equal(GET(app, "/sleep", &res), 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.body, "awake");
    cadre_test_response_free(&res);

    cadre_app_free(app);
}

static void test_pipelined_raw(void **state)
{
    (void)state;
    cadre_app *app = make_app();
    cadre_test_response res;
    static const char two[] = "GET /items/1 HTTP/1.1\r\nHost: t\r\n\r\n"
                              "GET /items/2 HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_int_equal(cadre_test_raw(app, two, sizeof two - 1, &res), 0);
    assert_string_equal(res.body, "item:1");
    /* the second response follows in the raw output, in order */
    const char *second = strstr(res.raw + 1, "HTTP/1.1 200");
    assert_non_null(second);
    assert_non_null(strstr(second, "item:2"));
    cadre_test_response_free(&res);
    cadre_app_free(app);
}

static void test_bad_routes_refuse_to_start(void **state)
{
    (void)state;
    cadre_app *app = cadre_app_new("bad");
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    assert_int_equal(cadre_get(app, "/ok/{id}", h_item), 0);
    assert_int_equal(cadre_get(app, "/ok/{other}", h_item), CADRE_EEXIST); /* same shape */
    assert_int_equal(cadre_get(app, "no-slash", h_root), CADRE_EINVAL);
    assert_int_equal(cadre_get(app, "/x/{a}/{a}", h_root), CADRE_EINVAL);
    assert_int_equal(cadre_get(app, "/x/{1bad}", h_root), CADRE_EINVAL);
    assert_int_equal(cadre_get(app, "/x/pre{id}", h_root), CADRE_EINVAL);
    assert_int_equal(cadre_route(app, "get", "/lower", h_root), CADRE_EINVAL);
    assert_int_equal(cadre_app_check(app), 6);
    cadre_test_response res;
    assert_int_equal(GET(app, "/ok/1", &res), CADRE_EINVAL);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    cadre_app_free(app);
}

struct seen {
    int calls, status;
    uint64_t bytes;
    char route[64];
    char ctype[64];
};

static void record(cadre_request *r, int status, uint64_t bytes, uint64_t elapsed_us, void *ctx)
{
    struct seen *s = ctx;
    (void)elapsed_us;
    s->calls++;
    s->status = status;
    s->bytes = bytes;
    snprintf(s->route, sizeof s->route, "%s", r->route ? r->route : "(none)");
    cadre_slice ct = cadre_response_header(r, "content-type");
    snprintf(s->ctype, sizeof s->ctype, "%.*s", (int)ct.len, ct.ptr ? ct.ptr : "");
}

/* The response hook sees each response once: its status, its length, the route's pattern (not
 * the path), the response's headers; unmatched paths have no route. */
static void test_on_response(void **state)
{
    (void)state;
    cadre_app *app = make_app();
    struct seen seen = { 0 };
    assert_int_equal(cadre_app_on_response(app, record, &seen), 0);
    cadre_test_response res;

    assert_int_equal(GET(app, "/items/42", &res), 0);
    assert_int_equal(seen.calls, 1);
    assert_int_equal(seen.status, res.status);
    assert_string_equal(seen.route, "/items/{id}");
    assert_string_equal(seen.ctype, "text/plain; charset=utf-8");
    assert_true(seen.bytes > res.body_len && seen.bytes < res.body_len + 512);
    cadre_test_response_free(&res);

    assert_int_equal(GET(app, "/no/such/path", &res), 0);
    assert_int_equal(seen.calls, 2);
    assert_int_equal(seen.status, 404);
    assert_string_equal(seen.route, "(none)");
    cadre_test_response_free(&res);

    assert_int_equal(GET(app, "/sleep", &res), 0); /* a suspended handler: once, at the end */
    assert_int_equal(seen.calls, 3);
    assert_string_equal(seen.route, "/sleep");
    cadre_test_response_free(&res);
    cadre_app_free(app);
}

/* Middleware: each records its name on the way in and out, so the order is visible. */
struct trail {
    char log[256];
};

static void trail_add(struct trail *t, const char *what)
{
    size_t n = strlen(t->log);
    snprintf(t->log + n, sizeof t->log - n, "%s%s", n ? " " : "", what);
}

static struct trail *the_trail;

static int mw_outer(cadre_request *r, cadre_next *next, void *ctx)
{
    trail_add(the_trail, ctx);
    int st = cadre_next_call(r, next);
    /* the final response is visible: the status as answered, mapped errors included */
    char seen[48];
    snprintf(seen, sizeof seen, "%s:%d/%d", (const char *)ctx, st, cadre_response_status(r));
    trail_add(the_trail, seen);
    cadre_set_header(r, "X-Outer", "1");
    return st;
}

static int mw_gate(cadre_request *r, cadre_next *next, void *ctx)
{
    (void)ctx;
    trail_add(the_trail, "gate");
    if (cadre_request_header(r, "X-Deny").ptr)
        return cadre_error(r, 403, "Forbidden");
    return cadre_next_call(r, next);
}

static int mw_twice(cadre_request *r, cadre_next *next, void *ctx)
{
    (void)ctx;
    cadre_next_call(r, next);
    return cadre_next_call(r, next); /* a bug: refused, answered 500 */
}

static void test_middleware(void **state)
{
    (void)state;
    struct trail t = { "" };
    the_trail = &t;
    cadre_app *app = make_app();
    assert_int_equal(cadre_app_use(app, mw_outer, "outer"), 0);
    assert_int_equal(cadre_app_use(app, mw_gate, NULL), 0);
    cadre_test_response res;

    assert_int_equal(GET(app, "/", &res), 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.body, "root");
    assert_string_equal(cadre_test_header(&res, "X-Outer"), "1");
    assert_string_equal(t.log, "outer gate outer:200/200");
    cadre_test_response_free(&res);

    /* an early answer: the router and the handler never run, the outer layer sees it */
    t.log[0] = '\0';
    assert_int_equal(cadre_test_request(app, "GET", "/fail", "X-Deny: 1\r\n", NULL, 0, &res), 0);
    assert_int_equal(res.status, 403);
    assert_string_equal(t.log, "outer gate outer:403/403");
    cadre_test_response_free(&res);

    /* the router's answers and a handler's error codes are final responses by then */
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    t.log[0] = '\0';
    assert_int_equal(GET(app, "/no/such/thing", &res), 0);
    assert_int_equal(res.status, 404);
    assert_string_equal(t.log, "outer gate outer:404/404");
    cadre_test_response_free(&res);
    t.log[0] = '\0';
    assert_int_equal(GET(app, "/fail-with?e=busy", &res), 0);
    assert_int_equal(res.status, 503);
    assert_string_equal(cadre_test_header(&res, "Retry-After"), "1");
    assert_string_equal(cadre_test_header(&res, "X-Outer"), "1");
    assert_string_equal(t.log, "outer gate outer:503/503");
    cadre_test_response_free(&res);
    /* a suspended handler: the middleware resumes after it */
    t.log[0] = '\0';
    assert_int_equal(GET(app, "/sleep", &res), 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(t.log, "outer gate outer:200/200");
    cadre_test_response_free(&res);
    cadre_app_free(app);

    app = make_app();
    assert_int_equal(cadre_app_use(app, mw_twice, NULL), 0);
    assert_int_equal(GET(app, "/", &res), 0);
    assert_int_equal(res.status, 500);
    cadre_test_response_free(&res);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    assert_int_equal(cadre_app_use(app, NULL, NULL), CADRE_EINVAL);
    cadre_app_free(app);
}

/* Guards and groups: a guard answers or lets pass; the group's guards run before the route's,
 * outer groups first; prefixes join; typed routes are guarded before their input is validated. */
static int g_mark(cadre_request *r, void *ctx)
{
    trail_add(the_trail, ctx);
    (void)r;
    return 0;
}

static int g_need_header(cadre_request *r, void *ctx)
{
    if (!cadre_request_header(r, ctx).ptr)
        return cadre_error(r, 401, "Not authenticated");
    return 0;
}

#define NUM_FIELDS(F) F(int64, n, CADRE_GE(1))
CADRE_SCHEMA(Num, NUM_FIELDS)

static int h_num(cadre_request *r, const cadre_none *p, const Num *in, Num *out)
{
    (void)r;
    (void)p;
    *out = *in;
    return 0;
}

static void test_guards_and_groups(void **state)
{
    (void)state;
    struct trail t = { "" };
    the_trail = &t;
    cadre_app *app = make_app();
    cadre_test_response res;
    assert_int_equal(cadre_get(app, "/open", h_root, .guards = CADRE_GUARDS({ g_mark, "open" }), .in_schema = true), 0);
    assert_int_equal(cadre_group_begin(app, "/admin", .guards = CADRE_GUARDS({ g_mark, "admin" },
                                                                             { g_need_header, "X-User" }),
                                       .tags = "admin", .hidden = true),
                     0);
    assert_int_equal(cadre_get(app, "/", h_root), 0);
    assert_int_equal(cadre_group_begin(app, "/deep", .guards = CADRE_GUARDS({ g_mark, "deep" })), 0);
    assert_int_equal(cadre_get(app, "/items/{id}", h_item, .guards = CADRE_GUARDS({ g_mark, "own" })),
                     0);
    assert_int_equal(CADRE_ROUTE(app, POST, "/num", h_num, cadre_none, Num, Num, .status = 201), 0);
    assert_int_equal(cadre_group_end(app), 0);
    assert_int_equal(cadre_group_end(app), 0);
    assert_int_equal(cadre_app_check(app), 0);

    assert_int_equal(GET(app, "/open", &res), 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(t.log, "open");
    cadre_test_response_free(&res);

    t.log[0] = '\0';
    assert_int_equal(GET(app, "/admin/", &res), 0);
    assert_int_equal(res.status, 401);
    assert_string_equal(res.body, "{\"detail\":\"Not authenticated\"}");
    assert_string_equal(t.log, "admin");
    cadre_test_response_free(&res);

    t.log[0] = '\0';
    assert_int_equal(cadre_test_request(app, "GET", "/admin/deep/items/7", "X-User: ann\r\n", NULL, 0,
                                        &res), 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.body, "item:7");
    assert_string_equal(t.log, "admin deep own"); /* outer group, inner group, the route */
    cadre_test_response_free(&res);

    /* a typed route: the guard answers before the body is validated (401, not 422) */
    assert_int_equal(cadre_test_request(app, "POST", "/admin/deep/num", NULL, "{\"n\":0}", 7, &res), 0);
    assert_int_equal(res.status, 401);
    cadre_test_response_free(&res);
    assert_int_equal(cadre_test_request(app, "POST", "/admin/deep/num", "X-User: ann\r\n", "{\"n\":0}",
                                        7, &res), 0);
    assert_int_equal(res.status, 422);
    cadre_test_response_free(&res);
    assert_int_equal(cadre_test_request(app, "POST", "/admin/deep/num", "X-User: ann\r\n", "{\"n\":3}",
                                        7, &res), 0);
    assert_int_equal(res.status, 201);
    cadre_test_response_free(&res);

    /* no prefix outside the group; a hidden group stays out of OpenAPI */
    assert_int_equal(GET(app, "/deep/items/7", &res), 0);
    assert_int_equal(res.status, 404);
    cadre_test_response_free(&res);
    cadre_buf doc;
    cadre_buf_init(&doc, (size_t)1 << 20);
    assert_int_equal(cadre_app_openapi(app, &doc), 0);
    assert_non_null(memmem(doc.data, doc.len, "\"/open\"", 7));
    assert_null(memmem(doc.data, doc.len, "/admin", 6));
    cadre_buf_free(&doc);
    cadre_app_free(app);

    /* a visible group gives its tags to the typed routes without their own */
    app = cadre_app_new("t");
    assert_int_equal(cadre_group_begin(app, "/api", .tags = "api"), 0);
    assert_int_equal(CADRE_ROUTE(app, POST, "/num", h_num, cadre_none, Num, Num), 0);
    assert_int_equal(CADRE_ROUTE(app, POST, "/own", h_num, cadre_none, Num, Num, .tags = "mine"), 0);
    assert_int_equal(cadre_group_end(app), 0);
    cadre_buf_init(&doc, (size_t)1 << 20);
    assert_int_equal(cadre_app_openapi(app, &doc), 0);
    assert_non_null(memmem(doc.data, doc.len, "\"/api/num\"", 10));
    assert_non_null(memmem(doc.data, doc.len, "\"tags\":[\"api\"]", 14));
    assert_non_null(memmem(doc.data, doc.len, "\"tags\":[\"mine\"]", 15));
    cadre_buf_free(&doc);
    cadre_app_free(app);

    /* configuration errors: unbalanced groups, a bad prefix, a name taken twice */
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    app = cadre_app_new("t");
    assert_int_equal(cadre_group_end(app), CADRE_EINVAL);
    assert_int_equal(cadre_group_begin(app, "/x/"), CADRE_EINVAL);
    assert_int_equal(cadre_group_begin(app, "/{id}"), CADRE_EINVAL);
    assert_int_equal(cadre_get(app, "/a", h_root, .name = "a"), 0);
    assert_int_equal(cadre_get(app, "/b", h_root, .name = "a"), CADRE_EEXIST);
    assert_int_equal(cadre_group_begin(app, "/open"), 0);
    assert_int_equal(cadre_app_check(app), 5);
    cadre_app_free(app);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
}

/* Reverse routing: named routes give their paths back, parameters encoded as segments. */
static int h_links(cadre_request *r)
{
    cadre_slice who = { "a b/c?", 6 };
    const char *a = cadre_url_for(r, "item", (int64_t)42);
    const char *b = cadre_url_for(r, "pair", "x", who);
    const char *c = cadre_url_for(r, "home");
    const char *d = cadre_url_for(r, "admin-index");
    const char *none = cadre_url_for(r, "no-such-route");
    const char *wrong = cadre_url_for(r, "item", "1", "2");
    const char *empty = cadre_url_for(r, "item", "");
    return cadre_text(r, 200, cadre_arena_printf(r->arena, "%s %s %s %s %s %s %s", a, b, c, d,
                                                 none ? none : "-", wrong ? wrong : "-",
                                                 empty ? empty : "-"));
}

static int h_go(cadre_request *r)
{
    return cadre_redirect(r, 303, cadre_url_for(r, "item", (int64_t)7));
}

static int h_go_nowhere(cadre_request *r)
{
    return cadre_redirect(r, 303, cadre_url_for(r, "nowhere"));
}

static void test_url_for(void **state)
{
    (void)state;
    cadre_app *app = cadre_app_new("t");
    cadre_test_response res;
    assert_int_equal(cadre_get(app, "/", h_root, .name = "home"), 0);
    assert_int_equal(cadre_get(app, "/items/{id}", h_item, .name = "item"), 0);
    assert_int_equal(cadre_get(app, "/pair/{a}/{b}", h_pair, .name = "pair"), 0);
    assert_int_equal(cadre_group_begin(app, "/admin"), 0);
    assert_int_equal(cadre_get(app, "/", h_root, .name = "admin-index"), 0);
    assert_int_equal(cadre_group_end(app), 0);
    assert_int_equal(cadre_get(app, "/links", h_links), 0);
    assert_int_equal(cadre_get(app, "/go", h_go), 0);
    assert_int_equal(cadre_get(app, "/go-nowhere", h_go_nowhere), 0);

    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    assert_int_equal(GET(app, "/links", &res), 0);
    assert_string_equal(res.body, "/items/42 /pair/x/a%20b%2Fc%3F / /admin/ - - -");
    cadre_test_response_free(&res);

    assert_int_equal(GET(app, "/go", &res), 0);
    assert_int_equal(res.status, 303);
    assert_string_equal(cadre_test_header(&res, "Location"), "/items/7");
    assert_int_equal(res.body_len, 0);
    cadre_test_response_free(&res);

    assert_int_equal(GET(app, "/go-nowhere", &res), 0);
    assert_int_equal(res.status, 500);
    assert_null(cadre_test_header(&res, "Location"));
    cadre_test_response_free(&res);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);

    /* the path given back routes to the same route, parameters decoded */
    assert_int_equal(GET(app, "/pair/x/a%20b%2Fc%3F", &res), 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.body, "x|a b/c?");
    cadre_test_response_free(&res);
    cadre_app_free(app);
}

/* Per-request state set by a middleware and read by the handler; cleanups run once the response is
 * out, last registered first. */
static char cleanup_log[64];

static void note_cleanup(void *arg)
{
    size_t n = strlen(cleanup_log);
    snprintf(cleanup_log + n, sizeof cleanup_log - n, "%s", (const char *)arg);
}

static int mw_user(cadre_request *r, cadre_next *next, void *ctx)
{
    (void)ctx;
    cadre_request_set(r, "test.user", "ann");
    cadre_request_set(r, "test.other", "x");
    cadre_request_set(r, "test.user", "bob"); /* replaces */
    cadre_request_defer(r, note_cleanup, "1");
    return cadre_next_call(r, next);
}

static int h_whoami(cadre_request *r)
{
    cadre_request_defer(r, note_cleanup, "2");
    cadre_sleep(r, 1); /* suspended: the cleanups still wait for the end */
    assert_string_equal(cleanup_log, "");
    const char *who = cadre_request_get(r, "test.user");
    return cadre_text(r, 200, cadre_arena_printf(r->arena, "%s %s", who ? who : "-",
                                                 cadre_request_get(r, "nothing") ? "?" : "-"));
}

static void test_request_state_and_defer(void **state)
{
    (void)state;
    cadre_app *app = cadre_app_new("t");
    cadre_test_response res;
    assert_int_equal(cadre_app_use(app, mw_user, NULL), 0);
    assert_int_equal(cadre_get(app, "/me", h_whoami), 0);
    cleanup_log[0] = '\0';
    assert_int_equal(GET(app, "/me", &res), 0);
    assert_string_equal(res.body, "bob -");
    assert_string_equal(cleanup_log, "21");
    cadre_test_response_free(&res);
    cleanup_log[0] = '\0';
    assert_int_equal(GET(app, "/nowhere", &res), 0); /* the middleware's cleanup runs on a 404 */
    assert_int_equal(res.status, 404);
    assert_string_equal(cleanup_log, "1");
    cadre_test_response_free(&res);
    cadre_app_free(app);
}

/* Cookies: read as browsers send them; written with every attribute, nothing injectable. */
static int h_cookies(cadre_request *r)
{
    cadre_slice a = cadre_request_cookie(r, "a"), q = cadre_request_cookie(r, "q");
    cadre_slice none = cadre_request_cookie(r, "none");
    int bad = 0;
    bad |= cadre_set_cookie(r, "x y", "1") != CADRE_EINVAL;          /* not a token */
    bad |= cadre_set_cookie(r, "x", "1; Domain=evil") != CADRE_EINVAL; /* a ';' in the value */
    bad |= cadre_set_cookie(r, "x", "a b") != CADRE_EINVAL;
    bad |= cadre_set_cookie(r, "x", "1", .path = "/;x") != CADRE_EINVAL;
    bad |= cadre_set_cookie(r, "x", "1", .domain = "a\r\nX: y") != CADRE_EINVAL;
    bad |= cadre_set_cookie(r, "x", "1", .same_site = "None") != CADRE_EINVAL; /* needs secure */
    bad |= cadre_set_cookie(r, "x", "1", .same_site = "lax") != CADRE_EINVAL;
    assert_int_equal(cadre_set_cookie(r, "theme", "dark"), 0);
    assert_int_equal(cadre_set_cookie(r, "sid", "abc", .path = "/app", .domain = "example.com",
                                      .max_age = 3600, .secure = true, .http_only = true,
                                      .same_site = "Strict"),
                     0);
    assert_int_equal(cadre_set_cookie(r, "old", "", .max_age = -1), 0);
    return cadre_text(r, 200, cadre_arena_printf(r->arena, "%.*s|%.*s|%s|%d", (int)a.len, a.ptr,
                                                 (int)q.len, q.ptr, none.ptr ? "?" : "-", bad));
}

static void test_cookies(void **state)
{
    (void)state;
    cadre_app *app = cadre_app_new("t");
    cadre_test_response res;
    assert_int_equal(cadre_get(app, "/c", h_cookies), 0);
    assert_int_equal(cadre_test_request(app, "GET", "/c",
                                        "Cookie: junk; a = 1 ;=x; q=\"quoted\"\r\n"
                                        "Cookie: a=2\r\n",
                                        NULL, 0, &res),
                     0);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.body, "1|quoted|-|0");
    const char *sets[3] = { NULL, NULL, NULL };
    size_t n = 0;
    for (size_t i = 0; i < res.num_headers && n < 3; i++)
        if (cadre_slice_ieq_cstr(res.headers[i].name, "Set-Cookie"))
            sets[n++] = res.headers[i].value.ptr; /* NUL-terminated by the test client */
    assert_int_equal(n, 3);
    assert_string_equal(sets[0], "theme=dark; Path=/; SameSite=Lax");
    static const char sid[] = "sid=abc; Path=/app; Domain=example.com; Expires=";
    assert_memory_equal(sets[1], sid, sizeof sid - 1);
    assert_non_null(strstr(sets[1], " GMT; Max-Age=3600; Secure; HttpOnly; SameSite=Strict"));
    assert_string_equal(sets[2], "old=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; "
                                 "SameSite=Lax");
    cadre_test_response_free(&res);
    cadre_app_free(app);
}

/* Error pages: HTML for a browser on a page route, JSON for API clients and typed routes; the
 * debug page only in development mode, with the SQL that failed. */
static int page(cadre_request *r, int status, const char *detail, void *ctx)
{
    return cadre_text(r, status, cadre_arena_printf(r->arena, "%s:%d:%s", (char *)ctx, status,
                                                    detail));
}

static void close_and_remove(void *arg)
{
    cadre_db_close(arg);
    char path[64];
    snprintf(path, sizeof path, "/tmp/cadre-app-test-%d.db", (int)getpid());
    unlink(path);
}

static int h_db_fail(cadre_request *r)
{
    cadre_db *db;
    char url[80];
    snprintf(url, sizeof url, "sqlite:///tmp/cadre-app-test-%d.db", (int)getpid());
    assert_int_equal(cadre_db_open(url, &db), 0);
    cadre_request_defer(r, close_and_remove, db);
    int64_t changes;
    return cadre_db_exec(db, "UPDATE no_such_table SET x = 1", NULL, 0, &changes, NULL);
}

static void test_error_pages(void **state)
{
    (void)state;
    cadre_app *app = make_app();
    cadre_test_response res;
    assert_int_equal(cadre_get(app, "/db-fail", h_db_fail), 0);
    assert_int_equal(CADRE_ROUTE(app, POST, "/num", h_num, cadre_none, Num, Num), 0);
    assert_int_equal(cadre_app_on_error(app, 404, page, "nf"), 0);
    assert_int_equal(cadre_app_on_error(app, 0, page, "any"), 0);
    assert_int_equal(cadre_app_on_error(app, 200, page, "x"), CADRE_EINVAL);
    static const char html[] = "Accept: text/html,application/xhtml+xml\r\n";
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);

    assert_int_equal(cadre_test_request(app, "GET", "/nothing", html, NULL, 0, &res), 0);
    assert_int_equal(res.status, 404);
    assert_string_equal(res.body, "nf:404:Not Found");
    cadre_test_response_free(&res);
    assert_int_equal(GET(app, "/nothing", &res), 0); /* an API client: JSON */
    assert_string_equal(res.body, "{\"detail\":\"Not Found\"}");
    cadre_test_response_free(&res);
    assert_int_equal(cadre_test_request(app, "GET", "/fail", html, NULL, 0, &res), 0);
    assert_int_equal(res.status, 500);
    assert_string_equal(res.body, "any:500:Internal Server Error");
    cadre_test_response_free(&res);
    assert_int_equal(cadre_test_request(app, "DELETE", "/", html, NULL, 0, &res), 0);
    assert_int_equal(res.status, 405);
    assert_string_equal(res.body, "any:405:Method Not Allowed");
    assert_non_null(cadre_test_header(&res, "Allow"));
    cadre_test_response_free(&res);
    /* a typed route is an API: JSON whatever the client accepts */
    assert_int_equal(cadre_test_request(app, "GET", "/num", html, NULL, 0, &res), 0);
    assert_int_equal(res.status, 405);
    assert_string_equal(res.body, "{\"detail\":\"Method Not Allowed\"}");
    cadre_test_response_free(&res);

    /* production: no debug page, nothing of the SQL */
    assert_int_equal(GET(app, "/db-fail", &res), 0);
    assert_int_equal(res.status, 500);
    assert_string_equal(res.body, "{\"detail\":\"Internal Server Error\"}");
    cadre_test_response_free(&res);
    /* development: the debug page, as JSON or HTML */
    cadre_app_dev_mode(app, true);
    assert_int_equal(GET(app, "/db-fail", &res), 0);
    assert_int_equal(res.status, 500);
    assert_non_null(strstr(res.body, "\"error\":\"CADRE_EIO\""));
    assert_non_null(strstr(res.body, "\"route\":\"/db-fail\""));
    assert_non_null(strstr(res.body, "\"sql\":\"UPDATE no_such_table SET x = 1\""));
    assert_non_null(strstr(res.body, "no such table"));
    cadre_test_response_free(&res);
    assert_int_equal(cadre_test_request(app, "GET", "/db-fail?<script>", html, NULL, 0, &res), 0);
    assert_int_equal(res.status, 500);
    assert_string_equal(cadre_test_header(&res, "Content-Type"), "text/html; charset=utf-8");
    assert_non_null(strstr(res.body, "<pre>UPDATE no_such_table SET x = 1</pre>"));
    assert_non_null(strstr(res.body, "/db-fail?&lt;script&gt;"));
    assert_null(strstr(res.body, "<script>"));
    cadre_test_response_free(&res);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    cadre_app_free(app);
}

/* Signed cookies: the client reads them but cannot change them; keys rotate through fallbacks. */
static int h_sign(cadre_request *r)
{
    static const char v[] = "user=42;\x01\xff"; /* any bytes */
    assert_int_equal(cadre_set_signed_cookie(r, "sid", v, sizeof v - 1, .http_only = true), 0);
    return cadre_text(r, 200, "signed");
}

static int h_verify(cadre_request *r)
{
    cadre_slice v, name;
    if (!cadre_request_query(r, "name", &name))
        name = CADRE_LIT("sid");
    int rc = cadre_request_signed_cookie(r, name.ptr, 3600, &v);
    return cadre_text(r, 200, rc == 0 ? cadre_arena_printf(r->arena, "ok:%zu:%.6s", v.len, v.ptr)
                              : rc == CADRE_ENOTFOUND ? "absent" : "refused");
}

static cadre_app *signing_app(const char *key)
{
    cadre_app *app = cadre_app_new("t");
    if (key)
        assert_int_equal(cadre_app_secret_key(app, key), 0);
    assert_int_equal(cadre_get(app, "/sign", h_sign), 0);
    assert_int_equal(cadre_get(app, "/verify", h_verify), 0);
    return app;
}

/* The answer of /verify on app with the Cookie header cookie. */
static char *verify_with(cadre_app *app, const char *cookie)
{
    char hdr[1024];
    snprintf(hdr, sizeof hdr, "Cookie: %s\r\n", cookie);
    cadre_test_response res;
    assert_int_equal(cadre_test_request(app, "GET", "/verify", hdr, NULL, 0, &res), 0);
    char *out = strdup(res.body);
    cadre_test_response_free(&res);
    return out;
}

static void test_signed_cookies(void **state)
{
    (void)state;
    const char *key_a = "a-secret-key-of-at-least-32-bytes-AAAA";
    const char *key_b = "another-secret-key-32-bytes-long-BBBB";
    cadre_app *a = signing_app(key_a);
    assert_int_equal(cadre_app_secret_key(a, "short"), CADRE_EINVAL);
    cadre_test_response res;
    assert_int_equal(GET(a, "/sign", &res), 0);
    const char *set = cadre_test_header(&res, "Set-Cookie");
    assert_non_null(set);
    set = set ? set : ""; /* for the compiler, which does not know cmocka's assert stops */
    char cookie[512];
    size_t clen = strcspn(set, ";");
    assert_true(clen > 0 && clen < sizeof cookie);
    memcpy(cookie, set, clen);
    cookie[clen] = '\0';
    assert_non_null(strstr(set, "; HttpOnly"));
    cadre_test_response_free(&res);

    char *got = verify_with(a, cookie);
    assert_string_equal(got, "ok:10:user=4");
    free(got);
    got = verify_with(a, "other=1");
    assert_string_equal(got, "absent");
    free(got);
    /* one character changed anywhere: refused */
    for (size_t i = 4; i < strlen(cookie); i += 7) {
        char tampered[512];
        snprintf(tampered, sizeof tampered, "%s", cookie);
        tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
        got = verify_with(a, tampered);
        assert_string_equal(got, "refused");
        free(got);
    }
    /* the same value and signature under another cookie's name: refused */
    char renamed[520], hdr[600];
    snprintf(renamed, sizeof renamed, "alt%s", cookie + 3);
    snprintf(hdr, sizeof hdr, "Cookie: %s\r\n", renamed);
    assert_int_equal(cadre_test_request(a, "GET", "/verify?name=alt", hdr, NULL, 0, &res), 0);
    assert_string_equal(res.body, "refused");
    cadre_test_response_free(&res);

    /* rotation: a new key, the old one a fallback, still verifies; without it, refused */
    cadre_app *b = signing_app(key_b);
    got = verify_with(b, cookie);
    assert_string_equal(got, "refused");
    free(got);
    cadre_app_free(b);
    setenv("CADRE_SECRET_KEY", key_b, 1);
    setenv("CADRE_SECRET_KEY_FALLBACKS", key_a, 1);
    b = signing_app(NULL);
    got = verify_with(b, cookie);
    assert_string_equal(got, "ok:10:user=4");
    free(got);
    cadre_app_free(b);
    unsetenv("CADRE_SECRET_KEY");
    unsetenv("CADRE_SECRET_KEY_FALLBACKS");
    cadre_app_free(a);

    /* an app that needs a key and has none does not start in production; --dev makes one */
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    cadre_app *c = signing_app(NULL);
    cadre_app_require_secret(c);
    assert_int_equal(GET(c, "/sign", &res), CADRE_EINVAL);
    char dir[] = "/tmp/cadre-key-XXXXXX", cwd[4096];
    assert_non_null(mkdtemp(dir));
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    cadre_app_dev_mode(c, true);
    assert_int_equal(GET(c, "/sign", &res), 0);
    assert_int_equal(res.status, 200);
    cadre_test_response_free(&res);
    struct stat st;
    assert_int_equal(stat(".cadre-secret-key", &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    unlink(".cadre-secret-key");
    assert_int_equal(chdir(cwd), 0);
    rmdir(dir);
    cadre_app_free(c);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
}

/* Modules: labels, dependency order (dependencies first, the app's own module last unless another
 * needs it), missing dependencies and cycles refused at the check, per-module attachments. */
static int freed_count;
static void count_free(void *p)
{
    (void)p;
    freed_count++;
}

/* A readiness check that fails while *ctx is true, saying why. */
static int queue_ready(cadre_request *r, const char **why, void *ctx)
{
    (void)r;
    if (*(bool *)ctx) {
        *why = "the queue is full";
        return CADRE_EBUSY;
    }
    return 0;
}

/* The status and body of GET target on app. */
static int health_get(cadre_app *app, const char *target, char *body, size_t cap)
{
    cadre_test_response res;
    assert_int_equal(cadre_test_request(app, "GET", target, NULL, NULL, 0, &res), 0);
    snprintf(body, cap, "%s", res.body ? res.body : "");
    int status = res.status;
    cadre_test_response_free(&res);
    return status;
}

static void test_health_routes(void **state)
{
    (void)state;
    cadre_app *app = cadre_app_new("h");
    char body[1024];
    /* every app has them */
    assert_int_equal(health_get(app, "/livez", body, sizeof body), 200);
    assert_string_equal(body, "ok\n");
    assert_int_equal(health_get(app, "/readyz", body, sizeof body), 200);
    /* a check of the app's own: 503 while it fails, naming it */
    bool full = true;
    assert_int_equal(cadre_app_ready_check(app, "queue", queue_ready, &full), 0);
    assert_int_equal(cadre_app_ready_check(app, "queue", queue_ready, &full), CADRE_EEXIST);
    assert_int_equal(health_get(app, "/readyz", body, sizeof body), 503);
    assert_string_equal(body, "not ready\n");
    assert_int_equal(health_get(app, "/readyz?verbose", body, sizeof body), 503);
    assert_string_equal(body, "{\"status\":\"fail\",\"checks\":{\"server\":[{\"status\":\"pass\"}],"
                              "\"queue\":[{\"status\":\"fail\",\"output\":\"the queue is full\"}]}}");
    full = false;
    assert_int_equal(health_get(app, "/readyz", body, sizeof body), 200);
    /* moved, and removed; a group open at the time does not prefix them */
    cadre_group_begin(app, "/api");
    assert_int_equal(cadre_app_health(app, .readyz = "/-/ready", .livez = ""), 0);
    cadre_group_end(app);
    assert_int_equal(health_get(app, "/readyz", body, sizeof body), 404);
    assert_int_equal(health_get(app, "/livez", body, sizeof body), 404);
    assert_int_equal(health_get(app, "/-/ready", body, sizeof body), 200);
    /* a route of the app's own at the same path is a conflict, said at start-up */
    cadre_get(app, "/-/ready", h_root);
    assert_int_equal(cadre_app_check(app), 1);
    cadre_app_free(app);
}

/* Its own metrics, read in-process (the test client: the app's own code may read them). */
static double answer_42(void *ctx)
{
    (void)ctx;
    return 42.5;
}

static void test_metrics_registry(void **state)
{
    (void)state;
    cadre_app *app = cadre_app_new("m");
    cadre_metric *jobs = cadre_counter(app, "jobs_done_total", "Jobs done.", "queue, result");
    static const double bounds[] = { 0.1, 1, 10 };
    cadre_metric *size = cadre_histogram(app, "batch_size", "Rows per \\batch\nwritten.", NULL,
                                         bounds, 3);
    assert_non_null(jobs);
    assert_non_null(size);
    assert_int_equal(cadre_gauge(app, "answer", "The answer.", answer_42, NULL), 0);
    assert_int_equal(cadre_gauge(app, "answer", "Again.", answer_42, NULL), CADRE_EEXIST);
    cadre_counter_add(jobs, 2, CADRE_LABELS("mail", "ok"));
    cadre_counter_add(jobs, 1, CADRE_LABELS("mail", "ok"));
    cadre_counter_add(jobs, 1, CADRE_LABELS("a \"b\"\\c\nd", "failed"));
    cadre_counter_add(size, 1, NULL); /* not a counter: nothing */
    cadre_counter_add(jobs, 5, CADRE_LABELS("mail")); /* fewer values than labels: "" for the rest */
    cadre_counter_add(jobs, 1, CADRE_LABELS("mai")); /* a key that is a prefix of another's */
    static const double seen[] = { 0.0625, 0.5, 0.5, 2, 4, 16 }; /* a sum exact in binary */
    for (size_t i = 0; i < 6; i++)
        cadre_histogram_observe(size, seen[i], NULL);
    char body[8192];
    assert_int_equal(health_get(app, "/metrics", body, sizeof body), 200);
    const char *want[] = {
        "# HELP jobs_done_total Jobs done.\n# TYPE jobs_done_total counter\n",
        "jobs_done_total{queue=\"mail\",result=\"ok\"} 3\n",
        "jobs_done_total{queue=\"mail\",result=\"\"} 5\n",
        "jobs_done_total{queue=\"mai\",result=\"\"} 1\n",
        "jobs_done_total{queue=\"a \\\"b\\\"\\\\c\\nd\",result=\"failed\"} 1\n",
        "# HELP batch_size Rows per \\\\batch\\nwritten.\n# TYPE batch_size histogram\n"
        "batch_size_bucket{le=\"0.1\"} 1\nbatch_size_bucket{le=\"1\"} 3\n"
        "batch_size_bucket{le=\"10\"} 5\nbatch_size_bucket{le=\"+Inf\"} 6\n"
        "batch_size_sum 23.0625\nbatch_size_count 6\n",
        "# TYPE answer gauge\nanswer 42.5\n",
        "# TYPE http_requests_in_flight gauge\n",
        "# TYPE process_cpu_seconds_total counter\n",
        "process_resident_memory_bytes ",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (!strstr(body, want[i]))
            fail_msg("/metrics lacks [%s]:\n%s", want[i], body);
    /* names: Prometheus' rules, each once */
    assert_null(cadre_counter(app, "2fast", "", NULL));
    assert_null(cadre_counter(app, "jobs_done_total", "", NULL));
    assert_null(cadre_counter(app, "ok_total", "", "le"));
    assert_int_equal(cadre_app_check(app), 3); /* one for each */
    cadre_app_free(app);
    /* moved, and off */
    app = cadre_app_new("m");
    assert_int_equal(cadre_app_metrics(app, .path = "/-/metrics"), 0);
    assert_int_equal(health_get(app, "/metrics", body, sizeof body), 404);
    assert_int_equal(health_get(app, "/-/metrics", body, sizeof body), 200);
    cadre_app_free(app);
}

static void test_modules(void **state)
{
    (void)state;
    cadre_app *app = cadre_app_new("shop");
    cadre_module *admin = cadre_module_add(app, "admin", .depends = CADRE_DEPENDS("auth"));
    cadre_module *own = cadre_app_own_module(app);
    cadre_module *auth = cadre_module_add(app, "auth");
    assert_non_null(admin);
    assert_non_null(auth);
    assert_non_null(own);
    assert_ptr_equal(cadre_app_own_module(app), own);
    assert_ptr_equal(cadre_app_module(app, "auth"), auth);
    assert_null(cadre_app_module(app, "nope"));
    assert_string_equal(cadre_module_label(own), "shop");
    assert_ptr_equal(cadre_module_app(auth), app);
    assert_string_equal(cadre_module_depends(admin, 0), "auth");
    assert_null(cadre_module_depends(admin, 1));
    assert_true(cadre_module_needs(admin, "auth"));
    assert_false(cadre_module_needs(auth, "admin"));
    assert_int_equal(cadre_app_check(app), 0);
    /* auth before admin although added after it; the own module last */
    assert_ptr_equal(cadre_app_module_at(app, 0), auth);
    assert_ptr_equal(cadre_app_module_at(app, 1), admin);
    assert_ptr_equal(cadre_app_module_at(app, 2), own);
    assert_null(cadre_app_module_at(app, 3));
    /* a module that needs the app's own module comes after it */
    cadre_module *late = cadre_module_add(app, "reports", .depends = CADRE_DEPENDS("shop", "admin"));
    assert_non_null(late);
    assert_ptr_equal(cadre_app_module_at(app, 2), own);
    assert_ptr_equal(cadre_app_module_at(app, 3), late);
    assert_true(cadre_module_needs(late, "auth")); /* through admin */
    /* attachments are the module's, freed with the app, last first */
    assert_int_equal(cadre_module_attach(auth, "k", &freed_count, count_free), 0);
    assert_ptr_equal(cadre_module_attachment(auth, "k"), &freed_count);
    assert_null(cadre_module_attachment(admin, "k"));
    assert_null(cadre_app_attachment(app, "k"));
    /* bad and duplicate labels are configuration errors */
    assert_null(cadre_module_add(app, "Auth"));
    assert_null(cadre_module_add(app, "9lives"));
    assert_null(cadre_module_add(app, "auth"));
    freed_count = 0;
    assert_int_equal(cadre_module_attach(NULL, "k", &freed_count, count_free), CADRE_EINVAL);
    assert_int_equal(freed_count, 1); /* given to no module: freed at once */
    cadre_app_free(app);
    assert_int_equal(freed_count, 2); /* the attachment given to NULL, and auth's */

    /* the built-in commands are registered like any other: their names are taken */
    app = cadre_app_new("shop");
    assert_int_equal(cadre_app_command(app, "serve", "serve", NULL, NULL), CADRE_EEXIST);
    assert_int_equal(cadre_app_command(app, "help", "help", NULL, NULL), CADRE_EEXIST);
    assert_int_equal(cadre_app_command(app, "migrate", "migrate", NULL, NULL), 0);
    assert_int_equal(cadre_app_command(app, "migrate", "migrate", NULL, NULL), CADRE_EEXIST);
    cadre_app_free(app);

    app = cadre_app_new("shop");
    cadre_module_add(app, "admin", .depends = CADRE_DEPENDS("auth"));
    assert_int_equal(cadre_app_check(app), 1); /* auth is missing */
    cadre_app_free(app);

    app = cadre_app_new("shop");
    cadre_module_add(app, "a", .depends = CADRE_DEPENDS("b"));
    cadre_module_add(app, "b", .depends = CADRE_DEPENDS("a"));
    assert_int_equal(cadre_app_check(app), 1); /* a cycle */
    assert_non_null(cadre_app_module_at(app, 1)); /* still listed, in the order added */
    cadre_app_free(app);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routing),
        cmocka_unit_test(test_method_not_allowed),
        cmocka_unit_test(test_bodies),
        cmocka_unit_test(test_query_and_headers),
        cmocka_unit_test(test_handler_results),
        cmocka_unit_test(test_on_response),
        cmocka_unit_test(test_middleware),
        cmocka_unit_test(test_guards_and_groups),
        cmocka_unit_test(test_url_for),
        cmocka_unit_test(test_request_state_and_defer),
        cmocka_unit_test(test_cookies),
        cmocka_unit_test(test_error_pages),
        cmocka_unit_test(test_signed_cookies),
        cmocka_unit_test(test_pipelined_raw),
        cmocka_unit_test(test_bad_routes_refuse_to_start),
        cmocka_unit_test(test_modules),
        cmocka_unit_test(test_health_routes),
        cmocka_unit_test(test_metrics_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
