/*
 * libFuzzer target for CSRF protection (src/auth/csrf.c) through the in-process test client: a
 * POST to a plain route of an app with auth on (trusted origins: https://trusted.example, and
 * https with any host "*.sub.example"), its headers and body from the input.
 *
 * Input: up to six fields, one per line ('\n'; the sixth ends at the next '\n', the rest is
 * ignored; a '\n' ending the input starts no field):
 *
 *   1. Host          missing: "testserver" (what the test client sends); "-": no Host header
 *   2. Origin        missing or "-": no Origin header (and so for 3 to 5)
 *   3. Referer
 *   4. the csrftoken cookie's value, sent as "Cookie: csrftoken=<field 4>"
 *   5. the token; "=" with a field 4 of 32 letters and digits: that secret itself (unmasked)
 *   6. where the token goes: its first byte minus '0', modulo 5 (a missing line: 0)
 *        0  the X-CSRFToken header
 *        1  a urlencoded body "csrfmiddlewaretoken=<token>", then "&<rest of field 6>"
 *        2  a multipart body: a part "note" holding the rest of field 6, then the token's part
 *        3  the header, and a urlencoded body "csrfmiddlewaretoken=<rest of field 6>"
 *        4  a urlencoded body as 1, sent as text/plain (so no form the check reads)
 *      (with no token: no header, and in 1, 2 and 4 no token's field or part in the body)
 *
 * A field holding '\r' or a control byte other than a tab counts as missing (the HTTP parser
 * refuses those: header injection is not what this target is for).
 *
 * Invariants (abort on violation), judged by code written here apart from csrf.c: the client
 * answers; the status is 400 exactly when the request cannot be parsed (no Host, a Host with a
 * byte no host has, a DEL in a header), else 200 or 403, and always 200 without the cookie
 * (nothing to protect). A 200 with the cookie means:
 *
 *  - an Origin, when sent, is not "null" and is "http://" or "https://" + Host (the host compared
 *    without case), https://trusted.example or https://<anything>.sub.example, with nothing after
 *    the host (no path, query or fragment); without an Origin, a Referer sent has such an origin
 *    (its scheme://host[:port], user info left out);
 *  - the cookie's value is 32 letters and digits;
 *  - the token read (the header, else the form's first csrfmiddlewaretoken, decoded) is 32 or 64
 *    of them, and is the secret or the secret masked (Django's scheme).
 *
 * And the other way: a request with a valid cookie and its token, from no stated origin, this
 * site's or a trusted one (plainly written), is answered 200.
 */
#include <cadre.h>

#include "fuzz_check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TRUSTED_HOST "trusted.example"
#define TRUSTED "https://" TRUSTED_HOST
#define WILDCARD_DOMAIN ".sub.example"
#define FIELD "csrfmiddlewaretoken"
#define BOUNDARY "cadreFuzzBoundary7MA4YWxk"
#define SECRET_LEN 32

enum { F_HOST, F_ORIGIN, F_REFERER, F_COOKIE, F_TOKEN, F_MODE, NFIELDS };
enum { M_HEADER, M_URLENCODED, M_MULTIPART, M_BOTH, M_TEXT };

typedef struct field {
    bool present;
    const char *ptr;
    size_t len;
} field;

static cadre_app *app;
static char dir[64];

static int ok_handler(cadre_request *r)
{
    return cadre_text(r, 200, "ok");
}

