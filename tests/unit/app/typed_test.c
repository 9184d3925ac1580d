/*
 * Typed routes (CADRE_ROUTE): parameters from the path, query, headers and cookies, a JSON body
 * and a response struct, through the in-process test client. Every 422 below is the body FastAPI
 * 0.100+ (Pydantic 2) answers for the same request.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cadre.h>

#include <stdio.h>
#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Schemas
 * ------------------------------------------------------------------------------------------- */

#define ITEM_FIELDS(F)                                                                             \
    F(string, name, CADRE_MIN_LEN(1), CADRE_MAX_LEN(100))                                          \
    F(double, price, CADRE_GT(0))                                                                  \
    F(strings, tags, CADRE_MAX_ITEMS(10), CADRE_DEFAULT_EMPTY)                                     \
    F(bool, in_stock, CADRE_DEFAULT(true))
CADRE_SCHEMA(Item, ITEM_FIELDS)

#define ITEM_OUT_FIELDS(F) ITEM_FIELDS(F) F(int64, id)
CADRE_SCHEMA(ItemOut, ITEM_OUT_FIELDS)

#define ITEM_PATH(F) F(int64, item_id)
CADRE_SCHEMA(ItemPath, ITEM_PATH)

#define ITEM_ID(F) F(int64, id)
CADRE_SCHEMA(ItemId, ITEM_ID)

/* Parameters from everywhere: item_id from the path (named in the pattern), the rest from the
 * query (CADRE_IN_AUTO), a header and a cookie. */
#define SEARCH_FIELDS(F)                                                                           \
    F(int64, item_id)                                                                              \
    F(string, q, CADRE_MIN_LEN(2))                                                                 \
    F(int32, limit, CADRE_GE(1), CADRE_LE(100), CADRE_DEFAULT(10))                                 \
    F(bool, verbose, CADRE_DEFAULT(false))                                                         \
    F(double, ratio, CADRE_OPTIONAL)                                                               \
    F(string, x_token, CADRE_IN_HEADER, CADRE_DEFAULT_STR("none"))                                 \
    F(string, session, CADRE_IN_COOKIE, CADRE_DEFAULT_STR("anon"))
CADRE_SCHEMA(Search, SEARCH_FIELDS)

#define SEARCH_OUT_FIELDS(F)                                                                       \
    F(int64, item_id)                                                                              \
    F(string, q)                                                                                   \
    F(int32, limit)                                                                                \
    F(bool, verbose)                                                                               \
    F(double, ratio, CADRE_OPTIONAL)                                                               \
    F(string, x_token)                                                                             \
    F(string, session)
CADRE_SCHEMA(SearchOut, SEARCH_OUT_FIELDS)

/* Required header and cookie. */
#define AUTH_FIELDS(F)                                                                             \
    F(string, x_token, CADRE_IN_HEADER, CADRE_MIN_LEN(3))                                          \
    F(string, session, CADRE_IN_COOKIE)
CADRE_SCHEMA(Auth, AUTH_FIELDS)

/* Declared out of FastAPI's location order (header, query, path), locations explicit. */
#define MIXED_FIELDS(F)                                                                            \
    F(string, x_token, CADRE_IN_HEADER)                                                            \
    F(int64, limit, CADRE_IN_QUERY)                                                                \
    F(int64, item_id, CADRE_IN_PATH)
CADRE_SCHEMA(Mixed, MIXED_FIELDS)

/* For start-up refusals. */
#define NO_ID_FIELDS(F) F(int64, other)
CADRE_SCHEMA(NoId, NO_ID_FIELDS)
#define PATH_ONLY_FIELDS(F) F(int64, id, CADRE_IN_PATH)
CADRE_SCHEMA(PathOnly, PATH_ONLY_FIELDS)
#define LIST_PARAM_FIELDS(F) F(strings, many)
CADRE_SCHEMA(ListParam, LIST_PARAM_FIELDS)

/* ---------------------------------------------------------------------------------------------
 * Handlers
 * ------------------------------------------------------------------------------------------- */

static int calls; /* handler invocations */

