/*
 * A connection's life: read into its buffer, parse requests (several per read when pipelined),
 * run each on a coroutine, queue the responses in order and write them in as few system calls
 * as possible. Sockets are registered once, edge-triggered, for input and output, so the hot
 * path makes no epoll_ctl call: one read, one write per batch. A file body (cadre_respond_file)
 * follows its head with sendfile, so its bytes never pass through user space.
 */
#include "http_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <stdio.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define OUT_HIGH (256 * 1024)   /* stop parsing more pipelined requests past this much output */
/* After a refusal, what the client still sends is read and discarded, so that closing does not
 * reset the connection before the client has read the answer (a client that sends its whole body
 * before reading would see a broken pipe instead of the 413). Bounded as nginx's lingering close:
 * LINGER_MS (server.c) without input, LINGER_TOTAL_MS in all, and MAX_LINGER bytes. */
#define MAX_LINGER (64u << 20)
#define LINGER_TOTAL_MS 30000
#define DRIVE_ROUNDS 32          /* reads per turn before other connections get theirs */
#define FILE_TURN (4 << 20)      /* file bytes sent per turn before other connections get theirs */
#define STREAM_HIGH (64 * 1024)  /* a streamed body's writer waits while more than this is queued */
#define STREAM_PART_MAX (64u << 20) /* one part of a streamed body, at most */

static void drive(cadre__conn *c);

static size_t in_max(const cadre__worker *w)
{
    const cadre_http_limits *l = &w->cfg->limits;
    return l->max_head + l->max_body + 2 * CADRE__BUF_SIZE;
}

static size_t out_max(void)
{
    return (size_t)1 << 30;
}

cadre__conn *cadre__conn_new(cadre__worker *w, int fd)
{
    cadre__conn *c = w->free_conns;
    if (c) {
        w->free_conns = c->next_free;
        w->num_free_conns--;
    } else {
        c = malloc(sizeof *c);
        if (!c)
            return NULL;
    }
    memset(c, 0, sizeof *c);
    c->kind = IO_CONN;
    c->fd = fd;
    c->worker = w;
    c->state = CS_HEAD;
    c->timer_kind = T_NONE;
    c->timer.prev = c->timer.next = &c->timer;
    cadre_buf_init(&c->in, in_max(w));
    cadre_buf_init(&c->out, out_max());
    c->file_fd = -1;
    c->can_write = true;
    if (fd >= 0) {
        struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c };
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            c->next_free = w->free_conns;
            w->free_conns = c;
            w->num_free_conns++;
            return NULL;
        }
        /* The first request gets the header timeout from the moment of accept. */
        cadre__timer_set(c, T_HEADER);
    }
    cadre__link_append(&w->conns, &c->all);
    w->num_conns++;
    atomic_fetch_add_explicit(&cadre__open_connections, 1, memory_order_relaxed);
    return c;
}

/* Drops a body sink that will not reach a handler. */
static void stream_drop(cadre__conn *c)
{
    if (c->streaming && c->sink.drop)
        c->sink.drop(c->sink.state);
    c->streaming = false;
    c->sink = (cadre_body_sink){ 0 };
}

void cadre__conn_close(cadre__conn *c)
{
    if (c->dead)
        return;
    stream_drop(c);
    cadre__worker *w = c->worker;
    c->dead = true;
    cadre__timer_clear(c);
    cadre__link_remove(&c->all);
    if (c->state == CS_WS)
        cadre__ws_conn_closed(c);
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
        cadre__buf_release(w, &c->in);
        cadre__buf_release(w, &c->out);
    } else {
        /* The test client reads the output after the connection is done, then frees it. */
        cadre__buf_release(w, &c->in);
    }
    if (c->slot) {
        /* The handler is suspended: let it finish (its wait completes or times out), then the
         * slot is recycled; the worker abandons it only at the shutdown deadline. A request
         * waiting for its body learns that it will not come. */
        cadre__slot *s = c->slot;
        s->conn = NULL;
        c->slot = NULL;
        if (s->body == BODY_READING) {
            s->body = BODY_FAILED;
            s->body_status = 400;
            s->body_reason = "the connection closed before the whole body arrived";
            cadre__slot_wake(s);
        }
        if (s->stream_wait || c->state == CS_WS)
            cadre__slot_wake(s); /* a streamed body's writer stops; a WebSocket's handler
                                    learns that its connection is gone */
    }
    if (c->tail_slot) {
        cadre__slot_put(w, c->tail_slot);
        c->tail_slot = NULL;
    }
    if (c->file_fd >= 0) {
        close(c->file_fd);
        c->file_fd = -1;
    }
    w->num_conns--;
    atomic_fetch_sub_explicit(&cadre__open_connections, 1, memory_order_relaxed);
    c->next_free = w->dead;
    w->dead = c;
    cadre__worker_resume_listening(w);
}

