/**
 * cadre/base.h — errors, string slices, the request arena, bounded buffers, growable arrays,
 * text helpers and logging.
 *
 * Everything else in Cadre is built on these few pieces. Nothing here allocates behind your back:
 * an arena owns everything allocated from it until it is reset or freed, and a buffer or a heap
 * array owns its memory until it is freed.
 */
#ifndef CADRE_BASE_H
#define CADRE_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define CADRE_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define CADRE_NORETURN __attribute__((noreturn))
/** On functions a macro declares that a program may not call (no unused-function warning). */
#define CADRE_MAYBE_UNUSED __attribute__((unused))
#define CADRE_LIKELY(x) __builtin_expect(!!(x), 1)
#define CADRE_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define CADRE_PRINTF(f, a)
#define CADRE_NORETURN
#define CADRE_LIKELY(x) (x)
#define CADRE_UNLIKELY(x) (x)
#endif

/**
 * The struct of type `type` whose member `member` ptr points to (Linux's container_of): how an
 * intrusive node — a list link, a struct embedded in a larger one — finds what it is part of.
 * ptr must point to that member of a `type`: a ptr whose type is not a pointer to the member's
 * type (or void *) draws a compiler diagnostic. Constness is not kept.
 */
#define CADRE_CONTAINER_OF(ptr, type, member)                                                      \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member) +                                     \
                      0 * sizeof((ptr) == &((type *)0)->member)))

/* ---------------------------------------------------------------------------------------------
 * Errors. Functions that can fail return int: 0 on success, a negative CADRE_E* code otherwise.
 * ------------------------------------------------------------------------------------------- */

/** The one table of error codes: X(NAME, message). */
#define CADRE_ERRNO_MAP(X)                                                                         \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid argument")                                                               \
    X(IO, -3, "input/output error")                                                                \
    X(TOOBIG, -4, "size limit exceeded")                                                           \
    X(PARSE, -5, "malformed input")                                                                \
    X(NOTFOUND, -6, "not found")                                                                   \
    X(TIMEDOUT, -7, "timed out")                                                                   \
    X(CLOSED, -8, "connection closed")                                                             \
    X(EXIST, -9, "already exists")                                                                 \
    X(UNSUPPORTED, -10, "not supported")                                                           \
    X(STATE, -11, "operation not valid in this state")                                             \
    X(SYSTEM, -12, "system call failed (see errno)")                                               \
    X(BUSY, -13, "resource busy or locked")                                                        \
    X(NOSPC, -14, "no space left on device")                                                       \
    X(READONLY, -15, "storage is read-only")                                                       \
    X(CORRUPT, -16, "stored data is corrupt")                                                      \
    X(STALE, -17, "the file was removed or replaced")                                              \
    X(LIMIT, -18, "too many attempts: retry later")                                                \
    X(CANCELED, -19, "cancelled: the server is stopping")

enum cadre_errno {
    CADRE_OK = 0,
#define CADRE__ERRNO_ENUM(name, code, msg) CADRE_E##name = (code),
    CADRE_ERRNO_MAP(CADRE__ERRNO_ENUM)
#undef CADRE__ERRNO_ENUM
};

/** A static, human-readable message for a CADRE_E* code (or "unknown error"). Never NULL. */
const char *cadre_strerror(int err);

/** The code's name ("CADRE_ETIMEDOUT"), or "CADRE_E?" for an unknown code. Never NULL. */
const char *cadre_errname(int err);

/** Prints "cadre: fatal: <message>" to stderr and aborts. Used when memory runs out in a request. */
CADRE_NORETURN void cadre_panic(const char *fmt, ...) CADRE_PRINTF(1, 2);

/* ---------------------------------------------------------------------------------------------
 * Slices: a pointer and a length, usually into a buffer someone else owns. Not NUL-terminated.
 * ------------------------------------------------------------------------------------------- */

