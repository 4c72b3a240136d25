/* loop.c - the CronScheduler tick loop (SPEC §5): `for(;;) { tick(now);
 * wait(until the next due instant, queued due_at, tick or wake-up); }`.
 * One loop thread owns the store handle and every write; a worker pool
 * only executes agents, so runs never contend for the database. */
#include "sched/sched_int.h"

#include "symbi/metrics.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CLAIM_LIMIT     1000
#define MAX_WORKERS     1024
#define CANCEL_GRACE_MS 500

/* what a claimed run needs of its job, noted by the planner during the
 * claim so that adopting the runs reads nothing back from the store */
struct jobinfo {
    char id[SYMBI_UUID_LEN + 1];
    struct symbi_job job; /* the fields entry_from_job reads */
};

struct symbi_sched {
    struct symbi_sched_config cfg; /* strings below are our copies */
    char *store_url, *node, *environment, *data_dir;

    pthread_mutex_t lock; /* guards everything down to `stats` */
    pthread_cond_t cond;  /* the loop sleeps on it (CLOCK_MONOTONIC) */
    bool woken, refresh, stopping, started, stopped;
    struct sched_entry *done_head, *done_tail;
    struct symbi_sched_stats stats;
    int64_t exec_ms_total;
    struct symbi_sched_config pending_cfg;
    bool have_pending_cfg;

    pthread_mutex_t wq_lock; /* the workers' queue */
    pthread_cond_t wq_cond;
    struct sched_entry *work_head, *work_tail;
    bool wq_quit;
    pthread_t workers[MAX_WORKERS];
    int n_workers;

    pthread_t loop_thread;
    struct symbi_agent_cancel cancel;

    /* owned by the loop thread */
    struct symbi_store *st;
    struct sched_heap timers; /* claimed, due later (jitter, retries) */
    struct sched_heap ready;  /* due, waiting for a slot */
    struct sched_counts counts;
    struct symbi_sched_planner planner;
    int running;
    uint64_t seq;
    int64_t change_mark;
    int64_t next_heartbeat_mono;
    int64_t retry_due; /* earliest queued retry we inserted */
    int64_t started_mono;
    struct jobinfo *infos; /* this claim's jobs */
    size_t n_infos, cap_infos, info_cursor;
    /* agent definitions by name, dropped when the store changes */
    struct symbi_agent_def *agents;
    size_t n_agents;
};

