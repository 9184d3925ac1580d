/*
 * What a handler sees of its request (accessors) and what it builds (the response), and the
 * serialization of that response into the connection's output buffer.
 */
#include "http_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------------------------------------
 * Request accessors
 * ------------------------------------------------------------------------------------------- */

cadre_slice cadre_request_header(const cadre_request *r, const char *name)
{
    cadre_slice n = cadre_slice_cstr(name);
    for (size_t i = 0; i < r->head.num_headers; i++)
        if (cadre_slice_ieq(r->head.headers[i].name, n))
            return r->head.headers[i].value;
    return (cadre_slice){ NULL, 0 };
}

struct cadre__state {
    const char *key;
    void *ptr;
    struct cadre__state *next;
};

struct cadre__defer {
    void (*fn)(void *arg);
    void *arg;
    struct cadre__defer *next;
};

int cadre_request_set(cadre_request *r, const char *key, void *ptr)
{
    for (struct cadre__state *e = r->state; e; e = e->next) {
        if (strcmp(e->key, key) == 0) {
            e->ptr = ptr;
            return 0;
        }
    }
    struct cadre__state *e = cadre_alloc(r, sizeof *e);
    *e = (struct cadre__state){ key, ptr, r->state };
    r->state = e;
    return 0;
}

void *cadre_request_get(const cadre_request *r, const char *key)
{
    for (const struct cadre__state *e = r->state; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e->ptr;
    return NULL;
}

void cadre_request_defer(cadre_request *r, void (*fn)(void *arg), void *arg)
{
    struct cadre__defer *d = cadre_alloc(r, sizeof *d);
    *d = (struct cadre__defer){ fn, arg, r->defers };
    r->defers = d; /* a stack: the last registered runs first */
}

void cadre__request_run_defers(cadre_request *r)
{
    /* one at a time from the top: a cleanup may register another, which then runs too */
    while (r->defers) {
        struct cadre__defer *d = r->defers;
        r->defers = d->next;
        d->fn(d->arg);
    }
    r->state = NULL;
}

cadre_slice cadre_media_type(cadre_slice content_type)
{
    if (!content_type.ptr)
        return (cadre_slice){ NULL, 0 };
    const char *p = content_type.ptr, *end = p + content_type.len;
    const char *semi = memchr(p, ';', content_type.len);
    if (semi)
        end = semi;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    return (cadre_slice){ p, (size_t)(end - p) };
}

cadre_slice cadre_request_param(const cadre_request *r, const char *name)
{
    for (size_t i = 0; i < r->num_params; i++)
        if (strcmp(r->params[i].name, name) == 0)
            return r->params[i].value;
    return (cadre_slice){ NULL, 0 };
}

bool cadre_request_query(cadre_request *r, const char *key, cadre_slice *value)
{
    cadre_slice q = r->head.query;
    if (!q.ptr)
        return false;
    size_t klen = strlen(key);
    const char *p = q.ptr, *end = q.ptr + q.len;
    const char *found = NULL, *found_end = NULL;
    /* The last occurrence wins, as in Starlette's and Django's query dicts. */
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pe = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(pe - p));
        const char *ke = eq ? eq : pe;
        /* Compare the decoded key; decode only when it could contain escapes. */
        bool match;
        if (memchr(p, '%', (size_t)(ke - p)) || memchr(p, '+', (size_t)(ke - p))) {
            char *k = cadre_alloc(r, (size_t)(ke - p) + 1);
            long kl = cadre_url_decode(k, p, (size_t)(ke - p), true);
            match = kl == (long)klen && memcmp(k, key, klen) == 0;
        } else {
            match = (size_t)(ke - p) == klen && memcmp(p, key, klen) == 0;
        }
        if (match) {
            found = eq ? eq + 1 : pe;
            found_end = pe;
        }
        p = pe + 1;
    }
    if (!found)
        return false;
    char *d = cadre_alloc(r, (size_t)(found_end - found) + 1);
    long dl = cadre_url_decode(d, found, (size_t)(found_end - found), true);
    if (dl < 0)
        dl = 0; /* the parser admits only valid escapes; unreachable */
    d[dl] = '\0';
    *value = (cadre_slice){ d, (size_t)dl };
    return true;
}

