/*
 * auth's commands: createsuperuser, changepassword, clearsessions (Django's, with their words);
 * createuser; createtoken, tokens, revoketoken; permissions, group.
 * Answers are read from the terminal (passwords without echo) or, when stdin is not one, a line
 * at a time from stdin, so that scripts and tests can give them.
 */
#include "auth/auth_internal.h"

#include "cadre/migrate.h"
#include "cadre/schema.h"

#include <errno.h>
#include <fnmatch.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define TRIES 3

/* Reads one line into buf (without its newline); no echo for a secret on a terminal. Returns
 * false at the end of input or for a line longer than the buffer. */
static bool ask(const char *prompt, char *buf, size_t size, bool secret)
{
    fputs(prompt, stdout);
    fflush(stdout);
    struct termios old, quiet;
    bool tty = secret && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
    if (tty) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    bool ok = fgets(buf, (int)size, stdin) != NULL;
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputs("\n", stdout);
    }
    if (!ok)
        return false;
    size_t n = strlen(buf);
    if (n && buf[n - 1] == '\n')
        buf[--n] = '\0';
    else if (n == size - 1 && !feof(stdin))
        return false;
    if (n && buf[n - 1] == '\r')
        buf[--n] = '\0';
    return true;
}

/* Why username cannot be a new user's name, or NULL. */
static const char *username_problem(auth_state *st, const char *username, cadre_arena *a)
{
    const cadre_schema *us = cadre_user__schema();
    cadre_user u = { 0 };
    cadre_verrors errs;
    cadre_verrors_init(&errs, a);
    if (cadre_schema_decode_text(us, cadre_schema_field(us, "username", 8),
                                 cadre_slice_cstr(username), &u, a, "user", &errs) != 0)
        return !username[0] ? "This field cannot be blank."
               : strlen(username) > 150 ? "Ensure this value has at most 150 characters."
                                        : "Enter a valid username: letters, digits and @.+-_ only.";
    cadre_rows rows;
    const cadre_value p = CADRE_PTEXT(username);
    int rc = cadre_db_query(st->db, a, us, &rows, "SELECT id FROM cadre_user WHERE username = ?",
                            &p, 1);
    if (rc)
        return cadre_arena_printf(a, "The database answered: %s", cadre_strerror(rc));
    return rows.len ? "That username is already taken." : NULL;
}

/* The auth tables must exist: say so in the user's words when migrate has not run. */
static bool migrated(auth_state *st, const char *argv0)
{
    size_t pending = 0;
    if (cadre_app_migrations_pending(st->app, &pending) != 0 || pending) {
        fprintf(stderr, "error: %zu migration(s) not applied yet: run `%s migrate` first\n",
                pending, argv0);
        return false;
    }
    return true;
}

/* Asks for a password twice until it is given alike and strong enough (or the user bypasses the
 * check, as Django allows interactively). */
static bool ask_password(char *pw, size_t size, const char *username, const char *email)
{
    char again[CADRE_PASSWORD_MAX + 2];
    bool ok = false, ended = false;
    for (int i = 0; i < TRIES && !ok && !ended; i++) {
        if (!ask("Password: ", pw, size, true) || !ask("Password (again): ", again, sizeof again, true)) {
            ended = true; /* the input ended (or a line too long): nothing more to ask */
            break;
        }
        if (strcmp(pw, again) != 0) {
            fprintf(stderr, "Error: Your passwords didn't match.\n");
            continue;
        }
        if (!pw[0]) {
            fprintf(stderr, "Error: Blank passwords aren't allowed.\n");
            continue;
        }
        const char *weak = cadre_password_weak(cadre_slice_cstr(pw), cadre_slice_cstr(username),
                                               cadre_slice_cstr(email));
        if (!weak) {
            ok = true;
            break;
        }
        fprintf(stderr, "%s\n", weak);
        char yn[16];
        if (strlen(pw) <= CADRE_PASSWORD_MAX &&
            ask("Bypass password validation and create user anyway? [y/N]: ", yn, sizeof yn, false) &&
            (yn[0] == 'y' || yn[0] == 'Y'))
            ok = true;
    }
    sodium_memzero(again, sizeof again);
    if (!ok && !ended)
        fprintf(stderr, "Aborting: too many errors.\n");
    return ok;
}

/* createsuperuser, and createuser (super false: a user, staff with --staff); with --noinput the
 * username, e-mail and password come from CADRE_SUPERUSER_* or CADRE_USER_*. */
