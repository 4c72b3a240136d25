/* pg_runs.c - run records in the PostgreSQL backend: insert (the fire
 * ledger keeps (job_id, scheduled_at, attempt) unique), update,
 * compare-and-set transitions, approval decisions, lookup, list, count. */
#include "store/pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SELECT_RUN "SELECT " PG_RUN_COLS " FROM runs"

static int load_run(struct pg_store *s, const char *id, bool lock, struct symbi_run *out,
                    struct symbi_err *err)
{
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, id);
    PGresult *r = NULL;
    int rc = pg_q(s, lock ? SELECT_RUN " WHERE id = $1 FOR UPDATE" : SELECT_RUN " WHERE id = $1",
                  &p, &r, "reading a run", err);
    if (rc != 0)
        return rc;
    if (PQntuples(r) == 0)
        rc = symbi_err_set(err, SYMBI_ENOTFOUND, "no run \"%s\"", id);
    else if (pg_run_read(r, 0, out) != 0)
        rc = pg_oom(err);
    PQclear(r);
    return rc;
}

/* Fills job_name and agent of run from its job when the caller left them
 * unset; SYMBI_ENOTFOUND when the job does not exist. */
static int fill_from_job(struct pg_store *s, struct symbi_run *run, struct symbi_err *err)
{
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, run->job_id);
    PGresult *r = NULL;
    int rc =
        pg_q(s, "SELECT name, agent FROM jobs WHERE id = $1", &p, &r, "reading a run's job", err);
    if (rc != 0)
        return rc;
    bool oom = false;
    if (PQntuples(r) == 0) {
        rc = symbi_err_set(err, SYMBI_ENOTFOUND, "no job \"%s\" for the run", run->job_id);
    } else {
        if (run->job_name == NULL)
            run->job_name = pgc_str(r, 0, 0, &oom);
        if (run->agent == NULL)
            run->agent = pgc_str(r, 0, 1, &oom);
        rc = oom ? pg_oom(err) : 0;
    }
    PQclear(r);
    return rc;
}

int pg_run_insert_row(struct pg_store *s, struct symbi_run *run, struct symbi_err *err)
{
    int rc = symbi_rules_run_defaults(run, symbi_now_wall_ms(), err);
    if (rc != 0)
        return rc;
    if ((run->job_name == NULL || run->agent == NULL) && (rc = fill_from_job(s, run, err)) != 0)
        return rc;
    /* a ledger collision must not abort the caller's transaction (a claim
     * goes on with its other fires): the conflict is a row not inserted */
    struct pg_params p;
    pg_run_params(&p, run);
    int64_t n = 0;
    rc = pg_x(s,
              "INSERT INTO runs (" PG_RUN_COLS ") VALUES (" PG_RUN_PARAMS
              ") ON CONFLICT (job_id, scheduled_at, attempt) DO NOTHING",
              &p, &n, "recording a run", err);
    if (rc == 0 && n == 1)
        return 0;
    if (rc == 0) {
        char at[SYMBI_TIME_STRLEN];
        return symbi_err_set(err, SYMBI_EEXIST, "job %s already has a run for %s (attempt %d)",
                             run->job_id, symbi_time_fmt(run->scheduled_at, at), run->attempt);
    }
    if (strcmp(s->sqlstate, "23503") == 0)
        return symbi_err_set(err, SYMBI_ENOTFOUND, "no job \"%s\" for the run", run->job_id);
    return rc;
}

int pg_run_insert(struct symbi_store *st, struct symbi_run *run, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    int rc = pg_begin(s, err);
    if (rc != 0)
        return rc;
    rc = pg_run_insert_row(s, run, err);
    s->dirty = s->dirty || rc == 0; /* a queued run is news for the schedulers */
    return pg_end(s, rc, err);
}

