/*
 * libFuzzer target for cron expressions (cadre_cron_parse, cadre_cron_next; cadre/tasks.h).
 *
 * Input: the expression (cut at 512 bytes and at a NUL). Invariants (abort on violation):
 * - refused: why is a non-empty string shorter than CADRE_CRON_WHY; refused as well with why NULL;
 * - parsed: every set is non-empty and within its field (minutes 0-59, hours 0-23, days 1-31,
 *   months 1-12, weekdays 0-6); parsing again (why NULL) gives the same sets;
 * - for instants derived from the input (0, 2026-2030, 1970-2400, the whole int64 range, the
 *   last years before INT64_MAX), cadre_cron_next returns -1 or a whole minute after the instant
 *   whose UTC fields (gmtime_r) the sets name, with cron's day rule; from that minute - 1 it
 *   returns the same minute; and it is the first such minute, as an independent search (day by
 *   day, with the civil calendar computed here) finds it: -1 only when there is none within five
 *   years or none representable in int64 milliseconds.
 */
#include <cadre.h>

#include "fuzz_check.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

#define MAX_EXPR 512
#define MIN_MS 60000LL
#define DAY_MS 86400000LL
#define YEAR_MS (365LL * DAY_MS)
#define Y2026_MS 1767225600000LL /* 2026-01-01 00:00 UTC: (56 × 365 + 14) days */

/* The civil date of day z since 1970-01-01 (proleptic Gregorian; H. Hinnant's algorithm). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool day_ok(const cadre_cron *c, unsigned mday, unsigned mon, unsigned wday)
{
    if (!(c->months >> mon & 1))
        return false;
    bool dom = c->days >> mday & 1, dow = c->weekdays >> wday & 1;
    return c->any_day || c->any_weekday ? dom && dow : dom || dow;
}

/* The first minute after `after` that c names, searched day by day over `days` days; -1 when
 * none (or none representable). */
static int64_t oracle(const cadre_cron *c, int64_t after, int64_t days)
{
    int64_t first;
    if (__builtin_mul_overflow(after / MIN_MS + 1, MIN_MS, &first))
        return -1; /* no whole minute after INT64_MAX's last */
    int64_t d0 = first / DAY_MS;
    for (int64_t day = d0; day < d0 + days; day++) {
        int64_t y;
        unsigned m, d;
        civil_from_days(day, &y, &m, &d);
        if (!day_ok(c, d, m, (unsigned)((day + 4) % 7))) /* 1970-01-01 was a Thursday */
            continue;
        int64_t base;
        if (__builtin_mul_overflow(day, DAY_MS, &base))
            return -1;
        for (int k = day == d0 ? (int)((first - day * DAY_MS) / MIN_MS) : 0; k < 1440; k++) {
            if (!(c->hours >> (k / 60) & 1) || !(c->minutes >> (k % 60) & 1))
                continue;
            int64_t t;
            if (__builtin_add_overflow(base, (int64_t)k * MIN_MS, &t))
                return -1;
            return t;
        }
    }
    return -1;
}

static void check_next(const cadre_cron *c, int64_t after)
{
    int64_t r = cadre_cron_next(c, after);
    /* the first match within five years must be found; up to seven, it may be */
    int64_t want = oracle(c, after, 5 * 365);
    int64_t late = want == -1 ? oracle(c, after, 7 * 366) : want;
    if (want != -1)
        CHECK(r == want);
    else
        CHECK(r == -1 || r == late);
    if (r == -1)
        return;
    CHECK(r > after && r % MIN_MS == 0);
    time_t t = (time_t)(r / 1000);
    struct tm tm;
    CHECK(gmtime_r(&t, &tm));
    CHECK(tm.tm_sec == 0);
    CHECK(c->minutes >> tm.tm_min & 1);
    CHECK(c->hours >> tm.tm_hour & 1);
    CHECK(day_ok(c, (unsigned)tm.tm_mday, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_wday));
    CHECK(cadre_cron_next(c, r - 1) == r);
}

static uint64_t mix(uint64_t *s) /* splitmix64 */
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char expr[MAX_EXPR + 1];
    size_t n = size < MAX_EXPR ? size : MAX_EXPR;
    memcpy(expr, data, n);
    expr[n] = '\0';

    cadre_cron c, again;
    char why[CADRE_CRON_WHY];
    memset(why, 0x5A, sizeof why);
    int rc = cadre_cron_parse(expr, &c, why);
    if (rc != 0) {
        CHECK(rc == CADRE_EPARSE);
        CHECK(memchr(why, '\0', sizeof why) != NULL);
        CHECK(why[0] != '\0');
        CHECK(cadre_cron_parse(expr, &again, NULL) == CADRE_EPARSE);
        return 0;
    }

    CHECK(c.minutes && c.minutes >> 60 == 0);
    CHECK(c.hours && c.hours >> 24 == 0);
    CHECK(c.days && (c.days & 1) == 0);
    CHECK(c.months && (c.months & ~0x1FFEu) == 0);
    CHECK(c.weekdays && c.weekdays < 0x80);
    CHECK(cadre_cron_parse(expr, &again, NULL) == 0);
    CHECK(again.minutes == c.minutes && again.hours == c.hours && again.days == c.days &&
          again.months == c.months && again.weekdays == c.weekdays &&
          again.any_day == c.any_day && again.any_weekday == c.any_weekday);

    uint64_t s = 0xCBF29CE484222325ULL; /* FNV-1a of the input seeds the instants */
    for (size_t i = 0; i < size; i++)
        s = (s ^ data[i]) * 0x100000001B3ULL;
    int64_t on_minute = Y2026_MS + (int64_t)(mix(&s) % (5 * YEAR_MS / MIN_MS)) * MIN_MS;
    const int64_t afters[] = {
        0,
        Y2026_MS + (int64_t)(mix(&s) % (5 * YEAR_MS)),
        on_minute,
        on_minute - 1,
        (int64_t)(mix(&s) % (430 * YEAR_MS)), /* 1970 to about 2400: 2100 is no leap year */
        (int64_t)(mix(&s) & (uint64_t)INT64_MAX),
        INT64_MAX - (int64_t)(mix(&s) % (10 * YEAR_MS)),
    };
    for (size_t i = 0; i < sizeof afters / sizeof afters[0]; i++)
        check_next(&c, afters[i]);
    return 0;
}
