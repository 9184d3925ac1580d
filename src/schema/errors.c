/*
 * The validation error list (cadre_verrors): collecting errors, their JSON locations, and the
 * FastAPI 422 body that reports them.
 */
#include "schema_internal.h"

#include <string.h>

void cadre_verrors_init(cadre_verrors *e, cadre_arena *arena)
{
    e->items = NULL;
    e->len = e->cap = 0;
    e->arena = arena;
}

void cadre_verrors_add(cadre_verrors *e, const char *type, const char *loc, const char *msg,
                       cadre_slice input, const char *ctx)
{
    cadre_verror *v = CADRE_VEC_PUSH(e, e->arena, 0); /* never NULL: an arena's, no maximum */
    *v = (cadre_verror){ type, loc, msg, input, ctx };
}

const char *cadre_verror_loc(cadre_arena *arena, const char *root, cadre_slice key, int64_t index)
{
    size_t rlen = strlen(root);
    cadre_buf b;
    cadre_json_writer w;
    /* room for the worst case: every byte a \u00XX escape, 20 digits and a sign, the NUL */
    cadre_buf_init_arena(&b, arena, 6 * (rlen + key.len) + 64);
    cadre_json_writer_init(&w, &b);
    cadre_json_begin_array(&w);
    cadre_json_string(&w, root, rlen);
    if (key.ptr)
        cadre_json_string(&w, key.ptr, key.len);
    if (index >= 0)
        cadre_json_int(&w, index);
    cadre_json_end_array(&w);
    return cadre_buf_cstr(&b);
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
        cadre_json_raw(w, v->loc, strlen(v->loc));
        cadre_json_key(w, "msg", 3);
        cadre_json_string(w, v->msg, strlen(v->msg));
        cadre_json_key(w, "input", 5);
        if (v->input.ptr)
            cadre_json_raw(w, v->input.ptr, v->input.len);
        else
            cadre_json_null(w);
        if (v->ctx) {
            cadre_json_key(w, "ctx", 3);
            cadre_json_raw(w, v->ctx, strlen(v->ctx));
        }
        cadre_json_end_object(w);
    }
    cadre_json_end_array(w);
    cadre_json_end_object(w);
}
