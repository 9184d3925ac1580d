/*
 * The app's user model and the queries that read a user with a session's or a token's columns.
 *
 * The user model is cadre_user, or the project's CADRE_USER_MODEL: the same table with more
 * columns, which the project's own migrations add (a later module's model of the same name
 * extends the first's: cadre_app_model). A lookup reads every column of it but the password,
 * with the other columns, in one query, into one row: the user first — so a pointer to the row
 * is a pointer to the user, whatever model it is — then the other columns, as a struct of their
 * own schema. The row's schema and SQL are made once, at the first lookup, when every module has
 * registered its models.
 */
#include "auth/auth_internal.h"

#include "cadre/db.h"
#include "cadre/migrate.h"

#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cadre__auth_lookups_free(auth_state *st)
{
    for (size_t i = 0; i < AUTH_LOOKUPS; i++)
        free(st->lookups[i].sql);
}

/* lk: the user's columns and extra's (extra_select: how the query names them, then FROM …). */
static int build(auth_lookup *lk, const cadre_schema *user, const cadre_schema *extra,
                 const char *extra_select)
{
    if (user->nfields + extra->nfields > 64) {
        cadre_log(CADRE_LOG_ERROR, "auth: the user model %s has %zu fields: at most %zu", user->name,
                  user->nfields, 64 - extra->nfields);
        return CADRE_EINVAL;
    }
    cadre_buf sql;
    cadre_buf_init(&sql, 1 << 16);
    cadre_buf_append_str(&sql, "SELECT ");
    for (size_t i = 0; i < user->nfields; i++) {
        const cadre_field *f = &user->fields[i];
        lk->fields[i] = *f;
        if (!cadre_model_field_is_column(f) || f->write_only)
            continue; /* the password is never read with a user */
        cadre_buf_appendf(&sql, "u.%s, ", f->name);
    }
    cadre_buf_append_str(&sql, extra_select);
    size_t at = (user->size + alignof(max_align_t) - 1) / alignof(max_align_t) * alignof(max_align_t);
    for (size_t i = 0; i < extra->nfields; i++) {
        lk->fields[user->nfields + i] = extra->fields[i];
        lk->fields[user->nfields + i].offset += at;
    }
    lk->row = (cadre_schema){ user->name, at + extra->size, lk->fields,
                              user->nfields + extra->nfields, user->set_offset, user->null_offset,
                              false, false };
    lk->nuser = user->nfields;
    lk->extra_at = at;
    const char *text = cadre_buf_cstr(&sql);
    lk->sql = text ? strdup(text) : NULL;
    cadre_buf_free(&sql);
    return lk->sql ? 0 : CADRE_ENOMEM;
}

static bool same_user_model(const cadre_schema *a, const cadre_schema *b)
{
    return strcmp(a->name, b->name) == 0 && a->size == b->size && a->nfields == b->nfields;
}

/* The project's user model, checked: it begins as cadre_user does (CADRE_USER_MODEL asserts the
 * layout at compile time; the fields are checked here by name and type). */
static int resolve(auth_state *st)
{
    const cadre_schema *base = cadre_user__schema();
    const cadre_schema *m = cadre_app_model(st->app, base->name);
    if (!m)
        m = base;
    for (size_t i = 0; i < base->nfields; i++)
        if (i >= m->nfields || strcmp(m->fields[i].name, base->fields[i].name) != 0 ||
            m->fields[i].type != base->fields[i].type ||
            m->fields[i].offset != base->fields[i].offset) {
            cadre_log(CADRE_LOG_ERROR, "auth: the user model's fields must begin with "
                                       "CADRE_USER_FIELDS(F) (CADRE_USER_MODEL)");
            return CADRE_EINVAL;
        }
    static const char *const selects[AUTH_LOOKUPS] = {
        [AUTH_LOOKUP_SESSION] =
            "s.id AS session_id, s.expires, s.seen FROM cadre_session s "
            "JOIN cadre_user u ON u.id = s.user_id WHERE s.key_hash = ?",
        [AUTH_LOOKUP_TOKEN] =
            "t.id AS token_id, t.name AS token_name, t.key_hash, t.scopes, t.expires, "
            "t.last_used, t.created_at FROM cadre_token t JOIN cadre_user u ON u.id = t.user_id "
            "WHERE t.prefix = ?",
    };
    const cadre_schema *extras[AUTH_LOOKUPS] = { cadre__session_extra_schema(),
                                                 cadre__token_extra_schema() };
    for (size_t i = 0; i < AUTH_LOOKUPS; i++) {
        int rc = build(&st->lookups[i], m, extras[i], selects[i]);
        if (rc)
            return rc;
    }
    st->user_model = m;
    return 0;
}

