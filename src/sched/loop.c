/* loop.c - the CronScheduler tick loop (SPEC §5): `for(;;) { wake =
 * tick(now); wait(wake); }`. The clock is read once per tick and passed
 * down; fires are claimed a little ahead of their instant (claim.c) and
 * held in a timer heap, so a run starts at its instant (dispatch.c); the
 * loop thread never writes on the dispatch path (record.c does). */
#include "sched/sched_int.h"
#include "symbi/policy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CANCEL_GRACE_MS 500
/* how long one store operation of the loop thread waits for a lock */
#define LOOP_LOCK_WAIT_MS 200

void symbi_sched_config_init(struct symbi_sched_config *c)
{
    memset(c, 0, sizeof *c);
    symbi_sched_policy_init(&c->policy);
    symbi_exec_config_init(&c->exec);
    c->tick_interval_ms = 1000;
    c->max_concurrent_jobs = 10;
    c->shutdown_timeout_ms = 30000;
    c->lease_ms = 15000;
    c->max_output_bytes = SYMBI_AGENT_DEFAULT_OUTPUT_MAX;
    c->kill_grace_ms = SYMBI_AGENT_KILL_GRACE_MS;
}

const char *symbi_sched_node(const struct symbi_sched *s)
{
    return s->node;
}

int64_t sched_wall(const struct symbi_sched *s)
{
    return s->clock->wall_ms(s->clock);
}

int64_t sched_mono(const struct symbi_sched *s)
{
    return s->clock->mono_ms(s->clock);
}

void sched_entry_free(struct sched_entry *e)
{
    if (e == NULL)
        return;
    symbi_run_cleanup(&e->run);
    symbi_agent_def_cleanup(&e->agent);
    symbi_job_cleanup(&e->job);
    symbi_run_cleanup(&e->out);
    free(e);
}

void sched_list_push(struct sched_entry **head, struct sched_entry **tail, struct sched_entry *e)
{
    e->next = NULL;
    if (*tail != NULL)
        (*tail)->next = e;
    else
        *head = e;
    *tail = e;
}

