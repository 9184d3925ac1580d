/*
 * The database a test suite runs against: a SQLite file in a fresh temp directory by default, or
 * the PostgreSQL server named by CADRE_TEST_PG (tests/pg/with-postgres starts one and runs the
 * suite again). Include once per suite; pass engine_setup/engine_teardown to
 * cmocka_run_group_tests.
 */
#ifndef CADRE_TESTS_ENGINE_FIXTURE_H
#define CADRE_TESTS_ENGINE_FIXTURE_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[64];  /* the temp directory (SQLite's file lives here) */
static char url[512]; /* what to pass to cadre_db_open */
static bool pg;       /* running on PostgreSQL */

static int engine_setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/cadre-test-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    const char *env = getenv("CADRE_TEST_PG");
    pg = env && *env;
    if (pg)
        snprintf(url, sizeof url, "%s", env);
    else
        snprintf(url, sizeof url, "sqlite://%s/test.db", dir);
    return 0;
}

static int engine_teardown(void **state)
{
    (void)state;
    static const char *const files[] = { "test.db", "test.db-wal", "test.db-shm" };
    char path[160];
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    return 0;
}

#endif
