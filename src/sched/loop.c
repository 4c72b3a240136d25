/* loop.c - the CronScheduler tick loop (SPEC §5): `for(;;) { wake =
 * tick(now); wait(wake); }`. Fires are claimed a little ahead of their
 * instant (recorded before anything runs) and held in a timer heap, so a
 * run starts at its instant, not a claim transaction later; the loop
 * thread never writes on the dispatch path (record.c does). */
#include "sched/sched_int.h"

#include "symbi/metrics.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CLAIM_LIMIT      1000
#define CANCEL_GRACE_MS  500
#define LOOKAHEAD_MAX_MS 500

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

void sched_entry_free(struct sched_entry *e)
{
    if (e == NULL)
        return;
    symbi_run_cleanup(&e->run);
    free(e->session_mode);
    symbi_agent_def_cleanup(&e->agent);
    symbi_agent_result_cleanup(&e->res);
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

/* How far ahead of their instant fires are claimed: enough to absorb a
 * claim transaction waiting for the store, never more than a tick. */
static int64_t lookahead(const struct symbi_sched *s)
{
    int64_t l = s->cfg.tick_interval_ms / 2;
    return l < LOOKAHEAD_MAX_MS ? l : LOOKAHEAD_MAX_MS;
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

static void set_in_flight_stats(struct symbi_sched *s)
{
    pthread_mutex_lock(&s->lock);
    s->stats.in_flight = s->running;
    s->stats.queued = (int64_t)(s->ready.n + s->timers.n);
    pthread_mutex_unlock(&s->lock);
    symbi_metrics_set_in_flight(s->running);
}

/* A due run enters the ready heap, unless it is a scheduled fire of a job
 * with max_concurrent runs in flight (SPEC §5.3): that one is `skipped`.
 * Checked at the instant itself (after jitter), not at claim time. */
static void make_ready(struct symbi_sched *s, struct sched_entry *e)
{
    if (e->run.trigger == SYMBI_TRIGGER_SCHEDULE) {
        struct sched_count *c = sched_counts_get(&s->counts, e->run.job_id, false);
        if (c != NULL && c->in_flight >= e->max_concurrent) {
            e->run.status = SYMBI_RUN_SKIPPED;
            symbi_set_str(&e->run.error_message,
                          "skipped: max_concurrent runs of the job are in flight");
            sched_record(s, e, REC_UPDATE);
            return;
        }
    }
    count_in(s, e);
    if (sched_heap_push(&s->ready, e) != 0) {
        count_out(s, e, false);
        e->run.status = SYMBI_RUN_FAILED;
        symbi_set_str(&e->run.error_message, "scheduler out of memory");
        sched_record(s, e, REC_UPDATE);
    }
}

/* ---- claiming ---- */

static void infos_clear(struct symbi_sched *s)
{
    for (size_t i = 0; i < s->n_infos; i++)
        symbi_job_cleanup(&s->infos[i].job);
    s->n_infos = 0;
    s->info_cursor = 0;
}

/* The symbi_fire_planner given to the store: the pure plan, plus a note
 * of the job for the runs it queues. */
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
        struct sched_jobinfo *v = realloc(s->infos, cap * sizeof *v);
        if (v == NULL)
            return 0; /* adopt_runs reads the job instead */
        s->infos = v;
        s->cap_infos = cap;
    }
    struct sched_jobinfo *ji = &s->infos[s->n_infos];
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

/* Fills the job-derived fields of e. */
static void entry_from_job(struct symbi_sched *s, struct sched_entry *e,
                           const struct symbi_job *job)
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
        e->heap_idx = SIZE_MAX;
        const struct symbi_job *noted = info_find(s, e->run.job_id);
        if (noted == NULL && strcmp(last_id, e->run.job_id) != 0) {
            struct symbi_err err;
            symbi_job_cleanup(&job);
            have_job = symbi_store_job_get(s->st, e->run.job_id, &job, &err) == 0;
            if (!have_job)
                symbi_log(SYMBI_LOG_WARN, "scheduler", "run %s: job %s unreadable: %s", e->run.id,
                          e->run.job_id, err.msg);
            snprintf(last_id, sizeof last_id, "%s", e->run.job_id);
        }
        if (noted != NULL)
            entry_from_job(s, e, noted);
        else if (have_job)
            entry_from_job(s, e, &job);
        else
            e->max_concurrent = 1;
        if (e->run.due_at == SYMBI_TIME_NONE)
            e->run.due_at = e->run.scheduled_at;
        if (e->run.due_at > now)
            sched_heap_push(&s->timers, e);
        else
            make_ready(s, e);
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
    s->planner.real_now = now;
    int rc = symbi_store_claim_due(s->st, now + lookahead(s), CLAIM_LIMIT, s->node, plan_and_note,
                                   s, &runs, &n, &err);
    if (rc != 0)
        symbi_log(SYMBI_LOG_ERROR, "scheduler", "claim failed: %s", err.msg);
    else
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

/* ---- starting and finishing runs ---- */

static void start_run(struct symbi_sched *s, struct sched_entry *e, int64_t now)
{
    e->run.status = SYMBI_RUN_RUNNING;
    e->run.started_at = now;
    e->started = true;
    symbi_set_str(&e->run.node, s->node);
    struct sched_count *c = sched_counts_get(&s->counts, e->run.job_id, true);
    if (c != NULL)
        c->running++;
    s->running++;
    if (e->run.trigger == SYMBI_TRIGGER_SCHEDULE) {
        int64_t lag = now - e->run.scheduled_at - e->run.jitter_ms;
        symbi_metrics_schedule_lag((double)(lag < 0 ? 0 : lag) / 1000.0);
        pthread_mutex_lock(&s->lock);
        s->stats.last_lag_ms = lag;
        pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_lock(&s->wq_lock);
    sched_list_push(&s->work_head, &s->work_tail, e);
    pthread_cond_signal(&s->wq_cond);
    pthread_mutex_unlock(&s->wq_lock);
}

/* Starts ready runs in due order while global slots are free; a run whose
 * job is at max_concurrent waits without blocking the others. */
static void dispatch(struct symbi_sched *s)
{
    struct sched_entry *held[256];
    size_t n_held = 0, n_started = 0;
    struct sched_entry *started[256];
    int limit = s->cfg.max_concurrent_jobs > 0 ? s->cfg.max_concurrent_jobs : 1;
    while (s->running < limit && s->ready.n > 0) {
        if (n_started == SYMBI_ARRAY_LEN(started)) {
            for (size_t i = 0; i < n_started; i++)
                sched_record(s, started[i], REC_START);
            n_started = 0;
        }
        struct sched_entry *e = sched_heap_pop(&s->ready);
        int64_t now = symbi_now_wall_ms();
        if (e->starting_deadline_ms >= 0 && e->run.trigger == SYMBI_TRIGGER_SCHEDULE &&
            now - e->run.scheduled_at > e->starting_deadline_ms) {
            count_out(s, e, false);
            e->run.status = SYMBI_RUN_MISSED;
            symbi_set_str(&e->run.error_message,
                          "missed: waited for a slot past its starting_deadline");
            sched_record(s, e, REC_UPDATE);
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
    /* `running` is persisted after the agents are on their way */
    for (size_t i = 0; i < n_started; i++)
        sched_record(s, started[i], REC_START);
    set_in_flight_stats(s);
}

/* Frees the slots of finished runs and hands them to the recorder. */
static int drain_done(struct symbi_sched *s)
{
    pthread_mutex_lock(&s->lock);
    struct sched_entry *e = s->done_head;
    s->done_head = s->done_tail = NULL;
    pthread_mutex_unlock(&s->lock);
    int n = 0;
    while (e != NULL) {
        struct sched_entry *next = e->next;
        s->running--;
        count_out(s, e, true);
        sched_record(s, e, REC_FINISH);
        e = next;
        n++;
    }
    if (n > 0)
        set_in_flight_stats(s);
    return n;
}

/* ---- process groups of running agents ----
 * <data_dir>/running/<run id> holds the group id of a running command or
 * exec agent. After a crash the next start kills what is left of those
 * groups (the file's run id must be in the process's environment, so a
 * reused id is never killed) before their runs are retried. */

struct group_note {
    const struct symbi_sched *s;
    const char *run_id;
};

static void note_group(void *ud, int pgid)
{
    const struct group_note *n = ud;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/running/%s", n->s->data_dir, n->run_id) >= (int)sizeof path)
        return;
    if (pgid == 0) {
        unlink(path);
        return;
    }
    FILE *f = fopen(path, "we");
    if (f != NULL) {
        fprintf(f, "%d\n", pgid);
        fclose(f);
    }
}

/* true when process pid has SYMBI_RUN_ID=run_id in its environment */
static bool runs_for(int pid, const char *run_id)
{
    char path[64], want[128];
    snprintf(path, sizeof path, "/proc/%d/environ", pid);
    int n = snprintf(want, sizeof want, "SYMBI_RUN_ID=%s", run_id);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return false;
    static char env[65536];
    size_t len = fread(env, 1, sizeof env - 1, f);
    fclose(f);
    env[len] = '\0';
    for (size_t i = 0; i < len; i += strlen(env + i) + 1) {
        if (strncmp(env + i, want, (size_t)n) == 0 && env[i + (size_t)n] == '\0')
            return true;
    }
    return false;
}

static void kill_orphans(struct symbi_sched *s)
{
    if (s->data_dir == NULL)
        return;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/running", s->data_dir);
    mkdir(dir, 0700);
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    int killed = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096 + 300];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "re");
        int pgid = 0;
        if (f != NULL) {
            char line[32] = "";
            if (fgets(line, sizeof line, f) != NULL)
                line[strcspn(line, "\n")] = '\0';
            symbi_parse_int(line, 2, INT32_MAX, &pgid);
            fclose(f);
        }
        if (pgid > 1 && runs_for(pgid, e->d_name) && kill(-pgid, SIGKILL) == 0)
            killed++;
        unlink(path);
    }
    closedir(d);
    if (killed > 0)
        symbi_log(SYMBI_LOG_WARN, "scheduler",
                  "killed %d agent process group(s) left by a previous scheduler", killed);
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
        struct group_note note = {s, e->run.id};
        if (s->data_dir != NULL) {
            req.on_group = note_group;
            req.on_group_ud = &note;
        }
        struct symbi_err err;
        if (symbi_agent_execute(&req, &e->res, &err) != 0) {
            symbi_agent_result_init(&e->res);
            e->res.error_message = symbi_strdup(err.msg);
            e->res.status = SYMBI_RUN_FAILED;
        }
        e->finished_wall = symbi_now_wall_ms();
        atomic_store(&e->done, true);
        pthread_mutex_lock(&s->lock);
        sched_list_push(&s->done_head, &s->done_tail, e);
        s->woken = true;
        pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->lock);
    }
}