void sched_signal(struct symbi_sched *s, bool refresh)
{
    pthread_mutex_lock(&s->lock);
    s->woken = true;
    s->refresh |= refresh;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* ---- the tick ---- */

static void apply_pending_config(struct symbi_sched *s)
{
    pthread_mutex_lock(&s->lock);
    bool have = s->have_pending_cfg, have_exec = s->have_pending_exec;
    struct symbi_sched_config c = s->pending_cfg;
    s->have_pending_cfg = false;
    s->have_pending_exec = false;
    pthread_mutex_unlock(&s->lock);
    if (!have)
        return;
    s->cfg.policy = c.policy;
    s->planner.policy = c.policy;
    pthread_mutex_lock(&s->rq_lock);
    s->rpolicy = c.policy;
    pthread_mutex_unlock(&s->rq_lock);
    s->cfg.tick_interval_ms = c.tick_interval_ms > 0 ? c.tick_interval_ms : 1000;
    s->cfg.max_concurrent_jobs = c.max_concurrent_jobs > 0 ? c.max_concurrent_jobs : 1;
    s->cfg.shutdown_timeout_ms = c.shutdown_timeout_ms;
    s->cfg.approval_timeout_ms = c.approval_timeout_ms;
    pthread_mutex_lock(&s->exec_lock);
    s->cfg.max_output_bytes = c.max_output_bytes;
    if (c.kill_grace_ms > 0)
        s->cfg.kill_grace_ms = c.kill_grace_ms;
    if (have_exec) {
        /* environment and data_dir stay those of the start (the context
         * files' place); gate, delivery, endpoint and bound are the new */
        s->cfg.exec.hooks = c.exec.hooks;
        s->cfg.exec.llm_endpoint = c.exec.llm_endpoint;
        s->cfg.exec.context_max_bytes = c.exec.context_max_bytes;
    }
    pthread_mutex_unlock(&s->exec_lock);
    sched_add_workers(s, s->cfg.max_concurrent_jobs);
    symbi_log(SYMBI_LOG_INFO, "scheduler",
              "configuration applied tick_ms=%lld max_concurrent_jobs=%d max_jitter_ms=%lld",
              (long long)s->cfg.tick_interval_ms, s->cfg.max_concurrent_jobs,
              (long long)s->cfg.policy.max_jitter_ms);
}

/* Denies the runs left pending_approval past their approval timeout (SPEC
 * §8.1), at most once a second. */
static void expire_approvals(struct symbi_sched *s, int64_t now)
{
    if (now - s->approvals_checked < 1000 && now >= s->approvals_checked)
        return;
    s->approvals_checked = now;
    size_t n = 0;
    struct symbi_err err = {0};
    if (symbi_policy_expire_approvals(s->st, s->cfg.approval_timeout_ms, now, &n, &err) != 0)
        symbi_log(SYMBI_LOG_WARN, "policy", "approval timeouts: %s", err.msg);
    else if (n > 0)
        symbi_log(SYMBI_LOG_INFO, "policy",
                  "denied %zu run(s) unanswered past their approval timeout", n);
}

int64_t sched_tick(struct symbi_sched *s, int64_t now, int64_t mono)
{
    /* a lease gone stale (the loop stalled, the store was away, the wall
     * clock stepped past its end) is renewed before anything starts or is
     * claimed; otherwise the renewal follows the dispatch */
    if (!sched_lease_held(s, mono) || sched_lease_lapsed(s, now))
        sched_lease_renew(s, now, mono, true);
    sched_run_due(s, now);
    sched_lease_renew(s, now, mono, false);
    sched_recover_due(s, now, mono);
    apply_pending_config(s);
    pthread_mutex_lock(&s->lock);
    bool refresh = s->refresh;
    s->refresh = false;
    s->stats.ticks++;
    int64_t retry_due = s->retry_due;
    if (retry_due != SYMBI_TIME_NONE && retry_due <= now)
        s->retry_due = SYMBI_TIME_NONE;
    pthread_mutex_unlock(&s->lock);
    bool force = refresh || (retry_due != SYMBI_TIME_NONE && retry_due <= now);
    if (force || now >= s->claim_at) {
        int64_t mark = 0;
        if (symbi_store_change_mark(s->st, &mark) == 0 && mark != s->change_mark) {
            s->change_mark = mark;
            refresh = true;
        }
        if (refresh)
            sched_agents_clear(s);
        sched_claim(s, now, mono, force);
        /* runs the claim made due at this instant start now */
        sched_run_due(s, now);
    }
    sched_set_in_flight_stats(s);
    expire_approvals(s, now);

    int64_t wake = s->claim_at;
    if (s->claim_after_mono > mono && now + (s->claim_after_mono - mono) > wake)
        wake = now + (s->claim_after_mono - mono); /* backing off */
    if (wake > now + s->cfg.tick_interval_ms)
        wake = now + s->cfg.tick_interval_ms;
    pthread_mutex_lock(&s->lock);
    if (s->retry_due != SYMBI_TIME_NONE && s->retry_due < wake)
        wake = s->retry_due;
    pthread_mutex_unlock(&s->lock);
    struct sched_entry *t = sched_heap_top(&s->timers);
    if (t != NULL && t->run.due_at < wake)
        wake = t->run.due_at;
    return wake;
}

/* Sleeps until the wall instant `wake_at` or a wake-up. */
static void sleep_until(struct symbi_sched *s, int64_t wake_at)
{
    int64_t delta_ms = wake_at - sched_wall(s);
    pthread_mutex_lock(&s->lock);
    if (delta_ms > 0 && !s->woken && !s->stopping) {
        struct timespec until;
        symbi_mono_deadline(delta_ms, &until);
        while (!s->woken && !s->stopping)
            if (pthread_cond_timedwait(&s->cond, &s->lock, &until) == ETIMEDOUT)
                break;
    }
    s->woken = false;
    pthread_mutex_unlock(&s->lock);
}

/* The stop's ordering: give back, wait for the running, then the
 * recorder's flush (each step bounded by shutdown_timeout_ms). */
static void shutdown_runs(struct symbi_sched *s)
{
    int64_t bound = s->cfg.shutdown_timeout_ms > 1000 ? s->cfg.shutdown_timeout_ms : 1000;
    sched_give_back(s, sched_mono(s) + bound);
    int64_t deadline = sched_mono(s) + s->cfg.shutdown_timeout_ms;
    if (s->running > 0)
        symbi_log(SYMBI_LOG_INFO, "scheduler", "waiting for runs in_flight=%d timeout_ms=%lld",
                  s->running, (long long)s->cfg.shutdown_timeout_ms);
    bool cancelled = false;
    while (sched_shutdown_poll(s, deadline, &cancelled) > 0) {
        int64_t now = sched_wall(s), mono = sched_mono(s);
        sched_lease_renew(s, now, mono, false);
        int64_t left = cancelled ? 100 : deadline - mono;
        sleep_until(s, now + (left < 100 ? left : 100));
    }
    sched_stop_workers(s);
    sched_recorder_stop(s, sched_mono(s) + bound);
}

static void *loop_main(void *arg)
{
    struct symbi_sched *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        bool stop = s->stopping;
        pthread_mutex_unlock(&s->lock);
        if (stop)
            break;
        /* a wake-up by a finishing worker only frees a slot: the tick
         * starts the next run without claiming unless a claim is due */
        sleep_until(s, sched_tick(s, sched_wall(s), sched_mono(s)));
    }
    shutdown_runs(s);
    struct symbi_err err;
    if (symbi_store_node_remove(s->st, s->node, &err) != 0)
        symbi_log(SYMBI_LOG_WARN, "scheduler", "removing node %s failed: %s", s->node, err.msg);
    pthread_mutex_lock(&s->lock);
    s->stats.running = false;
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ---- public ---- */

int symbi_sched_new(const struct symbi_sched_config *cfg, struct symbi_sched **out,
                    struct symbi_err *err)
{
    if (cfg->store_url == NULL || cfg->node == NULL || cfg->next_fire == NULL)
        return symbi_err_set(err, SYMBI_EINVAL, "scheduler: store_url, node and next_fire needed");
    struct symbi_sched *s = calloc(1, sizeof *s);
    if (s == NULL)
        return symbi_err_set(err, SYMBI_ENOMEM, "scheduler: out of memory");
    s->cfg = *cfg;
    s->store_url = symbi_strdup(cfg->store_url);
    s->node = symbi_strdup(cfg->node);
    s->environment = symbi_strdup(cfg->environment ? cfg->environment : "development");
    s->data_dir = cfg->data_dir ? symbi_strdup(cfg->data_dir) : NULL;
    s->exec_environment = symbi_strdup(cfg->exec.environment);
    s->exec_data_dir = symbi_strdup(cfg->exec.data_dir);
    s->exec_llm_endpoint = symbi_strdup(cfg->exec.llm_endpoint);
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->exec_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &ca);
    /* the recorder's back-off and the start marks' waits: immune to wall steps */
    pthread_cond_init(&s->rq_cond, &ca);
    pthread_cond_init(&s->start_cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&s->wq_lock, NULL);
    pthread_cond_init(&s->wq_cond, NULL);
    pthread_mutex_init(&s->rq_lock, NULL);
    pthread_mutex_init(&s->journal.mu, NULL);
    if (s->store_url == NULL || s->node == NULL || s->environment == NULL ||
        (cfg->exec.environment != NULL && s->exec_environment == NULL) ||
        (cfg->exec.data_dir != NULL && s->exec_data_dir == NULL) ||
        (cfg->exec.llm_endpoint != NULL && s->exec_llm_endpoint == NULL) ||
        symbi_exec_pool_new(s->store_url, SCHED_POOL_HANDLES, &s->pool, err) != 0) {
        symbi_sched_free(s);
        return symbi_err_set(err, SYMBI_ENOMEM, "scheduler: out of memory");
    }
    s->cfg.store_url = s->store_url;
    s->cfg.node = s->node;
    s->cfg.environment = s->environment;
    s->cfg.data_dir = s->data_dir;
    s->cfg.exec.environment = s->exec_environment;
    s->cfg.exec.data_dir = s->exec_data_dir;
    s->cfg.exec.llm_endpoint = s->exec_llm_endpoint;
    s->clock = cfg->clock != NULL ? cfg->clock : &symbi_clock_system;
    s->cfg.clock = s->clock;
    if (s->cfg.tick_interval_ms <= 0)
        s->cfg.tick_interval_ms = 1000;
    if (s->cfg.max_concurrent_jobs <= 0)
        s->cfg.max_concurrent_jobs = 1;
    if (s->cfg.lease_ms <= 0)
        s->cfg.lease_ms = 15000;
    symbi_agent_cancel_init(&s->cancel, CANCEL_GRACE_MS);
    sched_heap_init(&s->timers);
    sched_heap_init(&s->ready);
    sched_counts_init(&s->counts);
    s->planner.policy = s->cfg.policy;
    s->planner.next_fire = s->cfg.next_fire;
    if (symbi_random_bytes(&s->planner.rng, sizeof s->planner.rng) != 0)
        s->planner.rng = (uint64_t)symbi_now_mono_ms() ^ 0x5DEECE66DULL;
    s->retry_due = SYMBI_TIME_NONE;
    s->change_mark = -1;
    s->claim_at = INT64_MIN;
    s->lease_ok_mono = INT64_MIN;
    s->lease_until = INT64_MIN;
    s->stats.store_writable = true;
    s->stats.store_failing_since = SYMBI_TIME_NONE;
    *out = s;
    return 0;
}

