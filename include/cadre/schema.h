/**
 * cadre/schema.h — declare a C struct's fields once; get decoding with validation (FastAPI's
 * error shape), encoding and JSON Schema from that one declaration.
 *
 *     #define ITEM_FIELDS(F)                                              \
 *         F(string,  name,     CADRE_MIN_LEN(1), CADRE_MAX_LEN(100))      \
 *         F(double,  price,    CADRE_GT(0))                               \
 *         F(strings, tags,     CADRE_MAX_ITEMS(10), CADRE_DEFAULT_EMPTY)  \
 *         F(bool,    in_stock, CADRE_DEFAULT(true))
 *     CADRE_SCHEMA(item, ITEM_FIELDS)    // typedef struct item {...} item; item__schema()
 *
 * Field types (the first word of each F): bool, int32, int64, double, string, strings (array of
 * strings), int64s, doubles, date, datetime, uuid, enum(T) (a CADRE_ENUM), object(T) (a nested
 * schema T), array(T) (array of T), file and files (uploaded files, cadre_upload: they come only
 * in multipart/form-data bodies, see cadre/form.h). Strings are cadre_slice values,
 * NUL-terminated, in the arena given to the decoder.
 *
 * Each struct also gets a `cadre_set_` bit set: which fields were present in the input (use
 * cadre_has()), and `cadre_null_`: which nullable fields were null.
 */
#ifndef CADRE_SCHEMA_H
#define CADRE_SCHEMA_H

#include <stddef.h>

#include "base.h"
#include "json.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cadre_type {
    CADRE_T_BOOL = 1,
    CADRE_T_INT32,
    CADRE_T_INT64,
    CADRE_T_DOUBLE,
    CADRE_T_STRING,
    CADRE_T_STRINGS,
    CADRE_T_INT64S,
    CADRE_T_DOUBLES,
    CADRE_T_OBJECT,
    CADRE_T_ARRAY,
    CADRE_T_ENUM,     /**< a C enum whose values travel as strings (CADRE_ENUM) */
    CADRE_T_DATE,     /**< cadre_date, RFC 3339 full-date */
    CADRE_T_DATETIME, /**< cadre_datetime, RFC 3339 date-time */
    CADRE_T_UUID,     /**< cadre_uuid */
    CADRE_T_FILE,     /**< cadre_upload: a file part of a multipart/form-data body */
    CADRE_T_FILES,    /**< cadre_uploads: several file parts under one name */
} cadre_type;

/** A calendar date ("2026-11-26"). */
typedef struct cadre_date {
    int32_t year, month, day;
} cadre_date;

/** An instant with the offset it was written with ("2026-11-26T14:00:00.5+01:00"). */
typedef struct cadre_datetime {
    int64_t sec;        /**< seconds since 1970-01-01T00:00:00Z (for a naive value: as if UTC) */
    int32_t usec;       /**< microseconds */
    int32_t offset_min; /**< the UTC offset it was written with, minutes east */
    bool naive;         /**< written without an offset */
} cadre_datetime;

/** A UUID, 16 bytes in network order; written as 8-4-4-4-12 lowercase hex. */
typedef struct cadre_uuid {
    uint8_t b[16];
} cadre_uuid;

/*
 * Their text forms, as JSON, forms and the database hold them. A parser reads the whole slice and
 * returns NULL, or a static reason in Pydantic's words ("input is too short", "month value is
 * outside expected range of 1-12", ...) that a decoder puts in its validation error. A formatter
 * writes a NUL-terminated text into out, which has room for the CADRE_*_TEXT bytes, and returns
 * its length.
 */
#define CADRE_DATE_TEXT 16
#define CADRE_DATETIME_TEXT 48
#define CADRE_UUID_TEXT 40

/** RFC 3339 full-date: "2026-11-26". */
const char *cadre_date_parse(cadre_slice s, cadre_date *out /* OUT */);

