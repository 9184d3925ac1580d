/*
 * cadre — the command that starts a project: `cadre new NAME` asks what the product needs (or is
 * told with --product / --service) and lays out a project that builds against the installed
 * Cadre through pkg-config, with its models, first migration, app, pages, tests and README.
 *
 * The project's files are in scaffold/ (compiled in by scripts/embed-templates), their @NAME@
 * replaced by the project's name. Its first migration is written here, by the same
 * makemigrations the project's binary runs, from the same models header (included below), so
 * the two can never disagree.
 */
#include <cadre/app.h>
#include <cadre/auth.h>
#include <cadre/db.h>
#include <cadre/migrate.h>
#include <cadre/template.h>

#include "scaffold/common/src/models.h" /* the project's models: its first migration's */

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
extern const cadre_template_source cadre_scaffold[];
extern const size_t cadre_scaffold_count;

static void usage(FILE *to)
{
    fprintf(to, "usage: cadre new NAME [--product | --service | --hybrid] [--yes]\n"
                "       cadre generate model NAME FIELD:TYPE ...   (in a project's directory)\n"
                "  Makes the directory NAME with a project that builds against the installed\n"
                "  Cadre. Without a shape it asks what the project needs.\n"
                "    --product  users, logins, pages, an admin site and a JSON API\n"
                "    --service  a typed JSON API with OpenAPI docs and bearer tokens\n"
                "    --hybrid   both, as two modules: the pages and admin (sessions), the API\n"
                "               (tokens), which can also be built as a process of its own\n"
                "    --yes      take the default answers (a product)\n"
                "  generate model adds a model to src/models.h, its API (/api/NAMEs), its admin\n"
                "  page and a test; TYPE is string, text, int, int32, float, bool, date,\n"
                "  datetime or fk:MODEL, with a trailing ? for an optional field.\n");
}

/* A project name: a C identifier of lower-case letters, digits and _, that the project's
 * functions (NAME_app) and Cadre's own (cadre_*) cannot mix up. NULL, or why not. */
static const char *bad_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 40)
        return "it must be 1 to 40 characters long";
    if (name[0] < 'a' || name[0] > 'z')
        return "it must start with a lower-case letter";
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '_'))
            return "it may hold only lower-case letters, digits and _ (it names C functions)";
    if (strncmp(name, "cadre", 5) == 0)
        return "names starting with \"cadre\" are Cadre's own";
    static const char *const taken[] = { "item", "member", "main", "app", "test" };
    for (size_t i = 0; i < sizeof taken / sizeof taken[0]; i++)
        if (strcmp(name, taken[i]) == 0)
            return "the project's own code uses that name";
    return NULL;
}

/* A yes/no question on stdout, its answer from stdin (empty: the default). */
static bool ask(const char *question, bool dflt)
{
    for (int tries = 0; tries < 5; tries++) {
        printf("%s [%s] ", question, dflt ? "Y/n" : "y/N");
        fflush(stdout);
        char line[64];
        if (!fgets(line, sizeof line, stdin)) {
            printf("\n");
            return dflt; /* no more input: the default */
        }
        if (!isatty(0)) /* answers given on stdin: shown as if typed */
            printf("%s%s", line, strchr(line, '\n') ? "" : "\n");
        if (line[0] == '\n')
            return dflt;
        if (line[0] == 'y' || line[0] == 'Y')
            return true;
        if (line[0] == 'n' || line[0] == 'N')
            return false;
        printf("Please answer y or n.\n");
    }
    return dflt;
}

/* Writes path (creating its directories) with text's @NAME@ replaced by name. */
static int write_file(const char *path, const char *text, size_t len, const char *name)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(dir, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    size_t nl = strlen(name);
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '@' && i + 6 <= len && memcmp(text + i, "@NAME@", 6) == 0) {
            fwrite(name, 1, nl, f);
            i += 5;
        } else {
            fputc(text[i], f);
        }
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* Runs argv (no shell), quietly; its exit status, or -1. */
static int run(char *const argv[])
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return -1;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The project's first migration, by the makemigrations its binary runs: an app of the same
 * name with the same models (every shape has the project's user model: tokens belong to users),
 * on a scratch database. */
static int first_migration(const char *name, const char *root)
{
    char scratch[] = "/tmp/cadre-new-XXXXXX", url[128], migrations[4200];
    if (!mkdtemp(scratch))
        return -1;
    snprintf(url, sizeof url, "sqlite://%s/scratch.db", scratch);
    snprintf(migrations, sizeof migrations, "%s/migrations", root);
    cadre_db *db;
    int rc = cadre_db_open(url, &db);
    cadre_app *app = rc ? NULL : cadre_app_new(name);
    if (app) {
        cadre_auth(app, db);
        cadre_models(app, db, migrations, CADRE_SCHEMA_OF(member), CADRE_SCHEMA_OF(item));
        rc = cadre_app_check(app) > 0 ? CADRE_EINVAL : cadre_app_makemigrations(app, NULL, NULL, NULL);
        cadre_app_free(app);
    }
    if (db)
        cadre_db_close(db);
    char path[200];
    static const char *const files[] = { "scratch.db", "scratch.db-wal", "scratch.db-shm" };
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", scratch, files[i]);
        unlink(path);
    }
    rmdir(scratch);
    return rc;
}

