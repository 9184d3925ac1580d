/*
 * Static files: a route prefix serving a directory (cadre/static.h).
 *
 * Safety comes from two independent layers. First, the request path is split and each segment
 * percent-decoded on its own (never the path as a whole, so an encoded '/' cannot join two
 * segments), and any segment that could steer the lookup ("", ".", "..", a '/', '\\' or NUL, a
 * leading '.') ends the request with a 404 before a system call is made. Second, the names are
 * opened one at a time, each relative to its parent directory's descriptor with O_NOFOLLOW, so
 * the kernel never resolves a path we have not checked: a symbolic link is read with readlinkat
 * and its target walked the same way, ".." in it popping back up the directories already
 * opened. Popping above the root, or an absolute target, refuses. Nothing is looked up by a
 * string path except the root itself.
 *
 * The body is sent with sendfile from the open descriptor (cadre_respond_file), which the
 * connection owns and closes.
 */
#include "app_internal.h"

#include <cadre/static.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_NAMES 64   /* path segments below the mount (the router splits at most 64 anyway) */
#define MAX_DEPTH 64   /* directories open at once while resolving */
#define MAX_LINKS 40   /* symbolic links followed for one path (the kernel's MAXSYMLINKS) */
#define WORK_MAX 8192  /* bytes of path left to resolve, links expanded */

struct static_mount {
    char *root;         /* the directory, absolute */
    size_t prefix_segs; /* segments of the prefix: the path below the mount starts after them */
    char *index;        /* served for a directory, or NULL */
    char *cache_control; /* NULL: none */
    bool precompressed, dotfiles;
};

/* ---------------------------------------------------------------------------------------------
 * From the request path to file names
 * ------------------------------------------------------------------------------------------- */

/* Whether a decoded segment may name a file: not empty, ".", ".." or hidden (unless dotfiles),
 * and free of the bytes that mean something to a file system ('/', NUL; '\\' elsewhere) or to a
 * terminal. */
