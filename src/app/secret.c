/*
 * The app's secret key and the cookies signed with it. A key is any text of 32 bytes or more;
 * what signs is its BLAKE2b hash (32 bytes), so keys of any length and shape give a uniform HMAC
 * key. A signed cookie is base64url(value) "." base64url(issued-at, 8 bytes big-endian) "."
 * base64url(HMAC-SHA256(key, "cadre.signed-cookie" NUL name NUL value issued-at)): the name is
 * signed too, so a value signed for one cookie cannot be replayed as another.
 */
#include "app_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MIN_KEY 32
#define DEV_KEY_FILE ".cadre-secret-key"
#define DOMAIN "cadre.signed-cookie"

/* Forgets the keys, wiped first: no key is left in freed memory. */
static void wipe_keys(cadre_app *app)
{
    if (app->keys)
        sodium_memzero(app->keys, app->cap_keys * sizeof *app->keys);
    cadre_vec_free(&app->keys, &app->nkeys, &app->cap_keys);
}

static int add_key(cadre_app *app, const char *key, size_t len)
{
    if (len < MIN_KEY)
        return CADRE_EINVAL;
    /* grown by hand, not realloc: the old array is wiped before it is freed */
    if (app->nkeys == app->cap_keys) {
        size_t cap = app->cap_keys ? 2 * app->cap_keys : 4;
        void *grown = calloc(cap, sizeof *app->keys);
        if (!grown)
            return CADRE_ENOMEM;
        if (app->nkeys)
            memcpy(grown, app->keys, app->nkeys * sizeof *app->keys);
        size_t n = app->nkeys;
        wipe_keys(app);
        app->keys = grown;
        app->nkeys = n;
        app->cap_keys = cap;
    }
    unsigned char *slot = app->keys[app->nkeys++];
    crypto_generichash(slot, 32, (const unsigned char *)key, len, NULL, 0);
    return 0;
}

int cadre_app_secret_key(cadre_app *app, const char *key)
{
    if (sodium_init() < 0)
        return CADRE_ENOMEM;
    if (!key || strlen(key) < MIN_KEY)
        return CADRE_EINVAL;
    wipe_keys(app);
    app->secret_set = true;
    return add_key(app, key, strlen(key));
}

void cadre_app_require_secret(cadre_app *app)
{
    app->secret_required = true;
}

/* The first line of a file (a key file), in a malloc'd string, or NULL (errno set). */
static char *read_first_line(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char buf[4096];
    char *line = fgets(buf, sizeof buf, f);
    fclose(f);
    if (!line) {
        errno = EINVAL;
        return NULL;
    }
    buf[strcspn(buf, "\r\n")] = '\0';
    return strdup(buf);
}

/* A development key: made once, kept in DEV_KEY_FILE (0600), read again on later starts. */
static char *dev_key(void)
{
    char *key = read_first_line(DEV_KEY_FILE);
    if (key)
        return key;
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    char text[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
    sodium_bin2base64(text, sizeof text, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    int fd = open(DEV_KEY_FILE, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return NULL;
    size_t n = strlen(text);
    bool ok = write(fd, text, n) == (ssize_t)n && write(fd, "\n", 1) == 1;
    close(fd);
    if (!ok) {
        unlink(DEV_KEY_FILE);
        return NULL;
    }
    cadre_log(CADRE_LOG_WARN, "development mode: made a secret key in ./%s (set CADRE_SECRET_KEY "
                              "in production)", DEV_KEY_FILE);
    return strdup(text);
}

int cadre__app_load_secret(cadre_app *app)
{
    if (sodium_init() < 0) {
        cadre_log(CADRE_LOG_ERROR, "libsodium could not initialize");
        return CADRE_ENOMEM;
    }
    if (app->secret_set)
        return 0;
    wipe_keys(app);
    bool failed;
    char *key = cadre_env_secret("CADRE_SECRET_KEY", &failed); /* or CADRE_SECRET_KEY_FILE */
    const char *from = key ? "CADRE_SECRET_KEY" : NULL;
    if (failed)
        return CADRE_EINVAL;
    if (!key && app->dev) {
        key = dev_key();
        from = DEV_KEY_FILE;
    }
    int rc = 0;
    if (key && (rc = add_key(app, key, strlen(key))) == CADRE_EINVAL)
        cadre_log(CADRE_LOG_ERROR, "%s: the secret key must be at least %d bytes (try: head -c 32 "
                                   "/dev/urandom | base64)", from, MIN_KEY);
    sodium_memzero(key, key ? strlen(key) : 0);
    free(key);
    if (rc)
        return rc;
    const char *fallbacks = getenv("CADRE_SECRET_KEY_FALLBACKS");
    for (const char *p = fallbacks; p && *p && app->nkeys;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n && (rc = add_key(app, p, n)) != 0) {
            cadre_log(CADRE_LOG_ERROR, "CADRE_SECRET_KEY_FALLBACKS: each key must be at least %d "
                                       "bytes", MIN_KEY);
            return rc;
        }
        p = comma ? comma + 1 : p + n;
    }
    if (!app->nkeys && app->secret_required) {
        cadre_log(CADRE_LOG_ERROR, "%s signs cookies and has no secret key: set CADRE_SECRET_KEY "
                                   "(or CADRE_SECRET_KEY_FILE), or serve --dev for a development "
                                   "key", app->name);
        return CADRE_EINVAL;
    }
    return 0;
}

/* The signature of (name, value, issued) under key. */
static void sign(const unsigned char key[32], const char *name, const void *value, size_t len,
                 const unsigned char issued[8], unsigned char mac[32])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, 32);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)DOMAIN, sizeof DOMAIN);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)name, strlen(name) + 1);
    crypto_auth_hmacsha256_update(&st, value, len);
    crypto_auth_hmacsha256_update(&st, issued, 8);
    crypto_auth_hmacsha256_final(&st, mac);
}

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

