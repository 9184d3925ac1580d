/*
 * staticapp.c — the application static_test.py runs against: directory mounts (cadre/static.h)
 * beside ordinary routes. The directory comes from $STATIC_ROOT. Uses only the public API.
 */
#include <cadre.h>

#include <stdio.h>
#include <stdlib.h>

static int h_ping(cadre_request *r)
{
    return cadre_text(r, 200, "pong");
}

int main(int argc, char **argv)
{
    const char *root = getenv("STATIC_ROOT");
    if (!root) {
        fprintf(stderr, "staticapp: set STATIC_ROOT to the directory to serve\n");
        return 2;
    }
    cadre_app *app = cadre_app_new("staticapp");
    if (!app)
        return 1;
    cadre_get(app, "/api/ping", h_ping);
    /* "/": defaults (index.html, no Cache-Control, no pre-compressed variants, no dotfiles) */
    cadre_static(app, "/", root, NULL);
    /* "/static": pre-compressed variants and a max-age */
    cadre_static(app, "/static", root,
                 &(cadre_static_options){ .precompressed = true, .max_age = 3600 });
    /* "/dot/": dotfiles served, no index, always revalidate */
    cadre_static(app, "/dot/", root,
                 &(cadre_static_options){ .dotfiles = true, .index = "", .max_age = -1 });
    return cadre_main(app, argc, argv);
}
