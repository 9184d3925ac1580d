/* The template engine: syntax, values from schema structs, filters, inheritance, include,
 * whitespace control, autoescape and XSS cases, compile errors with file:line:column, loading a
 * directory and reloading it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cadre.h>

#include "template_fixture.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KIND_VALUES(V) V(KIND_BOOK, "book") V(KIND_TOOL, "tool")
CADRE_ENUM(kind, KIND_VALUES)

#define MAKER_FIELDS(F) F(string, name)
CADRE_SCHEMA(maker, MAKER_FIELDS)

#define ITEM_FIELDS(F)                                                                             \
    F(int64, id)                                                                                   \
    F(string, name)                                                                                \
    F(double, price)                                                                               \
    F(bool, in_stock)                                                                              \
    F(enum(kind), kind)                                                                            \
    F(date, added)                                                                                 \
    F(strings, tags)                                                                               \
    F(object(maker), maker)                                                                        \
    F(string, note, CADRE_OPTIONAL)
CADRE_SCHEMA(item, ITEM_FIELDS)

#define AVATAR_FIELDS(F) F(string, title, CADRE_OPTIONAL) F(file, avatar) F(files, extra, CADRE_OPTIONAL)
CADRE_SCHEMA(avatar_form, AVATAR_FIELDS)

#define SIGNUP_FIELDS(F)                                                                           \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, user_name, CADRE_MIN_LEN(1), CADRE_MAX_LEN(20))                                      \
    F(int32, age, CADRE_GE(0))                                                                     \
    F(enum(kind), kind)                                                                            \
    F(bool, newsletter, CADRE_DEFAULT(false))                                                      \
    F(string, password)
CADRE_SCHEMA(signup, SIGNUP_FIELDS)

/* Renders name from the sources (name, text pairs) with ctx; NULL when compiling fails. */
static char *render_from(const char *const *src, size_t npairs, const char *name, cadre_tctx ctx)
{
    cadre_template_source s[16];
    for (size_t i = 0; i < npairs; i++)
        s[i] = (cadre_template_source){ .name = src[2 * i], .text = src[2 * i + 1], .len = strlen(src[2 * i + 1]) };
    cadre_templates *t;
    if (cadre_templates_load_sources(s, npairs, &t) != 0)
        return NULL;
    cadre_buf out;
    cadre_buf_init(&out, 1 << 20);
    int rc = cadre_template_render(t, name, &ctx, &out);
    assert_int_equal(rc, 0);
    char *copy = strndup(out.data ? out.data : "", out.len);
    cadre_buf_free(&out);
    cadre_templates_free(t);
    return copy;
}

static void expect(const char *text, cadre_tctx ctx, const char *want)
{
    const char *src[] = { "t.html", text };
    char *got = render_from(src, 1, "t.html", ctx);
    if (!got)
        fail_msg("did not compile: %s", text);
    if (strcmp(got, want) != 0)
        fail_msg("%s\n  got:  [%s]\n  want: [%s]", text, got, want);
    free(got);
}

/* Compiles a template named name, capturing the log lines a failing compile writes. */
static int refuse(const char *name, const char *text)
{
    capture_begin();
    cadre_template_source s = { .name = name, .text = text, .len = strlen(text) };
    cadre_templates *t = NULL;
    int rc = cadre_templates_load_sources(&s, 1, &t);
    cadre_templates_free(t);
    capture_end();
    return rc;
}

static void test_output_and_escaping(void **state)
{
    (void)state;
    cadre_tctx ctx = CADRE_CTX({ "name", CADRE_TSTR("<b>Tom & \"Jerry\"'s</b>") },
                               { "n", CADRE_TINT(42) }, { "x", CADRE_TDOUBLE(9.5) },
                               { "y", CADRE_TDOUBLE(120) }, { "yes", CADRE_TBOOL(true) },
                               { "nothing", CADRE_TNONE },
                               { "markup", CADRE_TSAFE("<em>trusted</em>") });
    expect("Hello {{ name }}!", ctx,
           "Hello &lt;b&gt;Tom &amp; &#34;Jerry&#34;&#39;s&lt;/b&gt;!");
    expect("{{ n }} {{ x }} {{ y }} {{ yes }} {{ nothing }} [{{ missing }}] {{ missing.deeper }}",
           ctx, "42 9.5 120.0 True None [] ");
    expect("{{ markup }} {{ name|safe }}", ctx, "<em>trusted</em> <b>Tom & \"Jerry\"'s</b>");
    expect("{{ \"it's\" }}{{ 'a\\\"b' }}", ctx, "it&#39;sa&#34;b");
    expect("{# a comment #}a{# another {{ x }} #}b", ctx, "ab");
    expect("{{ a }} {{ b }} {{ c }} {{ d }} {{ e }}",
           CADRE_CTX({ "a", CADRE_TINT(0) }, { "b", CADRE_TINT(-5) },
                     { "c", CADRE_TINT(INT64_MIN) }, { "d", CADRE_TINT(INT64_MAX) },
                     { "e", CADRE_TINT(1000000) }),
           "0 -5 -9223372036854775808 9223372036854775807 1000000");
    expect("no tags at all", CADRE_CTX_NONE, "no tags at all");
    expect("", CADRE_CTX_NONE, "");
}