void symbi_sched_config_init(struct symbi_sched_config *c)
{
    memset(c, 0, sizeof *c);
    symbi_sched_policy_init(&c->policy);
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

/* ---- entries ---- */

static void entry_free(struct sched_entry *e)
{
    if (e == NULL)
        return;
    symbi_run_cleanup(&e->run);
    free(e->session_mode);
    symbi_agent_def_cleanup(&e->agent);
    symbi_agent_result_cleanup(&e->res);
    free(e);
}

static void list_push(struct sched_entry **head, struct sched_entry **tail, struct sched_entry *e)
{
    e->next = NULL;
    if (*tail != NULL)
        (*tail)->next = e;
    else
        *head = e;
    *tail = e;
}

/* max_runtime of a policy JSON object ({"max_runtime": "30m"}); -1 if none */
static int64_t policy_max_runtime(const char *policy)
{
    if (policy == NULL || policy[0] == '\0')
        return -1;
    json_t *o = json_loads(policy, 0, NULL);
    int64_t ms = -1;
    json_t *v = json_object_get(o, "max_runtime");
    if (json_is_string(v))
        symbi_parse_duration_ms(json_string_value(v), &ms);
    else if (json_is_integer(v) && json_integer_value(v) > 0)
        ms = json_integer_value(v) * 1000;
    json_decref(o);
    return ms;
}

/* ---- agents cache ---- */

static void agents_clear(struct symbi_sched *s)
{
    for (size_t i = 0; i < s->n_agents; i++)
        symbi_agent_def_cleanup(&s->agents[i]);
    free(s->agents);
    s->agents = NULL;
    s->n_agents = 0;
}

/* Copies the agent `name` into *out; false when unknown. */
static bool agent_lookup(struct symbi_sched *s, const char *name, struct symbi_agent_def *out)
{
    symbi_agent_def_init(out);
    if (name == NULL)
        return false;
    for (size_t i = 0; i < s->n_agents; i++)
        if (s->agents[i].name != NULL && strcmp(s->agents[i].name, name) == 0)
            return symbi_agent_def_copy(out, &s->agents[i]) == 0;
    struct symbi_agent_def a;
    struct symbi_err err;
    if (symbi_store_agent_get(s->st, name, &a, &err) != 0)
        return false;
    if (s->n_agents < 4096) {
        struct symbi_agent_def *v = realloc(s->agents, (s->n_agents + 1) * sizeof *v);
        if (v != NULL) {
            s->agents = v;
            if (symbi_agent_def_copy(&s->agents[s->n_agents], &a) == 0)
                s->n_agents++;
        }
    }
    bool ok = symbi_agent_def_copy(out, &a) == 0;
    symbi_agent_def_cleanup(&a);
    return ok;
}

/* ---- per-job counters ---- */

static int planner_in_flight(void *ctx, const char *job_id)
{
    struct symbi_sched *s = ctx;
    struct sched_count *c = sched_counts_get(&s->counts, job_id, false);
    return c != NULL ? c->in_flight : 0;
}

static void count_in(struct symbi_sched *s, struct sched_entry *e)
{
    struct sched_count *c = sched_counts_get(&s->counts, e->run.job_id, true);
    if (c != NULL) {
        c->in_flight++;
        e->counted = true;
    }
}

static void count_out(struct symbi_sched *s, struct sched_entry *e, bool was_running)
{
    struct sched_count *c = sched_counts_get(&s->counts, e->run.job_id, false);
    if (c == NULL)
        return;
    if (e->counted && c->in_flight > 0)
        c->in_flight--;
    if (was_running && c->running > 0)
        c->running--;
    e->counted = false;
    sched_counts_release(&s->counts, e->run.job_id);
}

/* ---- claiming ---- */

/* Fills the job-derived fields of e from job. */
static int entry_from_job(struct symbi_sched *s, struct sched_entry *e, const struct symbi_job *job)
{
    e->max_concurrent = job->max_concurrent > 0 ? job->max_concurrent : 1;
    e->starting_deadline_ms = job->starting_deadline_ms;
    e->max_runtime_ms = policy_max_runtime(job->policy);
    e->session_mode = symbi_strdup(symbi_session_mode_name(job->session_mode));
    if (e->run.job_name == NULL)
        symbi_set_str(&e->run.job_name, job->name);
    if (e->run.agent == NULL)
        symbi_set_str(&e->run.agent, job->agent);
    e->have_agent = agent_lookup(s, job->agent, &e->agent);
    return e->session_mode != NULL ? 0 : SYMBI_ENOMEM;
}

static void infos_clear(struct symbi_sched *s)
{
    for (size_t i = 0; i < s->n_infos; i++)
        symbi_job_cleanup(&s->infos[i].job);
    s->n_infos = 0;
    s->info_cursor = 0;
}

/* the symbi_fire_planner given to the store: the pure plan, plus a note of
 * the job for the runs it queues */
static int plan_and_note(void *ud, const struct symbi_job *job, int64_t now,
                         struct symbi_fire_plan *plan)
{
    struct symbi_sched *s = ud;
    int rc = symbi_sched_plan(&s->planner, job, now, plan);
    if (rc != 0)
        return rc;
    bool queued = false;
    for (size_t i = 0; i < plan->n_runs; i++)
        queued |= plan->runs[i].status == SYMBI_RUN_QUEUED;
    if (!queued)
        return 0;
    if (s->n_infos == s->cap_infos) {
        size_t cap = s->cap_infos ? s->cap_infos * 2 : 64;
        struct jobinfo *v = realloc(s->infos, cap * sizeof *v);
        if (v == NULL)
            return 0; /* adopt_runs reads the job instead */
        s->infos = v;
        s->cap_infos = cap;
    }
    struct jobinfo *ji = &s->infos[s->n_infos];
    symbi_job_init(&ji->job);
    snprintf(ji->id, sizeof ji->id, "%s", job->id);
    ji->job.max_concurrent = job->max_concurrent;
    ji->job.starting_deadline_ms = job->starting_deadline_ms;
    ji->job.session_mode = job->session_mode;
    if (symbi_set_str(&ji->job.policy, job->policy) != 0 ||
        symbi_set_str(&ji->job.name, job->name) != 0 ||
        symbi_set_str(&ji->job.agent, job->agent) != 0) {
        symbi_job_cleanup(&ji->job);
        return 0;
    }
    s->n_infos++;
    return 0;
}

static const struct symbi_job *info_find(struct symbi_sched *s, const char *job_id)
{
    for (size_t k = 0; k < s->n_infos; k++) {
        size_t i = (s->info_cursor + k) % s->n_infos;
        if (strcmp(s->infos[i].id, job_id) == 0) {
            s->info_cursor = i;
            return &s->infos[i].job;
        }
    }
    return NULL;
}

/* Takes the claimed runs (their array is freed here) into the heaps. The
 * jobs of the runs come from the planner's notes, else the store. */
static void adopt_runs(struct symbi_sched *s, struct symbi_run *runs, size_t n, int64_t now)
{
    struct symbi_job job;
    char last_id[SYMBI_UUID_LEN + 1] = "";
    bool have_job = false;
    symbi_job_init(&job);
    for (size_t i = 0; i < n; i++) {
        struct sched_entry *e = calloc(1, sizeof *e);
        if (e == NULL) {
            symbi_run_cleanup(&runs[i]);
            continue;
        }
        e->run = runs[i]; /* moves the strings */
        symbi_agent_def_init(&e->agent);
        symbi_agent_result_init(&e->res);
        e->seq = s->seq++;
        const struct symbi_job *noted = info_find(s, e->run.job_id);
        if (noted != NULL) {
            entry_from_job(s, e, noted);
        } else if (strcmp(last_id, e->run.job_id) != 0) {
            struct symbi_err err;
            symbi_job_cleanup(&job);
            have_job = symbi_store_job_get(s->st, e->run.job_id, &job, &err) == 0;
            if (!have_job)
                symbi_log(SYMBI_LOG_WARN, "scheduler", "run %s: job %s unreadable: %s", e->run.id,
                          e->run.job_id, err.msg);
            snprintf(last_id, sizeof last_id, "%s", e->run.job_id);
        }
        if (noted == NULL && have_job)
            entry_from_job(s, e, &job);
        else if (noted == NULL)
            e->max_concurrent = 1;
        if (e->run.due_at == SYMBI_TIME_NONE)
            e->run.due_at = e->run.scheduled_at;
        if (e->run.due_at > now) {
            sched_heap_push(&s->timers, e);
        } else {
            count_in(s, e);
            sched_heap_push(&s->ready, e);
        }
    }
    symbi_job_cleanup(&job);
    free(runs);
}

static void claim(struct symbi_sched *s, int64_t now)
{
    struct symbi_run *runs = NULL;
    size_t n = 0;
    struct symbi_err err;
    infos_clear(s);
    int rc =
        symbi_store_claim_due(s->st, now, CLAIM_LIMIT, s->node, plan_and_note, s, &runs, &n, &err);
    if (rc != 0) {
        symbi_log(SYMBI_LOG_ERROR, "scheduler", "claim failed: %s", err.msg);
        infos_clear(s);
        return;
    }
    /* the planner only read the per-job counters; the queued runs are
     * counted as they enter the ready heap */
    adopt_runs(s, runs, n, now);
    infos_clear(s);
    runs = NULL;
    n = 0;
    rc = symbi_store_claim_queued(s->st, now, CLAIM_LIMIT, s->node, &runs, &n, &err);
    if (rc != 0) {
        symbi_log(SYMBI_LOG_ERROR, "scheduler", "claim of queued runs failed: %s", err.msg);
        return;
    }
    if (n > 0)
        symbi_log(SYMBI_LOG_DEBUG, "scheduler", "picked up queued runs n=%zu", n);
    adopt_runs(s, runs, n, now);
}

/* ---- starting runs ---- */

static void record(struct symbi_sched *s, const struct symbi_run *run)
{
    struct symbi_err err;
    if (symbi_store_run_update(s->st, run, &err) != 0)
        symbi_log(SYMBI_LOG_ERROR, "scheduler", "recording run %s failed: %s", run->id, err.msg);
}

static void set_in_flight_stats(struct symbi_sched *s)
{
    pthread_mutex_lock(&s->lock);
    s->stats.in_flight = s->running;
    s->stats.queued = (int64_t)(s->ready.n + s->timers.n);
    pthread_mutex_unlock(&s->lock);
    symbi_metrics_set_in_flight(s->running);
}

static void start_run(struct symbi_sched *s, struct sched_entry *e, int64_t now)
{
    e->run.status = SYMBI_RUN_RUNNING;
    e->run.started_at = now;
    symbi_set_str(&e->run.node, s->node);
    struct sched_count *c = sched_counts_get(&s->counts, e->run.job_id, true);
    if (c != NULL)
        c->running++;
    s->running++;
    int64_t lag = now - e->run.scheduled_at - e->run.jitter_ms;
    if (e->run.trigger == SYMBI_TRIGGER_SCHEDULE) {
        symbi_metrics_schedule_lag((double)(lag < 0 ? 0 : lag) / 1000.0);
        pthread_mutex_lock(&s->lock);
        s->stats.last_lag_ms = lag;
        pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_lock(&s->wq_lock);
    list_push(&s->work_head, &s->work_tail, e);
    pthread_cond_signal(&s->wq_cond);
    pthread_mutex_unlock(&s->wq_lock);
}

/* Starts ready runs in due order while global slots are free; a run whose
 * job is at max_concurrent waits without blocking the others. */
static void dispatch(struct symbi_sched *s)
{
    struct sched_entry *held[256];
    size_t n_held = 0;
    struct sched_entry *started[1024];
    size_t n_started = 0;
    int limit = s->cfg.max_concurrent_jobs > 0 ? s->cfg.max_concurrent_jobs : 1;
    while (s->running < limit && s->ready.n > 0 && n_started < SYMBI_ARRAY_LEN(started)) {
        struct sched_entry *e = sched_heap_pop(&s->ready);
        int64_t now = symbi_now_wall_ms();
        if (e->starting_deadline_ms >= 0 && e->run.trigger == SYMBI_TRIGGER_SCHEDULE &&
            now - e->run.scheduled_at > e->starting_deadline_ms) {
            e->run.status = SYMBI_RUN_MISSED;
            symbi_set_str(&e->run.error_message,
                          "missed: waited for a slot past its starting_deadline");
            record(s, &e->run);
            count_out(s, e, false);
            entry_free(e);
            continue;
        }
        struct sched_count *c = sched_counts_get(&s->counts, e->run.job_id, false);
        if (c != NULL && c->running >= e->max_concurrent) {
            if (n_held < SYMBI_ARRAY_LEN(held)) {
                held[n_held++] = e;
                continue;
            }
            sched_heap_push(&s->ready, e);
            break;
        }
        start_run(s, e, now);
        started[n_started++] = e;
    }
    for (size_t i = 0; i < n_held; i++)
        sched_heap_push(&s->ready, held[i]);
    /* persist `running` after the agents are on their way; a run that
     * already finished is recorded once, with its outcome */
    for (size_t i = 0; i < n_started; i++) {
        struct sched_entry *e = started[i];
        if (!atomic_load(&e->done)) {
            record(s, &e->run);
            e->running_written = true;
        }
    }
    if (n_started > 0)
        set_in_flight_stats(s);
}

/* ---- finishing runs ---- */

static void finish(struct symbi_sched *s, struct sched_entry *e, int64_t now)
{
    struct symbi_run *r = &e->run;
    struct symbi_agent_result *res = &e->res;
    r->status = res->status;
    r->finished_at = e->finished_wall;
    r->execution_time_ms = res->execution_ms;
    free(r->output);
    r->output = res->output;
    res->output = NULL;
    r->output_truncated = res->output_truncated;
    free(r->stderr_text);
    r->stderr_text = res->stderr_text;
    res->stderr_text = NULL;
    free(r->summary);
    r->summary = res->summary;
    res->summary = NULL;
    free(r->error_message);
    r->error_message = res->error_message;
    res->error_message = NULL;
    r->has_exit_code = res->has_exit_code;
    r->exit_code = res->exit_code;

    struct symbi_retry_decision d;
    memset(&d, 0, sizeof d);
    d.max_retries = s->cfg.policy.default_max_retries;
    struct symbi_run retry;
    bool have_retry = false;
    struct symbi_err err;
    if (r->status != SYMBI_RUN_SUCCEEDED) {
        struct symbi_job job;
        if (symbi_store_job_get(s->st, r->job_id, &job, &err) == 0) {
            symbi_sched_decide(&s->cfg.policy, &job, r, now, &d);
            symbi_job_cleanup(&job);
        } else {
            d.counts_as_failure = r->status == SYMBI_RUN_FAILED || r->status == SYMBI_RUN_TIMED_OUT;
        }
        if (d.retry && symbi_sched_make_retry(r, d.due_at, &retry) == 0)
            have_retry = true;
    }
    bool dead = false;
    struct symbi_run_outcome o = {
        .run = r,
        .counts_as_failure = d.counts_as_failure,
        .max_retries = d.max_retries,
        .retry = have_retry ? &retry : NULL,
        .dead_lettered = &dead,
    };
    if (symbi_store_run_finish(s->st, &o, now, &err) != 0)
        symbi_log(SYMBI_LOG_ERROR, "scheduler", "recording the outcome of run %s failed: %s", r->id,
                  err.msg);
    if (have_retry) {
        if (s->retry_due == SYMBI_TIME_NONE || retry.due_at < s->retry_due)
            s->retry_due = retry.due_at;
        symbi_run_cleanup(&retry);
    }
    const char *status = symbi_run_status_name(r->status);
    symbi_metrics_run_finished(r->job_name ? r->job_name : "", status,
                               (double)r->execution_time_ms / 1000.0);
    if (dead) {
        symbi_metrics_dead_lettered(r->job_name ? r->job_name : "");
        symbi_log(SYMBI_LOG_WARN, "scheduler",
                  "job moved to dead letter job=%s failures=%d (max_retries)",
                  r->job_name ? r->job_name : r->job_id, d.max_retries);
    }
    if (r->status == SYMBI_RUN_SUCCEEDED)
        symbi_log(SYMBI_LOG_DEBUG, "scheduler", "run succeeded job=%s run=%s ms=%lld",
                  r->job_name ? r->job_name : "", r->id, (long long)r->execution_time_ms);
    else
        symbi_log(SYMBI_LOG_WARN, "scheduler", "run %s job=%s run=%s attempt=%d error=\"%s\"%s",
                  status, r->job_name ? r->job_name : "", r->id, r->attempt,
                  r->error_message ? r->error_message : "", have_retry ? " retry=queued" : "");
    pthread_mutex_lock(&s->lock);
    s->stats.runs_total++;
    if (r->status == SYMBI_RUN_SUCCEEDED)
        s->stats.runs_succeeded++;
    else if (d.counts_as_failure)
        s->stats.runs_failed++;
    s->exec_ms_total += r->execution_time_ms;
    s->stats.avg_execution_ms = s->exec_ms_total / s->stats.runs_total;
    pthread_mutex_unlock(&s->lock);
    s->running--;
    count_out(s, e, true);
    entry_free(e);
}

static int drain_done(struct symbi_sched *s, int64_t now)
{
    pthread_mutex_lock(&s->lock);
    struct sched_entry *e = s->done_head;
    s->done_head = s->done_tail = NULL;
    pthread_mutex_unlock(&s->lock);
    int n = 0;
    while (e != NULL) {
        struct sched_entry *next = e->next;
        finish(s, e, now);
        e = next;
        n++;
    }
    if (n > 0)
        set_in_flight_stats(s);
    return n;
}

/* ---- workers ---- */

static void *worker_main(void *arg)
{
    struct symbi_sched *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->wq_lock);
        while (s->work_head == NULL && !s->wq_quit)
            pthread_cond_wait(&s->wq_cond, &s->wq_lock);
        struct sched_entry *e = s->work_head;
        if (e == NULL) {
            pthread_mutex_unlock(&s->wq_lock);
            return NULL;
        }
        s->work_head = e->next;
        if (s->work_head == NULL)
            s->work_tail = NULL;
        pthread_mutex_unlock(&s->wq_lock);

        struct symbi_agent_request req = {
            .agent = e->have_agent ? &e->agent : NULL,
            .agent_name = e->run.agent,
            .input = e->run.input,
            .job_id = e->run.job_id,
            .job_name = e->run.job_name,
            .run_id = e->run.id,
            .trigger = symbi_trigger_name(e->run.trigger),
            .scheduled_at = e->run.scheduled_at,
            .attempt = e->run.attempt,
            .session_mode = e->session_mode,
            .environment = s->environment,
            .max_runtime_ms = e->max_runtime_ms,
            .kill_grace_ms = s->cfg.kill_grace_ms,
            .max_output_bytes = (size_t)s->cfg.max_output_bytes,
            .cancel = &s->cancel,
        };
        struct symbi_err err;
        if (symbi_agent_execute(&req, &e->res, &err) != 0) {
            symbi_agent_result_init(&e->res);
            e->res.error_message = symbi_strdup(err.msg);
            e->res.status = SYMBI_RUN_FAILED;
        }
        e->finished_wall = symbi_now_wall_ms();
        atomic_store(&e->done, true);
        pthread_mutex_lock(&s->lock);
        list_push(&s->done_head, &s->done_tail, e);
        s->woken = true;
        pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->lock);
    }
}

