/*
 * API tokens: "cadre_" + 12 hex digits (the prefix, a unique column: the lookup) + "_" + 43
 * base64url characters (256 random bits). The table holds the SHA-256 of the whole token in hex,
 * compared in constant time with the presented token's; a secret of 256 bits needs no slow hash
 * (nobody guesses it, and a leaked table gives no token back).
 */
#include "auth/auth_internal.h"

#include "cadre/db.h"
#include "cadre/schema.h"

#include <sodium.h>
#include <string.h>
#include <time.h>

#define TOKEN_HEAD "cadre_"
#define HEAD_LEN 6
#define PREFIX_LEN 12
#define SECRET_LEN 43 /* base64url of 32 bytes, without padding */
#define TOKEN_LEN (HEAD_LEN + PREFIX_LEN + 1 + SECRET_LEN)
#define TOUCH_EVERY 60
#define SCOPES_MAX 1000

_Static_assert(CADRE_TOKEN_SIZE == TOKEN_LEN + 1, "CADRE_TOKEN_SIZE");

static bool b64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

bool cadre__token_parse(cadre_slice t, cadre_slice *prefix)
{
    if (t.len != TOKEN_LEN || memcmp(t.ptr, TOKEN_HEAD, HEAD_LEN) != 0 ||
        t.ptr[HEAD_LEN + PREFIX_LEN] != '_')
        return false;
    for (size_t i = HEAD_LEN; i < HEAD_LEN + PREFIX_LEN; i++)
        if (!((t.ptr[i] >= '0' && t.ptr[i] <= '9') || (t.ptr[i] >= 'a' && t.ptr[i] <= 'f')))
            return false;
    for (size_t i = HEAD_LEN + PREFIX_LEN + 1; i < TOKEN_LEN; i++)
        if (!b64url(t.ptr[i]))
            return false;
    *prefix = (cadre_slice){ t.ptr + HEAD_LEN, PREFIX_LEN };
    return true;
}

static void token_hash(cadre_slice t, char hex[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)t.ptr, t.len);
    sodium_bin2hex(hex, 65, h, sizeof h);
}

/* A scope item: letters, digits, "_.:-", at most one '*' and only at its end. */
static bool scope_item_ok(cadre_slice s)
{
    if (!s.len || s.len > 100)
        return false;
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        bool star_at_end = c == '*' && i == s.len - 1;
        if (!star_at_end && !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == ':' ||
                              c == '-'))
            return false;
    }
    return true;
}

const char *cadre__scopes_problem(cadre_slice scopes)
{
    if (scopes.len > SCOPES_MAX)
        return "scopes: at most 1000 characters";
    size_t i = 0;
    while (i < scopes.len) {
        const char *sp = memchr(scopes.ptr + i, ' ', scopes.len - i);
        size_t end = sp ? (size_t)(sp - scopes.ptr) : scopes.len;
        if (!scope_item_ok((cadre_slice){ scopes.ptr + i, end - i }))
            return "scopes: names of letters, digits and _.:- (a '*' only at a name's end), "
                   "one space apart";
        i = end + (sp ? 1 : 0);
        if (sp && i == scopes.len)
            return "scopes: a space at the end";
    }
    return NULL;
}

bool cadre__scopes_allow(cadre_slice scopes, cadre_slice want)
{
    if (!scopes.len)
        return true;
    size_t i = 0;
    while (i < scopes.len) {
        const char *sp = memchr(scopes.ptr + i, ' ', scopes.len - i);
        size_t end = sp ? (size_t)(sp - scopes.ptr) : scopes.len;
        cadre_slice item = { scopes.ptr + i, end - i };
        if (item.len && item.ptr[item.len - 1] == '*') {
            if (want.len >= item.len - 1 && memcmp(want.ptr, item.ptr, item.len - 1) == 0)
                return true;
        } else if (item.len == want.len && memcmp(item.ptr, want.ptr, want.len) == 0) {
            return true;
        }
        i = end + 1;
    }
    return false;
}

