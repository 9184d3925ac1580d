/*
 * Unit tests for WebSockets' permessage-deflate (RFC 7692) pieces in src/http/websocket.c:
 * the Sec-WebSocket-Extensions offer parser (cadre__ws_deflate_offer), the bounded inflater
 * (cadre__ws_inflate) and the frame parser's RSV1 rules (cadre_ws_parse_frame's flags).
 *
 * The offer table: every row is its own cmocka test case. The inflater's input is made here
 * with zlib (raw deflate, a sync flush, its 00 00 FF FF taken off as section 7.2.1 says).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "http/http_internal.h"
#include <cadre/websocket.h>

typedef struct orow {
    const char *name;
    const char *value;
    int bits;          /* what cadre__ws_deflate_offer returns: 0 declined, else 9..15 */
    bool bits_offered; /* the answer must name server_max_window_bits */
} orow;

static const orow rows[] = {
    { "plain offer", "permessage-deflate", 15, false },
    { "what Chromium sends", "permessage-deflate; client_max_window_bits", 15, false },
    { "what python-websockets sends", "permessage-deflate; server_max_window_bits=12; "
      "client_max_window_bits=12", 12, true },
    { "all four parameters", "permessage-deflate; server_no_context_takeover; "
      "client_no_context_takeover; server_max_window_bits=15; client_max_window_bits=8", 15, true },
    { "server_max_window_bits=9", "permessage-deflate;server_max_window_bits=9", 9, true },
    { "a quoted value", "permessage-deflate; server_max_window_bits=\"10\"", 10, true },
    { "a quoted value with a quoted pair", "permessage-deflate; server_max_window_bits=\"1\\1\"",
      11, true },
    { "spaces and tabs around separators", " permessage-deflate \t;\t server_max_window_bits = 11 ",
      11, true },
    { "empty list elements", ", ,permessage-deflate,,", 15, false },
    { "another extension first", "x-webkit-deflate-frame, permessage-deflate", 15, false },
    { "another extension with parameters first",
      "foo; a=1; b=\"x y\"; c, permessage-deflate; client_no_context_takeover", 15, false },
    { "the first acceptable offer is taken",
      "permessage-deflate; server_max_window_bits=10, permessage-deflate", 10, true },
    { "a declined offer, then one taken",
      "permessage-deflate; server_max_window_bits=8, permessage-deflate; client_max_window_bits",
      15, false },
    { "unknown parameter declines", "permessage-deflate; foo", 0, false },
    { "unknown parameter, then a fallback",
      "permessage-deflate; foo=1, permessage-deflate; server_max_window_bits=13", 13, true },
    { "duplicate parameter declines",
      "permessage-deflate; client_no_context_takeover; client_no_context_takeover", 0, false },
    { "duplicate window bits declines",
      "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10", 0, false },
    { "server_max_window_bits=8: zlib cannot", "permessage-deflate; server_max_window_bits=8", 0,
      false },
    { "server_max_window_bits=16", "permessage-deflate; server_max_window_bits=16", 0, false },
    { "server_max_window_bits=7", "permessage-deflate; server_max_window_bits=7", 0, false },
    { "a leading zero", "permessage-deflate; server_max_window_bits=09", 0, false },
    { "server_max_window_bits without a value", "permessage-deflate; server_max_window_bits", 0,
      false },
    { "server_max_window_bits empty quoted", "permessage-deflate; server_max_window_bits=\"\"", 0,
      false },
    { "client_max_window_bits=8 is fine", "permessage-deflate; client_max_window_bits=8", 15,
      false },
    { "client_max_window_bits=16", "permessage-deflate; client_max_window_bits=16", 0, false },
    { "a value on client_no_context_takeover", "permessage-deflate; client_no_context_takeover=1",
      0, false },
    { "a value on server_no_context_takeover",
      "permessage-deflate; server_no_context_takeover=\"\"", 0, false },
    { "a quoted value that is not a token", "permessage-deflate; server_max_window_bits=\"1 0\"", 0,
      false },
    { "names are case-sensitive", "PerMessage-Deflate", 0, false },
    { "parameter names are case-sensitive", "permessage-deflate; Server_Max_Window_Bits=10", 0,
      false },
    { "not offered", "x-webkit-deflate-frame", 0, false },
    { "empty", "", 0, false },
    { "only commas", ",,, ,", 0, false },
    { "grammar: a parameter without a name", "permessage-deflate; =3", 0, false },
    { "grammar: an unterminated quote", "permessage-deflate; server_max_window_bits=\"10", 0,
      false },
    { "grammar: a quoted pair at the end", "permessage-deflate; client_max_window_bits=\"\\", 0,
      false },
    { "grammar: a control character in quotes",
      "permessage-deflate; client_max_window_bits=\"\x01\"", 0, false },
    { "grammar: no semicolon", "permessage-deflate server_max_window_bits=10", 0, false },
    { "grammar: a broken offer before a good one", "permessage-deflate; =, permessage-deflate", 0,
      false },
    { "grammar: a value without a name", "=permessage-deflate", 0, false },
    { "grammar: a good offer, then a broken one", "permessage-deflate, permessage-deflate; =", 0,
      false },
    { "grammar: a good offer, then a stray character", "permessage-deflate, @", 0, false },
};

