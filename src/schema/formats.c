/*
 * Text formats of schema scalars: RFC 3339 dates and date-times, UUIDs, and POSIX regular
 * expressions for CADRE_PATTERN (compiled once per pattern, cached for the process).
 */
#include "schema_internal.h"

#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int digits(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

static bool leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* "YYYY-MM-DD" at p (at least 10 bytes). */
static const char *parse_ymd(const char *p, cadre_date *out)
{
    int y = digits(p, 4), m = digits(p + 5, 2), d = digits(p + 8, 2);
    if (y < 0 || m < 0 || d < 0 || p[4] != '-' || p[7] != '-')
        return "invalid date separator, expected `-`";
    if (m < 1 || m > 12)
        return "month value is outside expected range of 1-12";
    if (d < 1 || d > days_in_month(y, m))
        return "day value is outside expected range";
    out->year = y;
    out->month = m;
    out->day = d;
    return NULL;
}

const char *cadre_date_parse(cadre_slice s, cadre_date *out)
{
    if (s.len < 10)
        return "input is too short";
    if (s.len > 10)
        return "unexpected extra characters at the end of the input";
    return parse_ymd(s.ptr, out);
}

const char *cadre_datetime_parse(cadre_slice s, cadre_datetime *out)
{
    const char *p = s.ptr;
    size_t n = s.len;
    cadre_date d;
    if (n < 19)
        return "input is too short";
    const char *why = parse_ymd(p, &d);
    if (why)
        return why;
    if (p[10] != 'T' && p[10] != 't' && p[10] != ' ')
        return "invalid date separator, expected `T`, `t`, `_` or space";
    int hh = digits(p + 11, 2), mm = digits(p + 14, 2), ss = digits(p + 17, 2);
    if (hh < 0 || mm < 0 || ss < 0 || p[13] != ':' || p[16] != ':')
        return "invalid character in time";
    if (hh > 23)
        return "hour value is outside expected range of 0-23";
    if (mm > 59)
        return "minute value is outside expected range of 0-59";
    if (ss > 59)
        return "second value is outside expected range of 0-59";
    size_t i = 19;
    int32_t usec = 0;
    if (i < n && p[i] == '.') {
        i++;
        size_t start = i;
        int scale = 100000;
        while (i < n && p[i] >= '0' && p[i] <= '9') {
            usec += (p[i] - '0') * scale;
            scale /= 10;
            i++;
        }
        if (i == start)
            return "invalid character in time";
        if (i - start > 9)
            return "second fraction value is more than 9 digits long";
    }
    int offset = 0;
    bool naive = true;
    if (i < n) {
        naive = false;
        if ((p[i] == 'Z' || p[i] == 'z') && i + 1 == n) {
            offset = 0;
        } else if ((p[i] == '+' || p[i] == '-') &&
                   ((n - i == 6 && p[i + 3] == ':') || n - i == 3)) {
            /* ±HH:MM, or ±HH as PostgreSQL writes whole-hour offsets */
            int oh = digits(p + i + 1, 2), om = n - i == 3 ? 0 : digits(p + i + 4, 2);
            if (oh < 0 || om < 0 || oh > 23 || om > 59)
                return "invalid timezone sign or offset";
            offset = (oh * 60 + om) * (p[i] == '-' ? -1 : 1);
        } else {
            return "invalid timezone sign or unexpected extra characters";
        }
    }
    int64_t days = days_from_civil(d.year, d.month, d.day);
    out->sec = days * 86400 + hh * 3600 + mm * 60 + ss - (int64_t)offset * 60;
    out->usec = usec;
    out->offset_min = offset;
    out->naive = naive;
    return NULL;
}

size_t cadre_date_format(const cadre_date *d, char out[CADRE_DATE_TEXT])
{
    return (size_t)snprintf(out, CADRE_DATE_TEXT, "%04d-%02d-%02d", (int)d->year, (int)d->month,
                            (int)d->day);
}

