/*
 * WebSockets (RFC 6455): the frame parser (no state, no allocation: fuzzed), the opening
 * handshake, and a connection's messages on its request's coroutine.
 *
 * After the handshake the connection is in state CS_WS: its coroutine owns the input buffer —
 * it reads the socket itself, in cadre_ws_recv, so a message it returned stays where it is until
 * the next call — and the event loop only flushes the output and wakes the coroutine when the
 * socket has something for it (conn.c: drive). Frames are unmasked in place; a message in one
 * frame is returned where it lies, a fragmented one is reassembled in a buffer of its own.
 *
 * permessage-deflate (RFC 7692) without context takeover in either direction: each message is
 * compressed and inflated on its own, by the worker's zlib streams, which no socket holds between
 * messages (and a coroutine never suspends while it uses them).
 */
#include "http_internal.h"

#include <cadre/websocket.h>

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>
#include <unistd.h>
#include <zlib.h>

#define WS_OUT_HIGH (256 * 1024) /* a sender waits while more than this is queued */
#define WS_FOREIGN_MAX (4u << 20) /* past this, another coroutine's send drops the client */
#define WS_CONTROL_MAX 125
#define WS_CLOSE_WAIT_MS 5000 /* after our close frame, the client's answer is awaited this long */
#define WS_MSG_KEEP (64 * 1024) /* a reassembled or inflated message's buffer kept for the next */

struct cadre_ws {
    cadre__slot *slot;
    cadre_ws_opts o;
    const char *protocol;
    size_t in_max;       /* the input buffer's bound: one frame of max_message and a head */
    cadre_buf msg;       /* a fragmented message being reassembled (malloc) */
    cadre_buf held;      /* the input buffer of a connection closed under the handler: the
                            message returned last may lie in it */
    cadre_buf packed;    /* a fragmented compressed message's frames, inflated into msg at its end */
    size_t frame_max;    /* the longest data frame taken: max_message, and deflate's overhead */
    int deflate_bits;    /* permessage-deflate: the window bits the server may use; 0: off */
    bool msg_packed;     /* the message in progress is compressed */
    size_t msg_checked;  /* the bytes of a fragmented text message found valid UTF-8 so far (a
                            sequence cut by a fragment's end is looked at again with the next) */
    size_t part_done;    /* of the frame being read, a message's first and text: the bytes of its
                            payload unmasked already, */
    size_t part_checked; /* and of those, found valid UTF-8 (check_part) */
    int msg_type;        /* its type while one is in progress, else 0 */
    bool msg_returned;   /* msg holds the message returned last: emptied at the next recv */
    int close_code;      /* received, else sent; 0 while open */
    bool close_sent;     /* our close frame is queued: nothing else is sent */
    bool closed;         /* no more frames are read (handshake done, failed or lost) */
    bool reading;        /* the coroutine waits for input */
    bool sending;        /* the coroutine waits for the output to drain */
    uint64_t last_frame, last_message, ping_sent; /* ms (the worker's clock) */
    uint64_t close_sent_at;
    cadre_arena scratch;
    cadre__sub *subs; /* its topics (hub.c) */
};

/* ---------------------------------------------------------------------------------------------
 * Frames
 * ------------------------------------------------------------------------------------------- */

int cadre_ws_parse_frame(const uint8_t *buf, size_t len, unsigned flags, cadre_ws_frame *f,
                         int *close_code, const char **why)
{
    *close_code = CADRE_WS_PROTOCOL_ERROR;
    if (len < 2)
        return CADRE_HTTP_PARTIAL;
    bool from_client = flags & CADRE_WS_FROM_CLIENT;
    f->fin = buf[0] & 0x80;
    f->rsv1 = buf[0] & 0x40;
    f->opcode = buf[0] & 0x0F;
    f->masked = buf[1] & 0x80;
    if (buf[0] & 0x30 || (f->rsv1 && !(flags & CADRE_WS_DEFLATE))) {
        *why = f->rsv1 && !(buf[0] & 0x30) ? "RSV1 set: permessage-deflate was not negotiated"
                                            : "reserved bits set: no extension uses them";
        return CADRE_HTTP_ERROR;
    }
    bool control = f->opcode & 0x8;
    if ((f->opcode > CADRE_WS_BINARY && !control) || f->opcode > CADRE_WS_PONG) {
        *why = "a reserved opcode";
        return CADRE_HTTP_ERROR;
    }
    if (f->rsv1 && (control || f->opcode == CADRE_WS_CONTINUATION)) {
        /* RFC 7692 section 6.1: only a message's first frame says it is compressed */
        *why = control ? "RSV1 set on a control frame" : "RSV1 set on a continuation frame";
        return CADRE_HTTP_ERROR;
    }
    if (f->masked != from_client) {
        *why = from_client ? "a client frame that is not masked" : "a server frame that is masked";
        return CADRE_HTTP_ERROR;
    }
    uint64_t n = buf[1] & 0x7F;
    size_t h = 2;
    if (control && (n > WS_CONTROL_MAX || !f->fin)) {
        *why = n > WS_CONTROL_MAX ? "a control frame over 125 bytes" : "a fragmented control frame";
        return CADRE_HTTP_ERROR;
    }
    if (n == 126) {
        if (len < 4)
            return CADRE_HTTP_PARTIAL;
        n = (uint64_t)buf[2] << 8 | buf[3];
        h = 4;
    } else if (n == 127) {
        if (len < 10)
            return CADRE_HTTP_PARTIAL;
        n = 0;
        for (int i = 0; i < 8; i++)
            n = n << 8 | buf[2 + i];
        if (n >> 63) {
            *why = "a 64-bit length with its most significant bit set";
            return CADRE_HTTP_ERROR;
        }
        h = 10;
    }
    if (f->masked) {
        if (len < h + 4)
            return CADRE_HTTP_PARTIAL;
        memcpy(f->mask, buf + h, 4);
        h += 4;
    } else {
        memset(f->mask, 0, 4);
    }
    f->len = n;
    f->header_len = h;
    return (int)h;
}

void cadre_ws_unmask(uint8_t *data, size_t len, const uint8_t mask[4], size_t offset)
{
    size_t i = 0;
    /* a word at a time once aligned with the mask's phase */
    while (i < len && (offset + i) % 4)
        data[i] ^= mask[(offset + i) % 4], i++;
    uint32_t m;
    memcpy(&m, mask, 4);
    uint64_t m8 = (uint64_t)m << 32 | m;
    for (; i + 8 <= len; i += 8) {
        uint64_t v;
        memcpy(&v, data + i, 8);
        v ^= m8;
        memcpy(data + i, &v, 8);
    }
    for (; i < len; i++)
        data[i] ^= mask[(offset + i) % 4];
}

