/*
 * HTTP/1.1 request parser (RFC 9112), strict and allocation-free.
 *
 * The head is parsed in one pass once its terminating empty line has arrived; until then each
 * call only scans the new bytes for line ends (so a head arriving byte by byte is scanned once)
 * and refuses bare LF and oversize input early. Every slice points into the caller's buffer.
 */
#include "http_internal.h"

#include <string.h>

/* Character classes (RFC 9110 5.6.2 tchar; field-content; request-target bytes). */
enum { C_TCHAR = 1, C_VALUE = 2, C_TARGET = 4, C_HEX = 8, C_HOST = 16 };

static const unsigned char cclass[256] = {
#define R(lo, hi, v) [lo... hi] = v
    ['\t'] = C_VALUE,
    [' '] = C_VALUE,
    ['!'] = C_TCHAR | C_VALUE | C_TARGET | C_HOST,
    ['"'] = C_VALUE | C_TARGET,
    ['#'] = C_TCHAR | C_VALUE | C_TARGET,
    ['$'] = C_TCHAR | C_VALUE | C_TARGET | C_HOST,
    ['%'] = C_TCHAR | C_VALUE | C_TARGET | C_HOST,
    ['&'] = C_TCHAR | C_VALUE | C_TARGET | C_HOST,
    ['\''] = C_TCHAR | C_VALUE | C_TARGET | C_HOST,
    ['('] = C_VALUE | C_TARGET | C_HOST,
    [')'] = C_VALUE | C_TARGET | C_HOST,
    ['*'] = C_TCHAR | C_VALUE | C_TARGET | C_HOST,
    ['+'] = C_TCHAR | C_VALUE | C_TARGET | C_HOST,
    [','] = C_VALUE | C_TARGET | C_HOST,
    ['-'] = C_TCHAR | C_VALUE | C_TARGET | C_HOST,
    ['.'] = C_TCHAR | C_VALUE | C_TARGET | C_HOST,
    ['/'] = C_VALUE | C_TARGET,
    R('0', '9', C_TCHAR | C_VALUE | C_TARGET | C_HEX | C_HOST),
    [':'] = C_VALUE | C_TARGET | C_HOST,
    [';'] = C_VALUE | C_TARGET | C_HOST,
    ['<'] = C_VALUE | C_TARGET,
    ['='] = C_VALUE | C_TARGET | C_HOST,
    ['>'] = C_VALUE | C_TARGET,
    ['?'] = C_VALUE | C_TARGET,
    ['@'] = C_VALUE | C_TARGET,
    R('A', 'F', C_TCHAR | C_VALUE | C_TARGET | C_HEX | C_HOST),
    R('G', 'Z', C_TCHAR | C_VALUE | C_TARGET | C_HOST),
    ['['] = C_VALUE | C_TARGET | C_HOST,
    ['\\'] = C_VALUE | C_TARGET,
    [']'] = C_VALUE | C_TARGET | C_HOST,
    ['^'] = C_TCHAR | C_VALUE | C_TARGET,
    ['_'] = C_TCHAR | C_VALUE | C_TARGET | C_HOST,
    ['`'] = C_TCHAR | C_VALUE | C_TARGET,
    R('a', 'f', C_TCHAR | C_VALUE | C_TARGET | C_HEX | C_HOST),
    R('g', 'z', C_TCHAR | C_VALUE | C_TARGET | C_HOST),
    ['{'] = C_VALUE | C_TARGET,
    ['|'] = C_TCHAR | C_VALUE | C_TARGET,
    ['}'] = C_VALUE | C_TARGET,
    ['~'] = C_TCHAR | C_VALUE | C_TARGET | C_HOST,
    R(0x80, 0xff, C_VALUE), /* obs-text: allowed in values, never in tokens or targets */
#undef R
};

#define IS(c, cls) (cclass[(unsigned char)(c)] & (cls))

bool cadre__tchar(unsigned char c)
{
    return IS(c, C_TCHAR);
}

cadre_http_limits cadre_http_limits_default(void)
{
    return (cadre_http_limits){
        .max_head = 16 * 1024,
        .max_target = 8 * 1024,
        .max_body = 1024 * 1024,
        .max_headers = 100,
    };
}

