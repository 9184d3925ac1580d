/* The admin through the test client, on SQLite (and on PostgreSQL: tests/pg runs it again): the
 * delete page and what a cascade takes along (three levels deep, PROTECT stopping it), the CSV
 * export streamed in batches, keyset pagination of the change list, a related model edited inline
 * on its parent's change page (all or nothing), and the registrations the app refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cadre.h>

#include "db/engine_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static cadre_app *app;
static cadre_db *db;
static cadre_test_response res;
static char key[64]; /* the superuser's session */

/* The shop's models: shelves hold boxes, boxes hold items (each cascading), and a label keeps its
 * item from being deleted (PROTECT). */
#define SHELF_FIELDS(F)                                                                            \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, name, CADRE_MAX_LEN(100))
CADRE_MODEL(shelf, SHELF_FIELDS)

#define BOX_FIELDS(F)                                                                              \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, name, CADRE_MAX_LEN(100))                                                            \
    F(int64, shelf_id, CADRE_FOREIGN_KEY(shelf, CADRE_ON_DELETE_CASCADE), CADRE_INDEX)
CADRE_MODEL(box, BOX_FIELDS)

#define ITEM_NAME_MAX 40
#define ITEM_FIELDS(F)                                                                             \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, name, CADRE_MAX_LEN(ITEM_NAME_MAX))                                                  \
    F(int64, box_id, CADRE_FOREIGN_KEY(box, CADRE_ON_DELETE_CASCADE), CADRE_INDEX)
CADRE_MODEL(item, ITEM_FIELDS)

#define LABEL_FIELDS(F)                                                                            \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, name, CADRE_MAX_LEN(100))                                                            \
    F(int64, item_id, CADRE_FOREIGN_KEY(item, CADRE_ON_DELETE_PROTECT), CADRE_INDEX)
CADRE_MODEL(label, LABEL_FIELDS)

#define FK(table, how)                                                                             \
    "\"references\":{\"table\":\"" table "\",\"column\":\"id\",\"on_delete\":\"" how "\"}"
#define ID_NAME                                                                                    \
    "{\"name\":\"id\",\"type\":\"int64\",\"primary_key\":true},"                                   \
    "{\"name\":\"name\",\"type\":\"text\"}"

static const cadre_migration_source shop_migrations[] = {
    { "0001_initial",
      "{\"cadre_migration\": 1, \"name\": \"0001_initial\", \"depends_on\": null, "
      "\"operations\": ["
      "{\"op\": \"create_table\", \"table\": \"shelf\", \"columns\": [" ID_NAME "]},"
      "{\"op\": \"create_table\", \"table\": \"box\", \"columns\": [" ID_NAME ","
      "{\"name\":\"shelf_id\",\"type\":\"int64\",\"indexed\":true," FK("shelf", "cascade") "}]},"
      "{\"op\": \"create_table\", \"table\": \"item\", \"columns\": [" ID_NAME ","
      "{\"name\":\"box_id\",\"type\":\"int64\",\"indexed\":true," FK("box", "cascade") "}]},"
      "{\"op\": \"create_table\", \"table\": \"label\", \"columns\": [" ID_NAME ","
      "{\"name\":\"item_id\",\"type\":\"int64\",\"indexed\":true," FK("item", "protect") "}]}"
      "]}" },
};

/* The CSRF secret every request carries in its cookie, and unsafe ones in X-CSRFToken too. */
#define SECRET "abcdefghijklmnopqrstuvwxyzABCDEF"

/* A request as the superuser (or anonymous before the login), a form body when form. */
static int send_req(const char *method, const char *target, const char *form)
{
    char headers[1024];
    bool safe = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    snprintf(headers, sizeof headers, "%sCookie: %s%s%scsrftoken=" SECRET "\r\n%s",
             form ? "Content-Type: application/x-www-form-urlencoded\r\n" : "",
             key[0] ? "sessionid=" : "", key, key[0] ? "; " : "",
             safe ? "" : "X-CSRFToken: " SECRET "\r\n");
    cadre_test_response_free(&res);
    return cadre_test_request(app, method, target, headers, form, form ? strlen(form) : 0, &res);
}

static void request(const char *method, const char *target, const char *form)
{
    assert_int_equal(send_req(method, target, form), 0);
}

