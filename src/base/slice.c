/* String slices. */
#include "base_internal.h"

#include <string.h>

cadre_slice cadre_slice_cstr(const char *s)
{
    return (cadre_slice){ s, s ? strlen(s) : 0 };
}

bool cadre_slice_eq(cadre_slice a, cadre_slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

bool cadre_slice_eq_cstr(cadre_slice a, const char *s)
{
    return cadre_slice_eq(a, cadre_slice_cstr(s));
}

static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

bool cadre_slice_ieq(cadre_slice a, cadre_slice b)
{
    if (a.len != b.len)
        return false;
    for (size_t i = 0; i < a.len; i++)
        if (lower((unsigned char)a.ptr[i]) != lower((unsigned char)b.ptr[i]))
            return false;
    return true;
}

bool cadre_slice_ieq_cstr(cadre_slice a, const char *s)
{
    return cadre_slice_ieq(a, cadre_slice_cstr(s));
}

int cadre_slice_to_i64(cadre_slice s, bool strict, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (s.len > 0 && s.ptr[0] == '-') {
        neg = true;
        i = 1;
    }
    if (i == s.len)
        return CADRE_EPARSE;
    if (strict && s.ptr[i] == '0' && s.len - i > 1)
        return CADRE_EPARSE;
    /* Accumulate as a negative number so that INT64_MIN fits. */
    int64_t v = 0;
    for (; i < s.len; i++) {
        unsigned d = (unsigned)(unsigned char)s.ptr[i] - '0';
        if (d > 9)
            return CADRE_EPARSE;
        if (v < (INT64_MIN + (int64_t)d) / 10)
            goto range;
        v = v * 10 - (int64_t)d;
    }
    if (!neg) {
        if (v == INT64_MIN)
            goto range;
        v = -v;
    }
    *out = v;
    return 0;
range:
    /* Finish checking that the rest are digits, so "99…9x" is a parse error, not a range one. */
    for (; i < s.len; i++)
        if ((unsigned)(unsigned char)s.ptr[i] - '0' > 9)
            return CADRE_EPARSE;
    return CADRE_ETOOBIG;
}

size_t cadre__utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF; /* range of the second byte */
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
    if ((size_t)(end - p) < n)
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

size_t cadre__json_escape(char *dst, const char *s, size_t n)
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
                size_t len = cadre__utf8_len(p, (const unsigned char *)s + n);
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
