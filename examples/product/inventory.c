/*
 * Inventory, the example product (examples/product): suppliers, products and stock movements on
 * SQLite or PostgreSQL — users and permissions, pages with forms (a product's page records its
 * stock movements), the admin, and a typed JSON API by session or token with its docs.
 *
 *   inventory migrate                 creates or updates the tables
 *   inventory demo --dev              demo users (admin, clerk), a staff group, sample rows
 *   inventory serve --port 8000       http://127.0.0.1:8000/ (a page), /docs (the API)
 *   inventory tasks                   the background jobs (low-stock alerts); tasks retry ID
 *   inventory makemigrations          after changing models.h
 *
 * The database is $CADRE_DATABASE_URL, else sqlite://inventory.db (in the current directory).
 */
#include "models.h"

#include <stdio.h>
#include <string.h>

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

/* The quantity of product id in stock: the sum of its movements. */
static int stock_of(cadre_arena *a, int64_t id, stock_level *out)
{
    const cadre_value v = CADRE_PINT(id);
    bool found;
    int rc = cadre_db_query_one(db, a, CADRE_SCHEMA_OF(stock_level), out, &found,
                                "SELECT product_id, COALESCE(SUM(quantity), 0) AS quantity, "
                                "COUNT(*) AS movements FROM stock_movement WHERE product_id = ? "
                                "GROUP BY product_id", &v, 1);
    if (rc == 0 && !found)
        *out = (stock_level){ .product_id = id };
    return rc;
}

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
    return stock_of(r->arena, p->id, out);
}

/* /products/{id}: the product, its supplier, its stock and its last 50 movements, for the page
 * whose form records a movement. */
static int product_context(cadre_request *r, cadre_tctx_builder *b)
{
    int64_t id;
    if (cadre_slice_to_i64(cadre_request_param(r, "id"), false, &id) != 0)
        return CADRE_ENOTFOUND;
    cadre_query q;
    cadre_rows products, suppliers, movements;
    product_query(&q, db, r->arena);
    cadre_q_filter(&q, "id", CADRE_PINT(id));
    cadre_q_select_related(&q, "supplier_id", &suppliers);
    int rc = cadre_q_fetch(&q, &products);
    if (rc == 0 && products.len == 0)
        return CADRE_ENOTFOUND;
    stock_level *stock = cadre_alloc(r, sizeof *stock);
    if (rc == 0 && !stock)
        rc = CADRE_ENOMEM;
    if (rc == 0)
        rc = stock_of(r->arena, id, stock);
    if (rc == 0) {
        stock_movement_query(&q, db, r->arena);
        cadre_q_filter(&q, "product_id", CADRE_PINT(id));
        cadre_q_order_by(&q, "-id");
        cadre_q_limit(&q, 50);
        rc = cadre_q_fetch(&q, &movements);
    }
    if (rc)
        return rc;
    cadre_tctx_add(b, "product", CADRE_TROWS(product, &products));
    cadre_tctx_add(b, "stock", CADRE_TOBJ(stock_level, stock));
    cadre_tctx_add(b, "movements", CADRE_TROWS(stock_movement, &movements));
    return 0;
}

/* The low-stock alert, a background task: enqueued when a movement leaves a product with fewer
 * than LOW_STOCK in stock, run on the server's own workers (or `inventory worker`), retried with
 * backoff if it fails; `inventory tasks` and the admin's jobs page list it. It reads the stock
 * again when it runs (a delivery may have come meanwhile) and tells the log, which is where this
 * example's alerts go (journald, or the terminal); a product would mail the supplier here. */
#define LOW_STOCK 5
#define LOW_STOCK_FIELDS(F) F(int64, product_id, CADRE_GE(1))
CADRE_SCHEMA(low_stock_args, LOW_STOCK_FIELDS)

