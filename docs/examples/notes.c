/* A notes API: each user sees and changes only their own notes, logged in by session (a browser,
 * with CSRF) or by an API token. docs/auth.md shows how to build and run it. */
#include <cadre.h>

#include <stdio.h>

#define NOTE_FIELDS(F)                                                                             \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(int64, owner_id, CADRE_FOREIGN_KEY(cadre_user, CADRE_ON_DELETE_CASCADE), CADRE_INDEX)        \
    F(string, title, CADRE_MIN_LEN(1), CADRE_MAX_LEN(200))
CADRE_MODEL(note, NOTE_FIELDS)

/* The project's user: cadre_user's fields, then its own, which its migrations add to the table. */
#define MEMBER_FIELDS(F)                                                                           \
    CADRE_USER_FIELDS(F)                                                                           \
    F(string, display_name, CADRE_MAX_LEN(100), CADRE_DEFAULT_STR(""))
CADRE_USER_MODEL(member, MEMBER_FIELDS)

#define PROFILE_FIELDS(F) F(string, display_name, CADRE_MAX_LEN(100))
CADRE_SCHEMA(profile, PROFILE_FIELDS)

static cadre_db *db;

/* GET /api/me: the caller, with the project's fields (a password is never written out). */
static int me(cadre_request *r, const cadre_none *p, const cadre_none *in, member *out)
{
    (void)p, (void)in;
    *out = *cadre_request_user_as(r, member);
    return 0;
}

/* PATCH /api/me: changes the caller's display name. */
static int rename_me(cadre_request *r, const cadre_none *p, const profile *in, member *out)
{
    (void)p;
    member m = { .id = cadre_request_user(r)->id, .display_name = in->display_name };
    cadre_set(&m, member, id);
    cadre_set(&m, member, display_name);
    bool found;
    int rc = member_patch(db, r->arena, &m, NULL);
    return rc ? rc : member_get(db, r->arena, m.id, out, &found);
}

/* A note is its owner's: to read, change or delete, and to create (owner_id must be the caller). */
static bool own(cadre_request *r, const char *action, const void *row, void *ctx)
{
    (void)action, (void)ctx;
    return ((const note *)row)->owner_id == cadre_request_user(r)->id;
}

/* Lists hold only the caller's notes. */
static int own_rows(cadre_request *r, cadre_query *q, void *ctx)
{
    (void)ctx;
    cadre_q_filter(q, "owner_id", CADRE_PINT(cadre_request_user(r)->id));
    return 0;
}

int main(int argc, char **argv)
{
    int rc = cadre_db_open_env("sqlite://notes.db", &db);
    if (rc) {
        fprintf(stderr, "error: cannot open the database: %s\n", cadre_strerror(rc));
        return 1;
    }
    cadre_app *app = cadre_app_new("notes");  /* its models' permissions: notes.view_note, ... */
    cadre_auth(app, db);
    cadre_cors(app, .origins = "http://localhost:5173", .credentials = true);
    cadre_models(app, db, "migrations", CADRE_SCHEMA_OF(member), CADRE_SCHEMA_OF(note));
    cadre_object_perms(app, CADRE_SCHEMA_OF(note), .allows = own, .filter = own_rows);

    cadre_group_begin(app, "/api", .auth = CADRE_AUTH_SESSION | CADRE_AUTH_TOKEN);
    cadre_crud(app, "/notes", CADRE_SCHEMA_OF(note), db);
    CADRE_ROUTE(app, GET, "/me", me, cadre_none, cadre_none, member,
                .guards = CADRE_GUARDS(CADRE_LOGIN_REQUIRED));
    CADRE_ROUTE(app, PATCH, "/me", rename_me, cadre_none, profile, member,
                .guards = CADRE_GUARDS(CADRE_LOGIN_REQUIRED));
    cadre_group_end(app);

    int status = cadre_main(app, argc, argv);
    cadre_db_close(db);
    return status;
}
