/*
 * Private declarations of the http module: workers, connections, request slots. Never installed.
 *
 * Ownership: a worker owns its connections, its request slots (coroutine + arena + request) and
 * its pools of I/O buffers. Nothing here is shared between workers except the read-only config,
 * the dispatch function and the WebSocket topics' mailboxes (hub.c: a lock taken by publishers,
 * and by the worker only when woken for one), so the hot path takes no lock.
 */
#ifndef CADRE_HTTP_INTERNAL_H
#define CADRE_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <cadre/http.h>

#include <time.h>

#include "coro.h"


#define CADRE__MAX_HEADERS 128 /* array capacity; cadre_http_limits.max_headers applies too */

/* What an epoll event's data.ptr points to: each of these structs starts with a kind. */
enum cadre__io_kind { IO_LISTEN = 1, IO_CONN, IO_WAKE, IO_WAIT, IO_HUB };

typedef struct cadre__worker cadre__worker;
typedef struct cadre__conn cadre__conn;
typedef struct cadre__slot cadre__slot;

/* An intrusive doubly-linked list node / head. */
typedef struct cadre__link {
    struct cadre__link *prev, *next;
} cadre__link;

/* The response a handler builds (see cadre_respond and friends). */
struct cadre__response_state {
    int status;               /* 0 until set */
    const char *content_type; /* NULL for none */
    cadre_slice body;
    int file_fd;       /* cadre_respond_file: the body comes from this file (owned), or -1 */
    off_t file_off;
    size_t file_len;
    CADRE_VEC(cadre_header) headers; /* extra headers, in the arena */
    bool close; /* Connection: close after this response */
    cadre_body_writer stream; /* cadre_respond_stream: the body's writer, or NULL */
    void *stream_ctx;
};

/* A request in progress: the coroutine it runs on, its arena, and what the handler sees. */
struct cadre__slot {
    int kind; /* IO_WAIT, while waiting on an fd */
    cadre__coro coro;
    cadre_arena arena;
    cadre_request req;
    struct cadre__response_state res;
    cadre_header headers[CADRE__MAX_HEADERS];
    cadre__conn *conn;
    cadre__worker *worker;
    uint64_t start_us; /* when the head was read (only with an on_response hook) */
    int result; /* what the dispatch function returned */
    /* waiting (cadre_wait_fd / cadre_sleep) */
    int wait_fd;
    bool waiting, timed_out, woken;
    uint64_t wait_deadline; /* ms, 0 = none */
    uint64_t deadline;      /* cadre_request_deadline: ms, 0 = none */
    size_t heap_index;      /* position in the worker's timer heap, SIZE_MAX if absent */
    cadre__link busy;       /* in the worker's list of suspended requests */
    cadre_body_sink sink;   /* the sink that took the body: dropped when the slot is put back */
    /* the body: BODY_DONE (in req.body, or none), BODY_PENDING (still on the connection, read on
     * demand: cadre_request_read_body), BODY_READING (the coroutine waits for it), BODY_FAILED
     * (body_status and body_reason say why; the connection closes) */
    enum { BODY_DONE, BODY_PENDING, BODY_READING, BODY_FAILED } body;
    int body_status;
    const char *body_reason; /* in the arena */
    cadre__slot *next_ready; /* in the worker's list of slots to resume (cadre__slot_wake) */
    /* a streamed body being sent (cadre_respond_stream): its coroutine runs the writer */
    enum { STREAM_NONE, STREAM_CHUNKED, STREAM_TO_CLOSE } streaming;
    bool stream_started; /* the head is out: the coroutine now runs the writer */
    bool stream_wait;    /* the writer waits for the client to take the queued output */
    bool stream_failed;  /* the writer failed or the connection broke: close, no last chunk */
    uint64_t stream_bytes;
    cadre__slot *next_free;
    /* a background coroutine's (cadre_spawn), else NULL */
    cadre_background_fn bg_fn;
    void *bg_ctx;
    bool idle; /* in cadre_idle: a stop wakes it */
};

enum cadre__conn_state {
    CS_HEAD,      /* waiting for (more of) a request head */
    CS_BODY,      /* head parsed, body arriving for the request in slot (it waits for it) */
    CS_BUSY,      /* handler running (suspended), its body read or not wanted yet */
    CS_LINGER,    /* error sent, write side shut: draining input until EOF or timeout */
    CS_WS,        /* a WebSocket (websocket.c): its request's coroutine reads the input */
};

