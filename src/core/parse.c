/* parse.c - checked parsing of integers, durations and booleans; never
 * atoi or sscanf, every value bounded. */
#include "symbi/core.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int symbi_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (s == NULL)
        return SYMBI_EINVAL;
    const char *p = s;
    bool neg = false;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (!isdigit((unsigned char)*p))
        return SYMBI_EINVAL;
    uint64_t v = 0;
    bool overflow = false;
    for (; *p != '\0'; p++) {
        if (*p == '_' && isdigit((unsigned char)p[-1]) && isdigit((unsigned char)p[1]))
            continue;
        if (!isdigit((unsigned char)*p))
            return SYMBI_EINVAL;
        unsigned digit = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - digit) / 10)
            overflow = true;
        else
            v = v * 10 + digit;
    }
    if (overflow || v > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
        return SYMBI_ERANGE;
    int64_t r;
    if (neg)
        r = v == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)v;
    else
        r = (int64_t)v;
    if (r < min || r > max)
        return SYMBI_ERANGE;
    *out = r;
    return 0;
}

int symbi_parse_int(const char *s, int min, int max, int *out)
{
    int64_t v;
    int rc = symbi_parse_i64(s, min, max, &v);
    if (rc == 0)
        *out = (int)v;
    return rc;
}

struct unit {
    const char *name;
    int64_t ms;
};

static const struct unit units[] = {
    {"ms", 1},
    {"msec", 1},
    {"millisecond", 1},
    {"milliseconds", 1},
    {"s", 1000},
    {"sec", 1000},
    {"secs", 1000},
    {"second", 1000},
    {"seconds", 1000},
    {"m", 60000},
    {"min", 60000},
    {"mins", 60000},
    {"minute", 60000},
    {"minutes", 60000},
    {"h", 3600000},
    {"hr", 3600000},
    {"hrs", 3600000},
    {"hour", 3600000},
    {"hours", 3600000},
    {"d", 86400000},
    {"day", 86400000},
    {"days", 86400000},
    {"w", 604800000},
    {"week", 604800000},
    {"weeks", 604800000},
};

#define DURATION_MAX_MS (100LL * 366 * 86400000LL)

int symbi_parse_duration_ms(const char *s, int64_t *out_ms)
{
    if (s == NULL)
        return SYMBI_EINVAL;
    const char *p = s;
    while (*p == ' ')
        p++;
    if (*p == '\0')
        return SYMBI_EINVAL;
    double total = 0;
    int parts = 0;
    while (*p != '\0') {
        /* number: digits with an optional fraction */
        if (!isdigit((unsigned char)*p))
            return SYMBI_EINVAL;
        double v = 0;
        int ndig = 0;
        while (isdigit((unsigned char)*p) || (*p == '_' && ndig > 0)) {
            if (*p != '_') {
                v = v * 10 + (*p - '0');
                if (++ndig > 15)
                    return SYMBI_ERANGE;
            }
            p++;
        }
        /* "5.minutes" is the upstream spelling; "1.5h" is a fraction */
        if (*p == '.' && isdigit((unsigned char)p[1])) {
            p++;
            double scale = 0.1;
            while (isdigit((unsigned char)*p)) {
                v += (*p - '0') * scale;
                scale /= 10;
                p++;
            }
        } else if (*p == '.' && isalpha((unsigned char)p[1])) {
            p++;
        }
        while (*p == ' ')
            p++;
        const char *u = p;
        while (isalpha((unsigned char)*p))
            p++;
        size_t ulen = (size_t)(p - u);
        int64_t unit_ms = 1000; /* a bare number is seconds */
        if (ulen > 0) {
            unit_ms = 0;
            for (size_t i = 0; i < SYMBI_ARRAY_LEN(units); i++) {
                if (strlen(units[i].name) == ulen && strncasecmp(units[i].name, u, ulen) == 0) {
                    unit_ms = units[i].ms;
                    break;
                }
            }
            if (unit_ms == 0)
                return SYMBI_EINVAL;
        } else if (parts > 0) {
            return SYMBI_EINVAL;
        }
        total += v * (double)unit_ms;
        if (total > (double)DURATION_MAX_MS)
            return SYMBI_ERANGE;
        parts++;
        while (*p == ' ')
            p++;
        if (ulen == 0 && *p != '\0')
            return SYMBI_EINVAL;
    }
    *out_ms = (int64_t)(total + 0.5);
    return 0;
}

char *symbi_duration_fmt(int64_t ms, char out[32])
{
    if (ms < 0) {
        snprintf(out, 32, "%lldms", (long long)ms);
        return out;
    }
    if (ms % 1000 != 0 || ms == 0) {
        snprintf(out, 32, "%lldms", (long long)ms);
        return out;
    }
    int64_t s = ms / 1000;
    int64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
    size_t n = 0;
    out[0] = '\0';
    if (d)
        n += (size_t)snprintf(out + n, 32 - n, "%lldd", (long long)d);
    if (h)
        n += (size_t)snprintf(out + n, 32 - n, "%lldh", (long long)h);
    if (m)
        n += (size_t)snprintf(out + n, 32 - n, "%lldm", (long long)m);
    if (sec)
        snprintf(out + n, 32 - n, "%llds", (long long)sec);
    return out;
}

int symbi_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    if (s == NULL)
        return SYMBI_EINVAL;
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return SYMBI_EINVAL;
}

int symbi_hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
