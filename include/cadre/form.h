/**
 * cadre/form.h — HTML form bodies decoded into the same schema structs as JSON bodies, with the
 * same validation and the same 422 errors (loc ["body", field]).
 *
 *  - application/x-www-form-urlencoded: cadre_form_decode_urlencoded (the WHATWG URL Standard's
 *    parser: '+' is a space, percent-escapes decoded, a malformed escape kept as it is, invalid
 *    UTF-8 replaced by U+FFFD).
 *  - multipart/form-data (RFC 7578 over RFC 2046): an incremental parser (cadre_multipart) fed the
 *    body in chunks of any size, and on top of it a schema-directed decoder (cadre_form) that
 *    collects text fields and writes file parts to temporary files (`file` / `files` fields:
 *    cadre_upload, declared in cadre/schema.h).
 *
 * Typed routes (cadre/app.h) use these when a route has `.form = true` and the request's
 * Content-Type names one of the two form types; see docs/forms.md.
 *
 * What a form value means for a field, as FastAPI's Form() reads it:
 *  - a scalar field takes the last value sent under its name; an array field (strings, int64s,
 *    doubles, files) takes every value, in order;
 *  - each value goes through cadre_schema_decode_text, so its errors are exactly those of a query
 *    parameter, at ["body", field] (["body", field, index] for an item of an array field);
 *  - an empty value ("a=") for a scalar field counts as absent (FastAPI's rule for forms, Django's
 *    too): the field's default, or "missing" when it has none;
 *  - an absent field: its default, nothing when CADRE_OPTIONAL, else "missing" (input null).
 *    Checkboxes: an unchecked box is not sent at all, so give a bool field CADRE_DEFAULT(false);
 *    a bool without a default is required, and an unchecked box is then "missing" (as FastAPI's
 *    Form(...) answers);
 *  - a file part with an empty filename (a file input left empty) counts as absent;
 *  - object(T) and array(T) fields cannot be written in a form: a value sent for one is a
 *    "model_attributes_type" error;
 *  - names the schema does not have are ignored, or "extra_forbidden" for CADRE_SCHEMA_STRICT.
 */
#ifndef CADRE_FORM_H
#define CADRE_FORM_H

#include "base.h"
#include "schema.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Limits on a multipart/form-data body. A member left 0 takes its default. */
typedef struct cadre_form_limits {
    size_t max_parts;        /**< parts in one body (default 1000) */
    size_t max_header_bytes; /**< the header section of one part, CRLFs included (8 KiB) */
    size_t max_field_size;   /**< bytes of one non-file part (1 MiB) */
    int64_t max_file_size;   /**< bytes of one file part (10 MiB) */
    const char *tmp_dir;     /**< where uploads are written (NULL: $TMPDIR, else /tmp) */
} cadre_form_limits;

/** The defaults: 1000 parts, 8 KiB of headers per part, 1 MiB per field, 10 MiB per file. */
cadre_form_limits cadre_form_limits_default(void);

/* ---------------------------------------------------------------------------------------------
 * application/x-www-form-urlencoded
 * ------------------------------------------------------------------------------------------- */

/**
 * Decodes the urlencoded body into *out (a struct of schema s, zeroed first) as described at the
 * top of this header, collecting every error in errs (loc ["body", …]) in field order. Strings
 * and arrays are allocated from arena. Parsing never fails: any byte string is a form.
 * Returns 0 when valid, CADRE_EINVAL when errs holds validation errors.
 */
int cadre_form_decode_urlencoded(const cadre_schema *s, cadre_slice body, void *out,
                                 cadre_arena *arena, cadre_verrors *errs);

/**
 * Decodes one urlencoded name or value as the WHATWG URL Standard does: '+' is a space (when
 * plus_space), %XX is the byte XX, a '%' not followed by two hex digits stays as it is, and
 * invalid UTF-8 is replaced by U+FFFD (one per maximal invalid subpart). The result is valid
 * UTF-8, NUL-terminated, in arena.
 */
cadre_slice cadre_form_url_decode(cadre_arena *arena, const char *s, size_t len, bool plus_space);

/* ---------------------------------------------------------------------------------------------
 * multipart/form-data: the incremental parser
 * ------------------------------------------------------------------------------------------- */

/**
 * Finds the boundary in a Content-Type value: "multipart/form-data; boundary=XYZ" (the type and
 * the parameter name case-insensitive, the value a token or a quoted string, 1 to 70 of RFC
 * 2046's bchars, not ending with a space). *boundary points into content_type (quoted: between
 * the quotes; a quoted-pair is refused rather than copied). Returns 0, or CADRE_EPARSE with a
 * static reason in *reason (not multipart/form-data, no boundary, two boundaries, a bad one).
 */
