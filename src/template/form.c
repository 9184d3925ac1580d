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
#include <cadre/orm.h>

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

/* A select's choice: the value sent, the text shown. */
typedef struct choice {
    cadre_slice value, label;
} choice;

/* The choices of foreign key f: the related rows by key, up to CADRE_FORM_CHOICES + 1 (one more
 * says there are too many for a select), labelled by their first text field (else "name #id").
 * Returns how many, or -1 when they cannot be read (the field is then a number input). */
static long fk_choices(cadre_arena *a, const cadre_tform *form, const cadre_field *f,
                       choice **out)
{
    const cadre_schema *t = f->fk();
    const cadre_field *pk = cadre_model_pk(t);
    if (!form->db || !pk || pk->type != CADRE_T_INT64)
        return -1;
    /* a user who may not view the related rows is not shown them */
    if (form->request && !cadre_model_allows(form->request, t, "view", NULL))
        return -1;
    const cadre_field *text = NULL;
    for (size_t i = 0; i < t->nfields && !text; i++)
        if (t->fields[i].type == CADRE_T_STRING && !t->fields[i].primary_key)
            text = &t->fields[i];
    cadre_query q;
    cadre_rows rows;
    cadre_q_init(&q, form->db, t, a);
    if (form->request && cadre_model_filter(form->request, t, &q) != 0)
        return -1;
    cadre_q_order_by(&q, text ? text->name : pk->name);
    cadre_q_limit(&q, CADRE_FORM_CHOICES + 1);
    if (cadre_q_fetch(&q, &rows) != 0)
        return -1; /* logged where it failed */
    choice *c = cadre_arena_calloc(a, (rows.len + 1) * sizeof *c);
    if (!c)
        return -1;
    for (size_t i = 0; i < rows.len; i++) {
        const char *row = (const char *)rows.items + i * t->size;
        int64_t id = *(const int64_t *)(row + pk->offset);
        c[i].value = cadre_slice_cstr(cadre_arena_printf(a, "%lld", (long long)id));
        cadre_slice label = text ? *(const cadre_slice *)(row + text->offset) : (cadre_slice){ 0 };
        c[i].label = label.len ? label
                               : cadre_slice_cstr(cadre_arena_printf(a, "%s #%lld", t->name,
                                                                     (long long)id));
    }
    *out = c;
    return (long)rows.len;
}

static const char *input_type(const cadre_field *f)
{
    if (f->fk)
        return "select";
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
    if (f->write_only || strcmp(f->name, "password") == 0 || strstr(f->name, "_password"))
        return "password";
    if (strcmp(f->name, "email") == 0 || strstr(f->name, "_email"))
        return "email";
    return f->type == CADRE_T_STRING && !f->has_max_len ? "textarea" : "text";
}

/* The choices a select of field f offers (an enum's values, a foreign key's rows), in *out;
 * how many, or -1 when f is not a select after all (a foreign key without a database, or with
 * more rows than a select lists: then a number input, with *out its suggestions). */
static long select_choices(cadre_arena *a, const cadre_tform *form, const cadre_field *f,
                           choice **out)
{
    *out = NULL;
    if (f->fk) {
        long n = fk_choices(a, form, f, out);
        return n > CADRE_FORM_CHOICES ? -1 : n;
    }
    const cadre_enum *en = f->en();
    choice *c = cadre_arena_calloc(a, (en->count + 1) * sizeof *c);
    if (!c)
        return -1;
    for (size_t k = 0; k < en->count; k++)
        c[k].value = c[k].label = cadre_slice_cstr(en->values[k]);
    *out = c;
    return (long)en->count;
}

/* Fields a form shows: those it names (all when none), not keys nor automatic timestamps, and
 * only those an input can hold. */
/* The name of field f's input: its own, or after the form's prefix ("stock_movement-0-note"). */
static const char *field_name(cadre_arena *a, const cadre_tform *form, const cadre_field *f)
{
    if (!form->prefix)
        return f->name;
    const char *n = cadre_arena_printf(a, "%s-%s", form->prefix, f->name);
    return n ? n : f->name;
}

static bool shown(const cadre_tform *form, size_t i)
{
    const cadre_field *f = &form->schema->fields[i];
    if (form->only && !((form->only >> i) & 1))
        return false;
    return !f->primary_key && !f->auto_now && !f->auto_now_add && f->type != CADRE_T_OBJECT &&
           f->type != CADRE_T_ARRAY && f->type != CADRE_T_STRINGS && f->type != CADRE_T_INT64S &&
           f->type != CADRE_T_DOUBLES;
}

