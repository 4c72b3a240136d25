/* sq_rows.c - the SQLite backend's conversions between rows and the model
 * structs, reference resolution (id, prefix, name), audit rows and small
 * JSON texts for audit details. */
#include "store/common.h"
#include "store/sq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sq_bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v == NULL)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

void sq_bind_time(sqlite3_stmt *st, int i, int64_t v)
{
    if (v == SYMBI_TIME_NONE)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, v);
}

void sq_bind_opt(sqlite3_stmt *st, int i, int64_t v)
{
    if (v < 0)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, v);
}

char *sq_col_str(sqlite3_stmt *st, int i, bool *oom)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    if (t == NULL)
        return NULL;
    char *p = symbi_strndup((const char *)t, (size_t)sqlite3_column_bytes(st, i));
    if (p == NULL)
        *oom = true;
    return p;
}

int64_t sq_col_time(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? SYMBI_TIME_NONE
                                                     : sqlite3_column_int64(st, i);
}

int64_t sq_col_opt(sqlite3_stmt *st, int i)
{
    return sqlite3_column_type(st, i) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, i);
}

void sq_col_id(sqlite3_stmt *st, int i, char out[SYMBI_UUID_LEN + 1])
{
    const unsigned char *t = sqlite3_column_text(st, i);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, i) : 0;
    if (n > SYMBI_UUID_LEN)
        n = SYMBI_UUID_LEN;
    if (n > 0)
        memcpy(out, t, n);
    out[n] = '\0';
}

static int col_int(sqlite3_stmt *st, int i)
{
    int64_t v = sqlite3_column_int64(st, i);
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int)v;
}

/* ---- jobs ---- */

void sq_job_bind_at(sqlite3_stmt *st, int b, const struct symbi_job *j)
{
    sq_bind_text(st, b + 1, j->id);
    sq_bind_text(st, b + 2, j->name);
    sq_bind_text(st, b + 3, j->agent);
    sq_bind_text(st, b + 4, j->cron_expr);
    sq_bind_time(st, b + 5, j->at);
    sq_bind_text(st, b + 6, j->timezone);
    sq_bind_text(st, b + 7, symbi_job_status_name(j->status));
    sq_bind_text(st, b + 8, symbi_session_mode_name(j->session_mode));
    sq_bind_text(st, b + 9, j->delivery);
    sq_bind_text(st, b + 10, j->webhook_url);
    sq_bind_text(st, b + 11, j->webhook_headers);
    sq_bind_text(st, b + 12, j->slack_channel);
    sq_bind_text(st, b + 13, j->slack_webhook_url);
    sq_bind_text(st, b + 14, j->email_recipients);
    sq_bind_text(st, b + 15, j->log_file);
    sq_bind_text(st, b + 16, j->policy);
    sqlite3_bind_int(st, b + 17, j->heartbeat.set);
    sqlite3_bind_int(st, b + 18, j->heartbeat.enabled);
    sq_bind_text(st, b + 19, symbi_session_mode_name(j->heartbeat.context_mode));
    sqlite3_bind_int(st, b + 20, j->heartbeat.max_iterations);
    sqlite3_bind_int(st, b + 21, j->max_concurrent);
    sq_bind_opt(st, b + 22, j->max_retries);
    sq_bind_opt(st, b + 23, j->jitter_ms);
    sq_bind_text(st, b + 24, symbi_catch_up_name(j->catch_up));
    sq_bind_opt(st, b + 25, j->starting_deadline_ms);
    sq_bind_text(st, b + 26, symbi_dst_gap_name(j->dst_gap));
    sq_bind_text(st, b + 27, symbi_dst_overlap_name(j->dst_overlap));
    sq_bind_text(st, b + 28, j->input);
    sq_bind_text(st, b + 29, j->agent_pin_jwt);
    sqlite3_bind_int(st, b + 30, j->one_shot);
    sq_bind_text(st, b + 31, j->deliver);
    sq_bind_text(st, b + 32, j->audit);
    sq_bind_text(st, b + 33, j->source);
    sq_bind_time(st, b + 34, j->created_at);
    sq_bind_time(st, b + 35, j->updated_at);
    sq_bind_time(st, b + 36, j->last_run);
    sq_bind_time(st, b + 37, j->next_run);
    sqlite3_bind_int64(st, b + 38, j->run_count);
    sqlite3_bind_int64(st, b + 39, j->failure_count);
}

