/*
 * Routing. Patterns are split into segments once, at registration; a request path is matched
 * segment by segment against each route, decoding a segment only when it holds an escape. When
 * several patterns match, the most specific wins (a literal segment beats a parameter at the
 * first position where they differ), whatever the registration order. A prefix route (a static
 * file mount) also matches every path below its segments; any other matching route beats it,
 * and a longer prefix beats a shorter one.
 */
#include "app_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_ident(const char *s, size_t n)
{
    if (n == 0 || !(s[0] == '_' || ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z')))
        return false;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!(c == '_' || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')))
            return false;
    }
    return true;
}

static bool is_method(const char *m)
{
    if (!*m)
        return false;
    for (; *m; m++)
        if (!((*m >= 'A' && *m <= 'Z') || *m == '-' || *m == '_'))
            return false;
    return true;
}

/* Two routes conflict when they have the same method and the same segment shapes. */
static bool same_shape(const struct cadre__route *a, const struct cadre__route *b)
{
    if (a->nsegs != b->nsegs || a->prefix != b->prefix || strcmp(a->method, b->method) != 0)
        return false;
    for (size_t i = 0; i < a->nsegs; i++) {
        if (a->segs[i].param != b->segs[i].param)
            return false;
        if (!a->segs[i].param && strcmp(a->segs[i].text, b->segs[i].text) != 0)
            return false;
    }
    return true;
}

static void free_route(struct cadre__route *r)
{
    for (size_t i = 0; i < r->nsegs; i++)
        free(r->segs[i].text);
    free((void *)r->spec);
    free(r->segs);
    free(r->method);
    free(r->pattern);
    free(r->guards);
    free(r->name);
}

int cadre__route(cadre_app *app, const cadre_route_opts *o)
{
    struct cadre__route r = { .handler = o->handler, .handler_name = o->handler_name,
                              .own_guards = o->guards, .hidden = !o->in_schema, .data = o->data,
                              .auth = o->auth };
    if (!o->handler) {
        cadre_app_config_error(app, o->file, o->line, "route %s %s has no handler",
                         o->method ? o->method : "?", o->path ? o->path : "?");
        return CADRE_EINVAL;
    }
    if (o->name && !(r.name = strdup(o->name))) {
        cadre_app_config_error(app, o->file, o->line, "out of memory adding route %s", o->path);
        return CADRE_ENOMEM;
    }
    return cadre__route_add(app, &r, o->method, o->path, o->file, o->line);
}

/* ---------------------------------------------------------------------------------------------
 * Groups
 * ------------------------------------------------------------------------------------------- */

static size_t count_guards(const cadre_guard *g)
{
    size_t n = 0;
    while (g && g[n].fn)
        n++;
    return n;
}

/* a's n guards then b's, NULL-terminated, malloc'd; NULL when both are empty or memory ran out
 * (*ok false then). */
static cadre_guard *join_guards(const cadre_guard *a, size_t na, const cadre_guard *b, bool *ok)
{
    size_t nb = count_guards(b);
    *ok = true;
    if (na + nb == 0)
        return NULL;
    cadre_guard *g = malloc((na + nb + 1) * sizeof *g);
    if (!g) {
        *ok = false;
        return NULL;
    }
    if (na)
        memcpy(g, a, na * sizeof *g);
    if (nb)
        memcpy(g + na, b, nb * sizeof *g);
    g[na + nb] = (cadre_guard){ NULL, NULL };
    return g;
}

const char *cadre__group_prefix(const cadre_app *app)
{
    return app->ngroups ? app->groups[app->ngroups - 1].prefix : "";
}

int cadre__group_begin(cadre_app *app, const char *prefix, const cadre_group_spec *spec,
                       const char *file, int line)
{
    size_t plen = prefix ? strlen(prefix) : 0;
    if (!prefix || prefix[0] != '/' || (plen > 1 && prefix[plen - 1] == '/') ||
        strchr(prefix, '{')) {
        cadre_app_config_error(app, file, line,
                         "group prefix must be literal segments without a trailing '/' "
                         "(\"/admin\"): \"%s\"", prefix ? prefix : "(null)");
        return CADRE_EINVAL;
    }
    if (app->ngroups == CADRE__MAX_GROUPS) {
        cadre_app_config_error(app, file, line, "groups nested deeper than %d", CADRE__MAX_GROUPS);
        return CADRE_EINVAL;
    }
    const struct cadre__group *parent = app->ngroups ? &app->groups[app->ngroups - 1] : NULL;
    const char *base = parent ? parent->prefix : "";
    if (strcmp(prefix, "/") == 0)
        plen = 0; /* "/" adds nothing */
    struct cadre__group g = { .hidden = spec && spec->hidden, .auth = spec ? spec->auth : 0 };
    if (spec && spec->tags && !(g.tags = cadre_app_own(app, strdup(spec->tags)))) {
        cadre_app_config_error(app, file, line, "out of memory opening group %s", prefix);
        return CADRE_ENOMEM;
    }
    g.prefix = malloc(strlen(base) + plen + 1);
    bool ok = g.prefix != NULL;
    if (ok) {
        memcpy(g.prefix, base, strlen(base));
        memcpy(g.prefix + strlen(base), prefix, plen);
        g.prefix[strlen(base) + plen] = '\0';
        g.guards = join_guards(parent ? parent->guards : NULL, parent ? parent->nguards : 0,
                               spec ? spec->guards : NULL, &ok);
        g.nguards = count_guards(g.guards);
    }
    if (parent) {
        g.hidden |= parent->hidden;
        if (!g.auth)
            g.auth = parent->auth;
        if (!g.tags)
            g.tags = parent->tags;
    }
    if (!ok) {
        free(g.prefix);
        cadre_app_config_error(app, file, line, "out of memory opening group %s", prefix);
        return CADRE_ENOMEM;
    }
    app->groups[app->ngroups++] = g;
    return 0;
}

int cadre_group_end(cadre_app *app)
{
    if (app->ngroups == 0) {
        cadre_app_config_error(app, NULL, 0, "cadre_group_end without a cadre_group_begin");
        return CADRE_EINVAL;
    }
    struct cadre__group *g = &app->groups[--app->ngroups];
    free(g->prefix);
    free(g->guards);
    *g = (struct cadre__group){ 0 };
    return 0;
}

/* Parses the pattern into r (whose handler or spec is set) and adds it; on failure frees what r
 * owns (the spec too) and records the error. */
int cadre__route_add(cadre_app *app, struct cadre__route *in, const char *method, const char *path,
                     const char *file, int line)
{
    struct cadre__route r = *in;
    r.guards = NULL;
    int rc = CADRE_EINVAL;
    if (!method || !is_method(method)) {
        cadre_app_config_error(app, file, line, "invalid method \"%s\"", method ? method : "(null)");
        goto fail;
    }
    if (!path || path[0] != '/') {
        cadre_app_config_error(app, file, line, "route path must start with '/': \"%s\"",
                         path ? path : "(null)");
        goto fail;
    }
    /* the open groups: prefix, guards (theirs first), tags and visibility */
    const struct cadre__group *grp = app->ngroups ? &app->groups[app->ngroups - 1] : NULL;
    bool ok = true;
    r.guards = join_guards(grp ? grp->guards : NULL, grp ? grp->nguards : 0, in->own_guards, &ok);
    r.own_guards = NULL;
    if (grp) {
        r.hidden |= grp->hidden;
        if (!r.auth)
            r.auth = grp->auth;
        if (r.spec && !r.spec->tags && grp->tags)
            ((cadre_route_spec *)r.spec)->tags = grp->tags; /* r owns its copy of the spec */
        char *full = malloc(strlen(grp->prefix) + strlen(path) + 1);
        if (full) {
            memcpy(full, grp->prefix, strlen(grp->prefix));
            memcpy(full + strlen(grp->prefix), path, strlen(path) + 1);
        }
        r.pattern = full;
    } else {
        r.pattern = strdup(path);
    }
    path = r.pattern ? r.pattern : path;
    r.method = ok ? strdup(method) : NULL;
    r.file = file;
    r.line = line;
    size_t cap = 1;
    for (const char *p = path; *p; p++)
        cap += *p == '/';
    r.segs = calloc(cap, sizeof *r.segs);
    if (!r.method || !r.pattern || !r.segs) {
        rc = CADRE_ENOMEM;
        goto fail;
    }
    if (strcmp(path, "/") != 0) {
        const char *p = path + 1;
        for (;;) {
            const char *e = strchr(p, '/');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            struct cadre__seg *s = &r.segs[r.nsegs];
            if (n >= 2 && p[0] == '{' && p[n - 1] == '}') {
                if (!is_ident(p + 1, n - 2)) {
                    cadre_app_config_error(app, file, line, "route %s: bad parameter name \"%.*s\"", path,
                                     (int)n, p);
                    goto fail;
                }
                s->param = true;
                s->text = strndup(p + 1, n - 2);
                s->len = n - 2;
                for (size_t i = 0; i < r.nsegs; i++) {
                    if (r.segs[i].param && strcmp(r.segs[i].text, s->text) == 0) {
                        cadre_app_config_error(app, file, line, "route %s: parameter {%s} appears twice",
                                         path, s->text);
                        r.nsegs++;
                        goto fail;
                    }
                }
                r.nparams++;
            } else {
                for (size_t i = 0; i < n; i++) {
                    unsigned char c = (unsigned char)p[i];
                    if (c <= 0x20 || c >= 0x7f || c == '{' || c == '}' || c == '?' || c == '#' ||
                        c == '%') {
                        cadre_app_config_error(app, file, line,
                                         "route %s: invalid character '%c' in a literal segment "
                                         "(parameters are whole segments: /items/{id})",
                                         path, c > 0x20 && c < 0x7f ? c : '?');
                        goto fail;
                    }
                }
                s->text = strndup(p, n);
                s->len = n;
            }
            r.nsegs++;
            if (!s->text) {
                rc = CADRE_ENOMEM;
                goto fail;
            }
            if (!e)
                break;
            p = e + 1;
        }
    }
    for (size_t i = 0; i < app->nroutes; i++) {
        if (r.name && app->routes[i].name && strcmp(r.name, app->routes[i].name) == 0) {
            cadre_app_config_error(app, file, line, "route name \"%s\" is taken by %s %s (%s:%d)",
                             r.name, app->routes[i].method, app->routes[i].pattern,
                             app->routes[i].file, app->routes[i].line);
            rc = CADRE_EEXIST;
            goto fail;
        }
        if (same_shape(&app->routes[i], &r)) {
            cadre_app_config_error(app, file, line, "route %s %s conflicts with %s %s (%s:%d)", method,
                             path, app->routes[i].method, app->routes[i].pattern,
                             app->routes[i].file, app->routes[i].line);
            rc = CADRE_EEXIST;
            goto fail;
        }
    }
    struct cadre__route *slot =
        cadre_vec_push(&app->routes, &app->nroutes, &app->cap_routes, sizeof r, NULL, 0);
    if (!slot) {
        rc = CADRE_ENOMEM;
        goto fail;
    }
    *slot = r;
    return 0;
fail:
    if (rc == CADRE_ENOMEM)
        cadre_app_config_error(app, file, line, "out of memory adding route %s", path);
    free_route(&r);
    return rc;
}

void cadre__routes_free(cadre_app *app);
void cadre__routes_free(cadre_app *app)
{
    for (size_t i = 0; i < app->nroutes; i++)
        free_route(&app->routes[i]);
    free(app->routes);
}

int cadre__route_builtin(cadre_app *app, const char *path, cadre_handler handler)
{
    if (!*path)
        return 0;
    size_t groups = app->ngroups; /* outside any group the app has open: the path is the path */
    app->ngroups = 0;
    int rc = cadre_route(app, "GET", path, handler, .auth = CADRE_AUTH_PUBLIC);
    app->ngroups = groups;
    if (rc == 0)
        app->routes[app->nroutes - 1].hidden = app->routes[app->nroutes - 1].operational = true;
    return rc;
}

void cadre__routes_remove(cadre_app *app, cadre_handler handler)
{
    size_t k = 0;
    for (size_t i = 0; i < app->nroutes; i++) {
        if (app->routes[i].handler == handler && !app->routes[i].spec)
            free_route(&app->routes[i]);
        else
            app->routes[k++] = app->routes[i];
    }
    app->nroutes = k;
}

/* ---------------------------------------------------------------------------------------------
 * Matching
 * ------------------------------------------------------------------------------------------- */

#define MAX_SEGS 64

/* Compares specificity: > 0 when a is more specific than b. */
static int specificity(const struct cadre__route *a, const struct cadre__route *b)
{
    for (size_t i = 0; i < a->nsegs; i++)
        if (a->segs[i].param != b->segs[i].param)
            return a->segs[i].param ? -1 : 1;
    return 0;
}

/* Whether a should be chosen over b when both match a path. */
static bool better(const struct cadre__route *a, const struct cadre__route *b)
{
    if (a->prefix != b->prefix)
        return !a->prefix;
    if (a->nsegs != b->nsegs)
        return a->nsegs > b->nsegs; /* two prefixes: the longer */
    return specificity(a, b) > 0;
}

/* A parameter matches any non-empty segment (as Starlette's [^/]+), a literal its own text. */
static bool route_matches(const struct cadre__route *rt, const cadre_slice *segs, size_t nsegs)
{
    if (rt->prefix ? nsegs < rt->nsegs : nsegs != rt->nsegs)
        return false;
    for (size_t k = 0; k < rt->nsegs; k++) {
        const struct cadre__seg *s = &rt->segs[k];
        if (s->param ? segs[k].len == 0 : !cadre_slice_eq(segs[k], (cadre_slice){ s->text, s->len }))
            return false;
    }
    return true;
}

/* Splits a path into its segments, those with escapes decoded into dec (at least path.len bytes;
 * unused, so may be NULL, when the path holds no '%').
 * Returns the count, or -1 (no leading '/', more than MAX_SEGS), or -2 (a bad escape). */
static long split_path(cadre_slice path, cadre_slice *segs, char *dec)
{
    size_t nsegs = 0;
    if (path.len == 0 || path.ptr[0] != '/')
        return -1;
    if (path.len == 1)
        return 0;
    const char *p = path.ptr + 1, *end = path.ptr + path.len;
    for (;;) {
        const char *e = memchr(p, '/', (size_t)(end - p));
        const char *se = e ? e : end;
        size_t n = (size_t)(se - p);
        if (nsegs == MAX_SEGS)
            return -1;
        if (memchr(p, '%', n)) {
            long dl = cadre_url_decode(dec, p, n, false);
            if (dl < 0)
                return -2;
            segs[nsegs++] = (cadre_slice){ dec, (size_t)dl };
            dec += dl;
        } else {
            segs[nsegs++] = (cadre_slice){ p, n };
        }
        if (!e)
            return (long)nsegs;
        p = e + 1;
    }
}

/* The route method selects among those matching segs (HEAD falls back on GET); *matched tells
 * whether any route's pattern matched at all (405 rather than 404). */
static const struct cadre__route *select_route(const cadre_app *app, cadre_slice method,
                                               const cadre_slice *segs, size_t nsegs, bool *matched)
{
    bool is_head = cadre_slice_eq_cstr(method, "HEAD");
    const struct cadre__route *best = NULL, *best_get = NULL;
    *matched = false;
    for (size_t i = 0; i < app->nroutes; i++) {
        const struct cadre__route *rt = &app->routes[i];
        if (!route_matches(rt, segs, nsegs))
            continue;
        *matched = true;
        if (cadre_slice_eq_cstr(method, rt->method)) {
            if (!best || better(rt, best))
                best = rt;
        } else if (is_head && strcmp(rt->method, "GET") == 0) {
            if (!best_get || better(rt, best_get))
                best_get = rt;
        }
    }
    return best ? best : best_get;
}

/* The methods of the routes matching segs (all routes when segs is NULL), as an Allow value with
 * HEAD where GET is, and OPTIONS, which the router answers itself. */
static const char *allow_value(cadre_request *r, const cadre_app *app, const cadre_slice *segs,
                               size_t nsegs)
{
    char allow[256] = "";
    size_t al = 0;
    bool has_get = false, has_head = false, has_options = false;
    for (size_t i = 0; i < app->nroutes; i++) {
        const struct cadre__route *rt = &app->routes[i];
        if ((segs && !route_matches(rt, segs, nsegs)) || strstr(allow, rt->method))
            continue;
        has_get |= strcmp(rt->method, "GET") == 0;
        has_head |= strcmp(rt->method, "HEAD") == 0;
        has_options |= strcmp(rt->method, "OPTIONS") == 0;
        if (al + strlen(rt->method) + 20 >= sizeof allow)
            break;
        al += (size_t)snprintf(allow + al, sizeof allow - al, "%s%s", al ? ", " : "", rt->method);
    }
    if (has_get && !has_head)
        al += (size_t)snprintf(allow + al, sizeof allow - al, "%sHEAD", al ? ", " : "");
    if (!has_options)
        snprintf(allow + al, sizeof allow - al, "%sOPTIONS", al ? ", " : "");
    return cadre_arena_strndup(r->arena, allow, strlen(allow));
}

/* Whether any route of the app takes method: a method none takes and that HTTP does not define
 * is "not implemented" (501, RFC 9110 section 9.1), not "not allowed here" (405). */
static bool method_known(const cadre_app *app, cadre_slice method)
{
    static const char *const standard[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT",
                                            "OPTIONS", "TRACE", "PATCH" };
    for (size_t i = 0; i < sizeof standard / sizeof *standard; i++)
        if (cadre_slice_eq_cstr(method, standard[i]))
            return true;
    for (size_t i = 0; i < app->nroutes; i++)
        if (cadre_slice_eq_cstr(method, app->routes[i].method))
            return true;
    return false;
}

bool cadre__route_is_api(const cadre_app *app, const char *pattern)
{
    for (size_t i = 0; pattern && i < app->nroutes; i++)
        if (app->routes[i].pattern == pattern)
            return app->routes[i].spec != NULL;
    return false;
}

int cadre__route_request(cadre_app *app, cadre_request *r)
{
    cadre_slice segs[MAX_SEGS];
    cadre_slice path = r->head.path;
    /* decoded segments live as long as the request (path parameters point into them) */
    char *dec = path.ptr && memchr(path.ptr, '%', path.len) ? cadre_alloc(r, path.len + 1) : NULL;
    long n = split_path(path, segs, dec);
    if (n == -1 && cadre_slice_eq_cstr(r->head.method, "OPTIONS") &&
        cadre_slice_eq_cstr(path, "*")) {
        /* the server as a whole: every method it serves */
        cadre_set_header(r, "Allow", allow_value(r, app, NULL, 0));
        return cadre_respond_ref(r, 204, NULL, NULL, 0);
    }
    if (n == -2)
        return cadre_app_error(r, 400, "invalid percent-escape in path");
    if (n < 0)
        return cadre_app_error(r, 404, "Not Found");
    size_t nsegs = (size_t)n;
    bool path_matched;
    const struct cadre__route *best = select_route(app, r->head.method, segs, nsegs, &path_matched);
    if (!best) {
        for (size_t i = 0; i < app->nroutes; i++) /* the path is an API's: answer as an API */
            if (app->routes[i].spec && route_matches(&app->routes[i], segs, nsegs))
                cadre_request_set(r, "cadre.api", (void *)app->routes[i].spec);
        if (!method_known(app, r->head.method))
            return cadre_app_error(r, 501, "Not Implemented");
        if (!path_matched)
            return cadre_app_error(r, 404, "Not Found");
        cadre_set_header(r, "Allow", allow_value(r, app, segs, nsegs));
        if (cadre_slice_eq_cstr(r->head.method, "OPTIONS")) /* what may be done here, as
                                                              * Django's View.options answers */
            return cadre_respond_ref(r, 204, NULL, NULL, 0);
        return cadre_app_error(r, 405, "Method Not Allowed");
    }
    if (app->operations_only && !best->operational) /* `worker`: probes and metrics alone */
        return cadre_app_error(r, 404, "Not Found");
    r->route = best->pattern;
    if (best->nparams) {
        r->params = cadre_alloc(r, best->nparams * sizeof *r->params);
        r->num_params = 0;
        for (size_t k = 0; k < best->nsegs; k++)
            if (best->segs[k].param)
                r->params[r->num_params++] = (cadre_param){ best->segs[k].text, segs[k] };
    }
    /* who may call it (auth's hook), then the guards: before anything of the request is decoded */
    if (app->auth.check) {
        int rc = app->auth.check(r, best->auth, app->auth.ctx);
        if (rc != 0)
            return rc;
    }
    for (const cadre_guard *g = best->guards; g && g->fn; g++) {
        int rc = g->fn(r, g->ctx);
        if (rc != 0)
            return rc;
    }
    if (best->spec)
        return cadre__typed_dispatch(best, r); /* reads the body as its route says */
    r->route_data = best->data;
    int rc = cadre_request_read_body(r); /* the guards have let it in: now its body */
    return rc ? rc : best->handler(r);
}

/* ---------------------------------------------------------------------------------------------
 * Reverse routing
 * ------------------------------------------------------------------------------------------- */

/* Appends s percent-encoded as a path segment: RFC 3986's pchar stays, everything else (a '/',
 * a '?', a space, non-ASCII bytes) is escaped. */
static void put_segment(cadre_buf *b, cadre_slice s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-._~!$&'()*+,;=:@", c) != NULL) {
            if (c) {
                cadre_buf_append(b, (const char *)&c, 1);
                continue;
            }
        }
        char esc[3] = { '%', hex[c >> 4], hex[c & 15] };
        cadre_buf_append(b, esc, 3);
    }
}

