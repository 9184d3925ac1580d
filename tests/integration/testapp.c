/*
 * testapp.c — the Cadre application the HTTP integration tests (http_test.py) run against.
 * Uses only the public API.
 */
#include <cadre.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEXT_PLAIN "text/plain; charset=utf-8"
#define BIG_SIZE 200000

/* "<prefix><slice>" in the request arena, answered as text/plain (explicit length: a decoded
 * parameter may hold any byte). */
static int text_prefixed(cadre_request *r, const char *prefix, cadre_slice s)
{
    size_t plen = strlen(prefix);
    char *out = cadre_alloc(r, plen + s.len + 1);
    memcpy(out, prefix, plen);
    if (s.len)
        memcpy(out + plen, s.ptr, s.len);
    out[plen + s.len] = '\0';
    return cadre_respond_ref(r, 200, TEXT_PLAIN, out, plen + s.len);
}

static int h_root(cadre_request *r)
{
    return cadre_text(r, 200, "ok");
}

static int h_plaintext(cadre_request *r)
{
    return cadre_text(r, 200, "Hello, World!");
}

/* which process answers (the binary upgrade tests) */
static int h_pid(cadre_request *r)
{
    char *out = cadre_alloc(r, 24);
    snprintf(out, 24, "%ld", (long)getpid());
    return cadre_text(r, 200, out);
}

static int h_item_get(cadre_request *r)
{
    return text_prefixed(r, "item ", cadre_request_param(r, "id"));
}

static int h_item_put(cadre_request *r)
{
    return text_prefixed(r, "put ", cadre_request_param(r, "id"));
}

static int h_item_delete(cadre_request *r)
{
    return cadre_respond(r, 204, NULL, NULL, 0);
}

static int h_echo(cadre_request *r)
{
    cadre_slice ct = cadre_request_header(r, "Content-Type");
    const char *type = "application/octet-stream";
    if (ct.ptr) {
        char *t = cadre_alloc(r, ct.len + 1);
        memcpy(t, ct.ptr, ct.len);
        t[ct.len] = '\0';
        type = t;
    }
    return cadre_respond(r, 200, type, r->body.ptr ? r->body.ptr : "", r->body.len);
}

static int h_query(cadre_request *r)
{
    cadre_slice v;
    if (!cadre_request_query(r, "key", &v))
        return cadre_error(r, 404, "no key");
    return text_prefixed(r, "", v);
}

/* ?ms=N, 0 to 600 000, into *ms; false when absent or out of range. */
static bool query_ms(cadre_request *r, int *ms)
{
    cadre_slice v;
    int64_t n = 0;
    if (!cadre_request_query(r, "ms", &v) || cadre_slice_to_i64(v, false, &n) != 0 || n < 0 ||
        n > 600000)
        return false;
    *ms = (int)n;
    return true;
}

static int h_sleep(cadre_request *r)
{
    int ms;
    if (!query_ms(r, &ms))
        return cadre_error(r, 400, "bad ms");
    int rc = cadre_sleep(r, ms);
    if (rc != 0)
        return rc;
    return cadre_text(r, 200, "slept");
}

static int h_header(cadre_request *r)
{
    cadre_slice v = cadre_request_header(r, "X-Test");
    if (!v.ptr)
        return cadre_error(r, 404, "no X-Test header");
    return text_prefixed(r, "", v);
}

static int h_fail(cadre_request *r)
{
    return CADRE_EIO;
}

static int h_big(cadre_request *r)
{
    char *buf = cadre_alloc(r, BIG_SIZE + 1);
    memset(buf, 'x', BIG_SIZE);
    buf[BIG_SIZE] = '\0';
    return cadre_respond_ref(r, 200, TEXT_PLAIN, buf, BIG_SIZE);
}

/* GET /stream?parts=N&size=K[&fail=F][&nap=1]: a streamed body of N parts of K bytes, each
 * "<part number>:" then dots to K bytes; with fail=F the writer fails at part F (after F parts);
 * with nap=1 it sleeps 1 ms before each part (a writer that suspends, as a database query does). */
typedef struct stream_state {
    int64_t parts, size, fail, at;
    bool nap;
} stream_state;