static int create_item(cadre_request *r, const cadre_none *p, const Item *in, ItemOut *out)
{
    (void)r, (void)p;
    calls++;
    out->name = in->name;
    out->price = in->price;
    out->tags = in->tags;
    out->in_stock = in->in_stock;
    out->id = 1;
    return 0; /* the spec's .status (201) */
}

static int update_item(cadre_request *r, const ItemPath *p, const Item *in, ItemOut *out)
{
    (void)r;
    calls++;
    out->name = in->name;
    out->price = in->price;
    out->tags = in->tags;
    out->in_stock = in->in_stock;
    out->id = p->item_id;
    return 200;
}

static int read_item(cadre_request *r, const ItemPath *p, const cadre_none *in, ItemId *out)
{
    (void)r, (void)in;
    calls++;
    out->id = p->item_id;
    return 0; /* the default status: 200 */
}

static int search(cadre_request *r, const Search *p, const cadre_none *in, SearchOut *out)
{
    (void)r, (void)in;
    calls++;
    out->item_id = p->item_id;
    out->q = p->q;
    out->limit = p->limit;
    out->verbose = p->verbose;
    out->ratio = p->ratio;
    out->x_token = p->x_token;
    out->session = p->session;
    /* ratio is optional: written only when it was given (same field index in both schemas) */
    out->cadre_set_ = p->cadre_set_;
    return 0;
}

static int auth(cadre_request *r, const Auth *p, const cadre_none *in, Auth *out)
{
    (void)r, (void)in;
    calls++;
    *out = *p;
    return 0;
}

static int mixed(cadre_request *r, const Mixed *p, const cadre_none *in, ItemId *out)
{
    (void)r, (void)in;
    calls++;
    out->id = p->item_id;
    return 0;
}

static int status_zero(cadre_request *r, const cadre_none *p, const cadre_none *in, ItemId *out)
{
    (void)r, (void)p, (void)in;
    calls++;
    out->id = 7;
    return 0; /* .status = 202 */
}

static int custom(cadre_request *r, const cadre_none *p, const cadre_none *in, ItemId *out)
{
    (void)p, (void)in;
    calls++;
    out->id = 1; /* not sent: the handler's own response wins */
    return cadre_text(r, 200, "custom");
}

static int teapot(cadre_request *r, const cadre_none *p, const cadre_none *in, ItemId *out)
{
    (void)p, (void)in, (void)out;
    calls++;
    return cadre_text(r, 418, "teapot");
}

static int failing(cadre_request *r, const cadre_none *p, const cadre_none *in, ItemId *out)
{
    (void)r, (void)p, (void)in, (void)out;
    calls++;
    return CADRE_EIO;
}

static int no_content(cadre_request *r, const cadre_none *p, const cadre_none *in, ItemId *out)
{
    (void)r, (void)p, (void)in, (void)out;
    calls++;
    return 204;
}

static int no_schema(cadre_request *r, const cadre_none *p, const Item *in, cadre_none *out)
{
    (void)p, (void)out;
    calls++;
    return cadre_text(r, 200, cadre_arena_printf(r->arena, "got %s", in->name.ptr));
}

static int unused(cadre_request *r, const NoId *p, const cadre_none *in, ItemId *out)
{
    (void)r, (void)p, (void)in, (void)out;
    calls++;
    return 0;
}

static int unused_path(cadre_request *r, const PathOnly *p, const cadre_none *in, ItemId *out)
{
    (void)r, (void)p, (void)in, (void)out;
    calls++;
    return 0;
}

static int unused_list(cadre_request *r, const ListParam *p, const cadre_none *in, ItemId *out)
{
    (void)r, (void)p, (void)in, (void)out;
    calls++;
    return 0;
}

