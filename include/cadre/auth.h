/**
 * cadre/auth.h — users, passwords, sessions, and the login pages: Django's contrib.auth for a
 * Cadre app, switched on with one call.
 *
 *     cadre_auth(app, db);                       // the auth module, its tables and pages
 *     cadre_get(app, "/account", account_page, .guards = CADRE_GUARDS(CADRE_LOGIN_REQUIRED));
 *
 *     ./app migrate                              creates cadre_user and cadre_session
 *     ./app createsuperuser                      asks for a name, an e-mail and a password
 *
 * Users live in the table cadre_user (auth's migrations, applied by `migrate` with the app's
 * own). Passwords are stored as argon2id strings ("$argon2id$v=19$m=19456,t=2,p=1$…", libsodium's
 * crypto_pwhash_str); hashing runs on a small pool of threads, so a login suspends only its own
 * request, and the pool's size bounds the memory hashes take at once (each costs the memory
 * limit: 19 MiB by default). Logins beyond it wait their turn.
 *
 * Sessions live in the table cadre_session, one row per login: the SHA-256 of a random key (the
 * key itself is only in the browser's cookie, so a copy of the table opens no session), the user,
 * the absolute expiry and the time last seen (idle expiry). The cookie ("sessionid") is HttpOnly,
 * SameSite=Lax, and Secure outside development mode. A login makes a new key (session fixation:
 * a key planted before the login is worth nothing after), a password change ends the user's other
 * sessions, `clearsessions` deletes expired rows.
 *
 * The pages: GET/POST /accounts/login/ (fields username and password; a next parameter, kept when
 * it names a path on this site) and POST /accounts/logout/, from the templates auth/login.html and
 * auth/logged_out.html, which an app overrides with its own of the same name (cadre/template.h).
 *
 * Commands: createsuperuser [--username U] [--email E] [--noinput] (with --noinput, the values
 * come from CADRE_SUPERUSER_USERNAME, CADRE_SUPERUSER_PASSWORD and CADRE_SUPERUSER_EMAIL);
 * changepassword [USERNAME]; clearsessions.
 */
#ifndef CADRE_AUTH_H
#define CADRE_AUTH_H

#include "app.h"
#include "db.h"
#include "orm.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A user: the table cadre_user. password holds the argon2id string, never encoded. */
#define CADRE_USER_FIELDS(F)                                                                       \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, username, CADRE_MIN_LEN(1), CADRE_MAX_LEN(150), CADRE_UNIQUE,                        \
      CADRE_PATTERN("^[A-Za-z0-9@.+_-]+$"),                                                        \
      CADRE_DESCRIPTION("letters, digits and @.+-_ only"))                                         \
    F(string, email, CADRE_MAX_LEN(254), CADRE_DEFAULT_STR(""))                                   \
    F(string, password, CADRE_MAX_LEN(255), CADRE_WRITE_ONLY, CADRE_DEFAULT_STR(""))              \
    F(bool, is_active, CADRE_DEFAULT(true))                                                        \
    F(bool, is_staff, CADRE_DEFAULT(false))                                                        \
    F(bool, is_superuser, CADRE_DEFAULT(false))                                                    \
    F(datetime, last_login, CADRE_OPTIONAL, CADRE_NULLABLE)                                        \
    F(datetime, date_joined, CADRE_AUTO_NOW_ADD)
CADRE_MODEL(cadre_user, CADRE_USER_FIELDS)