static bool valid_name(const char *s, size_t n, bool dotfiles)
{
    if (n == 0 || n > NAME_MAX)
        return false;
    if (s[0] == '.' && (!dotfiles || n == 1 || (n == 2 && s[1] == '.')))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

/*
 * Splits p[0..len), the still-encoded request path below the mount ("" or "/a/b", "/a/b/"), into
 * names: each segment decoded on its own into the arena, NUL-terminated. *slash tells whether the
 * path ends with '/' ("/" alone: the mount's directory itself). Returns the number of names, or
 * -1 when the path must not reach the file system (see valid_name; also a bad escape, too many
 * segments).
 */
static int split_path(cadre_arena *a, const char *p, size_t len, bool dotfiles, char **names,
                      size_t max, bool *slash /* OUT */)
{
    *slash = false;
    if (len == 0)
        return 0;
    if (p[0] != '/')
        return -1;
    size_t n = 0, i = 1;
    for (;;) {
        const char *e = memchr(p + i, '/', len - i);
        size_t end = e ? (size_t)(e - p) : len;
        size_t sl = end - i;
        if (sl == 0 && end == len) {
            *slash = true; /* the trailing '/' */
            break;
        }
        if (n == max)
            return -1;
        char *d = cadre_arena_alloc(a, sl + 1);
        long dl = cadre_url_decode(d, p + i, sl, false);
        if (dl < 0 || !valid_name(d, (size_t)dl, dotfiles))
            return -1;
        d[dl] = '\0';
        names[n++] = d;
        if (end == len)
            break;
        i = end + 1;
    }
    return (int)n;
}

/* ---------------------------------------------------------------------------------------------
 * Opening below the root
 * ------------------------------------------------------------------------------------------- */

/*
 * Opens root/names[0]/…/names[n-1] (n may be 0: the root) without ever leaving root. Every name
 * is opened relative to its parent with O_NOFOLLOW; a symbolic link is read and its target walked
 * instead, so a relative link is followed while it stays below root, and one whose ".." would
 * climb above it, or an absolute one, is refused. Returns a descriptor (O_RDONLY, or O_PATH for a
 * directory reached through a link's trailing "/" or ".."), or a negative errno: -EXDEV for an
 * escape, -ELOOP for too many links, -ENAMETOOLONG for too deep or too long.
 */
static int open_beneath(const char *root, char *const *names, size_t n)
{
    int dirs[MAX_DEPTH + 1];
    size_t depth = 0;
    int result;
    char work[WORK_MAX]; /* what is left to resolve: names joined with '/' */
    size_t wlen = 0, pos = 0;
    int links = 0;

    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(names[i]);
        if (wlen + l + 1 > sizeof work)
            return -ENAMETOOLONG;
        if (i)
            work[wlen++] = '/';
        memcpy(work + wlen, names[i], l);
        wlen += l;
    }
    /* The root itself is the operator's: a link there is followed. */
    dirs[0] = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dirs[0] < 0)
        return -errno;
    for (;;) {
        while (pos < wlen && work[pos] == '/')
            pos++;
        if (pos == wlen) {
            /* Everything consumed, standing in a directory: that is the answer. */
            result = dirs[depth];
            dirs[depth] = -1;
            break;
        }
        const char *slash = memchr(work + pos, '/', wlen - pos);
        size_t end = slash ? (size_t)(slash - work) : wlen;
        char name[NAME_MAX + 1];
        if (end - pos > NAME_MAX) {
            result = -ENAMETOOLONG;
            break;
        }
        memcpy(name, work + pos, end - pos);
        name[end - pos] = '\0';
        bool last = end == wlen; /* a link's target ending in '/' leaves a directory last */
        pos = end;
        if (strcmp(name, ".") == 0)
            continue;
        if (strcmp(name, "..") == 0) {
            /* Only a link's target can hold "..": the request's names cannot (valid_name). */
            if (depth == 0) {
                result = -EXDEV;
                break;
            }
            close(dirs[depth--]);
            continue;
        }
        int fd = last ? openat(dirs[depth], name,
                               O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
                      : openat(dirs[depth], name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd >= 0) {
            if (last) {
                result = fd;
                break;
            }
            if (depth == MAX_DEPTH) {
                close(fd);
                result = -ENAMETOOLONG;
                break;
            }
            dirs[++depth] = fd;
            continue;
        }
        int err = errno;
        if (err != ELOOP && err != ENOTDIR) {
            result = -err;
            break;
        }
        /* O_NOFOLLOW met a link (ELOOP; ENOTDIR with O_DIRECTORY), or a file stands where a
         * directory should (ENOTDIR: readlinkat then fails with EINVAL). */
        char target[PATH_MAX];
        ssize_t tl = readlinkat(dirs[depth], name, target, sizeof target);
        if (tl < 0) {
            result = -err;
            break;
        }
        if (++links > MAX_LINKS) {
            result = -ELOOP;
            break;
        }
        if (tl == 0 || target[0] == '/') {
            result = -EXDEV; /* absolute: refused, even when it points inside */
            break;
        }
        /* What is left becomes the link's target followed by what came after the link. */
        size_t rest = wlen - end;
        if ((size_t)tl + rest > sizeof work) {
            result = -ENAMETOOLONG;
            break;
        }
        memmove(work + tl, work + end, rest);
        memcpy(work, target, (size_t)tl);
        wlen = (size_t)tl + rest;
        pos = 0;
    }
    for (size_t i = 0; i <= depth; i++)
        if (dirs[i] >= 0)
            close(dirs[i]);
    return result;
}

/* ---------------------------------------------------------------------------------------------
 * Content types
 * ------------------------------------------------------------------------------------------- */

static const struct {
    const char *ext, *type;
} types[] = {
    { "html", "text/html; charset=utf-8" },
    { "htm", "text/html; charset=utf-8" },
    { "css", "text/css; charset=utf-8" },
    { "js", "text/javascript; charset=utf-8" },
    { "mjs", "text/javascript; charset=utf-8" },
    { "json", "application/json" },
    { "map", "application/json" },
    { "webmanifest", "application/manifest+json" },
    { "txt", "text/plain; charset=utf-8" },
    { "md", "text/markdown; charset=utf-8" },
    { "csv", "text/csv; charset=utf-8" },
    { "xml", "application/xml" },
    { "svg", "image/svg+xml" },
    { "png", "image/png" },
    { "jpg", "image/jpeg" },
    { "jpeg", "image/jpeg" },
    { "gif", "image/gif" },
    { "webp", "image/webp" },
    { "avif", "image/avif" },
    { "ico", "image/x-icon" },
    { "pdf", "application/pdf" },
    { "wasm", "application/wasm" },
    { "woff", "font/woff" },
    { "woff2", "font/woff2" },
    { "ttf", "font/ttf" },
    { "otf", "font/otf" },
    { "mp4", "video/mp4" },
    { "webm", "video/webm" },
    { "mp3", "audio/mpeg" },
    { "ogg", "audio/ogg" },
    { "zip", "application/zip" },
};