static int add_workers(struct symbi_sched *s, int want)
{
    if (want > SCHED_MAX_WORKERS)
        want = SCHED_MAX_WORKERS;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 512 * 1024);
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
    pthread_mutex_lock(&s->rq_lock);
    s->rpolicy = c.policy;
    pthread_mutex_unlock(&s->rq_lock);
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

/* Moves the runs whose instant (or jitter, or backoff) has come to the
 * ready heap and starts what the limits allow. No store access. */
static void run_due(struct symbi_sched *s, int64_t now)
{
    for (struct sched_entry *e; (e = sched_heap_top(&s->timers)) != NULL && e->run.due_at <= now;) {
        sched_heap_pop(&s->timers);
        make_ready(s, e);
    }
    drain_done(s);
    dispatch(s);
}

/* Runs everything due at `now`; returns the wall instant to wake at. */
static int64_t tick(struct symbi_sched *s, int64_t now)
{
    run_due(s, now);
    heartbeat(s, now);
    apply_pending_config(s);
    pthread_mutex_lock(&s->lock);
    bool refresh = s->refresh;
    s->refresh = false;
    s->stats.ticks++;
    int64_t retry_due = s->retry_due;
    if (retry_due != SYMBI_TIME_NONE && retry_due <= now)
        s->retry_due = SYMBI_TIME_NONE;
    pthread_mutex_unlock(&s->lock);
    int64_t mark = 0;
    if (symbi_store_change_mark(s->st, &mark) == 0 && mark != s->change_mark) {
        s->change_mark = mark;
        refresh = true;
    }
    if (refresh)
        agents_clear(s);
    claim(s, now);
    run_due(s, symbi_now_wall_ms());
    set_in_flight_stats(s);

    int64_t wake = now + s->cfg.tick_interval_ms;
    int64_t next = SYMBI_TIME_NONE;
    struct symbi_err err;
    if (symbi_store_next_due(s->st, &next, &err) == 0 && next != SYMBI_TIME_NONE &&
        next - lookahead(s) < wake)
        wake = next - lookahead(s);
    pthread_mutex_lock(&s->lock);
    if (s->retry_due != SYMBI_TIME_NONE && s->retry_due < wake)
        wake = s->retry_due;
    pthread_mutex_unlock(&s->lock);
    struct sched_entry *t = sched_heap_top(&s->timers);
    if (t != NULL && t->run.due_at < wake)
        wake = t->run.due_at;
    return wake;
}