/**
 * A project's own user: cadre_user's fields, then the project's, in the same table. Declare it
 * from the start, as Django advises for AUTH_USER_MODEL; fields can be added to it at any time:
 *
 *     #define ACCOUNT_FIELDS(F)                                                          \
 *         CADRE_USER_FIELDS(F)                                                           \
 *         F(string, display_name, CADRE_MAX_LEN(100), CADRE_DEFAULT_STR(""))             \
 *         F(string, timezone, CADRE_MAX_LEN(64), CADRE_DEFAULT_STR("UTC"))
 *     CADRE_USER_MODEL(account, ACCOUNT_FIELDS)
 *
 *     cadre_auth(app, db);
 *     cadre_models(app, db, "migrations", CADRE_SCHEMA_OF(account), …);
 *     const account *me = cadre_request_user_as(r, account);
 *
 * Registered with the project's models, it extends auth's table: makemigrations writes the
 * project's columns into the project's migrations (add, alter, drop: never auth's columns), after
 * auth's. Its own fields need a default, or CADRE_OPTIONAL / CADRE_NULLABLE, since users may
 * exist already (createsuperuser sets cadre_user's fields; the others take their defaults).
 * Auth then reads users with every field (still one query per request), templates see them as
 * `user`, and the permissions stay auth's (auth.change_cadre_user). A pointer to one is a
 * pointer to its cadre_user: cadre_request_user's answer is the same row.
 */
#define CADRE_USER_MODEL(NAME, FIELDS)                                                             \
    CADRE__MODEL_AS(NAME, "cadre_user", FIELDS)                                                    \
    _Static_assert(offsetof(NAME, id) == offsetof(cadre_user, id) &&                               \
                       offsetof(NAME, date_joined) == offsetof(cadre_user, date_joined) &&         \
                       sizeof(NAME) > sizeof(cadre_user),                                          \
                   "CADRE_USER_MODEL " #NAME ": its fields are CADRE_USER_FIELDS(F) first, then "  \
                   "its own");

/** The request's user as the app's CADRE_USER_MODEL NAME (const NAME *), or NULL: anonymous,
 *  or NAME is not the app's user model (logged). */
#define cadre_request_user_as(r, NAME) ((const NAME *)cadre__request_user_as((r), NAME##__schema()))
const void *cadre__request_user_as(cadre_request *r, const cadre_schema *model);

/** A login: the table cadre_session. Times are Unix seconds. */
#define CADRE_SESSION_FIELDS(F)                                                                    \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, key_hash, CADRE_MAX_LEN(64), CADRE_UNIQUE)                                           \
    F(int64, user_id, CADRE_FOREIGN_KEY(cadre_user, CADRE_ON_DELETE_CASCADE), CADRE_INDEX)         \
    F(int64, expires, CADRE_INDEX, CADRE_DESCRIPTION("absolute expiry, Unix time"))                \
    F(int64, seen, CADRE_DESCRIPTION("last request, Unix time (to the minute)"))                   \
    F(string, ip, CADRE_MAX_LEN(64), CADRE_DEFAULT_STR(""))                                        \
    F(string, user_agent, CADRE_MAX_LEN(300), CADRE_DEFAULT_STR(""))                               \
    F(datetime, created_at, CADRE_AUTO_NOW_ADD)
CADRE_MODEL(cadre_session, CADRE_SESSION_FIELDS)

/** An API token: the table cadre_token. The token itself is shown once, when it is made; the
 *  table keeps its prefix (to find it, and for people to tell tokens apart) and the SHA-256 of the
 *  whole. Revoking one deletes its row. */
#define CADRE_TOKEN_FIELDS(F)                                                                      \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(int64, user_id, CADRE_FOREIGN_KEY(cadre_user, CADRE_ON_DELETE_CASCADE), CADRE_INDEX)         \
    F(string, name, CADRE_MIN_LEN(1), CADRE_MAX_LEN(100),                                          \
      CADRE_DESCRIPTION("what the token is for, in its owner's words"))                            \
    F(string, prefix, CADRE_MAX_LEN(12), CADRE_UNIQUE,                                             \
      CADRE_DESCRIPTION("the 12 characters after cadre_ in the token"))                            \
    F(string, key_hash, CADRE_MAX_LEN(64), CADRE_WRITE_ONLY)                                       \
    F(string, scopes, CADRE_MAX_LEN(1000), CADRE_DEFAULT_STR(""),                                  \
      CADRE_DESCRIPTION("space-separated; empty: everything its user may do"))                     \
    F(datetime, expires, CADRE_OPTIONAL, CADRE_NULLABLE)                                           \
    F(datetime, last_used, CADRE_OPTIONAL, CADRE_NULLABLE,                                         \
      CADRE_DESCRIPTION("to the minute"))                                                          \
    F(datetime, created_at, CADRE_AUTO_NOW_ADD)