typedef struct cadre_slice {
    const char *ptr; /**< first byte; NULL for "absent" (as opposed to an empty, present value) */
    size_t len;
} cadre_slice;

/** A slice of a string literal, without the terminating NUL. */
#define CADRE_LIT(s) ((cadre_slice){ "" s, sizeof(s) - 1 })

/** A slice over a NUL-terminated string (NULL gives the absent slice). Does not copy. */
cadre_slice cadre_slice_cstr(const char *s);

/** True when both slices hold the same bytes. */
bool cadre_slice_eq(cadre_slice a, cadre_slice b);

/** True when the slice holds exactly the bytes of the NUL-terminated string s. */
bool cadre_slice_eq_cstr(cadre_slice a, const char *s);

/** The next item of the comma-separated list at *p ("name, price , id"), without the spaces
 *  around it, into *item; *p moves past it. Empty items are skipped. false at the end. */
bool cadre_list_next(const char **p, cadre_slice *item);

/** True when a and b are equal ignoring ASCII case (header names, tokens). */
bool cadre_slice_ieq(cadre_slice a, cadre_slice b);

/** ASCII-case-insensitive comparison with a NUL-terminated string. */
bool cadre_slice_ieq_cstr(cadre_slice a, const char *s);

/**
 * Parses the whole slice as a decimal integer: optional '-', then 1..19 digits, nothing else
 * (no '+', no spaces, no leading zeros except "0" itself when strict is true).
 * Returns 0 and stores in *out, or CADRE_EPARSE (not a number) / CADRE_ETOOBIG (out of range).
 */
int cadre_slice_to_i64(cadre_slice s, bool strict, int64_t *out /* OUT */);

/** Room for any int64_t in decimal, sign and NUL included. */
#define CADRE_I64_TEXT 21

/** Writes v in decimal ("-42") into out, NUL-terminated, without printf (a page or a JSON array
 *  writes thousands of them). Returns the length, the NUL excluded. */
size_t cadre_i64_text(int64_t v, char out[CADRE_I64_TEXT]);

/* ---------------------------------------------------------------------------------------------
 * Arena: many small allocations freed together. Each request owns one; everything a handler
 * allocates from it lives until the response has been sent, then goes in one reset.
 * ------------------------------------------------------------------------------------------- */

typedef struct cadre_arena {
    /* private */
    struct cadre__arena_chunk *chunks; /* newest first; the last (oldest) one is kept on reset */
    char *cur, *end;
    size_t chunk_size;
} cadre_arena;

/** Prepares an empty arena whose chunks are chunk_size bytes (0: 8 KiB). Allocates nothing yet. */
void cadre_arena_init(cadre_arena *a, size_t chunk_size);

/**
 * Returns size bytes aligned to 16, valid until the arena is reset or freed. Never returns NULL:
 * when memory runs out the process aborts with a message (a request cannot go on without it).
 */
void *cadre_arena_alloc(cadre_arena *a, size_t size);

/** As cadre_arena_alloc, zero-filled. */
void *cadre_arena_calloc(cadre_arena *a, size_t size);

/** Copies n bytes of s into the arena and adds a NUL. */
char *cadre_arena_strndup(cadre_arena *a, const char *s, size_t n);

/** printf into the arena; the result is NUL-terminated. */
char *cadre_arena_printf(cadre_arena *a, const char *fmt, ...) CADRE_PRINTF(2, 3);

/** Frees every allocation at once; keeps the first chunk for reuse. */
void cadre_arena_reset(cadre_arena *a);

/** Frees every allocation and every chunk. The arena can be used again after cadre_arena_init. */
void cadre_arena_free(cadre_arena *a);

/* ---------------------------------------------------------------------------------------------
 * Bounded growable buffer (curl's dynbuf): it never grows past max, and saying so is an error,
 * which is how "too large" answers (413, 414, 431) fall out.
 * ------------------------------------------------------------------------------------------- */

