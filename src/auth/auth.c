/*
 * The auth module: its options, its tables and migrations, its templates, the hash pool.
 */
#include "auth/auth_internal.h"

#include "cadre/migrate.h"
#include "cadre/template.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Compiled into the library from src/auth/migrations and src/auth/templates (meson.build). */
extern const cadre_migration_source cadre_auth_migrations[];
extern const size_t cadre_auth_migrations_count;
extern const cadre_template_source cadre_auth_templates[];
extern const size_t cadre_auth_templates_count;

static void state_free(void *p)
{
    auth_state *st = p;
    cadre_pool_free(st->pool);
    cadre__perms_free(st->perms);
    pthread_mutex_destroy(&st->dummy_mu);
    pthread_mutex_destroy(&st->resolve_mu);
    cadre__auth_lookups_free(st);
    sodium_memzero(st->dummy, sizeof st->dummy);
    free(st);
}

/* The pool starts with the server: commands and the test client hash inline. */
static int start_pool(cadre_app *app, void *ctx)
{
    (void)app;
    auth_state *st = ctx;
    int rc = cadre__auth_users_check(st); /* a user model that does not fit stops the start */
    if (rc || st->pool)
        return rc;
    rc = cadre_pool_new(st->o.hash_threads, st->o.hash_queue, &st->pool);
    if (rc)
        cadre_log(CADRE_LOG_ERROR, "auth: cannot start the password hashing threads: %s",
                  cadre_strerror(rc));
    return rc;
}

static const char *own_str(cadre_app *app, const char *s)
{
    return cadre_app_own(app, strdup(s));
}

static bool token_ok(const char *s)
{
    return s[0] && !strpbrk(s, " \t\r\n;,=\"\\()<>@:/[]?{}");
}

/* Why a trusted_origins list is wrong (a static sentence), or NULL. Each item: scheme://host
 * [:port], the host possibly "*." + a domain; no path. */
static const char *origins_problem(const char *list)
{
    static const char why[] = "trusted_origins: each is scheme://host[:port], comma-separated, no "
                              "spaces (\"https://example.com,https://*.example.com\")";
    while (list && *list) {
        size_t n = strcspn(list, ",");
        char item[256];
        if (n == 0 || n >= sizeof item)
            return why;
        memcpy(item, list, n);
        item[n] = '\0';
        char *sep = strstr(item, "://");
        char *host = sep ? sep + 3 : NULL;
        char *star = host ? strchr(host, '*') : NULL;
        if (!sep || sep == item || !*host || strchr(host, '/') || strchr(item, ' ') ||
            (star && (star != host || host[1] != '.' || !host[2] || strchr(host + 1, '*'))))
            return why;
        list += n + (list[n] == ',');
    }
    return NULL;
}

static int split_origins(cadre_app *app, auth_state *st, const char *list)
{
    size_t n = 0;
    for (const char *p = list; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ','))
        n++;
    st->trusted = n ? cadre_app_own(app, calloc(n, sizeof *st->trusted)) : NULL;
    if (n && !st->trusted)
        return CADRE_ENOMEM;
    for (const char *p = list; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] == ',')) {
        char *item = cadre_app_own(app, strndup(p, strcspn(p, ",")));
        if (!item)
            return CADRE_ENOMEM;
        st->trusted[st->ntrusted++] = item;
    }
    return 0;
}

/* csrf_token in every template context (what {{ form }} and auth's pages put in their forms),
 * and user: the logged-in user (its password is never shown), or none for a visitor — defined
 * either way, so `{% if user %}` is no undefined name for development mode to warn of */
static int csrf_processor(cadre_request *r, cadre_tctx_builder *b, void *ctx)
{
    const char *token = cadre_csrf_token(r);
    if (token)
        cadre_tctx_add(b, "csrf_token", CADRE_TSTR(token));
    const cadre_user *u = cadre_request_user(r);
    if (u) /* as the app's user model: the project's own fields too */
        cadre_tctx_add(b, "user", ((cadre_tvalue){ .kind = CADRE_TV_OBJ,
                                                   .u.obj = { .schema = cadre__auth_user_model(ctx),
                                                              .ptr = u, .len = 1 } }));
    else
        cadre_tctx_add(b, "user", CADRE_TNONE);
    return 0;
}

/* A path option: "" (none) or an absolute path. */
static bool path_ok(const char *p)
{
    return p[0] == '\0' || (p[0] == '/' && !strpbrk(p, " \t\r\n\"<>\\"));
}

