/*
 * Unit tests for the cron expressions of include/cadre/tasks.h: cadre_cron_parse (five fields,
 * names, steps, @names, cron's day rule flags; refusals with what is wrong in why) and
 * cadre_cron_next (the first minute strictly after an instant, in UTC; -1 when none comes within
 * five years).
 *
 * Table driven: every row is its own cmocka test case. The expected bit sets are written out by
 * hand from the header's contract; the expected instants are built with timegm from calendar
 * dates worked out by hand (weekdays checked against date(1)), never with cadre_cron_next.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cadre.h>

/* ---------------------------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------------------------- */

#define B(n) ((uint64_t)1 << (n))
#define ALL_MINUTES ((B(60) - 1))         /* bits 0-59 */
#define ALL_HOURS ((B(24) - 1))           /* bits 0-23 */
#define ALL_DAYS ((B(32) - 1) & ~B(0))    /* bits 1-31 */
#define ALL_MONTHS ((B(13) - 1) & ~B(0))  /* bits 1-12 */
#define ALL_WEEKDAYS ((B(7) - 1))         /* bits 0-6 */

/* ms since the epoch of y-mo-d h:mi:s.ms, UTC */
static int64_t utc_ms(int y, int mo, int d, int h, int mi, int s, int ms)
{
    struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                     .tm_min = mi, .tm_sec = s };
    time_t t = timegm(&tm);
    assert_true(t != (time_t)-1);
    /* timegm normalizes: a date that does not exist would move, the table would be wrong */
    assert_int_equal(tm.tm_mday, d);
    assert_int_equal(tm.tm_mon, mo - 1);
    return (int64_t)t * 1000 + ms;
}

static const char *fmt_ms(int64_t ms, char *buf, size_t n)
{
    if (ms < 0) {
        snprintf(buf, n, "%lld", (long long)ms);
        return buf;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, n, "%04d-%02d-%02d %02d:%02d:%02d.%03d (%lld)", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000),
             (long long)ms);
    return buf;
}

/* ---------------------------------------------------------------------------------------------
 * Parsing: valid expressions
 * ------------------------------------------------------------------------------------------- */

typedef struct prow {
    const char *name;
    const char *expr;
    uint64_t minutes, hours, days, months, weekdays;
    bool any_day, any_weekday;
} prow;

/* the day fields default to '*' in most rows */
#define STARS ALL_DAYS, ALL_MONTHS, ALL_WEEKDAYS, true, true

