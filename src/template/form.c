/*
 * Forms in templates: a schema's fields with their values and their validation errors, as
 * markup ({{ form }}: Django's as_p) or as a list for a layout of one's own ({% for f in
 * form.fields %}). The value shown for a field that failed validation is what the user sent (the
 * error's input), so a form comes back as it was typed, with the message beside the field.
 */
#include "template_internal.h"

#include <cadre/base.h>
#include <cadre/schema.h>

#include <cadre/form.h>

#include <stdio.h>
#include <string.h>

static const cadre_verror *field_error(const cadre_verrors *errs, const char *name)
{
    return errs ? cadre_form_field_error(errs, name) : NULL;
}

/* The text an error's input shows again in its field: a form's text as it came; JSON (a list,
 * a file) as its text, a JSON string unquoted. */
static cadre_slice input_text(cadre_arena *a, const cadre_verror *e)
{
    cadre_slice in = e->input;
    if (!e->input_is_json)
        return in.ptr ? in : (cadre_slice){ "", 0 };
    if (!in.ptr || in.len == 0 || (in.len == 4 && memcmp(in.ptr, "null", 4) == 0))
        return (cadre_slice){ "", 0 };
    if (in.ptr[0] != '"')
        return in;
    cadre_json_reader rd;
    cadre_json_token tok;
    cadre_json_reader_init(&rd, in.ptr, in.len, a, 0);
    if (cadre_json_next(&rd, &tok) == 0 && tok.type == CADRE_JSON_STRING)
        return tok.str;
    return (cadre_slice){ "", 0 };
}

/* Field f of obj as the text an input shows ("" when absent). */
static cadre_slice value_text(cadre_arena *a, const cadre_schema *s, size_t i, const void *obj)
{
    const cadre_field *f = &s->fields[i];
    if (!obj)
        return (cadre_slice){ "", 0 };
    uint64_t set = *(const uint64_t *)((const char *)obj + s->set_offset);
    uint64_t null = *(const uint64_t *)((const char *)obj + s->null_offset);
    if (!((set >> i) & 1) && !f->has_default && f->type != CADRE_T_BOOL)
        return (cadre_slice){ "", 0 };
    if ((null >> i) & 1)
        return (cadre_slice){ "", 0 };
    const char *p = (const char *)obj + f->offset;
    char tmp[64];
    size_t n = 0;
    switch (f->type) {
    case CADRE_T_STRING: return *(const cadre_slice *)p;
    case CADRE_T_INT32: n = (size_t)snprintf(tmp, sizeof tmp, "%d", *(const int32_t *)p); break;
    case CADRE_T_INT64:
        n = (size_t)snprintf(tmp, sizeof tmp, "%lld", (long long)*(const int64_t *)p);
        break;
    case CADRE_T_DOUBLE: {
        cadre_buf b;
        cadre_json_writer w;
        cadre_buf_init_arena(&b, a, 64);
        cadre_json_writer_init(&w, &b);
        cadre_json_double(&w, *(const double *)p);
        return (cadre_slice){ b.data ? b.data : "", b.len };
    }
    case CADRE_T_ENUM: {
        const cadre_enum *en = f->en();
        int v = *(const int *)p;
        return v >= 0 && (size_t)v < en->count ? cadre_slice_cstr(en->values[v]) : (cadre_slice){ "", 0 };
    }
    case CADRE_T_DATE: n = cadre_date_format((const cadre_date *)p, tmp); break;
    case CADRE_T_DATETIME: {
        char big[48];
        size_t m = cadre_datetime_format((const cadre_datetime *)p, big);
        n = m > 16 ? 16 : m; /* datetime-local: YYYY-MM-DDTHH:MM */
        memcpy(tmp, big, n);
        break;
    }
    case CADRE_T_UUID: n = cadre_uuid_format((const cadre_uuid *)p, tmp); break;
    case CADRE_T_BOOL: return *(const bool *)p ? (cadre_slice){ "true", 4 } : (cadre_slice){ "", 0 };
    default: return (cadre_slice){ "", 0 };
    }
    char *c = cadre_arena_strndup(a, tmp, n);
    return (cadre_slice){ c ? c : "", c ? n : 0 };
}

