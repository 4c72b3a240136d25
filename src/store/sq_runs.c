/* sq_runs.c - run records in the SQLite backend: insert (the fire ledger
 * keeps (job_id, scheduled_at, attempt) unique), update, compare-and-set
 * transitions, approval decisions, lookup, listing and counting. */
#include "store/sq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SELECT_RUN "SELECT " SQ_RUN_COLS " FROM runs"

static int prep_fail(struct symbi_err *err)
{
    return err != NULL && err->code != 0 ? err->code : SYMBI_ESTORE;
}

static int load_run(struct sq_store *s, const char *id, struct symbi_run *out,
                    struct symbi_err *err)
{
    sqlite3_stmt *st = sq_prep(s, SELECT_RUN " WHERE id = ?1", err);
    if (st == NULL)
        return prep_fail(err);
    sq_bind_text(st, 1, id);
    int rc = sq_step(s, st, err, "reading a run");
    if (rc == SQLITE_ROW)
        rc = sq_run_read(st, out) == 0 ? 0
                                       : symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
    else if (rc == SQLITE_DONE)
        rc = symbi_err_set(err, SYMBI_ENOTFOUND, "no run \"%s\"", id);
    sqlite3_reset(st);
    return rc;
}

/* Fills job_name and agent of run from its job when the caller left them
 * unset; SYMBI_ENOTFOUND when the job does not exist. */
static int fill_from_job(struct sq_store *s, struct symbi_run *run, struct symbi_err *err)
{
    sqlite3_stmt *q = sq_prep(s, "SELECT name, agent FROM jobs WHERE id = ?1", err);
    if (q == NULL)
        return prep_fail(err);
    sq_bind_text(q, 1, run->job_id);
    int rc = sq_step(s, q, err, "reading a run's job");
    bool oom = false;
    if (rc == SQLITE_ROW) {
        if (run->job_name == NULL)
            run->job_name = sq_col_str(q, 0, &oom);
        if (run->agent == NULL)
            run->agent = sq_col_str(q, 1, &oom);
        rc = oom ? symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory") : 0;
    } else if (rc == SQLITE_DONE) {
        rc = symbi_err_set(err, SYMBI_ENOTFOUND, "no job \"%s\" for the run", run->job_id);
    }
    sqlite3_reset(q);
    return rc;
}

int sq_run_insert_row(struct sq_store *s, struct symbi_run *run, struct symbi_err *err)
{
    int rc = symbi_rules_run_defaults(run, symbi_now_wall_ms(), err);
    if (rc != 0)
        return rc;
    if ((run->job_name == NULL || run->agent == NULL) && (rc = fill_from_job(s, run, err)) != 0)
        return rc;
    sqlite3_stmt *st =
        sq_prep(s, "INSERT INTO runs (" SQ_RUN_COLS ") VALUES (" SQ_RUN_PARAMS ")", err);
    if (st == NULL)
        return prep_fail(err);
    sq_run_bind(st, run);
    rc = sq_step(s, st, err, "recording a run");
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc == SYMBI_EEXIST) {
        char at[SYMBI_TIME_STRLEN];
        return symbi_err_set(err, SYMBI_EEXIST, "job %s already has a run for %s (attempt %d)",
                             run->job_id, symbi_time_fmt(run->scheduled_at, at), run->attempt);
    }
    if (rc == SYMBI_ESTORE && err != NULL && strstr(err->msg, "FOREIGN KEY") != NULL)
        return symbi_err_set(err, SYMBI_ENOTFOUND, "no job \"%s\" for the run", run->job_id);
    return rc;
}

int sq_run_insert(struct symbi_store *st, struct symbi_run *run, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    int rc = sq_begin(s, err);
    if (rc != 0)
        return rc;
    if ((rc = sq_run_insert_row(s, run, err)) != 0) {
        sq_rollback(s);
        return rc;
    }
    if ((rc = sq_commit(s, err)) == 0)
        s->local_changes++; /* a queued run is news for the scheduler */
    return rc;
}

