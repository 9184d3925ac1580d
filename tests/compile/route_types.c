/* CADRE_ROUTE checks its handler's type at compile time (compile_test.py builds this file with
 * -DMISMATCH=N and expects the error, and without it expects success). */
#include <cadre.h>

#define ITEM_FIELDS(F) F(string, name, CADRE_MIN_LEN(1))
CADRE_SCHEMA(item, ITEM_FIELDS)

#if MISMATCH == 1 /* the body parameter's type is another schema's */
static int create(cadre_request *r, const cadre_none *p, const cadre_none *in, item *out)
#elif MISMATCH == 2 /* const forgotten on the body */
static int create(cadre_request *r, const cadre_none *p, item *in, item *out)
#elif MISMATCH == 3 /* the response's type */
static int create(cadre_request *r, const cadre_none *p, const item *in, cadre_none *out)
#else
static int create(cadre_request *r, const cadre_none *p, const item *in, item *out)
#endif
{
    (void)r, (void)p, (void)in, (void)out;
    return 201;
}

int main(int argc, char **argv)
{
    cadre_app *app = cadre_app_new("t");
    CADRE_ROUTE(app, POST, "/items", create, cadre_none, item, item, .status = 201);
    return cadre_main(app, argc, argv);
}

#ifdef TOO_MANY_FIELDS /* 65 fields: refused at compile time (presence bits are one uint64_t) */
#define F8(F, p) F(int32, p##0) F(int32, p##1) F(int32, p##2) F(int32, p##3) F(int32, p##4)        \
    F(int32, p##5) F(int32, p##6) F(int32, p##7)
#define WIDE_FIELDS(F) F8(F, a) F8(F, b) F8(F, c) F8(F, d) F8(F, e) F8(F, f) F8(F, g) F8(F, h)     \
    F(int32, last)
CADRE_SCHEMA(wide, WIDE_FIELDS)
const cadre_schema *wide_schema(void);
const cadre_schema *wide_schema(void)
{
    return wide__schema();
}
#endif
