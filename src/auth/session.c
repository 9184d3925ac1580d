/*
 * Sessions in the database and the user of a request.
 *
 * The cookie holds a random key (32 bytes, base64url: 43 characters); the table holds its SHA-256
 * in hex, the user, the absolute expiry and the time last seen. A request's user is one query
 * (session joined to user), made when something first asks for it and remembered for the rest of
 * the request; the time last seen is written back at most once a minute.
 */
#include "auth/auth_internal.h"

#include "cadre/db.h"
#include "cadre/schema.h"

#include <sodium.h>
#include <string.h>
#include <time.h>

#define KEY_BYTES 32
#define KEY_TEXT 43 /* base64url of 32 bytes, without padding */
#define TOUCH_EVERY 60

/* What a session's lookup reads besides the user (users.c). */
#define SESSION_EXTRA_FIELDS(F)                                                                    \
    F(int64, session_id)                                                                           \
    F(int64, expires)                                                                              \
    F(int64, seen)
CADRE_SCHEMA(session_extra, SESSION_EXTRA_FIELDS)

const cadre_schema *cadre__session_extra_schema(void)
{
    return session_extra__schema();
}

/* The anonymous mark in the request state: looked up, nobody. */
static const cadre_user anonymous;

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

auth_state *cadre__auth_state(cadre_app *app)
{
    return app ? cadre_app_attachment(app, AUTH_KEY) : NULL;
}

static auth_state *state_of(cadre_request *r)
{
    return cadre__auth_state(cadre_request_app(r));
}

/* The SHA-256 of a well-formed key, in hex; false for a cookie that cannot be a key. */
static bool key_hash(cadre_slice key, char hex[65])
{
    if (key.len != KEY_TEXT)
        return false;
    for (size_t i = 0; i < key.len; i++) {
        char c = key.ptr[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)key.ptr, key.len);
    sodium_bin2hex(hex, 65, h, sizeof h);
    return true;
}

void cadre__auth_remember(cadre_request *r, const cadre_user *u, int64_t session_id)
{
    cadre_request_set(r, AUTH_USER_KEY, (void *)(u ? u : &anonymous));
    if (u) /* for the access log: formatted only if it writes */
        cadre_request_set(r, CADRE_USER_ID_KEY, (void *)&u->id);
    int64_t *sid = cadre_alloc(r, sizeof *sid);
    *sid = session_id;
    cadre_request_set(r, AUTH_SESSION_KEY, sid);
}

int cadre_auth_user(cadre_request *r, const cadre_user **user)
{
    *user = NULL;
    const cadre_user *known = cadre_request_get(r, AUTH_USER_KEY);
    if (known) {
        *user = known == &anonymous ? NULL : known;
        return 0;
    }
    auth_state *st = state_of(r);
    if (!st)
        return CADRE_ESTATE;
    char hex[65];
    if (cadre_request_get(r, AUTH_NO_COOKIE_KEY) ||
        !key_hash(cadre_request_cookie(r, st->o.cookie_name), hex)) {
        cadre__auth_remember(r, NULL, 0);
        return 0;
    }
    cadre_user *u;
    void *extra;
    const cadre_value param = CADRE_PTEXT(hex);
    int rc = cadre__auth_lookup(r, st, AUTH_LOOKUP_SESSION, &param, &u, &extra);
    if (rc)
        return rc;
    const session_extra *row = extra;
    int64_t now = now_s();
    if (!u || row->expires <= now || row->seen + st->o.session_idle <= now || !u->is_active) {
        cadre__auth_remember(r, NULL, 0);
        return 0;
    }
    if (now - row->seen >= TOUCH_EVERY) {
        const cadre_value p[2] = { CADRE_PINT(now), CADRE_PINT(row->session_id) };
        rc = cadre_db_exec(st->db, "UPDATE cadre_session SET seen = ? WHERE id = ?", p, 2, NULL,
                           NULL);
        /* a database that takes no writes (locked, full, read-only) still lets a user read */
        if (rc)
            cadre_log(CADRE_LOG_WARN, "auth: session %lld's last activity not recorded: %s",
                      (long long)row->session_id, cadre_strerror(rc));
    }
    cadre__auth_remember(r, u, row->session_id);
    *user = u;
    return 0;
}

