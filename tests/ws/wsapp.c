/*
 * The WebSocket test app (tests/ws/ws_test.py, ws_conformance_test.py): routes that echo, close,
 * fail, go idle, ping, sleep between two answers, pick a subprotocol, and are guarded by a header
 * or an origin list; topics (a socket subscribed to ?t=a,b, and POST /publish from a request or
 * another thread). With $CADRE_DATABASE_URL on PostgreSQL, topics reach every instance
 * (cadre_db_relay_topics).
 */
#include <cadre.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Echoes every message back as it came (text as text, binary as binary). */
static int echo(cadre_request *r, cadre_ws *ws)
{
    (void)r;
    cadre_ws_message m;
    int rc;
    while ((rc = cadre_ws_recv(ws, &m)) == 0)
        if ((rc = cadre_ws_send(ws, m.type, m.data.ptr, m.data.len)) != 0)
            break;
    return rc == CADRE_ECLOSED || rc == CADRE_ECANCELED || rc == CADRE_ETIMEDOUT ? 0 : rc;
}

/* Answers the first message with its length, then closes with 4000 "bye". */
static int close_after_one(cadre_request *r, cadre_ws *ws)
{
    (void)r;
    cadre_ws_message m;
    int rc = cadre_ws_recv(ws, &m);
    if (rc)
        return 0;
    char text[64];
    snprintf(text, sizeof text, "got %zu bytes", m.data.len);
    cadre_ws_send_text(ws, text);
    cadre_ws_close(ws, 4000, "bye");
    rc = cadre_ws_recv(ws, &m); /* the client's answer */
    return rc == CADRE_ECLOSED ? 0 : rc;
}

/* Fails after the handshake: the connection is closed with 1011. */
static int broken(cadre_request *r, cadre_ws *ws)
{
    (void)r;
    (void)ws;
    return CADRE_EIO;
}

/* Says which subprotocol was chosen ("none"), then echoes. */
static int proto(cadre_request *r, cadre_ws *ws)
{
    const char *p = cadre_ws_protocol(ws);
    if (cadre_ws_send_text(ws, p ? p : "none") != 0)
        return 0;
    return echo(r, ws);
}

/* Says whether permessage-deflate was negotiated, then echoes. */
static int compressed(cadre_request *r, cadre_ws *ws)
{
    if (cadre_ws_send_text(ws, cadre_ws_compressed(ws) ? "compressed" : "plain") != 0)
        return 0;
    return echo(r, ws);
}

/* Says who it is for: the X-User header of the handshake, then echoes. */
static int who(cadre_request *r, cadre_ws *ws)
{
    cadre_slice u = cadre_request_header(r, "X-User");
    char *text = cadre_arena_printf(cadre_ws_scratch(ws), "hello %.*s", (int)u.len, u.ptr ? u.ptr : "");
    if (!text || cadre_ws_send_text(ws, text) != 0)
        return 0;
    return echo(r, ws);
}

/* The X-Allow: yes guard. */
static int allow(cadre_request *r, void *ctx)
{
    (void)ctx;
    return cadre_slice_eq_cstr(cadre_request_header(r, "X-Allow"), "yes")
               ? 0
               : cadre_error(r, 403, "no X-Allow: yes");
}

/* Sends count messages of size bytes as fast as the socket takes them (?count=N&size=B), then
 * closes: the client's slow reading makes the sender wait. */
static int flood(cadre_request *r, cadre_ws *ws)
{
    cadre_slice v;
    int64_t count = 100, size = 1000;
    if (cadre_request_query(r, "count", &v))
        cadre_slice_to_i64(v, false, &count);
    if (cadre_request_query(r, "size", &v))
        cadre_slice_to_i64(v, false, &size);
    char *buf = cadre_alloc(r, (size_t)size);
    for (int64_t i = 0; i < count; i++) {
        memset(buf, 'a' + (int)(i % 26), (size_t)size);
        if (cadre_ws_send(ws, CADRE_WS_BINARY, buf, (size_t)size) != 0)
            return 0;
    }
    cadre_ws_close(ws, CADRE_WS_NORMAL, "done");
    cadre_ws_message m;
    while (cadre_ws_recv(ws, &m) == 0) {
    }
    return 0;
}

/* Answers each message with "a", then 2 s later (cadre_sleep) with "b": what it sent before the
 * wait reaches the client before the wait ends, even with another message already read. */
static int sleepy(cadre_request *r, cadre_ws *ws)
{
    cadre_ws_message m;
    int rc;
    while ((rc = cadre_ws_recv(ws, &m)) == 0)
        if ((rc = cadre_ws_send_text(ws, "a")) != 0 || (rc = cadre_sleep(r, 2000)) != 0 ||
            (rc = cadre_ws_send_text(ws, "b")) != 0)
            break;
    return rc == CADRE_ECLOSED || rc == CADRE_ECANCELED ? 0 : rc;
}

/* Subscribes to the topics of ?t=a,b, says "ready TID" (its worker thread), then answers
 * "sub X" and "unsub X" with "sub X: RESULT"; other messages are ignored. */