#define NROWS (sizeof rows / sizeof rows[0])

static void test_offer(void **state)
{
    const orow *r = *state;
    bool offered = !r->bits_offered; /* set to the opposite: the call must set it */
    int bits = cadre__ws_deflate_offer((cadre_slice){ r->value, strlen(r->value) }, &offered);
    if (bits != r->bits)
        fail_msg("\"%s\": %d, expected %d", r->value, bits, r->bits);
    if (bits && offered != r->bits_offered)
        fail_msg("\"%s\": bits_offered %d, expected %d", r->value, offered, r->bits_offered);
}

/* Only the bytes given are read: a value cut short before its end is parsed as it stands. */
static void test_offer_respects_length(void **state)
{
    const char *v = "permessage-deflate; server_max_window_bits=10";
    bool offered;
    assert_int_equal(cadre__ws_deflate_offer((cadre_slice){ v, 18 }, &offered), 15);
    assert_false(offered);
    /* "server_max_window_bits=1": 1 is no window size */
    assert_int_equal(cadre__ws_deflate_offer((cadre_slice){ v, strlen(v) - 1 }, &offered), 0);
    assert_int_equal(cadre__ws_deflate_offer((cadre_slice){ v, 17 }, &offered), 0);
}

/* ---------------------------------------------------------------------------------------------
 * Inflating
 * ------------------------------------------------------------------------------------------- */

/* data compressed as a permessage-deflate sender does (raw, sync flush, tail taken off); final:
 * end with a final block instead (Z_FINISH; nothing to take off). The result is malloc'd. */
