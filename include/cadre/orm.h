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
 * Migrations and the CRUD API build on this (issue #4, in progress).
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

/** A model is a schema whose name is its table's. */
#define CADRE_MODEL(NAME, FIELDS) CADRE_SCHEMA(NAME, FIELDS)

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
 * the column's default; a nullable field whose null bit is set is written as NULL. Text values
 * (strings, enums, dates, UUIDs) are copied into arena. Returns 0 or cadre_db_exec's errors
 * (CADRE_EEXIST: a UNIQUE violation; CADRE_ESTATE: a foreign key or NOT NULL one).
 */
int cadre_model_insert(cadre_db *db, cadre_arena *arena, const cadre_schema *model, void *obj);

/** Reads the row whose primary key is id into *obj; *found says whether there is one. */
int cadre_model_get(cadre_db *db, cadre_arena *arena, const cadre_schema *model, int64_t id,
                    void *obj, bool *found /* OUT */);

/**
 * Updates the row of obj's primary key: every field, or with partial only the fields present in
 * obj (PATCH). *changes (optional) is 0 when no such row exists.
 */
int cadre_model_update(cadre_db *db, cadre_arena *arena, const cadre_schema *model, const void *obj,
                       bool partial, int64_t *changes /* OUT, may be NULL */);

/** Deletes the row whose primary key is id; *changes (optional) is 0 when there was none. */
int cadre_model_delete(cadre_db *db, const cadre_schema *model, int64_t id,
                       int64_t *changes /* OUT, may be NULL */);

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
 * Bodies are validated like any typed route (422); the primary key is read-only. A UNIQUE
 * violation answers 409, a foreign key naming no row 422, deleting a row still referenced (ON
 * DELETE PROTECT) 409, each with the database's message. The model needs an int64
 * CADRE_PRIMARY_KEY. db must outlive the app. Returns 0 or a negative CADRE_E* (recorded as a
 * route error: the app then refuses to start).
 */
int cadre__crud(cadre_app *app, const char *prefix, const cadre_schema *model, cadre_db *db,
                const char *file, int line);
#define cadre_crud(app, prefix, model, db)                                                         \
    cadre__crud((app), (prefix), (model), (db), __FILE__, __LINE__)

/* ---------------------------------------------------------------------------------------------
 * Query builder
 * ------------------------------------------------------------------------------------------- */

/** A query under construction. Its memory comes from the arena given to cadre_q_init. */
typedef struct cadre_query {
    /* private */
    cadre_db *db;
    const cadre_schema *model;
    cadre_arena *arena;
    cadre_buf where, order;
    cadre_value *params;
    size_t nparams, cap_params;
    int64_t limit, offset;
    int error;            /* first misuse (unknown field or lookup): reported by the run */
    bool in_or, or_empty; /* inside cadre_q_or_begin … end, nothing in the group yet */
    bool pg;
} cadre_query;

/** Starts a query over model's table on db. */
void cadre_q_init(cadre_query *q, cadre_db *db, const cadre_schema *model, cadre_arena *arena);

/**
 * Adds a condition "FIELD__LOOKUP" (ANDed with the others, or ORed inside an or-group): lookups
 * exact (the default: "price"), ne, lt, lte, gt, gte, contains, icontains, startswith, and isnull
 * (the value is CADRE_PINT(1) for IS NULL, CADRE_PINT(0) for IS NOT NULL). contains/startswith
 * are case-sensitive on both engines; icontains ignores ASCII case. An unknown field or lookup
 * makes the query fail with CADRE_EINVAL when it runs (logged, naming it).
 */
void cadre_q_filter(cadre_query *q, const char *lookup, cadre_value v);

/** As cadre_q_filter, negated: NOT (condition). */
void cadre_q_exclude(cadre_query *q, const char *lookup, cadre_value v);

/** FIELD IN (values…); an empty list matches nothing. */
void cadre_q_filter_in(cadre_query *q, const char *field, const cadre_value *values, size_t n);

/** The conditions between begin and end form one group, ORed together (no nesting). */
void cadre_q_or_begin(cadre_query *q);
void cadre_q_or_end(cadre_query *q);

/** Orders by a field, "-field" for descending; call again for further keys. */
void cadre_q_order_by(cadre_query *q, const char *field);

/** LIMIT / OFFSET (negative: none). */
void cadre_q_limit(cadre_query *q, int64_t n);
void cadre_q_offset(cadre_query *q, int64_t n);

/** Runs the query: every matching row as a struct of the model (in the query's arena). */
int cadre_q_fetch(cadre_query *q, cadre_rows *out /* OUT */);

/** The first matching row (respecting the order), *found saying whether there was one. */
int cadre_q_first(cadre_query *q, void *row, bool *found /* OUT */);

/** COUNT(*) of the matching rows (limit and offset are ignored). */
int cadre_q_count(cadre_query *q, int64_t *n /* OUT */);

/** Whether any row matches. */
int cadre_q_exists(cadre_query *q, bool *yes /* OUT */);

/** Deletes the matching rows; *changes (optional) gets how many. */
int cadre_q_delete(cadre_query *q, int64_t *changes /* OUT, may be NULL */);

#ifdef __cplusplus
}
#endif
#endif
