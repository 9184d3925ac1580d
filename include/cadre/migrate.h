/**
 * cadre/migrate.h — migrations: the tables evolve with the models, on SQLite and PostgreSQL alike.
 *
 * Register the app's models and its database once; the binary then has Django's commands:
 *
 *     cadre_models(app, db, "migrations", CADRE_SCHEMA_OF(supplier), CADRE_SCHEMA_OF(product));
 *
 *     ./app makemigrations      writes migrations/0002_product_sku.json from the model changes
 *     ./app migrate             applies the pending ones, each in a transaction
 *     ./app showmigrations      lists them, [X] applied
 *     ./app sqlmigrate 0002     prints the SQL a migration runs on this database's engine
 *
 * A migration file is engine-neutral JSON that records operations on tables (create_table,
 * drop_table, rename_table, add_column, drop_column, alter_column, rename_column) with each
 * column's database-relevant definition: type, primary key, nullable, unique, indexed, default,
 * foreign key. Replaying the files gives the schema they describe; makemigrations compares that
 * with the models and writes the difference as the next file. Review the files and commit them:
 * they are how every database (a developer's SQLite file, the PostgreSQL in production) reaches
 * the same schema.
 *
 * What makemigrations will not guess: a column (or table) that disappeared while another of the
 * same type appeared may be a rename. It then stops and says so: run it again with
 * --rename TABLE.OLD=NEW (or --rename OLD_TABLE=NEW_TABLE) to keep the data, or --no-rename to
 * drop and add. A new column that cannot be null needs a default for the rows already there.
 * Changing a primary key is refused.
 *
 * migrate runs each migration in its own transaction and records it in the table
 * cadre_migrations (module, name, applied): a migration that fails leaves the database as it was
 * before it.
 *
 * Modules (cadre/app.h): each module has its own models and its own line of migrations (auth's
 * user table in auth's, the app's products in the app's). A module's migration that needs
 * another module's table (a foreign key to auth's user) says so in its "requires"
 * (["auth:0001_initial"]: makemigrations writes it), and migrate applies the modules'
 * migrations in an order that honours every "requires" and each module's line. A database made
 * before modules existed (cadre_migrations without a module column) is upgraded by the next
 * migrate: its rows go to the app's own module. On SQLite, foreign key enforcement is switched off during a migration (tables that change
 * more than a rename or an added column are rebuilt, as SQLite documents), and the foreign keys
 * are checked before the commit.
 */
#ifndef CADRE_MIGRATE_H
#define CADRE_MIGRATE_H

#include "app.h"
#include "db.h"
#include "schema.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A migration compiled into the program (a module shipped as a library: auth's). */
typedef struct cadre_migration_source {
    const char *name; /**< "0001_initial" */
    const char *text; /**< the file's JSON, NUL-terminated */
} cadre_migration_source;

/**
 * Registers a module's models (each a CADRE_MODEL schema), stored in db, with their migration
 * files in dir: cadre_models(app, db, "migrations", …) for the app's own module,
 * cadre_models(module, db, "shop/migrations", …) for another (dir NULL: "migrations" for the
 * app's own, "LABEL/migrations" for another). The first call adds the commands (cadre_app_command):
 *
 *     makemigrations [MODULE]     the next migration of each module whose models changed
 *     migrate [MODULE [NAME]]     applies what is pending (of MODULE, up to NAME, and what it needs)
 *     showmigrations [MODULE]     lists them per module, [X] applied
 *     sqlmigrate [MODULE] NAME    prints a migration's SQL
 *
 * and a start-up warning when migrations are pending. Every module must use the same db. db must
 * outlive the app; dir and the list are copied. Returns 0 or a negative CADRE_E* (recorded as a
 * configuration error: the app then refuses to start).
 */
int cadre__models(cadre_module *m, cadre_db *db, const char *dir,
                  const cadre_migration_source *src, size_t nsrc,
                  const cadre_schema *const *models, size_t nmodels, const char *file, int line);
#define cadre_models(where, db, dir, ...)                                                          \
    cadre__models(cadre_module_of(where), (db), (dir), NULL, 0,                                    \
                  (const cadre_schema *const[]){ __VA_ARGS__ },                                    \
                  sizeof((const cadre_schema *const[]){ __VA_ARGS__ }) /                           \
                      sizeof(const cadre_schema *),                                                \
                  __FILE__, __LINE__)

/** As cadre_models, with the module's migrations compiled into the program (nsrc of them in
 *  src, static data: kept, not copied); makemigrations refuses to change them. */