static int add_workers(struct symbi_sched *s, int want)
{
    if (want > MAX_WORKERS)
        want = MAX_WORKERS;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    int rc = 0;
    while (s->n_workers < want) {
        if (pthread_create(&s->workers[s->n_workers], &attr, worker_main, s) != 0) {
            rc = SYMBI_ENOMEM;
            break;
        }
        s->n_workers++;
    }
    pthread_attr_destroy(&attr);
    return rc;
}

/* ---- the tick ---- */

static void heartbeat(struct symbi_sched *s, int64_t now)
{
    int64_t mono = symbi_now_mono_ms();
    if (mono < s->next_heartbeat_mono)
        return;
    struct symbi_err err;
    if (symbi_store_node_heartbeat(s->st, s->node, now, s->cfg.lease_ms, &err) != 0)
        symbi_log(SYMBI_LOG_ERROR, "scheduler", "lease renewal failed: %s", err.msg);
    int64_t every = s->cfg.tick_interval_ms;
    if (every > s->cfg.lease_ms / 3)
        every = s->cfg.lease_ms / 3;
    s->next_heartbeat_mono = mono + (every > 0 ? every : 1000);
}

static void apply_pending_config(struct symbi_sched *s)
{
    pthread_mutex_lock(&s->lock);
    bool have = s->have_pending_cfg;
    struct symbi_sched_config c = s->pending_cfg;
    s->have_pending_cfg = false;
    pthread_mutex_unlock(&s->lock);
    if (!have)
        return;
    s->cfg.policy = c.policy;
    s->planner.policy = c.policy;
    s->cfg.tick_interval_ms = c.tick_interval_ms > 0 ? c.tick_interval_ms : 1000;
    s->cfg.max_concurrent_jobs = c.max_concurrent_jobs > 0 ? c.max_concurrent_jobs : 1;
    s->cfg.shutdown_timeout_ms = c.shutdown_timeout_ms;
    s->cfg.max_output_bytes = c.max_output_bytes;
    add_workers(s, s->cfg.max_concurrent_jobs);
    symbi_log(SYMBI_LOG_INFO, "scheduler",
              "configuration applied tick_ms=%lld max_concurrent_jobs=%d max_jitter_ms=%lld",
              (long long)s->cfg.tick_interval_ms, s->cfg.max_concurrent_jobs,
              (long long)s->cfg.policy.max_jitter_ms);
}

