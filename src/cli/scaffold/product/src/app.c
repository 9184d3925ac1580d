/* @NAME@, a product: users and sessions (auth), an admin site, pages, and a JSON API with its
 * OpenAPI docs (/docs) for the same models. */
#include "app.h"
#include "models.h"

/* The pages' templates, compiled into the binary from templates/ (see meson.build). */
extern const cadre_template_source @NAME@_templates[];
extern const size_t @NAME@_templates_count;

static cadre_db *db;

/* GET /: the newest items (logged-in users only: the others go to the login page and back). */
static int home(cadre_request *r)
{
    cadre_query q;
    cadre_rows items;
    item_query(&q, db, r->arena);
    cadre_q_order_by(&q, "-id");
    cadre_q_limit(&q, 50);
    int rc = cadre_q_fetch(&q, &items);
    if (rc)
        return rc;
    return cadre_render(r, 200, "home.html", CADRE_CTX({ "items", CADRE_TROWS(item, &items) }));
}

cadre_app *@NAME@_app(cadre_db *database)
{
    db = database;
    cadre_app *app = cadre_app_new("@NAME@");
    if (!app)
        return NULL;
    cadre_auth(app, db); /* users, sessions, /accounts/login/, permissions, tokens */
    cadre_models(app, db, MIGRATIONS_DIR, CADRE_SCHEMA_OF(member), CADRE_SCHEMA_OF(item)
                 /* cadre:schemas */);
    cadre_templates_add(app, @NAME@_templates, @NAME@_templates_count);

    cadre_get(app, "/", home, .guards = CADRE_GUARDS(CADRE_LOGIN_REQUIRED));

    /* the API: /api/items (list, create, read, change, delete), by session or token */
    cadre_group_begin(app, "/api", .auth = CADRE_AUTH_SESSION | CADRE_AUTH_TOKEN);
    cadre_crud(app, "/items", CADRE_SCHEMA_OF(item), db);
    /* cadre:api */
    cadre_group_end(app);

    /* the admin at /admin/: staff users, each model's pages by its permissions */
    cadre_admin(app, db, .site_header = "@NAME@ administration", .site_title = "@NAME@");
    cadre_admin_register(app, CADRE_SCHEMA_OF(item), .list = "id, name, created_at",
                         .search = "name", .readonly = "created_at");
    cadre_admin_register(app, CADRE_SCHEMA_OF(member),
                         .list = "id, username, display_name, is_staff, last_login",
                         .search = "username, display_name", .filters = "is_staff",
                         .plural = "users");
    /* cadre:admin */
    return app;
}
