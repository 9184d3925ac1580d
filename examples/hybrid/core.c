/* What every binary of the shop has — its name (its migrations and permissions go by it), auth,
 * the models — and the API alone (what shop-api serves). Linked into both binaries; the
 * operational surface is not: shop-api carries no page, template or admin code. */
#include "models.h"
#include "modules.h"

#ifndef SHOP_MIGRATIONS
#define SHOP_MIGRATIONS "migrations"
#endif

cadre_app *shop_base(cadre_db *db, bool pages)
{
    cadre_app *app = cadre_app_new("shop");
    if (!app)
        return NULL;
    if (pages)
        cadre_auth(app, db);
    else /* programs send tokens: no login page */
        cadre_auth(app, db, .login_path = "", .logout_path = "");
    cadre_models(app, db, SHOP_MIGRATIONS, CADRE_SCHEMA_OF(product), CADRE_SCHEMA_OF(purchase));
    return app;
}

cadre_app *shop_api_app(cadre_db *db)
{
    cadre_app *app = shop_base(db, false);
    if (app)
        shop_api(app, db);
    return app;
}
