/*
 * Template rendering: walks a compiled tree with a context, writing to a cadre_buf. Values are
 * read in place (schema structs by field descriptor, rows by stride); filters produce new text in
 * the output buffer's arena or the render's scratch arena. Everything written by {{ }} goes through
 * the HTML escaper unless its value is marked safe.
 */
#include "template_internal.h"

#include <cadre/base.h>
#include <cadre/schema.h>
#include <cadre/orm.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#define MAX_DEPTH 32  /* extends + include nesting */
#define MAX_VARS 64   /* loop variables in scope */
#define MAX_STEPS 50000000 /* nodes rendered by one render: loops nested over loops stop here */

typedef struct rstate {
    cadre_templates *set;
    const cadre_tctx *ctx;
    const cadre_tctx *extra; /* looked up after ctx: the context processors' names */
    cadre_buf *out;
    cadre_arena *a; /* scratch */
    struct {
        const char *name;
        cadre_tvalue v;
    } vars[MAX_VARS];
    size_t nvars;
    size_t scope; /* vars[scope..] were set in the innermost loop body or block */
    /* the template chain being rendered: chain[0] the most derived, chain[n-1] the root */
    ttemplate *chain[MAX_DEPTH];
    size_t nchain;
    const char *block; /* the block being rendered, and the chain level of its definition */
    size_t level;
    ttemplate *cur;    /* whose nodes run now (messages) */
    int depth;
    int rc;
    size_t steps;
    bool dev;      /* development mode: undefined names and attributes are warned of */
    int quiet;     /* > 0 inside |default's operand: an undefined value is expected there */
    const texpr *warned[16]; /* already warned of in this render (the first 16) */
    size_t nwarned;
} rstate;

typedef struct loop_state {
    size_t index, length;
} loop_state;

static void render_list(rstate *st, const tlist *l);
static cadre_tvalue eval(rstate *st, const texpr *e);

static void emit(rstate *st, const char *s, size_t n)
{
    if (st->rc == 0 && n)
        st->rc = cadre_buf_append(st->out, s, n);
}

static void emit_escaped(rstate *st, const char *s, size_t n)
{
    if (st->rc == 0 && n)
        st->rc = cadre_buf_append_html(st->out, s, n);
}

static void warn(rstate *st, const char *fmt, const char *what)
{
    cadre_log(CADRE_LOG_WARN, "%s: %s %s", st->cur ? st->cur->name : "template", fmt, what);
}

/* ---------------------------------------------------------------------------------------------
 * Values
 * ------------------------------------------------------------------------------------------- */

static cadre_tvalue undefined(void)
{
    return (cadre_tvalue){ .kind = CADRE_TV_UNDEFINED };
}

static cadre_tvalue str_value(const char *s, size_t n, bool safe)
{
    return (cadre_tvalue){ .kind = safe ? CADRE_TV_SAFE : CADRE_TV_STR, .u.s = { s, n } };
}

static bool is_set(const cadre_schema *s, const void *obj, size_t i)
{
    return (*(const uint64_t *)((const char *)obj + s->set_offset) >> i) & 1;
}

/* Field f (index i) of obj as a value. */
static cadre_tvalue field_value(rstate *st, const cadre_schema *s, size_t i, const void *obj)
{
    const cadre_field *f = &s->fields[i];
    const char *p = (const char *)obj + f->offset;
    if ((f->optional && !is_set(s, obj, i)) ||
        (f->nullable && ((*(const uint64_t *)((const char *)obj + s->null_offset) >> i) & 1)))
        return (cadre_tvalue){ .kind = CADRE_TV_NONE };
    switch (f->type) {
    case CADRE_T_BOOL: return CADRE_TBOOL(*(const bool *)p);
    case CADRE_T_INT32: return CADRE_TINT(*(const int32_t *)p);
    case CADRE_T_INT64: return CADRE_TINT(*(const int64_t *)p);
    case CADRE_T_DOUBLE: return CADRE_TDOUBLE(*(const double *)p);
    case CADRE_T_STRING: {
        const cadre_slice *sl = (const cadre_slice *)p;
        return str_value(sl->ptr ? sl->ptr : "", sl->ptr ? sl->len : 0, false);
    }
    case CADRE_T_ENUM: {
        const cadre_enum *en = f->en();
        int v = *(const int *)p;
        return v >= 0 && (size_t)v < en->count ? CADRE_TSTR(en->values[v]) : undefined();
    }
    case CADRE_T_DATE:
        return (cadre_tvalue){ .kind = CADRE_TV_DATE, .u.other = { p, 0, 0 } };
    case CADRE_T_DATETIME:
        return (cadre_tvalue){ .kind = CADRE_TV_DATETIME, .u.other = { p, 0, 0 } };
    case CADRE_T_UUID: {
        char *buf = cadre_arena_alloc(st->a, 40);
        size_t n = buf ? cadre_uuid_format((const cadre_uuid *)p, buf) : 0;
        return str_value(buf ? buf : "", n, false);
    }
    case CADRE_T_OBJECT:
        return (cadre_tvalue){ .kind = CADRE_TV_OBJ,
                               .u.obj = { .schema = cadre_field_sub(f), .ptr = p, .len = 1 } };
    case CADRE_T_ARRAY: {
        const struct {
            const void *items;
            size_t len;
        } *arr = (const void *)p;
        return (cadre_tvalue){ .kind = CADRE_TV_LIST,
                               .u.obj = { .schema = cadre_field_sub(f), .ptr = arr->items,
                                          .len = arr->len } };
    }
    case CADRE_T_STRINGS:
    case CADRE_T_INT64S:
    case CADRE_T_DOUBLES: {
        const struct {
            const void *items;
            size_t len;
        } *arr = (const void *)p;
        return (cadre_tvalue){ .kind = CADRE_TV_SLIST, .u.other = { arr->items, f->type, arr->len } };
    }
    default:
        return undefined();
    }
}

