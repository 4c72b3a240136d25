/* pg_sched.c - the PostgreSQL side of recording a finished run with its
 * job's counters, settling a stopped job's waiting runs, giving claimed
 * fires back at a clean stop, and which runs still wait (SPEC §5.5, §5.6). */
#include "store/pg.h"

#include <jansson.h>
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

static const char *finish_event(enum symbi_run_status status)
{
    switch (status) {
    case SYMBI_RUN_SUCCEEDED:
        return "CronJobExecuted";
    case SYMBI_RUN_FAILED:
    case SYMBI_RUN_TIMED_OUT:
    case SYMBI_RUN_INTERRUPTED:
        return "CronJobFailed";
    default:
        return NULL;
    }
}

/* One AgentToolCalled event per tool call a model agent made (SPEC §6.2). */
static int audit_tool_calls(struct pg_store *s, int64_t now, const struct symbi_run *run,
                            const char *job_name, struct symbi_err *err)
{
    if (run->tool_calls == NULL || run->tool_calls[0] == '\0')
        return 0;
    json_t *calls = json_loads(run->tool_calls, 0, NULL);
    size_t i;
    json_t *c;
    int rc = 0;
    json_array_foreach(calls, i, c)
    {
        char *details = json_is_object(c) ? json_dumps(c, JSON_COMPACT) : NULL;
        if (details == NULL)
            continue;
        rc = pg_audit(s, now, "AgentToolCalled", run->job_id, job_name, run->id, "scheduler",
                      details, err);
        free(details);
        if (rc != 0)
            break;
    }
    json_decref(calls);
    return rc;
}

/* The job's state, read and locked in the finishing transaction. */
struct job_counters {
    enum symbi_job_status status;
    int64_t failures, run_count, last_run;
    char *name;
};

static int lock_counters(struct pg_store *s, const char *job_id, struct job_counters *c,
                         struct symbi_err *err)
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
    c->failures = pgc_i64(r, 0, 1);
    c->run_count = pgc_i64(r, 0, 2);
    c->last_run = pgc_time(r, 0, 3);
    c->name = pgc_str(r, 0, 4, &no_mem);
    PQclear(r);
    return no_mem ? pg_oom(err) : 0;
}

/* The outcome lands only on a run still in flight (or `skipped` by a
 * pause in the instant this node handed it to a worker). */
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
    if (found && symbi_run_status_final(stored) && stored != SYMBI_RUN_SKIPPED)
        return symbi_err_set(err, SYMBI_ESTATE, "run %s was already recorded %s", id,
                             symbi_run_status_name(stored));
    return 0;
}

static int finish_events(struct pg_store *s, const struct symbi_run *run, const char *job_name,
                         bool dead, int64_t failures, int64_t now, struct symbi_err *err)
{
    int rc = audit_tool_calls(s, now, run, job_name, err);
    const char *event = finish_event(run->status);
    if (rc == 0 && event != NULL) {
        char ms[32];
        snprintf(ms, sizeof ms, "%lld", (long long)run->execution_time_ms);
        char *details =
            sq_json_obj("status", symbi_run_status_name(run->status), "error", run->error_message,
                        "#execution_time_ms", run->execution_time_ms >= 0 ? ms : NULL, NULL);
        if (details == NULL)
            return pg_oom(err);
        rc = pg_audit(s, now, event, run->job_id, job_name, run->id, "scheduler", details, err);
        free(details);
    }
    if (rc == 0 && dead) {
        char count[32];
        snprintf(count, sizeof count, "%lld", (long long)failures);
        char *details =
            sq_json_obj("#failure_count", count, "last_error", run->error_message, NULL);
        if (details == NULL)
            return pg_oom(err);
        rc = pg_audit(s, now, "CronJobDeadLettered", run->job_id, job_name, run->id, "scheduler",
                      details, err);
        free(details);
    }
    return rc;
}