static const prow parse_rows[] = {
    { "every minute", "* * * * *", ALL_MINUTES, ALL_HOURS, STARS },
    { "a number", "5 * * * *", B(5), ALL_HOURS, STARS },
    { "zero", "0 0 * * *", B(0), B(0), STARS },
    { "the last minute and hour", "59 23 * * *", B(59), B(23), STARS },
    { "a range", "* 1-5 * * *", ALL_MINUTES, B(1) | B(2) | B(3) | B(4) | B(5), STARS },
    { "a list", "1,15,30 * * * *", B(1) | B(15) | B(30), ALL_HOURS, STARS },
    { "a list of ranges and numbers", "0-2,10,58-59 * * * *",
      B(0) | B(1) | B(2) | B(10) | B(58) | B(59), ALL_HOURS, STARS },
    { "star step", "*/15 * * * *", B(0) | B(15) | B(30) | B(45), ALL_HOURS, STARS },
    { "range step", "0-30/10 * * * *", B(0) | B(10) | B(20) | B(30), ALL_HOURS, STARS },
    { "N/step runs to the end", "5/20 * * * *", B(5) | B(25) | B(45), ALL_HOURS, STARS },
    { "hour N/step runs to 23", "0 20/2 * * *", B(0), B(20) | B(22), STARS },
    { "step larger than the range", "0 0 1-31/40 * *", B(0), B(0), B(1), ALL_MONTHS,
      ALL_WEEKDAYS, false, true },
    { "star step on hours", "0 */6 * * *", B(0), B(0) | B(6) | B(12) | B(18), STARS },
    { "star step on days keeps the star", "0 0 */10 * *", B(0), B(0),
      B(1) | B(11) | B(21) | B(31), ALL_MONTHS, ALL_WEEKDAYS, true, true },
    { "a list then a star", "0 0 1,* * *", B(0), B(0), ALL_DAYS, ALL_MONTHS, ALL_WEEKDAYS,
      false, true },
    { "day of month", "0 0 1,15 * *", B(0), B(0), B(1) | B(15), ALL_MONTHS, ALL_WEEKDAYS,
      false, true },
    { "day 31", "0 0 31 * *", B(0), B(0), B(31), ALL_MONTHS, ALL_WEEKDAYS, false, true },
    { "months by number", "0 0 * 1,12 *", B(0), B(0), ALL_DAYS, B(1) | B(12), ALL_WEEKDAYS,
      true, true },
    { "month names", "0 0 * jan-mar *", B(0), B(0), ALL_DAYS, B(1) | B(2) | B(3),
      ALL_WEEKDAYS, true, true },
    { "month names in capitals", "0 0 * JUN,Dec *", B(0), B(0), ALL_DAYS, B(6) | B(12),
      ALL_WEEKDAYS, true, true },
    { "month name with a step", "0 0 * feb/3 *", B(0), B(0), ALL_DAYS,
      B(2) | B(5) | B(8) | B(11), ALL_WEEKDAYS, true, true },
    { "weekday names", "0 0 * * mon-fri", B(0), B(0), ALL_DAYS, ALL_MONTHS,
      B(1) | B(2) | B(3) | B(4) | B(5), true, false },
    { "SUN", "0 0 * * SUN", B(0), B(0), ALL_DAYS, ALL_MONTHS, B(0), true, false },
    { "sat", "0 0 * * sat", B(0), B(0), ALL_DAYS, ALL_MONTHS, B(6), true, false },
    { "weekday 0 is Sunday", "0 0 * * 0", B(0), B(0), ALL_DAYS, ALL_MONTHS, B(0), true, false },
    { "weekday 7 is Sunday too", "0 0 * * 7", B(0), B(0), ALL_DAYS, ALL_MONTHS, B(0), true,
      false },
    { "weekdays 5-7: Friday to Sunday", "0 0 * * 5-7", B(0), B(0), ALL_DAYS, ALL_MONTHS,
      B(5) | B(6) | B(0), true, false },
    { "weekdays 0-7", "0 0 * * 0-7", B(0), B(0), ALL_DAYS, ALL_MONTHS, ALL_WEEKDAYS, true,
      false },
    { "both day fields restricted", "0 0 13 * 5", B(0), B(0), B(13), ALL_MONTHS, B(5), false,
      false },
    { "star step on weekdays keeps the star", "0 0 13 * */2", B(0), B(0), B(13), ALL_MONTHS,
      B(0) | B(2) | B(4) | B(6), false, true },
    { "@yearly", "@yearly", B(0), B(0), B(1), B(1), ALL_WEEKDAYS, false, true },
    { "@annually", "@annually", B(0), B(0), B(1), B(1), ALL_WEEKDAYS, false, true },
    { "@monthly", "@monthly", B(0), B(0), B(1), ALL_MONTHS, ALL_WEEKDAYS, false, true },
    { "@weekly", "@weekly", B(0), B(0), ALL_DAYS, ALL_MONTHS, B(0), true, false },
    { "@daily", "@daily", B(0), B(0), STARS },
    { "@midnight", "@midnight", B(0), B(0), STARS },
    { "@hourly", "@hourly", B(0), ALL_HOURS, STARS },
    { "spaces and tabs between fields", "  0 \t 3\t\t*  *   mon  ", B(0), B(3), ALL_DAYS,
      ALL_MONTHS, B(1), true, false },
    { "trailing tab", "1 2 3 4 5\t", B(1), B(2), B(3), B(4), B(5), false, false },
};

#define NPARSE (sizeof parse_rows / sizeof parse_rows[0])

