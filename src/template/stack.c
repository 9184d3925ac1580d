/*
 * An app's templates: the layers its modules register (embedded sources, a directory, a compiled
 * set), compiled into one set — their union in module order, so that the app's own templates
 * replace a module's and {% extends %} in a module's page finds the app's base — when the app
 * starts, or at the first render; the context processors that add names to every render; and
 * cadre_render itself.
 *
 * The layers live on the modules (attachment KEY); the compiled set and the processors on the
 * app (attachment KEY). Template is above app in the layering: only app's public API is used.
 */
#include "template_internal.h"

#include <cadre/db.h>

#include <stdatomic.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY "cadre.templates"

/* A module's layers, in the order registered. */
typedef struct tmodule {
    tlayer *items;
    size_t len;
} tmodule;

typedef struct tproc {
    cadre_context_processor fn;
    void *ctx;
} tproc;

/* The app's templates. */
typedef struct tapp {
    cadre_app *app;
    pthread_mutex_t lock; /* one build at a time */
    atomic_bool built;    /* set is the union of the layers registered so far */
    int rc;               /* the build's result: not 0, the templates did not compile */
    cadre_templates *use; /* the set given to cadre_templates_use (owned): the topmost layer */
    cadre_templates *set; /* what cadre_render renders from; NULL: no templates */
    bool borrowed;        /* set is use (the app's only layer), rendered from as it is */
    cadre_templates **old; /* sets that a later build or cadre_templates_use replaced: kept to the
                              end, as a render on another thread may still use one */
    size_t nold;
    tproc *procs;
    size_t nprocs;
} tapp;

struct cadre_tctx_builder {
    cadre_request *r;
    cadre_tvar *vars;
    size_t len, cap;
};

static void tmodule_free(void *p)
{
    tmodule *tm = p;
    for (size_t i = 0; i < tm->len; i++)
        free(tm->items[i].dir);
    free(tm->items);
    free(tm);
}

static void tapp_free(void *p)
{
    tapp *ta = p;
    if (!ta->borrowed)
        cadre_templates_free(ta->set);
    cadre_templates_free(ta->use);
    for (size_t i = 0; i < ta->nold; i++)
        cadre_templates_free(ta->old[i]);
    free(ta->old);
    free(ta->procs);
    pthread_mutex_destroy(&ta->lock);
    free(ta);
}

/* Keeps t (owned) until the app is freed. */
static void retire(tapp *ta, cadre_templates *t)
{
    if (!t)
        return;
    cadre_templates **old = realloc(ta->old, (ta->nold + 1) * sizeof *old);
    if (!old)
        cadre_panic("out of memory retiring a template set");
    ta->old = old;
    old[ta->nold++] = t;
}

/* Records a compile error of the app's templates as a configuration error: "file:line: message
 * (column C; module M)", file a directory's path joined to the template's name. */
static void config_error(const tdiag *d, const tlayer *l, const char *name, int line, int col,
                         const char *msg)
{
    char file[4096], where[128] = "";
    if (!name)
        snprintf(file, sizeof file, "%s", l && l->dir ? l->dir : "templates");
    else if (l && l->dir)
        snprintf(file, sizeof file, "%s/%s", l->dir, name);
    else
        snprintf(file, sizeof file, "%s", name);
    if (col && l && l->module)
        snprintf(where, sizeof where, " (column %d; module %s)", col, l->module);
    else if (col)
        snprintf(where, sizeof where, " (column %d)", col);
    else if (l && l->module)
        snprintf(where, sizeof where, " (module %s)", l->module);
    if (name)
        cadre_app_config_error(d->ctx, file, line, "%s%s", msg, where);
    else
        cadre_app_config_error(d->ctx, file, 0, "cannot read this templates directory: %s%s", msg,
                               where);
}

/* Under serve --reload (project: the project's source directory): the directory that the
 * embedded sources src were made from, when each one's file is in it under its name and it is
 * below project — a copy, to read them from instead (again after an edit, without a rebuild);
 * else NULL. Cadre's own modules' templates, made elsewhere, stay as they were built. */
static char *source_root(const cadre_template_source *src, size_t n, const char *project)
{
    char *root = NULL;
    size_t rlen = 0, plen = strlen(project);
    for (size_t i = 0; i < n; i++) {
        const char *path = src[i].path, *name = src[i].name;
        size_t len = path ? strlen(path) : 0, nlen = name ? strlen(name) : 0;
        if (!nlen || len <= nlen + 1 || path[len - nlen - 1] != '/' ||
            strcmp(path + len - nlen, name) != 0)
            goto no;
        size_t r = len - nlen - 1;
        if (!root) {
            if (!(root = strndup(path, r)))
                return NULL;
            rlen = r;
        } else if (r != rlen || memcmp(root, path, r) != 0) {
            goto no;
        }
    }
    if (root && plen > 1 && strncmp(root, project, plen) == 0 &&
        (root[plen] == '/' || root[plen] == '\0') && access(root, R_OK | X_OK) == 0)
        return root;
no:
    free(root);
    return NULL;
}

