/* test_cron_describe.c - `cron describe`: a table of expressions covering
 * every syntax element of SPEC §3 with their English text, one test per
 * rule, and the DST notes of the coming year with a fixed `now`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "symbi/core.h"
#include "symbi/cron.h"

#include <string.h>

static int64_t T(const char *s)
{
    int64_t ms;
    if (symbi_time_parse(s, &ms) != 0)
        fail_msg("bad time %s", s);
    return ms;
}

static const char *describe(const char *expr, const char *zone)
{
    static struct symbi_cron_desc d;
    struct symbi_err err = {0};
    if (symbi_cron_describe(expr, zone, NULL, SYMBI_TIME_NONE, &d, &err) != 0)
        fail_msg("describe %s: %s", expr, err.msg);
    assert_int_equal(d.n_notes, 0);
    return d.text;
}

/* notes of expr in zone for the year after now */
static const struct symbi_cron_desc *notes(const char *expr, const char *zone,
                                           const struct symbi_cron_opts *o, const char *now)
{
    static struct symbi_cron_desc d;
    struct symbi_err err = {0};
    if (symbi_cron_describe(expr, zone, o, T(now), &d, &err) != 0)
        fail_msg("describe %s: %s", expr, err.msg);
    return &d;
}

static const struct {
    const char *expr, *zone, *text;
} table[] = {
#include "cron_describe_table.inc"
};

static void test_table(void **state)
{
    (void)state;
    assert_true(SYMBI_ARRAY_LEN(table) >= 60);
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(table); i++) {
        const char *got = describe(table[i].expr, table[i].zone);
        if (strcmp(got, table[i].text) != 0)
            fail_msg("%s\n  want: %s\n  got:  %s", table[i].expr, table[i].text, got);
    }
}

/* R1: one second and one minute, a few hours: clock times */
static void test_clock_times(void **state)
{
    (void)state;
    assert_string_equal(describe("0 9 * * *", NULL), "At 09:00 (UTC)");
    assert_string_equal(describe("15 30 9 * * *", NULL), "At 09:30:15 (UTC)");
    assert_string_equal(describe("0 8,12,18 * * *", NULL), "At 08:00, 12:00 and 18:00 (UTC)");
}

/* one minute across a run or a step of hours */
static void test_hour_runs_and_steps(void **state)
{
    (void)state;
    assert_string_equal(describe("0 9-17 * * *", NULL),
                        "Every hour from 09:00 through 17:00 (UTC)");
    assert_string_equal(describe("0 */3 * * *", NULL),
                        "Every 3 hours from 00:00 through 21:00 (UTC)");
    assert_string_equal(describe("0 * * * *", NULL), "Every hour at minute 0 (UTC)");
}

/* steps over minutes: from the start, from a value, inside a range */
static void test_minute_steps(void **state)
{
    (void)state;
    assert_string_equal(describe("*/20 * * * *", NULL), "Every 20 minutes (UTC)");
    assert_string_equal(describe("10/20 * * * *", NULL),
                        "Every 20 minutes starting at minute 10 (UTC)");
    assert_string_equal(describe("0-20/10 * * * *", NULL),
                        "Every 10 minutes from minute 0 through 20 (UTC)");
}

/* lists keep runs of three or more as "a through b" */
static void test_lists(void **state)
{
    (void)state;
    assert_string_equal(describe("0,1,2,3,30 * * * *", NULL),
                        "At minutes 0 through 3 and 30 past every hour (UTC)");
    assert_string_equal(describe("0 0 1,2,3,20 * *", NULL),
                        "At 00:00, on days 1 through 3 and 20 of the month (UTC)");
}

/* names of months and days, any case, Sunday as 0 or 7 */
static void test_names(void **state)
{
    (void)state;
    assert_string_equal(describe("0 9 * jan-mar Mon-Fri", NULL), describe("0 9 * 1-3 1-5", NULL));
    assert_string_equal(describe("0 9 * * SUN", NULL), describe("0 9 * * 7", NULL));
    assert_string_equal(describe("0 9 * * FRI-SUN", NULL), "At 09:00, Friday through Sunday (UTC)");
}

