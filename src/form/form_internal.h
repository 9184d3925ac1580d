/* Private declarations of the form module. Never installed. */
#ifndef CADRE_FORM_INTERNAL_H
#define CADRE_FORM_INTERNAL_H

#include <cadre/form.h>

#include "base/base_internal.h"

/* The limits with every 0 member replaced by its default (lim NULL: all defaults). */
cadre_form_limits cadre__form_limits(const cadre_form_limits *lim);

/* True when s[0..n) is valid UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
bool cadre__utf8_valid(const char *s, size_t n);

#endif
