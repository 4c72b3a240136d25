/* run_settings.c - the configuration -> run pipeline settings, built once
 * for `symbi up`, `symbi run` and `symbi cron run --local`: the scheduler's
 * knobs and the executor's (symbi_exec_config), hooks included. */
#include "cli/cli.h"

#include "symbi/config.h"
#include "symbi/cron.h"
#include "symbi/policy.h"
#include "symbi/sched.h"

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
    /* The pipeline's plug points (include/symbi/exec.h), set here and
     * nowhere else: step 3 (x->hooks.gate, gate_ud: the policy gate and
     * AgentPin, SPEC §8) and step 5 (x->hooks.deliver, deliver_ud: delivery
     * routing, SPEC §7). NULL deliver today: nothing is delivered. */
    x->hooks.gate = symbi_policy_gate;
    x->hooks.gate_ud = symbi_cli_policy_env(cfg);
    if (x->hooks.gate_ud == NULL) /* out of memory: no run without its gate */
        x->hooks.gate = symbi_cli_gate_refuse;
    sc->approval_timeout_ms = cfg->approval_timeout_ms;
    x->hooks.deliver = NULL;
    x->hooks.deliver_ud = NULL;
}
