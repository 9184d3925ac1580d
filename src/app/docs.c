/*
 * The interactive documentation pages: /docs (Swagger UI) and /redoc (ReDoc), both reading
 * /openapi.json. Their JavaScript and CSS come from a CDN by default, as FastAPI's do, or from a
 * local directory laid out as npm installs them (node_modules: swagger-ui-dist/, redoc/), which
 * the app then serves itself under /docs/assets/ — for machines without internet. Only the three
 * known files are served from that directory, read once, so no path from a request ever reaches
 * the file system.
 */
#include "app_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CDN "https://cdn.jsdelivr.net/npm/"

static const struct asset {
    const char *name;  /* under /docs/assets/ */
    const char *local; /* under the local directory */
    const char *cdn;   /* under CDN */
    const char *type;
} assets[] = {
    { "swagger-ui-bundle.js", "swagger-ui-dist/swagger-ui-bundle.js",
      "swagger-ui-dist@5/swagger-ui-bundle.js", "text/javascript; charset=utf-8" },
    { "swagger-ui.css", "swagger-ui-dist/swagger-ui.css", "swagger-ui-dist@5/swagger-ui.css",
      "text/css; charset=utf-8" },
    { "redoc.standalone.js", "redoc/bundles/redoc.standalone.js",
      "redoc@2/bundles/redoc.standalone.js", "text/javascript; charset=utf-8" },
};
#define NASSETS (sizeof assets / sizeof assets[0])

/* The URL of asset i as the pages should load it. */
static void asset_url(const cadre_app *app, size_t i, char *out, size_t n)
{
    if (app->docs_dir)
        snprintf(out, n, "/docs/assets/%s", assets[i].name);
    else
        snprintf(out, n, "%s%s", CDN, assets[i].cdn);
}

/* The app's name, HTML-escaped, into out. */
static void escaped_title(const cadre_app *app, char *out, size_t n)
{
    size_t o = 0;
    for (const char *p = app->name; *p && o + 7 < n; p++) {
        const char *e = NULL;
        switch (*p) {
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '&': e = "&amp;"; break;
        case '"': e = "&quot;"; break;
        case '\'': e = "&#39;"; break;
        default: break;
        }
        if (e) {
            size_t l = strlen(e);
            memcpy(out + o, e, l);
            o += l;
        } else {
            out[o++] = *p;
        }
    }
    out[o] = '\0';
}

/* What the page shows when its script cannot load (no internet, a CDN blocked, a local file the
 * app cannot read) or scripts are off, in place of a blank page: what failed and what to do. The
 * script tag's onerror shows it. */
static const char *failure_help(cadre_request *r, const char *what, const char *url)
{
    cadre_app *app = cadre_request_app(r);
    const char *fix =
        app->docs_dir
            ? "The app serves it from its <code>--docs-assets</code> directory: its log says why "
              "it could not read it."
            : "To serve it from this machine instead, install npm's <code>swagger-ui-dist</code> "
              "and <code>redoc</code> packages (<code>npm install swagger-ui-dist redoc</code>) "
              "and start the app with <code>--docs-assets node_modules</code> (or "
              "<code>CADRE_DOCS_ASSETS=node_modules</code>).";
    return cadre_arena_printf(
        r->arena,
        "<div id=\"cadre-docs-failed\" hidden style=\"font: 16px/1.5 system-ui, sans-serif; "
        "max-width: 44em; margin: 3em auto; padding: 0 1em\">\n"
        "<h1>The API documentation could not load</h1>\n"
        "<p>This page needs %s's script, <code>%s</code>, and it did not load (is this machine "
        "offline?).</p>\n<p>%s</p>\n"
        "<p>The OpenAPI document itself is at <a href=\"/openapi.json\">/openapi.json</a>.</p>\n"
        "</div>\n<noscript><p>This page needs JavaScript. The OpenAPI document is at "
        "<a href=\"/openapi.json\">/openapi.json</a>.</p></noscript>\n",
        what, url, fix);
}

#define SHOW_FAILURE "onerror=\"document.getElementById('cadre-docs-failed').hidden = false\""

