/* pg_sched.c - the PostgreSQL side of recording a finished run with its
 * job's counters, settling a stopped job's waiting runs, giving claimed
 * fires back at a clean stop, and which runs still wait (SPEC §5.5, §5.6). */
#include "store/common.h"
#include "store/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pg_settle_waiting(struct pg_store *s, const char *job_id, const char *why, int64_t now,
                      struct symbi_err *err)
{
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, job_id);
    pgp_i64(&p, now);
    pgp_text(&p, why);
    s->dirty = true;
    return pg_x(s,
                "UPDATE runs SET status = 'skipped', finished_at = $2, error_message = $3 "
                "WHERE job_id = $1 AND status = 'queued'",
                &p, NULL, "settling the waiting runs of a job", err);
}

/* The counters of the run's job and its name, the row locked: the job row
 * first, as every writer of a job does (no lock-order cycle with a claim
 * or a pause). SYMBI_ENOTFOUND when the job is gone. */
static int lock_counters(struct pg_store *s, const char *job_id, struct symbi_rules_counters *c,
                         char **name, struct symbi_err *err)
{
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, job_id);
    PGresult *r = NULL;
    int rc = pg_q(s,
                  "SELECT status, failure_count, run_count, last_run, name FROM jobs WHERE id = "
                  "$1 FOR UPDATE",
                  &p, &r, "reading a run's job", err);
    if (rc != 0)
        return rc;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return symbi_err_set(err, SYMBI_ENOTFOUND, "no job \"%s\"", job_id);
    }
    bool no_mem = false;
    c->status = SYMBI_JOB_ACTIVE;
    symbi_job_status_parse(pgc_raw(r, 0, 0), &c->status);
    c->failure_count = pgc_i64(r, 0, 1);
    c->run_count = pgc_i64(r, 0, 2);
    c->last_run = pgc_time(r, 0, 3);
    *name = pgc_str(r, 0, 4, &no_mem);
    PQclear(r);
    return no_mem ? pg_oom(err) : 0;
}

/* An outcome lands only on a run still in flight (symbi_rules_finish_check). */
static int check_in_flight(struct pg_store *s, const char *id, struct symbi_err *err)
{
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, id);
    PGresult *r = NULL;
    int rc = pg_q(s, "SELECT status FROM runs WHERE id = $1 FOR UPDATE", &p, &r,
                  "reading a run's status", err);
    if (rc != 0)
        return rc;
    enum symbi_run_status stored = SYMBI_RUN_RUNNING;
    bool found = PQntuples(r) > 0;
    if (found)
        symbi_run_status_parse(pgc_raw(r, 0, 0), &stored);
    PQclear(r);
    return symbi_rules_finish_check(id, found, stored, err);
}

static int write_counters(struct pg_store *s, const char *job_id,
                          const struct symbi_rules_finish *f, struct symbi_err *err)
{
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, job_id);
    pgp_i64(&p, f->job.run_count);
    pgp_time(&p, f->job.last_run);
    pgp_i64(&p, f->job.failure_count);
    pgp_text(&p, symbi_job_status_name(f->job.status));
    pgp_i64(&p, f->dead);
    return pg_x(s,
                "UPDATE jobs SET run_count = $2, last_run = $3, failure_count = $4, status = $5, "
                "next_run = CASE WHEN $6::integer <> 0 THEN NULL ELSE next_run END WHERE id = $1",
                &p, NULL, "recording a job's counters", err);
}

