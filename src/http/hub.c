/*
 * WebSocket topics: a message published from any thread of the process reaches every socket
 * subscribed to its topic, on every worker.
 *
 * Each worker keeps its own subscriptions (a table topic -> sockets, touched only by its thread)
 * and a mailbox: cadre_ws_publish copies the message once, puts a reference in the mailbox of
 * every worker that has subscriptions (a mutex per mailbox, held for a push) and wakes it
 * through its eventfd (once per batch: only when the mailbox was empty). The worker drains its
 * mailbox on its loop's next turn and queues the message on each subscribed socket, as a send
 * from another coroutine does (never waiting: a client that lets 4 MiB pile up is dropped). The
 * last worker done with a message frees it. No lock is taken on the workers' hot path: a worker
 * with no subscription is skipped by publishers, and its loop never looks at its mailbox unless
 * woken.
 */
#include "http_internal.h"

#include <cadre/websocket.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define TOPIC_MAX 255
#define BOX_MAX ((size_t)64 << 20) /* a worker's mailbox past this refuses more (it is stuck) */

/* A published message, shared by the mailboxes it is in. */
typedef struct cadre__pub {
    atomic_int refs;
    int type;
    uint64_t hash;
    size_t len;
    const char *topic; /* after the payload in data */
    uint8_t data[];
} cadre__pub;

typedef struct cadre__topic {
    struct cadre__topic *next; /* in its bucket */
    uint64_t hash;
    cadre__sub *subs;
    char name[];
} hub_topic;

struct cadre__sub {
    cadre_ws *ws;
    hub_topic *t;
    cadre__sub *prev, *next; /* in the topic's list */
    cadre__sub *ws_next;     /* in the socket's list */
};

struct cadre__topics {
    hub_topic **buckets;
    size_t nbuckets, ntopics;
};

/* The workers of the server running in this process (cadre_server_run), for publishers. */
static pthread_rwlock_t hub_lock = PTHREAD_RWLOCK_INITIALIZER;
static cadre__worker *hub_workers;
static int hub_count;

static uint64_t hash_of(const char *s, size_t n)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

static hub_topic **bucket(struct cadre__topics *t, uint64_t hash, const char *name)
{
    hub_topic **p = &t->buckets[hash & (t->nbuckets - 1)];
    while (*p && ((*p)->hash != hash || strcmp((*p)->name, name) != 0))
        p = &(*p)->next;
    return p;
}

static int grow(struct cadre__topics *t)
{
    size_t n = t->nbuckets ? t->nbuckets * 2 : 16;
    hub_topic **b = calloc(n, sizeof *b);
    if (!b)
        return CADRE_ENOMEM;
    for (size_t i = 0; i < t->nbuckets; i++)
        for (hub_topic *x = t->buckets[i], *next; x; x = next) {
            next = x->next;
            x->next = b[x->hash & (n - 1)];
            b[x->hash & (n - 1)] = x;
        }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
    return 0;
}

static bool topic_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    return n > 0 && n <= TOPIC_MAX && cadre_utf8_valid(name, n);
}

/* The socket's worker, when the caller runs on it (subscriptions are its thread's alone). */
static cadre__worker *own_worker(cadre_ws *ws)
{
    cadre__worker *w = cadre__ws_worker(ws);
    return w && w == cadre__this_worker() ? w : NULL;
}

int cadre_ws_subscribe(cadre_ws *ws, const char *name)
{
    if (!ws || !topic_valid(name))
        return CADRE_EINVAL;
    cadre__worker *w = own_worker(ws);
    if (!w)
        return CADRE_ESTATE;
    cadre__sub **list = cadre__ws_subs(ws);
    for (cadre__sub *s = *list; s; s = s->ws_next)
        if (strcmp(s->t->name, name) == 0)
            return 0; /* already */
    if (!w->topics && !(w->topics = calloc(1, sizeof *w->topics)))
        return CADRE_ENOMEM;
    struct cadre__topics *tt = w->topics;
    if (tt->ntopics >= tt->nbuckets && grow(tt) != 0)
        return CADRE_ENOMEM;
    size_t n = strlen(name);
    uint64_t h = hash_of(name, n);
    hub_topic **p = bucket(tt, h, name);
    cadre__sub *s = calloc(1, sizeof *s);
    if (!s)
        return CADRE_ENOMEM;
    if (!*p) {
        hub_topic *t = malloc(sizeof *t + n + 1);
        if (!t) {
            free(s);
            return CADRE_ENOMEM;
        }
        *t = (hub_topic){ .hash = h };
        memcpy(t->name, name, n + 1);
        *p = t;
        tt->ntopics++;
    }
    hub_topic *t = *p;
    *s = (cadre__sub){ .ws = ws, .t = t, .next = t->subs, .ws_next = *list };
    if (t->subs)
        t->subs->prev = s;
    t->subs = s;
    *list = s;
    atomic_fetch_add_explicit(&w->num_subs, 1, memory_order_relaxed);
    return 0;
}