static void test_parse_row(void **state)
{
    const prow *r = *state;
    cadre_cron c;
    char why[CADRE_CRON_WHY];
    memset(&c, 0xA5, sizeof c);
    why[0] = '\0';
    int rc = cadre_cron_parse(r->expr, &c, why);
    if (rc != 0)
        fail_msg("\"%s\": rc %d (%s)", r->expr, rc, why);
    assert_int_equal(c.minutes, r->minutes);
    assert_int_equal(c.hours, r->hours);
    assert_int_equal(c.days, r->days);
    assert_int_equal(c.months, r->months);
    assert_int_equal(c.weekdays, r->weekdays);
    assert_int_equal(c.any_day, r->any_day);
    assert_int_equal(c.any_weekday, r->any_weekday);
    /* why may be NULL */
    cadre_cron c2;
    assert_int_equal(cadre_cron_parse(r->expr, &c2, NULL), 0);
    assert_int_equal(c2.minutes, r->minutes);
    assert_int_equal(c2.weekdays, r->weekdays);
}

/* ---------------------------------------------------------------------------------------------
 * Parsing: refusals
 * ------------------------------------------------------------------------------------------- */

typedef struct erow {
    const char *name;
    const char *expr;
    const char *why;
} erow;

#define RANGE ": a value is out of range (or a range runs backwards)"
#define STEP ": expected a step of 1 or more after '/'"
#define START ": expected a number, a name or '*'"
#define AFTER_DASH ": expected a number or a name after '-'"
#define UNEXPECTED ": unexpected character (items are separated by ',')"
#define FIVE "five fields are needed: minute hour day-of-month month day-of-week"
#define MIN "minute (0-59)"
#define HOUR "hour (0-23)"
#define DOM "day of month (1-31)"
#define MON "month (1-12 or jan-dec)"
#define DOW "day of week (0-7 or sun-sat)"

static const erow error_rows[] = {
    { "NULL", NULL, "no expression" },
    { "empty", "", FIVE },
    { "blank", " \t ", FIVE },
    { "four fields", "* * * *", FIVE },
    { "one field", "5", FIVE },
    { "six fields", "* * * * * *", "more than five fields" },
    { "six fields, a year", "0 0 1 1 * 2030", "more than five fields" },
    { "minute 60", "60 * * * *", MIN RANGE },
    { "minute range to 60", "0-60 * * * *", MIN RANGE },
    { "hour 24", "0 24 * * *", HOUR RANGE },
    { "day 0", "0 0 0 * *", DOM RANGE },
    { "day 32", "0 0 32 * *", DOM RANGE },
    { "month 0", "0 0 * 0 *", MON RANGE },
    { "month 13", "0 0 * 13 *", MON RANGE },
    { "weekday 8", "0 0 * * 8", DOW RANGE },
    { "backwards range", "5-1 * * * *", MIN RANGE },
    { "backwards month names", "0 0 * dec-jan *", MON RANGE },
    { "N/step beyond the end", "60/5 * * * *", MIN RANGE },
    { "step 0", "*/0 * * * *", MIN STEP },
    { "range step 0", "0 0-10/0 * * *", HOUR STEP },
    { "star slash and nothing", "*/ * * * *", MIN STEP },
    { "step not a number", "*/x * * * *", MIN STEP },
    { "negative step", "0 0 */-1 * *", DOM STEP },
    { "garbage", "x * * * *", MIN START },
    { "garbage after a number", "1x * * * *", MIN UNEXPECTED },
    { "question mark", "0 0 ? * *", DOM START },
    { "L", "0 0 L * *", DOM START },
    { "hash", "0 0 * * 5#3", DOW UNEXPECTED },
    { "a name in the minutes", "mon * * * *", MIN START },
    { "a month name in the weekdays", "0 0 * * jan", DOW START },
    { "a weekday name in the months", "0 0 * mon *", MON START },
    { "a two-letter name", "0 0 * * mo", DOW START },
    { "a full name", "0 0 * * monday", DOW UNEXPECTED },
    { "an empty item", "1,,2 * * * *", MIN START },
    { "a trailing comma", "1, * * * *", MIN START },
    { "a leading dash", "-5 * * * *", MIN START },
    { "a dash and nothing", "5- * * * *", MIN AFTER_DASH },
    { "a range of three", "1-2-3 * * * *", MIN UNEXPECTED },
    { "a star range", "*-5 * * * *", MIN UNEXPECTED },
    { "a step twice", "*/2/2 * * * *", MIN UNEXPECTED },
    { "a newline in a field", "0 0 * * *\n", DOW UNEXPECTED },
    { "an unknown @name", "@often", "unknown @name (@yearly, @monthly, @weekly, @daily, @hourly)" },
    { "an @name in capitals", "@DAILY",
      "unknown @name (@yearly, @monthly, @weekly, @daily, @hourly)" },
    { "an @name with a space after", "@daily ",
      "unknown @name (@yearly, @monthly, @weekly, @daily, @hourly)" },
    { "just @", "@", "unknown @name (@yearly, @monthly, @weekly, @daily, @hourly)" },
    { "an @name after a space", " @daily", MIN START },
};

