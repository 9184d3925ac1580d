/*
 * The OpenAPI 3.1 document, generated from the route table: paths with their parameters, request
 * bodies and responses, and every schema under components — the same descriptors the runtime
 * validates with, so the document and the server never disagree. The 422 shapes
 * (HTTPValidationError, ValidationError) are FastAPI's.
 */
#include "app_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void key(cadre_json_writer *w, const char *k)
{
    cadre_json_key(w, k, strlen(k));
}

static void str(cadre_json_writer *w, const char *v)
{
    cadre_json_string(w, v, strlen(v));
}

static void ref(cadre_json_writer *w, const char *name)
{
    char buf[256];
    int n = snprintf(buf, sizeof buf, "#/components/schemas/%s", name);
    cadre_json_begin_object(w);
    key(w, "$ref");
    cadre_json_string(w, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
    cadre_json_end_object(w);
}

/* The schemas to put under components: every body and response type and, recursively, the
 * types nested in them; one entry per name. */
struct schemas {
    const cadre_schema **items;
    size_t len, cap;
};

static void collect(struct schemas *c, const cadre_schema *s)
{
    if (s == cadre_none__schema())
        return;
    for (size_t i = 0; i < c->len; i++)
        if (strcmp(c->items[i]->name, s->name) == 0)
            return;
    const cadre_schema **slot = CADRE_VEC_PUSH(c, NULL, 0);
    if (!slot)
        return; /* the document then lacks a component; the writer reports nothing worse */
    *slot = s;
    for (size_t i = 0; i < s->nfields; i++)
        if (cadre_field_sub(&s->fields[i]))
            collect(c, cadre_field_sub(&s->fields[i]));
}

/* A partial update's body: listed once in patched (written as Patched<Name>), the types nested
 * in it among the other components (a nested object is replaced whole, so it is the full type). */
static void collect_patched(struct schemas *patched, struct schemas *comps, const cadre_schema *s)
{
    for (size_t i = 0; i < patched->len; i++)
        if (strcmp(patched->items[i]->name, s->name) == 0)
            return;
    const cadre_schema **slot = CADRE_VEC_PUSH(patched, NULL, 0);
    if (slot)
        *slot = s;
    for (size_t i = 0; i < s->nfields; i++)
        if (cadre_field_sub(&s->fields[i]))
            collect(comps, cadre_field_sub(&s->fields[i]));
}

/* FastAPI's default operation id: handler name, then the path with every non-word character
 * as '_', then the method: read_item_items__item_id__get. */
static void operation_id(cadre_json_writer *w, const struct cadre__route *rt)
{
    const cadre_route_spec *sp = rt->spec;
    if (sp && sp->operation_id) {
        str(w, sp->operation_id);
        return;
    }
    cadre_buf b;
    cadre_buf_init(&b, 1024);
    const char *stem = sp && sp->handler_name ? sp->handler_name
                       : rt->handler_name           ? rt->handler_name
                                                    : "route";
    int rc = cadre_buf_append_str(&b, stem);
    for (const char *p = rt->pattern; *p && rc == 0; p++) {
        char c = *p;
        bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_';
        rc = cadre_buf_append(&b, word ? &c : "_", 1);
    }
    if (rc == 0)
        rc = cadre_buf_append(&b, "_", 1);
    for (const char *m = rt->method; *m && rc == 0; m++) {
        char c = (char)(*m >= 'A' && *m <= 'Z' ? *m + 32 : *m);
        rc = cadre_buf_append(&b, &c, 1);
    }
    cadre_json_string(w, b.data ? b.data : "", b.len);
    cadre_buf_free(&b);
}

static void json_content(cadre_json_writer *w, const char *schema_name)
{
    key(w, "content");
    cadre_json_begin_object(w);
    key(w, "application/json");
    cadre_json_begin_object(w);
    key(w, "schema");
    ref(w, schema_name);
    cadre_json_end_object(w);
    cadre_json_end_object(w);
}

/* A request body's content: application/json, and for a route accepting forms (.form) the two
 * form media types, which carry the same schema (FastAPI's Form/File). A schema with a file
 * field is only multipart/form-data: neither JSON nor a urlencoded form can carry a file. */
static void body_content(cadre_json_writer *w, const cadre_route_spec *sp)
{
    if (!sp->form) {
        /* a partial update's body is its own component, with no field required */
        char patched[160];
        snprintf(patched, sizeof patched, "Patched%s", sp->body->name);
        json_content(w, sp->partial_body ? patched : sp->body->name);
        return;
    }
    bool files = false;
    for (size_t i = 0; i < sp->body->nfields; i++)
        files |= sp->body->fields[i].type == CADRE_T_FILE || sp->body->fields[i].type == CADRE_T_FILES;
    static const char *const types[] = { "application/json", "application/x-www-form-urlencoded",
                                         "multipart/form-data" };
    key(w, "content");
    cadre_json_begin_object(w);
    for (size_t i = files ? 2 : 0; i < 3; i++) {
        key(w, types[i]);
        cadre_json_begin_object(w);
        key(w, "schema");
        ref(w, sp->body->name);
        cadre_json_end_object(w);
    }
    cadre_json_end_object(w);
}

static const char *in_word(const struct cadre__route *rt, const cadre_field *f)
{
    cadre_param_in in = f->in;
    if (in == CADRE_IN_AUTO) {
        in = CADRE_IN_QUERY_;
        for (size_t i = 0; i < rt->nsegs; i++)
            if (rt->segs[i].param && strcmp(rt->segs[i].text, f->name) == 0)
                in = CADRE_IN_PATH_;
    }
    switch (in) {
    case CADRE_IN_PATH_: return "path";
    case CADRE_IN_HEADER_: return "header";
    case CADRE_IN_COOKIE_: return "cookie";
    default: return "query";
    }
}

/* Whether the route declares who may call it (the OpenAPI security of its operation). */
static bool secured(const cadre_app *app, const struct cadre__route *rt)
{
    return app->auth.security && !(rt->auth & CADRE_AUTH_PUBLIC) &&
           (rt->auth & (CADRE_AUTH_SESSION | CADRE_AUTH_TOKEN));
}

static void operation(cadre_json_writer *w, const cadre_app *app, const struct cadre__route *rt)
{
    const cadre_route_spec *sp = rt->spec;
    cadre_json_begin_object(w);
    if (sp && sp->tags) {
        key(w, "tags");
        cadre_json_begin_array(w);
        /* comma-separated tags */
        const char *p = sp->tags;
        cadre_slice tag;
        while (cadre_list_next(&p, &tag))
            cadre_json_string(w, tag.ptr, tag.len);
        cadre_json_end_array(w);
    }
    if (sp && sp->summary)
        key(w, "summary"), str(w, sp->summary);
    if (sp && sp->description)
        key(w, "description"), str(w, sp->description);
    key(w, "operationId");
    operation_id(w, rt);
    if (sp && sp->deprecated)
        key(w, "deprecated"), cadre_json_bool(w, true);
    if (secured(app, rt)) {
        key(w, "security");
        app->auth.security(w, rt->auth, "operation", app->auth.ctx);
    }
    bool validates = false;
    if (sp && (sp->params->nfields || sp->doc_params)) {
        validates = true;
        key(w, "parameters");
        cadre_json_begin_array(w);
        if (sp->doc_params)
            sp->doc_params(sp, w);
        for (size_t i = 0; i < sp->params->nfields; i++) {
            const cadre_field *f = &sp->params->fields[i];
            const char *in = in_word(rt, f);
            cadre_json_begin_object(w);
            key(w, "name");
            if (strcmp(in, "header") == 0) {
                char h[128];
                size_t n = 0;
                for (const char *q = f->name; *q && n < sizeof h - 1; q++)
                    h[n++] = *q == '_' ? '-' : *q;
                cadre_json_string(w, h, n);
            } else {
                str(w, f->name);
            }
            key(w, "in"), str(w, in);
            key(w, "required"), cadre_json_bool(w, strcmp(in, "path") == 0 || cadre_field_required(f));
            key(w, "schema");
            cadre_schema_write_field_schema(f, w, true);
            if (f->description)
                key(w, "description"), str(w, f->description);
            cadre_json_end_object(w);
        }
        cadre_json_end_array(w);
    }
    if (sp && sp->body != cadre_none__schema()) {
        validates = true;
        key(w, "requestBody");
        cadre_json_begin_object(w);
        body_content(w, sp);
        key(w, "required"), cadre_json_bool(w, true);
        cadre_json_end_object(w);
    }
    key(w, "responses");
    cadre_json_begin_object(w);
    char code[8];
    snprintf(code, sizeof code, "%d", sp ? sp->status : 200);
    key(w, code);
    cadre_json_begin_object(w);
    key(w, "description"), str(w, "Successful Response");
    if (sp && sp->response != cadre_none__schema())
        json_content(w, sp->response->name);
    cadre_json_end_object(w);
    if (secured(app, rt)) {
        key(w, "401");
        cadre_json_begin_object(w);
        key(w, "description"), str(w, "Not authenticated");
        cadre_json_end_object(w);
        /* refused: by a guard, by the handler's own permission check, or a cookie-authenticated
         * write without its CSRF token */
        bool unsafe = strcmp(rt->method, "GET") != 0 && strcmp(rt->method, "HEAD") != 0 &&
                      strcmp(rt->method, "OPTIONS") != 0;
        if (rt->guards || (sp && sp->forbids) || ((rt->auth & CADRE_AUTH_SESSION) && unsafe)) {
            key(w, "403");
            cadre_json_begin_object(w);
            key(w, "description"), str(w, "Forbidden");
            cadre_json_end_object(w);
        }
    }
    if (validates) {
        key(w, "422");
        cadre_json_begin_object(w);
        key(w, "description"), str(w, "Validation Error");
        json_content(w, "HTTPValidationError");
        cadre_json_end_object(w);
    }
    cadre_json_end_object(w);
    cadre_json_end_object(w);
}

/* FastAPI's own components for 422 answers. */
static const char validation_components[] =
    "\"HTTPValidationError\":{\"properties\":{\"detail\":{\"items\":{\"$ref\":\"#/components/"
    "schemas/ValidationError\"},\"type\":\"array\",\"title\":\"Detail\"}},\"type\":\"object\","
    "\"title\":\"HTTPValidationError\"},"
    "\"ValidationError\":{\"properties\":{\"loc\":{\"items\":{\"anyOf\":[{\"type\":\"string\"},{"
    "\"type\":\"integer\"}]},\"type\":\"array\",\"title\":\"Location\"},\"msg\":{\"type\":"
    "\"string\",\"title\":\"Message\"},\"type\":{\"type\":\"string\",\"title\":\"Error Type\"}},"
    "\"type\":\"object\",\"required\":[\"loc\",\"msg\",\"type\"],\"title\":\"ValidationError\"}";

int cadre_app_openapi(cadre_app *app, cadre_buf *out)
{
    cadre_json_writer w;
    cadre_json_writer_init(&w, out);
    struct schemas comps = { 0 }, patched = { 0 };
    cadre_json_begin_object(&w);
    key(&w, "openapi"), str(&w, "3.1.0");
    key(&w, "info");
    cadre_json_begin_object(&w);
    key(&w, "title"), str(&w, app->name);
    key(&w, "version"), str(&w, app->version ? app->version : "0.1.0");
    cadre_json_end_object(&w);
    key(&w, "paths");
    cadre_json_begin_object(&w);
    bool any_validation = false, any_security = false;
    unsigned used_auth = 0; /* the declarations of the secured operations, ORed */
    /* Routes sharing a pattern share a path item; emit each pattern once, in first-seen order. */
    for (size_t i = 0; i < app->nroutes; i++) {
        const struct cadre__route *rt = &app->routes[i];
        if (rt->hidden)
            continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !app->routes[j].hidden && strcmp(app->routes[j].pattern, rt->pattern) == 0;
        if (seen)
            continue;
        key(&w, rt->pattern);
        cadre_json_begin_object(&w);
        for (size_t j = i; j < app->nroutes; j++) {
            const struct cadre__route *r2 = &app->routes[j];
            if (r2->hidden || strcmp(r2->pattern, rt->pattern) != 0)
                continue;
            char m[16];
            size_t n = 0;
            for (const char *p = r2->method; *p && n < sizeof m - 1; p++)
                m[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
            cadre_json_key(&w, m, n);
            operation(&w, app, r2);
            if (secured(app, r2)) {
                any_security = true;
                used_auth |= r2->auth;
            }
            if (r2->spec) {
                if (r2->spec->partial_body && !r2->spec->form)
                    collect_patched(&patched, &comps, r2->spec->body);
                else
                    collect(&comps, r2->spec->body);
                collect(&comps, r2->spec->response);
                for (size_t k = 0; k < r2->spec->params->nfields; k++)
                    if (cadre_field_sub(&r2->spec->params->fields[k]))
                        collect(&comps, cadre_field_sub(&r2->spec->params->fields[k]));
                any_validation |= r2->spec->params->nfields || r2->spec->doc_params ||
                                  r2->spec->body != cadre_none__schema();
            }
        }
        cadre_json_end_object(&w);
    }
    cadre_json_end_object(&w);
    if (comps.len || patched.len || any_validation || any_security) {
        key(&w, "components");
        cadre_json_begin_object(&w);
        key(&w, "schemas");
        cadre_json_begin_object(&w);
        for (size_t i = 0; i < comps.len; i++) {
            key(&w, comps.items[i]->name);
            cadre_schema_write_json_schema(comps.items[i], &w, true);
        }
        for (size_t i = 0; i < patched.len; i++) {
            char name[160];
            int n = snprintf(name, sizeof name, "Patched%s", patched.items[i]->name);
            cadre_json_key(&w, name, (size_t)n < sizeof name ? (size_t)n : sizeof name - 1);
            cadre_schema_write_json_schema_patched(patched.items[i], &w, true);
        }
        if (any_validation) {
            /* two more members, written as text after the ones above */
            if (comps.len || patched.len)
                cadre_buf_append(out, ",", 1);
            cadre_buf_append(out, validation_components, sizeof validation_components - 1);
        }
        cadre_json_end_object(&w);
        if (any_security) {
            key(&w, "securitySchemes");
            cadre_json_begin_object(&w);
            app->auth.security(&w, used_auth, NULL, app->auth.ctx);
            cadre_json_end_object(&w);
        }
        cadre_json_end_object(&w);
    }
    cadre_json_end_object(&w);
    CADRE_VEC_FREE(&comps);
    CADRE_VEC_FREE(&patched);
    return cadre_json_writer_error(&w);
}

/* GET /openapi.json: built once, on first request, then served from memory. */
static int serve_openapi(cadre_request *r)
{
    cadre_app *app = cadre_request_app(r);
    pthread_mutex_lock(&app->openapi_lock);
    if (!app->openapi.data) {
        cadre_buf_init(&app->openapi, (size_t)1 << 26);
        if (cadre_app_openapi(app, &app->openapi) != 0)
            cadre_buf_free(&app->openapi);
    }
    pthread_mutex_unlock(&app->openapi_lock);
    if (!app->openapi.data)
        return cadre_error(r, 500, "could not build the OpenAPI document");
    return cadre_respond_ref(r, 200, "application/json", app->openapi.data, app->openapi.len);
}

void cadre__openapi_install(cadre_app *app)
{
    if (cadre_route(app, "GET", "/openapi.json", serve_openapi) == 0)
        app->routes[app->nroutes - 1].hidden = true;
}
