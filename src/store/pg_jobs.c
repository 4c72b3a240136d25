/* pg_jobs.c - jobs in the PostgreSQL backend: create (one or a batch),
 * upsert by name, update, lookup, delete, pause/resume/reset, listing and
 * counts. Every change and its audit event commit in one transaction. */
#include "store/common.h"
#include "store/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SELECT_JOB "SELECT " PG_JOB_COLS " FROM jobs"

int pg_load_job(struct pg_store *s, const char *id, bool lock, struct symbi_job *out,
                struct symbi_err *err)
{
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, id);
    PGresult *r = NULL;
    int rc = pg_q(s, lock ? SELECT_JOB " WHERE id = $1 FOR UPDATE" : SELECT_JOB " WHERE id = $1",
                  &p, &r, "reading a job", err);
    if (rc != 0)
        return rc;
    if (PQntuples(r) == 0)
        rc = symbi_err_set(err, SYMBI_ENOTFOUND, "no job \"%s\"", id);
    else if (pg_job_read(r, 0, out) != 0)
        rc = pg_oom(err);
    PQclear(r);
    return rc;
}

/* Inserts job (inside a transaction): id, times and next_run filled in and
 * CronJobCreated written, as symbi_rules_job_insert says. */
static int insert_job(struct pg_store *s, struct symbi_job *job, int64_t now, const char *actor,
                      struct symbi_err *err)
{
    struct symbi_rules_events ev;
    symbi_rules_events_init(&ev);
    int rc = symbi_rules_job_insert(job, now, actor, &ev, err);
    if (rc == 0) {
        struct pg_params p;
        pg_job_params(&p, job);
        rc = pg_x(s, "INSERT INTO jobs (" PG_JOB_COLS ") VALUES (" PG_JOB_PARAMS ")", &p, NULL,
                  "inserting a job", err);
        if (rc == SYMBI_EEXIST)
            rc = symbi_err_set(err, SYMBI_EEXIST, "a job named \"%s\" already exists", job->name);
        else if (rc == 0)
            rc = pg_audit_events(s, &ev, err);
    }
    symbi_rules_events_cleanup(&ev);
    return rc;
}

int pg_job_create(struct symbi_store *st, struct symbi_job *job, int64_t now, const char *actor,
                  struct symbi_err *err)
{
    return pg_job_create_many(st, job, 1, now, actor, err);
}

int pg_job_create_many(struct symbi_store *st, struct symbi_job *jobs, size_t n, int64_t now,
                       const char *actor, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    int rc = pg_begin(s, err);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        if ((rc = insert_job(s, &jobs[i], now, actor, err)) != 0) {
            pg_rollback(s);
            /* nothing of the batch stays: clear the ids handed out */
            symbi_common_jobs_clear_ids(jobs, i + 1);
            return rc;
        }
    }
    s->dirty = true;
    if ((rc = pg_commit(s, err)) != 0) {
        symbi_common_jobs_clear_ids(jobs, n);
        return rc;
    }
    return 0;
}

/* Writes the definition of `def` onto the stored job `cur` (same id, row
 * locked) as symbi_rules_job_rewrite decides; the stored result is copied
 * back into def. */
static int rewrite_job(struct pg_store *s, struct symbi_job *def, const struct symbi_job *cur,
                       int64_t now, const char *actor, struct symbi_err *err)
{
    struct symbi_rules_events ev;
    symbi_rules_events_init(&ev);
    bool changed = false;
    int rc = symbi_rules_job_rewrite(def, cur, now, actor, &changed, &ev, err);
    if (rc != 0 || !changed)
        goto out;
    struct pg_params p;
    pg_job_params(&p, def);
    rc = pg_x(s,
              "UPDATE jobs SET name=$2, agent=$3, cron_expr=$4, at=$5, timezone=$6, status=$7, "
              "session_mode=$8, delivery=$9, webhook_url=$10, webhook_headers=$11, "
              "slack_channel=$12, slack_webhook_url=$13, email_recipients=$14, log_file=$15, "
              "policy=$16, hb_set=$17, hb_enabled=$18, hb_context_mode=$19, "
              "hb_max_iterations=$20, max_concurrent=$21, max_retries=$22, jitter_ms=$23, "
              "catch_up=$24, starting_deadline_ms=$25, dst_gap=$26, dst_overlap=$27, "
              "input=$28, agent_pin_jwt=$29, one_shot=$30, deliver=$31, audit=$32, "
              "source=$33, created_at=$34, updated_at=$35, last_run=$36, next_run=$37, "
              "run_count=$38, failure_count=$39 WHERE id=$1",
              &p, NULL, "updating a job", err);
    if (rc == SYMBI_EEXIST)
        rc = symbi_err_set(err, SYMBI_EEXIST, "a job named \"%s\" already exists", def->name);
    else if (rc == 0)
        rc = pg_audit_events(s, &ev, err);
out:
    symbi_rules_events_cleanup(&ev);
    return rc;
}

