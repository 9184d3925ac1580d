/* cadre_main: the subcommands every Cadre binary has, as manage.py is Django's. */
#include "app_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f, const char *prog, const cadre_app *app)
{
    for (size_t i = 0; i < app->ncommands; i++)
        fprintf(f, "%s %s %s\n", i ? "      " : "usage:", prog, app->commands[i].usage);
    fprintf(f,
            "\n"
            "serve options:\n"
            "  --host HOST              listen address (127.0.0.1)\n"
            "  --port PORT              listen port ($PORT, else 8000; 0 picks a free one)\n"
            "  --workers N              worker threads (online CPUs)\n"
            "  --log-level LEVEL        debug, info, warn, error, off (info)\n"
            "  --log-format FORMAT      plain or json (plain)\n"
            "  --access-log             log every request\n"
            "  --no-request-ids         no X-Request-ID (each request gets an id, sent back\n"
            "                           and in its log records, unless this is given)\n"
            "  --no-metrics             count nothing, no /metrics (on by default)\n"
            "  --log-sql                log every SQL statement with its time (no parameter\n"
            "                           values); also $CADRE_LOG_SQL=1\n"
            "  --dev                    development mode: a debug page for 500s (never in\n"
            "                           production); also $CADRE_DEV=1\n"
            "  --reload                 development: rebuild (ninja) and restart on every saved\n"
            "                           change of the sources, keeping the socket open (--dev)\n"
            "  --docs-assets DIR        serve /docs and /redoc scripts from DIR (npm's\n"
            "                           node_modules) instead of a CDN ($CADRE_DOCS_ASSETS)\n"
            "  --header-timeout MS      request head must arrive within (10000)\n"
            "  --body-timeout MS        request body must arrive within (30000)\n"
            "  --keepalive-timeout MS   idle connections close after (60000)\n"
            "  --write-timeout MS       stalled responses are dropped after (30000)\n"
            "  --shutdown-timeout MS    in-flight requests get this long at SIGTERM (10000)\n"
            "  --drain-delay MS         at SIGTERM, /readyz answers 503 and the server keeps\n"
            "                           serving this long before it stops (0; a second\n"
            "                           signal stops at once): above the load balancer's\n"
            "                           check interval\n"
            "  --max-body BYTES         request body limit (1048576)\n"
            "  --max-head BYTES         request line + headers limit (16384)\n"
            "  --max-target BYTES       request target limit (8192)\n"
            "signals: SIGTERM, SIGINT or SIGHUP stop gracefully (a second one at once);\n"
            "  SIGUSR2 upgrades: starts the program at argv[0]'s path again on the same\n"
            "  listening sockets, and this process exits once the new one serves\n");
}

/* Parses a non-negative integer option value; prints the error itself. */
static int num(const char *opt, const char *v, unsigned long long min, unsigned long long max,
               unsigned long long *out)
{
    char *end;
    errno = 0;
    if (!v || !*v || *v < '0' || *v > '9') {
        fprintf(stderr, "error: %s needs a number from %llu to %llu\n", opt, min, max);
        return -1;
    }
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end || n < min || n > max) {
        fprintf(stderr, "error: %s: \"%s\" is not a number from %llu to %llu\n", opt, v, min, max);
        return -1;
    }
    *out = n;
    return 0;
}


static const char *prog_name = "app"; /* argv[0] of cadre_main, for the usage text */

static int cmd_help(cadre_app *app, int argc, char **argv, void *ctx)
{
    (void)argc, (void)argv, (void)ctx;
    usage(stdout, prog_name, app);
    return 0;
}

static int cmd_routes(cadre_app *app, int argc, char **argv, void *ctx)
{
    (void)argv, (void)ctx;
    if (argc > 1) {
        fprintf(stderr, "error: routes takes no arguments\n");
        return 2;
    }
    if (cadre_app_check(app))
        return 1;
    for (size_t i = 0; i < app->nroutes; i++)
        printf("%-7s %s%s\n", app->routes[i].method, app->routes[i].pattern,
               !app->routes[i].prefix ? "" : strcmp(app->routes[i].pattern, "/") ? "/*" : "*");
    return 0;
}

