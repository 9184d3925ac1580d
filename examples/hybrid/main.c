/*
 * The shop, the example hybrid (examples/hybrid): the people who run it use pages and the admin,
 * customers' programs use its API; two modules (modules.h) in one binary.
 *
 *   shop migrate                        creates or updates the tables
 *   shop createsuperuser                the first member of staff
 *   shop createuser --username acme     a customer; then its token:
 *   shop group customers --add acme --grant shop.view_product --grant shop.add_purchase
 *   shop createtoken acme orders
 *   shop serve --port 8000              the pages at /, the admin at /admin/, the API at /api/...
 *   shop-api serve --port 8001          the API alone, on the same database
 *
 * The database is $CADRE_DATABASE_URL, else sqlite://shop.db (in the current directory).
 */
#include "modules.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    cadre_db *db;
    int rc = cadre_db_open_env("sqlite://shop.db", &db);
    if (rc) {
        fprintf(stderr, "error: cannot open the database: %s\n", cadre_strerror(rc));
        return 1;
    }
#ifdef SHOP_API_ONLY
    cadre_app *app = shop_api_app(db);
#else
    cadre_app *app = shop_app(db);
#endif
    int status = app ? cadre_main(app, argc, argv) : 1;
    cadre_db_close(db);
    return status;
}
