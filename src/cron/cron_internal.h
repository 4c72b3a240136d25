/* cron_internal.h - private to src/cron: the parsed expression, the loaded
 * zone and the helpers the parser, the matcher and the zone reader share. */
#ifndef SYMBI_CRON_INTERNAL_H
#define SYMBI_CRON_INTERNAL_H

#include "symbi/cron.h"

#include <stdbool.h>
#include <stdint.h>

#define CRON_YEAR_MIN 1970
#define CRON_YEAR_MAX 2199

/* The supported instants: 0001-01-01T00:00:00 .. 9999-12-31T23:59:59. */
#define CRON_T_MIN (-62135596800LL)
#define CRON_T_MAX 253402300799LL

/* A parsed expression: one bit set per field, plus the Quartz extensions. */
struct symbi_cron {
    uint64_t sec;       /* bits 0-59 */
    uint64_t min;       /* bits 0-59 */
    uint32_t hour;      /* bits 0-23 */
    uint32_t dom;       /* bits 1-31: plain days of the month */
    uint32_t dom_last;  /* bit n: n days before the last day (L is bit 0, L-3 bit 3) */
    uint32_t dom_near;  /* bit n: the weekday nearest day n (nW) */
    uint16_t month;     /* bits 1-12 */
    uint8_t dow;        /* bits 0-6: plain days of the week, Sunday 0 */
    uint8_t dow_last;   /* bit d: the last weekday d of the month (dL) */
    uint8_t dow_nth[6]; /* [n] bit d: the n-th weekday d of the month (d#n), n 1-5 */
    bool dom_lw;        /* LW: the last weekday (Mon-Fri) of the month */
    bool dom_star;      /* the day-of-month field starts with '*' or is '?' */
    bool dow_star;      /* the day-of-week field starts with '*' or is '?' */
    bool hour_star;     /* the hour field starts with '*' (DST overlap rule) */
    bool extended;      /* some L, W or # is used: the slower day rule */
    bool has_year;      /* a 7th field */
    uint64_t years[4];  /* bit (y - 1970) for 1970..2199 */
    int64_t every_s;    /* @every: the interval in seconds; 0 otherwise */
};

/* The days (bits 1-31) of month m of year y that match both day fields. */
uint64_t cron_day_mask(const struct symbi_cron *c, int64_t y, unsigned m);

/* One stretch of constant UTC offset: [start, end) in UTC seconds
 * (INT64_MIN / INT64_MAX when unbounded), the offset in it, and the
 * offsets just before and after (equal to off when unbounded). */
struct zone_period {
    int64_t start, end;
    int32_t off, prev_off, next_off;
};

/* The offset stretch holding UTC second t. */
void symbi_zone_period(const struct symbi_zone *z, int64_t t, struct zone_period *p);
/* A zone parsed from TZif bytes, outside the cache (fuzzing, tests); free
 * it with symbi_zone_release. SYMBI_EINVAL on malformed data. */
int symbi_zone_from_tzif(const unsigned char *data, size_t len, struct symbi_zone **out);
void symbi_zone_release(struct symbi_zone *z);

/* true when z has one offset for all time (UTC, Etc/GMT+5), in *off. */
bool symbi_zone_fixed(const struct symbi_zone *z, int32_t *off);

/* Appends the English sentence for c in zone (NULL: UTC) to b
 * (cron_describe.c). */
void cron_describe_text(const struct symbi_cron *c, const char *zone, struct symbi_buf *b);

static inline int64_t cron_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static inline bool cron_is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static inline unsigned cron_days_in_month(int64_t y, unsigned m)
{
    static const unsigned char dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && cron_is_leap(y) ? 29 : dm[m - 1];
}

/* 0 = Sunday for a day count since 1970-01-01 (a Thursday). */
static inline unsigned cron_weekday(int64_t days)
{
    int64_t w = (days + 4) % 7;
    return (unsigned)(w < 0 ? w + 7 : w);
}

#endif