static int cmd_openapi(cadre_app *app, int argc, char **argv, void *ctx)
{
    (void)argv, (void)ctx;
    if (argc > 1) {
        fprintf(stderr, "error: openapi takes no arguments\n");
        return 2;
    }
    cadre_buf doc;
    cadre_buf_init(&doc, (size_t)1 << 26);
    int status = 1;
    if (cadre_app_check(app) == 0 && cadre_app_openapi(app, &doc) == 0) {
        fwrite(doc.data, 1, doc.len, stdout);
        fputc('\n', stdout);
        status = 0;
    } else {
        fprintf(stderr, "error: could not build the OpenAPI document\n");
    }
    cadre_buf_free(&doc);
    return status;
}

/* A reload child tells its supervisor it listens: a byte on the descriptor it was given. */
static void ready(int port, void *ctx)
{
    (void)port;
    int fd = (int)(intptr_t)ctx;
    ssize_t n = write(fd, "r", 1);
    (void)n;
    close(fd);
}

/* The serve settings that the environment may give, each as its option: a value, or for a
 * switch "1"/"true"/"yes" (on) — flags given on the command line win over them. */
static const struct {
    const char *env, *flag;
    bool value; /* the option takes a value; else a switch */
} env_settings[] = {
    { "CADRE_HOST", "--host", true },
    { "CADRE_PORT", "--port", true },
    { "CADRE_WORKERS", "--workers", true },
    { "CADRE_LOG_LEVEL", "--log-level", true },
    { "CADRE_LOG_FORMAT", "--log-format", true },
    { "CADRE_ACCESS_LOG", "--access-log", false },
    { "CADRE_NO_REQUEST_IDS", "--no-request-ids", false },
    { "CADRE_NO_METRICS", "--no-metrics", false },
    { "CADRE_HEADER_TIMEOUT", "--header-timeout", true },
    { "CADRE_BODY_TIMEOUT", "--body-timeout", true },
    { "CADRE_KEEPALIVE_TIMEOUT", "--keepalive-timeout", true },
    { "CADRE_WRITE_TIMEOUT", "--write-timeout", true },
    { "CADRE_SHUTDOWN_TIMEOUT", "--shutdown-timeout", true },
    { "CADRE_DRAIN_DELAY", "--drain-delay", true },
    { "CADRE_MAX_BODY", "--max-body", true },
    { "CADRE_MAX_HEAD", "--max-head", true },
    { "CADRE_MAX_TARGET", "--max-target", true },
};
#define NENV (sizeof env_settings / sizeof env_settings[0])

/* The serve settings: the app's, then $PORT and the CADRE_* environment, then the options of
 * argv (argv[0] is the command). Returns 0, or 2 after saying which setting is wrong. */