static void test_conditions(void **state)
{
    (void)state;
    cadre_tctx ctx = CADRE_CTX({ "n", CADRE_TINT(5) }, { "s", CADRE_TSTR("abc") },
                               { "empty", CADRE_TSTR("") }, { "t", CADRE_TBOOL(true) });
    const char *tpl = "{% if n > 10 %}big{% elif n >= 5 %}mid{% else %}small{% endif %}";
    expect(tpl, ctx, "mid");
    expect("{% if n == 5 and s == 'abc' %}y{% endif %}", ctx, "y");
    expect("{% if n != 5 or not t %}y{% else %}n{% endif %}", ctx, "n");
    expect("{% if empty %}y{% else %}n{% endif %}{% if missing %}y{% else %}n{% endif %}", ctx, "nn");
    expect("{% if 'b' in s %}in{% endif %}{% if 'z' not in s %} out{% endif %}", ctx, "in out");
    expect("{% if (n < 3 or n > 4) and not (s == 'x') %}ok{% endif %}", ctx, "ok");
    /* {% set %}: seen by what follows; a loop body's sets end with each iteration */
    expect("{% set big = n > 3 %}{% set label = s|upper %}{{ big }} {{ label }}"
           "{% set label = 'again' %} {{ label }}", ctx, "True ABC again");
    static const cadre_tvalue nums[] = { CADRE_TINT(1), CADRE_TINT(2), CADRE_TINT(3) };
    cadre_tvalue xs = { .kind = CADRE_TV_VALUES, .u.values = { nums, 3 } };
    expect("{% set total = 0 %}{% for i in xs %}{% set total = i %}[{{ total }}]{% endfor %}"
           "{{ total }}", CADRE_CTX({ "xs", xs }), "[1][2][3]0");
    expect("{% if n < 5.5 %}lt{% endif %}{% if s < 'abd' %} slt{% endif %}", ctx, "lt slt");
}

