/* What the fuzz targets share: the invariant check, and an independent UTF-8 oracle. */
#ifndef CADRE_FUZZ_CHECK_H
#define CADRE_FUZZ_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Aborts (libFuzzer then saves the input) when an invariant does not hold. */
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* UTF-8 validity decided code point by code point (no overlongs, no surrogates, nothing past
 * U+10FFFF), written apart from the library's own checks so that it can judge them. */
static inline bool utf8_ok(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!k || i + k > n)
            return false;
        unsigned cp = k == 1 ? c : c & (0x3F >> (k - 1));
        for (size_t j = 1; j < k; j++) {
            if ((u[i + j] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (u[i + j] & 0x3F);
        }
        static const unsigned min[] = { 0, 0, 0x80, 0x800, 0x10000 };
        if (cp < min[k] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += k;
    }
    return true;
}

/* A validation error list as a decoder leaves it: every error located under root (at least
 * min_steps steps), JSON inputs and ctx valid JSON, and the whole 422 document written from it
 * one valid JSON text, however hostile the names and inputs. Needs <cadre.h>. */
#ifdef CADRE_H
static inline void check_verrors(const cadre_verrors *e, const char *root, size_t min_steps)
{
    for (size_t i = 0; i < e->len; i++) {
        const cadre_verror *v = &e->items[i];
        CHECK(v->type && *v->type && v->msg && *v->msg && v->loc && v->nloc >= min_steps);
        CHECK(v->loc[0].key.ptr && cadre_slice_eq_cstr(v->loc[0].key, root));
        if (v->input.ptr && v->input_is_json)
            CHECK(cadre_json_validate(v->input.ptr, v->input.len, CADRE_JSON_MAX_DEPTH, NULL,
                                      NULL) == 0);
        if (v->ctx)
            CHECK(cadre_json_validate(v->ctx, strlen(v->ctx), 0, NULL, NULL) == 0);
    }
    cadre_buf doc;
    cadre_json_writer w;
    cadre_buf_init(&doc, (size_t)1 << 26);
    cadre_json_writer_init(&w, &doc);
    cadre_verrors_write(e, &w);
    CHECK(cadre_json_writer_error(&w) == 0);
    CHECK(cadre_json_validate(doc.data, doc.len, CADRE_JSON_MAX_DEPTH + 3, NULL, NULL) == 0);
    cadre_buf_free(&doc);
}
#endif

#endif
