/* test_cron.c - unit tests of cron expressions in UTC: every syntax
 * element, macro and error class, leap years, month ends, L/W/#, @every,
 * previous instants and symbi_cron_job_next. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "symbi/core.h"
#include "symbi/cron.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t T(const char *s)
{
    int64_t ms;
    if (symbi_time_parse(s, &ms) != 0)
        fail_msg("bad time %s", s);
    return ms;
}

/* The first `count` instants after `from`, space-separated. */
static const char *nexts(const char *expr, const char *from, int count)
{
    static char out[4096];
    struct symbi_cron *c;
    struct symbi_err err = {0};
    if (symbi_cron_parse(expr, &c, &err) != 0)
        fail_msg("parse %s: %s", expr, err.msg);
    out[0] = '\0';
    int64_t t = T(from);
    for (int i = 0; i < count; i++) {
        int64_t n;
        if (symbi_cron_next(c, NULL, t, NULL, &n) != 0) {
            strcat(out, i ? " none" : "none");
            break;
        }
        char buf[SYMBI_TIME_STRLEN];
        if (i)
            strcat(out, " ");
        strcat(out, symbi_time_fmt(n, buf));
        t = n;
    }
    symbi_cron_free(c);
    return out;
}

/* expr is refused as an expression that can never fire, saying so */
static void never(const char *expr)
{
    struct symbi_cron *c = NULL;
    struct symbi_err err = {0};
    if (symbi_cron_parse(expr, &c, &err) == 0) {
        symbi_cron_free(c);
        fail_msg("%s: accepted, but it can never fire", expr);
    }
    assert_int_equal(err.code, SYMBI_EINVAL);
    assert_non_null(strstr(err.msg, "can never fire"));
    assert_int_equal(symbi_cron_validate(expr, NULL), SYMBI_EINVAL);
}

static const char *next1(const char *expr, const char *from)
{
    return nexts(expr, from, 1);
}

static const char *prev1(const char *expr, const char *before)
{
    static char out[64];
    struct symbi_cron *c;
    struct symbi_err err = {0};
    if (symbi_cron_parse(expr, &c, &err) != 0)
        fail_msg("parse %s: %s", expr, err.msg);
    int64_t p;
    if (symbi_cron_prev(c, NULL, T(before), NULL, &p) != 0)
        strcpy(out, "none");
    else
        symbi_time_fmt(p, out);
    symbi_cron_free(c);
    return out;
}

/* parse error: code and message */
static void check_error(const char *expr, int code, const char *msg)
{
    struct symbi_cron *c = (struct symbi_cron *)0x1;
    struct symbi_err err = {0};
    int rc = symbi_cron_parse(expr, &c, &err);
    if (rc != code || strcmp(err.msg, msg) != 0)
        fail_msg("%s: got %d \"%s\", want %d \"%s\"", expr, rc, err.msg, code, msg);
    assert_ptr_equal(c, (struct symbi_cron *)0x1); /* untouched on failure */
    assert_int_equal(symbi_cron_validate(expr, NULL), code);
}

static void test_basic_fields(void **state)
{
    (void)state;
    assert_string_equal(nexts("* * * * *", "2026-01-01T00:00:00Z", 3),
                        "2026-01-01T00:01:00Z 2026-01-01T00:02:00Z 2026-01-01T00:03:00Z");
    assert_string_equal(next1("0 9 * * *", "2026-01-01T09:00:00Z"), "2026-01-02T09:00:00Z");
    assert_string_equal(next1("0 9 * * *", "2026-01-01T08:59:59.999Z"), "2026-01-01T09:00:00Z");
    /* strictly after, also from a fractional instant */
    assert_string_equal(next1("* * * * *", "2026-01-01T00:00:00.500Z"), "2026-01-01T00:01:00Z");
    assert_string_equal(nexts("5,10,55 * * * *", "2026-01-01T00:07:00Z", 3),
                        "2026-01-01T00:10:00Z 2026-01-01T00:55:00Z 2026-01-01T01:05:00Z");
    assert_string_equal(nexts("10-12 * * * *", "2026-01-01T00:11:00Z", 3),
                        "2026-01-01T00:12:00Z 2026-01-01T01:10:00Z 2026-01-01T01:11:00Z");
    assert_string_equal(nexts("*/20 * * * *", "2026-01-01T00:00:00Z", 3),
                        "2026-01-01T00:20:00Z 2026-01-01T00:40:00Z 2026-01-01T01:00:00Z");
    assert_string_equal(nexts("10-30/10 * * * *", "2026-01-01T00:30:00Z", 2),
                        "2026-01-01T01:10:00Z 2026-01-01T01:20:00Z");
    /* a/n runs from a to the field's end */
    assert_string_equal(nexts("50/4 * * * *", "2026-01-01T00:00:00Z", 4),
                        "2026-01-01T00:50:00Z 2026-01-01T00:54:00Z 2026-01-01T00:58:00Z "
                        "2026-01-01T01:50:00Z");
    assert_string_equal(nexts("0 22/1 * * *", "2026-01-01T00:00:00Z", 3),
                        "2026-01-01T22:00:00Z 2026-01-01T23:00:00Z 2026-01-02T22:00:00Z");
    assert_string_equal(nexts("0,30 8-9,17 * * *", "2026-01-01T09:30:00Z", 3),
                        "2026-01-01T17:00:00Z 2026-01-01T17:30:00Z 2026-01-02T08:00:00Z");
    /* months and names in any case */
    assert_string_equal(next1("0 0 1 jun *", "2026-01-01T00:00:00Z"), "2026-06-01T00:00:00Z");
    assert_string_equal(nexts("0 0 1 JAN,Mar *", "2026-01-01T00:00:00Z", 2),
                        "2026-03-01T00:00:00Z 2027-01-01T00:00:00Z");
    /* whitespace: tabs and runs of spaces separate fields */
    assert_string_equal(next1("  0\t9   * *  *  ", "2026-01-01T00:00:00Z"), "2026-01-01T09:00:00Z");
}