static bool output_pending(const cadre__conn *c)
{
    return c->fd >= 0 && (c->out.len > c->out_off || c->tail_slot || c->file_fd >= 0);
}

/* A body still to be written after c->out (arena tail or file): the pipelined requests behind
 * it wait, so that responses leave in order. */
static bool body_pending(const cadre__conn *c)
{
    return c->tail_slot || c->file_fd >= 0;
}

/* Queues c to be driven again after the other connections of this turn (fairness). */
static void queue_again(cadre__conn *c)
{
    if (!c->in_again) {
        c->in_again = true;
        c->next_again = c->worker->again;
        c->worker->again = c;
    }
}

/* Sends the next part of the file body once c->out is written. Returns 0 (sent some, or would
 * block) or -1 (connection broken, or the file shrank: its promised length cannot be kept). */
static int send_file(cadre__conn *c, size_t *budget)
{
    size_t n = c->file_left < *budget ? c->file_left : *budget;
    ssize_t w = sendfile(c->fd, c->file_fd, &c->file_off, n);
    if (w < 0) {
        if (errno == EINTR)
            return 0;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            c->can_write = false;
            return 0;
        }
        if (errno != EPIPE && errno != ECONNRESET) /* not the client going away: a disk error */
            cadre_log(CADRE_LOG_WARN, "sendfile: %s", strerror(errno));
        return -1;
    }
    if (w == 0) {
        cadre_log(CADRE_LOG_WARN, "a file being sent shrank by %zu bytes: closing", c->file_left);
        return -1;
    }
    c->file_left -= (size_t)w;
    *budget -= (size_t)w;
    if (c->file_left == 0) {
        close(c->file_fd);
        c->file_fd = -1;
    }
    return 0;
}

/* Writes queued output. Returns 0 (all written or would block) or -1 (connection broken). */
static int flush(cadre__conn *c)
{
    size_t budget = FILE_TURN;
    while (output_pending(c) && c->can_write) {
        if (c->out.len == c->out_off && c->file_fd >= 0) {
            if (budget == 0) {
                queue_again(c); /* still writable: no edge would come to finish it */
                return 0;
            }
            if (send_file(c, &budget) < 0)
                return -1;
            if (output_pending(c))
                cadre__timer_set(c, T_WRITE); /* progress: the write timeout starts again */
            continue;
        }
        struct iovec iov[2];
        int n = 0;
        if (c->out.len > c->out_off)
            iov[n++] = (struct iovec){ c->out.data + c->out_off, c->out.len - c->out_off };
        if (c->tail_slot)
            iov[n++] = (struct iovec){ (char *)c->tail.ptr + c->tail_off, c->tail.len - c->tail_off };
        struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)n };
        /* A file body follows: let the head share its first segment. */
        ssize_t w = sendmsg(c->fd, &msg, MSG_NOSIGNAL | (c->file_fd >= 0 ? MSG_MORE : 0));
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                c->can_write = false;
                return 0;
            }
            return -1;
        }
        size_t done = (size_t)w;
        size_t head = c->out.len - c->out_off;
        if (done >= head) {
            done -= head;
            c->out.len = c->out_off = 0;
            if (c->tail_slot) {
                c->tail_off += done;
                if (c->tail_off == c->tail.len) {
                    cadre__slot_put(c->worker, c->tail_slot);
                    c->tail_slot = NULL;
                    c->tail = (cadre_slice){ NULL, 0 };
                    c->tail_off = 0;
                }
            }
        } else {
            c->out_off += done;
        }
        if (output_pending(c))
            cadre__timer_set(c, T_WRITE); /* progress: the write timeout starts again */
    }
    if (!output_pending(c) && c->out.data && c->out.len == 0)
        cadre__buf_release(c->worker, &c->out);
    return 0;
}

int cadre__conn_flush(cadre__conn *c)
{
    return flush(c);
}

/* Refuses the request being read: error response, then close (after lingering). */
static void refuse(cadre__conn *c, int status, const char *reason)
{
    cadre__response_error(c, status, reason); /* reason may be the sink's: drop it after */
    stream_drop(c);
    c->close_after = true;
    c->state = CS_HEAD;
    c->in_off = c->in.len; /* nothing after a refusal is trusted */
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The end of a request: the response's on_response hook, the slot back to the pool (unless the
 * connection still writes a body from its arena). */
static void done(cadre__conn *c, cadre__slot *s, uint64_t bytes)
{
    cadre__worker *w = c->worker;
    c->served++;
    if (w->cfg->on_response)
        w->cfg->on_response(w->dispatch_ctx, &s->req, s->res.status, bytes, now_us() - s->start_us);
    if (c->tail_slot != s)
        cadre__slot_put(w, s);
}

/* Frames one part of a streamed body into the output: a chunk, or the bytes themselves when the
 * body ends with the connection (HTTP/1.0). Returns 0 or CADRE_ENOMEM. */
