/* The OpenAPI document and the docs pages, through the public API and the test client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cadre.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ITEM_FIELDS(F)                                                                             \
    F(string, name, CADRE_MAX_LEN(10))                                                             \
    F(double, price, CADRE_GT(0))
CADRE_SCHEMA(Item, ITEM_FIELDS)

#define Q_FIELDS(F)                                                                                \
    F(int64, item_id)                                                                              \
    F(int32, limit, CADRE_DEFAULT(10), CADRE_LE(100))                                              \
    F(string, x_token, CADRE_IN_HEADER)                                                            \
    F(string, session, CADRE_IN_COOKIE, CADRE_OPTIONAL)
CADRE_SCHEMA(Q, Q_FIELDS)

static int create_item(cadre_request *r, const cadre_none *p, const Item *in, Item *out)
{
    (void)r, (void)p;
    *out = *in;
    return 201;
}

static int read_item(cadre_request *r, const Q *p, const cadre_none *in, Item *out)
{
    (void)r, (void)p, (void)in, (void)out;
    return 200;
}

static int plain(cadre_request *r)
{
    return cadre_text(r, 200, "plain");
}

static cadre_app *make_app(void)
{
    cadre_app *app = cadre_app_new("Shop <&>");
    CADRE_ROUTE(app, POST, "/items", create_item, cadre_none, Item, Item, .status = 201,
                .tags = "items, writes", .summary = "Create an item", .description = "Adds one.");
    CADRE_ROUTE(app, GET, "/items/{item_id}", read_item, Q, cadre_none, Item, .deprecated = true,
                .operation_id = "getItem");
    cadre_get(app, "/plain", plain, .in_schema = true);
    cadre_get(app, "/page", plain); /* a plain route not asked in: left out */
    assert_int_equal(cadre_app_check(app), 0);
    return app;
}

static char *document(cadre_app *app)
{
    cadre_buf b;
    cadre_buf_init(&b, 1 << 20);
    assert_int_equal(cadre_app_openapi(app, &b), 0);
    assert_int_equal(cadre_buf_append(&b, "", 1), 0);
    return b.data;
}

#define HAS(doc, frag)                                                                             \
    do {                                                                                           \
        if (!strstr((doc), (frag)))                                                                \
            fail_msg("missing from the document: %s\n%s", (frag), (doc));                         \
    } while (0)