static void test_day_of_week(void **state)
{
    (void)state;
    /* 2026-01-01 is a Thursday */
    assert_string_equal(nexts("0 0 * * 0", "2026-01-01T00:00:00Z", 2),
                        "2026-01-04T00:00:00Z 2026-01-11T00:00:00Z");
    assert_string_equal(next1("0 0 * * 7", "2026-01-01T00:00:00Z"), "2026-01-04T00:00:00Z");
    assert_string_equal(next1("0 0 * * sun", "2026-01-01T00:00:00Z"), "2026-01-04T00:00:00Z");
    assert_string_equal(nexts("0 0 * * MON-FRI", "2026-01-02T00:00:00Z", 2),
                        "2026-01-05T00:00:00Z 2026-01-06T00:00:00Z");
    /* FRI-SUN wraps to Sunday, 5-7 too */
    assert_string_equal(nexts("0 0 * * FRI-SUN", "2026-01-01T00:00:00Z", 4),
                        "2026-01-02T00:00:00Z 2026-01-03T00:00:00Z 2026-01-04T00:00:00Z "
                        "2026-01-09T00:00:00Z");
    assert_string_equal(nexts("0 0 * * 5-7", "2026-01-01T00:00:00Z", 3),
                        "2026-01-02T00:00:00Z 2026-01-03T00:00:00Z 2026-01-04T00:00:00Z");
    /* star-slash-2 is Sun, Tue, Thu, Sat; 1/2 is Mon, Wed, Fri, Sun (7) */
    assert_string_equal(nexts("0 0 * * */2", "2026-01-01T00:00:00Z", 3),
                        "2026-01-03T00:00:00Z 2026-01-04T00:00:00Z 2026-01-06T00:00:00Z");
    assert_string_equal(nexts("0 0 * * 1/2", "2026-01-01T00:00:00Z", 3),
                        "2026-01-02T00:00:00Z 2026-01-04T00:00:00Z 2026-01-05T00:00:00Z");
}

static void test_vixie_or_rule(void **state)
{
    (void)state;
    /* neither field starts with '*': either matches (13th or a Friday) */
    assert_string_equal(nexts("0 0 13 * 5", "2026-01-01T00:00:00Z", 3),
                        "2026-01-02T00:00:00Z 2026-01-09T00:00:00Z 2026-01-13T00:00:00Z");
    /* one starts with '*': both must match (odd days that are Fridays) */
    assert_string_equal(nexts("0 0 */2 * 5", "2026-01-01T00:00:00Z", 2),
                        "2026-01-09T00:00:00Z 2026-01-23T00:00:00Z");
    assert_string_equal(nexts("0 0 1 * */7", "2026-01-01T00:00:00Z", 2),
                        "2026-02-01T00:00:00Z 2026-03-01T00:00:00Z");
    /* ? is * */
    assert_string_equal(nexts("0 0 ? * 5", "2026-01-01T00:00:00Z", 2),
                        "2026-01-02T00:00:00Z 2026-01-09T00:00:00Z");
    assert_string_equal(nexts("0 0 13 * ?", "2026-01-01T00:00:00Z", 2),
                        "2026-01-13T00:00:00Z 2026-02-13T00:00:00Z");
    /* a full range that does not start with '*' still takes the OR */
    assert_string_equal(nexts("0 0 1-31 * 5", "2026-01-01T00:00:00Z", 2),
                        "2026-01-02T00:00:00Z 2026-01-03T00:00:00Z");
}

