/*
 * libFuzzer target for the HTTP/1.1 request parser: cadre_http_parse_head, cadre_http_chunked_decode
 * and cadre_url_decode.
 *
 * Input layout: two configuration bytes, then the bytes "received" on the connection.
 *
 *   byte 0  bits 0-1  lim.max_head      16384 (default) | 32 | 128 | 512
 *           bits 2-3  lim.max_target    8192 (default)  | 1  | 16  | 64
 *           bits 4-5  lim.max_headers   100 (default)   | 0  | 1   | 4
 *           bits 6-7  header array cap  100             | 0  | 3   | 32
 *   byte 1  bits 0-1  incremental steps before the whole input: 1..4 prefixes
 *           bits 2-3  lim.max_body      1 MiB (default) | 0  | 10  | 100
 *           bits 4-7  seed for the prefix lengths; 15 = every prefix length (inputs <= 512 bytes)
 *
 * So "\0\0" + a request is the default configuration. The rest of the input is parsed as a
 * sequence of pipelined requests (at most 8): for each, the head is parsed in one step and
 * incrementally and both must agree; a chunked body is decoded in one call and byte by byte and
 * both must agree; a Content-Length body is skipped. Any broken invariant calls abort().
 *
 * Every call gets a buffer malloc'd to exactly the length passed, so AddressSanitizer catches a
 * read past len (a server may realloc its buffer between reads, so the parser cannot rely on the
 * buffer staying put between calls either).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cadre/http.h"

#include "fuzz_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CFG_BYTES 2
#define MAX_REQUESTS 8
#define EVERY_PREFIX_MAX 512

typedef struct fuzz_config {
    cadre_http_limits lim;
    size_t cap; /* length of the caller's header array */
    unsigned steps;
    unsigned seed;
} fuzz_config;