/* Runs everything due at `now`; returns the wall instant to wake at. */
static int64_t tick(struct symbi_sched *s, int64_t now, bool claiming)
{
    drain_done(s, now);
    heartbeat(s, now);
    apply_pending_config(s);
    int64_t mark = 0;
    bool refresh;
    pthread_mutex_lock(&s->lock);
    refresh = s->refresh;
    s->refresh = false;
    s->stats.ticks++;
    pthread_mutex_unlock(&s->lock);
    if (symbi_store_change_mark(s->st, &mark) == 0 && mark != s->change_mark) {
        s->change_mark = mark;
        refresh = true;
    }
    if (refresh)
        agents_clear(s);
    if (claiming) {
        claim(s, now);
        if (s->retry_due != SYMBI_TIME_NONE && s->retry_due <= now)
            s->retry_due = SYMBI_TIME_NONE;
    }
    /* runs whose jitter or backoff is over */
    for (struct sched_entry *e; (e = sched_heap_top(&s->timers)) != NULL && e->run.due_at <= now;) {
        sched_heap_pop(&s->timers);
        count_in(s, e);
        sched_heap_push(&s->ready, e);
    }
    dispatch(s);

    int64_t wake = now + s->cfg.tick_interval_ms;
    if (claiming) {
        int64_t next = SYMBI_TIME_NONE;
        struct symbi_err err;
        if (symbi_store_next_due(s->st, &next, &err) == 0 && next != SYMBI_TIME_NONE && next < wake)
            wake = next;
        if (s->retry_due != SYMBI_TIME_NONE && s->retry_due < wake)
            wake = s->retry_due;
    }
    struct sched_entry *t = sched_heap_top(&s->timers);
    if (t != NULL && t->run.due_at < wake)
        wake = t->run.due_at;
    return wake;
}

