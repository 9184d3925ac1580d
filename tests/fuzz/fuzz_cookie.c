/*
 * libFuzzer target for the Cookie header parser (cadre_cookie_next).
 *
 * Input: a Cookie header value. Invariants (abort on violation): every pair lies inside the
 * input, in order, never overlapping; a name is non-empty, holds no '=' or ';' and no space or
 * tab at its ends; a value holds no ';'; the parse ends within one step per ';' plus one; and the
 * pairs written back as "name=value; …" (those a server would write: the name a token, the value
 * cookie-octets) parse to the same pairs.
 */
#include <cadre.h>

#include "fuzz_check.h"

#include <stdint.h>
#include <string.h>

#define MAX_PAIRS 512

static bool token(cadre_slice s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c <= 0x20 || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", c))
            return false;
    }
    return s.len > 0;
}

static bool octets(cadre_slice s)
{
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\')
            return false;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cadre_slice header = { (const char *)data, size };
    cadre_slice names[MAX_PAIRS], values[MAX_PAIRS];
    size_t n = 0, pos = 0, semis = 0, steps = 0;
    for (size_t i = 0; i < size; i++)
        semis += data[i] == ';';
    const char *last_end = header.ptr;
    cadre_slice name, value;
    while (cadre_cookie_next(header, &pos, &name, &value)) {
        CHECK(++steps <= semis + 1);
        CHECK(pos <= size);
        CHECK(name.len > 0 && name.ptr >= last_end);
        CHECK(value.ptr >= name.ptr + name.len && value.ptr + value.len <= header.ptr + size);
        CHECK(!memchr(name.ptr, '=', name.len) && !memchr(name.ptr, ';', name.len));
        CHECK(!memchr(value.ptr, ';', value.len));
        CHECK(name.ptr[0] != ' ' && name.ptr[0] != '\t');
        CHECK(name.ptr[name.len - 1] != ' ' && name.ptr[name.len - 1] != '\t');
        last_end = value.ptr + value.len;
        if (token(name) && octets(value) && n < MAX_PAIRS) {
            names[n] = name;
            values[n] = value;
            n++;
        }
    }
    /* written back as a server would send them, they read the same */
    size_t cap = size * 2 + 8;
    char *out = malloc(cap);
    CHECK(out);
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (i) {
            memcpy(out + len, "; ", 2);
            len += 2;
        }
        memcpy(out + len, names[i].ptr, names[i].len);
        len += names[i].len;
        out[len++] = '=';
        memcpy(out + len, values[i].ptr, values[i].len);
        len += values[i].len;
        CHECK(len <= cap);
    }
    size_t k = 0;
    pos = 0;
    while (cadre_cookie_next((cadre_slice){ out, len }, &pos, &name, &value)) {
        CHECK(k < n);
        CHECK(cadre_slice_eq(name, names[k]) && cadre_slice_eq(value, values[k]));
        k++;
    }
    CHECK(k == n);
    free(out);
    return 0;
}
