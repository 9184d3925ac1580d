/*
 * An incremental multipart/form-data parser (RFC 7578 over RFC 2046's multipart syntax).
 *
 * The body is scanned for the delimiter CRLF "--" boundary. Because the boundary's characters
 * (RFC 2046 bchars) never include CR, the only CR in the delimiter is its first byte, so a failed
 * partial match never hides the start of another one: on a mismatch the matched bytes are data
 * and matching restarts at the current byte (no KMP table needed). A partial match at the end of
 * a piece of input is held as a count only, since the held bytes are the delimiter's own. That is
 * what makes the result independent of how the body is split.
 *
 * The preamble is scanned the same way with its bytes discarded. Both the preamble and each
 * part's content start as if a CRLF had just been seen (two "virtual" matched bytes, which are
 * never data): a body may begin with "--boundary", and a part may end right after its header
 * section ("...CRLF CRLF--boundary": RFC 2046's body-part without its optional [CRLF *OCTET], as
 * Go's mime/multipart reads it too).
 */
#include "form_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

enum {
    S_PREAMBLE,    /* before the first delimiter: discarded */
    S_AFTER_DELIM, /* just after CRLF "--" boundary: "--", padding or CRLF */
    S_CLOSE_DASH,  /* "-" after the boundary: the second one closes the body */
    S_PADDING,     /* transport padding: spaces and tabs up to CRLF */
    S_DELIM_LF,    /* the CR ending a delimiter line: LF must follow */
    S_HEADERS,     /* a part's header section */
    S_BODY,        /* a part's content */
    S_DONE,        /* after the close delimiter: the epilogue is ignored */
};

cadre_form_limits cadre_form_limits_default(void)
{
    return (cadre_form_limits){ .max_parts = 1000,
                                .max_header_bytes = 8 * 1024,
                                .max_field_size = 1024 * 1024,
                                .max_file_size = 10 * 1024 * 1024,
                                .tmp_dir = NULL };
}

cadre_form_limits cadre__form_limits(const cadre_form_limits *lim)
{
    cadre_form_limits d = cadre_form_limits_default();
    if (lim) {
        if (lim->max_parts)
            d.max_parts = lim->max_parts;
        if (lim->max_header_bytes)
            d.max_header_bytes = lim->max_header_bytes;
        if (lim->max_field_size)
            d.max_field_size = lim->max_field_size;
        if (lim->max_file_size > 0)
            d.max_file_size = lim->max_file_size;
        d.tmp_dir = lim->tmp_dir;
    }
    return d;
}

/* ---------------------------------------------------------------------------------------------
 * Tokens, parameters and the boundary
 * ------------------------------------------------------------------------------------------- */

static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* RFC 2046 bchars (space included; it may not be last). */
static bool is_bchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("'()+_,-./:=? ", c));
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static void skip_ows(const char **p, const char *end)
{
    while (*p < end && is_ows(**p))
        (*p)++;
}

