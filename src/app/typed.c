/*
 * Typed routes: parameters and body are decoded and validated before the handler runs (422 with
 * every error otherwise), and the response struct is encoded after it.
 */
#include "app_internal.h"

#include <cadre/form.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *in_name(cadre_param_in in)
{
    switch (in) {
    case CADRE_IN_PATH_: return "path";
    case CADRE_IN_HEADER_: return "header";
    case CADRE_IN_COOKIE_: return "cookie";
    default: return "query";
    }
}

/* Where a params field comes from: declared, or path when the pattern names it, else query. */
static cadre_param_in where(const struct cadre__route *rt, const cadre_field *f)
{
    if (f->in != CADRE_IN_AUTO)
        return f->in;
    for (size_t i = 0; i < rt->nsegs; i++)
        if (rt->segs[i].param && strcmp(rt->segs[i].text, f->name) == 0)
            return CADRE_IN_PATH_;
    return CADRE_IN_QUERY_;
}

int cadre__route_typed(cadre_app *app, const cadre_route_spec *spec)
{
    const char *file = spec->file, *path = spec->path ? spec->path : "?";
    int line = spec->line;
    if (!spec->handler) {
        cadre_app_config_error(app, file, line, "route %s %s has no handler", spec->method, path);
        return CADRE_EINVAL;
    }
    cadre_route_spec *copy = malloc(sizeof *copy);
    if (!copy) {
        cadre_app_config_error(app, file, line, "out of memory adding route %s", path);
        return CADRE_ENOMEM;
    }
    *copy = *spec;
    if (!copy->params)
        copy->params = cadre_none__schema();
    if (!copy->body)
        copy->body = cadre_none__schema();
    if (!copy->response)
        copy->response = cadre_none__schema();
    if (!copy->status)
        copy->status = 200;
    /* the route keeps its own copies of the guards and the name (route_add) */
    copy->guards = NULL;
    copy->name = NULL;
    struct cadre__route r = { .spec = copy, .handler_name = spec->handler_name,
                              .own_guards = spec->guards, .auth = spec->auth };
    if (spec->name && !(r.name = strdup(spec->name))) {
        free(copy);
        cadre_app_config_error(app, file, line, "out of memory adding route %s", path);
        return CADRE_ENOMEM;
    }
    size_t before = app->nroutes;
    int rc = cadre__route_add(app, &r, spec->method, spec->path, file, line);
    if (rc || app->nroutes == before)
        return rc;
    /* Start-up checks: every {param} of the pattern is a field of the params schema, and every
     * field declared as a path parameter is in the pattern. */
    const struct cadre__route *rt = &app->routes[app->nroutes - 1];
    const cadre_schema *ps = copy->params;
    for (size_t i = 0; i < rt->nsegs; i++) {
        if (rt->segs[i].param && !cadre_schema_field(ps, rt->segs[i].text, rt->segs[i].len)) {
            cadre_app_config_error(app, file, line,
                             "route %s %s: path parameter {%s} is not a field of %s", spec->method,
                             path, rt->segs[i].text, ps->name);
            rc = CADRE_EINVAL;
        }
    }
    for (size_t i = 0; i < ps->nfields; i++) {
        const cadre_field *f = &ps->fields[i];
        if (f->in == CADRE_IN_PATH_ && where(rt, &(cadre_field){ .name = f->name }) != CADRE_IN_PATH_) {
            cadre_app_config_error(app, file, line, "route %s %s: %s.%s is a path parameter the path lacks",
                             spec->method, path, ps->name, f->name);
            rc = CADRE_EINVAL;
        }
        if (f->type == CADRE_T_FILE || f->type == CADRE_T_FILES) {
            cadre_app_config_error(app, file, line,
                             "route %s %s: parameter %s.%s is a file: files come in a form body "
                             "(a body schema and .form = true)",
                             spec->method, path, ps->name, f->name);
            rc = CADRE_EINVAL;
        } else if (f->type == CADRE_T_STRINGS || f->type == CADRE_T_INT64S ||
                   f->type == CADRE_T_DOUBLES || f->type == CADRE_T_OBJECT ||
                   f->type == CADRE_T_ARRAY) {
            cadre_app_config_error(app, file, line, "route %s %s: parameter %s.%s must be a scalar",
                             spec->method, path, ps->name, f->name);
            rc = CADRE_EINVAL;
        }
    }
    /* A file can only arrive in multipart/form-data: without .form the field could never be
     * given, and a required one would refuse every request. */
    const cadre_schema *bs = copy->body;
    for (size_t i = 0; i < bs->nfields && !copy->form; i++) {
        const cadre_field *f = &bs->fields[i];
        if (f->type == CADRE_T_FILE || f->type == CADRE_T_FILES) {
            cadre_app_config_error(app, file, line,
                             "route %s %s: body field %s.%s is a file: add .form = true (files "
                             "come only in multipart/form-data)",
                             spec->method, path, bs->name, f->name);
            rc = CADRE_EINVAL;
        }
    }
    return rc;
}

