/*
 * libFuzzer target for the Authorization header's credentials (cadre_http_credentials) and for
 * what auth reads in them: an API token's shape (cadre__token_parse) and a token's scopes
 * (cadre__scopes_problem, cadre__scopes_allow).
 *
 * Input: an Authorization header value. Invariants (abort on violation), each judged by code
 * written here apart from the library's:
 *
 *  - credentials: accepted exactly when the value is OWS auth-scheme [1*SP token68] OWS (RFC 9110
 *    section 11.4; OWS spaces and tabs, token68 = 1*(ALPHA / DIGIT / "-._~+/") *"="). Then the
 *    scheme is non-empty tchar, the token (possibly empty) follows it after spaces, both lie
 *    inside the input, and nothing else is left but the spaces and tabs around the whole;
 *    "scheme" or "scheme SP token" written again parses to equal slices, and the value with more
 *    OWS around it or its own OWS stripped parses to the same. A refused value stays refused
 *    with its OWS stripped.
 *  - token: the credentials' token and the whole input are a token exactly when they are
 *    "cadre_", 12 lowercase hex digits, "_" and 43 base64url characters (62 in all); the prefix
 *    is then the 12 hex digits, inside the token.
 *  - scopes (the whole input): well-formed exactly when at most 1000 bytes of items one space
 *    apart (no space at either end), each 1 to 100 characters of [A-Za-z0-9_.:-] with an
 *    optional '*' as its last one (the '*' counted; "*" alone is an item). For well-formed
 *    scopes, a want is allowed exactly when the scopes are empty, an item equals it, or an item
 *    ending in '*' is a prefix of it (its '*' left out): every item is allowed, an item with
 *    "x" appended that is no item is not (unless a '*' covers it), and so on.
 */
#include <cadre.h>

#include "auth/auth_internal.h"
#include "fuzz_check.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* RFC 9110 section 5.6.2: tchar, listed rather than excluded */
static bool tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool ows(char c)
{
    return c == ' ' || c == '\t';
}

/* token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static bool token68(cadre_slice s)
{
    size_t body = 0, pad = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c == '=') {
            pad++;
        } else if (!pad && ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || (c && strchr("-._~+/", c)))) {
            body++;
        } else {
            return false;
        }
    }
    return body > 0;
}

static bool inside(cadre_slice s, const char *base, size_t len)
{
    return s.ptr >= base && s.len <= len && s.ptr + s.len <= base + len;
}

/* An exact-size copy (at least one byte allocated), so that a read past it is caught. */
static char *dup_bytes(const char *p, size_t n)
{
    char *d = malloc(n ? n : 1);
    CHECK(d);
    if (n)
        memcpy(d, p, n);
    return d;
}

/* The credentials the input should give, split by hand: *scheme and *token as offsets. */
static bool credentials_oracle(const char *s, size_t n, size_t *sch_at, size_t *sch_len,
                               size_t *tok_at, size_t *tok_len)
{
    size_t a = 0, b = n;
    while (a < b && ows(s[a]))
        a++;
    while (b > a && ows(s[b - 1]))
        b--;
    size_t i = a;
    while (i < b && tchar((unsigned char)s[i]))
        i++;
    if (i == a)
        return false;
    *sch_at = a;
    *sch_len = i - a;
    *tok_at = i;
    *tok_len = 0;
    if (i == b)
        return true;
    if (s[i] != ' ')
        return false;
    while (i < b && s[i] == ' ')
        i++;
    *tok_at = i;
    *tok_len = b - i;
    return token68((cadre_slice){ s + i, b - i });
}

static bool lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool base64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

static void check_token(cadre_slice t)
{
    bool want = t.len == 62 && memcmp(t.ptr, "cadre_", 6) == 0 && t.ptr[18] == '_';
    for (size_t i = 6; want && i < 18; i++)
        want = lower_hex(t.ptr[i]);
    for (size_t i = 19; want && i < 62; i++)
        want = base64url(t.ptr[i]);
    char *copy = dup_bytes(t.ptr, t.len);
    cadre_slice prefix = { NULL, 0 };
    bool got = cadre__token_parse((cadre_slice){ copy, t.len }, &prefix);
    CHECK(got == want);
    if (got)
        CHECK(prefix.ptr == copy + 6 && prefix.len == 12);
    free(copy);
}