int cadre_multipart_boundary(cadre_slice content_type, cadre_slice *boundary, const char **reason)
{
    const char *why = NULL;
    const char *p = content_type.ptr, *end = p ? p + content_type.len : NULL;
    *boundary = (cadre_slice){ NULL, 0 };
    if (!p) {
        why = "no Content-Type";
        goto out;
    }
    skip_ows(&p, end);
    const char *t = p;
    while (p < end && *p != ';')
        p++;
    const char *te = p;
    while (te > t && is_ows(te[-1]))
        te--;
    if (!cadre_slice_ieq_cstr((cadre_slice){ t, (size_t)(te - t) }, "multipart/form-data")) {
        why = "the Content-Type is not multipart/form-data";
        goto out;
    }
    while (p < end) {
        /* p is at ';' */
        p++;
        skip_ows(&p, end);
        if (p == end)
            break; /* a trailing ';' */
        const char *n = p;
        while (p < end && is_tchar((unsigned char)*p))
            p++;
        cadre_slice name = { n, (size_t)(p - n) };
        if (name.len == 0 || p == end || *p != '=') {
            why = "a malformed Content-Type parameter";
            goto out;
        }
        p++;
        cadre_slice value;
        bool quoted = p < end && *p == '"';
        bool escaped = false;
        if (quoted) {
            const char *v = ++p;
            while (p < end && *p != '"') {
                if (*p == '\\') {
                    escaped = true;
                    if (++p == end)
                        break;
                }
                p++;
            }
            if (p == end) {
                why = "an unterminated quoted string in the Content-Type";
                goto out;
            }
            value = (cadre_slice){ v, (size_t)(p - v) };
            p++;
        } else {
            /* A token, leniently: up to ';' or whitespace, so that the '=', '/', ':' and '?'
             * that some clients leave unquoted are accepted (bchars are checked below). */
            const char *v = p;
            while (p < end && *p != ';' && !is_ows(*p))
                p++;
            value = (cadre_slice){ v, (size_t)(p - v) };
        }
        skip_ows(&p, end);
        if (p < end && *p != ';') {
            why = "a malformed Content-Type parameter";
            goto out;
        }
        if (!cadre_slice_ieq_cstr(name, "boundary"))
            continue;
        if (boundary->ptr) {
            why = "two boundary parameters in the Content-Type";
            goto out;
        }
        if (escaped) {
            why = "a boundary with a backslash";
            goto out;
        }
        if (value.len < 1 || value.len > 70) {
            why = "the boundary must have 1 to 70 characters";
            goto out;
        }
        for (size_t i = 0; i < value.len; i++) {
            if (!is_bchar((unsigned char)value.ptr[i])) {
                why = "a character not allowed in a boundary";
                goto out;
            }
        }
        if (value.ptr[value.len - 1] == ' ') {
            why = "a boundary ending with a space";
            goto out;
        }
        *boundary = value;
    }
    if (!boundary->ptr)
        why = "no boundary in the multipart/form-data Content-Type";
out:
    if (why)
        *boundary = (cadre_slice){ NULL, 0 };
    if (reason)
        *reason = why;
    return why ? CADRE_EPARSE : 0;
}

/* ---------------------------------------------------------------------------------------------
 * The parser
 * ------------------------------------------------------------------------------------------- */

void cadre_multipart_init(cadre_multipart *m, cadre_slice boundary, const cadre_form_limits *lim,
                          cadre_arena *arena, const cadre_multipart_callbacks *cb, void *ctx)
{
    memset(m, 0, sizeof *m);
    m->cb = cb;
    m->ctx = ctx;
    m->arena = arena;
    m->lim = cadre__form_limits(lim);
    size_t n = boundary.len <= 70 ? boundary.len : 70;
    memcpy(m->delim, "\r\n--", 4);
    if (n)
        memcpy(m->delim + 4, boundary.ptr, n);
    m->delim_len = 4 + n;
    m->state = S_PREAMBLE;
    m->match = m->virt = 2; /* as if the body were preceded by CRLF: "--boundary" may open it */
}

static int fail(cadre_multipart *m, int code, const char *reason)
{
    if (!m->error) {
        m->error = code;
        m->reason = reason;
    }
    return m->error;
}

const char *cadre_multipart_reason(const cadre_multipart *m)
{
    return m->error ? m->reason : NULL;
}

/* Data of the current part (nothing in the preamble), with the size limits. */
static int emit(cadre_multipart *m, const char *p, size_t n)
{
    if (m->state != S_BODY || n == 0)
        return 0;
    m->part_size += (int64_t)n;
    if (m->part_is_file && m->part_size > m->lim.max_file_size) {
        snprintf(m->reason_buf, sizeof m->reason_buf, "a file is larger than %lld bytes",
                 (long long)m->lim.max_file_size);
        return fail(m, CADRE_ETOOBIG, m->reason_buf);
    }
    if (!m->part_is_file && (uint64_t)m->part_size > m->lim.max_field_size) {
        snprintf(m->reason_buf, sizeof m->reason_buf, "a form field is larger than %zu bytes",
                 m->lim.max_field_size);
        return fail(m, CADRE_ETOOBIG, m->reason_buf);
    }
    int rc = m->cb && m->cb->part_data ? m->cb->part_data(m->ctx, p, n) : 0;
    return rc ? fail(m, rc, "stopped while storing a part") : 0;
}