/* The raw text of a parameter, or absent. Headers: name_with_underscores is Name-With-Hyphens. */
static cadre_slice param_text(cadre_request *r, cadre_param_in in, const char *name)
{
    switch (in) {
    case CADRE_IN_PATH_:
        return cadre_request_param(r, name);
    case CADRE_IN_HEADER_: {
        size_t n = strlen(name);
        char *h = cadre_alloc(r, n + 1);
        for (size_t i = 0; i <= n; i++)
            h[i] = name[i] == '_' ? '-' : name[i];
        return cadre_request_header(r, h);
    }
    case CADRE_IN_COOKIE_:
        return cadre_request_cookie(r, name);
    default: {
        cadre_slice v;
        return cadre_request_query(r, name, &v) ? v : (cadre_slice){ NULL, 0 };
    }
    }
}

enum body_kind { BODY_JSON, BODY_URLENCODED, BODY_MULTIPART, BODY_OTHER };

/* How the body is to be read, by FastAPI's rule: JSON when Content-Type is absent or empty, or
 * names application/json or application/...+json (parameters after ';' ignored, case
 * insensitive); the two form types for routes that accept forms; any other type (text/plain, or
 * a form for a route without .form) leaves raw bytes, which a schema refuses. */
static enum body_kind body_kind_of(cadre_slice ct);

static enum body_kind body_kind(const cadre_request *r)
{
    return body_kind_of(cadre_request_header(r, "Content-Type"));
}

/* A multipart body decoded while it arrives (stream_form), handed back in r->body_state; its
 * uploads and memory go when the request is done (sf_drop). */
struct stream_form {
    cadre_arena arena;
    cadre_form form;
    void *body;
    cadre_verrors errs;
};

static int sf_feed(void *state, const char *data, size_t len)
{
    return cadre_form_multipart_feed(&((struct stream_form *)state)->form, data, len);
}

/* The answer to a form body that could not be decoded: as to a body a sink refused. */
static int upload_failed(cadre_request *r, int rc, const char *why)
{
    const char *detail;
    int status = cadre_body_refusal(rc, why, &detail);
    return cadre_error(r, status, detail);
}

static const char *sf_reason(void *state)
{
    return cadre_form_reason(&((struct stream_form *)state)->form);
}

static void sf_drop(void *state)
{
    struct stream_form *sf = state;
    cadre_form_cleanup(&sf->form);
    cadre_arena_free(&sf->arena);
    free(sf);
}

/* Reads a multipart body of a form route into a stream_form while it arrives, its uploads
 * written to disk as they come (the guards have let the request in). Returns 0 with the form in
 * r->body_state; the status answered when the body could not be had (a limit, the disk);
 * CADRE_EINVAL when the body's Content-Type cannot begin a form (the buffered path answers it). */
static int stream_form(cadre_request *r, const cadre_route_spec *spec)
{
    struct stream_form *sf = calloc(1, sizeof *sf);
    if (!sf)
        return CADRE_ENOMEM;
    cadre_arena_init(&sf->arena, 16384);
    sf->body = cadre_arena_calloc(&sf->arena, spec->body->size);
    cadre_verrors_init(&sf->errs, &sf->arena);
    if (!sf->body ||
        cadre_form_multipart_begin(&sf->form, spec->body, cadre_request_header(r, "Content-Type"),
                                   sf->body, &sf->arena, spec->form_limits, &sf->errs) != 0) {
        sf_drop(sf);
        return CADRE_EINVAL;
    }
    /* the body may be as large as its files allow, plus room for the text fields */
    cadre_form_limits lim = spec->form_limits ? *spec->form_limits : cadre_form_limits_default();
    if (lim.max_file_size <= 0)
        lim.max_file_size = cadre_form_limits_default().max_file_size;
    uint64_t files = 0;
    for (size_t i = 0; i < spec->body->nfields; i++)
        files += spec->body->fields[i].type == CADRE_T_FILE    ? 1
                 : spec->body->fields[i].type == CADRE_T_FILES ? 16
                                                               : 0;
    cadre_body_sink sink = { sf, sf_feed, sf_reason, sf_drop,
                             files * (uint64_t)lim.max_file_size + ((uint64_t)16 << 20) };
    return cadre_request_stream_body(r, &sink);
}

