/* sq_claim.c - the scheduler's transactions in the SQLite backend: claiming
 * due fires (SPEC §5.1), taking unowned queued runs, recording a finished
 * run with the job's counters, and recovering runs of dead nodes. Each is
 * one BEGIN IMMEDIATE transaction: all of it commits, or none. */
#include "store/common.h"
#include "store/sq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLAIM_DEFAULT_LIMIT 1000

static int prep_fail(struct symbi_err *err)
{
    return err != NULL && err->code != 0 ? err->code : SYMBI_ESTORE;
}

static int oom(struct symbi_err *err)
{
    return symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
}

/* Reads the due jobs (active, next_run <= now, oldest first) and their
 * rowids. The partial index jobs_due holds exactly the active jobs by
 * next_run; without the INDEXED BY, SQLite's planner prefers the equality
 * on jobs_status and scans every active job. */
static int due_jobs(struct sq_store *s, int64_t now, size_t limit, struct symbi_job **jobs,
                    int64_t **rowids, size_t *n, struct symbi_err *err)
{
    sqlite3_stmt *q = sq_prep(s,
                              "SELECT " SQ_JOB_COLS ", rowid FROM jobs INDEXED BY jobs_due WHERE "
                              "status = 'active' AND next_run <= ?1 ORDER BY next_run LIMIT ?2",
                              err);
    if (q == NULL)
        return prep_fail(err);
    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_int64(q, 2, (int64_t)limit);
    struct symbi_job *arr = calloc(limit, sizeof *arr);
    int64_t *rows = calloc(limit, sizeof *rows);
    if (arr == NULL || rows == NULL) {
        free(arr);
        free(rows);
        return oom(err);
    }
    size_t len = 0;
    int rc;
    while (len < limit && (rc = sq_step(s, q, err, "selecting due jobs")) == SQLITE_ROW) {
        if (sq_job_read(q, &arr[len]) != 0) {
            rc = oom(err);
            break;
        }
        rows[len] = sqlite3_column_int64(q, SQ_JOB_NCOLS);
        len++;
    }
    if (len == limit)
        rc = SQLITE_DONE;
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        symbi_job_list_free(arr, len);
        free(rows);
        return rc;
    }
    *jobs = arr;
    *rowids = rows;
    *n = len;
    return 0;
}

/* Moves the job's next_run (and status, when it changes: SQLite rewrites
 * the index entries of every column a SET names, changed or not). The row
 * is found by the rowid read in this same transaction, which saves a seek
 * in the id index per fire; the id check makes a reused rowid a no-op
 * that fails loudly instead of touching another job. */
static int set_job_schedule(struct sq_store *s, const struct symbi_job *job, int64_t rowid,
                            int64_t next_run, enum symbi_job_status status, struct symbi_err *err)
{
    if (next_run == job->next_run && status == job->status)
        return 0; /* nothing to write */
    sqlite3_stmt *u =
        status == job->status
            ? sq_prep(s, "UPDATE jobs SET next_run = ?2 WHERE rowid = ?4 AND id = ?1", err)
            : sq_prep(s, "UPDATE jobs SET next_run = ?2, status = ?3 WHERE rowid = ?4 AND id = ?1",
                      err);
    if (u == NULL)
        return prep_fail(err);
    sq_bind_text(u, 1, job->id);
    sq_bind_time(u, 2, next_run);
    if (status != job->status)
        sq_bind_text(u, 3, symbi_job_status_name(status));
    sqlite3_bind_int64(u, 4, rowid);
    int rc = sq_step(s, u, err, "advancing a job");
    sqlite3_reset(u);
    if (rc != SQLITE_DONE)
        return rc;
    if (sqlite3_changes(s->db) != 1)
        return symbi_err_set(err, SYMBI_ESTORE, "store: job %s changed during its claim", job->id);
    return 0;
}

/* A planner that failed on a job (say, a schedule that no longer parses)
 * must not block every other job: that job alone becomes `failed`, with
 * the reason in its audit event. */
static int fail_job(struct sq_store *s, const struct symbi_job *job, int64_t rowid, int64_t now,
                    int code, const char *why, struct symbi_err *err)
{
    int rc = set_job_schedule(s, job, rowid, SYMBI_TIME_NONE, SYMBI_JOB_FAILED, err);
    if (rc != 0)
        return rc;
    struct symbi_rules_events ev;
    symbi_rules_events_init(&ev);
    rc = symbi_rules_ev_plan_failed(&ev, job, code, why, now) != 0 ? oom(err)
                                                                   : sq_audit_events(s, &ev, err);
    symbi_rules_events_cleanup(&ev);
    if (rc == 0)
        rc = sq_settle_waiting(s, job->id, symbi_rules_settle_reason(SYMBI_JOB_FAILED), now, err);
    return rc;
}

