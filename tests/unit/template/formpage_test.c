/* Form pages (CADRE_FORM_PAGE) through the in-process test client, on SQLite: the form shown,
 * validation errors beside the fields, a field list that takes nothing else from the request,
 * a save function's own errors and answers, the database's refusals per field, foreign keys as
 * a select (or a number input with suggestions past CADRE_FORM_CHOICES), text as a textarea. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cadre.h>

#include "db/engine_fixture.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define AUTHOR_FIELDS(F) F(int64, id, CADRE_PRIMARY_KEY) F(string, name, CADRE_MAX_LEN(100))
CADRE_MODEL(author, AUTHOR_FIELDS)

#define POST_FIELDS(F)                                                                             \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, title, CADRE_MIN_LEN(1), CADRE_MAX_LEN(120), CADRE_UNIQUE)                           \
    F(string, body)                                                                                \
    F(bool, published, CADRE_DEFAULT(false))                                                       \
    F(int64, views, CADRE_DEFAULT(0))                                                              \
    F(int64, author_id, CADRE_FOREIGN_KEY(author, CADRE_ON_DELETE_CASCADE))
CADRE_MODEL(post, POST_FIELDS)

static cadre_db *db;
static cadre_app *app;

static const cadre_template_source templates[] = {
    { .name = "form.html", .text = "<form method=\"post\">{{ form }}</form>", .len = 36 },
    { .name = "author_post.html", .text = "<h1>{{ author.name }}</h1>{{ form }}", .len = 36 },
};

/* The author of /authors/{id}/posts/new, for the page (404 when there is none). */
static int author_context(cadre_request *r, cadre_tctx_builder *b)
{
    int64_t id;
    author *a = cadre_alloc(r, sizeof *a);
    bool found = false;
    if (cadre_slice_to_i64(cadre_request_param(r, "id"), false, &id) != 0)
        return CADRE_ENOTFOUND;
    int rc = author_get(db, r->arena, id, a, &found);
    if (rc)
        return rc;
    if (!found)
        return CADRE_ENOTFOUND;
    cadre_tctx_add(b, "author", CADRE_TOBJ(author, a));
    return 0;
}

/* A post of the author the path names. */
static int save_author_post(cadre_request *r, post *p, cadre_verrors *errs)
{
    (void)errs;
    if (cadre_slice_to_i64(cadre_request_param(r, "id"), false, &p->author_id) != 0)
        return CADRE_ENOTFOUND;
    cadre_set(p, post, author_id);
    return post_insert(db, r->arena, p);
}

/* A save function of the app's: a title that is "spam" is refused beside its field; "redirect"
 * answers itself; "fail" is the database down. */
static int save_post(cadre_request *r, post *p, cadre_verrors *errs)
{
    if (cadre_slice_eq_cstr(p->title, "spam")) {
        cadre_verrors_add_field(errs, "body", "title", "value_error", "No spam, please.", p->title);
        return 0;
    }
    if (cadre_slice_eq_cstr(p->title, "fail"))
        return CADRE_ECLOSED;
    cadre_set(p, post, views);
    p->views = 1; /* a field the form does not take, set by the app */
    int rc = post_insert(db, r->arena, p);
    if (rc == CADRE_EEXIST && post_conflicts(db, r->arena, p, -1, errs) > 0)
        return 0;
    if (rc)
        return rc;
    if (cadre_slice_eq_cstr(p->title, "redirect"))
        return cadre_redirect(r, 303, "/elsewhere");
    return 0;
}

static cadre_test_response res;

static void request(const char *method, const char *target, const char *form)
{
    cadre_test_response_free(&res);
    assert_int_equal(cadre_test_request(app, method, target,
                                        form ? "Content-Type: application/x-www-form-urlencoded\r\n"
                                             : NULL,
                                        form, form ? strlen(form) : 0, &res),
                     0);
}

static void has(const char *text)
{
    if (!strstr(res.body, text))
        fail_msg("no %s in %d %s", text, res.status, res.body);
}

static int64_t count_posts(const char *title)
{
    cadre_arena a;
    cadre_arena_init(&a, 0);
    cadre_query q;
    int64_t n = -1;
    post_query(&q, db, &a);
    cadre_q_filter(&q, "title", CADRE_PTEXT(title));
    assert_int_equal(cadre_q_count(&q, &n), 0);
    cadre_arena_free(&a);
    return n;
}

