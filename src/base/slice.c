/* String slices. */
#include <cadre/base.h>

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

bool cadre_list_next(const char **p, cadre_slice *item)
{
    const char *s = *p;
    while (s && *s) {
        while (*s == ' ' || *s == ',')
            s++;
        const char *e = s;
        while (*e && *e != ',')
            e++;
        const char *t = e;
        while (t > s && t[-1] == ' ')
            t--;
        if (t > s) {
            *item = (cadre_slice){ s, (size_t)(t - s) };
            *p = e;
            return true;
        }
        s = e;
    }
    if (p)
        *p = s;
    return false;
}

size_t cadre_i64_text(int64_t v, char out[CADRE_I64_TEXT])
{
    char tmp[CADRE_I64_TEXT];
    size_t n = 0;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[n++] = '-';
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}
