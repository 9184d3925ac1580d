/*
 * The server: W worker threads, each with its own SO_REUSEPORT listening socket, epoll instance,
 * connections, timers and pools, so that workers share nothing on the hot path. The main thread
 * only waits for SIGTERM/SIGINT (or cadre_server_stop) and then tells each worker to drain.
 */
#include "http_internal.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

_Atomic size_t cadre__open_connections;

size_t cadre_server_connections(void)
{
    return atomic_load_explicit(&cadre__open_connections, memory_order_relaxed);
}

void cadre_server_config_default(cadre_server_config *c)
{
    memset(c, 0, sizeof *c);
    c->host = "127.0.0.1";
    c->port = 8000;
    c->workers = 0;
    c->header_timeout_ms = 10000;
    c->body_timeout_ms = 30000;
    c->keepalive_timeout_ms = 60000;
    c->write_timeout_ms = 30000;
    c->shutdown_timeout_ms = 10000;
    c->request_ids = true;
    c->max_connections = 65536;
    c->stack_size = 256 * 1024;
    c->limits = cadre_http_limits_default();
}

/* ---------------------------------------------------------------------------------------------
 * Time and timers. Each timer kind has one fixed duration, so appending to the tail of its list
 * keeps the list sorted by deadline: setting, clearing and expiring are all O(1).
 * ------------------------------------------------------------------------------------------- */

#define LINGER_MS 2000

void cadre__worker_update_time(cadre__worker *w)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    w->now_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void cadre__link_remove(cadre__link *l)
{
    l->prev->next = l->next;
    l->next->prev = l->prev;
    l->prev = l->next = l;
}

void cadre__link_append(cadre__link *head, cadre__link *l)
{
    l->prev = head->prev;
    l->next = head;
    head->prev->next = l;
    head->prev = l;
}

void cadre__timer_clear(cadre__conn *c)
{
    if (c->timer_kind != T_NONE) {
        cadre__link_remove(&c->timer);
        c->timer_kind = T_NONE;
    }
}

void cadre__timer_set(cadre__conn *c, enum cadre__timer_kind kind)
{
    cadre__worker *w = c->worker;
    cadre__timer_clear(c);
    c->timer_kind = kind;
    c->deadline = w->now_ms + w->timeouts[kind];
    cadre__link_append(&w->timers[kind], &c->timer);
}

#define CONN_OF(l) CADRE_CONTAINER_OF(l, cadre__conn, timer)

/* ---------------------------------------------------------------------------------------------
 * Heap of waiting requests ordered by deadline (cadre_wait_fd / cadre_sleep timeouts vary).
 * ------------------------------------------------------------------------------------------- */

static void heap_swap(cadre__worker *w, size_t i, size_t j)
{
    cadre__slot *t = w->heap.items[i];
    w->heap.items[i] = w->heap.items[j];
    w->heap.items[j] = t;
    w->heap.items[i]->heap_index = i;
    w->heap.items[j]->heap_index = j;
}

static void heap_up(cadre__worker *w, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (w->heap.items[p]->wait_deadline <= w->heap.items[i]->wait_deadline)
            break;
        heap_swap(w, i, p);
        i = p;
    }
}

static void heap_down(cadre__worker *w, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < w->heap.len && w->heap.items[l]->wait_deadline < w->heap.items[m]->wait_deadline)
            m = l;
        if (r < w->heap.len && w->heap.items[r]->wait_deadline < w->heap.items[m]->wait_deadline)
            m = r;
        if (m == i)
            return;
        heap_swap(w, i, m);
        i = m;
    }
}

static int heap_push(cadre__worker *w, cadre__slot *s)
{
    cadre__slot **slot = CADRE_VEC_PUSH(&w->heap, NULL, 0);
    if (!slot)
        return CADRE_ENOMEM;
    *slot = s;
    s->heap_index = w->heap.len - 1;
    heap_up(w, s->heap_index);
    return 0;
}