/*
 * Scans p[*pos..n) for the delimiter, giving the bytes before it to emit. Returns 1 when the
 * delimiter was completed (*pos is just after it), 0 when the input ran out (*pos = n), or an
 * error.
 */
static int scan(cadre_multipart *m, const char *p, size_t n, size_t *pos)
{
    size_t i = *pos, run = i; /* p[run..i) are data not emitted yet */
    size_t carried = m->match; /* delim[0..carried) matched in earlier input, not emitted */
    int rc;
    while (i < n) {
        if (m->match == 0) {
            const char *cr = memchr(p + i, '\r', n - i);
            if (!cr) {
                i = n;
                break;
            }
            i = (size_t)(cr - p) + 1;
            m->match = 1;
            m->virt = 0;
            continue;
        }
        if (p[i] == m->delim[m->match]) {
            i++;
            if (++m->match == m->delim_len) {
                /* the delimiter's bytes in this input start at i - (delim_len - carried) */
                size_t start = i - (m->delim_len - carried);
                m->match = 0;
                *pos = i;
                if ((rc = emit(m, p + run, start - run)) != 0)
                    return rc;
                return 1;
            }
            continue;
        }
        /* A mismatch: what was matched is data (but virtual bytes), p[i] is looked at again. */
        if (carried > m->virt && (rc = emit(m, m->delim + m->virt, carried - m->virt)) != 0)
            return rc;
        carried = 0;
        m->match = 0;
        m->virt = 0;
    }
    /* Hold back the part of a pending match that lies in this input. */
    size_t held = m->match - carried; /* carried is 0 after a mismatch, else match >= carried */
    *pos = n;
    return emit(m, p + run, n - held - run);
}

/* The basename of a filename: after the last '/' or '\\'; "." and ".." are nothing. */
static cadre_slice basename_of(cadre_slice f)
{
    size_t s = 0;
    for (size_t i = 0; i < f.len; i++)
        if (f.ptr[i] == '/' || f.ptr[i] == '\\')
            s = i + 1;
    cadre_slice b = { f.ptr + s, f.len - s };
    if ((b.len == 1 && b.ptr[0] == '.') || (b.len == 2 && b.ptr[0] == '.' && b.ptr[1] == '.'))
        b.len = 0;
    return b;
}

/* RFC 5987 ext-value "UTF-8'lang'percent-encoded", decoded in place; absent unless it is UTF-8,
 * well escaped and valid UTF-8. */
static cadre_slice ext_value(char *v, size_t len)
{
    char *q1 = memchr(v, '\'', len);
    if (!q1)
        return (cadre_slice){ NULL, 0 };
    char *q2 = memchr(q1 + 1, '\'', len - (size_t)(q1 + 1 - v));
    if (!q2 || !cadre_slice_ieq_cstr((cadre_slice){ v, (size_t)(q1 - v) }, "utf-8"))
        return (cadre_slice){ NULL, 0 };
    char *src = q2 + 1, *end = v + len, *out = src;
    for (char *s = src; s < end; s++) {
        if (*s == '%') {
            int hi = end - s > 2 ? cadre_hexval((unsigned char)s[1]) : -1;
            int lo = end - s > 2 ? cadre_hexval((unsigned char)s[2]) : -1;
            if (hi < 0 || lo < 0)
                return (cadre_slice){ NULL, 0 };
            *out++ = (char)(hi << 4 | lo);
            s += 2;
        } else {
            *out++ = *s;
        }
    }
    cadre_slice r = { src, (size_t)(out - src) };
    return cadre_utf8_valid(r.ptr, r.len) ? r : (cadre_slice){ NULL, 0 };
}

/*
 * Parses a Content-Disposition value in place (quoted strings are unescaped where they are).
 * Returns NULL or the reason it is refused.
 */
