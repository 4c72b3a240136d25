/* h_upstream.c - upstream Symbiont's schedule routes (SPEC §9.2), answered
 * with exactly upstream's key sets and PascalCase statuses so that its
 * published client SDKs work unchanged. */
#include "http/http_internal.h"
#include "symbi/json.h"
#include "symbi/policy.h"

#include <string.h>

static json_t *str_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

/* {job_id,name,cron_expression,timezone,status,enabled,next_run,run_count},
 * plus the detail keys when detail is set. */
static json_t *job_summary(const struct symbi_job *job, bool detail)
{
    json_t *o = json_pack("{s:s,s:o,s:o,s:s,s:s,s:b,s:o,s:I}", "job_id", job->id, "name",
                          str_or_null(job->name), "cron_expression", str_or_null(job->cron_expr),
                          "timezone", job->timezone != NULL ? job->timezone : "UTC", "status",
                          symbi_job_status_pascal(job->status), "enabled",
                          job->status == SYMBI_JOB_ACTIVE, "next_run",
                          symbi_json_time(job->next_run), "run_count", (json_int_t)job->run_count);
    if (o == NULL || !detail)
        return o;
    json_object_set_new(o, "one_shot", json_boolean(job->one_shot));
    json_object_set_new(o, "last_run", symbi_json_time(job->last_run));
    json_object_set_new(o, "failure_count", json_integer(job->failure_count));
    json_object_set_new(o, "created_at", symbi_json_time(job->created_at));
    json_object_set_new(o, "updated_at", symbi_json_time(job->updated_at));
    return o;
}

/* The job's policy with its policy_ids set to ids (upstream policy
 * references, SPEC §8.3: kept, no effect), from the current policy JSON
 * (NULL: none). An empty ids list removes the key; nothing left is null. */
static json_t *policy_with_ids(const char *current, json_t *ids)
{
    json_t *pol = current != NULL ? json_loads(current, 0, NULL) : NULL;
    if (!json_is_object(pol)) {
        json_decref(pol);
        pol = json_object();
    }
    if (pol == NULL)
        return NULL;
    if (json_array_size(ids) > 0)
        json_object_set(pol, "policy_ids", ids);
    else
        json_object_del(pol, "policy_ids");
    if (json_object_size(pol) == 0) {
        json_decref(pol);
        return json_null();
    }
    return pol;
}

/* Checks the body's keys against `allowed` and policy_ids' type, and
 * returns a copy for json.h to apply, policy_ids turned into the job's
 * policy (current: the stored policy JSON, NULL for a new job). */
static json_t *upstream_body(struct http_req *r, const char *const *allowed, size_t n_allowed,
                             const char *current)
{
    json_t *copy = json_object();
    const char *key;
    json_t *v;
    if (copy == NULL || r->json == NULL)
        return copy;
    json_object_foreach(r->json, key, v)
    {
        bool known = false;
        for (size_t i = 0; i < n_allowed; i++)
            known = known || strcmp(key, allowed[i]) == 0;
        if (!known) {
            http_reply_error(r, 400, "INVALID_FIELD", json_pack("{s:s}", "field", key),
                             "unknown field \"%.64s\"", key);
            json_decref(copy);
            return NULL;
        }
        if (strcmp(key, "policy_ids") == 0) {
            size_t i;
            json_t *id;
            bool ok = json_is_array(v) || json_is_null(v);
            json_array_foreach(v, i, id) ok =
                ok && json_is_string(id) && json_string_length(id) > 0;
            if (!ok || json_array_size(v) > SYMBI_POLICY_MAX_LIST) {
                http_reply_error(r, 400, "INVALID_FIELD", json_pack("{s:s}", "field", key),
                                 "policy_ids must be an array of at most %d names",
                                 SYMBI_POLICY_MAX_LIST);
                json_decref(copy);
                return NULL;
            }
            if (current != NULL || json_array_size(v) > 0)
                json_object_set_new(copy, "policy", policy_with_ids(current, v));
            continue;
        }
        json_object_set(copy, key, v);
    }
    return copy;
}

void http_h_up_create(struct http_req *r)
{
    static const char *const allowed[] = {"name",     "cron_expression", "agent_name",
                                          "timezone", "policy_ids",      "one_shot"};
    struct symbi_store *st = http_store(r, true);
    if (st == NULL)
        return;
    if (r->json == NULL) {
        http_reply_error(r, 400, "INVALID_JSON", NULL, "a JSON object with the job is required");
        return;
    }
    json_t *body = upstream_body(r, allowed, SYMBI_ARRAY_LEN(allowed), NULL);
    if (body == NULL)
        return;
    struct symbi_job job;
    if (http_create_job(r, st, body, &job)) {
        http_reply(r, 201,
                   json_pack("{s:s,s:o,s:s}", "job_id", job.id, "next_run",
                             symbi_json_time(job.next_run), "status", "created"));
        symbi_job_cleanup(&job);
    }
    json_decref(body);
}

void http_h_up_list(struct http_req *r)
{
    struct symbi_store *st = http_store(r, true);
    if (st == NULL)
        return;
    struct symbi_job_filter f = {.limit = HTTP_MAX_LIST};
    struct symbi_job *jobs = NULL;
    size_t n = 0;
    struct symbi_err err = {0};
    if (symbi_store_job_list(st, &f, &jobs, &n, &err) != 0) {
        http_reply_err(r, &err);
        return;
    }
    json_t *arr = http_jobs_json(jobs, n, job_summary, false);
    symbi_job_list_free(jobs, n);
    http_reply(r, 200, arr);
}

