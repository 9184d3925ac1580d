/*
 * Health: GET /livez (the process answers) and GET /readyz (every readiness check passes: the
 * database answers, the migrations are applied, the server is not stopping), for a load balancer
 * (HAProxy's `option httpchk GET /readyz`) or an orchestrator. Plain "ok" by default; with
 * ?verbose, each check as application/health+json (draft-inadarei-api-health-check).
 */
#include "app_internal.h"

#include <cadre/json.h>

#include <stdlib.h>
#include <string.h>

struct cadre__ready_check {
    char *name;
    cadre_ready_fn fn;
    void *ctx;
};

static bool verbose(cadre_request *r)
{
    cadre_slice v;
    return cadre_request_query(r, "verbose", &v);
}

/* The answer: text, or the checks as health+json. */
static int answer(cadre_request *r, bool pass, const char *const *names, const char *const *whys,
                  size_t n)
{
    cadre_set_header(r, "Cache-Control", "no-store");
    int status = pass ? 200 : 503;
    if (!verbose(r))
        return cadre_text(r, status, pass ? "ok\n" : "not ready\n");
    cadre_buf out;
    cadre_buf_init_arena(&out, r->arena, 1 << 20);
    cadre_json_writer w;
    cadre_json_writer_init(&w, &out);
    cadre_json_begin_object(&w);
    cadre_json_key(&w, "status", 6);
    cadre_json_string(&w, pass ? "pass" : "fail", 4);
    cadre_json_key(&w, "checks", 6);
    cadre_json_begin_object(&w);
    for (size_t i = 0; i < n; i++) {
        cadre_json_key(&w, names[i], strlen(names[i]));
        cadre_json_begin_array(&w);
        cadre_json_begin_object(&w);
        cadre_json_key(&w, "status", 6);
        cadre_json_string(&w, whys[i] ? "fail" : "pass", 4);
        if (whys[i]) {
            cadre_json_key(&w, "output", 6);
            cadre_json_string(&w, whys[i], strlen(whys[i]));
        }
        cadre_json_end_object(&w);
        cadre_json_end_array(&w);
    }
    cadre_json_end_object(&w);
    cadre_json_end_object(&w);
    if (cadre_json_writer_error(&w))
        return CADRE_ENOMEM;
    return cadre_respond_ref(r, status, "application/health+json", out.data, out.len);
}

static int livez(cadre_request *r)
{
    const char *name = "process", *why = NULL;
    return answer(r, true, &name, &why, 1);
}

static int readyz(cadre_request *r)
{
    cadre_app *app = cadre_request_app(r);
    size_t n = app->nready + 1;
    const char **names = cadre_alloc(r, n * sizeof *names), **whys = cadre_alloc(r, n * sizeof *whys);
    if (!names || !whys)
        return CADRE_ENOMEM;
    names[0] = "server";
    whys[0] = atomic_load(&app->draining) ? "stopping: finishing its requests" : NULL;
    bool pass = !whys[0];
    for (size_t i = 0; i < app->nready; i++) {
        const struct cadre__ready_check *c = &app->ready[i];
        const char *why = NULL;
        int rc = c->fn(r, &why, c->ctx);
        names[i + 1] = c->name;
        whys[i + 1] = rc == 0 ? NULL : why ? why : cadre_strerror(rc);
        pass &= rc == 0;
    }
    return answer(r, pass, names, whys, n);
}

void cadre__health_install(cadre_app *app)
{
    cadre__route_builtin(app, "/livez", livez);
    cadre__route_builtin(app, "/readyz", readyz);
}

int cadre__app_health(cadre_app *app, const cadre_health_opts *o)
{
    int rc = 0;
    if (o->livez) {
        cadre__routes_remove(app, livez);
        rc = cadre__route_builtin(app, o->livez, livez);
    }
    if (o->readyz) {
        cadre__routes_remove(app, readyz);
        int rc2 = cadre__route_builtin(app, o->readyz, readyz);
        rc = rc ? rc : rc2;
    }
    return rc;
}

int cadre_app_ready_check(cadre_app *app, const char *name, cadre_ready_fn fn, void *ctx)
{
    if (!app || !name || !fn)
        return CADRE_EINVAL;
    for (size_t i = 0; i < app->nready; i++)
        if (strcmp(app->ready[i].name, name) == 0)
            return CADRE_EEXIST;
    struct cadre__ready_check *more = realloc(app->ready, (app->nready + 1) * sizeof *more);
    if (!more)
        return CADRE_ENOMEM;
    app->ready = more;
    char *copy = strdup(name);
    if (!copy)
        return CADRE_ENOMEM;
    app->ready[app->nready++] = (struct cadre__ready_check){ copy, fn, ctx };
    return 0;
}

void cadre__health_free(cadre_app *app)
{
    for (size_t i = 0; i < app->nready; i++)
        free(app->ready[i].name);
    free(app->ready);
}
