/* cron_describe.c - a cron expression in English ("At 09:00, Monday
 * through Friday (Europe/Berlin)"), read from the parsed bit sets. */
#include "cron/cron_internal.h"

#include <stdio.h>
#include <string.h>

static const char *const month_full[] = {"January",   "February", "March",    "April",
                                         "May",       "June",     "July",     "August",
                                         "September", "October",  "November", "December"};
static const char *const dow_full[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                       "Thursday", "Friday", "Saturday"};
static const char *const nth_word[] = {"", "first", "second", "third", "fourth", "fifth"};

/* ---- sets of values ---- */

enum shape { S_FULL, S_SINGLE, S_RUN, S_STEP, S_LIST };

struct vset {
    int v[256];
    int n;
    int lo, hi;
    enum shape shape;
    int step; /* S_STEP */
};

static void classify(struct vset *s)
{
    s->step = 0;
    if (s->n == s->hi - s->lo + 1) {
        s->shape = S_FULL;
    } else if (s->n < 2) {
        s->shape = s->n == 1 ? S_SINGLE : S_LIST; /* empty: only extensions (L, W, #) */
    } else {
        int d = s->v[1] - s->v[0];
        bool ap = s->n >= 3;
        for (int i = 2; ap && i < s->n; i++)
            ap = s->v[i] - s->v[i - 1] == d;
        s->shape = ap && d == 1 ? S_RUN : ap ? S_STEP : S_LIST;
        s->step = d;
    }
}

static void set_from_bits(struct vset *s, const uint64_t *words, int lo, int hi, int base)
{
    s->n = 0;
    s->lo = lo;
    s->hi = hi;
    for (int x = lo; x <= hi; x++) {
        int b = x - base;
        if (words[b / 64] >> (b % 64) & 1)
            s->v[s->n++] = x;
    }
    classify(s);
}

static void set_from_u64(struct vset *s, uint64_t bits, int lo, int hi)
{
    uint64_t w[4] = {bits, 0, 0, 0};
    set_from_bits(s, w, lo, hi, 0);
}

/* ---- text helpers ---- */

static void put(struct symbi_buf *b, const char *s)
{
    (void)symbi_buf_puts(b, s);
}

static const char *ordinal_suffix(int n)
{
    if (n % 100 >= 11 && n % 100 <= 13)
        return "th";
    return n % 10 == 1 ? "st" : n % 10 == 2 ? "nd" : n % 10 == 3 ? "rd" : "th";
}

/* "a", "a and b", "a, b and c" for item i of n. */
static void sep(struct symbi_buf *b, int i, int n)
{
    if (i > 0)
        put(b, i == n - 1 ? " and " : ", ");
}

typedef void (*value_fmt)(struct symbi_buf *b, int v);

static void fmt_num(struct symbi_buf *b, int v)
{
    (void)symbi_buf_printf(b, "%d", v);
}

static void fmt_hour(struct symbi_buf *b, int v)
{
    (void)symbi_buf_printf(b, "%02d", v);
}

static void fmt_month(struct symbi_buf *b, int v)
{
    put(b, month_full[v - 1]);
}

/* The values of s as a list, runs of three or more as "a through b". */
static void list_items(struct symbi_buf *b, const struct vset *s, value_fmt f)
{
    int starts[256], ends[256], k = 0;
    for (int i = 0; i < s->n;) {
        int j = i;
        while (j + 1 < s->n && s->v[j + 1] == s->v[j] + 1)
            j++;
        if (j - i >= 2) {
            starts[k] = s->v[i];
            ends[k++] = s->v[j];
        } else {
            for (int x = i; x <= j; x++) {
                starts[k] = s->v[x];
                ends[k++] = s->v[x];
            }
        }
        i = j + 1;
    }
    for (int i = 0; i < k; i++) {
        sep(b, i, k);
        f(b, starts[i]);
        if (ends[i] != starts[i]) {
            put(b, " through ");
            f(b, ends[i]);
        }
    }
}

/* ---- seconds and minutes ---- */

/* "every minute", "at minute 5", "every 15 minutes starting at minute 5",
 * "at minutes 0, 15 and 45", ... */
static void unit_phrase(struct symbi_buf *b, const struct vset *s, const char *unit)
{
    int first = s->v[0], last = s->v[s->n - 1];
    switch (s->shape) {
    case S_FULL:
        (void)symbi_buf_printf(b, "every %s", unit);
        break;
    case S_SINGLE:
        (void)symbi_buf_printf(b, "at %s %d", unit, first);
        break;
    case S_RUN:
        (void)symbi_buf_printf(b, "every %s from %s %d through %d", unit, unit, first, last);
        break;
    case S_STEP:
        if (first == s->lo && last + s->step > s->hi)
            (void)symbi_buf_printf(b, "every %d %ss", s->step, unit);
        else if (last + s->step > s->hi)
            (void)symbi_buf_printf(b, "every %d %ss starting at %s %d", s->step, unit, unit, first);
        else
            (void)symbi_buf_printf(b, "every %d %ss from %s %d through %d", s->step, unit, unit,
                                   first, last);
        break;
    case S_LIST:
        (void)symbi_buf_printf(b, "at %ss ", unit);
        list_items(b, s, fmt_num);
        break;
    }
}