static enum body_kind body_kind_of(cadre_slice ct)
{
    cadre_slice type = cadre_media_type(ct);
    if (!type.len)
        return BODY_JSON;
    const char *p = type.ptr, *end = type.ptr + type.len;
    if (cadre_slice_ieq_cstr(type, "application/x-www-form-urlencoded"))
        return BODY_URLENCODED;
    if (cadre_slice_ieq_cstr(type, "multipart/form-data"))
        return BODY_MULTIPART;
    const char *slash = memchr(p, '/', (size_t)(end - p));
    if (!slash || memchr(slash + 1, '/', (size_t)(end - slash - 1)) ||
        (size_t)(slash - p) != 11 || strncasecmp(p, "application", 11) != 0)
        return BODY_OTHER;
    size_t n = (size_t)(end - slash - 1);
    const char *sub = slash + 1;
    return (n == 4 && strncasecmp(sub, "json", 4) == 0) ||
                   (n >= 5 && strncasecmp(sub + n - 5, "+json", 5) == 0)
               ? BODY_JSON
               : BODY_OTHER;
}

/* A JSON body that is just null (FastAPI: no body). */
static bool body_is_null(cadre_slice b)
{
    const char *p = b.ptr, *end = b.ptr + b.len;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
        end--;
    return end - p == 4 && memcmp(p, "null", 4) == 0;
}

int cadre_respond_verrors(cadre_request *r, int status, const cadre_verrors *errs)
{
    cadre_buf out;
    cadre_json_writer w;
    cadre_buf_init_arena(&out, r->arena, (size_t)1 << 30);
    cadre_json_writer_init(&w, &out);
    cadre_verrors_write(errs, &w);
    return cadre_respond_ref(r, status, "application/json", out.data, out.len);
}

