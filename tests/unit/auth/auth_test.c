/* Auth through the test client, on SQLite (and on PostgreSQL: tests/pg runs it again): users and
 * passwords, the login page and its next, sessions (cookie, fixation, expiry, logout, logout
 * everywhere, a password change), the guards, the write-only password. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cadre.h>

#include "db/engine_fixture.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static cadre_app *app;
static cadre_db *db;
static cadre_test_response res;
static int64_t alice, bob, carol;

static const cadre_user *me(cadre_request *r)
{
    return cadre_request_user(r);
}

/* GET /me: the user's name as JSON (login required) */
static int me_page(cadre_request *r)
{
    return cadre_text(r, 200, cadre_arena_printf(r->arena, "%.*s", (int)me(r)->username.len,
                                                  me(r)->username.ptr));
}

/* GET /who: whoever it is, or "anonymous" (no guard) */
static int who(cadre_request *r)
{
    const cadre_user *u = me(r);
    return cadre_text(r, 200, u ? cadre_arena_printf(r->arena, "%.*s", (int)u->username.len,
                                                     u->username.ptr)
                                : "anonymous");
}

/* POST /password: sets the user's password to the body (its other sessions end) */
static int change_password(cadre_request *r)
{
    int rc = cadre_user_set_password(cadre_request_app(r), r, me(r)->id, r->body);
    return rc ? rc : cadre_text(r, 200, "changed");
}

/* The CSRF secret every request carries in its cookie, and unsafe ones in X-CSRFToken too (as a
 * script of the site's pages would), unless a test says otherwise with csrf_headers. */
#define SECRET "abcdefghijklmnopqrstuvwxyzABCDEF"
static const char *csrf_cookie = "csrftoken=" SECRET;
static const char *csrf_header = "X-CSRFToken: " SECRET "\r\n";

#define NAME_FIELDS(F) F(string, username)
CADRE_SCHEMA(name_out, NAME_FIELDS)

/* GET /api/me: typed, a session or a token; POST /api/ping: a token only */
static int api_me(cadre_request *r, const cadre_none *p, const cadre_none *in, name_out *out)
{
    (void)p;
    (void)in;
    out->username = me(r)->username;
    return 200;
}

static int api_ping(cadre_request *r, const cadre_none *p, const cadre_none *in, name_out *out)
{
    (void)p;
    (void)in;
    out->username = me(r)->username;
    return 200;
}

/* GET /api/reports: the name of the token the request came with ("session" without one) */
static int api_token_name(cadre_request *r, const cadre_none *p, const cadre_none *in,
                          name_out *out)
{
    (void)p;
    (void)in;
    const cadre_token *t = cadre_request_token(r);
    out->username = t ? t->name : cadre_slice_cstr("session");
    return 200;
}

/* A model of a module of the app's ("shop"), its rows owned by users: the object hook lets a
 * user see and touch only their own. */
#define NOTE_FIELDS(F)                                                                             \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(int64, owner_id, CADRE_FOREIGN_KEY(cadre_user, CADRE_ON_DELETE_CASCADE), CADRE_INDEX)        \
    F(string, title, CADRE_MAX_LEN(100))
CADRE_MODEL(note, NOTE_FIELDS)

/* shop's own user: every test here runs with a user model that extends auth's table */
#define MEMBER_FIELDS(F)                                                                           \
    CADRE_USER_FIELDS(F)                                                                           \
    F(string, nickname, CADRE_MAX_LEN(40), CADRE_DEFAULT_STR("friend"))
CADRE_USER_MODEL(member, MEMBER_FIELDS)

static const cadre_migration_source shop_migrations[] = {
    { "0001_initial",
      "{\"cadre_migration\": 1, \"name\": \"0001_initial\", \"depends_on\": null, "
      "\"requires\": [\"auth:0004_login_failures\"], \"operations\": ["
      "{\"op\": \"create_table\", \"table\": \"note\", \"columns\": ["
      "{\"name\":\"id\",\"type\":\"int64\",\"primary_key\":true},"
      "{\"name\":\"owner_id\",\"type\":\"int64\",\"indexed\":true,\"references\":"
      "{\"table\":\"cadre_user\",\"column\":\"id\",\"on_delete\":\"cascade\"}},"
      "{\"name\":\"title\",\"type\":\"text\"}]},"
      "{\"op\": \"add_column\", \"table\": \"cadre_user\", \"column\": "
      "{\"name\":\"nickname\",\"type\":\"text\",\"default_value\":\"friend\"}}]}" },
};

static const cadre_template_source shop_templates[] = {
#define HELLO "Hello {{ user.username }} ({{ user.nickname }})"
    { .name = "hello.html", .text = HELLO, .len = sizeof HELLO - 1 },
#define VISITOR "{% if user %}{{ user.username }}{% else %}a visitor{% endif %}"
    { .name = "visitor.html", .text = VISITOR, .len = sizeof VISITOR - 1 },
};

/* GET /visitor: a page for anyone, saying who it is for */
static int visitor(cadre_request *r)
{
    return cadre_render(r, 200, "visitor.html", CADRE_CTX());
}

/* GET /hello: a page that shows the user's own field through the template context */
static int hello(cadre_request *r)
{
    return cadre_render(r, 200, "hello.html", CADRE_CTX());
}

/* GET /nick: the user as the project's model */
static int nick(cadre_request *r)
{
    const member *m = cadre_request_user_as(r, member);
    return m ? cadre_text(r, 200, cadre_arena_printf(r->arena, "%.*s", (int)m->nickname.len,
                                                      m->nickname.ptr))
             : cadre_text(r, 200, "anonymous");
}

static bool own_note(cadre_request *r, const char *action, const void *obj, void *ctx)
{
    (void)action, (void)ctx;
    return ((const note *)obj)->owner_id == me(r)->id;
}

static int own_notes(cadre_request *r, cadre_query *q, void *ctx)
{
    (void)ctx;
    cadre_q_filter(q, "owner_id", CADRE_PINT(me(r)->id));
    return 0;
}

static int approve(cadre_request *r)
{
    return cadre_text(r, 200, "approved");
}

static void request(const char *method, const char *target, const char *cookie, const char *form,
                    const char *accept)
{
    char headers[1024];
    bool safe = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    snprintf(headers, sizeof headers, "%sCookie: %s%s%s%s\r\n%s%s%s",
             form ? "Content-Type: application/x-www-form-urlencoded\r\n" : "",
             cookie ? "sessionid=" : "", cookie ? cookie : "", cookie ? "; " : "", csrf_cookie,
             accept ? accept : "", accept ? "\r\n" : "", safe ? "" : csrf_header);
    cadre_test_response_free(&res);
    assert_int_equal(cadre_test_request(app, method, target, headers, form,
                                        form ? strlen(form) : 0, &res), 0);
}

/* The session key the last response set, copied into key (empty when none). */
static void set_key(char key[64])
{
    key[0] = '\0';
    const char *c = cadre_test_header(&res, "Set-Cookie");
    if (c && strncmp(c, "sessionid=", 10) == 0)
        snprintf(key, 64, "%.*s", (int)strcspn(c + 10, ";"), c + 10);
}

