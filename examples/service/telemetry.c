/*
 * Telemetry, the example service (examples/service): a typed JSON API and nothing else — no
 * pages, no sessions, no admin. Devices send their readings in batches with a token that may only
 * add readings; analysts read summaries with tokens of their own. Its OpenAPI document is at
 * /openapi.json, the docs at /docs.
 *
 *   telemetry migrate                               creates or updates the tables
 *   telemetry createuser sensor-7                   a user for a device (or an analyst)
 *   telemetry group sensors --add sensor-7 --grant telemetry.add_reading
 *   telemetry createtoken sensor-7 field --scopes telemetry.add_reading
 *   telemetry serve --port 8000
 *
 * The database is $CADRE_DATABASE_URL, else sqlite://telemetry.db (in the current directory).
 */
#include "models.h"

#include <stdio.h>

#ifndef TELEMETRY_MIGRATIONS
#define TELEMETRY_MIGRATIONS "migrations"
#endif

static cadre_db *db;

/* What a device sends for one reading; the device is the path's. */
#define SAMPLE_FIELDS(F)                                                                           \
    F(string, metric, CADRE_MIN_LEN(1), CADRE_MAX_LEN(50))                                         \
    F(double, value)                                                                               \
    F(datetime, taken_at, CADRE_DESCRIPTION("when the device took it (RFC 3339)"))
CADRE_SCHEMA(sample, SAMPLE_FIELDS)

#define BATCH_FIELDS(F) F(array(sample), readings, CADRE_MIN_ITEMS(1), CADRE_MAX_ITEMS(1000))
CADRE_SCHEMA(batch, BATCH_FIELDS)

#define STORED_FIELDS(F) F(int64, stored, CADRE_DESCRIPTION("how many readings were stored"))
CADRE_SCHEMA(stored, STORED_FIELDS)

#define DEVICE_REF_FIELDS(F) F(int64, id, CADRE_IN_PATH, CADRE_GE(1))
CADRE_SCHEMA(device_ref, DEVICE_REF_FIELDS)

#define SUMMARY_QUERY_FIELDS(F)                                                                    \
    F(int64, id, CADRE_IN_PATH, CADRE_GE(1))                                                       \
    F(datetime, since, CADRE_IN_QUERY, CADRE_OPTIONAL,                                             \
      CADRE_DESCRIPTION("only readings taken at or after this time"))
CADRE_SCHEMA(summary_query, SUMMARY_QUERY_FIELDS)

#define METRIC_SUMMARY_FIELDS(F)                                                                   \
    F(string, metric)                                                                              \
    F(int64, count)                                                                                \
    F(double, min)                                                                                 \
    F(double, max)                                                                                 \
    F(double, mean)
CADRE_SCHEMA(metric_summary, METRIC_SUMMARY_FIELDS)

#define SUMMARY_FIELDS(F)                                                                          \
    F(int64, device_id)                                                                            \
    F(array(metric_summary), metrics, CADRE_DESCRIPTION("one per metric, by name"))
CADRE_SCHEMA(summary, SUMMARY_FIELDS)

/* 404 unless device id exists. */
static int device_exists(cadre_request *r, int64_t id)
{
    device d;
    bool found;
    int rc = device_get(db, r->arena, id, &d, &found);
    return rc ? rc : found ? 0 : cadre_error(r, 404, "No such device.");
}

