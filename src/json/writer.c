/*
 * JSON writer: compact output into a bounded buffer. Strings are escaped minimally ('"', '\\',
 * control characters) and kept as UTF-8; invalid UTF-8 becomes U+FFFD so the output is always
 * valid JSON. Doubles are written in the shortest form that reads back to the same value.
 */
#include <cadre/json.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cadre_json_writer_init(cadre_json_writer *w, cadre_buf *out)
{
    w->out = out;
    w->depth = 0;
    w->first[0] = 1;
    w->after_key = false;
    w->error = 0;
}

int cadre_json_writer_error(const cadre_json_writer *w)
{
    return w->error;
}

static void emit(cadre_json_writer *w, const char *s, size_t n)
{
    if (w->error)
        return;
    int rc = cadre_buf_append(w->out, s, n);
    if (rc)
        w->error = rc;
}

/* Writes the comma a value needs before it (none after a key or first in its container). */
static void sep(cadre_json_writer *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    size_t d = w->depth;
    uint64_t bit = (uint64_t)1 << (d % 64);
    if (w->first[d / 64] & bit)
        w->first[d / 64] &= ~bit;
    else
        emit(w, ",", 1);
}

static void open_(cadre_json_writer *w, char c)
{
    if (w->depth >= CADRE_JSON_MAX_DEPTH) {
        if (!w->error)
            w->error = CADRE_EINVAL;
        return;
    }
    sep(w);
    emit(w, &c, 1);
    size_t d = ++w->depth;
    w->first[d / 64] |= (uint64_t)1 << (d % 64);
}

static void close_(cadre_json_writer *w, char c)
{
    if (w->depth == 0) {
        if (!w->error)
            w->error = CADRE_EINVAL;
        return;
    }
    w->depth--;
    emit(w, &c, 1);
}

void cadre_json_begin_object(cadre_json_writer *w)
{
    open_(w, '{');
}

void cadre_json_end_object(cadre_json_writer *w)
{
    close_(w, '}');
}

void cadre_json_begin_array(cadre_json_writer *w)
{
    open_(w, '[');
}

void cadre_json_end_array(cadre_json_writer *w)
{
    close_(w, ']');
}

static void quoted(cadre_json_writer *w, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    if (w->error)
        return;
    emit(w, "\"", 1);
    const unsigned char *p = (const unsigned char *)s, *end = p + len, *run = p;
    while (p < end) {
        unsigned char c = *p;
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            p++;
            continue;
        }
        if (c >= 0x80) {
            size_t n = cadre_utf8_seq_len(p, end);
            if (n) {
                p += n;
                continue;
            }
        }
        emit(w, (const char *)run, (size_t)(p - run));
        char esc[6];
        switch (c) {
        case '"': emit(w, "\\\"", 2); break;
        case '\\': emit(w, "\\\\", 2); break;
        case '\n': emit(w, "\\n", 2); break;
        case '\r': emit(w, "\\r", 2); break;
        case '\t': emit(w, "\\t", 2); break;
        case '\b': emit(w, "\\b", 2); break;
        case '\f': emit(w, "\\f", 2); break;
        default:
            if (c < 0x20) {
                memcpy(esc, "\\u00", 4);
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                emit(w, esc, 6);
            } else {
                emit(w, "\xEF\xBF\xBD", 3); /* invalid UTF-8: U+FFFD */
            }
        }
        run = ++p;
    }
    emit(w, (const char *)run, (size_t)(p - run));
    emit(w, "\"", 1);
}

void cadre_json_key(cadre_json_writer *w, const char *s, size_t len)
{
    sep(w);
    quoted(w, s, len);
    emit(w, ":", 1);
    w->after_key = true;
}

void cadre_json_string(cadre_json_writer *w, const char *s, size_t len)
{
    sep(w);
    quoted(w, s, len);
}

void cadre_json_int(cadre_json_writer *w, int64_t v)
{
    char tmp[CADRE_I64_TEXT];
    size_t n = cadre_i64_text(v, tmp);
    sep(w);
    emit(w, tmp, n);
}

void cadre_json_double(cadre_json_writer *w, double v)
{
    if (!isfinite(v)) {
        cadre_json_null(w);
        if (!w->error)
            w->error = CADRE_EINVAL;
        return;
    }
    char tmp[40];
    int n = 0;
    /* The fewest significant digits that read back exactly. Every double with a representation of
     * at most 15 digits prints as that representation at %.15g (trailing zeros are dropped), so
     * normal numbers start there; subnormals have less precision and start at 1. */
    for (int prec = fabs(v) < DBL_MIN && v != 0 ? 1 : 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        for (int i = 0; i < n; i++)
            if (tmp[i] == ',')
                tmp[i] = '.'; /* a process locale with a decimal comma */
        if (prec == 17 || cadre_strtod(tmp, NULL) == v)
            break;
    }
    /* Keep floats recognisable as floats, as Python and Pydantic do: 1.0, not 1. */
    if (!strpbrk(tmp, ".e")) {
        tmp[n++] = '.';
        tmp[n++] = '0';
        tmp[n] = '\0';
    }
    sep(w);
    emit(w, tmp, (size_t)n);
}

void cadre_json_bool(cadre_json_writer *w, bool v)
{
    sep(w);
    emit(w, v ? "true" : "false", v ? 4 : 5);
}

void cadre_json_null(cadre_json_writer *w)
{
    sep(w);
    emit(w, "null", 4);
}

void cadre_json_raw(cadre_json_writer *w, const char *text, size_t len)
{
    sep(w);
    emit(w, text, len);
}

int cadre_json_reserialize(cadre_json_reader *rd, cadre_json_writer *w)
{
    cadre_json_token t;
    for (;;) {
        if (cadre_json_next(rd, &t))
            return CADRE_EPARSE;
        switch (t.type) {
        case CADRE_JSON_NULL: cadre_json_null(w); break;
        case CADRE_JSON_FALSE: cadre_json_bool(w, false); break;
        case CADRE_JSON_TRUE: cadre_json_bool(w, true); break;
        case CADRE_JSON_NUMBER: cadre_json_raw(w, t.str.ptr, t.str.len); break;
        case CADRE_JSON_STRING: cadre_json_string(w, t.str.ptr, t.str.len); break;
        case CADRE_JSON_KEY: cadre_json_key(w, t.str.ptr, t.str.len); break;
        case CADRE_JSON_ARRAY: cadre_json_begin_array(w); break;
        case CADRE_JSON_ARRAY_END: cadre_json_end_array(w); break;
        case CADRE_JSON_OBJECT: cadre_json_begin_object(w); break;
        case CADRE_JSON_OBJECT_END: cadre_json_end_object(w); break;
        case CADRE_JSON_END: return w->error;
        default: return CADRE_EPARSE;
        }
    }
}