static int resolve(cadre_app *app, int argc, char **argv, cadre_server_config *cfg_out,
                   cadre_log_level *level_out, cadre_log_format *format_out, bool *reload_out)
{
    int status = 2;
    bool reload = false;
    cadre_server_config cfg = app->config;
    cadre_log_level level = CADRE_LOG_INFO;
    cadre_log_format format = CADRE_LOG_PLAIN;
    const char *env_port = getenv("PORT");
    unsigned long long v;
    if (env_port && *env_port) {
        if (num("$PORT", env_port, 0, 65535, &v) != 0)
            return 2;
        cfg.port = (int)v;
    }
    /* the environment's settings first, as options labelled with where they come from */
    const char **args = calloc(2 * NENV + (size_t)argc, sizeof *args);
    char **labels = calloc(2 * NENV + (size_t)argc, sizeof *labels);
    char label_text[NENV][160];
    int nargs = 0;
    if (!args || !labels) {
        fprintf(stderr, "error: out of memory\n");
        goto out;
    }
    for (size_t k = 0; k < NENV; k++) {
        const char *e = getenv(env_settings[k].env);
        if (!e || !*e)
            continue;
        snprintf(label_text[k], sizeof label_text[k], "%s=%.100s (environment)",
                 env_settings[k].env, e);
        if (!env_settings[k].value) {
            bool on = strcmp(e, "1") == 0 || strcmp(e, "true") == 0 || strcmp(e, "yes") == 0;
            if (!on && strcmp(e, "0") != 0 && strcmp(e, "false") != 0 && strcmp(e, "no") != 0) {
                fprintf(stderr, "error: %s: 1, true or yes, or 0, false or no\n", label_text[k]);
                goto out;
            }
            if (!on)
                continue;
            labels[nargs] = label_text[k];
            args[nargs++] = env_settings[k].flag;
            continue;
        }
        labels[nargs] = label_text[k];
        args[nargs++] = env_settings[k].flag;
        labels[nargs] = label_text[k];
        args[nargs++] = e;
    }
    for (int i = 1; i < argc; i++) {
        labels[nargs] = NULL;
        args[nargs++] = argv[i];
    }
    for (int i = 0; i < nargs; i++) {
        const char *o = args[i];
        const char *val = i + 1 < nargs ? args[i + 1] : NULL;
        const char *label = labels[i] ? labels[i] : o; /* what an error names */
        #define OPT(name) (strcmp(o, name) == 0)
#define NUM_IN(min, max)                                                                           \
    do {                                                                                           \
        if (num(label, val, (min), (max), &v) != 0)                                                    \
            goto out;                                                                              \
        i++;                                                                                       \
    } while (0)
#define NUM(max) NUM_IN(0, max)
/* a timeout of 0 would close every connection at once: 1 ms at least */
#define TIMEOUT() NUM_IN(1, 86400000)
        if (OPT("--host")) {
            if (!val) {
                fprintf(stderr, "error: %s needs a value\n", label);
                goto out;
            }
            cfg.host = val;
            i++;
        } else if (OPT("--port")) {
            NUM(65535);
            cfg.port = (int)v;
        } else if (OPT("--workers")) {
            NUM(1024);
            cfg.workers = (int)v;
        } else if (OPT("--log-level")) {
            if (!val || cadre_log_level_parse(val, &level) != 0) {
                fprintf(stderr, "error: %s: debug, info, warn, error or off\n", label);
                goto out;
            }
            i++;
        } else if (OPT("--log-format")) {
            if (val && strcmp(val, "plain") == 0)
                format = CADRE_LOG_PLAIN;
            else if (val && strcmp(val, "json") == 0)
                format = CADRE_LOG_JSON;
            else {
                fprintf(stderr, "error: %s: plain or json\n", label);
                goto out;
            }
            i++;
        } else if (OPT("--docs-assets")) {
            if (!val) {
                fprintf(stderr, "error: %s needs a directory\n", label);
                goto out;
            }
            if (cadre_app_docs_assets(app, val) != 0) {
                fprintf(stderr, "error: not serving with --docs-assets %s (see above); without "
                                "the option /docs and /redoc load their scripts from a CDN\n", val);
                goto out;
            }
            i++;
        } else if (OPT("--no-request-ids")) {
            cfg.request_ids = false;
        } else if (OPT("--no-metrics")) {
            cadre__metrics_off(app);
        } else if (OPT("--access-log")) {
            cfg.access_log = true;
        } else if (OPT("--log-sql")) {
            cadre_log_sql(true);
        } else if (OPT("--dev")) {
            cadre_app_dev_mode(app, true);
        } else if (OPT("--reload")) {
            reload = true;
        } else if (OPT("--header-timeout")) {
            TIMEOUT();
            cfg.header_timeout_ms = (unsigned)v;
        } else if (OPT("--body-timeout")) {
            TIMEOUT();
            cfg.body_timeout_ms = (unsigned)v;
        } else if (OPT("--keepalive-timeout")) {
            TIMEOUT();
            cfg.keepalive_timeout_ms = (unsigned)v;
        } else if (OPT("--write-timeout")) {
            TIMEOUT();
            cfg.write_timeout_ms = (unsigned)v;
        } else if (OPT("--shutdown-timeout")) {
            NUM(86400000);
            cfg.shutdown_timeout_ms = (unsigned)v;
        } else if (OPT("--drain-delay")) {
            NUM(3600000);
            cfg.drain_delay_ms = (unsigned)v;
        } else if (OPT("--max-body")) {
            NUM((unsigned long long)1 << 40);
            cfg.limits.max_body = (size_t)v;
        } else if (OPT("--max-head")) {
            NUM((unsigned long long)1 << 24);
            cfg.limits.max_head = (size_t)v;
        } else if (OPT("--max-target")) {
            NUM((unsigned long long)1 << 24);
            cfg.limits.max_target = (size_t)v;
        } else {
            fprintf(stderr, "error: unknown option \"%s\"\n", o);
            usage(stderr, prog_name, app);
            goto out;
        }
#undef OPT
#undef NUM
#undef NUM_IN
#undef TIMEOUT
    }
    if (cfg.limits.max_head < 64 || cfg.limits.max_target < 1) {
        fprintf(stderr, "error: --max-head must be at least 64 and --max-target at least 1\n");
        goto out;
    }
    *cfg_out = cfg;
    *level_out = level;
    *format_out = format;
    *reload_out = reload;
    status = 0;
out:
    free(args);
    free(labels);
    return status;
}

