/*
 * Template compiler: one pass over the source builds a tree of nodes (text, output, if, for,
 * block, include) with expression trees, in the set's arena. Text nodes point into the template's
 * own copy of its source. Errors name file:line:column.
 *
 * While scanning text, a small HTML state machine (text / inside a tag / inside a quoted
 * attribute / inside <script> or <style>) tells where each {{ }} lands, so that an interpolation
 * no escaping can make safe (in a tag, outside quotes) is refused at compile time.
 */
#include "template_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { H_TEXT, H_TAG, H_DQ, H_SQ, H_RAW, H_COMMENT };

#define MAX_NESTING 32 /* tags inside tags, parentheses inside parentheses */

typedef struct parser {
    cadre_arena *a;
    ttemplate *t;
    const tdiag *diag; /* where errors go */
    size_t index;      /* t's, for diag */
    const char *src, *p, *end;
    int errors;
    int depth;               /* nesting of bodies and expressions being parsed */
    const char *line_pos;    /* line numbers are counted forward from here (nodes come in order) */
    int line_no;
    bool strip_next; /* the previous tag ended with '-': strip the next text's leading space */
    bool seen_tag;   /* a tag or output came before (extends must be first) */
    int html;
    char tagname[8]; /* the tag being read (to enter H_RAW after <script>/<style>) */
    size_t tagname_len;
    char raw_end[10]; /* "</script" or "</style" while H_RAW */
} parser;

static void perr(parser *ps, const char *at, const char *fmt, ...) CADRE_PRINTF(3, 4);
static void perr(parser *ps, const char *at, const char *fmt, ...)
{
    int line = 1, col = 1;
    for (const char *q = ps->src; q < at && q < ps->end; q++) {
        if (*q == '\n')
            line++, col = 1;
        else
            col++;
    }
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ps->errors++ < 20)
        cadre__template_error(ps->diag, ps->index, ps->t->name, line, col, "%s", msg);
}

static int line_of(parser *ps, const char *at)
{
    if (!ps->line_pos || at < ps->line_pos) /* counted from the start only when going back */
        ps->line_pos = ps->src, ps->line_no = 1;
    for (; ps->line_pos < at; ps->line_pos++)
        ps->line_no += *ps->line_pos == '\n';
    return ps->line_no;
}

/* e is written at `at`: its line and column, for messages at render time. */
static void mark(parser *ps, texpr *e, const char *at)
{
    e->line = line_of(ps, at);
    const char *q = at;
    while (q > ps->src && q[-1] != '\n')
        q--;
    e->col = (int)(at - q) + 1;
}

/* Enters one more level of nesting; false (with the error reported) past MAX_NESTING. */
static bool nest(parser *ps, const char *at)
{
    if (++ps->depth <= MAX_NESTING)
        return true;
    perr(ps, at, "nested more than %d deep", MAX_NESTING);
    return false;
}

static void *alloc(parser *ps, size_t n)
{
    void *p = cadre_arena_calloc(ps->a, n);
    if (!p)
        cadre_panic("out of memory compiling templates");
    return p;
}

static void push(parser *ps, tlist *l, tnode *n)
{
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        tnode **items = alloc(ps, cap * sizeof *items);
        if (l->len)
            memcpy(items, l->items, l->len * sizeof *items);
        l->items = items;
        l->cap = cap;
    }
    l->items[l->len++] = n;
}

static tnode *node(parser *ps, int kind, const char *at)
{
    tnode *n = alloc(ps, sizeof *n);
    n->kind = kind;
    n->line = line_of(ps, at);
    return n;
}

