/* An app's templates as a stack of module layers: a module's template rendered, the app's own of
 * the same name overriding it, extends and include resolved in the union, dependency order
 * deciding between modules, compile errors refusing the start with file:line, reloading a
 * directory layer, a compiled set given with cadre_templates_use among layers, and context
 * processors. Everything renders through an app and the test client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cadre.h>

#include "template_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SRC(name_, text_) { .name = (name_), .text = (text_), .len = sizeof(text_) - 1 }

/* GET /t/{name} renders the template named by the path (slashes as '~'). */
static int render_named(cadre_request *r)
{
    cadre_slice p = cadre_request_param(r, "name");
    char *name = cadre_arena_strndup(r->arena, p.ptr, p.len);
    for (char *c = name; *c; c++)
        *c = *c == '~' ? '/' : *c;
    return cadre_render(r, 200, name, CADRE_CTX({ "v", CADRE_TSTR("V") }));
}

static cadre_app *new_app(void)
{
    cadre_app *app = cadre_app_new("site");
    assert_non_null(app);
    cadre_get(app, "/t/{name}", render_named);
    return app;
}

/* The body of GET target (which must answer status), copied; the caller frees it. */
static char *get(cadre_app *app, const char *target, int status)
{
    cadre_test_response res;
    assert_int_equal(cadre_test_request(app, "GET", target, NULL, NULL, 0, &res), 0);
    if (res.status != status)
        fail_msg("GET %s: %d [%s], want %d", target, res.status, res.body, status);
    char *body = strdup(res.body);
    cadre_test_response_free(&res);
    return body;
}

static void expect_page(cadre_app *app, const char *target, const char *want)
{
    char *got = get(app, target, 200);
    if (strcmp(got, want) != 0)
        fail_msg("GET %s\n  got:  [%s]\n  want: [%s]", target, got, want);
    free(got);
}

static const cadre_template_source admin_templates[] = {
    SRC("admin/base.html", "[admin {% block content %}{% endblock %}]"),
    SRC("admin/page.html", "{% extends \"admin/base.html\" %}{% block content %}page {{ v }}"
                           "{% endblock %}"),
    SRC("admin/footer.html", "admin footer"),
    SRC("admin/list.html", "list; {% include \"admin/footer.html\" %}"),
};

static void test_module_template(void **state)
{
    (void)state;
    cadre_app *app = new_app();
    cadre_module *admin = cadre_module_add(app, "admin");
    assert_int_equal(cadre_templates_add(admin, admin_templates, 4), 0);
    expect_page(app, "/t/admin~page.html", "[admin page V]");
    expect_page(app, "/t/admin~list.html", "list; admin footer");
    cadre_app_free(app);
}

static void test_app_overrides_module(void **state)
{
    (void)state;
    cadre_app *app = new_app();
    static const cadre_template_source own[] = {
        SRC("admin/list.html", "the app's list"),
    };
    /* the app's own templates given first: the order of the calls does not matter */
    assert_int_equal(cadre_templates_add(app, own, 1), 0);
    assert_int_equal(cadre_templates_add(cadre_module_add(app, "admin"), admin_templates, 4), 0);
    expect_page(app, "/t/admin~list.html", "the app's list");
    expect_page(app, "/t/admin~page.html", "[admin page V]"); /* the others stay the module's */
    cadre_app_free(app);
}

static void test_extends_and_include_find_the_override(void **state)
{
    (void)state;
    cadre_app *app = new_app();
    assert_int_equal(cadre_templates_add(cadre_module_add(app, "admin"), admin_templates, 4), 0);
    static const cadre_template_source own[] = {
        SRC("admin/base.html", "<site {% block content %}{% endblock %}>"),
        SRC("admin/footer.html", "site footer"),
    };
    assert_int_equal(cadre_templates_add(app, own, 2), 0);
    /* the module's page extends and includes by name: the app's versions */
    expect_page(app, "/t/admin~page.html", "<site page V>");
    expect_page(app, "/t/admin~list.html", "list; site footer");
    cadre_app_free(app);
}