/* L, L-n, nW, LW */
static void test_day_of_month_extensions(void **state)
{
    (void)state;
    assert_string_equal(describe("0 0 L * *", NULL),
                        "At 00:00, on the last day of the month (UTC)");
    assert_string_equal(describe("0 0 L-2 * *", NULL),
                        "At 00:00, on the 2nd day before the last day of the month (UTC)");
    assert_string_equal(describe("0 0 10W * *", NULL),
                        "At 00:00, on the weekday nearest day 10 of the month (UTC)");
    assert_string_equal(describe("0 0 LW * *", NULL),
                        "At 00:00, on the last weekday of the month (UTC)");
}

/* dL and d#n */
static void test_day_of_week_extensions(void **state)
{
    (void)state;
    assert_string_equal(describe("0 0 * * 0L", NULL),
                        "At 00:00, on the last Sunday of the month (UTC)");
    assert_string_equal(describe("0 0 * * 3#4", NULL),
                        "At 00:00, on the fourth Wednesday of the month (UTC)");
    assert_string_equal(describe("0 0 * * 1,5L", NULL),
                        "At 00:00, on Monday and the last Friday of the month (UTC)");
}

/* Vixie: both restricted means either; a '*'-led field means both */
static void test_day_or_rule(void **state)
{
    (void)state;
    assert_string_equal(describe("0 0 13 * 5", NULL),
                        "At 00:00, on day 13 of the month or on Friday (UTC)");
    assert_string_equal(describe("0 0 */2 * 5", NULL),
                        "At 00:00, on every 2nd day of the month, only on Friday (UTC)");
}

static void test_months_and_years(void **state)
{
    (void)state;
    assert_string_equal(describe("0 0 1 6-8 *", NULL),
                        "At 00:00, on day 1 of the month, June through August (UTC)");
    assert_string_equal(describe("0 0 0 1 1 ? 2027", NULL),
                        "At 00:00, on January 1, only in 2027 (UTC)");
    assert_string_equal(describe("0 0 0 * * ? *", NULL), "At 00:00 (UTC)");
}

/* 6 fields: seconds */
static void test_seconds(void **state)
{
    (void)state;
    assert_string_equal(describe("* * * * * *", NULL), "Every second (UTC)");
    assert_string_equal(describe("*/5 * * * * *", NULL), "Every 5 seconds (UTC)");
    assert_string_equal(describe("30 * * * * *", NULL), "At second 30 past every minute (UTC)");
}

static void test_macros(void **state)
{
    (void)state;
    assert_string_equal(describe("@daily", NULL), describe("0 0 * * *", NULL));
    assert_string_equal(describe("@weekly", NULL), describe("0 0 * * 0", NULL));
    assert_string_equal(describe("@HOURLY", NULL), describe("0 * * * *", NULL));
}

static void test_every(void **state)
{
    (void)state;
    assert_string_equal(describe("@every 45m", "Europe/Berlin"),
                        "Every 45 minutes, counted from the job's creation or last fire");
    assert_string_equal(describe("@every 1d2h3m4s", NULL),
                        "Every 1 day, 2 hours, 3 minutes and 4 seconds, counted from the job's "
                        "creation or last fire");
}

static void test_errors(void **state)
{
    (void)state;
    struct symbi_cron_desc d;
    struct symbi_err err = {0};
    assert_int_equal(symbi_cron_describe("0 9 * * 8", NULL, NULL, SYMBI_TIME_NONE, &d, &err),
                     SYMBI_ERANGE);
    assert_non_null(strstr(err.msg, "day-of-week value 8 out of range 0-7"));
    assert_int_equal(symbi_cron_describe("0 9 * * *", "Mars/Base", NULL, SYMBI_TIME_NONE, &d, &err),
                     SYMBI_ENOTFOUND);
}

