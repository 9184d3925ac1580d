/*
 * The benchmark app: the endpoints of ../shared/bench/SPEC.md that Cadre serves so far.
 * PORT (default 8080) and BENCH_DB come from the environment; it stays in the foreground and
 * exits on SIGTERM.
 */
#include <cadre.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

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

/* SPEC db, queries, fortunes: the world and fortune tables of BENCH_DB. */
#define WORLD_FIELDS(F) F(int64, id) F(int64, randomNumber)
CADRE_SCHEMA(World, WORLD_FIELDS)

/* SPEC admin-list: the world table as a model, in the admin */
#define WORLD_MODEL_FIELDS(F) F(int64, id, CADRE_PRIMARY_KEY) F(int64, randomnumber)
CADRE_MODEL(world, WORLD_MODEL_FIELDS)

#define FORTUNE_FIELDS(F) F(int64, id) F(string, message)
CADRE_SCHEMA(Fortune, FORTUNE_FIELDS)

static cadre_db *bench_db;

static const char world_sql[] = "SELECT id, randomnumber AS randomNumber FROM world WHERE id = ?";

/* A per-thread xorshift generator: ids 1..10000. */
static int64_t random_id(void)
{
    static _Thread_local uint64_t x;
    if (!x)
        x = (uint64_t)(uintptr_t)&x ^ 0x9E3779B97F4A7C15u;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return (int64_t)(x % 10000) + 1;
}

static int db_error(cadre_request *r, int rc)
{
    return cadre_error(r, rc == CADRE_ETIMEDOUT || rc == CADRE_ECLOSED ? 503 : 500,
                       rc == CADRE_ETIMEDOUT ? "database busy" : "database error");
}

static int one_world(cadre_request *r, World *w)
{
    bool found;
    cadre_value id = CADRE_PINT(random_id());
    int rc = cadre_db_query_one(bench_db, r->arena, CADRE_SCHEMA_OF(World), w, &found, world_sql,
                                &id, 1);
    return rc ? rc : found ? 0 : CADRE_ENOTFOUND;
}

static int db(cadre_request *r)
{
    World w;
    if (!bench_db)
        return cadre_error(r, 503, "BENCH_DB is not set");
    int rc = one_world(r, &w);
    if (rc)
        return db_error(r, rc);
    cadre_buf out;
    cadre_json_writer jw;
    cadre_buf_init_arena(&out, r->arena, 1024);
    cadre_json_writer_init(&jw, &out);
    cadre_schema_encode_json(CADRE_SCHEMA_OF(World), &w, &jw);
    return cadre_respond_ref(r, 200, "application/json", out.data, out.len);
}

/* SPEC: ?queries= clamped to 1..500; missing, empty or not an integer: 1. */
static int64_t query_count(cadre_request *r)
{
    int64_t n = 1;
    cadre_slice q;
    if (cadre_request_query(r, "queries", &q) && cadre_slice_to_i64(q, false, &n) != 0)
        /* an integer too large for int64 is still an integer: clamped like any other */
        n = cadre_slice_to_i64(q, false, &n) == CADRE_ETOOBIG && q.len && q.ptr[0] != '-' ? 500 : 1;
    return n < 1 ? 1 : n > 500 ? 500 : n;
}

static int queries(cadre_request *r)
{
    if (!bench_db)
        return cadre_error(r, 503, "BENCH_DB is not set");
    int64_t n = query_count(r);
    cadre_buf out;
    cadre_json_writer jw;
    cadre_buf_init_arena(&out, r->arena, 64 * (size_t)n + 64);
    cadre_json_writer_init(&jw, &out);
    /* n separate queries; on PostgreSQL they go out as one pipeline */
    World *rows = cadre_alloc(r, (size_t)n * sizeof *rows);
    bool *found = cadre_alloc(r, (size_t)n * sizeof *found);
    cadre_value *ids = cadre_alloc(r, (size_t)n * sizeof *ids);
    for (int64_t i = 0; i < n; i++)
        ids[i] = CADRE_PINT(random_id());
    int rc = cadre_db_query_each(bench_db, r->arena, CADRE_SCHEMA_OF(World), rows, found, (size_t)n,
                                 world_sql, ids, 1);
    if (rc)
        return db_error(r, rc);
    cadre_json_begin_array(&jw);
    for (int64_t i = 0; i < n; i++)
        cadre_schema_encode_json(CADRE_SCHEMA_OF(World), &rows[i], &jw);
    cadre_json_end_array(&jw);
    return cadre_respond_ref(r, 200, "application/json", out.data, out.len);
}

/*
 * SPEC updates: n distinct random ids in ascending order (PostgreSQL then locks the rows in one
 * order, so concurrent requests do not deadlock), each row read with its own SELECT (one
 * pipeline on PostgreSQL), then every new value written by one UPDATE:
 *   UPDATE world SET randomnumber = CAST(CASE id WHEN ? THEN ? ... END AS INTEGER)
 *   WHERE id IN (?, ...)
 * one statement, so atomic without a transaction, and on SQLite one that starts by writing.
 */