typedef struct cadre_buf {
    char *data; /**< read-only: the bytes (NULL until the first append) */
    size_t len; /**< read-only: bytes in use */
    size_t cap; /* private */
    size_t max; /* private: the cap on len */
    cadre_arena *arena; /* private: where the bytes come from (NULL: malloc) */
} cadre_buf;

/** Prepares an empty buffer that may hold at most max bytes. Allocates nothing yet. */
void cadre_buf_init(cadre_buf *b, size_t max);

/**
 * Prepares an empty buffer whose memory comes from arena (a request's, typically): it lives as
 * long as the arena, and cadre_buf_free does nothing. Growing copies into a larger arena block;
 * the old one is reclaimed with the arena. For building a response body without malloc.
 */
void cadre_buf_init_arena(cadre_buf *b, cadre_arena *arena, size_t max);

/** Makes room for extra more bytes. CADRE_ETOOBIG past max, CADRE_ENOMEM if malloc fails. */
int cadre_buf_reserve(cadre_buf *b, size_t extra);

/** Appends n bytes. Errors as cadre_buf_reserve; on error the buffer is unchanged. */
int cadre_buf_append(cadre_buf *b, const void *p, size_t n);

/** Appends a NUL-terminated string (without its NUL). */
int cadre_buf_append_str(cadre_buf *b, const char *s);

/** Appends formatted text. Errors as cadre_buf_reserve. */
int cadre_buf_appendf(cadre_buf *b, const char *fmt, ...) CADRE_PRINTF(2, 3);

/** As cadre_buf_appendf, with a va_list (which it does not va_end). */
int cadre_buf_vappendf(cadre_buf *b, const char *fmt, va_list ap) CADRE_PRINTF(2, 0);

/** The text as a C string: a NUL is kept after the last byte (not counted in len). NULL when
 *  there is no room for it (the buffer's limit or memory). */
const char *cadre_buf_cstr(cadre_buf *b);

/** Removes the first n bytes (n <= len), moving the rest to the front. */
void cadre_buf_consume(cadre_buf *b, size_t n);

/** Empties the buffer, keeping its memory. */
void cadre_buf_reset(cadre_buf *b);

/** Frees the memory; the buffer is empty and usable again. */
void cadre_buf_free(cadre_buf *b);

/* ---------------------------------------------------------------------------------------------
 * Growable arrays (h2o's H2O_VECTOR, with dynbuf's maximum): a typed pointer, a count and a
 * capacity, grown geometrically on the heap (malloc/realloc) or in an arena (copied into a
 * larger block of it; the old one goes with the arena).
 * ------------------------------------------------------------------------------------------- */

/**
 * Declares a growable array of T, as an anonymous struct: `CADRE_VEC(struct route) routes;`.
 * All zeros is an empty array. items[0..len) are the elements: items is NULL until the first
 * push, and it moves when the array grows, so a pointer into it holds only until the next push.
 * len may be lowered to drop elements from the end (they are not cleaned up); cap is private.
 * The macros below work on any struct with members items (T *), len and cap (size_t), so a named
 * struct for one's own element type is written out the same way.
 */
#define CADRE_VEC(T)                                                                               \
    struct {                                                                                       \
        T *items;                                                                                  \
        size_t len;                                                                                \
        size_t cap;                                                                                \
    }

#if defined(__GNUC__) || defined(__clang__)
#define CADRE__VEC_ITEM_PTR(v) __typeof__((v)->items)
#else
#define CADRE__VEC_ITEM_PTR(v) void *
#endif

/**
 * Appends one element to the array *v and returns a pointer to it, zero-filled and already
 * counted in len; or NULL, with *v unchanged, when v holds max elements already (max 0: no
 * limit). The memory comes from arena when it is not NULL: then the maximum is the only failure,
 * since running out of memory aborts as the arena does (so with max 0 the result is never NULL).
 * Otherwise it comes from the heap (free it with CADRE_VEC_FREE) and NULL also means that the
 * heap is out of memory. One array keeps to one of the two. The capacity starts at 8 and doubles,
 * never past max. The result is a T * with GCC and clang (a void * elsewhere). v is evaluated
 * more than once.
 */
