/*
 * WebSocket topics across instances, over PostgreSQL's LISTEN/NOTIFY (cadre_db_relay_topics).
 *
 * Every cadre_ws_publish of the process is also queued here (the hub's relay: never waiting, a
 * mutex held for a push); worker 0's sender coroutine takes what is queued and notifies the
 * channel cadre_topics with it, many messages to a statement (one transaction: delivered
 * together, in order). Worker 0's listener coroutine, on a connection of its own, hands what
 * other instances sent to this process's sockets (cadre_ws_publish_local); its own come back to
 * it too and are skipped by the instance's random id.
 *
 * A notification holds at most 8000 bytes: a message is cut into chunks, each a notification
 * "1 INSTANCE SEQ I N KIND TOPICLEN TOPIC DATA" — KIND t: DATA is the text itself (cut between
 * characters: each notification is UTF-8); b: binary, u: text holding U+0000 — both base64. The
 * chunks of a message go in one transaction, which PostgreSQL delivers contiguously; a listener
 * that misses one (its connection lost) drops that message. Delivery stays at most once, as in
 * one process: a database that is down loses what is published meanwhile (said once).
 */
#include "db/db_internal.h"

#include <cadre/app.h>
#include <cadre/http.h>
#include <cadre/json.h>
#include <cadre/websocket.h>

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define RELAY_KEY "cadre.db.relay"
#define RELAY_CHANNEL "cadre_topics"
#define CHUNK_DATA 7000            /* bytes of DATA in a notification (the rest: its header) */
#define MAX_CHUNKS 256             /* CADRE_WS_PUBLISH_MAX in base64, and then some */
#define QUEUE_MAX ((size_t)64 << 20) /* bytes waiting for the sender past which publishes drop */
#define STATEMENT_MAX ((size_t)1 << 20) /* payload bytes notified by one statement, about */
#define LISTEN_RETRY_MS 5000

typedef struct relay_msg {
    struct relay_msg *next;
    int type;
    size_t len;
    char *topic; /* after data, in the same allocation */
    uint8_t data[];
} relay_msg;

typedef struct relay {
    cadre_db *db;
    char instance[17]; /* 16 hex digits, random */
    uint64_t seq;      /* the sender's: its messages' numbers */
    int efd;           /* written when the queue stops being empty */
    atomic_bool running; /* a sender takes the queue: publishes are queued */
    pthread_mutex_t lock;
    relay_msg *head, *tail;
    size_t bytes;
    bool full; /* the queue refused a message since it was last taken (said once) */
} relay;

/* ---------------------------------------------------------------------------------------------
 * Sending
 * ------------------------------------------------------------------------------------------- */

static void free_msgs(relay_msg *m)
{
    while (m) {
        relay_msg *next = m->next;
        free(m);
        m = next;
    }
}

/* The hub's relay: every cadre_ws_publish, on the publisher's thread. */
static int relay_push(const char *topic, int type, const void *data, size_t len, void *ctx)
{
    relay *rl = ctx;
    if (!atomic_load(&rl->running))
        return 0; /* no server here: a command, or a stop — only local sockets (none) */
    size_t tn = strlen(topic);
    relay_msg *m = malloc(sizeof *m + len + tn + 1);
    if (!m)
        return CADRE_ENOMEM;
    m->next = NULL;
    m->type = type;
    m->len = len;
    if (len)
        memcpy(m->data, data, len);
    m->topic = (char *)m->data + len;
    memcpy(m->topic, topic, tn + 1);
    pthread_mutex_lock(&rl->lock);
    bool ok = rl->bytes + len <= QUEUE_MAX, say = !ok && !rl->full, was_empty = !rl->head;
    if (ok) {
        if (rl->tail)
            rl->tail->next = m;
        else
            rl->head = m;
        rl->tail = m;
        rl->bytes += len;
    } else {
        rl->full = true;
    }
    pthread_mutex_unlock(&rl->lock);
    if (!ok) {
        free(m);
        if (say)
            cadre_log(CADRE_LOG_WARN, "websocket topics: %zu MiB wait to be sent to the other "
                      "instances (is the database down?): their messages are dropped until "
                      "they have gone", QUEUE_MAX >> 20);
        return CADRE_EBUSY;
    }
    if (was_empty) {
        uint64_t one = 1;
        ssize_t n = write(rl->efd, &one, sizeof one);
        (void)n; /* fails only when the counter would overflow: it is non-zero then */
    }
    return 0;
}

