/* zone.c - IANA time zones read from TZif files (RFC 8536, versions 1-4)
 * with the POSIX TZ footer rule, each loaded once into an immutable table
 * and kept in a lock-free cache; no setenv("TZ"), no localtime. */
#include "cron/cron_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TZ_DEFAULT_DIR     "/usr/share/zoneinfo"
#define TZ_FILE_MAX        (512 * 1024)
#define TZ_NAME_MAX        255
#define TZ_TABLE_LAST_YEAR 2200 /* the footer rule is tabulated up to here */
#define DAY                86400
/* No real zone changes after year 9999 (zic writes up to 2037 plus the
 * footer rule): a later transition is malformed data, and would carry the
 * rule's computations past int64 (fuzzing found periods running backwards). */
#define TZ_LAST_INSTANT 253402300799LL /* 9999-12-31T23:59:59Z */

/* One date of a POSIX TZ rule: Jn (kind 'J'), n ('N') or Mm.w.d ('M'),
 * with its local time of day in seconds. */
struct tz_date {
    char kind;
    int m, w, d; /* 'M': month, week 1-5, weekday; 'J'/'N': the day in d */
    int32_t time;
};

struct tz_rule {
    bool has_dst;
    int32_t std_off, dst_off; /* seconds east of UTC */
    struct tz_date start, end;
};

struct symbi_zone {
    struct symbi_zone *next; /* the cache chain */
    char *dir;
    char *name;
    size_t n;         /* transitions */
    int64_t *at;      /* UTC seconds, strictly ascending, each changing the offset */
    int32_t *off;     /* the offset from at[i] on */
    int32_t off0;     /* the offset before at[0] */
    int64_t dyn_from; /* from here on the rule is computed on the fly (INT64_MAX: never) */
    struct tz_rule rule;
};

static struct symbi_zone utc_zone = {.name = "UTC", .dyn_from = INT64_MAX};
static _Atomic(struct symbi_zone *) cache_head;
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- POSIX TZ rule strings ---------------------------------------------- */

static bool tz_name(const char **s)
{
    const char *p = *s;
    if (*p == '<') {
        p++;
        while (*p != '\0' && *p != '>')
            p++;
        if (*p != '>' || p - *s < 4)
            return false;
        *s = p + 1;
        return true;
    }
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    if (p - *s < 3)
        return false;
    *s = p;
    return true;
}

/* [+-]hh[:mm[:ss]] with hh up to max_h, as seconds. */
static bool tz_hms(const char **s, int max_h, int32_t *out)
{
    const char *p = *s;
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    int part[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        if (k > 0) {
            if (*p != ':')
                break;
            p++;
        }
        if (*p < '0' || *p > '9')
            return false;
        int v = 0, nd = 0;
        while (*p >= '0' && *p <= '9' && nd < 3) {
            v = v * 10 + (*p++ - '0');
            nd++;
        }
        part[k] = v;
    }
    if (part[0] > max_h || part[1] > 59 || part[2] > 59)
        return false;
    *out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
    *s = p;
    return true;
}

static bool tz_int(const char **s, int lo, int hi, int *out)
{
    const char *p = *s;
    int v = 0, nd = 0;
    while (*p >= '0' && *p <= '9' && nd < 4) {
        v = v * 10 + (*p++ - '0');
        nd++;
    }
    if (nd == 0 || v < lo || v > hi)
        return false;
    *out = v;
    *s = p;
    return true;
}

static bool tz_date_parse(const char **s, struct tz_date *d)
{
    const char *p = *s;
    if (*p == 'J') {
        p++;
        d->kind = 'J';
        if (!tz_int(&p, 1, 365, &d->d))
            return false;
    } else if (*p == 'M') {
        p++;
        d->kind = 'M';
        if (!tz_int(&p, 1, 12, &d->m) || *p++ != '.' || !tz_int(&p, 1, 5, &d->w) || *p++ != '.' ||
            !tz_int(&p, 0, 6, &d->d))
            return false;
    } else {
        d->kind = 'N';
        if (!tz_int(&p, 0, 365, &d->d))
            return false;
    }
    d->time = 7200;
    if (*p == '/') {
        p++;
        if (!tz_hms(&p, 167, &d->time))
            return false;
    }
    *s = p;
    return true;
}

