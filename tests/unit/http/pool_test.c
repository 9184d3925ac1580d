/* The blocking-work pool: a job runs on another thread while its request is suspended, its
 * result comes back in the caller's argument, and outside a request it runs inline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cadre/base.h>
#include <cadre/http.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef struct job {
    char text[64];
    size_t len;
    pthread_t ran_on;
    int sum;
} job;

static void upcase(void *arg)
{
    job *j = arg;
    for (size_t i = 0; i < j->len; i++)
        if (j->text[i] >= 'a' && j->text[i] <= 'z')
            j->text[i] = (char)(j->text[i] - 'a' + 'A');
    j->ran_on = pthread_self();
    j->sum += 1;
}

static cadre_pool *pool;

/* A request that runs three jobs one after another and answers what they made. */
static int dispatch(void *ctx, cadre_request *r)
{
    (void)ctx;
    job j = { .len = 5, .sum = 0 };
    memcpy(j.text, "hello", 6);
    for (int i = 0; i < 3; i++) {
        int rc = cadre_pool_run(pool, upcase, &j, sizeof j);
        if (rc)
            return rc;
    }
    if (pthread_equal(j.ran_on, pthread_self()))
        return cadre_text(r, 500, "ran on the worker");
    char out[96];
    snprintf(out, sizeof out, "%s %d", j.text, j.sum);
    return cadre_text(r, 200, out);
}

static void test_runs_off_the_worker(void **state)
{
    (void)state;
    assert_int_equal(cadre_pool_new(2, 16, &pool), 0);
    cadre_server_config c;
    cadre_server_config_default(&c);
    const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
    cadre_buf out;
    assert_int_equal(cadre_http_test_exchange(&c, dispatch, NULL, req, sizeof req - 1, 5000, &out), 0);
    cadre_buf_append(&out, "", 1);
    const char *first = strstr(out.data, "HELLO 3");
    assert_non_null(first);
    assert_non_null(strstr(first + 1, "HELLO 3")); /* both pipelined requests */
    assert_null(strstr(out.data, "ran on the worker"));
    cadre_buf_free(&out);
    cadre_pool_free(pool);
    pool = NULL;
}

static void test_inline_outside_a_request(void **state)
{
    (void)state;
    assert_int_equal(cadre_pool_new(1, 4, &pool), 0);
    job j = { .len = 2 };
    memcpy(j.text, "ok", 3);
    assert_int_equal(cadre_pool_run(pool, upcase, &j, sizeof j), 0);
    assert_string_equal(j.text, "OK");
    assert_true(pthread_equal(j.ran_on, pthread_self()));
    cadre_pool_free(pool);
    pool = NULL;
    assert_int_equal(cadre_pool_run(NULL, upcase, &j, sizeof j), 0); /* no pool: inline too */
    assert_int_equal(j.sum, 2);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    cadre_pool *p = (cadre_pool *)&p;
    assert_int_equal(cadre_pool_new(0, 4, &p), CADRE_EINVAL);
    assert_null(p);
    assert_int_equal(cadre_pool_new(257, 4, &p), CADRE_EINVAL);
    assert_int_equal(cadre_pool_new(1, 0, &p), CADRE_EINVAL);
    cadre_pool_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_off_the_worker),
        cmocka_unit_test(test_inline_outside_a_request),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
