/*
 * Modules: a label, the modules it builds on, and the state the layers above attach to it. The
 * app keeps them in the order they were added and sorts them by dependency when asked (Kahn's
 * algorithm, stable: among modules whose dependencies are met, the earliest added goes first,
 * the app's own module last), so that migrations, templates and commands see one order.
 */
#include "app_internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct cadre_module {
    cadre_app *app;
    char *label;
    CADRE_VEC(char *) depends;
    bool own; /* the app's own module */
    struct cadre__attachments attached;
};

int cadre__attach(struct cadre__attachments *l, const char *key, void *ptr, void (*free_fn)(void *))
{
    for (size_t i = 0; i < l->len; i++) {
        struct cadre__attachment *a = &l->items[i];
        if (strcmp(a->key, key) == 0) {
            if (a->free_fn && a->ptr != ptr)
                a->free_fn(a->ptr);
            a->ptr = ptr;
            a->free_fn = free_fn;
            return 0;
        }
    }
    char *k = strdup(key);
    struct cadre__attachment *slot = k ? CADRE_VEC_PUSH(l, NULL, 0) : NULL;
    if (!slot) {
        free(k);
        if (free_fn)
            free_fn(ptr);
        return CADRE_ENOMEM;
    }
    *slot = (struct cadre__attachment){ k, ptr, free_fn };
    return 0;
}

void *cadre__attachment(const struct cadre__attachments *l, const char *key)
{
    for (size_t i = 0; i < l->len; i++)
        if (strcmp(l->items[i].key, key) == 0)
            return l->items[i].ptr;
    return NULL;
}

void cadre__attachments_free(struct cadre__attachments *l)
{
    /* last attached first: a later one may use an earlier one */
    for (size_t i = l->len; i-- > 0;) {
        if (l->items[i].free_fn)
            l->items[i].free_fn(l->items[i].ptr);
        free(l->items[i].key);
    }
    CADRE_VEC_FREE(l);
}

static bool label_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 63 || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
              s[i] == '-'))
            return false;
    return true;
}

static void module_free(cadre_module *m)
{
    if (!m)
        return;
    cadre__attachments_free(&m->attached);
    for (size_t i = 0; i < m->depends.len; i++)
        free(m->depends.items[i]);
    CADRE_VEC_FREE(&m->depends);
    free(m->label);
    free(m);
}

void cadre__modules_free(cadre_app *app)
{
    for (size_t i = app->modules.len; i-- > 0;)
        module_free(app->modules.items[i]);
    CADRE_VEC_FREE(&app->modules);
    free(app->module_order);
}

static cadre_module *add(cadre_app *app, const char *label, const char *const *depends, bool own,
                         const char *file, int line)
{
    if (!label_ok(label)) {
        cadre_app_config_error(app, file, line,
                               "cadre_module_add(\"%s\"): a module's label is 1 to 63 of "
                               "[a-z0-9_-], starting with a letter",
                               label ? label : "(null)");
        return NULL;
    }
    if (cadre_app_module(app, label)) {
        cadre_app_config_error(app, file, line, "cadre_module_add(\"%s\"): added twice%s", label,
                               own ? " (it is the app's own module: the app has that name)" : "");
        return NULL;
    }
    cadre_module *m = calloc(1, sizeof *m);
    if (!m || !(m->label = strdup(label)))
        goto oom;
    m->app = app;
    m->own = own;
    for (size_t i = 0; depends && depends[i]; i++) {
        char **d = CADRE_VEC_PUSH(&m->depends, NULL, 0);
        if (!d || !(*d = strdup(depends[i])))
            goto oom;
    }
    cadre_module **slot = CADRE_VEC_PUSH(&app->modules, NULL, 0); /* once complete */
    if (!slot)
        goto oom;
    *slot = m;
    app->module_order_valid = false;
    return m;
oom:
    module_free(m);
    cadre_app_config_error(app, file, line, "cadre_module_add(\"%s\"): out of memory", label);
    return NULL;
}

cadre_module *cadre__module_add(cadre_app *app, const cadre_module_opts *opts, const char *file,
                                int line)
{
    return add(app, opts->label, opts->depends, false, file, line);
}

cadre_module *cadre_app_own_module(cadre_app *app)
{
    for (size_t i = 0; i < app->modules.len; i++)
        if (app->modules.items[i]->own)
            return app->modules.items[i];
    return add(app, app->name, NULL, true, NULL, 0);
}

cadre_module *cadre_app_module(cadre_app *app, const char *label)
{
    for (size_t i = 0; label && i < app->modules.len; i++)
        if (strcmp(app->modules.items[i]->label, label) == 0)
            return app->modules.items[i];
    return NULL;
}

