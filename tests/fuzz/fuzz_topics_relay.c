/*
 * libFuzzer target for the notifications that carry WebSocket topics between instances
 * (src/db/relay.c: what arrives on PostgreSQL's channel cadre_topics is read by every instance,
 * and anyone who can connect to the database may NOTIFY it).
 *
 * Input: byte 0 picks the mode.
 * - even: the rest is notifications, one per line ('\n'), fed to a receiver (its own instance
 *   0123456789abcdef). Invariants: every message it delivers has a topic of 1 to 255 bytes, a
 *   type of text or binary and at most MAX_OUT bytes (cadre_ws_publish_local, which it calls in
 *   the server, checks the text's UTF-8 again).
 * - odd: a round trip. Byte 1 picks the type (bit 0: binary) and the topic's length (1 + byte 1
 *   >> 1); the topic is made of letters from the input, the data is the rest (repeated to 20,000
 *   bytes when byte 0 & 2, so that it takes several chunks); text that is not UTF-8 is skipped,
 *   as cadre_ws_publish refuses it. The chunks of another instance's message, fed in order,
 *   give exactly that message once; an instance's own give nothing; the chunks fed with one
 *   missing give nothing; every chunk is under 8000 bytes, PostgreSQL's limit.
 */
#include <cadre.h>

#include "db/db_internal.h"
#include "fuzz_check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OUT ((size_t)2 << 20)
#define MAX_CHUNKS_SEEN 512

typedef struct got {
    int count;
    char topic[256];
    int type;
    uint8_t *data;
    size_t len;
} got;

static void sink(const char *topic, int type, const void *data, size_t len, void *ctx)
{
    got *g = ctx;
    size_t tn = strlen(topic);
    CHECK(tn >= 1 && tn <= 255);
    CHECK(type == CADRE_WS_TEXT || type == CADRE_WS_BINARY);
    CHECK(len <= MAX_OUT);
    CHECK(len == 0 || data != NULL);
    g->count++;
    memcpy(g->topic, topic, tn + 1);
    g->type = type;
    free(g->data);
    g->data = malloc(len ? len : 1);
    CHECK(g->data != NULL);
    if (len)
        memcpy(g->data, data, len);
    g->len = len;
}

typedef struct chunks {
    char *s[MAX_CHUNKS_SEEN];
    size_t n;
} chunks;

static void keep(const char *s, size_t n, void *ctx)
{
    chunks *c = ctx;
    CHECK(n < 8000);
    CHECK(memchr(s, 0, n) == NULL); /* a notification cannot hold a NUL */
    CHECK(c->n < MAX_CHUNKS_SEEN);
    c->s[c->n] = malloc(n + 1);
    CHECK(c->s[c->n] != NULL);
    memcpy(c->s[c->n], s, n);
    c->s[c->n][n] = '\0';
    c->n++;
}

static void feed(const char *own, got *g, chunks *c, size_t skip)
{
    cadre__relay_rx *rx = cadre__relay_rx_new(own, sink, g);
    CHECK(rx != NULL);
    for (size_t i = 0; i < c->n; i++)
        if (i != skip)
            cadre__relay_rx_take(rx, c->s[i]);
    cadre__relay_rx_free(rx);
}

static void round_trip(const uint8_t *in, size_t n)
{
    if (n < 2)
        return;
    int type = in[1] & 1 ? CADRE_WS_BINARY : CADRE_WS_TEXT;
    size_t tn = 1 + (in[1] >> 1);
    in += 2;
    n -= 2;
    char topic[256];
    for (size_t i = 0; i < tn; i++)
        topic[i] = (char)('a' + (i < n ? in[i] : i) % 26);
    topic[tn] = '\0';
    size_t len = in[-2] & 2 ? 20000 : n;
    uint8_t *data = malloc(len + 1);
    CHECK(data != NULL);
    for (size_t i = 0; i < len; i++)
        data[i] = n ? in[i % n] : 'x';
    if (type == CADRE_WS_TEXT && !cadre_utf8_valid((const char *)data, len)) {
        free(data); /* cadre_ws_publish refuses it: it never reaches the relay */
        return;
    }
    chunks c = { .n = 0 };
    int rc = cadre__relay_chunks("0123456789abcdef", 42, topic, type, data, len, keep, &c);
    CHECK(rc == 0);
    CHECK(c.n >= 1);
    got g = { 0 };
    feed("fedcba9876543210", &g, &c, SIZE_MAX); /* another instance's: delivered once */
    CHECK(g.count == 1);
    CHECK(strcmp(g.topic, topic) == 0);
    CHECK(g.type == type);
    CHECK(g.len == len && (len == 0 || memcmp(g.data, data, len) == 0));
    got own = { 0 };
    feed("0123456789abcdef", &own, &c, SIZE_MAX); /* its own: skipped */
    CHECK(own.count == 0);
    if (c.n > 1) {
        got lost = { 0 };
        feed("fedcba9876543210", &lost, &c, c.n / 2); /* a chunk missed: nothing */
        CHECK(lost.count == 0);
        free(lost.data);
    }
    for (size_t i = 0; i < c.n; i++)
        free(c.s[i]);
    free(g.data);
    free(own.data);
    free(data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1) {
        round_trip(data, size);
        return 0;
    }
    got g = { 0 };
    cadre__relay_rx *rx = cadre__relay_rx_new("0123456789abcdef", sink, &g);
    CHECK(rx != NULL);
    char *line = malloc(size);
    CHECK(line != NULL);
    size_t at = 1;
    while (at < size) { /* bounded: each turn consumes a line */
        const uint8_t *nl = memchr(data + at, '\n', size - at);
        size_t end = nl ? (size_t)(nl - data) : size;
        memcpy(line, data + at, end - at);
        line[end - at] = '\0'; /* a NUL inside cuts it, as the listener's copy would */
        cadre__relay_rx_take(rx, line);
        at = end + 1;
    }
    free(line);
    cadre__relay_rx_free(rx);
    free(g.data);
    return 0;
}