/* Whether a and b are the same name: the first byte first, which tells most names apart
 * without a call (a page's context has dozens of names, each looked up per row of a loop). */
static inline bool same_name(const char *a, const char *b)
{
    return a[0] == b[0] && strcmp(a, b) == 0;
}

static cadre_tvalue attr(rstate *st, cadre_tvalue v, const char *name)
{
    switch (v.kind) {
    case CADRE_TV_OBJ: {
        const cadre_schema *s = v.u.obj.schema;
        for (size_t i = 0; i < s->nfields; i++)
            if (same_name(s->fields[i].name, name))
                return s->fields[i].write_only ? undefined() : field_value(st, s, i, v.u.obj.ptr);
        /* a row of a query: p.supplier is the row its supplier_id's select_related joined
         * (none for a null key) */
        size_t n = strlen(name);
        for (const cadre_rows_link *l = v.u.obj.rows ? v.u.obj.rows->links : NULL; l; l = l->next) {
            if (l->start) { /* prefetched: p.comment_set, the rows of comment that name p */
                size_t ln = strlen(l->schema->name);
                if (n != ln + 4 || strncmp(name, l->schema->name, ln) != 0 ||
                    strcmp(name + ln, "_set") != 0)
                    continue;
                cadre_rows set = cadre_related_set(v.u.obj.rows, v.u.obj.index, l->schema->name);
                return (cadre_tvalue){ .kind = CADRE_TV_LIST,
                                       .u.obj = { .schema = l->schema, .ptr = set.items,
                                                  .len = set.len } };
            }
            const char *via = l->via->name;
            if (strncmp(via, name, n) != 0 || strcmp(via + n, "_id") != 0)
                continue;
            const void *row = cadre_related(v.u.obj.rows, v.u.obj.index, via);
            return row ? (cadre_tvalue){ .kind = CADRE_TV_OBJ,
                                         .u.obj = { .schema = l->schema, .ptr = row, .len = 1 } }
                       : CADRE_TNONE;
        }
        return undefined();
    }
    case CADRE_TV_MAP:
        for (size_t i = 0; i < v.u.map.len; i++)
            if (same_name(v.u.map.vars[i].name, name))
                return v.u.map.vars[i].value;
        return undefined();
    case CADRE_TV_FORM:
        if (same_name(name, "enctype"))
            return cadre__form_enctype(v.u.other.ptr);
        if (same_name(name, "model")) /* the schema's name: "New {{ form.model }}" */
            return CADRE_TSTR(((const cadre_tform *)v.u.other.ptr)->schema->name);
        return same_name(name, "fields") ? cadre__form_fields(st->a, v.u.other.ptr) : undefined();
    case CADRE_TV_LOOP: {
        const loop_state *l = v.u.other.ptr;
        if (same_name(name, "index"))
            return CADRE_TINT(l->index + 1);
        if (same_name(name, "index0"))
            return CADRE_TINT(l->index);
        if (same_name(name, "revindex"))
            return CADRE_TINT(l->length - l->index);
        if (same_name(name, "revindex0"))
            return CADRE_TINT(l->length - l->index - 1);
        if (same_name(name, "first"))
            return CADRE_TBOOL(l->index == 0);
        if (same_name(name, "last"))
            return CADRE_TBOOL(l->index + 1 == l->length);
        if (same_name(name, "length"))
            return CADRE_TINT(l->length);
        return undefined();
    }
    default:
        return undefined();
    }
}

static size_t seq_len(cadre_tvalue v)
{
    switch (v.kind) {
    case CADRE_TV_LIST: return v.u.obj.len;
    case CADRE_TV_VALUES: return v.u.values.len;
    case CADRE_TV_SLIST: return v.u.other.len;
    case CADRE_TV_MAP: return v.u.map.len;
    default: return 0;
    }
}

static bool is_seq(cadre_tvalue v)
{
    return v.kind == CADRE_TV_LIST || v.kind == CADRE_TV_VALUES || v.kind == CADRE_TV_SLIST;
}

static cadre_tvalue seq_item(rstate *st, cadre_tvalue v, size_t i)
{
    switch (v.kind) {
    case CADRE_TV_LIST:
        return (cadre_tvalue){ .kind = CADRE_TV_OBJ,
                               .u.obj = { .schema = v.u.obj.schema,
                                          .ptr = (const char *)v.u.obj.ptr +
                                                 i * v.u.obj.schema->size,
                                          .len = 1,
                                          .rows = v.u.obj.rows,
                                          .index = i } };
    case CADRE_TV_VALUES:
        return v.u.values.items[i];
    case CADRE_TV_SLIST:
        if (v.u.other.type == CADRE_T_STRINGS) {
            const cadre_slice *sl = (const cadre_slice *)v.u.other.ptr + i;
            return str_value(sl->ptr ? sl->ptr : "", sl->ptr ? sl->len : 0, false);
        }
        if (v.u.other.type == CADRE_T_INT64S)
            return CADRE_TINT(((const int64_t *)v.u.other.ptr)[i]);
        return CADRE_TDOUBLE(((const double *)v.u.other.ptr)[i]);
    default:
        (void)st;
        return undefined();
    }
}

