/*
 * Unit tests for the HTTP/1.1 request-head parser (cadre_http_parse_head) and the chunked body
 * decoder (cadre_http_chunked_decode).
 *
 * Both are table driven: every row of a table becomes its own cmocka test case, named after the
 * row, so a failure report names the exact row. The expectations come from include/cadre/http.h
 * (the contract) and RFC 9112 / RFC 9110, not from the implementation.
 *
 * Every row is also fed incrementally: all prefixes (fresh calls with prev_len 0, and one growing
 * request with prev_len = the previous length, in steps of 1, 3 and 7 bytes), each prefix in a
 * buffer of exactly its length so that a sanitizer build catches reads past len.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cadre/http.h>

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

enum { R_OK = 1, R_PARTIAL, R_ERROR };
enum { ANY = 0, YES, NO };

/*
 * Allocations made by a test are tracked so that the teardown frees what a failing assertion
 * (which longjmps out of the test) left behind: the tests stay leak-free under LeakSanitizer.
 * Exact sizes, no guard bytes, so that AddressSanitizer sees any read past the end.
 */
#define MAX_LIVE 64
static void *live[MAX_LIVE];

static void *tmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    assert_non_null(p);
    for (size_t i = 0; i < MAX_LIVE; i++)
        if (!live[i]) {
            live[i] = p;
            return p;
        }
    fail_msg("too many live test allocations");
    return NULL;
}

static void *tcalloc(size_t n, size_t size)
{
    void *p = tmalloc(n * size);
    memset(p, 0, n ? n * size : 1);
    return p;
}

static void *trealloc(void *old, size_t n)
{
    void *p = realloc(old, n);
    assert_non_null(p);
    for (size_t i = 0; i < MAX_LIVE; i++)
        if (live[i] == old) {
            live[i] = p;
            return p;
        }
    return p;
}

static void tfree(void *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < MAX_LIVE; i++)
        if (live[i] == p)
            live[i] = NULL;
    free(p);
}

static int free_live(void **state)
{
    for (size_t i = 0; i < MAX_LIVE; i++) {
        free(live[i]);
        live[i] = NULL;
    }
    return 0;
}

static char *xdup(const char *p, size_t n)
{
    char *b = tmalloc(n);
    if (n)
        memcpy(b, p, n);
    return b;
}

/* Renders bytes with C escapes for failure messages (static buffer, one at a time). */
static const char *esc(const char *p, size_t n)
{
    static char out[4][512];
    static int which;
    char *o = out[which++ & 3];
    size_t k = 0;
    if (!p)
        return "(absent)";
    for (size_t i = 0; i < n && k < sizeof(out[0]) - 8; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\r') {
            o[k++] = '\\';
            o[k++] = 'r';
        } else if (c == '\n') {
            o[k++] = '\\';
            o[k++] = 'n';
        } else if (c == '\t') {
            o[k++] = '\\';
            o[k++] = 't';
        } else if (c == '\\' || c == '"') {
            o[k++] = '\\';
            o[k++] = (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            k += (size_t)snprintf(o + k, 5, "\\x%02x", c);
        } else {
            o[k++] = (char)c;
        }
    }
    if (k >= sizeof(out[0]) - 8)
        memcpy(o + k, "...", 4);
    else
        o[k] = 0;
    return o;
}

static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static void check_in_buf(const char *what, cadre_slice s, const char *buf, size_t len)
{
    if (!s.ptr)
        return;
    if (s.ptr < buf || s.ptr > buf + len || s.len > (size_t)(buf + len - s.ptr))
        fail_msg("%s does not point into the input buffer", what);
}

/* want == NULL: not checked. */
static void check_slice(const char *what, cadre_slice got, const char *want)
{
    if (!want)
        return;
    if (!got.ptr)
        fail_msg("%s: absent (ptr NULL), want \"%s\"", what, esc(want, strlen(want)));
    if (got.len != strlen(want) || memcmp(got.ptr, want, got.len) != 0)
        fail_msg("%s: got \"%s\", want \"%s\"", what, esc(got.ptr, got.len), esc(want, strlen(want)));
}

static void check_tri(const char *what, bool got, int want)
{
    if (want == ANY)
        return;
    if (got != (want == YES))
        fail_msg("%s: got %s, want %s", what, got ? "true" : "false", want == YES ? "true" : "false");
}

/* ---------------------------------------------------------------------------------------------
 * The request-head table
 * ------------------------------------------------------------------------------------------- */

typedef struct hdr_exp {
    const char *name;
    const char *value;
} hdr_exp;

typedef struct prow {
    const char *name;
    const char *raw;
    size_t raw_len;
    int expect;            /* R_OK, R_PARTIAL, R_ERROR */
    int status, alt_status; /* R_ERROR: the status (or the alternative, when the RFC allows two) */
    size_t tail;           /* R_OK: bytes after the head (body, next request) */
    size_t max_head, max_target, lim_headers; /* 0: the default limits */
    size_t arr_headers;    /* the caller's array; 0: 128 */
    /* R_OK checks; NULL / 0 / ANY: not checked */
    const char *method, *target, *path, *query, *host;
    bool query_absent, host_absent;
    int version;
    bool check_cl;
    int64_t cl;
    int chunked, keep_alive, expect_continue;
    bool check_nh;
    size_t nh;
    hdr_exp hdr[8]; /* expected headers, in order, from index 0 */
} prow;

#define RAW(s) .raw = (s), .raw_len = sizeof(s) - 1
#define OK .expect = R_OK
#define PARTIAL .expect = R_PARTIAL
#define ERR(st) .expect = R_ERROR, .status = (st)
#define ERR2(a, b) .expect = R_ERROR, .status = (a), .alt_status = (b)
#define CL(x) .check_cl = true, .cl = (x)
#define NH(n) .check_nh = true, .nh = (n)
#define NOQUERY .query_absent = true
#define NOHOST .host_absent = true

#define RL11 "GET / HTTP/1.1\r\n"
#define HOST "Host: a\r\n"
/* A complete HTTP/1.1 request with Host: a and the given extra field lines. */
#define REQ(fields) RL11 HOST fields "\r\n"

#define T16 "/aaaaaaaaaaaaaaa" /* a 16-byte target */
_Static_assert(sizeof(T16) - 1 == 16, "T16");
#define SMALL "GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789\r\n\r\n"
#define A40 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
_Static_assert(sizeof(A40) - 1 == 40, "A40");

#define BROWSER                                                                                    \
    "GET /search?q=cadre+framework&lang=en HTTP/1.1\r\n"                                           \
    "Host: www.example.com:8080\r\n"                                                               \
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"       \
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"                  \
    "Accept-Language: en-US,en;q=0.5\r\n"                                                          \
    "Accept-Encoding: gzip, deflate, br\r\n"                                                       \
    "Cookie: a=1; b=\"two\"\r\n"                                                                   \
    "Connection: keep-alive\r\n"                                                                   \
    "Upgrade-Insecure-Requests: 1\r\n"                                                             \
    "\r\n"

