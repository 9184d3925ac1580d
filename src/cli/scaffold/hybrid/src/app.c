/* @NAME@, a hybrid: the product's operational surface and a service's API in one binary, as two
 * modules (modules.h) on what both need — auth and the models — set up once (core.c). */
#include "app.h"
#include "modules.h"

cadre_app *@NAME@_app(cadre_db *db)
{
    cadre_app *app = @NAME@_base(db, true);
    if (app) {
        @NAME@_ops(app, db);
        @NAME@_api(app, db);
    }
    return app;
}
