/*
 * Template sets: compiling sources, linking extends/include by name, collecting them from layers
 * (sources in memory, a directory, a compiled set) into one set — their union, a later layer's
 * template replacing an earlier one's — and recompiling that union when a layer changes (reload
 * mode, for development). The app's layers and rendering into a response are stack.c's.
 */
#include "template_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

ttemplate *cadre__template_find(cadre_templates *t, const char *name, size_t len)
{
    for (size_t i = 0; i < t->len; i++)
        if (strlen(t->items[i].name) == len && memcmp(t->items[i].name, name, len) == 0)
            return &t->items[i];
    return NULL;
}

void cadre__template_error(const tdiag *d, size_t index, const char *name, int line, int col,
                           const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (d && d->fn)
        d->fn(d, d->layers ? &d->layers[d->origin[index]] : NULL, name, line, col, msg);
    else if (line && col)
        cadre_log(CADRE_LOG_ERROR, "%s:%d:%d: %s", name, line, col, msg);
    else if (line)
        cadre_log(CADRE_LOG_ERROR, "%s:%d: %s", name, line, msg);
    else
        cadre_log(CADRE_LOG_ERROR, "%s: %s", name, msg);
}

static void set_free(cadre_templates *t)
{
    if (!t)
        return;
    cadre_arena_free(&t->arena);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* Resolves every include of l to its template (an unknown name is an error). */
static int link_includes(cadre_templates *set, ttemplate *t, tlist *l, const tdiag *d,
                         size_t index)
{
    int rc = 0;
    for (size_t i = 0; i < l->len; i++) {
        tnode *n = l->items[i];
        if (n->kind == N_INCLUDE &&
            !(n->inc = cadre__template_find(set, n->expr->lit.u.s.ptr, n->expr->lit.u.s.len))) {
            cadre__template_error(d, index, t->name, n->line, 0,
                                  "{%% include \"%s\" %%}: no such template", n->expr->lit.u.s.ptr);
            rc = CADRE_EPARSE;
        }
        for (size_t k = 0; n->kind == N_IF && k <= n->nconds; k++)
            rc = link_includes(set, t, &n->bodies[k], d, index) ? CADRE_EPARSE : rc;
        if (n->kind == N_FOR || n->kind == N_BLOCK) {
            rc = link_includes(set, t, &n->body, d, index) ? CADRE_EPARSE : rc;
            rc = link_includes(set, t, &n->empty, d, index) ? CADRE_EPARSE : rc;
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

int cadre__templates_compile(const cadre_template_source *src, size_t n, const tdiag *d,
                             cadre_templates **out)
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
        if (cadre__template_parse(&set->arena, t, d, i) != 0)
            rc = CADRE_EPARSE;
    }
    for (size_t i = 0; i < set->len && rc == 0; i++) {
        ttemplate *t = &set->items[i];
        if (t->parent) {
            t->parent_t = cadre__template_find(set, t->parent, strlen(t->parent));
            if (!t->parent_t) {
                cadre__template_error(d, i, t->name, t->parent_line, 0,
                                      "{%% extends \"%s\" %%}: no such template", t->parent);
                rc = CADRE_EPARSE;
            }
        }
        rc = link_includes(set, t, &t->root, d, i) ? CADRE_EPARSE : rc;
    }
    for (size_t i = 0; i < set->len && rc == 0; i++) { /* no cycle of includes and extends */
        if (cycle_from(&set->items[i])) {
            cadre__template_error(d, i, set->items[i].name, 0, 0,
                                  "{%% include %%} or {%% extends %%} comes back to this template "
                                  "(a cycle: render recursive data with a loop instead)");
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
    return cadre__templates_compile(src, n, NULL, out);
}

/* ---------------------------------------------------------------------------------------------
 * Layers: what a set is compiled from
 * ------------------------------------------------------------------------------------------- */

/* A template found in a layer. */
typedef struct fentry {
    cadre_template_source s;
    size_t layer;
    bool owned; /* s.name and s.text were read from a file (malloc'd) */
} fentry;

typedef struct found {
    fentry *items;
    size_t len, cap;
    int64_t newest;
} found;

/* A new entry at the end of f (zeroed), or NULL when memory runs out. */
static fentry *found_push(found *f)
{
    if (f->len == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        fentry *n = realloc(f->items, cap * sizeof *n);
        if (!n)
            return NULL;
        f->items = n;
        f->cap = cap;
    }
    fentry *e = &f->items[f->len++];
    *e = (fentry){ 0 };
    return e;
}

static void found_free(found *f)
{
    for (size_t i = 0; i < f->len; i++) {
        if (f->items[i].owned) {
            free((char *)f->items[i].s.name);
            free((char *)f->items[i].s.text);
        }
    }
    free(f->items);
}

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

/* Collects the template files under dir/rel (names relative to dir) as entries of layer; with
 * data false, only the newest modification time and the count (the reload check). */
static int walk(const char *dir, const char *rel, found *f, bool data, int depth, size_t layer)
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
                rc = walk(dir, sub, f, data, depth + 1, layer);
            continue;
        }
        if (!S_ISREG(sb.st_mode) || !template_file(e->d_name))
            continue;
        int64_t mt = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
        if (mt > f->newest)
            f->newest = mt;
        fentry *s = found_push(f);
        if (!s) {
            rc = CADRE_ENOMEM;
            break;
        }
        *s = (fentry){ { .name = strdup(sub) }, layer, true };
        if (!s->s.name) {
            rc = CADRE_ENOMEM;
        } else if (data) {
            char *text;
            rc = read_all(full, &text, &s->s.len);
            s->s.text = rc ? NULL : text;
            if (rc)
                cadre_log(CADRE_LOG_ERROR, "templates: cannot read %s: %s", full, cadre_strerror(rc));
        }
    }
    closedir(d);
    return rc;
}

/* Collects the templates of the layers into f, in order; seen[i] gets what layer i holds. A
 * directory that cannot be read is reported to d (the walk has logged why). */
static int gather(const tlayer *layers, size_t n, const tdiag *d, found *f, tseen *seen)
{
    for (size_t i = 0; i < n; i++) {
        const tlayer *l = &layers[i];
        seen[i] = (tseen){ 0 };
        if (l->dir) {
            size_t before = f->len;
            f->newest = 0;
            int rc = walk(l->dir, "", f, true, 0, i);
            if (rc) {
                if (d && d->fn)
                    d->fn(d, l, NULL, 0, 0, cadre_strerror(rc));
                return rc;
            }
            seen[i].newest = f->newest;
            seen[i].nfiles = f->len - before;
        }
        for (size_t k = 0; k < l->n; k++) {
            fentry *e = found_push(f);
            if (!e)
                return CADRE_ENOMEM;
            *e = (fentry){ l->src[k], i, false };
        }
        if (l->set) {
            cadre_templates *set = seen[i].set = cadre__templates_current(l->set);
            for (size_t k = 0; k < set->len; k++) {
                fentry *e = found_push(f);
                if (!e)
                    return CADRE_ENOMEM;
                e->s = (cadre_template_source){ .name = set->items[k].name,
                                                .text = set->items[k].source,
                                                .len = set->items[k].len };
                e->layer = i;
            }
        }
    }
    return 0;
}

/* Whether a later entry of f has the name of entry i (and replaces it). Quadratic, but over the
 * templates of one app, at start-up and on a reload. */
static bool replaced(const found *f, size_t i)
{
    for (size_t j = i + 1; j < f->len; j++)
        if (strcmp(f->items[j].s.name, f->items[i].s.name) == 0)
            return true;
    return false;
}

static bool reloads(const tlayer *layers, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((layers[i].dir && layers[i].reload) || (layers[i].set && layers[i].set->reload))
            return true;
    return false;
}

/* Makes t recompile from copies of layers when one changes; takes seen. */
static int follow(cadre_templates *t, const tlayer *layers, size_t n, tseen *seen)
{
    t->layers = calloc(n, sizeof *t->layers);
    if (!t->layers)
        return CADRE_ENOMEM;
    t->nlayers = n;
    for (size_t i = 0; i < n; i++) {
        t->layers[i] = layers[i];
        if (layers[i].dir && !(t->layers[i].dir = strdup(layers[i].dir)))
            return CADRE_ENOMEM; /* the caller frees t, and with it the copies made */
    }
    t->seen = seen;
    t->reload = true;
    return 0;
}

int cadre__templates_build(const tlayer *layers, size_t n, const tdiag *d, bool keep,
                           cadre_templates **out)
{
    *out = NULL;
    found f = { 0 };
    cadre_template_source *src = NULL;
    size_t *origin = NULL;
    tseen *seen = calloc(n ? n : 1, sizeof *seen);
    int rc = seen ? gather(layers, n, d, &f, seen) : CADRE_ENOMEM;
    if (rc)
        goto out;
    src = malloc((f.len ? f.len : 1) * sizeof *src);
    origin = malloc((f.len ? f.len : 1) * sizeof *origin);
    if (!src || !origin) {
        rc = CADRE_ENOMEM;
        goto out;
    }
    size_t m = 0;
    for (size_t i = 0; i < f.len; i++) {
        if (!replaced(&f, i)) {
            src[m] = f.items[i].s;
            origin[m++] = f.items[i].layer;
        }
    }
    tdiag dd = d ? *d : (tdiag){ 0 };
    dd.layers = layers;
    dd.origin = origin;
    rc = cadre__templates_compile(src, m, &dd, out);
    if (rc == 0 && keep && reloads(layers, n)) {
        rc = follow(*out, layers, n, seen);
        if (rc == 0)
            seen = NULL; /* the set's now */
        else {
            cadre_templates_free(*out);
            *out = NULL;
        }
    }
out:
    free(src);
    free(origin);
    free(seen);
    found_free(&f);
    return rc;
}

int cadre_templates_load_dir(const char *dir, bool reload, cadre_templates **out)
{
    tlayer layer = { .dir = (char *)dir, .reload = reload }; /* copied by the build if kept */
    return cadre__templates_build(&layer, 1, NULL, true, out);
}

/* Whether a layer of t changed since its last compile: now gets what each holds (what t saw for
 * a directory that cannot be read now), *what names the first that changed. */
static bool changed(cadre_templates *t, tseen *now, const char **what)
{
    bool any = false;
    for (size_t i = 0; i < t->nlayers; i++) {
        const tlayer *l = &t->layers[i];
        now[i] = t->seen[i];
        if (l->dir) {
            found f = { 0 };
            if (walk(l->dir, "", &f, false, 0, i) == 0) {
                now[i].newest = f.newest;
                now[i].nfiles = f.len;
            }
            found_free(&f);
        }
        if (l->set)
            now[i].set = cadre__templates_current(l->set);
        bool differs = now[i].newest != t->seen[i].newest || now[i].nfiles != t->seen[i].nfiles ||
                       now[i].set != t->seen[i].set;
        if (differs && !any) {
            any = true;
            *what = l->dir ? l->dir : "a set given to cadre_templates_use";
        }
    }
    return any;
}

/* A reload's compile errors: logged as ever, and kept (the first 8 KiB) for the dev page. */
static void keep_error(const tdiag *d, const tlayer *layer, const char *name, int line, int col,
                       const char *msg)
{
    cadre_buf *b = d->ctx;
    char where[4096];
    if (layer && layer->dir && name)
        snprintf(where, sizeof where, "%s/%s", layer->dir, name);
    else
        snprintf(where, sizeof where, "%s", name ? name : layer && layer->dir ? layer->dir : "");
    char text[4800];
    int n = line && col ? snprintf(text, sizeof text, "%s:%d:%d: %s", where, line, col, msg)
            : line      ? snprintf(text, sizeof text, "%s:%d: %s", where, line, msg)
                        : snprintf(text, sizeof text, "%s: %s", where, msg);
    cadre_log(CADRE_LOG_ERROR, "%s", text);
    if (n > 0 && b->len < 8192) {
        cadre_buf_append(b, text, (size_t)n < sizeof text ? (size_t)n : sizeof text - 1);
        cadre_buf_append(b, "\n", 1);
    }
}

const char *cadre__templates_broken(cadre_templates *t, cadre_arena *a)
{
    if (!t->reload)
        return NULL;
    pthread_mutex_lock(&t->lock);
    const char *copy = t->broken ? cadre_arena_strndup(a, t->broken, strlen(t->broken)) : NULL;
    pthread_mutex_unlock(&t->lock);
    return copy;
}

cadre_templates *cadre__templates_current(cadre_templates *t)
{
    if (!t->reload)
        return t;
    pthread_mutex_lock(&t->lock);
    tseen *now = calloc(t->nlayers, sizeof *now);
    const char *what = NULL;
    if (now && changed(t, now, &what)) {
        cadre_templates *fresh;
        cadre_buf errors;
        cadre_buf_init(&errors, 16384);
        tdiag d = { .fn = keep_error, .ctx = &errors };
        free(t->broken);
        t->broken = NULL;
        if (cadre__templates_build(t->layers, t->nlayers, &d, false, &fresh) != 0) {
            t->broken = errors.len ? strndup(errors.data, errors.len)
                                   : strdup("the templates did not compile (see the log)");
        } else {
            if (t->current) { /* kept until the set is freed: another thread may be using it */
                t->current->retired = t->retired;
                t->retired = t->current;
            }
            t->current = fresh;
            cadre_log(CADRE_LOG_INFO, "templates: reloaded after a change in %s", what);
        }
        cadre_buf_free(&errors);
        memcpy(t->seen, now, t->nlayers * sizeof *now); /* a broken edit is not retried until
                                                           the next change */
    }
    free(now);
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
    free(t->broken);
    for (size_t i = 0; i < t->nlayers; i++)
        free(t->layers[i].dir);
    free(t->layers);
    free(t->seen);
    set_free(t);
}

/* ---------------------------------------------------------------------------------------------
 * Rendering
 * ------------------------------------------------------------------------------------------- */

int cadre_template_render(cadre_templates *t, const char *name, const cadre_tctx *ctx,
                          cadre_buf *out)
{
    cadre_templates *set = cadre__templates_current(t);
    ttemplate *tp = cadre__template_find(set, name, strlen(name));
    if (!tp)
        return CADRE_ENOTFOUND;
    return cadre__templates_render(set, tp, ctx, NULL, false, out);
}
