/*
 * The benchmark app: the endpoints of ../shared/bench/SPEC.md that Cadre serves so far.
 * PORT (default 8080) and BENCH_DB come from the environment; it stays in the foreground and
 * exits on SIGTERM.
 */
#include <cadre.h>

#include <stdatomic.h>
#include <stdlib.h>

/* SPEC items: the fields are written once; ItemOut is the same list plus the id. */
#define ITEM_FIELDS(F)                                                                             \
    F(string, name, CADRE_MIN_LEN(1), CADRE_MAX_LEN(100))                                          \
    F(double, price, CADRE_GT(0))                                                                  \
    F(strings, tags, CADRE_MAX_ITEMS(10), CADRE_DEFAULT_EMPTY)                                     \
    F(bool, in_stock, CADRE_DEFAULT(true))
CADRE_SCHEMA(Item, ITEM_FIELDS)

#define ITEM_OUT_FIELDS(F) ITEM_FIELDS(F) F(int64, id)
CADRE_SCHEMA(ItemOut, ITEM_OUT_FIELDS)

#define ITEM_PATH(F) F(int64, item_id)
CADRE_SCHEMA(ItemPath, ITEM_PATH)

#define ITEM_ID(F) F(int64, id)
CADRE_SCHEMA(ItemId, ITEM_ID)

static atomic_long next_id = 1; /* the SPEC's per-process counter */

static int create_item(cadre_request *r, const cadre_none *p, const Item *in, ItemOut *out)
{
    (void)r, (void)p;
    out->name = in->name;
    out->price = in->price;
    out->tags = in->tags;
    out->in_stock = in->in_stock;
    out->id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
    return 201;
}

static int read_item(cadre_request *r, const ItemPath *p, const cadre_none *in, ItemId *out)
{
    (void)r, (void)in;
    out->id = p->item_id;
    return 200;
}

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
    CADRE_ROUTE(app, POST, "/items", create_item, cadre_none, Item, ItemOut, .status = 201,
                .tags = "items", .summary = "Create an item");
    CADRE_ROUTE(app, GET, "/items/{item_id}", read_item, ItemPath, cadre_none, ItemId,
                .tags = "items", .summary = "Read an item");
    return cadre_main(app, argc, argv);
}