/* Sleeps until the wall instant `wake_at` or a wake-up. */
static void sleep_until(struct symbi_sched *s, int64_t wake_at)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    int64_t wall_ns = (int64_t)wall.tv_sec * 1000000000LL + wall.tv_nsec;
    int64_t delta_ns = wake_at * 1000000LL - wall_ns;
    if (delta_ns <= 0) {
        pthread_mutex_lock(&s->lock);
        s->woken = false;
        pthread_mutex_unlock(&s->lock);
        return;
    }
    int64_t mono_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec + delta_ns;
    struct timespec until = {.tv_sec = (time_t)(mono_ns / 1000000000LL),
                             .tv_nsec = (long)(mono_ns % 1000000000LL)};
    pthread_mutex_lock(&s->lock);
    while (!s->woken && !s->stopping) {
        if (pthread_cond_timedwait(&s->cond, &s->lock, &until) == ETIMEDOUT)
            break;
    }
    s->woken = false;
    pthread_mutex_unlock(&s->lock);
}

/* ---- shutdown ---- */

/* Hands queued runs back: unowned again, the next scheduler takes them. */
static void release_queued(struct symbi_sched *s, struct sched_heap *h, bool counted)
{
    for (struct sched_entry *e; (e = sched_heap_pop(h)) != NULL;) {
        e->run.status = SYMBI_RUN_QUEUED;
        symbi_set_str(&e->run.node, NULL);
        record(s, &e->run);
        if (counted)
            count_out(s, e, false);
        entry_free(e);
    }
}

