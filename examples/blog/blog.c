/* The classic blog on Cadre: a JSON API for authors, posts and comments; a page of published
 * posts with their authors; a post's page with its comments and a comment form. */
#include "models.h"

#include <stdio.h>

static cadre_db *db;
extern const cadre_template_source blog_templates[];
extern const size_t blog_templates_count;

/* GET /: the published posts, newest first, with their authors (one query). */
static int index_page(cadre_request *r)
{
    cadre_query q;
    cadre_rows posts, authors;
    post_query(&q, db, r->arena);
    cadre_q_filter(&q, "published", CADRE_PINT(1));
    cadre_q_select_related(&q, "author_id", &authors);
    cadre_q_order_by(&q, "-created_at");
    int rc = cadre_q_fetch(&q, &posts);
    return rc ? rc : cadre_render(r, 200, "index.html", CADRE_CTX({ "posts", CADRE_TROWS(post, &posts) }));
}

/* /posts/{id}: the post, its author and its comments (two queries), for the comment form's page. */
static int post_context(cadre_request *r, cadre_tctx_builder *b)
{
    cadre_query q;
    cadre_rows posts, authors, comments;
    int64_t id;
    if (cadre_slice_to_i64(cadre_request_param(r, "id"), false, &id) != 0)
        return CADRE_ENOTFOUND;
    post_query(&q, db, r->arena);
    cadre_q_filter(&q, "id", CADRE_PINT(id));
    cadre_q_filter(&q, "published", CADRE_PINT(1));
    cadre_q_select_related(&q, "author_id", &authors);
    cadre_q_prefetch(&q, CADRE_SCHEMA_OF(comment), "post_id", &comments);
    int rc = cadre_q_fetch(&q, &posts);
    if (rc == 0 && posts.len == 0)
        rc = CADRE_ENOTFOUND;
    if (rc == 0)
        cadre_tctx_add(b, "posts", CADRE_TROWS(post, &posts));
    return rc;
}

/* A comment belongs to the post its page shows. */
static int save_comment(cadre_request *r, comment *c, cadre_verrors *errs)
{
    if (cadre_slice_to_i64(cadre_request_param(r, "id"), false, &c->post_id) != 0)
        return CADRE_ENOTFOUND;
    int rc = comment_insert(db, r->arena, c);
    if (rc == CADRE_ESTATE && comment_conflicts(db, r->arena, c, -1, errs) > 0)
        return CADRE_ENOTFOUND; /* no such post */
    return rc ? rc : cadre_redirect(r, 303, cadre_url_for(r, "post", c->post_id));
}

int main(int argc, char **argv)
{
    cadre_app *app = cadre_app_new("blog");
    if (cadre_db_open_env("sqlite://blog.db", &db) != 0)
        return 1;
    cadre_templates_add(app, blog_templates, blog_templates_count);
    cadre_models(app, db, BLOG_MIGRATIONS, CADRE_SCHEMA_OF(author), CADRE_SCHEMA_OF(post),
                 CADRE_SCHEMA_OF(comment));
    cadre_crud(app, "/api/authors", CADRE_SCHEMA_OF(author), db);
    cadre_crud(app, "/api/posts", CADRE_SCHEMA_OF(post), db);
    cadre_crud(app, "/api/comments", CADRE_SCHEMA_OF(comment), db);
    cadre_get(app, "/", index_page);
    CADRE_FORM_PAGE(app, "/posts/{id}", comment, "post.html", save_comment, .db = db,
                    .fields = "name,body", .context = post_context, .name = "post");
    int status = cadre_main(app, argc, argv);
    cadre_db_close(db);
    return status;
}