static int low_stock_alert(cadre_job *job, const low_stock_args *a)
{
    cadre_request *r = cadre_job_request(job);
    cadre_query q;
    cadre_rows products, suppliers;
    product_query(&q, db, r->arena);
    cadre_q_filter(&q, "id", CADRE_PINT(a->product_id));
    cadre_q_select_related(&q, "supplier_id", &suppliers);
    int rc = cadre_q_fetch(&q, &products);
    if (rc)
        return rc; /* the database: tried again later */
    if (products.len == 0)
        return cadre_job_result(job, "the product was deleted");
    const product *p = products.items;
    const supplier *s = suppliers.items; /* the product's, read in the same query */
    stock_level stock;
    if ((rc = stock_of(r->arena, p->id, &stock)) != 0)
        return rc;
    if (stock.quantity >= LOW_STOCK)
        return cadre_job_result(job, cadre_arena_printf(r->arena, "restocked meanwhile: %lld",
                                                        (long long)stock.quantity));
    bool mail = suppliers.len && cadre_has(s, supplier, email) && !cadre_is_null(s, supplier, email);
    cadre_log(CADRE_LOG_WARN, "low stock: %.*s has %lld left; reorder from %.*s%s%.*s%s",
              (int)p->name.len, p->name.ptr, (long long)stock.quantity,
              suppliers.len ? (int)s->name.len : 0, suppliers.len ? s->name.ptr : "",
              mail ? " <" : "", mail ? (int)s->email.len : 0, mail ? s->email.ptr : "",
              mail ? ">" : "");
    return cadre_job_result(job, cadre_arena_printf(r->arena, "alerted: %lld left",
                                                    (long long)stock.quantity));
}
CADRE_TASK(low_stock, low_stock_args, low_stock_alert, .max_attempts = 5);

/* After every change of a product's movements — its page's form, the API, the admin, wherever
 * a movement is written through the ORM (a change hook) — its stock, now:
 * - pushed to the pages that show it (the admin's product list) over their WebSockets: published
 *   on the topic "stock" as {"product_id": 3, "quantity": 12}, heard on every worker thread;
 * - when fewer than LOW_STOCK are left, the low-stock alert, at most one pending per product
 *   (its unique key). The write is done already, so a queue that cannot take the job (the
 *   database down) is logged: the next change of a product still low enqueues it again. */
static void movement_changed(const cadre_model_change *c, void *ctx)
{
    (void)ctx;
    const stock_movement *m = c->row;
    int64_t product_id = m->product_id;
    if (!cadre_has(m, stock_movement, product_id)) { /* a patch that left it as it was */
        stock_movement now;
        bool found;
        if (stock_movement_get(db, c->arena, c->id, &now, &found) != 0 || !found)
            return;
        product_id = now.product_id;
    }
    stock_level stock;
    if (stock_of(c->arena, product_id, &stock) != 0)
        return;
    cadre_ws_publish_text("stock", cadre_arena_printf(c->arena,
                          "{\"product_id\": %lld, \"quantity\": %lld}",
                          (long long)product_id, (long long)stock.quantity));
    if (stock.quantity >= LOW_STOCK)
        return;
    int rc = cadre_enqueue(NULL, low_stock, (&(low_stock_args){ .product_id = product_id }),
                           .unique = cadre_arena_printf(c->arena, "low-stock:%lld",
                                                        (long long)product_id));
    if (rc && rc != CADRE_EEXIST)
        cadre_log(CADRE_LOG_ERROR, "low stock of product %lld: the alert could not be enqueued: "
                  "%s", (long long)product_id, cadre_strerror(rc));
}

/* /stock/live: a WebSocket that hears every stock change (the admin's product list opens it;
 * its user needs to be able to see products). Nothing is read from it but its close. */
static int stock_live(cadre_request *r, cadre_ws *ws)
{
    (void)r;
    int rc = cadre_ws_subscribe(ws, "stock");
    cadre_ws_message m;
    while (rc == 0)
        rc = cadre_ws_recv(ws, &m);
    return rc == CADRE_ECLOSED || rc == CADRE_ECANCELED ? 0 : rc;
}

/* The form on a product's page: a movement of that product (those who may only view the page
 * are refused), then the page again with it. */