int symbi_sched_start(struct symbi_sched *s, struct symbi_err *err)
{
    int rc = symbi_store_open(s->store_url, &s->st, err);
    if (rc != 0)
        return rc;
    s->start_first = symbi_store_shared(s->st);
    int64_t now = sched_wall(s);
    s->started_mono = sched_mono(s);
    if (getenv("SYMBI_DEBUG_KILL_AFTER_START") != NULL)
        symbi_log(SYMBI_LOG_WARN, "scheduler",
                  "SYMBI_DEBUG_KILL_AFTER_START is set: this process kills itself after that "
                  "many agent starts (a test knob, docs/cluster.md)");
    sched_kill_orphans(s);
    /* a previous incarnation of this node (same name: the caller holds the
     * node's lock) is dead: its lease ends now */
    rc = symbi_store_node_heartbeat(s->st, s->node, now, -1, err);
    if (rc == 0)
        sched_recover(s, now);
    if (rc == 0)
        rc = symbi_store_node_lease(s->st, s->node, now, s->cfg.lease_ms, &s->epoch, err);
    s->lease_ok_mono = s->started_mono;
    s->lease_until = now + s->cfg.lease_ms;
    s->stats.lease_epoch = s->epoch;
    /* from now on the loop thread waits briefly for a store locked by
     * another process, then backs off: the runs it already claimed start
     * at their instants meanwhile (recovery above could wait longer) */
    symbi_store_set_lock_wait(s->st, LOOP_LOCK_WAIT_MS);
    if (rc == 0 && sched_journal_open(s) != 0)
        rc = symbi_err_set(err, SYMBI_EIO, "scheduler: cannot open %s/running/started.*",
                           s->data_dir);
    if (rc == 0)
        rc = sched_recorder_start(s, err);
    if (rc == 0 && sched_add_workers(s, s->cfg.max_concurrent_jobs) != 0)
        rc = symbi_err_set(err, SYMBI_ENOMEM, "scheduler: cannot start the workers");
    if (rc == 0) {
        s->stats.running = true;
        s->next_heartbeat_mono = sched_mono(s) + s->cfg.tick_interval_ms;
        if (pthread_create(&s->loop_thread, NULL, loop_main, s) != 0)
            rc = symbi_err_set(err, SYMBI_ENOMEM, "scheduler: cannot start the loop thread");
    }
    if (rc != 0) {
        s->stats.running = false;
        sched_stop_workers(s);
        sched_recorder_stop(s, sched_mono(s));
        symbi_store_close(s->st);
        s->st = NULL;
        return rc;
    }
    s->started = true;
    sched_notify_start(s);
    (void)symbi_pruner_start(s->store_url, &s->cfg.retention, s->cfg.prune_interval_ms, &s->pruner);
    return 0;
}