/**
 * RFC 3339 date-time, as Pydantic takes it: 'T', 't' or a space between date and time, an
 * optional fraction (up to 9 digits, kept to the microsecond), then 'Z', ±HH:MM or ±HH — or no
 * offset at all, which makes a naive value.
 */
const char *cadre_datetime_parse(cadre_slice s, cadre_datetime *out /* OUT */);

/** A UUID: 8-4-4-4-12 or 32 hex digits, either case, optionally in braces or after "urn:uuid:". */
const char *cadre_uuid_parse(cadre_slice s, cadre_uuid *out /* OUT */);

/** "2026-11-26". */
size_t cadre_date_format(const cadre_date *d, char out[CADRE_DATE_TEXT]);

/** As it was written: the local time at its offset, six fractional digits only when there is a
 *  fraction, then 'Z' or ±HH:MM, nothing for a naive value ("2026-11-26T14:00:00.500000+01:00"). */
size_t cadre_datetime_format(const cadre_datetime *t, char out[CADRE_DATETIME_TEXT]);

/**
 * The stored form of a datetime: its instant in UTC, always with six fractional digits and 'Z'
 * ("2026-12-04T16:08:26.000000Z"), so that the text order of stored values is their time order
 * (SQLite compares them as text). A naive value is taken as UTC.
 */
size_t cadre_datetime_format_utc(const cadre_datetime *t, char out[CADRE_DATETIME_TEXT]);

/** 8-4-4-4-12 lowercase hex. */
size_t cadre_uuid_format(const cadre_uuid *u, char out[CADRE_UUID_TEXT]);

/**
 * An uploaded file (a `file` field; a `files` field holds several), as decoded from a
 * multipart/form-data body by cadre/form.h. Every member lives in the request arena; the file at
 * path is a temporary file that is deleted when the request ends (typed routes: after the
 * handler returns) — to keep it, rename(2) or link(2) it elsewhere from the handler.
 * In JSON (and in a urlencoded form) a file field can only be absent: any value is a
 * "value_error" ("Expected UploadFile, received: <class 'str'>", FastAPI's words). A file field
 * encodes to JSON as its filename, and its JSON Schema is {"type":"string","format":"binary"}.
 */
typedef struct cadre_upload {
    const char *filename;     /**< as sent, reduced to its last path component (never empty) */
    const char *content_type; /**< the part's Content-Type, "text/plain" when it had none */
    const char *path;         /**< the temporary file holding the bytes */
    int64_t size;             /**< bytes */
} cadre_upload;

/** The wire names of a CADRE_ENUM's values, in declaration order. */
typedef struct cadre_enum {
    const char *name;
    const char *const *values;
    size_t count;
} cadre_enum;

/** Where a route parameter comes from (fields of a params schema). */
typedef enum cadre_param_in {
    CADRE_IN_AUTO = 0, /**< path if the route's pattern names it, else query (FastAPI's rule) */
    CADRE_IN_PATH_,
    CADRE_IN_QUERY_,
    CADRE_IN_HEADER_,
    CADRE_IN_COOKIE_,
} cadre_param_in;

typedef struct cadre_schema cadre_schema;

/** One field's descriptor, generated by CADRE_SCHEMA from the field list. Read-only. */
typedef struct cadre_field {
    const char *name;
    cadre_type type;
    size_t offset;                          /**< offsetof the member */
    size_t elem_size;                       /**< array(T): sizeof(T) */
    const cadre_schema *(*sub)(void);       /**< object(T), array(T): T's schema */
    const cadre_schema *sub_schema;         /**< the same, for schemas built at run time */
    const cadre_enum *(*en)(void);          /**< enum(T): T's values */
    const char *pattern;                    /**< CADRE_PATTERN: POSIX extended regex, searched */
    cadre_param_in in;
    bool optional, nullable, has_default;
    bool has_min_len, has_max_len, has_min_items, has_max_items;
    bool has_gt, has_ge, has_lt, has_le;
    size_t min_len, max_len;                /**< characters (code points), as Pydantic counts */
    size_t min_items, max_items;
    double gt, ge, lt, le;
    int64_t def_i;
    double def_d;
    const char *def_s;
    const char *description;
    /* table metadata, for models (cadre/orm.h) */
    bool primary_key, unique, db_index;
    const cadre_schema *(*fk)(void); /**< CADRE_FOREIGN_KEY: the referenced model */
    int on_delete;                   /**< CADRE_ON_DELETE_* */
    bool auto_now_add;               /**< CADRE_AUTO_NOW_ADD: set when the row is inserted */
    bool auto_now;                   /**< CADRE_AUTO_NOW: set when inserted and when updated */
    bool write_only;                 /**< CADRE_WRITE_ONLY: read from input, never written out */
} cadre_field;