void *cadre_alloc(cadre_request *r, size_t size)
{
    return cadre_arena_alloc(r->arena, size);
}

/* ---------------------------------------------------------------------------------------------
 * Building the response
 * ------------------------------------------------------------------------------------------- */

void cadre__response_drop_file(struct cadre__response_state *res)
{
    if (res->file_fd >= 0) {
        close(res->file_fd);
        res->file_fd = -1;
    }
}

int cadre_respond_ref(cadre_request *r, int status, const char *content_type, const void *body,
                      size_t len)
{
    struct cadre__response_state *res = r->res;
    cadre__response_drop_file(res); /* a file body this replaces */
    res->stream = NULL;
    res->status = status;
    res->content_type = content_type;
    res->body = (cadre_slice){ body, body ? len : 0 };
    return status;
}

/* Sets the response, copying the body (and the content type unless it is a literal of ours). */
static int respond_copy(cadre_request *r, int status, const char *content_type, bool copy_type,
                        const void *body, size_t len)
{
    void *copy = NULL;
    if (body && len) {
        copy = cadre_alloc(r, len);
        memcpy(copy, body, len);
    }
    if (content_type && copy_type)
        content_type = cadre_arena_strndup(r->arena, content_type, strlen(content_type));
    return cadre_respond_ref(r, status, content_type, copy, copy ? len : 0);
}

int cadre_respond(cadre_request *r, int status, const char *content_type, const void *body, size_t len)
{
    return respond_copy(r, status, content_type, true, body, len);
}

int cadre_respond_file(cadre_request *r, int status, const char *content_type, int fd, off_t offset,
                       size_t len)
{
    if (fd < 0 || offset < 0) {
        if (fd >= 0)
            close(fd);
        return CADRE_EINVAL;
    }
    respond_copy(r, status, content_type, true, NULL, 0);
    struct cadre__response_state *res = r->res;
    res->file_fd = fd;
    res->file_off = offset;
    res->file_len = len;
    return status;
}

int cadre_respond_stream(cadre_request *r, int status, const char *content_type,
                         cadre_body_writer write, void *ctx)
{
    respond_copy(r, status, content_type, true, NULL, 0);
    r->res->stream = write;
    r->res->stream_ctx = ctx;
    return status;
}

int cadre_text(cadre_request *r, int status, const char *text)
{
    return respond_copy(r, status, "text/plain; charset=utf-8", false, text,
                        text ? strlen(text) : 0);
}

int cadre_json_text(cadre_request *r, int status, const char *json, size_t len)
{
    return respond_copy(r, status, "application/json", false, json, len);
}

int cadre_error(cadre_request *r, int status, const char *detail)
{
    size_t n = detail ? strlen(detail) : 0;
    char *buf = cadre_alloc(r, 6 * n + 16);
    memcpy(buf, "{\"detail\":\"", 11);
    size_t len = 11 + cadre_escape_json(buf + 11, detail ? detail : "", n);
    memcpy(buf + len, "\"}", 2);
    return cadre_respond_ref(r, status, "application/json", buf, len + 2);
}

bool cadre__is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!cadre__tchar((unsigned char)*s))
            return false;
    return true;
}

/* Checks a header a handler wants to send: 0, or CADRE_EINVAL for a name that is not a token, a
 * value with a control character (CR and LF above all: no header injection; a tab is allowed,
 * RFC 9110 section 5.5) or a header that is the server's to write. */
static int header_ok(const char *name, const char *value)
{
    if (!cadre__is_token(name) || !value)
        return CADRE_EINVAL;
    for (const unsigned char *v = (const unsigned char *)value; *v; v++)
        if ((*v < 0x20 && *v != '\t') || *v == 0x7f)
            return CADRE_EINVAL;
    static const char *const reserved[] = { "content-length", "date", "connection",
                                            "transfer-encoding" };
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
        if (strcasecmp(name, reserved[i]) == 0)
            return CADRE_EINVAL;
    return 0;
}

