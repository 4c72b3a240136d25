/* why.c - `symbi cron why`: from the store's facts about a job (its runs,
 * audit events, the scheduler's lease), why it did or did not run at T. */
#include "symbi/cron.h"
#include "symbi/json.h"
#include "symbi/sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct symbi_why_cause *add(struct symbi_why *w, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static struct symbi_why_cause *add(struct symbi_why *w, const char *code, const char *fmt, ...)
{
    if (w->n == SYMBI_WHY_MAX)
        return &w->spare; /* more causes than shown: the first ones matter most */
    struct symbi_why_cause *c = &w->causes[w->n++];
    memset(c, 0, sizeof *c);
    c->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->message, sizeof c->message, fmt, ap);
    va_end(ap);
    return c;
}

static void cite_run(struct symbi_why_cause *c, const struct symbi_run *r)
{
    if (r != NULL)
        snprintf(c->run_id, sizeof c->run_id, "%s", r->id);
}

/* The newest event of `type` (for run `run_id` when not NULL). */
static const struct symbi_audit_event *event_of(const struct symbi_why_facts *f, const char *type,
                                                const char *run_id)
{
    for (size_t i = 0; i < f->n_events; i++) {
        const struct symbi_audit_event *e = &f->events[i];
        if (e->type != NULL && strcmp(e->type, type) == 0 &&
            (run_id == NULL || strcmp(e->run_id, run_id) == 0))
            return e;
    }
    return NULL;
}

static void cite_event(struct symbi_why_cause *c, const struct symbi_audit_event *e)
{
    if (e != NULL)
        c->event_id = e->id;
}

static const char *tfmt(int64_t ms, char out[SYMBI_TIME_STRLEN])
{
    return ms == SYMBI_TIME_NONE ? "-" : symbi_time_fmt(ms, out);
}

static bool contains(const char *s, const char *what)
{
    return s != NULL && strcasestr(s, what) != NULL;
}

static void status_causes(const struct symbi_why_facts *f, struct symbi_why *w)
{
    const struct symbi_job *j = &f->job;
    char t[SYMBI_TIME_STRLEN];
    const struct symbi_audit_event *e;
    struct symbi_why_cause *c;
    switch (j->status) {
    case SYMBI_JOB_PAUSED:
        e = event_of(f, "CronJobPaused", NULL);
        if (e != NULL)
            c = add(w, "paused", "paused by %s at %s; `symbi cron resume %s` lets it fire again",
                    e->actor ? e->actor : "?", tfmt(e->at, t), j->name);
        else
            c = add(w, "paused", "paused; `symbi cron resume %s` lets it fire again", j->name);
        cite_event(c, e);
        break;
    case SYMBI_JOB_DEAD_LETTER: {
        const struct symbi_run *last = NULL;
        for (size_t i = 0; i < f->n_runs && last == NULL; i++)
            if (f->runs[i].status == SYMBI_RUN_FAILED || f->runs[i].status == SYMBI_RUN_TIMED_OUT)
                last = &f->runs[i];
        c = add(w, "dead_letter",
                "dead letter after %lld consecutive failures; last error: %s; `symbi cron reset "
                "%s` reactivates it",
                (long long)j->failure_count,
                last && last->error_message ? last->error_message : "(no run record)", j->name);
        cite_run(c, last);
        cite_event(c, event_of(f, "CronJobDeadLettered", NULL));
        break;
    }
    case SYMBI_JOB_COMPLETED: {
        const struct symbi_run *last = NULL;
        for (size_t i = 0; i < f->n_runs && last == NULL; i++)
            if (symbi_run_status_final(f->runs[i].status))
                last = &f->runs[i];
        c = add(w, "completed", "completed (%s) at %s: it will not fire again",
                j->heartbeat.set ? "heartbeat max_iterations reached" : "a one-shot job that ran",
                tfmt(j->last_run, t));
        cite_run(c, last);
        break;
    }
    case SYMBI_JOB_FAILED:
        e = event_of(f, "CronJobFailed", NULL);
        c = add(w, "failed", "the job cannot be scheduled%s%s", e && e->details ? ": " : "",
                e && e->details ? e->details : "");
        cite_event(c, e);
        break;
    case SYMBI_JOB_ACTIVE:
        break;
    }
}