static uint8_t *pack(const void *data, size_t len, int bits, bool final, size_t *out_len)
{
    z_stream s = { 0 };
    assert_int_equal(deflateInit2(&s, 6, Z_DEFLATED, -bits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&s, len) + 16;
    uint8_t *out = malloc(cap);
    assert_non_null(out);
    s.next_in = (Bytef *)(uintptr_t)data;
    s.avail_in = (uInt)len;
    s.next_out = out;
    s.avail_out = (uInt)cap;
    assert_int_equal(deflate(&s, final ? Z_FINISH : Z_SYNC_FLUSH), final ? Z_STREAM_END : Z_OK);
    size_t n = cap - s.avail_out;
    deflateEnd(&s);
    if (!final) {
        assert_true(n >= 4);
        assert_memory_equal(out + n - 4, "\0\0\xff\xff", 4);
        n -= 4;
    }
    *out_len = n;
    return out;
}

typedef struct inflater {
    z_stream z;
    cadre_buf out;
} inflater;

static int inflater_setup(void **state)
{
    inflater *f = calloc(1, sizeof *f);
    if (!f || inflateInit2(&f->z, -15) != Z_OK)
        return -1;
    cadre_buf_init(&f->out, (size_t)1 << 30);
    *state = f;
    return 0;
}

static int inflater_teardown(void **state)
{
    inflater *f = *state;
    inflateEnd(&f->z);
    cadre_buf_free(&f->out);
    free(f);
    return 0;
}

static char *text_of(size_t n, unsigned seed)
{
    static const char *const words[] = { "stock", "product", "\"id\": ", "42, ", "warehouse",
                                         "{\"name\": \"", "\"}, ", "é", "✓" };
    char *t = malloc(n + 8);
    assert_non_null(t);
    size_t len = 0;
    while (len < n) {
        seed = seed * 1103515245 + 12345;
        const char *w = words[(seed >> 16) % (sizeof words / sizeof words[0])];
        size_t wl = strlen(w);
        memcpy(t + len, w, wl);
        len += wl;
    }
    return t; /* n bytes are used: the last word may be cut (bytes, not text, here) */
}

/* Round trips of several sizes, each inflated by a stream used before (reset every time). */
static void test_inflate_round_trip(void **state)
{
    inflater *f = *state;
    static const size_t sizes[] = { 0, 1, 255, 256, 1000, 65535, 65536, 65537, 1 << 20, 3 << 20 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        for (int final = 0; final < 2; final++) {
            size_t n = sizes[i], zl;
            char *t = text_of(n, (unsigned)i);
            uint8_t *z = pack(t, n, 15, final, &zl);
            assert_int_equal(cadre__ws_inflate(&f->z, z, zl, &f->out, n), 0);
            assert_int_equal(f->out.len, n);
            if (n)
                assert_memory_equal(f->out.data, t, n);
            free(z);
            free(t);
        }
    }
}

/* Random bytes (stored blocks) and a 9-bit window: inflated by the 15-bit inflater. */
static void test_inflate_incompressible_and_small_window(void **state)
{
    inflater *f = *state;
    size_t n = 200000, zl;
    uint8_t *data = malloc(n);
    assert_non_null(data);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++)
        x = x * 1664525u + 1013904223u, data[i] = (uint8_t)(x >> 24);
    uint8_t *z = pack(data, n, 9, false, &zl);
    assert_true(zl > n); /* grows a little */
    assert_int_equal(cadre__ws_inflate(&f->z, z, zl, &f->out, n), 0);
    assert_int_equal(f->out.len, n);
    assert_memory_equal(f->out.data, data, n);
    free(z);
    free(data);
}

/* The limit: exactly max is fine; one byte more is CADRE_ETOOBIG whatever the buffer's size,
 * and a bomb (a few hundred bytes inflating to 100 MB) stops at the limit. */
static void test_inflate_limit(void **state)
{
    inflater *f = *state;
    size_t zl;
    char *t = text_of(5000, 7);
    uint8_t *z = pack(t, 5000, 15, false, &zl);
    assert_int_equal(cadre__ws_inflate(&f->z, z, zl, &f->out, 5000), 0);
    assert_int_equal(f->out.len, 5000);
    assert_int_equal(cadre__ws_inflate(&f->z, z, zl, &f->out, 4999), CADRE_ETOOBIG);
    assert_true(f->out.len <= 4999);
    assert_int_equal(cadre__ws_inflate(&f->z, z, zl, &f->out, 0), CADRE_ETOOBIG);
    free(z);
    free(t);

    size_t big = 100u << 20;
    char *zeros = calloc(1, big);
    assert_non_null(zeros);
    z = pack(zeros, big, 15, false, &zl);
    free(zeros);
    assert_true(zl < big / 500);
    assert_int_equal(cadre__ws_inflate(&f->z, z, zl, &f->out, 1 << 20), CADRE_ETOOBIG);
    assert_true(f->out.len <= 1 << 20);
    assert_true(f->out.cap <= 1 << 20); /* never allocated past the limit */
    free(z);
}

