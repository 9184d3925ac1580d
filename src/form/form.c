/*
 * Form bodies into schema structs. Both encodings go through one collector: every name/value
 * pair (a value is text, or an uploaded file) is filed under its schema field — the last one for
 * a scalar, all of them for an array — and once the body is over each field is decoded with the
 * schema module's own text decoder, so a form's errors are a query parameter's, word for word,
 * at ["body", field].
 */
#include "form_internal.h"

#include <cadre/schema.h>

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_EXTRA 64 /* names reported as extra_forbidden, as the JSON decoder keeps */

/* One value: text, or an upload (up != NULL). */
typedef struct fitem {
    cadre_slice text;
    const cadre_upload *up;
} fitem;

struct cadre__form_value {
    cadre_slice key; /* extras: the name as sent (valid UTF-8) */
    bool list;       /* keeps every item (array fields and extras), not only the last */
    bool seen;
    fitem last;
    fitem *items;
    size_t len, cap;
};

struct cadre__form_tmp {
    const char *path;
    dev_t dev;
    ino_t ino;
};

enum { K_SKIP, K_TEXT, K_FILE, K_MISFIT };

/* ---------------------------------------------------------------------------------------------
 * UTF-8 and percent-decoding (WHATWG Encoding and URL Standards)
 * ------------------------------------------------------------------------------------------- */

/* The length of the valid sequence at s[0..n), or 0 with *bad = the length of the maximal
 * invalid subpart to replace by one U+FFFD. */
