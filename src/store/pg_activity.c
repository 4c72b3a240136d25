/* pg_activity.c - the PostgreSQL side of the dashboard's digest (SPEC §16):
 * the newest runs of every job and the runs finished per minute. */
#include "store/pg.h"

#include <stdlib.h>
#include <string.h>

#define ACTIVITY_MAX_MINUTES 1440 /* a day of minutes at most */

static int read_briefs(struct pg_store *s, int per_job, struct symbi_run_activity *a,
                       struct symbi_err *err)
{
    struct pg_params p;
    pgp_init(&p);
    pgp_i64(&p, per_job);
    PGresult *r = NULL;
    int rc = pg_q(s,
                  "SELECT job_id, status, scheduled_at, finished_at FROM ("
                  " SELECT job_id, status, scheduled_at, finished_at, row_number() OVER"
                  "  (PARTITION BY job_id ORDER BY scheduled_at DESC, attempt DESC) AS rn"
                  " FROM runs) t WHERE rn <= $1 ORDER BY job_id, rn",
                  &p, &r, "reading recent runs", err);
    if (rc != 0)
        return rc;
    int rows = PQntuples(r);
    if (rows > 0 && (a->runs = calloc((size_t)rows, sizeof *a->runs)) == NULL) {
        PQclear(r);
        return pg_oom(err);
    }
    for (int i = 0; i < rows; i++) {
        struct symbi_run_brief *b = &a->runs[i];
        pgc_id(r, i, 0, b->job_id);
        const char *status = pgc_raw(r, i, 1);
        if (status == NULL || symbi_run_status_parse(status, &b->status) != 0)
            b->status = SYMBI_RUN_QUEUED;
        b->scheduled_at = pgc_time(r, i, 2);
        b->finished_at = pgc_time(r, i, 3);
    }
    a->n_runs = (size_t)rows;
    PQclear(r);
    return 0;
}

static int read_minutes(struct pg_store *s, int64_t since_ms, struct symbi_run_activity *a,
                        struct symbi_err *err)
{
    struct pg_params p;
    pgp_init(&p);
    pgp_i64(&p, since_ms);
    pgp_i64(&p, ACTIVITY_MAX_MINUTES);
    PGresult *r = NULL;
    int rc = pg_q(s,
                  "SELECT finished_at / 60000, count(*) FILTER (WHERE status = 'succeeded'),"
                  " count(*) FILTER (WHERE status IN ('failed','timed_out','interrupted')),"
                  " count(*) FROM runs WHERE finished_at >= $1 GROUP BY 1 ORDER BY 1 LIMIT $2",
                  &p, &r, "counting runs per minute", err);
    if (rc != 0)
        return rc;
    int rows = PQntuples(r);
    if (rows > 0 && (a->minutes = calloc((size_t)rows, sizeof *a->minutes)) == NULL) {
        PQclear(r);
        return pg_oom(err);
    }
    for (int i = 0; i < rows; i++) {
        struct symbi_run_minute *m = &a->minutes[i];
        m->minute = pgc_i64(r, i, 0) * 60000;
        m->succeeded = pgc_i64(r, i, 1);
        m->failed = pgc_i64(r, i, 2);
        m->other = pgc_i64(r, i, 3) - m->succeeded - m->failed;
    }
    a->n_minutes = (size_t)rows;
    PQclear(r);
    return 0;
}

int pg_run_activity(struct symbi_store *st, int per_job, int64_t since_ms,
                    struct symbi_run_activity *out, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    int rc = read_briefs(s, per_job, out, err);
    if (rc == 0)
        rc = read_minutes(s, since_ms, out, err);
    return rc;
}
