/*
 * CSRF protection, as Django does it (django/middleware/csrf.py):
 *
 *  - a secret of 32 letters and digits in the cookie "csrftoken" (not HttpOnly: a script sends
 *    it back in X-CSRFToken), made when a page first needs a token and again at each login;
 *  - each page gets the secret masked with fresh random letters (64 characters: the mask, then
 *    each secret letter shifted by the mask's), so that a page's bytes never repeat the secret
 *    (BREACH);
 *  - an unsafe request (POST, PUT, PATCH, DELETE) that carries the session or the CSRF cookie
 *    must come from this site's origin (Origin, else Referer, when sent) and bring the token in
 *    the form field "csrfmiddlewaretoken" or the X-CSRFToken header. The login form always must.
 *    Requests authenticated by a bearer token carry no cookie of ours and are not checked.
 */
#include "auth/auth_internal.h"

#include "cadre/form.h"

#include <sodium.h>
#include <string.h>

#define CSRF_STATE "cadre.csrf" /* the request's secret (33 bytes, NUL-terminated) */
#define FIELD "csrfmiddlewaretoken"

static const char CHARS[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
enum { NCHARS = 62 };

static int char_index(char c)
{
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return -1;
}

static bool all_chars(cadre_slice s)
{
    for (size_t i = 0; i < s.len; i++)
        if (char_index(s.ptr[i]) < 0)
            return false;
    return true;
}

/* n random characters of CHARS, uniformly: random bytes drawn in blocks (one system call per
 * block, not per character), those of 248 and above refused so that 62 divides what is left. */
static void random_chars(char *out, size_t n)
{
    unsigned char block[64];
    size_t used = sizeof block;
    for (size_t i = 0; i < n;) {
        if (used == sizeof block) {
            randombytes_buf(block, sizeof block);
            used = 0;
        }
        unsigned char b = block[used++];
        if (b < 256 - 256 % NCHARS)
            out[i++] = CHARS[b % NCHARS];
    }
    sodium_memzero(block, sizeof block);
}

/* A new secret for r: in its state, and in a cookie its response sets. */
static char *new_secret(cadre_request *r, auth_state *st)
{
    char *secret = cadre_alloc(r, CADRE_CSRF_SECRET + 1);
    random_chars(secret, CADRE_CSRF_SECRET);
    secret[CADRE_CSRF_SECRET] = '\0';
    cadre_set_cookie(r, st->o.csrf_cookie_name, secret, .max_age = 365 * 86400,
                     .secure = cadre__auth_secure_cookies(st), .same_site = "Lax");
    cadre_request_set(r, CSRF_STATE, secret);
    return secret;
}

/* The secret the request came with (its cookie), or NULL. */
static const char *cookie_secret(cadre_request *r, auth_state *st)
{
    const char *known = cadre_request_get(r, CSRF_STATE);
    if (known)
        return known;
    cadre_slice c = cadre_request_cookie(r, st->o.csrf_cookie_name);
    if (c.len != CADRE_CSRF_SECRET || !all_chars(c))
        return NULL;
    char *secret = cadre_alloc(r, CADRE_CSRF_SECRET + 1);
    memcpy(secret, c.ptr, CADRE_CSRF_SECRET);
    secret[CADRE_CSRF_SECRET] = '\0';
    cadre_request_set(r, CSRF_STATE, secret);
    return secret;
}

const char *cadre_csrf_token(cadre_request *r)
{
    auth_state *st = cadre__auth_state(cadre_request_app(r));
    if (!st)
        return NULL;
    const char *secret = cookie_secret(r, st);
    if (!secret)
        secret = new_secret(r, st);
    char *token = cadre_alloc(r, 2 * CADRE_CSRF_SECRET + 1);
    random_chars(token, CADRE_CSRF_SECRET); /* the mask */
    for (size_t i = 0; i < CADRE_CSRF_SECRET; i++)
        token[CADRE_CSRF_SECRET + i] =
            CHARS[(char_index(secret[i]) + char_index(token[i])) % NCHARS];
    token[2 * CADRE_CSRF_SECRET] = '\0';
    return token;
}

void cadre__csrf_rotate(cadre_request *r, auth_state *st)
{
    new_secret(r, st);
}

/* The secret inside a token: a masked one (64) or the secret itself (32). */
static void unmask(cadre_slice token, char secret[CADRE_CSRF_SECRET])
{
    if (token.len == CADRE_CSRF_SECRET) {
        memcpy(secret, token.ptr, CADRE_CSRF_SECRET);
        return;
    }
    for (size_t i = 0; i < CADRE_CSRF_SECRET; i++) {
        int m = char_index(token.ptr[i]), c = char_index(token.ptr[CADRE_CSRF_SECRET + i]);
        secret[i] = CHARS[(c - m + NCHARS) % NCHARS];
    }
}

/* scheme://host[:port] of a URL (an Origin is one already), or an absent slice. */
static cadre_slice origin_of(cadre_slice url)
{
    const char *sep = url.len > 3 ? memmem(url.ptr, url.len, "://", 3) : NULL;
    if (!sep)
        return (cadre_slice){ NULL, 0 };
    const char *host = sep + 3, *end = url.ptr + url.len, *p = host;
    while (p < end && *p != '/' && *p != '?' && *p != '#' && *p != '\\')
        p++;
    return (cadre_slice){ url.ptr, (size_t)(p - url.ptr) };
}

/* Whether origin (scheme://host[:port]) is this site (the request's Host, by either scheme: the
 * app cannot tell behind a proxy) or a trusted origin (a host "*.example.com" trusts the
 * subdomains). */
/* host[:port] as an origin has it: a name, an IPv4 address or a bracketed IPv6 one, nothing else
 * (no path, query, user or space that a suffix test could be fooled by). */
static bool host_ok(cadre_slice h)
{
    if (!h.len)
        return false;
    for (size_t i = 0; i < h.len; i++) {
        char c = h.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == ':' || c == '[' || c == ']'))
            return false;
    }
    return true;
}