static void login(const char *user, const char *pw, const char *cookie, char key[64])
{
    char form[256];
    snprintf(form, sizeof form, "username=%s&password=%s", user, pw);
    request("POST", "/accounts/login/", cookie, form, NULL);
    set_key(key);
}

static void expect(int status, const char *text)
{
    if (res.status != status || (text && !strstr(res.body, text)))
        fail_msg("expected %d with \"%s\", got %d: %s", status, text ? text : "", res.status,
                 res.body);
}

static int setup(void **state)
{
    if (engine_setup(state) || cadre_db_open(url, &db))
        return -1;
    if (pg)
        cadre_db_exec_script(db, "DROP TABLE IF EXISTS note; DROP TABLE IF EXISTS cadre_user_perm; "
                                 "DROP TABLE IF EXISTS cadre_login_failure; "
                                 "DROP TABLE IF EXISTS cadre_user_group; DROP TABLE IF EXISTS "
                                 "cadre_group_perm; DROP TABLE IF EXISTS cadre_group; "
                                 "DROP TABLE IF EXISTS cadre_token; "
                                 "DROP TABLE IF EXISTS cadre_session; DROP TABLE IF EXISTS "
                                 "cadre_user; DROP TABLE IF EXISTS cadre_migrations");
    app = cadre_app_new("authtest");
    if (!cadre_auth(app, db))
        return -1;
    cadre_get(app, "/me", me_page, .guards = CADRE_GUARDS(CADRE_LOGIN_REQUIRED));
    cadre_get(app, "/staff", me_page, .guards = CADRE_GUARDS(CADRE_STAFF_REQUIRED));
    cadre_get(app, "/who", who);
    CADRE_ROUTE(app, GET, "/api/me", api_me, cadre_none, cadre_none, name_out,
                .auth = CADRE_AUTH_SESSION | CADRE_AUTH_TOKEN);
    CADRE_ROUTE(app, POST, "/api/ping", api_ping, cadre_none, cadre_none, name_out,
                .auth = CADRE_AUTH_TOKEN);
    CADRE_ROUTE(app, GET, "/api/reports", api_token_name, cadre_none, cadre_none, name_out,
                .auth = CADRE_AUTH_SESSION | CADRE_AUTH_TOKEN,
                .guards = CADRE_GUARDS(CADRE_SCOPE("reports")));
    cadre_post(app, "/password", change_password, .guards = CADRE_GUARDS(CADRE_LOGIN_REQUIRED));
    cadre_module *shop = cadre_module_add(app, "shop", .depends = CADRE_DEPENDS("auth"));
    cadre_models_builtin(shop, db, shop_migrations, 1, note__schema(), member__schema());
    cadre_templates_add(shop, shop_templates, 2);
    cadre_get(app, "/visitor", visitor);
    cadre_get(app, "/hello", hello, .guards = CADRE_GUARDS(CADRE_LOGIN_REQUIRED));
    cadre_get(app, "/nick", nick);
    cadre_get(app, "/api/nick", nick, .auth = CADRE_AUTH_TOKEN);
    cadre_group_begin(app, "/api", .auth = CADRE_AUTH_SESSION | CADRE_AUTH_TOKEN);
    cadre_crud(app, "/notes", note__schema(), db);
    cadre_group_end(app);
    cadre_object_perms(app, note__schema(), .allows = own_note, .filter = own_notes);
    cadre_permission(app, "shop.approve_note", "Can approve a note");
    cadre_post(app, "/approve", approve, .guards = CADRE_GUARDS(CADRE_PERM("shop.approve_note")));
    if (cadre_app_check(app) || cadre_app_migrate(app, NULL, NULL, NULL))
        return -1;
    if (cadre_user_create(app, "alice", "alice@example.com", "correct horse", true, &alice) ||
        cadre_user_create(app, "bob", "", "battery staple", false, &bob) ||
        cadre_user_create(app, "carol", "", "carol's secret", false, &carol))
        return -1;
    const cadre_value p = CADRE_PINT(carol);
    return cadre_db_exec(db, "UPDATE cadre_user SET is_active = false WHERE id = ?", &p, 1, NULL,
                         NULL);
}

static int teardown(void **state)
{
    cadre_test_response_free(&res);
    cadre_app_free(app);
    cadre_db_close(db);
    return engine_teardown(state);
}

static int64_t sessions_of(int64_t user)
{
    cadre_arena a;
    cadre_arena_init(&a, 0);
    cadre_rows rows;
    const cadre_value p = CADRE_PINT(user);
    assert_int_equal(cadre_db_query(db, &a, CADRE_SCHEMA_OF(cadre_session), &rows,
                                    "SELECT id FROM cadre_session WHERE user_id = ?", &p, 1), 0);
    int64_t n = (int64_t)rows.len;
    cadre_arena_free(&a);
    return n;
}

/* The project's fields on its user: read with the session, in templates, and by token. */
static void raw(const char *method, const char *target, const char *headers, const char *body);

/* user is in every page's context: the user, or none for a visitor — so a page that asks
 * `{% if user %}` draws no undefined-name warning in development mode */
static void test_user_in_every_page(void **state)
{
    (void)state;
    FILE *log = tmpfile();
    assert_non_null(log);
    cadre_log_configure(CADRE_LOG_WARN, CADRE_LOG_PLAIN, fileno(log));
    cadre_app_dev_mode(app, true);
    raw("GET", "/visitor", "Accept: text/html\r\n", NULL);
    cadre_app_dev_mode(app, false);
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, 2);
    expect(200, "a visitor");
    char text[4096] = "";
    rewind(log);
    size_t n = fread(text, 1, sizeof text - 1, log);
    text[n] = '\0';
    fclose(log);
    if (strstr(text, "not defined"))
        fail_msg("a visitor's page warned: %s", text);
    char key[64], h[512];
    login("bob", "battery+staple", NULL, key);
    snprintf(h, sizeof h, "Cookie: sessionid=%s\r\nAccept: text/html\r\n", key);
    raw("GET", "/visitor", h, NULL);
    expect(200, "bob");
}

static void test_own_user_fields(void **state)
{
    (void)state;
    char key[64];
    login("bob", "battery+staple", NULL, key);
    assert_int_equal(res.status, 303);
    request("GET", "/nick", key, NULL, NULL);
    expect(200, "friend"); /* the column's default, for a user made by auth */
    const cadre_value p[2] = { CADRE_PTEXT("Bobby"), CADRE_PINT(bob) };
    assert_int_equal(cadre_db_exec(db, "UPDATE cadre_user SET nickname = ? WHERE id = ?", p, 2,
                                   NULL, NULL), 0);
    request("GET", "/hello", key, NULL, "Accept: text/html");
    expect(200, "Hello bob (Bobby)");
    request("GET", "/nick", NULL, NULL, NULL);
    expect(200, "anonymous");
    /* by token too */
    char token[CADRE_TOKEN_SIZE];
    assert_int_equal(cadre_token_create(app, bob, "nick", NULL, 0, token, NULL), 0);
    char auth[CADRE_TOKEN_SIZE + 32];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\n", token);
    cadre_test_response_free(&res);
    assert_int_equal(cadre_test_request(app, "GET", "/api/nick", auth, NULL, 0, &res), 0);
    expect(200, "Bobby");
}