static void shutdown_runs(struct symbi_sched *s)
{
    release_queued(s, &s->ready, true);
    release_queued(s, &s->timers, false);
    set_in_flight_stats(s);
    int64_t deadline = symbi_now_mono_ms() + s->cfg.shutdown_timeout_ms;
    if (s->running > 0)
        symbi_log(SYMBI_LOG_INFO, "scheduler", "waiting for runs in_flight=%d timeout_ms=%lld",
                  s->running, (long long)s->cfg.shutdown_timeout_ms);
    bool cancelled = false;
    while (s->running > 0) {
        int64_t now = symbi_now_wall_ms();
        drain_done(s, now);
        heartbeat(s, now);
        if (s->running == 0)
            break;
        int64_t mono = symbi_now_mono_ms();
        if (!cancelled && mono >= deadline) {
            symbi_log(SYMBI_LOG_WARN, "scheduler",
                      "shutdown timeout: terminating runs in_flight=%d", s->running);
            symbi_agent_cancel_fire(&s->cancel);
            cancelled = true;
        }
        int64_t until =
            cancelled ? now + 100 : now + (deadline - mono < 100 ? deadline - mono : 100);
        sleep_until(s, until);
    }
    drain_done(s, symbi_now_wall_ms());
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
        int64_t wake = tick(s, symbi_now_wall_ms(), true);
        sleep_until(s, wake);
    }
    shutdown_runs(s);
    pthread_mutex_lock(&s->wq_lock);
    s->wq_quit = true;
    pthread_cond_broadcast(&s->wq_cond);
    pthread_mutex_unlock(&s->wq_lock);
    for (int i = 0; i < s->n_workers; i++)
        pthread_join(s->workers[i], NULL);
    s->n_workers = 0;
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
    if (s->store_url == NULL || s->node == NULL || s->environment == NULL) {
        symbi_sched_free(s);
        return symbi_err_set(err, SYMBI_ENOMEM, "scheduler: out of memory");
    }
    s->cfg.store_url = s->store_url;
    s->cfg.node = s->node;
    s->cfg.environment = s->environment;
    s->cfg.data_dir = s->data_dir;
    if (s->cfg.tick_interval_ms <= 0)
        s->cfg.tick_interval_ms = 1000;
    if (s->cfg.max_concurrent_jobs <= 0)
        s->cfg.max_concurrent_jobs = 1;
    if (s->cfg.lease_ms <= 0)
        s->cfg.lease_ms = 15000;
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&s->wq_lock, NULL);
    pthread_cond_init(&s->wq_cond, NULL);
    symbi_agent_cancel_init(&s->cancel, CANCEL_GRACE_MS);
    sched_heap_init(&s->timers);
    sched_heap_init(&s->ready);
    sched_counts_init(&s->counts);
    s->planner.policy = s->cfg.policy;
    s->planner.next_fire = s->cfg.next_fire;
    s->planner.in_flight = planner_in_flight;
    s->planner.ctx = s;
    if (symbi_random_bytes(&s->planner.rng, sizeof s->planner.rng) != 0)
        s->planner.rng = (uint64_t)symbi_now_mono_ms() ^ 0x5DEECE66DULL;
    s->retry_due = SYMBI_TIME_NONE;
    s->change_mark = -1;
    *out = s;
    return 0;
}