int cadre__set_signed_cookie(cadre_request *r, const char *name, const void *value, size_t len,
                             const cadre_cookie_opts *opts)
{
    const cadre_app *app = cadre_request_app(r);
    if (!app->nkeys) {
        cadre_log(CADRE_LOG_ERROR, "cadre_set_signed_cookie(\"%s\"): the app has no secret key "
                                   "(CADRE_SECRET_KEY)", name ? name : "");
        return CADRE_ESTATE;
    }
    if (!name || (!value && len))
        return CADRE_EINVAL;
    unsigned char issued[8], mac[32];
    uint64_t now = (uint64_t)time(NULL);
    for (int i = 0; i < 8; i++)
        issued[i] = (unsigned char)(now >> (56 - 8 * i));
    sign(app->keys[0], name, value, len, issued, mac);
    size_t vlen = sodium_base64_ENCODED_LEN(len, B64);
    char *text = cadre_alloc(r, vlen + 2 * sodium_base64_ENCODED_LEN(32, B64) + 2);
    sodium_bin2base64(text, vlen, value ? value : (const void *)"", len, B64);
    char *p = text + strlen(text);
    *p++ = '.';
    sodium_bin2base64(p, sodium_base64_ENCODED_LEN(8, B64), issued, 8, B64);
    p += strlen(p);
    *p++ = '.';
    sodium_bin2base64(p, sodium_base64_ENCODED_LEN(32, B64), mac, 32, B64);
    return cadre__set_cookie(r, name, text, opts);
}

/* Decodes base64url text into out (cap bytes); the decoded length, or -1. */
static long unb64(const char *s, size_t n, unsigned char *out, size_t cap)
{
    size_t len;
    if (sodium_base642bin(out, cap, s, n, NULL, &len, NULL, B64) != 0)
        return -1;
    return (long)len;
}

int cadre_request_signed_cookie(cadre_request *r, const char *name, int64_t max_age,
                                cadre_slice *value)
{
    *value = (cadre_slice){ NULL, 0 };
    cadre_slice c = cadre_request_cookie(r, name);
    if (!c.ptr)
        return CADRE_ENOTFOUND;
    const cadre_app *app = cadre_request_app(r);
    const char *d1 = memchr(c.ptr, '.', c.len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', (size_t)(c.ptr + c.len - d1 - 1)) : NULL;
    if (!d2 || !app->nkeys || c.len > 8192)
        return CADRE_EINVAL;
    unsigned char issued[8], mac[32], want[32];
    unsigned char *v = cadre_alloc(r, (size_t)(d1 - c.ptr) + 1);
    long vlen = unb64(c.ptr, (size_t)(d1 - c.ptr), v, (size_t)(d1 - c.ptr) + 1);
    if (vlen < 0 || unb64(d1 + 1, (size_t)(d2 - d1 - 1), issued, 8) != 8 ||
        unb64(d2 + 1, (size_t)(c.ptr + c.len - d2 - 1), mac, 32) != 32)
        return CADRE_EINVAL;
    bool ok = false;
    for (size_t i = 0; i < app->nkeys && !ok; i++) {
        sign(app->keys[i], name, v, (size_t)vlen, issued, want);
        ok = sodium_memcmp(want, mac, 32) == 0; /* in constant time */
    }
    if (!ok)
        return CADRE_EINVAL;
    uint64_t at = 0;
    for (int i = 0; i < 8; i++)
        at = at << 8 | issued[i];
    uint64_t now = (uint64_t)time(NULL);
    if (max_age > 0 && (at > now + 60 || now - at > (uint64_t)max_age))
        return CADRE_EINVAL;
    v[vlen] = '\0';
    *value = (cadre_slice){ (const char *)v, (size_t)vlen };
    return 0;
}