static int queue_part(cadre__conn *c, int framing, const char *data, size_t len)
{
    char size[24];
    int n = framing == STREAM_CHUNKED ? snprintf(size, sizeof size, "%zx\r\n", len) : 0;
    if (cadre_buf_reserve(&c->out, (size_t)n + len + 2) != 0)
        return CADRE_ENOMEM;
    cadre_buf_append(&c->out, size, (size_t)n);
    cadre_buf_append(&c->out, data, len);
    if (framing == STREAM_CHUNKED)
        cadre_buf_append(&c->out, "\r\n", 2);
    return 0;
}

/*
 * The coroutine of a streamed body (cadre_respond_stream), once its head is queued: calls the
 * writer for each part, queues it and writes what the socket takes; waits (cadre__slot_wait,
 * woken by drive) while more than STREAM_HIGH is queued; ends with the last chunk, or without it
 * (stream_failed) when the writer or the connection failed.
 */
static void stream_main(void *arg)
{
    cadre__slot *s = arg;
    struct cadre__response_state *res = &s->res;
    cadre_buf part;
    cadre_buf_init(&part, STREAM_PART_MAX);
    int rc = 1;
    while (rc > 0) {
        while (s->conn && s->conn->fd >= 0 && s->conn->out.len - s->conn->out_off > STREAM_HIGH) {
            s->stream_wait = true;
            cadre__slot_wait(s);
            s->stream_wait = false;
        }
        if (!s->conn)
            break;
        cadre_buf_reset(&part);
        rc = res->stream(&s->req, &part, res->stream_ctx);
        cadre__conn *c = s->conn;
        if (!c)
            break;
        if (rc < 0) {
            cadre_log(CADRE_LOG_ERROR, "%.*s %.*s: a streamed body failed after %llu bytes (%s): "
                      "closing the connection", (int)s->req.head.method.len, s->req.head.method.ptr,
                      (int)s->req.head.path.len, s->req.head.path.ptr,
                      (unsigned long long)s->stream_bytes, cadre_errname(rc));
            break;
        }
        if (part.len && queue_part(c, s->streaming, part.data, part.len) != 0) {
            rc = CADRE_ENOMEM;
            break;
        }
        s->stream_bytes += part.len;
        if (rc == 0 && s->streaming == STREAM_CHUNKED && cadre_buf_append(&c->out, "0\r\n\r\n", 5)) {
            rc = CADRE_ENOMEM;
            break;
        }
        if (flush(c) < 0) {
            rc = CADRE_ECLOSED;
            break;
        }
    }
    s->stream_failed = rc != 0;
    cadre_buf_free(&part);
}

/* A streamed body has been written (or has failed): the connection goes on with its next
 * request, or closes. */
static void stream_done(cadre__conn *c, cadre__slot *s)
{
    c->state = CS_HEAD;
    c->slot = NULL;
    if (s->stream_failed || s->streaming == STREAM_TO_CLOSE)
        c->close_after = true;
    if (s->stream_failed)
        c->in_off = c->in.len; /* nothing more is answered on it */
    done(c, s, s->stream_bytes);
}

static void finish(cadre__conn *c, cadre__slot *s)
{
    cadre__worker *w = c->worker;
    if (c->state == CS_WS) {
        /* a WebSocket's handler has returned: its close frame, then the server closes the TCP
         * connection after lingering for the client's (RFC 6455 section 7.1.1) */
        cadre__ws_end(c, s);
        c->state = CS_HEAD;
        c->slot = NULL;
        c->close_after = true;
        c->in_off = c->in.len;
        done(c, s, 0);
        return;
    }
    if (s->body == BODY_PENDING) {
        /* answered without its body (a guard refused it): what follows cannot be parsed, and
         * the rest of the body is not worth reading; close after the answer */
        c->close_after = true;
        c->in_off = c->in.len;
    }
    if (s->stream_started) { /* the coroutine that wrote a streamed body has ended */
        stream_done(c, s);
        return;
    }
    c->state = CS_HEAD;
    c->slot = NULL;
    uint64_t bytes = cadre__response_write(c, s);
    if (s->streaming) {
        /* the head is queued: the request's coroutine starts again, to write the body */
        s->stream_started = true;
        s->stream_bytes = bytes;
        c->state = CS_BUSY;
        c->slot = s;
        cadre__coro_start(&s->coro, stream_main, s);
        if (cadre__slot_run(s))
            stream_done(c, s);
        else
            cadre__slot_suspended(s);
        return;
    }
    (void)w;
    done(c, s, bytes);
}

/* The request's id: its X-Request-ID when that is 20 to 200 of [A-Za-z0-9+/=-], else 32 hex
 * digits of a per-thread generator seeded from the kernel (unique, not secret); in arena. */
