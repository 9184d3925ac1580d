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
    /* Serialized per request, as TechEmpower's rules ask (the typed encoder comes with schemas). */
    static const char msg[] = "Hello, World!";
    cadre_buf out;
    cadre_json_writer w;
    cadre_buf_init_arena(&out, r->arena, 256);
    cadre_json_writer_init(&w, &out);
    cadre_json_begin_object(&w);
    cadre_json_key(&w, "message", 7);
    cadre_json_string(&w, msg, sizeof msg - 1);
    cadre_json_end_object(&w);
    return cadre_respond_ref(r, 200, "application/json", out.data, out.len);
}

/* POST /echo: any JSON text back, re-serialized; anything that is not JSON (or not UTF-8) is a
 * 400 that says why. Nesting is allowed about as deep as Python's json module goes. */
static int echo(cadre_request *r)
{
    cadre_json_reader rd;
    cadre_json_writer w;
    cadre_buf out;
    cadre_json_reader_init(&rd, r->body.ptr, r->body.len, r->arena, 1000);
    cadre_buf_init_arena(&out, r->arena, 2 * r->body.len + 64);
    cadre_json_writer_init(&w, &out);
    if (cadre_json_reserialize(&rd, &w) != 0) {
        size_t at;
        const char *why = cadre_json_error(&rd, &at);
        if (!why)
            return cadre_error(r, 400, "body is not valid JSON");
        return cadre_error(r, 400, cadre_arena_printf(r->arena, "body is not valid JSON: %s at byte %zu",
                                                      why, at));
    }
    return cadre_respond_ref(r, 200, "application/json", out.data, out.len);
}

int main(int argc, char **argv)
{
    cadre_app *app = cadre_app_new("cadre-bench");
    cadre_app_config(app)->port = 8080;
    cadre_get(app, "/plaintext", plaintext);
    cadre_get(app, "/json", json);
    cadre_post(app, "/echo", echo);
    return cadre_main(app, argc, argv);
}
