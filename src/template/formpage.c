/*
 * Form pages (CADRE_FORM_PAGE): GET shows a schema's form in a template; POST decodes the form
 * body into a struct, validates it, and shows the form again with its errors (422) or saves it and
 * redirects (303, Post/Redirect/Get). With a field list only those fields are shown and taken
 * from the request (the others keep their defaults: no mass assignment); without a save function
 * the struct is inserted as a row of the model, and what the database refused is said per field.
 */
#include <cadre/base.h>
#include <cadre/form.h>
#include <cadre/orm.h>
#include <cadre/template.h>

#include "template_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct form_page {
    cadre_form_page_spec spec;
    const char *path, *template_name, *success; /* copies, in the same allocation */
    uint64_t only;                              /* the fields shown and taken (0: all) */
    bool fks;                                   /* it shows a foreign key: PATH/choices */
};

/* s copied to *at, which moves past it (NULL stays NULL). */
static const char *copy_into(char **at, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *c = memcpy(*at, s, n);
    *at += n;
    return c;
}

/* The form, as the template sees it. */
static int show(cadre_request *r, const struct form_page *fp, int status, const void *obj,
                const cadre_verrors *errs)
{
    cadre_tform *form = cadre_alloc(r, sizeof *form);
    if (!form)
        return CADRE_ENOMEM;
    *form = (cadre_tform){ .schema = fp->spec.schema, .obj = obj, .errs = errs, .only = fp->only,
                           .db = fp->spec.db, .request = r,
                           .search = fp->fks ? cadre_arena_printf(r->arena, "%.*s/choices?field=",
                                                                  (int)r->head.path.len,
                                                                  r->head.path.ptr)
                                             : NULL };
    cadre_tctx ctx = CADRE_CTX({ "form", CADRE_TFORM_OF(form) });
    if (fp->spec.context) {
        int rc = cadre__page_context(r, ctx.vars, ctx.len, fp->spec.context, &ctx);
        if (rc < 0)
            return rc;
    }
    return cadre_render(r, status, fp->template_name, ctx);
}

/* A form page that inserts a row of its model asks the model's access hooks (cadre_auth's
 * permissions) for "add", as cadre_crud does: 0, or the refusal answered. */
static int may_add(cadre_request *r, const struct form_page *fp, const void *obj)
{
    return fp->spec.save ? 0 : cadre_model_check(r, fp->spec.schema, "add", obj);
}

static int form_get(cadre_request *r)
{
    int rc = may_add(r, r->route_data, NULL);
    return rc ? rc : show(r, r->route_data, 200, NULL, NULL);
}

/* Only the fields of the form are taken: the others are what the struct holds without input (a
 * default, or nothing), whatever the request sent, and their errors ("missing") are not the
 * form's. */
static void keep_form_fields(const cadre_schema *s, uint64_t only, void *obj,
                             cadre_verrors *errs, cadre_arena *arena)
{
    if (!only)
        return;
    size_t kept = 0;
    for (size_t i = 0; i < errs->len; i++) {
        cadre_slice name = cadre_verror_field(&errs->items[i], "body");
        const cadre_field *f = name.ptr ? cadre_schema_field(s, name.ptr, name.len) : NULL;
        if (!f || ((only >> (f - s->fields)) & 1))
            errs->items[kept++] = errs->items[i];
    }
    errs->len = kept;
    uint64_t *set = (uint64_t *)((char *)obj + s->set_offset);
    uint64_t *null = (uint64_t *)((char *)obj + s->null_offset);
    cadre_verrors scratch;
    cadre_verrors_init(&scratch, arena);
    for (size_t i = 0; i < s->nfields; i++) {
        if ((only >> i) & 1)
            continue;
        const cadre_field *f = &s->fields[i];
        memset((char *)obj + f->offset, 0, cadre_field_size(f));
        *set &= ~((uint64_t)1 << i);
        *null &= ~((uint64_t)1 << i);
        if (f->has_default)
            cadre_schema_default(s, f, obj, arena, "body", (cadre_slice){ "null", 4 }, &scratch);
    }
}

static void form_cleanup(void *form)
{
    cadre_form_cleanup(form);
}

