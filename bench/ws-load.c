/*
 * ws-load: a WebSocket (RFC 6455) load generator for echo servers, as wrk is for HTTP.
 *
 *     ws-load [options] ws://127.0.0.1:PORT/PATH
 *
 * One process, one epoll loop per thread (--threads), --connections sockets spread over them.
 * Each connection makes the opening handshake (the 101 and its Sec-WebSocket-Accept checked),
 * then runs a closed loop: it sends a masked message of --size bytes (text of ASCII letters, or
 * --binary bytes), waits for its whole echo, checks its type, length and content, and sends the
 * next (--pipeline K: K messages in flight). A warm-up (--warmup, 1 s) is not counted; then
 * --duration seconds are. Each connection then sends a close frame (1000) and waits, at most
 * 2 s, for the server's. One JSON line on stdout:
 *
 *     {"messages_per_s":..., "messages":..., "errors":..., "connections":..., "size":...,
 *      "latency_ms":{"p50":...,"p90":...,"p99":...,"max":...}, ...}
 *
 * messages: echoes received whole and right during the measured run; latency: from the moment a
 * message's first byte is queued to the socket to its echo's last byte, each round trip into a
 * log-linear histogram (32 steps per power of two: within about 3%). Errors (connect, handshake,
 * a wrong echo, a protocol violation, a close during the run or no answer to ours) are counted
 * by kind and the first ones printed on stderr; so is an echo still awaited at the end after
 * min(duration, 5 s), at least 1 s (a server that drops messages would otherwise only look
 * slow). Exit status: 0, 1 when there was any error, 2 for a usage error.
 *
 * What a conformant server may do is handled: messages fragmented into continuation frames,
 * pings (answered with a pong) and pongs, a close frame at any point.
 *
 * --json: the messages are JSON text instead of letters, an array of records such as
 * {"id":100123,"sku":"SKU-100123","name":"green lamp","price":37.95,"stock":7,"active":true},
 * padded with spaces before its ] to --size bytes; each message differs from the ones around it
 * (ids run on, the rest drawn from a fixed-seed generator), and one repeats only after at least
 * 251 others and 256 KiB (a window of 32 KiB cannot reach it), memory allowing (32 MiB of them).
 *
 * --deflate: permessage-deflate (RFC 7692). The upgrade request offers what browsers do,
 * "permessage-deflate; client_max_window_bits"; a 101 without the extension, with another one or
 * with a parameter RFC 7692 does not define is a handshake error. Every message sent is
 * compressed (raw deflate, zlib level 1, the window the answer's client_max_window_bits allows,
 * 15 without; Z_SYNC_FLUSH and its 00 00 ff ff dropped, RSV1 set), the deflater's context kept
 * from message to message unless the answer has client_no_context_takeover. A message received
 * with RSV1 is inflated (window: the answer's server_max_window_bits, or 15; its context kept
 * unless server_no_context_takeover) and checked as a plain one is; a message without RSV1 is
 * plain. RSV1 anywhere else, RSV2 or RSV3, or data that does not inflate: a protocol error.
 *
 * The JSON line also has wire_bytes_out and wire_bytes_in: the WebSocket frame bytes (headers and
 * payloads, as on the wire) of the messages counted in "messages" and of their echoes;
 * messages_compressed_in, those of the echoes that came with RSV1; and deflate_answer, the
 * server's Sec-WebSocket-Extensions (the first connection's; deflate_answers_differ when another
 * connection got a different one).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zlib.h>

#define HEAD_MAX 8192             /* the handshake response's head */
#define RBUF_SIZE (256 * 1024)    /* one recv per readable event, per thread */
#define OUT_MAX (64 * 1024)       /* a connection's queued output; big messages are generated
                                     into it as it drains */
#define PERIOD 251                /* message i's content starts at pattern[i % PERIOD] */
#define JSON_POOL_MAX (32u << 20) /* --json: bytes of distinct messages generated at the start */
#define ZOUT_SIZE (64 * 1024)     /* --deflate: inflated bytes per pass, per thread */
#define MAX_PRINTED 10            /* error lines printed; the rest are only counted */
#define CLOSE_WAIT_NS 2000000000ull
#define NS 1000000000ull

/* ---------------------------------------------------------------------------------------------
 * Options
 * ------------------------------------------------------------------------------------------- */

static struct {
    struct sockaddr_in addr;
    char hostport[96]; /* the Host header */
    char target[1024]; /* the request target: path and query */
    int threads, connections, pipeline, handshake_timeout_s;
    size_t size;
    bool binary, marks, json, deflate;
    double duration, warmup;
} opt = { .threads = 1, .connections = 64, .pipeline = 1, .handshake_timeout_s = 10, .size = 32,
          .duration = 8, .warmup = 1 };

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ws-load [options] ws://HOST:PORT/PATH   (HOST: an IPv4 address or localhost)\n"
            "  --connections C   WebSocket connections (64)\n"
            "  --threads T       threads, each with its own epoll loop over C/T connections (1)\n"
            "  --size N          bytes per message (32)\n"
            "  --binary          binary messages of arbitrary bytes (default: text, ASCII letters)\n"
            "  --json            text messages of JSON records (compressible, as real traffic)\n"
            "  --deflate         offer permessage-deflate (RFC 7692) and compress every message;\n"
            "                    a server that does not accept it is a handshake error\n"
            "  --pipeline K      messages in flight per connection (1)\n"
            "  --duration S      measured seconds (8)\n"
            "  --warmup S        seconds run before, not counted (1)\n"
            "  --handshake-timeout S  for all connections to connect and upgrade (10)\n"
            "  --marks           print \"ws-load: measuring\" and \"ws-load: measured\" on stderr\n"
            "                    when the measured run starts and ends\n"
            "Prints one JSON line; exits 1 when there was any error.\n");
}

static bool parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || !*s || errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_seconds(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = s ? strtod(s, &end) : 0;
    if (!s || !*s || errno || *end || !(v >= min && v <= max))
        return false;
    *out = v;
    return true;
}

/* ws://HOST:PORT/PATH, HOST an IPv4 literal or localhost, PORT required, PATH default "/". */
static bool parse_url(const char *url)
{
    if (strncmp(url, "wss://", 6) == 0) {
        fprintf(stderr, "ws-load: %s: wss:// (TLS) is not supported\n", url);
        return false;
    }
    if (strncmp(url, "ws://", 5) != 0) {
        fprintf(stderr, "ws-load: %s: the URL must start with ws://\n", url);
        return false;
    }
    const char *host = url + 5, *colon = strchr(host, ':'), *slash = strchr(host, '/');
    if (!colon || (slash && colon > slash)) {
        fprintf(stderr, "ws-load: %s: the URL needs a port (ws://127.0.0.1:8080/ws)\n", url);
        return false;
    }
    char h[64];
    if ((size_t)(colon - host) >= sizeof h) {
        fprintf(stderr, "ws-load: %s: host too long\n", url);
        return false;
    }
    memcpy(h, host, (size_t)(colon - host));
    h[colon - host] = 0;
    if (strcmp(h, "localhost") == 0)
        strcpy(h, "127.0.0.1");
    char portbuf[8];
    size_t plen = slash ? (size_t)(slash - colon - 1) : strlen(colon + 1);
    long port;
    if (plen >= sizeof portbuf) {
        fprintf(stderr, "ws-load: %s: bad port\n", url);
        return false;
    }
    memcpy(portbuf, colon + 1, plen);
    portbuf[plen] = 0;
    if (!parse_long(portbuf, 1, 65535, &port)) {
        fprintf(stderr, "ws-load: %s: bad port \"%s\"\n", url, portbuf);
        return false;
    }
    opt.addr.sin_family = AF_INET;
    opt.addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, h, &opt.addr.sin_addr) != 1) {
        fprintf(stderr, "ws-load: %s: the host must be an IPv4 address (or localhost)\n", url);
        return false;
    }
    snprintf(opt.hostport, sizeof opt.hostport, "%s:%ld", h, port);
    const char *path = slash ? slash : "/";
    if (strlen(path) >= sizeof opt.target) {
        fprintf(stderr, "ws-load: %s: path too long\n", url);
        return false;
    }
    for (const char *p = path; *p; p++)
        if (*p <= ' ' || *p == 0x7f) {
            fprintf(stderr, "ws-load: %s: the path holds a space or control character\n", url);
            return false;
        }
    strcpy(opt.target, path);
    return true;
}

