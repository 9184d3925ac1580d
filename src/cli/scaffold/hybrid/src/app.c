/* @NAME@, a hybrid: the product's operational surface and a service's API in one binary, as two
 * modules (modules.h). What both need — auth and the models — is set up once, here. */
#include "app.h"
#include "models.h"
#include "modules.h"

/* What every binary of @NAME@ has: its name (its migrations and permissions go by it), auth,
 * the models. */
static cadre_app *base(cadre_db *db)
{
    cadre_app *app = cadre_app_new("@NAME@");
    if (!app)
        return NULL;
    cadre_auth(app, db);
    cadre_models(app, db, MIGRATIONS_DIR, CADRE_SCHEMA_OF(member), CADRE_SCHEMA_OF(item)
                 /* cadre:schemas */);
    return app;
}

cadre_app *@NAME@_app(cadre_db *db)
{
    cadre_app *app = base(db);
    if (app) {
        @NAME@_ops(app, db);
        @NAME@_api(app, db);
    }
    return app;
}

cadre_app *@NAME@_api_app(cadre_db *db)
{
    cadre_app *app = base(db);
    if (app)
        @NAME@_api(app, db);
    return app;
}