/* serve [options]: argv[0] is "serve" */
static int cmd_serve(cadre_app *app, int argc, char **argv, void *ctx)
{
    (void)ctx;
    cadre_server_config cfg;
    cadre_log_level level;
    cadre_log_format format;
    bool reload;
    int status = resolve(app, argc, argv, &cfg, &level, &format, &reload);
    if (status)
        return status;
    cadre_log_configure(level, format, -1);
    if (reload)
        return cadre__serve_reload(&cfg, argc, argv);
    const char *ready_fd = getenv("CADRE_READY_FD"); /* started by serve --reload */
    if (ready_fd && *ready_fd) {
        cfg.on_listen = ready;
        cfg.on_listen_ctx = (void *)(intptr_t)atoi(ready_fd);
        fcntl(atoi(ready_fd), F_SETFD, FD_CLOEXEC);
        unsetenv("CADRE_READY_FD");
        const char *errors = getenv("CADRE_RELOAD_ERRORS");
        app->reload_errors = errors && *errors ? errors : NULL;
        const char *source = getenv("CADRE_RELOAD_SOURCE");
        app->reload_source = source && *source == '/' ? source : NULL;
    }
    return cadre_app_serve(app, &cfg) == 0 ? 0 : 1;
}

int cadre_app_serve_command(cadre_app *app, int argc, char **argv, bool operations_only)
{
    app->operations_only = operations_only;
    return cmd_serve(app, argc, argv, NULL);
}

/* Where setting k's value came from: the command line, the environment, or the default. */
static const char *source_of(size_t k, int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], env_settings[k].flag) == 0)
            return "command line";
    const char *e = getenv(env_settings[k].env);
    return !e || !*e ? "default" : cadre_config_from_file(env_settings[k].env) ? "config file"
                                                                              : "environment";
}

/* A secret's line: set or not, and from where, never its value. */
static void secret_line(const char *name)
{
    char file[64];
    snprintf(file, sizeof file, "%s_FILE", name);
    const char *v = getenv(name), *f = getenv(file);
    if (v && *v)
        printf("%-26s ******** # %s, hidden\n", name,
               cadre_config_from_file(name) ? "config file" : "environment");
    else if (f && *f && access(f, R_OK) == 0)
        printf("%-26s ******** # from %s=%s, hidden\n", name, file, f);
    else if (f && *f)
        printf("%-26s (%s=%s cannot be read)\n", name, file, f);
    else
        printf("%-26s (not set)\n", name);
}

/* values[k] of the setting named env (one of env_settings), written with fmt. */
static void show(char values[][64], const char *env, const char *fmt, ...) CADRE_PRINTF(3, 4);
static void show(char values[][64], const char *env, const char *fmt, ...)
{
    for (size_t k = 0; k < NENV; k++)
        if (strcmp(env_settings[k].env, env) == 0) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(values[k], 64, fmt, ap);
            va_end(ap);
        }
}