static int fail(cadre_http_error *err, int status, const char *reason)
{
    err->status = status;
    err->reason = reason;
    return CADRE_HTTP_ERROR;
}

bool cadre_http_list_next(cadre_slice *rest, cadre_slice *item)
{
    const char *p = rest->ptr, *end = rest->ptr + rest->len;
    for (;;) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        if (p == end) {
            *rest = (cadre_slice){ end, 0 };
            return false;
        }
        const char *s = p;
        while (p < end && *p != ',')
            p++;
        const char *e = p;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        *item = (cadre_slice){ s, (size_t)(e - s) };
        *rest = (cadre_slice){ p, (size_t)(end - p) };
        return true;
    }
}

/* Parses the request target into path, query and (absolute-form) host. */
static int parse_target(cadre_http_head *h, cadre_http_error *err)
{
    const char *t = h->target.ptr, *end = t + h->target.len;
    const char *p = t;
    h->host = (cadre_slice){ NULL, 0 };
    if (*t == '/') {
        /* origin-form */
    } else if (h->target.len == 1 && *t == '*') {
        if (!cadre_slice_eq_cstr(h->method, "OPTIONS"))
            return fail(err, 400, "asterisk-form target is only for OPTIONS");
        h->path = h->target;
        h->query = (cadre_slice){ NULL, 0 };
        return 0;
    } else {
        /* absolute-form: http:// or https://, authority, then an optional absolute path. */
        size_t skip;
        if (h->target.len >= 7 && cadre_slice_ieq_cstr((cadre_slice){ t, 7 }, "http://"))
            skip = 7;
        else if (h->target.len >= 8 && cadre_slice_ieq_cstr((cadre_slice){ t, 8 }, "https://"))
            skip = 8;
        else
            return fail(err, 400, "request target must be origin-form, absolute-form or *");
        p = t + skip;
        const char *a = p;
        while (p < end && *p != '/' && *p != '?') {
            if (!IS(*p, C_HOST) || *p == '%')
                return fail(err, 400, "invalid authority in request target");
            p++;
        }
        if (p == a)
            return fail(err, 400, "empty authority in request target");
        h->host = (cadre_slice){ a, (size_t)(p - a) };
        if (p == end || *p == '?') {
            /* "http://host" or "http://host?q": the path is "/" (the one of "//", so that every
             * slice stays inside the caller's buffer) */
            h->path = (cadre_slice){ t + skip - 1, 1 };
            if (p < end) {
                h->query = (cadre_slice){ p + 1, (size_t)(end - p - 1) };
            } else {
                h->query = (cadre_slice){ NULL, 0 };
            }
            return 0;
        }
    }
    const char *q = memchr(p, '?', (size_t)(end - p));
    if (q) {
        h->path = (cadre_slice){ p, (size_t)(q - p) };
        h->query = (cadre_slice){ q + 1, (size_t)(end - q - 1) };
    } else {
        h->path = (cadre_slice){ p, (size_t)(end - p) };
        h->query = (cadre_slice){ NULL, 0 };
    }
    return 0;
}

/*
 * Parses the request line in buf[start..end): method SP request-target SP HTTP-version CRLF.
 * Returns the offset just past its CRLF, 0 when the bytes so far are a valid beginning, or
 * CADRE_HTTP_ERROR. Whole and partial input go through this one path, so a request refused
 * before it has fully arrived gets the same answer as when it arrives in one piece.
 */
