/* shutdown.c - the scheduler's start and stop (SPEC §5.6): recovery of the
 * runs of dead nodes at start; at a clean stop the fires it claimed and did
 * not start are given back to their jobs in one transaction, and the runs
 * still running are waited for, then cancelled. */
#include "sched/sched_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Interrupted runs of dead nodes: marked interrupted by the store and
 * their retries queued here, all in one transaction, so that a crash in
 * the middle leaves the runs to the next recovery instead of losing the
 * retries. */
int sched_recover(struct symbi_sched *s, int64_t now)
{
    struct symbi_run *runs = NULL;
    size_t n = 0;
    struct symbi_err err;
    int rc = symbi_store_begin(s->st, &err);
    bool began = rc == 0;
    /* the journal of started runs is read before it is opened again: only
     * the recovery at start marks what the previous incarnation started
     * (the periodic passes of several nodes run while it is being written) */
    bool at_start = !s->journal.open;
    size_t marked = 0;
    if (rc == 0 && at_start)
        rc = sched_mark_noted_started(s, &marked, &err);
    if (rc == 0)
        rc = symbi_store_recover_expired(s->st, now, &runs, &n, &err);
    if (rc != 0 && began)
        symbi_store_rollback(s->st);
    if (rc != 0) {
        /* said once per state change: a store that cannot write fails
         * every pass */
        if (s->recover_failures++ == 0)
            symbi_log(SYMBI_LOG_ERROR, "scheduler", "recovery failed: %s", err.msg);
        return rc;
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
            int irc = symbi_store_run_insert(s->st, &retry, &err);
            if (irc == 0)
                retried++;
            else if (irc != SYMBI_EEXIST)
                symbi_log(SYMBI_LOG_ERROR, "scheduler", "queueing the retry of run %s failed: %s",
                          runs[i].id, err.msg);
            symbi_run_cleanup(&retry);
        }
    }
    if ((rc = symbi_store_commit(s->st, &err)) != 0) {
        symbi_store_rollback(s->st);
        if (s->recover_failures++ == 0)
            symbi_log(SYMBI_LOG_ERROR, "scheduler", "recovery failed: %s", err.msg);
        symbi_run_list_free(runs, n);
        return rc;
    }
    if (at_start)
        sched_notes_forget(s);
    if (s->recover_failures > 0)
        symbi_log(SYMBI_LOG_WARN, "scheduler", "recovery works again after %lld failures",
                  (long long)s->recover_failures);
    s->recover_failures = 0;
    if (n > 0 || marked > 0) {
        symbi_log(SYMBI_LOG_WARN, "scheduler",
                  "recovered runs of expired leases interrupted=%zu retried=%zu "
                  "started_before_recorded=%zu",
                  n, retried, marked);
        pthread_mutex_lock(&s->lock);
        s->stats.runs_recovered += (int64_t)n;
        pthread_mutex_unlock(&s->lock);
    }
    symbi_run_list_free(runs, n);
    return (int)n;
}

/* Moves every held run (not started) out of the heaps into *v. */
static size_t take_held(struct symbi_sched *s, struct sched_entry ***v)
{
    size_t n = s->ready.n + s->timers.n, k = 0;
    *v = n > 0 ? calloc(n, sizeof **v) : NULL;
    if (n > 0 && *v == NULL)
        return 0;
    for (struct sched_entry *e; (e = sched_heap_pop(&s->ready)) != NULL;)
        (*v)[k++] = e;
    for (struct sched_entry *e; (e = sched_heap_pop(&s->timers)) != NULL;)
        (*v)[k++] = e;
    return k;
}

/* job id order: the order every recorder and recovery lock job rows in,
 * so that a stop's give-back waits for them instead of deadlocking
 * (measured on PostgreSQL: "deadlock detected", the give-back retried and
 * a second late) */
static int by_job_id(const void *a, const void *b)
{
    const struct sched_entry *x = *(struct sched_entry *const *)a;
    const struct sched_entry *y = *(struct sched_entry *const *)b;
    int c = strcmp(x->run.job_id, y->run.job_id);
    if (c == 0)
        c = (x->run.scheduled_at > y->run.scheduled_at) -
            (x->run.scheduled_at < y->run.scheduled_at);
    return c;
}