int pg_run_update(struct symbi_store *st, const struct symbi_run *run, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    struct pg_params p;
    pg_run_params(&p, run);
    /* $25 (created_at) is not written: it is the record's own */
    int64_t n = 0;
    int rc =
        pg_x(s,
             "UPDATE runs SET job_name=$3, agent=$4, trigger=$5, scheduled_at=$6, due_at=$7, "
             "started_at=$8, finished_at=$9, jitter_ms=$10, status=$11, attempt=$12, input=$13, "
             "output=$14, output_truncated=$15, stderr_text=$16, summary=$17, error_message=$18, "
             "exit_code=$19, execution_time_ms=$20, node=$21, iterations=$22, deliveries=$23, "
             "approver=$24, iteration_outputs=$26, tool_calls=$27, prompt_tokens=$28, "
             "completion_tokens=$29 WHERE id=$1 AND job_id=$2 AND ($25::bigint IS NULL OR TRUE)",
             &p, &n, "updating a run", err);
    if (rc != 0)
        return rc;
    if (n == 0)
        return symbi_err_set(err, SYMBI_ENOTFOUND, "no run \"%s\"", run->id);
    return 0;
}

int pg_run_transition(struct symbi_store *st, const char *id, enum symbi_run_status from,
                      enum symbi_run_status to, int64_t now, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, id);
    pgp_text(&p, symbi_run_status_name(from));
    pgp_text(&p, symbi_run_status_name(to));
    pgp_i64(&p, now);
    pgp_i64(&p, symbi_run_status_final(to));
    int64_t n = 0;
    int rc = pg_x(s,
                  "UPDATE runs SET status = $3::text,"
                  " started_at = CASE WHEN $3::text = 'running' THEN coalesce(started_at, $4)"
                  "  ELSE started_at END,"
                  " finished_at = CASE WHEN $5::integer <> 0 THEN coalesce(finished_at, $4)"
                  "  ELSE finished_at END"
                  " WHERE id = $1 AND status = $2",
                  &p, &n, "changing a run's status", err);
    if (rc != 0 || n == 1)
        return rc;
    struct symbi_run cur;
    symbi_run_init(&cur);
    rc = load_run(s, id, false, &cur, err);
    if (rc == 0)
        rc = symbi_err_set(err, SYMBI_ESTATE, "run %s is %s, not %s", id,
                           symbi_run_status_name(cur.status), symbi_run_status_name(from));
    symbi_run_cleanup(&cur);
    return rc;
}

static int decide(struct pg_store *s, struct symbi_run *cur, const char *id, bool approve,
                  const char *approver, const char *reason, int64_t now, struct symbi_err *err)
{
    struct symbi_rules_events ev;
    symbi_rules_events_init(&ev);
    int rc = symbi_rules_run_decide(cur, approve, approver, reason, now, &ev, err);
    if (rc == 0)
        rc = pg_run_update(&s->base, cur, err);
    if (rc == 0) {
        struct pg_params p;
        pgp_init(&p);
        pgp_text(&p, id);
        pgp_text(&p, approve ? "approved" : "denied");
        pgp_text(&p, approver);
        pgp_text(&p, reason);
        pgp_i64(&p, now);
        rc = pg_x(s,
                  "INSERT INTO approvals (run_id, decision, approver, reason, at) "
                  "VALUES ($1, $2, $3, $4, $5)",
                  &p, NULL, "recording an approval", err);
    }
    if (rc == 0)
        rc = pg_audit_events(s, &ev, err);
    symbi_rules_events_cleanup(&ev);
    return rc;
}

int pg_run_decide(struct symbi_store *st, const char *ref, bool approve, const char *approver,
                  const char *reason, int64_t now, struct symbi_run *out, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    int rc = pg_begin(s, err);
    if (rc != 0)
        return rc;
    char id[SYMBI_UUID_LEN + 1];
    struct symbi_run cur;
    symbi_run_init(&cur);
    if ((rc = pg_run_resolve(s, ref, id, err)) == 0 && (rc = load_run(s, id, true, &cur, err)) == 0)
        rc = decide(s, &cur, id, approve, approver, reason, now, err);
    s->dirty = s->dirty || rc == 0;
    if ((rc = pg_end(s, rc, err)) != 0) {
        symbi_run_cleanup(&cur);
        return rc;
    }
    if (out != NULL)
        *out = cur;
    else
        symbi_run_cleanup(&cur);
    return 0;
}

