/*
 * The app's migrations, all modules together: the registry cadre_models fills (one per app,
 * attached as "cadre.migrations"), the app-level functions of cadre/migrate.h, the commands
 * (makemigrations, migrate, showmigrations, sqlmigrate) and the start-up warning about
 * migrations not yet applied.
 */
#include "migrate_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REGISTRY_KEY "cadre.migrations"
#define MAX_MODEL_MODULES 64

struct entry {
    cadre_module *m;
    const char *dir;
    const cadre_migration_source *src;
    size_t nsrc;
    const cadre_schema **models;
    size_t n;
};

struct registry {
    cadre_app *app;
    cadre_db *db;
    struct entry *items;
    size_t len, cap;
};

static void registry_free(void *p)
{
    struct registry *r = p;
    for (size_t i = 0; i < r->len; i++) {
        free((char *)r->items[i].dir);
        free(r->items[i].models);
    }
    CADRE_VEC_FREE(r);
    free(r);
}

/* The registered modules as the engine takes them, in the app's module order: mods (arena
 * memory, freed by plan_close); legacy: the module that owns a record table's rows from before
 * modules (the app's own module, when it has models; else the first). */
struct plan {
    cadre_arena a;
    mig_module *mods;
    size_t n;
    const char *legacy;
};

/* Opens p (plan_close it whatever the answer); dir_override replaces the directory of module
 * only (or of every module when module is NULL). */
static int plan_open(struct plan *p, struct registry *r, const char *module,
                     const char *dir_override)
{
    *p = (struct plan){ 0 };
    cadre_arena_init(&p->a, 4096);
    mig_module *mods = cadre_arena_calloc(&p->a, (r->len + 1) * sizeof *mods);
    if (!mods)
        return CADRE_ENOMEM;
    size_t k = 0;
    cadre_module *own = cadre_app_own_module(r->app);
    for (size_t i = 0; k < r->len; i++) {
        cadre_module *m = cadre_app_module_at(r->app, i);
        if (!m)
            break;
        for (size_t j = 0; j < r->len; j++) {
            const struct entry *e = &r->items[j];
            if (e->m != m)
                continue;
            const char *label = cadre_module_label(m);
            bool override = dir_override && (!module || strcmp(module, label) == 0);
            mods[k++] = (mig_module){ .label = label,
                                      .dir = override ? dir_override : e->dir,
                                      .src = override ? NULL : e->src,
                                      .nsrc = override ? 0 : e->nsrc,
                                      .models = e->models,
                                      .nmodels = e->n };
            if (m == own)
                p->legacy = label;
        }
    }
    if (!p->legacy && k)
        p->legacy = mods[0].label;
    p->mods = mods;
    p->n = k;
    return 0;
}

static void plan_close(struct plan *p)
{
    cadre_arena_free(&p->a);
}

static struct registry *registry_of(cadre_app *app)
{
    struct registry *r = cadre_app_attachment(app, REGISTRY_KEY);
    if (!r)
        cadre_log(CADRE_LOG_ERROR, "the app has no models (cadre_models)");
    return r;
}

/* ---------------------------------------------------------------------------------------------
 * The app-level functions
 * ------------------------------------------------------------------------------------------- */

static int make(struct registry *r, const char *module, const char *dir,
                const cadre_makemigrations_options *opt, FILE *out)
{
    struct plan p;
    int rc = plan_open(&p, r, module, dir), result = 0;
    bool found = !module;
    for (size_t k = 0; rc == 0 && k < p.n; k++) {
        if (module && strcmp(p.mods[k].label, module) != 0)
            continue;
        found = true;
        int one = cadre__mig_make(p.mods, p.n, k, opt, NULL, out);
        if (one == CADRE_ESTATE) /* --check: go on, so every module's changes are listed */
            result = one;
        else if (one)
            rc = one;
    }
    if (rc == 0 && !found) {
        cadre_log(CADRE_LOG_ERROR, "makemigrations: no module %s has models", module);
        rc = CADRE_ENOTFOUND;
    }
    plan_close(&p);
    return rc ? rc : result;
}

int cadre_app_makemigrations(cadre_app *app, const char *module,
                             const cadre_makemigrations_options *opt, FILE *out)
{
    struct registry *r = registry_of(app);
    return r ? make(r, module, NULL, opt, out) : CADRE_ESTATE;
}

