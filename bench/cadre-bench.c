/*
 * The benchmark app: the endpoints of ../shared/bench/SPEC.md that Cadre serves so far.
 * PORT (default 8080) and BENCH_DB come from the environment; it stays in the foreground and
 * exits on SIGTERM.
 */
#include <cadre.h>

#include <stdlib.h>

static int plaintext(cadre_request *r)
{
    static const char body[] = "Hello, World!";
    return cadre_respond_ref(r, 200, "text/plain", body, sizeof body - 1);
}

static int json(cadre_request *r)
{
    /* A constant document until the JSON writer lands (issue #3). */
    static const char body[] = "{\"message\":\"Hello, World!\"}";
    return cadre_respond_ref(r, 200, "application/json", body, sizeof body - 1);
}

int main(int argc, char **argv)
{
    cadre_app *app = cadre_app_new("cadre-bench");
    cadre_app_config(app)->port = 8080;
    cadre_get(app, "/plaintext", plaintext);
    cadre_get(app, "/json", json);
    return cadre_main(app, argc, argv);
}