/* Sleeps until the wall instant `wake_at` or a wake-up; true if woken. */
static bool sleep_until(struct symbi_sched *s, int64_t wake_at)
{
    struct timespec mono, wall;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    clock_gettime(CLOCK_REALTIME, &wall);
    int64_t wall_ns = (int64_t)wall.tv_sec * 1000000000LL + wall.tv_nsec;
    int64_t delta_ns = wake_at * 1000000LL - wall_ns;
    pthread_mutex_lock(&s->lock);
    if (delta_ns > 0) {
        int64_t t = (int64_t)mono.tv_sec * 1000000000LL + mono.tv_nsec + delta_ns;
        struct timespec until = {.tv_sec = (time_t)(t / 1000000000LL),
                                 .tv_nsec = (long)(t % 1000000000LL)};
        while (!s->woken && !s->stopping)
            if (pthread_cond_timedwait(&s->cond, &s->lock, &until) == ETIMEDOUT)
                break;
    }
    bool woken = s->woken;
    s->woken = false;
    pthread_mutex_unlock(&s->lock);
    return woken;
}

/* ---- shutdown ---- */

/* Hands queued runs back: unowned again, the next scheduler takes them. */
static void release_queued(struct symbi_sched *s, struct sched_heap *h)
{
    for (struct sched_entry *e; (e = sched_heap_pop(h)) != NULL;) {
        count_out(s, e, false);
        e->run.status = SYMBI_RUN_QUEUED;
        symbi_set_str(&e->run.node, NULL);
        sched_record(s, e, REC_UPDATE);
    }
}

