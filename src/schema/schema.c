/*
 * What the schema module's parts share: the descriptor of cadre_none and field look-up by name.
 * Validation errors are in errors.c, JSON decoding (and text decoding, defaults) in decode.c,
 * encoding in encode.c, JSON Schema in jsonschema.c, scalar text formats in formats.c.
 */
#include "schema_internal.h"

#include <string.h>

static const cadre_field none_fields[1];
const cadre_schema *cadre_none__schema(void)
{
    static const cadre_schema s = { "cadre_none", sizeof(cadre_none), none_fields, 0,
                                    offsetof(cadre_none, cadre_set_),
                                    offsetof(cadre_none, cadre_null_), false, false };
    return &s;
}

const cadre_field *cadre_schema_field(const cadre_schema *s, const char *name, size_t len)
{
    for (size_t i = 0; i < s->nfields; i++)
        if (strlen(s->fields[i].name) == len && memcmp(s->fields[i].name, name, len) == 0)
            return &s->fields[i];
    return NULL;
}

size_t cadre_field_size(const cadre_field *f)
{
    switch (f->type) {
    case CADRE_T_BOOL: return sizeof(bool);
    case CADRE_T_INT32: return sizeof(int32_t);
    case CADRE_T_INT64: return sizeof(int64_t);
    case CADRE_T_DOUBLE: return sizeof(double);
    case CADRE_T_STRING: return sizeof(cadre_slice);
    case CADRE_T_STRINGS: return sizeof(cadre_strings);
    case CADRE_T_INT64S: return sizeof(cadre_int64s);
    case CADRE_T_DOUBLES: return sizeof(cadre_doubles);
    case CADRE_T_OBJECT: return (f->sub_schema ? f->sub_schema : f->sub())->size;
    case CADRE_T_ARRAY: return sizeof(struct { void *items; size_t len; });
    case CADRE_T_ENUM: return sizeof(int);
    case CADRE_T_DATE: return sizeof(cadre_date);
    case CADRE_T_DATETIME: return sizeof(cadre_datetime);
    case CADRE_T_UUID: return sizeof(cadre_uuid);
    case CADRE_T_FILE: return sizeof(cadre_upload);
    case CADRE_T_FILES: return sizeof(cadre_uploads);
    }
    return 0;
}

void cadre_schema_overlay(const cadre_schema *s, void *dst, const void *src)
{
    uint64_t set = *(const uint64_t *)((const char *)src + s->set_offset);
    uint64_t null = *(const uint64_t *)((const char *)src + s->null_offset);
    uint64_t *dset = (uint64_t *)((char *)dst + s->set_offset);
    uint64_t *dnull = (uint64_t *)((char *)dst + s->null_offset);
    for (size_t i = 0; i < s->nfields; i++) {
        uint64_t bit = (uint64_t)1 << i;
        if (!(set & bit))
            continue;
        const cadre_field *f = &s->fields[i];
        memcpy((char *)dst + f->offset, (const char *)src + f->offset, cadre_field_size(f));
        *dset |= bit;
        *dnull = (*dnull & ~bit) | (null & bit);
    }
}

bool cadre_schema_has(const cadre_schema *s, const void *obj, const char *field)
{
    const cadre_field *f = cadre_schema_field(s, field, strlen(field));
    if (!f)
        return false;
    return (*(const uint64_t *)((const char *)obj + s->set_offset) >> (f - s->fields)) & 1;
}