/* Interrupted runs of dead nodes: recorded by the store, retried here. */
static void recover(struct symbi_sched *s, int64_t now)
{
    struct symbi_run *runs = NULL;
    size_t n = 0;
    struct symbi_err err;
    if (symbi_store_recover_expired(s->st, now, &runs, &n, &err) != 0) {
        symbi_log(SYMBI_LOG_ERROR, "scheduler", "recovery failed: %s", err.msg);
        return;
    }
    size_t retried = 0;
    for (size_t i = 0; i < n; i++) {
        struct symbi_job job;
        struct symbi_retry_decision d;
        if (symbi_store_job_get(s->st, runs[i].job_id, &job, &err) != 0)
            continue;
        runs[i].status = SYMBI_RUN_INTERRUPTED;
        symbi_sched_decide(&s->cfg.policy, &job, &runs[i], now, &d);
        symbi_job_cleanup(&job);
        struct symbi_run retry;
        if (d.retry && symbi_sched_make_retry(&runs[i], now, &retry) == 0) {
            int rc = symbi_store_run_insert(s->st, &retry, &err);
            if (rc == 0)
                retried++;
            else if (rc != SYMBI_EEXIST)
                symbi_log(SYMBI_LOG_ERROR, "scheduler", "queueing the retry of run %s failed: %s",
                          runs[i].id, err.msg);
            symbi_run_cleanup(&retry);
        }
    }
    if (n > 0)
        symbi_log(SYMBI_LOG_WARN, "scheduler",
                  "recovered runs of expired leases interrupted=%zu retried=%zu", n, retried);
    symbi_run_list_free(runs, n);
}