#define NERROR (sizeof error_rows / sizeof error_rows[0])

static void test_error_row(void **state)
{
    const erow *r = *state;
    cadre_cron c;
    char why[CADRE_CRON_WHY];
    memset(why, 0x5A, sizeof why);
    assert_int_equal(cadre_cron_parse(r->expr, &c, why), CADRE_EPARSE);
    assert_non_null(memchr(why, '\0', sizeof why));
    assert_string_equal(why, r->why);
    /* why may be NULL */
    assert_int_equal(cadre_cron_parse(r->expr, &c, NULL), CADRE_EPARSE);
}

/* 256 characters are taken, 257 refused. */
static void test_length_limit(void **state)
{
    char expr[300];
    cadre_cron c;
    char why[CADRE_CRON_WHY];
    memset(expr, ' ', sizeof expr);
    memcpy(expr, "0 3 * * *", 9);
    expr[256] = '\0';
    assert_int_equal(strlen(expr), 256);
    assert_int_equal(cadre_cron_parse(expr, &c, why), 0);
    assert_int_equal(c.minutes, B(0));
    assert_int_equal(c.hours, B(3));
    expr[256] = ' ';
    expr[257] = '\0';
    memset(why, 0x5A, sizeof why);
    assert_int_equal(cadre_cron_parse(expr, &c, why), CADRE_EPARSE);
    assert_string_equal(why, "longer than 256 characters");

    /* a long field: a list of 124 items (247 characters) */
    char list[300];
    size_t n = 0;
    memcpy(list, "0 0 * * ", 8);
    n = 8;
    while (n + 2 <= 256) {
        list[n++] = '1';
        list[n++] = ',';
    }
    list[n - 1] = '\0'; /* 255 characters: the last ',' dropped */
    assert_int_equal(cadre_cron_parse(list, &c, why), 0);
    assert_int_equal(c.weekdays, B(1));
    char big[1000];
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(cadre_cron_parse(big, &c, why), CADRE_EPARSE);
    assert_string_equal(why, "longer than 256 characters");
}

/* ---------------------------------------------------------------------------------------------
 * The next minute
 * ------------------------------------------------------------------------------------------- */

typedef struct when {
    int y, mo, d, h, mi, s, ms;
} when;

typedef struct nrow {
    const char *name;
    const char *expr;
    when after;
    when want; /* y 0: -1 */
} nrow;

#define NONE { 0, 0, 0, 0, 0, 0, 0 }

