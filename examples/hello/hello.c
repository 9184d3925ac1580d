/* Hello, World! — the smallest Cadre service. */
#include <cadre.h>

static int hello(cadre_request *r)
{
    return cadre_text(r, 200, "Hello, World!");
}

static int greet(cadre_request *r)
{
    cadre_slice name = cadre_request_param(r, "name");
    char *msg = cadre_arena_printf(r->arena, "Hello, %.*s!", (int)name.len, name.ptr);
    return cadre_text(r, 200, msg);
}

int main(int argc, char **argv)
{
    cadre_app *app = cadre_app_new("hello");
    cadre_get(app, "/", hello);
    cadre_get(app, "/hello/{name}", greet);
    return cadre_main(app, argc, argv); /* serve (default), routes */
}