/* The routes every test uses. */
static void add_routes(cadre_app *app)
{
    assert_int_equal(CADRE_ROUTE(app, POST, "/items", create_item, cadre_none, Item, ItemOut,
                                 .status = 201, .tags = "items", .summary = "Create an item"),
                     0);
    assert_int_equal(CADRE_ROUTE(app, PUT, "/items/{item_id}", update_item, ItemPath, Item, ItemOut),
                     0);
    assert_int_equal(CADRE_ROUTE(app, GET, "/items/{item_id}", read_item, ItemPath, cadre_none, ItemId),
                     0);
    assert_int_equal(CADRE_ROUTE(app, GET, "/items/{item_id}/search", search, Search, cadre_none,
                                 SearchOut),
                     0);
    assert_int_equal(CADRE_ROUTE(app, GET, "/auth", auth, Auth, cadre_none, Auth), 0);
    assert_int_equal(CADRE_ROUTE(app, GET, "/mixed/{item_id}", mixed, Mixed, cadre_none, ItemId), 0);
    assert_int_equal(CADRE_ROUTE(app, GET, "/accepted", status_zero, cadre_none, cadre_none, ItemId,
                                 .status = 202),
                     0);
    assert_int_equal(CADRE_ROUTE(app, GET, "/custom", custom, cadre_none, cadre_none, ItemId), 0);
    assert_int_equal(CADRE_ROUTE(app, GET, "/teapot", teapot, cadre_none, cadre_none, ItemId), 0);
    assert_int_equal(CADRE_ROUTE(app, GET, "/fail", failing, cadre_none, cadre_none, ItemId), 0);
    assert_int_equal(CADRE_ROUTE(app, DELETE, "/gone", no_content, cadre_none, cadre_none, ItemId), 0);
    assert_int_equal(CADRE_ROUTE(app, POST, "/raw", no_schema, cadre_none, Item, cadre_none), 0);
}

static cadre_app *A;

