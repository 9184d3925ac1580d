/**
 * cadre/orm.h — models: a schema (cadre/schema.h) plus table metadata, so that one declaration
 * gives the C struct, the JSON contract and the table.
 *
 *     #define SUPPLIER_FIELDS(F)                                          \
 *         F(int64,  id,   CADRE_PRIMARY_KEY)                              \
 *         F(string, name, CADRE_MAX_LEN(200), CADRE_UNIQUE)
 *     CADRE_MODEL(supplier, SUPPLIER_FIELDS)      // table "supplier"
 *
 *     #define PRODUCT_FIELDS(F)                                           \
 *         F(int64,  id,          CADRE_PRIMARY_KEY)                       \
 *         F(string, name,        CADRE_MAX_LEN(200), CADRE_INDEX)         \
 *         F(double, price,       CADRE_GE(0))                             \
 *         F(int64,  supplier_id, CADRE_FOREIGN_KEY(supplier, CADRE_ON_DELETE_PROTECT))
 *     CADRE_MODEL(product, PRODUCT_FIELDS)
 *
 * Queries: a builder that validates every field name against the model (so no text from a request
 * can reach the SQL) and binds every value:
 *
 *     cadre_query q;
 *     cadre_q_init(&q, db, CADRE_SCHEMA_OF(product), r->arena);
 *     cadre_q_filter(&q, "price__lt", CADRE_PDOUBLE(10.0));
 *     cadre_q_exclude(&q, "name__icontains", CADRE_PTEXT("used"));
 *     cadre_q_order_by(&q, "-price");
 *     cadre_q_limit(&q, 50);
 *     int rc = cadre_q_fetch(&q, &rows);
 *
 * The automatic CRUD API is below; migrations are in cadre/migrate.h.
 */
#ifndef CADRE_ORM_H
#define CADRE_ORM_H

#include "base.h"
#include "app.h"
#include "db.h"
#include "schema.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A model is a schema whose name is its table's. Its string fields refuse text holding a NUL byte
 * when decoded (JSON bodies, forms, query values): PostgreSQL cannot store one in text, and C
 * code reading the value as a string would see it cut short.
 *
 * CADRE_MODEL(product, PRODUCT_FIELDS) also declares the model's functions, typed for it, so that
 * the compiler checks what goes in (a supplier where a product is wanted is an incompatible
 * pointer: a warning by default, an error with -Werror or GCC 14):
 *
 *     int product_insert(cadre_db *db, cadre_arena *a, product *row);
 *     int product_insert_many(cadre_db *db, cadre_arena *a, product *rows, size_t n);
 *     int product_get(cadre_db *db, cadre_arena *a, int64_t id, product *row, bool *found);
 *     int product_update(cadre_db *db, cadre_arena *a, const product *row, int64_t *changes);
 *     int product_patch(cadre_db *db, cadre_arena *a, const product *row, int64_t *changes);
 *     int product_delete(cadre_db *db, int64_t id, int64_t *changes);
 *     void product_query(cadre_query *q, cadre_db *db, cadre_arena *a);
 *     int product_conflicts(cadre_db *db, cadre_arena *a, const product *row, int64_t id,
 *                           cadre_verrors *errs);
 *
 * They are the cadre_model_* and cadre_q_init calls below with the model's schema (update
 * writes every field, patch only the present ones; conflicts is cadre_model_conflicts after an
 * insert or a full update). Their names are the model's and a suffix: a function of yours with
 * such a name collides.
 */
