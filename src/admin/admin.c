/*
 * The admin site: its module, the registered models, the index and the change list.
 *
 * Every page is a route of its own (the index, one change list per model, the stylesheet), made
 * when the model is registered, behind auth's staff guard. A change list is one query for its
 * page of rows (with a LEFT JOIN per foreign-key column: select_related, never a query per row)
 * and one or two counts (the rows that match, and all of them when searching); its cells are
 * handed to the template as typed values, so the template escapes and formats them.
 */
#include "cadre/admin.h"

#include "cadre/auth.h"
#include "cadre/json.h"
#include "cadre/migrate.h"
#include "cadre/schema.h"
#include "cadre/form.h"
#include "cadre/template.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ADMIN_KEY "cadre.admin"
#define MAX_COLUMNS 32
#define MAX_SEARCH 16
#define MAX_ORDER 8
#define MAX_FILTERS 8
#define FILTER_CHOICES 100 /* a foreign key filter's rows */
#define MAX_ACTIONS 16
#define MAX_SELECTED 1000
#define MAX_INLINES 4
#define MAX_SECTIONS 8 /* fieldsets */
#define MAX_COMPUTED 8
#define INLINE_EXTRA 3 /* blank rows an inline offers */
#define INLINE_ROWS 50 /* related rows a page edits; more are only counted */

extern const cadre_migration_source cadre_admin_migrations[];
extern const size_t cadre_admin_migrations_count;
extern const cadre_template_source cadre_admin_templates[];
extern const size_t cadre_admin_templates_count;
extern const cadre_template_source cadre_admin_static[]; /* admin.css */
extern const size_t cadre_admin_static_count;

typedef struct admin_model {
    const cadre_schema *model;
    const char *module;  /* its module's label */
    const char *plural;
    char *url;           /* "/admin/MODULE/MODEL/" */
    const cadre_field *pk;
    const cadre_field *cols[MAX_COLUMNS];
    char *labels[MAX_COLUMNS]; /* "Supplier" */
    size_t ncols;
    char *title;    /* "Products" */
    char *singular; /* "product" */
    struct {
        const cadre_field *f;
        char how; /* 'c' contains, '^' starts with, '=' exact */
    } search[MAX_SEARCH];
    size_t nsearch;
    const cadre_field *filters[MAX_FILTERS]; /* the sidebar's */
    char *filter_labels[MAX_FILTERS];
    size_t nfilters;
    const char *order[MAX_ORDER]; /* "-price" */
    size_t norder;
    int per_page;
    uint64_t form_fields; /* the add/change form's fields, a bit per field index */
    uint64_t readonly;    /* fields shown on the change page as text, never read */
    bool view_only;       /* no add page, the change page read-only (rows the app's code writes) */
    struct {
        char *title;   /* NULL: the one untitled section */
        uint64_t bits; /* its fields (editable and read-only) */
    } sections[MAX_SECTIONS];
    size_t nsections;
    struct { /* columns computed by the app (cadre_admin_column) */
        char *label;
        cadre_admin_column_fn fn;
        void *ctx;
    } computed[MAX_COMPUTED];
    size_t ncomputed;
    struct {
        char *name, *label, *permission;
        cadre_admin_action_fn fn;
        void *ctx;
    } actions[MAX_ACTIONS];
    size_t nactions;
    char *add_url;        /* ".../add/" */
    char *tpl_model, *tpl_module; /* "admin/MODULE/MODEL/", "admin/MODULE/": its own templates */
    struct admin_site *site;
    struct { /* related models edited on this one's page (Django's inlines) */
        struct admin_model *m; /* the related model as the admin handles it (its form fields) */
        const cadre_field *fk; /* its foreign key to this model */
    } inlines[MAX_INLINES];
    size_t ninlines;
} admin_model;

typedef struct admin_site {
    cadre_app *app;
    cadre_db *db;
    cadre_module *mod;
    char *path; /* "/admin" */
    char *header, *title;
    int timeout_ms;         /* each statement of a change list */
    int64_t estimate_above; /* PostgreSQL's estimate instead of a count above this many rows */
    CADRE_VEC(admin_model *) models;
} admin_site;

/* Whether r's user may do action ("view", "add", "change", "delete") on m's rows (obj: one of
 * them, or NULL): the model's permissions, except that a view-only model is never added or
 * changed through the admin. */
static bool may(cadre_request *r, const admin_model *m, const char *action, const void *obj)
{
    if (m->view_only && (strcmp(action, "add") == 0 || strcmp(action, "change") == 0))
        return false;
    return cadre_model_allows(r, m->model, action, obj);
}

/* As may, answering for the page: 0, or the error page's code (cadre_model_check's). */
static int must(cadre_request *r, const admin_model *m, const char *action, const void *obj)
{
    if (m->view_only && (strcmp(action, "add") == 0 || strcmp(action, "change") == 0))
        return cadre_app_error(r, 403, "Forbidden");
    return cadre_model_check(r, m->model, action, obj);
}

static void model_free(admin_model *m)
{
    for (size_t j = 0; j < m->nsections; j++)
        free(m->sections[j].title);
    for (size_t j = 0; j < m->ncomputed; j++)
        free(m->computed[j].label);
    for (size_t j = 0; j < m->ninlines; j++)
        model_free(m->inlines[j].m);
    for (size_t j = 0; j < m->norder; j++)
        free((char *)m->order[j]);
    for (size_t j = 0; j < m->ncols; j++)
        free(m->labels[j]);
    for (size_t j = 0; j < m->nfilters; j++)
        free(m->filter_labels[j]);
    for (size_t j = 0; j < m->nactions; j++) {
        free(m->actions[j].name);
        free(m->actions[j].label);
        free(m->actions[j].permission);
    }
    free((char *)m->plural);
    free(m->title);
    free(m->singular);
    free(m->url);
    free(m->add_url);
    free(m->tpl_model);
    free(m->tpl_module);
    free(m);
}

static void site_free(void *p)
{
    admin_site *s = p;
    for (size_t i = 0; i < s->models.len; i++) {
        admin_model *m = s->models.items[i];
        model_free(m);
    }
    CADRE_VEC_FREE(&s->models);
    free(s->path);
    free(s->header);
    free(s->title);
    free(s);
}

