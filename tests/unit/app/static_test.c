/*
 * Static files (src/app/static.c): the path table (every hostile shape must stop before the file
 * system), resolution below the root on a real directory tree with symbolic links, the header
 * parsers (Range, HTTP dates, entity tags, Accept-Encoding), and whole requests through the test
 * client. The .c is included to reach its static functions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../../src/app/static.c"

#include <sys/stat.h>

/* ---------------------------------------------------------------------------------------------
 * The path table
 * ------------------------------------------------------------------------------------------- */

struct path_case {
    const char *path;  /* below the mount, still encoded */
    bool dotfiles;
    int n;             /* expected names, -1: refused */
    const char *names; /* expected names joined with '|' */
    bool slash;
};

static const struct path_case path_cases[] = {
    /* accepted */
    { "", false, 0, "", false },
    { "/", false, 0, "", true },
    { "/a.txt", false, 1, "a.txt", false },
    { "/a/b/c.css", false, 3, "a|b|c.css", false },
    { "/docs/", false, 1, "docs", true },
    { "/a%20b.txt", false, 1, "a b.txt", false },
    { "/caf%C3%A9.txt", false, 1, "caf\xc3\xa9.txt", false },
    { "/%252e%252e", false, 1, "%2e%2e", false }, /* double-encoded: a literal name, harmless */
    { "/a..b", false, 1, "a..b", false },
    { "/.well-known/x", true, 2, ".well-known|x", false },
    { "/....", true, 1, "....", false },
    { "/%c0%ae%c0%ae/x", false, 2, "\xc0\xae\xc0\xae|x", false }, /* overlong UTF-8: not ".." */
    /* refused: traversal, encoded or not */
    { "/..", false, -1, NULL, false },
    { "/../secret.txt", false, -1, NULL, false },
    { "/a/../../secret.txt", false, -1, NULL, false },
    { "/%2e%2e/secret.txt", false, -1, NULL, false },
    { "/%2E%2e/secret.txt", false, -1, NULL, false },
    { "/.%2e/secret.txt", false, -1, NULL, false },
    { "/a/%2e%2e/%2e%2e/secret.txt", false, -1, NULL, false },
    { "/..", true, -1, NULL, false },
    { "/%2e%2e", true, -1, NULL, false },
    { "/.", true, -1, NULL, false },
    { "/%2e", false, -1, NULL, false },
    { "/a/./b", false, -1, NULL, false },
    /* refused: an encoded '/' or '\' inside a segment */
    { "/..%2fsecret.txt", false, -1, NULL, false },
    { "/a%2fb", false, -1, NULL, false },
    { "/a%2Fb", false, -1, NULL, false },
    { "/%2e%2e%2f%2e%2e%2fetc%2fpasswd", false, -1, NULL, false },
    { "/%2fetc%2fpasswd", false, -1, NULL, false },
    { "/..%5csecret.txt", false, -1, NULL, false },
    { "/a%5cb", false, -1, NULL, false },
    { "/a\\b", false, -1, NULL, false },
    /* refused: NUL and control bytes */
    { "/a.txt%00.png", false, -1, NULL, false },
    { "/%00", false, -1, NULL, false },
    { "/a%0ab", false, -1, NULL, false },
    { "/a%7f", false, -1, NULL, false },
    /* refused: empty segments (an absolute path smuggled as //etc) */
    { "//etc/passwd", false, -1, NULL, false },
    { "/a//b", false, -1, NULL, false },
    { "/a/b//", false, -1, NULL, false },
    /* refused: dotfiles by default */
    { "/.env", false, -1, NULL, false },
    { "/.git/config", false, -1, NULL, false },
    { "/a/.hidden/b", false, -1, NULL, false },
    { "/%2eenv", false, -1, NULL, false },
    /* refused: malformed */
    { "/%zz", false, -1, NULL, false },
    { "/%2", false, -1, NULL, false },
    { "a.txt", false, -1, NULL, false },
};

