/* model.h - the shared data model: jobs, runs, agent definitions, audit
 * events, and the strings of their enums (SPEC §4, §2.3, §12). */
#ifndef SYMBI_MODEL_H
#define SYMBI_MODEL_H

#include "symbi/core.h"

/* ---- enums and their strings -------------------------------------------
 * Each enum has _name() (the lowercase string used in the DSL, the store,
 * the CLI and the §9.1 API) and _parse() (SYMBI_EINVAL on unknown text). */

enum symbi_job_status {
    SYMBI_JOB_ACTIVE = 0,
    SYMBI_JOB_PAUSED,
    SYMBI_JOB_COMPLETED,
    SYMBI_JOB_FAILED,
    SYMBI_JOB_DEAD_LETTER,
};
const char *symbi_job_status_name(enum symbi_job_status s);
/* PascalCase for the upstream-compatible API (§9.2): "Active", "DeadLetter". */
const char *symbi_job_status_pascal(enum symbi_job_status s);
int symbi_job_status_parse(const char *s, enum symbi_job_status *out);

enum symbi_session_mode {
    SYMBI_SESSION_EPHEMERAL_WITH_SUMMARY = 0,
    SYMBI_SESSION_SHARED_PERSISTENT,
    SYMBI_SESSION_FULLY_EPHEMERAL,
};
const char *symbi_session_mode_name(enum symbi_session_mode m);
int symbi_session_mode_parse(const char *s, enum symbi_session_mode *out);

enum symbi_catch_up {
    SYMBI_CATCH_UP_ONCE = 0,
    SYMBI_CATCH_UP_SKIP,
    SYMBI_CATCH_UP_ALL,
};
const char *symbi_catch_up_name(enum symbi_catch_up c);
int symbi_catch_up_parse(const char *s, enum symbi_catch_up *out);

enum symbi_dst_gap {
    SYMBI_DST_GAP_SHIFT = 0, /* fire once at the first instant after the gap */
    SYMBI_DST_GAP_SKIP,      /* a skipped local time does not fire */
};
const char *symbi_dst_gap_name(enum symbi_dst_gap g);
int symbi_dst_gap_parse(const char *s, enum symbi_dst_gap *out);

enum symbi_dst_overlap {
    SYMBI_DST_OVERLAP_AUTO = 0, /* §3.2: first for fixed hours, both for `*` hours */
    SYMBI_DST_OVERLAP_FIRST,
    SYMBI_DST_OVERLAP_LAST,
    SYMBI_DST_OVERLAP_BOTH,
};
const char *symbi_dst_overlap_name(enum symbi_dst_overlap o);
int symbi_dst_overlap_parse(const char *s, enum symbi_dst_overlap *out);

enum symbi_run_status {
    SYMBI_RUN_QUEUED = 0,
    SYMBI_RUN_PENDING_APPROVAL,
    SYMBI_RUN_RUNNING,
    SYMBI_RUN_SUCCEEDED,
    SYMBI_RUN_FAILED,
    SYMBI_RUN_TIMED_OUT,
    SYMBI_RUN_DENIED,
    SYMBI_RUN_SKIPPED,
    SYMBI_RUN_MISSED,
    SYMBI_RUN_INTERRUPTED,
};
const char *symbi_run_status_name(enum symbi_run_status s);
const char *symbi_run_status_pascal(enum symbi_run_status s); /* "TimedOut" */
int symbi_run_status_parse(const char *s, enum symbi_run_status *out);
/* true for succeeded, failed, timed_out, denied, skipped, missed, interrupted */
bool symbi_run_status_final(enum symbi_run_status s);

enum symbi_trigger {
    SYMBI_TRIGGER_SCHEDULE = 0,
    SYMBI_TRIGGER_MANUAL,
    SYMBI_TRIGGER_RETRY,
    SYMBI_TRIGGER_CATCH_UP,
    SYMBI_TRIGGER_BACKFILL, /* `cron backfill`: one run per past instant of a range */
};
const char *symbi_trigger_name(enum symbi_trigger t);
int symbi_trigger_parse(const char *s, enum symbi_trigger *out);

