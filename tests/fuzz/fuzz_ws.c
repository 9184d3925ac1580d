/*
 * libFuzzer target for the WebSocket frame parser (cadre_ws_parse_frame, cadre_ws_unmask,
 * cadre_ws_parse_close, cadre_ws_accept_key; cadre/websocket.h).
 *
 * Input: the bytes a client sends after the opening handshake, read frame by frame as the server
 * reads them, until a frame is refused or cut short, a close frame ends the stream, or a
 * continuation is out of place. Invariants (abort on violation):
 * - each header, parsed as a client's and (on an exact-size copy) as a server's, gives what an
 *   independent reading of section 5.2 gives: a length of 2 to 14 equal to header_len (2, plus 2
 *   or 8 for the lengths 126 and 127, plus 4 for a mask), fin, opcode, mask and payload length
 *   (a control frame always fin and at most 125 bytes); ERROR, with 1002 and a reason, for
 *   reserved bits, a reserved opcode, the wrong masking, a control frame fragmented or over 125
 *   bytes, a 64-bit length with its top bit set; PARTIAL only for a header cut short;
 * - every prefix of the header (an exact-size copy) parses to PARTIAL or to the same result as
 *   the whole: more bytes of the stream never turn an ERROR into a success, nor a success into
 *   something else;
 * - a whole payload unmasked at offset 0 is payload[i] ^ mask[i % 4]; unmasked in two pieces
 *   (exact-size copies) at splits derived from the input, the second with its offset, it is the
 *   same; from any starting offset the mask's phase follows it; masked again it is the original;
 * - a close frame's payload is accepted by cadre_ws_parse_close exactly when it is empty (1005)
 *   or a code of 1000-1003, 1007-1014 or 3000-4999 with a UTF-8 reason (cadre_utf8_valid), that
 *   code returned; refused with 1007 for a reason that is not UTF-8, else with 1002;
 * - text (each frame's payload, and a fragmented message reassembled) is judged by
 *   cadre_utf8_valid as by the oracle of fuzz_check.h; a fragmented text message, checked
 *   fragment by fragment with cadre_utf8_valid_prefix as the server checks it, is failed at the
 *   first fragment after which the message so far cannot begin valid UTF-8, and the length found
 *   whole is where its valid text ends (the oracle's: valid text, then one sequence cut short);
 * - the first 64 bytes (or fewer) as a Sec-WebSocket-Key give a Sec-WebSocket-Accept of 28
 *   base64 characters and a NUL: 27 that carry SHA-1's 160 bits (the last with no stray ones) and
 *   '='; the RFC's example key (section 1.3) gives the RFC's answer.
 */
#include <cadre.h>

#include "fuzz_check.h"

#include <stdint.h>
#include <string.h>

#define MAX_KEY 64
#define SMALL_PAYLOAD 16 /* payloads up to this long are split at every offset */

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    CHECK(c != NULL);
    if (n)
        memcpy(c, p, n);
    return c;
}

/* Section 5.2 read independently of websocket.c: the header length, or CADRE_HTTP_PARTIAL or
 * CADRE_HTTP_ERROR, with the fields in *want on success. */
static int expected(const uint8_t *b, size_t n, bool from_client, cadre_ws_frame *want)
{
    if (n < 2)
        return CADRE_HTTP_PARTIAL;
    bool fin = b[0] & 0x80, masked = b[1] & 0x80;
    int op = b[0] & 0x0F;
    unsigned l7 = b[1] & 0x7F;
    if (b[0] & 0x70)
        return CADRE_HTTP_ERROR;
    if (!(op <= 2 || (op >= 8 && op <= 10)))
        return CADRE_HTTP_ERROR;
    if (masked != from_client)
        return CADRE_HTTP_ERROR;
    if (op >= 8 && (l7 > 125 || !fin))
        return CADRE_HTTP_ERROR;
    size_t ext = l7 == 126 ? 2 : l7 == 127 ? 8 : 0;
    if (ext == 8 && n >= 10 && (b[2] & 0x80))
        return CADRE_HTTP_ERROR;
    size_t h = 2 + ext + (masked ? 4 : 0);
    if (n < h)
        return CADRE_HTTP_PARTIAL;
    uint64_t len = ext ? 0 : l7;
    for (size_t i = 0; i < ext; i++)
        len = len << 8 | b[2 + i];
    *want = (cadre_ws_frame){ .fin = fin, .opcode = op, .masked = masked, .len = len,
                              .header_len = h };
    if (masked)
        memcpy(want->mask, b + 2 + ext, 4);
    return (int)h;
}

