/* exec.h - the run pipeline's plug points (SPEC §1, the guide's seven steps):
 * the policy gate and delivery steps are hooks that the executor calls once
 * per run (or beat), filled by the policy and deliver modules. The executor
 * itself (its settings, symbi_exec_run) is declared below the hooks. */
#ifndef SYMBI_EXEC_H
#define SYMBI_EXEC_H

#include "symbi/agent.h"
#include "symbi/policy.h"

#include <jansson.h>

struct symbi_store;

/* What the gate and delivery steps see of a run. Everything is borrowed
 * for the call. */
struct symbi_exec_ctx {
    const struct symbi_job *job;         /* NULL for `symbi run <agent>` (no job) */
    const struct symbi_agent_def *agent; /* NULL: the agent is unknown */
    const struct symbi_policy *policy;   /* the job's typed policy (never NULL;
                                            policy->set false when it has none) */
    struct symbi_run *run;               /* the run record as built so far */
    const char *environment;             /* the daemon's environment name */
    int64_t now;                         /* wall ms when the step starts */
};

/* ---- step 3: the policy gate (SPEC §8) ---- */
enum symbi_gate_verdict {
    SYMBI_GATE_ALLOW = 0,
    SYMBI_GATE_DENY,             /* run recorded `denied`, not a failure */
    SYMBI_GATE_REQUIRE_APPROVAL, /* run recorded `pending_approval` */
};
struct symbi_gate_decision {
    enum symbi_gate_verdict verdict;
    char reason[512];       /* DENY: why (the run's error_message) */
    const char *audit_type; /* DENY: the event to write ("PolicyDenied",
                               "AgentPinVerificationFailed"); static string */
    int64_t max_runtime_ms; /* ALLOW: the effective max runtime, -1: none */
};
/* Decides whether c->run may run now. Returns 0 with *d filled, or a
 * negative code (the run then fails with err's message). */
typedef int (*symbi_exec_gate_fn)(void *ud, const struct symbi_exec_ctx *c,
                                  struct symbi_gate_decision *d, struct symbi_err *err);

/* ---- step 5: delivery (SPEC §7) ---- */
struct symbi_delivery_summary {
    int attempted; /* channels tried */
    int succeeded; /* channels whose receipt is ok */
};
/* Routes c->run (final status and output set) to c->job's channels and
 * sets c->run->deliveries to the JSON array of receipts. Returns 0 with
 * *out filled (channel failures are receipts, not errors). */
typedef int (*symbi_exec_deliver_fn)(void *ud, const struct symbi_exec_ctx *c,
                                     struct symbi_delivery_summary *out, struct symbi_err *err);

struct symbi_exec_hooks {
    symbi_exec_gate_fn gate; /* NULL: allow */
    void *gate_ud;
    symbi_exec_deliver_fn deliver; /* NULL: nothing delivered */
    void *deliver_ud;
};

/* ---- the executor: one run through the seven steps ----
 * The caller does step 1 (pre-run: the scheduler's concurrency and jitter,
 * `cron run`'s concurrency check) and hands the run over marked running;
 * symbi_exec_run does steps 2-6 (session creation by mode, policy gate,
 * agent execution or a heartbeat's beat, delivery, session save and
 * cleanup); symbi_exec_record is step 7 (the run record, the job's
 * counters, a retry). Every caller (the scheduler's workers, `symbi run`,
 * `symbi cron run --local`) goes through these, so a run's outcome is
 * decided in one place. */

#define SYMBI_EXEC_CONTEXT_MAX_DEFAULT (256 * 1024) /* context_max_bytes */

/* Settings of the executor (built from the configuration by one function,
 * symbi_cli_run_settings). Strings are borrowed for the executor's life. */
struct symbi_exec_config {
    const char *environment;     /* SYMBI_ENVIRONMENT; NULL: none */
    const char *data_dir;        /* context files go to <data_dir>/contexts/;
                                    NULL: $TMPDIR (or /tmp) */
    int64_t max_output_bytes;    /* per invocation, and the bound of a beat's
                                    iteration outputs (1 MiB) */
    int64_t kill_grace_ms;       /* SIGTERM -> SIGKILL (5000) */
    int64_t context_max_bytes;   /* bound of a live shared_persistent context */
    const char *llm_endpoint;    /* model agents that name no endpoint ([agents]
                                    llm_endpoint / SYMBI_LLM_ENDPOINT); NULL: none */
    const char *default_sandbox; /* [agents] default_sandbox (JSON, SPEC §6.5); NULL: none */
    struct symbi_exec_hooks hooks;
    const struct symbi_clock *clock; /* wall times recorded (finished_at, a
                                        history entry's at); NULL: system */
    /* step 4's agent invocation; NULL: symbi_agent_execute (tests pass a
     * fake, as the scheduler's own runner hook) */
    int (*runner)(void *ud, const struct symbi_agent_request *req, struct symbi_agent_result *res,
                  struct symbi_err *err);
    void *runner_ud;
};
void symbi_exec_config_init(struct symbi_exec_config *c);