int sq_run_update(struct symbi_store *st, const struct symbi_run *run, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    sqlite3_stmt *u = sq_prep(
        s,
        "UPDATE runs SET job_name=?3, agent=?4, trigger=?5, scheduled_at=?6, due_at=?7, "
        "started_at=?8, finished_at=?9, jitter_ms=?10, status=?11, attempt=?12, input=?13, "
        "output=?14, output_truncated=?15, stderr_text=?16, summary=?17, error_message=?18, "
        "exit_code=?19, execution_time_ms=?20, node=?21, iterations=?22, deliveries=?23, "
        "approver=?24, iteration_outputs=?26, tool_calls=?27, prompt_tokens=?28, "
        "completion_tokens=?29 WHERE id=?1 AND job_id=?2 AND "
        /* a node writes a run it took only while it still owns it under
         * the epoch it took it with (sq_lease.c) */
        "(?30 IS NULL OR (node IS ?21 AND epoch IS ?30))",
        err);
    if (u == NULL)
        return prep_fail(err);
    sq_run_bind(u, run);
    int rc = sq_step(s, u, err, "updating a run");
    sqlite3_reset(u);
    if (rc != SQLITE_DONE)
        return rc;
    if (sqlite3_changes(s->db) == 0)
        return sq_lease_refused(s, run, err);
    return 0;
}

int sq_run_transition(struct symbi_store *st, const char *id, enum symbi_run_status from,
                      enum symbi_run_status to, int64_t now, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    sqlite3_stmt *u =
        sq_prep(s,
                "UPDATE runs SET status = ?3,"
                " started_at = CASE WHEN ?3 = 'running' THEN coalesce(started_at, ?4)"
                "  ELSE started_at END,"
                " finished_at = CASE WHEN ?5 THEN coalesce(finished_at, ?4) ELSE finished_at END"
                " WHERE id = ?1 AND status = ?2",
                err);
    if (u == NULL)
        return prep_fail(err);
    sq_bind_text(u, 1, id);
    sq_bind_text(u, 2, symbi_run_status_name(from));
    sq_bind_text(u, 3, symbi_run_status_name(to));
    sqlite3_bind_int64(u, 4, now);
    sqlite3_bind_int(u, 5, symbi_run_status_final(to));
    int rc = sq_step(s, u, err, "changing a run's status");
    sqlite3_reset(u);
    if (rc != SQLITE_DONE)
        return rc;
    if (sqlite3_changes(s->db) == 1)
        return 0;
    struct symbi_run cur;
    symbi_run_init(&cur);
    rc = load_run(s, id, &cur, err);
    if (rc == 0)
        rc = symbi_err_set(err, SYMBI_ESTATE, "run %s is %s, not %s", id,
                           symbi_run_status_name(cur.status), symbi_run_status_name(from));
    symbi_run_cleanup(&cur);
    return rc;
}

int sq_run_decide(struct symbi_store *st, const char *ref, bool approve, const char *approver,
                  const char *reason, int64_t now, struct symbi_run *out, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    int rc = sq_begin(s, err);
    if (rc != 0)
        return rc;
    char id[SYMBI_UUID_LEN + 1];
    struct symbi_run cur;
    symbi_run_init(&cur);
    struct symbi_rules_events ev;
    symbi_rules_events_init(&ev);
    if ((rc = sq_run_resolve(s, ref, id, err)) != 0 || (rc = load_run(s, id, &cur, err)) != 0)
        goto fail;
    if ((rc = symbi_rules_run_decide(&cur, approve, approver, reason, now, &ev, err)) != 0)
        goto fail;
    if ((rc = sq_run_update(st, &cur, err)) != 0)
        goto fail;
    sqlite3_stmt *a = sq_prep(s,
                              "INSERT INTO approvals (run_id, decision, approver, reason, at) "
                              "VALUES (?1, ?2, ?3, ?4, ?5)",
                              err);
    if (a == NULL) {
        rc = prep_fail(err);
        goto fail;
    }
    sq_bind_text(a, 1, id);
    sq_bind_text(a, 2, approve ? "approved" : "denied");
    sq_bind_text(a, 3, approver);
    sq_bind_text(a, 4, reason);
    sqlite3_bind_int64(a, 5, now);
    rc = sq_step(s, a, err, "recording an approval");
    sqlite3_reset(a);
    if (rc != SQLITE_DONE)
        goto fail;
    if ((rc = sq_audit_events(s, &ev, err)) != 0)
        goto fail;
    symbi_rules_events_cleanup(&ev);
    if ((rc = sq_commit(s, err)) != 0) { /* rolled back */
        symbi_run_cleanup(&cur);
        return rc;
    }
    s->local_changes++;
    if (out != NULL)
        *out = cur;
    else
        symbi_run_cleanup(&cur);
    return 0;
fail:
    symbi_rules_events_cleanup(&ev);
    symbi_run_cleanup(&cur);
    sq_rollback(s);
    return rc;
}