/* ---- hours ---- */

static void clock(struct symbi_buf *b, int h, int m, int s, bool with_s)
{
    if (with_s)
        (void)symbi_buf_printf(b, "%02d:%02d:%02d", h, m, s);
    else
        (void)symbi_buf_printf(b, "%02d:%02d", h, m);
}

/* The hours when minutes (or seconds) vary within them. */
static void hour_phrase(struct symbi_buf *b, const struct vset *h)
{
    int first = h->v[0], last = h->v[h->n - 1];
    switch (h->shape) {
    case S_FULL:
        break;
    case S_SINGLE:
    case S_RUN:
        (void)symbi_buf_printf(b, "between %02d:00 and %02d:59", first, last);
        break;
    case S_STEP:
        if (first == 0 && last + h->step > 23)
            (void)symbi_buf_printf(b, "every %d hours", h->step);
        else
            (void)symbi_buf_printf(b, "every %d hours between %02d:00 and %02d:59", h->step, first,
                                   last);
        break;
    case S_LIST:
        put(b, "during the hours ");
        list_items(b, h, fmt_hour);
        break;
    }
}

/* ---- the parts of a sentence ---- */

struct parts {
    struct symbi_buf *b;
    int n;
};

static void part(struct parts *p)
{
    if (p->n++ > 0)
        put(p->b, ", ");
}

static void time_of_day(struct parts *p, const struct symbi_cron *c)
{
    struct vset S, M, H;
    set_from_u64(&S, c->sec, 0, 59);
    set_from_u64(&M, c->min, 0, 59);
    set_from_u64(&H, c->hour, 0, 23);
    struct symbi_buf *b = p->b;
    if (S.shape == S_SINGLE && M.shape == S_SINGLE) {
        int s = S.v[0], m = M.v[0];
        bool ws = s != 0;
        part(p);
        if (H.shape == S_FULL) {
            (void)symbi_buf_printf(b, "every hour at minute %d", m);
            if (ws)
                (void)symbi_buf_printf(b, ", second %d", s);
        } else if ((H.shape == S_RUN || H.shape == S_STEP) && H.n > 4) {
            if (H.shape == S_RUN)
                put(b, "every hour from ");
            else
                (void)symbi_buf_printf(b, "every %d hours from ", H.step);
            clock(b, H.v[0], m, s, ws);
            put(b, " through ");
            clock(b, H.v[H.n - 1], m, s, ws);
        } else {
            put(b, "at ");
            for (int i = 0; i < H.n; i++) {
                sep(b, i, H.n);
                clock(b, H.v[i], m, s, ws);
            }
        }
        return;
    }
    if (!(S.shape == S_SINGLE && S.v[0] == 0)) {
        part(p);
        unit_phrase(b, &S, "second");
        if ((S.shape == S_SINGLE || S.shape == S_LIST) && M.shape == S_FULL)
            put(b, " past every minute");
    }
    if (M.shape != S_FULL || (S.shape == S_SINGLE && S.v[0] == 0)) {
        part(p);
        unit_phrase(b, &M, "minute");
        if ((M.shape == S_SINGLE || M.shape == S_LIST) && H.shape == S_FULL)
            put(b, " past every hour");
    }
    if (H.shape != S_FULL) {
        part(p);
        hour_phrase(b, &H);
    }
}

/* Days of the month: plain days and the L/W extensions. false when the
 * field does not restrict the day. */
