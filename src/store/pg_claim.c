/* pg_claim.c - the scheduler's transactions in the PostgreSQL backend:
 * claiming due fires with row locks that other nodes skip (SPEC §5.1, §13),
 * taking unowned queued runs, recording a finished run with the job's
 * counters, and recovering the runs of nodes whose lease expired. */
#include "store/common.h"
#include "store/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLAIM_DEFAULT_LIMIT 1000

/* ---- claims whose COMMIT answer was lost ----
 * A connection that breaks during COMMIT leaves the outcome unknown: the
 * runs may be recorded, queued and owned by this node, with nobody to
 * start them. Their ids are kept; the node's next claim hands over those
 * the store holds (still queued and owned by the node), so a claimed fire
 * is never lost and never started twice. */

static void limbo_keep(struct pg_store *s, const char *node, const struct symbi_run *runs, size_t n)
{
    if (n == 0)
        return;
    if (s->limbo_node == NULL || strcmp(s->limbo_node, node) != 0) {
        s->n_limbo = 0;
        free(s->limbo_node);
        s->limbo_node = symbi_strdup(node);
    }
    if (s->limbo == NULL)
        s->limbo = calloc(PG_LIMBO_MAX, sizeof *s->limbo);
    if (s->limbo == NULL || s->limbo_node == NULL)
        return;
    for (size_t i = 0; i < n && s->n_limbo < PG_LIMBO_MAX; i++)
        memcpy(s->limbo[s->n_limbo++], runs[i].id, SYMBI_UUID_LEN + 1);
}

/* Adds the runs of the limbo that the store holds for node to the result
 * (inside the claim's transaction, rows locked). */
static int limbo_take(struct pg_store *s, const char *node, struct symbi_run **out, size_t *n,
                      size_t *cap, struct symbi_err *err)
{
    if (s->n_limbo == 0 || s->limbo_node == NULL || strcmp(s->limbo_node, node) != 0)
        return 0;
    struct symbi_buf ids;
    symbi_buf_init(&ids, 0);
    int rc = symbi_buf_putc(&ids, '{');
    for (size_t i = 0; rc == 0 && i < s->n_limbo; i++)
        rc = symbi_buf_printf(&ids, "%s%s", i ? "," : "", s->limbo[i]);
    if (rc == 0)
        rc = symbi_buf_putc(&ids, '}');
    if (rc != 0) {
        symbi_buf_cleanup(&ids);
        return pg_oom(err);
    }
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, symbi_buf_str(&ids));
    pgp_text(&p, node);
    PGresult *r = NULL;
    rc = pg_q(s,
              "SELECT " PG_RUN_COLS " FROM runs WHERE id = ANY($1::text[]) AND status = 'queued' "
              "AND node = $2 FOR UPDATE",
              &p, &r, "finding runs of a claim whose commit was not confirmed", err);
    symbi_buf_cleanup(&ids);
    if (rc != 0)
        return rc;
    struct symbi_run *got = NULL;
    size_t ngot = 0;
    if ((rc = pg_runs_collect(r, &got, &ngot, err)) != 0)
        return rc;
    for (size_t i = 0; i < ngot; i++) {
        if (pg_runs_push(out, n, cap, &got[i]) != 0) {
            symbi_run_list_free(got + i, ngot - i);
            free(got);
            return pg_oom(err);
        }
    }
    free(got);
    return 0;
}

/* Commits a claim; on a lost connection its runs go to the limbo. */
static int commit_claim(struct pg_store *s, const char *node, const struct symbi_run *runs,
                        size_t n, struct symbi_err *err)
{
    int rc = pg_commit(s, err);
    if (rc == 0)
        s->n_limbo = 0;
    else if (rc == SYMBI_EIO)
        limbo_keep(s, node, runs, n);
    return rc;
}

/* ---- due fires ---- */