/* "unit_price" → "Unit price"; a foreign key's "supplier_id" → "Supplier" (Django's) */
static cadre_slice label_of(cadre_arena *a, const cadre_field *f)
{
    const char *name = f->name;
    size_t n = strlen(name);
    if (f->fk && n > 3 && strcmp(name + n - 3, "_id") == 0)
        n -= 3;
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
        if (!shown(form, i))
            continue;
        const cadre_verror *e = field_error(form->errs, f->name);
        cadre_tvar *vars = cadre_arena_calloc(a, 9 * sizeof *vars);
        if (!vars)
            break;
        cadre_slice value = e ? input_text(a, e) : value_text(a, s, i, form->obj);
        cadre_tvalue *opts = NULL, *chs = NULL;
        size_t nopts = 0, nch = 0;
        const char *type = input_type(f);
        if (f->type == CADRE_T_ENUM) {
            const cadre_enum *en = f->en();
            opts = cadre_arena_calloc(a, (en->count + 1) * sizeof *opts);
            for (size_t k = 0; opts && k < en->count; k++)
                opts[nopts++] = CADRE_TSTR(en->values[k]);
        }
        if (strcmp(type, "select") == 0) {
            choice *c;
            long nc = select_choices(a, form, f, &c);
            if (nc < 0)
                type = "number";
            chs = nc > 0 ? cadre_arena_calloc(a, (size_t)nc * sizeof *chs) : NULL;
            for (long k = 0; chs && k < nc; k++) {
                cadre_tvar *pair = cadre_arena_calloc(a, 2 * sizeof *pair);
                if (!pair)
                    break;
                pair[0] = (cadre_tvar){ "value", CADRE_TSLICE(c[k].value) };
                pair[1] = (cadre_tvar){ "label", CADRE_TSLICE(c[k].label) };
                chs[nch++] = (cadre_tvalue){ .kind = CADRE_TV_MAP, .u.map = { pair, 2 } };
            }
        }
        vars[0] = (cadre_tvar){ "name", CADRE_TSTR(field_name(a, form, f)) };
        vars[1] = (cadre_tvar){ "label", CADRE_TSLICE(label_of(a, f)) };
        vars[2] = (cadre_tvar){ "value", CADRE_TSLICE(value) };
        vars[3] = (cadre_tvar){ "error", e ? CADRE_TSTR(e->msg) : CADRE_TNONE };
        vars[4] = (cadre_tvar){ "type", CADRE_TSTR(type) };
        vars[5] = (cadre_tvar){ "required", CADRE_TBOOL(cadre_field_required(f) &&
                                                        f->type != CADRE_T_BOOL) };
        vars[6] = (cadre_tvar){ "options", (cadre_tvalue){ .kind = CADRE_TV_VALUES,
                                                            .u.values = { opts, nopts } } };
        vars[7] = (cadre_tvar){ "help", f->description ? CADRE_TSTR(f->description) : CADRE_TNONE };
        vars[8] = (cadre_tvar){ "choices", (cadre_tvalue){ .kind = CADRE_TV_VALUES,
                                                            .u.values = { chs, nch } } };
        items[n++] = (cadre_tvalue){ .kind = CADRE_TV_MAP, .u.map = { vars, 9 } };
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
    bool searching = false; /* a foreign key input that searches as the user types */
    for (size_t i = 0; i < s->nfields; i++) {
        const cadre_field *f = &s->fields[i];
        if (!shown(form, i))
            continue;
        const cadre_verror *e = field_error(form->errs, f->name);
        cadre_slice value = e ? input_text(a, e) : value_text(a, s, i, form->obj);
        const char *type = input_type(f);
        bool req = cadre_field_required(f) && f->type != CADRE_T_BOOL;
        const char *nm = field_name(a, form, f); /* its input's name: "note", "stock-0-note" */
        cadre_buf_appendf(&b, "<p class=\"field%s\"><label for=\"id_%s\">", e ? " error" : "", nm);
        esc(&b, label_of(a, f));
        cadre_buf_append_str(&b, "</label> ");
        choice *c = NULL;
        long nc = strcmp(type, "select") == 0 ? select_choices(a, form, f, &c) : 0;
        if (nc < 0 && c && form->search) {
            /* too many rows for a select: the key, typed or picked from suggestions that follow
             * what is typed (the form page's search; without scripts, the first rows) */
            cadre_buf_appendf(&b, "<input type=\"text\" inputmode=\"numeric\" name=\"%s\" "
                                  "id=\"id_%s\"%s list=\"id_%s_list\" data-search=\"",
                              nm, nm, req ? " required" : "", nm);
            esc(&b, cadre_slice_cstr(form->search));
            esc(&b, cadre_slice_cstr(f->name));
            cadre_buf_append_str(&b, "\" autocomplete=\"off\" value=\"");
            esc(&b, value);
            cadre_buf_append_str(&b, "\">");
            searching = true;
        } else if (nc < 0) { /* a foreign key without a select: its id, with suggestions */
            cadre_buf_appendf(&b, "<input type=\"number\" name=\"%s\" id=\"id_%s\"%s%s value=\"",
                              nm, nm, req ? " required" : "",
                              c ? cadre_arena_printf(a, " list=\"id_%s_list\"", nm) : "");
            esc(&b, value);
            cadre_buf_append_str(&b, "\">");
        }
        if (nc < 0) {
            if (c) {
                cadre_buf_appendf(&b, "<datalist id=\"id_%s_list\">", nm);
                for (long k = 0; k < CADRE_FORM_CHOICES; k++) {
                    cadre_buf_append_str(&b, "<option value=\"");
                    esc(&b, c[k].value);
                    cadre_buf_append_str(&b, "\">");
                    esc(&b, c[k].label);
                    cadre_buf_append_str(&b, "</option>");
                }
                cadre_buf_append_str(&b, "</datalist>");
            }
        } else if (strcmp(type, "select") == 0) {
            cadre_buf_appendf(&b, "<select name=\"%s\" id=\"id_%s\"%s>", nm, nm,
                              req ? " required" : "");
            bool chosen = false;
            for (long k = 0; k < nc && !chosen; k++)
                chosen = cadre_slice_eq(c[k].value, value);
            if (!req || !chosen) /* Django's empty choice: nothing chosen yet, or not a choice */
                cadre_buf_append_str(&b, "<option value=\"\">---------</option>");
            for (long k = 0; k < nc; k++) {
                cadre_buf_append_str(&b, "<option value=\"");
                esc(&b, c[k].value);
                cadre_buf_append_str(&b, cadre_slice_eq(c[k].value, value) ? "\" selected>" : "\">");
                esc(&b, c[k].label);
                cadre_buf_append_str(&b, "</option>");
            }
            cadre_buf_append_str(&b, "</select>");
        } else if (strcmp(type, "textarea") == 0) {
            cadre_buf_appendf(&b, "<textarea name=\"%s\" id=\"id_%s\" rows=\"6\"%s", nm,
                              nm, req ? " required" : "");
            if (f->has_min_len && f->min_len)
                cadre_buf_appendf(&b, " minlength=\"%zu\"", f->min_len);
            cadre_buf_append_str(&b, ">");
            esc(&b, value);
            cadre_buf_append_str(&b, "</textarea>");
        } else if (strcmp(type, "checkbox") == 0) {
            bool on = value.len && !(value.len == 5 && memcmp(value.ptr, "false", 5) == 0);
            cadre_buf_appendf(&b, "<input type=\"checkbox\" name=\"%s\" id=\"id_%s\" value=\"true\"%s>",
                              nm, nm, on ? " checked" : "");
        } else if (strcmp(type, "file") == 0) { /* a file is never sent back either */
            cadre_buf_appendf(&b, "<input type=\"file\" name=\"%s\" id=\"id_%s\"%s%s>", nm,
                              nm, f->type == CADRE_T_FILES ? " multiple" : "", req ? " required" : "");
        } else {
            cadre_buf_append_str(&b, "<input type=\"");
            cadre_buf_append_str(&b, type);
            cadre_buf_appendf(&b, "\" name=\"%s\" id=\"id_%s\"", nm, nm);
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
    if (searching) /* each keystroke asks the form page for the rows whose label holds the text */
        cadre_buf_append_str(
            &b, "<script>document.querySelectorAll('input[data-search]').forEach(function(i){"
                "var t;i.addEventListener('input',function(){clearTimeout(t);t=setTimeout("
                "function(){fetch(i.dataset.search+'&q='+encodeURIComponent(i.value)).then("
                "function(r){return r.json()}).then(function(cs){var l=i.list;l.textContent='';"
                "cs.forEach(function(c){var o=document.createElement('option');o.value=c.value;"
                "o.textContent=c.label;l.appendChild(o)})})},200)})})</script>\n");
    return (cadre_slice){ b.data ? b.data : "", b.len };
}