static void heap_remove(cadre__worker *w, cadre__slot *s)
{
    size_t i = s->heap_index;
    if (i == SIZE_MAX)
        return;
    s->heap_index = SIZE_MAX;
    w->heap.len--;
    if (i != w->heap.len) {
        w->heap.items[i] = w->heap.items[w->heap.len];
        w->heap.items[i]->heap_index = i;
        heap_down(w, i);
        heap_up(w, i);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Pools
 * ------------------------------------------------------------------------------------------- */

#define MAX_FREE_SLOTS 256
#define MAX_FREE_BUFS 256

static void slot_main(void *arg)
{
    cadre__slot *s = arg;
    if (s->bg_fn) {
        s->bg_fn(&s->req, s->bg_ctx);
        return;
    }
    if (!s->worker->cfg->body_on_demand && s->body == BODY_PENDING) {
        int rc = cadre_request_read_body(&s->req); /* the dispatch function expects it read */
        if (rc) {
            s->result = rc;
            return;
        }
    }
    s->result = s->worker->dispatch(s->worker->dispatch_ctx, &s->req);
}

cadre__slot *cadre__slot_get(cadre__worker *w)
{
    cadre__slot *s = w->free_slots;
    if (s) {
        w->free_slots = s->next_free;
        w->num_free_slots--;
    } else {
        s = calloc(1, sizeof *s);
        if (!s)
            return NULL;
        if (cadre__coro_init(&s->coro, w->cfg->stack_size) != 0) {
            free(s);
            return NULL;
        }
        cadre_arena_init(&s->arena, 8192);
        s->worker = w;
        s->heap_index = SIZE_MAX;
        s->wait_fd = -1;
        s->busy.prev = s->busy.next = &s->busy;
    }
    memset(&s->res, 0, sizeof s->res);
    s->res.file_fd = -1;
    s->sink = (cadre_body_sink){ 0 };
    s->body = BODY_DONE;
    s->body_status = 0;
    s->body_reason = NULL;
    memset(&s->req, 0, sizeof s->req);
    s->req.arena = &s->arena;
    s->req.res = &s->res;
    s->result = 0;
    s->deadline = 0;
    s->streaming = STREAM_NONE;
    s->stream_started = s->stream_wait = s->stream_failed = false;
    s->stream_bytes = 0;
    s->kind = IO_WAIT;
    cadre__coro_start(&s->coro, slot_main, s);
    return s;
}

/* What a request holds outside its arena: a file body never handed to a connection, the body
 * sink that took its upload (temporary files). */
static void slot_release(cadre__slot *s)
{
    cadre__request_run_defers(&s->req);
    cadre__response_drop_file(&s->res);
    if (s->sink.drop)
        s->sink.drop(s->sink.state);
    s->sink = (cadre_body_sink){ 0 };
    s->req.body_state = NULL;
}

void cadre__slot_put(cadre__worker *w, cadre__slot *s)
{
    slot_release(s);
    cadre_arena_reset(&s->arena);
    s->conn = NULL;
    if (s->bg_fn) {
        w->num_background--;
        s->bg_fn = NULL;
        s->bg_ctx = NULL;
        s->idle = false;
    }
    if (w->num_free_slots >= MAX_FREE_SLOTS) {
        cadre_arena_free(&s->arena);
        cadre__coro_destroy(&s->coro);
        free(s);
        return;
    }
    s->next_free = w->free_slots;
    w->free_slots = s;
    w->num_free_slots++;
}

void cadre__slot_abandon(cadre__worker *w, cadre__slot *s)
{
    if (s->wait_fd >= 0) {
        epoll_ctl(w->epfd, EPOLL_CTL_DEL, s->wait_fd, NULL);
        s->wait_fd = -1;
    }
    heap_remove(w, s);
    for (cadre__slot **p = &w->ready; *p; p = &(*p)->next_ready)
        if (*p == s) {
            *p = s->next_ready;
            break;
        }
    cadre__link_remove(&s->busy);
    slot_release(s);
    /* The coroutine's frames are dropped with its stack; what it malloc'd itself is lost. */
    cadre_arena_free(&s->arena);
    cadre__coro_destroy(&s->coro);
    free(s);
}

void cadre__buf_acquire(cadre__worker *w, cadre_buf *b, size_t max)
{
    b->max = max;
    if (b->data)
        return;
    if (w->free_bufs.len) {
        b->data = w->free_bufs.items[--w->free_bufs.len];
        b->cap = CADRE__BUF_SIZE;
        b->len = 0;
    }
    /* else cadre_buf_reserve allocates on first use */
}

void cadre__buf_release(cadre__worker *w, cadre_buf *b)
{
    if (!b->data)
        return;
    char **slot =
        b->cap == CADRE__BUF_SIZE ? CADRE_VEC_PUSH(&w->free_bufs, NULL, MAX_FREE_BUFS) : NULL;
    if (!slot) { /* not pooled: another size, the pool full, or no memory to grow it */
        cadre_buf_free(b);
        return;
    }
    *slot = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
}

/* ---------------------------------------------------------------------------------------------
 * Suspending requests
 * ------------------------------------------------------------------------------------------- */

static _Thread_local cadre_request *current;

cadre_request *cadre_current_request(void)
{
    return current;
}

bool cadre__slot_run(cadre__slot *s)
{
    cadre_request *outer = current; /* a handler may resume another (test client) */
    current = &s->req;
    cadre_log_request_id(s->req.request_id);
    bool done = cadre__coro_resume(&s->coro);
    current = outer;
    cadre_log_request_id(outer ? outer->request_id : NULL);
    if (!done && s->conn && s->conn->state == CS_WS)
        cadre__ws_suspended(s->conn); /* a WebSocket handler waits: its answers go now */
    return done;
}

void cadre__slot_resume(cadre__slot *s)
{
    cadre__worker *w = s->worker;
    if (s->wait_fd >= 0) {
        epoll_ctl(w->epfd, EPOLL_CTL_DEL, s->wait_fd, NULL);
        s->wait_fd = -1;
    }
    heap_remove(w, s);
    s->waiting = false;
    if (!cadre__slot_run(s))
        return;
    cadre__link_remove(&s->busy);
    if (s->conn)
        cadre__conn_request_done(s->conn, s);
    else
        cadre__slot_put(w, s); /* its connection closed meanwhile: the answer has nowhere to go */
}

void cadre__slot_suspended(cadre__slot *s)
{
    cadre__link_append(&s->worker->busy, &s->busy);
}

void cadre__slot_wait(cadre__slot *s)
{
    s->timed_out = s->woken = false;
    s->waiting = true;
    cadre__coro_yield(&s->coro);
}

void cadre__slot_wake(cadre__slot *s)
{
    /* resumed after this turn's events (never from inside the caller: the connection that wakes
     * it is in the middle of its own work); a list, not the timer heap, so it cannot fail */
    cadre__worker *w = s->worker;
    if (!s->waiting || s->woken)
        return;
    s->woken = true;
    s->next_ready = w->ready;
    w->ready = s;
}

int cadre_wait_fd(cadre_request *r, int fd, int events, int timeout_ms)
{
    if (!r || !(r->conn || r->background))
        return CADRE_ESTATE;
    cadre__slot *s = cadre__slot_of(r);
    cadre__worker *w = s->worker;
    if (s->deadline) { /* cadre_request_deadline: no wait goes past it */
        cadre__worker_update_time(w);
        if (w->now_ms >= s->deadline)
            return CADRE_ETIMEDOUT;
        uint64_t left = s->deadline - w->now_ms;
        if (timeout_ms < 0 || (uint64_t)timeout_ms > left)
            timeout_ms = (int)(left > INT32_MAX ? INT32_MAX : left);
    }
    if (fd >= 0) {
        struct epoll_event ev = { .events = 0, .data.ptr = s };
        if (events & CADRE_WAIT_READ)
            ev.events |= EPOLLIN | EPOLLRDHUP;
        if (events & CADRE_WAIT_WRITE)
            ev.events |= EPOLLOUT;
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
            return CADRE_ESYSTEM;
        s->wait_fd = fd;
    }
    s->timed_out = s->woken = false;
    if (timeout_ms >= 0) {
        if (!s->deadline) /* read above otherwise */
            cadre__worker_update_time(w);
        s->wait_deadline = w->now_ms + (uint64_t)timeout_ms;
        if (heap_push(w, s) != 0) {
            if (fd >= 0)
                epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
            s->wait_fd = -1;
            return CADRE_ENOMEM;
        }
    }
    s->waiting = true;
    cadre__coro_yield(&s->coro);
    return s->timed_out && !s->woken ? CADRE_ETIMEDOUT : 0;
}

int cadre_wake(cadre_request *r)
{
    if (!r || !(r->conn || r->background))
        return CADRE_ESTATE;
    cadre__slot *s = cadre__slot_of(r);
    if (!s->waiting || s->woken)
        return s->waiting ? 0 : CADRE_ESTATE;
    /* resumed by the worker's next timer pass, as a deadline that has passed */
    cadre__worker *w = s->worker;
    heap_remove(w, s);
    s->wait_deadline = 0;
    if (heap_push(w, s) != 0)
        return CADRE_ENOMEM;
    s->woken = true;
    return 0;
}

int cadre_sleep(cadre_request *r, int ms)
{
    int rc = cadre_wait_fd(r, -1, 0, ms < 0 ? 0 : ms);
    if (rc != CADRE_ETIMEDOUT)
        return rc;
    /* the sleep's own end, or cut short by the request's deadline */
    cadre__slot *s = cadre__slot_of(r);
    return s->deadline && s->worker->now_ms >= s->deadline ? CADRE_ETIMEDOUT : 0;
}

/* ---------------------------------------------------------------------------------------------
 * Worker
 * ------------------------------------------------------------------------------------------- */

static int open_spare(void);

int cadre__worker_init(cadre__worker *w, int id, const cadre_server_config *cfg,
                       cadre_dispatch_fn dispatch, void *ctx)
{
    memset(w, 0, sizeof *w);
    w->id = id;
    w->cfg = cfg;
    w->dispatch = dispatch;
    w->dispatch_ctx = ctx;
    w->listen_fd = -1;
    w->spare_fd = -1;
    w->box_fd = -1; /* no mailbox until the server gives it one (cadre__hub_init) */
    w->listen_io.kind = IO_LISTEN;
    w->wake_io.kind = IO_WAKE;
    for (int i = 0; i < T_COUNT; i++)
        w->timers[i].prev = w->timers[i].next = &w->timers[i];
    w->conns.prev = w->conns.next = &w->conns;
    w->busy.prev = w->busy.next = &w->busy;
    w->timeouts[T_HEADER] = cfg->header_timeout_ms;
    w->timeouts[T_BODY] = cfg->body_timeout_ms;
    w->timeouts[T_KEEPALIVE] = cfg->keepalive_timeout_ms;
    w->timeouts[T_WRITE] = cfg->write_timeout_ms;
    w->timeouts[T_LINGER] = LINGER_MS;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd < 0)
        return CADRE_ESYSTEM;
    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->wake_fd < 0) {
        close(w->epfd);
        return CADRE_ESYSTEM;
    }
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &w->wake_io };
    epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->wake_fd, &ev);
    w->spare_fd = open_spare();
    cadre__worker_update_time(w);
    cadre__update_date(w);
    return 0;
}

