/* why_facts.c - what `symbi cron why` reads from the store about one job
 * (runs, audit events, lease, agent), and its answer as JSON. */
#include "symbi/cron.h"
#include "symbi/json.h"
#include "symbi/sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHY_WINDOW_MS 3600000
#define WHY_RUNS      50

void symbi_why_facts_cleanup(struct symbi_why_facts *f)
{
    symbi_job_cleanup(&f->job);
    symbi_run_list_free(f->runs, f->n_runs);
    symbi_run_list_free(f->open, f->n_open);
    symbi_audit_list_free(f->events, f->n_events);
    memset(f, 0, sizeof *f);
}

static int open_runs(struct symbi_store *st, struct symbi_why_facts *f, struct symbi_err *err)
{
    static const enum symbi_run_status open[] = {SYMBI_RUN_PENDING_APPROVAL, SYMBI_RUN_RUNNING,
                                                 SYMBI_RUN_QUEUED};
    for (size_t k = 0; k < SYMBI_ARRAY_LEN(open); k++) {
        struct symbi_run_filter rf = {.job_id = f->job.id,
                                      .has_status = true,
                                      .status = open[k],
                                      .due_before = SYMBI_TIME_NONE,
                                      .oldest_first = true,
                                      .limit = 5};
        struct symbi_run *runs = NULL;
        size_t n = 0;
        int rc = symbi_store_run_list(st, &rf, &runs, &n, err);
        if (rc != 0)
            return rc;
        for (size_t i = 0; i < n && f->n_open < 8; i++) {
            if (f->n_open == 0) {
                f->open = calloc(8, sizeof *f->open);
                if (f->open == NULL) {
                    symbi_run_list_free(runs, n);
                    return symbi_err_set(err, SYMBI_ENOMEM, "why: out of memory");
                }
            }
            f->open[f->n_open++] = runs[i];
            symbi_run_init(&runs[i]); /* moved */
        }
        symbi_run_list_free(runs, n);
    }
    return 0;
}

int symbi_sched_why_gather(struct symbi_store *st, const char *job_ref, int64_t at, int64_t now,
                           int max_concurrent_jobs, struct symbi_why_facts *f,
                           struct symbi_err *err)
{
    memset(f, 0, sizeof *f);
    f->at = at;
    f->now = now;
    f->max_concurrent_jobs = max_concurrent_jobs;
    int rc = symbi_store_job_get(st, job_ref, &f->job, err);
    if (rc != 0) {
        symbi_job_init(&f->job);
        return rc;
    }
    struct symbi_run_filter rf = {
        .job_id = f->job.id, .due_before = at + WHY_WINDOW_MS, .limit = WHY_RUNS};
    rc = symbi_store_run_list(st, &rf, &f->runs, &f->n_runs, err);
    if (rc == 0)
        rc = open_runs(st, f, err);
    struct symbi_audit_filter af = {
        .job = f->job.id, .since = SYMBI_TIME_NONE, .until = at + WHY_WINDOW_MS, .limit = WHY_RUNS};
    if (rc == 0)
        rc = symbi_store_audit_query(st, &af, &f->events, &f->n_events, err);
    struct symbi_agent_def a;
    symbi_agent_def_init(&a);
    if (rc == 0) {
        struct symbi_err e2 = {0};
        int arc = symbi_store_agent_get(st, f->job.agent, &a, &e2);
        f->agent_known = arc == 0;
        if (arc != 0 && arc != SYMBI_ENOTFOUND) {
            *err = e2;
            rc = arc;
        }
    }
    symbi_agent_def_cleanup(&a);
    if (rc == 0)
        rc = symbi_store_node_alive(st, NULL, now, &f->scheduler_live, err);
    struct symbi_run_filter running = {
        .has_status = true, .status = SYMBI_RUN_RUNNING, .due_before = SYMBI_TIME_NONE};
    struct symbi_run_filter queued = {
        .has_status = true, .status = SYMBI_RUN_QUEUED, .due_before = now};
    if (rc == 0)
        rc = symbi_store_run_count(st, &running, &f->running_total, err);
    if (rc == 0)
        rc = symbi_store_run_count(st, &queued, &f->queued_total, err);
    if (rc != 0)
        symbi_why_facts_cleanup(f);
    return rc;
}

static const struct symbi_run *find_run(const struct symbi_why_facts *f, const char *id)
{
    for (size_t i = 0; i < f->n_open; i++)
        if (strcmp(f->open[i].id, id) == 0)
            return &f->open[i];
    for (size_t i = 0; i < f->n_runs; i++)
        if (strcmp(f->runs[i].id, id) == 0)
            return &f->runs[i];
    return NULL;
}

static json_t *run_brief(const struct symbi_run *r)
{
    return json_pack("{s:s,s:s,s:s,s:i,s:o,s:o,s:o,s:o,s:s?}", "id", r->id, "status",
                     symbi_run_status_name(r->status), "trigger", symbi_trigger_name(r->trigger),
                     "attempt", r->attempt, "scheduled_at", symbi_json_time(r->scheduled_at),
                     "due_at", symbi_json_time(r->due_at), "started_at",
                     symbi_json_time(r->started_at), "finished_at", symbi_json_time(r->finished_at),
                     "error_message", r->error_message);
}

/* "2026-03-29T03:30:00+02:00" in zone. */
static void local_time(int64_t ms, const char *zone, char *out, size_t cap)
{
    const struct symbi_zone *z;
    out[0] = '\0';
    if (symbi_zone_get(zone, &z, NULL) != 0)
        return;
    int off = symbi_zone_offset(z, ms);
    char t[SYMBI_TIME_STRLEN];
    symbi_time_fmt(ms + (int64_t)off * 1000, t);
    size_t n = strlen(t);
    if (n > 0 && t[n - 1] == 'Z')
        t[n - 1] = '\0';
    int a = off < 0 ? -off : off;
    snprintf(out, cap, "%s%c%02d:%02d", t, off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
}

json_t *symbi_why_to_json(const struct symbi_why_facts *f, const struct symbi_why *w)
{
    const struct symbi_job *j = &f->job;
    const char *zone = j->timezone ? j->timezone : "UTC";
    json_t *causes = json_array();
    for (size_t i = 0; i < w->n; i++) {
        const struct symbi_why_cause *c = &w->causes[i];
        const struct symbi_run *r = c->run_id[0] ? find_run(f, c->run_id) : NULL;
        json_t *ev = json_null();
        for (size_t k = 0; c->event_id != 0 && k < f->n_events; k++)
            if (f->events[k].id == c->event_id) {
                json_decref(ev);
                ev = symbi_audit_event_to_json(&f->events[k]);
            }
        json_array_append_new(causes, json_pack("{s:s,s:s,s:o,s:o}", "cause", c->code, "message",
                                                c->message, "run", r ? run_brief(r) : json_null(),
                                                "event", ev));
    }
    json_t *next = json_null();
    if (w->next_run != SYMBI_TIME_NONE) {
        char local[48];
        local_time(w->next_run, zone, local, sizeof local);
        json_decref(next);
        next = json_pack("{s:o,s:s,s:s}", "utc", symbi_json_time(w->next_run), "local", local,
                         "timezone", zone);
    }
    return json_pack("{s:{s:s,s:s,s:s,s:s?,s:s},s:o,s:s,s:o,s:o}", "job", "id", j->id, "name",
                     j->name, "status", symbi_job_status_name(j->status), "agent", j->agent,
                     "timezone", zone, "at", symbi_json_time(f->at), "description", w->description,
                     "causes", causes, "next_run", next);
}