static void expect(int status, const char *text)
{
    if (res.status != status || (text && !strstr(res.body, text)))
        fail_msg("expected %d with \"%s\", got %d: %s", status, text ? text : "", res.status,
                 res.body);
}

#define COUNT_FIELDS(F) F(int64, n)
CADRE_SCHEMA(count_row, COUNT_FIELDS)

/* SELECT COUNT(*) AS n …, with id as its one parameter (none when id < 0). */
static int64_t count(const char *sql, int64_t id)
{
    cadre_arena a;
    cadre_arena_init(&a, 0);
    count_row c = { 0 };
    bool found;
    const cadre_value p = CADRE_PINT(id);
    assert_int_equal(cadre_db_query_one(db, &a, count_row__schema(), &c, &found, sql, &p,
                                        id < 0 ? 0 : 1), 0);
    cadre_arena_free(&a);
    return c.n;
}

/* The history's entries for row id of model ("shop.box") with action (CADRE_ADMIN_*). */
static int64_t logged(const char *model, int64_t id, int action)
{
    cadre_arena a;
    cadre_arena_init(&a, 0);
    count_row c = { 0 };
    bool found;
    const cadre_value p[3] = { CADRE_PTEXT(model), CADRE_PINT(id), CADRE_PINT(action) };
    assert_int_equal(cadre_db_query_one(db, &a, count_row__schema(), &c, &found,
                                        "SELECT COUNT(*) AS n FROM cadre_admin_log WHERE model = ? "
                                        "AND object_id = ? AND action = ?", p, 3), 0);
    cadre_arena_free(&a);
    return c.n;
}

/* Each test starts from empty tables (the rows of the one before do not count). */
static void empty_tables(void)
{
    assert_int_equal(cadre_db_exec_script(db, "DELETE FROM label; DELETE FROM item; "
                                              "DELETE FROM box; DELETE FROM shelf"), 0);
}

static int64_t add_shelf(cadre_arena *a, const char *name)
{
    shelf s = { .name = cadre_slice_cstr(name) };
    cadre_set(&s, shelf, name);
    assert_int_equal(shelf_insert(db, a, &s), 0);
    return s.id;
}

static int64_t add_box(cadre_arena *a, const char *name, int64_t shelf_id)
{
    box b = { .name = cadre_slice_cstr(name), .shelf_id = shelf_id };
    cadre_set(&b, box, name);
    cadre_set(&b, box, shelf_id);
    assert_int_equal(box_insert(db, a, &b), 0);
    return b.id;
}

static item new_item(const char *name, int64_t box_id)
{
    item it = { .name = cadre_slice_cstr(name), .box_id = box_id };
    cadre_set(&it, item, name);
    cadre_set(&it, item, box_id);
    return it;
}

static int64_t add_item(cadre_arena *a, const char *name, int64_t box_id)
{
    item it = new_item(name, box_id);
    assert_int_equal(item_insert(db, a, &it), 0);
    return it.id;
}

static int64_t add_label(cadre_arena *a, const char *name, int64_t item_id)
{
    label l = { .name = cadre_slice_cstr(name), .item_id = item_id };
    cadre_set(&l, label, name);
    cadre_set(&l, label, item_id);
    assert_int_equal(label_insert(db, a, &l), 0);
    return l.id;
}

/* An app with auth, the shop's models and the admin over them; error messages are collected by
 * the caller. */
static cadre_app *shop_app(const char *name)
{
    cadre_app *a = cadre_app_new(name);
    if (!cadre_auth(a, db))
        return a;
    cadre_module *shop = cadre_module_add(a, "shop", .depends = CADRE_DEPENDS("auth"));
    cadre_models_builtin(shop, db, shop_migrations, 1, shelf__schema(), box__schema(),
                         item__schema(), label__schema());
    cadre_admin(a, db);
    return a;
}