static int migrate(struct registry *r, const char *module, const char *target, const char *dir,
                   FILE *out)
{
    struct plan p;
    int rc = plan_open(&p, r, module, dir);
    if (rc == 0)
        rc = cadre__mig_migrate(r->db, p.mods, p.n, p.legacy, module, target, out);
    plan_close(&p);
    return rc;
}

int cadre_app_migrate(cadre_app *app, const char *module, const char *target, FILE *out)
{
    struct registry *r = registry_of(app);
    return r ? migrate(r, module, target, NULL, out) : CADRE_ESTATE;
}

static int show(struct registry *r, const char *module, const char *dir, FILE *out)
{
    struct plan p;
    int rc = plan_open(&p, r, module, dir);
    if (rc == 0)
        rc = cadre__mig_show(r->db, p.mods, p.n, p.legacy, module, p.n > 1, out);
    plan_close(&p);
    return rc;
}

int cadre_app_showmigrations(cadre_app *app, const char *module, FILE *out)
{
    struct registry *r = registry_of(app);
    return r ? show(r, module, NULL, out) : CADRE_ESTATE;
}

int cadre_app_migrations_pending(cadre_app *app, size_t *count)
{
    struct registry *r = registry_of(app);
    if (!r)
        return CADRE_ESTATE;
    struct plan p;
    int rc = plan_open(&p, r, NULL, NULL);
    if (rc == 0)
        rc = cadre__mig_pending(r->db, p.mods, p.n, p.legacy, count);
    plan_close(&p);
    return rc;
}

/* The registry's entries in the app's module order (each module after those it needs), into
 * out (r->len of them). */
static size_t ordered(const struct registry *r, const struct entry **out)
{
    size_t k = 0;
    for (size_t i = 0; k < r->len; i++) {
        cadre_module *m = cadre_app_module_at(r->app, i);
        if (!m)
            break;
        for (size_t j = 0; j < r->len; j++)
            if (r->items[j].m == m)
                out[k++] = &r->items[j];
    }
    return k;
}

/* The model of table name: the last registered under it in module order (an extension by a
 * module that needs the owner's wins), or NULL; *owner: the module that registered it first. */
static const cadre_schema *model_named(const struct entry *const *es, size_t n, const char *name,
                                       const struct entry **owner)
{
    const cadre_schema *found = NULL;
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < es[j]->n; i++)
            if (strcmp(es[j]->models[i]->name, name) == 0) {
                if (!found && owner)
                    *owner = es[j];
                found = es[j]->models[i];
            }
    return found;
}

const cadre_schema *cadre_app_model_at(cadre_app *app, size_t i, cadre_module **module)
{
    struct registry *r = cadre_app_attachment(app, REGISTRY_KEY);
    const struct entry *es[MAX_MODEL_MODULES];
    size_t n = r ? ordered(r, es) : 0;
    for (size_t j = 0; j < n; j++)
        for (size_t k = 0; k < es[j]->n; k++) {
            const struct entry *owner = NULL;
            const cadre_schema *m = model_named(es, n, es[j]->models[k]->name, &owner);
            if (owner != es[j])
                continue; /* an extension: counted at its table's owner */
            if (i-- == 0) {
                if (module)
                    *module = es[j]->m;
                return m;
            }
        }
    return NULL;
}

const cadre_schema *cadre_app_model(cadre_app *app, const char *name)
{
    struct registry *r = cadre_app_attachment(app, REGISTRY_KEY);
    const struct entry *es[MAX_MODEL_MODULES];
    size_t n = r ? ordered(r, es) : 0;
    return model_named(es, n, name, NULL);
}

/* ---------------------------------------------------------------------------------------------
 * The commands
 * ------------------------------------------------------------------------------------------- */

/* Takes --dir DIR out of argv (the migrations of the module named, or of the only one, are read
 * from DIR instead); returns it, or NULL. */
static const char *take_dir(int *argc, char **argv)
{
    const char *dir = NULL;
    int w = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--dir") == 0 && i + 1 < *argc)
            dir = argv[++i];
        else
            argv[w++] = argv[i];
    }
    *argc = w;
    return dir;
}

static bool has_module(struct registry *r, const char *label)
{
    for (size_t i = 0; i < r->len; i++)
        if (strcmp(cadre_module_label(r->items[i].m), label) == 0)
            return true;
    return false;
}

