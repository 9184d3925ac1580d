/*
 * The validation error list (cadre_verrors): collecting errors with their locations (a list of
 * steps, JSON only when written), and the FastAPI 422 body that reports them.
 */
#include "schema_internal.h"

#include <stdio.h>
#include <string.h>

void cadre_verrors_init(cadre_verrors *e, cadre_arena *arena)
{
    e->items = NULL;
    e->len = e->cap = 0;
    e->arena = arena;
}

void cadre_verrors_add(cadre_verrors *e, const cadre_verror *v)
{
    cadre_verror *slot = CADRE_VEC_PUSH(e, e->arena, 0); /* never NULL: an arena's, no maximum */
    *slot = *v;
    if (v->nloc) {
        cadre_loc_seg *loc = cadre_arena_alloc(e->arena, v->nloc * sizeof *loc);
        memcpy(loc, v->loc, v->nloc * sizeof *loc);
        slot->loc = loc;
    }
}

cadre_verror *cadre_verrors_push(cadre_verrors *e, const char *type, const char *msg,
                                 const char *root, cadre_slice key, int64_t index)
{
    cadre_loc_seg *loc = cadre_arena_alloc(e->arena, 3 * sizeof *loc);
    size_t n = 0;
    loc[n++] = (cadre_loc_seg){ cadre_slice_cstr(root), 0 };
    if (key.ptr)
        loc[n++] = (cadre_loc_seg){ key, 0 };
    if (index >= 0)
        loc[n++] = (cadre_loc_seg){ { NULL, 0 }, index };
    cadre_verror *v = CADRE_VEC_PUSH(e, e->arena, 0);
    *v = (cadre_verror){ .type = type, .loc = loc, .nloc = n, .msg = msg };
    return v;
}

void cadre_verrors_add_field(cadre_verrors *e, const char *root, const char *field,
                             const char *type, const char *msg, cadre_slice input)
{
    cadre_verrors_push(e, type, msg, root, cadre_slice_cstr(field), -1)->input = input;
}

cadre_slice cadre_verror_field(const cadre_verror *v, const char *root)
{
    if (v->nloc < 2 || !v->loc[0].key.ptr || !cadre_slice_eq_cstr(v->loc[0].key, root) ||
        !v->loc[1].key.ptr)
        return (cadre_slice){ NULL, 0 };
    return v->loc[1].key;
}

const char *cadre_verror_path(const cadre_verror *v, cadre_arena *arena)
{
    cadre_buf b;
    cadre_buf_init_arena(&b, arena, 4096);
    for (size_t i = 0; i < v->nloc; i++) {
        const cadre_loc_seg *s = &v->loc[i];
        if (s->key.ptr) {
            if (i)
                cadre_buf_append(&b, ".", 1);
            cadre_buf_append(&b, s->key.ptr, s->key.len);
        } else {
            cadre_buf_appendf(&b, "[%lld]", (long long)s->index);
        }
    }
    const char *text = cadre_buf_cstr(&b);
    return text ? text : "";
}

void cadre_verror_write_loc(const cadre_verror *v, cadre_json_writer *w)
{
    cadre_json_begin_array(w);
    for (size_t i = 0; i < v->nloc; i++) {
        /* a name that came with the request (a parameter's, a form field's) goes through the
         * writer: escaped, invalid UTF-8 replaced, so it reads back as a string */
        if (v->loc[i].key.ptr)
            cadre_json_string(w, v->loc[i].key.ptr, v->loc[i].key.len);
        else
            cadre_json_int(w, v->loc[i].index);
    }
    cadre_json_end_array(w);
}

void cadre_verrors_write(const cadre_verrors *e, cadre_json_writer *w)
{
    cadre_json_begin_object(w);
    cadre_json_key(w, "detail", 6);
    cadre_json_begin_array(w);
    for (size_t i = 0; i < e->len; i++) {
        const cadre_verror *v = &e->items[i];
        cadre_json_begin_object(w);
        cadre_json_key(w, "type", 4);
        cadre_json_string(w, v->type, strlen(v->type));
        cadre_json_key(w, "loc", 3);
        cadre_verror_write_loc(v, w);
        cadre_json_key(w, "msg", 3);
        cadre_json_string(w, v->msg, strlen(v->msg));
        cadre_json_key(w, "input", 5);
        if (!v->input.ptr)
            cadre_json_null(w);
        else if (v->input_is_json)
            cadre_json_raw(w, v->input.ptr, v->input.len);
        else
            cadre_json_string(w, v->input.ptr, v->input.len);
        if (v->ctx) {
            cadre_json_key(w, "ctx", 3);
            cadre_json_raw(w, v->ctx, strlen(v->ctx));
        }
        cadre_json_end_object(w);
    }
    cadre_json_end_array(w);
    cadre_json_end_object(w);
}
