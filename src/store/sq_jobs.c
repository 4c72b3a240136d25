/* sq_jobs.c - jobs in the SQLite backend: create (one or a batch), upsert
 * by name, update, lookup, delete, pause/resume/reset, listing and counts.
 * Every change and its audit event commit in one transaction. */
#include "store/sq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SELECT_JOB "SELECT " SQ_JOB_COLS " FROM jobs"

static int prep_fail(struct symbi_err *err)
{
    return err != NULL && err->code != 0 ? err->code : SYMBI_ESTORE;
}

/* Reads the job of exact id into out. */
static int load_job(struct sq_store *s, const char *id, struct symbi_job *out,
                    struct symbi_err *err)
{
    sqlite3_stmt *st = sq_prep(s, SELECT_JOB " WHERE id = ?1", err);
    if (st == NULL)
        return prep_fail(err);
    sq_bind_text(st, 1, id);
    int rc = sq_step(s, st, err, "reading a job");
    if (rc == SQLITE_ROW)
        rc = sq_job_read(st, out) == 0 ? 0
                                       : symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
    else if (rc == SQLITE_DONE)
        rc = symbi_err_set(err, SYMBI_ENOTFOUND, "no job \"%s\"", id);
    sqlite3_reset(st);
    return rc;
}

/* Inserts job (inside a transaction): id, times and next_run filled in,
 * CronJobCreated written. */
static int insert_job(struct sq_store *s, struct symbi_job *job, int64_t now, const char *actor,
                      struct symbi_err *err)
{
    int rc = st_job_check(job, err);
    if (rc != 0)
        return rc;
    if (job->id[0] == '\0' && symbi_uuid_v4(job->id) != 0)
        return symbi_err_set(err, SYMBI_EIO, "store: no randomness for a job id");
    if (job->created_at == SYMBI_TIME_NONE)
        job->created_at = now;
    job->updated_at = now;
    if (job->next_run == SYMBI_TIME_NONE && job->status == SYMBI_JOB_ACTIVE &&
        (rc = sq_job_next(job, now, &job->next_run, err)) != 0)
        return rc;
    sqlite3_stmt *st =
        sq_prep(s, "INSERT INTO jobs (" SQ_JOB_COLS ") VALUES (" SQ_JOB_PARAMS ")", err);
    if (st == NULL)
        return prep_fail(err);
    sq_job_bind(st, job);
    rc = sq_step(s, st, err, "inserting a job");
    sqlite3_reset(st);
    if (rc == SYMBI_EEXIST)
        return symbi_err_set(err, SYMBI_EEXIST, "a job named \"%s\" already exists", job->name);
    if (rc != SQLITE_DONE)
        return rc;
    char next[SYMBI_TIME_STRLEN];
    char *details = sq_json_obj(
        "name", job->name, "agent", job->agent, "cron_expr", job->cron_expr, "source", job->source,
        "next_run", job->next_run == SYMBI_TIME_NONE ? NULL : symbi_time_fmt(job->next_run, next),
        NULL);
    if (details == NULL)
        return symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
    rc = sq_audit(s, now, "CronJobCreated", job->id, job->name, NULL, actor, details, err);
    free(details);
    return rc;
}

int sq_job_create(struct symbi_store *st, struct symbi_job *job, int64_t now, const char *actor,
                  struct symbi_err *err)
{
    return sq_job_create_many(st, job, 1, now, actor, err);
}

int sq_job_create_many(struct symbi_store *st, struct symbi_job *jobs, size_t n, int64_t now,
                       const char *actor, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    int rc = sq_begin(s, err);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if ((rc = insert_job(s, &jobs[i], now, actor, err)) != 0) {
            sq_rollback(s);
            /* nothing of the batch stays: clear the ids handed out */
            for (size_t k = 0; k <= i; k++)
                jobs[k].id[0] = '\0';
            return rc;
        }
    }
    if ((rc = sq_commit(s, err)) != 0) {
        for (size_t k = 0; k < n; k++)
            jobs[k].id[0] = '\0';
        return rc;
    }
    s->local_changes++;
    return 0;
}

/* Writes the definition of `def` onto the stored job `cur` (same id):
 * status, counters and created_at are the store's; next_run is recomputed
 * when the schedule changed. The stored result is copied back into def. */
