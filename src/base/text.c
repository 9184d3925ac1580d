/*
 * Text helpers: UTF-8 checks, JSON and HTML escaping, and strtod in the "C" locale. Small and
 * shared by every module that reads or writes text.
 */
#include <cadre/base.h>

#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The length of the sequence p starts, or 0 when it is invalid. *cut tells, when 0, that the
 * bytes before end are a valid beginning that end cut short. */
static size_t seq_len(const unsigned char *p, const unsigned char *end, bool *cut)
{
    unsigned c = p[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF; /* range of the second byte */
    *cut = false;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* no overlong */
        else if (c == 0xED)
            hi = 0x9F; /* no UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F; /* nothing past U+10FFFF */
    } else {
        return 0;
    }
    size_t have = (size_t)(end - p) < n ? (size_t)(end - p) : n;
    if (have > 1 && (p[1] < lo || p[1] > hi))
        return 0;
    for (size_t i = 2; i < have; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if (have < n) {
        *cut = true;
        return 0;
    }
    return n;
}

size_t cadre_utf8_seq_len(const unsigned char *p, const unsigned char *end)
{
    bool cut;
    return seq_len(p, end, &cut);
}

bool cadre_utf8_valid_prefix(const char *s, size_t n, size_t *complete)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        bool cut;
        size_t k = seq_len(p, end, &cut);
        if (!k) {
            if (!cut)
                return false;
            break;
        }
        p += k;
    }
    *complete = (size_t)(p - (const unsigned char *)s);
    return true;
}

bool cadre_utf8_valid(const char *s, size_t n)
{
    size_t complete;
    return cadre_utf8_valid_prefix(s, n, &complete) && complete == n;
}

size_t cadre_escape_json(char *dst, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char *o = dst;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': *o++ = '\\'; *o++ = '"'; break;
        case '\\': *o++ = '\\'; *o++ = '\\'; break;
        case '\n': *o++ = '\\'; *o++ = 'n'; break;
        case '\r': *o++ = '\\'; *o++ = 'r'; break;
        case '\t': *o++ = '\\'; *o++ = 't'; break;
        default:
            if (c < 0x20 || c == 0x7f) {
                memcpy(o, "\\u00", 4);
                o[4] = hex[c >> 4];
                o[5] = hex[c & 15];
                o += 6;
            } else if (c < 0x80) {
                *o++ = (char)c;
            } else {
                /* JSON is UTF-8: a byte that does not start a valid sequence is U+FFFD */
                const unsigned char *p = (const unsigned char *)s + i;
                size_t len = cadre_utf8_seq_len(p, (const unsigned char *)s + n);
                if (len) {
                    memcpy(o, p, len);
                    o += len;
                    i += len - 1;
                } else {
                    memcpy(o, "\\ufffd", 6);
                    o += 6;
                }
            }
        }
    }
    return (size_t)(o - dst);
}

int cadre_buf_append_html(cadre_buf *b, const char *s, size_t n)
{
    const char *run = s, *end = s + n;
    int rc = 0;
    for (const char *p = s; p < end && rc == 0; p++) {
        const char *rep;
        size_t rl;
        switch (*p) {
        case '&': rep = "&amp;", rl = 5; break;
        case '<': rep = "&lt;", rl = 4; break;
        case '>': rep = "&gt;", rl = 4; break;
        case '"': rep = "&#34;", rl = 5; break;
        case '\'': rep = "&#39;", rl = 5; break;
        default: continue;
        }
        rc = cadre_buf_append(b, run, (size_t)(p - run));
        if (rc == 0)
            rc = cadre_buf_append(b, rep, rl);
        run = p + 1;
    }
    return rc ? rc : cadre_buf_append(b, run, (size_t)(end - run));
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void)
{
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

double cadre_strtod(const char *s, char **end)
{
    pthread_once(&c_locale_once, make_c_locale);
    return c_locale ? strtod_l(s, end, c_locale) : strtod(s, end);
}