/* Parses a TZ string such as "CET-1CEST,M3.5.0,M10.5.0/3". */
static bool tz_rule_parse(const char *s, struct tz_rule *r)
{
    int32_t v;
    memset(r, 0, sizeof *r);
    if (!tz_name(&s) || !tz_hms(&s, 24, &v))
        return false;
    r->std_off = -v;
    if (*s == '\0')
        return true;
    if (!tz_name(&s))
        return false;
    r->dst_off = r->std_off + 3600;
    if (*s != ',' && *s != '\0') {
        if (!tz_hms(&s, 24, &v))
            return false;
        r->dst_off = -v;
    }
    if (*s == '\0') { /* the POSIX default: US rules */
        r->start = (struct tz_date){'M', 3, 2, 0, 7200};
        r->end = (struct tz_date){'M', 11, 1, 0, 7200};
    } else {
        s++;
        if (!tz_date_parse(&s, &r->start) || *s++ != ',' || !tz_date_parse(&s, &r->end) ||
            *s != '\0')
            return false;
    }
    r->has_dst = true;
    return true;
}

/* The day (since 1970-01-01) a rule date falls on in year y. */
static int64_t tz_date_day(const struct tz_date *d, int64_t y)
{
    if (d->kind == 'J')
        return symbi_days_from_civil(y, 1, 1) + d->d - 1 + (cron_is_leap(y) && d->d >= 60);
    if (d->kind == 'N')
        return symbi_days_from_civil(y, 1, 1) + d->d;
    int64_t first = symbi_days_from_civil(y, (unsigned)d->m, 1);
    unsigned w1 = cron_weekday(first);
    int day = (int)((unsigned)d->d + 7 - w1) % 7 + (d->w - 1) * 7;
    int nd = (int)cron_days_in_month(y, (unsigned)d->m);
    while (day >= nd)
        day -= 7;
    return first + day;
}

struct tz_event {
    int64_t t;
    int32_t off;
    int kind; /* 0: DST ends, 1: DST starts (ends sort first at equal times) */
};

static int event_cmp(const void *a, const void *b)
{
    const struct tz_event *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->kind - y->kind;
}

/* The rule's offset changes in years [y0, y1], sorted, each changing the
 * offset; *initial is the offset before the first. Returns the count
 * (cap must hold 2 per year). */
static size_t rule_events(const struct tz_rule *r, int64_t y0, int64_t y1, struct tz_event *ev,
                          int32_t *initial)
{
    size_t n = 0;
    for (int64_t y = y0; y <= y1; y++) {
        ev[n++] = (struct tz_event){tz_date_day(&r->start, y) * DAY + r->start.time - r->std_off,
                                    r->dst_off, 1};
        ev[n++] = (struct tz_event){tz_date_day(&r->end, y) * DAY + r->end.time - r->dst_off,
                                    r->std_off, 0};
    }
    qsort(ev, n, sizeof *ev, event_cmp);
    *initial = ev[0].kind == 1 ? r->std_off : r->dst_off;
    size_t out = 0;
    int32_t cur = *initial;
    for (size_t i = 0; i < n; i++) {
        if (out > 0 && ev[out - 1].t == ev[i].t) {
            ev[out - 1].off = ev[i].off;
            int32_t before = out >= 2 ? ev[out - 2].off : *initial;
            if (ev[out - 1].off == before)
                out--;
        } else if (ev[i].off != cur) {
            ev[out++] = ev[i];
        }
        cur = out > 0 ? ev[out - 1].off : *initial;
    }
    return out;
}

/* The period holding t, computed from the rule alone. */
static void rule_period(const struct tz_rule *r, int64_t t, struct zone_period *p)
{
    int64_t y, d0 = cron_floor_div(t, DAY);
    unsigned m, d;
    symbi_civil_from_days(d0, &y, &m, &d);
    struct tz_event ev[6];
    int32_t initial;
    size_t n = rule_events(r, y - 1, y + 1, ev, &initial);
    size_t i = 0;
    while (i < n && ev[i].t <= t)
        i++;
    p->off = i > 0 ? ev[i - 1].off : initial;
    /* without a change in reach (DST all year), the window's edges bound
     * the period; an edge with the same offset on both sides is harmless */
    p->start = i > 0 ? ev[i - 1].t : symbi_days_from_civil(y - 1, 1, 1) * DAY;
    p->prev_off = i > 1 ? ev[i - 2].off : i == 1 ? initial : p->off;
    p->end = i < n ? ev[i].t : symbi_days_from_civil(y + 2, 1, 1) * DAY;
    p->next_off = i < n ? ev[i].off : p->off;
}

