/* h_up_health.c - the scheduler's health in upstream Symbiont's shape (SPEC
 * §9.2), served by /api/v1/health/scheduler when [api] upstream_health is on:
 * exactly its 13 keys, so the published SDKs' get_scheduler_health parses it. */
#include "http/http_internal.h"

void http_h_up_health(struct http_req *r)
{
    struct http_health_figures h = {0};
    struct symbi_err err = {0};
    struct symbi_store *st = http_store(r, false);
    /* an unreachable store is reported in the answer (store_accessible),
     * with the counts it could not read as 0 */
    bool store_ok = st != NULL && http_health_read(st, &h, &err) == 0;
    if (!store_ok) {
        symbi_log(SYMBI_LOG_WARN, "api", "scheduler health: store unreachable: %s",
                  err.msg[0] ? err.msg : "cannot open the store");
        h = (struct http_health_figures){0};
    }
    struct symbi_http_sched_stats ss = {0};
    bool running = http_sched_stats(r, &ss) == 0;
    int64_t active_runs = running ? ss.in_flight : h.in_flight;
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
