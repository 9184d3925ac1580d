/* Private helpers shared by the JSON reader and writer. Never installed. */
#ifndef CADRE_JSON_INTERNAL_H
#define CADRE_JSON_INTERNAL_H

#include <cadre/json.h>

#include "base/base_internal.h" /* cadre__utf8_len */

/* strtod in the "C" locale, whatever the process locale is. s is NUL-terminated. */
double cadre__strtod_c(const char *s);
/* The same, reporting where parsing stopped. */
double cadre__strtod_c_end(const char *s, char **end);

#endif
