/* @NAME@-api: the API alone, in a process of its own on the same database (-Dsplit_api=true). */
#include "modules.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    cadre_db *db;
    int rc = cadre_db_open_env("sqlite://@NAME@.db", &db); /* CADRE_DATABASE_URL wins */
    if (rc) {
        fprintf(stderr, "error: cannot open the database: %s\n", cadre_strerror(rc));
        return 1;
    }
    cadre_app *app = @NAME@_api_app(db);
    int status = app ? cadre_main(app, argc, argv) : 1;
    cadre_db_close(db);
    return status;
}