int cadre_multipart_boundary(cadre_slice content_type, cadre_slice *boundary /* OUT */,
                             const char **reason /* OUT, may be NULL */);

/** The headers of one part, given to the part_begin callback. Valid only during the call. */
typedef struct cadre_multipart_part {
    cadre_slice name;         /**< Content-Disposition's name, unquoted, bytes as sent */
    cadre_slice filename;     /**< its filename* (when UTF-8 and well formed) or filename, reduced
                                   to the part after the last '/' or '\\' ("." and ".." become "");
                                   bytes as sent; absent (ptr NULL) when the part is not a file */
    cadre_slice content_type; /**< as sent; absent when the part has no Content-Type */
} cadre_multipart_part;

/**
 * What the parser reports, in order: part_begin once a part's headers are read, part_data for
 * its bytes (in as many pieces as the input came in, never empty), part_end when its closing
 * delimiter is found. A callback returns 0, or a negative CADRE_E* that stops the parser: feed
 * then returns it, and so does every later call.
 */
typedef struct cadre_multipart_callbacks {
    int (*part_begin)(void *ctx, const cadre_multipart_part *part);
    int (*part_data)(void *ctx, const char *data, size_t len);
    int (*part_end)(void *ctx);
} cadre_multipart_callbacks;

/**
 * An incremental multipart/form-data parser: the body can be fed as it arrives, in pieces of any
 * size, and the callbacks see the same parts and bytes however it is split. Caller-allocated;
 * members are private. It allocates only its part-header buffer (max_header_bytes, from the arena
 * given to init); everything else is in the struct.
 *
 * Strictness (RFC 2046 / 7578): the preamble and epilogue are ignored; a delimiter is CRLF "--"
 * boundary, then optional spaces/tabs and CRLF, or "--" for the last one; a delimiter followed
 * by anything else is an error (the boundary must not occur in the data), and so is a body that
 * ends before the close delimiter. The CRLF ending a part's header section also counts as the
 * CRLF of a delimiter right after it (a part with no content, as RFC 2046's grammar allows). Part
 * header lines end in CRLF exactly (a bare CR or LF, a folded line, a NUL or a header without a
 * colon is an error); every part needs a Content-Disposition of type form-data with a name;
 * Content-Disposition and Content-Type may appear once each; other headers are ignored.
 * quoted-string parameters understand \" and \\ (any other backslash is kept as it is, so that
 * Windows paths survive); filename*=UTF-8''… (RFC 5987) is preferred to filename when valid.
 */
typedef struct cadre_multipart {
    /* private */
    const cadre_multipart_callbacks *cb;
    void *ctx;
    cadre_arena *arena;
    cadre_form_limits lim;
    char delim[4 + 70]; /* CRLF "--" boundary */
    size_t delim_len;
    size_t match;       /* bytes of delim matched so far (the held ones are delim's own bytes) */
    size_t virt;        /* how many of them are the virtual CRLF at a start (never data) */
    int state;
    char *head;         /* the part's header section so far (max_header_bytes) */
    size_t head_len;
    size_t parts;
    int64_t part_size;
    bool part_is_file;
    int error;          /* sticky: the first error */
    const char *reason;
    char reason_buf[96];
} cadre_multipart;

/**
 * Prepares m for one body with the given boundary (from cadre_multipart_boundary; copied),
 * limits (NULL: the defaults; 0 members: their default), callbacks and their context. The
 * header buffer comes from arena when the first part begins.
 */
void cadre_multipart_init(cadre_multipart *m, cadre_slice boundary, const cadre_form_limits *lim,
                          cadre_arena *arena, const cadre_multipart_callbacks *cb, void *ctx);

/**
 * Parses len more bytes of the body. Returns 0 (more may come, or the close delimiter has been
 * seen and the rest is epilogue), CADRE_EPARSE (malformed), CADRE_ETOOBIG (a limit: too many
 * parts, a part's headers, a field or a file too large) or a callback's error; the reason is
 * cadre_multipart_reason(). Errors are sticky.
 */
int cadre_multipart_feed(cadre_multipart *m, const char *data, size_t len);

/**
 * Declares the end of the body. Returns 0 when the close delimiter was seen, CADRE_EPARSE when
 * the body was cut short (or the sticky error of an earlier call).
 */
int cadre_multipart_finish(cadre_multipart *m);

/** Why the parser stopped (static or in m), or NULL when it has not failed. */
const char *cadre_multipart_reason(const cadre_multipart *m);

/* ---------------------------------------------------------------------------------------------
 * multipart/form-data into a schema struct, with file parts in temporary files
 * ------------------------------------------------------------------------------------------- */

