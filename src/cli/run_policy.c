/* run_policy.c - the policy gate's environment for this process (SPEC §8):
 * the daemon's environment name, SYMBI_AGENTPIN_REQUIRED and the AgentPin
 * verifier built from [agentpin], handed to the executor as its gate hook. */
#include "cli/cli.h"

#include "symbi/config.h"
#include "symbi/policy.h"

#include <pthread.h>
#include <stdlib.h>

/* Every environment built lives until exit: a SIGHUP builds a new one
 * while runs may still hold the old. */
struct env_node {
    struct symbi_policy_env env;
    char *environment;
    struct env_node *next;
};

static pthread_mutex_t envs_mu = PTHREAD_MUTEX_INITIALIZER;
static struct env_node *envs;

static void free_envs(void)
{
    pthread_mutex_lock(&envs_mu);
    for (struct env_node *n = envs, *next; n != NULL; n = next) {
        next = n->next;
        symbi_agentpin_free(n->env.agentpin);
        free(n->environment);
        free(n);
    }
    envs = NULL;
    pthread_mutex_unlock(&envs_mu);
}

struct symbi_policy_env *symbi_cli_policy_env(const struct symbi_config *cfg)
{
    struct env_node *n = calloc(1, sizeof *n);
    if (n == NULL)
        return NULL;
    n->environment = symbi_strdup(cfg->environment != NULL ? cfg->environment : "development");
    n->env.environment = n->environment;
    n->env.agentpin_required = cfg->agentpin_required;
    struct symbi_err err = {0};
    if (symbi_cli_agentpin_new(cfg, &n->env.agentpin, &err) != 0) {
        /* fail closed: every run that needs a credential is denied */
        n->env.agentpin = NULL;
        symbi_log(SYMBI_LOG_ERROR, "policy",
                  "[agentpin] keys cannot be loaded, every credential is refused: %s", err.msg);
    }
    pthread_mutex_lock(&envs_mu);
    if (envs == NULL)
        atexit(free_envs);
    n->next = envs;
    envs = n;
    pthread_mutex_unlock(&envs_mu);
    return &n->env;
}

int symbi_cli_gate_refuse(void *ud, const struct symbi_exec_ctx *c, struct symbi_gate_decision *d,
                          struct symbi_err *err)
{
    (void)ud;
    (void)c;
    (void)d;
    return symbi_err_set(err, SYMBI_ENOMEM, "out of memory building the policy environment");
}