struct cadre_schema {
    const char *name;     /**< the struct's name: the OpenAPI component name */
    size_t size;          /**< sizeof the struct */
    const cadre_field *fields;
    size_t nfields;       /**< at most 64 */
    size_t set_offset;    /**< offsetof cadre_set_ */
    size_t null_offset;   /**< offsetof cadre_null_ */
    bool forbid_extra;    /**< unknown members are errors (CADRE_SCHEMA_STRICT) */
    bool model;           /**< declared with CADRE_MODEL: its strings refuse NUL (cadre/orm.h) */
};

/* Array member types. */
typedef struct cadre_strings {
    cadre_slice *items;
    size_t len;
} cadre_strings;
typedef struct cadre_int64s {
    int64_t *items;
    size_t len;
} cadre_int64s;
typedef struct cadre_doubles {
    double *items;
    size_t len;
} cadre_doubles;
typedef struct cadre_uploads {
    cadre_upload *items;
    size_t len;
} cadre_uploads;

/** A struct with no fields, for routes without parameters or body. */
typedef struct cadre_none {
    char unused_;
    uint64_t cadre_set_, cadre_null_;
} cadre_none;
const cadre_schema *cadre_none__schema(void);

/* Constraints, as designated initializers of the field descriptor. */
#define CADRE_MIN_LEN(n) .has_min_len = 1, .min_len = (n)
#define CADRE_MAX_LEN(n) .has_max_len = 1, .max_len = (n)
#define CADRE_MIN_ITEMS(n) .has_min_items = 1, .min_items = (n)
#define CADRE_MAX_ITEMS(n) .has_max_items = 1, .max_items = (n)
#define CADRE_GT(x) .has_gt = 1, .gt = (x)
#define CADRE_GE(x) .has_ge = 1, .ge = (x)
#define CADRE_LT(x) .has_lt = 1, .lt = (x)
#define CADRE_LE(x) .has_le = 1, .le = (x)
#define CADRE_DEFAULT(v) .has_default = 1, .def_i = (int64_t)(v), .def_d = (double)(v)
#define CADRE_DEFAULT_STR(s) .has_default = 1, .def_s = (s)
#define CADRE_DEFAULT_EMPTY .has_default = 1
#define CADRE_OPTIONAL .optional = 1
#define CADRE_NULLABLE .nullable = 1
#define CADRE_DESCRIPTION(s) .description = (s)
#define CADRE_PATTERN(re) .pattern = (re)
/* A field that is read from input and stored but never shown (a password's hash): JSON encoding
 * leaves it out, JSON Schema marks it writeOnly, templates see it as undefined, and a form shows
 * it as an empty password input. */
#define CADRE_WRITE_ONLY .write_only = 1
/* Table metadata (models: cadre/orm.h). */
enum { CADRE_ON_DELETE_PROTECT = 0, CADRE_ON_DELETE_CASCADE, CADRE_ON_DELETE_SET_NULL };
#define CADRE_PRIMARY_KEY .primary_key = 1
#define CADRE_UNIQUE .unique = 1
#define CADRE_INDEX .db_index = 1
#define CADRE_FOREIGN_KEY(T, ON_DELETE) .fk = T##__schema, .on_delete = (ON_DELETE)
/* Automatic timestamps, for datetime fields of models (Django's auto_now_add / auto_now): the
 * current UTC time (microseconds, offset Z), written by cadre_model_insert / insert_many (both
 * macros) and by cadre_model_update, partial or not (CADRE_AUTO_NOW only; an AUTO_NOW_ADD field is
 * never updated). Whatever the struct held is not written. In input they are read-only like
 * CADRE_PRIMARY_KEY: never required, a value sent is validated as a datetime and then ignored;
 * JSON Schema marks them readOnly. On a field that is not a datetime the insert or update fails
 * with CADRE_EINVAL (logged). */