static void test_path_table(void **state)
{
    cadre_arena a;
    cadre_arena_init(&a, 0);
    for (size_t i = 0; i < sizeof path_cases / sizeof path_cases[0]; i++) {
        const struct path_case *c = &path_cases[i];
        char *names[MAX_NAMES];
        bool slash = !c->slash;
        int n = split_path(&a, c->path, strlen(c->path), c->dotfiles, names, MAX_NAMES, &slash);
        if (n != c->n)
            fail_msg("%s (dotfiles %d): %d names, expected %d", c->path, c->dotfiles, n, c->n);
        if (n < 0)
            continue;
        assert_int_equal(slash, c->slash);
        char joined[256] = "";
        size_t jl = 0;
        for (int k = 0; k < n; k++)
            jl += (size_t)snprintf(joined + jl, sizeof joined - jl, "%s%s", k ? "|" : "", names[k]);
        if (strcmp(joined, c->names) != 0)
            fail_msg("%s: names \"%s\", expected \"%s\"", c->path, joined, c->names);
    }
    cadre_arena_free(&a);
}

static void test_too_many_segments(void **state)
{
    cadre_arena a;
    cadre_arena_init(&a, 0);
    char path[512] = "";
    for (int i = 0; i < MAX_NAMES + 1; i++)
        memcpy(path + 2 * i, "/a", 3);
    char *names[MAX_NAMES];
    bool slash;
    assert_int_equal(split_path(&a, path, strlen(path), false, names, MAX_NAMES, &slash), -1);
    cadre_arena_free(&a);
}

/* ---------------------------------------------------------------------------------------------
 * Resolution below the root, on a real tree
 *
 *   TMP/secret.txt                    beside the root: must never be served
 *   TMP/root/file.txt, sub/inner.txt
 *   TMP/root/sub/up -> ../file.txt    relative, stays inside: followed
 *   TMP/root/link_dir -> sub          followed
 *   TMP/root/chain -> link_dir/up     two links, inside: followed
 *   TMP/root/out -> ../secret.txt     escapes: refused
 *   TMP/root/sub/deep -> ../../secret.txt, sneaky -> ../sub/../../secret.txt
 *   TMP/root/parent -> ..             a directory outside: refused
 *   TMP/root/abs -> TMP/secret.txt, abs_in -> TMP/root/file.txt   absolute: refused
 *   TMP/root/loop -> loop
 *   TMP/root/fifo                     not a regular file
 * ------------------------------------------------------------------------------------------- */

static char tmp[256], root[300];

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void in(char *out, size_t n, const char *rel)
{
    snprintf(out, n, "%s/%s", tmp, rel);
}

static int make_tree(void **state)
{
    snprintf(tmp, sizeof tmp, "/tmp/cadre-static-XXXXXX");
    if (!mkdtemp(tmp))
        return -1;
    char p[512], t[512];
    snprintf(root, sizeof root, "%s/root", tmp);
    mkdir(root, 0755);
    in(p, sizeof p, "root/sub");
    mkdir(p, 0755);
    in(p, sizeof p, "secret.txt");
    write_file(p, "SECRET");
    in(p, sizeof p, "root/file.txt");
    write_file(p, "file");
    in(p, sizeof p, "root/sub/inner.txt");
    write_file(p, "inner");
    in(p, sizeof p, "root/sub/index.html");
    write_file(p, "<p>index</p>");
    in(p, sizeof p, "root/app.js");
    write_file(p, "console.log(1)");
    in(p, sizeof p, "root/app.js.gz");
    write_file(p, "GZ");
    in(p, sizeof p, "root/app.js.br");
    write_file(p, "BR");
    in(p, sizeof p, "root/.env");
    write_file(p, "TOKEN=1");
    static const char *const links[][2] = {
        { "sub/up", "../file.txt" },   { "link_dir", "sub" },
        { "chain", "link_dir/up" },    { "out", "../secret.txt" },
        { "sub/deep", "../../secret.txt" }, { "sub/sneaky", "../sub/../../secret.txt" },
        { "parent", ".." },            { "loop", "loop" },
        { "dot_dir", "./sub/" },       { "hidden_target", ".env" },
    };
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", root, links[i][0]);
        if (symlink(links[i][1], p) != 0)
            return -1;
    }
    in(t, sizeof t, "secret.txt");
    snprintf(p, sizeof p, "%s/abs", root);
    if (symlink(t, p) != 0)
        return -1;
    snprintf(t, sizeof t, "%s/file.txt", root);
    snprintf(p, sizeof p, "%s/abs_in", root);
    if (symlink(t, p) != 0)
        return -1;
    snprintf(p, sizeof p, "%s/fifo", root);
    if (mkfifo(p, 0644) != 0)
        return -1;
    return 0;
}