static void free_dead(cadre__worker *w)
{
    cadre__conn *keep = NULL;
    while (w->dead) {
        cadre__conn *c = w->dead;
        w->dead = c->next_free;
        if (c->in_again) { /* still queued: freed once the queue has let go of it */
            c->next_free = keep;
            keep = c;
            continue;
        }
        if (w->num_free_conns < 1024) {
            c->next_free = w->free_conns;
            w->free_conns = c;
            w->num_free_conns++;
        } else {
            free(c);
        }
    }
    w->dead = keep;
}

void cadre__worker_destroy(cadre__worker *w)
{
    /* Close whatever is left (the shutdown deadline passed), requests in flight included. */
    while (w->conns.next != &w->conns)
        cadre__conn_close(CADRE_CONTAINER_OF(w->conns.next, cadre__conn, all));
    while (w->busy.next != &w->busy)
        cadre__slot_abandon(w, CADRE_CONTAINER_OF(w->busy.next, cadre__slot, busy));
    for (cadre__conn *c = w->again; c; c = c->next_again)
        c->in_again = false;
    w->again = NULL;
    free_dead(w);
    while (w->free_conns) {
        cadre__conn *c = w->free_conns;
        w->free_conns = c->next_free;
        free(c);
    }
    while (w->free_slots) {
        cadre__slot *s = w->free_slots;
        w->free_slots = s->next_free;
        cadre_arena_free(&s->arena);
        cadre__coro_destroy(&s->coro);
        free(s);
    }
    for (size_t i = 0; i < w->free_bufs.len; i++)
        free(w->free_bufs.items[i]);
    CADRE_VEC_FREE(&w->free_bufs);
    CADRE_VEC_FREE(&w->heap);
    if (w->listen_fd >= 0)
        close(w->listen_fd);
    if (w->spare_fd >= 0)
        close(w->spare_fd);
    cadre__hub_destroy(w);
    cadre__ws_worker_free(w);
    close(w->wake_fd);
    close(w->epfd);
}

/*
 * Running out of descriptors. accept() then fails while the client stays in the backlog, so the
 * listening socket stays readable: retrying at once would spin (and log) at full speed. Instead,
 * as nginx does, accepting pauses for ACCEPT_PAUSE_MS, or until one of this worker's connections
 * closes and gives a descriptor back; the connections already open are served meanwhile. One
 * waiting client per pause is answered 503 through the descriptor held in reserve, so it learns
 * at once why instead of timing out. An episode is logged when it starts and when it ends.
 */
#define ACCEPT_PAUSE_MS 200
#define FD_LOG_MS 10000

static int open_spare(void)
{
    return open("/dev/null", O_RDONLY | O_CLOEXEC);
}

static void refuse_one(cadre__worker *w)
{
    static const char body[] = "{\"detail\":\"Service Unavailable: out of file descriptors\"}";
    if (w->spare_fd < 0 && (w->spare_fd = open_spare()) < 0)
        return;
    close(w->spare_fd);
    w->spare_fd = -1;
    int fd = accept4(w->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
        char head[192], drain[4096];
        int n = snprintf(head, sizeof head,
                         "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                         "Content-Length: %zu\r\nRetry-After: 1\r\nConnection: close\r\n\r\n",
                         sizeof body - 1);
        struct iovec iov[2] = { { head, (size_t)n }, { (char *)body, sizeof body - 1 } };
        struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
        /* What arrived of the request is read first: closing with it unread would send a reset,
         * which can destroy the answer before the client reads it. */
        ssize_t got = recv(fd, drain, sizeof drain, MSG_DONTWAIT);
        (void)got;
        ssize_t sent = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)sent;
        shutdown(fd, SHUT_WR);
        close(fd);
        w->fd_refused++;
    }
    w->spare_fd = open_spare();
}

static void pause_accepting(cadre__worker *w, int err)
{
    if (!w->fd_episode) {
        w->fd_episode = true;
        w->fd_refused = 0;
        /* Episodes that follow each other closely (descriptors freed and taken again) are one
         * for the log: at most a record pair every FD_LOG_MS. */
        w->fd_quiet = w->fd_logged_ms && w->now_ms - w->fd_logged_ms < FD_LOG_MS;
        if (!w->fd_quiet) {
            w->fd_logged_ms = w->now_ms;
            cadre_log(CADRE_LOG_WARN,
                      "worker %d: accept: %s (%zu connections open): new clients wait or get 503 "
                      "until descriptors free up (raise the limit: ulimit -n)",
                      w->id, strerror(err), w->num_conns);
        }
    }
    if (err == EMFILE || err == ENFILE)
        refuse_one(w);
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->listen_fd, NULL);
    w->listening = false;
    w->accept_resume_ms = w->now_ms + ACCEPT_PAUSE_MS;
}

