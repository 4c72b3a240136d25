/* claim.c - the loop's claims (SPEC §5.1): due fires planned and recorded
 * in one store transaction, unowned queued runs taken, the claimed runs
 * adopted with what they need of their jobs; backs off while the store
 * cannot write (issue 10 #2). */
#include "sched/sched_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLAIM_LIMIT      1000
#define CLAIM_BURST_MAX  10000
#define LOOKAHEAD_MAX_MS 500

/* How far ahead of their instant fires are claimed: enough to absorb a
 * claim transaction waiting for the store, never more than a tick. */
static int64_t lookahead(const struct symbi_sched *s)
{
    int64_t l = s->cfg.tick_interval_ms / 2;
    return l < LOOKAHEAD_MAX_MS ? l : LOOKAHEAD_MAX_MS;
}

/* Fires claimed per transaction: CLAIM_LIMIT, or as many as the node can
 * start at once (max_concurrent_jobs, at most CLAIM_BURST_MAX), so that a
 * burst due at one instant is one commit (one sync) instead of a chain of
 * them competing with the recorder for the write lock; a node never claims
 * more at once than it can start, which leaves the rest to its peers. */
static size_t claim_limit(const struct symbi_sched *s)
{
    int c = s->cfg.max_concurrent_jobs;
    if (c <= CLAIM_LIMIT)
        return CLAIM_LIMIT;
    return c < CLAIM_BURST_MAX ? (size_t)c : CLAIM_BURST_MAX;
}

/* ---- agents cache ---- */

void sched_agents_clear(struct symbi_sched *s)
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

/* ---- the planner's notes ---- */

void sched_infos_clear(struct symbi_sched *s)
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
    snprintf(ji->id, sizeof ji->id, "%s", job->id);
    if (symbi_job_copy(&ji->job, job) != 0) /* the executor runs with it */
        return 0;
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
    if (e->run.job_name == NULL)
        symbi_set_str(&e->run.job_name, job->name);
    if (e->run.agent == NULL)
        symbi_set_str(&e->run.agent, job->agent);
    e->have_agent = agent_lookup(s, job->agent, &e->agent);
    e->have_job = symbi_job_copy(&e->job, job) == 0;
}

/* Takes the claimed runs (their array is freed here) into the heaps. The
 * jobs of the runs come from the planner's notes, else the store. */
/* Whether e, a scheduled fire taken from the pool late, is a missed fire
 * its job's catch_up does not run (symbi_sched_on_released). */
static bool released_missed(struct symbi_sched *s, const struct sched_entry *e,
                            const struct symbi_job *job, int64_t now)
{
    if (e->run.trigger != SYMBI_TRIGGER_SCHEDULE || job == NULL)
        return false;
    int64_t next = SYMBI_TIME_NONE;
    struct symbi_err err;
    if (job->catch_up == SYMBI_CATCH_UP_ONCE && s->cfg.next_fire != NULL &&
        s->cfg.next_fire(job, e->run.scheduled_at, &next, &err) != 0)
        next = SYMBI_TIME_NONE;
    return symbi_sched_on_released(&s->cfg.policy, job->catch_up, e->run.scheduled_at, next, now) ==
           SYMBI_SCHED_MISS;
}

/* Takes claimed runs into the heaps; pooled: they came from the pool
 * (claim_queued), where recovery leaves the fires of nodes that died. */
static void adopt_runs(struct symbi_sched *s, struct symbi_run *runs, size_t n, int64_t now,
                       bool pooled)
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
        e->journal_gen = -1;
        e->run = runs[i]; /* moves the strings */
        symbi_agent_def_init(&e->agent);
        symbi_job_init(&e->job);
        symbi_run_init(&e->out);
        e->seq = s->seq++;
        e->heap_idx = SIZE_MAX;
        e->seen_mark = s->change_mark; /* read before this claim */
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
        const struct symbi_job *of = noted != NULL ? noted : have_job ? &job : NULL;
        if (of != NULL)
            entry_from_job(s, e, of);
        else
            e->max_concurrent = 1;
        if (e->run.due_at == SYMBI_TIME_NONE)
            e->run.due_at = e->run.scheduled_at;
        if (pooled && released_missed(s, e, of, now))
            sched_settle(s, e, SYMBI_RUN_MISSED,
                         "missed: its node stopped before starting it (catch_up)", now);
        else
            sched_adopt(s, e, now);
    }
    symbi_job_cleanup(&job);
    free(runs);
}

/* A failed claim: backs off (bounded, exponential) and says so once. */
static void claim_failed(struct symbi_sched *s, const char *what, const char *msg, int64_t now,
                         int64_t mono)
{
    /* any failure backs off: a store that refuses every claim (corrupt,
     * read-only) must not make the loop spin either */
    if (s->claim_failures++ == 0) {
        s->claim_failed_since = now;
        symbi_log(SYMBI_LOG_ERROR, "scheduler",
                  "the store cannot write: claims stop, retried with back-off up to %lld ms "
                  "what=\"%s\" error=\"%s\"",
                  (long long)symbi_sched_claim_backoff_ms(INT64_MAX), what, msg);
    }
    s->claim_after_mono = mono + symbi_sched_claim_backoff_ms(s->claim_failures);
    sched_note_store(s, true, true, msg);
}

