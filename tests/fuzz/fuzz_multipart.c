/*
 * libFuzzer target for multipart/form-data: the incremental parser (cadre_multipart) and the
 * schema-directed decoder with uploads in temporary files (cadre_form).
 *
 * Input: one flags byte, then 2 bytes per split point (little-endian, taken modulo the body's
 * length), then — when flag 0x10 is set — a Content-Type line ending in '\n', then the body.
 *   flags & 7    number of split points (0..7)
 *   flags & 0x08 small limits (4 parts, 64 header bytes, 16-byte fields, 32-byte files)
 *   flags & 0x10 the Content-Type comes from the input (else boundary=XyZ)
 *   flags & 0x20 a strict schema (unknown names are errors)
 *   flags & 0x40 also feed the body one byte at a time
 *
 * Invariants (abort on violation): the same result however the body is split — the parser's
 * transcript of callbacks, the decoder's return code, reason, errors, decoded struct and the bytes
 * of every upload; return codes are the documented ones (never CADRE_EIO: the directory is
 * writable); errors and encodings are valid JSON; decoded text is valid UTF-8; an upload's size
 * is its file's size; after cadre_form_cleanup no temporary file is left.
 */
#include <cadre.h>

#include "fuzz_check.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MP_FIELDS(F)                                                                               \
    F(string, name, CADRE_MIN_LEN(1), CADRE_MAX_LEN(20))                                           \
    F(int64, n, CADRE_OPTIONAL)                                                                    \
    F(strings, tags, CADRE_MAX_ITEMS(5), CADRE_DEFAULT_EMPTY)                                      \
    F(bool, flag, CADRE_DEFAULT(false))                                                            \
    F(file, doc, CADRE_OPTIONAL)                                                                   \
    F(files, docs, CADRE_MAX_ITEMS(4), CADRE_DEFAULT_EMPTY)                                        \
    F(double, x, CADRE_OPTIONAL)                                                                   \
    F(int64s, ids, CADRE_DEFAULT_EMPTY)
CADRE_SCHEMA(fz_mp, MP_FIELDS)
CADRE_SCHEMA_STRICT(fz_mp_strict, MP_FIELDS)

static char tmpdir[64];