/* The site's registration of model (by its table's name), or NULL. */
static admin_model *registered(const admin_site *s, const cadre_schema *model)
{
    for (size_t i = 0; s && model && i < s->models.len; i++)
        if (strcmp(s->models.items[i]->model->name, model->name) == 0)
            return s->models.items[i];
    return NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Pages
 * ------------------------------------------------------------------------------------------- */

static cadre_tvalue str(const char *s)
{
    return s ? CADRE_TSTR(s) : CADRE_TNONE;
}

/* Renders page ("change_list.html") of model m with the app's most specific template: its own
 * admin/MODULE/MODEL/page, else admin/MODULE/page, else the admin's (Django's lookup). */
static int render_page(cadre_request *r, const struct admin_model *m, int status, const char *page,
                       cadre_tctx ctx)
{
    /* the directories' names are made once, at registration: here only joined (no printf) */
    const char *dirs[3] = { m->tpl_model, m->tpl_module, "admin/" };
    char names[3][256];
    const char *list[3];
    size_t n = 0, pl = strlen(page);
    for (size_t i = 0; i < 3; i++) {
        size_t dl = dirs[i] ? strlen(dirs[i]) : SIZE_MAX / 2;
        if (dl + pl >= sizeof names[i])
            continue; /* a name too long for any template */
        memcpy(names[i], dirs[i], dl);
        memcpy(names[i] + dl, page, pl + 1);
        list[n++] = names[i];
    }
    return cadre_render_first(r, status, list, n, ctx);
}

/* What a page says after a redirect ("The product “Saw” was changed successfully.", Django's
 * messages): a cookie for the admin's path only (base64url text, at most MESSAGE_MAX bytes),
 * read and dropped by the next page. Not signed — an app need not have a secret key — so it is
 * only ever shown as escaped text: who could plant it could as well plant a session. */
#define MESSAGE_COOKIE "cadre_admin_message"
#define MESSAGE_MAX 300

static void flash(cadre_request *r, const admin_site *s, const char *fmt, ...) CADRE_PRINTF(3, 4);
static void flash(cadre_request *r, const admin_site *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cadre_buf b;
    cadre_buf_init_arena(&b, r->arena, 1024);
    int rc = cadre_buf_vappendf(&b, fmt, ap);
    va_end(ap);
    size_t n = b.len < MESSAGE_MAX ? b.len : MESSAGE_MAX;
    while (n < b.len && n && ((unsigned char)b.data[n] & 0xC0) == 0x80)
        n--; /* not inside a UTF-8 sequence */
    char *text = rc == 0 && n ? cadre_alloc(r, sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING)) : NULL;
    if (!text)
        return;
    sodium_bin2base64(text, sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                      (const unsigned char *)b.data, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    cadre_set_cookie(r, MESSAGE_COOKIE, text, .path = s->path, .max_age = 300, .http_only = true);
}

/* What an action said it did (cadre_admin_message), under this request state key. */
#define ACTION_MESSAGE "cadre.admin.action_message"

void cadre_admin_message(cadre_request *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cadre_buf b;
    cadre_buf_init_arena(&b, r->arena, 256);
    int rc = cadre_buf_vappendf(&b, fmt, ap);
    va_end(ap);
    if (rc == 0 && cadre_buf_append(&b, "", 1) == 0)
        (void)cadre_request_set(r, ACTION_MESSAGE, b.data);
}

/* The message a redirect left for this page, or none (the cookie is dropped). */
static cadre_tvalue messages(cadre_request *r, const admin_site *s)
{
    cadre_slice v = cadre_request_cookie(r, MESSAGE_COOKIE);
    if (!v.ptr)
        return CADRE_TNONE;
    cadre_set_cookie(r, MESSAGE_COOKIE, "", .path = s->path, .max_age = -1, .http_only = true);
    unsigned char *text = cadre_alloc(r, MESSAGE_MAX + 1);
    size_t n = 0;
    cadre_tvalue *one = cadre_alloc(r, sizeof *one);
    if (!text || !one || v.len > sodium_base64_ENCODED_LEN(MESSAGE_MAX, sodium_base64_VARIANT_URLSAFE_NO_PADDING) ||
        sodium_base642bin(text, MESSAGE_MAX, v.ptr, v.len, NULL, &n, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || !n ||
        !cadre_utf8_valid((const char *)text, n))
        return CADRE_TNONE; /* not one of ours: only dropped */
    *one = CADRE_TSLICE(((cadre_slice){ (const char *)text, n }));
    return (cadre_tvalue){ .kind = CADRE_TV_VALUES, .u.values = { one, 1 } };
}

/* The names every admin page sees. */
static cadre_tvar *page_vars(cadre_request *r, const admin_site *s, const char *title, size_t extra,
                             size_t *n)
{
    cadre_tvar *v = cadre_alloc(r, (5 + extra) * sizeof *v);
    if (!v)
        return NULL;
    v[0] = (cadre_tvar){ "site_header", str(s->header) };
    v[1] = (cadre_tvar){ "site_title", str(s->title) };
    v[2] = (cadre_tvar){ "title", str(title) };
    v[3] = (cadre_tvar){ "admin_path", str(s->path) };
    v[4] = (cadre_tvar){ "messages", messages(r, s) };
    *n = 5;
    return v;
}

static int css(cadre_request *r)
{
    cadre_set_header(r, "Cache-Control", "public, max-age=86400");
    const cadre_template_source *f = &cadre_admin_static[0];
    return cadre_respond(r, 200, "text/css; charset=utf-8", f->text, f->len);
}

/* GET /admin/: the models the user may view, by module (in the app's module order). */
static int index_page(cadre_request *r)
{
    const admin_site *s = r->route_data;
    cadre_tvalue *groups = cadre_alloc(r, (s->models.len + 1) * sizeof *groups);
    size_t ngroups = 0;
    if (!groups)
        return CADRE_ENOMEM;
    for (size_t i = 0; i < s->models.len; i++) {
        const char *module = s->models.items[i]->module;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(s->models.items[j]->module, module) == 0;
        if (seen)
            continue;
        cadre_tvalue *items = cadre_alloc(r, s->models.len * sizeof *items);
        size_t nitems = 0;
        if (!items)
            return CADRE_ENOMEM;
        for (size_t j = i; j < s->models.len; j++) {
            const admin_model *m = s->models.items[j];
            if (strcmp(m->module, module) != 0 || !may(r, m, "view", NULL))
                continue;
            cadre_tvar *v = cadre_alloc(r, 3 * sizeof *v);
            if (!v)
                return CADRE_ENOMEM;
            v[0] = (cadre_tvar){ "name", CADRE_TSTR(m->title) };
            v[1] = (cadre_tvar){ "model", CADRE_TSTR(m->model->name) };
            v[2] = (cadre_tvar){ "url", CADRE_TSTR(m->url) };
            items[nitems++] = (cadre_tvalue){ .kind = CADRE_TV_MAP, .u.map = { v, 3 } };
        }
        if (!nitems)
            continue;
        cadre_tvar *g = cadre_alloc(r, 2 * sizeof *g);
        if (!g)
            return CADRE_ENOMEM;
        g[0] = (cadre_tvar){ "module", CADRE_TSTR(module) };
        g[1] = (cadre_tvar){ "models", (cadre_tvalue){ .kind = CADRE_TV_VALUES,
                                                       .u.values = { items, nitems } } };
        groups[ngroups++] = (cadre_tvalue){ .kind = CADRE_TV_MAP, .u.map = { g, 2 } };
    }
    size_t n;
    cadre_tvar *v = page_vars(r, s, "Site administration", 1, &n);
    if (!v)
        return CADRE_ENOMEM;
    v[n++] = (cadre_tvar){ "groups", (cadre_tvalue){ .kind = CADRE_TV_VALUES,
                                                      .u.values = { groups, ngroups } } };
    return cadre_render(r, 200, "admin/index.html", (cadre_tctx){ v, n });
}

/* A name as the pages show it: "supplier_id" of a foreign key → "Supplier", "updated_at" →
 * "Updated at" (Django's verbose names). */
static char *label_of(const char *name, bool fk)
{
    size_t n = strlen(name);
    if (fk && n > 3 && strcmp(name + n - 3, "_id") == 0)
        n -= 3;
    char *l = malloc(n + 1);
    if (!l)
        return NULL;
    for (size_t i = 0; i < n; i++)
        l[i] = name[i] == '_' ? ' ' : name[i];
    l[n] = '\0';
    if (l[0] >= 'a' && l[0] <= 'z')
        l[0] = (char)(l[0] - 'a' + 'A');
    return l;
}

/* The label of a row of model t: its first text field, else "t #id". */
static cadre_tvalue row_label(cadre_request *r, const cadre_schema *t, const void *row)
{
    const cadre_field *pk = cadre_model_pk(t);
    for (size_t i = 0; i < t->nfields; i++) {
        const cadre_field *f = &t->fields[i];
        if (f->type == CADRE_T_STRING && !f->primary_key && !f->write_only) {
            cadre_slice v = *(const cadre_slice *)((const char *)row + f->offset);
            if (v.len)
                return CADRE_TSLICE(v);
            break;
        }
    }
    long long id = pk && pk->type == CADRE_T_INT64
                       ? (long long)*(const int64_t *)((const char *)row + pk->offset) : 0;
    return CADRE_TSTR(cadre_arena_printf(r->arena, "%s #%lld", t->name, id));
}

/* Field f of row as the template shows it: "-" when null or absent (Django's empty value). */
static cadre_tvalue cell(cadre_request *r, const cadre_schema *m, const cadre_field *f,
                         const void *row)
{
    size_t i = (size_t)(f - m->fields);
    uint64_t set = *(const uint64_t *)((const char *)row + m->set_offset);
    uint64_t null = *(const uint64_t *)((const char *)row + m->null_offset);
    const char *p = (const char *)row + f->offset;
    if (!((set >> i) & 1) || ((null >> i) & 1))
        return CADRE_TSTR("-");
    switch (f->type) {
    case CADRE_T_BOOL: return CADRE_TBOOL(*(const bool *)p);
    case CADRE_T_INT32: return CADRE_TINT(*(const int32_t *)p);
    case CADRE_T_INT64: return CADRE_TINT(*(const int64_t *)p);
    case CADRE_T_DOUBLE: return CADRE_TDOUBLE(*(const double *)p);
    case CADRE_T_STRING: return CADRE_TSLICE(*(const cadre_slice *)p);
    case CADRE_T_DATE: {
        char *t = cadre_alloc(r, CADRE_DATE_TEXT);
        return t && cadre_date_format((const cadre_date *)p, t) ? CADRE_TSTR(t) : CADRE_TSTR("-");
    }
    case CADRE_T_DATETIME: {
        /* "2026-12-06 00:35:35 UTC": to the second, as people read it */
        char *t = cadre_alloc(r, CADRE_DATETIME_TEXT + 4);
        size_t len = t ? cadre_datetime_format((const cadre_datetime *)p, t) : 0;
        if (len < 19)
            return CADRE_TSTR("-");
        bool utc = t[len - 1] == 'Z';
        t[10] = ' ';
        memcpy(t + 19, utc ? " UTC" : "", utc ? 5 : 1);
        return CADRE_TSTR(t);
    }
    default: { /* enums, UUIDs: as JSON writes them, without the quotes */
        cadre_buf b;
        cadre_json_writer w;
        cadre_buf_init_arena(&b, r->arena, 4096);
        cadre_json_writer_init(&w, &b);
        cadre_schema_encode_field(f, row, &w);
        const char *t = cadre_buf_cstr(&b);
        if (!t)
            return CADRE_TSTR("-");
        size_t n = strlen(t);
        if (n >= 2 && t[0] == '"')
            return CADRE_TSLICE(((cadre_slice){ t + 1, n - 2 }));
        return CADRE_TSTR(t);
    }
    }
}

/* What a change list shows: its page, order, search and each filter's chosen value (empty: all). */
typedef struct list_state {
    int64_t page;
    const char *order; /* ?o=, a column's name or "-name", or NULL */
    cadre_slice q;
    cadre_slice fval[MAX_FILTERS];
    bool keyset, desc; /* ordered by the integer primary key first (descending) */
    int bound;         /* rows after (1) or before (-1) key, or 0 */
    int64_t key;
} list_state;

/* The change list's link for st with page and order, and filter fi (>= 0) set to fval (empty:
 * none), in r's arena. */
static const char *list_url(cadre_request *r, const admin_model *m, const list_state *st,
                            int64_t page, const char *order, int fi, cadre_slice fval)
{
    cadre_buf b;
    cadre_buf_init_arena(&b, r->arena, 8192);
    char sep = '?';
    cadre_buf_append_str(&b, m->url);
    for (size_t i = 0; i < m->nfilters; i++) {
        cadre_slice v = (int)i == fi ? fval : st->fval[i];
        if (!v.len)
            continue;
        cadre_buf_appendf(&b, "%c%s=", sep, m->filters[i]->name);
        cadre_url_encode(&b, v.ptr, v.len);
        sep = '&';
    }
    if (st->q.len) {
        cadre_buf_appendf(&b, "%cq=", sep);
        cadre_url_encode(&b, st->q.ptr, st->q.len);
        sep = '&';
    }
    if (order) {
        cadre_buf_appendf(&b, "%co=", sep);
        cadre_url_encode(&b, order, strlen(order));
        sep = '&';
    }
    if (page > 1)
        cadre_buf_appendf(&b, "%cp=%lld", sep, (long long)page);
    const char *t = cadre_buf_cstr(&b);
    return t ? t : m->url;
}

/* The date ranges of a date filter: ?field=today|week|month|year. */
static const char *const DATE_RANGES[][2] = {
    { "today", "Today" }, { "week", "Past 7 days" }, { "month", "This month" }, { "year", "This year" },
};

/* Applies filter i's value v to q: false when v is not one of its values (then ignored). */
static bool apply_filter(cadre_request *r, const admin_model *m, size_t i, cadre_slice v,
                         cadre_query *q)
{
    const cadre_field *f = m->filters[i];
    const char *val = cadre_arena_strndup(r->arena, v.ptr, v.len);
    if (!val)
        return false;
    switch (f->type) {
    case CADRE_T_BOOL:
        if (strcmp(val, "1") != 0 && strcmp(val, "0") != 0)
            return false;
        cadre_q_filter(q, f->name, CADRE_PINT(val[0] == '1'));
        return true;
    case CADRE_T_ENUM: {
        const cadre_enum *e = f->en();
        for (size_t k = 0; k < e->count; k++)
            if (strcmp(e->values[k], val) == 0) {
                cadre_q_filter(q, f->name, CADRE_PTEXT(e->values[k]));
                return true;
            }
        return false;
    }
    case CADRE_T_DATE:
    case CADRE_T_DATETIME: {
        time_t now = time(NULL);
        struct tm t;
        gmtime_r(&now, &t);
        if (strcmp(val, "week") == 0) {
            now -= 7 * 86400;
            gmtime_r(&now, &t);
        } else if (strcmp(val, "month") == 0) {
            t.tm_mday = 1, t.tm_hour = t.tm_min = t.tm_sec = 0;
        } else if (strcmp(val, "year") == 0) {
            t.tm_mon = 0, t.tm_mday = 1, t.tm_hour = t.tm_min = t.tm_sec = 0;
        } else if (strcmp(val, "today") != 0) {
            return false;
        }
        if (strcmp(val, "today") == 0)
            t.tm_hour = t.tm_min = t.tm_sec = 0;
        char since[32];
        if (f->type == CADRE_T_DATE)
            strftime(since, sizeof since, "%Y-%m-%d", &t);
        else
            strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", &t);
        cadre_q_filter(q, cadre_arena_printf(r->arena, "%s__gte", f->name),
                       CADRE_PTEXT(cadre_arena_printf(r->arena, "%s", since)));
        return true;
    }
    default: { /* a foreign key: the id of a row */
        char *end;
        long long id = strtoll(val, &end, 10);
        if (!*val || *end || id < 1 || strlen(val) > 18)
            return false;
        cadre_q_filter(q, f->name, CADRE_PINT(id));
        return true;
    }
    }
}

/* The chosen filters as name/value pairs, for the search form's hidden inputs. */
static cadre_tvalue hidden_filters(cadre_request *r, const admin_model *m, const list_state *st)
{
    cadre_tvalue *items = cadre_alloc(r, (m->nfilters + 1) * sizeof *items);
    size_t n = 0;
    for (size_t i = 0; items && i < m->nfilters; i++) {
        cadre_tvar *h = st->fval[i].len ? cadre_alloc(r, 2 * sizeof *h) : NULL;
        if (!h)
            continue;
        h[0] = (cadre_tvar){ "name", CADRE_TSTR(m->filters[i]->name) };
        h[1] = (cadre_tvar){ "value", CADRE_TSLICE(st->fval[i]) };
        items[n++] = (cadre_tvalue){ .kind = CADRE_TV_MAP, .u.map = { h, 2 } };
    }
    return items ? (cadre_tvalue){ .kind = CADRE_TV_VALUES, .u.values = { items, n } } : CADRE_TNONE;
}

/* One option of a filter for the template. */
static cadre_tvalue option(cadre_request *r, const admin_model *m, const list_state *st,
                           size_t i, cadre_tvalue label, const char *value)
{
    cadre_slice v = cadre_slice_cstr(value);
    cadre_tvar *o = cadre_alloc(r, 3 * sizeof *o);
    if (!o)
        return CADRE_TNONE;
    o[0] = (cadre_tvar){ "label", label };
    o[1] = (cadre_tvar){ "url", CADRE_TSTR(list_url(r, m, st, 1, st->order, (int)i, v)) };
    o[2] = (cadre_tvar){ "selected", CADRE_TBOOL(st->fval[i].len == v.len &&
                                                  memcmp(st->fval[i].ptr, v.ptr, v.len) == 0) };
    return (cadre_tvalue){ .kind = CADRE_TV_MAP, .u.map = { o, 3 } };
}

/* The sidebar: each filter with its options (a foreign key's: the rows the user may view). */
static int sidebar(cadre_request *r, const admin_model *m, const list_state *st, cadre_tvalue *out)
{
    cadre_tvalue *filters = cadre_alloc(r, (m->nfilters + 1) * sizeof *filters);
    size_t nf = 0;
    if (!filters)
        return CADRE_ENOMEM;
    for (size_t i = 0; i < m->nfilters; i++) {
        const cadre_field *f = m->filters[i];
        size_t cap = FILTER_CHOICES + 2, n = 0;
        cadre_tvalue *opts = cadre_alloc(r, cap * sizeof *opts);
        if (!opts)
            return CADRE_ENOMEM;
        opts[n++] = option(r, m, st, i, CADRE_TSTR(f->type == CADRE_T_DATE ||
                                                   f->type == CADRE_T_DATETIME ? "Any date" : "All"), "");
        if (f->type == CADRE_T_BOOL) {
            opts[n++] = option(r, m, st, i, CADRE_TSTR("Yes"), "1");
            opts[n++] = option(r, m, st, i, CADRE_TSTR("No"), "0");
        } else if (f->type == CADRE_T_ENUM) {
            const cadre_enum *e = f->en();
            for (size_t k = 0; k < e->count && n < cap; k++)
                opts[n++] = option(r, m, st, i, CADRE_TSTR(e->values[k]), e->values[k]);
        } else if (f->type == CADRE_T_DATE || f->type == CADRE_T_DATETIME) {
            for (size_t k = 0; k < sizeof DATE_RANGES / sizeof *DATE_RANGES; k++)
                opts[n++] = option(r, m, st, i, CADRE_TSTR(DATE_RANGES[k][1]), DATE_RANGES[k][0]);
        } else {
            const cadre_schema *t = f->fk();
            const cadre_field *pk = cadre_model_pk(t);
            if (!cadre_model_allows(r, t, "view", NULL))
                continue; /* the related rows are not the user's to see */
            cadre_query q;
            cadre_rows rows;
            cadre_q_init(&q, m->site->db, t, r->arena);
            int rc = cadre_model_filter(r, t, &q);
            if (rc)
                return rc;
            cadre_q_order_by(&q, pk->name);
            cadre_q_limit(&q, FILTER_CHOICES);
            if ((rc = cadre_q_fetch(&q, &rows)) != 0)
                return rc;
            for (size_t k = 0; k < rows.len; k++) {
                const char *row = (const char *)rows.items + k * t->size;
                long long id = (long long)*(const int64_t *)(row + pk->offset);
                opts[n++] = option(r, m, st, i, row_label(r, t, row),
                                   cadre_arena_printf(r->arena, "%lld", id));
            }
        }
        cadre_tvar *fv = cadre_alloc(r, 2 * sizeof *fv);
        if (!fv)
            return CADRE_ENOMEM;
        fv[0] = (cadre_tvar){ "title", CADRE_TSTR(m->filter_labels[i]) };
        fv[1] = (cadre_tvar){ "options", (cadre_tvalue){ .kind = CADRE_TV_VALUES,
                                                          .u.values = { opts, n } } };
        filters[nf++] = (cadre_tvalue){ .kind = CADRE_TV_MAP, .u.map = { fv, 2 } };
    }
    *out = (cadre_tvalue){ .kind = CADRE_TV_VALUES, .u.values = { filters, nf } };
    return 0;
}

/* ?q=: each word of the text in one of the search fields (Django's search_fields). */
static void add_search(cadre_request *r, cadre_query *q, const admin_model *m, cadre_slice text)
{
    for (size_t i = 0; i < text.len;) {
        while (i < text.len && (text.ptr[i] == ' ' || text.ptr[i] == '\t'))
            i++;
        size_t start = i;
        while (i < text.len && text.ptr[i] != ' ' && text.ptr[i] != '\t')
            i++;
        if (i == start)
            break;
        const char *word = cadre_arena_strndup(r->arena, text.ptr + start, i - start);
        cadre_q_or_begin(q);
        for (size_t k = 0; k < m->nsearch; k++) {
            const cadre_field *f = m->search[k].f;
            const char *how = m->search[k].how == '^' ? "startswith"
                              : m->search[k].how == '=' ? "exact" : "icontains";
            if (f->type == CADRE_T_STRING) {
                cadre_q_filter(q, cadre_arena_printf(r->arena, "%s__%s", f->name, how),
                               CADRE_PTEXT(word));
            } else { /* a number searched for exactly, when the word is one */
                char *end;
                long long v = strtoll(word, &end, 10);
                if (*end == '\0' && end != word)
                    cadre_q_filter(q, f->name, CADRE_PINT(v));
            }
        }
        cadre_q_or_end(q);
    }
}

static void log_action(cadre_request *r, const admin_model *m, int action, const void *row,
                       const char *changes);
static const char *changed_fields(cadre_request *r, const admin_model *m, const void *before,
                                  const void *after);

/* The change page of row (a struct of m's model): ".../ID/change/". */
static const char *change_url(cadre_request *r, const admin_model *m, const void *row)
{
    /* not printf: a list's page makes one per row */
    char d[CADRE_I64_TEXT];
    size_t dl = cadre_i64_text(*(const int64_t *)((const char *)row + m->pk->offset), d);
    size_t ul = strlen(m->url);
    char *out = cadre_alloc(r, ul + dl + sizeof "/change/");
    if (!out)
        return m->url;
    memcpy(out, m->url, ul);
    memcpy(out + ul, d, dl);
    memcpy(out + ul + dl, "/change/", sizeof "/change/");
    return out;
}

/* Which button sent the form: Django's "_addanother" and "_continue" (else "_save"). */
#define BUTTON_FIELDS(F)                                                                           \
    F(string, _addanother, CADRE_OPTIONAL)                                                         \
    F(string, _continue, CADRE_OPTIONAL)
CADRE_SCHEMA(admin_buttons, BUTTON_FIELDS)

/* The add or change form: obj (NULL: empty) with errs beside its fields; read-only for a user who
 * may only view the row. */
/* ---------------------------------------------------------------------------------------------
 * Inlines: a related model's rows edited on the page of the row they point to (a product's stock
 * movements on the product's page), each row a form of its own whose inputs are named
 * PREFIX-N-FIELD (PREFIX is the related model's name), Django's formsets without the script.
 * ------------------------------------------------------------------------------------------- */

#define INLINE_META_FIELDS(F)                                                                      \
    F(int64, id, CADRE_OPTIONAL) F(bool, DELETE, CADRE_OPTIONAL) F(int64, TOTAL_FORMS, CADRE_OPTIONAL)
CADRE_SCHEMA(admin_inline_meta, INLINE_META_FIELDS)

typedef struct inline_row {
    void *obj;          /* its values: as read from the form, or from the database */
    const void *before; /* the row in the database (an existing row), or NULL */
    int64_t id;         /* 0: a new row */
    bool del;           /* its Delete box ticked */
    bool skip;          /* a blank new row, or an existing one unchanged: nothing to write */
    bool gone;          /* deleted by this save: not shown again */
    cadre_verrors errs;
} inline_row;

typedef struct inline_set {
    inline_row *rows;
    size_t n;
    int64_t more; /* existing rows beyond the page's */
    bool shown, may_add, may_change, may_delete;
    const char *error; /* about the set as a whole */
} inline_set;

/* The pairs of the urlencoded body whose name starts with prefix, the prefix taken off
 * ("stock_movement-0-note=x" → "note=x" for "stock_movement-0-"): a form of their own. */
static cadre_slice body_part(cadre_request *r, const char *prefix)
{
    size_t pl = strlen(prefix);
    cadre_buf b;
    cadre_buf_init_arena(&b, r->arena, r->body.len + 1);
    const char *p = r->body.ptr, *end = p ? p + r->body.len : NULL;
    while (p && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        if ((size_t)(e - p) > pl && memcmp(p, prefix, pl) == 0) {
            if (b.len)
                cadre_buf_append(&b, "&", 1);
            cadre_buf_append(&b, p + pl, (size_t)(e - p) - pl);
        }
        p = amp ? amp + 1 : end;
    }
    return (cadre_slice){ b.data ? b.data : "", b.len };
}

/* Whether something was typed into a new row's text, number or date inputs (a select or a
 * checkbox always sends its value: they say nothing of intent, as Django's has_changed). */
static bool typed(const admin_model *im, cadre_slice part)
{
    const char *p = part.ptr, *end = p + part.len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *e = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(e - p));
        if (eq && eq + 1 < e) {
            const cadre_field *f = cadre_schema_field(im->model, p, (size_t)(eq - p));
            if (f && ((im->form_fields >> (f - im->model->fields)) & 1) && !f->fk &&
                f->type != CADRE_T_BOOL && f->type != CADRE_T_ENUM)
                return true;
        }
        p = amp ? amp + 1 : end;
    }
    return false;
}

/* The existing rows of inline k that point to parent (those the user may view), by key: the
 * first INLINE_ROWS, or those of ids; *more gets how many more there are. */
static int inline_existing(cadre_request *r, const admin_model *m, size_t k, int64_t parent,
                           const cadre_value *ids, size_t nids, cadre_rows *out, int64_t *more)
{
    const admin_model *im = m->inlines[k].m;
    cadre_query q;
    cadre_q_init(&q, m->site->db, im->model, r->arena);
    int rc = cadre_model_filter(r, im->model, &q);
    if (rc)
        return rc;
    cadre_q_filter(&q, m->inlines[k].fk->name, CADRE_PINT(parent));
    if (ids)
        cadre_q_filter_in(&q, im->pk->name, ids, nids);
    cadre_q_order_by(&q, im->pk->name);
    cadre_q_limit(&q, INLINE_ROWS + 1);
    if ((rc = cadre_q_fetch(&q, out)) != 0)
        return rc;
    *more = 0;
    if (out->len > INLINE_ROWS) {
        out->len = INLINE_ROWS;
        cadre_q_limit(&q, -1);
        int64_t all;
        if ((rc = cadre_q_count(&q, &all)) != 0)
            return rc;
        *more = all - INLINE_ROWS;
    }
    return 0;
}

/* Starts inline k's set afresh with what the user may do with its rows; whether it is shown. */
static bool inline_begin(cadre_request *r, const admin_model *m, size_t k, bool readonly,
                         inline_set *set)
{
    const cadre_schema *t = m->inlines[k].m->model;
    *set = (inline_set){ 0 };
    set->shown = cadre_model_allows(r, t, "view", NULL);
    set->may_add = !readonly && cadre_model_allows(r, t, "add", NULL);
    set->may_change = !readonly && cadre_model_allows(r, t, "change", NULL);
    set->may_delete = !readonly && cadre_model_allows(r, t, "delete", NULL);
    return set->shown;
}