void sq_job_bind(sqlite3_stmt *st, const struct symbi_job *j)
{
    sq_job_bind_at(st, 0, j);
}

int sq_job_read(sqlite3_stmt *st, struct symbi_job *j)
{
    bool oom = false;
    symbi_job_init(j);
    sq_col_id(st, 0, j->id);
    j->name = sq_col_str(st, 1, &oom);
    j->agent = sq_col_str(st, 2, &oom);
    j->cron_expr = sq_col_str(st, 3, &oom);
    j->at = sq_col_time(st, 4);
    j->timezone = sq_col_str(st, 5, &oom);
    /* enums stored by this code are valid; anything else keeps its default */
    symbi_job_status_parse((const char *)sqlite3_column_text(st, 6), &j->status);
    symbi_session_mode_parse((const char *)sqlite3_column_text(st, 7), &j->session_mode);
    j->delivery = sq_col_str(st, 8, &oom);
    j->webhook_url = sq_col_str(st, 9, &oom);
    j->webhook_headers = sq_col_str(st, 10, &oom);
    j->slack_channel = sq_col_str(st, 11, &oom);
    j->slack_webhook_url = sq_col_str(st, 12, &oom);
    j->email_recipients = sq_col_str(st, 13, &oom);
    j->log_file = sq_col_str(st, 14, &oom);
    j->policy = sq_col_str(st, 15, &oom);
    j->heartbeat.set = sqlite3_column_int(st, 16) != 0;
    j->heartbeat.enabled = sqlite3_column_int(st, 17) != 0;
    symbi_session_mode_parse((const char *)sqlite3_column_text(st, 18), &j->heartbeat.context_mode);
    j->heartbeat.max_iterations = col_int(st, 19);
    j->max_concurrent = col_int(st, 20);
    j->max_retries = (int)sq_col_opt(st, 21);
    j->jitter_ms = sq_col_opt(st, 22);
    symbi_catch_up_parse((const char *)sqlite3_column_text(st, 23), &j->catch_up);
    j->starting_deadline_ms = sq_col_opt(st, 24);
    symbi_dst_gap_parse((const char *)sqlite3_column_text(st, 25), &j->dst_gap);
    symbi_dst_overlap_parse((const char *)sqlite3_column_text(st, 26), &j->dst_overlap);
    j->input = sq_col_str(st, 27, &oom);
    j->agent_pin_jwt = sq_col_str(st, 28, &oom);
    j->one_shot = sqlite3_column_int(st, 29) != 0;
    j->deliver = sq_col_str(st, 30, &oom);
    j->audit = sq_col_str(st, 31, &oom);
    j->source = sq_col_str(st, 32, &oom);
    j->created_at = sq_col_time(st, 33);
    j->updated_at = sq_col_time(st, 34);
    j->last_run = sq_col_time(st, 35);
    j->next_run = sq_col_time(st, 36);
    j->run_count = sqlite3_column_int64(st, 37);
    j->failure_count = sqlite3_column_int64(st, 38);
    if (oom) {
        symbi_job_cleanup(j);
        return SYMBI_ENOMEM;
    }
    return 0;
}

/* ---- runs ---- */

