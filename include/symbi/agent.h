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
    /* SPEC §6.5: the sandbox of agents that declare none ([agents]
     * default_sandbox, JSON text); NULL: none */
    const char *default_sandbox;
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

/* ---- sandboxes (SPEC §6.5, docs/sandbox.md) ----------------------------
 * A sandbox is kept as JSON text as written ({user, limits: {memory,
 * cpu_time, processes, open_files, file_size}, isolate, network,
 * writable}); symbi_agent_sandbox_parse checks and types it. */
#define SYMBI_SANDBOX_MAX_WRITABLE 64

struct symbi_sandbox {
    char *user;          /* a user name or numeric uid; NULL: the daemon's */
    int64_t memory;      /* bytes (RLIMIT_AS, memory.max); 0: no limit */
    int64_t cpu_time_ms; /* RLIMIT_CPU (whole seconds, rounded up); 0: none */
    int64_t processes;   /* RLIMIT_NPROC (of the user), pids.max; 0: none */
    int64_t open_files;  /* RLIMIT_NOFILE; 0: none */
    int64_t file_size;   /* bytes (RLIMIT_FSIZE); 0: none */
    bool isolate;        /* namespaces through bwrap */
    bool network;        /* isolate: keep the host's network (default false) */
    char **writable;     /* isolate: paths bound read-write besides workdir */
    size_t n_writable;
};
void symbi_agent_sandbox_init(struct symbi_sandbox *sb);
void symbi_agent_sandbox_cleanup(struct symbi_sandbox *sb);

/* Checks the JSON text of a sandbox and fills *out (which the call
 * initialises; cleaned up by the caller, also on failure). Sizes are
 * bytes or strings like "64M" (K, M, G, T: powers of 1024); durations
 * strings like "2s" or numbers of seconds. Unknown keys are refused with
 * the nearest known one. SYMBI_EINVAL with err->msg "sandbox: ...". */
int symbi_agent_sandbox_parse(const char *json_text, struct symbi_sandbox *out,
                              struct symbi_err *err);

/* What the host can do for sandboxes, probed once at start-up
 * (symbi_agent_sandbox_probe) before any run: whether the process is root
 * and whether it has a delegated cgroup v2 with the memory and pids
 * controllers. */
struct symbi_sandbox_host {
    bool root;
    bool cgroup;           /* runs get a cgroup with memory.max / pids.max */
    char cgroup_path[512]; /* the daemon's cgroup directory when cgroup */
    char why[256];         /* when !cgroup: why not (for the start-up log) */
};
/* Probes the host. With use_cgroup, a delegated cgroup v2 is taken over
 * for runs (the process moves into a leaf `<its cgroup>/symbi-daemon` and
 * enables memory and pids for run cgroups beside it); without it (`symbi
 * run`), limits come from setrlimit alone. Call once before threads run;
 * fills *out (also readable later through symbi_agent_sandbox_host, which
 * without a probe says: no cgroup). */
void symbi_agent_sandbox_probe(bool use_cgroup, struct symbi_sandbox_host *out);
const struct symbi_sandbox_host *symbi_agent_sandbox_host(void);

/* Whether a sandbox can be applied on this host as asked, the checks that
 * do not depend on a run (SPEC §6.5: refused at load): a `user` needs a
 * daemon running as root and a known user; `processes` for an agent that
 * would run as root needs the cgroup (RLIMIT_NPROC does not bind root).
 * 0, or SYMBI_EINVAL with err->msg "sandbox: ...". */
int symbi_agent_sandbox_check_host(const struct symbi_sandbox *sb, struct symbi_err *err);
/* The same for an agent definition (its sandbox, else default_json, and
 * each tool's own sandbox). */
int symbi_agent_def_check_sandbox(const struct symbi_agent_def *a, const char *default_json,
                                  struct symbi_err *err);

/* The summary rule of SPEC §6.1 applied to output (heap; NULL if none). */
char *symbi_agent_summary(const char *output, size_t len);

#endif
