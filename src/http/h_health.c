/* h_health.c - liveness (/api/v1/health), the scheduler's health in the
 * guide's shape (/api/v1/health/scheduler) and Prometheus metrics
 * (/metrics). Health is `unhealthy` (503) when the store cannot be reached
 * or the scheduler cannot write to it, `degraded` when it answers slowly
 * or the scheduler lags. */
#include "http/http_internal.h"
#include "symbi/json.h"
#include "symbi/metrics.h"

#include <stdlib.h>

#define STORE_SLOW_MS    1000 /* health queries slower than this: degraded */
#define SCHED_LAG_MAX_S  5.0  /* scheduler later than this: degraded */
#define AVG_SAMPLE_RUNS  200  /* avg_execution_time_ms: over the newest runs */
#define METRICS_MAX_TEXT (16 * 1024 * 1024)

void http_h_health(struct http_req *r)
{
    http_reply(r, 200,
               json_pack("{s:s,s:I,s:o,s:s}", "status", "ok", "uptime_seconds",
                         (json_int_t)http_uptime_s(r), "timestamp", symbi_json_time(r->now),
                         "version", SYMBI_VERSION));
}

static int count_runs(struct symbi_store *st, bool has_status, enum symbi_run_status s, int64_t *n,
                      struct symbi_err *err)
{
    struct symbi_run_filter f = {
        .has_status = has_status, .status = s, .due_before = SYMBI_TIME_NONE};
    return symbi_store_run_count(st, &f, n, err);
}

int http_health_read(struct symbi_store *st, struct http_health_figures *h, struct symbi_err *err)
{
    int rc = symbi_store_job_counts(st, h->jobs, err);
    if (rc == 0)
        rc = count_runs(st, true, SYMBI_RUN_RUNNING, &h->in_flight, err);
    if (rc == 0)
        rc = count_runs(st, true, SYMBI_RUN_QUEUED, &h->queued, err);
    if (rc == 0)
        rc = count_runs(st, false, SYMBI_RUN_QUEUED, &h->total, err);
    if (rc == 0)
        rc = count_runs(st, true, SYMBI_RUN_SUCCEEDED, &h->succeeded, err);
    if (rc == 0)
        rc = count_runs(st, true, SYMBI_RUN_FAILED, &h->failed, err);
    if (rc == 0)
        rc = count_runs(st, true, SYMBI_RUN_TIMED_OUT, &h->timed_out, err);
    if (rc == 0)
        rc = symbi_store_next_due(st, &h->next_due, err);
    if (rc != 0)
        return rc;
    struct symbi_run_filter f = {.due_before = SYMBI_TIME_NONE, .limit = AVG_SAMPLE_RUNS};
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

void http_h_health_scheduler(struct http_req *r)
{
    if (http_upstream_health(r)) {
        http_h_up_health(r);
        return;
    }
    struct http_health_figures h = {0};
    struct symbi_err err = {0};
    int64_t t0 = symbi_now_mono_ms();
    struct symbi_store *st = http_store(r, false);
    int rc = st != NULL ? http_health_read(st, &h, &err) : SYMBI_EIO;
    int64_t store_ms = symbi_now_mono_ms() - t0;
    if (rc != 0) {
        http_reply(r, 503,
                   json_pack("{s:s,s:I,s:s,s:s}", "status", "unhealthy", "uptime_seconds",
                             (json_int_t)http_uptime_s(r), "reason", "store unreachable", "error",
                             st == NULL ? "cannot open the store"
                                        : (err.msg[0] ? err.msg : symbi_strerror(rc))));
        return;
    }
    /* lag: how long the earliest due active job has been waiting for a
     * claim (whichever process schedules), or the scheduler's own figure
     * when it runs in this process, whichever is larger */
    struct symbi_http_sched_stats ss = {0};
    bool have_sched = http_sched_stats(r, &ss) == 0;
    double lag = 0;
    if (h.next_due != SYMBI_TIME_NONE && h.next_due < r->now)
        lag = (double)(r->now - h.next_due) / 1000.0;
    if (have_sched) {
        if (ss.lag_s > lag)
            lag = ss.lag_s;
        h.in_flight = ss.in_flight;
        h.queued = ss.queued > h.queued ? ss.queued : h.queued;
    }
    if (have_sched && !ss.store_writable) {
        /* reads still answer, but no fire can be claimed and no outcome
         * written: the scheduler is not doing its job */
        json_t *since = ss.store_failing_since != SYMBI_TIME_NONE
                            ? symbi_json_time(ss.store_failing_since)
                            : json_null();
        http_reply(r, 503,
                   json_pack("{s:s,s:I,s:s,s:s,s:I,s:I,s:o,s:b}", "status", "unhealthy",
                             "uptime_seconds", (json_int_t)http_uptime_s(r), "reason",
                             "store cannot write", "error", ss.store_error, "failed_writes",
                             (json_int_t)ss.store_failures, "unwritten_records",
                             (json_int_t)ss.unwritten, "failing_since", since, "scheduler_running",
                             true));
        return;
    }
    const char *status = "healthy";
    json_t *reasons = json_array();
    if (store_ms > STORE_SLOW_MS) {
        status = "degraded";
        json_array_append_new(reasons, json_string("store slow"));
    }
    if (lag > SCHED_LAG_MAX_S) {
        status = "degraded";
        json_array_append_new(reasons, json_string("scheduler lagging"));
    }
    json_t *metrics =
        json_pack("{s:I,s:I,s:I,s:I}", "runs_total", (json_int_t)h.total, "runs_succeeded",
                  (json_int_t)h.succeeded, "runs_failed", (json_int_t)(h.failed + h.timed_out),
                  "avg_execution_time_ms", (json_int_t)h.avg_ms);
    http_reply(r, 200,
               json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:I,s:f,s:o,s:b}", "status", status,
                         "active_jobs", (json_int_t)h.jobs[SYMBI_JOB_ACTIVE], "paused_jobs",
                         (json_int_t)h.jobs[SYMBI_JOB_PAUSED], "dead_letter_jobs",
                         (json_int_t)h.jobs[SYMBI_JOB_DEAD_LETTER], "in_flight_jobs",
                         (json_int_t)h.in_flight, "queued_runs", (json_int_t)h.queued,
                         "uptime_seconds", (json_int_t)http_uptime_s(r), "store_latency_ms",
                         (json_int_t)store_ms, "metrics", metrics, "completed_jobs",
                         (json_int_t)h.jobs[SYMBI_JOB_COMPLETED], "scheduler_lag_seconds", lag,
                         "reasons", reasons, "scheduler_running", have_sched));
}

void http_h_metrics(struct http_req *r)
{
    /* the job gauge is read from the store at scrape time, so it is right
     * whichever process changed the jobs */
    struct symbi_store *st = http_store(r, false);
    int64_t counts[5];
    struct symbi_err err = {0};
    if (st != NULL && symbi_store_job_counts(st, counts, &err) == 0)
        symbi_metrics_set_jobs(counts);
    struct symbi_buf b;
    symbi_buf_init(&b, METRICS_MAX_TEXT);
    if (symbi_metrics_render(&b) != 0) {
        symbi_buf_cleanup(&b);
        http_reply_error(r, 500, "INTERNAL", NULL, "cannot render metrics");
        return;
    }
    http_reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", symbi_buf_steal(&b));
}
