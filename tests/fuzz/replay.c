/*
 * Replays fuzz inputs without libFuzzer: runs LLVMFuzzerTestOneInput over every regular file in
 * the directories (or the files) named on the command line, so that the corpus and any saved
 * crash reproducers run as an ordinary test under gcc and AddressSanitizer.
 *
 *   fuzz-http-parser-replay DIR|FILE...
 *
 * Directories are not descended into; names starting with '.' are skipped. Inputs run in name
 * order. Exits 0 after printing "replayed N inputs", 1 on a file that cannot be read (or when
 * nothing at all was replayed). A broken invariant aborts in the target itself.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT_SIZE (1u << 20) /* libFuzzer's own default -max_len is far below this */
#define MAX_INPUTS 100000

static size_t replayed;

/* Runs one file. Returns 0, or -1 when it cannot be read or is too large. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    uint8_t *data = malloc(MAX_INPUT_SIZE + 1);
    if (!data) {
        fclose(f);
        fprintf(stderr, "replay: out of memory\n");
        return -1;
    }
    size_t n = fread(data, 1, MAX_INPUT_SIZE + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > MAX_INPUT_SIZE) {
        fprintf(stderr, "replay: %s: %s\n", path, bad ? "read error" : "larger than 1 MiB");
        free(data);
        return -1;
    }
    /* an exact-size copy, so that a read past the end is caught as under libFuzzer */
    uint8_t *input = malloc(n ? n : 1);
    if (!input) {
        free(data);
        fprintf(stderr, "replay: out of memory\n");
        return -1;
    }
    if (n)
        memcpy(input, data, n);
    free(data);
    LLVMFuzzerTestOneInput(input, n);
    free(input);
    replayed++;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t count = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (count == MAX_INPUTS) {
            fprintf(stderr, "replay: %s: more than %d entries, the rest skipped\n", dir, MAX_INPUTS);
            break;
        }
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **nn = realloc(names, ncap * sizeof *nn);
            if (!nn) {
                rc = -1;
                break;
            }
            names = nn;
            cap = ncap;
        }
        size_t len = strlen(dir) + 1 + strlen(e->d_name) + 1;
        char *path = malloc(len);
        if (!path) {
            rc = -1;
            break;
        }
        snprintf(path, len, "%s/%s", dir, e->d_name);
        names[count++] = path;
    }
    closedir(d);
    if (count)
        qsort(names, count, sizeof *names, by_name);
    for (size_t i = 0; i < count; i++) {
        struct stat st;
        if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode) && replay_file(names[i]) != 0)
            rc = -1;
        free(names[i]);
    }
    free(names);
    if (rc != 0)
        fprintf(stderr, "replay: %s: failed\n", dir);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
        return 2;
    }
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            rc = 1;
        } else if (S_ISDIR(st.st_mode)) {
            if (replay_dir(argv[i]) != 0)
                rc = 1;
        } else if (replay_file(argv[i]) != 0) {
            rc = 1;
        }
    }
    printf("replayed %zu inputs\n", replayed);
    if (replayed == 0) {
        fprintf(stderr, "replay: no inputs found\n");
        rc = 1;
    }
    return rc;
}
