/* The auth module's state, shared by its files (private to src/auth). */
#ifndef CADRE_AUTH_INTERNAL_H
#define CADRE_AUTH_INTERNAL_H

#include "cadre/app.h"
#include "cadre/auth.h"
#include "cadre/http.h"

#include <pthread.h>
#include <stdatomic.h>

#define AUTH_KEY "cadre.auth"        /* the app attachment */
#define AUTH_USER_KEY "cadre.user"   /* the request state: a looked-up user (or the anonymous mark) */
#define AUTH_SESSION_KEY "cadre.session" /* the request state: its session's id, once looked up */
#define AUTH_NO_COOKIE_KEY "cadre.nocookie" /* the request state: no cookie counts (token) */
#define AUTH_TOKEN_KEY "cadre.token"  /* the request state: the cadre_token it came with */
#define AUTH_DECL_KEY "cadre.authdecl" /* the request state: its route's .auth (unsigned) */

typedef struct auth_perms auth_perms; /* perms.c */

/* A query that reads a user (every column of the app's user model but the password) with other
 * columns (a session's, a token's) into one row of schema row: the user's nuser fields first (a
 * pointer to the row is one to the user), the others as a struct of their own at extra_at. */
typedef struct auth_lookup {
    cadre_schema row;
    cadre_field fields[64];
    size_t nuser, extra_at;
    char *sql; /* owned */
} auth_lookup;

enum { AUTH_LOOKUP_SESSION, AUTH_LOOKUP_TOKEN, AUTH_LOOKUPS };

typedef struct auth_state {
    cadre_app *app;
    cadre_module *mod;
    cadre_db *db;
    cadre_auth_opts o; /* strings owned by the app (cadre_app_own) */
    cadre_pool *pool;  /* made when the app starts serving; NULL: hashes run inline */
    char **trusted; /* trusted_origins, split (owned by the app) */
    size_t ntrusted;
    auth_perms *perms;
    pthread_mutex_t dummy_mu;
    char dummy[CADRE_PASSWORD_HASH_SIZE]; /* a hash that matches no password (unknown users) */
    /* users.c: the user model and its lookups, made at the first use */
    pthread_mutex_t resolve_mu;
    atomic_bool resolved;
    const cadre_schema *user_model;
    auth_lookup lookups[AUTH_LOOKUPS];
} auth_state;

/* users.c. The app's user model: cadre_user, or the project's CADRE_USER_MODEL. */
const cadre_schema *cadre__auth_user_model(auth_state *st);

/* Reads the user and the session's (AUTH_LOOKUP_SESSION: cadre__session_extra_schema) or token's
 * (AUTH_LOOKUP_TOKEN: cadre__token_extra_schema) columns that param selects, in r's arena:
 * *user (its password blank) and *extra, or both NULL when there is no such row. Returns 0 or
 * the database's error. */
int cadre__auth_lookup(cadre_request *r, auth_state *st, int which, const cadre_value *param,
                       cadre_user **user, void **extra);
const cadre_schema *cadre__session_extra_schema(void);
const cadre_schema *cadre__token_extra_schema(void);

/* The user id as the user model reads it (its password blank), in r's arena; NULL if none. */
int cadre__auth_user_get(cadre_request *r, auth_state *st, int64_t id, cadre_user **user);
void cadre__auth_lookups_free(auth_state *st);

/* Makes the user model's lookups now (the app starts): 0, or CADRE_EINVAL logged (a user model
 * that does not begin as cadre_user does, or has too many fields). */
int cadre__auth_users_check(auth_state *st);

/* The app's auth state, or NULL. */
auth_state *cadre__auth_state(cadre_app *app);

/* Whether auth's cookies carry Secure: .cookie_secure, or outside development mode. */
bool cadre__auth_secure_cookies(const auth_state *st);

/* The request's user, cached in the request (set by a login, read by the rest). */
void cadre__auth_remember(cadre_request *r, const cadre_user *u, int64_t session_id);

/* Password hashing and checking on the pool: *ok whether password matches hash (NULL hash: the
 * dummy, never a match), with a new hash in rehashed[0] when the stored one's parameters are old
 * (empty otherwise). */
int cadre__password_check(auth_state *st, cadre_slice password, const char *hash, bool *ok,
                          char rehashed[CADRE_PASSWORD_HASH_SIZE]);

/* CSRF: checks r (403 answered), a new secret at login. */
int cadre__csrf_verify(cadre_request *r, auth_state *st);
void cadre__csrf_rotate(cadre_request *r, auth_state *st);

/* Tokens: whether t has a token's shape (*prefix its lookup part); why scopes are malformed
 * (NULL: well-formed); whether scopes allow want; and the request's user from a presented token
 * (remembered with the token when valid; else *why says why not). */
bool cadre__token_parse(cadre_slice t, cadre_slice *prefix);
const char *cadre__scopes_problem(cadre_slice scopes);
bool cadre__scopes_allow(cadre_slice scopes, cadre_slice want);
int cadre__token_authenticate(cadre_request *r, auth_state *st, cadre_slice presented,
                              const char **why);

/* Permissions: their state, and the model access hooks installed. */
auth_perms *cadre__perms_new(void);
void cadre__perms_free(auth_perms *p);
int cadre__perms_install(auth_state *st);
const char *cadre__perm_at(auth_state *st, size_t i); /* by name; NULL past the end */

/* An anonymous request refused as its route declares: a browser to the login page, else 401. */
int cadre__auth_refuse(cadre_request *r, auth_state *st);

/* The app's hook for .auth declarations (cadre_auth_hooks.check and .security). */
int cadre__auth_check(cadre_request *r, unsigned auth, void *ctx);
void cadre__auth_security(cadre_json_writer *w, unsigned auth, const char *op, void *ctx);

/* The views: login page, logout action (registered by cadre_auth). */
int cadre__auth_views(auth_state *st);

/* The commands: createsuperuser, changepassword, clearsessions, createtoken, tokens,
 * revoketoken. */
int cadre__auth_commands(auth_state *st);

#endif
