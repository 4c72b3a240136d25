/* h_schedule.c - the guide's job routes (SPEC §9.1): create, list, get,
 * update, delete, pause/resume/reset, manual run, history and next fire
 * instants. Validation is the CLI's (json.h + dsl.h), so messages match. */
#include "http/http_internal.h"
#include "symbi/cron.h"
#include "symbi/dsl.h"
#include "symbi/json.h"

#include <string.h>

/* Loads the job named by the route's first parameter; replies on failure. */
bool http_load_job(struct http_req *r, struct symbi_store *st, struct symbi_job *job)
{
    struct symbi_err err = {0};
    symbi_job_init(job);
    if (symbi_store_job_get(st, r->params[0], job, &err) != 0) {
        symbi_job_cleanup(job);
        if (err.code == SYMBI_ENOTFOUND || err.code == 0)
            http_reply_error(r, 404, "NOT_FOUND", json_pack("{s:s}", "job", r->params[0]),
                             "no job \"%s\"", r->params[0]);
        else
            http_reply_err(r, &err);
        return false;
    }
    return true;
}

/* 400 naming the field that failed validation. */
static void reply_bad_field(struct http_req *r, const struct symbi_err *err, const char *field)
{
    const char *code = "INVALID_FIELD";
    if (field != NULL && (strcmp(field, "cron_expr") == 0 || strcmp(field, "cron") == 0 ||
                          strcmp(field, "cron_expression") == 0))
        code = "INVALID_CRON";
    else if (field != NULL && strcmp(field, "timezone") == 0)
        code = "INVALID_TIMEZONE";
    http_reply_error(r, 400, code, field ? json_pack("{s:s}", "field", field) : NULL, "%s",
                     err->msg[0] ? err->msg : symbi_strerror(err->code));
}

static bool same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The key of obj that json.h does not know (it names it only in the
 * message), so details.field can carry it; NULL when none. */
static const char *unknown_key(const json_t *obj)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v)
    {
        struct symbi_job scratch;
        const char *bad = NULL;
        json_t *one = json_pack("{s:O}", key, v);
        symbi_job_init(&scratch);
        int rc = one != NULL ? symbi_job_apply_json(&scratch, one, &bad, NULL) : 0;
        symbi_job_cleanup(&scratch);
        json_decref(one);
        if (rc != 0 && bad != NULL && *bad == '\0')
            return key;
    }
    return NULL;
}

/* The API's name for a field the validator names as the DSL does ("cron",
 * "agent"): the alias the body used, else the canonical one. */
static const char *api_field_name(const json_t *obj, const char *field)
{
    static const char *const aliases[][4] = {
        {"cron", "cron_expr", "cron_expression", "cron"},
        {"agent", "agent_id", "agent_name", "agent"},
    };
    for (size_t i = 0; field != NULL && i < SYMBI_ARRAY_LEN(aliases); i++) {
        if (strcmp(field, aliases[i][0]) != 0)
            continue;
        for (size_t k = 1; k < 4; k++)
            if (json_object_get(obj, aliases[i][k]) != NULL)
                return aliases[i][k];
        return aliases[i][1];
    }
    return field;
}

/* 400 for a body that json.h or the validator refused. */
static void reply_invalid(struct http_req *r, const json_t *obj, const struct symbi_err *err,
                          const char *field)
{
    if (field != NULL && *field == '\0')
        field = unknown_key(obj);
    reply_bad_field(r, err, api_field_name(obj, field));
}

static void reply_job(struct http_req *r, unsigned status, const struct symbi_job *job)
{
    http_reply(r, status, symbi_job_to_json(job, true));
}

