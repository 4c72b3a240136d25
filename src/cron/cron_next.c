/* cron_next.c - the next and previous fire instants of a parsed expression:
 * a field-by-field search in local time, then the walk over a zone's
 * offset periods that applies the DST decisions of SPEC §3.2. */
#include "cron/cron_internal.h"

#include <stdlib.h>
#include <string.h>

#define NONE_HI INT64_MAX /* "no match" for a forward search */
#define NONE_LO INT64_MIN /* "no match" for a backward search */
#define DAY     86400

/* Lowest set bit >= x (x < 64), or -1. */
static inline int bit_at_or_after(uint64_t m, unsigned x)
{
    m &= ~0ull << x;
    return m ? __builtin_ctzll(m) : -1;
}

/* Highest set bit <= x (x < 64), or -1. */
static inline int bit_at_or_before(uint64_t m, unsigned x)
{
    if (x < 63)
        m &= (2ull << x) - 1;
    return m ? 63 - __builtin_clzll(m) : -1;
}

static bool year_ok(const struct symbi_cron *c, int64_t y)
{
    if (!c->has_year)
        return true;
    if (y < CRON_YEAR_MIN || y > CRON_YEAR_MAX)
        return false;
    unsigned b = (unsigned)(y - CRON_YEAR_MIN);
    return (c->years[b / 64] >> (b % 64)) & 1;
}

/* The weekday nearest day n of a month (Quartz nW): never crosses into
 * another month. */
static unsigned nearest_weekday(unsigned n, unsigned nd, unsigned w1)
{
    unsigned wd = (w1 + n - 1) % 7;
    if (wd == 6)
        return n == 1 ? n + 2 : n - 1;
    if (wd == 0)
        return n == nd ? n - 2 : n + 1;
    return n;
}

uint64_t cron_day_mask(const struct symbi_cron *c, int64_t y, unsigned m)
{
    unsigned nd = cron_days_in_month(y, m);
    uint64_t all = (2ull << nd) - 2;
    unsigned w1 = cron_weekday(symbi_days_from_civil(y, m, 1));
    /* the plain weekdays: rotate so that bit i is the weekday of day i+1 */
    uint64_t pat = ((uint64_t)c->dow >> w1 | (uint64_t)c->dow << (7 - w1)) & 0x7f;
    uint64_t dowm = (pat << 1 | pat << 8 | pat << 15 | pat << 22 | pat << 29) & all;
    uint64_t domm = c->dom & all;
    if (c->extended) {
        unsigned wlast = (w1 + nd - 1) % 7;
        for (uint32_t b = c->dom_last; b != 0; b &= b - 1) {
            unsigned n = (unsigned)__builtin_ctz(b);
            if (n < nd)
                domm |= 1ull << (nd - n);
        }
        for (uint32_t b = c->dom_near; b != 0; b &= b - 1) {
            unsigned n = (unsigned)__builtin_ctz(b);
            if (n <= nd)
                domm |= 1ull << nearest_weekday(n, nd, w1);
        }
        if (c->dom_lw)
            domm |= 1ull << (wlast == 6 ? nd - 1 : wlast == 0 ? nd - 2 : nd);
        for (unsigned b = c->dow_last; b != 0; b &= b - 1) {
            unsigned d = (unsigned)__builtin_ctz(b);
            dowm |= 1ull << (nd - (wlast + 7 - d) % 7);
        }
        for (unsigned n = 1; n <= 5; n++) {
            for (unsigned b = c->dow_nth[n]; b != 0; b &= b - 1) {
                unsigned d = (unsigned)__builtin_ctz(b);
                unsigned day = 1 + (d + 7 - w1) % 7 + 7 * (n - 1);
                if (day <= nd)
                    dowm |= 1ull << day;
            }
        }
    }
    if (c->dom_star || c->dow_star)
        return domm & dowm;
    return domm | dowm; /* Vixie: either day field matches */
}

/* The first local second >= l that matches the calendar fields (local
 * seconds count as if the zone were UTC), or NONE_HI. */
