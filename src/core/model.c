/* model.c - the shared data model's lifecycles (init, cleanup, copy) and
 * the string tables of its enums. */
#include "symbi/model.h"

#include <stdlib.h>
#include <string.h>

static int name_parse(const char *const *names, size_t n, const char *s, int *out)
{
    if (s == NULL)
        return SYMBI_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(names[i], s) == 0) {
            *out = (int)i;
            return 0;
        }
    }
    return SYMBI_EINVAL;
}

#define ENUM_STRINGS(type, fn, ...)                                                                \
    static const char *const fn##_names[] = {__VA_ARGS__};                                         \
    const char *symbi_##fn##_name(enum type v)                                                     \
    {                                                                                              \
        return (unsigned)v < SYMBI_ARRAY_LEN(fn##_names) ? fn##_names[v] : "unknown";              \
    }                                                                                              \
    int symbi_##fn##_parse(const char *s, enum type *out)                                          \
    {                                                                                              \
        int v;                                                                                     \
        int rc = name_parse(fn##_names, SYMBI_ARRAY_LEN(fn##_names), s, &v);                       \
        if (rc == 0)                                                                               \
            *out = (enum type)v;                                                                   \
        return rc;                                                                                 \
    }

ENUM_STRINGS(symbi_job_status, job_status, "active", "paused", "completed", "failed", "dead_letter")
ENUM_STRINGS(symbi_session_mode, session_mode, "ephemeral_with_summary", "shared_persistent",
             "fully_ephemeral")
ENUM_STRINGS(symbi_catch_up, catch_up, "once", "skip", "all")
ENUM_STRINGS(symbi_dst_gap, dst_gap, "shift", "skip")
ENUM_STRINGS(symbi_dst_overlap, dst_overlap, "auto", "first", "last", "both")
ENUM_STRINGS(symbi_run_status, run_status, "queued", "pending_approval", "running", "succeeded",
             "failed", "timed_out", "denied", "skipped", "missed", "interrupted")
ENUM_STRINGS(symbi_trigger, trigger, "schedule", "manual", "retry", "catch_up", "backfill")
ENUM_STRINGS(symbi_runner, runner, "none", "command", "exec", "model", "builtin")

static const char *const job_status_pascal[] = {"Active", "Paused", "Completed", "Failed",
                                                "DeadLetter"};
const char *symbi_job_status_pascal(enum symbi_job_status s)
{
    return (unsigned)s < SYMBI_ARRAY_LEN(job_status_pascal) ? job_status_pascal[s] : "Unknown";
}

static const char *const run_status_pascal[] = {"Queued", "PendingApproval", "Running", "Succeeded",
                                                "Failed", "TimedOut",        "Denied",  "Skipped",
                                                "Missed", "Interrupted"};
const char *symbi_run_status_pascal(enum symbi_run_status s)
{
    return (unsigned)s < SYMBI_ARRAY_LEN(run_status_pascal) ? run_status_pascal[s] : "Unknown";
}

bool symbi_run_status_final(enum symbi_run_status s)
{
    return s != SYMBI_RUN_QUEUED && s != SYMBI_RUN_PENDING_APPROVAL && s != SYMBI_RUN_RUNNING;
}

int symbi_set_str(char **field, const char *value)
{
    char *copy = NULL;
    if (value != NULL && (copy = symbi_strdup(value)) == NULL)
        return SYMBI_ENOMEM;
    free(*field);
    *field = copy;
    return 0;
}

/* ---- job ---- */

/* The job's string fields, for cleanup and copy. */
/* clang-format off */
#define JOB_STRINGS(X) \
    X(name) \
    X(agent) \
    X(cron_expr) \
    X(timezone) \
    X(delivery) \
    X(webhook_url) \
    X(webhook_headers) \
    X(slack_channel) \
    X(slack_webhook_url) \
    X(email_recipients) \
    X(log_file) \
    X(policy) \
    X(input) \
    X(agent_pin_jwt) \
    X(deliver) \
    X(audit) \
    X(source)
/* clang-format on */

void symbi_job_init(struct symbi_job *job)
{
    memset(job, 0, sizeof *job);
    job->at = SYMBI_TIME_NONE;
    job->status = SYMBI_JOB_ACTIVE;
    job->session_mode = SYMBI_SESSION_EPHEMERAL_WITH_SUMMARY;
    job->heartbeat.context_mode = SYMBI_SESSION_EPHEMERAL_WITH_SUMMARY;
    job->heartbeat.max_iterations = 10;
    job->max_concurrent = 1;
    job->max_retries = -1;
    job->jitter_ms = -1;
    job->catch_up = SYMBI_CATCH_UP_ONCE;
    job->starting_deadline_ms = -1;
    job->created_at = SYMBI_TIME_NONE;
    job->updated_at = SYMBI_TIME_NONE;
    job->last_run = SYMBI_TIME_NONE;
    job->next_run = SYMBI_TIME_NONE;
}

void symbi_job_cleanup(struct symbi_job *job)
{
#define FREE_FIELD(f) free(job->f);
    JOB_STRINGS(FREE_FIELD)
#undef FREE_FIELD
    symbi_job_init(job);
}

int symbi_job_copy(struct symbi_job *dst, const struct symbi_job *src)
{
    *dst = *src;
    int failed = 0;
#define COPY_FIELD(f)                                                                              \
    dst->f = symbi_strdup(src->f);                                                                 \
    failed |= (src->f != NULL && dst->f == NULL);
    JOB_STRINGS(COPY_FIELD)
#undef COPY_FIELD
    if (failed) {
        symbi_job_cleanup(dst);
        return SYMBI_ENOMEM;
    }
    return 0;
}

/* ---- run ---- */

/* clang-format off */
#define RUN_STRINGS(X) \
    X(job_name) \
    X(agent) \
    X(input) \
    X(output) \
    X(stderr_text) \
    X(summary) \
    X(error_message) \
    X(node) \
    X(deliveries) \
    X(approver) \
    X(iteration_outputs) \
    X(tool_calls)
/* clang-format on */

void symbi_run_init(struct symbi_run *run)
{
    memset(run, 0, sizeof *run);
    run->scheduled_at = SYMBI_TIME_NONE;
    run->due_at = SYMBI_TIME_NONE;
    run->started_at = SYMBI_TIME_NONE;
    run->finished_at = SYMBI_TIME_NONE;
    run->created_at = SYMBI_TIME_NONE;
    run->status = SYMBI_RUN_QUEUED;
    run->attempt = 1;
    run->execution_time_ms = -1;
    run->prompt_tokens = -1;
    run->completion_tokens = -1;
}

void symbi_run_cleanup(struct symbi_run *run)
{
#define FREE_FIELD(f) free(run->f);
    RUN_STRINGS(FREE_FIELD)
#undef FREE_FIELD
    symbi_run_init(run);
}

int symbi_run_copy(struct symbi_run *dst, const struct symbi_run *src)
{
    *dst = *src;
    int failed = 0;
#define COPY_FIELD(f)                                                                              \
    dst->f = symbi_strdup(src->f);                                                                 \
    failed |= (src->f != NULL && dst->f == NULL);
    RUN_STRINGS(COPY_FIELD)
#undef COPY_FIELD
    if (failed) {
        symbi_run_cleanup(dst);
        return SYMBI_ENOMEM;
    }
    return 0;
}

/* ---- agent definition ---- */

/* clang-format off */
#define AGENT_STRINGS(X) \
    X(name) \
    X(command) \
    X(exec) \
    X(model) \
    X(system_prompt) \
    X(builtin) \
    X(capabilities) \
    X(env) \
    X(workdir) \
    X(endpoint) \
    X(api_key_env) \
    X(api) \
    X(tools) \
    X(sandbox) \
    X(source)
/* clang-format on */

void symbi_agent_def_init(struct symbi_agent_def *a)
{
    memset(a, 0, sizeof *a);
    a->timeout_ms = -1;
    a->temperature = -1;
    a->max_tool_calls = -1;
    a->created_at = SYMBI_TIME_NONE;
    a->updated_at = SYMBI_TIME_NONE;
}

void symbi_agent_def_cleanup(struct symbi_agent_def *a)
{
#define FREE_FIELD(f) free(a->f);
    AGENT_STRINGS(FREE_FIELD)
#undef FREE_FIELD
    symbi_agent_def_init(a);
}

int symbi_agent_def_copy(struct symbi_agent_def *dst, const struct symbi_agent_def *src)
{
    *dst = *src;
    int failed = 0;
#define COPY_FIELD(f)                                                                              \
    dst->f = symbi_strdup(src->f);                                                                 \
    failed |= (src->f != NULL && dst->f == NULL);
    AGENT_STRINGS(COPY_FIELD)
#undef COPY_FIELD
    if (failed) {
        symbi_agent_def_cleanup(dst);
        return SYMBI_ENOMEM;
    }
    return 0;
}

/* ---- audit event ---- */

void symbi_audit_event_init(struct symbi_audit_event *e)
{
    memset(e, 0, sizeof *e);
    e->at = SYMBI_TIME_NONE;
}

void symbi_audit_event_cleanup(struct symbi_audit_event *e)
{
    free(e->type);
    free(e->job_name);
    free(e->actor);
    free(e->details);
    symbi_audit_event_init(e);
}
