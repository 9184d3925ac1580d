/* Private helpers of the schema module. Never installed. */
#ifndef CADRE_SCHEMA_INTERNAL_H
#define CADRE_SCHEMA_INTERNAL_H

#include <cadre/schema.h>

/* 1 when s (NUL-terminated) matches the POSIX extended regex, 0 when not, CADRE_EINVAL when the
 * pattern does not compile (logged once). */
int cadre__pattern_match(const char *pattern, const char *s);

/* Transitional: the old private names of the text forms, which src/template still calls (its
 * owner is changing that module). Once it calls the public ones (cadre/schema.h) and stops
 * including this header, these go, and so does the exception in scripts/check-layers. No other
 * module may include this file. */
#define cadre__format_date cadre_date_format
#define cadre__format_datetime cadre_datetime_format
#define cadre__format_uuid cadre_uuid_format

#endif
