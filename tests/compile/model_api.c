/* The typed model API and the presence bits are checked by the compiler (compile_test.py builds
 * this file with -DBAD=N and expects the diagnostic, and without it expects success). */
#include <cadre.h>

#define SUPPLIER_FIELDS(F) F(int64, id, CADRE_PRIMARY_KEY) F(string, name, CADRE_UNIQUE)
CADRE_MODEL(supplier, SUPPLIER_FIELDS)
#define PRODUCT_FIELDS(F)                                                                          \
    F(int64, id, CADRE_PRIMARY_KEY) F(string, name) F(string, note, CADRE_OPTIONAL)
CADRE_MODEL(product, PRODUCT_FIELDS)

int add(cadre_db *db, cadre_arena *a);
#if BAD == 4 /* a form page's save function for another model */
static int save(cadre_request *r, supplier *s, cadre_verrors *errs)
#else
static int save(cadre_request *r, product *s, cadre_verrors *errs)
#endif
{
    (void)r, (void)s, (void)errs;
    return 0;
}

void pages(cadre_app *app);
void pages(cadre_app *app)
{
    CADRE_FORM_PAGE(app, "/products/new", product, "form.html", save, .fields = "name");
    CADRE_FORM_PAGE(app, "/products/add", product, "form.html", NULL);
}

int add(cadre_db *db, cadre_arena *a)
{
    product p = { .name = CADRE_LIT("drill"), .note = CADRE_LIT("new") };
    supplier s = { .name = CADRE_LIT("acme") };
    (void)s;
#if BAD == 1 /* a field the model does not have */
    cadre_set(&p, product, nope);
#elif BAD == 2 /* another model's struct */
    return product_insert(db, a, &s);
#elif BAD == 3 /* presence bits of another model's struct */
    cadre_set(&s, product, name);
#else
    cadre_set(&p, product, note);
#endif
    return product_insert(db, a, &p);
}