CADRE_MODEL(cadre_token, CADRE_TOKEN_FIELDS)

/** A group of users: the table cadre_group. Its members have its permissions. */
#define CADRE_GROUP_FIELDS(F)                                                                      \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, name, CADRE_MIN_LEN(1), CADRE_MAX_LEN(150), CADRE_UNIQUE)
CADRE_MODEL(cadre_group, CADRE_GROUP_FIELDS)

/** A permission of a group (cadre_group_perm) or of one user (cadre_user_perm), by name. */
#define CADRE_GROUP_PERM_FIELDS(F)                                                                 \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(int64, group_id, CADRE_FOREIGN_KEY(cadre_group, CADRE_ON_DELETE_CASCADE), CADRE_INDEX)       \
    F(string, perm, CADRE_MAX_LEN(255))
CADRE_MODEL(cadre_group_perm, CADRE_GROUP_PERM_FIELDS)

#define CADRE_USER_PERM_FIELDS(F)                                                                  \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(int64, user_id, CADRE_FOREIGN_KEY(cadre_user, CADRE_ON_DELETE_CASCADE), CADRE_INDEX)         \
    F(string, perm, CADRE_MAX_LEN(255))
CADRE_MODEL(cadre_user_perm, CADRE_USER_PERM_FIELDS)

/** A user's membership of a group: the table cadre_user_group. */
#define CADRE_USER_GROUP_FIELDS(F)                                                                 \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(int64, user_id, CADRE_FOREIGN_KEY(cadre_user, CADRE_ON_DELETE_CASCADE), CADRE_INDEX)         \
    F(int64, group_id, CADRE_FOREIGN_KEY(cadre_group, CADRE_ON_DELETE_CASCADE), CADRE_INDEX)
CADRE_MODEL(cadre_user_group, CADRE_USER_GROUP_FIELDS)

/** A failed login, kept for the login_window (throttling): the table cadre_login_failure. */
#define CADRE_LOGIN_FAILURE_FIELDS(F)                                                              \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, username, CADRE_MAX_LEN(150), CADRE_INDEX)                                           \
    F(string, ip, CADRE_MAX_LEN(64))                                                               \
    F(int64, at, CADRE_INDEX, CADRE_DESCRIPTION("Unix time"))
CADRE_MODEL(cadre_login_failure, CADRE_LOGIN_FAILURE_FIELDS)

/** The longest password accepted, in bytes (Django's limit too: longer ones cost hashing time
 *  for nothing). */
#define CADRE_PASSWORD_MAX 4096
/** Room for an argon2id string, its NUL included (crypto_pwhash_STRBYTES). */
#define CADRE_PASSWORD_HASH_SIZE 128

typedef struct cadre_auth_opts {
    const char *login_path;      /**< the login page ("/accounts/login/"); "" for none */
    const char *logout_path;     /**< the logout action ("/accounts/logout/"); "" for none */
    const char *login_redirect;  /**< where a login without next goes ("/") */
    const char *cookie_name;     /**< the session cookie ("sessionid") */
    int64_t session_max_age;     /**< seconds from login to absolute expiry (14 days) */
    int64_t session_idle;        /**< seconds without a request before a session ends (7 days) */
    int cookie_secure;           /**< Secure cookies: 1 always, -1 never (a plain-HTTP
                                      deployment), 0 (the default) outside development mode */
    unsigned hash_threads;       /**< password hashes running at once (2) */
    size_t hash_queue;           /**< hashes waiting beyond those; more answer 503 (256) */
    unsigned long long hash_ops; /**< argon2id passes (2) */
    size_t hash_mem;             /**< argon2id memory, bytes (19 MiB) */
    const char *csrf_cookie_name; /**< the CSRF secret's cookie ("csrftoken") */
    /** Other origins whose pages may post here, comma-separated, each a scheme, a host and a
     *  port if not the default ("https://app.example.com"); a host "*.example.com" trusts every
     *  subdomain. The site's own origin is always trusted. Django's CSRF_TRUSTED_ORIGINS. */
    const char *trusted_origins;
    /** Login throttling: after login_failures failed logins (5) for one username from one client
     *  address (cadre_request_client: X-Forwarded-For from trusted proxies) within login_window
     *  seconds (900), the next are refused with 429 and Retry-After until the oldest is that old;
     *  a successful login clears the count. -1: no throttling. */
    int login_failures;
    int64_t login_window;
} cadre_auth_opts;