static void test_loops_and_structs(void **state)
{
    (void)state;
    cadre_slice tags[] = { cadre_slice_cstr("red"), cadre_slice_cstr("<big>") };
    item items[2] = {
        { .id = 1, .name = cadre_slice_cstr("hammer"), .price = 9.5, .in_stock = true,
          .kind = KIND_TOOL, .added = { 2026, 11, 26 }, .tags = { tags, 2 },
          .maker = { .name = cadre_slice_cstr("Acme") } },
        { .id = 2, .name = cadre_slice_cstr("<script>"), .price = 3, .kind = KIND_BOOK,
          .added = { 2025, 1, 5 }, .note = cadre_slice_cstr("signed"), .cadre_set_ = 1u << 8 },
    };
    cadre_tctx ctx = CADRE_CTX({ "items", CADRE_TLIST(item, items, 2) },
                               { "none", CADRE_TLIST(item, items, 0) },
                               { "one", CADRE_TOBJ(item, &items[0]) },
                               { "site", CADRE_TMAP({ "title", CADRE_TSTR("Shop") },
                                                     { "year", CADRE_TINT(2026) }) });
    expect("{% for i in items %}{{ loop.index }}/{{ loop.length }} {{ i.name }} {{ i.price }} "
           "{{ i.kind }}{% if loop.first %} first{% endif %}{% if loop.last %} last{% endif %};"
           "{% endfor %}",
           ctx, "1/2 hammer 9.5 tool first;2/2 &lt;script&gt; 3.0 book last;");
    expect("{% for i in none %}x{% empty %}nothing{% endfor %}", ctx, "nothing");
    expect("{% for i in none %}x{% else %}nothing{% endfor %}", ctx, "nothing");
    expect("{% for i in missing %}x{% empty %}e{% endfor %}", ctx, "e");
    expect("{{ one.maker.name }} {{ one.added }} {{ one.added|date('%d/%m/%Y') }} {{ one.note }} "
           "{{ (items|last).name }}", ctx, "Acme 2026-11-26 26/11/2026 None &lt;script&gt;");
    expect("{% for t in one.tags %}[{{ t }}]{% endfor %} {{ one.tags|join(', ') }} "
           "{{ one.tags|length }}",
           ctx, "[red][&lt;big&gt;] red, &lt;big&gt; 2");
    expect("{{ site.title }} {{ site.year }} {% if 'title' in site %}has{% endif %}", ctx,
           "Shop 2026 has");
    expect("{{ items[0].name }} {{ items[-1].id }} {{ items[2].id }}{{ site['title'] }} "
           "{{ one['maker'].name }} {% for i in items %}{{ items[loop.index0].id }}{% endfor %} "
           "{{ one.tags[1] }}",
           ctx, "hammer 2 Shop Acme 12 &lt;big&gt;");
    expect("{% for i in items %}{% for t in i.tags %}{{ loop.index0 }}{{ t }}{% endfor %}|{% endfor %}",
           ctx, "0red1&lt;big&gt;||");
    expect("{{ (items|first).name }}{{ (none|first).name }}", ctx, "hammer");
}

static void test_filters(void **state)
{
    (void)state;
    cadre_tctx ctx = CADRE_CTX({ "s", CADRE_TSTR("  hello wORLD of templates  ") },
                               { "long", CADRE_TSTR("The quick brown fox jumps over the lazy dog") },
                               { "e", CADRE_TSTR("") }, { "q", CADRE_TSTR("a b&c/é") },
                               { "n", CADRE_TINT(3) },
                               { "m", CADRE_TMAP({ "a", CADRE_TINT(1) },
                                                 { "b", CADRE_TSTR("</script>'") }) });
    expect("{{ s|trim|upper }}|{{ s|trim|lower }}|{{ s|trim|title }}|{{ s|trim|capitalize }}", ctx,
           "HELLO WORLD OF TEMPLATES|hello world of templates|Hello World Of Templates|"
           "Hello world of templates");
    expect("{{ s|length }} {{ 'héllo'|length }} {{ m|length }} {{ n|length }}", ctx, "28 5 2 0");
    expect("{{ missing|default('x') }} {{ e|default('y') }} {{ e|default('y', true) }} "
           "{{ n|d(7) }}", ctx, "x  y 3");
    expect("{{ long|truncate(20) }}|{{ long|truncate(9, '…') }}|{{ long|truncate(100) }}", ctx,
           "The quick brown...|The…|The quick brown fox jumps over the lazy dog");
    expect("{{ q|urlencode }}", ctx, "a%20b%26c/%C3%A9");
    expect("<script>var m = {{ m|json }};</script>", ctx,
           "<script>var m = {\"a\":1,\"b\":\"\\u003c/script\\u003e\\u0027\"};</script>");
    expect("{{ 'x'|e }}{{ '<i>'|e|e }}{{ '<i>'|escape|upper }}", ctx, "x&lt;i&gt;&LT;I&GT;");
}

static void test_inheritance_and_include(void **state)
{
    (void)state;
    const char *src[] = {
        "base.html", "<title>{% block title %}Site{% endblock %}</title>"
                     "<main>{% block content %}base content{% endblock %}</main>"
                     "{% include 'footer.html' %}",
        "footer.html", "<footer>{{ year }}</footer>",
        "mid.html", "{% extends \"base.html\" %}{% block title %}{{ super() }} - Mid{% endblock %}"
                    "ignored text",
        "page.html", "{% extends 'mid.html' %}"
                     "{% block title %}Page | {{ super() }}{% endblock title %}"
                     "{% block content %}<h1>{{ heading }}</h1>{% block inner %}in{% endblock %}"
                     "{% endblock %}",
    };
    cadre_tctx ctx = CADRE_CTX({ "heading", CADRE_TSTR("Hi & bye") }, { "year", CADRE_TINT(2026) });
    char *got = render_from(src, 4, "page.html", ctx);
    assert_non_null(got);
    assert_string_equal(got, "<title>Page | Site - Mid</title><main><h1>Hi &amp; bye</h1>in</main>"
                             "<footer>2026</footer>");
    free(got);
    got = render_from(src, 4, "mid.html", ctx);
    assert_string_equal(got, "<title>Site - Mid</title><main>base content</main><footer>2026</footer>");
    free(got);
    got = render_from(src, 4, "base.html", ctx);
    assert_string_equal(got, "<title>Site</title><main>base content</main><footer>2026</footer>");
    free(got);
}