static int swagger_ui(cadre_request *r)
{
    cadre_app *app = cadre_request_app(r);
    char title[512], js[512], css[512];
    escaped_title(app, title, sizeof title);
    asset_url(app, 0, js, sizeof js);
    asset_url(app, 1, css, sizeof css);
    char *html = cadre_arena_printf(
        r->arena,
        "<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
        "<link type=\"text/css\" rel=\"stylesheet\" href=\"%s\">\n"
        "<title>%s - Swagger UI</title>\n</head>\n<body>\n%s<div id=\"swagger-ui\"></div>\n"
        "<script src=\"%s\" " SHOW_FAILURE "></script>\n<script>\n"
        "if (window.SwaggerUIBundle) {\n"
        "const ui = SwaggerUIBundle({url: '/openapi.json', dom_id: '#swagger-ui', "
        "layout: 'BaseLayout', deepLinking: true, showExtensions: true, "
        "showCommonExtensions: true, presets: [SwaggerUIBundle.presets.apis, "
        "SwaggerUIBundle.SwaggerUIStandalonePreset]});\n}\n</script>\n</body>\n</html>\n",
        css, title, failure_help(r, "Swagger UI", js), js);
    return cadre_respond_ref(r, 200, "text/html; charset=utf-8", html, strlen(html));
}

static int redoc(cadre_request *r)
{
    cadre_app *app = cadre_request_app(r);
    char title[512], js[512];
    escaped_title(app, title, sizeof title);
    asset_url(app, 2, js, sizeof js);
    char *html = cadre_arena_printf(
        r->arena,
        "<!DOCTYPE html>\n<html>\n<head>\n<title>%s - ReDoc</title>\n<meta charset=\"utf-8\"/>\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<style>body { margin: 0; padding: 0; }</style>\n</head>\n<body>\n"
        "%s<redoc spec-url=\"/openapi.json\"></redoc>\n<script src=\"%s\" " SHOW_FAILURE
        "></script>\n</body>\n</html>\n",
        title, failure_help(r, "ReDoc", js), js);
    return cadre_respond_ref(r, 200, "text/html; charset=utf-8", html, strlen(html));
}

/* Reads a whole file into malloc'd memory. Returns 0 or CADRE_E*. */
static int slurp(const char *path, cadre_buf *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return CADRE_ENOTFOUND;
    int rc = 0;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if ((rc = cadre_buf_append(out, chunk, n)) != 0)
            break;
    if (rc == 0 && ferror(f))
        rc = CADRE_EIO;
    fclose(f);
    return rc;
}

static int docs_asset(cadre_request *r)
{
    cadre_app *app = cadre_request_app(r);
    cadre_slice name = cadre_request_param(r, "name");
    if (!app->docs_dir)
        return cadre_error(r, 404, "Not Found");
    for (size_t i = 0; i < NASSETS; i++) {
        if (!cadre_slice_eq_cstr(name, assets[i].name))
            continue;
        pthread_mutex_lock(&app->openapi_lock);
        cadre_buf *b = &app->docs_cache[i];
        int rc = 0;
        if (!b->data) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", app->docs_dir, assets[i].local);
            cadre_buf_init(b, (size_t)64 << 20);
            rc = slurp(path, b);
            if (rc) {
                cadre_log(CADRE_LOG_ERROR, "docs assets: cannot read %s: %s", path, cadre_strerror(rc));
                cadre_buf_free(b);
            }
        }
        pthread_mutex_unlock(&app->openapi_lock);
        if (rc)
            return cadre_error(r, 404, "Not Found");
        cadre_set_header(r, "Cache-Control", "public, max-age=86400");
        return cadre_respond_ref(r, 200, assets[i].type, b->data, b->len);
    }
    return cadre_error(r, 404, "Not Found");
}

int cadre_app_docs_assets(cadre_app *app, const char *dir)
{
    free(app->docs_dir);
    app->docs_dir = NULL;
    for (size_t i = 0; i < NASSETS; i++)
        cadre_buf_free(&app->docs_cache[i]);
    if (!dir || !*dir)
        return 0;
    for (size_t i = 0; i < NASSETS; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, assets[i].local);
        if (access(path, R_OK) != 0) {
            cadre_log(CADRE_LOG_ERROR, "docs assets: %s has no %s (%s): it should be a "
                                       "node_modules directory holding npm's swagger-ui-dist and "
                                       "redoc (npm install swagger-ui-dist redoc)",
                      dir, assets[i].local, strerror(errno));
            return CADRE_ENOTFOUND;
        }
    }
    app->docs_dir = strdup(dir);
    return app->docs_dir ? 0 : CADRE_ENOMEM;
}

void cadre__docs_install(cadre_app *app)
{
    for (size_t i = 0; i < NASSETS; i++)
        cadre_buf_init(&app->docs_cache[i], 0);
    if (cadre_route(app, "GET", "/docs", swagger_ui) == 0)
        app->routes[app->nroutes - 1].hidden = true;
    if (cadre_route(app, "GET", "/redoc", redoc) == 0)
        app->routes[app->nroutes - 1].hidden = true;
    if (cadre_route(app, "GET", "/docs/assets/{name}", docs_asset) == 0)
        app->routes[app->nroutes - 1].hidden = true;
}

void cadre__docs_free(cadre_app *app)
{
    cadre_app_docs_assets(app, NULL);
}