static long parse_request_line(const char *buf, size_t start, size_t end_off,
                               const cadre_http_limits *lim, cadre_http_head *h,
                               cadre_http_error *err)
{
    const char *p = buf + start, *end = buf + end_off;
    const char *m = p;
    while (p < end && IS(*p, C_TCHAR))
        p++;
    if (p == end)
        return 0;
    if (p == m)
        return fail(err, 400, "missing or invalid method");
    if (*p != ' ')
        return fail(err, 400, "invalid character in method");
    h->method = (cadre_slice){ m, (size_t)(p - m) };
    const char *t = ++p;
    for (;;) {
        if (p == end)
            return 0;
        if (!IS(*p, C_TARGET))
            break;
        if (*p == '%') {
            for (int i = 1; i <= 2; i++) {
                if (p + i == end)
                    return 0;
                if (!IS(p[i], C_HEX))
                    return fail(err, 400, "invalid percent-escape in request target");
            }
            p += 2;
        } else if (*p == '#') {
            return fail(err, 400, "fragment in request target");
        }
        p++;
        if ((size_t)(p - t) > lim->max_target)
            return fail(err, 414, "request target too long");
    }
    if (p == t)
        return fail(err, 400, "missing request target");
    if (*p != ' ')
        return fail(err, 400, "invalid character in request target");
    h->target = (cadre_slice){ t, (size_t)(p - t) };
    p++;
    /* "HTTP/" DIGIT "." DIGIT CRLF, checked as far as it has arrived */
    static const char shape[] = "HTTP/9.9\r\n";
    for (size_t i = 0; i < 10; i++) {
        if (p + i == end)
            return 0;
        char c = p[i], want = shape[i];
        if (want == '9' ? (c < '0' || c > '9') : c != want)
            return fail(err, 400, "invalid HTTP version");
    }
    if (p[5] != '1')
        return fail(err, 505, "HTTP version not supported");
    h->version = p[7] == '0' ? 10 : 11;
    return (long)(p + 10 - buf);
}

