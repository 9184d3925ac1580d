/*
 * libFuzzer target for WebSockets' permessage-deflate (RFC 7692) in src/http/websocket.c: the
 * Sec-WebSocket-Extensions offer parser (cadre__ws_deflate_offer), the bounded inflater
 * (cadre__ws_inflate) and the frame parser's RSV1 rule (cadre_ws_parse_frame, CADRE_WS_DEFLATE).
 * Each is reached by what a client sends: a handshake header, a compressed message, a frame.
 *
 * Input: byte 0 picks the limit and window (below); the rest, r, is used whole by each check.
 * Invariants (abort on violation):
 * - r as a header value: the parser's answer equals an independent reading (a lexer into
 *   tokens, quoted strings and separators, then RFC 6455 section 9.1's grammar, then RFC 7692
 *   section 7's rules for the first offer whose parameters are all acceptable); 0 or 9 to 15;
 *   bits_offered exactly when that offer named server_max_window_bits (15 otherwise);
 * - r as a compressed payload, inflated with a limit of 0 to 64 KiB (byte 0): 0, CADRE_ETOOBIG or
 *   CADRE_EPARSE; never more than the limit produced, nor twice it allocated; inflated again (the
 *   stream reset) the same result and bytes;
 * - r compressed as a client would (raw deflate, window 9 to 15 from byte 0, a sync flush, its
 *   tail taken off) inflates back to r; with a limit one byte short, CADRE_ETOOBIG;
 * - r compressed as the server sends it to a client that allows that window (cadre__ws_deflate:
 *   libdeflate for a message the window holds, zlib otherwise), when it says smaller, is
 *   smaller and inflates back to r in each receiver RFC 7692 lets there be: zlib with that
 *   window, the tail added back, stopping at a final block (python-websockets) or starting
 *   again after it (Chromium: then only empty stored blocks follow, and they end on a block's
 *   end), and cadre__ws_inflate;
 * - r's first bytes as a frame header, parsed with and without CADRE_WS_DEFLATE: the same except
 *   that with it, RSV1 is taken on a text or binary frame (f.rsv1) and refused on any other;
 *   without it, RSV1 is refused.
 */
#include <cadre.h>

#include "fuzz_check.h"
#include "http/http_internal.h"

#include <stdint.h>
#include <string.h>
#include <zlib.h>

/* ---------------------------------------------------------------------------------------------
 * The offer's oracle
 * ------------------------------------------------------------------------------------------- */

enum { L_TOKEN, L_QUOTED, L_SEMI, L_COMMA, L_EQ };

typedef struct lexeme {
    int kind;
    const char *p; /* a token's text; a quoted string's unescaped content (owned) */
    size_t n;
    bool token_ok; /* a quoted string whose content is a token */
} lexeme;

static bool tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The value as lexemes; false for a character that has no place in it. */
static bool lex(const uint8_t *s, size_t n, lexeme *out, size_t *count, char *qbuf)
{
    size_t k = 0, q = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c == ' ' || c == '\t') {
            i++;
        } else if (c == ';' || c == ',' || c == '=') {
            out[k++] = (lexeme){ c == ';' ? L_SEMI : c == ',' ? L_COMMA : L_EQ, NULL, 0, false };
            i++;
        } else if (tchar(c)) {
            size_t j = i;
            while (j < n && tchar(s[j]))
                j++;
            out[k++] = (lexeme){ L_TOKEN, (const char *)s + i, j - i, true };
            i = j;
        } else if (c == '"') {
            char *start = qbuf + q;
            bool tok = true;
            size_t len = 0;
            for (i++;; i++) {
                if (i >= n)
                    return false;
                unsigned char d = s[i];
                if (d == '"')
                    break;
                if (d == '\\') {
                    if (++i >= n)
                        return false;
                    d = s[i];
                }
                if (d == 0x7F || (d < 0x20 && d != '\t'))
                    return false;
                tok = tok && tchar(d);
                start[len++] = (char)d;
            }
            i++;
            q += len;
            out[k++] = (lexeme){ L_QUOTED, start, len, tok && len > 0 };
        } else {
            return false;
        }
    }
    *count = k;
    return true;
}

static bool is(const lexeme *l, const char *text)
{
    return l->kind == L_TOKEN && l->n == strlen(text) && memcmp(l->p, text, l->n) == 0;
}

static int bits_of(const lexeme *v)
{
    if (v->kind == L_QUOTED && !v->token_ok)
        return -1;
    if (v->n == 1 && (v->p[0] == '8' || v->p[0] == '9'))
        return v->p[0] - '0';
    if (v->n == 2 && v->p[0] == '1' && v->p[1] >= '0' && v->p[1] <= '5')
        return 10 + v->p[1] - '0';
    return -1;
}