static int cmd_new(int argc, char **argv)
{
    const char *name = NULL, *shape = NULL;
    bool yes = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--product") == 0 || strcmp(argv[i], "--service") == 0 ||
            strcmp(argv[i], "--hybrid") == 0) {
            if (shape && strcmp(shape, argv[i] + 2) != 0) {
                fprintf(stderr, "error: cadre new: one of --product, --service, --hybrid\n");
                return 2;
            }
            shape = argv[i] + 2;
        } else if (strcmp(argv[i], "--yes") == 0 || strcmp(argv[i], "-y") == 0) {
            yes = true;
        } else if (argv[i][0] == '-' || name) {
            fprintf(stderr, "error: cadre new: what is \"%s\"?\n", argv[i]);
            usage(stderr);
            return 2;
        } else {
            name = argv[i];
        }
    }
    if (!name) {
        usage(stderr);
        return 2;
    }
    const char *why = bad_name(name);
    if (why) {
        fprintf(stderr, "error: cadre new: \"%s\" cannot name a project: %s (\"shop\", "
                        "\"device_panel\")\n", name, why);
        return 2;
    }
    struct stat st;
    if (stat(name, &st) == 0) {
        fprintf(stderr, "error: cadre new: %s already exists: choose another name, or move it "
                        "away\n", name);
        return 1;
    }
    if (!shape && !yes) {
        printf("A few questions shape %s (Enter takes the answer in capitals).\n", name);
        if (!ask("Will people use it in a browser: logins, pages, an admin site to run it?", true))
            shape = "service";
        else if (ask("Will other programs use its API, as a part of its own that may one day run "
                     "as a separate process?", false))
            shape = "hybrid";
        else
            shape = "product";
    } else if (!shape) {
        shape = "product";
    }
    size_t nshape = strlen(shape);
    int written = 0;
    for (size_t i = 0; i < cadre_scaffold_count; i++) {
        const cadre_template_source *f = &cadre_scaffold[i];
        const char *rel = NULL;
        bool web = strcmp(shape, "service") != 0; /* pages: product and hybrid */
        if (strncmp(f->name, "common/", 7) == 0)
            rel = f->name + 7;
        else if (web && strncmp(f->name, "web/", 4) == 0)
            rel = f->name + 4;
        else if (strncmp(f->name, shape, nshape) == 0 && f->name[nshape] == '/')
            rel = f->name + nshape + 1;
        if (!rel || strncmp(rel, "test_", 5) == 0 || strcmp(rel, "tests/app_test.c") == 0)
            continue; /* the test is put together below */
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", name, strcmp(rel, "gitignore") == 0 ? ".gitignore" : rel);
        if (write_file(path, f->text, f->len, name) != 0) {
            fprintf(stderr, "error: cadre new: cannot write %s: %s\n", path, strerror(errno));
            return 1;
        }
        written++;
    }
    /* the test: the shared head, the shape's checks, the shared main */
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/app_test.c", name);
    cadre_buf test;
    cadre_buf_init(&test, (size_t)1 << 20);
    const char *parts[] = { "common/test_head.c", NULL, "common/test_tail.c" };
    char shape_test[64];
    snprintf(shape_test, sizeof shape_test, "%s/tests/app_test.c", shape);
    parts[1] = shape_test;
    for (size_t k = 0; k < 3; k++)
        for (size_t i = 0; i < cadre_scaffold_count; i++)
            if (strcmp(cadre_scaffold[i].name, parts[k]) == 0)
                cadre_buf_append(&test, cadre_scaffold[i].text, cadre_scaffold[i].len);
    int rc = write_file(path, test.data ? test.data : "", test.len, name);
    cadre_buf_free(&test);
    if (rc != 0) {
        fprintf(stderr, "error: cadre new: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    char root[4096];
    if (!realpath(name, root)) {
        fprintf(stderr, "error: cadre new: %s: %s\n", name, strerror(errno));
        return 1;
    }
    cadre_log_configure(CADRE_LOG_WARN, CADRE_LOG_PLAIN, 2);
    if (first_migration(name, root) != 0) {
        fprintf(stderr, "error: cadre new: the first migration could not be written (see above)\n");
        return 1;
    }
    /* its own repository, unless it is inside one already */
    char *inside[] = { "git", "rev-parse", "--is-inside-work-tree", NULL };
    bool git = false;
    if (run(inside) != 0) {
        char *init[] = { "git", "init", "-q", root, NULL };
        git = run(init) == 0;
    }
    bool product = strcmp(shape, "service") != 0;
    char who[512];
    if (product)
        snprintf(who, sizeof who, "  ./build/%s createsuperuser  # for /admin/\n", name);
    else /* a caller: a user with the items' permissions, and its token */
        snprintf(who, sizeof who,
                 "  ./build/%1$s createuser --username robot\n"
                 "  ./build/%1$s group clients --add robot --grant '%1$s.*_item'\n"
                 "  ./build/%1$s createtoken robot laptop   # the token for Authorization: Bearer\n",
                 name);
    printf("Made %s/, a %s (%d files%s). Next:\n"
           "  cd %s\n"
           "  meson setup build && ninja -C build && meson test -C build\n"
           "  ./build/%s migrate\n"
           "%s"
           "  ./build/%s serve --dev       # http://127.0.0.1:8000/%s\n%s",
           name, shape, written + 2 /* the test and the first migration */, git ? ", a new git repository" : "", name, name, who, name,
           product ? "" : "docs",
           strcmp(shape, "hybrid") == 0
               ? "The API alone, as its own process: meson configure build -Dsplit_api=true\n"
               : "");
    return 0;
}


/* ---------------------------------------------------------------------------------------------
 * cadre generate model: a model added to a project made by cadre new, through the markers its
 * files carry ("cadre:models", "cadre:schemas", "cadre:api", "cadre:admin", "cadre:tests").
 * ------------------------------------------------------------------------------------------- */

/* The whole of a file, NUL-terminated (malloc'd), or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    cadre_buf b;
    cadre_buf_init(&b, (size_t)16 << 20);
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (cadre_buf_append(&b, chunk, n) != 0)
            break;
    fclose(f);
    const char *t = cadre_buf_cstr(&b);
    char *out = t ? strdup(t) : NULL;
    cadre_buf_free(&b);
    return out;
}

/* text inserted before the line holding marker in text, into out; false when no line does. */
static bool insert_before(const char *text, const char *marker, const char *add, cadre_buf *out)
{
    const char *m = strstr(text, marker);
    if (!m)
        return false;
    const char *line = m;
    while (line > text && line[-1] != '\n')
        line--;
    cadre_buf_append(out, text, (size_t)(line - text));
    cadre_buf_append_str(out, add);
    cadre_buf_append_str(out, line);
    return true;
}

/* Replaces path's content (a new file renamed over it: never half-written). */
static int replace_file(const char *path, const cadre_buf *content)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.cadre-new", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return -1;
    bool ok = fwrite(content->data, 1, content->len, f) == content->len;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* One field of the new model: its line of the FIELDS macro into b and its name into name, or
 * false after saying why not. */
static bool field_line(cadre_buf *b, const char *spec, const char *models, char name[64])
{
    char type[64], target[64] = "";
    const char *colon = strchr(spec, ':');
    size_t nl = colon ? (size_t)(colon - spec) : 0;
    if (!colon || nl == 0 || nl >= 64 || strlen(colon + 1) >= sizeof type) {
        fprintf(stderr, "error: cadre generate model: \"%s\" is not NAME:TYPE (\"price:float\")\n",
                spec);
        return false;
    }
    memcpy(name, spec, nl);
    name[nl] = '\0';
    snprintf(type, sizeof type, "%s", colon + 1);
    size_t tl = strlen(type);
    bool optional = tl && type[tl - 1] == '?';
    if (optional)
        type[--tl] = '\0';
    if (bad_name(name) && strcmp(name, "item") != 0) {
        fprintf(stderr, "error: cadre generate model: \"%s\" cannot name a field: %s\n", name,
                bad_name(name));
        return false;
    }
    if (strcmp(name, "id") == 0) {
        fprintf(stderr, "error: cadre generate model: every model has its id already\n");
        return false;
    }
    if (cadre_sql_reserved(name)) {
        fprintf(stderr, "error: cadre generate model: \"%s\" cannot name a field: it is a word "
                        "of SQL (reserved by PostgreSQL or SQLite), which cannot name a column\n",
                name);
        return false;
    }
    const char *opt = optional ? ", CADRE_OPTIONAL, CADRE_NULLABLE" : "";
    char line[512];
    if (strcmp(type, "string") == 0)
        snprintf(line, sizeof line, "F(string, %s, %sCADRE_MAX_LEN(200)%s)", name,
                 optional ? "" : "CADRE_MIN_LEN(1), ", opt);
    else if (strcmp(type, "text") == 0)
        snprintf(line, sizeof line, "F(string, %s, CADRE_MAX_LEN(100000)%s)", name,
                 optional ? opt : ", CADRE_DEFAULT_STR(\"\")");
    else if (strcmp(type, "int") == 0 || strcmp(type, "int32") == 0 || strcmp(type, "float") == 0 ||
             strcmp(type, "date") == 0 || strcmp(type, "datetime") == 0)
        snprintf(line, sizeof line, "F(%s, %s%s)",
                 strcmp(type, "int") == 0 ? "int64" : strcmp(type, "float") == 0 ? "double" : type,
                 name, opt);
    else if (strcmp(type, "bool") == 0)
        snprintf(line, sizeof line, "F(bool, %s, CADRE_DEFAULT(false))", name);
    else if (strncmp(type, "fk:", 3) == 0 && snprintf(target, sizeof target, "%s", type + 3) > 0) {
        char decl[96];
        snprintf(decl, sizeof decl, "CADRE_MODEL(%s,", target);
        bool known = strstr(models, decl) || strcmp(target, "member") == 0;
        if (!known) {
            fprintf(stderr, "error: cadre generate model: fk:%s names no model of src/models.h\n",
                    target);
            return false;
        }
        snprintf(line, sizeof line, "F(int64, %s, CADRE_FOREIGN_KEY(%s, CADRE_ON_DELETE_PROTECT)%s)",
                 name, strcmp(target, "member") == 0 ? "cadre_user" : target, opt);
    } else {
        fprintf(stderr, "error: cadre generate model: \"%s\" is not a type: string, text, int, "
                        "int32, float, bool, date, datetime or fk:MODEL (a trailing ? makes the "
                        "field optional)\n", type);
        return false;
    }
    cadre_buf_appendf(b, "    %-94s\\\n", line);
    return true;
}

static int cmd_generate(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[0], "model") != 0) {
        usage(stderr);
        return 2;
    }
    const char *model = argv[1];
    const char *why = bad_name(model);
    if (why && strcmp(model, "item") != 0) {
        fprintf(stderr, "error: cadre generate model: \"%s\" cannot name a model: %s\n", model, why);
        return 2;
    }
    if (cadre_sql_reserved(model)) {
        fprintf(stderr, "error: cadre generate model: \"%s\" cannot name a model: it is a word "
                        "of SQL (reserved by PostgreSQL or SQLite), which cannot name a table; "
                        "\"%ss\", say\n", model, model);
        return 2;
    }
    char *models = slurp("src/models.h");
    if (!models || !strstr(models, "cadre:models")) {
        fprintf(stderr, "error: cadre generate model: run it in a project made by cadre new (no "
                        "src/models.h with its cadre:models line here)\n");
        free(models);
        return 1;
    }
    char decl[96];
    snprintf(decl, sizeof decl, "CADRE_MODEL(%s,", model);
    if (strstr(models, decl)) {
        fprintf(stderr, "error: cadre generate model: src/models.h has a model %s already\n", model);
        free(models);
        return 1;
    }
    /* the model */
    char upper[64];
    size_t ml = strlen(model);
    for (size_t i = 0; i <= ml; i++)
        upper[i] = (char)(model[i] >= 'a' && model[i] <= 'z' ? model[i] - 'a' + 'A' : model[i]);
    cadre_buf def, cols;
    cadre_buf_init(&def, (size_t)1 << 20);
    cadre_buf_init(&cols, 4096);
    cadre_buf_appendf(&def, "/* %s: made by cadre generate model; yours to change. */\n"
                            "#define %s_FIELDS(F)%*s\\\n    %-94s\\\n", model, upper,
                      (int)(80 - ml), "", "F(int64, id, CADRE_PRIMARY_KEY)");
    cadre_buf_append_str(&cols, "id");
    for (int i = 2; i < argc; i++) {
        char name[64];
        if (!field_line(&def, argv[i], models, name)) {
            cadre_buf_free(&def);
            cadre_buf_free(&cols);
            free(models);
            return 2;
        }
        if (i < 5)
            cadre_buf_appendf(&cols, ", %s", name);
    }
    def.len -= 2; /* the last line's backslash, and the spaces before it */
    while (def.len && def.data[def.len - 1] == ' ')
        def.len--;
    cadre_buf_appendf(&def, "\nCADRE_MODEL(%s, %s_FIELDS)\n\n", model, upper);
    /* the edits, all prepared before any is written */
    struct edit {
        const char *path, *marker;
        char *text;
        cadre_buf out;
        bool done;
    } edits[8];
    size_t nedits = 0;
    bool admin = false;
    char line[512];
    const char *paths[] = { "src/app.c", "src/core.c", "src/ops.c", "src/api.c",
                            "tests/app_test.c" };
    struct {
        const char *marker;
        const char *fmt;
    } adds[] = {
        { "/* cadre:schemas */", "                 , CADRE_SCHEMA_OF(%1$s)\n" },
        { "/* cadre:api */", "    cadre_crud(app, \"/%1$ss\", CADRE_SCHEMA_OF(%1$s), db);\n" },
        { "/* cadre:admin */", "    cadre_admin_register(app, CADRE_SCHEMA_OF(%1$s), .list = \"%2$s\");\n" },
        { "/* cadre:tests", "    request(\"GET\", \"/api/%1$ss\", auth, NULL);\n"
                            "    CHECK(res.status == 200, \"GET /api/%1$ss: %%d %%s\", res.status, res.body);\n" },
    };
    edits[nedits].path = "src/models.h";
    edits[nedits].text = models;
    cadre_buf_init(&edits[nedits].out, (size_t)16 << 20);
    edits[nedits].done = insert_before(models, "/* cadre:models", cadre_buf_cstr(&def),
                                       &edits[nedits].out);
    nedits++;
    const char *colstext = cadre_buf_cstr(&cols);
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++) {
        char *text = slurp(paths[p]);
        if (!text)
            continue;
        cadre_buf cur;
        cadre_buf_init(&cur, (size_t)16 << 20);
        cadre_buf_append_str(&cur, text);
        bool changed = false;
        for (size_t a = 0; a < sizeof adds / sizeof adds[0]; a++) {
            const char *now = cadre_buf_cstr(&cur);
            if (!strstr(now, adds[a].marker))
                continue;
            snprintf(line, sizeof line, adds[a].fmt, model, colstext);
            cadre_buf next;
            cadre_buf_init(&next, (size_t)16 << 20);
            insert_before(now, adds[a].marker, line, &next);
            admin |= strcmp(adds[a].marker, "/* cadre:admin */") == 0;
            cadre_buf_free(&cur);
            cur = next;
            changed = true;
        }
        if (changed) {
            edits[nedits].path = paths[p];
            edits[nedits].text = text;
            edits[nedits].out = cur;
            edits[nedits++].done = true;
        } else {
            cadre_buf_free(&cur);
            free(text);
        }
    }
    int rc = 0;
    for (size_t i = 0; i < nedits && rc == 0; i++)
        if (edits[i].done && replace_file(edits[i].path, &edits[i].out) != 0) {
            fprintf(stderr, "error: cadre generate model: cannot write %s: %s\n", edits[i].path,
                    strerror(errno));
            rc = 1;
        }
    for (size_t i = 0; i < nedits; i++) {
        cadre_buf_free(&edits[i].out);
        free(edits[i].text);
    }
    cadre_buf_free(&def);
    cadre_buf_free(&cols);
    if (rc)
        return rc;
    /* the project's name, for the next commands: meson.build's project('NAME', ...) */
    char project[64] = "PROJECT";
    char *build = slurp("meson.build");
    const char *q = build ? strstr(build, "project('") : NULL;
    if (q) {
        q += 9;
        size_t n = strcspn(q, "'");
        if (n > 0 && n < sizeof project)
            snprintf(project, sizeof project, "%.*s", (int)n, q);
    }
    free(build);
    printf("Added the model %s: src/models.h, its API at /api/%ss%s, a test. Next:\n"
           "  ninja -C build && ./build/%s makemigrations && ./build/%s migrate && "
           "meson test -C build\n",
           model, model, admin ? ", its admin page" : "", project, project);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "new") == 0)
        return cmd_new(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "generate") == 0)
        return cmd_generate(argc - 2, argv + 2);
    if (argc >= 2 && (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
                      strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