static void test_whitespace_control(void **state)
{
    (void)state;
    cadre_tctx ctx = CADRE_CTX({ "xs", CADRE_TMAP({ "a", CADRE_TINT(1) }) }, { "v", CADRE_TINT(1) });
    expect("<ul>\n  {%- if v %}\n    <li>{{ v }}</li>\n  {%- endif %}\n</ul>", ctx,
           "<ul>\n    <li>1</li>\n</ul>");
    expect("a   {{- v -}}   b", ctx, "a1b");
    expect("a  {#- gone -#}  b", ctx, "ab");
    expect("a\n{% if v -%}\n  b\n{%- endif %}\nc", ctx, "a\nb\nc");
}

/* Autoescape where it matters: text, quoted attributes, script; refusals where it cannot help. */
static void test_xss(void **state)
{
    (void)state;
    cadre_tctx ctx = CADRE_CTX({ "evil", CADRE_TSTR("\"><script>alert(1)</script><a x='") },
                               { "url", CADRE_TSTR("javascript:alert(1)\" onclick=\"x") });
    expect("<p title=\"{{ evil }}\">{{ evil }}</p>", ctx,
           "<p title=\"&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;a x=&#39;\">"
           "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;a x=&#39;</p>");
    expect("<a href='{{ url }}'>x</a>", ctx,
           "<a href='javascript:alert(1)&#34; onclick=&#34;x'>x</a>");
    expect("<input value=\"{{ evil|upper }}\">", ctx,
           "<input value=\"&#34;&gt;&lt;SCRIPT&gt;ALERT(1)&lt;/SCRIPT&gt;&lt;A X=&#39;\">");
}