const cadre_user *cadre_request_user(cadre_request *r)
{
    const cadre_user *u;
    return cadre_auth_user(r, &u) == 0 ? u : NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Guards
 * ------------------------------------------------------------------------------------------- */

/* The anonymous answer: a browser to the login page (next = where it was going) when a session
 * would do, anyone else 401 saying what would. */
static int not_authenticated(cadre_request *r, auth_state *st, unsigned auth)
{
    bool session = !auth || (auth & CADRE_AUTH_SESSION);
    if (st && session && st->o.login_path[0] && cadre_request_wants_html(r)) {
        cadre_buf next;
        cadre_buf_init_arena(&next, r->arena, 16384);
        cadre_buf_append_str(&next, st->o.login_path);
        cadre_buf_append_str(&next, "?next=");
        cadre_slice target = r->head.target;
        static const char hexd[] = "0123456789ABCDEF";
        for (size_t i = 0; i < target.len; i++) { /* percent-encode all but unreserved and / */
            unsigned char c = (unsigned char)target.ptr[i];
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
                cadre_buf_append(&next, (const char *)&c, 1);
            } else {
                char e[3] = { '%', hexd[c >> 4], hexd[c & 15] };
                cadre_buf_append(&next, e, 3);
            }
        }
        if (cadre_buf_append(&next, "", 1) != 0) /* a target too long to come back to */
            return cadre_redirect(r, 303, st->o.login_path);
        bool get = cadre_slice_eq_cstr(r->head.method, "GET") ||
                   cadre_slice_eq_cstr(r->head.method, "HEAD");
        return cadre_redirect(r, get ? 302 : 303, next.data);
    }
    cadre_set_header(r, "WWW-Authenticate", (auth & CADRE_AUTH_TOKEN) ? "Bearer" : "Session");
    return cadre_error(r, 401, "Not authenticated");
}

static bool unsafe_method(cadre_slice m)
{
    return !(cadre_slice_eq_cstr(m, "GET") || cadre_slice_eq_cstr(m, "HEAD") ||
             cadre_slice_eq_cstr(m, "OPTIONS") || cadre_slice_eq_cstr(m, "TRACE"));
}

/* a literal key or string */
#define JKEY(w, s) cadre_json_key((w), (s), sizeof(s) - 1)
#define JSTR(w, s) cadre_json_string((w), (s), sizeof(s) - 1)

/* A Bearer token refused (RFC 6750 section 3.1): 400 invalid_request for a malformed header,
 * 401 invalid_token for one that opens nothing. */
static int bearer_refused(cadre_request *r, int status, const char *error, const char *why)
{
    cadre_set_header(r, "WWW-Authenticate",
                     cadre_arena_printf(r->arena, "Bearer error=\"%s\", error_description=\"%s\"",
                                        error, why));
    return cadre_error(r, status, why);
}

/* An Authorization header naming the Bearer scheme (*had): 0 with the request's user set from its
 * token, or the refusal answered. Without one (or with another scheme), 0 and the session
 * decides. */
