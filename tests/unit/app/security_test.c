/* Security headers (on by default, configurable, a handler's own winning) and CORS (preflights,
 * simple requests, credentials, refusals, start-up checks), through the test client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cadre.h>

#include <string.h>

static cadre_test_response res;

static int hello(cadre_request *r)
{
    return cadre_text(r, 200, "hello");
}

/* A page that may be framed by the site's own pages: its header wins over the default. */
static int framed(cadre_request *r)
{
    cadre_set_header(r, "X-Frame-Options", "SAMEORIGIN");
    return cadre_json_text(r, 200, "{}", 2);
}

static void get(cadre_app *app, const char *method, const char *target, const char *headers)
{
    cadre_test_response_free(&res);
    assert_int_equal(cadre_test_request(app, method, target, headers, NULL, 0, &res), 0);
}

/* How many times the response has header name (the test client keeps them all). */
static int count_header(const char *name)
{
    int n = 0;
    for (size_t i = 0; i < res.num_headers; i++)
        n += cadre_slice_ieq_cstr(res.headers[i].name, name);
    return n;
}

static void test_default_headers(void **state)
{
    (void)state;
    cadre_app *app = cadre_app_new("sec");
    cadre_get(app, "/", hello);
    cadre_get(app, "/framed", framed);
    get(app, "GET", "/", NULL);
    assert_int_equal(res.status, 200);
    assert_string_equal(cadre_test_header(&res, "X-Content-Type-Options"), "nosniff");
    assert_string_equal(cadre_test_header(&res, "Referrer-Policy"), "same-origin");
    assert_string_equal(cadre_test_header(&res, "X-Frame-Options"), "DENY");
    assert_string_equal(cadre_test_header(&res, "Cross-Origin-Opener-Policy"), "same-origin");
    assert_null(cadre_test_header(&res, "Strict-Transport-Security"));
    /* the handler's own wins; JSON's nosniff is said once */
    get(app, "GET", "/framed", NULL);
    assert_string_equal(cadre_test_header(&res, "X-Frame-Options"), "SAMEORIGIN");
    assert_int_equal(count_header("X-Frame-Options"), 1);
    assert_int_equal(count_header("X-Content-Type-Options"), 1);
    /* errors carry them too */
    get(app, "GET", "/missing", NULL);
    assert_int_equal(res.status, 404);
    assert_string_equal(cadre_test_header(&res, "X-Frame-Options"), "DENY");

    /* replaced: HSTS on, one left out, one changed */
    assert_int_equal(cadre_security_headers(app, .hsts_seconds = 31536000, .hsts_subdomains = true,
                                            .opener_policy = "", .frame_options = "SAMEORIGIN"),
                     0);
    get(app, "GET", "/", NULL);
    assert_string_equal(cadre_test_header(&res, "Strict-Transport-Security"),
                        "max-age=31536000; includeSubDomains");
    assert_null(cadre_test_header(&res, "Cross-Origin-Opener-Policy"));
    assert_string_equal(cadre_test_header(&res, "X-Frame-Options"), "SAMEORIGIN");
    assert_string_equal(cadre_test_header(&res, "Referrer-Policy"), "same-origin");
    /* off */
    assert_int_equal(cadre_security_headers(app, .off = true), 0);
    get(app, "GET", "/", NULL);
    assert_null(cadre_test_header(&res, "X-Frame-Options"));
    assert_null(cadre_test_header(&res, "X-Content-Type-Options"));
    assert_int_equal(cadre_security_headers(app, .referrer_policy = "a\nb"), CADRE_EINVAL);
    cadre_app_free(app);
}