static int setup(void **state)
{
    if (engine_setup(state) || cadre_db_open(url, &db))
        return -1;
    if (pg)
        cadre_db_exec_script(db, "DROP TABLE IF EXISTS label; DROP TABLE IF EXISTS item; "
                                 "DROP TABLE IF EXISTS box; DROP TABLE IF EXISTS shelf; "
                                 "DROP TABLE IF EXISTS cadre_admin_log; "
                                 "DROP TABLE IF EXISTS cadre_user_perm; "
                                 "DROP TABLE IF EXISTS cadre_login_failure; "
                                 "DROP TABLE IF EXISTS cadre_user_group; DROP TABLE IF EXISTS "
                                 "cadre_group_perm; DROP TABLE IF EXISTS cadre_group; "
                                 "DROP TABLE IF EXISTS cadre_token; "
                                 "DROP TABLE IF EXISTS cadre_session; DROP TABLE IF EXISTS "
                                 "cadre_user; DROP TABLE IF EXISTS cadre_migrations");
    app = shop_app("admintest");
    /* box: its items inline, its shelf shown but never read from the form, in two sections */
    if (cadre_admin_register(app, shelf__schema(), .list = "id, name") ||
        cadre_admin_register(app, box__schema(), .list = "id, name, shelf_id", .inlines = "item",
                             .readonly = "shelf_id", .fieldsets = "Box: name; Place: shelf_id") ||
        cadre_admin_register(app, item__schema(), .list = "id, name, box_id"))
        return -1;
    if (cadre_app_check(app) || cadre_app_migrate(app, NULL, NULL, NULL))
        return -1;
    if (cadre_user_create(app, "root", "root@example.com", "correct horse", true, NULL))
        return -1;
    /* the login page, as a browser would: the session cookie it sets opens the admin */
    if (send_req("POST", "/accounts/login/", "username=root&password=correct+horse") ||
        res.status != 303)
        return -1;
    const char *c = cadre_test_header(&res, "Set-Cookie");
    if (!c || strncmp(c, "sessionid=", 10) != 0)
        return -1;
    snprintf(key, sizeof key, "%.*s", (int)strcspn(c + 10, ";"), c + 10);
    return 0;
}

static int teardown(void **state)
{
    cadre_test_response_free(&res);
    cadre_app_free(app);
    cadre_db_close(db);
    return engine_teardown(state);
}

/* The delete page follows a cascade down: a shelf's boxes, and through them their items (nested,
 * depth 2); the POST deletes all of it. A label protecting an item three levels down keeps the
 * shelf: the page says why, and a POST is refused with nothing deleted. */
static void test_delete_depth(void **state)
{
    (void)state;
    empty_tables();
    cadre_arena a;
    cadre_arena_init(&a, 0);
    int64_t s = add_shelf(&a, "Top shelf");
    int64_t boxes[2];
    for (int b = 0; b < 2; b++) {
        boxes[b] = add_box(&a, b ? "Box B" : "Box A", s);
        for (int i = 0; i < 3; i++)
            add_item(&a, cadre_arena_printf(&a, "item %d.%d", b, i), boxes[b]);
    }
    char path[96];
    snprintf(path, sizeof path, "/admin/shop/shelf/%lld/delete/", (long long)s);
    request("GET", path, NULL);
    expect(200, "Are you sure you want to delete the shelf “Top shelf”?");
    expect(200, "<li class=\"depth-1\">2 box rows (shelf_id): deleted</li>");
    expect(200, "<li class=\"depth-2\">↳ 6 item rows (box_id): deleted</li>");
    assert_null(strstr(res.body, "label row")); /* no labels: not listed */

    request("POST", path, "csrfmiddlewaretoken=" SECRET);
    expect(303, NULL);
    assert_string_equal(cadre_test_header(&res, "Location"), "/admin/shop/shelf/");
    assert_int_equal(count("SELECT COUNT(*) AS n FROM shelf WHERE id = ?", s), 0);
    assert_int_equal(count("SELECT COUNT(*) AS n FROM box WHERE shelf_id = ?", s), 0);
    for (int b = 0; b < 2; b++)
        assert_int_equal(count("SELECT COUNT(*) AS n FROM item WHERE box_id = ?", boxes[b]), 0);
    assert_int_equal(logged("shop.shelf", s, CADRE_ADMIN_DELETED), 1);

    /* a label three levels down protects the whole chain */
    int64_t s2 = add_shelf(&a, "Kept shelf");
    int64_t b2 = add_box(&a, "Kept box", s2);
    int64_t i2 = add_item(&a, "Kept item", b2);
    add_label(&a, "Fragile", i2);
    snprintf(path, sizeof path, "/admin/shop/shelf/%lld/delete/", (long long)s2);
    request("GET", path, NULL);
    expect(200, "Cannot delete shelf");
    expect(200, "<li class=\"depth-3\">↳ 1 label row (item_id): protected</li>");
    assert_null(strstr(res.body, "Yes, I'm sure")); /* no button to press */
    request("POST", path, "csrfmiddlewaretoken=" SECRET);
    expect(403, "cannot be deleted");
    assert_int_equal(count("SELECT COUNT(*) AS n FROM shelf WHERE id = ?", s2), 1);
    assert_int_equal(count("SELECT COUNT(*) AS n FROM box WHERE shelf_id = ?", s2), 1);
    assert_int_equal(count("SELECT COUNT(*) AS n FROM item WHERE box_id = ?", b2), 1);
    assert_int_equal(count("SELECT COUNT(*) AS n FROM label WHERE item_id = ?", i2), 1);
    cadre_arena_free(&a);
}