#define CADRE_AUTO_NOW_ADD .auto_now_add = 1
#define CADRE_AUTO_NOW .auto_now = 1
#define CADRE_IN_PATH .in = CADRE_IN_PATH_
#define CADRE_IN_QUERY .in = CADRE_IN_QUERY_
#define CADRE_IN_HEADER .in = CADRE_IN_HEADER_
#define CADRE_IN_COOKIE .in = CADRE_IN_COOKIE_

/* Field type words → C member types and descriptor parts. */
#define CADRE__CTYPE_bool bool
#define CADRE__CTYPE__Bool bool
#define CADRE__CTYPE_int32 int32_t
#define CADRE__CTYPE_int64 int64_t
#define CADRE__CTYPE_double double
#define CADRE__CTYPE_string cadre_slice
#define CADRE__CTYPE_strings cadre_strings
#define CADRE__CTYPE_int64s cadre_int64s
#define CADRE__CTYPE_doubles cadre_doubles
#define CADRE__CTYPE_date cadre_date
#define CADRE__CTYPE_datetime cadre_datetime
#define CADRE__CTYPE_uuid cadre_uuid
#define CADRE__CTYPE_file cadre_upload
#define CADRE__CTYPE_files cadre_uploads
#define CADRE__CTYPE_enum(T) T
#define CADRE__CTYPE_object(T) T
#define CADRE__CTYPE_array(T)                                                                      \
    struct {                                                                                       \
        T *items;                                                                                  \
        size_t len;                                                                                \
    }
#define CADRE__TI_bool .type = CADRE_T_BOOL
#define CADRE__TI__Bool .type = CADRE_T_BOOL
#define CADRE__TI_int32 .type = CADRE_T_INT32
#define CADRE__TI_int64 .type = CADRE_T_INT64
#define CADRE__TI_double .type = CADRE_T_DOUBLE
#define CADRE__TI_string .type = CADRE_T_STRING
#define CADRE__TI_strings .type = CADRE_T_STRINGS
#define CADRE__TI_int64s .type = CADRE_T_INT64S
#define CADRE__TI_doubles .type = CADRE_T_DOUBLES
#define CADRE__TI_date .type = CADRE_T_DATE
#define CADRE__TI_datetime .type = CADRE_T_DATETIME
#define CADRE__TI_uuid .type = CADRE_T_UUID
#define CADRE__TI_file .type = CADRE_T_FILE
#define CADRE__TI_files .type = CADRE_T_FILES
#define CADRE__TI_enum(T) .type = CADRE_T_ENUM, .en = T##__enum
#define CADRE__TI_object(T) .type = CADRE_T_OBJECT, .sub = T##__schema
#define CADRE__TI_array(T) .type = CADRE_T_ARRAY, .sub = T##__schema, .elem_size = sizeof(T)

#define CADRE__FIRST(x, ...) x
#define CADRE__REST(x, ...) __VA_ARGS__
#define CADRE__STR_(x) #x
#define CADRE__STR(x) CADRE__STR_(x)
/* F(type, name, constraints...): `type` is pasted at this first level so that a type word that is
 * itself a macro (bool) is not expanded first. */
#define CADRE__MEMBER(type, ...) CADRE__CTYPE_##type CADRE__FIRST(__VA_ARGS__, );
#define CADRE__FIELD(type, ...)                                                                    \
    { .name = CADRE__STR(CADRE__FIRST(__VA_ARGS__, )), CADRE__TI_##type,                           \
      .offset = offsetof(cadre__self, CADRE__FIRST(__VA_ARGS__, )), CADRE__REST(__VA_ARGS__, ) },

