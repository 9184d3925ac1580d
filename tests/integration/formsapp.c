/*
 * formsapp.c — the application forms_test.py runs against: typed routes whose bodies may come as
 * forms (.form = true), urlencoded and multipart with uploads (cadre/form.h). Uploads go to
 * $TMPDIR (the test points it at a directory of its own). Uses only the public API.
 */
#include <cadre.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLAN_VALUES(V) V(PLAN_FREE, "free") V(PLAN_PRO, "pro")
CADRE_ENUM(plan, PLAN_VALUES)

#define SIGNUP_FIELDS(F)                                                                           \
    F(string, username, CADRE_MIN_LEN(3), CADRE_MAX_LEN(20))                                       \
    F(int32, age, CADRE_GE(13))                                                                    \
    F(strings, interests, CADRE_MAX_ITEMS(5), CADRE_DEFAULT_EMPTY)                                 \
    F(bool, newsletter, CADRE_DEFAULT(false))                                                      \
    F(enum(plan), plan, CADRE_DEFAULT(PLAN_FREE))
CADRE_SCHEMA(Signup, SIGNUP_FIELDS)

#define UPLOAD_FIELDS(F)                                                                           \
    F(string, title, CADRE_MIN_LEN(1))                                                             \
    F(file, doc)                                                                                   \
    F(files, attachments, CADRE_MAX_ITEMS(3), CADRE_DEFAULT_EMPTY)
CADRE_SCHEMA(UploadForm, UPLOAD_FIELDS)

static int signup(cadre_request *r, const cadre_none *p, const Signup *in, Signup *out)
{
    (void)r, (void)p;
    *out = *in;
    return 201;
}

/* Answers the uploaded file's bytes, with what the form said about it in headers. */
static int upload(cadre_request *r, const cadre_none *p, const UploadForm *in, cadre_none *out)
{
    (void)p, (void)out;
    FILE *f = fopen(in->doc.path, "rb");
    if (!f)
        return cadre_error(r, 500, "the upload is not there");
    char *bytes = cadre_alloc(r, (size_t)in->doc.size + 1);
    size_t n = fread(bytes, 1, (size_t)in->doc.size + 1, f);
    fclose(f);
    char size[32];
    snprintf(size, sizeof size, "%lld", (long long)in->doc.size);
    cadre_set_header(r, "X-Title", in->title.ptr);
    cadre_set_header(r, "X-Filename", in->doc.filename);
    cadre_set_header(r, "X-Size", size);
    cadre_set_header(r, "X-Path", in->doc.path);
    snprintf(size, sizeof size, "%zu", in->attachments.len);
    cadre_set_header(r, "X-Attachments", size);
    return cadre_respond_ref(r, 200, in->doc.content_type, bytes, n);
}

/* Lets in only requests that carry "Authorization: Bearer open-sesame" (a guard runs before the
 * body is read: a refused upload is never received). */
static int token_required(cadre_request *r, void *ctx)
{
    (void)ctx;
    cadre_slice auth = cadre_request_header(r, "Authorization");
    if (auth.ptr && cadre_slice_eq_cstr(auth, "Bearer open-sesame"))
        return 0;
    cadre_set_header(r, "WWW-Authenticate", "Bearer");
    return cadre_error(r, 401, "Not authenticated");
}

/* A guard that waits (as one looking a session up in a database would) before letting in. */
static int slow_guard(cadre_request *r, void *ctx)
{
    (void)ctx;
    return cadre_sleep(r, 20);
}

/* The app's middleware refuses any request that says "X-Block: 1", before its body. */
static int blocker(cadre_request *r, cadre_next *next, void *ctx)
{
    (void)ctx;
    cadre_slice b = cadre_request_header(r, "X-Block");
    if (b.ptr && cadre_slice_eq_cstr(b, "1"))
        return cadre_error(r, 403, "blocked");
    return cadre_next_call(r, next);
}

/* A plain route: answers the body it was given. */
static int echo(cadre_request *r)
{
    return cadre_respond_ref(r, 200, "application/octet-stream", r->body.ptr, r->body.len);
}

int main(int argc, char **argv)
{
    cadre_app *app = cadre_app_new("formsapp");
    if (!app)
        return 1;
    CADRE_ROUTE(app, POST, "/signup", signup, cadre_none, Signup, Signup, .form = true,
                .status = 201);
    CADRE_ROUTE(app, POST, "/signup-json", signup, cadre_none, Signup, Signup, .status = 201);
    CADRE_ROUTE(app, POST, "/upload", upload, cadre_none, UploadForm, cadre_none, .form = true);
    CADRE_ROUTE(app, POST, "/small-upload", upload, cadre_none, UploadForm, cadre_none, .form = true,
                .form_limits = &(cadre_form_limits){ .max_file_size = 1000 });
    cadre_app_use(app, blocker, NULL);
    cadre_group_begin(app, "/private", .guards = CADRE_GUARDS({ token_required, NULL }));
    CADRE_ROUTE(app, POST, "/upload", upload, cadre_none, UploadForm, cadre_none, .form = true);
    cadre_route(app, "POST", "/echo", echo);
    cadre_group_end(app);
    cadre_group_begin(app, "/slow", .guards = CADRE_GUARDS({ slow_guard, NULL }));
    CADRE_ROUTE(app, POST, "/upload", upload, cadre_none, UploadForm, cadre_none, .form = true);
    cadre_route(app, "POST", "/echo", echo);
    cadre_group_end(app);
    return cadre_main(app, argc, argv);
}
