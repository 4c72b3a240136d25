/* pg_rows.c - the PostgreSQL backend's conversions between rows (text
 * values) and the model structs, reference resolution and audit rows. */
#include "store/common.h"
#include "store/pg.h"

#include <stdlib.h>
#include <string.h>

int pg_oom(struct symbi_err *err)
{
    return symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
}

bool pgc_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) != 0;
}

const char *pgc_raw(const PGresult *r, int row, int col)
{
    return pgc_null(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

char *pgc_str(const PGresult *r, int row, int col, bool *oom)
{
    if (pgc_null(r, row, col))
        return NULL;
    char *p = symbi_strndup(PQgetvalue(r, row, col), (size_t)PQgetlength(r, row, col));
    if (p == NULL)
        *oom = true;
    return p;
}

int64_t pgc_i64(const PGresult *r, int row, int col)
{
    int64_t v = 0;
    if (pgc_null(r, row, col) ||
        symbi_parse_i64(PQgetvalue(r, row, col), INT64_MIN, INT64_MAX, &v) != 0)
        return 0;
    return v;
}

int64_t pgc_time(const PGresult *r, int row, int col)
{
    return pgc_null(r, row, col) ? SYMBI_TIME_NONE : pgc_i64(r, row, col);
}

int64_t pgc_opt(const PGresult *r, int row, int col)
{
    return pgc_null(r, row, col) ? -1 : pgc_i64(r, row, col);
}

static int col_int(const PGresult *r, int row, int col)
{
    int64_t v = pgc_i64(r, row, col);
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int)v;
}

void pgc_id(const PGresult *r, int row, int col, char out[SYMBI_UUID_LEN + 1])
{
    size_t n = pgc_null(r, row, col) ? 0 : (size_t)PQgetlength(r, row, col);
    if (n > SYMBI_UUID_LEN)
        n = SYMBI_UUID_LEN;
    if (n > 0)
        memcpy(out, PQgetvalue(r, row, col), n);
    out[n] = '\0';
}

/* ---- jobs ---- */

void pg_job_params(struct pg_params *p, const struct symbi_job *j)
{
    pgp_init(p);
    pgp_text(p, j->id);
    pgp_text(p, j->name);
    pgp_text(p, j->agent);
    pgp_text(p, j->cron_expr);
    pgp_time(p, j->at);
    pgp_text(p, j->timezone);
    pgp_text(p, symbi_job_status_name(j->status));
    pgp_text(p, symbi_session_mode_name(j->session_mode));
    pgp_text(p, j->delivery);
    pgp_text(p, j->webhook_url);
    pgp_text(p, j->webhook_headers);
    pgp_text(p, j->slack_channel);
    pgp_text(p, j->slack_webhook_url);
    pgp_text(p, j->email_recipients);
    pgp_text(p, j->log_file);
    pgp_text(p, j->policy);
    pgp_i64(p, j->heartbeat.set);
    pgp_i64(p, j->heartbeat.enabled);
    pgp_text(p, symbi_session_mode_name(j->heartbeat.context_mode));
    pgp_i64(p, j->heartbeat.max_iterations);
    pgp_i64(p, j->max_concurrent);
    pgp_opt(p, j->max_retries);
    pgp_opt(p, j->jitter_ms);
    pgp_text(p, symbi_catch_up_name(j->catch_up));
    pgp_opt(p, j->starting_deadline_ms);
    pgp_text(p, symbi_dst_gap_name(j->dst_gap));
    pgp_text(p, symbi_dst_overlap_name(j->dst_overlap));
    pgp_text(p, j->input);
    pgp_text(p, j->agent_pin_jwt);
    pgp_i64(p, j->one_shot);
    pgp_text(p, j->deliver);
    pgp_text(p, j->audit);
    pgp_text(p, j->source);
    pgp_time(p, j->created_at);
    pgp_time(p, j->updated_at);
    pgp_time(p, j->last_run);
    pgp_time(p, j->next_run);
    pgp_i64(p, j->run_count);
    pgp_i64(p, j->failure_count);
}

int pg_job_read(const PGresult *r, int row, struct symbi_job *j)
{
    bool oom = false;
    symbi_job_init(j);
    pgc_id(r, row, 0, j->id);
    j->name = pgc_str(r, row, 1, &oom);
    j->agent = pgc_str(r, row, 2, &oom);
    j->cron_expr = pgc_str(r, row, 3, &oom);
    j->at = pgc_time(r, row, 4);
    j->timezone = pgc_str(r, row, 5, &oom);
    /* enums stored by this code are valid; anything else keeps its default */
    symbi_job_status_parse(pgc_raw(r, row, 6), &j->status);
    symbi_session_mode_parse(pgc_raw(r, row, 7), &j->session_mode);
    j->delivery = pgc_str(r, row, 8, &oom);
    j->webhook_url = pgc_str(r, row, 9, &oom);
    j->webhook_headers = pgc_str(r, row, 10, &oom);
    j->slack_channel = pgc_str(r, row, 11, &oom);
    j->slack_webhook_url = pgc_str(r, row, 12, &oom);
    j->email_recipients = pgc_str(r, row, 13, &oom);
    j->log_file = pgc_str(r, row, 14, &oom);
    j->policy = pgc_str(r, row, 15, &oom);
    j->heartbeat.set = pgc_i64(r, row, 16) != 0;
    j->heartbeat.enabled = pgc_i64(r, row, 17) != 0;
    symbi_session_mode_parse(pgc_raw(r, row, 18), &j->heartbeat.context_mode);
    j->heartbeat.max_iterations = col_int(r, row, 19);
    j->max_concurrent = col_int(r, row, 20);
    j->max_retries = (int)pgc_opt(r, row, 21);
    j->jitter_ms = pgc_opt(r, row, 22);
    symbi_catch_up_parse(pgc_raw(r, row, 23), &j->catch_up);
    j->starting_deadline_ms = pgc_opt(r, row, 24);
    symbi_dst_gap_parse(pgc_raw(r, row, 25), &j->dst_gap);
    symbi_dst_overlap_parse(pgc_raw(r, row, 26), &j->dst_overlap);
    j->input = pgc_str(r, row, 27, &oom);
    j->agent_pin_jwt = pgc_str(r, row, 28, &oom);
    j->one_shot = pgc_i64(r, row, 29) != 0;
    j->deliver = pgc_str(r, row, 30, &oom);
    j->audit = pgc_str(r, row, 31, &oom);
    j->source = pgc_str(r, row, 32, &oom);
    j->created_at = pgc_time(r, row, 33);
    j->updated_at = pgc_time(r, row, 34);
    j->last_run = pgc_time(r, row, 35);
    j->next_run = pgc_time(r, row, 36);
    j->run_count = pgc_i64(r, row, 37);
    j->failure_count = pgc_i64(r, row, 38);
    if (oom) {
        symbi_job_cleanup(j);
        return SYMBI_ENOMEM;
    }
    return 0;
}

/* ---- runs ---- */

void pg_run_params(struct pg_params *p, const struct symbi_run *r)
{
    pgp_init(p);
    pgp_text(p, r->id);
    pgp_text(p, r->job_id);
    pgp_text(p, r->job_name);
    pgp_text(p, r->agent);
    pgp_text(p, symbi_trigger_name(r->trigger));
    pgp_time(p, r->scheduled_at);
    pgp_time(p, r->due_at);
    pgp_time(p, r->started_at);
    pgp_time(p, r->finished_at);
    pgp_i64(p, r->jitter_ms);
    pgp_text(p, symbi_run_status_name(r->status));
    pgp_i64(p, r->attempt);
    pgp_text(p, r->input);
    pgp_text(p, r->output);
    pgp_i64(p, r->output_truncated);
    pgp_text(p, r->stderr_text);
    pgp_text(p, r->summary);
    pgp_text(p, r->error_message);
    if (r->has_exit_code)
        pgp_i64(p, r->exit_code);
    else
        pgp_text(p, NULL);
    pgp_opt(p, r->execution_time_ms);
    pgp_text(p, r->node);
    pgp_i64(p, r->iterations);
    pgp_text(p, r->deliveries);
    pgp_text(p, r->approver);
    pgp_time(p, r->created_at);
    pgp_text(p, r->iteration_outputs);
    pgp_text(p, r->tool_calls);
    pgp_opt(p, r->prompt_tokens);
    pgp_opt(p, r->completion_tokens);
    /* an unowned run has no epoch (a retry copied from its first attempt) */
    pgp_opt(p, r->node != NULL && r->epoch > 0 ? r->epoch : -1);
}

int pg_run_read(const PGresult *res, int row, struct symbi_run *r)
{
    bool oom = false;
    symbi_run_init(r);
    pgc_id(res, row, 0, r->id);
    pgc_id(res, row, 1, r->job_id);
    r->job_name = pgc_str(res, row, 2, &oom);
    r->agent = pgc_str(res, row, 3, &oom);
    symbi_trigger_parse(pgc_raw(res, row, 4), &r->trigger);
    r->scheduled_at = pgc_time(res, row, 5);
    r->due_at = pgc_time(res, row, 6);
    r->started_at = pgc_time(res, row, 7);
    r->finished_at = pgc_time(res, row, 8);
    r->jitter_ms = pgc_i64(res, row, 9);
    symbi_run_status_parse(pgc_raw(res, row, 10), &r->status);
    r->attempt = col_int(res, row, 11);
    r->input = pgc_str(res, row, 12, &oom);
    r->output = pgc_str(res, row, 13, &oom);
    r->output_truncated = pgc_i64(res, row, 14) != 0;
    r->stderr_text = pgc_str(res, row, 15, &oom);
    r->summary = pgc_str(res, row, 16, &oom);
    r->error_message = pgc_str(res, row, 17, &oom);
    r->has_exit_code = !pgc_null(res, row, 18);
    r->exit_code = r->has_exit_code ? col_int(res, row, 18) : 0;
    r->execution_time_ms = pgc_opt(res, row, 19);
    r->node = pgc_str(res, row, 20, &oom);
    r->iterations = col_int(res, row, 21);
    r->deliveries = pgc_str(res, row, 22, &oom);
    r->approver = pgc_str(res, row, 23, &oom);
    r->created_at = pgc_time(res, row, 24);
    r->iteration_outputs = pgc_str(res, row, 25, &oom);
    r->tool_calls = pgc_str(res, row, 26, &oom);
    r->prompt_tokens = pgc_opt(res, row, 27);
    r->completion_tokens = pgc_opt(res, row, 28);
    r->epoch = pgc_null(res, row, 29) ? 0 : pgc_i64(res, row, 29);
    if (oom) {
        symbi_run_cleanup(r);
        return SYMBI_ENOMEM;
    }
    return 0;
}

int pg_runs_push(struct symbi_run **runs, size_t *n, size_t *cap, const struct symbi_run *r)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct symbi_run *p = realloc(*runs, nc * sizeof *p);
        if (p == NULL)
            return SYMBI_ENOMEM;
        *runs = p;
        *cap = nc;
    }
    (*runs)[(*n)++] = *r;
    return 0;
}

