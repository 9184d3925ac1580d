/* @NAME@: the app, made by one function that main.c and the tests share. */
#ifndef APP_H
#define APP_H

#include <cadre.h>

/* The app on db (which must outlive it): its modules, models and routes. NULL when out of
 * memory; configuration errors are reported when it starts. */
cadre_app *@NAME@_app(cadre_db *db);

#endif