/* cadre_ws_parse_frame with its own checks: the result one of the three kinds, a refusal with
 * 1002 and a reason, a header as the input's length encoding says. */
static int parse(const uint8_t *b, size_t n, bool from_client, cadre_ws_frame *f)
{
    memset(f, 0, sizeof *f);
    f->opcode = -1;
    f->header_len = 99;
    f->len = UINT64_MAX;
    memset(f->mask, 0xA5, sizeof f->mask);
    int code = 0;
    const char *why = NULL;
    int rc = cadre_ws_parse_frame(b, n, from_client, f, &code, &why);
    CHECK(rc > 0 || rc == CADRE_HTTP_PARTIAL || rc == CADRE_HTTP_ERROR);
    if (rc == CADRE_HTTP_ERROR)
        CHECK(code == CADRE_WS_PROTOCOL_ERROR && why && *why);
    if (rc == CADRE_HTTP_PARTIAL)
        CHECK(n < 14);
    if (rc > 0) {
        CHECK(rc >= 2 && rc <= 14 && (size_t)rc == f->header_len && f->header_len <= n);
        unsigned l7 = b[1] & 0x7F;
        size_t ext = l7 == 126 ? 2 : l7 == 127 ? 8 : 0;
        CHECK(f->header_len == 2 + ext + (f->masked ? 4 : 0));
        CHECK(f->masked == from_client);
        if (l7 < 126)
            CHECK(f->len == l7);
        else if (l7 == 126)
            CHECK(f->len == ((uint64_t)b[2] << 8 | b[3]));
        else
            CHECK(f->len >> 63 == 0);
        if (f->opcode >= 8)
            CHECK(f->len <= 125 && f->fin);
        if (!f->masked)
            CHECK(memcmp(f->mask, "\0\0\0\0", 4) == 0);
    }
    return rc;
}

static bool same_frame(const cadre_ws_frame *a, const cadre_ws_frame *b)
{
    return a->fin == b->fin && a->opcode == b->opcode && a->masked == b->masked &&
           memcmp(a->mask, b->mask, 4) == 0 && a->len == b->len && a->header_len == b->header_len;
}

/* The header at b[0..n) parsed whole (rc, *f) agrees with the oracle, and each prefix of it
 * (exact-size copies, so that a read past the end is caught) with the whole. */
static void check_header(const uint8_t *b, size_t n, bool from_client, int rc,
                         const cadre_ws_frame *f)
{
    cadre_ws_frame want;
    int exp = expected(b, n, from_client, &want);
    CHECK(rc == exp);
    if (rc > 0)
        CHECK(same_frame(f, &want));

    int prev = CADRE_HTTP_PARTIAL;
    cadre_ws_frame prev_f = { 0 };
    size_t upto = n < 15 ? n : 15;
    for (size_t k = 0; k <= upto; k++) {
        uint8_t *c = dup_bytes(b, k);
        cadre_ws_frame g;
        int rk = parse(c, k, from_client, &g);
        free(c);
        cadre_ws_frame wk;
        int ek = expected(b, k, from_client, &wk);
        CHECK(rk == ek);
        if (rk > 0)
            CHECK(same_frame(&g, &wk));
        if (prev == CADRE_HTTP_ERROR)
            CHECK(rk == CADRE_HTTP_ERROR); /* more bytes never mend a refusal */
        if (prev > 0)
            CHECK(rk == prev && same_frame(&g, &prev_f));
        /* PARTIAL only while the whole input may still decide otherwise */
        if (rk == CADRE_HTTP_PARTIAL && rc > 0)
            CHECK(k < (size_t)rc);
        if (rk > 0)
            CHECK(rc == rk && same_frame(&g, f));
        if (rk == CADRE_HTTP_ERROR)
            CHECK(rc == CADRE_HTTP_ERROR);
        prev = rk;
        prev_f = g;
    }
}

static uint64_t mix(uint64_t *s) /* splitmix64 */
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Unmasking p[0..n) in two exact-size pieces split at s gives want. */
static void check_split(const uint8_t *p, size_t n, const uint8_t mask[4], size_t s,
                        const uint8_t *want)
{
    uint8_t *a = dup_bytes(p, s), *b = dup_bytes(p + s, n - s);
    cadre_ws_unmask(a, s, mask, 0);
    cadre_ws_unmask(b, n - s, mask, s);
    CHECK(memcmp(a, want, s) == 0);
    CHECK(memcmp(b, want + s, n - s) == 0);
    free(a);
    free(b);
}

