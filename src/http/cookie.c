/*
 * Cookies (RFC 6265): reading the Cookie header's pairs as browsers send them, and writing
 * Set-Cookie headers whose names, values and attributes cannot break out of their header.
 */
#include "http_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

bool cadre_cookie_next(cadre_slice header, size_t *pos, cadre_slice *name, cadre_slice *value)
{
    const char *base = header.ptr, *end = header.ptr + header.len;
    while (base && *pos < header.len) {
        const char *p = base + *pos;
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *stop = semi ? semi : end;
        *pos = (size_t)(stop - base) + (semi ? 1 : 0);
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        if (!eq)
            continue; /* no '=': not a pair (RFC 6265 section 5.2 ignores it too) */
        const char *ns = p, *ne = eq, *vs = eq + 1, *ve = stop;
        while (ns < ne && is_space(*ns))
            ns++;
        while (ne > ns && is_space(ne[-1]))
            ne--;
        while (vs < ve && is_space(*vs))
            vs++;
        while (ve > vs && is_space(ve[-1]))
            ve--;
        if (ns == ne)
            continue; /* an empty name */
        if (ve - vs >= 2 && vs[0] == '"' && ve[-1] == '"') {
            vs++;
            ve--;
        }
        *name = (cadre_slice){ ns, (size_t)(ne - ns) };
        *value = (cadre_slice){ vs, (size_t)(ve - vs) };
        return true;
    }
    return false;
}

cadre_slice cadre_request_cookie(const cadre_request *r, const char *name)
{
    cadre_slice want = cadre_slice_cstr(name);
    for (size_t i = 0; i < r->head.num_headers; i++) {
        if (!cadre_slice_ieq_cstr(r->head.headers[i].name, "cookie"))
            continue;
        size_t pos = 0;
        cadre_slice n, v;
        while (cadre_cookie_next(r->head.headers[i].value, &pos, &n, &v))
            if (cadre_slice_eq(n, want))
                return v;
    }
    return (cadre_slice){ NULL, 0 };
}

/* RFC 6265 section 4.1.1: cookie-name is a token (cadre__is_token), cookie-value is
 * cookie-octets. */
static bool is_cookie_value(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\')
            return false;
    }
    return true;
}

/* An attribute value (Path, Domain): no ';' and no control character. */
static bool is_attr_value(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c < 0x20 || c == 0x7f || c == ';')
            return false;
    }
    return true;
}

int cadre__set_cookie(cadre_request *r, const char *name, const char *value,
                      const cadre_cookie_opts *o)
{
    cadre_cookie_opts none = { 0 };
    if (!o)
        o = &none;
    const char *path = o->path ? o->path : "/";
    const char *same = o->same_site ? o->same_site : "Lax";
    bool known_same = strcmp(same, "Lax") == 0 || strcmp(same, "Strict") == 0 ||
                      strcmp(same, "None") == 0;
    if (!name || !cadre__is_token(name) || !value || !is_cookie_value(value) ||
        !is_attr_value(path) || (o->domain && !is_attr_value(o->domain)) || !known_same ||
        (strcmp(same, "None") == 0 && !o->secure))
        return CADRE_EINVAL;
    char expires[64] = "";
    int64_t max_age = o->max_age < 0 ? 0 : o->max_age;
    if (o->max_age != 0) {
        /* Expires too, for the clients that know no Max-Age; deleting: a date long past */
        time_t when = o->max_age < 0 ? (time_t)0 : time(NULL) + (time_t)max_age;
        char date[32];
        size_t n = cadre_http_date(when, date);
        snprintf(expires, sizeof expires, "; Expires=%.*s; Max-Age=%lld", (int)n, date,
                 (long long)max_age);
    }
    char *v = cadre_arena_printf(r->arena, "%s=%s; Path=%s%s%s%s%s%s; SameSite=%s", name, value,
                                 path, o->domain ? "; Domain=" : "", o->domain ? o->domain : "",
                                 expires, o->secure ? "; Secure" : "",
                                 o->http_only ? "; HttpOnly" : "", same);
    return cadre_add_header(r, "Set-Cookie", v);
}