static int setup(void **state)
{
    (void)state;
    A = cadre_app_new("typed");
    assert_non_null(A);
    add_routes(A);
    assert_int_equal(cadre_app_check(A), 0);
    calls = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cadre_app_free(A);
    A = NULL;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Request helpers
 * ------------------------------------------------------------------------------------------- */

static cadre_test_response res;

static void req(const char *method, const char *target, const char *headers, const char *body)
{
    int rc = cadre_test_request(A, method, target, headers, body, body ? strlen(body) : 0, &res);
    assert_int_equal(rc, 0);
}

static void json_req(const char *method, const char *target, const char *body)
{
    req(method, target, "Content-Type: application/json\r\n", body);
}

/* Asserts status and exact body (reporting the caller's line), then frees the response. */
static void expect_at(int line, int status, const char *body, bool json)
{
    if (res.status != status || strcmp(res.body, body) != 0)
        fail_msg("line %d: status %d, want %d\n  body %s\n  want %s", line, res.status, status,
                 res.body, body);
    if (json) {
        const char *ct = cadre_test_header(&res, "Content-Type");
        if (!ct || strcmp(ct, "application/json") != 0)
            fail_msg("line %d: Content-Type %s", line, ct ? ct : "(none)");
    }
    cadre_test_response_free(&res);
}

#define expect(status, body) expect_at(__LINE__, (status), (body), false)
#define expect_json(status, body) expect_at(__LINE__, (status), (body), true)
#define E422(detail) expect_json(422, "{\"detail\":" detail "}")

/* ---------------------------------------------------------------------------------------------
 * Body
 * ------------------------------------------------------------------------------------------- */

static void test_post_body_created(void **state)
{
    (void)state;
    json_req("POST", "/items", "{\"name\":\"Widget\",\"price\":9.5,\"tags\":[\"a\",\"b\"]}");
    expect_json(201, "{\"name\":\"Widget\",\"price\":9.5,\"tags\":[\"a\",\"b\"],\"in_stock\":true,"
                     "\"id\":1}");
    assert_int_equal(calls, 1);

    /* lax coercions and unknown members, as FastAPI */
    json_req("POST", "/items",
             "{\"name\":\"caf\\u00e9\",\"price\":\"3\",\"in_stock\":\"no\",\"color\":\"red\"}");
    expect_json(201, "{\"name\":\"caf\xc3\xa9\",\"price\":3.0,\"tags\":[],\"in_stock\":false,\"id\":1}");
    assert_int_equal(calls, 2);

    /* without a Content-Type the body is still read as JSON */
    req("POST", "/items", NULL, "{\"name\":\"n\",\"price\":1}");
    expect_json(201, "{\"name\":\"n\",\"price\":1.0,\"tags\":[],\"in_stock\":true,\"id\":1}");
    assert_int_equal(calls, 3);
}

static void test_bad_body_lists_every_error(void **state)
{
    (void)state;
    json_req("POST", "/items",
             "{\"name\":\"\",\"price\":0,\"tags\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\","
             "\"9\",\"10\",\"11\"],\"in_stock\":\"maybe\"}");
    E422("[{\"type\":\"string_too_short\",\"loc\":[\"body\",\"name\"],"
         "\"msg\":\"String should have at least 1 character\",\"input\":\"\","
         "\"ctx\":{\"min_length\":1}},"
         "{\"type\":\"greater_than\",\"loc\":[\"body\",\"price\"],"
         "\"msg\":\"Input should be greater than 0\",\"input\":0,\"ctx\":{\"gt\":0}},"
         "{\"type\":\"too_long\",\"loc\":[\"body\",\"tags\"],"
         "\"msg\":\"List should have at most 10 items after validation, not 11\","
         "\"input\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\",\"7\",\"8\",\"9\",\"10\",\"11\"],"
         "\"ctx\":{\"field_type\":\"List\",\"max_length\":10,\"actual_length\":11}},"
         "{\"type\":\"bool_parsing\",\"loc\":[\"body\",\"in_stock\"],"
         "\"msg\":\"Input should be a valid boolean, unable to interpret input\","
         "\"input\":\"maybe\"}]");

    json_req("POST", "/items", "{\"name\":123,\"tags\":[\"ok\",5]}");
    /* in field order: name, price (missing), tags */
    E422("[{\"type\":\"string_type\",\"loc\":[\"body\",\"name\"],"
         "\"msg\":\"Input should be a valid string\",\"input\":123},"
         "{\"type\":\"missing\",\"loc\":[\"body\",\"price\"],\"msg\":\"Field required\","
         "\"input\":{\"name\":123,\"tags\":[\"ok\",5]}},"
         "{\"type\":\"string_type\",\"loc\":[\"body\",\"tags\",1],"
         "\"msg\":\"Input should be a valid string\",\"input\":5}]");

    /* a body that is JSON but not an object */
    json_req("POST", "/items", "[1,2]");
    E422("[{\"type\":\"model_attributes_type\",\"loc\":[\"body\"],"
         "\"msg\":\"Input should be a valid dictionary or object to extract fields from\","
         "\"input\":[1,2]}]");
    assert_int_equal(calls, 0); /* the handler never ran */
}

static void test_body_json_invalid(void **state)
{
    (void)state;
    json_req("POST", "/items", "{\"name\":}");
    assert_int_equal(res.status, 422);
    assert_string_equal(cadre_test_header(&res, "Content-Type"), "application/json");
    static const char head[] = "{\"detail\":[{\"type\":\"json_invalid\",\"loc\":[\"body\",8],"
                               "\"msg\":\"JSON decode error\",\"input\":{},\"ctx\":{\"error\":\"";
    if (strncmp(res.body, head, sizeof head - 1) != 0)
        fail_msg("body %s", res.body);
    assert_string_equal(res.body + strlen(res.body) - 5, "\"}}]}");
    cadre_test_response_free(&res);

    json_req("POST", "/items", "not json");
    assert_int_equal(res.status, 422);
    assert_non_null(strstr(res.body, "\"type\":\"json_invalid\",\"loc\":[\"body\",0],"));
    cadre_test_response_free(&res);

    /* a JSON error hides every other error (FastAPI raises before validating parameters) */
    json_req("PUT", "/items/abc", "{\"name\":\"x\",");
    assert_int_equal(res.status, 422);
    assert_non_null(strstr(res.body, "{\"detail\":[{\"type\":\"json_invalid\",\"loc\":[\"body\",12],"));
    assert_null(strstr(res.body, "int_parsing"));
    assert_null(strstr(res.body, "},{")); /* one error only */
    cadre_test_response_free(&res);
    assert_int_equal(calls, 0);
}

static void test_body_missing(void **state)
{
    (void)state;
    req("POST", "/items", NULL, NULL);
    E422("[{\"type\":\"missing\",\"loc\":[\"body\"],\"msg\":\"Field required\",\"input\":null}]");
    json_req("POST", "/items", "");
    E422("[{\"type\":\"missing\",\"loc\":[\"body\"],\"msg\":\"Field required\",\"input\":null}]");
    assert_int_equal(calls, 0);
}

static void test_params_and_body_errors_together(void **state)
{
    (void)state;
    json_req("PUT", "/items/abc", "{\"name\":\"\"}");
    E422("[{\"type\":\"int_parsing\",\"loc\":[\"path\",\"item_id\"],"
         "\"msg\":\"Input should be a valid integer, unable to parse string as an integer\","
         "\"input\":\"abc\"},"
         "{\"type\":\"string_too_short\",\"loc\":[\"body\",\"name\"],"
         "\"msg\":\"String should have at least 1 character\",\"input\":\"\","
         "\"ctx\":{\"min_length\":1}},"
         "{\"type\":\"missing\",\"loc\":[\"body\",\"price\"],\"msg\":\"Field required\","
         "\"input\":{\"name\":\"\"}}]");
    req("PUT", "/items/abc", NULL, NULL);
    E422("[{\"type\":\"int_parsing\",\"loc\":[\"path\",\"item_id\"],"
         "\"msg\":\"Input should be a valid integer, unable to parse string as an integer\","
         "\"input\":\"abc\"},"
         "{\"type\":\"missing\",\"loc\":[\"body\"],\"msg\":\"Field required\",\"input\":null}]");
    assert_int_equal(calls, 0);

    json_req("PUT", "/items/12", "{\"name\":\"n\",\"price\":2.25}");
    expect_json(200, "{\"name\":\"n\",\"price\":2.25,\"tags\":[],\"in_stock\":true,\"id\":12}");
    assert_int_equal(calls, 1);
}

/* ---------------------------------------------------------------------------------------------
 * Parameters
 * ------------------------------------------------------------------------------------------- */

static void test_path_param(void **state)
{
    (void)state;
    req("GET", "/items/42", NULL, NULL);
    expect_json(200, "{\"id\":42}");
    req("GET", "/items/-7", NULL, NULL);
    expect_json(200, "{\"id\":-7}");
    assert_int_equal(calls, 2);

    req("GET", "/items/abc", NULL, NULL);
    E422("[{\"type\":\"int_parsing\",\"loc\":[\"path\",\"item_id\"],"
         "\"msg\":\"Input should be a valid integer, unable to parse string as an integer\","
         "\"input\":\"abc\"}]");
    req("GET", "/items/1.5", NULL, NULL);
    E422("[{\"type\":\"int_parsing\",\"loc\":[\"path\",\"item_id\"],"
         "\"msg\":\"Input should be a valid integer, unable to parse string as an integer\","
         "\"input\":\"1.5\"}]");
    /* the percent-decoded text is what is validated and shown */
    req("GET", "/items/a%20b", NULL, NULL);
    E422("[{\"type\":\"int_parsing\",\"loc\":[\"path\",\"item_id\"],"
         "\"msg\":\"Input should be a valid integer, unable to parse string as an integer\","
         "\"input\":\"a b\"}]");
    assert_int_equal(calls, 2);

    /* explicit locations: CADRE_IN_PATH, CADRE_IN_QUERY, CADRE_IN_HEADER */
    req("GET", "/mixed/3?limit=2&item_id=99", "X-Token: t\r\n", NULL);
    expect_json(200, "{\"id\":3}");
    assert_int_equal(calls, 3);
}

static void test_query_params(void **state)
{
    (void)state;
    /* defaults applied: limit 10, verbose false, header "none", cookie "anon"; ratio left out */
    req("GET", "/items/5/search?q=ab", NULL, NULL);
    expect_json(200, "{\"item_id\":5,\"q\":\"ab\",\"limit\":10,\"verbose\":false,"
                     "\"x_token\":\"none\",\"session\":\"anon\"}");
    req("GET", "/items/5/search?q=a+b%21&limit=3&verbose=yes&ratio=0.5&other=1", NULL, NULL);
    expect_json(200, "{\"item_id\":5,\"q\":\"a b!\",\"limit\":3,\"verbose\":true,\"ratio\":0.5,"
                     "\"x_token\":\"none\",\"session\":\"anon\"}");
    assert_int_equal(calls, 2);

    /* a required query parameter that is absent */
    req("GET", "/items/5/search", NULL, NULL);
    E422("[{\"type\":\"missing\",\"loc\":[\"query\",\"q\"],\"msg\":\"Field required\","
         "\"input\":null}]");
    req("GET", "/items/5/search?q=x&limit=abc&verbose=maybe&ratio=r", NULL, NULL);
    E422("[{\"type\":\"string_too_short\",\"loc\":[\"query\",\"q\"],"
         "\"msg\":\"String should have at least 2 characters\",\"input\":\"x\","
         "\"ctx\":{\"min_length\":2}},"
         "{\"type\":\"int_parsing\",\"loc\":[\"query\",\"limit\"],"
         "\"msg\":\"Input should be a valid integer, unable to parse string as an integer\","
         "\"input\":\"abc\"},"
         "{\"type\":\"bool_parsing\",\"loc\":[\"query\",\"verbose\"],"
         "\"msg\":\"Input should be a valid boolean, unable to interpret input\","
         "\"input\":\"maybe\"},"
         "{\"type\":\"float_parsing\",\"loc\":[\"query\",\"ratio\"],"
         "\"msg\":\"Input should be a valid number, unable to parse string as a number\","
         "\"input\":\"r\"}]");
    req("GET", "/items/5/search?q=xy&limit=0", NULL, NULL);
    E422("[{\"type\":\"greater_than_equal\",\"loc\":[\"query\",\"limit\"],"
         "\"msg\":\"Input should be greater than or equal to 1\",\"input\":\"0\","
         "\"ctx\":{\"ge\":1}}]");
    req("GET", "/items/5/search?q=xy&limit=101", NULL, NULL);
    E422("[{\"type\":\"less_than_equal\",\"loc\":[\"query\",\"limit\"],"
         "\"msg\":\"Input should be less than or equal to 100\",\"input\":\"101\","
         "\"ctx\":{\"le\":100}}]");
    /* an empty value is present (only form fields treat "" as absent) */
    req("GET", "/items/5/search?q=xy&limit=", NULL, NULL);
    E422("[{\"type\":\"int_parsing\",\"loc\":[\"query\",\"limit\"],"
         "\"msg\":\"Input should be a valid integer, unable to parse string as an integer\","
         "\"input\":\"\"}]");
    /* path and query errors together, path first */
    req("GET", "/items/zz/search", NULL, NULL);
    E422("[{\"type\":\"int_parsing\",\"loc\":[\"path\",\"item_id\"],"
         "\"msg\":\"Input should be a valid integer, unable to parse string as an integer\","
         "\"input\":\"zz\"},"
         "{\"type\":\"missing\",\"loc\":[\"query\",\"q\"],\"msg\":\"Field required\","
         "\"input\":null}]");
    assert_int_equal(calls, 2);
}

static void test_repeated_query_last_wins(void **state)
{
    (void)state;
    /* Starlette's QueryParams keep the last value for a scalar parameter, so FastAPI does */
    req("GET", "/items/5/search?q=first&q=second", NULL, NULL);
    expect_json(200, "{\"item_id\":5,\"q\":\"second\",\"limit\":10,\"verbose\":false,"
                     "\"x_token\":\"none\",\"session\":\"anon\"}");
}

static void test_header_and_cookie_params(void **state)
{
    (void)state;
    /* x_token is read from X-Token (underscores become hyphens, any case) */
    req("GET", "/items/5/search?q=ab", "X-Token: secret\r\nCookie: a=1; session=xyz; b=2\r\n", NULL);
    expect_json(200, "{\"item_id\":5,\"q\":\"ab\",\"limit\":10,\"verbose\":false,"
                     "\"x_token\":\"secret\",\"session\":\"xyz\"}");
    req("GET", "/auth", "x-token: abc\r\nCookie: session=s1\r\n", NULL);
    expect_json(200, "{\"x_token\":\"abc\",\"session\":\"s1\"}");
    assert_int_equal(calls, 2);

    /* a header named with the underscore is not the parameter */
    req("GET", "/auth", "x_token: abc\r\nCookie: session=s1\r\n", NULL);
    E422("[{\"type\":\"missing\",\"loc\":[\"header\",\"x_token\"],\"msg\":\"Field required\","
         "\"input\":null}]");
    req("GET", "/auth", NULL, NULL);
    E422("[{\"type\":\"missing\",\"loc\":[\"header\",\"x_token\"],\"msg\":\"Field required\","
         "\"input\":null},"
         "{\"type\":\"missing\",\"loc\":[\"cookie\",\"session\"],\"msg\":\"Field required\","
         "\"input\":null}]");
    req("GET", "/auth", "X-Token: ab\r\nCookie: other=1; sessionx=2\r\n", NULL);
    E422("[{\"type\":\"string_too_short\",\"loc\":[\"header\",\"x_token\"],"
         "\"msg\":\"String should have at least 3 characters\",\"input\":\"ab\","
         "\"ctx\":{\"min_length\":3}},"
         "{\"type\":\"missing\",\"loc\":[\"cookie\",\"session\"],\"msg\":\"Field required\","
         "\"input\":null}]");
    assert_int_equal(calls, 2);
}

static void test_errors_in_location_order(void **state)
{
    (void)state;
    /* FastAPI validates path, then query, then header, then cookie parameters, then the body, and
     * lists the errors in that order whatever the order of declaration. */
    req("GET", "/mixed/abc?limit=x", NULL, NULL);
    E422("[{\"type\":\"int_parsing\",\"loc\":[\"path\",\"item_id\"],"
         "\"msg\":\"Input should be a valid integer, unable to parse string as an integer\","
         "\"input\":\"abc\"},"
         "{\"type\":\"int_parsing\",\"loc\":[\"query\",\"limit\"],"
         "\"msg\":\"Input should be a valid integer, unable to parse string as an integer\","
         "\"input\":\"x\"},"
         "{\"type\":\"missing\",\"loc\":[\"header\",\"x_token\"],\"msg\":\"Field required\","
         "\"input\":null}]");
    assert_int_equal(calls, 0);
}

/* ---------------------------------------------------------------------------------------------
 * Handler results
 * ------------------------------------------------------------------------------------------- */

static void test_handler_results(void **state)
{
    (void)state;
    req("GET", "/accepted", NULL, NULL); /* returns 0: the spec's .status */
    expect_json(202, "{\"id\":7}");

    req("GET", "/custom", NULL, NULL); /* its own response wins over the schema */
    assert_int_equal(res.status, 200);
    assert_string_equal(cadre_test_header(&res, "Content-Type"), "text/plain; charset=utf-8");
    expect(200, "custom");

    req("GET", "/teapot", NULL, NULL);
    expect(418, "teapot");

    json_req("POST", "/raw", "{\"name\":\"zed\",\"price\":1}"); /* no response schema */
    expect(200, "got zed");

    req("DELETE", "/gone", NULL, NULL); /* 204: nothing encoded */
    assert_int_equal(res.status, 204);
    assert_int_equal(res.body_len, 0);
    cadre_test_response_free(&res);

    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1); /* the 500 is logged */
    req("GET", "/fail", NULL, NULL); /* a negative CADRE_E*: 500 */
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    expect_json(500, "{\"detail\":\"Internal Server Error\"}");
    assert_int_equal(calls, 6);
}