/* Records the plan of one job; queued runs move into the result array. */
static int record_plan(struct sq_store *s, const struct symbi_job *job, int64_t rowid,
                       struct symbi_fire_plan *p, int64_t now, const char *node,
                       struct symbi_run **out, size_t *n, size_t *cap, struct symbi_err *err)
{
    symbi_common_plan_clamp(p);
    for (size_t i = 0; i < p->n_runs; i++) {
        struct symbi_run *r = &p->runs[i];
        if (symbi_common_plan_run_fill(r, job, node, now, s->claim_epoch) != 0)
            return oom(err);
        int rc = sq_run_insert_row(s, r, err);
        if (rc == SYMBI_EEXIST) {
            /* this instant is already in the ledger: never fire it twice */
            symbi_err_clear(err);
            r->id[0] = '\0';
            continue;
        }
        if (rc != 0)
            return rc;
        if (r->status == SYMBI_RUN_QUEUED) {
            if (sq_runs_push(out, n, cap, r) != 0)
                return oom(err);
            symbi_run_init(r); /* ownership moved to the result */
        }
    }
    return set_job_schedule(s, job, rowid, p->next_run, p->status, err);
}

int sq_claim_due(struct symbi_store *st, int64_t now, size_t limit, const char *node,
                 symbi_fire_planner plan, void *ud, struct symbi_run **runs, size_t *n,
                 struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    *runs = NULL;
    *n = 0;
    if (limit == 0)
        limit = CLAIM_DEFAULT_LIMIT;
    struct symbi_fire_plan *p = malloc(sizeof *p);
    if (p == NULL)
        return oom(err);
    for (size_t i = 0; i < SYMBI_PLAN_MAX_RUNS; i++)
        symbi_run_init(&p->runs[i]);
    p->n_runs = 0;
    struct symbi_job *jobs = NULL;
    int64_t *rowids = NULL;
    size_t njobs = 0;
    struct symbi_run *out = NULL;
    size_t nout = 0, cap = 0;
    int rc = sq_begin(s, err);
    if (rc != 0)
        goto done;
    if ((rc = sq_claim_epoch(s, node, now, &s->claim_epoch, err)) != 0 ||
        (rc = due_jobs(s, now, limit, &jobs, &rowids, &njobs, err)) != 0)
        goto rollback;
    if (njobs > 0)
        symbi_common_plan_reset(p, &jobs[0], false);
    for (size_t i = 0; i < njobs; i++) {
        struct symbi_err perr = {0};
        int prc = plan(ud, &jobs[i], now, p);
        if (prc == SYMBI_ENOMEM) {
            /* out of memory is the moment's, not the job's: failing the job
             * would lose its schedule for good (the torture test found it),
             * so the whole claim is undone and tried again next tick */
            rc = oom(err);
            goto rollback;
        }
        if (prc != 0) {
            symbi_common_plan_reset(p, &jobs[i], true);
            symbi_err_set(&perr, prc, "planning the job's fires failed: %s", symbi_strerror(prc));
            rc = fail_job(s, &jobs[i], rowids[i], now, prc, perr.msg, err);
        } else {
            rc = record_plan(s, &jobs[i], rowids[i], p, now, node, &out, &nout, &cap, err);
        }
        symbi_common_plan_reset(p, i + 1 < njobs ? &jobs[i + 1] : NULL, false);
        if (rc != 0)
            goto rollback;
    }
    if ((rc = sq_commit(s, err)) != 0)
        goto done;
    *runs = out;
    *n = nout;
    out = NULL;
    nout = 0;
    goto done;
rollback:
    sq_rollback(s);
done:
    symbi_common_plan_reset(p, NULL, true);
    free(p);
    symbi_job_list_free(jobs, njobs);
    free(rowids);
    symbi_run_list_free(out, nout);
    return rc;
}

/* Runs one write statement whose only parameter ?1 is `now` (within the
 * caller's transaction); 0 or the error. */
static int write_at(struct sq_store *s, const char *sql, int64_t now, const char *what,
                    struct symbi_err *err)
{
    sqlite3_stmt *st = sq_prep(s, sql, err);
    if (st == NULL)
        return prep_fail(err);
    sqlite3_bind_int64(st, 1, now);
    int rc = sq_step(s, st, err, what);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : rc;
}

