
int main(void)
{
    char dir[] = "/tmp/@NAME@-test-XXXXXX", url[128], path[160];
    if (!mkdtemp(dir))
        return 1;
    snprintf(url, sizeof url, "sqlite://%s/test.db", dir);
    cadre_db *db;
    if (cadre_db_open(url, &db) != 0)
        return 1;
    test_db = db;
    app = @NAME@_app(db);
    CHECK(app && cadre_app_migrate(app, NULL, NULL, NULL) == 0, "the migrations apply");
    if (app && !failures)
        run();
    cadre_test_response_free(&res);
    cadre_app_free(app);
    cadre_db_close(db);
    static const char *const files[] = { "test.db", "test.db-wal", "test.db-shm" };
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    if (failures)
        fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
