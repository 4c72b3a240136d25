/* job_state.c - the pure rules of a job's definition and state shared by
 * the store's backends: checks, definition diffs, pause/resume/reset. */
#include "store/job_state.h"

#include "symbi/cron.h"

#include <string.h>

int st_job_next(const struct symbi_job *job, int64_t now, int64_t *next, struct symbi_err *err)
{
    if (job->cron_expr == NULL) {
        /* a one-shot fires at its instant, even a past one (the scheduler's
         * catch_up rule decides what a late fire becomes), until it ran */
        *next = job->last_run == SYMBI_TIME_NONE ? job->at : SYMBI_TIME_NONE;
        return 0;
    }
    return symbi_cron_job_next(job, now, next, err);
}

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

bool st_job_schedule_changed(const struct symbi_job *a, const struct symbi_job *b)
{
    return !str_eq(a->cron_expr, b->cron_expr) || a->at != b->at ||
           !str_eq(a->timezone, b->timezone) || a->dst_gap != b->dst_gap ||
           a->dst_overlap != b->dst_overlap;
}

/* The names of the definition fields that differ, comma-separated, into b
 * (empty when the definitions are the same). */
int st_job_diff(const struct symbi_job *a, const struct symbi_job *o, struct symbi_buf *b)
{
    int rc = 0;
#define DIFF(cond, name)                                                                           \
    if (rc == 0 && (cond))                                                                         \
        rc = symbi_buf_printf(b, "%s%s", b->len ? "," : "", name);
#define DIFF_S(f) DIFF(!str_eq(a->f, o->f), #f)
#define DIFF_I(f) DIFF(a->f != o->f, #f)
    DIFF_S(name)
    DIFF_S(agent)
    DIFF_S(cron_expr)
    DIFF_I(at)
    DIFF_S(timezone)
    DIFF_I(session_mode)
    DIFF_S(delivery)
    DIFF_S(webhook_url)
    DIFF_S(webhook_headers)
    DIFF_S(slack_channel)
    DIFF_S(slack_webhook_url)
    DIFF_S(email_recipients)
    DIFF_S(log_file)
    DIFF_S(policy)
    DIFF(a->heartbeat.set != o->heartbeat.set || a->heartbeat.enabled != o->heartbeat.enabled ||
             a->heartbeat.context_mode != o->heartbeat.context_mode ||
             a->heartbeat.max_iterations != o->heartbeat.max_iterations,
         "heartbeat")
    DIFF_I(max_concurrent)
    DIFF_I(max_retries)
    DIFF(a->jitter_ms != o->jitter_ms, "jitter")
    DIFF_I(catch_up)
    DIFF(a->starting_deadline_ms != o->starting_deadline_ms, "starting_deadline")
    DIFF_I(dst_gap)
    DIFF_I(dst_overlap)
    DIFF_S(input)
    DIFF_S(agent_pin_jwt)
    DIFF_I(one_shot)
    DIFF_S(deliver)
    DIFF_S(audit)
    DIFF_S(source)
#undef DIFF_I
#undef DIFF_S
#undef DIFF
    return rc;
}

int st_job_check(const struct symbi_job *job, struct symbi_err *err)
{
    if (job->name == NULL || job->name[0] == '\0')
        return symbi_err_set(err, SYMBI_EINVAL, "a job needs a name");
    if ((job->cron_expr == NULL) == (job->at == SYMBI_TIME_NONE))
        return symbi_err_set(err, SYMBI_EINVAL, "job \"%s\" needs exactly one of cron_expr and at",
                             job->name);
    return 0;
}

/* Applies a status change to the loaded job cur; *changed false for a
 * no-op (pausing a paused job). */
int st_job_transition(struct symbi_job *cur, enum symbi_job_status to, bool reset, int64_t now,
                      const char **type, bool *changed, struct symbi_err *err)
{
    enum symbi_job_status from = cur->status;
    const char *name = cur->name;
    *changed = true;
    if (reset) {
        /* reset revives a dead_letter or failed job (SPEC §5.5); on any
         * other it would only rewrite next_run and the audit trail */
        if (from == SYMBI_JOB_PAUSED)
            return symbi_err_set(err, SYMBI_ESTATE, "job \"%s\" is paused; resume it instead",
                                 name);
        if (from == SYMBI_JOB_COMPLETED)
            return symbi_err_set(err, SYMBI_ESTATE, "job \"%s\" has completed; nothing to reset",
                                 name);
        if (from != SYMBI_JOB_DEAD_LETTER && from != SYMBI_JOB_FAILED)
            return symbi_err_set(err, SYMBI_ESTATE,
                                 "job \"%s\" is %s; only a dead_letter or failed job can be reset",
                                 name, symbi_job_status_name(from));
        *type = "CronJobReset";
        cur->status = SYMBI_JOB_ACTIVE;
        cur->failure_count = 0;
        return st_job_next(cur, now, &cur->next_run, err);
    }
    if (to == from) {
        *changed = false;
        return 0;
    }
    switch (to) {
    case SYMBI_JOB_PAUSED:
        if (from != SYMBI_JOB_ACTIVE)
            return symbi_err_set(err, SYMBI_ESTATE, "job \"%s\" is %s; only an active job pauses",
                                 name, symbi_job_status_name(from));
        *type = "CronJobPaused";
        cur->status = SYMBI_JOB_PAUSED;
        return 0;
    case SYMBI_JOB_ACTIVE:
        if (from == SYMBI_JOB_DEAD_LETTER)
            return symbi_err_set(err, SYMBI_ESTATE,
                                 "job \"%s\" is dead_letter; use reset to reactivate it", name);
        if (from != SYMBI_JOB_PAUSED)
            return symbi_err_set(err, SYMBI_ESTATE, "job \"%s\" is %s and cannot be resumed", name,
                                 symbi_job_status_name(from));
        *type = "CronJobResumed";
        cur->status = SYMBI_JOB_ACTIVE;
        /* resume continues from now: the paused interval is not replayed */
        return st_job_next(cur, now, &cur->next_run, err);
    case SYMBI_JOB_DEAD_LETTER:
        *type = "CronJobDeadLettered";
        cur->status = to;
        return 0;
    case SYMBI_JOB_COMPLETED:
    case SYMBI_JOB_FAILED:
        *type = "CronJobUpdated";
        cur->status = to;
        return 0;
    }
    return symbi_err_set(err, SYMBI_EINVAL, "unknown job status %d", (int)to);
}

/* Why the waiting runs of a job that moved to `status` are skipped; NULL
 * when the job goes on firing. */
const char *st_settle_reason(enum symbi_job_status status)
{
    switch (status) {
    case SYMBI_JOB_PAUSED:
        return "skipped: the job was paused";
    case SYMBI_JOB_DEAD_LETTER:
        return "skipped: the job moved to dead letter";
    case SYMBI_JOB_FAILED:
        return "skipped: the job failed";
    default:
        return NULL;
    }
}