#define CADRE_VEC_PUSH(v, arena, max)                                                              \
    ((CADRE__VEC_ITEM_PTR(v))cadre_vec_push(&(v)->items, &(v)->len, &(v)->cap, sizeof *(v)->items, \
                                            (arena), (max)))

/** Frees the elements of a heap-backed array (never an arena's: the arena owns those); *v is then
 *  empty and can be used again. What the elements point to is the caller's to free first. */
#define CADRE_VEC_FREE(v) cadre_vec_free(&(v)->items, &(v)->len, &(v)->cap)

/**
 * The function behind CADRE_VEC_PUSH, for an array whose members are named otherwise (a struct
 * whose layout is public already) or whose element size is known only at run time (rows of a
 * schema): items_ptr is the address of the array's pointer (a T **), len and cap the addresses
 * of its count and capacity, elem the size of an element (> 0). The contract is CADRE_VEC_PUSH's.
 */
void *cadre_vec_push(void *items_ptr, size_t *len, size_t *cap, size_t elem, cadre_arena *arena,
                     size_t max);

/** The function behind CADRE_VEC_FREE (items_ptr, len and cap as for cadre_vec_push). */
void cadre_vec_free(void *items_ptr, size_t *len, size_t *cap);

/* ---------------------------------------------------------------------------------------------
 * Text: UTF-8 checks, escaping, hex digits and numbers, for the modules that read and write
 * text (and for a module of one's own that does). The full JSON codec is cadre/json.h.
 * ------------------------------------------------------------------------------------------- */

/**
 * The length (2 to 4) of the valid UTF-8 sequence that starts at p (p < end, p[0] >= 0x80), or 0
 * when it is invalid or cut short by end: no overlong forms, no UTF-16 surrogates, nothing past
 * U+10FFFF (RFC 3629).
 */
size_t cadre_utf8_seq_len(const unsigned char *p, const unsigned char *end);

/** True when s[0..n) is valid UTF-8 (the rules of cadre_utf8_seq_len). */
bool cadre_utf8_valid(const char *s, size_t n);

/**
 * For text that arrives in parts (a fragmented WebSocket message, a streamed body): true when
 * s[0..n) can begin valid UTF-8, that is, it is valid or only its last sequence is cut short by
 * n. *complete is then the length of its leading part that ends with a whole sequence: check the
 * next part from there. False as soon as a byte makes it invalid, whatever would follow
 * (*complete is then left as it was).
 */
bool cadre_utf8_valid_prefix(const char *s, size_t n, size_t *complete);

/**
 * Escapes n bytes of s as the inside of a JSON string, without the quotes: '"' and '\\' with a
 * backslash, \n \r \t, other control characters and DEL as \u00XX, and a byte that does not
 * start a valid UTF-8 sequence as \ufffd, so the result is always valid JSON text. dst must have
 * room for 6 * n bytes; nothing is NUL-terminated. Returns the length written. For small texts
 * in fixed memory (error details, log records); cadre_json_string (cadre/json.h) writes to a
 * buffer.
 */
size_t cadre_escape_json(char *dst, const char *s, size_t n);

/**
 * Appends s[0..n) HTML-escaped: & < > " ' as &amp; &lt; &gt; &#34; &#39;, which is safe in text
 * and in quoted attribute values (not in an unquoted attribute, a script or a style). Returns 0
 * or the buffer's error (CADRE_ETOOBIG, CADRE_ENOMEM), with what fitted appended.
 */
int cadre_buf_append_html(cadre_buf *b, const char *s, size_t n);

/** The value of the hex digit c (0-9, a-f, A-F), or -1 (percent-escapes, chunk sizes). */
static inline int cadre_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/**
 * strtod(3) in the "C" locale whatever the process's: '.' is the decimal point even when the
 * program has called setlocale with a locale that writes "0,5". s is NUL-terminated; *end (when
 * end is not NULL) is set to where parsing stopped, as strtod does. Thread-safe.
 */