/* ---- lookups ------------------------------------------------------------ */

void symbi_zone_period(const struct symbi_zone *z, int64_t t, struct zone_period *p)
{
    if (t >= z->dyn_from) {
        rule_period(&z->rule, t, p);
        return;
    }
    size_t lo = 0, hi = z->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->at[mid] <= t)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t i = lo; /* at[i-1] <= t < at[i] */
    p->start = i > 0 ? z->at[i - 1] : INT64_MIN;
    p->off = i > 0 ? z->off[i - 1] : z->off0;
    p->prev_off = i >= 2 ? z->off[i - 2] : i == 1 ? z->off0 : p->off;
    p->end = i < z->n ? z->at[i] : INT64_MAX;
    p->next_off = i < z->n ? z->off[i] : p->off;
}

bool symbi_zone_fixed(const struct symbi_zone *z, int32_t *off)
{
    if (z->n != 0 || z->dyn_from != INT64_MAX)
        return false;
    *off = z->off0;
    return true;
}

const char *symbi_zone_name(const struct symbi_zone *z)
{
    return z->name;
}

int symbi_zone_offset(const struct symbi_zone *z, int64_t t_ms)
{
    struct zone_period p;
    symbi_zone_period(z, cron_floor_div(t_ms, 1000), &p);
    return p.off;
}

/* ---- TZif files --------------------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_counts {
    uint32_t isut, isstd, leap, time, type, chars;
};

static bool tzif_header(const unsigned char *d, size_t len, size_t pos, struct tzif_counts *c)
{
    if (len < pos || len - pos < 44 || memcmp(d + pos, "TZif", 4) != 0)
        return false;
    const unsigned char *h = d + pos + 20;
    *c = (struct tzif_counts){be32(h),      be32(h + 4),  be32(h + 8),
                              be32(h + 12), be32(h + 16), be32(h + 20)};
    return c->type >= 1 && c->type <= 256 && c->time <= 100000 && c->leap <= 100000 &&
           c->chars <= 100000 && c->isut <= 256 && c->isstd <= 256;
}

static size_t tzif_block_size(const struct tzif_counts *c, size_t tsize)
{
    return c->time * tsize + c->time + c->type * 6 + c->chars + c->leap * (tsize + 4) + c->isstd +
           c->isut;
}

/* Appends a transition when it changes the offset: 0, SYMBI_EINVAL when
 * out of order, SYMBI_ENOMEM. */
static int push_transition(struct symbi_zone *z, size_t *cap, int64_t t, int32_t off)
{
    int32_t last = z->n > 0 ? z->off[z->n - 1] : z->off0;
    if (off == last)
        return 0;
    if (z->n > 0 && t <= z->at[z->n - 1])
        return SYMBI_EINVAL;
    if (z->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        int64_t *a = realloc(z->at, nc * sizeof *a);
        if (a == NULL)
            return SYMBI_ENOMEM;
        z->at = a;
        int32_t *o = realloc(z->off, nc * sizeof *o);
        if (o == NULL)
            return SYMBI_ENOMEM;
        z->off = o;
        *cap = nc;
    }
    z->at[z->n] = t;
    z->off[z->n] = off;
    z->n++;
    return 0;
}

static bool sane_offset(int64_t off)
{
    return off > -26 * 3600 && off < 26 * 3600;
}

/* Fills z from TZif data. Returns false on malformed data, or with *oom
 * set when an allocation failed (not the file's fault: the torture test
 * found it reported as an unknown zone). */
