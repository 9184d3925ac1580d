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

bool cadre_schema_has(const cadre_schema *s, const void *obj, const char *field)
{
    const cadre_field *f = cadre_schema_field(s, field, strlen(field));
    if (!f)
        return false;
    return (*(const uint64_t *)((const char *)obj + s->set_offset) >> (f - s->fields)) & 1;
}