void symbi_sched_wake(struct symbi_sched *s)
{
    sched_signal(s, true);
}

void symbi_sched_reconfigure(struct symbi_sched *s, const struct symbi_sched_config *cfg)
{
    /* the caller's strings last until its next reload: ours are copies */
    struct sched_exec_gen *g = calloc(1, sizeof *g);
    if (g != NULL && cfg->exec.llm_endpoint != NULL &&
        (g->llm_endpoint = symbi_strdup(cfg->exec.llm_endpoint)) == NULL) {
        free(g);
        g = NULL;
    }
    if (g == NULL)
        symbi_log(SYMBI_LOG_ERROR, "scheduler",
                  "reload: out of memory, the executor keeps its settings");
    pthread_mutex_lock(&s->lock);
    s->pending_cfg = *cfg;
    s->have_pending_cfg = true;
    if (g != NULL) {
        g->prev = s->exec_gens;
        s->exec_gens = g;
        s->pending_cfg.exec.llm_endpoint = g->llm_endpoint;
        s->have_pending_exec = true;
    }
    s->woken = true;
    s->refresh = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

void symbi_sched_stop(struct symbi_sched *s)
{
    if (s == NULL || !s->started || s->stopped)
        return;
    symbi_pruner_stop(s->pruner);
    s->pruner = NULL;
    sched_notify_stop(s);
    if (s->stepped) {
        s->stopped = true;
        return;
    }
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->loop_thread, NULL);
    s->stopped = true;
}