static int tmp_entries(void)
{
    DIR *d = opendir(tmpdir);
    CHECK(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* ---- the parser's transcript ---- */

static int t_begin(void *ctx, const cadre_multipart_part *p)
{
    cadre_buf *b = ctx;
    CHECK(p->name.ptr);
    cadre_buf_appendf(b, "<%zu:", p->name.len);
    cadre_buf_append(b, p->name.ptr, p->name.len);
    if (p->filename.ptr) {
        CHECK(!memchr(p->filename.ptr, '/', p->filename.len));
        CHECK(!memchr(p->filename.ptr, '\\', p->filename.len));
        cadre_buf_appendf(b, "|f%zu:", p->filename.len);
        cadre_buf_append(b, p->filename.ptr, p->filename.len);
    }
    if (p->content_type.ptr) {
        cadre_buf_appendf(b, "|t%zu:", p->content_type.len);
        cadre_buf_append(b, p->content_type.ptr, p->content_type.len);
    }
    cadre_buf_append(b, ">", 1);
    return 0;
}

static int t_data(void *ctx, const char *d, size_t n)
{
    CHECK(n > 0);
    return cadre_buf_append(ctx, d, n);
}

static int t_end(void *ctx)
{
    return cadre_buf_append(ctx, "$", 1);
}

static const cadre_multipart_callbacks tcb = { t_begin, t_data, t_end };

/* Feeds body[0..len) cut at cuts[0..ncuts) (sorted); returns the code, transcript in *out. */
static int parse(cadre_slice boundary, const cadre_form_limits *lim, const char *body, size_t len,
                 const size_t *cuts, size_t ncuts, cadre_arena *a, cadre_buf *out)
{
    cadre_multipart m;
    cadre_buf_init(out, (size_t)1 << 24);
    cadre_multipart_init(&m, boundary, lim, a, &tcb, out);
    size_t at = 0;
    int rc = 0;
    for (size_t i = 0; i <= ncuts && rc == 0; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        rc = cadre_multipart_feed(&m, body + at, end - at);
        at = end;
    }
    if (rc == 0)
        rc = cadre_multipart_finish(&m);
    CHECK(rc == 0 || rc == CADRE_EPARSE || rc == CADRE_ETOOBIG);
    CHECK((rc != 0) == (cadre_multipart_reason(&m) != NULL));
    if (rc)
        cadre_buf_appendf(out, "!%d %s", rc, cadre_multipart_reason(&m));
    return rc;
}

/* Two transcripts of one body (parse's codes ra, rb): equal when it parses; when it does not,
 * the same error, and what was reported before it a prefix one of the other (a piece may hold
 * more data before the limit that stops both is reached). The error is after the last '!': no
 * reason contains one. */
static bool same_parse(int ra, const cadre_buf *a, int rb, const cadre_buf *b)
{
    if (a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0))
        return true;
    if (ra && ra == rb) {
        size_t pa = a->len, pb = b->len;
        while (pa > 0 && a->data[pa - 1] != '!')
            pa--;
        while (pb > 0 && b->data[pb - 1] != '!')
            pb--;
        size_t p = pa < pb ? pa : pb;
        if (pa && pb && a->len - pa == b->len - pb && memcmp(a->data + pa, b->data + pb, a->len - pa) == 0 &&
            memcmp(a->data, b->data, p - 1) == 0)
            return true;
    }
    fprintf(stderr, "whole: %.*s\nsplit: %.*s\n", (int)a->len, a->data ? a->data : "", (int)b->len,
            b->data ? b->data : "");
    return false;
}

/* ---- the decoder's result, as one comparable text ---- */

static void describe_upload(cadre_buf *out, const cadre_upload *u)
{
    CHECK(u->filename && *u->filename && u->content_type && u->path);
    CHECK(utf8_ok(u->filename, strlen(u->filename)));
    struct stat st;
    CHECK(stat(u->path, &st) == 0 && st.st_size == u->size);
    cadre_buf_appendf(out, "{%s|%s|%lld:", u->filename, u->content_type, (long long)u->size);
    FILE *f = fopen(u->path, "rb");
    CHECK(f);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        cadre_buf_append(out, buf, n);
    fclose(f);
    cadre_buf_append(out, "}", 1);
}

static void check_errors(const cadre_verrors *e)
{
    check_verrors(e, "body", 2); /* each at ["body", name, ...] */
    CHECK(cadre_form_field_error(e, NULL) == NULL); /* never about the body as a whole */
}

static int decode(const cadre_schema *s, cadre_slice ct, const cadre_form_limits *lim,
                  const char *body, size_t len, const size_t *cuts, size_t ncuts, cadre_arena *a,
                  cadre_buf *out)
{
    fz_mp obj;
    cadre_verrors e;
    cadre_verrors_init(&e, a);
    cadre_form f;
    cadre_buf_init(out, (size_t)1 << 24);
    int rc = cadre_form_multipart_begin(&f, s, ct, &obj, a, lim, &e);
    size_t at = 0;
    for (size_t i = 0; i <= ncuts && rc == 0; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        rc = cadre_form_multipart_feed(&f, body + at, end - at);
        at = end;
    }
    if (rc == 0)
        rc = cadre_form_multipart_end(&f);
    CHECK(rc == 0 || rc == CADRE_EINVAL || rc == CADRE_EPARSE || rc == CADRE_ETOOBIG);
    cadre_buf_appendf(out, "rc=%d ", rc);
    if (rc == 0 || rc == CADRE_EINVAL) {
        CHECK((rc == 0) == (e.len == 0));
        check_errors(&e);
        cadre_json_writer w;
        cadre_json_writer_init(&w, out);
        cadre_verrors_write(&e, &w);
        size_t from = out->len;
        cadre_json_writer_init(&w, out); /* a second top-level value */
        cadre_schema_encode_json(s, &obj, &w);
        CHECK(cadre_json_writer_error(&w) == 0);
        CHECK(cadre_json_validate(out->data + from, out->len - from, 0, NULL, NULL) == 0);
        if (rc == 0) {
            CHECK(utf8_ok(obj.name.ptr, obj.name.len) && obj.name.ptr[obj.name.len] == '\0');
            for (size_t i = 0; i < obj.tags.len; i++)
                CHECK(utf8_ok(obj.tags.items[i].ptr, obj.tags.items[i].len));
            if (cadre_schema_has(s, &obj, "doc"))
                describe_upload(out, &obj.doc);
            for (size_t i = 0; i < obj.docs.len; i++)
                describe_upload(out, &obj.docs.items[i]);
        }
    } else {
        CHECK(cadre_form_reason(&f) != NULL);
        CHECK(e.len == 0);
        cadre_buf_appendf(out, "%s", cadre_form_reason(&f));
    }
    cadre_form_cleanup(&f);
    CHECK(tmp_entries() == 0);
    return rc;
}

static bool same(const cadre_buf *a, const cadre_buf *b)
{
    if (a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0))
        return true;
    fprintf(stderr, "whole: %.*s\nsplit: %.*s\n", (int)a->len, a->data ? a->data : "", (int)b->len,
            b->data ? b->data : "");
    return false;
}