static void config_from(uint8_t b0, uint8_t b1, fuzz_config *cfg)
{
    static const size_t max_head[4] = { 0, 32, 128, 512 };
    static const size_t max_target[4] = { 0, 1, 16, 64 };
    static const size_t max_headers[4] = { 0, 0, 1, 4 };
    static const size_t cap[4] = { 100, 0, 3, 32 };
    static const size_t max_body[4] = { 0, 0, 10, 100 };

    cfg->lim = cadre_http_limits_default();
    if (b0 & 3)
        cfg->lim.max_head = max_head[b0 & 3];
    if ((b0 >> 2) & 3)
        cfg->lim.max_target = max_target[(b0 >> 2) & 3];
    if ((b0 >> 4) & 3)
        cfg->lim.max_headers = max_headers[(b0 >> 4) & 3];
    cfg->cap = cap[(b0 >> 6) & 3];
    cfg->steps = 1u + (b1 & 3u);
    if ((b1 >> 2) & 3)
        cfg->lim.max_body = max_body[(b1 >> 2) & 3];
    cfg->seed = (unsigned)(b1 >> 4);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

/* A malloc'd copy of exactly n bytes (1 byte allocated for n == 0, never read). */
static char *copy_of(const uint8_t *p, size_t n)
{
    char *c = xmalloc(n);
    if (n)
        memcpy(c, p, n);
    return c;
}

static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_token(cadre_slice s)
{
    if (s.len == 0)
        return false;
    for (size_t i = 0; i < s.len; i++)
        if (!is_tchar((unsigned char)s.ptr[i]))
            return false;
    return true;
}

/* The slice lies inside buf[0..len). An absent slice (ptr NULL) must have len 0 and is allowed only
 * when may_be_absent. what names the slice in the message. */
static void check_slice(cadre_slice s, const char *buf, size_t len, bool may_be_absent,
                        const char *what)
{
    bool ok;
    if (s.ptr == NULL)
        ok = may_be_absent && s.len == 0;
    else
        ok = (uintptr_t)s.ptr >= (uintptr_t)buf && (uintptr_t)s.ptr - (uintptr_t)buf <= len &&
             s.len <= len - (size_t)((uintptr_t)s.ptr - (uintptr_t)buf);
    if (!ok) {
        fprintf(stderr,
                "fuzz_http_parser: slice %s {%p, %zu} is not inside the head [%p, %p + %zu)%s\n",
                what, (const void *)s.ptr, s.len, (const void *)buf, (const void *)buf, len,
                s.ptr == NULL && !may_be_absent ? " (it must be present)" : "");
        abort();
    }
}

static void check_error(const cadre_http_error *err)
{
    CHECK(err->status == 400 || err->status == 413 || err->status == 414 || err->status == 417 ||
          err->status == 431 || err->status == 501 || err->status == 505);
    CHECK(err->reason != NULL);
    CHECK(strcmp(cadre_http_status_text(err->status), "Unknown") != 0);
}

/* cadre_http_chunked_decode documents 400 (malformed or overflowing size), 413 (max_body) and 431
 * (trailer section too large). */
static void check_chunked_error(const cadre_http_error *err)
{
    CHECK(err->status == 400 || err->status == 413 || err->status == 431);
    CHECK(err->reason != NULL);
    CHECK(strcmp(cadre_http_status_text(err->status), "Unknown") != 0);
}

/* Invariants of one call's result; on success also of the head it filled. */
static void check_head_result(int rc, const char *buf, size_t len, const cadre_http_head *head,
                              const struct cadre_header *headers, const fuzz_config *cfg,
                              const cadre_http_error *err)
{
    if (rc == CADRE_HTTP_PARTIAL)
        return;
    if (rc == CADRE_HTTP_ERROR) {
        check_error(err);
        return;
    }
    CHECK(rc > 0);
    CHECK((size_t)rc <= len);
    size_t hl = (size_t)rc; /* every slice lies inside the head itself */

    /* the head ends with the empty line, CRLF CRLF (bare LF is refused) */
    CHECK(hl >= 4 && memcmp(buf + hl - 4, "\r\n\r\n", 4) == 0);

    check_slice(head->method, buf, hl, false, "method");
    CHECK(is_token(head->method));
    check_slice(head->target, buf, hl, false, "target");
    CHECK(head->target.len > 0);
    CHECK(head->target.len <= cfg->lim.max_target);
    check_slice(head->path, buf, hl, false, "path");
    check_slice(head->query, buf, hl, true, "query");
    check_slice(head->host, buf, hl, true, "host");
    CHECK(head->version == 10 || head->version == 11);

    CHECK(head->num_headers <= cfg->cap);
    CHECK(head->num_headers <= cfg->lim.max_headers);
    CHECK(head->num_headers == 0 || head->headers == headers);
    for (size_t i = 0; i < head->num_headers; i++) {
        const struct cadre_header *h = &head->headers[i];
        check_slice(h->name, buf, hl, false, "header name");
        CHECK(is_token(h->name));
        check_slice(h->value, buf, hl, false, "header value");
        for (size_t j = 0; j < h->value.len; j++) {
            unsigned char c = (unsigned char)h->value.ptr[j];
            CHECK(c != '\r' && c != '\n' && c != '\0');
        }
        if (h->value.len) {
            unsigned char first = (unsigned char)h->value.ptr[0];
            unsigned char last = (unsigned char)h->value.ptr[h->value.len - 1];
            CHECK(first != ' ' && first != '\t' && last != ' ' && last != '\t');
        }
    }

    CHECK(head->content_length >= -1);
    /* both Content-Length and Transfer-Encoding is refused */
    CHECK(!head->chunked || head->content_length == -1);
}

static bool slice_same(cadre_slice a, cadre_slice b, const char *ba, const char *bb)
{
    if ((a.ptr == NULL) != (b.ptr == NULL) || a.len != b.len)
        return false;
    return a.ptr == NULL || a.ptr - ba == b.ptr - bb;
}

/* Two parses of the same bytes (in different buffers ba, bb) filled the same head. */
static void check_same_head(const cadre_http_head *a, const char *ba, const cadre_http_head *b,
                            const char *bb)
{
    CHECK(slice_same(a->method, b->method, ba, bb));
    CHECK(slice_same(a->target, b->target, ba, bb));
    CHECK(slice_same(a->path, b->path, ba, bb));
    CHECK(slice_same(a->query, b->query, ba, bb));
    CHECK(slice_same(a->host, b->host, ba, bb));
    CHECK(a->version == b->version);
    CHECK(a->num_headers == b->num_headers);
    for (size_t i = 0; i < a->num_headers; i++) {
        CHECK(slice_same(a->headers[i].name, b->headers[i].name, ba, bb));
        CHECK(slice_same(a->headers[i].value, b->headers[i].value, ba, bb));
    }
    CHECK(a->content_length == b->content_length);
    CHECK(a->chunked == b->chunked);
    CHECK(a->keep_alive == b->keep_alive);
    CHECK(a->expect_continue == b->expect_continue);
}

/* FUZZ_HTTP_LENIENT_STATUS=1 in the environment: a refusal with a different status in one step
 * and incrementally is not fatal (to keep fuzzing for other bugs once such a case is known). */
static bool lenient_status(void)
{
    static int lenient = -1;
    if (lenient < 0) {
        const char *e = getenv("FUZZ_HTTP_LENIENT_STATUS");
        lenient = e && *e && strcmp(e, "0") != 0;
    }
    return lenient != 0;
}

static uint32_t rng_next(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

/* Parses req[0..n) incrementally: growing prefixes, each in a fresh exact-size buffer, with prev_len
 * the length the previous call saw, then the whole. The outcome must be the one-step one (rc1,
 * head1/buf1, err1). */
static void parse_incrementally(const uint8_t *req, size_t n, const fuzz_config *cfg, int rc1,
                                const cadre_http_head *head1, const char *buf1,
                                const cadre_http_error *err1)
{
    /* prefix lengths: past the end of a complete head they all must give the same answer, so
     * draw them in [1, limit] */
    size_t limit = n;
    if (rc1 > 0 && (size_t)rc1 < n)
        limit = (size_t)rc1 + 1;
    if (limit == 0)
        return;

    size_t lens[EVERY_PREFIX_MAX + 1];
    size_t nlens = 0;
    if (cfg->seed == 15 && limit <= EVERY_PREFIX_MAX) {
        for (size_t l = 1; l < limit; l++)
            lens[nlens++] = l;
    } else {
        uint32_t s = cfg->seed * 2654435761u ^ (uint32_t)n;
        size_t from = 0;
        for (unsigned i = 0; i < cfg->steps && from + 1 < limit; i++) {
            size_t left = limit - 1 - from; /* room for lengths from+1 .. limit-1 */
            /* half the time a small step, so that ends of lines get split too */
            size_t step = (rng_next(&s) & 1) ? 1 + rng_next(&s) % (left < 8 ? left : 8)
                                              : 1 + rng_next(&s) % left;
            from += step;
            lens[nlens++] = from;
        }
    }
    lens[nlens++] = n; /* then the whole */

    struct cadre_header *headers = xmalloc(cfg->cap * sizeof *headers);
    size_t prev = 0;
    for (size_t i = 0; i < nlens; i++) {
        size_t l = lens[i];
        char *buf = copy_of(req, l);
        cadre_http_head head;
        cadre_http_error err = { 0, NULL };
        memset(&head, 0xA5, sizeof head);
        int rc = cadre_http_parse_head(buf, l, prev, &cfg->lim, &head, headers, cfg->cap, &err);
        check_head_result(rc, buf, l, &head, headers, cfg, &err);
        if (rc == CADRE_HTTP_PARTIAL && l < n) {
            /* a complete head within the bytes given must be found */
            CHECK(rc1 <= 0 || l < (size_t)rc1);
            prev = l;
            free(buf);
            continue;
        }
        /* the first answer other than "need more", or the answer for the whole input, is the
         * one-step answer */
        if (rc != rc1) {
            fprintf(stderr,
                    "fuzz_http_parser: incremental parse returned %d at length %zu (prev_len %zu) "
                    "but the one-step parse of %zu bytes returned %d (status %d %s)\n",
                    rc, l, prev, n, rc1, rc1 == CADRE_HTTP_ERROR ? err1->status : 0,
                    rc1 == CADRE_HTTP_ERROR ? err1->reason : "");
            if (rc == CADRE_HTTP_ERROR)
                fprintf(stderr, "fuzz_http_parser: incremental error: %d %s\n", err.status,
                        err.reason);
            abort();
        }
        if (rc == CADRE_HTTP_ERROR) {
            /* The parser judges the head in stream order within its first max_head bytes, so
             * the status must not depend on how the bytes arrived, limits included. */
            if (err.status != err1->status && !lenient_status()) {
                fprintf(stderr,
                        "fuzz_http_parser: incremental parse (length %zu, prev_len %zu) refused "
                        "with %d \"%s\" but the one-step parse with %d \"%s\"\n",
                        l, prev, err.status, err.reason, err1->status, err1->reason);
                abort();
            }
        } else if (rc > 0) {
            check_same_head(&head, buf, head1, buf1);
        }
        free(buf);
        break;
    }
    free(headers);
}

/* Decodes body[0..n) as a chunked body, in one call and byte by byte; both must agree. Returns
 * how many input bytes the message body took (0 when it did not complete). */
static size_t decode_chunked(const uint8_t *body, size_t n, const fuzz_config *cfg)
{
    size_t max_body = cfg->lim.max_body;

    /* one call */
    char *one = copy_of(body, n);
    cadre_http_chunked c1;
    cadre_http_chunked_init(&c1);
    size_t src1 = 0, dst1 = 0;
    cadre_http_error err1 = { 0, NULL };
    int rc1 = cadre_http_chunked_decode(&c1, one, n, &src1, &dst1, max_body, &err1);
    CHECK(rc1 == 0 || rc1 == CADRE_HTTP_PARTIAL || rc1 == CADRE_HTTP_ERROR);
    CHECK(dst1 <= src1 && src1 <= n);
    if (rc1 == CADRE_HTTP_ERROR)
        check_chunked_error(&err1);
    if (rc1 == 0)
        CHECK(dst1 <= max_body);

    /* byte by byte: the same buffer, its length growing by one byte a call */
    char *inc = copy_of(body, n);
    cadre_http_chunked c2;
    memset(&c2, 0, sizeof c2); /* "zero it (or call _init)" */
    size_t src2 = 0, dst2 = 0;
    cadre_http_error err2 = { 0, NULL };
    int rc2 = CADRE_HTTP_PARTIAL;
    for (size_t l = 1; l <= n; l++) {
        size_t ps = src2, pd = dst2;
        rc2 = cadre_http_chunked_decode(&c2, inc, l, &src2, &dst2, max_body, &err2);
        CHECK(rc2 == 0 || rc2 == CADRE_HTTP_PARTIAL || rc2 == CADRE_HTTP_ERROR);
        CHECK(src2 >= ps && dst2 >= pd);
        CHECK(dst2 <= src2 && src2 <= l);
        if (rc2 != CADRE_HTTP_PARTIAL)
            break;
    }

    if (rc1 != rc2) {
        fprintf(stderr,
                "fuzz_http_parser: chunked decode of %zu bytes returned %d (src %zu dst %zu, %d %s) "
                "in one call but %d (src %zu dst %zu, %d %s) byte by byte\n",
                n, rc1, src1, dst1, err1.status, err1.reason ? err1.reason : "", rc2, src2, dst2,
                err2.status, err2.reason ? err2.reason : "");
        abort();
    }
    if (rc2 == CADRE_HTTP_ERROR)
        check_chunked_error(&err2);
    if (rc1 == CADRE_HTTP_ERROR && err1.status != err2.status && !lenient_status()) {
        fprintf(stderr,
                "fuzz_http_parser: chunked decode refused with %d \"%s\" in one call but %d \"%s\" "
                "byte by byte\n",
                err1.status, err1.reason, err2.status, err2.reason);
        abort();
    }
    if (rc1 == 0) {
        CHECK(src1 == src2);
        CHECK(dst1 == dst2);
    }
    /* the decoded bytes are the same as far as both got */
    size_t common = dst1 < dst2 ? dst1 : dst2;
    CHECK(common == 0 || memcmp(one, inc, common) == 0);

    free(one);
    free(inc);
    return rc1 == 0 ? src1 : 0;
}

static void check_url_decode(const char *p, size_t n, bool plus_space)
{
    /* into another buffer */
    char *src = copy_of((const uint8_t *)p, n);
    char *dst = xmalloc(n);
    long r1 = cadre_url_decode(dst, src, n, plus_space);
    CHECK(r1 == CADRE_EPARSE || (r1 >= 0 && (size_t)r1 <= n));
    /* in place */
    long r2 = cadre_url_decode(src, src, n, plus_space);
    CHECK(r1 == r2);
    if (r1 > 0)
        CHECK(memcmp(dst, src, (size_t)r1) == 0);
    free(src);
    free(dst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < CFG_BYTES)
        return 0;
    fuzz_config cfg;
    config_from(data[0], data[1], &cfg);
    data += CFG_BYTES;
    size -= CFG_BYTES;

    /* the whole input as a URL-encoded string, too */
    check_url_decode((const char *)data, size, (cfg.seed & 1) != 0);

    size_t off = 0;
    for (int r = 0; r < MAX_REQUESTS && off < size; r++) {
        const uint8_t *req = data + off;
        size_t n = size - off;

        /* one step */
        char *buf = copy_of(req, n);
        struct cadre_header *headers = xmalloc(cfg.cap * sizeof *headers);
        cadre_http_head head;
        cadre_http_error err = { 0, NULL };
        memset(&head, 0x5A, sizeof head);
        int rc = cadre_http_parse_head(buf, n, 0, &cfg.lim, &head, headers, cfg.cap, &err);
        check_head_result(rc, buf, n, &head, headers, &cfg, &err);

        /* the same, in pieces */
        parse_incrementally(req, n, &cfg, rc, &head, buf, &err);

        size_t next = 0; /* where the next pipelined request starts, 0: none */
        if (rc > 0) {
            size_t hl = (size_t)rc;
            check_url_decode(head.path.ptr, head.path.len, false);
            if (head.query.ptr)
                check_url_decode(head.query.ptr, head.query.len, true);

            if (head.chunked) {
                size_t used = decode_chunked(req + hl, n - hl, &cfg);
                if (used)
                    next = hl + used;
            } else if (head.content_length >= 0) {
                if ((uint64_t)head.content_length <= n - hl)
                    next = hl + (size_t)head.content_length;
            } else {
                next = hl;
            }
        }
        free(headers);
        free(buf);
        if (next == 0)
            break;
        off += next;
    }
    return 0;
}