static int setup(void **state)
{
    if (engine_setup(state))
        return -1;
    if (cadre_db_open(url, &db))
        return -1;
    char *sql[2] = { NULL, NULL };
    cadre_buf b;
    const cadre_schema *models[] = { CADRE_SCHEMA_OF(author), CADRE_SCHEMA_OF(post) };
    cadre_db_exec_script(db, "DROP TABLE IF EXISTS post; DROP TABLE IF EXISTS author");
    for (int i = 0; i < 2; i++) {
        cadre_buf_init(&b, 1 << 16);
        if (cadre_model_create_sql(models[i], cadre_db_engine(db), &b) ||
            cadre_buf_append(&b, "", 1) || cadre_db_exec_script(db, b.data))
            return -1;
        sql[i] = b.data;
    }
    free(sql[0]);
    free(sql[1]);
    app = cadre_app_new("forms");
    cadre_templates_add(app, templates, 2);
    CADRE_FORM_PAGE(app, "/posts/new", post, "form.html", save_post,
                    .fields = "title,body,author_id", .db = db, .success = "/posts");
    CADRE_FORM_PAGE(app, "/authors/new", author, "form.html", NULL, .db = db);
    CADRE_FORM_PAGE(app, "/authors/{id}/posts/new", post, "author_post.html", save_author_post,
                    .fields = "title,body", .db = db, .context = author_context,
                    .success = "/posts");
    return cadre_app_check(app) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    cadre_test_response_free(&res);
    cadre_app_free(app);
    cadre_db_close(db);
    return engine_teardown(state);
}

static void test_model_form_without_save(void **state)
{
    (void)state;
    request("GET", "/authors/new", NULL);
    assert_int_equal(res.status, 200);
    has("<input type=\"text\" name=\"name\" id=\"id_name\" value=\"\" required maxlength=\"100\">");
    request("POST", "/authors/new", "name=Ann");
    assert_int_equal(res.status, 303);
    assert_string_equal(cadre_test_header(&res, "Location"), "/authors/new");
    request("POST", "/authors/new", "name=");
    assert_int_equal(res.status, 422);
    has("<span class=\"error\">Field required</span>");
    /* not a form */
    cadre_test_response_free(&res);
    assert_int_equal(cadre_test_request(app, "POST", "/authors/new",
                                        "Content-Type: application/json\r\n", "{\"name\":\"x\"}",
                                        12, &res),
                     0);
    assert_int_equal(res.status, 415);
}

static void test_form_with_fields_and_save(void **state)
{
    (void)state;
    request("POST", "/authors/new", "name=Bob+%3Cthe+author%3E");
    assert_int_equal(res.status, 303);
    request("GET", "/posts/new", NULL);
    assert_int_equal(res.status, 200);
    /* only the listed fields, in the schema's order; text without a maximum is a textarea; the
     * foreign key a select of the authors, labelled by their name, escaped */
    has("<label for=\"id_body\">Body</label> <textarea name=\"body\" id=\"id_body\" rows=\"6\" "
        "required></textarea>");
    has("<label for=\"id_author_id\">Author</label> <select name=\"author_id\" id=\"id_author_id\" "
        "required><option value=\"\">---------</option><option value=\"1\">Ann</option>"
        "<option value=\"2\">Bob &lt;the author&gt;</option></select>");
    assert_null(strstr(res.body, "name=\"published\""));
    assert_null(strstr(res.body, "name=\"views\""));

    /* what was typed comes back escaped, a textarea cannot be closed from inside */
    request("POST", "/posts/new", "title=&body=%3C%2Ftextarea%3E%3Cb%3E&author_id=2");
    assert_int_equal(res.status, 422);
    has("<textarea name=\"body\" id=\"id_body\" rows=\"6\" required>&lt;/textarea&gt;&lt;b&gt;"
        "</textarea>");
    has("<option value=\"2\" selected>");

    /* fields outside the list are never taken: published and views keep their defaults (views
     * is then set by save) */
    request("POST", "/posts/new", "title=Hello&body=Text&author_id=1&published=true&views=999&id=50");
    assert_int_equal(res.status, 303);
    assert_string_equal(cadre_test_header(&res, "Location"), "/posts");
    cadre_arena a;
    cadre_arena_init(&a, 0);
    cadre_query q;
    post p;
    post_query(&q, db, &a);
    cadre_q_filter(&q, "title", CADRE_PTEXT("Hello"));
    assert_int_equal(cadre_q_get(&q, &p), 0);
    assert_false(p.published);
    assert_int_equal(p.views, 1);
    assert_int_not_equal(p.id, 50);
    cadre_arena_free(&a);

    /* save's own error, beside its field; nothing written */
    request("POST", "/posts/new", "title=spam&body=x&author_id=1");
    assert_int_equal(res.status, 422);
    has("<span class=\"error\">No spam, please.</span>");
    assert_int_equal(count_posts("spam"), 0);
    /* the database's refusal, per field: a title taken */
    request("POST", "/posts/new", "title=Hello&body=again&author_id=1");
    assert_int_equal(res.status, 422);
    has("<span class=\"error\">Post with this title already exists.</span>");
    /* save answering itself, and failing */
    request("POST", "/posts/new", "title=redirect&body=x&author_id=1");
    assert_int_equal(res.status, 303);
    assert_string_equal(cadre_test_header(&res, "Location"), "/elsewhere");
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    request("POST", "/posts/new", "title=fail&body=x&author_id=1");
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    assert_int_equal(res.status, 503);
}