static const char *request_id(const cadre_request *r, cadre_arena *arena)
{
    cadre_slice in = cadre_request_header(r, "X-Request-ID");
    bool ok = in.ptr && in.len >= 20 && in.len <= 200;
    for (size_t i = 0; ok && i < in.len; i++) {
        char ch = in.ptr[i];
        ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
             ch == '+' || ch == '/' || ch == '=' || ch == '-';
    }
    if (ok)
        return cadre_arena_strndup(arena, in.ptr, in.len);
    static _Thread_local uint64_t st[2];
    if (!st[0] && !st[1]) {
        if (getrandom(st, sizeof st, 0) != (ssize_t)sizeof st || (!st[0] && !st[1])) {
            st[0] = (uint64_t)now_us() ^ 0x9e3779b97f4a7c15u;
            st[1] = (uint64_t)(uintptr_t)&st ^ 0xbf58476d1ce4e5b9u;
        }
    }
    char *out = cadre_arena_alloc(arena, 33);
    if (!out)
        return NULL;
    static const char hex[] = "0123456789abcdef";
    for (int half = 0; half < 2; half++) { /* xorshift128+ */
        uint64_t a = st[0], b = st[1];
        st[0] = b;
        a ^= a << 23;
        st[1] = a ^ b ^ (a >> 17) ^ (b >> 26);
        uint64_t v = st[1] + b;
        for (int k = 0; k < 16; k++)
            out[half * 16 + k] = hex[(v >> (60 - 4 * k)) & 15];
    }
    out[32] = '\0';
    return out;
}

/* Runs a request on its slot; its body is complete in body (consumed with msg_len bytes of
 * input), or still arriving (pending: the head is copied into the request's arena, since the
 * buffer may move as the body comes in; msg_len is 0 then). */
static void dispatch(cadre__conn *c, const cadre_http_head *h, cadre_slice body, size_t msg_len,
                     bool pending)
{
    cadre__slot *s = cadre__slot_get(c->worker);
    if (!s) {
        refuse(c, 503, "server out of memory");
        return;
    }
    s->conn = c;
    if (pending) {
        cadre_http_error e;
        char *copy = cadre_arena_alloc(&s->arena, c->head_len);
        if (copy)
            memcpy(copy, c->in.data + c->in_off, c->head_len);
        /* the same bytes as parsed a moment ago: they parse the same */
        if (!copy || cadre_http_parse_head(copy, c->head_len, 0, &c->worker->cfg->limits,
                                           &s->req.head, s->headers, CADRE__MAX_HEADERS,
                                           &e) != (int)c->head_len) {
            cadre__slot_put(c->worker, s);
            refuse(c, 503, "server out of memory");
            return;
        }
        s->body = BODY_PENDING;
    } else {
        s->req.head = *h;
        memcpy(s->headers, h->headers, h->num_headers * sizeof *h->headers);
    }
    s->req.head.headers = s->headers;
    s->req.body = body;
    s->req.conn = c;
    if (c->worker->cfg->request_ids)
        s->req.request_id = request_id(&s->req, &s->arena);
    s->req.ctx = c->worker->dispatch_ctx;
    if (c->worker->cfg->on_response)
        s->start_us = now_us();
    c->in_off += msg_len;
    c->slot = s;
    c->state = CS_BUSY;
    if (cadre__slot_run(s))
        finish(c, s);
    else
        cadre__slot_suspended(s); /* CS_BUSY, or CS_BODY if it waits for its body */
}

/*
 * Feeds the body bytes buffered after the head to the sink and removes them from the buffer (the
 * head stays: it is parsed again at dispatch; what follows the body stays too). Returns 1 when the
 * body is complete, 0 when more must arrive, CADRE_EPARSE with *e set when the chunked coding is
 * broken, or the sink's negative error. Progress restarts the body timer: a large upload is timed
 * from its last bytes, not from its first.
 */
static int stream_body(cadre__conn *c, char *base, size_t avail, cadre_http_error *e)
{
    size_t from = c->head_len, len, next; /* next: where what follows the fed bytes starts */
    int done;
    if (!c->chunked) {
        len = avail - from < c->stream_left ? avail - from : (size_t)c->stream_left;
        c->stream_left -= len;
        done = c->stream_left == 0;
        next = from + len;
    } else {
        size_t src = c->ch_src, dst = c->ch_dst;
        int rc = cadre_http_chunked_decode(&c->ch, base, avail, &src, &dst,
                                           c->body_max > SIZE_MAX ? SIZE_MAX : (size_t)c->body_max, e);
        if (rc == CADRE_HTTP_ERROR)
            return CADRE_EPARSE;
        len = dst - from; /* decoded in place at [from, dst); the undecoded rest starts at src */
        done = rc != CADRE_HTTP_PARTIAL;
        next = src;
        c->ch_src = c->ch_dst = from;
    }
    if (len) {
        int frc = c->sink.feed(c->sink.state, base + from, len);
        if (frc < 0)
            return frc;
    }
    if (next > from) {
        memmove(base + from, base + next, avail - next);
        c->in.len -= next - from;
        if (!done)
            cadre__timer_set(c, T_BODY);
    }
    return done;
}

