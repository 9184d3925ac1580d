/* Private declarations of the app module. Never installed. */
#ifndef CADRE_APP_INTERNAL_H
#define CADRE_APP_INTERNAL_H

#include <cadre/app.h>

/* One segment of a route pattern: a literal ("items") or a parameter ("{id}"). */
struct cadre__seg {
    char *text; /* literal text, or the parameter name */
    size_t len;
    bool param;
};

struct cadre__route {
    char *method;
    char *pattern;
    struct cadre__seg *segs;
    size_t nsegs, nparams;
    cadre_handler handler;
    const char *file;
    int line;
};

struct cadre_app {
    char *name;
    struct cadre__route *routes;
    size_t nroutes, cap_routes;
    char **errors; /* configuration errors, "file:line: message" */
    size_t nerrors;
    cadre_server_config config;
};

void cadre__app_error(cadre_app *app, const char *file, int line, const char *fmt, ...)
    CADRE_PRINTF(4, 5);

#endif