static const char *parse_disposition(char *p, char *end, cadre_multipart_part *part)
{
    char *t = p;
    while (p < end && *p != ';')
        p++;
    char *te = p;
    while (te > t && is_ows(te[-1]))
        te--;
    if (!cadre_slice_ieq_cstr((cadre_slice){ t, (size_t)(te - t) }, "form-data"))
        return "a part's Content-Disposition is not form-data";
    cadre_slice name = { NULL, 0 }, filename = { NULL, 0 }, filename_ext = { NULL, 0 };
    bool have_ext = false;
    while (p < end) {
        p++; /* ';' */
        while (p < end && is_ows(*p))
            p++;
        if (p == end)
            break;
        char *n = p;
        while (p < end && is_tchar((unsigned char)*p))
            p++;
        cadre_slice pn = { n, (size_t)(p - n) };
        while (p < end && is_ows(*p))
            p++;
        if (pn.len == 0 || p == end || *p != '=')
            return "a malformed Content-Disposition parameter";
        p++;
        while (p < end && is_ows(*p))
            p++;
        cadre_slice value;
        if (p < end && *p == '"') {
            /* \" and \\ are escapes; any other backslash stays (Windows paths, which browsers
             * do not escape) */
            char *v = ++p, *o = p;
            while (p < end && *p != '"') {
                if (*p == '\\' && end - p > 1 && (p[1] == '"' || p[1] == '\\'))
                    p++;
                *o++ = *p++;
            }
            if (p == end)
                return "an unterminated quoted string in a Content-Disposition";
            value = (cadre_slice){ v, (size_t)(o - v) };
            p++;
        } else {
            char *v = p;
            while (p < end && *p != ';' && !is_ows(*p))
                p++;
            value = (cadre_slice){ v, (size_t)(p - v) };
        }
        while (p < end && is_ows(*p))
            p++;
        if (p < end && *p != ';')
            return "a malformed Content-Disposition parameter";
        cadre_slice *dst = NULL;
        if (cadre_slice_ieq_cstr(pn, "name"))
            dst = &name;
        else if (cadre_slice_ieq_cstr(pn, "filename"))
            dst = &filename;
        else if (cadre_slice_ieq_cstr(pn, "filename*")) {
            if (have_ext)
                return "a repeated Content-Disposition parameter";
            have_ext = true;
            filename_ext = ext_value((char *)value.ptr, value.len);
            continue;
        } else {
            continue;
        }
        if (dst->ptr)
            return "a repeated Content-Disposition parameter";
        *dst = value.ptr ? value : (cadre_slice){ "", 0 };
    }
    if (!name.ptr)
        return "a part's Content-Disposition has no name";
    part->name = name;
    if (filename_ext.ptr)
        filename = filename_ext;
    else if (have_ext && !filename.ptr)
        filename = (cadre_slice){ "", 0 }; /* a file, with a name we cannot read */
    part->filename = filename.ptr ? basename_of(filename) : (cadre_slice){ NULL, 0 };
    return NULL;
}