static void test_login_page_and_cookie(void **state)
{
    (void)state;
    request("GET", "/accounts/login/?next=/me", NULL, NULL, NULL);
    expect(200, "name=\"username\"");
    expect(200, "type=\"password\"");
    expect(200, "name=\"next\" value=\"/me\"");

    char key[64];
    login("alice", "wrong+password", NULL, key);
    expect(200, "Please enter a correct username and password");
    assert_string_equal(key, "");
    assert_null(cadre_test_header(&res, "Set-Cookie"));
    expect(200, "value=\"alice\""); /* the name is kept, the password is not */

    login("alice", "correct+horse", NULL, key);
    assert_int_equal(res.status, 303);
    assert_string_equal(cadre_test_header(&res, "Location"), "/");
    assert_int_equal((int)strlen(key), 43);
    const char *c = cadre_test_header(&res, "Set-Cookie");
    assert_non_null(strstr(c, "HttpOnly"));
    assert_non_null(strstr(c, "SameSite=Lax"));
    assert_non_null(strstr(c, "Secure")); /* production mode */
    assert_non_null(strstr(c, "Max-Age=1209600"));

    request("GET", "/me", key, NULL, NULL);
    expect(200, "alice");
    request("GET", "/who", key, NULL, NULL);
    expect(200, "alice");

    /* the table holds a hash of the key, never the key */
    cadre_arena a;
    cadre_arena_init(&a, 0);
    cadre_rows rows;
    const cadre_value k = CADRE_PTEXT(key);
    assert_int_equal(cadre_db_query(db, &a, CADRE_SCHEMA_OF(cadre_session), &rows,
                                    "SELECT id FROM cadre_session WHERE key_hash = ?", &k, 1), 0);
    assert_int_equal(rows.len, 0);
    cadre_arena_free(&a);
}

static void test_wrong_users(void **state)
{
    (void)state;
    char key[64];
    login("nobody", "whatever1", NULL, key); /* unknown */
    expect(200, "Please enter a correct");
    assert_string_equal(key, "");
    login("carol", "carol's+secret", NULL, key); /* right password, inactive */
    expect(200, "Please enter a correct");
    assert_string_equal(key, "");
    login("", "", NULL, key);
    expect(200, "Please enter a username and a password");
    request("POST", "/accounts/login/", NULL, NULL, NULL); /* not a form */
    assert_int_equal(res.status, 415);
}

