/* Fuzzing the configuration file's reader (CADRE_CONFIG): any bytes give settings whose names
 * are CADRE_... or PORT and whose values hold no line break, or refusals — never a crash. */
#include "base/config_internal.h"
#include "fuzz_check.h"

#include <stdint.h>
#include <string.h>

static void check_setting(const char *name, const char *value, void *ctx)
{
    int *n = ctx;
    (*n)++;
    CHECK(strcmp(name, "PORT") == 0 || strncmp(name, "CADRE_", 6) == 0);
    CHECK(strlen(name) > 0 && !strchr(name, '='));
    CHECK(!strchr(value, '\n'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool quiet;
    if (!quiet) {
        cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
        quiet = true;
    }
    int settings = 0;
    int refused = cadre__config_parse((const char *)data, size, "fuzz", check_setting, &settings);
    CHECK(refused >= 0);
    size_t lines = size ? 1 : 0;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    CHECK((size_t)(settings + refused) <= lines);
    return 0;
}