static int write_part(cadre_request *r, cadre_buf *out, void *ctx)
{
    stream_state *st = ctx;
    if (st->at == st->fail)
        return CADRE_EIO;
    if (st->nap && cadre_sleep(r, 1) != 0)
        return CADRE_EIO;
    int rc = cadre_buf_appendf(out, "%lld:", (long long)st->at);
    for (int64_t i = (int64_t)out->len; rc == 0 && i < st->size; i++)
        rc = cadre_buf_append(out, ".", 1);
    if (rc)
        return rc;
    return ++st->at < st->parts;
}

static int h_stream(cadre_request *r)
{
    stream_state *st = cadre_alloc(r, sizeof *st);
    *st = (stream_state){ .fail = -1 };
    cadre_slice v;
    if (!cadre_request_query(r, "parts", &v) || cadre_slice_to_i64(v, false, &st->parts) ||
        st->parts < 1 || !cadre_request_query(r, "size", &v) ||
        cadre_slice_to_i64(v, false, &st->size) || st->size < 16 || st->size > (1 << 20))
        return cadre_error(r, 400, "parts and size");
    if (cadre_request_query(r, "fail", &v) && cadre_slice_to_i64(v, false, &st->fail))
        return cadre_error(r, 400, "fail");
    st->nap = cadre_request_query(r, "nap", &v);
    cadre_set_header(r, "X-Parts", "given");
    return cadre_respond_stream(r, 200, TEXT_PLAIN, write_part, st);
}

/* Background coroutines (cadre_spawn). With $TESTAPP_TICKER set, each worker runs a ticker
 * that waits idle until GET /kick wakes it, counting its wake-ups (GET /ticks). */
static _Atomic long ticks;
static _Thread_local cadre_request *ticker; /* this worker's, while it runs */

static void tick(cadre_request *r, void *ctx)
{
    (void)ctx;
    ticker = r;
    int rc;
    while ((rc = cadre_idle(r, -1)) == 0)
        ticks++;
    ticker = NULL;
    cadre_log(CADRE_LOG_INFO, "ticker: %s after %ld wake-ups",
              rc == CADRE_ECANCELED ? "stopping" : cadre_strerror(rc), (long)ticks);
}

static void start_ticker(cadre_app *app, int worker, void *ctx)
{
    (void)app;
    (void)ctx;
    if (cadre_spawn(tick, NULL) != 0)
        cadre_log(CADRE_LOG_ERROR, "worker %d: no ticker", worker);
}

static int h_kick(cadre_request *r)
{
    if (!ticker)
        return cadre_error(r, 409, "no ticker on this worker");
    int rc = cadre_wake(ticker);
    return rc ? rc : cadre_text(r, 200, "kicked");
}

static int h_ticks(cadre_request *r)
{
    return cadre_text(r, 200, cadre_arena_printf(r->arena, "%ld", (long)ticks));
}

/* POST /background?ms=N: a coroutine that sleeps N ms beside the requests, then says so. */
static void nap(cadre_request *r, void *ctx)
{
    int ms = (int)(intptr_t)ctx;
    int rc = cadre_sleep(r, ms);
    cadre_log(CADRE_LOG_INFO, "background: slept %d ms (%s)", ms, rc ? cadre_strerror(rc) : "ok");
}

static int h_background(cadre_request *r)
{
    int ms;
    if (!query_ms(r, &ms))
        return cadre_error(r, 400, "bad ms");
    int rc = cadre_spawn(nap, (void *)(intptr_t)ms);
    return rc ? rc : cadre_text(r, 202, "spawned");
}

int main(int argc, char **argv)
{
    cadre_app *app = cadre_app_new("testapp");
    if (!app)
        return 1;
    if (getenv("TESTAPP_TICKER"))
        cadre_app_on_worker_start(app, start_ticker, NULL);
    cadre_get(app, "/kick", h_kick);
    cadre_get(app, "/ticks", h_ticks);
    cadre_post(app, "/background", h_background);
    cadre_get(app, "/", h_root);
    cadre_get(app, "/plaintext", h_plaintext);
    cadre_get(app, "/pid", h_pid);
    cadre_get(app, "/items/{id}", h_item_get);
    cadre_put(app, "/items/{id}", h_item_put);
    cadre_delete(app, "/items/{id}", h_item_delete);
    cadre_post(app, "/echo", h_echo);
    cadre_get(app, "/query", h_query);
    cadre_get(app, "/sleep", h_sleep);
    cadre_get(app, "/header", h_header);
    cadre_get(app, "/fail", h_fail);
    cadre_get(app, "/big", h_big);
    cadre_get(app, "/stream", h_stream);
    return cadre_main(app, argc, argv);
}