const char *cadre__url_for(cadre_request *r, const char *name, size_t nargs,
                           const cadre_url_arg *args)
{
    const cadre_app *app = cadre_request_app(r);
    const struct cadre__route *rt = NULL;
    for (size_t i = 0; name && i < app->nroutes && !rt; i++)
        if (app->routes[i].name && strcmp(app->routes[i].name, name) == 0)
            rt = &app->routes[i];
    if (!rt || rt->nparams != nargs) {
        cadre_log(CADRE_LOG_ERROR, "cadre_url_for(\"%s\"): %s", name ? name : "(null)",
                  !rt ? "no route has this name" : "the count of parameters is not the pattern's");
        if (rt)
            cadre_log(CADRE_LOG_ERROR, "  %s takes %zu, %zu given", rt->pattern, rt->nparams,
                      nargs);
        return NULL;
    }
    size_t max = strlen(rt->pattern) + 2;
    for (size_t i = 0; i < nargs; i++) {
        if (!args[i].is_int && !args[i].s.len) {
            cadre_log(CADRE_LOG_ERROR, "cadre_url_for(\"%s\"): parameter %zu is empty (a path "
                                       "parameter matches a non-empty segment)", name, i + 1);
            return NULL;
        }
        max += args[i].is_int ? 24 : 3 * args[i].s.len;
    }
    cadre_buf b;
    cadre_buf_init_arena(&b, r->arena, max);
    size_t k = 0;
    for (size_t i = 0; i < rt->nsegs; i++) {
        cadre_buf_append(&b, "/", 1);
        const struct cadre__seg *s = &rt->segs[i];
        if (!s->param) {
            cadre_buf_append(&b, s->text, s->len);
            continue;
        }
        const cadre_url_arg *a = &args[k++];
        if (a->is_int) {
            char num[24];
            int n = snprintf(num, sizeof num, "%lld", (long long)a->i);
            cadre_buf_append(&b, num, (size_t)n);
        } else {
            put_segment(&b, a->s);
        }
    }
    if (rt->nsegs == 0)
        cadre_buf_append(&b, "/", 1);
    cadre_buf_append(&b, "", 1); /* NUL */
    return b.data;
}