static const nrow next_rows[] = {
    { "every minute: the next one", "* * * * *", { 2026, 12, 6, 21, 7, 0, 0 },
      { 2026, 12, 6, 21, 8, 0, 0 } },
    { "every minute, from within a minute", "* * * * *", { 2026, 12, 6, 21, 7, 30, 500 },
      { 2026, 12, 6, 21, 8, 0, 0 } },
    { "every minute, from the last ms of a minute", "* * * * *",
      { 2026, 12, 6, 21, 7, 59, 999 }, { 2026, 12, 6, 21, 8, 0, 0 } },
    { "every minute, from the epoch", "* * * * *", { 1970, 1, 1, 0, 0, 0, 0 },
      { 1970, 1, 1, 0, 1, 0, 0 } },
    { "03:00 daily, the next day", "0 3 * * *", { 2026, 12, 6, 21, 7, 0, 0 },
      { 2026, 12, 7, 3, 0, 0, 0 } },
    { "03:00 daily, later the same day", "0 3 * * *", { 2026, 12, 6, 2, 59, 59, 999 },
      { 2026, 12, 6, 3, 0, 0, 0 } },
    { "03:00 daily, from 03:00 itself", "0 3 * * *", { 2026, 12, 6, 3, 0, 0, 0 },
      { 2026, 12, 7, 3, 0, 0, 0 } },
    { "every 15 minutes, just before", "*/15 * * * *", { 2026, 12, 6, 10, 14, 59, 999 },
      { 2026, 12, 6, 10, 15, 0, 0 } },
    { "every 15 minutes, strictly after", "*/15 * * * *", { 2026, 12, 6, 10, 15, 0, 0 },
      { 2026, 12, 6, 10, 30, 0, 0 } },
    { "every 15 minutes, into the next hour", "*/15 * * * *", { 2026, 12, 6, 10, 45, 0, 1 },
      { 2026, 12, 6, 11, 0, 0, 0 } },
    { "minute 30, the next hour", "30 * * * *", { 2026, 12, 6, 10, 45, 0, 0 },
      { 2026, 12, 6, 11, 30, 0, 0 } },
    { "N/step: 5,25,45", "5/20 * * * *", { 2026, 12, 6, 10, 26, 0, 0 },
      { 2026, 12, 6, 10, 45, 0, 0 } },
    { "N/step: after 45, the next hour's 5", "5/20 * * * *", { 2026, 12, 6, 10, 45, 0, 0 },
      { 2026, 12, 6, 11, 5, 0, 0 } },
    { "the 1st: across a month end", "0 0 1 * *", { 2026, 1, 31, 12, 0, 0, 0 },
      { 2026, 2, 1, 0, 0, 0, 0 } },
    { "the 1st: across a year end", "0 0 1 * *", { 2026, 12, 15, 8, 0, 0, 0 },
      { 2027, 1, 1, 0, 0, 0, 0 } },
    { "the 1st: from the 1st at midnight", "0 0 1 * *", { 2026, 3, 1, 0, 0, 0, 0 },
      { 2026, 4, 1, 0, 0, 0, 0 } },
    { "the 31st: skips 30-day months", "0 0 31 * *", { 2026, 4, 15, 0, 0, 0, 0 },
      { 2026, 5, 31, 0, 0, 0, 0 } },
    { "the 31st: skips February", "0 0 31 * *", { 2026, 1, 31, 0, 0, 0, 0 },
      { 2026, 3, 31, 0, 0, 0, 0 } },
    { "February 29: the next leap year", "0 0 29 2 *", { 2026, 3, 1, 0, 0, 0, 0 },
      { 2028, 2, 29, 0, 0, 0, 0 } },
    { "February 29 from February 28 of a leap year", "0 0 29 2 *",
      { 2028, 2, 28, 23, 59, 0, 0 }, { 2028, 2, 29, 0, 0, 0, 0 } },
    { "February 29: 2100 is no leap year, 2104 is within five years", "0 0 29 2 *",
      { 2099, 3, 1, 0, 0, 0, 0 }, { 2104, 2, 29, 0, 0, 0, 0 } },
    { "February 29: none within five years of 2096", "0 0 29 2 *",
      { 2096, 3, 1, 0, 0, 0, 0 }, NONE },
    { "February 30: never", "0 0 30 2 *", { 2026, 1, 1, 0, 0, 0, 0 }, NONE },
    { "April 31: never", "0 0 31 4 *", { 2026, 1, 1, 0, 0, 0, 0 }, NONE },
    /* 2026-01-10 is a Saturday, 01-13 a Tuesday, 01-14 a Wednesday, 01-16 a Friday */
    { "the 13th or a Friday: the 13th first", "0 0 13 * 5", { 2026, 1, 10, 0, 0, 0, 0 },
      { 2026, 1, 13, 0, 0, 0, 0 } },
    { "the 13th or a Friday: the Friday first", "0 0 13 * 5", { 2026, 1, 14, 0, 0, 0, 0 },
      { 2026, 1, 16, 0, 0, 0, 0 } },
    { "Fridays only", "0 0 * * 5", { 2026, 1, 10, 0, 0, 0, 0 }, { 2026, 1, 16, 0, 0, 0, 0 } },
    { "Fridays only, by name", "0 0 * * fri", { 2026, 1, 14, 0, 0, 0, 0 },
      { 2026, 1, 16, 0, 0, 0, 0 } },
    { "the 13th only", "0 0 13 * *", { 2026, 1, 10, 0, 0, 0, 0 }, { 2026, 1, 13, 0, 0, 0, 0 } },
    { "the 13th only: the next month's", "0 0 13 * *", { 2026, 1, 14, 0, 0, 0, 0 },
      { 2026, 2, 13, 0, 0, 0, 0 } },
    { "*/1 days and Fridays: a star, so Fridays only", "0 0 */1 * 5",
      { 2026, 1, 10, 0, 0, 0, 0 }, { 2026, 1, 16, 0, 0, 0, 0 } },
    { "1-31 days and Fridays: no star, so every day", "0 0 1-31 * 5",
      { 2026, 1, 10, 0, 0, 0, 0 }, { 2026, 1, 11, 0, 0, 0, 0 } },
    { "the 13th and */1 weekdays: the 13th only", "0 0 13 * */1", { 2026, 1, 14, 0, 0, 0, 0 },
      { 2026, 2, 13, 0, 0, 0, 0 } },
    { "Friday the 13th, both ways", "0 0 13 * 5", { 2026, 2, 12, 0, 0, 0, 0 },
      { 2026, 2, 13, 0, 0, 0, 0 } },
    /* 2026-12-06 and 12-13 are Sundays */
    { "Sunday as 0", "0 12 * * 0", { 2026, 12, 6, 21, 7, 0, 0 }, { 2026, 12, 13, 12, 0, 0, 0 } },
    { "Sunday as 7", "0 12 * * 7", { 2026, 12, 6, 21, 7, 0, 0 }, { 2026, 12, 13, 12, 0, 0, 0 } },
    { "Sunday as sun", "0 12 * * sun", { 2026, 12, 6, 21, 7, 0, 0 },
      { 2026, 12, 13, 12, 0, 0, 0 } },
    { "Sunday as 0, the same day", "0 12 * * 0", { 2026, 12, 6, 11, 0, 0, 0 },
      { 2026, 12, 6, 12, 0, 0, 0 } },
    { "Sunday as 7, the same day", "0 12 * * 7", { 2026, 12, 6, 11, 0, 0, 0 },
      { 2026, 12, 6, 12, 0, 0, 0 } },
    /* 2027-01-01 is a Friday, 01-04 a Monday */
    { "weekdays: Friday evening to Monday", "30 8 * * mon-fri", { 2027, 1, 1, 9, 0, 0, 0 },
      { 2027, 1, 4, 8, 30, 0, 0 } },
    { "every minute: December 31 23:59 to the new year", "* * * * *",
      { 2026, 12, 31, 23, 59, 0, 0 }, { 2027, 1, 1, 0, 0, 0, 0 } },
    { "December 31 23:59: the next year's", "59 23 31 12 *", { 2026, 12, 31, 23, 59, 0, 0 },
      { 2027, 12, 31, 23, 59, 0, 0 } },
    { "@yearly from December 31 23:59", "@yearly", { 2026, 12, 31, 23, 59, 0, 0 },
      { 2027, 1, 1, 0, 0, 0, 0 } },
    { "@yearly from January 1 00:00", "@yearly", { 2027, 1, 1, 0, 0, 0, 0 },
      { 2028, 1, 1, 0, 0, 0, 0 } },
    { "@monthly", "@monthly", { 2026, 2, 14, 9, 0, 0, 0 }, { 2026, 3, 1, 0, 0, 0, 0 } },
    { "@weekly: the next Sunday", "@weekly", { 2026, 12, 6, 0, 0, 0, 0 },
      { 2026, 12, 13, 0, 0, 0, 0 } },
    { "@daily", "@daily", { 2026, 12, 6, 21, 7, 0, 0 }, { 2026, 12, 7, 0, 0, 0, 0 } },
    { "@hourly", "@hourly", { 2026, 12, 6, 21, 7, 0, 0 }, { 2026, 12, 6, 22, 0, 0, 0 } },
    { "months by name", "0 0 1 jan-mar *", { 2026, 3, 2, 0, 0, 0, 0 },
      { 2027, 1, 1, 0, 0, 0, 0 } },
};