static int rewrite_job(struct sq_store *s, struct symbi_job *def, const struct symbi_job *cur,
                       int64_t now, const char *actor, struct symbi_err *err)
{
    struct symbi_buf diff;
    symbi_buf_init(&diff, 0);
    int rc = st_job_diff(def, cur, &diff);
    if (rc != 0) {
        symbi_buf_cleanup(&diff);
        return symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
    }
    memcpy(def->id, cur->id, sizeof def->id);
    def->status = cur->status;
    def->created_at = cur->created_at;
    def->last_run = cur->last_run;
    def->run_count = cur->run_count;
    def->failure_count = cur->failure_count;
    def->next_run = cur->next_run;
    def->updated_at = cur->updated_at;
    if (diff.len == 0) {
        symbi_buf_cleanup(&diff);
        return 0;
    }
    def->updated_at = now;
    if (st_job_schedule_changed(def, cur)) {
        /* a new schedule revives a job that had run its course */
        if (def->status == SYMBI_JOB_COMPLETED || def->status == SYMBI_JOB_FAILED)
            def->status = SYMBI_JOB_ACTIVE;
        def->last_run = SYMBI_TIME_NONE;
        if ((rc = sq_job_next(def, now, &def->next_run, err)) != 0)
            goto out;
        def->last_run = cur->last_run;
    }
    /* an UPDATE in place: REPLACE would delete the row and cascade to runs */
    sqlite3_stmt *st =
        sq_prep(s,
                "UPDATE jobs SET name=?2, agent=?3, cron_expr=?4, at=?5, timezone=?6, status=?7, "
                "session_mode=?8, delivery=?9, webhook_url=?10, webhook_headers=?11, "
                "slack_channel=?12, slack_webhook_url=?13, email_recipients=?14, log_file=?15, "
                "policy=?16, hb_set=?17, hb_enabled=?18, hb_context_mode=?19, "
                "hb_max_iterations=?20, max_concurrent=?21, max_retries=?22, jitter_ms=?23, "
                "catch_up=?24, starting_deadline_ms=?25, dst_gap=?26, dst_overlap=?27, "
                "input=?28, agent_pin_jwt=?29, one_shot=?30, deliver=?31, audit=?32, "
                "source=?33, created_at=?34, updated_at=?35, last_run=?36, next_run=?37, "
                "run_count=?38, failure_count=?39 WHERE id=?1",
                err);
    if (st == NULL) {
        rc = prep_fail(err);
        goto out;
    }
    sq_job_bind(st, def);
    rc = sq_step(s, st, err, "updating a job");
    sqlite3_reset(st);
    if (rc == SYMBI_EEXIST) {
        rc = symbi_err_set(err, SYMBI_EEXIST, "a job named \"%s\" already exists", def->name);
        goto out;
    }
    if (rc != SQLITE_DONE)
        goto out;
    char *details = sq_json_obj("changed", symbi_buf_str(&diff), "source", def->source, NULL);
    if (details == NULL) {
        rc = symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
        goto out;
    }
    rc = sq_audit(s, now, "CronJobUpdated", def->id, def->name, NULL, actor, details, err);
    free(details);
out:
    symbi_buf_cleanup(&diff);
    return rc;
}

int sq_job_upsert(struct symbi_store *st, struct symbi_job *job, int64_t now, const char *actor,
                  bool *created, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    int rc = st_job_check(job, err);
    if (rc != 0 || (rc = sq_begin(s, err)) != 0)
        return rc;
    sqlite3_stmt *q = sq_prep(s, SELECT_JOB " WHERE name = ?1", err);
    if (q == NULL) {
        sq_rollback(s);
        return prep_fail(err);
    }
    sq_bind_text(q, 1, job->name);
    struct symbi_job cur;
    symbi_job_init(&cur);
    rc = sq_step(s, q, err, "reading a job");
    bool exists = rc == SQLITE_ROW;
    if (exists && sq_job_read(q, &cur) != 0)
        rc = symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
    sqlite3_reset(q);
    if (rc < 0) {
        sq_rollback(s);
        return rc;
    }
    if (exists)
        rc = rewrite_job(s, job, &cur, now, actor, err);
    else
        rc = insert_job(s, job, now, actor, err);
    symbi_job_cleanup(&cur);
    if (rc == 0)
        rc = sq_commit(s, err);
    else
        sq_rollback(s);
    if (rc == 0) {
        s->local_changes++;
        if (created != NULL)
            *created = !exists;
    } else if (!exists) {
        job->id[0] = '\0';
    }
    return rc;
}