/* Compiles the union of every module's layers, in dependency order, then the set given to
 * cadre_templates_use, into ta->set. */
static void build(tapp *ta)
{
    cadre_app *app = ta->app;
    size_t n = 1;
    cadre_module *m;
    for (size_t i = 0; (m = cadre_app_module_at(app, i)) != NULL; i++) {
        const tmodule *tm = cadre_module_attachment(m, KEY);
        n += tm ? tm->len : 0;
    }
    tlayer *layers = malloc(n * sizeof *layers);
    if (!layers)
        cadre_panic("out of memory compiling the app's templates");
    const char *project = cadre_app_reload_source(app);
    char **roots = project ? calloc(n, sizeof *roots) : NULL; /* the directories made below */
    size_t nroots = 0;
    n = 0;
    for (size_t i = 0; (m = cadre_app_module_at(app, i)) != NULL; i++) {
        const tmodule *tm = cadre_module_attachment(m, KEY);
        for (size_t k = 0; tm && k < tm->len; k++) {
            tlayer l = tm->items[k];
            char *root = roots && l.src ? source_root(l.src, l.n, project) : NULL;
            if (root) {
                cadre_log(CADRE_LOG_INFO, "templates of %s: read from %s, again after an edit "
                                          "(serve --reload)", l.module ? l.module : "the app",
                          root);
                roots[nroots++] = root;
                l = (tlayer){ .module = l.module, .dir = root, .reload = true };
            }
            layers[n++] = l;
        }
    }
    if (ta->use)
        layers[n++] = (tlayer){ .set = ta->use };
    cadre_templates *set = NULL;
    bool borrowed = false;
    int rc = 0;
    if (n == 1 && ta->use) { /* the app's only templates: rendered from as they are */
        set = ta->use;
        borrowed = true;
    } else if (n > 0) {
        tdiag d = { .fn = config_error, .ctx = app };
        rc = cadre__templates_build(layers, n, &d, true, &set);
        if (rc == CADRE_ENOMEM)
            cadre_app_config_error(app, NULL, 0, "templates: out of memory");
        if (rc) {
            cadre_app_check(app); /* logs them */
            cadre_log(CADRE_LOG_ERROR, "the app's templates did not compile: the app does not "
                                       "start, and cadre_render answers 500");
        }
    }
    free(layers);
    for (size_t i = 0; i < nroots; i++)
        free(roots[i]); /* a set that reloads keeps copies */
    free(roots);
    if (!ta->borrowed)
        retire(ta, ta->set);
    ta->set = set;
    ta->borrowed = borrowed;
    ta->rc = rc;
}

/* The app's compiled templates (*set NULL: none), compiled first if needed. Returns the build's
 * result. Thread-safe: a custom server may render before anything compiled them. */
static int ready(tapp *ta, cadre_templates **set)
{
    if (!atomic_load_explicit(&ta->built, memory_order_acquire)) {
        pthread_mutex_lock(&ta->lock);
        if (!atomic_load_explicit(&ta->built, memory_order_relaxed)) {
            build(ta);
            atomic_store_explicit(&ta->built, true, memory_order_release);
        }
        pthread_mutex_unlock(&ta->lock);
    }
    *set = ta->set;
    return ta->rc;
}

static int on_start(cadre_app *app, void *ctx)
{
    (void)app;
    cadre_templates *set;
    return ready(ctx, &set);
}

/* The app's template state, made (with its start hook) on first use; NULL when memory runs out. */
static tapp *tapp_of(cadre_app *app)
{
    tapp *ta = cadre_app_attachment(app, KEY);
    if (ta)
        return ta;
    ta = calloc(1, sizeof *ta);
    if (!ta)
        return NULL;
    ta->app = app;
    pthread_mutex_init(&ta->lock, NULL);
    atomic_init(&ta->built, false);
    if (cadre_app_attach(app, KEY, ta, tapp_free) != 0)
        return NULL; /* freed by the attach */
    if (cadre_app_on_start(app, on_start, ta) != 0)
        return NULL; /* attached, freed with the app */
    return ta;
}

