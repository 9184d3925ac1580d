/*
 * Permissions: names derived from the app's models (four each) and declared by the app, held by
 * users directly or through groups, read once per request; object hooks per model; the model
 * access hooks that the CRUD API and the admin ask (cadre_app_model_access).
 */
#include "auth/auth_internal.h"

#include "cadre/db.h"
#include "cadre/migrate.h"
#include "cadre/schema.h"

#include <stdlib.h>
#include <string.h>

#define AUTH_PERMS_KEY "cadre.perms" /* the request state: the user's permission names */

static const char *const ACTIONS[] = { "view", "add", "change", "delete" };

typedef struct perm_entry {
    char *name;                 /* "inventory.change_product" */
    const char *action;         /* "change" (a custom permission: its codename) */
    const cadre_schema *model;  /* NULL for a custom permission */
} perm_entry;

typedef struct obj_hook {
    const cadre_schema *model;
    cadre_object_perms_opts o;
} obj_hook;

struct auth_perms {
    pthread_mutex_t mu;
    bool built;
    perm_entry *items; /* sorted by name once built */
    size_t len, cap;
    perm_entry *custom; /* cadre_permission's, kept for rebuilding */
    size_t ncustom, custom_cap;
    obj_hook *hooks;
    size_t nhooks, hooks_cap;
};

static void entries_free(perm_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(e[i].name);
    free(e);
}

void cadre__perms_free(auth_perms *p)
{
    if (!p)
        return;
    entries_free(p->items, p->len);
    for (size_t i = 0; i < p->ncustom; i++)
        free((char *)p->custom[i].action);
    entries_free(p->custom, p->ncustom);
    free(p->hooks);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

auth_perms *cadre__perms_new(void)
{
    auth_perms *p = calloc(1, sizeof *p);
    if (p)
        pthread_mutex_init(&p->mu, NULL);
    return p;
}

static bool grow(void **items, size_t *cap, size_t len, size_t size)
{
    if (len < *cap)
        return true;
    size_t n = *cap ? *cap * 2 : 16;
    void *bigger = realloc(*items, n * size);
    if (!bigger)
        return false;
    *items = bigger;
    *cap = n;
    return true;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const perm_entry *)a)->name, ((const perm_entry *)b)->name);
}

/* The permission list, built on first use from the models registered by then (all of them, once
 * the app is set up). Called with p->mu held. */
static int build(auth_state *st)
{
    auth_perms *p = st->perms;
    if (p->built)
        return 0;
    entries_free(p->items, p->len);
    p->items = NULL;
    p->len = p->cap = 0;
    cadre_module *m;
    const cadre_schema *model;
    for (size_t i = 0; (model = cadre_app_model_at(st->app, i, &m)) != NULL; i++) {
        for (size_t a = 0; a < 4; a++) {
            if (!grow((void **)&p->items, &p->cap, p->len, sizeof *p->items))
                return CADRE_ENOMEM;
            size_t n = strlen(cadre_module_label(m)) + strlen(ACTIONS[a]) + strlen(model->name) + 3;
            char *name = malloc(n);
            if (!name)
                return CADRE_ENOMEM;
            snprintf(name, n, "%s.%s_%s", cadre_module_label(m), ACTIONS[a], model->name);
            p->items[p->len++] = (perm_entry){ name, ACTIONS[a], model };
        }
    }
    for (size_t i = 0; i < p->ncustom; i++) {
        if (!grow((void **)&p->items, &p->cap, p->len, sizeof *p->items))
            return CADRE_ENOMEM;
        char *name = strdup(p->custom[i].name);
        if (!name)
            return CADRE_ENOMEM;
        p->items[p->len++] = (perm_entry){ name, p->custom[i].action, NULL };
    }
    if (p->len)
        qsort(p->items, p->len, sizeof *p->items, by_name);
    p->built = true;
    return 0;
}