int pg_job_upsert(struct symbi_store *st, struct symbi_job *job, int64_t now, const char *actor,
                  bool *created, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    /* store.c checked the definition (symbi_rules_job_check) */
    int rc = pg_begin(s, err);
    if (rc != 0)
        return rc;
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, job->name);
    PGresult *r = NULL;
    if ((rc = pg_q(s, SELECT_JOB " WHERE name = $1 FOR UPDATE", &p, &r, "reading a job", err)) !=
        0) {
        pg_rollback(s);
        return rc;
    }
    struct symbi_job cur;
    symbi_job_init(&cur);
    bool exists = PQntuples(r) > 0;
    if (exists && pg_job_read(r, 0, &cur) != 0)
        rc = pg_oom(err);
    PQclear(r);
    if (rc != 0) {
        pg_rollback(s);
        return rc;
    }
    if (exists)
        rc = rewrite_job(s, job, &cur, now, actor, err);
    else
        rc = insert_job(s, job, now, actor, err);
    symbi_job_cleanup(&cur);
    s->dirty = s->dirty || rc == 0;
    rc = pg_end(s, rc, err);
    if (rc == 0) {
        if (created != NULL)
            *created = !exists;
    } else if (!exists) {
        job->id[0] = '\0';
    }
    return rc;
}

int pg_job_update(struct symbi_store *st, struct symbi_job *job, int64_t now, const char *actor,
                  struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    /* store.c checked the definition (symbi_rules_job_check) */
    int rc = pg_begin(s, err);
    if (rc != 0)
        return rc;
    char id[SYMBI_UUID_LEN + 1];
    struct symbi_job cur;
    symbi_job_init(&cur);
    if ((rc = pg_job_resolve(s, job->id, id, err)) == 0 &&
        (rc = pg_load_job(s, id, true, &cur, err)) == 0)
        rc = rewrite_job(s, job, &cur, now, actor, err);
    symbi_job_cleanup(&cur);
    s->dirty = s->dirty || rc == 0;
    return pg_end(s, rc, err);
}

int pg_job_get(struct symbi_store *st, const char *ref, struct symbi_job *out,
               struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    symbi_job_init(out);
    char id[SYMBI_UUID_LEN + 1];
    int rc = pg_job_resolve(s, ref, id, err);
    if (rc != 0)
        return rc;
    return pg_load_job(s, id, false, out, err);
}

int pg_job_delete(struct symbi_store *st, const char *ref, const char *actor, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    int rc = pg_begin(s, err);
    if (rc != 0)
        return rc;
    char id[SYMBI_UUID_LEN + 1];
    struct symbi_job cur;
    symbi_job_init(&cur);
    if ((rc = pg_job_resolve(s, ref, id, err)) != 0 ||
        (rc = pg_load_job(s, id, true, &cur, err)) != 0)
        goto done;
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, id);
    if ((rc = pg_x(s, "DELETE FROM jobs WHERE id = $1", &p, NULL, "deleting a job", err)) != 0)
        goto done;
    struct symbi_rules_events ev;
    symbi_rules_events_init(&ev);
    rc = symbi_rules_ev_job_deleted(&ev, &cur, symbi_now_wall_ms(), actor) != 0
             ? pg_oom(err)
             : pg_audit_events(s, &ev, err);
    symbi_rules_events_cleanup(&ev);
    s->dirty = s->dirty || rc == 0;
done:
    symbi_job_cleanup(&cur);
    return pg_end(s, rc, err);
}

/* Writes status, next_run and failure_count of job `cur` (inside the
 * caller's transaction). */
static int write_state(struct pg_store *s, const struct symbi_job *cur, int64_t now,
                       struct symbi_err *err)
{
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, cur->id);
    pgp_text(&p, symbi_job_status_name(cur->status));
    pgp_time(&p, cur->next_run);
    pgp_i64(&p, cur->failure_count);
    pgp_i64(&p, now);
    return pg_x(s,
                "UPDATE jobs SET status = $2, next_run = $3, failure_count = $4, "
                "updated_at = $5 WHERE id = $1",
                &p, NULL, "changing a job's status", err);
}