/**
 * Adds the auth module to app, its tables in db (which must outlive the app): the models above
 * with their migrations, the login and logout pages, the commands. Options as cadre_auth_opts
 * members: cadre_auth(app, db, .login_redirect = "/dashboard"). Everything is copied. Returns the
 * module, or NULL (a configuration error is recorded: the app then refuses to start).
 */
cadre_module *cadre__auth(cadre_app *app, cadre_db *db, const cadre_auth_opts *opts,
                          const char *file, int line);
#define cadre_auth(app, db, ...)                                                                   \
    cadre__auth((app), (db), &(cadre_auth_opts){ __VA_ARGS__ }, __FILE__, __LINE__)

/* ---------------------------------------------------------------------------------------------
 * The user of a request
 * ------------------------------------------------------------------------------------------- */

/**
 * The request's user, from its session cookie: *user points to the user (arena memory, the
 * password left empty) or is NULL for an anonymous request — no cookie, an unknown or expired
 * session, an inactive user. Looked up once per request (one query), then remembered. Returns 0,
 * or the database's error (CADRE_ECLOSED, CADRE_EBUSY, …: the request should fail, not pass as
 * anonymous), or CADRE_ESTATE when the app has no auth.
 */
int cadre_auth_user(cadre_request *r, const cadre_user **user /* OUT */);

/** As cadre_auth_user, NULL for anonymous and on error. */
const cadre_user *cadre_request_user(cadre_request *r);

/**
 * A guard (CADRE_GUARDS(CADRE_LOGIN_REQUIRED)): lets a request with a user through; sends
 * an anonymous browser (its Accept names text/html) to the login page with next set to the
 * request's path and query (303; 302 for GET), and answers anyone else 401
 * {"detail":"Not authenticated"} with WWW-Authenticate.
 */
int cadre_login_required(cadre_request *r, void *ctx);

/** A guard: as cadre_login_required, then 403 unless the user is staff. */
int cadre_staff_required(cadre_request *r, void *ctx);

/** The guards as CADRE_GUARDS entries: .guards = CADRE_GUARDS(CADRE_LOGIN_REQUIRED). */
#define CADRE_LOGIN_REQUIRED { cadre_login_required, NULL }
#define CADRE_STAFF_REQUIRED { cadre_staff_required, NULL }

/* ---------------------------------------------------------------------------------------------
 * CSRF: a request that a browser sends with its cookies (the session's, the CSRF secret's) and
 * that changes something (POST, PUT, PATCH, DELETE) must come from a page of this site: its
 * Origin (else its Referer), when sent, is this site or a trusted origin, and it carries the
 * page's token — the form field csrfmiddlewaretoken, which {{ form }} and auth's pages write
 * when the template context has csrf_token (every cadre_render's has, with auth on), or the
 * X-CSRFToken header, for scripts, holding the csrftoken cookie's value or a page's token.
 * Otherwise it is answered 403 before its guards and handler run, with the reason in
 * development mode and in the log. Routes declared .auth = CADRE_AUTH_TOKEN look at no cookie
 * and need no token. A multipart body whose token is not in the header is read whole (within
 * the server's max_body) to find its field.
 * ------------------------------------------------------------------------------------------- */

