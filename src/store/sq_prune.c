/* sq_prune.c - retention in the SQLite backend (SPEC §13.1): deletes
 * terminal runs past keep_runs or beyond keep_runs_per_job, archived session
 * context entries past keep_runs, and old audit events, a small batch per
 * transaction; never a queued/running/pending run, never a live context. */
#include "store/common.h"
#include "store/sq.h"

#include <string.h>

#define TERMINAL "('succeeded','failed','timed_out','denied','skipped','missed','interrupted')"

static int64_t changes(struct sq_store *s)
{
    return (int64_t)sqlite3_changes(s->db);
}

/* Runs a prepared DELETE; adds the rows it removed to *n. */
static int run_delete(struct sq_store *s, sqlite3_stmt *q, int64_t *n, struct symbi_err *err)
{
    int rc = sq_step(s, q, err, "pruning");
    sqlite3_reset(q);
    if (rc < 0)
        return rc;
    *n += changes(s);
    return 0;
}

static int count_one(struct sq_store *s, sqlite3_stmt *q, int64_t *n, struct symbi_err *err)
{
    int rc = sq_step(s, q, err, "counting what to prune");
    if (rc == SQLITE_ROW)
        *n += sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    return rc < 0 ? rc : 0;
}

/* What a prune would delete: one pass with a window over the runs. */
static int dry_counts(struct sq_store *s, const struct symbi_retention *r, int64_t cut,
                      struct symbi_prune_counts *out, struct symbi_err *err)
{
    sqlite3_stmt *q = sq_prep(
        s,
        "SELECT count(*) FROM (SELECT COALESCE(finished_at, scheduled_at) AS f, "
        "ROW_NUMBER() OVER (PARTITION BY job_id ORDER BY scheduled_at DESC, attempt DESC) AS rn "
        "FROM runs WHERE status IN " TERMINAL ") WHERE f < ?1 OR rn > ?2",
        err);
    if (q == NULL)
        return SYMBI_ESTORE;
    sqlite3_bind_int64(q, 1, cut);
    sqlite3_bind_int64(q, 2, r->keep_runs_per_job > 0 ? r->keep_runs_per_job : INT64_MAX);
    int rc = count_one(s, q, &out->runs, err);
    if (rc != 0)
        return rc;
    q = sq_prep(s, "SELECT count(*) FROM context_entries WHERE archived_at < ?1", err);
    if (q == NULL)
        return SYMBI_ESTORE;
    sqlite3_bind_int64(q, 1, cut);
    if ((rc = count_one(s, q, &out->contexts, err)) != 0 || r->keep_audit_ms <= 0)
        return rc;
    q = sq_prep(s, "SELECT count(*) FROM audit_events WHERE at < ?1", err);
    if (q == NULL)
        return SYMBI_ESTORE;
    sqlite3_bind_int64(q, 1, r->now - r->keep_audit_ms);
    return count_one(s, q, &out->audit, err);
}

/* Terminal runs of each job beyond its newest keep_runs_per_job, at most
 * `left` of them. Only the jobs with more runs than the bound are visited
 * (one pass over the runs' (job_id, ...) index), so a store of a million
 * jobs with few runs each costs the pruner nothing per job. */
