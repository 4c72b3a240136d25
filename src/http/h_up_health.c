/* h_up_health.c - the scheduler's health in upstream Symbiont's shape (SPEC
 * §9.2), served by /api/v1/health/scheduler when [api] upstream_health is on:
 * exactly its 13 keys, so the published SDKs' get_scheduler_health parses it. */
#include "http/http_internal.h"

#define SAMPLE_RUNS 200 /* average and longest run: over the newest runs */

struct up_figures {
    int64_t jobs[5];
    int64_t running, total, succeeded, failed, timed_out;
    double avg_ms;
    int64_t longest_ms;
};

static int count(struct symbi_store *st, bool has_status, enum symbi_run_status s, int64_t *n,
                 struct symbi_err *err)
{
    struct symbi_run_filter f = {
        .has_status = has_status, .status = s, .due_before = SYMBI_TIME_NONE};
    return symbi_store_run_count(st, &f, n, err);
}

static int read_up_figures(struct symbi_store *st, struct up_figures *h, struct symbi_err *err)
{
    int rc = symbi_store_job_counts(st, h->jobs, err);
    if (rc == 0)
        rc = count(st, true, SYMBI_RUN_RUNNING, &h->running, err);
    if (rc == 0)
        rc = count(st, false, SYMBI_RUN_QUEUED, &h->total, err);
    if (rc == 0)
        rc = count(st, true, SYMBI_RUN_SUCCEEDED, &h->succeeded, err);
    if (rc == 0)
        rc = count(st, true, SYMBI_RUN_FAILED, &h->failed, err);
    if (rc == 0)
        rc = count(st, true, SYMBI_RUN_TIMED_OUT, &h->timed_out, err);
    if (rc != 0)
        return rc;
    struct symbi_run_filter f = {.due_before = SYMBI_TIME_NONE, .limit = SAMPLE_RUNS};
    struct symbi_run *runs = NULL;
    size_t n = 0;
    rc = symbi_store_run_list(st, &f, &runs, &n, err);
    if (rc != 0)
        return rc;
    int64_t sum = 0, cnt = 0;
    for (size_t i = 0; i < n; i++) {
        if (runs[i].execution_time_ms < 0 || !symbi_run_status_final(runs[i].status))
            continue;
        sum += runs[i].execution_time_ms;
        cnt++;
        if (runs[i].execution_time_ms > h->longest_ms)
            h->longest_ms = runs[i].execution_time_ms;
    }
    symbi_run_list_free(runs, n);
    h->avg_ms = cnt > 0 ? (double)sum / (double)cnt : 0.0;
    return 0;
}

void http_h_up_health(struct http_req *r)
{
    struct up_figures h = {0};
    struct symbi_err err = {0};
    struct symbi_store *st = http_store(r, false);
    /* an unreachable store is reported in the answer (store_accessible),
     * with the counts it could not read as 0 */
    bool store_ok = st != NULL && read_up_figures(st, &h, &err) == 0;
    if (!store_ok) {
        symbi_log(SYMBI_LOG_WARN, "api", "scheduler health: store unreachable: %s",
                  err.msg[0] ? err.msg : "cannot open the store");
        h = (struct up_figures){0};
    }
    struct symbi_http_sched_stats ss = {0};
    bool running = http_sched_stats(r, &ss) == 0;
    int64_t active_runs = running ? ss.in_flight : h.running;
    int64_t jobs_total = 0;
    for (size_t i = 0; i < SYMBI_ARRAY_LEN(h.jobs); i++)
        jobs_total += h.jobs[i];
    http_reply(
        r, 200,
        json_pack("{s:b,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:I}", "is_running", running,
                  "store_accessible", store_ok, "jobs_total", (json_int_t)jobs_total, "jobs_active",
                  (json_int_t)h.jobs[SYMBI_JOB_ACTIVE], "jobs_paused",
                  (json_int_t)h.jobs[SYMBI_JOB_PAUSED], "jobs_dead_letter",
                  (json_int_t)h.jobs[SYMBI_JOB_DEAD_LETTER], "global_active_runs",
                  (json_int_t)active_runs, "max_concurrent", (json_int_t)http_max_concurrent(r),
                  "runs_total", (json_int_t)h.total, "runs_succeeded", (json_int_t)h.succeeded,
                  "runs_failed", (json_int_t)(h.failed + h.timed_out), "average_execution_time_ms",
                  h.avg_ms, "longest_run_ms", (json_int_t)h.longest_ms));
}
