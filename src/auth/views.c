/*
 * The login page and the logout action, Django's LoginView and LogoutView: templates
 * auth/login.html and auth/logged_out.html, which the app may replace with its own.
 */
#include "auth/auth_internal.h"

#include "cadre/form.h"
#include "cadre/schema.h"
#include "cadre/template.h"

#include <stdlib.h>
#include <string.h>

#define LOGIN_FORM_FIELDS(F)                                                                       \
    F(string, username, CADRE_DEFAULT_STR(""))                                                     \
    F(string, password, CADRE_DEFAULT_STR(""))                                                     \
    F(string, next, CADRE_DEFAULT_STR(""))
CADRE_SCHEMA(login_form, LOGIN_FORM_FIELDS)

/* Whether next is a path on this site that a redirect may go to: "/…", never "//host" or
 * "/\host" (both leave the site in browsers), no control character (a tab or a newline is dropped
 * by browsers' URL parsers, which would turn "/\t/host" into "//host"), no backslash. */
static bool safe_next(cadre_slice n)
{
    if (n.len == 0 || n.len > 2048 || n.ptr[0] != '/' || (n.len > 1 && n.ptr[1] == '/'))
        return false;
    for (size_t i = 0; i < n.len; i++) {
        unsigned char c = (unsigned char)n.ptr[i];
        if (c < 0x20 || c == 0x7f || c == '\\')
            return false;
    }
    return true;
}

static int show_login(cadre_request *r, auth_state *st, int status, cadre_slice username,
                      cadre_slice next, const char *error)
{
    if (!safe_next(next))
        next = (cadre_slice){ "", 0 };
    return cadre_render(r, status, "auth/login.html",
                        CADRE_CTX({ "action", CADRE_TSTR(st->o.login_path) },
                                  { "username", CADRE_TSLICE(username) },
                                  { "next", CADRE_TSLICE(next) },
                                  { "error", error ? CADRE_TSTR(error) : CADRE_TNONE }));
}

static int login_get(cadre_request *r)
{
    auth_state *st = (auth_state *)r->route_data;
    cadre_slice next = { "", 0 };
    cadre_request_query(r, "next", &next);
    return show_login(r, st, 200, (cadre_slice){ "", 0 }, next, NULL);
}

static int login_post(cadre_request *r)
{
    auth_state *st = (auth_state *)r->route_data;
    cadre_slice media = cadre_media_type(cadre_request_header(r, "Content-Type"));
    if (!cadre_slice_ieq_cstr(media, "application/x-www-form-urlencoded"))
        return cadre_error(r, 415, "Unsupported Media Type: the login form sends "
                                   "application/x-www-form-urlencoded");
    /* login CSRF: a page of another site must not log the browser in (as the attacker) */
    int rc = cadre_csrf_check(r);
    if (rc)
        return rc;
    login_form f;
    cadre_verrors errs;
    cadre_verrors_init(&errs, r->arena);
    cadre_form_decode_urlencoded(login_form__schema(), r->body, &f, r->arena, &errs);
    if (!f.next.len) /* the login page's own next, when the form did not repeat it */
        cadre_request_query(r, "next", &f.next);
    if (f.username.len == 0 || f.password.len == 0)
        return show_login(r, st, 200, f.username, f.next, "Please enter a username and a password.");
    int64_t id;
    rc = cadre_authenticate(r, f.username, f.password, &id);
    if (rc == CADRE_EBUSY) {
        cadre_set_header(r, "Retry-After", "1");
        return cadre_error(r, 503, "Too many logins at once: try again in a moment");
    }
    if (rc == CADRE_ELIMIT) { /* Retry-After is set */
        cadre_slice after = cadre_response_header(r, "Retry-After");
        int64_t wait = after.ptr ? atoll(after.ptr) : 60;
        return show_login(r, st, 429, f.username, f.next,
                          cadre_arena_printf(r->arena, "Too many failed login attempts. Try again "
                                             "in %lld minute%s.", (long long)(wait + 59) / 60,
                                             (wait + 59) / 60 == 1 ? "" : "s"));
    }
    if (rc)
        return rc;
    if (!id)
        return show_login(r, st, 200, f.username, f.next,
                          "Please enter a correct username and password. Note that both fields "
                          "may be case-sensitive.");
    rc = cadre_login(r, id);
    if (rc)
        return rc;
    const char *to = safe_next(f.next)
                         ? cadre_arena_printf(r->arena, "%.*s", (int)f.next.len, f.next.ptr)
                         : st->o.login_redirect;
    return cadre_redirect(r, 303, to);
}

static int logout_post(cadre_request *r)
{
    auth_state *st = (auth_state *)r->route_data;
    int rc = cadre_logout(r);
    if (rc)
        return rc;
    cadre_slice next = { "", 0 };
    if (!cadre_request_query(r, "next", &next) && r->body.len) {
        login_form f;
        cadre_verrors errs;
        cadre_verrors_init(&errs, r->arena);
        cadre_form_decode_urlencoded(login_form__schema(), r->body, &f, r->arena, &errs);
        next = f.next;
    }
    if (safe_next(next))
        return cadre_redirect(r, 303, cadre_arena_printf(r->arena, "%.*s", (int)next.len, next.ptr));
    return cadre_render(r, 200, "auth/logged_out.html",
                        CADRE_CTX({ "login", CADRE_TSTR(st->o.login_path) }));
}

int cadre__auth_views(auth_state *st)
{
    int rc = 0;
    if (st->o.login_path[0]) {
        rc = cadre_get(st->app, st->o.login_path, login_get, .name = "login", .data = st);
        if (rc == 0)
            rc = cadre_post(st->app, st->o.login_path, login_post, .data = st);
    }
    if (rc == 0 && st->o.logout_path[0])
        rc = cadre_post(st->app, st->o.logout_path, logout_post, .name = "logout", .data = st);
    return rc;
}