static bool scope_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == ':' || c == '-';
}

/* Well-formed scopes, decided byte by byte. */
static bool scopes_oracle(const char *s, size_t n)
{
    if (n > 1000)
        return false;
    size_t item = 0; /* the current item's length so far */
    bool starred = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ') {
            if (!item)
                return false; /* a space first, or two in a row */
            item = 0;
            starred = false;
        } else if (starred || !(scope_char(s[i]) || s[i] == '*') || ++item > 100) {
            return false; /* anything after a '*', a stray byte, or too long */
        } else {
            starred = s[i] == '*';
        }
    }
    return n == 0 || item > 0; /* no space at the end */
}

/* Whether well-formed scopes allow want: written apart from cadre__scopes_allow. */
static bool allow_oracle(const char *s, size_t n, const char *want, size_t wlen)
{
    if (!n)
        return true;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && s[j] != ' ')
            j++;
        size_t len = j - i;
        if (s[j - 1] == '*') {
            if (wlen >= len - 1 && memcmp(want, s + i, len - 1) == 0)
                return true;
        } else if (wlen == len && memcmp(want, s + i, len) == 0) {
            return true;
        }
        i = j + 1;
    }
    return false;
}

/* cadre__scopes_allow(scopes, want) against the oracle, want given as head + tail (copied to an
 * exact-size buffer). */
static void check_allow(cadre_slice scopes, const char *head, size_t hlen, const char *tail,
                        size_t tlen)
{
    char *w = malloc(hlen + tlen ? hlen + tlen : 1);
    CHECK(w);
    if (hlen)
        memcpy(w, head, hlen);
    if (tlen)
        memcpy(w + hlen, tail, tlen);
    bool got = cadre__scopes_allow(scopes, (cadre_slice){ w, hlen + tlen });
    CHECK(got == allow_oracle(scopes.ptr, scopes.len, w, hlen + tlen));
    free(w);
}