/** The length of the CSRF secret (letters and digits); a page's token is twice as long. */
#define CADRE_CSRF_SECRET 32

/**
 * A token for the page r answers with (the secret masked afresh: never the same bytes twice),
 * setting the CSRF cookie when the request came without one. Arena memory, NUL-terminated; NULL
 * when the app has no auth.
 */
const char *cadre_csrf_token(cadre_request *r);

/** Checks r as described above, whatever its method and cookies (a view that must be
 *  protected even for a browser without cookies: the login form). Returns 0, or answers 403 and
 *  returns it (or the error of reading the body). */
int cadre_csrf_check(cadre_request *r);

/* ---------------------------------------------------------------------------------------------
 * Logging in and out
 * ------------------------------------------------------------------------------------------- */

/**
 * Checks username and password: *user_id gets the user's id when they match an active user, or
 * 0. The password check runs on the hash pool (the request is suspended meanwhile); an unknown
 * username costs a hash too, so its answer takes as long as a wrong password's. A match whose
 * stored hash has older parameters than the app's is rehashed. Failures are counted per username
 * and client address (.login_failures, .login_window): past the limit no password is checked
 * and CADRE_ELIMIT is returned with Retry-After set on r (a handler returning it answers 429).
 * Returns 0 (match or not), CADRE_ELIMIT, CADRE_EBUSY (too many hashes queued), or a database
 * error.
 */
int cadre_authenticate(cadre_request *r, cadre_slice username, cadre_slice password,
                       int64_t *user_id /* OUT */);

/**
 * Logs the request in as user_id: a new session row and cookie, the request's old session (if
 * any) deleted, a new CSRF secret, last_login set; cadre_auth_user then gives this user. Returns 0 or a database
 * error.
 */
int cadre_login(cadre_request *r, int64_t user_id);

/** Ends the request's session (its row deleted, the cookie cleared). Returns 0 or a database
 *  error. */
int cadre_logout(cadre_request *r);

/** Ends every session of user_id but the request's own (r may be NULL: all of them): "log out
 *  everywhere", and what a password change does. *ended (optional) gets the count. */
int cadre_logout_everywhere(cadre_app *app, cadre_request *r, int64_t user_id,
                            int64_t *ended /* OUT */);

/* ---------------------------------------------------------------------------------------------
 * Users and passwords
 * ------------------------------------------------------------------------------------------- */

/**
 * Hashes password (at most CADRE_PASSWORD_MAX bytes) into out, with the app's parameters, on the
 * hash pool when called from a request. Returns 0, CADRE_EINVAL (too long), CADRE_EBUSY,
 * CADRE_ENOMEM (the memory limit could not be had) or CADRE_ESTATE (no auth).
 */
int cadre_password_hash(cadre_app *app, cadre_slice password, char out[CADRE_PASSWORD_HASH_SIZE]);

/**
 * Whether password is acceptable for a new account, Django's validators: at least 8 characters,
 * not only digits, not the username or the e-mail's local part. Returns NULL, or the reason as a
 * sentence for the user (static text).
 */
const char *cadre_password_weak(cadre_slice password, cadre_slice username, cadre_slice email);

/**
 * Creates a user with this password (hashed here; the weakness check is the caller's; NULL: an
 * unusable one, which no password matches, until cadre_user_set_password), not staff unless
 * superuser (then both). *id (optional) gets its id. Returns 0, CADRE_EEXIST (the username
 * is taken), CADRE_EINVAL (a username outside the model's pattern or lengths), or a database
 * error.
 */
int cadre_user_create(cadre_app *app, const char *username, const char *email,
                      const char *password, bool superuser, int64_t *id /* OUT */);

/**
 * Sets user_id's password and ends the user's sessions but r's (r may be NULL). Returns 0,
 * CADRE_ENOTFOUND, or as cadre_password_hash / a database error.
 */
int cadre_user_set_password(cadre_app *app, cadre_request *r, int64_t user_id,
                            cadre_slice password);