static bool dom_phrase(struct symbi_buf *b, const struct symbi_cron *c)
{
    struct vset D;
    set_from_u64(&D, c->dom, 1, 31);
    bool extras = c->dom_last != 0 || c->dom_near != 0 || c->dom_lw;
    if (D.shape == S_FULL && !extras)
        return false;
    /* the items, counted first for the "and" */
    int n_items = 0;
    struct vset near;
    set_from_u64(&near, c->dom_near, 1, 31);
    if (D.n > 0)
        n_items++;
    for (int k = 0; k <= 30; k++)
        n_items += (int)(c->dom_last >> k & 1);
    n_items += near.n + (c->dom_lw ? 1 : 0);
    int i = 0;
    put(b, "on ");
    if (D.n > 0) {
        int first = D.v[0], last = D.v[D.n - 1];
        if (D.shape == S_FULL) {
            put(b, "every day");
        } else if (D.shape == S_SINGLE) {
            (void)symbi_buf_printf(b, "day %d", first);
        } else if (D.shape == S_RUN) {
            (void)symbi_buf_printf(b, "days %d through %d", first, last);
        } else if (D.shape == S_STEP && first == 1 && last + D.step > 31) {
            (void)symbi_buf_printf(b, "every %d%s day", D.step, ordinal_suffix(D.step));
        } else if (D.shape == S_STEP) {
            (void)symbi_buf_printf(b, "every %d%s day from day %d through %d", D.step,
                                   ordinal_suffix(D.step), first, last);
        } else {
            put(b, "days ");
            list_items(b, &D, fmt_num);
        }
        i++;
    }
    for (int k = 0; k <= 30; k++) {
        if (!(c->dom_last >> k & 1))
            continue;
        sep(b, i++, n_items);
        if (k == 0)
            put(b, "the last day");
        else if (k == 1)
            put(b, "the day before the last day");
        else
            (void)symbi_buf_printf(b, "the %d%s day before the last day", k, ordinal_suffix(k));
    }
    for (int k = 0; k < near.n; k++) {
        sep(b, i++, n_items);
        (void)symbi_buf_printf(b, "the weekday nearest day %d", near.v[k]);
    }
    if (c->dom_lw) {
        sep(b, i++, n_items);
        put(b, "the last weekday");
    }
    put(b, " of the month");
    return true;
}

/* Days of the week, Monday first. `plain_on` puts "on" before a plain list
 * (after "or"); otherwise "only on" as in "At 09:00, only on Monday". */
static bool dow_phrase(struct symbi_buf *b, const struct symbi_cron *c, bool plain_on)
{
    int order[7], n = 0;
    for (int k = 1; k <= 7; k++)
        if (c->dow >> (k % 7) & 1)
            order[n++] = k; /* 1..7, 7 = Sunday */
    int n_ext = 0;
    for (int d = 0; d < 7; d++) {
        n_ext += c->dow_last >> d & 1;
        for (int k = 1; k <= 5; k++)
            n_ext += c->dow_nth[k] >> d & 1;
    }
    if (n == 7 && n_ext == 0)
        return false;
    /* runs of three or more days read "Monday through Wednesday" */
    int starts[7], ends[7], k = 0;
    for (int x = 0; x < n;) {
        int y = x;
        while (y + 1 < n && order[y + 1] == order[y] + 1)
            y++;
        if (y - x >= 2) {
            starts[k] = order[x];
            ends[k++] = order[y];
        } else {
            for (int z = x; z <= y; z++) {
                starts[k] = order[z];
                ends[k++] = order[z];
            }
        }
        x = y + 1;
    }
    int items = k + n_ext;
    if (items == 1 && k == 1 && starts[0] != ends[0]) {
        (void)symbi_buf_printf(b, "%s%s through %s", plain_on ? "on " : "", dow_full[starts[0] % 7],
                               dow_full[ends[0] % 7]);
        return true;
    }
    put(b, n_ext == 0 && !plain_on ? "only on " : "on ");
    int i = 0;
    for (int z = 0; z < k; z++) {
        sep(b, i++, items);
        put(b, dow_full[starts[z] % 7]);
        if (ends[z] != starts[z])
            (void)symbi_buf_printf(b, " through %s", dow_full[ends[z] % 7]);
    }
    for (int nth = 1; nth <= 5; nth++) {
        for (int d = 1; d <= 7; d++) {
            if (c->dow_nth[nth] >> (d % 7) & 1) {
                sep(b, i++, items);
                (void)symbi_buf_printf(b, "the %s %s of the month", nth_word[nth], dow_full[d % 7]);
            }
        }
    }
    for (int d = 1; d <= 7; d++) {
        if (c->dow_last >> (d % 7) & 1) {
            sep(b, i++, items);
            (void)symbi_buf_printf(b, "the last %s of the month", dow_full[d % 7]);
        }
    }
    return true;
}

/* One day of one month, every year ("on January 1"): true when written. */
static bool one_date(struct parts *p, const struct symbi_cron *c)
{
    if (c->dom_last != 0 || c->dom_near != 0 || c->dom_lw || (c->dow & 0x7f) != 0x7f ||
        !c->dow_star || c->dow_last != 0)
        return false;
    for (int k = 1; k <= 5; k++)
        if (c->dow_nth[k] != 0)
            return false;
    struct vset D, M;
    set_from_u64(&D, c->dom, 1, 31);
    set_from_u64(&M, c->month, 1, 12);
    if (D.shape != S_SINGLE || M.shape != S_SINGLE)
        return false;
    part(p);
    (void)symbi_buf_printf(p->b, "on %s %d", month_full[M.v[0] - 1], D.v[0]);
    return true;
}