/* Not deflate data, and bytes after a final block: CADRE_EPARSE; the stream is fine after. */
static void test_inflate_bad_data(void **state)
{
    inflater *f = *state;
    /* BTYPE 11 is reserved */
    static const uint8_t reserved[] = { 0xff, 0xff, 0xff };
    assert_int_equal(cadre__ws_inflate(&f->z, reserved, sizeof reserved, &f->out, 1000),
                     CADRE_EPARSE);
    /* a stored block whose LEN and NLEN disagree */
    static const uint8_t stored[] = { 0x00, 0x05, 0x00, 0x00, 0x00, 'h', 'e', 'l', 'l', 'o' };
    assert_int_equal(cadre__ws_inflate(&f->z, stored, sizeof stored, &f->out, 1000),
                     CADRE_EPARSE);
    /* a stored block cut short: with the tail added it would be whole, the tail its data */
    static const uint8_t short_block[] = { 0x00, 0x05, 0x00, 0xfa, 0xff, 'H' };
    assert_int_equal(cadre__ws_inflate(&f->z, short_block, sizeof short_block, &f->out, 1000),
                     CADRE_EPARSE);
    /* a Huffman block cut short */
    size_t hl;
    uint8_t *h = pack("hello hello hello hello hello", 29, 15, false, &hl);
    assert_int_equal(cadre__ws_inflate(&f->z, h, hl - 2, &f->out, 1000), CADRE_EPARSE);
    free(h);
    /* a message, then more after its final block */
    size_t zl;
    uint8_t *z = pack("hello hello hello", 17, 15, true, &zl);
    uint8_t *more = malloc(zl + 3);
    assert_non_null(more);
    memcpy(more, z, zl);
    memcpy(more + zl, "abc", 3);
    assert_int_equal(cadre__ws_inflate(&f->z, more, zl + 3, &f->out, 1000), CADRE_EPARSE);
    /* the same stream inflates the next message */
    assert_int_equal(cadre__ws_inflate(&f->z, z, zl, &f->out, 1000), 0);
    assert_int_equal(f->out.len, 17);
    assert_memory_equal(f->out.data, "hello hello hello", 17);
    free(more);
    free(z);
}

/* An empty payload (section 7.2.3.6: an empty message may be sent as no bytes at all). */
static void test_inflate_empty(void **state)
{
    inflater *f = *state;
    assert_int_equal(cadre__ws_inflate(&f->z, (const uint8_t *)"", 0, &f->out, 10), 0);
    assert_int_equal(f->out.len, 0);
    static const uint8_t one_empty_block[] = { 0x00 }; /* section 7.2.3.6's other form */
    assert_int_equal(cadre__ws_inflate(&f->z, one_empty_block, 1, &f->out, 10), 0);
    assert_int_equal(f->out.len, 0);
}

/* Section 7.2.3.1's example: "Hello" compressed, as the RFC prints it. */
static void test_inflate_rfc_example(void **state)
{
    inflater *f = *state;
    static const uint8_t hello[] = { 0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00 };
    assert_int_equal(cadre__ws_inflate(&f->z, hello, sizeof hello, &f->out, 5), 0);
    assert_int_equal(f->out.len, 5);
    assert_memory_equal(f->out.data, "Hello", 5);
    /* 7.2.3.3: the same with no compression (a stored block) */
    static const uint8_t stored[] = { 0x00, 0x05, 0x00, 0xfa, 0xff, 'H', 'e', 'l', 'l', 'o', 0x00 };
    assert_int_equal(cadre__ws_inflate(&f->z, stored, sizeof stored, &f->out, 5), 0);
    assert_memory_equal(f->out.data, "Hello", 5);
    /* 7.2.3.4: a final block, and the 00 its empty stored block leaves */
    static const uint8_t final[] = { 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00 };
    assert_int_equal(cadre__ws_inflate(&f->z, final, sizeof final, &f->out, 5), 0);
    assert_int_equal(f->out.len, 5);
    assert_memory_equal(f->out.data, "Hello", 5);
    assert_int_equal(cadre__ws_inflate(&f->z, final, sizeof final - 1, &f->out, 5), 0);
    assert_memory_equal(f->out.data, "Hello", 5);
    /* two bytes after it, or one that is not 00: not what a sender leaves */
    static const uint8_t final2[] = { 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00 };
    assert_int_equal(cadre__ws_inflate(&f->z, final2, sizeof final2, &f->out, 5), CADRE_EPARSE);
    static const uint8_t final3[] = { 0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x01 };
    assert_int_equal(cadre__ws_inflate(&f->z, final3, sizeof final3, &f->out, 5), CADRE_EPARSE);
}

