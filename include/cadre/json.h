/**
 * cadre/json.h — a strict RFC 8259 JSON reader and a writer.
 *
 * The reader is a pull tokenizer: no tree is built, so a schema decoder can fill a C struct
 * straight from the tokens, and /echo can re-serialize a document while reading it. It validates
 * everything RFC 8259 requires (grammar, UTF-8, escapes, surrogate pairs, no leading zeros, no
 * NaN/Infinity, nothing after the document) and limits nesting depth.
 *
 * Duplicate object keys are passed through as they come; decoders that fill structs keep the last
 * one, as Python's json module and FastAPI do.
 */
#ifndef CADRE_JSON_H
#define CADRE_JSON_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cadre_json_type {
    CADRE_JSON_NONE = 0,     /**< no token (before the first, or after an error) */
    CADRE_JSON_NULL,
    CADRE_JSON_FALSE,
    CADRE_JSON_TRUE,
    CADRE_JSON_NUMBER,
    CADRE_JSON_STRING,
    CADRE_JSON_KEY,          /**< an object member's name (str holds it) */
    CADRE_JSON_ARRAY,        /**< '[' */
    CADRE_JSON_ARRAY_END,    /**< ']' */
    CADRE_JSON_OBJECT,       /**< '{' */
    CADRE_JSON_OBJECT_END,   /**< '}' */
    CADRE_JSON_END,          /**< the document is complete (only whitespace followed) */
} cadre_json_type;

typedef struct cadre_json_token {
    cadre_json_type type;
    /** STRING, KEY: the decoded UTF-8 value — a slice of the input when it holds no escape,
     *  otherwise arena memory. NUMBER: the number's text as written. */
    cadre_slice str;
    bool is_int;   /**< NUMBER: integral (no fraction, no exponent) and within int64 */
    int64_t i;     /**< NUMBER with is_int: its value */
    double d;      /**< NUMBER: the correctly rounded double (±HUGE_VAL is refused, see below) */
    size_t offset; /**< where the token starts in the input */
} cadre_json_token;

#define CADRE_JSON_DEFAULT_DEPTH 64
#define CADRE_JSON_MAX_DEPTH 4096

typedef struct cadre_json_reader {
    /* private */
    const char *start, *p, *end;
    cadre_arena *arena;
    size_t depth, max_depth;
    int state;
    uint64_t stack[CADRE_JSON_MAX_DEPTH / 64]; /* 1 bit per level: 1 = object, 0 = array */
    const char *error;
    size_t error_offset;
} cadre_json_reader;

/**
 * Prepares to read the JSON text data[0..len). Strings with escapes are decoded into arena (which
 * must outlive the tokens). max_depth is the deepest nesting allowed (0: CADRE_JSON_DEFAULT_DEPTH,
 * at most CADRE_JSON_MAX_DEPTH). Nothing is copied: data must outlive the reader.
 */
void cadre_json_reader_init(cadre_json_reader *rd, const char *data, size_t len, cadre_arena *arena,
                            size_t max_depth);

/**
 * Reads the next token into *tok. Returns 0, or CADRE_EPARSE with the reason and position
 * available from cadre_json_error(); after an error every call fails the same way. A number
 * whose magnitude overflows a double (1e400) is refused as not representable.
 */
int cadre_json_next(cadre_json_reader *rd, cadre_json_token *tok /* OUT */);

/**
 * Skips the value that starts with tok (already read): for ARRAY/OBJECT, everything up to the
 * matching end token; nothing for scalars. Returns 0 or CADRE_EPARSE.
 */
int cadre_json_skip(cadre_json_reader *rd, const cadre_json_token *tok);

/** The last error's reason (static string, NULL if none) and byte offset in *offset. */
const char *cadre_json_error(const cadre_json_reader *rd, size_t *offset /* OUT, may be NULL */);

/**
 * Validates a whole document (grammar, UTF-8, depth). Returns 0 or CADRE_EPARSE; on error
 * *reason and *offset (both optional) say why and where.
 */
int cadre_json_validate(const char *data, size_t len, size_t max_depth, const char **reason,
                        size_t *offset);

/* ---------------------------------------------------------------------------------------------
 * Writer: appends compact JSON to a cadre_buf. Commas and colons are the writer's business.
 * ------------------------------------------------------------------------------------------- */

typedef struct cadre_json_writer {
    cadre_buf *out; /**< where the text goes (the caller owns it) */
    /* private */
    size_t depth;
    uint64_t first[CADRE_JSON_MAX_DEPTH / 64 + 1]; /* 1 bit per level 0..max: nothing written yet */
    bool after_key;
    int error; /* first error (CADRE_ETOOBIG from the buffer, CADRE_EINVAL misuse), sticky */
} cadre_json_writer;

/** Prepares a writer that appends to out. */
void cadre_json_writer_init(cadre_json_writer *w, cadre_buf *out);

void cadre_json_begin_object(cadre_json_writer *w);
void cadre_json_end_object(cadre_json_writer *w);
void cadre_json_begin_array(cadre_json_writer *w);
void cadre_json_end_array(cadre_json_writer *w);
/** An object member's name; the next value written is its value. */
void cadre_json_key(cadre_json_writer *w, const char *s, size_t len);
/**
 * A string value, escaped: '"', '\\' and control characters; other UTF-8 is written as is. Bytes
 * that are not valid UTF-8 are replaced by U+FFFD, so the output is always valid JSON.
 */
void cadre_json_string(cadre_json_writer *w, const char *s, size_t len);
void cadre_json_int(cadre_json_writer *w, int64_t v);
/**
 * A double in the shortest form that reads back to the same value. NaN and infinities have no
 * JSON form: they are written as null (as JavaScript's JSON.stringify does) and set CADRE_EINVAL.
 */
void cadre_json_double(cadre_json_writer *w, double v);
void cadre_json_bool(cadre_json_writer *w, bool v);
void cadre_json_null(cadre_json_writer *w);
/** Already-valid JSON text inserted as one value (e.g. a number's original text). */
void cadre_json_raw(cadre_json_writer *w, const char *text, size_t len);

/** 0, or the first error met while writing (the output is then incomplete). */
int cadre_json_writer_error(const cadre_json_writer *w);

/**
 * Reads one JSON document and writes it back compactly (numbers as written, strings re-escaped):
 * the body of an echo endpoint. Returns 0, CADRE_EPARSE (see rd's error), or a writer error.
 */
int cadre_json_reserialize(cadre_json_reader *rd, cadre_json_writer *w);

#ifdef __cplusplus
}
#endif
#endif