/* ---------------------------------------------------------------------------------------------
 * Making and revoking
 * ------------------------------------------------------------------------------------------- */

int cadre_token_create(cadre_app *app, int64_t user_id, const char *name, const char *scopes,
                       int64_t expires, char token[CADRE_TOKEN_SIZE], int64_t *id)
{
    auth_state *st = cadre__auth_state(app);
    if (!st)
        return CADRE_ESTATE;
    token[0] = '\0';
    if (!scopes)
        scopes = "";
    const char *bad = NULL;
    size_t nlen = name ? strlen(name) : 0;
    if (!nlen || nlen > 100 || !cadre_utf8_valid(name, nlen))
        bad = "name: 1 to 100 characters";
    else if (expires && expires <= (int64_t)time(NULL))
        bad = "expires: a time in the future (or 0 for never)";
    else
        bad = cadre__scopes_problem(cadre_slice_cstr(scopes));
    if (bad) {
        cadre_log(CADRE_LOG_ERROR, "token for user %lld: %s", (long long)user_id, bad);
        return CADRE_EINVAL;
    }
    cadre_arena a;
    cadre_arena_init(&a, 2048);
    cadre_user u;
    bool found;
    int rc = cadre_user_get(st->db, &a, user_id, &u, &found);
    if (rc == 0 && !found)
        rc = CADRE_ENOTFOUND;
    for (int attempt = 0; rc == 0 && attempt < 4; attempt++) {
        unsigned char raw[32 + PREFIX_LEN / 2];
        randombytes_buf(raw, sizeof raw);
        memcpy(token, TOKEN_HEAD, HEAD_LEN);
        sodium_bin2hex(token + HEAD_LEN, PREFIX_LEN + 1, raw, PREFIX_LEN / 2);
        token[HEAD_LEN + PREFIX_LEN] = '_';
        sodium_bin2base64(token + HEAD_LEN + PREFIX_LEN + 1, SECRET_LEN + 1, raw + PREFIX_LEN / 2,
                          32, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        sodium_memzero(raw, sizeof raw);
        char hex[65];
        token_hash((cadre_slice){ token, TOKEN_LEN }, hex);
        cadre_token t = { .user_id = user_id,
                          .name = cadre_slice_cstr(name),
                          .prefix = { token + HEAD_LEN, PREFIX_LEN },
                          .key_hash = cadre_slice_cstr(hex),
                          .scopes = cadre_slice_cstr(scopes),
                          .expires = { .sec = expires } };
        cadre_set(&t, cadre_token, user_id);
        cadre_set(&t, cadre_token, name);
        cadre_set(&t, cadre_token, prefix);
        cadre_set(&t, cadre_token, key_hash);
        cadre_set(&t, cadre_token, scopes);
        cadre_set(&t, cadre_token, expires);
        if (!expires)
            cadre_set_null(&t, cadre_token, expires);
        rc = cadre_token_insert(st->db, &a, &t);
        if (rc == CADRE_EEXIST) { /* two prefixes alike (1 in 2^48): draw again */
            rc = 0;
            continue;
        }
        if (rc == 0 && id)
            *id = t.id;
        break;
    }
    if (rc)
        sodium_memzero(token, CADRE_TOKEN_SIZE);
    cadre_arena_free(&a);
    return rc;
}

int cadre_token_revoke(cadre_app *app, int64_t user_id, int64_t id)
{
    auth_state *st = cadre__auth_state(app);
    if (!st)
        return CADRE_ESTATE;
    int64_t changes = 0;
    const cadre_value p[3] = { CADRE_PINT(id), CADRE_PINT(user_id), CADRE_PINT(user_id) };
    int rc = cadre_db_exec(st->db,
                           "DELETE FROM cadre_token WHERE id = ? AND (? = 0 OR user_id = ?)", p, 3,
                           &changes, NULL);
    return rc ? rc : changes ? 0 : CADRE_ENOTFOUND;
}

/* ---------------------------------------------------------------------------------------------
 * A request's token
 * ------------------------------------------------------------------------------------------- */

/* What a token's lookup reads besides the user (users.c). */
#define TOKEN_EXTRA_FIELDS(F)                                                                      \
    F(int64, token_id)                                                                             \
    F(string, token_name)                                                                          \
    F(string, key_hash)                                                                            \
    F(string, scopes)                                                                              \
    F(datetime, expires, CADRE_OPTIONAL, CADRE_NULLABLE)                                           \
    F(datetime, last_used, CADRE_OPTIONAL, CADRE_NULLABLE)                                         \
    F(datetime, created_at)
CADRE_SCHEMA(token_extra, TOKEN_EXTRA_FIELDS)

const cadre_schema *cadre__token_extra_schema(void)
{
    return token_extra__schema();
}

int cadre__token_authenticate(cadre_request *r, auth_state *st, cadre_slice presented,
                              const char **why)
{
    *why = "The token is not valid.";
    cadre_slice prefix;
    if (!cadre__token_parse(presented, &prefix))
        return 0;
    cadre_user *u;
    void *extra;
    const cadre_value param = CADRE_PSLICE(prefix);
    int rc = cadre__auth_lookup(r, st, AUTH_LOOKUP_TOKEN, &param, &u, &extra);
    if (rc || !u)
        return rc;
    const token_extra *row = extra;
    char hex[65];
    token_hash(presented, hex);
    if (row->key_hash.len != 64 || sodium_memcmp(hex, row->key_hash.ptr, 64) != 0)
        return 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    bool expiring = !cadre_is_null(row, token_extra, expires);
    if (expiring && row->expires.sec <= ts.tv_sec) {
        *why = "The token has expired.";
        return 0;
    }
    if (!u->is_active) {
        *why = "The token's user is inactive.";
        return 0;
    }
    cadre_token *t = cadre_alloc(r, sizeof *t);
    memset(t, 0, sizeof *t);
    t->id = row->token_id;
    t->user_id = u->id;
    t->name = row->token_name;
    t->prefix = prefix;
    t->key_hash = (cadre_slice){ "", 0 };
    t->scopes = row->scopes;
    t->expires = row->expires;
    t->last_used = row->last_used;
    t->created_at = row->created_at;
    t->cadre_set_ = ((uint64_t)1 << cadre_token__schema()->nfields) - 1;
    if (!expiring)
        cadre_set_null(t, cadre_token, expires);
    bool used = !cadre_is_null(row, token_extra, last_used);
    if (!used)
        cadre_set_null(t, cadre_token, last_used);
    if (!used || ts.tv_sec - row->last_used.sec >= TOUCH_EVERY) {
        cadre_token touch = { .id = t->id,
                              .last_used = { .sec = ts.tv_sec,
                                             .usec = (int32_t)(ts.tv_nsec / 1000) } };
        cadre_set(&touch, cadre_token, id);
        cadre_set(&touch, cadre_token, last_used);
        rc = cadre_token_patch(st->db, r->arena, &touch, NULL);
        /* a database that takes no writes (locked, full, read-only) still lets a token read */
        if (rc)
            cadre_log(CADRE_LOG_WARN, "auth: token %lld's last use not recorded: %s",
                      (long long)t->id, cadre_strerror(rc));
    }
    cadre__auth_remember(r, u, 0);
    cadre_request_set(r, AUTH_TOKEN_KEY, t);
    *why = NULL;
    return 0;
}

const cadre_token *cadre_request_token(cadre_request *r)
{
    return cadre_request_get(r, AUTH_TOKEN_KEY);
}

bool cadre_auth_scope(cadre_request *r, const char *scope)
{
    const cadre_user *u = cadre_request_user(r);
    if (!u)
        return false;
    const cadre_token *t = cadre_request_token(r);
    return !t || cadre__scopes_allow(t->scopes, cadre_slice_cstr(scope));
}