static void test_seconds_and_years(void **state)
{
    (void)state;
    assert_string_equal(nexts("*/15 * * * * *", "2026-01-01T00:00:00Z", 3),
                        "2026-01-01T00:00:15Z 2026-01-01T00:00:30Z 2026-01-01T00:00:45Z");
    assert_string_equal(nexts("30 0 9 * * MON", "2026-01-01T00:00:00Z", 2),
                        "2026-01-05T09:00:30Z 2026-01-12T09:00:30Z");
    assert_string_equal(nexts("0 0 12 1 1 * 2027,2029-2030", "2026-01-01T00:00:00Z", 4),
                        "2027-01-01T12:00:00Z 2029-01-01T12:00:00Z 2030-01-01T12:00:00Z none");
    assert_string_equal(nexts("0 0 0 1 1 ? 2190/5", "2191-01-01T00:00:00Z", 2),
                        "2195-01-01T00:00:00Z none");
    assert_string_equal(next1("0 0 0 1 1 * 2020", "2026-01-01T00:00:00Z"), "none");
    assert_string_equal(next1("0 0 0 * * * *", "2199-12-31T00:00:00Z"), "none");
    assert_string_equal(prev1("0 0 0 1 1 * 1970", "2026-01-01T00:00:00Z"), "1970-01-01T00:00:00Z");
}

static void test_macros(void **state)
{
    (void)state;
    const char *from = "2026-05-13T10:20:30Z"; /* a Wednesday */
    assert_string_equal(next1("@yearly", from), "2027-01-01T00:00:00Z");
    assert_string_equal(next1("@annually", from), "2027-01-01T00:00:00Z");
    assert_string_equal(next1("@monthly", from), "2026-06-01T00:00:00Z");
    assert_string_equal(next1("@weekly", from), "2026-05-17T00:00:00Z");
    assert_string_equal(next1("@daily", from), "2026-05-14T00:00:00Z");
    assert_string_equal(next1("@midnight", from), "2026-05-14T00:00:00Z");
    assert_string_equal(next1("@hourly", from), "2026-05-13T11:00:00Z");
    assert_string_equal(next1("@DAILY", from), "2026-05-14T00:00:00Z");
    assert_string_equal(next1("  @hourly  ", from), "2026-05-13T11:00:00Z");
}

static void test_every(void **state)
{
    (void)state;
    struct symbi_cron *c;
    assert_int_equal(symbi_cron_parse("@every 90s", &c, NULL), 0);
    int64_t n, from = T("2026-01-01T00:00:00Z");
    /* no anchor: the interval counts from `after` */
    assert_int_equal(symbi_cron_next(c, NULL, from, NULL, &n), 0);
    assert_int_equal(n, from + 90000);
    /* anchored: anchor + k * 90s, k >= 1, strictly after */
    struct symbi_cron_opts o = {.every_anchor_ms = from};
    assert_int_equal(symbi_cron_next(c, NULL, from, &o, &n), 0);
    assert_int_equal(n, from + 90000);
    assert_int_equal(symbi_cron_next(c, NULL, from - 3600000, &o, &n), 0);
    assert_int_equal(n, from + 90000);
    assert_int_equal(symbi_cron_next(c, NULL, from + 90000, &o, &n), 0);
    assert_int_equal(n, from + 180000);
    assert_int_equal(symbi_cron_next(c, NULL, from + 100000, &o, &n), 0);
    assert_int_equal(n, from + 180000);
    assert_int_equal(symbi_cron_prev(c, NULL, from + 100000, &o, &n), 0);
    assert_int_equal(n, from + 90000);
    assert_int_equal(symbi_cron_prev(c, NULL, from + 90000, &o, &n), 0);
    assert_int_equal(n, from);
    /* the anchor's milliseconds are dropped: instants are whole seconds */
    o.every_anchor_ms = from + 250;
    assert_int_equal(symbi_cron_next(c, NULL, from, &o, &n), 0);
    assert_int_equal(n, from + 90000);
    symbi_cron_free(c);
    assert_int_equal(symbi_cron_parse("@every 1h30m", &c, NULL), 0);
    o.every_anchor_ms = from;
    assert_int_equal(symbi_cron_next(c, NULL, from + 1, &o, &n), 0);
    assert_int_equal(n, from + 5400000);
    symbi_cron_free(c);
    assert_int_equal(symbi_cron_parse("@every 2.minutes", &c, NULL), 0);
    assert_int_equal(symbi_cron_next(c, NULL, from, NULL, &n), 0);
    assert_int_equal(n, from + 120000);
    symbi_cron_free(c);
}