static int finish(struct pg_store *s, const struct symbi_run_outcome *o, int64_t now,
                  struct symbi_rules_finish *f, struct symbi_err *err)
{
    const struct symbi_run *run = o->run;
    char *job_name = NULL;
    struct symbi_rules_events ev;
    symbi_rules_events_init(&ev);
    struct symbi_rules_counters counters;
    int rc = lock_counters(s, run->job_id, &counters, &job_name, err);
    if (rc == 0)
        rc = check_in_flight(s, run->id, err);
    if (rc == 0)
        rc = pg_run_update(&s->base, run, err);
    if (rc == 0 && symbi_rules_run_finish(&counters, job_name, o, now, f, &ev) != 0)
        rc = pg_oom(err);
    if (rc == 0 && (rc = write_counters(s, run->job_id, f, err)) == 0)
        rc = pg_audit_events(s, &ev, err);
    if (rc == 0 && f->settle != NULL)
        rc = pg_settle_waiting(s, run->job_id, f->settle, now, err);
    if (rc == 0 && f->insert_retry) {
        struct symbi_run retry;
        if (symbi_rules_retry_row(o->retry, now, &retry) != 0) {
            rc = pg_oom(err);
        } else {
            rc = pg_run_insert_row(s, &retry, err);
            symbi_run_cleanup(&retry);
            if (rc == SYMBI_EEXIST) {
                symbi_err_clear(err);
                rc = 0;
            }
        }
    }
    if (rc == 0 && f->news)
        s->dirty = true;
    /* run_count, last_run, failure_count moved: readers' caches are stale */
    if (rc == 0)
        s->touched = true;
    free(job_name);
    symbi_rules_events_cleanup(&ev);
    return rc;
}

int pg_run_finish(struct symbi_store *st, const struct symbi_run_outcome *o, int64_t now,
                  struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    if (o->dead_lettered != NULL)
        *o->dead_lettered = false;
    int rc = pg_begin(s, err);
    if (rc != 0)
        return rc;
    struct symbi_rules_finish f;
    memset(&f, 0, sizeof f);
    rc = pg_end(s, finish(s, o, now, &f, err), err);
    if (rc == 0 && o->dead_lettered != NULL)
        *o->dead_lettered = f.dead;
    return rc;
}

/* Gives one fire back: its record goes (only while still queued and owned
 * by `node`) and the job's next_run moves back to the fire's instant unless
 * already earlier; a one-shot this fire completed is active again. */
static int give_back_one(struct pg_store *s, const struct symbi_run *r, const char *node,
                         bool *given, struct symbi_err *err)
{
    *given = false;
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, r->id);
    pgp_text(&p, node);
    int64_t n = 0;
    int rc = pg_x(s,
                  "DELETE FROM runs WHERE id = $1 AND status = 'queued' AND node = $2 AND "
                  "started_at IS NULL",
                  &p, &n, "giving a claimed fire back", err);
    if (rc != 0 || n != 1)
        return rc;
    *given = true;
    pgp_init(&p);
    pgp_text(&p, r->job_id);
    pgp_i64(&p, r->scheduled_at);
    return pg_x(s,
                "UPDATE jobs SET next_run = $2, status = CASE WHEN status = 'completed' THEN "
                "'active' ELSE status END WHERE id = $1 AND status IN ('active', 'completed') AND "
                "(next_run IS NULL OR next_run > $2)",
                &p, NULL, "restoring a job's next run", err);
}

/* Hands a run back to the pool: queued, owned by no node. */
static int release_one(struct pg_store *s, const struct symbi_run *r, const char *node,
                       struct symbi_err *err)
{
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, r->id);
    pgp_text(&p, node);
    return pg_x(s, "UPDATE runs SET node = NULL WHERE id = $1 AND status = 'queued' AND node = $2",
                &p, NULL, "releasing a queued run", err);
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

int pg_runs_give_back(struct symbi_store *st, const struct symbi_run *runs, size_t n,
                      const char *node, size_t *given, size_t *released, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    size_t g = 0, rel = 0;
    int rc = pg_begin(s, err);
    if (rc != 0)
        return rc;
    static const struct symbi_common_give_back_ops writes = {give_back_v, release_v};
    rc = symbi_common_give_back_each(s, &writes, runs, n, node, &g, &rel, err);
    s->dirty = s->dirty || g > 0 || rel > 0;
    if ((rc = pg_end(s, rc, err)) != 0)
        return rc;
    if (given != NULL)
        *given = g;
    if (released != NULL)
        *released = rel;
    return 0;
}

int pg_runs_waiting(struct symbi_store *st, const char *const *ids, size_t n, bool *waiting,
                    struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    for (size_t i = 0; i < n; i++) {
        struct pg_params p;
        pgp_init(&p);
        pgp_text(&p, ids[i]);
        PGresult *r = NULL;
        int rc = pg_q(s, "SELECT status = 'queued' FROM runs WHERE id = $1", &p, &r,
                      "reading a run's status", err);
        if (rc != 0)
            return rc;
        waiting[i] = PQntuples(r) > 0 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
        PQclear(r);
    }
    return 0;
}
