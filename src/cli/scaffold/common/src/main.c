/* @NAME@: ./build/@NAME@ serve --dev, ./build/@NAME@ migrate, ./build/@NAME@ help. */
#include "app.h"

#include <stdio.h>

int main(int argc, char **argv)
{
    cadre_db *db;
    int rc = cadre_db_open_env("sqlite://@NAME@.db", &db); /* CADRE_DATABASE_URL wins */
    if (rc) {
        fprintf(stderr, "error: cannot open the database: %s\n", cadre_strerror(rc));
        return 1;
    }
    cadre_app *app = @NAME@_app(db);
    int status = app ? cadre_main(app, argc, argv) : 1;
    cadre_db_close(db);
    return status;
}