int cadre_body_refusal(int rc, const char *reason, const char **detail)
{
    switch (rc) {
    case CADRE_ETOOBIG: *detail = reason ? reason : "request body too large"; return 413;
    case CADRE_EPARSE: *detail = reason ? reason : "malformed request body"; return 400;
    case CADRE_ENOSPC: *detail = "Service Unavailable: no space left to store the upload"; return 503;
    default: *detail = "the request body could not be stored"; return 500;
    }
}

static int sink_refusal(const cadre_body_sink *sink, int rc, const char **why)
{
    return cadre_body_refusal(rc, sink->reason ? sink->reason(sink->state) : NULL, why);
}

/* The request in c->slot cannot have its body: it is woken to answer status (the connection
 * closes after it; what it still sends is discarded). */
static void body_failed(cadre__conn *c, int status, const char *reason)
{
    cadre__slot *s = c->slot;
    /* copied before the sink that may own it goes */
    const char *copy = cadre_arena_strndup(&s->arena, reason, strlen(reason));
    s->body_status = status;
    s->body_reason = copy ? copy : "request body refused";
    s->body = BODY_FAILED;
    stream_drop(c);
    c->close_after = true;
    c->in_off = c->in.len;
    c->state = CS_BUSY;
    cadre__slot_wake(s);
}

/* The body of the request in c->slot is complete: it is woken to go on with it. */
static void body_done(cadre__conn *c, cadre_slice body, size_t msg_len)
{
    cadre__slot *s = c->slot;
    s->req.body = body;
    if (c->streaming) { /* the sink is the request's from here */
        s->sink = c->sink;
        s->req.body_state = c->sink.state;
        c->streaming = false;
        c->sink = (cadre_body_sink){ 0 };
    }
    c->in_off += msg_len; /* the buffer holds still until the request is done: body stays valid */
    c->state = CS_BUSY;
    s->body = BODY_DONE;
    cadre__slot_wake(s);
}

/*
 * Parses and dispatches every complete request in the input buffer, in order. A request whose
 * body is complete when its head is parsed (the common case) is dispatched with it. One whose
 * body is still on the way is dispatched at once with its body pending, so that its route,
 * guards and middleware can refuse it before it is sent; when it asks for its body
 * (take_body), the connection goes to CS_BODY and reads it for the waiting request.
 */
