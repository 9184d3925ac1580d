/* The inventory's models: one declaration each gives the C struct, the JSON contract, the table
 * and (through makemigrations) its migrations. */
#ifndef INVENTORY_MODELS_H
#define INVENTORY_MODELS_H

#include <cadre.h>

#define SUPPLIER_FIELDS(F)                                                                         \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, name, CADRE_MIN_LEN(1), CADRE_MAX_LEN(200), CADRE_UNIQUE)                            \
    F(string, email, CADRE_MAX_LEN(254), CADRE_OPTIONAL, CADRE_NULLABLE)
CADRE_MODEL(supplier, SUPPLIER_FIELDS)

#define PRODUCT_FIELDS(F)                                                                          \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, name, CADRE_MIN_LEN(1), CADRE_MAX_LEN(200), CADRE_INDEX)                             \
    F(double, price, CADRE_GE(0))                                                                  \
    F(int64, supplier_id, CADRE_FOREIGN_KEY(supplier, CADRE_ON_DELETE_PROTECT))                    \
    F(datetime, updated_at, CADRE_AUTO_NOW)
CADRE_MODEL(product, PRODUCT_FIELDS)

/* A stock movement: positive quantities arrive, negative ones leave. */
#define STOCK_MOVEMENT_FIELDS(F)                                                                   \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(int64, product_id, CADRE_FOREIGN_KEY(product, CADRE_ON_DELETE_CASCADE))                      \
    F(int32, quantity, CADRE_GE(-1000000), CADRE_LE(1000000))                                      \
    F(string, note, CADRE_MAX_LEN(500), CADRE_DEFAULT_STR(""))                                     \
    F(datetime, created_at, CADRE_AUTO_NOW_ADD)
CADRE_MODEL(stock_movement, STOCK_MOVEMENT_FIELDS)

#endif