/* POST /api/devices/{id}/readings: a batch of readings, stored all together or not at all. */
static int add_readings(cadre_request *r, const device_ref *p, const batch *in, stored *out)
{
    int rc = device_exists(r, p->id);
    if (rc)
        return rc;
    reading *rows = cadre_alloc(r, in->readings.len * sizeof *rows);
    if (!rows)
        return CADRE_ENOMEM;
    for (size_t i = 0; i < in->readings.len; i++) {
        const sample *s = &in->readings.items[i];
        rows[i] = (reading){ .device_id = p->id, .metric = s->metric, .value = s->value,
                             .taken_at = s->taken_at };
        cadre_set(&rows[i], reading, device_id);
        cadre_set(&rows[i], reading, metric);
        cadre_set(&rows[i], reading, value);
        cadre_set(&rows[i], reading, taken_at);
    }
    rc = reading_insert_many(db, r->arena, rows, in->readings.len);
    if (rc == CADRE_ESTATE) /* the device was deleted meanwhile: its foreign key fails */
        return cadre_error(r, 404, "No such device.");
    if (rc)
        return rc;
    out->stored = (int64_t)in->readings.len;
    return 201;
}

/* GET /api/devices/{id}/summary: per metric, how many readings and their least, greatest and mean
 * value — one grouped query, whatever the number of readings. */
static int device_summary(cadre_request *r, const summary_query *p, const cadre_none *in,
                          summary *out)
{
    (void)in;
    int rc = device_exists(r, p->id);
    if (rc)
        return rc;
    char since[CADRE_DATETIME_TEXT];
    cadre_value params[2] = { CADRE_PINT(p->id) };
    size_t n = 1;
    if (cadre_has(p, summary_query, since)) { /* compared in the stored form: UTC */
        cadre_datetime_format_utc(&p->since, since);
        params[n++] = CADRE_PTEXT(since);
    }
    cadre_rows rows;
    rc = cadre_db_query(db, r->arena, CADRE_SCHEMA_OF(metric_summary), &rows,
                        n == 1 ? "SELECT metric, COUNT(*) AS count, MIN(value) AS min, "
                                 "MAX(value) AS max, AVG(value) AS mean FROM reading "
                                 "WHERE device_id = ? GROUP BY metric ORDER BY metric LIMIT 1000"
                               : "SELECT metric, COUNT(*) AS count, MIN(value) AS min, "
                                 "MAX(value) AS max, AVG(value) AS mean FROM reading "
                                 "WHERE device_id = ? AND taken_at >= ? "
                                 "GROUP BY metric ORDER BY metric LIMIT 1000",
                        params, n);
    if (rc)
        return rc;
    out->device_id = p->id;
    out->metrics.items = rows.items;
    out->metrics.len = rows.len;
    return 0;
}

int main(int argc, char **argv)
{
    if (cadre_db_open_env("sqlite://telemetry.db", &db) != 0) {
        fprintf(stderr, "error: cannot open the database (CADRE_DATABASE_URL)\n");
        return 1;
    }
    cadre_app *app = cadre_app_new("telemetry");
    /* users, permissions, API tokens and their commands; no login page: nobody logs in here */
    cadre_auth(app, db, .login_path = "", .logout_path = "");
    cadre_models(app, db, TELEMETRY_MIGRATIONS, CADRE_SCHEMA_OF(device), CADRE_SCHEMA_OF(reading));
    /* everything under /api, by bearer token only: no cookies, so no CSRF either */
    cadre_group_begin(app, "/api", .auth = CADRE_AUTH_TOKEN);
    cadre_crud(app, "/devices", CADRE_SCHEMA_OF(device), db);
    cadre_crud(app, "/readings", CADRE_SCHEMA_OF(reading), db);
    CADRE_ROUTE(app, POST, "/devices/{id}/readings", add_readings, device_ref, batch, stored,
                .status = 201, .summary = "Store a batch of readings", .tags = "readings",
                .description = "Up to 1000 readings of one device, stored all together or none.",
                .guards = CADRE_GUARDS(CADRE_PERM("telemetry.add_reading")));
    CADRE_ROUTE(app, GET, "/devices/{id}/summary", device_summary, summary_query, cadre_none,
                summary, .summary = "Per-metric summary of a device's readings", .tags = "readings",
                .guards = CADRE_GUARDS(CADRE_PERM("telemetry.view_reading")));
    cadre_group_end(app);
    int status = cadre_main(app, argc, argv);
    cadre_db_close(db);
    return status;
}
