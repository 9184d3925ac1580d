/* The automatic CRUD API through the in-process test client, on SQLite and (under
 * tests/pg/with-postgres) on PostgreSQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cadre.h>

#include "db/engine_fixture.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SUPPLIER_FIELDS(F)                                                                         \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, name, CADRE_MAX_LEN(200), CADRE_UNIQUE)
CADRE_MODEL(supplier, SUPPLIER_FIELDS)

#define PRODUCT_FIELDS(F)                                                                          \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, name, CADRE_MAX_LEN(200), CADRE_INDEX)                                               \
    F(double, price, CADRE_GE(0))                                                                  \
    F(int64, supplier_id, CADRE_FOREIGN_KEY(supplier, CADRE_ON_DELETE_PROTECT))
CADRE_MODEL(product, PRODUCT_FIELDS)

#define MOVEMENT_FIELDS(F)                                                                         \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(datetime, at)                                                                                \
    F(string, note, CADRE_OPTIONAL, CADRE_NULLABLE)                                                \
    F(datetime, created, CADRE_AUTO_NOW_ADD)
CADRE_MODEL(movement, MOVEMENT_FIELDS)

static cadre_db *db;
static cadre_app *app;

static void expect(const char *method, const char *target, const char *body, int status,
                   const char *want_body)
{
    cadre_test_response res;
    assert_int_equal(cadre_test_request(app, method, target,
                                        body ? "Content-Type: application/json\r\n" : NULL, body,
                                        body ? strlen(body) : 0, &res),
                     0);
    if (res.status != status || (want_body && strcmp(res.body, want_body) != 0))
        fail_msg("%s %s: %d %s, want %d %s", method, target, res.status, res.body, status,
                 want_body ? want_body : "(any)");
    cadre_test_response_free(&res);
}

/* The two products of the list tests, as the API answers them. */
static const char hammer[] = "{\"id\":1,\"name\":\"hammer\",\"price\":9.5,\"supplier_id\":1}",
                  drill[] = "{\"id\":2,\"name\":\"drill\",\"price\":120.0,\"supplier_id\":2}";