/* A few store handles shared by the threads that run agents (pool.c): a
 * run borrows one only to load and to save its context. Thread-safe. */
struct symbi_exec_pool;
/* max: the most handles open at once (1..16). Opens them on demand. */
int symbi_exec_pool_new(const char *url, int max, struct symbi_exec_pool **out,
                        struct symbi_err *err);
void symbi_exec_pool_free(struct symbi_exec_pool *p); /* every handle back first */
/* A handle (waiting while all are lent); NULL with err when none opens. */
struct symbi_store *symbi_exec_pool_get(struct symbi_exec_pool *p, struct symbi_err *err);
void symbi_exec_pool_put(struct symbi_exec_pool *p, struct symbi_store *st);

/* What a run executes with. Borrowed for the call. */
struct symbi_exec_request {
    struct symbi_store *st;               /* the caller's store handle (contexts,
                                             audit), used for the call; or */
    struct symbi_exec_pool *pool;         /* handles borrowed for the moments they
                                             are needed; both NULL: no store (job
                                             must then be NULL) */
    const struct symbi_job *job;          /* NULL: `symbi run <agent>`, fully
                                             ephemeral, nothing stored */
    const struct symbi_agent_def *agent;  /* NULL: fails "unknown agent" */
    struct symbi_agent_cancel *cancel;    /* NULL: not cancellable */
    void (*on_group)(void *ud, int pgid); /* see symbi_agent_request */
    void *on_group_ud;
};

/* Runs steps 2-6 for `run` (status running, started_at set). *out is
 * initialised by the call as a copy of run with the outcome filled in:
 * status (succeeded, failed, timed_out, interrupted, denied or
 * pending_approval), finished_at, execution_time_ms, output (bounded),
 * stderr, summary, error_message, exit code, iterations and
 * iteration_outputs (heartbeats), deliveries (by the delivery hook).
 * Returns 0 whenever an outcome is in *out (a failed agent included); a
 * negative code only when none could be built (out of memory). Blocks
 * the calling thread for the run; thread-safe when each thread passes its
 * own store handle or they share a pool. */
int symbi_exec_run(const struct symbi_exec_config *c, const struct symbi_exec_request *r,
                   const struct symbi_run *run, struct symbi_run *out, struct symbi_err *err);

/* Moves the outcome fields of done (filled by symbi_exec_run) into run;
 * done keeps the rest and is still to be cleaned up. */
void symbi_exec_take_outcome(struct symbi_run *run, struct symbi_run *done);

/* ---- step 7: the post-run record ---- */
struct symbi_sched_policy;
struct symbi_exec_recorded {
    bool counts_as_failure;
    int max_retries;    /* the effective limit */
    bool dead_lettered; /* the job moved to dead_letter */
    bool retry_queued;  /* a retry run was stored */
    int64_t retry_due;  /* its due instant */
};
/* Records the finished run (final status set, or pending_approval): the
 * retry decision of SPEC §5.5 (symbi_sched_decide on the stored job), the
 * run, the job's counters, the audit events and the retry in one
 * transaction (symbi_store_run_finish). *out is filled on success and on
 * SYMBI_ESTATE (recovery recorded the run already: nothing written). A
 * store that cannot answer (SYMBI_EIO, SYMBI_EBUSY, SYMBI_ENOMEM) writes
 * nothing: the caller tries again. */
int symbi_exec_record(struct symbi_store *st, const struct symbi_sched_policy *pol,
                      const struct symbi_run *run, int64_t now, struct symbi_exec_recorded *out,
                      struct symbi_err *err);

/* ---- session contexts (SPEC §6.3, docs/sessions.md) ---- */

/* The job's context as its next run would see it (job->session_mode):
 * the object {"mode","summary","history":[{"at","input","output"}]} that
 * SYMBI_CONTEXT_FILE holds, plus "job_id", "job_name", "bytes" (the
 * length of that JSON), "live_entries" and "archived_entries". New
 * reference; NULL on failure with err set. */
json_t *symbi_exec_context_describe(struct symbi_store *st, const struct symbi_job *job,
                                    struct symbi_err *err);
/* Clears the job's context: its summary and live history (the entries go
 * to the archive, none is deleted). */
int symbi_exec_context_clear(struct symbi_store *st, const struct symbi_job *job, int64_t now,
                             struct symbi_err *err);

#endif
