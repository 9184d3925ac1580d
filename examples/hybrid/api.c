/* The shop's API surface: what customers' programs use, under /api, by bearer token only (no
 * sessions, so no CSRF). The catalogue, and orders: each customer places and sees its own. It
 * knows nothing of the pages. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "models.h"
#include "modules.h"

#include <time.h>

static cadre_db *db;

#define NEW_ORDER_FIELDS(F)                                                                        \
    F(int64, product_id, CADRE_GE(1))                                                              \
    F(int32, quantity, CADRE_GE(1), CADRE_LE(1000))
CADRE_SCHEMA(new_order, NEW_ORDER_FIELDS)

#define ORDER_REF_FIELDS(F) F(int64, id, CADRE_IN_PATH, CADRE_GE(1))
CADRE_SCHEMA(order_ref, ORDER_REF_FIELDS)

#define ORDER_LIST_FIELDS(F) F(array(purchase), results)
CADRE_SCHEMA(order_list, ORDER_LIST_FIELDS)

/* An order being placed, for the transaction. */
struct placing {
    const new_order *in;
    int64_t customer_id;
    cadre_arena *arena;
    purchase *out;
    int64_t in_stock; /* when there was not enough: how many there were (-1: no such product) */
};

/* In one transaction: the stock taken (only if there is enough: the UPDATE's condition decides,
 * so two orders racing for the last items cannot both get them), then the order written. 1: not
 * placed (in_stock says why); 0: placed. */
static int place(cadre_tx *tx, void *ctx)
{
    struct placing *p = ctx;
    const cadre_value take[] = { CADRE_PINT(p->in->quantity), CADRE_PINT(p->in->product_id),
                                 CADRE_PINT(p->in->quantity) };
    int64_t changed;
    int rc = cadre_tx_exec(tx, "UPDATE product SET stock = stock - ? WHERE id = ? AND stock >= ?",
                           take, 3, &changed, NULL);
    if (rc)
        return rc;
    if (changed == 0) {
        product prod;
        bool found;
        const cadre_value id = CADRE_PINT(p->in->product_id);
        rc = cadre_tx_query_one(tx, p->arena, CADRE_SCHEMA_OF(product), &prod, &found,
                                "SELECT id, sku, name, price, stock FROM product WHERE id = ?",
                                &id, 1);
        p->in_stock = found ? prod.stock : -1;
        return rc ? rc : 1;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    cadre_datetime at = { .sec = now.tv_sec, .usec = (int32_t)(now.tv_nsec / 1000) };
    char at_text[CADRE_DATETIME_TEXT];
    cadre_datetime_format_utc(&at, at_text);
    const cadre_value row[] = { CADRE_PINT(p->in->product_id), CADRE_PINT(p->customer_id),
                                CADRE_PINT(p->in->quantity), CADRE_PTEXT("placed"),
                                CADRE_PTEXT(at_text) };
    bool found;
    rc = cadre_tx_query_one(tx, p->arena, CADRE_SCHEMA_OF(purchase), p->out, &found,
                            "INSERT INTO purchase (product_id, customer_id, quantity, state, "
                            "placed_at) VALUES (?, ?, ?, ?, ?) RETURNING id, product_id, "
                            "customer_id, quantity, state, placed_at",
                            row, 5);
    return rc ? rc : found ? 0 : CADRE_EIO;
}

/* POST /api/orders: an order of the caller's, its stock taken at once. */
static int place_order(cadre_request *r, const cadre_none *p, const new_order *in, purchase *out)
{
    (void)p;
    struct placing pl = { .in = in, .customer_id = cadre_request_user(r)->id,
                          .arena = r->arena, .out = out };
    int rc = cadre_db_atomic(db, place, &pl);
    if (rc < 0)
        return rc;
    if (rc == 1)
        return pl.in_stock < 0
                   ? cadre_error(r, 404, "No such product.")
                   : cadre_error(r, 409, cadre_arena_printf(r->arena, "Only %lld in stock.",
                                                           (long long)pl.in_stock));
    return 201;
}

/* GET /api/orders: the caller's orders, newest first (the last 100). */
static int my_orders(cadre_request *r, const cadre_none *p, const cadre_none *in, order_list *out)
{
    (void)p;
    (void)in;
    cadre_query q;
    cadre_rows rows;
    purchase_query(&q, db, r->arena);
    cadre_q_filter(&q, "customer_id", CADRE_PINT(cadre_request_user(r)->id));
    cadre_q_order_by(&q, "-id");
    cadre_q_limit(&q, 100);
    int rc = cadre_q_fetch(&q, &rows);
    if (rc)
        return rc;
    out->results.items = rows.items;
    out->results.len = rows.len;
    return 0;
}

/* GET /api/orders/{id}: one of the caller's orders; another's is not there for it (404). */
static int my_order(cadre_request *r, const order_ref *p, const cadre_none *in, purchase *out)
{
    (void)in;
    cadre_query q;
    bool found;
    purchase_query(&q, db, r->arena);
    cadre_q_filter(&q, "id", CADRE_PINT(p->id));
    cadre_q_filter(&q, "customer_id", CADRE_PINT(cadre_request_user(r)->id));
    int rc = cadre_q_first(&q, out, &found);
    return rc ? rc : found ? 0 : cadre_error(r, 404, "No such order.");
}

void shop_api(cadre_app *app, cadre_db *database)
{
    db = database;
    cadre_group_begin(app, "/api", .auth = CADRE_AUTH_TOKEN);
    /* the catalogue: customers view it; a stock system's token (change_product) keeps it */
    cadre_crud(app, "/products", CADRE_SCHEMA_OF(product), db);
    CADRE_ROUTE(app, POST, "/orders", place_order, cadre_none, new_order, purchase, .status = 201,
                .summary = "Place an order", .tags = "orders",
                .description = "Takes the stock at once: 409 when there is not enough.",
                .guards = CADRE_GUARDS(CADRE_PERM("shop.add_purchase")));
    CADRE_ROUTE(app, GET, "/orders", my_orders, cadre_none, cadre_none, order_list,
                .summary = "The caller's orders", .tags = "orders");
    CADRE_ROUTE(app, GET, "/orders/{id}", my_order, order_ref, cadre_none, purchase,
                .summary = "One of the caller's orders", .tags = "orders");
    cadre_group_end(app);
}
