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

int cadre_url_encode(cadre_buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '.' || c == '_' || c == '~';
        char esc[3] = { '%', hex[c >> 4], hex[c & 15] };
        int rc = plain ? cadre_buf_append(out, &s[i], 1) : cadre_buf_append(out, esc, 3);
        if (rc)
            return rc;
    }
    return 0;
}