/* Appends layer l to m's templates, taking its dir (freed when this fails). */
static int add_layer(cadre_module *m, tlayer l)
{
    tapp *ta = tapp_of(cadre_module_app(m));
    tmodule *tm = ta ? cadre_module_attachment(m, KEY) : NULL;
    if (ta && !tm && (tm = calloc(1, sizeof *tm)) != NULL &&
        cadre_module_attach(m, KEY, tm, tmodule_free) != 0)
        tm = NULL; /* freed by the attach */
    tlayer *items = tm ? realloc(tm->items, (tm->len + 1) * sizeof *items) : NULL;
    if (!items) {
        free(l.dir);
        return CADRE_ENOMEM;
    }
    tm->items = items;
    l.module = cadre_module_label(m);
    items[tm->len++] = l;
    atomic_store(&ta->built, false); /* compiled again, with it, at the next render */
    return 0;
}

int cadre_module_templates(cadre_module *m, const cadre_template_source *src, size_t n)
{
    if (!m || (!src && n))
        return CADRE_EINVAL;
    return add_layer(m, (tlayer){ .src = src, .n = n });
}

int cadre_module_templates_dir(cadre_module *m, const char *dir, bool reload)
{
    if (!m || !dir)
        return CADRE_EINVAL;
    char *copy = strdup(dir);
    if (!copy)
        return CADRE_ENOMEM;
    return add_layer(m, (tlayer){ .dir = copy, .reload = reload });
}

int cadre_templates_use(cadre_app *app, cadre_templates *t)
{
    tapp *ta = tapp_of(app);
    if (!ta) {
        cadre_templates_free(t);
        return CADRE_ENOMEM;
    }
    if (ta->use) { /* the set given before: a compiled union may still read it */
        if (ta->set == ta->use)
            ta->set = NULL, ta->borrowed = false; /* no longer what build replaces */
        retire(ta, ta->use);
    }
    ta->use = t;
    atomic_store(&ta->built, false);
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Context processors
 * ------------------------------------------------------------------------------------------- */

int cadre_templates_processor(cadre_app *app, cadre_context_processor fn, void *ctx)
{
    if (!fn)
        return CADRE_EINVAL;
    tapp *ta = tapp_of(app);
    tproc *procs = ta ? realloc(ta->procs, (ta->nprocs + 1) * sizeof *procs) : NULL;
    if (!procs)
        return CADRE_ENOMEM;
    ta->procs = procs;
    procs[ta->nprocs++] = (tproc){ fn, ctx };
    return 0;
}

/* v in the arena, with the arrays of its maps and lists of values and its form's descriptor:
 * what a processor builds on its stack (CADRE_TMAP) outlives it. */
static cadre_tvalue copy_value(cadre_arena *a, cadre_tvalue v, int depth)
{
    if (depth > 32)
        return v;
    if (v.kind == CADRE_TV_MAP && v.u.map.len) {
        cadre_tvar *vars = cadre_arena_alloc(a, v.u.map.len * sizeof *vars);
        for (size_t i = 0; i < v.u.map.len; i++)
            vars[i] = (cadre_tvar){ v.u.map.vars[i].name,
                                    copy_value(a, v.u.map.vars[i].value, depth + 1) };
        v.u.map.vars = vars;
    } else if (v.kind == CADRE_TV_VALUES && v.u.values.len) {
        cadre_tvalue *items = cadre_arena_alloc(a, v.u.values.len * sizeof *items);
        for (size_t i = 0; i < v.u.values.len; i++)
            items[i] = copy_value(a, v.u.values.items[i], depth + 1);
        v.u.values.items = items;
    } else if (v.kind == CADRE_TV_FORM && v.u.other.ptr) {
        cadre_tform *f = cadre_arena_alloc(a, sizeof *f);
        *f = *(const cadre_tform *)v.u.other.ptr;
        v.u.other.ptr = f;
    } else if ((v.kind == CADRE_TV_LIST || v.kind == CADRE_TV_OBJ) && v.u.obj.rows) {
        /* CADRE_TROWS of a cadre_rows that may be a local of the processor: its links (arena
         * memory already) are kept through a copy */
        cadre_rows *rows = cadre_arena_alloc(a, sizeof *rows);
        if (rows)
            *rows = *v.u.obj.rows;
        v.u.obj.rows = rows;
    }
    return v;
}

void cadre_tctx_add(cadre_tctx_builder *b, const char *name, cadre_tvalue value)
{
    value = copy_value(b->r->arena, value, 0);
    for (size_t i = 0; i < b->len; i++) {
        if (strcmp(b->vars[i].name, name) == 0) { /* a later add wins */
            b->vars[i].value = value;
            return;
        }
    }
    if (b->len == b->cap) { /* the old array stays in the arena, reclaimed with it */
        size_t cap = b->cap ? b->cap * 2 : 8;
        cadre_tvar *vars = cadre_arena_alloc(b->r->arena, cap * sizeof *vars);
        if (b->len)
            memcpy(vars, b->vars, b->len * sizeof *vars);
        b->vars = vars;
        b->cap = cap;
    }
    b->vars[b->len++] = (cadre_tvar){ name, value };
}

/* A page's own names, from a function of the app's (form pages' .context), then ctx_first's:
 * Returns 0 with *out the names, or the function's error. */
int cadre__page_context(cadre_request *r, const cadre_tvar *first, size_t nfirst,
                        int (*fn)(cadre_request *r, cadre_tctx_builder *b), cadre_tctx *out)
{
    cadre_tctx_builder b = { .r = r };
    int rc = fn(r, &b);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < nfirst; i++)
        cadre_tctx_add(&b, first[i].name, first[i].value);
    *out = (cadre_tctx){ b.vars, b.len };
    return 0;
}