/* Connections open in this process, every worker's (cadre_server_connections). */
extern _Atomic size_t cadre__open_connections;

enum cadre__timer_kind { T_NONE = -1, T_HEADER = 0, T_BODY, T_KEEPALIVE, T_WRITE, T_LINGER, T_COUNT };

struct cadre__conn {
    int kind; /* IO_CONN */
    int fd;   /* -1 for the test client's in-memory connection */
    cadre__worker *worker;
    enum cadre__conn_state state;
    bool can_read, can_write; /* edge-triggered readiness not yet consumed */
    bool eof;                 /* the peer closed its side */
    bool rdhup;               /* the peer's FIN has arrived (it may still be behind unread data) */
    bool close_after;         /* close once the output is flushed */
    bool dead;                /* closed; freed at the end of the event batch */
    bool sent_continue;
    /* input: bytes [in_off, in.len) are unprocessed */
    cadre_buf in;
    size_t in_off;
    size_t prev_len; /* bytes of the current head already scanned */
    /* the request whose body is being read */
    size_t head_len;
    int64_t content_length;
    bool chunked, expect_continue;
    cadre_http_chunked ch;
    size_t ch_src, ch_dst; /* offsets relative to in_off */
    /* a body going to a sink as it arrives (cadre_request_stream_body) instead of the buffer */
    bool streaming;
    cadre_body_sink sink;
    uint64_t stream_left; /* Content-Length bytes not yet fed */
    uint64_t body_max;    /* this request's body limit (the server's, or the sink's if larger) */
    /* output */
    cadre_buf out;
    size_t out_off;
    cadre_slice tail; /* a large body written straight from its request's arena */
    size_t tail_off;
    cadre__slot *tail_slot; /* owns tail's memory until written */
    int file_fd;            /* a file body being sent with sendfile after out (owned), or -1 */
    off_t file_off;
    size_t file_left;
    cadre__slot *slot;      /* the request in the handler (CS_BUSY, CS_BODY, CS_WS) */
    struct cadre_ws *ws;    /* CS_WS: the WebSocket, in the slot's arena */
    /* timers */
    cadre__link timer;
    enum cadre__timer_kind timer_kind;
    uint64_t deadline;
    size_t lingered; /* bytes discarded while lingering */
    uint64_t linger_start;
    uint64_t served; /* requests answered on this connection */
    cadre__link all; /* in the worker's list of open connections */
    bool in_again;   /* queued to be driven again (fairness) */
    cadre__conn *next_again;
    cadre__conn *next_free;
};

struct cadre__worker {
    int id;
    int epfd;
    int listen_fd;
    struct {
        int kind;
    } listen_io, wake_io;
    int wake_fd; /* eventfd: shutdown */
    const cadre_server_config *cfg;
    cadre_dispatch_fn dispatch;
    void *dispatch_ctx;
    uint64_t now_ms; /* monotonic, updated once per loop iteration */
    time_t date_sec;
    char date_line[64]; /* "Date: ...\r\n" */
    size_t date_len;
    size_t num_conns;
    bool stopping, listening;
    bool shared_listener; /* its listening socket is another worker's too (handed over) */
    uint64_t stop_deadline;
    /* Out of descriptors (EMFILE/ENFILE): accepting pauses until accept_resume_ms (0: not
     * paused) or until a connection closes; spare_fd is a descriptor held in reserve so that one
     * waiting client can still be answered 503 and closed cleanly. An episode is logged once. */
    int spare_fd;
    uint64_t accept_resume_ms;
    bool fd_episode, fd_quiet; /* quiet: too close to the last logged one to be logged */
    uint64_t fd_logged_ms;
    uint64_t fd_refused; /* clients answered 503 during the episode */
    cadre__link timers[T_COUNT];
    unsigned timeouts[T_COUNT];
    /* pools */
    cadre__conn *free_conns;
    size_t num_free_conns;
    cadre__slot *free_slots;
    size_t num_free_slots;
    CADRE_VEC(char *) free_bufs;
    CADRE_VEC(cadre__slot *) heap; /* slots waiting with a deadline, earliest first */
    cadre__conn *dead; /* closed connections to free after the batch */
    cadre__link conns; /* every open connection */
    cadre__link busy;  /* every suspended request (its connection may be gone) */
    size_t num_background; /* background coroutines alive (cadre_spawn) */
    cadre__conn *again; /* connections that still had input when their turn ended */
    cadre__slot *ready; /* woken slots to resume after this turn's events */
    cadre_header scratch[CADRE__MAX_HEADERS];
    /* WebSocket topics (hub.c): this worker's subscriptions (its thread's alone), how many
     * (read by publishers), and its mailbox of messages published from any thread */
    struct cadre__topics *topics;
    atomic_size_t num_subs;
    pthread_mutex_t box_lock;
    CADRE_VEC(struct cadre__pub *) box;
    size_t box_bytes;
    bool box_full;
    int box_fd; /* eventfd: the mailbox has messages */
    struct {
        int kind;
    } box_io;
    struct cadre__ws_zlib *ws_zlib; /* permessage-deflate's streams (websocket.c), made at first use */
};

