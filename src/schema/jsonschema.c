/*
 * JSON Schema (2020-12, the dialect of OpenAPI 3.1) of a schema and of its fields.
 */
#include "schema_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void key(cadre_json_writer *w, const char *k)
{
    cadre_json_key(w, k, strlen(k));
}

static void str(cadre_json_writer *w, const char *v)
{
    cadre_json_string(w, v, strlen(v));
}

static void num(cadre_json_writer *w, double x)
{
    if (x == floor(x) && fabs(x) < 9e15)
        cadre_json_int(w, (int64_t)x);
    else
        cadre_json_double(w, x);
}

/* The members of {"$ref":"#/components/schemas/NAME"} (or, inline, of the object's schema). */
static void write_object_members(const cadre_schema *s, cadre_json_writer *w, bool as_ref,
                                 bool ref_nested, bool partial);

static void write_object(const cadre_schema *sub, cadre_json_writer *w, bool ref_nested)
{
    cadre_json_begin_object(w);
    write_object_members(sub, w, ref_nested, ref_nested, false);
    cadre_json_end_object(w);
}

/* The members of the schema of a value of f's type, with its constraints (no title, default or
 * nullability): written into an object the caller has opened. */
static void write_base_members(const cadre_field *f, cadre_json_writer *w, bool ref_nested)
{
    switch (f->type) {
    case CADRE_T_OBJECT:
        write_object_members(cadre_field_sub(f), w, ref_nested, ref_nested, false);
        return;
    case CADRE_T_BOOL:
        key(w, "type"), str(w, "boolean");
        break;
    case CADRE_T_INT32:
    case CADRE_T_INT64:
        key(w, "type"), str(w, "integer");
        key(w, "format"), str(w, f->type == CADRE_T_INT32 ? "int32" : "int64");
        break;
    case CADRE_T_DOUBLE:
        key(w, "type"), str(w, "number");
        break;
    case CADRE_T_STRING:
        key(w, "type"), str(w, "string");
        if (f->has_min_len)
            key(w, "minLength"), cadre_json_int(w, (int64_t)f->min_len);
        if (f->has_max_len)
            key(w, "maxLength"), cadre_json_int(w, (int64_t)f->max_len);
        if (f->pattern)
            key(w, "pattern"), str(w, f->pattern);
        break;
    case CADRE_T_ENUM: {
        const cadre_enum *en = f->en();
        key(w, "type"), str(w, "string");
        key(w, "enum");
        cadre_json_begin_array(w);
        for (size_t i = 0; i < en->count; i++)
            str(w, en->values[i]);
        cadre_json_end_array(w);
        break;
    }
    case CADRE_T_DATE:
    case CADRE_T_DATETIME:
    case CADRE_T_UUID:
        key(w, "type"), str(w, "string");
        key(w, "format");
        str(w, f->type == CADRE_T_DATE ? "date" : f->type == CADRE_T_DATETIME ? "date-time" : "uuid");
        break;
    case CADRE_T_FILE: /* FastAPI's UploadFile */
        key(w, "type"), str(w, "string");
        key(w, "format"), str(w, "binary");
        break;
    default: /* arrays */
        key(w, "type"), str(w, "array");
        key(w, "items");
        if (f->type == CADRE_T_ARRAY) {
            write_object(cadre_field_sub(f), w, ref_nested);
        } else if (f->type == CADRE_T_FILES) {
            cadre_json_begin_object(w);
            key(w, "type"), str(w, "string");
            key(w, "format"), str(w, "binary");
            cadre_json_end_object(w);
        } else {
            cadre_json_begin_object(w);
            key(w, "type");
            str(w, f->type == CADRE_T_STRINGS  ? "string"
                   : f->type == CADRE_T_INT64S ? "integer"
                                               : "number");
            cadre_json_end_object(w);
        }
        if (f->has_min_items)
            key(w, "minItems"), cadre_json_int(w, (int64_t)f->min_items);
        if (f->has_max_items)
            key(w, "maxItems"), cadre_json_int(w, (int64_t)f->max_items);
        break;
    }
    if (f->has_gt)
        key(w, "exclusiveMinimum"), num(w, f->gt);
    if (f->has_ge)
        key(w, "minimum"), num(w, f->ge);
    if (f->has_lt)
        key(w, "exclusiveMaximum"), num(w, f->lt);
    if (f->has_le)
        key(w, "maximum"), num(w, f->le);
}

/* Pydantic's property title: "in_stock" -> "In Stock". */
static void write_title(const char *name, cadre_json_writer *w)
{
    char t[128];
    size_t n = 0;
    bool up = true;
    for (const char *p = name; *p && n < sizeof t - 1; p++) {
        char c = *p == '_' ? ' ' : *p;
        t[n++] = up && c >= 'a' && c <= 'z' ? (char)(c - 32) : c;
        up = c == ' ';
    }
    key(w, "title");
    cadre_json_string(w, t, n);
}

