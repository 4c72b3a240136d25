/* cron_parse.c - parses cron expressions (SPEC §3.1) into bit sets per
 * field: 5/6/7 fields, names, steps, ?, Quartz L/W/#, macros, @every. */
#include "cron/cron_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { F_SEC, F_MIN, F_HOUR, F_DOM, F_MONTH, F_DOW, F_YEAR };

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const dow_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

struct field_def {
    const char *name;
    int lo, hi;
    const char *const *names; /* three-letter names for lo, lo+1, ... */
    int n_names;
};

static const struct field_def fields[] = {
    [F_SEC] = {"second", 0, 59, NULL, 0},
    [F_MIN] = {"minute", 0, 59, NULL, 0},
    [F_HOUR] = {"hour", 0, 23, NULL, 0},
    [F_DOM] = {"day-of-month", 1, 31, NULL, 0},
    [F_MONTH] = {"month", 1, 12, month_names, 12},
    [F_DOW] = {"day-of-week", 0, 7, dow_names, 7},
    [F_YEAR] = {"year", CRON_YEAR_MIN, CRON_YEAR_MAX, NULL, 0},
};

/* which fields the 5, 6 and 7 field forms hold, in order */
static const int layout5[] = {F_MIN, F_HOUR, F_DOM, F_MONTH, F_DOW};
static const int layout6[] = {F_SEC, F_MIN, F_HOUR, F_DOM, F_MONTH, F_DOW};
static const int layout7[] = {F_SEC, F_MIN, F_HOUR, F_DOM, F_MONTH, F_DOW, F_YEAR};

struct macro {
    const char *name;
    const char *expansion;
};

static const struct macro macros[] = {
    {"yearly", "0 0 1 1 *"}, {"annually", "0 0 1 1 *"}, {"monthly", "0 0 1 * *"},
    {"weekly", "0 0 * * 0"}, {"daily", "0 0 * * *"},    {"midnight", "0 0 * * *"},
    {"hourly", "0 * * * *"},
};

struct pctx {
    const char *expr; /* the whole expression, for messages */
    struct symbi_err *err;
    struct symbi_cron *c;
    uint64_t bits[4]; /* the field being parsed: bit (value - field lo) */
};

/* The expression made safe to quote: control and non-ASCII bytes as '?'. */
static void printable(const char *s, char *out, size_t cap)
{
    size_t i = 0;
    for (; s[i] != '\0' && i + 1 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[i] = ch < 0x20 || ch >= 0x7f ? '?' : (char)ch;
    }
    out[i] = '\0';
}