int cadre_add_header(cadre_request *r, const char *name, const char *value)
{
    int rc = header_ok(name, value);
    if (rc)
        return rc;
    struct cadre__response_state *res = r->res;
    if (strcasecmp(name, "content-type") == 0) {
        res->content_type = cadre_arena_strndup(r->arena, value, strlen(value));
        return 0;
    }
    cadre_header *h = CADRE_VEC_PUSH(&res->headers, r->arena, 0); /* never NULL: an arena's */
    size_t nl = strlen(name), vl = strlen(value);
    *h = (cadre_header){
        { cadre_arena_strndup(r->arena, name, nl), nl },
        { cadre_arena_strndup(r->arena, value, vl), vl },
    };
    return 0;
}

int cadre_set_header(cadre_request *r, const char *name, const char *value)
{
    int rc = header_ok(name, value);
    if (rc)
        return rc;
    /* the headers of that name so far go: the new value replaces them */
    struct cadre__response_state *res = r->res;
    size_t kept = 0;
    for (size_t i = 0; i < res->headers.len; i++)
        if (!cadre_slice_ieq_cstr(res->headers.items[i].name, name))
            res->headers.items[kept++] = res->headers.items[i];
    res->headers.len = kept;
    return cadre_add_header(r, name, value);
}

int cadre_redirect(cadre_request *r, int status, const char *location)
{
    bool redirect = status == 301 || status == 302 || status == 303 || status == 307 ||
                    status == 308;
    if (!redirect || !location || cadre_set_header(r, "Location", location) != 0) {
        cadre_log(CADRE_LOG_ERROR, "%.*s %.*s: cadre_redirect(%d, %s%s%s): %s",
                  (int)r->head.method.len, r->head.method.ptr, (int)r->head.target.len,
                  r->head.target.ptr, status, location ? "\"" : "", location ? location : "NULL",
                  location ? "\"" : "",
                  !redirect ? "not a redirect status" : !location ? "no location" : "bad location");
        return cadre_error(r, 500, "Internal Server Error");
    }
    return cadre_respond_ref(r, status, NULL, NULL, 0);
}

bool cadre_responded(const cadre_request *r)
{
    return r->res->status != 0;
}

void cadre_response_clear(cadre_request *r)
{
    struct cadre__response_state *res = r->res;
    cadre__response_drop_file(res);
    res->stream = NULL;
    res->status = 0;
    res->content_type = NULL;
    res->body = (cadre_slice){ NULL, 0 };
    res->headers.len = 0;
}

int cadre_response_status(const cadre_request *r)
{
    return r->res->status;
}

cadre_slice cadre_response_header(const cadre_request *r, const char *name)
{
    for (size_t i = 0; i < r->res->headers.len; i++)
        if (cadre_slice_ieq_cstr(r->res->headers.items[i].name, name))
            return r->res->headers.items[i].value;
    if (r->res->content_type && cadre_slice_ieq_cstr(CADRE_LIT("Content-Type"), name))
        return cadre_slice_cstr(r->res->content_type);
    return (cadre_slice){ NULL, 0 };
}

uint64_t cadre_response_length(const cadre_request *r)
{
    return r->res->file_fd >= 0 ? r->res->file_len : r->res->body.len;
}

void cadre_close_after(cadre_request *r)
{
    r->res->close = true;
}

/* ---------------------------------------------------------------------------------------------
 * Serialization
 * ------------------------------------------------------------------------------------------- */

#define TAIL_MIN (32 * 1024) /* bodies from this size are written from the arena, not copied */

size_t cadre_http_date(time_t t, char out[32])
{
    static const char days[] = "SunMonTueWedThuFriSat", months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    struct tm tm;
    gmtime_r(&t, &tm);
    int n = snprintf(out, 32, "%.3s, %02d %.3s %04d %02d:%02d:%02d GMT", days + 3 * tm.tm_wday,
                     tm.tm_mday, months + 3 * tm.tm_mon, tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                     tm.tm_sec);
    return n > 0 && n < 32 ? (size_t)n : 0;
}

void cadre__update_date(cadre__worker *w)
{
    time_t now = time(NULL);
    if (now == w->date_sec)
        return;
    char date[32];
    size_t n = cadre_http_date(now, date);
    w->date_len = (size_t)snprintf(w->date_line, sizeof w->date_line, "Date: %.*s\r\n", (int)n, date);
    w->date_sec = now;
}