static void test_compile_errors(void **state)
{
    (void)state;
    /* an interpolation in a tag outside quotes cannot be escaped safely: refused at compile time */
    assert_int_equal(refuse("attr.html", "<a href={{ url }}>x</a>"), CADRE_EPARSE);
    assert_non_null(strstr(logbuf, "attr.html:1:9: {{ }} inside an HTML tag"));
    assert_int_equal(refuse("attr2.html", "<p>\n<div {{ attrs }}>"), CADRE_EPARSE);
    assert_non_null(strstr(logbuf, "attr2.html:2:6:"));
    assert_int_equal(refuse("ok.html", "<div {{ attrs|safe }} class=\"{{ c }}\">"), 0);
    /* quotes inside an HTML comment are text: they do not hide the next tag's context */
    assert_int_equal(refuse("c.html", "<!-- it's \" -->\n<a href={{ u }}>x</a>"), CADRE_EPARSE);
    assert_non_null(strstr(logbuf, "c.html:2:9:"));
    assert_int_equal(refuse("c2.html", "<!-- <a href= --><p>{{ u }}</p>"), 0);
    /* nesting is bounded (the parser and renderer recurse on coroutine stacks) */
    char deep[4096] = "";
    for (int i = 0; i < 40; i++)
        strcat(deep, "{% if x %}");
    assert_int_equal(refuse("deep.html", deep), CADRE_EPARSE);
    assert_non_null(strstr(logbuf, "nested more than 32 deep"));
    char parens[512] = "{{ ";
    for (int i = 0; i < 100; i++)
        strcat(parens, "(");
    assert_int_equal(refuse("parens.html", parens), CADRE_EPARSE);
    assert_int_equal(refuse("script.html", "<script>if (a < b) x = {{ v|json }};</script>"), 0);

    static const struct {
        const char *text, *where, *what;
    } cases[] = {
        { "{% if x %}never closed", "e.html:1:1:", "without {% endif %}" },
        /* an unclosed loop is reported at its own line, not at the end of the file */
        { "<ul>\n  {% for x in xs %}\n<li>{{ x }}</li>\n</ul>\n", "e.html:2:3:",
          "{% for %} without {% endfor %}" },
        { "a\n  {% for x in %}{% endfor %}", "e.html:2:15:", "in an expression" },
        { "{{ x|nope }}", "e.html:1:6:", "unknown filter 'nope'" },
        { "{{ x }", "e.html:1:6:", "expected '}}'" },
        { "{% endif %}", "e.html:1:4:", "nothing open to end" },
        { "{% frobnicate %}", "e.html:1:4:", "unknown tag 'frobnicate'" },
        { "{% block a %}{% block a %}{% endblock %}{% endblock %}", "e.html:1:14:", "defined twice" },
        { "{% if x %}{% endif %}{% extends 'b.html' %}", "e.html:1:22:", "first tag" },
        { "{# open comment", "e.html:1:1:", "comment without" },
        { "{{ 'unterminated }}", "e.html:1:", "unterminated string" },
        { "{{ x|truncate(1, 2, 3) }}", "e.html:1:6:", "at most 2" },
        { "{% include 'nowhere.html' %}", "e.html:1:", "no such template" },
        { "{% extends 'nowhere.html' %}", "e.html:", "no such template" },
        { "{% block a %}{% endblock b %}", "e.html:1:26:", "closes block 'a'" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (refuse("e.html", cases[i].text) != CADRE_EPARSE || !strstr(logbuf, cases[i].where) ||
            !strstr(logbuf, cases[i].what))
            fail_msg("%s: log [%s], want %s %s", cases[i].text, logbuf, cases[i].where, cases[i].what);
    }
    /* a template that includes itself, directly or through another, or through its parent */
    cadre_template_source inc[] = { { .name = "a.html", .text = "{% if x %}{% include 'b.html' %}{% endif %}", .len = 43 },
                                    { .name = "b.html", .text = "{% for i in xs %}{% include 'a.html' %}{% endfor %}", .len = 51 } };
    cadre_templates *ti = NULL;
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    assert_int_equal(cadre_templates_load_sources(inc, 2, &ti), CADRE_EPARSE);
    cadre_template_source inc2[] = { { .name = "base.html", .text = "{% block b %}{% endblock %}{% include 'c.html' %}", .len = 49 },
                                     { .name = "c.html", .text = "{% extends 'base.html' %}", .len = 25 } };
    assert_int_equal(cadre_templates_load_sources(inc2, 2, &ti), CADRE_EPARSE);
    cadre_template_source ok[] = { { .name = "a.html", .text = "{% include 'b.html' %}{% include 'b.html' %}", .len = 44 },
                                   { .name = "b.html", .text = "b", .len = 1 } };
    assert_int_equal(cadre_templates_load_sources(ok, 2, &ti), 0);
    cadre_templates_free(ti);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    /* a cycle of extends */
    cadre_template_source cyc[] = { { .name = "a.html", .text = "{% extends 'b.html' %}", .len = 22 },
                                    { .name = "b.html", .text = "{% extends 'a.html' %}", .len = 22 } };
    cadre_templates *t = NULL;
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    assert_int_equal(cadre_templates_load_sources(cyc, 2, &t), CADRE_EPARSE);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    assert_null(t);
}

static void test_directory_and_reload(void **state)
{
    (void)state;
    char dir[] = "/tmp/cadre-tpl-XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/pages", dir);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/base.html", dir);
    write_file(path, "[{% block b %}{% endblock %}]", 1000);
    snprintf(path, sizeof path, "%s/pages/one.html", dir);
    write_file(path, "{% extends 'base.html' %}{% block b %}one {{ v }}{% endblock %}", 1000);
    snprintf(path, sizeof path, "%s/notes.md", dir);
    write_file(path, "{{ not a template", 1000);

    cadre_templates *t;
    assert_int_equal(cadre_templates_load_dir(dir, true, &t), 0);
    cadre_tctx ctx = CADRE_CTX({ "v", CADRE_TINT(1) });
    cadre_buf out;
    cadre_buf_init(&out, 4096);
    assert_int_equal(cadre_template_render(t, "pages/one.html", &ctx, &out), 0);
    assert_int_equal(out.len, 7);
    assert_memory_equal(out.data, "[one 1]", 7);
    assert_int_equal(cadre_template_render(t, "nope.html", &ctx, &out), CADRE_ENOTFOUND);

    /* an edit is picked up by the next render */
    snprintf(path, sizeof path, "%s/base.html", dir);
    write_file(path, "<{% block b %}{% endblock %}>", 2000);
    cadre_buf_reset(&out);
    assert_int_equal(cadre_template_render(t, "pages/one.html", &ctx, &out), 0);
    assert_memory_equal(out.data, "<one 1>", 7);
    /* a broken edit keeps the last good set */
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    write_file(path, "<{% block b %}", 3000);
    cadre_buf_reset(&out);
    assert_int_equal(cadre_template_render(t, "pages/one.html", &ctx, &out), 0);
    assert_memory_equal(out.data, "<one 1>", 7);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    cadre_buf_free(&out);
    cadre_templates_free(t);

    /* without reload, and a directory with a broken template refuses to load */
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    assert_int_equal(cadre_templates_load_dir(dir, false, &t), CADRE_EPARSE);
    assert_int_equal(cadre_templates_load_dir("/nonexistent/templates", false, &t), CADRE_EIO);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    unlink(path);
    snprintf(path, sizeof path, "%s/pages/one.html", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/notes.md", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/pages", dir);
    rmdir(path);
    rmdir(dir);
}