bool http_create_job(struct http_req *r, struct symbi_store *st, const json_t *obj,
                     struct symbi_job *job)
{
    struct symbi_err err = {0};
    const char *field = NULL;
    symbi_job_init(job);
    if (symbi_job_apply_json(job, obj, &field, &err) != 0 ||
        symbi_job_validate_field(job, &field, &err) != 0) {
        reply_invalid(r, obj, &err, field);
    } else if (symbi_set_str(&job->source, "api") != 0) {
        http_reply_error(r, 500, "INTERNAL", NULL, "out of memory");
    } else if (symbi_store_job_create(st, job, r->now, r->actor, &err) != 0) {
        http_reply_err(r, &err);
    } else {
        http_wake(r);
        return true;
    }
    symbi_job_cleanup(job);
    return false;
}

void http_h_schedule_create(struct http_req *r)
{
    struct symbi_store *st = http_store(r, true);
    if (st == NULL)
        return;
    if (r->json == NULL) {
        http_reply_error(r, 400, "INVALID_JSON", NULL, "a JSON object with the job is required");
        return;
    }
    struct symbi_job job;
    if (http_create_job(r, st, r->json, &job)) {
        reply_job(r, 201, &job);
        symbi_job_cleanup(&job);
    }
}

void http_h_schedule_list(struct http_req *r)
{
    struct http_thread *t = http_thread(r, true);
    if (t == NULL)
        return;
    struct symbi_store *st = t->st;
    struct symbi_job_filter f = {0};
    const char *status = http_query(r, "status");
    if (status != NULL && *status != '\0') {
        if (symbi_job_status_parse(status, &f.status) != 0) {
            http_reply_error(r, 400, "INVALID_QUERY", json_pack("{s:s}", "field", "status"),
                             "unknown job status \"%.64s\" (active, paused, completed, failed, "
                             "dead_letter)",
                             status);
            return;
        }
        f.has_status = true;
    }
    f.agent = http_query(r, "agent_id");
    if (f.agent == NULL)
        f.agent = http_query(r, "agent");
    if (f.agent != NULL && *f.agent == '\0')
        f.agent = NULL;
    if (!http_query_int(r, "limit", 0, HTTP_MAX_LIST, HTTP_MAX_LIST, &f.limit) ||
        !http_query_int(r, "offset", 0, INT32_MAX, 0, &f.offset))
        return;
    if (f.limit == 0)
        f.limit = HTTP_MAX_LIST;
    /* the same query with nothing changed in the store since: the bytes
     * rendered last time (a list of 1,000 jobs takes ~10 ms to render) */
    char key[HTTP_MAX_URL + 96];
    snprintf(key, sizeof key, "%d:%d:%lld:%lld:%s", f.has_status, (int)f.status, (long long)f.limit,
             (long long)f.offset, f.agent != NULL ? f.agent : "\x01");
    int64_t mark = 0;
    bool have_mark = symbi_store_change_mark(st, &mark) == 0;
    if (have_mark && t->list_text != NULL && t->list_mark == mark &&
        strcmp(t->list_key, key) == 0) {
        char *copy = symbi_strndup(t->list_text, t->list_len);
        if (copy != NULL) {
            http_reply_text(r, 200, "application/json", copy);
            return;
        }
    }
    struct symbi_job *jobs = NULL;
    size_t n = 0;
    struct symbi_err err = {0};
    if (symbi_store_job_list(st, &f, &jobs, &n, &err) != 0) {
        http_reply_err(r, &err);
        return;
    }
    json_t *arr = http_jobs_json(jobs, n, symbi_job_to_json, true);
    symbi_job_list_free(jobs, n);
    char *text = arr != NULL ? json_dumps(arr, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(arr);
    if (text == NULL) {
        http_reply_error(r, 500, "INTERNAL", NULL, "out of memory");
        return;
    }
    free(t->list_text);
    free(t->list_key);
    t->list_len = strlen(text);
    t->list_text = have_mark ? symbi_strndup(text, t->list_len) : NULL;
    t->list_key = t->list_text != NULL ? symbi_strdup(key) : NULL;
    if (t->list_key == NULL) {
        free(t->list_text);
        t->list_text = NULL;
    }
    t->list_mark = mark;
    http_reply_text(r, 200, "application/json", text);
}

void http_h_schedule_get(struct http_req *r)
{
    struct symbi_store *st = http_store(r, true);
    struct symbi_job job;
    if (st == NULL || !http_load_job(r, st, &job))
        return;
    reply_job(r, 200, &job);
    symbi_job_cleanup(&job);
}

bool http_update_job(struct http_req *r, struct symbi_store *st, const json_t *obj,
                     struct symbi_job *job)
{
    struct symbi_job old;
    if (!http_load_job(r, st, &old))
        return false;
    struct symbi_err err = {0};
    const char *field = NULL;
    bool ok = false;
    symbi_job_init(job);
    if (symbi_job_copy(job, &old) != 0) {
        http_reply_error(r, 500, "INTERNAL", NULL, "out of memory");
    } else if (obj != NULL && (symbi_job_apply_json(job, obj, &field, &err) != 0 ||
                               symbi_job_validate_field(job, &field, &err) != 0)) {
        reply_invalid(r, obj, &err, field);
    } else {
        bool sched_changed = !same_str(old.cron_expr, job->cron_expr) || old.at != job->at ||
                             !same_str(old.timezone, job->timezone) ||
                             old.dst_gap != job->dst_gap || old.dst_overlap != job->dst_overlap;
        int64_t next = job->next_run;
        if (sched_changed && symbi_cron_job_next(job, r->now, &next, &err) != 0) {
            reply_bad_field(r, &err, job->cron_expr != NULL ? "cron_expr" : "at");
        } else {
            job->next_run = next;
            if (symbi_store_job_update(st, job, r->now, r->actor, &err) != 0) {
                http_reply_err(r, &err);
            } else {
                http_wake(r);
                ok = true;
            }
        }
    }
    symbi_job_cleanup(&old);
    if (!ok)
        symbi_job_cleanup(job);
    return ok;
}

void http_h_schedule_update(struct http_req *r)
{
    struct symbi_store *st = http_store(r, true);
    struct symbi_job job;
    if (st == NULL || !http_update_job(r, st, r->json, &job))
        return;
    reply_job(r, 200, &job);
    symbi_job_cleanup(&job);
}

void http_h_schedule_delete(struct http_req *r)
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
        http_reply(r, 200, json_pack("{s:s,s:b}", "id", job.id, "deleted", 1));
    }
    symbi_job_cleanup(&job);
}

