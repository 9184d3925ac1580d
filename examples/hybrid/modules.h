/* The shop's two surfaces, each a module with a clear boundary:
 *   ops (ops.c)  the people who run the shop, in a browser: the orders page and the admin, by
 *                session (with CSRF);
 *   api (api.c)  the customers' programs: the catalogue and their own orders under /api, by
 *                bearer token only.
 * Neither includes the other. `shop` serves both; `shop-api` serves the API alone, in a process
 * of its own on the same database, for when that boundary becomes a real one (its own machines,
 * its own scaling, its own deploys). */
#ifndef SHOP_MODULES_H
#define SHOP_MODULES_H

#include <cadre.h>

/* The operational surface: /, the admin at /admin/ (auth's login pages come with auth). */
void shop_ops(cadre_app *app, cadre_db *db);

/* The API surface: /api/products and /api/orders, by token only. */
void shop_api(cadre_app *app, cadre_db *db);

/* Both surfaces (what `shop` serves: app.c), and the API alone (what `shop-api` serves: core.c). */
cadre_app *shop_app(cadre_db *db);
cadre_app *shop_api_app(cadre_db *db);

/* What every binary has: the app named shop, auth (with its login pages when pages), the models. */
cadre_app *shop_base(cadre_db *db, bool pages);

#endif
