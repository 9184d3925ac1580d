/* The blog's models: authors, their posts, and readers' comments on them. */
#ifndef BLOG_MODELS_H
#define BLOG_MODELS_H

#include <cadre.h>

#define AUTHOR_FIELDS(F)                                                                           \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, name, CADRE_MIN_LEN(1), CADRE_MAX_LEN(100), CADRE_UNIQUE)
CADRE_MODEL(author, AUTHOR_FIELDS)

#define POST_FIELDS(F)                                                                             \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(string, title, CADRE_MIN_LEN(1), CADRE_MAX_LEN(200))                                         \
    F(string, body)                                                                                \
    F(bool, published, CADRE_DEFAULT(false))                                                       \
    F(int64, author_id, CADRE_FOREIGN_KEY(author, CADRE_ON_DELETE_CASCADE))                        \
    F(datetime, created_at, CADRE_AUTO_NOW_ADD)
CADRE_MODEL(post, POST_FIELDS)

#define COMMENT_FIELDS(F)                                                                          \
    F(int64, id, CADRE_PRIMARY_KEY)                                                                \
    F(int64, post_id, CADRE_FOREIGN_KEY(post, CADRE_ON_DELETE_CASCADE))                            \
    F(string, name, CADRE_MIN_LEN(1), CADRE_MAX_LEN(100))                                          \
    F(string, body, CADRE_MIN_LEN(1))                                                              \
    F(datetime, created_at, CADRE_AUTO_NOW_ADD)
CADRE_MODEL(comment, COMMENT_FIELDS)

#endif