/** Deletes the sessions whose absolute or idle expiry has passed. *deleted (optional) gets the
 *  count. The `clearsessions` command; run it from cron or a periodic task. */
int cadre_auth_clear_sessions(cadre_app *app, int64_t *deleted /* OUT */);

/* ---------------------------------------------------------------------------------------------
 * API tokens: `Authorization: Bearer cadre_…` on routes declared .auth = CADRE_AUTH_TOKEN (alone
 * or with CADRE_AUTH_SESSION). A token is "cadre_", 12 hex digits (its prefix, kept in the table)
 * "_" and 43 characters of a random 256-bit secret; the table keeps the SHA-256 of the whole,
 * compared in constant time, so a copy of the table opens nothing. A request with a Bearer token
 * looks at no cookie and needs no CSRF token; a bad one (unknown, revoked, expired, its user
 * inactive) is answered 401 with WWW-Authenticate: Bearer error="invalid_token" even where a
 * session would have done, a malformed Authorization header 400 error="invalid_request".
 *
 * Scopes narrow what a token may do: space-separated names, each a permission
 * ("inventory.change_product"), a name of the app's choosing ("reports"), or a prefix ending in
 * '*' ("inventory.view_*", "*"). A token without scopes may do all its user may. Commands:
 * createtoken USERNAME NAME [--scopes S] [--expires DAYS], tokens [USERNAME], revoketoken ID.
 * ------------------------------------------------------------------------------------------- */

/** Room for a token and its NUL. */
#define CADRE_TOKEN_SIZE 63

/**
 * Makes a token for user_id: name (1 to 100 characters), scopes (NULL or "" for none, else as
 * above, at most 1000 bytes), expires (Unix time; 0 for never). Writes the token into token —
 * the only time it exists outside its holder's hands: show it, never store it — and *id
 * (optional) its row's id. Returns 0, CADRE_EINVAL (a bad name, scope or expiry in the past, told
 * in the log), CADRE_ENOTFOUND (no such user), or a database error.
 */
int cadre_token_create(cadre_app *app, int64_t user_id, const char *name, const char *scopes,
                       int64_t expires, char token[CADRE_TOKEN_SIZE] /* OUT */,
                       int64_t *id /* OUT */);

/** Revokes (deletes) token id; when user_id is not 0, only if it is that user's (a user
 *  revoking their own). Returns 0, CADRE_ENOTFOUND, or a database error. */
int cadre_token_revoke(cadre_app *app, int64_t user_id, int64_t id);

/** The token r came with (arena memory; key_hash left empty), or NULL: a session, anonymous, or
 *  a route that takes no token. */
const cadre_token *cadre_request_token(cadre_request *r);

/**
 * Whether r may act within scope: true for a session (a user's own login carries all the user's
 * rights) and for a token without scopes or with one matching scope; false for a token whose
 * scopes do not, and for an anonymous request.
 */
bool cadre_auth_scope(cadre_request *r, const char *scope);

/** A guard (CADRE_GUARDS(CADRE_SCOPE("reports"))): as cadre_login_required, then 403 with
 *  WWW-Authenticate: Bearer error="insufficient_scope" unless cadre_auth_scope(r, ctx). */
int cadre_scope_required(cadre_request *r, void *ctx);
#define CADRE_SCOPE(scope) { cadre_scope_required, (void *)(scope) }

/* ---------------------------------------------------------------------------------------------
 * Permissions. Every model an app's modules register (cadre_models) has four, named
 * "MODULE.ACTION_MODEL": "inventory.view_product", "inventory.add_product",
 * "inventory.change_product", "inventory.delete_product" — they exist because the model does, so
 * there is no table of them to keep in step with the code (Django's stale content types). An app
 * declares others with cadre_permission ("inventory.approve_order"). Users hold them one by one
 * or through groups; a superuser holds all, an inactive user none, and a request authenticated by
 * a token only those its scopes allow.
 *
 * An object hook (cadre_object_perms) refines a model's permissions row by row — "a user changes
 * only the products they own" — and narrows lists to the rows its user may view. The CRUD API
 * (cadre_crud), the admin and a handler asking cadre_has_perm all go through the same rules: 401
 * for an anonymous request, 403 for a user without the permission, 404 for a row the object hook
 * hides.
 * ------------------------------------------------------------------------------------------- */