/* Moves the job's next_run (and status); the row is locked by the claim. */
static int set_job_schedule(struct pg_store *s, const struct symbi_job *job, int64_t next_run,
                            enum symbi_job_status status, struct symbi_err *err)
{
    if (next_run == job->next_run && status == job->status)
        return 0; /* nothing to write */
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, job->id);
    pgp_time(&p, next_run);
    pgp_text(&p, symbi_job_status_name(status));
    int64_t n = 0;
    int rc = pg_x(s, "UPDATE jobs SET next_run = $2, status = $3 WHERE id = $1", &p, &n,
                  "advancing a job", err);
    if (rc == 0 && n != 1)
        return symbi_err_set(err, SYMBI_ESTORE, "store: job %s changed during its claim", job->id);
    return rc;
}

/* A planner that failed on a job must not block every other job: that
 * job alone becomes `failed`, with the reason in its audit event. */
static int fail_job(struct pg_store *s, const struct symbi_job *job, int64_t now, int code,
                    const char *why, struct symbi_err *err)
{
    int rc = set_job_schedule(s, job, SYMBI_TIME_NONE, SYMBI_JOB_FAILED, err);
    if (rc != 0)
        return rc;
    struct symbi_rules_events ev;
    symbi_rules_events_init(&ev);
    rc = symbi_rules_ev_plan_failed(&ev, job, code, why, now) != 0 ? pg_oom(err)
                                                                   : pg_audit_events(s, &ev, err);
    symbi_rules_events_cleanup(&ev);
    if (rc == 0)
        rc = pg_settle_waiting(s, job->id, symbi_rules_settle_reason(SYMBI_JOB_FAILED), now, err);
    s->dirty = true;
    return rc;
}

/* Records the plan of one job; queued runs move into the result array. */
static int record_plan(struct pg_store *s, const struct symbi_job *job, struct symbi_fire_plan *p,
                       int64_t now, const char *node, struct symbi_run **out, size_t *n,
                       size_t *cap, struct symbi_err *err)
{
    symbi_common_plan_clamp(p);
    for (size_t i = 0; i < p->n_runs; i++) {
        struct symbi_run *r = &p->runs[i];
        if (symbi_common_plan_run_fill(r, job, node, now, s->claim_epoch) != 0)
            return pg_oom(err);
        int rc = pg_run_insert_row(s, r, err);
        if (rc == SYMBI_EEXIST) {
            /* this instant is already in the ledger: never fire it twice */
            symbi_err_clear(err);
            r->id[0] = '\0';
            continue;
        }
        if (rc != 0)
            return rc;
        if (r->status == SYMBI_RUN_QUEUED) {
            if (pg_runs_push(out, n, cap, r) != 0)
                return pg_oom(err);
            symbi_run_init(r); /* ownership moved to the result */
        }
    }
    return set_job_schedule(s, job, p->next_run, p->status, err);
}

/* The due jobs, locked; jobs another node is claiming are skipped. */
static int due_jobs(struct pg_store *s, int64_t now, size_t limit, PGresult **r,
                    struct symbi_err *err)
{
    struct pg_params p;
    pgp_init(&p);
    pgp_i64(&p, now);
    pgp_i64(&p, (int64_t)limit);
    /* a node takes its share of what is due (due / live nodes, rounded
     * up), so that the fires of one instant spread over the nodes instead
     * of going to whichever claims first; what is left is due still and
     * the next claim (of any node) takes it (pg_lease.c, docs/store.md) */
    return pg_q(s,
                "SELECT " PG_JOB_COLS " FROM jobs WHERE status = 'active' AND next_run <= $1 "
                "ORDER BY next_run LIMIT " PG_CLAIM_SHARE " FOR UPDATE SKIP LOCKED",
                &p, r, "selecting due jobs", err);
}

