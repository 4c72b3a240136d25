/* sq_jobs.c - jobs in the SQLite backend: create (one or a batch), upsert
 * by name, update, lookup, delete, pause/resume/reset, listing and counts.
 * Every change and its audit event commit in one transaction. */
#include "store/common.h"
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

/* Writes the row of a job that symbi_rules_job_insert prepared. */
static int write_job_row(struct sq_store *s, const struct symbi_job *job, struct symbi_err *err)
{
    sqlite3_stmt *st =
        sq_prep(s, "INSERT INTO jobs (" SQ_JOB_COLS ") VALUES (" SQ_JOB_PARAMS ")", err);
    if (st == NULL)
        return prep_fail(err);
    sq_job_bind(st, job);
    int rc = sq_step(s, st, err, "inserting a job");
    sqlite3_reset(st);
    if (rc == SYMBI_EEXIST)
        return symbi_err_set(err, SYMBI_EEXIST, "a job named \"%s\" already exists", job->name);
    return rc == SQLITE_DONE ? 0 : rc;
}

#define JOB_Q10    "?,?,?,?,?,?,?,?,?,?"
#define JOB_ROW    "(" JOB_Q10 "," JOB_Q10 "," JOB_Q10 ",?,?,?,?,?,?,?,?,?)"
#define JOB_ROWS4  JOB_ROW "," JOB_ROW "," JOB_ROW "," JOB_ROW
#define JOB_ROWS16 JOB_ROWS4 "," JOB_ROWS4 "," JOB_ROWS4 "," JOB_ROWS4
_Static_assert(SQ_JOB_NCOLS == 39 && SQ_BATCH == 32, "JOB_ROW has 39 parameters, 32 rows");

/* The rows of SQ_BATCH prepared jobs in one INSERT: the statement's own
 * cost (five cursors opened and closed, its halt) is paid once for them
 * all. A failed statement has written none of them (ABORT), so on a taken
 * name or id they are written one by one again, for the error that names
 * the job. */
static int write_job_rows(struct sq_store *s, struct symbi_job *const *jobs, struct symbi_err *err)
{
    int rc;
    if (!s->wide_insert) { /* an old SQLite: too many parameters */
        for (int i = 0; i < SQ_BATCH; i++)
            if ((rc = write_job_row(s, jobs[i], err)) != 0)
                return rc;
        return 0;
    }
    sqlite3_stmt *st =
        sq_prep(s, "INSERT INTO jobs (" SQ_JOB_COLS ") VALUES " JOB_ROWS16 "," JOB_ROWS16, err);
    if (st == NULL)
        return prep_fail(err);
    for (int i = 0; i < SQ_BATCH; i++)
        sq_job_bind_at(st, i * SQ_JOB_NCOLS, jobs[i]);
    rc = sq_step(s, st, err, "inserting jobs");
    sqlite3_reset(st);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SYMBI_EEXIST)
        return rc;
    for (int i = 0; i < SQ_BATCH; i++)
        if ((rc = write_job_row(s, jobs[i], err)) != 0)
            return rc;
    return 0;
}

/* Jobs that symbi_rules_job_insert prepared, their rows not yet written:
 * a batch of up to SQ_BATCH and their CronJobCreated events. */
struct pending {
    struct symbi_job *job[SQ_BATCH];
    size_t n;
    struct symbi_rules_events ev;
};

/* Writes the rows, then the events, of p (inside a transaction). */
static int pending_flush(struct sq_store *s, struct pending *p, struct symbi_err *err)
{
    int rc = 0;
    if (p->n == SQ_BATCH)
        rc = write_job_rows(s, p->job, err);
    for (size_t i = 0; rc == 0 && p->n < SQ_BATCH && i < p->n; i++)
        rc = write_job_row(s, p->job[i], err);
    if (rc == 0)
        rc = sq_audit_events(s, &p->ev, err);
    symbi_rules_events_cleanup(&p->ev);
    p->n = 0;
    return rc;
}

/* Prepares job as symbi_rules_job_insert says (id, times, next_run, its
 * event) and adds it to p; a full batch is written. */
static int pending_add(struct sq_store *s, struct pending *p, struct symbi_job *job, int64_t now,
                       const char *actor, struct symbi_err *err)
{
    int rc = symbi_rules_job_insert(job, now, actor, &p->ev, err);
    if (rc != 0)
        return rc;
    p->job[p->n++] = job;
    return p->n == SQ_BATCH ? pending_flush(s, p, err) : 0;
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
    struct pending p = {.n = 0};
    size_t i = 0;
    for (; rc == 0 && i < n; i++)
        rc = pending_add(s, &p, &jobs[i], now, actor, err);
    if (rc == 0)
        rc = pending_flush(s, &p, err);
    symbi_rules_events_cleanup(&p.ev);
    if (rc != 0) {
        sq_rollback(s);
        /* nothing of the batch stays: clear the ids handed out */
        symbi_common_jobs_clear_ids(jobs, i);
        return rc;
    }
    if ((rc = sq_commit(s, err)) != 0) {
        symbi_common_jobs_clear_ids(jobs, n);
        return rc;
    }
    s->local_changes++;
    return 0;
}

/* Writes the definition of `def` onto the stored job `cur` (same id) as
 * symbi_rules_job_rewrite decides; the stored result is copied back into
 * def. */
