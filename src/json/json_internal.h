/* Private helpers shared by the JSON reader and writer. Never installed. */
#ifndef CADRE_JSON_INTERNAL_H
#define CADRE_JSON_INTERNAL_H

#include <cadre/json.h>

/* Length of the valid UTF-8 sequence starting at p (p[0] >= 0x80), or 0 when it is invalid or
 * truncated: no overlong forms, no UTF-16 surrogates, nothing past U+10FFFF. */
size_t cadre__utf8_len(const unsigned char *p, const unsigned char *end);

/* strtod in the "C" locale, whatever the process locale is. s is NUL-terminated. */
double cadre__strtod_c(const char *s);
/* The same, reporting where parsing stopped. */
double cadre__strtod_c_end(const char *s, char **end);

#endif
