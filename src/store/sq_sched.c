/* sq_sched.c - the SQLite side of the scheduler's settling: a job that
 * stops (paused, dead letter, failed) settles its waiting runs, a clean stop
 * gives claimed fires back to their jobs, and the loop asks which runs are
 * still waiting before it starts them (SPEC §5.6, issue 10). */
#include "store/common.h"
#include "store/sq.h"

#include <stdlib.h>
#include <string.h>

int sq_settle_waiting(struct sq_store *s, const char *job_id, const char *why, int64_t now,
                      struct symbi_err *err)
{
    sqlite3_stmt *u = sq_prep(s,
                              "UPDATE runs SET status = 'skipped', finished_at = ?2, "
                              "error_message = ?3 WHERE job_id = ?1 AND status = 'queued'",
                              err);
    if (u == NULL)
        return err != NULL && err->code != 0 ? err->code : SYMBI_ESTORE;
    sq_bind_text(u, 1, job_id);
    sqlite3_bind_int64(u, 2, now);
    sq_bind_text(u, 3, why);
    int rc = sq_step(s, u, err, "settling the waiting runs of a job");
    sqlite3_reset(u);
    return rc == SQLITE_DONE ? 0 : rc;
}

/* Gives one fire back: its record goes (only while it is still queued and
 * owned by `node`: a run settled meanwhile keeps its record) and the job's
 * next_run moves back to the fire's instant unless it is already earlier.
 * A one-shot that this fire completed is active again. *given says whether
 * the record was removed. */
static int give_back_one(struct sq_store *s, const struct symbi_run *r, const char *node,
                         bool *given, struct symbi_err *err)
{
    *given = false;
    sqlite3_stmt *d = sq_prep(s,
                              "DELETE FROM runs WHERE id = ?1 AND status = 'queued' AND node = ?2 "
                              "AND started_at IS NULL",
                              err);
    if (d == NULL)
        return err != NULL && err->code != 0 ? err->code : SYMBI_ESTORE;
    sq_bind_text(d, 1, r->id);
    sq_bind_text(d, 2, node);
    int rc = sq_step(s, d, err, "giving a claimed fire back");
    sqlite3_reset(d);
    if (rc != SQLITE_DONE)
        return rc;
    if (sqlite3_changes(s->db) != 1)
        return 0;
    *given = true;
    sqlite3_stmt *u = sq_prep(s,
                              "UPDATE jobs SET next_run = ?2, status = CASE WHEN status = "
                              "'completed' THEN 'active' ELSE status END WHERE id = ?1 AND "
                              "status IN ('active', 'completed') AND (next_run IS NULL OR "
                              "next_run > ?2)",
                              err);
    if (u == NULL)
        return err != NULL && err->code != 0 ? err->code : SYMBI_ESTORE;
    sq_bind_text(u, 1, r->job_id);
    sqlite3_bind_int64(u, 2, r->scheduled_at);
    rc = sq_step(s, u, err, "restoring a job's next run");
    sqlite3_reset(u);
    return rc == SQLITE_DONE ? 0 : rc;
}

/* Hands a run back to the pool: queued, owned by no node. */
static int release_one(struct sq_store *s, const struct symbi_run *r, const char *node,
                       struct symbi_err *err)
{
    sqlite3_stmt *u = sq_prep(s,
                              "UPDATE runs SET node = NULL WHERE id = ?1 AND status = 'queued' "
                              "AND node = ?2",
                              err);
    if (u == NULL)
        return err != NULL && err->code != 0 ? err->code : SYMBI_ESTORE;
    sq_bind_text(u, 1, r->id);
    sq_bind_text(u, 2, node);
    int rc = sq_step(s, u, err, "releasing a queued run");
    sqlite3_reset(u);
    return rc == SQLITE_DONE ? 0 : rc;
}

static int give_back_v(void *s, const struct symbi_run *r, const char *node, bool *done,
                       struct symbi_err *err)
{
    return give_back_one(s, r, node, done, err);
}

static int release_v(void *s, const struct symbi_run *r, const char *node, struct symbi_err *err)
{
    return release_one(s, r, node, err);
}

int sq_runs_give_back(struct symbi_store *st, const struct symbi_run *runs, size_t n,
                      const char *node, size_t *given, size_t *released, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    size_t g = 0, rel = 0;
    int rc = sq_begin(s, err);
    if (rc != 0)
        return rc;
    static const struct symbi_common_give_back_ops writes = {give_back_v, release_v};
    rc = symbi_common_give_back_each(s, &writes, runs, n, node, &g, &rel, err);
    if (rc == 0)
        rc = sq_commit(s, err);
    else
        sq_rollback(s);
    if (rc != 0)
        return rc;
    if (g > 0)
        s->local_changes++;
    if (given != NULL)
        *given = g;
    if (released != NULL)
        *released = rel;
    return 0;
}

int sq_runs_waiting(struct symbi_store *st, const char *const *ids, size_t n, bool *waiting,
                    struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *q = sq_prep(s, "SELECT status = 'queued' FROM runs WHERE id = ?1", err);
        if (q == NULL)
            return err != NULL && err->code != 0 ? err->code : SYMBI_ESTORE;
        sq_bind_text(q, 1, ids[i]);
        int rc = sq_step(s, q, err, "reading a run's status");
        bool w = rc == SQLITE_ROW && sqlite3_column_int(q, 0) != 0;
        sqlite3_reset(q);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return rc;
        waiting[i] = w;
    }
    return 0;
}
