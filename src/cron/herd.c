/* herd.c - the thundering-herd check (`symbi cron herd`): the seconds of a
 * coming period where more than N runs would start together, by expression. */
#include "cron/cron_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HERD_MAX_EVENTS 2000000 /* fires counted per check at most */
#define HERD_EPS        1e-9

struct event {
    int64_t t;    /* the fire (UTC seconds) */
    int64_t span; /* jitter window: starts spread over [t, t + span] */
    size_t group;
};

struct point {
    int64_t t;
    double dw; /* starts per second added (removed when negative) */
};

static int cmp_event(const void *a, const void *b)
{
    const struct event *x = a, *y = b;
    return x->t < y->t ? -1 : x->t > y->t;
}

static int cmp_point(const void *a, const void *b)
{
    const struct point *x = a, *y = b;
    return x->t < y->t ? -1 : x->t > y->t;
}

static size_t group_of(struct symbi_herd_report *r, const struct symbi_job *j)
{
    const char *zone = j->timezone != NULL ? j->timezone : "UTC";
    for (size_t g = 0; g < r->n_groups; g++)
        if (strcmp(r->groups[g].expr, j->cron_expr) == 0 && strcmp(r->groups[g].zone, zone) == 0)
            return g;
    struct symbi_herd_group *g = &r->groups[r->n_groups];
    memset(g, 0, sizeof *g);
    snprintf(g->expr, sizeof g->expr, "%s", j->cron_expr);
    snprintf(g->zone, sizeof g->zone, "%s", zone);
    g->first_at = SYMBI_TIME_NONE;
    return r->n_groups++;
}

/* The fires of every active cron job in (from, to] as events. */
static int collect(const struct symbi_job *jobs, size_t n, int64_t global_jitter_ms, int64_t from,
                   int64_t to, struct symbi_herd_report *r, struct event **out, size_t *n_out,
                   struct symbi_err *err)
{
    size_t cap = 1024, k = 0;
    struct event *ev = malloc(cap * sizeof *ev);
    if (ev == NULL)
        return symbi_err_set(err, SYMBI_ENOMEM, "herd: out of memory");
    for (size_t i = 0; i < n; i++) {
        const struct symbi_job *j = &jobs[i];
        if (j->status != SYMBI_JOB_ACTIVE || j->cron_expr == NULL)
            continue;
        struct symbi_cron *c = NULL;
        const struct symbi_zone *z = NULL;
        if (symbi_cron_parse(j->cron_expr, &c, NULL) != 0 ||
            symbi_zone_get(j->timezone, &z, NULL) != 0) {
            symbi_cron_free(c);
            continue; /* a job that cannot be scheduled does not fire */
        }
        struct symbi_cron_opts opts = {j->dst_gap, j->dst_overlap,
                                       j->last_run != SYMBI_TIME_NONE ? j->last_run
                                                                      : j->created_at};
        size_t g = group_of(r, j);
        r->groups[g].jobs++;
        int64_t jit = j->jitter_ms >= 0 ? j->jitter_ms : global_jitter_ms;
        int64_t t = from, next;
        for (;;) {
            if (symbi_cron_next(c, z, t, &opts, &next) != 0 || next > to)
                break;
            if (k == HERD_MAX_EVENTS) {
                symbi_cron_free(c);
                free(ev);
                return symbi_err_set(err, SYMBI_ETOOBIG,
                                     "herd: more than %d fires in the period; check fewer hours",
                                     HERD_MAX_EVENTS);
            }
            if (k == cap) {
                struct event *ne = realloc(ev, cap * 2 * sizeof *ev);
                if (ne == NULL) {
                    symbi_cron_free(c);
                    free(ev);
                    return symbi_err_set(err, SYMBI_ENOMEM, "herd: out of memory");
                }
                ev = ne;
                cap *= 2;
            }
            ev[k++] = (struct event){next / 1000, jit > 0 ? jit / 1000 : 0, g};
            t = next;
        }
        symbi_cron_free(c);
    }
    qsort(ev, k, sizeof *ev, cmp_event);
    *out = ev;
    *n_out = k;
    return 0;
}

/* One stretch [a, b) over the threshold at `level` starts per second:
 * credits the groups of the fires whose jitter window covers a. */