/* Whether code may be sent in a close frame (section 7.4). */
static bool code_sendable(int code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

int cadre_ws_parse_close(const uint8_t *payload, size_t len, int *code)
{
    if (len == 0) {
        *code = CADRE_WS_NO_STATUS;
        return 0;
    }
    *code = CADRE_WS_PROTOCOL_ERROR;
    if (len == 1)
        return CADRE_EPARSE;
    int c = payload[0] << 8 | payload[1];
    if (!code_sendable(c))
        return CADRE_EPARSE;
    if (!cadre_utf8_valid((const char *)payload + 2, len - 2)) {
        *code = CADRE_WS_INVALID_DATA;
        return CADRE_EPARSE;
    }
    *code = c;
    return 0;
}

/* libcrypto, for the handshake's SHA-1, is loaded at the first handshake (as libpq is at the
 * first PostgreSQL connection): linked, it costs every app 1.4 MB of memory at start, WebSockets
 * or not. */
#define CRYPTO_FUNCTIONS(X) X(EVP_Digest) X(EVP_sha1) X(EVP_EncodeBlock)

static struct {
#define CRYPTO_POINTER(f) __typeof__(&f) f;
    CRYPTO_FUNCTIONS(CRYPTO_POINTER)
#undef CRYPTO_POINTER
} crypto;

static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static const char *crypto_error; /* why libcrypto could not be loaded, or NULL */

static void crypto_load(void)
{
    void *h = dlopen("libcrypto.so.3", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        crypto_error = "libcrypto.so.3 cannot be loaded (install the libssl3 package)";
        return;
    }
#define CRYPTO_RESOLVE(f)                                                                          \
    if (!(*(void **)&crypto.f = dlsym(h, #f))) {                                                  \
        crypto_error = "libcrypto.so.3 lacks " #f;                                                 \
        return;                                                                                    \
    }
    CRYPTO_FUNCTIONS(CRYPTO_RESOLVE)
#undef CRYPTO_RESOLVE
}

int cadre_ws_accept_key(cadre_slice key, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char in[128], md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (key.len + sizeof guid - 1 > sizeof in)
        return CADRE_EINVAL;
    pthread_once(&crypto_once, crypto_load);
    if (crypto_error) {
        cadre_log(CADRE_LOG_ERROR, "websocket: %s", crypto_error);
        return CADRE_EUNSUPPORTED;
    }
    memcpy(in, key.ptr, key.len);
    memcpy(in + key.len, guid, sizeof guid - 1);
    if (!crypto.EVP_Digest(in, key.len + sizeof guid - 1, md, &mdlen, crypto.EVP_sha1(), NULL) ||
        mdlen != 20)
        return CADRE_ESYSTEM;
    return crypto.EVP_EncodeBlock((unsigned char *)out, md, 20) == 28 ? 0 : CADRE_ESYSTEM;
}

/* ---------------------------------------------------------------------------------------------
 * permessage-deflate (RFC 7692)
 * ------------------------------------------------------------------------------------------- */

static void skip_ows(const char **p, const char *end)
{
    while (*p < end && (**p == ' ' || **p == '\t'))
        (*p)++;
}

static cadre_slice take_token(const char **p, const char *end)
{
    const char *start = *p;
    while (*p < end && cadre__tchar((unsigned char)**p))
        (*p)++;
    return (cadre_slice){ start, (size_t)(*p - start) };
}

/* A window size parameter's value: 8 to 15 without a leading zero, else -1. */
static int window_bits(const char *v, size_t n)
{
    if (n == 1 && (v[0] == '8' || v[0] == '9'))
        return v[0] - '0';
    if (n == 2 && v[0] == '1' && v[1] >= '0' && v[1] <= '5')
        return 10 + v[1] - '0';
    return -1;
}

int cadre__ws_deflate_offer(cadre_slice value, bool *bits_offered)
{
    static const char *const params[] = { "server_no_context_takeover",
                                          "client_no_context_takeover", "server_max_window_bits",
                                          "client_max_window_bits" };
    const char *p = value.ptr, *end = value.ptr + value.len;
    int taken = 0; /* the first acceptable offer's bits: returned when the whole value parses */
    bool taken_offered = false;
    *bits_offered = false;
    if (!value.len)
        return 0;
    for (;;) { /* an extension a turn: bounded by the value's length */
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++; /* empty elements of the list are allowed (RFC 9110 section 5.6.1) */
        if (p == end) {
            *bits_offered = taken_offered;
            return taken;
        }
        cadre_slice name = take_token(&p, end);
        if (!name.len)
            return 0;
        bool ok = !taken && cadre_slice_eq_cstr(name, "permessage-deflate"), offered = false;
        unsigned seen = 0;
        int bits = 15;
        for (;;) { /* a parameter a turn */
            skip_ows(&p, end);
            if (p == end || *p == ',')
                break;
            if (*p != ';')
                return 0;
            p++;
            skip_ows(&p, end);
            cadre_slice pname = take_token(&p, end);
            if (!pname.len)
                return 0;
            skip_ows(&p, end);
            char v[4];
            size_t vl = 0;
            bool has_value = false, v_token = true;
            if (p < end && *p == '=') {
                p++;
                skip_ows(&p, end);
                has_value = true;
                if (p < end && *p == '"') { /* a quoted string, whose content must be a token */
                    for (p++; p < end && *p != '"'; p++) {
                        if (*p == '\\' && ++p == end)
                            return 0;
                        unsigned char ch = (unsigned char)*p;
                        if ((ch < 0x20 && ch != '\t') || ch == 0x7F)
                            return 0;
                        v_token = v_token && cadre__tchar(ch);
                        if (vl < sizeof v)
                            v[vl] = (char)ch;
                        vl++;
                    }
                    if (p == end)
                        return 0;
                    p++;
                } else {
                    cadre_slice t = take_token(&p, end);
                    if (!t.len)
                        return 0;
                    memcpy(v, t.ptr, t.len < sizeof v ? t.len : sizeof v);
                    vl = t.len;
                }
                v_token = v_token && vl > 0;
            }
            int which = -1;
            for (int i = 0; i < 4 && which < 0; i++)
                if (cadre_slice_eq_cstr(pname, params[i]))
                    which = i;
            if (!ok)
                continue; /* another extension, or an offer already declined: parsed only */
            if (which < 0 || (seen & 1u << which) || !v_token) {
                ok = false; /* section 7: an unknown, repeated or malformed parameter */
                continue;
            }
            seen |= 1u << which;
            int n = has_value ? window_bits(v, vl) : -1;
            if (which < 2)
                ok = !has_value;
            else if (which == 2)
                ok = n >= 9, bits = n, offered = true; /* 8: zlib's deflate cannot keep to it */
            else
                ok = !has_value || n >= 8;
        }
        if (ok) {
            taken = bits;
            taken_offered = offered;
        }
    }
}

/* The worker's zlib streams: one inflater, a compressor for each window size asked for. */
struct cadre__ws_zlib {
    z_stream in;
    bool in_ready;
    struct libdeflate_compressor *fast; /* whole messages a window holds (deflate_message) */
    z_stream out[7]; /* window bits 9 to 15: the longer messages of a smaller window */
    bool out_ready[7];
    cadre_buf packed; /* the last message compressed, without its tail */
    bool kept;        /* packed holds it for cadre__ws_send_shared (kept_bits, kept_smaller) */
    bool kept_smaller;
    int kept_bits;
};

static struct cadre__ws_zlib *zlib_of(cadre__worker *w)
{
    if (!w->ws_zlib && (w->ws_zlib = calloc(1, sizeof *w->ws_zlib)) != NULL)
        cadre_buf_init(&w->ws_zlib->packed, CADRE_WS_MAX_MESSAGE);
    return w->ws_zlib;
}

/* What the worker keeps of a message compressed once it is queued: the buffer, unless a large
 * message grew it (one large message would otherwise hold its size for the worker's life). */
#define ZLIB_KEEP (256 * 1024)

static void zlib_done(struct cadre__ws_zlib *z)
{
    z->kept = false;
    if (z->packed.cap > ZLIB_KEEP)
        cadre_buf_free(&z->packed);
}

void cadre__ws_deflate_forget(cadre__worker *w)
{
    if (w->ws_zlib)
        zlib_done(w->ws_zlib);
}

void cadre__ws_worker_free(cadre__worker *w)
{
    struct cadre__ws_zlib *z = w->ws_zlib;
    if (!z)
        return;
    if (z->in_ready)
        inflateEnd(&z->in);
    libdeflate_free_compressor(z->fast);
    for (int i = 0; i < 7; i++)
        if (z->out_ready[i])
            deflateEnd(&z->out[i]);
    cadre_buf_free(&z->packed);
    free(z);
    w->ws_zlib = NULL;
}

/* Compresses data into z->packed for a socket that lets the server use bits, without the tail
 * (section 7.2.1). True when that came out smaller than data (else the message is sent as is:
 * without context takeover, the client's inflater never sees what was not sent). */
static bool deflate_message(struct cadre__ws_zlib *z, int bits, const void *data, size_t len)
{
    z->packed.len = 0;
    if (len < 3 || cadre_buf_reserve(&z->packed, len) != 0)
        return false;
    /* libdeflate at level 1: whole messages, as no context is kept, at about twice zlib's
     * fastest speed and a little smaller (2 KiB of JSON: 7 us against 14). Its matches reach
     * 32 KiB back, so a client that allows a smaller window gets it for messages that window
     * holds (no match can reach further back than the message's start) */
    if (bits == 15 || len <= (size_t)1 << bits) {
        if (!z->fast && (z->fast = libdeflate_alloc_compressor(1)) == NULL)
            return false;
        size_t n = libdeflate_deflate_compress(z->fast, data, len, z->packed.data, len - 2);
        if (n == 0)
            return false; /* not smaller, with the byte below */
        /* it ends with a final block: section 7.2.1 then appends an empty stored block and
         * takes off its last 4 bytes, which leaves one 00 (section 7.2.3.4's example). The
         * client's inflater ends at the final block; the 00 with the tail it adds back is an
         * empty stored block to one that starts again after it, as Chromium's does */
        z->packed.data[n] = 0;
        z->packed.len = n + 1;
        return true;
    }
    z_stream *s = &z->out[bits - 9];
    if (!z->out_ready[bits - 9]) {
        /* Z_BEST_SPEED, as nginx's gzip_comp_level 1: most of the gain, a fraction of the time */
        if (deflateInit2(s, Z_BEST_SPEED, Z_DEFLATED, -bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return false;
        z->out_ready[bits - 9] = true;
    } else if (deflateReset(s) != Z_OK) {
        return false;
    }
    /* room for a result smaller than data, and the tail: a larger one is not used */
    size_t room = len + 4;
    if (len > UINT_MAX - 4 || cadre_buf_reserve(&z->packed, room) != 0)
        return false;
    s->next_in = (Bytef *)(uintptr_t)data;
    s->avail_in = (uInt)len;
    s->next_out = (Bytef *)z->packed.data;
    s->avail_out = (uInt)room;
    /* output left over means the flush completed (zlib.h, deflate) */
    if (deflate(s, Z_SYNC_FLUSH) != Z_OK || s->avail_in || !s->avail_out)
        return false;
    size_t n = room - s->avail_out;
    if (n < 4 || memcmp(z->packed.data + n - 4, "\0\0\xff\xff", 4) != 0 || n - 4 >= len)
        return false;
    z->packed.len = n - 4;
    return true;
}

bool cadre__ws_deflate(cadre__worker *w, int bits, const void *data, size_t len, cadre_slice *out)
{
    struct cadre__ws_zlib *z = zlib_of(w);
    if (!z || !deflate_message(z, bits, data, len))
        return false;
    *out = (cadre_slice){ z->packed.data, z->packed.len };
    return true;
}

int cadre__ws_inflate(void *zs, const uint8_t *data, size_t len, cadre_buf *out, size_t max)
{
    static const uint8_t tail[4] = { 0, 0, 0xff, 0xff };
    z_stream *s = zs;
    out->len = 0;
    if (!len)
        return 0; /* no block at all: an empty message, as some senders make one */
    if (inflateReset(s) != Z_OK)
        return CADRE_EPARSE;
    for (int part = 0; part < 2; part++) {
        const uint8_t *in = part ? tail : data;
        size_t left = part ? sizeof tail : len;
        s->avail_in = 0;
        bool full = false; /* the last call filled the output: more may be pending */
        for (;;) { /* bounded: each turn consumes input or produces output, or ends */
            if (!s->avail_in && left) {
                s->next_in = (Bytef *)(uintptr_t)in;
                s->avail_in = left > UINT_MAX ? UINT_MAX : (uInt)left;
                in += s->avail_in;
                left -= s->avail_in;
            }
            if (!s->avail_in && !full)
                break;
            uint8_t probe;
            if (out->len == max) { /* one byte more would be too many */
                s->next_out = &probe;
                s->avail_out = 1;
            } else {
                if (out->cap == out->len) {
                    size_t grow = out->len < 16384 ? 16384 : out->len;
                    if (grow > max - out->len)
                        grow = max - out->len;
                    int rc = cadre_buf_reserve(out, grow);
                    if (rc)
                        return rc == CADRE_ENOMEM ? CADRE_ENOMEM : CADRE_ETOOBIG;
                }
                size_t room = out->cap - out->len;
                if (room > max - out->len)
                    room = max - out->len;
                s->next_out = (Bytef *)out->data + out->len;
                s->avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
            }
            uInt had_in = s->avail_in, had_out = s->avail_out;
            int rc = inflate(s, Z_SYNC_FLUSH);
            size_t made = had_out - s->avail_out;
            if (made && part == 1)
                return CADRE_EPARSE; /* the tail taken as data: the sender's was cut short */
            if (made && out->len == max)
                return CADRE_ETOOBIG;
            out->len += made;
            full = s->avail_out == 0;
            if (rc == Z_STREAM_END) {
                /* a final block ends the message. A sender that ended with one still appended
                 * an empty stored block and took off its last 4 bytes (section 7.2.1): one 00
                 * may follow (section 7.2.3.4's example), then the tail added back */
                size_t after = s->avail_in + left;
                return part == 1 || after == 0 || (after == 1 && *s->next_in == 0) ? 0
                                                                                  : CADRE_EPARSE;
            }
            if (rc == Z_MEM_ERROR)
                return CADRE_ENOMEM;
            if (rc != Z_OK && rc != Z_BUF_ERROR)
                return CADRE_EPARSE;
            if (s->avail_in == had_in && !made) {
                if (s->avail_in)
                    return CADRE_EPARSE; /* zlib takes no more of it */
                break; /* the input is used up (full was a coincidence) */
            }
        }
    }
    /* with the tail, a whole message ends between blocks (zlib.h: data_type's 128); data cut
     * short does not, or takes the tail for its own (above) */
    return s->data_type & 128 ? 0 : CADRE_EPARSE;
}

/* ---------------------------------------------------------------------------------------------
 * The handshake
 * ------------------------------------------------------------------------------------------- */

/* Whether a header of r named name holds token in its comma-separated list (case-insensitive);
 * every header of that name is looked at. */
static bool has_token(const cadre_request *r, const char *name, const char *token)
{
    for (size_t i = 0; i < r->head.num_headers; i++) {
        if (!cadre_slice_ieq_cstr(r->head.headers[i].name, name))
            continue;
        cadre_slice rest = r->head.headers[i].value, item;
        while (cadre_http_list_next(&rest, &item))
            if (cadre_slice_ieq_cstr(item, token))
                return true;
    }
    return false;
}

/* A Sec-WebSocket-Key: 16 bytes in base64, 24 characters ending "==" (section 4.1). */
static bool key_valid(cadre_slice k)
{
    if (k.len != 24 || k.ptr[22] != '=' || k.ptr[23] != '=')
        return false;
    for (size_t i = 0; i < 22; i++) {
        char ch = k.ptr[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '+' || ch == '/'))
            return false;
    }
    /* the last character before the padding carries 2 bits: the other 4 are zero */
    return strchr("AQgw", k.ptr[21]) != NULL;
}

/* The first of the app's subprotocols (a comma-separated list) that the client offers, in the
 * request's arena, or NULL. */
static const char *choose_protocol(cadre_request *r, const char *ours)
{
    cadre_slice name;
    for (const char *p = ours; p && cadre_list_next(&p, &name);) {
        char *text = cadre_arena_strndup(r->arena, name.ptr, name.len);
        if (text && has_token(r, "Sec-WebSocket-Protocol", text))
            return text;
    }
    return NULL;
}

static void ws_release(void *arg)
{
    cadre_ws *ws = arg;
    cadre__hub_drop_ws(ws->slot->worker, ws);
    cadre_buf_free(&ws->msg);
    cadre_buf_free(&ws->packed);
    cadre_buf_free(&ws->held);
    cadre_arena_free(&ws->scratch);
}

static cadre__conn *conn_of(const cadre_ws *ws)
{
    return ws->slot->conn;
}

/* s into the arena when it points into the connection's input buffer (which the WebSocket's
 * reads will move and reuse); false when memory ran out. */
static bool detach(cadre_request *r, const cadre__conn *c, cadre_slice *s)
{
    if (!s->ptr || s->ptr < c->in.data || s->ptr >= c->in.data + c->in.cap)
        return true;
    char *copy = cadre_arena_alloc(r->arena, s->len + 1);
    if (!copy)
        return false;
    memcpy(copy, s->ptr, s->len);
    copy[s->len] = '\0';
    s->ptr = copy;
    return true;
}

/* The request's head, which the handler and the access log read while the connection lives,
 * copied out of the input buffer. */
static bool detach_head(cadre_request *r, const cadre__conn *c)
{
    cadre_http_head *h = &r->head;
    bool ok = detach(r, c, &h->method) && detach(r, c, &h->target) && detach(r, c, &h->path) &&
              detach(r, c, &h->query) && detach(r, c, &h->host) && detach(r, c, &r->body);
    for (size_t i = 0; ok && i < h->num_headers; i++)
        ok = detach(r, c, &h->headers[i].name) && detach(r, c, &h->headers[i].value);
    return ok;
}

/* The Sec-WebSocket-Extensions headers as one list (RFC 9110 section 5.3: several lines mean
 * what they mean joined with commas), in the request's arena when there are several. */
static cadre_slice extensions_of(cadre_request *r)
{
    cadre_slice all = { NULL, 0 };
    for (size_t i = 0; i < r->head.num_headers; i++) {
        if (!cadre_slice_ieq_cstr(r->head.headers[i].name, "Sec-WebSocket-Extensions"))
            continue;
        cadre_slice v = r->head.headers[i].value;
        if (!all.ptr) {
            all = v;
            continue;
        }
        char *j = cadre_arena_alloc(r->arena, all.len + 1 + v.len);
        if (!j)
            return (cadre_slice){ NULL, 0 }; /* out of memory: answered without compression */
        memcpy(j, all.ptr, all.len);
        j[all.len] = ',';
        memcpy(j + all.len + 1, v.ptr, v.len);
        all = (cadre_slice){ j, all.len + 1 + v.len };
    }
    return all;
}

static int refuse(cadre_request *r, int status, const char *detail)
{
    cadre_close_after(r);
    return cadre_error(r, status, detail);
}

int cadre__ws_accept(cadre_request *r, const cadre_ws_opts *opts, cadre_ws **out)
{
    *out = NULL;
    if (!r || r->background || !r->conn)
        return CADRE_ESTATE;
    cadre__slot *s = cadre__slot_of(r);
    cadre__conn *c = s->conn;
    if (c->fd < 0)
        return refuse(r, 501, "WebSockets need a socket: the test client has none");
    if (!has_token(r, "Upgrade", "websocket")) {
        cadre_set_header(r, "Upgrade", "websocket");
        cadre_set_header(r, "Sec-WebSocket-Version", "13");
        return refuse(r, 426, "a WebSocket handshake was expected (Upgrade: websocket)");
    }
    if (r->head.version != 11 || !cadre_slice_eq_cstr(r->head.method, "GET"))
        return refuse(r, 400, "a WebSocket handshake is a GET over HTTP/1.1");
    if (!has_token(r, "Connection", "upgrade"))
        return refuse(r, 400, "a WebSocket handshake needs Connection: Upgrade");
    cadre_slice version = cadre_request_header(r, "Sec-WebSocket-Version");
    if (!cadre_slice_eq_cstr(version, "13")) {
        cadre_set_header(r, "Sec-WebSocket-Version", "13");
        return refuse(r, 426, "WebSocket version 13 only (Sec-WebSocket-Version: 13)");
    }
    cadre_slice key = { NULL, 0 };
    int nkeys = 0;
    for (size_t i = 0; i < r->head.num_headers; i++)
        if (cadre_slice_ieq_cstr(r->head.headers[i].name, "Sec-WebSocket-Key"))
            key = r->head.headers[i].value, nkeys++;
    if (nkeys != 1 || !key_valid(key))
        return refuse(r, 400, "Sec-WebSocket-Key must be 16 bytes in base64, sent once");
    if (r->head.content_length > 0 || r->head.chunked)
        return refuse(r, 400, "a WebSocket handshake has no body");
    char accept[29];
    if (cadre_ws_accept_key(key, accept) != 0)
        return refuse(r, 503, "the handshake could not be computed");
    cadre_ws *ws = cadre_arena_alloc(r->arena, sizeof *ws);
    if (!ws || !detach_head(r, c))
        return refuse(r, 503, "out of memory");
    *ws = (cadre_ws){ .slot = s, .o = *opts };
    if (!ws->o.max_message)
        ws->o.max_message = 1u << 20;
    if (ws->o.max_message > CADRE_WS_MAX_MESSAGE)
        ws->o.max_message = CADRE_WS_MAX_MESSAGE; /* and in_max below cannot wrap */
    if (!ws->o.ping_interval_ms)
        ws->o.ping_interval_ms = 30000;
    ws->frame_max = ws->o.max_message;
    bool bits_offered = false;
    if (!ws->o.no_compression)
        ws->deflate_bits = cadre__ws_deflate_offer(extensions_of(r), &bits_offered);
    /* a message that does not compress grows: by 5 bytes a block, and a client's zlib with a
     * small memLevel makes blocks of a few hundred bytes */
    if (ws->deflate_bits)
        ws->frame_max += ws->o.max_message / 8 + 1024;
    ws->in_max = ws->frame_max + 14 + CADRE__BUF_SIZE;
    cadre_buf_init(&ws->msg, ws->o.max_message);
    cadre_buf_init(&ws->packed, ws->frame_max);
    cadre_arena_init(&ws->scratch, 4096);
    ws->protocol = choose_protocol(r, ws->o.subprotocols);
    cadre_request_defer(r, ws_release, ws);
    /* the answer, now: the head of a 101 with the headers the handler set (a cookie) */
    cadre_buf *o = &c->out;
    int rc = cadre_buf_appendf(o, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                  "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n", accept);
    if (rc == 0 && ws->protocol)
        rc = cadre_buf_appendf(o, "Sec-WebSocket-Protocol: %s\r\n", ws->protocol);
    /* neither side keeps its window between messages (section 7.1.1: the server may ask both);
     * a limit the client set on the server's window is answered (section 7.1.2.1) */
    if (rc == 0 && ws->deflate_bits)
        rc = cadre_buf_append_str(o, "Sec-WebSocket-Extensions: permessage-deflate; "
                                     "server_no_context_takeover; client_no_context_takeover");
    if (rc == 0 && ws->deflate_bits && bits_offered)
        rc = cadre_buf_appendf(o, "; server_max_window_bits=%d", ws->deflate_bits);
    if (rc == 0 && ws->deflate_bits)
        rc = cadre_buf_append(o, "\r\n", 2);
    for (size_t i = 0; rc == 0 && i < s->res.headers.len; i++) {
        const cadre_header *h = &s->res.headers.items[i];
        if (cadre_slice_ieq_cstr(h->name, "Content-Type"))
            continue;
        rc = cadre_buf_appendf(o, "%.*s: %.*s\r\n", (int)h->name.len, h->name.ptr,
                               (int)h->value.len, h->value.ptr);
    }
    if (rc == 0)
        rc = cadre_buf_append(o, "\r\n", 2);
    if (rc) {
        c->out.len = c->out_off; /* nothing half-written */
        return refuse(r, 503, "out of memory");
    }
    cadre_response_clear(r);
    s->res.status = 101;
    c->state = CS_WS;
    c->ws = ws;
    cadre__worker_update_time(s->worker);
    ws->last_frame = ws->last_message = s->worker->now_ms;
    if (cadre__conn_flush(c) < 0) {
        cadre__conn_close(c);
        ws->closed = true;
        ws->close_code = CADRE_WS_ABNORMAL;
    }
    *out = ws;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Sending
 * ------------------------------------------------------------------------------------------- */

/* Writes what is queued as far as the socket takes it (the write timer runs while some is left);
 * a broken connection is closed. Returns 0 or CADRE_ECLOSED. */
static int write_out(cadre__conn *c)
{
    if (cadre__conn_flush(c) < 0) {
        cadre__conn_close(c);
        return CADRE_ECLOSED;
    }
    cadre__conn_ws_timer(c);
    return 0;
}

/* How the client's frames are parsed. */
static unsigned frame_flags(const cadre_ws *ws)
{
    return CADRE_WS_FROM_CLIENT | (ws->deflate_bits ? CADRE_WS_DEFLATE : 0);
}

/* Whether the input holds a whole frame, which the next cadre_ws_recv takes without waiting. */
static bool frame_buffered(const cadre_ws *ws, const cadre__conn *c)
{
    size_t avail = c->in.len - c->in_off;
    cadre_ws_frame f;
    int code;
    const char *why;
    int hl = ws->closed || !avail ? CADRE_HTTP_PARTIAL
                                  : cadre_ws_parse_frame((const uint8_t *)c->in.data + c->in_off,
                                                         avail, frame_flags(ws), &f, &code, &why);
    return hl > 0 && avail - (size_t)hl >= f.len;
}

/*
 * Writes what is queued; waits (suspending) while more than WS_OUT_HIGH is left. Returns 0 or
 * CADRE_ECLOSED (the connection broke).
 *
 * The handler's own sends are batched: while the input holds another whole frame and at most
 * WS_OUT_HIGH is queued, nothing is written yet, so the answers to messages that came in one read
 * go out in one write. What is queued never waits with the handler: it is written as soon as the
 * handler's coroutine suspends — cadre_ws_recv waiting for input, a database, a sleep:
 * cadre__ws_suspended, from cadre__slot_run — or returns (its close frame, then drive). Another
 * coroutine's send (a broadcast) is written at once.
 */
static int push(cadre_ws *ws)
{
    cadre__conn *c = conn_of(ws);
    if (!c)
        return CADRE_ECLOSED;
    bool own = cadre_current_request() == &ws->slot->req;
    if (own && c->out.len - c->out_off <= WS_OUT_HIGH && frame_buffered(ws, c))
        return 0;
    if (write_out(c) != 0)
        return CADRE_ECLOSED;
    if (!own) {
        /* another coroutine's send (a broadcast): it never waits on this connection's behalf;
         * a client that lets WS_FOREIGN_MAX pile up is dropped instead */
        if (c->out.len - c->out_off > WS_FOREIGN_MAX) {
            cadre_log(CADRE_LOG_INFO, "websocket: a client that does not read was dropped "
                                      "(%zu bytes waiting for it)", c->out.len - c->out_off);
            cadre__conn_close(c);
            return CADRE_ECLOSED;
        }
        return 0;
    }
    /* bounded: each turn waits for the socket to take some, or the write timeout closes it */
    while ((c = conn_of(ws)) != NULL && c->out.len - c->out_off > WS_OUT_HIGH) {
        ws->sending = true;
        cadre_wait_fd(&ws->slot->req, -1, 0, -1);
        ws->sending = false;
    }
    return c ? 0 : CADRE_ECLOSED;
}

/* Queues one frame (unmasked: the server's; opcode may carry RSV1, 0x40). Returns 0,
 * CADRE_ECLOSED or CADRE_ENOMEM. */
static int queue_frame(cadre_ws *ws, int opcode, const void *data, size_t len)
{
    cadre__conn *c = conn_of(ws);
    if (!c)
        return CADRE_ECLOSED;
    uint8_t h[10];
    size_t n = 2;
    h[0] = (uint8_t)(0x80 | opcode);
    if (len < 126) {
        h[1] = (uint8_t)len;
    } else if (len <= 0xFFFF) {
        h[1] = 126;
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
        n = 4;
    } else {
        h[1] = 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
        n = 10;
    }
    if (!c->out.data)
        cadre__buf_acquire(c->worker, &c->out, (size_t)1 << 30);
    if (cadre_buf_reserve(&c->out, n + len) != 0)
        return CADRE_ENOMEM;
    cadre_buf_append(&c->out, h, n);
    if (len)
        cadre_buf_append(&c->out, data, len);
    return 0;
}

/* Sends a close frame with code (none for CADRE_WS_NO_STATUS) and reason, once. */
static void send_close(cadre_ws *ws, int code, const char *reason)
{
    if (ws->close_sent)
        return;
    ws->close_sent = true;
    cadre__worker_update_time(ws->slot->worker);
    ws->close_sent_at = ws->slot->worker->now_ms;
    if (!ws->close_code)
        ws->close_code = code;
    uint8_t p[WS_CONTROL_MAX];
    size_t n = 0;
    if (code != CADRE_WS_NO_STATUS) {
        p[0] = (uint8_t)(code >> 8);
        p[1] = (uint8_t)code;
        n = 2;
        size_t rl = reason ? strlen(reason) : 0;
        if (rl > WS_CONTROL_MAX - 2)
            rl = WS_CONTROL_MAX - 2;
        if (rl)
            memcpy(p + 2, reason, rl);
        n += rl;
    }
    if (queue_frame(ws, CADRE_WS_CLOSE, p, n) == 0)
        push(ws);
}

/* Fails the connection (section 7.1.7): our close frame with code, nothing more read. */
static int fail(cadre_ws *ws, int code, const char *why)
{
    cadre_log(CADRE_LOG_DEBUG, "websocket: closing with %d: %s", code, why);
    ws->close_code = code;
    send_close(ws, code, why);
    ws->closed = true;
    return CADRE_ECLOSED;
}

/* Queues a message, compressed when permessage-deflate was negotiated and that makes it smaller,
 * and pushes it. shared: the hub's delivery of one message to several sockets, which reuses the
 * worker's last compression when it was of that message (cadre__ws_deflate_forget). */
static int send_message(cadre_ws *ws, int type, const void *data, size_t len, bool shared)
{
    if (ws->close_sent || !conn_of(ws))
        return CADRE_ECLOSED;
    int op = type;
    struct cadre__ws_zlib *z = NULL;
    if (ws->deflate_bits && len >= CADRE_WS_DEFLATE_MIN && (z = zlib_of(ws->slot->worker))) {
        if (!shared || !z->kept || z->kept_bits != ws->deflate_bits) {
            z->kept_smaller = deflate_message(z, ws->deflate_bits, data, len);
            z->kept = shared;
            z->kept_bits = ws->deflate_bits;
        }
        if (z->kept_smaller) {
            op |= 0x40; /* RSV1: compressed (RFC 7692 section 6) */
            data = z->packed.data;
            len = z->packed.len;
        }
    }
    int rc = queue_frame(ws, op, data, len);
    if (z && !shared)
        zlib_done(z); /* a shared one is the hub's until its next message */
    return rc ? rc : push(ws);
}

int cadre__ws_send_shared(cadre_ws *ws, int type, const void *data, size_t len)
{
    return send_message(ws, type, data, len, true);
}

int cadre_ws_send(cadre_ws *ws, int type, const void *data, size_t len)
{
    if (!ws || (type != CADRE_WS_TEXT && type != CADRE_WS_BINARY) || (len && !data))
        return CADRE_EINVAL;
    if (ws->close_sent || !conn_of(ws))
        return CADRE_ECLOSED;
    if (type == CADRE_WS_TEXT && !cadre_utf8_valid(data, len))
        return CADRE_EINVAL;
    return send_message(ws, type, data, len, false);
}

cadre__sub **cadre__ws_subs(cadre_ws *ws)
{
    return &ws->subs;
}

cadre__worker *cadre__ws_worker(cadre_ws *ws)
{
    return ws->slot->worker;
}

int cadre_ws_send_text(cadre_ws *ws, const char *text)
{
    return text ? cadre_ws_send(ws, CADRE_WS_TEXT, text, strlen(text)) : CADRE_EINVAL;
}

int cadre_ws_close(cadre_ws *ws, int code, const char *reason)
{
    if (!ws || !code_sendable(code) ||
        (reason && (strlen(reason) > WS_CONTROL_MAX - 2 || !cadre_utf8_valid(reason, strlen(reason)))))
        return CADRE_EINVAL;
    if (ws->close_sent || !conn_of(ws))
        return CADRE_ECLOSED;
    send_close(ws, code, reason);
    return 0;
}

int cadre_ws_close_code(const cadre_ws *ws)
{
    return ws ? ws->close_code : 0;
}

const char *cadre_ws_protocol(const cadre_ws *ws)
{
    return ws ? ws->protocol : NULL;
}

bool cadre_ws_compressed(const cadre_ws *ws)
{
    return ws && ws->deflate_bits;
}

cadre_request *cadre_ws_request(cadre_ws *ws)
{
    return ws ? &ws->slot->req : NULL;
}

cadre_arena *cadre_ws_scratch(cadre_ws *ws)
{
    return ws ? &ws->scratch : NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Receiving
 * ------------------------------------------------------------------------------------------- */

/* The connection was lost (EOF, reset, the write timeout): nothing more can be sent. */
static int lost(cadre_ws *ws)
{
    ws->closed = ws->close_sent = true;
    if (!ws->close_code)
        ws->close_code = CADRE_WS_ABNORMAL;
    return CADRE_ECLOSED;
}

/* How long to wait for input before the next chore (a ping, the idle timeout), -1: forever. */
static int wait_ms(const cadre_ws *ws, uint64_t now)
{
    uint64_t due = UINT64_MAX;
    if (ws->o.ping_interval_ms > 0)
        due = (ws->ping_sent ? ws->ping_sent : ws->last_frame) + (uint64_t)ws->o.ping_interval_ms;
    if (ws->o.idle_timeout_ms > 0 && ws->last_message + (uint64_t)ws->o.idle_timeout_ms < due)
        due = ws->last_message + (uint64_t)ws->o.idle_timeout_ms;
    if (ws->close_sent && ws->close_sent_at + WS_CLOSE_WAIT_MS < due)
        due = ws->close_sent_at + WS_CLOSE_WAIT_MS;
    if (due == UINT64_MAX)
        return -1;
    return due <= now ? 0 : due - now > INT32_MAX ? INT32_MAX : (int)(due - now);
}

/* Reads more input into the buffer (want: the bytes the frame being read needs in all), or
 * waits for some, doing the chores that fall due meanwhile. Returns 0 (read some: look again),
 * or what cadre_ws_recv returns. */
static int fill(cadre_ws *ws, size_t want)
{
    cadre__conn *c = conn_of(ws);
    cadre__worker *w = ws->slot->worker;
    if (c->in_off == c->in.len) {
        c->in.len = c->in_off = 0;
    } else if (c->in_off && (c->in.cap - c->in.len < 4096 || c->in.cap - c->in_off < want)) {
        cadre_buf_consume(&c->in, c->in_off); /* nothing returned earlier is used any more */
        c->in_off = 0;
    }
    if (c->can_read) {
        cadre__buf_acquire(w, &c->in, ws->in_max);
        size_t need = want > c->in.len - c->in_off ? want - (c->in.len - c->in_off) : 0;
        if (need < CADRE__BUF_SIZE)
            need = CADRE__BUF_SIZE;
        if (c->in.cap - c->in.len < need && c->in.len + need > c->in.max)
            need = c->in.max - c->in.len;
        if (need == 0 || cadre_buf_reserve(&c->in, need) != 0)
            return fail(ws, CADRE_WS_TOO_BIG, "out of memory for the message");
        for (;;) {
            size_t space = c->in.cap - c->in.len;
            ssize_t n = read(c->fd, c->in.data + c->in.len, space);
            if (n > 0) {
                c->in.len += (size_t)n;
                if ((size_t)n < space && !c->rdhup)
                    c->can_read = false; /* drained: the next edge tells of more */
                return 0;
            }
            if (n < 0 && errno == EINTR)
                continue;
            c->can_read = false;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            c->eof = true;
            return lost(ws); /* EOF without a close frame, or a reset */
        }
    }
    if ((c->eof || c->rdhup) && !c->can_read)
        return lost(ws); /* nothing more will come */
    if (c->in.len == c->in_off) /* an idle connection holds no input buffer */
        cadre__buf_release(w, &c->in);
    cadre__worker_update_time(w);
    int ms = wait_ms(ws, w->now_ms);
    if (ms != 0) {
        ws->reading = true;
        int rc = cadre_wait_fd(&ws->slot->req, -1, 0, ms);
        ws->reading = false;
        if (!conn_of(ws))
            return lost(ws);
        if (rc != CADRE_ETIMEDOUT)
            return 0; /* input, or the stop: the caller looks */
    }
    uint64_t now = w->now_ms;
    if (ws->close_sent && now >= ws->close_sent_at + WS_CLOSE_WAIT_MS) {
        ws->closed = true; /* the client never answered our close: the connection ends */
        return CADRE_ECLOSED;
    }
    if (ws->o.idle_timeout_ms > 0 && now >= ws->last_message + (uint64_t)ws->o.idle_timeout_ms) {
        fail(ws, CADRE_WS_GOING_AWAY, "idle for too long");
        return CADRE_ETIMEDOUT;
    }
    if (ws->o.ping_interval_ms > 0) {
        if (ws->ping_sent && now >= ws->ping_sent + (uint64_t)ws->o.ping_interval_ms)
            return fail(ws, CADRE_WS_INTERNAL_ERROR, "no answer to a ping");
        if (!ws->ping_sent && now >= ws->last_frame + (uint64_t)ws->o.ping_interval_ms) {
            ws->ping_sent = now;
            int rc = queue_frame(ws, CADRE_WS_PING, "cadre", 5);
            if (rc == 0)
                rc = push(ws);
            if (rc)
                return lost(ws);
        }
    }
    return 0;
}

/* Inflates a compressed message into ws->msg (the message returned). Returns 0, or fails the
 * connection: 1009 past max_message, 1007 for data that does not inflate. */
static int inflate_message(cadre_ws *ws, const uint8_t *p, size_t n)
{
    struct cadre__ws_zlib *z = zlib_of(ws->slot->worker);
    if (z && !z->in_ready && inflateInit2(&z->in, -15) == Z_OK)
        z->in_ready = true;
    int rc = z && z->in_ready ? cadre__ws_inflate(&z->in, p, n, &ws->msg, ws->o.max_message)
                              : CADRE_ENOMEM;
    if (rc == 0)
        return 0;
    ws->msg.len = 0;
    if (rc == CADRE_ETOOBIG)
        return fail(ws, CADRE_WS_TOO_BIG, "message too big (inflated)");
    if (rc == CADRE_EPARSE)
        return fail(ws, CADRE_WS_INVALID_DATA, "compressed data that does not inflate");
    return fail(ws, CADRE_WS_TOO_BIG, "out of memory for the message");
}

/* A fragmented text message fails at the fragment that breaks its UTF-8, not at its end (the
 * rest may never come): true while what has come of it can begin valid UTF-8 and, after its last
 * fragment, is valid. A compressed message is checked once inflated. */
static bool check_fragment(cadre_ws *ws, bool last)
{
    if (ws->msg_type != CADRE_WS_TEXT || ws->msg_packed || ws->msg_checked == ws->msg.len)
        return true;
    size_t k;
    if (!cadre_utf8_valid_prefix(ws->msg.data + ws->msg_checked, ws->msg.len - ws->msg_checked, &k))
        return false;
    ws->msg_checked += k;
    return !last || ws->msg_checked == ws->msg.len;
}

/* The first frame of a text message, while its payload arrives (have bytes of it at p, masked):
 * what has come is unmasked and checked, so that text that cannot be UTF-8 fails before the rest
 * of the frame comes, and no byte is checked twice. False: it cannot. */
static bool check_part(cadre_ws *ws, uint8_t *p, size_t have, const cadre_ws_frame *f)
{
    if (f->opcode != CADRE_WS_TEXT || f->rsv1 || ws->msg_type || have <= ws->part_done)
        return true; /* (a text frame inside a fragmented message fails for that: 1002) */
    cadre_ws_unmask(p + ws->part_done, have - ws->part_done, f->mask, ws->part_done);
    ws->part_done = have;
    size_t k;
    if (!cadre_utf8_valid_prefix((const char *)p + ws->part_checked, have - ws->part_checked, &k))
        return false;
    ws->part_checked += k;
    return true;
}

int cadre_ws_recv(cadre_ws *ws, cadre_ws_message *msg)
{
    if (!ws || !msg)
        return CADRE_EINVAL;
    *msg = (cadre_ws_message){ 0 };
    cadre_arena_reset(&ws->scratch);
    if (ws->msg_returned) {
        /* a large one's is let go: a few compressed bytes inflate to max_message, and a socket
         * that kept that much while it waits would make 10,000 idle ones cost gigabytes */
        if (ws->msg.cap > WS_MSG_KEEP)
            cadre_buf_free(&ws->msg);
        else
            ws->msg.len = 0;
        ws->msg_returned = false;
    }
    if (ws->closed)
        return CADRE_ECLOSED;
    for (;;) { /* bounded: each turn takes a frame, reads input, or ends */
        cadre__conn *c = conn_of(ws);
        if (!c)
            return lost(ws);
        cadre__worker *w = ws->slot->worker;
        if (w->stopping) {
            fail(ws, CADRE_WS_GOING_AWAY, "the server is stopping");
            return CADRE_ECANCELED;
        }
        uint8_t *base = (uint8_t *)c->in.data + c->in_off;
        size_t avail = c->in.len - c->in_off, want = 2;
        cadre_ws_frame f;
        int code = 0;
        const char *why = NULL;
        int hl = avail ? cadre_ws_parse_frame(base, avail, frame_flags(ws), &f, &code, &why)
                       : CADRE_HTTP_PARTIAL;
        if (hl == CADRE_HTTP_ERROR)
            return fail(ws, code, why);
        if (hl > 0) {
            /* a compressed message's frames may be a little longer than what they inflate to */
            bool cont = f.opcode == CADRE_WS_CONTINUATION, packed = f.rsv1 || (cont && ws->msg_packed);
            size_t max = packed ? ws->frame_max : ws->o.max_message;
            size_t so_far = !cont ? 0 : packed ? ws->packed.len : ws->msg.len;
            if (!(f.opcode & 0x8) && f.len > max - so_far)
                return fail(ws, CADRE_WS_TOO_BIG, "message too big");
            want = (size_t)hl + (size_t)f.len;
        }
        if (hl <= 0 || avail < want) {
            if (hl > 0 && !check_part(ws, base + hl, avail - (size_t)hl, &f))
                return fail(ws, CADRE_WS_INVALID_DATA, "text that is not UTF-8");
            int rc = fill(ws, want);
            if (rc)
                return rc;
            continue;
        }
        uint8_t *p = base + hl;
        size_t n = (size_t)f.len;
        /* a text message still to be checked from byte from (check_part saw the rest) */
        bool text = true;
        size_t from = ws->part_checked;
        cadre_ws_unmask(p + ws->part_done, n - ws->part_done, f.mask, ws->part_done);
        ws->part_done = ws->part_checked = 0;
        c->in_off += want;
        ws->last_frame = w->now_ms; /* the loop's clock: no system call per frame */
        ws->ping_sent = 0;
        switch (f.opcode) {
        case CADRE_WS_PING: {
            int rc = queue_frame(ws, CADRE_WS_PONG, p, n);
            if (rc == 0)
                rc = push(ws);
            if (rc)
                return lost(ws);
            continue;
        }
        case CADRE_WS_PONG:
            continue;
        case CADRE_WS_CLOSE: {
            int got;
            if (cadre_ws_parse_close(p, n, &got) != 0)
                return fail(ws, got, got == CADRE_WS_INVALID_DATA ? "a close reason that is not UTF-8"
                                                                  : "a close code that may not be sent");
            ws->close_code = got;
            send_close(ws, got == CADRE_WS_NO_STATUS ? CADRE_WS_NORMAL : got, NULL);
            ws->closed = true;
            return CADRE_ECLOSED;
        }
        case CADRE_WS_CONTINUATION:
            if (!ws->msg_type)
                return fail(ws, CADRE_WS_PROTOCOL_ERROR, "a continuation without a message");
            if (n && cadre_buf_append(ws->msg_packed ? &ws->packed : &ws->msg, p, n) != 0)
                return fail(ws, CADRE_WS_TOO_BIG, "out of memory for the message");
            if (!check_fragment(ws, f.fin))
                return fail(ws, CADRE_WS_INVALID_DATA, "text that is not UTF-8");
            if (!f.fin)
                continue;
            msg->type = ws->msg_type;
            if (ws->msg_packed) {
                int rc = inflate_message(ws, (const uint8_t *)ws->packed.data, ws->packed.len);
                cadre_buf_free(&ws->packed); /* rare: not kept for the next */
                ws->msg_packed = false;
                if (rc)
                    return rc;
            } else {
                text = false; /* checked fragment by fragment */
            }
            msg->data = (cadre_slice){ ws->msg.data ? ws->msg.data : "", ws->msg.len };
            ws->msg_type = 0;
            ws->msg_returned = true;
            break;
        default: /* text or binary */
            if (ws->msg_type)
                return fail(ws, CADRE_WS_PROTOCOL_ERROR, "a new message inside a fragmented one");
            if (!f.fin) {
                ws->msg_type = f.opcode;
                ws->msg_packed = f.rsv1;
                cadre_buf *into = f.rsv1 ? &ws->packed : &ws->msg;
                into->len = 0;
                if (n && cadre_buf_append(into, p, n) != 0)
                    return fail(ws, CADRE_WS_TOO_BIG, "out of memory for the message");
                ws->msg_checked = from;
                if (!check_fragment(ws, false))
                    return fail(ws, CADRE_WS_INVALID_DATA, "text that is not UTF-8");
                continue;
            }
            msg->type = f.opcode;
            if (f.rsv1) {
                int rc = inflate_message(ws, p, n);
                if (rc)
                    return rc;
                msg->data = (cadre_slice){ ws->msg.data ? ws->msg.data : "", ws->msg.len };
                ws->msg_returned = true;
            } else {
                msg->data = (cadre_slice){ (const char *)p, n };
            }
            break;
        }
        if (text && msg->type == CADRE_WS_TEXT &&
            !cadre_utf8_valid(msg->data.ptr + from, msg->data.len - from)) {
            *msg = (cadre_ws_message){ 0 };
            return fail(ws, CADRE_WS_INVALID_DATA, "text that is not UTF-8");
        }
        ws->last_message = w->now_ms;
        return 0;
    }
}

/* ---------------------------------------------------------------------------------------------
 * The event loop's part (conn.c)
 * ------------------------------------------------------------------------------------------- */

void cadre__conn_ws_timer(cadre__conn *c)
{
    if (c->dead)
        return;
    if (c->out.len > c->out_off) {
        if (c->timer_kind != T_WRITE)
            cadre__timer_set(c, T_WRITE);
    } else if (c->timer_kind != T_NONE) {
        cadre__timer_clear(c);
    }
}

void cadre__ws_suspended(cadre__conn *c)
{
    if (c->out.len > c->out_off)
        write_out(c); /* what push held back (a broken connection wakes the handler, closed) */
}

void cadre__ws_drive(cadre__conn *c)
{
    if (cadre__conn_flush(c) < 0) {
        cadre__conn_close(c);
        return;
    }
    cadre_ws *ws = c->ws;
    cadre__slot *s = c->slot;
    if (ws && s) {
        if (ws->reading && (c->can_read || c->rdhup || c->eof))
            cadre__slot_wake(s);
        if (ws->sending && c->out.len - c->out_off <= WS_OUT_HIGH / 2)
            cadre__slot_wake(s);
    }
    cadre__conn_ws_timer(c);
}

void cadre__ws_conn_closed(cadre__conn *c)
{
    if (c->ws && c->in.data) {
        c->ws->held = c->in; /* freed with the request, not reused by another connection */
        c->in = (cadre_buf){ 0 };
    }
}

void cadre__ws_end(cadre__conn *c, cadre__slot *s)
{
    cadre_ws *ws = c->ws;
    if (ws && !ws->close_sent && !c->dead) {
        ws->close_sent = true;
        /* the handler failed: its error (or the 500 an app made of it) closes with 1011 */
        int code = s->result < 0 || s->result >= 500 ? CADRE_WS_INTERNAL_ERROR : CADRE_WS_NORMAL;
        uint8_t p[2] = { (uint8_t)(code >> 8), (uint8_t)code };
        queue_frame(ws, CADRE_WS_CLOSE, p, 2);
    }
    c->ws = NULL;
}