int cadre_http_parse_head(const char *buf, size_t len, size_t prev_len, const cadre_http_limits *lim,
                          cadre_http_head *h, cadre_header *headers, size_t max_headers,
                          cadre_http_error *err)
{
    /* Everything is judged on the first max_head bytes, in the order the bytes come, so the answer
     * does not depend on how the request was split into reads. */
    size_t limit = len < lim->max_head ? len : lim->max_head;
    bool over = len > lim->max_head;

    /* RFC 9112 2.2: ignore empty lines before the request line. */
    size_t start = 0;
    while (start + 1 < limit && buf[start] == '\r' && buf[start + 1] == '\n')
        start += 2;
    bool waiting_lf = start + 1 == limit && buf[start] == '\r'; /* a CRLF half arrived */
    long rl = start < limit && !waiting_lf ? parse_request_line(buf, start, limit, lim, h, err) : 0;
    if (rl < 0)
        return CADRE_HTTP_ERROR;
    if (rl == 0)
        return over ? fail(err, 431, "request header section too large") : CADRE_HTTP_PARTIAL;

    /* The rest of the head: every line ends in CRLF, and an empty line ends the head. Resume
     * where the previous call stopped (it saw no problem before that point). */
    size_t head_len = 0;
    for (size_t k = prev_len > (size_t)rl ? prev_len - 1 : (size_t)rl; k < limit; k++) {
        char c = buf[k];
        if ((unsigned char)c > '\r')
            continue;
        if (c == '\n') {
            if (buf[k - 1] != '\r')
                return fail(err, 400, "bare LF: lines must end with CRLF");
            if (buf[k - 2] == '\n' && buf[k - 3] == '\r') {
                head_len = k + 1;
                break;
            }
        } else if (c == '\r' && k + 1 < len && buf[k + 1] != '\n') {
            return fail(err, 400, "bare CR: lines must end with CRLF");
        }
    }
    if (!head_len)
        return over ? fail(err, 431, "request header section too large") : CADRE_HTTP_PARTIAL;
    const char *p = buf + rl, *stop = buf + head_len;

    if (parse_target(h, err))
        return CADRE_HTTP_ERROR;

    /* Header fields */
    size_t cap = max_headers < lim->max_headers ? max_headers : lim->max_headers;
    size_t n = 0;
    int host_count = 0;
    cadre_slice host_hdr = { NULL, 0 };
    bool have_cl = false, have_te = false, conn_close = false, conn_ka = false;
    int te_chunked = 0;
    bool te_last_chunked = false, te_other = false;
    int64_t cl = -1;
    h->expect_continue = false;
    h->headers = headers;

    while (p < stop) {
        if (*p == '\r') { /* the empty line (every CR here is followed by LF: see above) */
            p += 2;
            break;
        }
        if (*p == ' ' || *p == '\t')
            return fail(err, 400, "obsolete line folding");
        const char *name = p;
        while (IS(*p, C_TCHAR))
            p++;
        if (*p != ':') {
            if (*p == ' ' || *p == '\t')
                return fail(err, 400, "whitespace before colon in header field");
            return fail(err, 400, "invalid character in header field name");
        }
        if (p == name)
            return fail(err, 400, "empty header field name");
        size_t name_len = (size_t)(p - name);
        p++;
        while (*p == ' ' || *p == '\t')
            p++;
        const char *v = p;
        while (IS(*p, C_VALUE))
            p++;
        if (*p != '\r')
            return fail(err, 400, "invalid character in header field value");
        const char *ve = p;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        p += 2;
        if (n >= cap)
            return fail(err, 431, "too many header fields");
        cadre_slice nm = { name, name_len }, val = { v, (size_t)(ve - v) };
        headers[n].name = nm;
        headers[n].value = val;
        n++;

        switch (name_len) {
        case 4:
            if (cadre_slice_ieq_cstr(nm, "host")) {
                if (++host_count > 1)
                    return fail(err, 400, "more than one Host header");
                for (size_t i = 0; i < val.len; i++)
                    if (!IS(val.ptr[i], C_HOST))
                        return fail(err, 400, "invalid Host header");
                host_hdr = val;
            }
            break;
        case 6:
            if (cadre_slice_ieq_cstr(nm, "expect")) {
                if (!cadre_slice_ieq_cstr(val, "100-continue"))
                    return fail(err, 417, "unsupported expectation");
                /* RFC 9110 10.1.1: ignored in HTTP/1.0, whose clients know no 100. */
                h->expect_continue = h->version == 11;
            }
            break;
        case 10:
            if (cadre_slice_ieq_cstr(nm, "connection")) {
                cadre_slice rest = val, item;
                while (cadre_http_list_next(&rest, &item)) {
                    if (cadre_slice_ieq_cstr(item, "close"))
                        conn_close = true;
                    else if (cadre_slice_ieq_cstr(item, "keep-alive"))
                        conn_ka = true;
                }
            }
            break;
        case 14:
            if (cadre_slice_ieq_cstr(nm, "content-length")) {
                if (have_cl)
                    return fail(err, 400, "more than one Content-Length");
                have_cl = true;
                if (val.len == 0)
                    return fail(err, 400, "invalid Content-Length");
                cl = 0;
                for (size_t i = 0; i < val.len; i++) {
                    unsigned d = (unsigned)(unsigned char)val.ptr[i] - '0';
                    if (d > 9)
                        return fail(err, 400, "invalid Content-Length");
                    if (cl > (INT64_MAX - (int64_t)d) / 10)
                        return fail(err, 400, "Content-Length out of range");
                    cl = cl * 10 + (int64_t)d;
                }
            }
            break;
        case 17:
            if (cadre_slice_ieq_cstr(nm, "transfer-encoding")) {
                have_te = true;
                cadre_slice rest = val, item;
                bool any = false;
                while (cadre_http_list_next(&rest, &item)) {
                    any = true;
                    te_last_chunked = cadre_slice_ieq_cstr(item, "chunked");
                    if (te_last_chunked)
                        te_chunked++;
                    else
                        te_other = true;
                }
                if (!any)
                    return fail(err, 400, "empty Transfer-Encoding");
            }
            break;
        default:
            break;
        }
    }

    if (h->version == 11 && host_count == 0)
        return fail(err, 400, "missing Host header");
    if (have_te) {
        if (have_cl)
            return fail(err, 400, "both Content-Length and Transfer-Encoding");
        if (h->version == 10)
            return fail(err, 400, "Transfer-Encoding in an HTTP/1.0 request");
        if (te_chunked > 1)
            return fail(err, 400, "chunked applied more than once");
        if (!te_last_chunked)
            return te_chunked ? fail(err, 400, "chunked is not the final transfer coding")
                              : fail(err, 501, "unsupported transfer coding");
        if (te_other)
            return fail(err, 501, "unsupported transfer coding");
    }
    if (!h->host.ptr)
        h->host = host_hdr;
    h->num_headers = n;
    h->content_length = have_cl ? cl : -1;
    h->chunked = have_te;
    h->keep_alive = h->version == 11 ? !conn_close : (conn_ka && !conn_close);
    return (int)head_len;
}