/* Whether text holds a U+0000, which a notification cannot carry as is. */
static bool has_nul(const uint8_t *p, size_t n)
{
    return memchr(p, 0, n) != NULL;
}

int cadre__relay_chunks(const char *instance, uint64_t seq, const char *topic, int type,
                        const void *data_, size_t len,
                        void (*emit)(const char *s, size_t n, void *ctx), void *ctx)
{
    const uint8_t *data = data_;
    char kind = type == CADRE_WS_BINARY ? 'b' : has_nul(data, len) ? 'u' : 't';
    char *b64 = NULL;
    if (kind != 't') {
        size_t cap = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
        if (!(b64 = malloc(cap)))
            return CADRE_ENOMEM;
        sodium_bin2base64(b64, cap, data, len, sodium_base64_VARIANT_ORIGINAL);
        data = (const uint8_t *)b64;
        len = strlen(b64);
    }
    /* the cuts: each chunk at most CHUNK_DATA bytes; text's between characters */
    size_t cuts[MAX_CHUNKS + 1], n = 0, at = 0;
    cuts[0] = 0;
    do {
        size_t end = len - at > CHUNK_DATA ? at + CHUNK_DATA : len;
        while (kind == 't' && end < len && end > at && (data[end] & 0xC0) == 0x80)
            end--;
        if (n == MAX_CHUNKS) { /* cannot happen within CADRE_WS_PUBLISH_MAX */
            free(b64);
            return CADRE_ETOOBIG;
        }
        cuts[++n] = at = end;
    } while (at < len);
    size_t tn = strlen(topic);
    char *buf = malloc(96 + tn + CHUNK_DATA);
    if (!buf) {
        free(b64);
        return CADRE_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        int h = snprintf(buf, 96, "1 %s %llx %zu %zu %c %zu ", instance, (unsigned long long)seq,
                         i + 1, n, kind, tn);
        memcpy(buf + h, topic, tn);
        memcpy(buf + h + tn, data + cuts[i], cuts[i + 1] - cuts[i]);
        emit(buf, (size_t)h + tn + (cuts[i + 1] - cuts[i]), ctx);
    }
    free(buf);
    free(b64);
    return 0;
}

static void emit_json(const char *s, size_t n, void *ctx)
{
    cadre_json_string(ctx, s, n);
}

/* Appends m's notifications, as JSON strings, to the array jw writes. */
static int encode_msg(relay *rl, const relay_msg *m, cadre_json_writer *jw)
{
    return cadre__relay_chunks(rl->instance, ++rl->seq, m->topic, m->type, m->data, m->len,
                               emit_json, jw);
}

/* Notifies the channel with each string of the JSON array in json, in order, in one
 * transaction. */
static int notify(relay *rl, const cadre_buf *json)
{
    cadre_value p[] = { { .type = CADRE_V_TEXT, .s = { json->data, json->len } } };
    return cadre_db_exec(rl->db,
                         "SELECT pg_notify('" RELAY_CHANNEL "', e) FROM "
                         "json_array_elements_text(CAST(? AS json)) AS e",
                         p, 1, NULL, NULL);
}

/* What publishers queued, taken off the queue (the caller's to free). */
static relay_msg *take_queue(relay *rl)
{
    pthread_mutex_lock(&rl->lock);
    relay_msg *list = rl->head;
    rl->head = rl->tail = NULL;
    rl->bytes = 0;
    rl->full = false;
    pthread_mutex_unlock(&rl->lock);
    return list;
}