double cadre_strtod(const char *s, char **end /* OUT, may be NULL */);

/* ---------------------------------------------------------------------------------------------
 * Logging: levels, plain text or JSON lines, to stderr (or a file descriptor). Thread-safe: each
 * record is written with one write(2).
 * ------------------------------------------------------------------------------------------- */

typedef enum cadre_log_level {
    CADRE_LOG_DEBUG = 0,
    CADRE_LOG_INFO = 1,
    CADRE_LOG_WARN = 2,
    CADRE_LOG_ERROR = 3,
    CADRE_LOG_OFF = 4,
} cadre_log_level;

typedef enum cadre_log_format {
    CADRE_LOG_PLAIN = 0, /**< "2026-11-26T14:00:00.123Z INFO message" */
    CADRE_LOG_JSON = 1,  /**< {"ts":"…","level":"info","msg":"…"} one object per line */
} cadre_log_format;

/** Sets the minimum level, the format and the output descriptor (-1 keeps the current one: 2). */
void cadre_log_configure(cadre_log_level level, cadre_log_format format, int fd);

/** Parses "debug", "info", "warn", "error", "off". Returns 0 or CADRE_EINVAL. */
int cadre_log_level_parse(const char *s, cadre_log_level *out /* OUT */);

/** True when a record at this level would be written (to skip building expensive messages). */
bool cadre_log_enabled(cadre_log_level level);

/**
 * SQL statement logging (serve --log-sql, $CADRE_LOG_SQL=1): every statement the database layer
 * runs is logged with its duration, at INFO when on, at DEBUG whenever the level is debug. The
 * statement only: parameter values (passwords, personal data) are never logged.
 */
void cadre_log_sql(bool on);

/** The level statements are logged at now, or CADRE_LOG_OFF when they are not. */
cadre_log_level cadre_log_sql_level(void);

/** Writes one record. Messages longer than 4 KiB are cut. */
void cadre_log(cadre_log_level level, const char *fmt, ...) CADRE_PRINTF(2, 3);

/**
 * Writes one record with extra fields: fields is a NULL-terminated list of key, value string
 * pairs (JSON: extra members; plain: key=value after the message). Used for access logs.
 */
void cadre_log_fields(cadre_log_level level, const char *msg, const char *const *fields);

/**
 * The request id every log record written by this thread carries (JSON: "request_id"; plain:
 * request_id=ID at the end) until it is set again; NULL for none. The server sets it to the id of
 * the request running on the thread, so that each record of a request can be found by its id.
 * id is not copied: it must live until it is replaced.
 */
void cadre_log_request_id(const char *id);

/**
 * A setting that may be a secret: $NAME when set and not empty, else the first line of the file
 * that $NAME_FILE names (Docker's and Kubernetes' secrets: a file mounted into the container),
 * malloc'd: free it. NULL when neither is set — or when the file cannot be read, which is logged
 * ("NAME_FILE: cannot read PATH: why") and makes *failed true (failed may be NULL).
 */
char *cadre_env_secret(const char *name, bool *failed);

/**
 * Reads the configuration file that $CADRE_CONFIG names, once per process (later calls return
 * the first answer): NAME=value lines (blank lines and # comments skipped, "export " and quotes
 * around the value allowed), NAME being CADRE_... or PORT, each set in the environment unless the
 * environment has it already — so the command line wins over the environment, and the
 * environment over the file. cadre_app_new and cadre_db_open_env call it. Returns 0, or
 * CADRE_EINVAL after logging "FILE:LINE: ..." for each line it refused (or the file's error).
 */
int cadre_config_load(void);

/** Whether name's value came from the configuration file (for `APP config`). */
bool cadre_config_from_file(const char *name);

#ifdef __cplusplus
}
#endif
#endif