static int bearer(cadre_request *r, auth_state *st, bool *had)
{
    *had = false;
    cadre_slice h = cadre_request_header(r, "Authorization"), scheme, token;
    if (!h.ptr)
        return 0;
    if (!cadre_http_credentials(h, &scheme, &token)) {
        /* a malformed value: refused when it means to be Bearer, else not ours to judge */
        cadre_slice head = h;
        while (head.len && (head.ptr[0] == ' ' || head.ptr[0] == '\t'))
            head.ptr++, head.len--;
        if (head.len > 6 && cadre_slice_ieq_cstr((cadre_slice){ head.ptr, 6 }, "Bearer") &&
            (head.ptr[6] == ' ' || head.ptr[6] == '\t')) {
            *had = true;
            return bearer_refused(r, 400, "invalid_request", "Malformed Authorization header.");
        }
        return 0;
    }
    if (!cadre_slice_ieq_cstr(scheme, "Bearer"))
        return 0;
    *had = true;
    cadre_request_set(r, AUTH_NO_COOKIE_KEY, st); /* the token alone decides: no cookie, no CSRF */
    if (!token.len)
        return bearer_refused(r, 400, "invalid_request", "Malformed Authorization header.");
    const char *why;
    int rc = cadre__token_authenticate(r, st, token, &why);
    if (rc)
        return rc;
    return why ? bearer_refused(r, 401, "invalid_token", why) : 0;
}

int cadre__auth_refuse(cadre_request *r, auth_state *st)
{
    const unsigned *decl = cadre_request_get(r, AUTH_DECL_KEY);
    return not_authenticated(r, st, decl ? *decl : 0);
}

int cadre__auth_check(cadre_request *r, unsigned auth, void *ctx)
{
    auth_state *st = ctx;
    if (auth) {
        unsigned *decl = cadre_alloc(r, sizeof *decl);
        *decl = auth;
        cadre_request_set(r, AUTH_DECL_KEY, decl);
    }
    if (auth & CADRE_AUTH_TOKEN) {
        bool had;
        int rc = bearer(r, st, &had);
        if (rc || had)
            return rc;
    }
    if (auth & CADRE_AUTH_PUBLIC)
        auth = 0;
    bool session = !auth || (auth & CADRE_AUTH_SESSION);
    if (!session) { /* token only: no cookie of ours counts, so none needs a CSRF token */
        cadre_request_set(r, AUTH_NO_COOKIE_KEY, st);
    } else if (unsafe_method(r->head.method) &&
               (cadre_request_cookie(r, st->o.cookie_name).ptr ||
                cadre_request_cookie(r, st->o.csrf_cookie_name).ptr)) {
        int rc = cadre__csrf_verify(r, st);
        if (rc)
            return rc;
    }
    if (!(auth & (CADRE_AUTH_SESSION | CADRE_AUTH_TOKEN)))
        return 0;
    const cadre_user *u;
    int rc = cadre_auth_user(r, &u);
    if (rc)
        return rc;
    return u ? 0 : not_authenticated(r, st, auth);
}

void cadre__auth_security(cadre_json_writer *w, unsigned auth, const char *op, void *ctx)
{
    auth_state *st = ctx;
    if (!op) { /* components.securitySchemes: those the operations use */
        if (auth & CADRE_AUTH_SESSION) {
            JKEY(w, "sessionCookie");
            cadre_json_begin_object(w);
            JKEY(w, "type");
            JSTR(w, "apiKey");
            JKEY(w, "in");
            JSTR(w, "cookie");
            JKEY(w, "name");
            cadre_json_string(w, st->o.cookie_name, strlen(st->o.cookie_name));
            JKEY(w, "description");
            static const char d[] = "The session of a login (POST the login form). Unsafe "
                                    "methods also need the CSRF token in X-CSRFToken.";
            cadre_json_string(w, d, sizeof d - 1);
            cadre_json_end_object(w);
        }
        if (auth & CADRE_AUTH_TOKEN) {
            JKEY(w, "bearerToken");
            cadre_json_begin_object(w);
            JKEY(w, "type");
            JSTR(w, "http");
            JKEY(w, "scheme");
            JSTR(w, "bearer");
            cadre_json_end_object(w);
        }
        return;
    }
    /* an operation's requirements: any one of them will do */
    cadre_json_begin_array(w);
    if (auth & CADRE_AUTH_SESSION) {
        cadre_json_begin_object(w);
        JKEY(w, "sessionCookie");
        cadre_json_begin_array(w);
        cadre_json_end_array(w);
        cadre_json_end_object(w);
    }
    if (auth & CADRE_AUTH_TOKEN) {
        cadre_json_begin_object(w);
        JKEY(w, "bearerToken");
        cadre_json_begin_array(w);
        cadre_json_end_array(w);
        cadre_json_end_object(w);
    }
    cadre_json_end_array(w);
}