/* worker lifecycle (server.c) */
int cadre__worker_init(cadre__worker *w, int id, const cadre_server_config *cfg,
                       cadre_dispatch_fn dispatch, void *ctx);
void cadre__worker_destroy(cadre__worker *w);
/* One loop iteration: waits up to max_wait_ms for events, handles them and expired timers. */
void cadre__worker_poll(cadre__worker *w, int max_wait_ms);
void cadre__worker_update_time(cadre__worker *w);

/* timers (server.c) */
void cadre__timer_set(cadre__conn *c, enum cadre__timer_kind kind);
void cadre__timer_clear(cadre__conn *c);

/* slots (server.c) */
cadre__slot *cadre__slot_get(cadre__worker *w);
void cadre__slot_put(cadre__worker *w, cadre__slot *s);

/* buffers (server.c): pooled input/output buffers of CADRE__BUF_SIZE bytes */
#define CADRE__BUF_SIZE 16384
void cadre__buf_acquire(cadre__worker *w, cadre_buf *b, size_t max);
void cadre__buf_release(cadre__worker *w, cadre_buf *b);

/* connections (conn.c) */
cadre__conn *cadre__conn_new(cadre__worker *w, int fd);
void cadre__conn_on_event(cadre__conn *c, uint32_t events);
void cadre__conn_on_timeout(cadre__conn *c);
void cadre__conn_close(cadre__conn *c);
/* Processes buffered input: parses, dispatches, queues responses; then flushes. */
void cadre__conn_process(cadre__conn *c);
/* Called when a suspended request's coroutine finished. */
void cadre__conn_request_done(cadre__conn *c, cadre__slot *s);
/* Writes queued output: 0 (all written, or the socket is full) or -1 (broken). */
int cadre__conn_flush(cadre__conn *c);
/* WebSockets (websocket.c): the event loop's turn for a CS_WS connection (flush, wake the
 * coroutine when the socket has something for it); the write timer by the queued output; the
 * end of the handler (the close frame it did not send). */
void cadre__ws_drive(cadre__conn *c);
void cadre__conn_ws_timer(cadre__conn *c);
void cadre__ws_end(cadre__conn *c, cadre__slot *s);
/* The handler's coroutine of a CS_WS connection has suspended (cadre__slot_run): the output its
 * sends held back is written now (websocket.c: push). */
void cadre__ws_suspended(cadre__conn *c);
/* A CS_WS connection closing: its input buffer goes to the WebSocket (a message in it stays
 * valid until the handler's next cadre_ws_recv, as promised). */
void cadre__ws_conn_closed(cadre__conn *c);
/* WebSocket topics (hub.c). A socket's subscriptions, its worker, a message queued on it for a
 * sender that is not its handler (never waits; text already checked). */
typedef struct cadre__sub cadre__sub;
cadre__sub **cadre__ws_subs(struct cadre_ws *ws);
cadre__worker *cadre__ws_worker(struct cadre_ws *ws);
int cadre__ws_send_shared(struct cadre_ws *ws, int type, const void *data, size_t len);
/* permessage-deflate (websocket.c). The worker's compressor keeps the last message it compressed
 * for cadre__ws_send_shared, so that a publish is compressed once for all of the worker's
 * sockets: the hub forgets it before each message it delivers. */
void cadre__ws_deflate_forget(cadre__worker *w);
/* Frees the worker's zlib streams (the worker ends). */
void cadre__ws_worker_free(cadre__worker *w);
/* A Sec-WebSocket-Extensions value's first acceptable permessage-deflate offer (RFC 6455 9.1,
 * RFC 7692 7.1): every parameter known, given once, valid (server_no_context_takeover,
 * client_no_context_takeover, server_max_window_bits=9..15, client_max_window_bits with or
 * without 8..15). Returns the window bits the server compresses with (9 to 15), or 0: no
 * acceptable offer, or a value that breaks the grammar. *bits_offered: the offer named
 * server_max_window_bits (the answer must name it back). */