static int prune_per_job(struct sq_store *s, int64_t keep, int64_t *left, int64_t *n,
                         struct symbi_err *err)
{
    /* all runs, not only terminal ones: the count is then read from the
     * (job_id, scheduled_at, attempt) index alone; the per-job query below
     * keeps exactly the newest `keep` terminal runs */
    sqlite3_stmt *jobs = sq_prep(
        s, "SELECT job_id FROM runs GROUP BY job_id HAVING count(*) > ?1 ORDER BY job_id", err);
    if (jobs == NULL)
        return SYMBI_ESTORE;
    sqlite3_bind_int64(jobs, 1, keep);
    int rc = 0;
    while (*left > 0 && (rc = sq_step(s, jobs, err, "listing jobs to prune")) == SQLITE_ROW) {
        char id[SYMBI_UUID_LEN + 1];
        sq_col_id(jobs, 0, id);
        /* the oldest run kept: the keep-th newest terminal one */
        sqlite3_stmt *cut = sq_prep(s,
                                    "SELECT scheduled_at, attempt FROM runs WHERE job_id = ?1 AND "
                                    "status IN " TERMINAL " ORDER BY scheduled_at DESC, attempt "
                                    "DESC LIMIT 1 OFFSET ?2",
                                    err);
        if (cut == NULL) {
            rc = SYMBI_ESTORE;
            break;
        }
        sq_bind_text(cut, 1, id);
        sqlite3_bind_int64(cut, 2, keep - 1);
        rc = sq_step(s, cut, err, "finding the runs to keep");
        int64_t at = 0, attempt = 0;
        bool has = rc == SQLITE_ROW;
        if (has) {
            at = sqlite3_column_int64(cut, 0);
            attempt = sqlite3_column_int64(cut, 1);
        }
        sqlite3_reset(cut);
        if (rc < 0)
            break;
        if (!has)
            continue;
        sqlite3_stmt *del =
            sq_prep(s,
                    "DELETE FROM runs WHERE rowid IN (SELECT rowid FROM runs WHERE job_id = ?1 AND "
                    "status IN " TERMINAL " AND (scheduled_at < ?2 OR (scheduled_at = ?2 AND "
                    "attempt < ?3)) LIMIT ?4)",
                    err);
        if (del == NULL) {
            rc = SYMBI_ESTORE;
            break;
        }
        sq_bind_text(del, 1, id);
        sqlite3_bind_int64(del, 2, at);
        sqlite3_bind_int64(del, 3, attempt);
        sqlite3_bind_int64(del, 4, *left);
        int64_t before = *n;
        if ((rc = run_delete(s, del, n, err)) != 0)
            break;
        *left -= *n - before;
    }
    sqlite3_reset(jobs);
    return rc < 0 ? rc : 0;
}

static int prune_batch(struct sq_store *s, const struct symbi_retention *r, int64_t cut,
                       int64_t batch, struct symbi_prune_counts *out, struct symbi_err *err)
{
    int64_t left = batch;
    int rc = 0;
    if (r->keep_runs_ms > 0) {
        sqlite3_stmt *q = sq_prep(
            s,
            "DELETE FROM runs WHERE rowid IN (SELECT rowid FROM runs WHERE status IN " TERMINAL
            " AND COALESCE(finished_at, scheduled_at) < ?1 LIMIT ?2)",
            err);
        if (q == NULL)
            return SYMBI_ESTORE;
        sqlite3_bind_int64(q, 1, cut);
        sqlite3_bind_int64(q, 2, left);
        if ((rc = run_delete(s, q, &out->runs, err)) != 0)
            return rc;
        left = batch - out->runs;
    }
    if (left > 0 && r->keep_runs_per_job > 0 &&
        (rc = prune_per_job(s, r->keep_runs_per_job, &left, &out->runs, err)) != 0)
        return rc;
    if (r->keep_runs_ms > 0) {
        /* archived context entries follow keep_runs (counted from when they
         * were archived); live ones are the context itself and stay */
        sqlite3_stmt *q = sq_prep(s,
                                  "DELETE FROM context_entries WHERE rowid IN (SELECT rowid FROM "
                                  "context_entries WHERE archived_at < ?1 LIMIT ?2)",
                                  err);
        if (q == NULL)
            return SYMBI_ESTORE;
        sqlite3_bind_int64(q, 1, cut);
        sqlite3_bind_int64(q, 2, batch);
        if ((rc = run_delete(s, q, &out->contexts, err)) != 0)
            return rc;
    }
    if (r->keep_audit_ms > 0) {
        sqlite3_stmt *q = sq_prep(s,
                                  "DELETE FROM audit_events WHERE rowid IN (SELECT rowid FROM "
                                  "audit_events WHERE at < ?1 LIMIT ?2)",
                                  err);
        if (q == NULL)
            return SYMBI_ESTORE;
        sqlite3_bind_int64(q, 1, r->now - r->keep_audit_ms);
        sqlite3_bind_int64(q, 2, batch);
        rc = run_delete(s, q, &out->audit, err);
    }
    return rc;
}

int sq_prune(struct symbi_store *st, const struct symbi_retention *r, int64_t batch, bool dry_run,
             struct symbi_prune_counts *out, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    /* store.c zeroed out and chose the batch */
    int64_t cut = symbi_common_prune_cut(r);
    if (dry_run)
        return dry_counts(s, r, cut, out, err);
    int rc = sq_begin(s, err);
    if (rc != 0)
        return rc;
    rc = prune_batch(s, r, cut, batch, out, err);
    if (rc == 0)
        return sq_commit(s, err);
    sq_rollback(s);
    memset(out, 0, sizeof *out);
    return rc;
}