/* FIELD__in=a,b,c in a list query (the rows: 1 hammer 9.5 supplier 1, 2 drill 120 supplier 2) */
static void in_lookup(void)
{
    char both[256], one[256], none[] = "{\"count\":0,\"results\":[]}";
    snprintf(both, sizeof both, "{\"count\":2,\"results\":[%s,%s]}", hammer, drill);
    expect("GET", "/api/products?supplier_id__in=1,2", NULL, 200, both);
    expect("GET", "/api/products?supplier_id__in=2,1,1,99", NULL, 200, both);
    expect("GET", "/api/products?supplier_id__in=1%2C2", NULL, 200, both); /* an encoded comma */
    expect("GET", "/api/products?supplier_id__in=", NULL, 200, none);      /* empty: nothing */
    expect("GET", "/api/products?supplier_id__in", NULL, 200, none);
    snprintf(one, sizeof one, "{\"count\":1,\"results\":[%s]}", drill);
    expect("GET", "/api/products?id__in=2", NULL, 200, one);
    expect("GET", "/api/products?supplier_id__in=1,2&price__gt=100", NULL, 200, one);
    expect("GET", "/api/products?name__in=drill,saw", NULL, 200, one);
    expect("GET", "/api/products?price__in=120,3.5", NULL, 200, one);
    snprintf(both, sizeof both, "{\"count\":2,\"results\":[%s,%s]}", drill, hammer);
    expect("GET", "/api/products?name__in=hammer,drill&ordering=name", NULL, 200, both);
    /* each value is converted with the field's type: a bad one is a 422 as for other filters */
    expect("GET", "/api/products?supplier_id__in=1,abc", NULL, 422,
           "{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"query\",\"supplier_id__in\"],"
           "\"msg\":\"Input should be a valid integer, unable to parse string as an integer\","
           "\"input\":\"abc\"}]}");
    expect("GET", "/api/products?supplier_id__lt=abc", NULL, 422,
           "{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"query\",\"supplier_id__lt\"],"
           "\"msg\":\"Input should be a valid integer, unable to parse string as an integer\","
           "\"input\":\"abc\"}]}");
    expect("GET", "/api/products?price__in=1,,2", NULL, 422, NULL); /* an empty item */
    expect("GET", "/api/products?supplier_id__in=1,&price__in=x", NULL, 422,
           "{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"query\",\"supplier_id__in\"],"
           "\"msg\":\"Input should be a valid integer, unable to parse string as an integer\","
           "\"input\":\"\"},{\"type\":\"float_parsing\",\"loc\":[\"query\",\"price__in\"],"
           "\"msg\":\"Input should be a valid number, unable to parse string as a number\","
           "\"input\":\"x\"}]}");
    /* values are values, whatever they hold; names are names */
    snprintf(one, sizeof one, "{\"count\":1,\"results\":[%s]}", hammer);
    expect("GET", "/api/products?name__in=hammer,x%27)%20OR%201%3D1%20--", NULL, 200, one);
    expect("GET", "/api/products?name__in=%27%3B%20DROP%20TABLE%20product%3B%20--,hammer", NULL,
           200, one);
    expect("GET", "/api/products?supplier_id__in=1)%20OR%20(1%3D1", NULL, 422, NULL);
    expect("GET", "/api/products?supplier_id__in)%20OR%201%3D1%20--=1", NULL, 422, NULL);
    expect("GET", "/api/products?supplier_id__in%3B%20DROP%20TABLE%20product=1", NULL, 422, NULL);
    expect("GET", "/api/products?colour__in=red", NULL, 422, NULL);
    /* at most 1000 values */
    cadre_buf q;
    cadre_buf_init(&q, 1 << 16);
    cadre_buf_append_str(&q, "/api/products?id__in=1");
    for (int i = 2; i <= 1001; i++)
        cadre_buf_appendf(&q, ",%d", i);
    cadre_buf_append(&q, "", 1);
    expect("GET", q.data, NULL, 422,
           "{\"detail\":[{\"type\":\"too_long\",\"loc\":[\"query\",\"id__in\"],\"msg\":\"List "
           "should have at most 1000 items after validation, not 1001\",\"input\":null,\"ctx\":{"
           "\"field_type\":\"List\",\"max_length\":1000,\"actual_length\":1001}}]}");
    cadre_buf_reset(&q);
    cadre_buf_append_str(&q, "/api/products?id__in=1");
    for (int i = 2; i <= 1000; i++)
        cadre_buf_appendf(&q, ",%d", i);
    cadre_buf_append(&q, "", 1);
    snprintf(both, sizeof both, "{\"count\":2,\"results\":[%s,%s]}", hammer, drill);
    expect("GET", q.data, NULL, 200, both);
    cadre_buf_free(&q);
    /* the tables are intact */
    expect("GET", "/api/products", NULL, 200, both);
}

/* As expect, the body holding want (a NULL body, as for a 204, fails). */
static void expect_has(const char *method, const char *target, int status, const char *want)
{
    cadre_test_response res;
    assert_int_equal(cadre_test_request(app, method, target, NULL, NULL, 0, &res), 0);
    if (res.status != status || !res.body || !strstr(res.body, want))
        fail_msg("%s %s: %d %s, want %d with %s", method, target, res.status,
                 res.body ? res.body : "(none)", status, want);
    cadre_test_response_free(&res);
}

/* Request text in an error (issue #10): a parameter's name is a string of the error's loc, never
 * JSON syntax, whatever it holds; a key in the path is the number alone. (Suppliers 1 and 2
 * exist.) */