int cadre_login_required(cadre_request *r, void *ctx)
{
    (void)ctx;
    const cadre_user *u;
    int rc = cadre_auth_user(r, &u);
    if (rc)
        return rc;
    return u ? 0 : not_authenticated(r, state_of(r), 0);
}

int cadre_scope_required(cadre_request *r, void *ctx)
{
    int rc = cadre_login_required(r, NULL);
    if (rc || cadre_auth_scope(r, ctx))
        return rc;
    cadre_set_header(r, "WWW-Authenticate",
                     cadre_arena_printf(r->arena, "Bearer error=\"insufficient_scope\", scope=\"%s\"",
                                        (const char *)ctx));
    return cadre_app_error(r, 403, "The token's scopes do not allow this.");
}

int cadre_staff_required(cadre_request *r, void *ctx)
{
    int rc = cadre_login_required(r, ctx);
    if (rc)
        return rc;
    return cadre_request_user(r)->is_staff ? 0 : cadre_app_error(r, 403, "Forbidden");
}

/* ---------------------------------------------------------------------------------------------
 * Logging in and out
 * ------------------------------------------------------------------------------------------- */

/* Writes a user's password hash; *changes (optional) the rows changed (0: no such user). */
static int store_hash(auth_state *st, int64_t user_id, const char *hash, int64_t *changes)
{
    const cadre_value p[2] = { CADRE_PTEXT(hash), CADRE_PINT(user_id) };
    return cadre_db_exec(st->db, "UPDATE cadre_user SET password = ? WHERE id = ?", p, 2, changes,
                         NULL);
}

#define USER_PW_FIELDS(F)                                                                          \
    F(int64, id)                                                                                   \
    F(string, password)                                                                            \
    F(bool, is_active)
CADRE_SCHEMA(user_pw, USER_PW_FIELDS)

/* ---------------------------------------------------------------------------------------------
 * Login throttling: failures per (username, client address) within the window, in the database
 * (so every instance of the app counts alike)
 * ------------------------------------------------------------------------------------------- */

#define FAILURES_FIELDS(F) F(int64, n) F(int64, oldest, CADRE_OPTIONAL, CADRE_NULLABLE)
CADRE_SCHEMA(failures_row, FAILURES_FIELDS)

/* The key's username: as given when it is UTF-8 of at most 150 bytes (any user's), else its
 * first bytes in hex (no user's, but still counted). */
static cadre_slice throttle_name(cadre_request *r, cadre_slice username)
{
    if (username.len <= 150 && cadre_utf8_valid(username.ptr, username.len))
        return username;
    size_t n = username.len < 60 ? username.len : 60;
    char *hex = cadre_alloc(r, 2 * n + 2);
    hex[0] = '\\';
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 1 + 2 * i, 3, "%02x", (unsigned char)username.ptr[i]);
    return (cadre_slice){ hex, 2 * n + 1 };
}

static int throttled(cadre_request *r, auth_state *st, cadre_slice name, const char *ip)
{
    int64_t now = now_s();
    const cadre_value p[3] = { CADRE_PSLICE(name), CADRE_PTEXT(ip),
                               CADRE_PINT(now - st->o.login_window) };
    failures_row row;
    bool found;
    int rc = cadre_db_query_one(st->db, r->arena, failures_row__schema(), &row, &found,
                                "SELECT COUNT(*) AS n, MIN(at) AS oldest FROM cadre_login_failure "
                                "WHERE username = ? AND ip = ? AND at > ?",
                                p, 3);
    if (rc || !found || row.n < st->o.login_failures)
        return rc;
    int64_t wait = row.oldest + st->o.login_window - now;
    if (wait < 1)
        wait = 1;
    cadre_set_header(r, "Retry-After", cadre_arena_printf(r->arena, "%lld", (long long)wait));
    cadre_log(CADRE_LOG_WARN, "login throttled: %lld failures for '%.*s' from %s",
              (long long)row.n, (int)(name.len > 150 ? 150 : name.len), name.ptr, ip[0] ? ip : "?");
    return CADRE_ELIMIT;
}