/** One temporary file of a cadre_form (private). */
struct cadre__form_tmp;
/** The collected values of one field (private). */
struct cadre__form_value;

/**
 * A multipart/form-data body being decoded into a struct. Caller-allocated; members private.
 *
 * Ownership: strings, arrays and cadre_upload records go to the arena given to begin (text is
 * made valid UTF-8 there, invalid sequences replaced by U+FFFD, as urlencoded text is); the
 * temporary files (mkstemp(3) in limits.tmp_dir, $TMPDIR or /tmp, named cadre-upload-XXXXXX, mode
 * 0600) belong to the cadre_form until cadre_form_cleanup, which the owner of the request calls
 * when the request ends — typed routes do it after the handler has returned and its response
 * been built, whatever happened. Only parts whose name is a `file`/`files` field of the schema
 * are written to disk; other file parts are counted and dropped.
 */
typedef struct cadre_form {
    /* private */
    const cadre_schema *schema;
    void *out;
    cadre_arena *arena;
    cadre_verrors *errs;
    struct cadre__form_value *values; /* one per schema field */
    struct cadre__form_value *extra;  /* names the schema lacks (CADRE_SCHEMA_STRICT), first 64 */
    size_t nextra;
    cadre_multipart mp;
    bool begun;
    /* the part being read */
    int cur_kind;
    struct cadre__form_value *cur;
    cadre_buf text;
    cadre_upload *upload;
    int fd;
    /* every temporary file created, for cadre_form_cleanup */
    CADRE_VEC(struct cadre__form_tmp) tmps;
    int error;
    const char *reason;
    char reason_buf[160];
} cadre_form;

/**
 * Starts decoding a multipart/form-data body for schema s into *out (zeroed). content_type is
 * the request's Content-Type value (the boundary comes from it). lim: NULL for the defaults.
 * Returns 0, or CADRE_EPARSE when content_type has no usable boundary (cadre_form_reason tells).
 * After begin, whatever happens, call cadre_form_cleanup once the request is over.
 */
int cadre_form_multipart_begin(cadre_form *f, const cadre_schema *s, cadre_slice content_type,
                               void *out, cadre_arena *arena, const cadre_form_limits *lim,
                               cadre_verrors *errs);

/**
 * Feeds len more bytes of the body (any split gives the same result). File bytes go to their
 * temporary file as they arrive. Returns 0, CADRE_EPARSE (malformed), CADRE_ETOOBIG (a limit)
 * or CADRE_EIO (a temporary file could not be created or written; logged); the reason is
 * cadre_form_reason(). Errors are sticky.
 */
int cadre_form_multipart_feed(cadre_form *f, const void *data, size_t len);

/**
 * Ends the body and validates what was collected into *out, errors into errs as for
 * cadre_form_decode_urlencoded. Returns 0 when valid, CADRE_EINVAL when errs holds validation
 * errors, or the parser's error (CADRE_EPARSE for a truncated body, …: errs is then untouched).
 */
int cadre_form_multipart_end(cadre_form *f);

/** begin, one feed of the whole body, end: the same results. */
int cadre_form_decode_multipart(cadre_form *f, const cadre_schema *s, cadre_slice content_type,
                                cadre_slice body, void *out, cadre_arena *arena,
                                const cadre_form_limits *lim, cadre_verrors *errs);

/** Why decoding stopped (CADRE_EPARSE, CADRE_ETOOBIG, CADRE_EIO), for a 400/413/500 detail;
 *  NULL when it has not failed. */
const char *cadre_form_reason(const cadre_form *f);

/**
 * Closes and deletes every temporary file f created (a file the handler renamed or replaced is
 * left alone: deletion happens only while the path still names the file created). Safe to call
 * more than once, and on a cadre_form whose begin failed. Call it before the arena given to begin
 * is reset: the list of files lives there.
 */
void cadre_form_cleanup(cadre_form *f);

/* ---------------------------------------------------------------------------------------------
 * Errors per field, for re-displaying a form
 * ------------------------------------------------------------------------------------------- */

/**
 * The first error about field (loc ["body", field] or deeper, e.g. ["body", field, 2]), or NULL.
 * field NULL: the first error about the body as a whole (loc ["body"]). Works for JSON bodies
 * too: the locs are the same. The returned error lives as long as errs.
 */
const cadre_verror *cadre_form_field_error(const cadre_verrors *errs, const char *field);

/** The message of cadre_form_field_error ("Field required"), or NULL when the field is fine. */
const char *cadre_form_error(const cadre_verrors *errs, const char *field);

#ifdef __cplusplus
}
#endif
#endif