/* --dir applies to one module: the one named, or the only one. */
static int dir_target(struct registry *r, const char *dir, const char **module, const char *cmd)
{
    if (!dir || *module)
        return 0;
    if (r->len == 1) {
        *module = cadre_module_label(r->items[0].m);
        return 0;
    }
    fprintf(stderr, "error: %s --dir: name the module whose migrations are in that directory\n",
            cmd);
    return 2;
}

static int cmd_makemigrations(cadre_app *app, int argc, char **argv, void *ctx)
{
    (void)app;
    struct registry *r = ctx;
    const char *dir = take_dir(&argc, argv), *module = NULL;
    cadre_makemigrations_options opt = { 0 };
    const char **renames = calloc((size_t)argc + 1, sizeof *renames);
    if (!renames)
        return 1;
    opt.renames = renames;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rename") == 0 && i + 1 < argc)
            renames[opt.nrenames++] = argv[++i];
        else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc)
            opt.name = argv[++i];
        else if (strcmp(argv[i], "--no-rename") == 0)
            opt.no_rename = true;
        else if (strcmp(argv[i], "--check") == 0)
            opt.check = true;
        else if (argv[i][0] != '-' && !module && has_module(r, argv[i]))
            module = argv[i];
        else {
            fprintf(stderr, "error: makemigrations: \"%s\" is neither a module with models nor "
                            "an option (MODULE, --name NAME, --rename OLD=NEW, --rename "
                            "TABLE.OLD=NEW, --no-rename, --check, --dir DIR)\n",
                    argv[i]);
            free(renames);
            return 2;
        }
    }
    int rc = dir_target(r, dir, &module, "makemigrations");
    if (rc == 0 && (opt.name || opt.nrenames) && !module && r->len > 1) {
        fprintf(stderr, "error: makemigrations --name/--rename: name the module they are for\n");
        rc = 2;
    }
    if (rc == 0)
        rc = make(r, module, dir, &opt, stdout) == 0 ? 0 : 1;
    free(renames);
    return rc;
}

static void tell_unmigrated(struct registry *r);

/* Whether the migrations directory of each module (of module, when given) is there; the first
 * that is not is said, with what to do: a binary run away from the sources it was built from
 * (its directories are compiled in) would otherwise find no migrations and apply none. */
static bool dirs_present(const struct registry *r, const char *module, const char *cmd)
{
    for (size_t i = 0; i < r->len; i++) {
        const struct entry *e = &r->items[i];
        struct stat st;
        if (!e->dir || (module && strcmp(module, cadre_module_label(e->m)) != 0) ||
            stat(e->dir, &st) == 0)
            continue;
        fprintf(stderr, "error: %s: the migrations of %s are read from %s, which is not here. "
                        "In the project, run makemigrations first; for a binary copied away from "
                        "its sources, copy that directory too and give it: %s %s --dir DIR\n",
                cmd, cadre_module_label(e->m), e->dir, cmd, cadre_module_label(e->m));
        return false;
    }
    return true;
}

static int cmd_migrate(cadre_app *app, int argc, char **argv, void *ctx)
{
    (void)app;
    struct registry *r = ctx;
    const char *dir = take_dir(&argc, argv), *module = NULL, *target = NULL;
    if (argc > 3 || (argc > 1 && argv[1][0] == '-') || (argc > 2 && argv[2][0] == '-')) {
        fprintf(stderr, "error: usage: migrate [MODULE [NAME]] [--dir DIR]\n");
        return 2;
    }
    if (argc == 3) {
        module = argv[1];
        target = argv[2];
    } else if (argc == 2 && has_module(r, argv[1])) {
        module = argv[1];
    } else if (argc == 2 && r->len == 1) { /* migrate 0002: the only module's */
        module = cadre_module_label(r->items[0].m);
        target = argv[1];
    } else if (argc == 2) {
        fprintf(stderr, "error: migrate: no module %s has models (usage: migrate [MODULE "
                        "[NAME]])\n", argv[1]);
        return 2;
    }
    int rc = dir_target(r, dir, &module, "migrate");
    if (rc)
        return rc;
    if (!dir && !dirs_present(r, module, "migrate"))
        return 1;
    rc = migrate(r, module, target, dir, stdout);
    if (rc == 0 && !dir)
        tell_unmigrated(r);
    return rc == 0 ? 0 : 1;
}