static void process_input(cadre__conn *c)
{
    cadre__worker *w = c->worker;
    const cadre_http_limits *lim = &w->cfg->limits;
    while (!c->dead && (c->state == CS_HEAD || c->state == CS_BODY) && !c->close_after &&
           !body_pending(c) && c->out.len - c->out_off < OUT_HIGH) {
        if (!c->in.data)
            return; /* nothing buffered (and no buffer to point into) */
        char *base = c->in.data + c->in_off;
        size_t avail = c->in.len - c->in_off;
        cadre_http_head h;
        cadre_http_error e = { 0 };
        bool fresh = false; /* the head was parsed just now: no request runs for it yet */
        if (c->state == CS_HEAD) {
            if (avail == 0)
                return;
            int rc = cadre_http_parse_head(base, avail, c->prev_len, lim, &h, w->scratch,
                                           CADRE__MAX_HEADERS, &e);
            if (rc == CADRE_HTTP_PARTIAL) {
                c->prev_len = avail;
                return;
            }
            if (rc == CADRE_HTTP_ERROR) {
                refuse(c, e.status, e.reason);
                return;
            }
            c->prev_len = 0;
            c->head_len = (size_t)rc;
            if (!h.chunked && h.content_length <= 0) {
                dispatch(c, &h, (cadre_slice){ base + rc, 0 }, (size_t)rc, false);
                continue;
            }
            c->content_length = h.content_length;
            c->stream_left = (uint64_t)h.content_length;
            c->chunked = h.chunked;
            c->expect_continue = h.expect_continue && h.version == 11;
            c->sent_continue = false;
            c->body_max = lim->max_body;
            if (c->chunked) {
                cadre_http_chunked_init(&c->ch);
                c->ch_src = c->ch_dst = c->head_len;
            }
            c->state = CS_BODY;
            fresh = true;
            if (!h.chunked && (uint64_t)h.content_length > c->body_max) {
                /* its route decides: a sink may take more, a guard may refuse it first */
                dispatch(c, &h, (cadre_slice){ NULL, 0 }, 0, true);
                continue;
            }
        } else if (!c->slot) {
            refuse(c, 500, "internal error: a body without its request"); /* cannot happen */
            return;
        }
        /* CS_BODY */
        cadre_slice body;
        size_t msg_len;
        if (c->streaming) { /* only for a request that asked for it: never fresh */
            int rc = stream_body(c, base, avail, &e);
            if (rc < 0) {
                const char *why = e.reason;
                int status = e.status ? e.status : sink_refusal(&c->sink, rc, &why);
                body_failed(c, status, why);
                return;
            }
            if (rc == 0) {
                if (c->eof)
                    body_failed(c, 400, "the connection closed before the whole body arrived");
                return; /* more to come */
            }
            body = (cadre_slice){ base + c->head_len, 0 };
            msg_len = c->head_len;
        } else if (!c->chunked) {
            if (avail < c->head_len + (size_t)c->content_length) {
                if (fresh) {
                    dispatch(c, &h, (cadre_slice){ NULL, 0 }, 0, true);
                    continue;
                }
                if (c->eof)
                    body_failed(c, 400, "the connection closed before the whole body arrived");
                return;
            }
            body = (cadre_slice){ base + c->head_len, (size_t)c->content_length };
            msg_len = c->head_len + (size_t)c->content_length;
        } else {
            /* A fresh body is decoded within the server's limit even if its route would take
             * more: it is in the buffer whole only if it is small (the buffer grows from 16 KiB
             * as it fills), so this refuses nothing a route could take in practice. */
            size_t src = c->ch_src, dst = c->ch_dst;
            int rc = cadre_http_chunked_decode(&c->ch, base, avail, &src, &dst,
                                               c->body_max > SIZE_MAX ? SIZE_MAX
                                                                      : (size_t)c->body_max,
                                               &e);
            c->ch_src = src;
            c->ch_dst = dst;
            if (rc == CADRE_HTTP_PARTIAL) {
                /* The chunk framing already decoded is given back, so the body limit applies to
                 * the decoded body, not to its size on the wire (1 MB in 32-byte chunks is
                 * 1.19 MB of input). */
                if (src > dst) {
                    memmove(base + dst, base + src, avail - src);
                    c->in.len -= src - dst;
                    c->ch_src = dst;
                }
                if (fresh) {
                    dispatch(c, &h, (cadre_slice){ NULL, 0 }, 0, true);
                    continue;
                }
                if (c->eof)
                    body_failed(c, 400, "the connection closed before the whole body arrived");
                return;
            }
            if (rc == CADRE_HTTP_ERROR) {
                if (fresh)
                    refuse(c, e.status, e.reason);
                else
                    body_failed(c, e.status, e.reason);
                return;
            }
            body = (cadre_slice){ base + c->head_len, dst - c->head_len };
            msg_len = src;
        }
        if (fresh)
            dispatch(c, &h, body, msg_len, false);
        else
            body_done(c, body, msg_len);
    }
}

/* cadre_request_read_body and cadre_request_stream_body. */
static int take_body(cadre_request *r, const cadre_body_sink *sink)
{
    cadre__slot *s = cadre__slot_of(r);
    cadre__conn *c = s->conn;
    int status = 0;
    const char *why = NULL;
    if (s->body == BODY_FAILED && sink && sink->drop)
        sink->drop(sink->state); /* the request's, though it will not be fed */
    if (s->body == BODY_DONE) {
        if (!sink)
            return 0;
        if (r->body_state) { /* streamed already: that sink has it */
            if (sink->drop)
                sink->drop(sink->state);
            return 0;
        }
        /* it had arrived whole with its head: the sink takes it at once */
        s->sink = *sink;
        r->body_state = sink->state;
        int rc = r->body.len ? sink->feed(sink->state, r->body.ptr, r->body.len) : 0;
        r->body.len = 0;
        if (rc >= 0)
            return 0;
        status = sink_refusal(sink, rc, &why);
    } else if (s->body == BODY_PENDING) {
        const cadre_http_limits *lim = &s->worker->cfg->limits;
        uint64_t max = sink && sink->max_body > lim->max_body ? sink->max_body : lim->max_body;
        if (!c) {
            status = 400;
            why = "the connection closed before the whole body arrived";
        } else if (!c->chunked && (uint64_t)c->content_length > max) {
            status = 413;
            why = "request body too large";
        } else {
            if (sink) {
                c->streaming = true;
                c->sink = *sink;
            }
            c->body_max = max;
            if (c->expect_continue && !c->sent_continue && c->in.len - c->in_off == c->head_len) {
                static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
                if (cadre_buf_append(&c->out, cont, sizeof cont - 1) == 0)
                    c->sent_continue = true;
            }
            s->body = BODY_READING;
            c->state = CS_BODY;
            queue_again(c); /* what is buffered, then the socket: see process_input */
            cadre__slot_wait(s);
            if (s->body == BODY_DONE)
                return 0;
            sink = NULL; /* the connection dropped it */
        }
    }
    if (status) {
        if (sink && sink->drop && s->sink.state != sink->state)
            sink->drop(sink->state);
        const char *copy = cadre_arena_strndup(&s->arena, why, strlen(why));
        s->body = BODY_FAILED;
        s->body_status = status;
        s->body_reason = copy ? copy : "request body refused";
        if (c && c->slot == s) {
            c->close_after = true;
            c->in_off = c->in.len;
        }
    }
    cadre_close_after(r);
    return cadre_error(r, s->body_status, s->body_reason);
}