static int change_state(struct symbi_store *st, const char *ref, enum symbi_job_status to,
                        bool reset, int64_t now, const char *actor, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    int rc = pg_begin(s, err);
    if (rc != 0)
        return rc;
    char id[SYMBI_UUID_LEN + 1];
    struct symbi_job cur;
    symbi_job_init(&cur);
    struct symbi_rules_state ch = {0};
    struct symbi_rules_events ev;
    symbi_rules_events_init(&ev);
    if ((rc = pg_job_resolve(s, ref, id, err)) == 0 &&
        (rc = pg_load_job(s, id, true, &cur, err)) == 0 &&
        (rc = symbi_rules_job_change(&cur, to, reset, now, actor, &ch, &ev, err)) == 0 &&
        ch.changed) {
        rc = write_state(s, &cur, now, err);
        if (rc == 0)
            rc = pg_audit_events(s, &ev, err);
        /* a job that stops firing settles what was waiting to run for it,
         * in this same transaction (issue 10 #11): nothing of it starts */
        if (rc == 0 && ch.settle != NULL)
            rc = pg_settle_waiting(s, id, ch.settle, now, err);
    }
    symbi_rules_events_cleanup(&ev);
    symbi_job_cleanup(&cur);
    s->dirty = s->dirty || (rc == 0 && ch.changed);
    return pg_end(s, rc, err);
}

int pg_job_set_status(struct symbi_store *st, const char *id, enum symbi_job_status status,
                      int64_t now, const char *actor, struct symbi_err *err)
{
    return change_state(st, id, status, false, now, actor, err);
}

int pg_job_reset(struct symbi_store *st, const char *id, int64_t now, const char *actor,
                 struct symbi_err *err)
{
    return change_state(st, id, SYMBI_JOB_ACTIVE, true, now, actor, err);
}

int pg_job_list(struct symbi_store *st, const struct symbi_job_filter *f, struct symbi_job **jobs,
                size_t *n, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    static const struct symbi_job_filter none = {0};
    if (f == NULL)
        f = &none;
    /* one text per filter shape, each a literal (a prepared statement) */
    static const char *const shapes[4] = {
        SELECT_JOB " ORDER BY name LIMIT $1 OFFSET $2",
        SELECT_JOB " WHERE status = $3 ORDER BY name LIMIT $1 OFFSET $2",
        SELECT_JOB " WHERE agent = $3 ORDER BY name LIMIT $1 OFFSET $2",
        SELECT_JOB " WHERE status = $3 AND agent = $4 ORDER BY name LIMIT $1 OFFSET $2",
    };
    struct pg_params p;
    pgp_init(&p);
    if (f->limit > 0)
        pgp_i64(&p, f->limit);
    else
        pgp_text(&p, NULL); /* LIMIT NULL: all */
    pgp_i64(&p, f->offset > 0 ? f->offset : 0);
    if (f->has_status)
        pgp_text(&p, symbi_job_status_name(f->status));
    if (f->agent != NULL)
        pgp_text(&p, f->agent);
    PGresult *r = NULL;
    int rc = pg_q(s, shapes[(f->has_status ? 1 : 0) + (f->agent != NULL ? 2 : 0)], &p, &r,
                  "listing jobs", err);
    if (rc != 0)
        return rc;
    int rows = PQntuples(r);
    struct symbi_job *arr = rows > 0 ? calloc((size_t)rows, sizeof *arr) : NULL;
    if (rows > 0 && arr == NULL) {
        PQclear(r);
        return pg_oom(err);
    }
    for (int i = 0; i < rows; i++) {
        if (pg_job_read(r, i, &arr[i]) != 0) {
            symbi_job_list_free(arr, (size_t)i);
            PQclear(r);
            return pg_oom(err);
        }
    }
    PQclear(r);
    *jobs = arr;
    *n = (size_t)rows;
    return 0;
}

int pg_job_counts(struct symbi_store *st, int64_t counts[5], struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    PGresult *r = NULL;
    int rc = pg_q(s, "SELECT status, count(*) FROM jobs GROUP BY status", NULL, &r, "counting jobs",
                  err);
    if (rc != 0)
        return rc;
    int64_t c[5] = {0};
    for (int i = 0; i < PQntuples(r); i++) {
        enum symbi_job_status js;
        if (symbi_job_status_parse(pgc_raw(r, i, 0), &js) == 0)
            c[js] = pgc_i64(r, i, 1);
    }
    PQclear(r);
    memcpy(counts, c, sizeof c);
    return 0;
}

int pg_next_due(struct symbi_store *st, int64_t *next, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    PGresult *r = NULL;
    int rc = pg_q(s,
                  "SELECT min(next_run) FROM jobs WHERE status = 'active' AND next_run IS NOT "
                  "NULL",
                  NULL, &r, "finding the next due job", err);
    if (rc != 0)
        return rc;
    *next = pgc_time(r, 0, 0);
    PQclear(r);
    return 0;
}