int cadre_form_read(cadre_request *r, const cadre_schema *s, uint64_t only, void *obj,
                    cadre_verrors *errs)
{
    cadre_slice ctype = cadre_request_header(r, "Content-Type");
    cadre_slice media = cadre_media_type(ctype);
    bool multipart = cadre_slice_ieq_cstr(media, "multipart/form-data");
    if (!multipart && !cadre_slice_ieq_cstr(media, "application/x-www-form-urlencoded"))
        return cadre_error(r, 415, "Unsupported Media Type: a form sends "
                                   "application/x-www-form-urlencoded or multipart/form-data");
    memset(obj, 0, s->size);
    if (multipart) {
        cadre_form *form = cadre_alloc(r, sizeof *form);
        if (!form)
            return CADRE_ENOMEM;
        form->begun = false;
        /* its uploads are deleted once the request is done, unless save moved them */
        cadre_request_defer(r, form_cleanup, form);
        int rc = cadre_form_decode_multipart(form, s, ctype, r->body, obj, r->arena, NULL, errs);
        if (rc != 0 && rc != CADRE_EINVAL) {
            const char *detail;
            int status = cadre_body_refusal(rc, cadre_form_reason(form), &detail);
            return cadre_error(r, status, detail);
        }
    } else {
        cadre_form_decode_urlencoded(s, r->body, obj, r->arena, errs);
    }
    keep_form_fields(s, only, obj, errs, r->arena);
    return 0;
}

int cadre_form_read_urlencoded(cadre_request *r, const cadre_schema *s, uint64_t only,
                               cadre_slice text, void *obj, cadre_verrors *errs)
{
    memset(obj, 0, s->size);
    cadre_form_decode_urlencoded(s, text, obj, r->arena, errs);
    keep_form_fields(s, only, obj, errs, r->arena);
    return 0;
}

static int form_post(cadre_request *r)
{
    const struct form_page *fp = r->route_data;
    const cadre_schema *s = fp->spec.schema;
    int rc = may_add(r, fp, NULL);
    if (rc)
        return rc;
    void *obj = cadre_alloc(r, s->size);
    cadre_verrors errs;
    if (!obj)
        return CADRE_ENOMEM;
    cadre_verrors_init(&errs, r->arena);
    if ((rc = cadre_form_read(r, s, fp->only, obj, &errs)) != 0)
        return rc;
    if (errs.len)
        return show(r, fp, 422, obj, &errs);
    if (fp->spec.save) {
        rc = fp->spec.save(r, obj, &errs);
    } else if ((rc = may_add(r, fp, obj)) == 0) {
        rc = cadre_model_insert(fp->spec.db, r->arena, s, obj);
        if ((rc == CADRE_EEXIST || rc == CADRE_ESTATE) &&
            cadre_model_conflicts(fp->spec.db, r->arena, s, obj, -1, false, &errs) > 0)
            rc = 0; /* said beside the fields */
    }
    if (rc < 0 || cadre_responded(r))
        return rc;
    if (errs.len)
        return show(r, fp, 422, obj, &errs);
    return cadre_redirect(r, 303, fp->success ? fp->success : fp->path);
}

int cadre_form_choices(cadre_request *r, cadre_db *db, const cadre_schema *s, uint64_t only)
{
    cadre_slice name, text = { "", 0 };
    if (!cadre_request_query(r, "field", &name))
        return cadre_error(r, 404, "Not Found");
    cadre_request_query(r, "q", &text);
    const cadre_field *f = cadre_schema_field(s, name.ptr, name.len);
    if (!f || !f->fk || (only && !((only >> (f - s->fields)) & 1)) || !db)
        return cadre_error(r, 404, "Not Found");
    const cadre_schema *t = f->fk();
    const cadre_field *pk = cadre_model_pk(t), *label = NULL;
    for (size_t i = 0; i < t->nfields && !label; i++)
        if (t->fields[i].type == CADRE_T_STRING && !t->fields[i].primary_key)
            label = &t->fields[i];
    if (!pk || pk->type != CADRE_T_INT64 || !label)
        return cadre_error(r, 404, "Not Found");
    cadre_query q;
    cadre_rows rows;
    /* what the viewer may see of that model, as its list in the CRUD API */
    int rc = cadre_model_check(r, t, "view", NULL);
    if (rc)
        return rc;
    cadre_q_init(&q, db, t, r->arena);
    if ((rc = cadre_model_filter(r, t, &q)) != 0)
        return rc;
    if (text.len)
        cadre_q_filter(&q, cadre_arena_printf(r->arena, "%s__icontains", label->name),
                       CADRE_PSLICE(text));
    cadre_q_order_by(&q, label->name);
    cadre_q_limit(&q, 20);
    rc = cadre_q_fetch(&q, &rows);
    if (rc)
        return rc;
    cadre_buf out;
    cadre_json_writer w;
    cadre_buf_init_arena(&out, r->arena, (size_t)1 << 20);
    cadre_json_writer_init(&w, &out);
    cadre_json_begin_array(&w);
    for (size_t i = 0; i < rows.len; i++) {
        const char *row = (const char *)rows.items + i * t->size;
        const cadre_slice *l = (const cadre_slice *)(row + label->offset);
        cadre_json_begin_object(&w);
        cadre_json_key(&w, "value", 5);
        cadre_json_int(&w, *(const int64_t *)(row + pk->offset));
        cadre_json_key(&w, "label", 5);
        cadre_json_string(&w, l->ptr ? l->ptr : "", l->ptr ? l->len : 0);
        cadre_json_end_object(&w);
    }
    cadre_json_end_array(&w);
    return cadre_respond_ref(r, 200, "application/json", out.data, out.len);
}

