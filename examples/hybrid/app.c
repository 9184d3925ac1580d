/* The shop with both surfaces: what `shop` serves. */
#include "modules.h"

cadre_app *shop_app(cadre_db *db)
{
    cadre_app *app = shop_base(db, true);
    if (app) {
        shop_ops(app, db);
        shop_api(app, db);
    }
    return app;
}
