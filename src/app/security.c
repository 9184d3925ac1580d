/*
 * Browser safety for every app: security headers (on by default, written by the server with each
 * response: no per-request work) and CORS (a middleware, when the app asks for it).
 */
#include "app_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Security headers
 * ------------------------------------------------------------------------------------------- */

/* A header value an option gives: NULL → the default, "" → none. */
static bool value_ok(const char *v)
{
    for (; v && *v; v++)
        if ((unsigned char)*v < 0x20 || (unsigned char)*v == 0x7f)
            return false;
    return true;
}

int cadre__security_headers(cadre_app *app, const cadre_security_opts *o, const char *file,
                            int line)
{
    if (!value_ok(o->frame_options) || !value_ok(o->referrer_policy) ||
        !value_ok(o->content_type_options) || !value_ok(o->opener_policy) || o->hsts_seconds < 0) {
        cadre_app_config_error(app, file, line, "cadre_security_headers: a value with a control "
                               "character, or hsts_seconds below 0");
        return CADRE_EINVAL;
    }
    const char *names[5], *values[5];
    size_t n = 0;
    char hsts[96] = "";
    if (!o->off) {
#define ADD(NAME, OPT, DEFAULT)                                                                    \
    do {                                                                                           \
        const char *v_ = (OPT) ? (OPT) : (DEFAULT);                                                \
        if (*v_) {                                                                                 \
            names[n] = (NAME);                                                                     \
            values[n++] = v_;                                                                      \
        }                                                                                          \
    } while (0)
        ADD("X-Content-Type-Options", o->content_type_options, "nosniff");
        ADD("Referrer-Policy", o->referrer_policy, "same-origin");
        ADD("X-Frame-Options", o->frame_options, "DENY");
        ADD("Cross-Origin-Opener-Policy", o->opener_policy, "same-origin");
#undef ADD
        if (o->hsts_seconds > 0) {
            snprintf(hsts, sizeof hsts, "max-age=%lld%s%s", (long long)o->hsts_seconds,
                     o->hsts_subdomains ? "; includeSubDomains" : "",
                     o->hsts_preload ? "; preload" : "");
            names[n] = "Strict-Transport-Security";
            values[n++] = hsts;
        }
    }
    /* one block owned by the app: the headers, then their texts */
    size_t size = n * sizeof(cadre_header);
    for (size_t i = 0; i < n; i++)
        size += strlen(names[i]) + strlen(values[i]) + 2;
    cadre_header *h = n ? cadre_app_own(app, malloc(size)) : NULL;
    if (n && !h) {
        cadre_app_config_error(app, file, line, "cadre_security_headers: out of memory");
        return CADRE_ENOMEM;
    }
    char *text = (char *)(h + n);
    for (size_t i = 0; i < n; i++) {
        size_t nl = strlen(names[i]), vl = strlen(values[i]);
        memcpy(text, names[i], nl + 1);
        h[i].name = (cadre_slice){ text, nl };
        text += nl + 1;
        memcpy(text, values[i], vl + 1);
        h[i].value = (cadre_slice){ text, vl };
        text += vl + 1;
    }
    app->security = h;
    app->nsecurity = n;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * CORS (the Fetch standard's CORS protocol, as django-cors-headers and Starlette serve it)
 * ------------------------------------------------------------------------------------------- */

struct cors {
    char **origins; /* exact origins, lower-case; "*" alone: any */
    size_t norigins;
    bool any;
    char *methods, *headers, *expose; /* as sent back */
    bool credentials;
    char max_age[24];
};

/* Whether item is in the comma-separated list (spaces around items ignored; case-insensitive). */
static bool in_list(const char *list, cadre_slice item)
{
    cadre_slice x;
    for (const char *p = list; cadre_list_next(&p, &x);)
        if (cadre_slice_ieq(x, item))
            return true;
    return false;
}

static bool origin_allowed(const struct cors *c, cadre_slice origin)
{
    if (c->any)
        return true;
    for (size_t i = 0; i < c->norigins; i++)
        if (cadre_slice_ieq_cstr(origin, c->origins[i]))
            return true;
    return false;
}

/* Every header of the preflight's Access-Control-Request-Headers allowed? */
static bool headers_allowed(const struct cors *c, cadre_slice asked)
{
    cadre_slice rest = asked, item;
    while (cadre_http_list_next(&rest, &item))
        if (!in_list(c->headers, item))
            return false;
    return true;
}

static void allow_origin(cadre_request *r, const struct cors *c, cadre_slice origin)
{
    if (c->any && !c->credentials) {
        cadre_set_header(r, "Access-Control-Allow-Origin", "*");
    } else {
        cadre_set_header(r, "Access-Control-Allow-Origin",
                         cadre_arena_strndup(r->arena, origin.ptr, origin.len));
        cadre_add_header(r, "Vary", "Origin");
    }
    if (c->credentials)
        cadre_set_header(r, "Access-Control-Allow-Credentials", "true");
}

static int cors_mw(cadre_request *r, cadre_next *next, void *ctx)
{
    const struct cors *c = ctx;
    cadre_slice origin = cadre_request_header(r, "Origin");
    if (!origin.ptr)
        return cadre_next_call(r, next);
    cadre_slice asked = cadre_request_header(r, "Access-Control-Request-Method");
    if (cadre_slice_eq_cstr(r->head.method, "OPTIONS") && asked.ptr) { /* a preflight */
        cadre_slice asked_headers = cadre_request_header(r, "Access-Control-Request-Headers");
        const char *refused = !origin_allowed(c, origin) ? "origin"
                              : !in_list(c->methods, asked) ? "method"
                              : !headers_allowed(c, asked_headers) ? "headers" : NULL;
        if (!c->any)
            cadre_add_header(r, "Vary", "Origin");
        if (refused)
            return cadre_error(r, 400, cadre_arena_printf(r->arena, "Disallowed CORS %s",
                                                          refused));
        allow_origin(r, c, origin);
        cadre_set_header(r, "Access-Control-Allow-Methods", c->methods);
        if (asked_headers.len)
            cadre_set_header(r, "Access-Control-Allow-Headers", c->headers);
        cadre_set_header(r, "Access-Control-Max-Age", c->max_age);
        return cadre_respond(r, 204, NULL, NULL, 0);
    }
    int rc = cadre_next_call(r, next);
    if (rc < 0)
        return rc;
    if (origin_allowed(c, origin)) {
        allow_origin(r, c, origin);
        if (c->expose[0])
            cadre_set_header(r, "Access-Control-Expose-Headers", c->expose);
    } else if (!c->any) {
        cadre_add_header(r, "Vary", "Origin");
    }
    return rc;
}

/* An origin as browsers send it: scheme "://" host [":" port], nothing more. */
static bool origin_ok(const char *s, size_t n)
{
    const char *sep = memmem(s, n, "://", 3);
    if (!sep || sep == s)
        return false;
    for (const char *p = s; p < sep; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '+' || *p == '-' ||
              *p == '.' || (p > s && *p >= '0' && *p <= '9')))
            return false;
    const char *h = sep + 3, *end = s + n;
    if (h == end)
        return false;
    for (const char *p = h; p < end; p++)
        if (*p == '/' || *p == '?' || *p == '#' || *p == '@' || *p == ' ' || *p == '*')
            return false;
    return true;
}

static char *own_dup(cadre_app *app, const char *s)
{
    return cadre_app_own(app, strdup(s));
}

int cadre__cors(cadre_app *app, const cadre_cors_opts *o, const char *file, int line)
{
    const char *origins = o->origins ? o->origins : "";
    const char *bad = NULL;
    struct cors *c = cadre_app_own(app, calloc(1, sizeof *c));
    if (!c)
        bad = "out of memory";
    else if (!origins[0])
        bad = "origins: name the origins allowed (\"https://app.example.com,https://admin."
              "example.com\"), or \"*\" for any";
    else if (strcmp(origins, "*") == 0 && o->credentials)
        bad = "origins \"*\" with credentials: a browser refuses that; name the origins";
    else if (o->max_age < 0)
        bad = "max_age: seconds, 0 or more";
    else if (!value_ok(o->methods) || !value_ok(o->headers) || !value_ok(o->expose_headers))
        bad = "a control character in methods, headers or expose_headers";
    if (!bad && strcmp(origins, "*") == 0) {
        c->any = true;
    } else if (!bad) {
        const char *p = origins;
        while (!bad && *p) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            while (n && *p == ' ')
                p++, n--;
            while (n && p[n - 1] == ' ')
                n--;
            char **slot = NULL;
            if (!origin_ok(p, n))
                bad = "origins: each is scheme://host[:port], comma-separated (no path, no "
                      "wildcard)";
            else if (!(slot = realloc(c->origins, (c->norigins + 1) * sizeof *slot)))
                bad = "out of memory";
            if (slot) {
                c->origins = slot;
                c->origins[c->norigins] = strndup(p, n);
                if (!c->origins[c->norigins])
                    bad = "out of memory";
                else
                    cadre_app_own(app, c->origins[c->norigins++]);
            }
            p = comma ? comma + 1 : p + n;
        }
        if (c->origins)
            cadre_app_own(app, c->origins);
    }
    if (!bad) {
        c->methods = own_dup(app, o->methods ? o->methods
                                             : "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
        c->headers = own_dup(app, o->headers ? o->headers
                                             : "Accept, Accept-Language, Authorization, "
                                               "Content-Language, Content-Type, X-CSRFToken, "
                                               "X-Requested-With");
        c->expose = own_dup(app, o->expose_headers ? o->expose_headers : "");
        c->credentials = o->credentials;
        snprintf(c->max_age, sizeof c->max_age, "%lld", (long long)(o->max_age ? o->max_age : 600));
        if (!c->methods || !c->headers || !c->expose)
            bad = "out of memory";
    }
    if (bad) {
        cadre_app_config_error(app, file, line, "cadre_cors: %s", bad);
        return CADRE_EINVAL;
    }
    return cadre_app_use(app, cors_mw, c);
}

/* ---------------------------------------------------------------------------------------------
 * Trusted proxies and the client's address
 * ------------------------------------------------------------------------------------------- */

#include <arpa/inet.h>
#include <stdint.h>

struct cadre__net {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    unsigned bits;
};

/* Reads an address (IPv4-mapped IPv6 as IPv4); false when s is none. */
static bool parse_addr(const char *s, int *family, unsigned char out[16])
{
    if (inet_pton(AF_INET, s, out) == 1) {
        *family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, s, out) != 1)
        return false;
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (memcmp(out, mapped, 12) == 0) {
        memmove(out, out + 12, 4);
        *family = AF_INET;
    } else {
        *family = AF_INET6;
    }
    return true;
}

