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
    return cadre_main(app, argc, argv);
}