/* A form with its values and errors: as markup ({{ form }}) and as a list of fields. */
static void test_forms(void **state)
{
    (void)state;
    const char *tpl = "<form method=\"post\">{{ form }}</form>";
    /* empty */
    expect(tpl, CADRE_CTX({ "form", CADRE_TFORM(signup, NULL, NULL) }),
           "<form method=\"post\">"
           "<p class=\"field\"><label for=\"id_user_name\">User name</label> <input type=\"text\" "
           "name=\"user_name\" id=\"id_user_name\" value=\"\" required maxlength=\"20\" "
           "minlength=\"1\"></p>\n"
           "<p class=\"field\"><label for=\"id_age\">Age</label> <input type=\"number\" name=\"age\" "
           "id=\"id_age\" value=\"\" required min=\"0\"></p>\n"
           "<p class=\"field\"><label for=\"id_kind\">Kind</label> <select name=\"kind\" "
           "id=\"id_kind\" required><option value=\"\">---------</option><option value=\"book\">"
           "book</option><option value=\"tool\">tool</option></select></p>\n"
           "<p class=\"field\"><label for=\"id_newsletter\">Newsletter</label> <input "
           "type=\"checkbox\" name=\"newsletter\" id=\"id_newsletter\" value=\"true\"></p>\n"
           "<p class=\"field\"><label for=\"id_password\">Password</label> <input "
           "type=\"password\" name=\"password\" id=\"id_password\" required></p>\n"
           "</form>");
    /* a decode that failed: what was sent comes back, each error beside its field */
    static const char body[] = "{\"user_name\":\"<script>alert(1)</script>-too-long\",\"age\":-3,"
                               "\"kind\":\"tool\",\"newsletter\":true,\"password\":\"secret\"}";
    cadre_arena a;
    cadre_arena_init(&a, 4096);
    cadre_verrors errs;
    cadre_verrors_init(&errs, &a);
    signup in;
    assert_int_equal(cadre_schema_decode_json(CADRE_SCHEMA_OF(signup), body, sizeof body - 1, &in,
                                              &a, "body", &errs), CADRE_EINVAL);
    cadre_tctx ctx = CADRE_CTX({ "form", CADRE_TFORM(signup, &in, &errs) });
    const char *src[] = { "f.html", tpl };
    char *got = render_from(src, 1, "f.html", ctx);
    assert_non_null(strstr(got, "<p class=\"field error\"><label for=\"id_user_name\">User name"
                                "</label> <input type=\"text\" name=\"user_name\" id=\"id_user_name\" "
                                "value=\"&lt;script&gt;alert(1)&lt;/script&gt;-too-long\" required "
                                "maxlength=\"20\" minlength=\"1\"> <span class=\"error\">String should "
                                "have at most 20 characters</span></p>"));
    assert_non_null(strstr(got, "value=\"-3\" required min=\"0\"> <span class=\"error\">Input should "
                                "be greater than or equal to 0</span>"));
    assert_non_null(strstr(got, "<option value=\"tool\" selected>"));
    assert_non_null(strstr(got, "value=\"true\" checked>"));
    assert_null(strstr(got, "secret")); /* a password is never sent back */
    free(got);
    /* a layout of one's own */
    expect("{% for f in form.fields %}{{ f.name }}:{{ f.type }}:{{ f.required }}:{{ f.value }}"
           "{% if f.error %}!{{ f.error }}{% endif %}{% if f.options %}{{ f.options|join('/') }}{% endif %}|"
           "{% endfor %}",
           ctx, "user_name:text:True:&lt;script&gt;alert(1)&lt;/script&gt;-too-long!String should have "
                "at most 20 characters|age:number:True:-3!Input should be greater than or equal to 0|"
                "kind:select:True:toolbook/tool|newsletter:checkbox:False:true|"
                "password:password:True:secret|");
    cadre_arena_free(&a);
    /* file inputs, and the enctype they need */
    expect("<form enctype=\"{{ form.enctype }}\">{{ form }}</form>{{ form2.enctype }}",
           CADRE_CTX({ "form", CADRE_TFORM(avatar_form, NULL, NULL) },
                     { "form2", CADRE_TFORM(signup, NULL, NULL) }),
           "<form enctype=\"multipart/form-data\">"
           /* a string without CADRE_MAX_LEN is TEXT: a textarea, as Django's TextField */
           "<p class=\"field\"><label for=\"id_title\">Title</label> <textarea name=\"title\" "
           "id=\"id_title\" rows=\"6\"></textarea></p>\n"
           "<p class=\"field\"><label for=\"id_avatar\">Avatar</label> <input type=\"file\" "
           "name=\"avatar\" id=\"id_avatar\" required></p>\n"
           "<p class=\"field\"><label for=\"id_extra\">Extra</label> <input type=\"file\" "
           "name=\"extra\" id=\"id_extra\" multiple></p>\n"
           "</form>application/x-www-form-urlencoded");
    /* a page with a csrf_token (auth's context processor puts it there): every form carries it */
    expect("{{ form }}",
           CADRE_CTX({ "form", CADRE_TFORM(avatar_form, NULL, NULL) },
                     { "csrf_token", CADRE_TSTR("t\"<k") }),
           "<input type=\"hidden\" name=\"csrfmiddlewaretoken\" value=\"t&#34;&lt;k\">\n"
           "<p class=\"field\"><label for=\"id_title\">Title</label> <textarea name=\"title\" "
           "id=\"id_title\" rows=\"6\"></textarea></p>\n"
           "<p class=\"field\"><label for=\"id_avatar\">Avatar</label> <input type=\"file\" "
           "name=\"avatar\" id=\"id_avatar\" required></p>\n"
           "<p class=\"field\"><label for=\"id_extra\">Extra</label> <input type=\"file\" "
           "name=\"extra\" id=\"id_extra\" multiple></p>\n");
}