int cadre_context_request(cadre_request *r, cadre_tctx_builder *b, void *ctx)
{
    (void)ctx;
    cadre_slice query = r->head.query.ptr ? r->head.query : cadre_slice_cstr("");
    cadre_tctx_add(b, "request",
                   CADRE_TMAP({ "path", CADRE_TSLICE(r->head.path) },
                              { "method", CADRE_TSLICE(r->head.method) },
                              { "route", r->route ? CADRE_TSTR(r->route) : CADRE_TNONE },
                              { "query", CADRE_TSLICE(query) }));
    return 0;
}

/* Runs the app's processors into *extra (in r's arena). Returns 0 or a processor's error. */
static int process(const tapp *ta, cadre_request *r, cadre_tctx *extra)
{
    cadre_tctx_builder b = { r, NULL, 0, 0 };
    for (size_t i = 0; i < ta->nprocs; i++) {
        int rc = ta->procs[i].fn(r, &b, ta->procs[i].ctx);
        if (rc < 0)
            return rc;
    }
    *extra = (cadre_tctx){ b.vars, b.len };
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Rendering into the response
 * ------------------------------------------------------------------------------------------- */

int cadre_render_first(cadre_request *r, int status, const char *const *names, size_t n,
                       cadre_tctx ctx)
{
    const char *name = n ? names[0] : "";
    cadre_app *app = cadre_request_app(r);
    tapp *ta = app ? cadre_app_attachment(app, KEY) : NULL;
    cadre_templates *t = NULL;
    if (ta && ready(ta, &t) != 0) {
        cadre_log(CADRE_LOG_ERROR, "cadre_render(\"%s\"): the app's templates did not compile",
                  name);
        return CADRE_ESTATE;
    }
    if (!t) {
        cadre_log(CADRE_LOG_ERROR, "cadre_render(\"%s\"): the app has no templates "
                                   "(cadre_templates_add_dir, cadre_templates_add)", name);
        return CADRE_ESTATE;
    }
    cadre_templates *set = cadre__templates_current(t);
    bool dev = cadre_app_is_dev(cadre_request_app(r));
    const char *broken = dev ? cadre__templates_broken(t, r->arena) : NULL;
    if (broken) { /* development: the edit that did not compile, rather than the page before it */
        cadre_buf page;
        cadre_buf_init_arena(&page, r->arena, 64 * 1024);
        cadre_buf_append_str(&page, "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
                                    "<title>Template error</title></head><body><h1>Template "
                                    "error</h1><p>The last edit of the templates does not "
                                    "compile; save a fix and reload this page.</p><pre>");
        cadre_buf_append_html(&page, broken, strlen(broken));
        cadre_buf_append_str(&page, "</pre></body></html>");
        return cadre_respond_ref(r, 500, "text/html; charset=utf-8", page.data ? page.data : "",
                                 page.len);
    }
    ttemplate *tp = NULL;
    for (size_t i = 0; i < n && !tp; i++)
        if ((tp = cadre__template_find(set, names[i], strlen(names[i]))) != NULL)
            name = names[i];
    if (!tp) {
        cadre_log(CADRE_LOG_ERROR, "cadre_render: no template \"%s\"%s", n ? names[n - 1] : "",
                  n > 1 ? " (nor any of the names before it)" : "");
        return CADRE_ESTATE;
    }
    cadre_tctx extra = { NULL, 0 };
    int rc = ta->nprocs ? process(ta, r, &extra) : 0;
    if (rc)
        return rc;
    cadre_buf out;
    cadre_buf_init_arena(&out, r->arena, (size_t)1 << 30);
    rc = cadre__templates_render(set, tp, &ctx, &extra, dev, &out);
    if (rc)
        return rc;
    const char *dot = strrchr(name, '.');
    const char *type = dot && strcmp(dot, ".txt") == 0   ? "text/plain; charset=utf-8"
                       : dot && strcmp(dot, ".xml") == 0 ? "application/xml"
                                                         : "text/html; charset=utf-8";
    return cadre_respond_ref(r, status, type, out.data ? out.data : "", out.len);
}

int cadre_render(cadre_request *r, int status, const char *name, cadre_tctx ctx)
{
    return cadre_render_first(r, status, &name, 1, ctx);
}