static void write_default(const cadre_field *f, cadre_json_writer *w)
{
    key(w, "default");
    switch (f->type) {
    case CADRE_T_BOOL: cadre_json_bool(w, f->def_i != 0); break;
    case CADRE_T_INT32:
    case CADRE_T_INT64: cadre_json_int(w, f->def_i); break;
    case CADRE_T_DOUBLE: cadre_json_double(w, f->def_d); break;
    case CADRE_T_STRING: str(w, f->def_s ? f->def_s : ""); break;
    case CADRE_T_ENUM: {
        const cadre_enum *en = f->en();
        if (f->def_i >= 0 && (size_t)f->def_i < en->count)
            str(w, en->values[f->def_i]);
        else
            cadre_json_null(w);
        break;
    }
    case CADRE_T_OBJECT:
        cadre_json_begin_object(w);
        cadre_json_end_object(w);
        break;
    case CADRE_T_FILE:
        cadre_json_null(w);
        break;
    default:
        cadre_json_begin_array(w);
        cadre_json_end_array(w);
        break;
    }
}

/* partial: the field of a partial update's body, where absent means unchanged, not the default */
static void field_schema(const cadre_field *f, cadre_json_writer *w, bool ref_nested, bool partial)
{
    cadre_json_begin_object(w);
    if (f->nullable) {
        key(w, "anyOf");
        cadre_json_begin_array(w);
        cadre_json_begin_object(w);
        write_base_members(f, w, ref_nested);
        cadre_json_end_object(w);
        cadre_json_begin_object(w);
        key(w, "type"), str(w, "null");
        cadre_json_end_object(w);
        cadre_json_end_array(w);
    } else {
        write_base_members(f, w, ref_nested);
    }
    /* an object written inline already carries its own title */
    if (f->nullable || f->type != CADRE_T_OBJECT || ref_nested)
        write_title(f->name, w);
    if (f->primary_key || f->auto_now_add || f->auto_now)
        key(w, "readOnly"), cadre_json_bool(w, true);
    if (f->write_only)
        key(w, "writeOnly"), cadre_json_bool(w, true);
    if (f->has_default && !partial)
        write_default(f, w);
    if (f->description)
        key(w, "description"), str(w, f->description);
    cadre_json_end_object(w);
}

void cadre_schema_write_field_schema(const cadre_field *f, cadre_json_writer *w, bool ref_nested)
{
    field_schema(f, w, ref_nested, false);
}

static void write_object_members(const cadre_schema *s, cadre_json_writer *w, bool as_ref,
                                 bool ref_nested, bool partial)
{
    if (as_ref) {
        char ref[256];
        int n = snprintf(ref, sizeof ref, "#/components/schemas/%s", s->name);
        key(w, "$ref");
        cadre_json_string(w, ref, (size_t)n < sizeof ref ? (size_t)n : sizeof ref - 1);
        return;
    }
    key(w, "type"), str(w, "object");
    key(w, "title");
    if (partial) {
        char t[160];
        int n = snprintf(t, sizeof t, "Patched%s", s->name);
        cadre_json_string(w, t, (size_t)n < sizeof t ? (size_t)n : sizeof t - 1);
    } else {
        str(w, s->name);
    }
    key(w, "properties");
    cadre_json_begin_object(w);
    for (size_t i = 0; i < s->nfields; i++) {
        key(w, s->fields[i].name);
        field_schema(&s->fields[i], w, ref_nested, partial);
    }
    cadre_json_end_object(w);
    bool any = false;
    for (size_t i = 0; i < s->nfields && !partial; i++) {
        const cadre_field *f = &s->fields[i];
        if (!cadre_field_required(f))
            continue;
        if (!any) {
            key(w, "required");
            cadre_json_begin_array(w);
            any = true;
        }
        str(w, f->name);
    }
    if (any)
        cadre_json_end_array(w);
    if (s->forbid_extra)
        key(w, "additionalProperties"), cadre_json_bool(w, false);
}

void cadre_schema_write_json_schema(const cadre_schema *s, cadre_json_writer *w, bool ref_nested)
{
    /* The top level is always written out; ref_nested decides for the types inside it. */
    cadre_json_begin_object(w);
    write_object_members(s, w, false, ref_nested, false);
    cadre_json_end_object(w);
}

void cadre_schema_write_json_schema_patched(const cadre_schema *s, cadre_json_writer *w,
                                            bool ref_nested)
{
    cadre_json_begin_object(w);
    write_object_members(s, w, false, ref_nested, true);
    cadre_json_end_object(w);
}