static int parse_args(int argc, char **argv)
{
    const char *url = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--binary") == 0) {
            opt.binary = true;
        } else if (strcmp(a, "--json") == 0) {
            opt.json = true;
        } else if (strcmp(a, "--deflate") == 0) {
            opt.deflate = true;
        } else if (strcmp(a, "--marks") == 0) {
            opt.marks = true;
        } else if (strcmp(a, "--connections") == 0) {
            if (!parse_long(v, 1, 1000000, &n))
                goto bad;
            opt.connections = (int)n, i++;
        } else if (strcmp(a, "--threads") == 0) {
            if (!parse_long(v, 1, 256, &n))
                goto bad;
            opt.threads = (int)n, i++;
        } else if (strcmp(a, "--size") == 0) {
            if (!parse_long(v, 0, 1L << 30, &n))
                goto bad;
            opt.size = (size_t)n, i++;
        } else if (strcmp(a, "--pipeline") == 0) {
            if (!parse_long(v, 1, 4096, &n))
                goto bad;
            opt.pipeline = (int)n, i++;
        } else if (strcmp(a, "--handshake-timeout") == 0) {
            if (!parse_long(v, 1, 3600, &n))
                goto bad;
            opt.handshake_timeout_s = (int)n, i++;
        } else if (strcmp(a, "--duration") == 0) {
            if (!parse_seconds(v, 0.001, 86400, &opt.duration))
                goto bad;
            i++;
        } else if (strcmp(a, "--warmup") == 0) {
            if (!parse_seconds(v, 0, 3600, &opt.warmup))
                goto bad;
            i++;
        } else if (a[0] == '-') {
            fprintf(stderr, "ws-load: unknown option %s\n", a);
            usage(stderr);
            return -1;
        } else if (url) {
            fprintf(stderr, "ws-load: one URL only (%s, then %s)\n", url, a);
            return -1;
        } else {
            url = a;
        }
        continue;
    bad:
        fprintf(stderr, "ws-load: %s: bad or missing value%s%s\n", a, v ? " " : "", v ? v : "");
        return -1;
    }
    if (!url) {
        usage(stderr);
        return -1;
    }
    if (opt.json && opt.binary) {
        fprintf(stderr, "ws-load: --json and --binary exclude each other\n");
        return -1;
    }
    if (!parse_url(url))
        return -1;
    if (opt.threads > opt.connections)
        opt.threads = opt.connections;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
    for (int i = 0; i < 1000000; i++) { /* bounded: each pass sleeps until t or a signal */
        uint64_t n = now_ns();
        if (n >= t)
            return;
        struct timespec ts = { (time_t)((t - n) / NS), (long)((t - n) % NS) };
        nanosleep(&ts, NULL);
    }
}

/* getrandom, for up to 256 bytes: then it neither returns short nor is interrupted (getrandom(2))
 * once the pool is initialized, which a few tries wait out. */
static int random_bytes(void *buf, size_t len)
{
    for (int tries = 0; tries < 100; tries++) {
        ssize_t n = getrandom(buf, len, 0);
        if (n == (ssize_t)len)
            return 0;
        if (n < 0 && errno != EINTR && errno != EAGAIN)
            break;
    }
    fprintf(stderr, "ws-load: getrandom: %s\n", strerror(errno));
    return -1;
}

static atomic_int printed;

/* Prints one error line on stderr (the first MAX_PRINTED of the run). */
static void say(const char *fmt, ...)
{
    int k = atomic_fetch_add(&printed, 1);
    if (k >= MAX_PRINTED)
        return;
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "ws-load: %s%s\n", line,
            k == MAX_PRINTED - 1 ? " (further errors are only counted)" : "");
}

/* Base64 of len bytes into out (4 * ceil(len / 3) characters and a NUL). */
static void base64(const uint8_t *in, size_t len, char *out)
{
    EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

/* Sec-WebSocket-Accept for key (section 4.2.2): base64(SHA-1(key + GUID)), 28 chars + NUL. */
static int accept_value(const char *key, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) &&
             EVP_DigestUpdate(ctx, key, strlen(key)) &&
             EVP_DigestUpdate(ctx, guid, sizeof guid - 1) && EVP_DigestFinal_ex(ctx, md, &mdlen) &&
             mdlen == 20;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        fprintf(stderr, "ws-load: libcrypto: SHA-1 failed\n");
        return -1;
    }
    base64(md, 20, out);
    return 0;
}

/* dst[i] = src[i] ^ mask[(pos + i) % 4]: 8 bytes at a time. */
static void mask_copy(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t mask[4], uint64_t pos)
{
    uint8_t m[8];
    for (int k = 0; k < 8; k++)
        m[k] = mask[(pos + (uint64_t)k) & 3];
    uint64_t m64, x;
    memcpy(&m64, m, 8);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        memcpy(&x, src + i, 8);
        x ^= m64;
        memcpy(dst + i, &x, 8);
    }
    for (; i < n; i++)
        dst[i] = src[i] ^ m[i & 7];
}

/* A client frame's header (FIN set, masked) into h: returns its length (6 to 14). */
static size_t frame_header(uint8_t *h, int opcode, uint64_t len, const uint8_t mask[4])
{
    size_t n = 0;
    h[n++] = (uint8_t)(0x80 | opcode);
    if (len < 126) {
        h[n++] = (uint8_t)(0x80 | len);
    } else if (len <= 0xFFFF) {
        h[n++] = 0x80 | 126;
        h[n++] = (uint8_t)(len >> 8);
        h[n++] = (uint8_t)len;
    } else {
        h[n++] = 0x80 | 127;
        for (int k = 7; k >= 0; k--)
            h[n++] = (uint8_t)(len >> (8 * k));
    }
    memcpy(h + n, mask, 4);
    return n + 4;
}

/* ---------------------------------------------------------------------------------------------
 * The latency histogram: values in ns; below 64 exact, then 32 buckets per power of two.
 * ------------------------------------------------------------------------------------------- */

#define HIST_BUCKETS (64 + 58 * 32)

static size_t hist_bucket(uint64_t v)
{
    if (v < 64)
        return (size_t)v;
    int e = 63 - __builtin_clzll(v); /* 6..63 */
    return 64 + (size_t)(e - 6) * 32 + (size_t)((v >> (e - 5)) & 31);
}

static double hist_value(size_t b) /* the bucket's middle */
{
    if (b < 64)
        return (double)b;
    int e = (int)((b - 64) / 32) + 6;
    uint64_t sub = (b - 64) % 32, width = 1ull << (e - 5);
    return (double)((1ull << e) + sub * width) + (double)width / 2;
}

static double hist_percentile(const uint64_t *h, uint64_t total, double p)
{
    if (!total)
        return 0;
    uint64_t want = (uint64_t)(p * (double)total + 0.999999), seen = 0;
    if (want < 1)
        want = 1;
    for (size_t b = 0; b < HIST_BUCKETS; b++)
        if ((seen += h[b]) >= want)
            return hist_value(b);
    return hist_value(HIST_BUCKETS - 1);
}

/* ---------------------------------------------------------------------------------------------
 * Connections
 * ------------------------------------------------------------------------------------------- */

enum { E_CONNECT, E_HANDSHAKE, E_MISMATCH, E_PROTOCOL, E_STALLED, E_CLOSED, E_CLOSE, E_KINDS };
static const char *const error_names[E_KINDS] = { "connect", "handshake", "mismatch", "protocol",
                                                  "stalled", "closed", "close" };

enum {
    ST_CONNECTING,     /* connect() in progress */
    ST_HANDSHAKE,      /* the upgrade request sent (or being sent), awaiting the 101 */
    ST_OPEN,           /* the closed loop */
    ST_CLOSING,        /* our close frame queued or sent; awaiting the server's */
    ST_CLOSE_RECEIVED, /* the server's close frame received; awaiting its TCP close */
    ST_DONE,           /* socket closed */
};

static uint8_t *pattern; /* opt.size + PERIOD bytes: letters, or arbitrary bytes with --binary;
                          * with --json, json_count messages of opt.size bytes back to back */
static size_t json_count;

/* The content of message seq. */
static inline const uint8_t *message_bytes(uint64_t seq)
{
    return opt.json ? pattern + (size_t)(seq % json_count) * opt.size : pattern + seq % PERIOD;
}

typedef struct worker worker;

typedef struct conn {
    worker *w;
    int fd, id, state;
    uint32_t events; /* those registered with epoll */
    /* the handshake */
    char accept[29];
    char *head;
    size_t head_len;
    /* output: bytes queued at out[out_off..out_len) */
    uint8_t *out;
    size_t out_off, out_len, out_cap;
    uint8_t pong[6 + 125]; /* a pong waiting for a frame boundary (the last ping's) */
    size_t pong_len;
    bool close_pending, close_sent;
    uint8_t close_payload[2];
    size_t close_payload_len;
    /* the message being generated into out */
    bool tx_active;
    uint64_t tx_pos, tx_len; /* tx_len: its payload's length (compressed, with --deflate) */
    uint8_t tx_mask[4];
    const uint8_t *tx_src;
    uint64_t seq_tx, seq_rx; /* the next message to start; the next echo expected */
    uint64_t *t_sent;        /* [seq % pipeline]: when each in-flight message started */
    /* input: the frame being read */
    uint8_t rx_hdr[14];
    size_t rx_hdr_len;
    bool in_frame, rx_fin;
    int rx_op;
    uint64_t rx_left;
    uint8_t cbuf[125]; /* a control frame's payload */
    size_t cbuf_len;
    /* the message being read (data frames, possibly fragmented) */
    bool msg_active, msg_bad, msg_unsolicited, msg_compressed;
    int msg_type;
    uint64_t msg_pos;  /* its content's bytes so far (inflated, when compressed) */
    uint64_t msg_wire; /* its frames' bytes so far, headers included */
    char msg_why[160];
    /* --deflate: the answer's parameters */
    bool client_nct, server_nct; /* client_no_context_takeover, server_no_context_takeover */
    int client_bits, server_bits; /* client_max_window_bits, server_max_window_bits (15) */
    z_stream *ztx;   /* the deflater, with context takeover; NULL: the worker's, reset */
    z_stream zrx;    /* the inflater */
    bool zrx_init, zrx_end; /* zrx_end: the message's deflate data had a final block */
    uint8_t *zbuf;   /* the compressed message being sent */
    size_t zbuf_cap;
    uint64_t *wire_sent; /* [seq % pipeline]: frame bytes of each in-flight message */
} conn;