int pg_runs_collect(PGresult *res, struct symbi_run **runs, size_t *n, struct symbi_err *err)
{
    int rows = PQntuples(res);
    struct symbi_run *arr = rows > 0 ? calloc((size_t)rows, sizeof *arr) : NULL;
    if (rows > 0 && arr == NULL) {
        PQclear(res);
        return pg_oom(err);
    }
    for (int i = 0; i < rows; i++) {
        if (pg_run_read(res, i, &arr[i]) != 0) {
            symbi_run_list_free(arr, (size_t)i);
            PQclear(res);
            return pg_oom(err);
        }
    }
    PQclear(res);
    *runs = arr;
    *n = (size_t)rows;
    return 0;
}

/* ---- references ---- */

/* The id of the single row a lookup returned: 0, 1 (found) or < 0. */
static int lookup(struct pg_store *s, const char *sql, const char *key, char id[SYMBI_UUID_LEN + 1],
                  struct symbi_err *err)
{
    struct pg_params p;
    pgp_init(&p);
    pgp_text(&p, key);
    PGresult *r = NULL;
    int rc = pg_q(s, sql, &p, &r, "looking up a reference", err);
    if (rc != 0)
        return rc;
    int found = PQntuples(r) > 0;
    if (found)
        pgc_id(r, 0, 0, id);
    PQclear(r);
    return found;
}