static int by_value(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/cadre-fuzz-multipart-XXXXXX");
        CHECK(mkdtemp(tmpdir));
        cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    }
    if (size < 1)
        return 0;
    unsigned flags = data[0];
    size_t ncuts = flags & 7, pos = 1;
    if (size < pos + 2 * ncuts)
        return 0;
    size_t raw_cuts[7];
    for (size_t i = 0; i < ncuts; i++)
        raw_cuts[i] = (size_t)data[pos + 2 * i] | (size_t)data[pos + 2 * i + 1] << 8;
    pos += 2 * ncuts;
    cadre_slice ct = CADRE_LIT("multipart/form-data; boundary=XyZ");
    if (flags & 0x10) {
        const uint8_t *nl = memchr(data + pos, '\n', size - pos);
        if (!nl || nl - (data + pos) > 200)
            return 0;
        ct = (cadre_slice){ (const char *)data + pos, (size_t)(nl - (data + pos)) };
        pos = (size_t)(nl - data) + 1;
    }
    /* exact-size copies, so that reading past either is caught */
    size_t len = size - pos;
    char *body = malloc(len ? len : 1);
    memcpy(body, data + pos, len);
    char *ctc = malloc(ct.len ? ct.len : 1);
    memcpy(ctc, ct.ptr, ct.len);
    ct.ptr = ctc;
    size_t cuts[7];
    for (size_t i = 0; i < ncuts; i++)
        cuts[i] = len ? raw_cuts[i] % (len + 1) : 0;
    qsort(cuts, ncuts, sizeof cuts[0], by_value);

    cadre_form_limits lim = { .tmp_dir = tmpdir };
    if (flags & 0x08)
        lim = (cadre_form_limits){ .max_parts = 4, .max_header_bytes = 64, .max_field_size = 16,
                                   .max_file_size = 32, .tmp_dir = tmpdir };
    const cadre_schema *s = flags & 0x20 ? CADRE_SCHEMA_OF(fz_mp_strict) : CADRE_SCHEMA_OF(fz_mp);
    size_t *bytes = NULL;
    if (flags & 0x40 && len) {
        bytes = malloc((len - 1 ? len - 1 : 1) * sizeof *bytes);
        for (size_t i = 0; i + 1 < len; i++)
            bytes[i] = i + 1;
    }

    cadre_arena a;
    cadre_arena_init(&a, 0);
    cadre_buf whole, split, one;

    /* the parser alone, with the boundary the Content-Type gives */
    cadre_slice boundary;
    if (cadre_multipart_boundary(ct, &boundary, NULL) == 0) {
        CHECK(boundary.len >= 1 && boundary.len <= 70);
        int r1 = parse(boundary, &lim, body, len, NULL, 0, &a, &whole);
        int r2 = parse(boundary, &lim, body, len, cuts, ncuts, &a, &split);
        CHECK(same_parse(r1, &whole, r2, &split));
        if (bytes) {
            int r3 = parse(boundary, &lim, body, len, bytes, len - 1, &a, &one);
            CHECK(same_parse(r1, &whole, r3, &one));
            cadre_buf_free(&one);
        }
        cadre_buf_free(&whole);
        cadre_buf_free(&split);
    }

    /* the decoder into a struct, with uploads */
    decode(s, ct, &lim, body, len, NULL, 0, &a, &whole);
    decode(s, ct, &lim, body, len, cuts, ncuts, &a, &split);
    CHECK(same(&whole, &split));
    if (bytes) {
        decode(s, ct, &lim, body, len, bytes, len - 1, &a, &one);
        CHECK(same(&whole, &one));
        cadre_buf_free(&one);
    }
    cadre_buf_free(&whole);
    cadre_buf_free(&split);
    cadre_arena_free(&a);
    free(bytes);
    free(body);
    free(ctc);
    return 0;
}
