/*
 * Inventory: suppliers, products and stock movements as a typed JSON API on SQLite or
 * PostgreSQL, with migrations.
 *
 *   inventory migrate                 creates or updates the tables
 *   inventory serve --port 8000       http://127.0.0.1:8000/ (a page), /docs (the API)
 *   inventory makemigrations          after changing models.h
 *
 * The database is $CADRE_DATABASE_URL, else sqlite://inventory.db (in the current directory).
 */
#include "models.h"

#include <stdio.h>

#ifndef INVENTORY_MIGRATIONS
#define INVENTORY_MIGRATIONS "migrations"
#endif

static cadre_db *db;

/* Its pages' templates, compiled into the binary from templates/ (see meson.build). */
extern const cadre_template_source inventory_templates[];
extern const size_t inventory_templates_count;

#define PRODUCT_REF_FIELDS(F) F(int64, id, CADRE_IN_PATH, CADRE_GE(1))
CADRE_SCHEMA(product_ref, PRODUCT_REF_FIELDS)

#define STOCK_LEVEL_FIELDS(F)                                                                      \
    F(int64, product_id)                                                                           \
    F(int64, quantity, CADRE_DESCRIPTION("the sum of the product's stock movements"))              \
    F(int64, movements)
CADRE_SCHEMA(stock_level, STOCK_LEVEL_FIELDS)

/* GET /api/products/{id}/stock: the quantity in stock, from the movements. */
static int product_stock(cadre_request *r, const product_ref *p, const cadre_none *in, stock_level *out)
{
    (void)in;
    product prod;
    bool found;
    int rc = product_get(db, r->arena, p->id, &prod, &found);
    if (rc)
        return rc;
    if (!found)
        return cadre_error(r, 404, "Not Found");
    const cadre_value id = CADRE_PINT(p->id);
    rc = cadre_db_query_one(db, r->arena, CADRE_SCHEMA_OF(stock_level), out, &found,
                            "SELECT product_id, COALESCE(SUM(quantity), 0) AS quantity, "
                            "COUNT(*) AS movements FROM stock_movement WHERE product_id = ? "
                            "GROUP BY product_id", &id, 1);
    if (rc == 0 && !found)
        *out = (stock_level){ .product_id = p->id };
    return rc;
}

/* GET /: the products with their suppliers (one query: select_related), as a page. */
static int products_page(cadre_request *r)
{
    cadre_query q;
    cadre_rows products, suppliers;
    product_query(&q, db, r->arena);
    cadre_q_select_related(&q, "supplier_id", &suppliers);
    cadre_q_order_by(&q, "name");
    cadre_q_limit(&q, 500);
    int rc = cadre_q_fetch(&q, &products);
    if (rc)
        return rc;
    return cadre_render(r, 200, "products.html",
                        CADRE_CTX({ "products", CADRE_TROWS(product, &products) }));
}

/* The pages' own errors (no such page, the database down) for browsers; the API keeps JSON. */
static int error_page(cadre_request *r, int status, const char *detail, void *ctx)
{
    (void)ctx;
    return cadre_render(r, status, "error.html",
                        CADRE_CTX({ "status", CADRE_TINT(status) },
                                  { "detail", CADRE_TSTR(detail) }));
}

int main(int argc, char **argv)
{
    cadre_app *app = cadre_app_new("inventory");
    int rc = cadre_db_open_env("sqlite://inventory.db", &db);
    if (rc) {
        fprintf(stderr, "error: cannot open the database: %s\n", cadre_strerror(rc));
        cadre_app_free(app);
        return 1;
    }
    /* compiled when the app starts: one that does not compile stops it with file:line */
    cadre_templates_add(app, inventory_templates, inventory_templates_count);
    cadre_app_on_error(app, 0, error_page, NULL);
    cadre_get(app, "/", products_page);
    /* forms validated like the API's bodies: shown again with their errors beside the fields
     * (422), or the row inserted (a name taken, a supplier that is not there: said beside the
     * field) and the browser sent to the list (303) */
    CADRE_FORM_PAGE(app, "/suppliers/new", supplier, "form.html", NULL, .db = db,
                    .success = "/");
    CADRE_FORM_PAGE(app, "/products/new", product, "form.html", NULL, .db = db,
                    .fields = "name,price,supplier_id", .success = "/");
    cadre_models(app, db, INVENTORY_MIGRATIONS, CADRE_SCHEMA_OF(supplier), CADRE_SCHEMA_OF(product),
                 CADRE_SCHEMA_OF(stock_movement));
    cadre_crud(app, "/api/suppliers", CADRE_SCHEMA_OF(supplier), db);
    cadre_crud(app, "/api/products", CADRE_SCHEMA_OF(product), db);
    cadre_crud(app, "/api/stock-movements", CADRE_SCHEMA_OF(stock_movement), db);
    CADRE_ROUTE(app, GET, "/api/products/{id}/stock", product_stock, product_ref, cadre_none,
                stock_level, .summary = "Stock level of a product", .tags = "products");
    int status = cadre_main(app, argc, argv);
    cadre_db_close(db);
    return status;
}