static int updates(cadre_request *r)
{
    if (!bench_db)
        return cadre_error(r, 503, "BENCH_DB is not set");
    int64_t n = query_count(r);
    /* distinct ids: a bitmap of the 10000, then taken in order */
    uint8_t seen[10000 / 8 + 1] = { 0 };
    for (int64_t k = 0; k < n;) {
        int64_t id = random_id();
        if (!(seen[id >> 3] & (1u << (id & 7)))) {
            seen[id >> 3] |= (uint8_t)(1u << (id & 7));
            k++;
        }
    }
    World *rows = cadre_alloc(r, (size_t)n * sizeof *rows);
    bool *found = cadre_alloc(r, (size_t)n * sizeof *found);
    cadre_value *ids = cadre_alloc(r, (size_t)n * sizeof *ids);
    cadre_value *set = cadre_alloc(r, 3 * (size_t)n * sizeof *set);
    cadre_buf sql;
    cadre_buf_init_arena(&sql, r->arena, 32 * (size_t)n + 128);
    if (!rows || !found || !ids || !set)
        return cadre_error(r, 500, "out of memory");
    for (int64_t id = 1, k = 0; k < n; id++)
        if (seen[id >> 3] & (1u << (id & 7)))
            ids[k++] = CADRE_PINT(id);
    int rc = cadre_db_query_each(bench_db, r->arena, CADRE_SCHEMA_OF(World), rows, found, (size_t)n,
                                 world_sql, ids, 1);
    if (rc)
        return db_error(r, rc);
    int bad = cadre_buf_append_str(&sql, "UPDATE world SET randomnumber = CAST(CASE id");
    for (int64_t i = 0; i < n; i++) {
        int64_t v;
        do /* a new value, so the row changes */
            v = random_id();
        while (v == rows[i].randomNumber);
        rows[i].id = ids[i].i;
        rows[i].randomNumber = v;
        set[2 * i] = ids[i];
        set[2 * i + 1] = CADRE_PINT(v);
        set[2 * n + i] = ids[i];
        bad |= cadre_buf_append_str(&sql, " WHEN ? THEN ?");
    }
    bad |= cadre_buf_append_str(&sql, " END AS INTEGER) WHERE id IN (?");
    for (int64_t i = 1; i < n; i++)
        bad |= cadre_buf_append_str(&sql, ",?");
    bad |= cadre_buf_append(&sql, ")", 2); /* with its NUL */
    if (bad)
        return cadre_error(r, 500, "out of memory");
    rc = cadre_db_exec(bench_db, sql.data, set, 3 * (size_t)n, NULL, NULL);
    if (rc)
        return db_error(r, rc);
    cadre_buf out;
    cadre_json_writer jw;
    cadre_buf_init_arena(&out, r->arena, 64 * (size_t)n + 64);
    cadre_json_writer_init(&jw, &out);
    cadre_json_begin_array(&jw);
    for (int64_t i = 0; i < n; i++)
        cadre_schema_encode_json(CADRE_SCHEMA_OF(World), &rows[i], &jw);
    cadre_json_end_array(&jw);
    return cadre_respond_ref(r, 200, "application/json", out.data, out.len);
}