/* The first acceptable offer's window bits, or 0; -1 when the grammar breaks. */
static int oracle(const lexeme *l, size_t n, bool *named)
{
    int taken = 0;
    *named = false;
    size_t i = 0;
    while (i < n) {
        if (l[i].kind == L_COMMA) {
            i++;
            continue;
        }
        if (l[i].kind != L_TOKEN)
            return -1;
        bool ours = is(&l[i], "permessage-deflate"), ok = ours, nm = false;
        int bits = 15;
        bool seen[4] = { false };
        i++;
        while (i < n && l[i].kind == L_SEMI) {
            if (i + 1 >= n || l[i + 1].kind != L_TOKEN)
                return -1;
            const lexeme *name = &l[i + 1], *val = NULL;
            i += 2;
            if (i < n && l[i].kind == L_EQ) {
                if (i + 1 >= n || (l[i + 1].kind != L_TOKEN && l[i + 1].kind != L_QUOTED))
                    return -1;
                val = &l[i + 1];
                i += 2;
            }
            int w = is(name, "server_no_context_takeover")   ? 0
                    : is(name, "client_no_context_takeover") ? 1
                    : is(name, "server_max_window_bits")     ? 2
                    : is(name, "client_max_window_bits")     ? 3
                                                             : -1;
            if (w < 0 || seen[w]) {
                ok = false;
                continue;
            }
            seen[w] = true;
            int b = val ? bits_of(val) : -1;
            if (w <= 1 && val)
                ok = false;
            if (w == 2) {
                if (b < 9)
                    ok = false;
                bits = b, nm = true;
            }
            if (w == 3 && val && b < 8)
                ok = false;
        }
        if (i < n && l[i].kind != L_COMMA)
            return -1;
        if (ok && !taken) {
            taken = bits;
            *named = nm;
        }
    }
    return taken;
}

static void check_offer(const uint8_t *r, size_t n)
{
    lexeme *l = malloc((n + 1) * sizeof *l);
    char *q = malloc(n + 1);
    CHECK(l && q);
    size_t count = 0;
    bool named = false;
    int want = lex(r, n, l, &count, q) ? oracle(l, count, &named) : -1;
    if (want < 0)
        want = 0, named = false;
    bool got_named = !named;
    int got = cadre__ws_deflate_offer((cadre_slice){ (const char *)r, n }, &got_named);
    if (got != want || (got && got_named != named)) {
        fprintf(stderr, "offer \"%.*s\": %d (named %d), the oracle %d (named %d)\n", (int)n,
                (const char *)r, got, got_named, want, named);
        abort();
    }
    CHECK(got == 0 || (got >= 9 && got <= 15));
    CHECK(!got || got_named || got == 15);
    free(l);
    free(q);
}

/* ---------------------------------------------------------------------------------------------
 * Inflating
 * ------------------------------------------------------------------------------------------- */

static z_stream inflater;
static bool inflater_ready;

static void check_inflate(const uint8_t *r, size_t n, size_t max)
{
    cadre_buf a, b;
    cadre_buf_init(&a, (size_t)1 << 30);
    cadre_buf_init(&b, (size_t)1 << 30);
    int rc = cadre__ws_inflate(&inflater, r, n, &a, max);
    CHECK(rc == 0 || rc == CADRE_ETOOBIG || rc == CADRE_EPARSE);
    /* the buffer starts at 256 bytes and doubles (capped at its own max, which the server sets
     * to the limit) */
    CHECK(a.len <= max && a.cap <= (2 * max > 256 ? 2 * max : 256));
    int again = cadre__ws_inflate(&inflater, r, n, &b, max);
    CHECK(again == rc);
    if (rc == 0) {
        CHECK(b.len == a.len);
        CHECK(!a.len || memcmp(a.data, b.data, a.len) == 0);
    }
    cadre_buf_free(&a);
    cadre_buf_free(&b);
}

static void check_round_trip(const uint8_t *r, size_t n, int bits)
{
    z_stream s = { 0 };
    CHECK(deflateInit2(&s, 6, Z_DEFLATED, -bits, 8, Z_DEFAULT_STRATEGY) == Z_OK);
    size_t cap = deflateBound(&s, n) + 16;
    uint8_t *z = malloc(cap);
    CHECK(z != NULL);
    s.next_in = (Bytef *)(uintptr_t)r;
    s.avail_in = (uInt)n;
    s.next_out = z;
    s.avail_out = (uInt)cap;
    CHECK(deflate(&s, Z_SYNC_FLUSH) == Z_OK && s.avail_out > 0 && s.avail_in == 0);
    size_t zl = cap - s.avail_out;
    deflateEnd(&s);
    CHECK(zl >= 4 && memcmp(z + zl - 4, "\0\0\xff\xff", 4) == 0);
    zl -= 4;
    cadre_buf out;
    cadre_buf_init(&out, (size_t)1 << 30);
    CHECK(cadre__ws_inflate(&inflater, z, zl, &out, n) == 0);
    CHECK(out.len == n && (!n || memcmp(out.data, r, n) == 0));
    if (n)
        CHECK(cadre__ws_inflate(&inflater, z, zl, &out, n - 1) == CADRE_ETOOBIG);
    cadre_buf_free(&out);
    free(z);
}