/* pause / resume / reset: the store applies the transition, the answer is
 * the job as it is now. */
bool http_body_fieldless(struct http_req *r)
{
    if (r->json == NULL || (json_is_object(r->json) && json_object_size(r->json) == 0))
        return true;
    if (!json_is_object(r->json)) {
        http_reply_error(r, 400, "INVALID_JSON", NULL,
                         "this action takes no body, or {} (not another JSON value)");
        return false;
    }
    const char *key = json_object_iter_key(json_object_iter(r->json));
    http_reply_error(r, 400, "INVALID_FIELD", json_pack("{s:s}", "field", key),
                     "unknown field \"%.64s\" (this action takes no fields)", key);
    return false;
}

static void change_status(struct http_req *r, int what)
{
    struct symbi_store *st = http_store(r, true);
    struct symbi_job job;
    if (!http_body_fieldless(r) || st == NULL || !http_load_job(r, st, &job))
        return;
    struct symbi_err err = {0};
    int rc;
    if (what == 2)
        rc = symbi_store_job_reset(st, job.id, r->now, r->actor, &err);
    else
        rc = symbi_store_job_set_status(st, job.id, what == 0 ? SYMBI_JOB_PAUSED : SYMBI_JOB_ACTIVE,
                                        r->now, r->actor, &err);
    if (rc != 0) {
        http_reply_err(r, &err);
    } else {
        http_wake(r);
        symbi_job_cleanup(&job);
        if (!http_load_job(r, st, &job))
            return;
        reply_job(r, 200, &job);
    }
    symbi_job_cleanup(&job);
}