int pg_run_get(struct symbi_store *st, const char *ref, struct symbi_run *out,
               struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    symbi_run_init(out);
    char id[SYMBI_UUID_LEN + 1];
    int rc = pg_run_resolve(s, ref, id, err);
    if (rc != 0)
        return rc;
    return load_run(s, id, false, out, err);
}

/* $1 job, $2 status, $3 node, $4 due before */
static void filter_params(struct pg_params *p, const struct symbi_run_filter *f)
{
    pgp_init(p);
    pgp_text(p, f->job_id);
    pgp_text(p, f->has_status ? symbi_run_status_name(f->status) : NULL);
    pgp_text(p, f->node);
    pgp_time(p, f->due_before);
}

static const struct symbi_run_filter no_run_filter = {.due_before = SYMBI_TIME_NONE};

/* A condition that is always present with a NULL parameter makes a
 * generic plan scan; the planner gets the real shape as text instead. */
static void run_where(const struct symbi_run_filter *f, char *out, size_t size)
{
    const char *parts[4];
    size_t n = 0;
    if (f->job_id != NULL)
        parts[n++] = "job_id = $1";
    if (f->has_status)
        parts[n++] = "status = $2";
    if (f->node != NULL)
        parts[n++] = "node = $3";
    if (f->due_before != SYMBI_TIME_NONE)
        parts[n++] = "due_at <= $4";
    /* every parameter is referenced, so each gets its type */
    size_t len = (size_t)snprintf(out, size,
                                  " WHERE ($1::text IS NULL OR TRUE) AND ($2::text IS NULL OR "
                                  "TRUE) AND ($3::text IS NULL OR TRUE) AND ($4::bigint IS NULL "
                                  "OR TRUE)");
    for (size_t i = 0; i < n && len < size; i++)
        len += (size_t)snprintf(out + len, size - len, " AND %s", parts[i]);
}

int pg_run_list(struct symbi_store *st, const struct symbi_run_filter *f, struct symbi_run **runs,
                size_t *n, struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    if (f == NULL)
        f = &no_run_filter;
    char where[400], sql[1024];
    run_where(f, where, sizeof where);
    const char *dir = f->oldest_first ? "ASC" : "DESC";
    snprintf(sql, sizeof sql,
             SELECT_RUN "%s ORDER BY scheduled_at %s, attempt %s, created_at %s LIMIT $5 OFFSET $6",
             where, dir, dir, dir);
    struct pg_params p;
    filter_params(&p, f);
    if (f->limit > 0)
        pgp_i64(&p, f->limit);
    else
        pgp_text(&p, NULL);
    pgp_i64(&p, f->offset > 0 ? f->offset : 0);
    PGresult *r = NULL;
    int rc = pg_qt(s, sql, &p, &r, "listing runs", err);
    if (rc != 0)
        return rc;
    return pg_runs_collect(r, runs, n, err);
}

int pg_run_count(struct symbi_store *st, const struct symbi_run_filter *f, int64_t *n,
                 struct symbi_err *err)
{
    struct pg_store *s = pg_of(st);
    if (f == NULL)
        f = &no_run_filter;
    char where[400], sql[512];
    run_where(f, where, sizeof where);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM runs%s", where);
    struct pg_params p;
    filter_params(&p, f);
    PGresult *r = NULL;
    int rc = pg_qt(s, sql, &p, &r, "counting runs", err);
    if (rc != 0)
        return rc;
    *n = pgc_i64(r, 0, 0);
    PQclear(r);
    return 0;
}
