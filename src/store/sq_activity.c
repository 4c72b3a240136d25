/* sq_activity.c - the SQLite side of the dashboard's digest (SPEC §16):
 * the newest runs of every job and the runs finished per minute, in two
 * queries that read only the columns they need. */
#include "store/sq.h"

#include <stdlib.h>
#include <string.h>

#define ACTIVITY_MAX_MINUTES 1440 /* a day of minutes at most */

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 256;
    while (nc < need)
        nc *= 2;
    void *p = realloc(*arr, nc * elem);
    if (p == NULL)
        return SYMBI_ENOMEM;
    *arr = p;
    *cap = nc;
    return 0;
}

static int read_briefs(struct sq_store *s, int per_job, struct symbi_run_activity *a,
                       struct symbi_err *err)
{
    /* ordered by the (job_id, scheduled_at, attempt) unique index */
    sqlite3_stmt *q =
        sq_prep(s,
                "SELECT job_id, status, scheduled_at, finished_at FROM ("
                " SELECT job_id, status, scheduled_at, finished_at, row_number() OVER"
                "  (PARTITION BY job_id ORDER BY scheduled_at DESC, attempt DESC) AS rn"
                " FROM runs) WHERE rn <= ?1 ORDER BY job_id, rn",
                err);
    if (q == NULL)
        return err != NULL && err->code != 0 ? err->code : SYMBI_ESTORE;
    sqlite3_bind_int(q, 1, per_job);
    size_t cap = 0;
    int rc;
    while ((rc = sq_step(s, q, err, "reading recent runs")) == SQLITE_ROW) {
        if (grow((void **)&a->runs, &cap, a->n_runs + 1, sizeof *a->runs) != 0) {
            sqlite3_reset(q);
            return symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
        }
        struct symbi_run_brief *b = &a->runs[a->n_runs];
        memset(b, 0, sizeof *b);
        sq_col_id(q, 0, b->job_id);
        const char *status = (const char *)sqlite3_column_text(q, 1);
        if (status == NULL || symbi_run_status_parse(status, &b->status) != 0)
            b->status = SYMBI_RUN_QUEUED;
        b->scheduled_at = sq_col_time(q, 2);
        b->finished_at = sq_col_time(q, 3);
        a->n_runs++;
    }
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? 0 : rc;
}

static int read_minutes(struct sq_store *s, int64_t since_ms, struct symbi_run_activity *a,
                        struct symbi_err *err)
{
    sqlite3_stmt *q = sq_prep(s,
                              "SELECT finished_at / 60000, sum(status = 'succeeded'),"
                              " sum(status IN ('failed','timed_out','interrupted')), count(*)"
                              " FROM runs WHERE finished_at >= ?1 GROUP BY 1 ORDER BY 1 LIMIT ?2",
                              err);
    if (q == NULL)
        return err != NULL && err->code != 0 ? err->code : SYMBI_ESTORE;
    sqlite3_bind_int64(q, 1, since_ms);
    sqlite3_bind_int(q, 2, ACTIVITY_MAX_MINUTES);
    size_t cap = 0;
    int rc;
    while ((rc = sq_step(s, q, err, "counting runs per minute")) == SQLITE_ROW) {
        if (grow((void **)&a->minutes, &cap, a->n_minutes + 1, sizeof *a->minutes) != 0) {
            sqlite3_reset(q);
            return symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
        }
        struct symbi_run_minute *m = &a->minutes[a->n_minutes++];
        m->minute = sqlite3_column_int64(q, 0) * 60000;
        m->succeeded = sqlite3_column_int64(q, 1);
        m->failed = sqlite3_column_int64(q, 2);
        m->other = sqlite3_column_int64(q, 3) - m->succeeded - m->failed;
    }
    sqlite3_reset(q);
    return rc == SQLITE_DONE ? 0 : rc;
}

int sq_run_activity(struct symbi_store *st, int per_job, int64_t since_ms,
                    struct symbi_run_activity *out, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    int rc = read_briefs(s, per_job, out, err);
    if (rc == 0)
        rc = read_minutes(s, since_ms, out, err);
    return rc;
}
