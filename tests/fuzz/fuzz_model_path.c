/*
 * libFuzzer target for lookup paths across foreign keys (cadre_model_path), which the query
 * builder and the CRUD API resolve from query strings: "price", "author__name__icontains",
 * "parent__parent__name". Input: the path's bytes, resolved against a chain of models (book ->
 * author -> publisher), a model with a key to its own table and one with a key to a model
 * without a primary key (never crossed). Invariants (abort on violation): no crash or hang; at
 * most CADRE_Q_MAX_HOPS hops, each a foreign key of the model reached so far; the field returned
 * is the last model's; what it consumed is a prefix of the input, followed by nothing or "__".
 */
#include <cadre.h>

#include "fuzz_check.h"

#include <string.h>

#define PUBLISHER_FIELDS(F) F(int64, id, CADRE_PRIMARY_KEY) F(string, name)
CADRE_MODEL(publisher, PUBLISHER_FIELDS)
#define AUTHOR_FIELDS(F)                                                                           \
    F(int64, id, CADRE_PRIMARY_KEY) F(string, name)                                                \
    F(int64, publisher_id, CADRE_FOREIGN_KEY(publisher, CADRE_ON_DELETE_CASCADE))
CADRE_MODEL(author, AUTHOR_FIELDS)
#define KEYLESS_FIELDS(F) F(string, name)
CADRE_MODEL(keyless, KEYLESS_FIELDS)
#define BOOK_FIELDS(F)                                                                             \
    F(int64, id, CADRE_PRIMARY_KEY) F(string, title) F(double, price)                              \
    F(int64, author_id, CADRE_FOREIGN_KEY(author, CADRE_ON_DELETE_CASCADE))                        \
    F(int64, keyless_id, CADRE_FOREIGN_KEY(keyless, CADRE_ON_DELETE_CASCADE))
CADRE_MODEL(book, BOOK_FIELDS)
#define NODE_FIELDS(F)                                                                             \
    F(int64, id, CADRE_PRIMARY_KEY) F(string, name)                                                \
    F(int64, parent_id, CADRE_NULLABLE, CADRE_FOREIGN_KEY(node, CADRE_ON_DELETE_SET_NULL))
CADRE_MODEL(node, NODE_FIELDS)

static bool field_of(const cadre_schema *s, const cadre_field *f)
{
    return f >= s->fields && f < s->fields + s->nfields;
}

static void check(const cadre_schema *m, const char *path, size_t len)
{
    const cadre_field *hops[CADRE_Q_MAX_HOPS];
    size_t nhops = 99, used = 99;
    const cadre_field *f = cadre_model_path(m, path, len, hops, &nhops, &used);
    if (!f)
        return;
    CHECK(nhops <= CADRE_Q_MAX_HOPS && used <= len);
    const cadre_schema *at = m;
    for (size_t k = 0; k < nhops; k++) {
        CHECK(field_of(at, hops[k]) && hops[k]->fk);
        at = hops[k]->fk();
        CHECK(cadre_model_pk(at) != NULL); /* only keys to a model with a key are crossed */
    }
    CHECK(field_of(at, f));
    CHECK(used == len || (len - used >= 2 && memcmp(path + used, "__", 2) == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool quiet;
    if (!quiet) {
        cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
        quiet = true;
    }
    const char *path = (const char *)data;
    check(CADRE_SCHEMA_OF(book), path, size);
    check(CADRE_SCHEMA_OF(node), path, size);
    check(CADRE_SCHEMA_OF(author), path, size);
    return 0;
}
