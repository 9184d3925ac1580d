/*
 * Logging: one write(2) per record so that records from several worker threads never interleave.
 */
#include <cadre/base.h>

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic int log_level = CADRE_LOG_INFO;
static _Atomic int log_format = CADRE_LOG_PLAIN;
static _Atomic int log_fd = 2;
static _Atomic bool log_sql_on = false;

static _Thread_local const char *log_request_id; /* the request running on this thread */

void cadre_log_request_id(const char *id)
{
    log_request_id = id;
}

static const char *const level_names[] = { "debug", "info", "warn", "error", "off" };
static const char *const level_upper[] = { "DEBUG", "INFO", "WARN", "ERROR", "OFF" };

void cadre_log_configure(cadre_log_level level, cadre_log_format format, int fd)
{
    atomic_store(&log_level, (int)level);
    atomic_store(&log_format, (int)format);
    if (fd >= 0)
        atomic_store(&log_fd, fd);
}

int cadre_log_level_parse(const char *s, cadre_log_level *out)
{
    for (int i = 0; i <= CADRE_LOG_OFF; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (cadre_log_level)i;
            return 0;
        }
    }
    return CADRE_EINVAL;
}

void cadre_log_sql(bool on)
{
    atomic_store(&log_sql_on, on);
}

cadre_log_level cadre_log_sql_level(void)
{
    if (atomic_load_explicit(&log_sql_on, memory_order_relaxed) && cadre_log_enabled(CADRE_LOG_INFO))
        return CADRE_LOG_INFO;
    return cadre_log_enabled(CADRE_LOG_DEBUG) ? CADRE_LOG_DEBUG : CADRE_LOG_OFF;
}

bool cadre_log_enabled(cadre_log_level level)
{
    return (int)level >= atomic_load_explicit(&log_level, memory_order_relaxed) &&
           level < CADRE_LOG_OFF;
}

/* A fixed-size record under construction; appends are cut at the end, never overflow. */
struct rec {
    char buf[4608];
    size_t len;
};

static void put(struct rec *r, const char *s, size_t n)
{
    size_t room = sizeof r->buf - 2 - r->len; /* keep room for "\n" */
    if (n > room)
        n = room;
    memcpy(r->buf + r->len, s, n);
    r->len += n;
}

static void puts_(struct rec *r, const char *s)
{
    put(r, s, strlen(s));
}

/* JSON string body escaping (the quotes are the caller's); input cut to fit the record. */
static void put_json(struct rec *r, const char *s)
{
    char esc[6 * 512];
    size_t n = strlen(s);
    while (n > 0 && r->len < sizeof r->buf - 2) {
        size_t take = n > 512 ? 512 : n;
        while (take < n && take > 508 && ((unsigned char)s[take] & 0xC0) == 0x80)
            take--; /* a UTF-8 sequence stays in one piece (at most 4 bytes) */
        put(r, esc, cadre_escape_json(esc, s, take));
        s += take;
        n -= take;
    }
}

static void timestamp(char out[64])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

static void emit(cadre_log_level level, const char *msg, const char *const *fields)
{
    struct rec r;
    char ts[64];
    r.len = 0;
    timestamp(ts);
    const char *id = log_request_id; /* unless the fields say it themselves */
    for (size_t i = 0; id && fields && fields[i] && fields[i + 1]; i += 2)
        if (strcmp(fields[i], "request_id") == 0)
            id = NULL;
    if (atomic_load_explicit(&log_format, memory_order_relaxed) == CADRE_LOG_JSON) {
        puts_(&r, "{\"ts\":\"");
        puts_(&r, ts);
        puts_(&r, "\",\"level\":\"");
        puts_(&r, level_names[level]);
        puts_(&r, "\",\"msg\":\"");
        put_json(&r, msg);
        puts_(&r, "\"");
        for (size_t i = 0; fields && fields[i] && fields[i + 1]; i += 2) {
            puts_(&r, ",\"");
            put_json(&r, fields[i]);
            puts_(&r, "\":\"");
            put_json(&r, fields[i + 1]);
            puts_(&r, "\"");
        }
        if (id) {
            puts_(&r, ",\"request_id\":\"");
            put_json(&r, id);
            puts_(&r, "\"");
        }
        puts_(&r, "}");
    } else {
        puts_(&r, ts);
        puts_(&r, " ");
        puts_(&r, level_upper[level]);
        puts_(&r, " ");
        puts_(&r, msg);
        for (size_t i = 0; fields && fields[i] && fields[i + 1]; i += 2) {
            puts_(&r, " ");
            puts_(&r, fields[i]);
            puts_(&r, "=");
            puts_(&r, fields[i + 1]);
        }
        if (id) {
            puts_(&r, " request_id=");
            puts_(&r, id);
        }
    }
    r.buf[r.len++] = '\n';
    int fd = atomic_load_explicit(&log_fd, memory_order_relaxed);
    size_t off = 0;
    while (off < r.len) {
        ssize_t n = write(fd, r.buf + off, r.len - off);
        if (n <= 0)
            break; /* nowhere to report a failing log */
        off += (size_t)n;
    }
}

void cadre_log(cadre_log_level level, const char *fmt, ...)
{
    if (!cadre_log_enabled(level))
        return;
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit(level, msg, NULL);
}

void cadre_log_fields(cadre_log_level level, const char *msg, const char *const *fields)
{
    if (!cadre_log_enabled(level))
        return;
    emit(level, msg, fields);
}