static void test_leap_years_and_month_ends(void **state)
{
    (void)state;
    assert_string_equal(nexts("0 0 29 2 *", "2026-01-01T00:00:00Z", 2),
                        "2028-02-29T00:00:00Z 2032-02-29T00:00:00Z");
    /* 2100 is not a leap year, 2000 was */
    assert_string_equal(nexts("0 0 29 2 *", "2096-03-01T00:00:00Z", 1), "2104-02-29T00:00:00Z");
    assert_string_equal(prev1("0 0 29 2 *", "2003-01-01T00:00:00Z"), "2000-02-29T00:00:00Z");
    /* the 31st skips short months */
    assert_string_equal(nexts("0 0 31 * *", "2026-01-31T00:00:00Z", 3),
                        "2026-03-31T00:00:00Z 2026-05-31T00:00:00Z 2026-07-31T00:00:00Z");
    assert_string_equal(nexts("0 0 30 * *", "2026-01-30T00:00:00Z", 2),
                        "2026-03-30T00:00:00Z 2026-04-30T00:00:00Z");
    /* never: February 30th is refused when parsed (SPEC §3.1, issue 10 #8) */
    never("0 0 30 2 *");
    never("0 0 31 2,4,6,9,11 *");
    never("0 0 0 29 2 * 2027"); /* not a leap year */
    never("0 0 0 29 2 * 2100"); /* nor is 2100 */
    assert_string_equal(next1("0 0 0 29 2 * 2028", "2026-01-01T00:00:00Z"), "2028-02-29T00:00:00Z");
    /* either day field may match (Vixie): a weekday rescues February 30th */
    assert_string_equal(next1("0 0 30 2 1", "2026-01-01T00:00:00Z"), "2026-02-02T00:00:00Z");
    assert_string_equal(next1("59 23 31 12 *", "2026-12-31T23:59:00Z"), "2027-12-31T23:59:00Z");
    assert_string_equal(next1("0 0 1 1 *", "2026-12-31T23:59:59Z"), "2027-01-01T00:00:00Z");
}

static void test_quartz_last(void **state)
{
    (void)state;
    assert_string_equal(nexts("0 0 L * *", "2026-01-31T00:00:00Z", 4),
                        "2026-02-28T00:00:00Z 2026-03-31T00:00:00Z 2026-04-30T00:00:00Z "
                        "2026-05-31T00:00:00Z");
    assert_string_equal(next1("0 0 L 2 *", "2028-01-01T00:00:00Z"), "2028-02-29T00:00:00Z");
    assert_string_equal(nexts("0 0 L-2 * *", "2026-01-01T00:00:00Z", 2),
                        "2026-01-29T00:00:00Z 2026-02-26T00:00:00Z");
    assert_string_equal(nexts("0 0 1,L * *", "2026-01-01T00:00:00Z", 3),
                        "2026-01-31T00:00:00Z 2026-02-01T00:00:00Z 2026-02-28T00:00:00Z");
    /* L-30 only exists in 31-day months (the 1st) */
    assert_string_equal(nexts("0 0 L-30 * *", "2026-01-02T00:00:00Z", 1), "2026-03-01T00:00:00Z");
    /* last Friday (5L, FRIL) */
    assert_string_equal(nexts("0 0 * * 5L", "2026-01-01T00:00:00Z", 3),
                        "2026-01-30T00:00:00Z 2026-02-27T00:00:00Z 2026-03-27T00:00:00Z");
    assert_string_equal(next1("0 0 * * FRIL", "2026-01-01T00:00:00Z"), "2026-01-30T00:00:00Z");
    assert_string_equal(next1("0 0 * * 7L", "2026-01-01T00:00:00Z"), "2026-01-25T00:00:00Z");
}

