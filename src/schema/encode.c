/*
 * Encoding: a struct described by its schema, written as JSON.
 */
#include "schema_internal.h"

#include <string.h>

static void encode_value(const cadre_field *f, const void *p, cadre_json_writer *w)
{
    switch (f->type) {
    case CADRE_T_BOOL: cadre_json_bool(w, *(const bool *)p); break;
    case CADRE_T_INT32: cadre_json_int(w, *(const int32_t *)p); break;
    case CADRE_T_INT64: cadre_json_int(w, *(const int64_t *)p); break;
    case CADRE_T_DOUBLE: cadre_json_double(w, *(const double *)p); break;
    case CADRE_T_STRING: {
        const cadre_slice *s = p;
        cadre_json_string(w, s->ptr ? s->ptr : "", s->ptr ? s->len : 0);
        break;
    }
    case CADRE_T_STRINGS: {
        const cadre_strings *a = p;
        cadre_json_begin_array(w);
        for (size_t i = 0; i < a->len; i++)
            cadre_json_string(w, a->items[i].ptr ? a->items[i].ptr : "", a->items[i].len);
        cadre_json_end_array(w);
        break;
    }
    case CADRE_T_INT64S: {
        const cadre_int64s *a = p;
        cadre_json_begin_array(w);
        for (size_t i = 0; i < a->len; i++)
            cadre_json_int(w, a->items[i]);
        cadre_json_end_array(w);
        break;
    }
    case CADRE_T_DOUBLES: {
        const cadre_doubles *a = p;
        cadre_json_begin_array(w);
        for (size_t i = 0; i < a->len; i++)
            cadre_json_double(w, a->items[i]);
        cadre_json_end_array(w);
        break;
    }
    case CADRE_T_OBJECT:
        cadre_schema_encode_json(cadre_field_sub(f), p, w);
        break;
    case CADRE_T_ENUM: {
        const cadre_enum *en = f->en();
        int v = *(const int *)p;
        if (v >= 0 && (size_t)v < en->count)
            cadre_json_string(w, en->values[v], strlen(en->values[v]));
        else
            cadre_json_null(w);
        break;
    }
    case CADRE_T_DATE: {
        char buf[CADRE_DATE_TEXT];
        cadre_json_string(w, buf, cadre_date_format(p, buf));
        break;
    }
    case CADRE_T_DATETIME: {
        char buf[CADRE_DATETIME_TEXT];
        cadre_json_string(w, buf, cadre_datetime_format(p, buf));
        break;
    }
    case CADRE_T_UUID: {
        char buf[CADRE_UUID_TEXT];
        cadre_json_string(w, buf, cadre_uuid_format(p, buf));
        break;
    }
    case CADRE_T_FILE: {
        /* an upload encodes as its name: its bytes are on disk, its path is private */
        const cadre_upload *u = p;
        if (u->filename)
            cadre_json_string(w, u->filename, strlen(u->filename));
        else
            cadre_json_null(w);
        break;
    }
    case CADRE_T_FILES: {
        const cadre_uploads *a = p;
        cadre_json_begin_array(w);
        for (size_t i = 0; i < a->len; i++)
            cadre_json_string(w, a->items[i].filename ? a->items[i].filename : "",
                              a->items[i].filename ? strlen(a->items[i].filename) : 0);
        cadre_json_end_array(w);
        break;
    }
    case CADRE_T_ARRAY: {
        const struct {
            const char *items;
            size_t len;
        } *a = p;
        const cadre_schema *sub = cadre_field_sub(f);
        cadre_json_begin_array(w);
        for (size_t i = 0; i < a->len; i++)
            cadre_schema_encode_json(sub, a->items + i * f->elem_size, w);
        cadre_json_end_array(w);
        break;
    }
    }
}

void cadre_schema_encode_field(const cadre_field *f, const void *obj, cadre_json_writer *w)
{
    encode_value(f, (const char *)obj + f->offset, w);
}

void cadre_schema_encode_json(const cadre_schema *s, const void *in, cadre_json_writer *w)
{
    uint64_t set = *(const uint64_t *)((const char *)in + s->set_offset);
    uint64_t nulls = *(const uint64_t *)((const char *)in + s->null_offset);
    cadre_json_begin_object(w);
    for (size_t i = 0; i < s->nfields; i++) {
        const cadre_field *f = &s->fields[i];
        if ((f->optional && !f->has_default && !((set >> i) & 1)) || f->write_only)
            continue;
        cadre_json_key(w, f->name, strlen(f->name));
        if (f->nullable && ((nulls >> i) & 1))
            cadre_json_null(w);
        else
            encode_value(f, (const char *)in + f->offset, w);
    }
    cadre_json_end_object(w);
}