void http_h_schedule_pause(struct http_req *r)
{
    change_status(r, 0);
}

void http_h_schedule_resume(struct http_req *r)
{
    change_status(r, 1);
}

void http_h_schedule_reset(struct http_req *r)
{
    change_status(r, 2);
}

int http_queue_manual_run(struct http_req *r, struct symbi_store *st, const struct symbi_job *job,
                          const char *input, struct symbi_run *out)
{
    struct symbi_err err = {0};
    struct symbi_run_filter f = {.job_id = job->id,
                                 .has_status = true,
                                 .status = SYMBI_RUN_RUNNING,
                                 .due_before = SYMBI_TIME_NONE};
    int64_t running = 0;
    if (symbi_store_run_count(st, &f, &running, &err) != 0) {
        http_reply_err(r, &err);
        return err.code ? err.code : SYMBI_ESTORE;
    }
    int limit = job->max_concurrent > 0 ? job->max_concurrent : 1;
    if (running >= limit) {
        http_reply_error(
            r, 409, "CONCURRENCY_LIMIT",
            json_pack("{s:i,s:I}", "max_concurrent", limit, "running", (json_int_t)running),
            "job \"%s\" already runs %lld of max_concurrent %d", job->name, (long long)running,
            limit);
        return SYMBI_EFULL;
    }
    symbi_run_init(out);
    memcpy(out->job_id, job->id, sizeof out->job_id);
    int rc = 0;
    if (symbi_set_str(&out->job_name, job->name) != 0 ||
        symbi_set_str(&out->agent, job->agent) != 0 ||
        symbi_set_str(&out->input, input != NULL ? input : job->input) != 0)
        rc = SYMBI_ENOMEM;
    out->trigger = SYMBI_TRIGGER_MANUAL;
    out->status = SYMBI_RUN_QUEUED;
    out->attempt = 1;
    out->scheduled_at = r->now;
    out->due_at = r->now;
    out->created_at = r->now;
    /* two manual runs of one job in the same millisecond: the store's
     * ledger rule moves the later one to the next free millisecond */
    if (rc == 0)
        rc = symbi_store_run_insert(st, out, &err);
    if (rc != 0) {
        if (rc == SYMBI_ENOMEM)
            http_reply_error(r, 500, "INTERNAL", NULL, "out of memory");
        else
            http_reply_err(r, &err);
        symbi_run_cleanup(out);
        return rc;
    }
    struct symbi_audit_event ev;
    symbi_audit_event_init(&ev);
    ev.at = r->now;
    ev.type = symbi_strdup("CronJobExecuted");
    memcpy(ev.job_id, job->id, sizeof ev.job_id);
    memcpy(ev.run_id, out->id, sizeof ev.run_id);
    ev.job_name = symbi_strdup(job->name);
    ev.actor = symbi_strdup(r->actor);
    ev.details = symbi_strdup("{\"trigger\":\"manual\",\"queued\":true}");
    if (ev.type != NULL && symbi_store_audit_append(st, &ev, &err) != 0)
        symbi_log(SYMBI_LOG_WARN, "api", "audit append failed: %s", err.msg);
    symbi_audit_event_cleanup(&ev);
    http_wake(r);
    return 0;
}

void http_h_schedule_run(struct http_req *r)
{
    struct symbi_store *st = http_store(r, true);
    const char *input = NULL;
    if (st == NULL)
        return;
    if (r->json != NULL) {
        const char *key;
        json_t *v;
        json_object_foreach(r->json, key, v)
        {
            if (strcmp(key, "input") != 0) {
                http_reply_error(r, 400, "INVALID_FIELD", json_pack("{s:s}", "field", key),
                                 "unknown field \"%.64s\" (a run takes only \"input\")", key);
                return;
            }
            if (!json_is_string(v) && !json_is_null(v)) {
                http_reply_error(r, 400, "INVALID_FIELD", json_pack("{s:s}", "field", "input"),
                                 "input must be a string");
                return;
            }
            input = json_string_value(v);
        }
    }
    struct symbi_job job;
    if (!http_load_job(r, st, &job))
        return;
    struct symbi_run run;
    if (http_queue_manual_run(r, st, &job, input, &run) == 0) {
        http_reply(r, 202, symbi_run_to_json(&run));
        symbi_run_cleanup(&run);
    }
    symbi_job_cleanup(&job);
}

