/* exec.h - the run pipeline's plug points (SPEC §1, the guide's seven steps):
 * the policy gate and delivery steps are hooks that the executor calls once
 * per run (or beat), filled by the policy and deliver modules. The executor
 * itself (its settings, symbi_exec_run) is declared below the hooks. */
#ifndef SYMBI_EXEC_H
#define SYMBI_EXEC_H

#include "symbi/agent.h"
#include "symbi/policy.h"

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

#endif