/**
 * Declares `typedef struct NAME {...} NAME;` from the field list and `NAME__schema()`, which
 * returns its descriptor. Use at file scope, once per type (in a header to share it).
 */
#define CADRE_SCHEMA(NAME, FIELDS) CADRE__SCHEMA(NAME, FIELDS, false, false)
#define CADRE__INDEX(type, ...) char CADRE__FIRST(__VA_ARGS__, );
#define CADRE__SCHEMA(NAME, FIELDS, FORBID_EXTRA, MODEL)                                           \
    CADRE__SCHEMA_AS(NAME, #NAME, FIELDS, FORBID_EXTRA, MODEL)
/* As CADRE__SCHEMA, the descriptor named TITLE (a model's table) rather than NAME. */
#define CADRE__SCHEMA_AS(NAME, TITLE, FIELDS, FORBID_EXTRA, MODEL)                                 \
    typedef struct NAME {                                                                          \
        uint64_t cadre_set_;  /* which fields were present in the input */                        \
        uint64_t cadre_null_; /* which nullable fields were null */                                \
        FIELDS(CADRE__MEMBER)                                                                      \
    } NAME;                                                                                        \
    /* a byte per field, in order: offsetof gives a field's index (CADRE_FIELD_INDEX) */          \
    typedef struct NAME##__fields {                                                                \
        FIELDS(CADRE__INDEX)                                                                       \
    } NAME##__fields;                                                                              \
    static inline const cadre_schema *NAME##__schema(void)                                         \
    {                                                                                              \
        typedef NAME cadre__self;                                                                  \
        static const cadre_field fields[] = { FIELDS(CADRE__FIELD) };                              \
        _Static_assert(sizeof fields / sizeof fields[0] <= 64,                                     \
                       "CADRE_SCHEMA " #NAME ": at most 64 fields (a struct of more is better "   \
                       "split: nest one with object(...))");                                      \
        static const cadre_schema schema = {                                                       \
            TITLE, sizeof(NAME), fields, sizeof fields / sizeof fields[0],                         \
            offsetof(NAME, cadre_set_), offsetof(NAME, cadre_null_), (FORBID_EXTRA), (MODEL) };    \
        return &schema;                                                                            \
    }

/** As CADRE_SCHEMA, but members the schema does not name are errors ("extra_forbidden"), as
 *  Pydantic's extra="forbid". */
#define CADRE_SCHEMA_STRICT(NAME, FIELDS) CADRE__SCHEMA(NAME, FIELDS, true, false)

/**
 * Declares an enum whose values travel as strings, both written once:
 *
 *     #define COLOR_VALUES(V) V(COLOR_RED, "red") V(COLOR_GREEN, "green")
 *     CADRE_ENUM(color, COLOR_VALUES)      // typedef enum color {COLOR_RED, …} color;
 *
 * and used as a field type with F(enum(color), favourite).
 */