static bool tzif_parse(const unsigned char *d, size_t len, struct symbi_zone *z, bool *oom)
{
    *oom = false;
    struct tzif_counts c;
    if (!tzif_header(d, len, 0, &c))
        return false;
    size_t pos = 44, tsize = 4;
    size_t body = tzif_block_size(&c, 4);
    if (len - pos < body)
        return false;
    const char *footer = NULL;
    size_t footer_len = 0;
    if (d[4] >= '2') {
        pos += body;
        if (!tzif_header(d, len, pos, &c))
            return false;
        pos += 44;
        tsize = 8;
        body = tzif_block_size(&c, 8);
        if (len - pos < body)
            return false;
        size_t f = pos + body;
        if (f < len && d[f] == '\n') {
            const unsigned char *nl = memchr(d + f + 1, '\n', len - f - 1);
            if (nl != NULL) {
                footer = (const char *)d + f + 1;
                footer_len = (size_t)(nl - (d + f + 1));
            }
        }
    }
    const unsigned char *times = d + pos;
    const unsigned char *idx = times + c.time * tsize;
    const unsigned char *types = idx + c.time;
    for (uint32_t i = 0; i < c.type; i++) {
        int32_t off = (int32_t)be32(types + 6 * i);
        if (!sane_offset(off) || types[6 * i + 4] > 1)
            return false;
    }
    z->off0 = (int32_t)be32(types);
    size_t cap = 0;
    int64_t prev = INT64_MIN;
    for (uint32_t i = 0; i < c.time; i++) {
        int64_t t = tsize == 8 ? be64(times + 8 * i) : (int32_t)be32(times + 4 * i);
        if (idx[i] >= c.type || (i > 0 && t <= prev) || t > TZ_LAST_INSTANT)
            return false;
        prev = t;
        int prc = push_transition(z, &cap, t, (int32_t)be32(types + 6 * idx[i]));
        if (prc != 0) {
            *oom = prc == SYMBI_ENOMEM;
            return false;
        }
    }
    z->dyn_from = INT64_MAX;
    if (footer == NULL || footer_len == 0 || footer_len > 128)
        return true;
    char rule_text[129];
    memcpy(rule_text, footer, footer_len);
    rule_text[footer_len] = '\0';
    if (!tz_rule_parse(rule_text, &z->rule))
        return true; /* an unreadable rule: the last offset stays in force */
    if (!sane_offset(z->rule.std_off) || !sane_offset(z->rule.dst_off))
        return false;
    if (!z->rule.has_dst) {
        if (z->n == 0) /* a fixed offset: the rule says which */
            z->off0 = z->rule.std_off;
        return true;
    }
    /* tabulate the rule from the last transition's year up to 2200 */
    int64_t y0 = 1900;
    if (z->n > 0) {
        unsigned m, dd;
        symbi_civil_from_days(cron_floor_div(z->at[z->n - 1], DAY), &y0, &m, &dd);
    }
    if (y0 > TZ_TABLE_LAST_YEAR)
        y0 = TZ_TABLE_LAST_YEAR;
    if (y0 < 1) /* a bogus early last transition: no rule table before year 1 */
        y0 = 1;
    struct tz_event *ev = malloc((size_t)(TZ_TABLE_LAST_YEAR - y0 + 1) * 2 * sizeof *ev);
    if (ev == NULL) {
        *oom = true;
        return false;
    }
    int32_t initial;
    size_t n = rule_events(&z->rule, y0, TZ_TABLE_LAST_YEAR, ev, &initial);
    if (z->n == 0)
        z->off0 = initial;
    int prc = 0;
    for (size_t i = 0; i < n && prc == 0; i++) {
        if (z->n > 0 && ev[i].t <= z->at[z->n - 1])
            continue;
        prc = push_transition(z, &cap, ev[i].t, ev[i].off);
    }
    free(ev);
    if (prc != 0) {
        *oom = prc == SYMBI_ENOMEM;
        return false;
    }
    if (z->n > 0)
        z->dyn_from = z->at[z->n - 1];
    return true;
}

static void zone_free(struct symbi_zone *z)
{
    if (z == NULL)
        return;
    free(z->at);
    free(z->off);
    free(z->dir);
    free(z->name);
    free(z);
}

int symbi_zone_from_tzif(const unsigned char *data, size_t len, struct symbi_zone **out)
{
    struct symbi_zone *z = calloc(1, sizeof *z);
    if (z == NULL)
        return SYMBI_ENOMEM;
    if ((z->dir = symbi_strdup("")) == NULL || (z->name = symbi_strdup("tzif")) == NULL) {
        zone_free(z);
        return SYMBI_ENOMEM;
    }
    bool oom = false;
    if (len > TZ_FILE_MAX || !tzif_parse(data, len, z, &oom)) {
        zone_free(z);
        return oom ? SYMBI_ENOMEM : SYMBI_EINVAL;
    }
    *out = z;
    return 0;
}