/* A form page with names of its own (.context): the author the path names, or a 404. */
static void test_page_context(void **state)
{
    (void)state;
    request("GET", "/authors/1/posts/new", NULL);
    assert_int_equal(res.status, 200);
    has("<h1>Ann</h1>");
    assert_null(strstr(res.body, "name=\"author_id\""));
    request("POST", "/authors/1/posts/new", "title=&body=x");
    assert_int_equal(res.status, 422);
    has("<h1>Ann</h1>"); /* the page again, with its names */
    request("POST", "/authors/1/posts/new", "title=By+Ann&body=x");
    assert_int_equal(res.status, 303);
    assert_int_equal(count_posts("By Ann"), 1);
    request("GET", "/authors/999/posts/new", NULL);
    assert_int_equal(res.status, 404);
}

/* Past CADRE_FORM_CHOICES rows a foreign key is a number input with suggestions. */
static void test_many_choices(void **state)
{
    (void)state;
    cadre_arena a;
    cadre_arena_init(&a, 0);
    for (int i = 0; i < CADRE_FORM_CHOICES; i++) {
        author x = { .name = cadre_slice_cstr(cadre_arena_printf(&a, "author %03d", i)) };
        assert_int_equal(author_insert(db, &a, &x), 0);
    }
    cadre_arena_free(&a);
    request("GET", "/posts/new", NULL);
    assert_int_equal(res.status, 200);
    has("<input type=\"text\" inputmode=\"numeric\" name=\"author_id\" id=\"id_author_id\" "
        "required list=\"id_author_id_list\" data-search=\"/posts/new/choices?field=author_id\" "
        "autocomplete=\"off\" value=\"\"><datalist id=\"id_author_id_list\">");
    has("<script>document.querySelectorAll('input[data-search]')");
    assert_null(strstr(res.body, "<select name=\"author_id\""));
    /* the search it asks as the user types: labels holding the text, by label, at most 20 */
    request("GET", "/posts/new/choices?field=author_id&q=AUTHOR+05", NULL);
    assert_int_equal(res.status, 200);
    assert_string_equal(cadre_test_header(&res, "Content-Type"), "application/json");
    assert_true(strncmp(res.body, "[{\"value\":", 10) == 0);
    has("\"label\":\"author 050\"},");
    has("\"label\":\"author 059\"}]");
    assert_null(strstr(res.body, "author 060"));
    request("GET", "/posts/new/choices?field=author_id", NULL);
    size_t n = 0;
    for (const char *p = res.body; (p = strstr(p, "\"value\":")); p++)
        n++;
    assert_int_equal(n, 20);
    request("GET", "/posts/new/choices?field=views", NULL); /* not a key of the form */
    assert_int_equal(res.status, 404);
    request("GET", "/posts/new/choices?field=nope", NULL);
    assert_int_equal(res.status, 404);
}

/* A handler reading rows one by one: the same query per row. */
static int one_by_one(cadre_request *r)
{
    for (int64_t id = 1; id <= 12; id++) {
        author a;
        bool found;
        int rc = author_get(db, r->arena, id, &a, &found);
        if (rc)
            return rc;
    }
    return cadre_respond(r, 200, "text/plain", "ok", 2);
}

/* Development mode says when one request runs the same SELECT more than 10 times (an N+1);
 * production mode does not look. */
static void test_n_plus_one_warning(void **state)
{
    (void)state;
    for (int dev = 0; dev < 2; dev++) {
        cadre_app *a = cadre_app_new("loop");
        cadre_get(a, "/loop", one_by_one);
        cadre_app_dev_mode(a, dev == 1);
        char path[] = "/tmp/cadre-nplus1-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        cadre_log_configure(CADRE_LOG_WARN, CADRE_LOG_PLAIN, fd);
        cadre_test_response r2;
        assert_int_equal(cadre_test_request(a, "GET", "/loop", NULL, NULL, 0, &r2), 0);
        cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, 2);
        assert_int_equal(r2.status, 200);
        cadre_test_response_free(&r2);
        char log[4096] = { 0 };
        assert_true(pread(fd, log, sizeof log - 1, 0) >= 0);
        close(fd);
        unlink(path);
        const char *w = strstr(log, "GET /loop ran the same query more than 10 times (an N+1?");
        if (dev) {
            assert_non_null(w);
            assert_null(strstr(w + strlen("GET /loop ran"), "ran the same query")); /* once */
        } else {
            assert_null(w);
        }
        cadre_app_free(a);
    }
}

/* Configuration mistakes stop the app at start, naming them. */
static void test_configuration_errors(void **state)
{
    (void)state;
    cadre_app *bad = cadre_app_new("bad");
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    assert_int_equal(CADRE_FORM_PAGE(bad, "/p", post, "form.html", save_post, .fields = "title,nope"),
                     CADRE_EINVAL);
    assert_int_equal(CADRE_FORM_PAGE(bad, "/a", author, "form.html", NULL), CADRE_EINVAL); /* no db */
    assert_int_equal(cadre_app_check(bad), 2);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    cadre_app_free(bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_model_form_without_save),
        cmocka_unit_test(test_form_with_fields_and_save),
        cmocka_unit_test(test_page_context),
        cmocka_unit_test(test_many_choices),
        cmocka_unit_test(test_configuration_errors),
        cmocka_unit_test(test_n_plus_one_warning),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