cadre_module *cadre__auth(cadre_app *app, cadre_db *db, const cadre_auth_opts *opts,
                          const char *file, int line)
{
    if (!app)
        return NULL;
    if (cadre__auth_state(app)) {
        cadre_app_config_error(app, file, line, "cadre_auth: auth is on already");
        return NULL;
    }
    if (!db) {
        cadre_app_config_error(app, file, line, "cadre_auth: no database (open one with "
                                                "cadre_db_open_env first)");
        return NULL;
    }
    if (sodium_init() < 0) {
        cadre_app_config_error(app, file, line, "cadre_auth: libsodium cannot start");
        return NULL;
    }
    cadre_auth_opts copy = *opts, *o = &copy;
    if (!o->login_path)
        o->login_path = "/accounts/login/";
    if (!o->logout_path)
        o->logout_path = "/accounts/logout/";
    if (!o->login_redirect)
        o->login_redirect = "/";
    if (!o->cookie_name)
        o->cookie_name = "sessionid";
    if (!o->csrf_cookie_name)
        o->csrf_cookie_name = "csrftoken";
    if (!o->trusted_origins)
        o->trusted_origins = "";
    if (!o->session_max_age)
        o->session_max_age = 14 * 86400;
    if (!o->session_idle)
        o->session_idle = 7 * 86400;
    if (!o->hash_threads)
        o->hash_threads = 2;
    if (!o->hash_queue)
        o->hash_queue = 256;
    if (!o->hash_ops)
        o->hash_ops = 2;
    if (!o->hash_mem)
        o->hash_mem = (size_t)19 << 20;
    if (!o->login_failures)
        o->login_failures = 5;
    if (!o->login_window)
        o->login_window = 900;

    const char *bad = NULL;
    if (!path_ok(o->login_path) || !path_ok(o->logout_path))
        bad = "login_path and logout_path must be paths (\"/accounts/login/\") or \"\"";
    else if (o->login_redirect[0] != '/')
        bad = "login_redirect must be a path on this site (\"/\")";
    else if (o->session_max_age < 60 || o->session_idle < 60)
        bad = "session_max_age and session_idle are seconds, at least 60";
    else if (o->hash_ops < 2 || o->hash_mem < ((size_t)19 << 20))
        bad = "hash_ops and hash_mem below OWASP's minimum for argon2id (2 passes, 19 MiB)";
    else if (o->hash_ops > crypto_pwhash_OPSLIMIT_MAX || o->hash_mem > crypto_pwhash_MEMLIMIT_MAX)
        bad = "hash_ops or hash_mem beyond what libsodium takes";
    else if (o->login_failures < -1 || o->login_window < 1)
        bad = "login_failures: a count (-1: no throttling); login_window: seconds, at least 1";
    else if (o->hash_threads > 64)
        bad = "hash_threads: at most 64";
    else if (!token_ok(o->cookie_name) || !token_ok(o->csrf_cookie_name) ||
             strcmp(o->cookie_name, o->csrf_cookie_name) == 0)
        bad = "cookie_name and csrf_cookie_name must be two different tokens";
    else
        bad = origins_problem(o->trusted_origins);
    if (bad) {
        cadre_app_config_error(app, file, line, "cadre_auth: %s", bad);
        return NULL;
    }
    auth_state *st = calloc(1, sizeof *st);
    if (st && !(st->perms = cadre__perms_new())) {
        free(st);
        st = NULL;
    }
    if (!st || cadre_app_attach(app, AUTH_KEY, st, state_free) != 0) {
        cadre_app_config_error(app, file, line, "cadre_auth: out of memory");
        return NULL; /* attach freed st */
    }
    pthread_mutex_init(&st->dummy_mu, NULL);
    pthread_mutex_init(&st->resolve_mu, NULL);
    atomic_init(&st->resolved, false);
    st->app = app;
    st->db = db;
    st->o = copy;
    st->o.login_path = own_str(app, o->login_path);
    st->o.logout_path = own_str(app, o->logout_path);
    st->o.login_redirect = own_str(app, o->login_redirect);
    st->o.cookie_name = own_str(app, o->cookie_name);
    st->o.csrf_cookie_name = own_str(app, o->csrf_cookie_name);
    st->o.trusted_origins = NULL;
    if (!st->o.login_path || !st->o.logout_path || !st->o.login_redirect || !st->o.cookie_name ||
        !st->o.csrf_cookie_name || split_origins(app, st, o->trusted_origins) != 0) {
        cadre_app_config_error(app, file, line, "cadre_auth: out of memory");
        return NULL;
    }

    cadre_module *m = cadre__module_add(app, &(cadre_module_opts){ .label = "auth" }, file, line);
    if (!m)
        return NULL;
    st->mod = m;
    int rc = cadre__models(m, db, NULL, cadre_auth_migrations, cadre_auth_migrations_count,
                           (const cadre_schema *const[]){ cadre_user__schema(),
                                                          cadre_session__schema(),
                                                          cadre_token__schema(),
                                                          cadre_group__schema(),
                                                          cadre_group_perm__schema(),
                                                          cadre_user_group__schema(),
                                                          cadre_user_perm__schema(),
                                                          cadre_login_failure__schema() },
                           8, file, line);
    if (rc == 0)
        rc = cadre_module_templates(m, cadre_auth_templates, cadre_auth_templates_count);
    if (rc == 0)
        rc = cadre__auth_views(st);
    if (rc == 0)
        rc = cadre__auth_commands(st);
    if (rc == 0)
        rc = cadre_app_on_start(app, start_pool, st);
    if (rc == 0)
        rc = cadre_app_auth_hooks(app, &(cadre_auth_hooks){ cadre__auth_check,
                                                            cadre__auth_security, st });
    if (rc == 0)
        rc = cadre_templates_processor(app, csrf_processor, st);
    if (rc == 0)
        rc = cadre__perms_install(st);
    if (rc) {
        cadre_app_config_error(app, file, line, "cadre_auth: %s", cadre_strerror(rc));
        return NULL;
    }
    return m;
}