static const char *input_type(const cadre_field *f)
{
    switch (f->type) {
    case CADRE_T_BOOL: return "checkbox";
    case CADRE_T_INT32:
    case CADRE_T_INT64:
    case CADRE_T_DOUBLE: return "number";
    case CADRE_T_DATE: return "date";
    case CADRE_T_DATETIME: return "datetime-local";
    case CADRE_T_ENUM: return "select";
    case CADRE_T_FILE:
    case CADRE_T_FILES: return "file";
    default: break;
    }
    if (strcmp(f->name, "password") == 0 || strstr(f->name, "_password"))
        return "password";
    if (strcmp(f->name, "email") == 0 || strstr(f->name, "_email"))
        return "email";
    return "text";
}

/* Fields a form shows: not keys nor automatic timestamps, and only those an input can hold. */
static bool shown(const cadre_field *f)
{
    return !f->primary_key && !f->auto_now && !f->auto_now_add && f->type != CADRE_T_OBJECT &&
           f->type != CADRE_T_ARRAY && f->type != CADRE_T_STRINGS && f->type != CADRE_T_INT64S &&
           f->type != CADRE_T_DOUBLES;
}

/* "unit_price" → "Unit price" */
static cadre_slice label_of(cadre_arena *a, const char *name)
{
    size_t n = strlen(name);
    char *c = cadre_arena_strndup(a, name, n);
    if (!c)
        return (cadre_slice){ "", 0 };
    for (size_t i = 0; i < n; i++)
        c[i] = c[i] == '_' ? ' ' : c[i];
    if (n && c[0] >= 'a' && c[0] <= 'z')
        c[0] = (char)(c[0] - 32);
    return (cadre_slice){ c, n };
}

/* multipart/form-data when a field is a file (the form tag's enctype), else urlencoded. */
cadre_tvalue cadre__form_enctype(const cadre_tform *form)
{
    for (size_t i = 0; i < form->schema->nfields; i++)
        if (form->schema->fields[i].type == CADRE_T_FILE || form->schema->fields[i].type == CADRE_T_FILES)
            return CADRE_TSTR("multipart/form-data");
    return CADRE_TSTR("application/x-www-form-urlencoded");
}

cadre_tvalue cadre__form_fields(cadre_arena *a, const cadre_tform *form)
{
    const cadre_schema *s = form->schema;
    cadre_tvalue *items = cadre_arena_calloc(a, (s->nfields + 1) * sizeof *items);
    size_t n = 0;
    for (size_t i = 0; items && i < s->nfields; i++) {
        const cadre_field *f = &s->fields[i];
        if (!shown(f))
            continue;
        const cadre_verror *e = field_error(form->errs, f->name);
        cadre_tvar *vars = cadre_arena_calloc(a, 8 * sizeof *vars);
        if (!vars)
            break;
        cadre_slice value = e ? input_text(a, e) : value_text(a, s, i, form->obj);
        cadre_tvalue *opts = NULL;
        size_t nopts = 0;
        if (f->type == CADRE_T_ENUM) {
            const cadre_enum *en = f->en();
            opts = cadre_arena_calloc(a, (en->count + 1) * sizeof *opts);
            for (size_t k = 0; opts && k < en->count; k++)
                opts[nopts++] = CADRE_TSTR(en->values[k]);
        }
        vars[0] = (cadre_tvar){ "name", CADRE_TSTR(f->name) };
        vars[1] = (cadre_tvar){ "label", CADRE_TSLICE(label_of(a, f->name)) };
        vars[2] = (cadre_tvar){ "value", CADRE_TSLICE(value) };
        vars[3] = (cadre_tvar){ "error", e ? CADRE_TSTR(e->msg) : CADRE_TNONE };
        vars[4] = (cadre_tvar){ "type", CADRE_TSTR(input_type(f)) };
        vars[5] = (cadre_tvar){ "required", CADRE_TBOOL(cadre_field_required(f) &&
                                                        f->type != CADRE_T_BOOL) };
        vars[6] = (cadre_tvar){ "options", (cadre_tvalue){ .kind = CADRE_TV_VALUES,
                                                            .u.values = { opts, nopts } } };
        vars[7] = (cadre_tvar){ "help", f->description ? CADRE_TSTR(f->description) : CADRE_TNONE };
        items[n++] = (cadre_tvalue){ .kind = CADRE_TV_MAP, .u.map = { vars, 8 } };
    }
    return (cadre_tvalue){ .kind = CADRE_TV_VALUES, .u.values = { items, n } };
}

