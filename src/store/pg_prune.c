/* pg_prune.c - retention in the PostgreSQL backend (SPEC §13.1): terminal
 * runs past keep_runs or beyond keep_runs_per_job, archived context entries
 * past keep_runs and old audit events, a small batch per transaction. */
#include "store/common.h"
#include "store/pg.h"

#include <string.h>

#define TERMINAL "('succeeded','failed','timed_out','denied','skipped','missed','interrupted')"

/* Runs a DELETE (or a count) with parameters; adds its rows to *n. */
static int del(struct pg_store *s, const char *sql, const struct pg_params *p, int64_t *n,
               struct symbi_err *err)
{
    int64_t changed = 0;
    int rc = pg_x(s, sql, p, &changed, "pruning", err);
    if (rc == 0)
        *n += changed;
    return rc;
}

static int count(struct pg_store *s, const char *sql, const struct pg_params *p, int64_t *n,
                 struct symbi_err *err)
{
    PGresult *r = NULL;
    int rc = pg_q(s, sql, p, &r, "counting what to prune", err);
    if (rc != 0)
        return rc;
    *n += pgc_i64(r, 0, 0);
    PQclear(r);
    return 0;
}

static int dry_counts(struct pg_store *s, const struct symbi_retention *r, int64_t cut,
                      struct symbi_prune_counts *out, struct symbi_err *err)
{
    struct pg_params p;
    pgp_init(&p);
    pgp_i64(&p, cut);
    pgp_i64(&p, r->keep_runs_per_job > 0 ? r->keep_runs_per_job : INT64_MAX);
    int rc = count(s,
                   "SELECT count(*) FROM (SELECT COALESCE(finished_at, scheduled_at) AS f, "
                   "ROW_NUMBER() OVER (PARTITION BY job_id ORDER BY scheduled_at DESC, attempt "
                   "DESC) AS rn FROM runs WHERE status IN " TERMINAL ") t WHERE f < $1 OR rn > $2",
                   &p, &out->runs, err);
    if (rc != 0)
        return rc;
    pgp_init(&p);
    pgp_i64(&p, cut);
    rc = count(s, "SELECT count(*) FROM context_entries WHERE archived_at < $1", &p, &out->contexts,
               err);
    if (rc != 0 || r->keep_audit_ms <= 0)
        return rc;
    pgp_init(&p);
    pgp_i64(&p, r->now - r->keep_audit_ms);
    return count(s, "SELECT count(*) FROM audit_events WHERE at < $1", &p, &out->audit, err);
}

/* Terminal runs of each job beyond its newest keep_runs_per_job, at most
 * `left` of them; only jobs with more runs than the bound are visited. */
static int prune_per_job(struct pg_store *s, int64_t keep, int64_t *left, int64_t *n,
                         struct symbi_err *err)
{
    struct pg_params p;
    pgp_init(&p);
    pgp_i64(&p, keep);
    PGresult *jobs = NULL;
    int rc = pg_q(s, "SELECT job_id FROM runs GROUP BY job_id HAVING count(*) > $1 ORDER BY job_id",
                  &p, &jobs, "listing jobs to prune", err);
    if (rc != 0)
        return rc;
    for (int i = 0; rc == 0 && *left > 0 && i < PQntuples(jobs); i++) {
        char id[SYMBI_UUID_LEN + 1];
        pgc_id(jobs, i, 0, id);
        /* the oldest run kept: the keep-th newest terminal one */
        pgp_init(&p);
        pgp_text(&p, id);
        pgp_i64(&p, keep - 1);
        PGresult *cut = NULL;
        if ((rc = pg_q(
                 s,
                 "SELECT scheduled_at, attempt FROM runs WHERE job_id = $1 AND status IN " TERMINAL
                 " ORDER BY scheduled_at DESC, attempt DESC LIMIT 1 OFFSET $2",
                 &p, &cut, "finding the runs to keep", err)) != 0)
            break;
        bool has = PQntuples(cut) > 0;
        int64_t at = has ? pgc_i64(cut, 0, 0) : 0, attempt = has ? pgc_i64(cut, 0, 1) : 0;
        PQclear(cut);
        if (!has)
            continue;
        pgp_init(&p);
        pgp_text(&p, id);
        pgp_i64(&p, at);
        pgp_i64(&p, attempt);
        pgp_i64(&p, *left);
        int64_t before = *n;
        rc = del(s,
                 "DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE job_id = $1 AND "
                 "status IN " TERMINAL " AND (scheduled_at < $2 OR (scheduled_at = $2 AND "
                 "attempt < $3)) LIMIT $4)",
                 &p, n, err);
        *left -= *n - before;
    }
    PQclear(jobs);
    return rc;
}

static int prune_batch(struct pg_store *s, const struct symbi_retention *r, int64_t cut,
                       int64_t batch, struct symbi_prune_counts *out, struct symbi_err *err)
{
    int64_t left = batch;
    int rc = 0;
    struct pg_params p;
    if (r->keep_runs_ms > 0) {
        pgp_init(&p);
        pgp_i64(&p, cut);
        pgp_i64(&p, left);
        if ((rc = del(s,
                      "DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE status IN " TERMINAL
                      " AND COALESCE(finished_at, scheduled_at) < $1 LIMIT $2)",
                      &p, &out->runs, err)) != 0)
            return rc;
        left = batch - out->runs;
    }
    if (left > 0 && r->keep_runs_per_job > 0 &&
        (rc = prune_per_job(s, r->keep_runs_per_job, &left, &out->runs, err)) != 0)
        return rc;
    if (r->keep_runs_ms > 0) {
        /* archived context entries follow keep_runs; live ones stay */
        pgp_init(&p);
        pgp_i64(&p, cut);
        pgp_i64(&p, batch);
        if ((rc = del(s,
                      "DELETE FROM context_entries WHERE id IN (SELECT id FROM context_entries "
                      "WHERE archived_at < $1 LIMIT $2)",
                      &p, &out->contexts, err)) != 0)
            return rc;
    }
    if (r->keep_audit_ms > 0) {
        pgp_init(&p);
        pgp_i64(&p, r->now - r->keep_audit_ms);
        pgp_i64(&p, batch);
        rc = del(s,
                 "DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE at < $1 "
                 "LIMIT $2)",
                 &p, &out->audit, err);
    }
    return rc;
}

int pg_prune(struct symbi_store *st, const struct symbi_retention *r, int64_t batch, bool dry_run,
             struct symbi_prune_counts *out, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    /* store.c zeroed out and chose the batch */
    int64_t cut = symbi_common_prune_cut(r);
    if (dry_run)
        return dry_counts(s, r, cut, out, err);
    int rc = pg_begin(s, err);
    if (rc != 0)
        return rc;
    rc = prune_batch(s, r, cut, batch, out, err);
    if ((rc = pg_end(s, rc, err)) != 0)
        memset(out, 0, sizeof *out);
    return rc;
}