/* GET PATH/choices?field=F&q=TEXT: what a foreign key input of the form suggests when its model
 * has too many rows for a select. */
static int form_choices(cadre_request *r)
{
    const struct form_page *fp = r->route_data;
    return cadre_form_choices(r, fp->spec.db, fp->spec.schema, fp->only);
}

/* The bits of the fields named in list ("name,price"); an unknown name is a configuration
 * error. */
static int field_bits(cadre_app *app, const cadre_form_page_spec *spec, const char *path,
                      uint64_t *out)
{
    *out = 0;
    const char *p = spec->fields;
    while (p && *p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ')
            e++;
        if (e == p)
            break;
        const cadre_field *f = cadre_schema_field(spec->schema, p, (size_t)(e - p));
        if (!f) {
            cadre_app_config_error(app, spec->file, spec->line,
                                   "form page %s: %s has no field %.*s", path, spec->schema->name,
                                   (int)(e - p), p);
            return CADRE_EINVAL;
        }
        *out |= (uint64_t)1 << (f - spec->schema->fields);
        p = e;
    }
    return 0;
}

int cadre__form_page(cadre_app *app, const char *path, const cadre_form_page_spec *spec)
{
    if (!spec->template_name || !path) {
        cadre_app_config_error(app, spec->file, spec->line, "form page %s: no %s",
                               path ? path : "?", path ? "template" : "path");
        return CADRE_EINVAL;
    }
    if (!spec->save && (!spec->db || !spec->schema->model)) {
        cadre_app_config_error(app, spec->file, spec->line,
                               "form page %s: without a save function the form is inserted as a "
                               "row, which needs a CADRE_MODEL and .db", path);
        return CADRE_EINVAL;
    }
    uint64_t only;
    int rc = field_bits(app, spec, path, &only);
    if (rc)
        return rc;
    /* the page and its strings in one block, which the app frees */
    size_t extra = strlen(path) + strlen(spec->template_name) +
                   (spec->success ? strlen(spec->success) : 0) + 3;
    struct form_page *fp = cadre_app_own(app, calloc(1, sizeof *fp + extra));
    if (!fp) {
        cadre_app_config_error(app, spec->file, spec->line, "form page %s: out of memory", path);
        return CADRE_ENOMEM;
    }
    char *at = (char *)(fp + 1);
    fp->path = copy_into(&at, path);
    fp->template_name = copy_into(&at, spec->template_name);
    fp->success = copy_into(&at, spec->success);
    fp->spec = *spec;
    fp->only = only;
    cadre_route_opts get = { .method = "GET", .path = path, .handler = form_get,
                             .handler_name = "form_page", .guards = spec->guards,
                             .name = spec->name, .data = fp, .file = spec->file,
                             .line = spec->line };
    cadre_route_opts post = get;
    post.method = "POST";
    post.handler = form_post;
    post.name = NULL; /* the name is the page's: its GET */
    rc = cadre__route(app, &get);
    if (rc == 0)
        rc = cadre__route(app, &post);
    /* the foreign keys' search, when the form has one */
    for (size_t i = 0; i < spec->schema->nfields; i++)
        fp->fks |= spec->schema->fields[i].fk && (!only || ((only >> i) & 1));
    size_t n = strlen(path) + sizeof "/choices";
    char *choices = fp->fks && rc == 0 ? cadre_app_own(app, malloc(n)) : NULL;
    if (choices) {
        snprintf(choices, n, "%s/choices", path);
        cadre_route_opts search = get;
        search.path = choices;
        search.handler = form_choices;
        search.name = NULL;
        rc = cadre__route(app, &search);
    }
    return rc;
}
