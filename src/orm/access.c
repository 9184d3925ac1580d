/*
 * Model access hooks: installed once per app (by auth), asked by the CRUD API and anyone else.
 */
#include "orm_internal.h"

#include <stdlib.h>

#define ACCESS_KEY "cadre.orm.access"

int cadre_app_model_access(cadre_app *app, const cadre_model_access *hooks)
{
    if (!hooks || !hooks->check)
        return CADRE_EINVAL;
    if (cadre_app_attachment(app, ACCESS_KEY))
        return CADRE_EEXIST;
    cadre_model_access *copy = malloc(sizeof *copy);
    if (!copy)
        return CADRE_ENOMEM;
    *copy = *hooks;
    return cadre_app_attach(app, ACCESS_KEY, copy, free);
}

bool cadre__model_access_on(cadre_app *app)
{
    return cadre_app_attachment(app, ACCESS_KEY) != NULL;
}

static const cadre_model_access *access_of(cadre_request *r)
{
    return cadre_app_attachment(cadre_request_app(r), ACCESS_KEY);
}

int cadre_model_check(cadre_request *r, const cadre_schema *model, const char *action,
                      const void *obj)
{
    const cadre_model_access *a = access_of(r);
    return a ? a->check(r, model, action, obj, a->ctx) : 0;
}

bool cadre_model_allows(cadre_request *r, const cadre_schema *model, const char *action,
                        const void *obj)
{
    const cadre_model_access *a = access_of(r);
    return !a || (a->allows && a->allows(r, model, action, obj, a->ctx));
}

int cadre_model_filter(cadre_request *r, const cadre_schema *model, cadre_query *q)
{
    const cadre_model_access *a = access_of(r);
    return a && a->filter ? a->filter(r, model, q, a->ctx) : 0;
}
