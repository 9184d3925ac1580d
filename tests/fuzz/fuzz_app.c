/*
 * libFuzzer target for everything between the socket and a typed handler: the input is the raw
 * bytes a client sends (one or more requests), run through the in-process test client, so the
 * HTTP parser, percent-decoding of paths, query-string lookups, cookie parsing, header
 * parameters, text-to-type decoding and the 422 writer all see hostile input together.
 *
 * Invariants (abort on violation): a response comes back or the client reports a clean error; its
 * status is a real HTTP status; every JSON answer (422s, 404s, the echo) is valid JSON.
 */
#include <cadre.h>

#include "fuzz_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define P_FIELDS(F)                                                                                \
    F(int64, id, CADRE_GE(1))                                                                      \
    F(string, q, CADRE_MAX_LEN(8), CADRE_OPTIONAL)                                                 \
    F(int32, n, CADRE_DEFAULT(3), CADRE_LE(100))                                                   \
    F(bool, x_flag, CADRE_IN_HEADER, CADRE_OPTIONAL)                                               \
    F(string, session, CADRE_IN_COOKIE, CADRE_OPTIONAL)                                            \
    F(date, day, CADRE_OPTIONAL)
CADRE_SCHEMA(fz_params, P_FIELDS)

#define B_FIELDS(F) F(string, name) F(doubles, w, CADRE_MAX_ITEMS(3), CADRE_DEFAULT_EMPTY)
CADRE_SCHEMA(fz_body, B_FIELDS)

static int typed(cadre_request *r, const fz_params *p, const fz_body *b, fz_body *out)
{
    (void)r, (void)p;
    *out = *b;
    return 200;
}

/* a form route: its multipart bodies are streamed to the decoder by the connection */
#define U_FIELDS(F) F(string, title, CADRE_OPTIONAL) F(file, doc, CADRE_OPTIONAL)
CADRE_SCHEMA(fz_upload, U_FIELDS)

static int upload(cadre_request *r, const cadre_none *p, const fz_upload *u, cadre_none *out)
{
    (void)p, (void)out;
    return cadre_text(r, 200, u->doc.filename ? u->doc.filename : "-");
}

static const cadre_form_limits upload_limits = { .max_parts = 8, .max_file_size = 4096 };

static int plain(cadre_request *r)
{
    cadre_slice v;
    if (cadre_request_query(r, "k", &v))
        return cadre_respond(r, 200, "text/plain", v.ptr, v.len);
    return cadre_text(r, 200, "none");
}

static cadre_app *app;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!app) {
        cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
        app = cadre_app_new("fuzz");
        CADRE_ROUTE(app, POST, "/t/{id}", typed, fz_params, fz_body, fz_body);
        cadre_get(app, "/p/{a}", plain);
        CADRE_ROUTE(app, POST, "/f", upload, cadre_none, fz_upload, cadre_none, .form = true,
                    .form_limits = &upload_limits);
        CHECK(cadre_app_check(app) == 0);
    }
    cadre_test_response res;
    int rc = cadre_test_raw(app, (const char *)data, size, &res);
    CHECK(rc == 0 || rc == CADRE_ECLOSED || rc == CADRE_EPARSE || rc == CADRE_ETIMEDOUT);
    if (rc == 0) {
        CHECK(res.status >= 100 && res.status <= 599);
        const char *ct = cadre_test_header(&res, "Content-Type");
        /* (a HEAD answer announces its JSON body without carrying it) */
        if (ct && strcmp(ct, "application/json") == 0 && res.body_len > 0)
            CHECK(cadre_json_validate(res.body, res.body_len, CADRE_JSON_MAX_DEPTH, NULL, NULL) == 0);
        cadre_test_response_free(&res);
    }
    return 0;
}