static int topics(cadre_request *r, cadre_ws *ws)
{
    cadre_slice t = { NULL, 0 }, item;
    cadre_request_query(r, "t", &t);
    const char *list = cadre_arena_strndup(r->arena, t.ptr ? t.ptr : "", t.len);
    while (cadre_list_next(&list, &item)) {
        int rc = cadre_ws_subscribe(ws, cadre_arena_strndup(r->arena, item.ptr, item.len));
        if (rc)
            return rc;
    }
    char ready[64];
    snprintf(ready, sizeof ready, "ready %ld", (long)syscall(SYS_gettid));
    cadre_ws_message m;
    int rc = cadre_ws_send_text(ws, ready);
    while (rc == 0 && (rc = cadre_ws_recv(ws, &m)) == 0) {
        cadre_arena *a = cadre_ws_scratch(ws);
        bool sub = m.data.len > 4 && memcmp(m.data.ptr, "sub ", 4) == 0;
        bool unsub = m.data.len > 6 && memcmp(m.data.ptr, "unsub ", 6) == 0;
        if (!sub && !unsub)
            continue;
        const char *name = cadre_arena_strndup(a, m.data.ptr + (sub ? 4 : 6), m.data.len - (sub ? 4 : 6));
        int res = sub ? cadre_ws_subscribe(ws, name) : cadre_ws_unsubscribe(ws, name);
        rc = cadre_ws_send_text(ws, cadre_arena_printf(a, "%.*s: %s", (int)m.data.len, m.data.ptr,
                                                       res ? cadre_errname(res) : "0"));
    }
    return rc == CADRE_ECLOSED || rc == CADRE_ECANCELED ? 0 : rc;
}

struct publication {
    const char *topic;
    cadre_slice body;
    bool binary;
    int64_t count;
    int rc;
};

/* Publishes the body count times ("BODY N" when count > 1), stopping at an error. */
static void *publish(void *arg)
{
    struct publication *p = arg;
    for (int64_t i = 0; i < p->count && p->rc == 0; i++) {
        int type = p->binary ? CADRE_WS_BINARY : CADRE_WS_TEXT;
        if (p->count == 1) {
            p->rc = cadre_ws_publish(p->topic, type, p->body.ptr, p->body.len);
        } else {
            char text[256];
            int n = snprintf(text, sizeof text, "%.*s %lld", (int)p->body.len, p->body.ptr,
                             (long long)i);
            p->rc = cadre_ws_publish(p->topic, type, text, (size_t)n);
        }
    }
    return NULL;
}

/* POST /publish?t=TOPIC[&count=N][&binary=1][&thread=1][&size=N]: the body (or N bytes of 'x')
 * published to the topic, from this request or from a thread of its own; answers {"rc": "0"} or the error's name (400). */
static int publish_page(cadre_request *r)
{
    cadre_slice v;
    struct publication p = { .topic = "", .body = r->body, .count = 1 };
    if (cadre_request_query(r, "t", &v))
        p.topic = cadre_arena_strndup(r->arena, v.ptr, v.len);
    if (cadre_request_query(r, "count", &v))
        cadre_slice_to_i64(v, false, &p.count);
    p.binary = cadre_request_query(r, "binary", &v);
    int64_t size;
    if (cadre_request_query(r, "size", &v) && cadre_slice_to_i64(v, false, &size) == 0 && size >= 0) {
        char *x = cadre_alloc(r, (size_t)size + 1);
        memset(x, 'x', (size_t)size);
        p.body = (cadre_slice){ x, (size_t)size };
    }
    if (cadre_request_query(r, "thread", &v)) {
        pthread_t th;
        if (pthread_create(&th, NULL, publish, &p) != 0)
            return CADRE_ESYSTEM;
        pthread_join(th, NULL);
    } else {
        publish(&p);
    }
    char body[64];
    snprintf(body, sizeof body, "{\"rc\": \"%s\"}\n", p.rc ? cadre_errname(p.rc) : "0");
    return cadre_respond(r, p.rc ? 400 : 200, "application/json", body, strlen(body));
}

static int plain(cadre_request *r)
{
    return cadre_text(r, 200, "plain\n");
}

/* A page for the browser test: it opens WebSockets from this origin (tests/js/ws-clients.mjs). */
static int page(cadre_request *r)
{
    static const char html[] = "<!doctype html><meta charset=utf-8><title>ws</title><p>ws</p>";
    return cadre_respond(r, 200, "text/html; charset=utf-8", html, sizeof html - 1);
}

int main(int argc, char **argv)
{
    cadre_app *app = cadre_app_new("wsapp");
    cadre_websocket(app, "/ws/echo", echo, .max_message = 4 << 20);
    cadre_websocket(app, "/ws/plain", echo, .max_message = 4 << 20, .no_compression = true);
    cadre_websocket(app, "/ws/small", echo, .max_message = 1024);
    cadre_websocket(app, "/ws/close", close_after_one);
    cadre_websocket(app, "/ws/broken", broken);
    cadre_websocket(app, "/ws/idle", echo, .idle_timeout_ms = 300, .ping_interval_ms = -1);
    cadre_websocket(app, "/ws/ping", echo, .ping_interval_ms = 200);
    cadre_websocket(app, "/ws/proto", proto, .subprotocols = "v2.chat, chat");
    cadre_websocket(app, "/ws/compressed", compressed);
    cadre_websocket(app, "/ws/guarded", who, .guards = CADRE_GUARDS({ allow, NULL }));
    cadre_websocket(app, "/ws/origin", echo, .origins = "https://trusted.example");
    cadre_websocket(app, "/ws/flood", flood);
    cadre_websocket(app, "/ws/sleepy", sleepy);
    cadre_websocket(app, "/ws/items/{id}", who);
    cadre_websocket(app, "/ws/topic", topics);
    cadre_post(app, "/publish", publish_page);
    cadre_get(app, "/plain", plain);
    cadre_get(app, "/", page);
    cadre_db *db = NULL;
    const char *url = getenv("CADRE_DATABASE_URL");
    if (url && *url && (cadre_db_open(url, &db) != 0 || cadre_db_relay_topics(app, db) != 0)) {
        fprintf(stderr, "wsapp: cannot relay topics through %s\n", url);
        return 1;
    }
    int status = cadre_main(app, argc, argv); /* frees app */
    cadre_db_close(db);
    return status;
}