static bool net_has(const struct cadre__net *n, int family, const unsigned char *a)
{
    if (n->family != family)
        return false;
    unsigned full = n->bits / 8, rest = n->bits % 8;
    if (memcmp(n->addr, a, full) != 0)
        return false;
    if (!rest)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (n->addr[full] & mask) == (a[full] & mask);
}

int cadre_app_trusted_proxies(cadre_app *app, const char *list)
{
    size_t count = 0;
    for (const char *p = list ? list : ""; *p; p++)
        count += *p == ',';
    struct cadre__net *nets = calloc(count + 1, sizeof *nets);
    if (!nets)
        return CADRE_ENOMEM;
    size_t n = 0;
    const char *p = list ? list : "";
    int rc = 0;
    while (*p && rc == 0) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[64];
        while (len && *p == ' ')
            p++, len--;
        while (len && p[len - 1] == ' ')
            len--;
        if (len == 0 || len >= sizeof item) {
            rc = len ? CADRE_EINVAL : 0;
        } else {
            memcpy(item, p, len);
            item[len] = '\0';
            char *slash = strchr(item, '/');
            long bits = -1;
            if (slash) {
                char *end;
                *slash = '\0';
                bits = strtol(slash + 1, &end, 10);
                if (*end || end == slash + 1)
                    bits = -2;
            }
            struct cadre__net *net = &nets[n];
            if (!parse_addr(item, &net->family, net->addr) || bits == -2 ||
                bits > (net->family == AF_INET ? 32 : 128)) {
                rc = CADRE_EINVAL;
            } else {
                net->bits = bits >= 0 ? (unsigned)bits : net->family == AF_INET ? 32 : 128;
                n++;
            }
        }
        p = comma ? comma + 1 : p + len;
    }
    if (rc) {
        cadre_app_config_error(app, NULL, 0, "trusted proxies: \"%s\": each is an address or a "
                               "CIDR block (\"10.0.0.0/8\"), comma-separated", list);
        free(nets);
        return rc;
    }
    free(app->proxies);
    app->proxies = nets;
    app->nproxies = n;
    return 0;
}

