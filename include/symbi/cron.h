/* cron.h - cron expressions and time zones (SPEC §3): parsing to a compact
 * form, next/previous fire instants in a zone across DST, TZif zones.
 * Pure: no I/O but reading zone files, `now` always passed in. */
#ifndef SYMBI_CRON_H
#define SYMBI_CRON_H

#include "symbi/model.h"

struct symbi_cron; /* a parsed expression (opaque) */
struct symbi_zone; /* a loaded time zone (opaque, cached, shared, never freed) */

#define SYMBI_CRON_MAX_LEN 256

/* Parses expr (5, 6 or 7 fields, macros, @every). On error returns
 * SYMBI_EPARSE/SYMBI_ERANGE/SYMBI_ETOOBIG with err->msg like
 * `cron: day-of-week value 8 out of range 0-7 at position 9 in "0 9 * * 8"`. */
int symbi_cron_parse(const char *expr, struct symbi_cron **out, struct symbi_err *err);
void symbi_cron_free(struct symbi_cron *c);

/* Loads (once, then cached; thread-safe) the IANA zone `name` ("UTC" and
 * NULL mean UTC) from $TZDIR or /usr/share/zoneinfo. SYMBI_ENOTFOUND with
 * err->msg `unknown time zone "Mars/Base"`. */
int symbi_zone_get(const char *name, const struct symbi_zone **out, struct symbi_err *err);
const char *symbi_zone_name(const struct symbi_zone *z);
/* UTC offset in seconds at instant t (ms). */
int symbi_zone_offset(const struct symbi_zone *z, int64_t t_ms);

/* Per-job choices (SPEC §3.2, docs/cron.md). NULL opts mean shift, auto and
 * no anchor. */
struct symbi_cron_opts {
    enum symbi_dst_gap gap;
    enum symbi_dst_overlap overlap;
    /* @every: the job's last fire or creation (UTC ms, truncated to whole
     * seconds); fires are anchor + k * interval, k >= 1. SYMBI_TIME_NONE:
     * the next fire is `after` + interval. (0 is a real anchor: the epoch.) */
    int64_t every_anchor_ms;
};

/* The first fire instant strictly after `after_ms` (UTC ms, whole seconds),
 * or SYMBI_ENOTFOUND when there is none (e.g. a 7-field year in the past).
 * opts may be NULL (defaults). */
int symbi_cron_next(const struct symbi_cron *c, const struct symbi_zone *z, int64_t after_ms,
                    const struct symbi_cron_opts *opts, int64_t *next_ms);
/* The last fire instant strictly before `before_ms` (whole seconds), or
 * SYMBI_ENOTFOUND. Same rules as symbi_cron_next, mirrored. */
int symbi_cron_prev(const struct symbi_cron *c, const struct symbi_zone *z, int64_t before_ms,
                    const struct symbi_cron_opts *opts, int64_t *prev_ms);

/* The job's next fire strictly after `after_ms`: cron_expr in its timezone
 * with its dst options, or its `at` instant if still ahead. *next is
 * SYMBI_TIME_NONE when the job will not fire again. Parses (and caches
 * nothing); errors as above. */
int symbi_cron_job_next(const struct symbi_job *job, int64_t after_ms, int64_t *next,
                        struct symbi_err *err);

/* An expression in English (SPEC §10 `cron describe`), e.g. "At 09:00,
 * Monday through Friday (Europe/Berlin)", and notes for the DST changes of
 * its zone that it meets in the year after `now` ("2027-03-28: clocks go
 * forward from 02:00 to 03:00; the 02:30 fire runs once at 03:00 instead").
 * now_ms SYMBI_TIME_NONE: no notes. opts: the job's dst_gap/dst_overlap
 * (NULL: defaults). Errors are symbi_cron_parse's and symbi_zone_get's. */
#define SYMBI_CRON_DESC_NOTES 4
struct symbi_cron_desc {
    char text[2048]; /* a 256-character expression reads in well under this; cut with "..." */
    size_t n_notes;
    char notes[SYMBI_CRON_DESC_NOTES][256];
};
int symbi_cron_describe(const char *expr, const char *zone, const struct symbi_cron_opts *opts,
                        int64_t now_ms, struct symbi_cron_desc *out, struct symbi_err *err);
/* The job's schedule in English: its cron_expr in its zone (no DST notes),
 * or "Once at <instant>" for an `at` job. Writes "" when it does not parse. */
void symbi_cron_job_describe(const struct symbi_job *job, char *out, size_t cap);

/* The thundering-herd check (SPEC §10 `cron herd`): over (now, now + hours]
 * the fires of every active cron job, each start spread evenly over its
 * jitter window (the job's jitter, else global_jitter_ms), and the seconds
 * where more than `threshold` starts would fall, grouped by expression:
 * how many jobs use it, how many such seconds it takes part in, the peak
 * starts per second, the first, and the jitter that would spread the runs
 * of those seconds to at most `threshold` starts per second (k starts over
 * J + 1 seconds). r is filled by the call (free with _cleanup).
 * SYMBI_ETOOBIG past 2,000,000 fires. */
struct symbi_herd_group {
    char expr[SYMBI_CRON_MAX_LEN + 1];
    char zone[64];
    int jobs;         /* active jobs with this expression and zone */
    int64_t seconds;  /* herd seconds it takes part in */
    double peak;      /* the most starts in one of them */
    int64_t first_at; /* the first (UTC ms) */
    int64_t suggested_jitter_s;
};
struct symbi_herd_report {
    int64_t from, to;
    int threshold;
    int64_t seconds; /* seconds over the threshold */
    int64_t first_at;
    double peak;
    struct symbi_herd_group *groups;
    size_t n_groups;
};
int symbi_cron_herd(const struct symbi_job *jobs, size_t n, int64_t global_jitter_ms, int64_t now,
                    int hours, int threshold, struct symbi_herd_report *r, struct symbi_err *err);
void symbi_herd_report_cleanup(struct symbi_herd_report *r);

/* Validates a cron expression / zone without keeping anything. */
int symbi_cron_validate(const char *expr, struct symbi_err *err);
int symbi_zone_validate(const char *name, struct symbi_err *err);

#endif
