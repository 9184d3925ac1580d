/*
 * Strict RFC 8259 reader: a pull tokenizer over a buffer. Strings without escapes are returned as
 * slices of the input; with escapes they are decoded into the arena. UTF-8 is validated as the
 * bytes go by (no overlong forms, no encoded surrogates, nothing past U+10FFFF).
 */
#include <cadre/json.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
    S_VALUE,        /* a value must come */
    S_ARRAY_FIRST,  /* after '[': a value or ']' */
    S_OBJECT_FIRST, /* after '{': a key or '}' */
    S_KEY,          /* after ',' in an object: a key */
    S_COLON,        /* after a key */
    S_AFTER,        /* after a value: ',' or the end of the container, or the end of input */
    S_DONE,
    S_ERROR,
};

void cadre_json_reader_init(cadre_json_reader *rd, const char *data, size_t len, cadre_arena *arena,
                            size_t max_depth)
{
    rd->start = rd->p = data;
    rd->end = data + len;
    rd->arena = arena;
    rd->depth = 0;
    rd->max_depth = max_depth == 0 ? CADRE_JSON_DEFAULT_DEPTH
                    : max_depth > CADRE_JSON_MAX_DEPTH ? CADRE_JSON_MAX_DEPTH
                                                       : max_depth;
    rd->state = S_VALUE;
    rd->error = NULL;
    rd->error_offset = 0;
}

const char *cadre_json_error(const cadre_json_reader *rd, size_t *offset)
{
    if (offset)
        *offset = rd->error_offset;
    return rd->error;
}

static int fail(cadre_json_reader *rd, const char *at, const char *why)
{
    rd->state = S_ERROR;
    rd->error = why;
    rd->error_offset = (size_t)(at - rd->start);
    return CADRE_EPARSE;
}

static bool in_object(const cadre_json_reader *rd)
{
    size_t d = rd->depth - 1;
    return (rd->stack[d / 64] >> (d % 64)) & 1;
}

static int push(cadre_json_reader *rd, bool object)
{
    if (rd->depth >= rd->max_depth)
        return fail(rd, rd->p, "nesting too deep");
    size_t d = rd->depth++;
    uint64_t bit = (uint64_t)1 << (d % 64);
    if (object)
        rd->stack[d / 64] |= bit;
    else
        rd->stack[d / 64] &= ~bit;
    return 0;
}


static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = (unsigned char)p[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (c | 0x20) - 'a' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static char *put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | cp >> 6);
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | cp >> 12);
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | cp >> 18);
        *o++ = (char)(0x80 | (cp >> 12 & 0x3F));
        *o++ = (char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/*
 * Reads an escape at p (p[0] == '\\'), writing the decoded bytes at *o when o is not NULL.
 * Returns the escape's length or 0 (error set).
 */
static size_t escape(cadre_json_reader *rd, const char *p, char **o)
{
    if (rd->end - p < 2)
        return fail(rd, p, "unterminated string"), 0;
    char c = p[1];
    char simple;
    switch (c) {
    case '"': simple = '"'; break;
    case '\\': simple = '\\'; break;
    case '/': simple = '/'; break;
    case 'b': simple = '\b'; break;
    case 'f': simple = '\f'; break;
    case 'n': simple = '\n'; break;
    case 'r': simple = '\r'; break;
    case 't': simple = '\t'; break;
    case 'u': {
        unsigned cp, lo;
        if (rd->end - p < 6 || hex4(p + 2, &cp) != 0)
            return fail(rd, p, "invalid \\u escape"), 0;
        size_t n = 6;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return fail(rd, p, "lone low surrogate in \\u escape"), 0;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (rd->end - p < 12 || p[6] != '\\' || p[7] != 'u' || hex4(p + 8, &lo) != 0 ||
                lo < 0xDC00 || lo > 0xDFFF)
                return fail(rd, p, "lone high surrogate in \\u escape"), 0;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            n = 12;
        }
        if (o)
            *o = put_utf8(*o, cp);
        return n;
    }
    default:
        return fail(rd, p, "invalid escape in string"), 0;
    }
    if (o)
        *(*o)++ = simple;
    return 2;
}