static void cleanup(void)
{
    static const char *const files[] = { "fuzz.db", "fuzz.db-wal", "fuzz.db-shm" };
    char path[128];
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

static void setup(void)
{
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    snprintf(dir, sizeof dir, "/tmp/cadre-fuzz-csrf-XXXXXX");
    CHECK(mkdtemp(dir));
    atexit(cleanup);
    char url[128];
    snprintf(url, sizeof url, "sqlite://%s/fuzz.db", dir); /* ":memory:" is refused */
    cadre_db *db;
    CHECK(cadre_db_open(url, &db) == 0);
    app = cadre_app_new("fuzz");
    CHECK(app);
    CHECK(cadre_auth(app, db, .trusted_origins = TRUSTED ",https://*" WILDCARD_DOMAIN));
    cadre_post(app, "/p", ok_handler);
    CHECK(cadre_app_check(app) == 0);
    CHECK(cadre_app_migrate(app, NULL, NULL, NULL) == 0);
}

/* ---------------------------------------------------------------------------------------------
 * The oracle's pieces
 * ------------------------------------------------------------------------------------------- */

static bool ows(char c)
{
    return c == ' ' || c == '\t';
}

static cadre_slice trim(const char *p, size_t n)
{
    while (n && ows(*p))
        p++, n--;
    while (n && ows(p[n - 1]))
        n--;
    return (cadre_slice){ p, n };
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool ieq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++)
        if (lower(a[i]) != lower(b[i]))
            return false;
    return true;
}

static bool ieq_str(cadre_slice a, const char *b)
{
    return ieq(a.ptr, a.len, b, strlen(b));
}

static bool alnum(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool all_alnum(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!alnum(p[i]))
            return false;
    return true;
}

/* What a Host header may hold (RFC 3986 reg-name, IP literals, a port): else 400. */
static bool host_char(char c)
{
    return alnum(c) || (c && strchr("-._~!$&'()*+,;=%:[]", c));
}

/* Splits scheme "://" authority off v: *scheme, *hostport (user info dropped), and *next, the byte
 * ending the authority ('\0' at the end). whole: v must be an origin and nothing more (Origin), so
 * any path, query or fragment fails it; else (Referer) the authority ends at the first of them
 * ('\' counts, as in the WHATWG URL Standard). */
static bool split_origin(cadre_slice v, bool whole, cadre_slice *scheme, cadre_slice *hostport,
                         char *next)
{
    size_t i = 0;
    if (!v.len || !((v.ptr[0] >= 'A' && v.ptr[0] <= 'Z') || (v.ptr[0] >= 'a' && v.ptr[0] <= 'z')))
        return false;
    while (i < v.len && (alnum(v.ptr[i]) || v.ptr[i] == '+' || v.ptr[i] == '-' || v.ptr[i] == '.'))
        i++;
    if (v.len - i < 3 || memcmp(v.ptr + i, "://", 3) != 0)
        return false;
    *scheme = (cadre_slice){ v.ptr, i };
    size_t a = i + 3, e = a;
    while (e < v.len && !(v.ptr[e] && strchr("/?#\\", v.ptr[e])))
        e++;
    if (whole && e < v.len)
        return false;
    *next = e < v.len ? v.ptr[e] : '\0';
    size_t at = a;
    for (size_t k = a; k < e; k++)
        if (v.ptr[k] == '@')
            at = k + 1;
    *hostport = (cadre_slice){ v.ptr + at, e - at };
    return true;
}

/* Whether scheme://hostport is this site (host: the Host header, empty when none) or trusted. */
static bool origin_allowed(cadre_slice scheme, cadre_slice hostport, cadre_slice host)
{
    bool https = ieq_str(scheme, "https");
    if ((https || ieq_str(scheme, "http")) && host.len &&
        ieq(hostport.ptr, hostport.len, host.ptr, host.len))
        return true;
    if (!https)
        return false;
    if (ieq_str(hostport, TRUSTED_HOST))
        return true;
    /* a subdomain, whatever its bytes (Django does not look at them either); but it is the
     * host, not a path, query or fragment ending in ".sub.example" */
    size_t dl = strlen(WILDCARD_DOMAIN);
    return hostport.len > dl && ieq(hostport.ptr + hostport.len - dl, dl, WILDCARD_DOMAIN, dl);
}

/* An origin the check surely accepts: this site's by either scheme, trusted.example, or a plain
 * subdomain of sub.example (one label of letters and digits). */