int sq_claim_queued(struct symbi_store *st, int64_t now, size_t limit, const char *node,
                    struct symbi_run **runs, size_t *n, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    *runs = NULL;
    *n = 0;
    if (limit == 0)
        limit = CLAIM_DEFAULT_LIMIT;
    int rc = sq_begin(s, err);
    if (rc != 0)
        return rc;
    struct symbi_run *arr = NULL;
    size_t len = 0;
    /* A job that stops firing (pause, dead letter, failure) settles its
     * waiting runs in its own transaction, so every queued run here may
     * start: no per-claim check of the jobs' states. */
    sqlite3_stmt *q = sq_prep(s,
                              "SELECT " SQ_RUN_COLS " FROM runs WHERE status = 'queued' AND "
                              "due_at <= ?1 AND node IS NULL ORDER BY due_at LIMIT ?2",
                              err);
    if (q == NULL) {
        rc = prep_fail(err);
        goto fail;
    }
    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_int64(q, 2, (int64_t)limit);
    int64_t epoch = 0;
    if ((rc = sq_runs_collect(s, q, &arr, &len, err)) != 0 ||
        (rc = sq_claim_epoch(s, node, now, &epoch, err)) != 0)
        goto fail;
    sqlite3_stmt *u =
        sq_prep(s, "UPDATE runs SET node = ?2, epoch = ?3 WHERE id = ?1 AND node IS NULL", err);
    if (u == NULL) {
        rc = prep_fail(err);
        goto fail;
    }
    for (size_t i = 0; i < len; i++) {
        sq_bind_text(u, 1, arr[i].id);
        sq_bind_text(u, 2, node);
        sq_bind_opt(u, 3, epoch > 0 ? epoch : -1);
        rc = sq_step(s, u, err, "taking a queued run");
        sqlite3_reset(u);
        if (rc != SQLITE_DONE)
            goto fail;
        arr[i].epoch = epoch;
        if (symbi_set_str(&arr[i].node, node) != 0) {
            rc = oom(err);
            goto fail;
        }
    }
    if ((rc = sq_commit(s, err)) != 0) {
        symbi_run_list_free(arr, len);
        return rc;
    }
    *runs = arr;
    *n = len;
    return 0;
fail:
    sq_rollback(s);
    symbi_run_list_free(arr, len);
    return rc < 0 ? rc : SYMBI_ESTORE;
}

/* Writes the job's counters a finished run moved (rules: symbi_rules_run_finish). */
static int write_counters(struct sq_store *s, const char *job_id,
                          const struct symbi_rules_finish *f, struct symbi_err *err)
{
    sqlite3_stmt *u = sq_prep(s,
                              "UPDATE jobs SET run_count = ?2, last_run = ?3, failure_count = ?4, "
                              "status = ?5, next_run = CASE WHEN ?6 THEN NULL ELSE next_run END "
                              "WHERE id = ?1",
                              err);
    if (u == NULL)
        return prep_fail(err);
    sq_bind_text(u, 1, job_id);
    sqlite3_bind_int64(u, 2, f->job.run_count);
    sq_bind_time(u, 3, f->job.last_run);
    sqlite3_bind_int64(u, 4, f->job.failure_count);
    sq_bind_text(u, 5, symbi_job_status_name(f->job.status));
    sqlite3_bind_int(u, 6, f->dead);
    int rc = sq_step(s, u, err, "recording a job's counters");
    sqlite3_reset(u);
    return rc == SQLITE_DONE ? 0 : rc;
}

/* Reads the counters of the run's job and its name; SYMBI_ENOTFOUND when
 * the job is gone. */
static int read_counters(struct sq_store *s, const char *job_id, struct symbi_rules_counters *c,
                         char **name, struct symbi_err *err)
{
    sqlite3_stmt *q = sq_prep(
        s, "SELECT status, failure_count, run_count, last_run, name FROM jobs WHERE id = ?1", err);
    if (q == NULL)
        return prep_fail(err);
    sq_bind_text(q, 1, job_id);
    int rc = sq_step(s, q, err, "reading a run's job");
    if (rc != SQLITE_ROW) {
        sqlite3_reset(q);
        return rc == SQLITE_DONE ? symbi_err_set(err, SYMBI_ENOTFOUND, "no job \"%s\"", job_id)
                                 : rc;
    }
    c->status = SYMBI_JOB_ACTIVE;
    symbi_job_status_parse((const char *)sqlite3_column_text(q, 0), &c->status);
    c->failure_count = sqlite3_column_int64(q, 1);
    c->run_count = sqlite3_column_int64(q, 2);
    c->last_run = sq_col_time(q, 3);
    bool no_mem = false;
    *name = sq_col_str(q, 4, &no_mem);
    sqlite3_reset(q);
    return no_mem ? oom(err) : 0;
}