/* The complete header section m->head[0..head_len), ending in the empty line. */
static int headers_done(cadre_multipart *m)
{
    cadre_multipart_part part = { { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };
    bool have_cd = false;
    char *p = m->head, *end = m->head + m->head_len - 2; /* without the final CRLF */
    while (p < end) {
        char *eol = p;
        while (eol[0] != '\r') /* each line ends in CRLF: checked as it was read */
            eol++;
        char *colon = memchr(p, ':', (size_t)(eol - p));
        if (!colon || colon == p)
            return fail(m, CADRE_EPARSE, "a malformed part header");
        for (char *c = p; c < colon; c++)
            if (!is_tchar((unsigned char)*c))
                return fail(m, CADRE_EPARSE, "a malformed part header");
        cadre_slice name = { p, (size_t)(colon - p) };
        char *v = colon + 1, *ve = eol;
        while (v < ve && is_ows(*v))
            v++;
        while (ve > v && is_ows(ve[-1]))
            ve--;
        if (cadre_slice_ieq_cstr(name, "content-disposition")) {
            if (have_cd)
                return fail(m, CADRE_EPARSE, "a part with two Content-Disposition headers");
            have_cd = true;
            const char *why = parse_disposition(v, ve, &part);
            if (why)
                return fail(m, CADRE_EPARSE, why);
        } else if (cadre_slice_ieq_cstr(name, "content-type")) {
            if (part.content_type.ptr)
                return fail(m, CADRE_EPARSE, "a part with two Content-Type headers");
            part.content_type = (cadre_slice){ v, (size_t)(ve - v) };
        }
        p = eol + 2;
    }
    if (!have_cd)
        return fail(m, CADRE_EPARSE, "a part without Content-Disposition");
    m->part_is_file = part.filename.ptr != NULL;
    m->part_size = 0;
    m->state = S_BODY;
    m->match = m->virt = 2; /* the header section's last CRLF may start the delimiter */
    int rc = m->cb && m->cb->part_begin ? m->cb->part_begin(m->ctx, &part) : 0;
    return rc ? fail(m, rc, "stopped at the start of a part") : 0;
}

/* One byte of a part's header section. */
static int header_byte(cadre_multipart *m, char c)
{
    char prev = m->head_len ? m->head[m->head_len - 1] : '\n';
    if (prev == '\r' && c != '\n')
        return fail(m, CADRE_EPARSE, "a bare CR in a part's headers");
    if (c == '\n' && prev != '\r')
        return fail(m, CADRE_EPARSE, "a bare LF in a part's headers");
    if (c == '\0')
        return fail(m, CADRE_EPARSE, "a NUL in a part's headers");
    if (prev == '\n' && is_ows(c))
        return fail(m, CADRE_EPARSE, "a folded part header line (obs-fold)");
    if (m->head_len == m->lim.max_header_bytes) {
        snprintf(m->reason_buf, sizeof m->reason_buf, "a part's headers are larger than %zu bytes",
                 m->lim.max_header_bytes);
        return fail(m, CADRE_ETOOBIG, m->reason_buf);
    }
    m->head[m->head_len++] = c;
    if (c == '\n' && (m->head_len == 2 || m->head[m->head_len - 3] == '\n'))
        return headers_done(m); /* an empty line */
    return 0;
}

int cadre_multipart_feed(cadre_multipart *m, const char *data, size_t len)
{
    size_t i = 0;
    int rc;
    while (!m->error && i < len) {
        switch (m->state) {
        case S_PREAMBLE:
        case S_BODY:
            rc = scan(m, data, len, &i);
            if (rc == 1) {
                if (m->state == S_BODY && m->cb && m->cb->part_end &&
                    (rc = m->cb->part_end(m->ctx)) != 0)
                    return fail(m, rc, "stopped at the end of a part");
                m->state = S_AFTER_DELIM;
            }
            break;
        case S_AFTER_DELIM: {
            char c = data[i++];
            if (c == '-')
                m->state = S_CLOSE_DASH;
            else if (is_ows(c))
                m->state = S_PADDING;
            else if (c == '\r')
                m->state = S_DELIM_LF;
            else
                fail(m, CADRE_EPARSE, "a boundary delimiter followed by other characters");
            break;
        }
        case S_CLOSE_DASH:
            if (data[i++] == '-')
                m->state = S_DONE;
            else
                fail(m, CADRE_EPARSE, "a boundary delimiter followed by other characters");
            break;
        case S_PADDING: {
            char c = data[i++];
            if (c == '\r')
                m->state = S_DELIM_LF;
            else if (!is_ows(c))
                fail(m, CADRE_EPARSE, "a boundary delimiter followed by other characters");
            break;
        }
        case S_DELIM_LF:
            if (data[i++] != '\n') {
                fail(m, CADRE_EPARSE, "a bare CR after a boundary delimiter");
                break;
            }
            if (++m->parts > m->lim.max_parts) {
                snprintf(m->reason_buf, sizeof m->reason_buf, "more than %zu parts",
                         m->lim.max_parts);
                fail(m, CADRE_ETOOBIG, m->reason_buf);
                break;
            }
            if (!m->head)
                m->head = cadre_arena_alloc(m->arena, m->lim.max_header_bytes);
            m->head_len = 0;
            m->state = S_HEADERS;
            break;
        case S_HEADERS:
            while (!m->error && i < len && m->state == S_HEADERS)
                header_byte(m, data[i++]);
            break;
        case S_DONE:
            return 0; /* the epilogue */
        }
    }
    return m->error;
}

int cadre_multipart_finish(cadre_multipart *m)
{
    if (m->error)
        return m->error;
    if (m->state == S_PREAMBLE)
        return fail(m, CADRE_EPARSE, "no boundary delimiter in the multipart body");
    if (m->state != S_DONE)
        return fail(m, CADRE_EPARSE, "the multipart body ends before its closing boundary");
    return 0;
}