static void nap_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* One transaction for all of them, retried with back-off while the store
 * cannot write, until deadline_mono. */
static int give_back_batch(struct symbi_sched *s, struct sched_entry **v, size_t n,
                           int64_t deadline_mono, size_t *given, size_t *released)
{
    struct symbi_run *runs = calloc(n, sizeof *runs);
    if (runs == NULL)
        return SYMBI_ENOMEM;
    for (size_t i = 0; i < n; i++)
        runs[i] = v[i]->run; /* shallow: borrowed for the call */
    struct symbi_err err;
    int rc;
    for (int64_t failures = 1;; failures++) {
        rc = symbi_store_runs_give_back(s->st, runs, n, s->node, given, released, &err);
        if (rc == 0 || !sched_store_transient(rc) || s->stepped ||
            sched_mono(s) + symbi_sched_claim_backoff_ms(failures) > deadline_mono)
            break;
        if (failures == 1)
            symbi_log(SYMBI_LOG_ERROR, "scheduler",
                      "giving claimed fires back failed, retrying: %s", err.msg);
        nap_ms(symbi_sched_claim_backoff_ms(failures));
    }
    if (rc != 0)
        symbi_log(SYMBI_LOG_ERROR, "scheduler",
                  "could not give %zu claimed run(s) back: they stay queued for the next start "
                  "(never started, so never run twice): %s",
                  n, err.msg);
    free(runs);
    return rc;
}

void sched_give_back(struct symbi_sched *s, int64_t deadline_mono)
{
    struct sched_entry **v = NULL;
    size_t n = take_held(s, &v);
    size_t given = 0, released = 0;
    if (n > 1)
        qsort(v, n, sizeof *v, by_job_id);
    if (n > 0)
        give_back_batch(s, v, n, deadline_mono, &given, &released);
    for (size_t i = 0; i < n; i++) {
        struct sched_count *c = sched_counts_get(&s->counts, v[i]->run.job_id, false);
        if (c != NULL && v[i]->counted && c->in_flight > 0)
            c->in_flight--;
        sched_counts_release(&s->counts, v[i]->run.job_id);
        sched_entry_free(v[i]);
    }
    free(v);
    if (n > 0)
        symbi_log(SYMBI_LOG_INFO, "scheduler",
                  "claimed runs handed back given_back=%zu released=%zu", given, released);
    sched_set_in_flight_stats(s);
}

int sched_shutdown_poll(struct symbi_sched *s, int64_t deadline_mono, bool *cancelled)
{
    sched_drain_done(s);
    sched_set_in_flight_stats(s);
    if (s->running > 0 && !*cancelled && sched_mono(s) >= deadline_mono) {
        symbi_log(SYMBI_LOG_WARN, "scheduler", "shutdown timeout: terminating runs in_flight=%d",
                  s->running);
        symbi_agent_cancel_fire(&s->cancel);
        *cancelled = true;
    }
    return s->running;
}

int sched_open_stepped(struct symbi_sched *s, struct symbi_err *err)
{
    s->stepped = true;
    int rc = symbi_store_open(s->store_url, &s->st, err);
    if (rc == 0)
        rc = symbi_store_open(s->store_url, &s->rst, err);
    if (rc != 0)
        return rc;
    s->rpolicy = s->cfg.policy;
    s->start_first = symbi_store_shared(s->st);
    int64_t now = sched_wall(s);
    s->started_mono = sched_mono(s);
    rc = symbi_store_node_heartbeat(s->st, s->node, now, -1, err);
    if (rc == 0)
        sched_recover(s, now);
    if (rc == 0)
        rc = symbi_store_node_lease(s->st, s->node, now, s->cfg.lease_ms, &s->epoch, err);
    if (rc != 0)
        return rc;
    s->lease_ok_mono = s->started_mono;
    s->lease_until = now + s->cfg.lease_ms;
    s->stats.lease_epoch = s->epoch;
    s->stats.running = true;
    s->stats.store_writable = true;
    s->next_heartbeat_mono = s->started_mono + s->cfg.tick_interval_ms;
    s->started = true;
    return 0;
}
