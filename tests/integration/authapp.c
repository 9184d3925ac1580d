/* An app with auth for tests/integration/auth_test.py: its database is $CADRE_DATABASE_URL. */
#include <cadre.h>

#include <stdio.h>

static int plaintext(cadre_request *r)
{
    return cadre_text(r, 200, "Hello, World!");
}

static int me(cadre_request *r)
{
    const cadre_user *u = cadre_request_user(r);
    return cadre_text(r, 200, cadre_arena_printf(r->arena, "%.*s", (int)u->username.len,
                                                  u->username.ptr));
}

int main(int argc, char **argv)
{
    cadre_db *db;
    if (cadre_db_open_env("sqlite://authapp.db", &db) != 0) {
        fprintf(stderr, "error: cannot open the database\n");
        return 1;
    }
    cadre_app *app = cadre_app_new("authapp");
    cadre_auth(app, db, .cookie_secure = -1);
    cadre_get(app, "/plaintext", plaintext);
    cadre_get(app, "/me", me, .guards = CADRE_GUARDS(CADRE_LOGIN_REQUIRED));
    cadre_get(app, "/api/me", me, .auth = CADRE_AUTH_SESSION | CADRE_AUTH_TOKEN);
    cadre_post(app, "/api/me", me, .auth = CADRE_AUTH_SESSION | CADRE_AUTH_TOKEN);
    int status = cadre_main(app, argc, argv);
    cadre_db_close(db);
    return status;
}