static size_t utf8_seq(const unsigned char *s, size_t n, size_t *bad)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t need;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        *bad = 1;
        return 0;
    }
    for (size_t k = 1; k <= need; k++) {
        if (k >= n || s[k] < lo || s[k] > hi) {
            *bad = k;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return need + 1;
}

/* A NUL-terminated copy of s[0..n) in the arena with invalid UTF-8 replaced by U+FFFD. */
static cadre_slice utf8_copy(cadre_arena *a, const char *s, size_t n)
{
    if (n == 0)
        return (cadre_slice){ cadre_arena_strndup(a, "", 0), 0 };
    if (cadre_utf8_valid(s, n))
        return (cadre_slice){ cadre_arena_strndup(a, s, n), n };
    const unsigned char *u = (const unsigned char *)s;
    char *out = cadre_arena_alloc(a, 3 * n + 1);
    size_t o = 0, i = 0, bad;
    while (i < n) {
        size_t k = utf8_seq(u + i, n - i, &bad);
        if (k) {
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i += bad;
        }
    }
    out[o] = '\0';
    return (cadre_slice){ out, o };
}

cadre_slice cadre_form_url_decode(cadre_arena *arena, const char *s, size_t len, bool plus_space)
{
    char *tmp = cadre_arena_alloc(arena, len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int hi, lo;
        if (c == '+' && plus_space) {
            c = ' ';
        } else if (c == '%' && i + 2 < len && (hi = cadre_hexval((unsigned char)s[i + 1])) >= 0 &&
                   (lo = cadre_hexval((unsigned char)s[i + 2])) >= 0) {
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        tmp[o++] = c;
    }
    if (cadre_utf8_valid(tmp, o)) {
        tmp[o] = '\0';
        return (cadre_slice){ tmp, o };
    }
    return utf8_copy(arena, tmp, o);
}

/* ---------------------------------------------------------------------------------------------
 * JSON texts for error inputs
 * ------------------------------------------------------------------------------------------- */

static void write_item(cadre_json_writer *w, fitem it)
{
    if (!it.up) {
        cadre_json_string(w, it.text.ptr ? it.text.ptr : "", it.text.len);
        return;
    }
    cadre_json_begin_object(w);
    cadre_json_key(w, "filename", 8);
    cadre_json_string(w, it.up->filename, strlen(it.up->filename));
    cadre_json_key(w, "content_type", 12);
    cadre_json_string(w, it.up->content_type, strlen(it.up->content_type));
    cadre_json_key(w, "size", 4);
    cadre_json_int(w, it.up->size);
    cadre_json_end_object(w);
}

/* The JSON text of one value, or of a list of them. */
static cadre_slice items_json(cadre_arena *a, const fitem *items, size_t n, bool list)
{
    size_t room = 64;
    for (size_t i = 0; i < n; i++)
        room += 6 * items[i].text.len + 16 +
                (items[i].up ? 6 * (strlen(items[i].up->filename) + strlen(items[i].up->content_type)) + 80 : 0);
    cadre_buf b;
    cadre_json_writer w;
    cadre_buf_init_arena(&b, a, room);
    cadre_json_writer_init(&w, &b);
    if (list)
        cadre_json_begin_array(&w);
    for (size_t i = 0; i < n; i++)
        write_item(&w, items[i]);
    if (list)
        cadre_json_end_array(&w);
    return (cadre_slice){ b.data, b.len };
}

/* ---------------------------------------------------------------------------------------------
 * The collector, shared by both encodings
 * ------------------------------------------------------------------------------------------- */

static bool is_list_type(cadre_type t)
{
    return t == CADRE_T_STRINGS || t == CADRE_T_INT64S || t == CADRE_T_DOUBLES ||
           t == CADRE_T_FILES || t == CADRE_T_ARRAY;
}

static void collect_init(cadre_form *f, const cadre_schema *s, void *out, cadre_arena *arena,
                         cadre_verrors *errs)
{
    f->schema = s;
    f->out = out;
    f->arena = arena;
    f->errs = errs;
    f->values = cadre_arena_calloc(arena, (s->nfields ? s->nfields : 1) * sizeof *f->values);
    for (size_t i = 0; i < s->nfields; i++)
        f->values[i].list = is_list_type(s->fields[i].type);
    f->extra = NULL;
    f->nextra = 0;
    memset(out, 0, s->size);
}

/* Where values sent under name go: a field's slot, an extra's (strict schemas), or nowhere. */
static struct cadre__form_value *slot_for(cadre_form *f, cadre_slice name, const cadre_field **fd)
{
    *fd = cadre_schema_field(f->schema, name.ptr ? name.ptr : "", name.len);
    if (*fd)
        return &f->values[*fd - f->schema->fields];
    if (!f->schema->forbid_extra)
        return NULL;
    for (size_t i = 0; i < f->nextra; i++)
        if (cadre_slice_eq(f->extra[i].key, name))
            return &f->extra[i];
    if (f->nextra == MAX_EXTRA)
        return NULL;
    if (!f->extra)
        f->extra = cadre_arena_calloc(f->arena, MAX_EXTRA * sizeof *f->extra);
    struct cadre__form_value *v = &f->extra[f->nextra++];
    v->key = name;
    v->list = true;
    return v;
}

static void push(cadre_arena *a, struct cadre__form_value *v, fitem it)
{
    v->seen = true;
    v->last = it;
    if (!v->list)
        return;
    *CADRE_VEC_PUSH(v, a, 0) = it; /* never NULL: an arena's, no maximum */
}

/* Decodes one value into member fd of *obj. */
static void decode_one(cadre_form *f, const cadre_field *fd, fitem it, void *obj)
{
    if (fd->type == CADRE_T_OBJECT) {
        /* a form has no nested objects: what Pydantic says of a string or a file there */
        cadre_verror *v = cadre_verrors_push(
            f->errs, "model_attributes_type",
            "Input should be a valid dictionary or object to extract fields from", "body",
            cadre_slice_cstr(fd->name), -1);
        v->input = items_json(f->arena, &it, 1, false);
        v->input_is_json = true;
    } else if (it.up && fd->type == CADRE_T_FILE) {
        *(cadre_upload *)((char *)obj + fd->offset) = *it.up;
    } else if (it.up) {
        cadre_json_token t = { .type = CADRE_JSON_OBJECT };
        cadre_schema_decode_token(fd, &t, items_json(f->arena, &it, 1, false), obj, f->arena,
                                  "body", f->errs);
    } else {
        cadre_schema_decode_text(f->schema, fd, it.text, obj, f->arena, "body", f->errs);
    }
}

/* An array field: every item, errors at ["body", name, index], then its item count. */
static void decode_list(cadre_form *f, const cadre_field *fd, const struct cadre__form_value *v)
{
    cadre_field e = { .name = fd->name, .offset = 0 };
    cadre_slice fname = cadre_slice_cstr(fd->name);
    size_t esize;
    switch (fd->type) {
    case CADRE_T_STRINGS: e.type = CADRE_T_STRING, esize = sizeof(cadre_slice); break;
    case CADRE_T_INT64S: e.type = CADRE_T_INT64, esize = sizeof(int64_t); break;
    case CADRE_T_DOUBLES: e.type = CADRE_T_DOUBLE, esize = sizeof(double); break;
    case CADRE_T_FILES: e.type = CADRE_T_FILE, esize = sizeof(cadre_upload); break;
    default: e.type = CADRE_T_OBJECT, esize = fd->elem_size; break; /* array(T) */
    }
    char *items = cadre_arena_calloc(f->arena, v->len * esize + 1);
    for (size_t k = 0; k < v->len; k++) {
        size_t before = f->errs->len;
        decode_one(f, &e, v->items[k], items + k * esize);
        if (f->errs->len > before) {
            /* the item's errors are at ["body", name, k] */
            cadre_loc_seg *l = cadre_arena_alloc(f->arena, 3 * sizeof *l);
            l[0] = (cadre_loc_seg){ { "body", 4 }, 0 };
            l[1] = (cadre_loc_seg){ fname, 0 };
            l[2] = (cadre_loc_seg){ { NULL, 0 }, (int64_t)k };
            for (size_t i = before; i < f->errs->len; i++) {
                f->errs->items[i].loc = l;
                f->errs->items[i].nloc = 3;
            }
        }
    }
    if ((fd->has_max_items && v->len > fd->max_items) ||
        (fd->has_min_items && v->len < fd->min_items)) {
        cadre_loc_seg where[2] = { { { "body", 4 }, 0 }, { fname, 0 } };
        cadre_schema_check_items(fd, v->len, where, 2, items_json(f->arena, v->items, v->len, true),
                                 f->arena, f->errs);
    }
    struct {
        void *items;
        size_t len;
    } *arr = (void *)((char *)f->out + fd->offset);
    arr->items = items;
    arr->len = v->len;
}

/* Validates everything collected into f->out, in field order, then the extras. */
static int collect_finish(cadre_form *f)
{
    const cadre_schema *s = f->schema;
    size_t before = f->errs->len;
    uint64_t seen = 0;
    for (size_t i = 0; i < s->nfields; i++) {
        const cadre_field *fd = &s->fields[i];
        const struct cadre__form_value *v = &f->values[i];
        /* absent: nothing sent, or (FastAPI's and Django's rule for forms) an empty value */
        bool absent = v->list ? v->len == 0 : !v->seen || (!v->last.up && v->last.text.len == 0);
        if (absent) {
            if (fd->has_default || cadre_field_required(fd))
                cadre_schema_default(s, fd, f->out, f->arena, "body", (cadre_slice){ "null", 4 },
                                     f->errs);
            continue;
        }
        seen |= (uint64_t)1 << i;
        if (v->list)
            decode_list(f, fd, v);
        else
            decode_one(f, fd, v->last, f->out);
    }
    *(uint64_t *)((char *)f->out + s->set_offset) = seen;
    for (size_t i = 0; i < f->nextra; i++) {
        const struct cadre__form_value *v = &f->extra[i];
        cadre_slice k = { v->key.ptr ? v->key.ptr : "", v->key.len };
        cadre_slice input =
            items_json(f->arena, v->len == 1 ? &v->last : v->items, v->len, v->len > 1);
        cadre_verror *e = cadre_verrors_push(f->errs, "extra_forbidden",
                                             "Extra inputs are not permitted", "body", k, -1);
        e->input = input;
        e->input_is_json = true;
    }
    return f->errs->len == before ? 0 : CADRE_EINVAL;
}

/* ---------------------------------------------------------------------------------------------
 * application/x-www-form-urlencoded
 * ------------------------------------------------------------------------------------------- */

int cadre_form_decode_urlencoded(const cadre_schema *s, cadre_slice body, void *out,
                                 cadre_arena *arena, cadre_verrors *errs)
{
    cadre_form f;
    memset(&f, 0, sizeof f);
    collect_init(&f, s, out, arena, errs);
    const char *p = body.ptr;
    size_t i = 0, n = p ? body.len : 0;
    while (i < n) {
        const char *amp = memchr(p + i, '&', n - i);
        size_t e = amp ? (size_t)(amp - p) : n;
        if (e > i) {
            const char *eq = memchr(p + i, '=', e - i);
            size_t ne = eq ? (size_t)(eq - p) : e;
            cadre_slice name = cadre_form_url_decode(arena, p + i, ne - i, true);
            cadre_slice value = eq ? cadre_form_url_decode(arena, eq + 1, e - ne - 1, true)
                                   : (cadre_slice){ "", 0 };
            const cadre_field *fd;
            struct cadre__form_value *v = slot_for(&f, name, &fd);
            if (v)
                push(arena, v, (fitem){ value, NULL });
        }
        i = e + 1;
    }
    return collect_finish(&f);
}

/* ---------------------------------------------------------------------------------------------
 * multipart/form-data
 * ------------------------------------------------------------------------------------------- */

static int form_fail(cadre_form *f, int code, const char *fmt, ...) CADRE_PRINTF(3, 4);
static int form_fail(cadre_form *f, int code, const char *fmt, ...)
{
    if (!f->error) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(f->reason_buf, sizeof f->reason_buf, fmt, ap);
        va_end(ap);
        f->error = code;
        f->reason = f->reason_buf;
        if (code == CADRE_EIO || code == CADRE_ENOSPC)
            cadre_log(CADRE_LOG_ERROR, "form upload: %s", f->reason);
    }
    return code;
}

/* The code of a failure to store an upload: a full disk or quota is the operator's to mend (the
 * client then gets a 503 that says so), anything else an input/output error. */
static int store_error(int err)
{
    return err == ENOSPC || err == EDQUOT || err == EFBIG ? CADRE_ENOSPC : CADRE_EIO;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Creates the temporary file for f->upload and records it for cadre_form_cleanup. */
static int make_tmp(cadre_form *f)
{
    const char *dir = f->mp.lim.tmp_dir;
    if (!dir || !*dir)
        dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    char *path = cadre_arena_printf(f->arena, "%s/cadre-upload-XXXXXX", dir);
    int fd = mkostemp(path, O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int err = errno;
        if (fd >= 0) {
            unlink(path);
            close(fd);
        }
        return form_fail(f, store_error(err), "cannot create a temporary file in %s: %s", dir,
                         strerror(err));
    }
    struct cadre__form_tmp *t = CADRE_VEC_PUSH(&f->tmps, f->arena, 0); /* never NULL: an arena's */
    *t = (struct cadre__form_tmp){ path, st.st_dev, st.st_ino };
    f->fd = fd;
    f->upload->path = path;
    return 0;
}

static int on_part_begin(void *ctx, const cadre_multipart_part *p)
{
    cadre_form *f = ctx;
    f->cur_kind = K_SKIP;
    f->cur = NULL;
    f->upload = NULL;
    const cadre_field *fd;
    struct cadre__form_value *v = slot_for(f, utf8_copy(f->arena, p->name.ptr, p->name.len), &fd);
    if (!v)
        return 0; /* a name the schema does not have: dropped */
    f->cur = v;
    if (!p->filename.ptr) {
        f->cur_kind = K_TEXT;
        cadre_buf_init_arena(&f->text, f->arena, f->mp.lim.max_field_size);
        return 0;
    }
    if (p->filename.len == 0) {
        f->cur = NULL; /* a file input left empty: as if absent */
        return 0;
    }
    cadre_upload *u = cadre_arena_calloc(f->arena, sizeof *u);
    u->filename = utf8_copy(f->arena, p->filename.ptr, p->filename.len).ptr;
    u->content_type = p->content_type.ptr
                          ? utf8_copy(f->arena, p->content_type.ptr, p->content_type.len).ptr
                          : "text/plain"; /* RFC 7578 4.4 */
    f->upload = u;
    if (fd && (fd->type == CADRE_T_FILE || fd->type == CADRE_T_FILES)) {
        f->cur_kind = K_FILE;
        return make_tmp(f);
    }
    f->cur_kind = K_MISFIT; /* a file where text is expected: only its size is kept, for the error */
    return 0;
}

static int on_part_data(void *ctx, const char *data, size_t len)
{
    cadre_form *f = ctx;
    switch (f->cur_kind) {
    case K_TEXT:
        if (cadre_buf_append(&f->text, data, len) != 0)
            return form_fail(f, CADRE_ETOOBIG, "a form field is too large");
        return 0;
    case K_FILE:
        if (write_all(f->fd, data, len) != 0)
            return form_fail(f, store_error(errno), "cannot write %s: %s", f->upload->path,
                             strerror(errno));
        f->upload->size += (int64_t)len;
        return 0;
    case K_MISFIT:
        f->upload->size += (int64_t)len;
        return 0;
    default:
        return 0;
    }
}

static int on_part_end(void *ctx)
{
    cadre_form *f = ctx;
    switch (f->cur_kind) {
    case K_TEXT:
        push(f->arena, f->cur, (fitem){ utf8_copy(f->arena, f->text.data, f->text.len), NULL });
        break;
    case K_FILE: {
        int fd = f->fd;
        f->fd = -1;
        if (close(fd) != 0)
            return form_fail(f, store_error(errno), "cannot write %s: %s", f->upload->path,
                             strerror(errno));
        push(f->arena, f->cur, (fitem){ { NULL, 0 }, f->upload });
        break;
    }
    case K_MISFIT:
        push(f->arena, f->cur, (fitem){ { NULL, 0 }, f->upload });
        break;
    default:
        break;
    }
    f->cur_kind = K_SKIP;
    return 0;
}

static const cadre_multipart_callbacks form_callbacks = { on_part_begin, on_part_data, on_part_end };

int cadre_form_multipart_begin(cadre_form *f, const cadre_schema *s, cadre_slice content_type,
                               void *out, cadre_arena *arena, const cadre_form_limits *lim,
                               cadre_verrors *errs)
{
    memset(f, 0, sizeof *f);
    f->begun = true;
    f->fd = -1;
    collect_init(f, s, out, arena, errs);
    cadre_slice boundary;
    const char *why;
    if (cadre_multipart_boundary(content_type, &boundary, &why) != 0) {
        f->error = CADRE_EPARSE;
        f->reason = why;
        return CADRE_EPARSE;
    }
    cadre_multipart_init(&f->mp, boundary, lim, arena, &form_callbacks, f);
    return 0;
}

int cadre_form_multipart_feed(cadre_form *f, const void *data, size_t len)
{
    if (f->error)
        return f->error;
    int rc = cadre_multipart_feed(&f->mp, data, len);
    if (rc && !f->error) {
        f->error = rc;
        f->reason = cadre_multipart_reason(&f->mp);
    }
    return f->error;
}

int cadre_form_multipart_end(cadre_form *f)
{
    if (f->error)
        return f->error;
    int rc = cadre_multipart_finish(&f->mp);
    if (rc) {
        f->error = rc;
        f->reason = cadre_multipart_reason(&f->mp);
        return rc;
    }
    return collect_finish(f);
}

int cadre_form_decode_multipart(cadre_form *f, const cadre_schema *s, cadre_slice content_type,
                                cadre_slice body, void *out, cadre_arena *arena,
                                const cadre_form_limits *lim, cadre_verrors *errs)
{
    int rc = cadre_form_multipart_begin(f, s, content_type, out, arena, lim, errs);
    if (rc == 0 && body.len)
        rc = cadre_form_multipart_feed(f, body.ptr, body.len);
    if (rc == 0)
        rc = cadre_form_multipart_end(f);
    return rc;
}

const char *cadre_form_reason(const cadre_form *f)
{
    return f->error ? f->reason : NULL;
}

void cadre_form_cleanup(cadre_form *f)
{
    if (!f->begun)
        return;
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }
    for (size_t i = 0; i < f->tmps.len; i++) {
        /* only while the path still names the file made for it: the handler may have moved it */
        struct stat st;
        if (stat(f->tmps.items[i].path, &st) == 0 && st.st_dev == f->tmps.items[i].dev &&
            st.st_ino == f->tmps.items[i].ino)
            unlink(f->tmps.items[i].path);
    }
    f->tmps.len = 0;
}

/* ---------------------------------------------------------------------------------------------
 * Errors per field
 * ------------------------------------------------------------------------------------------- */

const cadre_verror *cadre_form_field_error(const cadre_verrors *errs, const char *field)
{
    for (size_t i = 0; errs && i < errs->len; i++) {
        const cadre_verror *e = &errs->items[i];
        if (!field) { /* the form's own: at ["body"] */
            if (e->nloc == 1 && e->loc[0].key.ptr && cadre_slice_eq_cstr(e->loc[0].key, "body"))
                return e;
            continue;
        }
        cadre_slice name = cadre_verror_field(e, "body");
        if (name.ptr && cadre_slice_eq_cstr(name, field))
            return e;
    }
    return NULL;
}

const char *cadre_form_error(const cadre_verrors *errs, const char *field)
{
    const cadre_verror *e = cadre_form_field_error(errs, field);
    return e ? e->msg : NULL;
}