static void test_next_stays_on_the_site(void **state)
{
    (void)state;
    static const struct {
        const char *next, *location;
    } cases[] = {
        { "%2Fme%3Fx%3D1", "/me?x=1" },
        { "%2F%2Fevil.example", "/" },
        { "https%3A%2F%2Fevil.example%2F", "/" },
        { "%2F%5Cevil.example", "/" },
        { "%2F%09%2Fevil.example", "/" },
        { "%2F%0D%0ASet-Cookie%3A+x%3Dy", "/" },
        { "", "/" },
        { "me", "/" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char form[256], key[64];
        snprintf(form, sizeof form, "username=bob&password=battery+staple&next=%s", cases[i].next);
        request("POST", "/accounts/login/", NULL, form, NULL);
        set_key(key);
        assert_int_equal(res.status, 303);
        const char *loc = cadre_test_header(&res, "Location");
        if (strcmp(loc, cases[i].location) != 0)
            fail_msg("next=%s went to %s", cases[i].next, loc);
    }
    /* next given to the page (its query) and not repeated by the form */
    request("POST", "/accounts/login/?next=/staff", NULL, "username=bob&password=battery+staple",
            NULL);
    assert_string_equal(cadre_test_header(&res, "Location"), "/staff");
}

static void test_guards(void **state)
{
    (void)state;
    request("GET", "/me", NULL, NULL, NULL); /* an API client */
    expect(401, "Not authenticated");
    assert_non_null(cadre_test_header(&res, "WWW-Authenticate"));
    request("GET", "/me?a=b%20c", NULL, NULL, "Accept: text/html,*/*"); /* a browser */
    assert_int_equal(res.status, 302);
    assert_string_equal(cadre_test_header(&res, "Location"), "/accounts/login/?next=/me%3Fa%3Db%2520c");
    request("GET", "/who", NULL, NULL, NULL);
    expect(200, "anonymous");

    char key[64];
    login("bob", "battery+staple", NULL, key);
    request("GET", "/staff", key, NULL, NULL);
    assert_int_equal(res.status, 403);
    login("alice", "correct+horse", NULL, key);
    request("GET", "/staff", key, NULL, NULL);
    expect(200, "alice");

    /* forged keys: not base64url, unknown, too short */
    const char *forged[] = { "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "x",
                             "../../../../../../../../../../../../../../../" };
    for (size_t i = 0; i < 3; i++) {
        request("GET", "/me", forged[i], NULL, NULL);
        assert_int_equal(res.status, 401);
    }
}

static void test_fixation_and_logout(void **state)
{
    (void)state;
    char planted[64], key[64];
    login("bob", "battery+staple", NULL, planted);
    /* the same browser logs in again (as someone else): a new key, the old one dead */
    login("alice", "correct+horse", planted, key);
    assert_int_equal(res.status, 303);
    assert_string_not_equal(key, planted);
    request("GET", "/me", planted, NULL, NULL);
    assert_int_equal(res.status, 401);
    request("GET", "/me", key, NULL, NULL);
    expect(200, "alice");

    request("GET", "/accounts/logout/", key, NULL, NULL);
    assert_int_equal(res.status, 405); /* logout by POST only */
    request("POST", "/accounts/logout/", key, NULL, NULL);
    expect(200, "Logged out");
    const char *c = cadre_test_header(&res, "Set-Cookie");
    assert_non_null(c);
    assert_non_null(strstr(c, "Max-Age=0"));
    request("GET", "/me", key, NULL, NULL);
    assert_int_equal(res.status, 401);
    request("POST", "/accounts/logout/?next=/who", NULL, NULL, NULL);
    assert_int_equal(res.status, 303);
    assert_string_equal(cadre_test_header(&res, "Location"), "/who");
}

static void test_password_change_ends_other_sessions(void **state)
{
    (void)state;
    char one[64], two[64], three[64];
    login("bob", "battery+staple", NULL, one);
    login("bob", "battery+staple", NULL, two);
    assert_string_not_equal(one, two);
    request("POST", "/password", one, "new password 2", NULL);
    expect(200, "changed");
    request("GET", "/me", one, NULL, NULL); /* the session that changed it stays */
    expect(200, "bob");
    request("GET", "/me", two, NULL, NULL);
    assert_int_equal(res.status, 401);
    login("bob", "battery+staple", NULL, three);
    assert_string_equal(three, "");
    login("bob", "new+password+2", NULL, three);
    assert_int_equal(res.status, 303);

    /* log out everywhere: every session of bob's */
    assert_true(sessions_of(bob) >= 2);
    int64_t ended = 0;
    assert_int_equal(cadre_logout_everywhere(app, NULL, bob, &ended), 0);
    assert_true(ended >= 2);
    assert_int_equal(sessions_of(bob), 0);
    request("GET", "/me", three, NULL, NULL);
    assert_int_equal(res.status, 401);
    assert_int_equal(cadre_user_set_password(app, NULL, bob, cadre_slice_cstr("battery staple")), 0);
    assert_int_equal(cadre_user_set_password(app, NULL, 999999, cadre_slice_cstr("x")),
                     CADRE_ENOTFOUND);
}

static void test_expiry_and_clearsessions(void **state)
{
    (void)state;
    char idle[64], old[64], fresh[64];
    login("bob", "battery+staple", NULL, idle);
    login("bob", "battery+staple", NULL, old);
    login("bob", "battery+staple", NULL, fresh);
    char hex[65];
    unsigned char h[32];
    /* idle: last seen 8 days ago (the default idle limit is 7); old: past its absolute expiry */
    crypto_hash_sha256(h, (const unsigned char *)idle, strlen(idle));
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    cadre_value p[2] = { CADRE_PINT((int64_t)time(NULL) - 8 * 86400), CADRE_PTEXT(hex) };
    assert_int_equal(cadre_db_exec(db, "UPDATE cadre_session SET seen = ? WHERE key_hash = ?", p,
                                   2, NULL, NULL), 0);
    crypto_hash_sha256(h, (const unsigned char *)old, strlen(old));
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    p[0] = CADRE_PINT((int64_t)time(NULL) - 1);
    assert_int_equal(cadre_db_exec(db, "UPDATE cadre_session SET expires = ? WHERE key_hash = ?",
                                   p, 2, NULL, NULL), 0);
    request("GET", "/me", idle, NULL, NULL);
    assert_int_equal(res.status, 401);
    request("GET", "/me", old, NULL, NULL);
    assert_int_equal(res.status, 401);
    request("GET", "/me", fresh, NULL, NULL);
    expect(200, "bob");
    int64_t deleted = 0;
    assert_int_equal(cadre_auth_clear_sessions(app, &deleted), 0);
    assert_true(deleted >= 2);
    request("GET", "/me", fresh, NULL, NULL);
    expect(200, "bob");
}

static void test_rehash_and_hash_format(void **state)
{
    (void)state;
    /* a hash made with parameters weaker than the app's (as an older release would have) */
    char weak[crypto_pwhash_STRBYTES];
    assert_int_equal(crypto_pwhash_str_alg(weak, "old secret", 10, 1, 8192,
                                           crypto_pwhash_ALG_ARGON2ID13), 0);
    cadre_value p[2] = { CADRE_PTEXT(weak), CADRE_PINT(bob) };
    assert_int_equal(cadre_db_exec(db, "UPDATE cadre_user SET password = ? WHERE id = ?", p, 2,
                                   NULL, NULL), 0);
    char key[64];
    login("bob", "old+secret", NULL, key);
    assert_int_equal(res.status, 303);
    cadre_arena a;
    cadre_arena_init(&a, 0);
    cadre_user u;
    bool found;
    assert_int_equal(cadre_user_get(db, &a, bob, &u, &found), 0);
    assert_true(found);
    assert_true(cadre_slice_eq_cstr((cadre_slice){ u.password.ptr, 31 },
                                    "$argon2id$v=19$m=19456,t=2,p=1$"));
    login("bob", "old+secret", NULL, key); /* the new hash still opens it */
    assert_int_equal(res.status, 303);

    /* the password is write-only: never in JSON, writeOnly in JSON Schema */
    cadre_buf out;
    cadre_buf_init(&out, 1 << 16);
    cadre_json_writer w;
    cadre_json_writer_init(&w, &out);
    cadre_schema_encode_json(CADRE_SCHEMA_OF(cadre_user), &u, &w);
    cadre_buf_append(&out, "", 1);
    assert_null(strstr(out.data, "argon2"));
    assert_null(strstr(out.data, "password"));
    assert_non_null(strstr(out.data, "\"username\":\"bob\""));
    out.len = 0;
    cadre_schema_write_json_schema(CADRE_SCHEMA_OF(cadre_user), &w, false);
    cadre_buf_append(&out, "", 1);
    assert_non_null(strstr(out.data, "\"writeOnly\":true"));
    cadre_buf_free(&out);
    cadre_arena_free(&a);
    assert_int_equal(cadre_user_set_password(app, NULL, bob, cadre_slice_cstr("battery staple")), 0);
}

static void test_users_and_weak_passwords(void **state)
{
    (void)state;
    assert_int_equal(cadre_user_create(app, "alice", "", "another one 1", false, NULL), CADRE_EEXIST);
    assert_int_equal(cadre_user_create(app, "no spaces", "", "another one 1", false, NULL),
                     CADRE_EINVAL);
    cadre_slice u = cadre_slice_cstr("dave"), e = cadre_slice_cstr("dave.smith@example.com");
    assert_non_null(cadre_password_weak(cadre_slice_cstr("short"), u, e));
    assert_non_null(cadre_password_weak(cadre_slice_cstr("1234567890"), u, e));
    assert_non_null(cadre_password_weak(cadre_slice_cstr("DAVE"), u, e));
    assert_non_null(cadre_password_weak(cadre_slice_cstr("Dave.Smith"), u, e));
    assert_null(cadre_password_weak(cadre_slice_cstr("correct horse"), u, e));
    assert_null(cadre_password_weak(cadre_slice_cstr("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                                                     "\xc3\xa9\xc3\xa9\xc3\xa9"), u, e));
    char hash[CADRE_PASSWORD_HASH_SIZE];
    static char big[CADRE_PASSWORD_MAX + 2];
    memset(big, 'x', sizeof big - 1);
    assert_int_equal(cadre_password_hash(app, cadre_slice_cstr(big), hash), CADRE_EINVAL);
    assert_int_equal(cadre_password_hash(app, cadre_slice_cstr("abc"), hash), 0);
    assert_int_equal(crypto_pwhash_str_verify(hash, "abc", 3), 0);
}

/* One raw request: headers as given (no CSRF added), for the CSRF cases. */
static void raw(const char *method, const char *target, const char *headers, const char *body)
{
    cadre_test_response_free(&res);
    assert_int_equal(cadre_test_request(app, method, target, headers, body,
                                        body ? strlen(body) : 0, &res), 0);
}

static void test_csrf(void **state)
{
    (void)state;
    char key[64], h[1024];
    login("alice", "correct+horse", NULL, key);
    const char *form = "Content-Type: application/x-www-form-urlencoded\r\n";

    /* a session's POST without a token, with a wrong one, without the cookie */
    snprintf(h, sizeof h, "Cookie: sessionid=%s; csrftoken=" SECRET "\r\n", key);
    raw("POST", "/password", h, "pw");
    assert_int_equal(res.status, 403);
    snprintf(h, sizeof h, "Cookie: sessionid=%s; csrftoken=" SECRET "\r\nX-CSRFToken: %s\r\n",
             key, "bbcdefghijklmnopqrstuvwxyzABCDEF");
    raw("POST", "/password", h, "pw");
    assert_int_equal(res.status, 403);
    snprintf(h, sizeof h, "Cookie: sessionid=%s\r\nX-CSRFToken: " SECRET "\r\n", key);
    raw("POST", "/password", h, "pw");
    assert_int_equal(res.status, 403);
    snprintf(h, sizeof h, "Cookie: sessionid=%s; csrftoken=" SECRET "\r\nX-CSRFToken: short\r\n", key);
    raw("POST", "/password", h, "pw");
    assert_int_equal(res.status, 403);
    /* another site's page: refused even with the right token */
    snprintf(h, sizeof h, "Cookie: sessionid=%s; csrftoken=" SECRET "\r\nX-CSRFToken: " SECRET
                          "\r\nOrigin: https://evil.example\r\n", key);
    raw("POST", "/password", h, "pw");
    assert_int_equal(res.status, 403);
    snprintf(h, sizeof h, "Cookie: sessionid=%s; csrftoken=" SECRET "\r\nX-CSRFToken: " SECRET
                          "\r\nReferer: https://evil.example/page\r\n", key);
    raw("POST", "/password", h, "pw");
    assert_int_equal(res.status, 403);
    snprintf(h, sizeof h, "Cookie: sessionid=%s; csrftoken=" SECRET "\r\nX-CSRFToken: " SECRET
                          "\r\nOrigin: null\r\n", key);
    raw("POST", "/password", h, "pw");
    assert_int_equal(res.status, 403);
    /* a safe method needs nothing */
    snprintf(h, sizeof h, "Cookie: sessionid=%s\r\nOrigin: https://evil.example\r\n", key);
    raw("GET", "/me", h, NULL);
    expect(200, "alice");

    /* the page's masked token, in the form field, from the same origin: accepted; a token is
     * never the secret's bytes, and two pages get two tokens */
    raw("GET", "/accounts/login/", NULL, NULL);
    const char *setc = cadre_test_header(&res, "Set-Cookie");
    assert_non_null(setc);
    assert_true(strncmp(setc, "csrftoken=", 10) == 0);
    char secret[33], token[65], token2[65];
    snprintf(secret, sizeof secret, "%.32s", setc + 10);
    const char *in = strstr(res.body, "name=\"csrfmiddlewaretoken\" value=\"");
    assert_non_null(in);
    snprintf(token, sizeof token, "%.64s", in + 34);
    assert_null(strstr(res.body, secret));
    snprintf(h, sizeof h, "Cookie: csrftoken=%s\r\n", secret);
    raw("GET", "/accounts/login/", h, NULL);
    assert_null(cadre_test_header(&res, "Set-Cookie")); /* the cookie it has is kept */
    in = strstr(res.body, "name=\"csrfmiddlewaretoken\" value=\"");
    snprintf(token2, sizeof token2, "%.64s", in + 34);
    assert_string_not_equal(token, token2);
    char body[256];
    snprintf(body, sizeof body, "username=alice&password=correct+horse&csrfmiddlewaretoken=%s", token2);
    snprintf(h, sizeof h, "%sCookie: csrftoken=%s\r\nOrigin: http://testserver\r\n"
                          "Referer: http://testserver/accounts/login/\r\n", form, secret);
    raw("POST", "/accounts/login/", h, body);
    assert_int_equal(res.status, 303);
    /* the login rotated the secret: a new csrftoken cookie */
    bool rotated = false;
    for (size_t i = 0; i < res.num_headers; i++)
        if (cadre_slice_ieq_cstr(res.headers[i].name, "Set-Cookie") &&
            cadre_slice_eq_cstr((cadre_slice){ res.headers[i].value.ptr, 10 }, "csrftoken=") &&
            strncmp(res.headers[i].value.ptr + 10, secret, 32) != 0)
            rotated = true;
    assert_true(rotated);

    /* the login form needs the token even from a browser without cookies (login CSRF) */
    raw("POST", "/accounts/login/", form, "username=alice&password=correct+horse");
    assert_int_equal(res.status, 403);
    /* a multipart form's field */
    snprintf(h, sizeof h, "Content-Type: multipart/form-data; boundary=XyZ\r\n"
                          "Cookie: csrftoken=%s\r\n", secret);
    snprintf(body, sizeof body, "--XyZ\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\n"
                                "alice\r\n--XyZ\r\nContent-Disposition: form-data; "
                                "name=\"csrfmiddlewaretoken\"\r\n\r\n%s\r\n--XyZ--\r\n", token);
    raw("POST", "/accounts/login/", h, body);
    assert_int_equal(res.status, 415); /* past CSRF: the login form itself takes urlencoded only */
    /* no cookie of ours: an API client's POST is not a browser's, nothing to check */
    raw("POST", "/who", NULL, NULL);
    assert_int_equal(res.status, 405);

    /* development mode says why */
    cadre_app_dev_mode(app, true);
    raw("POST", "/accounts/login/", form, "username=alice&password=correct+horse");
    expect(403, "CSRF cookie not set.");
    snprintf(h, sizeof h, "%sCookie: csrftoken=%s\r\n", form, secret);
    raw("POST", "/accounts/login/", h, "username=alice&password=correct+horse");
    expect(403, "CSRF token missing.");
    raw("POST", "/accounts/login/", h, "csrfmiddlewaretoken=" SECRET "&username=alice");
    expect(403, "CSRF token incorrect.");
    cadre_app_dev_mode(app, false);
}

static void test_route_declarations(void **state)
{
    (void)state;
    char key[64], h[512];
    login("bob", "battery+staple", NULL, key);
    snprintf(h, sizeof h, "Cookie: sessionid=%s\r\n", key);
    raw("GET", "/api/me", h, NULL);
    expect(200, "{\"username\":\"bob\"}");
    raw("GET", "/api/me", "Accept: text/html\r\n", NULL); /* an API: 401, no redirect */
    expect(401, "Not authenticated");
    assert_string_equal(cadre_test_header(&res, "WWW-Authenticate"), "Bearer");
    /* a token-only route: the session cookie counts for nothing, so no CSRF token is asked */
    snprintf(h, sizeof h, "Cookie: sessionid=%s; csrftoken=" SECRET "\r\n", key);
    raw("POST", "/api/ping", h, NULL);
    expect(401, "Not authenticated");
    assert_string_equal(cadre_test_header(&res, "WWW-Authenticate"), "Bearer");

    raw("GET", "/openapi.json", NULL, NULL);
    expect(200, "\"securitySchemes\":{\"sessionCookie\":{\"type\":\"apiKey\",\"in\":\"cookie\","
                "\"name\":\"sessionid\"");
    expect(200, "\"bearerToken\":{\"type\":\"http\",\"scheme\":\"bearer\"}");
    expect(200, "\"security\":[{\"sessionCookie\":[]},{\"bearerToken\":[]}]");
    expect(200, "\"security\":[{\"bearerToken\":[]}]");

    /* .auth without auth in the app: refused at start-up */
    cadre_app *bare = cadre_app_new("bare");
    CADRE_ROUTE(bare, GET, "/x", api_me, cadre_none, cadre_none, name_out, .auth = CADRE_AUTH_TOKEN);
    assert_int_equal(cadre_app_check(bare), 1);
    cadre_app_free(bare);

    /* an app whose routes all take tokens (a service): its document offers no session scheme */
    cadre_app *svc = cadre_app_new("svc");
    assert_non_null(cadre_auth(svc, db));
    CADRE_ROUTE(svc, GET, "/api/me", api_me, cadre_none, cadre_none, name_out,
                .auth = CADRE_AUTH_TOKEN);
    cadre_test_response doc = { 0 };
    assert_int_equal(cadre_test_request(svc, "GET", "/openapi.json", NULL, NULL, 0, &doc), 0);
    assert_int_equal(doc.status, 200);
    assert_non_null(strstr(doc.body, "\"securitySchemes\":{\"bearerToken\":{\"type\":\"http\""));
    assert_null(strstr(doc.body, "sessionCookie"));
    cadre_test_response_free(&doc);
    cadre_app_free(svc);
}

/* A request with this token (and extra headers, or NULL). */
static void bearer(const char *method, const char *target, const char *token, const char *extra)
{
    char h[1200];
    snprintf(h, sizeof h, "Authorization: Bearer %.100s\r\n%.1000s", token, extra ? extra : "");
    raw(method, target, h, NULL);
}

#define TOKEN_USE_FIELDS(F) F(datetime, last_used, CADRE_OPTIONAL, CADRE_NULLABLE) F(string, key_hash)
CADRE_SCHEMA(token_use, TOKEN_USE_FIELDS)

static void test_tokens(void **state)
{
    (void)state;
    char tok[CADRE_TOKEN_SIZE], scoped[CADRE_TOKEN_SIZE], reports[CADRE_TOKEN_SIZE],
        key[64], h[512];
    int64_t id, scoped_id;
    assert_int_equal(cadre_token_create(app, bob, "laptop", NULL, 0, tok, &id), 0);
    assert_int_equal(strlen(tok), CADRE_TOKEN_SIZE - 1);
    assert_memory_equal(tok, "cadre_", 6);
    /* the table holds the prefix and a hash, never the token */
    cadre_arena a;
    cadre_arena_init(&a, 0);
    token_use use;
    bool found;
    const cadre_value pid = CADRE_PINT(id);
    assert_int_equal(cadre_db_query_one(db, &a, token_use__schema(), &use, &found,
                                        "SELECT last_used, key_hash FROM cadre_token WHERE id = ?",
                                        &pid, 1), 0);
    assert_true(found && cadre_is_null(&use, token_use, last_used));
    assert_int_equal(use.key_hash.len, 64);
    assert_null(memmem(use.key_hash.ptr, use.key_hash.len, tok + 19, 10));

    /* the token opens the API without a cookie, and a POST without a CSRF token */
    bearer("GET", "/api/me", tok, NULL);
    expect(200, "{\"username\":\"bob\"}");
    bearer("POST", "/api/ping", tok, NULL);
    expect(200, "bob");
    bearer("GET", "/api/reports", tok, NULL);
    expect(200, "laptop");
    assert_int_equal(cadre_db_query_one(db, &a, token_use__schema(), &use, &found,
                                        "SELECT last_used, key_hash FROM cadre_token WHERE id = ?",
                                        &pid, 1), 0);
    assert_false(cadre_is_null(&use, token_use, last_used));
    /* with alice's session cookie but no CSRF token: the token decides, as bob */
    login("alice", "correct+horse", NULL, key);
    snprintf(h, sizeof h, "Cookie: sessionid=%s; csrftoken=" SECRET "\r\n", key);
    bearer("POST", "/api/ping", tok, h);
    expect(200, "bob");
    /* the scheme's name in any case, spaces around */
    raw("GET", "/api/me", cadre_arena_printf(&a, "Authorization:   bEARER   %s \r\n", tok), NULL);
    expect(200, "bob");
    /* a session on a route that takes both */
    raw("GET", "/api/reports", h, NULL);
    expect(200, "session");
    /* pages take no token: the header is not looked at */
    bearer("GET", "/me", tok, NULL);
    expect(401, "Not authenticated");

    /* bad ones: 401 invalid_token, malformed 400 invalid_request, another scheme not ours */
    char wrong[CADRE_TOKEN_SIZE];
    memcpy(wrong, tok, sizeof wrong);
    wrong[40] = wrong[40] == 'A' ? 'B' : 'A';
    bearer("GET", "/api/me", wrong, h); /* even with a session cookie: the token was refused */
    expect(401, "The token is not valid.");
    assert_non_null(strstr(cadre_test_header(&res, "WWW-Authenticate"),
                           "Bearer error=\"invalid_token\""));
    bearer("GET", "/api/me", "cadre_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL);
    expect(401, "not valid");
    bearer("GET", "/api/me", "abc", NULL);
    expect(401, "not valid");
    bearer("GET", "/api/me", "a b", NULL);
    expect(400, "Malformed");
    assert_non_null(strstr(cadre_test_header(&res, "WWW-Authenticate"), "invalid_request"));
    raw("GET", "/api/me", "Authorization: Bearer\r\n", NULL);
    expect(400, "Malformed");
    raw("GET", "/api/me", "Authorization: Basic Ym9iOmJhdHRlcnkgc3RhcGxl\r\n", NULL);
    expect(401, "Not authenticated");
    assert_string_equal(cadre_test_header(&res, "WWW-Authenticate"), "Bearer");

    /* scopes */
    assert_int_equal(cadre_token_create(app, bob, "ci", "inventory.* other", 0, scoped,
                                        &scoped_id), 0);
    assert_int_equal(cadre_token_create(app, bob, "reporting", "x reports", 0, reports, NULL), 0);
    bearer("GET", "/api/reports", scoped, NULL);
    expect(403, "scopes");
    assert_string_equal(cadre_test_header(&res, "WWW-Authenticate"),
                        "Bearer error=\"insufficient_scope\", scope=\"reports\"");
    bearer("GET", "/api/reports", reports, NULL);
    expect(200, "reporting");
    bearer("GET", "/api/me", scoped, NULL); /* no scope asked: any token of bob's */
    expect(200, "bob");

    /* expiry */
    cadre_token t = { .id = scoped_id, .expires = { .sec = (int64_t)time(NULL) - 1 } };
    cadre_set(&t, cadre_token, id);
    cadre_set(&t, cadre_token, expires);
    assert_int_equal(cadre_token_patch(db, &a, &t, NULL), 0);
    bearer("GET", "/api/me", scoped, NULL);
    expect(401, "The token has expired.");
    t.expires.sec = (int64_t)time(NULL) + 3600;
    assert_int_equal(cadre_token_patch(db, &a, &t, NULL), 0);
    bearer("GET", "/api/me", scoped, NULL);
    expect(200, "bob");

    /* revocation: only by its user (or anyone with user 0) */
    assert_int_equal(cadre_token_revoke(app, alice, scoped_id), CADRE_ENOTFOUND);
    assert_int_equal(cadre_token_revoke(app, bob, scoped_id), 0);
    assert_int_equal(cadre_token_revoke(app, bob, scoped_id), CADRE_ENOTFOUND);
    bearer("GET", "/api/me", scoped, NULL);
    expect(401, "not valid");
    bearer("GET", "/api/me", tok, NULL); /* the others still work */
    expect(200, "bob");

    /* an inactive user's token opens nothing */
    char carols[CADRE_TOKEN_SIZE];
    assert_int_equal(cadre_token_create(app, carol, "old", "", 0, carols, NULL), 0);
    bearer("GET", "/api/me", carols, NULL);
    expect(401, "inactive");

    /* what cannot be made */
    assert_int_equal(cadre_token_create(app, bob, "", NULL, 0, wrong, NULL), CADRE_EINVAL);
    assert_int_equal(cadre_token_create(app, bob, "x", "a b*c", 0, wrong, NULL), CADRE_EINVAL);
    assert_int_equal(cadre_token_create(app, bob, "x", "a  b", 0, wrong, NULL), CADRE_EINVAL);
    assert_int_equal(cadre_token_create(app, bob, "x", "a ", 0, wrong, NULL), CADRE_EINVAL);
    assert_int_equal(cadre_token_create(app, bob, "x", NULL, (int64_t)time(NULL) - 5, wrong, NULL),
                     CADRE_EINVAL);
    assert_int_equal(cadre_token_create(app, 999999, "x", NULL, 0, wrong, NULL), CADRE_ENOTFOUND);
    assert_int_equal(wrong[0], '\0');
    cadre_arena_free(&a);
}

/* A request as user key (a session; NULL: anonymous) or with a token (Bearer), JSON body. */
static void as(const char *key, const char *token, const char *method, const char *target,
               const char *json)
{
    char h[1024];
    if (token)
        snprintf(h, sizeof h, "Authorization: Bearer %.80s\r\nContent-Type: application/json\r\n",
                 token);
    else
        snprintf(h, sizeof h, "Cookie: %s%.64s%scsrftoken=" SECRET "\r\nX-CSRFToken: " SECRET
                 "\r\nContent-Type: application/json\r\n", key ? "sessionid=" : "",
                 key ? key : "", key ? "; " : "");
    raw(method, target, h, json);
}

static int64_t count_rows(const char *sql, int64_t id)
{
    cadre_arena a;
    cadre_arena_init(&a, 0);
    cadre_rows rows;
    const cadre_value p = CADRE_PINT(id);
    assert_int_equal(cadre_db_query(db, &a, CADRE_SCHEMA_OF(cadre_session), &rows, sql, &p, 1), 0);
    int64_t n = (int64_t)rows.len;
    cadre_arena_free(&a);
    return n;
}

static void test_permissions(void **state)
{
    (void)state;
    int64_t dave, eve, editors, again;
    assert_int_equal(cadre_user_create(app, "dave", "", "dave's pass", false, &dave), 0);
    assert_int_equal(cadre_user_create(app, "eve", "", "eve's pass", false, &eve), 0);
    assert_int_equal(cadre_group_create(app, "editors", &editors), 0);
    assert_int_equal(cadre_group_create(app, "editors", &again), CADRE_EEXIST);
    assert_int_equal(again, editors);
    const char *granted[] = { "shop.view_note", "shop.add_note", "shop.change_note" };
    for (int i = 0; i < 3; i++) {
        assert_int_equal(cadre_group_grant(app, editors, granted[i]), 0);
        assert_int_equal(cadre_group_grant(app, editors, granted[i]), 0); /* held: no change */
    }
    assert_int_equal(count_rows("SELECT id FROM cadre_group_perm WHERE group_id = ?", editors), 3);
    assert_int_equal(cadre_group_grant(app, editors, "shop.view_notes"), CADRE_EINVAL);
    assert_int_equal(cadre_group_grant(app, 999999, "shop.view_note"), CADRE_ENOTFOUND);
    assert_int_equal(cadre_user_join(app, dave, editors), 0);
    assert_int_equal(cadre_user_join(app, dave, editors), 0);
    assert_int_equal(count_rows("SELECT id FROM cadre_user_group WHERE user_id = ?", dave), 1);
    assert_int_equal(cadre_user_grant(app, eve, "shop.view_note"), 0);

    /* rows of three owners */
    cadre_arena a;
    cadre_arena_init(&a, 0);
    int64_t ids[3];
    const int64_t owners[3] = { alice, dave, eve };
    for (int i = 0; i < 3; i++) {
        note n = { .owner_id = owners[i], .title = cadre_slice_cstr("a note") };
        cadre_set(&n, note, owner_id);
        cadre_set(&n, note, title);
        assert_int_equal(note_insert(db, &a, &n), 0);
        ids[i] = n.id;
    }
    char kalice[64], kbob[64], kdave[64], keve[64], path[64], body[128];
    login("alice", "correct+horse", NULL, kalice);
    login("bob", "battery+staple", NULL, kbob);
    login("dave", "dave%27s+pass", NULL, kdave);
    login("eve", "eve%27s+pass", NULL, keve);
    assert_true(kalice[0] && kbob[0] && kdave[0] && keve[0]);

    /* anonymous: 401; a user without the permission: 403, before any row is looked at */
    as(NULL, NULL, "GET", "/api/notes", NULL);
    expect(401, "Not authenticated");
    as(NULL, NULL, "POST", "/api/notes", "{\"owner_id\":1,\"title\":\"x\"}");
    expect(401, "Not authenticated");
    as(kbob, NULL, "GET", "/api/notes", NULL);
    expect(403, "You do not have permission to perform this action.");
    snprintf(path, sizeof path, "/api/notes/%lld", (long long)ids[1]);
    as(kbob, NULL, "GET", path, NULL);
    expect(403, "permission");
    as(kbob, NULL, "DELETE", "/api/notes/999999", NULL);
    expect(403, "permission");

    /* dave, an editor: his rows only (the others are not found), no deleting */
    as(kdave, NULL, "GET", "/api/notes", NULL);
    expect(200, cadre_arena_printf(&a, "{\"count\":1,\"results\":[{\"id\":%lld,", (long long)ids[1]));
    as(kdave, NULL, "GET", path, NULL);
    expect(200, "a note");
    snprintf(path, sizeof path, "/api/notes/%lld", (long long)ids[0]);
    as(kdave, NULL, "GET", path, NULL);
    expect(404, "Not Found");
    as(kdave, NULL, "PATCH", path, "{\"title\":\"mine now\"}");
    expect(404, "Not Found");
    snprintf(path, sizeof path, "/api/notes/%lld", (long long)ids[1]);
    as(kdave, NULL, "PATCH", path, "{\"title\":\"edited\"}");
    expect(200, "edited");
    as(kdave, NULL, "DELETE", path, NULL);
    expect(403, "permission");
    snprintf(body, sizeof body, "{\"owner_id\":%lld,\"title\":\"new\"}", (long long)dave);
    as(kdave, NULL, "POST", "/api/notes", body);
    expect(201, "new");
    snprintf(body, sizeof body, "{\"owner_id\":%lld,\"title\":\"planted\"}", (long long)alice);
    as(kdave, NULL, "POST", "/api/notes", body); /* a row for another: the object hook says no */
    expect(403, "permission");

    /* eve holds view by herself: her row only, nothing else */
    as(keve, NULL, "GET", "/api/notes", NULL);
    expect(200, "{\"count\":1,");
    snprintf(body, sizeof body, "{\"owner_id\":%lld,\"title\":\"x\"}", (long long)eve);
    as(keve, NULL, "POST", "/api/notes", body);
    expect(403, "permission");

    /* alice, superuser: every row, every action */
    as(kalice, NULL, "GET", "/api/notes", NULL);
    expect(200, "{\"count\":4,");
    snprintf(path, sizeof path, "/api/notes/%lld", (long long)ids[2]);
    as(kalice, NULL, "DELETE", path, NULL);
    expect(204, NULL);

    /* tokens: their user's permissions, narrowed by their scopes */
    char tok[CADRE_TOKEN_SIZE], viewer[CADRE_TOKEN_SIZE], inactive[CADRE_TOKEN_SIZE];
    assert_int_equal(cadre_token_create(app, dave, "all", NULL, 0, tok, NULL), 0);
    assert_int_equal(cadre_token_create(app, dave, "viewer", "shop.view_*", 0, viewer, NULL), 0);
    assert_int_equal(cadre_token_create(app, carol, "inactive", NULL, 0, inactive, NULL), 0);
    as(NULL, tok, "GET", "/api/notes", NULL);
    expect(200, "{\"count\":2,");
    snprintf(body, sizeof body, "{\"owner_id\":%lld,\"title\":\"by token\"}", (long long)dave);
    as(NULL, tok, "POST", "/api/notes", body); /* no CSRF token: a Bearer request */
    expect(201, "by token");
    as(NULL, viewer, "GET", "/api/notes", NULL);
    expect(200, "{\"count\":3,");
    as(NULL, viewer, "POST", "/api/notes", body);
    expect(403, "scopes");
    assert_string_equal(cadre_test_header(&res, "WWW-Authenticate"),
                        "Bearer error=\"insufficient_scope\", scope=\"shop.add_note\"");
    as(NULL, inactive, "GET", "/api/notes", NULL);
    expect(401, "inactive");

    /* a permission of the app's own, on a custom route; leaving the group takes its rights */
    as(kdave, NULL, "POST", "/approve", NULL);
    expect(403, "permission");
    assert_int_equal(cadre_group_grant(app, editors, "shop.approve_note"), 0);
    as(kdave, NULL, "POST", "/approve", NULL);
    expect(200, "approved");
    as(NULL, NULL, "POST", "/approve", NULL);
    expect(401, "Not authenticated");
    assert_int_equal(cadre_user_leave(app, dave, editors), 0);
    as(kdave, NULL, "POST", "/approve", NULL);
    expect(403, "permission");
    as(kdave, NULL, "GET", "/api/notes", NULL);
    expect(403, "permission");
    assert_int_equal(cadre_group_revoke(app, editors, "shop.approve_note"), 0);

    /* the names */
    char name[CADRE_PERM_MAX + 1];
    assert_int_equal(cadre_perm_name(app, note__schema(), "change", name), 0);
    assert_string_equal(name, "shop.change_note");
    assert_int_equal(cadre_perm_name(app, cadre_user__schema(), "view", name), 0);
    assert_string_equal(name, "auth.view_cadre_user");
    assert_int_equal(cadre_perm_name(app, CADRE_SCHEMA_OF(name_out), "view", name),
                     CADRE_ENOTFOUND);
    cadre_app *bad = cadre_app_new("bad");
    cadre_auth(bad, db);
    assert_int_equal(cadre_permission(bad, "no-dot", NULL), CADRE_EINVAL);
    assert_int_equal(cadre_app_check(bad), 1);
    cadre_app_free(bad);
    cadre_arena_free(&a);
}

/* Throttling through the test client (no peer: one client address, ""): five failures, then
 * 429 with Retry-After, for that username only; a success clears the count. */
static void test_throttling(void **state)
{
    (void)state;
    int64_t frank;
    assert_int_equal(cadre_user_create(app, "frank", "", "frank's pass", false, &frank), 0);
    char key[64];
    for (int i = 0; i < 4; i++) {
        login("frank", "wrong", NULL, key);
        expect(200, "correct username and password");
    }
    login("frank", "frank%27s+pass", NULL, key); /* clears the four */
    expect(303, NULL);
    for (int i = 0; i < 5; i++) {
        login("frank", "wrong", NULL, key);
        expect(200, "correct username and password");
    }
    login("frank", "frank%27s+pass", NULL, key);
    expect(429, "Too many failed login attempts. Try again in 15 minutes.");
    assert_string_equal(key, "");
    const char *after = cadre_test_header(&res, "Retry-After");
    assert_non_null(after);
    assert_true(atoi(after) > 890 && atoi(after) <= 900);
    login("bob", "battery+staple", NULL, key); /* another username: its own count */
    expect(303, NULL);
    /* the window passed: the rows are older than it */
    const cadre_value p = CADRE_PINT((int64_t)time(NULL) - 901);
    assert_int_equal(cadre_db_exec(db, "UPDATE cadre_login_failure SET at = ?", &p, 1, NULL, NULL),
                     0);
    login("frank", "frank%27s+pass", NULL, key);
    expect(303, NULL);
}

static void test_configuration_errors(void **state)
{
    (void)state;
    cadre_app *bad = cadre_app_new("bad");
    assert_null(cadre_auth(bad, NULL));
    assert_null(cadre_auth(bad, db, .login_path = "accounts"));
    assert_null(cadre_auth(bad, db, .hash_mem = 1 << 20));
    assert_null(cadre_auth(bad, db, .trusted_origins = "example.com"));
    assert_null(cadre_auth(bad, db, .trusted_origins = "https://a.example/path"));
    assert_null(cadre_auth(bad, db, .csrf_cookie_name = "sessionid"));
    assert_non_null(cadre_auth(bad, db, .trusted_origins = "https://a.example,https://*.b.example:8443"));
    assert_true(cadre_app_check(bad) >= 6);
    cadre_app_free(bad);
    cadre_app *twice = cadre_app_new("twice");
    assert_non_null(cadre_auth(twice, db));
    assert_null(cadre_auth(twice, db));
    cadre_app_free(twice);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_page_and_cookie),
        cmocka_unit_test(test_own_user_fields),
        cmocka_unit_test(test_user_in_every_page),
        cmocka_unit_test(test_wrong_users),
        cmocka_unit_test(test_next_stays_on_the_site),
        cmocka_unit_test(test_guards),
        cmocka_unit_test(test_fixation_and_logout),
        cmocka_unit_test(test_password_change_ends_other_sessions),
        cmocka_unit_test(test_expiry_and_clearsessions),
        cmocka_unit_test(test_rehash_and_hash_format),
        cmocka_unit_test(test_users_and_weak_passwords),
        cmocka_unit_test(test_csrf),
        cmocka_unit_test(test_route_declarations),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_permissions),
        cmocka_unit_test(test_throttling),
        cmocka_unit_test(test_configuration_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