static int create_user(cadre_app *app, int argc, char **argv, auth_state *st, bool super)
{
    const char *username = NULL, *email = NULL;
    const char *env = super ? "CADRE_SUPERUSER_" : "CADRE_USER_";
    bool noinput = false, staff = super;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--noinput") == 0 || strcmp(argv[i], "--no-input") == 0)
            noinput = true;
        else if (strcmp(argv[i], "--username") == 0 && i + 1 < argc)
            username = argv[++i];
        else if (strcmp(argv[i], "--email") == 0 && i + 1 < argc)
            email = argv[++i];
        else if (!super && strcmp(argv[i], "--staff") == 0)
            staff = true;
        else {
            fprintf(stderr, "usage: %s %s [--username NAME] [--email ADDRESS]%s [--noinput]\n",
                    program_invocation_short_name, super ? "createsuperuser" : "createuser",
                    super ? "" : " [--staff]");
            return 2;
        }
    }
    char var[32];
    if (!migrated(st, program_invocation_short_name))
        return 1;
    cadre_arena a;
    cadre_arena_init(&a, 4096);
    int status = 1;
    char name[256], mail[512], pw[CADRE_PASSWORD_MAX + 2];
    pw[0] = '\0';
    if (noinput) {
        snprintf(var, sizeof var, "%sUSERNAME", env);
        username = username ? username : getenv(var);
        if (!username || !*username) {
            fprintf(stderr, "error: --noinput needs a username: --username NAME or %s\n", var);
            goto out;
        }
        snprintf(var, sizeof var, "%sEMAIL", env);
        email = email ? email : getenv(var);
        snprintf(var, sizeof var, "%sPASSWORD", env);
        const char *p = getenv(var);
        const char *why = username_problem(st, username, &a);
        if (why) {
            fprintf(stderr, "error: username %s: %s\n", username, why);
            goto out;
        }
        if (p && strlen(p) > CADRE_PASSWORD_MAX) {
            fprintf(stderr, "error: %s: longer than 4096 bytes\n", var);
            goto out;
        }
        snprintf(pw, sizeof pw, "%s", p ? p : "");
    } else {
        const char *given = username ? username_problem(st, username, &a) : NULL;
        if (given) {
            fprintf(stderr, "error: username %s: %s\n", username, given);
            goto out;
        }
        int i = 0;
        for (; !username && i < TRIES; i++) {
            if (!ask("Username: ", name, sizeof name, false))
                goto out;
            const char *why = username_problem(st, name, &a);
            if (!why)
                username = name;
            else
                fprintf(stderr, "Error: %s\n", why);
        }
        if (!username) {
            fprintf(stderr, "Aborting: too many errors.\n");
            goto out;
        }
        if (!email) {
            if (!ask("Email address: ", mail, sizeof mail, false))
                goto out;
            email = mail;
        }
        if (!ask_password(pw, sizeof pw, username, email))
            goto out;
    }
    /* Django's --noinput without a password: an unusable one, set later */
    int64_t id;
    int rc = cadre_user_create(app, username, email ? email : "", pw[0] ? pw : NULL, super, &id);
    if (rc == 0 && staff && !super) {
        const cadre_value p = CADRE_PINT(id);
        rc = cadre_db_exec(st->db, "UPDATE cadre_user SET is_staff = TRUE WHERE id = ?", &p, 1,
                           NULL, NULL);
    }
    if (rc) {
        fprintf(stderr, "error: the user could not be created: %s\n",
                rc == CADRE_EEXIST ? "that username is already taken" : cadre_strerror(rc));
        goto out;
    }
    printf("%s created successfully.\n", super ? "Superuser" : staff ? "Staff user" : "User");
    if (!pw[0])
        printf("It has no usable password yet: set one with `changepassword %s`.\n", username);
    status = 0;
out:
    sodium_memzero(pw, sizeof pw);
    cadre_arena_free(&a);
    return status;
}

#define USER_ID_FIELDS(F) F(int64, id) F(string, email)
CADRE_SCHEMA(user_id_row, USER_ID_FIELDS)

static int cmd_createsuperuser(cadre_app *app, int argc, char **argv, void *ctx)
{
    return create_user(app, argc, argv, ctx, true);
}

static int cmd_createuser(cadre_app *app, int argc, char **argv, void *ctx)
{
    return create_user(app, argc, argv, ctx, false);
}

