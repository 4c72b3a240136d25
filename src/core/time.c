/* time.c - the wall and monotonic clocks (real and fake), proleptic
 * Gregorian date arithmetic, and RFC 3339 formatting and parsing. */
#include "symbi/core.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t system_wall_ms(const struct symbi_clock *c)
{
    (void)c;
    return symbi_now_wall_ms();
}

static int64_t system_mono_ms(const struct symbi_clock *c)
{
    (void)c;
    return symbi_now_mono_ms();
}

const struct symbi_clock symbi_clock_system = {system_wall_ms, system_mono_ms, NULL};

int64_t symbi_now_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t symbi_now_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void symbi_mono_deadline(int64_t ms, struct timespec *out)
{
    clock_gettime(CLOCK_MONOTONIC, out);
    if (ms < 0)
        ms = 0;
    int64_t ns = (int64_t)out->tv_nsec + (ms % 1000) * 1000000LL;
    out->tv_sec += (time_t)(ms / 1000 + ns / 1000000000LL);
    out->tv_nsec = (long)(ns % 1000000000LL);
}

static int64_t fake_wall_ms(const struct symbi_clock *c)
{
    return ((const struct symbi_fake_clock *)c)->wall;
}

static int64_t fake_mono_ms(const struct symbi_clock *c)
{
    return ((const struct symbi_fake_clock *)c)->mono;
}

void symbi_fake_clock_init(struct symbi_fake_clock *fc, int64_t wall_ms)
{
    fc->base.wall_ms = fake_wall_ms;
    fc->base.mono_ms = fake_mono_ms;
    fc->base.ud = fc;
    fc->wall = wall_ms;
    fc->mono = 1000000;
}

void symbi_fake_clock_advance(struct symbi_fake_clock *fc, int64_t ms)
{
    fc->wall += ms;
    fc->mono += ms;
}

/* Howard Hinnant's days_from_civil / civil_from_days algorithms. */
int64_t symbi_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void symbi_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

char *symbi_time_fmt(int64_t ms, char out[SYMBI_TIME_STRLEN])
{
    if (ms == SYMBI_TIME_NONE) {
        out[0] = '\0';
        return out;
    }
    int64_t secs = floor_div(ms, 1000);
    int frac = (int)(ms - secs * 1000);
    int64_t days = floor_div(secs, 86400);
    int64_t rem = secs - days * 86400;
    int64_t y;
    unsigned m, d;
    symbi_civil_from_days(days, &y, &m, &d);
    int hh = (int)(rem / 3600), mi = (int)(rem / 60 % 60), ss = (int)(rem % 60);
    if (y >= 0 && y <= 9999) {
        /* the common case by hand: snprintf was most of the cost of the
         * audit event of a job insert (callgrind) */
        int v[6] = {(int)y, (int)m, (int)d, hh, mi, ss};
        char *o = out;
        for (int i = 0; i < 6; i++) {
            if (i == 0) {
                *o++ = (char)('0' + v[0] / 1000);
                *o++ = (char)('0' + v[0] / 100 % 10);
            }
            *o++ = (char)('0' + v[i] / 10 % 10);
            *o++ = (char)('0' + v[i] % 10);
            *o++ = "--T::Z"[i];
        }
        if (frac != 0) {
            o[-1] = '.';
            *o++ = (char)('0' + frac / 100);
            *o++ = (char)('0' + frac / 10 % 10);
            *o++ = (char)('0' + frac % 10);
            *o++ = 'Z';
        }
        *o = '\0';
        return out;
    }
    if (frac != 0)
        snprintf(out, SYMBI_TIME_STRLEN, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", (long long)y, m,
                 d, hh, mi, ss, frac);
    else
        snprintf(out, SYMBI_TIME_STRLEN, "%04lld-%02u-%02uT%02d:%02d:%02dZ", (long long)y, m, d, hh,
                 mi, ss);
    return out;
}

/* Reads exactly n digits at *p into *v. */
static int take_digits(const char **p, int n, int *v)
{
    int x = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        x = x * 10 + (c - '0');
    }
    *p += n;
    *v = x;
    return 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

int symbi_time_parse(const char *s, int64_t *out_ms)
{
    if (s == NULL)
        return SYMBI_EINVAL;
    const char *p = s;
    int y, mo, d, hh = 0, mi = 0, ss = 0, ms = 0;
    if (take_digits(&p, 4, &y) || *p++ != '-' || take_digits(&p, 2, &mo) || *p++ != '-' ||
        take_digits(&p, 2, &d))
        return SYMBI_EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return SYMBI_EINVAL;
    int offset_min = 0;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if (take_digits(&p, 2, &hh) || *p++ != ':' || take_digits(&p, 2, &mi))
            return SYMBI_EINVAL;
        if (*p == ':') {
            p++;
            if (take_digits(&p, 2, &ss))
                return SYMBI_EINVAL;
            if (*p == '.' || *p == ',') {
                p++;
                int digits = 0;
                while (*p >= '0' && *p <= '9') {
                    if (digits < 3)
                        ms = ms * 10 + (*p - '0');
                    digits++;
                    p++;
                }
                if (digits == 0 || digits > 9)
                    return SYMBI_EINVAL;
                for (int i = digits; i < 3; i++)
                    ms *= 10;
            }
        }
        if (hh > 23 || mi > 59 || ss > 60)
            return SYMBI_EINVAL;
        if (ss == 60)
            ss = 59; /* a leap second reads as the second before it */
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1;
            int oh, om;
            if (take_digits(&p, 2, &oh))
                return SYMBI_EINVAL;
            if (*p == ':')
                p++;
            if (take_digits(&p, 2, &om) || oh > 23 || om > 59)
                return SYMBI_EINVAL;
            offset_min = sign * (oh * 60 + om);
        }
    }
    if (*p != '\0')
        return SYMBI_EINVAL;
    int64_t days = symbi_days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + hh * 3600 + mi * 60 + ss - (int64_t)offset_min * 60;
    *out_ms = secs * 1000 + ms;
    return 0;
}