static int cmd_showmigrations(cadre_app *app, int argc, char **argv, void *ctx)
{
    (void)app;
    struct registry *r = ctx;
    const char *dir = take_dir(&argc, argv), *module = argc == 2 ? argv[1] : NULL;
    if (argc > 2 || (module && (module[0] == '-' || !has_module(r, module)))) {
        fprintf(stderr, "error: usage: showmigrations [MODULE] [--dir DIR] (MODULE: a module "
                        "with models)\n");
        return 2;
    }
    int rc = dir_target(r, dir, &module, "showmigrations");
    return rc ? rc : show(r, module, dir, stdout) == 0 ? 0 : 1;
}

static int cmd_sqlmigrate(cadre_app *app, int argc, char **argv, void *ctx)
{
    (void)app;
    struct registry *r = ctx;
    const char *dir = take_dir(&argc, argv);
    const char *engine = cadre_db_engine(r->db), *pos[2] = { NULL, NULL };
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--engine") == 0 && i + 1 < argc)
            engine = argv[++i];
        else if (argv[i][0] != '-' && npos < 2)
            pos[npos++] = argv[i];
        else
            npos = 3, i = argc;
    }
    const char *module = npos == 2 ? pos[0] : r->len == 1 ? cadre_module_label(r->items[0].m) : NULL;
    const char *name = npos == 2 ? pos[1] : npos == 1 ? pos[0] : NULL;
    if (!name || !module || npos > 2) {
        fprintf(stderr, "error: usage: sqlmigrate [MODULE] NAME [--engine sqlite|postgresql] "
                        "[--dir DIR]%s\n",
                    r->len > 1 && npos == 1 ? " (the app has several modules: name one)" : "");
        return 2;
    }
    struct plan p;
    cadre_buf b;
    cadre_buf_init(&b, (size_t)64 << 20);
    int rc = plan_open(&p, r, module, dir);
    if (rc == 0)
        rc = cadre__mig_sql(p.mods, p.n, module, name, engine, &b);
    if (rc == 0)
        fwrite(b.data, 1, b.len, stdout);
    cadre_buf_free(&b);
    plan_close(&p);
    return rc == 0 ? 0 : 1;
}

/* The modules whose models have changes that no migration has (their labels in *labels, comma
 * separated); a module whose migrations directory does not exist is not counted but named in
 * *missing (it cannot be checked). Opens p, whose arena holds the text (plan_close it whatever
 * the answer). Returns how many, or a negative error. */
static int unmigrated(struct registry *r, struct plan *p, const char **labels,
                      const char **missing)
{
    *labels = *missing = NULL;
    int rc = plan_open(p, r, NULL, NULL), count = 0;
    cadre_makemigrations_options check = { .check = true };
    for (size_t k = 0; rc == 0 && k < p->n; k++) {
        const mig_module *m = &p->mods[k];
        struct stat st;
        if (m->dir && stat(m->dir, &st) != 0) {
            *missing = *missing ? cadre_arena_printf(&p->a, "%s, %s", *missing, m->dir) : m->dir;
            continue;
        }
        int one = cadre__mig_make(p->mods, p->n, k, &check, NULL, NULL);
        if (one == CADRE_ESTATE) {
            *labels = *labels ? cadre_arena_printf(&p->a, "%s, %s", *labels, m->label) : m->label;
            count++;
        } else if (one) {
            rc = one;
        }
    }
    return rc ? rc : count;
}

/* After migrate: a forgotten makemigrations is said, not left to fail every request. */
static void tell_unmigrated(struct registry *r)
{
    struct plan p;
    const char *labels, *missing;
    if (unmigrated(r, &p, &labels, &missing) > 0)
        printf("Your models in %s have changes that are not yet in a migration, and so are not "
               "applied: run makemigrations to write it, then migrate again.\n",
               labels);
    plan_close(&p);
}

/*
 * At start-up: models with changes no migration has refuse the start (in development mode, a
 * warning): every request touching them would fail. A database that lacks migrations is said
 * (the service still starts: the database may be migrated by another instance, or be
 * unreachable for now).
 */
