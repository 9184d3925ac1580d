/*
 * Request arena: bump allocation in chunks. Reset keeps the oldest chunk, so a request that fits
 * in one chunk costs no malloc at all after the first.
 */
#include <cadre/base.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cadre__arena_chunk {
    struct cadre__arena_chunk *next; /* older chunk */
    size_t size;                     /* usable bytes after the header */
    max_align_t align[];
};

#define ALIGN 16u
#define HDR (offsetof(struct cadre__arena_chunk, align))

void cadre_arena_init(cadre_arena *a, size_t chunk_size)
{
    a->chunks = NULL;
    a->cur = a->end = NULL;
    a->chunk_size = chunk_size ? chunk_size : 8192;
}

static void *new_chunk(cadre_arena *a, size_t size)
{
    size_t usable = size + ALIGN > a->chunk_size ? size + ALIGN : a->chunk_size;
    struct cadre__arena_chunk *c = malloc(HDR + usable);
    if (!c)
        cadre_panic("arena: out of memory allocating %zu bytes", size);
    c->size = usable;
    char *base = (char *)c + HDR;
    char *p = (char *)(((uintptr_t)base + (ALIGN - 1)) & ~(uintptr_t)(ALIGN - 1));
    if (size + ALIGN > a->chunk_size && a->chunks) {
        /* A big allocation gets its own chunk behind the current one, so the current chunk's
         * free space is not wasted. */
        c->next = a->chunks->next;
        a->chunks->next = c;
        return p;
    }
    c->next = a->chunks;
    a->chunks = c;
    a->cur = p + size;
    a->end = base + usable;
    return p;
}

void *cadre_arena_alloc(cadre_arena *a, size_t size)
{
    if (size == 0)
        size = 1;
    char *p = (char *)(((uintptr_t)a->cur + (ALIGN - 1)) & ~(uintptr_t)(ALIGN - 1));
    if (CADRE_LIKELY(a->cur && p <= a->end && size <= (size_t)(a->end - p))) {
        a->cur = p + size;
        return p;
    }
    return new_chunk(a, size);
}

void *cadre_arena_calloc(cadre_arena *a, size_t size)
{
    void *p = cadre_arena_alloc(a, size);
    memset(p, 0, size);
    return p;
}

char *cadre_arena_strndup(cadre_arena *a, const char *s, size_t n)
{
    char *p = cadre_arena_alloc(a, n + 1);
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *cadre_arena_printf(cadre_arena *a, const char *fmt, ...)
{
    cadre_buf b;
    va_list ap;
    cadre_buf_init_arena(&b, a, SIZE_MAX);
    va_start(ap, fmt);
    int rc = cadre_buf_vappendf(&b, fmt, ap);
    va_end(ap);
    if (rc == 0)
        rc = cadre_buf_append(&b, "", 1);
    if (rc)
        cadre_panic("arena: cannot format \"%s\": %s", fmt, cadre_strerror(rc));
    return b.data;
}

void cadre_arena_reset(cadre_arena *a)
{
    struct cadre__arena_chunk *c = a->chunks;
    if (!c)
        return;
    while (c->next) {
        struct cadre__arena_chunk *older = c->next;
        free(c);
        c = older;
    }
    a->chunks = c;
    char *base = (char *)c + HDR;
    a->cur = base;
    a->end = base + c->size;
}

void cadre_arena_free(cadre_arena *a)
{
    struct cadre__arena_chunk *c = a->chunks;
    while (c) {
        struct cadre__arena_chunk *older = c->next;
        free(c);
        c = older;
    }
    a->chunks = NULL;
    a->cur = a->end = NULL;
}