static int cmd_changepassword(cadre_app *app, int argc, char **argv, void *ctx)
{
    auth_state *st = ctx;
    if (argc > 2) {
        fprintf(stderr, "usage: %s changepassword [USERNAME]\n", program_invocation_short_name);
        return 2;
    }
    const char *username = argc == 2 ? argv[1] : getenv("USER");
    if (!username) {
        fprintf(stderr, "error: name the user: changepassword USERNAME\n");
        return 2;
    }
    if (!migrated(st, program_invocation_short_name))
        return 1;
    cadre_arena a;
    cadre_arena_init(&a, 4096);
    int status = 1;
    char pw[CADRE_PASSWORD_MAX + 2];
    pw[0] = '\0';
    user_id_row u;
    bool found;
    const cadre_value p = CADRE_PTEXT(username);
    int rc = cadre_db_query_one(st->db, &a, user_id_row__schema(), &u, &found,
                                "SELECT id, email FROM cadre_user WHERE username = ?", &p, 1);
    if (rc || !found) {
        fprintf(stderr, "error: %s\n", rc ? cadre_strerror(rc)
                                          : cadre_arena_printf(&a, "user '%s' does not exist", username));
        goto out;
    }
    printf("Changing password for user '%s'\n", username);
    char *email = cadre_arena_printf(&a, "%.*s", (int)u.email.len, u.email.ptr);
    if (!ask_password(pw, sizeof pw, username, email ? email : ""))
        goto out;
    rc = cadre_user_set_password(app, NULL, u.id, cadre_slice_cstr(pw));
    if (rc) {
        fprintf(stderr, "error: the password could not be changed: %s\n", cadre_strerror(rc));
        goto out;
    }
    printf("Password changed successfully for user '%s' (its sessions are ended).\n", username);
    status = 0;
out:
    sodium_memzero(pw, sizeof pw);
    cadre_arena_free(&a);
    return status;
}

