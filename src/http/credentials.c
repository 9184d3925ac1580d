/*
 * The Authorization header's credentials (RFC 9110 section 11.4): an auth-scheme, then, after one
 * or more spaces, a token68 (what Bearer and Basic send). Strict: anything else is refused, so
 * that a value which could be read two ways is read no way.
 */
#include "http_internal.h"

#include <string.h>

/* token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static bool token68(cadre_slice s)
{
    size_t i = 0;
    for (; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'))
            break;
    }
    if (i == 0)
        return false;
    while (i < s.len && s.ptr[i] == '=')
        i++;
    return i == s.len;
}

bool cadre_http_credentials(cadre_slice value, cadre_slice *scheme, cadre_slice *token)
{
    *scheme = (cadre_slice){ NULL, 0 };
    *token = (cadre_slice){ NULL, 0 };
    const char *p = value.ptr, *end = value.ptr + value.len;
    if (!p)
        return false;
    while (p < end && (*p == ' ' || *p == '\t')) /* OWS around a field value */
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    const char *s = p;
    while (p < end && cadre__tchar((unsigned char)*p))
        p++;
    if (p == s)
        return false;
    cadre_slice sch = { s, (size_t)(p - s) };
    if (p < end) {
        if (*p != ' ') /* 1*SP, not a tab */
            return false;
        while (p < end && *p == ' ')
            p++;
        cadre_slice t = { p, (size_t)(end - p) };
        if (!token68(t))
            return false;
        *token = t;
    }
    *scheme = sch;
    return true;
}
