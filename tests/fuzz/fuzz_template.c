/*
 * libFuzzer target for the template compiler and renderer (src/template/).
 *
 * Input: a template's text, compiled beside a fixed base template (so extends, block, super and
 * include have something to find), then rendered with a context holding every kind of value:
 * text with HTML specials, numbers, booleans, none, a schema struct with nested object, array,
 * enum and date fields, rows of them, a map. Invariants (abort on violation): compiling either
 * succeeds or says CADRE_EPARSE; rendering succeeds; rendering twice gives the same bytes; and
 * when the template has no |safe and no super() (whose output is markup), the context's raw
 * "<script>" can only appear if the template's own text holds it.
 */
#include <cadre.h>

#include "fuzz_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_KIND(V) V(FZ_A, "a") V(FZ_B, "b<script>")
CADRE_ENUM(fz_kind, FZ_KIND)
#define FZ_INNER(F) F(string, name)
CADRE_SCHEMA(fz_inner, FZ_INNER)
#define FZ_ROW(F)                                                                                  \
    F(int64, id)                                                                                   \
    F(string, text)                                                                                \
    F(double, x)                                                                                   \
    F(bool, ok)                                                                                    \
    F(enum(fz_kind), kind)                                                                         \
    F(date, day)                                                                                   \
    F(datetime, at)                                                                                \
    F(strings, tags)                                                                               \
    F(object(fz_inner), inner)                                                                     \
    F(array(fz_inner), inners)                                                                     \
    F(string, note, CADRE_OPTIONAL)
CADRE_SCHEMA(fz_row, FZ_ROW)

static const char base[] = "<html>{% block head %}<title>{% block title %}T{% endblock %}</title>"
                           "{% endblock %}{% block body %}{% endblock %}{% include 'part.html' %}"
                           "</html>";
static const char part[] = "<p>{{ evil }}{{ row.text }}</p>";

static int render(cadre_templates *t, const cadre_tctx *ctx, cadre_buf *out)
{
    cadre_buf_reset(out);
    return cadre_template_render(t, "t.html", ctx, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool quiet;
    if (!quiet) {
        cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
        quiet = true;
    }
    cadre_template_source src[] = { { "base.html", base, sizeof base - 1 },
                                    { "part.html", part, sizeof part - 1 },
                                    { "t.html", (const char *)data, size } };
    cadre_templates *t = NULL;
    int rc = cadre_templates_load_sources(src, 3, &t);
    CHECK(rc == 0 || rc == CADRE_EPARSE);
    if (rc)
        return 0;
    static cadre_slice tags[] = { { "t<script>", 9 }, { "", 0 } };
    static fz_inner inners[] = { { .name = { "i1<script>", 10 } }, { .name = { "i2", 2 } } };
    static fz_row rows[2] = {
        { .id = 1, .text = { "<script>&\"'", 11 }, .x = 1.5, .ok = true, .kind = FZ_B,
          .day = { 2026, 2, 28 }, .at = { 1764000000, 5, 60, false }, .tags = { tags, 2 },
          .inner = { .name = { "in<script>", 10 } }, .inners = { inners, 2 } },
        { .id = -7, .text = { "plain", 5 }, .x = -0.0, .note = { "n", 1 }, .cadre_set_ = 1u << 10 },
    };
    cadre_tctx ctx = CADRE_CTX({ "evil", CADRE_TSTR("<script>alert('x')&\"</script>") },
                               { "n", CADRE_TINT(3) }, { "d", CADRE_TDOUBLE(2.5) },
                               { "yes", CADRE_TBOOL(true) }, { "none", CADRE_TNONE },
                               { "row", CADRE_TOBJ(fz_row, &rows[0]) },
                               { "rows", CADRE_TLIST(fz_row, rows, 2) },
                               { "m", CADRE_TMAP({ "k", CADRE_TSTR("<script>") },
                                                 { "n", CADRE_TINT(1) }) });
    cadre_buf a, b;
    cadre_buf_init(&a, (size_t)16 << 20);
    cadre_buf_init(&b, (size_t)16 << 20);
    int r1 = render(t, &ctx, &a);
    int r2 = render(t, &ctx, &b);
    CHECK(r1 == r2);
    CHECK(r1 == 0 || r1 == CADRE_ETOOBIG);
    CHECK(a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0));
    bool markup = memmem(data, size, "safe", 4) || memmem(data, size, "super", 5);
    if (r1 == 0 && !markup && !memmem(data, size, "<script>", 8))
        CHECK(!a.len || !memmem(a.data, a.len, "<script>", 8));
    cadre_buf_free(&a);
    cadre_buf_free(&b);
    cadre_templates_free(t);
    return 0;
}