static void shutdown_runs(struct symbi_sched *s)
{
    release_queued(s, &s->ready);
    release_queued(s, &s->timers);
    int64_t deadline = symbi_now_mono_ms() + s->cfg.shutdown_timeout_ms;
    if (s->running > 0)
        symbi_log(SYMBI_LOG_INFO, "scheduler", "waiting for runs in_flight=%d timeout_ms=%lld",
                  s->running, (long long)s->cfg.shutdown_timeout_ms);
    bool cancelled = false;
    for (;;) {
        drain_done(s);
        set_in_flight_stats(s);
        if (s->running == 0)
            break;
        int64_t now = symbi_now_wall_ms();
        heartbeat(s, now);
        int64_t mono = symbi_now_mono_ms();
        if (!cancelled && mono >= deadline) {
            symbi_log(SYMBI_LOG_WARN, "scheduler",
                      "shutdown timeout: terminating runs in_flight=%d", s->running);
            symbi_agent_cancel_fire(&s->cancel);
            cancelled = true;
        }
        int64_t left = cancelled ? 100 : deadline - mono;
        sleep_until(s, now + (left < 100 ? left : 100));
    }
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
        int64_t wake = tick(s, symbi_now_wall_ms());
        /* a wake-up by a finishing worker only frees a slot: start the
         * next run without a whole tick */
        while (sleep_until(s, wake)) {
            pthread_mutex_lock(&s->lock);
            bool more = s->refresh || s->stopping || s->have_pending_cfg ||
                        (s->retry_due != SYMBI_TIME_NONE && s->retry_due < wake);
            pthread_mutex_unlock(&s->lock);
            if (more)
                break;
            run_due(s, symbi_now_wall_ms());
            struct sched_entry *t = sched_heap_top(&s->timers);
            if (t != NULL && t->run.due_at < wake)
                wake = t->run.due_at;
        }
    }
    shutdown_runs(s);
    pthread_mutex_lock(&s->wq_lock);
    s->wq_quit = true;
    pthread_cond_broadcast(&s->wq_cond);
    pthread_mutex_unlock(&s->wq_lock);
    for (int i = 0; i < s->n_workers; i++)
        pthread_join(s->workers[i], NULL);
    s->n_workers = 0;
    sched_recorder_stop(s);
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
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&s->wq_lock, NULL);
    pthread_cond_init(&s->wq_cond, NULL);
    pthread_mutex_init(&s->rq_lock, NULL);
    pthread_cond_init(&s->rq_cond, NULL);
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
    symbi_agent_cancel_init(&s->cancel, CANCEL_GRACE_MS);
    sched_heap_init(&s->timers);
    sched_heap_init(&s->ready);
    sched_counts_init(&s->counts);
    s->planner.policy = s->cfg.policy;
    s->planner.next_fire = s->cfg.next_fire;
    /* the per-job limit is applied at each fire's instant (make_ready) */
    s->planner.in_flight = NULL;
    s->planner.ctx = s;
    if (symbi_random_bytes(&s->planner.rng, sizeof s->planner.rng) != 0)
        s->planner.rng = (uint64_t)symbi_now_mono_ms() ^ 0x5DEECE66DULL;
    s->retry_due = SYMBI_TIME_NONE;
    s->change_mark = -1;
    *out = s;
    return 0;
}

