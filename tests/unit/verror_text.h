/* A validation error's location as JSON text, for tests that compare it with a literal. */
#ifndef CADRE_TESTS_VERROR_TEXT_H
#define CADRE_TESTS_VERROR_TEXT_H

#include <cadre.h>

/* v's loc as its JSON array (arena memory). */
static inline const char *loc_json(cadre_arena *a, const cadre_verror *v)
{
    cadre_buf b;
    cadre_json_writer w;
    cadre_buf_init_arena(&b, a, 4096);
    cadre_json_writer_init(&w, &b);
    cadre_verror_write_loc(v, &w);
    return cadre_buf_cstr(&b);
}

#endif
