/* cron_dst_notes.c - `symbi cron describe`: the sentence plus notes on the
 * DST changes of the coming year that the expression meets (gap, overlap). */
#include "cron/cron_internal.h"

#include <stdio.h>
#include <string.h>

#define NOTE_HORIZON_S (365LL * 86400)
#define NOTE_MAX_FIRES 1000 /* counted per gap or overlap at most */

/* "02:30" or "02:30:15" for a local second of the day. */
static void hhmm(int64_t local_s, char out[16])
{
    int64_t d = cron_floor_div(local_s, 86400), s = local_s - d * 86400;
    if (s % 60 != 0)
        snprintf(out, 16, "%02d:%02d:%02d", (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60));
    else
        snprintf(out, 16, "%02d:%02d", (int)(s / 3600), (int)(s / 60 % 60));
}

static void local_date(int64_t local_s, char out[16])
{
    int64_t y;
    unsigned m, d;
    symbi_civil_from_days(cron_floor_div(local_s, 86400), &y, &m, &d);
    snprintf(out, 16, "%04d-%02u-%02u", (int)y, m, d);
}

/* Fires of c in the local window [lo, hi) seconds, read as UTC (local wall
 * time has no DST of its own): how many (bounded), the first and last. */
static int fires_in(const struct symbi_cron *c, int64_t lo, int64_t hi, int64_t *first,
                    int64_t *last)
{
    int n = 0;
    int64_t t = (lo - 1) * 1000, f;
    while (n < NOTE_MAX_FIRES && symbi_cron_next(c, NULL, t, NULL, &f) == 0 && f < hi * 1000) {
        if (n == 0)
            *first = f / 1000;
        *last = f / 1000;
        n++;
        t = f;
    }
    return n;
}

/* "the 02:30 fire" / "the 60 fires from 02:00 to 02:59" */
static void fires_text(int n, int64_t first, int64_t last, char *out, size_t cap)
{
    char a[16], b[16];
    hhmm(first, a);
    hhmm(last, b);
    if (n == 1)
        snprintf(out, cap, "the %s fire", a);
    else
        snprintf(out, cap, "the %s%d fires from %s to %s", n >= NOTE_MAX_FIRES ? "more than " : "",
                 n, a, b);
}

static enum symbi_dst_overlap overlap_mode(const struct symbi_cron *c,
                                           const struct symbi_cron_opts *opts)
{
    enum symbi_dst_overlap o = opts != NULL ? opts->overlap : SYMBI_DST_OVERLAP_AUTO;
    if (o == SYMBI_DST_OVERLAP_AUTO)
        o = c->hour_star ? SYMBI_DST_OVERLAP_BOTH : SYMBI_DST_OVERLAP_FIRST;
    return o;
}

static void notes(const struct symbi_cron *c, const struct symbi_zone *z,
                  const struct symbi_cron_opts *opts, int64_t now_ms, struct symbi_cron_desc *out)
{
    int32_t fixed;
    if (c->every_s > 0 || symbi_zone_fixed(z, &fixed))
        return; /* @every counts real seconds; a fixed offset has no DST */
    int64_t t = cron_floor_div(now_ms, 1000), horizon = t + NOTE_HORIZON_S;
    for (int guard = 0; guard < 16 && out->n_notes < SYMBI_CRON_DESC_NOTES; guard++) {
        struct zone_period p;
        symbi_zone_period(z, t, &p);
        if (p.end == INT64_MAX || p.end > horizon)
            break;
        int64_t tr = p.end;
        int32_t before = p.off, after = p.next_off;
        t = tr;
        if (before == after)
            continue;
        bool gap = after > before;
        int64_t lo = tr + (gap ? before : after), hi = tr + (gap ? after : before);
        int64_t first = 0, last = 0;
        int n = fires_in(c, lo, hi, &first, &last);
        if (n == 0)
            continue;
        char date[16], from[16], to[16], wlo[16], whi[16], what[96];
        local_date(tr + before, date);
        hhmm(tr + before, from);
        hhmm(tr + after, to);
        hhmm(lo, wlo);
        hhmm(hi, whi);
        fires_text(n, first, last, what, sizeof what);
        char *note = out->notes[out->n_notes++];
        size_t cap = sizeof out->notes[0];
        const char *zn = symbi_zone_name(z);
        if (gap) {
            bool skip = opts != NULL && opts->gap == SYMBI_DST_GAP_SKIP;
            if (skip)
                snprintf(note, cap,
                         "%s: clocks in %s go forward from %s to %s; %s %s not run (dst_gap: "
                         "skip)",
                         date, zn, from, to, what, n == 1 ? "does" : "do");
            else
                snprintf(note, cap,
                         "%s: clocks in %s go forward from %s to %s; %s run%s once at %s", date, zn,
                         from, to, what, n == 1 ? "s" : "", to);
        } else {
            enum symbi_dst_overlap o = overlap_mode(c, opts);
            const char *how = o == SYMBI_DST_OVERLAP_BOTH   ? "in both passes"
                              : o == SYMBI_DST_OVERLAP_LAST ? "once, in the second pass"
                                                            : "once, in the first pass";
            snprintf(note, cap,
                     "%s: clocks in %s go back from %s to %s, so %s-%s happens twice; %s run%s %s",
                     date, zn, from, to, wlo, whi, what, n == 1 ? "s" : "", how);
        }
    }
}

int symbi_cron_describe(const char *expr, const char *zone, const struct symbi_cron_opts *opts,
                        int64_t now_ms, struct symbi_cron_desc *out, struct symbi_err *err)
{
    struct symbi_cron *c = NULL;
    const struct symbi_zone *z = NULL;
    int rc = symbi_cron_parse(expr, &c, err);
    if (rc == 0)
        rc = symbi_zone_get(zone, &z, err);
    if (rc != 0) {
        symbi_cron_free(c);
        return rc;
    }
    struct symbi_buf b;
    symbi_buf_init(&b, 4 * sizeof out->text);
    cron_describe_text(c, symbi_zone_name(z), &b);
    memset(out, 0, sizeof *out);
    if (b.len >= sizeof out->text)
        snprintf(out->text, sizeof out->text, "%.*s...", (int)(sizeof out->text - 4),
                 symbi_buf_str(&b));
    else
        snprintf(out->text, sizeof out->text, "%s", symbi_buf_str(&b));
    symbi_buf_cleanup(&b);
    if (now_ms != SYMBI_TIME_NONE)
        notes(c, z, opts, now_ms, out);
    symbi_cron_free(c);
    return 0;
}

void symbi_cron_job_describe(const struct symbi_job *job, char *out, size_t cap)
{
    if (cap == 0)
        return;
    out[0] = '\0';
    if (job->cron_expr == NULL) {
        char t[SYMBI_TIME_STRLEN];
        if (job->at != SYMBI_TIME_NONE)
            snprintf(out, cap, "Once at %s", symbi_time_fmt(job->at, t));
        return;
    }
    struct symbi_cron_desc d;
    if (symbi_cron_describe(job->cron_expr, job->timezone, NULL, SYMBI_TIME_NONE, &d, NULL) == 0)
        snprintf(out, cap, "%s", d.text);
}
