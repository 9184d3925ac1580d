/**
 * cadre/admin.h — the admin: an operations site generated from the models, Django's admin for a
 * Cadre app, built on auth (staff users log in through auth's login page).
 *
 *     cadre_auth(app, db);
 *     cadre_models(app, db, "migrations", CADRE_SCHEMA_OF(supplier), CADRE_SCHEMA_OF(product));
 *     cadre_admin(app, db, .site_header = "Inventory administration");
 *     cadre_admin_register(app, CADRE_SCHEMA_OF(product), .list = "name, price, supplier_id",
 *                          .search = "name, =sku", .ordering = "name");
 *
 * The pages, under the admin's path ("/admin"), each for a staff user only (an anonymous browser
 * goes to the login page and back; anyone else gets 403), each model's for a user with its view
 * permission (auth's permissions; superusers have them all):
 *
 *     GET /admin/                      the models the user may view, by module
 *     GET /admin/MODULE/MODEL/         the change list: the list's columns (a foreign key shows
 *                                      its row's label, read in the same query), sorted by a
 *                                      column with ?o=NAME or ?o=-NAME, searched with ?q=TEXT,
 *                                      a page of per_page rows with ?p=N (from 1), and the count;
 *                                      ordered by an integer key, its Previous/Next links carry
 *                                      ?before=ID / ?after=ID (keyset pagination: a deep page
 *                                      costs what the first does)
 *     GET|POST /admin/MODULE/MODEL/add/          the add form (the add permission)
 *     GET|POST /admin/MODULE/MODEL/ID/change/    the change form (read-only without the change
 *                                      permission); errors beside the fields (422); "Save", "Save
 *                                      and add another", "Save and continue editing" (303)
 *     GET|POST /admin/MODULE/MODEL/ID/delete/    the delete confirmation: what goes with the
 *                                      row (per relation, capped counts), what protects it
 *     GET /admin/MODULE/MODEL/ID/history/        who added and changed it, field by field
 *     GET /admin/static/admin.css      the stylesheet (light and dark)
 *
 * They render the templates admin/base.html, admin/index.html, admin/change_list.html and
 * admin/change_form.html, which
 * an app replaces with its own of the same name (cadre/template.h).
 */
#ifndef CADRE_ADMIN_H
#define CADRE_ADMIN_H

