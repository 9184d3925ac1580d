/* What every binary of @NAME@ has — its name (its migrations and permissions go by it), auth, the
 * models — and the API alone (what @NAME@-api serves). The operational surface is not linked
 * with it: @NAME@-api carries no page, template or admin code. */
#include "models.h"
#include "modules.h"

cadre_app *@NAME@_base(cadre_db *db, bool pages)
{
    cadre_app *app = cadre_app_new("@NAME@");
    if (!app)
        return NULL;
    if (pages)
        cadre_auth(app, db);
    else /* programs send tokens: no login page */
        cadre_auth(app, db, .login_path = "", .logout_path = "");
    cadre_models(app, db, MIGRATIONS_DIR, CADRE_SCHEMA_OF(member), CADRE_SCHEMA_OF(item)
                 /* cadre:schemas */);
    return app;
}

cadre_app *@NAME@_api_app(cadre_db *db)
{
    cadre_app *app = @NAME@_base(db, false);
    if (app)
        @NAME@_api(app, db);
    return app;
}