static int rewrite_job(struct sq_store *s, struct symbi_job *def, const struct symbi_job *cur,
                       int64_t now, const char *actor, struct symbi_err *err)
{
    struct symbi_rules_events ev;
    symbi_rules_events_init(&ev);
    bool changed = false;
    int rc = symbi_rules_job_rewrite(def, cur, now, actor, &changed, &ev, err);
    if (rc != 0 || !changed)
        goto out;
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
    if (rc == SYMBI_EEXIST)
        rc = symbi_err_set(err, SYMBI_EEXIST, "a job named \"%s\" already exists", def->name);
    else if (rc == SQLITE_DONE)
        rc = sq_audit_events(s, &ev, err);
out:
    symbi_rules_events_cleanup(&ev);
    return rc;
}

/* Reads the job named name into cur, when there is one. */
static int lookup_name(struct sq_store *s, const char *name, struct symbi_job *cur, bool *exists,
                       struct symbi_err *err)
{
    sqlite3_stmt *q = sq_prep(s, SELECT_JOB " WHERE name = ?1", err);
    if (q == NULL)
        return prep_fail(err);
    sq_bind_text(q, 1, name);
    int rc = sq_step(s, q, err, "reading a job");
    *exists = rc == SQLITE_ROW;
    if (*exists && sq_job_read(q, cur) != 0)
        rc = symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
    sqlite3_reset(q);
    return rc < 0 ? rc : 0;
}

/* Upserts job (inside a transaction): a new one joins the batch p, an
 * existing one is rewritten in place after p is written (so that the
 * events keep the jobs' order). *fresh says it was new. */
static int upsert_one(struct sq_store *s, struct pending *p, struct symbi_job *job, int64_t now,
                      const char *actor, bool *fresh, struct symbi_err *err)
{
    int rc = 0;
    /* a name of the batch not yet written: written first, so that the
     * lookup finds it and this definition updates it */
    for (size_t k = 0; rc == 0 && k < p->n; k++)
        if (strcmp(p->job[k]->name, job->name) == 0)
            rc = pending_flush(s, p, err);
    struct symbi_job cur;
    symbi_job_init(&cur);
    bool exists = false;
    if (rc == 0)
        rc = lookup_name(s, job->name, &cur, &exists, err);
    if (rc == 0 && exists) {
        if (p->n > 0)
            rc = pending_flush(s, p, err);
        if (rc == 0)
            rc = rewrite_job(s, job, &cur, now, actor, err);
    } else if (rc == 0) {
        *fresh = true;
        rc = pending_add(s, p, job, now, actor, err);
    }
    symbi_job_cleanup(&cur);
    return rc;
}

int sq_job_upsert_many(struct symbi_store *st, struct symbi_job *jobs, size_t n, int64_t now,
                       const char *actor, bool *created, struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    /* store.c checked the definitions (symbi_rules_job_check) */
    for (size_t i = 0; i < n; i++)
        created[i] = false;
    int rc = sq_begin(s, err);
    if (rc != 0)
        return rc;
    struct pending p = {.n = 0};
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = upsert_one(s, &p, &jobs[i], now, actor, &created[i], err);
    if (rc == 0)
        rc = pending_flush(s, &p, err);
    symbi_rules_events_cleanup(&p.ev);
    if (rc == 0)
        rc = sq_commit(s, err);
    else
        sq_rollback(s);
    if (rc == 0) {
        s->local_changes++;
        return 0;
    }
    symbi_common_jobs_unmake(jobs, created, n);
    return rc;
}

int sq_job_upsert(struct symbi_store *st, struct symbi_job *job, int64_t now, const char *actor,
                  bool *created, struct symbi_err *err)
{
    bool c = false;
    int rc = sq_job_upsert_many(st, job, 1, now, actor, &c, err);
    if (rc == 0 && created != NULL)
        *created = c;
    return rc;
}

int sq_job_update(struct symbi_store *st, struct symbi_job *job, int64_t now, const char *actor,
                  struct symbi_err *err)
{
    struct sq_store *s = sq_of(st);
    /* store.c checked the definition (symbi_rules_job_check) */
    int rc = sq_begin(s, err);
    if (rc != 0)
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
    struct symbi_rules_events ev;
    symbi_rules_events_init(&ev);
    rc = symbi_rules_ev_job_deleted(&ev, &cur, symbi_now_wall_ms(), actor);
    rc = rc != 0 ? symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory")
                 : sq_audit_events(s, &ev, err);
    symbi_rules_events_cleanup(&ev);
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

/* Writes status, next_run and failure_count of job `cur` (inside the
 * caller's transaction). */
static int write_state(struct sq_store *s, const struct symbi_job *cur, int64_t now,
                       struct symbi_err *err)
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
    return rc == SQLITE_DONE ? 0 : rc;
}

/* A status change as symbi_rules_job_change decides it: the job's row, its
 * settled queued runs and the event, in one transaction. */
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
    struct symbi_rules_state ch = {0};
    struct symbi_rules_events ev;
    symbi_rules_events_init(&ev);
    if ((rc = sq_job_resolve(s, ref, id, err)) == 0 && (rc = load_job(s, id, &cur, err)) == 0 &&
        (rc = symbi_rules_job_change(&cur, to, reset, now, actor, &ch, &ev, err)) == 0 &&
        ch.changed) {
        rc = write_state(s, &cur, now, err);
        if (rc == 0)
            rc = sq_audit_events(s, &ev, err);
        if (rc == 0 && ch.settle != NULL)
            rc = sq_settle_waiting(s, id, ch.settle, now, err);
    }
    symbi_rules_events_cleanup(&ev);
    symbi_job_cleanup(&cur);
    if (rc != 0) {
        sq_rollback(s);
        return rc;
    }
    if ((rc = sq_commit(s, err)) == 0 && ch.changed)
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
