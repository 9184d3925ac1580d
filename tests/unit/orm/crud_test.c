/* The automatic CRUD API through the in-process test client, on SQLite and (under
 * tests/pg/with-postgres) on PostgreSQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cadre.h>

#include "db/engine_fixture.h"

#include <string.h>

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

static void test_crud(void **state)
{
    (void)state;
    assert_int_equal(cadre_db_open(url, &db), 0);
    assert_int_equal(cadre_db_exec_script(db, "DROP TABLE IF EXISTS product; DROP TABLE IF EXISTS "
                                              "supplier"),
                     0);
    cadre_buf b;
    cadre_buf_init(&b, 1 << 16);
    const cadre_schema *models[] = { CADRE_SCHEMA_OF(supplier), CADRE_SCHEMA_OF(product) };
    for (int i = 0; i < 2; i++) {
        cadre_buf_reset(&b);
        assert_int_equal(cadre_model_create_sql(models[i], cadre_db_engine(db), &b), 0);
        assert_int_equal(cadre_buf_append(&b, "", 1), 0);
        assert_int_equal(cadre_db_exec_script(db, b.data), 0);
    }
    cadre_buf_free(&b);
    app = cadre_app_new("inventory");
    assert_int_equal(cadre_crud(app, "/api/suppliers", CADRE_SCHEMA_OF(supplier), db), 0);
    assert_int_equal(cadre_crud(app, "/api/products", CADRE_SCHEMA_OF(product), db), 0);
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);

    /* create: the key is assigned (and read-only), UNIQUE is a 409, a bad reference a 422 */
    expect("POST", "/api/suppliers", "{\"name\":\"acme\"}", 201, "{\"id\":1,\"name\":\"acme\"}");
    expect("POST", "/api/suppliers", "{\"id\":7,\"name\":\"bolt\"}", 201, "{\"id\":2,\"name\":\"bolt\"}");
    expect("POST", "/api/suppliers", "{\"name\":\"acme\"}", 409, NULL);
    expect("POST", "/api/products", "{\"name\":\"hammer\",\"price\":9.5,\"supplier_id\":1}", 201,
           "{\"id\":1,\"name\":\"hammer\",\"price\":9.5,\"supplier_id\":1}");
    expect("POST", "/api/products", "{\"name\":\"drill\",\"price\":120,\"supplier_id\":2}", 201,
           "{\"id\":2,\"name\":\"drill\",\"price\":120.0,\"supplier_id\":2}");
    expect("POST", "/api/products", "{\"name\":\"ghost\",\"price\":1,\"supplier_id\":99}", 422, NULL);
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
    expect("DELETE", "/api/suppliers/1", NULL, 409, NULL); /* still referenced: PROTECT */
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
