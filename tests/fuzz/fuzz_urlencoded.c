/*
 * libFuzzer target for application/x-www-form-urlencoded: cadre_form_url_decode and
 * cadre_form_decode_urlencoded.
 *
 * Input: the body. Invariants (abort on violation): decoding never fails to parse (0 or
 * CADRE_EINVAL, and errors exactly when EINVAL); every error is valid JSON at ["body", …]; the
 * decoded text is valid UTF-8, NUL-terminated, at most 3 bytes per input byte; percent-decoding
 * what cadre_form_url_decode produced, once fully percent-encoded, gives it back; and a valid
 * form is a fixed point: its struct written back as a urlencoded form decodes to the same struct.
 */
#include <cadre.h>

#include "fuzz_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FZ_COLOR(V) V(FZ_RED, "red") V(FZ_BLUE, "blue")
CADRE_ENUM(fz_ucolor, FZ_COLOR)

#define FZ_IN_FIELDS(F) F(int64, x)
CADRE_SCHEMA(fz_uin, FZ_IN_FIELDS)

#define U_FIELDS(F)                                                                                \
    F(string, name, CADRE_MAX_LEN(30), CADRE_OPTIONAL)                                             \
    F(int64, n, CADRE_GE(-1000000), CADRE_OPTIONAL)                                                \
    F(int32, small, CADRE_DEFAULT(1))                                                              \
    F(double, x, CADRE_OPTIONAL)                                                                   \
    F(bool, flag, CADRE_DEFAULT(false))                                                            \
    F(strings, tags, CADRE_MAX_ITEMS(6), CADRE_DEFAULT_EMPTY)                                      \
    F(int64s, ids, CADRE_DEFAULT_EMPTY)                                                            \
    F(doubles, ws, CADRE_DEFAULT_EMPTY)                                                            \
    F(enum(fz_ucolor), color, CADRE_DEFAULT(FZ_RED))                                               \
    F(date, day, CADRE_OPTIONAL)                                                                   \
    F(datetime, at, CADRE_OPTIONAL)                                                                \
    F(uuid, uid, CADRE_OPTIONAL)                                                                   \
    F(file, doc, CADRE_OPTIONAL)                                                                   \
    F(object(fz_uin), inner, CADRE_OPTIONAL)
CADRE_SCHEMA(fz_u, U_FIELDS)

static void check_text(cadre_slice t)
{
    CHECK(t.ptr && t.ptr[t.len] == '\0');
    CHECK(utf8_ok(t.ptr, t.len));
}

/* Every byte as %XX. */
static void pct(cadre_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        char e[3] = { '%', hex[(unsigned char)s[i] >> 4], hex[(unsigned char)s[i] & 15] };
        cadre_buf_append(b, e, 3);
    }
}

/* name=value, the value written as its JSON encoding without the quotes of a string (enums,
 * dates and uuids are plain ASCII there; strings are written from the struct itself). */
static void pair(cadre_buf *b, const char *name, const char *v, size_t n)
{
    if (b->len)
        cadre_buf_append(b, "&", 1);
    cadre_buf_append_str(b, name);
    cadre_buf_append(b, "=", 1);
    pct(b, v, n);
}

static void write_back(const fz_u *u, cadre_buf *form)
{
    const cadre_schema *s = CADRE_SCHEMA_OF(fz_u);
    for (size_t i = 0; i < s->nfields; i++) {
        const cadre_field *f = &s->fields[i];
        if (!((u->cadre_set_ >> i) & 1))
            continue;
        if (f->type == CADRE_T_STRING) {
            const cadre_slice *v = (const cadre_slice *)((const char *)u + f->offset);
            pair(form, f->name, v->ptr, v->len);
        } else if (f->type == CADRE_T_STRINGS) {
            for (size_t k = 0; k < u->tags.len; k++)
                pair(form, f->name, u->tags.items[k].ptr, u->tags.items[k].len);
        } else {
            cadre_buf j;
            cadre_json_writer w;
            cadre_buf_init(&j, 1 << 16);
            cadre_json_writer_init(&w, &j);
            cadre_schema_encode_field(f, u, &w);
            CHECK(cadre_json_writer_error(&w) == 0);
            const char *t = j.data;
            size_t n = j.len;
            if (n && *t == '[') { /* int64s, doubles: each item */
                t++, n -= 2;
                while (n) {
                    const char *c = memchr(t, ',', n);
                    size_t k = c ? (size_t)(c - t) : n;
                    pair(form, f->name, t, k);
                    t += k + (c != NULL);
                    n -= k + (c != NULL);
                }
            } else {
                if (n && *t == '"')
                    t++, n -= 2;
                pair(form, f->name, t, n);
            }
            cadre_buf_free(&j);
        }
    }
}

static int decode(const char *in, size_t n, fz_u *out, cadre_arena *a, cadre_buf *enc)
{
    cadre_verrors e;
    cadre_verrors_init(&e, a);
    int rc = cadre_form_decode_urlencoded(CADRE_SCHEMA_OF(fz_u), (cadre_slice){ in, n }, out, a, &e);
    CHECK(rc == 0 || rc == CADRE_EINVAL);
    CHECK((rc == 0) == (e.len == 0));
    check_verrors(&e, "body", 2); /* each at ["body", name, ...] */
    for (size_t i = 0; i < e.len; i++)
        CHECK(e.items[i].input.ptr); /* a form error always shows what was sent */
    cadre_buf_init(enc, 1 << 24);
    cadre_json_writer w;
    cadre_json_writer_init(&w, enc);
    cadre_schema_encode_json(CADRE_SCHEMA_OF(fz_u), out, &w);
    CHECK(cadre_json_writer_error(&w) == 0);
    CHECK(cadre_json_validate(enc->data, enc->len, 0, NULL, NULL) == 0);
    if (rc == 0) {
        if (out->cadre_set_ & 1)
            check_text(out->name);
        for (size_t i = 0; i < out->tags.len; i++)
            check_text(out->tags.items[i]);
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size ? size : 1);
    memcpy(in, data, size);
    cadre_arena a;
    cadre_arena_init(&a, 0);

    /* percent-decoding alone */
    for (int plus = 0; plus < 2; plus++) {
        cadre_slice d = cadre_form_url_decode(&a, in, size, plus);
        check_text(d);
        CHECK(d.len <= 3 * size);
        cadre_buf b;
        cadre_buf_init(&b, 1 << 26);
        pct(&b, d.ptr, d.len);
        cadre_slice again = cadre_form_url_decode(&a, b.data ? b.data : "", b.len, plus);
        CHECK(again.len == d.len && memcmp(again.ptr, d.ptr, d.len) == 0);
        cadre_buf_free(&b);
    }

    fz_u u, u2;
    cadre_buf enc, enc2;
    int rc = decode(in, size, &u, &a, &enc);
    if (rc == 0) {
        cadre_buf form;
        cadre_buf_init(&form, 1 << 26);
        write_back(&u, &form);
        int rc2 = decode(form.data ? form.data : "", form.len, &u2, &a, &enc2);
        if (rc2 != 0 || enc.len != enc2.len || memcmp(enc.data, enc2.data, enc.len) != 0) {
            fprintf(stderr, "first  %.*s\nform   %.*s\nsecond %.*s\n", (int)enc.len, enc.data,
                    (int)form.len, form.data, (int)enc2.len, enc2.data);
            CHECK(!"a valid form is not a fixed point");
        }
        cadre_buf_free(&enc2);
        cadre_buf_free(&form);
    }
    cadre_buf_free(&enc);
    cadre_arena_free(&a);
    free(in);
    return 0;
}