/* ---------------------------------------------------------------------------------------------
 * HTML context
 * ------------------------------------------------------------------------------------------- */

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void html_scan(parser *ps, const char *p, const char *end)
{
    for (; p < end; p++) {
        char c = *p;
        switch (ps->html) {
        case H_TEXT:
            if (c == '<' && end - p >= 4 && memcmp(p, "<!--", 4) == 0) {
                ps->html = H_COMMENT; /* quotes in a comment are text */
                p += 3;
            } else if (c == '<' && p + 1 < end && (is_alpha(p[1]) || p[1] == '/' || p[1] == '!')) {
                ps->html = H_TAG;
                ps->tagname_len = 0;
                const char *q = p + 1;
                while (q < end && is_alpha(*q) && ps->tagname_len < sizeof ps->tagname - 1)
                    ps->tagname[ps->tagname_len++] = (char)(*q++ | 0x20);
                ps->tagname[ps->tagname_len] = '\0';
            }
            break;
        case H_TAG:
            if (c == '"')
                ps->html = H_DQ;
            else if (c == '\'')
                ps->html = H_SQ;
            else if (c == '>') {
                ps->html = H_TEXT;
                if (strcmp(ps->tagname, "script") == 0 || strcmp(ps->tagname, "style") == 0) {
                    snprintf(ps->raw_end, sizeof ps->raw_end, "</%s", ps->tagname);
                    ps->html = H_RAW;
                }
            }
            break;
        case H_DQ:
            if (c == '"')
                ps->html = H_TAG;
            break;
        case H_SQ:
            if (c == '\'')
                ps->html = H_TAG;
            break;
        case H_COMMENT:
            if (c == '-' && end - p >= 3 && memcmp(p, "-->", 3) == 0) {
                ps->html = H_TEXT;
                p += 2;
            }
            break;
        case H_RAW: {
            size_t n = strlen(ps->raw_end);
            if (c == '<' && (size_t)(end - p) >= n && strncasecmp(p, ps->raw_end, n) == 0) {
                ps->html = H_TAG;
                ps->tagname[0] = '\0';
            }
            break;
        }
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Expressions
 * ------------------------------------------------------------------------------------------- */

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static bool is_ident_start(char c)
{
    return is_alpha(c) || c == '_';
}

static bool is_ident(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

/* The identifier at p (after spaces), without consuming it. */
static size_t peek_ident(parser *ps, const char **s)
{
    skip_ws(ps);
    *s = ps->p;
    const char *q = ps->p;
    if (q < ps->end && is_ident_start(*q))
        while (q < ps->end && is_ident(*q))
            q++;
    return (size_t)(q - ps->p);
}

static bool word_is(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && memcmp(s, w, n) == 0;
}

/* Consumes the keyword w if it comes next. */
static bool accept_word(parser *ps, const char *w)
{
    const char *s;
    size_t n = peek_ident(ps, &s);
    if (!word_is(s, n, w))
        return false;
    ps->p += n;
    return true;
}

static bool accept(parser *ps, const char *tok)
{
    skip_ws(ps);
    size_t n = strlen(tok);
    if ((size_t)(ps->end - ps->p) >= n && memcmp(ps->p, tok, n) == 0) {
        ps->p += n;
        return true;
    }
    return false;
}

static char *ident_copy(parser *ps, const char *what)
{
    const char *s;
    size_t n = peek_ident(ps, &s);
    if (!n) {
        perr(ps, ps->p, "expected %s", what);
        return NULL;
    }
    ps->p += n;
    return cadre_arena_strndup(ps->a, s, n);
}

static texpr *expr_new(parser *ps, int kind)
{
    texpr *e = alloc(ps, sizeof *e);
    e->kind = kind;
    return e;
}

static texpr *parse_expr(parser *ps);

static texpr *parse_string(parser *ps)
{
    char q = *ps->p++;
    cadre_buf b;
    cadre_buf_init_arena(&b, ps->a, (size_t)1 << 20);
    while (ps->p < ps->end && *ps->p != q) {
        char c = *ps->p++;
        if (c == '\\' && ps->p < ps->end) {
            char e = *ps->p++;
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e;
        }
        cadre_buf_append(&b, &c, 1);
    }
    if (ps->p >= ps->end) {
        perr(ps, ps->p, "unterminated string");
        return NULL;
    }
    ps->p++;
    texpr *e = expr_new(ps, E_LIT);
    const char *s = cadre_buf_cstr(&b);
    e->lit = (cadre_tvalue){ .kind = CADRE_TV_STR, .u.s = { s ? s : "", b.len } };
    return e;
}

static texpr *parse_number(parser *ps)
{
    const char *s = ps->p;
    if (*ps->p == '-')
        ps->p++;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
        ps->p++;
    bool frac = ps->p + 1 < ps->end && *ps->p == '.' && ps->p[1] >= '0' && ps->p[1] <= '9';
    if (frac) {
        ps->p++;
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
            ps->p++;
    }
    char *text = cadre_arena_strndup(ps->a, s, (size_t)(ps->p - s));
    texpr *e = expr_new(ps, E_LIT);
    if (frac)
        e->lit = (cadre_tvalue){ .kind = CADRE_TV_DOUBLE, .u.d = strtod(text, NULL) };
    else
        e->lit = (cadre_tvalue){ .kind = CADRE_TV_INT, .u.i = strtoll(text, NULL, 10) };
    return e;
}

static texpr *parse_primary(parser *ps)
{
    skip_ws(ps);
    if (ps->p >= ps->end) {
        perr(ps, ps->p, "expected an expression");
        return NULL;
    }
    texpr *e = NULL;
    char c = *ps->p;
    if (c == '(') {
        ps->p++;
        e = parse_expr(ps);
        if (e && !accept(ps, ")")) {
            perr(ps, ps->p, "expected ')'");
            return NULL;
        }
    } else if (c == '"' || c == '\'') {
        e = parse_string(ps);
    } else if ((c >= '0' && c <= '9') ||
               (c == '-' && ps->p + 1 < ps->end && ps->p[1] >= '0' && ps->p[1] <= '9')) {
        e = parse_number(ps);
    } else if (is_ident_start(c)) {
        const char *s;
        size_t n = peek_ident(ps, &s);
        ps->p += n;
        if (word_is(s, n, "true") || word_is(s, n, "True") || word_is(s, n, "false") ||
            word_is(s, n, "False")) {
            e = expr_new(ps, E_LIT);
            e->lit = (cadre_tvalue){ .kind = CADRE_TV_BOOL, .u.b = *s == 't' || *s == 'T' };
        } else if (word_is(s, n, "none") || word_is(s, n, "None")) {
            e = expr_new(ps, E_LIT);
            e->lit = (cadre_tvalue){ .kind = CADRE_TV_NONE };
        } else if (word_is(s, n, "super") && accept(ps, "(")) {
            if (!accept(ps, ")")) {
                perr(ps, ps->p, "super() takes no arguments");
                return NULL;
            }
            e = expr_new(ps, E_SUPER);
        } else if (word_is(s, n, "and") || word_is(s, n, "or") || word_is(s, n, "not") ||
                   word_is(s, n, "in")) {
            perr(ps, s, "expected an expression, not '%.*s'", (int)n, s);
            return NULL;
        } else {
            e = expr_new(ps, E_NAME);
            e->name = cadre_arena_strndup(ps->a, s, n);
            mark(ps, e, s);
        }
    } else {
        perr(ps, ps->p, "unexpected '%c' in an expression", c);
        return NULL;
    }
    while (e && ps->p < ps->end && (*ps->p == '.' || *ps->p == '[')) { /* bind tightest */
        if (*ps->p == '[') {
            ps->p++;
            texpr *ix = expr_new(ps, E_INDEX);
            ix->a = e;
            if (!(ix->b = parse_expr(ps)))
                return NULL;
            if (!accept(ps, "]")) {
                perr(ps, ps->p, "expected ']'");
                return NULL;
            }
            e = ix;
            continue;
        }
        ps->p++;
        const char *s;
        size_t n = peek_ident(ps, &s);
        if (!n || s != ps->p) {
            perr(ps, ps->p, "expected an attribute name after '.'");
            return NULL;
        }
        ps->p += n;
        texpr *a = expr_new(ps, E_ATTR);
        a->a = e;
        a->name = cadre_arena_strndup(ps->a, s, n);
        mark(ps, a, s);
        e = a;
    }
    return e;
}

/* value|filter|filter(args) */
static texpr *parse_filtered(parser *ps)
{
    texpr *e = parse_primary(ps);
    while (e) {
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != '|')
            break;
        ps->p++;
        const char *s;
        size_t n = peek_ident(ps, &s);
        int f = n ? cadre__filter_index(s, n) : -1;
        if (f < 0) {
            perr(ps, s, "unknown filter '%.*s'", (int)n, s);
            return NULL;
        }
        ps->p += n;
        texpr *fe = expr_new(ps, E_FILTER);
        fe->op = f;
        fe->a = e;
        if (accept(ps, "(") && !accept(ps, ")")) {
            texpr *args[4];
            size_t na = 0;
            do {
                if (na == 4) {
                    perr(ps, ps->p, "too many arguments to %.*s", (int)n, s);
                    return NULL;
                }
                if (!(args[na++] = parse_expr(ps)))
                    return NULL;
            } while (accept(ps, ","));
            if (!accept(ps, ")")) {
                perr(ps, ps->p, "expected ')' after the arguments of %.*s", (int)n, s);
                return NULL;
            }
            if ((int)na > cadre__filter_max_args(f)) {
                perr(ps, s, "%.*s takes at most %d argument(s)", (int)n, s, cadre__filter_max_args(f));
                return NULL;
            }
            fe->args = alloc(ps, na * sizeof *fe->args);
            memcpy(fe->args, args, na * sizeof *args);
            fe->nargs = na;
        }
        e = fe;
    }
    return e;
}

static texpr *parse_cmp(parser *ps)
{
    texpr *a = parse_filtered(ps);
    if (!a)
        return NULL;
    static const struct {
        const char *tok;
        int op;
    } ops[] = { { "==", CMP_EQ }, { "!=", CMP_NE }, { "<=", CMP_LE },
                { ">=", CMP_GE }, { "<", CMP_LT },  { ">", CMP_GT } };
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        if (accept(ps, ops[i].tok)) {
            texpr *e = expr_new(ps, E_CMP);
            e->op = ops[i].op;
            e->a = a;
            e->b = parse_filtered(ps);
            return e->b ? e : NULL;
        }
    }
    const char *save = ps->p;
    bool negate = accept_word(ps, "not");
    if (accept_word(ps, "in")) {
        texpr *e = expr_new(ps, E_IN);
        e->a = a;
        e->b = parse_filtered(ps);
        if (!e->b)
            return NULL;
        if (negate) {
            texpr *n = expr_new(ps, E_NOT);
            n->a = e;
            return n;
        }
        return e;
    }
    ps->p = save;
    return a;
}

static texpr *parse_not(parser *ps)
{
    if (accept_word(ps, "not")) {
        if (!nest(ps, ps->p))
            return NULL;
        texpr *e = expr_new(ps, E_NOT);
        e->a = parse_not(ps);
        ps->depth--;
        return e->a ? e : NULL;
    }
    return parse_cmp(ps);
}

static texpr *parse_and(parser *ps)
{
    texpr *a = parse_not(ps);
    while (a && accept_word(ps, "and")) {
        texpr *e = expr_new(ps, E_AND);
        e->a = a;
        e->b = parse_not(ps);
        a = e->b ? e : NULL;
    }
    return a;
}

static texpr *parse_expr(parser *ps)
{
    if (!nest(ps, ps->p))
        return NULL;
    texpr *a = parse_and(ps);
    while (a && accept_word(ps, "or")) {
        texpr *e = expr_new(ps, E_OR);
        e->a = a;
        e->b = parse_and(ps);
        a = e->b ? e : NULL;
    }
    ps->depth--;
    return a;
}

/* ---------------------------------------------------------------------------------------------
 * Tags
 * ------------------------------------------------------------------------------------------- */

/* Consumes "[-]close" ("}}", "%}", "#}"); a '-' sets strip_next. */
static bool close_tag(parser *ps, const char *close)
{
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '-' && ps->p + 1 < ps->end && ps->p[1] == close[0]) {
        ps->p++;
        ps->strip_next = true;
    }
    if (accept(ps, close))
        return true;
    perr(ps, ps->p, "expected '%s'", close);
    return false;
}

static void add_text(parser *ps, tlist *out, const char *s, const char *e, bool strip_end)
{
    if (ps->strip_next) {
        while (s < e && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
            s++;
        ps->strip_next = false;
    }
    if (strip_end)
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
            e--;
    html_scan(ps, s, e);
    if (e > s) {
        tnode *n = node(ps, N_TEXT, s);
        n->text = (cadre_slice){ s, (size_t)(e - s) };
        push(ps, out, n);
    }
}

/* The next "{{", "{%" or "{#" at or after p, or NULL. */
static const char *next_open(const char *p, const char *end)
{
    for (; p + 1 < end; p++)
        if (*p == '{' && (p[1] == '{' || p[1] == '%' || p[1] == '#'))
            return p;
    return NULL;
}

/* Parses nodes into out until one of the tags in ends (NULL-terminated; NULL: the end of the
 * source); *which gets the index of the tag that ended it (-1: the end of the source). */
static void parse_body(parser *ps, tlist *out, const char *const *ends, int *which);
static void parse_body_level(parser *ps, tlist *out, const char *const *ends, int *which);

static bool ends_with_safe(const texpr *e)
{
    return e->kind == E_FILTER && cadre__filter_is_safe(e->op);
}

static void parse_output(parser *ps, tlist *out, const char *at)
{
    texpr *e = parse_expr(ps);
    if (!e || !close_tag(ps, "}}"))
        return;
    if (ps->html == H_TAG && !ends_with_safe(e))
        perr(ps, at, "{{ }} inside an HTML tag but outside quotes cannot be escaped safely: quote "
                     "the attribute value (\"{{ … }}\"), or mark trusted markup |safe");
    tnode *n = node(ps, N_OUT, at);
    n->expr = e;
    push(ps, out, n);
    ps->seen_tag = true;
}

static void parse_if(parser *ps, tlist *out, const char *at)
{
    static const char *const ends[] = { "elif", "else", "endif", NULL };
    tnode *n = node(ps, N_IF, at);
    texpr *conds[64];
    tlist bodies[65];
    size_t nc = 0;
    int which = 0;
    do {
        if (nc == 64) {
            perr(ps, ps->p, "too many elif branches");
            return;
        }
        texpr *c = parse_expr(ps);
        if (!c || !close_tag(ps, "%}"))
            return;
        conds[nc] = c;
        bodies[nc] = (tlist){ 0 };
        parse_body(ps, &bodies[nc++], ends, &which);
        if (which < 0) {
            if (!ps->errors) /* not when parsing stopped at an earlier error */
                perr(ps, at, "{%% if %%} without {%% endif %%}");
            return;
        }
    } while (which == 0);
    bodies[nc] = (tlist){ 0 };
    if (which == 1) {
        static const char *const endif[] = { "endif", NULL };
        if (!close_tag(ps, "%}"))
            return;
        parse_body(ps, &bodies[nc], endif, &which);
        if (which < 0) {
            if (!ps->errors) /* not when parsing stopped at an earlier error */
                perr(ps, at, "{%% if %%} without {%% endif %%}");
            return;
        }
    }
    if (!close_tag(ps, "%}"))
        return;
    n->conds = alloc(ps, nc * sizeof *n->conds);
    memcpy(n->conds, conds, nc * sizeof *conds);
    n->bodies = alloc(ps, (nc + 1) * sizeof *n->bodies);
    memcpy(n->bodies, bodies, (nc + 1) * sizeof *bodies);
    n->nconds = nc;
    push(ps, out, n);
}

static void parse_for(parser *ps, tlist *out, const char *at)
{
    tnode *n = node(ps, N_FOR, at);
    if (!(n->var = ident_copy(ps, "a loop variable name")))
        return;
    if (!accept_word(ps, "in")) {
        perr(ps, ps->p, "expected 'in' after the loop variable");
        return;
    }
    if (!(n->expr = parse_expr(ps)) || !close_tag(ps, "%}"))
        return;
    static const char *const ends[] = { "empty", "else", "endfor", NULL };
    int which;
    parse_body(ps, &n->body, ends, &which);
    if (which == 0 || which == 1) {
        static const char *const endfor[] = { "endfor", NULL };
        if (!close_tag(ps, "%}"))
            return;
        parse_body(ps, &n->empty, endfor, &which);
    }
    if (which < 0) {
        if (!ps->errors)
            perr(ps, at, "{%% for %%} without {%% endfor %%}");
        return;
    }
    if (close_tag(ps, "%}"))
        push(ps, out, n);
}

static void parse_block(parser *ps, tlist *out, const char *at)
{
    tnode *n = node(ps, N_BLOCK, at);
    if (!(n->var = ident_copy(ps, "a block name")) || !close_tag(ps, "%}"))
        return;
    for (size_t i = 0; i < ps->t->nblocks; i++)
        if (strcmp(ps->t->blocks[i]->var, n->var) == 0) {
            perr(ps, at, "block '%s' defined twice", n->var);
            return;
        }
    tnode **blocks = alloc(ps, (ps->t->nblocks + 1) * sizeof *blocks);
    if (ps->t->nblocks)
        memcpy(blocks, ps->t->blocks, ps->t->nblocks * sizeof *blocks);
    blocks[ps->t->nblocks++] = n;
    ps->t->blocks = blocks;
    static const char *const ends[] = { "endblock", NULL };
    int which;
    parse_body(ps, &n->body, ends, &which);
    if (which < 0) {
        if (!ps->errors)
            perr(ps, at, "{%% block %s %%} without {%% endblock %%}", n->var);
        return;
    }
    const char *s;
    size_t len = peek_ident(ps, &s);
    if (len) {
        ps->p += len;
        if (!word_is(s, len, n->var))
            perr(ps, s, "{%% endblock %.*s %%} closes block '%s'", (int)len, s, n->var);
    }
    if (close_tag(ps, "%}"))
        push(ps, out, n);
}

/* {% extends "name" %} / {% include "name" %}: a string literal, checked when the set is
 * linked. */
static const char *template_name(parser *ps, const char *tag)
{
    skip_ws(ps);
    if (ps->p >= ps->end || (*ps->p != '"' && *ps->p != '\'')) {
        perr(ps, ps->p, "{%% %s %%} takes a template name in quotes", tag);
        return NULL;
    }
    texpr *e = parse_string(ps);
    return e && close_tag(ps, "%}") ? e->lit.u.s.ptr : NULL;
}

static void parse_tag(parser *ps, tlist *out, const char *at, const char *const *ends, int *which)
{
    const char *s;
    size_t n = peek_ident(ps, &s);
    for (int i = 0; ends && ends[i]; i++) {
        if (word_is(s, n, ends[i])) {
            ps->p += n;
            *which = i;
            return;
        }
    }
    ps->p += n;
    if (word_is(s, n, "if")) {
        parse_if(ps, out, at);
    } else if (word_is(s, n, "for")) {
        parse_for(ps, out, at);
    } else if (word_is(s, n, "block")) {
        parse_block(ps, out, at);
    } else if (word_is(s, n, "extends")) {
        if (ps->seen_tag || ps->t->parent || out != &ps->t->root)
            perr(ps, at, "{%% extends %%} must be the template's first tag");
        ps->t->parent_line = line_of(ps, at);
        ps->t->parent = template_name(ps, "extends");
    } else if (word_is(s, n, "set")) {
        tnode *nd = node(ps, N_SET, at);
        if (!(nd->var = ident_copy(ps, "a name to set")))
            return;
        if (!accept(ps, "=")) {
            perr(ps, ps->p, "expected '=' after {%% set %s", nd->var);
            return;
        }
        if ((nd->expr = parse_expr(ps)) != NULL && close_tag(ps, "%}"))
            push(ps, out, nd);
    } else if (word_is(s, n, "include")) {
        tnode *nd = node(ps, N_INCLUDE, at);
        const char *name = template_name(ps, "include");
        if (name) {
            nd->expr = expr_new(ps, E_LIT);
            nd->expr->lit = (cadre_tvalue){ .kind = CADRE_TV_STR, .u.s = cadre_slice_cstr(name) };
            push(ps, out, nd);
        }
    } else if (n) {
        perr(ps, s, "unknown tag '%.*s'%s", (int)n, s,
             word_is(s, n, "endif") || word_is(s, n, "endfor") || word_is(s, n, "endblock") ||
                     word_is(s, n, "else") || word_is(s, n, "elif") || word_is(s, n, "empty")
                 ? " here (nothing open to end)"
                 : "");
        /* skip to the end of the tag to go on finding errors */
        const char *close = strstr(ps->p, "%}");
        ps->p = close && close < ps->end ? close + 2 : ps->end;
    } else {
        perr(ps, s, "expected a tag name after '{%%'");
        const char *close = strstr(ps->p, "%}");
        ps->p = close && close < ps->end ? close + 2 : ps->end;
    }
    ps->seen_tag = true;
}

static void parse_body(parser *ps, tlist *out, const char *const *ends, int *which)
{
    *which = -1;
    if (!nest(ps, ps->p))
        return;
    parse_body_level(ps, out, ends, which);
    ps->depth--;
}

static void parse_body_level(parser *ps, tlist *out, const char *const *ends, int *which)
{
    while (ps->p < ps->end && ps->errors == 0) {
        const char *open = next_open(ps->p, ps->end);
        const char *text_end = open ? open : ps->end;
        bool strip = open && open + 2 < ps->end && open[2] == '-';
        add_text(ps, out, ps->p, text_end, strip);
        if (!open) {
            ps->p = ps->end;
            return;
        }
        ps->p = open + 2 + strip;
        char kind = open[1];
        if (kind == '#') {
            const char *close = ps->p;
            while (close + 1 < ps->end && !(close[0] == '#' && close[1] == '}'))
                close++;
            if (close + 1 >= ps->end) {
                perr(ps, open, "comment without '#}'");
                return;
            }
            ps->strip_next = close > ps->p && close[-1] == '-';
            ps->p = close + 2;
        } else if (kind == '{') {
            parse_output(ps, out, open);
        } else {
            parse_tag(ps, out, open, ends, which);
            if (*which >= 0)
                return;
        }
    }
}

int cadre__template_parse(cadre_arena *a, ttemplate *t, const tdiag *d, size_t index)
{
    parser ps = { .a = a, .t = t, .diag = d, .index = index, .src = t->source, .p = t->source,
                  .end = t->source + t->len };
    int which;
    parse_body(&ps, &t->root, NULL, &which);
    return ps.errors ? CADRE_EPARSE : 0;
}