void symbi_zone_release(struct symbi_zone *z)
{
    zone_free(z);
}

/* A zone name is a relative path of [A-Za-z0-9._+-] components, none of
 * them empty, "." or "..". */
static bool valid_name(const char *name)
{
    size_t n = strnlen(name, TZ_NAME_MAX + 1);
    if (n == 0 || n > TZ_NAME_MAX)
        return false;
    const char *comp = name;
    for (const char *p = name;; p++) {
        if (*p == '/' || *p == '\0') {
            size_t cl = (size_t)(p - comp);
            if (cl == 0 || (cl == 1 && comp[0] == '.') ||
                (cl == 2 && comp[0] == '.' && comp[1] == '.'))
                return false;
            if (*p == '\0')
                return true;
            comp = p + 1;
            continue;
        }
        char ch = *p;
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '+' || ch == '-'))
            return false;
    }
}

static int unknown_zone(const char *name, struct symbi_err *err)
{
    char shown[65];
    size_t i = 0;
    for (; name[i] != '\0' && i < 64; i++) {
        unsigned char ch = (unsigned char)name[i];
        shown[i] = ch < 0x20 || ch >= 0x7f || ch == '"' ? '?' : (char)ch;
    }
    shown[i] = '\0';
    return symbi_err_set(err, SYMBI_ENOTFOUND, "unknown time zone \"%s%s\"", shown,
                         name[i] != '\0' ? "..." : "");
}

static int zone_load(const char *dir, const char *name, struct symbi_zone **out,
                     struct symbi_err *err)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return unknown_zone(name, err);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return unknown_zone(name, err);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 44 ||
        st.st_size > TZ_FILE_MAX) {
        close(fd);
        return unknown_zone(name, err);
    }
    size_t len = (size_t)st.st_size, got = 0;
    unsigned char *data = malloc(len);
    if (data == NULL) {
        close(fd);
        return symbi_err_set(err, SYMBI_ENOMEM, "out of memory loading time zone");
    }
    while (got < len) {
        ssize_t r = read(fd, data + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    struct symbi_zone *z = calloc(1, sizeof *z);
    int rc = 0;
    bool oom = false;
    if (z == NULL || (z->dir = symbi_strdup(dir)) == NULL ||
        (z->name = symbi_strdup(name)) == NULL) {
        rc = symbi_err_set(err, SYMBI_ENOMEM, "out of memory loading time zone");
    } else if (got != len || !tzif_parse(data, len, z, &oom)) {
        rc = oom ? symbi_err_set(err, SYMBI_ENOMEM, "out of memory loading time zone")
                 : unknown_zone(name, err);
    }
    free(data);
    if (rc != 0) {
        zone_free(z);
        return rc;
    }
    *out = z;
    return 0;
}

static struct symbi_zone *cache_find(const char *dir, const char *name)
{
    for (struct symbi_zone *z = atomic_load_explicit(&cache_head, memory_order_acquire); z != NULL;
         z = z->next) {
        if (strcmp(z->name, name) == 0 && strcmp(z->dir, dir) == 0)
            return z;
    }
    return NULL;
}

int symbi_zone_get(const char *name, const struct symbi_zone **out, struct symbi_err *err)
{
    if (name == NULL || strcmp(name, "UTC") == 0) {
        *out = &utc_zone;
        return 0;
    }
    if (!valid_name(name))
        return unknown_zone(name, err);
    const char *dir = getenv("TZDIR");
    if (dir == NULL || *dir == '\0')
        dir = TZ_DEFAULT_DIR;
    struct symbi_zone *z = cache_find(dir, name);
    if (z != NULL) {
        *out = z;
        return 0;
    }
    pthread_mutex_lock(&load_lock);
    int rc = 0;
    z = cache_find(dir, name);
    if (z == NULL) {
        rc = zone_load(dir, name, &z, err);
        if (rc == 0) {
            z->next = atomic_load_explicit(&cache_head, memory_order_relaxed);
            atomic_store_explicit(&cache_head, z, memory_order_release);
        }
    }
    pthread_mutex_unlock(&load_lock);
    if (rc == 0)
        *out = z;
    return rc;
}

int symbi_zone_validate(const char *name, struct symbi_err *err)
{
    const struct symbi_zone *z;
    return symbi_zone_get(name, &z, err);
}