static void test_cors(void **state)
{
    (void)state;
    cadre_app *app = cadre_app_new("cors");
    assert_int_equal(cadre_cors(app, .origins = "https://app.example.com, http://localhost:5173",
                                .credentials = true, .expose_headers = "X-Total"),
                     0);
    cadre_get(app, "/", hello);
    cadre_post(app, "/", hello);

    /* a preflight from an allowed origin */
    get(app, "OPTIONS", "/",
        "Origin: https://app.example.com\r\nAccess-Control-Request-Method: POST\r\n"
        "Access-Control-Request-Headers: content-type, x-csrftoken\r\n");
    assert_int_equal(res.status, 204);
    assert_string_equal(cadre_test_header(&res, "Access-Control-Allow-Origin"),
                        "https://app.example.com");
    assert_string_equal(cadre_test_header(&res, "Access-Control-Allow-Credentials"), "true");
    assert_non_null(strstr(cadre_test_header(&res, "Access-Control-Allow-Methods"), "POST"));
    assert_non_null(strstr(cadre_test_header(&res, "Access-Control-Allow-Headers"), "X-CSRFToken"));
    assert_string_equal(cadre_test_header(&res, "Access-Control-Max-Age"), "600");
    assert_string_equal(cadre_test_header(&res, "Vary"), "Origin");
    /* refused: another origin, a method or a header not allowed */
    get(app, "OPTIONS", "/",
        "Origin: https://evil.example\r\nAccess-Control-Request-Method: POST\r\n");
    assert_int_equal(res.status, 400);
    assert_non_null(strstr(res.body, "Disallowed CORS origin"));
    assert_null(cadre_test_header(&res, "Access-Control-Allow-Origin"));
    get(app, "OPTIONS", "/",
        "Origin: https://app.example.com\r\nAccess-Control-Request-Method: TRACE\r\n");
    assert_int_equal(res.status, 400);
    assert_non_null(strstr(res.body, "method"));
    get(app, "OPTIONS", "/",
        "Origin: https://app.example.com\r\nAccess-Control-Request-Method: GET\r\n"
        "Access-Control-Request-Headers: x-secret\r\n");
    assert_int_equal(res.status, 400);
    assert_non_null(strstr(res.body, "headers"));
    /* an origin differing in case of its host is the same origin; in scheme or port it is not */
    get(app, "OPTIONS", "/",
        "Origin: http://localhost:5174\r\nAccess-Control-Request-Method: GET\r\n");
    assert_int_equal(res.status, 400);

    /* the request itself */
    get(app, "GET", "/", "Origin: http://localhost:5173\r\n");
    assert_int_equal(res.status, 200);
    assert_string_equal(cadre_test_header(&res, "Access-Control-Allow-Origin"),
                        "http://localhost:5173");
    assert_string_equal(cadre_test_header(&res, "Access-Control-Expose-Headers"), "X-Total");
    get(app, "GET", "/", "Origin: https://evil.example\r\n");
    assert_int_equal(res.status, 200); /* served: the browser withholds it from the page */
    assert_null(cadre_test_header(&res, "Access-Control-Allow-Origin"));
    assert_string_equal(cadre_test_header(&res, "Vary"), "Origin");
    get(app, "GET", "/", NULL); /* same-origin or no browser: untouched */
    assert_null(cadre_test_header(&res, "Access-Control-Allow-Origin"));
    /* an OPTIONS without Access-Control-Request-Method is no preflight: the router's answer
     * (Allow), with the request's CORS headers only */
    get(app, "OPTIONS", "/", "Origin: https://app.example.com\r\n");
    assert_non_null(cadre_test_header(&res, "Allow"));
    assert_null(cadre_test_header(&res, "Access-Control-Allow-Methods"));
    assert_string_equal(cadre_test_header(&res, "Access-Control-Allow-Origin"),
                        "https://app.example.com");
    cadre_app_free(app);

    /* any origin, without credentials: "*" */
    app = cadre_app_new("any");
    assert_int_equal(cadre_cors(app, .origins = "*", .max_age = 86400), 0);
    cadre_get(app, "/", hello);
    get(app, "GET", "/", "Origin: https://anyone.example\r\n");
    assert_string_equal(cadre_test_header(&res, "Access-Control-Allow-Origin"), "*");
    assert_null(cadre_test_header(&res, "Access-Control-Allow-Credentials"));
    assert_null(cadre_test_header(&res, "Vary"));
    get(app, "OPTIONS", "/", "Origin: https://anyone.example\r\nAccess-Control-Request-Method: GET\r\n");
    assert_string_equal(cadre_test_header(&res, "Access-Control-Max-Age"), "86400");
    cadre_app_free(app);

    /* refused at start-up */
    app = cadre_app_new("bad");
    assert_int_equal(cadre_cors(app, .origins = "*", .credentials = true), CADRE_EINVAL);
    assert_int_equal(cadre_cors(app, .origins = ""), CADRE_EINVAL);
    assert_int_equal(cadre_cors(app, .origins = "app.example.com"), CADRE_EINVAL);
    assert_int_equal(cadre_cors(app, .origins = "https://app.example.com/path"), CADRE_EINVAL);
    assert_int_equal(cadre_cors(app, .origins = "https://*.example.com"), CADRE_EINVAL);
    assert_int_equal(cadre_app_check(app), 5);
    cadre_app_free(app);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_headers),
        cmocka_unit_test(test_cors),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    cadre_test_response_free(&res);
    return rc;
}
