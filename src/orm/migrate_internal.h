/*
 * Private declarations shared by the migration files of the orm module. Never installed.
 *
 * Migrations: engine-neutral JSON files of table operations. Replaying them gives the recorded
 * schema (a list of tables of columns, the same cadre__column the models become); makemigrations
 * diffs that with the models; migrate turns each operation into SQL for the engine at hand.
 *
 *   migrate_format.c      the file format: its declaration, reading files, writing one
 *   migrate_state.c       the schema state operations build, each operation checked as it applies
 *   migrate_sql.c         the SQL of an operation, per engine (SQLite table rebuilds, PostgreSQL
 *                         ALTERs)
 *   migrate_autodetect.c  makemigrations: the operations that take the recorded state to the models
 *   migrate_exec.c        migrate, showmigrations, the pending count, sqlmigrate
 *   migrate_commands.c    the app's commands and the start-up warning (cadre_models)
 */
#ifndef CADRE_MIGRATE_INTERNAL_H
#define CADRE_MIGRATE_INTERNAL_H

#include <cadre/migrate.h>

#include "orm_internal.h"

/* ---------------------------------------------------------------------------------------------
 * Operations, migrations and the schema state
 * ------------------------------------------------------------------------------------------- */

#define MIG_OPS(V)                                                                                 \
    V(OP_CREATE_TABLE, "create_table")                                                             \
    V(OP_DROP_TABLE, "drop_table")                                                                 \
    V(OP_RENAME_TABLE, "rename_table")                                                             \
    V(OP_ADD_COLUMN, "add_column")                                                                 \
    V(OP_DROP_COLUMN, "drop_column")                                                               \
    V(OP_ALTER_COLUMN, "alter_column")                                                             \
    V(OP_RENAME_COLUMN, "rename_column")                                                          \
    V(OP_ADD_INDEX, "add_index")                                                                   \
    V(OP_DROP_INDEX, "drop_index")
CADRE_ENUM(mig_op_kind, MIG_OPS)

typedef struct op {
    int kind;            /* mig_op_kind */
    const char *table;   /* every kind but rename_table */
    cadre__table create; /* create_table */
    cadre__column col;   /* add_column, alter_column: the whole new definition */
    const char *name;    /* drop_column; add_index, drop_index: the index */
    cadre__index index;  /* add_index: its name and columns */
    const char *from, *to; /* rename_table, rename_column */
} op;

typedef struct migration {
    char *name; /* "0002_product_sku" */
    char *path;
    char *depends_on; /* NULL for the first */
    op *ops;
    size_t nops;
    const char *module;    /* the label of the module it belongs to */
    char **requires;       /* other modules' migrations it follows: "auth:0001_initial" */
    size_t nrequires;
    bool needed;           /* migrate: to be applied in this run */
} migration;

typedef struct state {
    cadre_arena *arena;
    cadre__table *tables;
    size_t len, cap;
    const char *module; /* the module whose operations are being applied: owns what they create */
} state;

/* One module's migrations: where they come from, the models they follow, and once loaded the
 * migrations themselves (in their line's order). */
typedef struct mig_module {
    const char *label;
    const char *dir;                     /* or NULL when built in: */
    const cadre_migration_source *src;   /* migrations compiled into the program */
    size_t nsrc;
    const cadre_schema *const *models;
    size_t nmodels;
    migration *ms;
    size_t n;
} mig_module;

/* The migrations of every module, each after what it follows (the one before it in its module,
 * and what it requires), modules in the order given otherwise. */
typedef struct mig_plan {
    mig_module *mods;
    size_t nmods;
    migration **order;
    size_t n;
} mig_plan;

/* The operations makemigrations finds, in order (arena memory). */
typedef struct oplist {
    cadre_arena *arena;
    op *items;
    size_t len, cap;
} oplist;

/* ---------------------------------------------------------------------------------------------
 * migrate_state.c
 * ------------------------------------------------------------------------------------------- */

/* The table or column of that name, or NULL. */
cadre__table *cadre__mig_find_table(state *s, const char *name);
cadre__column *cadre__mig_find_col(const cadre__table *t, const char *name);

/* Whether s is a usable table or column name: a letter or _, then letters, digits or _; at most
 * 63 characters. */
bool cadre__mig_ident_ok(const char *s);

/* A table other than table itself with a column referencing table (that column's name in *col),
 * or NULL. */
const cadre__table *cadre__mig_referenced_by(state *s, const char *table, const char **col);

