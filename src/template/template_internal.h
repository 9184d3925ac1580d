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
    struct ttemplate *parent_t;
    tnode **blocks; /* every N_BLOCK of this template, any depth */
    size_t nblocks;
    int visit; /* linking: 0 not seen, 1 being walked, 2 done (include/extends cycles) */
} ttemplate;

struct cadre_templates {
    cadre_arena arena; /* the compiled set */
    ttemplate *items;
    size_t len;
    /* reload mode */
    char *dir;
    bool reload;
    int64_t stamp; /* newest modification time seen (ns), and the number of files */
    size_t nfiles;
    struct cadre_templates *current; /* the latest compiled set (reload), or NULL */
    struct cadre_templates *retired; /* sets replaced by a reload, freed at the end */
    pthread_mutex_t lock;
};

/* Compiles the sources into a new set (errors logged). */
int cadre__templates_compile(const cadre_template_source *src, size_t n, cadre_templates **out);

/* The template named name in t, or NULL. */
ttemplate *cadre__template_find(cadre_templates *t, const char *name, size_t len);

/* Forms (form.c): the fields as a list of maps, and as markup. */
cadre_tvalue cadre__form_fields(cadre_arena *a, const cadre_tform *form);
cadre_slice cadre__form_html(cadre_arena *a, const cadre_tform *form);
cadre_tvalue cadre__form_enctype(const cadre_tform *form);

/* Filters: index by name (or -1) and how many arguments each takes at most. */
int cadre__filter_index(const char *name, size_t len);
int cadre__filter_max_args(int index);
bool cadre__filter_is_safe(int index);

#endif