static bool truthy(cadre_tvalue v)
{
    switch (v.kind) {
    case CADRE_TV_BOOL: return v.u.b;
    case CADRE_TV_INT: return v.u.i != 0;
    case CADRE_TV_DOUBLE: return v.u.d != 0;
    case CADRE_TV_STR:
    case CADRE_TV_SAFE: return v.u.s.len > 0;
    case CADRE_TV_LIST:
    case CADRE_TV_VALUES:
    case CADRE_TV_SLIST:
    case CADRE_TV_MAP: return seq_len(v) > 0;
    case CADRE_TV_OBJ:
    case CADRE_TV_DATE:
    case CADRE_TV_DATETIME:
    case CADRE_TV_LOOP:
    case CADRE_TV_FORM: return true;
    default: return false;
    }
}

/* The value as text (not escaped): into a scratch buffer when it is not text already. */
static cadre_slice text_of(rstate *st, cadre_tvalue v)
{
    char tmp[64];
    size_t n = 0;
    switch (v.kind) {
    case CADRE_TV_STR:
    case CADRE_TV_SAFE: return v.u.s;
    case CADRE_TV_UNDEFINED: return (cadre_slice){ "", 0 };
    case CADRE_TV_NONE: return (cadre_slice){ "None", 4 };
    case CADRE_TV_BOOL: return v.u.b ? (cadre_slice){ "True", 4 } : (cadre_slice){ "False", 5 };
    case CADRE_TV_INT: n = cadre_i64_text(v.u.i, tmp); break;
    case CADRE_TV_DATE: n = cadre_date_format(v.u.other.ptr, tmp); break;
    case CADRE_TV_DATETIME: {
        char big[48];
        n = cadre_datetime_format(v.u.other.ptr, big);
        char *c = cadre_arena_strndup(st->a, big, n);
        return (cadre_slice){ c ? c : "", c ? n : 0 };
    }
    default: {
        /* numbers as Python prints them (the JSON writer's shortest round trip), others as JSON */
        cadre_buf b;
        cadre_json_writer w;
        cadre_buf_init_arena(&b, st->a, (size_t)1 << 24);
        cadre_json_writer_init(&w, &b);
        if (v.kind == CADRE_TV_DOUBLE)
            cadre_json_double(&w, v.u.d);
        else if (v.kind == CADRE_TV_OBJ)
            cadre_schema_encode_json(v.u.obj.schema, v.u.obj.ptr, &w);
        else
            cadre_json_null(&w);
        return (cadre_slice){ b.data ? b.data : "", b.len };
    }
    }
    char *c = cadre_arena_strndup(st->a, tmp, n);
    return (cadre_slice){ c ? c : "", c ? n : 0 };
}

