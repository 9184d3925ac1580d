/*
 * The app's migration commands (makemigrations, migrate, showmigrations, sqlmigrate) and the
 * start-up warning about migrations not yet applied, registered by cadre_models.
 */
#include <cadre/migrate.h>


#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * The app's commands
 * ------------------------------------------------------------------------------------------- */

struct models {
    cadre_db *db;
    const char *dir;
    const cadre_schema **models;
    size_t n;
};

/* Options shared by the commands: --dir DIR; the rest go to the command. Returns the index of
 * the first argument not consumed, or -1 after printing an error. */
static const char *take_dir(int *argc, char **argv, const char *dir)
{
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

static int cmd_makemigrations(cadre_app *app, int argc, char **argv, void *ctx)
{
    (void)app;
    struct models *m = ctx;
    const char *dir = take_dir(&argc, argv, m->dir);
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
        else {
            fprintf(stderr, "error: makemigrations: unknown option \"%s\" (--name NAME, --rename "
                            "OLD=NEW, --rename TABLE.OLD=NEW, --no-rename, --check, --dir DIR)\n",
                    argv[i]);
            free(renames);
            return 2;
        }
    }
    int rc = cadre_makemigrations(m->models, m->n, dir, &opt, NULL, stdout);
    free(renames);
    return rc == 0 ? 0 : 1;
}

static int cmd_migrate(cadre_app *app, int argc, char **argv, void *ctx)
{
    (void)app;
    struct models *m = ctx;
    const char *dir = take_dir(&argc, argv, m->dir);
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        fprintf(stderr, "error: usage: migrate [NAME] [--dir DIR]\n");
        return 2;
    }
    return cadre_migrate(m->db, dir, argc == 2 ? argv[1] : NULL, stdout) == 0 ? 0 : 1;
}

static int cmd_showmigrations(cadre_app *app, int argc, char **argv, void *ctx)
{
    (void)app;
    struct models *m = ctx;
    const char *dir = take_dir(&argc, argv, m->dir);
    if (argc != 1) {
        fprintf(stderr, "error: usage: showmigrations [--dir DIR]\n");
        return 2;
    }
    return cadre_showmigrations(m->db, dir, stdout) == 0 ? 0 : 1;
}

static int cmd_sqlmigrate(cadre_app *app, int argc, char **argv, void *ctx)
{
    (void)app;
    struct models *m = ctx;
    const char *dir = take_dir(&argc, argv, m->dir);
    const char *engine = cadre_db_engine(m->db), *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--engine") == 0 && i + 1 < argc)
            engine = argv[++i];
        else if (!name && argv[i][0] != '-')
            name = argv[i];
        else
            name = NULL, i = argc;
    }
    if (!name) {
        fprintf(stderr, "error: usage: sqlmigrate NAME [--engine sqlite|postgresql] [--dir DIR]\n");
        return 2;
    }
    cadre_buf b;
    cadre_buf_init(&b, (size_t)64 << 20);
    int rc = cadre_sqlmigrate(dir, name, engine, &b);
    if (rc == 0)
        fwrite(b.data, 1, b.len, stdout);
    cadre_buf_free(&b);
    return rc == 0 ? 0 : 1;
}

/* At start-up: say so when the database lacks migrations (the service still starts: the database
 * may be migrated by another instance, or be unreachable for now). */
static int warn_pending(cadre_app *app, void *ctx)
{
    (void)app;
    struct models *m = ctx;
    size_t n = 0;
    int rc = cadre_migrations_pending(m->db, m->dir, &n);
    if (rc)
        cadre_log(CADRE_LOG_WARN, "could not check the migrations in %s: %s", m->dir,
                  cadre_strerror(rc));
    else if (n)
        cadre_log(CADRE_LOG_WARN, "this %s database lacks %zu migration%s of %s/: requests that "
                                  "need %s will fail until the app's migrate command is run",
                  cadre_db_engine(m->db), n, n == 1 ? "" : "s", m->dir,
                  n == 1 ? "it" : "them");
    return 0;
}

int cadre__models(cadre_app *app, cadre_db *db, const char *dir, const cadre_schema *const *models,
                  size_t nmodels, const char *file, int line)
{
    struct models *m = cadre_app_own(app, calloc(1, sizeof *m));
    const cadre_schema **list = cadre_app_own(app, calloc(nmodels + 1, sizeof *list));
    char *d = cadre_app_own(app, strdup(dir ? dir : "migrations"));
    if (!m || !list || !d) {
        cadre_app_config_error(app, file, line, "cadre_models: out of memory");
        return CADRE_ENOMEM;
    }
    memcpy(list, models, nmodels * sizeof *list);
    *m = (struct models){ db, d, list, nmodels };
    static const struct {
        const char *name, *usage;
        cadre_command_fn fn;
    } cmds[] = {
        { "makemigrations", "makemigrations [--name N] [--rename OLD=NEW]... [--no-rename] [--check]"
                            "\n                              writes the next migration from the "
                            "model changes\n                              (each migration command "
                            "takes --dir DIR: another migrations directory)",
          cmd_makemigrations },
        { "migrate", "migrate [NAME]         applies pending migrations (up to NAME)", cmd_migrate },
        { "showmigrations", "showmigrations         lists migrations, [X] = applied",
          cmd_showmigrations },
        { "sqlmigrate", "sqlmigrate NAME [--engine E]  prints a migration's SQL", cmd_sqlmigrate },
    };
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        int rc = cadre_app_command(app, cmds[i].name, cmds[i].usage, cmds[i].fn, m);
        if (rc) {
            cadre_app_config_error(app, file, line, "cadre_models: cannot add the %s command: %s",
                             cmds[i].name, cadre_strerror(rc));
            return rc;
        }
    }
    if (cadre_app_on_start(app, warn_pending, m) != 0) {
        cadre_app_config_error(app, file, line, "cadre_models: out of memory");
        return CADRE_ENOMEM;
    }
    return 0;
}