/* Interrupted runs of dead nodes: marked interrupted by the store and
 * their retries queued here, all in one transaction, so that a crash in
 * the middle leaves the runs to the next recovery instead of losing the
 * retries. */
static void recover(struct symbi_sched *s, int64_t now)
{
    struct symbi_run *runs = NULL;
    size_t n = 0;
    struct symbi_err err;
    if (symbi_store_begin(s->st, &err) != 0) {
        symbi_log(SYMBI_LOG_ERROR, "scheduler", "recovery failed: %s", err.msg);
        return;
    }
    if (symbi_store_recover_expired(s->st, now, &runs, &n, &err) != 0) {
        symbi_store_rollback(s->st);
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
    if (symbi_store_commit(s->st, &err) != 0) {
        symbi_store_rollback(s->st);
        symbi_log(SYMBI_LOG_ERROR, "scheduler", "recovery failed: %s", err.msg);
    } else if (n > 0) {
        symbi_log(SYMBI_LOG_WARN, "scheduler",
                  "recovered runs of expired leases interrupted=%zu retried=%zu", n, retried);
    }
    symbi_run_list_free(runs, n);
}

int symbi_sched_start(struct symbi_sched *s, struct symbi_err *err)
{
    int rc = symbi_store_open(s->store_url, &s->st, err);
    if (rc != 0)
        return rc;
    int64_t now = symbi_now_wall_ms();
    s->started_mono = symbi_now_mono_ms();
    kill_orphans(s);
    /* a previous incarnation of this node (same name: the caller holds the
     * node's lock) is dead: its lease ends now */
    rc = symbi_store_node_heartbeat(s->st, s->node, now, -1, err);
    if (rc == 0)
        recover(s, now);
    if (rc == 0)
        rc = symbi_store_node_heartbeat(s->st, s->node, now, s->cfg.lease_ms, err);
    if (rc == 0)
        rc = sched_recorder_start(s, err);
    if (rc == 0 && add_workers(s, s->cfg.max_concurrent_jobs) != 0)
        rc = symbi_err_set(err, SYMBI_ENOMEM, "scheduler: cannot start the workers");
    if (rc == 0) {
        s->stats.running = true;
        s->next_heartbeat_mono = symbi_now_mono_ms() + s->cfg.tick_interval_ms;
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
        sched_recorder_stop(s);
        symbi_store_close(s->st);
        s->st = NULL;
        return rc;
    }
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
    pthread_mutex_destroy(&s->rq_lock);
    pthread_cond_destroy(&s->rq_cond);
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
