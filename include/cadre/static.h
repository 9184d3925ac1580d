/**
 * cadre/static.h — serving a directory of files under a route prefix: Content-Type by extension,
 * validators (ETag, Last-Modified) and 304s, single byte ranges, optional pre-compressed
 * variants, bodies sent with sendfile(2). Nothing outside the directory is ever served.
 */
#ifndef CADRE_STATIC_H
#define CADRE_STATIC_H

#include "app.h"

#ifdef __cplusplus
extern "C" {
#endif

/** How a mount serves its directory. All-zero (or a NULL pointer) gives the defaults. */
typedef struct cadre_static_options {
    /**
     * Serve NAME.br or NAME.gz instead of NAME when the request's Accept-Encoding allows it and
     * that file exists, is a regular file and is not older than NAME; the answer then carries
     * Content-Encoding, and every answer of the mount Vary: Accept-Encoding. Brotli is preferred
     * at equal weight. Default false.
     */
    bool precompressed;
    /**
     * Cache-Control: > 0 sends "public, max-age=N" (seconds); < 0 sends "no-cache" (use, but
     * revalidate every time); 0, the default, sends none (caches use the validators).
     */
    int max_age;
    /**
     * The file served for a directory requested with a trailing slash: NULL (the default) means
     * "index.html", "" means none (directories are 404). A directory requested without the
     * slash is redirected (301) to it when its index exists. A single file name (no '/').
     */
    const char *index;
    /**
     * Serve names starting with '.' (".env", ".git/config"). Default false: they are 404, and so
     * is anything below a directory whose name starts with '.'.
     */
    bool dotfiles;
} cadre_static_options;

/**
 * Serves the files below dir at GET (and HEAD) prefix/... — e.g. cadre_static(app, "/static",
 * "public", NULL) answers GET /static/css/site.css with public/css/site.css.
 *
 * prefix is a route path of literal segments ("/", "/static", "/assets/v1"; a trailing '/' is
 * ignored). Any other route that matches a path beats the mount (so a mount at "/" serves what
 * the API routes do not); between mounts, the longer prefix wins. Other methods on the mount's
 * paths answer 405 with Allow: GET, HEAD. The route is left out of the OpenAPI document.
 *
 * dir must be a directory when this is called (relative to the current directory: it is made
 * absolute now). It is opened by name on every request, so a directory that a build replaces
 * is picked up, and its contents are never cached.
 *
 * What is served: regular files only. Every request path segment is percent-decoded on its own;
 * a segment that is empty (a//b), "." or "..", holds a '/', '\\', NUL or another control byte
 * once decoded, or (unless opt->dotfiles) starts with '.', is a 404 before the file system is
 * touched. The path is then opened one name at a time below dir with O_NOFOLLOW: a symbolic
 * link with a relative target is followed as long as it stays inside dir; one that leads
 * outside, and any absolute link, is refused. Everything that is not served — missing, refused, unreadable, a device, a directory
 * without index — is the same 404 {"detail":"Not Found"}, so that what exists is not revealed.
 *
 * Answers (RFC 9110): 200 with Content-Type from the extension (text types with charset=utf-8,
 * application/octet-stream when unknown), Content-Length, Accept-Ranges: bytes, a strong ETag
 * (inode, size, mtime in ns), Last-Modified and X-Content-Type-Options: nosniff. If-Match and
 * If-Unmodified-Since → 412; If-None-Match (which takes precedence) and If-Modified-Since → 304.
 * A single Range (bytes=a-b, a-, -n) on GET → 206 with Content-Range, or 416 with a
 * Content-Range stating the size when it cannot be satisfied; several ranges, another unit or an
 * If-Range that does not match (strong ETag or exact date) → the whole file, 200.
 *
 * The options are copied; opt may be NULL. A bad prefix or dir, a bad index name or a prefix
 * already mounted is recorded with file and line (the app then refuses to start, as for routes).
 * Returns 0, CADRE_EINVAL, CADRE_EEXIST or CADRE_ENOMEM.
 */
int cadre__static(cadre_app *app, const char *prefix, const char *dir,
                  const cadre_static_options *opt, const char *file, int line);

/* opt is variadic so that a compound literal's commas pass through:
 * cadre_static(app, "/static", "public", &(cadre_static_options){ .precompressed = true, ... }) */
#define cadre_static(app, prefix, dir, ...)                                                        \
    cadre__static((app), (prefix), (dir), (__VA_ARGS__), __FILE__, __LINE__)

#ifdef __cplusplus
}
#endif
#endif