static bool origin_ok(cadre_request *r, auth_state *st, cadre_slice origin)
{
    cadre_slice host = cadre_request_header(r, "Host");
    const char *sep = origin.len > 3 ? memmem(origin.ptr, origin.len, "://", 3) : NULL;
    if (!sep)
        return false;
    cadre_slice scheme = { origin.ptr, (size_t)(sep - origin.ptr) };
    cadre_slice ohost = { sep + 3, origin.len - (size_t)(sep + 3 - origin.ptr) };
    if (!host_ok(ohost))
        return false;
    if (host.len && (cadre_slice_ieq_cstr(scheme, "http") || cadre_slice_ieq_cstr(scheme, "https")) &&
        cadre_slice_ieq(ohost, host))
        return true;
    for (size_t i = 0; i < st->ntrusted; i++) {
        const char *t = st->trusted[i];
        const char *star = strstr(t, "://*.");
        if (!star) {
            if (cadre_slice_ieq_cstr(origin, t))
                return true;
            continue;
        }
        /* a wildcard: the same scheme, a host ending in .domain */
        size_t slen = (size_t)(star - t);
        const char *domain = star + 4; /* ".example.com" */
        size_t dlen = strlen(domain);
        if (scheme.len == slen && strncasecmp(scheme.ptr, t, slen) == 0 && ohost.len > dlen &&
            strncasecmp(ohost.ptr + ohost.len - dlen, domain, dlen) == 0 &&
            ohost.ptr[ohost.len - dlen - 1] != '.')
            return true;
    }
    return false;
}

/* The token a form sent in its csrfmiddlewaretoken field (multipart: the part of that name). */
typedef struct part_find {
    bool in;
    char value[2 * CADRE_CSRF_SECRET + 1];
    size_t len;
    bool found;
} part_find;

static int part_begin(void *ctx, const cadre_multipart_part *p)
{
    part_find *f = ctx;
    f->in = !f->found && cadre_slice_eq_cstr(p->name, FIELD) && !p->filename.ptr;
    f->len = 0;
    return 0;
}

static int part_data(void *ctx, const char *data, size_t len)
{
    part_find *f = ctx;
    if (f->in && f->len >= sizeof f->value - 1) {
        f->len = sizeof f->value; /* too long already */
    } else if (f->in) {
        size_t room = sizeof f->value - 1 - f->len;
        memcpy(f->value + f->len, data, len < room ? len : room);
        f->len += len < room ? len : room;
        if (len > room)
            f->len = sizeof f->value; /* too long to be a token: never matches */
    }
    return 0;
}

static int part_end(void *ctx)
{
    part_find *f = ctx;
    if (f->in)
        f->found = true;
    f->in = false;
    return 0;
}