/* config [serve options]: the settings serve would run with, each with where it came from, the
 * secrets hidden; checked as serve checks them (a bad one: status 2, naming it). */
static int cmd_config(cadre_app *app, int argc, char **argv, void *ctx)
{
    (void)ctx;
    cadre_server_config c;
    cadre_log_level level;
    cadre_log_format format;
    bool reload;
    if (cadre_app_check(app) != 0) /* the configuration file's errors, among others */
        return 1;
    int status = resolve(app, argc, argv, &c, &level, &format, &reload);
    if (status)
        return status;
    static const char *const levels[] = { "debug", "info", "warn", "error", "off" };
    char values[NENV][64] = { { 0 } };
    show(values, "CADRE_HOST", "%s", c.host);
    show(values, "CADRE_PORT", "%d", c.port);
    show(values, "CADRE_WORKERS", "%d%s", c.workers, c.workers ? "" : " (one per CPU)");
    show(values, "CADRE_LOG_LEVEL", "%s", levels[level]);
    show(values, "CADRE_LOG_FORMAT", "%s", format == CADRE_LOG_JSON ? "json" : "plain");
    show(values, "CADRE_ACCESS_LOG", "%d", c.access_log);
    show(values, "CADRE_NO_REQUEST_IDS", "%d", !c.request_ids);
    show(values, "CADRE_NO_METRICS", "%d", !cadre__metrics_on(app));
    show(values, "CADRE_HEADER_TIMEOUT", "%u", c.header_timeout_ms);
    show(values, "CADRE_BODY_TIMEOUT", "%u", c.body_timeout_ms);
    show(values, "CADRE_KEEPALIVE_TIMEOUT", "%u", c.keepalive_timeout_ms);
    show(values, "CADRE_WRITE_TIMEOUT", "%u", c.write_timeout_ms);
    show(values, "CADRE_SHUTDOWN_TIMEOUT", "%u", c.shutdown_timeout_ms);
    show(values, "CADRE_DRAIN_DELAY", "%u", c.drain_delay_ms);
    show(values, "CADRE_MAX_BODY", "%zu", c.limits.max_body);
    show(values, "CADRE_MAX_HEAD", "%zu", c.limits.max_head);
    show(values, "CADRE_MAX_TARGET", "%zu", c.limits.max_target);
    for (size_t k = 0; k < NENV; k++)
        printf("%-26s %-24s # %s, %s\n", env_settings[k].env, values[k],
               source_of(k, argc, argv), env_settings[k].flag);
    /* the database: its URL without a password */
    const char *url = getenv("CADRE_DATABASE_URL");
    const char *from = cadre_config_from_file("CADRE_DATABASE_URL") ? "config file" : "environment";
    if (url && *url) {
        const char *scheme = strstr(url, "://"), *at = strrchr(url, '@');
        const char *colon = scheme && at ? memchr(scheme + 3, ':', (size_t)(at - scheme - 3)) : NULL;
        if (strstr(url, "password="))
            printf("%-26s %s\n", "CADRE_DATABASE_URL", "(set, with a password: hidden)");
        else if (colon)
            printf("%-26s %.*s:********%s # %s, password hidden\n", "CADRE_DATABASE_URL",
                   (int)(colon - url), url, at, from);
        else
            printf("%-26s %s # %s\n", "CADRE_DATABASE_URL", url, from);
    } else {
        const char *f = getenv("CADRE_DATABASE_URL_FILE");
        printf("%-26s %s\n", "CADRE_DATABASE_URL",
               f && *f ? "(read from the file in CADRE_DATABASE_URL_FILE)"
                       : "(not set: the app's default database)");
    }
    secret_line("CADRE_SECRET_KEY");
    secret_line("CADRE_METRICS_TOKEN");
    const char *allow = getenv("CADRE_METRICS_ALLOW"), *proxies = getenv("CADRE_TRUSTED_PROXIES");
    printf("%-26s %s\n", "CADRE_METRICS_ALLOW", allow && *allow ? allow : "(loopback only)");
    printf("%-26s %s\n", "CADRE_TRUSTED_PROXIES", proxies && *proxies ? proxies : "(none)");
    return 0;
}