/* Reads the string at rd->p (on its opening quote) into tok->str. */
static int read_string(cadre_json_reader *rd, cadre_json_token *tok)
{
    const char *s = rd->p + 1, *p = s, *end = rd->end;
    bool escaped = false;
    for (;;) {
        if (p == end)
            return fail(rd, rd->p, "unterminated string");
        unsigned char c = (unsigned char)*p;
        if (c == '"')
            break;
        if (c == '\\') {
            size_t n = escape(rd, p, NULL);
            if (!n)
                return CADRE_EPARSE;
            p += n;
            escaped = true;
        } else if (c < 0x20) {
            return fail(rd, p, "control character in string (must be escaped)");
        } else if (c < 0x80) {
            p++;
        } else {
            size_t n = cadre_utf8_seq_len((const unsigned char *)p, (const unsigned char *)end);
            if (!n)
                return fail(rd, p, "invalid UTF-8 in string");
            p += n;
        }
    }
    if (!escaped) {
        tok->str = (cadre_slice){ s, (size_t)(p - s) };
    } else {
        /* Decoded text is never longer than its escaped form. */
        char *buf = cadre_arena_alloc(rd->arena, (size_t)(p - s) + 1), *o = buf;
        for (const char *q = s; q < p;) {
            if (*q == '\\') {
                q += escape(rd, q, &o);
            } else {
                *o++ = *q++;
            }
        }
        *o = '\0';
        tok->str = (cadre_slice){ buf, (size_t)(o - buf) };
    }
    rd->p = p + 1;
    return 0;
}