static void hostile_names(void)
{
    expect("GET", "/api/suppliers?x%22%5D%7D%5D%2C%22injected%22%3Atrue=1", NULL, 422,
           "{\"detail\":[{\"type\":\"value_error\",\"loc\":[\"query\",\"x\\\"]}],\\\"injected\\\":"
           "true\"],\"msg\":\"unknown filter: supplier has no field x\\\"]}],\\\"injected"
           "\\\":true to filter by\",\"input\":\"1\"}]}");
    expect("GET", "/api/suppliers?a%22b=1", NULL, 422,
           "{\"detail\":[{\"type\":\"value_error\",\"loc\":[\"query\",\"a\\\"b\"],\"msg\":"
           "\"unknown filter: supplier has no field a\\\"b to filter by\",\"input\":\"1\"}]}");
    expect("GET", "/api/suppliers?a%5C=1", NULL, 422,
           "{\"detail\":[{\"type\":\"value_error\",\"loc\":[\"query\",\"a\\\\\"],\"msg\":\"unknown "
           "filter: supplier has no field a\\\\ to filter by\",\"input\":\"1\"}]}");
    expect("GET", "/api/suppliers?x%0A=1", NULL, 422,
           "{\"detail\":[{\"type\":\"value_error\",\"loc\":[\"query\",\"x\\n\"],\"msg\":\"unknown "
           "filter: supplier has no field x\\n to filter by\",\"input\":\"1\"}]}");
    expect("GET", "/api/suppliers?%ff=%fe", NULL, 422, /* invalid UTF-8: U+FFFD */
           "{\"detail\":[{\"type\":\"value_error\",\"loc\":[\"query\",\"\xEF\xBF\xBD\"],\"msg\":"
           "\"unknown filter: supplier has no field \xEF\xBF\xBD to filter by\",\"input\":\""
           "\xEF\xBF\xBD\"}]}");
    expect("GET", "/api/suppliers?ordering=a%22b%ff", NULL, 422,
           "{\"detail\":[{\"type\":\"value_error\",\"loc\":[\"query\",\"ordering\"],\"msg\":"
           "\"supplier has no field a\\\"b\xEF\xBF\xBD to order by\",\"input\":\"a\\\"b"
           "\xEF\xBF\xBD\"}]}");
    /* a lookup that the field's type does not take: named, with the ones it does */
    expect("GET", "/api/suppliers?id__contains=1", NULL, 422,
           "{\"detail\":[{\"type\":\"value_error\",\"loc\":[\"query\",\"id__contains\"],\"msg\":"
           "\"unknown filter: supplier.id has no lookup contains (it takes exact, ne, lt, lte, gt, "
           "gte, in, isnull)\",\"input\":\"1\"}]}");
    /* a NUL in a name: not the parameter its first bytes spell */
    expect_has("GET", "/api/suppliers?limit%00=1", 422, "\"loc\":[\"query\",\"limit\\u0000\"]");
    expect_has("GET", "/api/suppliers?name%00x=acme", 422, "\"loc\":[\"query\",\"name\\u0000x\"]");
    expect_has("GET", "/api/suppliers?ordering%00=name", 422,
               "\"loc\":[\"query\",\"ordering\\u0000\"]");
    /* /api/suppliers/%2010 is not supplier 10, nor is " 1" supplier 1 */
    expect("GET", "/api/suppliers/%201", NULL, 422,
           "{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"path\",\"id\"],\"msg\":\"Input "
           "should be a valid integer, unable to parse string as an integer\",\"input\":\" 1\"}]}");
    expect_has("GET", "/api/suppliers/1%20", 422, "\"type\":\"int_parsing\"");
    expect_has("GET", "/api/suppliers/%2B1", 422, "\"type\":\"int_parsing\"");
    expect_has("GET", "/api/suppliers/%091", 422, "\"type\":\"int_parsing\"");
    expect_has("DELETE", "/api/suppliers/%202", 422, "\"type\":\"int_parsing\"");
    expect("GET", "/api/suppliers/1", NULL, 200, "{\"id\":1,\"name\":\"acme\"}");
}

/* The ids of a list answer, "1,3" (a fixed-shape scan of the body: "id" members in order). */
static void expect_ids(const char *target, int status, const char *want)
{
    cadre_test_response res;
    assert_int_equal(cadre_test_request(app, "GET", target, NULL, NULL, 0, &res), 0);
    char got[256] = "";
    size_t n = 0;
    for (const char *p = res.body ? res.body : ""; (p = strstr(p, "{\"id\":")) != NULL;) {
        p += 6;
        size_t len = strspn(p, "0123456789");
        n += (size_t)snprintf(got + n, sizeof got - n, "%s%.*s", n ? "," : "", (int)len, p);
    }
    if (res.status != status || strcmp(got, want) != 0)
        fail_msg("GET %s: %d [%s] %s, want %d [%s]", target, res.status, got, res.body, status,
                 want);
    cadre_test_response_free(&res);
}

/*
 * Datetime filters compare instants on both engines: stored text on SQLite is one canonical form
 * (UTC, six fractional digits) and so is every bound filter value, whatever its offset or
 * fraction. Movements: 1 at 16:08:26.107319Z, 2 at 16:08:26Z (a whole second), 3 at 21:08:27+05:00
 * (16:08:27Z).
 */