/* Sorts the modules by dependency into app->module_order. Returns 0, or CADRE_EINVAL with *why
 * naming the first module whose dependencies cannot be met (missing, or a cycle). */
static int sort_modules(cadre_app *app, const cadre_module **stuck, const char **missing)
{
    size_t n = app->modules.len;
    cadre_module **order = realloc(app->module_order, (n ? n : 1) * sizeof *order);
    if (!order)
        return CADRE_ENOMEM;
    app->module_order = order;
    bool *placed = calloc(n ? n : 1, sizeof *placed);
    if (!placed)
        return CADRE_ENOMEM;
    size_t done = 0;
    while (done < n) {
        size_t pick = n;
        for (int pass = 0; pass < 2 && pick == n; pass++) { /* the own module only in pass 2 */
            for (size_t i = 0; i < n && pick == n; i++) {
                const cadre_module *m = app->modules.items[i];
                if (placed[i] || (m->own && pass == 0))
                    continue;
                bool ready = true;
                for (size_t d = 0; d < m->depends.len && ready; d++) {
                    const cadre_module *dep = cadre_app_module(app, m->depends.items[d]);
                    if (!dep) {
                        *stuck = m;
                        *missing = m->depends.items[d];
                        free(placed);
                        return CADRE_EINVAL;
                    }
                    for (size_t k = 0; k < n; k++)
                        if (app->modules.items[k] == dep && !placed[k])
                            ready = false;
                }
                if (ready)
                    pick = i;
            }
        }
        if (pick == n) { /* a cycle: name one of its modules */
            for (size_t i = 0; i < n; i++)
                if (!placed[i]) {
                    *stuck = app->modules.items[i];
                    break;
                }
            *missing = NULL;
            free(placed);
            return CADRE_EINVAL;
        }
        placed[pick] = true;
        order[done++] = app->modules.items[pick];
    }
    free(placed);
    return 0;
}

/* The own module comes last only when no other module depends on it: pass 2 places it as soon
 * as nothing else is ready, which is last unless something waits for it. */

void cadre__modules_check(cadre_app *app)
{
    const cadre_module *stuck = NULL;
    const char *missing = NULL;
    int rc = sort_modules(app, &stuck, &missing);
    if (rc == CADRE_ENOMEM)
        cadre_app_config_error(app, NULL, 0, "modules: out of memory");
    else if (rc && missing)
        cadre_app_config_error(app, NULL, 0,
                               "module %s depends on module %s, which the app does not have "
                               "(add it with cadre_module_add or its own install call)",
                               stuck->label, missing);
    else if (rc)
        cadre_app_config_error(app, NULL, 0,
                               "module %s is part of a cycle of dependencies: no order of the "
                               "modules puts each after the ones it needs",
                               stuck->label);
}

cadre_module *cadre_app_module_at(cadre_app *app, size_t i)
{
    if (i >= app->modules.len)
        return NULL;
    if (!app->module_order_valid) {
        const cadre_module *stuck;
        const char *missing;
        app->module_order_valid = true;
        if (sort_modules(app, &stuck, &missing) != 0)
            app->module_order_valid = false;
    }
    return app->module_order_valid ? app->module_order[i] : app->modules.items[i];
}

const char *cadre_module_label(const cadre_module *m)
{
    return m ? m->label : NULL;
}

cadre_app *cadre_module_app(const cadre_module *m)
{
    return m ? m->app : NULL;
}

const char *cadre_module_depends(const cadre_module *m, size_t i)
{
    return m && i < m->depends.len ? m->depends.items[i] : NULL;
}

static bool needs(const cadre_module *m, const char *label, int depth)
{
    if (!m || depth > 64) /* deeper than any real graph: a cycle, refused at the check */
        return false;
    for (size_t i = 0; i < m->depends.len; i++)
        if (strcmp(m->depends.items[i], label) == 0 ||
            needs(cadre_app_module(m->app, m->depends.items[i]), label, depth + 1))
            return true;
    return false;
}

bool cadre_module_needs(const cadre_module *m, const char *label)
{
    return m && label && needs(m, label, 0);
}

int cadre_module_attach(cadre_module *m, const char *key, void *ptr, void (*free_fn)(void *))
{
    if (!m) {
        if (free_fn)
            free_fn(ptr);
        return CADRE_EINVAL;
    }
    return cadre__attach(&m->attached, key, ptr, free_fn);
}

void *cadre_module_attachment(const cadre_module *m, const char *key)
{
    return m ? cadre__attachment(&m->attached, key) : NULL;
}
