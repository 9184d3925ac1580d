/*
 * libFuzzer target for migration files (src/orm/migrate_*.c): decoding with the file schema
 * (migrate_format.c), each operation checked against the schema built so far (migrate_state.c),
 * and the SQL generated for SQLite and PostgreSQL, including SQLite's table rebuilds
 * (migrate_sql.c).
 *
 * Input: one migration's JSON text. Invariants (abort on violation): no crash or leak; when the
 * input is accepted, the SQL is non-empty, holds no NUL and no statement separator outside string
 * literals, and every string literal is closed (names come only from validated identifiers and
 * values only from quoted literals, so a file cannot smuggle SQL in).
 */
#include <cadre.h>

#include "fuzz_check.h"

#include "orm/orm_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool quiet;
    if (!quiet) {
        cadre_log_configure(CADRE_LOG_OFF, CADRE_LOG_PLAIN, -1);
        quiet = true;
    }
    cadre_buf sql;
    cadre_buf_init(&sql, (size_t)64 << 20);
    int rc = cadre__migration_check((const char *)data, size, &sql);
    if (rc == 0 && sql.len > 0) {
        CHECK(memchr(sql.data, '\0', sql.len) == NULL);
        bool in_literal = false;
        for (size_t i = 0; i < sql.len; i++) {
            char ch = sql.data[i];
            if (ch == '\'')
                in_literal = !in_literal; /* '' inside a literal toggles twice */
            else if (ch == ';' && !in_literal)
                CHECK(i + 1 < sql.len && sql.data[i + 1] == '\n'); /* only the separator */
            else if (ch == '\n' && !in_literal)
                CHECK(i > 0 && sql.data[i - 1] == ';');
        }
        CHECK(!in_literal);
    }
    cadre_buf_free(&sql);
    return 0;
}
