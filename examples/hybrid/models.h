/* The shop's models, shared by both of its surfaces: the catalogue and the orders placed in it.
 * One declaration each gives the C struct, the JSON contract, the table and (through
 * makemigrations) its migrations. */
#ifndef SHOP_MODELS_H
#define SHOP_MODELS_H

#include <cadre.h>

#define PRODUCT_FIELDS(F)                                                                          \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, sku, CADRE_MIN_LEN(1), CADRE_MAX_LEN(40), CADRE_UNIQUE)                              \
    F(string, name, CADRE_MIN_LEN(1), CADRE_MAX_LEN(200))                                          \
    F(double, price, CADRE_GE(0))                                                                  \
    F(int32, stock, CADRE_GE(0), CADRE_DEFAULT(0))
CADRE_MODEL(product, PRODUCT_FIELDS)

#define ORDER_STATE_VALUES(V) V(ORDER_PLACED, "placed") V(ORDER_SHIPPED, "shipped")
CADRE_ENUM(order_state, ORDER_STATE_VALUES)

/* An order of one product by a customer (a user of the API); its stock is taken when placed. */
#define PURCHASE_FIELDS(F)                                                                         \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(int64, product_id, CADRE_FOREIGN_KEY(product, CADRE_ON_DELETE_PROTECT))                      \
    F(int64, customer_id, CADRE_FOREIGN_KEY(cadre_user, CADRE_ON_DELETE_PROTECT), CADRE_INDEX)     \
    F(int32, quantity, CADRE_GE(1), CADRE_LE(1000))                                                \
    F(enum(order_state), state, CADRE_DEFAULT(ORDER_PLACED))                                       \
    F(datetime, placed_at, CADRE_AUTO_NOW_ADD)
CADRE_MODEL(purchase, PURCHASE_FIELDS)

#endif
