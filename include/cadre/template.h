/**
 * cadre/template.h — server-rendered pages: Jinja/Django-like templates, compiled once at start-up.
 *
 *     {% extends "base.html" %}
 *     {% block content %}
 *       <h1>{{ title|upper }}</h1>
 *       {% for f in fortunes %}<tr><td>{{ f.id }}</td><td>{{ f.message }}</td></tr>
 *       {% empty %}<tr><td colspan="2">none</td></tr>{% endfor %}
 *     {% endblock %}
 *
 * Syntax: {{ expr|filter|filter(arg) }}; {% if %}/{% elif %}/{% else %}/{% endif %};
 * {% for x in xs %}…{% empty %}…{% endfor %} (Jinja's {% else %} in a for works too; `loop.index`,
 * `loop.index0`, `loop.first`, `loop.last`, `loop.length` inside); {% extends "name" %} (first
 * tag), {% block name %}…{% endblock %} and {{ super() }}; {% include "name" %};
 * {% set name = expr %} (seen by what follows in the same block or loop body); {# comments #};
 * a '-' just inside a delimiter ({{- x -}}, {%- if … -%}) strips the whitespace on that side.
 * Expressions: names and attributes (a.b.c), items (xs[0], xs[-1], m["key"], xs[loop.index0]),
 * string/number literals, true/false/none,
 * == != < <= > >=, `in`, and/or/not, parentheses.
 *
 * Filters: escape (e), safe, upper, lower, title, capitalize, trim, length (count), default(x)
 * (d), truncate(n[, end]), join([sep]), date([format]) (strftime; dates and datetimes),
 * urlencode, json (tojson), first, last.
 *
 * Autoescape is always on: every {{ }} is HTML-escaped (& < > " ') unless its value is marked
 * safe (|safe, or CADRE_TSAFE from C). The escaping is correct in text and in quoted attribute
 * values; a {{ }} inside a tag but outside quotes (`<a href={{ u }}>`, `<p {{ attrs }}>`) is a
 * compile error unless it ends with |safe, since no escaping makes that safe. |json output is
 * safe inside <script> and single-quoted attributes (< > & ' become \u escapes).
 *
 * Values come from C as a context: names bound to strings, numbers, booleans, schema structs (any
 * CADRE_SCHEMA / CADRE_MODEL: fields by name), arrays of them (cadre_rows from a query) and nested
 * key/value maps:
 *
 *     return cadre_render(r, 200, "fortunes.html",
 *                         CADRE_CTX({ "title", CADRE_TSTR("Fortunes") },
 *                                   { "fortunes", CADRE_TROWS(Fortune, &rows) }));
 *
 * An unknown name or attribute renders as nothing (Jinja's default), none as "None".
 */
#ifndef CADRE_TEMPLATE_H
#define CADRE_TEMPLATE_H

#include "app.h"
#include "base.h"
#include "http.h"
#include "schema.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A set of compiled templates, looked up by name ("fortunes.html", "admin/base.html"). */
typedef struct cadre_templates cadre_templates;

/** One template's source, for cadre_templates_load_sources (what the embed step generates). */
typedef struct cadre_template_source {
    const char *name;
    const char *text;
    size_t len;
    /** The file it was embedded from, absolute, as the build saw it (its path ends with "/" and
     *  name), or NULL. Under `serve --reload` an app's templates whose files are in the project
     *  (cadre_app_reload_source) are read from the files instead, and again after an edit. */
    const char *path;
} cadre_template_source;

/**
 * Compiles every *.html, *.txt and *.xml file under dir (recursively; names are paths relative to
 * dir) into *out. With reload, rendering checks the files' modification times first and
 * recompiles the set when one changed (for development; a broken edit keeps the previous set and
 * logs the error). Returns 0, CADRE_EPARSE (errors logged, each "file:line:column: message"),
 * CADRE_EIO or CADRE_ENOMEM (*out is then NULL). Free with cadre_templates_free, or hand the set
 * to an app with cadre_templates_use (an app's templates are more simply given with
 * cadre_templates_add_dir / cadre_templates_add, below). Tags and expressions nest at most 32
 * deep; a template that includes or extends itself, directly or not, is refused.
 */
int cadre_templates_load_dir(const char *dir, bool reload, cadre_templates **out /* OUT */);

/** As cadre_templates_load_dir, from sources in memory (copied). */
int cadre_templates_load_sources(const cadre_template_source *src, size_t n,
                                 cadre_templates **out /* OUT */);