#define cadre_models_builtin(where, db, src, nsrc, ...)                                            \
    cadre__models(cadre_module_of(where), (db), NULL, (src), (nsrc),                               \
                  (const cadre_schema *const[]){ __VA_ARGS__ },                                    \
                  sizeof((const cadre_schema *const[]){ __VA_ARGS__ }) /                           \
                      sizeof(const cadre_schema *),                                                \
                  __FILE__, __LINE__)

/**
 * The i-th model the app's modules registered (module by module, in registration order), with
 * its module in *module (optional); NULL past the end. A model that a later module registers
 * under the same name extends the first one's table (the project's user, CADRE_USER_MODEL): the
 * table comes once, at its owner's place and with its owner's module, as the extending model.
 */
const cadre_schema *cadre_app_model_at(cadre_app *app, size_t i, cadre_module **module /* OUT */);

/** The model of the table name (an extending model rather than the one it extends), or NULL. */
const cadre_schema *cadre_app_model(cadre_app *app, const char *name);

typedef struct cadre_makemigrations_options {
    const char *name;           /**< the new file's name after its number ("add_sku"); NULL:
                                     derived from the operations */
    const char *const *renames; /**< "TABLE.OLD=NEW" (a column) or "OLD=NEW" (a table) */
    size_t nrenames;
    bool no_rename;             /**< a disappeared and an appeared column/table are a drop and an
                                     add, never a rename */
    bool check;                 /**< write nothing; CADRE_ESTATE when a migration is needed */
} cadre_makemigrations_options;

/**
 * Compares models with the schema that dir's migration files describe and writes the next file
 * (dir is created if missing). opt may be NULL. *written (optional) gets the new file's path, or
 * stays empty when nothing changed. Messages for the user go to out (may be NULL). Returns 0,
 * CADRE_EINVAL (a refusal or a broken migration file: logged with the reason and what to do),
 * CADRE_ESTATE (opt->check and changes are pending) or CADRE_EIO (the file could not be written:
 * nothing is left half-written).
 */
int cadre_makemigrations(const cadre_schema *const *models, size_t nmodels, const char *dir,
                         const cadre_makemigrations_options *opt, cadre_buf *written /* OUT */,
                         FILE *out);

/* The app's migrations, all modules together: what its commands run. module NULL means every
 * module. Messages for the user go to out (may be NULL). */

/** makemigrations for module (NULL: every module whose models changed). Returns as
 *  cadre_makemigrations; CADRE_ENOTFOUND for an unknown module. */
int cadre_app_makemigrations(cadre_app *app, const char *module,
                             const cadre_makemigrations_options *opt, FILE *out);

/**
 * Applies the pending migrations (of module only, up to and including its migration target, a
 * name or its number; NULL: all), with those of other modules they require, in order. Returns
 * 0, or the error of the migration that failed (logged with its statement), which left no trace;
 * those before it stay applied.
 */
int cadre_app_migrate(cadre_app *app, const char *module, const char *target, FILE *out);

/** Lists the migrations per module to out: "[X] 0001_initial" when applied, "[ ]" when not. */
int cadre_app_showmigrations(cadre_app *app, const char *module, FILE *out);

/** How many of the app's migrations its database has not applied yet. */
int cadre_app_migrations_pending(cadre_app *app, size_t *n /* OUT */);

/* One module's migrations in a directory, recorded in db under the module label (the functions
 * above do this for each of the app's modules; these serve tests and tools). */

/** As cadre_app_migrate for one module whose migrations are in dir. */
int cadre_migrate(cadre_db *db, const char *module, const char *dir, const char *target,
                  FILE *out);

/** As cadre_app_showmigrations for one module (no heading: "[X] 0001_initial" lines). */
int cadre_showmigrations(cadre_db *db, const char *module, const char *dir, FILE *out);

/** How many of dir's migrations db has not applied yet for module. */
int cadre_migrations_pending(cadre_db *db, const char *module, const char *dir,
                             size_t *n /* OUT */);

/**
 * Appends the SQL that migration name (or its number prefix) of module, in dir, runs on engine
 * ("sqlite" or "postgresql"), one statement per line, each ending in ';'. Returns 0,
 * CADRE_ENOTFOUND or CADRE_EINVAL.
 */
int cadre_sqlmigrate(const char *module, const char *dir, const char *name, const char *engine,
                     cadre_buf *out);

#ifdef __cplusplus
}
#endif
#endif