/* Takes s out of its topic (freed with it when it was the last) and frees it. */
static void unlink_sub(cadre__worker *w, cadre__sub *s)
{
    hub_topic *t = s->t;
    if (s->prev)
        s->prev->next = s->next;
    else
        t->subs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    free(s);
    atomic_fetch_sub_explicit(&w->num_subs, 1, memory_order_relaxed);
    if (t->subs)
        return;
    hub_topic **p = bucket(w->topics, t->hash, t->name);
    *p = t->next;
    w->topics->ntopics--;
    free(t);
}

int cadre_ws_unsubscribe(cadre_ws *ws, const char *name)
{
    if (!ws || !topic_valid(name))
        return CADRE_EINVAL;
    cadre__worker *w = own_worker(ws);
    if (!w)
        return CADRE_ESTATE;
    for (cadre__sub **p = cadre__ws_subs(ws); *p; p = &(*p)->ws_next)
        if (strcmp((*p)->t->name, name) == 0) {
            cadre__sub *s = *p;
            *p = s->ws_next;
            unlink_sub(w, s);
            return 0;
        }
    return CADRE_ENOTFOUND;
}

void cadre__hub_drop_ws(cadre__worker *w, cadre_ws *ws)
{
    cadre__sub **list = cadre__ws_subs(ws);
    while (*list) {
        cadre__sub *s = *list;
        *list = s->ws_next;
        unlink_sub(w, s);
    }
}

static void pub_put(cadre__pub *p)
{
    if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1)
        free(p);
}

/* Puts p in w's mailbox; false when it is full or memory ran out. */
static bool box_push(cadre__worker *w, cadre__pub *p)
{
    pthread_mutex_lock(&w->box_lock);
    bool was_empty = w->box.len == 0, ok = false;
    /* what it holds there: its payload, topic and itself (an empty message is not free) */
    size_t cost = sizeof *p + p->len + strlen(p->topic) + 1 + sizeof p;
    if (w->box_bytes + cost <= BOX_MAX) {
        cadre__pub **slot = CADRE_VEC_PUSH(&w->box, NULL, 0);
        if (slot) {
            *slot = p;
            w->box_bytes += cost;
            atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
            ok = true;
        }
    }
    bool full = !ok && !w->box_full;
    size_t waiting = w->box_bytes;
    if (!ok)
        w->box_full = true;
    pthread_mutex_unlock(&w->box_lock);
    if (full)
        cadre_log(CADRE_LOG_WARN, "websocket: worker %d does not take published messages (%zu "
                  "bytes waiting for it): messages to its sockets are dropped", w->id, waiting);
    if (ok && was_empty) {
        uint64_t one = 1;
        ssize_t n = write(w->box_fd, &one, sizeof one);
        (void)n; /* fails only when the counter would overflow: it is non-zero then */
    }
    return ok;
}

/* The process's relay to other instances (cadre_ws_relay), read under hub_lock. */
static cadre_ws_relay_fn relay_fn;
static void *relay_ctx;

void cadre_ws_relay(cadre_ws_relay_fn fn, void *ctx)
{
    pthread_rwlock_wrlock(&hub_lock);
    relay_fn = fn;
    relay_ctx = fn ? ctx : NULL;
    pthread_rwlock_unlock(&hub_lock);
}

static int check_publish(const char *name, int type, const void *data, size_t len)
{
    if (!topic_valid(name) || (type != CADRE_WS_TEXT && type != CADRE_WS_BINARY) ||
        (len && !data) || len > CADRE_WS_PUBLISH_MAX)
        return CADRE_EINVAL;
    if (type == CADRE_WS_TEXT && !cadre_utf8_valid(data, len))
        return CADRE_EINVAL;
    return 0;
}

/* Hands the message to this process's workers with subscriptions; relayed too when relay.
 * hub_lock is read-held by the caller. */