/* The set's next row, empty (its rows are allocated for it). */
static inline_row *next_row(cadre_request *r, inline_set *set)
{
    inline_row *row = &set->rows[set->n++];
    *row = (inline_row){ 0 };
    cadre_verrors_init(&row->errs, r->arena);
    return row;
}

/* The inlines of a page shown afresh: the rows that point to parent (0 when adding), then blank
 * rows for new ones. */
static int inline_load(cadre_request *r, const admin_model *m, int64_t parent, bool readonly,
                       inline_set *sets)
{
    for (size_t k = 0; k < m->ninlines; k++) {
        inline_set *set = &sets[k];
        const admin_model *im = m->inlines[k].m;
        if (!inline_begin(r, m, k, readonly, set))
            continue;
        cadre_rows rows = { 0 };
        int rc = parent ? inline_existing(r, m, k, parent, NULL, 0, &rows, &set->more) : 0;
        if (rc)
            return rc;
        size_t extra = set->may_add ? INLINE_EXTRA : 0;
        set->rows = cadre_alloc(r, (rows.len + extra + 1) * sizeof *set->rows);
        if (!set->rows)
            return CADRE_ENOMEM;
        for (size_t i = 0; i < rows.len + extra; i++) {
            inline_row *row = next_row(r, set);
            if (i < rows.len) {
                row->obj = (char *)rows.items + i * im->model->size;
                row->before = row->obj;
                row->id = *(const int64_t *)((const char *)row->obj + im->pk->offset);
            }
        }
    }
    return 0;
}

/* The inlines as posted, checked against the database and the user's permissions; *bad counts
 * the rows with errors. Nothing is written. Returns 0, a status already answered (403), or a
 * negative CADRE_E*. */
static int inline_read(cadre_request *r, const admin_model *m, int64_t parent, inline_set *sets,
                       size_t *bad)
{
    *bad = 0;
    for (size_t k = 0; k < m->ninlines; k++) {
        inline_set *set = &sets[k];
        const admin_model *im = m->inlines[k].m;
        if (!inline_begin(r, m, k, false, set))
            continue;
        const char *prefix = im->model->name;
        admin_inline_meta meta;
        cadre_verrors ignored;
        cadre_verrors_init(&ignored, r->arena);
        memset(&meta, 0, sizeof meta);
        cadre_form_decode_urlencoded(admin_inline_meta__schema(),
                                     body_part(r, cadre_arena_printf(r->arena, "%s-", prefix)), &meta,
                                     r->arena, &ignored);
        int64_t total = meta.TOTAL_FORMS;
        if (total < 0 || total > INLINE_ROWS + INLINE_EXTRA)
            total = 0; /* not a form this page sent */
        set->rows = cadre_alloc(r, ((size_t)total + 1) * sizeof *set->rows);
        cadre_value *ids = cadre_alloc(r, ((size_t)total + 1) * sizeof *ids);
        if (!set->rows || !ids)
            return CADRE_ENOMEM;
        size_t nids = 0;
        for (int64_t i = 0; i < total; i++) {
            inline_row *row = next_row(r, set);
            cadre_slice part = body_part(r, cadre_arena_printf(r->arena, "%s-%lld-", prefix, (long long)i));
            memset(&meta, 0, sizeof meta);
            cadre_form_decode_urlencoded(admin_inline_meta__schema(), part, &meta, r->arena, &ignored);
            row->id = meta.id > 0 ? meta.id : 0;
            row->del = row->id && meta.DELETE;
            if (!(row->obj = cadre_alloc(r, im->model->size)))
                return CADRE_ENOMEM;
            int rc = cadre_form_read_urlencoded(r, im->model, im->form_fields, part, row->obj,
                                                &row->errs);
            if (rc)
                return rc;
            if (row->id)
                ids[nids++] = CADRE_PINT(row->id);
            else if (!typed(im, part))
                row->skip = true; /* a blank row left blank */
        }
        /* the existing rows named: the parent's, which the user may see */
        cadre_rows existing = { 0 };
        int64_t more;
        int rc = nids ? inline_existing(r, m, k, parent, ids, nids, &existing, &more) : 0;
        if (rc)
            return rc;
        for (size_t i = 0; i < set->n; i++) {
            inline_row *row = &set->rows[i];
            if (row->skip) {
                row->errs.len = 0;
                continue;
            }
            if (row->id) {
                for (size_t j = 0; j < existing.len && !row->before; j++) {
                    const char *e = (const char *)existing.items + j * im->model->size;
                    if (*(const int64_t *)(e + im->pk->offset) == row->id)
                        row->before = e;
                }
                if (!row->before) { /* deleted meanwhile, or not this row's to edit */
                    set->error = "A row below was deleted or moved meanwhile: it is no longer "
                                 "listed. Check the others and save again.";
                    row->id = 0;
                    row->skip = true;
                    (*bad)++;
                    continue;
                }
                *(int64_t *)((char *)row->obj + im->pk->offset) = row->id;
            }
            if (row->del) {
                row->errs.len = 0;
                if (!set->may_delete || !cadre_model_allows(r, im->model, "delete", row->before))
                    return cadre_app_error(r, 403, "You may not delete these rows.");
                continue;
            }
            if (row->errs.len) {
                (*bad)++;
                continue;
            }
            if (row->id) {
                if (strcmp(changed_fields(r, im, row->before, row->obj), "[]") == 0) {
                    row->skip = true; /* unchanged */
                    continue;
                }
                if (!set->may_change || !cadre_model_allows(r, im->model, "change", row->before))
                    return cadre_app_error(r, 403, "You may not change these rows.");
            } else if (!set->may_add) {
                return cadre_app_error(r, 403, "You may not add these rows.");
            }
        }
    }
    return 0;
}

/* Writes the inlines read by inline_read, for parent (just added, or changed): deletes, changes,
 * adds, each logged. A row the database refuses (a unique or foreign key constraint) gets the
 * error beside its fields and *bad counts it. */
