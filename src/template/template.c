/*
 * Template sets: compiling sources (from a directory or from memory), linking extends/include by
 * name, reloading in development, and rendering into a response.
 */
#include "template_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int cadre__template_parse(cadre_arena *a, ttemplate *t);
int cadre__templates_render(cadre_templates *set, ttemplate *t, const cadre_tctx *ctx,
                            cadre_buf *out);

ttemplate *cadre__template_find(cadre_templates *t, const char *name, size_t len)
{
    for (size_t i = 0; i < t->len; i++)
        if (strlen(t->items[i].name) == len && memcmp(t->items[i].name, name, len) == 0)
            return &t->items[i];
    return NULL;
}

static void set_free(cadre_templates *t)
{
    if (!t)
        return;
    cadre_arena_free(&t->arena);
    free(t);
}

/* Resolves every include of l to its template (an unknown name is an error). */
static int link_includes(cadre_templates *set, ttemplate *t, tlist *l)
{
    int rc = 0;
    for (size_t i = 0; i < l->len; i++) {
        tnode *n = l->items[i];
        if (n->kind == N_INCLUDE &&
            !(n->inc = cadre__template_find(set, n->expr->lit.u.s.ptr, n->expr->lit.u.s.len))) {
            cadre_log(CADRE_LOG_ERROR, "%s:%d: {%% include \"%s\" %%}: no such template", t->name,
                      n->line, n->expr->lit.u.s.ptr);
            rc = CADRE_EPARSE;
        }
        for (size_t k = 0; n->kind == N_IF && k <= n->nconds; k++)
            rc = link_includes(set, t, &n->bodies[k]) ? CADRE_EPARSE : rc;
        if (n->kind == N_FOR || n->kind == N_BLOCK) {
            rc = link_includes(set, t, &n->body) ? CADRE_EPARSE : rc;
            rc = link_includes(set, t, &n->empty) ? CADRE_EPARSE : rc;
        }
    }
    return rc;
}

static bool cycle_from(ttemplate *t);

/* Whether an include in l leads back to a template being walked. */
static bool cycle_in(const tlist *l)
{
    for (size_t i = 0; i < l->len; i++) {
        const tnode *n = l->items[i];
        if (n->kind == N_INCLUDE && cycle_from(n->inc))
            return true;
        for (size_t k = 0; n->kind == N_IF && k <= n->nconds; k++)
            if (cycle_in(&n->bodies[k]))
                return true;
        if ((n->kind == N_FOR || n->kind == N_BLOCK) && (cycle_in(&n->body) || cycle_in(&n->empty)))
            return true;
    }
    return false;
}

/* Depth-first over includes and extends, each template walked once: a template met again while
 * it is being walked closes a cycle, which rendering would follow for ever. */
static bool cycle_from(ttemplate *t)
{
    if (t->visit == 1)
        return true;
    if (t->visit == 2)
        return false;
    t->visit = 1;
    bool cycle = cycle_in(&t->root) || (t->parent_t && cycle_from(t->parent_t));
    t->visit = 2;
    return cycle;
}

int cadre__templates_compile(const cadre_template_source *src, size_t n, cadre_templates **out)
{
    *out = NULL;
    cadre_templates *set = calloc(1, sizeof *set);
    if (!set)
        return CADRE_ENOMEM;
    cadre_arena_init(&set->arena, 65536);
    pthread_mutex_init(&set->lock, NULL);
    set->items = cadre_arena_calloc(&set->arena, (n + 1) * sizeof *set->items);
    if (!set->items) {
        set_free(set);
        return CADRE_ENOMEM;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        ttemplate *t = &set->items[set->len++];
        t->name = cadre_arena_strndup(&set->arena, src[i].name, strlen(src[i].name));
        t->source = cadre_arena_strndup(&set->arena, src[i].text, src[i].len);
        t->len = src[i].len;
        if (!t->name || !t->source) {
            set_free(set);
            return CADRE_ENOMEM;
        }
        if (cadre__template_parse(&set->arena, t) != 0)
            rc = CADRE_EPARSE;
    }
    for (size_t i = 0; i < set->len && rc == 0; i++) {
        ttemplate *t = &set->items[i];
        if (t->parent) {
            t->parent_t = cadre__template_find(set, t->parent, strlen(t->parent));
            if (!t->parent_t) {
                cadre_log(CADRE_LOG_ERROR, "%s: {%% extends \"%s\" %%}: no such template", t->name,
                          t->parent);
                rc = CADRE_EPARSE;
            }
        }
        rc = link_includes(set, t, &t->root) ? CADRE_EPARSE : rc;
    }
    for (size_t i = 0; i < set->len && rc == 0; i++) { /* no cycle of includes and extends */
        if (cycle_from(&set->items[i])) {
            cadre_log(CADRE_LOG_ERROR, "%s: {%% include %%} or {%% extends %%} comes back to this "
                                       "template (a cycle: render recursive data with a loop "
                                       "instead)", set->items[i].name);
            rc = CADRE_EPARSE;
        }
    }
    if (rc) {
        set_free(set);
        return rc;
    }
    *out = set;
    return 0;
}

