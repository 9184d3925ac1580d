/* Private helpers of the base module. Never installed. */
#ifndef CADRE_BASE_INTERNAL_H
#define CADRE_BASE_INTERNAL_H

#include <cadre/base.h>

/*
 * Escapes n bytes of s as the inside of a JSON string (quotes, backslash, control characters;
 * other bytes are copied as they are). dst must have room for 6 * n bytes. Returns the length
 * written. Used for error details and JSON log records; the full codec is cadre/json.h.
 */
size_t cadre__json_escape(char *dst, const char *s, size_t n);

#endif