/* Sends list's messages, about STATEMENT_MAX bytes of notifications to a statement, and frees
 * them. A message that cannot be encoded (memory) is dropped alone; a statement that fails
 * drops its messages and the rest of the list, said once until one succeeds again (*failing). */
static void send_list(relay *rl, relay_msg *list, bool *failing)
{
    while (list) { /* bounded: each turn takes messages off the list */
        cadre_buf json;
        cadre_buf_init(&json, (size_t)1 << 30);
        cadre_json_writer jw;
        cadre_json_writer_init(&jw, &json);
        cadre_json_begin_array(&jw);
        int sent = 0;
        while (list && json.len < STATEMENT_MAX) {
            relay_msg *m = list;
            list = m->next;
            int rc = encode_msg(rl, m, &jw);
            if (rc)
                cadre_log(CADRE_LOG_WARN, "websocket topics: a message to %s is not sent to the "
                          "other instances: %s", m->topic, cadre_strerror(rc));
            else
                sent++;
            free(m);
        }
        cadre_json_end_array(&jw);
        int rc = cadre_json_writer_error(&jw);
        if (rc == 0 && sent && (rc = notify(rl, &json)) != 0) {
            /* the database failed it: the rest would wait for it too, a statement at a time
             * (delivery is at most once) */
            for (; list; sent++) {
                relay_msg *m = list;
                list = m->next;
                free(m);
            }
        }
        cadre_buf_free(&json);
        if (rc && !*failing)
            cadre_log(CADRE_LOG_WARN, "websocket topics: cannot send %d message(s) to the other "
                      "instances: %s (what is published while this lasts reaches this "
                      "instance's sockets only)", sent, cadre_strerror(rc));
        else if (rc == 0 && *failing)
            cadre_log(CADRE_LOG_INFO, "websocket topics: sending to the other instances again");
        *failing = rc != 0;
    }
}

static void sender(cadre_request *r, void *ctx)
{
    relay *rl = ctx;
    bool failing = false;
    for (;;) { /* bounded by the stop: cadre_idle_fd returns CADRE_ECANCELED then */
        uint64_t v;
        while (read(rl->efd, &v, sizeof v) == (ssize_t)sizeof v) {
        }
        send_list(rl, take_queue(rl), &failing);
        if (cadre_idle_fd(r, rl->efd, -1) == CADRE_ECANCELED)
            break;
    }
    atomic_store(&rl->running, false);
    free_msgs(take_queue(rl)); /* published since the stop: this instance's sockets had them */
}

/* ---------------------------------------------------------------------------------------------
 * Listening
 * ------------------------------------------------------------------------------------------- */

/* A message being put together from its chunks; what a listener has. */
typedef struct cadre__relay_rx {
    char own[17]; /* this instance's id: its own notifications are skipped */
    void (*sink)(const char *topic, int type, const void *data, size_t len, void *ctx);
    void *ctx;
    char instance[17];
    unsigned long long seq;
    size_t next, n; /* the chunk expected (1 …), of n; next 0: none under way */
    char kind;
    char topic[256];
    cadre_buf data;
} cadre__relay_rx;
typedef cadre__relay_rx partial;

/* Reads a decimal or hex number up to a space; advances *s past the space. */
static bool field(const char **s, int base, unsigned long long *out)
{
    char *end;
    if (**s < '0' || (**s > '9' && base == 10))
        return false;
    *out = strtoull(*s, &end, base);
    if (*end != ' ' || end == *s)
        return false;
    *s = end + 1;
    return true;
}

