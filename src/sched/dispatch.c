/* dispatch.c - what the loop does with the runs it holds (SPEC §5.2, §5.3):
 * at a fire's instant the per-job skip (symbi_sched_on_due), when a global
 * slot frees the starting deadline and the job's slot (symbi_sched_on_slot),
 * then the hand-over to a worker; no store write on this path. */
#include "sched/sched_int.h"

#include "symbi/metrics.h"

#include <stdlib.h>
#include <string.h>

#define CHECK_BATCH 256

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

static int job_running(struct symbi_sched *s, const struct sched_entry *e)
{
    struct sched_count *c = sched_counts_get(&s->counts, e->run.job_id, false);
    return c != NULL ? c->running : 0;
}

static struct symbi_sched_held held_of(struct symbi_sched *s, const struct sched_entry *e)
{
    struct symbi_sched_held h = {
        .trigger = e->run.trigger,
        .scheduled_at = e->run.scheduled_at,
        .starting_deadline_ms = e->starting_deadline_ms,
        .max_concurrent = e->max_concurrent,
        .job_running = job_running(s, e),
    };
    return h;
}

void sched_set_in_flight_stats(struct symbi_sched *s)
{
    pthread_mutex_lock(&s->lock);
    s->stats.in_flight = s->running;
    s->stats.queued = (int64_t)(s->ready.n + s->timers.n);
    pthread_mutex_unlock(&s->lock);
    symbi_metrics_set_in_flight(s->running);
}

void sched_settle(struct symbi_sched *s, struct sched_entry *e, enum symbi_run_status status,
                  const char *why, int64_t now)
{
    e->run.status = status;
    e->run.finished_at = now;
    symbi_set_str(&e->run.error_message, why);
    sched_record(s, e, REC_UPDATE);
}

/* A run whose instant has come: skipped when its job has max_concurrent
 * runs running at this instant, else it waits for a slot. */
static void make_ready(struct symbi_sched *s, struct sched_entry *e, int64_t now)
{
    struct symbi_sched_held h = held_of(s, e);
    if (symbi_sched_on_due(&h) == SYMBI_SCHED_SKIP) {
        sched_settle(s, e, SYMBI_RUN_SKIPPED,
                     "skipped: max_concurrent runs of the job were running", now);
        return;
    }
    count_in(s, e);
    if (sched_heap_push(&s->ready, e) != 0) {
        count_out(s, e, false);
        sched_settle(s, e, SYMBI_RUN_FAILED, "scheduler out of memory", now);
    }
}

void sched_adopt(struct symbi_sched *s, struct sched_entry *e, int64_t now)
{
    if (e->run.due_at > now && sched_heap_push(&s->timers, e) == 0)
        return;
    make_ready(s, e, now);
}

/* ---- starting ---- */

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
    pthread_mutex_unlock(&s->wq_lock);
    /* the workers are woken once the whole batch is handed out (dispatch):
     * a worker busy with its run's context would slow the others' start */
}

/* Drops from `v` the runs that are no longer waiting in the store (a pause
 * or a dead letter settled them, or their job was deleted): they never
 * start (issue 10 #11). A run is asked about only when the store changed
 * since it was last known waiting; a store that cannot answer leaves the
 * runs as they are. */
static size_t keep_waiting(struct symbi_sched *s, struct sched_entry **v, size_t n)
{
    int64_t mark = 0;
    if (n == 0 || symbi_store_change_mark(s->st, &mark) != 0)
        return n;
    const char *ids[CHECK_BATCH];
    size_t idx[CHECK_BATCH], m = 0;
    bool waiting[CHECK_BATCH];
    for (size_t i = 0; i < n; i++)
        if (v[i]->seen_mark != mark) {
            idx[m] = i;
            ids[m++] = v[i]->run.id;
        }
    struct symbi_err err;
    if (m == 0 || symbi_store_runs_waiting(s->st, ids, m, waiting, &err) != 0)
        return n;
    for (size_t k = 0; k < m; k++) {
        struct sched_entry *e = v[idx[k]];
        if (waiting[k]) {
            e->seen_mark = mark;
            continue;
        }
        symbi_log(SYMBI_LOG_INFO, "scheduler", "run settled before it started job=%s run=%s",
                  e->run.job_name ? e->run.job_name : "", e->run.id);
        count_out(s, e, false);
        sched_entry_free(e);
        v[idx[k]] = NULL;
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] != NULL)
            v[kept++] = v[i];
    return kept;
}