static bool trusted(const cadre_app *app, const char *addr)
{
    int family;
    unsigned char a[16];
    if (!parse_addr(addr, &family, a))
        return false;
    for (size_t i = 0; i < app->nproxies; i++)
        if (net_has(&app->proxies[i], family, a))
            return true;
    return false;
}

size_t cadre_request_client(cadre_request *r, char out[CADRE_PEER_SIZE])
{
    size_t len = cadre_request_peer(r, out);
    const cadre_app *app = cadre_request_app(r);
    if (!len || !app || !app->nproxies || !trusted(app, out))
        return len;
    /* X-Forwarded-For, every field of it in order: the client is the rightmost address that is
     * not a trusted proxy (each proxy appends the address it got the request from) */
    for (size_t h = r->head.num_headers; h-- > 0;) {
        const cadre_header *f = &r->head.headers[h];
        if (!cadre_slice_ieq_cstr(f->name, "X-Forwarded-For"))
            continue;
        const char *s = f->value.ptr, *end = s + f->value.len;
        while (end > s) {
            const char *e = end;
            while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            const char *b = e;
            while (b > s && b[-1] != ',')
                b--;
            const char *t = b;
            while (t < e && (*t == ' ' || *t == '\t'))
                t++;
            end = b > s ? b - 1 : s;
            char item[CADRE_PEER_SIZE];
            size_t n = (size_t)(e - t);
            int family;
            unsigned char a[16];
            if (n == 0 || n >= sizeof item)
                return len; /* a malformed chain: the last address known to be good stays */
            memcpy(item, t, n);
            item[n] = '\0';
            if (!parse_addr(item, &family, a))
                return len;
            memcpy(out, item, n + 1);
            len = n;
            if (!trusted(app, item))
                return len;
        }
    }
    return len;
}