static cadre__worker worker; /* only its compressor is used */

static void check_server_deflate(const uint8_t *r, size_t n, int bits)
{
    cadre_slice z;
    if (!cadre__ws_deflate(&worker, bits, r, n, &z))
        return; /* sent as it is */
    CHECK(z.len < n);
    uint8_t *in = malloc(z.len + 4), *out = malloc(n + 1);
    CHECK(in && out);
    memcpy(in, z.ptr, z.len);
    memcpy(in + z.len, "\0\0\xff\xff", 4);
    z_stream s = { 0 };
    CHECK(inflateInit2(&s, -bits) == Z_OK);
    s.next_in = in;
    s.avail_in = (uInt)z.len + 4;
    s.next_out = out;
    /* a byte of output a call under 15 bits: zlib then checks each match against the window
     * alone (one call's output is also within reach: a receiver with a window of that size has
     * no more than the window) */
    int rc;
    size_t made = 0;
    do { /* bounded: each turn makes a byte, or ends */
        s.avail_out = bits == 15 ? (uInt)(n + 1 - made) : 1;
        rc = inflate(&s, Z_SYNC_FLUSH);
        made = (size_t)(s.next_out - out);
    } while (rc == Z_OK && s.avail_out == 0 && s.avail_in > 0 && made <= n);
    /* (a call with no input left would take the stream off its block boundary: zlib's TYPEDO) */
    CHECK(rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR);
    CHECK(made == n && memcmp(out, r, n) == 0);
    s.avail_out = 1;
    if (rc == Z_STREAM_END) { /* Chromium's way: the stream starts again after a final block */
        CHECK(inflateReset(&s) == Z_OK);
        rc = inflate(&s, Z_SYNC_FLUSH);
        CHECK((rc == Z_OK || rc == Z_BUF_ERROR) && s.avail_in == 0 && s.avail_out == 1);
        CHECK(s.data_type & 128);
    } else {
        CHECK(s.avail_in == 0 && (s.data_type & 128));
    }
    inflateEnd(&s);
    cadre_buf back;
    cadre_buf_init(&back, (size_t)1 << 30);
    CHECK(cadre__ws_inflate(&inflater, (const uint8_t *)z.ptr, z.len, &back, n) == 0);
    CHECK(back.len == n && memcmp(back.data, r, n) == 0);
    cadre_buf_free(&back);
    free(in);
    free(out);
}

/* ---------------------------------------------------------------------------------------------
 * RSV1
 * ------------------------------------------------------------------------------------------- */

static void check_rsv1(const uint8_t *r, size_t n)
{
    if (n < 2)
        return;
    cadre_ws_frame f, g;
    int c1, c2;
    const char *w1, *w2;
    int with = cadre_ws_parse_frame(r, n, CADRE_WS_FROM_CLIENT | CADRE_WS_DEFLATE, &f, &c1, &w1);
    int without = cadre_ws_parse_frame(r, n, CADRE_WS_FROM_CLIENT, &g, &c2, &w2);
    bool rsv1 = r[0] & 0x40, data_first = (r[0] & 0x0F) == 1 || (r[0] & 0x0F) == 2;
    if (!rsv1) {
        CHECK(with == without);
        if (with > 0)
            CHECK(!f.rsv1 && !g.rsv1 && f.len == g.len && f.opcode == g.opcode);
        return;
    }
    CHECK(without == CADRE_HTTP_ERROR);
    if (!data_first || (r[0] & 0x30))
        CHECK(with == CADRE_HTTP_ERROR);
    /* the same frame without RSV1, parsed without the flag, reads the same */
    uint8_t *copy = malloc(n);
    CHECK(copy != NULL);
    memcpy(copy, r, n);
    copy[0] &= (uint8_t)~0x40;
    int plain = cadre_ws_parse_frame(copy, n, CADRE_WS_FROM_CLIENT, &g, &c2, &w2);
    if (data_first && !(r[0] & 0x30)) {
        CHECK(with == plain);
        if (with > 0)
            CHECK(f.rsv1 && f.len == g.len && f.opcode == g.opcode && f.fin == g.fin);
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (!inflater_ready) {
        CHECK(inflateInit2(&inflater, -15) == Z_OK);
        inflater_ready = true;
    }
    const uint8_t *r = data + 1;
    size_t n = size - 1;
    size_t max = (size_t)(data[0] & 0x3F) << 10 | (data[0] >> 6); /* 0 to 64 KiB */
    check_offer(r, n);
    check_inflate(r, n, max);
    check_round_trip(r, n, 9 + data[0] % 7);
    check_server_deflate(r, n, 9 + data[0] % 7);
    check_rsv1(r, n);
    return 0;
}