/* Looks up ref by exact id, then (jobs) exact name, then id prefix of at
 * least 8 characters (an index range on the "C"-collated ids). */
static int resolve(struct pg_store *s, const char *ref, const char *by_id, const char *by_name,
                   const char *by_prefix, const char *what, char id[SYMBI_UUID_LEN + 1],
                   struct symbi_err *err)
{
    if (ref == NULL || *ref == '\0')
        return symbi_err_set(err, SYMBI_EINVAL, "no %s given", what);
    size_t len = strlen(ref);
    char low[SYMBI_UUID_LEN + 1];
    bool idish = symbi_common_id_like(ref, len, low);
    int rc;
    if ((rc = lookup(s, by_id, idish ? low : ref, id, err)) != 0)
        return rc < 0 ? rc : 0;
    if (by_name != NULL && (rc = lookup(s, by_name, ref, id, err)) != 0)
        return rc < 0 ? rc : 0;
    if (idish && len >= 8) {
        char hi[SYMBI_UUID_LEN + 2];
        symbi_common_prefix_hi(low, len, hi);
        struct pg_params p;
        pgp_init(&p);
        pgp_text(&p, low);
        pgp_text(&p, hi);
        PGresult *r = NULL;
        if ((rc = pg_q(s, by_prefix, &p, &r, "looking up a prefix", err)) != 0)
            return rc;
        int rows = PQntuples(r);
        char first[SYMBI_UUID_LEN + 1] = "", second[SYMBI_UUID_LEN + 1] = "";
        if (rows > 0)
            pgc_id(r, 0, 0, first);
        if (rows > 1)
            pgc_id(r, 1, 0, second);
        PQclear(r);
        return symbi_common_resolve_end(what, ref, idish, len, rows, first, second, id, err);
    }
    return symbi_common_resolve_end(what, ref, idish, len, 0, "", "", id, err);
}

