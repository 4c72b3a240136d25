/* routes.c - the route table of the HTTP API: one row per method and path
 * with its handler, whether it is public (health, metrics), whether it
 * takes a JSON body and the API-key scope it needs. SPEC §9.1 first, then
 * the dashboard's (§16), then the upstream routes of §9.2. */
#include "http/http_internal.h"
#include "symbi/policy.h"

const struct http_route http_routes[] = {
    /* the guide's routes (§9.1) */
    {"POST", "/api/v1/schedule", http_h_schedule_create, false, true, SYMBI_SCOPE_WRITE},
    {"GET", "/api/v1/schedule", http_h_schedule_list, false, false, SYMBI_SCOPE_READ},
    {"GET", "/api/v1/schedule/{}", http_h_schedule_get, false, false, SYMBI_SCOPE_READ},
    {"PUT", "/api/v1/schedule/{}", http_h_schedule_update, false, true, SYMBI_SCOPE_WRITE},
    {"DELETE", "/api/v1/schedule/{}", http_h_schedule_delete, false, false, SYMBI_SCOPE_WRITE},
    {"POST", "/api/v1/schedule/{}/pause", http_h_schedule_pause, false, true, SYMBI_SCOPE_WRITE},
    {"POST", "/api/v1/schedule/{}/resume", http_h_schedule_resume, false, true, SYMBI_SCOPE_WRITE},
    {"POST", "/api/v1/schedule/{}/reset", http_h_schedule_reset, false, true, SYMBI_SCOPE_WRITE},
    {"POST", "/api/v1/schedule/{}/run", http_h_schedule_run, false, true, SYMBI_SCOPE_RUN},
    {"GET", "/api/v1/schedule/{}/history", http_h_schedule_history, false, false, SYMBI_SCOPE_READ},
    {"GET", "/api/v1/schedule/{}/next_run", http_h_schedule_next_run, false, false,
     SYMBI_SCOPE_READ},
    {"POST", "/api/v1/schedule/{}/backfill", http_h_schedule_backfill, false, true,
     SYMBI_SCOPE_RUN},
    {"GET", "/api/v1/schedule/{}/why", http_h_schedule_why, false, false, SYMBI_SCOPE_READ},
    {"GET", "/api/v1/schedule/{}/context", http_h_schedule_context_get, false, false,
     SYMBI_SCOPE_READ},
    {"DELETE", "/api/v1/schedule/{}/context", http_h_schedule_context_clear, false, false,
     SYMBI_SCOPE_WRITE},
    {"GET", "/api/v1/runs/{}", http_h_run_get, false, false, SYMBI_SCOPE_READ},
    {"POST", "/api/v1/runs/{}/approve", http_h_run_approve, false, true, SYMBI_SCOPE_APPROVE},
    {"POST", "/api/v1/runs/{}/deny", http_h_run_deny, false, true, SYMBI_SCOPE_APPROVE},
    {"GET", "/api/v1/audit", http_h_audit, false, false, SYMBI_SCOPE_READ},
    {"GET", "/api/v1/health", http_h_health, true, false, 0},
    {"GET", "/api/v1/health/scheduler", http_h_health_scheduler, true, false, 0},
    {"GET", "/metrics", http_h_metrics, true, false, 0},
    {"GET", "/api/v1/openapi.json", http_h_openapi, false, false, SYMBI_SCOPE_READ},
    /* what the dashboard reads (§16; docs/ui.md), and its files */
    {"GET", "/api/v1/runs", http_h_runs_list, false, false, SYMBI_SCOPE_READ},
    {"GET", "/api/v1/activity", http_h_activity, false, false, SYMBI_SCOPE_READ},
    {"GET", "/api/v1/changes", http_h_changes, false, false, SYMBI_SCOPE_READ},
    {"GET", "/api/v1/schedule/{}/fires", http_h_schedule_fires, false, false, SYMBI_SCOPE_READ},
    {"GET", "/ui", http_h_ui, true, false, 0},
    {"GET", "/ui/", http_h_ui, true, false, 0},
    {"GET", "/ui/{}", http_h_ui, true, false, 0},
    /* upstream Symbiont's routes (§9.2) */
    {"POST", "/api/v1/schedules", http_h_up_create, false, true, SYMBI_SCOPE_WRITE},
    {"GET", "/api/v1/schedules", http_h_up_list, false, false, SYMBI_SCOPE_READ},
    {"GET", "/api/v1/schedules/{}", http_h_up_get, false, false, SYMBI_SCOPE_READ},
    {"PUT", "/api/v1/schedules/{}", http_h_up_update, false, true, SYMBI_SCOPE_WRITE},
    {"DELETE", "/api/v1/schedules/{}", http_h_up_delete, false, false, SYMBI_SCOPE_WRITE},
    {"POST", "/api/v1/schedules/{}/pause", http_h_up_pause, false, true, SYMBI_SCOPE_WRITE},
    {"POST", "/api/v1/schedules/{}/resume", http_h_up_resume, false, true, SYMBI_SCOPE_WRITE},
    {"POST", "/api/v1/schedules/{}/trigger", http_h_up_trigger, false, true, SYMBI_SCOPE_RUN},
    {"GET", "/api/v1/schedules/{}/history", http_h_up_history, false, false, SYMBI_SCOPE_READ},
    {"GET", "/api/v1/schedules/{}/next-runs", http_h_up_next_runs, false, false, SYMBI_SCOPE_READ},
};
const size_t http_n_routes = SYMBI_ARRAY_LEN(http_routes);
