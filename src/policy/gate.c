/* gate.c - the run pipeline's policy step (SPEC §1 step 3, §8): the hook
 * the executor calls before each run, turning the pure decision of eval.c
 * and the AgentPin verifier into a struct symbi_gate_decision. */
#include "symbi/config.h"
#include "symbi/exec.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pin_ctx {
    const struct symbi_policy_env *env;
    const char *token; /* as stored, may hold ${VAR} */
    const char *agent;
    int64_t now;
};

static int pin_check(void *ud, char *reason, size_t size)
{
    const struct pin_ctx *p = ud;
    if (p->token == NULL || p->token[0] == '\0') {
        snprintf(reason, size, "the job has no agent_pin_jwt");
        return SYMBI_EDENIED;
    }
    if (p->env->agentpin == NULL) {
        snprintf(reason, size, "no AgentPin verifier is configured");
        return SYMBI_EDENIED;
    }
    char *tok = symbi_config_expand(p->token);
    if (tok == NULL) {
        snprintf(reason, size, "out of memory");
        return SYMBI_ENOMEM;
    }
    struct symbi_err e = {0};
    int rc = symbi_agentpin_verify(p->env->agentpin, tok, p->agent, p->now, NULL, &e);
    free(tok);
    if (rc != 0)
        snprintf(reason, size, "%s", e.msg);
    return rc;
}

/* The agent's capabilities (a JSON array of strings) into a bounded list. */
static size_t caps_of(const struct symbi_agent_def *a, json_t **arr, const char **v, size_t cap)
{
    *arr = a != NULL && a->capabilities != NULL ? json_loads(a->capabilities, 0, NULL) : NULL;
    size_t n = 0, i;
    json_t *s;
    json_array_foreach(*arr, i, s)
    {
        if (n < cap && json_is_string(s))
            v[n++] = json_string_value(s);
    }
    return n;
}

int symbi_policy_gate(void *ud, const struct symbi_exec_ctx *c, struct symbi_gate_decision *d,
                      struct symbi_err *err)
{
    const struct symbi_policy_env *env = ud;
    static const struct symbi_policy none = {.max_runtime_ms = -1, .approval_timeout_ms = -1};
    const struct symbi_policy *pol = c->policy != NULL ? c->policy : &none;
    const char *caps[SYMBI_POLICY_MAX_LIST * 4];
    json_t *arr = NULL;
    struct pin_ctx pc = {
        env,
        c->job != NULL ? c->job->agent_pin_jwt : NULL,
        c->job != NULL ? c->job->agent : (c->agent != NULL ? c->agent->name : NULL),
        c->now,
    };
    struct symbi_policy_input in = {
        .policy = pol,
        .capabilities = caps,
        .n_capabilities = caps_of(c->agent, &arr, caps, SYMBI_ARRAY_LEN(caps)),
        .environment = c->environment != NULL ? c->environment : env->environment,
        .pin_required = env->agentpin_required,
        .approved = c->run != NULL && c->run->approver != NULL && c->run->approver[0] != '\0',
        .now = c->now,
        .pin = pin_check,
        .pin_ud = &pc,
    };
    struct symbi_policy_decision pd;
    int rc = symbi_policy_evaluate(&in, &pd);
    json_decref(arr);
    if (rc != 0)
        return symbi_err_set(err, rc, "policy evaluation failed");
    memset(d, 0, sizeof *d);
    d->max_runtime_ms = -1;
    switch (pd.verdict) {
    case SYMBI_POLICY_DENY:
        d->verdict = SYMBI_GATE_DENY;
        snprintf(d->reason, sizeof d->reason, "%s", pd.reason);
        d->audit_type = pd.audit_type;
        symbi_log(SYMBI_LOG_INFO, "policy", "run denied job=%s reason=\"%s\"",
                  c->job != NULL && c->job->name != NULL ? c->job->name : "-", pd.reason);
        break;
    case SYMBI_POLICY_REQUIRE_APPROVAL:
        d->verdict = SYMBI_GATE_REQUIRE_APPROVAL;
        break;
    default:
        d->verdict = SYMBI_GATE_ALLOW;
        if (pol->set && pol->max_runtime_ms > 0)
            d->max_runtime_ms = pol->max_runtime_ms;
        else if (c->agent != NULL && c->agent->timeout_ms > 0)
            d->max_runtime_ms = c->agent->timeout_ms;
        break;
    }
    return 0;
}