static int finish(struct pg_store *s, const struct symbi_run_outcome *o, int64_t now, bool *dead,
                  struct symbi_err *err)
{
    const struct symbi_run *run = o->run;
    struct job_counters c = {0};
    /* the job row first, as every writer of a job does: no lock-order
     * cycle with a claim or a pause */
    int rc = lock_counters(s, run->job_id, &c, err);
    if (rc == 0)
        rc = check_in_flight(s, run->id, err);
    if (rc == 0)
        rc = pg_run_update(&s->base, run, err);
    if (rc != 0)
        goto out;
    if (finish_event(run->status) != NULL) {
        /* the run executed: it counts, and it is the job's latest run */
        c.run_count++;
        int64_t started = run->started_at != SYMBI_TIME_NONE ? run->started_at : run->scheduled_at;
        if (c.last_run == SYMBI_TIME_NONE || started > c.last_run)
            c.last_run = started;
    }
    if (o->counts_as_failure) {
        c.failures++;
        int64_t limit = o->max_retries > 0 ? o->max_retries : 1;
        if (c.failures >= limit &&
            (c.status == SYMBI_JOB_ACTIVE || c.status == SYMBI_JOB_COMPLETED)) {
            c.status = SYMBI_JOB_DEAD_LETTER;
            *dead = true;
        }
    } else if (run->status == SYMBI_RUN_SUCCEEDED) {
        c.failures = 0;
    }
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, run->job_id);
    pgp_i64(&p, c.run_count);
    pgp_time(&p, c.last_run);
    pgp_i64(&p, c.failures);
    pgp_text(&p, symbi_job_status_name(c.status));
    pgp_i64(&p, *dead);
    if ((rc = pg_x(s,
                   "UPDATE jobs SET run_count = $2, last_run = $3, failure_count = $4, status = "
                   "$5, next_run = CASE WHEN $6::integer <> 0 THEN NULL ELSE next_run END WHERE "
                   "id = $1",
                   &p, NULL, "recording a job's counters", err)) != 0 ||
        (rc = finish_events(s, run, c.name, *dead, c.failures, now, err)) != 0)
        goto out;
    if (*dead && (rc = pg_settle_waiting(s, run->job_id, "skipped: the job moved to dead letter",
                                         now, err)) != 0)
        goto out;
    /* the job's state read in this transaction decides: a job paused since
     * the caller looked gets no retry */
    bool live = c.status == SYMBI_JOB_ACTIVE || c.status == SYMBI_JOB_COMPLETED;
    if (o->retry != NULL && !*dead && live) {
        struct symbi_run retry;
        if (symbi_run_copy(&retry, o->retry) != 0) {
            rc = pg_oom(err);
            goto out;
        }
        /* unowned, so whichever node is alive when it is due starts it */
        free(retry.node);
        retry.node = NULL;
        retry.status = SYMBI_RUN_QUEUED;
        if (retry.created_at == SYMBI_TIME_NONE)
            retry.created_at = now;
        rc = pg_run_insert_row(s, &retry, err);
        symbi_run_cleanup(&retry);
        if (rc == SYMBI_EEXIST) {
            symbi_err_clear(err);
            rc = 0;
        }
        s->dirty = true;
    }
out:
    free(c.name);
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
    bool dead = false;
    rc = pg_end(s, finish(s, o, now, &dead, err), err);
    if (rc == 0 && o->dead_lettered != NULL)
        *o->dead_lettered = dead;
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

int pg_runs_give_back(struct symbi_store *st, const struct symbi_run *runs, size_t n,
                      const char *node, size_t *given, size_t *released, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    size_t g = 0, rel = 0;
    int rc = pg_begin(s, err);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct symbi_run *r = &runs[i];
        if (r->trigger == SYMBI_TRIGGER_SCHEDULE || r->trigger == SYMBI_TRIGGER_CATCH_UP) {
            bool done = false;
            rc = give_back_one(s, r, node, &done, err);
            g += done;
        } else {
            rc = release_one(s, r, node, err);
            rel += rc == 0;
        }
    }
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