void cadre__main_install(cadre_app *app)
{
    /* the built-in commands, first in the table: `APP help` lists them before the modules' */
    static const struct {
        const char *name, *usage;
        cadre_command_fn fn;
    } builtin[] = {
        { "serve", "[serve] [options]     serves the app (the default; options below)", cmd_serve },
        { "config", "config [options]      prints the settings serve would use, and from where",
          cmd_config },
        { "routes", "routes                lists the routes", cmd_routes },
        { "openapi", "openapi               prints the OpenAPI 3.1 document", cmd_openapi },
        { "help", "help                  this text", cmd_help },
    };
    for (size_t i = 0; i < sizeof builtin / sizeof *builtin; i++)
        if (cadre_app_command(app, builtin[i].name, builtin[i].usage, builtin[i].fn, NULL) != 0)
            cadre_app_config_error(app, NULL, 0, "cannot add the %s command: out of memory",
                                   builtin[i].name);
}

int cadre_main(cadre_app *app, int argc, char **argv)
{
    if (!app) {
        fprintf(stderr, "error: no app (out of memory?)\n");
        return 1;
    }
    prog_name = argc > 0 ? argv[0] : "app";
    if (cadre_config_load() != 0) { /* every command: a setting it would read may be the bad one */
        fprintf(stderr, "error: the configuration file that CADRE_CONFIG names has errors (said "
                        "above): nothing done\n");
        return 1;
    }
    const char *env_docs = getenv("CADRE_DOCS_ASSETS");
    if (env_docs && *env_docs && cadre_app_docs_assets(app, env_docs) != 0)
        cadre_log(CADRE_LOG_WARN, "CADRE_DOCS_ASSETS=%s is not used (see above): /docs and /redoc "
                                  "load their scripts from a CDN", env_docs);
    const char *env_sql = getenv("CADRE_LOG_SQL");
    if (env_sql && strcmp(env_sql, "1") == 0)
        cadre_log_sql(true);
    const char *env_dev = getenv("CADRE_DEV");
    if (env_dev && strcmp(env_dev, "1") == 0)
        cadre_app_dev_mode(app, true);
    /* APP [serve] [options] | APP COMMAND ARGS… ; --help anywhere after the command: help */
    char *serve_argv[] = { "serve", NULL };
    int cargc = argc - 1;
    char **cargv = argv + 1;
    if (cargc == 0 || cargv[0][0] == '-') { /* no command: serve, with these options */
        static char *with[256];
        if (argc > 255) {
            fprintf(stderr, "error: too many arguments\n");
            cadre_app_free(app);
            return 2;
        }
        with[0] = serve_argv[0];
        for (int k = 1; k < argc; k++)
            with[k] = argv[k];
        cargc = argc;
        cargv = with;
    }
    const char *cmd = cargv[0];
    for (int k = 1; k < cargc; k++)
        if (strcmp(cargv[k], "--help") == 0 || strcmp(cargv[k], "-h") == 0)
            cmd = "help";
    int status = 2;
    size_t k = 0;
    while (k < app->ncommands && strcmp(cmd, app->commands[k].name) != 0)
        k++;
    if (k == app->ncommands) {
        /* a module whose set-up failed has not added its commands: its errors come first */
        cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
        size_t errors = cadre_app_check(app);
        if (errors)
            fprintf(stderr, "error: %zu configuration error(s) above: a module they stopped may "
                            "be the one that adds \"%s\"\n", errors, cmd);
        fprintf(stderr, "error: unknown command \"%s\"; the commands are:", cmd);
        for (size_t i = 0; i < app->ncommands; i++)
            fprintf(stderr, "%s %s", i ? "," : "", app->commands[i].name);
        fprintf(stderr, " (%s help explains each)\n", prog_name);
    } else {
        if (strcmp(cmd, "serve") != 0)
            cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
        status = app->commands[k].fn(app, cargc, cargv, app->commands[k].ctx);
    }
    cadre_app_free(app);
    return status;
}
