/* What every binary of the shop has — its name (its migrations and permissions go by it), auth,
 * the models — then the surfaces it serves. The API alone has no login page: programs send
 * tokens. */
#include "models.h"
#include "modules.h"

#ifndef SHOP_MIGRATIONS
#define SHOP_MIGRATIONS "migrations"
#endif

static cadre_app *base(cadre_db *db, bool pages)
{
    cadre_app *app = cadre_app_new("shop");
    if (!app)
        return NULL;
    if (pages)
        cadre_auth(app, db);
    else
        cadre_auth(app, db, .login_path = "", .logout_path = "");
    cadre_models(app, db, SHOP_MIGRATIONS, CADRE_SCHEMA_OF(product), CADRE_SCHEMA_OF(purchase));
    return app;
}

cadre_app *shop_app(cadre_db *db)
{
    cadre_app *app = base(db, true);
    if (app) {
        shop_ops(app, db);
        shop_api(app, db);
    }
    return app;
}

cadre_app *shop_api_app(cadre_db *db)
{
    cadre_app *app = base(db, false);
    if (app)
        shop_api(app, db);
    return app;
}
