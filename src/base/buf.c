/* Bounded growable buffer. */
#include <cadre/base.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cadre_buf_init(cadre_buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
    b->arena = NULL;
}

void cadre_buf_init_arena(cadre_buf *b, cadre_arena *arena, size_t max)
{
    cadre_buf_init(b, max);
    b->arena = arena;
}

int cadre_buf_reserve(cadre_buf *b, size_t extra)
{
    if (extra > b->max - b->len)
        return CADRE_ETOOBIG;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > b->max)
        cap = b->max;
    char *p;
    if (b->arena) {
        p = cadre_arena_alloc(b->arena, cap);
        if (b->len)
            memcpy(p, b->data, b->len);
    } else {
        p = realloc(b->data, cap);
        if (!p)
            return CADRE_ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int cadre_buf_append(cadre_buf *b, const void *p, size_t n)
{
    int rc = cadre_buf_reserve(b, n);
    if (rc)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int cadre_buf_append_str(cadre_buf *b, const char *s)
{
    return cadre_buf_append(b, s, strlen(s));
}

int cadre_buf_vappendf(cadre_buf *b, const char *fmt, va_list ap)
{
    /* Format into a stack buffer first: one pass for the common short string. */
    char tmp[256];
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    int rc = 0;
    if (n < 0) {
        rc = CADRE_EINVAL;
    } else if ((size_t)n < sizeof tmp) {
        rc = cadre_buf_append(b, tmp, (size_t)n);
    } else if ((rc = cadre_buf_reserve(b, (size_t)n)) == 0) {
        /* vsnprintf writes a NUL after the text: format aside when that byte is past the cap. */
        char *dst = b->cap - b->len > (size_t)n ? b->data + b->len : malloc((size_t)n + 1);
        if (!dst) {
            rc = CADRE_ENOMEM;
        } else {
            vsnprintf(dst, (size_t)n + 1, fmt, again);
            if (dst != b->data + b->len) {
                memcpy(b->data + b->len, dst, (size_t)n);
                free(dst);
            }
            b->len += (size_t)n;
        }
    }
    va_end(again);
    return rc;
}

int cadre_buf_appendf(cadre_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = cadre_buf_vappendf(b, fmt, ap);
    va_end(ap);
    return rc;
}

const char *cadre_buf_cstr(cadre_buf *b)
{
    if (cadre_buf_reserve(b, 1) != 0)
        return NULL;
    b->data[b->len] = '\0';
    return b->data;
}

void cadre_buf_consume(cadre_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

void cadre_buf_reset(cadre_buf *b)
{
    b->len = 0;
}

void cadre_buf_free(cadre_buf *b)
{
    if (!b->arena)
        free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
