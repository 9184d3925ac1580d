/* @NAME@'s two surfaces, each a module of its own with a clear boundary: the operational one
 * (pages, the admin, sessions, CSRF) and the API (under /api, by token). One binary serves both;
 * `meson configure build -Dsplit_api=true` also builds @NAME@-api, the API alone in its own
 * process on the same database, for when the boundary is real. */
#ifndef APP_MODULES_H
#define APP_MODULES_H

#include <cadre.h>

/* The operational surface: /, the admin at /admin/ (auth's login pages come with auth). */
void @NAME@_ops(cadre_app *app, cadre_db *db);

/* The API surface: /api/items, by token only. */
void @NAME@_api(cadre_app *app, cadre_db *db);

/* The API alone: what @NAME@-api serves (core.c). */
cadre_app *@NAME@_api_app(cadre_db *db);

/* What every binary has (core.c): the app, auth (with its login pages when pages), the models. */
cadre_app *@NAME@_base(cadre_db *db, bool pages);

#endif