static int read_number(cadre_json_reader *rd, cadre_json_token *tok)
{
    const char *s = rd->p, *p = s, *end = rd->end;
    bool neg = false, integral = true;
    if (*p == '-') {
        neg = true;
        p++;
    }
    if (p == end || *p < '0' || *p > '9')
        return fail(rd, s, "invalid number");
    if (*p == '0') {
        p++;
        if (p < end && *p >= '0' && *p <= '9')
            return fail(rd, s, "leading zeros are not allowed in numbers");
    } else {
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    size_t int_digits = (size_t)(p - s) - neg;
    if (p < end && *p == '.') {
        integral = false;
        p++;
        if (p == end || *p < '0' || *p > '9')
            return fail(rd, s, "a digit must follow the decimal point");
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        integral = false;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p == end || *p < '0' || *p > '9')
            return fail(rd, s, "a digit must follow the exponent");
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    tok->str = (cadre_slice){ s, (size_t)(p - s) };
    tok->is_int = false;
    if (integral && int_digits <= 19) {
        /* exact int64 when it fits (accumulated negatively so that INT64_MIN fits) */
        int64_t v = 0;
        bool ok = true;
        for (const char *q = s + neg; q < p; q++) {
            int d = *q - '0';
            if (v < (INT64_MIN + d) / 10) {
                ok = false;
                break;
            }
            v = v * 10 - d;
        }
        if (ok && (neg || v != INT64_MIN)) {
            tok->is_int = true;
            tok->i = neg ? v : -v;
            tok->d = neg && v == 0 ? -0.0 : (double)tok->i; /* "-0" is the double -0.0 */
        }
    }
    if (!tok->is_int) {
        char tmp[64];
        size_t n = (size_t)(p - s);
        char *text = n < sizeof tmp ? tmp : cadre_arena_alloc(rd->arena, n + 1);
        memcpy(text, s, n);
        text[n] = '\0';
        errno = 0;
        tok->d = cadre_strtod(text, NULL);
        if (errno == ERANGE && isinf(tok->d))
            return fail(rd, s, "number out of range");
    }
    rd->p = p;
    return 0;
}

static int literal(cadre_json_reader *rd, const char *word, size_t n)
{
    if ((size_t)(rd->end - rd->p) < n || memcmp(rd->p, word, n) != 0)
        return fail(rd, rd->p, "invalid literal (expected true, false or null)");
    rd->p += n;
    return 0;
}

int cadre_json_next(cadre_json_reader *rd, cadre_json_token *tok)
{
    const char *end = rd->end;
    tok->type = CADRE_JSON_NONE;
    for (;;) {
        while (rd->p < end && (*rd->p == ' ' || *rd->p == '\n' || *rd->p == '\r' || *rd->p == '\t'))
            rd->p++;
        tok->offset = (size_t)(rd->p - rd->start);
        switch (rd->state) {
        case S_ERROR:
            return CADRE_EPARSE;
        case S_DONE:
            tok->type = CADRE_JSON_END;
            return 0;
        case S_AFTER:
            if (rd->depth == 0) {
                if (rd->p != end)
                    return fail(rd, rd->p, "unexpected data after the JSON value");
                rd->state = S_DONE;
                tok->type = CADRE_JSON_END;
                return 0;
            }
            if (rd->p == end)
                return fail(rd, rd->p, "unexpected end of input");
            if (*rd->p == ',') {
                rd->p++;
                rd->state = in_object(rd) ? S_KEY : S_VALUE;
                continue;
            }
            if (*rd->p == (in_object(rd) ? '}' : ']')) {
                tok->type = in_object(rd) ? CADRE_JSON_OBJECT_END : CADRE_JSON_ARRAY_END;
                rd->p++;
                rd->depth--;
                return 0;
            }
            return fail(rd, rd->p, in_object(rd) ? "expected ',' or '}'" : "expected ',' or ']'");
        case S_COLON:
            if (rd->p == end || *rd->p != ':')
                return fail(rd, rd->p, "expected ':' after an object key");
            rd->p++;
            rd->state = S_VALUE;
            continue;
        case S_OBJECT_FIRST:
        case S_KEY:
            if (rd->p < end && *rd->p == '}' && rd->state == S_OBJECT_FIRST) {
                rd->p++;
                rd->depth--;
                rd->state = S_AFTER;
                tok->type = CADRE_JSON_OBJECT_END;
                return 0;
            }
            if (rd->p == end || *rd->p != '"')
                return fail(rd, rd->p, rd->state == S_KEY ? "expected a string key"
                                                          : "expected a string key or '}'");
            if (read_string(rd, tok))
                return CADRE_EPARSE;
            tok->type = CADRE_JSON_KEY;
            rd->state = S_COLON;
            return 0;
        case S_ARRAY_FIRST:
            if (rd->p < end && *rd->p == ']') {
                rd->p++;
                rd->depth--;
                rd->state = S_AFTER;
                tok->type = CADRE_JSON_ARRAY_END;
                return 0;
            }
            /* fall through */
        default: /* S_VALUE */
            if (rd->p == end)
                return fail(rd, rd->p, rd->p == rd->start ? "empty input" : "unexpected end of input");
            switch (*rd->p) {
            case '{':
                if (push(rd, true))
                    return CADRE_EPARSE;
                rd->p++;
                rd->state = S_OBJECT_FIRST;
                tok->type = CADRE_JSON_OBJECT;
                return 0;
            case '[':
                if (push(rd, false))
                    return CADRE_EPARSE;
                rd->p++;
                rd->state = S_ARRAY_FIRST;
                tok->type = CADRE_JSON_ARRAY;
                return 0;
            case '"':
                if (read_string(rd, tok))
                    return CADRE_EPARSE;
                tok->type = CADRE_JSON_STRING;
                break;
            case 't':
                if (literal(rd, "true", 4))
                    return CADRE_EPARSE;
                tok->type = CADRE_JSON_TRUE;
                break;
            case 'f':
                if (literal(rd, "false", 5))
                    return CADRE_EPARSE;
                tok->type = CADRE_JSON_FALSE;
                break;
            case 'n':
                if (literal(rd, "null", 4))
                    return CADRE_EPARSE;
                tok->type = CADRE_JSON_NULL;
                break;
            default:
                if (*rd->p == '-' || (*rd->p >= '0' && *rd->p <= '9')) {
                    if (read_number(rd, tok))
                        return CADRE_EPARSE;
                    tok->type = CADRE_JSON_NUMBER;
                    break;
                }
                return fail(rd, rd->p, "unexpected character (expected a JSON value)");
            }
            rd->state = S_AFTER;
            return 0;
        }
    }
}

int cadre_json_skip(cadre_json_reader *rd, const cadre_json_token *tok)
{
    if (tok->type != CADRE_JSON_ARRAY && tok->type != CADRE_JSON_OBJECT)
        return 0;
    size_t target = rd->depth - 1;
    cadre_json_token t;
    while (rd->depth > target) {
        if (cadre_json_next(rd, &t))
            return CADRE_EPARSE;
    }
    return 0;
}

int cadre_json_validate(const char *data, size_t len, size_t max_depth, const char **reason,
                        size_t *offset)
{
    cadre_arena arena;
    cadre_arena_init(&arena, 1024);
    cadre_json_reader rd;
    cadre_json_token tok;
    cadre_json_reader_init(&rd, data, len, &arena, max_depth);
    int rc;
    do {
        rc = cadre_json_next(&rd, &tok);
        cadre_arena_reset(&arena); /* strings are not kept */
    } while (rc == 0 && tok.type != CADRE_JSON_END);
    if (rc && reason)
        *reason = cadre_json_error(&rd, offset);
    cadre_arena_free(&arena);
    return rc;
}