/* The entry named name, or NULL (entries live as long as the app, once built). */
static const perm_entry *find(auth_state *st, const char *name)
{
    auth_perms *p = st->perms;
    pthread_mutex_lock(&p->mu);
    const perm_entry *e = NULL;
    if (build(st) == 0 && p->len) {
        perm_entry key = { .name = (char *)name };
        e = bsearch(&key, p->items, p->len, sizeof *p->items, by_name);
    }
    pthread_mutex_unlock(&p->mu);
    return e;
}

/* One model, whichever copy of its schema: CADRE_MODEL's tables are static, one per translation
 * unit that includes the header, so the same model may come with another address. A model is
 * its table: the name decides. */
static bool same_model(const cadre_schema *a, const cadre_schema *b)
{
    return a == b || (a && b && strcmp(a->name, b->name) == 0);
}

const char *cadre__perm_at(auth_state *st, size_t i)
{
    auth_perms *p = st->perms;
    pthread_mutex_lock(&p->mu);
    const char *name = build(st) == 0 && i < p->len ? p->items[i].name : NULL;
    pthread_mutex_unlock(&p->mu);
    return name;
}

static const obj_hook *hook_for(auth_state *st, const cadre_schema *model)
{
    auth_perms *p = st->perms;
    for (size_t i = 0; model && i < p->nhooks; i++)
        if (same_model(p->hooks[i].model, model))
            return &p->hooks[i];
    return NULL;
}

