/* Private declarations of the orm module. Never installed. */
#ifndef CADRE_ORM_INTERNAL_H
#define CADRE_ORM_INTERNAL_H

#include <cadre/orm.h>

/* A column as the database sees it: what a model field becomes and what a migration file records.
 * Validation-only constraints (lengths, bounds, patterns) are not part of it: they change no
 * table. */
enum cadre__coltype {
    CADRE__COL_BOOL,
    CADRE__COL_INT32,
    CADRE__COL_INT64,
    CADRE__COL_DOUBLE,
    CADRE__COL_TEXT, /* strings and enums */
    CADRE__COL_DATE,
    CADRE__COL_DATETIME,
    CADRE__COL_UUID,
};

typedef struct cadre__column {
    const char *name;
    int type; /* enum cadre__coltype */
    bool pk, null, unique, index;
    const char *def;        /* the default in engine-neutral text ("0.5", "true", "abc"), or NULL */
    bool def_now;           /* the default is the current time (automatic timestamps) */
    const char *ref_table;  /* foreign key target, or NULL */
    const char *ref_column;
    int on_delete; /* CADRE_ON_DELETE_* */
    const char *module; /* in a migration state: the module that added it to another module's
                           table (an extension: CADRE_USER_MODEL), or NULL: the table's own */
} cadre__column;

/* An index over several columns, named: declared by a migration (add_index), not by a model. */
typedef struct cadre__index {
    const char *name;
    const char **cols;
    size_t ncols;
} cadre__index;

typedef struct cadre__table {
    const char *name;
    cadre__column *cols;
    size_t ncols;
    cadre__index *indexes; /* a migration state's multi-column indexes (a model's table: none) */
    size_t nindexes;
    const char *module; /* in a migration state: the label of the module whose migration created
                           it (NULL for a model's table) */
} cadre__table;

/* A list of SQL statements (arena memory). */
typedef struct cadre__stmts {
    cadre_arena *arena;
    char **items;
    size_t len, cap;
} cadre__stmts;

/* Appends a copy of sql[0..len). Returns 0 (the arena aborts when memory runs out); an int so that
 * it chains with the other builders. */
int cadre__stmts_add(cadre__stmts *s, const char *sql, size_t len);

/* The table a model declares (names and text point into the model or arena). Returns 0, or
 * CADRE_EINVAL with the reason logged (a field with no column form, SET NULL on a field that
 * cannot be null, a foreign key to a model without a primary key). */
int cadre__model_table(const cadre_schema *m, cadre_arena *arena, cadre__table *out);


/* Whether the column gets its own (non-unique) index: CADRE_INDEX and foreign keys. */
bool cadre__column_indexed(const cadre__column *c);

/* The column's SQL type on the engine (an int64 primary key: the auto-incrementing one). */
const char *cadre__column_type(const cadre__column *c, bool pg);

/* Appends "name TYPE [PRIMARY KEY | NOT NULL] [UNIQUE] [DEFAULT …] [REFERENCES …]". */
int cadre__column_sql(const cadre__column *c, bool pg, cadre_buf *out);

/* CREATE TABLE as_name (… t's columns …) — as_name is t->name but for SQLite's table rebuilds. */
int cadre__create_table_sql(const cadre__table *t, const char *as_name, bool pg, cadre__stmts *out);

/* CREATE INDEX for each indexed column of t, and each of its multi-column indexes. */
int cadre__create_indexes_sql(const cadre__table *t, cadre__stmts *out);
/* CREATE INDEX of a multi-column index of table. */
int cadre__index_sql(const char *table, const cadre__index *ix, cadre__stmts *out);

/* The SQL literal of column c's default, appended to out. */
int cadre__default_sql(const cadre__column *c, bool pg, cadre_buf *out);

/* The bound value of field f of obj (text copied into arena where it must be normalised). */
cadre_value cadre__model_value(const cadre_schema *m, const cadre_field *f, const void *obj,
                               cadre_arena *arena);

/* "sqlite" → false, "postgresql" → true; anything else: CADRE_EINVAL (logged). */
int cadre__engine_pg(const char *engine, bool *pg);

/* Checks one migration's JSON text as migrate would (decoding, each operation applied to an empty
 * schema) and appends its SQL for SQLite then PostgreSQL to sql (may be NULL): the fuzz target's
 * entry. Returns 0 or the first error. */
int cadre__migration_check(const char *data, size_t len, cadre_buf *sql);

/* Whether the app has model access hooks (cadre_app_model_access). */
bool cadre__model_access_on(cadre_app *app);

#endif
