/* h_runs.c - run and audit routes (SPEC §9.1): a run by id, approval and
 * denial of a run waiting for approval (§8.1), and the audit query. */
#include "http/http_internal.h"
#include "symbi/json.h"
#include "symbi/policy.h"

#include <string.h>

static bool load_run(struct http_req *r, struct symbi_store *st, struct symbi_run *run)
{
    struct symbi_err err = {0};
    symbi_run_init(run);
    if (symbi_store_run_get(st, r->params[0], run, &err) != 0) {
        symbi_run_cleanup(run);
        if (err.code == SYMBI_ENOTFOUND || err.code == 0)
            http_reply_error(r, 404, "NOT_FOUND", json_pack("{s:s}", "run", r->params[0]),
                             "no run \"%s\"", r->params[0]);
        else
            http_reply_err(r, &err);
        return false;
    }
    return true;
}

void http_h_run_get(struct http_req *r)
{
    struct symbi_store *st = http_store(r, true);
    struct symbi_run run;
    if (st == NULL || !load_run(r, st, &run))
        return;
    http_reply(r, 200, symbi_run_to_json(&run));
    symbi_run_cleanup(&run);
}

/* true when the job's policy lists no approvers or lists `who` (a policy
 * that does not parse lets no one approve) */
static bool may_approve(const struct symbi_job *job, const char *who)
{
    struct symbi_policy pol;
    if (symbi_policy_parse(job->policy, &pol, NULL, NULL) != 0) {
        symbi_policy_cleanup(&pol);
        return false;
    }
    bool ok = pol.approvers.n == 0 || symbi_policy_list_has(&pol.approvers, who);
    symbi_policy_cleanup(&pol);
    return ok;
}

/* approve (to queued, for the scheduler to start) or deny (final). */
static void decide(struct http_req *r, bool approve)
{
    struct symbi_store *st = http_store(r, true);
    if (st == NULL)
        return;
    const char *approver = NULL;
    if (r->json != NULL) {
        const char *key;
        json_t *v;
        json_object_foreach(r->json, key, v)
        {
            if (strcmp(key, "approver") != 0 || !json_is_string(v)) {
                http_reply_error(r, 400, "INVALID_FIELD", json_pack("{s:s}", "field", key),
                                 "the body takes only \"approver\" (a string)");
                return;
            }
            approver = json_string_value(v);
        }
    }
    if (approver == NULL)
        approver = r->actor;
    struct symbi_run run;
    if (!load_run(r, st, &run))
        return;
    struct symbi_job job;
    struct symbi_err err = {0};
    symbi_job_init(&job);
    if (run.status != SYMBI_RUN_PENDING_APPROVAL) {
        http_reply_error(r, 409, "INVALID_STATE",
                         json_pack("{s:s}", "status", symbi_run_status_name(run.status)),
                         "run %s is %s, not pending_approval", run.id,
                         symbi_run_status_name(run.status));
    } else if (symbi_store_job_get(st, run.job_id, &job, &err) != 0) {
        http_reply_err(r, &err);
    } else if (!may_approve(&job, approver)) {
        http_reply_error(r, 403, "FORBIDDEN", json_pack("{s:s}", "approver", approver),
                         "\"%s\" is not among the job's approvers", approver);
    } else if (symbi_store_run_transition(st, run.id, SYMBI_RUN_PENDING_APPROVAL,
                                          approve ? SYMBI_RUN_QUEUED : SYMBI_RUN_DENIED, r->now,
                                          &err) != 0) {
        http_reply_err(r, &err);
    } else {
        symbi_run_cleanup(&run);
        symbi_run_init(&run);
        if (symbi_store_run_get(st, r->params[0], &run, &err) == 0) {
            symbi_set_str(&run.approver, approver);
            if (!approve) {
                char msg[300];
                snprintf(msg, sizeof msg, "denied by %s", approver);
                symbi_set_str(&run.error_message, msg);
                run.finished_at = r->now;
            }
            if (symbi_store_run_update(st, &run, &err) != 0)
                symbi_log(SYMBI_LOG_WARN, "api", "cannot record approver: %s", err.msg);
            struct symbi_audit_event ev;
            symbi_audit_event_init(&ev);
            ev.at = r->now;
            ev.type = symbi_strdup(approve ? "CronRunApproved" : "CronRunDenied");
            memcpy(ev.job_id, job.id, sizeof ev.job_id);
            memcpy(ev.run_id, run.id, sizeof ev.run_id);
            ev.job_name = symbi_strdup(job.name);
            ev.actor = symbi_strdup(r->actor);
            json_t *d = json_pack("{s:s}", "approver", approver);
            ev.details = symbi_json_dump_compact(d);
            json_decref(d);
            if (ev.type != NULL && symbi_store_audit_append(st, &ev, &err) != 0)
                symbi_log(SYMBI_LOG_WARN, "api", "audit append failed: %s", err.msg);
            symbi_audit_event_cleanup(&ev);
            http_wake(r);
            http_reply(r, 200, symbi_run_to_json(&run));
        } else {
            http_reply_err(r, &err);
        }
    }
    symbi_job_cleanup(&job);
    symbi_run_cleanup(&run);
}

void http_h_run_approve(struct http_req *r)
{
    decide(r, true);
}

void http_h_run_deny(struct http_req *r)
{
    decide(r, false);
}

static bool query_time(struct http_req *r, const char *name, int64_t *out)
{
    const char *v = http_query(r, name);
    *out = SYMBI_TIME_NONE;
    if (v == NULL || *v == '\0')
        return true;
    if (strlen(v) > 64 || symbi_time_parse(v, out) != 0) {
        http_reply_error(r, 400, "INVALID_QUERY", json_pack("{s:s}", "field", name),
                         "query parameter %s must be an RFC 3339 time or a date", name);
        return false;
    }
    return true;
}

void http_h_audit(struct http_req *r)
{
    struct symbi_store *st = http_store(r, true);
    if (st == NULL)
        return;
    struct symbi_audit_filter f = {0};
    f.type = http_query(r, "type");
    f.job = http_query(r, "job");
    if (f.type != NULL && *f.type == '\0')
        f.type = NULL;
    if (f.job != NULL && *f.job == '\0')
        f.job = NULL;
    if (!query_time(r, "since", &f.since) || !query_time(r, "until", &f.until) ||
        !http_query_int(r, "limit", 1, HTTP_MAX_LIST, 100, &f.limit))
        return;
    struct symbi_audit_event *evs = NULL;
    size_t n = 0;
    struct symbi_err err = {0};
    if (symbi_store_audit_query(st, &f, &evs, &n, &err) != 0) {
        http_reply_err(r, &err);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        json_t *j = symbi_audit_event_to_json(&evs[i]);
        if (j == NULL || json_array_append_new(arr, j) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    symbi_audit_list_free(evs, n);
    http_reply(r, 200, arr);
}