static int ensure(auth_state *st)
{
    if (atomic_load_explicit(&st->resolved, memory_order_acquire))
        return 0;
    pthread_mutex_lock(&st->resolve_mu);
    int rc = 0;
    if (!atomic_load_explicit(&st->resolved, memory_order_relaxed)) {
        cadre__auth_lookups_free(st);
        memset(st->lookups, 0, sizeof st->lookups);
        rc = resolve(st);
        if (rc == 0)
            atomic_store_explicit(&st->resolved, true, memory_order_release);
    }
    pthread_mutex_unlock(&st->resolve_mu);
    return rc;
}

int cadre__auth_users_check(auth_state *st)
{
    return ensure(st);
}

const cadre_schema *cadre__auth_user_model(auth_state *st)
{
    return ensure(st) == 0 ? st->user_model : cadre_user__schema();
}

int cadre__auth_lookup(cadre_request *r, auth_state *st, int which, const cadre_value *param,
                       cadre_user **user, void **extra)
{
    *user = NULL;
    *extra = NULL;
    int rc = ensure(st);
    if (rc)
        return rc;
    const auth_lookup *lk = &st->lookups[which];
    char *row = cadre_alloc(r, lk->row.size);
    if (!row)
        return CADRE_ENOMEM;
    memset(row, 0, lk->row.size);
    bool found;
    rc = cadre_db_query_one(st->db, r->arena, &lk->row, row, &found, lk->sql, param, 1);
    if (rc || !found)
        return rc;
    /* the extra struct gets its own bits; the user keeps the user's */
    uint64_t *set = (uint64_t *)(row + lk->row.set_offset);
    uint64_t *null = (uint64_t *)(row + lk->row.null_offset);
    const cadre_schema *xs = which == AUTH_LOOKUP_SESSION ? cadre__session_extra_schema()
                                                          : cadre__token_extra_schema();
    *(uint64_t *)(row + lk->extra_at + xs->set_offset) = *set >> lk->nuser;
    *(uint64_t *)(row + lk->extra_at + xs->null_offset) = *null >> lk->nuser;
    uint64_t mask = lk->nuser == 64 ? ~(uint64_t)0 : ((uint64_t)1 << lk->nuser) - 1;
    *set &= mask;
    *null &= mask;
    *user = (cadre_user *)(void *)row;
    (*user)->password = (cadre_slice){ "", 0 };
    *extra = row + lk->extra_at;
    return 0;
}

int cadre__auth_user_get(cadre_request *r, auth_state *st, int64_t id, cadre_user **user)
{
    *user = NULL;
    const cadre_schema *m = cadre__auth_user_model(st);
    void *row = cadre_alloc(r, m->size);
    if (!row)
        return CADRE_ENOMEM;
    memset(row, 0, m->size);
    bool found;
    int rc = cadre_model_get(st->db, r->arena, m, id, row, &found);
    if (rc || !found)
        return rc;
    *user = row;
    (*user)->password = (cadre_slice){ "", 0 };
    return 0;
}

const void *cadre__request_user_as(cadre_request *r, const cadre_schema *model)
{
    const cadre_user *u = cadre_request_user(r);
    if (!u)
        return NULL;
    auth_state *st = cadre__auth_state(cadre_request_app(r));
    if (!st || !same_user_model(cadre__auth_user_model(st), model)) {
        cadre_log(CADRE_LOG_ERROR, "cadre_request_user_as: %s is not the app's user model "
                                   "(register it with cadre_models)", model->name);
        return NULL;
    }
    return u;
}