static int record_movement(cadre_request *r, stock_movement *m, cadre_verrors *errs)
{
    (void)errs;
    if (!cadre_has_perm(r, "inventory.add_stock_movement", NULL))
        return cadre_error(r, 403, "You may not record stock movements.");
    if (cadre_slice_to_i64(cadre_request_param(r, "id"), false, &m->product_id) != 0)
        return CADRE_ENOTFOUND;
    cadre_set(m, stock_movement, product_id);
    int rc = stock_movement_insert(db, r->arena, m);
    if (rc == CADRE_ESTATE && stock_movement_conflicts(db, r->arena, m, -1, errs) > 0)
        return CADRE_ENOTFOUND; /* the product was deleted meanwhile */
    if (rc)
        return rc;
    return cadre_redirect(r, 303, cadre_url_for(r, "product", m->product_id));
}

/* An admin action: the selected products 10 % cheaper (one UPDATE for them all). */
static int discount(cadre_request *r, const cadre_schema *model, const int64_t *ids, size_t n,
                    void *ctx)
{
    (void)ctx;
    (void)model;
    for (size_t i = 0; i < n; i++) {
        product p;
        bool found;
        int rc = product_get(db, r->arena, ids[i], &p, &found);
        if (rc || !found)
            return rc;
        /* 10 % off, to the cent (prices are never negative) */
        product cheaper = { .id = p.id, .price = (double)(int64_t)(p.price * 90.0 + 0.5) / 100.0 };
        cadre_set(&cheaper, product, id);
        cadre_set(&cheaper, product, price);
        if ((rc = product_patch(db, r->arena, &cheaper, NULL)) != 0)
            return rc;
    }
    return 0;
}

/* The admin's "In stock" column: each product's sum of its stock movements, for a whole page in
 * one query (SUM(quantity) ... WHERE product_id IN (the page's) GROUP BY product_id). */