/* Starts ready runs in due order while global slots are free; a run whose
 * job is at max_concurrent waits without blocking the others. */
static void dispatch(struct symbi_sched *s, int64_t now)
{
    int limit = s->cfg.max_concurrent_jobs > 0 ? s->cfg.max_concurrent_jobs : 1;
    if (!sched_lease_held(s, sched_mono(s)) || sched_lease_lapsed(s, now))
        return; /* not sure these are still ours: wait for the renewal */
    struct sched_entry *held[256];
    size_t n_held = 0;
    struct sched_entry *batch[CHECK_BATCH];
    while (s->running < limit && s->ready.n > 0) {
        /* the next runs the free slots take, the job limits applied */
        size_t n = 0;
        int free_slots = limit - s->running;
        while (n < CHECK_BATCH && (int)n < free_slots && s->ready.n > 0) {
            struct sched_entry *e = sched_heap_pop(&s->ready);
            struct symbi_sched_held h = held_of(s, e);
            for (size_t i = 0; i < n; i++)
                if (strcmp(batch[i]->run.job_id, e->run.job_id) == 0)
                    h.job_running++;
            enum symbi_sched_verdict v = symbi_sched_on_slot(&h, now);
            if (v == SYMBI_SCHED_MISS) {
                count_out(s, e, false);
                sched_settle(s, e, SYMBI_RUN_MISSED,
                             "missed: waited for a slot past its starting_deadline", now);
            } else if (v == SYMBI_SCHED_WAIT) {
                if (n_held == SYMBI_ARRAY_LEN(held)) {
                    sched_heap_push(&s->ready, e);
                    break;
                }
                held[n_held++] = e;
            } else {
                batch[n++] = e;
            }
        }
        if (n == 0)
            break;
        n = keep_waiting(s, batch, n);
        for (size_t i = 0; i < n; i++)
            start_run(s, batch[i], now);
        /* `running` is persisted after the agents are on their way; on a
         * shared store the workers wait for it (worker.c), so it goes first */
        for (size_t i = 0; s->start_first && i < n; i++)
            sched_record(s, batch[i], REC_START);
        pthread_mutex_lock(&s->wq_lock);
        pthread_cond_broadcast(&s->wq_cond);
        pthread_mutex_unlock(&s->wq_lock);
        for (size_t i = 0; !s->start_first && i < n; i++)
            sched_record(s, batch[i], REC_START);
        if (n_held == SYMBI_ARRAY_LEN(held))
            break;
    }
    for (size_t i = 0; i < n_held; i++)
        sched_heap_push(&s->ready, held[i]);
    sched_set_in_flight_stats(s);
}

/* Frees the slots of finished runs and hands them to the recorder. */
int sched_drain_done(struct symbi_sched *s)
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
        sched_set_in_flight_stats(s);
    return n;
}

void sched_run_due(struct symbi_sched *s, int64_t now)
{
    /* finished runs first: a fire is judged against the runs running at
     * its instant, not against one that ended before it (issue 10 #6) */
    sched_drain_done(s);
    for (struct sched_entry *e; (e = sched_heap_top(&s->timers)) != NULL && e->run.due_at <= now;) {
        sched_heap_pop(&s->timers);
        make_ready(s, e, now);
    }
    dispatch(s, now);
}