struct worker {
    int id, epfd;
    pthread_t thread;
    conn *conns;
    int nconns, nlive, established;
    bool running, stopping;
    uint64_t now;
    uint8_t *rbuf;
    uint8_t masks[256];
    size_t mask_off;
    uint64_t messages, lat_max, hist_total;
    uint64_t errors[E_KINDS];
    uint64_t hist[HIST_BUCKETS];
    uint64_t no_tcp_close; /* close frames exchanged, but no TCP close from the server in time */
    uint64_t wire_out, wire_in, compressed_in; /* of the messages counted */
    z_stream ztx;  /* --deflate: the deflater of connections without context takeover */
    int ztx_bits;  /* its window bits; 0: not initialized */
    uint8_t *zout; /* --deflate: inflated bytes, before they are checked */
};

static uint64_t t_handshake_deadline, t_warm_end, t_end, t_close_deadline;
static pthread_barrier_t barrier;

/* --deflate: the first connection's Sec-WebSocket-Extensions answer; whether another differed */
static pthread_mutex_t answer_lock = PTHREAD_MUTEX_INITIALIZER;
static char deflate_answer[256];
static bool have_answer, answers_differ;

static void error_at(conn *c, int kind, const char *fmt, ...)
{
    c->w->errors[kind]++;
    char why[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    say("connection %d: %s", c->id, why);
}

static int next_mask(worker *w, uint8_t m[4])
{
    if (w->mask_off + 4 > sizeof w->masks) {
        if (random_bytes(w->masks, sizeof w->masks) != 0)
            return -1;
        w->mask_off = 0;
    }
    memcpy(m, w->masks + w->mask_off, 4);
    w->mask_off += 4;
    return 0;
}

static void set_events(conn *c, uint32_t ev)
{
    if (c->fd < 0 || ev == c->events)
        return;
    struct epoll_event e = { .events = ev, .data.ptr = c };
    if (epoll_ctl(c->w->epfd, EPOLL_CTL_MOD, c->fd, &e) == 0)
        c->events = ev;
}

static void finish(conn *c)
{
    if (c->fd >= 0) {
        close(c->fd); /* also leaves the epoll set */
        c->fd = -1;
        c->w->nlive--;
    }
    c->state = ST_DONE;
    free(c->head);
    c->head = NULL;
    if (c->zrx_init) {
        inflateEnd(&c->zrx);
        c->zrx_init = false;
    }
    if (c->ztx) {
        deflateEnd(c->ztx);
        free(c->ztx);
        c->ztx = NULL;
    }
    free(c->zbuf);
    c->zbuf = NULL;
    c->zbuf_cap = 0;
}

/* --deflate: zlib's raw deflate refuses a window of 8 bits; 9 is safe for a peer that allows 8,
 * as zlib's deflate never reaches further back than its window less 262 bytes (250 for 9). */
static int deflate_init(z_stream *z, int bits)
{
    memset(z, 0, sizeof *z);
    return deflateInit2(z, 1, Z_DEFLATED, -(bits < 9 ? 9 : bits), 8, Z_DEFAULT_STRATEGY);
}

/* --deflate: after the handshake, the inflater and (with context takeover) the deflater. */
static int deflate_setup(conn *c)
{
    memset(&c->zrx, 0, sizeof c->zrx);
    if (inflateInit2(&c->zrx, -c->server_bits) != Z_OK)
        return -1;
    c->zrx_init = true;
    if (!c->client_nct) {
        c->ztx = malloc(sizeof *c->ztx);
        if (!c->ztx)
            return -1;
        if (deflate_init(c->ztx, c->client_bits) != Z_OK) {
            free(c->ztx);
            c->ztx = NULL;
            return -1;
        }
    }
    return 0;
}

/* --deflate: compresses src (opt.size bytes) into zbuf: tx_src and tx_len are the payload. */
static int compress_message(conn *c, const uint8_t *src)
{
    worker *w = c->w;
    z_stream *z = c->ztx;
    if (!z) { /* no context takeover: the worker's deflater, reset */
        z = &w->ztx;
        int bits = c->client_bits < 9 ? 9 : c->client_bits;
        if (w->ztx_bits != bits) {
            if (w->ztx_bits)
                deflateEnd(z);
            w->ztx_bits = 0;
            if (deflate_init(z, bits) != Z_OK) {
                error_at(c, E_PROTOCOL, "zlib: deflateInit2 failed");
                return -1;
            }
            w->ztx_bits = bits;
        } else {
            deflateReset(z);
        }
    }
    if (!c->zbuf) {
        c->zbuf_cap = opt.size + opt.size / 16 + 64; /* level 1's worst case is under 1/3000 */
        c->zbuf = malloc(c->zbuf_cap);
        if (!c->zbuf) {
            error_at(c, E_PROTOCOL, "out of memory for a compressed message");
            return -1;
        }
    }
    z->next_in = (Bytef *)src;
    z->avail_in = (uInt)opt.size;
    size_t len = 0;
    /* bounded: each pass doubles zbuf until the flushed output fits, as it does at the first */
    for (int pass = 0; pass < 40; pass++) {
        z->next_out = c->zbuf + len;
        z->avail_out = (uInt)(c->zbuf_cap - len);
        int rc = deflate(z, Z_SYNC_FLUSH);
        len = c->zbuf_cap - z->avail_out;
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            error_at(c, E_PROTOCOL, "zlib: deflate returned %d", rc);
            return -1;
        }
        if (z->avail_in == 0 && z->avail_out > 0)
            break;
        uint8_t *bigger = realloc(c->zbuf, 2 * c->zbuf_cap);
        if (!bigger) {
            error_at(c, E_PROTOCOL, "out of memory for a compressed message");
            return -1;
        }
        c->zbuf = bigger;
        c->zbuf_cap *= 2;
    }
    if (len == 0) { /* nothing since the last flush (an empty message, context kept): zlib adds
                       no empty block, which section 7.2.1 asks for: 00 then 00 00 ff ff */
        c->zbuf[0] = 0;
        c->tx_src = c->zbuf;
        c->tx_len = 1;
        return 0;
    }
    if (len < 4 || memcmp(c->zbuf + len - 4, "\x00\x00\xff\xff", 4) != 0) {
        error_at(c, E_PROTOCOL, "zlib: the flushed data does not end with 00 00 ff ff");
        return -1;
    }
    c->tx_src = c->zbuf;
    c->tx_len = len - 4; /* section 7.2.1: the tail is removed */
    return 0;
}

/* Generates what may be sent next into out: a waiting pong or close frame at a frame boundary,
 * then messages while fewer than --pipeline are in flight, as far as out has room. */
