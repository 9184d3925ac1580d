/* Error codes and fatal errors. */
#include <cadre/base.h>

#include <stdio.h>
#include <stdlib.h>

const char *cadre_strerror(int err)
{
    switch (err) {
    case CADRE_OK: return "success";
#define CADRE__ERRNO_MSG(name, code, msg) case CADRE_E##name: return msg;
        CADRE_ERRNO_MAP(CADRE__ERRNO_MSG)
#undef CADRE__ERRNO_MSG
    default: return "unknown error";
    }
}

const char *cadre_errname(int err)
{
    switch (err) {
    case CADRE_OK: return "CADRE_OK";
#define CADRE__ERRNO_NAME(name, code, msg) case CADRE_E##name: return "CADRE_E" #name;
        CADRE_ERRNO_MAP(CADRE__ERRNO_NAME)
#undef CADRE__ERRNO_NAME
    default: return "CADRE_E?";
    }
}

void cadre_panic(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "cadre: fatal: %s\n", msg);
    abort();
}