int cadre_request_read_body(cadre_request *r)
{
    return take_body(r, NULL);
}

int cadre_request_stream_body(cadre_request *r, const cadre_body_sink *sink)
{
    return take_body(r, sink);
}

/* Reads what the socket has. Returns > 0 bytes read, 0 when it would block, -1 at EOF/error. */
static int conn_read(cadre__conn *c)
{
    cadre__worker *w = c->worker;
    if (c->in_off == c->in.len) {
        c->in.len = c->in_off = 0;
    } else if (c->in_off > 0 && c->in.cap - c->in.len < 4096) {
        /* Nothing in flight points into the buffer (we never read while a request runs). */
        cadre_buf_consume(&c->in, c->in_off);
        c->in_off = 0;
    }
    cadre__buf_acquire(w, &c->in, in_max(w));
    if (c->in.cap == c->in.len) {
        size_t want = c->in.cap ? c->in.cap : CADRE__BUF_SIZE;
        if (want > c->in.max - c->in.len)
            want = c->in.max - c->in.len;
        if (want == 0 || cadre_buf_reserve(&c->in, want) != 0) {
            /* The parser refuses heads and bodies over their limits before this can happen. */
            refuse(c, 413, "request too large");
            return 0;
        }
    }
    size_t space = c->in.cap - c->in.len;
    for (;;) {
        ssize_t n = read(c->fd, c->in.data + c->in.len, space);
        if (n > 0) {
            c->in.len += (size_t)n;
            /* A short read drained the socket; the next edge tells of more. Unless the FIN came
             * in this edge: no other edge will come, the next read sees the EOF. */
            if ((size_t)n < space && !c->rdhup)
                c->can_read = false;
            return (int)(n > 0);
        }
        if (n == 0) {
            c->eof = true;
            c->can_read = false;
            return -1;
        }
        if (errno == EINTR)
            continue;
        c->can_read = false;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        c->eof = true;
        return -1;
    }
}

static void set_wait_timer(cadre__conn *c)
{
    if (c->dead)
        return;
    if (c->state == CS_BUSY && c->slot && c->slot->stream_started && output_pending(c)) {
        if (c->timer_kind != T_WRITE) /* a streamed body the client is slow to take */
            cadre__timer_set(c, T_WRITE);
    } else if (c->state == CS_BUSY) {
        cadre__timer_clear(c);
    } else if (output_pending(c)) {
        if (c->timer_kind != T_WRITE)
            cadre__timer_set(c, T_WRITE);
    } else if (c->state == CS_BODY) {
        if (c->timer_kind != T_BODY)
            cadre__timer_set(c, T_BODY);
    } else if (c->in.len > c->in_off || (c->served == 0 && !c->worker->stopping)) {
        if (c->timer_kind != T_HEADER)
            cadre__timer_set(c, T_HEADER);
    } else if (c->worker->stopping) {
        if (c->timer_kind != T_LINGER) /* its last chance to send a request (shutdown_idle) */
            cadre__timer_set(c, T_LINGER);
    } else {
        cadre__timer_set(c, T_KEEPALIVE);
    }
}

