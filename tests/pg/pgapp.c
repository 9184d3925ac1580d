/* A small app on PostgreSQL for the integration tests: $CADRE_DATABASE_URL names the database. */
#include <cadre.h>

#include <stdlib.h>

#define ONE_FIELDS(F) F(int64, n)
CADRE_SCHEMA(One, ONE_FIELDS)

static cadre_db *db;

static int answer(cadre_request *r, const char *sql)
{
    One row;
    bool found;
    int rc = cadre_db_query_one(db, r->arena, CADRE_SCHEMA_OF(One), &row, &found, sql, NULL, 0);
    if (rc)
        return rc; /* a database that is down answers 503 */
    return cadre_text(r, 200, cadre_arena_printf(r->arena, "%lld", (long long)row.n));
}

/* A slow query: the worker must go on serving /fast meanwhile. */
static int slow(cadre_request *r)
{
    return answer(r, "SELECT 7 AS n FROM pg_sleep(1)");
}

/* A short nap: more of these at once than a worker has connections (8) must queue, not fail. */
static int nap(cadre_request *r)
{
    return answer(r, "SELECT 3 AS n FROM pg_sleep(0.3)");
}

static int fast(cadre_request *r)
{
    return answer(r, "SELECT 1 AS n");
}

int main(int argc, char **argv)
{
    const char *url = getenv("CADRE_DATABASE_URL");
    if (!url || cadre_db_open(url, &db) != 0)
        return 2;
    cadre_app *app = cadre_app_new("pgapp");
    cadre_get(app, "/slow", slow);
    cadre_get(app, "/fast", fast);
    cadre_get(app, "/nap", nap);
    if (cadre_db_metrics(app, db) != 0) /* the pool's use in /metrics */
        return 2;
    int status = cadre_main(app, argc, argv);
    cadre_db_close(db);
    return status;
}
