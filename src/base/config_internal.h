/* The configuration file's reader, apart from the file (config.c): what the fuzz target runs. */
#ifndef CADRE_BASE_CONFIG_INTERNAL_H
#define CADRE_BASE_CONFIG_INTERNAL_H

#include <cadre/base.h>

/*
 * Reads NAME=value lines from text (len bytes, any bytes): blank lines and # comments skipped,
 * "export " before the name and quotes around the value allowed, NAME being CADRE_... or PORT.
 * Calls set(name, value, ctx) for each setting, in order (both NUL-terminated, valid during the
 * call only); logs "PATH:LINE: ..." for each line it refuses. Returns how many it refused.
 */
int cadre__config_parse(const char *text, size_t len, const char *path,
                        void (*set)(const char *name, const char *value, void *ctx), void *ctx);

#endif