static int fill(conn *c)
{
    worker *w = c->w;
    if (c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
    } else if (c->out_off > c->out_cap / 2) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    /* bounded: each pass appends to out (which has out_cap bytes) or stops */
    for (size_t pass = 0; pass <= c->out_cap + 4; pass++) {
        size_t room = c->out_cap - c->out_len;
        if (c->tx_active) {
            uint64_t left = c->tx_len - c->tx_pos;
            size_t n = left < room ? (size_t)left : room;
            if (!n)
                break;
            mask_copy(c->out + c->out_len, c->tx_src + c->tx_pos, n, c->tx_mask, c->tx_pos);
            c->out_len += n;
            c->tx_pos += n;
            if (c->tx_pos == c->tx_len)
                c->tx_active = false;
            continue;
        }
        if (c->pong_len && !c->close_sent) {
            if (room < c->pong_len)
                break;
            memcpy(c->out + c->out_len, c->pong, c->pong_len);
            c->out_len += c->pong_len;
            c->pong_len = 0;
            continue;
        }
        if (c->close_pending) {
            uint8_t m[4];
            if (room < 14 || next_mask(w, m) != 0)
                break;
            size_t h = frame_header(c->out + c->out_len, 0x8, c->close_payload_len, m);
            mask_copy(c->out + c->out_len + h, c->close_payload, c->close_payload_len, m, 0);
            c->out_len += h + c->close_payload_len;
            c->close_pending = false;
            c->close_sent = true;
            continue;
        }
        if (c->state != ST_OPEN || !w->running || w->stopping || w->now >= t_end ||
            c->seq_tx - c->seq_rx >= (uint64_t)opt.pipeline || room < 14)
            break;
        if (next_mask(w, c->tx_mask) != 0)
            return -1;
        if (opt.deflate) {
            if (compress_message(c, message_bytes(c->seq_tx)) != 0)
                return -1;
            size_t h = frame_header(c->out + c->out_len, opt.binary ? 0x2 : 0x1, c->tx_len,
                                    c->tx_mask);
            c->out[c->out_len] |= 0x40; /* RSV1: compressed (RFC 7692 section 6) */
            c->out_len += h;
            c->wire_sent[c->seq_tx % (uint64_t)opt.pipeline] = h + c->tx_len;
        } else {
            c->out_len += frame_header(c->out + c->out_len, opt.binary ? 0x2 : 0x1, opt.size,
                                       c->tx_mask);
            c->tx_src = message_bytes(c->seq_tx);
            c->tx_len = opt.size;
        }
        c->t_sent[c->seq_tx % (uint64_t)opt.pipeline] = w->now;
        c->seq_tx++;
        c->tx_pos = 0;
        c->tx_active = c->tx_len > 0;
    }
    return 0;
}

/* Generates and sends what it can; waits for EPOLLOUT when the socket is full. -1: c is done. */
static int pump(conn *c)
{
    if (fill(c) != 0) {
        finish(c);
        return -1;
    }
    for (int pass = 0; pass < 64 && c->out_off < c->out_len; pass++) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            if (fill(c) != 0) {
                finish(c);
                return -1;
            }
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (c->state == ST_CLOSE_RECEIVED) { /* the server closed first: nothing more to say */
            finish(c);
            return -1;
        }
        error_at(c, c->state == ST_HANDSHAKE ? E_HANDSHAKE : E_CLOSED, "send: %s%s",
                 n < 0 ? strerror(errno) : "sent nothing",
                 c->state == ST_CLOSING ? " (while closing)" : "");
        finish(c);
        return -1;
    }
    set_events(c, EPOLLIN | (c->out_off < c->out_len ? EPOLLOUT : 0));
    return 0;
}

/* The server's close frame (payload in cbuf). */
static void on_close_frame(conn *c)
{
    int code = c->cbuf_len >= 2 ? c->cbuf[0] << 8 | c->cbuf[1] : 1005;
    if (c->cbuf_len == 1)
        error_at(c, E_PROTOCOL, "a close frame with a 1-byte payload (section 5.5.1)");
    if (c->state == ST_CLOSE_RECEIVED) {
        error_at(c, E_PROTOCOL, "a second close frame");
        return;
    }
    if (c->state == ST_CLOSING) {
        c->state = ST_CLOSE_RECEIVED;
        if (code != 1000 && code != 1005)
            error_at(c, E_CLOSE, "the server answered our close (1000) with %d \"%.*s\"", code,
                     (int)(c->cbuf_len > 2 ? c->cbuf_len - 2 : 0), (const char *)c->cbuf + 2);
        return;
    }
    error_at(c, E_CLOSED, "the server closed the WebSocket with %d \"%.*s\" %s", code,
             (int)(c->cbuf_len > 2 ? c->cbuf_len - 2 : 0), (const char *)c->cbuf + 2,
             c->w->running ? "during the run" : "before the run started");
    /* echo its code, as section 5.5.1 asks */
    c->close_payload_len = c->cbuf_len >= 2 ? 2 : 0;
    memcpy(c->close_payload, c->cbuf, c->close_payload_len);
    c->close_pending = !c->close_sent;
    c->state = ST_CLOSE_RECEIVED;
}

static void on_message_end(conn *c)
{
    worker *w = c->w;
    c->msg_active = false;
    if (c->msg_unsolicited)
        return; /* counted when it began */
    if (!c->msg_bad && c->msg_pos != opt.size) {
        c->msg_bad = true;
        snprintf(c->msg_why, sizeof c->msg_why, "%" PRIu64 " bytes, expected %zu", c->msg_pos,
                 opt.size);
    }
    uint64_t seq = c->seq_rx++;
    if (c->msg_bad) {
        error_at(c, E_MISMATCH, "echo of message %" PRIu64 " differs: %s", seq, c->msg_why);
        return;
    }
    if (w->now >= t_warm_end && w->now < t_end && w->running) {
        uint64_t lat = w->now - c->t_sent[seq % (uint64_t)opt.pipeline];
        w->messages++;
        w->wire_in += c->msg_wire;
        w->compressed_in += c->msg_compressed;
        if (opt.deflate) /* else: a constant, counted at the end */
            w->wire_out += c->wire_sent[seq % (uint64_t)opt.pipeline];
        w->hist[hist_bucket(lat)]++;
        w->hist_total++;
        if (lat > w->lat_max)
            w->lat_max = lat;
    }
}

/* A frame header is complete in rx_hdr: checks it (section 5.2) and starts its payload. */
static int on_frame_header(conn *c)
{
    const uint8_t *h = c->rx_hdr;
    bool fin = h[0] & 0x80;
    int op = h[0] & 0x0F, len7 = h[1] & 0x7F;
    uint64_t len = (uint64_t)len7;
    if (len7 == 126) {
        len = (uint64_t)h[2] << 8 | h[3];
        if (len < 126) {
            error_at(c, E_PROTOCOL, "a 16-bit frame length of %" PRIu64 " (not minimal)", len);
            return -1;
        }
    } else if (len7 == 127) {
        len = 0;
        for (int k = 0; k < 8; k++)
            len = len << 8 | h[2 + k];
        if (len >> 63) {
            error_at(c, E_PROTOCOL, "a 64-bit frame length with its top bit set");
            return -1;
        }
        if (len <= 0xFFFF) {
            error_at(c, E_PROTOCOL, "a 64-bit frame length of %" PRIu64 " (not minimal)", len);
            return -1;
        }
    }
    int rsv = h[0] & 0x70;
    if (rsv && !(opt.deflate && rsv == 0x40 && (op == 0x1 || op == 0x2))) {
        if (opt.deflate)
            error_at(c, E_PROTOCOL, "a frame (opcode 0x%x) with reserved bits 0x%02x: "
                     "permessage-deflate allows RSV1 alone, on a message's first frame", op, rsv);
        else
            error_at(c, E_PROTOCOL, "a frame with reserved bits set (0x%02x): no extension was "
                     "negotiated", h[0] & 0x70);
        return -1;
    }
    if (h[1] & 0x80) {
        error_at(c, E_PROTOCOL, "a masked frame from the server (section 5.1)");
        return -1;
    }
    if (op > 0xA || (op > 0x2 && op < 0x8)) {
        error_at(c, E_PROTOCOL, "a frame with the reserved opcode 0x%x", op);
        return -1;
    }
    if (op & 0x8) {
        if (!fin || len > 125) {
            error_at(c, E_PROTOCOL, "a control frame (opcode 0x%x) %s", op,
                     !fin ? "fragmented" : "over 125 bytes");
            return -1;
        }
    } else if (c->state >= ST_CLOSE_RECEIVED) {
        error_at(c, E_PROTOCOL, "a data frame after the server's close frame");
        return -1;
    } else if (op == 0x0) {
        if (!c->msg_active) {
            error_at(c, E_PROTOCOL, "a continuation frame with no message to continue");
            return -1;
        }
    } else {
        if (c->msg_active) {
            error_at(c, E_PROTOCOL, "a new message (opcode 0x%x) before the last one's final frame",
                     op);
            return -1;
        }
        c->msg_active = true;
        c->msg_type = op;
        c->msg_pos = 0;
        c->msg_wire = 0;
        c->msg_compressed = rsv != 0;
        c->msg_bad = false;
        c->msg_unsolicited = c->seq_rx >= c->seq_tx;
        if (c->msg_unsolicited)
            error_at(c, E_PROTOCOL, "a message from the server with none of ours awaiting an echo");
        else if (op != (opt.binary ? 0x2 : 0x1)) {
            c->msg_bad = true;
            snprintf(c->msg_why, sizeof c->msg_why, "a %s message, expected %s",
                     op == 0x1 ? "text" : "binary", opt.binary ? "binary" : "text");
        }
    }
    if (!(op & 0x8))
        c->msg_wire += c->rx_hdr_len + len;
    c->in_frame = true;
    c->rx_fin = fin;
    c->rx_op = op;
    c->rx_left = len;
    c->cbuf_len = 0;
    return 0;
}