static bool origin_sure(cadre_slice scheme, cadre_slice hostport, cadre_slice host)
{
    bool https = ieq_str(scheme, "https");
    if ((https || ieq_str(scheme, "http")) && host.len &&
        ieq(hostport.ptr, hostport.len, host.ptr, host.len))
        return true;
    if (!https)
        return false;
    if (ieq_str(hostport, TRUSTED_HOST))
        return true;
    size_t dl = strlen(WILDCARD_DOMAIN);
    return hostport.len > dl && ieq(hostport.ptr + hostport.len - dl, dl, WILDCARD_DOMAIN, dl) &&
           all_alnum(hostport.ptr, hostport.len - dl);
}

static int hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The urlencoded body's first csrfmiddlewaretoken value, decoded into out (malloc'd), or false. */
static bool form_field(const char *b, size_t n, char **out, size_t *olen)
{
    for (size_t i = 0; i <= n;) {
        size_t e = i;
        while (e < n && b[e] != '&')
            e++;
        size_t fl = strlen(FIELD);
        if (e - i > fl && memcmp(b + i, FIELD, fl) == 0 && b[i + fl] == '=') {
            const char *v = b + i + fl + 1;
            size_t vl = e - i - fl - 1, k = 0;
            char *d = malloc(vl + 1);
            CHECK(d);
            for (size_t j = 0; j < vl; j++) {
                if (v[j] == '+') {
                    d[k++] = ' ';
                } else if (v[j] == '%' && j + 2 < vl && hex(v[j + 1]) >= 0 &&
                           hex(v[j + 2]) >= 0) {
                    d[k++] = (char)(hex(v[j + 1]) * 16 + hex(v[j + 2]));
                    j += 2;
                } else {
                    d[k++] = v[j];
                }
            }
            *out = d;
            *olen = k;
            return true;
        }
        if (e == n)
            break;
        i = e + 1;
    }
    return false;
}

/* A letter's or digit's place in the alphabet a-z A-Z 0-9. */
static int index_of(char c)
{
    return c >= 'a' && c <= 'z' ? c - 'a' : c >= 'A' && c <= 'Z' ? c - 'A' + 26 : c - '0' + 52;
}

/* Whether token (32 or 64 letters and digits) carries secret: it, or a mask of 32 then each
 * secret letter shifted by the mask's letter (Django's masking). */
static bool carries(const char *token, size_t len, const char *secret)
{
    if ((len != SECRET_LEN && len != 2 * SECRET_LEN) || !all_alnum(token, len))
        return false;
    if (len == SECRET_LEN)
        return memcmp(token, secret, SECRET_LEN) == 0;
    for (size_t i = 0; i < SECRET_LEN; i++)
        if ((index_of(token[SECRET_LEN + i]) - index_of(token[i]) + 62) % 62 != index_of(secret[i]))
            return false;
    return true;
}

/* ---------------------------------------------------------------------------------------------
 * The request
 * ------------------------------------------------------------------------------------------- */

typedef struct out {
    char *p;
    size_t len, cap;
} out;

