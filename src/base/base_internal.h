/*
 * Transitional, never installed: everything base offered here is public now, in cadre/base.h.
 * What is left is the old private name that src/template still calls (its owner is changing that
 * module); once it calls cadre_buf_append_html and includes <cadre/base.h>, this file goes, and
 * so does the exception for it in scripts/check-layers.
 */
#ifndef CADRE_BASE_INTERNAL_H
#define CADRE_BASE_INTERNAL_H

#include <cadre/base.h>

#define cadre__html_escape cadre_buf_append_html

#endif