static void datetime_filters(void)
{
    expect("POST", "/api/movements", "{\"at\":\"2026-12-04T16:08:26.107319Z\",\"note\":\"first\"}",
           201, NULL);
    expect("POST", "/api/movements", "{\"at\":\"2026-12-04T16:08:26Z\"}", 201, NULL);
    expect("POST", "/api/movements", "{\"at\":\"2026-12-04T21:08:27+05:00\"}", 201, NULL);
    /* read back as the instant in UTC, a zero fraction left out (as Pydantic writes it) */
    expect_has("GET", "/api/movements/1", 200, "\"at\":\"2026-12-04T16:08:26.107319Z\"");
    expect_has("GET", "/api/movements/2", 200, "\"at\":\"2026-12-04T16:08:26Z\"");
    expect_has("GET", "/api/movements/3", 200, "\"at\":\"2026-12-04T16:08:27Z\"");

    expect_ids("/api/movements?at__gt=2026-12-04T16:08:26Z", 200, "1,3");
    expect_ids("/api/movements?at__gt=2026-12-04T16:08:26.000Z", 200, "1,3");
    expect_ids("/api/movements?at__gt=2026-12-04T16:08:26%2B00:00", 200, "1,3");
    expect_ids("/api/movements?at__gt=2026-12-04T16:08:26", 200, "1,3"); /* naive: UTC */
    expect_ids("/api/movements?at__lte=2026-12-04T16:08:26Z", 200, "2");
    expect_ids("/api/movements?at__lt=2026-12-04T16:08:26.107319Z", 200, "2");
    expect_ids("/api/movements?at__gte=2026-12-04T16:08:26.107319Z", 200, "1,3");
    expect_ids("/api/movements?at=2026-12-04T16:08:26.000000%2B00:00", 200, "2");
    expect_ids("/api/movements?at__ne=2026-12-04T16:08:26Z", 200, "1,3");
    /* offsets: converted to UTC before comparing */
    expect_ids("/api/movements?at=2026-12-04T21:08:27%2B05:00", 200, "3");
    expect_ids("/api/movements?at=2026-12-04T16:08:27Z", 200, "3");
    expect_ids("/api/movements?at__gte=2026-12-04T11:08:27-05:00", 200, "3");
    expect_ids("/api/movements?at__lt=2026-12-04T18:08:27%2B02:00", 200, "1,2");
    expect_ids("/api/movements?at__in=2026-12-04T16:08:26Z,2026-12-04T21:08:27%2B05:00", 200,
               "2,3");
    /* text order is time order */
    expect_ids("/api/movements?ordering=at", 200, "2,1,3");
    expect_ids("/api/movements?ordering=-at", 200, "3,1,2");

    /* the automatic timestamp: an hour ago, written with an offset, is before all of them */
    char target[160], when[64];
    time_t ago = time(NULL) - 3600 + 5 * 3600;
    struct tm tm;
    gmtime_r(&ago, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S%%2B05:00", &tm);
    snprintf(target, sizeof target, "/api/movements?created__gt=%s", when);
    expect_ids(target, 200, "1,2,3");
    snprintf(target, sizeof target, "/api/movements?created__lte=%s", when);
    expect_ids(target, 200, "");
}

/* Filter values and list parameters that are not what they claim: 422s in Pydantic's words, the
 * input echoed. */
static void bad_filter_values(void)
{
    /* a NUL would cut the pattern short ("%a" matching every "a"): refused, for any field */
    expect("GET", "/api/movements?note__contains=f%00zzz", NULL, 422,
           "{\"detail\":[{\"type\":\"value_error\",\"loc\":[\"query\",\"note__contains\"],\"msg\":"
           "\"Value error, Null characters are not allowed.\",\"input\":\"f\\u0000zzz\",\"ctx\":{"
           "\"error\":{}}}]}");
    expect_has("GET", "/api/movements?note__icontains=%00", 422, "\"type\":\"value_error\"");
    expect_has("GET", "/api/movements?note=first%00", 422, "\"type\":\"value_error\"");
    expect_has("GET", "/api/movements?note__in=x,%00", 422, "\"type\":\"value_error\"");
    expect_has("GET", "/api/movements?id=1%00", 422, "\"type\":\"value_error\"");
    /* isnull: true/false/1/0, any case (django-filter), else a 422 */
    expect_ids("/api/movements?note__isnull=true", 200, "2,3");
    expect_ids("/api/movements?note__isnull=TRUE", 200, "2,3");
    expect_ids("/api/movements?note__isnull=1", 200, "2,3");
    expect_ids("/api/movements?note__isnull=False", 200, "1");
    expect_ids("/api/movements?note__isnull=0", 200, "1");
    expect("GET", "/api/movements?note__isnull=yes", NULL, 422,
           "{\"detail\":[{\"type\":\"bool_parsing\",\"loc\":[\"query\",\"note__isnull\"],\"msg\":"
           "\"Input should be a valid boolean, unable to interpret input\",\"input\":\"yes\"}]}");
    expect_has("GET", "/api/movements?note__isnull=maybe", 422, "\"type\":\"bool_parsing\"");
    expect_has("GET", "/api/movements?note__isnull=", 422, "\"type\":\"bool_parsing\"");
    /* limit and offset: ints >= 0, as FastAPI's Query(ge=0) answers */
    expect("GET", "/api/movements?offset=-1", NULL, 422,
           "{\"detail\":[{\"type\":\"greater_than_equal\",\"loc\":[\"query\",\"offset\"],\"msg\":"
           "\"Input should be greater than or equal to 0\",\"input\":\"-1\",\"ctx\":{\"ge\":0}}]}");
    expect("GET", "/api/movements?limit=99999999999999999999", NULL, 422,
           "{\"detail\":[{\"type\":\"less_than_equal\",\"loc\":[\"query\",\"limit\"],\"msg\":"
           "\"Input should be less than or equal to 9223372036854775807\",\"input\":"
           "\"99999999999999999999\",\"ctx\":{\"le\":9223372036854775807}}]}");
    expect("GET", "/api/movements?limit=abc", NULL, 422,
           "{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"query\",\"limit\"],\"msg\":\"Input "
           "should be a valid integer, unable to parse string as an integer\",\"input\":"
           "\"abc\"}]}");
    expect_ids("/api/movements?limit=9223372036854775807&offset=1", 200, "2,3");
    /* a string field of a body holding a NUL: refused on both engines */
    expect("POST", "/api/movements", "{\"at\":\"2026-12-04T16:08:26Z\",\"note\":\"a\\u0000b\"}",
           422,
           "{\"detail\":[{\"type\":\"value_error\",\"loc\":[\"body\",\"note\"],\"msg\":\"Value "
           "error, Null characters are not allowed.\",\"input\":\"a\\u0000b\",\"ctx\":{\"error\":"
           "{}}}]}");
    expect("PATCH", "/api/movements/1", "{\"note\":\"\\u0000\"}", 422, NULL);
    expect_has("GET", "/api/movements/1", 200, "\"note\":\"first\"");
    /* an integer beyond int64 in a body: out of the range, not a float */
    expect("POST", "/api/products",
           "{\"name\":\"big\",\"price\":1,\"supplier_id\":99999999999999999999}", 422,
           "{\"detail\":[{\"type\":\"less_than_equal\",\"loc\":[\"body\",\"supplier_id\"],\"msg\":"
           "\"Input should be less than or equal to 9223372036854775807\",\"input\":"
           "99999999999999999999,\"ctx\":{\"le\":9223372036854775807}}]}");
}

/* A UNIQUE violation answers 409 and logs nothing at INFO: a client repeating it cannot fill the
 * log. */
static void conflicts_do_not_log(void)
{
    char path[96];
    snprintf(path, sizeof path, "%s/log.txt", dir);
    FILE *f = fopen(path, "w+");
    assert_non_null(f);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, fileno(f));
    for (int i = 0; i < 3; i++)
        expect("POST", "/api/suppliers", "{\"name\":\"acme\"}", 409, NULL);
    expect("DELETE", "/api/suppliers/1", NULL, 409, NULL); /* PROTECT */
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, 2);
    char buf[1024] = "";
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(path);
    if (n)
        fail_msg("logged at INFO: %s", buf);
}