static void days(struct parts *p, const struct symbi_cron *c)
{
    struct symbi_buf dom, dow;
    symbi_buf_init(&dom, 1024);
    symbi_buf_init(&dow, 1024);
    bool either = !c->dom_star && !c->dow_star; /* Vixie: a day matches if either matches */
    bool has_dom = dom_phrase(&dom, c);
    bool has_dow = dow_phrase(&dow, c, either && has_dom);
    if (has_dom && has_dow && either) {
        part(p);
        (void)symbi_buf_printf(p->b, "%s or %s", symbi_buf_str(&dom), symbi_buf_str(&dow));
    } else {
        if (has_dom) {
            part(p);
            put(p->b, symbi_buf_str(&dom));
        }
        if (has_dow) {
            part(p);
            put(p->b, symbi_buf_str(&dow));
        }
    }
    symbi_buf_cleanup(&dom);
    symbi_buf_cleanup(&dow);
}

static void months(struct parts *p, const struct symbi_cron *c)
{
    struct vset M;
    set_from_u64(&M, (uint64_t)c->month >> 1, 0, 11);
    for (int i = 0; i < M.n; i++)
        M.v[i]++;
    M.lo = 1;
    M.hi = 12;
    if (M.shape == S_FULL)
        return;
    part(p);
    struct symbi_buf *b = p->b;
    int first = M.v[0], last = M.v[M.n - 1];
    if (M.shape == S_RUN) {
        (void)symbi_buf_printf(b, "%s through %s", month_full[first - 1], month_full[last - 1]);
    } else if (M.shape == S_STEP && M.n > 4) {
        (void)symbi_buf_printf(b, "every %d months from %s through %s", M.step,
                               month_full[first - 1], month_full[last - 1]);
    } else {
        put(b, "only in ");
        list_items(b, &M, fmt_month);
    }
}

static void years(struct parts *p, const struct symbi_cron *c)
{
    if (!c->has_year)
        return;
    struct vset ys, *y = &ys;
    set_from_bits(y, c->years, CRON_YEAR_MIN, CRON_YEAR_MAX, CRON_YEAR_MIN);
    if (y->shape == S_FULL)
        return;
    part(p);
    int first = y->v[0], last = y->v[y->n - 1];
    if (y->shape == S_RUN)
        (void)symbi_buf_printf(p->b, "%d through %d", first, last);
    else if (y->shape == S_STEP && y->n > 4 && last + y->step > y->hi)
        (void)symbi_buf_printf(p->b, "every %d years starting in %d", y->step, first);
    else if (y->shape == S_STEP && y->n > 4)
        (void)symbi_buf_printf(p->b, "every %d years from %d through %d", y->step, first, last);
    else {
        put(p->b, "only in ");
        list_items(p->b, y, fmt_num);
    }
}

/* "1 hour and 30 minutes" */
static void interval(struct symbi_buf *b, int64_t s)
{
    static const char *const names[] = {"day", "hour", "minute", "second"};
    int64_t q[4] = {s / 86400, s % 86400 / 3600, s % 3600 / 60, s % 60};
    int n = 0, k = 0;
    for (int i = 0; i < 4; i++)
        n += q[i] != 0;
    for (int i = 0; i < 4; i++) {
        if (q[i] == 0)
            continue;
        sep(b, k++, n);
        (void)symbi_buf_printf(b, "%lld %s%s", (long long)q[i], names[i], q[i] == 1 ? "" : "s");
    }
}

void cron_describe_text(const struct symbi_cron *c, const char *zone, struct symbi_buf *b)
{
    if (c->every_s > 0) {
        if (c->every_s == 1 || c->every_s == 60 || c->every_s == 3600 || c->every_s == 86400)
            (void)symbi_buf_printf(b, "Every %s",
                                   c->every_s == 1      ? "second"
                                   : c->every_s == 60   ? "minute"
                                   : c->every_s == 3600 ? "hour"
                                                        : "day");
        else {
            put(b, "Every ");
            interval(b, c->every_s);
        }
        put(b, ", counted from the job's creation or last fire");
        return;
    }
    size_t start = b->len;
    struct parts p = {b, 0};
    time_of_day(&p, c);
    if (!one_date(&p, c)) {
        days(&p, c);
        months(&p, c);
    }
    years(&p, c);
    if (b->data != NULL && b->len > start && b->data[start] >= 'a' && b->data[start] <= 'z')
        b->data[start] = (char)(b->data[start] - 'a' + 'A');
    (void)symbi_buf_printf(b, " (%s)", zone != NULL && *zone != '\0' ? zone : "UTC");
}