void sq_run_bind(sqlite3_stmt *st, const struct symbi_run *r)
{
    sq_bind_text(st, 1, r->id);
    sq_bind_text(st, 2, r->job_id);
    sq_bind_text(st, 3, r->job_name);
    sq_bind_text(st, 4, r->agent);
    sq_bind_text(st, 5, symbi_trigger_name(r->trigger));
    sq_bind_time(st, 6, r->scheduled_at);
    sq_bind_time(st, 7, r->due_at);
    sq_bind_time(st, 8, r->started_at);
    sq_bind_time(st, 9, r->finished_at);
    sqlite3_bind_int64(st, 10, r->jitter_ms);
    sq_bind_text(st, 11, symbi_run_status_name(r->status));
    sqlite3_bind_int(st, 12, r->attempt);
    sq_bind_text(st, 13, r->input);
    sq_bind_text(st, 14, r->output);
    sqlite3_bind_int(st, 15, r->output_truncated);
    sq_bind_text(st, 16, r->stderr_text);
    sq_bind_text(st, 17, r->summary);
    sq_bind_text(st, 18, r->error_message);
    if (r->has_exit_code)
        sqlite3_bind_int(st, 19, r->exit_code);
    else
        sqlite3_bind_null(st, 19);
    sq_bind_opt(st, 20, r->execution_time_ms);
    sq_bind_text(st, 21, r->node);
    sqlite3_bind_int(st, 22, r->iterations);
    sq_bind_text(st, 23, r->deliveries);
    sq_bind_text(st, 24, r->approver);
    sq_bind_time(st, 25, r->created_at);
    sq_bind_text(st, 26, r->iteration_outputs);
    sq_bind_text(st, 27, r->tool_calls);
    sq_bind_opt(st, 28, r->prompt_tokens);
    sq_bind_opt(st, 29, r->completion_tokens);
    /* an unowned run has no epoch (a retry copied from its first attempt) */
    if (r->node != NULL && r->epoch > 0)
        sqlite3_bind_int64(st, 30, r->epoch);
    else
        sqlite3_bind_null(st, 30);
}

int sq_run_read(sqlite3_stmt *st, struct symbi_run *r)
{
    bool oom = false;
    symbi_run_init(r);
    sq_col_id(st, 0, r->id);
    sq_col_id(st, 1, r->job_id);
    r->job_name = sq_col_str(st, 2, &oom);
    r->agent = sq_col_str(st, 3, &oom);
    symbi_trigger_parse((const char *)sqlite3_column_text(st, 4), &r->trigger);
    r->scheduled_at = sq_col_time(st, 5);
    r->due_at = sq_col_time(st, 6);
    r->started_at = sq_col_time(st, 7);
    r->finished_at = sq_col_time(st, 8);
    r->jitter_ms = sqlite3_column_int64(st, 9);
    symbi_run_status_parse((const char *)sqlite3_column_text(st, 10), &r->status);
    r->attempt = col_int(st, 11);
    r->input = sq_col_str(st, 12, &oom);
    r->output = sq_col_str(st, 13, &oom);
    r->output_truncated = sqlite3_column_int(st, 14) != 0;
    r->stderr_text = sq_col_str(st, 15, &oom);
    r->summary = sq_col_str(st, 16, &oom);
    r->error_message = sq_col_str(st, 17, &oom);
    r->has_exit_code = sqlite3_column_type(st, 18) != SQLITE_NULL;
    r->exit_code = r->has_exit_code ? col_int(st, 18) : 0;
    r->execution_time_ms = sq_col_opt(st, 19);
    r->node = sq_col_str(st, 20, &oom);
    r->iterations = col_int(st, 21);
    r->deliveries = sq_col_str(st, 22, &oom);
    r->approver = sq_col_str(st, 23, &oom);
    r->created_at = sq_col_time(st, 24);
    r->iteration_outputs = sq_col_str(st, 25, &oom);
    r->tool_calls = sq_col_str(st, 26, &oom);
    r->prompt_tokens = sq_col_opt(st, 27);
    r->completion_tokens = sq_col_opt(st, 28);
    r->epoch = sqlite3_column_type(st, 29) != SQLITE_NULL ? sqlite3_column_int64(st, 29) : 0;
    if (oom) {
        symbi_run_cleanup(r);
        return SYMBI_ENOMEM;
    }
    return 0;
}

