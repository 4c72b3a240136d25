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

/* Who is answering: the authenticated API key's name ("api-key:NAME"),
 * "env" for SYMBI_API_KEY, "local" for a loopback caller in protected mode
 * (the dashboard's "ui:" prefix does not change who it is). */
static const char *identity(const struct http_req *r)
{
    const char *a = r->actor;
    if (a != NULL && strncmp(a, "ui:", 3) == 0) /* the dashboard with a key */
        a += 3;
    if (a != NULL && strncmp(a, "api-key:", 8) == 0)
        return a + 8;
    if (a != NULL && strcmp(a, "env") == 0)
        return "env";
    return "local";
}

/* approve (to queued, for the scheduler to start) or deny (final). The
 * approver is the caller's identity; a body `approver` must name it. */
static void decide(struct http_req *r, bool approve)
{
    struct symbi_store *st = http_store(r, true);
    if (st == NULL)
        return;
    const char *who = identity(r), *reason = NULL;
    if (r->json != NULL) {
        const char *key;
        json_t *v;
        json_object_foreach(r->json, key, v)
        {
            bool ok = json_is_string(v) &&
                      (strcmp(key, "approver") == 0 || (!approve && strcmp(key, "reason") == 0));
            if (!ok || strlen(json_string_value(v)) > 400) {
                http_reply_error(r, 400, "INVALID_FIELD", json_pack("{s:s}", "field", key),
                                 approve ? "the body takes only \"approver\" (a string)"
                                         : "the body takes only \"approver\" and \"reason\" "
                                           "(strings)");
                return;
            }
            if (key[0] == 'r')
                reason = json_string_value(v);
        }
        const char *claimed = json_string_value(json_object_get(r->json, "approver"));
        if (claimed != NULL && strcmp(claimed, who) != 0) {
            http_reply_error(r, 403, "FORBIDDEN",
                             json_pack("{s:s,s:s}", "approver", claimed, "authenticated", who),
                             "approver \"%.100s\" is not the authenticated caller \"%.100s\"",
                             claimed, who);
            return;
        }
    }
    struct symbi_run run;
    struct symbi_err err = {0};
    symbi_run_init(&run);
    if (symbi_policy_decide(st, r->params[0], approve, who, reason, http_approval_timeout(r),
                            r->now, &run, &err) == 0) {
        http_wake(r);
        http_reply(r, 200, symbi_run_to_json(&run));
    } else if (err.code == SYMBI_EDENIED) {
        http_reply_error(r, 403, "FORBIDDEN", json_pack("{s:s}", "approver", who), "%s", err.msg);
    } else if (err.code == SYMBI_ESTATE) {
        struct symbi_err e2 = {0};
        json_t *det = NULL;
        if (symbi_store_run_get(st, r->params[0], &run, &e2) == 0)
            det = json_pack("{s:s}", "status", symbi_run_status_name(run.status));
        http_reply_error(r, 409, "INVALID_STATE", det, "%s", err.msg);
    } else if (err.code == SYMBI_ENOTFOUND) {
        http_reply_error(r, 404, "NOT_FOUND", json_pack("{s:s}", "run", r->params[0]),
                         "no run \"%s\"", r->params[0]);
    } else {
        http_reply_err(r, &err);
    }
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