/* The payload p[0..n), unmasked: returned (malloc, n bytes) after the unmasking checks. */
static uint8_t *check_unmask(const uint8_t *p, size_t n, const uint8_t mask[4], uint64_t *seed)
{
    uint8_t *u = dup_bytes(p, n);
    cadre_ws_unmask(u, n, mask, 0);
    for (size_t i = 0; i < n; i++)
        CHECK(u[i] == (p[i] ^ mask[i % 4]));

    if (n <= SMALL_PAYLOAD) {
        for (size_t s = 0; s <= n; s++)
            check_split(p, n, mask, s, u);
    } else {
        const size_t fixed[] = { 0, 1, 2, 3, 5, 7, 8, 9, n / 2, n - 9, n - 8, n - 1, n };
        for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
            check_split(p, n, mask, fixed[i], u);
        for (int i = 0; i < 4; i++)
            check_split(p, n, mask, (size_t)(mix(seed) % (n + 1)), u);
    }

    /* from any offset (a payload read on from the middle) the phase follows it */
    const size_t offsets[] = { 1, 2, 3, 4, 5, (size_t)mix(seed), SIZE_MAX };
    for (size_t j = 0; j < sizeof offsets / sizeof offsets[0]; j++) {
        size_t off = offsets[j];
        uint8_t *c = dup_bytes(p, n);
        cadre_ws_unmask(c, n, mask, off);
        for (size_t i = 0; i < n; i++)
            CHECK(c[i] == (p[i] ^ mask[(off + i) % 4]));
        free(c);
    }

    /* masking is its own inverse */
    uint8_t *twice = dup_bytes(u, n);
    cadre_ws_unmask(twice, n, mask, 0);
    CHECK(memcmp(twice, p, n) == 0);
    free(twice);
    return u;
}