/** Frees a set (NULL is ignored). Not for a set given to cadre_templates_use: the app frees it. */
void cadre_templates_free(cadre_templates *t);

/* ---------------------------------------------------------------------------------------------
 * Values
 * ------------------------------------------------------------------------------------------- */

typedef enum cadre_tkind {
    CADRE_TV_UNDEFINED = 0,
    CADRE_TV_NONE,
    CADRE_TV_BOOL,
    CADRE_TV_INT,
    CADRE_TV_DOUBLE,
    CADRE_TV_STR,  /**< text, escaped on output */
    CADRE_TV_SAFE, /**< markup, output as it is */
    CADRE_TV_OBJ,  /**< a schema struct */
    CADRE_TV_LIST, /**< an array of schema structs */
    CADRE_TV_VALUES, /**< an array of values */
    CADRE_TV_MAP,  /**< names bound to values */
    /* run-time only */
    CADRE_TV_DATE,
    CADRE_TV_DATETIME,
    CADRE_TV_SLIST, /**< a strings / int64s / doubles field */
    CADRE_TV_LOOP,
    CADRE_TV_FORM, /**< a form (CADRE_TFORM) */
} cadre_tkind;

typedef struct cadre_tvar cadre_tvar;

typedef struct cadre_tvalue {
    cadre_tkind kind;
    union {
        bool b;
        int64_t i;
        double d;
        cadre_slice s;
        struct {
            const cadre_schema *schema;
            const void *ptr;  /**< OBJ: the struct; LIST: the first of len structs */
            size_t len;
            /** LIST made by CADRE_TROWS, and an OBJ taken from it: the query's rows, whose
             *  select_related rows the objects' attributes reach (p.supplier) */
            const struct cadre_rows *rows;
            size_t index; /**< OBJ from rows: which row it is */
        } obj;
        struct {
            const struct cadre_tvalue *items;
            size_t len;
        } values;
        struct {
            const cadre_tvar *vars;
            size_t len;
        } map;
        struct {
            const void *ptr; /**< DATE, DATETIME, SLIST, LOOP */
            int type;
            size_t len;
        } other;
    } u;
} cadre_tvalue;

struct cadre_tvar {
    const char *name;
    cadre_tvalue value;
};

/** A template's context: the names it sees. */
typedef struct cadre_tctx {
    const cadre_tvar *vars;
    size_t len;
} cadre_tctx;