static void test_quartz_weekday(void **state)
{
    (void)state;
    /* 15W: 2026-02-15 is a Sunday -> Monday 16th; 2026-03-15 Sunday -> 16th;
     * 2026-08-15 is a Saturday -> Friday 14th */
    assert_string_equal(nexts("0 0 15W * *", "2026-02-01T00:00:00Z", 2),
                        "2026-02-16T00:00:00Z 2026-03-16T00:00:00Z");
    assert_string_equal(next1("0 0 15W 8 *", "2026-01-01T00:00:00Z"), "2026-08-14T00:00:00Z");
    /* 1W never crosses into the previous month: 2026-08-01 is a Saturday -> Monday 3rd */
    assert_string_equal(next1("0 0 1W 8 *", "2026-01-01T00:00:00Z"), "2026-08-03T00:00:00Z");
    /* 31W: 2026-05-31 is a Sunday -> Friday 29th; a month without a 31st: none */
    assert_string_equal(next1("0 0 31W 5 *", "2026-01-01T00:00:00Z"), "2026-05-29T00:00:00Z");
    never("0 0 31W 4 *");
    /* LW: the last weekday; 2026-05-31 Sunday -> 29th; 2026-01-31 Saturday -> 30th */
    assert_string_equal(nexts("0 0 LW * *", "2026-01-01T00:00:00Z", 1), "2026-01-30T00:00:00Z");
    assert_string_equal(next1("0 0 LW 5 *", "2026-01-01T00:00:00Z"), "2026-05-29T00:00:00Z");
    assert_string_equal(next1("0 0 LW 6 *", "2026-01-01T00:00:00Z"), "2026-06-30T00:00:00Z");
}

static void test_quartz_nth(void **state)
{
    (void)state;
    /* the second Monday; the first Sunday; the fifth Friday (not every month) */
    assert_string_equal(nexts("0 0 * * 1#2", "2026-01-01T00:00:00Z", 3),
                        "2026-01-12T00:00:00Z 2026-02-09T00:00:00Z 2026-03-09T00:00:00Z");
    assert_string_equal(next1("0 0 * * SUN#1", "2026-01-01T00:00:00Z"), "2026-01-04T00:00:00Z");
    assert_string_equal(nexts("0 0 * * 5#5", "2026-01-01T00:00:00Z", 3),
                        "2026-01-30T00:00:00Z 2026-05-29T00:00:00Z 2026-07-31T00:00:00Z");
    assert_string_equal(nexts("0 0 * * 1#1,5L", "2026-01-01T00:00:00Z", 3),
                        "2026-01-05T00:00:00Z 2026-01-30T00:00:00Z 2026-02-02T00:00:00Z");
    /* with a day of month: OR (Vixie) */
    assert_string_equal(nexts("0 0 20 * 1#1", "2026-01-01T00:00:00Z", 3),
                        "2026-01-05T00:00:00Z 2026-01-20T00:00:00Z 2026-02-02T00:00:00Z");
}

static void test_prev(void **state)
{
    (void)state;
    assert_string_equal(prev1("0 9 * * *", "2026-01-02T09:00:00Z"), "2026-01-01T09:00:00Z");
    assert_string_equal(prev1("0 9 * * *", "2026-01-02T09:00:00.001Z"), "2026-01-02T09:00:00Z");
    assert_string_equal(prev1("*/20 * * * *", "2026-01-01T00:00:00Z"), "2025-12-31T23:40:00Z");
    assert_string_equal(prev1("0 0 31 * *", "2026-05-01T00:00:00Z"), "2026-03-31T00:00:00Z");
    assert_string_equal(prev1("0 0 L * *", "2026-03-15T00:00:00Z"), "2026-02-28T00:00:00Z");
    assert_string_equal(prev1("0 0 * * 5L", "2026-03-01T00:00:00Z"), "2026-02-27T00:00:00Z");
    assert_string_equal(prev1("0 0 13 * 5", "2026-01-13T00:00:00Z"), "2026-01-09T00:00:00Z");
    assert_string_equal(prev1("15 30 12 * * *", "2026-01-01T12:30:15Z"), "2025-12-31T12:30:15Z");
    assert_string_equal(prev1("@yearly", "2026-01-01T00:00:00Z"), "2025-01-01T00:00:00Z");
    /* next(prev(t)) is the first instant at or after it */
    struct symbi_cron *c;
    assert_int_equal(symbi_cron_parse("7 */3 * * 1-5", &c, NULL), 0);
    int64_t t = T("2026-02-10T11:00:00Z"), p, n;
    for (int i = 0; i < 50; i++) {
        assert_int_equal(symbi_cron_prev(c, NULL, t, NULL, &p), 0);
        assert_true(p < t);
        assert_int_equal(symbi_cron_next(c, NULL, p - 1, NULL, &n), 0);
        assert_int_equal(n, p);
        assert_int_equal(symbi_cron_next(c, NULL, p, NULL, &n), 0);
        assert_true(n >= t);
        t = p;
    }
    symbi_cron_free(c);
}