static int cmd_clearsessions(cadre_app *app, int argc, char **argv, void *ctx)
{
    (void)ctx;
    if (argc > 1) {
        fprintf(stderr, "usage: %s clearsessions\n", program_invocation_short_name);
        return 2;
    }
    int64_t n = 0;
    int rc = cadre_auth_clear_sessions(app, &n);
    if (rc) {
        fprintf(stderr, "error: %s\n", cadre_strerror(rc));
        return 1;
    }
    printf("%lld expired session(s) deleted.\n", (long long)n);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Tokens
 * ------------------------------------------------------------------------------------------- */

static int cmd_createtoken(cadre_app *app, int argc, char **argv, void *ctx)
{
    auth_state *st = ctx;
    const char *args[2] = { NULL, NULL }, *scopes = "";
    long long days = 0;
    int nargs = 0;
    bool bad = false;
    for (int i = 1; i < argc && !bad; i++) {
        char *end;
        if (strcmp(argv[i], "--scopes") == 0 && i + 1 < argc) {
            scopes = argv[++i];
        } else if (strcmp(argv[i], "--expires") == 0 && i + 1 < argc) {
            errno = 0;
            days = strtoll(argv[++i], &end, 10);
            if (errno || *end || end == argv[i] || days < 1 || days > 36500) {
                fprintf(stderr, "error: --expires: a number of days, 1 to 36500\n");
                return 2;
            }
        } else if (argv[i][0] != '-' && nargs < 2) {
            args[nargs++] = argv[i];
        } else {
            bad = true;
        }
    }
    if (bad || nargs != 2) {
        fprintf(stderr, "usage: %s createtoken USERNAME NAME [--scopes \"SCOPE ...\"] "
                        "[--expires DAYS]\n", program_invocation_short_name);
        return 2;
    }
    size_t nlen = strlen(args[1]);
    const char *why = nlen < 1 || nlen > 100 ? "NAME: 1 to 100 characters"
                      : cadre__scopes_problem(cadre_slice_cstr(scopes));
    if (why) {
        fprintf(stderr, "error: %s\n", why);
        return 2;
    }
    if (!migrated(st, program_invocation_short_name))
        return 1;
    cadre_arena a;
    cadre_arena_init(&a, 1024);
    user_id_row u;
    bool found;
    const cadre_value p = CADRE_PTEXT(args[0]);
    int rc = cadre_db_query_one(st->db, &a, user_id_row__schema(), &u, &found,
                                "SELECT id, email FROM cadre_user WHERE username = ?", &p, 1);
    int status = 1;
    char token[CADRE_TOKEN_SIZE];
    int64_t id = 0;
    if (rc || !found) {
        fprintf(stderr, "error: %s\n", rc ? cadre_strerror(rc)
                                          : cadre_arena_printf(&a, "user '%s' does not exist", args[0]));
    } else if ((rc = cadre_token_create(app, u.id, args[1], scopes,
                                        days ? (int64_t)time(NULL) + days * 86400 : 0, token,
                                        &id)) != 0) {
        fprintf(stderr, "error: the token could not be made: %s\n", cadre_strerror(rc));
    } else {
        printf("%s\n", token);
        fprintf(stderr, "Token %lld '%s' for user '%s'%s%s. Copy it now: it is not shown again.\n",
                (long long)id, args[1], args[0], scopes[0] ? ", scopes " : "", scopes);
        sodium_memzero(token, sizeof token);
        status = 0;
    }
    cadre_arena_free(&a);
    return status;
}

#define TOKEN_LIST_FIELDS(F)                                                                       \
    F(int64, id)                                                                                   \
    F(string, username)                                                                            \
    F(string, name)                                                                                \
    F(string, prefix)                                                                              \
    F(string, scopes)                                                                              \
    F(datetime, expires, CADRE_OPTIONAL, CADRE_NULLABLE)                                           \
    F(datetime, last_used, CADRE_OPTIONAL, CADRE_NULLABLE)
CADRE_SCHEMA(token_list_row, TOKEN_LIST_FIELDS)

/* A time as "2026-12-05 14:03 UTC", or "never" for null. */
static const char *when(cadre_arena *a, const cadre_datetime *t, bool null, const char *none)
{
    if (null)
        return none;
    time_t sec = (time_t)t->sec;
    struct tm tm;
    char buf[32];
    gmtime_r(&sec, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
    return cadre_arena_printf(a, "%s", buf);
}

static int cmd_tokens(cadre_app *app, int argc, char **argv, void *ctx)
{
    (void)app;
    auth_state *st = ctx;
    if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
        fprintf(stderr, "usage: %s tokens [USERNAME]\n", program_invocation_short_name);
        return 2;
    }
    if (!migrated(st, program_invocation_short_name))
        return 1;
    cadre_arena a;
    cadre_arena_init(&a, 4096);
    cadre_rows rows;
    const cadre_value p[2] = { CADRE_PTEXT(argc == 2 ? argv[1] : ""),
                               CADRE_PTEXT(argc == 2 ? argv[1] : "") };
    int rc = cadre_db_query(st->db, &a, token_list_row__schema(), &rows,
                            "SELECT t.id, u.username, t.name, t.prefix, t.scopes, t.expires, "
                            "t.last_used FROM cadre_token t JOIN cadre_user u ON u.id = t.user_id "
                            "WHERE ? = '' OR u.username = ? ORDER BY u.username, t.id",
                            p, 2);
    if (rc) {
        fprintf(stderr, "error: %s\n", cadre_strerror(rc));
        cadre_arena_free(&a);
        return 1;
    }
    if (!rows.len)
        printf("No tokens.\n");
    else
        printf("%-6s %-16s %-24s %-22s %-22s %-22s %s\n", "ID", "USER", "NAME", "TOKEN",
               "EXPIRES", "LAST USED", "SCOPES");
    const token_list_row *t = rows.items;
    for (size_t i = 0; i < rows.len; i++, t++)
        printf("%-6lld %-16.*s %-24.*s %-22s %-22s %-22s %.*s\n", (long long)t->id,
               (int)t->username.len, t->username.ptr, (int)t->name.len, t->name.ptr,
               cadre_arena_printf(&a, "cadre_%.*s_...", (int)t->prefix.len, t->prefix.ptr),
               when(&a, &t->expires, cadre_is_null(t, token_list_row, expires), "never"),
               when(&a, &t->last_used, cadre_is_null(t, token_list_row, last_used), "never"),
               t->scopes.len ? (int)t->scopes.len : 3, t->scopes.len ? t->scopes.ptr : "all");
    cadre_arena_free(&a);
    return 0;
}

static int cmd_revoketoken(cadre_app *app, int argc, char **argv, void *ctx)
{
    auth_state *st = ctx;
    char *end = NULL;
    long long id = argc == 2 ? strtoll(argv[1], &end, 10) : 0;
    if (argc != 2 || *end || id < 1) {
        fprintf(stderr, "usage: %s revoketoken ID   (the ID that `tokens` lists)\n",
                program_invocation_short_name);
        return 2;
    }
    if (!migrated(st, program_invocation_short_name))
        return 1;
    int rc = cadre_token_revoke(app, 0, id);
    if (rc) {
        fprintf(stderr, "error: %s\n",
                rc == CADRE_ENOTFOUND ? "no such token (see `tokens`)" : cadre_strerror(rc));
        return 1;
    }
    printf("Token %lld revoked.\n", id);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Permissions and groups
 * ------------------------------------------------------------------------------------------- */

static int cmd_permissions(cadre_app *app, int argc, char **argv, void *ctx)
{
    (void)app, (void)argv;
    auth_state *st = ctx;
    if (argc > 1) {
        fprintf(stderr, "usage: %s permissions\n", program_invocation_short_name);
        return 2;
    }
    const char *name;
    for (size_t i = 0; (name = cadre__perm_at(st, i)) != NULL; i++)
        printf("%s\n", name);
    return 0;
}

#define NAME_ROW_FIELDS(F) F(string, name)
CADRE_SCHEMA(name_row, NAME_ROW_FIELDS)

/* Prints rows of one text column after a label: "label: a, b" or "label: (none)". */
static int print_names(auth_state *st, cadre_arena *a, const char *label, const char *sql,
                       int64_t id)
{
    cadre_rows rows;
    const cadre_value p = CADRE_PINT(id);
    int rc = cadre_db_query(st->db, a, name_row__schema(), &rows, sql, &p, 1);
    if (rc)
        return rc;
    printf("  %s: ", label);
    const name_row *n = rows.items;
    for (size_t i = 0; i < rows.len; i++)
        printf("%s%.*s", i ? ", " : "", (int)n[i].name.len, n[i].name.ptr);
    printf("%s\n", rows.len ? "" : "(none)");
    return 0;
}

/* How many permissions perm names: 1 for one that exists, every match of a pattern with '*'
 * ("shop.*", "*.view_*"); 0: none. With fn, calls it on each (stopping at an error). */
static int each_perm(auth_state *st, const char *perm, int (*fn)(cadre_app *, int64_t, const char *),
                     int64_t gid, int *rc)
{
    int n = 0;
    const char *name;
    bool pattern = strchr(perm, '*') != NULL;
    for (size_t i = 0; (name = cadre__perm_at(st, i)) != NULL && (!rc || *rc == 0); i++)
        if (pattern ? fnmatch(perm, name, 0) == 0 : strcmp(perm, name) == 0) {
            n++;
            if (fn)
                *rc = fn(st->app, gid, name);
        }
    return n;
}

static int cmd_group(cadre_app *app, int argc, char **argv, void *ctx)
{
    auth_state *st = ctx;
    if (argc < 2 || argv[1][0] == '-' || (argc % 2) != 0) {
        fprintf(stderr, "usage: %s group NAME [--grant PERM] [--revoke PERM] [--add USERNAME] "
                        "[--remove USERNAME] ...   (made when missing; PERM may have '*': "
                        "'shop.*'; see `permissions`)\n",
                program_invocation_short_name);
        return 2;
    }
    for (int i = 2; i < argc; i += 2)
        if (strcmp(argv[i], "--grant") && strcmp(argv[i], "--revoke") && strcmp(argv[i], "--add") &&
            strcmp(argv[i], "--remove")) {
            fprintf(stderr, "error: %s: not --grant, --revoke, --add or --remove\n", argv[i]);
            return 2;
        }
    if (!migrated(st, program_invocation_short_name))
        return 1;
    cadre_arena a;
    cadre_arena_init(&a, 1024);
    /* everything checked before anything is made: a refusal leaves no half-made group */
    int64_t *users = cadre_arena_alloc(&a, (size_t)argc * sizeof *users);
    int bad = users ? 0 : 1;
    for (int i = 2; i < argc && users; i += 2) {
        const char *what = argv[i], *arg = argv[i + 1];
        if (strcmp(what, "--grant") == 0 || strcmp(what, "--revoke") == 0) {
            if (each_perm(st, arg, NULL, 0, NULL) == 0) {
                fprintf(stderr, "error: no permission %s '%s' (see `%s permissions`)\n",
                        strchr(arg, '*') ? "matches" : "is named", arg, program_invocation_name);
                bad = 1;
            }
            continue;
        }
        user_id_row u;
        bool found;
        const cadre_value p = CADRE_PTEXT(arg);
        int rc = cadre_db_query_one(st->db, &a, user_id_row__schema(), &u, &found,
                                    "SELECT id, email FROM cadre_user WHERE username = ?", &p, 1);
        if (rc || !found) {
            fprintf(stderr, "error: user '%s' %s\n", arg,
                    rc ? cadre_strerror(rc) : "does not exist");
            bad = 1;
        }
        users[i] = found ? u.id : 0;
    }
    if (bad) {
        cadre_arena_free(&a);
        return 1;
    }
    int64_t gid = 0;
    int rc = cadre_group_create(app, argv[1], &gid);
    if (rc && rc != CADRE_EEXIST) {
        fprintf(stderr, "error: group '%s': %s\n", argv[1],
                rc == CADRE_EINVAL ? "a name of 1 to 150 characters" : cadre_strerror(rc));
        return 1;
    }
    if (rc == 0)
        printf("Group '%s' created.\n", argv[1]);
    int status = 0;
    for (int i = 2; i < argc && status == 0; i += 2) {
        const char *what = argv[i], *arg = argv[i + 1];
        rc = 0;
        if (strcmp(what, "--grant") == 0)
            each_perm(st, arg, cadre_group_grant, gid, &rc);
        else if (strcmp(what, "--revoke") == 0)
            each_perm(st, arg, cadre_group_revoke, gid, &rc);
        else
            rc = what[2] == 'a' ? cadre_user_join(app, users[i], gid)
                                : cadre_user_leave(app, users[i], gid);
        if (rc)
            fprintf(stderr, "error: %s %s: %s\n", what, arg, cadre_strerror(rc));
        status = rc ? 1 : 0;
    }
    printf("Group '%s':\n", argv[1]);
    if (print_names(st, &a, "permissions",
                    "SELECT perm AS name FROM cadre_group_perm WHERE group_id = ? ORDER BY perm",
                    gid) != 0 ||
        print_names(st, &a, "members",
                    "SELECT u.username AS name FROM cadre_user_group ug JOIN cadre_user u "
                    "ON u.id = ug.user_id WHERE ug.group_id = ? ORDER BY u.username", gid) != 0)
        status = 1;
    cadre_arena_free(&a);
    return status;
}

int cadre__auth_commands(auth_state *st)
{
    int rc = cadre_app_command(st->app, "createsuperuser",
                               "createsuperuser [--username U] [--email E] [--noinput]   "
                               "creates a superuser (CADRE_SUPERUSER_* with --noinput)",
                               cmd_createsuperuser, st);
    if (rc == 0)
        rc = cadre_app_command(st->app, "createuser",
                               "createuser [--username U] [--email E] [--staff] [--noinput]   "
                               "creates a user (CADRE_USER_* with --noinput)", cmd_createuser, st);
    if (rc == 0)
        rc = cadre_app_command(st->app, "changepassword",
                               "changepassword [USERNAME]   sets a user's password (ends its "
                               "sessions)", cmd_changepassword, st);
    if (rc == 0)
        rc = cadre_app_command(st->app, "clearsessions",
                               "clearsessions   deletes expired sessions", cmd_clearsessions, st);
    if (rc == 0)
        rc = cadre_app_command(st->app, "createtoken",
                               "createtoken USERNAME NAME [--scopes S] [--expires DAYS]   makes an "
                               "API token (shown once)", cmd_createtoken, st);
    if (rc == 0)
        rc = cadre_app_command(st->app, "tokens", "tokens [USERNAME]   lists API tokens",
                               cmd_tokens, st);
    if (rc == 0)
        rc = cadre_app_command(st->app, "revoketoken", "revoketoken ID   revokes an API token",
                               cmd_revoketoken, st);
    if (rc == 0)
        rc = cadre_app_command(st->app, "permissions", "permissions   lists every permission",
                               cmd_permissions, st);
    if (rc == 0)
        rc = cadre_app_command(st->app, "group",
                               "group NAME [--grant PERM] [--revoke PERM] [--add USER] "
                               "[--remove USER]...   makes and changes a group", cmd_group, st);
    return rc;
}