static void test_dependency_order_decides(void **state)
{
    (void)state;
    cadre_app *app = new_app();
    /* added in the reverse of their dependency order: the order of addition must not decide */
    cadre_module *admin = cadre_module_add(app, "admin", .depends = CADRE_DEPENDS("auth"));
    cadre_module *auth = cadre_module_add(app, "auth", .depends = CADRE_DEPENDS("core"));
    cadre_module *core = cadre_module_add(app, "core");
    static const cadre_template_source core_t[] = {
        SRC("x.html", "core"), SRC("y.html", "core"), SRC("z.html", "core"),
        SRC("w.html", "{% include \"y.html\" %}"),
    };
    static const cadre_template_source auth_t[] = { SRC("x.html", "auth"), SRC("y.html", "auth") };
    static const cadre_template_source admin_t[] = { SRC("x.html", "admin") };
    assert_int_equal(cadre_templates_add(admin, admin_t, 1), 0);
    assert_int_equal(cadre_templates_add(auth, auth_t, 2), 0);
    assert_int_equal(cadre_templates_add(core, core_t, 4), 0);
    expect_page(app, "/t/x.html", "admin");
    expect_page(app, "/t/y.html", "auth");
    expect_page(app, "/t/z.html", "core");
    expect_page(app, "/t/w.html", "auth"); /* core's include gets auth's y.html */
    cadre_app_free(app);
}

static void test_compile_error_refuses_start(void **state)
{
    (void)state;
    static const cadre_template_source bad[] = {
        SRC("admin/ok.html", "fine"),
        SRC("admin/bad.html", "line one\n  {% frobnicate %}"),
    };
    static const cadre_template_source unlinked[] = {
        SRC("admin/ok.html", "fine"),
        SRC("admin/child.html", "\n{% extends \"admin/nowhere.html\" %}"),
    };
    /* serving: the start hook compiles, and the app does not start (an alarm in case it would) */
    cadre_app *app = new_app();
    assert_int_equal(cadre_templates_add(cadre_module_add(app, "admin"), bad, 2), 0);
    cadre_app_config(app)->port = 0; /* were it to start, on no port in use */
    capture_begin();
    alarm(10);
    int rc = cadre_app_serve(app, NULL);
    alarm(0);
    capture_end();
    assert_int_equal(rc, CADRE_EPARSE);
    if (!strstr(logbuf, "admin/bad.html:2: unknown tag 'frobnicate' (column 6; module admin)"))
        fail_msg("log: [%s]", logbuf);
    assert_true(cadre_app_check(app) > 0); /* recorded as configuration errors */
    cadre_app_free(app);

    /* the test client: the first render compiles, answers 500, and the app refuses from then on */
    app = new_app();
    assert_int_equal(cadre_templates_add(cadre_module_add(app, "admin"), unlinked, 2), 0);
    capture_begin();
    free(get(app, "/t/admin~ok.html", 500));
    cadre_test_response res;
    assert_int_equal(cadre_test_request(app, "GET", "/t/admin~ok.html", NULL, NULL, 0, &res),
                     CADRE_EINVAL);
    capture_end();
    if (!strstr(logbuf, "admin/child.html:2: {% extends \"admin/nowhere.html\" %}: no such "
                        "template (module admin)"))
        fail_msg("log: [%s]", logbuf);
    cadre_app_free(app);

    /* a directory that cannot be read */
    app = new_app();
    assert_int_equal(cadre_templates_add_dir(app, "/nonexistent/templates", false), 0);
    capture_begin();
    free(get(app, "/t/x.html", 500));
    capture_end();
    if (!strstr(logbuf, "/nonexistent/templates:0: cannot read this templates directory"))
        fail_msg("log: [%s]", logbuf);
    cadre_app_free(app);
}