static void test_errors(void **state)
{
    (void)state;
    check_error("0 9 * * 8", SYMBI_ERANGE,
                "cron: day-of-week value 8 out of range 0-7 at position 9 in \"0 9 * * 8\"");
    check_error("60 * * * *", SYMBI_ERANGE,
                "cron: minute value 60 out of range 0-59 at position 1 in \"60 * * * *\"");
    check_error("0 24 * * *", SYMBI_ERANGE,
                "cron: hour value 24 out of range 0-23 at position 3 in \"0 24 * * *\"");
    check_error("0 0 0 * *", SYMBI_ERANGE,
                "cron: day-of-month value 0 out of range 1-31 at position 5 in \"0 0 0 * *\"");
    check_error("0 0 32 * *", SYMBI_ERANGE,
                "cron: day-of-month value 32 out of range 1-31 at position 5 in \"0 0 32 * *\"");
    check_error("0 0 1 13 *", SYMBI_ERANGE,
                "cron: month value 13 out of range 1-12 at position 7 in \"0 0 1 13 *\"");
    check_error("60 0 0 1 1 *", SYMBI_ERANGE,
                "cron: second value 60 out of range 0-59 at position 1 in \"60 0 0 1 1 *\"");
    check_error("0 0 0 1 1 * 1969", SYMBI_ERANGE,
                "cron: year value 1969 out of range 1970-2199 at position 13 in "
                "\"0 0 0 1 1 * 1969\"");
    check_error("99999999999 * * * *", SYMBI_ERANGE,
                "cron: minute value 99999999999 out of range 0-59 at position 1 in "
                "\"99999999999 * * * *\"");
    check_error("*/0 * * * *", SYMBI_ERANGE,
                "cron: minute step 0 out of range 1-60 at position 3 in \"*/0 * * * *\"");
    check_error("0 0 * * 1#6", SYMBI_ERANGE,
                "cron: day-of-week occurrence 6 out of range 1-5 at position 11 in "
                "\"0 0 * * 1#6\"");
    check_error("0 0 L-31 * *", SYMBI_ERANGE,
                "cron: day-of-month offset 31 out of range 0-30 at position 7 in "
                "\"0 0 L-31 * *\"");
    check_error("0 5-2 * * *", SYMBI_ERANGE,
                "cron: hour range 5-2 is reversed at position 5 in \"0 5-2 * * *\"");
    check_error("0 0 1 FOO *", SYMBI_EPARSE,
                "cron: unknown month name \"FOO\" at position 7 in \"0 0 1 FOO *\"");
    check_error("0 0 * * MONDAY", SYMBI_EPARSE,
                "cron: unknown day-of-week name \"MONDAY\" at position 9 in \"0 0 * * MONDAY\"");
    check_error("0 MON * * *", SYMBI_EPARSE,
                "cron: unexpected character 'M' in hour at position 3 in \"0 MON * * *\"");
    check_error("0 9 * * 1x", SYMBI_EPARSE,
                "cron: unexpected character 'x' in day-of-week at position 10 in \"0 9 * * 1x\"");
    check_error("0 9 * * 1-", SYMBI_EPARSE,
                "cron: day-of-week ends early at position 11 in \"0 9 * * 1-\"");
    check_error("1,,2 * * * *", SYMBI_EPARSE,
                "cron: empty list item in minute at position 3 in \"1,,2 * * * *\"");
    check_error("1, * * * *", SYMBI_EPARSE,
                "cron: empty list item in minute at position 3 in \"1, * * * *\"");
    check_error("? * * * *", SYMBI_EPARSE,
                "cron: '?' is only allowed in day-of-month and day-of-week, not in minute at "
                "position 1 in \"? * * * *\"");
    check_error("0 0 L * L", SYMBI_EPARSE,
                "cron: 'L' in day-of-week needs a weekday before it, as in 5L at position 9 in "
                "\"0 0 L * L\"");
    check_error("0 0 5L * *", SYMBI_EPARSE,
                "cron: unexpected character 'L' in day-of-month at position 6 in "
                "\"0 0 5L * *\"");
    check_error("0 0 * * 1W", SYMBI_EPARSE,
                "cron: unexpected character 'W' in day-of-week at position 10 in "
                "\"0 0 * * 1W\"");
    check_error(
        "0 0 1 * * \x01", SYMBI_EPARSE,
        "cron: unexpected character \\x01 in day-of-week at position 11 in \"0 0 1 * * ?\"");
    check_error("0 9 * *", SYMBI_EPARSE,
                "cron: expected 5, 6 or 7 fields but got 4 in \"0 9 * *\"");
    check_error("0 0 0 1 1 * 2026 x", SYMBI_EPARSE,
                "cron: expected 5, 6 or 7 fields but got 8 in \"0 0 0 1 1 * 2026 x\"");
    check_error("", SYMBI_EPARSE, "cron: empty expression");
    check_error("   ", SYMBI_EPARSE, "cron: empty expression");
    check_error("@reboot", SYMBI_EPARSE,
                "cron: unknown macro \"@reboot\" at position 1 in \"@reboot\"");
    check_error("@daily 5", SYMBI_EPARSE,
                "cron: unexpected text after @daily at position 8 in \"@daily 5\"");
    check_error("@every", SYMBI_EPARSE,
                "cron: @every needs a duration such as \"5m\" at position 7 in \"@every\"");
    check_error("@every soon", SYMBI_EPARSE,
                "cron: bad @every duration \"soon\" at position 8 in \"@every soon\"");
    check_error("@every 500ms", SYMBI_ERANGE,
                "cron: @every duration \"500ms\" must be a whole number of seconds, at least 1s "
                "at position 8 in \"@every 500ms\"");
    char longexpr[300];
    memset(longexpr, '1', sizeof longexpr - 1);
    longexpr[sizeof longexpr - 1] = '\0';
    check_error(longexpr, SYMBI_ETOOBIG, "cron: expression longer than 256 characters");
    assert_int_equal(symbi_cron_parse(NULL, &(struct symbi_cron *){NULL}, NULL), SYMBI_EINVAL);
    /* exactly 256 characters is accepted */
    char ok[SYMBI_CRON_MAX_LEN + 1];
    memset(ok, ' ', SYMBI_CRON_MAX_LEN);
    memcpy(ok, "0 9 * * *", 9);
    ok[SYMBI_CRON_MAX_LEN] = '\0';
    assert_int_equal(symbi_cron_validate(ok, NULL), 0);
}