static int start_check(cadre_app *app, void *ctx)
{
    struct registry *r = ctx;
    /* the database: a SQLite file that cannot be opened is a mistake to fix before serving; a
     * PostgreSQL server may come up after the app (the requests that need it answer 503) */
    if (cadre_db_exec(r->db, "SELECT 1", NULL, 0, NULL, NULL) != 0) {
        if (strcmp(cadre_db_engine(r->db), "sqlite") == 0) {
            cadre_log(CADRE_LOG_ERROR, "not serving without the app's SQLite database (why it "
                                       "cannot be opened is said above)");
            return CADRE_EIO;
        }
        cadre_log(CADRE_LOG_WARN, "serving although the PostgreSQL database cannot be reached "
                                  "now (see above): requests that need it answer 503 until it "
                                  "can");
    }
    struct plan p;
    const char *labels, *missing;
    int bad = unmigrated(r, &p, &labels, &missing), result = 0;
    if (missing)
        cadre_log(CADRE_LOG_WARN, "the migrations directory %s is not there (is the app run from "
                                  "its project directory?): the models cannot be checked against "
                                  "it", missing);
    if (bad > 0 && !cadre_app_is_dev(app)) {
        cadre_log(CADRE_LOG_ERROR, "the models of %s have changes that are not in a migration: "
                                   "run the app's makemigrations command, then migrate (in "
                                   "development mode, --dev, the app starts anyway)", labels);
        result = CADRE_ESTATE;
    } else if (bad > 0) {
        cadre_log(CADRE_LOG_WARN, "the models of %s have changes that are not in a migration: "
                                  "requests that use them will fail until makemigrations and "
                                  "migrate are run", labels);
    }
    plan_close(&p);
    if (result)
        return result;
    size_t n = 0;
    int rc = cadre_app_migrations_pending(app, &n);
    if (rc)
        cadre_log(CADRE_LOG_WARN, "could not check the migrations: %s", cadre_strerror(rc));
    else if (n && cadre_server_upgrading()) {
        /* the running process would hand over to one that is not ready: it serves on instead */
        cadre_log(CADRE_LOG_ERROR, "not taking over from the running process: this %s database "
                                   "lacks %zu migration%s of this build: run the app's migrate "
                                   "command, then upgrade again",
                  cadre_db_engine(r->db), n, n == 1 ? "" : "s");
        return CADRE_ESTATE;
    } else if (n)
        cadre_log(CADRE_LOG_WARN, "this %s database lacks %zu migration%s: requests that need "
                                  "%s will fail until the app's migrate command is run",
                  cadre_db_engine(r->db), n, n == 1 ? "" : "s", n == 1 ? "it" : "them");
    return 0;
}

/* /readyz's "database": it answers a trivial statement within a second. */
static int database_ready(cadre_request *r, const char **why, void *ctx)
{
    struct registry *reg = ctx;
    cadre_db_statement_timeout(1000);
    int rc = cadre_db_exec(reg->db, "SELECT 1", NULL, 0, NULL, NULL);
    cadre_db_statement_timeout(0);
    if (rc)
        *why = cadre_arena_printf(r->arena, "the %s database does not answer: %s",
                                  cadre_db_engine(reg->db), cadre_strerror(rc));
    return rc;
}

/* /readyz's "migrations": every migration of the app's modules is applied (a newer database
 * than the binary is ready: another instance, already upgraded, migrated it). */
static int migrations_ready(cadre_request *r, const char **why, void *ctx)
{
    struct registry *reg = ctx;
    size_t n = 0;
    int rc = cadre_app_migrations_pending(reg->app, &n);
    if (rc)
        *why = cadre_arena_printf(r->arena, "cannot read the migrations: %s", cadre_strerror(rc));
    else if (n)
        *why = cadre_arena_printf(r->arena, "%zu migration%s not applied yet: run migrate", n,
                                  n == 1 ? "" : "s");
    return rc ? rc : n ? CADRE_ESTATE : 0;
}

/* The first cadre_models of an app: the registry, the commands, the start-up check. */
static struct registry *registry_new(cadre_app *app, cadre_db *db, const char *file, int line)
{
    struct registry *r = calloc(1, sizeof *r);
    if (!r || cadre_app_attach(app, REGISTRY_KEY, r, registry_free) != 0) {
        cadre_app_config_error(app, file, line, "cadre_models: out of memory");
        return NULL;
    }
    r->app = app;
    r->db = db;
    static const struct {
        const char *name, *usage;
        cadre_command_fn fn;
    } cmds[] = {
        { "makemigrations", "makemigrations [MODULE] [--name N] [--rename OLD=NEW]... "
                            "[--no-rename] [--check]\n                              writes the next "
                            "migration of each module whose models changed\n"
                            "                              (each migration command takes --dir "
                            "DIR: another migrations directory)",
          cmd_makemigrations },
        { "migrate", "migrate [MODULE [NAME]]  applies pending migrations (of MODULE, up to NAME)",
          cmd_migrate },
        { "showmigrations", "showmigrations [MODULE]  lists migrations per module, [X] = applied",
          cmd_showmigrations },
        { "sqlmigrate", "sqlmigrate [MODULE] NAME [--engine E]  prints a migration's SQL",
          cmd_sqlmigrate },
    };
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        int rc = cadre_app_command(app, cmds[i].name, cmds[i].usage, cmds[i].fn, r);
        if (rc) {
            cadre_app_config_error(app, file, line, "cadre_models: cannot add the %s command: %s",
                                   cmds[i].name, cadre_strerror(rc));
            return NULL;
        }
    }
    if (cadre_app_on_start(app, start_check, r) != 0 ||
        cadre_app_ready_check(app, "database", database_ready, r) != 0 ||
        cadre_app_ready_check(app, "migrations", migrations_ready, r) != 0 ||
        cadre_db_metrics(app, db) == CADRE_ENOMEM) { /* EEXIST: the app added them already */
        cadre_app_config_error(app, file, line, "cadre_models: out of memory");
        return NULL;
    }
    return r;
}