int sq_run_get(struct symbi_store *st, const char *ref, struct symbi_run *out,
               struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    symbi_run_init(out);
    char id[SYMBI_UUID_LEN + 1];
    int rc = sq_run_resolve(s, ref, id, err);
    if (rc != 0)
        return rc;
    return load_run(s, id, out, err);
}

/* WHERE clause of a run filter, binding ?1..?4 */
static void run_where(const struct symbi_run_filter *f, char *out, size_t size)
{
    const char *parts[4];
    size_t n = 0;
    if (f->job_id != NULL)
        parts[n++] = "job_id = ?1";
    if (f->has_status)
        parts[n++] = "status = ?2";
    if (f->node != NULL)
        parts[n++] = "node = ?3";
    if (f->due_before != SYMBI_TIME_NONE)
        parts[n++] = "due_at <= ?4";
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, size - len, "%s%s", i ? " AND " : " WHERE ", parts[i]);
}

static void run_bind_filter(sqlite3_stmt *q, const struct symbi_run_filter *f)
{
    sq_bind_text(q, 1, f->job_id);
    if (f->has_status)
        sq_bind_text(q, 2, symbi_run_status_name(f->status));
    sq_bind_text(q, 3, f->node);
    sq_bind_time(q, 4, f->due_before);
}

static const struct symbi_run_filter no_run_filter = {.due_before = SYMBI_TIME_NONE};

int sq_run_list(struct symbi_store *st, const struct symbi_run_filter *f, struct symbi_run **runs,
                size_t *n, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    if (f == NULL)
        f = &no_run_filter;
    char where[160], sql[640];
    run_where(f, where, sizeof where);
    snprintf(sql, sizeof sql,
             SELECT_RUN "%s ORDER BY scheduled_at %s, attempt %s, created_at %s LIMIT ?5 OFFSET ?6",
             where, f->oldest_first ? "ASC" : "DESC", f->oldest_first ? "ASC" : "DESC",
             f->oldest_first ? "ASC" : "DESC");
    sqlite3_stmt *q = sq_prep_text(s, sql, err);
    if (q == NULL)
        return prep_fail(err);
    run_bind_filter(q, f);
    sqlite3_bind_int64(q, 5, f->limit > 0 ? f->limit : -1);
    sqlite3_bind_int64(q, 6, f->offset > 0 ? f->offset : 0);
    return sq_runs_collect(s, q, runs, n, err);
}

int sq_run_count(struct symbi_store *st, const struct symbi_run_filter *f, int64_t *n,
                 struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    if (f == NULL)
        f = &no_run_filter;
    char where[160], sql[256];
    run_where(f, where, sizeof where);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM runs%s", where);
    sqlite3_stmt *q = sq_prep_text(s, sql, err);
    if (q == NULL)
        return prep_fail(err);
    run_bind_filter(q, f);
    int rc = sq_step(s, q, err, "counting runs");
    if (rc == SQLITE_ROW)
        *n = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    return rc == SQLITE_ROW ? 0 : rc;
}