static int plan_all(struct pg_store *s, PGresult *due, int64_t now, const char *node,
                    symbi_fire_planner plan, void *ud, struct symbi_fire_plan *p,
                    struct symbi_run **out, size_t *nout, size_t *cap, struct symbi_err *err)
{
    int rows = PQntuples(due);
    int rc = 0;
    for (int i = 0; i < rows && rc == 0; i++) {
        struct symbi_job job;
        if (pg_job_read(due, i, &job) != 0)
            return pg_oom(err);
        symbi_common_plan_reset(p, &job, false);
        int prc = plan(ud, &job, now, p);
        if (prc != 0) {
            struct symbi_err perr = {0};
            symbi_common_plan_reset(p, &job, true);
            symbi_err_set(&perr, prc, "planning the job's fires failed: %s", symbi_strerror(prc));
            rc = fail_job(s, &job, now, prc, perr.msg, err);
        } else {
            rc = record_plan(s, &job, p, now, node, out, nout, cap, err);
        }
        symbi_common_plan_reset(p, NULL, false);
        symbi_job_cleanup(&job);
    }
    return rc;
}

int pg_claim_due(struct symbi_store *st, int64_t now, size_t limit, const char *node,
                 symbi_fire_planner plan, void *ud, struct symbi_run **runs, size_t *n,
                 struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    *runs = NULL;
    *n = 0;
    if (limit == 0)
        limit = CLAIM_DEFAULT_LIMIT;
    struct symbi_fire_plan *p = malloc(sizeof *p);
    if (p == NULL)
        return pg_oom(err);
    for (size_t i = 0; i < SYMBI_PLAN_MAX_RUNS; i++)
        symbi_run_init(&p->runs[i]);
    p->n_runs = 0;
    struct symbi_run *out = NULL;
    size_t nout = 0, cap = 0;
    PGresult *due = NULL;
    int rc = pg_begin(s, err);
    if (rc != 0)
        goto done;
    if ((rc = limbo_take(s, node, &out, &nout, &cap, err)) != 0 ||
        (rc = pg_claim_epoch(s, node, now, &s->claim_epoch, err)) != 0 ||
        (rc = due_jobs(s, now, limit, &due, err)) != 0 ||
        (rc = plan_all(s, due, now, node, plan, ud, p, &out, &nout, &cap, err)) != 0) {
        pg_rollback(s);
        goto done;
    }
    if ((rc = commit_claim(s, node, out, nout, err)) != 0)
        goto done;
    *runs = out;
    *n = nout;
    out = NULL;
    nout = 0;
done:
    PQclear(due);
    symbi_common_plan_reset(p, NULL, true);
    free(p);
    symbi_run_list_free(out, nout);
    return rc;
}

int pg_claim_queued(struct symbi_store *st, int64_t now, size_t limit, const char *node,
                    struct symbi_run **runs, size_t *n, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    *runs = NULL;
    *n = 0;
    if (limit == 0)
        limit = CLAIM_DEFAULT_LIMIT;
    int rc = pg_begin(s, err);
    if (rc != 0)
        return rc;
    struct symbi_run *arr = NULL;
    size_t len = 0, cap = 0;
    /* a job that stops firing settles its waiting runs in its own
     * transaction, so every queued run here may start; a run another node
     * is taking is skipped, so each is taken by exactly one node */
    struct pg_params p;
    pgp_init(&p);
    pgp_i64(&p, now);
    pgp_i64(&p, (int64_t)limit);
    pgp_text(&p, node);
    PGresult *r = NULL;
    if ((rc = limbo_take(s, node, &arr, &len, &cap, err)) != 0 ||
        (rc = pg_q(s,
                   "UPDATE runs SET node = $3, epoch = (SELECT epoch FROM nodes WHERE name = $3 "
                   "AND lease_until >= $1) WHERE id IN (SELECT id FROM runs WHERE status = "
                   "'queued' AND due_at <= $1 AND node IS NULL ORDER BY due_at LIMIT $2 FOR "
                   "UPDATE SKIP LOCKED) RETURNING " PG_RUN_COLS,
                   &p, &r, "taking queued runs", err)) != 0)
        goto fail;
    /* RETURNING has no order: oldest due first, as the caller expects */
    struct symbi_run *got = NULL;
    size_t ngot = 0;
    if ((rc = pg_runs_collect(r, &got, &ngot, err)) != 0)
        goto fail;
    for (size_t i = 1; i < ngot; i++) {
        struct symbi_run key = got[i];
        size_t j = i;
        for (; j > 0 && got[j - 1].due_at > key.due_at; j--)
            got[j] = got[j - 1];
        got[j] = key;
    }
    for (size_t i = 0; i < ngot; i++) {
        if (pg_runs_push(&arr, &len, &cap, &got[i]) != 0) {
            symbi_run_list_free(got + i, ngot - i);
            free(got);
            rc = pg_oom(err);
            goto fail;
        }
    }
    free(got);
    if ((rc = commit_claim(s, node, arr, len, err)) != 0) {
        symbi_run_list_free(arr, len);
        return rc;
    }
    *runs = arr;
    *n = len;
    return 0;
fail:
    pg_rollback(s);
    symbi_run_list_free(arr, len);
    return rc;
}