/* A run that is open now: waiting for approval, its jitter, a slot, or running. */
static void open_cause(const struct symbi_why_facts *f, const struct symbi_run *r,
                       struct symbi_why *w)
{
    char t1[SYMBI_TIME_STRLEN], t2[SYMBI_TIME_STRLEN];
    struct symbi_why_cause *c = NULL;
    if (r->status == SYMBI_RUN_PENDING_APPROVAL) {
        c = add(w, "pending_approval",
                "run %.8s (scheduled %s) waits for approval since %s; `symbi cron approve %.8s` "
                "or `deny`",
                r->id, tfmt(r->scheduled_at, t1), tfmt(r->created_at, t2), r->id);
    } else if (r->status == SYMBI_RUN_RUNNING) {
        c = add(w, "running", "run %.8s (scheduled %s) is running since %s on %s", r->id,
                tfmt(r->scheduled_at, t1), tfmt(r->started_at, t2), r->node ? r->node : "?");
    } else if (r->status == SYMBI_RUN_QUEUED && r->due_at > f->now && r->jitter_ms > 0) {
        c = add(w, "jitter",
                "run %.8s for %s waits out its jitter of %.3fs: it may start at %s, not before",
                r->id, tfmt(r->scheduled_at, t1), (double)r->jitter_ms / 1000.0,
                tfmt(r->due_at, t2));
    } else if (r->status == SYMBI_RUN_QUEUED && r->due_at > f->now) {
        c = add(w, r->trigger == SYMBI_TRIGGER_RETRY ? "retry" : "queued",
                "run %.8s (%s, attempt %d) is queued for %s", r->id, symbi_trigger_name(r->trigger),
                r->attempt, tfmt(r->due_at, t1));
    } else if (r->status == SYMBI_RUN_QUEUED) {
        char limit[32] = "the global limit";
        if (f->max_concurrent_jobs > 0)
            snprintf(limit, sizeof limit, "max_concurrent_jobs %d", f->max_concurrent_jobs);
        c = add(w, "global_queue",
                "run %.8s (%s) is due since %s and waits for a slot: %lld runs are running "
                "(%s), %lld are queued",
                r->id, symbi_trigger_name(r->trigger), tfmt(r->due_at, t1),
                (long long)f->running_total, limit, (long long)f->queued_total);
    }
    if (c != NULL)
        cite_run(c, r);
}

/* The run of another trigger... that was running at instant t (the reason
 * of a concurrency skip). */
static const struct symbi_run *running_at(const struct symbi_why_facts *f, int64_t t,
                                          const struct symbi_run *self)
{
    for (size_t i = 0; i < f->n_runs; i++) {
        const struct symbi_run *r = &f->runs[i];
        if (r != self && r->started_at != SYMBI_TIME_NONE && r->started_at <= t &&
            (r->finished_at == SYMBI_TIME_NONE || r->finished_at > t))
            return r;
    }
    return NULL;
}

static void denied_cause(const struct symbi_why_facts *f, const struct symbi_run *r,
                         struct symbi_why *w)
{
    char t[SYMBI_TIME_STRLEN];
    const char *msg = r->error_message ? r->error_message : "denied";
    const char *code = "policy", *type = "PolicyDenied";
    if (contains(msg, "allowed_hours"))
        code = "policy_hours";
    else if (contains(msg, "environment"))
        code = "policy_environment";
    else if (contains(msg, "agentpin") || contains(msg, "agent_pin") || contains(msg, "agent pin"))
        code = "agentpin", type = "AgentPinVerificationFailed";
    else if (contains(msg, "capabilit"))
        code = "policy_capabilities";
    else if (strncmp(msg, "denied by ", 10) == 0)
        code = "approval_denied", type = "CronRunDenied";
    struct symbi_why_cause *c =
        add(w, code, "the fire at %s was refused: %s", tfmt(r->scheduled_at, t), msg);
    cite_run(c, r);
    const struct symbi_audit_event *e = event_of(f, type, r->id);
    cite_event(c, e != NULL ? e : event_of(f, type, NULL));
}

/* The latest run at or before T, and the catch-up and missed records near it. */
static void run_causes(const struct symbi_why_facts *f, struct symbi_why *w)
{
    const struct symbi_run *r = NULL;
    for (size_t i = 0; i < f->n_runs && r == NULL; i++)
        if (f->runs[i].scheduled_at <= f->at && symbi_run_status_final(f->runs[i].status))
            r = &f->runs[i];
    char t1[SYMBI_TIME_STRLEN], t2[SYMBI_TIME_STRLEN];
    int missed = 0;
    const struct symbi_run *last_missed = NULL, *catch_up = NULL;
    for (size_t i = 0; i < f->n_runs; i++) {
        if (f->runs[i].status == SYMBI_RUN_MISSED) {
            missed++;
            last_missed = last_missed ? last_missed : &f->runs[i];
        }
        if (f->runs[i].trigger == SYMBI_TRIGGER_CATCH_UP && catch_up == NULL)
            catch_up = &f->runs[i];
    }
    if (missed > 0) {
        struct symbi_why_cause *c =
            add(w, "missed", "%d instant%s recorded missed (catch_up: %s), the latest %s: %s",
                missed, missed == 1 ? "" : "s", symbi_catch_up_name(f->job.catch_up),
                tfmt(last_missed->scheduled_at, t1),
                last_missed->error_message ? last_missed->error_message : "missed");
        cite_run(c, last_missed);
    }
    if (catch_up != NULL) {
        struct symbi_why_cause *c =
            add(w, "catch_up",
                "the instants missed while no scheduler ran fired once, as run %.8s for %s "
                "(catch_up: once), %s",
                catch_up->id, tfmt(catch_up->scheduled_at, t1),
                symbi_run_status_name(catch_up->status));
        cite_run(c, catch_up);
    }
    if (r == NULL || r->status == SYMBI_RUN_MISSED)
        return;
    struct symbi_why_cause *c = NULL;
    switch (r->status) {
    case SYMBI_RUN_SKIPPED: {
        const struct symbi_run *busy = running_at(f, r->scheduled_at, r);
        c = add(
            w, "concurrency",
            "the fire at %s was skipped: max_concurrent (%d) runs of the job were in flight%s%.8s",
            tfmt(r->scheduled_at, t1), f->job.max_concurrent, busy ? ", among them run " : "",
            busy ? busy->id : "");
        break;
    }
    case SYMBI_RUN_DENIED:
        denied_cause(f, r, w);
        return;
    case SYMBI_RUN_FAILED:
    case SYMBI_RUN_TIMED_OUT:
    case SYMBI_RUN_INTERRUPTED:
        if (!f->agent_known && contains(r->error_message, "unknown agent"))
            return; /* the unknown_agent cause cites this run already */
        c = add(w, "run_failed", "the fire at %s (attempt %d) %s: %s", tfmt(r->scheduled_at, t1),
                r->attempt, symbi_run_status_name(r->status),
                r->error_message ? r->error_message : "-");
        cite_event(c, event_of(f, "CronJobFailed", r->id));
        break;
    default:
        c = add(w, "ran", "the fire at %s (%s) ran at %s and %s in %lld ms",
                tfmt(r->scheduled_at, t1), symbi_trigger_name(r->trigger), tfmt(r->started_at, t2),
                symbi_run_status_name(r->status), (long long)r->execution_time_ms);
        cite_event(c, event_of(f, "CronJobExecuted", r->id));
        if (r->jitter_ms > 0) {
            cite_run(c, r);
            c = add(w, "jitter", "it started %.3fs after its instant: its jitter (at most %s)",
                    (double)r->jitter_ms / 1000.0,
                    f->job.jitter_ms >= 0 ? "the job's jitter" : "max_jitter_seconds");
        }
        break;
    }
    cite_run(c, r);
}

