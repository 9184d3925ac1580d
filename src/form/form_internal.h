/* Private declarations of the form module. Never installed. */
#ifndef CADRE_FORM_INTERNAL_H
#define CADRE_FORM_INTERNAL_H

#include <cadre/form.h>

/* The limits with every 0 member replaced by its default (lim NULL: all defaults). */
cadre_form_limits cadre__form_limits(const cadre_form_limits *lim);

#endif
