/*
 * libFuzzer target for the JSON reader and writer.
 *
 * The first byte picks the depth limit; the rest is the document. Invariants (abort on
 * violation): the reader never reads outside the input (ASan, exact-size copy), agrees with
 * cadre_json_validate, unescaped strings are slices of the input; re-serializing a valid
 * document gives text that reads back and re-serializes to the same bytes (a fixed point); an
 * invalid document is refused by both paths with an error reason inside the input's bounds.
 */
#include <cadre.h>

#include "fuzz_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reserialize(const char *in, size_t n, size_t depth, cadre_arena *a, cadre_buf *out)
{
    cadre_json_reader rd;
    cadre_json_writer w;
    cadre_json_reader_init(&rd, in, n, a, depth);
    cadre_json_writer_init(&w, out);
    int rc = cadre_json_reserialize(&rd, &w);
    if (rc == CADRE_EPARSE) {
        size_t off;
        CHECK(cadre_json_error(&rd, &off) != NULL);
        CHECK(off <= n);
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const size_t depths[] = { 1, 2, 8, 64, 1000, CADRE_JSON_MAX_DEPTH, 0, 3 };
    size_t depth = depths[data[0] & 7];
    size_t n = size - 1;
    char *in = malloc(n ? n : 1);
    memcpy(in, data + 1, n);

    cadre_arena a;
    cadre_arena_init(&a, 4096);

    /* token walk: slices inside the input for unescaped strings and numbers */
    cadre_json_reader rd;
    cadre_json_token t;
    cadre_json_reader_init(&rd, in, n, &a, depth);
    int rc;
    size_t tokens = 0;
    do {
        rc = cadre_json_next(&rd, &t);
        if (rc == 0 && t.type == CADRE_JSON_NUMBER) {
            CHECK(t.str.ptr >= in && t.str.ptr + t.str.len <= in + n);
            if (t.is_int)
                CHECK((double)t.i == t.d);
        }
        if (rc == 0)
            CHECK(t.offset <= n);
        CHECK(++tokens <= n + 2);
    } while (rc == 0 && t.type != CADRE_JSON_END);
    int valid = rc == 0;
    CHECK(valid == (cadre_json_validate(in, n, depth, NULL, NULL) == 0));

    cadre_buf out1, out2;
    cadre_buf_init(&out1, 8 * n + 64);
    cadre_buf_init(&out2, 8 * n + 64);
    rc = reserialize(in, n, depth, &a, &out1);
    CHECK((rc == 0) == valid);
    if (rc == 0) {
        /* the output is JSON, and writing it again changes nothing */
        CHECK(reserialize(out1.data, out1.len, depth, &a, &out2) == 0);
        CHECK(out1.len == out2.len && memcmp(out1.data, out2.data, out1.len) == 0);
    }
    cadre_buf_free(&out1);
    cadre_buf_free(&out2);
    cadre_arena_free(&a);
    free(in);
    return 0;
}