int cadre__models(cadre_module *m, cadre_db *db, const char *dir,
                  const cadre_migration_source *src, size_t nsrc,
                  const cadre_schema *const *models, size_t nmodels, const char *file, int line)
{
    if (!m)
        return CADRE_EINVAL; /* a module that could not be added: recorded already */
    cadre_app *app = cadre_module_app(m);
    struct registry *r = cadre_app_attachment(app, REGISTRY_KEY);
    if (!r && !(r = registry_new(app, db, file, line)))
        return CADRE_ENOMEM;
    const char *label = cadre_module_label(m);
    if (r->db != db) {
        cadre_app_config_error(app, file, line, "cadre_models(%s): every module's models must be "
                               "in the same database", label);
        return CADRE_EINVAL;
    }
    if (r->len >= MAX_MODEL_MODULES) {
        cadre_app_config_error(app, file, line, "cadre_models(%s): at most %d modules have "
                               "models", label, MAX_MODEL_MODULES);
        return CADRE_EINVAL;
    }
    for (size_t i = 0; i < r->len; i++)
        if (r->items[i].m == m) {
            cadre_app_config_error(app, file, line, "cadre_models(%s): the module's models are "
                                   "registered already: list them all in one call", label);
            return CADRE_EINVAL;
        }
    /* names of SQL's own: a table or column so named cannot be made (names are not quoted) */
    for (size_t i = 0; i < nmodels; i++) {
        const cadre_schema *s = models[i];
        if (!s)
            continue;
        const char *bad = cadre_sql_reserved(s->name) ? s->name : NULL;
        for (size_t f = 0; !bad && f < s->nfields; f++)
            if (cadre_model_field_is_column(&s->fields[f]) && cadre_sql_reserved(s->fields[f].name))
                bad = s->fields[f].name;
        if (bad == s->name)
            cadre_app_config_error(app, file, line, "cadre_models(%s): a model named \"%s\": "
                                   "that is a word of SQL (reserved by PostgreSQL or SQLite), "
                                   "which cannot name a table; name it otherwise (\"%ss\", say)",
                                   label, bad, bad);
        else if (bad)
            cadre_app_config_error(app, file, line, "cadre_models(%s): the field %s.%s: \"%s\" is "
                                   "a word of SQL (reserved by PostgreSQL or SQLite), which "
                                   "cannot name a column; name it otherwise", label, s->name,
                                   bad, bad);
        if (bad)
            return CADRE_EINVAL;
    }
    char *d = NULL;
    if (!src && dir) {
        d = strdup(dir);
    } else if (!src) { /* "migrations" for the app's own module, "LABEL/migrations" for another */
        bool own = m == cadre_app_own_module(app);
        d = malloc(strlen(label) + 16);
        if (d)
            snprintf(d, strlen(label) + 16, "%s%smigrations", own ? "" : label, own ? "" : "/");
    }
    const cadre_schema **list = calloc(nmodels + 1, sizeof *list);
    struct entry *slot = list && (d || src) ? CADRE_VEC_PUSH(r, NULL, 0) : NULL;
    if (!slot) {
        free(d);
        free(list);
        cadre_app_config_error(app, file, line, "cadre_models: out of memory");
        return CADRE_ENOMEM;
    }
    memcpy(list, models, nmodels * sizeof *list);
    *slot = (struct entry){ m, d, src, nsrc, list, nmodels };
    return 0;
}