/* Applies o to s. Returns 0, or CADRE_EINVAL with the reason logged (where names the file and the
 * operation) when o cannot apply to s, or CADRE_ENOMEM. */
int cadre__mig_apply_op(state *s, const op *o, const char *where);

/* Applies the operations of ms[0..upto) to s, as cadre__mig_apply_op. */
int cadre__mig_replay(migration *ms, size_t upto, state *s);

/* Whether table t belongs to the module labelled owner. */
bool cadre__mig_owned(const cadre__table *t, const char *owner);

/* The module column c of table t belongs to: the one that added it to another module's table,
 * else the table's. */
const char *cadre__mig_col_owner(const cadre__table *t, const cadre__column *c);

/* Whether two module labels name the same module (NULL: the module of a table made before
 * modules). */
bool cadre__mig_same_module(const char *a, const char *b);

/* *out: a copy of s (in s's arena) that cadre__mig_apply_op on s cannot change. */
int cadre__mig_state_clone(const state *s, state *out);

/* ---------------------------------------------------------------------------------------------
 * migrate_format.c
 * ------------------------------------------------------------------------------------------- */

/* Decodes and checks one migration's JSON text into *m (arena memory). path is for the messages;
 * name, when not NULL, is what the file's "name" must be. Returns 0, or CADRE_EINVAL logged. */
int cadre__mig_parse_text(cadre_arena *a, const char *path, const char *name, const char *data,
                          size_t len, migration *m);

/* Whether n is a migration file name ("0002_product_sku.json"); *stem: its length without
 * ".json". */
bool cadre__mig_migration_file_name(const char *n, size_t *stem);

/* Every migration of dir, in order and checked to form one line, in *out (*n of them; arena
 * memory). A missing dir is no migrations. */
int cadre__mig_load_dir(const char *dir, cadre_arena *a, migration **out, size_t *n);

/* Loads m's migrations (from its dir or its built-in sources) into m->ms, each labelled with
 * the module. */
int cadre__mig_load_module(mig_module *m, cadre_arena *a);

/* Loads every module's migrations and orders them (p->order). Returns 0, or CADRE_EINVAL logged
 * (a migration requires one that does not exist, or requirements form a cycle). */
int cadre__mig_plan(cadre_arena *a, mig_module *mods, size_t nmods, mig_plan *p);

/* Appends the text of the migration file name (depending on depends_on, or NULL, and requiring
 * the nreq migrations of other modules in req, "auth:0001_initial") to b. */
int cadre__mig_render(const char *name, const char *depends_on, const char *const *req,
                      size_t nreq, const oplist *ops, cadre_buf *b);

/* Writes data[0..len) to path through a temporary file and a rename. Returns 0 or CADRE_EIO
 * (logged). */
int cadre__mig_write_atomically(const char *path, const char *data, size_t len);

/* A name for a migration of ops ("initial" for the first), or NULL out of memory. */
const char *cadre__mig_derive_name(cadre_arena *a, const oplist *ops, bool first);

/* ---------------------------------------------------------------------------------------------
 * migrate_exec.c: the engine over modules (mods in the app's dependency order; legacy: the module
 * that owns the rows of a record table made before modules; module NULL: all)
 * ------------------------------------------------------------------------------------------- */

int cadre__mig_migrate(cadre_db *db, mig_module *mods, size_t nmods, const char *legacy,
                       const char *module, const char *target, FILE *out);
int cadre__mig_show(cadre_db *db, mig_module *mods, size_t nmods, const char *legacy,
                    const char *module, bool headings, FILE *out);
int cadre__mig_pending(cadre_db *db, mig_module *mods, size_t nmods, const char *legacy,
                       size_t *count);
int cadre__mig_sql(mig_module *mods, size_t nmods, const char *module, const char *name,
                   const char *engine, cadre_buf *out);

/* migrate_autodetect.c: makemigrations for mods[k], against the state of every module's
 * migrations. */
int cadre__mig_make(mig_module *mods, size_t nmods, size_t k,
                    const cadre_makemigrations_options *opt, cadre_buf *written, FILE *out);

/* ---------------------------------------------------------------------------------------------
 * migrate_sql.c
 * ------------------------------------------------------------------------------------------- */

/* Applies o to s as cadre__mig_apply_op and appends its statements for the engine (pg or SQLite)
 * to out. */
int cadre__mig_step(state *s, const op *o, bool pg, cadre__stmts *out, const char *where);

#endif