static char *put(char *p, const void *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

static char *put_u64(char *p, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* Copies a file body into the output (the test client's connection has no socket to sendfile
 * to). Returns false when the file could not be read in full. */
static bool read_file_body(cadre__conn *c, int fd, off_t off, size_t len)
{
    while (len > 0) {
        ssize_t n = pread(fd, c->out.data + c->out.len, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        c->out.len += (size_t)n;
        off += n;
        len -= (size_t)n;
    }
    return true;
}

/* Writes status line, headers and body; on failure (output over its cap) closes instead. A file
 * body (file: the response holding it, or NULL) is handed to the connection, which sends it with
 * sendfile after the head. */
static uint64_t write_response(cadre__conn *c, int status, const char *ctype, const cadre_header *hdrs,
                           size_t nhdrs, cadre_slice body, bool head_only, bool close, bool ka10,
                           cadre__slot *owner, struct cadre__response_state *file, int stream,
                           const char *request_id)
{
    cadre__worker *w = c->worker;
    cadre__update_date(w);
    if (status < 100 || status > 999)
        status = 500;
    const char *reason = cadre_http_status_text(status);
    bool no_body = status < 200 || status == 204 || status == 304;
    size_t ctl = ctype ? strlen(ctype) : 0;
    /* JSON is never to be sniffed into something a browser would run (an API answer that echoes
     * input, opened as a page). */
    bool nosniff = ctl >= 16 && ctype[0] == 'a' && memcmp(ctype, "application/", 12) == 0 &&
                   memmem(ctype, ctl, "json", 4);
    size_t idl = request_id ? strlen(request_id) : 0;
    size_t need = 64 + strlen(reason) + w->date_len + ctl + 64 + 32 + idl + 16;
    for (size_t i = 0; i < nhdrs; i++)
        need += hdrs[i].name.len + hdrs[i].value.len + 4;
    const cadre_server_config *cfg = w->cfg;
    for (size_t i = 0; i < cfg->n_extra_headers; i++)
        need += cfg->extra_headers[i].name.len + cfg->extra_headers[i].value.len + 4;
    bool from_file = file && file->file_fd >= 0;
    size_t body_len = from_file ? file->file_len : body.len;
    bool send_body = !head_only && !no_body && body_len > 0;
    bool as_tail = send_body && !from_file && body.len >= TAIL_MIN && c->fd >= 0 && owner;
    bool as_file = send_body && from_file && c->fd >= 0;
    if (send_body && !as_tail && !as_file)
        need += body_len;
    if (cadre_buf_reserve(&c->out, need) != 0) {
        cadre_log(CADRE_LOG_ERROR, "response of %zu bytes does not fit the output buffer", need);
        c->close_after = true;
        return 0;
    }
    size_t before = c->out.len;
    char *p = c->out.data + c->out.len;
    p = put(p, "HTTP/1.1 ", 9);
    *p++ = (char)('0' + status / 100);
    *p++ = (char)('0' + status / 10 % 10);
    *p++ = (char)('0' + status % 10);
    *p++ = ' ';
    p = put(p, reason, strlen(reason));
    p = put(p, "\r\nServer: cadre\r\n", 17);
    p = put(p, w->date_line, w->date_len);
    if (ctype) {
        p = put(p, "Content-Type: ", 14);
        p = put(p, ctype, ctl);
        p = put(p, "\r\n", 2);
    }
    for (size_t i = 0; nosniff && i < cfg->n_extra_headers; i++) /* said below already */
        nosniff = !cadre_slice_ieq_cstr(cfg->extra_headers[i].name, "X-Content-Type-Options");
    if (nosniff)
        p = put(p, "X-Content-Type-Options: nosniff\r\n", 33);
    if (stream == STREAM_CHUNKED && !no_body && !head_only) {
        p = put(p, "Transfer-Encoding: chunked\r\n", 28);
    } else if (!no_body && !stream) { /* a stream's length is not known, even to HEAD */
        p = put(p, "Content-Length: ", 16);
        p = put_u64(p, body_len);
        p = put(p, "\r\n", 2);
    }
    for (size_t i = 0; i < nhdrs; i++) {
        p = put(p, hdrs[i].name.ptr, hdrs[i].name.len);
        p = put(p, ": ", 2);
        p = put(p, hdrs[i].value.ptr, hdrs[i].value.len);
        p = put(p, "\r\n", 2);
    }
    for (size_t e = 0; e < cfg->n_extra_headers; e++) {
        const cadre_header *x = &cfg->extra_headers[e];
        size_t i = 0;
        while (i < nhdrs && !cadre_slice_ieq(hdrs[i].name, x->name))
            i++;
        if (i < nhdrs)
            continue; /* the response's own says otherwise */
        p = put(p, x->name.ptr, x->name.len);
        p = put(p, ": ", 2);
        p = put(p, x->value.ptr, x->value.len);
        p = put(p, "\r\n", 2);
    }
    if (idl) {
        p = put(p, "X-Request-ID: ", 14);
        p = put(p, request_id, idl);
        p = put(p, "\r\n", 2);
    }
    if (close)
        p = put(p, "Connection: close\r\n", 19);
    else if (ka10)
        p = put(p, "Connection: keep-alive\r\n", 24);
    p = put(p, "\r\n", 2);
    if (send_body && !as_tail && !from_file)
        p = put(p, body.ptr, body.len);
    c->out.len = (size_t)(p - c->out.data);
    if (send_body && from_file && !as_file &&
        !read_file_body(c, file->file_fd, file->file_off, file->file_len)) {
        cadre_log(CADRE_LOG_ERROR, "cannot read the file of a response: %s", strerror(errno));
        c->close_after = true;
        return c->out.len - before;
    }
    if (as_file) {
        c->file_fd = file->file_fd;
        c->file_off = file->file_off;
        c->file_left = file->file_len;
        file->file_fd = -1; /* the connection owns it now */
    }
    if (as_tail) {
        c->tail = body;
        c->tail_off = 0;
        c->tail_slot = owner;
    }
    if (close)
        c->close_after = true;
    return (uint64_t)(c->out.len - before) + (as_tail ? body.len : 0) + (as_file ? c->file_left : 0);
}

uint64_t cadre__response_write(cadre__conn *c, cadre__slot *s)
{
    struct cadre__response_state *res = &s->res;
    cadre_request *r = &s->req;
    /* The app maps its handlers' results to answers (cadre_app_dispatch); a bare dispatch
     * function that fails or answers nothing gets a 500. */
    if (s->result < 0 || (res->status == 0 && (s->result < 100 || s->result > 599))) {
        cadre_log(CADRE_LOG_ERROR, "%.*s %.*s: dispatch returned %d (%s): answering 500",
                  (int)r->head.method.len, r->head.method.ptr, (int)r->head.target.len,
                  r->head.target.ptr, s->result, s->result < 0 ? cadre_errname(s->result) : "-");
        cadre_response_clear(r);
        cadre_error(r, 500, "Internal Server Error");
    } else if (res->status == 0) {
        res->status = s->result;
    }
    bool close = c->close_after || !r->head.keep_alive || res->close || c->worker->stopping;
    bool head_only = cadre_slice_eq_cstr(r->head.method, "HEAD");
    /* a stream's framing: chunked, or to the close for HTTP/1.0, which knows no chunks */
    int framing = !res->stream ? STREAM_NONE : r->head.version == 10 ? STREAM_TO_CLOSE : STREAM_CHUNKED;
    if (framing == STREAM_TO_CLOSE)
        close = true;
    uint64_t n = write_response(c, res->status, res->content_type, res->headers.items,
                                res->headers.len, res->body, head_only, close,
                                r->head.version == 10 && !close, s, res, framing, r->request_id);
    int st = res->status;
    bool body = !head_only && st >= 200 && st != 204 && st != 304;
    s->streaming = body && n > 0 ? framing : STREAM_NONE; /* else the writer is never called */
    return n;
}

void cadre__response_error(cadre__conn *c, int status, const char *reason)
{
    char body[512];
    size_t n = strlen(reason);
    if (n > 80) {
        n = 80;
        while (n > 76 && ((unsigned char)reason[n] & 0xC0) == 0x80)
            n--; /* not inside a UTF-8 sequence */
    }
    memcpy(body, "{\"detail\":\"", 11);
    size_t len = 11 + cadre_escape_json(body + 11, reason, n);
    memcpy(body + len, "\"}", 2);
    write_response(c, status, "application/json", NULL, 0, (cadre_slice){ body, len + 2 }, false,
                   true, false, NULL, NULL, STREAM_NONE, NULL);
}