int pg_job_resolve(struct pg_store *s, const char *ref, char id[SYMBI_UUID_LEN + 1],
                   struct symbi_err *err)
{
    return resolve(
        s, ref, "SELECT id FROM jobs WHERE id = $1", "SELECT id FROM jobs WHERE name = $1",
        "SELECT id FROM jobs WHERE id >= $1 AND id < $2 ORDER BY id LIMIT 2", "job", id, err);
}

int pg_run_resolve(struct pg_store *s, const char *ref, char id[SYMBI_UUID_LEN + 1],
                   struct symbi_err *err)
{
    return resolve(s, ref, "SELECT id FROM runs WHERE id = $1", NULL,
                   "SELECT id FROM runs WHERE id >= $1 AND id < $2 ORDER BY id LIMIT 2", "run", id,
                   err);
}

/* ---- audit ---- */

int pg_audit(struct pg_store *s, int64_t at, const char *type, const char *job_id,
             const char *job_name, const char *run_id, const char *actor, const char *details,
             struct symbi_err *err)
{
    struct pg_params p;
    pgp_init(&p);
    pgp_i64(&p, at);
    pgp_text(&p, type);
    pgp_text(&p, job_id != NULL && *job_id != '\0' ? job_id : NULL);
    pgp_text(&p, job_name);
    pgp_text(&p, run_id != NULL && *run_id != '\0' ? run_id : NULL);
    pgp_text(&p, actor);
    pgp_text(&p, details);
    return pg_x(s,
                "INSERT INTO audit_events (at, type, job_id, job_name, run_id, actor, details) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &p, NULL, "writing an audit event", err);
}

int pg_audit_events(struct pg_store *s, const struct symbi_rules_events *ev, struct symbi_err *err)
{
    for (size_t i = 0; i < ev->n; i++) {
        const struct symbi_audit_event *e = &ev->v[i];
        int rc = pg_audit(s, e->at, e->type, e->job_id, e->job_name, e->run_id, e->actor,
                          e->details, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}