/* ---------------------------------------------------------------------------------------------
 * Chunked transfer coding (RFC 9112 7.1)
 * ------------------------------------------------------------------------------------------- */

enum {
    CH_SIZE0,     /* first hex digit of a chunk size */
    CH_SIZE,      /* more hex digits */
    CH_EXT,       /* after the size or an extension: BWS, then ';' or CR */
    CH_EXT_NAME0, /* after ';': BWS, then the first character of a name */
    CH_EXT_NAME,  /* in an extension name */
    CH_EXT_NAMEW, /* whitespace after a name: '=', ';' or CR follow */
    CH_EXT_VAL0,  /* after '=': BWS, then a token or a quoted string */
    CH_EXT_VAL,   /* in a token value */
    CH_EXT_Q,     /* inside a quoted value */
    CH_EXT_QESC,  /* after a backslash in a quoted value */
    CH_SIZE_LF,   /* CR seen after the size line */
    CH_DATA,      /* chunk data */
    CH_DATA_CR,   /* CRLF after chunk data */
    CH_DATA_LF,
    CH_TR_START,  /* start of a trailer line (or the final empty line) */
    CH_TR_NAME,
    CH_TR_VALUE,
    CH_TR_LF,     /* CR seen at the end of a trailer field */
    CH_END_LF,    /* CR seen on the final empty line */
    CH_DONE,
};

#define MAX_CHUNK_LINE 4096   /* a chunk-size line with extensions */
#define MAX_TRAILERS (16 * 1024)

void cadre_http_chunked_init(cadre_http_chunked *c)
{
    memset(c, 0, sizeof *c);
}

