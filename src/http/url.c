/* Percent-decoding (RFC 3986 2.1) for paths, query strings and forms. */
#include "http_internal.h"

long cadre_url_decode(char *dst, const char *src, size_t len, bool plus_space)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%') {
            if (len - i < 3)
                return CADRE_EPARSE;
            int hi = cadre_hexval((unsigned char)src[i + 1]);
            int lo = cadre_hexval((unsigned char)src[i + 2]);
            if (hi < 0 || lo < 0)
                return CADRE_EPARSE;
            dst[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus_space) {
            dst[o++] = ' ';
        } else {
            dst[o++] = c;
        }
    }
    return (long)o;
}
