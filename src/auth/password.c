/*
 * Passwords: argon2id strings through libsodium, computed on the app's hash pool (cadre_pool_run)
 * so that a login suspends only its own request. A job carries a copy of the password and the
 * stored hash, never pointers into the request.
 */
#include "auth/auth_internal.h"

#include <sodium.h>
#include <string.h>

enum { JOB_HASH, JOB_CHECK };

typedef struct hash_job {
    int kind;
    int rc;
    bool ok;
    unsigned long long ops;
    size_t mem;
    size_t len;
    char hash[CADRE_PASSWORD_HASH_SIZE];     /* JOB_CHECK: the stored hash; out: a new one */
    char rehashed[CADRE_PASSWORD_HASH_SIZE]; /* JOB_CHECK: a new hash when the old is outdated */
    char pw[CADRE_PASSWORD_MAX];
} hash_job;

static int hash_into(char out[CADRE_PASSWORD_HASH_SIZE], const char *pw, size_t len,
                     unsigned long long ops, size_t mem)
{
    _Static_assert(CADRE_PASSWORD_HASH_SIZE >= crypto_pwhash_STRBYTES, "hash room");
    /* fails only when the memory cannot be had */
    return crypto_pwhash_str_alg(out, pw, len, ops, mem, crypto_pwhash_ALG_ARGON2ID13) == 0
               ? 0 : CADRE_ENOMEM;
}

static void run_job(void *arg)
{
    hash_job *j = arg;
    if (j->kind == JOB_HASH) {
        j->rc = hash_into(j->hash, j->pw, j->len, j->ops, j->mem);
    } else {
        j->ok = crypto_pwhash_str_verify(j->hash, j->pw, j->len) == 0;
        j->rehashed[0] = '\0';
        if (j->ok && crypto_pwhash_str_needs_rehash(j->hash, j->ops, j->mem) != 0 &&
            hash_into(j->rehashed, j->pw, j->len, j->ops, j->mem) != 0)
            j->rehashed[0] = '\0'; /* kept as it was: the next login tries again */
        j->rc = 0;
    }
    sodium_memzero(j->pw, j->len);
}

static int run(auth_state *st, hash_job *j, cadre_slice password)
{
    if (password.len > CADRE_PASSWORD_MAX)
        return CADRE_EINVAL;
    memcpy(j->pw, password.ptr, password.len);
    j->len = password.len;
    j->ops = st->o.hash_ops;
    j->mem = st->o.hash_mem;
    j->rc = 0;
    int rc = cadre_pool_run(st->pool, run_job, j, sizeof *j);
    sodium_memzero(j->pw, j->len);
    return rc ? rc : j->rc;
}

int cadre_password_hash(cadre_app *app, cadre_slice password, char out[CADRE_PASSWORD_HASH_SIZE])
{
    auth_state *st = cadre__auth_state(app);
    if (!st)
        return CADRE_ESTATE;
    hash_job j;
    j.kind = JOB_HASH;
    int rc = run(st, &j, password);
    if (rc == 0)
        memcpy(out, j.hash, CADRE_PASSWORD_HASH_SIZE);
    return rc;
}

/* A hash of a random password with the app's parameters, made once: what an unknown username's
 * password is checked against, so that its answer takes a hash's time too. */
static int dummy_hash(auth_state *st, char out[CADRE_PASSWORD_HASH_SIZE])
{
    pthread_mutex_lock(&st->dummy_mu);
    bool have = st->dummy[0] != '\0';
    if (have)
        memcpy(out, st->dummy, CADRE_PASSWORD_HASH_SIZE);
    pthread_mutex_unlock(&st->dummy_mu);
    if (have)
        return 0;
    unsigned char random[32];
    char text[sizeof random * 2 + 1];
    randombytes_buf(random, sizeof random);
    sodium_bin2hex(text, sizeof text, random, sizeof random);
    hash_job j;
    j.kind = JOB_HASH;
    int rc = run(st, &j, cadre_slice_cstr(text));
    sodium_memzero(text, sizeof text);
    if (rc)
        return rc;
    pthread_mutex_lock(&st->dummy_mu);
    memcpy(st->dummy, j.hash, CADRE_PASSWORD_HASH_SIZE);
    pthread_mutex_unlock(&st->dummy_mu);
    memcpy(out, j.hash, CADRE_PASSWORD_HASH_SIZE);
    return 0;
}

int cadre__password_check(auth_state *st, cadre_slice password, const char *hash, bool *ok,
                          char rehashed[CADRE_PASSWORD_HASH_SIZE])
{
    *ok = false;
    rehashed[0] = '\0';
    hash_job j;
    j.kind = JOB_CHECK;
    int rc = 0;
    if (!hash || strlen(hash) >= sizeof j.hash || strncmp(hash, "$argon2id$", 10) != 0)
        rc = dummy_hash(st, j.hash); /* unknown user, unusable hash: the same work, no match */
    else
        memcpy(j.hash, hash, strlen(hash) + 1);
    if (rc == 0)
        rc = run(st, &j, password.len > CADRE_PASSWORD_MAX ? (cadre_slice){ password.ptr, 0 }
                                                           : password);
    if (rc)
        return rc;
    *ok = j.ok && hash && password.len <= CADRE_PASSWORD_MAX &&
          strncmp(hash, "$argon2id$", 10) == 0;
    if (*ok)
        memcpy(rehashed, j.rehashed, CADRE_PASSWORD_HASH_SIZE);
    return 0;
}

const char *cadre_password_weak(cadre_slice pw, cadre_slice username, cadre_slice email)
{
    size_t chars = 0;
    bool digits = true;
    for (size_t i = 0; i < pw.len; i++) {
        unsigned char c = (unsigned char)pw.ptr[i];
        chars += (c & 0xC0) != 0x80; /* UTF-8: count code points */
        digits = digits && c >= '0' && c <= '9';
    }
    if (chars < 8)
        return "This password is too short. It must contain at least 8 characters.";
    if (pw.len > CADRE_PASSWORD_MAX)
        return "This password is too long (more than 4096 bytes).";
    if (digits)
        return "This password is entirely numeric.";
    if (username.len && cadre_slice_ieq(pw, username))
        return "The password is too similar to the username.";
    const char *at = email.len ? memchr(email.ptr, '@', email.len) : NULL;
    cadre_slice local = { email.ptr, at ? (size_t)(at - email.ptr) : email.len };
    if (local.len && cadre_slice_ieq(pw, local))
        return "The password is too similar to the email address.";
    return NULL;
}