/* A failure counted (and those past the window forgotten), or a success clearing the count. */
static int count_login(auth_state *st, cadre_slice name, const char *ip, bool failed)
{
    if (!failed) {
        const cadre_value p[2] = { CADRE_PSLICE(name), CADRE_PTEXT(ip) };
        return cadre_db_exec(st->db, "DELETE FROM cadre_login_failure WHERE username = ? AND ip = ?",
                             p, 2, NULL, NULL);
    }
    int64_t now = now_s();
    const cadre_value old = CADRE_PINT(now - st->o.login_window);
    int rc = cadre_db_exec(st->db, "DELETE FROM cadre_login_failure WHERE at <= ?", &old, 1, NULL,
                           NULL);
    const cadre_value p[3] = { CADRE_PSLICE(name), CADRE_PTEXT(ip), CADRE_PINT(now) };
    return rc ? rc : cadre_db_exec(st->db, "INSERT INTO cadre_login_failure (username, ip, at) "
                                           "VALUES (?, ?, ?)", p, 3, NULL, NULL);
}

static int check_password(cadre_request *r, auth_state *st, cadre_slice username,
                          cadre_slice password, int64_t *user_id);

int cadre_authenticate(cadre_request *r, cadre_slice username, cadre_slice password,
                       int64_t *user_id)
{
    *user_id = 0;
    auth_state *st = state_of(r);
    if (!st)
        return CADRE_ESTATE;
    if (st->o.login_failures < 0)
        return check_password(r, st, username, password, user_id);
    char ip[CADRE_PEER_SIZE];
    cadre_request_client(r, ip);
    cadre_slice name = throttle_name(r, username);
    int rc = throttled(r, st, name, ip);
    if (rc == 0)
        rc = check_password(r, st, username, password, user_id);
    if (rc == 0)
        rc = count_login(st, name, ip, *user_id == 0);
    return rc;
}

static int check_password(cadre_request *r, auth_state *st, cadre_slice username,
                          cadre_slice password, int64_t *user_id)
{
    user_pw row = { 0 };
    bool found = false;
    int rc = 0;
    if (username.len && username.len <= 150 && cadre_utf8_valid(username.ptr, username.len)) {
        const cadre_value p = CADRE_PSLICE(username);
        rc = cadre_db_query_one(st->db, r->arena, user_pw__schema(), &row, &found,
                                "SELECT id, password, is_active FROM cadre_user WHERE username = ?",
                                &p, 1);
        if (rc)
            return rc;
    }
    /* the stored hash as a C string (NULL: unknown user, checked against the dummy) */
    char *hash = found ? cadre_arena_printf(r->arena, "%.*s", (int)row.password.len,
                                            row.password.ptr)
                       : NULL;
    bool ok;
    char rehashed[CADRE_PASSWORD_HASH_SIZE];
    rc = cadre__password_check(st, password, hash, &ok, rehashed);
    if (rc)
        return rc;
    if (!ok || !row.is_active) /* Django's ModelBackend refuses inactive users too */
        return 0;
    if (rehashed[0] && (rc = store_hash(st, row.id, rehashed, NULL)) != 0)
        return rc;
    *user_id = row.id;
    return 0;
}

bool cadre__auth_secure_cookies(const auth_state *st)
{
    return st->o.cookie_secure > 0 || (st->o.cookie_secure == 0 && !cadre_app_is_dev(st->app));
}