int sq_runs_push(struct symbi_run **runs, size_t *n, size_t *cap, const struct symbi_run *r)
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

int sq_runs_collect(struct sq_store *s, sqlite3_stmt *st, struct symbi_run **runs, size_t *n,
                    struct symbi_err *err)
{
    struct symbi_run *arr = NULL;
    size_t len = 0, cap = 0;
    int rc;
    while ((rc = sq_step(s, st, err, "reading runs")) == SQLITE_ROW) {
        struct symbi_run r;
        if (sq_run_read(st, &r) != 0 || sq_runs_push(&arr, &len, &cap, &r) != 0) {
            symbi_run_cleanup(&r);
            rc = symbi_err_set(err, SYMBI_ENOMEM, "store: out of memory");
            break;
        }
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        symbi_run_list_free(arr, len);
        return rc;
    }
    *runs = arr;
    *n = len;
    return 0;
}

/* ---- references ---- */

/* Looks up ref by exact id, then (jobs) exact name, then id prefix of at
 * least 8 characters. Ids match in any case. */
static int resolve(struct sq_store *s, const char *ref, const char *by_id, const char *by_name,
                   const char *by_prefix, const char *what, char id[SYMBI_UUID_LEN + 1],
                   struct symbi_err *err)
{
    if (ref == NULL || *ref == '\0')
        return symbi_err_set(err, SYMBI_EINVAL, "no %s given", what);
    size_t len = strlen(ref);
    char low[SYMBI_UUID_LEN + 1];
    bool idish = symbi_common_id_like(ref, len, low);
    const char *queries[2] = {by_id, by_name};
    const char *keys[2] = {idish ? low : ref, ref};
    for (size_t q = 0; q < 2; q++) {
        if (queries[q] == NULL)
            continue;
        sqlite3_stmt *st = sq_prep(s, queries[q], err);
        if (st == NULL)
            return err ? err->code : SYMBI_ESTORE;
        sq_bind_text(st, 1, keys[q]);
        int rc = sq_step(s, st, err, "looking up a reference");
        if (rc == SQLITE_ROW)
            sq_col_id(st, 0, id);
        sqlite3_reset(st);
        if (rc == SQLITE_ROW)
            return 0;
        if (rc < 0)
            return rc;
    }
    if (idish && len >= 8) {
        sqlite3_stmt *st = sq_prep(s, by_prefix, err);
        if (st == NULL)
            return err ? err->code : SYMBI_ESTORE;
        /* ids between the prefix and the prefix followed by '~' (after every
         * hex digit and '-') start with it: an index range, not a scan */
        char hi[SYMBI_UUID_LEN + 2];
        symbi_common_prefix_hi(low, len, hi);
        sq_bind_text(st, 1, low);
        sqlite3_bind_text(st, 2, hi, -1, SQLITE_TRANSIENT);
        char first[SYMBI_UUID_LEN + 1] = "", second[SYMBI_UUID_LEN + 1] = "";
        int rc, rows = 0;
        while ((rc = sq_step(s, st, err, "looking up a prefix")) == SQLITE_ROW)
            sq_col_id(st, 0, rows++ == 0 ? first : second);
        sqlite3_reset(st);
        if (rc < 0)
            return rc;
        return symbi_common_resolve_end(what, ref, idish, len, rows, first, second, id, err);
    }
    return symbi_common_resolve_end(what, ref, idish, len, 0, "", "", id, err);
}