static void test_directory_layers_reload(void **state)
{
    (void)state;
    char mod_dir[] = "/tmp/cadre-stack-XXXXXX", app_dir[] = "/tmp/cadre-stack-XXXXXX";
    char page[256], base[256], extra[256], bad[256];
    assert_non_null(mkdtemp(mod_dir));
    assert_non_null(mkdtemp(app_dir));
    snprintf(page, sizeof page, "%s/page.html", mod_dir);
    snprintf(extra, sizeof extra, "%s/extra.html", mod_dir);
    snprintf(base, sizeof base, "%s/base.html", app_dir);
    snprintf(bad, sizeof bad, "%s/bad.html", app_dir);
    write_file(page, "{% extends \"base.html\" %}{% block b %}one{% endblock %}", 1000);
    write_file(base, "[{% block b %}{% endblock %}]", 1000);

    cadre_app *app = new_app();
    /* the module's directory reloads; the app's own does not, but a change in it is seen too:
     * the whole union is compiled again */
    assert_int_equal(cadre_templates_add_dir(cadre_module_add(app, "shop"), mod_dir, true), 0);
    assert_int_equal(cadre_templates_add_dir(app, app_dir, false), 0);
    expect_page(app, "/t/page.html", "[one]");

    write_file(page, "{% extends \"base.html\" %}{% block b %}two{% endblock %}", 2000);
    expect_page(app, "/t/page.html", "[two]");
    write_file(base, "<{% block b %}{% endblock %}>", 2000);
    expect_page(app, "/t/page.html", "<two>");
    write_file(extra, "new file", 1000); /* an older time, but one file more */
    expect_page(app, "/t/extra.html", "new file");
    /* a broken edit is logged and keeps the last good set; the app is not refused for it */
    capture_begin();
    write_file(bad, "{% if %}", 3000);
    expect_page(app, "/t/page.html", "<two>");
    capture_end();
    assert_non_null(strstr(logbuf, "bad.html:1:"));
    /* in development mode the broken edit is the page, with where it broke, until it is fixed */
    cadre_app_dev_mode(app, true);
    char *shown = get(app, "/t/page.html", 500);
    assert_non_null(strstr(shown, "<h1>Template error</h1>"));
    assert_non_null(strstr(shown, "/bad.html:1:"));
    free(shown);
    unlink(bad);
    write_file(page, "{% extends \"base.html\" %}{% block b %}three{% endblock %}", 4000);
    expect_page(app, "/t/page.html", "<three>");
    cadre_app_free(app);

    /* a set given to cadre_templates_use, loaded with reload: its reload recompiles the union */
    app = new_app();
    cadre_templates *t;
    assert_int_equal(cadre_templates_load_dir(app_dir, true, &t), 0);
    assert_int_equal(cadre_templates_use(app, t), 0);
    assert_int_equal(cadre_templates_add_dir(cadre_module_add(app, "shop"), mod_dir, false), 0);
    expect_page(app, "/t/page.html", "<three>");
    write_file(base, "{{ '{' }}{% block b %}{% endblock %}}", 5000);
    expect_page(app, "/t/page.html", "{three}");
    cadre_app_free(app);

    /* without reload anywhere, the first compile stays */
    app = new_app();
    assert_int_equal(cadre_templates_add_dir(cadre_module_add(app, "shop"), mod_dir, false), 0);
    assert_int_equal(cadre_templates_add_dir(app, app_dir, false), 0);
    expect_page(app, "/t/page.html", "{three}");
    write_file(page, "{% extends \"base.html\" %}{% block b %}four{% endblock %}", 6000);
    expect_page(app, "/t/page.html", "{three}");
    cadre_app_free(app);

    unlink(page);
    unlink(extra);
    unlink(base);
    rmdir(mod_dir);
    rmdir(app_dir);
}