static int compare(rstate *st, cadre_tvalue a, cadre_tvalue b, bool *eq)
{
    bool an = a.kind == CADRE_TV_INT || a.kind == CADRE_TV_DOUBLE || a.kind == CADRE_TV_BOOL;
    bool bn = b.kind == CADRE_TV_INT || b.kind == CADRE_TV_DOUBLE || b.kind == CADRE_TV_BOOL;
    if (an && bn) {
        double x = a.kind == CADRE_TV_DOUBLE ? a.u.d : a.kind == CADRE_TV_INT ? (double)a.u.i : a.u.b;
        double y = b.kind == CADRE_TV_DOUBLE ? b.u.d : b.kind == CADRE_TV_INT ? (double)b.u.i : b.u.b;
        if (a.kind == CADRE_TV_INT && b.kind == CADRE_TV_INT) {
            *eq = a.u.i == b.u.i;
            return a.u.i < b.u.i ? -1 : a.u.i > b.u.i;
        }
        *eq = x == y;
        return x < y ? -1 : x > y;
    }
    bool as = a.kind == CADRE_TV_STR || a.kind == CADRE_TV_SAFE;
    bool bs = b.kind == CADRE_TV_STR || b.kind == CADRE_TV_SAFE;
    if (as && bs) {
        size_t n = a.u.s.len < b.u.s.len ? a.u.s.len : b.u.s.len;
        int c = n ? memcmp(a.u.s.ptr, b.u.s.ptr, n) : 0;
        if (!c)
            c = a.u.s.len < b.u.s.len ? -1 : a.u.s.len > b.u.s.len;
        *eq = c == 0;
        return c;
    }
    bool anone = a.kind == CADRE_TV_NONE || a.kind == CADRE_TV_UNDEFINED;
    bool bnone = b.kind == CADRE_TV_NONE || b.kind == CADRE_TV_UNDEFINED;
    *eq = anone && bnone;
    (void)st;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Filters
 * ------------------------------------------------------------------------------------------- */

typedef cadre_tvalue (*filter_fn)(rstate *st, cadre_tvalue v, const cadre_tvalue *args, size_t n);

static cadre_tvalue f_escape(rstate *st, cadre_tvalue v, const cadre_tvalue *args, size_t n)
{
    (void)args, (void)n;
    if (v.kind == CADRE_TV_SAFE)
        return v;
    cadre_slice t = text_of(st, v);
    cadre_buf *saved = st->out, b;
    cadre_buf_init_arena(&b, st->a, (size_t)1 << 30);
    st->out = &b;
    emit_escaped(st, t.ptr, t.len);
    st->out = saved;
    return str_value(b.data ? b.data : "", b.len, true);
}

static cadre_tvalue f_safe(rstate *st, cadre_tvalue v, const cadre_tvalue *args, size_t n)
{
    (void)args, (void)n;
    cadre_slice t = text_of(st, v);
    return str_value(t.ptr, t.len, true);
}

static bool is_alpha_ascii(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* A copy of v's text with each byte mapped (ASCII case changes keep UTF-8 intact). */
static cadre_tvalue map_text(rstate *st, cadre_tvalue v, int how)
{
    cadre_slice t = text_of(st, v);
    char *c = cadre_arena_alloc(st->a, t.len + 1);
    if (!c)
        return undefined();
    bool word_start = true;
    for (size_t i = 0; i < t.len; i++) {
        char ch = t.ptr[i];
        bool alpha = is_alpha_ascii(ch);
        switch (how) {
        case 0: ch = ch >= 'a' && ch <= 'z' ? (char)(ch - 32) : ch; break; /* upper */
        case 1: ch = ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch; break; /* lower */
        case 2:                                                              /* title */
            if (alpha)
                ch = word_start ? (ch >= 'a' && ch <= 'z' ? (char)(ch - 32) : ch)
                                : (ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch);
            word_start = !alpha && !((unsigned char)ch >= 0x80) && !(ch >= '0' && ch <= '9');
            break;
        default: /* capitalize */
            ch = i == 0 ? (ch >= 'a' && ch <= 'z' ? (char)(ch - 32) : ch)
                        : (ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch);
        }
        c[i] = ch;
    }
    return str_value(c, t.len, v.kind == CADRE_TV_SAFE);
}

static cadre_tvalue f_upper(rstate *st, cadre_tvalue v, const cadre_tvalue *a, size_t n)
{
    (void)a, (void)n;
    return map_text(st, v, 0);
}

static cadre_tvalue f_lower(rstate *st, cadre_tvalue v, const cadre_tvalue *a, size_t n)
{
    (void)a, (void)n;
    return map_text(st, v, 1);
}

static cadre_tvalue f_title(rstate *st, cadre_tvalue v, const cadre_tvalue *a, size_t n)
{
    (void)a, (void)n;
    return map_text(st, v, 2);
}

static cadre_tvalue f_capitalize(rstate *st, cadre_tvalue v, const cadre_tvalue *a, size_t n)
{
    (void)a, (void)n;
    return map_text(st, v, 3);
}

static cadre_tvalue f_trim(rstate *st, cadre_tvalue v, const cadre_tvalue *a, size_t n)
{
    (void)a, (void)n;
    cadre_slice t = text_of(st, v);
    while (t.len && (*t.ptr == ' ' || *t.ptr == '\t' || *t.ptr == '\n' || *t.ptr == '\r'))
        t.ptr++, t.len--;
    while (t.len && (t.ptr[t.len - 1] == ' ' || t.ptr[t.len - 1] == '\t' ||
                     t.ptr[t.len - 1] == '\n' || t.ptr[t.len - 1] == '\r'))
        t.len--;
    return str_value(t.ptr, t.len, v.kind == CADRE_TV_SAFE);
}

/* Code points in UTF-8 text (continuation bytes not counted). */
static size_t chars(cadre_slice t)
{
    size_t n = 0;
    for (size_t i = 0; i < t.len; i++)
        n += ((unsigned char)t.ptr[i] & 0xc0) != 0x80;
    return n;
}

/* The byte offset of code point k. */
static size_t char_offset(cadre_slice t, size_t k)
{
    size_t i = 0;
    for (size_t seen = 0; i < t.len; i++) {
        if (((unsigned char)t.ptr[i] & 0xc0) != 0x80) {
            if (seen == k)
                return i;
            seen++;
        }
    }
    return t.len;
}

static cadre_tvalue f_length(rstate *st, cadre_tvalue v, const cadre_tvalue *a, size_t n)
{
    (void)a, (void)n;
    if (v.kind == CADRE_TV_STR || v.kind == CADRE_TV_SAFE)
        return CADRE_TINT(chars(v.u.s));
    if (is_seq(v) || v.kind == CADRE_TV_MAP)
        return CADRE_TINT(seq_len(v));
    (void)st;
    return CADRE_TINT(0);
}

static cadre_tvalue f_default(rstate *st, cadre_tvalue v, const cadre_tvalue *a, size_t n)
{
    (void)st;
    bool use = v.kind == CADRE_TV_UNDEFINED || (n > 1 && truthy(a[1]) && !truthy(v));
    return use ? (n ? a[0] : str_value("", 0, false)) : v;
}

/* Jinja's truncate(length=255, killwords=false, end='...', leeway=5): here truncate(n[, end]). */
static cadre_tvalue f_truncate(rstate *st, cadre_tvalue v, const cadre_tvalue *a, size_t n)
{
    cadre_slice t = text_of(st, v);
    int64_t len = n > 0 && a[0].kind == CADRE_TV_INT ? a[0].u.i : 255;
    cadre_slice end = n > 1 ? text_of(st, a[1]) : (cadre_slice){ "...", 3 };
    size_t count = chars(t), endc = chars(end);
    if (len < 0 || count <= (size_t)len + 5)
        return v;
    size_t keep = (size_t)len > endc ? (size_t)len - endc : 0;
    size_t cut = char_offset(t, keep);
    /* whole words: back to the last space (Jinja's rsplit(' ', 1)) */
    size_t sp = cut;
    while (sp > 0 && t.ptr[sp - 1] != ' ')
        sp--;
    if (sp > 0)
        cut = sp - 1;
    char *c = cadre_arena_alloc(st->a, cut + end.len + 1);
    if (!c)
        return undefined();
    memcpy(c, t.ptr, cut);
    memcpy(c + cut, end.ptr, end.len);
    return str_value(c, cut + end.len, v.kind == CADRE_TV_SAFE);
}

static cadre_tvalue f_join(rstate *st, cadre_tvalue v, const cadre_tvalue *a, size_t n)
{
    cadre_slice sep = n ? text_of(st, a[0]) : (cadre_slice){ "", 0 };
    if (!is_seq(v))
        return text_of(st, v).len ? str_value(text_of(st, v).ptr, text_of(st, v).len, false) : v;
    /* items are escaped as they are joined unless they are safe: the result is markup */
    cadre_buf *saved = st->out, b;
    cadre_buf_init_arena(&b, st->a, (size_t)1 << 30);
    st->out = &b;
    bool sep_safe = n && a[0].kind == CADRE_TV_SAFE;
    for (size_t i = 0; i < seq_len(v); i++) {
        if (i) {
            if (sep_safe)
                emit(st, sep.ptr, sep.len);
            else
                emit_escaped(st, sep.ptr, sep.len);
        }
        cadre_tvalue item = seq_item(st, v, i);
        cadre_slice t = text_of(st, item);
        if (item.kind == CADRE_TV_SAFE)
            emit(st, t.ptr, t.len);
        else
            emit_escaped(st, t.ptr, t.len);
    }
    st->out = saved;
    return str_value(b.data ? b.data : "", b.len, true);
}

static cadre_tvalue f_date(rstate *st, cadre_tvalue v, const cadre_tvalue *a, size_t n)
{
    struct tm tm = { 0 };
    const char *fmt;
    if (v.kind == CADRE_TV_DATE) {
        const cadre_date *d = v.u.other.ptr;
        tm.tm_year = d->year - 1900, tm.tm_mon = d->month - 1, tm.tm_mday = d->day;
        fmt = "%Y-%m-%d";
    } else if (v.kind == CADRE_TV_DATETIME) {
        const cadre_datetime *t = v.u.other.ptr;
        time_t local = (time_t)(t->sec + (int64_t)t->offset_min * 60); /* as it was written */
        gmtime_r(&local, &tm);
        fmt = "%Y-%m-%d %H:%M:%S";
    } else {
        return v;
    }
    /* the weekday and day of the year, which strftime may print */
    time_t days = timegm(&(struct tm){ .tm_year = tm.tm_year, .tm_mon = tm.tm_mon,
                                        .tm_mday = tm.tm_mday });
    struct tm full;
    gmtime_r(&days, &full);
    tm.tm_wday = full.tm_wday, tm.tm_yday = full.tm_yday;
    cadre_slice f = n ? text_of(st, a[0]) : cadre_slice_cstr(fmt);
    char *z = cadre_arena_strndup(st->a, f.ptr, f.len);
    char *buf = cadre_arena_alloc(st->a, 256);
    size_t len = z && buf ? strftime(buf, 256, z, &tm) : 0;
    return str_value(buf ? buf : "", len, false);
}

static cadre_tvalue f_urlencode(rstate *st, cadre_tvalue v, const cadre_tvalue *a, size_t n)
{
    (void)a, (void)n;
    cadre_slice t = text_of(st, v);
    static const char hex[] = "0123456789ABCDEF";
    char *c = cadre_arena_alloc(st->a, t.len * 3 + 1);
    if (!c)
        return undefined();
    size_t o = 0;
    for (size_t i = 0; i < t.len; i++) {
        unsigned char ch = (unsigned char)t.ptr[i];
        if (is_alpha_ascii((char)ch) || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
            ch == '_' || ch == '~' || ch == '/') {
            c[o++] = (char)ch;
        } else {
            c[o++] = '%';
            c[o++] = hex[ch >> 4];
            c[o++] = hex[ch & 15];
        }
    }
    return str_value(c, o, false);
}

static void json_value(rstate *st, cadre_tvalue v, cadre_json_writer *w)
{
    switch (v.kind) {
    case CADRE_TV_BOOL: cadre_json_bool(w, v.u.b); break;
    case CADRE_TV_INT: cadre_json_int(w, v.u.i); break;
    case CADRE_TV_DOUBLE: cadre_json_double(w, v.u.d); break;
    case CADRE_TV_STR:
    case CADRE_TV_SAFE: cadre_json_string(w, v.u.s.ptr, v.u.s.len); break;
    case CADRE_TV_OBJ: cadre_schema_encode_json(v.u.obj.schema, v.u.obj.ptr, w); break;
    case CADRE_TV_DATE:
    case CADRE_TV_DATETIME: {
        cadre_slice t = text_of(st, v);
        cadre_json_string(w, t.ptr, t.len);
        break;
    }
    case CADRE_TV_LIST:
    case CADRE_TV_VALUES:
    case CADRE_TV_SLIST:
        cadre_json_begin_array(w);
        for (size_t i = 0; i < seq_len(v); i++)
            json_value(st, seq_item(st, v, i), w);
        cadre_json_end_array(w);
        break;
    case CADRE_TV_MAP:
        cadre_json_begin_object(w);
        for (size_t i = 0; i < v.u.map.len; i++) {
            cadre_json_key(w, v.u.map.vars[i].name, strlen(v.u.map.vars[i].name));
            json_value(st, v.u.map.vars[i].value, w);
        }
        cadre_json_end_object(w);
        break;
    default: cadre_json_null(w);
    }
}

/* Jinja's tojson: JSON whose < > & ' are \u escapes, so it is safe in HTML, <script> and
 * single-quoted attributes. */
static cadre_tvalue f_json(rstate *st, cadre_tvalue v, const cadre_tvalue *a, size_t n)
{
    (void)a, (void)n;
    cadre_buf b;
    cadre_json_writer w;
    cadre_buf_init_arena(&b, st->a, (size_t)1 << 30);
    cadre_json_writer_init(&w, &b);
    json_value(st, v, &w);
    cadre_buf *saved = st->out, o;
    cadre_buf_init_arena(&o, st->a, (size_t)1 << 30);
    st->out = &o;
    for (size_t i = 0; i < b.len; i++) {
        char ch = b.data[i];
        const char *rep = ch == '<' ? "\\u003c" : ch == '>' ? "\\u003e" : ch == '&' ? "\\u0026"
                        : ch == '\'' ? "\\u0027" : NULL;
        if (rep)
            emit(st, rep, 6);
        else
            emit(st, &ch, 1);
    }
    st->out = saved;
    return str_value(o.data ? o.data : "", o.len, true);
}

static cadre_tvalue f_first(rstate *st, cadre_tvalue v, const cadre_tvalue *a, size_t n)
{
    (void)a, (void)n;
    return is_seq(v) && seq_len(v) ? seq_item(st, v, 0) : undefined();
}

static cadre_tvalue f_last(rstate *st, cadre_tvalue v, const cadre_tvalue *a, size_t n)
{
    (void)a, (void)n;
    return is_seq(v) && seq_len(v) ? seq_item(st, v, seq_len(v) - 1) : undefined();
}

static const struct {
    const char *name;
    filter_fn fn;
    int max_args;
    bool safe; /* its result is markup (may stand in a tag) */
} filters[] = {
    { "escape", f_escape, 0, false }, { "e", f_escape, 0, false },
    { "safe", f_safe, 0, true },      { "upper", f_upper, 0, false },
    { "lower", f_lower, 0, false },   { "title", f_title, 0, false },
    { "capitalize", f_capitalize, 0, false },
    { "trim", f_trim, 0, false },     { "length", f_length, 0, false },
    { "count", f_length, 0, false },  { "default", f_default, 2, false },
    { "d", f_default, 2, false },     { "truncate", f_truncate, 2, false },
    { "join", f_join, 1, false },     { "date", f_date, 1, false },
    { "urlencode", f_urlencode, 0, false },
    { "json", f_json, 0, false },     { "tojson", f_json, 0, false },
    { "first", f_first, 0, false },   { "last", f_last, 0, false },
};

int cadre__filter_index(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof filters / sizeof *filters; i++)
        if (strlen(filters[i].name) == len && memcmp(filters[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

int cadre__filter_max_args(int index)
{
    return filters[index].max_args;
}

bool cadre__filter_is_safe(int index)
{
    return filters[index].safe;
}

/* ---------------------------------------------------------------------------------------------
 * Evaluation and rendering
 * ------------------------------------------------------------------------------------------- */

static cadre_tvalue lookup(rstate *st, const char *name)
{
    for (size_t i = st->nvars; i-- > 0;)
        if (same_name(st->vars[i].name, name))
            return st->vars[i].v;
    for (size_t i = 0; st->ctx && i < st->ctx->len; i++)
        if (same_name(st->ctx->vars[i].name, name))
            return st->ctx->vars[i].value;
    for (size_t i = 0; st->extra && i < st->extra->len; i++)
        if (same_name(st->extra->vars[i].name, name))
            return st->extra->vars[i].value;
    return undefined();
}

static void render_block(rstate *st, const char *name, size_t from);

/* Development mode: a name or attribute that is not there (a typo renders nothing), once per
 * expression and render, with where it is written. */
static void warn_undefined(rstate *st, const texpr *e)
{
    if (!st->dev || st->quiet)
        return;
    for (size_t i = 0; i < st->nwarned; i++)
        if (st->warned[i] == e)
            return;
    if (st->nwarned < sizeof st->warned / sizeof st->warned[0])
        st->warned[st->nwarned++] = e;
    const char *file = st->cur ? st->cur->name : "template";
    if (e->kind == E_NAME)
        cadre_log(CADRE_LOG_WARN, "%s:%d:%d: '%s' is not defined (renders as nothing; "
                                  "|default(...) says it may be missing)",
                  file, e->line, e->col, e->name);
    else
        cadre_log(CADRE_LOG_WARN, "%s:%d:%d: %s%s has no attribute '%s' (renders as nothing)",
                  file, e->line, e->col, e->a->kind == E_NAME ? e->a->name : "the value",
                  e->a->kind == E_NAME ? "" : " before it", e->name);
}

static cadre_tvalue eval(rstate *st, const texpr *e)
{
    switch (e->kind) {
    case E_LIT: return e->lit;
    case E_NAME: {
        cadre_tvalue v = lookup(st, e->name);
        if (v.kind == CADRE_TV_UNDEFINED)
            warn_undefined(st, e);
        return v;
    }
    case E_ATTR: {
        cadre_tvalue base = eval(st, e->a);
        cadre_tvalue v = attr(st, base, e->name);
        if (v.kind == CADRE_TV_UNDEFINED && base.kind != CADRE_TV_UNDEFINED &&
            base.kind != CADRE_TV_NONE)
            warn_undefined(st, e);
        return v;
    }
    case E_FILTER: {
        cadre_tvalue args[4];
        for (size_t i = 0; i < e->nargs; i++)
            args[i] = eval(st, e->args[i]);
        bool dflt = filters[e->op].fn == f_default;
        st->quiet += dflt;
        cadre_tvalue v = eval(st, e->a);
        st->quiet -= dflt;
        return filters[e->op].fn(st, v, args, e->nargs);
    }
    case E_INDEX: {
        cadre_tvalue a = eval(st, e->a), b = eval(st, e->b);
        if (b.kind == CADRE_TV_INT && is_seq(a)) {
            int64_t i = b.u.i < 0 ? b.u.i + (int64_t)seq_len(a) : b.u.i; /* a[-1]: the last */
            return i >= 0 && (size_t)i < seq_len(a) ? seq_item(st, a, (size_t)i) : undefined();
        }
        if (b.kind == CADRE_TV_STR || b.kind == CADRE_TV_SAFE) {
            char *key = cadre_arena_strndup(st->a, b.u.s.ptr, b.u.s.len);
            return key ? attr(st, a, key) : undefined();
        }
        return undefined();
    }
    case E_NOT: return CADRE_TBOOL(!truthy(eval(st, e->a)));
    case E_AND: {
        cadre_tvalue a = eval(st, e->a);
        return truthy(a) ? eval(st, e->b) : a;
    }
    case E_OR: {
        cadre_tvalue a = eval(st, e->a);
        return truthy(a) ? a : eval(st, e->b);
    }
    case E_CMP: {
        bool eq;
        int c = compare(st, eval(st, e->a), eval(st, e->b), &eq);
        switch (e->op) {
        case CMP_EQ: return CADRE_TBOOL(eq);
        case CMP_NE: return CADRE_TBOOL(!eq);
        case CMP_LT: return CADRE_TBOOL(c < 0);
        case CMP_LE: return CADRE_TBOOL(c < 0 || eq);
        case CMP_GT: return CADRE_TBOOL(c > 0);
        default: return CADRE_TBOOL(c > 0 || eq);
        }
    }
    case E_IN: {
        cadre_tvalue a = eval(st, e->a), b = eval(st, e->b);
        if (b.kind == CADRE_TV_STR || b.kind == CADRE_TV_SAFE) {
            cadre_slice needle = text_of(st, a);
            if (!needle.len)
                return CADRE_TBOOL(true);
            for (size_t i = 0; i + needle.len <= b.u.s.len; i++)
                if (memcmp(b.u.s.ptr + i, needle.ptr, needle.len) == 0)
                    return CADRE_TBOOL(true);
            return CADRE_TBOOL(false);
        }
        if (b.kind == CADRE_TV_MAP) {
            cadre_slice key = text_of(st, a);
            for (size_t i = 0; i < b.u.map.len; i++)
                if (cadre_slice_eq_cstr(key, b.u.map.vars[i].name))
                    return CADRE_TBOOL(true);
            return CADRE_TBOOL(false);
        }
        for (size_t i = 0; is_seq(b) && i < seq_len(b); i++) {
            bool eq;
            compare(st, a, seq_item(st, b, i), &eq);
            if (eq)
                return CADRE_TBOOL(true);
        }
        return CADRE_TBOOL(false);
    }
    case E_SUPER: {
        /* the output of the next definition of the current block up the chain, as markup */
        if (!st->block)
            return undefined();
        cadre_buf *saved = st->out, b;
        cadre_buf_init_arena(&b, st->a, (size_t)1 << 30);
        st->out = &b;
        render_block(st, st->block, st->level + 1);
        st->out = saved;
        return str_value(b.data ? b.data : "", b.len, true);
    }
    default: return undefined();
    }
}

static tnode *block_in(ttemplate *t, const char *name)
{
    for (size_t i = 0; i < t->nblocks; i++)
        if (strcmp(t->blocks[i]->var, name) == 0)
            return t->blocks[i];
    return NULL;
}

/* Renders the most derived definition of block name found from chain level `from` up. */
static void render_block(rstate *st, const char *name, size_t from)
{
    for (size_t lv = from; lv < st->nchain; lv++) {
        tnode *b = block_in(st->chain[lv], name);
        if (!b)
            continue;
        const char *saved_block = st->block;
        size_t saved_level = st->level;
        ttemplate *saved_cur = st->cur;
        size_t saved_n = st->nvars, saved_scope = st->scope;
        st->block = name, st->level = lv, st->cur = st->chain[lv];
        st->scope = st->nvars;
        render_list(st, &b->body);
        st->block = saved_block, st->level = saved_level, st->cur = saved_cur;
        st->nvars = saved_n, st->scope = saved_scope; /* a block's sets stay in it */
        return;
    }
}

static void render_template(rstate *st, ttemplate *t);

static void render_node(rstate *st, const tnode *n)
{
    if (++st->steps > MAX_STEPS) {
        if (st->rc == 0)
            cadre_log(CADRE_LOG_ERROR, "%s:%d: rendering stopped after %d steps (loops nested "
                                       "over large lists?)", st->cur ? st->cur->name : "template",
                      n->line, MAX_STEPS);
        st->rc = CADRE_ETOOBIG;
        return;
    }
    switch (n->kind) {
    case N_TEXT:
        emit(st, n->text.ptr, n->text.len);
        break;
    case N_OUT: {
        cadre_tvalue v = eval(st, n->expr);
        if (v.kind == CADRE_TV_FORM) { /* markup built from escaped parts */
            /* CSRF (auth): when the page has a csrf_token, the form carries it, as Django's
             * {% csrf_token %} does */
            cadre_tvalue tok = lookup(st, "csrf_token");
            if (tok.kind == CADRE_TV_STR || tok.kind == CADRE_TV_SAFE) {
                static const char pre[] = "<input type=\"hidden\" name=\"csrfmiddlewaretoken\" "
                                          "value=\"";
                emit(st, pre, sizeof pre - 1);
                cadre_buf b;
                cadre_buf_init_arena(&b, st->a, 6 * tok.u.s.len + 16);
                cadre_buf_append_html(&b, tok.u.s.ptr, tok.u.s.len);
                emit(st, b.data ? b.data : "", b.len);
                emit(st, "\">\n", 3);
            }
            cadre_slice h = cadre__form_html(st->a, v.u.other.ptr);
            emit(st, h.ptr, h.len);
            break;
        }
        cadre_slice t = text_of(st, v);
        if (v.kind == CADRE_TV_SAFE)
            emit(st, t.ptr, t.len);
        else
            emit_escaped(st, t.ptr, t.len);
        break;
    }
    case N_IF:
        for (size_t i = 0; i <= n->nconds; i++) {
            if (i == n->nconds || truthy(eval(st, n->conds[i]))) {
                render_list(st, &n->bodies[i]);
                break;
            }
        }
        break;
    case N_FOR: {
        cadre_tvalue seq = eval(st, n->expr);
        if (!is_seq(seq) && seq.kind != CADRE_TV_UNDEFINED && seq.kind != CADRE_TV_NONE) {
            char where[64];
            snprintf(where, sizeof where, "(line %d)", n->line);
            warn(st, "cannot loop over a value that is not a list", where);
        }
        size_t len = is_seq(seq) ? seq_len(seq) : 0;
        if (len == 0) {
            render_list(st, &n->empty);
            break;
        }
        if (st->nvars + 2 > MAX_VARS) {
            warn(st, "loops nested too deep:", n->var);
            break;
        }
        loop_state loop = { 0, len };
        size_t base = st->nvars;
        st->vars[base].name = "loop";
        st->vars[base].v = (cadre_tvalue){ .kind = CADRE_TV_LOOP, .u.other = { &loop, 0, 0 } };
        st->vars[base + 1].name = n->var;
        st->nvars = base + 2;
        size_t saved_scope = st->scope;
        for (size_t i = 0; i < len && st->rc == 0; i++) {
            loop.index = i;
            st->vars[base + 1].v = seq_item(st, seq, i);
            st->nvars = base + 2; /* what the last iteration set goes */
            st->scope = base + 2;
            render_list(st, &n->body);
        }
        st->nvars = base;
        st->scope = saved_scope;
        break;
    }
    case N_BLOCK:
        render_block(st, n->var, 0);
        break;
    case N_SET: {
        /* visible to what follows in the same block or loop body (Jinja's scoping) */
        cadre_tvalue v = eval(st, n->expr);
        for (size_t i = st->nvars; i-- > st->scope;)
            if (strcmp(st->vars[i].name, n->var) == 0) {
                st->vars[i].v = v;
                return;
            }
        if (st->nvars == MAX_VARS) {
            warn(st, "too many names set:", n->var);
            break;
        }
        st->vars[st->nvars].name = n->var;
        st->vars[st->nvars++].v = v;
        break;
    }
    case N_INCLUDE:
        render_template(st, n->inc); /* resolved when the set was linked */
        break;
    }
}

static void render_list(rstate *st, const tlist *l)
{
    for (size_t i = 0; i < l->len && st->rc == 0; i++)
        render_node(st, l->items[i]);
}

/* Renders t (its root, through its chain of parents), keeping the caller's block state. */
static void render_template(rstate *st, ttemplate *t)
{
    if (st->depth >= MAX_DEPTH) {
        warn(st, "templates included too deep at", t->name);
        return;
    }
    ttemplate *saved_chain[MAX_DEPTH];
    size_t saved_n = st->nchain, saved_level = st->level;
    const char *saved_block = st->block;
    ttemplate *saved_cur = st->cur;
    memcpy(saved_chain, st->chain, st->nchain * sizeof *st->chain);
    st->depth++;
    size_t saved_vars = st->nvars, saved_scope = st->scope;
    st->scope = st->nvars; /* an included template's sets stay in it */
    st->nchain = 0;
    for (ttemplate *x = t; x && st->nchain < MAX_DEPTH; x = x->parent_t)
        st->chain[st->nchain++] = x;
    ttemplate *root = st->chain[st->nchain - 1];
    st->block = NULL, st->level = 0, st->cur = root;
    render_list(st, &root->root);
    memcpy(st->chain, saved_chain, saved_n * sizeof *st->chain);
    st->nchain = saved_n, st->level = saved_level, st->block = saved_block, st->cur = saved_cur;
    st->nvars = saved_vars, st->scope = saved_scope;
    st->depth--;
}

int cadre__templates_render(cadre_templates *set, ttemplate *t, const cadre_tctx *ctx,
                            const cadre_tctx *extra, bool dev, cadre_buf *out)
{
    cadre_arena scratch;
    cadre_arena_init(&scratch, 4096);
    rstate st = { .set = set, .ctx = ctx, .extra = extra, .out = out, .a = &scratch, .dev = dev };
    render_template(&st, t);
    cadre_arena_free(&scratch);
    return st.rc;
}