static void test_document(void **state)
{
    (void)state;
    cadre_app *app = make_app();
    char *doc = document(app);
    assert_int_equal(cadre_json_validate(doc, strlen(doc), 0, NULL, NULL), 0);
    HAS(doc, "{\"openapi\":\"3.1.0\",\"info\":{\"title\":\"Shop <&>\",\"version\":\"0.1.0\"}");
    HAS(doc, "\"/items\":{\"post\":{\"tags\":[\"items\",\"writes\"],\"summary\":\"Create an item\","
             "\"description\":\"Adds one.\",\"operationId\":\"create_item_items_post\","
             "\"requestBody\":{\"content\":{\"application/json\":{\"schema\":{\"$ref\":"
             "\"#/components/schemas/Item\"}}},\"required\":true},"
             "\"responses\":{\"201\":{\"description\":\"Successful Response\",\"content\":{"
             "\"application/json\":{\"schema\":{\"$ref\":\"#/components/schemas/Item\"}}}},"
             "\"422\":{\"description\":\"Validation Error\",\"content\":{\"application/json\":{"
             "\"schema\":{\"$ref\":\"#/components/schemas/HTTPValidationError\"}}}}}}}");
    HAS(doc, "\"operationId\":\"getItem\",\"deprecated\":true,\"parameters\":[");
    HAS(doc, "{\"name\":\"item_id\",\"in\":\"path\",\"required\":true,\"schema\":{\"type\":"
             "\"integer\",\"format\":\"int64\",\"title\":\"Item Id\"}}");
    HAS(doc, "{\"name\":\"limit\",\"in\":\"query\",\"required\":false,\"schema\":{\"type\":"
             "\"integer\",\"format\":\"int32\",\"maximum\":100,\"title\":\"Limit\",\"default\":10}}");
    HAS(doc, "{\"name\":\"x-token\",\"in\":\"header\",\"required\":true");
    HAS(doc, "{\"name\":\"session\",\"in\":\"cookie\",\"required\":false");
    /* a plain route: its handler's name in the operation id, no body, no 422 */
    HAS(doc, "\"/plain\":{\"get\":{\"operationId\":\"plain_plain_get\",\"responses\":{\"200\":{"
             "\"description\":\"Successful Response\"}}}}");
    assert_null(strstr(doc, "\"/page\""));
    HAS(doc, "\"components\":{\"schemas\":{\"Item\":{\"type\":\"object\",\"title\":\"Item\"");
    HAS(doc, "\"HTTPValidationError\":{");
    HAS(doc, "\"ValidationError\":{");
    /* the framework's own routes stay out of the document */
    assert_null(strstr(doc, "/openapi.json"));
    assert_null(strstr(doc, "\"/docs"));
    assert_null(strstr(doc, "/redoc"));

    /* GET /openapi.json serves the same text */
    cadre_test_response res;
    assert_int_equal(cadre_test_request(app, "GET", "/openapi.json", NULL, NULL, 0, &res), 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(cadre_test_header(&res, "Content-Type"), "application/json");
    assert_string_equal(res.body, doc);
    cadre_test_response_free(&res);
    free(doc);
    cadre_app_free(app);
}

static void test_docs_pages(void **state)
{
    (void)state;
    cadre_app *app = make_app();
    cadre_test_response res;
    assert_int_equal(cadre_test_request(app, "GET", "/docs", NULL, NULL, 0, &res), 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(cadre_test_header(&res, "Content-Type"), "text/html; charset=utf-8");
    assert_non_null(strstr(res.body, "<title>Shop &lt;&amp;&gt; - Swagger UI</title>"));
    assert_non_null(strstr(res.body, "url: '/openapi.json'"));
    assert_non_null(strstr(res.body, "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js"));
    cadre_test_response_free(&res);
    assert_int_equal(cadre_test_request(app, "GET", "/redoc", NULL, NULL, 0, &res), 0);
    assert_non_null(strstr(res.body, "<redoc spec-url=\"/openapi.json\"></redoc>"));
    /* when its script cannot load, the page says what to do (docs-browser.mjs sees it shown) */
    assert_non_null(strstr(res.body, "<div id=\"cadre-docs-failed\" hidden"));
    assert_non_null(strstr(res.body, "onerror=\"document.getElementById('cadre-docs-failed')"));
    cadre_test_response_free(&res);
    /* without a local directory there are no local assets */
    assert_int_equal(cadre_test_request(app, "GET", "/docs/assets/swagger-ui.css", NULL, NULL, 0, &res), 0);
    assert_int_equal(res.status, 404);
    cadre_test_response_free(&res);

    /* a local directory laid out as npm installs it */
    char dir[] = "/tmp/cadre-docs-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[512];
    snprintf(path, sizeof path, "%s/swagger-ui-dist", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof path, "%s/swagger-ui-dist/swagger-ui.css", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("body{}", f);
    fclose(f);
    /* a directory that lacks one of the files is refused (the CDN stays), naming the file */
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    assert_int_equal(cadre_app_docs_assets(app, dir), CADRE_ENOTFOUND);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    assert_int_equal(cadre_test_request(app, "GET", "/docs", NULL, NULL, 0, &res), 0);
    assert_non_null(strstr(res.body, "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css"));
    cadre_test_response_free(&res);
    char js[512], redoc_dir[512], redoc_js[512];
    snprintf(js, sizeof js, "%s/swagger-ui-dist/swagger-ui-bundle.js", dir);
    snprintf(redoc_dir, sizeof redoc_dir, "%s/redoc", dir);
    snprintf(redoc_js, sizeof redoc_js, "%s/redoc/bundles/redoc.standalone.js", dir);
    assert_int_equal(mkdir(redoc_dir, 0700), 0);
    snprintf(redoc_dir, sizeof redoc_dir, "%s/redoc/bundles", dir);
    assert_int_equal(mkdir(redoc_dir, 0700), 0);
    for (int i = 0; i < 2; i++) {
        FILE *g = fopen(i ? redoc_js : js, "w");
        assert_non_null(g);
        fclose(g);
    }
    assert_int_equal(cadre_app_docs_assets(app, dir), 0);
    remove(redoc_js); /* gone after the start: 404 below, with the reason logged */
    assert_int_equal(cadre_test_request(app, "GET", "/docs", NULL, NULL, 0, &res), 0);
    assert_non_null(strstr(res.body, "href=\"/docs/assets/swagger-ui.css\""));
    assert_null(strstr(res.body, "cdn.jsdelivr"));
    cadre_test_response_free(&res);
    assert_int_equal(cadre_test_request(app, "GET", "/docs/assets/swagger-ui.css", NULL, NULL, 0, &res), 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.body, "body{}");
    assert_string_equal(cadre_test_header(&res, "Content-Type"), "text/css; charset=utf-8");
    cadre_test_response_free(&res);
    /* only the known files: nothing else under the directory, no traversal */
    static const char *const refused[] = { "/docs/assets/..%2F..%2Fetc%2Fpasswd",
                                           "/docs/assets/swagger-ui-dist",
                                           "/docs/assets/redoc.standalone.js" /* absent file */ };
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(cadre_test_request(app, "GET", refused[i], NULL, NULL, 0, &res), 0);
        assert_int_equal(res.status, 404);
        cadre_test_response_free(&res);
    }
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    remove(path);
    remove(js);
    rmdir(redoc_dir);
    snprintf(redoc_dir, sizeof redoc_dir, "%s/redoc", dir);
    rmdir(redoc_dir);
    snprintf(path, sizeof path, "%s/swagger-ui-dist", dir);
    rmdir(path);
    rmdir(dir);
    cadre_app_free(app);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_document),
        cmocka_unit_test(test_docs_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