static void end_fd_episode(cadre__worker *w)
{
    if (!w->fd_episode)
        return;
    w->fd_episode = false;
    if (!w->fd_quiet)
        cadre_log(CADRE_LOG_INFO, "worker %d: accepting again (%llu client(s) were answered 503)",
                  w->id, (unsigned long long)w->fd_refused);
}

static void accept_all(cadre__worker *w)
{
    for (int i = 0; i < 128; i++) {
        if (w->num_conns >= w->cfg->max_connections) {
            /* Full: stop listening until a connection closes (see conn close). */
            epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->listen_fd, NULL);
            w->listening = false;
            return;
        }
        int fd = accept4(w->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            switch (errno) {
            case EAGAIN:
#if EWOULDBLOCK != EAGAIN
            case EWOULDBLOCK:
#endif
                end_fd_episode(w); /* the backlog is empty */
                return;
            /* Linux reports a network error pending on the new connection from accept(): that
             * one client is gone, the next may be fine (accept(2), "Error handling"). */
            case EINTR: case ECONNABORTED: case EPROTO: case ENETDOWN: case ENOPROTOOPT:
            case EHOSTDOWN: case ENONET: case EHOSTUNREACH: case EOPNOTSUPP: case ENETUNREACH:
            case EPERM:
                continue;
            default: /* EMFILE, ENFILE, ENOBUFS, ENOMEM: retrying now would spin */
                pause_accepting(w, errno);
                return;
            }
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        cadre__conn *c = cadre__conn_new(w, fd);
        if (!c) {
            close(fd);
            pause_accepting(w, ENOMEM);
            return;
        }
    }
}

/* Called when a connection closes (a descriptor came back) and when a pause ends. */
void cadre__worker_resume_listening(cadre__worker *w)
{
    if (!w->listening && !w->stopping && w->listen_fd >= 0 &&
        w->num_conns < w->cfg->max_connections) {
        struct epoll_event ev = { .events = EPOLLIN | (w->shared_listener ? EPOLLEXCLUSIVE : 0),
                                  .data.ptr = &w->listen_io };
        if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->listen_fd, &ev) == 0) {
            w->listening = true;
            w->accept_resume_ms = 0;
        }
    }
}

static void begin_stop(cadre__worker *w)
{
    if (w->stopping)
        return;
    w->stopping = true;
    w->stop_deadline = w->now_ms + w->cfg->shutdown_timeout_ms;
    /* background coroutines waiting idle hear of it now (cadre_idle returns CADRE_ECANCELED) */
    for (cadre__link *l = w->busy.next; l != &w->busy; l = l->next) {
        cadre__slot *s = CADRE_CONTAINER_OF(l, cadre__slot, busy);
        if ((s->bg_fn && s->idle) || (s->conn && s->conn->state == CS_WS))
            cadre__slot_wake(s); /* the ready list: cannot fail, as the timer heap can; a
                                    WebSocket's handler closes its socket with 1001 */
    }
    if (w->listen_fd >= 0) {
        epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->listen_fd, NULL);
        close(w->listen_fd);
        w->listen_fd = -1;
        w->listening = false;
    }
    /* Idle connections go now; the rest close after their response. */
    cadre__link *l = w->conns.next;
    while (l != &w->conns) {
        cadre__link *next = l->next;
        cadre__conn_shutdown_idle(CADRE_CONTAINER_OF(l, cadre__conn, all));
        l = next;
    }
}

static int next_timeout(cadre__worker *w, int max_wait_ms)
{
    uint64_t next = UINT64_MAX;
    for (int k = 0; k < T_COUNT; k++)
        if (w->timers[k].next != &w->timers[k] && CONN_OF(w->timers[k].next)->deadline < next)
            next = CONN_OF(w->timers[k].next)->deadline;
    if (w->heap.len && w->heap.items[0]->wait_deadline < next)
        next = w->heap.items[0]->wait_deadline;
    if (w->stopping && w->stop_deadline < next)
        next = w->stop_deadline;
    if (w->accept_resume_ms && w->accept_resume_ms < next)
        next = w->accept_resume_ms;
    if (next == UINT64_MAX)
        return max_wait_ms;
    /* Wake at the second boundary at most every second anyway (Date header freshness is done
     * on demand, so no need); round up so we never spin just before a deadline. */
    uint64_t d = next > w->now_ms ? next - w->now_ms : 0;
    if (max_wait_ms >= 0 && d > (uint64_t)max_wait_ms)
        d = (uint64_t)max_wait_ms;
    return (int)d;
}

static void run_ready(cadre__worker *w)
{
    while (w->ready) {
        cadre__slot *s = w->ready;
        w->ready = s->next_ready;
        s->next_ready = NULL;
        if (s->waiting)
            cadre__slot_resume(s);
    }
}

static void run_timers(cadre__worker *w)
{
    if (w->accept_resume_ms && w->accept_resume_ms <= w->now_ms)
        cadre__worker_resume_listening(w);
    for (int k = 0; k < T_COUNT; k++) {
        /* bounded: each expiry removes the connection from this list */
        while (w->timers[k].next != &w->timers[k]) {
            cadre__conn *c = CONN_OF(w->timers[k].next);
            if (c->deadline > w->now_ms)
                break;
            cadre__conn_on_timeout(c);
        }
    }
    while (w->heap.len && w->heap.items[0]->wait_deadline <= w->now_ms) {
        cadre__slot *s = w->heap.items[0];
        s->timed_out = true;
        cadre__slot_resume(s);
    }
}

void cadre__worker_poll(cadre__worker *w, int max_wait_ms)
{
    struct epoll_event evs[256];
    int n = epoll_wait(w->epfd, evs, 256, w->again || w->ready ? 0 : next_timeout(w, max_wait_ms));
    cadre__worker_update_time(w);
    for (int i = 0; i < n; i++) {
        int kind = *(int *)evs[i].data.ptr;
        switch (kind) {
        case IO_CONN:
            cadre__conn_on_event(evs[i].data.ptr, evs[i].events);
            break;
        case IO_LISTEN:
            if (!w->stopping)
                accept_all(w);
            break;
        case IO_WAIT: {
            cadre__slot *s = evs[i].data.ptr;
            if (s->waiting && s->wait_fd >= 0)
                cadre__slot_resume(s);
            break;
        }
        case IO_WAKE: {
            uint64_t v;
            if (read(w->wake_fd, &v, sizeof v) == (ssize_t)sizeof v)
                begin_stop(w);
            break;
        }
        case IO_HUB:
            cadre__hub_drain(w);
            break;
        default:
            break;
        }
    }
    cadre__conn_run_again(w);
    run_ready(w);
    run_timers(w);
    free_dead(w);
}