static const prow parse_rows[] = {
    /* --- valid requests ---------------------------------------------------------------------- */
    { "ok: simple GET", RAW("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"), OK, .method = "GET",
      .target = "/", .path = "/", NOQUERY, .host = "example.com", .version = 11, CL(-1),
      .chunked = NO, .keep_alive = YES, .expect_continue = NO, NH(1),
      .hdr = { { "Host", "example.com" } } },
    { "ok: browser-like request", RAW(BROWSER), OK, .method = "GET",
      .target = "/search?q=cadre+framework&lang=en", .path = "/search",
      .query = "q=cadre+framework&lang=en", .host = "www.example.com:8080", .version = 11,
      .keep_alive = YES, NH(8),
      .hdr = { { "Host", "www.example.com:8080" },
               { "User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0" },
               { "Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8" },
               { "Accept-Language", "en-US,en;q=0.5" },
               { "Accept-Encoding", "gzip, deflate, br" },
               { "Cookie", "a=1; b=\"two\"" },
               { "Connection", "keep-alive" },
               { "Upgrade-Insecure-Requests", "1" } } },
    { "ok: HTTP/1.0 without Host, not keep-alive", RAW("GET /x HTTP/1.0\r\n\r\n"), OK,
      .method = "GET", .path = "/x", NOHOST, .version = 10, .keep_alive = NO, NH(0), CL(-1) },
    { "ok: HTTP/1.0 Connection: keep-alive", RAW("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
      OK, .version = 10, .keep_alive = YES, NH(1) },
    { "ok: HTTP/1.0 Connection: Keep-Alive (case-insensitive)",
      RAW("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), OK, .version = 10, .keep_alive = YES },
    { "ok: HTTP/1.0 Connection: keep-alive, close (close wins, RFC 9112 9.3)",
      RAW("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n"), OK, .version = 10,
      .keep_alive = NO },
    { "ok: HTTP/1.1 keep-alive by default", RAW(REQ("")), OK, .version = 11, .keep_alive = YES },
    { "ok: HTTP/1.1 Connection: close", RAW(REQ("Connection: close\r\n")), OK, .keep_alive = NO },
    { "ok: HTTP/1.1 Connection: CLOSE (case-insensitive)", RAW(REQ("Connection: CLOSE\r\n")), OK,
      .keep_alive = NO },
    { "ok: Connection: keep-alive, Upgrade", RAW(REQ("Connection: keep-alive, Upgrade\r\n")), OK,
      .keep_alive = YES, .hdr = { { "Host", "a" }, { "Connection", "keep-alive, Upgrade" } } },
    { "ok: Connection: Upgrade, close", RAW(REQ("Connection: Upgrade, close\r\n")), OK,
      .keep_alive = NO },
    { "ok: Connection: keep-alive,close (list without OWS)",
      RAW(REQ("Connection: keep-alive,close\r\n")), OK, .keep_alive = NO },
    { "ok: Connection: closed is not the close option", RAW(REQ("Connection: closed\r\n")), OK,
      .keep_alive = YES },
    { "ok: two Connection fields, the second says close",
      RAW(REQ("Connection: keep-alive\r\nConnection: close\r\n")), OK, .keep_alive = NO },
    { "ok: value trimmed of SP/HTAB on both sides", RAW(REQ("X-T: \t  hello \t world \t \r\n")), OK,
      NH(2), .hdr = { { "Host", "a" }, { "X-T", "hello \t world" } } },
    { "ok: value without OWS", RAW(REQ("X-T:v\r\n")), OK, .hdr = { { "Host", "a" }, { "X-T", "v" } } },
    { "ok: empty value", RAW(REQ("X-E:\r\n")), OK, NH(2), .hdr = { { "Host", "a" }, { "X-E", "" } } },
    { "ok: whitespace-only value", RAW(REQ("X-E: \t \r\n")), OK,
      .hdr = { { "Host", "a" }, { "X-E", "" } } },
    { "ok: obs-text (0x80-0xFF) in value", RAW(REQ("X-O: caf\xc3\xa9 \x80" "x\xff\r\n")), OK,
      .hdr = { { "Host", "a" }, { "X-O", "caf\xc3\xa9 \x80" "x\xff" } } },
    { "ok: HTAB inside a value", RAW(REQ("X: a\tb\r\n")), OK, .hdr = { { "Host", "a" }, { "X", "a\tb" } } },
    { "ok: colon inside a value", RAW(REQ("X: a:b: c\r\n")), OK,
      .hdr = { { "Host", "a" }, { "X", "a:b: c" } } },
    { "ok: every tchar in a field name", RAW(REQ("!#$%&'*+-.^_`|~09AZaz: v\r\n")), OK,
      .hdr = { { "Host", "a" }, { "!#$%&'*+-.^_`|~09AZaz", "v" } } },
    { "ok: field name case preserved", RAW(REQ("x-MiXeD: v\r\n")), OK,
      .hdr = { { "Host", "a" }, { "x-MiXeD", "v" } } },
    { "ok: lower-case host field", RAW("GET / HTTP/1.1\r\nhost: h\r\n\r\n"), OK, .host = "h" },
    { "ok: Host with port, trimmed", RAW("GET / HTTP/1.1\r\nHost:  example.com:8080 \r\n\r\n"), OK,
      .host = "example.com:8080" },
    { "ok: empty Host value (RFC 9110 7.2)", RAW("GET / HTTP/1.1\r\nHost:\r\n\r\n"), OK, .host = "" },
    { "ok: absolute-form", RAW("GET http://example.com/a?b=1 HTTP/1.1\r\nHost: example.com\r\n\r\n"),
      OK, .target = "http://example.com/a?b=1", .path = "/a", .query = "b=1", .host = "example.com",
      .version = 11 },
    { "ok: absolute-form authority wins over Host (RFC 9112 3.2.2)",
      RAW("GET http://example.com/a HTTP/1.1\r\nHost: other.example\r\n\r\n"), OK, .path = "/a",
      NOQUERY, .host = "example.com" },
    { "ok: absolute-form https with port",
      RAW("GET https://example.com:8443/p/q HTTP/1.1\r\nHost: example.com:8443\r\n\r\n"), OK,
      .path = "/p/q", NOQUERY, .host = "example.com:8443" },
    { "ok: absolute-form in HTTP/1.0 without Host", RAW("GET http://example.com/ HTTP/1.0\r\n\r\n"),
      OK, .path = "/", .host = "example.com", .version = 10 },
    { "ok: absolute-form without a path has path \"/\" (RFC 9110 4.2.3)",
      RAW("GET http://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n"), OK, .path = "/", NOQUERY,
      .host = "example.com" },
    { "ok: absolute-form with a query but no path",
      RAW("GET http://example.com?x=1 HTTP/1.1\r\nHost: example.com\r\n\r\n"), OK, .path = "/",
      .query = "x=1", .host = "example.com" },
    { "ok: absolute-form with an IPv6 literal", RAW("GET http://[::1]:8080/x HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"),
      OK, .path = "/x", .host = "[::1]:8080" },
    { "ok: IPv6 literal Host", RAW("GET / HTTP/1.1\r\nHost: [2001:db8::1]\r\n\r\n"), OK,
      .host = "[2001:db8::1]" },
    { "ok: OPTIONS *", RAW("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), OK, .method = "OPTIONS",
      .target = "*", .path = "*", NOQUERY },
    { "ok: query present", RAW("GET /p?x=1&y HTTP/1.1\r\nHost: a\r\n\r\n"), OK, .target = "/p?x=1&y",
      .path = "/p", .query = "x=1&y" },
    { "ok: empty query is present (target ends in '?')", RAW("GET /p? HTTP/1.1\r\nHost: a\r\n\r\n"),
      OK, .path = "/p", .query = "" },
    { "ok: query absent", RAW("GET /p HTTP/1.1\r\nHost: a\r\n\r\n"), OK, .path = "/p", NOQUERY },
    { "ok: query containing '?' and '/'", RAW("GET /p?a?b/c HTTP/1.1\r\nHost: a\r\n\r\n"), OK,
      .path = "/p", .query = "a?b/c" },
    { "ok: percent-encoding kept in path and query",
      RAW("GET /a%2Fb%20c?q=%41%7e HTTP/1.1\r\nHost: a\r\n\r\n"), OK, .path = "/a%2Fb%20c",
      .query = "q=%41%7e" },
    { "ok: every RFC 3986 pchar in the path", RAW("GET /a-._~!$&'()*+,;=:@/b HTTP/1.1\r\nHost: a\r\n\r\n"),
      OK, .path = "/a-._~!$&'()*+,;=:@/b", NOQUERY },
    { "ok: extension method token", RAW("M-SEARCH / HTTP/1.1\r\nHost: a\r\n\r\n"), OK,
      .method = "M-SEARCH" },
    { "ok: POST with Content-Length and body", RAW(RL11 HOST "Content-Length: 5\r\n\r\nhello"), OK,
      .tail = 5, CL(5), .chunked = NO },
    { "ok: Content-Length: 0", RAW(REQ("Content-Length: 0\r\n")), OK, CL(0) },
    { "ok: Content-Length with leading zeros (1*DIGIT)", RAW(REQ("Content-Length: 007\r\n")), OK, CL(7) },
    { "ok: Content-Length with trailing OWS", RAW(REQ("Content-Length: 12 \t\r\n")), OK, CL(12) },
    { "ok: lower-case content-length", RAW(REQ("content-length: 3\r\n")), OK, CL(3) },
    { "ok: Content-Length INT64_MAX (413 is the caller's)",
      RAW(REQ("Content-Length: 9223372036854775807\r\n")), OK, CL(INT64_MAX) },
    { "ok: Transfer-Encoding: chunked", RAW(REQ("Transfer-Encoding: chunked\r\n")), OK, CL(-1),
      .chunked = YES },
    { "ok: Transfer-Encoding: Chunked (case-insensitive)", RAW(REQ("Transfer-Encoding: Chunked\r\n")),
      OK, .chunked = YES },
    { "ok: transfer-encoding: CHUNKED, trailing OWS",
      RAW(REQ("transfer-encoding: CHUNKED  \r\n")), OK, .chunked = YES },
    { "ok: Expect: 100-continue", RAW(REQ("Expect: 100-continue\r\n")), OK, .expect_continue = YES },
    { "ok: Expect: 100-Continue (case-insensitive)", RAW(REQ("Expect: 100-Continue\r\n")), OK,
      .expect_continue = YES },
    { "ok: Expect ignored in HTTP/1.0 (RFC 9110 10.1.1)",
      RAW("GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n"), OK, .version = 10,
      .expect_continue = NO },
    { "ok: HTTP/1.2 is treated as 1.1", RAW("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), OK, .version = 11,
      .keep_alive = YES },
    { "ok: HTTP/1.9 is treated as 1.1", RAW("GET / HTTP/1.9\r\nHost: a\r\n\r\n"), OK, .version = 11 },
    { "ok: one leading empty line is ignored (RFC 9112 2.2)",
      RAW("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), OK, .method = "GET", .path = "/", .host = "a",
      .version = 11 },
    { "ok: pipelined: only the first head is consumed",
      RAW(REQ("") "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"), OK,
      .tail = sizeof("GET /2 HTTP/1.1\r\nHost: a\r\n\r\n") - 1, .path = "/" },
    { "ok: target exactly max_target", RAW("GET " T16 " HTTP/1.1\r\nHost: a\r\n\r\n"), OK,
      .max_target = 16, .target = T16 },
    { "ok: head exactly max_head", RAW(SMALL), OK, .max_head = sizeof(SMALL) - 1 },
    { "ok: fields exactly lim.max_headers", RAW(REQ("A: 1\r\nB: 2\r\n")), OK, .lim_headers = 3, NH(3),
      .hdr = { { "Host", "a" }, { "A", "1" }, { "B", "2" } } },
    { "ok: fields exactly fill the caller's array", RAW(REQ("A: 1\r\nB: 2\r\n")), OK,
      .arr_headers = 3, NH(3) },

    /* --- framing refusals ------------------------------------------------------------------- */
    { "400: Content-Length and Transfer-Encoding",
      RAW(REQ("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n")), ERR(400) },
    { "400: Transfer-Encoding and Content-Length",
      RAW(REQ("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n")), ERR(400) },
    { "400: duplicate identical Content-Length", RAW(REQ("Content-Length: 5\r\nContent-Length: 5\r\n")),
      ERR(400) },
    { "400: duplicate different Content-Length",
      RAW(REQ("Content-Length: 5\r\nContent-Length: 6\r\n")), ERR(400) },
    { "400: Content-Length: 5, 5", RAW(REQ("Content-Length: 5, 5\r\n")), ERR(400) },
    { "400: Content-Length: 5,5", RAW(REQ("Content-Length: 5,5\r\n")), ERR(400) },
    { "400: Content-Length: +5", RAW(REQ("Content-Length: +5\r\n")), ERR(400) },
    { "400: Content-Length: 0x5", RAW(REQ("Content-Length: 0x5\r\n")), ERR(400) },
    { "400: Content-Length: 5 5", RAW(REQ("Content-Length: 5 5\r\n")), ERR(400) },
    { "400: Content-Length: -1", RAW(REQ("Content-Length: -1\r\n")), ERR(400) },
    { "400: Content-Length empty", RAW(REQ("Content-Length:\r\n")), ERR(400) },
    { "400: Content-Length blank", RAW(REQ("Content-Length:  \r\n")), ERR(400) },
    { "400: Content-Length 5a", RAW(REQ("Content-Length: 5a\r\n")), ERR(400) },
    { "400: Content-Length 1.0", RAW(REQ("Content-Length: 1.0\r\n")), ERR(400) },
    { "400: Content-Length 99999999999999999999999",
      RAW(REQ("Content-Length: 99999999999999999999999\r\n")), ERR(400) },
    { "400: Content-Length INT64_MAX+1", RAW(REQ("Content-Length: 9223372036854775808\r\n")),
      ERR(400) },
    { "501: Transfer-Encoding: identity", RAW(REQ("Transfer-Encoding: identity\r\n")), ERR(501) },
    { "501: Transfer-Encoding: gzip", RAW(REQ("Transfer-Encoding: gzip\r\n")), ERR(501) },
    { "501: Transfer-Encoding: gzip, chunked", RAW(REQ("Transfer-Encoding: gzip, chunked\r\n")),
      ERR(501) },
    { "501/400: Transfer-Encoding: chunked, gzip", RAW(REQ("Transfer-Encoding: chunked, gzip\r\n")),
      ERR2(501, 400) },
    { "400: Transfer-Encoding: chunked, chunked", RAW(REQ("Transfer-Encoding: chunked, chunked\r\n")),
      ERR(400) },
    { "400: two Transfer-Encoding: chunked fields",
      RAW(REQ("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")), ERR(400) },
    { "400/501: empty Transfer-Encoding", RAW(REQ("Transfer-Encoding:\r\n")), ERR2(400, 501) },
    { "400: Transfer-Encoding in HTTP/1.0",
      RAW("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), ERR(400) },

    /* --- field syntax ----------------------------------------------------------------------- */
    { "400: obs-fold (SP)", RAW(RL11 HOST "X: a\r\n b\r\n\r\n"), ERR(400) },
    { "400: obs-fold (HTAB)", RAW(RL11 HOST "X: a\r\n\tb\r\n\r\n"), ERR(400) },
    { "400: whitespace before the first field line", RAW(RL11 " Host: a\r\n\r\n"), ERR(400) },
    { "400: SP between name and colon", RAW(RL11 "Host : a\r\n\r\n"), ERR(400) },
    { "400: HTAB between name and colon", RAW(RL11 "Host\t: a\r\n\r\n"), ERR(400) },
    { "400: field line without colon", RAW(REQ("NoColon\r\n")), ERR(400) },
    { "400: empty field name", RAW(REQ(":x\r\n")), ERR(400) },
    { "400: SP in field name", RAW(REQ("X Y: z\r\n")), ERR(400) },
    { "400: '@' in field name", RAW(REQ("X@Y: z\r\n")), ERR(400) },
    { "400: '(' in field name", RAW(REQ("X(Y: z\r\n")), ERR(400) },
    { "400: non-ASCII in field name", RAW(REQ("X\xc3\xa9: z\r\n")), ERR(400) },
    { "400: bare CR in the request line", RAW("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: bare CR ends the request line", RAW("GET / HTTP/1.1\rHost: a\r\n\r\n"), ERR(400) },
    { "400: bare CR in a value", RAW(REQ("X: a\rb\r\n")), ERR(400) },
    { "400: bare CR before the final CRLF", RAW(RL11 HOST "\r\r\n"), ERR(400) },
    { "400: bare LF line terminators", RAW("GET / HTTP/1.1\nHost: a\n\n"), ERR(400) },
    { "400: bare LF ends a field line", RAW(RL11 "Host: a\n\r\n"), ERR(400) },
    { "400: bare LF as the final empty line", RAW(RL11 HOST "\n"), ERR(400) },
    { "400: bare LF ends the request line", RAW("GET / HTTP/1.1\nHost: a\r\n\r\n"), ERR(400) },
    { "400: LF inside a value", RAW(REQ("X: a\nb\r\n")), ERR(400) },
    { "400: NUL in the target", RAW("GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: NUL in a value", RAW(REQ("X: a\0b\r\n")), ERR(400) },
    { "400: NUL in a name", RAW(REQ("X\0Y: a\r\n")), ERR(400) },
    { "400: 0x01 in a value", RAW(REQ("X: a\x01" "b\r\n")), ERR(400) },
    { "400: DEL (0x7F) in a value", RAW(REQ("X: a\x7f" "b\r\n")), ERR(400) },
    { "400: ESC in a value", RAW(REQ("X: \x1b[31m\r\n")), ERR(400) },
    { "400: missing Host in HTTP/1.1", RAW("GET / HTTP/1.1\r\n\r\n"), ERR(400) },
    { "400: two Host fields", RAW(REQ("Host: a\r\n")), ERR(400) },
    { "400: two Host fields, different case", RAW(REQ("host: b\r\n")), ERR(400) },
    { "400: absolute-form without Host in HTTP/1.1 (RFC 9112 3.2)",
      RAW("GET http://example.com/ HTTP/1.1\r\n\r\n"), ERR(400) },
    { "400: invalid Host value (RFC 9112 3.2)", RAW(RL11 "Host: exa mple.com\r\n\r\n"), ERR(400) },

    /* --- request line ------------------------------------------------------------------------ */
    { "505: HTTP/2.0", RAW("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), ERR(505) },
    { "505: HTTP/0.9", RAW("GET / HTTP/0.9\r\nHost: a\r\n\r\n"), ERR(505) },
    { "505: HTTP/3.0", RAW("GET / HTTP/3.0\r\nHost: a\r\n\r\n"), ERR(505) },
    { "400: HTTP/1", RAW("GET / HTTP/1\r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: http/1.1 (lower case)", RAW("GET / http/1.1\r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: HTTP/1.1x", RAW("GET / HTTP/1.1x\r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: HTTP/11.1", RAW("GET / HTTP/11.1\r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: HTTP/1.10", RAW("GET / HTTP/1.10\r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: HTTP/1. (missing minor)", RAW("GET / HTTP/1.\r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: HTTPS/1.1", RAW("GET / HTTPS/1.1\r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: SP after the version", RAW("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: no version", RAW("GET /\r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: no target", RAW("GET HTTP/1.1\r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: two SP between method and target", RAW("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: two SP between target and version", RAW("GET /  HTTP/1.1\r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: HTAB as separator", RAW("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: empty method", RAW(" / HTTP/1.1\r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: non-token method", RAW("G(ET / HTTP/1.1\r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: SP inside the target", RAW("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: raw non-ASCII in the target", RAW("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: control byte in the target", RAW("GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: %2 truncated escape", RAW("GET /a%2 HTTP/1.1\r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: %zz", RAW("GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: %g0", RAW("GET /a%g0 HTTP/1.1\r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: trailing %", RAW("GET /a% HTTP/1.1\r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: bad escape in the query", RAW("GET /a?x=%zz HTTP/1.1\r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: target not starting with '/'", RAW("GET foo HTTP/1.1\r\nHost: a\r\n\r\n"), ERR(400) },
    { "400: '*' target with GET", RAW("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), ERR(400) },
    { "417: unknown expectation", RAW(REQ("Expect: something-else\r\n")), ERR(417) },

    /* --- limits ----------------------------------------------------------------------------- */
    { "414: target over max_target", RAW("GET " T16 "a HTTP/1.1\r\nHost: a\r\n\r\n"), ERR(414),
      .max_target = 16 },
    { "414: partial request line already over max_target", RAW("GET " T16 "aaaaaaaaaaaaaaaa"),
      ERR(414), .max_target = 16 },
    { "414: partial target one byte over max_target", RAW("GET " T16 "a"), ERR(414), .max_target = 16 },
    { "partial: partial target at max_target", RAW("GET " T16), PARTIAL, .max_target = 16 },
    { "431: head one byte over max_head", RAW(SMALL), ERR(431), .max_head = sizeof(SMALL) - 2 },
    { "431: partial head already over max_head", RAW(RL11 HOST "X: " A40), ERR(431), .max_head = 32 },
    { "431: more fields than lim.max_headers", RAW(REQ("A: 1\r\nB: 2\r\nC: 3\r\n")), ERR(431),
      .lim_headers = 3 },
    { "431: more fields than the caller's array", RAW(REQ("A: 1\r\nB: 2\r\nC: 3\r\n")), ERR(431),
      .arr_headers = 3 },

    /* --- incomplete ------------------------------------------------------------------------- */
    { "partial: empty input", RAW(""), PARTIAL },
    { "partial: lone CR", RAW("\r"), PARTIAL },
    { "partial: request line only", RAW(RL11), PARTIAL },
    { "partial: no final empty line", RAW(RL11 HOST), PARTIAL },
    { "partial: final CR without LF", RAW(RL11 HOST "\r"), PARTIAL },
};

#define NPARSE (sizeof(parse_rows) / sizeof(parse_rows[0]))

static cadre_http_limits row_limits(const prow *r)
{
    cadre_http_limits lim = cadre_http_limits_default();
    if (r->max_head)
        lim.max_head = r->max_head;
    if (r->max_target)
        lim.max_target = r->max_target;
    if (r->lim_headers)
        lim.max_headers = r->lim_headers;
    return lim;
}

/* Checks that hold for every successful parse, whatever the row. */
static void check_head_sane(const char *buf, size_t len, const cadre_http_head *h,
                            const cadre_header *arr, size_t arr_n)
{
    assert_non_null(h->method.ptr);
    assert_true(h->method.len > 0);
    for (size_t i = 0; i < h->method.len; i++)
        if (!is_tchar((unsigned char)h->method.ptr[i]))
            fail_msg("method \"%s\" is not a token", esc(h->method.ptr, h->method.len));
    assert_non_null(h->target.ptr);
    assert_true(h->target.len > 0);
    assert_non_null(h->path.ptr);
    check_in_buf("method", h->method, buf, len);
    check_in_buf("target", h->target, buf, len);
    check_in_buf("path", h->path, buf, len);
    check_in_buf("query", h->query, buf, len);
    check_in_buf("host", h->host, buf, len);
    assert_true(h->version == 10 || h->version == 11);
    assert_true(h->content_length >= -1);
    assert_ptr_equal(h->headers, arr);
    assert_true(h->num_headers <= arr_n);
    for (size_t i = 0; i < h->num_headers; i++) {
        const cadre_header *f = &h->headers[i];
        assert_non_null(f->name.ptr);
        assert_true(f->name.len > 0);
        check_in_buf("header name", f->name, buf, len);
        check_in_buf("header value", f->value, buf, len);
        for (size_t k = 0; k < f->name.len; k++)
            if (!is_tchar((unsigned char)f->name.ptr[k]))
                fail_msg("header %zu name \"%s\" is not a token", i, esc(f->name.ptr, f->name.len));
        if (f->value.len) {
            char first = f->value.ptr[0], last = f->value.ptr[f->value.len - 1];
            if (first == ' ' || first == '\t' || last == ' ' || last == '\t')
                fail_msg("header %zu value \"%s\" not trimmed", i, esc(f->value.ptr, f->value.len));
            for (size_t k = 0; k < f->value.len; k++) {
                unsigned char c = (unsigned char)f->value.ptr[k];
                if (c == '\r' || c == '\n' || c == 0)
                    fail_msg("header %zu value holds CR, LF or NUL", i);
            }
        }
    }
}

static void check_head_row(const prow *r, const char *buf, size_t len, const cadre_http_head *h,
                           const cadre_header *arr, size_t arr_n)
{
    check_head_sane(buf, len, h, arr, arr_n);
    check_slice("method", h->method, r->method);
    check_slice("target", h->target, r->target);
    check_slice("path", h->path, r->path);
    check_slice("query", h->query, r->query);
    if (r->query_absent && h->query.ptr)
        fail_msg("query: want absent (ptr NULL), got \"%s\"", esc(h->query.ptr, h->query.len));
    check_slice("host", h->host, r->host);
    if (r->host_absent && h->host.ptr)
        fail_msg("host: want absent (ptr NULL), got \"%s\"", esc(h->host.ptr, h->host.len));
    if (r->version && h->version != r->version)
        fail_msg("version: got %d, want %d", h->version, r->version);
    if (r->check_cl && h->content_length != r->cl)
        fail_msg("content_length: got %lld, want %lld", (long long)h->content_length, (long long)r->cl);
    check_tri("chunked", h->chunked, r->chunked);
    check_tri("keep_alive", h->keep_alive, r->keep_alive);
    check_tri("expect_continue", h->expect_continue, r->expect_continue);
    if (r->check_nh && h->num_headers != r->nh)
        fail_msg("num_headers: got %zu, want %zu", h->num_headers, r->nh);
    for (size_t i = 0; i < sizeof(r->hdr) / sizeof(r->hdr[0]) && r->hdr[i].name; i++) {
        char what[64];
        if (i >= h->num_headers)
            fail_msg("header %zu (%s) missing: only %zu headers", i, r->hdr[i].name, h->num_headers);
        snprintf(what, sizeof what, "header %zu name", i);
        check_slice(what, h->headers[i].name, r->hdr[i].name);
        snprintf(what, sizeof what, "header %zu value", i);
        check_slice(what, h->headers[i].value, r->hdr[i].value);
    }
}

static void check_error(const char *when, int rc, const cadre_http_error *err, int status, int alt)
{
    if (rc != CADRE_HTTP_ERROR)
        fail_msg("%s: rc %d, want CADRE_HTTP_ERROR (%d)", when, rc, status);
    if (err->status != status && !(alt && err->status == alt)) {
        if (alt)
            fail_msg("%s: status %d (%s), want %d or %d", when, err->status,
                     err->reason ? err->reason : "(null reason)", status, alt);
        fail_msg("%s: status %d (%s), want %d", when, err->status,
                 err->reason ? err->reason : "(null reason)", status);
    }
    if (!err->reason || !err->reason[0])
        fail_msg("%s: err->reason is NULL or empty", when);
}

typedef struct parse_ctx {
    const prow *r;
    cadre_http_limits lim;
    size_t arr_n;
    cadre_header *arr;
} parse_ctx;

/* Parses buf[0..n) copied into an exact-size buffer. Returns rc; *bufp keeps the copy. */
static int parse_copy(parse_ctx *p, size_t n, size_t prev, char **bufp, cadre_http_head *h,
                      cadre_http_error *err)
{
    char *b = xdup(p->r->raw, n);
    memset(err, 0, sizeof *err);
    int rc = cadre_http_parse_head(b, n, prev, &p->lim, h, p->arr, p->arr_n, err);
    *bufp = b;
    return rc;
}

static void test_parse_row(void **state)
{
    const prow *r = *state;
    parse_ctx p = { .r = r, .lim = row_limits(r), .arr_n = r->arr_headers ? r->arr_headers : 128 };
    p.arr = tcalloc(p.arr_n, sizeof *p.arr); /* exact size: overruns show under ASan */
    assert_non_null(p.arr);
    size_t head_len = r->raw_len - r->tail;
    cadre_http_head h;
    cadre_http_error err;
    char *b;
    char when[96];

    /* 1. the whole input at once */
    memset(&h, 0, sizeof h);
    int rc = parse_copy(&p, r->raw_len, 0, &b, &h, &err);
    switch (r->expect) {
    case R_OK:
        if (rc != (int)head_len)
            fail_msg("whole input: rc %d, want %zu (err %d %s)", rc, head_len,
                     rc == CADRE_HTTP_ERROR ? err.status : 0,
                     rc == CADRE_HTTP_ERROR && err.reason ? err.reason : "");
        check_head_row(r, b, r->raw_len, &h, p.arr, p.arr_n);
        break;
    case R_PARTIAL:
        if (rc != CADRE_HTTP_PARTIAL)
            fail_msg("whole input: rc %d (status %d %s), want CADRE_HTTP_PARTIAL", rc,
                     rc == CADRE_HTTP_ERROR ? err.status : 0,
                     rc == CADRE_HTTP_ERROR && err.reason ? err.reason : "");
        break;
    default:
        check_error("whole input", rc, &err, r->status, r->alt_status);
    }
    tfree(b);

    /* 2. every prefix, each as a fresh call (prev_len 0) */
    for (size_t n = 0; n < r->raw_len; n++) {
        memset(&h, 0, sizeof h);
        rc = parse_copy(&p, n, 0, &b, &h, &err);
        snprintf(when, sizeof when, "fresh prefix of %zu/%zu bytes", n, r->raw_len);
        if (r->expect == R_OK) {
            if (n < head_len && rc != CADRE_HTTP_PARTIAL)
                fail_msg("%s: rc %d (status %d %s), want CADRE_HTTP_PARTIAL", when, rc,
                         rc == CADRE_HTTP_ERROR ? err.status : 0,
                         rc == CADRE_HTTP_ERROR && err.reason ? err.reason : "");
            if (n >= head_len && rc != (int)head_len)
                fail_msg("%s: rc %d, want %zu", when, rc, head_len);
        } else if (r->expect == R_PARTIAL) {
            if (rc != CADRE_HTTP_PARTIAL)
                fail_msg("%s: rc %d, want CADRE_HTTP_PARTIAL", when, rc);
        } else {
            if (rc != CADRE_HTTP_PARTIAL && rc != CADRE_HTTP_ERROR)
                fail_msg("%s: rc %d, a prefix of a refused request was accepted", when, rc);
            if (rc == CADRE_HTTP_ERROR && (!err.reason || !err.reason[0]))
                fail_msg("%s: err->reason is NULL or empty", when);
        }
        tfree(b);
    }

    /* 3. one request arriving in pieces: prev_len is what the previous call saw */
    static const size_t steps[] = { 1, 3, 7 };
    for (size_t si = 0; si < sizeof steps / sizeof steps[0]; si++) {
        size_t prev = 0, n = 0;
        memset(&h, 0, sizeof h);
        for (;;) {
            rc = parse_copy(&p, n, prev, &b, &h, &err);
            snprintf(when, sizeof when, "step %zu: prefix of %zu/%zu bytes (prev_len %zu)", steps[si],
                     n, r->raw_len, prev);
            if (rc != CADRE_HTTP_PARTIAL || n == r->raw_len)
                break;
            tfree(b);
            prev = n;
            n = n + steps[si] > r->raw_len ? r->raw_len : n + steps[si];
        }
        if (r->expect == R_OK) {
            if (n < head_len || rc != (int)head_len)
                fail_msg("%s: rc %d, want %s", when, rc,
                         n < head_len ? "CADRE_HTTP_PARTIAL" : "the head length");
            check_head_row(r, b, n, &h, p.arr, p.arr_n);
        } else if (r->expect == R_PARTIAL) {
            if (rc != CADRE_HTTP_PARTIAL)
                fail_msg("%s: rc %d, want CADRE_HTTP_PARTIAL", when, rc);
        } else {
            check_error(when, rc, &err, r->status, r->alt_status);
        }
        tfree(b);
    }
    tfree(p.arr);
}

/* ---------------------------------------------------------------------------------------------
 * Generated parse tests (sizes too big for a table literal)
 * ------------------------------------------------------------------------------------------- */

typedef struct gen {
    char *p;
    size_t len, cap;
} gen;

static void gen_add(gen *g, const char *s, size_t n)
{
    if (g->len + n + 1 > g->cap) {
        g->cap = (g->len + n + 1) * 2;
        g->p = g->p ? trealloc(g->p, g->cap) : tmalloc(g->cap);
    }
    memcpy(g->p + g->len, s, n);
    g->len += n;
    g->p[g->len] = 0;
}

static void gen_str(gen *g, const char *s) { gen_add(g, s, strlen(s)); }

static void gen_rep(gen *g, char c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        gen_add(g, &c, 1);
}

/* A request with Host plus extra-1 more fields ("X-<i>: <i>"). */
static gen make_fields(size_t total_fields)
{
    gen g = { 0 };
    gen_str(&g, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (size_t i = 1; i < total_fields; i++) {
        char line[64];
        snprintf(line, sizeof line, "X-%zu: %zu\r\n", i, i);
        gen_str(&g, line);
    }
    gen_str(&g, "\r\n");
    return g;
}

static int parse_gen(const gen *g, const cadre_http_limits *lim, size_t arr_n, cadre_http_head *h,
                     cadre_http_error *err, cadre_header **arrp)
{
    cadre_header *arr = tcalloc(arr_n ? arr_n : 1, sizeof *arr);
    assert_non_null(arr);
    char *b = xdup(g->p, g->len);
    memset(h, 0, sizeof *h);
    memset(err, 0, sizeof *err);
    int rc = cadre_http_parse_head(b, g->len, 0, lim, h, arr, arr_n, err);
    if (rc > 0)
        check_head_sane(b, g->len, h, arr, arr_n); /* while b, which the slices point into, lives */
    tfree(b);
    if (arrp)
        *arrp = arr;
    else
        tfree(arr);
    return rc;
}

static void test_limits_default(void **state)
{
    cadre_http_limits l = cadre_http_limits_default();
    assert_int_equal(l.max_head, 16 * 1024);
    assert_int_equal(l.max_target, 8 * 1024);
    assert_int_equal(l.max_body, 1024 * 1024);
    assert_int_equal(l.max_headers, 100);
}

static void test_default_max_headers(void **state)
{
    cadre_http_limits lim = cadre_http_limits_default();
    cadre_http_head h;
    cadre_http_error err;

    gen g = make_fields(100);
    int rc = parse_gen(&g, &lim, 100, &h, &err, NULL);
    if (rc != (int)g.len)
        fail_msg("100 fields, array 100: rc %d (status %d), want %zu", rc, err.status, g.len);
    assert_int_equal(h.num_headers, 100);
    rc = parse_gen(&g, &lim, 1000, &h, &err, NULL);
    assert_int_equal(rc, (int)g.len);
    tfree(g.p);

    g = make_fields(101);
    rc = parse_gen(&g, &lim, 1000, &h, &err, NULL); /* lim->max_headers is 100 */
    check_error("101 fields, default limit, array 1000", rc, &err, 431, 0);
    rc = parse_gen(&g, &lim, 100, &h, &err, NULL);
    check_error("101 fields, array 100", rc, &err, 431, 0);
    lim.max_headers = 1000;
    rc = parse_gen(&g, &lim, 100, &h, &err, NULL); /* the caller's array is the tighter bound */
    check_error("101 fields, limit 1000, array 100", rc, &err, 431, 0);
    rc = parse_gen(&g, &lim, 101, &h, &err, NULL);
    if (rc != (int)g.len)
        fail_msg("101 fields, limit 1000, array 101: rc %d (status %d)", rc, err.status);
    tfree(g.p);
}

static void test_default_max_target(void **state)
{
    cadre_http_limits lim = cadre_http_limits_default();
    cadre_http_head h;
    cadre_http_error err;
    for (int over = 0; over <= 1; over++) {
        gen g = { 0 };
        gen_str(&g, "GET /");
        gen_rep(&g, 'a', 8192 - 1 + (size_t)over);
        gen_str(&g, " HTTP/1.1\r\nHost: a\r\n\r\n");
        int rc = parse_gen(&g, &lim, 16, &h, &err, NULL);
        if (!over) {
            if (rc != (int)g.len)
                fail_msg("8192-byte target: rc %d (status %d), want %zu", rc, err.status, g.len);
        } else {
            check_error("8193-byte target", rc, &err, 414, 0);
        }
        tfree(g.p);
    }
}

static void test_default_max_head(void **state)
{
    cadre_http_limits lim = cadre_http_limits_default();
    cadre_http_head h;
    cadre_http_error err;
    gen g = { 0 };
    gen_str(&g, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
    gen_rep(&g, 'v', 12000);
    gen_str(&g, "\r\n\r\n");
    int rc = parse_gen(&g, &lim, 16, &h, &err, NULL);
    if (rc != (int)g.len)
        fail_msg("12 KB head: rc %d (status %d), want %zu", rc, err.status, g.len);
    tfree(g.p);

    g = (gen){ 0 };
    gen_str(&g, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
    gen_rep(&g, 'v', 17000);
    gen_str(&g, "\r\n\r\n");
    rc = parse_gen(&g, &lim, 16, &h, &err, NULL);
    check_error("17 KB head", rc, &err, 431, 0);
    /* the same head still arriving: already over the limit, so no need to wait for the rest */
    g.len -= 4;
    rc = parse_gen(&g, &lim, 16, &h, &err, NULL);
    check_error("17 KB partial head", rc, &err, 431, 0);
    tfree(g.p);
}

/* Parsing writes nothing into the caller's buffer (it is const) and reads nothing past len. */
static void test_parse_does_not_touch_past_len(void **state)
{
    static const char req[] = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
    size_t n = sizeof req - 1;
    /* the bytes after len look like the end of a head: the parser must not see them */
    char buf[64];
    memcpy(buf, req, n);
    cadre_http_limits lim = cadre_http_limits_default();
    cadre_header arr[8];
    cadre_http_head h;
    cadre_http_error err;
    int rc = cadre_http_parse_head(buf, n - 2, 0, &lim, &h, arr, 8, &err);
    assert_int_equal(rc, CADRE_HTTP_PARTIAL);
    rc = cadre_http_parse_head(buf, n - 1, n - 2, &lim, &h, arr, 8, &err);
    assert_int_equal(rc, CADRE_HTTP_PARTIAL);
    rc = cadre_http_parse_head(buf, n, n - 1, &lim, &h, arr, 8, &err);
    assert_int_equal(rc, (int)n);
    assert_memory_equal(buf, req, n);
}

static void test_status_text(void **state)
{
    assert_string_equal(cadre_http_status_text(200), "OK");
    assert_string_equal(cadre_http_status_text(404), "Not Found");
    assert_string_equal(cadre_http_status_text(400), "Bad Request");
    const char *t413 = cadre_http_status_text(413); /* RFC 9110 name, or RFC 7231's */
    assert_true(strcmp(t413, "Content Too Large") == 0 || strcmp(t413, "Payload Too Large") == 0);
    assert_string_equal(cadre_http_status_text(414), "URI Too Long");
    assert_string_equal(cadre_http_status_text(417), "Expectation Failed");
    assert_string_equal(cadre_http_status_text(431), "Request Header Fields Too Large");
    assert_string_equal(cadre_http_status_text(501), "Not Implemented");
    assert_string_equal(cadre_http_status_text(505), "HTTP Version Not Supported");
    assert_string_equal(cadre_http_status_text(599), "Unknown");
    assert_string_equal(cadre_http_status_text(0), "Unknown");
    assert_string_equal(cadre_http_status_text(-1), "Unknown");
}

/* ---------------------------------------------------------------------------------------------
 * Chunked body decoder
 * ------------------------------------------------------------------------------------------- */

typedef struct crow {
    const char *name;
    const char *raw;
    size_t raw_len;
    int expect; /* R_OK: returns 0; R_PARTIAL; R_ERROR */
    int status, alt_status;
    size_t max_body; /* 0: 1 MiB */
    const char *body;
    size_t body_len;
    size_t tail; /* bytes after the end of the message */
} crow;

#define BODY(s) .body = (s), .body_len = sizeof(s) - 1
#define DONE .expect = R_OK

#define FORTY "0123456789abcdefghijklmnopqrstuvwxyzABCD"

static const crow chunk_rows[] = {
    { "ok: one chunk", RAW("5\r\nhello\r\n0\r\n\r\n"), DONE, BODY("hello") },
    { "ok: several chunks", RAW("3\r\nabc\r\n4\r\ndefg\r\n1\r\nh\r\n0\r\n\r\n"), DONE, BODY("abcdefgh") },
    { "ok: empty body", RAW("0\r\n\r\n"), DONE, BODY("") },
    { "ok: lower-case hex size", RAW("a\r\n0123456789\r\n0\r\n\r\n"), DONE, BODY("0123456789") },
    { "ok: upper-case hex size", RAW("A\r\n0123456789\r\n0\r\n\r\n"), DONE, BODY("0123456789") },
    { "ok: two-digit hex size", RAW("1e\r\n" "0123456789abcdefghijklmnopqrst\r\n0\r\n\r\n"), DONE,
      BODY("0123456789abcdefghijklmnopqrst") },
    { "ok: hex size 28 is 40 bytes", RAW("28\r\n" FORTY "\r\n0\r\n\r\n"), DONE, BODY(FORTY) },
    { "ok: leading zeros in size", RAW("0005\r\nhello\r\n000\r\n\r\n"), DONE, BODY("hello") },
    { "ok: data holding CR, LF and digits", RAW("6\r\n\r\n0\r\n\r\r\n0\r\n\r\n"), DONE, BODY("\r\n0\r\n\r") },
    { "ok: data holding NUL", RAW("3\r\na\0b\r\n0\r\n\r\n"), DONE, BODY("a\0b") },
    { "ok: extension a=b", RAW("5;a=b\r\nhello\r\n0\r\n\r\n"), DONE, BODY("hello") },
    { "ok: extension with a quoted value", RAW("5;a=\"q s\"\r\nhello\r\n0\r\n\r\n"), DONE, BODY("hello") },
    { "ok: extension with a quoted-pair", RAW("5;a=\"x\\\"y\"\r\nhello\r\n0\r\n\r\n"), DONE,
      BODY("hello") },
    { "ok: extension without a value", RAW("5;flag\r\nhello\r\n0\r\n\r\n"), DONE, BODY("hello") },
    { "ok: several extensions", RAW("5;a=b;c;d=\"e\"\r\nhello\r\n0;z=1\r\n\r\n"), DONE, BODY("hello") },
    { "ok: extension with BWS (RFC 9112 7.1.1)", RAW("5 ; a = b\r\nhello\r\n0\r\n\r\n"), DONE,
      BODY("hello") },
    { "ok: one trailer", RAW("5\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n"), DONE, BODY("hello") },
    { "ok: several trailers, empty value", RAW("5\r\nhello\r\n0\r\nA: 1\r\nB:\r\nC: x y\r\n\r\n"), DONE,
      BODY("hello") },
    { "ok: next request follows", RAW("5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n"), DONE, BODY("hello"),
      .tail = sizeof("GET / HTTP/1.1\r\n") - 1 },
    { "ok: body exactly max_body in two chunks", RAW("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"), DONE,
      .max_body = 10, BODY("helloworld") },

    { "partial: no last chunk", RAW("5\r\nhello\r\n"), PARTIAL },
    { "partial: inside data", RAW("5\r\nhel"), PARTIAL },
    { "partial: last chunk without the final CRLF", RAW("5\r\nhello\r\n0\r\n"), PARTIAL },
    { "partial: inside a trailer", RAW("5\r\nhello\r\n0\r\nX: 1\r\n"), PARTIAL },

    { "400: data not followed by CRLF", RAW("5\r\nhelloX\r\n0\r\n\r\n"), ERR(400) },
    { "400: data followed by the next size line", RAW("5\r\nhello0\r\n\r\n"), ERR(400) },
    { "400: data followed by a bare LF", RAW("5\r\nhello\n0\r\n\r\n"), ERR(400) },
    { "400: data followed by a bare CR", RAW("5\r\nhello\r0\r\n\r\n"), ERR(400) },
    { "400: size 5x", RAW("5x\r\nhello\r\n0\r\n\r\n"), ERR(400) },
    { "400: size g", RAW("g\r\nhello\r\n0\r\n\r\n"), ERR(400) },
    { "400: size 0x5", RAW("0x5\r\nhello\r\n0\r\n\r\n"), ERR(400) },
    { "400: size -1", RAW("-1\r\nhello\r\n0\r\n\r\n"), ERR(400) },
    { "400: empty size line", RAW("\r\nhello\r\n0\r\n\r\n"), ERR(400) },
    { "400: size with a leading space", RAW(" 5\r\nhello\r\n0\r\n\r\n"), ERR(400) },
    { "400: size with a leading HTAB", RAW("\t5\r\nhello\r\n0\r\n\r\n"), ERR(400) },
    { "400: size overflows (17 F)", RAW("FFFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n"), ERR(400) },
    { "400: size overflows (2^64)", RAW("10000000000000000\r\nhello\r\n0\r\n\r\n"), ERR(400) },
    { "413/400: size 2^64-1", RAW("FFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n"), ERR2(413, 400) },
    { "400: bare LF after size", RAW("5\nhello\r\n0\r\n\r\n"), ERR(400) },
    { "400: bare CR after size", RAW("5\rhello\r\n0\r\n\r\n"), ERR(400) },
    { "400: bare LF after last chunk", RAW("5\r\nhello\r\n0\n\r\n"), ERR(400) },
    { "400: bare LF as final line", RAW("5\r\nhello\r\n0\r\n\n"), ERR(400) },
    { "400: bare LF in a trailer", RAW("0\r\nX: a\n\r\n"), ERR(400) },
    { "400: trailer without colon", RAW("0\r\nbad trailer\r\n\r\n"), ERR(400) },
    { "400: trailer name with SP", RAW("0\r\nX Y: a\r\n\r\n"), ERR(400) },
    { "400: trailer obs-fold", RAW("0\r\nX: a\r\n b\r\n\r\n"), ERR(400) },
    { "400: trailer with a control byte", RAW("0\r\nX: a\x01" "b\r\n\r\n"), ERR(400) },
    { "400: extension without a name", RAW("5;\r\nhello\r\n0\r\n\r\n"), ERR(400) },
    { "400: extension =b", RAW("5;=b\r\nhello\r\n0\r\n\r\n"), ERR(400) },
    { "400: unterminated quoted extension", RAW("5;a=\"open\r\nhello\r\n0\r\n\r\n"), ERR(400) },
    { "400: control byte in extension", RAW("5;a=\x01\r\nhello\r\n0\r\n\r\n"), ERR(400) },

    { "413: one declared chunk over max_body", RAW("b\r\nhello world\r\n0\r\n\r\n"), ERR(413),
      .max_body = 10 },
    { "413: declared size over max_body, data not sent yet", RAW("FFFFFF\r\n"), ERR(413) },
    { "413: accumulated chunks over max_body", RAW("6\r\nabcdef\r\n6\r\nabcdef\r\n0\r\n\r\n"), ERR(413),
      .max_body = 10 },
};

#define NCHUNK (sizeof(chunk_rows) / sizeof(chunk_rows[0]))

/* Feeds raw in pieces of `step` bytes (0: all at once) into one buffer and decodes in place. */
static void run_chunked(const crow *r, size_t step)
{
    size_t max_body = r->max_body ? r->max_body : 1024 * 1024;
    size_t end = r->raw_len - r->tail;
    char *buf = tmalloc(r->raw_len);
    assert_non_null(buf);
    memset(buf, 0xA5, r->raw_len);
    cadre_http_chunked c;
    cadre_http_chunked_init(&c);
    cadre_http_error err = { 0 };
    size_t src = 0, dst = 0, len = 0, copied = 0;
    int rc;
    char when[96];
    for (;;) {
        len = step == 0 ? r->raw_len : (len + step > r->raw_len ? r->raw_len : len + step);
        memcpy(buf + copied, r->raw + copied, len - copied); /* bytes arrive */
        copied = len;
        rc = cadre_http_chunked_decode(&c, buf, len, &src, &dst, max_body, &err);
        snprintf(when, sizeof when, "step %zu, %zu/%zu bytes", step, len, r->raw_len);
        if (!(dst <= src && src <= len))
            fail_msg("%s: offsets out of order: dst %zu src %zu len %zu", when, dst, src, len);
        if (rc != CADRE_HTTP_PARTIAL || len == r->raw_len)
            break;
    }
    if (r->expect == R_OK) {
        if (rc != 0)
            fail_msg("%s: rc %d (status %d %s), want 0", when, rc, rc == CADRE_HTTP_ERROR ? err.status : 0,
                     rc == CADRE_HTTP_ERROR && err.reason ? err.reason : "");
        if (step == 1 && len != end)
            fail_msg("finished after %zu bytes, want %zu", len, end);
        if (src != end)
            fail_msg("%s: src %zu, want the end of the message %zu", when, src, end);
        if (dst != r->body_len || memcmp(buf, r->body, r->body_len) != 0)
            fail_msg("%s: body \"%s\" (%zu), want \"%s\" (%zu)", when, esc(buf, dst), dst,
                     esc(r->body, r->body_len), r->body_len);
    } else if (r->expect == R_PARTIAL) {
        if (rc != CADRE_HTTP_PARTIAL)
            fail_msg("%s: rc %d (status %d), want CADRE_HTTP_PARTIAL", when, rc, err.status);
    } else {
        check_error(when, rc, &err, r->status, r->alt_status);
    }
    tfree(buf);
}

static void test_chunk_row(void **state)
{
    const crow *r = *state;
    run_chunked(r, 0);
    run_chunked(r, 1);
    run_chunked(r, 2);
    run_chunked(r, 5);
}

/* The decoder honours *src and *dst that do not start at 0 (the body follows the head in the buffer),
 * leaves the bytes before *dst alone, and works from a zeroed state as well as after _init. */
static void test_chunked_offsets(void **state)
{
    static const char raw[] = "HEAD!3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\nNEXT";
    char buf[sizeof raw];
    memcpy(buf, raw, sizeof raw);
    cadre_http_chunked c;
    memset(&c, 0, sizeof c);
    cadre_http_error err = { 0 };
    size_t src = 5, dst = 5;
    int rc = cadre_http_chunked_decode(&c, buf, sizeof raw - 1, &src, &dst, 1024, &err);
    assert_int_equal(rc, 0);
    assert_int_equal(src, sizeof raw - 1 - 4);
    assert_int_equal(dst, 10);
    assert_memory_equal(buf, "HEAD!abcde", 10);
    assert_memory_equal(buf + src, "NEXT", 4);
}

/* max_body counts decoded bytes only, not the chunk framing. */
static void test_chunked_max_body_counts_data(void **state)
{
    static const char raw[] = "1\r\na\r\n1\r\nb\r\n1\r\nc\r\n1\r\nd\r\n0\r\n\r\n";
    char buf[sizeof raw];
    memcpy(buf, raw, sizeof raw);
    cadre_http_chunked c;
    cadre_http_chunked_init(&c);
    cadre_http_error err = { 0 };
    size_t src = 0, dst = 0;
    int rc = cadre_http_chunked_decode(&c, buf, sizeof raw - 1, &src, &dst, 4, &err);
    assert_int_equal(rc, 0);
    assert_int_equal(dst, 4);
    assert_memory_equal(buf, "abcd", 4);
}

/* A large body in many chunks, fed in odd-sized pieces. */
static void test_chunked_large(void **state)
{
    gen g = { 0 };
    gen expect = { 0 };
    for (int i = 0; i < 500; i++) {
        char line[32];
        size_t n = (size_t)(i * 37 % 300) + 1;
        snprintf(line, sizeof line, "%zx%s\r\n", n, i % 3 ? "" : ";i=1");
        gen_str(&g, line);
        for (size_t k = 0; k < n; k++) {
            char ch = (char)('a' + (i + k) % 26);
            gen_add(&g, &ch, 1);
            gen_add(&expect, &ch, 1);
        }
        gen_str(&g, "\r\n");
    }
    gen_str(&g, "0\r\n\r\n");
    crow r = { "large", g.p, g.len, R_OK, 0, 0, 0, expect.p, expect.len, 0 };
    run_chunked(&r, 0);
    run_chunked(&r, 1);
    run_chunked(&r, 13);
    run_chunked(&r, 4096);
    /* one byte less than the body: 413 */
    r.max_body = expect.len - 1;
    r.expect = R_ERROR;
    r.status = 413;
    run_chunked(&r, 0);
    run_chunked(&r, 7);
    tfree(g.p);
    tfree(expect.p);
}

/* ---------------------------------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------------------------------- */

int main(void)
{
    struct CMUnitTest *parse = calloc(NPARSE, sizeof *parse);
    struct CMUnitTest *chunk = calloc(NCHUNK, sizeof *chunk);
    if (!parse || !chunk)
        return 1;
    for (size_t i = 0; i < NPARSE; i++)
        parse[i] = (struct CMUnitTest){ parse_rows[i].name, test_parse_row, NULL, free_live,
                                        (void *)&parse_rows[i] };
    for (size_t i = 0; i < NCHUNK; i++)
        chunk[i] = (struct CMUnitTest){ chunk_rows[i].name, test_chunk_row, NULL, free_live,
                                        (void *)&chunk_rows[i] };
    const struct CMUnitTest other[] = {
        cmocka_unit_test_teardown(test_limits_default, free_live),
        cmocka_unit_test_teardown(test_default_max_headers, free_live),
        cmocka_unit_test_teardown(test_default_max_target, free_live),
        cmocka_unit_test_teardown(test_default_max_head, free_live),
        cmocka_unit_test_teardown(test_parse_does_not_touch_past_len, free_live),
        cmocka_unit_test_teardown(test_status_text, free_live),
        cmocka_unit_test_teardown(test_chunked_offsets, free_live),
        cmocka_unit_test_teardown(test_chunked_max_body_counts_data, free_live),
        cmocka_unit_test_teardown(test_chunked_large, free_live),
    };
    int failed = 0;
    failed += _cmocka_run_group_tests("parse_head", parse, NPARSE, NULL, NULL);
    failed += _cmocka_run_group_tests("chunked_decode", chunk, NCHUNK, NULL, NULL);
    failed += cmocka_run_group_tests_name("parser_misc", other, NULL, NULL);
    free(parse);
    free(chunk);
    return failed ? 1 : 0;
}