int cadre__ws_deflate_offer(cadre_slice value, bool *bits_offered);
/* Compresses a message as the server sends it to a socket whose client allows window bits
 * (9 to 15), with w's compressor: true with *out, the payload without the 00 00 FF FF tail (in w's
 * buffer until its next message), when that is smaller than data; false to send it as is. */
bool cadre__ws_deflate(cadre__worker *w, int bits, const void *data, size_t len, cadre_slice *out);
/* Inflates a compressed message's payload (the 00 00 FF FF RFC 7692 7.2.2 omits added back) into
 * out (emptied first), at most max bytes. z: a raw inflate stream (z_stream, windowBits -15),
 * reset first. Returns 0, CADRE_ETOOBIG (more than max: inflating stops there), CADRE_EPARSE (not
 * deflate data, or bytes after its final block) or CADRE_ENOMEM. */
int cadre__ws_inflate(void *z, const uint8_t *data, size_t len, cadre_buf *out, size_t max);
/* The worker this thread runs, or NULL (server.c). */
cadre__worker *cadre__this_worker(void);
int cadre__hub_init(cadre__worker *w);
void cadre__hub_destroy(cadre__worker *w);
/* Delivers the worker's mailbox (its eventfd was readable). */
void cadre__hub_drain(cadre__worker *w);
/* Ends the socket's subscriptions (its handler ended). */
void cadre__hub_drop_ws(cadre__worker *w, struct cadre_ws *ws);
/* The running server's workers, for publishers (NULL, 0: none). */
void cadre__hub_attach(cadre__worker *ws, int n);
/* Shutdown: closes the connection now if it has no request in flight. */
void cadre__conn_shutdown_idle(cadre__conn *c);

/* Serializes the slot's response into c->out (response.c); a file body moves to c->file_fd. A
 * streamed body (s->res.stream) queues only the head and sets s->streaming to how the body is
 * framed; the connection then runs the writer (conn.c). */
/* Queues the response of s; returns its length in bytes (head and body). */
uint64_t cadre__response_write(cadre__conn *c, cadre__slot *s);
/* Closes the file a response holds, if any (a replaced or unsent file body). */
void cadre__response_drop_file(struct cadre__response_state *res);

/* A non-empty RFC 9110 token (header names, cookie names) (response.c). */
bool cadre__is_token(const char *s);
/* Whether c is a tchar (RFC 9110 section 5.6.2): a token's character (parser.c's table). */
bool cadre__tchar(unsigned char c);

/* Runs the request's deferred cleanups, last registered first (response.c). */
void cadre__request_run_defers(cadre_request *r);
/* Queues a refusal {"detail": reason} with Connection: close (response.c). */
void cadre__response_error(cadre__conn *c, int status, const char *reason);
void cadre__update_date(cadre__worker *w);

/* Runs the slot's coroutine until it yields or ends, as the thread's current request. Returns
 * true when the handler has finished (server.c). */
bool cadre__slot_run(cadre__slot *s);
/* Resumes a suspended slot (server.c). */
void cadre__slot_resume(cadre__slot *s);
/* The slot of a request. */
static inline cadre__slot *cadre__slot_of(cadre_request *r)
{
    return CADRE_CONTAINER_OF(r, cadre__slot, req);
}
/* Suspends the slot's coroutine until cadre__slot_wake (server.c). */
void cadre__slot_wait(cadre__slot *s);
/* Has a slot suspended in cadre__slot_wait (or any wait) resumed on its worker's next turn. */
void cadre__slot_wake(cadre__slot *s);
/* Records a slot whose coroutine has just suspended (conn.c). */
void cadre__slot_suspended(cadre__slot *s);
/* Destroys a slot whose coroutine may be suspended (forced close at the shutdown deadline). */
void cadre__slot_abandon(cadre__worker *w, cadre__slot *s);
void cadre__worker_resume_listening(cadre__worker *w);
/* Runs connections queued by cadre__conn_again. */
void cadre__conn_run_again(cadre__worker *w);

/* Intrusive lists (server.c) */
void cadre__link_remove(cadre__link *l);
void cadre__link_append(cadre__link *head, cadre__link *l);

#endif