int cadre__typed_dispatch(const struct cadre__route *rt, cadre_request *r)
{
    const cadre_route_spec *spec = rt->spec;
    const cadre_schema *ps = spec->params, *bs = spec->body, *rs = spec->response;
    cadre_verrors errs;
    cadre_verrors_init(&errs, r->arena);
    r->route_data = spec->data;

    void *params = cadre_arena_calloc(r->arena, ps->size);
    uint64_t set = 0;
    /* FastAPI reports path, then query, then header, then cookie errors, then the body's. */
    static const cadre_param_in order[] = { CADRE_IN_PATH_, CADRE_IN_QUERY_, CADRE_IN_HEADER_,
                                            CADRE_IN_COOKIE_ };
    for (size_t o = 0; o < sizeof order / sizeof order[0]; o++) {
        for (size_t i = 0; i < ps->nfields; i++) {
            const cadre_field *f = &ps->fields[i];
            cadre_param_in in = where(rt, f);
            if (in != order[o])
                continue;
            cadre_slice text = param_text(r, in, f->name);
            if (text.ptr) {
                cadre_schema_decode_text(ps, f, text, params, r->arena, in_name(in), &errs);
                set |= (uint64_t)1 << i;
            } else {
                cadre_schema_default(ps, f, params, r->arena, in_name(in),
                                     (cadre_slice){ "null", 4 }, &errs);
            }
        }
    }
    *(uint64_t *)((char *)params + ps->set_offset) = set;

    void *body = cadre_arena_calloc(r->arena, bs->size);
    /* Temporary files of a multipart body: deleted once the handler is done (see done:). */
    cadre_form form;
    form.begun = false;
    int status;
    if (bs != cadre_none__schema()) {
        enum body_kind kind = body_kind(r);
        bool sent_as_form = !spec->form && (kind == BODY_URLENCODED || kind == BODY_MULTIPART);
        if (sent_as_form)
            kind = BODY_OTHER;
        bool json = kind == BODY_JSON;
        /* the body is read now, once the route's guards have let the request in */
        int brc = kind == BODY_MULTIPART ? stream_form(r, spec) : CADRE_EINVAL;
        if (brc == CADRE_EINVAL)
            brc = cadre_request_read_body(r);
        if (brc) {
            status = brc;
            goto done;
        }
        if (kind == BODY_URLENCODED) {
            /* an empty form is a form: each field is then missing or takes its default */
            cadre_form_decode_urlencoded(bs, r->body, body, r->arena, &errs);
        } else if (kind == BODY_MULTIPART && r->body_state) {
            /* decoded while it arrived: its uploads are on disk already */
            struct stream_form *sf = r->body_state;
            int rc = cadre_form_multipart_end(&sf->form);
            if (rc != 0 && rc != CADRE_EINVAL) {
                const char *why = cadre_form_reason(&sf->form);
                status = upload_failed(r, rc, why);
                goto done;
            }
            body = sf->body;
            for (size_t i = 0; i < sf->errs.len; i++)
                cadre_verrors_add(&errs, &sf->errs.items[i]);
        } else if (kind == BODY_MULTIPART) {
            int rc = cadre_form_decode_multipart(&form, bs, cadre_request_header(r, "Content-Type"),
                                                 r->body, body, r->arena, spec->form_limits, &errs);
            if (rc != 0 && rc != CADRE_EINVAL) {
                /* not a validation error: a malformed body (400), a limit (413), the disk (500) */
                const char *why = cadre_form_reason(&form);
                status = upload_failed(r, rc, why);
                goto done;
            }
        } else if (r->body.len == 0 || (json && body_is_null(r->body))) {
            /* FastAPI: a required body that is absent (or JSON null) */
            cadre_verror *v = cadre_verrors_push(&errs, "missing", "Field required", "body",
                                                 (cadre_slice){ NULL, 0 }, -1);
            v->input = (cadre_slice){ "null", 4 };
            v->input_is_json = true;
        } else if (!json) {
            /* another media type: the raw text, which is not an object; FastAPI's words, and,
             * for a body sent as a form to a JSON route (curl -d does that), a hint in ctx,
             * which clients that do not know it ignore */
            cadre_verror *v = cadre_verrors_push(
                &errs, "model_attributes_type",
                "Input should be a valid dictionary or object to extract fields from", "body",
                (cadre_slice){ NULL, 0 }, -1);
            v->input = r->body; /* text: written as a JSON string */
            v->ctx = sent_as_form ? "{\"hint\":\"this route takes JSON: send the body with "
                                    "Content-Type: application/json (curl -d sends "
                                    "application/x-www-form-urlencoded)\"}"
                                  : NULL;
        } else if (cadre_schema_decode_json(bs, r->body.ptr, r->body.len, body, r->arena, "body",
                                            &errs) == CADRE_EPARSE) {
            /* only the JSON error is reported then, as FastAPI does */
            cadre_verrors only;
            cadre_verrors_init(&only, r->arena);
            cadre_verrors_add(&only, &errs.items[errs.len - 1]);
            errs = only;
        }
        if (spec->partial_body && errs.len) {
            /* PATCH: a required field that is absent is simply not changed */
            size_t kept = 0;
            for (size_t i = 0; i < errs.len; i++) {
                const cadre_verror *e = &errs.items[i];
                bool top_missing = strcmp(e->type, "missing") == 0 && e->nloc == 2 &&
                                   cadre_verror_field(e, "body").ptr;
                if (!top_missing)
                    errs.items[kept++] = *e;
            }
            errs.len = kept;
        }
    }
    if (errs.len) {
        status = cadre_respond_verrors(r, 422, &errs);
        goto done;
    }

    void *out = cadre_arena_calloc(r->arena, rs->size);
    status = spec->handler(r, params, body, out);
    if (status < 0)
        goto done;
    if (status == 0)
        status = spec->status;
    if (cadre_responded(r) || rs == cadre_none__schema() || status < 200 || status >= 300 ||
        status == 204)
        goto done;
    cadre_buf buf;
    cadre_json_writer w;
    cadre_buf_init_arena(&buf, r->arena, (size_t)1 << 30);
    cadre_json_writer_init(&w, &buf);
    cadre_schema_encode_json(rs, out, &w);
    int werr = cadre_json_writer_error(&w);
    status = werr ? werr : cadre_respond_ref(r, status, "application/json", buf.data, buf.len);
done:
    cadre_form_cleanup(&form); /* the request is over for its uploads, whatever happened */
    if (r->body_state) /* a streamed form: its files go now, its memory with the request */
        cadre_form_cleanup(&((struct stream_form *)r->body_state)->form);
    return status;
}