/* Runs as a JSON array; takes the runs. */
static json_t *runs_json(struct symbi_run *runs, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < n; i++) {
        json_t *j = symbi_run_to_json(&runs[i]);
        if (j == NULL || json_array_append_new(arr, j) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    symbi_run_list_free(runs, n);
    return arr;
}

void http_h_schedule_history(struct http_req *r)
{
    struct symbi_store *st = http_store(r, true);
    struct symbi_job job;
    if (st == NULL || !http_load_job(r, st, &job))
        return;
    struct symbi_run_filter f = {.job_id = job.id, .due_before = SYMBI_TIME_NONE};
    const char *status = http_query(r, "status");
    if (status != NULL && *status != '\0') {
        if (symbi_run_status_parse(status, &f.status) != 0) {
            http_reply_error(r, 400, "INVALID_QUERY", json_pack("{s:s}", "field", "status"),
                             "unknown run status \"%.64s\"", status);
            symbi_job_cleanup(&job);
            return;
        }
        f.has_status = true;
    }
    if (http_query_int(r, "limit", 1, HTTP_MAX_LIST, 50, &f.limit) &&
        http_query_int(r, "offset", 0, INT32_MAX, 0, &f.offset)) {
        struct symbi_run *runs = NULL;
        size_t n = 0;
        struct symbi_err err = {0};
        if (symbi_store_run_list(st, &f, &runs, &n, &err) != 0)
            http_reply_err(r, &err);
        else
            http_reply(r, 200, runs_json(runs, n));
    }
    symbi_job_cleanup(&job);
}

/* Appends the next `count` fire instants of job after now to arr. */
static int next_fires(const struct symbi_job *job, int64_t now, int64_t count, json_t *arr,
                      struct symbi_err *err)
{
    int64_t t = now;
    for (int64_t i = 0; i < count; i++) {
        int64_t next = SYMBI_TIME_NONE;
        int rc = symbi_cron_job_next(job, t, &next, err);
        if (rc != 0)
            return rc;
        if (next == SYMBI_TIME_NONE)
            break;
        json_array_append_new(arr, symbi_json_time(next));
        t = next;
    }
    return 0;
}

json_t *http_next_fires_asked(struct http_req *r, const struct symbi_job *job, int64_t dflt)
{
    int64_t count = dflt;
    if (!http_query_int(r, "count", 1, HTTP_MAX_NEXT_COUNT, dflt, &count))
        return NULL;
    json_t *arr = json_array();
    struct symbi_err err = {0};
    if (arr == NULL) {
        http_reply_error(r, 500, "INTERNAL", NULL, "out of memory");
    } else if (next_fires(job, r->now, count, arr, &err) != 0) {
        json_decref(arr);
        arr = NULL;
        http_reply_err(r, &err);
    }
    return arr;
}

void http_h_schedule_next_run(struct http_req *r)
{
    struct symbi_store *st = http_store(r, true);
    struct symbi_job job;
    if (st == NULL || !http_load_job(r, st, &job))
        return;
    json_t *arr = http_next_fires_asked(r, &job, 1);
    if (arr != NULL) {
        int64_t next = job.next_run;
        if (next == SYMBI_TIME_NONE && job.status == SYMBI_JOB_ACTIVE && json_array_size(arr) > 0)
            symbi_time_parse(json_string_value(json_array_get(arr, 0)), &next);
        http_reply(r, 200,
                   json_pack("{s:s,s:o,s:o}", "id", job.id, "next_run", symbi_json_time(next),
                             "next_runs", arr));
    }
    symbi_job_cleanup(&job);
}