/* Fails with `cron: <what> at position <pos+1> in "<expr>"`. */
static int fail_at(struct pctx *p, int code, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail_at(struct pctx *p, int code, size_t pos, const char *fmt, ...)
{
    char what[160], quoted[SYMBI_CRON_MAX_LEN + 1];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    printable(p->expr, quoted, sizeof quoted);
    return symbi_err_set(p->err, code, "cron: %s at position %zu in \"%s\"", what, pos + 1, quoted);
}

static void char_text(char ch, char out[8])
{
    unsigned char u = (unsigned char)ch;
    if (u >= 0x21 && u < 0x7f)
        snprintf(out, 8, "'%c'", ch);
    else
        snprintf(out, 8, "\\x%02x", u);
}

static int unexpected(struct pctx *p, int f, const char *s, size_t i, size_t end)
{
    char ch[8];
    if (i >= end)
        return fail_at(p, SYMBI_EPARSE, i, "%s ends early", fields[f].name);
    char_text(s[i], ch);
    return fail_at(p, SYMBI_EPARSE, i, "unexpected character %s in %s", ch, fields[f].name);
}

static bool is_sep(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Reads decimal digits at s[*i] into *v; the token must fit 9 digits to be
 * in range, longer ones are reported with their text. Returns false when
 * there is no digit. */
static bool read_digits(const char *s, size_t *i, size_t end, long *v, size_t *len)
{
    size_t j = *i;
    long x = 0;
    while (j < end && isdigit((unsigned char)s[j])) {
        if (x < 1000000000L)
            x = x * 10 + (s[j] - '0');
        j++;
    }
    if (j == *i)
        return false;
    *len = j - *i;
    *v = *len > 9 ? 1000000000L : x;
    *i = j;
    return true;
}

/* A plain number in [lo, hi] (offsets, occurrences, steps). */
static int read_number(struct pctx *p, int f, const char *s, size_t *i, size_t end,
                       const char *what, long lo, long hi, long *out)
{
    size_t start = *i, len;
    long v;
    if (!read_digits(s, i, end, &v, &len))
        return unexpected(p, f, s, *i, end);
    if (v < lo || v > hi)
        return fail_at(p, SYMBI_ERANGE, start, "%s %s %.*s out of range %ld-%ld", fields[f].name,
                       what, (int)len, s + start, lo, hi);
    *out = v;
    return 0;
}

/* A value of field f: a number in the field's range or one of its names.
 * For day-of-week, a name directly followed by L ("FRIL") leaves the L. */
static int read_value(struct pctx *p, int f, const char *s, size_t *i, size_t end, long *out)
{
    const struct field_def *fd = &fields[f];
    size_t start = *i, len;
    long v;
    if (read_digits(s, i, end, &v, &len)) {
        if (v < fd->lo || v > fd->hi)
            return fail_at(p, SYMBI_ERANGE, start, "%s value %.*s out of range %d-%d", fd->name,
                           (int)len, s + start, fd->lo, fd->hi);
        *out = v;
        return 0;
    }
    if (fd->names == NULL || *i >= end || !isalpha((unsigned char)s[*i]))
        return unexpected(p, f, s, *i, end);
    size_t j = *i;
    while (j < end && isalpha((unsigned char)s[j]))
        j++;
    size_t n = j - start;
    if (n == 4 && f == F_DOW && (s[start + 3] == 'L' || s[start + 3] == 'l'))
        n = 3;
    for (int k = 0; n == 3 && k < fd->n_names; k++) {
        if (strncasecmp(s + start, fd->names[k], 3) == 0) {
            *out = fd->lo + k;
            *i = start + 3;
            return 0;
        }
    }
    return fail_at(p, SYMBI_EPARSE, start, "unknown %s name \"%.*s\"", fd->name, (int)(j - start),
                   s + start);
}

static void set_range(struct pctx *p, int f, long lo, long hi, long step)
{
    for (long v = lo; v <= hi; v += step) {
        long b = v - fields[f].lo;
        if (f == F_DOW && v == 7)
            b = 0; /* Sunday is 0 or 7 */
        p->bits[b / 64] |= 1ull << (b % 64);
    }
}

static int expect_end(struct pctx *p, int f, const char *s, size_t i, size_t end)
{
    return i == end ? 0 : unexpected(p, f, s, i, end);
}

/* One list item of field f: s[start, end). */
static int parse_item(struct pctx *p, int f, const char *s, size_t start, size_t end)
{
    const struct field_def *fd = &fields[f];
    struct symbi_cron *c = p->c;
    size_t i = start;
    long lo, hi, step = 1, n;
    int rc;
    if (i == end)
        return fail_at(p, SYMBI_EPARSE, i, "empty list item in %s", fd->name);
    if (s[i] == '*') {
        i++;
        lo = fd->lo;
        hi = fd->hi;
    } else if (s[i] == '?') {
        if (f != F_DOM && f != F_DOW)
            return fail_at(p, SYMBI_EPARSE, i,
                           "'?' is only allowed in day-of-month and "
                           "day-of-week, not in %s",
                           fd->name);
        set_range(p, f, fd->lo, fd->hi, 1);
        return expect_end(p, f, s, i + 1, end);
    } else if (f == F_DOM && (s[i] == 'L' || s[i] == 'l')) {
        i++;
        c->extended = true;
        if (i == end) {
            c->dom_last |= 1u;
            return 0;
        }
        if (s[i] == 'W' || s[i] == 'w') {
            c->dom_lw = true;
            return expect_end(p, f, s, i + 1, end);
        }
        if (s[i] != '-')
            return unexpected(p, f, s, i, end);
        i++;
        if ((rc = read_number(p, f, s, &i, end, "offset", 0, 30, &n)) != 0)
            return rc;
        c->dom_last |= 1u << n;
        return expect_end(p, f, s, i, end);
    } else if (f == F_DOW && (s[i] == 'L' || s[i] == 'l') && i + 1 == end) {
        return fail_at(p, SYMBI_EPARSE, i,
                       "'L' in day-of-week needs a weekday before it, as in 5L");
    } else {
        if ((rc = read_value(p, f, s, &i, end, &lo)) != 0)
            return rc;
        hi = lo;
        if (i < end && f == F_DOM && (s[i] == 'W' || s[i] == 'w')) {
            c->dom_near |= 1u << lo;
            c->extended = true;
            return expect_end(p, f, s, i + 1, end);
        }
        if (i < end && f == F_DOW && (s[i] == 'L' || s[i] == 'l')) {
            c->dow_last |= (uint8_t)(1u << (lo % 7));
            c->extended = true;
            return expect_end(p, f, s, i + 1, end);
        }
        if (i < end && f == F_DOW && s[i] == '#') {
            i++;
            if ((rc = read_number(p, f, s, &i, end, "occurrence", 1, 5, &n)) != 0)
                return rc;
            c->dow_nth[n] |= (uint8_t)(1u << (lo % 7));
            c->extended = true;
            return expect_end(p, f, s, i, end);
        }
        if (i < end && s[i] == '-') {
            size_t bpos = ++i;
            if ((rc = read_value(p, f, s, &i, end, &hi)) != 0)
                return rc;
            if (f == F_DOW && hi == 0 && lo > 0)
                hi = 7; /* FRI-SUN */
            if (lo > hi)
                return fail_at(p, SYMBI_ERANGE, bpos, "%s range %ld-%ld is reversed", fd->name, lo,
                               hi);
        } else if (i < end && s[i] == '/') {
            hi = fd->hi; /* a/n: from a to the field's end */
        }
    }
    if (i < end && s[i] == '/') {
        i++;
        if ((rc = read_number(p, f, s, &i, end, "step", 1, fd->hi - fd->lo + 1, &step)) != 0)
            return rc;
    }
    if ((rc = expect_end(p, f, s, i, end)) != 0)
        return rc;
    set_range(p, f, lo, hi, step);
    return 0;
}

/* Field f: s[start, end), a comma-separated list. */
static int parse_field(struct pctx *p, int f, const char *s, size_t start, size_t end)
{
    struct symbi_cron *c = p->c;
    memset(p->bits, 0, sizeof p->bits);
    size_t i = start;
    for (;;) {
        size_t j = i;
        while (j < end && s[j] != ',')
            j++;
        int rc = parse_item(p, f, s, i, j);
        if (rc != 0)
            return rc;
        if (j == end)
            break;
        i = j + 1;
        if (i == end)
            return fail_at(p, SYMBI_EPARSE, i, "empty list item in %s", fields[f].name);
    }
    bool star = s[start] == '*' || s[start] == '?';
    switch (f) {
    case F_SEC:
        c->sec = p->bits[0];
        break;
    case F_MIN:
        c->min = p->bits[0];
        break;
    case F_HOUR:
        c->hour = (uint32_t)p->bits[0];
        c->hour_star = star;
        break;
    case F_DOM:
        c->dom = (uint32_t)(p->bits[0] << 1);
        c->dom_star = star;
        break;
    case F_MONTH:
        c->month = (uint16_t)(p->bits[0] << 1);
        break;
    case F_DOW:
        c->dow = (uint8_t)(p->bits[0] & 0x7f);
        c->dow_star = star;
        break;
    case F_YEAR:
        memcpy(c->years, p->bits, sizeof c->years);
        c->has_year = true;
        break;
    default:
        break;
    }
    return 0;
}

static int parse_every(struct pctx *p, const char *s, size_t i, size_t end)
{
    while (i < end && is_sep(s[i]))
        i++;
    if (i == end)
        return fail_at(p, SYMBI_EPARSE, i, "@every needs a duration such as \"5m\"");
    char text[SYMBI_CRON_MAX_LEN + 1];
    size_t n = end - i;
    memcpy(text, s + i, n);
    text[n] = '\0';
    int64_t ms;
    int rc = symbi_parse_duration_ms(text, &ms);
    if (rc != 0)
        return fail_at(p, rc == SYMBI_ERANGE ? SYMBI_ERANGE : SYMBI_EPARSE, i,
                       "bad @every duration \"%.64s\"", text);
    if (ms < 1000 || ms % 1000 != 0)
        return fail_at(p, SYMBI_ERANGE, i,
                       "@every duration \"%.64s\" must be a whole number of seconds, at least 1s",
                       text);
    p->c->every_s = ms / 1000;
    return 0;
}

static int parse_macro(struct pctx *p, const char *s, size_t start, size_t end)
{
    size_t i = start + 1, j = i;
    while (j < end && !is_sep(s[j]))
        j++;
    size_t n = j - i;
    if (n == 5 && strncasecmp(s + i, "every", 5) == 0)
        return parse_every(p, s, j, end);
    for (size_t k = 0; k < SYMBI_ARRAY_LEN(macros); k++) {
        if (strlen(macros[k].name) != n || strncasecmp(s + i, macros[k].name, n) != 0)
            continue;
        while (j < end && is_sep(s[j]))
            j++;
        if (j != end)
            return fail_at(p, SYMBI_EPARSE, j, "unexpected text after @%s", macros[k].name);
        const char *x = macros[k].expansion;
        const int *layout = layout5;
        size_t a = 0;
        for (int f = 0; f < 5; f++) {
            size_t b = a;
            while (x[b] != '\0' && x[b] != ' ')
                b++;
            int rc = parse_field(p, layout[f], x, a, b);
            if (rc != 0)
                return rc;
            a = x[b] == ' ' ? b + 1 : b;
        }
        p->c->sec = 1; /* second 0 */
        return 0;
    }
    return fail_at(p, SYMBI_EPARSE, start, "unknown macro \"%.*s\"", (int)(n + 1 > 32 ? 32 : n + 1),
                   s + start);
}

/* true when some day of some year matches the month, day and year fields
 * (SPEC §3.1: an expression that can never fire, `0 0 30 2 *`, is an
 * error). The common shapes answer at once; the rest scan the months of a
 * whole Gregorian cycle (400 years repeat weekdays and leap years) or of
 * the named years. Seconds, minutes and hours always hold a value. */
static bool can_fire(const struct symbi_cron *c)
{
    if (c->every_s > 0)
        return true;
    if (!c->has_year && !c->extended) {
        if (c->dom_star) /* both must match: every month has every weekday */
            return c->dow != 0;
        if (c->dow_star) { /* a plain day 1-28 exists in every month */
            if ((c->dom & 0x1FFFFFFEu) != 0)
                return true;
        } else if (c->dow != 0) { /* either matches */
            return true;
        }
    }
    int64_t y0 = c->has_year ? CRON_YEAR_MIN : 2000;
    int64_t y1 = c->has_year ? CRON_YEAR_MAX : 2399;
    for (int64_t y = y0; y <= y1; y++) {
        if (c->has_year) {
            unsigned b = (unsigned)(y - CRON_YEAR_MIN);
            if (!((c->years[b / 64] >> (b % 64)) & 1))
                continue;
        }
        for (unsigned m = 1; m <= 12; m++)
            if (((c->month >> m) & 1) && cron_day_mask(c, y, m) != 0)
                return true;
    }
    return false;
}

int symbi_cron_parse(const char *expr, struct symbi_cron **out, struct symbi_err *err)
{
    if (expr == NULL)
        return symbi_err_set(err, SYMBI_EINVAL, "cron: no expression");
    size_t len = strnlen(expr, SYMBI_CRON_MAX_LEN + 1);
    if (len > SYMBI_CRON_MAX_LEN)
        return symbi_err_set(err, SYMBI_ETOOBIG, "cron: expression longer than %d characters",
                             SYMBI_CRON_MAX_LEN);
    struct symbi_cron *c = calloc(1, sizeof *c);
    if (c == NULL)
        return symbi_err_set(err, SYMBI_ENOMEM, "cron: out of memory");
    struct pctx p = {.expr = expr, .err = err, .c = c};
    size_t start = 0, end = len;
    while (start < end && is_sep(expr[start]))
        start++;
    while (end > start && is_sep(expr[end - 1]))
        end--;
    int rc;
    if (start == end) {
        rc = symbi_err_set(err, SYMBI_EPARSE, "cron: empty expression");
    } else if (expr[start] == '@') {
        rc = parse_macro(&p, expr, start, end);
    } else {
        size_t fs[8], fe[8];
        int n = 0;
        for (size_t i = start; i < end;) {
            size_t j = i;
            while (j < end && !is_sep(expr[j]))
                j++;
            if (n < 8) {
                fs[n] = i;
                fe[n] = j;
            }
            n++;
            while (j < end && is_sep(expr[j]))
                j++;
            i = j;
        }
        if (n < 5 || n > 7) {
            char quoted[SYMBI_CRON_MAX_LEN + 1];
            printable(expr, quoted, sizeof quoted);
            rc = symbi_err_set(err, SYMBI_EPARSE,
                               "cron: expected 5, 6 or 7 fields but got %d in \"%s\"", n, quoted);
        } else {
            const int *layout = n == 5 ? layout5 : n == 6 ? layout6 : layout7;
            rc = 0;
            for (int f = 0; f < n && rc == 0; f++)
                rc = parse_field(&p, layout[f], expr, fs[f], fe[f]);
            if (n == 5)
                c->sec = 1;
        }
    }
    if (rc == 0 && !can_fire(c)) {
        char quoted[SYMBI_CRON_MAX_LEN + 1];
        printable(expr, quoted, sizeof quoted);
        rc = symbi_err_set(err, SYMBI_EINVAL,
                           "cron: \"%s\" can never fire: no day%s matches its day-of-month, "
                           "day-of-week and month fields",
                           quoted, c->has_year ? " of the years it names" : "");
    }
    if (rc != 0) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void symbi_cron_free(struct symbi_cron *c)
{
    free(c);
}

int symbi_cron_validate(const char *expr, struct symbi_err *err)
{
    struct symbi_cron *c;
    int rc = symbi_cron_parse(expr, &c, err);
    if (rc == 0)
        symbi_cron_free(c);
    return rc;
}