static void test_job_next(void **state)
{
    (void)state;
    struct symbi_job job;
    struct symbi_err err = {0};
    int64_t n, now = T("2026-03-28T12:00:00Z");
    symbi_job_init(&job);
    /* a one-shot job: its `at` while ahead, then none */
    job.at = T("2026-04-01T10:00:00Z");
    assert_int_equal(symbi_cron_job_next(&job, now, &n, &err), 0);
    assert_int_equal(n, job.at);
    assert_int_equal(symbi_cron_job_next(&job, job.at, &n, &err), 0);
    assert_int_equal(n, SYMBI_TIME_NONE);
    /* a cron job in its zone, across the Berlin spring-forward gap */
    job.at = SYMBI_TIME_NONE;
    assert_int_equal(symbi_set_str(&job.cron_expr, "30 2 * * *"), 0);
    assert_int_equal(symbi_set_str(&job.timezone, "Europe/Berlin"), 0);
    assert_int_equal(symbi_cron_job_next(&job, now, &n, &err), 0);
    assert_int_equal(n, T("2026-03-29T01:00:00Z"));
    job.dst_gap = SYMBI_DST_GAP_SKIP;
    assert_int_equal(symbi_cron_job_next(&job, now, &n, &err), 0);
    assert_int_equal(n, T("2026-03-30T00:30:00Z"));
    /* @every: from the last run, else from the creation */
    assert_int_equal(symbi_set_str(&job.cron_expr, "@every 10m"), 0);
    job.created_at = T("2026-03-28T11:55:00Z");
    assert_int_equal(symbi_cron_job_next(&job, now, &n, &err), 0);
    assert_int_equal(n, T("2026-03-28T12:05:00Z"));
    job.last_run = T("2026-03-28T11:58:00Z");
    assert_int_equal(symbi_cron_job_next(&job, now, &n, &err), 0);
    assert_int_equal(n, T("2026-03-28T12:08:00Z"));
    /* a year in the past: no next fire, not an error */
    assert_int_equal(symbi_set_str(&job.cron_expr, "0 0 0 1 1 * 2020"), 0);
    assert_int_equal(symbi_cron_job_next(&job, now, &n, &err), 0);
    assert_int_equal(n, SYMBI_TIME_NONE);
    /* errors name the problem */
    assert_int_equal(symbi_set_str(&job.cron_expr, "0 9 * * 8"), 0);
    assert_int_equal(symbi_cron_job_next(&job, now, &n, &err), SYMBI_ERANGE);
    assert_string_equal(
        err.msg, "cron: day-of-week value 8 out of range 0-7 at position 9 in \"0 9 * * 8\"");
    assert_int_equal(symbi_set_str(&job.cron_expr, "0 9 * * *"), 0);
    assert_int_equal(symbi_set_str(&job.timezone, "Mars/Base"), 0);
    assert_int_equal(symbi_cron_job_next(&job, now, &n, &err), SYMBI_ENOTFOUND);
    assert_string_equal(err.msg, "unknown time zone \"Mars/Base\"");
    symbi_job_cleanup(&job);
}

