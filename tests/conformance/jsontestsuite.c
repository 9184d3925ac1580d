/*
 * JSONTestSuite (nst/JSONTestSuite, test_parsing/) against cadre_json_validate.
 *
 *   jsontestsuite [-v] DIR
 *
 * Every DIR/NAME.json file is read into a buffer of exactly its size (so that AddressSanitizer sees
 * any read past the end) and checked: y_* must be accepted, n_* refused, i_* may go either way but
 * must not crash or hang (run the sanitizer build to catch the former; meson's test timeout catches
 * the latter). Every file is also read token by token with cadre_json_next, which must give the
 * same verdict as cadre_json_validate; a refusal must come with a reason and an offset inside the
 * input.
 *
 * Depth limit: 1024. The suite's deepest documents that are meant to parse are
 * i_structure_500_nested_arrays.json (500 levels) and the y_ files (a few levels), so with 1024
 * every verdict is on the grammar and never on the depth limit: a parser that mishandles deep
 * nesting cannot hide behind CADRE_JSON_DEFAULT_DEPTH (64), which would refuse the 500 levels
 * before reaching their end. n_structure_100000_opening_arrays.json still goes past 1024 and so
 * exercises the depth-limit refusal. 1024 rather than CADRE_JSON_MAX_DEPTH (4096) because nothing
 * in the suite needs more, and a limit below the maximum also checks that a caller's own limit is
 * the one applied.
 *
 * Output: one line per failure (with -v, also one line per i_ file and its verdict), then
 *   jsontestsuite: N passed, M failed (K implementation-defined: A accepted, R refused)
 * Exit status: 0 when nothing failed, 1 otherwise (2 for usage or I/O errors).
 */
#include <cadre.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH 1024

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads path into a malloc'ed buffer of exactly its size (at least 1 byte allocated). */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) {
            if (ferror(f)) {
                free(buf);
                buf = NULL;
            }
            break;
        }
        char *bigger = realloc(buf, cap *= 2);
        if (!bigger)
            free(buf);
        buf = bigger;
    }
    fclose(f);
    if (!buf)
        return NULL;
    char *exact = malloc(n ? n : 1);
    if (exact && n)
        memcpy(exact, buf, n);
    free(buf);
    *len = n;
    return exact;
}

/* Reads every token; 0 when the document is complete, CADRE_EPARSE otherwise. */
static int read_tokens(const char *data, size_t len, cadre_arena *arena, const char **reason,
                       size_t *off)
{
    cadre_json_reader rd;
    cadre_json_token t;
    cadre_json_reader_init(&rd, data, len, arena, DEPTH);
    for (size_t n = 0; n <= len + 1; n++) {
        int rc = cadre_json_next(&rd, &t);
        if (rc != 0) {
            *reason = cadre_json_error(&rd, off);
            return rc;
        }
        if (t.type == CADRE_JSON_END)
            return 0;
    }
    *reason = "more tokens than bytes (the reader does not advance)";
    *off = len;
    return -1000;
}

int main(int argc, char **argv)
{
    bool verbose = argc == 3 && strcmp(argv[1], "-v") == 0;
    if (argc != 2 + verbose) {
        fprintf(stderr, "usage: %s [-v] TEST_PARSING_DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1 + verbose];
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "jsontestsuite: %s: %s\n", dir, strerror(errno));
        return 2;
    }
    size_t nnames = 0, cap = 0;
    char **names = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 7 || strcmp(e->d_name + l - 5, ".json") != 0)
            continue;
        if (e->d_name[1] != '_' || !strchr("yni", e->d_name[0]))
            continue;
        if (nnames == cap) {
            cap = cap ? cap * 2 : 512;
            char **more = realloc(names, cap * sizeof *names);
            if (!more)
                return 2;
            names = more;
        }
        names[nnames] = strdup(e->d_name);
        if (!names[nnames])
            return 2;
        nnames++;
    }
    closedir(d);
    if (nnames == 0) {
        fprintf(stderr, "jsontestsuite: no [yni]_*.json files in %s\n", dir);
        return 2;
    }
    qsort(names, nnames, sizeof *names, cmp_names);

    cadre_arena arena;
    cadre_arena_init(&arena, 0);
    size_t passed = 0, failed = 0, impl = 0, impl_acc = 0, impl_ref = 0;
    size_t y = 0, n = 0;
    for (size_t k = 0; k < nnames; k++) {
        const char *name = names[k];
        size_t plen = strlen(dir) + 1 + strlen(name) + 1;
        char *path = malloc(plen);
        if (!path)
            return 2;
        snprintf(path, plen, "%s/%s", dir, name);
        size_t len = 0;
        char *data = read_file(path, &len);
        if (!data) {
            fprintf(stderr, "jsontestsuite: %s: cannot read: %s\n", path, strerror(errno));
            return 2;
        }
        free(path);

        const char *reason = NULL, *treason = NULL;
        size_t off = 0, toff = 0;
        int rc = cadre_json_validate(data, len, DEPTH, &reason, &off);
        int trc = read_tokens(data, len, &arena, &treason, &toff);
        cadre_arena_reset(&arena);
        free(data);

        bool ok = true;
        char why[256] = "";
        if (rc != 0 && rc != CADRE_EPARSE) {
            ok = false;
            snprintf(why, sizeof why, "validate returned %d", rc);
        } else if ((rc == 0) != (trc == 0)) {
            ok = false;
            snprintf(why, sizeof why, "validate %s but the reader %s (%s at %zu)",
                     rc == 0 ? "accepts" : "refuses", trc == 0 ? "accepts" : "refuses",
                     rc == 0 ? treason : reason, rc == 0 ? toff : off);
        } else if (rc != 0 && (!reason || off > len)) {
            ok = false;
            snprintf(why, sizeof why, "refused without a reason or with offset %zu > %zu", off,
                     len);
        } else if (name[0] == 'y' && rc != 0) {
            ok = false;
            snprintf(why, sizeof why, "must be accepted, refused: %s at offset %zu", reason, off);
        } else if (name[0] == 'n' && rc == 0) {
            ok = false;
            snprintf(why, sizeof why, "must be refused, accepted");
        }
        if (name[0] == 'y')
            y++;
        else if (name[0] == 'n')
            n++;
        else if (ok) {
            impl++;
            if (rc == 0)
                impl_acc++;
            else
                impl_ref++;
            if (verbose)
                printf("%s: %s\n", name, rc == 0 ? "accepted" : "refused");
        }
        if (ok) {
            passed++;
        } else {
            failed++;
            printf("FAIL %s: %s\n", name, why);
        }
        free(names[k]);
    }
    free(names);
    cadre_arena_free(&arena);
    printf("jsontestsuite: %zu passed, %zu failed (%zu implementation-defined: %zu accepted, %zu "
           "refused)\n",
           passed, failed, impl, impl_acc, impl_ref);
    fprintf(stderr, "jsontestsuite: %zu files (%zu y_, %zu n_, %zu i_), depth limit %d\n", nnames,
            y, n, nnames - y - n, DEPTH);
    return failed ? 1 : 0;
}