#define CADRE__ENUM_CONST(c, s) c,
#define CADRE__ENUM_NAME(c, s) s,
#define CADRE_ENUM(NAME, VALUES)                                                                   \
    typedef enum NAME { VALUES(CADRE__ENUM_CONST) } NAME;                                          \
    _Static_assert(sizeof(NAME) == sizeof(int), "CADRE_ENUM values are stored as int");            \
    static inline const cadre_enum *NAME##__enum(void)                                             \
    {                                                                                              \
        static const char *const values[] = { VALUES(CADRE__ENUM_NAME) };                          \
        static const cadre_enum e = { #NAME, values, sizeof values / sizeof values[0] };           \
        return &e;                                                                                 \
    }

/** The descriptor of a type declared with CADRE_SCHEMA. */
#define CADRE_SCHEMA_OF(NAME) (NAME##__schema())

/*
 * Presence and null bits, by field name, checked by the compiler: a name that is not a field of
 * SCHEMA does not compile, and OBJ must point to a SCHEMA (a pointer to another type is a
 * "pointer type mismatch" diagnostic). A field is present when the input had it (the decoders set
 * it) or when code says so: an optional field a handler fills must be set, or encoders and
 * partial updates leave it out.
 *
 *     cadre_set(&p, product, note);          // p.note is present (and not null)
 *     cadre_set_null(&p, product, note);     // present, and null (a nullable field)
 *     if (cadre_has(&p, product, note)) ...
 */
/** FIELD's index in SCHEMA's field list: a compile-time constant. */
#define CADRE_FIELD_INDEX(SCHEMA, FIELD) offsetof(SCHEMA##__fields, FIELD)
#define CADRE__OBJ(OBJ, SCHEMA) (1 ? (OBJ) : (SCHEMA *)0)
#define CADRE__BIT(SCHEMA, FIELD) ((uint64_t)1 << CADRE_FIELD_INDEX(SCHEMA, FIELD))
/** True when FIELD of *OBJ is present (in the decoded input, or set since). */
#define cadre_has(OBJ, SCHEMA, FIELD)                                                              \
    ((CADRE__OBJ(OBJ, SCHEMA)->cadre_set_ & CADRE__BIT(SCHEMA, FIELD)) != 0)
/** True when nullable FIELD of *OBJ is null. */
#define cadre_is_null(OBJ, SCHEMA, FIELD)                                                          \
    ((CADRE__OBJ(OBJ, SCHEMA)->cadre_null_ & CADRE__BIT(SCHEMA, FIELD)) != 0)
/** Marks FIELD of *OBJ present and not null (after assigning it). */
#define cadre_set(OBJ, SCHEMA, FIELD)                                                              \
    ((void)(CADRE__OBJ(OBJ, SCHEMA)->cadre_set_ |= CADRE__BIT(SCHEMA, FIELD),                     \
            (OBJ)->cadre_null_ &= ~CADRE__BIT(SCHEMA, FIELD)))
/** Marks nullable FIELD of *OBJ present and null (JSON null, SQL NULL). */
#define cadre_set_null(OBJ, SCHEMA, FIELD)                                                         \
    ((void)(CADRE__OBJ(OBJ, SCHEMA)->cadre_set_ |= CADRE__BIT(SCHEMA, FIELD),                     \
            (OBJ)->cadre_null_ |= CADRE__BIT(SCHEMA, FIELD)))
/** Marks FIELD of *OBJ absent (left out of JSON, of a partial update, of an insert). */
#define cadre_unset(OBJ, SCHEMA, FIELD)                                                            \
    ((void)(CADRE__OBJ(OBJ, SCHEMA)->cadre_set_ &= ~CADRE__BIT(SCHEMA, FIELD),                    \
            (OBJ)->cadre_null_ &= ~CADRE__BIT(SCHEMA, FIELD)))
/** cadre_has by a field's name at run time (false for a name that is not a field). */
bool cadre_schema_has(const cadre_schema *s, const void *obj, const char *field);

/* ---------------------------------------------------------------------------------------------
 * Validation errors, in FastAPI's (Pydantic 2's) shape
 * ------------------------------------------------------------------------------------------- */

/**
 * One step of an error's location: a name (body, query, a field, a map key, a parameter name the
 * client chose: any bytes, written as a JSON string) or, when key.ptr is NULL, a list index.
 */
typedef struct cadre_loc_seg {
    cadre_slice key;
    int64_t index;
} cadre_loc_seg;

typedef struct cadre_verror {
    const char *type;          /**< "missing", "string_too_long", "int_parsing", … */
    const cadre_loc_seg *loc;  /**< where: ["body","tags",3] is body, tags, index 3 */
    size_t nloc;
    const char *msg;           /**< "String should have at most 100 characters" (plain text) */
    cadre_slice input;         /**< the offending input as the client sent it; ptr NULL: none */
    bool input_is_json;        /**< input is JSON text (a JSON body's value) written as it is;
                                    otherwise it is text (a form field, a query value), written
                                    as a JSON string */
    const char *ctx;           /**< JSON object text ({"max_length":100}) or NULL */
} cadre_verror;

typedef struct cadre_verrors {
    cadre_verror *items;
    size_t len, cap;
    cadre_arena *arena; /**< where items and their strings live */
} cadre_verrors;

/** Prepares an empty error list whose memory comes from arena. */
void cadre_verrors_init(cadre_verrors *e, cadre_arena *arena);

/**
 * Adds an error at [root], [root, key], [root, index] or [root, key, index] (no key when key.ptr
 * is NULL, an empty key "" being a key; no index when index is negative), and returns it, so
 * that its input, input_is_json and ctx can be set. Strings are not copied (literals or arena
 * memory); the location is built in the list's arena. Never NULL (an arena's memory).
 */
cadre_verror *cadre_verrors_push(cadre_verrors *e, const char *type, const char *msg,
                                 const char *root, cadre_slice key, int64_t index);

/**
 * The usual error of a handler that checks more than the schema can: at [root, field], with the
 * value the client sent as text (ptr NULL: none). To say "this name is taken" beside a form field
 * or in a JSON 422: cadre_verrors_add_field(&errs, "body", "name", "unique",
 * "This name is taken.", p->name).
 */
void cadre_verrors_add_field(cadre_verrors *e, const char *root, const char *field,
                             const char *type, const char *msg, cadre_slice input);

/** Adds a copy of *v, its location copied into the list's arena (strings are not copied). */
void cadre_verrors_add(cadre_verrors *e, const cadre_verror *v);

/** The name of v's field under root: the second step of [root, name, …], or an absent slice
 *  (ptr NULL) when v is not located there. */
cadre_slice cadre_verror_field(const cadre_verror *v, const char *root);

/** v's location for a log line or a message: body.tags[3].name (arena memory, NUL-terminated;
 *  a name's bytes as they are). */
const char *cadre_verror_path(const cadre_verror *v, cadre_arena *arena);

/** Writes v's location as its JSON array: ["body","tags",3,"name"]. */
void cadre_verror_write_loc(const cadre_verror *v, cadre_json_writer *w);

/** Writes {"detail":[{"type":…,"loc":…,"msg":…,"input":…,"ctx":…},…]}. */
void cadre_verrors_write(const cadre_verrors *e, cadre_json_writer *w);

/* ---------------------------------------------------------------------------------------------
 * Decoding and encoding
 * ------------------------------------------------------------------------------------------- */

/**
 * Decodes the JSON text json[0..len) into *out (a struct of schema s, zeroed first), validating
 * every constraint and collecting every error under root (e.g. "body"). Unknown members are
 * ignored; a duplicate member: the last one wins. Strings and arrays are allocated from arena.
 * Returns 0 when valid, CADRE_EINVAL when errs holds validation errors, CADRE_EPARSE when the text
 * is not JSON (errs then holds one "json_invalid" error).
 */
int cadre_schema_decode_json(const cadre_schema *s, const char *json, size_t len, void *out,
                             cadre_arena *arena, const char *root, cadre_verrors *errs);

/**
 * Decodes one field from text (a path segment, a query value, a header), as FastAPI does for
 * parameters: "42" for an int, "true"/"1"/"yes"… for a bool. A number is the number alone: no
 * space around it and no '+' (" 42", "42 " and "+42" are int_parsing or float_parsing errors), so
 * that /items/%2042 is not item 42; the same holds for a number in a JSON string. Errors go to
 * errs at [root, field name], with text as their input. Returns 0 or CADRE_EINVAL.
 */
int cadre_schema_decode_text(const cadre_schema *s, const cadre_field *f, cadre_slice text, void *out,
                             cadre_arena *arena, const char *root, cadre_verrors *errs);

/**
 * For a decoder of another format (form bodies; one's own): decodes the scalar value t, a JSON
 * token — or a string token for text, as cadre_schema_decode_text makes — into field f of *out as
 * the JSON decoder would, with the same validation and the same errors, reported at
 * [root, f->name] with input (the value as JSON text) as their input. An object or array token
 * is the wrong type for a scalar field and is reported as such (an uploaded file sent for a text
 * field). Strings go to arena. Returns 0 or CADRE_EINVAL.
 */
int cadre_schema_decode_token(const cadre_field *f, const cadre_json_token *t, cadre_slice input,
                              void *out, cadre_arena *arena, const char *root,
                              cadre_verrors *errs);

/**
 * Checks a list field's CADRE_MIN_ITEMS / CADRE_MAX_ITEMS against its n items, for a decoder of
 * another format that gathers a list itself: reports too_long or too_short at loc (nloc steps,
 * copied) with input (the list as JSON text), messages in arena. Returns true when n is within
 * the bounds.
 */
bool cadre_schema_check_items(const cadre_field *f, size_t n, const cadre_loc_seg *loc,
                              size_t nloc, cadre_slice input, cadre_arena *arena,
                              cadre_verrors *errs);

/** Applies f's default to *out (or reports "missing" at [root, f->name] when required, with input,
 *  JSON text, as its input). Returns 0 or CADRE_EINVAL. */
int cadre_schema_default(const cadre_schema *s, const cadre_field *f, void *out, cadre_arena *arena,
                         const char *root, cadre_slice input, cadre_verrors *errs);

/** Writes *in as a JSON object. Absent optional fields are left out; nullable+null → null. */
void cadre_schema_encode_json(const cadre_schema *s, const void *in, cadre_json_writer *w);

/** Writes the value of field f of *obj (a struct of f's schema) as JSON, whether present or not. */
void cadre_schema_encode_field(const cadre_field *f, const void *obj, cadre_json_writer *w);

/** The field named name, or NULL. */
const cadre_field *cadre_schema_field(const cadre_schema *s, const char *name, size_t len);

/** The bytes of field f's member in its struct (sizeof the member). */
size_t cadre_field_size(const cadre_field *f);

/**
 * Copies into *dst the fields present in *src (their values, present and null bits), leaving the
 * others: a partial update applied to a whole row (what the row would be after a PATCH). The
 * values are shallow copies: strings and arrays still point into src's memory.
 */
void cadre_schema_overlay(const cadre_schema *s, void *dst, const void *src);

/**
 * Writes the JSON Schema (2020-12, as OpenAPI 3.1 uses) of s: an object with properties,
 * required, and each constraint. Nested schemas are written as $ref to
 * "#/components/schemas/NAME" when ref_nested, inline otherwise.
 */
void cadre_schema_write_json_schema(const cadre_schema *s, cadre_json_writer *w, bool ref_nested);

/**
 * Writes the JSON Schema of s as the body of a partial update (PATCH, cadre_route_spec's
 * partial_body): titled "Patched" + its name (drf-spectacular's name for it), no field required
 * and no defaults (an absent field stays as it is). Nested schemas as cadre_schema_write_json_schema.
 */
void cadre_schema_write_json_schema_patched(const cadre_schema *s, cadre_json_writer *w,
                                            bool ref_nested);

/** Writes the JSON Schema of one field's value (with its title, default and constraints). */
void cadre_schema_write_field_schema(const cadre_field *f, cadre_json_writer *w, bool ref_nested);

/** The schema of an object(T) or array(T) field (NULL for other types). */
static inline const cadre_schema *cadre_field_sub(const cadre_field *f)
{
    return f->sub ? f->sub() : f->sub_schema;
}

/** True when the field is required in input (no default, not optional, not read-only: primary
 *  keys are assigned by the database, automatic timestamps by cadre_model_insert / update). */
static inline bool cadre_field_required(const cadre_field *f)
{
    return !f->has_default && !f->optional && !f->primary_key && !f->auto_now_add && !f->auto_now;
}

#ifdef __cplusplus
}
#endif
#endif