/** The longest permission name. */
#define CADRE_PERM_MAX 255

/** Declares a permission of the app's own (name "MODULE.CODENAME": letters, digits, '_', one
 *  '.'), with what it allows in words. Everything is copied. Returns 0 or CADRE_EINVAL (a bad
 *  name, recorded as a configuration error). */
int cadre_permission(cadre_app *app, const char *name, const char *description);

/** The name of model's permission for action ("view", "add", "change", "delete") into out:
 *  "MODULE.ACTION_MODEL". Returns 0, CADRE_ENOTFOUND (no module registered model), CADRE_EINVAL
 *  (longer than CADRE_PERM_MAX) or CADRE_ESTATE (the app has no auth). */
int cadre_perm_name(cadre_app *app, const cadre_schema *model, const char *action,
                    char out[CADRE_PERM_MAX + 1]);

/**
 * Whether r's user holds perm — for obj (a row of the permission's model, or NULL) when the
 * model has an object hook: the hook has the last word, after the user's permission on the model.
 * An unknown name is false (and logged once: a typo). The user's permissions are read once per
 * request (one query), then remembered.
 */
bool cadre_has_perm(cadre_request *r, const char *perm, const void *obj);

/** A guard (CADRE_GUARDS(CADRE_PERM("inventory.change_product"))): 401/redirect for an anonymous
 *  request (as cadre_login_required), 403 without the permission. */
int cadre_perm_required(cadre_request *r, void *ctx);
#define CADRE_PERM(perm) { cadre_perm_required, (void *)(perm) }

typedef struct cadre_object_perms_opts {
    /** Whether r's user may do action ("view", "change", "delete", "add", or a custom
     *  permission's codename) to obj, a row of the model. NULL: yes. cadre_crud asks "change"
     *  of the row as stored and of the row as the update would leave it. */
    bool (*allows)(cadre_request *r, const char *action, const void *obj, void *ctx);
    /** Narrows q (a query on the model) to the rows r's user may view: lists hold only those,
     *  and another row is not found. 0 or a negative CADRE_E*. NULL: every row. */
    int (*filter)(cadre_request *r, cadre_query *q, void *ctx);
    void *ctx;
} cadre_object_perms_opts;

/** Installs model's object hook (superusers pass it). Returns 0, or CADRE_EEXIST (one per
 *  model). */
int cadre__object_perms(cadre_app *app, const cadre_schema *model,
                        const cadre_object_perms_opts *opts);
#define cadre_object_perms(app, model, ...)                                                        \
    cadre__object_perms((app), (model), &(cadre_object_perms_opts){ __VA_ARGS__ })

/**
 * Groups and grants, for set-up code and tools (the admin edits the same rows):
 * cadre_group_create gives the group's id in *id, and CADRE_EEXIST with *id set when it is there
 * already (so set-up code may run at every start); grants of a permission held already change
 * nothing. A permission that does not exist is CADRE_EINVAL. Each returns 0, those, or a
 * database error.
 */
int cadre_group_create(cadre_app *app, const char *name, int64_t *id /* OUT */);
int cadre_group_grant(cadre_app *app, int64_t group_id, const char *perm);
int cadre_group_revoke(cadre_app *app, int64_t group_id, const char *perm);
int cadre_user_grant(cadre_app *app, int64_t user_id, const char *perm);
int cadre_user_revoke(cadre_app *app, int64_t user_id, const char *perm);
int cadre_user_join(cadre_app *app, int64_t user_id, int64_t group_id);
int cadre_user_leave(cadre_app *app, int64_t user_id, int64_t group_id);

#ifdef __cplusplus
}
#endif
#endif
