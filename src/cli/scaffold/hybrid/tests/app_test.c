#include "modules.h"

/* The pages: the home page asks for a login first, the admin too. */
static void pages(void)
{
    request("GET", "/", "Accept: text/html\r\n", NULL);
    CHECK(res.status == 302 || res.status == 303, "GET / without a login: %d", res.status);
    request("GET", "/admin/", "Accept: text/html\r\n", NULL);
    CHECK(res.status == 302 || res.status == 303, "GET /admin/ without a login: %d", res.status);
}

/* The API alone (what @NAME@-api serves): its routes, and none of the pages. */
static void api_alone(cadre_db *db)
{
    cadre_app *both = app;
    app = @NAME@_api_app(db);
    request("GET", "/admin/", "Accept: text/html\r\n", NULL);
    CHECK(res.status == 404, "the API alone has no admin: %d", res.status);
    request("GET", "/api/items", NULL, NULL);
    CHECK(res.status == 401, "the API alone asks for a token: %d", res.status);
    cadre_test_response_free(&res);
    cadre_app_free(app);
    app = both;
}

static void run(void)
{
    pages();
    api();
    api_alone(test_db);
}
