/*
 * What the template suites share: writing a template file with a given modification time (for
 * reload tests, without sleeping), and capturing the log while a step runs (compile errors are
 * checked by their message). Include once per suite, after cmocka.h.
 */
#ifndef CADRE_TESTS_TEMPLATE_FIXTURE_H
#define CADRE_TESTS_TEMPLATE_FIXTURE_H

#include <cadre.h>

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

/* Writes text to path and sets its modification time to mtime (seconds). */
static void write_file(const char *path, const char *text, long mtime)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
    assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* The log's ERROR records between capture_begin and capture_end, in logbuf. */
static char logbuf[8192];
static FILE *capture;

static void capture_begin(void)
{
    capture = tmpfile();
    assert_non_null(capture);
    cadre_log_configure(CADRE_LOG_ERROR, CADRE_LOG_PLAIN, fileno(capture));
}

static void capture_end(void)
{
    cadre_log_configure(CADRE_LOG_INFO, CADRE_LOG_PLAIN, 2);
    rewind(capture);
    size_t n = fread(logbuf, 1, sizeof logbuf - 1, capture);
    logbuf[n] = 0;
    fclose(capture);
}

#endif