enum symbi_runner {
    SYMBI_RUNNER_NONE = 0, /* no runner key (upstream agent NAME(...) form) */
    SYMBI_RUNNER_COMMAND,  /* command: "..." via /bin/sh -c */
    SYMBI_RUNNER_EXEC,     /* exec: ["prog", "arg"] without a shell */
    SYMBI_RUNNER_MODEL,    /* model: "..." chat-completions endpoint */
    SYMBI_RUNNER_BUILTIN,  /* builtin: "echo" | "noop" | "fail" */
};
const char *symbi_runner_name(enum symbi_runner r);
int symbi_runner_parse(const char *s, enum symbi_runner *out);

/* ---- job (SPEC §4.1, §2.2) ---------------------------------------------
 * Strings are heap-owned by the job (freed by symbi_job_cleanup); NULL means
 * "not set". Arrays and maps are kept as compact JSON text exactly as
 * written (values may hold ${VAR}, never expanded here). Times are UTC ms,
 * SYMBI_TIME_NONE when unset; durations are ms, -1 when unset. */
struct symbi_heartbeat {
    bool set; /* a heartbeat block was given */
    bool enabled;
    enum symbi_session_mode context_mode;
    int max_iterations; /* default 10 */
};

struct symbi_job {
    char id[SYMBI_UUID_LEN + 1]; /* "" until stored */
    char *name;
    char *agent;
    char *cron_expr; /* NULL for an `at` job */
    int64_t at;      /* UTC ms for a one-shot job, else SYMBI_TIME_NONE */
    char *timezone;  /* IANA zone; NULL means the default (UTC) */
    enum symbi_job_status status;
    enum symbi_session_mode session_mode;
    char *delivery; /* JSON array of channel names, NULL = none */
    char *webhook_url;
    char *webhook_headers; /* JSON object */
    char *slack_channel;
    char *slack_webhook_url;
    char *email_recipients; /* JSON array */
    char *log_file;
    char *policy; /* JSON object (SPEC §8.1), NULL = none */
    struct symbi_heartbeat heartbeat;
    int max_concurrent; /* default 1 */
    int max_retries;    /* -1: the configured default (3) */
    int64_t jitter_ms;  /* -1: the global max_jitter_seconds */
    enum symbi_catch_up catch_up;
    int64_t starting_deadline_ms; /* -1: none */
    enum symbi_dst_gap dst_gap;
    enum symbi_dst_overlap dst_overlap;
    char *input;
    char *agent_pin_jwt; /* as written, e.g. "${AGENT_PIN_JWT}" */
    bool one_shot;
    char *deliver; /* upstream keys, stored as given */
    char *audit;
    char *source; /* "dsl:<path>", "api", "cli" */
    int64_t created_at;
    int64_t updated_at;
    int64_t last_run;
    int64_t next_run;
    int64_t run_count;
    int64_t failure_count; /* consecutive */
};

/* Sets every field to its default (status active, max_concurrent 1, times
 * NONE, durations -1, ...). Owns nothing yet. */
void symbi_job_init(struct symbi_job *job);
/* Frees the strings and re-initialises the job. */
void symbi_job_cleanup(struct symbi_job *job);
/* Deep copy; on failure dst is left initialised and empty. */
int symbi_job_copy(struct symbi_job *dst, const struct symbi_job *src);
/* Replaces *field (freeing the old) with a copy of value (NULL clears). */
int symbi_set_str(char **field, const char *value);

