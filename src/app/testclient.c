/*
 * The in-process test client: the request goes through the real connection code (parser, body
 * decoding, router, handler, response writer) on a connection without a socket
 * (cadre_http_test_exchange), and the answer is parsed back for the test to read.
 */
#include "app_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_DEADLINE_MS 60000 /* a suspended handler gets this long before the test gives up */

/* Parses the first response in raw[0..len) into res (slices into res->raw). head: it answers a
 * HEAD request, so it carries no body whatever its Content-Length says. */
static int parse_response(const char *out, size_t len, bool head, cadre_test_response *res)
{
    /* raw: output copy, NUL, body copy, NUL, then "name\0value\0" per header */
    char *raw = malloc(3 * len + 3);
    if (!raw)
        return CADRE_ENOMEM;
    memcpy(raw, out, len);
    raw[len] = '\0';
    res->raw = raw;
    const char *end = memmem(raw, len, "\r\n\r\n", 4);
    if (len < 12 || memcmp(raw, "HTTP/1.1 ", 9) != 0 || !end)
        return CADRE_EPARSE;
    const char *p = raw;
    /* skip interim 100 Continue responses */
    while (memcmp(p + 9, "100 ", 4) == 0) {
        p = end + 4;
        end = memmem(p, len - (size_t)(p - raw), "\r\n\r\n", 4);
        if (!end || memcmp(p, "HTTP/1.1 ", 9) != 0)
            return CADRE_EPARSE;
    }
    res->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    size_t nh = 0;
    for (const char *q = p; q < end; q++)
        nh += *q == '\n';
    res->headers = calloc(nh + 1, sizeof *res->headers);
    if (!res->headers)
        return CADRE_ENOMEM;
    char *strs = raw + 2 * len + 2;
    const char *line = strchr(p, '\n') + 1;
    size_t clen = 0;
    bool chunked = false;
    while (line < end + 2) {
        const char *eol = strstr(line, "\r\n");
        if (eol == line)
            break;
        const char *colon = memchr(line, ':', (size_t)(eol - line));
        if (!colon)
            return CADRE_EPARSE;
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        size_t nl = (size_t)(colon - line), vl = (size_t)(eol - v);
        cadre_header *h = &res->headers[res->num_headers++];
        memcpy(strs, line, nl);
        strs[nl] = '\0';
        h->name = (cadre_slice){ strs, nl };
        strs += nl + 1;
        memcpy(strs, v, vl);
        strs[vl] = '\0';
        h->value = (cadre_slice){ strs, vl };
        strs += vl + 1;
        if (cadre_slice_ieq_cstr(h->name, "content-length"))
            clen = strtoul(h->value.ptr, NULL, 10);
        if (cadre_slice_ieq_cstr(h->name, "transfer-encoding"))
            chunked = h->value.len >= 7 &&
                      cadre_slice_ieq_cstr((cadre_slice){ h->value.ptr + h->value.len - 7, 7 }, "chunked");
        line = eol + 2;
    }
    const char *body = end + 4;
    size_t avail = len - (size_t)(body - raw);
    if (clen > avail)
        clen = avail; /* a truncated answer: what there is */
    bool none = head || res->status == 204 || res->status == 304 || res->status < 200;
    if (none)
        clen = 0;
    char *b = raw + len + 1;
    if (chunked && !none) { /* a streamed body (cadre_respond_stream): its chunks joined, by the
                                * server's own decoder; one cut short gives what there is */
        memcpy(b, body, avail);
        cadre_http_chunked ch;
        cadre_http_chunked_init(&ch);
        size_t src = 0, dst = 0;
        cadre_http_error err;
        cadre_http_chunked_decode(&ch, b, avail, &src, &dst, avail, &err);
        clen = dst;    } else {
        memcpy(b, body, clen);
    }
    b[clen] = '\0';
    res->body = b;
    res->body_len = clen;
    return 0;
}

int cadre_test_raw(cadre_app *app, const char *raw, size_t len, cadre_test_response *out)
{
    memset(out, 0, sizeof *out);
    if (cadre_app_check(app) > 0)
        return CADRE_EINVAL;
    if (!app->secret_set && !app->nkeys && cadre__app_load_secret(app) < 0)
        return CADRE_EINVAL;
    cadre_server_config cfg = cadre__app_server_config(app, NULL);
    cadre_buf out_buf;
    int rc = cadre_http_test_exchange(&cfg, cadre_app_dispatch, app, raw, len, TEST_DEADLINE_MS,
                                      &out_buf);
    if (rc == 0) {
        /* the first request's method decides whether its answer has a body */
        size_t skip = 0;
        while (skip + 1 < len && raw[skip] == '\r' && raw[skip + 1] == '\n')
            skip += 2;
        bool head = len - skip >= 5 && memcmp(raw + skip, "HEAD ", 5) == 0;
        rc = out_buf.len ? parse_response(out_buf.data, out_buf.len, head, out) : CADRE_ECLOSED;
    }
    cadre_buf_free(&out_buf);
    if (rc)
        cadre_test_response_free(out);
    return rc;
}

int cadre_test_request(cadre_app *app, const char *method, const char *target, const char *headers,
                       const void *body, size_t body_len, cadre_test_response *out)
{
    cadre_buf req;
    cadre_buf_init(&req, (size_t)1 << 31);
    int rc = cadre_buf_appendf(&req, "%s %s HTTP/1.1\r\nHost: testserver\r\n%s", method, target,
                               headers ? headers : "");
    if (rc == 0 && body)
        rc = cadre_buf_appendf(&req, "Content-Length: %zu\r\n", body_len);
    if (rc == 0)
        rc = cadre_buf_append(&req, "\r\n", 2);
    if (rc == 0 && body)
        rc = cadre_buf_append(&req, body, body_len);
    if (rc == 0)
        rc = cadre_test_raw(app, req.data, req.len, out);
    else
        memset(out, 0, sizeof *out);
    cadre_buf_free(&req);
    return rc;
}

const char *cadre_test_header(const cadre_test_response *res, const char *name)
{
    for (size_t i = 0; i < res->num_headers; i++)
        if (cadre_slice_ieq_cstr(res->headers[i].name, name))
            return res->headers[i].value.ptr;
    return NULL;
}

void cadre_test_response_free(cadre_test_response *res)
{
    free(res->headers);
    free(res->raw);
    memset(res, 0, sizeof *res);
}