/* The body of the last response: its Content-Length body, or, for a streamed one (chunked, no
 * Content-Length), its chunks joined from the raw bytes the exchange wrote — the framing checked
 * on the way (sizes, CRLFs, the last chunk) — and the same as the test client's res.body. Into a
 * malloc'd string (*len bytes). */
static char *whole_body(size_t *len)
{
    if (!cadre_test_header(&res, "Transfer-Encoding")) {
        *len = res.body_len;
        return strdup(res.body);
    }
    const char *te = cadre_test_header(&res, "Transfer-Encoding");
    assert_string_equal(te, "chunked");
    const char *p = strstr(res.raw, "\r\n\r\n");
    assert_non_null(p);
    p += 4;
    size_t cap = strlen(p) + 1, n = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    for (;;) {
        char *end;
        unsigned long size = strtoul(p, &end, 16);
        if (end == p || strncmp(end, "\r\n", 2) != 0)
            fail_msg("a chunk's size line is broken at: %.40s", p);
        p = end + 2;
        if (size == 0)
            break;
        assert_true(n + size < cap && strlen(p) >= size + 2);
        memcpy(out + n, p, size);
        n += size;
        p += size;
        if (strncmp(p, "\r\n", 2) != 0)
            fail_msg("a chunk does not end with CRLF at: %.40s", p);
        p += 2;
    }
    assert_string_equal(p, "\r\n"); /* the last chunk, nothing after it */
    out[n] = '\0';
    *len = n;
    assert_int_equal(res.body_len, n); /* the test client joins the chunks too */
    assert_memory_equal(res.body, out, n);
    return out;
}

static int by_value(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return (a > b) - (a < b);
}

/* The CSV export, streamed through the in-process exchange: a header line, then every item once
 * in key order across more than one batch of 500; text that needs it RFC 4180-quoted, and text a
 * spreadsheet would run as a formula defused with a leading quote. */
static void test_csv_export(void **state)
{
    (void)state;
    empty_tables();
    enum { N = 520, ALL = N + 2 };
    cadre_arena a;
    cadre_arena_init(&a, 0);
    int64_t b = add_box(&a, "Crate", add_shelf(&a, "Shelf"));
    item *items = cadre_arena_calloc(&a, N * sizeof *items);
    int64_t ids[ALL];
    for (size_t i = 0; i < N; i++)
        items[i] = new_item(cadre_arena_printf(&a, "item-%04zu", i), b);
    assert_int_equal(item_insert_many(db, &a, items, N), 0);
    for (size_t i = 0; i < N; i++)
        ids[i] = items[i].id;
    int64_t quoted = add_item(&a, "Saw, \"big\"", b);
    int64_t formula = add_item(&a, "=1+2", b);
    ids[N] = quoted;
    ids[N + 1] = formula;
    qsort(ids, ALL, sizeof *ids, by_value);

    request("GET", "/admin/shop/item/export/", NULL);
    assert_int_equal(res.status, 200);
    assert_string_equal(cadre_test_header(&res, "Content-Type"), "text/csv; charset=utf-8");
    assert_non_null(strstr(cadre_test_header(&res, "Content-Disposition"),
                           "attachment; filename=\"item-"));
    size_t len;
    char *csv = whole_body(&len);
    assert_true(len > 0 && len == strlen(csv));
    assert_true(len >= 2 && strcmp(csv + len - 2, "\r\n") == 0); /* the last line ends too */

    /* line by line: the heading, then one line per item, ids ascending and each once */
    size_t lines = 0, rows = 0;
    for (char *line = csv, *eol; (eol = strstr(line, "\r\n")) != NULL; line = eol + 2, lines++) {
        *eol = '\0';
        if (lines == 0) {
            assert_string_equal(line, "id,name,box_id,Box");
            continue;
        }
        char *end;
        long long id = strtoll(line, &end, 10);
        assert_true(end != line && *end == ',');
        if (rows >= ALL || id != ids[rows])
            fail_msg("line %zu: id %lld, expected %lld: %s", lines, id,
                     rows < ALL ? (long long)ids[rows] : -1LL, line);
        const char *want = NULL;
        if (id == quoted)
            want = cadre_arena_printf(&a, "%lld,\"Saw, \"\"big\"\"\",%lld,Crate", id,
                                      (long long)b);
        else if (id == formula)
            want = cadre_arena_printf(&a, "%lld,\"'=1+2\",%lld,Crate", id, (long long)b);
        else
            want = cadre_arena_printf(&a, "%lld,item-%04zu,%lld,Crate", id, rows,
                                      (long long)b);
        assert_string_equal(line, want);
        rows++;
    }
    assert_int_equal(rows, ALL);
    assert_int_equal(lines, ALL + 1);
    free(csv);
    cadre_arena_free(&a);
}