int symbi_sched_start(struct symbi_sched *s, struct symbi_err *err)
{
    int rc = symbi_store_open(s->store_url, &s->st, err);
    if (rc != 0)
        return rc;
    int64_t now = symbi_now_wall_ms();
    s->started_mono = symbi_now_mono_ms();
    /* a previous incarnation of this node (same name: the caller holds the
     * node's lock) is dead: its lease ends now */
    rc = symbi_store_node_heartbeat(s->st, s->node, now, -1, err);
    if (rc == 0)
        recover(s, now);
    if (rc == 0)
        rc = symbi_store_node_heartbeat(s->st, s->node, now, s->cfg.lease_ms, err);
    if (rc == 0)
        rc = add_workers(s, s->cfg.max_concurrent_jobs);
    if (rc == 0) {
        s->stats.running = true;
        if (pthread_create(&s->loop_thread, NULL, loop_main, s) != 0)
            rc = symbi_err_set(err, SYMBI_ENOMEM, "scheduler: cannot start the loop thread");
    }
    if (rc != 0) {
        s->stats.running = false;
        pthread_mutex_lock(&s->wq_lock);
        s->wq_quit = true;
        pthread_cond_broadcast(&s->wq_cond);
        pthread_mutex_unlock(&s->wq_lock);
        for (int i = 0; i < s->n_workers; i++)
            pthread_join(s->workers[i], NULL);
        s->n_workers = 0;
        symbi_store_close(s->st);
        s->st = NULL;
        return rc;
    }
    s->next_heartbeat_mono = symbi_now_mono_ms() + s->cfg.tick_interval_ms;
    s->started = true;
    return 0;
}

void symbi_sched_wake(struct symbi_sched *s)
{
    pthread_mutex_lock(&s->lock);
    s->woken = true;
    s->refresh = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

void symbi_sched_reconfigure(struct symbi_sched *s, const struct symbi_sched_config *cfg)
{
    pthread_mutex_lock(&s->lock);
    s->pending_cfg = *cfg;
    s->have_pending_cfg = true;
    s->woken = true;
    s->refresh = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

void symbi_sched_stop(struct symbi_sched *s)
{
    if (s == NULL || !s->started || s->stopped)
        return;
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
    agents_clear(s);
    infos_clear(s);
    free(s->infos);
    sched_heap_cleanup(&s->timers);
    sched_heap_cleanup(&s->ready);
    sched_counts_cleanup(&s->counts);
    symbi_store_close(s->st);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->wq_lock);
    pthread_cond_destroy(&s->wq_cond);
    free(s->store_url);
    free(s->node);
    free(s->environment);
    free(s->data_dir);
    free(s);
}

void symbi_sched_get_stats(struct symbi_sched *s, struct symbi_sched_stats *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->stats;
    pthread_mutex_unlock(&s->lock);
    out->uptime_ms = s->started ? symbi_now_mono_ms() - s->started_mono : 0;
}