static int64_t local_next(const struct symbi_cron *c, int64_t l)
{
    if (l < CRON_T_MIN)
        l = CRON_T_MIN;
    if (l > CRON_T_MAX)
        return NONE_HI;
    int64_t days = cron_floor_div(l, DAY);
    int sod = (int)(l - days * DAY);
    int64_t y;
    unsigned m, d;
    symbi_civil_from_days(days, &y, &m, &d);
    int h = sod / 3600, mi = sod / 60 % 60, s = sod % 60;
    int64_t ylimit = y + 401; /* the Gregorian calendar repeats every 400 years */
    if (c->has_year && ylimit > CRON_YEAR_MAX)
        ylimit = CRON_YEAR_MAX;
    if (ylimit > 9999)
        ylimit = 9999;
    for (;;) {
        if (y > ylimit)
            return NONE_HI;
        if (!year_ok(c, y)) {
            y++, m = 1, d = 1, h = mi = s = 0;
            continue;
        }
        int b = bit_at_or_after(c->month, m);
        if (b < 0) {
            y++, m = 1, d = 1, h = mi = s = 0;
            continue;
        }
        if ((unsigned)b != m)
            m = (unsigned)b, d = 1, h = mi = s = 0;
        b = bit_at_or_after(cron_day_mask(c, y, m), d);
        if (b < 0) {
            if (++m > 12)
                y++, m = 1;
            d = 1, h = mi = s = 0;
            continue;
        }
        if ((unsigned)b != d)
            d = (unsigned)b, h = mi = s = 0;
        b = bit_at_or_after(c->hour, (unsigned)h);
        if (b < 0) {
            d++, h = mi = s = 0; /* past the month's end the day mask moves on */
            continue;
        }
        if (b != h)
            h = b, mi = s = 0;
        b = bit_at_or_after(c->min, (unsigned)mi);
        if (b < 0) {
            if (++h == 24)
                d++, h = 0;
            mi = s = 0;
            continue;
        }
        if (b != mi)
            mi = b, s = 0;
        b = bit_at_or_after(c->sec, (unsigned)s);
        if (b < 0) {
            mi++, s = 0;
            if (mi == 60) {
                mi = 0;
                if (++h == 24)
                    d++, h = 0;
            }
            continue;
        }
        s = b;
        int64_t r = symbi_days_from_civil(y, m, d) * DAY + h * 3600 + mi * 60 + s;
        return r > CRON_T_MAX ? NONE_HI : r;
    }
}

/* The last local second <= l that matches, or NONE_LO. */
static int64_t local_prev(const struct symbi_cron *c, int64_t l)
{
    if (l > CRON_T_MAX)
        l = CRON_T_MAX;
    if (l < CRON_T_MIN)
        return NONE_LO;
    int64_t days = cron_floor_div(l, DAY);
    int sod = (int)(l - days * DAY);
    int64_t y;
    unsigned m, d;
    symbi_civil_from_days(days, &y, &m, &d);
    int h = sod / 3600, mi = sod / 60 % 60, s = sod % 60;
    int64_t ylimit = y - 401;
    if (c->has_year && ylimit < CRON_YEAR_MIN)
        ylimit = CRON_YEAR_MIN;
    if (ylimit < 1)
        ylimit = 1;
    /* d == 0 means "the last day of month m", resolved once m is known */
    for (;;) {
        if (y < ylimit)
            return NONE_LO;
        if (!year_ok(c, y)) {
            y--, m = 12, d = 31, h = 23, mi = s = 59;
            continue;
        }
        int b = bit_at_or_before(c->month, m);
        if (b < 1) {
            y--, m = 12, d = 31, h = 23, mi = s = 59;
            continue;
        }
        if ((unsigned)b != m)
            m = (unsigned)b, d = 31, h = 23, mi = s = 59;
        unsigned nd = cron_days_in_month(y, m);
        if (d > nd)
            d = nd, h = 23, mi = s = 59;
        b = d == 0 ? -1 : bit_at_or_before(cron_day_mask(c, y, m), d);
        if (b < 1) {
            if (--m == 0)
                y--, m = 12;
            d = 31, h = 23, mi = s = 59;
            continue;
        }
        if ((unsigned)b != d)
            d = (unsigned)b, h = 23, mi = s = 59;
        b = h < 0 ? -1 : bit_at_or_before(c->hour, (unsigned)h);
        if (b < 0) {
            d--, h = 23, mi = s = 59; /* d == 0 moves to the previous month */
            continue;
        }
        if (b != h)
            h = b, mi = s = 59;
        b = mi < 0 ? -1 : bit_at_or_before(c->min, (unsigned)mi);
        if (b < 0) {
            h--, mi = s = 59;
            if (h < 0)
                d--, h = 23;
            continue;
        }
        if (b != mi)
            mi = b, s = 59;
        b = bit_at_or_before(c->sec, (unsigned)s);
        if (b < 0) {
            mi--, s = 59;
            if (mi < 0) {
                mi = 59;
                if (--h < 0)
                    d--, h = 23;
            }
            continue;
        }
        s = b;
        int64_t r = symbi_days_from_civil(y, m, d) * DAY + h * 3600 + mi * 60 + s;
        return r < CRON_T_MIN ? NONE_LO : r;
    }
}