/* The ids of the rows a change list shows, in order (their selection boxes), into ids. */
static size_t listed(int64_t *ids, size_t max)
{
    static const char mark[] = "name=\"_selected_action\" value=\"";
    size_t n = 0;
    for (const char *p = strstr(res.body, mark); p; p = strstr(p, mark)) {
        p += sizeof mark - 1;
        assert_true(n < max);
        ids[n++] = strtoll(p, NULL, 10);
    }
    return n;
}

/* The href of the page's Next link, its &amp; undone, into out. */
static void next_link(char *out, size_t size)
{
    const char *rel = strstr(res.body, "\" rel=\"next\"");
    if (!rel)
        fail_msg("no Next link: %s", res.body);
    const char *href = rel;
    while (href > res.body && strncmp(href, "href=\"", 6) != 0)
        href--;
    href += 6;
    size_t n = 0;
    for (const char *p = href; p < rel && n + 1 < size;) {
        if (strncmp(p, "&amp;", 5) == 0)
            out[n++] = '&', p += 5;
        else
            out[n++] = *p++;
    }
    out[n] = '\0';
}

/* Ordered by its integer key, the change list pages by key: page 1's Next link carries
 * after=<the 100th id>, which gives rows 101 to 200; before=<the 101st id> gives rows 1 to 100
 * again, in order. */
static void test_keyset_pagination(void **state)
{
    (void)state;
    empty_tables();
    enum { N = 250 };
    cadre_arena a;
    cadre_arena_init(&a, 0);
    shelf *shelves = cadre_arena_calloc(&a, N * sizeof *shelves);
    for (size_t i = 0; i < N; i++) {
        shelves[i].name = cadre_slice_cstr(cadre_arena_printf(&a, "shelf %zu", i + 1));
        cadre_set(&shelves[i], shelf, name);
    }
    assert_int_equal(shelf_insert_many(db, &a, shelves, N), 0);
    int64_t ids[N], got[N];
    for (size_t i = 0; i < N; i++)
        ids[i] = shelves[i].id;
    qsort(ids, N, sizeof *ids, by_value);

    request("GET", "/admin/shop/shelf/?o=id", NULL);
    expect(200, "250 shelfs");
    assert_int_equal(listed(got, N), 100);
    assert_memory_equal(got, ids, 100 * sizeof *ids);
    char next[512], want[128];
    next_link(next, sizeof next);
    snprintf(want, sizeof want, "after=%lld", (long long)ids[99]);
    if (!strstr(next, want))
        fail_msg("the Next link is %s, without %s", next, want);

    request("GET", next, NULL);
    expect(200, "Page 2");
    assert_int_equal(listed(got, N), 100);
    assert_memory_equal(got, ids + 100, 100 * sizeof *ids);

    char path[128];
    snprintf(path, sizeof path, "/admin/shop/shelf/?o=id&p=2&before=%lld", (long long)ids[100]);
    request("GET", path, NULL);
    expect(200, NULL);
    assert_int_equal(listed(got, N), 100);
    assert_memory_equal(got, ids, 100 * sizeof *ids);
    cadre_arena_free(&a);
}