size_t cadre_datetime_format(const cadre_datetime *t, char out[CADRE_DATETIME_TEXT])
{
    int64_t local = t->sec + (int64_t)t->offset_min * 60;
    int64_t days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
    int64_t rem = local - days * 86400;
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    int n = snprintf(out, CADRE_DATETIME_TEXT, "%04lld-%02d-%02dT%02d:%02d:%02d", (long long)y, m,
                     d, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
    if (t->usec)
        n += snprintf(out + n, (size_t)(CADRE_DATETIME_TEXT - n), ".%06d", (int)t->usec);
    if (!t->naive) {
        if (t->offset_min == 0) {
            out[n++] = 'Z';
            out[n] = '\0';
        } else {
            int o = t->offset_min < 0 ? -t->offset_min : t->offset_min;
            n += snprintf(out + n, (size_t)(CADRE_DATETIME_TEXT - n), "%c%02d:%02d",
                          t->offset_min < 0 ? '-' : '+', o / 60, o % 60);
        }
    }
    return (size_t)n;
}

size_t cadre_datetime_format_utc(const cadre_datetime *t, char out[CADRE_DATETIME_TEXT])
{
    /* the instant alone: a naive value is taken as UTC (its sec already counts from UTC) */
    cadre_datetime u = { .sec = t->sec, .usec = t->usec, .offset_min = 0, .naive = true };
    size_t n = cadre_datetime_format(&u, out);
    n += (size_t)snprintf(out + n, CADRE_DATETIME_TEXT - n, t->usec ? "Z" : ".000000Z");
    return n;
}

const char *cadre_uuid_parse(cadre_slice s, cadre_uuid *out)
{
    /* 8-4-4-4-12 hex digits, or 32 hex digits; optionally in braces or with a urn:uuid: prefix */
    const char *p = s.ptr, *end = s.ptr + s.len;
    if (s.len >= 9 && cadre_slice_ieq((cadre_slice){ p, 9 }, CADRE_LIT("urn:uuid:")))
        p += 9;
    else if (s.len >= 2 && *p == '{' && end[-1] == '}')
        p++, end--;
    int nib = 0;
    size_t pos = 0;
    for (; p < end; p++, pos++) {
        char c = *p;
        if (c == '-' && (pos == 8 || pos == 13 || pos == 18 || pos == 23))
            continue;
        int v = (c >= '0' && c <= '9')             ? c - '0'
                : ((c | 0x20) >= 'a' && (c | 0x20) <= 'f') ? (c | 0x20) - 'a' + 10
                                                         : -1;
        if (v < 0)
            return "invalid character: expected an optional prefix of `urn:uuid:` followed by "
                   "[0-9a-fA-F-]";
        if (nib >= 32)
            return "invalid group length";
        if (nib % 2 == 0)
            out->b[nib / 2] = (uint8_t)(v << 4);
        else
            out->b[nib / 2] |= (uint8_t)v;
        nib++;
    }
    if (nib != 32)
        return "invalid length: expected 32 hexadecimal digits";
    return NULL;
}

size_t cadre_uuid_format(const cadre_uuid *u, char out[CADRE_UUID_TEXT])
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[u->b[i] >> 4];
        out[o++] = hex[u->b[i] & 15];
    }
    out[o] = '\0';
    return o;
}

/* ---------------------------------------------------------------------------------------------
 * Patterns: POSIX extended regular expressions, searched (like Pydantic's, not anchored unless
 * the pattern says so). Compiled on first use and kept for the life of the process.
 * ------------------------------------------------------------------------------------------- */

struct compiled {
    const char *pattern; /* the descriptor's pointer (static storage) */
    regex_t re;
    int status; /* 0 compiled, else regcomp's error */
};

static pthread_mutex_t re_lock = PTHREAD_MUTEX_INITIALIZER;
static CADRE_VEC(struct compiled) re_cache; /* lives as long as the process */

int cadre__pattern_match(const char *pattern, const char *s)
{
    pthread_mutex_lock(&re_lock);
    struct compiled *c = NULL;
    for (size_t i = 0; i < re_cache.len; i++)
        if (re_cache.items[i].pattern == pattern || strcmp(re_cache.items[i].pattern, pattern) == 0)
            c = &re_cache.items[i];
    if (!c) {
        c = CADRE_VEC_PUSH(&re_cache, NULL, 0);
        if (!c) {
            pthread_mutex_unlock(&re_lock);
            return CADRE_ENOMEM;
        }
        c->pattern = pattern;
        c->status = regcomp(&c->re, pattern, REG_EXTENDED | REG_NOSUB);
        if (c->status)
            cadre_log(CADRE_LOG_ERROR, "CADRE_PATTERN(\"%s\") is not a POSIX extended regular expression",
                      pattern);
    }
    int rc = c->status ? CADRE_EINVAL : regexec(&c->re, s, 0, NULL, 0) == 0 ? 1 : 0;
    pthread_mutex_unlock(&re_lock);
    return rc;
}
