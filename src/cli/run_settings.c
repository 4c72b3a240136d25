/* run_settings.c - the configuration -> run pipeline settings, built once
 * for `symbi up`, `symbi run` and `symbi cron run --local`: the scheduler's
 * knobs and the executor's (symbi_exec_config), hooks included. */
#include "cli/cli.h"

#include "symbi/config.h"
#include "symbi/cron.h"
#include "symbi/deliver.h"
#include "symbi/policy.h"
#include "symbi/sched.h"

#include <pthread.h>
#include <stdlib.h>

/* Delivery routers live as long as the process: a reload builds a new one
 * while runs that started before it may still deliver through the old one
 * (a few hundred bytes per reload). Freed at exit. */
static pthread_mutex_t routers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct symbi_deliver **routers;
static size_t n_routers;

static void free_routers(void)
{
    pthread_mutex_lock(&routers_lock);
    for (size_t i = 0; i < n_routers; i++)
        symbi_deliver_free(routers[i]);
    free(routers);
    routers = NULL;
    n_routers = 0;
    pthread_mutex_unlock(&routers_lock);
}

void symbi_cli_delivery_deadline(int64_t mono_ms)
{
    pthread_mutex_lock(&routers_lock);
    for (size_t i = 0; i < n_routers; i++)
        symbi_deliver_set_deadline(routers[i], mono_ms);
    pthread_mutex_unlock(&routers_lock);
}

/* The router of cfg's [scheduler.delivery], or NULL (logged) when it cannot
 * be built: runs are then not delivered. */
static struct symbi_deliver *delivery_router(const struct symbi_config *cfg)
{
    struct symbi_deliver *d = NULL;
    struct symbi_err err;
    if (symbi_deliver_new(cfg, &d, &err) != 0) {
        symbi_log(SYMBI_LOG_ERROR, "delivery", "no delivery: %s", err.msg);
        return NULL;
    }
    pthread_mutex_lock(&routers_lock);
    struct symbi_deliver **n = realloc(routers, (n_routers + 1) * sizeof *n);
    if (n == NULL) {
        pthread_mutex_unlock(&routers_lock);
        symbi_deliver_free(d);
        symbi_log(SYMBI_LOG_ERROR, "delivery", "no delivery: out of memory");
        return NULL;
    }
    if (routers == NULL)
        atexit(free_routers);
    routers = n;
    routers[n_routers++] = d;
    pthread_mutex_unlock(&routers_lock);
    return d;
}

void symbi_cli_run_settings(const struct symbi_config *cfg, struct symbi_sched_config *sc)
{
    symbi_sched_config_init(sc);
    sc->environment = cfg->environment;
    sc->data_dir = cfg->data_dir;
    sc->next_fire = symbi_cron_job_next;
    sc->tick_interval_ms = cfg->tick_interval_ms;
    sc->max_concurrent_jobs = cfg->max_concurrent_jobs;
    sc->shutdown_timeout_ms = cfg->shutdown_timeout_ms;
    sc->lease_ms = cfg->lease_ms;
    sc->max_output_bytes = cfg->max_output_bytes;
    sc->retention =
        (struct symbi_retention){0, cfg->keep_runs_ms, cfg->keep_runs_per_job, cfg->keep_audit_ms};
    sc->policy.max_jitter_ms = cfg->max_jitter_ms;
    sc->policy.default_max_retries = cfg->default_max_retries;
    sc->policy.retry_backoff_ms = cfg->retry_backoff_ms;
    if (cfg->tick_interval_ms > 0 && sc->policy.catch_up_after_ms < cfg->tick_interval_ms + 1000)
        sc->policy.catch_up_after_ms = cfg->tick_interval_ms + 1000;

    /* the executor (SPEC §1 AgentScheduler) */
    struct symbi_exec_config *x = &sc->exec;
    x->environment = cfg->environment;
    x->data_dir = cfg->data_dir;
    x->max_output_bytes = cfg->max_output_bytes;
    x->kill_grace_ms = sc->kill_grace_ms;
    x->context_max_bytes = cfg->context_max_bytes;
    x->llm_endpoint = cfg->llm_endpoint;
    x->default_sandbox = cfg->default_sandbox;
    /* The pipeline's plug points (include/symbi/exec.h), set here and
     * nowhere else: step 3 (x->hooks.gate, gate_ud: the policy gate and
     * AgentPin, SPEC §8) and step 5 (x->hooks.deliver, deliver_ud: delivery
     * routing, SPEC §7, a router built from [scheduler.delivery]). */
    x->hooks.gate = symbi_policy_gate;
    x->hooks.gate_ud = symbi_cli_policy_env(cfg);
    if (x->hooks.gate_ud == NULL) /* out of memory: no run without its gate */
        x->hooks.gate = symbi_cli_gate_refuse;
    sc->approval_timeout_ms = cfg->approval_timeout_ms;
    x->hooks.deliver_ud = delivery_router(cfg);
    x->hooks.deliver = x->hooks.deliver_ud != NULL ? symbi_deliver_hook : NULL;
}