int sq_job_update(struct symbi_store *st, struct symbi_job *job, int64_t now, const char *actor,
                  struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    int rc = st_job_check(job, err);
    if (rc != 0 || (rc = sq_begin(s, err)) != 0)
        return rc;
    char id[SYMBI_UUID_LEN + 1];
    struct symbi_job cur;
    symbi_job_init(&cur);
    if ((rc = sq_job_resolve(s, job->id, id, err)) == 0 && (rc = load_job(s, id, &cur, err)) == 0)
        rc = rewrite_job(s, job, &cur, now, actor, err);
    symbi_job_cleanup(&cur);
    if (rc != 0) {
        sq_rollback(s);
        return rc;
    }
    if ((rc = sq_commit(s, err)) == 0)
        s->local_changes++;
    return rc;
}

int sq_job_get(struct symbi_store *st, const char *ref, struct symbi_job *out,
               struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    symbi_job_init(out);
    char id[SYMBI_UUID_LEN + 1];
    int rc = sq_job_resolve(s, ref, id, err);
    if (rc != 0)
        return rc;
    return load_job(s, id, out, err);
}

int sq_job_delete(struct symbi_store *st, const char *ref, const char *actor, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    int rc = sq_begin(s, err);
    if (rc != 0)
        return rc;
    char id[SYMBI_UUID_LEN + 1];
    struct symbi_job cur;
    symbi_job_init(&cur);
    if ((rc = sq_job_resolve(s, ref, id, err)) != 0 || (rc = load_job(s, id, &cur, err)) != 0)
        goto fail;
    sqlite3_stmt *d = sq_prep(s, "DELETE FROM jobs WHERE id = ?1", err);
    if (d == NULL) {
        rc = prep_fail(err);
        goto fail;
    }
    sq_bind_text(d, 1, id);
    rc = sq_step(s, d, err, "deleting a job");
    sqlite3_reset(d);
    if (rc != SQLITE_DONE)
        goto fail;
    char *details = sq_json_obj("name", cur.name, "cron_expr", cur.cron_expr, NULL);
    if (details == NULL) {
        rc = symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
        goto fail;
    }
    rc =
        sq_audit(s, symbi_now_wall_ms(), "CronJobDeleted", id, cur.name, NULL, actor, details, err);
    free(details);
    if (rc != 0)
        goto fail;
    symbi_job_cleanup(&cur);
    if ((rc = sq_commit(s, err)) == 0)
        s->local_changes++;
    return rc;
fail:
    symbi_job_cleanup(&cur);
    sq_rollback(s);
    return rc;
}

/* Writes status, next_run and failure_count of job `cur` plus an audit
 * event `type` (inside the caller's transaction). */
static int write_state(struct sq_store *s, const struct symbi_job *cur, int64_t now,
                       const char *type, const char *actor, const char *from, struct symbi_err *err)
{
    sqlite3_stmt *u = sq_prep(s,
                              "UPDATE jobs SET status = ?2, next_run = ?3, failure_count = ?4, "
                              "updated_at = ?5 WHERE id = ?1",
                              err);
    if (u == NULL)
        return prep_fail(err);
    sq_bind_text(u, 1, cur->id);
    sq_bind_text(u, 2, symbi_job_status_name(cur->status));
    sq_bind_time(u, 3, cur->next_run);
    sqlite3_bind_int64(u, 4, cur->failure_count);
    sqlite3_bind_int64(u, 5, now);
    int rc = sq_step(s, u, err, "changing a job's status");
    sqlite3_reset(u);
    if (rc != SQLITE_DONE)
        return rc;
    char next[SYMBI_TIME_STRLEN];
    char *details = sq_json_obj(
        "from", from, "to", symbi_job_status_name(cur->status), "next_run",
        cur->next_run == SYMBI_TIME_NONE ? NULL : symbi_time_fmt(cur->next_run, next), NULL);
    if (details == NULL)
        return symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
    rc = sq_audit(s, now, type, cur->id, cur->name, NULL, actor, details, err);
    free(details);
    return rc;
}