static int in_stock(cadre_request *r, const cadre_rows *rows, const char **out, void *ctx)
{
    (void)ctx;
    const product *p = rows->items;
    cadre_value *ids = cadre_alloc(r, rows->len * sizeof *ids);
    if (!ids)
        return CADRE_ENOMEM;
    for (size_t i = 0; i < rows->len; i++)
        ids[i] = CADRE_PINT(p[i].id);
    cadre_query q;
    cadre_rows sums;
    stock_movement_query(&q, db, r->arena);
    cadre_q_filter_in(&q, "product_id", ids, rows->len);
    int rc = cadre_q_group(&q, "product_id", CADRE_AGG_SUM, "quantity", &sums);
    if (rc)
        return rc;
    const cadre_group_row *g = sums.items;
    for (size_t i = 0; i < rows->len; i++) {
        long long sum = 0;
        for (size_t j = 0; j < sums.len; j++)
            if (g[j].key.i64 == p[i].id)
                sum = (long long)g[j].value;
        out[i] = cadre_arena_printf(r->arena, "%lld", sum);
    }
    return 0;
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

/* The demo's staff: may look at everything, add and change, and delete nothing. */
static const char *const staff_perms[] = {
    "inventory.view_supplier",       "inventory.add_supplier",  "inventory.change_supplier",
    "inventory.view_product",        "inventory.add_product",   "inventory.change_product",
    "inventory.view_stock_movement", "inventory.add_stock_movement",
};

/* The user named name (made with password when missing) → its id. */
static int demo_user(cadre_app *app, cadre_arena *a, const char *name, const char *password,
                     bool superuser, int64_t *id)
{
    int rc = cadre_user_create(app, name, "", password, superuser, id);
    if (rc == 0 && !superuser) { /* staff: may log in to the admin */
        cadre_user u = { .id = *id, .is_staff = true };
        cadre_set(&u, cadre_user, id);
        cadre_set(&u, cadre_user, is_staff);
        rc = cadre_user_patch(db, a, &u, NULL);
    }
    if (rc != CADRE_EEXIST) {
        if (rc == 0)
            printf("  user %-6s password %s%s\n", name, password, superuser ? " (superuser)" : "");
        return rc;
    }
    cadre_query q;
    cadre_user u;
    bool found;
    cadre_q_init(&q, db, CADRE_SCHEMA_OF(cadre_user), a);
    cadre_q_filter(&q, "username", CADRE_PTEXT(name));
    rc = cadre_q_first(&q, &u, &found);
    if (rc == 0 && found) {
        *id = u.id;
        printf("  user %-6s exists (its password is unchanged)\n", name);
    }
    return rc ? rc : found ? 0 : CADRE_ENOTFOUND;
}

/* Sample rows, when there are no suppliers yet. */
static int demo_rows(cadre_arena *a)
{
    cadre_query q;
    int64_t n;
    supplier_query(&q, db, a);
    int rc = cadre_q_count(&q, &n);
    if (rc || n)
        return rc;
    static const struct { const char *name; double price; int sup, stock; } items[] = {
        { "Claw hammer", 14.5, 0, 40 }, { "Hand saw", 22.0, 0, 12 }, { "Wood screws (100)", 4.2, 1, 300 },
        { "Cordless drill", 89.0, 1, 5 }, { "Tape measure 5 m", 7.9, 0, 60 },
    };
    supplier sup[2] = { { .name = cadre_slice_cstr("Acme Tools") },
                        { .name = cadre_slice_cstr("Northwind Hardware") } };
    for (size_t i = 0; i < 2 && rc == 0; i++) {
        cadre_set(&sup[i], supplier, name);
        rc = supplier_insert(db, a, &sup[i]);
    }
    for (size_t i = 0; i < sizeof items / sizeof items[0] && rc == 0; i++) {
        product p = { .name = cadre_slice_cstr(items[i].name), .price = items[i].price,
                      .supplier_id = sup[items[i].sup].id };
        cadre_set(&p, product, name);
        cadre_set(&p, product, price);
        cadre_set(&p, product, supplier_id);
        if ((rc = product_insert(db, a, &p)) != 0)
            break;
        stock_movement m = { .product_id = p.id, .quantity = items[i].stock,
                             .note = cadre_slice_cstr("opening stock") };
        cadre_set(&m, stock_movement, product_id);
        cadre_set(&m, stock_movement, quantity);
        cadre_set(&m, stock_movement, note);
        rc = stock_movement_insert(db, a, &m);
    }
    if (rc == 0)
        printf("  2 suppliers and 5 products with their opening stock\n");
    return rc;
}

/* inventory demo --dev: the demo's users (printed with their passwords), the staff group and
 * some rows; run again, it adds only what is missing. */
static int demo_command(cadre_app *app, int argc, char **argv, void *ctx)
{
    (void)ctx;
    if (argc != 2 || strcmp(argv[1], "--dev") != 0) {
        fprintf(stderr, "usage: inventory demo --dev\n(it makes users with known passwords: "
                        "for development only)\n");
        return 2;
    }
    cadre_arena a;
    cadre_arena_init(&a, 4096);
    int64_t admin, clerk, staff;
    printf("Demo data:\n");
    int rc = demo_user(app, &a, "admin", "admin-demo-1", true, &admin);
    if (rc == 0)
        rc = demo_user(app, &a, "clerk", "clerk-demo-1", false, &clerk);
    if (rc == 0)
        rc = cadre_group_create(app, "staff", &staff);
    if (rc == CADRE_EEXIST)
        rc = 0;
    for (size_t i = 0; i < sizeof staff_perms / sizeof staff_perms[0] && rc == 0; i++)
        rc = cadre_group_grant(app, staff, staff_perms[i]);
    if (rc == 0)
        rc = cadre_user_join(app, clerk, staff);
    if (rc == 0)
        printf("  group staff: view, add and change everything, delete nothing; clerk is in it\n");
    if (rc == 0)
        rc = demo_rows(&a);
    cadre_arena_free(&a);
    if (rc) {
        fprintf(stderr, "error: the demo data could not be made: %s (has `inventory migrate` "
                        "run?)\n", cadre_strerror(rc));
        return 1;
    }
    return 0;
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
    /* users, sessions, the login page, CSRF, permissions and API tokens */
    cadre_auth(app, db);
    cadre_models(app, db, INVENTORY_MIGRATIONS, CADRE_SCHEMA_OF(supplier), CADRE_SCHEMA_OF(product),
                 CADRE_SCHEMA_OF(stock_movement));
    /* the pages: a browser that is not logged in goes to the login page and comes back */
    cadre_get(app, "/", products_page,
              .guards = CADRE_GUARDS(CADRE_PERM("inventory.view_product")));
    /* forms validated like the API's bodies: shown again with their errors beside the fields
     * (422), or the row inserted (a name taken, a supplier that is not there: said beside the
     * field) and the browser sent to the list (303); each needs its model's add permission */
    CADRE_FORM_PAGE(app, "/suppliers/new", supplier, "form.html", NULL, .db = db,
                    .success = "/");
    CADRE_FORM_PAGE(app, "/products/new", product, "form.html", NULL, .db = db,
                    .fields = "name,price,supplier_id", .success = "/");
    /* a product's page: its stock and movements, and a form that records one (goods in: a
     * positive quantity; out: a negative one) */
    CADRE_FORM_PAGE(app, "/products/{id}", stock_movement, "product.html", record_movement,
                    .fields = "quantity,note", .context = product_context, .name = "product",
                    .guards = CADRE_GUARDS(CADRE_PERM("inventory.view_product")));
    /* the API: a logged-in browser (with its CSRF token) or an API token, each operation
     * needing its model's view, add, change or delete permission */
    cadre_group_begin(app, "/api", .auth = CADRE_AUTH_SESSION | CADRE_AUTH_TOKEN);
    cadre_crud(app, "/suppliers", CADRE_SCHEMA_OF(supplier), db);
    cadre_crud(app, "/products", CADRE_SCHEMA_OF(product), db);
    cadre_crud(app, "/stock-movements", CADRE_SCHEMA_OF(stock_movement), db);
    CADRE_ROUTE(app, GET, "/products/{id}/stock", product_stock, product_ref, cadre_none,
                stock_level, .summary = "Stock level of a product", .tags = "products",
                .guards = CADRE_GUARDS(CADRE_PERM("inventory.view_stock_movement")));
    cadre_group_end(app);
    /* the admin at /admin/: staff users, each model's pages by its permissions */
    cadre_admin(app, db, .site_header = "Inventory administration", .site_title = "Inventory");
    cadre_admin_register(app, CADRE_SCHEMA_OF(supplier), .list = "id, name, email",
                         .search = "name, email", .ordering = "name");
    cadre_admin_register(app, CADRE_SCHEMA_OF(product),
                         .list = "id, name, price, supplier_id, updated_at", .search = "name, =id",
                         .filters = "supplier_id, updated_at", .ordering = "name",
                         .fieldsets = "Product: name, price; Source: supplier_id, updated_at",
                         .readonly = "updated_at", .inlines = "stock_movement");
    cadre_admin_column(app, CADRE_SCHEMA_OF(product), "In stock", in_stock);
    cadre_admin_action(app, CADRE_SCHEMA_OF(product), "discount", discount,
                       .label = "Lower the price by 10 %");
    cadre_admin_register(app, CADRE_SCHEMA_OF(stock_movement),
                         .list = "id, product_id, quantity, note, created_at", .search = "note",
                         .filters = "product_id");
    cadre_admin_register(app, CADRE_SCHEMA_OF(cadre_user),
                         .list = "id, username, email, is_staff, is_superuser, last_login",
                         .search = "username, email", .filters = "is_staff, is_superuser",
                         .plural = "users");
    /* background tasks in the same database, run by serve's workers: the low-stock alert;
     * `inventory tasks` lists the jobs, the admin shows them with Retry and Cancel */
    cadre_tasks(app, db);
    cadre_task_add(app, &low_stock);
    cadre_tasks_admin(app);
    /* stock changes, wherever they come from: pushed to open pages, and the alert when low */
    cadre_model_on_change(CADRE_SCHEMA_OF(stock_movement), movement_changed, NULL);
    cadre_websocket(app, "/stock/live", stock_live,
                    .guards = CADRE_GUARDS(CADRE_PERM("inventory.view_product")));
    /* on PostgreSQL, a change made through one instance reaches the pages open on the others */
    cadre_db_relay_topics(app, db);
    cadre_app_command(app, "demo", "demo   adds the demo's users, staff group and sample rows "
                      "(development only)", demo_command, NULL);
    int status = cadre_main(app, argc, argv);
    cadre_db_close(db);
    return status;
}