static int inline_save(cadre_request *r, const admin_model *m, int64_t parent, inline_set *sets,
                       size_t *bad)
{
    cadre_db *db = m->site->db;
    *bad = 0;
    for (size_t k = 0; k < m->ninlines; k++) {
        const admin_model *im = m->inlines[k].m;
        const cadre_field *fk = m->inlines[k].fk;
        inline_set *set = &sets[k];
        for (size_t i = 0; set->shown && i < set->n; i++) {
            inline_row *row = &set->rows[i];
            int64_t changes = 0;
            int rc = 0;
            if (row->skip)
                continue;
            if (row->del) {
                rc = cadre_model_delete(db, im->model, row->id, &changes);
                if (rc == CADRE_ESTATE) { /* a protected row refers to it */
                    set->error = "A row could not be deleted: other rows refer to it.";
                    (*bad)++;
                    continue;
                }
                if (rc == 0 && changes)
                    log_action(r, im, CADRE_ADMIN_DELETED, row->before, NULL);
                row->gone = rc == 0;
            } else if (row->id) {
                void *now = cadre_alloc(r, im->model->size);
                if (!now)
                    return CADRE_ENOMEM;
                memcpy(now, row->before, im->model->size);
                uint64_t *set_bits = (uint64_t *)((char *)row->obj + im->model->set_offset);
                *set_bits |= im->form_fields | ((uint64_t)1 << (im->pk - im->model->fields));
                cadre_schema_overlay(im->model, now, row->obj);
                if ((rc = cadre_model_check(r, im->model, "change", now)) != 0)
                    return rc;
                rc = cadre_model_update(db, r->arena, im->model, row->obj, true, &changes);
                if ((rc == CADRE_EEXIST || rc == CADRE_ESTATE) &&
                    cadre_model_conflicts(db, r->arena, im->model, row->obj, row->id, true,
                                          &row->errs) > 0) {
                    (*bad)++;
                    continue;
                }
                if (rc == 0)
                    log_action(r, im, CADRE_ADMIN_CHANGED, now,
                               changed_fields(r, im, row->before, now));
            } else {
                *(int64_t *)((char *)row->obj + fk->offset) = parent;
                *(uint64_t *)((char *)row->obj + im->model->set_offset) |=
                    (uint64_t)1 << (fk - im->model->fields);
                if ((rc = cadre_model_check(r, im->model, "add", row->obj)) != 0)
                    return rc;
                rc = cadre_model_insert(db, r->arena, im->model, row->obj);
                if ((rc == CADRE_EEXIST || rc == CADRE_ESTATE) &&
                    cadre_model_conflicts(db, r->arena, im->model, row->obj, -1, false,
                                          &row->errs) > 0) {
                    (*bad)++;
                    continue;
                }
                if (rc == 0) {
                    log_action(r, im, CADRE_ADMIN_ADDED, row->obj, NULL);
                    row->id = *(const int64_t *)((const char *)row->obj + im->pk->offset);
                    row->before = row->obj; /* shown again as the row it now is */
                }
            }
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* The inlines for the template: per set its title, its rows (each a form of its own, named
 * PREFIX-N-) and what the user may do. */
static cadre_tvalue inline_values(cadre_request *r, const admin_model *m, const inline_set *sets,
                                  int64_t parent, bool readonly)
{
    cadre_tvalue *groups = cadre_alloc(r, (m->ninlines + 1) * sizeof *groups);
    size_t ng = 0;
    for (size_t k = 0; groups && sets && k < m->ninlines; k++) {
        const inline_set *set = &sets[k];
        const admin_model *im = m->inlines[k].m;
        if (!set->shown)
            continue;
        cadre_tvalue *rows = cadre_alloc(r, (set->n + 1) * sizeof *rows);
        cadre_tvar *g = cadre_alloc(r, 8 * sizeof *g);
        if (!rows || !g)
            return CADRE_TNONE;
        size_t shown = 0;
        for (size_t i = 0; i < set->n; i++) {
            const inline_row *row = &set->rows[i];
            if (row->gone)
                continue;
            bool ro = readonly || (row->id && !set->may_change);
            cadre_tform *form = cadre_alloc(r, sizeof *form);
            cadre_tvar *v = cadre_alloc(r, 7 * sizeof *v);
            if (!form || !v)
                return CADRE_TNONE;
            const char *prefix = cadre_arena_printf(r->arena, "%s-%zu", im->model->name, shown);
            *form = (cadre_tform){ .schema = im->model, .obj = row->obj, .errs = &row->errs,
                                   .only = im->form_fields, .db = m->site->db, .request = r,
                                   .prefix = prefix };
            v[0] = (cadre_tvar){ "form", CADRE_TFORM_OF(form) };
            v[1] = (cadre_tvar){ "prefix", CADRE_TSTR(prefix) };
            v[2] = (cadre_tvar){ "pk", row->id ? CADRE_TINT(row->id) : CADRE_TNONE };
            v[3] = (cadre_tvar){ "label", row->before ? row_label(r, im->model, row->before)
                                                      : CADRE_TNONE };
            v[4] = (cadre_tvar){ "readonly", CADRE_TBOOL(ro) };
            v[5] = (cadre_tvar){ "can_delete", CADRE_TBOOL(!readonly && row->id && set->may_delete) };
            v[6] = (cadre_tvar){ "deleting", CADRE_TBOOL(row->del) };
            rows[shown++] = (cadre_tvalue){ .kind = CADRE_TV_MAP, .u.map = { v, 7 } };
        }
        const char *list = NULL; /* where the rows not shown are: the related model's list */
        const admin_model *reg = set->more ? registered(m->site, im->model) : NULL;
        for (size_t f = 0; reg && f < reg->nfilters && !list; f++)
            if (strcmp(reg->filters[f]->name, m->inlines[k].fk->name) == 0)
                list = cadre_arena_printf(r->arena, "%s?%s=%lld", reg->url,
                                          m->inlines[k].fk->name, (long long)parent);
        g[0] = (cadre_tvar){ "title", CADRE_TSTR(im->title) };
        g[1] = (cadre_tvar){ "singular", CADRE_TSTR(im->singular) };
        g[2] = (cadre_tvar){ "prefix", CADRE_TSTR(im->model->name) };
        g[3] = (cadre_tvar){ "total", CADRE_TINT((int64_t)shown) };
        g[4] = (cadre_tvar){ "rows", (cadre_tvalue){ .kind = CADRE_TV_VALUES,
                                                     .u.values = { rows, shown } } };
        g[5] = (cadre_tvar){ "more", set->more ? CADRE_TINT(set->more) : CADRE_TNONE };
        g[6] = (cadre_tvar){ "more_url", str(list) };
        g[7] = (cadre_tvar){ "error", str(set->error) };
        groups[ng++] = (cadre_tvalue){ .kind = CADRE_TV_MAP, .u.map = { g, 8 } };
    }
    return groups ? (cadre_tvalue){ .kind = CADRE_TV_VALUES, .u.values = { groups, ng } } : CADRE_TNONE;
}

/* The change page's sections (.fieldsets, or one untitled): each its part of the form and its
 * read-only fields as text. */
static cadre_tvalue sections(cadre_request *r, const admin_model *m, const cadre_tform *form,
                             const void *obj, bool adding)
{
    cadre_tvalue *items = cadre_alloc(r, (m->nsections + 1) * sizeof *items);
    for (size_t k = 0; items && k < m->nsections; k++) {
        cadre_tform *part = cadre_alloc(r, sizeof *part);
        cadre_tvar *v = cadre_alloc(r, 4 * sizeof *v);
        cadre_tvalue *ro = cadre_alloc(r, (65 + MAX_COMPUTED) * sizeof *ro);
        if (!part || !v || !ro)
            return CADRE_TNONE;
        *part = *form;
        part->only = form->only & m->sections[k].bits;
        size_t nro = 0;
        for (size_t i = 0; i < m->model->nfields; i++) {
            if (!((m->readonly & m->sections[k].bits) >> i & 1))
                continue;
            const cadre_field *f = &m->model->fields[i];
            cadre_tvar *fv = cadre_alloc(r, 2 * sizeof *fv);
            char *label = label_of(f->name, f->fk != NULL);
            if (!fv || !label) {
                free(label);
                return CADRE_TNONE;
            }
            fv[0] = (cadre_tvar){ "label", CADRE_TSTR(cadre_arena_printf(r->arena, "%s", label)) };
            fv[1] = (cadre_tvar){ "value", adding || !obj ? CADRE_TSTR("-") : cell(r, m->model, f, obj) };
            free(label);
            ro[nro++] = (cadre_tvalue){ .kind = CADRE_TV_MAP, .u.map = { fv, 2 } };
        }
        /* the computed columns (cadre_admin_column) after the last section's fields, for the
         * row the page shows (Django's readonly_fields that are functions) */
        for (size_t j = 0; k + 1 == m->nsections && !adding && obj && j < m->ncomputed; j++) {
            const char *text = NULL;
            cadre_rows one = { .items = (void *)obj, .len = 1 };
            cadre_tvar *fv = cadre_alloc(r, 2 * sizeof *fv);
            if (!fv)
                return CADRE_TNONE;
            if (m->computed[j].fn(r, &one, &text, m->computed[j].ctx) != 0)
                text = NULL; /* shown as "-": the page is the row's, not the column's */
            fv[0] = (cadre_tvar){ "label", CADRE_TSTR(m->computed[j].label) };
            fv[1] = (cadre_tvar){ "value", CADRE_TSTR(text ? text : "-") };
            ro[nro++] = (cadre_tvalue){ .kind = CADRE_TV_MAP, .u.map = { fv, 2 } };
        }
        v[0] = (cadre_tvar){ "title", str(m->sections[k].title) };
        v[1] = (cadre_tvar){ "form", CADRE_TFORM_OF(part) };
        v[2] = (cadre_tvar){ "readonly", (cadre_tvalue){ .kind = CADRE_TV_VALUES,
                                                         .u.values = { ro, nro } } };
        v[3] = (cadre_tvar){ "editable", CADRE_TBOOL(part->only != 0) };
        items[k] = (cadre_tvalue){ .kind = CADRE_TV_MAP, .u.map = { v, 4 } };
    }
    return items ? (cadre_tvalue){ .kind = CADRE_TV_VALUES, .u.values = { items, m->nsections } }
                 : CADRE_TNONE;
}

static int show_form(cadre_request *r, const admin_model *m, int status, const void *obj,
                     const cadre_verrors *errs, bool adding, bool readonly, inline_set *sets)
{
    const admin_site *s = m->site;
    int64_t parent = !adding && obj ? *(const int64_t *)((const char *)obj + m->pk->offset) : 0;
    inline_set fresh[MAX_INLINES];
    if (!sets && m->ninlines) {
        int rc = inline_load(r, m, parent, readonly, fresh);
        if (rc)
            return rc;
        sets = fresh;
    }
    cadre_tform *form = cadre_alloc(r, sizeof *form);
    if (!form)
        return CADRE_ENOMEM;
    *form = (cadre_tform){ .schema = m->model, .obj = obj, .errs = errs, .only = m->form_fields,
                           .db = s->db, .request = r,
                           .search = cadre_arena_printf(r->arena, "%schoices?field=", m->url) };
    const char *title =
        adding ? cadre_arena_printf(r->arena, "Add %s", m->singular)
               : cadre_arena_printf(r->arena, "%s %s", readonly ? "View" : "Change", m->singular);
    size_t n;
    cadre_tvar *v = page_vars(r, s, title, 12, &n);
    if (!v)
        return CADRE_ENOMEM;
    v[n++] = (cadre_tvar){ "form", CADRE_TFORM_OF(form) };
    v[n++] = (cadre_tvar){ "sections", sections(r, m, form, obj, adding) };
    v[n++] = (cadre_tvar){ "inlines", inline_values(r, m, sets, parent, readonly) };
    v[n++] = (cadre_tvar){ "module", CADRE_TSTR(m->module) };
    v[n++] = (cadre_tvar){ "model", CADRE_TSTR(m->model->name) };
    v[n++] = (cadre_tvar){ "plural_title", CADRE_TSTR(m->title) };
    v[n++] = (cadre_tvar){ "list_url", CADRE_TSTR(m->url) };
    v[n++] = (cadre_tvar){ "readonly", CADRE_TBOOL(readonly) };
    v[n++] = (cadre_tvar){ "adding", CADRE_TBOOL(adding) };
    size_t inline_errors = 0;
    for (size_t k = 0; sets && k < m->ninlines; k++)
        for (size_t i = 0; i < sets[k].n; i++)
            inline_errors += sets[k].rows[i].errs.len + (sets[k].error && i == 0);
    v[n++] = (cadre_tvar){ "errors", CADRE_TINT((errs ? (int64_t)errs->len : 0) + (int64_t)inline_errors) };
    v[n++] = (cadre_tvar){ "history_url", !adding && obj
                                              ? CADRE_TSTR(cadre_arena_printf(r->arena, "%s%lld/history/", m->url,
                                                    (long long)*(const int64_t *)((const char *)obj + m->pk->offset)))
                                              : CADRE_TNONE };
    v[n++] = (cadre_tvar){ "delete_url", !adding && obj && may(r, m, "delete", obj)
                                             ? CADRE_TSTR(cadre_arena_printf(r->arena, "%s%lld/delete/", m->url,
                                                   (long long)*(const int64_t *)((const char *)obj + m->pk->offset)))
                                             : CADRE_TNONE };
    return render_page(r, m, status, "change_form.html", (cadre_tctx){ v, n });
}

/* The row of the path's id as the user may see it, into row: 0, 404 answered, or an error. */
static int load_row(cadre_request *r, const admin_model *m, void *row)
{
    cadre_slice idt = cadre_request_param(r, "id");
    char buf[24], *end;
    snprintf(buf, sizeof buf, "%.*s", (int)(idt.len < 23 ? idt.len : 23), idt.ptr);
    long long id = strtoll(buf, &end, 10);
    if (!idt.len || idt.len > 18 || *end || id < 1)
        return cadre_app_error(r, 404, "Not Found");
    cadre_query q;
    cadre_q_init(&q, m->site->db, m->model, r->arena);
    int rc = cadre_model_filter(r, m->model, &q);
    if (rc)
        return rc;
    cadre_q_filter(&q, m->pk->name, CADRE_PINT(id));
    bool found;
    if ((rc = cadre_q_first(&q, row, &found)) != 0)
        return rc;
    return found ? 0 : cadre_app_error(r, 404, "Not Found");
}

/* The model permission action, then the path's row as the user may see it, into *row (in r's
 * arena): 0, or an answer's status (403, 404), or an error. */
static int row_for_page(cadre_request *r, const admin_model *m, const char *action, void **row)
{
    int rc = must(r, m, action, NULL);
    if (rc)
        return rc;
    if (!(*row = cadre_alloc(r, m->model->size)))
        return CADRE_ENOMEM;
    return load_row(r, m, *row);
}

/* After a save: where the pressed button goes (Post/Redirect/Get). */
static int saved(cadre_request *r, const admin_model *m, const void *row, bool added)
{
    admin_buttons b;
    cadre_verrors ignored;
    cadre_verrors_init(&ignored, r->arena);
    memset(&b, 0, sizeof b);
    if (cadre_slice_ieq_cstr(cadre_media_type(cadre_request_header(r, "Content-Type")),
                             "application/x-www-form-urlencoded"))
        cadre_form_decode_urlencoded(admin_buttons__schema(), r->body, &b, r->arena, &ignored);
    const char *to = cadre_has(&b, admin_buttons, _continue)     ? change_url(r, m, row)
                     : cadre_has(&b, admin_buttons, _addanother) ? m->add_url
                                                                 : m->url;
    cadre_tvalue label = row_label(r, m->model, row);
    flash(r, m->site, "The %s “%.*s” was %s successfully.%s", m->singular, (int)label.u.s.len,
          label.u.s.ptr, added ? "added" : "changed",
          cadre_has(&b, admin_buttons, _continue)     ? " You may edit it again below."
          : cadre_has(&b, admin_buttons, _addanother) ? cadre_arena_printf(r->arena, " You may add "
                                                                          "another %s below.", m->singular)
                                                      : "");
    return cadre_redirect(r, 303, to);
}

/* The form's fields from the request into *obj (in r's arena), their errors into errs: 0, or an
 * answer's status (415, 413), or an error. */
/* GET /admin/MODULE/MODEL/choices?field=F&q=TEXT: a foreign key's autocomplete, past a select's
 * rows (cadre_form_choices), for a user who may add or change rows of the model. */
static int fk_choices(cadre_request *r)
{
    const admin_model *m = r->route_data;
    if (!may(r, m, "add", NULL) &&
        !may(r, m, "change", NULL))
        return cadre_app_error(r, 403, "Forbidden");
    return cadre_form_choices(r, m->site->db, m->model, m->form_fields);
}

static int read_form(cadre_request *r, const admin_model *m, void **obj, cadre_verrors *errs)
{
    cadre_verrors_init(errs, r->arena);
    if (!(*obj = cadre_alloc(r, m->model->size)))
        return CADRE_ENOMEM;
    return cadre_form_read(r, m->model, m->form_fields, *obj, errs);
}

/* GET and POST /admin/MODULE/MODEL/add/ */
static int add_form(cadre_request *r)
{
    const admin_model *m = r->route_data;
    int rc = must(r, m, "add", NULL);
    if (rc)
        return rc;
    if (cadre_slice_eq_cstr(r->head.method, "GET"))
        return show_form(r, m, 200, NULL, NULL, true, false, NULL);
    void *obj;
    cadre_verrors errs;
    inline_set sets[MAX_INLINES];
    size_t bad;
    if ((rc = read_form(r, m, &obj, &errs)) != 0 || (rc = inline_read(r, m, 0, sets, &bad)) != 0)
        return rc;
    if (errs.len || bad) /* nothing written until the whole page is valid */
        return show_form(r, m, 422, obj, &errs, true, false, sets);
    if ((rc = must(r, m, "add", obj)) != 0)
        return rc;
    rc = cadre_model_insert(m->site->db, r->arena, m->model, obj);
    if ((rc == CADRE_EEXIST || rc == CADRE_ESTATE) &&
        cadre_model_conflicts(m->site->db, r->arena, m->model, obj, -1, false, &errs) > 0)
        return show_form(r, m, 422, obj, &errs, true, false, sets);
    if (rc)
        return rc;
    log_action(r, m, CADRE_ADMIN_ADDED, obj, NULL);
    int64_t id = *(const int64_t *)((const char *)obj + m->pk->offset);
    if ((rc = inline_save(r, m, id, sets, &bad)) != 0)
        return rc;
    if (bad) /* the row is added; the page comes back as its change page, the refusals shown */
        return show_form(r, m, 422, obj, &errs, false, false, sets);
    return saved(r, m, obj, true);
}

/* GET and POST /admin/MODULE/MODEL/ID/change/ */
static int change_form(cadre_request *r)
{
    const admin_model *m = r->route_data;
    void *row;
    int rc = row_for_page(r, m, "view", &row);
    if (rc)
        return rc;
    bool may_change = may(r, m, "change", row);
    if (cadre_slice_eq_cstr(r->head.method, "GET"))
        return show_form(r, m, 200, row, NULL, false, !may_change, NULL);
    if ((rc = must(r, m, "change", row)) != 0)
        return rc;
    void *obj;
    cadre_verrors errs;
    int64_t id = *(const int64_t *)((const char *)row + m->pk->offset);
    inline_set sets[MAX_INLINES];
    size_t bad;
    if ((rc = read_form(r, m, &obj, &errs)) != 0 || (rc = inline_read(r, m, id, sets, &bad)) != 0)
        return rc;
    *(int64_t *)((char *)obj + m->pk->offset) = id;
    /* the read-only fields show the row's values, not the form's (it has none) */
    uint64_t *oset = (uint64_t *)((char *)obj + m->model->set_offset);
    uint64_t *onull = (uint64_t *)((char *)obj + m->model->null_offset);
    uint64_t rset = *(const uint64_t *)((const char *)row + m->model->set_offset);
    uint64_t rnull = *(const uint64_t *)((const char *)row + m->model->null_offset);
    for (size_t i = 0; i < m->model->nfields; i++)
        if ((m->readonly >> i) & 1) {
            const cadre_field *f = &m->model->fields[i];
            memcpy((char *)obj + f->offset, (const char *)row + f->offset, cadre_field_size(f));
            *oset = (*oset & ~((uint64_t)1 << i)) | (rset & ((uint64_t)1 << i));
            *onull = (*onull & ~((uint64_t)1 << i)) | (rnull & ((uint64_t)1 << i));
        }
    if (errs.len || bad) /* nothing written until the whole page is valid */
        return show_form(r, m, 422, obj, &errs, false, false, sets);
    /* the form's fields replace the row's (all of them: an emptied optional field too) */
    uint64_t *set = (uint64_t *)((char *)obj + m->model->set_offset);
    *set |= m->form_fields | ((uint64_t)1 << (m->pk - m->model->fields));
    void *before = cadre_alloc(r, m->model->size);
    if (!before)
        return CADRE_ENOMEM;
    memcpy(before, row, m->model->size);
    cadre_schema_overlay(m->model, row, obj);
    if ((rc = must(r, m, "change", row)) != 0)
        return rc;
    int64_t changes = 0;
    rc = cadre_model_update(m->site->db, r->arena, m->model, obj, true, &changes);
    if ((rc == CADRE_EEXIST || rc == CADRE_ESTATE) &&
        cadre_model_conflicts(m->site->db, r->arena, m->model, obj, id, true, &errs) > 0)
        return show_form(r, m, 422, obj, &errs, false, false, sets);
    if (rc)
        return rc;
    if (!changes)
        return cadre_app_error(r, 404, "Not Found");
    log_action(r, m, CADRE_ADMIN_CHANGED, row, changed_fields(r, m, before, row));
    if ((rc = inline_save(r, m, id, sets, &bad)) != 0)
        return rc;
    if (bad)
        return show_form(r, m, 422, row, &errs, false, false, sets);
    return saved(r, m, row, false);
}

/* ---------------------------------------------------------------------------------------------
 * History
 * ------------------------------------------------------------------------------------------- */

/* Field f of row as JSON text (in r's arena). */
static const char *field_json(cadre_request *r, const cadre_field *f, const void *row)
{
    cadre_buf b;
    cadre_json_writer w;
    cadre_buf_init_arena(&b, r->arena, (size_t)1 << 20);
    cadre_json_writer_init(&w, &b);
    cadre_schema_encode_field(f, row, &w);
    const char *t = cadre_buf_cstr(&b);
    return t ? t : "null";
}

/* The form fields whose values differ between before and after, as the history's JSON list. */
static const char *changed_fields(cadre_request *r, const admin_model *m, const void *before,
                                  const void *after)
{
    cadre_buf b;
    cadre_buf_init_arena(&b, r->arena, (size_t)4 << 20);
    cadre_buf_append_str(&b, "[");
    size_t n = 0;
    for (size_t i = 0; i < m->model->nfields; i++) {
        if (!((m->form_fields >> i) & 1))
            continue;
        const cadre_field *f = &m->model->fields[i];
        const char *old = field_json(r, f, before), *new = field_json(r, f, after);
        if (strcmp(old, new) == 0)
            continue;
        cadre_json_writer w;
        cadre_json_writer_init(&w, &b);
        if (n++)
            cadre_buf_append_str(&b, ",");
        cadre_json_begin_object(&w);
        cadre_json_key(&w, "field", 5);
        cadre_json_string(&w, f->name, strlen(f->name));
        cadre_json_key(&w, "old", 3);
        cadre_json_string(&w, old, strlen(old));
        cadre_json_key(&w, "new", 3);
        cadre_json_string(&w, new, strlen(new));
        cadre_json_end_object(&w);
    }
    cadre_buf_append_str(&b, "]");
    const char *t = cadre_buf_cstr(&b);
    return t ? t : "[]";
}

/* A change as the history stores it: the field, and its old and new values as JSON text. */
#define CHANGE_FIELDS(F) F(string, field) F(string, old) F(string, new)
CADRE_SCHEMA(admin_change, CHANGE_FIELDS)
#define CHANGES_FIELDS(F) F(array(admin_change), items)
CADRE_SCHEMA(admin_changes, CHANGES_FIELDS)

/* The history's entries for the template: time, user, action and the changes, decoded. */
static cadre_tvalue history_entries(cadre_request *r, const cadre_rows *rows)
{
    cadre_tvalue *items = cadre_alloc(r, (rows->len + 1) * sizeof *items);
    if (!items)
        return CADRE_TNONE;
    for (size_t i = 0; i < rows->len; i++) {
        const cadre_admin_log *e = (const cadre_admin_log *)rows->items + i;
        admin_changes *c = cadre_alloc(r, sizeof *c);
        cadre_verrors errs;
        cadre_verrors_init(&errs, r->arena);
        const char *json = cadre_arena_printf(r->arena, "{\"items\":%.*s}", (int)e->changes.len,
                                              e->changes.ptr);
        if (!c || !json ||
            cadre_schema_decode_json(admin_changes__schema(), json, strlen(json), c, r->arena,
                                     "changes", &errs) != 0)
            return CADRE_TNONE;
        cadre_tvar *v = cadre_alloc(r, 4 * sizeof *v);
        if (!v)
            return CADRE_TNONE;
        v[0] = (cadre_tvar){ "entry", CADRE_TOBJ(cadre_admin_log, e) };
        v[1] = (cadre_tvar){ "changes", CADRE_TLIST(admin_change, c->items.items, c->items.len) };
        v[2] = (cadre_tvar){ "added", CADRE_TBOOL(e->action == CADRE_ADMIN_ADDED) };
        v[3] = (cadre_tvar){ "deleted", CADRE_TBOOL(e->action == CADRE_ADMIN_DELETED) };
        items[i] = (cadre_tvalue){ .kind = CADRE_TV_MAP, .u.map = { v, 4 } };
    }
    return (cadre_tvalue){ .kind = CADRE_TV_VALUES, .u.values = { items, rows->len } };
}

/* Records an action on row in the history. A failure is logged: the action itself is done. */
static void log_action(cadre_request *r, const admin_model *m, int action, const void *row,
                       const char *changes)
{
    const cadre_user *u = cadre_request_user(r);
    cadre_admin_log e = { .user_id = u ? u->id : 0,
                          .username = u ? u->username : (cadre_slice){ "", 0 },
                          .model = cadre_slice_cstr(cadre_arena_printf(r->arena, "%s.%s", m->module,
                                                                       m->model->name)),
                          .object_id = *(const int64_t *)((const char *)row + m->pk->offset),
                          .action = action,
                          .changes = cadre_slice_cstr(changes ? changes : "[]") };
    cadre_tvalue label = row_label(r, m->model, row);
    e.object_repr = label.u.s;
    e.cadre_set_ = ~(uint64_t)0 & ~((uint64_t)1 << CADRE_FIELD_INDEX(cadre_admin_log, id)) &
                   ~((uint64_t)1 << CADRE_FIELD_INDEX(cadre_admin_log, action_time));
    if (!u)
        cadre_set_null(&e, cadre_admin_log, user_id);
    int rc = cadre_admin_log_insert(m->site->db, r->arena, &e);
    if (rc)
        cadre_log(CADRE_LOG_WARN, "admin: the history of %s %lld not recorded: %s", m->model->name,
                  (long long)e.object_id, cadre_strerror(rc));
}

/* GET /admin/MODULE/MODEL/ID/history/ */
static int history_page(cadre_request *r)
{
    const admin_model *m = r->route_data;
    void *row;
    int rc = row_for_page(r, m, "view", &row);
    if (rc)
        return rc;
    cadre_query q;
    cadre_rows rows;
    cadre_admin_log_query(&q, m->site->db, r->arena);
    cadre_q_filter(&q, "model", CADRE_PTEXT(cadre_arena_printf(r->arena, "%s.%s", m->module,
                                                               m->model->name)));
    cadre_q_filter(&q, "object_id",
                   CADRE_PINT(*(const int64_t *)((const char *)row + m->pk->offset)));
    cadre_q_order_by(&q, "-id");
    cadre_q_limit(&q, 500);
    if ((rc = cadre_q_fetch(&q, &rows)) != 0)
        return rc;
    size_t n;
    cadre_slice name = row_label(r, m->model, row).u.s;
    cadre_tvar *v = page_vars(r, m->site, cadre_arena_printf(r->arena, "Change history: %.*s",
                                                             (int)name.len, name.ptr),
                              6, &n);
    if (!v)
        return CADRE_ENOMEM;
    v[n++] = (cadre_tvar){ "module", CADRE_TSTR(m->module) };
    v[n++] = (cadre_tvar){ "plural_title", CADRE_TSTR(m->title) };
    v[n++] = (cadre_tvar){ "list_url", CADRE_TSTR(m->url) };
    v[n++] = (cadre_tvar){ "change_url", CADRE_TSTR(change_url(r, m, row)) };
    v[n++] = (cadre_tvar){ "label", row_label(r, m->model, row) };
    v[n++] = (cadre_tvar){ "entries", history_entries(r, &rows) };
    return render_page(r, m, 200, "object_history.html", (cadre_tctx){ v, n });
}

/* ---------------------------------------------------------------------------------------------
 * Delete, with what it takes along
 * ------------------------------------------------------------------------------------------- */

#define DELETE_CAP 1000 /* rows counted per relation: beyond it, "1000+" */

#define COUNT_FIELDS(F) F(int64, n)
CADRE_SCHEMA(admin_count, COUNT_FIELDS)

#define DELETE_DEPTH 3   /* how far a cascade is followed: a cascade's cascade's cascade */
#define DELETE_ITEMS 64  /* relations listed at most */

typedef struct related_list {
    cadre_tvalue *items;
    size_t n, cap;
    bool blocked;
} related_list;

/* The relations that point to the rows of parent whose keys keyset selects (SQL with the one
 * parameter: the row being deleted), and, through those that cascade, theirs in turn. */
static int related_level(cadre_request *r, const admin_model *m, const cadre_schema *parent,
                         const char *keyset, int64_t id, int depth, related_list *l)
{
    cadre_app *app = cadre_request_app(r);
    const cadre_schema *t;
    for (size_t i = 0; (t = cadre_app_model_at(app, i, NULL)) != NULL; i++) {
        for (size_t k = 0; k < t->nfields && l->n < DELETE_ITEMS; k++) {
            const cadre_field *f = &t->fields[k];
            if (!f->fk || strcmp(f->fk()->name, parent->name) != 0)
                continue;
            const char *where = keyset ? cadre_arena_printf(r->arena, "%s IN (%s)", f->name, keyset)
                                       : cadre_arena_printf(r->arena, "%s = ?", f->name);
            admin_count c = { 0 };
            const char *sql = cadre_arena_printf(r->arena, "SELECT COUNT(*) AS n FROM (SELECT 1 "
                                                           "FROM %s WHERE %s LIMIT %d) capped",
                                                 t->name, where, DELETE_CAP + 1);
            bool found;
            const cadre_value p = CADRE_PINT(id);
            int rc = cadre_db_query_one(m->site->db, r->arena, admin_count__schema(), &c, &found,
                                        sql, &p, 1);
            if (rc)
                return rc;
            if (c.n == 0)
                continue;
            const char *what = f->on_delete == CADRE_ON_DELETE_CASCADE    ? "deleted"
                               : f->on_delete == CADRE_ON_DELETE_SET_NULL ? "unlinked"
                                                                          : "protected";
            bool denied = f->on_delete == CADRE_ON_DELETE_CASCADE &&
                          !cadre_model_allows(r, t, "delete", NULL);
            l->blocked |= f->on_delete == CADRE_ON_DELETE_PROTECT || denied;
            if (l->n == l->cap) {
                cadre_tvalue *more = cadre_alloc(r, 2 * l->cap * sizeof *more);
                if (!more)
                    return CADRE_ENOMEM;
                memcpy(more, l->items, l->n * sizeof *more);
                l->items = more, l->cap *= 2;
            }
            cadre_tvar *v = cadre_alloc(r, 6 * sizeof *v);
            if (!v)
                return CADRE_ENOMEM;
            v[0] = (cadre_tvar){ "model", CADRE_TSTR(t->name) };
            v[1] = (cadre_tvar){ "field", CADRE_TSTR(f->name) };
            v[2] = (cadre_tvar){ "count", c.n > DELETE_CAP
                                              ? CADRE_TSTR(cadre_arena_printf(r->arena, "%d+",
                                                                              DELETE_CAP))
                                              : CADRE_TINT(c.n) };
            v[3] = (cadre_tvar){ "how", CADRE_TSTR(what) };
            v[4] = (cadre_tvar){ "denied", CADRE_TBOOL(denied) };
            v[5] = (cadre_tvar){ "depth", CADRE_TINT(depth) };
            l->items[l->n++] = (cadre_tvalue){ .kind = CADRE_TV_MAP, .u.map = { v, 6 } };
            /* the rows a cascade deletes take theirs along too */
            const cadre_field *pk = cadre_model_pk(t);
            if (f->on_delete == CADRE_ON_DELETE_CASCADE && depth < DELETE_DEPTH && pk &&
                (rc = related_level(r, m, t, cadre_arena_printf(r->arena, "SELECT %s FROM %s WHERE %s",
                                                                pk->name, t->name, where),
                                    id, depth + 1, l)) != 0)
                return rc;
        }
    }
    return 0;
}

/* The rows of each model that reference row id through a foreign key (and, through a cascade,
 * theirs: DELETE_DEPTH levels), counted up to DELETE_CAP each: what a cascade deletes, what PROTECT keeps from deleting, what SET NULL
 * changes, and which of the cascaded models the user may not delete. Into *out (a list of maps
 * for the template); *blocked: a PROTECT relation has rows, or a cascade needs a permission. */
static int related_rows(cadre_request *r, const admin_model *m, int64_t id, cadre_tvalue *out,
                        bool *blocked)
{
    related_list l = { .cap = 8 };
    if (!(l.items = cadre_alloc(r, l.cap * sizeof *l.items)))
        return CADRE_ENOMEM;
    int rc = related_level(r, m, m->model, NULL, id, 1, &l);
    if (rc)
        return rc;
    *blocked = l.blocked;
    *out = (cadre_tvalue){ .kind = CADRE_TV_VALUES, .u.values = { l.items, l.n } };
    return 0;
}

/* GET and POST /admin/MODULE/MODEL/ID/delete/ */
static int delete_page(cadre_request *r)
{
    const admin_model *m = r->route_data;
    void *row;
    int rc = row_for_page(r, m, "delete", &row);
    if (rc || (rc = must(r, m, "delete", row)) != 0)
        return rc;
    int64_t id = *(const int64_t *)((const char *)row + m->pk->offset);
    cadre_tvalue related;
    bool blocked;
    if ((rc = related_rows(r, m, id, &related, &blocked)) != 0)
        return rc;
    if (cadre_slice_eq_cstr(r->head.method, "POST")) {
        if (blocked)
            return cadre_app_error(r, 403, "The row cannot be deleted: related rows are protected, "
                                           "or their deletion is not permitted.");
        int64_t changes = 0;
        rc = cadre_model_delete(m->site->db, m->model, id, &changes);
        if (rc == CADRE_ESTATE) /* a protected row made since the page was shown */
            return cadre_app_error(r, 409, "Related rows were added that protect this row.");
        if (rc)
            return rc;
        if (!changes)
            return cadre_app_error(r, 404, "Not Found");
        log_action(r, m, CADRE_ADMIN_DELETED, row, NULL);
        cadre_tvalue label = row_label(r, m->model, row);
        flash(r, m->site, "The %s “%.*s” was deleted successfully.", m->singular,
              (int)label.u.s.len, label.u.s.ptr);
        return cadre_redirect(r, 303, m->url);
    }
    size_t n;
    const char *title = blocked ? cadre_arena_printf(r->arena, "Cannot delete %s", m->singular)
                                : "Are you sure?";
    cadre_tvar *v = page_vars(r, m->site, title, 8, &n);
    if (!v)
        return CADRE_ENOMEM;
    v[n++] = (cadre_tvar){ "module", CADRE_TSTR(m->module) };
    v[n++] = (cadre_tvar){ "singular", CADRE_TSTR(m->singular) };
    v[n++] = (cadre_tvar){ "plural_title", CADRE_TSTR(m->title) };
    v[n++] = (cadre_tvar){ "list_url", CADRE_TSTR(m->url) };
    v[n++] = (cadre_tvar){ "change_url", CADRE_TSTR(change_url(r, m, row)) };
    v[n++] = (cadre_tvar){ "label", row_label(r, m->model, row) };
    v[n++] = (cadre_tvar){ "related", related };
    v[n++] = (cadre_tvar){ "blocked", CADRE_TBOOL(blocked) };
    return render_page(r, m, 200, "delete_confirmation.html", (cadre_tctx){ v, n });
}

/* ---------------------------------------------------------------------------------------------
 * Actions on selected rows
 * ------------------------------------------------------------------------------------------- */

#define ACTION_FIELDS(F)                                                                           \
    F(string, action, CADRE_DEFAULT_STR(""))                                                       \
    F(int64s, _selected_action, CADRE_DEFAULT_EMPTY, CADRE_MAX_ITEMS(MAX_SELECTED))               \
    F(string, post, CADRE_DEFAULT_STR(""))
CADRE_SCHEMA(admin_action_form, ACTION_FIELDS)

/* Whether the user may run action k of m: its permission, else the model's change permission
 * (a view-only model's too: an action is the app's code, not a form). */
static bool may_run(cadre_request *r, const admin_model *m, size_t k)
{
    return m->actions[k].permission ? cadre_has_perm(r, m->actions[k].permission, NULL)
                                    : cadre_model_allows(r, m->model, "change", NULL);
}

/* The selected rows the user may see (their ids, in *ids; the rows in *rows). */
static int selected_rows(cadre_request *r, const admin_model *m, const cadre_int64s *sel,
                         cadre_rows *rows, int64_t **ids)
{
    cadre_query q;
    cadre_q_init(&q, m->site->db, m->model, r->arena);
    int rc = cadre_model_filter(r, m->model, &q);
    if (rc)
        return rc;
    cadre_value *v = cadre_alloc(r, (sel->len + 1) * sizeof *v);
    if (!v)
        return CADRE_ENOMEM;
    for (size_t i = 0; i < sel->len; i++)
        v[i] = CADRE_PINT(sel->items[i]);
    cadre_q_filter_in(&q, m->pk->name, v, sel->len);
    cadre_q_order_by(&q, m->pk->name);
    if ((rc = cadre_q_fetch(&q, rows)) != 0)
        return rc;
    *ids = cadre_alloc(r, (rows->len + 1) * sizeof **ids);
    if (!*ids)
        return CADRE_ENOMEM;
    for (size_t i = 0; i < rows->len; i++)
        (*ids)[i] = *(const int64_t *)((const char *)rows->items + i * m->model->size +
                                       m->pk->offset);
    return 0;
}

/* POST /admin/MODULE/MODEL/: an action on the selected rows. */
static int run_action(cadre_request *r)
{
    const admin_model *m = r->route_data;
    int rc = must(r, m, "view", NULL);
    if (rc)
        return rc;
    admin_action_form f;
    cadre_verrors errs;
    cadre_verrors_init(&errs, r->arena);
    if ((rc = cadre_form_read(r, admin_action_form__schema(), 0, &f, &errs)) != 0)
        return rc;
    if (errs.len)
        return cadre_app_error(r, 400, "The selection is not valid (at most 1000 rows).");
    if (f._selected_action.len == 0) /* Django: "Items must be selected" — back to the list */
        return cadre_redirect(r, 303, m->url);
    cadre_rows rows;
    int64_t *ids;
    if ((rc = selected_rows(r, m, &f._selected_action, &rows, &ids)) != 0)
        return rc;
    if (cadre_slice_eq_cstr(f.action, "delete_selected")) {
        if ((rc = must(r, m, "delete", NULL)) != 0)
            return rc;
        /* what goes with the rows, per relation, summed; refused while anything blocks */
        bool blocked = false;
        cadre_tvalue *rel = cadre_alloc(r, (rows.len + 1) * sizeof *rel);
        cadre_tvalue *labels = cadre_alloc(r, (rows.len + 1) * sizeof *labels);
        if (!rel || !labels)
            return CADRE_ENOMEM;
        for (size_t i = 0; i < rows.len; i++) {
            const void *row = (const char *)rows.items + i * m->model->size;
            bool b;
            if (!may(r, m, "delete", row))
                blocked = true;
            if ((rc = related_rows(r, m, ids[i], &rel[i], &b)) != 0)
                return rc;
            blocked |= b;
            labels[i] = row_label(r, m->model, row);
        }
        if (!cadre_slice_eq_cstr(f.post, "yes")) {
            size_t n;
            cadre_tvar *v = page_vars(r, m->site, blocked ? "Cannot delete" : "Are you sure?", 8,
                                      &n);
            if (!v)
                return CADRE_ENOMEM;
            cadre_tvalue *sel = cadre_alloc(r, (rows.len + 1) * sizeof *sel);
            if (!sel)
                return CADRE_ENOMEM;
            for (size_t i = 0; i < rows.len; i++)
                sel[i] = CADRE_TINT(ids[i]);
            v[n++] = (cadre_tvar){ "module", CADRE_TSTR(m->module) };
            v[n++] = (cadre_tvar){ "plural", CADRE_TSTR(m->plural) };
            v[n++] = (cadre_tvar){ "plural_title", CADRE_TSTR(m->title) };
            v[n++] = (cadre_tvar){ "list_url", CADRE_TSTR(m->url) };
            v[n++] = (cadre_tvar){ "labels", (cadre_tvalue){ .kind = CADRE_TV_VALUES,
                                                              .u.values = { labels, rows.len } } };
            v[n++] = (cadre_tvar){ "related", (cadre_tvalue){ .kind = CADRE_TV_VALUES,
                                                               .u.values = { rel, rows.len } } };
            v[n++] = (cadre_tvar){ "ids", (cadre_tvalue){ .kind = CADRE_TV_VALUES,
                                                           .u.values = { sel, rows.len } } };
            v[n++] = (cadre_tvar){ "blocked", CADRE_TBOOL(blocked) };
            return render_page(r, m, 200, "delete_selected_confirmation.html",
                                (cadre_tctx){ v, n });
        }
        if (blocked)
            return cadre_app_error(r, 403, "The rows cannot be deleted: related rows are "
                                           "protected, or their deletion is not permitted.");
        for (size_t i = 0; i < rows.len; i++) {
            int64_t changes = 0;
            rc = cadre_model_delete(m->site->db, m->model, ids[i], &changes);
            if (rc == CADRE_ESTATE)
                return cadre_app_error(r, 409, "Related rows were added that protect a row.");
            if (rc)
                return rc;
            if (changes)
                log_action(r, m, CADRE_ADMIN_DELETED, (const char *)rows.items + i * m->model->size,
                           NULL);
        }
        flash(r, m->site, "Successfully deleted %zu %s.", rows.len,
              rows.len == 1 ? m->singular : m->plural);
        return cadre_redirect(r, 303, m->url);
    }
    for (size_t k = 0; k < m->nactions; k++) {
        if (!cadre_slice_eq_cstr(f.action, m->actions[k].name))
            continue;
        if (!may_run(r, m, k))
            return cadre_app_error(r, 403, "You do not have permission to perform this action.");
        rc = m->actions[k].fn(r, m->model, ids, rows.len, m->actions[k].ctx);
        if (rc < 0 || cadre_responded(r))
            return rc;
        const char *said = cadre_request_get(r, ACTION_MESSAGE);
        if (said)
            flash(r, m->site, "%s", said);
        else
            flash(r, m->site, "%s: done for %zu %s.", m->actions[k].label, rows.len,
                  rows.len == 1 ? m->singular : m->plural);
        return cadre_redirect(r, 303, m->url);
    }
    return cadre_app_error(r, 400, "No such action.");
}

/* The actions the user may run from the change list: [{name, label}]. */
static cadre_tvalue action_menu(cadre_request *r, const admin_model *m)
{
    cadre_tvalue *items = cadre_alloc(r, (m->nactions + 2) * sizeof *items);
    size_t n = 0;
    if (!items)
        return CADRE_TNONE;
    for (size_t k = 0; k <= m->nactions; k++) {
        bool del = k == m->nactions;
        if (del ? !may(r, m, "delete", NULL) : !may_run(r, m, k))
            continue;
        cadre_tvar *v = cadre_alloc(r, 2 * sizeof *v);
        if (!v)
            return CADRE_TNONE;
        v[0] = (cadre_tvar){ "name", CADRE_TSTR(del ? "delete_selected" : m->actions[k].name) };
        v[1] = (cadre_tvar){ "label", CADRE_TSTR(del ? cadre_arena_printf(r->arena, "Delete selected %s",
                                                                        m->plural)
                                                     : m->actions[k].label) };
        items[n++] = (cadre_tvalue){ .kind = CADRE_TV_MAP, .u.map = { v, 2 } };
    }
    return (cadre_tvalue){ .kind = CADRE_TV_VALUES, .u.values = { items, n } };
}

/* GET /admin/MODULE/MODEL/ */
/* A whole number of at most 18 digits (a page, a key), or false. */
static bool parse_id(cadre_slice v, int64_t *out)
{
    if (v.len == 0 || v.len > 18)
        return false;
    int64_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9')
            return false;
        n = n * 10 + (v.ptr[i] - '0');
    }
    *out = n;
    return true;
}

/*
 * What a change list's request asks for: the page, the order, the search, the filters, and a
 * keyset bound (?after=ID or ?before=ID: the rows that follow or precede that row, when the list
 * is ordered by its integer primary key — a deep page then costs what the first does, where an
 * OFFSET reads every row before it). Returns 0, or 404 for a page that cannot be.
 */
static int read_list_state(cadre_request *r, const admin_model *m, list_state *st)
{
    *st = (list_state){ .page = 1, .q = { "", 0 } };
    cadre_slice v;
    if (cadre_request_query(r, "p", &v) && (!parse_id(v, &st->page) || st->page < 1))
        return 404;
    if (cadre_request_query(r, "o", &v) && v.len) {
        bool desc = v.ptr[0] == '-';
        cadre_slice name = { v.ptr + desc, v.len - desc };
        for (size_t i = 0; i < m->ncols && !st->order; i++)
            if (cadre_slice_eq_cstr(name, m->cols[i]->name))
                st->order = cadre_arena_printf(r->arena, "%s%s", desc ? "-" : "", m->cols[i]->name);
    }
    if (m->nsearch)
        cadre_request_query(r, "q", &st->q);
    const char *first = st->order ? st->order : m->norder ? m->order[0] : NULL;
    if (first && m->pk && m->pk->type == CADRE_T_INT64 &&
        strcmp(first + (first[0] == '-'), m->pk->name) == 0) {
        st->keyset = true;
        st->desc = first[0] == '-';
        if (cadre_request_query(r, "after", &v))
            st->bound = parse_id(v, &st->key) ? 1 : 0;
        else if (cadre_request_query(r, "before", &v))
            st->bound = parse_id(v, &st->key) ? -1 : 0;
    }
    return 0;
}

/* The change list's rows as st narrows them: those the user may view (the model's filter hook),
 * the sidebar's filters and the search; *narrowed when a filter or the search applies. */
static int list_query(cadre_request *r, const admin_model *m, list_state *st, cadre_query *q,
                      cadre_arena *arena, bool *narrowed)
{
    cadre_q_init(q, m->site->db, m->model, arena);
    int rc = cadre_model_filter(r, m->model, q);
    if (rc)
        return rc;
    *narrowed = st->q.len > 0;
    cadre_slice v;
    for (size_t i = 0; i < m->nfilters; i++)
        if (cadre_request_query(r, m->filters[i]->name, &v) && v.len &&
            apply_filter(r, m, i, v, q)) {
            st->fval[i] = v;
            *narrowed = true;
        }
    if (st->q.len)
        add_search(r, q, m, st->q);
    return 0;
}

/* Orders q as the list, by its primary key last (a total order: pages neither repeat nor skip). */
static void list_order(cadre_query *q, const admin_model *m, const list_state *st)
{
    if (st->order)
        cadre_q_order_by(q, st->order);
    for (size_t i = 0; i < m->norder; i++)
        cadre_q_order_by(q, m->order[i]);
    if (m->pk)
        cadre_q_order_by(q, m->pk->name);
}

/* A count bounded by the statement timeout: -1 when it took too long (the page goes without). */
static int bounded_count(cadre_query *q, int64_t above, int64_t *n, bool *estimated)
{
    int rc = cadre_q_count_estimate(q, above, n, estimated);
    if (rc == CADRE_ETIMEDOUT) {
        *n = -1;
        *estimated = false;
        return 0;
    }
    return rc;
}

/* A number as the pages show it (as Django's admin does: no thousands separator). */
static const char *num(cadre_request *r, int64_t n)
{
    return cadre_arena_printf(r->arena, "%lld", (long long)n);
}

/* The page links of the paginator (Django's elided range): the first two, three each side of
 * this one and the last two, "…" between; the last ones only when the count is exact. */
static cadre_tvalue page_links(cadre_request *r, const admin_model *m, const list_state *st,
                               int64_t pages, bool exact)
{
    cadre_tvalue *items = cadre_alloc(r, 20 * sizeof *items);
    size_t n = 0;
    int64_t last = pages;
    for (int64_t p = 1; items && p <= last && n < 18;) {
        cadre_tvar *l = cadre_alloc(r, 3 * sizeof *l);
        if (!l)
            break;
        l[0] = (cadre_tvar){ "number", CADRE_TSTR(num(r, p)) };
        l[1] = (cadre_tvar){ "url", p == st->page ? CADRE_TNONE
                                                  : CADRE_TSTR(list_url(r, m, st, p, st->order, -1,
                                                                        (cadre_slice){ 0 })) };
        l[2] = (cadre_tvar){ "current", CADRE_TBOOL(p == st->page) };
        items[n++] = (cadre_tvalue){ .kind = CADRE_TV_MAP, .u.map = { l, 3 } };
        int64_t next = p + 1;
        if (next > 2 && next < st->page - 3)
            next = st->page - 3;
        else if (next > st->page + 3 && next < last - 1)
            next = exact ? last - 1 : last + 1;
        if (next != p + 1 && next <= last + 1) /* a gap */
            items[n++] = (cadre_tvalue){ .kind = CADRE_TV_MAP, .u.map = { NULL, 0 } };
        p = next;
    }
    return items ? (cadre_tvalue){ .kind = CADRE_TV_VALUES, .u.values = { items, n } } : CADRE_TNONE;
}

/* A keyset link: the list's link for page p (with its filters, search and order) and a bound. */
static const char *keyset_url(cadre_request *r, const admin_model *m, const list_state *st,
                              int64_t page, const char *bound, int64_t key)
{
    const char *u = list_url(r, m, st, page, st->order, -1, (cadre_slice){ 0 });
    return cadre_arena_printf(r->arena, "%s%c%s=%lld", u, strchr(u, '?') ? '&' : '?', bound,
                              (long long)key);
}

/* The app's computed columns for the first n rows: *out gets [column k][row i] at
 * k * (n + 1) + i, from each column's function called once for them all. */
static int compute_columns(cadre_request *r, const admin_model *m, const cadre_rows *rows, size_t n,
                           const char ***out)
{
    *out = NULL;
    if (!m->ncomputed)
        return 0;
    const char **t = cadre_arena_calloc(r->arena, m->ncomputed * (n + 1) * sizeof *t);
    if (!t)
        return CADRE_ENOMEM;
    cadre_rows page = *rows;
    page.len = n;
    for (size_t k = 0; k < m->ncomputed && n; k++) {
        int rc = m->computed[k].fn(r, &page, t + k * (n + 1), m->computed[k].ctx);
        if (rc)
            return rc < 0 ? rc : CADRE_EINVAL;
    }
    *out = t;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * CSV export: the change list's rows (its filters and search), streamed in batches
 * ------------------------------------------------------------------------------------------- */

#define EXPORT_BATCH 500

typedef struct export_state {
    const admin_model *m;
    list_state st;
    cadre_arena batch; /* a batch's query and rows: reset for each, so memory stays flat */
    cadre_buf cell;    /* one value's text */
    bool header_done, by_key;
    int64_t after, offset;
} export_state;

static void export_free(void *p)
{
    export_state *x = p;
    cadre_arena_free(&x->batch);
    cadre_buf_free(&x->cell);
}

/* Appends one CSV field (RFC 4180: quoted when it holds a comma, a quote or a line break, quotes
 * doubled). Text that a spreadsheet would run as a formula (= + - @, a tab or CR first) is
 * prefixed with ' (OWASP's CSV injection advice): an export is opened by people, not only read
 * by programs. */
static int csv_field(cadre_buf *out, const char *v, size_t n, bool text, bool first)
{
    int rc = first ? 0 : cadre_buf_append(out, ",", 1);
    bool formula = text && n && strchr("=+-@\t\r", v[0]);
    bool quote = formula || memchr(v, ',', n) || memchr(v, '"', n) || memchr(v, '\n', n) ||
                 memchr(v, '\r', n);
    if (rc == 0 && quote)
        rc = cadre_buf_append(out, formula ? "\"'" : "\"", formula ? 2 : 1);
    for (size_t i = 0, from = 0; rc == 0 && i <= n; i++)
        if (i == n || v[i] == '"') {
            rc = cadre_buf_append(out, v + from, i - from);
            if (rc == 0 && i < n)
                rc = cadre_buf_append(out, "\"\"", 2);
            from = i + 1;
        }
    return rc == 0 && quote ? cadre_buf_append(out, "\"", 1) : rc;
}

/* Field f of row as CSV: empty when null, text as it is, the rest as JSON writes it (numbers,
 * true/false, ISO dates and times, enum values) without quotes. */
static int csv_value(export_state *x, cadre_buf *out, const cadre_schema *m, const cadre_field *f,
                     const void *row, bool first)
{
    size_t i = (size_t)(f - m->fields);
    uint64_t set = *(const uint64_t *)((const char *)row + m->set_offset);
    uint64_t null = *(const uint64_t *)((const char *)row + m->null_offset);
    if (!((set >> i) & 1) || ((null >> i) & 1))
        return csv_field(out, "", 0, false, first);
    if (f->type == CADRE_T_STRING) {
        cadre_slice v = *(const cadre_slice *)((const char *)row + f->offset);
        return csv_field(out, v.ptr ? v.ptr : "", v.len, true, first);
    }
    cadre_buf_reset(&x->cell);
    cadre_json_writer w;
    cadre_json_writer_init(&w, &x->cell);
    cadre_schema_encode_field(f, row, &w);
    const char *t = x->cell.data ? x->cell.data : "";
    size_t n = x->cell.len;
    if (n >= 2 && t[0] == '"')
        t++, n -= 2;
    return csv_field(out, t, n, f->type == CADRE_T_ENUM, first);
}

/* The next part of the export: the heading line, then a batch of rows each call. */
static int export_part(cadre_request *r, cadre_buf *out, void *ctx)
{
    export_state *x = ctx;
    const admin_model *m = x->m;
    int rc = 0;
    if (!x->header_done) { /* the fields' names; a foreign key's row label follows its key */
        x->header_done = true;
        for (size_t k = 0; k < m->ncols && rc == 0; k++) {
            const char *name = m->cols[k]->name;
            rc = csv_field(out, name, strlen(name), false, k == 0);
            if (rc == 0 && m->cols[k]->fk) {
                char *l = label_of(name, true);
                rc = l ? cadre_buf_appendf(out, ",%s", l) : CADRE_ENOMEM;
                free(l);
            }
        }
        for (size_t k = 0; k < m->ncomputed && rc == 0; k++)
            rc = csv_field(out, m->computed[k].label, strlen(m->computed[k].label), false, false);
        return rc ? rc : cadre_buf_append(out, "\r\n", 2) ? CADRE_ENOMEM : 1;
    }
    cadre_arena_reset(&x->batch);
    if ((rc = cadre_db_statement_timeout(m->site->timeout_ms)) != 0)
        return rc;
    list_state st = x->st;
    cadre_query q;
    bool narrowed;
    if ((rc = list_query(r, m, &st, &q, &x->batch, &narrowed)) != 0)
        return rc;
    if (x->by_key) { /* by key: each batch starts where the last ended, whatever the size */
        if (x->after)
            cadre_q_filter(&q, cadre_arena_printf(&x->batch, "%s__gt", m->pk->name),
                           CADRE_PINT(x->after));
        cadre_q_order_by(&q, m->pk->name);
    } else {
        list_order(&q, m, &st);
        cadre_q_offset(&q, x->offset);
    }
    cadre_q_limit(&q, EXPORT_BATCH);
    cadre_rows rel[CADRE_Q_MAX_RELATED];
    for (size_t i = 0, k = 0; i < m->ncols && k < CADRE_Q_MAX_RELATED; i++)
        if (m->cols[i]->fk)
            cadre_q_select_related(&q, m->cols[i]->name, &rel[k++]);
    cadre_rows rows;
    const char **computed = NULL;
    if ((rc = cadre_q_fetch(&q, &rows)) != 0 ||
        (rc = compute_columns(r, m, &rows, rows.len, &computed)) != 0)
        return rc;
    for (size_t i = 0; i < rows.len && rc == 0; i++) {
        const char *row = (const char *)rows.items + i * m->model->size;
        for (size_t k = 0; k < m->ncols && rc == 0; k++) {
            const cadre_field *f = m->cols[k];
            rc = csv_value(x, out, m->model, f, row, k == 0);
            if (rc == 0 && f->fk) {
                const void *to = cadre_related(&rows, i, f->name);
                cadre_tvalue l = to ? row_label(r, f->fk(), to) : CADRE_TSTR("");
                const char *t = l.kind == CADRE_TV_STR && l.u.s.ptr ? l.u.s.ptr : "";
                size_t n = l.kind == CADRE_TV_STR ? l.u.s.len : 0;
                rc = csv_field(out, t, n, true, false);
            }
        }
        for (size_t k = 0; k < m->ncomputed && rc == 0; k++) {
            const char *t = computed[k * (rows.len + 1) + i];
            rc = csv_field(out, t ? t : "", t ? strlen(t) : 0, true, false);
        }
        if (rc == 0)
            rc = cadre_buf_append(out, "\r\n", 2);
        if (x->by_key)
            x->after = *(const int64_t *)(row + m->pk->offset);
    }
    x->offset += (int64_t)rows.len;
    return rc ? rc : rows.len == EXPORT_BATCH;
}

/* GET /admin/MODULE/MODEL/export/ (with the list's ?q=, filters and ?o=): every row the list
 * would show, as CSV, streamed (cadre_respond_stream) — in the key's order when the key is an
 * integer (batches by key: a million rows cost a million rows), else in the list's. */
static int export_csv(cadre_request *r)
{
    const admin_model *m = r->route_data;
    int rc = must(r, m, "view", NULL);
    if (rc)
        return rc;
    export_state *x = cadre_alloc(r, sizeof *x);
    if (!x)
        return CADRE_ENOMEM;
    *x = (export_state){ .m = m };
    if (read_list_state(r, m, &x->st) != 0)
        x->st = (list_state){ .page = 1, .q = { "", 0 } };
    x->st.bound = 0;
    x->by_key = m->pk && m->pk->type == CADRE_T_INT64;
    cadre_arena_init(&x->batch, 64 * 1024);
    cadre_buf_init(&x->cell, (size_t)1 << 20);
    cadre_request_defer(r, export_free, x);
    char day[16];
    time_t now = time(NULL);
    struct tm t;
    gmtime_r(&now, &t);
    strftime(day, sizeof day, "%Y-%m-%d", &t);
    cadre_set_header(r, "Content-Disposition",
                     cadre_arena_printf(r->arena, "attachment; filename=\"%s-%s.csv\"",
                                        m->model->name, day));
    cadre_set_header(r, "Cache-Control", "no-store");
    return cadre_respond_stream(r, 200, "text/csv; charset=utf-8", export_part, x);
}

static int change_list(cadre_request *r)
{
    const admin_model *m = r->route_data;
    const admin_site *s = m->site;
    int rc = must(r, m, "view", NULL);
    if (rc)
        return rc;
    list_state st;
    if (read_list_state(r, m, &st) != 0)
        return cadre_app_error(r, 404, "Invalid page.");
    /* every statement of the page is bounded: a list over millions of rows, searched in a way no
     * index helps, answers "too slow" rather than holding a worker and the database */
    if ((rc = cadre_db_statement_timeout(s->timeout_ms)) != 0)
        return rc;
    cadre_query q;
    bool narrowed, estimated = false, total_est = false;
    if ((rc = list_query(r, m, &st, &q, r->arena, &narrowed)) != 0)
        return rc;
    int64_t total = -1, count = -1;
    if (narrowed) { /* the full count too, as Django shows it beside a search's */
        cadre_query all;
        cadre_q_init(&all, s->db, m->model, r->arena);
        if ((rc = cadre_model_filter(r, m->model, &all)) != 0 ||
            (rc = bounded_count(&all, s->estimate_above, &total, &total_est)) != 0)
            return rc;
    }
    if ((rc = bounded_count(&q, s->estimate_above, &count, &estimated)) != 0)
        return rc;
    /* the rows: a page and one more (is there a next page?), by key or by offset */
    if (st.bound) {
        bool forward = st.bound > 0;
        cadre_q_filter(&q, cadre_arena_printf(r->arena, "%s__%s", m->pk->name,
                                              forward == st.desc ? "lt" : "gt"),
                       CADRE_PINT(st.key));
        /* before a key: the other way round, nearest first; shown reversed */
        cadre_q_order_by(&q, cadre_arena_printf(r->arena, "%s%s",
                                                forward == st.desc ? "-" : "", m->pk->name));
    } else {
        list_order(&q, m, &st);
        cadre_q_offset(&q, (st.page - 1) * m->per_page);
    }
    cadre_q_limit(&q, m->per_page + 1);
    cadre_rows rel[CADRE_Q_MAX_RELATED];
    for (size_t i = 0, k = 0; i < m->ncols && k < CADRE_Q_MAX_RELATED; i++)
        if (m->cols[i]->fk)
            cadre_q_select_related(&q, m->cols[i]->name, &rel[k++]);
    cadre_rows rows;
    bool slow = false;
    if ((rc = cadre_q_fetch(&q, &rows)) == CADRE_ETIMEDOUT) {
        slow = true;
        rows = (cadre_rows){ 0 };
    } else if (rc) {
        return rc;
    }
    cadre_db_statement_timeout(0);
    bool more = rows.len > (size_t)m->per_page;
    size_t shown = more ? (size_t)m->per_page : rows.len;
    if (!slow && shown == 0 && (st.page > 1 || st.bound))
        return cadre_app_error(r, 404, "Invalid page.");
    bool reversed = st.bound < 0;
    bool has_next = reversed ? true : more, has_prev = reversed ? more : st.page > 1;
    int64_t pages = count >= 0 ? (count ? (count + m->per_page - 1) / m->per_page : 1) : -1;
    if (pages >= 0 && !has_next && st.page > pages)
        pages = st.page; /* an estimate a little short */

    /* the columns: their heading, and the link that sorts by them */
    const char *order = st.order;
    cadre_tvalue *cols = cadre_alloc(r, (m->ncols + m->ncomputed) * sizeof *cols);
    if (!cols)
        return CADRE_ENOMEM;
    for (size_t k = 0; k < m->ncomputed; k++) { /* not sortable: no column of the table */
        cadre_tvar *cv = cadre_alloc(r, sizeof *cv);
        if (!cv)
            return CADRE_ENOMEM;
        cv[0] = (cadre_tvar){ "name", CADRE_TSTR(m->computed[k].label) };
        cols[m->ncols + k] = (cadre_tvalue){ .kind = CADRE_TV_MAP, .u.map = { cv, 1 } };
    }
    for (size_t i = 0; i < m->ncols; i++) {
        const char *name = m->cols[i]->name;
        bool asc = order && strcmp(order, name) == 0;
        bool desc = order && order[0] == '-' && strcmp(order + 1, name) == 0;
        cadre_tvar *cv = cadre_alloc(r, 3 * sizeof *cv);
        if (!cv)
            return CADRE_ENOMEM;
        cv[0] = (cadre_tvar){ "name", CADRE_TSTR(m->labels[i]) };
        cv[1] = (cadre_tvar){ "sort_url", CADRE_TSTR(list_url(
                                              r, m, &st, 1, asc ? cadre_arena_printf(r->arena, "-%s", name)
                                                                : name, -1, (cadre_slice){ 0 })) };
        cv[2] = (cadre_tvar){ "sorted", asc ? CADRE_TSTR("ascending")
                                        : desc ? CADRE_TSTR("descending") : CADRE_TNONE };
        cols[i] = (cadre_tvalue){ .kind = CADRE_TV_MAP, .u.map = { cv, 3 } };
    }
    size_t ncells = m->ncols + m->ncomputed;
    const char **computed = NULL; /* [column][row], the app's texts */
    if ((rc = compute_columns(r, m, &rows, shown, &computed)) != 0)
        return rc;
    /* the rows: each cell a typed value */
    cadre_tvalue *items = cadre_alloc(r, (shown + 1) * sizeof *items);
    cadre_tvalue *cells = cadre_alloc(r, (shown * ncells + 1) * sizeof *cells);
    cadre_tvar *rv = cadre_alloc(r, (shown * 3 + 1) * sizeof *rv);
    if (!items || !cells || !rv)
        return CADRE_ENOMEM;
    for (size_t i = 0; i < shown; i++) {
        size_t at = reversed ? shown - 1 - i : i;
        const char *row = (const char *)rows.items + at * m->model->size;
        cadre_tvalue *c = cells + i * ncells;
        for (size_t k = 0; k < m->ncols; k++) {
            const cadre_field *f = m->cols[k];
            const void *to = f->fk ? cadre_related(&rows, at, f->name) : NULL;
            c[k] = to ? row_label(r, f->fk(), to) : cell(r, m->model, f, row);
        }
        for (size_t k = 0; k < m->ncomputed; k++) {
            const char *t = computed[k * (shown + 1) + at];
            c[m->ncols + k] = CADRE_TSTR(t ? t : "-");
        }
        rv[3 * i] = (cadre_tvar){ "url", m->pk ? CADRE_TSTR(change_url(r, m, row)) : CADRE_TNONE };
        rv[3 * i + 2] = (cadre_tvar){ "pk", m->pk ? cell(r, m->model, m->pk, row) : CADRE_TNONE };
        rv[3 * i + 1] = (cadre_tvar){ "cells", (cadre_tvalue){ .kind = CADRE_TV_VALUES,
                                                                .u.values = { c, ncells } } };
        items[i] = (cadre_tvalue){ .kind = CADRE_TV_MAP, .u.map = { rv + 3 * i, 3 } };
    }
    /* previous and next: by key when the order allows it, else by page number */
    const char *prev_url = NULL, *next_url = NULL;
    if (has_prev && shown && st.keyset && st.page > 2) {
        size_t at = reversed ? shown - 1 : 0;
        prev_url = keyset_url(r, m, &st, st.page - 1, "before",
                              *(const int64_t *)((const char *)rows.items + at * m->model->size +
                                                 m->pk->offset));
    } else if (has_prev) {
        prev_url = list_url(r, m, &st, st.page - 1, order, -1, (cadre_slice){ 0 });
    }
    if (has_next && shown && st.keyset) {
        size_t at = reversed ? 0 : shown - 1;
        next_url = keyset_url(r, m, &st, st.page + 1, "after",
                              *(const int64_t *)((const char *)rows.items + at * m->model->size +
                                                 m->pk->offset));
    } else if (has_next) {
        next_url = list_url(r, m, &st, st.page + 1, order, -1, (cadre_slice){ 0 });
    }
    const char *counted = NULL;
    if (count >= 0)
        counted = cadre_arena_printf(r->arena, "%s%s %s", estimated ? "about " : "",
                                     num(r, count), count == 1 ? m->singular : m->plural);
    size_t n;
    cadre_tvar *pv = page_vars(r, s, m->title, 30, &n);
    if (!pv)
        return CADRE_ENOMEM;
    pv[n++] = (cadre_tvar){ "model", CADRE_TSTR(m->model->name) };
    pv[n++] = (cadre_tvar){ "plural", CADRE_TSTR(m->plural) };
    pv[n++] = (cadre_tvar){ "singular", CADRE_TSTR(m->singular) };
    pv[n++] = (cadre_tvar){ "module", CADRE_TSTR(m->module) };
    pv[n++] = (cadre_tvar){ "columns", (cadre_tvalue){ .kind = CADRE_TV_VALUES,
                                                        .u.values = { cols, m->ncols + m->ncomputed } } };
    pv[n++] = (cadre_tvar){ "rows", (cadre_tvalue){ .kind = CADRE_TV_VALUES,
                                                     .u.values = { items, shown } } };
    pv[n++] = (cadre_tvar){ "count", count >= 0 ? CADRE_TINT(count) : CADRE_TNONE };
    pv[n++] = (cadre_tvar){ "counted", str(counted) };
    pv[n++] = (cadre_tvar){ "estimated", CADRE_TBOOL(estimated) };
    pv[n++] = (cadre_tvar){ "total", total >= 0 ? CADRE_TSTR(cadre_arena_printf(
                                                      r->arena, "%s%s", total_est ? "about " : "",
                                                      num(r, total)))
                                                : CADRE_TNONE };
    pv[n++] = (cadre_tvar){ "page", CADRE_TSTR(num(r, st.page)) };
    pv[n++] = (cadre_tvar){ "pages", pages >= 0 ? CADRE_TSTR(cadre_arena_printf(
                                                      r->arena, "%s%s", estimated ? "about " : "",
                                                      num(r, pages)))
                                                : CADRE_TNONE };
    pv[n++] = (cadre_tvar){ "page_links", pages > 1 ? page_links(r, m, &st, pages, !estimated)
                                                    : CADRE_TNONE };
    pv[n++] = (cadre_tvar){ "previous_url", str(prev_url) };
    pv[n++] = (cadre_tvar){ "next_url", str(next_url) };
    pv[n++] = (cadre_tvar){ "slow", slow ? CADRE_TSTR(cadre_arena_printf(
                                               r->arena, "This list took longer than %d ms to read. "
                                               "Narrow it with the search or the filters.",
                                               s->timeout_ms))
                                         : CADRE_TNONE };
    pv[n++] = (cadre_tvar){ "search", CADRE_TSLICE(st.q) };
    pv[n++] = (cadre_tvar){ "searchable", CADRE_TBOOL(m->nsearch > 0) };
    pv[n++] = (cadre_tvar){ "order", str(order) };
    pv[n++] = (cadre_tvar){ "add_url", may(r, m, "add", NULL)
                                           ? CADRE_TSTR(m->add_url) : CADRE_TNONE };
    pv[n++] = (cadre_tvar){ "searched", CADRE_TBOOL(narrowed) };
    pv[n++] = (cadre_tvar){ "results", count >= 0 ? CADRE_TSTR(cadre_arena_printf(
                                                        r->arena, "%s%s result%s",
                                                        estimated ? "about " : "", num(r, count),
                                                        count == 1 ? "" : "s"))
                                                  : CADRE_TNONE };
    cadre_tvalue filters;
    if ((rc = sidebar(r, m, &st, &filters)) != 0)
        return rc;
    pv[n++] = (cadre_tvar){ "filters", filters };
    pv[n++] = (cadre_tvar){ "actions", action_menu(r, m) };
    pv[n++] = (cadre_tvar){ "colspan", CADRE_TINT((int64_t)(m->ncols + m->ncomputed) + 1) };
    pv[n++] = (cadre_tvar){ "filtered_hidden", hidden_filters(r, m, &st) };
    pv[n++] = (cadre_tvar){ "list_url", CADRE_TSTR(m->url) };
    const char *here = list_url(r, m, &st, 1, order, -1, (cadre_slice){ 0 });
    pv[n++] = (cadre_tvar){ "export_url", CADRE_TSTR(cadre_arena_printf(
                                              r->arena, "%sexport/%s", m->url, here + strlen(m->url))) };
    return render_page(r, m, slow ? 503 : 200, "change_list.html", (cadre_tctx){ pv, n });
}

/* ---------------------------------------------------------------------------------------------
 * The module and the registry
 * ------------------------------------------------------------------------------------------- */

static char *dup_or(const char *s, const char *dflt)
{
    return strdup(s ? s : dflt);
}

static bool path_ok(const char *p)
{
    size_t n = strlen(p);
    return n >= 2 && p[0] == '/' && p[n - 1] != '/' && !strpbrk(p, " \t\r\n\"<>\\?#{}");
}

cadre_module *cadre__admin(cadre_app *app, cadre_db *db, const cadre_admin_opts *o,
                           const char *file, int line)
{
    if (!cadre_app_module(app, "auth")) {
        cadre_app_config_error(app, file, line, "cadre_admin: the admin needs auth: call "
                               "cadre_auth(app, db) first (cadre/auth.h)");
        return NULL;
    }
    if (!db || cadre_app_attachment(app, ADMIN_KEY)) {
        cadre_app_config_error(app, file, line, db ? "cadre_admin: called twice"
                                                   : "cadre_admin: no database");
        return NULL;
    }
    if (o->list_timeout_ms < 0) {
        cadre_app_config_error(app, file, line, "cadre_admin: .list_timeout_ms is %d: give a "
                               "number of milliseconds (0: the default, 3000)", o->list_timeout_ms);
        return NULL;
    }
    if (o->path && !path_ok(o->path)) {
        cadre_app_config_error(app, file, line, "cadre_admin: .path \"%s\" must be a path like "
                               "\"/admin\" (no trailing /)", o->path);
        return NULL;
    }
    admin_site *s = calloc(1, sizeof *s);
    if (!s || !(s->path = dup_or(o->path, "/admin")) ||
        !(s->header = dup_or(o->site_header, "Cadre administration")) ||
        !(s->title = dup_or(o->site_title, "Cadre site admin"))) {
        if (s)
            site_free(s);
        cadre_app_config_error(app, file, line, "cadre_admin: out of memory");
        return NULL;
    }
    if (cadre_app_attach(app, ADMIN_KEY, s, site_free) != 0) {
        cadre_app_config_error(app, file, line, "cadre_admin: out of memory");
        return NULL; /* the attach has freed s */
    }
    s->app = app;
    s->db = db;
    s->timeout_ms = o->list_timeout_ms ? o->list_timeout_ms : 3000;
    s->estimate_above = o->estimate_above < 0 ? INT64_MAX
                        : o->estimate_above ? o->estimate_above : 100000;
    cadre_module *m = cadre__module_add(app, &(cadre_module_opts){ .label = "admin",
                                                                  .depends = CADRE_DEPENDS("auth") },
                                        file, line);
    if (!m)
        return NULL;
    s->mod = m;
    size_t ni = strlen(s->path) + 2, ns = strlen(s->path) + 20;
    char *index = cadre_app_own(app, malloc(ni));
    char *style = cadre_app_own(app, malloc(ns));
    if (!index || !style) {
        cadre_app_config_error(app, file, line, "cadre_admin: out of memory");
        return NULL;
    }
    snprintf(index, ni, "%s/", s->path);
    snprintf(style, ns, "%s/static/admin.css", s->path);
    int rc = cadre_models_builtin(m, db, cadre_admin_migrations, cadre_admin_migrations_count,
                                  CADRE_SCHEMA_OF(cadre_admin_log));
    if (rc == 0)
        rc = cadre_module_templates(m, cadre_admin_templates, cadre_admin_templates_count);
    if (rc == 0)
        rc = cadre_route(app, "GET", index, index_page, .data = s, .name = "admin:index",
                         .guards = CADRE_GUARDS(CADRE_STAFF_REQUIRED));
    if (rc == 0)
        rc = cadre_route(app, "GET", style, css);
    if (rc) {
        cadre_app_config_error(app, file, line, "cadre_admin: %s", cadre_strerror(rc));
        return NULL;
    }
    return m;
}

/* Calls each(name, len) for the names of a comma-separated list, until it fails. */
static int each_name(const char *list, int (*each)(admin_model *, const char *, size_t, void *),
                     admin_model *m, void *ctx)
{
    cadre_slice name;
    while (cadre_list_next(&list, &name)) {
        int rc = each(m, name.ptr, name.len, ctx);
        if (rc)
            return rc;
    }
    return 0;
}

struct reg_ctx {
    cadre_app *app;
    const char *file;
    int line;
};

static const cadre_field *field_named(const admin_model *m, const char *name, size_t len,
                                      const struct reg_ctx *c, const char *option)
{
    const cadre_field *f = cadre_schema_field(m->model, name, len);
    if (!f || !cadre_model_field_is_column(f) || f->write_only) {
        cadre_app_config_error(c->app, c->file, c->line, "cadre_admin_register(%s): .%s names "
                               "\"%.*s\", which is not a field of the model stored in a column",
                               m->model->name, option, (int)len, name);
        return NULL;
    }
    return f;
}

static int add_col(admin_model *m, const char *name, size_t len, void *ctx)
{
    const cadre_field *f = field_named(m, name, len, ctx, "list");
    if (!f)
        return CADRE_EINVAL;
    if (m->ncols == MAX_COLUMNS) {
        const struct reg_ctx *c = ctx;
        cadre_app_config_error(c->app, c->file, c->line, "cadre_admin_register(%s): at most %d "
                               "columns", m->model->name, MAX_COLUMNS);
        return CADRE_EINVAL;
    }
    m->cols[m->ncols++] = f;
    return 0;
}

/* What the field lists that name fields fill: a bit per field (.fields, .readonly, a section of
 * .fieldsets, which takes only fields in `allowed`). */
struct bits_ctx {
    struct reg_ctx reg; /* first: field_named reads it */
    const char *option;
    uint64_t *bits;
    uint64_t allowed; /* 0: any */
};

static int add_bit(admin_model *m, const char *name, size_t len, void *ctx)
{
    const struct bits_ctx *b = ctx;
    const cadre_field *f = field_named(m, name, len, &b->reg, b->option);
    if (!f)
        return CADRE_EINVAL;
    uint64_t bit = (uint64_t)1 << (f - m->model->fields);
    if (b->allowed && !(b->allowed & bit)) {
        cadre_app_config_error(b->reg.app, b->reg.file, b->reg.line, "cadre_admin_register(%s): "
                               ".%s names \"%s\", which is neither a form field (.fields) nor "
                               "read-only (.readonly)", m->model->name, b->option, f->name);
        return CADRE_EINVAL;
    }
    *b->bits |= bit;
    return 0;
}

/* .fieldsets = "Product: name, price; Source: supplier_id, updated_at": the change page in
 * titled sections; a field in none of them is not on the page (nor read from it). */
static int add_sections(admin_model *m, const char *spec, const struct reg_ctx *c)
{
    const char *p = spec;
    while (*p) {
        const char *end = strchr(p, ';');
        if (!end)
            end = p + strlen(p);
        const char *colon = memchr(p, ':', (size_t)(end - p));
        while (p < end && *p == ' ')
            p++;
        if (!colon || colon == p || m->nsections == MAX_SECTIONS) {
            cadre_app_config_error(c->app, c->file, c->line, "cadre_admin_register(%s): "
                                   ".fieldsets is \"Title: field, field; Title: field\" (at most "
                                   "%d sections)", m->model->name, MAX_SECTIONS);
            return CADRE_EINVAL;
        }
        size_t tl = (size_t)(colon - p);
        while (tl && p[tl - 1] == ' ')
            tl--;
        char *title = strndup(p, tl);
        char *names = strndup(colon + 1, (size_t)(end - colon - 1));
        int rc = title && names ? 0 : CADRE_ENOMEM;
        if (rc == 0) {
            m->sections[m->nsections].title = title;
            m->sections[m->nsections].bits = 0;
            title = NULL;
            struct bits_ctx b = { *c, "fieldsets", &m->sections[m->nsections++].bits,
                                  m->form_fields | m->readonly };
            rc = each_name(names, add_bit, m, &b);
        }
        free(title);
        free(names);
        if (rc)
            return rc;
        p = *end ? end + 1 : end;
    }
    uint64_t all = 0;
    for (size_t i = 0; i < m->nsections; i++)
        all |= m->sections[i].bits;
    m->form_fields &= all;
    m->readonly &= all;
    return 0;
}

static int add_filter(admin_model *m, const char *name, size_t len, void *ctx)
{
    const cadre_field *f = field_named(m, name, len, ctx, "filters");
    if (!f)
        return CADRE_EINVAL;
    const struct reg_ctx *c = ctx;
    bool ok = f->type == CADRE_T_BOOL || f->type == CADRE_T_ENUM || f->type == CADRE_T_DATE ||
              f->type == CADRE_T_DATETIME || (f->fk && cadre_model_pk(f->fk()) &&
                                              cadre_model_pk(f->fk())->type == CADRE_T_INT64);
    if (!ok || m->nfilters == MAX_FILTERS || !strcmp(f->name, "q") || !strcmp(f->name, "o") ||
        !strcmp(f->name, "p")) {
        cadre_app_config_error(c->app, c->file, c->line, "cadre_admin_register(%s): .filters: %s",
                               m->model->name, m->nfilters == MAX_FILTERS
                                   ? "at most 8 filters"
                                   : "a filter is a bool, enum, date, datetime or foreign key "
                                     "field (not named q, o or p)");
        return CADRE_EINVAL;
    }
    m->filters[m->nfilters++] = f;
    return 0;
}

static int add_search_field(admin_model *m, const char *name, size_t len, void *ctx)
{
    char how = 'c';
    if (len && (name[0] == '^' || name[0] == '=')) {
        how = name[0];
        name++, len--;
    }
    const cadre_field *f = field_named(m, name, len, ctx, "search");
    if (!f)
        return CADRE_EINVAL;
    const struct reg_ctx *c = ctx;
    if (m->nsearch == MAX_SEARCH || (f->type != CADRE_T_STRING && f->type != CADRE_T_INT64 &&
                                     f->type != CADRE_T_INT32)) {
        cadre_app_config_error(c->app, c->file, c->line, "cadre_admin_register(%s): .search: %s",
                               m->model->name, m->nsearch == MAX_SEARCH
                                                   ? "at most 16 fields"
                                                   : "only text and integer fields are searched");
        return CADRE_EINVAL;
    }
    m->search[m->nsearch].f = f;
    m->search[m->nsearch++].how = how;
    return 0;
}

static bool has_files(const cadre_schema *t)
{
    for (size_t i = 0; i < t->nfields; i++)
        if (t->fields[i].type == CADRE_T_FILE || t->fields[i].type == CADRE_T_FILES)
            return true;
    return false;
}

/* .inlines: a model with a foreign key to m, edited on m's pages. */
static int add_inline(admin_model *m, const char *name, size_t len, void *ctx)
{
    const struct reg_ctx *c = ctx;
    cadre_module *mod = NULL;
    const cadre_schema *t = NULL;
    for (size_t i = 0; (t = cadre_app_model_at(c->app, i, &mod)) != NULL; i++)
        if (strlen(t->name) == len && memcmp(t->name, name, len) == 0)
            break;
    const cadre_field *fk = NULL, *pk = t ? cadre_model_pk(t) : NULL;
    for (size_t i = 0; t && i < t->nfields && !fk; i++)
        if (t->fields[i].fk && strcmp(t->fields[i].fk()->name, m->model->name) == 0)
            fk = &t->fields[i];
    const char *why = !t                                  ? "is not a model of the app"
                      : !fk                               ? "has no foreign key to this model"
                      : !pk || pk->type != CADRE_T_INT64  ? "has no int64 primary key"
                      : m->ninlines == MAX_INLINES        ? "is one inline too many (4 at most)"
                      : has_files(t) || has_files(m->model) ? "or this model has file fields "
                                                              "(their forms are multipart: no inlines)"
                                                          : NULL;
    if (why) {
        cadre_app_config_error(c->app, c->file, c->line, "cadre_admin_register(%s): .inlines: "
                               "\"%.*s\" %s", m->model->name, (int)len, name, why);
        return CADRE_EINVAL;
    }
    admin_model *im = calloc(1, sizeof *im);
    if (!im)
        return CADRE_ENOMEM;
    im->model = t;
    im->module = cadre_module_label(mod);
    im->site = m->site;
    im->pk = pk;
    for (size_t i = 0; i < t->nfields; i++) {
        const cadre_field *f = &t->fields[i];
        if (f != fk && cadre_model_field_is_column(f) && !f->primary_key && !f->auto_now &&
            !f->auto_now_add && !f->write_only)
            im->form_fields |= (uint64_t)1 << i;
    }
    size_t n = strlen(t->name) + 2;
    im->singular = strdup(t->name);
    char *plural = malloc(n);
    if (plural)
        snprintf(plural, n, "%ss", t->name);
    im->plural = plural;
    im->title = plural ? label_of(plural, false) : NULL;
    m->inlines[m->ninlines].m = im;
    m->inlines[m->ninlines++].fk = fk;
    if (!im->singular || !im->title)
        return CADRE_ENOMEM;
    for (char *ch = im->singular; *ch; ch++)
        *ch = *ch == '_' ? ' ' : *ch;
    return 0;
}

static int add_order(admin_model *m, const char *name, size_t len, void *ctx)
{
    bool desc = len && name[0] == '-';
    const cadre_field *f = field_named(m, name + desc, len - desc, ctx, "ordering");
    if (!f)
        return CADRE_EINVAL;
    if (m->norder == MAX_ORDER) {
        const struct reg_ctx *c = ctx;
        cadre_app_config_error(c->app, c->file, c->line, "cadre_admin_register(%s): .ordering: "
                               "at most %d fields", m->model->name, MAX_ORDER);
        return CADRE_EINVAL;
    }
    size_t n = strlen(f->name) + 2;
    char *o = malloc(n);
    if (!o)
        return CADRE_ENOMEM;
    snprintf(o, n, "%s%s", desc ? "-" : "", f->name);
    m->order[m->norder++] = o;
    return 0;
}

int cadre__admin_register(cadre_app *app, const cadre_schema *model,
                          const cadre_admin_model_opts *o, const char *file, int line)
{
    admin_site *s = cadre_app_attachment(app, ADMIN_KEY);
    if (!s) {
        cadre_app_config_error(app, file, line, "cadre_admin_register: call cadre_admin(app, db) "
                               "first");
        return CADRE_ESTATE;
    }
    /* the model's module: the one that registered its table */
    cadre_module *mod = NULL;
    const cadre_schema *t = NULL;
    for (size_t i = 0; model && (t = cadre_app_model_at(app, i, &mod)) != NULL; i++)
        if (strcmp(t->name, model->name) == 0)
            break;
    if (!model || !model->model) {
        cadre_app_config_error(app, file, line, "cadre_admin_register(%s): not a model "
                               "(CADRE_MODEL)", model ? model->name : "NULL");
        return CADRE_EINVAL;
    }
    if (!t) { /* a table no module migrates (made by hand, or by another program): the app's */
        t = model;
        mod = cadre_app_own_module(app);
    }
    if (registered(s, model)) {
        cadre_app_config_error(app, file, line, "cadre_admin_register(%s): registered twice",
                               model->name);
        return CADRE_EEXIST;
    }
    if (o->per_page < 0 || o->per_page > 1000) {
        cadre_app_config_error(app, file, line, "cadre_admin_register(%s): .per_page is 1 to "
                               "1000", model->name);
        return CADRE_EINVAL;
    }
    admin_model *m = calloc(1, sizeof *m);
    if (!m)
        return CADRE_ENOMEM;
    m->model = t; /* the app's model of that table (a project's user model, say) */
    m->module = cadre_module_label(mod);
    m->site = s;
    m->pk = cadre_model_pk(t);
    m->per_page = o->per_page ? o->per_page : 100;
    m->view_only = o->view_only;
    size_t n = strlen(t->name) + 2;
    char *plural = malloc(n);
    if (plural) {
        snprintf(plural, n, "%ss", t->name);
        for (char *c = plural; *c; c++)
            *c = *c == '_' ? ' ' : *c;
    }
    m->plural = o->plural ? strdup(o->plural) : plural;
    if (o->plural)
        free(plural);
    n = strlen(s->path) + strlen(m->module) + strlen(t->name) + 4;
    m->url = malloc(n);
    if (m->url)
        snprintf(m->url, n, "%s/%s/%s/", s->path, m->module, t->name);
    struct reg_ctx c = { app, file, line };
    int rc = !m->plural || !m->url ? CADRE_ENOMEM : 0;
    if (rc == 0 && o->list)
        rc = each_name(o->list, add_col, m, &c);
    for (size_t i = 0; rc == 0 && !o->list && i < t->nfields && m->ncols < 5; i++)
        if (cadre_model_field_is_column(&t->fields[i]) && !t->fields[i].write_only)
            m->cols[m->ncols++] = &t->fields[i];
    if (rc == 0)
        rc = each_name(o->search, add_search_field, m, &c);
    if (rc == 0)
        rc = each_name(o->ordering, add_order, m, &c);
    if (rc == 0)
        rc = each_name(o->filters, add_filter, m, &c);
    for (size_t i = 0; rc == 0 && i < m->nfilters; i++)
        if (!(m->filter_labels[i] = label_of(m->filters[i]->name, m->filters[i]->fk != NULL)))
            rc = CADRE_ENOMEM;
    if (rc == 0 && !o->ordering && m->pk) {
        size_t nd = strlen(m->pk->name) + 2;
        char *d = malloc(nd);
        if (!d)
            rc = CADRE_ENOMEM;
        else
            snprintf(d, nd, "-%s", m->pk->name), m->order[m->norder++] = d;
    }
    admin_model **slot = NULL;
    if (rc == 0 && (slot = CADRE_VEC_PUSH(&s->models, NULL, 0)) == NULL)
        rc = CADRE_ENOMEM;
    for (size_t i = 0; rc == 0 && i < m->ncols; i++)
        if (!(m->labels[i] = label_of(m->cols[i]->name, m->cols[i]->fk != NULL)))
            rc = CADRE_ENOMEM;
    if (rc == 0 && !(m->title = label_of(m->plural, false)))
        rc = CADRE_ENOMEM;
    if (rc == 0 && (m->singular = strdup(o->singular ? o->singular : t->name)) != NULL) {
        for (char *ch = m->singular; !o->singular && *ch; ch++)
            *ch = *ch == '_' ? ' ' : *ch;
    } else if (rc == 0) {
        rc = CADRE_ENOMEM;
    }
    struct bits_ctx fields = { c, "fields", &m->form_fields, 0 }, ro = { c, "readonly", &m->readonly, 0 };
    if (rc == 0 && o->fields)
        rc = each_name(o->fields, add_bit, m, &fields);
    for (size_t i = 0; rc == 0 && !o->fields && i < t->nfields; i++) {
        const cadre_field *f = &t->fields[i];
        if (cadre_model_field_is_column(f) && !f->primary_key && !f->auto_now &&
            !f->auto_now_add && !f->write_only)
            m->form_fields |= (uint64_t)1 << i;
    }
    if (rc == 0 && o->readonly)
        rc = each_name(o->readonly, add_bit, m, &ro);
    m->form_fields &= ~m->readonly; /* shown, never read */
    if (rc == 0 && o->fieldsets) {
        rc = add_sections(m, o->fieldsets, &c);
    } else if (rc == 0) {
        m->sections[0].bits = m->form_fields | m->readonly;
        m->nsections = 1;
    }
    if (rc == 0 && o->inlines)
        rc = each_name(o->inlines, add_inline, m, &c);
    if (rc == 0 && m->pk && m->pk->type != CADRE_T_INT64) {
        cadre_app_config_error(app, file, line, "cadre_admin_register(%s): the admin's pages need "
                               "an int64 primary key", t->name);
        rc = CADRE_EINVAL;
    }
    n = strlen(m->url) + 5;
    if (rc == 0 && (m->add_url = malloc(n)) != NULL)
        snprintf(m->add_url, n, "%sadd/", m->url);
    else if (rc == 0)
        rc = CADRE_ENOMEM;
    n = strlen(m->module) + strlen(t->name) + 9;
    if (rc == 0 && (m->tpl_model = malloc(n)) != NULL && (m->tpl_module = malloc(n)) != NULL) {
        snprintf(m->tpl_model, n, "admin/%s/%s/", m->module, t->name);
        snprintf(m->tpl_module, n, "admin/%s/", m->module);
    } else if (rc == 0) {
        rc = CADRE_ENOMEM;
    }
    if (rc) {
        if (slot)
            s->models.len--; /* the slot taken for it, the last one */
        model_free(m);
        if (rc == CADRE_ENOMEM)
            cadre_app_config_error(app, file, line, "cadre_admin_register: out of memory");
        return rc;
    }
    *slot = m;
    /* its pages, each behind the staff guard; the paths live as long as the app */
    static const struct {
        const char *method, *suffix;
        cadre_handler handler;
        bool needs_key; /* pages of one row, or of rows selected by key */
    } pages[] = {
        { "GET", "", change_list, false },          { "GET", "export/", export_csv, false },
        { "GET", "choices", fk_choices, false },    { "POST", "", run_action, true },
        { "GET", "{id}/history/", history_page, true },
        { "GET", "add/", add_form, true },          { "POST", "add/", add_form, true },
        { "GET", "{id}/change/", change_form, true }, { "POST", "{id}/change/", change_form, true },
        { "GET", "{id}/delete/", delete_page, true }, { "POST", "{id}/delete/", delete_page, true },
    };
    for (size_t i = 0; rc == 0 && i < sizeof pages / sizeof pages[0]; i++) {
        if (pages[i].needs_key && !m->pk)
            continue;
        size_t len = strlen(m->url) + strlen(pages[i].suffix) + 1;
        char *path = cadre_app_own(app, malloc(len));
        if (!path)
            return CADRE_ENOMEM;
        snprintf(path, len, "%s%s", m->url, pages[i].suffix);
        rc = cadre_route(app, pages[i].method, path, pages[i].handler, .data = m,
                         .guards = CADRE_GUARDS(CADRE_STAFF_REQUIRED));
    }
    return rc;
}

int cadre__admin_action(cadre_app *app, const cadre_schema *model, const char *name,
                        cadre_admin_action_fn fn, const cadre_admin_action_opts *o,
                        const char *file, int line)
{
    admin_model *m = registered(cadre_app_attachment(app, ADMIN_KEY), model);
    bool ok = name && *name && fn && strspn(name, "abcdefghijklmnopqrstuvwxyz"
                                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") ==
                                         strlen(name) && strcmp(name, "delete_selected") != 0;
    if (!m || !ok || m->nactions == MAX_ACTIONS) {
        cadre_app_config_error(app, file, line, "cadre_admin_action(%s): %s",
                               name ? name : "NULL",
                               !m ? "register the model with cadre_admin_register first"
                               : !ok ? "a name of letters, digits and _ (not delete_selected), "
                                       "and a function"
                                     : "at most 16 actions per model");
        return CADRE_EINVAL;
    }
    for (size_t k = 0; k < m->nactions; k++)
        if (strcmp(m->actions[k].name, name) == 0) {
            cadre_app_config_error(app, file, line, "cadre_admin_action(%s): added twice", name);
            return CADRE_EEXIST;
        }
    size_t k = m->nactions;
    m->actions[k].name = strdup(name);
    m->actions[k].label = strdup(o->label ? o->label : name);
    m->actions[k].permission = o->permission ? strdup(o->permission) : NULL;
    m->actions[k].fn = fn;
    m->actions[k].ctx = o->ctx;
    m->nactions++;
    if (!m->actions[k].name || !m->actions[k].label || (o->permission && !m->actions[k].permission)) {
        cadre_app_config_error(app, file, line, "cadre_admin_action: out of memory");
        return CADRE_ENOMEM;
    }
    return 0;
}

int cadre__admin_column(cadre_app *app, const cadre_schema *model, const char *label,
                        cadre_admin_column_fn fn, const cadre_admin_column_opts *o,
                        const char *file, int line)
{
    admin_model *m = registered(cadre_app_attachment(app, ADMIN_KEY), model);
    if (!m || !label || !*label || !fn || m->ncomputed == MAX_COMPUTED) {
        cadre_app_config_error(app, file, line, "cadre_admin_column(%s, \"%s\"): %s",
                               model ? model->name : "NULL", label ? label : "NULL",
                               !m ? "register the model first (cadre_admin_register)"
                               : !label || !*label || !fn ? "a label and a function"
                                                          : "one column too many (8 at most)");
        return CADRE_EINVAL;
    }
    if (!(m->computed[m->ncomputed].label = strdup(label))) {
        cadre_app_config_error(app, file, line, "cadre_admin_column: out of memory");
        return CADRE_ENOMEM;
    }
    m->computed[m->ncomputed].fn = fn;
    m->computed[m->ncomputed++].ctx = o->ctx;
    return 0;
}