/* ---------------------------------------------------------------------------------------------
 * WebSocket routes
 * ------------------------------------------------------------------------------------------- */

struct ws_route {
    cadre_ws_handler fn;
    cadre_ws_opts ws;
    const char *origins; /* in this allocation, after the struct; NULL: the site's own only */
};

/* Whether origin ("https://host:port") names the site r was sent to: its authority is the Host
 * header's (a default port on either side aside). */
static bool same_site(const cadre_request *r, cadre_slice origin)
{
    const char *sep = memmem(origin.ptr, origin.len, "://", 3);
    if (!sep)
        return false;
    cadre_slice scheme = { origin.ptr, (size_t)(sep - origin.ptr) };
    cadre_slice auth = { sep + 3, origin.len - (size_t)(sep + 3 - origin.ptr) };
    cadre_slice host = r->head.host;
    if (cadre_slice_ieq(auth, host))
        return true;
    const char *port = cadre_slice_ieq_cstr(scheme, "https") ? ":443" : ":80";
    size_t pl = strlen(port);
    if (host.len == auth.len + pl && memcmp(host.ptr + auth.len, port, pl) == 0)
        return cadre_slice_ieq((cadre_slice){ host.ptr, auth.len }, auth);
    if (auth.len == host.len + pl && memcmp(auth.ptr + host.len, port, pl) == 0)
        return cadre_slice_ieq((cadre_slice){ auth.ptr, host.len }, host);
    return false;
}

