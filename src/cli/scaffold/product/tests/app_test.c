/* The pages: the home page asks for a login first, the admin too. */
static void pages(void)
{
    request("GET", "/", "Accept: text/html\r\n", NULL);
    CHECK(res.status == 302 || res.status == 303, "GET / without a login: %d", res.status);
    request("GET", "/admin/", "Accept: text/html\r\n", NULL);
    CHECK(res.status == 302 || res.status == 303, "GET /admin/ without a login: %d", res.status);
}

static void run(void)
{
    pages();
    api();
}