static void credit(struct symbi_herd_report *r, const struct event *ev, size_t n, int64_t max_span,
                   int64_t a, int64_t b, double level, int *counts)
{
    memset(counts, 0, r->n_groups * sizeof *counts);
    int k = 0;
    /* the first fire whose window may cover a: events are sorted by t */
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ev[mid].t < a - max_span)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < n; i++) {
        if (ev[i].t < a - max_span)
            continue;
        if (ev[i].t > a)
            break;
        if (ev[i].t + ev[i].span >= a) {
            counts[ev[i].group]++;
            k++;
        }
    }
    /* k starts spread evenly over J + 1 seconds stay at or under the threshold */
    int64_t suggest = (int64_t)ceil((double)k / r->threshold) - 1;
    for (size_t g = 0; g < r->n_groups; g++) {
        struct symbi_herd_group *G = &r->groups[g];
        if (counts[g] == 0)
            continue;
        G->seconds += b - a;
        if (level > G->peak)
            G->peak = level;
        if (G->first_at == SYMBI_TIME_NONE)
            G->first_at = a * 1000;
        if (suggest > G->suggested_jitter_s)
            G->suggested_jitter_s = suggest;
    }
}

int symbi_cron_herd(const struct symbi_job *jobs, size_t n, int64_t global_jitter_ms, int64_t now,
                    int hours, int threshold, struct symbi_herd_report *r, struct symbi_err *err)
{
    if (hours < 1 || hours > 24 * 31 || threshold < 1)
        return symbi_err_set(err, SYMBI_ERANGE, "herd: hours must be 1-744 and threshold >= 1");
    memset(r, 0, sizeof *r);
    r->from = now;
    r->to = now + (int64_t)hours * 3600000;
    r->threshold = threshold;
    r->first_at = SYMBI_TIME_NONE;
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++)
        distinct += jobs[i].cron_expr != NULL && jobs[i].status == SYMBI_JOB_ACTIVE;
    /* at most one group per job */
    r->groups = calloc(distinct ? distinct : 1, sizeof *r->groups);
    if (r->groups == NULL)
        return symbi_err_set(err, SYMBI_ENOMEM, "herd: out of memory");
    struct event *ev = NULL;
    size_t ne = 0;
    int rc = collect(jobs, n, global_jitter_ms, now, r->to, r, &ev, &ne, err);
    if (rc != 0) {
        symbi_herd_report_cleanup(r);
        return rc;
    }
    struct point *pt = malloc((ne ? ne : 1) * 2 * sizeof *pt);
    int *counts = calloc(r->n_groups ? r->n_groups : 1, sizeof *counts);
    if (pt == NULL || counts == NULL) {
        free(pt);
        free(counts);
        free(ev);
        symbi_herd_report_cleanup(r);
        return symbi_err_set(err, SYMBI_ENOMEM, "herd: out of memory");
    }
    int64_t max_span = 0;
    for (size_t i = 0; i < ne; i++) {
        double w = 1.0 / (double)(ev[i].span + 1);
        pt[2 * i] = (struct point){ev[i].t, w};
        pt[2 * i + 1] = (struct point){ev[i].t + ev[i].span + 1, -w};
        if (ev[i].span > max_span)
            max_span = ev[i].span;
    }
    qsort(pt, ne * 2, sizeof *pt, cmp_point);
    double level = 0;
    for (size_t i = 0; i < ne * 2;) {
        int64_t a = pt[i].t;
        while (i < ne * 2 && pt[i].t == a)
            level += pt[i++].dw;
        if (level <= threshold + HERD_EPS || i >= ne * 2)
            continue;
        int64_t b = pt[i].t;
        r->seconds += b - a;
        if (r->first_at == SYMBI_TIME_NONE)
            r->first_at = a * 1000;
        if (level > r->peak)
            r->peak = level;
        credit(r, ev, ne, max_span, a, b, level, counts);
    }
    free(pt);
    free(counts);
    free(ev);
    /* keep only the groups that take part in a herd */
    size_t k = 0;
    for (size_t g = 0; g < r->n_groups; g++)
        if (r->groups[g].seconds > 0)
            r->groups[k++] = r->groups[g];
    r->n_groups = k;
    return 0;
}

void symbi_herd_report_cleanup(struct symbi_herd_report *r)
{
    free(r->groups);
    r->groups = NULL;
    r->n_groups = 0;
}