/* Whether origin is one of list's ("a, b"; "*": any). */
static bool listed(const char *list, cadre_slice origin)
{
    cadre_slice item;
    for (const char *p = list; p && cadre_list_next(&p, &item);)
        if (cadre_slice_eq_cstr(item, "*") || cadre_slice_ieq(item, origin))
            return true;
    return false;
}

static int ws_route(cadre_request *r)
{
    const struct ws_route *wr = r->route_data;
    cadre_slice origin = cadre_request_header(r, "Origin");
    if (origin.ptr && !same_site(r, origin) && !listed(wr->origins, origin)) {
        cadre_log(CADRE_LOG_INFO, "websocket %s: refused a handshake from origin %.*s (not this "
                                  "site's, nor in the route's .origins)",
                  r->route ? r->route : "?", (int)(origin.len > 200 ? 200 : origin.len), origin.ptr);
        return cadre_app_error(r, 403, "This origin may not open a WebSocket here.");
    }
    cadre_ws *ws;
    int rc = cadre__ws_accept(r, &wr->ws, &ws);
    if (rc)
        return rc;
    return wr->fn(r, ws);
}

int cadre__websocket(cadre_app *app, const cadre_ws_route_opts *o)
{
    if (!o->handler) {
        cadre_app_config_error(app, o->file, o->line, "websocket %s has no handler",
                               o->path ? o->path : "?");
        return CADRE_EINVAL;
    }
    if (o->max_message > CADRE_WS_MAX_MESSAGE) {
        cadre_app_config_error(app, o->file, o->line, "websocket %s: max_message is at most "
                               "CADRE_WS_MAX_MESSAGE (1 GiB): a message is held whole in memory",
                               o->path ? o->path : "?");
        return CADRE_EINVAL;
    }
    if (o->ping_interval_ms < -1 || o->idle_timeout_ms < 0) {
        cadre_app_config_error(app, o->file, o->line, "websocket %s: ping_interval_ms (-1 or "
                               "more) and idle_timeout_ms (0 or more) out of range",
                               o->path ? o->path : "?");
        return CADRE_EINVAL;
    }
    size_t ol = o->origins ? strlen(o->origins) + 1 : 0;
    size_t pl = o->subprotocols ? strlen(o->subprotocols) + 1 : 0;
    struct ws_route *wr = cadre_app_own(app, calloc(1, sizeof *wr + ol + pl));
    if (!wr) {
        cadre_app_config_error(app, o->file, o->line, "out of memory adding websocket %s", o->path);
        return CADRE_ENOMEM;
    }
    wr->fn = o->handler;
    wr->ws = (cadre_ws_opts){ .max_message = o->max_message, .ping_interval_ms = o->ping_interval_ms,
                              .idle_timeout_ms = o->idle_timeout_ms,
                              .no_compression = o->no_compression };
    char *tail = (char *)(wr + 1);
    if (ol) {
        memcpy(tail, o->origins, ol);
        wr->origins = tail;
        tail += ol;
    }
    if (pl) {
        memcpy(tail, o->subprotocols, pl);
        wr->ws.subprotocols = tail;
    }
    struct cadre__route r = { .handler = ws_route, .handler_name = "websocket",
                              .own_guards = o->guards, .hidden = true, .data = wr,
                              .auth = o->auth };
    if (o->name && !(r.name = strdup(o->name))) {
        cadre_app_config_error(app, o->file, o->line, "out of memory adding websocket %s", o->path);
        return CADRE_ENOMEM;
    }
    return cadre__route_add(app, &r, "GET", o->path, o->file, o->line);
}