static void test_crud(void **state)
{
    (void)state;
    assert_int_equal(cadre_db_open(url, &db), 0);
    assert_int_equal(cadre_db_exec_script(db, "DROP TABLE IF EXISTS movement; DROP TABLE IF EXISTS "
                                              "product; DROP TABLE IF EXISTS supplier"),
                     0);
    cadre_buf b;
    cadre_buf_init(&b, 1 << 16);
    const cadre_schema *models[] = { CADRE_SCHEMA_OF(supplier), CADRE_SCHEMA_OF(product),
                                     CADRE_SCHEMA_OF(movement) };
    for (int i = 0; i < 3; i++) {
        cadre_buf_reset(&b);
        assert_int_equal(cadre_model_create_sql(models[i], cadre_db_engine(db), &b), 0);
        assert_int_equal(cadre_buf_append(&b, "", 1), 0);
        assert_int_equal(cadre_db_exec_script(db, b.data), 0);
    }
    cadre_buf_free(&b);
    app = cadre_app_new("inventory");
    assert_int_equal(cadre_crud(app, "/api/suppliers", CADRE_SCHEMA_OF(supplier), db), 0);
    assert_int_equal(cadre_crud(app, "/api/products", CADRE_SCHEMA_OF(product), db), 0);
    assert_int_equal(cadre_crud(app, "/api/movements", CADRE_SCHEMA_OF(movement), db), 0);
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);

    /* create: the key is assigned (and read-only), UNIQUE is a 409, a bad reference a 422 */
    expect("POST", "/api/suppliers", "{\"name\":\"acme\"}", 201, "{\"id\":1,\"name\":\"acme\"}");
    expect("POST", "/api/suppliers", "{\"id\":7,\"name\":\"bolt\"}", 201, "{\"id\":2,\"name\":\"bolt\"}");
    /* the same answer on both engines, naming the field (the database's message is logged) */
    expect("POST", "/api/suppliers", "{\"name\":\"acme\"}", 409,
           "{\"detail\":[{\"type\":\"unique\",\"loc\":[\"body\",\"name\"],"
           "\"msg\":\"Supplier with this name already exists.\",\"input\":\"acme\"}]}");
    expect("PUT", "/api/suppliers/2", "{\"name\":\"acme\"}", 409,
           "{\"detail\":[{\"type\":\"unique\",\"loc\":[\"body\",\"name\"],"
           "\"msg\":\"Supplier with this name already exists.\",\"input\":\"acme\"}]}");
    expect("PUT", "/api/suppliers/1", "{\"name\":\"acme\"}", 200, NULL); /* its own name */
    expect("POST", "/api/products", "{\"name\":\"hammer\",\"price\":9.5,\"supplier_id\":1}", 201,
           "{\"id\":1,\"name\":\"hammer\",\"price\":9.5,\"supplier_id\":1}");
    expect("POST", "/api/products", "{\"name\":\"drill\",\"price\":120,\"supplier_id\":2}", 201,
           "{\"id\":2,\"name\":\"drill\",\"price\":120.0,\"supplier_id\":2}");
    expect("POST", "/api/products", "{\"name\":\"ghost\",\"price\":1,\"supplier_id\":99}", 422,
           "{\"detail\":[{\"type\":\"foreign_key\",\"loc\":[\"body\",\"supplier_id\"],"
           "\"msg\":\"No supplier with id 99\",\"input\":99}]}");
    expect("PATCH", "/api/products/1", "{\"supplier_id\":98}", 422,
           "{\"detail\":[{\"type\":\"foreign_key\",\"loc\":[\"body\",\"supplier_id\"],"
           "\"msg\":\"No supplier with id 98\",\"input\":98}]}");
    expect("POST", "/api/products", "{\"price\":-1}", 422,
           "{\"detail\":[{\"type\":\"missing\",\"loc\":[\"body\",\"name\"],\"msg\":\"Field "
           "required\",\"input\":{\"price\":-1}},{\"type\":\"greater_than_equal\",\"loc\":[\"body\","
           "\"price\"],\"msg\":\"Input should be greater than or equal to 0\",\"input\":-1,\"ctx\":{"
           "\"ge\":0}},{\"type\":\"missing\",\"loc\":[\"body\",\"supplier_id\"],\"msg\":\"Field "
           "required\",\"input\":{\"price\":-1}}]}");

    /* list: filters, ordering, limit/offset, the total */
    expect("GET", "/api/products", NULL, 200,
           "{\"count\":2,\"results\":[{\"id\":1,\"name\":\"hammer\",\"price\":9.5,\"supplier_id\":1},"
           "{\"id\":2,\"name\":\"drill\",\"price\":120.0,\"supplier_id\":2}]}");
    expect("GET", "/api/products?ordering=-price&limit=1", NULL, 200,
           "{\"count\":2,\"results\":[{\"id\":2,\"name\":\"drill\",\"price\":120.0,\"supplier_id\":2}]}");
    expect("GET", "/api/products?price__lt=100", NULL, 200,
           "{\"count\":1,\"results\":[{\"id\":1,\"name\":\"hammer\",\"price\":9.5,\"supplier_id\":1}]}");
    expect("GET", "/api/products?name__icontains=DRI&offset=0", NULL, 200,
           "{\"count\":1,\"results\":[{\"id\":2,\"name\":\"drill\",\"price\":120.0,\"supplier_id\":2}]}");
    expect("GET", "/api/products?offset=5", NULL, 200, "{\"count\":2,\"results\":[]}");
    expect("GET", "/api/products?colour=red", NULL, 422, NULL);
    expect("GET", "/api/products?ordering=colour", NULL, 422, NULL);
    expect("GET", "/api/products?price__lt=abc", NULL, 422, NULL);
    expect("GET", "/api/products?limit=-1", NULL, 422, NULL);
    /* a filter value is a value */
    expect("GET", "/api/products?name=x%27%20OR%20%271%27%3D%271", NULL, 200,
           "{\"count\":0,\"results\":[]}");
    /* across the foreign key (suppliers: 1 acme, 2 bolt), as a filter, an __in and an ordering;
     * the related field's type and lookups apply; a path that names nothing is a 422 */
    char want[512];
    snprintf(want, sizeof want, "{\"count\":1,\"results\":[%s]}", drill);
    expect("GET", "/api/products?supplier__name=bolt", NULL, 200, want);
    expect("GET", "/api/products?supplier__name__icontains=OL", NULL, 200, want);
    expect("GET", "/api/products?supplier_id__name__startswith=b", NULL, 200, want);
    expect("GET", "/api/products?supplier__name__in=bolt,zzz", NULL, 200, want);
    expect("GET", "/api/products?supplier__id__gt=1", NULL, 200, want);
    snprintf(want, sizeof want, "{\"count\":2,\"results\":[%s,%s]}", drill, hammer);
    expect("GET", "/api/products?ordering=-supplier__name", NULL, 200, want);
    expect("GET", "/api/products?supplier__colour=red", NULL, 422,
           "{\"detail\":[{\"type\":\"value_error\",\"loc\":[\"query\",\"supplier__colour\"],"
           "\"msg\":\"unknown filter: product has no field supplier to filter by\",\"input\":"
           "\"red\"}]}");
    expect("GET", "/api/products?supplier__name__gt=a&supplier__id__lt=x", NULL, 422,
           "{\"detail\":[{\"type\":\"int_parsing\",\"loc\":[\"query\",\"supplier__id__lt\"],"
           "\"msg\":\"Input should be a valid integer, unable to parse string as an integer\","
           "\"input\":\"x\"}]}");
    expect("GET", "/api/products?ordering=supplier__colour", NULL, 422, NULL);
    in_lookup();
    hostile_names();
    datetime_filters();
    bad_filter_values();
    conflicts_do_not_log();

    /* retrieve, replace, update, delete */
    expect("GET", "/api/products/2", NULL, 200,
           "{\"id\":2,\"name\":\"drill\",\"price\":120.0,\"supplier_id\":2}");
    expect("GET", "/api/products/99", NULL, 404, "{\"detail\":\"Not Found\"}");
    expect("GET", "/api/products/abc", NULL, 422, NULL);
    expect("PATCH", "/api/products/2", "{\"price\":99}", 200,
           "{\"id\":2,\"name\":\"drill\",\"price\":99.0,\"supplier_id\":2}");
    expect("PATCH", "/api/products/2", "{\"price\":-5}", 422, NULL);
    expect("PUT", "/api/products/2", "{\"name\":\"big drill\",\"price\":150,\"supplier_id\":1}", 200,
           "{\"id\":2,\"name\":\"big drill\",\"price\":150.0,\"supplier_id\":1}");
    expect("PUT", "/api/products/2", "{\"price\":150}", 422, NULL); /* PUT needs every field */
    expect("PUT", "/api/products/99", "{\"name\":\"x\",\"price\":1,\"supplier_id\":1}", 404, NULL);
    expect("DELETE", "/api/suppliers/1", NULL, 409, /* still referenced: PROTECT */
           "{\"detail\":\"This supplier is still referenced by other rows (protected from "
           "deletion)\"}");
    expect("DELETE", "/api/products/2", NULL, 204, "");
    expect("DELETE", "/api/products/2", NULL, 404, NULL);
    expect("DELETE", "/api/suppliers/2", NULL, 204, "");

    /* all of it is in the OpenAPI document */
    cadre_buf doc;
    cadre_buf_init(&doc, 1 << 20);
    assert_int_equal(cadre_app_openapi(app, &doc), 0);
    assert_int_equal(cadre_buf_append(&doc, "", 1), 0);
    assert_non_null(strstr(doc.data, "\"/api/products/{id}\":{\"get\":"));
    assert_non_null(strstr(doc.data, "\"operationId\":\"update_product_api_products__id__patch\""));
    assert_non_null(strstr(doc.data, "\"productPage\":{\"type\":\"object\",\"title\":\"productPage\","
                                     "\"properties\":{\"count\":"));
    assert_non_null(strstr(doc.data, "\"id\":{\"type\":\"integer\",\"format\":\"int64\",\"title\":"
                                     "\"Id\",\"readOnly\":true}"));
    /* the list's query parameters: limit, offset, ordering, and the lookups each field takes */
    assert_non_null(strstr(doc.data, "{\"name\":\"limit\",\"in\":\"query\",\"required\":false,"
                                     "\"schema\":{\"type\":\"integer\",\"minimum\":0}"));
    assert_non_null(strstr(doc.data, "{\"name\":\"ordering\",\"in\":\"query\""));
    assert_non_null(strstr(doc.data, "{\"name\":\"price__lt\",\"in\":\"query\",\"required\":"
                                     "false,\"schema\":{\"type\":\"number\""));
    assert_non_null(strstr(doc.data, "{\"name\":\"name__icontains\",\"in\":\"query\""));
    assert_non_null(strstr(doc.data, "{\"name\":\"supplier_id__isnull\",\"in\":\"query\","
                                     "\"required\":false,\"schema\":{\"type\":\"boolean\"}"));
    assert_null(strstr(doc.data, "\"price__contains\"")); /* not a lookup of a number */
    /* PATCH takes any subset of the fields: its body is PatchedProduct, with nothing required */
    const char *item_path = strstr(doc.data, "\"/api/products/{id}\":{");
    assert_non_null(item_path);
    const char *patch_body = strstr(strstr(item_path, "\"patch\":{"), "\"requestBody\":");
    assert_non_null(patch_body);
    assert_non_null(strstr(patch_body, "\"requestBody\":{\"content\":{\"application/json\":{"
                                       "\"schema\":{\"$ref\":\"#/components/schemas/Patchedproduct\"}"));
    assert_true(strstr(patch_body, "Patchedproduct") < strstr(patch_body, "\"delete\":{"));
    const char *patched = strstr(doc.data, "\"Patchedproduct\":{\"type\":\"object\",\"title\":"
                                           "\"Patchedproduct\",\"properties\":{");
    assert_non_null(patched);
    /* its members up to the next component hold no "required" */
    const char *after = strstr(patched, "\"HTTPValidationError\"");
    assert_non_null(after);
    assert_true(!strstr(patched, "\"required\"") || strstr(patched, "\"required\"") > after);
    cadre_buf_free(&doc);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    cadre_app_free(app);
    cadre_db_close(db);
}

static void test_model_without_integer_key(void **state)
{
    (void)state;
    cadre_app *a = cadre_app_new("x");
    cadre_db *d;
    assert_int_equal(cadre_db_open(url, &d), 0);
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    assert_int_equal(cadre_crud(a, "/api/x", CADRE_SCHEMA_OF(cadre_none), d), CADRE_EINVAL);
    assert_true(cadre_app_check(a) > 0); /* the app refuses to start */
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    cadre_app_free(a);
    cadre_db_close(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crud),
        cmocka_unit_test(test_model_without_integer_key),
    };
    return cmocka_run_group_tests(tests, engine_setup, engine_teardown);
}