/* The rows of box b's items, by key: their names joined with '|'. */
static const char *item_names(cadre_arena *a, int64_t b)
{
    cadre_rows rows;
    const cadre_value p = CADRE_PINT(b);
    assert_int_equal(cadre_db_query(db, a, item__schema(), &rows,
                                    "SELECT id, name, box_id FROM item WHERE box_id = ? "
                                    "ORDER BY id", &p, 1), 0);
    cadre_buf out;
    cadre_buf_init_arena(&out, a, 1 << 16);
    for (size_t i = 0; i < rows.len; i++) {
        const item *it = (const item *)rows.items + i;
        cadre_buf_appendf(&out, "%s%.*s", i ? "|" : "", (int)it->name.len, it->name.ptr);
    }
    const char *t = cadre_buf_cstr(&out);
    return t ? t : "";
}

static void box_row(cadre_arena *a, int64_t id, box *b)
{
    bool found;
    assert_int_equal(box_get(db, a, id, b, &found), 0);
    assert_true(found);
}

/* A box's items on its change page: the GET shows each in a form of its own (and the blank rows
 * to add), the POST changes one, deletes one and adds one together with the box's own field (its
 * read-only shelf never read); a page whose new row is not valid answers 422 and writes nothing,
 * the box's own change included. */
static void test_inline(void **state)
{
    (void)state;
    empty_tables();
    cadre_arena a;
    cadre_arena_init(&a, 0);
    int64_t s = add_shelf(&a, "Shelf"), other = add_shelf(&a, "Other shelf");
    int64_t b = add_box(&a, "Box", s);
    int64_t i0 = add_item(&a, "hammer", b), i1 = add_item(&a, "wrench", b);
    int64_t i2 = add_item(&a, "pliers", b);
    char path[96], form[2048];
    snprintf(path, sizeof path, "/admin/shop/box/%lld/change/", (long long)b);
    request("GET", path, NULL);
    expect(200, "name=\"item-TOTAL_FORMS\" value=\"6\""); /* 3 rows, 3 blank ones */
    expect(200, "<legend>Box</legend>");                  /* the fieldsets */
    expect(200, "<legend>Place</legend>");
    expect(200, "<legend>Items</legend>");
    char id_input[96];
    const int64_t ids[3] = { i0, i1, i2 };
    const char *const names[3] = { "hammer", "wrench", "pliers" };
    for (int k = 0; k < 3; k++) {
        snprintf(id_input, sizeof id_input, "name=\"item-%d-id\" value=\"%lld\"", k,
                 (long long)ids[k]);
        expect(200, id_input);
        expect(200, names[k]);
    }
    expect(200, "name=\"item-3-name\"");
    assert_null(strstr(res.body, "name=\"shelf_id\"")); /* read-only: shown, no input */

    /* change hammer, delete wrench, keep pliers, add a saw; rename the box; a shelf_id planted
     * in the form is not read */
    snprintf(form, sizeof form,
             "csrfmiddlewaretoken=" SECRET "&name=Tool+box&shelf_id=%lld&item-TOTAL_FORMS=6"
             "&item-0-id=%lld&item-0-name=claw+hammer"
             "&item-1-id=%lld&item-1-name=wrench&item-1-DELETE=1"
             "&item-2-id=%lld&item-2-name=pliers"
             "&item-3-name=saw&item-4-name=&item-5-name=&_save=Save",
             (long long)other, (long long)i0, (long long)i1, (long long)i2);
    request("POST", path, form);
    expect(303, NULL);
    assert_string_equal(cadre_test_header(&res, "Location"), "/admin/shop/box/");
    box row;
    box_row(&a, b, &row);
    assert_true(cadre_slice_eq_cstr(row.name, "Tool box"));
    assert_int_equal(row.shelf_id, s);
    assert_string_equal(item_names(&a, b), "claw hammer|pliers|saw");
    assert_int_equal(count("SELECT COUNT(*) AS n FROM item WHERE id = ?", i1), 0);
    int64_t saw = 0;
    {
        cadre_rows rows;
        const cadre_value p[2] = { CADRE_PINT(b), CADRE_PTEXT("saw") };
        assert_int_equal(cadre_db_query(db, &a, item__schema(), &rows, "SELECT id, name, box_id "
                                        "FROM item WHERE box_id = ? AND name = ?", p, 2), 0);
        assert_int_equal(rows.len, 1);
        saw = ((const item *)rows.items)->id;
    }
    /* each change is in the history: the box's, and one per item row written */
    assert_int_equal(logged("shop.box", b, CADRE_ADMIN_CHANGED), 1);
    assert_int_equal(logged("shop.item", i0, CADRE_ADMIN_CHANGED), 1);
    assert_int_equal(logged("shop.item", i1, CADRE_ADMIN_DELETED), 1);
    assert_int_equal(logged("shop.item", saw, CADRE_ADMIN_ADDED), 1);
    assert_int_equal(logged("shop.item", i2, CADRE_ADMIN_CHANGED), 0); /* unchanged: not written */

    /* a new row too long: 422, the error shown, nothing written (the box's name neither) */
    char too_long[ITEM_NAME_MAX + 8];
    memset(too_long, 'x', ITEM_NAME_MAX + 1);
    too_long[ITEM_NAME_MAX + 1] = '\0';
    snprintf(form, sizeof form,
             "csrfmiddlewaretoken=" SECRET "&name=Renamed+again&item-TOTAL_FORMS=6"
             "&item-0-id=%lld&item-0-name=sledge+hammer"
             "&item-1-id=%lld&item-1-name=pliers&item-1-DELETE=1"
             "&item-2-id=%lld&item-2-name=saw"
             "&item-3-name=%s&item-4-name=&item-5-name=&_save=Save",
             (long long)i0, (long long)i2, (long long)saw, too_long);
    request("POST", path, form);
    expect(422, "Please correct the error below.");
    expect(422, too_long); /* the row comes back as typed */
    box_row(&a, b, &row);
    assert_true(cadre_slice_eq_cstr(row.name, "Tool box"));
    assert_string_equal(item_names(&a, b), "claw hammer|pliers|saw");
    cadre_arena_free(&a);
}