static void drive(cadre__conn *c)
{
    if (c->state == CS_WS) {
        cadre__ws_drive(c);
        return;
    }
    for (int round = 0; !c->dead; round++) {
        if (c->state == CS_LINGER) {
            /* Read until the socket is drained (the edge-triggered event will not come again
             * otherwise). */
            char sink[16384];
            bool progress = false;
            while (c->can_read && c->lingered < MAX_LINGER) {
                ssize_t n = read(c->fd, sink, sizeof sink);
                if (n > 0) {
                    c->lingered += (size_t)n;
                    progress = true;
                } else if (n < 0 && errno == EINTR) {
                    continue;
                } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                    c->can_read = false;
                } else {
                    cadre__conn_close(c); /* EOF: the client has read our answer */
                    return;
                }
            }
            if (c->lingered >= MAX_LINGER || c->worker->now_ms - c->linger_start >= LINGER_TOTAL_MS)
                cadre__conn_close(c);
            else if (progress)
                cadre__timer_set(c, T_LINGER); /* the idle time starts again */
            return;
        }
        if (c->state != CS_BUSY)
            process_input(c);
        if (c->dead)
            return;
        if (c->state == CS_WS) {
            /* the request became a WebSocket: its coroutine owns the input and its timers from
             * now on (read here, the frames would land in its buffer; the header timer left
             * set would close a socket that is merely quiet) */
            cadre__ws_drive(c);
            return;
        }
        /* Parsing pauses behind a large body or too much queued output (see process_input). */
        bool held = body_pending(c) || c->out.len - c->out_off >= OUT_HIGH;
        if (flush(c) < 0) {
            cadre__conn_close(c);
            return;
        }
        if (c->slot && c->slot->stream_wait && c->out.len - c->out_off <= STREAM_HIGH / 2)
            cadre__slot_wake(c->slot); /* a streamed body's writer: room for its next part */
        if (output_pending(c))
            break;
        if (held && c->state != CS_BUSY && c->in.len > c->in_off)
            continue; /* the output drained: the pipelined requests behind it may go on */
        if (c->close_after && c->state != CS_BUSY) {
            if (c->fd < 0) {
                cadre__conn_close(c);
                return;
            }
            /* Half-close and drain, so unread input does not turn our answer into a reset. */
            shutdown(c->fd, SHUT_WR);
            c->state = CS_LINGER;
            c->linger_start = c->worker->now_ms;
            cadre__timer_set(c, T_LINGER);
            continue;
        }
        if (c->state == CS_BUSY)
            break;
        if (c->eof) {
            cadre__conn_close(c);
            return;
        }
        if (!c->can_read || c->fd < 0)
            break;
        if (round >= DRIVE_ROUNDS) {
            /* Let other connections have their turn; come back right after. */
            queue_again(c);
            break;
        }
        int r = conn_read(c);
        if (r == 0 && !c->close_after)
            break;
    }
    if (!c->dead && c->state == CS_HEAD && c->in_off == c->in.len && c->fd >= 0) {
        /* Nothing buffered: give the buffer back, an idle connection holds no I/O memory. */
        c->in.len = c->in_off = 0;
        c->prev_len = 0;
        cadre__buf_release(c->worker, &c->in);
    }
    set_wait_timer(c);
}

void cadre__conn_run_again(cadre__worker *w)
{
    cadre__conn *list = w->again;
    w->again = NULL;
    while (list) {
        cadre__conn *c = list;
        list = c->next_again;
        c->in_again = false;
        if (!c->dead)
            drive(c);
    }
}

void cadre__conn_on_event(cadre__conn *c, uint32_t events)
{
    if (c->dead)
        return;
    if (events & EPOLLERR) {
        cadre__conn_close(c);
        return;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP))
        c->can_read = true;
    if (events & (EPOLLRDHUP | EPOLLHUP))
        c->rdhup = true;
    if (events & EPOLLOUT)
        c->can_write = true;
    drive(c);
}

void cadre__conn_on_timeout(cadre__conn *c)
{
    enum cadre__timer_kind kind = c->timer_kind;
    cadre__timer_clear(c);
    switch (kind) {
    case T_HEADER:
        if (c->in.len == c->in_off) {
            cadre__conn_close(c); /* nothing was sent: just close, as for an idle connection */
            return;
        }
        refuse(c, 408, "request head not received in time");
        break;
    case T_BODY:
        if (c->slot) { /* the request waits for it: it answers */
            body_failed(c, 408, "request body not received in time");
            return;
        }
        refuse(c, 408, "request body not received in time");
        break;
    default: /* keep-alive idle, write stalled, linger done */
        cadre__conn_close(c);
        return;
    }
    drive(c);
}

void cadre__conn_process(cadre__conn *c)
{
    drive(c);
}

void cadre__conn_request_done(cadre__conn *c, cadre__slot *s)
{
    finish(c, s);
    drive(c);
}

void cadre__conn_shutdown_idle(cadre__conn *c)
{
    /* Busy or half-received connections finish their request; the response then says
     * Connection: close (see cadre__response_write). An idle connection gets the linger time
     * (2 s), not closed at once: its client may be sending a request this moment (one that has
     * just read a response, or has just connected to be served), and a close now would reset it
     * — the race that makes restarts under load drop requests. A request that comes within the
     * time is answered, with Connection: close; a connection that stays silent then closes. */
    if (c->state != CS_HEAD || c->in.len != c->in_off || output_pending(c))
        return;
    cadre__timer_set(c, T_LINGER);
}

size_t cadre_request_peer(const cadre_request *r, char out[CADRE_PEER_SIZE])
{
    out[0] = '\0';
    if (!r || !r->conn || r->conn->fd < 0)
        return 0;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getpeername(r->conn->fd, (struct sockaddr *)&ss, &sl) != 0)
        return 0;
    const void *addr = ss.ss_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
                       : ss.ss_family == AF_INET ? (const void *)&((struct sockaddr_in *)&ss)->sin_addr
                                                 : NULL;
    char text[CADRE_PEER_SIZE];
    if (!addr || !inet_ntop(ss.ss_family, addr, text, sizeof text))
        return 0;
    /* an IPv4 client on a dual-stack socket: its plain dotted form */
    size_t skip = strncmp(text, "::ffff:", 7) == 0 && strchr(text + 7, '.') ? 7 : 0;
    memcpy(out, text + skip, strlen(text + skip) + 1);
    return strlen(out);
}
