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
 * The query builder, migrations and the CRUD API build on this (issue #4, in progress).
 */
#ifndef CADRE_ORM_H
#define CADRE_ORM_H

#include "base.h"
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

#ifdef __cplusplus
}
#endif
#endif