static void claim_succeeded(struct symbi_sched *s, int64_t now)
{
    if (s->claim_failures == 0)
        return;
    symbi_log(SYMBI_LOG_WARN, "scheduler",
              "the store writes again: claims resume failed_claims=%lld failing_ms=%lld",
              (long long)s->claim_failures, (long long)(now - s->claim_failed_since));
    s->claim_failures = 0;
    s->claim_after_mono = 0;
    sched_note_store(s, true, false, NULL);
    sched_recorder_poke(s);
}

/* Back-pressure on an overloaded machine: the fires claimed and not yet
 * started live in memory (about 1 KB each). Past max_held the loop claims
 * no more; the rest stay due in the store, where nothing is lost, and are
 * claimed late once runs drain, when the planner's catch-up rules decide
 * them (missed, catch_up) as for any late claim. Returns the room left
 * (held stays within max_held and the few fires of one claim). */
static size_t claim_room(struct symbi_sched *s, int64_t now)
{
    int64_t max = s->cfg.max_held;
    if (max <= 0) {
        max = 16 * (int64_t)s->cfg.max_concurrent_jobs;
        if (max < 10000)
            max = 10000;
    }
    size_t held = s->ready.n + s->timers.n;
    size_t room = held >= (size_t)max ? 0 : (size_t)max - held;
    if ((room == 0) != s->held_full) {
        s->held_full = room == 0;
        if (s->held_full)
            symbi_log(SYMBI_LOG_WARN, "scheduler",
                      "claims paused: %zu fires held, not yet started (max_held=%lld); the "
                      "rest wait in the store",
                      held, (long long)max);
        else
            symbi_log(SYMBI_LOG_INFO, "scheduler", "claims resume: %zu fires held", held);
    }
    if (room == 0) /* look again soon: finished runs free room */
        s->claim_at = now + (s->cfg.tick_interval_ms < 100 ? s->cfg.tick_interval_ms : 100);
    return room;
}

void sched_claim(struct symbi_sched *s, int64_t now, int64_t mono, bool force)
{
    if (mono < s->claim_after_mono || (!force && now < s->claim_at))
        return;
    /* the store may give these fires to another node; and a lease the
     * wall clock says has lapsed (its renewal failed) stamps no epoch */
    if (!sched_lease_held(s, mono) || sched_lease_lapsed(s, now))
        return;
    size_t room = claim_room(s, now);
    if (room == 0)
        return;
    /* a job claimed late can bring three fires (its catch-up run, its
     * current instant and the next within the look-ahead): a third of the
     * room keeps the overshoot to a few fires */
    size_t limit = room > 2 ? room / 3 : 1;
    if (limit > claim_limit(s))
        limit = claim_limit(s);
    struct symbi_run *runs = NULL;
    size_t n = 0;
    struct symbi_err err;
    sched_infos_clear(s);
    s->planner.real_now = now;
    int rc = symbi_store_claim_due(s->st, now + lookahead(s), limit, s->node, plan_and_note, s,
                                   &runs, &n, &err);
    if (rc != 0) {
        sched_infos_clear(s);
        claim_failed(s, "claim", err.msg, now, mono);
        return;
    }
    /* the store took the claim: it writes again. Said now, not after the
     * claim of queued runs: a failure of that one after a long outage
     * would otherwise back off as the outage's 7th failure (5 s) while the
     * fires this node did not take (the claim's share) and the next
     * instants of those it took fell late again, each job catching up a
     * second time (measured: two catch_up runs 5 s apart after 10 s away) */
    claim_succeeded(s, now);
    adopt_runs(s, runs, n, now, false);
    sched_infos_clear(s);
    limit = n < limit ? limit - n : 0;
    runs = NULL;
    n = 0;
    /* queued runs too are taken ahead (a released fire waiting out its
     * jitter, a retry's backoff), so that they start at their instant and
     * a clean stop gives the fires back */
    rc = limit > 0
             ? symbi_store_claim_queued(s->st, now + lookahead(s), limit, s->node, &runs, &n, &err)
             : 0;
    if (rc != 0) {
        claim_failed(s, "claim of queued runs", err.msg, now, mono);
        return;
    }
    if (n > 0)
        symbi_log(SYMBI_LOG_DEBUG, "scheduler", "picked up queued runs n=%zu", n);
    adopt_runs(s, runs, n, now, true);

    /* the next claim: the next fire (minus the look-ahead), a tick, or a
     * retry queued meanwhile (sched_tick lowers claim_at for those) */
    int64_t at = now + s->cfg.tick_interval_ms;
    int64_t next = SYMBI_TIME_NONE;
    if (symbi_store_next_due(s->st, &next, &err) == 0 && next != SYMBI_TIME_NONE &&
        next - lookahead(s) < at)
        at = next - lookahead(s);
    s->claim_at = at;
}
