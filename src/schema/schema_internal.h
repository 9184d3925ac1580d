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
size_t cadre__format_uuid(const cadre_uuid *u, char out[40]);

/* 1 when s (NUL-terminated) matches the POSIX extended regex, 0 when not, CADRE_EINVAL when the
 * pattern does not compile (logged once). */
int cadre__pattern_match(const char *pattern, const char *s);

#endif