int cadre_templates_load_sources(const cadre_template_source *src, size_t n, cadre_templates **out)
{
    return cadre__templates_compile(src, n, out);
}

/* ---------------------------------------------------------------------------------------------
 * A directory
 * ------------------------------------------------------------------------------------------- */

typedef struct found {
    cadre_template_source *items;
    size_t len, cap;
    int64_t newest;
} found;

static bool template_file(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcmp(dot, ".html") == 0 || strcmp(dot, ".txt") == 0 || strcmp(dot, ".xml") == 0);
}

static int read_all(const char *path, char **data, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return CADRE_EIO;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > ((size_t)64 << 20)) {
                rc = CADRE_ETOOBIG;
                break;
            }
            char *nb = realloc(buf, cap);
            if (!nb) {
                rc = CADRE_ENOMEM;
                break;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            rc = ferror(f) ? CADRE_EIO : 0;
            break;
        }
    }
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    *data = buf;
    *len = n;
    return 0;
}

/* Collects the template files under dir/rel (names relative to dir); with data NULL, only the
 * newest modification time and the count (the reload check). */
static int walk(const char *dir, const char *rel, found *f, bool data, int depth)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s%s%s", dir, *rel ? "/" : "", rel) >= sizeof path)
        return CADRE_ETOOBIG;
    DIR *d = opendir(path);
    if (!d) {
        cadre_log(CADRE_LOG_ERROR, "templates: cannot open %s: %s", path, strerror(errno));
        return CADRE_EIO;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char sub[2048], full[4096];
        if ((size_t)snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", e->d_name) >= sizeof sub)
            continue; /* a name too long to be a template's */
        snprintf(full, sizeof full, "%s/%s", dir, sub);
        struct stat sb;
        if (stat(full, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            if (depth < 16)
                rc = walk(dir, sub, f, data, depth + 1);
            continue;
        }
        if (!S_ISREG(sb.st_mode) || !template_file(e->d_name))
            continue;
        int64_t mt = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
        if (mt > f->newest)
            f->newest = mt;
        if (f->len == f->cap) {
            size_t cap = f->cap ? f->cap * 2 : 16;
            cadre_template_source *n = realloc(f->items, cap * sizeof *n);
            if (!n) {
                rc = CADRE_ENOMEM;
                break;
            }
            f->items = n;
            f->cap = cap;
        }
        cadre_template_source *s = &f->items[f->len++];
        *s = (cadre_template_source){ strdup(sub), NULL, 0 };
        if (!s->name) {
            rc = CADRE_ENOMEM;
        } else if (data) {
            char *text;
            rc = read_all(full, &text, &s->len);
            s->text = rc ? NULL : text;
            if (rc)
                cadre_log(CADRE_LOG_ERROR, "templates: cannot read %s: %s", full, cadre_strerror(rc));
        }
    }
    closedir(d);
    return rc;
}

static void found_free(found *f)
{
    for (size_t i = 0; i < f->len; i++) {
        free((char *)f->items[i].name);
        free((char *)f->items[i].text);
    }
    free(f->items);
}

static int load_dir(const char *dir, cadre_templates **out, int64_t *newest, size_t *count)
{
    found f = { 0 };
    int rc = walk(dir, "", &f, true, 0);
    if (rc == 0)
        rc = cadre__templates_compile(f.items, f.len, out);
    *newest = f.newest;
    *count = f.len;
    found_free(&f);
    return rc;
}

int cadre_templates_load_dir(const char *dir, bool reload, cadre_templates **out)
{
    *out = NULL;
    int64_t newest;
    size_t count;
    int rc = load_dir(dir, out, &newest, &count);
    if (rc)
        return rc;
    cadre_templates *t = *out;
    t->reload = reload;
    t->dir = strdup(dir);
    t->stamp = newest;
    t->nfiles = count;
    if (!t->dir) {
        cadre_templates_free(t);
        *out = NULL;
        return CADRE_ENOMEM;
    }
    return 0;
}

/* The set to render from: in reload mode, recompiled first when a file changed. */
static cadre_templates *current(cadre_templates *t)
{
    if (!t->reload)
        return t;
    pthread_mutex_lock(&t->lock);
    found f = { 0 };
    if (walk(t->dir, "", &f, false, 0) == 0 && (f.newest != t->stamp || f.len != t->nfiles)) {
        cadre_templates *fresh;
        int64_t newest;
        size_t count;
        if (load_dir(t->dir, &fresh, &newest, &count) == 0) {
            if (t->current) { /* kept until the set is freed: another thread may be using it */
                t->current->retired = t->retired;
                t->retired = t->current;
            }
            t->current = fresh;
            cadre_log(CADRE_LOG_INFO, "templates: reloaded %s", t->dir);
        }
        t->stamp = f.newest; /* a broken edit is not retried until the next change */
        t->nfiles = f.len;
    }
    found_free(&f);
    cadre_templates *use = t->current ? t->current : t;
    pthread_mutex_unlock(&t->lock);
    return use;
}

void cadre_templates_free(cadre_templates *t)
{
    if (!t)
        return;
    for (cadre_templates *r = t->retired; r;) {
        cadre_templates *next = r->retired;
        set_free(r);
        r = next;
    }
    set_free(t->current);
    pthread_mutex_destroy(&t->lock);
    free(t->dir);
    set_free(t);
}

/* ---------------------------------------------------------------------------------------------
 * Rendering
 * ------------------------------------------------------------------------------------------- */

int cadre_template_render(cadre_templates *t, const char *name, const cadre_tctx *ctx,
                          cadre_buf *out)
{
    cadre_templates *set = current(t);
    ttemplate *tp = cadre__template_find(set, name, strlen(name));
    if (!tp)
        return CADRE_ENOTFOUND;
    return cadre__templates_render(set, tp, ctx, out);
}

static void free_templates(void *p)
{
    cadre_templates_free(p);
}

int cadre_templates_use(cadre_app *app, cadre_templates *t)
{
    return cadre_app_attach(app, "cadre.templates", t, free_templates);
}

int cadre_render(cadre_request *r, int status, const char *name, cadre_tctx ctx)
{
    cadre_templates *t = r->ctx ? cadre_app_attachment(r->ctx, "cadre.templates") : NULL;
    if (!t) {
        cadre_log(CADRE_LOG_ERROR, "cadre_render(\"%s\"): the app has no templates "
                                   "(cadre_templates_use)", name);
        return CADRE_ESTATE;
    }
    cadre_buf out;
    cadre_buf_init_arena(&out, r->arena, (size_t)1 << 30);
    int rc = cadre_template_render(t, name, &ctx, &out);
    if (rc == CADRE_ENOTFOUND) {
        cadre_log(CADRE_LOG_ERROR, "cadre_render: no template \"%s\"", name);
        return CADRE_ESTATE;
    }
    if (rc)
        return rc;
    const char *dot = strrchr(name, '.');
    const char *type = dot && strcmp(dot, ".txt") == 0   ? "text/plain; charset=utf-8"
                       : dot && strcmp(dot, ".xml") == 0 ? "application/xml"
                                                         : "text/html; charset=utf-8";
    return cadre_respond_ref(r, status, type, out.data ? out.data : "", out.len);
}