static bool code_sendable(int c)
{
    return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

/* A close frame's (unmasked, exact-size) payload. */
static void check_close(const uint8_t *u, size_t n)
{
    int code = -1;
    int rc = cadre_ws_parse_close(u, n, &code);
    if (n == 0) {
        CHECK(rc == 0 && code == CADRE_WS_NO_STATUS);
        return;
    }
    if (n == 1) {
        CHECK(rc == CADRE_EPARSE && code == CADRE_WS_PROTOCOL_ERROR);
        return;
    }
    int c = u[0] << 8 | u[1];
    const char *reason = (const char *)u + 2;
    bool utf8 = cadre_utf8_valid(reason, n - 2);
    CHECK(utf8 == utf8_ok(reason, n - 2));
    if (!code_sendable(c))
        CHECK(rc == CADRE_EPARSE && code == CADRE_WS_PROTOCOL_ERROR);
    else if (!utf8)
        CHECK(rc == CADRE_EPARSE && code == CADRE_WS_INVALID_DATA);
    else
        CHECK(rc == 0 && code == c);
}

static void check_text(const uint8_t *u, size_t n)
{
    CHECK(cadre_utf8_valid((const char *)u, n) == utf8_ok((const char *)u, n));
}

/* True when t[0..n) (1 to 3 bytes) is one sequence cut short: some ending of the bytes that
 * bound the continuation ranges makes it valid (the oracle's, over utf8_ok). */
static bool cut_sequence(const uint8_t *t, size_t n)
{
    static const uint8_t ends[] = { 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf };
    uint8_t b[8];
    memcpy(b, t, n);
    size_t combos = 1;
    for (size_t more = 1; more + n <= 4; more++) {
        combos *= sizeof ends;
        for (size_t c = 0; c < combos; c++) {
            size_t x = c;
            for (size_t i = 0; i < more; i++, x /= sizeof ends)
                b[n + i] = ends[x % sizeof ends];
            if (utf8_ok((const char *)b, n + more))
                return true;
        }
    }
    return false;
}

/* A fragmented text message checked fragment by fragment as the server does
 * (cadre_utf8_valid_prefix from where the last fragment's whole sequences ended): what it says
 * after each fragment is what the oracle says of all the message so far: a beginning of valid
 * UTF-8 is valid text followed by one sequence cut short; at the last fragment, valid text. */
static bool check_fragment_text(const uint8_t *msg, size_t len, size_t *checked, bool last)
{
    size_t k = 0;
    bool ok = cadre_utf8_valid_prefix((const char *)msg + *checked, len - *checked, &k);
    bool want = utf8_ok((const char *)msg, len);
    size_t complete = len;
    for (size_t t = 1; !want && t <= 3 && t <= len; t++)
        if (utf8_ok((const char *)msg, len - t) && cut_sequence(msg + len - t, t)) {
            want = true;
            complete = len - t;
        }
    CHECK(ok == want);
    if (!ok)
        return false;
    CHECK(*checked + k == complete);
    *checked += k;
    if (last)
        CHECK((*checked == len) == utf8_ok((const char *)msg, len));
    return !last || *checked == len;
}

/* The accept value for the first bytes of the input as a key. */
static void check_accept(const uint8_t *data, size_t size)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static bool rfc_checked;
    char out[29];
    if (!rfc_checked) {
        const char *k = "dGhlIHNhbXBsZSBub25jZQ==";
        CHECK(cadre_ws_accept_key((cadre_slice){ k, strlen(k) }, out) == 0);
        CHECK(strcmp(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0);
        rfc_checked = true;
    }
    size_t n = size < MAX_KEY ? size : MAX_KEY;
    char *key = (char *)dup_bytes(data, n);
    memset(out, 0x5A, sizeof out);
    CHECK(cadre_ws_accept_key((cadre_slice){ key, n }, out) == 0);
    for (size_t i = 0; i < 27; i++)
        CHECK(out[i] != '\0' && strchr(b64, out[i]) != NULL);
    /* 160 bits in 27 characters of 6: the last of them carries 4, its low 2 bits zero */
    CHECK((strchr(b64, out[26]) - b64) % 4 == 0);
    CHECK(out[27] == '=' && out[28] == '\0');
    char again[29];
    CHECK(cadre_ws_accept_key((cadre_slice){ key, n }, again) == 0 && memcmp(out, again, 29) == 0);
    free(key);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_accept(data, size);

    uint64_t seed = 0xCBF29CE484222325ULL; /* FNV-1a of the input seeds the splits */
    for (size_t i = 0; i < size; i++)
        seed = (seed ^ data[i]) * 0x100000001B3ULL;

    uint8_t *msg = NULL; /* a fragmented text message being reassembled */
    size_t msg_len = 0;
    int msg_type = 0;
    size_t checked = 0; /* of the text message: found valid so far (check_fragment_text) */
    size_t pos = 0;
    /* bounded: each turn takes a whole frame (2 bytes at least) or ends */
    while (pos < size) {
        const uint8_t *b = data + pos;
        size_t n = size - pos;

        cadre_ws_frame f;
        int rc = parse(b, n, true, &f);
        check_header(b, n, true, rc, &f);

        /* the same bytes as a server's frame, on an exact-size copy */
        uint8_t *copy = dup_bytes(b, n);
        cadre_ws_frame g;
        int rs = parse(copy, n, false, &g);
        check_header(copy, n, false, rs, &g);
        CHECK(!(rc > 0 && rs > 0)); /* masked or not, never both */
        if (rs > 0 && g.len <= n - (size_t)rs)
            free(check_unmask(copy + rs, (size_t)g.len, g.mask, &seed));
        free(copy);

        if (rc <= 0 || f.len > n - (size_t)rc)
            break; /* refused, or cut short: the server would close, or wait */
        size_t plen = (size_t)f.len;
        uint8_t *u = check_unmask(b + rc, plen, f.mask, &seed);
        bool stop = false;
        switch (f.opcode) {
        case CADRE_WS_CLOSE:
            check_close(u, plen);
            stop = true; /* the server reads no further */
            break;
        case CADRE_WS_TEXT:
        case CADRE_WS_BINARY:
            if (f.opcode == CADRE_WS_TEXT)
                check_text(u, plen);
            if (msg_type) {
                stop = true; /* a new message inside a fragmented one */
            } else if (!f.fin) {
                msg_type = f.opcode;
                msg = realloc(msg, size);
                CHECK(msg != NULL);
                memcpy(msg, u, plen);
                msg_len = plen;
                checked = 0;
                if (f.opcode == CADRE_WS_TEXT && !check_fragment_text(msg, msg_len, &checked, false))
                    stop = true; /* the server fails it with 1007 at this fragment */
            }
            break;
        case CADRE_WS_CONTINUATION:
            if (!msg_type) {
                stop = true; /* a continuation without a message */
                break;
            }
            memcpy(msg + msg_len, u, plen); /* the message fits in the input */
            msg_len += plen;
            if (msg_type == CADRE_WS_TEXT &&
                !check_fragment_text(msg, msg_len, &checked, f.fin)) {
                stop = true; /* 1007 at this fragment */
                break;
            }
            if (f.fin) {
                if (msg_type == CADRE_WS_TEXT)
                    check_text(msg, msg_len);
                msg_type = 0;
                msg_len = 0;
            }
            break;
        default: /* ping, pong */
            break;
        }
        free(u);
        if (stop)
            break;
        pos += (size_t)rc + plen;
    }
    free(msg);
    return 0;
}
