/*
 * The configuration file: $CADRE_CONFIG names a file of NAME=value lines (systemd's
 * EnvironmentFile, Docker's --env-file), read once, before anything reads a setting. Each name it
 * sets becomes part of the environment unless the environment has it already: the command line
 * wins over the environment, the environment over the file.
 */
#include <cadre/base.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void load(void)
{
    const char *path = getenv("CADRE_CONFIG");
    if (!path || !*path)
        return;
    FILE *f = fopen(path, "re");
    if (!f) {
        cadre_log(CADRE_LOG_ERROR, "CADRE_CONFIG: cannot read %s: %s", path, strerror(errno));
        result = CADRE_EINVAL;
        return;
    }
    char line[4096];
    for (int no = 1; fgets(line, sizeof line, f); no++) {
        size_t n = strcspn(line, "\r\n");
        line[n] = '\0';
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
            result = CADRE_EINVAL;
            continue;
        }
        *eq = '\0';
        char *v = eq + 1;
        size_t vl = strlen(v);
        if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
            v[vl - 1] = '\0';
            v++;
        }
        if (getenv(p))
            continue; /* the environment wins */
        if (setenv(p, v, 0) != 0) {
            result = CADRE_ENOMEM;
            continue;
        }
        if (nfrom < MAX_FROM_FILE)
            from_file[nfrom++] = strdup(p);
    }
    fclose(f);
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
