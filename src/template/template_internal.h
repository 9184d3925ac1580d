/* Private declarations of the template module. Never installed. */
#ifndef CADRE_TEMPLATE_INTERNAL_H
#define CADRE_TEMPLATE_INTERNAL_H

#include <cadre/template.h>

#include <pthread.h>

/* Expressions */
enum {
    E_LIT,    /* a literal value */
    E_NAME,   /* a name looked up in the scope */
    E_ATTR,   /* a.name */
    E_FILTER, /* a|name(args) */
    E_NOT,
    E_AND,
    E_OR,
    E_CMP, /* a op b */
    E_IN,  /* a in b */
    E_SUPER,
    E_INDEX, /* a[b]: an item of a list by number, of a map or struct by name */
};
enum { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE };

typedef struct texpr texpr;
struct texpr {
    int kind;
    int op;            /* E_CMP: CMP_*; E_FILTER: the filter's index */
    cadre_tvalue lit;  /* E_LIT */
    const char *name;  /* E_NAME, E_ATTR */
    texpr *a, *b;      /* operands (E_ATTR, E_FILTER: the value in a) */
    texpr **args;      /* E_FILTER */
    size_t nargs;
    int line, col;     /* E_NAME, E_ATTR: where it is written (development-mode warnings) */
};

/* Nodes */
enum { N_TEXT, N_OUT, N_IF, N_FOR, N_BLOCK, N_INCLUDE, N_SET };

typedef struct tnode tnode;
struct ttemplate;
typedef struct tlist {
    tnode **items;
    size_t len, cap;
} tlist;

struct tnode {
    int kind;
    int line; /* for run-time messages */
    cadre_slice text;  /* N_TEXT */
    texpr *expr;       /* N_OUT, N_FOR (the iterable), N_INCLUDE (the name) */
    /* N_IF: conds[i] guards bodies[i]; bodies[nconds] is the else (may be empty) */
    texpr **conds;
    tlist *bodies;
    size_t nconds;
    const char *var;   /* N_FOR: the loop variable; N_BLOCK: the name; N_SET: the name set */
    tlist body, empty; /* N_FOR (empty: {% empty %}/{% else %}), N_BLOCK */
    struct ttemplate *inc; /* N_INCLUDE: the template, resolved when the set is linked */
};

/* One template. */
typedef struct ttemplate {
    char *name;
    char *source; /* owned copy of the text: TEXT nodes point into it */
    size_t len;
    tlist root;
    const char *parent; /* {% extends %} */
    int parent_line;
    struct ttemplate *parent_t;
    tnode **blocks; /* every N_BLOCK of this template, any depth */
    size_t nblocks;
    int visit; /* linking: 0 not seen, 1 being walked, 2 done (include/extends cycles) */
} ttemplate;

/*
 * One layer of a stack of templates: where some of them come from. A set is compiled from a list
 * of layers (one, for cadre_templates_load_dir; the modules' in dependency order for an app), a
 * later layer's template replacing an earlier one's of the same name.
 */
typedef struct tlayer {
    const char *module;               /* the module's label, for messages; NULL: none */
    const cadre_template_source *src; /* embedded sources (not copied: static data) */
    size_t n;
    char *dir;                        /* a directory, or NULL (owned by the list holding it) */
    bool reload;
    cadre_templates *set;             /* a compiled set (cadre_templates_use), or NULL */
} tlayer;

/* What a layer held when the set was last compiled: a directory's newest modification time (ns)
 * and number of files; the set a set layer rendered from. */
typedef struct tseen {
    int64_t newest;
    size_t nfiles;
    cadre_templates *set;
} tseen;

struct cadre_templates {
    cadre_arena arena; /* the compiled set */
    ttemplate *items;
    size_t len;
    /* reload mode: the layers it was compiled from (copies, their dirs owned) and what they held */
    bool reload;
    tlayer *layers;
    tseen *seen;
    size_t nlayers;
    struct cadre_templates *current; /* the latest compiled set (reload), or NULL */
    struct cadre_templates *retired; /* sets replaced by a reload, freed at the end */
    char *broken; /* reload: the errors of the last change, which did not compile (NULL: none) */
    pthread_mutex_t lock;
};

/*
 * Where compile errors go: fn gets the layer the template came from (NULL: not built from
 * layers), its name (NULL: the error is the layer's, a directory that cannot be read), the line
 * (0: the template as a whole), the column (0: the line) and the message. cadre__template_error
 * takes the template's index in the sources compiled instead: origin[index] is its layer in
 * layers when built from layers. A NULL tdiag, or fn NULL: the log, "name:line:column: message".
 */
typedef struct tdiag tdiag;
struct tdiag {
    void (*fn)(const tdiag *d, const tlayer *layer, const char *name, int line, int col,
               const char *msg);
    void *ctx;
    const tlayer *layers; /* set by cadre__templates_build */
    const size_t *origin;
};
void cadre__template_error(const tdiag *d, size_t index, const char *name, int line, int col,
                           const char *fmt, ...) CADRE_PRINTF(6, 7);

/* Parses t's source into its tree, in a (errors to d, as template index). */
int cadre__template_parse(cadre_arena *a, ttemplate *t, const tdiag *d, size_t index);

/* Compiles the sources into a new set (errors to d). */
int cadre__templates_compile(const cadre_template_source *src, size_t n, const tdiag *d,
                             cadre_templates **out);

/*
 * Compiles the union of the layers into a new set (errors to d; a directory that cannot be read
 * is CADRE_EIO, logged). With keep, and a layer that reloads (a directory with reload, a set
 * loaded with reload), the set keeps copies of the layers and recompiles when any of them
 * changes (cadre__templates_current).
 */
int cadre__templates_build(const tlayer *layers, size_t n, const tdiag *d, bool keep,
                           cadre_templates **out);

/* The set to render from: t, or in reload mode its latest compile, recompiled first when a
 * layer changed. */
cadre_templates *cadre__templates_current(cadre_templates *t);

/* In reload mode, when the last change of t's files did not compile (the set before it is what
 * renders): its errors, "file:line:column: message" a line each, copied into a; else NULL. */
const char *cadre__templates_broken(cadre_templates *t, cadre_arena *a);

/* Renders t with the names of ctx, then those of extra (either may be NULL). */
/* dev: warn (once per expression and render) of names and attributes that are not defined, with
 * template:line:column, as development mode does */
int cadre__templates_render(cadre_templates *set, ttemplate *t, const cadre_tctx *ctx,
                            const cadre_tctx *extra, bool dev, cadre_buf *out);

/* The template named name in t, or NULL. */
ttemplate *cadre__template_find(cadre_templates *t, const char *name, size_t len);

/* Forms (form.c): the fields as a list of maps, and as markup. */
/* The names fn adds for a page (form pages' .context), then first[0..nfirst) (which win): in
 * *out, request arena memory. Returns 0 or fn's error. */
int cadre__page_context(cadre_request *r, const cadre_tvar *first, size_t nfirst,
                        int (*fn)(cadre_request *r, cadre_tctx_builder *b), cadre_tctx *out);
cadre_tvalue cadre__form_fields(cadre_arena *a, const cadre_tform *form);
cadre_slice cadre__form_html(cadre_arena *a, const cadre_tform *form);
cadre_tvalue cadre__form_enctype(const cadre_tform *form);

/* Filters: index by name (or -1) and how many arguments each takes at most. */
int cadre__filter_index(const char *name, size_t len);
int cadre__filter_max_args(int index);
bool cadre__filter_is_safe(int index);

#endif