/* Memoised searches: no local second in [lo, res) matches and res does
 * (forward), or none in (res, hi] and res does (backward), so a query
 * inside that span costs nothing. */
struct memo {
    bool valid;
    int64_t from, res;
};

static int64_t memo_next(struct memo *mm, const struct symbi_cron *c, int64_t lo)
{
    if (mm->valid && lo >= mm->from && lo <= mm->res)
        return mm->res;
    mm->valid = true;
    mm->from = lo;
    mm->res = local_next(c, lo);
    return mm->res;
}

static int64_t memo_prev(struct memo *mm, const struct symbi_cron *c, int64_t hi)
{
    if (mm->valid && hi <= mm->from && hi >= mm->res)
        return mm->res;
    mm->valid = true;
    mm->from = hi;
    mm->res = local_prev(c, hi);
    return mm->res;
}

static enum symbi_dst_overlap overlap_rule(const struct symbi_cron *c, enum symbi_dst_overlap o)
{
    if (o == SYMBI_DST_OVERLAP_AUTO)
        return c->hour_star ? SYMBI_DST_OVERLAP_BOTH : SYMBI_DST_OVERLAP_FIRST;
    return o;
}

/* The first fire at or after UTC second t in zone z. */
static int64_t zone_next(const struct symbi_cron *c, const struct symbi_zone *z, int64_t t,
                         enum symbi_dst_gap gap, enum symbi_dst_overlap ov)
{
    struct zone_period p;
    struct memo mm = {0};
    symbi_zone_period(z, t, &p);
    for (;;) {
        /* a spring-forward gap at the start of this period */
        if (gap == SYMBI_DST_GAP_SHIFT && p.off > p.prev_off && p.start >= t) {
            int64_t l = memo_next(&mm, c, p.start + p.prev_off);
            if (l < p.start + p.off)
                return p.start;
        }
        int64_t lo = (t > p.start ? t : p.start) + p.off;
        if (ov == SYMBI_DST_OVERLAP_FIRST && p.off < p.prev_off && lo < p.start + p.prev_off)
            lo = p.start + p.prev_off; /* the second pass of a fall-back overlap */
        int64_t hi = p.end == INT64_MAX ? INT64_MAX : p.end + p.off;
        if (ov == SYMBI_DST_OVERLAP_LAST && p.next_off < p.off && p.end != INT64_MAX)
            hi = p.end + p.next_off; /* these local times come again after p.end */
        if (lo < hi) {
            int64_t l = memo_next(&mm, c, lo);
            if (l == NONE_HI)
                return NONE_HI;
            if (l < hi)
                return l - p.off;
        }
        if (p.end == INT64_MAX || p.end > CRON_T_MAX)
            return NONE_HI;
        symbi_zone_period(z, p.end, &p);
    }
}

/* The last fire at or before UTC second t in zone z. */
static int64_t zone_prev(const struct symbi_cron *c, const struct symbi_zone *z, int64_t t,
                         enum symbi_dst_gap gap, enum symbi_dst_overlap ov)
{
    struct zone_period p;
    struct memo mm = {0};
    symbi_zone_period(z, t, &p);
    for (;;) {
        int64_t hi = (p.end != INT64_MAX && t >= p.end ? p.end - 1 : t) + p.off;
        if (ov == SYMBI_DST_OVERLAP_LAST && p.next_off < p.off && p.end != INT64_MAX &&
            hi >= p.end + p.next_off)
            hi = p.end + p.next_off - 1;
        int64_t lo = p.start == INT64_MIN ? INT64_MIN : p.start + p.off;
        if (ov == SYMBI_DST_OVERLAP_FIRST && p.off < p.prev_off && p.start != INT64_MIN)
            lo = p.start + p.prev_off;
        int64_t l = NONE_LO;
        if (lo <= hi) {
            l = memo_prev(&mm, c, hi);
            if (l != NONE_LO && l >= lo)
                return l - p.off;
        }
        if (gap == SYMBI_DST_GAP_SHIFT && p.off > p.prev_off && p.start <= t) {
            int64_t g = memo_prev(&mm, c, p.start + p.off - 1);
            if (g != NONE_LO && g >= p.start + p.prev_off)
                return p.start;
        }
        if (lo <= hi && l == NONE_LO)
            return NONE_LO;
        if (p.start == INT64_MIN || p.start < CRON_T_MIN)
            return NONE_LO;
        symbi_zone_period(z, p.start - 1, &p);
    }
}

static void opts_of(const struct symbi_cron_opts *opts, enum symbi_dst_gap *gap,
                    enum symbi_dst_overlap *ov, int64_t *anchor)
{
    *gap = opts != NULL ? opts->gap : SYMBI_DST_GAP_SHIFT;
    *ov = opts != NULL ? opts->overlap : SYMBI_DST_OVERLAP_AUTO;
    *anchor = opts != NULL ? opts->every_anchor_ms : SYMBI_TIME_NONE;
}