/* The next n bytes of the message being read (inflated, when compressed): are they those sent? */
static void check_content(conn *c, const uint8_t *p, size_t n)
{
    if (!c->msg_bad && !c->msg_unsolicited) {
        const uint8_t *want = message_bytes(c->seq_rx) + c->msg_pos;
        if (c->msg_pos + n > opt.size) {
            c->msg_bad = true;
            snprintf(c->msg_why, sizeof c->msg_why, "longer than the %zu bytes sent", opt.size);
        } else if (memcmp(p, want, n) != 0) {
            size_t i = 0;
            while (i < n && p[i] == want[i])
                i++;
            c->msg_bad = true;
            snprintf(c->msg_why, sizeof c->msg_why, "byte %" PRIu64 " is 0x%02x, expected 0x%02x",
                     c->msg_pos + i, p[i], want[i]);
        }
    }
    c->msg_pos += n;
}

/* --deflate: n bytes of a compressed message's payload, inflated and checked. -1: a protocol
 * error (reported). */
static int inflate_data(conn *c, const uint8_t *p, size_t n)
{
    if (c->zrx_end) /* after a final block (section 7.2.3.4): nothing more is inflated */
        return 0;
    z_stream *z = &c->zrx;
    z->next_in = (Bytef *)p;
    z->avail_in = (uInt)n;
    /* bounded: each pass fills zout (then goes on) or ends; deflate expands 1032:1 at most */
    for (;;) {
        uInt in_before = z->avail_in;
        z->next_out = c->w->zout;
        z->avail_out = ZOUT_SIZE;
        int rc = inflate(z, Z_SYNC_FLUSH);
        size_t got = ZOUT_SIZE - z->avail_out;
        check_content(c, c->w->zout, got);
        if (rc == Z_STREAM_END) {
            c->zrx_end = true;
            return 0;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            error_at(c, E_PROTOCOL, "%s %" PRIu64 " does not inflate: %s",
                     c->msg_unsolicited ? "an unsolicited message after echo" : "the echo of message",
                     c->seq_rx, z->msg ? z->msg : "zlib error");
            return -1;
        }
        if (z->avail_out > 0 || (got == 0 && z->avail_in == in_before))
            return 0; /* all taken in, and out */
    }
}

/* --deflate: a compressed message's end: its tail (section 7.2.2) inflated, the context reset
 * or kept. -1: a protocol error (reported). */
static int inflate_end(conn *c)
{
    static const uint8_t tail[4] = { 0x00, 0x00, 0xff, 0xff };
    if (inflate_data(c, tail, 4) != 0)
        return -1;
    if (c->server_nct) {
        inflateReset(&c->zrx);
    } else if (c->zrx_end) { /* a final block ended the stream: the next message still refers
                                back into this one's window */
        uInt len = 0;
        inflateGetDictionary(&c->zrx, c->w->zout, &len);
        inflateReset(&c->zrx);
        inflateSetDictionary(&c->zrx, c->w->zout, len);
    }
    c->zrx_end = false;
    return 0;
}

/* The current frame's payload is complete. */
static int on_frame_end(conn *c)
{
    c->in_frame = false;
    c->rx_hdr_len = 0;
    switch (c->rx_op) {
    case 0x8:
        on_close_frame(c);
        break;
    case 0x9: { /* answer with a pong of the same payload (section 5.5.2) */
        uint8_t m[4];
        if (next_mask(c->w, m) != 0)
            return -1;
        size_t h = frame_header(c->pong, 0xA, c->cbuf_len, m);
        mask_copy(c->pong + h, c->cbuf, c->cbuf_len, m, 0);
        c->pong_len = h + c->cbuf_len;
        break;
    }
    case 0xA:
        break;
    default:
        if (c->rx_fin) {
            if (c->msg_compressed && inflate_end(c) != 0)
                return -1;
            on_message_end(c);
        }
    }
    return 0;
}

static int on_payload(conn *c, const uint8_t *p, size_t n)
{
    if (c->rx_op & 0x8) {
        memcpy(c->cbuf + c->cbuf_len, p, n); /* len <= 125 was checked */
        c->cbuf_len += n;
        return 0;
    }
    if (c->msg_compressed)
        return inflate_data(c, p, n);
    check_content(c, p, n);
    return 0;
}

/* The length of the frame header begun in rx_hdr, as far as its first two bytes tell. */
static size_t header_need(const conn *c)
{
    if (c->rx_hdr_len < 2)
        return 2;
    int len7 = c->rx_hdr[1] & 0x7F;
    return 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + (c->rx_hdr[1] & 0x80 ? 4 : 0);
}

/* Bytes from the server after the handshake: frames. -1: c is done (a protocol error). */
static int on_frames(conn *c, const uint8_t *p, size_t n)
{
    size_t i = 0;
    /* bounded: each pass consumes at least a byte, or ends a frame whose header it consumed */
    while (i < n || (c->in_frame && c->rx_left == 0)) {
        if (!c->in_frame) {
            size_t need = header_need(c);
            if (c->rx_hdr_len < need) {
                size_t take = need - c->rx_hdr_len < n - i ? need - c->rx_hdr_len : n - i;
                memcpy(c->rx_hdr + c->rx_hdr_len, p + i, take);
                c->rx_hdr_len += take;
                i += take;
                /* a header that ends the read is handled now: its frame may be empty (the
                 * empty final fragment some servers send), with no more bytes coming */
                if (c->rx_hdr_len < header_need(c))
                    continue;
            }
            if (on_frame_header(c) != 0) {
                finish(c);
                return -1;
            }
            continue;
        }
        size_t take = c->rx_left < n - i ? (size_t)c->rx_left : n - i;
        if (on_payload(c, p + i, take) != 0) {
            finish(c);
            return -1;
        }
        c->rx_left -= take;
        i += take;
        if (c->rx_left == 0 && on_frame_end(c) != 0) {
            finish(c);
            return -1;
        }
    }
    return 0;
}

/* Case-insensitive: does the comma-separated list hold token? */
static bool has_token(const char *list, size_t len, const char *token)
{
    size_t tl = strlen(token), i = 0;
    while (i < len) { /* bounded: i advances past each element */
        while (i < len && (list[i] == ' ' || list[i] == '\t' || list[i] == ','))
            i++;
        size_t start = i;
        while (i < len && list[i] != ',')
            i++;
        size_t end = i;
        while (end > start && (list[end - 1] == ' ' || list[end - 1] == '\t'))
            end--;
        if (end - start == tl && strncasecmp(list + start, token, tl) == 0)
            return true;
    }
    return false;
}

/* Copies s[0..len) into out with anything unprintable as '?', for an error message. */
static const char *printable(const char *s, size_t len, char *out, size_t cap)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = s[i] >= ' ' && s[i] < 0x7f ? s[i] : '?';
    out[n] = 0;
    return out;
}

/* --deflate: parses the server's Sec-WebSocket-Extensions answer s[0..len) into c's parameters
 * (RFC 7692 section 7.1): permessage-deflate alone, with any of its four parameters, each once,
 * the window sizes 8 to 15 (as a token or a quoted string). Else fills why and returns -1. */
static int parse_deflate_answer(conn *c, const char *s, size_t len, char *why, size_t why_cap)
{
    c->client_nct = c->server_nct = false;
    c->client_bits = c->server_bits = 15;
    bool seen[4] = { false };
    static const char *const names[4] = { "server_no_context_takeover",
                                          "client_no_context_takeover",
                                          "server_max_window_bits", "client_max_window_bits" };
    size_t i = 0;
    int element = 0; /* 0: the extension's name; then its parameters */
    /* bounded: each pass consumes an element and its separator, or fails */
    while (i <= len) {
        while (i < len && (s[i] == ' ' || s[i] == '\t'))
            i++;
        size_t ns = i;
        while (i < len && s[i] != '=' && s[i] != ';' && s[i] != ',' && s[i] != ' ' && s[i] != '\t')
            i++;
        size_t nl = i - ns;
        while (i < len && (s[i] == ' ' || s[i] == '\t'))
            i++;
        char value[16];
        bool has_value = false;
        if (i < len && s[i] == '=') {
            i++;
            while (i < len && (s[i] == ' ' || s[i] == '\t'))
                i++;
            size_t vl = 0;
            bool quoted = i < len && s[i] == '"';
            if (quoted) {
                for (i++; i < len && s[i] != '"'; i++) {
                    if (s[i] == '\\' && i + 1 < len)
                        i++;
                    if (vl + 1 < sizeof value)
                        value[vl++] = s[i];
                }
                if (i == len) {
                    snprintf(why, why_cap, "an unterminated quoted string");
                    return -1;
                }
                i++;
            } else {
                for (; i < len && s[i] != ';' && s[i] != ',' && s[i] != ' ' && s[i] != '\t'; i++)
                    if (vl + 1 < sizeof value)
                        value[vl++] = s[i];
            }
            value[vl] = 0;
            has_value = true;
            while (i < len && (s[i] == ' ' || s[i] == '\t'))
                i++;
        }
        if (!nl) {
            snprintf(why, why_cap, "an empty %s", element ? "parameter" : "extension name");
            return -1;
        }
        if (element == 0) {
            if (nl != 18 || strncasecmp(s + ns, "permessage-deflate", 18) != 0 || has_value) {
                snprintf(why, why_cap, "an extension other than permessage-deflate (\"%.*s\")",
                         (int)(nl < 60 ? nl : 60), s + ns);
                return -1;
            }
        } else {
            int k = 0;
            while (k < 4 && !(strlen(names[k]) == nl && strncasecmp(s + ns, names[k], nl) == 0))
                k++;
            if (k == 4) {
                snprintf(why, why_cap, "a parameter RFC 7692 does not define (\"%.*s\")",
                         (int)(nl < 60 ? nl : 60), s + ns);
                return -1;
            }
            if (seen[k]) {
                snprintf(why, why_cap, "%s twice", names[k]);
                return -1;
            }
            seen[k] = true;
            if (k < 2) {
                if (has_value) {
                    snprintf(why, why_cap, "%s with a value", names[k]);
                    return -1;
                }
                *(k == 0 ? &c->server_nct : &c->client_nct) = true;
            } else {
                long bits;
                bool digits = has_value && value[0];
                for (const char *d = value; digits && *d; d++)
                    digits = *d >= '0' && *d <= '9';
                if (!digits || !parse_long(value, 8, 15, &bits)) {
                    snprintf(why, why_cap, "%s %s%s%s (8 to 15 required)", names[k],
                             has_value ? "= \"" : "without a value", has_value ? value : "",
                             has_value ? "\"" : "");
                    return -1;
                }
                *(k == 2 ? &c->server_bits : &c->client_bits) = (int)bits;
            }
        }
        if (i == len)
            return 0;
        if (s[i] == ',') {
            snprintf(why, why_cap, "more than one extension (only permessage-deflate was offered)");
            return -1;
        }
        if (s[i] != ';') {
            snprintf(why, why_cap, "unexpected \"%c\" at %zu", s[i], i);
            return -1;
        }
        i++;
        element++;
    }
    return 0;
}

