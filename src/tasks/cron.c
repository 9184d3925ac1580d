/*
 * Cron expressions (five fields, vixie cron's syntax and day rule) and the next minute one names.
 */
#include "cadre/tasks.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define CRON_MAX_LEN 256

static const char *const month_names[] = { "jan", "feb", "mar", "apr", "may", "jun",
                                           "jul", "aug", "sep", "oct", "nov", "dec" };
static const char *const day_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };

/* A number, or a three-letter name of names (value: index + base). Advances *p. */
static bool value(const char **p, const char *const *names, int nnames, int base, int *out)
{
    const char *s = *p;
    if (*s >= '0' && *s <= '9') {
        int v = 0, digits = 0;
        while (*s >= '0' && *s <= '9') {
            if (++digits > 3)
                return false;
            v = v * 10 + (*s++ - '0');
        }
        *out = v;
        *p = s;
        return true;
    }
    for (int i = 0; names && i < nnames; i++)
        if (strncasecmp(s, names[i], 3) == 0) {
            *out = i + base;
            *p = s + 3;
            return true;
        }
    return false;
}

/* One field: a comma-separated list of *, N, N-M, each with an optional /STEP, into the bits
 * lo..hi of *bits. *star: the field began with '*'. Returns NULL or what is wrong. */
static const char *field(const char *s, size_t len, int lo, int hi, const char *const *names,
                         int nnames, int base, uint64_t *bits, bool *star)
{
    char buf[CRON_MAX_LEN + 1];
    memcpy(buf, s, len);
    buf[len] = '\0';
    const char *p = buf;
    *bits = 0;
    *star = *p == '*';
    for (;;) {
        int a, b, step = 1;
        bool single = false;
        if (*p == '*') {
            a = lo;
            b = hi;
            p++;
        } else {
            if (!value(&p, names, nnames, base, &a))
                return "expected a number, a name or '*'";
            b = a;
            single = *p != '-';
            if (*p == '-') {
                p++;
                if (!value(&p, names, nnames, base, &b))
                    return "expected a number or a name after '-'";
            }
        }
        if (*p == '/') {
            p++;
            if (!value(&p, NULL, 0, 0, &step) || step < 1)
                return "expected a step of 1 or more after '/'";
            if (single) /* N/STEP: from N to the end */
                b = hi;
        }
        if (a < lo || b > hi || a > b)
            return "a value is out of range (or a range runs backwards)";
        for (int v = a; v <= b; v += step)
            *bits |= (uint64_t)1 << v;
        if (*p == '\0')
            return NULL;
        if (*p != ',')
            return "unexpected character (items are separated by ',')";
        p++;
    }
}

static int fail(char *why, const char *msg)
{
    if (why)
        snprintf(why, CADRE_CRON_WHY, "%s", msg);
    return CADRE_EPARSE;
}

int cadre_cron_parse(const char *expr, cadre_cron *out, char *why)
{
    static const struct {
        const char *name, *expr;
    } macros[] = { { "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" },
                   { "@monthly", "0 0 1 * *" }, { "@weekly", "0 0 * * 0" },
                   { "@daily", "0 0 * * *" },   { "@midnight", "0 0 * * *" },
                   { "@hourly", "0 * * * *" } };
    memset(out, 0, sizeof *out);
    if (!expr)
        return fail(why, "no expression");
    if (strlen(expr) > CRON_MAX_LEN)
        return fail(why, "longer than 256 characters");
    if (expr[0] == '@') {
        for (size_t i = 0; i < sizeof macros / sizeof *macros; i++)
            if (strcmp(expr, macros[i].name) == 0)
                return cadre_cron_parse(macros[i].expr, out, why);
        return fail(why, "unknown @name (@yearly, @monthly, @weekly, @daily, @hourly)");
    }
    const char *p = expr;
    static const char *const what[] = { "minute (0-59)", "hour (0-23)", "day of month (1-31)",
                                        "month (1-12 or jan-dec)",
                                        "day of week (0-7 or sun-sat)" };
    uint64_t bits[5];
    bool star[5];
    for (int f = 0; f < 5; f++) {
        while (*p == ' ' || *p == '\t')
            p++;
        size_t len = strcspn(p, " \t");
        if (len == 0)
            return fail(why, "five fields are needed: minute hour day-of-month month "
                             "day-of-week");
        static const int lo[] = { 0, 0, 1, 1, 0 }, hi[] = { 59, 23, 31, 12, 7 };
        const char *bad = field(p, len, lo[f], hi[f], f == 3 ? month_names : f == 4 ? day_names : NULL,
                                f == 3 ? 12 : f == 4 ? 7 : 0, f == 3 ? 1 : 0, &bits[f], &star[f]);
        if (bad) {
            if (why)
                snprintf(why, CADRE_CRON_WHY, "%s: %s", what[f], bad);
            return CADRE_EPARSE;
        }
        p += len;
    }
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p)
        return fail(why, "more than five fields");
    out->minutes = bits[0];
    out->hours = (uint32_t)bits[1];
    out->days = (uint32_t)bits[2];
    out->months = (uint16_t)bits[3];
    out->weekdays = (uint8_t)((bits[4] | bits[4] >> 7) & 0x7f); /* 7 is Sunday too */
    out->any_day = star[2];
    out->any_weekday = star[4];
    return 0;
}

static bool day_matches(const cadre_cron *c, const struct tm *tm)
{
    bool dom = c->days >> tm->tm_mday & 1, dow = c->weekdays >> tm->tm_wday & 1;
    /* cron's rule: with both fields restricted, a day matching either runs */
    return c->any_day || c->any_weekday ? dom && dow : dom || dow;
}

int64_t cadre_cron_next(const cadre_cron *c, int64_t after_ms)
{
    if (!c->minutes || !c->hours || !c->days || !c->months || !c->weekdays || after_ms < 0)
        return -1;
    time_t t = (time_t)(after_ms / 60000 + 1) * 60;
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return -1;
    int last_year = tm.tm_year + 5;
    /* Bounded: each turn moves to the next month, day, hour or minute that may match; five years
     * hold at most 60 months, 1827 days, 24 hours and 60 minutes per day tried. */
    for (int turns = 0; turns < 200000 && tm.tm_year <= last_year; turns++) {
        if (!(c->months >> (tm.tm_mon + 1) & 1)) {
            tm.tm_mon++;
            tm.tm_mday = 1;
            tm.tm_hour = tm.tm_min = 0;
        } else if (!day_matches(c, &tm)) {
            tm.tm_mday++;
            tm.tm_hour = tm.tm_min = 0;
        } else if (!(c->hours >> tm.tm_hour & 1)) {
            tm.tm_hour++;
            tm.tm_min = 0;
        } else if (!(c->minutes >> tm.tm_min & 1)) {
            tm.tm_min++;
        } else {
            t = timegm(&tm);
            /* past the largest instant in ms: none representable (not an overflow) */
            return t > (time_t)(INT64_MAX / 1000) ? -1 : (int64_t)t * 1000;
        }
        tm.tm_sec = 0;
        tm.tm_isdst = 0;
        t = timegm(&tm); /* normalizes (the 32nd of a month is the next's 1st) */
        if (!gmtime_r(&t, &tm))
            return -1;
    }
    return -1;
}