int symbi_cron_next(const struct symbi_cron *c, const struct symbi_zone *z, int64_t after_ms,
                    const struct symbi_cron_opts *opts, int64_t *next_ms)
{
    enum symbi_dst_gap gap;
    enum symbi_dst_overlap ov;
    int64_t anchor, r;
    int32_t fixed = 0;
    opts_of(opts, &gap, &ov, &anchor);
    if (after_ms >= CRON_T_MAX * 1000)
        return SYMBI_ENOTFOUND;
    if (after_ms < CRON_T_MIN * 1000 - 1000)
        after_ms = CRON_T_MIN * 1000 - 1000;        /* keeps the arithmetic below in range */
    int64_t t = cron_floor_div(after_ms, 1000) + 1; /* the first whole second after */
    if (c->every_s > 0) {
        if (anchor == SYMBI_TIME_NONE) {
            r = t - 1 + c->every_s;
        } else {
            int64_t a = cron_floor_div(anchor, 1000);
            int64_t k = t <= a + c->every_s ? 1 : -cron_floor_div(a - t, c->every_s);
            r = a + k * c->every_s; /* anchor + k * interval, k >= 1 */
        }
    } else if (z == NULL || symbi_zone_fixed(z, &fixed)) {
        r = local_next(c, t + fixed);
        r = r == NONE_HI ? r : r - fixed;
    } else {
        r = zone_next(c, z, t < CRON_T_MIN ? CRON_T_MIN : t, gap, overlap_rule(c, ov));
    }
    if (r == NONE_HI || r > CRON_T_MAX)
        return SYMBI_ENOTFOUND;
    *next_ms = r * 1000;
    return 0;
}

int symbi_cron_prev(const struct symbi_cron *c, const struct symbi_zone *z, int64_t before_ms,
                    const struct symbi_cron_opts *opts, int64_t *prev_ms)
{
    enum symbi_dst_gap gap;
    enum symbi_dst_overlap ov;
    int64_t anchor, r;
    int32_t fixed = 0;
    opts_of(opts, &gap, &ov, &anchor);
    if (before_ms <= CRON_T_MIN * 1000)
        return SYMBI_ENOTFOUND;
    if (before_ms > CRON_T_MAX * 1000 + 1000)
        before_ms = CRON_T_MAX * 1000 + 1000;
    int64_t t = cron_floor_div(before_ms - 1, 1000); /* the last whole second before */
    if (c->every_s > 0) {
        if (anchor == SYMBI_TIME_NONE) {
            r = t + 1 - c->every_s;
        } else {
            int64_t a = cron_floor_div(anchor, 1000);
            r = a + cron_floor_div(t - a, c->every_s) * c->every_s;
        }
    } else if (z == NULL || symbi_zone_fixed(z, &fixed)) {
        r = local_prev(c, t + fixed);
        r = r == NONE_LO ? r : r - fixed;
    } else {
        r = zone_prev(c, z, t > CRON_T_MAX ? CRON_T_MAX : t, gap, overlap_rule(c, ov));
    }
    if (r == NONE_LO || r < CRON_T_MIN)
        return SYMBI_ENOTFOUND;
    *prev_ms = r * 1000;
    return 0;
}

int symbi_cron_job_next(const struct symbi_job *job, int64_t after_ms, int64_t *next,
                        struct symbi_err *err)
{
    if (job->cron_expr == NULL) {
        *next = job->at != SYMBI_TIME_NONE && job->at > after_ms ? job->at : SYMBI_TIME_NONE;
        return 0;
    }
    struct symbi_cron *c;
    const struct symbi_zone *z;
    int rc = symbi_cron_parse(job->cron_expr, &c, err);
    if (rc != 0)
        return rc;
    rc = symbi_zone_get(job->timezone, &z, err);
    if (rc != 0) {
        symbi_cron_free(c);
        return rc;
    }
    struct symbi_cron_opts opts = {
        .gap = job->dst_gap,
        .overlap = job->dst_overlap,
        .every_anchor_ms = job->last_run != SYMBI_TIME_NONE ? job->last_run : job->created_at,
    };
    int64_t r;
    rc = symbi_cron_next(c, z, after_ms, &opts, &r);
    symbi_cron_free(c);
    if (rc == SYMBI_ENOTFOUND) {
        *next = SYMBI_TIME_NONE;
        return 0;
    }
    if (rc != 0)
        return symbi_err_set(err, rc, "cron: %s", symbi_strerror(rc));
    *next = r;
    return 0;
}