void symbi_sched_free(struct symbi_sched *s)
{
    if (s == NULL)
        return;
    symbi_sched_stop(s);
    if (s->stepped) {
        /* what a test left: started runs executed, outcomes written */
        sched_work_run(s, INT32_MAX);
        sched_drain_done(s);
        sched_recorder_flush(s);
        symbi_store_close(s->rst);
        s->rst = NULL;
        for (struct sched_entry *e; (e = sched_heap_pop(&s->ready)) != NULL;)
            sched_entry_free(e);
        for (struct sched_entry *e; (e = sched_heap_pop(&s->timers)) != NULL;)
            sched_entry_free(e);
    }
    sched_agents_clear(s);
    sched_infos_clear(s);
    free(s->infos);
    sched_heap_cleanup(&s->timers);
    sched_heap_cleanup(&s->ready);
    sched_counts_cleanup(&s->counts);
    symbi_store_close(s->st);
    symbi_exec_pool_free(s->pool);
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->exec_lock);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->wq_lock);
    pthread_cond_destroy(&s->wq_cond);
    pthread_mutex_destroy(&s->rq_lock);
    sched_journal_close(s);
    pthread_mutex_destroy(&s->journal.mu);
    pthread_cond_destroy(&s->rq_cond);
    pthread_cond_destroy(&s->start_cond);
    free(s->store_url);
    free(s->node);
    free(s->environment);
    free(s->data_dir);
    free(s->noted);
    free(s->exec_environment);
    free(s->exec_data_dir);
    free(s->exec_llm_endpoint);
    for (struct sched_exec_gen *g = s->exec_gens, *prev; g != NULL; g = prev) {
        prev = g->prev;
        free(g->llm_endpoint);
        free(g);
    }
    free(s);
}

void symbi_sched_get_stats(struct symbi_sched *s, struct symbi_sched_stats *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->stats;
    pthread_mutex_unlock(&s->lock);
    out->uptime_ms = s->started ? sched_mono(s) - s->started_mono : 0;
    pthread_mutex_lock(&s->rq_lock);
    out->unwritten = s->rec_queued;
    pthread_mutex_unlock(&s->rq_lock);
}