int sq_job_resolve(struct sq_store *s, const char *ref, char id[SYMBI_UUID_LEN + 1],
                   struct symbi_err *err)
{
    return resolve(
        s, ref, "SELECT id FROM jobs WHERE id = ?1", "SELECT id FROM jobs WHERE name = ?1",
        "SELECT id FROM jobs WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT 2", "job", id, err);
}

int sq_run_resolve(struct sq_store *s, const char *ref, char id[SYMBI_UUID_LEN + 1],
                   struct symbi_err *err)
{
    return resolve(s, ref, "SELECT id FROM runs WHERE id = ?1", NULL,
                   "SELECT id FROM runs WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT 2", "run", id,
                   err);
}

/* ---- audit ---- */

int sq_audit(struct sq_store *s, int64_t at, const char *type, const char *job_id,
             const char *job_name, const char *run_id, const char *actor, const char *details,
             struct symbi_err *err)
{
    sqlite3_stmt *st = sq_prep(s,
                               "INSERT INTO audit_events (at, type, job_id, job_name, run_id, "
                               "actor, details) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                               err);
    if (st == NULL)
        return err ? err->code : SYMBI_ESTORE;
    sqlite3_bind_int64(st, 1, at);
    sq_bind_text(st, 2, type);
    sq_bind_text(st, 3, job_id != NULL && *job_id != '\0' ? job_id : NULL);
    sq_bind_text(st, 4, job_name);
    sq_bind_text(st, 5, run_id != NULL && *run_id != '\0' ? run_id : NULL);
    sq_bind_text(st, 6, actor);
    sq_bind_text(st, 7, details);
    int rc = sq_step(s, st, err, "writing an audit event");
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : rc;
}

#define AUDIT_ROW    "(?,?,?,?,?,?,?)"
#define AUDIT_ROWS4  AUDIT_ROW "," AUDIT_ROW "," AUDIT_ROW "," AUDIT_ROW
#define AUDIT_ROWS16 AUDIT_ROWS4 "," AUDIT_ROWS4 "," AUDIT_ROWS4 "," AUDIT_ROWS4
_Static_assert(SQ_BATCH == 32, "AUDIT_ROWS32 writes SQ_BATCH rows");

/* SQ_BATCH events in one INSERT statement: a statement's own cost (its
 * cursors opened and closed, its halt) is paid once for them all */
static int audit_batch(struct sq_store *s, const struct symbi_audit_event *e, struct symbi_err *err)
{
    sqlite3_stmt *st = sq_prep(s,
                               "INSERT INTO audit_events (at, type, job_id, job_name, run_id, "
                               "actor, details) VALUES " AUDIT_ROWS16 "," AUDIT_ROWS16,
                               err);
    if (st == NULL)
        return err ? err->code : SYMBI_ESTORE;
    for (int i = 0; i < SQ_BATCH; i++, e++) {
        int b = i * 7;
        sqlite3_bind_int64(st, b + 1, e->at);
        sq_bind_text(st, b + 2, e->type);
        sq_bind_text(st, b + 3, e->job_id[0] != '\0' ? e->job_id : NULL);
        sq_bind_text(st, b + 4, e->job_name);
        sq_bind_text(st, b + 5, e->run_id[0] != '\0' ? e->run_id : NULL);
        sq_bind_text(st, b + 6, e->actor);
        sq_bind_text(st, b + 7, e->details);
    }
    int rc = sq_step(s, st, err, "writing audit events");
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : rc;
}

int sq_audit_events(struct sq_store *s, const struct symbi_rules_events *ev, struct symbi_err *err)
{
    size_t i = 0;
    for (; i + SQ_BATCH <= ev->n; i += SQ_BATCH) {
        int rc = audit_batch(s, &ev->v[i], err);
        if (rc != 0)
            return rc;
    }
    for (; i < ev->n; i++) {
        const struct symbi_audit_event *e = &ev->v[i];
        int rc = sq_audit(s, e->at, e->type, e->job_id, e->job_name, e->run_id, e->actor,
                          e->details, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}