/* cadre_render through an app and the test client. */
static int page(cadre_request *r)
{
    return cadre_render(r, 200, "hello.html", CADRE_CTX({ "who", CADRE_TSTR("<world>") }));
}

static int missing_page(cadre_request *r)
{
    return cadre_render(r, 200, "nope.html", CADRE_CTX_NONE);
}

static void test_render_response(void **state)
{
    (void)state;
    cadre_app *app = cadre_app_new("t");
    cadre_template_source s = { .name = "hello.html", .text = "<p>Hello {{ who }}</p>", .len = 22 };
    cadre_templates *t;
    assert_int_equal(cadre_templates_load_sources(&s, 1, &t), 0);
    assert_int_equal(cadre_templates_use(app, t), 0);
    cadre_get(app, "/", page);
    cadre_get(app, "/missing", missing_page);
    cadre_test_response res;
    assert_int_equal(cadre_test_request(app, "GET", "/", NULL, NULL, 0, &res), 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.body, "<p>Hello &lt;world&gt;</p>");
    assert_string_equal(cadre_test_header(&res, "Content-Type"), "text/html; charset=utf-8");
    cadre_test_response_free(&res);
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    assert_int_equal(cadre_test_request(app, "GET", "/missing", NULL, NULL, 0, &res), 0);
    assert_int_equal(res.status, 500);
    cadre_test_response_free(&res);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
    cadre_app_free(app); /* frees t */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output_and_escaping),
        cmocka_unit_test(test_conditions),
        cmocka_unit_test(test_loops_and_structs),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_inheritance_and_include),
        cmocka_unit_test(test_whitespace_control),
        cmocka_unit_test(test_xss),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_directory_and_reload),
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_render_response),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