void http_h_up_get(struct http_req *r)
{
    struct symbi_store *st = http_store(r, true);
    struct symbi_job job;
    if (st == NULL || !http_load_job(r, st, &job))
        return;
    http_reply(r, 200, job_summary(&job, true));
    symbi_job_cleanup(&job);
}

void http_h_up_update(struct http_req *r)
{
    static const char *const allowed[] = {"cron_expression", "timezone", "policy_ids", "one_shot"};
    struct symbi_store *st = http_store(r, true);
    if (st == NULL)
        return;
    struct symbi_job cur;
    if (!http_load_job(r, st, &cur))
        return;
    json_t *body =
        upstream_body(r, allowed, SYMBI_ARRAY_LEN(allowed), cur.policy != NULL ? cur.policy : "{}");
    symbi_job_cleanup(&cur);
    if (body == NULL)
        return;
    struct symbi_job job;
    if (http_update_job(r, st, body, &job)) {
        http_reply(r, 200, job_summary(&job, true));
        symbi_job_cleanup(&job);
    }
    json_decref(body);
}

void http_h_up_delete(struct http_req *r)
{
    struct symbi_store *st = http_store(r, true);
    struct symbi_job job;
    if (st == NULL || !http_load_job(r, st, &job))
        return;
    struct symbi_err err = {0};
    if (symbi_store_job_delete(st, job.id, r->actor, &err) != 0) {
        http_reply_err(r, &err);
    } else {
        http_wake(r);
        http_reply(r, 200, json_pack("{s:s,s:b}", "job_id", job.id, "deleted", 1));
    }
    symbi_job_cleanup(&job);
}

static void up_action(struct http_req *r, const char *action)
{
    struct symbi_store *st = http_store(r, true);
    struct symbi_job job;
    if (!http_body_fieldless(r) || st == NULL || !http_load_job(r, st, &job))
        return;
    struct symbi_err err = {0};
    const char *status = NULL;
    if (strcmp(action, "trigger") == 0) {
        struct symbi_run run;
        if (http_queue_manual_run(r, st, &job, NULL, &run) == 0) {
            symbi_run_cleanup(&run);
            status = "triggered";
        }
    } else {
        bool pause = strcmp(action, "pause") == 0;
        if (symbi_store_job_set_status(st, job.id, pause ? SYMBI_JOB_PAUSED : SYMBI_JOB_ACTIVE,
                                       r->now, r->actor, &err) != 0) {
            http_reply_err(r, &err);
        } else {
            http_wake(r);
            status = pause ? "paused" : "active";
        }
    }
    if (status != NULL)
        http_reply(
            r, 200,
            json_pack("{s:s,s:s,s:s}", "job_id", job.id, "action", action, "status", status));
    symbi_job_cleanup(&job);
}

void http_h_up_pause(struct http_req *r)
{
    up_action(r, "pause");
}

void http_h_up_resume(struct http_req *r)
{
    up_action(r, "resume");
}

void http_h_up_trigger(struct http_req *r)
{
    up_action(r, "trigger");
}

void http_h_up_history(struct http_req *r)
{
    struct symbi_store *st = http_store(r, true);
    struct symbi_job job;
    int64_t limit = 0;
    if (st == NULL || !http_load_job(r, st, &job))
        return;
    if (!http_query_int(r, "limit", 1, HTTP_MAX_LIST, 50, &limit)) {
        symbi_job_cleanup(&job);
        return;
    }
    struct symbi_run_filter f = {.job_id = job.id, .due_before = SYMBI_TIME_NONE, .limit = limit};
    struct symbi_run *runs = NULL;
    size_t n = 0;
    struct symbi_err err = {0};
    if (symbi_store_run_list(st, &f, &runs, &n, &err) != 0) {
        http_reply_err(r, &err);
        symbi_job_cleanup(&job);
        return;
    }
    json_t *hist = json_array();
    for (size_t i = 0; hist != NULL && i < n; i++) {
        const struct symbi_run *run = &runs[i];
        json_t *e = json_pack(
            "{s:s,s:o,s:o,s:s,s:o,s:o}", "run_id", run->id, "started_at",
            symbi_json_time(run->started_at), "completed_at", symbi_json_time(run->finished_at),
            "status", symbi_run_status_pascal(run->status), "error",
            str_or_null(run->error_message), "execution_time_ms",
            run->execution_time_ms >= 0 ? json_integer(run->execution_time_ms) : json_null());
        if (e == NULL || json_array_append_new(hist, e) != 0) {
            json_decref(hist);
            hist = NULL;
        }
    }
    symbi_run_list_free(runs, n);
    if (hist == NULL)
        http_reply_error(r, 500, "INTERNAL", NULL, "out of memory");
    else
        http_reply(r, 200, json_pack("{s:s,s:o}", "job_id", job.id, "history", hist));
    symbi_job_cleanup(&job);
}

void http_h_up_next_runs(struct http_req *r)
{
    struct symbi_store *st = http_store(r, true);
    struct symbi_job job;
    if (st == NULL || !http_load_job(r, st, &job))
        return;
    json_t *arr = http_next_fires_asked(r, &job, 5);
    if (arr != NULL)
        http_reply(r, 200, json_pack("{s:s,s:o}", "job_id", job.id, "next_runs", arr));
    symbi_job_cleanup(&job);
}