static void test_handler_not_called_on_422(void **state)
{
    (void)state;
    json_req("POST", "/items", "{\"name\":\"ok\",\"price\":-1}");
    assert_int_equal(res.status, 422);
    cadre_test_response_free(&res);
    req("GET", "/items/x", NULL, NULL);
    assert_int_equal(res.status, 422);
    cadre_test_response_free(&res);
    req("GET", "/auth", NULL, NULL);
    assert_int_equal(res.status, 422);
    cadre_test_response_free(&res);
    assert_int_equal(calls, 0);
    json_req("POST", "/items", "{\"name\":\"ok\",\"price\":1}");
    assert_int_equal(res.status, 201);
    cadre_test_response_free(&res);
    assert_int_equal(calls, 1);
}

static void test_raw_request(void **state)
{
    (void)state;
    static const char two[] = "POST /items HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                              "Content-Length: 24\r\n\r\n{\"name\":\"r\",\"price\":0.5}"
                              "GET /items/9 HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_int_equal(cadre_test_raw(A, two, sizeof two - 1, &res), 0);
    assert_int_equal(res.status, 201);
    assert_string_equal(res.body,
                        "{\"name\":\"r\",\"price\":0.5,\"tags\":[],\"in_stock\":true,\"id\":1}");
    const char *second = strstr(res.raw + 1, "HTTP/1.1 200");
    assert_non_null(second);
    assert_non_null(strstr(second, "{\"id\":9}"));
    cadre_test_response_free(&res);
    assert_int_equal(calls, 2);
}

/* ---------------------------------------------------------------------------------------------
 * Start-up refusals
 * ------------------------------------------------------------------------------------------- */

static void test_startup_refusal(void **state)
{
    (void)state;
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    cadre_app *app = cadre_app_new("bad");
    assert_non_null(app);
    assert_int_equal(CADRE_ROUTE(app, GET, "/ok", read_item, ItemPath, cadre_none, ItemId), 0);
    assert_int_equal(cadre_app_check(app), 0);
    /* {id} is not a field of NoId */
    assert_int_equal(CADRE_ROUTE(app, GET, "/things/{id}", unused, NoId, cadre_none, ItemId),
                     CADRE_EINVAL);
    assert_true(cadre_app_check(app) > 0);
    assert_int_equal(cadre_app_check(app), 1);
    cadre_test_response r2;
    assert_int_equal(cadre_test_request(app, "GET", "/things/1", NULL, NULL, 0, &r2), CADRE_EINVAL);
    assert_int_equal(cadre_test_request(app, "GET", "/ok?item_id=1", NULL, NULL, 0, &r2),
                     CADRE_EINVAL); /* the whole app refuses, not just the bad route */
    cadre_app_free(app);

    /* a field declared CADRE_IN_PATH that the pattern lacks */
    app = cadre_app_new("bad2");
    assert_int_equal(CADRE_ROUTE(app, GET, "/nothing", unused_path, PathOnly, cadre_none, ItemId),
                     CADRE_EINVAL);
    assert_int_equal(cadre_app_check(app), 1);
    assert_int_equal(cadre_test_request(app, "GET", "/nothing", NULL, NULL, 0, &r2), CADRE_EINVAL);
    cadre_app_free(app);

    /* a parameter must be a scalar */
    app = cadre_app_new("bad3");
    assert_int_equal(CADRE_ROUTE(app, GET, "/list", unused_list, ListParam, cadre_none, ItemId),
                     CADRE_EINVAL);
    assert_int_equal(cadre_app_check(app), 1);
    cadre_app_free(app);

    /* one bad route among good ones refuses the whole app */
    app = cadre_app_new("bad4");
    add_routes(app);
    assert_int_equal(CADRE_ROUTE(app, DELETE, "/items/{item_id}", no_content, cadre_none, cadre_none,
                                 ItemId),
                     CADRE_EINVAL); /* {item_id} is not a field of cadre_none */
    assert_int_equal(cadre_app_check(app), 1);
    assert_int_equal(cadre_test_request(app, "GET", "/items/1", NULL, NULL, 0, &r2), CADRE_EINVAL);
    cadre_app_free(app);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    assert_int_equal(calls, 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_post_body_created),
        T(test_bad_body_lists_every_error),
        T(test_body_json_invalid),
        T(test_body_missing),
        T(test_params_and_body_errors_together),
        T(test_path_param),
        T(test_query_params),
        T(test_repeated_query_last_wins),
        T(test_header_and_cookie_params),
        T(test_errors_in_location_order),
        T(test_handler_results),
        T(test_handler_not_called_on_422),
        T(test_raw_request),
        T(test_startup_refusal),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