/* ---------------------------------------------------------------------------------------------
 * Listening sockets and threads
 * ------------------------------------------------------------------------------------------- */

/*
 * True when something already listens on the address. SO_REUSEPORT would otherwise let a second
 * copy of the app join the first one's port silently; a probe bound without it fails instead.
 */
static bool address_taken(const struct addrinfo *ai)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one); /* TIME_WAIT is no conflict */
    bool taken = bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno == EADDRINUSE;
    close(fd);
    return taken;
}

/* Opens one SO_REUSEPORT listening socket; first (the first worker's) also checks that the
 * address is free. */
static int open_listener(const char *host, int port, bool first, int *bound_port);

int cadre_listen(const char *host, int port, int *bound_port)
{
    return open_listener(host, port, true, bound_port);
}

static int open_listener(const char *host, int port, bool first, int *bound_port)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *res = NULL;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    int gai = getaddrinfo(host, portstr, &hints, &res);
    if (gai != 0) {
        cadre_log(CADRE_LOG_ERROR, "cannot resolve listen address %s: %s", host, gai_strerror(gai));
        return -1;
    }
    int fd = -1, err = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (first && port != 0 && address_taken(ai)) {
            err = EADDRINUSE;
            continue;
        }
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 4096) == 0)
            break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        cadre_log(CADRE_LOG_ERROR, "cannot listen on %s:%d: %s", host, port, strerror(err));
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        *bound_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                     : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

/* Sockets were handed to this process (LISTEN_PID names it), systemd's way or an upgrade's. */
static bool handed_sockets(void)
{
    const char *pid = getenv("LISTEN_PID");
    return pid && getenv("LISTEN_FDS") && strtol(pid, NULL, 10) == (long)getpid();
}

bool cadre_server_upgrading(void)
{
    return handed_sockets() && getenv("CADRE_UPGRADE_FD");
}

/*
 * Listening sockets handed over by whoever started the server, in systemd's protocol
 * (sd_listen_fds): LISTEN_PID is this process, LISTEN_FDS sockets from descriptor 3. A supervisor
 * that holds them across restarts (serve --reload, systemd socket activation, the process this
 * one upgrades) keeps their accept queues: a connection made while no server runs waits in the
 * queue and is answered by the next one, never refused. The variables are unset, so that a child
 * of the app does not take them too. A binary upgrade also names, in CADRE_UPGRADE_FD, the pipe
 * on which this process tells the old one that it serves (*upgrade_fd, else -1).
 * Returns how many (0: none handed over), each checked to be a listening stream socket (else -1,
 * logged).
 */
static int inherited_listeners(int *upgrade_fd)
{
    *upgrade_fd = -1;
    if (!handed_sockets())
        return 0;
    long n = strtol(getenv("LISTEN_FDS"), NULL, 10);
    const char *up = getenv("CADRE_UPGRADE_FD");
    if (up && strtol(up, NULL, 10) == 3 + n && fcntl((int)(3 + n), F_GETFD) >= 0) {
        *upgrade_fd = (int)(3 + n);
        fcntl(*upgrade_fd, F_SETFD, FD_CLOEXEC);
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    unsetenv("CADRE_UPGRADE_FD");
    if (n < 1 || n > 1024)
        return 0;
    for (int fd = 3; fd < 3 + n; fd++) {
        int listening = 0, type = 0;
        socklen_t l1 = sizeof listening, l2 = sizeof type;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &l1) != 0 || !listening ||
            getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l2) != 0 || type != SOCK_STREAM) {
            cadre_log(CADRE_LOG_ERROR, "LISTEN_FDS: descriptor %d is not a listening stream "
                                       "socket", fd);
            return -1;
        }
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    }
    return (int)n;
}

/*
 * Tells systemd how the service is doing (sd_notify's protocol, documented by systemd as stable
 * for others to speak: one datagram to the AF_UNIX socket NOTIFY_SOCKET names, '@' for an
 * abstract one), when systemd started us with Type=notify; else nothing. Written here rather than
 * linking libsystemd for one sendto: a device without systemd runs the same binary.
 */
