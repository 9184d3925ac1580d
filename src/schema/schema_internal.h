/* Private helpers of the schema module. Never installed. */
#ifndef CADRE_SCHEMA_INTERNAL_H
#define CADRE_SCHEMA_INTERNAL_H

#include <cadre/schema.h>

/* 1 when s (NUL-terminated) matches the POSIX extended regex, 0 when not, CADRE_EINVAL when the
 * pattern does not compile (logged once). */
int cadre__pattern_match(const char *pattern, const char *s);

#endif