static void test_templates_use_among_layers(void **state)
{
    (void)state;
    cadre_app *app = new_app();
    static const cadre_template_source own[] = { SRC("admin/base.html", "({% block content %}"
                                                                        "{% endblock %})") };
    cadre_templates *t;
    assert_int_equal(cadre_templates_load_sources(own, 1, &t), 0);
    assert_int_equal(cadre_templates_use(app, t), 0); /* the topmost layer */
    assert_int_equal(cadre_templates_add(cadre_module_add(app, "admin"), admin_templates, 4), 0);
    static const cadre_template_source own_add[] = {
        SRC("admin/base.html", "own {% block content %}{% endblock %}"),
    };
    assert_int_equal(cadre_templates_add(app, own_add, 1), 0);
    expect_page(app, "/t/admin~page.html", "(page V)");
    /* templates added after the first render join at the next one */
    static const cadre_template_source more[] = { SRC("more.html", "more") };
    assert_int_equal(cadre_templates_add(cadre_module_add(app, "late"), more, 1), 0);
    expect_page(app, "/t/more.html", "more");
    expect_page(app, "/t/admin~page.html", "(page V)");
    /* a second set replaces the first */
    static const cadre_template_source own2[] = {
        SRC("admin/base.html", "{{ '{' }}{% block content %}{% endblock %}}"),
    };
    assert_int_equal(cadre_templates_load_sources(own2, 1, &t), 0);
    assert_int_equal(cadre_templates_use(app, t), 0);
    expect_page(app, "/t/admin~page.html", "{page V}");
    cadre_app_free(app); /* frees both sets */

    /* alone, the set is rendered from as it is; replaced, the new one */
    app = new_app();
    assert_int_equal(cadre_templates_load_sources(own, 1, &t), 0);
    assert_int_equal(cadre_templates_use(app, t), 0);
    static const cadre_template_source one[] = { SRC("one.html", "one") };
    assert_int_equal(cadre_templates_load_sources(one, 1, &t), 0);
    expect_page(app, "/t/admin~base.html", "()");
    assert_int_equal(cadre_templates_use(app, t), 0);
    expect_page(app, "/t/one.html", "one");
    capture_begin();
    free(get(app, "/t/admin~base.html", 500));
    capture_end();
    assert_non_null(strstr(logbuf, "no template \"admin/base.html\""));
    cadre_app_free(app);
}

/* Context processors */
static int calls[8], ncalls;

static int user_processor(cadre_request *r, cadre_tctx_builder *b, void *ctx)
{
    (void)r;
    calls[ncalls++] = 1;
    cadre_tctx_add(b, "user", CADRE_TSTR((const char *)ctx));
    cadre_tctx_add(b, "site", CADRE_TMAP({ "name", CADRE_TSTR("first") },
                                         { "tags", CADRE_TMAP({ "a", CADRE_TINT(1) }) }));
    cadre_tctx_add(b, "v", CADRE_TSTR("processor's v"));
    return 0;
}

static int csrf_processor(cadre_request *r, cadre_tctx_builder *b, void *ctx)
{
    (void)ctx;
    calls[ncalls++] = 2;
    cadre_tctx_add(b, "csrf_token", CADRE_TSTR(cadre_arena_strndup(r->arena, "tok123", 6)));
    cadre_tctx_add(b, "site", CADRE_TMAP({ "name", CADRE_TSTR("second") })); /* later wins */
    return 0;
}

static int failing_processor(cadre_request *r, cadre_tctx_builder *b, void *ctx)
{
    (void)r, (void)b, (void)ctx;
    return CADRE_EBUSY;
}