/* ---- recovery ---- */

int pg_recover_expired(struct symbi_store *st, int64_t now, struct symbi_run **runs, size_t *n,
                       struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    *runs = NULL;
    *n = 0;
    int rc = pg_begin(s, err);
    if (rc != 0)
        return rc;
    /* A node with no row or an expired lease is dead. Its queued runs never
     * started: they go back to the pool, unowned; only its running runs
     * were interrupted. Rows another node is recovering are skipped. The
     * running runs come in job order, so that what the caller then locks
     * of their jobs (the retries' inserts) comes in the order every
     * recorder locks job rows: measured before, with a 15 s lease and 80
     * runs to recover, a deadlock with two nodes' recorders that held the
     * recovery (and the loop) for seconds. */
    struct symbi_run *arr = NULL;
    size_t len = 0;
    struct pg_params p;
    pgp_init(&p);
    pgp_i64(&p, now);
    PGresult *r = NULL;
    if ((rc = pg_x(s,
                   "UPDATE runs SET node = NULL, epoch = NULL WHERE id IN (SELECT id FROM runs "
                   "WHERE status = 'queued' AND node IS NOT NULL AND NOT " PG_LEASE_HELD
                   " FOR UPDATE SKIP LOCKED)",
                   &p, NULL, "releasing queued runs of expired nodes", err)) != 0 ||
        (rc = pg_q(s,
                   "SELECT " PG_RUN_COLS " FROM runs WHERE status = 'running' AND node IS NOT "
                   "NULL AND NOT " PG_LEASE_HELD " ORDER BY job_id FOR UPDATE SKIP LOCKED",
                   &p, &r, "finding runs of expired nodes", err)) != 0 ||
        (rc = pg_runs_collect(r, &arr, &len, err)) != 0)
        goto fail;
    struct symbi_rules_events ev;
    symbi_rules_events_init(&ev);
    for (size_t i = 0; i < len && rc == 0; i++) {
        if (symbi_rules_run_interrupted(&arr[i], now, &ev) != 0)
            rc = pg_oom(err);
        else {
            arr[i].epoch = 0; /* recovery's write, not the lost node's */
            rc = pg_run_update(st, &arr[i], err);
        }
    }
    if (rc == 0)
        rc = pg_audit_events(s, &ev, err);
    symbi_rules_events_cleanup(&ev);
    if (rc != 0)
        goto fail;
    if ((rc = pg_x(s, "DELETE FROM nodes WHERE lease_until < $1", &p, NULL,
                   "removing expired nodes", err)) != 0)
        goto fail;
    if ((rc = pg_commit(s, err)) != 0) {
        symbi_run_list_free(arr, len);
        return rc;
    }
    *runs = arr;
    *n = len;
    return 0;
fail:
    pg_rollback(s);
    symbi_run_list_free(arr, len);
    return rc;
}