/* "MODULE.CODENAME": letters, digits and '_' on both sides of one '.'. */
static bool perm_name_ok(const char *s)
{
    const char *dot = strchr(s, '.');
    if (!dot || dot == s || !dot[1] || strchr(dot + 1, '.') || strlen(s) > CADRE_PERM_MAX)
        return false;
    for (const char *c = s; *c; c++)
        if (c != dot && !((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                          (*c >= '0' && *c <= '9') || *c == '_'))
            return false;
    return true;
}

int cadre_permission(cadre_app *app, const char *name, const char *description)
{
    (void)description; /* kept by the admin when it lists them (not stored yet) */
    auth_state *st = cadre__auth_state(app);
    if (!st)
        return CADRE_ESTATE;
    if (!name || !perm_name_ok(name)) {
        cadre_app_config_error(app, NULL, 0, "cadre_permission: \"%s\" is not MODULE.CODENAME "
                               "(letters, digits and _)", name ? name : "(null)");
        return CADRE_EINVAL;
    }
    auth_perms *p = st->perms;
    pthread_mutex_lock(&p->mu);
    int rc = CADRE_ENOMEM;
    if (grow((void **)&p->custom, &p->custom_cap, p->ncustom, sizeof *p->custom)) {
        char *n = strdup(name), *action = strdup(strchr(name, '.') + 1);
        if (n && action) {
            p->custom[p->ncustom++] = (perm_entry){ n, action, NULL };
            p->built = false;
            rc = 0;
        } else {
            free(n);
            free(action);
        }
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int cadre_perm_name(cadre_app *app, const cadre_schema *model, const char *action,
                    char out[CADRE_PERM_MAX + 1])
{
    out[0] = '\0';
    auth_state *st = cadre__auth_state(app);
    if (!st)
        return CADRE_ESTATE;
    /* from the permission list built once (its names begin with the model's module), not by
     * walking the app's models: every permission check of every request asks this */
    auth_perms *p = st->perms;
    const char *label = NULL;
    size_t len = 0;
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; build(st) == 0 && i < p->len && !label; i++)
        if (p->items[i].model && same_model(p->items[i].model, model)) {
            label = p->items[i].name;
            len = strcspn(label, ".");
        }
    pthread_mutex_unlock(&p->mu);
    if (!label)
        return CADRE_ENOTFOUND;
    int n = snprintf(out, CADRE_PERM_MAX + 1, "%.*s.%s_%s", (int)len, label, action, model->name);
    return n > 0 && n <= CADRE_PERM_MAX ? 0 : CADRE_EINVAL;
}

/* ---------------------------------------------------------------------------------------------
 * A request's permissions
 * ------------------------------------------------------------------------------------------- */

#define PERM_ROW_FIELDS(F) F(string, perm)
CADRE_SCHEMA(perm_row, PERM_ROW_FIELDS)

/* The names the user holds, directly or through groups: read once per request. */
static int user_perms(cadre_request *r, auth_state *st, const cadre_user *u, const cadre_rows **out)
{
    const cadre_rows *known = cadre_request_get(r, AUTH_PERMS_KEY);
    if (known) {
        *out = known;
        return 0;
    }
    cadre_rows *rows = cadre_alloc(r, sizeof *rows);
    const cadre_value p[2] = { CADRE_PINT(u->id), CADRE_PINT(u->id) };
    int rc = cadre_db_query(st->db, r->arena, perm_row__schema(), rows,
                            "SELECT perm FROM cadre_user_perm WHERE user_id = ? UNION "
                            "SELECT gp.perm FROM cadre_group_perm gp JOIN cadre_user_group ug "
                            "ON ug.group_id = gp.group_id WHERE ug.user_id = ?",
                            p, 2);
    if (rc)
        return rc;
    cadre_request_set(r, AUTH_PERMS_KEY, rows);
    *out = rows;
    return 0;
}

/* Whether r's user holds perm (for obj), and why not: *scope when its token's scopes refuse. */
static int has_perm(cadre_request *r, auth_state *st, const char *perm, const void *obj,
                    bool *yes, bool *scope)
{
    *yes = *scope = false;
    const cadre_user *u;
    int rc = cadre_auth_user(r, &u);
    if (rc || !u || !u->is_active)
        return rc;
    const perm_entry *e = find(st, perm);
    if (!e) {
        cadre_log(CADRE_LOG_WARN, "permission %s: no such permission (a model's are "
                  "MODULE.view_MODEL, add_, change_, delete_; others need cadre_permission)", perm);
        return 0;
    }
    const cadre_token *t = cadre_request_token(r);
    if (t && !cadre__scopes_allow(t->scopes, cadre_slice_cstr(perm))) {
        *scope = true;
        return 0;
    }
    if (!u->is_superuser) {
        const cadre_rows *held;
        if ((rc = user_perms(r, st, u, &held)) != 0)
            return rc;
        const perm_row *p = held->items;
        size_t i = 0;
        while (i < held->len && !cadre_slice_eq_cstr(p[i].perm, perm))
            i++;
        if (i == held->len)
            return 0;
        const obj_hook *h = obj ? hook_for(st, e->model) : NULL;
        if (h && h->o.allows && !h->o.allows(r, e->action, obj, h->o.ctx))
            return 0;
    }
    *yes = true;
    return 0;
}

bool cadre_has_perm(cadre_request *r, const char *perm, const void *obj)
{
    auth_state *st = cadre__auth_state(cadre_request_app(r));
    bool yes, scope;
    if (!st || !perm)
        return false;
    int rc = has_perm(r, st, perm, obj, &yes, &scope);
    if (rc)
        cadre_log(CADRE_LOG_ERROR, "permission %s: %s", perm, cadre_strerror(rc));
    return rc == 0 && yes;
}

/* 403, saying why: a token's scopes (RFC 6750's insufficient_scope), or the user's rights. */
static int forbidden(cadre_request *r, const char *perm, bool scope)
{
    if (scope) {
        cadre_set_header(r, "WWW-Authenticate",
                         cadre_arena_printf(r->arena, "Bearer error=\"insufficient_scope\", "
                                                      "scope=\"%s\"", perm));
        return cadre_app_error(r, 403, "The token's scopes do not allow this.");
    }
    return cadre_app_error(r, 403, "You do not have permission to perform this action.");
}

/* Anonymous → 401 / the login page, else the permission decides. */
static int require(cadre_request *r, auth_state *st, const char *perm, const void *obj)
{
    const cadre_user *u;
    int rc = cadre_auth_user(r, &u);
    if (rc)
        return rc;
    if (!u)
        return cadre__auth_refuse(r, st);
    bool yes, scope;
    if ((rc = has_perm(r, st, perm, obj, &yes, &scope)) != 0)
        return rc;
    return yes ? 0 : forbidden(r, perm, scope);
}

int cadre_perm_required(cadre_request *r, void *ctx)
{
    auth_state *st = cadre__auth_state(cadre_request_app(r));
    return st ? require(r, st, ctx, NULL) : CADRE_ESTATE;
}

/* The model access hooks (cadre_app_model_access). */
static int access_check(cadre_request *r, const cadre_schema *model, const char *action,
                        const void *obj, void *ctx)
{
    auth_state *st = ctx;
    char perm[CADRE_PERM_MAX + 1];
    if (cadre_perm_name(st->app, model, action, perm) != 0) {
        /* a model no module registered has no permissions: only superusers pass */
        snprintf(perm, sizeof perm, "%s.%s_%s", cadre_module_label(cadre_app_own_module(st->app)),
                 action, model->name);
        const cadre_user *u;
        int rc = cadre_auth_user(r, &u);
        if (rc)
            return rc;
        if (!u)
            return cadre__auth_refuse(r, st);
        return u->is_superuser ? 0 : forbidden(r, perm, false);
    }
    return require(r, st, perm, obj);
}

static bool access_allows(cadre_request *r, const cadre_schema *model, const char *action,
                          const void *obj, void *ctx)
{
    auth_state *st = ctx;
    char perm[CADRE_PERM_MAX + 1];
    if (cadre_perm_name(st->app, model, action, perm) != 0) {
        const cadre_user *u = cadre_request_user(r);
        return u && u->is_superuser;
    }
    bool yes, scope;
    return has_perm(r, st, perm, obj, &yes, &scope) == 0 && yes;
}

static int access_filter(cadre_request *r, const cadre_schema *model, cadre_query *q, void *ctx)
{
    auth_state *st = ctx;
    const obj_hook *h = hook_for(st, model);
    if (!h || !h->o.filter)
        return 0;
    const cadre_user *u = cadre_request_user(r);
    return u && u->is_superuser ? 0 : h->o.filter(r, q, h->o.ctx);
}

int cadre__perms_install(auth_state *st)
{
    return cadre_app_model_access(st->app, &(cadre_model_access){ access_check, access_filter,
                                                                  st, access_allows });
}

int cadre__object_perms(cadre_app *app, const cadre_schema *model,
                        const cadre_object_perms_opts *opts)
{
    auth_state *st = cadre__auth_state(app);
    if (!st)
        return CADRE_ESTATE;
    if (!model)
        return CADRE_EINVAL;
    auth_perms *p = st->perms;
    if (hook_for(st, model))
        return CADRE_EEXIST;
    if (!grow((void **)&p->hooks, &p->hooks_cap, p->nhooks, sizeof *p->hooks))
        return CADRE_ENOMEM;
    p->hooks[p->nhooks++] = (obj_hook){ model, *opts };
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Groups and grants
 * ------------------------------------------------------------------------------------------- */

#define ID_ROW_FIELDS(F) F(int64, id)
CADRE_SCHEMA(id_row, ID_ROW_FIELDS)

int cadre_group_create(cadre_app *app, const char *name, int64_t *id)
{
    auth_state *st = cadre__auth_state(app);
    if (!st)
        return CADRE_ESTATE;
    size_t n = name ? strlen(name) : 0;
    if (!n || n > 150 || !cadre_utf8_valid(name, n))
        return CADRE_EINVAL;
    cadre_arena a;
    cadre_arena_init(&a, 512);
    cadre_group g = { .name = cadre_slice_cstr(name) };
    cadre_set(&g, cadre_group, name);
    int rc = cadre_group_insert(st->db, &a, &g);
    if (rc == 0 && id) {
        *id = g.id;
    } else if (rc == CADRE_EEXIST && id) {
        id_row row;
        bool found;
        const cadre_value p = CADRE_PTEXT(name);
        int rc2 = cadre_db_query_one(st->db, &a, id_row__schema(), &row, &found,
                                     "SELECT id FROM cadre_group WHERE name = ?", &p, 1);
        if (rc2)
            rc = rc2;
        else
            *id = found ? row.id : 0;
    }
    cadre_arena_free(&a);
    return rc;
}

/* Adds (table, owner column, owner, column, value) unless it is there; a missing owner (a foreign
 * key refused) is CADRE_ENOTFOUND. */
static int add_pair(auth_state *st, const char *table, const char *owner_col, int64_t owner,
                    const char *col, cadre_value v)
{
    char sql[320];
    snprintf(sql, sizeof sql,
             "INSERT INTO %s (%s, %s) SELECT CAST(? AS BIGINT), CAST(? AS %s) WHERE NOT EXISTS "
             "(SELECT 1 FROM %s WHERE %s = ? AND %s = ?)",
             table, owner_col, col, v.type == CADRE_V_INT ? "BIGINT" : "TEXT", table, owner_col,
             col);
    const cadre_value p[4] = { CADRE_PINT(owner), v, CADRE_PINT(owner), v };
    int rc = cadre_db_exec(st->db, sql, p, 4, NULL, NULL);
    return rc == CADRE_ESTATE ? CADRE_ENOTFOUND : rc;
}

static int remove_pair(auth_state *st, const char *table, const char *owner_col, int64_t owner,
                       const char *col, cadre_value v)
{
    char sql[200];
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE %s = ? AND %s = ?", table, owner_col, col);
    const cadre_value p[2] = { CADRE_PINT(owner), v };
    return cadre_db_exec(st->db, sql, p, 2, NULL, NULL);
}

static auth_state *known_perm(cadre_app *app, const char *perm, int *rc)
{
    auth_state *st = cadre__auth_state(app);
    *rc = !st ? CADRE_ESTATE : !perm || !find(st, perm) ? CADRE_EINVAL : 0;
    if (*rc == CADRE_EINVAL)
        cadre_log(CADRE_LOG_ERROR, "grant %s: no such permission", perm ? perm : "(null)");
    return st;
}

int cadre_group_grant(cadre_app *app, int64_t group_id, const char *perm)
{
    int rc;
    auth_state *st = known_perm(app, perm, &rc);
    return rc ? rc : add_pair(st, "cadre_group_perm", "group_id", group_id, "perm",
                              CADRE_PTEXT(perm));
}

int cadre_group_revoke(cadre_app *app, int64_t group_id, const char *perm)
{
    auth_state *st = cadre__auth_state(app);
    return st ? remove_pair(st, "cadre_group_perm", "group_id", group_id, "perm", CADRE_PTEXT(perm))
              : CADRE_ESTATE;
}

int cadre_user_grant(cadre_app *app, int64_t user_id, const char *perm)
{
    int rc;
    auth_state *st = known_perm(app, perm, &rc);
    return rc ? rc : add_pair(st, "cadre_user_perm", "user_id", user_id, "perm",
                              CADRE_PTEXT(perm));
}

int cadre_user_revoke(cadre_app *app, int64_t user_id, const char *perm)
{
    auth_state *st = cadre__auth_state(app);
    return st ? remove_pair(st, "cadre_user_perm", "user_id", user_id, "perm", CADRE_PTEXT(perm))
              : CADRE_ESTATE;
}

int cadre_user_join(cadre_app *app, int64_t user_id, int64_t group_id)
{
    auth_state *st = cadre__auth_state(app);
    return st ? add_pair(st, "cadre_user_group", "user_id", user_id, "group_id",
                         CADRE_PINT(group_id))
              : CADRE_ESTATE;
}

int cadre_user_leave(cadre_app *app, int64_t user_id, int64_t group_id)
{
    auth_state *st = cadre__auth_state(app);
    return st ? remove_pair(st, "cadre_user_group", "user_id", user_id, "group_id",
                            CADRE_PINT(group_id))
              : CADRE_ESTATE;
}
