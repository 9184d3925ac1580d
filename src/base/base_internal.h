/* Private helpers of the base module. Never installed. */
#ifndef CADRE_BASE_INTERNAL_H
#define CADRE_BASE_INTERNAL_H

#include <cadre/base.h>

/* Length of the valid UTF-8 sequence starting at p (p[0] >= 0x80), or 0 when it is invalid or
 * truncated: no overlong forms, no UTF-16 surrogates, nothing past U+10FFFF. */
size_t cadre__utf8_len(const unsigned char *p, const unsigned char *end);

/*
 * Escapes n bytes of s as the inside of a JSON string (quotes, backslash, control characters; a
 * byte that does not start a valid UTF-8 sequence becomes \ufffd, so the result is always valid
 * JSON text). dst must have room for 6 * n bytes. Returns the length written. Used for error
 * details and JSON log records; the full codec is cadre/json.h.
 */
size_t cadre__json_escape(char *dst, const char *s, size_t n);

/* Appends s[0..n) HTML-escaped (& < > " ' as &amp; &lt; &gt; &#34; &#39;: safe in text and in
 * quoted attribute values). Returns 0 or the buffer's error. */
int cadre__html_escape(cadre_buf *b, const char *s, size_t n);

/* The value of a hex digit, or -1 (percent-decoding in URLs, forms, chunk sizes). */
static inline int cadre__hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

#endif