/* ---- run (SPEC §4.2) --------------------------------------------------- */
struct symbi_run {
    char id[SYMBI_UUID_LEN + 1];
    char job_id[SYMBI_UUID_LEN + 1];
    char *job_name;
    char *agent;
    enum symbi_trigger trigger;
    int64_t scheduled_at; /* the schedule's instant (the fire ledger key) */
    int64_t due_at;       /* when it may start: scheduled_at + jitter, or a retry's backoff */
    int64_t started_at;
    int64_t finished_at;
    int64_t jitter_ms; /* the jitter applied to this start (0 when none) */
    enum symbi_run_status status;
    int attempt; /* 1 for the first try */
    char *input;
    char *output;
    bool output_truncated;
    char *stderr_text;
    char *summary;
    char *error_message;
    bool has_exit_code;
    int exit_code;
    int64_t execution_time_ms; /* -1 until finished */
    char *node;
    int iterations; /* heartbeat iterations (0 otherwise) */
    /* heartbeat: JSON array, one {iteration, status, exit_code, output,
     * output_truncated} per iteration, bounded (docs/sessions.md); NULL
     * otherwise */
    char *iteration_outputs;
    char *deliveries; /* JSON array of receipts {channel, ok, status, error, at} */
    char *approver;
    /* model agents (SPEC §6.2): the tool calls made, a JSON array of
     * {name, arguments, exit_code, output, error, ms}, NULL when none; token
     * usage, -1 when the run made no model call */
    char *tool_calls;
    int64_t prompt_tokens;
    int64_t completion_tokens;
    int64_t created_at;
};

void symbi_run_init(struct symbi_run *run);
void symbi_run_cleanup(struct symbi_run *run);
int symbi_run_copy(struct symbi_run *dst, const struct symbi_run *src);

/* ---- agent definition (SPEC §2.3) ------------------------------------- */
#define SYMBI_AGENT_DEFAULT_MAX_TOOL_CALLS 8
#define SYMBI_AGENT_MAX_TOOL_CALLS         64 /* the largest max_tool_calls accepted */
#define SYMBI_AGENT_MAX_TOOLS              32 /* tools one agent may declare */
struct symbi_agent_def {
    char *name;
    enum symbi_runner runner;
    char *command; /* runner command */
    char *exec;    /* runner exec: JSON array of strings */
    char *model;   /* runner model */
    char *system_prompt;
    char *builtin;      /* "echo" | "noop" | "fail" */
    char *capabilities; /* JSON array of strings */
    char *env;          /* JSON object of strings */
    char *workdir;
    int64_t timeout_ms; /* -1: none */
    char *endpoint;
    char *api_key_env;
    double temperature; /* < 0: unset */
    int max_tokens;     /* 0: unset */
    char *api;          /* "openai" (NULL: the default) or "anthropic" */
    char *tools;        /* JSON object {name: {description, command | exec, parameters}} */
    int max_tool_calls; /* per invocation; -1: SYMBI_AGENT_DEFAULT_MAX_TOOL_CALLS */
    char *sandbox;      /* JSON object (SPEC §6.5, symbi_agent_sandbox_parse); NULL: none */
    char *source;
    int64_t created_at;
    int64_t updated_at;
};

void symbi_agent_def_init(struct symbi_agent_def *a);
void symbi_agent_def_cleanup(struct symbi_agent_def *a);
int symbi_agent_def_copy(struct symbi_agent_def *dst, const struct symbi_agent_def *src);

/* ---- audit event (SPEC §12) --------------------------------------------
 * type is one of "CronJobCreated", "CronJobUpdated", "CronJobDeleted",
 * "CronJobPaused", "CronJobResumed", "CronJobExecuted", "CronJobFailed",
 * "CronJobDeadLettered", "AgentPinVerificationFailed", "CronJobReset",
 * "CronRunApproved", "CronRunDenied", "PolicyDenied", "AgentToolCalled",
 * "CronJobBackfilled", "ApiAccessDenied". */
struct symbi_audit_event {
    int64_t id;
    int64_t at;
    char *type;
    char job_id[SYMBI_UUID_LEN + 1]; /* "" when none */
    char *job_name;
    char run_id[SYMBI_UUID_LEN + 1]; /* "" when none */
    char *actor;                     /* "cli", "api", "scheduler", "api-key:<name>", ... */
    char *details;                   /* JSON object */
};

void symbi_audit_event_init(struct symbi_audit_event *e);
void symbi_audit_event_cleanup(struct symbi_audit_event *e);

#endif