static void notify_systemd(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    size_t len = path ? strlen(path) : 0;
    if (len < 2 || len >= sizeof sa.sun_path || (path[0] != '/' && path[0] != '@'))
        return;
    memcpy(sa.sun_path, path, len);
    if (path[0] == '@')
        sa.sun_path[0] = '\0';
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
               (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
        cadre_log(CADRE_LOG_WARN, "NOTIFY_SOCKET %s: %s", path, strerror(errno));
    close(fd);
}

/*
 * A binary upgrade (SIGUSR2, nginx's model): this process starts its program again — the file
 * its argv[0] names now, so a new build moved into place — with its listening sockets handed
 * over (LISTEN_FDS) and a pipe on which the new process says when it serves. Until then this one
 * serves on; if the new one fails, this one goes on as if nothing happened. The sockets are the
 * same kernel sockets throughout: their accept queues never close, so no connection is refused.
 */
typedef struct upgrade {
    pid_t pid;   /* the new process, or 0 */
    int ready;   /* read end of its pipe (-1) */
} upgrade;

/* argv as this process was started (/proc/self/cmdline), NULL-terminated, in one allocation. */
static char **own_argv(void)
{
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ssize_t n;
    while (buf && len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    close(fd);
    if (!buf || len == 0 || len >= cap - 1) {
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    size_t argc = 0;
    for (size_t i = 0; i < len; i++)
        argc += buf[i] == '\0';
    char **argv = malloc((argc + 1) * sizeof *argv + len + 1);
    if (argv) {
        char *text = (char *)(argv + argc + 1);
        memcpy(text, buf, len + 1);
        for (size_t i = 0, k = 0; k < argc; k++) {
            argv[k] = text + i;
            i += strlen(text + i) + 1;
        }
        argv[argc] = NULL;
    }
    free(buf);
    return argv;
}

/* The program to run: argv0 itself when it has a '/', else found on PATH as the shell did. */
static bool program_path(const char *argv0, char *out, size_t size)
{
    if (strchr(argv0, '/'))
        return (size_t)snprintf(out, size, "%s", argv0) < size && access(out, X_OK) == 0;
    const char *path = getenv("PATH");
    for (const char *p = path ? path : "/usr/local/bin:/usr/bin:/bin"; *p;) {
        const char *end = strchr(p, ':');
        size_t dl = end ? (size_t)(end - p) : strlen(p);
        if ((size_t)snprintf(out, size, "%.*s/%s", (int)dl, dl ? p : ".", argv0) < size &&
            access(out, X_OK) == 0)
            return true;
        p += dl + (end != NULL);
    }
    return false;
}

static void start_upgrade(upgrade *up, const int *socks, int n, const sigset_t *mask)
{
    extern char **environ;
    if (up->pid) {
        cadre_log(CADRE_LOG_WARN, "SIGUSR2: an upgrade is already under way (process %d)",
                  (int)up->pid);
        return;
    }
    char **argv = own_argv(), **envp = NULL, path[4096];
    int high[1025], nhigh = 0, pipefd[2] = { -1, -1 };
    if (!argv || !argv[0]) {
        cadre_log(CADRE_LOG_ERROR, "SIGUSR2: cannot read this process's command line "
                                   "(/proc/self/cmdline): no upgrade");
        goto out;
    }
    if (!program_path(argv[0], path, sizeof path)) {
        cadre_log(CADRE_LOG_ERROR, "SIGUSR2: %s is not an executable file (%s): no upgrade",
                  argv[0], strerror(errno));
        goto out;
    }
    /* the environment, less any handover of ours, plus the new one's */
    size_t ne = 0;
    while (environ[ne])
        ne++;
    envp = malloc((ne + 4) * sizeof *envp);
    char fds_var[32], up_var[40], pid_var[32];
    if (!envp)
        goto out;
    size_t k = 0;
    for (size_t i = 0; i < ne; i++)
        if (strncmp(environ[i], "LISTEN_", 7) != 0 && strncmp(environ[i], "CADRE_UPGRADE_FD=", 17) != 0)
            envp[k++] = environ[i];
    snprintf(fds_var, sizeof fds_var, "LISTEN_FDS=%d", n);
    snprintf(up_var, sizeof up_var, "CADRE_UPGRADE_FD=%d", 3 + n);
    memcpy(pid_var, "LISTEN_PID=", 12);
    envp[k++] = fds_var;
    envp[k++] = up_var;
    envp[k++] = pid_var;
    envp[k] = NULL;
    /* descriptors above 3 + n, so that moving them to 3.. in the child overwrites none of them */
    if (pipe2(pipefd, O_CLOEXEC) != 0)
        goto fail;
    for (int i = 0; i <= n; i++) {
        high[i] = fcntl(i < n ? socks[i] : pipefd[1], F_DUPFD_CLOEXEC, 3 + n + 1);
        if (high[i] < 0)
            goto fail;
        nhigh++;
    }
    pid_t pid = fork();
    if (pid < 0)
        goto fail;
    if (pid == 0) { /* the child: only async-signal-safe calls until execve */
        for (int i = 0; i <= n; i++)
            if (dup2(high[i], 3 + i) < 0)
                _exit(127);
        char digits[24];
        int nd = 0;
        for (long v = (long)getpid(); v; v /= 10)
            digits[nd++] = (char)('0' + v % 10);
        for (int i = 0; i < nd; i++)
            pid_var[11 + i] = digits[nd - 1 - i];
        pid_var[11 + nd] = '\0';
        sigprocmask(SIG_SETMASK, mask, NULL);
        execve(path, argv, envp);
        static const char msg[] = "cadre: SIGUSR2: cannot start the new program\n";
        ssize_t w = write(2, msg, sizeof msg - 1);
        (void)w;
        _exit(127);
    }
    cadre_log(CADRE_LOG_INFO, "SIGUSR2: upgrading: started %s as process %d, which takes over "
                              "once it listens", path, (int)pid);
    up->pid = pid;
    up->ready = pipefd[0];
    pipefd[0] = -1;
    goto out;
fail:
    cadre_log(CADRE_LOG_ERROR, "SIGUSR2: cannot start the new process: %s", strerror(errno));
out:
    for (int i = 0; i < nhigh; i++)
        close(high[i]);
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    free(envp);
    free(argv);
}

/* The new process has spoken (or died): true when it serves and this one is to stop. */
static bool upgrade_done(upgrade *up)
{
    char b;
    ssize_t n;
    do
        n = read(up->ready, &b, 1);
    while (n < 0 && errno == EINTR);
    close(up->ready);
    up->ready = -1;
    pid_t pid = up->pid;
    up->pid = 0;
    if (n == 1) {
        cadre_log(CADRE_LOG_INFO, "upgraded: process %d serves now; this one stops accepting and "
                                  "finishes its requests", (int)pid);
        return true;
    }
    /* it is exiting: its status comes within moments (bounded: a process that closed the pipe
     * and lives on is reported as such) */
    int st = 0;
    pid_t r = 0;
    for (int i = 0; i < 200 && r == 0; i++) {
        r = waitpid(pid, &st, WNOHANG);
        if (r == 0)
            nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000000 }, NULL);
    }
    if (r == pid && WIFEXITED(st))
        cadre_log(CADRE_LOG_ERROR, "upgrade failed: the new process exited with status %d "
                                   "before it listened (its log says why); this one serves on",
                  WEXITSTATUS(st));
    else if (r == pid && WIFSIGNALED(st))
        cadre_log(CADRE_LOG_ERROR, "upgrade failed: the new process was killed by signal %d "
                                   "before it listened; this one serves on", WTERMSIG(st));
    else
        cadre_log(CADRE_LOG_ERROR, "upgrade failed: the new process closed its pipe before it "
                                   "listened; this one serves on");
    return false;
}

static int stop_fd = -1; /* eventfd written by cadre_server_stop */

void cadre_server_stop(void)
{
    uint64_t one = 1;
    if (stop_fd >= 0) {
        ssize_t n = write(stop_fd, &one, sizeof one);
        (void)n;
    }
}

/* A second stop signal while requests drain: the workers close what is left at once. */
static atomic_bool force_stop;

static _Thread_local cadre__worker *this_worker; /* the worker this thread runs, or NULL */

cadre__worker *cadre__this_worker(void)
{
    return this_worker;
}

int cadre_spawn(cadre_background_fn fn, void *ctx)
{
    cadre__worker *w = this_worker;
    if (!fn || !w || w->stopping)
        return !fn ? CADRE_EINVAL : CADRE_ESTATE;
    cadre__slot *s = cadre__slot_get(w);
    if (!s)
        return CADRE_ENOMEM;
    s->bg_fn = fn;
    s->bg_ctx = ctx;
    s->req.background = true;
    w->num_background++;
    /* first run on the worker's next turn, as a woken wait: never inside the caller */
    cadre__slot_suspended(s);
    s->waiting = true;
    s->woken = s->timed_out = false;
    cadre__slot_wake(s);
    return 0;
}

int cadre_request_deadline(cadre_request *r, int ms)
{
    if (!r || !(r->conn || r->background))
        return CADRE_ESTATE;
    if (ms < 0)
        return CADRE_EINVAL;
    cadre__slot *s = cadre__slot_of(r);
    cadre__worker_update_time(s->worker);
    s->deadline = ms ? s->worker->now_ms + (uint64_t)ms : 0;
    return 0;
}

int cadre_idle(cadre_request *r, int ms)
{
    return cadre_idle_fd(r, -1, ms);
}

int cadre_idle_fd(cadre_request *r, int fd, int ms)
{
    if (!r || !r->background)
        return CADRE_ESTATE;
    cadre__slot *s = cadre__slot_of(r);
    if (s->worker->stopping)
        return CADRE_ECANCELED;
    s->idle = true;
    int rc = cadre_wait_fd(r, fd, CADRE_WAIT_READ, ms);
    s->idle = false;
    return s->worker->stopping ? CADRE_ECANCELED : rc;
}

bool cadre_stopping(void)
{
    return this_worker && this_worker->stopping;
}

int cadre_stop_time_left(void)
{
    cadre__worker *w = this_worker;
    if (!w || !w->stopping)
        return -1;
    cadre__worker_update_time(w);
    uint64_t left = w->stop_deadline > w->now_ms ? w->stop_deadline - w->now_ms : 0;
    return left > INT32_MAX ? INT32_MAX : (int)left;
}

static void *worker_thread(void *arg)
{
    cadre__worker *w = arg;
    this_worker = w;
    if (w->cfg->on_worker_start)
        w->cfg->on_worker_start(w->id, w->cfg->on_worker_start_ctx);
    /* a socket several workers share wakes one of them per connection, not all */
    struct epoll_event ev = { .events = EPOLLIN | (w->shared_listener ? EPOLLEXCLUSIVE : 0),
                              .data.ptr = &w->listen_io };
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->listen_fd, &ev) == 0)
        w->listening = true;
    for (;;) {
        cadre__worker_poll(w, -1);
        if (w->stopping && ((w->num_conns == 0 && w->num_background == 0) ||
                            w->now_ms >= w->stop_deadline ||
                            atomic_load_explicit(&force_stop, memory_order_relaxed)))
            break;
    }
    if (w->num_background)
        cadre_log(CADRE_LOG_WARN, "worker %d: %zu background coroutine(s) still running at the "
                  "shutdown deadline: dropped", w->id, w->num_background);
    this_worker = NULL;
    if (w->num_conns && atomic_load(&force_stop))
        cadre_log(CADRE_LOG_WARN, "worker %d: stopped at once, closing %zu connection(s)", w->id,
                  w->num_conns);
    else if (w->num_conns)
        cadre_log(CADRE_LOG_WARN, "worker %d: shutdown deadline passed, closing %zu connection(s)",
                  w->id, w->num_conns);
    return NULL;
}

