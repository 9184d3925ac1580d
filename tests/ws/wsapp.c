/*
 * The WebSocket test app (tests/ws/ws_test.py, ws_conformance_test.py): routes that echo, close,
 * fail, go idle, ping, pick a subprotocol, and are guarded by a header or an origin list.
 */
#include <cadre.h>

#include <stdio.h>
#include <string.h>

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
    cadre_websocket(app, "/ws/small", echo, .max_message = 1024);
    cadre_websocket(app, "/ws/close", close_after_one);
    cadre_websocket(app, "/ws/broken", broken);
    cadre_websocket(app, "/ws/idle", echo, .idle_timeout_ms = 300, .ping_interval_ms = -1);
    cadre_websocket(app, "/ws/ping", echo, .ping_interval_ms = 200);
    cadre_websocket(app, "/ws/proto", proto, .subprotocols = "v2.chat, chat");
    cadre_websocket(app, "/ws/guarded", who, .guards = CADRE_GUARDS({ allow, NULL }));
    cadre_websocket(app, "/ws/origin", echo, .origins = "https://trusted.example");
    cadre_websocket(app, "/ws/flood", flood);
    cadre_websocket(app, "/ws/items/{id}", who);
    cadre_get(app, "/plain", plain);
    cadre_get(app, "/", page);
    return cadre_main(app, argc, argv);
}