/* --deflate: records the answer for the report (the first; whether any other differs). */
static void record_answer(const char *s, size_t len)
{
    char shown[sizeof deflate_answer];
    printable(s, len, shown, sizeof shown);
    pthread_mutex_lock(&answer_lock);
    if (!have_answer) {
        strcpy(deflate_answer, shown);
        have_answer = true;
    } else if (strcmp(deflate_answer, shown) != 0) {
        answers_differ = true;
    }
    pthread_mutex_unlock(&answer_lock);
}

/* Checks the response head head[0..len) (ending with CRLF CRLF): 0 when it accepts the upgrade. */
static int check_handshake(conn *c, const char *head, size_t len)
{
    char shown[128];
    const char *eol = memmem(head, len, "\r\n", 2);
    size_t sl = (size_t)(eol - head);
    if (sl < 12 || memcmp(head, "HTTP/1.1 101", 12) != 0 || (sl > 12 && head[12] != ' ')) {
        error_at(c, E_HANDSHAKE, "the server answered \"%s\", not HTTP/1.1 101 Switching Protocols",
                 printable(head, sl, shown, sizeof shown));
        return -1;
    }
    bool upgrade = false, connection = false, accepted = false;
    char ext[512]; /* --deflate: Sec-WebSocket-Extensions, its lines joined (section 9.1) */
    size_t ext_len = 0;
    const char *p = eol + 2, *end = head + len - 2; /* the last CRLF ends the head */
    for (int lines = 0; p < end && lines < 1000; lines++) {
        const char *e = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (!e)
            e = end;
        const char *colon = memchr(p, ':', (size_t)(e - p));
        if (!colon) {
            error_at(c, E_HANDSHAKE, "a response header line without a colon: \"%s\"",
                     printable(p, (size_t)(e - p), shown, sizeof shown));
            return -1;
        }
        size_t nl = (size_t)(colon - p);
        const char *v = colon + 1, *ve = e;
        while (v < ve && (*v == ' ' || *v == '\t'))
            v++;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        size_t vl = (size_t)(ve - v);
#define IS(name) (nl == sizeof name - 1 && strncasecmp(p, name, nl) == 0)
        if (IS("Upgrade")) {
            upgrade = vl == 9 && strncasecmp(v, "websocket", 9) == 0;
            if (!upgrade) {
                error_at(c, E_HANDSHAKE, "the 101 has Upgrade: %s, not websocket",
                         printable(v, vl, shown, sizeof shown));
                return -1;
            }
        } else if (IS("Connection")) {
            connection = connection || has_token(v, vl, "upgrade");
        } else if (IS("Sec-WebSocket-Accept")) {
            accepted = vl == 28 && memcmp(v, c->accept, 28) == 0;
            if (!accepted) {
                error_at(c, E_HANDSHAKE, "Sec-WebSocket-Accept is \"%s\", expected \"%s\"",
                         printable(v, vl, shown, sizeof shown), c->accept);
                return -1;
            }
        } else if (opt.deflate && IS("Sec-WebSocket-Extensions")) {
            if (ext_len + 2 + vl >= sizeof ext) {
                error_at(c, E_HANDSHAKE, "Sec-WebSocket-Extensions is over %zu bytes", sizeof ext);
                return -1;
            }
            if (ext_len) {
                memcpy(ext + ext_len, ", ", 2);
                ext_len += 2;
            }
            memcpy(ext + ext_len, v, vl);
            ext_len += vl;
        } else if (IS("Sec-WebSocket-Extensions") || IS("Sec-WebSocket-Protocol")) {
            error_at(c, E_HANDSHAKE, "the 101 chose %.*s: %s, which the client did not offer",
                     (int)nl, p, printable(v, vl, shown, sizeof shown));
            return -1;
        }
#undef IS
        p = e + 2;
    }
    if (!upgrade || !connection || !accepted) {
        error_at(c, E_HANDSHAKE, "the 101 lacks %s", !upgrade ? "Upgrade: websocket"
                 : !connection ? "Connection: Upgrade" : "Sec-WebSocket-Accept");
        return -1;
    }
    if (opt.deflate) {
        char why[160], shown_ext[200];
        if (!ext_len) {
            error_at(c, E_HANDSHAKE, "the 101 has no Sec-WebSocket-Extensions: permessage-deflate "
                     "(offered, and --deflate requires it)");
            return -1;
        }
        if (parse_deflate_answer(c, ext, ext_len, why, sizeof why) != 0) {
            error_at(c, E_HANDSHAKE, "Sec-WebSocket-Extensions: %s: %s",
                     printable(ext, ext_len, shown_ext, sizeof shown_ext), why);
            return -1;
        }
        record_answer(ext, ext_len);
        if (deflate_setup(c) != 0) {
            error_at(c, E_HANDSHAKE, "zlib: could not set up a deflater and an inflater "
                     "(out of memory?)");
            return -1;
        }
    }
    return 0;
}

/* Handshake response bytes. -1: c is done. */
static int on_handshake_input(conn *c, const uint8_t *p, size_t n)
{
    size_t room = HEAD_MAX - c->head_len, take = n < room ? n : room;
    size_t from = c->head_len > 3 ? c->head_len - 3 : 0;
    memcpy(c->head + c->head_len, p, take);
    c->head_len += take;
    char *end = memmem(c->head + from, c->head_len - from, "\r\n\r\n", 4);
    if (!end) {
        if (c->head_len == HEAD_MAX) {
            error_at(c, E_HANDSHAKE, "the response head is over %d bytes", HEAD_MAX);
            finish(c);
            return -1;
        }
        return 0;
    }
    size_t head_len = (size_t)(end - c->head) + 4;
    if (check_handshake(c, c->head, head_len) != 0) {
        finish(c);
        return -1;
    }
    c->state = ST_OPEN;
    c->w->established++;
    /* bytes past the head are frames already (of this read: the head took part of it) */
    size_t used = head_len - (c->head_len - take);
    free(c->head);
    c->head = NULL;
    return on_frames(c, p + used, n - used);
}

static int start_handshake(conn *c)
{
    uint8_t key[16];
    char key64[25];
    if (random_bytes(key, sizeof key) != 0)
        return -1;
    base64(key, sizeof key, key64);
    if (accept_value(key64, c->accept) != 0)
        return -1;
    c->head = malloc(HEAD_MAX);
    if (!c->head) {
        error_at(c, E_HANDSHAKE, "out of memory");
        return -1;
    }
    int n = snprintf((char *)c->out, c->out_cap,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s"
                     "User-Agent: cadre-ws-load\r\n\r\n",
                     opt.target, opt.hostport, key64,
                     opt.deflate ? "Sec-WebSocket-Extensions: permessage-deflate; "
                                   "client_max_window_bits\r\n" : "");
    if (n < 0 || (size_t)n >= c->out_cap) {
        error_at(c, E_HANDSHAKE, "the request does not fit its buffer");
        return -1;
    }
    c->out_off = 0;
    c->out_len = (size_t)n;
    c->state = ST_HANDSHAKE;
    return pump(c) == 0 ? 0 : 1;
}