static void esc(cadre_buf *b, cadre_slice s)
{
    cadre_buf_append_html(b, s.ptr, s.len); /* a full buffer shows as a short page */
}

/* Every field as Django's form.as_p writes it: label, input with the constraints the browser can
 * check too, the error. */
cadre_slice cadre__form_html(cadre_arena *a, const cadre_tform *form)
{
    cadre_buf b;
    cadre_buf_init_arena(&b, a, (size_t)1 << 24);
    const cadre_schema *s = form->schema;
    for (size_t i = 0; i < s->nfields; i++) {
        const cadre_field *f = &s->fields[i];
        if (!shown(f))
            continue;
        const cadre_verror *e = field_error(form->errs, f->name);
        cadre_slice value = e ? input_text(a, e) : value_text(a, s, i, form->obj);
        const char *type = input_type(f);
        bool req = cadre_field_required(f) && f->type != CADRE_T_BOOL;
        cadre_buf_appendf(&b, "<p class=\"field%s\"><label for=\"id_%s\">", e ? " error" : "", f->name);
        esc(&b, label_of(a, f->name));
        cadre_buf_append_str(&b, "</label> ");
        if (strcmp(type, "select") == 0) {
            cadre_buf_appendf(&b, "<select name=\"%s\" id=\"id_%s\"%s>", f->name, f->name,
                              req ? " required" : "");
            const cadre_enum *en = f->en();
            for (size_t k = 0; k < en->count; k++) {
                cadre_slice v = cadre_slice_cstr(en->values[k]);
                cadre_buf_append_str(&b, "<option value=\"");
                esc(&b, v);
                cadre_buf_append_str(&b, cadre_slice_eq(v, value) ? "\" selected>" : "\">");
                esc(&b, v);
                cadre_buf_append_str(&b, "</option>");
            }
            cadre_buf_append_str(&b, "</select>");
        } else if (strcmp(type, "checkbox") == 0) {
            bool on = value.len && !(value.len == 5 && memcmp(value.ptr, "false", 5) == 0);
            cadre_buf_appendf(&b, "<input type=\"checkbox\" name=\"%s\" id=\"id_%s\" value=\"true\"%s>",
                              f->name, f->name, on ? " checked" : "");
        } else if (strcmp(type, "file") == 0) { /* a file is never sent back either */
            cadre_buf_appendf(&b, "<input type=\"file\" name=\"%s\" id=\"id_%s\"%s%s>", f->name,
                              f->name, f->type == CADRE_T_FILES ? " multiple" : "", req ? " required" : "");
        } else {
            cadre_buf_append_str(&b, "<input type=\"");
            cadre_buf_append_str(&b, type);
            cadre_buf_appendf(&b, "\" name=\"%s\" id=\"id_%s\"", f->name, f->name);
            if (strcmp(type, "password") != 0) { /* a password is never sent back */
                cadre_buf_append_str(&b, " value=\"");
                esc(&b, value);
                cadre_buf_append_str(&b, "\"");
            }
            if (req)
                cadre_buf_append_str(&b, " required");
            if (f->has_max_len)
                cadre_buf_appendf(&b, " maxlength=\"%zu\"", f->max_len);
            if (f->has_min_len && f->min_len)
                cadre_buf_appendf(&b, " minlength=\"%zu\"", f->min_len);
            if (f->has_ge)
                cadre_buf_appendf(&b, " min=\"%.17g\"", f->ge);
            if (f->has_le)
                cadre_buf_appendf(&b, " max=\"%.17g\"", f->le);
            if (f->type == CADRE_T_DOUBLE)
                cadre_buf_append_str(&b, " step=\"any\"");
            cadre_buf_append_str(&b, ">");
        }
        if (e) {
            cadre_buf_append_str(&b, " <span class=\"error\">");
            esc(&b, cadre_slice_cstr(e->msg));
            cadre_buf_append_str(&b, "</span>");
        }
        cadre_buf_append_str(&b, "</p>\n");
    }
    return (cadre_slice){ b.data ? b.data : "", b.len };
}