static int deliver(const char *name, int type, const void *data, size_t len, bool relay)
{
    int relayed = relay && relay_fn ? relay_fn(name, type, data, len, relay_ctx) : 0;
    size_t n = strlen(name);
    int rc = 0;
    cadre__pub *p = NULL;
    for (int i = 0; i < hub_count; i++) {
        cadre__worker *w = &hub_workers[i];
        if (!atomic_load_explicit(&w->num_subs, memory_order_relaxed))
            continue;
        if (!p) { /* copied once, for the first worker that has subscriptions */
            p = malloc(sizeof *p + len + n + 1);
            if (!p) {
                rc = CADRE_ENOMEM;
                break;
            }
            atomic_init(&p->refs, 1); /* the publisher's, dropped below */
            p->type = type;
            p->len = len;
            p->hash = hash_of(name, n);
            if (len)
                memcpy(p->data, data, len);
            memcpy(p->data + len, name, n + 1);
            p->topic = (const char *)p->data + len;
        }
        if (!box_push(w, p))
            rc = CADRE_EBUSY;
    }
    if (p)
        pub_put(p);
    return rc ? rc : relayed;
}

static int publish(const char *name, int type, const void *data, size_t len, bool relay)
{
    int rc = check_publish(name, type, data, len);
    if (rc)
        return rc;
    pthread_rwlock_rdlock(&hub_lock);
    rc = deliver(name, type, data, len, relay);
    pthread_rwlock_unlock(&hub_lock);
    return rc;
}

int cadre_ws_publish(const char *name, int type, const void *data, size_t len)
{
    return publish(name, type, data, len, true);
}

int cadre_ws_publish_local(const char *name, int type, const void *data, size_t len)
{
    return publish(name, type, data, len, false);
}

int cadre_ws_publish_text(const char *topic, const char *text)
{
    return text ? cadre_ws_publish(topic, CADRE_WS_TEXT, text, strlen(text)) : CADRE_EINVAL;
}

void cadre__hub_drain(cadre__worker *w)
{
    uint64_t v;
    ssize_t n = read(w->box_fd, &v, sizeof v);
    (void)n;
    pthread_mutex_lock(&w->box_lock);
    cadre__pub **items = w->box.items;
    size_t count = w->box.len;
    w->box.items = NULL;
    w->box.len = w->box.cap = 0;
    w->box_bytes = 0;
    w->box_full = false;
    pthread_mutex_unlock(&w->box_lock);
    for (size_t i = 0; i < count; i++) {
        cadre__pub *p = items[i];
        cadre__ws_deflate_forget(w); /* compressed once, for this message's sockets */
        hub_topic **t = w->topics && w->topics->nbuckets ? bucket(w->topics, p->hash, p->topic) : NULL;
        /* a send never ends a subscription (that waits for the socket's handler to end), so the
         * list stays as it is while it is walked */
        for (cadre__sub *s = t && *t ? (*t)->subs : NULL; s; s = s->next)
            cadre__ws_send_shared(s->ws, p->type, p->data, p->len);
        pub_put(p);
    }
    free(items);
}

int cadre__hub_init(cadre__worker *w)
{
    atomic_init(&w->num_subs, 0);
    w->box_io.kind = IO_HUB;
    if (pthread_mutex_init(&w->box_lock, NULL) != 0)
        return CADRE_ESYSTEM;
    w->box_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &w->box_io };
    if (w->box_fd < 0 || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->box_fd, &ev) != 0) {
        if (w->box_fd >= 0)
            close(w->box_fd);
        w->box_fd = -1;
        pthread_mutex_destroy(&w->box_lock);
        return CADRE_ESYSTEM;
    }
    return 0;
}

void cadre__hub_destroy(cadre__worker *w)
{
    if (w->box_fd < 0)
        return; /* never had a mailbox */
    for (size_t i = 0; i < w->box.len; i++)
        pub_put(w->box.items[i]);
    CADRE_VEC_FREE(&w->box);
    if (w->topics) { /* the sockets' handlers have ended (their subscriptions with them) */
        for (size_t i = 0; i < w->topics->nbuckets; i++)
            for (hub_topic *t = w->topics->buckets[i], *next; t; t = next) {
                next = t->next;
                for (cadre__sub *s = t->subs, *sn; s; s = sn) {
                    sn = s->next;
                    free(s);
                }
                free(t);
            }
        free(w->topics->buckets);
        free(w->topics);
        w->topics = NULL;
    }
    close(w->box_fd);
    pthread_mutex_destroy(&w->box_lock);
}

void cadre__hub_attach(cadre__worker *ws, int n)
{
    pthread_rwlock_wrlock(&hub_lock);
    hub_workers = ws;
    hub_count = n;
    pthread_rwlock_unlock(&hub_lock);
}