static int change_state(struct symbi_store *st, const char *ref, enum symbi_job_status to,
                        bool reset, int64_t now, const char *actor, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    int rc = sq_begin(s, err);
    if (rc != 0)
        return rc;
    char id[SYMBI_UUID_LEN + 1];
    struct symbi_job cur;
    symbi_job_init(&cur);
    const char *type = NULL;
    bool changed = false;
    if ((rc = sq_job_resolve(s, ref, id, err)) == 0 && (rc = load_job(s, id, &cur, err)) == 0) {
        enum symbi_job_status from = cur.status;
        rc = st_job_transition(&cur, to, reset, now, &type, &changed, err);
        if (rc == 0 && changed)
            rc = write_state(s, &cur, now, type, actor, symbi_job_status_name(from), err);
        /* a job that stops firing settles what was waiting to run for it,
         * in this same transaction (issue 10 #11): nothing of it starts */
        const char *why = st_settle_reason(cur.status);
        if (rc == 0 && changed && why != NULL)
            rc = sq_settle_waiting(s, id, why, now, err);
    }
    symbi_job_cleanup(&cur);
    if (rc != 0) {
        sq_rollback(s);
        return rc;
    }
    if ((rc = sq_commit(s, err)) == 0 && changed)
        s->local_changes++;
    return rc;
}

int sq_job_set_status(struct symbi_store *st, const char *id, enum symbi_job_status status,
                      int64_t now, const char *actor, struct symbi_err *err)
{
    return change_state(st, id, status, false, now, actor, err);
}

int sq_job_reset(struct symbi_store *st, const char *id, int64_t now, const char *actor,
                 struct symbi_err *err)
{
    return change_state(st, id, SYMBI_JOB_ACTIVE, true, now, actor, err);
}

int sq_job_list(struct symbi_store *st, const struct symbi_job_filter *f, struct symbi_job **jobs,
                size_t *n, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    static const struct symbi_job_filter none = {0};
    if (f == NULL)
        f = &none;
    char sql[1024];
    snprintf(sql, sizeof sql, SELECT_JOB "%s%s%s%s ORDER BY name LIMIT ?3 OFFSET ?4",
             f->has_status || f->agent ? " WHERE " : "", f->has_status ? "status = ?1" : "",
             f->has_status && f->agent ? " AND " : "", f->agent ? "agent = ?2" : "");
    sqlite3_stmt *q = sq_prep_text(s, sql, err);
    if (q == NULL)
        return prep_fail(err);
    if (f->has_status)
        sq_bind_text(q, 1, symbi_job_status_name(f->status));
    sq_bind_text(q, 2, f->agent);
    sqlite3_bind_int64(q, 3, f->limit > 0 ? f->limit : -1);
    sqlite3_bind_int64(q, 4, f->offset > 0 ? f->offset : 0);
    struct symbi_job *arr = NULL;
    size_t len = 0, cap = 0;
    int rc;
    while ((rc = sq_step(s, q, err, "listing jobs")) == SQLITE_ROW) {
        if (len == cap) {
            size_t nc = cap ? cap * 2 : 16;
            struct symbi_job *p = realloc(arr, nc * sizeof *p);
            if (p == NULL) {
                rc = symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
                break;
            }
            arr = p;
            cap = nc;
        }
        if (sq_job_read(q, &arr[len]) != 0) {
            rc = symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
            break;
        }
        len++;
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        symbi_job_list_free(arr, len);
        return rc;
    }
    *jobs = arr;
    *n = len;
    return 0;
}

int sq_job_counts(struct symbi_store *st, int64_t counts[5], struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    sqlite3_stmt *q = sq_prep(s, "SELECT status, count(*) FROM jobs GROUP BY status", err);
    if (q == NULL)
        return prep_fail(err);
    int64_t c[5] = {0};
    int rc;
    while ((rc = sq_step(s, q, err, "counting jobs")) == SQLITE_ROW) {
        enum symbi_job_status js;
        if (symbi_job_status_parse((const char *)sqlite3_column_text(q, 0), &js) == 0)
            c[js] = sqlite3_column_int64(q, 1);
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE)
        return rc;
    memcpy(counts, c, sizeof c);
    return 0;
}

int sq_next_due(struct symbi_store *st, int64_t *next, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    sqlite3_stmt *q =
        sq_prep(s,
                "SELECT min(next_run) FROM jobs INDEXED BY jobs_due WHERE status = 'active' "
                "AND next_run IS NOT NULL",
                err);
    if (q == NULL)
        return prep_fail(err);
    int rc = sq_step(s, q, err, "finding the next due job");
    if (rc == SQLITE_ROW)
        *next = sq_col_time(q, 0);
    sqlite3_reset(q);
    return rc == SQLITE_ROW ? 0 : rc;
}