static void check_scopes(cadre_slice in)
{
    const char *problem = cadre__scopes_problem(in);
    bool ok = scopes_oracle(in.ptr, in.len);
    CHECK((problem == NULL) == ok);
    if (problem)
        CHECK(*problem);
    if (!ok) {
        /* malformed scopes never reach the check, but it must stay inside them */
        (void)cadre__scopes_allow(in, in);
        (void)cadre__scopes_allow(in, (cadre_slice){ "", 0 });
        return;
    }
    if (!in.len) { /* no scopes: everything */
        CHECK(cadre__scopes_allow(in, (cadre_slice){ "", 0 }));
        CHECK(cadre__scopes_allow(in, cadre_slice_cstr("inventory.delete_product")));
        return;
    }
    bool star = memchr(in.ptr, '*', in.len) != NULL;
    check_allow(in, "", 0, "", 0);
    check_allow(in, in.ptr, in.len, "", 0);
    check_allow(in, "reports", 7, "", 0);
    size_t first_len = 0;
    for (size_t i = 0; i < in.len;) {
        size_t j = i;
        while (j < in.len && in.ptr[j] != ' ')
            j++;
        const char *item = in.ptr + i;
        size_t len = j - i;
        if (!first_len)
            first_len = len;
        if (item[len - 1] == '*') { /* a prefix: it, and anything longer, allowed */
            CHECK(cadre__scopes_allow(in, (cadre_slice){ item, len - 1 }));
            check_allow(in, item, len - 1, "zz", 2);
            check_allow(in, item, len, "", 0); /* the '*' itself is a character it covers */
        } else {
            CHECK(cadre__scopes_allow(in, (cadre_slice){ item, len }));
        }
        check_allow(in, item, len, "x", 1);
        if (len > 1)
            check_allow(in, item, len - 1, "", 0);
        i = j + 1;
    }
    /* without a '*', a want equal to no item is refused: the first item with "x" appended */
    if (!star) {
        bool is_item = false;
        for (size_t i = 0; i < in.len && !is_item;) {
            size_t j = i;
            while (j < in.len && in.ptr[j] != ' ')
                j++;
            is_item = j - i == first_len + 1 && memcmp(in.ptr + i, in.ptr, first_len) == 0 &&
                      in.ptr[i + first_len] == 'x';
            i = j + 1;
        }
        char *w = malloc(first_len + 1);
        CHECK(w);
        memcpy(w, in.ptr, first_len);
        w[first_len] = 'x';
        CHECK(cadre__scopes_allow(in, (cadre_slice){ w, first_len + 1 }) == is_item);
        CHECK(!cadre__scopes_allow(in, (cadre_slice){ "", 0 }));
        free(w);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    cadre_slice value = { in, size };
    cadre_slice scheme, token;
    bool ok = cadre_http_credentials(value, &scheme, &token);
    size_t sch_at = 0, sch_len = 0, tok_at = 0, tok_len = 0;
    bool want = in && credentials_oracle(in, size, &sch_at, &sch_len, &tok_at, &tok_len);
    CHECK(ok == want);

    size_t a = 0, b = size; /* the input without its OWS */
    while (a < b && ows(in[a]))
        a++;
    while (b > a && ows(in[b - 1]))
        b--;
    char *stripped = dup_bytes(in + a, b - a);
    cadre_slice s2, t2;
    bool ok2 = cadre_http_credentials((cadre_slice){ stripped, b - a }, &s2, &t2);
    CHECK(ok2 == ok);

    if (ok) {
        CHECK(scheme.len > 0 && inside(scheme, in, size));
        for (size_t i = 0; i < scheme.len; i++)
            CHECK(tchar((unsigned char)scheme.ptr[i]));
        CHECK(scheme.ptr == in + sch_at && scheme.len == sch_len);
        for (const char *p = in; p < scheme.ptr; p++)
            CHECK(ows(*p));
        const char *rest = scheme.ptr + scheme.len;
        if (token.len) {
            CHECK(inside(token, in, size) && token.ptr > rest);
            CHECK(token.ptr == in + tok_at && token.len == tok_len);
            CHECK(token68(token));
            for (const char *p = rest; p < token.ptr; p++)
                CHECK(*p == ' ');
            rest = token.ptr + token.len;
        } else {
            CHECK(tok_len == 0);
        }
        for (const char *p = rest; p < in + size; p++)
            CHECK(ows(*p));
        /* the same slices from the stripped copy */
        CHECK(cadre_slice_eq(s2, scheme) && s2.ptr == stripped + (scheme.ptr - (in + a)));
        CHECK(cadre_slice_eq(t2, token));

        /* written again: "scheme" or "scheme SP token", bare and with OWS around */
        size_t len = scheme.len + (token.len ? 1 + token.len : 0);
        char *w = malloc(len + 4);
        CHECK(w);
        memcpy(w + 2, scheme.ptr, scheme.len);
        if (token.len) {
            w[2 + scheme.len] = ' ';
            memcpy(w + 3 + scheme.len, token.ptr, token.len);
        }
        char *bare = dup_bytes(w + 2, len);
        CHECK(cadre_http_credentials((cadre_slice){ bare, len }, &s2, &t2));
        CHECK(s2.ptr == bare && cadre_slice_eq(s2, scheme) && cadre_slice_eq(t2, token));
        if (token.len)
            CHECK(t2.ptr == bare + scheme.len + 1);
        free(bare);
        memcpy(w, "\t ", 2);
        memcpy(w + 2 + len, " \t", 2);
        CHECK(cadre_http_credentials((cadre_slice){ w, len + 4 }, &s2, &t2));
        CHECK(s2.ptr == w + 2 && cadre_slice_eq(s2, scheme) && cadre_slice_eq(t2, token));
        free(w);
        check_token(token);
    }
    free(stripped);

    check_token(value);
    check_scopes(value);
    return 0;
}