static void put(out *o, const char *s, size_t n)
{
    CHECK(o->len + n <= o->cap);
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void put_str(out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void put_header(out *o, const char *name, const char *prefix, field f)
{
    put_str(o, name);
    put_str(o, ": ");
    put_str(o, prefix);
    put(o, f.ptr, f.len);
    put_str(o, "\r\n");
}

static bool has_del(field f)
{
    return f.present && memchr(f.ptr, 0x7f, f.len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!app)
        setup();
    const char *in = (const char *)data;
    field f[NFIELDS] = { 0 };
    for (size_t k = 0, pos = 0; k < NFIELDS && pos < size; k++) {
        const char *nl = memchr(in + pos, '\n', size - pos);
        size_t end = nl ? (size_t)(nl - in) : size;
        f[k] = (field){ true, in + pos, end - pos };
        for (size_t i = pos; i < end; i++)
            if ((unsigned char)in[i] < 0x20 && in[i] != '\t')
                f[k].present = false;
        pos = end + 1;
    }
    if (!f[F_HOST].present) /* a missing (or dropped) line: the test client's usual Host */
        f[F_HOST] = (field){ true, "testserver", 10 };
    for (int k = F_HOST; k <= F_TOKEN; k++)
        if (f[k].present && f[k].len == 1 && f[k].ptr[0] == '-')
            f[k].present = false;
    int mode = f[F_MODE].present && f[F_MODE].len ? (unsigned char)(f[F_MODE].ptr[0] - '0') % 5
                                                  : M_HEADER;
    field rest = { true, f[F_MODE].present && f[F_MODE].len ? f[F_MODE].ptr + 1 : "",
                   f[F_MODE].present && f[F_MODE].len ? f[F_MODE].len - 1 : 0 };
    field tok = f[F_TOKEN];
    if (tok.present && tok.len == 1 && tok.ptr[0] == '=' && f[F_COOKIE].present &&
        f[F_COOKIE].len == SECRET_LEN && all_alnum(f[F_COOKIE].ptr, SECRET_LEN))
        tok = (field){ true, f[F_COOKIE].ptr, SECRET_LEN };

    /* the body */
    size_t cap = 2 * size + 1024;
    out body = { malloc(cap), 0, cap }, req = { malloc(2 * cap), 0, 2 * cap };
    CHECK(body.p && req.p);
    const char *ctype = NULL;
    bool header_token = tok.present && (mode == M_HEADER || mode == M_BOTH);
    if (mode == M_URLENCODED || mode == M_TEXT) {
        if (tok.present) {
            put_str(&body, FIELD "=");
            put(&body, tok.ptr, tok.len);
        }
        if (rest.len) {
            if (tok.present)
                put_str(&body, "&");
            put(&body, rest.ptr, rest.len);
        }
        ctype = mode == M_TEXT ? "text/plain" : "application/x-www-form-urlencoded";
    } else if (mode == M_BOTH) {
        put_str(&body, FIELD "=");
        put(&body, rest.ptr, rest.len);
        ctype = "application/x-www-form-urlencoded";
    } else if (mode == M_MULTIPART) {
        if (rest.len) {
            put_str(&body,
                    "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n");
            put(&body, rest.ptr, rest.len);
            put_str(&body, "\r\n");
        }
        if (tok.present) {
            put_str(&body, "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"" FIELD
                         "\"\r\n\r\n");
            put(&body, tok.ptr, tok.len);
            put_str(&body, "\r\n");
        }
        put_str(&body, "--" BOUNDARY "--\r\n");
        ctype = "multipart/form-data; boundary=" BOUNDARY;
    }

    /* the request, written whole for cadre_test_raw (the test client's own entry for raw bytes):
     * cadre_test_request always adds "Host: testserver", and a second Host would be a 400 */
    put_str(&req, "POST /p HTTP/1.1\r\n");
    if (f[F_HOST].present)
        put_header(&req, "Host", "", f[F_HOST]);
    if (f[F_ORIGIN].present)
        put_header(&req, "Origin", "", f[F_ORIGIN]);
    if (f[F_REFERER].present)
        put_header(&req, "Referer", "", f[F_REFERER]);
    if (f[F_COOKIE].present)
        put_header(&req, "Cookie", "csrftoken=", f[F_COOKIE]);
    if (header_token)
        put_header(&req, "X-CSRFToken", "", tok);
    if (ctype) {
        char cl[64];
        snprintf(cl, sizeof cl, "Content-Length: %zu\r\n", body.len);
        put_str(&req, "Content-Type: ");
        put_str(&req, ctype);
        put_str(&req, "\r\n");
        put_str(&req, cl);
    }
    put_str(&req, "\r\n");
    put(&req, body.p, body.len);

    cadre_test_response res;
    int rc = cadre_test_raw(app, req.p, req.len, &res);
    CHECK(rc == 0 || rc == CADRE_ECLOSED || rc == CADRE_EPARSE || rc == CADRE_ETIMEDOUT);
    if (rc) {
        free(body.p);
        free(req.p);
        return 0;
    }

    /* what the server should have made of it */
    cadre_slice host = f[F_HOST].present ? trim(f[F_HOST].ptr, f[F_HOST].len)
                                         : (cadre_slice){ "", 0 };
    bool parseable = f[F_HOST].present;
    for (size_t i = 0; parseable && i < host.len; i++)
        parseable = host_char(host.ptr[i]);
    for (int k = F_HOST; k <= F_COOKIE; k++)
        parseable = parseable && !has_del(f[k]);
    parseable = parseable && !(header_token && has_del(tok));

    bool cookie_sent = f[F_COOKIE].present;
    cadre_slice cookie = { NULL, 0 };
    if (cookie_sent) {
        const char *semi = memchr(f[F_COOKIE].ptr, ';', f[F_COOKIE].len);
        cookie = trim(f[F_COOKIE].ptr, semi ? (size_t)(semi - f[F_COOKIE].ptr) : f[F_COOKIE].len);
        if (cookie.len >= 2 && cookie.ptr[0] == '"' && cookie.ptr[cookie.len - 1] == '"')
            cookie = (cadre_slice){ cookie.ptr + 1, cookie.len - 2 };
    }
    bool secret_ok = cookie_sent && cookie.len == SECRET_LEN && all_alnum(cookie.ptr, SECRET_LEN);

    /* the token the check reads: the header, else the form's field */
    char *form_tok = NULL;
    cadre_slice token = { NULL, 0 };
    bool token_sent = false;
    if (header_token) {
        token = trim(tok.ptr, tok.len);
        token_sent = true;
    } else if (mode == M_URLENCODED || mode == M_BOTH) {
        size_t n;
        if (form_field(body.p, body.len, &form_tok, &n)) {
            token = (cadre_slice){ form_tok, n };
            token_sent = true;
        }
    } else if (mode == M_MULTIPART && tok.present) {
        token = (cadre_slice){ tok.ptr, tok.len };
        token_sent = true;
    }
    bool token_ok = secret_ok && token_sent && carries(token.ptr, token.len, cookie.ptr);

    cadre_slice origin = f[F_ORIGIN].present ? trim(f[F_ORIGIN].ptr, f[F_ORIGIN].len)
                                             : (cadre_slice){ NULL, 0 };
    cadre_slice referer = f[F_REFERER].present ? trim(f[F_REFERER].ptr, f[F_REFERER].len)
                                               : (cadre_slice){ NULL, 0 };
    cadre_slice scheme, hostport;
    char next;
    bool from_ok = true, from_sure = true; /* neither header: nothing to hold against it */
    if (f[F_ORIGIN].present) {
        bool split = !cadre_slice_eq_cstr(origin, "null") &&
                     split_origin(origin, true, &scheme, &hostport, &next);
        from_ok = split && origin_allowed(scheme, hostport, host);
        from_sure = split && origin_sure(scheme, hostport, host);
    } else if (f[F_REFERER].present) {
        bool split = split_origin(referer, false, &scheme, &hostport, &next);
        from_ok = split && origin_allowed(scheme, hostport, host);
        from_sure = split && (next == '/' || next == '\0') && origin_sure(scheme, hostport, host);
    }

    if (!parseable) {
        CHECK(res.status == 400);
    } else {
        CHECK(res.status == 200 || res.status == 403);
        if (!cookie_sent || (token_ok && from_sure))
            CHECK(res.status == 200);
        if (res.status == 200) {
            CHECK(res.body_len == 2 && memcmp(res.body, "ok", 2) == 0);
            if (cookie_sent)
                CHECK(from_ok && secret_ok && token_ok);
        }
    }
    cadre_test_response_free(&res);
    free(form_tok);
    free(body.p);
    free(req.p);
    return 0;
}