/* a fire in the spring gap: moved after it (shift) or dropped (skip) */
static void test_dst_gap_note(void **state)
{
    (void)state;
    const struct symbi_cron_desc *d =
        notes("30 2 * * *", "Europe/Berlin", NULL, "2026-01-10T00:00:00Z");
    assert_int_equal(d->n_notes, 2);
    assert_string_equal(d->notes[0], "2026-03-29: clocks in Europe/Berlin go forward from 02:00 to "
                                     "03:00; the 02:30 fire runs once at 03:00");
    struct symbi_cron_opts skip = {SYMBI_DST_GAP_SKIP, SYMBI_DST_OVERLAP_AUTO, SYMBI_TIME_NONE};
    d = notes("30 2 * * *", "Europe/Berlin", &skip, "2026-01-10T00:00:00Z");
    assert_string_equal(d->notes[0], "2026-03-29: clocks in Europe/Berlin go forward from 02:00 to "
                                     "03:00; the 02:30 fire does not run (dst_gap: skip)");
}

/* the autumn overlap: fixed hours once, '*' hours in both passes, or as chosen */
static void test_dst_overlap_note(void **state)
{
    (void)state;
    const struct symbi_cron_desc *d =
        notes("30 1 * * *", "America/New_York", NULL, "2026-06-01T00:00:00Z");
    assert_int_equal(d->n_notes, 1);
    assert_string_equal(d->notes[0],
                        "2026-11-01: clocks in America/New_York go back from 02:00 to 01:00, so "
                        "01:00-02:00 happens twice; the 01:30 fire runs once, in the first pass");
    d = notes("*/30 * * * *", "America/New_York", NULL, "2026-06-01T00:00:00Z");
    assert_int_equal(d->n_notes, 2);
    assert_non_null(strstr(d->notes[0], "the 2 fires from 01:00 to 01:30 run in both passes"));
    assert_non_null(strstr(d->notes[1], "2027-03-14: clocks in America/New_York go forward"));
    struct symbi_cron_opts last = {SYMBI_DST_GAP_SHIFT, SYMBI_DST_OVERLAP_LAST, SYMBI_TIME_NONE};
    d = notes("30 1 * * *", "America/New_York", &last, "2026-06-01T00:00:00Z");
    assert_non_null(strstr(d->notes[0], "runs once, in the second pass"));
}

/* no note when the expression misses the changed hour, in UTC, or for @every */
static void test_no_dst_notes(void **state)
{
    (void)state;
    assert_int_equal(notes("0 9 * * *", "Europe/Berlin", NULL, "2026-01-10T00:00:00Z")->n_notes, 0);
    assert_int_equal(notes("* * * * *", "UTC", NULL, "2026-01-10T00:00:00Z")->n_notes, 0);
    assert_int_equal(notes("@every 1m", "Europe/Berlin", NULL, "2026-01-10T00:00:00Z")->n_notes, 0);
    /* Asia/Tokyo has no DST */
    assert_int_equal(notes("30 2 * * *", "Asia/Tokyo", NULL, "2026-01-10T00:00:00Z")->n_notes, 0);
}

/* the job's description: its zone, or the one-shot instant */
static void test_job_describe(void **state)
{
    (void)state;
    struct symbi_job j;
    symbi_job_init(&j);
    char out[256];
    assert_int_equal(symbi_set_str(&j.cron_expr, "0 9 * * 1-5"), 0);
    assert_int_equal(symbi_set_str(&j.timezone, "Europe/Berlin"), 0);
    symbi_cron_job_describe(&j, out, sizeof out);
    assert_string_equal(out, "At 09:00, Monday through Friday (Europe/Berlin)");
    assert_int_equal(symbi_set_str(&j.cron_expr, NULL), 0);
    j.at = T("2027-01-01T10:00:00Z");
    symbi_cron_job_describe(&j, out, sizeof out);
    assert_string_equal(out, "Once at 2027-01-01T10:00:00Z");
    symbi_job_cleanup(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_clock_times),
        cmocka_unit_test(test_hour_runs_and_steps),
        cmocka_unit_test(test_minute_steps),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_day_of_month_extensions),
        cmocka_unit_test(test_day_of_week_extensions),
        cmocka_unit_test(test_day_or_rule),
        cmocka_unit_test(test_months_and_years),
        cmocka_unit_test(test_seconds),
        cmocka_unit_test(test_macros),
        cmocka_unit_test(test_every),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_dst_gap_note),
        cmocka_unit_test(test_dst_overlap_note),
        cmocka_unit_test(test_no_dst_notes),
        cmocka_unit_test(test_job_describe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