int cadre_http_chunked_decode(cadre_http_chunked *c, char *buf, size_t len, size_t *src, size_t *dst,
                              size_t max_body, cadre_http_error *err)
{
    size_t s = *src, d = *dst;
    int rc = CADRE_HTTP_PARTIAL;
    while (s < len) {
        unsigned char ch = (unsigned char)buf[s];
        switch (c->state) {
        case CH_SIZE0:
        case CH_SIZE: {
            int v = cadre_hexval(ch);
            if (v >= 0) {
                if (c->remaining >> 60) {
                    rc = fail(err, 400, "chunk size too large");
                    goto out;
                }
                c->remaining = c->remaining << 4 | (uint64_t)v;
                c->state = CH_SIZE;
                s++;
                if (++c->line > 16) {
                    rc = fail(err, 400, "chunk size too large");
                    goto out;
                }
                break;
            }
            if (c->state == CH_SIZE0) {
                rc = fail(err, 400, "invalid chunk size");
                goto out;
            }
            if (c->remaining > max_body - c->total) {
                rc = fail(err, 413, "request body too large");
                goto out;
            }
            if (ch == '\r' || ch == ';' || ch == ' ' || ch == '\t') {
                c->state = CH_EXT; /* the extension states take it from here */
            } else {
                rc = fail(err, 400, "invalid chunk size");
                goto out;
            }
            break;
        }
        case CH_EXT:
        case CH_EXT_NAME0:
        case CH_EXT_NAME:
        case CH_EXT_NAMEW:
        case CH_EXT_VAL0:
        case CH_EXT_VAL:
        case CH_EXT_Q:
        case CH_EXT_QESC: {
            /* chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ) */
            int st = c->state, next = -1;
            bool ws = ch == ' ' || ch == '\t', tok = IS(ch, C_TCHAR) != 0;
            switch (st) {
            case CH_EXT:
                next = ws ? CH_EXT : ch == ';' ? CH_EXT_NAME0 : ch == '\r' ? CH_SIZE_LF : -1;
                break;
            case CH_EXT_NAME0:
                next = ws ? CH_EXT_NAME0 : tok ? CH_EXT_NAME : -1;
                break;
            case CH_EXT_NAME:
            case CH_EXT_NAMEW:
                next = (tok && st == CH_EXT_NAME) ? CH_EXT_NAME
                       : ws                       ? CH_EXT_NAMEW
                       : ch == '='                ? CH_EXT_VAL0
                       : ch == ';'                ? CH_EXT_NAME0
                       : ch == '\r'               ? CH_SIZE_LF
                                                  : -1;
                break;
            case CH_EXT_VAL0:
                next = ws ? CH_EXT_VAL0 : tok ? CH_EXT_VAL : ch == '"' ? CH_EXT_Q : -1;
                break;
            case CH_EXT_VAL:
                next = tok ? CH_EXT_VAL : ws ? CH_EXT : ch == ';' ? CH_EXT_NAME0
                     : ch == '\r' ? CH_SIZE_LF : -1;
                break;
            case CH_EXT_Q:
                next = ch == '"' ? CH_EXT : ch == '\\' ? CH_EXT_QESC : IS(ch, C_VALUE) ? CH_EXT_Q : -1;
                break;
            default: /* CH_EXT_QESC: quoted-pair */
                next = IS(ch, C_VALUE) ? CH_EXT_Q : -1;
                break;
            }
            if (next < 0) {
                rc = fail(err, 400, "invalid chunk extension");
                goto out;
            }
            c->state = next;
            s++;
            if (++c->line > MAX_CHUNK_LINE) {
                rc = fail(err, 400, "chunk extension too long");
                goto out;
            }
            break;
        }
        case CH_SIZE_LF:
            if (ch != '\n') {
                rc = fail(err, 400, "bare CR in chunk size line");
                goto out;
            }
            s++;
            c->line = 0;
            c->state = c->remaining ? CH_DATA : CH_TR_START;
            break;
        case CH_DATA: {
            size_t n = len - s;
            if (n > c->remaining)
                n = (size_t)c->remaining;
            if (d != s)
                memmove(buf + d, buf + s, n);
            s += n;
            d += n;
            c->total += n;
            c->remaining -= n;
            if (!c->remaining)
                c->state = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
        case CH_DATA_LF:
            if (ch != (c->state == CH_DATA_CR ? '\r' : '\n')) {
                rc = fail(err, 400, "chunk data not followed by CRLF");
                goto out;
            }
            s++;
            c->state = c->state == CH_DATA_CR ? CH_DATA_LF : CH_SIZE0;
            break;
        case CH_TR_START:
            if (ch == '\r') {
                c->state = CH_END_LF;
            } else if (IS(ch, C_TCHAR)) {
                c->state = CH_TR_NAME;
            } else {
                rc = fail(err, 400, "invalid trailer field");
                goto out;
            }
            s++;
            break;
        case CH_TR_NAME:
            if (ch == ':') {
                c->state = CH_TR_VALUE;
            } else if (!IS(ch, C_TCHAR)) {
                rc = fail(err, 400, "invalid trailer field name");
                goto out;
            }
            s++;
            break;
        case CH_TR_VALUE:
            if (ch == '\r') {
                c->state = CH_TR_LF;
            } else if (!IS(ch, C_VALUE)) {
                rc = fail(err, 400, "invalid trailer field value");
                goto out;
            }
            s++;
            break;
        case CH_TR_LF:
        case CH_END_LF:
            if (ch != '\n') {
                rc = fail(err, 400, "bare CR in trailer section");
                goto out;
            }
            s++;
            if (c->state == CH_END_LF) {
                c->state = CH_DONE;
                rc = 0;
                goto out;
            }
            c->state = CH_TR_START;
            break;
        default: /* CH_DONE */
            rc = 0;
            goto out;
        }
        if (c->state >= CH_TR_START && ++c->trailers > MAX_TRAILERS) {
            rc = fail(err, 431, "trailer section too large");
            goto out;
        }
    }
    if (c->state == CH_DONE)
        rc = 0;
out:
    *src = s;
    *dst = d;
    return rc;
}

const char *cadre_http_status_text(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}
