/* Private helpers of the schema module. Never installed. */
#ifndef CADRE_SCHEMA_INTERNAL_H
#define CADRE_SCHEMA_INTERNAL_H

#include <cadre/schema.h>

/* Parsers return NULL on success or a static reason in Pydantic's words. */
const char *cadre__parse_date(cadre_slice s, cadre_date *out);
const char *cadre__parse_datetime(cadre_slice s, cadre_datetime *out);
const char *cadre__parse_uuid(cadre_slice s, cadre_uuid *out);
size_t cadre__format_date(const cadre_date *d, char out[16]);
size_t cadre__format_datetime(const cadre_datetime *t, char out[48]);
/* The stored form of a datetime: its instant in UTC, always with six fractional digits and 'Z'
 * ("2026-12-04T16:08:26.000000Z"), so that the text order of stored values is their time order
 * (SQLite compares them as text). */
size_t cadre__format_datetime_utc(const cadre_datetime *t, char out[48]);
size_t cadre__format_uuid(const cadre_uuid *u, char out[40]);

/* 1 when s (NUL-terminated) matches the POSIX extended regex, 0 when not, CADRE_EINVAL when the
 * pattern does not compile (logged once). */
int cadre__pattern_match(const char *pattern, const char *s);

/* Decodes the scalar value t (a JSON token, or a string token for text) into field f of *out as
 * cadre_schema_decode_text does, reporting errors with input (JSON text) at [loc_root, f->name].
 * The form decoder uses it for what is neither JSON nor text: an uploaded file arriving for a
 * text field is an object token. Returns 0 or CADRE_EINVAL. */
int cadre__schema_decode_token(const cadre_field *f, const cadre_json_token *t, cadre_slice input,
                               void *out, cadre_arena *arena, const char *loc_root,
                               cadre_verrors *errs);

/* Checks f's CADRE_MIN_ITEMS / CADRE_MAX_ITEMS against n items and reports too_short / too_long
 * at where (the final loc text) with input (the list's JSON text). Returns true when within. */
bool cadre__schema_check_items(const cadre_field *f, size_t n, const char *where, cadre_slice input,
                               cadre_arena *arena, cadre_verrors *errs);

#endif