static int remove_tree(void **state)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

/* Opens a '/'-separated relative path with open_beneath; the content read, or the -errno. */
static int open_rel(const char *rel, char *content, size_t cap)
{
    char buf[512], *names[16];
    size_t n = 0;
    snprintf(buf, sizeof buf, "%s", rel);
    for (char *save = NULL, *tok = strtok_r(buf, "/", &save); tok; tok = strtok_r(NULL, "/", &save))
        names[n++] = tok;
    int fd = open_beneath(root, names, n);
    if (fd < 0)
        return fd;
    struct stat st;
    fstat(fd, &st);
    ssize_t got = S_ISREG(st.st_mode) ? read(fd, content, cap - 1) : 0;
    content[got > 0 ? got : 0] = '\0';
    close(fd);
    return S_ISDIR(st.st_mode) ? 1 : 0;
}

static void test_resolve(void **state)
{
    static const struct {
        const char *rel;
        int rc;              /* 0: a file, 1: a directory, else -errno */
        const char *content; /* for a file */
    } cases[] = {
        { "file.txt", 0, "file" },
        { "sub/inner.txt", 0, "inner" },
        { "sub", 1, NULL },
        { "", 1, NULL },
        { "sub/up", 0, "file" },
        { "link_dir/inner.txt", 0, "inner" },
        { "link_dir/up", 0, "file" },
        { "chain", 0, "file" },
        { "dot_dir", 1, NULL },
        { "dot_dir/inner.txt", 0, "inner" },
        { "hidden_target", 0, "TOKEN=1" }, /* the operator's link: dotfiles rule is for URLs */
        { "out", -EXDEV, NULL },
        { "sub/deep", -EXDEV, NULL },
        { "link_dir/deep", -EXDEV, NULL },
        { "sub/sneaky", -EXDEV, NULL },
        { "parent", -EXDEV, NULL },
        { "parent/secret.txt", -EXDEV, NULL },
        { "abs", -EXDEV, NULL },
        { "abs_in", -EXDEV, NULL },
        { "loop", -ELOOP, NULL },
        { "missing.txt", -ENOENT, NULL },
        { "file.txt/x", -ENOTDIR, NULL },
        { "missing/x", -ENOENT, NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char content[64] = "";
        int rc = open_rel(cases[i].rel, content, sizeof content);
        if (rc != cases[i].rc)
            fail_msg("%s: %d, expected %d", cases[i].rel, rc, cases[i].rc);
        if (cases[i].content && strcmp(content, cases[i].content) != 0)
            fail_msg("%s: \"%s\", expected \"%s\"", cases[i].rel, content, cases[i].content);
        assert_null(strstr(content, "SECRET"));
    }
    /* a FIFO opens without blocking, and is not a regular file */
    char *names[] = { "fifo" };
    struct stat st;
    assert_true(open_regular(root, names, 1, &st) < 0);
}

/* ---------------------------------------------------------------------------------------------
 * Header values
 * ------------------------------------------------------------------------------------------- */

static void test_range(void **state)
{
    static const struct {
        const char *h;
        uint64_t size;
        int kind;
        uint64_t first, last;
    } cases[] = {
        { "bytes=0-0", 100, RANGE_OK, 0, 0 },
        { "bytes=0-9", 100, RANGE_OK, 0, 9 },
        { "bytes=10-", 100, RANGE_OK, 10, 99 },
        { "bytes=-10", 100, RANGE_OK, 90, 99 },
        { "bytes=-1000", 100, RANGE_OK, 0, 99 },
        { "bytes=90-1000", 100, RANGE_OK, 90, 99 },
        { "bytes=99-", 100, RANGE_OK, 99, 99 },
        { "Bytes=1-2", 100, RANGE_OK, 1, 2 },
        { "bytes= 1-2 ", 100, RANGE_OK, 1, 2 },
        { "bytes=1-2,", 100, RANGE_OK, 1, 2 },
        { "bytes=,1-2", 100, RANGE_OK, 1, 2 },
        { "bytes=0-99999999999999999999999", 100, RANGE_OK, 0, 99 },
        { "bytes=100-", 100, RANGE_UNSATISFIABLE, 0, 0 },
        { "bytes=100-200", 100, RANGE_UNSATISFIABLE, 0, 0 },
        { "bytes=99999999999999999999999-", 100, RANGE_UNSATISFIABLE, 0, 0 },
        { "bytes=-0", 100, RANGE_UNSATISFIABLE, 0, 0 },
        { "bytes=0-", 0, RANGE_UNSATISFIABLE, 0, 0 },
        { "bytes=-5", 0, RANGE_UNSATISFIABLE, 0, 0 },
        { "bytes=0-1,5-6", 100, RANGE_NONE, 0, 0 }, /* several: the whole file */
        { "bytes=5-1", 100, RANGE_NONE, 0, 0 },
        { "bytes=", 100, RANGE_NONE, 0, 0 },
        { "bytes=-", 100, RANGE_NONE, 0, 0 },
        { "bytes=a-b", 100, RANGE_NONE, 0, 0 },
        { "bytes=1-2x", 100, RANGE_NONE, 0, 0 },
        { "bytes 1-2", 100, RANGE_NONE, 0, 0 },
        { "items=1-2", 100, RANGE_NONE, 0, 0 },
        { "bytes=+1-2", 100, RANGE_NONE, 0, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t first = 0, last = 0;
        int kind = parse_range(cadre_slice_cstr(cases[i].h), cases[i].size, &first, &last);
        if (kind != cases[i].kind)
            fail_msg("%s: kind %d, expected %d", cases[i].h, kind, cases[i].kind);
        if (kind == RANGE_OK && (first != cases[i].first || last != cases[i].last))
            fail_msg("%s: %llu-%llu", cases[i].h, (unsigned long long)first,
                     (unsigned long long)last);
    }
}

static void test_http_date(void **state)
{
    time_t t;
    /* RFC 9110 5.6.7's example, in its three forms */
    assert_true(parse_http_date(cadre_slice_cstr("Sun, 06 Nov 1994 08:49:37 GMT"), &t));
    assert_int_equal(t, 784111777);
    assert_true(parse_http_date(cadre_slice_cstr("Sunday, 06-Nov-94 08:49:37 GMT"), &t));
    assert_int_equal(t, 784111777);
    assert_true(parse_http_date(cadre_slice_cstr("Sun Nov  6 08:49:37 1994"), &t));
    assert_int_equal(t, 784111777);
    static const char *const bad[] = {
        "", "yesterday", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT",
        "Sun, 00 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT ", "\"abc\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (parse_http_date(cadre_slice_cstr(bad[i]), &t))
            fail_msg("accepted \"%s\"", bad[i]);
    char out[32];
    assert_int_equal(cadre_http_date(784111777, out), 29);
    assert_string_equal(out, "Sun, 06 Nov 1994 08:49:37 GMT");
}

static void test_etag_match(void **state)
{
    const char *e = "\"1-2-3\"";
    assert_true(etag_matches(cadre_slice_cstr("\"1-2-3\""), e, false));
    assert_true(etag_matches(cadre_slice_cstr("*"), e, false));
    assert_true(etag_matches(cadre_slice_cstr(" \"x\", \"1-2-3\""), e, false));
    assert_true(etag_matches(cadre_slice_cstr("\"x\",W/\"1-2-3\""), e, true)); /* weak: matches */
    assert_false(etag_matches(cadre_slice_cstr("W/\"1-2-3\""), e, false));    /* strong: no */
    assert_false(etag_matches(cadre_slice_cstr("\"1-2-4\""), e, true));
    assert_false(etag_matches(cadre_slice_cstr("1-2-3"), e, true));
    assert_false(etag_matches(cadre_slice_cstr("\"1-2-3"), e, true));
    assert_false(etag_matches(cadre_slice_cstr(""), e, true));
}

static void test_accept_encoding(void **state)
{
    static const struct {
        const char *h;
        int br, gzip;
    } cases[] = {
        { "gzip, deflate, br", 1000, 1000 },
        { "gzip", -1, 1000 },
        { "br;q=0.5, gzip;q=0.8", 500, 800 },
        { "br;q=0, *", 0, 1000 },
        { "*;q=0.1", 100, 100 },
        { "x-gzip", -1, 1000 },
        { "identity", -1, -1 },
        { "BR ; Q=1", 1000, -1 },
        { "br;q=2, gzip;q=abc", -1, -1 }, /* malformed weights: skipped */
        { "", -1, -1 },
        { "brotli, gzipx", -1, -1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cadre_slice h = cadre_slice_cstr(cases[i].h);
        if (coding_weight(h, "br") != cases[i].br || coding_weight(h, "gzip") != cases[i].gzip)
            fail_msg("%s: br %d gzip %d", cases[i].h, coding_weight(h, "br"),
                     coding_weight(h, "gzip"));
    }
}

static void test_content_type(void **state)
{
    assert_string_equal(content_type("a.html"), "text/html; charset=utf-8");
    assert_string_equal(content_type("A.CSS"), "text/css; charset=utf-8");
    assert_string_equal(content_type("m.mjs"), "text/javascript; charset=utf-8");
    assert_string_equal(content_type("x.min.js"), "text/javascript; charset=utf-8");
    assert_string_equal(content_type("a.json"), "application/json");
    assert_string_equal(content_type("a.svg"), "image/svg+xml");
    assert_string_equal(content_type("a.jpeg"), "image/jpeg");
    assert_string_equal(content_type("a.wasm"), "application/wasm");
    assert_string_equal(content_type("a.woff2"), "font/woff2");
    assert_string_equal(content_type("a.js.map"), "application/json");
    assert_string_equal(content_type("README"), "application/octet-stream");
    assert_string_equal(content_type(".bashrc"), "application/octet-stream");
    assert_string_equal(content_type("a.exe"), "application/octet-stream");
}

/* ---------------------------------------------------------------------------------------------
 * Whole requests through the test client (which copies file bodies instead of sendfile)
 * ------------------------------------------------------------------------------------------- */

static int get(cadre_app *app, const char *method, const char *target, const char *headers,
               cadre_test_response *res)
{
    int rc = cadre_test_request(app, method, target, headers, NULL, 0, res);
    assert_int_equal(rc, 0);
    return res->status;
}

static void test_requests(void **state)
{
    cadre_app *app = cadre_app_new("t");
    assert_int_equal(cadre_static(app, "/s/", root, &(cadre_static_options){ .precompressed = true,
                                                                              .max_age = 60 }),
                     0);
    assert_int_equal(cadre_static(app, "/", root, NULL), 0);
    cadre_test_response res;

    assert_int_equal(get(app, "GET", "/s/file.txt", NULL, &res), 200);
    assert_string_equal(res.body, "file");
    assert_string_equal(cadre_test_header(&res, "Content-Type"), "text/plain; charset=utf-8");
    assert_string_equal(cadre_test_header(&res, "Cache-Control"), "public, max-age=60");
    assert_string_equal(cadre_test_header(&res, "Accept-Ranges"), "bytes");
    char etag[80], lm[64];
    snprintf(etag, sizeof etag, "%s", cadre_test_header(&res, "ETag"));
    snprintf(lm, sizeof lm, "%s", cadre_test_header(&res, "Last-Modified"));
    cadre_test_response_free(&res);

    /* the mount at "/" is reached too; HEAD has the length and no body */
    assert_int_equal(get(app, "HEAD", "/file.txt", NULL, &res), 200);
    assert_string_equal(cadre_test_header(&res, "Content-Length"), "4");
    assert_int_equal(res.body_len, 0);
    assert_null(cadre_test_header(&res, "Cache-Control"));
    cadre_test_response_free(&res);

    char h[200];
    snprintf(h, sizeof h, "If-None-Match: %s\r\n", etag);
    assert_int_equal(get(app, "GET", "/s/file.txt", h, &res), 304);
    assert_int_equal(res.body_len, 0);
    assert_string_equal(cadre_test_header(&res, "ETag"), etag);
    cadre_test_response_free(&res);
    snprintf(h, sizeof h, "If-Modified-Since: %s\r\n", lm);
    assert_int_equal(get(app, "GET", "/s/file.txt", h, &res), 304);
    cadre_test_response_free(&res);
    snprintf(h, sizeof h, "If-None-Match: \"other\"\r\nIf-Modified-Since: %s\r\n", lm);
    assert_int_equal(get(app, "GET", "/s/file.txt", h, &res), 200); /* If-None-Match wins */
    cadre_test_response_free(&res);
    assert_int_equal(get(app, "GET", "/s/file.txt", "If-Match: \"other\"\r\n", &res), 412);
    cadre_test_response_free(&res);

    assert_int_equal(get(app, "GET", "/s/file.txt", "Range: bytes=1-2\r\n", &res), 206);
    assert_string_equal(res.body, "il");
    assert_string_equal(cadre_test_header(&res, "Content-Range"), "bytes 1-2/4");
    cadre_test_response_free(&res);
    assert_int_equal(get(app, "GET", "/s/file.txt", "Range: bytes=9-\r\n", &res), 416);
    assert_string_equal(cadre_test_header(&res, "Content-Range"), "bytes */4");
    cadre_test_response_free(&res);

    /* pre-compressed: br preferred; gzip when only it is accepted; none at "/" */
    assert_int_equal(get(app, "GET", "/s/app.js", "Accept-Encoding: gzip, br\r\n", &res), 200);
    assert_string_equal(res.body, "BR");
    assert_string_equal(cadre_test_header(&res, "Content-Encoding"), "br");
    assert_string_equal(cadre_test_header(&res, "Vary"), "Accept-Encoding");
    assert_string_equal(cadre_test_header(&res, "Content-Type"), "text/javascript; charset=utf-8");
    cadre_test_response_free(&res);
    assert_int_equal(get(app, "GET", "/s/app.js", "Accept-Encoding: gzip\r\n", &res), 200);
    assert_string_equal(res.body, "GZ");
    cadre_test_response_free(&res);
    assert_int_equal(get(app, "GET", "/app.js", "Accept-Encoding: gzip, br\r\n", &res), 200);
    assert_string_equal(res.body, "console.log(1)");
    assert_null(cadre_test_header(&res, "Content-Encoding"));
    cadre_test_response_free(&res);

    /* directories: index with the slash, a redirect without */
    assert_int_equal(get(app, "GET", "/s/sub/", NULL, &res), 200);
    assert_string_equal(res.body, "<p>index</p>");
    cadre_test_response_free(&res);
    assert_int_equal(get(app, "GET", "/s/sub?x=1", NULL, &res), 301);
    assert_string_equal(cadre_test_header(&res, "Location"), "/s/sub/?x=1");
    cadre_test_response_free(&res);
    assert_int_equal(get(app, "GET", "/s/", NULL, &res), 404); /* the root has no index.html */
    cadre_test_response_free(&res);

    static const char *const hostile[] = {
        "/s/../secret.txt", "/s/%2e%2e/secret.txt", "/s/..%2fsecret.txt", "/s/out",
        "/s/sub/deep", "/s/parent/secret.txt", "/s/abs", "/s/fifo", "/s/.env", "/s//etc/passwd",
        "/s/file.txt%00.png", "/s/file.txt/", "/s/loop", "/%2e%2e/secret.txt", "/parent/",
    };
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        int st = get(app, "GET", hostile[i], NULL, &res);
        if (st != 404 && st != 400)
            fail_msg("%s: %d", hostile[i], st);
        assert_null(strstr(res.body, "SECRET"));
        cadre_test_response_free(&res);
    }

    /* other methods: 405 with Allow */
    assert_int_equal(get(app, "POST", "/s/file.txt", NULL, &res), 405);
    assert_string_equal(cadre_test_header(&res, "Allow"), "GET, HEAD, OPTIONS");
    cadre_test_response_free(&res);
    cadre_app_free(app);
}

static int h_exact(cadre_request *r)
{
    return cadre_text(r, 200, "exact");
}

static void test_routing_and_errors(void **state)
{
    cadre_app *app = cadre_app_new("t");
    assert_int_equal(cadre_static(app, "/", root, NULL), 0);
    assert_int_equal(cadre_static(app, "/a/b", root, NULL), 0);
    cadre_get(app, "/file.txt", h_exact);
    cadre_get(app, "/x/{id}", h_exact);
    cadre_test_response res;
    assert_int_equal(get(app, "GET", "/file.txt", NULL, &res), 200); /* a route beats a mount */
    assert_string_equal(res.body, "exact");
    cadre_test_response_free(&res);
    assert_int_equal(get(app, "GET", "/x/file.txt", NULL, &res), 200);
    assert_string_equal(res.body, "exact");
    cadre_test_response_free(&res);
    assert_int_equal(get(app, "GET", "/a/b/sub/inner.txt", NULL, &res), 200); /* longer prefix */
    assert_string_equal(res.body, "inner");
    cadre_test_response_free(&res);
    assert_int_equal(get(app, "GET", "/sub/inner.txt", NULL, &res), 200);
    assert_string_equal(res.body, "inner");
    cadre_test_response_free(&res);
    assert_int_equal(get(app, "GET", "/%61/b/file.txt", NULL, &res), 200); /* encoded prefix */
    assert_string_equal(res.body, "file");
    cadre_test_response_free(&res);
    /* hidden from OpenAPI: files have no contract to document (FastAPI's StaticFiles neither) */
    cadre_buf doc;
    cadre_buf_init(&doc, 1 << 20);
    assert_int_equal(cadre_app_openapi(app, &doc), 0);
    assert_non_null(cadre_buf_cstr(&doc));
    assert_null(strstr(doc.data, "\"/a/b\""));
    assert_null(strstr(doc.data, "\"/file.txt\""));
    cadre_buf_free(&doc);
    assert_int_equal(cadre_app_check(app), 0);
    cadre_app_free(app);

    /* configuration errors keep the app from starting */
    cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
    app = cadre_app_new("t");
    char p[512];
    snprintf(p, sizeof p, "%s/file.txt", root);
    assert_int_equal(cadre_static(app, "static", root, NULL), CADRE_EINVAL);
    assert_int_equal(cadre_static(app, "/a//b", root, NULL), CADRE_EINVAL);
    assert_int_equal(cadre_static(app, "/{x}", root, NULL), CADRE_EINVAL);
    assert_int_equal(cadre_static(app, "/f", p, NULL), CADRE_EINVAL);
    assert_int_equal(cadre_static(app, "/m", "/nonexistent/dir", NULL), CADRE_EINVAL);
    assert_int_equal(cadre_static(app, "/i", root, &(cadre_static_options){ .index = "a/b" }),
                     CADRE_EINVAL);
    assert_int_equal(cadre_static(app, "/ok", root, NULL), 0);
    assert_int_equal(cadre_static(app, "/ok/", root, NULL), CADRE_EEXIST);
    assert_int_equal(cadre_app_check(app), 7);
    cadre_app_free(app);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_path_table),
        cmocka_unit_test(test_too_many_segments),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_http_date),
        cmocka_unit_test(test_etag_match),
        cmocka_unit_test(test_accept_encoding),
        cmocka_unit_test(test_content_type),
        cmocka_unit_test(test_requests),
        cmocka_unit_test(test_routing_and_errors),
    };
    return cmocka_run_group_tests(tests, make_tree, remove_tree);
}