#include "app.h"
#include "auth.h"
#include "db.h"
#include "orm.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The admin's history: one row per add, change and delete made through its pages (Django's
 * LogEntry), in the table cadre_admin_log (the admin's own migration). changes is a JSON list of
 * the fields a change wrote, [{"field": "price", "old": 9.5, "new": 12}]; model is
 * "MODULE.MODEL"; the user's name is kept as it was, so the entry outlives the user.
 */
enum { CADRE_ADMIN_ADDED = 1, CADRE_ADMIN_CHANGED = 2, CADRE_ADMIN_DELETED = 3 };
#define CADRE_ADMIN_LOG_FIELDS(F)                                                                  \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(datetime, action_time, CADRE_AUTO_NOW_ADD)                                                   \
    F(int64, user_id, CADRE_FOREIGN_KEY(cadre_user, CADRE_ON_DELETE_SET_NULL), CADRE_OPTIONAL,     \
      CADRE_NULLABLE, CADRE_INDEX)                                                                 \
    F(string, username)                                                                            \
    F(string, model)                                                                               \
    F(int64, object_id, CADRE_INDEX)                                                               \
    F(string, object_repr)                                                                         \
    F(int32, action)                                                                               \
    F(string, changes, CADRE_DEFAULT_STR("[]"))
CADRE_MODEL(cadre_admin_log, CADRE_ADMIN_LOG_FIELDS)

typedef struct cadre_admin_opts {
    const char *path;        /**< where the site lives ("/admin") */
    const char *site_header; /**< the header of every page ("Cadre administration") */
    const char *site_title;  /**< the end of every page's title ("Cadre site admin") */
    /** Each statement of a change list is cancelled after this many ms (3000): a list that no
     *  index helps over millions of rows then goes without its count, or says it took too long
     *  (503, the search and filters still there to narrow it), instead of holding a worker and
     *  the database (cadre_db_statement_timeout). */
    int list_timeout_ms;
    /** Above this many rows (100000; -1: never), an unfiltered change list on PostgreSQL shows
     *  the planner's estimate ("about 1,000,000 worlds", cadre_q_count_estimate) instead of
     *  counting them. */
    int64_t estimate_above;
} cadre_admin_opts;

/**
 * Adds the admin module (label "admin", after auth) to app: its pages and templates. The app
 * must have auth (cadre_auth) first. db holds the models' rows and must outlive the app.
 * Returns the module, or NULL after recording a configuration error (no auth, a bad path, called
 * twice): the app then refuses to start.
 */
cadre_module *cadre__admin(cadre_app *app, cadre_db *db, const cadre_admin_opts *opts,
                           const char *file, int line);
#define cadre_admin(app, db, ...)                                                                  \
    cadre__admin((app), (db), &(cadre_admin_opts){ __VA_ARGS__ }, __FILE__, __LINE__)

typedef struct cadre_admin_model_opts {
    /** The change list's columns, comma-separated field names; a foreign key shows the label of
     *  the row it names (its first text field). NULL: the key and the first four fields. */
    const char *list;
    /** The fields ?q= searches, each word of the text in any of them: "name" contains it
     *  (ignoring ASCII case), "^name" starts with it, "=code" equals it. NULL: no search box. */
    const char *search;
    /** The sidebar's filters, "is_staff, supplier_id, updated_at": a bool (yes/no), an enum
     *  (its values), a foreign key (the rows the user may view, the first 100) or a date or
     *  datetime (today, past 7 days, this month, this year), as ?FIELD=VALUE. */
    const char *filters;
    /** The default order, "-price, name" (NULL: the primary key, newest first). */
    const char *ordering;
    /** Rows per page (100), at most 1000. */
    int per_page;
    /** The model's name on the pages, plural ("products"); NULL: its name with an "s". */
    const char *plural;
    /** The model's name on the pages, singular ("order" for a model named purchase: "Add
     *  order", "1 order"); NULL: its name, underscores as spaces. Django's verbose_name. */
    const char *singular;
    /** The add and change forms' fields, "name, price, supplier_id" (Django's fields); the others
     *  are never taken from the request. NULL: every column but the key, automatic timestamps
     *  and write-only fields. */
    const char *fields;
    /** Related models edited on this model's add and change pages (Django's inlines):
     *  "stock_movement" names a model with a foreign key to this one; its rows that point to
     *  this row (the first 50; the others counted, linked to its list when that filters by the
     *  key) each get a form of their own, with a Delete box, and three blank rows add new ones
     *  (a blank row left blank is ignored). Each row is checked against the related model's
     *  permissions and object hooks, nothing is written until every row of the page is valid,
     *  and each change goes into the history. At most 4; not for models with file fields. */
    const char *inlines;
    /** Fields shown on the change page as text and never read from the form ("updated_at";
     *  automatic timestamps too). */
    const char *readonly;
    /** The change page in titled sections: "Product: name, price; Source: supplier_id,
     *  updated_at" (Django's fieldsets); a field in none of them is neither shown nor read. */
    const char *fieldsets;
    /** Rows the app's code writes, not people (a log, a queue's jobs): no add page and no "Add"
     *  link, and the change page shows the row without a form (403 to a POST), whatever the
     *  user's permissions. Delete and the actions (cadre_admin_action) stay, each under its
     *  permission (an action's default: the model's change permission). */
    bool view_only;
} cadre_admin_model_opts;

/**
 * Registers model with the admin, at /admin/MODULE/MODEL/: MODULE is the module whose models
 * (cadre_models, called before) hold it, else the app's own (a table no module migrates; only
 * superusers may see it, having no permissions of its own). Everything is copied. Returns 0, or CADRE_EINVAL / CADRE_EEXIST /
 * CADRE_ESTATE (no cadre_admin) after recording a configuration error that names the problem (an
 * unknown field in list, search or ordering, a model registered twice or not a CADRE_MODEL).
 */
int cadre__admin_register(cadre_app *app, const cadre_schema *model,
                          const cadre_admin_model_opts *opts, const char *file, int line);
#define cadre_admin_register(app, model, ...)                                                      \
    cadre__admin_register((app), (model), &(cadre_admin_model_opts){ __VA_ARGS__ }, __FILE__,    \
                          __LINE__)

/**
 * An action on the rows selected in a change list (Django's admin actions): fn gets the ids of the
 * selected rows the user may see (n of them, at most 1000) and returns 0 or an error; the browser
 * then goes back to the list. Every registered model has "delete_selected" (Delete selected
 * rows, with the delete page's confirmation, the delete permission for each model it cascades
 * into). */
typedef int (*cadre_admin_action_fn)(cadre_request *r, const cadre_schema *model,
                                     const int64_t *ids, size_t n, void *ctx);
typedef struct cadre_admin_action_opts {
    const char *label;      /**< what the menu says ("Mark as shipped"); NULL: the name */
    const char *permission; /**< the permission it needs ("shop.ship_order"); NULL: the model's
                                 change permission */
    void *ctx;
} cadre_admin_action_opts;

/** Adds action name (letters, digits and _) to model's change list (registered before). Returns
 *  0, or CADRE_EINVAL / CADRE_EEXIST / CADRE_ENOMEM after recording a configuration error. */
int cadre__admin_action(cadre_app *app, const cadre_schema *model, const char *name,
                        cadre_admin_action_fn fn, const cadre_admin_action_opts *opts,
                        const char *file, int line);
#define cadre_admin_action(app, model, name, fn, ...)                                              \
    cadre__admin_action((app), (model), (name), (fn), &(cadre_admin_action_opts){ __VA_ARGS__ },  \
                        __FILE__, __LINE__)

/** What the list says once an action is done, instead of "LABEL: done for N rows."
 *  ("Retried 2 jobs; 1 was not failed or cancelled"): printf's format, shown as text. Only in an
 *  action's fn; the last call wins. */
void cadre_admin_message(cadre_request *r, const char *fmt, ...) CADRE_PRINTF(2, 3);

/**
 * A column of the change list (and its CSV export) computed by the app: fn gets the rows shown
 * (rows->items: structs of the model, rows->len of them: a page, or a batch of the export) and
 * sets out[i] to row i's text (in r's arena, or static; NULL shows "-"). It sees the whole page
 * at once, so what it needs from the database is one query per page, never one per row:
 *
 *     static int in_stock(cadre_request *r, const cadre_rows *rows, const char **out, void *ctx) {
 *         // SUM(quantity) of the page's products' movements, GROUP BY product_id: one query
 *         ...
 *     }
 *     cadre_admin_column(app, CADRE_SCHEMA_OF(product), "In stock", in_stock);
 *
 * Columns follow the .list ones, in the order they are added; they are not sortable. The change
 * page shows them too, read-only, after its fields (fn given that one row). fn returns
 * 0 or a negative CADRE_E* (the page fails as a query would). Returns 0, or CADRE_EINVAL /
 * CADRE_ENOMEM after recording a configuration error (the model not registered, no label or
 * function, more than 8).
 */
typedef int (*cadre_admin_column_fn)(cadre_request *r, const cadre_rows *rows, const char **out,
                                     void *ctx);
typedef struct cadre_admin_column_opts {
    void *ctx;
} cadre_admin_column_opts;
int cadre__admin_column(cadre_app *app, const cadre_schema *model, const char *label,
                        cadre_admin_column_fn fn, const cadre_admin_column_opts *opts,
                        const char *file, int line);
#define cadre_admin_column(app, model, label, fn, ...)                                            \
    cadre__admin_column((app), (model), (label), (fn), &(cadre_admin_column_opts){ __VA_ARGS__ },  \
                        __FILE__, __LINE__)

#ifdef __cplusplus
}
#endif

#endif