/* The Content-Type for a file name, by its extension (ASCII case-insensitive). */
static const char *content_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot && dot != name) {
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot + 1, types[i].ext) == 0)
                return types[i].type;
    }
    return "application/octet-stream";
}

/* ---------------------------------------------------------------------------------------------
 * Header values: HTTP dates, entity tags, ranges, Accept-Encoding
 * ------------------------------------------------------------------------------------------- */

static const char month_names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

static bool parse_digits(const char *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

static int parse_month(const char *p)
{
    for (int i = 0; i < 12; i++)
        if (memcmp(p, month_names + 3 * i, 3) == 0)
            return i;
    return -1;
}

/* "HH:MM:SS" */
static bool parse_clock(const char *p, struct tm *tm)
{
    return parse_digits(p, 2, &tm->tm_hour) && p[2] == ':' && parse_digits(p + 3, 2, &tm->tm_min) &&
           p[5] == ':' && parse_digits(p + 6, 2, &tm->tm_sec) && tm->tm_hour < 24 &&
           tm->tm_min < 60 && tm->tm_sec < 61;
}

/*
 * An HTTP-date in any of the three formats a recipient must accept (RFC 9110 5.6.7):
 * IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" and
 * asctime "Sun Nov  6 08:49:37 1994". Returns false for anything else.
 */
static bool parse_http_date(cadre_slice s, time_t *out /* OUT */)
{
    char b[40];
    if (s.len >= sizeof b)
        return false;
    memcpy(b, s.ptr, s.len);
    b[s.len] = '\0';
    struct tm tm = { 0 };
    int mon;
    const char *comma = strchr(b, ',');
    if (s.len == 29 && comma == b + 3) {
        /* IMF-fixdate */
        if (b[4] != ' ' || !parse_digits(b + 5, 2, &tm.tm_mday) || b[7] != ' ' ||
            (mon = parse_month(b + 8)) < 0 || b[11] != ' ' || !parse_digits(b + 12, 4, &tm.tm_year) ||
            b[16] != ' ' || !parse_clock(b + 17, &tm) || strcmp(b + 25, " GMT") != 0)
            return false;
        tm.tm_year -= 1900;
    } else if (comma && comma - b >= 6 && (size_t)(comma - b) + 24 == s.len) {
        /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
        const char *p = comma + 1;
        if (p[0] != ' ' || !parse_digits(p + 1, 2, &tm.tm_mday) || p[3] != '-' ||
            (mon = parse_month(p + 4)) < 0 || p[7] != '-' || !parse_digits(p + 8, 2, &tm.tm_year) ||
            p[10] != ' ' || !parse_clock(p + 11, &tm) || strcmp(p + 19, " GMT") != 0)
            return false;
        if (tm.tm_year < 70)
            tm.tm_year += 100; /* two-digit years: 70-99 are 19xx, the rest 20xx */
    } else if (s.len == 24 && b[3] == ' ' && b[7] == ' ' && b[10] == ' ' && b[19] == ' ') {
        /* asctime: "Sun Nov  6 08:49:37 1994" */
        if ((mon = parse_month(b + 4)) < 0)
            return false;
        if (b[8] == ' ' ? !parse_digits(b + 9, 1, &tm.tm_mday) : !parse_digits(b + 8, 2, &tm.tm_mday))
            return false;
        if (!parse_clock(b + 11, &tm) || !parse_digits(b + 20, 4, &tm.tm_year))
            return false;
        tm.tm_year -= 1900;
    } else {
        return false;
    }
    if (tm.tm_mday < 1 || tm.tm_mday > 31)
        return false;
    tm.tm_mon = mon;
    *out = timegm(&tm);
    return true;
}

/* Skips optional whitespace. */
static const char *ows(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/*
 * Whether the entity-tag list in h (If-Match, If-None-Match) matches etag ("\"...\""). "*"
 * matches any. weak: the weak comparison (W/ prefixes ignored, for If-None-Match); otherwise
 * the strong one (a weak tag never matches). A malformed list matches nothing.
 */
static bool etag_matches(cadre_slice h, const char *etag, bool weak)
{
    const char *p = h.ptr, *end = h.ptr + h.len;
    size_t el = strlen(etag);
    p = ows(p, end);
    if (end - p == 1 && *p == '*')
        return true;
    while (p < end) {
        bool is_weak = false;
        if (end - p >= 2 && p[0] == 'W' && p[1] == '/') {
            is_weak = true;
            p += 2;
        }
        if (p == end || *p != '"')
            return false;
        const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
        if (!q)
            return false;
        size_t tl = (size_t)(q + 1 - p);
        if ((weak || !is_weak) && tl == el && memcmp(p, etag, el) == 0)
            return true;
        p = ows(q + 1, end);
        if (p < end && *p != ',')
            return false;
        while (p < end && (*p == ',' || *p == ' ' || *p == '\t'))
            p++;
    }
    return false;
}

enum { RANGE_NONE, RANGE_OK, RANGE_UNSATISFIABLE };

/* Digits into *v, saturating far above any file size. Returns the end, or NULL if none. */
static const char *parse_u64(const char *p, const char *end, uint64_t *v)
{
    const char *s = p;
    uint64_t x = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        if (x < ((uint64_t)1 << 60))
            x = x * 10 + (uint64_t)(*p - '0');
        p++;
    }
    *v = x;
    return p == s ? NULL : p;
}

/*
 * A Range header against a representation of size bytes (RFC 9110 14.2). RANGE_OK with the
 * inclusive [*first, *last] for one satisfiable byte range; RANGE_UNSATISFIABLE; or RANGE_NONE
 * when the header is to be ignored (another unit, malformed, or several ranges: the whole
 * representation is then the answer, which the RFC allows).
 */
static int parse_range(cadre_slice h, uint64_t size, uint64_t *first, uint64_t *last)
{
    const char *p = h.ptr, *end = h.ptr + h.len;
    if (h.len < 6 || strncasecmp(p, "bytes=", 6) != 0)
        return RANGE_NONE;
    p = ows(p + 6, end);
    /* Empty list elements are allowed; more than one range is answered whole. */
    while (p < end && *p == ',')
        p = ows(p + 1, end);
    uint64_t a = 0, b = 0;
    bool suffix = false, open = false;
    if (p < end && *p == '-') {
        suffix = true;
        if (!(p = parse_u64(p + 1, end, &b)))
            return RANGE_NONE;
    } else {
        if (!(p = parse_u64(p, end, &a)) || p == end || *p != '-')
            return RANGE_NONE;
        p++;
        if (p < end && *p >= '0' && *p <= '9') {
            p = parse_u64(p, end, &b);
            if (b < a)
                return RANGE_NONE; /* invalid: ignored */
        } else {
            open = true;
        }
    }
    p = ows(p, end);
    while (p < end && *p == ',') {
        p = ows(p + 1, end);
        if (p < end && *p != ',')
            return RANGE_NONE; /* a second range */
    }
    if (p != end)
        return RANGE_NONE;
    if (suffix) {
        if (b == 0 || size == 0)
            return RANGE_UNSATISFIABLE;
        *first = b >= size ? 0 : size - b;
        *last = size - 1;
        return RANGE_OK;
    }
    if (a >= size)
        return RANGE_UNSATISFIABLE;
    *first = a;
    *last = open || b >= size ? size - 1 : b;
    return RANGE_OK;
}

/*
 * The weight (0..1000) that an Accept-Encoding value gives coding, or -1 when it names neither
 * it nor "*". An element with a malformed weight is skipped.
 */
static int coding_weight(cadre_slice h, const char *coding)
{
    const char *p = h.ptr, *end = h.ptr + h.len;
    size_t cl = strlen(coding);
    int exact = -1, star = -1;
    while (p < end) {
        p = ows(p, end);
        const char *t = p;
        while (p < end && *p != ',' && *p != ';' && *p != ' ' && *p != '\t')
            p++;
        size_t tl = (size_t)(p - t);
        int q = 1000;
        bool bad = false;
        p = ows(p, end);
        while (p < end && *p == ';') {
            p = ows(p + 1, end);
            if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
                p += 2;
                /* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
                if (p < end && (*p == '0' || *p == '1')) {
                    q = (*p++ - '0') * 1000;
                    if (p < end && *p == '.') {
                        p++;
                        for (int scale = 100; p < end && *p >= '0' && *p <= '9'; scale /= 10, p++)
                            q += scale * (*p - '0');
                    }
                    if (q > 1000)
                        bad = true;
                } else {
                    bad = true;
                }
            }
            while (p < end && *p != ',' && *p != ';')
                p++;
        }
        if (p < end && *p != ',')
            bad = true;
        while (p < end && *p != ',')
            p++;
        if (p < end)
            p++;
        if (bad || tl == 0)
            continue;
        if ((tl == cl && strncasecmp(t, coding, cl) == 0) ||
            (strcmp(coding, "gzip") == 0 && tl == 6 && strncasecmp(t, "x-gzip", 6) == 0))
            exact = q;
        else if (tl == 1 && *t == '*')
            star = q;
    }
    return exact >= 0 ? exact : star;
}

/* ---------------------------------------------------------------------------------------------
 * The handler
 * ------------------------------------------------------------------------------------------- */

static int not_found(cadre_request *r, int err)
{
    if (err == -EMFILE || err == -ENFILE) {
        /* The server's own shortage, not the file's absence: worth a retry and a log line. */
        cadre_log(CADRE_LOG_ERROR, "static files: %s", strerror(-err));
        return cadre_error(r, 503, "Service Unavailable");
    }
    return cadre_error(r, 404, "Not Found");
}

/* Opens names[0..n) and checks that it is a regular file; fills *st. Returns fd or -errno. */
static int open_regular(const char *root, char *const *names, size_t n, struct stat *st)
{
    int fd = open_beneath(root, names, n);
    if (fd < 0)
        return fd;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return -ENOENT;
    }
    return fd;
}

static bool not_older(const struct stat *a, const struct stat *b)
{
    return a->st_mtim.tv_sec > b->st_mtim.tv_sec ||
           (a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec >= b->st_mtim.tv_nsec);
}

static int serve_static(cadre_request *r)
{
    const struct static_mount *m = r->route_data;
    /* The raw path below the prefix: skip the prefix's segments as sent (they may be encoded). */
    const char *p = r->head.path.ptr, *end = p + r->head.path.len;
    for (size_t k = 0; k < m->prefix_segs && p < end; k++) {
        const char *s = memchr(p + 1, '/', (size_t)(end - p - 1));
        p = s ? s : end;
    }
    char *names[MAX_NAMES + 1];
    bool slash;
    int n = split_path(r->arena, p, (size_t)(end - p), m->dotfiles, names, MAX_NAMES, &slash);
    if (n < 0)
        return not_found(r, -ENOENT);

    struct stat st;
    int fd = open_beneath(m->root, names, (size_t)n);
    if (fd < 0)
        return not_found(r, fd);
    if (fstat(fd, &st) != 0) {
        close(fd);
        return not_found(r, -ENOENT);
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        if (!m->index)
            return not_found(r, -ENOENT);
        names[n++] = m->index;
        fd = open_regular(m->root, names, (size_t)n, &st);
        if (fd < 0)
            return not_found(r, fd);
        if (!slash) {
            /* "/docs" → "/docs/", so that the index's relative links resolve below it. */
            close(fd);
            cadre_slice q = r->head.query;
            char *loc = cadre_arena_printf(r->arena, "%.*s/%s%.*s", (int)r->head.path.len,
                                           r->head.path.ptr, q.ptr ? "?" : "", (int)q.len,
                                           q.ptr ? q.ptr : "");
            cadre_set_header(r, "Location", loc);
            return cadre_respond_ref(r, 301, NULL, NULL, 0);
        }
    } else if (!S_ISREG(st.st_mode) || slash || n == 0) {
        close(fd);
        return not_found(r, -ENOENT);
    }
    const char *name = names[n - 1];
    const char *type = content_type(name);

    const char *encoding = NULL;
    if (m->precompressed) {
        cadre_set_header(r, "Vary", "Accept-Encoding");
        cadre_slice ae = cadre_request_header(r, "Accept-Encoding");
        int br = ae.ptr ? coding_weight(ae, "br") : -1;
        int gz = ae.ptr ? coding_weight(ae, "gzip") : -1;
        static const char *const codings[2][2] = { { "br", ".br" }, { "gzip", ".gz" } };
        int order[2] = { br >= gz ? 0 : 1, br >= gz ? 1 : 0 };
        for (int i = 0; i < 2 && !encoding; i++) {
            if ((order[i] == 0 ? br : gz) <= 0)
                continue;
            names[n - 1] = cadre_arena_printf(r->arena, "%s%s", name, codings[order[i]][1]);
            struct stat vst;
            int vfd = open_regular(m->root, names, (size_t)n, &vst);
            if (vfd < 0)
                continue;
            if (!not_older(&vst, &st)) {
                close(vfd); /* stale: the original was changed after it was compressed */
                continue;
            }
            close(fd);
            fd = vfd;
            st = vst;
            encoding = codings[order[i]][0];
        }
    }

    /* Validators of the representation chosen. */
    uint64_t size = (uint64_t)st.st_size;
    char etag[80];
    snprintf(etag, sizeof etag, "\"%llx-%llx-%llx\"", (unsigned long long)st.st_ino,
             (unsigned long long)size,
             (unsigned long long)st.st_mtim.tv_sec * 1000000000ull +
                 (unsigned long long)st.st_mtim.tv_nsec);
    time_t now = time(NULL);
    time_t modified = st.st_mtim.tv_sec < now ? st.st_mtim.tv_sec : now; /* never in the future */
    char lm[32];
    cadre_http_date(modified, lm);
    cadre_set_header(r, "ETag", etag);
    if (m->cache_control)
        cadre_set_header(r, "Cache-Control", m->cache_control);

    /* Preconditions, in RFC 9110 13.2.2's order. */
    cadre_slice h;
    time_t when;
    if ((h = cadre_request_header(r, "If-Match")).ptr) {
        if (!etag_matches(h, etag, false))
            goto precondition_failed;
    } else if ((h = cadre_request_header(r, "If-Unmodified-Since")).ptr && parse_http_date(h, &when)) {
        if (modified > when)
            goto precondition_failed;
    }
    if ((h = cadre_request_header(r, "If-None-Match")).ptr) {
        if (etag_matches(h, etag, true))
            goto not_modified;
    } else if ((h = cadre_request_header(r, "If-Modified-Since")).ptr && parse_http_date(h, &when)) {
        if (modified <= when)
            goto not_modified;
    }

    cadre_set_header(r, "Last-Modified", lm);
    cadre_set_header(r, "Accept-Ranges", "bytes");
    cadre_set_header(r, "X-Content-Type-Options", "nosniff");
    if (encoding)
        cadre_set_header(r, "Content-Encoding", encoding);

    /* Range applies to GET only (RFC 9110 14.2), and If-Range may turn it off. */
    cadre_slice range = cadre_request_header(r, "Range");
    if (range.ptr && cadre_slice_eq_cstr(r->head.method, "GET")) {
        cadre_slice ir = cadre_request_header(r, "If-Range");
        bool use = true;
        if (ir.ptr) {
            if (ir.len > 0 && ir.ptr[0] == '"')
                use = etag_matches(ir, etag, false); /* a strong comparison */
            else if (ir.len > 1 && ir.ptr[0] == 'W' && ir.ptr[1] == '/')
                use = false; /* a weak tag never matches */
            else
                use = parse_http_date(ir, &when) && when == modified;
        }
        uint64_t first, last;
        int kind = use ? parse_range(range, size, &first, &last) : RANGE_NONE;
        if (kind == RANGE_UNSATISFIABLE) {
            close(fd);
            cadre_set_header(r, "Content-Range",
                             cadre_arena_printf(r->arena, "bytes */%llu", (unsigned long long)size));
            return cadre_error(r, 416, "Range Not Satisfiable");
        }
        if (kind == RANGE_OK) {
            cadre_set_header(r, "Content-Range",
                             cadre_arena_printf(r->arena, "bytes %llu-%llu/%llu",
                                                (unsigned long long)first, (unsigned long long)last,
                                                (unsigned long long)size));
            return cadre_respond_file(r, 206, type, fd, (off_t)first, (size_t)(last - first + 1));
        }
    }
    return cadre_respond_file(r, 200, type, fd, 0, (size_t)size);

not_modified:
    close(fd);
    return cadre_respond_ref(r, 304, NULL, NULL, 0);
precondition_failed:
    close(fd);
    return cadre_error(r, 412, "Precondition Failed");
}

/* ---------------------------------------------------------------------------------------------
 * Registration
 * ------------------------------------------------------------------------------------------- */

int cadre__static(cadre_app *app, const char *prefix, const char *dir,
                  const cadre_static_options *opt, const char *file, int line)
{
    static const cadre_static_options defaults = { 0 };
    if (!opt)
        opt = &defaults;
    if (!prefix || prefix[0] != '/' || strstr(prefix, "//") || strpbrk(prefix, "{}")) {
        cadre_app_config_error(app, file, line,
                         "static: prefix must be a path of literal segments (\"/static\"): \"%s\"",
                         prefix ? prefix : "(null)");
        return CADRE_EINVAL;
    }
    size_t plen = strlen(prefix);
    if (plen > 1 && prefix[plen - 1] == '/')
        plen--; /* "/static/" is "/static" */
    struct stat st;
    const char *why = NULL;
    if (!dir || !*dir)
        why = "no directory given";
    else if (stat(dir, &st) != 0)
        why = strerror(errno);
    else if (!S_ISDIR(st.st_mode))
        why = "not a directory";
    if (why) {
        cadre_app_config_error(app, file, line, "static %.*s: \"%s\": %s", (int)plen, prefix,
                         dir ? dir : "(null)", why);
        return CADRE_EINVAL;
    }
    const char *index = opt->index ? opt->index : "index.html";
    if (*index && !valid_name(index, strlen(index), true)) {
        cadre_app_config_error(app, file, line, "static %.*s: index must be a file name: \"%s\"",
                         (int)plen, prefix, index);
        return CADRE_EINVAL;
    }
    char cwd[PATH_MAX] = "";
    if (dir[0] != '/' && !getcwd(cwd, sizeof cwd)) {
        cadre_app_config_error(app, file, line, "static %.*s: cannot make \"%s\" absolute: %s",
                         (int)plen, prefix, dir, strerror(errno));
        return CADRE_EINVAL;
    }
    char cache[48] = "";
    if (opt->max_age > 0)
        snprintf(cache, sizeof cache, "public, max-age=%d", opt->max_age);
    else if (opt->max_age < 0)
        snprintf(cache, sizeof cache, "no-cache");

    /* One block: the mount, then its strings. */
    size_t rl = strlen(cwd) + 1 + strlen(dir) + 1, il = strlen(index) + 1, cl = strlen(cache) + 1;
    struct static_mount *m = malloc(sizeof *m + rl + il + cl + plen + 1);
    if (!m || !cadre_app_own(app, m)) {
        cadre_app_config_error(app, file, line, "static %.*s: out of memory", (int)plen, prefix);
        return CADRE_ENOMEM;
    }
    char *s = (char *)(m + 1);
    m->root = s;
    snprintf(s, rl, "%s%s%s", cwd, *cwd ? "/" : "", dir);
    s += rl;
    memcpy(s, index, il);
    m->index = *index ? s : NULL;
    s += il;
    memcpy(s, cache, cl);
    m->cache_control = *cache ? s : NULL;
    s += cl;
    memcpy(s, prefix, plen);
    s[plen] = '\0';
    m->precompressed = opt->precompressed;
    m->dotfiles = opt->dotfiles;
    m->prefix_segs = 0;
    for (size_t i = 1; i < plen; i++)
        m->prefix_segs += prefix[i] == '/';
    m->prefix_segs += plen > 1;
    for (const char *g = cadre__group_prefix(app); *g; g++)
        m->prefix_segs += *g == '/'; /* an open group's prefix comes first (route_add) */

    struct cadre__route rt = { .handler = serve_static, .handler_name = "cadre_static",
                               .hidden = true, .prefix = true, .data = m };
    return cadre__route_add(app, &rt, "GET", s, file, line);
}
