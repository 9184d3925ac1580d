/* @NAME@'s models: one declaration each gives the C struct, the JSON contract, the table and,
 * through `./build/@NAME@ makemigrations`, its migrations. Add a field, run makemigrations, then
 * migrate. */
#ifndef APP_MODELS_H
#define APP_MODELS_H

#include <cadre.h>

/* The project's own user: auth's fields, then its own (makemigrations adds them to auth's table
 * in this project's migrations). Decided on day one, so it never has to change later. */
#define MEMBER_FIELDS(F)                                                                           \
    CADRE_USER_FIELDS(F)                                                                           \
    F(string, display_name, CADRE_MAX_LEN(100), CADRE_DEFAULT_STR(""))
CADRE_USER_MODEL(member, MEMBER_FIELDS)

/* A first model: rename it, add fields, or add models beside it. */
#define ITEM_FIELDS(F)                                                                             \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, name, CADRE_MIN_LEN(1), CADRE_MAX_LEN(200))                                          \
    F(string, notes, CADRE_MAX_LEN(2000), CADRE_DEFAULT_STR(""))                                   \
    F(datetime, created_at, CADRE_AUTO_NOW_ADD)
CADRE_MODEL(item, ITEM_FIELDS)

/* cadre:models — `cadre generate model` adds its models above this line */

#endif
