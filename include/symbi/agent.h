/* agent.h - the AgentScheduler executor (SPEC §6.1): runs one agent
 * invocation (a `command` through /bin/sh -c, an `exec` argv, a builtin, or
 * a model agent through a registered runner) and captures its outcome. */
#ifndef SYMBI_AGENT_H
#define SYMBI_AGENT_H

#include "symbi/model.h"

#include <stdatomic.h>

#define SYMBI_AGENT_DEFAULT_OUTPUT_MAX (1024 * 1024) /* max_output_bytes */
#define SYMBI_AGENT_STDERR_MAX         (64 * 1024)
#define SYMBI_AGENT_KILL_GRACE_MS      5000 /* SIGTERM -> SIGKILL after max_runtime */
#define SYMBI_AGENT_SUMMARY_MAX        500

/* A cancellation token shared by the runs of one scheduler: once set, every
 * running process group gets SIGTERM and, `grace_ms` later, SIGKILL; the
 * run ends `interrupted`. Set from any thread. */
struct symbi_agent_cancel {
    atomic_int cancelled;
    int64_t grace_ms; /* 0: 1000 */
};
void symbi_agent_cancel_init(struct symbi_agent_cancel *c, int64_t grace_ms);
void symbi_agent_cancel_fire(struct symbi_agent_cancel *c);

/* What to run and with what. Strings are borrowed for the call. */
struct symbi_agent_request {
    const struct symbi_agent_def *agent; /* NULL: the run fails "unknown agent" */
    const char *agent_name;              /* for messages when agent is NULL */
    const char *input;                   /* stdin; NULL: empty */
    /* the SYMBI_* environment (NULL fields are left out) */
    const char *job_id;
    const char *job_name;
    const char *run_id;
    const char *trigger;
    int64_t scheduled_at;
    int attempt;
    const char *session_mode;
    const char *context_file; /* SYMBI_CONTEXT_FILE for command/exec agents */
    /* the session context (SPEC §6.3) as JSON
     * {"mode","summary","history":[{"at","input","output"}]}; model agents
     * turn it into messages. NULL: none. */
    const char *context_json;
    /* model agents: the endpoint when the agent names none ([agents]
     * llm_endpoint / SYMBI_LLM_ENDPOINT); NULL: none */
    const char *default_endpoint;
    int iteration; /* > 0: SYMBI_ITERATION (heartbeat) */
    const char *environment;
    int64_t max_runtime_ms;            /* <= 0: agent timeout, else none */
    int64_t kill_grace_ms;             /* <= 0: SYMBI_AGENT_KILL_GRACE_MS */
    size_t max_output_bytes;           /* 0: SYMBI_AGENT_DEFAULT_OUTPUT_MAX */
    struct symbi_agent_cancel *cancel; /* NULL: not cancellable */
    /* Called once the process group exists (leader pid = group id) and
     * again with 0 when it is gone; NULL: not called. */
    void (*on_group)(void *ud, int pgid);
    void *on_group_ud;
};

/* The outcome. Strings are heap-owned (symbi_agent_result_cleanup). */
struct symbi_agent_result {
    enum symbi_run_status status; /* SUCCEEDED, FAILED, TIMED_OUT or INTERRUPTED */
    char *output;                 /* stdout (never NULL after a call) */
    size_t output_len;
    bool output_truncated;
    size_t output_total; /* bytes the agent wrote, kept or not */
    char *stderr_text;   /* NULL when the runner has none */
    char *summary;       /* the SUMMARY: line, else the last 500 bytes of output */
    char *error_message; /* NULL on success */
    bool has_exit_code;
    int exit_code;
    int term_signal; /* the signal that ended the process, 0 if none */
    int64_t execution_ms;
    /* model agents (SPEC §6.2): the tool calls made, a JSON array of
     * {id, name, arguments, status, exit_code, output, error, ms} (NULL:
     * none) for the run record and one AgentToolCalled audit event each;
     * token usage summed over the invocation's requests, -1: no model call */
    char *tool_calls;
    int64_t prompt_tokens;
    int64_t completion_tokens;
};
void symbi_agent_result_init(struct symbi_agent_result *r);
void symbi_agent_result_cleanup(struct symbi_agent_result *r);

/* Runs the request to completion (blocking the calling thread), filling
 * *res. Returns 0 whenever an outcome was recorded in *res, including a
 * failed or timed-out agent; a negative code only when nothing could be
 * recorded (out of memory). Thread-safe: runs may execute concurrently.
 * Processes run in their own process group with stdin from the input and
 * every descriptor but 0-2 closed; no process of the group outlives the
 * call. The caller must not have SIGCHLD ignored. */
int symbi_agent_execute(const struct symbi_agent_request *req, struct symbi_agent_result *res,
                        struct symbi_err *err);

/* A runner for `model` agents (SPEC §6.2), registered by the module that
 * implements it; without one, model agents fail with a clear message.
 * It fills res like symbi_agent_execute. */
typedef int (*symbi_agent_model_runner)(const struct symbi_agent_request *req,
                                        struct symbi_agent_result *res, struct symbi_err *err);
void symbi_agent_set_model_runner(symbi_agent_model_runner fn);

/* Registers the built-in model runner (src/agent/model.c: OpenAI-compatible
 * chat completions and the Anthropic Messages API over libcurl). Call once
 * at program start, before any thread runs; 0 or SYMBI_ENOMEM. */
int symbi_agent_model_install(struct symbi_err *err);

/* The summary rule of SPEC §6.1 applied to output (heap; NULL if none). */
char *symbi_agent_summary(const char *output, size_t len);

#endif