/* ---------------------------------------------------------------------------------------------
 * RSV1 in the frame parser
 * ------------------------------------------------------------------------------------------- */

static int parse(uint8_t b0, unsigned flags, cadre_ws_frame *f)
{
    uint8_t frame[6] = { b0, 0x80, 1, 2, 3, 4 }; /* masked, empty */
    int code = 0;
    const char *why = NULL;
    int rc = cadre_ws_parse_frame(frame, sizeof frame, flags, f, &code, &why);
    if (rc < 0) {
        assert_int_equal(code, CADRE_WS_PROTOCOL_ERROR);
        assert_non_null(why);
    }
    return rc;
}

static void test_frame_rsv1(void **state)
{
    cadre_ws_frame f;
    unsigned both = CADRE_WS_FROM_CLIENT | CADRE_WS_DEFLATE;
    /* negotiated: text and binary may carry RSV1 */
    assert_int_equal(parse(0xC1, both, &f), 6);
    assert_true(f.rsv1);
    assert_int_equal(f.opcode, CADRE_WS_TEXT);
    assert_int_equal(parse(0x42, both, &f), 6); /* not FIN: a compressed message's first frame */
    assert_true(f.rsv1);
    assert_false(f.fin);
    assert_int_equal(parse(0x81, both, &f), 6);
    assert_false(f.rsv1);
    /* never on a continuation or a control frame */
    assert_int_equal(parse(0xC0, both, &f), CADRE_HTTP_ERROR);
    assert_int_equal(parse(0xC9, both, &f), CADRE_HTTP_ERROR);
    assert_int_equal(parse(0xC8, both, &f), CADRE_HTTP_ERROR);
    assert_int_equal(parse(0xCA, both, &f), CADRE_HTTP_ERROR);
    /* RSV2 and RSV3 stay reserved */
    assert_int_equal(parse(0xA1, both, &f), CADRE_HTTP_ERROR);
    assert_int_equal(parse(0x91, both, &f), CADRE_HTTP_ERROR);
    assert_int_equal(parse(0xF1, both, &f), CADRE_HTTP_ERROR);
    /* not negotiated: RSV1 is reserved too (true is CADRE_WS_FROM_CLIENT, as before) */
    assert_int_equal(parse(0xC1, true, &f), CADRE_HTTP_ERROR);
    assert_int_equal(parse(0x81, true, &f), 6);
}

int main(void)
{
    struct CMUnitTest *t = calloc(NROWS, sizeof *t);
    if (!t)
        return 1;
    for (size_t i = 0; i < NROWS; i++)
        t[i] = (struct CMUnitTest){ rows[i].name, test_offer, NULL, NULL, (void *)&rows[i] };
    const struct CMUnitTest inflating[] = {
        cmocka_unit_test(test_offer_respects_length),
        cmocka_unit_test_setup_teardown(test_inflate_round_trip, inflater_setup, inflater_teardown),
        cmocka_unit_test_setup_teardown(test_inflate_incompressible_and_small_window,
                                        inflater_setup, inflater_teardown),
        cmocka_unit_test_setup_teardown(test_inflate_limit, inflater_setup, inflater_teardown),
        cmocka_unit_test_setup_teardown(test_inflate_bad_data, inflater_setup, inflater_teardown),
        cmocka_unit_test_setup_teardown(test_inflate_empty, inflater_setup, inflater_teardown),
        cmocka_unit_test_setup_teardown(test_inflate_rfc_example, inflater_setup,
                                        inflater_teardown),
        cmocka_unit_test(test_frame_rsv1),
    };
    int failed = _cmocka_run_group_tests("deflate_offer", t, NROWS, NULL, NULL);
    failed += cmocka_run_group_tests_name("deflate", inflating, NULL, NULL);
    free(t);
    return failed ? 1 : 0;
}