/* glibc's malloc gives the memory of a freed chunk back to the kernel (madvise, then page faults
 * to use it again) as soon as more than 128 KiB sit free at the top of a thread's heap: a page of
 * 100 rows, whose request arena grows past that and is freed when it is answered, paid for both
 * on every request (two thirds of the admin's change list in a profile). A server reuses that
 * memory at once: blocks up to 32 MiB (glibc's largest) come from the heap — a password hash's
 * 19 MiB too, which then stays warm instead of being mapped and faulted in for every login —
 * and up to 64 MiB may sit free per heap. Settings given in the environment
 * (MALLOC_TRIM_THRESHOLD_, MALLOC_MMAP_THRESHOLD_) win. */
static void tune_malloc(void)
{
#ifdef __GLIBC__
    if (!getenv("MALLOC_TRIM_THRESHOLD_"))
        mallopt(M_TRIM_THRESHOLD, 64 << 20);
    if (!getenv("MALLOC_MMAP_THRESHOLD_"))
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
#endif
}

/* The drain delay after a stop signal: the server goes on serving (readiness already failing)
 * until it ends, or a second stop signal comes. */
static void drain_delay(const cadre_server_config *cfg, int sfd)
{
    if (!cfg->drain_delay_ms)
        return;
    cadre_log(CADRE_LOG_INFO, "serving %u ms more while load balancers take this instance out "
                              "(a second signal stops at once)", cfg->drain_delay_ms);
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t left = (int64_t)cfg->drain_delay_ms -
                       ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
        if (left <= 0)
            return;
        struct pollfd pfd = { .fd = sfd, .events = POLLIN };
        if (poll(&pfd, 1, (int)left) > 0 && (pfd.revents & POLLIN)) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si && si.ssi_signo != SIGUSR1 &&
                si.ssi_signo != SIGUSR2) {
                cadre_log(CADRE_LOG_INFO, "a second signal: stopping now");
                return;
            }
        }
    }
}

