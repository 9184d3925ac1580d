/*
 * Settings from outside the program: the configuration file that $CADRE_CONFIG names (NAME=value
 * lines, systemd's EnvironmentFile and Docker's --env-file), read once before anything reads a
 * setting, each name it sets becoming part of the environment unless the environment has it
 * already — the command line wins over the environment, the environment over the file; and
 * secrets that may come from a file (NAME_FILE).
 */
#include "config_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE (1 << 20)
#define MAX_FROM_FILE 64

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int result;
static char *from_file[MAX_FROM_FILE]; /* the names the file gave */
static size_t nfrom;

static bool setting_name(const char *s, size_t n)
{
    if (n == 4 && memcmp(s, "PORT", 4) == 0)
        return true;
    if (n < 7 || memcmp(s, "CADRE_", 6) != 0)
        return false;
    for (size_t i = 6; i < n; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

int cadre__config_parse(const char *text, size_t len, const char *path,
                        void (*set)(const char *name, const char *value, void *ctx), void *ctx)
{
    int refused = 0;
    char line[4096];
    size_t at = 0;
    for (int no = 1; at < len; no++) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
        /* a line that does not fit, or holds a NUL byte, is refused whole */
        bool fits = n < sizeof line && !memchr(text + at, '\0', n);
        const char *start = text + at;
        at += n + (nl != NULL);
        if (!fits) {
            cadre_log(CADRE_LOG_ERROR, "%s:%d: a line longer than 4095 bytes, or with a NUL byte",
                      path, no);
            refused++;
            continue;
        }
        memcpy(line, start, n);
        line[n] = '\0';
        if (n && line[n - 1] == '\r')
            line[n - 1] = '\0';
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#')
            continue;
        if (strncmp(p, "export ", 7) == 0)
            p += 7;
        char *eq = strchr(p, '=');
        if (!eq || !setting_name(p, (size_t)(eq - p))) {
            cadre_log(CADRE_LOG_ERROR, "%s:%d: not a setting: NAME=value lines, NAME being "
                                       "CADRE_... or PORT", path, no);
            refused++;
            continue;
        }
        *eq = '\0';
        char *v = eq + 1;
        size_t vl = strlen(v);
        if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
            v[vl - 1] = '\0';
            v++;
        }
        set(p, v, ctx);
    }
    return refused;
}

/* A setting of the file: into the environment, unless the environment has it already. */
static void set_env(const char *name, const char *value, void *ctx)
{
    (void)ctx;
    if (getenv(name))
        return;
    if (setenv(name, value, 0) != 0) {
        result = CADRE_ENOMEM;
        return;
    }
    if (nfrom < MAX_FROM_FILE)
        from_file[nfrom++] = strdup(name);
}

static void load(void)
{
    const char *path = getenv("CADRE_CONFIG");
    if (!path || !*path)
        return;
    FILE *f = fopen(path, "re");
    char *text = f ? malloc(MAX_FILE + 1) : NULL;
    size_t len = text ? fread(text, 1, MAX_FILE + 1, f) : 0;
    int err = !f ? errno : !text ? ENOMEM : ferror(f) ? EIO : 0;
    if (f)
        fclose(f);
    if (err || len > MAX_FILE) {
        cadre_log(CADRE_LOG_ERROR, "CADRE_CONFIG: cannot read %s: %s", path,
                  err ? strerror(err) : "larger than 1 MiB");
        result = CADRE_EINVAL;
    } else if (cadre__config_parse(text, len, path, set_env, NULL) != 0) {
        result = CADRE_EINVAL;
    }
    free(text);
}

int cadre_config_load(void)
{
    pthread_once(&once, load);
    return result;
}

bool cadre_config_from_file(const char *name)
{
    for (size_t i = 0; i < nfrom; i++)
        if (from_file[i] && strcmp(from_file[i], name) == 0)
            return true;
    return false;
}

char *cadre_env_secret(const char *name, bool *failed)
{
    if (failed)
        *failed = false;
    const char *v = getenv(name);
    if (v && *v)
        return strdup(v);
    char file_var[128];
    if (snprintf(file_var, sizeof file_var, "%s_FILE", name) >= (int)sizeof file_var)
        return NULL;
    const char *path = getenv(file_var);
    if (!path || !*path)
        return NULL;
    FILE *f = fopen(path, "re");
    char buf[4096];
    char *line = f ? fgets(buf, sizeof buf, f) : NULL;
    int err = f ? (line ? 0 : EINVAL) : errno;
    if (f)
        fclose(f);
    if (!line) {
        cadre_log(CADRE_LOG_ERROR, "%s: cannot read %s: %s", file_var, path,
                  err == EINVAL ? "it is empty" : strerror(err));
        if (failed)
            *failed = true;
        return NULL;
    }
    buf[strcspn(buf, "\r\n")] = '\0';
    return strdup(buf);
}