int sq_run_finish(struct symbi_store *st, const struct symbi_run_outcome *o, int64_t now,
                  struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    const struct symbi_run *run = o->run;
    if (o->dead_lettered != NULL)
        *o->dead_lettered = false;
    int rc = sq_begin(s, err);
    if (rc != 0)
        return rc;
    char *job_name = NULL;
    struct symbi_rules_events ev;
    symbi_rules_events_init(&ev);
    struct symbi_rules_finish f;
    memset(&f, 0, sizeof f);
    /* An outcome lands only on a run still in flight: a run that recovery
     * already recorded (its node's lease expired and a retry may be under
     * way) keeps that record, and the job's counters do not move twice. */
    sqlite3_stmt *cur = sq_prep(s, "SELECT status FROM runs WHERE id = ?1", err);
    if (cur == NULL) {
        rc = prep_fail(err);
        goto fail;
    }
    sq_bind_text(cur, 1, run->id);
    rc = sq_step(s, cur, err, "reading a run's status");
    enum symbi_run_status stored = SYMBI_RUN_RUNNING;
    if (rc == SQLITE_ROW)
        symbi_run_status_parse((const char *)sqlite3_column_text(cur, 0), &stored);
    sqlite3_reset(cur);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        goto fail;
    if ((rc = symbi_rules_finish_check(run->id, rc == SQLITE_ROW, stored, err)) != 0)
        goto fail;
    if ((rc = sq_run_update(st, run, err)) != 0)
        goto fail;
    struct symbi_rules_counters counters;
    if ((rc = read_counters(s, run->job_id, &counters, &job_name, err)) != 0)
        goto fail;
    if (symbi_rules_run_finish(&counters, job_name, o, now, &f, &ev) != 0) {
        rc = oom(err);
        goto fail;
    }
    if ((rc = write_counters(s, run->job_id, &f, err)) != 0 ||
        (rc = sq_audit_events(s, &ev, err)) != 0)
        goto fail;
    if (f.settle != NULL && (rc = sq_settle_waiting(s, run->job_id, f.settle, now, err)) != 0)
        goto fail;
    if (f.insert_retry) {
        struct symbi_run retry;
        if (symbi_rules_retry_row(o->retry, now, &retry) != 0) {
            rc = oom(err);
            goto fail;
        }
        rc = sq_run_insert_row(s, &retry, err);
        symbi_run_cleanup(&retry);
        if (rc == SYMBI_EEXIST) {
            symbi_err_clear(err);
            rc = 0;
        }
        if (rc != 0)
            goto fail;
    }
    free(job_name);
    symbi_rules_events_cleanup(&ev);
    if ((rc = sq_commit(s, err)) != 0)
        return rc;
    if (f.news)
        s->local_changes++;
    if (o->dead_lettered != NULL)
        *o->dead_lettered = f.dead;
    return 0;
fail:
    free(job_name);
    symbi_rules_events_cleanup(&ev);
    sq_rollback(s);
    return rc;
}

int sq_recover_expired(struct symbi_store *st, int64_t now, struct symbi_run **runs, size_t *n,
                       struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    *runs = NULL;
    *n = 0;
    int rc = sq_begin(s, err);
    if (rc != 0)
        return rc;
    /* A node with no row or an expired lease is dead. Its queued runs
     * (claimed, waiting out jitter or a slot) never started: they go back
     * to the pool, unowned, for any node's claim_queued; only its running
     * runs were interrupted. */
    struct symbi_run *arr = NULL;
    size_t len = 0;
    rc = write_at(s,
                  "UPDATE runs SET node = NULL, epoch = NULL WHERE status = 'queued' AND "
                  "node IS NOT NULL AND NOT " SQ_LEASE_HELD,
                  now, "releasing queued runs of expired nodes", err);
    if (rc != 0)
        goto fail;
    sqlite3_stmt *q = sq_prep(s,
                              "SELECT " SQ_RUN_COLS " FROM runs WHERE status = 'running' AND node "
                              "IS NOT NULL AND NOT " SQ_LEASE_HELD,
                              err);
    if (q == NULL) {
        rc = prep_fail(err);
        goto fail;
    }
    sqlite3_bind_int64(q, 1, now);
    if ((rc = sq_runs_collect(s, q, &arr, &len, err)) != 0)
        goto fail;
    struct symbi_rules_events ev;
    symbi_rules_events_init(&ev);
    for (size_t i = 0; i < len && rc == 0; i++) {
        if (symbi_rules_run_interrupted(&arr[i], now, &ev) != 0)
            rc = oom(err);
        else {
            arr[i].epoch = 0; /* recovery's write, not the lost node's */
            rc = sq_run_update(st, &arr[i], err);
        }
    }
    if (rc == 0)
        rc = sq_audit_events(s, &ev, err);
    symbi_rules_events_cleanup(&ev);
    if (rc != 0)
        goto fail;
    rc =
        write_at(s, "DELETE FROM nodes WHERE lease_until < ?1", now, "removing expired nodes", err);
    if (rc != 0)
        goto fail;
    if ((rc = sq_commit(s, err)) != 0) {
        symbi_run_list_free(arr, len);
        return rc;
    }
    *runs = arr;
    *n = len;
    return 0;
fail:
    sq_rollback(s);
    symbi_run_list_free(arr, len);
    return rc < 0 ? rc : SYMBI_ESTORE;
}