#define NNEXT (sizeof next_rows / sizeof next_rows[0])

static void test_next_row(void **state)
{
    const nrow *r = *state;
    cadre_cron c;
    char why[CADRE_CRON_WHY] = "";
    if (cadre_cron_parse(r->expr, &c, why) != 0)
        fail_msg("\"%s\": %s", r->expr, why);
    const when *a = &r->after, *w = &r->want;
    int64_t after = utc_ms(a->y, a->mo, a->d, a->h, a->mi, a->s, a->ms);
    int64_t want = w->y ? utc_ms(w->y, w->mo, w->d, w->h, w->mi, w->s, w->ms) : -1;
    int64_t got = cadre_cron_next(&c, after);
    if (got != want) {
        char b1[64], b2[64], b3[64];
        fail_msg("\"%s\" after %s: got %s, want %s", r->expr, fmt_ms(after, b1, sizeof b1),
                 fmt_ms(got, b2, sizeof b2), fmt_ms(want, b3, sizeof b3));
    }
}

/* Instants given as raw numbers, checked by arithmetic rather than the calendar. */
static void test_next_raw(void **state)
{
    cadre_cron c;
    assert_int_equal(cadre_cron_parse("* * * * *", &c, NULL), 0);
    assert_int_equal(cadre_cron_next(&c, 0), 60000);
    assert_int_equal(cadre_cron_next(&c, 59999), 60000);
    assert_int_equal(cadre_cron_next(&c, 60000), 120000);
    /* the helper itself: 2026-12-06 21:07 UTC is 1796591220 s, 20 793 days (1970-2026: 56
     * years of 365 days and 14 leap days; then 339 days into 2026) × 86400 + 21 h + 7 min */
    assert_int_equal((56 * 365LL + 14 + 339) * 86400 + 21 * 3600 + 7 * 60, 1796591220LL);
    assert_int_equal(utc_ms(2026, 12, 6, 21, 7, 0, 0), 1796591220000LL);
    /* nothing representable after the largest instant */
    assert_int_equal(cadre_cron_next(&c, INT64_MAX), -1);
    /* INT64_MAX is 153722867280912 minutes and 55807 ms: the last whole minute is still
     * representable, the one after it is not */
    assert_int_equal(cadre_cron_next(&c, INT64_MAX - 60000), 153722867280912LL * 60000);
    assert_int_equal(cadre_cron_next(&c, 153722867280912LL * 60000), -1);
    cadre_cron y;
    assert_int_equal(cadre_cron_parse("@yearly", &y, NULL), 0);
    assert_int_equal(cadre_cron_next(&y, INT64_MAX - 60000), -1);
    int64_t r = cadre_cron_next(&c, INT64_MAX / 2);
    assert_true(r > INT64_MAX / 2 && r - INT64_MAX / 2 <= 60000 && r % 60000 == 0);
}