#define CADRE__MODEL_FN CADRE_MAYBE_UNUSED static inline
#define CADRE_MODEL(NAME, FIELDS) CADRE__MODEL_AS(NAME, #NAME, FIELDS)
/* As CADRE_MODEL, for the table TABLE (a model that extends another module's: CADRE_USER_MODEL). */
#define CADRE__MODEL_AS(NAME, TABLE, FIELDS)                                                       \
    CADRE__SCHEMA_AS(NAME, TABLE, FIELDS, false, true)                                             \
    CADRE__MODEL_FN int NAME##_insert(cadre_db *db_, cadre_arena *a_, NAME *row_)                  \
    {                                                                                              \
        return cadre_model_insert(db_, a_, NAME##__schema(), row_);                                \
    }                                                                                              \
    CADRE__MODEL_FN int NAME##_insert_many(cadre_db *db_, cadre_arena *a_, NAME *rows_, size_t n_) \
    {                                                                                              \
        return cadre_model_insert_many(db_, a_, NAME##__schema(), rows_, n_);                      \
    }                                                                                              \
    CADRE__MODEL_FN int NAME##_get(cadre_db *db_, cadre_arena *a_, int64_t id_, NAME *row_,        \
                                   bool *found_)                                                   \
    {                                                                                              \
        return cadre_model_get(db_, a_, NAME##__schema(), id_, row_, found_);                      \
    }                                                                                              \
    CADRE__MODEL_FN int NAME##_update(cadre_db *db_, cadre_arena *a_, const NAME *row_,            \
                                      int64_t *changes_)                                           \
    {                                                                                              \
        return cadre_model_update(db_, a_, NAME##__schema(), row_, false, changes_);               \
    }                                                                                              \
    CADRE__MODEL_FN int NAME##_patch(cadre_db *db_, cadre_arena *a_, const NAME *row_,             \
                                     int64_t *changes_)                                            \
    {                                                                                              \
        return cadre_model_update(db_, a_, NAME##__schema(), row_, true, changes_);                \
    }                                                                                              \
    CADRE__MODEL_FN int NAME##_delete(cadre_db *db_, int64_t id_, int64_t *changes_)               \
    {                                                                                              \
        return cadre_model_delete(db_, NAME##__schema(), id_, changes_);                           \
    }                                                                                              \
    CADRE__MODEL_FN void NAME##_query(struct cadre_query *q_, cadre_db *db_, cadre_arena *a_)      \
    {                                                                                              \
        cadre_q_init(q_, db_, NAME##__schema(), a_);                                               \
    }                                                                                              \
    CADRE__MODEL_FN int NAME##_conflicts(cadre_db *db_, cadre_arena *a_, const NAME *row_,         \
                                         int64_t id_, cadre_verrors *errs_)                        \
    {                                                                                              \
        return cadre_model_conflicts(db_, a_, NAME##__schema(), row_, id_, false, errs_);          \
    }

/** Whether field f is stored in a column (arrays, objects and files are not). */
bool cadre_model_field_is_column(const cadre_field *f);

/** The primary key field of a model (the first CADRE_PRIMARY_KEY field), or NULL. */
const cadre_field *cadre_model_pk(const cadre_schema *model);

/**
 * Appends the statements that create model's table and its indexes to out, for engine "sqlite"
 * or "postgresql", separated by ';': column types from the field types (an int64 primary key
 * auto-increments), NOT NULL unless optional or nullable, DEFAULT from the field's default,
 * UNIQUE, REFERENCES with ON DELETE CASCADE / RESTRICT / SET NULL, one index per CADRE_INDEX.
 * Returns 0, CADRE_EINVAL (a field with no column form: arrays and objects; an unknown engine;
 * SET NULL on a field that is not nullable) with the reason logged, or a buffer error.
 */
int cadre_model_create_sql(const cadre_schema *model, const char *engine, cadre_buf *out);

/* ---------------------------------------------------------------------------------------------
 * Rows by primary key (the model's first CADRE_PRIMARY_KEY field, an int64)
 * ------------------------------------------------------------------------------------------- */

/**
 * Inserts *obj (a struct of the model) and stores the new primary key into it. Every field but
 * the primary key is written, except optional fields that are not present (cadre_set_), which get
 * the column's default; a nullable field whose null bit is set is written as NULL. Automatic
 * timestamps (CADRE_AUTO_NOW_ADD, CADRE_AUTO_NOW) get the current UTC time, also stored into *obj.
 * Datetimes are stored as their instant in UTC with six fractional digits
 * ("2026-12-04T16:08:26.000000Z", whatever offset they came with; a naive one is taken as UTC),
 * so that on SQLite, which compares them as text, text order is time order (docs/database.md).
 * Text values (strings, enums, dates, UUIDs) are copied into arena. Returns 0 or cadre_db_exec's
 * errors (CADRE_EEXIST: a UNIQUE violation; CADRE_ESTATE: a foreign key or NOT NULL one), or
 * CADRE_EINVAL (logged) for a model without an int64 key or with a timestamp that is not a
 * datetime.
 */
int cadre_model_insert(cadre_db *db, cadre_arena *arena, const cadre_schema *model, void *obj);

/**
 * Inserts objs[0..n) (an array of n structs of the model) in one transaction of its own: all of
 * them, or on any error none (the error as cadre_model_insert's). On success each struct gets its
 * new primary key and its automatic timestamps (one time for all rows), as cadre_model_insert
 * does; on failure the structs are left as they were. Fields are written as by
 * cadre_model_insert. The keys are decided before the rows are sent (the order of a multi-row
 * INSERT's RETURNING rows is not promised): PostgreSQL takes them from the key column's sequence
 * in one query; SQLite, holding the write lock, gives the keys it would have given row by row
 * (AUTOINCREMENT respected). The rows then go in multi-row INSERTs of at most 256 rows, under both
 * engines' bound-parameter limits. Where keys cannot be decided beforehand (no sequence owned by
 * the key column; keys at the top of int64) the rows go one by one, in the same transaction. Not
 * for use inside a transaction of the caller's (cadre_db_begin) on the same database. Working
 * memory (SQL, a few words per row) comes from arena. n = 0 does nothing.
 */
int cadre_model_insert_many(cadre_db *db, cadre_arena *arena, const cadre_schema *model, void *objs,
                            size_t n);

/** Reads the row whose primary key is id into *obj; *found says whether there is one. */
int cadre_model_get(cadre_db *db, cadre_arena *arena, const cadre_schema *model, int64_t id,
                    void *obj, bool *found /* OUT */);

/**
 * Updates the row of obj's primary key: every field, or with partial only the fields present in
 * obj (PATCH). CADRE_AUTO_NOW fields are set to the current UTC time either way (not stored back
 * into obj: read the row to see it); CADRE_AUTO_NOW_ADD fields are never written. *changes
 * (optional) is 0 when no such row exists.
 */
int cadre_model_update(cadre_db *db, cadre_arena *arena, const cadre_schema *model, const void *obj,
                       bool partial, int64_t *changes /* OUT, may be NULL */);

/**
 * Why the database refused row (an insert or update answered CADRE_EEXIST or CADRE_ESTATE), per
 * field, in the same words on every engine: a "unique" error at ["body", field] for each unique
 * field whose value another row holds (id: row's own key, -1 for a new row), a "foreign_key"
 * error for each foreign key naming no row; each with the value as its input. The fields looked
 * at are those the write wrote: with partial (a PATCH's update) the present ones only. The CRUD
 * API answers them with 409 (unique) or 422; a form shows them beside its fields. Returns how
 * many errors were added (0: the refusal was something else, or another request changed the
 * rows since), or a negative CADRE_E* when the database could not be asked.
 */
int cadre_model_conflicts(cadre_db *db, cadre_arena *arena, const cadre_schema *model,
                          const void *row, int64_t id, bool partial, cadre_verrors *errs);

/** Deletes the row whose primary key is id; *changes (optional) is 0 when there was none. */
int cadre_model_delete(cadre_db *db, const cadre_schema *model, int64_t id,
                       int64_t *changes /* OUT, may be NULL */);

/* ---------------------------------------------------------------------------------------------
 * Change hooks: code run after a row of a model is written (Django's post_save, post_delete)
 * ------------------------------------------------------------------------------------------- */

enum { CADRE_MODEL_INSERTED = 1, CADRE_MODEL_UPDATED, CADRE_MODEL_DELETED };

typedef struct cadre_model_change {
    const cadre_schema *model;
    int op;         /**< CADRE_MODEL_INSERTED, _UPDATED or _DELETED */
    int64_t id;     /**< the row's primary key */
    /** The row: as inserted (its key and automatic times set); as given to the update (a
     *  partial one: only the fields present are meaningful, cadre_is_set); as it was before it
     *  was deleted. Valid during the call. */
    const void *row;
    cadre_arena *arena; /**< memory for the call (the writer's arena, or a scratch one) */
} cadre_model_change;

typedef void (*cadre_model_change_fn)(const cadre_model_change *change, void *ctx);

/**
 * Runs fn after each row of model written by cadre_model_insert, cadre_model_insert_many (per
 * row, after its transaction commits), cadre_model_update and cadre_model_delete (when a row
 * changed) — so after the writes of the CRUD API, the admin, forms and the NAME_insert-style
 * functions. Not after cadre_q_update, cadre_q_delete or SQL of one's own (bulk writes, as
 * Django's QuerySet.update sends no signal), nor after a cascade's deletes. The write is done
 * (committed: these functions take no transaction) when fn runs, on the writer's thread and
 * coroutine (a handler's: cadre_current_request); fn cannot undo it, so what can fail belongs in
 * a task (cadre_enqueue) and what is only said in a log line. A delete reads the row first when
 * the model has hooks (one more query). Hooks are added while the app is set up, before it
 * serves: they run in the order added. Returns 0, CADRE_EINVAL or CADRE_ETOOBIG (64 hooks at
 * most, all models together).
 */
int cadre_model_on_change(const cadre_schema *model, cadre_model_change_fn fn, void *ctx);

/* ---------------------------------------------------------------------------------------------
 * The automatic CRUD API
 * ------------------------------------------------------------------------------------------- */

/**
 * Serves a model's table as a typed JSON API under prefix (e.g. "/api/products"), all of it in
 * OpenAPI:
 *   GET    prefix        list: {"count": total, "results": [...]}; query parameters FIELD or
 *                        FIELD__LOOKUP filter (the lookups of cadre_q_filter), ordering=-price,name,
 *                        limit (default 100, at most 1000), offset; an unknown field is a 422
 *   POST   prefix        create from a JSON body (the primary key is assigned) → 201 and the row
 *   GET    prefix/{id}   retrieve → 200, or 404
 *   PUT    prefix/{id}   replace (every field) → 200 and the row, or 404
 *   PATCH  prefix/{id}   change the fields present → 200 and the row, or 404
 *   DELETE prefix/{id}   → 204, or 404
 * Bodies are validated like any typed route (422); the primary key is read-only. The same answers
 * on every engine (the database's own message is logged, not sent): a UNIQUE violation is a 409
 * naming the field ({"detail":[{"type":"unique","loc":["body","name"],"msg":…,"input":…}]}), a
 * foreign key naming no row a 422 naming it ("type":"foreign_key"), deleting a row still
 * referenced (ON DELETE PROTECT) a 409. With model access hooks (auth's permissions), each
 * operation asks them first: "view" for list and read (a list holds only the rows the filter
 * lets through; another row is a 404), "add" with the new row, "change" and "delete" with the
 * row as it is. The model needs an int64
 * CADRE_PRIMARY_KEY. db must outlive the app. Returns 0 or a negative CADRE_E* (recorded as a
 * route error: the app then refuses to start).
 */
int cadre__crud(cadre_app *app, const char *prefix, const cadre_schema *model, cadre_db *db,
                const char *file, int line);
#define cadre_crud(app, prefix, model, db)                                                         \
    cadre__crud((app), (prefix), (model), (db), __FILE__, __LINE__)

/* ---------------------------------------------------------------------------------------------
 * Model access: one place that the CRUD API, the admin and an app's own handlers ask whether a
 * request may view, add, change or delete a model's rows, and which rows it may see. auth
 * installs it (cadre/auth.h: permissions, groups, object hooks); without it, all is allowed.
 * ------------------------------------------------------------------------------------------- */

struct cadre_query;

typedef struct cadre_model_access {
    /** 0 when r may do action ("view", "add", "change" or "delete") to model's rows — to obj, a
     *  row of model, when not NULL (for "add": the row about to be made); else answers r (401
     *  or 403) and returns that status, or returns a negative CADRE_E*. */
    int (*check)(cadre_request *r, const cadre_schema *model, const char *action, const void *obj,
                 void *ctx);
    /** Narrows q, a query on model, to the rows r may view. 0 or a negative CADRE_E*. May be
     *  NULL: every row. */
    int (*filter)(cadre_request *r, const cadre_schema *model, struct cadre_query *q, void *ctx);
    void *ctx;
    /** As check, without answering r: whether r may (false on an error, logged). For what a page
     *  merely shows (a form's choices of related rows). May be NULL: never (nothing shown). */
    bool (*allows)(cadre_request *r, const cadre_schema *model, const char *action,
                   const void *obj, void *ctx);
} cadre_model_access;

/** Installs the hooks (copied; once per app). Returns 0, CADRE_EINVAL (no check) or
 *  CADRE_EEXIST. */
int cadre_app_model_access(cadre_app *app, const cadre_model_access *hooks);

/** Asks the app's hooks (0 when it has none): as cadre_model_access.check. */
int cadre_model_check(cadre_request *r, const cadre_schema *model, const char *action,
                      const void *obj);

/** Whether r may do action to model's rows (obj: as check), without answering r: true when the
 *  app has no hooks. */
bool cadre_model_allows(cadre_request *r, const cadre_schema *model, const char *action,
                        const void *obj);

/** Asks the app's hooks to narrow q (nothing when it has none): as cadre_model_access.filter. */
int cadre_model_filter(cadre_request *r, const cadre_schema *model, struct cadre_query *q);

/* ---------------------------------------------------------------------------------------------
 * Query builder
 * ------------------------------------------------------------------------------------------- */

/** How many cadre_q_select_related one query takes. */
#define CADRE_Q_MAX_RELATED 4

/** Foreign keys a lookup may cross (author__publisher__name: 2). */
#define CADRE_Q_MAX_HOPS 4

/**
 * Resolves a field path of model m, path[0..len): "price", or across foreign keys
 * "author__name" (a step is the foreign key's field, author_id, or its name without _id, as
 * Django names the relation). Returns the final field (of the last related model) with the
 * foreign keys crossed in hops[0..*nhops) (at most CADRE_Q_MAX_HOPS) and in *used how much of
 * path named them (what follows, "__icontains", is the lookup); NULL when the path names no
 * field. The query builder and the CRUD API resolve filters and orderings with it.
 */
const cadre_field *cadre_model_path(const cadre_schema *m, const char *path, size_t len,
                                    const cadre_field **hops, size_t *nhops, size_t *used);

/** A query under construction. Its memory comes from the arena given to cadre_q_init. */
typedef struct cadre_query {
    /* private */
    cadre_db *db;
    const cadre_schema *model;
    cadre_arena *arena;
    cadre_buf where, order;
    CADRE_VEC(cadre_value) params;
    int64_t limit, offset;
    int error;            /* first misuse (unknown field or lookup): reported by the run */
    bool in_or, or_empty; /* inside cadre_q_or_begin … end, nothing in the group yet */
    bool pg;
    struct {
        const cadre_field *fk;      /* the model's foreign key */
        const cadre_schema *target; /* the model it references */
        cadre_rows *out;
    } related[CADRE_Q_MAX_RELATED]; /* cadre_q_select_related */
    size_t nrelated;
    struct {
        const cadre_schema *model;  /* the related model */
        const cadre_field *fk;      /* its foreign key to this query's model */
        cadre_rows *out;
    } prefetch[CADRE_Q_MAX_RELATED]; /* cadre_q_prefetch */
    size_t nprefetch;
    cadre_value *set_values; /* cadre_q_set, by field index (arena, on first use) */
    uint64_t set_mask;       /* which fields are set */
} cadre_query;

/** Starts a query over model's table on db. */
void cadre_q_init(cadre_query *q, cadre_db *db, const cadre_schema *model, cadre_arena *arena);

/**
 * Adds a condition "FIELD__LOOKUP" (ANDed with the others, or ORed inside an or-group): lookups
 * exact (the default: "price"), ne, lt, lte, gt, gte, contains, icontains, startswith, and isnull
 * (the value is CADRE_PINT(1) for IS NULL, CADRE_PINT(0) for IS NOT NULL). contains/startswith
 * are case-sensitive on both engines; icontains ignores ASCII case. An unknown field or lookup
 * makes the query fail with CADRE_EINVAL when it runs (logged, naming it). For exact, ne, lt,
 * lte, gt and gte, text values of a date, datetime or UUID field are rewritten in the stored form
 * first (a datetime converted to UTC, with six fractional digits), so that they compare as values
 * on SQLite too; text that does not parse is compared as it is. Text values are not copied: they
 * must live until the query runs (as lookup must).
 */
void cadre_q_filter(cadre_query *q, const char *lookup, cadre_value v);

/** As cadre_q_filter, negated: NOT (condition). */
void cadre_q_exclude(cadre_query *q, const char *lookup, cadre_value v);

/** FIELD IN (values…), each value rewritten as cadre_q_filter's exact; an empty list matches
 *  nothing. */
void cadre_q_filter_in(cadre_query *q, const char *field, const cadre_value *values, size_t n);

/** The conditions between begin and end form one group, ORed together (no nesting). */
void cadre_q_or_begin(cadre_query *q);
void cadre_q_or_end(cadre_query *q);

/** Orders by a field, "-field" for descending; call again for further keys. */
void cadre_q_order_by(cadre_query *q, const char *field);

/** LIMIT / OFFSET (negative: none). */
void cadre_q_limit(cadre_query *q, int64_t n);
void cadre_q_offset(cadre_query *q, int64_t n);

/**
 * Follows the foreign key fk_field (Django's select_related): the row queries (cadre_q_fetch,
 * cadre_q_first, cadre_q_get) then run as one SELECT with a LEFT JOIN on the referenced model's
 * table and also fill *related: related->items is an array of structs of the referenced model
 * (in the query's arena), parallel to the rows (related->len is the number of rows). A row whose
 * key is NULL (or names no row) gets a zeroed struct: its cadre_set_ is 0. *related is emptied
 * now and owned by the caller; it must stay valid until the run. Up to CADRE_Q_MAX_RELATED per
 * query, with at most 64 fields in all (the model's and the referenced ones). A field that is not
 * a foreign key (or one too many) makes the query fail with CADRE_EINVAL when it runs (logged,
 * naming it). cadre_q_count, cadre_q_exists, cadre_q_delete and cadre_q_update ignore it.
 */
void cadre_q_select_related(cadre_query *q, const char *fk_field, cadre_rows *related /* OUT */);

/**
 * Django's prefetch_related, for a reverse relation: once the rows are fetched (cadre_q_fetch),
 * the rows of model `related` whose foreign key fk_field names one of them come in one more query
 * (`... WHERE fk_field IN (the rows' keys) ORDER BY fk_field, key`), all in *out, grouped per
 * row: cadre_related_set(&rows, i, "comment") gives row i's, and templates reach them as
 * p.comment_set (Django's default name). No N+1: two queries however many rows. Up to
 * CADRE_Q_MAX_RELATED per query; the model needs an int64 primary key.
 */
void cadre_q_prefetch(cadre_query *q, const cadre_schema *related, const char *fk_field,
                      cadre_rows *out /* OUT */);

/** Row i's rows of cadre_q_prefetch's related model named related_model (its schema name), as
 *  a view into the prefetched rows; empty when it has none or nothing was prefetched. */
cadre_rows cadre_related_set(const cadre_rows *rows, size_t i, const char *related_model);

/**
 * The row that rows->items[i] refers to through foreign key fk_field, from the query's
 * select_related on that field: `const supplier *s = cadre_related(&rows, i, "supplier_id");`.
 * NULL when the key is null, or the query did not select_related that field. Templates reach
 * it as p.supplier (CADRE_TROWS).
 */
const void *cadre_related(const cadre_rows *rows, size_t i, const char *fk_field);

/** Runs the query: every matching row as a struct of the model (in the query's arena). */
int cadre_q_fetch(cadre_query *q, cadre_rows *out /* OUT */);

/**
 * The first matching row (respecting the order, the offset and a limit of 0), *found saying
 * whether there was one. Each select_related gets one struct (or none when nothing was found).
 */
int cadre_q_first(cadre_query *q, void *row, bool *found /* OUT */);

/**
 * The one matching row (Django's get): 0 with the row in *row (a struct of the model, its strings
 * in the query's arena; each select_related gets one struct), CADRE_ENOTFOUND when no row matches,
 * CADRE_EEXIST when more than one does (MultipleObjectsReturned); *row is then zeroed. At most
 * two rows are read. Limit and offset apply; misuse is CADRE_EINVAL, database errors as
 * cadre_q_fetch.
 */
int cadre_q_get(cadre_query *q, void *row /* OUT */);

/** COUNT(*) of the matching rows (limit and offset are ignored). */
int cadre_q_count(cadre_query *q, int64_t *n /* OUT */);

/**
 * As cadre_q_count, except on a table too big to count cheaply: when the query has no condition
 * and the database's own estimate of the table's rows is above `above` (PostgreSQL's
 * pg_class.reltuples, kept by autovacuum and ANALYZE), *n is that estimate and *estimated true,
 * instead of a COUNT(*) that reads the whole table (seconds at millions of rows: Django admin's
 * ticket #8408). SQLite keeps no estimate: it always counts (*estimated false).
 */
int cadre_q_count_estimate(cadre_query *q, int64_t above, int64_t *n /* OUT */,
                           bool *estimated /* OUT */);

/** An aggregate function (Django's Count, Sum, Avg, Min, Max). */
typedef enum cadre_agg {
    CADRE_AGG_COUNT, /**< rows whose field is not null */
    CADRE_AGG_SUM,
    CADRE_AGG_AVG,
    CADRE_AGG_MIN,
    CADRE_AGG_MAX,
} cadre_agg;

/**
 * fn over number field (int32, int64, double) of the matching rows (limit and offset are
 * ignored): cadre_q_aggregate(&q, CADRE_AGG_SUM, "price", &total, &some). *has_value is false
 * when there is no value (SUM, AVG, MIN, MAX of no row, or of nulls only: SQL's NULL; *out is
 * then 0). Any field for COUNT. The same answer on both engines (computed as a double).
 */
int cadre_q_aggregate(cadre_query *q, cadre_agg fn, const char *field, double *out /* OUT */,
                      bool *has_value /* OUT, may be NULL */);

/** A group of cadre_q_group: the by field's value (read the member of its type), the
 *  aggregate (value_null when SQL gave NULL) and how many rows. */
typedef struct cadre_group_row {
    union {
        bool b;
        int32_t i32;
        int64_t i64;
        double d;
        cadre_slice s; /**< string and enum fields (an enum's value as text) */
        cadre_date date;
        cadre_datetime datetime;
        cadre_uuid uuid;
    } key;
    double value;
    int64_t count;
    uint64_t cadre_set_, cadre_null_; /* key null: bit 0; value null: bit 1 */
} cadre_group_row;

/** Whether a cadre_group_row's key, or value, is null. */
#define CADRE_GROUP_KEY_NULL(g) (((g)->cadre_null_ & 1) != 0)
#define CADRE_GROUP_VALUE_NULL(g) (((g)->cadre_null_ & 2) != 0)

/**
 * Django's values(by).annotate(fn(field)): the matching rows grouped by field `by` (one group
 * per value, ordered by it), with fn of number field `field` (any field for COUNT) and the count
 * of each group, in *out as cadre_group_row items (arena memory). One query.
 */
int cadre_q_group(cadre_query *q, const char *by, cadre_agg fn, const char *field,
                  cadre_rows *out /* OUT */);

/** Whether any row matches. */
int cadre_q_exists(cadre_query *q, bool *yes /* OUT */);

/** Deletes the matching rows; *changes (optional) gets how many. CADRE_EINVAL (logged) when a
 *  limit or offset was set: a DELETE takes none, and deleting every match instead would be a
 *  surprise. */
int cadre_q_delete(cadre_query *q, int64_t *changes /* OUT, may be NULL */);

/**
 * Sets field to v in cadre_q_update (setting a field again replaces the value). v must suit the
 * field's type: CADRE_PINT for bool / int32 / int64, CADRE_PINT or CADRE_PDOUBLE for double, text
 * for strings, for one of an enum's values and for dates, datetimes and UUIDs (in the forms JSON
 * input takes; stored normalised, as cadre_model_insert does), CADRE_PNULL for a nullable or
 * optional field. The field's validation constraints (lengths, bounds) are not checked, as
 * Django's update() does not run validators. Text is not copied: it must live until the run. An
 * unknown field, the primary key, a field with no column (arrays, objects) or a value that does
 * not fit makes the update fail with CADRE_EINVAL (logged, naming the field).
 */
void cadre_q_set(cadre_query *q, const char *field, cadre_value v);

/**
 * UPDATE of the matching rows: SET each cadre_q_set field, WHERE the conditions (none: every
 * row). *changes (optional) gets how many rows matched. CADRE_EINVAL (logged) when nothing was
 * set, when a limit or offset was set (an UPDATE takes none) or on misuse; database errors as
 * cadre_db_exec (CADRE_EEXIST: a UNIQUE violation, CADRE_ESTATE: a foreign key or NOT NULL one).
 */
int cadre_q_update(cadre_query *q, int64_t *changes /* OUT, may be NULL */);

#ifdef __cplusplus
}
#endif
#endif
