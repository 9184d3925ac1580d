/* The shop's operational surface: what the people who run it use, in a browser, by session (with
 * CSRF): the orders to ship, the products running low, and the admin. It knows nothing of the
 * API. */
#include "models.h"
#include "modules.h"

/* The pages' templates, compiled into the binary from templates/ (see meson.build). */
extern const cadre_template_source shop_templates[];
extern const size_t shop_templates_count;

static cadre_db *db;

/* GET /: the orders still to ship, oldest first, with their products and customers (one query
 * each), and the products with fewer than 5 left. */
static int orders_page(cadre_request *r)
{
    cadre_query q;
    cadre_rows orders, products, customers, low;
    purchase_query(&q, db, r->arena);
    cadre_q_filter(&q, "state", CADRE_PTEXT("placed"));
    cadre_q_select_related(&q, "product_id", &products);
    cadre_q_select_related(&q, "customer_id", &customers);
    cadre_q_order_by(&q, "id");
    cadre_q_limit(&q, 200);
    int rc = cadre_q_fetch(&q, &orders);
    if (rc)
        return rc;
    product_query(&q, db, r->arena);
    cadre_q_filter(&q, "stock__lt", CADRE_PINT(5));
    cadre_q_order_by(&q, "stock");
    cadre_q_limit(&q, 50);
    if ((rc = cadre_q_fetch(&q, &low)) != 0)
        return rc;
    return cadre_render(r, 200, "orders.html",
                        CADRE_CTX({ "orders", CADRE_TROWS(purchase, &orders) },
                                  { "low", CADRE_TROWS(product, &low) }));
}

/* POST /orders/{id}/ship: the order marked shipped (once: a shipped one stays as it is). */
static int ship(cadre_request *r)
{
    int64_t id;
    if (cadre_slice_to_i64(cadre_request_param(r, "id"), false, &id) != 0)
        return cadre_error(r, 404, "Not Found");
    cadre_query q;
    purchase_query(&q, db, r->arena);
    cadre_q_filter(&q, "id", CADRE_PINT(id));
    cadre_q_filter(&q, "state", CADRE_PTEXT("placed"));
    cadre_q_set(&q, "state", CADRE_PTEXT("shipped"));
    int rc = cadre_q_update(&q, NULL);
    return rc ? rc : cadre_redirect(r, 303, "/");
}

/* The admin's action: the selected orders marked shipped, in one UPDATE. */
static int ship_selected(cadre_request *r, const cadre_schema *model, const int64_t *ids, size_t n,
                         void *ctx)
{
    (void)model;
    (void)ctx;
    cadre_value *v = cadre_alloc(r, (n ? n : 1) * sizeof *v);
    if (!v)
        return CADRE_ENOMEM;
    for (size_t i = 0; i < n; i++)
        v[i] = CADRE_PINT(ids[i]);
    cadre_query q;
    purchase_query(&q, db, r->arena);
    cadre_q_filter_in(&q, "id", v, n);
    cadre_q_set(&q, "state", CADRE_PTEXT("shipped"));
    return cadre_q_update(&q, NULL);
}

void shop_ops(cadre_app *app, cadre_db *database)
{
    db = database;
    cadre_templates_add(app, shop_templates, shop_templates_count);
    cadre_get(app, "/", orders_page, .guards = CADRE_GUARDS(CADRE_PERM("shop.view_purchase")));
    cadre_post(app, "/orders/{id}/ship", ship,
               .guards = CADRE_GUARDS(CADRE_PERM("shop.change_purchase")));
    cadre_admin(app, db, .site_header = "Shop administration", .site_title = "Shop");
    cadre_admin_register(app, CADRE_SCHEMA_OF(product), .list = "id, sku, name, price, stock",
                         .search = "sku, name", .ordering = "name");
    cadre_admin_register(app, CADRE_SCHEMA_OF(purchase),
                         .list = "id, product_id, customer_id, quantity, state, placed_at",
                         .filters = "state, placed_at", .readonly = "placed_at",
                         .singular = "order", .plural = "orders");
    cadre_admin_action(app, CADRE_SCHEMA_OF(purchase), "ship", ship_selected,
                       .label = "Mark as shipped");
}
