/*
 * Growable arrays (CADRE_VEC): one function that appends a zeroed element to any T * array,
 * given the address of the pointer, its count and capacity, and the size of T.
 */
#include <cadre/base.h>

#include <stdlib.h>
#include <string.h>

#define FIRST_CAP 8

void *cadre_vec_push(void *items_ptr, size_t *len, size_t *cap, size_t elem, cadre_arena *arena,
                     size_t max)
{
    char *items;
    memcpy(&items, items_ptr, sizeof items); /* the caller's T *, whatever T is */
    if (elem == 0 || (max && *len >= max))
        return NULL;
    if (*len >= *cap) {
        size_t ncap = !*cap ? FIRST_CAP : *cap <= SIZE_MAX / 2 ? *cap * 2 : SIZE_MAX;
        if (max && ncap > max)
            ncap = max;
        if (ncap <= *len || ncap > SIZE_MAX / elem) {
            if (arena) /* as the arena does when memory runs out */
                cadre_panic("a growable array of %zu-byte elements outgrows memory", elem);
            return NULL;
        }
        char *bigger;
        if (arena) {
            bigger = cadre_arena_alloc(arena, ncap * elem);
            if (*len)
                memcpy(bigger, items, *len * elem);
        } else {
            bigger = realloc(items, ncap * elem);
            if (!bigger)
                return NULL;
        }
        items = bigger;
        memcpy(items_ptr, &items, sizeof items);
        *cap = ncap;
    }
    char *slot = items + *len * elem;
    memset(slot, 0, elem);
    ++*len;
    return slot;
}

void cadre_vec_free(void *items_ptr, size_t *len, size_t *cap)
{
    char *items;
    memcpy(&items, items_ptr, sizeof items);
    free(items);
    items = NULL;
    memcpy(items_ptr, &items, sizeof items);
    *len = *cap = 0;
}