/* ---------------------------------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------------------------------- */

#define ROWS(var, rows, n, fn)                                                                     \
    struct CMUnitTest *var = calloc(n, sizeof *var);                                               \
    if (!var)                                                                                      \
        return 1;                                                                                  \
    for (size_t i = 0; i < n; i++)                                                                 \
        var[i] = (struct CMUnitTest){ rows[i].name, fn, NULL, NULL, (void *)&rows[i] };

int main(void)
{
    ROWS(parse, parse_rows, NPARSE, test_parse_row)
    ROWS(errors, error_rows, NERROR, test_error_row)
    ROWS(next, next_rows, NNEXT, test_next_row)
    const struct CMUnitTest other[] = {
        cmocka_unit_test(test_length_limit),
        cmocka_unit_test(test_next_raw),
    };
    int failed = _cmocka_run_group_tests("cron_parse", parse, NPARSE, NULL, NULL);
    failed += _cmocka_run_group_tests("cron_parse_errors", errors, NERROR, NULL, NULL);
    failed += _cmocka_run_group_tests("cron_next", next, NNEXT, NULL, NULL);
    failed += cmocka_run_group_tests_name("cron_misc", other, NULL, NULL);
    free(parse);
    free(errors);
    free(next);
    return failed ? 1 : 0;
}