static int by_message(const void *a, const void *b)
{
    const cadre_slice *x = &((const Fortune *)a)->message, *y = &((const Fortune *)b)->message;
    int c = memcmp(x->ptr, y->ptr, x->len < y->len ? x->len : y->len);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* The templates, embedded at build time from bench/templates (scripts/embed-templates). */
extern const cadre_template_source bench_templates[];
extern const size_t bench_templates_count;

static int fortunes(cadre_request *r)
{
    if (!bench_db)
        return cadre_error(r, 503, "BENCH_DB is not set");
    cadre_rows rows;
    int rc = cadre_db_query(bench_db, r->arena, CADRE_SCHEMA_OF(Fortune), &rows,
                            "SELECT id, message FROM fortune", NULL, 0);
    if (rc)
        return db_error(r, rc);
    Fortune *all = cadre_alloc(r, (rows.len + 1) * sizeof *all);
    memcpy(all, rows.items, rows.len * sizeof *all);
    all[rows.len] = (Fortune){ .id = 0, .message = CADRE_LIT("Additional fortune added at request time.") };
    size_t n = rows.len + 1;
    qsort(all, n, sizeof *all, by_message);
    return cadre_render(r, 200, "fortunes.html", CADRE_CTX({ "fortunes", CADRE_TLIST(Fortune, all, n) }));
}

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

/* GET /ws: a WebSocket that sends every message back as it came, text or binary, up to 4 MiB. */
static int ws_echo(cadre_request *r, cadre_ws *ws)
{
    (void)r;
    cadre_ws_message m;
    int rc;
    while ((rc = cadre_ws_recv(ws, &m)) == 0)
        if ((rc = cadre_ws_send(ws, m.type, m.data.ptr, m.data.len)) != 0)
            break;
    return rc == CADRE_ECLOSED || rc == CADRE_ECANCELED || rc == CADRE_ETIMEDOUT ? 0 : rc;
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

/* SPEC session: POST /login (auth's login view at that path), then GET /session with its cookie. */
#define SESSION_OUT_FIELDS(F) F(string, username)
CADRE_SCHEMA(SessionOut, SESSION_OUT_FIELDS)

static int session(cadre_request *r, const cadre_none *p, const cadre_none *in, SessionOut *out)
{
    (void)p;
    (void)in;
    out->username = cadre_request_user(r)->username; /* .auth let only a user through */
    return 200;
}

/* SPEC session: POST /login, a form, answered 204 with the session cookie (401 on a wrong
 * password). An API-style login of the bench's own, as the peers' are: a browser's login form
 * is auth's page at /accounts/login/, which also asks for the CSRF token. */
#define LOGIN_FIELDS(F) F(string, username) F(string, password)
CADRE_SCHEMA(LoginForm, LOGIN_FIELDS)

static int login(cadre_request *r, const cadre_none *p, const LoginForm *in, cadre_none *out)
{
    (void)p;
    (void)out;
    int64_t id;
    int rc = cadre_authenticate(r, in->username, in->password, &id);
    if (rc == 0 && !id)
        return cadre_error(r, 401, "wrong username or password");
    return rc ? rc : (rc = cadre_login(r, id)) ? rc : cadre_respond(r, 204, NULL, NULL, 0);
}

/* SPEC: the user bench (superuser), created or its password set again, at each start. */
static int bench_user(cadre_app *app, void *ctx)
{
    (void)ctx;
    int rc = cadre_app_migrate(app, NULL, NULL, NULL);
    if (rc)
        return rc;
    cadre_arena a;
    cadre_arena_init(&a, 1024);
    cadre_rows rows;
    const cadre_value name = CADRE_PTEXT("bench");
    rc = cadre_db_query(bench_db, &a, CADRE_SCHEMA_OF(cadre_user), &rows,
                        "SELECT id FROM cadre_user WHERE username = ?", &name, 1);
    if (rc == 0 && rows.len)
        rc = cadre_user_set_password(app, NULL, ((const cadre_user *)rows.items)->id,
                                     cadre_slice_cstr("bench-password-1"));
    else if (rc == 0)
        rc = cadre_user_create(app, "bench", "", "bench-password-1", true, NULL);
    cadre_arena_free(&a);
    return rc;
}

/* A middleware that does nothing but call the rest: what the pipeline itself costs. */
static int noop_middleware(cadre_request *r, cadre_next *next, void *ctx)
{
    (void)ctx;
    return cadre_next_call(r, next);
}

int main(int argc, char **argv)
{
    cadre_app *app = cadre_app_new("cadre-bench");
    /* BENCH_NOOP_MIDDLEWARE=N: N no-op middlewares on every route (the pipeline's cost, #11) */
    const char *noop = getenv("BENCH_NOOP_MIDDLEWARE");
    for (int i = 0, n = noop ? atoi(noop) : 0; i < n && i < 64; i++)
        cadre_app_use(app, noop_middleware, NULL);
    cadre_templates *templates;
    if (cadre_templates_load_sources(bench_templates, bench_templates_count, &templates) != 0 ||
        cadre_templates_use(app, templates) != 0)
        return 1;
    /* SPEC: BENCH_PG, when set, replaces the SQLite file of BENCH_DB for db, queries, fortunes */
    const char *pg = getenv("BENCH_PG"), *path = getenv("BENCH_DB");
    const char *url = pg && *pg ? pg : path && *path ? path : NULL;
    if (url && cadre_db_open(url, &bench_db) != 0)
        return 1;
    cadre_app_config(app)->port = 8080;
    cadre_get(app, "/plaintext", plaintext);
    cadre_get(app, "/json", json);
    cadre_post(app, "/echo", echo);
    cadre_websocket(app, "/ws", ws_echo, .max_message = 4 << 20);
    CADRE_ROUTE(app, POST, "/items", create_item, cadre_none, Item, ItemOut, .status = 201,
                .tags = "items", .summary = "Create an item");
    CADRE_ROUTE(app, GET, "/items/{item_id}", read_item, ItemPath, cadre_none, ItemId,
                .tags = "items", .summary = "Read an item");
    cadre_get(app, "/db", db);
    cadre_get(app, "/queries", queries);
    cadre_get(app, "/fortunes", fortunes);
    cadre_get(app, "/updates", updates);
    if (bench_db) { /* plain HTTP here: cookies without Secure */
        cadre_auth(app, bench_db, .cookie_secure = -1);
        CADRE_ROUTE(app, POST, "/login", login, cadre_none, LoginForm, cadre_none, .form = true);
        cadre_app_on_start(app, bench_user, NULL);
        CADRE_ROUTE(app, GET, "/session", session, cadre_none, cadre_none, SessionOut,
                    .auth = CADRE_AUTH_SESSION, .summary = "The logged-in user");
        /* SPEC admin-list: /admin/cadre-bench/world/?p=2 (bench/endpoints) */
        cadre_admin(app, bench_db);
        cadre_admin_register(app, CADRE_SCHEMA_OF(world), .list = "id, randomnumber",
                             .ordering = "id", .per_page = 100);
    }
    int status = cadre_main(app, argc, argv);
    cadre_db_close(bench_db);
    return status;
}