static void test_extreme_instants(void **state)
{
    (void)state;
    static const char *exprs[] = {"* * * * *", "@every 1h", "0 0 29 2 *", "0 0 0 1 1 * 2199"};
    static const char *zones[] = {"UTC", "Europe/Berlin", "Australia/Lord_Howe"};
    static const int64_t instants[] = {
        INT64_MIN,         INT64_MIN + 1,     -62135596800001LL, -62135596800000LL, 0,
        253402300799000LL, 253402300800000LL, INT64_MAX - 1,     INT64_MAX};
    for (size_t e = 0; e < SYMBI_ARRAY_LEN(exprs); e++) {
        struct symbi_cron *c;
        assert_int_equal(symbi_cron_parse(exprs[e], &c, NULL), 0);
        for (size_t z = 0; z < SYMBI_ARRAY_LEN(zones); z++) {
            const struct symbi_zone *zone;
            assert_int_equal(symbi_zone_get(zones[z], &zone, NULL), 0);
            for (size_t i = 0; i < SYMBI_ARRAY_LEN(instants); i++) {
                for (int anchored = 0; anchored < 2; anchored++) {
                    struct symbi_cron_opts o = {SYMBI_DST_GAP_SHIFT, SYMBI_DST_OVERLAP_AUTO,
                                                anchored ? instants[i] : SYMBI_TIME_NONE};
                    int64_t r;
                    if (symbi_cron_next(c, zone, instants[i], &o, &r) == 0)
                        assert_true(r > instants[i] && r <= 253402300799000LL);
                    if (symbi_cron_prev(c, zone, instants[i], &o, &r) == 0)
                        assert_true(r < instants[i] && r >= -62135596800000LL);
                }
            }
        }
        symbi_cron_free(c);
    }
    /* the last and first supported seconds */
    assert_string_equal(next1("59 59 23 31 12 *", "9999-12-31T23:59:58Z"), "9999-12-31T23:59:59Z");
    assert_string_equal(next1("* * * * * *", "9999-12-31T23:59:59Z"), "none");
}

static void test_random_roundtrip(void **state)
{
    (void)state;
    /* for assorted expressions, next() agrees with a minute-by-minute scan */
    static const char *exprs[] = {
        "*/7 3-5 * * *", "0 0 L * *",       "15 10 ? * 6L",    "0 12 1W,15W * *",     "0 0 * * 2#3",
        "5 4 1,15 * 1",  "0 0 LW * *",      "0 */5 13 * 5",    "30 23 L-1 * *",       "0 6 * 2 1-5",
        "0 0 29 2 *",    "1-59/29 * * * *", "0 0 * * SAT,SUN", "0 8 ? JAN-MAR MON#1",
    };
    for (size_t k = 0; k < SYMBI_ARRAY_LEN(exprs); k++) {
        struct symbi_cron *c;
        assert_int_equal(symbi_cron_parse(exprs[k], &c, NULL), 0);
        int64_t t = T("2027-12-20T00:00:00Z"), n;
        assert_int_equal(symbi_cron_next(c, NULL, t, NULL, &n), 0);
        /* every minute strictly between t and n must not match */
        for (int64_t m = t + 60000; m < n && m < t + 86400000LL * 70; m += 60000) {
            int64_t x;
            assert_int_equal(symbi_cron_next(c, NULL, m - 60000, NULL, &x), 0);
            assert_true(x == n);
        }
        symbi_cron_free(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_fields),
        cmocka_unit_test(test_day_of_week),
        cmocka_unit_test(test_vixie_or_rule),
        cmocka_unit_test(test_seconds_and_years),
        cmocka_unit_test(test_macros),
        cmocka_unit_test(test_every),
        cmocka_unit_test(test_leap_years_and_month_ends),
        cmocka_unit_test(test_quartz_last),
        cmocka_unit_test(test_quartz_weekday),
        cmocka_unit_test(test_quartz_nth),
        cmocka_unit_test(test_prev),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_job_next),
        cmocka_unit_test(test_extreme_instants),
        cmocka_unit_test(test_random_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