static void on_readable(conn *c)
{
    worker *w = c->w;
    ssize_t n = recv(c->fd, w->rbuf, RBUF_SIZE, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n <= 0) {
        int err = n < 0 ? errno : 0;
        switch (c->state) {
        case ST_CLOSE_RECEIVED: /* the closing handshake's end (section 7.1.1) */
            break;
        case ST_HANDSHAKE:
            error_at(c, E_HANDSHAKE, "the server %s before answering the upgrade request",
                     err ? strerror(err) : "closed the connection");
            break;
        case ST_CLOSING:
            error_at(c, E_CLOSE, "the server %s without answering our close frame",
                     err ? strerror(err) : "closed the TCP connection");
            break;
        default:
            error_at(c, E_CLOSED, "the server %s without a close frame %s",
                     err ? strerror(err) : "closed the TCP connection",
                     w->running ? "during the run" : "before the run started");
        }
        finish(c);
        return;
    }
    if (c->state == ST_HANDSHAKE) {
        if (on_handshake_input(c, w->rbuf, (size_t)n) != 0)
            return;
    } else if (on_frames(c, w->rbuf, (size_t)n) != 0) {
        return;
    }
    pump(c);
}

static void on_event(conn *c, uint32_t ev)
{
    if (c->state == ST_DONE)
        return;
    c->w->now = now_ns();
    if (c->state == ST_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
        if (err) {
            error_at(c, E_CONNECT, "connect to %s: %s%s", opt.hostport, strerror(err),
                     err == ECONNREFUSED ? " (is the server running?)" : "");
            finish(c);
        } else if (start_handshake(c) < 0) {
            finish(c);
        }
        return;
    }
    if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
        on_readable(c);
    if (c->state != ST_DONE && (ev & EPOLLOUT))
        pump(c);
}

static void open_conn(conn *c)
{
    worker *w = c->w;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        error_at(c, E_CONNECT, "socket: %s", strerror(errno));
        c->state = ST_DONE;
        return;
    }
    w->nlive++;
    int one = 1; /* small messages go out at once, with --pipeline too */
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->state = ST_CONNECTING;
    c->events = EPOLLOUT;
    struct epoll_event e = { .events = EPOLLOUT, .data.ptr = c };
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, c->fd, &e) != 0) {
        error_at(c, E_CONNECT, "epoll_ctl: %s", strerror(errno));
        finish(c);
        return;
    }
    if (connect(c->fd, (const struct sockaddr *)&opt.addr, sizeof opt.addr) == 0) {
        if (start_handshake(c) < 0)
            finish(c);
    } else if (errno != EINPROGRESS) {
        error_at(c, E_CONNECT, "connect to %s: %s%s", opt.hostport, strerror(errno),
                 errno == ECONNREFUSED ? " (is the server running?)" : "");
        finish(c);
    }
}

/* One epoll_wait and its events; waits at most until deadline (and 100 ms). */
static void poll_once(worker *w, uint64_t deadline)
{
    struct epoll_event evs[256];
    uint64_t now = now_ns();
    uint64_t wait_ms = deadline > now ? (deadline - now + 999999) / 1000000 : 0;
    int n = epoll_wait(w->epfd, evs, 256, wait_ms > 100 ? 100 : (int)wait_ms);
    for (int i = 0; i < n; i++)
        on_event(evs[i].data.ptr, evs[i].events);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < w->nconns; i++)
        open_conn(&w->conns[i]);
    /* the handshakes; bounded by their deadline */
    for (;;) {
        int pending = 0;
        for (int i = 0; i < w->nconns; i++)
            pending += w->conns[i].state < ST_OPEN;
        if (!pending || now_ns() >= t_handshake_deadline)
            break;
        poll_once(w, t_handshake_deadline);
    }
    for (int i = 0; i < w->nconns; i++)
        if (w->conns[i].state < ST_OPEN) {
            error_at(&w->conns[i], w->conns[i].state == ST_CONNECTING ? E_CONNECT : E_HANDSHAKE,
                     "%s within %d s", w->conns[i].state == ST_CONNECTING
                     ? "could not connect" : "no answer to the upgrade request",
                     opt.handshake_timeout_s);
            finish(&w->conns[i]);
        }
    pthread_barrier_wait(&barrier); /* every thread's handshakes are done */
    pthread_barrier_wait(&barrier); /* main has set the run's times */
    w->running = true;
    w->now = now_ns();
    for (int i = 0; i < w->nconns; i++)
        if (w->conns[i].state == ST_OPEN)
            pump(&w->conns[i]);
    uint64_t stall_ns = opt.duration < 5 ? (uint64_t)(opt.duration * 1e9) : 5 * NS;
    if (stall_ns < NS)
        stall_ns = NS;
    /* the run, then the closing handshakes; bounded by t_close_deadline */
    for (;;) {
        uint64_t now = now_ns();
        if (now >= t_end && !w->stopping) {
            w->stopping = true;
            w->now = now;
            for (int i = 0; i < w->nconns; i++) {
                conn *c = &w->conns[i];
                if (c->state != ST_OPEN)
                    continue;
                /* an echo awaited that long is lost, not slow: a server that drops messages
                 * would otherwise only look slower */
                uint64_t sent = c->t_sent[c->seq_rx % (uint64_t)opt.pipeline];
                if (c->seq_rx < c->seq_tx && now - sent > stall_ns)
                    error_at(c, E_STALLED, "no echo of message %" PRIu64 " after %.1f s",
                             c->seq_rx, (double)(now - sent) / 1e9);
                c->state = ST_CLOSING;
                c->close_payload[0] = 1000 >> 8;
                c->close_payload[1] = 1000 & 0xFF;
                c->close_payload_len = 2;
                c->close_pending = true;
                pump(c);
            }
        }
        if (!w->nlive || now >= t_close_deadline)
            break;
        poll_once(w, w->stopping ? t_close_deadline : t_end);
    }
    for (int i = 0; i < w->nconns; i++) {
        conn *c = &w->conns[i];
        if (c->state == ST_CLOSING)
            error_at(c, E_CLOSE, "no close frame from the server within %d s of ours",
                     (int)(CLOSE_WAIT_NS / NS));
        else if (c->state == ST_CLOSE_RECEIVED)
            w->no_tcp_close++;
        finish(c);
    }
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------------------------------- */

static uint64_t xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* --json: message k into m[0..size): an array of records, spaces before its ] to fill size. */
static void make_json_message(uint8_t *m, size_t size, uint64_t k, uint64_t *x)
{
    static const char *const adjectives[] = { "red", "green", "blue", "small", "large", "steel",
                                              "wooden", "quiet", "bright", "classic", "compact",
                                              "deluxe", "folding", "round", "square", "vintage" };
    static const char *const nouns[] = { "lamp", "chair", "table", "kettle", "clock", "shelf",
                                         "mirror", "basket", "blanket", "bottle", "candle",
                                         "drawer", "fan", "heater", "rug", "vase" };
    size_t len = 0;
    if (size >= 2) {
        m[len++] = '[';
        /* bounded: each record adds tens of bytes until the next would not fit */
        for (uint64_t j = 0;; j++) {
            char rec[256];
            uint64_t r = xorshift(x), id = 100000 + k * 1000 + j;
            int n = snprintf(rec, sizeof rec,
                             "%s{\"id\":%" PRIu64 ",\"sku\":\"SKU-%" PRIu64 "\",\"name\":\"%s %s\","
                             "\"price\":%u.%02u,\"stock\":%u,\"active\":%s}",
                             j ? "," : "", id, id, adjectives[r & 15], nouns[(r >> 4) & 15],
                             (unsigned)((r >> 8) % 500), (unsigned)((r >> 20) % 100),
                             (unsigned)((r >> 28) % 1000), (r >> 40) & 1 ? "true" : "false");
            if (n < 0 || len + (size_t)n + 1 > size)
                break;
            memcpy(m + len, rec, (size_t)n);
            len += (size_t)n;
        }
    }
    memset(m + len, ' ', size - len); /* JSON's whitespace */
    if (size >= 2)
        m[size - 1] = ']';
}

static void make_pattern(void)
{
    static const char letters[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    if (opt.json) {
        /* 251 messages at least, more to span 256 KiB, fewer to stay within JSON_POOL_MAX, 2 at
         * least (message k is never next to itself) */
        size_t n = PERIOD;
        if (opt.size && n * opt.size < (256u << 10))
            n = ((256u << 10) + opt.size - 1) / opt.size;
        if (opt.size && n * opt.size > JSON_POOL_MAX)
            n = JSON_POOL_MAX / opt.size;
        json_count = n < 2 ? 2 : n;
        pattern = malloc(json_count * opt.size + 1);
        if (!pattern) {
            fprintf(stderr, "ws-load: out of memory for %zu %zu-byte messages\n", json_count,
                    opt.size);
            exit(1);
        }
        uint64_t x = 0x9E3779B97F4A7C15u; /* fixed seed: every run sends the same */
        for (size_t k = 0; k < json_count; k++)
            make_json_message(pattern + k * opt.size, opt.size, k, &x);
        return;
    }
    size_t n = opt.size + PERIOD;
    pattern = malloc(n);
    if (!pattern) {
        fprintf(stderr, "ws-load: out of memory for a %zu-byte message\n", opt.size);
        exit(1);
    }
    uint64_t x = 0x9E3779B97F4A7C15u; /* xorshift64, fixed seed: every run sends the same */
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        pattern[i] = opt.binary ? (uint8_t)(x >> 24) : (uint8_t)letters[(x >> 24) % 52];
    }
}