#define CADRE_TSTR(str) ((cadre_tvalue){ .kind = CADRE_TV_STR, .u.s = cadre_slice_cstr(str) })
#define CADRE_TSLICE(sl) ((cadre_tvalue){ .kind = CADRE_TV_STR, .u.s = (sl) })
/** Trusted markup, not escaped (never from user input). */
#define CADRE_TSAFE(str) ((cadre_tvalue){ .kind = CADRE_TV_SAFE, .u.s = cadre_slice_cstr(str) })
#define CADRE_TINT(x) ((cadre_tvalue){ .kind = CADRE_TV_INT, .u.i = (int64_t)(x) })
#define CADRE_TDOUBLE(x) ((cadre_tvalue){ .kind = CADRE_TV_DOUBLE, .u.d = (double)(x) })
#define CADRE_TBOOL(x) ((cadre_tvalue){ .kind = CADRE_TV_BOOL, .u.b = (x) })
#define CADRE_TNONE ((cadre_tvalue){ .kind = CADRE_TV_NONE })
/** A struct of schema SCHEMA (the name given to CADRE_SCHEMA/CADRE_MODEL). */
#define CADRE_TOBJ(SCHEMA, PTR)                                                                    \
    ((cadre_tvalue){ .kind = CADRE_TV_OBJ,                                                         \
                     .u.obj = { .schema = SCHEMA##__schema(), .ptr = (PTR), .len = 1 } })
/** n structs of schema SCHEMA from items. */
#define CADRE_TLIST(SCHEMA, ITEMS, N)                                                              \
    ((cadre_tvalue){ .kind = CADRE_TV_LIST,                                                        \
                     .u.obj = { .schema = SCHEMA##__schema(), .ptr = (ITEMS), .len = (N) } })
/** The rows of a query (a cadre_rows *) of schema SCHEMA. The rows of its select_related are
 *  reached by the foreign key's name without _id: {% for p in products %}{{ p.supplier.name }}
 *  (none when the key is null). */
#define CADRE_TROWS(SCHEMA, ROWS)                                                                  \
    ((cadre_tvalue){ .kind = CADRE_TV_LIST,                                                        \
                     .u.obj = { .schema = SCHEMA##__schema(), .ptr = (ROWS)->items,                \
                                .len = (ROWS)->len, .rows = (ROWS) } })
/** A nested map: CADRE_TMAP({ "name", CADRE_TSTR("x") }, { "n", CADRE_TINT(3) }). */
#define CADRE_TMAP(...)                                                                            \
    ((cadre_tvalue){ .kind = CADRE_TV_MAP,                                                         \
                     .u.map = { (const cadre_tvar[]){ __VA_ARGS__ },                               \
                                sizeof((const cadre_tvar[]){ __VA_ARGS__ }) / sizeof(cadre_tvar) } })
/**
 * A form for a template: the fields of schema SCHEMA with their values from obj (a struct of it,
 * or NULL for an empty form) and the errors of a decode that failed (a cadre_verrors *, or NULL).
 * `{{ form }}` writes every field as Django's form.as_p does — a <p class="field"> (plus " error")
 * holding the label, the input (type from the field: text, number, checkbox, date,
 * datetime-local, select for enums and foreign keys, a textarea for a string without
 * CADRE_MAX_LEN (the database's TEXT, Django's TextField), password/email by name; required,
 * maxlength, min, max from the constraints) and the error message; keys and automatic
 * timestamps are left out. A field
 * that failed shows what the user sent. For a layout of your own, `{% for f in form.fields %}`
 * gives f.name, f.label, f.value, f.error (none when valid), f.type, f.required, f.options
 * (an enum's values), f.choices (a select's, each with value and label) and f.help (the
 * field's CADRE_DESCRIPTION). File fields are file inputs
 * (multiple for `files`), and `form.enctype` is what the <form> tag needs:
 * `<form method="post" enctype="{{ form.enctype }}">`; `form.model` is the schema's name.
 */
typedef struct cadre_tform {
    const cadre_schema *schema;
    const void *obj;
    const cadre_verrors *errs;
    /** The fields shown, a bit per field index (1 << CADRE_FIELD_INDEX(SCHEMA, name)); 0: all. */
    uint64_t only;
    /** Where a foreign key's choices come from: with a database, a foreign key is a <select> of
     *  the related rows (up to CADRE_FORM_CHOICES of them, labelled by their first text field),
     *  and beyond that a number input with those rows as suggestions; without, a number input. */
    struct cadre_db *db;
    /** Where a foreign key past CADRE_FORM_CHOICES rows looks for more as the user types (form
     *  pages set it: their path + "/choices?field="); NULL: the first rows only. */
    const char *search;
    /** The request the form is shown for (form pages set it): its choices are then the related
     *  rows its user may view — none listed without the related model's view permission, and
     *  only those its filter keeps (cadre_model_allows, cadre_model_filter). NULL: every row. */
    cadre_request *request;
    /** Names its inputs PREFIX-NAME (ids id_PREFIX-NAME), so that several forms of one schema
     *  share a page (the admin's inline rows, Django's formset prefixes); NULL: NAME. */
    const char *prefix;
} cadre_tform;

/** Foreign key rows a form lists in a <select> before it switches to a number input. */
#define CADRE_FORM_CHOICES 100

/** A form described in full (the fields shown, a database for choices):
 *  CADRE_TFORM_OF(&(cadre_tform){ product__schema(), &p, &errs, .db = db }). */
#define CADRE_TFORM_OF(form) ((cadre_tvalue){ .kind = CADRE_TV_FORM, .u.other = { (form), 0, 0 } })

#define CADRE_TFORM(SCHEMA, OBJ, ERRS)                                                             \
    ((cadre_tvalue){ .kind = CADRE_TV_FORM,                                                        \
                     .u.other = { &(const cadre_tform){ .schema = SCHEMA##__schema(),           \
                                                        .obj = (OBJ),                              \
                                                        .errs = (ERRS) },                          \
                                  0, 0 } })

/** A context: CADRE_CTX({ "title", CADRE_TSTR("x") }, { "rows", CADRE_TROWS(item, &rows) }). */
#define CADRE_CTX(...)                                                                             \
    ((cadre_tctx){ (const cadre_tvar[]){ __VA_ARGS__ },                                            \
                   sizeof((const cadre_tvar[]){ __VA_ARGS__ }) / sizeof(cadre_tvar) })
/** The empty context. */
#define CADRE_CTX_NONE ((cadre_tctx){ NULL, 0 })

/* ---------------------------------------------------------------------------------------------
 * Rendering
 * ------------------------------------------------------------------------------------------- */

/**
 * Renders template name with ctx, appending to out. Values are read, not copied: they must live
 * until it returns; ctx may be NULL (no names). Several threads may render from one set at once.
 * On an error out holds what was rendered before it. Returns 0, CADRE_ENOTFOUND (no such
 * template), CADRE_ETOOBIG (out's limit,
 * or 50 million nodes rendered: loops nested over large lists; logged) or CADRE_ENOMEM. Run-time problems that Jinja would raise on (iterating a number) are logged
 * with file:line and render nothing.
 */
int cadre_template_render(cadre_templates *t, const char *name, const cadre_tctx *ctx,
                          cadre_buf *out);

/* ---------------------------------------------------------------------------------------------
 * An app's templates: a stack of layers, one or more per module
 * ------------------------------------------------------------------------------------------- */

/**
 * Adds n embedded templates (what scripts/embed-templates generates) to module m's templates.
 * The array and the texts are not copied — they are static data, or must live as long as the
 * app. Returns 0, CADRE_EINVAL (m NULL, as cadre_module_add returns for a bad label; or src NULL
 * with n > 0) or CADRE_ENOMEM.
 *
 * The app compiles its templates once, when it starts (cadre_app_serve, after the configuration
 * checks), or at the first cadre_render when it is not started that way (the test client): the
 * union of every module's, in cadre_app_module_at order. For each name, the template of the
 * module latest in that order wins: a module's replaces those of the modules it depends on, and
 * the app's own module's (cadre_app_own_module) replaces every module's — Django's template
 * directories, where the project's override an app's. Within one module, a later call's
 * templates replace an earlier one's. {% extends %} and {% include %} are resolved in the union:
 * a module's page that extends "admin/base.html" gets the app's own admin/base.html when the
 * app has one, so one file restyles every page of the module.
 *
 * A template that does not compile is a configuration error ("file:line: message (column C;
 * module M)", with the directory in the file's path for a directory's template): the app refuses
 * to start (cadre_app_serve returns CADRE_EPARSE, or CADRE_EIO for a directory that cannot be
 * read; the test client answers the first render with 500 and refuses later requests); the
 * errors are logged.
 */
int cadre_module_templates(cadre_module *m, const cadre_template_source *src, size_t n);

/**
 * Adds the templates under dir (every *.html, *.txt and *.xml file, names relative to dir, as
 * cadre_templates_load_dir) to module m's templates; dir is copied, and read when the app
 * compiles its templates (a directory that cannot be read is a configuration error). With
 * reload, each render first checks the modification times of the files of every directory the
 * app's templates come from, and recompiles the whole union when one changed (for development;
 * a broken edit is logged and keeps the previous set). Returns 0, CADRE_EINVAL (m or dir NULL)
 * or CADRE_ENOMEM.
 */
int cadre_module_templates_dir(cadre_module *m, const char *dir, bool reload);

/** cadre_templates_add(where, src, n): cadre_module_templates for where, a cadre_app * (its own
 *  module, whose templates override every module's) or a cadre_module *. */
#define cadre_templates_add(where, src, n)                                                         \
    cadre_module_templates(cadre_module_of(where), (src), (n))

/** cadre_templates_add_dir(where, dir, reload): cadre_module_templates_dir for where, a
 *  cadre_app * (its own module) or a cadre_module *. */
#define cadre_templates_add_dir(where, dir, reload)                                                \
    cadre_module_templates_dir(cadre_module_of(where), (dir), (reload))

/**
 * Makes the compiled set t the app's templates (replacing a set given before); the app frees t,
 * also when this fails (CADRE_ENOMEM): do not free it yourself. When the app has no other
 * templates, it renders from t as it is (reloading it if it was loaded with reload). Beside
 * templates added with cadre_templates_add / cadre_templates_add_dir, t is the topmost layer: its
 * templates join the union last, replacing every module's of the same name, the app's own
 * module's included (they are compiled again from their sources; a reload of t recompiles the
 * union). Returns 0 or CADRE_ENOMEM.
 */
int cadre_templates_use(cadre_app *app, cadre_templates *t);

/* ---------------------------------------------------------------------------------------------
 * Context processors: names every cadre_render sees
 * ------------------------------------------------------------------------------------------- */

/** What a context processor adds names to (lives for one render). */
typedef struct cadre_tctx_builder cadre_tctx_builder;

/**
 * A context processor: run by cadre_render before each render, it adds names with
 * cadre_tctx_add (the user, a CSRF token, the site's name). It returns 0, or a negative CADRE_E*
 * that cadre_render returns (the render does not happen). It must not block for long: it runs on
 * the worker, as the handler does.
 */
typedef int (*cadre_context_processor)(cadre_request *r, cadre_tctx_builder *b, void *ctx);

/**
 * Adds name = value to the render's names. The handler's context wins over every processor's
 * name of the same name, and a later add (by the same or a later processor) replaces an earlier
 * one — Django's order. name is not copied: a string literal, or text in the request's arena.
 * value is copied into the request's arena together with what a map (CADRE_TMAP) or list of
 * values holds and a form's descriptor (CADRE_TFORM), so literals built in the processor are
 * fine (up to 32 levels of nesting), and so is the cadre_rows of a CADRE_TROWS (a local of
 * the processor; its related rows are reached still); what the values point to — text,
 * structs, the rows' items — is not copied and must live as long as the request. Never allocates on the heap: the request's arena
 * only.
 */
void cadre_tctx_add(cadre_tctx_builder *b, const char *name, cadre_tvalue value);

/**
 * Registers fn (with its ctx) as a context processor of the app; processors run in registration
 * order, for every cadre_render (not for cadre_template_render, which has no request). Returns
 * 0, CADRE_EINVAL (fn NULL) or CADRE_ENOMEM.
 */
int cadre_templates_processor(cadre_app *app, cadre_context_processor fn, void *ctx);

/**
 * A context processor (ctx unused) that adds `request`, a map: request.path (the path as sent,
 * still percent-encoded), request.method, request.route (the matched route's pattern, as
 * "/items/{id}", or none) and request.query (the query string as sent, without '?'; empty when
 * there is none). Switch it on with cadre_templates_processor(app, cadre_context_request, NULL).
 */
int cadre_context_request(cadre_request *r, cadre_tctx_builder *b, void *ctx);

/**
 * Renders template name of the app's templates as the response, with the names of ctx and then
 * those of the context processors: Content-Type text/html; charset=utf-8 (text/plain for *.txt,
 * application/xml for *.xml), the body in the request arena. Compiles the app's templates first
 * if the app was not started with cadre_app_serve. Returns status; a template that does not
 * exist, an app without templates, or templates that did not compile (configuration errors) is a
 * bug: logged, CADRE_ESTATE, which a handler returns as it is (a 500); a processor's error;
 * otherwise cadre_template_render's errors (CADRE_ETOOBIG, CADRE_ENOMEM).
 */
int cadre_render(cadre_request *r, int status, const char *name, cadre_tctx ctx);

/**
 * As cadre_render, with the first of names[0..n) that the app's templates have (Django's
 * select_template): the most specific first, so that an app overrides a page for one model only
 * — {"admin/shop/product/change_list.html", "admin/shop/change_list.html",
 * "admin/change_list.html"}. None of them: logged, CADRE_ESTATE.
 */
int cadre_render_first(cadre_request *r, int status, const char *const *names, size_t n,
                       cadre_tctx ctx);

/* ---------------------------------------------------------------------------------------------
 * Form pages: an HTML form as first-class as a JSON body
 * ------------------------------------------------------------------------------------------- */

/** What a form page is made of; see CADRE_FORM_PAGE. */
typedef struct cadre_form_page_spec {
    const cadre_schema *schema;
    const char *template_name; /**< rendered with `form` (and the context processors' names) */
    /** The valid form, decoded into a struct of the schema: 0 (nothing added to errs, nothing
     *  answered) sends the browser on with a 303 (Post/Redirect/Get); errors added to errs show
     *  the form again with them beside their fields (422); a response of its own (cadre_redirect
     *  to the new row's page) is kept; a negative CADRE_E* is an error (503 for a database that
     *  is down, ...). NULL: the struct is inserted into db as a row of the model, and a unique
     *  value taken or a foreign key naming no row is said beside its field. */
    int (*save)(cadre_request *r, void *obj, cadre_verrors *errs);
    /** "name,price": the fields the form shows and takes, comma-separated (Django's ModelForm
     *  fields); the others are never taken from the request: they keep their defaults, or
     *  what save sets. NULL: every field a form can show. An unknown name is a configuration
     *  error. */
    const char *fields;
    struct cadre_db *db;      /**< foreign keys' choices; where save = NULL inserts */
    /** More names for the page (the post a comment form belongs to, its comments), added with
     *  cadre_tctx_add before each render of the form; a negative CADRE_E* is answered instead
     *  (CADRE_ENOTFOUND: 404). `form` is the form page's own. */
    int (*context)(cadre_request *r, struct cadre_tctx_builder *b);
    const char *success;      /**< where the 303 goes (NULL: the form's own path, empty again) */
    const char *name;         /**< the route's name, for cadre_url_for */
    const cadre_guard *guards; /**< CADRE_GUARDS(...) (CSRF and login checks come with auth) */
    const char *file;
    int line;
} cadre_form_page_spec;

int cadre__form_page(cadre_app *app, const char *path, const cadre_form_page_spec *spec);

/**
 * Answers a form's foreign-key search (GET ...?field=F&q=TEXT, what the input of a foreign key
 * with too many rows for a select asks as the user types: cadre_tform.search): the rows of F's
 * model whose label (their first text field) holds TEXT, ignoring case, by label, the first 20,
 * as [{"value": id, "label": "text"}] — only rows the user may view (its view permission and
 * filter hook). F must be a foreign key of s among only's fields (0: any); else 404. Returns the
 * status, or a negative CADRE_E*.
 */
int cadre_form_choices(cadre_request *r, struct cadre_db *db, const cadre_schema *s, uint64_t only);

/**
 * Reads a form's body — application/x-www-form-urlencoded or multipart/form-data (its files
 * streamed to disk, deleted after the request unless moved) — into obj, a struct of s (zeroed
 * first), as a form page does: with only (a bit per field index; 0: every field) the other
 * fields are never taken from the request and keep their defaults (no mass assignment), and
 * only the shown fields' errors go into errs. Returns 0 (errs may hold the form's errors), the
 * status of an answer it set (415 for another media type; 413 or 400 for a body it refused), or
 * a negative CADRE_E*.
 */
int cadre_form_read(cadre_request *r, const cadre_schema *s, uint64_t only, void *obj,
                    cadre_verrors *errs);

/**
 * As cadre_form_read, from application/x-www-form-urlencoded text given rather than the request's
 * body: one of several forms that share a page (the admin's inline rows, their prefixes taken
 * off). Returns 0 (errs may hold its errors) or a negative CADRE_E*.
 */
int cadre_form_read_urlencoded(cadre_request *r, const cadre_schema *s, uint64_t only,
                               cadre_slice text, void *obj, cadre_verrors *errs);

/**
 * A form page at path: GET shows the form of SCHEMA's fields in template_name (`{{ form }}`, or
 * a layout of its own from form.fields: see CADRE_TFORM); POST takes the form
 * (application/x-www-form-urlencoded or multipart/form-data), validates it with the schema, and
 * either shows it again with the errors beside the fields (422, what was typed kept) or calls
 * save, then redirects (303). The first argument after the template is save: NULL or
 * `int save(cadre_request *r, SCHEMA *obj, cadre_verrors *errs)`, checked by the compiler;
 * options follow, as cadre_form_page_spec's:
 *
 *     CADRE_FORM_PAGE(app, "/posts/new", post, "post_form.html", NULL, .db = db,
 *                     .fields = "title,body,author_id", .success = "/");
 *
 * Django's CreateView with a ModelForm, in one declaration. Returns 0, or a configuration error
 * (the app then does not serve).
 */
#define CADRE_FORM_PAGE(app, path, SCHEMA, template_name_, ...)                                    \
    ((void)sizeof(struct {                                                                         \
         _Static_assert(_Generic((CADRE__FIRST(__VA_ARGS__, )),                                    \
                                 int (*)(cadre_request *, SCHEMA *, cadre_verrors *): 1,           \
                                 void *: 1, default: 0),                                           \
                        "CADRE_FORM_PAGE: " CADRE__STR(CADRE__FIRST(__VA_ARGS__, ))                \
                        " must be int save(cadre_request *, " #SCHEMA " *, cadre_verrors *), "     \
                        "or NULL");                                                                \
         int cadre__checked;                                                                       \
     }),                                                                                           \
     cadre__form_page((app), (path),                                                               \
                      &(cadre_form_page_spec){                                                     \
                          .schema = SCHEMA##__schema(),                                            \
                          .template_name = (template_name_),                                       \
                          .save = (int (*)(cadre_request *, void *, cadre_verrors *))(void (*)(    \
                              void))(CADRE__FIRST(__VA_ARGS__, )),                                 \
                          .file = __FILE__,                                                        \
                          .line = __LINE__,                                                        \
                          CADRE__REST(__VA_ARGS__, ) }))

#ifdef __cplusplus
}
#endif
#endif
