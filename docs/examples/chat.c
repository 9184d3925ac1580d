/*
 * docs/websockets.md's example: a chat room. GET / is the page; /ws is the room's WebSocket:
 * each text a member sends goes to every member.
 *   ./chat serve --workers 1
 *   then open http://127.0.0.1:8000/ in two tabs
 *
 * Why one worker: a handler may write to any WebSocket of its own worker thread (their handlers
 * are coroutines of that thread, which run one at a time), never to one of another thread. The
 * room is therefore a list per worker thread; with several workers each would hold a room of its
 * own, deaf to the others. Broadcasting across worker threads is not provided yet.
 */
#include <cadre.h>

static const char page_html[] =
    "<!doctype html><meta charset=utf-8><title>Chat</title>\n"
    "<style>body{font:16px sans-serif;max-width:40em;margin:2em auto}"
    "#log{height:20em;overflow-y:auto;border:1px solid #ccc;padding:0 .5em}</style>\n"
    "<div id=log></div>\n"
    "<form id=f><input id=text autocomplete=off autofocus> <button>Send</button></form>\n"
    "<script>\n"
    "const log = document.getElementById('log'), text = document.getElementById('text');\n"
    "const ws = new WebSocket('ws://' + location.host + '/ws');\n"
    "function show(s) {\n"
    "  const p = document.createElement('p');\n"
    "  p.textContent = s;\n"
    "  log.append(p);\n"
    "  log.scrollTop = log.scrollHeight;\n"
    "}\n"
    "ws.onmessage = e => show(e.data);\n"
    "ws.onclose = e => show('(closed: ' + e.code + ')');\n"
    "document.getElementById('f').onsubmit = e => {\n"
    "  e.preventDefault();\n"
    "  if (text.value) ws.send(text.value);\n"
    "  text.value = '';\n"
    "};\n"
    "</script>\n";

static int page(cadre_request *r)
{
    return cadre_respond(r, 200, "text/html; charset=utf-8", page_html, sizeof page_html - 1);
}

/* A member of the room: on its handler's stack, in the list while the handler runs. */
typedef struct member {
    cadre_ws *ws;
    int id;
    struct member *next;
} member;

/* This worker thread's room: only its coroutines touch it, one at a time. */
static _Thread_local member *room;
static _Thread_local int last_id;

/* Sends text to every member but skip. A member whose send fails (its client has gone) is
 * skipped: its own handler learns it from cadre_ws_recv and leaves the room. */
static void tell_others(const member *skip, const char *text)
{
    for (member *m = room; m; m = m->next)
        if (m != skip)
            cadre_ws_send_text(m->ws, text);
}

/* Sends text to the room, the sender's own copy last: its send may wait for a slow client,
 * and the list may change while it waits. */
static void tell_all(member *me, const char *text)
{
    tell_others(me, text);
    cadre_ws_send_text(me->ws, text);
}

static int chat(cadre_request *r, cadre_ws *ws)
{
    (void)r;
    member me = { .ws = ws, .id = ++last_id, .next = room };
    room = &me;
    tell_all(&me, cadre_arena_printf(cadre_ws_scratch(ws), "guest %d joined", me.id));

    cadre_ws_message m;
    int rc;
    while ((rc = cadre_ws_recv(ws, &m)) == 0) {
        if (m.type != CADRE_WS_TEXT) {
            cadre_ws_close(ws, CADRE_WS_UNSUPPORTED_DATA, "text only"); /* recv: CADRE_ECLOSED */
            continue;
        }
        /* the scratch arena is emptied at each cadre_ws_recv */
        char *line = cadre_arena_printf(cadre_ws_scratch(ws), "guest %d: %.*s", me.id,
                                        (int)m.data.len, m.data.len ? m.data.ptr : "");
        if (!line) {
            rc = CADRE_ENOMEM;
            break;
        }
        tell_all(&me, line);
    }

    /* Out of the room before returning, whatever ended the loop: the connection is freed then. */
    for (member **p = &room; *p; p = &(*p)->next)
        if (*p == &me) {
            *p = me.next;
            break;
        }
    tell_others(NULL, cadre_arena_printf(cadre_ws_scratch(ws), "guest %d left", me.id));
    /* the client went, the server stops, or it was idle: a normal end; an error closes 1011 */
    return rc == CADRE_ECLOSED || rc == CADRE_ECANCELED || rc == CADRE_ETIMEDOUT ? 0 : rc;
}

int main(int argc, char **argv)
{
    cadre_app *app = cadre_app_new("chat");
    cadre_get(app, "/", page);
    cadre_websocket(app, "/ws", chat, .max_message = 4096);
    return cadre_main(app, argc, argv);
}