static int raise_fd_limit(void)
{
    struct rlimit rl;
    rlim_t want = (rlim_t)opt.connections + 64;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return 0;
    rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
    setrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < want) {
        fprintf(stderr, "ws-load: %d connections need %llu descriptors; the limit is %llu "
                "(ulimit -n)\n", opt.connections, (unsigned long long)want,
                (unsigned long long)rl.rlim_max);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (parse_args(argc, argv) != 0)
        return 2;
    if (raise_fd_limit() != 0)
        return 1;
    signal(SIGPIPE, SIG_IGN); /* send uses MSG_NOSIGNAL; this is for anything else */
    make_pattern();
    size_t out_cap = (size_t)opt.pipeline * (opt.size + 14) + 2 * (14 + 125);
    if (out_cap > OUT_MAX)
        out_cap = OUT_MAX;
    if (out_cap < 512 + strlen(opt.target))
        out_cap = 512 + strlen(opt.target); /* the upgrade request */

    worker *ws = calloc((size_t)opt.threads, sizeof *ws);
    conn *cs = calloc((size_t)opt.connections, sizeof *cs);
    uint64_t *times = calloc((size_t)opt.connections * (size_t)opt.pipeline, sizeof *times);
    uint64_t *wire_sent = opt.deflate ? calloc((size_t)opt.connections * (size_t)opt.pipeline,
                                               sizeof *wire_sent) : NULL;
    if (!ws || !cs || !times || (opt.deflate && !wire_sent)) {
        fprintf(stderr, "ws-load: out of memory\n");
        return 1;
    }
    for (int i = 0; i < opt.connections; i++) {
        cs[i].id = i;
        cs[i].fd = -1;
        cs[i].out_cap = out_cap;
        cs[i].out = malloc(out_cap);
        cs[i].t_sent = times + (size_t)i * (size_t)opt.pipeline;
        cs[i].wire_sent = wire_sent ? wire_sent + (size_t)i * (size_t)opt.pipeline : NULL;
        if (!cs[i].out) {
            fprintf(stderr, "ws-load: out of memory for %d connections\n", opt.connections);
            return 1;
        }
    }
    for (int t = 0, first = 0; t < opt.threads; t++) {
        worker *w = &ws[t];
        int n = opt.connections / opt.threads + (t < opt.connections % opt.threads);
        w->id = t;
        w->conns = cs + first;
        w->nconns = n;
        w->mask_off = sizeof w->masks; /* filled at the first use */
        w->rbuf = malloc(RBUF_SIZE);
        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        w->zout = opt.deflate ? malloc(ZOUT_SIZE) : NULL;
        if (!w->rbuf || w->epfd < 0 || (opt.deflate && !w->zout)) {
            fprintf(stderr, "ws-load: %s\n", w->epfd < 0 ? strerror(errno) : "out of memory");
            return 1;
        }
        for (int i = 0; i < n; i++)
            cs[first + i].w = w;
        first += n;
    }
    pthread_barrier_init(&barrier, NULL, (unsigned)opt.threads + 1);
    t_handshake_deadline = now_ns() + (uint64_t)opt.handshake_timeout_s * NS;
    /* until main sets them, nothing runs: handshakes only */
    t_warm_end = t_end = t_close_deadline = UINT64_MAX;
    for (int t = 0; t < opt.threads; t++)
        if (pthread_create(&ws[t].thread, NULL, worker_main, &ws[t]) != 0) {
            fprintf(stderr, "ws-load: pthread_create failed\n");
            return 1;
        }
    pthread_barrier_wait(&barrier);
    int established = 0;
    for (int t = 0; t < opt.threads; t++)
        established += ws[t].established;
    uint64_t start = now_ns();
    if (!established) {
        fprintf(stderr, "ws-load: no connection to ws://%s%s could be established\n",
                opt.hostport, opt.target);
        t_warm_end = t_end = start;
    } else {
        t_warm_end = start + (uint64_t)(opt.warmup * 1e9);
        t_end = t_warm_end + (uint64_t)(opt.duration * 1e9);
    }
    t_close_deadline = t_end + CLOSE_WAIT_NS;
    pthread_barrier_wait(&barrier);
    if (opt.marks && established) {
        sleep_until(t_warm_end);
        fprintf(stderr, "ws-load: measuring\n");
        sleep_until(t_end);
        fprintf(stderr, "ws-load: measured\n");
    }
    for (int t = 0; t < opt.threads; t++)
        pthread_join(ws[t].thread, NULL);

    uint64_t messages = 0, errors[E_KINDS] = { 0 }, total_errors = 0, lat_max = 0, total = 0;
    uint64_t no_tcp_close = 0, wire_out = 0, wire_in = 0, compressed_in = 0;
    static uint64_t hist[HIST_BUCKETS];
    for (int t = 0; t < opt.threads; t++) {
        worker *w = &ws[t];
        messages += w->messages;
        wire_out += w->wire_out;
        wire_in += w->wire_in;
        compressed_in += w->compressed_in;
        total += w->hist_total;
        no_tcp_close += w->no_tcp_close;
        lat_max = w->lat_max > lat_max ? w->lat_max : lat_max;
        for (int k = 0; k < E_KINDS; k++)
            errors[k] += w->errors[k];
        for (size_t b = 0; b < HIST_BUCKETS; b++)
            hist[b] += w->hist[b];
    }
    for (int k = 0; k < E_KINDS; k++)
        total_errors += errors[k];
    if (!opt.deflate) /* every message is one frame of the same length */
        wire_out = messages * (6 + (opt.size < 126 ? 0 : opt.size <= 0xFFFF ? 2 : 8) + opt.size);
    int shown = atomic_load(&printed);
    if (shown > MAX_PRINTED)
        fprintf(stderr, "ws-load: %d errors in all (%d printed)\n", shown, MAX_PRINTED);
    if (no_tcp_close)
        fprintf(stderr, "ws-load: note: %" PRIu64 " connection(s) completed the closing handshake "
                "but the server had not closed TCP %d s after\n", no_tcp_close,
                (int)(CLOSE_WAIT_NS / NS));
    double secs = established ? opt.duration : 0;
    printf("{\"messages_per_s\":%.1f,\"messages\":%" PRIu64 ",\"errors\":%" PRIu64
           ",\"connections\":%d,\"size\":%zu,\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,"
           "\"p99\":%.3f,\"max\":%.3f},\"binary\":%s,\"pipeline\":%d,\"threads\":%d,"
           "\"duration_s\":%g,\"connections_requested\":%d,",
           secs > 0 ? (double)messages / secs : 0.0, messages, total_errors, established,
           opt.size, hist_percentile(hist, total, 0.50) / 1e6, hist_percentile(hist, total, 0.90) / 1e6,
           hist_percentile(hist, total, 0.99) / 1e6, (double)lat_max / 1e6,
           opt.binary ? "true" : "false", opt.pipeline, opt.threads, opt.duration,
           opt.connections);
    printf("\"json\":%s,\"deflate\":%s,\"wire_bytes_out\":%" PRIu64 ",\"wire_bytes_in\":%" PRIu64
           ",\"messages_compressed_in\":%" PRIu64 ",\"deflate_answer\":",
           opt.json ? "true" : "false", opt.deflate ? "true" : "false", wire_out, wire_in,
           compressed_in);
    if (have_answer) {
        putchar('"');
        for (const char *q = deflate_answer; *q; q++) /* printable already: " and \ escaped */
            printf(*q == '"' || *q == '\\' ? "\\%c" : "%c", *q);
        putchar('"');
    } else {
        printf("null");
    }
    printf(",\"deflate_answers_differ\":%s,\"error_kinds\":{", answers_differ ? "true" : "false");
    for (int k = 0; k < E_KINDS; k++)
        printf("%s\"%s\":%" PRIu64, k ? "," : "", error_names[k], errors[k]);
    printf("}}\n");
    fflush(stdout);
    for (int i = 0; i < opt.connections; i++)
        free(cs[i].out);
    for (int t = 0; t < opt.threads; t++) {
        free(ws[t].rbuf);
        free(ws[t].zout);
        if (ws[t].ztx_bits)
            deflateEnd(&ws[t].ztx);
        close(ws[t].epfd);
    }
    free(cs);
    free(ws);
    free(times);
    free(wire_sent);
    free(pattern);
    pthread_barrier_destroy(&barrier);
    return total_errors ? 1 : 0;
}