int cadre_server_run(const cadre_server_config *cfg, cadre_dispatch_fn dispatch, void *ctx)
{
    int rc = 0;
    tune_malloc();
    atomic_store(&force_stop, false);
    int nw = cfg->workers > 0 ? cfg->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (nw < 1)
        nw = 1;
    if (nw > 1024)
        nw = 1024;
    int ready_fd = -1; /* a binary upgrade's pipe to the process it upgrades */
    int handed = inherited_listeners(&ready_fd);
    /* every socket handed over needs a worker: a connection queued on one no worker takes would
     * wait forever */
    if (handed > nw)
        nw = handed;
    cadre__worker *ws = calloc((size_t)nw, sizeof *ws);
    pthread_t *th = calloc((size_t)nw, sizeof *th);
    int started = 0, inited = 0, sfd = -1;
    sigset_t set, old;
    bool masked = false, upgraded = false;
    upgrade up = { .pid = 0, .ready = -1 };
    if (handed < 0) {
        rc = CADRE_EINVAL;
        goto out;
    }
    if (!ws || !th) {
        rc = CADRE_ENOMEM;
        goto out;
    }

    /* Signals go to the main thread's signalfd only: block them everywhere, workers inherit.
     * SIGHUP (a closed terminal, or an operator used to nginx's reload) stops gracefully, as
     * SIGTERM does, rather than killing in-flight requests; SIGUSR2 upgrades the binary
     * (start_upgrade); SIGUSR1 is logged and ignored (its default would kill the process on the
     * spot). */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    masked = true;
    sigdelset(&set, SIGPIPE);
    sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (sfd < 0 || stop_fd < 0) {
        rc = CADRE_ESYSTEM;
        goto out;
    }

    /* Each connection is a descriptor: take the hard limit (nginx's worker_rlimit_nofile). */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    int port = cfg->port;
    for (int i = 0; i < nw; i++) {
        if (cadre__worker_init(&ws[i], i, cfg, dispatch, ctx) != 0) {
            rc = CADRE_ESYSTEM;
            goto out;
        }
        inited++;
        /* a mailbox for WebSocket topics (the test client's one-request workers have none) */
        if (cadre__hub_init(&ws[i]) != 0) {
            rc = CADRE_ESYSTEM;
            goto out;
        }
        if (handed) { /* a worker per handed-over socket; more workers share them */
            ws[i].listen_fd = fcntl(3 + i % handed, F_DUPFD_CLOEXEC, 3 + handed);
            ws[i].shared_listener = nw > handed;
            struct sockaddr_storage ss;
            socklen_t sl = sizeof ss;
            if (ws[i].listen_fd >= 0 && getsockname(ws[i].listen_fd, (struct sockaddr *)&ss, &sl) == 0)
                port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                      : ((struct sockaddr_in *)&ss)->sin_port);
        } else {
            /* The first socket may pick the port (0); the others share it through SO_REUSEPORT. */
            ws[i].listen_fd = open_listener(cfg->host, port, i == 0, &port);
        }
        if (ws[i].listen_fd < 0) {
            rc = CADRE_EIO;
            goto out;
        }
    }
    for (int i = 0; i < handed; i++)
        close(3 + i); /* the workers hold their own descriptors of them */
    cadre__hub_attach(ws, inited); /* publishers reach them from now on */
    for (int i = 0; i < nw; i++) {
        if (pthread_create(&th[i], NULL, worker_thread, &ws[i]) != 0) {
            rc = CADRE_ESYSTEM;
            break;
        }
        started++;
    }
    if (rc == 0) {
        bool v6 = strchr(cfg->host, ':') != NULL; /* a literal IPv6 address goes in brackets */
        cadre_log(CADRE_LOG_INFO, "listening on http://%s%s%s:%d (%d worker%s%s)", v6 ? "[" : "",
                  cfg->host, v6 ? "]" : "", port, nw, nw == 1 ? "" : "s",
                  handed ? ", on sockets handed over (LISTEN_FDS)" : "");
        if (cfg->on_listen)
            cfg->on_listen(port, cfg->on_listen_ctx);
        if (ready_fd >= 0) { /* the process this one upgrades stops accepting now */
            cadre_log(CADRE_LOG_INFO, "upgrade: serving on the sockets of process %d, which "
                                      "finishes its requests and exits", (int)getppid());
            ssize_t n = write(ready_fd, "R", 1);
            (void)n;
            close(ready_fd);
            ready_fd = -1;
        }
        char ready_msg[64];
        snprintf(ready_msg, sizeof ready_msg, "READY=1\nMAINPID=%d", (int)getpid());
        notify_systemd(ready_msg);
        /* Wait for a signal, cadre_server_stop or an upgrade's new process. */
        for (;;) {
            struct pollfd pfd[3] = { { .fd = sfd, .events = POLLIN },
                                     { .fd = stop_fd, .events = POLLIN },
                                     { .fd = up.ready, .events = POLLIN } };
            if (poll(pfd, 3, -1) < 0 && errno != EINTR)
                break;
            if (up.ready >= 0 && (pfd[2].revents & (POLLIN | POLLHUP)) && upgrade_done(&up)) {
                upgraded = true;
                break;
            }
            if (pfd[0].revents & POLLIN) {
                struct signalfd_siginfo si;
                if (read(sfd, &si, sizeof si) != (ssize_t)sizeof si)
                    continue;
                if (si.ssi_signo == SIGUSR2) {
                    int socks[1024], n = handed ? handed : nw;
                    for (int i = 0; i < n; i++)
                        socks[i] = ws[i].listen_fd;
                    start_upgrade(&up, socks, n, &old);
                    continue;
                }
                if (si.ssi_signo == SIGUSR1) {
                    cadre_log(CADRE_LOG_WARN, "SIGUSR1 ignored (SIGTERM stops the server "
                                              "gracefully, SIGUSR2 upgrades it)");
                    continue;
                }
                cadre_log(CADRE_LOG_INFO, "%s: shutting down gracefully",
                          si.ssi_signo == SIGINT   ? "SIGINT"
                          : si.ssi_signo == SIGHUP ? "SIGHUP"
                                                   : "SIGTERM");
                break;
            }
            if (pfd[1].revents & POLLIN) {
                cadre_log(CADRE_LOG_INFO, "stop requested: shutting down gracefully");
                break;
            }
        }
        /* after an upgrade the new process is the service (it told systemd its MAINPID) and
         * answers the load balancer's checks: readiness stays, and there is nothing to wait for */
        if (!upgraded)
            notify_systemd("STOPPING=1");
        if (cfg->on_stopping && !upgraded)
            cfg->on_stopping(cfg->on_stopping_ctx);
        if (!upgraded)
            drain_delay(cfg, sfd);
        if (up.ready >= 0) { /* stopping while an upgrade starts: the new process goes on */
            close(up.ready);
            up.ready = -1;
        }
    }
    for (int i = 0; i < started; i++) {
        uint64_t one = 1;
        ssize_t n = write(ws[i].wake_fd, &one, sizeof one);
        (void)n;
    }
    /* the workers drain their requests; a second stop signal meanwhile ends it at once */
    for (int i = 0; i < started; i++) {
        while (sfd >= 0 && pthread_tryjoin_np(th[i], NULL) == EBUSY) {
            struct pollfd pfd = { .fd = sfd, .events = POLLIN };
            struct signalfd_siginfo si;
            if (poll(&pfd, 1, 50) <= 0 || read(sfd, &si, sizeof si) != (ssize_t)sizeof si ||
                si.ssi_signo == SIGUSR1 || si.ssi_signo == SIGUSR2 || atomic_load(&force_stop))
                continue;
            cadre_log(CADRE_LOG_INFO, "a second signal: closing the connections left now");
            atomic_store(&force_stop, true);
            for (int k = 0; k < started; k++) {
                uint64_t one = 1;
                ssize_t n = write(ws[k].wake_fd, &one, sizeof one);
                (void)n;
            }
        }
        if (sfd < 0)
            pthread_join(th[i], NULL);
    }
    if (rc == 0)
        cadre_log(CADRE_LOG_INFO, "stopped");

out:
    cadre__hub_attach(NULL, 0);
    for (int i = 0; i < inited; i++)
        cadre__worker_destroy(&ws[i]);
    if (sfd >= 0)
        close(sfd);
    if (ready_fd >= 0)
        close(ready_fd);
    if (stop_fd >= 0) {
        close(stop_fd);
        stop_fd = -1;
    }
    if (masked)
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    free(ws);
    free(th);
    return rc;
}
