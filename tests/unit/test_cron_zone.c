/* test_cron_zone.c - unit tests of time zones and DST: the TZif reader
 * (v1, v2+ with the footer rule, TZDIR), the zone cache under threads, and
 * the DST decisions of SPEC §3.2 in Europe/Berlin, America/New_York,
 * Australia/Lord_Howe and zones without DST, checked against a brute-force
 * minute-by-minute oracle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cron/cron_internal.h"
#include "symbi/core.h"
#include "symbi/cron.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int64_t T(const char *s)
{
    int64_t ms;
    if (symbi_time_parse(s, &ms) != 0)
        fail_msg("bad time %s", s);
    return ms;
}

static const struct symbi_zone *zone(const char *name)
{
    const struct symbi_zone *z;
    struct symbi_err err = {0};
    if (symbi_zone_get(name, &z, &err) != 0)
        fail_msg("zone %s: %s", name, err.msg);
    return z;
}

/* The first `count` instants after `from` in zone tz, space-separated. */
static const char *nexts_opt(const char *expr, const char *tz, const char *from, int count,
                             enum symbi_dst_gap gap, enum symbi_dst_overlap ov)
{
    static char out[4096];
    struct symbi_cron *c;
    struct symbi_err err = {0};
    if (symbi_cron_parse(expr, &c, &err) != 0)
        fail_msg("parse %s: %s", expr, err.msg);
    struct symbi_cron_opts o = {gap, ov, SYMBI_TIME_NONE};
    const struct symbi_zone *z = zone(tz);
    out[0] = '\0';
    int64_t t = T(from);
    for (int i = 0; i < count; i++) {
        int64_t n;
        if (symbi_cron_next(c, z, t, &o, &n) != 0) {
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

static const char *nexts(const char *expr, const char *tz, const char *from, int count)
{
    return nexts_opt(expr, tz, from, count, SYMBI_DST_GAP_SHIFT, SYMBI_DST_OVERLAP_AUTO);
}

static void test_zone_basics(void **state)
{
    (void)state;
    const struct symbi_zone *u1 = zone("UTC"), *u2;
    assert_int_equal(symbi_zone_get(NULL, &u2, NULL), 0);
    assert_ptr_equal(u1, u2);
    assert_string_equal(symbi_zone_name(u1), "UTC");
    assert_int_equal(symbi_zone_offset(u1, T("2026-07-01T00:00:00Z")), 0);
    const struct symbi_zone *b = zone("Europe/Berlin");
    assert_ptr_equal(b, zone("Europe/Berlin")); /* cached */
    assert_string_equal(symbi_zone_name(b), "Europe/Berlin");
    assert_int_equal(symbi_zone_offset(b, T("2026-01-15T12:00:00Z")), 3600);
    assert_int_equal(symbi_zone_offset(b, T("2026-07-15T12:00:00Z")), 7200);
    assert_int_equal(symbi_zone_offset(b, T("2026-03-29T00:59:59Z")), 3600);
    assert_int_equal(symbi_zone_offset(b, T("2026-03-29T01:00:00Z")), 7200);
    assert_int_equal(symbi_zone_offset(b, T("2026-10-25T00:59:59Z")), 7200);
    assert_int_equal(symbi_zone_offset(b, T("2026-10-25T01:00:00Z")), 3600);
    /* past the file's last transition: the footer rule (computed on the fly) */
    assert_int_equal(symbi_zone_offset(b, T("2300-03-25T00:59:59Z")), 3600);
    assert_int_equal(symbi_zone_offset(b, T("2300-03-25T01:00:00Z")), 7200);
    assert_int_equal(symbi_zone_offset(b, T("2300-10-28T00:59:59Z")), 7200);
    assert_int_equal(symbi_zone_offset(b, T("2300-10-28T01:00:00Z")), 3600);
    const struct symbi_zone *ny = zone("America/New_York");
    assert_int_equal(symbi_zone_offset(ny, T("2250-03-10T06:59:59Z")), -18000);
    assert_int_equal(symbi_zone_offset(ny, T("2250-03-10T07:00:00Z")), -14400);
    assert_int_equal(symbi_zone_offset(ny, T("2250-11-03T06:00:00Z")), -18000);
    const struct symbi_zone *lh = zone("Australia/Lord_Howe");
    assert_int_equal(symbi_zone_offset(lh, T("2026-04-04T14:59:59Z")), 39600);
    assert_int_equal(symbi_zone_offset(lh, T("2026-04-04T15:00:00Z")), 37800);
    assert_int_equal(symbi_zone_offset(lh, T("2026-10-03T15:30:00Z")), 39600);
    assert_int_equal(symbi_zone_offset(lh, T("2301-10-05T15:29:59Z")), 37800);
    assert_int_equal(symbi_zone_offset(lh, T("2301-10-05T15:30:00Z")), 39600);
    /* negative-time footer rules (America/Nuuk: M3.5.0/-1) */
    const struct symbi_zone *nuuk = zone("America/Nuuk");
    assert_int_equal(symbi_zone_offset(nuuk, T("2026-03-29T00:59:59Z")), -7200);
    assert_int_equal(symbi_zone_offset(nuuk, T("2026-03-29T01:00:00Z")), -3600);
    /* historical data: Berlin 1945 had double summer time (+3) */
    assert_int_equal(symbi_zone_offset(b, T("1945-06-01T00:00:00Z")), 10800);
    assert_int_equal(symbi_zone_offset(zone("Asia/Kolkata"), T("2026-07-01T00:00:00Z")), 19800);
    assert_int_equal(symbi_zone_offset(zone("Etc/GMT+5"), T("2026-07-01T00:00:00Z")), -18000);
}

static void test_zone_errors(void **state)
{
    (void)state;
    struct symbi_err err = {0};
    const struct symbi_zone *z = (const struct symbi_zone *)0x1;
    assert_int_equal(symbi_zone_get("Mars/Base", &z, &err), SYMBI_ENOTFOUND);
    assert_string_equal(err.msg, "unknown time zone \"Mars/Base\"");
    assert_ptr_equal(z, (const struct symbi_zone *)0x1);
    static const char *bad[] = {
        "",
        "/etc/passwd",
        "../../etc/passwd",
        "Europe/../../../etc/passwd",
        "Europe//Berlin",
        "Europe/./Berlin",
        "Europe/Berlin/",
        "zone.tab",
        "Europe",
        "Europe/Ber lin",
        "iso3166.tab",
        "Europe/Berlin\n",
    };
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(bad); i++) {
        if (symbi_zone_validate(bad[i], &err) != SYMBI_ENOTFOUND)
            fail_msg("zone \"%s\" accepted", bad[i]);
        assert_non_null(strstr(err.msg, "unknown time zone \""));
    }
    assert_int_equal(symbi_zone_validate("Europe/Berlin", NULL), 0);
    assert_int_equal(symbi_zone_validate("UTC", NULL), 0);
    /* a long name is cut in the message */
    char longname[300];
    memset(longname, 'A', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(symbi_zone_validate(longname, &err), SYMBI_ENOTFOUND);
    assert_true(strlen(err.msg) < 100);
}

/* ---- crafted TZif files under a temporary TZDIR ------------------------- */

static void put32(unsigned char **p, uint32_t v)
{
    (*p)[0] = (unsigned char)(v >> 24);
    (*p)[1] = (unsigned char)(v >> 16);
    (*p)[2] = (unsigned char)(v >> 8);
    (*p)[3] = (unsigned char)v;
    *p += 4;
}

static void put_header(unsigned char **p, char version, uint32_t timecnt, uint32_t typecnt,
                       uint32_t charcnt)
{
    memcpy(*p, "TZif", 4);
    (*p)[4] = (unsigned char)version;
    memset(*p + 5, 0, 15);
    *p += 20;
    put32(p, 0); /* isutcnt */
    put32(p, 0); /* isstdcnt */
    put32(p, 0); /* leapcnt */
    put32(p, timecnt);
    put32(p, typecnt);
    put32(p, charcnt);
}

static void write_file(const char *dir, const char *name, const unsigned char *d, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(d, 1, n, f), n);
    fclose(f);
}

static void test_tzif_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/symbi-tzdir-XXXXXX";
    assert_non_null(mkdtemp(dir));
    unsigned char buf[512], *p;

    /* version 1: +01:00 until 2001-09-09T01:46:40Z, then +02:00 */
    p = buf;
    put_header(&p, 0, 1, 2, 8);
    put32(&p, 1000000000);
    *p++ = 1;
    put32(&p, 3600), *p++ = 0, *p++ = 0;
    put32(&p, 7200), *p++ = 1, *p++ = 4;
    memcpy(p, "AAA\0BBB\0", 8), p += 8;
    write_file(dir, "V1", buf, (size_t)(p - buf));

    /* version 2, slim: no transitions, CET with the EU rule in the footer */
    p = buf;
    put_header(&p, '2', 0, 1, 4);
    put32(&p, 3600), *p++ = 0, *p++ = 0;
    memcpy(p, "CET\0", 4), p += 4;
    put_header(&p, '2', 0, 1, 4);
    put32(&p, 3600), *p++ = 0, *p++ = 0;
    memcpy(p, "CET\0", 4), p += 4;
    const char *footer = "\nCET-1CEST,M3.5.0,M10.5.0/3\n";
    memcpy(p, footer, strlen(footer)), p += strlen(footer);
    write_file(dir, "Slim", buf, (size_t)(p - buf));

    /* a fixed-offset footer with quoted names, no DST */
    p = buf;
    put_header(&p, '3', 0, 1, 4);
    put32(&p, 0), *p++ = 0, *p++ = 0;
    memcpy(p, "UTC\0", 4), p += 4;
    put_header(&p, '3', 0, 1, 4);
    put32(&p, 0), *p++ = 0, *p++ = 0;
    memcpy(p, "UTC\0", 4), p += 4;
    footer = "\n<+0330>-3:30\n";
    memcpy(p, footer, strlen(footer)), p += strlen(footer);
    write_file(dir, "Fixed", buf, (size_t)(p - buf));

    /* garbage and a truncated file */
    write_file(dir, "Junk",
               (const unsigned char *)"not a zone file at all, sorry.........."
                                      "..........",
               50);
    write_file(dir, "Short", buf, 60);

    const char *old = getenv("TZDIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("TZDIR", dir, 1);
    const struct symbi_zone *z;
    struct symbi_err err = {0};
    assert_int_equal(symbi_zone_get("V1", &z, &err), 0);
    assert_int_equal(symbi_zone_offset(z, 999999999000LL), 3600);
    assert_int_equal(symbi_zone_offset(z, 1000000000000LL), 7200);
    assert_string_equal(nexts("0 3 * * *", "V1", "2001-09-08T00:00:00Z", 3),
                        "2001-09-08T02:00:00Z 2001-09-09T01:46:40Z 2001-09-10T01:00:00Z");
    assert_int_equal(symbi_zone_get("Slim", &z, &err), 0);
    assert_int_equal(symbi_zone_offset(z, T("2026-03-29T00:59:59Z")), 3600);
    assert_int_equal(symbi_zone_offset(z, T("2026-03-29T01:00:00Z")), 7200);
    assert_int_equal(symbi_zone_offset(z, T("1990-07-01T00:00:00Z")), 7200);
    assert_int_equal(symbi_zone_offset(z, T("2500-07-01T00:00:00Z")), 7200);
    assert_int_equal(symbi_zone_offset(z, T("2500-12-01T00:00:00Z")), 3600);
    assert_string_equal(nexts("30 2 * * *", "Slim", "2026-03-28T12:00:00Z", 2),
                        "2026-03-29T01:00:00Z 2026-03-30T00:30:00Z");
    assert_int_equal(symbi_zone_get("Fixed", &z, &err), 0);
    assert_int_equal(symbi_zone_offset(z, T("2026-03-29T00:59:59Z")), 12600);
    assert_string_equal(nexts("0 9 * * *", "Fixed", "2026-03-28T12:00:00Z", 1),
                        "2026-03-29T05:30:00Z");
    assert_int_equal(symbi_zone_get("Junk", &z, &err), SYMBI_ENOTFOUND);
    assert_int_equal(symbi_zone_get("Short", &z, &err), SYMBI_ENOTFOUND);
    /* Europe/Berlin is not in this TZDIR */
    assert_int_equal(symbi_zone_validate("Europe/Berlin", &err), SYMBI_ENOTFOUND);
    if (saved) {
        setenv("TZDIR", saved, 1);
        free(saved);
    } else {
        unsetenv("TZDIR");
    }
    assert_int_equal(symbi_zone_validate("Europe/Berlin", &err), 0);
    static const char *files[] = {"V1", "Slim", "Fixed", "Junk", "Short"};
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(files); i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* footer rules of the fuzz corpus's slim files (no transitions, rule only) */
static void test_footer_rules(void **state)
{
    (void)state;
    static const struct {
        const char *file, *at;
        int off;
    } cases[] = {
        /* DST all year: EST5EDT,0/0,J365/25 */
        {"slim_permanent_dst", "2026-01-15T00:00:00Z", -14400},
        {"slim_permanent_dst", "2026-07-01T00:00:00Z", -14400},
        {"slim_permanent_dst", "2026-12-31T23:59:59Z", -14400},
        {"slim_permanent_dst", "2400-01-01T04:30:00Z", -14400},
        /* southern hemisphere, 30-minute shift */
        {"slim_southern", "2026-01-15T00:00:00Z", 39600},
        {"slim_southern", "2026-07-01T00:00:00Z", 37800},
        {"slim_southern", "2026-10-03T15:29:59Z", 37800},
        {"slim_southern", "2026-10-03T15:30:00Z", 39600},
        /* a DST name without rules: the US default M3.2.0,M11.1.0 */
        {"slim_us_default", "2026-03-08T06:59:59Z", -18000},
        {"slim_us_default", "2026-03-08T07:00:00Z", -14400},
        {"slim_us_default", "2026-11-01T06:00:00Z", -18000},
        /* version-3 times: -1 hour and 167 hours */
        {"slim_v3_times", "2026-03-29T00:59:59Z", -7200},
        {"slim_v3_times", "2026-03-29T01:00:00Z", -3600},
        {"slim_v3_times", "2026-10-31T23:59:59Z", -3600},
        {"slim_v3_times", "2026-11-01T00:00:00Z", -7200},
        {"v1", "2001-09-09T01:46:39Z", 3600},
        {"v1", "2001-09-09T01:46:40Z", 7200},
    };
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(cases); i++) {
        char path[256];
        snprintf(path, sizeof path, "fuzz/corpus/tzif_parse/%s", cases[i].file);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        unsigned char data[4096];
        size_t n = fread(data, 1, sizeof data, f);
        fclose(f);
        struct symbi_zone *z;
        assert_int_equal(symbi_zone_from_tzif(data, n, &z), 0);
        int off = symbi_zone_offset(z, T(cases[i].at));
        if (off != cases[i].off)
            fail_msg("%s at %s: offset %d, want %d", cases[i].file, cases[i].at, off, cases[i].off);
        symbi_zone_release(z);
    }
    /* truncations of a real file are refused, never misread */
    FILE *f = fopen("fuzz/corpus/tzif_parse/Europe_Berlin", "rb");
    assert_non_null(f);
    unsigned char data[4096];
    size_t n = fread(data, 1, sizeof data, f);
    fclose(f);
    for (size_t cut = 0; cut < n - 40; cut += 7) {
        struct symbi_zone *z;
        if (symbi_zone_from_tzif(data, cut, &z) == 0) {
            /* only a cut inside the footer can still parse */
            assert_true(cut > n - 40);
            symbi_zone_release(z);
        }
    }
}

/* ---- DST decisions -------------------------------------------------------- */

static void test_berlin(void **state)
{
    (void)state;
    /* gap: 2026-03-29 02:00 -> 03:00 local (01:00Z) */
    const char *from = "2026-03-28T12:00:00Z";
    assert_string_equal(nexts("30 2 * * *", "Europe/Berlin", from, 2),
                        "2026-03-29T01:00:00Z 2026-03-30T00:30:00Z");
    assert_string_equal(nexts_opt("30 2 * * *", "Europe/Berlin", from, 2, SYMBI_DST_GAP_SKIP,
                                  SYMBI_DST_OVERLAP_AUTO),
                        "2026-03-30T00:30:00Z 2026-03-31T00:30:00Z");
    /* fixed hour, several skipped times: once */
    assert_string_equal(nexts("*/20 2 * * *", "Europe/Berlin", "2026-03-27T12:00:00Z", 2),
                        "2026-03-28T01:00:00Z 2026-03-28T01:20:00Z");
    assert_string_equal(nexts("*/20 2 * * *", "Europe/Berlin", "2026-03-28T01:40:00Z", 2),
                        "2026-03-29T01:00:00Z 2026-03-30T00:00:00Z");
    /* all hours: the local 03:00 fires once, nothing is doubled */
    assert_string_equal(nexts("*/30 * * * *", "Europe/Berlin", "2026-03-29T00:00:00Z", 4),
                        "2026-03-29T00:30:00Z 2026-03-29T01:00:00Z 2026-03-29T01:30:00Z "
                        "2026-03-29T02:00:00Z");
    assert_string_equal(nexts_opt("15 * * * *", "Europe/Berlin", "2026-03-29T00:00:00Z", 2,
                                  SYMBI_DST_GAP_SKIP, SYMBI_DST_OVERLAP_AUTO),
                        "2026-03-29T00:15:00Z 2026-03-29T01:15:00Z");
    assert_string_equal(nexts("15 * * * *", "Europe/Berlin", "2026-03-29T00:00:00Z", 3),
                        "2026-03-29T00:15:00Z 2026-03-29T01:00:00Z 2026-03-29T01:15:00Z");
    /* overlap: 2026-10-25 03:00 CEST -> 02:00 CET (01:00Z); 02:xx twice */
    from = "2026-10-24T12:00:00Z";
    assert_string_equal(nexts("30 2 * * *", "Europe/Berlin", from, 2),
                        "2026-10-25T00:30:00Z 2026-10-26T01:30:00Z");
    assert_string_equal(nexts_opt("30 2 * * *", "Europe/Berlin", from, 2, SYMBI_DST_GAP_SHIFT,
                                  SYMBI_DST_OVERLAP_LAST),
                        "2026-10-25T01:30:00Z 2026-10-26T01:30:00Z");
    assert_string_equal(nexts_opt("30 2 * * *", "Europe/Berlin", from, 3, SYMBI_DST_GAP_SHIFT,
                                  SYMBI_DST_OVERLAP_BOTH),
                        "2026-10-25T00:30:00Z 2026-10-25T01:30:00Z 2026-10-26T01:30:00Z");
    assert_string_equal(nexts("30 * * * *", "Europe/Berlin", "2026-10-25T00:00:00Z", 3),
                        "2026-10-25T00:30:00Z 2026-10-25T01:30:00Z 2026-10-25T02:30:00Z");
    assert_string_equal(nexts_opt("30 * * * *", "Europe/Berlin", "2026-10-25T00:00:00Z", 3,
                                  SYMBI_DST_GAP_SHIFT, SYMBI_DST_OVERLAP_FIRST),
                        "2026-10-25T00:30:00Z 2026-10-25T02:30:00Z 2026-10-25T03:30:00Z");
    assert_string_equal(nexts("0 */2 * * *", "Europe/Berlin", "2026-10-24T23:30:00Z", 3),
                        "2026-10-25T00:00:00Z 2026-10-25T01:00:00Z 2026-10-25T03:00:00Z");
    /* after the overlap, daily jobs keep their local time */
    assert_string_equal(nexts("0 9 * * *", "Europe/Berlin", "2026-10-24T00:00:00Z", 2),
                        "2026-10-24T07:00:00Z 2026-10-25T08:00:00Z");
    /* 6 fields: seconds inside the gap shift too */
    assert_string_equal(nexts("10 30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", 1),
                        "2026-03-29T01:00:00Z");
}

static void test_new_york(void **state)
{
    (void)state;
    /* gap: 2026-03-08 02:00 EST -> 03:00 EDT (07:00Z) */
    assert_string_equal(nexts("30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", 2),
                        "2026-03-08T07:00:00Z 2026-03-09T06:30:00Z");
    assert_string_equal(nexts_opt("30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", 1,
                                  SYMBI_DST_GAP_SKIP, SYMBI_DST_OVERLAP_AUTO),
                        "2026-03-09T06:30:00Z");
    assert_string_equal(nexts("*/30 * * * *", "America/New_York", "2026-03-08T06:00:00Z", 4),
                        "2026-03-08T06:30:00Z 2026-03-08T07:00:00Z 2026-03-08T07:30:00Z "
                        "2026-03-08T08:00:00Z");
    /* overlap: 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z); 01:xx twice */
    assert_string_equal(nexts("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", 2),
                        "2026-11-01T05:30:00Z 2026-11-02T06:30:00Z");
    assert_string_equal(nexts_opt("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", 2,
                                  SYMBI_DST_GAP_SHIFT, SYMBI_DST_OVERLAP_LAST),
                        "2026-11-01T06:30:00Z 2026-11-02T06:30:00Z");
    assert_string_equal(nexts_opt("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", 3,
                                  SYMBI_DST_GAP_SHIFT, SYMBI_DST_OVERLAP_BOTH),
                        "2026-11-01T05:30:00Z 2026-11-01T06:30:00Z 2026-11-02T06:30:00Z");
    assert_string_equal(nexts("0 * * * *", "America/New_York", "2026-11-01T04:30:00Z", 4),
                        "2026-11-01T05:00:00Z 2026-11-01T06:00:00Z 2026-11-01T07:00:00Z "
                        "2026-11-01T08:00:00Z");
    /* a start inside the second pass: a fixed-hour job already fired */
    assert_string_equal(nexts("45 1 * * *", "America/New_York", "2026-11-01T06:10:00Z", 1),
                        "2026-11-02T06:45:00Z");
    assert_string_equal(nexts("45 * * * *", "America/New_York", "2026-11-01T06:10:00Z", 1),
                        "2026-11-01T06:45:00Z");
}

static void test_lord_howe(void **state)
{
    (void)state;
    /* a 30-minute shift. gap: 2026-10-04 02:00 -> 02:30 (+10:30 -> +11, 15:30Z) */
    assert_string_equal(nexts("15 2 * * *", "Australia/Lord_Howe", "2026-10-03T00:00:00Z", 2),
                        "2026-10-03T15:30:00Z 2026-10-04T15:15:00Z");
    assert_string_equal(nexts_opt("15 2 * * *", "Australia/Lord_Howe", "2026-10-03T00:00:00Z", 1,
                                  SYMBI_DST_GAP_SKIP, SYMBI_DST_OVERLAP_AUTO),
                        "2026-10-04T15:15:00Z");
    assert_string_equal(nexts("*/20 * * * *", "Australia/Lord_Howe", "2026-10-03T15:00:00Z", 4),
                        "2026-10-03T15:10:00Z 2026-10-03T15:30:00Z 2026-10-03T15:40:00Z "
                        "2026-10-03T16:00:00Z");
    /* overlap: 2026-04-05 02:00 -> 01:30 (+11 -> +10:30, 15:00Z); 01:30-01:59 twice */
    assert_string_equal(nexts("45 1 * * *", "Australia/Lord_Howe", "2026-04-04T00:00:00Z", 2),
                        "2026-04-04T14:45:00Z 2026-04-05T15:15:00Z");
    assert_string_equal(nexts_opt("45 1 * * *", "Australia/Lord_Howe", "2026-04-04T00:00:00Z", 2,
                                  SYMBI_DST_GAP_SHIFT, SYMBI_DST_OVERLAP_LAST),
                        "2026-04-04T15:15:00Z 2026-04-05T15:15:00Z");
    assert_string_equal(nexts("45 * * * *", "Australia/Lord_Howe", "2026-04-04T14:00:00Z", 3),
                        "2026-04-04T14:45:00Z 2026-04-04T15:15:00Z 2026-04-04T16:15:00Z");
    /* 01:15 is not repeated (only 01:30-01:59 is) */
    assert_string_equal(nexts_opt("15 1 * * *", "Australia/Lord_Howe", "2026-04-04T00:00:00Z", 2,
                                  SYMBI_DST_GAP_SHIFT, SYMBI_DST_OVERLAP_BOTH),
                        "2026-04-04T14:15:00Z 2026-04-05T14:45:00Z");
}

static void test_no_dst_zones(void **state)
{
    (void)state;
    assert_string_equal(nexts("0 9 * * *", "Asia/Tokyo", "2026-03-28T00:00:00Z", 2),
                        "2026-03-29T00:00:00Z 2026-03-30T00:00:00Z");
    assert_string_equal(nexts("30 2 * * *", "Asia/Kolkata", "2026-03-28T00:00:00Z", 2),
                        "2026-03-28T21:00:00Z 2026-03-29T21:00:00Z");
    assert_string_equal(nexts("0 * * * *", "Asia/Kolkata", "2026-10-25T00:00:00Z", 2),
                        "2026-10-25T00:30:00Z 2026-10-25T01:30:00Z");
    assert_string_equal(nexts("0 0 1 1 *", "Pacific/Kiritimati", "2026-06-01T00:00:00Z", 1),
                        "2026-12-31T10:00:00Z");
    /* Etc/UTC is a file, and behaves as UTC */
    assert_string_equal(nexts("0 0 29 2 *", "Etc/UTC", "2026-01-01T00:00:00Z", 1),
                        "2028-02-29T00:00:00Z");
}

static void test_far_future_and_prev(void **state)
{
    (void)state;
    /* 2300: past the tabulated rule, computed from the footer */
    assert_string_equal(nexts("30 2 * * *", "Europe/Berlin", "2300-03-24T12:00:00Z", 2),
                        "2300-03-25T01:00:00Z 2300-03-26T00:30:00Z");
    assert_string_equal(nexts("30 * * * *", "Europe/Berlin", "2300-10-28T00:00:00Z", 3),
                        "2300-10-28T00:30:00Z 2300-10-28T01:30:00Z 2300-10-28T02:30:00Z");
    /* a rare expression far ahead in a DST zone */
    assert_string_equal(nexts("0 0 12 29 2 * 2196", "Europe/Berlin", "2026-01-01T00:00:00Z", 2),
                        "2196-02-29T11:00:00Z none");
    /* prev across DST */
    struct symbi_cron *c;
    assert_int_equal(symbi_cron_parse("30 2 * * *", &c, NULL), 0);
    const struct symbi_zone *b = zone("Europe/Berlin");
    int64_t p;
    assert_int_equal(symbi_cron_prev(c, b, T("2026-03-30T00:00:00Z"), NULL, &p), 0);
    assert_int_equal(p, T("2026-03-29T01:00:00Z"));
    struct symbi_cron_opts o = {SYMBI_DST_GAP_SKIP, SYMBI_DST_OVERLAP_AUTO, SYMBI_TIME_NONE};
    assert_int_equal(symbi_cron_prev(c, b, T("2026-03-30T00:00:00Z"), &o, &p), 0);
    assert_int_equal(p, T("2026-03-28T01:30:00Z"));
    assert_int_equal(symbi_cron_prev(c, b, T("2026-10-26T00:00:00Z"), NULL, &p), 0);
    assert_int_equal(p, T("2026-10-25T00:30:00Z"));
    o.overlap = SYMBI_DST_OVERLAP_LAST;
    assert_int_equal(symbi_cron_prev(c, b, T("2026-10-26T00:00:00Z"), &o, &p), 0);
    assert_int_equal(p, T("2026-10-25T01:30:00Z"));
    symbi_cron_free(c);
}

/* ---- a brute-force oracle ------------------------------------------------ */

/* Does local second l match (a 5-field expression, tested in UTC)? */
static bool matches(const struct symbi_cron *c, int64_t l)
{
    int64_t n;
    return symbi_cron_next(c, NULL, (l - 1) * 1000, NULL, &n) == 0 && n == l * 1000;
}

static int64_t off_at(const struct symbi_zone *z, int64_t t)
{
    return symbi_zone_offset(z, t * 1000);
}

/* The fires in [a, b) (UTC seconds, minutes only) by SPEC §3.2, found by
 * looking at every minute. */
static size_t oracle(const struct symbi_cron *c, bool hour_star, const struct symbi_zone *z,
                     int64_t a, int64_t b, enum symbi_dst_gap gap, enum symbi_dst_overlap ov,
                     int64_t *out, size_t cap)
{
    if (ov == SYMBI_DST_OVERLAP_AUTO)
        ov = hour_star ? SYMBI_DST_OVERLAP_BOTH : SYMBI_DST_OVERLAP_FIRST;
    size_t n = 0;
    for (int64_t t = a; t < b && n < cap; t += 60) {
        int64_t o = off_at(z, t), l = t + o;
        /* a spring-forward transition at t: fire once if a skipped time matches */
        int64_t po = off_at(z, t - 1);
        bool fired = false;
        if (po < o && gap == SYMBI_DST_GAP_SHIFT) {
            for (int64_t g = t + po; g < t + o; g += 60)
                if (matches(c, g))
                    fired = true;
        }
        if (!fired && matches(c, l)) {
            /* is this local time also shown at another instant? */
            bool earlier = false, later = false;
            for (int64_t d = -3 * 3600; d <= 3 * 3600; d += 60) {
                if (d == 0)
                    continue;
                if (t + d + off_at(z, t + d) == l)
                    *(d < 0 ? &earlier : &later) = true;
            }
            fired = !(ov == SYMBI_DST_OVERLAP_FIRST && earlier) &&
                    !(ov == SYMBI_DST_OVERLAP_LAST && later);
        }
        if (fired)
            out[n++] = t;
    }
    return n;
}

static void test_oracle(void **state)
{
    (void)state;
    static const char *zones[] = {"Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
                                  "Asia/Kolkata"};
    static const char *windows[] = {"2026-03-28T12:00:00Z", "2026-10-24T12:00:00Z",
                                    "2026-03-07T12:00:00Z", "2026-10-31T12:00:00Z",
                                    "2026-04-04T00:00:00Z", "2026-10-03T00:00:00Z"};
    static const struct {
        const char *expr;
        bool hour_star;
    } exprs[] = {
        {"30 2 * * *", false},     {"*/15 * * * *", true},  {"0 * * * *", true},
        {"15 1 * * *", false},     {"45 1,2 * * *", false}, {"* 2 * * *", false},
        {"*/10 1-3 * * *", false}, {"0 0 * * *", false},    {"40 */2 * * *", true},
        {"5,35 * * * 0", true},
    };
    static const enum symbi_dst_overlap ovs[] = {SYMBI_DST_OVERLAP_AUTO, SYMBI_DST_OVERLAP_FIRST,
                                                 SYMBI_DST_OVERLAP_LAST, SYMBI_DST_OVERLAP_BOTH};
    enum { CAP = 4000 };
    int64_t *want = malloc(CAP * sizeof *want);
    assert_non_null(want);
    int checked = 0;
    for (size_t zi = 0; zi < SYMBI_ARRAY_LEN(zones); zi++) {
        const struct symbi_zone *z = zone(zones[zi]);
        for (size_t wi = 0; wi < SYMBI_ARRAY_LEN(windows); wi++) {
            int64_t a = T(windows[wi]) / 1000, b = a + 36 * 3600;
            for (size_t ei = 0; ei < SYMBI_ARRAY_LEN(exprs); ei++) {
                struct symbi_cron *c;
                assert_int_equal(symbi_cron_parse(exprs[ei].expr, &c, NULL), 0);
                for (int g = 0; g < 2; g++) {
                    for (size_t oi = 0; oi < SYMBI_ARRAY_LEN(ovs); oi++) {
                        struct symbi_cron_opts o = {g ? SYMBI_DST_GAP_SKIP : SYMBI_DST_GAP_SHIFT,
                                                    ovs[oi], SYMBI_TIME_NONE};
                        size_t n =
                            oracle(c, exprs[ei].hour_star, z, a, b, o.gap, o.overlap, want, CAP);
                        /* forward from a - 1 */
                        int64_t t = (a - 1) * 1000, x;
                        for (size_t i = 0; i < n; i++) {
                            assert_int_equal(symbi_cron_next(c, z, t, &o, &x), 0);
                            if (x != want[i] * 1000)
                                fail_msg("%s %s gap=%d ov=%d: next after %lld is %lld, want %lld",
                                         exprs[ei].expr, zones[zi], g, (int)ovs[oi],
                                         (long long)t / 1000, (long long)x / 1000,
                                         (long long)want[i]);
                            t = x;
                        }
                        assert_int_equal(symbi_cron_next(c, z, t, &o, &x), 0);
                        assert_true(x >= b * 1000);
                        /* backward from b */
                        t = b * 1000;
                        for (size_t i = n; i-- > 0;) {
                            assert_int_equal(symbi_cron_prev(c, z, t, &o, &x), 0);
                            if (x != want[i] * 1000)
                                fail_msg("%s %s gap=%d ov=%d: prev before %lld is %lld, want %lld",
                                         exprs[ei].expr, zones[zi], g, (int)ovs[oi],
                                         (long long)t / 1000, (long long)x / 1000,
                                         (long long)want[i]);
                            t = x;
                        }
                        checked += (int)n;
                    }
                }
                symbi_cron_free(c);
            }
        }
    }
    free(want);
    assert_true(checked > 10000);
}

/* ---- threads --------------------------------------------------------------- */

static const char *thread_zones[] = {"Europe/Paris",       "America/Chicago", "Asia/Tehran",
                                     "Australia/Adelaide", "Africa/Cairo",    "America/Santiago"};

static void *zone_worker(void *arg)
{
    const struct symbi_zone **seen = arg;
    struct symbi_cron *c;
    if (symbi_cron_parse("*/7 * * * *", &c, NULL) != 0)
        return (void *)1;
    for (int k = 0; k < 200; k++) {
        for (size_t i = 0; i < SYMBI_ARRAY_LEN(thread_zones); i++) {
            const struct symbi_zone *z;
            int64_t n;
            if (symbi_zone_get(thread_zones[i], &z, NULL) != 0 ||
                symbi_cron_next(c, z, 1790000000000LL + k * 3600000LL, NULL, &n) != 0) {
                symbi_cron_free(c);
                return (void *)1;
            }
            seen[i] = z;
        }
    }
    symbi_cron_free(c);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    enum { N = 6 };
    pthread_t th[N];
    const struct symbi_zone *seen[N][SYMBI_ARRAY_LEN(thread_zones)];
    for (int i = 0; i < N; i++)
        assert_int_equal(pthread_create(&th[i], NULL, zone_worker, seen[i]), 0);
    for (int i = 0; i < N; i++) {
        void *r;
        assert_int_equal(pthread_join(th[i], &r), 0);
        assert_null(r);
    }
    /* every thread saw the same loaded zone */
    for (int i = 1; i < N; i++)
        for (size_t k = 0; k < SYMBI_ARRAY_LEN(thread_zones); k++)
            assert_ptr_equal(seen[i][k], seen[0][k]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zone_basics),
        cmocka_unit_test(test_zone_errors),
        cmocka_unit_test(test_tzif_files),
        cmocka_unit_test(test_footer_rules),
        cmocka_unit_test(test_berlin),
        cmocka_unit_test(test_new_york),
        cmocka_unit_test(test_lord_howe),
        cmocka_unit_test(test_no_dst_zones),
        cmocka_unit_test(test_far_future_and_prev),
        cmocka_unit_test(test_oracle),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