/* "HH:MM" as minutes since midnight. */
static bool minute_of_day(const char *s, int *out)
{
    char h[3], m[3];
    int hv, mv;
    if (s == NULL || strlen(s) != 5 || s[2] != ':')
        return false;
    memcpy(h, s, 2);
    memcpy(m, s + 3, 2);
    h[2] = m[2] = '\0';
    if (symbi_parse_int(h, 0, 24, &hv) != 0 || symbi_parse_int(m, 0, 59, &mv) != 0)
        return false;
    *out = hv * 60 + mv;
    return true;
}

/* allowed_hours of the job's policy, read ahead: will the next fire be refused? */
static void hours_ahead(const struct symbi_why_facts *f, struct symbi_why *w)
{
    if (f->job.policy == NULL || w->next_run == SYMBI_TIME_NONE)
        return;
    json_t *p = json_loads(f->job.policy, 0, NULL), *h = json_object_get(p, "allowed_hours");
    const char *s = json_string_value(json_object_get(h, "start"));
    const char *e = json_string_value(json_object_get(h, "end"));
    int a, b;
    if (minute_of_day(s, &a) && minute_of_day(e, &b)) {
        int64_t day = w->next_run / 1000 % 86400;
        int m = (int)(day / 60);
        bool in = a <= b ? (m >= a && m < b) : (m >= a || m < b);
        char t[SYMBI_TIME_STRLEN];
        if (!in)
            add(w, "policy_hours",
                "the next fire at %s is outside allowed_hours %s-%s (UTC): it will be denied",
                tfmt(w->next_run, t), s, e);
    }
    json_decref(p);
}

void symbi_sched_why(const struct symbi_why_facts *f, struct symbi_why *w)
{
    memset(w, 0, sizeof *w);
    const struct symbi_job *j = &f->job;
    symbi_cron_job_describe(j, w->description, sizeof w->description);
    w->next_run = j->status == SYMBI_JOB_ACTIVE ? j->next_run : SYMBI_TIME_NONE;
    if (w->next_run != SYMBI_TIME_NONE && w->next_run < f->at) {
        /* a later T: the fire after it */
        int64_t n;
        if (symbi_cron_job_next(j, f->at, &n, NULL) == 0)
            w->next_run = n;
    }
    if (!f->scheduler_live)
        add(w, "no_scheduler",
            "no scheduler holds a live lease: nothing fires or starts until `symbi up` runs");
    status_causes(f, w);
    if (!f->agent_known) {
        struct symbi_why_cause *c =
            add(w, "unknown_agent",
                "agent \"%s\" is defined in no loaded file: its runs fail with unknown agent",
                j->agent ? j->agent : "");
        for (size_t i = 0; i < f->n_runs; i++)
            if (contains(f->runs[i].error_message, "unknown agent")) {
                cite_run(c, &f->runs[i]);
                break;
            }
    }
    for (size_t i = 0; i < f->n_open; i++)
        open_cause(f, &f->open[i], w);
    run_causes(f, w);
    if (j->status == SYMBI_JOB_ACTIVE)
        hours_ahead(f, w);
    if (w->n == 0) {
        char t[SYMBI_TIME_STRLEN];
        add(w, "not_due", "no run around then: the job is active and next fires at %s",
            tfmt(w->next_run, t));
    }
}
