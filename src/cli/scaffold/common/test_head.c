/* @NAME@'s tests: the app in-process (the test client: no socket, the real request path), on a
 * fresh SQLite database in a temporary directory. `meson test -C build` runs them. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include "app.h"
#include "models.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

static cadre_app *app;
static cadre_db *test_db;
static cadre_test_response res;

/* One request; the answer in res. */
static void request(const char *method, const char *target, const char *headers, const char *body)
{
    cadre_test_response_free(&res);
    if (cadre_test_request(app, method, target, headers, body, body ? strlen(body) : 0, &res) != 0)
        res.status = 0;
}

/* The API, with a user's token: none is refused, then an item made and listed. */
static void api(void)
{
    request("GET", "/api/items", NULL, NULL);
    CHECK(res.status == 401, "GET /api/items without a token: %d", res.status);
    int64_t uid;
    char token[CADRE_TOKEN_SIZE], auth[CADRE_TOKEN_SIZE + 80];
    CHECK(cadre_user_create(app, "tester", "", "a long test password", true, &uid) == 0, "user");
    CHECK(cadre_token_create(app, uid, "tests", NULL, 0, token, NULL) == 0, "token");
    snprintf(auth, sizeof auth, "Authorization: Bearer %s\r\nContent-Type: application/json\r\n",
             token);
    request("POST", "/api/items", auth, "{\"name\": \"First\"}");
    CHECK(res.status == 201 && strstr(res.body, "\"First\""), "POST /api/items: %d %s",
          res.status, res.body);
    request("POST", "/api/items", auth, "{\"name\": \"\"}");
    CHECK(res.status == 422, "an empty name is refused: %d %s", res.status, res.body);
    request("GET", "/api/items", auth, NULL);
    CHECK(res.status == 200 && strstr(res.body, "\"First\""), "GET /api/items: %d %s", res.status,
          res.body);
    /* cadre:tests — `cadre generate model` adds its model's checks here */
    request("GET", "/openapi.json", NULL, NULL);
    CHECK(res.status == 200 && strstr(res.body, "/api/items"), "the OpenAPI document: %d",
          res.status);
}