/* The request's own session row, by its cookie (if it has a well-formed one). */
static int delete_cookie_session(cadre_request *r, auth_state *st)
{
    char hex[65];
    if (!key_hash(cadre_request_cookie(r, st->o.cookie_name), hex))
        return 0;
    const cadre_value p = CADRE_PTEXT(hex);
    return cadre_db_exec(st->db, "DELETE FROM cadre_session WHERE key_hash = ?", &p, 1, NULL, NULL);
}

int cadre_login(cadre_request *r, int64_t user_id)
{
    auth_state *st = state_of(r);
    if (!st)
        return CADRE_ESTATE;
    /* a new key whatever the request came with: a key planted before the login (session
     * fixation) is worth nothing after it */
    int rc = delete_cookie_session(r, st);
    if (rc)
        return rc;
    unsigned char raw[KEY_BYTES];
    char key[KEY_TEXT + 1], hex[65];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(key, sizeof key, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    key_hash(cadre_slice_cstr(key), hex);

    char peer[CADRE_PEER_SIZE];
    cadre_request_peer(r, peer);
    cadre_slice ua = cadre_request_header(r, "User-Agent");
    if (ua.len > 300) /* kept whole up to the column's length (a cut inside UTF-8 is refused) */
        ua.len = 0;
    int64_t now = now_s();
    cadre_session s = { .key_hash = cadre_slice_cstr(cadre_arena_printf(r->arena, "%s", hex)),
                        .user_id = user_id,
                        .expires = now + st->o.session_max_age,
                        .seen = now,
                        .ip = cadre_slice_cstr(cadre_arena_printf(r->arena, "%s", peer)),
                        .user_agent = ua.ptr ? ua : (cadre_slice){ "", 0 } };
    s.cadre_set_ = ~(uint64_t)0 & ~((uint64_t)1 << CADRE_FIELD_INDEX(cadre_session, id));
    rc = cadre_session_insert(st->db, r->arena, &s);
    if (rc)
        return rc;

    cadre_user u = { .id = user_id };
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    u.last_login = (cadre_datetime){ .sec = ts.tv_sec, .usec = (int32_t)(ts.tv_nsec / 1000) };
    cadre_set(&u, cadre_user, id);
    cadre_set(&u, cadre_user, last_login);
    rc = cadre_user_patch(st->db, r->arena, &u, NULL);
    if (rc)
        return rc;
    rc = cadre_set_cookie(r, st->o.cookie_name, key, .max_age = st->o.session_max_age,
                          .http_only = true, .secure = cadre__auth_secure_cookies(st), .same_site = "Lax");
    if (rc)
        return rc;
    cadre__csrf_rotate(r, st); /* a token taken before the login is worth nothing after it */
    /* the rest of this request sees the new user */
    cadre_user *full;
    rc = cadre__auth_user_get(r, st, user_id, &full);
    if (rc)
        return rc;
    cadre__auth_remember(r, full, s.id);
    return 0;
}

int cadre_logout(cadre_request *r)
{
    auth_state *st = state_of(r);
    if (!st)
        return CADRE_ESTATE;
    int rc = delete_cookie_session(r, st);
    if (rc)
        return rc;
    if (cadre_request_cookie(r, st->o.cookie_name).ptr)
        cadre_set_cookie(r, st->o.cookie_name, "", .max_age = -1, .http_only = true,
                         .secure = cadre__auth_secure_cookies(st), .same_site = "Lax");
    cadre__auth_remember(r, NULL, 0);
    return 0;
}

int cadre_logout_everywhere(cadre_app *app, cadre_request *r, int64_t user_id, int64_t *ended)
{
    auth_state *st = cadre__auth_state(app);
    if (!st)
        return CADRE_ESTATE;
    int64_t keep = 0;
    if (r) {
        const cadre_user *u;
        const int64_t *sid = cadre_auth_user(r, &u) == 0 && u && u->id == user_id
                                 ? cadre_request_get(r, AUTH_SESSION_KEY) : NULL;
        keep = sid ? *sid : 0;
    }
    const cadre_value p[2] = { CADRE_PINT(user_id), CADRE_PINT(keep) };
    return cadre_db_exec(st->db, "DELETE FROM cadre_session WHERE user_id = ? AND id <> ?", p, 2,
                         ended, NULL);
}

int cadre_auth_clear_sessions(cadre_app *app, int64_t *deleted)
{
    auth_state *st = cadre__auth_state(app);
    if (!st)
        return CADRE_ESTATE;
    int64_t now = now_s();
    const cadre_value p[2] = { CADRE_PINT(now), CADRE_PINT(now - st->o.session_idle) };
    return cadre_db_exec(st->db, "DELETE FROM cadre_session WHERE expires <= ? OR seen <= ?", p, 2,
                         deleted, NULL);
}

/* ---------------------------------------------------------------------------------------------
 * Users
 * ------------------------------------------------------------------------------------------- */

int cadre_user_create(cadre_app *app, const char *username, const char *email,
                      const char *password, bool superuser, int64_t *id)
{
    auth_state *st = cadre__auth_state(app);
    if (!st)
        return CADRE_ESTATE;
    cadre_arena a;
    cadre_arena_init(&a, 4096);
    /* the model's own checks (lengths, the username's pattern), as for any input, before the
     * hash's time is spent */
    const cadre_schema *us = cadre_user__schema();
    cadre_user u = { 0 };
    cadre_verrors errs;
    cadre_verrors_init(&errs, &a);
    cadre_schema_decode_text(us, cadre_schema_field(us, "username", 8), cadre_slice_cstr(username),
                             &u, &a, "user", &errs);
    cadre_schema_decode_text(us, cadre_schema_field(us, "email", 5),
                             cadre_slice_cstr(email ? email : ""), &u, &a, "user", &errs);
    for (size_t i = 0; i < errs.len; i++)
        cadre_log(CADRE_LOG_ERROR, "user %s: %s: %s", username,
                  cadre_verror_path(&errs.items[i], &a), errs.items[i].msg);
    char hash[CADRE_PASSWORD_HASH_SIZE];
    int rc = errs.len ? CADRE_EINVAL : 0;
    if (rc == 0 && password) {
        rc = cadre_password_hash(app, cadre_slice_cstr(password), hash);
    } else if (rc == 0) { /* unusable: not an argon2id string, so no password matches it */
        unsigned char raw[16];
        randombytes_buf(raw, sizeof raw);
        hash[0] = '!';
        sodium_bin2hex(hash + 1, sizeof hash - 1, raw, sizeof raw);
    }
    if (rc == 0) {
        u.password = cadre_slice_cstr(hash);
        u.is_active = true;
        u.is_staff = superuser;
        u.is_superuser = superuser;
        cadre_set(&u, cadre_user, password);
        cadre_set(&u, cadre_user, is_active);
        cadre_set(&u, cadre_user, is_staff);
        cadre_set(&u, cadre_user, is_superuser);
        rc = cadre_user_insert(st->db, &a, &u);
    }
    if (rc == 0 && id)
        *id = u.id;
    sodium_memzero(hash, sizeof hash);
    cadre_arena_free(&a);
    return rc;
}

int cadre_user_set_password(cadre_app *app, cadre_request *r, int64_t user_id, cadre_slice password)
{
    auth_state *st = cadre__auth_state(app);
    if (!st)
        return CADRE_ESTATE;
    char hash[CADRE_PASSWORD_HASH_SIZE];
    int rc = cadre_password_hash(app, password, hash);
    if (rc)
        return rc;
    int64_t changes = 0;
    rc = store_hash(st, user_id, hash, &changes);
    sodium_memzero(hash, sizeof hash);
    if (rc == 0 && changes == 0)
        rc = CADRE_ENOTFOUND;
    return rc ? rc : cadre_logout_everywhere(app, r, user_id, NULL);
}
