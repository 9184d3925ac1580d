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
    pthread_mutex_destroy(&st->dummy_mu);
    sodium_memzero(st->dummy, sizeof st->dummy);
    free(st);
}

/* The pool starts with the server: commands and the test client hash inline. */
static int start_pool(cadre_app *app, void *ctx)
{
    (void)app;
    auth_state *st = ctx;
    if (st->pool)
        return 0;
    int rc = cadre_pool_new(st->o.hash_threads, st->o.hash_queue, &st->pool);
    if (rc)
        cadre_log(CADRE_LOG_ERROR, "auth: cannot start the password hashing threads: %s",
                  cadre_strerror(rc));
    return rc;
}

static const char *own_str(cadre_app *app, const char *s)
{
    return cadre_app_own(app, strdup(s));
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
    else if (o->hash_threads > 64)
        bad = "hash_threads: at most 64";
    else if (!o->cookie_name[0] || strpbrk(o->cookie_name, " \t\r\n;,=\"\\()<>@:/[]?{}"))
        bad = "cookie_name must be a token";
    if (bad) {
        cadre_app_config_error(app, file, line, "cadre_auth: %s", bad);
        return NULL;
    }
    auth_state *st = calloc(1, sizeof *st);
    if (!st || cadre_app_attach(app, AUTH_KEY, st, state_free) != 0) {
        cadre_app_config_error(app, file, line, "cadre_auth: out of memory");
        return NULL; /* attach freed st */
    }
    pthread_mutex_init(&st->dummy_mu, NULL);
    st->app = app;
    st->db = db;
    st->o = copy;
    st->o.login_path = own_str(app, o->login_path);
    st->o.logout_path = own_str(app, o->logout_path);
    st->o.login_redirect = own_str(app, o->login_redirect);
    st->o.cookie_name = own_str(app, o->cookie_name);
    if (!st->o.login_path || !st->o.logout_path || !st->o.login_redirect || !st->o.cookie_name) {
        cadre_app_config_error(app, file, line, "cadre_auth: out of memory");
        return NULL;
    }

    cadre_module *m = cadre__module_add(app, &(cadre_module_opts){ .label = "auth" }, file, line);
    if (!m)
        return NULL;
    st->mod = m;
    int rc = cadre__models(m, db, NULL, cadre_auth_migrations, cadre_auth_migrations_count,
                           (const cadre_schema *const[]){ cadre_user__schema(),
                                                          cadre_session__schema() },
                           2, file, line);
    if (rc == 0)
        rc = cadre_module_templates(m, cadre_auth_templates, cadre_auth_templates_count);
    if (rc == 0)
        rc = cadre__auth_views(st);
    if (rc == 0)
        rc = cadre__auth_commands(st);
    if (rc == 0)
        rc = cadre_app_on_start(app, start_pool, st);
    if (rc) {
        cadre_app_config_error(app, file, line, "cadre_auth: %s", cadre_strerror(rc));
        return NULL;
    }
    return m;
}
