/* @NAME@, a service: a typed JSON API with its OpenAPI docs (/docs, /openapi.json), callers
 * authenticated by bearer tokens (`./build/@NAME@ createuser`, then
 * `./build/@NAME@ createtoken USERNAME NAME`). */
#include "app.h"
#include "models.h"

cadre_app *@NAME@_app(cadre_db *db)
{
    cadre_app *app = cadre_app_new("@NAME@");
    if (!app)
        return NULL;
    /* users and their API tokens; no login page: programs send tokens */
    cadre_auth(app, db, .login_path = "", .logout_path = "");
    cadre_models(app, db, MIGRATIONS_DIR, CADRE_SCHEMA_OF(member), CADRE_SCHEMA_OF(item)
                 /* cadre:schemas */);

    /* /api/items: list, create, read, change, delete — each by token */
    cadre_group_begin(app, "/api", .auth = CADRE_AUTH_TOKEN);
    cadre_crud(app, "/items", CADRE_SCHEMA_OF(item), db);
    /* cadre:api */
    cadre_group_end(app);
    return app;
}
