/*
 * libFuzzer target for the template compiler and renderer (src/template/).
 *
 * Input: a template's text, compiled beside a fixed base template (so extends, block, super and
 * include have something to find), then rendered with a context holding every kind of value:
 * text with HTML specials, numbers, booleans, none, a schema struct with nested object, array,
 * enum and date fields, rows of them, a map. Invariants (abort on violation): compiling either
 * succeeds or says CADRE_EPARSE; rendering succeeds; rendering twice gives the same bytes; and
 * when the template has no |safe and no super() (whose output is markup), no more raw
 * "<script>" than the template's own text makes (counted by rendering it with a clean context).
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

/* text with ( ) for < > (static storage: a handful of short strings, reused per call) */
static cadre_slice clean_copy(const char *text, size_t n)
{
    static char store[8][64];
    static unsigned next;
    char *p = store[next++ % 8];
    for (size_t i = 0; i < n && i < 63; i++)
        p[i] = text[i] == '<' ? '(' : text[i] == '>' ? ')' : text[i];
    return (cadre_slice){ p, n < 63 ? n : 63 };
}

static size_t count(const cadre_buf *b, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    if (!b->data) /* nothing rendered */
        return 0;
    for (const char *p = b->data, *end = b->data + b->len;
         p && (p = memmem(p, (size_t)(end - p), needle, len)); p += len)
        n++;
    return n;
}

/* Renders t.html with the context of every kind of value: its strings hold "<script>", or, when
 * clean, the same strings with ( ) for < > (and the enum its other value). */
static int render_with(cadre_templates *t, bool clean, cadre_buf *out)
{
#define S(text) (clean ? clean_copy(text, sizeof text - 1) : (cadre_slice){ text, sizeof text - 1 })
    cadre_slice tags[] = { S("t<script>"), { "", 0 } };
    fz_inner inners[] = { { .name = S("i1<script>") }, { .name = { "i2", 2 } } };
    fz_row rows[2] = {
        { .id = 1, .text = S("<script>&\"'"), .x = 1.5, .ok = true, .kind = clean ? FZ_A : FZ_B,
          .day = { 2026, 2, 28 }, .at = { 1764000000, 5, 60, false }, .tags = { tags, 2 },
          .inner = { .name = S("in<script>") }, .inners = { inners, 2 } },
        { .id = -7, .text = { "plain", 5 }, .x = -0.0, .note = { "n", 1 }, .cadre_set_ = 1u << 10 },
    };
    cadre_slice evil = S("<script>alert('x')&\"</script>"), k = S("<script>");
    cadre_tctx ctx = CADRE_CTX({ "evil", CADRE_TSLICE(evil) },
                               { "n", CADRE_TINT(3) }, { "d", CADRE_TDOUBLE(2.5) },
                               { "yes", CADRE_TBOOL(true) }, { "none", CADRE_TNONE },
                               { "row", CADRE_TOBJ(fz_row, &rows[0]) },
                               { "rows", CADRE_TLIST(fz_row, rows, 2) },
                               { "m", CADRE_TMAP({ "k", CADRE_TSLICE(k) },
                                                 { "n", CADRE_TINT(1) }) });
#undef S
    cadre_buf_reset(out);
    return cadre_template_render(t, "t.html", &ctx, out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool quiet;
    if (!quiet) {
        cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
        quiet = true;
    }
    cadre_template_source src[] = { { .name = "base.html", .text = base, .len = sizeof base - 1 },
                                    { .name = "part.html", .text = part, .len = sizeof part - 1 },
                                    { .name = "t.html", .text = (const char *)data, .len = size } };
    cadre_templates *t = NULL;
    int rc = cadre_templates_load_sources(src, 3, &t);
    CHECK(rc == 0 || rc == CADRE_EPARSE);
    if (rc)
        return 0;
    cadre_buf a, b, c;
    cadre_buf_init(&a, (size_t)16 << 20);
    cadre_buf_init(&b, (size_t)16 << 20);
    cadre_buf_init(&c, (size_t)16 << 20);
    int r1 = render_with(t, false, &a);
    int r2 = render_with(t, false, &b);
    CHECK(r1 == r2);
    CHECK(r1 == 0 || r1 == CADRE_ETOOBIG);
    CHECK(a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0));
    /* The template's own text can make "<script>" in ways a byte search of it cannot see
     * (<scr{##}ipt>), so the same template rendered with a clean context (the same strings, with
     * ( ) for < >) says how many are the template's: more with the evil one is a value unescaped. */
    bool markup = memmem(data, size, "safe", 4) || memmem(data, size, "super", 5);
    if (r1 == 0 && !markup && !memmem(data, size, "<script>", 8) &&
        render_with(t, true, &c) == 0)
        CHECK(count(&a, "<script>") <= count(&c, "<script>"));
    cadre_buf_free(&c);
    cadre_buf_free(&a);
    cadre_buf_free(&b);
    cadre_templates_free(t);
    return 0;
}