/* The log written while fn runs, into buf (a file in the test's directory, removed after). */
static void capture_log(void (*fn)(void), char *buf, size_t size)
{
    char path[96];
    snprintf(path, sizeof path, "%s/log.txt", dir);
    FILE *f = fopen(path, "w+");
    assert_non_null(f);
    cadre_log_configure(CADRE_LOG_ERROR, CADRE_LOG_PLAIN, fileno(f));
    fn();
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, 2);
    rewind(f);
    size_t n = fread(buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose(f);
    unlink(path);
}

/* .inlines naming a model with no key to this one; the app goes on collecting errors (a later
 * registration still works) and refuses to start. */
static void inline_without_key(void)
{
    cadre_app *bad = shop_app("bad");
    assert_int_equal(cadre_admin_register(bad, box__schema(), .inlines = "shelf"), CADRE_EINVAL);
    assert_int_equal(cadre_admin_register(bad, shelf__schema()), 0);
    assert_int_equal(cadre_app_check(bad), 1);
    cadre_app_free(bad);
}

/* .fieldsets naming a field that is neither in .fields nor in .readonly, and one that is no
 * field at all: two errors */
static void fieldset_outside_form(void)
{
    cadre_app *bad = shop_app("bad");
    assert_int_equal(cadre_admin_register(bad, box__schema(), .fields = "name",
                                          .fieldsets = "Box: name; Place: shelf_id"),
                     CADRE_EINVAL);
    assert_int_equal(cadre_admin_register(bad, item__schema(), .fieldsets = "Item: name, colour"),
                     CADRE_EINVAL);
    assert_int_equal(cadre_app_check(bad), 2);
    cadre_app_free(bad);
}

/* Registrations the admin cannot serve make the app refuse to start, each error naming why. */
static void test_configuration_errors(void **state)
{
    (void)state;
    char log[4096];
    capture_log(inline_without_key, log, sizeof log);
    if (!strstr(log, "cadre_admin_register(box): .inlines: \"shelf\" has no foreign key to this "
                     "model"))
        fail_msg("the log: %s", log);
    capture_log(fieldset_outside_form, log, sizeof log);
    if (!strstr(log, "cadre_admin_register(box): .fieldsets names \"shelf_id\", which is neither "
                     "a form field (.fields) nor read-only (.readonly)") ||
        !strstr(log, "cadre_admin_register(item): .fieldsets names \"colour\", which is not a "
                     "field of the model"))
        fail_msg("the log: %s", log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delete_depth),
        cmocka_unit_test(test_csv_export),
        cmocka_unit_test(test_keyset_pagination),
        cmocka_unit_test(test_inline),
        cmocka_unit_test(test_configuration_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