static void deliver(partial *pt)
{
    int type = pt->kind == 'b' ? CADRE_WS_BINARY : CADRE_WS_TEXT;
    if (pt->kind == 't') {
        pt->sink(pt->topic, type, pt->data.data ? pt->data.data : "", pt->data.len, pt->ctx);
        return;
    }
    size_t cap = pt->data.len / 4 * 3 + 3, len = 0;
    unsigned char *bin = malloc(cap ? cap : 1);
    if (bin && sodium_base642bin(bin, cap, pt->data.data ? pt->data.data : "", pt->data.len,
                                 NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL) == 0)
        pt->sink(pt->topic, type, bin, len, pt->ctx);
    else
        cadre_log(CADRE_LOG_WARN, "websocket topics: a message to %s from instance %s does not "
                  "decode: dropped", pt->topic, pt->instance);
    free(bin);
}

/* One notification: a chunk of another instance's message (own ones are skipped). */
void cadre__relay_rx_take(partial *pt, const char *s)
{
    const char *whole = s;
    unsigned long long seq, i, n, tn;
    if (s[0] != '1' || s[1] != ' ' || strlen(s) < 19 || s[18] != ' ')
        goto bad;
    char instance[17];
    memcpy(instance, s + 2, 16);
    instance[16] = '\0';
    if (strcmp(instance, pt->own) == 0)
        return; /* this instance's own: its sockets had it when it was published */
    s += 19;
    if (!field(&s, 16, &seq) || !field(&s, 10, &i) || !field(&s, 10, &n) || i < 1 || i > n ||
        n > MAX_CHUNKS)
        goto bad;
    char kind = *s;
    if ((kind != 't' && kind != 'b' && kind != 'u') || s[1] != ' ')
        goto bad;
    s += 2;
    if (!field(&s, 10, &tn) || tn < 1 || tn > 255 || strlen(s) < tn)
        goto bad;
    if (i == 1) {
        memcpy(pt->instance, instance, sizeof instance);
        pt->seq = seq;
        pt->n = n;
        pt->kind = kind;
        memcpy(pt->topic, s, tn);
        pt->topic[tn] = '\0';
        pt->data.len = 0;
        pt->next = 1;
    } else if (pt->next != i || pt->seq != seq || pt->n != n ||
               strcmp(pt->instance, instance) != 0) {
        pt->next = 0; /* a chunk missed (a listener reconnected): the message is lost */
        return;
    }
    const char *data = s + tn;
    if (cadre_buf_append(&pt->data, data, strlen(data)) != 0) {
        pt->next = 0;
        return;
    }
    if (i < n) {
        pt->next++;
        return;
    }
    pt->next = 0;
    deliver(pt);
    return;
bad:
    cadre_log(CADRE_LOG_WARN, "websocket topics: a notification on %s that no Cadre instance "
              "sent (%.40s…): ignored", RELAY_CHANNEL, whole);
}

static void publish_local(const char *topic, int type, const void *data, size_t len, void *ctx)
{
    (void)ctx;
    cadre_ws_publish_local(topic, type, data, len);
}

cadre__relay_rx *cadre__relay_rx_new(const char *own,
                                     void (*sink)(const char *topic, int type, const void *data,
                                                  size_t len, void *ctx),
                                     void *ctx)
{
    cadre__relay_rx *rx = calloc(1, sizeof *rx);
    if (!rx)
        return NULL;
    snprintf(rx->own, sizeof rx->own, "%s", own);
    rx->sink = sink;
    rx->ctx = ctx;
    cadre_buf_init(&rx->data, (size_t)MAX_CHUNKS * CHUNK_DATA);
    return rx;
}

void cadre__relay_rx_free(cadre__relay_rx *rx)
{
    if (rx) {
        cadre_buf_free(&rx->data);
        free(rx);
    }
}

