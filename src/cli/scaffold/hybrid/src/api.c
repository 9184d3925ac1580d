/* @NAME@'s API surface: /api/items for programs, by bearer token only (no sessions, no CSRF),
 * with its OpenAPI docs. It knows nothing of the pages. */
#include "models.h"
#include "modules.h"

void @NAME@_api(cadre_app *app, cadre_db *db)
{
    cadre_group_begin(app, "/api", .auth = CADRE_AUTH_TOKEN);
    cadre_crud(app, "/items", CADRE_SCHEMA_OF(item), db);
    /* cadre:api */
    cadre_group_end(app);
}