static void test_context_processors(void **state)
{
    (void)state;
    cadre_app *app = new_app();
    static const cadre_template_source t[] = {
        SRC("p.html", "{{ user }}|{{ csrf_token }}|{{ site.name }}|{{ site.tags.a }}|{{ v }}|"
                      "{{ request.method }} {{ request.path }} {{ request.route }} "
                      "[{{ request.query }}]"),
    };
    assert_int_equal(cadre_templates_add(app, t, 1), 0);
    assert_int_equal(cadre_templates_processor(app, user_processor, "ann"), 0);
    assert_int_equal(cadre_templates_processor(app, csrf_processor, NULL), 0);
    assert_int_equal(cadre_templates_processor(app, cadre_context_request, NULL), 0);
    assert_int_equal(cadre_templates_processor(app, NULL, NULL), CADRE_EINVAL);
    ncalls = 0;
    /* the handler's own v wins over the processor's */
    expect_page(app, "/t/p.html?a=1&b=%3C",
                "ann|tok123|second||V|GET /t/p.html /t/{name} [a=1&amp;b=%3C]");
    assert_int_equal(ncalls, 2);
    assert_int_equal(calls[0], 1);
    assert_int_equal(calls[1], 2);
    expect_page(app, "/t/p.html", "ann|tok123|second||V|GET /t/p.html /t/{name} []");
    cadre_app_free(app);

    /* a nested map survives its processor's stack frame (copied into the request's arena) */
    app = new_app();
    static const cadre_template_source t2[] = {
        SRC("q.html", "{{ site.name }}/{{ site.tags.a }}"),
    };
    assert_int_equal(cadre_templates_add(app, t2, 1), 0);
    assert_int_equal(cadre_templates_processor(app, user_processor, "ann"), 0);
    expect_page(app, "/t/q.html", "first/1");
    /* a processor's error is the render's: EBUSY answers 503 */
    assert_int_equal(cadre_templates_processor(app, failing_processor, NULL), 0);
    capture_begin();
    free(get(app, "/t/q.html", 503));
    capture_end();
    cadre_app_free(app);
}

/* Development mode: a name or attribute that is not defined is a warning with the template,
 * line and column (once per render); |default's operand may be missing; production mode is
 * silent. */
static void test_dev_mode_warns_of_undefined_names(void **state)
{
    (void)state;
    static const cadre_template_source src[] = {
        SRC("typo.html", "<h1>{{ v }}</h1>\n<p>{{ titel }} {{ titel }}</p>\n"
                         "{{ v.nmae }}{{ gone|default(\"-\") }}"),
    };
    for (int dev = 0; dev < 2; dev++) {
        cadre_app *app = new_app();
        cadre_templates_add(app, src, 1);
        cadre_app_dev_mode(app, dev == 1);
        char path[] = "/tmp/cadre-devlog-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        cadre_log_configure(CADRE_LOG_WARN, CADRE_LOG_PLAIN, fd);
        char *body = get(app, "/t/typo.html", 200);
        cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, 2);
        assert_string_equal(body, "<h1>V</h1>\n<p> </p>\n-");
        free(body);
        char log[4096] = { 0 };
        assert_true(pread(fd, log, sizeof log - 1, 0) >= 0);
        close(fd);
        unlink(path);
        if (!dev) {
            assert_null(strstr(log, "not defined"));
            assert_null(strstr(log, "attribute"));
        } else {
            const char *first = strstr(log, "typo.html:2:7: 'titel' is not defined");
            assert_non_null(first);
            const char *second = strstr(first + 1, "typo.html:2:19: 'titel' is not defined");
            assert_non_null(second);
            if (strstr(second + strlen("typo.html:2:19: 'titel'"), "'titel'")) /* each once */
                fail_msg("warned more than once: %s", log);
            assert_non_null(strstr(log, "typo.html:3:6: v has no attribute 'nmae'"));
            assert_null(strstr(log, "gone"));
        }
        cadre_app_free(app);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_module_template),
        cmocka_unit_test(test_app_overrides_module),
        cmocka_unit_test(test_extends_and_include_find_the_override),
        cmocka_unit_test(test_dependency_order_decides),
        cmocka_unit_test(test_compile_error_refuses_start),
        cmocka_unit_test(test_directory_layers_reload),
        cmocka_unit_test(test_templates_use_among_layers),
        cmocka_unit_test(test_context_processors),
        cmocka_unit_test(test_dev_mode_warns_of_undefined_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