static void listener(cadre_request *r, void *ctx)
{
    relay *rl = ctx;
    cadre_db_listener *l = NULL;
    bool down = false;
    partial pt = { .sink = publish_local };
    memcpy(pt.own, rl->instance, sizeof pt.own);
    cadre_buf_init(&pt.data, (size_t)MAX_CHUNKS * CHUNK_DATA);
    char *payload = malloc(8192);
    for (; payload;) { /* bounded by the stop: cadre_idle_fd returns CADRE_ECANCELED then */
        if (!l) {
            int rc = cadre_db_listen(rl->db, RELAY_CHANNEL, &l);
            if (rc) {
                if (!down)
                    cadre_log(CADRE_LOG_WARN, "websocket topics: cannot listen to the other "
                              "instances (%s): trying again every %d s",
                              cadre_strerror(rc), LISTEN_RETRY_MS / 1000);
                down = true;
                if (cadre_idle(r, LISTEN_RETRY_MS) == CADRE_ECANCELED)
                    break;
                continue;
            }
            cadre_log(CADRE_LOG_INFO, "websocket topics: listening to the other instances "
                                      "(PostgreSQL's LISTEN)");
            down = false;
        }
        int n;
        while ((n = cadre_db_listener_next(l, payload, 8192)) > 0)
            cadre__relay_rx_take(&pt, payload);
        if (n < 0) {
            cadre_db_listener_close(l);
            l = NULL;
            pt.next = 0;
            continue;
        }
        if (cadre_idle_fd(r, cadre_db_listener_fd(l), -1) == CADRE_ECANCELED)
            break;
    }
    if (!payload)
        cadre_log(CADRE_LOG_ERROR, "websocket topics: out of memory: not listening to the other "
                                   "instances");
    free(payload);
    cadre_buf_free(&pt.data);
    cadre_db_listener_close(l);
}

/* ---------------------------------------------------------------------------------------------
 * Set-up
 * ------------------------------------------------------------------------------------------- */

static void worker_start(cadre_app *app, int worker, void *ctx)
{
    (void)app;
    relay *rl = ctx;
    if (worker != 0)
        return;
    atomic_store(&rl->running, true);
    int rc = cadre_spawn(sender, rl);
    if (rc) {
        atomic_store(&rl->running, false);
        cadre_log(CADRE_LOG_ERROR, "websocket topics: cannot start sending to the other "
                  "instances: %s", cadre_strerror(rc));
        return;
    }
    if ((rc = cadre_spawn(listener, rl)) != 0)
        cadre_log(CADRE_LOG_ERROR, "websocket topics: cannot start listening to the other "
                  "instances: %s", cadre_strerror(rc));
}

static void relay_free(void *p)
{
    relay *rl = p;
    cadre_ws_relay(NULL, NULL); /* returns once no publisher is inside relay_push */
    free_msgs(rl->head);
    close(rl->efd);
    pthread_mutex_destroy(&rl->lock);
    free(rl);
}

int cadre_db_relay_topics(cadre_app *app, cadre_db *db)
{
    if (!app || !db)
        return CADRE_EINVAL;
    if (strcmp(cadre_db_engine(db), "postgresql") != 0)
        return 0; /* one process per SQLite database serves: its sockets hear it all */
    if (cadre_app_attachment(app, RELAY_KEY))
        return CADRE_EEXIST;
    relay *rl = calloc(1, sizeof *rl);
    if (!rl)
        return CADRE_ENOMEM;
    rl->db = db;
    rl->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (rl->efd < 0 || sodium_init() < 0) {
        if (rl->efd >= 0)
            close(rl->efd);
        free(rl);
        return CADRE_ESYSTEM;
    }
    unsigned char id[8];
    randombytes_buf(id, sizeof id);
    sodium_bin2hex(rl->instance, sizeof rl->instance, id, sizeof id);
    pthread_mutex_init(&rl->lock, NULL);
    atomic_init(&rl->running, false);
    int rc = cadre_app_attach(app, RELAY_KEY, rl, relay_free);
    if (rc)
        return rc; /* the attach has freed rl (relay_free) */
    if ((rc = cadre_app_on_worker_start(app, worker_start, rl)) != 0)
        return rc;
    cadre_ws_relay(relay_push, rl);
    return 0;
}