static int form_token(cadre_request *r, cadre_slice *token)
{
    *token = (cadre_slice){ NULL, 0 };
    cadre_slice ctype = cadre_request_header(r, "Content-Type");
    cadre_slice media = cadre_media_type(ctype);
    bool urlencoded = cadre_slice_ieq_cstr(media, "application/x-www-form-urlencoded");
    bool multipart = cadre_slice_ieq_cstr(media, "multipart/form-data");
    if (!urlencoded && !multipart)
        return 0;
    int rc = cadre_request_read_body(r);
    if (rc)
        return rc;
    if (urlencoded) {
        /* the first csrfmiddlewaretoken=… pair, decoded */
        const char *p = r->body.ptr, *end = p + r->body.len;
        while (p < end) {
            const char *amp = memchr(p, '&', (size_t)(end - p));
            const char *pair_end = amp ? amp : end;
            const char *eq = memchr(p, '=', (size_t)(pair_end - p));
            if (eq && (size_t)(eq - p) == sizeof FIELD - 1 && memcmp(p, FIELD, sizeof FIELD - 1) == 0) {
                *token = cadre_form_url_decode(r->arena, eq + 1, (size_t)(pair_end - eq - 1), true);
                return 0;
            }
            p = pair_end + 1;
        }
        return 0;
    }
    cadre_slice boundary;
    if (cadre_multipart_boundary(ctype, &boundary, NULL) != 0)
        return 0;
    static const cadre_multipart_callbacks cb = { part_begin, part_data, part_end };
    part_find *f = cadre_alloc(r, sizeof *f);
    memset(f, 0, sizeof *f);
    cadre_multipart m;
    cadre_multipart_init(&m, boundary, NULL, r->arena, &cb, f);
    if (cadre_multipart_feed(&m, r->body.ptr, r->body.len) == 0 && f->found)
        *token = (cadre_slice){ cadre_arena_strndup(r->arena, f->value, f->len), f->len };
    return 0;
}

/* Refuses r: 403, the reason logged, and said in development mode. */
static int refuse(cadre_request *r, auth_state *st, const char *reason)
{
    cadre_log(CADRE_LOG_WARN, "Forbidden (%s): %.*s", reason, (int)r->head.path.len,
              r->head.path.ptr);
    if (cadre_app_is_dev(st->app))
        return cadre_app_error(r, 403, cadre_arena_printf(r->arena, "CSRF verification failed: %s",
                                                          reason));
    return cadre_app_error(r, 403, "CSRF verification failed. Request aborted.");
}

int cadre__csrf_verify(cadre_request *r, auth_state *st)
{
    cadre_slice origin = cadre_request_header(r, "Origin");
    if (origin.ptr && !cadre_slice_eq_cstr(origin, "null")) {
        if (!origin_ok(r, st, origin))
            return refuse(r, st, cadre_arena_printf(r->arena, "Origin checking failed - %.*s does "
                                                              "not match any trusted origins.",
                                                    (int)(origin.len > 200 ? 200 : origin.len),
                                                    origin.ptr));
    } else if (origin.ptr) { /* "null": a sandboxed or privacy-stripped origin, never this site */
        return refuse(r, st, "Origin checking failed - null does not match any trusted origins.");
    } else {
        cadre_slice referer = cadre_request_header(r, "Referer");
        if (referer.ptr) {
            cadre_slice ro = origin_of(referer);
            if (!ro.ptr)
                return refuse(r, st, "Referer checking failed - Referer is malformed.");
            if (!origin_ok(r, st, ro))
                return refuse(r, st, "Referer checking failed - the Referer does not match any "
                                     "trusted origins.");
        }
    }
    const char *secret = cookie_secret(r, st);
    if (!secret)
        return refuse(r, st, "CSRF cookie not set.");
    cadre_slice token = cadre_request_header(r, "X-CSRFToken");
    if (!token.ptr) {
        int rc = form_token(r, &token);
        if (rc)
            return rc;
    }
    if (!token.ptr || !token.len)
        return refuse(r, st, "CSRF token missing.");
    if (token.len != CADRE_CSRF_SECRET && token.len != 2 * CADRE_CSRF_SECRET)
        return refuse(r, st, "CSRF token has incorrect length.");
    if (!all_chars(token))
        return refuse(r, st, "CSRF token has invalid characters.");
    char sent[CADRE_CSRF_SECRET];
    unmask(token, sent);
    if (sodium_memcmp(sent, secret, CADRE_CSRF_SECRET) != 0)
        return refuse(r, st, "CSRF token incorrect.");
    return 0;
}

int cadre_csrf_check(cadre_request *r)
{
    auth_state *st = cadre__auth_state(cadre_request_app(r));
    return st ? cadre__csrf_verify(r, st) : CADRE_ESTATE;
}
